//! A scripted NVMe/TCP controller built on the codec: enough of a discovery / I/O
//! controller for the host's tests, with a per-command hook for faults.
//!
//! Why this exists next to `nvme-sim` (tests/sim), which the public-API tests use
//! (`tests/tests/native_faults.rs`, the controller contract): these unit tests drive crate
//! internals (`QueuePair::start` on in-memory streams, `QueueParams`, the keep-alive task,
//! the admin procedures through `AdminTransport`) that only code inside the crate can reach,
//! and `nvme-sim` depends on this crate, so using it here would link a second copy of
//! libnvme-rs whose types do not match ours. The hook answers a command with arbitrary raw
//! PDUs, which the simulator's fault list deliberately does not offer. Both run on tokio's
//! paused clock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use zerocopy::{FromZeros, IntoBytes};

use crate::admin::opcode;
use crate::spec::fabrics::{self, fctype, property};
use crate::spec::identify::{OAES_DISCOVERY_LOG_CHANGE, RawIdentifyController};
use crate::tcp::{
    C2HData, CapsuleCmd, CapsuleResp, Cqe, IcReq, IcResp, Limits, Negotiated, Pdu, R2t, Sqe,
    decode_bytes, encode, peek_header,
};

/// One end of a connection speaking PDUs.
pub(crate) struct Peer<S> {
    io: S,
    buf: BytesMut,
    pub neg: Negotiated,
    limits: Limits,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Peer<S> {
    pub fn new(io: S) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            neg: Negotiated::default(),
            limits: Limits::new(4 << 20),
        }
    }

    /// The next whole frame; `None` at end of stream. Cancel safe.
    pub async fn recv_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Ok(Some(info)) = peek_header(&self.buf, &self.limits)
                && self.buf.len() >= info.frame_len()
            {
                return Some(self.buf.split_to(info.frame_len()).freeze());
            }
            self.buf.reserve(64 * 1024);
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The next PDU; panics on anything the strict decoder rejects (the host must only
    /// send valid PDUs).
    pub async fn recv(&mut self) -> Option<Pdu> {
        let frame = self.recv_frame().await?;
        Some(decode_bytes(&frame, &self.neg, &self.limits).expect("host PDU decodes"))
    }

    pub async fn send(&mut self, pdu: &Pdu) {
        let bytes = encode(pdu, &self.neg).expect("target PDU encodes");
        self.send_raw(&bytes).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.io.write_all(bytes).await;
    }

    /// Reads ICReq and answers; digests are enabled where requested and offered.
    pub async fn accept_ic(
        &mut self,
        offer_hdgst: bool,
        offer_ddgst: bool,
        cpda: u8,
        maxh2cdata: u32,
    ) -> Option<IcReq> {
        let Pdu::IcReq(req) = self.recv().await? else {
            panic!("expected ICReq");
        };
        let resp = IcResp {
            cpda,
            hdgst: req.hdgst && offer_hdgst,
            ddgst: req.ddgst && offer_ddgst,
            maxh2cdata,
        };
        self.send(&Pdu::IcResp(resp)).await;
        self.neg = Negotiated::from_exchange(&req, &resp);
        Some(req)
    }
}

/// Status field value (CQE bits 15:1) of SCT/SC, positioned in the 16-bit status word.
pub(crate) fn status(sct: u8, sc: u8) -> u16 {
    (u16::from(sct) << 9) | (u16::from(sc) << 1)
}

pub(crate) fn resp(cid: u16, dw0: u32, dw1: u32, status: u16) -> Pdu {
    Pdu::CapsuleResp(CapsuleResp {
        cqe: Cqe {
            dw0: dw0.into(),
            dw1: dw1.into(),
            cid: cid.into(),
            status: status.into(),
            ..Cqe::default()
        },
    })
}

/// What the hook wants done with a command instead of the default handling.
pub(crate) enum Action {
    Default,
    /// Never answer.
    Ignore,
    /// Send these bytes instead of an answer.
    Raw(Vec<u8>),
    /// Complete with this status word.
    Status(u16),
    /// Drop the connection.
    Close,
}

pub(crate) type Hook = Arc<dyn Fn(u16, &Sqe) -> Action + Send + Sync>;

