//! The controller interface's contract (libnvme-rs `controller`): the same cases, through the
//! public API only, for every backend and target. `tests/controller_contract.rs` runs them on
//! the native backend against nvme-sim; the vm tier runs them on the kernel and the native
//! backends against Linux nvmet (`contract_scenarios`).
//!
//! Where the backends differ by design the case says so: after an outage a native
//! association reports [`DcEvent::ConnectionLost`] and the caller reconnects, while the
//! kernel keeps its controller and reconnects by itself ([`DcEvent::Resync`]); only the kernel
//! has devices, adoption and `delete_controller`.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use libnvme_rs::admin::dim::DimHostEntry;
use libnvme_rs::controller::{Backend, ConnectParams, DcEvent, DiscoveryController, IoController};
use libnvme_rs::spec::disclog::{DiscoveryLog, subtype};
use libnvme_rs::trid::{Transport, TransportId};

use crate::vm::guest::ensure;

/// What a target must offer the contract.
pub trait Rig {
    /// The discovery controller (with the host NQN the backend connects with).
    fn dc(&self) -> TransportId;
    /// An NVM subsystem with a namespace (with the host NQN).
    fn ioc(&self) -> TransportId;
    /// The NVM subsystem NQNs the discovery controller lists now.
    fn listed(&self) -> Result<BTreeSet<String>, String>;
    /// Changes what the discovery controller lists (a Discovery Log Page Change).
    fn change_log(&self) -> Result<(), String>;
    /// Makes the target unreachable and cuts every connection to it.
    fn take_down(&self) -> Result<(), String>;
    /// Makes the target reachable again.
    fn bring_back(&self) -> Result<(), String>;
    /// Bound on an event reaching the host (a cut connection, a change notice).
    fn event_timeout(&self) -> Duration;
    /// What the host registers with DIM.
    fn dim_host(&self) -> DimHostEntry;
    /// I/O queue connections the target holds for `subnqn`, where it can tell.
    fn io_queues_of(&self, _subnqn: &str) -> Option<usize> {
        None
    }
}

/// The case's own log: what was seen and how long it took (vm tier evidence).
pub type Log = Vec<String>;

async fn within<F: Future>(limit: Duration, what: &str, f: F) -> Result<F::Output, String> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| format!("{what}: not within {limit:?}"))
}

/// The NVM subsystem NQNs a discovery log page lists.
pub fn nvm_nqns(log: &DiscoveryLog) -> BTreeSet<String> {
    log.entries
        .iter()
        .filter(|e| e.subtype == subtype::NVME)
        .map(|e| e.subnqn.clone())
        .collect()
}

fn is_kernel(b: &Backend) -> bool {
    matches!(b, Backend::Kernel(_))
}

/// Asks the kernel to remove `device`, as `nvme disconnect` does.
fn delete_kernel_controller(device: &str) -> Result<(), String> {
    std::fs::write(format!("/sys/class/nvme/{device}/delete_controller"), "1")
        .map_err(|e| format!("deleting {device}: {e}"))
}

fn device_exists(device: &str) -> bool {
    std::path::Path::new("/sys/class/nvme")
        .join(device)
        .exists()
}

/// The next event `skip` does not accept, logging the skipped ones: taking a target down may
/// announce its subsystems' removal before the connection goes, and the kernel may say
/// "connected" more than once after a reconnect.
async fn next_event_except(
    dc: &mut DiscoveryController,
    log: &mut Log,
    skip: impl Fn(&DcEvent) -> bool,
) -> DcEvent {
    loop {
        let ev = dc.next_event().await;
        if !skip(&ev) {
            return ev;
        }
        log.push(format!("{ev:?} (skipped)"));
    }
}

fn is_change(ev: &DcEvent) -> bool {
    *ev == DcEvent::LogPageChanged
}

async fn log_matches(
    dc: &mut DiscoveryController,
    rig: &impl Rig,
    what: &str,
) -> Result<(), String> {
    let page = dc
        .log_page(Default::default())
        .await
        .map_err(|e| format!("{what}: {}", e.chain()))?;
    let want = rig.listed()?;
    ensure(nvm_nqns(&page) == want, || {
        format!(
            "{what}: log page lists {:?}, the target {want:?}",
            nvm_nqns(&page)
        )
    })
}

