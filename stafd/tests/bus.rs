//! Bus tier: the real `stafd` binary on the native backend against `nvme-sim` on loopback,
//! on a private `dbus-daemon` this test starts (no host service is touched), checked by
//! independent clients (`python3-dbus`, `busctl`) and by signals seen on the bus.
//!
//! Missing tools print `SKIPPED: why`; with `STAS_REQUIRE_SYSTEM_TESTS=1` that is a failure.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use libnvme_rs::spec::disclog::subtype;
use nvme_sim::{
    CmdMatch, Fault, FaultRule, MalformedPdu, SimConfig, SimHandle, Simulator, referral_entry,
    tcp_entry,
};
use staslib::testing::PrivateBus;
use zbus::{Connection, MatchRule, MessageStream};

const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21";
const HOSTID: &str = "5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21";
const SECRET: &str = "DHHC-1:00:ia6zGodOr2SEgHfFzVCxrQm6Q7a7yTq6y4mW6Y5wqmZLWbR6:";
const WK: &str = "nqn.2014-08.org.nvmexpress.discovery";

fn require_or_skip(what: &str) -> bool {
    if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref() == Ok("1") {
        panic!("{what} and STAS_REQUIRE_SYSTEM_TESTS=1");
    }
    println!("SKIPPED: {what}");
    false
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The private bus and the directory it lives in.
struct TestBus {
    bus: PrivateBus,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestBus {
    type Target = PrivateBus;
    fn deref(&self) -> &PrivateBus {
        &self.bus
    }
}

fn private_bus() -> Option<TestBus> {
    let dir = tempfile::tempdir().unwrap();
    match PrivateBus::start(dir.path(), &repo()) {
        Ok(bus) => Some(TestBus { bus, _dir: dir }),
        Err(e) => {
            require_or_skip(&e);
            None
        }
    }
}

/// A running stafd; killed if the test fails before stopping it.
struct Stafd {
    child: Option<Child>,
}

impl Stafd {
    fn start(bus: &PrivateBus, dir: &Path) -> Self {
        Self::start_with(bus, dir, &[])
    }

    /// With extra environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`).
    fn start_with(bus: &PrivateBus, dir: &Path, env: &[(&str, &str)]) -> Self {
        let conf = dir.join("stafd.conf");
        Self::start_args(bus, dir, env, &["-f", conf.to_str().unwrap()])
    }

    /// With these command-line arguments.
    fn start_args(bus: &PrivateBus, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stafd"));
        cmd.args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("STAS_SYS_CONF_FILE", dir.join("sys.conf"))
            .env("RUNTIME_DIRECTORY", dir.join("run"))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .stderr(std::fs::File::create(dir.join("stafd.log")).unwrap());
        cmd.envs(env.iter().copied());
        Self {
            child: Some(cmd.spawn().expect("stafd starts")),
        }
    }

    /// SIGTERM, then the exit status (bounded).
    fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "stafd did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Stafd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn sim(entries: Vec<libnvme_rs::spec::disclog::DiscoveryLogEntry>) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.discovery.log = entries;
    Simulator::start(cfg).await.expect("simulator starts")
}

async fn call<R: serde::de::DeserializeOwned + zbus::wire::Type>(
    conn: &Connection,
    iface: &str,
    method: &str,
    body: &(impl serde::Serialize + zbus::wire::DynamicType),
) -> R {
    let reply = conn
        .call_method(
            Some("org.nvmexpress.staf"),
            "/org/nvmexpress/staf",
            Some(iface),
            method,
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    reply.body().deserialize().unwrap()
}

type Dicts = Vec<std::collections::HashMap<String, String>>;

/// A typed value as the test compares it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    U32(u32),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::U64(n)
    }
}

/// `org.nvmexpress.staf.Controllers1.List`, values decoded by their D-Bus type.
async fn typed_list(conn: &Connection) -> Vec<std::collections::HashMap<String, Value>> {
    let raw: Vec<std::collections::HashMap<String, zbus::OwnedVariant>> =
        call(conn, "org.nvmexpress.staf.Controllers1", "List", &()).await;
    raw.into_iter()
        .map(|d| {
            d.into_iter()
                .map(|(k, v)| {
                    let v = if let Ok(s) = String::try_from(v.clone()) {
                        Value::Str(s)
                    } else if let Ok(b) = bool::try_from(&*v) {
                        Value::Bool(b)
                    } else if let Ok(n) = u64::try_from(&*v) {
                        Value::U64(n)
                    } else if let Ok(n) = u32::try_from(&*v) {
                        Value::U32(n)
                    } else {
                        panic!("{k}: unexpected type {}", v.value_signature());
                    };
                    (k, v)
                })
                .collect()
        })
        .collect()
}

async fn controllers(conn: &Connection) -> Dicts {
    call(conn, "org.nvmexpress.staf", "list_controllers", &(true,)).await
}

async fn log_pages(conn: &Connection, sim: SocketAddr) -> Dicts {
    let port = sim.port().to_string();
    call(
        conn,
        "org.nvmexpress.staf",
        "get_log_pages",
        &("tcp", "127.0.0.1", port.as_str(), WK, "", "", HOSTNQN),
    )
    .await
}

/// A test client on the private bus, subscribed to stafd's signals.
async fn client(bus: &PrivateBus) -> (Connection, MessageStream) {
    let conn = zbus::connection::Builder::address(bus.address.as_str())
        .build()
        .await
        .expect("test client on the private bus");
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.nvmexpress.staf")
        .build()
        .unwrap();
    let signals = MessageStream::for_match_rule(rule, &conn, NonZeroUsize::new(1024))
        .await
        .unwrap();
    (conn, signals)
}

/// Waits for a signal of stafd's main interface.
async fn next_signal(stream: &mut MessageStream, member: &str, within: Duration) -> zbus::Message {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no {member} signal within {within:?}"))
            .expect("bus stream open")
            .expect("message");
        if msg.header().member().is_some_and(|m| m.as_str() == member) {
            return msg;
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

fn run_blocking(mut cmd: Command) -> std::process::Output {
    cmd.output().expect("command runs")
}

#[tokio::test]
async fn stafd_native_on_a_private_bus() {
    let Some(bus) = private_bus() else {
        return;
    };
    if Command::new("/usr/bin/python3")
        .args(["-c", "import dbus"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        require_or_skip("python3-dbus (Debian python3-dbus) is not installed");
        return;
    }
    tokio::time::timeout(Duration::from_secs(120), scenario(&bus))
        .await
        .expect("bus tier scenario hung");
}

async fn scenario(bus: &TestBus) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim1 = sim(Vec::new()).await;
    let a1 = sim1.addr();
    sim1.set_discovery_log(vec![tcp_entry(
        a1,
        subtype::NVME,
        "nqn.2024-01.io.example:disk1",
    )])
    .unwrap();
    std::fs::write(
        d.join("stafd.conf"),
        format!(
            "[Global]\nbackend=native\n\n[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid={};dhchap-secret={SECRET}\n",
            a1.port()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();

    let (conn, mut signals) = client(bus).await;

    // Start → first log page on D-Bus.
    let t0 = Instant::now();
    let stafd = Stafd::start(bus, d);
    let msg = next_signal(&mut signals, "log_pages_changed", Duration::from_secs(15)).await;
    println!("stafd start -> first log_pages_changed: {:?}", t0.elapsed());
    let args: (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    ) = msg.body().deserialize().unwrap();
    assert_eq!(
        args,
        (
            "tcp".into(),
            "127.0.0.1".into(),
            a1.port().to_string(),
            WK.into(),
            "".into(),
            "".into(),
            HOSTNQN.into(),
            "nvme?".into()
        )
    );
    let pages = log_pages(&conn, a1).await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0]["subnqn"], "nqn.2024-01.io.example:disk1");
    assert_eq!(pages[0]["trsvcid"], a1.port().to_string());

    // Independent clients: python3-dbus as root (and as nobody when we are root).
    let script = repo().join("tests/bus/check_stafd.py");
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(&script)
        .args(["root", SECRET])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
    let am_root = staslib::testing::euid() == 0;
    if am_root {
        let out = tokio::task::spawn_blocking(move || run_blocking(cmd))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "python3-dbus check as root failed:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script)
            .args(["nonroot", SECRET])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .uid(65534)
            .gid(65534);
        let out = tokio::task::spawn_blocking(move || run_blocking(cmd))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "python3-dbus check as nobody failed:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        println!(
            "SKIPPED: root/non-root split of the python3-dbus check needs root (ran the non-root half only)"
        );
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script)
            .args(["nonroot", SECRET])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
        let out = tokio::task::spawn_blocking(move || run_blocking(cmd))
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "python3-dbus check failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // busctl's view of the object matches the committed snapshot (names and signatures).
    let mut cmd = Command::new("busctl");
    cmd.arg(format!("--address={}", bus.address)).args([
        "introspect",
        "--no-pager",
        "org.nvmexpress.staf",
        "/org/nvmexpress/staf",
    ]);
    let out = tokio::task::spawn_blocking(move || run_blocking(cmd))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "busctl introspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8_lossy(&out.stdout).into_owned();
    let snapshot = repo().join("tests/bus/stafd.introspect");
    if std::env::var_os("STAS_BLESS").is_some() {
        std::fs::write(&snapshot, &got).unwrap();
    }
    assert_eq!(
        got,
        std::fs::read_to_string(&snapshot).unwrap(),
        "busctl introspect differs from {}",
        snapshot.display()
    );

    // The introspection XML of each of our interfaces is installed under
    // /usr/share/dbus-1/interfaces (upstream #40): the committed files are what the daemon serves.
    let xml: String = conn
        .call_method(
            Some("org.nvmexpress.staf"),
            "/org/nvmexpress/staf",
            Some("org.freedesktop.DBus.Introspectable"),
            "Introspect",
            &(),
        )
        .await
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    for iface in [
        "org.nvmexpress.staf",
        "org.nvmexpress.staf.debug",
        "org.nvmexpress.staf.Controllers1",
    ] {
        let open = format!("<interface name=\"{iface}\">");
        let start = xml
            .find(&open)
            .unwrap_or_else(|| panic!("{iface} not introspected"));
        let end = start + xml[start..].find("</interface>").unwrap() + "</interface>".len();
        let doc = format!(
            "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n {}\n</node>\n",
            &xml[start..end]
        );
        let file = repo().join(format!("etc/dbus-1/interfaces/{iface}.xml"));
        if std::env::var_os("STAS_BLESS").is_some() {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &doc).unwrap();
        }
        assert_eq!(
            doc,
            std::fs::read_to_string(&file).unwrap_or_default(),
            "{} is stale",
            file.display()
        );
    }

    // A subsystem added → AEN → a new fetch with the new content, signalled within 2 s.
    let t = Instant::now();
    let mut entries = sim1.discovery_log().entries;
    entries.push(tcp_entry(a1, subtype::NVME, "nqn.2024-01.io.example:disk2"));
    sim1.set_discovery_log(entries).unwrap();
    next_signal(&mut signals, "log_pages_changed", Duration::from_secs(2)).await;
    println!("log page change -> log_pages_changed: {:?}", t.elapsed());
    let pages = log_pages(&conn, a1).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["subnqn"], "nqn.2024-01.io.example:disk2");

    // A DLPE that would inject fabrics options is dropped, the rest still served.
    let mut entries = sim1.discovery_log().entries;
    entries.push(tcp_entry(a1, subtype::NVME, "nqn.evil,hostnqn=nqn.x"));
    sim1.set_discovery_log(entries).unwrap();
    next_signal(&mut signals, "log_pages_changed", Duration::from_secs(2)).await;
    assert_eq!(
        log_pages(&conn, a1).await.len(),
        2,
        "the injecting entry is not served"
    );

    // A referral to a second DC is followed; removing it drops that DC (dc_removed).
    let sim2 = sim(vec![tcp_entry(
        SocketAddr::from(([127, 0, 0, 1], 4420)),
        subtype::NVME,
        "nqn.2024-01.io.example:behind-referral",
    )])
    .await;
    let a2 = sim2.addr();
    let mut entries = sim1.discovery_log().entries;
    entries.retain(|e| !e.subnqn.starts_with("nqn.evil"));
    let without_referral = entries.clone();
    entries.push(referral_entry(a2));
    sim1.set_discovery_log(entries).unwrap();
    until(
        "the referred DC is connected",
        Duration::from_secs(10),
        || async {
            controllers(&conn).await.iter().any(|c| {
                c["trsvcid"] == a2.port().to_string()
                    && c["origin"] == "referral"
                    && c["connected"] == "True"
            })
        },
    )
    .await;
    until(
        "the referred DC's log page is served",
        Duration::from_secs(5),
        || async {
            log_pages(&conn, a2)
                .await
                .iter()
                .any(|p| p["subnqn"] == "nqn.2024-01.io.example:behind-referral")
        },
    )
    .await;
    sim1.set_discovery_log(without_referral).unwrap();
    next_signal(&mut signals, "dc_removed", Duration::from_secs(6)).await;
    let dcs = controllers(&conn).await;
    assert_eq!(dcs.len(), 1, "{dcs:?}");
    until(
        "the referred DC's connection is closed",
        Duration::from_secs(5),
        || async { sim2.connections().is_empty() },
    )
    .await;

    // Our typed interface: statistics without JSON, root-only runtime add/remove.
    let typed = typed_list(&conn).await;
    let dc1 = typed
        .iter()
        .find(|d| d["trsvcid"] == Value::from(a1.port().to_string()))
        .expect("configured DC in Controllers1.List");
    assert_eq!(dc1["connected"], Value::from(true));
    assert_eq!(dc1["entries"], Value::from(2u64));
    assert!(matches!(dc1["aens"], Value::U64(n) if n >= 3), "{dc1:?}");
    assert!(
        matches!(dc1["log-page-fetches"], Value::U64(n) if n >= 4),
        "{dc1:?}"
    );
    assert!(
        matches!(dc1["rejected-entries"], Value::U64(n) if n >= 1),
        "{dc1:?}"
    );
    if staslib::testing::euid() == 0 {
        let mut cmd = Command::new("busctl");
        cmd.arg(format!("--address={}", bus.address))
            .args(["call", "org.nvmexpress.staf", "/org/nvmexpress/staf"])
            .args(["org.nvmexpress.staf.Controllers1", "Add", "a{ss}", "2"])
            .args(["transport", "tcp", "traddr", "127.0.0.1"])
            .uid(65534)
            .gid(65534);
        let out = tokio::task::spawn_blocking(move || run_blocking(cmd))
            .await
            .unwrap();
        assert!(!out.status.success(), "nobody added a DC");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(
            err.contains("access denied") || err.contains("accessdenied"),
            "{err}"
        );
        let port = a1.port().to_string();
        let mut cmd = Command::new("busctl");
        cmd.arg(format!("--address={}", bus.address))
            .args(["call", "org.nvmexpress.staf", "/org/nvmexpress/staf"])
            .args(["org.nvmexpress.staf.Controllers1", "Remove", "sssssss"])
            .args(["tcp", "127.0.0.1", port.as_str(), WK, "", "", HOSTNQN])
            .uid(65534)
            .gid(65534);
        let out = tokio::task::spawn_blocking(move || run_blocking(cmd))
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(
            !out.status.success() && err.contains("access denied"),
            "nobody removed a DC: {err}"
        );
    }
    let add = |params: Vec<(&'static str, String)>| {
        let conn = conn.clone();
        async move {
            let params: std::collections::HashMap<&str, String> = params.into_iter().collect();
            conn.call_method(
                Some("org.nvmexpress.staf"),
                "/org/nvmexpress/staf",
                Some("org.nvmexpress.staf.Controllers1"),
                "Add",
                &(params,),
            )
            .await
        }
    };
    let err = add(vec![
        ("transport", "tcp".into()),
        ("traddr", "127.0.0.1,hostnqn=x".into()),
    ])
    .await
    .expect_err("an injecting traddr is refused");
    assert!(err.to_string().contains("not allowed"), "{err}");
    add(vec![
        ("transport", "tcp".into()),
        ("traddr", "127.0.0.1".into()),
        ("trsvcid", a2.port().to_string()),
    ])
    .await
    .expect("root adds a DC");
    until(
        "the runtime DC serves its log page",
        Duration::from_secs(5),
        || async {
            log_pages(&conn, a2)
                .await
                .iter()
                .any(|p| p["subnqn"] == "nqn.2024-01.io.example:behind-referral")
        },
    )
    .await;
    let runtime_dc = typed_list(&conn)
        .await
        .into_iter()
        .find(|d| d["trsvcid"] == Value::from(a2.port().to_string()))
        .unwrap();
    assert_eq!(runtime_dc["runtime"], Value::from(true));
    assert_eq!(runtime_dc["origin"], Value::from("configured"));
    let port2 = a2.port().to_string();
    let remove_args = ("tcp", "127.0.0.1", port2.as_str(), WK, "", "", HOSTNQN);
    let remove = || {
        conn.call_method(
            Some("org.nvmexpress.staf"),
            "/org/nvmexpress/staf",
            Some("org.nvmexpress.staf.Controllers1"),
            "Remove",
            &remove_args,
        )
    };
    remove().await.expect("root removes the runtime DC");
    next_signal(&mut signals, "dc_removed", Duration::from_secs(3)).await;
    assert!(
        remove().await.is_err(),
        "a DC that is not a runtime one cannot be removed"
    );
    assert_eq!(controllers(&conn).await.len(), 1);

    // SIGTERM: clean exit, last-known state written.
    let status = stafd.stop();
    assert!(status.success(), "stafd exit status {status}");
    let lkc = std::fs::read_to_string(d.join("run/last-known-config.json"))
        .expect("last-known state written");
    assert!(lkc.contains("nqn.2024-01.io.example:disk2"), "{lkc}");
    until(
        "the native DC connection is closed at stop",
        Duration::from_secs(5),
        || async { sim1.connections().is_empty() },
    )
    .await;

    // Restart with the DC unreachable: the cached log page is served at once.
    sim1.shutdown().await;
    let stafd = Stafd::start(bus, d);
    until(
        "stafd is back on the bus with its cached log page",
        Duration::from_secs(10),
        || async {
            conn.call_method(
                Some("org.nvmexpress.staf"),
                "/org/nvmexpress/staf",
                Some("org.nvmexpress.staf"),
                "get_log_pages",
                &(
                    "tcp",
                    "127.0.0.1",
                    a1.port().to_string().as_str(),
                    WK,
                    "",
                    "",
                    HOSTNQN,
                ),
            )
            .await
            .ok()
            .and_then(|r| r.body().deserialize::<Dicts>().ok())
            .is_some_and(|p| p.len() == 2)
        },
    )
    .await;
    let dcs = controllers(&conn).await;
    assert_eq!(
        dcs[0]["connected"], "False",
        "the DC is unreachable, the cache is served anyway"
    );
    assert!(stafd.stop().success());
    sim2.shutdown().await;
}

fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn info(conn: &Connection, port: u16) -> std::collections::HashMap<String, String> {
    let port = port.to_string();
    let text: String = call(
        conn,
        "org.nvmexpress.staf.debug",
        "controller_info",
        &("tcp", "127.0.0.1", port.as_str(), WK, "", "", HOSTNQN),
    )
    .await;
    serde_json::from_str(&text).unwrap()
}

/// Acceptance 5 on the native backend: an unreachable DC is retried on the 3 s / 60 s
/// schedule; a DC that drops the connection is reconnected; 1,000 entries in one log page;
/// 50 change notices in a second; 20 SIGHUPs in a second. stafd stays up, its memory stays
/// bounded and the state afterwards is right.
#[tokio::test]
async fn stafd_native_faults() {
    let Some(bus) = private_bus() else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(120), faults(&bus))
        .await
        .expect("fault scenario hung");
}

async fn faults(bus: &TestBus) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big: Vec<_> = (0..1000)
        .map(|i| {
            let a = SocketAddr::from(([192, 0, 2, (i % 250 + 1) as u8], 4420));
            tcp_entry(a, subtype::NVME, &format!("nqn.2024-01.io.example:sub{i}"))
        })
        .collect();
    let sim1 = sim(big.clone()).await;
    let a1 = sim1.addr();
    // A port nothing listens on: bind, learn the port, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        d.join("stafd.conf"),
        format!(
            "[Global]\nbackend=native\n\n[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid={}\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid={}\n",
            a1.port(),
            dead.port()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    let (conn, mut signals) = client(bus).await;
    let stafd = Stafd::start(bus, d);
    let pid = stafd.child.as_ref().unwrap().id();

    // 1,000 entries in one log page.
    next_signal(&mut signals, "log_pages_changed", Duration::from_secs(15)).await;
    assert_eq!(log_pages(&conn, a1).await.len(), 1000);
    let rss_start = vm_rss_kib(pid);

    // Unreachable DC: first retry after 3 s, then the period becomes 60 s.
    let i = info(&conn, dead.port()).await;
    assert_eq!(i["connect attempts"], "1", "{i:?}");
    assert!(i["retry connect timer"].starts_with("3.0s ["), "{i:?}");
    until(
        "the second attempt failed and the period is 60 s",
        Duration::from_secs(6),
        || async {
            let i = info(&conn, dead.port()).await;
            i["connect attempts"] == "2" && i["retry connect timer"].starts_with("60.0s [")
        },
    )
    .await;

    // 50 change notices within a second: the last content wins, nothing is lost for good.
    for n in 0..50 {
        let mut entries = big.clone();
        entries.truncate(950 + n);
        sim1.set_discovery_log(entries).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    until(
        "the last log page is served",
        Duration::from_secs(10),
        || async { log_pages(&conn, a1).await.len() == 999 },
    )
    .await;

    // The DC drops the connection: stafd reconnects and re-reads.
    sim1.disconnect_all();
    until(
        "reconnected after the DC dropped the connection",
        Duration::from_secs(8),
        || async {
            controllers(&conn)
                .await
                .iter()
                .any(|c| c["trsvcid"] == a1.port().to_string() && c["connected"] == "True")
                && !sim1.connections().is_empty()
        },
    )
    .await;

    // Garbage and truncated PDUs in answer to Get Log Page: the association is dropped
    // (the host answers with H2CTermReq), re-established, and the page read again.
    for (i, kind) in [
        MalformedPdu::PlenTooLarge,
        MalformedPdu::BadHlen,
        MalformedPdu::UnknownType,
    ]
    .into_iter()
    .enumerate()
    {
        sim1.inject(
            FaultRule::global(Fault::Malformed {
                cmd: CmdMatch::Admin(0x02),
                kind,
            })
            .times(1),
        );
        let mut entries = big.clone();
        entries.truncate(900 + i);
        sim1.set_discovery_log(entries).unwrap();
        until(
            &format!("recovered from {kind:?}"),
            Duration::from_secs(15),
            || async { log_pages(&conn, a1).await.len() == 900 + i },
        )
        .await;
    }
    let reconnects = typed_list(&conn)
        .await
        .into_iter()
        .find(|c| c["trsvcid"] == Value::from(a1.port().to_string()))
        .map(|c| c["reconnects"].clone());
    assert!(
        matches!(reconnects, Some(Value::U64(n)) if n >= 3),
        "{reconnects:?}"
    );
    let mut entries = big.clone();
    entries.truncate(999);
    sim1.set_discovery_log(entries).unwrap();
    until(
        "the last page is served",
        Duration::from_secs(10),
        || async { log_pages(&conn, a1).await.len() == 999 },
    )
    .await;

    // 20 SIGHUPs within a second.
    for _ in 0..20 {
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(pid as i32, libc::SIGHUP) };
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until(
        "stafd answers after the SIGHUP storm",
        Duration::from_secs(5),
        || async { controllers(&conn).await.len() == 2 },
    )
    .await;
    assert_eq!(log_pages(&conn, a1).await.len(), 999);
    let rss_end = vm_rss_kib(pid);
    println!(
        "stafd VmRSS: {rss_start} KiB after the first 1,000-entry page, {rss_end} KiB after the faults"
    );
    assert!(
        rss_end < rss_start + 16 * 1024,
        "memory grew from {rss_start} to {rss_end} KiB"
    );

    // SIGHUP re-reads sys.conf too (deliberate fix 9): a new host NQN gives new identities.
    let new_nqn = "nqn.2014-08.org.nvmexpress:uuid:0f5c3b4e-9a8d-4c1b-8e2f-3a4b5c6d7e8f";
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={new_nqn}\nid={HOSTID}\n"),
    )
    .unwrap();
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    until(
        "the DC is reconnected with the new host NQN",
        Duration::from_secs(10),
        || async {
            controllers(&conn).await.iter().any(|c| {
                c["trsvcid"] == a1.port().to_string()
                    && c["host-nqn"] == new_nqn
                    && c["connected"] == "True"
            })
        },
    )
    .await;
    let info: String = call(&conn, "org.nvmexpress.staf.debug", "process_info", &()).await;
    assert!(
        info.contains(&format!("\"hostnqn\": \"{new_nqn}\"")),
        "{info}"
    );
    assert!(stafd.stop().success());
    sim1.shutdown().await;
}