#[derive(Clone)]
pub(crate) struct SimConfig {
    pub offer_hdgst: bool,
    pub offer_ddgst: bool,
    pub cpda: u8,
    pub maxh2cdata: u32,
    pub cap: u64,
    pub identify: Vec<u8>,
    /// Data bytes per C2HData PDU.
    pub c2h_chunk: usize,
    /// Complete reads with C2HData SUCCESS instead of a CapsuleResp.
    pub success_flag: bool,
    /// Bytes requested per R2T (`None`: one R2T for everything, as nvmet).
    pub r2t_chunk: Option<usize>,
    pub block_size: u32,
    pub blocks: u64,
    pub queues_granted: u16,
    /// KATO is rounded up to a multiple of this (nvmet: 1000 ms) and reported by Get
    /// Features; 0 reports it as connected.
    pub kato_round_ms: u32,
    pub hook: Option<Hook>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            offer_hdgst: true,
            offer_ddgst: true,
            cpda: 0,
            maxh2cdata: 0x40_0000,
            // MQES 127, TO 1 (1 s), CSS NVM.
            cap: (1 << 37) | (1 << 24) | 127,
            identify: identify_image(|_| {}),
            c2h_chunk: 8192,
            success_flag: false,
            r2t_chunk: None,
            block_size: 512,
            blocks: 0,
            queues_granted: 4,
            kato_round_ms: 0,
            hook: None,
        }
    }
}

/// Identify Controller of a discovery-capable controller; `f` adjusts it.
pub(crate) fn identify_image(f: impl FnOnce(&mut RawIdentifyController)) -> Vec<u8> {
    let mut raw = RawIdentifyController::new_zeroed();
    raw.mn[..7].copy_from_slice(b"SimCtrl");
    raw.sn[..4].copy_from_slice(b"0001");
    raw.ver.set(0x0002_0000);
    raw.oaes.set(OAES_DISCOVERY_LOG_CHANGE);
    raw.aerl = 3;
    raw.kas.set(10);
    raw.sqes = 0x66;
    raw.cqes = 0x44;
    raw.cntlid.set(1);
    raw.cntrltype = 2;
    raw.subnqn[..8].copy_from_slice(b"nqn.test");
    f(&mut raw);
    raw.as_bytes().to_vec()
}

/// Something the target saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Connect {
        qid: u16,
        sqsize: u16,
        kato: u32,
        cntlid: u16,
        hostid: [u8; 16],
        hostnqn: String,
        subnqn: String,
    },
    Command {
        qid: u16,
        opcode: u8,
        fctype: u8,
        nsid: u32,
        cdw10: u32,
        cdw11: u32,
        cdw12: u32,
        /// SGL identifier byte and length.
        sgl: (u8, u32),
        capsule_len: usize,
    },
    PropertyGet {
        offset: u32,
        eight: bool,
    },
    PropertySet {
        offset: u32,
        value: u64,
    },
    KeepAlive(tokio::time::Instant),
    Dim(Vec<u8>),
    H2CData {
        cid: u16,
        ttag: u16,
        datao: u32,
        len: usize,
        last: bool,
    },
    TermReq {
        fes: u16,
        fei: u32,
    },
    Eof {
        qid: u16,
    },
}

pub(crate) struct SimState {
    pub events: Vec<Event>,
    pub log: Vec<u8>,
    pub disk: Vec<u8>,
    pub cc: u32,
    pub pending_aers: usize,
    pub connections: usize,
    aen_rx: Option<mpsc::UnboundedReceiver<u32>>,
}

impl SimState {
    pub fn commands(&self, op: u8) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Command { opcode, .. } if *opcode == op))
            .cloned()
            .collect()
    }

    pub fn keep_alives(&self) -> Vec<tokio::time::Instant> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::KeepAlive(t) => Some(*t),
                _ => None,
            })
            .collect()
    }
}

/// A listening target on 127.0.0.1 serving every connection with the simulator.
pub(crate) struct Target {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<SimState>>,
    aen: mpsc::UnboundedSender<u32>,
    accept: JoinHandle<()>,
}

