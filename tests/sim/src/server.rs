//! Listener, accept loop and the control handle.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
use libnvme_rs::spec::disclog::{
    DiscoveryLog, DiscoveryLogEntry, EncodeError, TSAS_SIZE, adrfam, eflags, subtype, treq, trtype,
};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{MAX_TRANSFER_CAP, SimConfig, SubsystemConfig};
use crate::conn::{Conn, TaskGuard};
use crate::fault::{FaultId, FaultRule};
use crate::state::{
    ConnEntry, ConnectionInfo, ControllerInfo, Counters, DimRecord, DiscoveryState, Shared, State,
    Subsystem, TermReqRecord,
};

/// How long shutdown waits for connection tasks to notice before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Why the simulator could not start or a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("discovery log cannot be encoded")]
    Log(#[from] EncodeError),
    #[error("subsystem {0} already exists")]
    SubsystemExists(String),
}

/// A TCP discovery-log entry pointing at `addr` (portid 1, dynamic CNTLID, ASQSZ 32,
/// TREQ "not specified" with SQ flow control disable supported).
pub fn tcp_entry(addr: SocketAddr, subtype_value: u8, nqn: &str) -> DiscoveryLogEntry {
    DiscoveryLogEntry {
        trtype: trtype::TCP,
        adrfam: if addr.is_ipv4() {
            adrfam::IPV4
        } else {
            adrfam::IPV6
        },
        subtype: subtype_value,
        treq: treq::NOT_SPECIFIED | treq::DISABLE_SQFLOW,
        portid: 1,
        cntlid: 0xffff,
        asqsz: 32,
        eflags: if subtype_value == subtype::NVME {
            0
        } else {
            eflags::EPCSD
        },
        trsvcid: addr.port().to_string(),
        subnqn: nqn.to_string(),
        traddr: addr.ip().to_string(),
        tsas: [0; TSAS_SIZE],
    }
}

/// A referral (subtype 1) to the discovery controller at `addr` (well-known NQN, as nvmet).
pub fn referral_entry(addr: SocketAddr) -> DiscoveryLogEntry {
    tcp_entry(addr, subtype::REFERRAL, WELL_KNOWN_DISC_NQN)
}

/// Entry point: `Simulator::start(config)`.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds the listener and starts accepting connections.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        validate(&config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let mut subsystems = BTreeMap::new();
        for s in &config.subsystems {
            if subsystems
                .insert(s.nqn.clone(), Arc::new(Subsystem::new(s.clone())))
                .is_some()
            {
                return Err(SimError::SubsystemExists(s.nqn.clone()));
            }
        }
        let mut entries = config.discovery.log.clone();
        if config.discovery.current_discovery_entry {
            let nqn = config
                .discovery
                .unique_nqn
                .as_deref()
                .unwrap_or(WELL_KNOWN_DISC_NQN);
            entries.insert(0, tcp_entry(addr, subtype::CURRENT_DISCOVERY, nqn));
        }
        if config.discovery.advertise_subsystems {
            for s in &config.subsystems {
                entries.push(tcp_entry(addr, subtype::NVME, &s.nqn));
            }
        }
        let disc = DiscoveryState::new(entries, config.discovery.initial_genctr)?;
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            addr,
            state: Mutex::new(State::new(disc, subsystems)),
            shutdown,
            live_tasks: AtomicUsize::new(0),
        });
        // Counted before spawning so `live_tasks` never reads 0 while the loop starts.
        let guard = TaskGuard::new(&shared, None);
        let task = tokio::spawn(accept_loop(shared.clone(), listener, guard));
        Ok(SimHandle {
            shared,
            task: Some(task),
        })
    }
}

fn validate(c: &SimConfig) -> Result<(), SimError> {
    let bad = |m: &str| Err(SimError::Config(m.to_string()));
    if c.ic.maxh2cdata < 4096 || !c.ic.maxh2cdata.is_multiple_of(4) {
        return bad("maxh2cdata must be >= 4096 and a multiple of 4");
    }
    if c.ic.maxh2cdata > MAX_TRANSFER_CAP {
        return bad("maxh2cdata above the transfer cap");
    }
    if c.ic.cpda > 31 {
        return bad("cpda must be <= 31");
    }
    if c.mdts > 11 {
        return bad("mdts above 11 (8 MiB) is not supported");
    }
    if c.mqes == 0 {
        return bad("mqes must be >= 1");
    }
    if c.c2h_chunk == 0 || c.r2t_chunk == Some(0) {
        return bad("chunk sizes must be non-zero");
    }
    for s in &c.subsystems {
        validate_subsystem(s)?;
    }
    Ok(())
}

