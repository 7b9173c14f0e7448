//! Differential test of `kernel::registry`'s writer against **libnvme's own code**: nvme-cli's
//! `libnvme/src/nvme/registry.c` (vendored in `tests/vendor/nvme-cli`), built by
//! `tests/scripts/libnvme-registry-writer.sh`. Each case prepares the same registry twice;
//! libnvme writes one (`libnvmf_registry_create_instance`, or `libnvmf_registry_update` of
//! `owner`), we write the other ([`Registry::record`], or [`Registry::claim`]), and the two
//! trees must be identical: the same names, each file's bytes, every file's and
//! directory's mode, and no temporary or trash entry left. Both sides read the uevent
//! sequence number from the same file (our `with_seqnum_source`, the harness's
//! `LIBNVME_UEVENT_SEQNUM`), so the `seqnum` files must match byte for byte too. Every case
//! runs under umasks 022, 077 and 000: what each side leaves to the umask and what it sets
//! explicitly must agree.
//!
//! Not compared, by design: a claim of another owner's entry (our `claim` writes nothing,
//! `libnvmf_registry_update` would overwrite it), and a counter file of more than 31 bytes
//! or not UTF-8 (libnvme stamps its first 31 bytes, we stamp nothing; the kernel's counter
//! is a u64, at most 20 digits).
//!
//! Without gcc or the sources the test prints `SKIPPED: <why>` and passes, unless
//! `STAS_REQUIRE_SYSTEM_TESTS=1`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use libnvme_rs::kernel::registry::{Claim, Registry, STAS_OWNER};
use nix::sys::stat::{Mode, umask};

mod common;

/// libnvme's registry writer, built once.
struct Libnvme(common::Harness);

impl Libnvme {
    fn build() -> Option<Self> {
        common::Harness::build("libnvme-registry-writer.sh").map(Self)
    }

    /// Runs the harness (`run` = create_instance, `update`), the uevent counter read from
    /// `seqnum`.
    fn call(&self, verb: &str, seqnum: &Path, args: &[&str]) {
        let out = self
            .0
            .command(verb)
            .args(args)
            .env("LIBNVME_UEVENT_SEQNUM", seqnum)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout == b"ok\n",
            "libnvme {verb} {args:?}: {out:?}"
        );
    }
}