impl Target {
    pub async fn start(cfg: SimConfig, log: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (aen, aen_rx) = mpsc::unbounded_channel();
        let disk = vec![0u8; usize::try_from(cfg.blocks * u64::from(cfg.block_size)).unwrap()];
        let state = Arc::new(Mutex::new(SimState {
            events: Vec::new(),
            log,
            disk,
            cc: 0,
            pending_aers: 0,
            connections: 0,
            aen_rx: Some(aen_rx),
        }));
        let cfg = Arc::new(cfg);
        let st = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    Ok((stream, _)) = listener.accept() => {
                        st.lock().unwrap().connections += 1;
                        conns.spawn(serve(stream, Arc::clone(&cfg), Arc::clone(&st)));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Self {
            addr,
            state,
            aen,
            accept,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap()
    }

    /// Completes an outstanding AER with `dw0` (queued until one is outstanding).
    pub fn send_aen(&self, dw0: u32) {
        self.aen.send(dw0).unwrap();
    }

    /// Polls until `pred` holds (5 s at most).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&SimState) -> bool) {
        for _ in 0..1000 {
            if pred(&self.state()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("target never saw: {what}");
    }

    pub async fn stop(self) {
        self.accept.abort();
        let _ = self.accept.await;
    }
}

struct PendingWrite {
    buf: Vec<u8>,
    r2t_end: usize,
    offset: u64,
}

struct Conn {
    qid: u16,
    aers: Vec<u16>,
    writes: HashMap<u16, PendingWrite>,
    aen_rx: Option<mpsc::UnboundedReceiver<u32>>,
    /// KATO from the admin Connect, as applied.
    kato_ms: u32,
}

async fn next_aen(rx: &mut Option<mpsc::UnboundedReceiver<u32>>) -> Option<u32> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn serve(stream: TcpStream, cfg: Arc<SimConfig>, state: Arc<Mutex<SimState>>) {
    let _ = stream.set_nodelay(true);
    let mut peer = Peer::new(stream);
    if peer
        .accept_ic(cfg.offer_hdgst, cfg.offer_ddgst, cfg.cpda, cfg.maxh2cdata)
        .await
        .is_none()
    {
        return;
    }
    let mut conn = Conn {
        qid: 0,
        aers: Vec::new(),
        writes: HashMap::new(),
        aen_rx: None,
        kato_ms: 0,
    };
    loop {
        let pdu = tokio::select! {
            pdu = peer.recv() => match pdu {
                Some(p) => p,
                None => break,
            },
            Some(v) = next_aen(&mut conn.aen_rx), if !conn.aers.is_empty() => {
                if let Some(cid) = conn.aers.pop() {
                    state.lock().unwrap().pending_aers -= 1;
                    peer.send(&resp(cid, v, 0, 0)).await;
                }
                continue;
            }
        };
        let keep_going = match pdu {
            Pdu::CapsuleCmd(cmd) => command(&mut peer, &mut conn, &cfg, &state, cmd).await,
            Pdu::H2CData(d) => {
                h2c_data(&mut peer, &mut conn, &cfg, &state, d).await;
                true
            }
            Pdu::H2CTermReq(t) => {
                state.lock().unwrap().events.push(Event::TermReq {
                    fes: t.fes,
                    fei: t.fei,
                });
                false
            }
            other => panic!("unexpected host PDU {other:?}"),
        };
        if !keep_going {
            break;
        }
    }
    let mut st = state.lock().unwrap();
    st.pending_aers -= conn.aers.len();
    st.events.push(Event::Eof { qid: conn.qid });
    // Hand the AEN channel back for the next admin connection.
    if conn.aen_rx.is_some() {
        st.aen_rx = conn.aen_rx.take();
    }
}

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn nqn(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Handles one command; false ends the connection.
async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    peer: &mut Peer<S>,
    conn: &mut Conn,
    cfg: &SimConfig,
    state: &Mutex<SimState>,
    cmd: CapsuleCmd,
) -> bool {
    let sqe = cmd.sqe;
    let raw = sqe.as_bytes().to_vec();
    let cid = sqe.cid();
    let sgl_len = sqe.dptr.length.get();
    state.lock().unwrap().events.push(Event::Command {
        qid: conn.qid,
        opcode: sqe.opcode,
        fctype: if sqe.opcode == fabrics::OPCODE {
            raw[4]
        } else {
            0
        },
        nsid: sqe.nsid.get(),
        cdw10: sqe.cdw10.get(),
        cdw11: sqe.cdw11.get(),
        cdw12: sqe.cdw12.get(),
        sgl: (sqe.dptr.id, sgl_len),
        capsule_len: cmd.data.len(),
    });
    if let Some(hook) = &cfg.hook {
        match hook(conn.qid, &sqe) {
            Action::Default => {}
            Action::Ignore => return true,
            Action::Raw(bytes) => {
                peer.send_raw(&bytes).await;
                return true;
            }
            Action::Status(st) => {
                peer.send(&resp(cid, 0, 0, st)).await;
                return true;
            }
            Action::Close => return false,
        }
    }
    let ok = resp(cid, 0, 0, 0);
    match (sqe.opcode, conn.qid) {
        (fabrics::OPCODE, _) => match raw[4] {
            fctype::CONNECT => {
                let d = &cmd.data;
                let qid = u16::from_le_bytes([raw[42], raw[43]]);
                conn.qid = qid;
                if qid == 0 {
                    let kato = le32(&raw, 48);
                    conn.kato_ms = match cfg.kato_round_ms {
                        0 => kato,
                        r => kato.div_ceil(r) * r,
                    };
                }
                {
                    let mut st = state.lock().unwrap();
                    if qid == 0 {
                        conn.aen_rx = st.aen_rx.take();
                    }
                    st.events.push(Event::Connect {
                        qid,
                        sqsize: u16::from_le_bytes([raw[44], raw[45]]),
                        kato: le32(&raw, 48),
                        cntlid: u16::from_le_bytes([d[16], d[17]]),
                        hostid: d[..16].try_into().unwrap(),
                        subnqn: nqn(&d[256..512]),
                        hostnqn: nqn(&d[512..768]),
                    });
                }
                peer.send(&resp(cid, 1, 0, 0)).await;
            }
            fctype::PROPERTY_GET => {
                let offset = le32(&raw, 44);
                let eight = raw[40] & 7 == 1;
                let value = {
                    let mut st = state.lock().unwrap();
                    st.events.push(Event::PropertyGet { offset, eight });
                    match offset {
                        property::CAP => cfg.cap,
                        property::VS => 0x0002_0000,
                        property::CC => u64::from(st.cc),
                        property::CSTS => {
                            let en = u64::from(st.cc & 1);
                            let shst = if st.cc & (3 << 14) != 0 { 2 << 2 } else { 0 };
                            en | shst
                        }
                        _ => 0,
                    }
                };
                peer.send(&resp(cid, value as u32, (value >> 32) as u32, 0))
                    .await;
            }
            fctype::PROPERTY_SET => {
                let offset = le32(&raw, 44);
                let value = u64::from_le_bytes(raw[48..56].try_into().unwrap());
                {
                    let mut st = state.lock().unwrap();
                    st.events.push(Event::PropertySet { offset, value });
                    if offset == property::CC {
                        st.cc = value as u32;
                    }
                }
                peer.send(&ok).await;
            }
            _ => peer.send(&ok).await,
        },
        (opcode::IDENTIFY, 0) => {
            let cns = sqe.cdw10.get() & 0xff;
            let data = match cns {
                1 => cfg.identify.clone(),
                0 => identify_ns(cfg, sqe.nsid.get()),
                2 => {
                    let mut b = vec![0u8; 4096];
                    if cfg.blocks > 0 && sqe.nsid.get() < 1 {
                        b[..4].copy_from_slice(&1u32.to_le_bytes());
                    }
                    b
                }
                _ => vec![0u8; 4096],
            };
            send_read(peer, cfg, cid, &data[..sgl_len as usize]).await;
        }
        (opcode::GET_LOG_PAGE, 0) => {
            let off = u64::from(sqe.cdw12.get()) | (u64::from(sqe.cdw13.get()) << 32);
            let log = state.lock().unwrap().log.clone();
            let data: Vec<u8> = (0..sgl_len as usize)
                .map(|i| log.get(off as usize + i).copied().unwrap_or(0))
                .collect();
            send_read(peer, cfg, cid, &data).await;
        }
        (opcode::SET_FEATURES, 0) => {
            let fid = sqe.cdw10.get() & 0xff;
            let dw0 = if fid == 7 {
                let n = u32::from(cfg.queues_granted - 1);
                n | (n << 16)
            } else {
                0
            };
            peer.send(&resp(cid, dw0, 0, 0)).await;
        }
        (opcode::GET_FEATURES, 0) if sqe.cdw10.get() & 0xff == 0x0f => {
            peer.send(&resp(cid, conn.kato_ms, 0, 0)).await;
        }
        (opcode::KEEP_ALIVE, 0) => {
            state
                .lock()
                .unwrap()
                .events
                .push(Event::KeepAlive(tokio::time::Instant::now()));
            peer.send(&ok).await;
        }
        (opcode::ASYNC_EVENT_REQUEST, 0) => {
            conn.aers.push(cid);
            state.lock().unwrap().pending_aers += 1;
        }
        (opcode::DISCOVERY_INFO_MGMT, 0) => {
            state
                .lock()
                .unwrap()
                .events
                .push(Event::Dim(cmd.data.to_vec()));
            peer.send(&ok).await;
        }
        (0x02, q) if q > 0 => {
            let (off, len) = lba_range(cfg, &sqe);
            let data = state.lock().unwrap().disk[off..off + len].to_vec();
            send_read(peer, cfg, cid, &data).await;
        }
        (0x01, q) if q > 0 => {
            let (off, len) = lba_range(cfg, &sqe);
            if !cmd.data.is_empty() {
                state.lock().unwrap().disk[off..off + len].copy_from_slice(&cmd.data);
                peer.send(&ok).await;
            } else {
                let first = cfg.r2t_chunk.unwrap_or(len).min(len);
                conn.writes.insert(
                    cid,
                    PendingWrite {
                        buf: vec![0; len],
                        r2t_end: first,
                        offset: off as u64,
                    },
                );
                send_r2t(peer, cid, 0, first).await;
            }
        }
        _ => peer.send(&resp(cid, 0, 0, status(0, 1))).await,
    }
    true
}

fn lba_range(cfg: &SimConfig, sqe: &Sqe) -> (usize, usize) {
    let slba = u64::from(sqe.cdw10.get()) | (u64::from(sqe.cdw11.get()) << 32);
    let blocks = (sqe.cdw12.get() & 0xffff) as usize + 1;
    let bs = cfg.block_size as usize;
    (slba as usize * bs, blocks * bs)
}

fn identify_ns(cfg: &SimConfig, nsid: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    if nsid == 1 && cfg.blocks > 0 {
        b[0..8].copy_from_slice(&cfg.blocks.to_le_bytes());
        b[8..16].copy_from_slice(&cfg.blocks.to_le_bytes());
        b[128 + 2] = cfg.block_size.trailing_zeros() as u8;
    }
    b
}

async fn send_r2t<S: AsyncRead + AsyncWrite + Unpin>(
    peer: &mut Peer<S>,
    cid: u16,
    r2to: usize,
    r2tl: usize,
) {
    peer.send(&Pdu::R2t(R2t {
        cccid: cid,
        ttag: cid + 100,
        r2to: r2to as u32,
        r2tl: r2tl as u32,
    }))
    .await;
}

async fn send_read<S: AsyncRead + AsyncWrite + Unpin>(
    peer: &mut Peer<S>,
    cfg: &SimConfig,
    cid: u16,
    data: &[u8],
) {
    let total = data.len();
    let mut off = 0;
    for piece in data.chunks(cfg.c2h_chunk.max(4)) {
        let last = off + piece.len() == total;
        peer.send(&Pdu::C2HData(C2HData {
            cccid: cid,
            datao: off as u32,
            last,
            success: last && cfg.success_flag,
            data: Bytes::copy_from_slice(piece),
        }))
        .await;
        off += piece.len();
    }
    if !cfg.success_flag || total == 0 {
        peer.send(&resp(cid, 0, 0, 0)).await;
    }
}

async fn h2c_data<S: AsyncRead + AsyncWrite + Unpin>(
    peer: &mut Peer<S>,
    conn: &mut Conn,
    cfg: &SimConfig,
    state: &Mutex<SimState>,
    d: crate::tcp::H2CData,
) {
    state.lock().unwrap().events.push(Event::H2CData {
        cid: d.cccid,
        ttag: d.ttag,
        datao: d.datao,
        len: d.data.len(),
        last: d.last,
    });
    let pw = conn
        .writes
        .get_mut(&d.cccid)
        .expect("H2CData for a pending write");
    let start = d.datao as usize;
    pw.buf[start..start + d.data.len()].copy_from_slice(&d.data);
    if !d.last {
        return;
    }
    assert_eq!(start + d.data.len(), pw.r2t_end, "LAST_PDU ends the R2T");
    let total = pw.buf.len();
    if pw.r2t_end < total {
        let next = cfg.r2t_chunk.unwrap_or(total).min(total - pw.r2t_end);
        let r2to = pw.r2t_end;
        pw.r2t_end += next;
        send_r2t(peer, d.cccid, r2to, next).await;
        return;
    }
    let pw = conn.writes.remove(&d.cccid).expect("present");
    let off = pw.offset as usize;
    state.lock().unwrap().disk[off..off + total].copy_from_slice(&pw.buf);
    peer.send(&resp(d.cccid, 0, 0, 0)).await;
}