fn validate_subsystem(s: &SubsystemConfig) -> Result<(), SimError> {
    let bad = |m: String| Err(SimError::Config(m));
    if s.nqn.is_empty() || s.nqn.len() > 223 || s.nqn == WELL_KNOWN_DISC_NQN {
        return bad(format!("invalid subsystem NQN {:?}", s.nqn));
    }
    if s.inline_data_size > MAX_TRANSFER_CAP {
        return bad(format!("{}: inline_data_size too large", s.nqn));
    }
    let mut seen = std::collections::BTreeSet::new();
    for n in &s.namespaces {
        let sized = n.blocks.checked_mul(n.block_size()).is_some();
        if n.nsid == 0
            || n.nsid >= 0xffff_fffe
            || !(9..=16).contains(&n.lbads)
            || !sized
            || !seen.insert(n.nsid)
        {
            return bad(format!("{}: invalid namespace {}", s.nqn, n.nsid));
        }
    }
    Ok(())
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, guard: TaskGuard) {
    let _guard = guard;
    let mut shutdown = shared.shutdown.subscribe();
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = crate::conn::shut(&mut shutdown) => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(Notify::new());
                    let wake = Arc::new(Notify::new());
                    let id = {
                        let mut st = shared.lock();
                        let id = st.next_conn_id;
                        st.next_conn_id += 1;
                        st.counters.connections_accepted += 1;
                        if st.faults.on_accept(id) {
                            st.counters.connections_reset += 1;
                            st.counters.faults_fired += 1;
                            drop(st);
                            // RST instead of FIN.
                            let _ = stream.set_zero_linger();
                            drop(stream);
                            continue;
                        }
                        st.counters.connections_active += 1;
                        st.conns.insert(id, ConnEntry {
                            info: ConnectionInfo {
                                id,
                                peer,
                                qid: None,
                                cntlid: None,
                                hostnqn: None,
                                subnqn: None,
                                hdgst: false,
                                ddgst: false,
                            },
                            kill: kill.clone(),
                            wake: wake.clone(),
                        });
                        id
                    };
                    let guard = TaskGuard::new(&shared, Some(id));
                    let mut conn = Conn::new(id, peer, shared.clone(), stream, kill, wake);
                    tasks.spawn(async move {
                        let _guard = guard;
                        conn.run().await;
                    });
                }
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
    drop(listener);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// A running simulator: its address, control methods and [`SimHandle::shutdown`].
