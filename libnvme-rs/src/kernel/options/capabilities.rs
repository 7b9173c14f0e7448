//! The option list the kernel prints on the first line of `/dev/nvme-fabrics`, and the set
//! libnvme assumes for kernels that print none.

use std::collections::BTreeSet;

/// Option names the kernel accepts, as listed on the first line of `/dev/nvme-fabrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelCapabilities {
    names: BTreeSet<String>,
}

/// libnvme's `default_supported_options`: the kernel's option table when the read interface
/// was added, used for kernels whose read of `/dev/nvme-fabrics` fails with EINVAL.
/// (No dhchap, tls, keyring, tls_key, concat; instance/cntlid are result fields.)
const HISTORICAL_DEFAULT: &[&str] = &[
    "ctrl_loss_tmo",
    "data_digest",
    "disable_sqflow",
    "discovery",
    "duplicate_connect",
    "fast_io_fail_tmo",
    "hdr_digest",
    "host_iface",
    "host_traddr",
    "hostid",
    "hostnqn",
    "keep_alive_tmo",
    "nqn",
    "nr_io_queues",
    "nr_poll_queues",
    "nr_write_queues",
    "queue_size",
    "reconnect_delay",
    "tos",
    "traddr",
    "transport",
    "trsvcid",
];

impl KernelCapabilities {
    /// Parses the capability text: only its first line is used; tokens are separated by `,`
    /// and are either `name` or `name=<format>`. Empty tokens are skipped; unknown names are
    /// kept (they are harmless and show up in debug output).
    pub fn parse(text: &str) -> Self {
        let first_line = text.split('\n').next().unwrap_or("");
        let names = first_line
            .split(',')
            // libnvme cuts a token at '=' or ' '.
            .filter_map(|tok| tok.trim().split(['=', ' ']).next())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        KernelCapabilities { names }
    }

    /// The set assumed when reading `/dev/nvme-fabrics` returns EINVAL (kernels < ~5.17).
    pub fn historical_default() -> Self {
        KernelCapabilities {
            names: HISTORICAL_DEFAULT.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// A set listing every option [`ConnectOptions::build`](super::ConnectOptions::build) can emit (for tests and tools).
    pub fn all() -> Self {
        let mut caps = Self::historical_default();
        caps.names.insert("dhchap_secret".into());
        caps.names.insert("dhchap_ctrl_secret".into());
        for tls in ["keyring", "tls_key", "tls", "concat"] {
            caps.names.insert(tls.into());
        }
        caps
    }

    /// Whether the kernel lists option `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The listed names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// True if nothing was listed (e.g. an empty capability line).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// TP8013 unique discovery NQN support (§1.8).
    pub fn discovery(&self) -> bool {
        self.supports("discovery")
    }
    /// `host_iface` support (§1.8).
    pub fn host_iface(&self) -> bool {
        self.supports("host_iface")
    }
    /// Host DH-HMAC-CHAP key support (§1.8).
    pub fn dhchap_secret(&self) -> bool {
        self.supports("dhchap_secret")
    }
    /// Controller DH-HMAC-CHAP key support (§1.8).
    pub fn dhchap_ctrl_secret(&self) -> bool {
        self.supports("dhchap_ctrl_secret")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::caps;
    use super::*;

    #[test]
    fn parse_capability_line() {
        let c = caps();
        for n in [
            "instance",
            "cntlid",
            "transport",
            "discovery",
            "dhchap_ctrl_secret",
            "tos",
            "disable_sqflow",
        ] {
            assert!(c.supports(n), "{n}");
        }
        assert!(!c.supports("tls"));
        assert!(!c.supports("%s"));
        assert!(c.discovery() && c.host_iface() && c.dhchap_secret() && c.dhchap_ctrl_secret());
        assert_eq!(c.iter().count(), 25);
    }

    #[test]
    fn parse_capability_edge_cases() {
        assert!(KernelCapabilities::parse("").is_empty());
        assert!(KernelCapabilities::parse("\n").is_empty());
        assert!(KernelCapabilities::parse(",,,").is_empty());
        // Only the first line counts.
        let c = KernelCapabilities::parse("a,b=%d\nc,d");
        assert_eq!(c.iter().collect::<Vec<_>>(), ["a", "b"]);
        // Garbage is kept as unknown names; known options are absent.
        let g = KernelCapabilities::parse("blah blah garbage");
        assert!(!g.discovery() && !g.host_iface());
        assert!(g.supports("blah"));
        let s = KernelCapabilities::parse(" host_iface = %s , discovery\r\n");
        assert!(s.host_iface());
        assert!(s.discovery());
    }

    #[test]
    fn historical_default_set() {
        let d = KernelCapabilities::historical_default();
        assert!(d.discovery() && d.host_iface());
        assert!(!d.dhchap_secret() && !d.dhchap_ctrl_secret());
        assert!(!d.supports("tls") && !d.supports("instance"));
        assert_eq!(d.iter().count(), 22);
        let all = KernelCapabilities::all();
        assert!(all.dhchap_secret() && all.dhchap_ctrl_secret());
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn capability_parse_never_panics(s in "\\PC{0,200}") {
                let c = KernelCapabilities::parse(&s);
                prop_assert!(c.iter().all(|n| !n.is_empty() && !n.contains(',')));
            }
        }
    }
}
