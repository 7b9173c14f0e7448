//! Checks of the programs' command lines, shared by their integration tests; the daemons get
//! whole tests (`staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stafd"), staslib::daemon_cli::STAFD);`).

use std::process::{Command, Output};

/// Runs `bin` with `args` and no `COLUMNS` (argparse-style wrapping depends on it).
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("run binary")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn euid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A bad command line: exit 2, clap's `error: ...` on stderr, nothing on stdout.
pub fn assert_usage_error(bin: &str, args: &[&str]) {
    let out = run(bin, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

/// A ctl subcommand run with no bus to reach (`DBUS_SYSTEM_BUS_ADDRESS` names a socket that
/// does not exist, sys.conf names a host NQN): exit 3 and upstream's one line naming
/// `daemon`, nothing on stdout.
pub fn assert_daemon_absent(bin: &str, daemon: &str, args: &[&str]) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("stas-ctl-absent-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sys_conf = dir.join("sys.conf");
    std::fs::write(
        &sys_conf,
        "[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21\n",
    )
    .expect("sys.conf");
    let out = Command::new(bin)
        .args(args)
        .env_remove("COLUMNS")
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!("unix:path={}/no-bus", dir.display()),
        )
        .env("STAS_SYS_CONF_FILE", &sys_conf)
        .output()
        .expect("run binary");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{args:?}: {}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stderr),
        format!("Unable to communicate with {daemon} over D-Bus. Is {daemon} running?\n"),
        "{args:?}"
    );
    assert!(out.stdout.is_empty(), "{args:?}");
}

