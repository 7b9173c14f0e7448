//! Kernel capability detection, upstream's `NvmeOptions` (compat spec §1.8).
//!
//! Four options matter to stas: `discovery` (TP8013 unique discovery NQN), `host_iface`,
//! `dhchap_secret` and `dhchap_ctrl_secret`. Each is assumed supported when `uname -r` is at
//! least 5.16, 5.14, 5.20 and 5.20 respectively; any still unsupported is then looked up in
//! the option list the kernel prints on the first line of `/dev/nvme-fabrics` (backports).
//!
//! Versions compare as upstream's `KernelVersion` (a vendored `LooseVersion`): the list of
//! numeric components only, compared lexicographically, so `5.8.0-63-generic` == `5.8.0-63`
//! and `6.0` > `5.20`.
//!
//! [`NvmeOptions::compute`] is pure; [`probe`] adds the one read of the fabrics device, through
//! libnvme-rs's [`Fabrics::read_option_list`] (the library's only reader of that device).

use std::cmp::Ordering;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use libnvme_rs::kernel::fabrics::{DEFAULT_SYSFS_ROOT, Fabrics, FabricsError};
use libnvme_rs::kernel::options::KernelCapabilities;

/// First kernel with TP8013 (`discovery` connect option).
pub const KERNEL_TP8013_MIN_VERSION: &str = "5.16";
/// First kernel with the `host_iface` connect option.
pub const KERNEL_IFACE_MIN_VERSION: &str = "5.14";
/// Kernel assumed to have `dhchap_secret` (upstream's value; 5.20 was released as 6.0).
pub const KERNEL_HOSTKEY_MIN_VERSION: &str = "5.20";
/// Kernel assumed to have `dhchap_ctrl_secret`.
pub const KERNEL_CTRLKEY_MIN_VERSION: &str = "5.20";

/// WARNING logged when the fabrics device cannot be read (other than a permission error).
pub const WARN_CANNOT_DETERMINE: &str = "Cannot determine which NVMe options the kernel supports";

/// WARNING the daemons log when `host_iface` or `discovery` is unsupported.
pub const WARN_KERNEL_TOO_OLD: &str = "Kernel does not appear to support all the options needed to run this program. Consider updating to a later kernel version.";

/// A kernel release string reduced to its numeric components (upstream `KernelVersion`).
///
/// Components are the maximal runs of ASCII digits; everything else (dots, dashes, letters)
/// is ignored. Numbers of any length compare by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVersion {
    text: String,
    /// Digit runs without leading zeros (`"0"` stays `""`), so comparison is by value.
    components: Vec<String>,
}

impl KernelVersion {
    /// Parses any string; never fails (a string without digits has no components).
    pub fn new(text: &str) -> Self {
        let components = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|run| !run.is_empty())
            .map(|run| run.trim_start_matches('0').to_owned())
            .collect();
        KernelVersion {
            text: text.to_owned(),
            components,
        }
    }

    /// The string it was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numeric components, saturated to `u64` (for display and logs).
    pub fn numbers(&self) -> Vec<u64> {
        self.components
            .iter()
            .map(|c| {
                if c.is_empty() {
                    0
                } else {
                    c.parse().unwrap_or(u64::MAX)
                }
            })
            .collect()
    }

    /// `self >= other` in upstream's sense.
    pub fn at_least(&self, other: &str) -> bool {
        *self >= KernelVersion::new(other)
    }
}

fn cmp_component(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for KernelVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.components.iter().zip(&other.components) {
            match cmp_component(a, b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        self.components.len().cmp(&other.components.len())
    }
}

impl PartialOrd for KernelVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Compares two release strings as upstream does.
pub fn compare(a: &str, b: &str) -> Ordering {
    KernelVersion::new(a).cmp(&KernelVersion::new(b))
}

/// The connect options stas cares about and whether the kernel supports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NvmeOptions {
    /// TP8013 unique discovery NQN (`discovery`).
    pub discovery: bool,
    /// `host_iface`.
    pub host_iface: bool,
    /// Host DH-HMAC-CHAP key (`dhchap_secret`).
    pub dhchap_secret: bool,
    /// Controller DH-HMAC-CHAP key (`dhchap_ctrl_secret`).
    pub dhchap_ctrl_secret: bool,
}

impl NvmeOptions {
    /// What the kernel release alone says.
    pub fn from_release(release: &str) -> Self {
        let v = KernelVersion::new(release);
        NvmeOptions {
            discovery: v.at_least(KERNEL_TP8013_MIN_VERSION),
            host_iface: v.at_least(KERNEL_IFACE_MIN_VERSION),
            dhchap_secret: v.at_least(KERNEL_HOSTKEY_MIN_VERSION),
            dhchap_ctrl_secret: v.at_least(KERNEL_CTRLKEY_MIN_VERSION),
        }
    }