/// One path of a tree: a directory or a file, its mode, a file's bytes (escaped).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let desc = if meta.is_dir() {
                walk(root, &path, out);
                format!("dir {mode:04o}")
            } else if meta.is_file() {
                let bytes = fs::read(&path).unwrap();
                format!("file {mode:04o} \"{}\"", bytes.escape_ascii())
            } else {
                format!("other {:?}", meta.file_type())
            };
            out.insert(rel, desc);
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn mkdir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn put(path: &Path, bytes: &[u8], mode: u32) {
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// What exists before the write, built the same way on both sides (modes set explicitly,
/// whatever the umask).
#[derive(Clone, Copy, Debug)]
enum Before {
    /// No registry directory at all.
    Nothing,
    /// The registry with another controller's entry.
    OtherEntry,
    /// A stale nvme3 (a previous owner, an old seqnum, an attribute we do not know, odd
    /// modes) next to another entry.
    StaleEntry,
    /// nvme3 with a seqnum and no owner (as `libnvmf_registry_update(owner, NULL)` leaves
    /// an entry), its directory 0750.
    NoOwnerFile,
    /// nvme3 with an empty owner file.
    EmptyOwner,
    /// nvme3 whose owner file holds only a newline.
    NewlineOwner,
    /// nvme3 already ours.
    OwnedByUs,
}

fn prepare(registry: &Path, before: Before) {
    let base = registry.parent().unwrap();
    mkdir(base, 0o755);
    if matches!(before, Before::Nothing) {
        return;
    }
    mkdir(registry, 0o755);
    let other = registry.join("nvme1");
    mkdir(&other, 0o755);
    put(&other.join("owner"), b"autoconnect\n", 0o644);
    put(&other.join("seqnum"), b"17\n", 0o644);
    let e = registry.join("nvme3");
    match before {
        Before::Nothing | Before::OtherEntry => {}
        Before::StaleEntry => {
            mkdir(&e, 0o700);
            put(&e.join("owner"), b"discoverd\n", 0o600);
            put(&e.join("seqnum"), b"12\n", 0o600);
            put(&e.join("future-attr"), b"x\n", 0o640);
        }
        Before::NoOwnerFile => {
            mkdir(&e, 0o750);
            put(&e.join("seqnum"), b"99\n", 0o644);
        }
        Before::EmptyOwner => {
            mkdir(&e, 0o755);
            put(&e.join("owner"), b"", 0o644);
        }
        Before::NewlineOwner => {
            mkdir(&e, 0o755);
            put(&e.join("owner"), b"\n", 0o600);
        }
        Before::OwnedByUs => {
            mkdir(&e, 0o755);
            put(&e.join("owner"), b"stas\n", 0o644);
            put(&e.join("seqnum"), b"5\n", 0o644);
        }
    }
}

#[derive(Debug)]
enum Write {
    /// A fresh connect: `record` / `libnvmf_registry_create_instance`.
    Record,
    /// An adopted connection: `claim` (which must answer this) /
    /// `libnvmf_registry_update(dev, "owner", ...)`.
    Claim(Claim),
}

/// The uevent counter as the kernel writes it, and variants of it.
const SEQNUMS: [(&str, Option<&[u8]>); 4] = [
    ("kernel", Some(b"4711\n")),
    ("u64 max", Some(b"18446744073709551615\n")),
    ("no newline", Some(b"4711")),
    ("unreadable", None),
];

#[test]
fn writer_matches_libnvme() {
    let Some(libnvme) = Libnvme::build() else {
        return;
    };
    let record_cases = [Before::Nothing, Before::OtherEntry, Before::StaleEntry];
    let claim_cases = [
        (Before::Nothing, Claim::Claimed),
        (Before::OtherEntry, Claim::Claimed),
        (Before::NoOwnerFile, Claim::Claimed),
        (Before::EmptyOwner, Claim::Claimed),
        (Before::NewlineOwner, Claim::Claimed),
        (Before::OwnedByUs, Claim::AlreadyOurs),
    ];
    let mut cases: Vec<(Before, Write)> = Vec::new();
    cases.extend(record_cases.map(|b| (b, Write::Record)));
    cases.extend(claim_cases.map(|(b, c)| (b, Write::Claim(c))));

    let mut failures = Vec::new();
    let mut compared = 0;
    // The umask is the process's: this binary holds only this test, and it restores it.
    let saved = umask(Mode::from_bits_truncate(0o022));
    for mask in [0o022, 0o077, 0o000] {
        umask(Mode::from_bits_truncate(mask));
        for (before, write) in &cases {
            for (seq_name, seq) in SEQNUMS {
                // A claim writes no seqnum; one seqnum variant is enough there.
                if matches!(write, Write::Claim(_)) && seq_name != "kernel" {
                    continue;
                }
                let what = format!("umask {mask:03o}, {before:?}, {write:?}, seqnum {seq_name}");
                let tmp = tempfile::tempdir().unwrap();
                let seqnum = tmp.path().join("uevent_seqnum");
                if let Some(bytes) = seq {
                    fs::write(&seqnum, bytes).unwrap();
                }
                let theirs = tmp.path().join("libnvme/registry");
                let ours = tmp.path().join("ours/registry");
                prepare(&theirs, *before);
                prepare(&ours, *before);

                let reg = Registry::new(&ours).with_seqnum_source(&seqnum);
                let theirs_s = theirs.to_str().unwrap();
                match write {
                    Write::Record => {
                        libnvme.call("run", &seqnum, &[theirs_s, "nvme3", STAS_OWNER]);
                        reg.record("nvme3", STAS_OWNER)
                            .unwrap_or_else(|e| panic!("{what}: record: {e}"));
                    }
                    Write::Claim(expect) => {
                        libnvme.call("update", &seqnum, &[theirs_s, "nvme3", "owner", STAS_OWNER]);
                        let got = reg
                            .claim("nvme3", STAS_OWNER)
                            .unwrap_or_else(|e| panic!("{what}: claim: {e}"));
                        assert_eq!(&got, expect, "{what}");
                    }
                }

                let a = snapshot(theirs.parent().unwrap());
                let b = snapshot(ours.parent().unwrap());
                // Not vacuous: libnvme wrote the owner.
                assert_eq!(
                    a.get("registry/nvme3/owner")
                        .map(|d| d.ends_with("\"stas\\n\"")),
                    Some(true),
                    "{what}: libnvme's tree {a:#?}"
                );
                for (side, tree) in [("libnvme", &a), ("ours", &b)] {
                    let leftovers: Vec<_> = tree
                        .keys()
                        .filter(|p| p.contains("/.") || p.contains(".tmp."))
                        .collect();
                    if !leftovers.is_empty() {
                        failures.push(format!("{what}: {side} left {leftovers:?}"));
                    }
                }
                if a != b {
                    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
                    let mut diff = String::new();
                    for k in keys {
                        let (x, y) = (a.get(k), b.get(k));
                        if x != y {
                            diff += &format!("\n    {k}: libnvme {x:?}, ours {y:?}");
                        }
                    }
                    failures.push(format!("{what}:{diff}"));
                }
                compared += 1;
            }
        }
    }
    umask(saved);
    println!("{compared} registry trees compared with libnvme's");
    assert!(
        failures.is_empty(),
        "our registry writer differs from libnvme's:\n  {}",
        failures.join("\n  ")
    );
}
