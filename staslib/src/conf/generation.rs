//! Which generation of nvme-stas configuration a host uses (issue #10, spec 3.x §3), decided
//! once at start and again on every SIGHUP, and logged.
//!
//! * `-c/--conn-conf-file` given, or `/etc/nvme/nvme-stas.conf` present → the **3.x layout**:
//!   connections from `nvme-stas.conf` (+ `.d/`), daemon behaviour from
//!   `/etc/nvme/<daemon>.conf` (or `-f`).
//! * Otherwise → the **2.x layout**: everything from `/etc/stas/<daemon>.conf` (or `-f`), as
//!   nvme-stas 2.x reads it. This is also the answer when neither exists, so a host that has
//!   not been configured yet behaves (and answers on D-Bus) as the generation deployed
//!   everywhere today.
//! * Both present (upstream has no rule): the 3.x layout wins, because `nvme-stas.conf` only
//!   exists where someone wrote it for 3.x, while `/etc/stas` is left behind by package
//!   upgrades; the 2.x files are named in a warning as ignored. An explicit `-f` pointing at a
//!   2.x file does not change the generation: with the 3.x layout `-f` is the 3.x daemon file.

use std::path::{Path, PathBuf};

use super::options::Daemon;

/// nvme-stas 3.x's connection file.
pub const CONN_CONF_FILE: &str = "/etc/nvme/nvme-stas.conf";
/// The 3.x daemon files' directory.
pub const NVME_CONF_DIR: &str = "/etc/nvme";

/// A configuration generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// nvme-stas 2.x: `/etc/stas/{stafd,stacd,sys}.conf`.
    V2,
    /// nvme-stas 3.x: `/etc/nvme/nvme-stas.conf` (+ `.d/`) and `/etc/nvme/{stafd,stacd}.conf`.
    V3,
}

impl Generation {
    /// `2.x` / `3.x`.
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::V2 => "2.x",
            Generation::V3 => "3.x",
        }
    }
}

/// The files a daemon reads, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The generation.
    pub generation: Generation,
    /// The daemon's own file (`stafd.conf` / `stacd.conf` of that generation).
    pub daemon_conf: PathBuf,
    /// The 3.x connection file (its drop-ins are `<file>.d/*.conf`); `None` on 2.x.
    pub conn_conf: Option<PathBuf>,
    /// Why this generation: one line for the log.
    pub reason: String,
    /// Files present but not read because the other generation won (warned about).
    pub ignored: Vec<PathBuf>,
}

/// Command-line choices that bear on the layout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit<'a> {
    /// `-f/--conf-file`, when given.
    pub conf_file: Option<&'a Path>,
    /// `-c/--conn-conf-file`, when given.
    pub conn_conf_file: Option<&'a Path>,
}

/// Decides the layout (module doc); `exists` tells whether a file is there.
pub fn detect(daemon: Daemon, explicit: Explicit<'_>, exists: impl Fn(&Path) -> bool) -> Layout {
    let v2_conf = daemon.default_conf_file();
    let v3_conf = Path::new(NVME_CONF_DIR).join(format!("{}.conf", daemon.name()));
    let conn_default = Path::new(CONN_CONF_FILE);
    let (generation, reason) = match explicit.conn_conf_file {
        Some(c) => (Generation::V3, format!("-c {} given", c.display())),
        None if exists(conn_default) => (Generation::V3, format!("{CONN_CONF_FILE} exists")),
        None => (
            Generation::V2,
            format!("no {CONN_CONF_FILE} and no -c: the 2.x layout"),
        ),
    };
    match generation {
        Generation::V3 => {
            let daemon_conf = explicit.conf_file.map_or(v3_conf, Path::to_owned);
            let ignored = [v2_conf, Path::new(crate::SYS_CONF_FILE)]
                .into_iter()
                .filter(|p| *p != daemon_conf.as_path() && exists(p))
                .map(Path::to_owned)
                .collect();
            Layout {
                generation,
                daemon_conf,
                conn_conf: Some(explicit.conn_conf_file.unwrap_or(conn_default).to_owned()),
                reason,
                ignored,
            }
        }
        Generation::V2 => Layout {
            generation,
            daemon_conf: explicit.conf_file.unwrap_or(v2_conf).to_owned(),
            conn_conf: None,
            reason,
            ignored: Vec::new(),
        },
    }
}

