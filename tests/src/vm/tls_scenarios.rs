//! NVMe/TCP TLS on the kernel backend (issue #10, acceptance 5): stacd on the nvme-stas 3.x
//! layout connects a subsystem behind an nvmet port that requires TLS 1.3, with a PSK in
//! interchange format from `nvme-stas.conf`.
//!
//! What is checked, by independent means: the key stacd loads into the kernel's `.nvme`
//! keyring (`keyctl` in the guest) has the identity and the bytes that **libnvme's own code**
//! derives (`tests/scripts/libnvme-psk-vectors.sh`, nvme-cli's `crypto.c` built here); the
//! option string stacd writes to `/dev/nvme-fabrics` (strace) is token for token what
//! nvme-cli 3.0 writes, with that keyring's and that key's serials.
//!
//! The kernel hands the handshake itself to `tlshd` (ktls-utils), which Debian 12 does not
//! package: the connect fails. The scenario checks that it fails as one clear error naming
//! TLS, retried on stacd's 3 s / 60 s schedule with the key imported again each time.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Scenario;
use super::common::*;
use super::guest::{Ctx, ensure, wait_for};
use super::nvmet::{Port, Target};
use super::stacd_scenarios::{
    ConnConfFile, fabrics_writes, kernel_io_state, log_tails, stac_detailed,
};
use super::stafd_scenarios::{Daemon, WORK, repo};

pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        name: "stacd_kernel_tls_psk_imported_as_libnvme_does",
        target: tls_target,
        run: tls,
    }]
}

const TLS_PORT: &str = "4421";

/// The PSK of the configuration (Debian's `nvme check-tls-key` calls it valid: hash 01,
/// 32 bytes, CRC d9baf45f).
const PSK: &str = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";

/// Subsystem 0 on the plain port 4420 (the control); subsystem 1 only behind port 4421,
/// which requires TLS 1.3.
fn tls_target() -> Target {
    let mut t = target_with(2, 0);
    t.ports[0].subsystems.retain(|n| *n == nqn(0));
    let mut p2 = Port::tcp(2, TRADDR, TLS_PORT);
    p2.tls = true;
    p2.subsystems = vec![nqn(1)];
    t.ports.push(p2);
    t
}

fn tls(ctx: &mut Ctx) -> Result<(), String> {
    let _conn = ConnConfFile::write(&format!(
        "# written by the vm tier\n\
         [Subsystem]\nnqn = {}\ncontroller = transport=tcp;traddr={TRADDR};trsvcid={PORT}\n\n\
         [Subsystem]\nnqn = {}\ntls = yes\ntls-key = {PSK}\n\
         controller = transport=tcp;traddr={TRADDR};trsvcid={TLS_PORT}\n",
        nqn(0),
        nqn(1)
    ))?;
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stacd.conf"), "[Global]\nbackend=kernel\n")
        .map_err(|e| e.to_string())?;
    let bus = staslib::testing::PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let r = run(ctx, &bus);
    log_tails(ctx, &["stacd-1"]);
    if let Ok(d) = ctx.sh("dmesg | grep -i -e tls -e handshake | tail -5") {
        for l in d.lines() {
            ctx.log(format!("dmesg: {l}"));
        }
    }
    r
}