/// A real avahi-daemon on the private bus (loopback only). Needs root.
struct Avahi {
    child: Child,
}

const AVAHI_PID: &str = "/run/avahi-daemon/pid";

impl Avahi {
    fn start(bus: &PrivateBus) -> Self {
        let child = Command::new("/usr/sbin/avahi-daemon")
            .args(["--no-drop-root", "--no-chroot", "--no-rlimits", "-f"])
            .arg(repo().join("tests/bus/avahi-daemon.conf"))
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("avahi-daemon starts");
        Self { child }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // SIGKILL leaves its pid file behind; a new daemon must not trip over it.
        let _ = std::fs::remove_file(AVAHI_PID);
    }
}

impl Drop for Avahi {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// `avahi-publish -s NAME _nvme-disc._tcp PORT TXT...`; unpublished (a goodbye) on drop.
struct Published {
    child: Child,
}

impl Published {
    fn new(bus: &PrivateBus, name: &str, port: u16, txt: &[&str]) -> Self {
        let child = Command::new("avahi-publish")
            .args(["-s", name, "_nvme-disc._tcp", &port.to_string()])
            .args(txt)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("avahi-publish starts");
        Self { child }
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's PID; SIGTERM makes it withdraw the service.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

async fn name_has_owner(conn: &Connection, name: &str) -> bool {
    conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "NameHasOwner",
        &(name,),
    )
    .await
    .ok()
    .and_then(|r| r.body().deserialize::<bool>().ok())
    .unwrap_or(false)
}

fn log_has(dir: &Path, text: &str) -> bool {
    std::fs::read_to_string(dir.join("stafd.log")).is_ok_and(|l| l.contains(text))
}

fn log_count(dir: &Path, text: &str) -> usize {
    std::fs::read_to_string(dir.join("stafd.log")).map_or(0, |l| l.matches(text).count())
}

/// Acceptance 3: mDNS with a real avahi-daemon on the private bus.
#[tokio::test]
async fn stafd_mdns_with_avahi() {
    if staslib::testing::euid() != 0 {
        require_or_skip("avahi-daemon on a private bus needs root");
        return;
    }
    if !Path::new("/usr/sbin/avahi-daemon").exists()
        || Command::new("avahi-publish")
            .arg("--version")
            .output()
            .is_err()
    {
        require_or_skip("avahi-daemon / avahi-utils are not installed");
        return;
    }
    if let Ok(pid) = std::fs::read_to_string(AVAHI_PID)
        && Path::new(&format!("/proc/{}", pid.trim())).exists()
    {
        require_or_skip("an avahi-daemon already runs on this host (its pid file is in use)");
        return;
    }
    let Some(bus) = private_bus() else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(120), mdns(&bus))
        .await
        .expect("mDNS scenario hung");
}

async fn mdns(bus: &TestBus) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim1 = sim(Vec::new()).await;
    let a1 = sim1.addr();
    sim1.set_discovery_log(vec![tcp_entry(
        a1,
        subtype::NVME,
        "nqn.2024-01.io.example:mdns",
    )])
    .unwrap();
    std::fs::write(
        d.join("stafd.conf"),
        "[Global]\nbackend=native\n\n[Discovery controller connection management]\nzeroconf-connections-persistence=3s\n",
    )
    .unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    let (conn, mut signals) = client(bus).await;
    let avahi = Avahi::start(bus);
    until(
        "avahi-daemon is on the bus",
        Duration::from_secs(10),
        || name_has_owner(&conn, "org.freedesktop.Avahi"),
    )
    .await;
    let stafd = Stafd::start(bus, d);
    until("stafd is on the bus", Duration::from_secs(10), || {
        name_has_owner(&conn, "org.nvmexpress.staf")
    })
    .await;

