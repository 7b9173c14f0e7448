//! `stasadm` subcommands end to end on scratch directories: NQN derivation vectors, storage
//! rules (`-f` file + `file://` in sys.conf), comment preservation, `hostid --from-nqn`,
//! error messages and exit codes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_stasadm");
const NQN_A: &str = "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964";
const NQN_0123: &str = "nqn.2014-08.org.nvmexpress:uuid:f2782346-4809-484a-9a8b-952a04b57ba4";

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap()
    }

    fn conf(&self) -> String {
        self.path("sys.conf").to_str().unwrap().to_owned()
    }

    /// Runs with every system path redirected into the scratch directory (which is also
    /// the working directory).
    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("COLUMNS")
            .env("STAS_MACHINE_ID_FILE", self.path("machine-id"))
            .env("STAS_DMI_PRODUCT_UUID_FILE", self.path("product_uuid"))
            .env("STAS_DT_PARTITION_UUID_FILE", self.path("partition-uuid"))
            .env("STAS_ETC_NVME_DIR", self.path("etc-nvme"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run binary")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Runs `stasadm -c <scratch>/sys.conf ARGS` and expects silent success.
    fn ok(&self, args: &[&str]) {
        let conf = self.conf();
        let mut all = vec!["-c", conf.as_str()];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs and expects exit 1 with one stderr line; returns it.
    fn fails(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.run_env(args, env);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.ends_with('\n'));
        err.trim_end().to_owned()
    }
}

fn uuid_of(nqn_line: &str) -> &str {
    nqn_line.rsplit(':').next().unwrap()
}

fn assert_uuid_v4(u: &str) {
    assert_eq!(u.len(), 36, "{u}");
    assert_eq!(u, u.to_lowercase());
    let b: Vec<char> = u.chars().collect();
    assert_eq!(b[14], '4', "{u}");
    assert!(matches!(b[19], '8' | '9' | 'a' | 'b'), "{u}");
    assert!(libnvme_rs::host::parse_uuid(u).is_some(), "{u}");
}

#[test]
fn hostnqn_from_machine_id_matches_the_vectors() {
    let s = Scratch::new();
    s.write("machine-id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
    s.ok(&["hostnqn"]);
    assert_eq!(s.read("sys.conf"), format!("[Host]\nnqn = {NQN_A}\n"));
    // Re-generation is stable: the same line, replaced in place.
    s.ok(&["hostnqn"]);
    assert_eq!(s.read("sys.conf"), format!("[Host]\nnqn = {NQN_A}\n"));

    s.write("machine-id", "0123456789abcdef0123456789abcdef\n");
    fs::create_dir(s.path("etc-nvme")).unwrap();
    s.ok(&["hostnqn", "-f", "etc-nvme/hostnqn"]);
    assert_eq!(s.read("etc-nvme/hostnqn"), format!("{NQN_0123}\n"));
    let file = s.path("etc-nvme/hostnqn");
    assert_eq!(
        s.read("sys.conf"),
        format!("[Host]\nnqn = file://{}\n", file.display())
    );
}

#[test]
fn hostnqn_fallbacks_dmi_device_tree_random() {
    let s = Scratch::new();
    // systemd's first-boot placeholder is not a machine ID.
    s.write("machine-id", "uninitialized\n");
    s.write("product_uuid", "4c4c4544-0034-1036-8038-b2c04f313233\n");
    s.ok(&["hostnqn"]);
    assert_eq!(
        s.read("sys.conf"),
        "[Host]\nnqn = nqn.2014-08.org.nvmexpress:uuid:44454c4c-3400-3610-8038-b2c04f313233\n"
    );

    fs::remove_file(s.path("product_uuid")).unwrap();
    s.write("partition-uuid", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\0");
    s.ok(&["hostnqn"]);
    assert_eq!(
        s.read("sys.conf"),
        "[Host]\nnqn = nqn.2014-08.org.nvmexpress:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n"
    );

    fs::remove_file(s.path("partition-uuid")).unwrap();
    s.ok(&["hostnqn", "-f", "a"]);
    s.ok(&["hostnqn", "-f", "b"]);
    let (a, b) = (s.read("a"), s.read("b"));
    assert_ne!(a, b, "random fallback must differ between runs");
    for nqn in [&a, &b] {
        assert!(nqn.starts_with("nqn.2014-08.org.nvmexpress:uuid:"));
        assert_uuid_v4(uuid_of(nqn.trim_end()));
    }
}

#[test]
fn dmi_permission_error_prints_the_upstream_message() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    fs::set_permissions(s.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let p = s.write("product_uuid", "4c4c4544-0034-1036-8038-b2c04f313233\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    let conf = s.conf();
    let args = ["-c", conf.as_str(), "hostnqn"];
    let mut cmd = if fs::read(&p).is_ok() {
        // Root reads mode-000 files: run as "nobody" (setpriv is part of util-linux).
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            BIN,
        ]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .args(args)
        .current_dir(s.dir.path())
        .env("STAS_MACHINE_ID_FILE", s.path("machine-id"))
        .env("STAS_DMI_PRODUCT_UUID_FILE", &p)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            assert!(
                std::env::var_os("STAS_REQUIRE_SYSTEM_TESTS").is_none(),
                "setpriv: {e}"
            );
            println!("SKIPPED: setpriv not available: {e}");
            return;
        }
    };
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Permission denied. Root privileges required.\n"
    );
    assert!(!s.path("sys.conf").exists());
}

#[test]
fn hostid_is_random_v4() {
    let s = Scratch::new();
    s.ok(&["hostid", "-f", "id1"]);
    s.ok(&["hostid", "-f", "id2"]);
    let (a, b) = (s.read("id1"), s.read("id2"));
    assert_ne!(a, b);
    assert_uuid_v4(a.trim_end());
    assert!(a.ends_with('\n'));
    let conf = s.read("sys.conf");
    assert_eq!(
        conf,
        format!("[Host]\nid = file://{}\n", s.path("id2").display())
    );

    // Deterministic with a fixed random source.
    let c = s.conf();
    let out = s.run_env(
        &["-c", &c, "hostid"],
        &[("STAS_RANDOM_SOURCE", "/dev/zero")],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        s.read("sys.conf"),
        "[Host]\nid = 00000000-0000-4000-8000-000000000000\n"
    );
}

#[test]
fn hostid_from_nqn() {
    let s = Scratch::new();
    s.write("machine-id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
    // Literal NQN in sys.conf.
    s.ok(&["hostnqn"]);
    s.ok(&["hostid", "--from-nqn"]);
    assert_eq!(
        s.read("sys.conf"),
        format!("[Host]\nnqn = {NQN_A}\nid = 3da64a01-16c5-4e10-ac46-397e2372b964\n")
    );
    // file:// NQN in sys.conf, ID to a file.
    s.write("machine-id", "0123456789abcdef0123456789abcdef\n");
    s.ok(&["hostnqn", "-f", "nqn-file"]);
    s.ok(&["hostid", "--from-nqn", "-f", "id-file"]);
    assert_eq!(s.read("id-file"), "f2782346-4809-484a-9a8b-952a04b57ba4\n");

    // No nqn in sys.conf: /etc/nvme/hostnqn (here STAS_ETC_NVME_DIR).
    let t = Scratch::new();
    t.write(
        "etc-nvme/hostnqn",
        "nqn.2014-08.org.nvmexpress:uuid:ABCDEF01-2345-4678-9abc-def012345678\n",
    );
    t.write("sys.conf", "# my host\n[Host]\nsymname = me\n");
    t.ok(&["hostid", "--from-nqn"]);
    assert_eq!(
        t.read("sys.conf"),
        "# my host\n[Host]\nsymname = me\nid = abcdef01-2345-4678-9abc-def012345678\n"
    );

    // Not a UUID NQN → clear error, nothing written.
    let conf = t.conf();
    t.write("sys.conf", "[Host]\nnqn = nqn.1988-11.com.example:host1\n");
    assert_eq!(
        t.fails(&["-c", &conf, "hostid", "--from-nqn"], &[]),
        "stasadm: cannot derive the host ID from host NQN \"nqn.1988-11.com.example:host1\": it is not of the form nqn.2014-08.org.nvmexpress:uuid:<UUID>"
    );
    assert_eq!(
        t.read("sys.conf"),
        "[Host]\nnqn = nqn.1988-11.com.example:host1\n"
    );

    // No NQN anywhere → the daemons' message.
    let u = Scratch::new();
    let conf = u.conf();
    let err = u.fails(&["-c", &conf, "hostid", "--from-nqn"], &[]);
    assert!(
        err.starts_with(
            "stasadm: Error reading mandatory Host NQN (see stasadm --help): No such file or directory"
        ),
        "{err}"
    );
}

#[test]
fn set_and_clear_symname_keep_comments_and_layout() {
    let s = Scratch::new();
    // Upstream's example: configparser would drop "# c"; we keep it.
    s.write("sys.conf", "# c\n[Host]\nnqn=file:///etc/nvme/hostnqn");
    s.ok(&["set-symname", "Luke Sky"]);
    assert_eq!(
        s.read("sys.conf"),
        "# c\n[Host]\nnqn=file:///etc/nvme/hostnqn\nsymname = Luke Sky\n"
    );

    let original = "\
# Copyright notice
;   and a semicolon comment

[Host]
# The host NQN
nqn = file:///etc/nvme/hostnqn
  ; indented comment
id=file:///etc/nvme/hostid
unknown-option = kept as is

[Unknown section]
symname = not the host one
";
    s.write("sys.conf", original);
    s.ok(&["set-symname", "Han Solo"]);
    let with = s.read("sys.conf");
    assert_eq!(
        with,
        original.replace(
            "unknown-option = kept as is\n",
            "unknown-option = kept as is\nsymname = Han Solo\n"
        )
    );
    // Replaced in place.
    s.ok(&["set-symname", "Chewie"]);
    assert_eq!(
        s.read("sys.conf"),
        with.replace("symname = Han Solo", "symname = Chewie")
    );
    // Cleared: back to the original, byte for byte.
    s.ok(&["clear-symname"]);
    assert_eq!(s.read("sys.conf"), original);
    // Clearing again changes nothing.
    s.ok(&["clear-symname"]);
    assert_eq!(s.read("sys.conf"), original);
}

#[test]
fn set_symname_with_file() {
    let s = Scratch::new();
    s.ok(&["set-symname", "-f", "symname", "Leia"]);
    assert_eq!(s.read("symname"), "Leia\n");
    assert_eq!(
        s.read("sys.conf"),
        format!("[Host]\nsymname = file://{}\n", s.path("symname").display())
    );
    // A name with blanks stored in a file: works, but the reader keeps the first word.
    let conf = s.conf();
    let out = s.run(&["-c", &conf, "set-symname", "-f", "symname", "Luke Sky"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "stasadm: warning: a symbolic name read from a file is cut at the first blank: \"Luke Sky\" will be read as \"Luke\"\n"
    );
    assert_eq!(s.read("symname"), "Luke Sky\n");
}

#[test]
fn clear_symname_on_a_missing_file_creates_the_host_section() {
    let s = Scratch::new();
    s.ok(&["clear-symname"]);
    assert_eq!(s.read("sys.conf"), "[Host]\n");
}

#[test]
fn empty_conf_and_file_arguments() {
    let s = Scratch::new();
    s.write("machine-id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
    // -c '' → no configuration file is touched; -f FILE still written.
    let out = s.run(&["-c", "", "hostnqn", "-f", "nqn"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(s.read("nqn"), format!("{NQN_A}\n"));
    let names: Vec<_> = fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["machine-id", "nqn"]);
    // -f '' → no file: the literal goes to sys.conf.
    s.ok(&["hostnqn", "-f", ""]);
    assert_eq!(s.read("sys.conf"), format!("[Host]\nnqn = {NQN_A}\n"));
}

#[test]
fn errors_are_one_line_and_exit_1() {
    let s = Scratch::new();
    let missing_dir = s.path("no/such/dir/sys.conf");
    let m = missing_dir.to_str().unwrap();
    assert_eq!(
        s.fails(&["-c", m, "set-symname", "x"], &[]),
        format!("stasadm: cannot write {m}: No such file or directory (os error 2)")
    );
    let f = s.path("nope/file");
    let conf = s.conf();
    assert_eq!(
        s.fails(&["-c", &conf, "hostid", "-f", f.to_str().unwrap()], &[]),
        format!(
            "stasadm: cannot write {}: No such file or directory (os error 2)",
            f.display()
        )
    );
    // The ID file failed first: sys.conf untouched, as upstream (FILE is written first).
    assert!(!s.path("sys.conf").exists());
    assert_eq!(
        s.fails(&["-c", &conf, "set-symname", "a\nb"], &[]),
        "stasadm: invalid value for \"symname\": it must fit on a single line"
    );
    fs::write(s.path("sys.conf"), [0xffu8, 0xfe]).unwrap();
    assert_eq!(
        s.fails(&["-c", &conf, "clear-symname"], &[]),
        format!("stasadm: cannot edit {conf}: the file is not UTF-8 text")
    );
    assert_eq!(
        s.fails(
            &["-c", &conf, "hostid"],
            &[("STAS_RANDOM_SOURCE", s.path("no-random").to_str().unwrap())]
        ),
        format!(
            "stasadm: Error reading random bytes from {}: No such file or directory (os error 2)",
            s.path("no-random").display()
        )
    );
}

#[test]
fn relative_file_paths_are_stored_absolute() {
    let s = Scratch::new();
    s.ok(&["set-symname", "-f", "./sym", "R2"]);
    let conf = s.read("sys.conf");
    let stored = conf
        .lines()
        .find_map(|l| l.strip_prefix("symname = file://"))
        .unwrap();
    assert!(Path::new(stored).is_absolute(), "{stored}");
    assert_eq!(fs::read_to_string(stored).unwrap(), "R2\n");
}
