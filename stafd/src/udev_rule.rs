//! nvme-cli interoperability on the kernel backend (compat §4.16): while stafd runs, a rule in
//! `/run/udev/rules.d` shadows nvme-cli's `70-nvmf-autoconnect.rules` so nvme-cli does not
//! auto-connect on the events stafd handles; in exchange stafd starts nvme-cli's
//! `nvmf-connect@` for discovery controllers it does not manage.
//!
//! Unlike upstream, the file carries a marker: a file without it is the administrator's and
//! is neither replaced nor removed, and one left by a crashed stafd is taken over at the next
//! start and removed at the next stop.
//!
//! On a libnvme 3 host (the ownership registry is in use) none of this runs, as in nvme-stas
//! 3.x (spec 3.x §9): every DC stafd holds is recorded `owner=stas`, which nvme-cli's
//! connect-all skips; a stale override — ours, or the one nvme-stas 2.x writes — is removed
//! at start.

use std::io;
use std::path::{Path, PathBuf};

/// Where the override lives.
pub const RULES_DIR: &str = "/run/udev/rules.d";
/// Its name: the same as nvme-cli's, so it shadows it.
pub const RULE_FILE: &str = "70-nvmf-autoconnect.rules";
/// First line of a rule file stafd wrote.
pub const MARKER: &str =
    "# Written by stafd (nvme-stas): shadows nvme-cli's rule while stafd runs; removed at stop.";

/// The override's content: only nvme-cli's legacy FC rule stays active.
pub fn rule_text(systemctl: &Path) -> String {
    format!(
        "{MARKER}\n\
         ACTION==\"change\", SUBSYSTEM==\"fc\", ENV{{FC_EVENT}}==\"nvmediscovery\", \\\n  \
         ENV{{NVMEFC_HOST_TRADDR}}==\"*\", ENV{{NVMEFC_TRADDR}}==\"*\", \\\n  \
         RUN+=\"{} --no-block restart nvmf-connect@--device\\x3dnone\\x09--transport\\x3dfc\\x09--traddr\\x3d$env{{NVMEFC_TRADDR}}\\x09--trsvcid\\x3dnone\\x09--host-traddr\\x3d$env{{NVMEFC_HOST_TRADDR}}.service\"\n",
        systemctl.display()
    )
}

/// Who owns the file after [`install`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// We wrote it (fresh, or taken over from a crashed stafd): remove it at stop.
    Stafd,
    /// An administrator's file: left alone.
    Admin,
}

fn path_in(dir: &Path) -> PathBuf {
    dir.join(RULE_FILE)
}

fn ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.starts_with(MARKER))
}

/// Writes the override unless an administrator's file is there.
pub fn install(dir: &Path, systemctl: &Path) -> io::Result<Owner> {
    let path = path_in(dir);
    if path.exists() && !ours(&path) {
        return Ok(Owner::Admin);
    }
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{RULE_FILE}.stafd"));
    std::fs::write(&tmp, rule_text(systemctl))?;
    std::fs::rename(&tmp, &path)?;
    Ok(Owner::Stafd)
}

/// Whether `text` is the override nvme-stas 2.x writes (its FC rule alone, no marker).
fn upstream_2x_override(text: &str) -> bool {
    let rule: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    rule.len() == 3
        && rule[0]
            .starts_with("ACTION==\"change\", SUBSYSTEM==\"fc\", ENV{FC_EVENT}==\"nvmediscovery\"")
        && rule[2]
            .contains("--no-block restart nvmf-connect@--device\\x3dnone\\x09--transport\\x3dfc")
}

/// On a libnvme 3 host: removes an override left by stafd (ours or nvme-stas 2.x's); an
/// administrator's file stays. `Ok(true)` when one was removed.
pub fn remove_stale(dir: &Path) -> io::Result<bool> {
    let path = path_in(dir);
    let stale = std::fs::read_to_string(&path)
        .is_ok_and(|t| t.starts_with(MARKER) || upstream_2x_override(&t));
    if stale {
        std::fs::remove_file(path)?;
    }
    Ok(stale)
}