    // A published DC is found, checked for reachability, connected, and its page served.
    let dc1 = Published::new(bus, "dc1", a1.port(), &["p=tcp"]);
    until(
        "the mDNS DC is connected",
        Duration::from_secs(20),
        || async {
            controllers(&conn).await.iter().any(|c| {
                c["origin"] == "discovered"
                    && c["host-iface"] == "lo"
                    && c["traddr"] == "127.0.0.1"
                    && c["trsvcid"] == a1.port().to_string()
                    && c["connected"] == "True"
            })
        },
    )
    .await;
    let port = a1.port().to_string();
    until(
        "the mDNS DC's log page is served",
        Duration::from_secs(5),
        || async {
            let pages: Dicts = call(
                &conn,
                "org.nvmexpress.staf",
                "get_log_pages",
                &("tcp", "127.0.0.1", port.as_str(), WK, "", "lo", HOSTNQN),
            )
            .await;
            pages
                .iter()
                .any(|p| p["subnqn"] == "nqn.2024-01.io.example:mdns")
        },
    )
    .await;

    // Bad TXT records are refused with upstream's log text; no DC comes of them.
    let bad = [
        Published::new(bus, "bad1", a1.port(), &["p=walmart"]),
        Published::new(bus, "bad2", a1.port(), &["nqn=nqn.x"]),
        Published::new(bus, "bad3", a1.port(), &["p=t\u{1}cp"]),
    ];
    for shown in ["{'p': 'walmart'}", "{'nqn': 'nqn.x'}", "TXT={}"] {
        until(&format!("the bad TXT {shown} is reported"), Duration::from_secs(10), || async {
            log_has(d, "Received invalid/undefined protocol in mDNS TXT field: address=127.0.0.1, iface=lo, TXT=")
                && log_has(d, shown)
        })
        .await;
    }
    drop(bad);
    assert_eq!(controllers(&conn).await.len(), 1);

