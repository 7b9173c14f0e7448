//! The option string: [`ConnectOptions::build`] validates, then emits the tokens the kernel
//! lists in libnvme 1.x's order ([`ConnectArgs`]).

use std::fmt;

use super::connect::is_unset;
use super::{ConnectOptions, KernelCapabilities, OptionsError};
use crate::spec::WELL_KNOWN_DISC_NQN;
use crate::trid::Transport;

/// The kernel refuses writes longer than a page (ENOMEM); 4 KiB is the smallest page size.
pub const MAX_ARGS_LEN: usize = 4096;

impl ConnectOptions {
    /// Validates every field, then builds the option string in libnvme's order (compat §5.1
    /// table), emitting only options listed in `caps`. `nqn=` is always first and always
    /// emitted, as in libnvme.
    pub fn build(&self, caps: &KernelCapabilities) -> Result<ConnectArgs, OptionsError> {
        self.validate()?;
        self.check_tls(caps)?;

        let discovery = self.is_discovery();
        let io = !discovery;
        let not_loop = self.transport != Transport::Loop;
        let tcp = self.transport == Transport::Tcp;

        let mut b = ArgsBuilder {
            out: format!("nqn={}", self.nqn),
            dropped: Vec::new(),
            caps,
        };
        b.string("transport", self.transport.as_str());
        b.string("traddr", &self.traddr);
        b.string("host_traddr", &self.host_traddr);
        b.string("host_iface", &self.host_iface);
        b.string("trsvcid", &self.trsvcid);
        b.string("hostnqn", &self.hostnqn);
        b.string("hostid", &self.hostid);
        b.flag("discovery", discovery && self.nqn != WELL_KNOWN_DISC_NQN);
        if io {
            b.string("dhchap_secret", &self.dhchap_secret);
            b.string("dhchap_ctrl_secret", &self.dhchap_ctrl_secret);
            b.positive("nr_io_queues", self.nr_io_queues);
            b.positive("nr_write_queues", self.nr_write_queues);
            b.positive("nr_poll_queues", self.nr_poll_queues);
            b.positive("queue_size", self.queue_size);
        }
        b.positive("keep_alive_tmo", self.keep_alive_tmo);
        b.positive("reconnect_delay", self.reconnect_delay);
        if not_loop {
            // Validation guarantees ≥ -1.
            b.int("ctrl_loss_tmo", self.ctrl_loss_tmo);
            b.positive("fast_io_fail_tmo", self.fast_io_fail_tmo);
            b.int("tos", self.tos);
        }
        // The TLS options as libnvme 3 writes them; a kernel without them cannot give what
        // was asked for, so they are required rather than dropped (validate).
        b.serial("keyring", self.keyring);
        if tcp {
            b.serial("tls_key", self.tls_key);
        }
        b.flag("duplicate_connect", self.duplicate_connect);
        b.flag("disable_sqflow", self.disable_sqflow);
        b.flag("hdr_digest", tcp && self.hdr_digest);
        b.flag("data_digest", tcp && self.data_digest);
        b.flag("tls", tcp && self.tls);
        b.flag("concat", tcp && self.concat);

        if b.out.len() > MAX_ARGS_LEN {
            return Err(OptionsError::TooLong(b.out.len()));
        }
        Ok(ConnectArgs {
            args: b.out,
            dropped: b.dropped,
        })
    }
}

/// A validated option string, ready for one write to `/dev/nvme-fabrics`. Only
/// [`ConnectOptions::build`] creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectArgs {
    args: String,
    dropped: Vec<&'static str>,
}

impl ConnectArgs {
    /// The string to write (no trailing newline).
    pub fn as_str(&self) -> &str {
        &self.args
    }

    /// Options that applied but were left out because the kernel does not list them, in
    /// emission order (the daemon logs them; libnvme logs them at debug/notice level).
    pub fn dropped(&self) -> &[&'static str] {
        &self.dropped
    }
}

impl fmt::Display for ConnectArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.args)
    }
}

struct ArgsBuilder<'a> {
    out: String,
    dropped: Vec<&'static str>,
    caps: &'a KernelCapabilities,
}