/// Discovery controller: connect, Identify, keep-alive, log page, change notice, DIM, an
/// outage (and, on the kernel, removal), disconnect, and errors that name the controller.
pub async fn discovery_controller(
    backend: &Backend,
    rig: &impl Rig,
    log: &mut Log,
) -> Result<(), String> {
    let params = ConnectParams {
        // The kernel's reconnect after the outage, at its quickest.
        reconnect_delay: Some(Duration::from_secs(1)),
        ..ConnectParams::default()
    };
    let tid = rig.dc();
    let mut dc = DiscoveryController::connect(backend, &tid, &params)
        .await
        .map_err(|e| e.chain())?;
    ensure(dc.tid() == &tid, || format!("tid {} != {tid}", dc.tid()))?;
    ensure(dc.identify().is_discovery_controller(), || {
        "Identify: not a discovery controller".into()
    })?;
    let ka = dc.keep_alive_interval();
    ensure(
        ka.is_some_and(|k| !k.is_zero() && k <= Duration::from_secs(30)),
        || format!("keep-alive interval {ka:?}"),
    )?;
    ensure(dc.device().is_some() == is_kernel(backend), || {
        format!("device {:?} on the {} backend", dc.device(), backend.name())
    })?;
    log.push(format!(
        "{}: connected {} (device {:?}, keep-alive every {ka:?})",
        backend.name(),
        dc.tid(),
        dc.device()
    ));
    log_matches(&mut dc, rig, "first log page").await?;

    // A change → LogPageChanged → the new page.
    let t = Instant::now();
    rig.change_log()?;
    let ev = within(rig.event_timeout(), "change notice", dc.next_event()).await?;
    ensure(ev == DcEvent::LogPageChanged, || {
        format!("after a change: {ev:?}")
    })?;
    log.push(format!("change notice after {:?}", t.elapsed()));
    log_matches(&mut dc, rig, "log page after the change").await?;

    // DIM: either registered or "not supported"; never an error on a working DC.
    let outcome = dc.register(&rig.dim_host()).await.map_err(|e| e.chain())?;
    log.push(format!("DIM register: {outcome:?}"));

    // An outage.
    rig.take_down()?;
    if is_kernel(backend) {
        // The kernel keeps the controller and reconnects by itself once it can.
        std::thread::sleep(Duration::from_millis(500));
        rig.bring_back()?;
        let t = Instant::now();
        let limit = rig.event_timeout() + Duration::from_secs(12);
        let ev = within(
            limit,
            "kernel reconnect",
            next_event_except(&mut dc, log, is_change),
        )
        .await?;
        ensure(ev == DcEvent::Resync, || format!("after an outage: {ev:?}"))?;
        log.push(format!(
            "kernel reconnected: Resync after {:?}",
            t.elapsed()
        ));
    } else {
        let t = Instant::now();
        let ev = within(
            rig.event_timeout(),
            "connection lost",
            next_event_except(&mut dc, log, is_change),
        )
        .await?;
        ensure(
            matches!(ev, DcEvent::ConnectionLost(ref why) if !why.is_empty()),
            || format!("after an outage: {ev:?}"),
        )?;
        log.push(format!("{ev:?} after {:?}", t.elapsed()));
        let err = dc
            .reconnect()
            .await
            .err()
            .ok_or("reconnect succeeded while the target is down")?;
        let text = err.chain();
        ensure(
            text.starts_with(&format!("{tid}: connect failed: ")),
            || format!("reconnect error: {text}"),
        )?;
        rig.bring_back()?;
        dc.reconnect().await.map_err(|e| e.chain())?;
    }
    log_matches(&mut dc, rig, "log page after the outage").await?;

    // The kernel can lose the controller altogether (`nvme disconnect`, ctrl-loss-tmo).
    if let Some(device) = dc.device().map(str::to_owned) {
        let t = Instant::now();
        delete_kernel_controller(&device)?;
        let not_lost = |e: &DcEvent| matches!(e, DcEvent::LogPageChanged | DcEvent::Resync);
        let ev = within(
            rig.event_timeout(),
            "removal",
            next_event_except(&mut dc, log, not_lost),
        )
        .await?;
        ensure(matches!(ev, DcEvent::ConnectionLost(_)), || {
            format!("after delete_controller: {ev:?}")
        })?;
        log.push(format!("{ev:?} after {:?}", t.elapsed()));
        dc.reconnect().await.map_err(|e| e.chain())?;
        log.push(format!("reconnected as {:?}", dc.device()));
        log_matches(&mut dc, rig, "log page after the removal").await?;
    }

    let device = dc.device().map(str::to_owned);
    dc.disconnect(false).await.map_err(|e| e.chain())?;
    if let Some(device) = device {
        ensure(!device_exists(&device), || format!("{device} still exists"))?;
    }

    // Errors name the controller and the operation.
    let dead = TransportId::new_discovery(Transport::Tcp, "127.0.0.1", "1", "")
        .with_host_nqn(tid.host_nqn());
    let err = DiscoveryController::connect(backend, &dead, &params)
        .await
        .err()
        .ok_or("connect to a closed port succeeded")?;
    let text = err.chain();
    ensure(
        text.starts_with(
            "(tcp, 127.0.0.1, 1, nqn.2014-08.org.nvmexpress.discovery): connect failed: ",
        ),
        || format!("dead port: {text}"),
    )?;
    log.push(format!("dead port: {text}"));
    Ok(())
}

