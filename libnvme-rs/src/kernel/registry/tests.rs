//! The registry rules of nvme-stas 3.x spec §1, on a registry in a temporary directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("uevent_seqnum");
    fs::write(&seq, "4711\n").unwrap();
    let reg = Registry::new(dir.path().join("run/nvme/registry")).with_seqnum_source(seq);
    (dir, reg)
}

#[test]
fn names() {
    for ok in ["nvme0", "nvme12"] {
        assert!(valid_device(ok), "{ok}");
    }
    for bad in [
        "nvme", "nvme1n1", "nvme-1", "../nvme1", "NVME1", "nvme1 ", "",
    ] {
        assert!(!valid_device(bad), "{bad}");
    }
    for ok in ["owner", "seqnum", "a-b_C9"] {
        assert!(valid_attr(ok), "{ok}");
    }
    for bad in ["", "own er", "../owner", "owner.tmp"] {
        assert!(!valid_attr(bad), "{bad}");
    }
}

#[test]
fn a_fresh_connect_is_recorded_as_libnvme_writes_it() {
    let (_d, reg) = registry();
    assert!(!reg.exists());
    reg.record("nvme3", STAS_OWNER).unwrap();
    assert!(reg.exists());
    let entry = reg.dir().join("nvme3");
    assert_eq!(listing(reg.dir()), ["nvme3"], "no temporary or trash left");
    assert_eq!(listing(&entry), ["owner", "seqnum"]);
    assert_eq!(fs::read(entry.join("owner")).unwrap(), b"stas\n");
    assert_eq!(fs::read(entry.join("seqnum")).unwrap(), b"4711\n");
    assert_eq!(mode(reg.dir()), 0o755);
    assert_eq!(mode(&entry), 0o755);
    assert_eq!(mode(&entry.join("owner")), 0o644);
    assert_eq!(mode(&entry.join("seqnum")), 0o644);
    assert_eq!(reg.owner("nvme3").as_deref(), Some("stas"));
}

#[test]
fn a_stale_entry_is_replaced_whole() {
    let (_d, reg) = registry();
    let stale = reg.dir().join("nvme3");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("owner"), "discoverd\n").unwrap();
    fs::write(stale.join("seqnum"), "12\n").unwrap();
    fs::write(stale.join("future-attr"), "x\n").unwrap();
    reg.record("nvme3", STAS_OWNER).unwrap();
    assert_eq!(listing(reg.dir()), ["nvme3"]);
    assert_eq!(listing(&stale), ["owner", "seqnum"]);
    assert_eq!(reg.owner("nvme3").as_deref(), Some("stas"));
}

#[test]
fn without_a_seqnum_source_the_entry_has_only_an_owner() {
    let dir = tempfile::tempdir().unwrap();
    let reg =
        Registry::new(dir.path().join("registry")).with_seqnum_source(dir.path().join("missing"));
    reg.record("nvme0", "stas").unwrap();
    assert_eq!(listing(&reg.dir().join("nvme0")), ["owner"]);
}

#[test]
fn reading_follows_libnvme() {
    let (_d, reg) = registry();
    let e = reg.dir().join("nvme5");
    fs::create_dir_all(&e).unwrap();
    assert_eq!(reg.owner("nvme5"), None, "no owner file: unowned");
    fs::write(e.join("owner"), "").unwrap();
    assert_eq!(reg.owner("nvme5"), None, "empty: unowned");
    fs::write(e.join("owner"), "\n").unwrap();
    assert_eq!(reg.owner("nvme5"), None, "only a newline: unowned");
    fs::write(e.join("owner"), "autoconnect\r\n\n").unwrap();
    assert_eq!(reg.owner("nvme5").as_deref(), Some("autoconnect"));
    assert_eq!(
        reg.owned_by_another("nvme5", STAS_OWNER).as_deref(),
        Some("autoconnect")
    );
    fs::write(e.join("owner"), "stas\n").unwrap();
    assert_eq!(reg.owned_by_another("nvme5", STAS_OWNER), None);
    assert_eq!(reg.owner("nvme6"), None, "no directory: unowned");
    assert_eq!(reg.owner("../nvme5"), None);
    fs::write(e.join("owner"), "x".repeat(10_000)).unwrap();
    assert_eq!(reg.owner("nvme5").map(|o| o.len()), Some(4096), "bounded");
}

#[test]
fn a_claim_never_takes_another_owner() {
    let (_d, reg) = registry();
    assert_eq!(reg.claim("nvme1", STAS_OWNER).unwrap(), Claim::Claimed);
    assert_eq!(fs::read(reg.dir().join("nvme1/owner")).unwrap(), b"stas\n");
    assert_eq!(
        listing(&reg.dir().join("nvme1")),
        ["owner"],
        "a claim writes no seqnum"
    );
    assert_eq!(reg.claim("nvme1", STAS_OWNER).unwrap(), Claim::AlreadyOurs);

    // An entry with a seqnum but no owner (libnvme's ownerless connect) is claimed in place.
    let e = reg.dir().join("nvme2");
    fs::create_dir_all(&e).unwrap();
    fs::write(e.join("seqnum"), "99\n").unwrap();
    assert_eq!(reg.claim("nvme2", STAS_OWNER).unwrap(), Claim::Claimed);
    assert_eq!(listing(&e), ["owner", "seqnum"]);

    fs::create_dir_all(reg.dir().join("nvme4")).unwrap();
    fs::write(reg.dir().join("nvme4/owner"), "nbft\n").unwrap();
    assert_eq!(
        reg.claim("nvme4", STAS_OWNER).unwrap(),
        Claim::OwnedBy("nbft".into())
    );
    assert_eq!(fs::read(reg.dir().join("nvme4/owner")).unwrap(), b"nbft\n");
}

#[test]
fn bad_names_are_refused_and_removal_is_atomic() {
    let (_d, reg) = registry();
    assert!(reg.record("nvme1n1", "stas").is_err());
    assert!(reg.record("nvme1", "").is_err());
    assert!(reg.record("nvme1", "st\nas").is_err());
    assert!(reg.claim("../x", "stas").is_err());
    reg.record("nvme7", "stas").unwrap();
    reg.remove("nvme7").unwrap();
    assert!(listing(reg.dir()).is_empty());
    reg.remove("nvme7").unwrap();
    assert!(reg.remove("x").is_err());
}