/// Removes the override if it is ours; `Ok(true)` when it was removed.
pub fn remove(dir: &Path) -> io::Result<bool> {
    let path = path_in(dir);
    if !ours(&path) {
        return Ok(false);
    }
    std::fs::remove_file(path)?;
    Ok(true)
}

/// A udev property as nvme-cli's rules see it: absent, empty, `none`, `None` → absent.
fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !matches!(*v, "" | "none" | "None"))
}

/// The `nvmf-connect@` instance for a DC stafd does not manage (§4.16-2): the backslash
/// sequences are literal, as nvme-cli's rule writes them.
pub fn nvmf_connect_unit(
    device: &str,
    host_traddr: Option<&str>,
    host_iface: Option<&str>,
) -> String {
    let mut args = format!("--device\\x3d{device}");
    if let Some(t) = present(host_traddr) {
        args.push_str(&format!("\\x09--host-traddr\\x3d{t}"));
    }
    if let Some(i) = present(host_iface) {
        args.push_str(&format!("\\x09--host-iface\\x3d{i}"));
    }
    format!("nvmf-connect@{args}.service")
}

/// `systemctl` found on `$PATH`, as upstream looks it up at start.
pub fn find_systemctl() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("systemctl"))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_take_over_and_leave_admin_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("rules.d");
        let sc = Path::new("/usr/bin/systemctl");
        assert_eq!(install(&d, sc).unwrap(), Owner::Stafd);
        let text = std::fs::read_to_string(d.join(RULE_FILE)).unwrap();
        assert!(text.contains("RUN+=\"/usr/bin/systemctl --no-block restart nvmf-connect@--device\\x3dnone\\x09--transport\\x3dfc"));
        // A crash left it behind: the next start takes it over, the stop removes it.
        assert_eq!(install(&d, sc).unwrap(), Owner::Stafd);
        assert!(remove(&d).unwrap());
        assert!(!d.join(RULE_FILE).exists());
        // An administrator's file is neither replaced nor removed.
        std::fs::write(d.join(RULE_FILE), "# mine\n").unwrap();
        assert_eq!(install(&d, sc).unwrap(), Owner::Admin);
        assert!(!remove(&d).unwrap());
        assert_eq!(
            std::fs::read_to_string(d.join(RULE_FILE)).unwrap(),
            "# mine\n"
        );
    }

    #[test]
    fn stale_overrides_go_on_libnvme3_hosts_administrators_stay() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(!remove_stale(d).unwrap(), "nothing there");
        // nvme-stas 2.x's file (its UDEV_RULE_OVERRIDE, leading newline included).
        let upstream = "\nACTION==\"change\", SUBSYSTEM==\"fc\", ENV{FC_EVENT}==\"nvmediscovery\", \\\n  ENV{NVMEFC_HOST_TRADDR}==\"*\",  ENV{NVMEFC_TRADDR}==\"*\", \\\n  RUN+=\"/usr/bin/systemctl --no-block restart nvmf-connect@--device\\x3dnone\\x09--transport\\x3dfc\\x09--traddr\\x3d$env{NVMEFC_TRADDR}\\x09--trsvcid\\x3dnone\\x09--host-traddr\\x3d$env{NVMEFC_HOST_TRADDR}.service\"\n";
        std::fs::write(d.join(RULE_FILE), upstream).unwrap();
        assert!(remove_stale(d).unwrap());
        assert!(!d.join(RULE_FILE).exists());
        install(d, Path::new("/bin/systemctl")).unwrap();
        assert!(remove_stale(d).unwrap(), "ours");
        std::fs::write(d.join(RULE_FILE), "# mine\nACTION==\"add\"\n").unwrap();
        assert!(!remove_stale(d).unwrap());
        assert!(d.join(RULE_FILE).exists(), "an administrator's file stays");
    }

    #[test]
    fn unit_names_as_upstream() {
        assert_eq!(
            nvmf_connect_unit("nvme3", None, None),
            "nvmf-connect@--device\\x3dnvme3.service"
        );
        assert_eq!(
            nvmf_connect_unit("nvme3", Some("10.0.0.1"), Some("eth0")),
            "nvmf-connect@--device\\x3dnvme3\\x09--host-traddr\\x3d10.0.0.1\\x09--host-iface\\x3deth0.service"
        );
        assert_eq!(
            nvmf_connect_unit("nvme3", Some("none"), Some("")),
            "nvmf-connect@--device\\x3dnvme3.service"
        );
    }
}

