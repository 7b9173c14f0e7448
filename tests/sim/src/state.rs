//! State shared by the connection tasks and the control handle. Guarded by one std mutex
//! that is never held across an `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use libnvme_rs::admin::dim::DimTask;
use libnvme_rs::spec::disclog::{DiscoveryLog, DiscoveryLogEntry, EncodeError};
use tokio::sync::{Notify, watch};

use crate::config::{NamespaceConfig, SimConfig, SubsystemConfig};
use crate::fault::{CmdKey, FaultSet};

/// AEN bit of Discovery Log Page Change notices (Set Features AEC / OAES bit 31).
pub(crate) const AEN_BIT_DISC_CHANGE: u32 = 31;
/// AER completion DW0 for a Discovery Log Page Change notice.
pub const AEN_DISC_LOG_CHANGE: u32 = libnvme_rs::spec::AEN_DISCOVERY_LOG_CHANGE;
/// History entries kept for DIM commands and received TermReqs.
const HISTORY_MAX: usize = 1024;
/// Namespace storage granule.
const CHUNK: u64 = 64 * 1024;

pub(crate) struct Shared {
    pub config: SimConfig,
    pub addr: SocketAddr,
    pub state: Mutex<State>,
    pub shutdown: watch::Sender<bool>,
    /// Accept loop plus connection tasks still alive.
    pub live_tasks: AtomicUsize,
}

impl Shared {
    /// Locks the state; a poisoned lock (a panicked task) is taken over as is.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counters for tests and the demo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub connections_accepted: u64,
    /// Connections reset right after accept by [`crate::Fault::ResetOnAccept`].
    pub connections_reset: u64,
    pub connections_active: u64,
    /// Commands received, by kind and opcode (Fabrics by FCTYPE).
    pub commands: BTreeMap<CmdKey, u64>,
    pub keep_alives: u64,
    pub aens_sent: u64,
    /// Controllers dropped because their host stopped sending Keep Alive.
    pub kato_expirations: u64,
    pub term_reqs_sent: u64,
    pub term_reqs_received: u64,
    /// Discovery Get Log Page (LID 0x70) commands answered.
    pub log_page_reads: u64,
    /// LSP of the last discovery Get Log Page.
    pub last_discovery_lsp: Option<u8>,
    pub r2ts_sent: u64,
    /// Commands that arrived with a bad data digest.
    pub data_digest_errors: u64,
    /// Fault rule firings.
    pub faults_fired: u64,
}

impl Counters {
    /// Commands received of one kind.
    pub fn commands_of(&self, key: CmdKey) -> u64 {
        self.commands.get(&key).copied().unwrap_or(0)
    }
}

/// A connection as the control API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub id: u64,
    pub peer: SocketAddr,
    pub qid: Option<u16>,
    pub cntlid: Option<u16>,
    pub hostnqn: Option<String>,
    pub subnqn: Option<String>,
    pub hdgst: bool,
    pub ddgst: bool,
}

pub(crate) struct ConnEntry {
    pub info: ConnectionInfo,
    /// Closes the connection.
    pub kill: Arc<Notify>,
    /// Tells the connection that AEN events are queued for its controller.
    pub wake: Arc<Notify>,
}

/// A controller as the control API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerInfo {
    pub cntlid: u16,
    pub discovery: bool,
    pub subnqn: String,
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub kato_ms: u32,
    pub cc: u32,
    pub csts: u32,
    pub aen_enabled: u32,
    pub aen_masked: u32,
    pub admin_connection: u64,
    pub io_queues: Vec<u16>,
}

pub(crate) struct Controller {
    pub cntlid: u16,
    /// `None` for the discovery controller.
    pub subsystem: Option<Arc<Subsystem>>,
    pub subnqn: String,
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub kato_ms: u32,
    pub cc: u32,
    pub csts: u32,
    pub ready_polls_left: u32,
    pub aen_enabled: u32,
    pub aen_masked: u32,
    pub events: VecDeque<u32>,
    pub admin_conn: u64,
    pub io_queues: BTreeMap<u16, u64>,
}

