//! The services as an administrator runs them: the `.deb` installed on a host whose init is
//! systemd, the daemons started, reloaded, stopped and watched by it through their units.
//!
//! `vng --systemd` (virtme-ng 1.42) never gets past systemd's first line under TCG here
//! (PID 1 spins after loading autofs4), so systemd runs as PID 1 of its own PID, mount and
//! cgroup namespaces inside the guest, the way `systemd-nspawn` runs it: the real systemd 252
//! of the host image with its D-Bus system bus and journal, the guest's kernel, sysfs,
//! `/dev/nvme-fabrics` and uevents. `/usr`, `/etc` and `/var/lib` are overlays in that mount
//! namespace, so `dpkg -i` writes nothing outside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Scenario;
use super::common::*;
use super::guest::{Ctx, ensure, run_sh, wait_for};
use super::stacd_scenarios::kernel_io_state;

pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        name: "systemd_deb_installed_units_start_reload_stop_watchdog_upgrade",
        target: || target_with(3, 16 << 20),
        run: deb_under_systemd,
    }]
}

/// Where the host puts the package for the guest, under the results directory.
pub const DEB_DIR: &str = "deb";

/// cgroup (v2) the container's systemd owns.
const CGROUP: &str = "/sys/fs/cgroup/stas-systemd";

/// Sets up the container's mount namespace, then becomes its init.
const CONTAINER_INIT: &str = r#"set -e
mount -t proc proc /proc
mount -t tmpfs -o mode=755,size=64M tmpfs /run
umount /sys/fs/cgroup 2>/dev/null || true
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /mnt
for d in usr etc var/lib; do
    u=/mnt/$(echo $d | tr / _)
    mkdir -p $u.upper $u.work
    mount -t overlay overlay -o xino=off,lowerdir=/$d,upperdir=$u.upper,workdir=$u.work /$d
done
: > /etc/fstab
# A host as the package finds it: no identity yet, no nvme-stas configuration, and none of
# the image's container settings: its policy-rc.d forbids starting services, and a man-db
# index rebuild takes minutes under TCG.
rm -rf /etc/nvme/hostnqn /etc/nvme/hostid /etc/stas /usr/sbin/policy-rc.d /var/lib/man-db/auto-update
# The guest's udevd already handles the kernel's events; nothing else of the image is wanted
# (systemd-tmpfiles alone walks the 9p root for 80 s under TCG).
for u in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
         systemd-udev-trigger.service postgresql.service avahi-daemon.service \
         avahi-daemon.socket nvmf-autoconnect.service nvmefc-boot-connections.service \
         getty@tty1.service console-getty.service timers.target systemd-hwdb-update.service \
         ldconfig.service systemd-journal-catalog-update.service systemd-update-done.service \
         e2scrub_reap.service systemd-timesyncd.service systemd-pstore.service \
         systemd-tmpfiles-setup.service systemd-tmpfiles-clean.service; do
    ln -sf /dev/null /etc/systemd/system/$u
done
exec env -i container=stas-vm-tier PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /lib/systemd/systemd --system --unit=basic.target --log-target=journal-or-kmsg
"#;

/// systemd as PID 1 of its own namespaces; killed (and its cgroup removed) on drop.
struct Container {
    child: Child,
    /// The container's PID 1 as the guest sees it.
    pid: u32,
}