/// The running interoperability: the rule we own (if any) and the event task (none on a
/// libnvme 3 host).
#[derive(Debug)]
pub struct Interop {
    owner: Option<Owner>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Interop {
    /// Installs the override and starts `nvmf-connect@` for unmanaged DCs' change notices;
    /// on a libnvme 3 host, removes a stale override instead and does neither.
    pub fn start(kernel: &libnvme_rs::controller::KernelBackend) -> Self {
        let dir = Path::new(RULES_DIR);
        if kernel.uses_registry() {
            match remove_stale(dir) {
                Ok(true) => tracing::info!(
                    "libnvme 3 host (ownership registry): removed the stale {}/{RULE_FILE}",
                    dir.display()
                ),
                Ok(false) => {}
                Err(e) => tracing::error!("cannot remove {}/{RULE_FILE}: {e}", dir.display()),
            }
            tracing::info!(
                "libnvme 3 host: no udev override, nvme-cli skips the DCs recorded owner=stas"
            );
            return Self {
                owner: None,
                task: None,
            };
        }
        let systemctl = find_systemctl();
        let owner = match &systemctl {
            None => {
                tracing::warn!("systemctl not found: nvme-cli's auto-connect rule is left active");
                None
            }
            Some(sc) => match install(dir, sc) {
                Ok(Owner::Admin) => {
                    tracing::info!(
                        "{}/{RULE_FILE} is an administrator's file: left alone",
                        dir.display()
                    );
                    Some(Owner::Admin)
                }
                Ok(o) => Some(o),
                Err(e) => {
                    tracing::error!("cannot write {}/{RULE_FILE}: {e}", dir.display());
                    None
                }
            },
        };
        let events = kernel.unmanaged_events();
        let task = Some(tokio::spawn(unmanaged_dcs(events, systemctl)));
        Self { owner, task }
    }

    /// Stops the task and removes the override if it is ours.
    pub fn stop(self) {
        if let Some(t) = self.task {
            t.abort();
        }
        if self.owner == Some(Owner::Stafd)
            && let Err(e) = remove(Path::new(RULES_DIR))
        {
            tracing::error!("cannot remove {RULES_DIR}/{RULE_FILE}: {e}");
        }
    }
}

async fn unmanaged_dcs(
    mut events: tokio::sync::mpsc::UnboundedReceiver<libnvme_rs::kernel::uevent::Uevent>,
    systemctl: Option<PathBuf>,
) {
    use libnvme_rs::kernel::uevent::Action;
    while let Some(ev) = events.recv().await {
        if ev.action != Action::Change {
            continue;
        }
        let dev = ev.sysname().to_owned();
        // `connected` is deliberately ignored here, as upstream does.
        let what = if ev.aen() == Some(libnvme_rs::spec::AEN_DISCOVERY_LOG_CHANGE) {
            format!("{dev} - Received AEN: Change of Discovery Log Page (0x70f002)")
        } else if ev.nvme_event() == Some("rediscover") {
            format!("{dev} - Received \"rediscover\" event")
        } else {
            continue;
        };
        let name = dev.clone();
        let is_dc = tokio::task::spawn_blocking(move || {
            libnvme_rs::kernel::sysfs::SysfsRoot::default()
                .controller(&name)
                .ok()
                .flatten()
                .is_some_and(|c| c.is_discovery_controller())
        })
        .await
        .unwrap_or(false);
        if !is_dc {
            continue;
        }
        tracing::info!("{what}");
        let Some(sc) = systemctl.clone() else {
            continue;
        };
        let unit = nvmf_connect_unit(
            &dev,
            ev.nvme_prop("NVME_HOST_TRADDR"),
            ev.nvme_prop("NVME_HOST_IFACE"),
        );
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new(sc)
                .args(["--quiet", "--no-block", "restart", &unit])
                .status()
        })
        .await;
        if let Ok(Err(e)) = status {
            tracing::error!("systemctl: {e}");
        }
    }
}
