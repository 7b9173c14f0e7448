//! [`read`]: the main file, the drop-in directory, their order and bounds.

use std::fs;

use super::*;

const IOC: &str = "[Subsystem]\nnqn = nqn.2014-08.org.example:v\n\
                   controller = transport=tcp;traddr=192.0.2.8\n";

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        Tree {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn main(&self) -> std::path::PathBuf {
        self.dir.path().join("nvme-stas.conf")
    }

    fn write(&self, rel: &str, text: &[u8]) -> &Self {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        self
    }

    fn mkdir(&self, rel: &str) -> &Self {
        fs::create_dir_all(self.dir.path().join(rel)).unwrap_or_else(|e| panic!("{e}"));
        self
    }

    fn symlink(&self, target: &str, rel: &str) -> &Self {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::os::unix::fs::symlink(target, path).unwrap_or_else(|e| panic!("{e}"));
        self
    }

    fn read(&self) -> Result<ConnConfig, ConnConfError> {
        read(&self.main())
    }

    fn names(&self, c: &ConnConfig) -> Vec<String> {
        c.files
            .iter()
            .map(|f| {
                f.strip_prefix(self.dir.path())
                    .unwrap_or(f)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }
}

#[test]
fn dropins_are_the_conf_files_in_byte_order() {
    let t = Tree::new();
    t.write("nvme-stas.conf", IOC.as_bytes());
    for name in [
        "20-b.conf",
        "10-a.conf",
        "Z.conf",
        ".hidden.conf",
        "..conf",
        "b.conf",
    ] {
        t.write(&format!("nvme-stas.conf.d/{name}"), IOC.as_bytes());
    }
    for ignored in [".conf", "a.conf~", "a.conf.bak", "README", "a.CONF", "conf"] {
        t.write(&format!("nvme-stas.conf.d/{ignored}"), b"junk\n");
    }
    t.mkdir("nvme-stas.conf.d/subdir");
    let c = t.read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        t.names(&c),
        [
            "nvme-stas.conf",
            "nvme-stas.conf.d/..conf",
            "nvme-stas.conf.d/.hidden.conf",
            "nvme-stas.conf.d/10-a.conf",
            "nvme-stas.conf.d/20-b.conf",
            "nvme-stas.conf.d/Z.conf",
            "nvme-stas.conf.d/b.conf",
        ]
    );
    assert_eq!(c.subsystems.len(), 7);
}

#[test]
fn either_part_may_be_missing() {
    let t = Tree::new();
    let c = t.read().unwrap_or_else(|e| panic!("{e}"));
    assert!(c.is_empty() && c.files.is_empty());

    t.write("nvme-stas.conf.d/a.conf", IOC.as_bytes());
    let c = t.read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.names(&c), ["nvme-stas.conf.d/a.conf"]);
    assert_eq!(c.subsystems.len(), 1);

    let t = Tree::new();
    t.write("nvme-stas.conf", IOC.as_bytes());
    let c = t.read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.names(&c), ["nvme-stas.conf"]);

    // A dangling symbolic link as main file counts as missing (libnvme: ENOENT).
    let t = Tree::new();
    t.symlink("nowhere", "nvme-stas.conf");
    assert!(t.read().is_ok_and(|c| c.files.is_empty()));
}

#[test]
fn file_system_errors() {
    let expect = |t: &Tree, rel: &str, what: fn(&ErrorKind) -> bool| match t.read() {
        Ok(c) => panic!("{rel}: accepted {c:#?}"),
        Err(e) => {
            assert!(what(&e.kind), "{rel}: {e}");
            assert_eq!(&*e.location.file, t.dir.path().join(rel), "{e}");
            assert_eq!(e.location.line, None);
        }
    };
    let t = Tree::new();
    t.mkdir("nvme-stas.conf");
    expect(&t, "nvme-stas.conf", |k| {
        matches!(k, ErrorKind::IsDirectory)
    });

    let t = Tree::new();
    t.symlink("/dev/null", "nvme-stas.conf");
    expect(&t, "nvme-stas.conf", |k| {
        matches!(k, ErrorKind::NotRegularFile)
    });

    let t = Tree::new();
    t.write("nvme-stas.conf", IOC.as_bytes())
        .write("nvme-stas.conf.d", IOC.as_bytes());
    expect(&t, "nvme-stas.conf.d", |k| matches!(k, ErrorKind::Io(_)));

    let t = Tree::new();
    t.mkdir("nvme-stas.conf.d/d.conf");
    expect(&t, "nvme-stas.conf.d/d.conf", |k| {
        matches!(k, ErrorKind::IsDirectory)
    });

    // Only the main file may be missing: a dangling drop-in is an error.
    let t = Tree::new();
    t.symlink("nowhere", "nvme-stas.conf.d/a.conf");
    expect(&t, "nvme-stas.conf.d/a.conf", |k| {
        matches!(k, ErrorKind::Io(_))
    });

    let t = Tree::new();
    let mut big = IOC.as_bytes().to_vec();
    big.resize(MAX_FILE_BYTES as usize + 1, b'\n');
    t.write("nvme-stas.conf", &big);
    expect(
        &t,
        "nvme-stas.conf",
        |k| matches!(k, ErrorKind::TooLarge { size, .. } if *size == MAX_FILE_BYTES + 1),
    );
    big.pop();
    t.write("nvme-stas.conf", &big);
    assert!(t.read().is_ok(), "exactly the limit is accepted");
}

#[test]
fn too_many_dropins() {
    let t = Tree::new();
    for i in 0..=MAX_DROPIN_FILES {
        t.write(&format!("nvme-stas.conf.d/{i:04}.conf"), b"");
    }
    match t.read() {
        Ok(_) => panic!("accepted {} drop-ins", MAX_DROPIN_FILES + 1),
        Err(e) => assert!(
            matches!(e.kind, ErrorKind::TooManyDropIns { max, .. } if max == MAX_DROPIN_FILES),
            "{e}"
        ),
    }
    fs::remove_file(t.dir.path().join("nvme-stas.conf.d/0000.conf"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(t.read().is_ok_and(|c| c.files.len() == MAX_DROPIN_FILES));
}

#[test]
fn errors_name_the_dropin_and_line() {
    let t = Tree::new();
    t.write("nvme-stas.conf", IOC.as_bytes())
        .write("nvme-stas.conf.d/10-a.conf", IOC.as_bytes())
        .write("nvme-stas.conf.d/20-b.conf", b"[Host]\n\ntos = x\n");
    let e = t.read().map(|_| ()).map_err(|e| e.to_string());
    let expected = format!(
        "{}: invalid tos value \"x\"",
        t.dir.path().join("nvme-stas.conf.d/20-b.conf:3").display()
    );
    assert_eq!(e, Err(expected));
}

#[test]
fn dropin_dir_follows_the_main_file_name() {
    assert_eq!(
        dropin_dir(Path::new("/home/bob/nvme-for-bob.conf")),
        Path::new("/home/bob/nvme-for-bob.conf.d")
    );
    assert_eq!(
        dropin_dir(Path::new(DEFAULT_CONN_CONF)),
        Path::new("/etc/nvme/nvme-stas.conf.d")
    );
}