    /// True when every option is already known to be supported (no need to probe).
    pub fn all_supported(&self) -> bool {
        self.discovery && self.host_iface && self.dhchap_secret && self.dhchap_ctrl_secret
    }

    /// Sets every option still `false` from the kernel's listed options.
    pub fn fill_from(&mut self, caps: &KernelCapabilities) {
        self.discovery |= caps.discovery();
        self.host_iface |= caps.host_iface();
        self.dhchap_secret |= caps.dhchap_secret();
        self.dhchap_ctrl_secret |= caps.dhchap_ctrl_secret();
    }

    /// The release thresholds, then the listed options (if the device could be read).
    pub fn compute(release: &str, caps: Option<&KernelCapabilities>) -> Self {
        let mut opts = Self::from_release(release);
        if let Some(caps) = caps {
            opts.fill_from(caps);
        }
        opts
    }

    /// [`WARN_KERNEL_TOO_OLD`] when `host_iface` or `discovery` is missing.
    pub fn kernel_warning(&self) -> Option<&'static str> {
        (!self.host_iface || !self.discovery).then_some(WARN_KERNEL_TOO_OLD)
    }

    /// `(name, supported)` pairs in upstream's order (for logs and status output).
    pub fn as_pairs(&self) -> [(&'static str, bool); 4] {
        [
            ("discovery", self.discovery),
            ("host_iface", self.host_iface),
            ("dhchap_secret", self.dhchap_secret),
            ("dhchap_ctrl_secret", self.dhchap_ctrl_secret),
        ]
    }
}

impl fmt::Display for NvmeOptions {
    /// Upstream's `str(NvmeOptions)`: `supported options: {'discovery': True, ...}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .as_pairs()
            .iter()
            .map(|(k, v)| format!("'{k}': {}", if *v { "True" } else { "False" }))
            .collect();
        write!(f, "supported options: {{{}}}", items.join(", "))
    }
}

/// Reading the fabrics device was refused (upstream lets this `PermissionError` kill the
/// daemon).
#[derive(Debug, thiserror::Error)]
#[error("permission denied reading {}", path.display())]
pub struct ProbeError {
    /// The fabrics device.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

/// Result of [`probe`]: the options and the warnings to log, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The capability set.
    pub options: NvmeOptions,
    /// WARNING lines ([`WARN_CANNOT_DETERMINE`], then [`WARN_KERNEL_TOO_OLD`]).
    pub warnings: Vec<&'static str>,
}

/// Upstream's `NvmeOptions()` start-up: the release thresholds, then — only if one option is
/// still unsupported — the option list on the first line of `fabrics_dev` (normally
/// `/dev/nvme-fabrics`), read by [`Fabrics::read_option_list`]. A permission error is fatal
/// ([`ProbeError`]); any other failure (missing device, EINVAL of kernels that print no
/// list) only adds [`WARN_CANNOT_DETERMINE`].
pub fn probe(release: &str, fabrics_dev: &Path) -> Result<Probe, ProbeError> {
    let mut options = NvmeOptions::from_release(release);
    let mut warnings = Vec::new();
    if !options.all_supported() {
        match Fabrics::with_paths(fabrics_dev, DEFAULT_SYSFS_ROOT).read_option_list() {
            Ok(caps) => options.fill_from(&caps),
            Err(FabricsError::PermissionDenied { path, source }) => {
                return Err(ProbeError { path, source });
            }
            Err(_) => warnings.push(WARN_CANNOT_DETERMINE),
        }
    }
    warnings.extend(options.kernel_warning());
    Ok(Probe { options, warnings })
}

