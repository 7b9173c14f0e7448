//! The Debian package built from the repository (`packaging/deb/build.sh`): lintian finds no
//! errors, it holds the programs, units, D-Bus policy and man pages, marks /etc/stas as
//! configuration, and carries the maintainer scripts that create the host identity and
//! restart (not stop) the services on upgrade.

use std::process::Command;

use stas_tests::workspace::{bin_dir, have_tool, repo};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn debian_package_builds_and_lintian_finds_no_errors() {
    if !(have_tool("dpkg-deb") && have_tool("lintian")) {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(repo().join("packaging/deb/build.sh"))
        .arg(out_dir.path())
        .env("BUILD", bin_dir())
        .output()
        .expect("build.sh runs");
    assert!(out.status.success(), "build.sh: {}", text(&out));
    let deb = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(deb.ends_with(".deb"), "{deb}");

    let lint = Command::new("lintian")
        .args(["--tag-display-limit", "0"])
        .arg(&deb)
        .output()
        .expect("lintian runs");
    let report = text(&lint);
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{report}");

    let contents = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = text(&contents);
    assert!(
        listing
            .lines()
            .next()
            .unwrap_or("")
            .starts_with("drwxr-xr-x"),
        "{listing}"
    );
    for path in [
        "./usr/sbin/stafd",
        "./usr/sbin/stacd",
        "./usr/bin/stafctl",
        "./usr/bin/stacctl",
        "./usr/bin/stasadm",
        "./usr/lib/systemd/system/stafd.service",
        "./usr/lib/systemd/system/stacd.service",
        "./usr/share/dbus-1/system.d/org.nvmexpress.staf.conf",
        "./usr/share/man/man8/stafd.8.gz",
        "./usr/share/man/man7/nvme-stas.7.gz",
        "./usr/share/doc/nvme-stas-rs/copyright",
        "./etc/stas/stafd.conf",
    ] {
        assert!(listing.contains(path), "{path} missing:\n{listing}");
    }
    let dir = tempfile::tempdir().unwrap();
    let ctl = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(ctl.status.success(), "{}", text(&ctl));
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(
        read("conffiles").lines().collect::<Vec<_>>(),
        [
            "/etc/stas/stacd.conf",
            "/etc/stas/stafd.conf",
            "/etc/stas/sys.conf"
        ]
    );
    let postinst = read("postinst");
    assert!(postinst.contains("stasadm hostnqn -f /etc/nvme/hostnqn"));
    assert!(postinst.contains("try-restart stafd.service stacd.service"));
    assert!(postinst.contains("ReloadConfig"));
    // An upgrade does not stop the services in prerm.
    assert!(read("prerm").contains(r#"[ "$1" = "remove" ]"#));
    // The maintainer scripts are valid sh.
    for s in ["postinst", "prerm", "postrm"] {
        let st = Command::new("sh")
            .arg("-n")
            .arg(dir.path().join(s))
            .status()
            .unwrap();
        assert!(st.success(), "{s} is not valid sh");
    }
}
