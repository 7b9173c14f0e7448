//! Shared pieces of the nvme-stas programs: version strings and program identity.
//!
//! Also: configuration ([`conf`]), D-Bus names and payloads ([`dbus`]), Python-compatible
//! JSON ([`py_json`]) and service plumbing ([`service`]).

/// The version every program reports (`-v/--version`).
pub const STAS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// First line of every program's `--version` output, as upstream prints it.
pub fn version_line() -> String {
    format!("nvme-stas {STAS_VERSION}")
}

/// Second line of the daemons' `--version` output (upstream prints the libnvme version).
pub fn libnvme_version_line() -> String {
    format!("libnvme-rs {}", libnvme_rs::VERSION)
}

/// Default configuration file of `stafd` (`stafd -f/--conf-file` overrides it).
pub const STAFD_CONF_FILE: &str = "/etc/stas/stafd.conf";

/// Default configuration file of `stacd` (`stacd -f/--conf-file` overrides it).
pub const STACD_CONF_FILE: &str = "/etc/stas/stacd.conf";

/// Default system configuration file (`stasadm -c/--conf-file` overrides it).
pub const SYS_CONF_FILE: &str = "/etc/stas/sys.conf";

/// The kernel's fabrics control device; its absence means the nvme-fabrics modules are not loaded.
pub const NVME_FABRICS_DEV: &str = "/dev/nvme-fabrics";

/// The well-known discovery subsystem NQN (default of `stafctl dlp -n/--nqn`).
pub const WELL_KNOWN_DISC_NQN: &str = libnvme_rs::spec::WELL_KNOWN_DISC_NQN;

/// The program name as upstream computes it (`os.path.basename(sys.argv[0])`), or
/// `fallback` when `argv[0]` is missing or has no usable file name.
pub fn prog_name(fallback: &str) -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// The daemons' start-up checks (upstream `stas.check_if_allowed_to_continue()`), as a pure
/// function of the effective UID and whether [`NVME_FABRICS_DEV`] exists.
///
/// `Err` carries the exact message upstream prints on stderr before exiting with status 1.
pub fn check_if_allowed_to_continue(
    prog: &str,
    euid: u32,
    nvme_fabrics_present: bool,
) -> Result<(), String> {
    if euid != 0 {
        return Err(format!(
            "Permission denied. You need root privileges to run {prog}."
        ));
    }
    if !nvme_fabrics_present {
        return Err("Fatal error: missing nvme-tcp kernel module".to_owned());
    }
    Ok(())
}

/// The usage text argparse's `print_usage()` writes after its `usage: ` prefix, wrapped as
/// argparse wraps it (`HelpFormatter._format_usage`).
///
/// `optionals` are the option parts (`"[-h]"`, `"[-c FILE]"`, `"-a <traddr>"`) and
/// `positionals` the positional parts (`"{tron,troff}"`, `"..."`), in order. The width is
/// argparse's: `$COLUMNS` (default 80) minus 2. Continuation lines are indented for the
/// `usage: ` prefix, which clap's `Usage: ` has the same length as.
pub fn argparse_usage(prog: &str, optionals: &[&str], positionals: &[&str]) -> String {
    const PREFIX_LEN: usize = "usage: ".len();
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80);
    let text_width = columns.saturating_sub(2);

    let one_line = std::iter::once(prog)
        .chain(optionals.iter().copied())
        .chain(positionals.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    if PREFIX_LEN + one_line.len() <= text_width {
        return one_line;
    }

    // argparse's get_lines(): greedy fill; the first line is measured after the prefix.
    let get_lines = |parts: &[&str], indent: usize, after_prefix: bool| -> Vec<String> {
        let mut lines = Vec::new();
        let mut line: Vec<&str> = Vec::new();
        let mut line_len = if after_prefix { PREFIX_LEN } else { indent } as isize - 1;
        for part in parts {
            if line_len + 1 + part.len() as isize > text_width as isize && !line.is_empty() {
                lines.push(format!("{}{}", " ".repeat(indent), line.join(" ")));
                line.clear();
                line_len = indent as isize - 1;
            }
            line.push(part);
            line_len += part.len() as isize + 1;
        }
        if !line.is_empty() {
            lines.push(format!("{}{}", " ".repeat(indent), line.join(" ")));
        }
        if after_prefix && let Some(first) = lines.first_mut() {
            *first = first[indent.min(first.len())..].to_owned();
        }
        lines
    };

    let lines = if (PREFIX_LEN + prog.len()) as f64 <= 0.75 * text_width as f64 {
        let indent = PREFIX_LEN + prog.len() + 1;
        if !optionals.is_empty() {
            let mut parts = vec![prog];
            parts.extend_from_slice(optionals);
            let mut lines = get_lines(&parts, indent, true);
            lines.extend(get_lines(positionals, indent, false));
            lines
        } else if !positionals.is_empty() {
            let mut parts = vec![prog];
            parts.extend_from_slice(positionals);
            get_lines(&parts, indent, true)
        } else {
            vec![prog.to_owned()]
        }
    } else {
        let indent = PREFIX_LEN;
        let mut parts = optionals.to_vec();
        parts.extend_from_slice(positionals);
        let mut lines = get_lines(&parts, indent, false);
        if lines.len() > 1 {
            lines = get_lines(optionals, indent, false);
            lines.extend(get_lines(positionals, indent, false));
        }
        lines.insert(0, prog.to_owned());
        lines
    };
    lines.join("\n")
}

