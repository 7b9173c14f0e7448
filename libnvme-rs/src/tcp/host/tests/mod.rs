//! Tests against scripted in-test targets: a simulator over real 127.0.0.1 sockets, raw
//! PDU peers for negotiation faults, and `tokio::io::duplex` with paused time where no
//! socket is involved.

mod admin_tests;
mod discovery_tests;
mod io_tests;
mod queue_tests;
mod target;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use super::{ControllerOptions, HostId};
use crate::spec::disclog::{DiscoveryLog, DiscoveryLogEntry, adrfam, subtype, trtype};

pub(crate) const HOSTNQN: &str =
    "nqn.2014-08.org.nvmexpress:uuid:5b1b6a3e-8f6e-4d43-a3b3-3bd4a3f2f7d1";
pub(crate) const HOSTID: [u8; 16] = [
    0x5b, 0x1b, 0x6a, 0x3e, 0x8f, 0x6e, 0x4d, 0x43, 0xa3, 0xb3, 0x3b, 0xd4, 0xa3, 0xf2, 0xf7, 0xd1,
];

pub(crate) fn host() -> HostId {
    HostId {
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID,
    }
}

/// Discovery options with short timeouts for tests.
pub(crate) fn disc_opts(addr: SocketAddr) -> ControllerOptions {
    let mut o = ControllerOptions::discovery(addr, host());
    o.transport.connect_timeout = Duration::from_secs(2);
    o.transport.command_timeout = Duration::from_secs(2);
    o.kato = Duration::from_secs(10);
    o
}

/// Awaits `fut`, failing the test after 10 s instead of hanging.
pub(crate) async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("test step timed out")
}

pub(crate) fn entry(i: usize) -> DiscoveryLogEntry {
    DiscoveryLogEntry {
        trtype: trtype::TCP,
        adrfam: adrfam::IPV4,
        subtype: subtype::NVME,
        portid: 1,
        cntlid: 0xffff,
        asqsz: 32,
        trsvcid: "4420".into(),
        subnqn: format!("nqn.2024-01.io.test:sub{i}"),
        traddr: format!("192.0.2.{}", i % 250 + 1),
        ..DiscoveryLogEntry::default()
    }
}

/// A discovery log page image with `n` entries.
pub(crate) fn disclog(n: usize, genctr: u64) -> Vec<u8> {
    DiscoveryLog {
        genctr,
        numrec: n as u64,
        recfmt: 0,
        entries: (0..n).map(entry).collect(),
    }
    .encode()
    .expect("log encodes")
}

/// Alive tasks of the current runtime, once they stop changing (tasks end asynchronously).
pub(crate) async fn settled_alive_tasks(expected: usize) -> usize {
    let metrics = tokio::runtime::Handle::current().metrics();
    for _ in 0..200 {
        if metrics.num_alive_tasks() == expected {
            return expected;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    metrics.num_alive_tasks()
}

/// Every future the host exposes must be `Send` (checked at compile time, never run).
#[allow(dead_code)]
fn futures_are_send(
    opts: ControllerOptions,
    mut admin: super::AdminController,
    session: &mut super::DiscoverySession,
    io: &super::IoController,
    q: &super::QueueHandle,
    ns: &super::Namespace,
    dim_host: &crate::admin::dim::DimHostEntry,
) {
    use super::{AdminController, DiscoverySession, IoController, IoOptions, Transfer};
    use crate::admin::discovery::{DiscoveryLogOptions, read_discovery_log};

    fn send<T: Send>(_: T) {}
    let log_opts = DiscoveryLogOptions::default();
    send(AdminController::connect(opts.clone()));
    send(read_discovery_log(&mut admin, &log_opts));
    send(admin.set_features(0, 0));
    send(admin.closed());
    send(DiscoverySession::connect(opts.clone()));
    send(session.log_page(&log_opts));
    send(session.register(dim_host));
    send(session.reconnect());
    send(IoController::connect(opts, IoOptions::default()));
    send(io.read(ns, 0, 1));
    send(io.write(ns, 0, bytes::Bytes::new()));
    send(q.submit(crate::tcp::Sqe::default(), Transfer::None, None));
    send(admin.close());
}
