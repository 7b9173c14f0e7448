//! `make install` (the documented installation, honouring DESTDIR and PREFIX) puts every
//! file where the units, D-Bus and man expect it, rewrites the units' paths for PREFIX, and
//! never overwrites an administrator's configuration.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use stas_tests::workspace::{bin_dir, have_tool, repo};

fn install(destdir: &Path, prefix: &str) {
    let out = Command::new("make")
        .current_dir(repo())
        .args(["-s", "install-files"])
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("PREFIX={prefix}"))
        .arg(format!("BUILD={}", bin_dir().display()))
        .output()
        .expect("make runs (install make)");
    assert!(
        out.status.success(),
        "make install-files: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn make_install_honours_destdir_and_prefix_and_keeps_configuration() {
    if !have_tool("make") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    install(root, "/usr");
    let mode = |p: &str| {
        std::fs::metadata(root.join(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    for exe in [
        "usr/sbin/stafd",
        "usr/sbin/stacd",
        "usr/bin/stafctl",
        "usr/bin/stacctl",
        "usr/bin/stasadm",
    ] {
        assert_eq!(mode(exe), 0o755, "{exe}");
    }
    for file in [
        "usr/lib/systemd/system/stafd.service",
        "usr/lib/systemd/system/stacd.service",
        "usr/lib/systemd/system/stas-config.target",
        "usr/lib/systemd/system/stas-config@.service",
        "usr/share/dbus-1/system.d/org.nvmexpress.staf.conf",
        "usr/share/dbus-1/system.d/org.nvmexpress.stac.conf",
        "usr/share/dbus-1/interfaces/org.nvmexpress.staf.xml",
        "usr/share/man/man8/stafd.8",
        "usr/share/man/man8/stafd.service.8",
        "usr/share/man/man1/stafctl.1",
        "usr/share/man/man5/stafd.conf.5",
        "usr/share/man/man7/nvme-stas.7",
        "usr/share/nvme-stas/stafctl.schema.json",
        "usr/share/bash-completion/completions/stafctl",
        "usr/share/zsh/vendor-completions/_stacctl",
        "usr/share/fish/vendor_completions.d/stafctl.fish",
        "etc/stas/stafd.conf",
        "etc/stas/stacd.conf",
        "etc/stas/sys.conf",
    ] {
        assert_eq!(mode(file), 0o644, "{file}");
    }
    let completion =
        std::fs::read_to_string(root.join("usr/share/bash-completion/completions/stafctl"))
            .unwrap();
    assert!(completion.contains("_stafctl"), "{completion}");
    // An administrator's configuration survives a reinstall.
    std::fs::write(root.join("etc/stas/stafd.conf"), "# mine\n").unwrap();
    install(root, "/usr");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/stas/stafd.conf")).unwrap(),
        "# mine\n"
    );
    // PREFIX reaches the units' ExecStart.
    let d2 = tempfile::tempdir().unwrap();
    install(d2.path(), "/opt/stas");
    let unit = std::fs::read_to_string(d2.path().join("opt/stas/lib/systemd/system/stacd.service"))
        .unwrap();
    assert!(
        unit.contains("ExecStart=/opt/stas/sbin/stacd --syslog"),
        "{unit}"
    );
    let unit = std::fs::read_to_string(
        d2.path()
            .join("opt/stas/lib/systemd/system/stas-config@.service"),
    )
    .unwrap();
    assert!(
        unit.contains("ExecStart=/opt/stas/bin/stasadm %i"),
        "{unit}"
    );
}