impl Container {
    fn boot(ctx: &mut Ctx, log: &Path) -> Result<Container, String> {
        std::fs::create_dir_all(CGROUP).map_err(|e| format!("{CGROUP}: {e}"))?;
        let console = std::fs::File::create(log).map_err(|e| e.to_string())?;
        // The shell joins the cgroup first so that systemd finds itself at the root of the
        // cgroup namespace that unshare creates.
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {CGROUP}/cgroup.procs && exec unshare --pid --fork --mount --cgroup \
                 --propagation private sh -c \"$0\"",
            ))
            .arg(CONTAINER_INIT)
            .stdin(Stdio::null())
            .stdout(console.try_clone().map_err(|e| e.to_string())?)
            .stderr(console)
            .spawn()
            .map_err(|e| format!("unshare: {e}"))?;
        let mut c = Container { child, pid: 0 };
        c.pid = wait_for(Duration::from_secs(20), || {
            let procs = std::fs::read_to_string(format!("{CGROUP}/init.scope/cgroup.procs"))
                .or_else(|_| std::fs::read_to_string(format!("{CGROUP}/cgroup.procs")))
                .unwrap_or_default();
            procs.lines().find_map(|p| {
                let pid: u32 = p.trim().parse().ok()?;
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
                (comm.trim() == "systemd").then_some(pid)
            })
        })
        .ok_or("systemd did not start in the container")?;
        let state = wait_for(Duration::from_secs(180), || {
            let s = c
                .sh("systemctl is-system-running 2>/dev/null || true")
                .ok()?;
            let s = s.trim().to_owned();
            (s == "running" || s == "degraded").then_some(s)
        })
        .ok_or_else(|| {
            format!(
                "the container's systemd never finished starting: {}",
                c.sh("systemctl is-system-running; systemctl --no-pager list-jobs")
                    .unwrap_or_else(|e| e)
            )
        })?;
        if let Ok(blame) = c.sh("systemd-analyze blame --no-pager 2>&1 | head -n 8") {
            for l in blame.lines() {
                ctx.log(format!("container start-up, slowest: {l}"));
            }
        }
        if state == "degraded" {
            // Not ours (nothing of ours is installed yet), but said.
            let failed = c.sh("systemctl --no-pager --plain list-units --state=failed")?;
            ctx.log(format!(
                "container systemd degraded before the test: {failed}"
            ));
        }
        Ok(c)
    }

    /// Runs `cmdline` inside the container; its stdout, or an error with stderr.
    fn sh(&self, cmdline: &str) -> Result<String, String> {
        run_sh(
            Command::new("nsenter")
                .arg("-t")
                .arg(self.pid.to_string())
                .args(["-m", "-p", "-C", "--", "sh", "-c", cmdline]),
            cmdline,
        )
    }

    /// `systemctl show -p ...` of one unit as a map.
    fn show(&self, unit: &str, props: &str) -> Result<BTreeMap<String, String>, String> {
        let out = self.sh(&format!("systemctl show {unit} -p {props}"))?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // PID 1 of a PID namespace takes every process of it along.
        if self.pid != 0 {
            let _ = Command::new("kill")
                .args(["-9", &self.pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        wait_for(Duration::from_secs(10), || {
            remove_cgroup_tree(Path::new(CGROUP)).ok()
        });
    }
}

/// Removes a cgroup and the ones under it, deepest first.
fn remove_cgroup_tree(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_type()?.is_dir() {
            remove_cgroup_tree(&e.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

fn all_live(want: &[String]) -> Option<BTreeMap<String, (String, String)>> {
    let k = kernel_io_state();
    (k.len() == want.len()
        && want
            .iter()
            .all(|n| k.get(n).is_some_and(|(_, s)| s == "live")))
    .then_some(k)
}

/// stacd's IOCs over the system bus, through `stacctl` as installed by the package.
fn stacctl_iocs(c: &Container) -> Option<Vec<String>> {
    let out = c.sh("stacctl --json ls").ok()?;
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    let mut nqns: Vec<String> = v
        .as_array()?
        .iter()
        .filter_map(|d| d["subsysnqn"].as_str().map(str::to_owned))
        .collect();
    nqns.sort();
    Some(nqns)
}

/// After `what`: stacd lists `want` again (within 30 s) and sysfs still holds exactly the
/// controllers of `before` (none replaced or added).
fn same_iocs_listed(
    c: &Container,
    want: &[String],
    before: &BTreeMap<String, (String, String)>,
    what: &str,
) -> Result<(), String> {
    wait_for(Duration::from_secs(30), || {
        stacctl_iocs(c).filter(|l| l == want)
    })
    .ok_or_else(|| format!("{what}: stacd does not list the IOCs"))?;
    let now = kernel_io_state();
    ensure(now == *before, || {
        format!("{what} changed the IOCs: {now:?}")
    })
}

fn find_deb(ctx: &Ctx) -> Result<PathBuf, String> {
    let dir = ctx.out_dir().join(DEB_DIR);
    std::fs::read_dir(&dir)
        .map_err(|e| {
            format!(
                "{}: {e} (the host builds the package before boot)",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| format!("no .deb in {}", dir.display()))
}

/// #12 acceptance 2, on the kernel backend against nvmet (one DC, 3 subsystems):
/// `dpkg -i` starts both units through `READY=1`; a reload takes a new configuration; a stop
/// leaves the I/O controllers connected and a start adopts them; a daemon frozen with
/// SIGSTOP is restarted by the watchdog; an upgrade restarts both and keeps the IOCs.
fn deb_under_systemd(ctx: &mut Ctx) -> Result<(), String> {
    let deb = find_deb(ctx)?;
    let console = ctx.out_dir().join("systemd-container.log");
    let t = Instant::now();
    let c = Container::boot(ctx, &console)?;
    ctx.log(format!(
        "systemd 252 up as the container's init in {} ms",
        t.elapsed().as_millis()
    ));
    let r = deb_steps(ctx, &c, &deb);
    if let Ok(j) = c.sh("journalctl --no-pager -o short-monotonic -u stafd -u stacd | tail -n 40") {
        for l in j.lines() {
            ctx.log(format!("journal: {l}"));
        }
    }
    r
}

fn deb_steps(ctx: &mut Ctx, c: &Container, deb: &Path) -> Result<(), String> {
    // Install: the maintainer script creates the identity, reloads D-Bus and starts both.
    let t = Instant::now();
    c.sh(&format!(
        "DEBIAN_FRONTEND=noninteractive dpkg -i {} 2>&1",
        deb.display()
    ))?;
    ctx.log(format!("dpkg -i in {} ms", t.elapsed().as_millis()));
    let nqn_file = c.sh("cat /etc/nvme/hostnqn")?;
    ensure(nqn_file.starts_with("nqn."), || {
        format!("postinst did not create /etc/nvme/hostnqn: {nqn_file:?}")
    })?;
    for unit in ["stafd", "stacd"] {
        let p = c.show(
            unit,
            "Type,ActiveState,SubState,UnitFileState,WatchdogUSec,NRestarts,MainPID",
        )?;
        ensure(
            p["Type"] == "notify"
                && p["ActiveState"] == "active"
                && p["SubState"] == "running"
                && p["UnitFileState"] == "enabled",
            || format!("{unit} after dpkg -i: {p:?}"),
        )?;
        ctx.log(format!("{unit}: {p:?}"));
    }

    // Reload: stafd takes the DC from its new configuration; stacd connects what it lists.
    c.sh(&format!(
        "printf '[Service Discovery]\\nzeroconf=disabled\\n\\n[Controllers]\\ncontroller=transport=tcp;traddr={TRADDR};trsvcid={PORT}\\n' > /etc/stas/stafd.conf"
    ))?;
    let pid_before = c.show("stafd", "MainPID")?["MainPID"].clone();
    let t = Instant::now();
    c.sh("systemctl reload stafd")?;
    let want: Vec<String> = (0..3).map(nqn).collect();
    let first = wait_for(Duration::from_secs(60), || all_live(&want))
        .ok_or_else(|| format!("IOCs not connected after reload: {:?}", kernel_io_state()))?;
    ctx.log(format!(
        "systemctl reload stafd -> 3 IOCs live in {} ms: {first:?}",
        t.elapsed().as_millis()
    ));
    let p = c.show("stafd", "MainPID,NRestarts,ActiveState")?;
    ensure(p["MainPID"] == pid_before && p["NRestarts"] == "0", || {
        format!("reload restarted stafd: was {pid_before}, now {p:?}")
    })?;
    let listed = wait_for(Duration::from_secs(20), || {
        stacctl_iocs(c).filter(|l| *l == want)
    })
    .ok_or_else(|| format!("stacctl --json ls: {:?}", c.sh("stacctl --json ls")))?;
    ctx.log(format!("stacctl ls on the system bus: {listed:?}"));

    // Reload stacd: an exclusion disconnects one IOC; lifting it reconnects it.
    let excluded = nqn(2);
    c.sh(&format!(
        "printf '[Controllers]\\nexclude=transport=tcp;subsysnqn={excluded}\\n' > /etc/stas/stacd.conf && systemctl reload stacd"
    ))?;
    let t = Instant::now();
    wait_for(Duration::from_secs(30), || {
        (!kernel_io_state().contains_key(&excluded)).then_some(())
    })
    .ok_or_else(|| format!("exclude= + reload did not disconnect {excluded}"))?;
    ctx.log(format!(
        "exclude= + systemctl reload stacd -> {excluded} disconnected in {} ms",
        t.elapsed().as_millis()
    ));
    c.sh("printf '[Controllers]\\n' > /etc/stas/stacd.conf && systemctl reload stacd")?;
    let before = wait_for(Duration::from_secs(30), || all_live(&want)).ok_or_else(|| {
        format!(
            "not reconnected after the exclusion went: {:?}",
            kernel_io_state()
        )
    })?;
    let p = c.show("stacd", "NRestarts")?;
    ensure(p["NRestarts"] == "0", || {
        format!("reload restarted stacd: {p:?}")
    })?;

    // Stop: every IOC stays; start: adopted, none duplicated or replaced.
    c.sh("systemctl stop stacd stafd")?;
    for unit in ["stafd", "stacd"] {
        let p = c.show(unit, "ActiveState,Result")?;
        ensure(
            p["ActiveState"] == "inactive" && p["Result"] == "success",
            || format!("{unit} after stop: {p:?}"),
        )?;
    }
    std::thread::sleep(Duration::from_secs(2));
    ensure(kernel_io_state() == before, || {
        format!("systemctl stop changed the IOCs: {:?}", kernel_io_state())
    })?;
    ctx.log("systemctl stop stacd stafd: both inactive (success), the 3 IOCs untouched");
    let t = Instant::now();
    c.sh("systemctl start stafd stacd")?;
    same_iocs_listed(c, &want, &before, "restart")?;
    ctx.log(format!(
        "systemctl start (READY=1 from both) -> same 3 IOCs adopted, listed in {} ms",
        t.elapsed().as_millis()
    ));
    // Alive past WatchdogSec: the main loops ping the watchdog.
    let pids = (c.show("stafd", "MainPID")?, c.show("stacd", "MainPID")?);
    std::thread::sleep(Duration::from_secs(35).saturating_sub(t.elapsed()));
    for (unit, p0) in [("stafd", &pids.0), ("stacd", &pids.1)] {
        let p = c.show(unit, "MainPID,NRestarts,SubState")?;
        ensure(
            p["MainPID"] == p0["MainPID"] && p["NRestarts"] == "0",
            || format!("{unit} did not live past WatchdogSec=30s: {p:?}"),
        )?;
    }
    ctx.log("both alive 35 s after start with WatchdogSec=30s, never restarted (watchdog pinged)");

    // Watchdog: both main loops frozen; systemd restarts both, IOCs survive.
    let mut frozen = BTreeMap::new();
    for unit in ["stafd", "stacd"] {
        let pid = c.show(unit, "MainPID")?["MainPID"].clone();
        c.sh(&format!("kill -STOP {pid}"))?;
        frozen.insert(unit, pid);
    }
    let t = Instant::now();
    for (unit, pid) in &frozen {
        let p = wait_for(Duration::from_secs(90), || {
            let p = c
                .show(unit, "MainPID,NRestarts,ActiveState,SubState")
                .ok()?;
            (p["NRestarts"] == "1"
                && p["MainPID"] != *pid
                && p["MainPID"] != "0"
                && p["SubState"] == "running")
                .then_some(p)
        })
        .ok_or_else(|| {
            format!(
                "{unit} (pid {pid}) frozen and not restarted: {:?}",
                c.show(unit, "MainPID,NRestarts,ActiveState,SubState,Result")
            )
        })?;
        ctx.log(format!(
            "{unit} SIGSTOPped (pid {pid}) -> restarted by the watchdog, running again after {} ms: {p:?}",
            t.elapsed().as_millis()
        ));
    }
    let journal = c.sh("journalctl --no-pager -u stafd -u stacd")?;
    ensure(journal.matches("Watchdog timeout").count() >= 2, || {
        "the journal does not say the watchdog fired for both".into()
    })?;
    same_iocs_listed(c, &want, &before, "the watchdog restart")?;
    ctx.log("after the watchdog restarts: the same 3 IOCs, listed by the new stacd");

    // Upgrade (the package installed over itself): postinst restarts both, IOCs stay.
    let pids = (c.show("stafd", "MainPID")?, c.show("stacd", "MainPID")?);
    let t = Instant::now();
    c.sh(&format!(
        "DEBIAN_FRONTEND=noninteractive dpkg -i {} 2>&1",
        deb.display()
    ))?;
    for (unit, p0) in [("stafd", &pids.0), ("stacd", &pids.1)] {
        let p = c.show(unit, "MainPID,SubState")?;
        ensure(
            p["MainPID"] != p0["MainPID"] && p["SubState"] == "running",
            || format!("{unit} not restarted by the upgrade: was {p0:?}, now {p:?}"),
        )?;
    }
    same_iocs_listed(c, &want, &before, "the upgrade")?;
    ctx.log(format!(
        "dpkg -i over the installed package: both restarted, the same 3 IOCs, in {} ms",
        t.elapsed().as_millis()
    ));
    Ok(())
}