/// Generates the command-line tests of one daemon binary.
#[macro_export]
macro_rules! daemon_binary_tests {
    ($bin:expr, $spec:expr) => {
        use $crate::testing::{run, text};

        const BIN: &str = $bin;
        const SPEC: $crate::daemon_cli::DaemonSpec = $spec;

        #[test]
        fn version_prints_two_lines_and_exits_0() {
            for flag in ["--version", "-v", "--vers"] {
                let out = run(BIN, &[flag]);
                assert_eq!(out.status.code(), Some(0), "{flag}");
                assert_eq!(text(&out.stdout), $crate::daemon_cli::version_text());
                assert!(out.stderr.is_empty());
            }
            // Other options are parsed but ignored when -v is given.
            let out = run(BIN, &["-f", "/nonexistent", "--tron", "-s", "-v"]);
            assert_eq!(out.status.code(), Some(0));
        }

        #[test]
        fn bad_arguments_exit_2() {
            for args in [
                &["--bogus"][..],
                &["-f"],
                &["extra"],
                &["-V"],
                &["--tron=yes"],
            ] {
                let out = run(BIN, args);
                assert_eq!(out.status.code(), Some(2), "{args:?}");
                let err = text(&out.stderr);
                assert!(err.starts_with("error: "), "{args:?}: {err}");
                assert!(out.stdout.is_empty());
            }
        }

        #[test]
        fn help_exits_0_and_names_every_option() {
            let out = run(BIN, &["-h"]);
            assert_eq!(out.status.code(), Some(0));
            let help = text(&out.stdout);
            for needle in [
                "-f, --conf-file <FILE>",
                "-s, --syslog",
                "--tron",
                "-v, --version",
                "--check-config [<FILE>]",
                SPEC.default_conf,
            ] {
                assert!(help.contains(needle), "{needle} missing from:\n{help}");
            }
        }

        #[test]
        fn check_config_reports_file_and_line() {
            let dir =
                std::env::temp_dir().join(format!("stas-cli-{}-{}", SPEC.prog, std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let conf = dir.join("x.conf");
            std::fs::write(&conf, "[Global]\ntron=maybe\n[Bogus]\n").unwrap();
            let conf_s = conf.to_str().unwrap();
            let out = run(BIN, &["--check-config", conf_s]);
            let stdout = text(&out.stdout);
            assert!(stdout.contains(&format!("{conf_s}:2")), "{stdout}");
            assert!(stdout.contains("Bogus"), "{stdout}");
            // The -f file is checked when --check-config has no FILE of its own.
            let out2 = run(BIN, &["-f", conf_s, "--check-config"]);
            assert_eq!(text(&out2.stdout), stdout);
            assert_eq!(out.status.code(), out2.status.code());
            std::fs::remove_dir_all(&dir).unwrap();
        }
    };
}

/// The start-up checks of a daemon (`daemon_preflight_tests!(BIN, "stafd")`): the kernel
/// backend needs root and `/dev/nvme-fabrics` (upstream's messages); the native backend
/// needs neither and says when it cannot take its bus name.
#[macro_export]
macro_rules! daemon_preflight_tests {
    ($bin:expr, $prog:expr) => {
mod preflight {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use staslib::testing::{euid, text};

    const BIN: &str = $bin;
    const PROG: &str = $prog;

    fn conf(dir: &std::path::Path, backend: &str) -> std::path::PathBuf {
        let path = dir.join(format!("{PROG}.conf"));
        std::fs::write(&path, format!("[Global]\nbackend={backend}\n")).unwrap();
        std::fs::write(
            dir.join("sys.conf"),
            "[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21\n\
             id=5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21\n",
        )
        .unwrap();
        path
    }

    /// The kernel backend keeps upstream's checks: root first, then `/dev/nvme-fabrics`.
    #[test]
    fn kernel_backend_needs_root_and_the_fabrics_device() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let path = conf(dir.path(), "kernel");
        let run = |nobody: bool| {
            let mut cmd = Command::new(BIN);
            cmd.args(["-f", path.to_str().unwrap()]);
            if nobody && euid() == 0 {
                cmd.uid(65534).gid(65534);
            }
            cmd.output().unwrap()
        };
        if euid() == 0 {
            let out = run(true);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                text(&out.stderr),
                format!("Permission denied. You need root privileges to run {PROG}.\n")
            );
        }
        if euid() == 0 && !std::path::Path::new("/dev/nvme-fabrics").exists() {
            let out = run(false);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                text(&out.stderr),
                "Fatal error: missing nvme-tcp kernel module\n"
            );
        }
        if euid() != 0 {
            let out = run(false);
            assert_eq!(
                text(&out.stderr),
                format!("Permission denied. You need root privileges to run {PROG}.\n")
            );
        }
    }

    /// The native backend needs neither root nor the fabrics device; without a bus it says
    /// so and exits 1.
    #[test]
    fn native_backend_runs_unprivileged_and_names_a_missing_bus() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let path = conf(dir.path(), "native");
        let mut cmd = Command::new(BIN);
        cmd.args(["-f", path.to_str().unwrap()])
            .env("STAS_SYS_CONF_FILE", dir.path().join("sys.conf"))
            .env("RUNTIME_DIRECTORY", dir.path().join("run"))
            .env(
                "DBUS_SYSTEM_BUS_ADDRESS",
                format!("unix:path={}/no-bus", dir.path().display()),
            );
        if euid() == 0 {
            cmd.uid(65534).gid(65534);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains("native backend"), "{err}");
        assert!(
            err.contains("D-Bus: cannot take org.nvmexpress."),
            "{err}"
        );
        assert!(!err.contains("Permission denied"), "{err}");
    }
}
    };
}

/// A private `dbus-daemon` of type system in `dir` (no host service is touched), with the
/// repository's bus configuration and the bus policy we ship. Killed on drop.
#[derive(Debug)]
pub struct PrivateBus {
    child: std::process::Child,
    /// The address clients use (`DBUS_SYSTEM_BUS_ADDRESS`).
    pub address: String,
}