impl Controller {
    pub fn is_discovery(&self) -> bool {
        self.subsystem.is_none()
    }

    pub fn ready(&self) -> bool {
        self.csts & 1 != 0
    }

    /// Queues an event unless its notice is disabled or masked (nvmet's
    /// `nvmet_aen_bit_disabled`); returns whether it was queued.
    pub fn raise(&mut self, bit: u32, event: u32) -> bool {
        let mask = 1u32 << bit;
        if self.aen_enabled & mask == 0 || self.aen_masked & mask != 0 {
            return false;
        }
        self.aen_masked |= mask;
        self.events.push_back(event);
        true
    }

    pub fn info(&self) -> ControllerInfo {
        ControllerInfo {
            cntlid: self.cntlid,
            discovery: self.is_discovery(),
            subnqn: self.subnqn.clone(),
            hostnqn: self.hostnqn.clone(),
            hostid: self.hostid,
            kato_ms: self.kato_ms,
            cc: self.cc,
            csts: self.csts,
            aen_enabled: self.aen_enabled,
            aen_masked: self.aen_masked,
            admin_connection: self.admin_conn,
            io_queues: self.io_queues.keys().copied().collect(),
        }
    }
}

/// One RAM namespace, stored sparsely in 64 KiB chunks.
pub(crate) struct Namespace {
    pub config: NamespaceConfig,
    chunks: Mutex<HashMap<u64, Box<[u8]>>>,
}

impl Namespace {
    fn new(config: NamespaceConfig) -> Self {
        Self {
            config,
            chunks: Mutex::new(HashMap::new()),
        }
    }

    pub fn size_bytes(&self) -> u64 {
        self.config.blocks.saturating_mul(self.config.block_size())
    }