impl ArgsBuilder<'_> {
    fn allowed(&mut self, name: &'static str) -> bool {
        let ok = self.caps.supports(name);
        if !ok {
            self.dropped.push(name);
        }
        ok
    }

    fn string(&mut self, name: &'static str, value: &str) {
        if !is_unset(value) && self.allowed(name) {
            self.out.push_str(&format!(",{name}={value}"));
        }
    }

    fn positive(&mut self, name: &'static str, value: Option<u32>) {
        if let Some(v) = value.filter(|v| *v > 0)
            && self.allowed(name)
        {
            self.out.push_str(&format!(",{name}={v}"));
        }
    }

    fn int(&mut self, name: &'static str, value: Option<i32>) {
        if let Some(v) = value
            && self.allowed(name)
        {
            self.out.push_str(&format!(",{name}={v}"));
        }
    }

    /// A key serial as libnvme writes it (`0x%08x`); 0 is "not set".
    fn serial(&mut self, name: &'static str, value: Option<i32>) {
        if let Some(v) = value.filter(|v| *v != 0)
            && self.allowed(name)
        {
            self.out.push_str(&format!(",{name}={v:#010x}"));
        }
    }

    fn flag(&mut self, name: &'static str, on: bool) {
        if on && self.allowed(name) {
            self.out.push(',');
            self.out.push_str(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{HOSTID, HOSTNQN, caps, tcp};
    use super::*;

    #[test]
    fn golden_stafd_mdns_dc() {
        let o = ConnectOptions {
            host_iface: "eth0".into(),
            trsvcid: "8009".into(),
            discovery: true,
            keep_alive_tmo: Some(30),
            // I/O-only options must not leak into a DC connect.
            nr_io_queues: Some(4),
            queue_size: Some(128),
            dhchap_secret: "DHHC-1:00:abc=:".into(),
            ..tcp("nqn.1988-11.com.vendor:cdc:1", "192.168.1.10")
        };
        let args = o.build(&caps()).unwrap();
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.1988-11.com.vendor:cdc:1,transport=tcp,traddr=192.168.1.10,host_iface=eth0,trsvcid=8009,hostnqn={HOSTNQN},hostid={HOSTID},discovery,keep_alive_tmo=30,ctrl_loss_tmo=600"
            )
        );
        assert!(args.dropped().is_empty());
        assert_eq!(args.to_string(), args.as_str());
    }

    #[test]
    fn golden_stacd_ioc() {
        let o = ConnectOptions {
            host_iface: "eth0".into(),
            trsvcid: "4420".into(),
            ..tcp("nqn.1988-11.com.vendor:subsys:1", "192.168.1.20")
        };
        assert_eq!(
            o.build(&caps()).unwrap().as_str(),
            format!(
                "nqn=nqn.1988-11.com.vendor:subsys:1,transport=tcp,traddr=192.168.1.20,host_iface=eth0,trsvcid=4420,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600"
            )
        );
    }

    #[test]
    fn well_known_nqn_is_discovery_without_flag() {
        let o = ConnectOptions {
            keep_alive_tmo: Some(30),
            nr_io_queues: Some(2),
            ..tcp(WELL_KNOWN_DISC_NQN, "::1")
        };
        assert!(o.is_discovery());
        assert_eq!(
            o.build(&caps()).unwrap().as_str(),
            format!(
                "nqn={WELL_KNOWN_DISC_NQN},transport=tcp,traddr=::1,hostnqn={HOSTNQN},hostid={HOSTID},keep_alive_tmo=30,ctrl_loss_tmo=600"
            )
        );
    }

    #[test]
    fn full_order_of_all_rows() {
        let o = ConnectOptions {
            trsvcid: "4420".into(),
            host_traddr: "10.0.0.2".into(),
            host_iface: "eth1".into(),
            dhchap_secret: "DHHC-1:01:aGVsbG8=:".into(),
            dhchap_ctrl_secret: "DHHC-1:02:d29ybGQ=:".into(),
            nr_io_queues: Some(4),
            nr_write_queues: Some(2),
            nr_poll_queues: Some(1),
            queue_size: Some(128),
            keep_alive_tmo: Some(5),
            reconnect_delay: Some(10),
            ctrl_loss_tmo: Some(-1),
            fast_io_fail_tmo: Some(20),
            tos: Some(0),
            duplicate_connect: true,
            disable_sqflow: true,
            hdr_digest: true,
            data_digest: true,
            ..tcp("nqn.s", "10.0.0.1")
        };
        let args = o.build(&KernelCapabilities::all()).unwrap();
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.s,transport=tcp,traddr=10.0.0.1,host_traddr=10.0.0.2,host_iface=eth1,trsvcid=4420,hostnqn={HOSTNQN},hostid={HOSTID},dhchap_secret=DHHC-1:01:aGVsbG8=:,dhchap_ctrl_secret=DHHC-1:02:d29ybGQ=:,nr_io_queues=4,nr_write_queues=2,nr_poll_queues=1,queue_size=128,keep_alive_tmo=5,reconnect_delay=10,ctrl_loss_tmo=-1,fast_io_fail_tmo=20,tos=0,duplicate_connect,disable_sqflow,hdr_digest,data_digest"
            )
        );
        // The historical set lacks the dhchap options: dropped and reported.
        let args = o.build(&KernelCapabilities::historical_default()).unwrap();
        assert_eq!(args.dropped(), ["dhchap_secret", "dhchap_ctrl_secret"]);
        assert!(!args.as_str().contains("dhchap"));
    }

    /// nvme-cli 3.0 (libnvme 3 `build_options`): `keyring=0x%08x,tls_key=0x%08x` after
    /// `tos`, the `tls` flag after the digests; serials of 0 are not sent.
    #[test]
    fn tls_tokens_as_libnvme_3_writes_them() {
        let o = ConnectOptions {
            trsvcid: "4420".into(),
            hostnqn: HOSTNQN.into(),
            ctrl_loss_tmo: Some(600),
            hdr_digest: true,
            keyring: Some(0x1a2b3c),
            tls_key: Some(0x2d4e6f70),
            tls: true,
            ..tcp("nqn.s", "10.0.0.1")
        };
        let args = o.build(&KernelCapabilities::all()).unwrap();
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.s,transport=tcp,traddr=10.0.0.1,trsvcid=4420,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600,keyring=0x001a2b3c,tls_key=0x2d4e6f70,hdr_digest,tls"
            )
        );
        let no_serials = ConnectOptions {
            keyring: Some(0),
            tls_key: None,
            ..o.clone()
        };
        assert!(
            no_serials
                .build(&KernelCapabilities::all())
                .unwrap()
                .as_str()
                .ends_with(",ctrl_loss_tmo=600,hdr_digest,tls")
        );
        // Never dropped: a kernel without them refuses the whole connect.
        assert_eq!(
            o.build(&KernelCapabilities::historical_default()),
            Err(OptionsError::TlsUnsupported("keyring"))
        );
        let concat = ConnectOptions {
            tls: false,
            concat: true,
            keyring: None,
            tls_key: None,
            ..o.clone()
        };
        assert_eq!(
            concat.build(&KernelCapabilities::all()),
            Err(OptionsError::ConcatWithoutSecret)
        );
        let with_secret = ConnectOptions {
            dhchap_secret: "DHHC-1:00:aGVsbG8=:".into(),
            ..concat.clone()
        };
        assert!(
            with_secret
                .build(&KernelCapabilities::all())
                .unwrap()
                .as_str()
                .ends_with(",hdr_digest,concat")
        );
        let both = ConnectOptions {
            tls: true,
            ..with_secret
        };
        assert_eq!(
            both.build(&KernelCapabilities::all()),
            Err(OptionsError::TlsWithConcat)
        );
        let rdma = ConnectOptions {
            transport: Transport::Rdma,
            ..o
        };
        assert_eq!(
            rdma.build(&KernelCapabilities::all()),
            Err(OptionsError::TlsNotTcp("keyring"))
        );
    }

    #[test]
    fn per_transport_rules() {
        // Digests are tcp-only; loop gets no ctrl_loss_tmo / fast_io_fail_tmo / tos.
        let rdma = ConnectOptions {
            hdr_digest: true,
            data_digest: true,
            tos: Some(3),
            ..ConnectOptions {
                transport: Transport::Rdma,
                ..tcp("nqn.s", "10.0.0.1")
            }
        };
        assert_eq!(
            rdma.build(&caps()).unwrap().as_str(),
            format!(
                "nqn=nqn.s,transport=rdma,traddr=10.0.0.1,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600,tos=3"
            )
        );
        let lp = ConnectOptions {
            tos: Some(3),
            fast_io_fail_tmo: Some(1),
            ..ConnectOptions::new(Transport::Loop, "nqn.s")
        };
        assert_eq!(
            lp.build(&caps()).unwrap().as_str(),
            "nqn=nqn.s,transport=loop"
        );
        let fc = ConnectOptions {
            traddr: "nn-0x20000090fa942779:pn-0x10000090fa942779".into(),
            host_traddr: "nn-0x20000090fae0b5f5:pn-0x10000090fae0b5f5".into(),
            ..ConnectOptions::new(Transport::Fc, "nqn.s")
        };
        assert_eq!(
            fc.build(&caps()).unwrap().as_str(),
            "nqn=nqn.s,transport=fc,traddr=nn-0x20000090fa942779:pn-0x10000090fa942779,host_traddr=nn-0x20000090fae0b5f5:pn-0x10000090fae0b5f5,ctrl_loss_tmo=600"
        );
        // "none" and zero values are unset; ctrl_loss_tmo None is omitted.
        let o = ConnectOptions {
            host_traddr: "none".into(),
            nr_io_queues: Some(0),
            keep_alive_tmo: Some(0),
            ctrl_loss_tmo: None,
            hostnqn: String::new(),
            hostid: String::new(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(
            o.build(&caps()).unwrap().as_str(),
            "nqn=nqn.s,transport=tcp,traddr=1.2.3.4"
        );
    }

    #[test]
    fn dropped_options_reported() {
        let caps = KernelCapabilities::parse(
            "nqn=%s,transport=%s,traddr=%s,trsvcid=%s,hostnqn=%s,hostid=%s,ctrl_loss_tmo=%d",
        );
        let o = ConnectOptions {
            host_iface: "eth0".into(),
            trsvcid: "8009".into(),
            discovery: true,
            keep_alive_tmo: Some(30),
            ..tcp("nqn.x:cdc", "1.2.3.4")
        };
        let args = o.build(&caps).unwrap();
        assert_eq!(
            args.dropped(),
            ["host_iface", "discovery", "keep_alive_tmo"]
        );
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.x:cdc,transport=tcp,traddr=1.2.3.4,trsvcid=8009,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600"
            )
        );
        // Even an empty set keeps nqn= (libnvme never checks it).
        let args = o.build(&KernelCapabilities::default()).unwrap();
        assert_eq!(args.as_str(), "nqn=nqn.x:cdc");
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the field contents, a built string splits into exactly the emitted
            /// tokens: no value can smuggle in another option.
            #[test]
            fn no_option_injection(
                nqn in "\\PC{0,40}",
                traddr in "\\PC{0,20}",
                iface in "\\PC{0,20}",
                key in "\\PC{0,20}",
            ) {
                let o = ConnectOptions {
                    traddr, host_iface: iface, dhchap_secret: key,
                    ..ConnectOptions::new(Transport::Tcp, &nqn)
                };
                if let Ok(args) = o.build(&KernelCapabilities::all()) {
                    let s = args.as_str();
                    prop_assert!(!s.contains('\n') && !s.contains('\0'));
                    let names: Vec<&str> = s.split(',').map(|t| t.split('=').next().unwrap_or("")).collect();
                    let mut want = vec!["nqn", "transport", "traddr"];
                    if !is_unset(&o.host_iface) { want.push("host_iface"); }
                    if !is_unset(&o.dhchap_secret) { want.push("dhchap_secret"); }
                    want.push("ctrl_loss_tmo");
                    prop_assert_eq!(names, want);
                }
            }
        }
    }
}