impl Layout {
    /// The log lines announcing the choice (info first, then one warning per ignored file).
    pub fn announce(&self) -> (String, Vec<String>) {
        let files = match &self.conn_conf {
            Some(c) => format!("{} and {}", c.display(), self.daemon_conf.display()),
            None => self.daemon_conf.display().to_string(),
        };
        let info = format!(
            "Configuration: nvme-stas {} layout ({}), reading {files}",
            self.generation.as_str(),
            self.reason
        );
        let warnings = self
            .ignored
            .iter()
            .map(|p| {
                format!(
                    "{} is ignored: the 3.x layout is in use (every key in it, including \
                     [Controllers] controller=/exclude=, has no effect; `stasadm migrate` \
                     converts it)",
                    p.display()
                )
            })
            .collect();
        (info, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(daemon: Daemon, explicit: Explicit<'_>, present: &[&str]) -> Layout {
        detect(daemon, explicit, |p| {
            present.iter().any(|f| Path::new(f) == p)
        })
    }

    #[test]
    fn generation_rules() {
        let none = Explicit::default();
        // Nothing at all, or only 2.x files: 2.x.
        for present in [&[][..], &["/etc/stas/stafd.conf"][..]] {
            let l = layout(Daemon::Stafd, none, present);
            assert_eq!(l.generation, Generation::V2);
            assert_eq!(l.daemon_conf, Path::new("/etc/stas/stafd.conf"));
            assert_eq!(l.conn_conf, None);
            assert!(l.ignored.is_empty());
        }
        // nvme-stas.conf: 3.x, with /etc/nvme/<daemon>.conf.
        let l = layout(Daemon::Stacd, none, &["/etc/nvme/nvme-stas.conf"]);
        assert_eq!(l.generation, Generation::V3);
        assert_eq!(l.daemon_conf, Path::new("/etc/nvme/stacd.conf"));
        assert_eq!(l.conn_conf.as_deref(), Some(Path::new(CONN_CONF_FILE)));
        // Both: 3.x wins and the 2.x files present are named.
        let l = layout(
            Daemon::Stafd,
            none,
            &[
                "/etc/nvme/nvme-stas.conf",
                "/etc/stas/stafd.conf",
                "/etc/stas/sys.conf",
            ],
        );
        assert_eq!(l.generation, Generation::V3);
        assert_eq!(
            l.ignored,
            vec![
                PathBuf::from("/etc/stas/stafd.conf"),
                PathBuf::from("/etc/stas/sys.conf")
            ]
        );
        let (info, warnings) = l.announce();
        assert!(info.contains("nvme-stas 3.x layout (/etc/nvme/nvme-stas.conf exists)"));
        assert!(warnings[0].starts_with("/etc/stas/stafd.conf is ignored: the 3.x layout"));
        // -c: 3.x even without the default file; -f names the daemon file in either layout.
        let c = Path::new("/srv/conn.conf");
        let f = Path::new("/srv/stafd.conf");
        let l = layout(
            Daemon::Stafd,
            Explicit {
                conf_file: Some(f),
                conn_conf_file: Some(c),
            },
            &[],
        );
        assert_eq!(
            (
                l.generation,
                l.daemon_conf.as_path(),
                l.conn_conf.as_deref()
            ),
            (Generation::V3, f, Some(c))
        );
        let l = layout(
            Daemon::Stafd,
            Explicit {
                conf_file: Some(f),
                conn_conf_file: None,
            },
            &[],
        );
        assert_eq!((l.generation, l.daemon_conf.as_path()), (Generation::V2, f));
        // -f at the 2.x file with the 3.x layout: read as the 3.x daemon file, not ignored.
        let v2 = Path::new("/etc/stas/stafd.conf");
        let l = layout(
            Daemon::Stafd,
            Explicit {
                conf_file: Some(v2),
                conn_conf_file: None,
            },
            &["/etc/nvme/nvme-stas.conf", "/etc/stas/stafd.conf"],
        );
        assert_eq!(
            (l.generation, l.daemon_conf.as_path()),
            (Generation::V3, v2)
        );
        assert!(l.ignored.is_empty());
    }
}
