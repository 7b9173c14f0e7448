//! Bus tier for stacd: the real `stafd` and `stacd` binaries on the native backend against
//! nvme-sim on a private dbus-daemon. stafd's binary is taken from the same target directory
//! (the test command builds the whole workspace first).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use libnvme_rs::spec::disclog::subtype;
use nvme_sim::{SimConfig, Simulator, SubsystemConfig, tcp_entry};
use staslib::testing::PrivateBus;
use zbus::Connection;

const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b";
const HOSTID: &str = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b";
const NQN1: &str = "nqn.2024-01.io.example:stacd-1";
const NQN2: &str = "nqn.2024-01.io.example:stacd-2";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn stafd_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_stacd")).with_file_name("stafd");
    assert!(
        bin.exists(),
        "{} not built: build the workspace first",
        bin.display()
    );
    bin
}

struct Daemon(Option<Child>);

impl Daemon {
    fn start(bin: &Path, conf: &Path, bus: &PrivateBus, dir: &Path, name: &str) -> Self {
        let child = Command::new(bin)
            .args(["-f", conf.to_str().unwrap()])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("STAS_SYS_CONF_FILE", dir.join("sys.conf"))
            .env("RUNTIME_DIRECTORY", dir.join(format!("run-{name}")))
            .env_remove("NOTIFY_SOCKET")
            .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
            .process_group(0)
            .spawn()
            .expect("daemon starts");
        Self(Some(child))
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(self.0.as_ref().unwrap().id() as i32, sig) };
    }

    fn stop(mut self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        let mut child = self.0.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn until<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut cond: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !cond().await {
        assert!(
            Instant::now() < deadline,
            "not reached within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Dicts = Vec<std::collections::HashMap<String, String>>;

async fn iocs(conn: &Connection, detailed: bool) -> Dicts {
    match conn
        .call_method(
            Some("org.nvmexpress.stac"),
            "/org/nvmexpress/stac",
            Some("org.nvmexpress.stac"),
            "list_controllers",
            &(detailed,),
        )
        .await
    {
        Ok(r) => r.body().deserialize().unwrap(),
        Err(_) => Vec::new(),
    }
}

/// stafd + stacd: the IOCs of the DC's log page are connected; one withdrawn from the log
/// page is disconnected; stafd gone is not "no log pages" (fix 7); SIGTERM exits 0.
#[tokio::test]
async fn stacd_connects_what_stafd_discovers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bus = match PrivateBus::start(&d.join("bus"), &repo()) {
        Ok(b) => b,
        Err(e) => {
            if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref() == Ok("1") {
                panic!("{e} and STAS_REQUIRE_SYSTEM_TESTS=1");
            }
            println!("SKIPPED: {e}");
            return;
        }
    };
    tokio::time::timeout(Duration::from_secs(90), scenario(&bus, d))
        .await
        .expect("scenario hung");
}

async fn scenario(bus: &PrivateBus, d: &Path) {
    let mut cfg = SimConfig::default();
    cfg.subsystems.push(SubsystemConfig::new(NQN1));
    cfg.subsystems.push(SubsystemConfig::new(NQN2));
    let sim = Simulator::start(cfg).await.unwrap();
    let a = sim.addr();
    let both = vec![
        tcp_entry(a, subtype::NVME, NQN1),
        tcp_entry(a, subtype::NVME, NQN2),
    ];
    sim.set_discovery_log(both.clone()).unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("stafd.conf"),
        format!("[Global]\nbackend=native\n\n[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid={}\n", a.port()),
    )
    .unwrap();
    std::fs::write(d.join("stacd.conf"), "[Global]\nbackend=native\n").unwrap();
    let conn = zbus::connection::Builder::address(bus.address.as_str())
        .build()
        .await
        .unwrap();

    let stafd = Daemon::start(&stafd_bin(), &d.join("stafd.conf"), bus, d, "stafd");
    let stacd = Daemon::start(
        Path::new(env!("CARGO_BIN_EXE_stacd")),
        &d.join("stacd.conf"),
        bus,
        d,
        "stacd",
    );
    let io_controllers = |sim: &nvme_sim::SimHandle| {
        let mut v: Vec<String> = sim
            .controllers()
            .into_iter()
            .filter(|c| !c.discovery)
            .map(|c| c.subnqn)
            .collect();
        v.sort();
        v
    };
    until("both IOCs connected", Duration::from_secs(20), || async {
        let l = iocs(&conn, true).await;
        l.len() == 2 && l.iter().all(|c| c["connected"] == "True")
    })
    .await;
    assert_eq!(io_controllers(&sim), [NQN1, NQN2]);
    // A second stacd does not take the name from the running one: it fails to start.
    let mut second = Daemon::start(
        Path::new(env!("CARGO_BIN_EXE_stacd")),
        &d.join("stacd.conf"),
        bus,
        d,
        "stacd-second",
    );
    let status = second.0.as_mut().unwrap().wait().unwrap();
    let log = std::fs::read_to_string(d.join("stacd-second.log")).unwrap();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("D-Bus: cannot take org.nvmexpress.stac"),
        "{log}"
    );
    assert_eq!(
        iocs(&conn, true).await.len(),
        2,
        "the first stacd still answers"
    );
    let ids = iocs(&conn, false).await;
    for key in [
        "traddr",
        "trsvcid",
        "transport",
        "subsysnqn",
        "host-iface",
        "host-traddr",
        "host-nqn",
        "device",
    ] {
        assert!(ids[0].contains_key(key), "{key} missing: {:?}", ids[0]);
    }
    assert_eq!(ids[0]["host-nqn"], HOSTNQN);
    let details = iocs(&conn, true).await;
    assert!(
        details[0]["dlpe"].starts_with("{'trtype': 'tcp'"),
        "{}",
        details[0]["dlpe"]
    );
    assert_eq!(details[0]["dlpe.eflags.ncc"], "False");

    // Independent client: python3-dbus makes stacctl's calls, as root and as nobody.
    let script = repo().join("tests/bus/check_stacd.py");
    let root = staslib::testing::euid() == 0;
    for who in if root {
        &["root", "nonroot"][..]
    } else {
        &["nonroot"][..]
    } {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script)
            .args([*who, "2"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
        if *who == "nonroot" && root {
            cmd.uid(65534).gid(65534);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "python3-dbus check as {who}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Withdrawn from the log page → disconnected (disconnect-scope only-stas-connections).
    sim.set_discovery_log(vec![tcp_entry(a, subtype::NVME, NQN1)])
        .unwrap();
    until(
        "the withdrawn IOC is gone",
        Duration::from_secs(10),
        || async { iocs(&conn, false).await.len() == 1 && io_controllers(&sim) == [NQN1] },
    )
    .await;

    // Our typed interface: statistics, and root-only runtime add/remove of an IOC.
    let port = a.port().to_string();
    if staslib::testing::euid() == 0 {
        let mut cmd = Command::new("busctl");
        cmd.arg(format!("--address={}", bus.address))
            .args(["call", "org.nvmexpress.stac", "/org/nvmexpress/stac"])
            .args(["org.nvmexpress.stac.Controllers1", "Add", "a{ss}", "4"])
            .args([
                "transport",
                "tcp",
                "traddr",
                "127.0.0.1",
                "trsvcid",
                &port,
                "nqn",
                NQN2,
            ])
            .uid(65534)
            .gid(65534);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(
            !out.status.success() && err.contains("access denied"),
            "nobody added an IOC: {err}"
        );
    }
    let params: std::collections::HashMap<&str, &str> = [
        ("transport", "tcp"),
        ("traddr", "127.0.0.1"),
        ("trsvcid", port.as_str()),
        ("nqn", NQN2),
    ]
    .into();
    conn.call_method(
        Some("org.nvmexpress.stac"),
        "/org/nvmexpress/stac",
        Some("org.nvmexpress.stac.Controllers1"),
        "Add",
        &(params,),
    )
    .await
    .expect("root adds an IOC");
    until(
        "the runtime IOC is connected",
        Duration::from_secs(10),
        || async { io_controllers(&sim) == [NQN1, NQN2] },
    )
    .await;
    let reply = conn
        .call_method(
            Some("org.nvmexpress.stac"),
            "/org/nvmexpress/stac",
            Some("org.nvmexpress.stac.Controllers1"),
            "List",
            &(),
        )
        .await
        .unwrap();
    let list: Vec<std::collections::HashMap<String, zbus::OwnedVariant>> =
        reply.body().deserialize().unwrap();
    let runtime: Vec<bool> = list
        .iter()
        .map(|d| bool::try_from(&*d["runtime"]).unwrap())
        .collect();
    assert_eq!(runtime.iter().filter(|r| **r).count(), 1, "{runtime:?}");
    assert!(
        list.iter()
            .all(|d| u64::try_from(&*d["connects"]).unwrap() >= 1)
    );
    let args = ("tcp", "127.0.0.1", port.as_str(), NQN2, "", "", HOSTNQN);
    conn.call_method(
        Some("org.nvmexpress.stac"),
        "/org/nvmexpress/stac",
        Some("org.nvmexpress.stac.Controllers1"),
        "Remove",
        &args,
    )
    .await
    .expect("root removes the runtime IOC");
    until(
        "the runtime IOC is disconnected",
        Duration::from_secs(10),
        || async { io_controllers(&sim) == [NQN1] },
    )
    .await;

    // stafd killed: stacd keeps its IOC (fix 7), and nothing churns when stafd returns.
    drop(stafd);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        iocs(&conn, false).await.len(),
        1,
        "an IOC was dropped while stafd was away"
    );
    assert_eq!(io_controllers(&sim), [NQN1]);
    let connects_before = sim.counters().connections_accepted;
    let stafd = Daemon::start(&stafd_bin(), &d.join("stafd.conf"), bus, d, "stafd");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(iocs(&conn, false).await.len(), 1);
    // stafd's own DC connection is the only new one.
    assert_eq!(
        sim.counters().connections_accepted,
        connects_before + 1,
        "the IOC was reconnected"
    );

    assert!(stacd.stop().success());
    assert!(stafd.stop().success());
    sim.shutdown().await;
}