/// Dropping the handle also stops the simulator, without waiting.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("addr", &self.addr).finish()
    }
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The current discovery log.
    pub fn discovery_log(&self) -> DiscoveryLog {
        self.shared.lock().disc.snapshot()
    }

    /// Replaces the discovery log: GENCTR is bumped and Discovery Log Page Change AENs are
    /// raised on the discovery controllers that enabled and did not mask them.
    pub fn set_discovery_log(&self, entries: Vec<DiscoveryLogEntry>) -> Result<(), SimError> {
        Ok(self.shared.lock().set_discovery_log(Some(entries))?)
    }

    /// Edits the discovery log in place (same effects as [`Self::set_discovery_log`]).
    pub fn update_discovery_log(
        &self,
        f: impl FnOnce(&mut Vec<DiscoveryLogEntry>),
    ) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        let mut entries = st.disc.entries.clone();
        f(&mut entries);
        Ok(st.set_discovery_log(Some(entries))?)
    }

    /// Bumps GENCTR without changing the entries (and raises the change AEN).
    pub fn bump_genctr(&self) {
        // Re-encoding unchanged entries cannot fail.
        let _ = self.shared.lock().set_discovery_log(None);
    }

    /// A subtype-2 entry for subsystem `nqn` at this simulator's address.
    pub fn subsystem_entry(&self, nqn: &str) -> DiscoveryLogEntry {
        tcp_entry(self.addr(), subtype::NVME, nqn)
    }

    /// Adds a subsystem; with `advertise` its entry is appended to the discovery log.
    pub fn add_subsystem(&self, cfg: SubsystemConfig, advertise: bool) -> Result<(), SimError> {
        validate_subsystem(&cfg)?;
        let mut st = self.shared.lock();
        if st.subsystems.contains_key(&cfg.nqn) {
            return Err(SimError::SubsystemExists(cfg.nqn));
        }
        let entry = self.subsystem_entry(&cfg.nqn);
        st.subsystems
            .insert(cfg.nqn.clone(), Arc::new(Subsystem::new(cfg)));
        if advertise {
            let mut entries = st.disc.entries.clone();
            entries.push(entry);
            st.set_discovery_log(Some(entries))?;
        }
        Ok(())
    }

    /// Removes a subsystem: its controllers are disconnected and its log entries removed
    /// (bumping GENCTR if there were any). False if it did not exist.
    pub fn remove_subsystem(&self, nqn: &str) -> bool {
        let mut st = self.shared.lock();
        if st.subsystems.remove(nqn).is_none() {
            return false;
        }
        let victims: Vec<u16> = st
            .controllers
            .values()
            .filter(|c| c.subsystem.as_ref().is_some_and(|s| s.config.nqn == nqn))
            .map(|c| c.cntlid)
            .collect();
        for id in victims {
            st.kill_controller(id);
        }
        let before = st.disc.entries.len();
        let entries: Vec<_> = st
            .disc
            .entries
            .iter()
            .filter(|e| !(e.subtype == subtype::NVME && e.subnqn == nqn))
            .cloned()
            .collect();
        if entries.len() != before {
            let _ = st.set_discovery_log(Some(entries));
        }
        true
    }

    /// NQNs of the subsystems.
    pub fn subsystems(&self) -> Vec<String> {
        self.shared.lock().subsystems.keys().cloned().collect()
    }

    /// Current TP8010 registrations, keyed by entity identifier (host NQN).
    pub fn registrations(&self) -> Vec<DimRecord> {
        self.shared.lock().registrations.values().cloned().collect()
    }

    /// Every DIM command received, oldest first (the last 1024).
    pub fn dim_history(&self) -> Vec<DimRecord> {
        self.shared.lock().dim_history.iter().cloned().collect()
    }

    /// H2CTermReqs received from hosts (the last 1024).
    pub fn term_reqs(&self) -> Vec<TermReqRecord> {
        self.shared.lock().term_reqs.iter().cloned().collect()
    }

    pub fn counters(&self) -> Counters {
        self.shared.lock().counters.clone()
    }

    /// Open connections.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let st = self.shared.lock();
        st.conns.values().map(|c| c.info.clone()).collect()
    }

    /// Live controllers.
    pub fn controllers(&self) -> Vec<ControllerInfo> {
        let st = self.shared.lock();
        st.controllers.values().map(|c| c.info()).collect()
    }

    /// The id the next accepted connection will get (for per-connection faults).
    pub fn next_connection_id(&self) -> u64 {
        self.shared.lock().next_conn_id
    }

    /// Installs a fault rule.
    pub fn inject(&self, rule: FaultRule) -> FaultId {
        self.shared.lock().faults.insert(rule)
    }

    /// Removes a fault rule; false if it had expired or never existed.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        self.shared.lock().faults.remove(id)
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Installed rules with their remaining uses.
    pub fn faults(&self) -> Vec<(FaultId, FaultRule)> {
        self.shared.lock().faults.list()
    }

    /// Closes one connection; false if unknown.
    pub fn disconnect(&self, id: u64) -> bool {
        let st = self.shared.lock();
        st.conns.get(&id).map(|c| c.kill.notify_one()).is_some()
    }

    /// Closes every connection.
    pub fn disconnect_all(&self) {
        let st = self.shared.lock();
        for c in st.conns.values() {
            c.kill.notify_one();
        }
    }

    /// Reads namespace data directly (for checking what a host wrote).
    pub fn read_namespace(
        &self,
        subnqn: &str,
        nsid: u32,
        offset: u64,
        len: usize,
    ) -> Option<Vec<u8>> {
        let sub = self.shared.lock().subsystems.get(subnqn)?.clone();
        let ns = sub.namespaces.get(&nsid)?;
        let end = offset.checked_add(len as u64)?;
        (end <= ns.size_bytes()).then(|| ns.read(offset, len))
    }

    /// Writes namespace data directly (for preparing what a host reads).
    pub fn write_namespace(&self, subnqn: &str, nsid: u32, offset: u64, data: &[u8]) -> bool {
        let Some(sub) = self.shared.lock().subsystems.get(subnqn).cloned() else {
            return false;
        };
        let Some(ns) = sub.namespaces.get(&nsid) else {
            return false;
        };
        let fits = offset
            .checked_add(data.len() as u64)
            .is_some_and(|end| end <= ns.size_bytes());
        if fits {
            ns.write(offset, Some(data), data.len());
        }
        fits
    }

    /// Tasks of this simulator still alive (accept loop + connections); 0 after shutdown.
    pub fn live_tasks(&self) -> usize {
        self.shared.live_tasks.load(Ordering::SeqCst)
    }

    /// Stops accepting, closes every connection and waits for all tasks to end.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}
