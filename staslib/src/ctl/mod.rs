//! What `stafctl` and `stacctl` share: the D-Bus client of a daemon ([`client`]), failures
//! and exit codes ([`error`]), the three output forms ([`format`]), tables ([`table`]), the
//! subcommands both tools have ([`commands`]), `status` assembly ([`status`]) and
//! `monitor` ([`monitor`]).

pub mod client;
pub mod commands;
pub mod error;
pub mod format;
pub mod monitor;
pub mod status;
pub mod table;
#[cfg(feature = "test-support")]
pub mod testing;

pub use client::{Client, ControllerId, Daemon, StrDict};
pub use error::CtlError;
pub use format::{Format, OutputArgs};

use std::process::ExitCode;

use crate::pprint::PyValue;

/// Runs a subcommand's body on a current-thread runtime; failures print their one line and
/// give their exit status.
pub fn block_on<F>(body: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), CtlError>>,
{
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return CtlError::Output(e).report(),
    };
    match rt.block_on(body) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// `given`, else the system host NQN as the daemons read it (2.x: sys.conf, then
/// `/etc/nvme/hostnqn`; 3.x: nvme-stas.conf's `[Host]`, then `/etc/nvme/hostnqn`), as
/// upstream's `-q/--host-nqn` default.
pub fn host_nqn(given: Option<&str>) -> Result<String, CtlError> {
    use crate::conf::options::Daemon;
    use crate::service::setup::{ConfFiles, load_hostnqn};
    if let Some(q) = given {
        return Ok(q.to_owned());
    }
    let files = ConfFiles {
        conf_file: Daemon::Stafd.default_conf_file().to_owned(),
        conf_explicit: false,
        conn_conf_file: None,
    };
    let cfg = crate::conf::layout::load(Daemon::Stafd, &files.layout(Daemon::Stafd)).config;
    load_hostnqn(&cfg).map_err(CtlError::HostNqn)
}

/// The completion script of `cmd` for `shell` (`bash`, `zsh`, `fish`).
pub fn completions(mut cmd: clap::Command, shell: &str) -> String {
    use clap_complete::Shell;
    let shell = match shell {
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => Shell::Bash,
    };
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A value as readable text: strings bare, `-` for empty and `None`, lists comma-separated.
pub fn plain(v: &PyValue) -> String {
    match v {
        PyValue::Str(s) => table::or_dash(s),
        PyValue::None => "-".to_owned(),
        PyValue::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        PyValue::List(items) => {
            if items.is_empty() {
                "-".to_owned()
            } else {
                items.iter().map(plain).collect::<Vec<_>>().join(", ")
            }
        }
        other => crate::pprint::saferepr(other),
    }
}

/// A dict flattened to `key  value` pairs, nested dicts as `outer.inner` (insertion order).
pub fn flatten(v: &PyValue, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        PyValue::Dict(pairs) => {
            for (k, v) in pairs {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    PyValue::Dict(inner) if !inner.is_empty() => flatten(v, &key, out),
                    other => out.push((key, plain(other))),
                }
            }
        }
        other => out.push((prefix.to_owned(), plain(other))),
    }
}

/// The value at `key` of a dict value.
pub fn get<'a>(v: &'a PyValue, key: &str) -> Option<&'a PyValue> {
    match v {
        PyValue::Dict(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// The string at `key` of a dict value (`""` when absent or not a string).
pub fn get_str(v: &PyValue, key: &str) -> String {
    match get(v, key) {
        Some(PyValue::Str(s)) => s.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_nested_dicts() {
        let v = PyValue::dict([
            ("tron", PyValue::Bool(false)),
            ("hostkey", PyValue::None),
            (
                "avahi",
                PyValue::dict([
                    ("service types", PyValue::from(vec!["_nvme-disc._tcp"])),
                    ("services", PyValue::Dict(vec![])),
                ]),
            ),
        ]);
        let mut out = Vec::new();
        flatten(&v, "", &mut out);
        assert_eq!(
            out,
            [
                ("tron".to_owned(), "False".to_owned()),
                ("hostkey".to_owned(), "-".to_owned()),
                (
                    "avahi.service types".to_owned(),
                    "_nvme-disc._tcp".to_owned()
                ),
                ("avahi.services".to_owned(), "{}".to_owned()),
            ]
        );
        assert_eq!(get_str(&v, "tron"), "");
        assert!(get(&v, "avahi").is_some());
    }

    #[test]
    fn completions_for_each_shell() {
        let cmd = clap::Command::new("x").subcommand(clap::Command::new("ls"));
        for shell in ["bash", "zsh", "fish"] {
            let script = completions(cmd.clone(), shell);
            assert!(script.contains("ls"), "{shell}: {script}");
        }
        assert!(completions(cmd, "zsh").starts_with("#compdef x"));
    }
}