#[cfg(test)]
mod cli_support_tests {
    use super::*;

    #[test]
    fn preflight_messages_match_upstream() {
        assert_eq!(
            check_if_allowed_to_continue("stafd", 1000, true),
            Err("Permission denied. You need root privileges to run stafd.".to_owned())
        );
        // The root check comes first, as upstream.
        assert_eq!(
            check_if_allowed_to_continue("stacd", 1, false),
            Err("Permission denied. You need root privileges to run stacd.".to_owned())
        );
        assert_eq!(
            check_if_allowed_to_continue("stafd", 0, false),
            Err("Fatal error: missing nvme-tcp kernel module".to_owned())
        );
        assert_eq!(check_if_allowed_to_continue("stafd", 0, true), Ok(()));
    }

    #[test]
    fn prog_name_is_never_empty() {
        assert!(!prog_name("x").is_empty());
    }
    #[test]
    fn argparse_usage_matches_python() {
        // Outputs of Python 3.11 argparse print_usage() with COLUMNS unset and stdout not a tty.
        // (The test binary never sets COLUMNS; skip if the environment does.)
        if std::env::var_os("COLUMNS").is_some() {
            return;
        }
        assert_eq!(
            argparse_usage(
                "stafctl",
                &["[-h]", "[-v]"],
                &["{tron,troff,status,ls,dlp,adlp}", "..."]
            ),
            "stafctl [-h] [-v] {tron,troff,status,ls,dlp,adlp} ..."
        );
        assert_eq!(
            argparse_usage(
                "stasadm",
                &["[-h]", "[-v]", "[-c FILE]"],
                &["{hostnqn,hostid,set-symname,clear-symname}", "..."]
            ),
            "stasadm [-h] [-v] [-c FILE]\n               {hostnqn,hostid,set-symname,clear-symname} ..."
        );
        assert_eq!(
            argparse_usage(
                "stafctl dlp",
                &[
                    "[-h]",
                    "[-t <trtype>]",
                    "-a <traddr>",
                    "-s <trsvcid>",
                    "[-w <traddr>]",
                    "[-f <iface>]",
                    "[-q <nqn>]",
                    "[-n <nqn>]"
                ],
                &[]
            ),
            "stafctl dlp [-h] [-t <trtype>] -a <traddr> -s <trsvcid> [-w <traddr>]\n                   [-f <iface>] [-q <nqn>] [-n <nqn>]"
        );
        assert_eq!(
            argparse_usage(
                "stafd",
                &["[-h]", "[-f FILE]", "[-s]", "[--tron]", "[-v]"],
                &[]
            ),
            "stafd [-h] [-f FILE] [-s] [--tron] [-v]"
        );
        let long_prog = "x".repeat(60);
        assert_eq!(
            argparse_usage(
                &long_prog,
                &["[-h]", "[-v]", "[-c FILE]"],
                &["{a,b}", "..."]
            ),
            format!("{long_prog}\n       [-h] [-v] [-c FILE] {{a,b}} ...")
        );
    }
}

pub mod avahi;
pub mod cli;
pub mod conf;
pub mod ctl;
pub mod daemon_cli;
pub mod dbus;
pub mod dlpe;
pub mod exclusions;
pub mod kernel_version;
pub mod mdns_txt;
pub mod pprint;
pub mod py_json;
pub mod service;
#[cfg(feature = "test-support")]
pub mod testing;