    // avahi-daemon killed: stafd stays up and keeps the connected DC; restarted: re-browsed.
    avahi.kill9();
    drop(dc1);
    until("stafd saw Avahi leave", Duration::from_secs(5), || async {
        log_has(d, "avahi-daemon left the bus")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dcs = controllers(&conn).await;
    assert!(dcs.len() == 1 && dcs[0]["connected"] == "True", "{dcs:?}");
    let avahi = Avahi::start(bus);
    let deadline = Instant::now() + Duration::from_secs(15);
    while log_count(d, "avahi-daemon service available, zeroconf supported.") != 2 {
        assert!(
            Instant::now() < deadline,
            "stafd did not browse the new avahi-daemon within 15 s; its log:\n{}",
            std::fs::read_to_string(d.join("stafd.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dc1 = Published::new(bus, "dc1", a1.port(), &["p=tcp"]);
    until(
        "the service is known again",
        Duration::from_secs(15),
        || async {
            let info: String = call(&conn, "org.nvmexpress.staf.debug", "process_info", &()).await;
            info.contains("(lo, IPv4, dc1.local, _nvme-disc._tcp)")
                && info.contains("\"reachable\": \"True\"")
        },
    )
    .await;
    assert_eq!(
        controllers(&conn).await.len(),
        1,
        "the same DC, not a second one"
    );

    // Unpublished (goodbye) + aging (3 s here): the DC is removed although still connected.
    drop(dc1);
    next_signal(&mut signals, "dc_removed", Duration::from_secs(15)).await;
    assert!(controllers(&conn).await.is_empty());
    assert!(log_has(
        d,
        "Controller is not responding. Will be removed by"
    ));
    assert!(stafd.stop().success());
    drop(avahi);
    sim1.shutdown().await;
}

/// systemd integration: READY=1 once the bus name is taken, WATCHDOG=1 at half
/// `WATCHDOG_USEC`, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 at SIGTERM.
#[tokio::test]
async fn stafd_notifies_systemd() {
    let Some(bus) = private_bus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("stafd.conf"), "[Global]\nbackend=native\n").unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    let sock_path = d.join("notify");
    let sock = tokio::net::UnixDatagram::bind(&sock_path).unwrap();
    let (conn, _signals) = client(&bus).await;
    let stafd = Stafd::start_with(
        &bus,
        d,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    let mut buf = [0u8; 256];
    let mut next = async || {
        let n = tokio::time::timeout(Duration::from_secs(10), sock.recv(&mut buf))
            .await
            .expect("a notification within 10 s")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(next().await, "READY=1");
    assert!(
        name_has_owner(&conn, "org.nvmexpress.staf").await,
        "READY=1 before the bus name"
    );
    assert_eq!(next().await, "WATCHDOG=1");
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(stafd.child.as_ref().unwrap().id() as i32, libc::SIGHUP) };
    let mut seen = Vec::new();
    while seen.len() < 4 && !seen.contains(&"READY=1".to_owned()) {
        let m = next().await;
        if m != "WATCHDOG=1" {
            seen.push(m);
        }
    }
    assert_eq!(seen, ["RELOADING=1", "READY=1"]);
    let stopping = tokio::spawn(async move {
        let mut buf = [0u8; 256];
        loop {
            let n = sock.recv(&mut buf).await.unwrap();
            if &buf[..n] == b"STOPPING=1" {
                return;
            }
        }
    });
    assert!(stafd.stop().success());
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("STOPPING=1")
        .unwrap();
}

/// TP8010 PLEO (§4.5-3): with `pleo=enabled` (the default) a DC that reports PLEOS is read
/// with LSP=2; with `pleo=disabled`, or a DC without PLEOS, with LSP=0.
#[tokio::test]
async fn stafd_pleo() {
    let Some(bus) = private_bus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    let (conn, mut signals) = client(&bus).await;
    for (pleos, conf, want) in [
        (true, "", 2u8),
        (true, "pleo=disabled\n", 0),
        (false, "", 0),
    ] {
        let mut cfg = SimConfig::default();
        cfg.discovery.pleo_supported = pleos;
        let sim1 = Simulator::start(cfg).await.unwrap();
        let a1 = sim1.addr();
        sim1.set_discovery_log(vec![tcp_entry(
            a1,
            subtype::NVME,
            "nqn.2024-01.io.example:p",
        )])
        .unwrap();
        std::fs::write(
            d.join("stafd.conf"),
            format!(
                "[Global]\nbackend=native\n{conf}\n[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid={}\n",
                a1.port()
            ),
        )
        .unwrap();
        let _ = std::fs::remove_dir_all(d.join("run"));
        let stafd = Stafd::start(&bus, d);
        next_signal(&mut signals, "log_pages_changed", Duration::from_secs(15)).await;
        assert_eq!(
            sim1.counters().last_discovery_lsp,
            Some(want),
            "PLEOS {pleos}, {conf:?}"
        );
        assert_eq!(log_pages(&conn, a1).await.len(), 1);
        assert!(stafd.stop().success());
        sim1.shutdown().await;
    }
}

/// NBFT (§4.15): a discovery descriptor of the firmware table is a configured DC, read once
/// at start from `$STAS_NBFT_DIR`; the table's host NQN (administratively set) is its host NQN.
#[tokio::test]
async fn stafd_nbft_discovery_controller() {
    use libnvme_rs::nbft::{Nbft, NbftDiscovery, NbftHfi, NbftHfiTcp, NbftHost};
    let Some(bus) = private_bus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim1 = sim(Vec::new()).await;
    let a1 = sim1.addr();
    sim1.set_discovery_log(vec![tcp_entry(
        a1,
        subtype::NVME,
        "nqn.2024-01.io.example:boot",
    )])
    .unwrap();
    let table = Nbft {
        major_revision: 1,
        minor_revision: 0,
        oem_id: "STASRS".into(),
        oem_table_id: "BUSTIER".into(),
        host: Some(NbftHost {
            id: libnvme_rs::host::parse_uuid(HOSTID).unwrap(),
            nqn: HOSTNQN.into(),
            id_configured: true,
            nqn_configured: true,
            primary_admin: 0,
        }),
        hfis: vec![NbftHfi {
            index: 1,
            tcp: NbftHfiTcp {
                pci_sbdf: 0x0300,
                // A MAC no interface here has: no host-iface.
                mac: [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30],
                vlan: 0,
                ip_origin: 3,
                ipaddr: "127.0.0.1".parse().unwrap(),
                subnet_mask_prefix: 8,
                gateway: None,
                route_metric: 0,
                primary_dns: None,
                secondary_dns: None,
                dhcp_server: None,
                host_name: None,
                dhcp_override: false,
                default_route: false,
            },
        }],
        security_count: 0,
        discovery: vec![NbftDiscovery {
            index: 1,
            hfi_index: 1,
            security_index: 0,
            uri: format!("nvme+tcp://127.0.0.1:{}/", a1.port()),
            nqn: WK.into(),
            transport: "tcp".into(),
            traddr: "127.0.0.1".into(),
            trsvcid: Some(a1.port().to_string()),
        }],
        subsystems: vec![],
        skipped: vec![],
    };
    let tables = d.join("acpi-tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::write(tables.join("NBFT"), table.to_bytes()).unwrap();
    std::fs::write(tables.join("NBFT1"), b"NBFT garbage").unwrap();
    std::fs::write(d.join("stafd.conf"), "[Global]\nbackend=native\n").unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    let (conn, mut signals) = client(&bus).await;
    let stafd = Stafd::start_with(&bus, d, &[("STAS_NBFT_DIR", tables.to_str().unwrap())]);
    next_signal(&mut signals, "log_pages_changed", Duration::from_secs(15)).await;
    let dcs = controllers(&conn).await;
    assert_eq!(dcs.len(), 1, "{dcs:?}");
    assert_eq!(dcs[0]["origin"], "configured");
    assert_eq!(dcs[0]["trsvcid"], a1.port().to_string());
    assert_eq!(
        log_pages(&conn, a1).await[0]["subnqn"],
        "nqn.2024-01.io.example:boot"
    );
    assert!(
        log_has(d, "NBFT location(s): ["),
        "the tables found are logged"
    );
    assert!(log_has(d, "NBFT1"), "the corrupt table is reported");
    assert!(stafd.stop().success());
    sim1.shutdown().await;
}

/// TP8010 DIM and TP8013 against a DDC that has a unique NQN: the DC is reached by its
/// unique NQN, the host registers after connecting, and deregisters when the DC is removed
/// from the configuration (SIGHUP) — deliberate fix 9; upstream never deregisters.
#[tokio::test]
async fn stafd_dim_and_unique_nqn() {
    use libnvme_rs::admin::dim::DimTask;
    let Some(bus) = private_bus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let unique = "nqn.2024-01.io.nvme-sim:ddc-1";
    let mut cfg = SimConfig::default();
    cfg.discovery.dctype = nvme_sim::DcType::Ddc;
    cfg.discovery.unique_nqn = Some(unique.into());
    let sim1 = Simulator::start(cfg).await.unwrap();
    let a1 = sim1.addr();
    sim1.set_discovery_log(vec![tcp_entry(
        a1,
        subtype::NVME,
        "nqn.2024-01.io.example:d",
    )])
    .unwrap();
    let conf = |with_dc: bool| {
        let line = format!(
            "controller=transport=tcp;traddr=127.0.0.1;trsvcid={};nqn={unique}\n",
            a1.port()
        );
        format!(
            "[Global]\nbackend=native\n\n[Controllers]\n{}",
            if with_dc { line.as_str() } else { "" }
        )
    };
    std::fs::write(d.join("stafd.conf"), conf(true)).unwrap();
    std::fs::write(
        d.join("sys.conf"),
        format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"),
    )
    .unwrap();
    let (conn, mut signals) = client(&bus).await;
    let stafd = Stafd::start(&bus, d);
    next_signal(&mut signals, "log_pages_changed", Duration::from_secs(15)).await;
    let dcs = controllers(&conn).await;
    assert_eq!(dcs[0]["subsysnqn"], unique);
    assert_eq!(dcs[0]["dctype"], "ddc");
    assert!(
        sim1.controllers().iter().any(|c| c.subnqn == unique),
        "the DC was reached by its unique NQN"
    );
    until("registered", Duration::from_secs(5), || async {
        sim1.registrations()
            .iter()
            .any(|r| r.eid == HOSTNQN && r.task == DimTask::Register)
    })
    .await;
    // A second stafd does not take the bus name from the running one: it fails to start,
    // deregisters nothing and writes no last-known state.
    let dir2 = tempfile::tempdir().unwrap();
    for f in ["stafd.conf", "sys.conf"] {
        std::fs::copy(d.join(f), dir2.path().join(f)).unwrap();
    }
    let mut second = Stafd::start(&bus, dir2.path());
    let status = second.child.as_mut().unwrap().wait().unwrap();
    let log = std::fs::read_to_string(dir2.path().join("stafd.log")).unwrap();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("D-Bus: cannot take org.nvmexpress.staf"),
        "{log}"
    );
    assert!(
        !dir2.path().join("run/last-known-config.json").exists(),
        "{log}"
    );
    assert!(
        !sim1
            .dim_history()
            .iter()
            .any(|r| r.task == DimTask::Deregister),
        "{:?}",
        sim1.dim_history()
    );
    assert!(name_has_owner(&conn, "org.nvmexpress.staf").await);
    std::fs::write(d.join("stafd.conf"), conf(false)).unwrap();
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(stafd.child.as_ref().unwrap().id() as i32, libc::SIGHUP) };
    next_signal(&mut signals, "dc_removed", Duration::from_secs(10)).await;
    until(
        "deregistered when the DC was removed",
        Duration::from_secs(5),
        || async {
            sim1.dim_history()
                .iter()
                .any(|r| r.task == DimTask::Deregister && r.eid == HOSTNQN)
        },
    )
    .await;
    assert!(
        sim1.registrations().is_empty(),
        "{:?}",
        sim1.registrations()
    );
    assert!(stafd.stop().success());
    sim1.shutdown().await;
}

/// The 3.x layout (`-c nvme-stas.conf`, a 3.x `stafd.conf`): DCs come from the connection
/// file; one without EPCSD is parked (disconnected, its log page still served), one with
/// `persistent = force` stays connected; the log names the generation.
#[tokio::test]
async fn stafd_3x_layout_with_epcsd_parking() {
    let Some(bus) = private_bus() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The 3.x layout reads no sys.conf: the identity is nvme-stas.conf's [Host].
    let entries = |n: &str| {
        vec![tcp_entry(
            "127.0.0.1:4420".parse().unwrap(),
            subtype::NVME,
            n,
        )]
    };
    let parked = sim(entries("nqn.2024-01.io.example:parked")).await;
    let kept = sim(entries("nqn.2024-01.io.example:kept")).await;
    std::fs::write(
        d.join("nvme-stas.conf"),
        format!(
            "[Host]\nhostnqn = {HOSTNQN}\nhostid = {HOSTID}\n\n\
             [Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\n\
             [Discovery Controller]\ncontroller = transport=tcp;traddr=127.0.0.1;trsvcid={}\n\n\
             [Discovery Controller]\npersistent = force\n\
             controller = transport=tcp;traddr=127.0.0.1;trsvcid={}\n",
            parked.addr().port(),
            kept.addr().port()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("stafd3.conf"),
        "[Global]\nbackend=native\n[Service Discovery]\nzeroconf=disabled\n",
    )
    .unwrap();
    let (conn, _signals) = client(&bus).await;
    let conf = d.join("stafd3.conf");
    let conn_conf = d.join("nvme-stas.conf");
    let stafd = Stafd::start_args(
        &bus,
        d,
        &[],
        &[
            "-f",
            conf.to_str().unwrap(),
            "-c",
            conn_conf.to_str().unwrap(),
        ],
    );
    let state = |port: u16| {
        let conn = conn.clone();
        async move {
            typed_list(&conn)
                .await
                .into_iter()
                .find(|c| c.get("trsvcid") == Some(&Value::Str(port.to_string())))
        }
    };
    until("stafd on the bus", Duration::from_secs(15), || {
        name_has_owner(&conn, "org.nvmexpress.staf")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut ok = false;
    while !ok && Instant::now() < deadline {
        let p = state(parked.addr().port()).await;
        let k = state(kept.addr().port()).await;
        ok = p.is_some_and(|p| {
            p["parked"] == Value::Bool(true) && p["connected"] == Value::Bool(false)
        }) && k.is_some_and(|k| {
            k["connected"] == Value::Bool(true) && k["parked"] == Value::Bool(false)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(d.join("stafd.log")).unwrap();
    assert!(ok, "parked / kept not reached:\n{log}");
    // The parked DC's page is still served; it holds no connection.
    assert_eq!(log_pages(&conn, parked.addr()).await.len(), 1);
    assert!(parked.connections().is_empty());
    assert_eq!(kept.connections().len(), 1);
    assert!(
        log.contains("Configuration: nvme-stas 3.x layout (-c "),
        "{log}"
    );
    // nvme-stas 3.x's D-Bus words on the 3.x layout: `hostnqn`, libnvme's subtype names.
    let ids: Dicts = call(&conn, "org.nvmexpress.staf", "list_controllers", &(false,)).await;
    assert!(
        ids.iter()
            .all(|d| d.get("hostnqn").map(String::as_str) == Some(HOSTNQN)
                && !d.contains_key("host-nqn")),
        "{ids:?}"
    );
    let page = log_pages(&conn, kept.addr()).await;
    assert_eq!(page[0]["subtype"], "nvme subsystem");
    assert!(stafd.stop().success());

    // `--dbus-api 2` brings 2.x's words back on the same layout.
    let stafd = Stafd::start_args(
        &bus,
        d,
        &[],
        &[
            "-f",
            conf.to_str().unwrap(),
            "-c",
            conn_conf.to_str().unwrap(),
            "--dbus-api",
            "2",
        ],
    );
    until(
        "the cached page served in 2.x words",
        Duration::from_secs(15),
        || {
            let conn = conn.clone();
            let kept = kept.addr();
            async move {
                if !name_has_owner(&conn, "org.nvmexpress.staf").await {
                    return false;
                }
                let ids: Dicts =
                    call(&conn, "org.nvmexpress.staf", "list_controllers", &(false,)).await;
                !ids.is_empty()
                    && ids
                        .iter()
                        .all(|d| d.contains_key("host-nqn") && !d.contains_key("hostnqn"))
                    && log_pages(&conn, kept)
                        .await
                        .first()
                        .is_some_and(|e| e["subtype"] == "nvme")
            }
        },
    )
    .await;
    assert!(stafd.stop().success());
    parked.shutdown().await;
    kept.shutdown().await;
}