/// The running kernel's release (`uname -r`), from `/proc/sys/kernel/osrelease`.
pub fn running_release() -> io::Result<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_vectors_from_the_spec() {
        use Ordering::*;
        let cases = [
            ("5.8.0-63-generic", "5.8.0-63", Equal),
            ("5.8.0-63-generic", "5.9", Less),
            ("5.8.0-63-generic", "5.7", Greater),
            ("5.8.0-63-generic", "5.8.1", Less),
            ("5.8.0-63-generic", "5.8", Greater),
            ("6.0", "5.20", Greater),
            ("5.20", "6.0", Less),
            ("5.14.0-284.11.1.el9_2.x86_64", "5.14", Greater),
            ("5.14", "5.14", Equal),
            ("5.14", "5.14.0", Less),
            ("5.010", "5.10", Equal),
            ("5.9", "5.10", Less),
            ("6.12.0+deb13-amd64", "6.12", Greater),
            ("", "0", Less),
            ("generic", "", Equal),
            (
                "99999999999999999999999.1",
                "99999999999999999999998.9",
                Greater,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
        let v = KernelVersion::new("5.8.0-63-generic");
        assert!(v <= KernelVersion::new("5.8.1"));
        assert_eq!(v.numbers(), vec![5, 8, 0, 63]);
        assert_eq!(v.to_string(), "5.8.0-63-generic");
        assert_eq!(v.as_str(), "5.8.0-63-generic");
    }

    #[test]
    fn thresholds_by_release() {
        let t = |d, h, s, c| NvmeOptions {
            discovery: d,
            host_iface: h,
            dhchap_secret: s,
            dhchap_ctrl_secret: c,
        };
        let cases = [
            ("4.18.0-553.el8_10.x86_64", t(false, false, false, false)),
            ("5.13.19", t(false, false, false, false)),
            ("5.14.0-1-default", t(false, true, false, false)),
            ("5.15.0-91-generic", t(false, true, false, false)),
            ("5.16", t(true, true, false, false)),
            ("5.19.17", t(true, true, false, false)),
            ("6.0.0", t(true, true, true, true)),
            ("6.12.48+deb13-amd64", t(true, true, true, true)),
        ];
        for (release, want) in cases {
            assert_eq!(NvmeOptions::from_release(release), want, "{release}");
            assert_eq!(NvmeOptions::compute(release, None), want, "{release}");
        }
    }

    #[test]
    fn capabilities_fill_only_missing_options() {
        // RHEL 8 style backport: old version, options listed by the kernel.
        let caps = KernelCapabilities::parse(
            "instance=%d,cntlid=%d,transport=%s,traddr=%s,host_iface=%s,discovery,dhchap_secret=%s\n",
        );
        let got = NvmeOptions::compute("4.18.0-553.el8_10.x86_64", Some(&caps));
        assert_eq!(
            got,
            NvmeOptions {
                discovery: true,
                host_iface: true,
                dhchap_secret: true,
                dhchap_ctrl_secret: false,
            }
        );
        // Never downgrades what the version already grants.
        let empty = KernelCapabilities::parse("");
        assert!(NvmeOptions::compute("6.1", Some(&empty)).all_supported());
        assert_eq!(
            NvmeOptions::compute("5.10", Some(&KernelCapabilities::all())),
            NvmeOptions {
                discovery: true,
                host_iface: true,
                dhchap_secret: true,
                dhchap_ctrl_secret: true,
            }
        );
    }

    #[test]
    fn warnings_and_display() {
        let old = NvmeOptions::from_release("5.15");
        assert_eq!(old.kernel_warning(), Some(WARN_KERNEL_TOO_OLD));
        assert_eq!(NvmeOptions::from_release("5.16").kernel_warning(), None);
        assert_eq!(
            WARN_KERNEL_TOO_OLD,
            "Kernel does not appear to support all the options needed to run this program. Consider updating to a later kernel version."
        );
        assert_eq!(
            old.to_string(),
            "supported options: {'discovery': False, 'host_iface': True, 'dhchap_secret': False, 'dhchap_ctrl_secret': False}"
        );
    }

    #[test]
    fn probe_reads_the_device_only_when_needed() {
        let dir = std::env::temp_dir().join(format!("staslib-kver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dev = dir.join("nvme-fabrics");
        std::fs::write(
            &dev,
            "transport=%s,host_iface=%s,discovery,dhchap_ctrl_secret=%s\nx\n",
        )
        .unwrap();
        let p = probe("5.4.0", &dev).unwrap();
        assert_eq!(
            p.options,
            NvmeOptions {
                discovery: true,
                host_iface: true,
                dhchap_secret: false,
                dhchap_ctrl_secret: true,
            }
        );
        assert!(p.warnings.is_empty());

        // Missing device: warning, version-only answer, plus the too-old warning.
        let p = probe("5.4.0", &dir.join("missing")).unwrap();
        assert_eq!(p.options, NvmeOptions::from_release("5.4.0"));
        assert_eq!(p.warnings, vec![WARN_CANNOT_DETERMINE, WARN_KERNEL_TOO_OLD]);

        // A device that opens but cannot be read (here EISDIR, on old kernels EINVAL): the
        // same warning, not libnvme's historical option set.
        let p = probe("5.4.0", &dir).unwrap();
        assert_eq!(p.options, NvmeOptions::from_release("5.4.0"));
        assert_eq!(p.warnings, vec![WARN_CANNOT_DETERMINE, WARN_KERNEL_TOO_OLD]);

        // New kernel: the device is not touched at all.
        let p = probe("6.12", &dir.join("missing")).unwrap();
        assert!(p.options.all_supported());
        assert!(p.warnings.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