    fn chunks(&self) -> MutexGuard<'_, HashMap<u64, Box<[u8]>>> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f(chunk index, offset in chunk, range in the caller's buffer)` for each piece.
    fn pieces(offset: u64, len: usize, mut f: impl FnMut(u64, usize, std::ops::Range<usize>)) {
        let mut done = 0usize;
        while done < len {
            let pos = offset + done as u64;
            let idx = pos / CHUNK;
            let within = (pos % CHUNK) as usize;
            let n = (CHUNK as usize - within).min(len - done);
            f(idx, within, done..done + n);
            done += n;
        }
    }

    /// Reads `len` bytes at byte `offset` (never-written data reads as zeros). The caller
    /// checked the range.
    pub fn read(&self, offset: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        let chunks = self.chunks();
        Self::pieces(offset, len, |idx, within, range| {
            if let Some(c) = chunks.get(&idx)
                && let (Some(src), Some(dst)) =
                    (c.get(within..within + range.len()), out.get_mut(range))
            {
                dst.copy_from_slice(src);
            }
        });
        out
    }

    /// Writes `data` at byte `offset`; `None` data writes zeros. The caller checked the range.
    pub fn write(&self, offset: u64, data: Option<&[u8]>, len: usize) {
        let mut chunks = self.chunks();
        Self::pieces(offset, len, |idx, within, range| {
            if data.is_none() && !chunks.contains_key(&idx) {
                return;
            }
            let c = chunks
                .entry(idx)
                .or_insert_with(|| vec![0u8; CHUNK as usize].into_boxed_slice());
            if let Some(dst) = c.get_mut(within..within + range.len()) {
                match data.and_then(|d| d.get(range)) {
                    Some(src) => dst.copy_from_slice(src),
                    None => dst.fill(0),
                }
            }
        });
    }
}

pub(crate) struct Subsystem {
    pub config: SubsystemConfig,
    pub namespaces: BTreeMap<u32, Namespace>,
}

impl Subsystem {
    pub fn new(config: SubsystemConfig) -> Self {
        let namespaces = config
            .namespaces
            .iter()
            .map(|n| (n.nsid, Namespace::new(*n)))
            .collect();
        Self { config, namespaces }
    }

    /// IOCCSZ in 16-byte units (SQE included).
    pub fn ioccsz(&self) -> u32 {
        (self.config.inline_data_size + 64) / 16
    }

    pub fn host_allowed(&self, hostnqn: &str) -> bool {
        self.config
            .allowed_hosts
            .as_ref()
            .is_none_or(|hosts| hosts.iter().any(|h| h == hostnqn))
    }
}

/// The discovery log and its encoded image (served by Get Log Page without copying).
pub(crate) struct DiscoveryState {
    pub entries: Vec<DiscoveryLogEntry>,
    pub genctr: u64,
    pub image: Bytes,
}

impl DiscoveryState {
    pub fn new(entries: Vec<DiscoveryLogEntry>, genctr: u64) -> Result<Self, EncodeError> {
        let image = Self::encode(&entries, genctr)?;
        Ok(Self {
            entries,
            genctr,
            image,
        })
    }

    fn encode(entries: &[DiscoveryLogEntry], genctr: u64) -> Result<Bytes, EncodeError> {
        let log = DiscoveryLog {
            genctr,
            numrec: entries.len() as u64,
            recfmt: 0,
            entries: entries.to_vec(),
        };
        log.encode().map(Bytes::from)
    }

    pub fn snapshot(&self) -> DiscoveryLog {
        DiscoveryLog {
            genctr: self.genctr,
            numrec: self.entries.len() as u64,
            recfmt: 0,
            entries: self.entries.clone(),
        }
    }
}

/// One extended attribute or entry of a DIM command, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimEntry {
    pub trtype: u8,
    pub adrfam: u8,
    pub subtype: u8,
    pub treq: u8,
    pub portid: u16,
    pub trsvcid: String,
    /// The entry's NQN (the host NQN for host registrations).
    pub nqn: String,
    pub traddr: String,
    /// HOSTID extended attribute.
    pub hostid: Option<[u8; 16]>,
    /// SYMNAME extended attribute, trailing spaces stripped.
    pub symname: Option<String>,
    /// Every extended attribute as (type, value).
    pub exats: Vec<(u16, Vec<u8>)>,
}

/// A Discovery Information Management command as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimRecord {
    pub task: DimTask,
    pub cntlid: u16,
    pub peer: SocketAddr,
    /// Host NQN of the Connect on this controller.
    pub connect_hostnqn: String,
    pub tdl: u32,
    pub entfmt: u16,
    pub etype: u16,
    pub portlcl: u8,
    pub ektype: u16,
    /// Entity identifier (host NQN).
    pub eid: String,
    /// Entity name (host name).
    pub ename: String,
    /// Entity version.
    pub ever: String,
    pub entries: Vec<DimEntry>,
}

/// A TermReq the simulator received from a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermReqRecord {
    pub connection: u64,
    pub fes: u16,
    pub fei: u32,
    pub data: Vec<u8>,
}

pub(crate) struct State {
    pub disc: DiscoveryState,
    pub subsystems: BTreeMap<String, Arc<Subsystem>>,
    pub controllers: BTreeMap<u16, Controller>,
    next_cntlid: u16,
    pub conns: BTreeMap<u64, ConnEntry>,
    pub next_conn_id: u64,
    pub registrations: BTreeMap<String, DimRecord>,
    pub dim_history: VecDeque<DimRecord>,
    pub term_reqs: VecDeque<TermReqRecord>,
    pub counters: Counters,
    pub faults: FaultSet,
}

impl State {
    pub fn new(disc: DiscoveryState, subsystems: BTreeMap<String, Arc<Subsystem>>) -> Self {
        Self {
            disc,
            subsystems,
            controllers: BTreeMap::new(),
            next_cntlid: 1,
            conns: BTreeMap::new(),
            next_conn_id: 1,
            registrations: BTreeMap::new(),
            dim_history: VecDeque::new(),
            term_reqs: VecDeque::new(),
            counters: Counters::default(),
            faults: FaultSet::default(),
        }
    }

    /// A free CNTLID in 1..=0xFFEF (dynamic model), `None` if all are in use.
    pub fn alloc_cntlid(&mut self) -> Option<u16> {
        for _ in 0..0xffef {
            let id = self.next_cntlid;
            self.next_cntlid = if id >= 0xffef { 1 } else { id + 1 };
            if !self.controllers.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }

    /// Replaces the log entries (or just bumps the generation), then raises the change
    /// notice on every discovery controller that has it enabled and unmasked.
    pub fn set_discovery_log(
        &mut self,
        entries: Option<Vec<DiscoveryLogEntry>>,
    ) -> Result<(), EncodeError> {
        let entries = entries.unwrap_or_else(|| self.disc.entries.clone());
        let genctr = self.disc.genctr.wrapping_add(1);
        self.disc = DiscoveryState::new(entries, genctr)?;
        let mut woken = Vec::new();
        for c in self.controllers.values_mut() {
            if c.is_discovery() && c.raise(AEN_BIT_DISC_CHANGE, AEN_DISC_LOG_CHANGE) {
                woken.push(c.admin_conn);
            }
        }
        for id in woken {
            if let Some(conn) = self.conns.get(&id) {
                conn.wake.notify_one();
            }
        }
        Ok(())
    }

    /// Closes every connection of controller `cntlid`.
    pub fn kill_controller(&mut self, cntlid: u16) {
        if let Some(c) = self.controllers.get(&cntlid) {
            for id in std::iter::once(&c.admin_conn).chain(c.io_queues.values()) {
                if let Some(conn) = self.conns.get(id) {
                    conn.kill.notify_one();
                }
            }
        }
    }

    pub fn record_dim(&mut self, rec: DimRecord) {
        match rec.task {
            DimTask::Deregister => {
                self.registrations.remove(&rec.eid);
            }
            DimTask::Register | DimTask::Update => {
                self.registrations.insert(rec.eid.clone(), rec.clone());
            }
        }
        if self.dim_history.len() >= HISTORY_MAX {
            self.dim_history.pop_front();
        }
        self.dim_history.push_back(rec);
    }

    pub fn record_term_req(&mut self, rec: TermReqRecord) {
        self.counters.term_reqs_received += 1;
        if self.term_reqs.len() >= HISTORY_MAX {
            self.term_reqs.pop_front();
        }
        self.term_reqs.push_back(rec);
    }

    /// Removes connection `id` and what depends on it: the controller whose admin queue it
    /// was (its I/O queues are closed too), or its I/O queue slot.
    pub fn remove_connection(&mut self, id: u64) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        self.counters.connections_active = self.counters.connections_active.saturating_sub(1);
        let Some(cntlid) = entry.info.cntlid else {
            return;
        };
        match entry.info.qid {
            Some(0) => {
                self.kill_controller(cntlid);
                self.controllers.remove(&cntlid);
            }
            Some(qid) => {
                if let Some(c) = self.controllers.get_mut(&cntlid)
                    && c.io_queues.get(&qid) == Some(&id)
                {
                    c.io_queues.remove(&qid);
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_sparse_io() {
        let ns = Namespace::new(NamespaceConfig::with_size(1, 1 << 20));
        assert_eq!(ns.read(100, 10), vec![0; 10]);
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        ns.write(CHUNK - 7, Some(&data), data.len());
        assert_eq!(ns.read(CHUNK - 7, data.len()), data);
        ns.write(CHUNK, None, 16);
        let back = ns.read(CHUNK - 7, 30);
        assert_eq!(&back[..7], &data[..7]);
        assert_eq!(&back[7..23], &[0; 16]);
        assert_eq!(&back[23..], &data[23..30]);
        // Zeroing an unwritten chunk allocates nothing.
        ns.write(10 * CHUNK, None, CHUNK as usize);
        assert_eq!(ns.chunks().len(), 5);
    }

    #[test]
    fn cntlid_allocation_skips_used() {
        let disc = DiscoveryState::new(Vec::new(), 1).unwrap();
        let mut s = State::new(disc, BTreeMap::new());
        assert_eq!(s.alloc_cntlid(), Some(1));
        assert_eq!(s.alloc_cntlid(), Some(2));
    }
}