/// libnvme's answers to harness requests (one line each).
fn libnvme(requests: &[String]) -> Result<Vec<String>, String> {
    let script = repo().join("tests/scripts/libnvme-psk-vectors.sh");
    let mut child = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let text = requests.join("\n") + "\n";
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure(out.status.success(), || {
        format!(
            "libnvme harness: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(stdout.lines().map(str::to_owned).collect())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The value of `name=` in an option string.
fn token<'a>(args: &'a str, name: &str) -> Option<&'a str> {
    args.split(',')
        .find_map(|t| t.strip_prefix(name)?.strip_prefix('='))
}

/// The option strings of the writes that name `nqn`, from strace's quoted first argument.
fn writes_for(trace: &Path, nqn: &str) -> Vec<String> {
    fabrics_writes(trace)
        .iter()
        .filter_map(|l| {
            let start = l.find("\"nqn=")? + 1;
            let end = start + l[start..].find('"')?;
            Some(l[start..end].to_owned())
        })
        .filter(|a| token(a, "nqn") == Some(nqn))
        .collect()
}

/// Joins (creating it) the session keyring `name`; children inherit it. stacd links `.nvme`
/// into its session keyring, as libnvme does; sharing that session is what lets `keyctl` in
/// this scenario possess the keys stacd adds (their owner-only permissions are libnvme's).
fn join_session_keyring(name: &str) -> Result<i64, String> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING) reads one NUL-terminated string that lives
    // across the call.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if r < 0 {
        return Err(format!(
            "join session keyring: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(r)
}

fn run(ctx: &mut Ctx, bus: &staslib::testing::PrivateBus) -> Result<(), String> {
    let session = join_session_keyring("stas-vm-tls")?;
    ctx.log(format!("session keyring stas-vm-tls: {session:#010x}"));
    let trace = Path::new(WORK).join("stacd.strace");
    let t0 = Instant::now();
    let stacd = Daemon::start_stacd_with(bus, 1, &[], Some(&trace))?;
    let (plain, secured) = (nqn(0), nqn(1));
    // The control: the plain subsystem connects.
    wait_for(Duration::from_secs(30), || {
        kernel_io_state()
            .get(&plain)
            .is_some_and(|(_, s)| s == "live")
            .then_some(())
    })
    .ok_or_else(|| format!("plain IOC not connected: {:?}", kernel_io_state()))?;

    // The TLS one: two attempts (0 s, ~3 s), then the 60 s timer, never connected.
    let attempts = |bus: &staslib::testing::PrivateBus| {
        stac_detailed(bus)?
            .into_iter()
            .find(|d| d["subsysnqn"] == secured.as_str())
            .map(|d| {
                (
                    d["connect attempts"].as_str().unwrap_or("").to_owned(),
                    d["retry connect timer"].as_str().unwrap_or("").to_owned(),
                )
            })
    };
    let seen = wait_for(Duration::from_secs(20), || {
        attempts(bus).filter(|(a, timer)| a == "2" && timer.contains("60.0s"))
    })
    .ok_or_else(|| {
        format!(
            "TLS IOC: not on the 3 s / 60 s schedule: {:?}",
            attempts(bus)
        )
    })?;
    ctx.log(format!(
        "TLS IOC: attempts {}, timer {:?} ({} ms after start)",
        seen.0,
        seen.1,
        t0.elapsed().as_millis()
    ));
    ensure(!kernel_io_state().contains_key(&secured), || {
        "the TLS IOC is connected without a handshake agent?".into()
    })?;
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&secured) && l.contains("Failed to connect"))
        .collect();
    // stacd logs a repeated failure once (as upstream); D-Bus counts the attempts.
    ensure(!failures.is_empty(), || {
        "no error line for the TLS IOC".into()
    })?;
    ensure(failures.iter().all(|l| l.contains("TLS")), || {
        format!("the error does not name TLS: {}", failures[0])
    })?;
    ctx.log(format!("error: {}", failures[0]));
    ensure(!log.contains(&PSK[16..40]), || {
        "the PSK reached the log".into()
    })?;

    // What was written: nvme-cli 3.0's tokens, in its order, with fresh serials each time.
    let writes = writes_for(&trace, &secured);
    ensure(writes.len() == 2, || {
        format!("want 2 writes for {secured}: {writes:#?}")
    })?;
    let last = &writes[1];
    ctx.log(format!("written: {last}"));
    let hostnqn = token(last, "hostnqn").ok_or("no hostnqn= written")?;
    let hostid = token(last, "hostid").ok_or("no hostid= written")?;
    let keyring = token(last, "keyring").ok_or("no keyring= written")?;
    let tls_key = token(last, "tls_key").ok_or("no tls_key= written")?;
    let want = format!(
        "nqn={secured},transport=tcp,traddr={TRADDR},trsvcid={TLS_PORT},hostnqn={hostnqn},hostid={hostid},ctrl_loss_tmo=600,keyring={keyring},tls_key={tls_key},tls"
    );
    ensure(*last == want, || {
        format!("option string\n  got  {last}\n  want {want}")
    })?;
    let first_key = token(&writes[0], "tls_key").unwrap_or_default();
    ensure(first_key != tls_key, || {
        "the key was not imported again on the retry (libnvme re-adds it per connect)".into()
    })?;

    // The keyring, seen by keyutils: `.nvme`'s serial is the keyring= written.
    let proc_keys = std::fs::read_to_string("/proc/keys").map_err(|e| e.to_string())?;
    let nvme_ring = proc_keys
        .lines()
        .find(|l| l.split_whitespace().nth(7) == Some("keyring") && l.contains(" .nvme:"))
        .and_then(|l| l.split_whitespace().next())
        .ok_or("no .nvme keyring in /proc/keys")?;
    ensure(format!("0x{nvme_ring}") == keyring, || {
        format!(".nvme is {nvme_ring}, keyring={keyring} was written")
    })?;

    // libnvme's identity and PSK for this host, subsystem and key.
    let import = libnvme(&[format!("import\t{PSK}")])?;
    let f: Vec<&str> = import[0].split('\t').collect();
    let ["ok", version, hash, key] = f.as_slice() else {
        return Err(format!("libnvme import: {}", import[0]));
    };
    let derived = libnvme(&[format!(
        "derive\t{hostnqn}\t{secured}\t{version}\t{hash}\t{key}\t0"
    )])?;
    let f: Vec<&str> = derived[0].split('\t').collect();
    let ["ok", identity, psk] = f.as_slice() else {
        return Err(format!("libnvme derive: {}", derived[0]));
    };
    let described = ctx.sh(&format!("keyctl describe {tls_key}"))?;
    ctx.log(format!("keyctl describe {tls_key}: {}", described.trim()));
    ensure(
        described.contains(" psk: ") && described.trim().ends_with(&format!(": {identity}")),
        || format!("key {tls_key} is not a psk named {identity:?}: {described}"),
    )?;
    let found = ctx.sh(&format!("keyctl search %:.nvme psk '{identity}'"))?;
    let serial: i64 = found
        .trim()
        .parse()
        .map_err(|_| format!("keyctl search: {found}"))?;
    ensure(format!("{serial:#010x}") == tls_key, || {
        format!("keyctl finds {identity:?} as {serial:#010x}, tls_key={tls_key} was written")
    })?;
    let payload = Command::new("keyctl")
        .args(["pipe", &serial.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    ensure(
        payload.status.success() && hex(&payload.stdout) == *psk,
        || "the key's bytes are not libnvme's TLS PSK".into(),
    )?;
    ctx.log(format!(
        "keyctl: psk {identity:?} = {serial:#010x} in .nvme {keyring}, 32 bytes equal to libnvme's derivation"
    ));
    stacd.stop()
}