impl PrivateBus {
    /// Starts the bus; `repo` is the repository root (for `tests/bus/system-bus.conf.in` and
    /// `etc/dbus-1/system.d`). `Err` says why it could not start (e.g. no `dbus-daemon`).
    pub fn start(dir: &std::path::Path, repo: &std::path::Path) -> Result<Self, String> {
        use std::io::BufRead;
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Unprivileged clients connect too.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let template = repo.join("tests/bus/system-bus.conf.in");
        let conf = std::fs::read_to_string(&template)
            .map_err(|e| format!("{}: {e}", template.display()))?
            .replace("@DIR@", &dir.display().to_string())
            .replace(
                "@POLICY_DIR@",
                &repo.join("etc/dbus-1/system.d").display().to_string(),
            );
        let conf_path = dir.join("bus.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf_path.display()))
            .args(["--nofork", "--print-address=1", "--nopidfile"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("dbus-daemon cannot be started: {e}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let address = line.trim().to_owned();
        if !address.starts_with("unix:") {
            let _ = child.kill();
            return Err(format!("dbus-daemon printed {address:?}"));
        }
        Ok(Self { child, address })
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks `value` against `#/$defs/<def>` of a JSON schema, for the keywords the ctl
/// tools' schemas use (`$ref`, `allOf`, `anyOf`, `type`, `enum`, `required`, `properties`,
/// `additionalProperties`, `items`, `minimum`); any other keyword is an error, so a schema
/// cannot rely on something this check ignores. `Err` names the failing path.
pub fn check_json_schema(
    schema: &serde_json::Value,
    def: &str,
    value: &serde_json::Value,
) -> Result<(), String> {
    let node = schema
        .pointer(&format!("/$defs/{def}"))
        .ok_or_else(|| format!("schema has no $defs/{def}"))?;
    check_node(schema, node, value, "$")
}

fn check_node(
    root: &serde_json::Value,
    node: &serde_json::Value,
    v: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value as J;
    let obj = match node {
        J::Bool(true) => return Ok(()),
        J::Bool(false) => return Err(format!("{path}: not allowed")),
        J::Object(o) => o,
        _ => return Err(format!("{path}: bad schema node")),
    };
    for (kw, arg) in obj {
        match kw.as_str() {
            "description" | "title" | "$schema" | "$id" | "$defs" => {}
            "$ref" => {
                let r = arg.as_str().and_then(|s| s.strip_prefix('#')).unwrap_or("");
                let target = root.pointer(r).ok_or_else(|| format!("bad $ref {arg}"))?;
                check_node(root, target, v, path)?;
            }
            "allOf" => {
                for sub in arg.as_array().into_iter().flatten() {
                    check_node(root, sub, v, path)?;
                }
            }
            "anyOf" => {
                let subs = arg.as_array().cloned().unwrap_or_default();
                if !subs.iter().any(|s| check_node(root, s, v, path).is_ok()) {
                    return Err(format!("{path}: matches none of anyOf"));
                }
            }
            "type" => {
                let types: Vec<&str> = match arg {
                    J::String(s) => vec![s.as_str()],
                    J::Array(a) => a.iter().filter_map(J::as_str).collect(),
                    _ => return Err(format!("{path}: bad type keyword")),
                };
                let ok = types.iter().any(|t| match *t {
                    "string" => v.is_string(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "integer" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    _ => false,
                });
                if !ok {
                    return Err(format!("{path}: {v} is not of type {types:?}"));
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|a| a.contains(v)) {
                    return Err(format!("{path}: {v} not in {arg}"));
                }
            }
            "minimum" => {
                if let (Some(n), Some(min)) = (v.as_f64(), arg.as_f64())
                    && n < min
                {
                    return Err(format!("{path}: {n} < {min}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for k in arg.as_array().into_iter().flatten().filter_map(J::as_str) {
                        if !o.contains_key(k) {
                            return Err(format!("{path}: missing key {k:?}"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(o), Some(props)) = (v.as_object(), arg.as_object()) {
                    for (k, sub) in props {
                        if let Some(x) = o.get(k) {
                            check_node(root, sub, x, &format!("{path}.{k}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known = obj.get("properties").and_then(J::as_object);
                    for (k, x) in o {
                        if !known.is_some_and(|p| p.contains_key(k)) {
                            check_node(root, arg, x, &format!("{path}.{k}"))?;
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        check_node(root, arg, x, &format!("{path}[{i}]"))?;
                    }
                }
            }
            other => return Err(format!("{path}: unsupported schema keyword {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod schema_check_tests {
    use super::check_json_schema;
    use serde_json::json;

    #[test]
    fn the_check_rejects_what_it_should() {
        let schema = json!({"$defs": {
            "x": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0}},
                  "additionalProperties": {"type": "string"}},
            "l": {"type": "array", "items": {"$ref": "#/$defs/x"}},
            "e": {"enum": ["A", "B"]},
            "bad": {"pattern": "x"}
        }});
        assert!(check_json_schema(&schema, "l", &json!([{"a": 1, "b": "s"}])).is_ok());
        for (def, v) in [
            ("l", json!([{"b": "s"}])),
            ("l", json!([{"a": -1}])),
            ("l", json!([{"a": 1, "b": 2}])),
            ("l", json!({"a": 1})),
            ("x", json!({"a": "1"})),
            ("e", json!("C")),
            ("bad", json!("x")),
            ("missing", json!(null)),
        ] {
            assert!(check_json_schema(&schema, def, &v).is_err(), "{def} {v}");
        }
    }
}

/// The value a ctl tool prints for a golden case (`tests/golden/*.input.json`: the tool, the
/// subcommand and the daemon's replies), built by the tools' own assembly code.
pub fn golden_value(case: &serde_json::Value) -> crate::pprint::PyValue {
    use crate::ctl::client::{StrDict, dict_list};
    use crate::ctl::status::{ControllerStatus, assemble};
    let dicts = |v: &serde_json::Value| -> Vec<StrDict> {
        serde_json::from_value(v.clone()).expect("a list of string dicts")
    };
    let parse = |v: &serde_json::Value| -> crate::pprint::PyValue {
        serde_json::from_str(v.as_str().expect("a JSON string")).expect("JSON")
    };
    match case["cmd"].as_str().expect("cmd") {
        "ls" => dict_list(&dicts(&case["list_controllers"])),
        "dlp" => dict_list(&dicts(&case["get_log_pages"])),
        "adlp" => parse(&case["get_all_log_pages"]),
        "status" => assemble(
            parse(&case["process_info"]),
            case["controllers"]
                .as_array()
                .expect("controllers")
                .iter()
                .map(|c| ControllerStatus {
                    details: serde_json::from_value(c["details"].clone()).expect("details"),
                    log_pages: c.get("log_pages").map(dicts),
                    info: parse(&c["controller_info"]),
                })
                .collect(),
        ),
        other => panic!("unknown golden command {other}"),
    }
}

/// Runs every golden case of `dir` (`<case>.input.json` → `<case>.pprint`): the `--pprint`
/// text must be byte-identical, and the `--json` value must match `schema` (definition
/// named by the case's command). Returns the number of cases.
pub fn check_golden_dir(dir: &std::path::Path, schema: &std::path::Path) -> usize {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema).expect("schema"))
            .expect("schema JSON");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("golden dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".input.json"))
        .collect();
    entries.sort();
    for input in entries {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
        let value = golden_value(&case);
        let want_path = input.to_string_lossy().replace(".input.json", ".pprint");
        let want = std::fs::read_to_string(&want_path).expect("golden .pprint file");
        assert_eq!(crate::ctl::format::pprint_text(&value), want, "{want_path}");
        let json = crate::ctl::format::to_json(&value);
        if let Err(e) = check_json_schema(&schema, case["cmd"].as_str().unwrap(), &json) {
            panic!("{}: --json does not match the schema: {e}", input.display());
        }
        n += 1;
    }
    n
}