/// I/O controller: connect, state, device, adoption (kernel), the controller going away,
/// and a clean disconnect.
pub async fn io_controller(backend: &Backend, rig: &impl Rig, log: &mut Log) -> Result<(), String> {
    let tid = rig.ioc();
    let params = ConnectParams {
        nr_io_queues: Some(2),
        ..Default::default()
    };
    let mut ioc = IoController::connect(backend, &tid, &params)
        .await
        .map_err(|e| e.chain())?;
    ensure(ioc.state().as_deref() == Some("live"), || {
        format!("state {:?}", ioc.state())
    })?;
    ensure(!ioc.adopted(), || "a fresh connect says adopted".into())?;
    ensure(ioc.device().is_some() == is_kernel(backend), || {
        format!(
            "device {:?} on the {} backend",
            ioc.device(),
            backend.name()
        )
    })?;
    log.push(format!(
        "{}: {tid} live, device {:?}",
        backend.name(),
        ioc.device()
    ));
    let queues = rig.io_queues_of(tid.subsysnqn());
    ensure(queues.is_none_or(|n| n == 2), || {
        format!("the target holds {queues:?} I/O queues, 2 asked for")
    })?;

    // The kernel adopts what it already has, and leaves it when asked to keep it.
    if let Some(device) = ioc.device().map(str::to_owned) {
        let again = IoController::connect(backend, &tid, &params)
            .await
            .map_err(|e| e.chain())?;
        ensure(again.adopted() && again.device() == Some(&device), || {
            format!(
                "second connect: adopted {} device {:?}",
                again.adopted(),
                again.device()
            )
        })?;
        again.disconnect(true).await.map_err(|e| e.chain())?;
        ensure(device_exists(&device), || {
            format!("{device} gone after a kept disconnect")
        })?;
    }

    // The controller going away is reported.
    let t = Instant::now();
    let taken_down = match ioc.device().map(str::to_owned) {
        Some(device) => {
            delete_kernel_controller(&device)?;
            false
        }
        None => {
            rig.take_down()?;
            true
        }
    };
    let why = within(rig.event_timeout(), "removal", ioc.removed()).await;
    if taken_down {
        rig.bring_back()?;
    }
    let why = why?;
    // The kernel's own removal event, not a side effect of the second handle going away.
    let expected = if is_kernel(backend) {
        "\"remove\" event"
    } else {
        "closed"
    };
    ensure(why.contains(expected), || format!("removal reason {why:?}"))?;
    let state = ioc.state();
    let want = if is_kernel(backend) {
        None
    } else {
        Some("dead")
    };
    ensure(state.as_deref() == want, || {
        format!("state after removal {state:?}")
    })?;
    log.push(format!("removed after {:?}: {why}", t.elapsed()));
    ioc.disconnect(false).await.map_err(|e| e.chain())?;

    // A clean disconnect leaves nothing behind.
    let ioc = IoController::connect(backend, &tid, &params)
        .await
        .map_err(|e| e.chain())?;
    let device = ioc.device().map(str::to_owned);
    ioc.disconnect(false).await.map_err(|e| e.chain())?;
    if let Some(device) = device {
        ensure(!device_exists(&device), || format!("{device} still exists"))?;
    }
    if rig.io_queues_of(tid.subsysnqn()).is_some() {
        within(
            Duration::from_secs(1),
            "the target sees the disconnect",
            async {
                while rig.io_queues_of(tid.subsysnqn()) != Some(0) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        )
        .await?;
    }
    Ok(())
}
