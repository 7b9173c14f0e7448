//! One task per TCP connection: framing, ICReq/ICResp, command dispatch, R2T/H2CData,
//! C2HData, AER delivery, the keep-alive timer and fault effects on the way out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use libnvme_rs::tcp::wire::{
    CH_LEN, DIGEST_LEN, RawCapsuleCmdHeader, RawDataHeader, SglDescriptor, fes, flags, offset,
};
use libnvme_rs::tcp::{
    C2HData, CapsuleResp, Cqe, DigestKind, IcReq, IcResp, Limits, Negotiated, Pdu, PduError,
    PduType, R2t, Sqe, TermReq, decode_bytes, encode, peek_header,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep_until};
use zerocopy::FromBytes;

use crate::config::{ADMIN_INLINE_DATA, C2hSuccess};
use crate::fault::{CmdKey, Effects, MalformedPdu, MatchCtx};
use crate::state::{Shared, Subsystem};
use crate::status::Status;
use libnvme_rs::spec::fabrics::fctype;

/// The connection is over (peer gone, fatal error, kill, shutdown).
#[derive(Debug)]
pub(crate) struct Close;

type Flow = Result<(), Close>;

/// Data direction of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    None,
    ToCtrl,
    FromCtrl,
}

/// A command ready to execute: SQE, classification, host data, transfer length, faults.
pub(crate) struct Request {
    pub sqe: Sqe,
    pub key: CmdKey,
    pub data: Bytes,
    pub xfer_len: u32,
    pub effects: Effects,
}

/// A finished command.
pub(crate) struct Completion {
    pub dw0: u32,
    pub dw1: u32,
    pub status: Status,
    /// Controller-to-host data (sent only on success).
    pub data: Option<Bytes>,
    /// Close the connection once the completion is sent (Disconnect).
    pub close_after: bool,
}

impl Completion {
    pub fn status(status: Status) -> Self {
        Self {
            dw0: 0,
            dw1: 0,
            status,
            data: None,
            close_after: false,
        }
    }

    pub fn ok() -> Self {
        Self::status(Status::SUCCESS)
    }

    pub fn dw0(dw0: u32) -> Self {
        Self { dw0, ..Self::ok() }
    }

    pub fn data(data: impl Into<Bytes>) -> Self {
        Self {
            data: Some(data.into()),
            ..Self::ok()
        }
    }
}

/// What a handler decided.
pub(crate) enum Outcome {
    Done(Completion),
    /// Held by the controller (AER), completed later.
    Held,
}

impl From<Completion> for Outcome {
    fn from(c: Completion) -> Self {
        Self::Done(c)
    }
}

impl From<Status> for Outcome {
    fn from(s: Status) -> Self {
        Self::Done(Completion::status(s))
    }
}

/// The queue a connection became with Fabrics Connect.
pub(crate) struct Queue {
    pub qid: u16,
    pub cntlid: u16,
    /// 0's based.
    pub sqsize: u16,
    pub sqhd: u16,
    pub sqflow_disabled: bool,
    pub hostnqn: String,
    pub subnqn: String,
    /// `None` on the discovery controller.
    pub subsystem: Option<Arc<Subsystem>>,
    pub inline_limit: u32,
    /// Keep-alive timeout enforced on the admin queue.
    pub kato: Option<Duration>,
}

/// Encoded PDUs on their way out, with where each one starts.
#[derive(Default)]
struct Reply {
    bytes: Vec<u8>,
    pdus: Vec<(PduType, usize, usize)>,
    close_after: bool,
}

impl Reply {
    fn push(&mut self, pdu: &Pdu, neg: &Negotiated) {
        // Our own PDUs always encode (bounded data, valid alignment); a failure would be a
        // simulator bug, and sending nothing for it is the safe reaction.
        if let Ok(b) = encode(pdu, neg) {
            self.pdus.push((pdu.pdu_type(), self.bytes.len(), b.len()));
            self.bytes.extend_from_slice(&b);
        }
    }

    /// Flips the header digest of the first PDU that carries one.
    fn corrupt_hdgst(&mut self, neg: &Negotiated) {
        if !neg.hdgst {
            return;
        }
        if let Some(&(ty, start, _)) = self.pdus.iter().find(|(t, ..)| t.has_header_digest()) {
            let at = start + usize::from(ty.hlen());
            if let Some(d) = self.bytes.get_mut(at..at + DIGEST_LEN) {
                d.iter_mut().for_each(|b| *b ^= 0xff);
            }
        }
    }

    /// Flips the data digest of the first C2HData.
    fn corrupt_ddgst(&mut self, neg: &Negotiated) {
        if !neg.ddgst {
            return;
        }
        if let Some(&(_, start, len)) = self.pdus.iter().find(|(t, ..)| *t == PduType::C2HData)
            && let Some(d) = self.bytes.get_mut(start + len - DIGEST_LEN..start + len)
        {
            d.iter_mut().for_each(|b| *b ^= 0xff);
        }
    }
}

/// Output held back by a delay fault.
struct Delayed {
    at: Instant,
    bytes: Vec<u8>,
    close_after: bool,
}

/// A write waiting for its data through R2T/H2CData.
struct H2cXfer {
    req: Request,
    buf: Vec<u8>,
    received: u32,
    r2t_end: u32,
    /// A data digest error hit one of its PDUs: complete with a transport error.
    failed: bool,
}

/// Live connection state.
pub(crate) struct Conn {
    pub id: u64,
    pub peer: SocketAddr,
    pub shared: Arc<Shared>,
    stream: TcpStream,
    rbuf: BytesMut,
    pub neg: Negotiated,
    limits: Limits,
    ic_done: bool,
    pub q: Option<Queue>,
    commands: u64,
    delayed: Vec<Delayed>,
    h2c: HashMap<u16, H2cXfer>,
    h2c_bytes: usize,
    next_ttag: u16,
    pub aers: Vec<u16>,
    pub kato_deadline: Option<Instant>,
    kill: Arc<Notify>,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    /// Close with RST instead of FIN.
    reset_on_close: bool,
}

/// Ends every `select!` wait: the simulator is shutting down.
pub(crate) async fn shut(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: shutting down as well.
    let _ = rx.wait_for(|&s| s).await;
}

impl Conn {
    pub fn new(
        id: u64,
        peer: SocketAddr,
        shared: Arc<Shared>,
        stream: TcpStream,
        kill: Arc<Notify>,
        wake: Arc<Notify>,
    ) -> Self {
        let shutdown = shared.shutdown.subscribe();
        let limits = Limits::new(ADMIN_INLINE_DATA.max(shared.config.ic.maxh2cdata));
        Self {
            id,
            peer,
            shared,
            stream,
            rbuf: BytesMut::with_capacity(8192),
            neg: Negotiated::default(),
            limits,
            ic_done: false,
            q: None,
            commands: 0,
            delayed: Vec::new(),
            h2c: HashMap::new(),
            h2c_bytes: 0,
            next_ttag: 0,
            aers: Vec::new(),
            kato_deadline: None,
            kill,
            wake,
            shutdown,
            reset_on_close: false,
        }
    }

    /// Serves the connection until it ends.
    pub async fn run(&mut self) {
        let _ = self.serve().await;
        if self.reset_on_close {
            // Dropping the socket with a zero linger sends RST.
            let _ = self.stream.set_zero_linger();
        } else {
            // Best effort FIN; the peer may be gone already.
            let _ = tokio::time::timeout(Duration::from_millis(100), self.stream.shutdown()).await;
        }
    }

    async fn serve(&mut self) -> Flow {
        loop {
            let timer = self.next_timer();
            let far = Instant::now() + Duration::from_secs(86400);
            tokio::select! {
                biased;
                _ = shut(&mut self.shutdown) => return Err(Close),
                _ = self.kill.notified() => return Err(Close),
                _ = sleep_until(timer.unwrap_or(far)), if timer.is_some() => self.on_timer().await?,
                _ = self.wake.notified() => self.deliver_aens().await?,
                r = self.stream.read_buf(&mut self.rbuf) => match r {
                    Ok(0) | Err(_) => return Err(Close),
                    Ok(_) => self.process_input().await?,
                },
            }
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        let delayed = self.delayed.iter().map(|d| d.at).min();
        match (delayed, self.kato_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn on_timer(&mut self) -> Flow {
        let now = Instant::now();
        if self.kato_deadline.is_some_and(|d| d <= now) {
            let mut st = self.shared.lock();
            st.counters.kato_expirations += 1;
            if let Some(q) = &self.q {
                st.kill_controller(q.cntlid);
            }
            return Err(Close);
        }
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].at <= now {
                due.push(self.delayed.remove(i));
            } else {
                i += 1;
            }
        }
        for d in due {
            self.send(&d.bytes).await?;
            if d.close_after {
                return Err(Close);
            }
        }
        Ok(())
    }

    /// Writes bytes, giving up if the connection is killed or the simulator stops.
    async fn send(&mut self, bytes: &[u8]) -> Flow {
        tokio::select! {
            r = self.stream.write_all(bytes) => r.map_err(|_| Close),
            _ = self.kill.notified() => Err(Close),
            _ = shut(&mut self.shutdown) => Err(Close),
        }
    }

    async fn send_pdu(&mut self, pdu: &Pdu) -> Flow {
        let mut r = Reply::default();
        r.push(pdu, &self.neg);
        self.send(&r.bytes).await
    }

    /// Sends a C2HTermReq and ends the connection.
    async fn terminate(&mut self, fes_value: u16, fei: u32, header: &[u8]) -> Flow {
        let term = TermReq {
            fes: fes_value,
            fei,
            data: Bytes::copy_from_slice(header.get(..128).unwrap_or(header)),
        };
        self.shared.lock().counters.term_reqs_sent += 1;
        let _ = self.send_pdu(&Pdu::C2HTermReq(term)).await;
        Err(Close)
    }

    async fn fatal(&mut self, e: &PduError, frame: &[u8]) -> Flow {
        let hlen = frame.get(2).map_or(CH_LEN, |&h| usize::from(h).max(CH_LEN));
        let header = frame.get(..hlen).unwrap_or(frame);
        let t = e.term_req(header);
        self.terminate(t.fes, t.fei, &t.data).await
    }

    async fn process_input(&mut self) -> Flow {
        loop {
            let info = match peek_header(&self.rbuf, &self.limits) {
                Ok(None) => return Ok(()),
                Ok(Some(i)) => i,
                Err(e) => {
                    let hdr = self.rbuf.split().freeze();
                    return self.fatal(&e, &hdr).await;
                }
            };
            let len = info.frame_len();
            if self.rbuf.len() < len {
                self.rbuf.reserve(len - self.rbuf.len());
                return Ok(());
            }
            let frame = self.rbuf.split_to(len).freeze();
            match decode_bytes(&frame, &self.neg, &self.limits) {
                Ok(pdu) => self.on_pdu(pdu, &frame).await?,
                Err(PduError::Digest(d)) if d.kind == DigestKind::Data => {
                    self.on_data_digest_error(info.pdu_type, &frame).await?;
                }
                Err(e) => return self.fatal(&e, &frame).await,
            }
        }
    }

    async fn on_pdu(&mut self, pdu: Pdu, frame: &[u8]) -> Flow {
        match pdu {
            Pdu::IcReq(r) if !self.ic_done => self.on_icreq(r, frame).await,
            Pdu::H2CTermReq(t) => {
                self.shared
                    .lock()
                    .record_term_req(crate::state::TermReqRecord {
                        connection: self.id,
                        fes: t.fes,
                        fei: t.fei,
                        data: t.data.to_vec(),
                    });
                Err(Close)
            }
            Pdu::CapsuleCmd(c) if self.ic_done => self.on_command(c.sqe, c.data).await,
            Pdu::H2CData(d) if self.ic_done => {
                let last = d.last;
                self.on_h2c_data(d.cccid, d.ttag, d.datao, last, Some(&d.data), frame)
                    .await
            }
            other => {
                self.fatal(&PduError::UnexpectedPdu(other.pdu_type()), frame)
                    .await
            }
        }
    }

    async fn on_icreq(&mut self, r: IcReq, frame: &[u8]) -> Flow {
        let ic = self.shared.config.ic;
        if ic.reject_nonzero_hpda && r.hpda != 0 {
            return self
                .terminate(fes::UNSUPPORTED_PARAMETER, offset::PDA, frame)
                .await;
        }
        let resp = IcResp {
            cpda: ic.cpda,
            hdgst: r.hdgst,
            ddgst: r.ddgst,
            maxh2cdata: ic.maxh2cdata,
        };
        self.send_pdu(&Pdu::IcResp(resp)).await?;
        self.neg = Negotiated::from_exchange(&r, &resp);
        self.ic_done = true;
        if let Some(c) = self.shared.lock().conns.get_mut(&self.id) {
            c.info.hdgst = r.hdgst;
            c.info.ddgst = r.ddgst;
        }
        Ok(())
    }

    fn classify(&self, sqe: &Sqe) -> CmdKey {
        if sqe.opcode == libnvme_rs::spec::fabrics::OPCODE {
            // FCTYPE sits where NSID's first byte is.
            CmdKey::Fabrics(sqe.nsid.get() as u8)
        } else if self.q.as_ref().is_some_and(|q| q.qid != 0) {
            CmdKey::Io(sqe.opcode)
        } else {
            CmdKey::Admin(sqe.opcode)
        }
    }

    fn direction(key: CmdKey) -> Dir {
        match key {
            CmdKey::Fabrics(fctype::CONNECT | fctype::AUTH_SEND) => Dir::ToCtrl,
            CmdKey::Fabrics(fctype::AUTH_RECEIVE) => Dir::FromCtrl,
            CmdKey::Fabrics(_) => Dir::None,
            CmdKey::Admin(op) | CmdKey::Io(op) => match op & 3 {
                1 => Dir::ToCtrl,
                2 | 3 => Dir::FromCtrl,
                _ => Dir::None,
            },
        }
    }

    fn inline_limit(&self) -> u32 {
        self.q
            .as_ref()
            .map_or(ADMIN_INLINE_DATA, |q| q.inline_limit)
    }

    /// Checks PSDT/FUSE and the SGL against the data; returns the transfer length.
    fn check_sgl(&self, sqe: &Sqe, data_len: usize, dir: Dir) -> Result<u32, Status> {
        if sqe.flags & 0xc0 != Sqe::PSDT_SGL || sqe.flags & 0x03 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let sgl = sqe.dptr;
        let len = sgl.length.get();
        let data_len = u32::try_from(data_len).unwrap_or(u32::MAX);
        match sgl.id {
            SglDescriptor::ID_IN_CAPSULE => {
                if dir == Dir::FromCtrl {
                    return Err(Status::SGL_INVALID_TYPE);
                }
                if sgl.addr.get() != 0 {
                    return Err(Status::SGL_INVALID_OFFSET);
                }
                if len != data_len || len > self.inline_limit() {
                    return Err(Status::SGL_INVALID_DATA);
                }
            }
            SglDescriptor::ID_TRANSPORT => {
                if data_len != 0 {
                    return Err(Status::SGL_INVALID_DATA);
                }
            }
            _ if len == 0 && data_len == 0 => {}
            _ => return Err(Status::SGL_INVALID_TYPE),
        }
        if len > self.shared.config.max_transfer() {
            return Err(Status::INVALID_FIELD);
        }
        Ok(len)
    }

    async fn on_command(&mut self, sqe: Sqe, data: Bytes) -> Flow {
        let key = self.classify(&sqe);
        self.commands += 1;
        let effects = {
            let mut st = self.shared.lock();
            *st.counters.commands.entry(key).or_default() += 1;
            // A Connect names its host and subsystem before the queue exists.
            let connect = self.q.is_none() && key == CmdKey::Fabrics(fctype::CONNECT);
            let field = |r: std::ops::Range<usize>| {
                connect
                    .then(|| data.get(r).and_then(crate::fabrics::nqn))
                    .flatten()
            };
            let (c_host, c_sub) = (field(512..768), field(256..512));
            let ctx = MatchCtx {
                connection: self.id,
                hostnqn: self
                    .q
                    .as_ref()
                    .map(|q| q.hostnqn.as_str())
                    .or(c_host.as_deref()),
                subnqn: self
                    .q
                    .as_ref()
                    .map(|q| q.subnqn.as_str())
                    .or(c_sub.as_deref()),
                qid: self.q.as_ref().map(|q| q.qid),
            };
            let (effects, fired) = st.faults.on_command(&ctx, key, self.commands);
            st.counters.faults_fired += fired;
            if key == CmdKey::Admin(crate::admin::opcode::KEEP_ALIVE) {
                st.counters.keep_alives += 1;
            }
            effects
        };
        if effects.drop_now || effects.reset_now {
            self.reset_on_close = effects.reset_now;
            return Err(Close);
        }
        if let Some(q) = &mut self.q {
            q.sqhd = ((u32::from(q.sqhd) + 1) % (u32::from(q.sqsize) + 1)) as u16;
            let keep_alive = key == CmdKey::Admin(crate::admin::opcode::KEEP_ALIVE)
                || (self.shared.config.traffic_based_keep_alive && q.qid == 0);
            if keep_alive && let Some(kato) = q.kato {
                self.kato_deadline = Some(Instant::now() + kato);
            }
        }
        if effects.never_answer {
            return Ok(());
        }
        let cid = sqe.cid();
        if self.q.is_none() && key != CmdKey::Fabrics(fctype::CONNECT) {
            return self
                .complete(cid, Completion::status(Status::CMD_SEQ_ERROR), &effects)
                .await;
        }
        let dir = Self::direction(key);
        let xfer_len = match self.check_sgl(&sqe, data.len(), dir) {
            Ok(l) => l,
            Err(s) => return self.complete(cid, Completion::status(s), &effects).await,
        };
        let req = Request {
            sqe,
            key,
            data,
            xfer_len,
            effects,
        };
        if dir == Dir::ToCtrl && sqe.dptr.id == SglDescriptor::ID_TRANSPORT && xfer_len > 0 {
            return self.start_h2c(req).await;
        }
        self.execute(req).await
    }

    /// A command or H2CData whose data digest failed: the command completes with a
    /// Transient Transport Error; the connection stays up.
    async fn on_data_digest_error(&mut self, ty: PduType, frame: &Bytes) -> Flow {
        self.shared.lock().counters.data_digest_errors += 1;
        match ty {
            PduType::CapsuleCmd => {
                let Ok((raw, _)) = RawCapsuleCmdHeader::read_from_prefix(frame) else {
                    return Err(Close);
                };
                // Count and sequence it like any command, but never execute it.
                self.commands += 1;
                if let Some(q) = &mut self.q {
                    q.sqhd = ((u32::from(q.sqhd) + 1) % (u32::from(q.sqsize) + 1)) as u16;
                }
                let c = Completion::status(Status::TRANSIENT_TRANSPORT);
                self.complete(raw.sqe.cid(), c, &Effects::default()).await
            }
            PduType::H2CData => {
                let Ok((raw, _)) = RawDataHeader::read_from_prefix(frame) else {
                    return Err(Close);
                };
                let last = raw.ch.flags & flags::LAST_PDU != 0;
                let (cccid, ttag, datao) = (raw.cccid.get(), raw.ttag.get(), raw.datao.get());
                if let Some(x) = self.h2c.get_mut(&ttag) {
                    x.failed = true;
                }
                let len = raw.datal.get() as usize;
                let zeros = vec![0u8; len.min(self.limits.max_data as usize)];
                self.on_h2c_data(cccid, ttag, datao, last, Some(&zeros), frame)
                    .await
            }
            _ => Err(Close),
        }
    }

    async fn start_h2c(&mut self, req: Request) -> Flow {
        let cid = req.sqe.cid();
        let len = req.xfer_len as usize;
        if self.h2c_bytes + len > self.shared.config.max_pending_write_bytes
            || self.h2c.len() >= 1024
        {
            let c = Completion::status(Status::INTERNAL);
            return self.complete(cid, c, &req.effects).await;
        }
        let mut ttag = self.next_ttag;
        while self.h2c.contains_key(&ttag) {
            ttag = ttag.wrapping_add(1);
        }
        self.next_ttag = ttag.wrapping_add(1);
        let r2tl = self.r2t_len(0, req.xfer_len);
        self.h2c_bytes += len;
        self.h2c.insert(
            ttag,
            H2cXfer {
                req,
                buf: Vec::with_capacity(len),
                received: 0,
                r2t_end: r2tl,
                failed: false,
            },
        );
        self.send_r2t(cid, ttag, 0, r2tl).await
    }

    fn r2t_len(&self, from: u32, total: u32) -> u32 {
        let left = total - from;
        self.shared
            .config
            .r2t_chunk
            .map_or(left, |c| c.max(4).min(left))
    }

    async fn send_r2t(&mut self, cccid: u16, ttag: u16, r2to: u32, r2tl: u32) -> Flow {
        self.shared.lock().counters.r2ts_sent += 1;
        let r2t = R2t {
            cccid,
            ttag,
            r2to,
            r2tl,
        };
        self.send_pdu(&Pdu::R2t(r2t)).await
    }

    async fn on_h2c_data(
        &mut self,
        cccid: u16,
        ttag: u16,
        datao: u32,
        last: bool,
        data: Option<&[u8]>,
        frame: &[u8],
    ) -> Flow {
        let data = data.unwrap_or_default();
        let datal = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let maxh2cdata = self.shared.config.ic.maxh2cdata;
        let header = frame.get(..24).unwrap_or(frame);
        let Some(x) = self.h2c.get_mut(&ttag) else {
            // FEI: offset of TTAG.
            return self.terminate(fes::INVALID_HEADER_FIELD, 10, header).await;
        };
        if x.req.sqe.cid() != cccid {
            // FEI: offset of CCCID.
            return self.terminate(fes::INVALID_HEADER_FIELD, 8, header).await;
        }
        if datal > maxh2cdata {
            let e = PduError::DataTooLarge {
                len: datal,
                max: maxh2cdata,
            };
            return self.fatal(&e, header).await;
        }
        let end = datao.checked_add(datal);
        if datao != x.received || end.is_none_or(|e| e > x.r2t_end) {
            let e = PduError::DataOutOfRange {
                cccid,
                offset: datao,
                len: datal,
            };
            return self.fatal(&e, header).await;
        }
        let end = datao + datal;
        if last != (end == x.r2t_end) {
            let e = PduError::InvalidFlags {
                pdu_type: PduType::H2CData,
                flags: frame.get(1).copied().unwrap_or(0),
            };
            return self.fatal(&e, header).await;
        }
        x.buf.extend_from_slice(data);
        x.received = end;
        if end < x.r2t_end {
            return Ok(());
        }
        let total = x.req.xfer_len;
        if end < total {
            let r2tl = self.r2t_len(end, total);
            if let Some(x) = self.h2c.get_mut(&ttag) {
                x.r2t_end = end + r2tl;
            }
            return self.send_r2t(cccid, ttag, end, r2tl).await;
        }
        let Some(x) = self.h2c.remove(&ttag) else {
            return Ok(());
        };
        self.h2c_bytes = self.h2c_bytes.saturating_sub(x.buf.capacity());
        if x.failed {
            let c = Completion::status(Status::TRANSIENT_TRANSPORT);
            return self.complete(cccid, c, &x.req.effects).await;
        }
        let req = Request {
            data: Bytes::from(x.buf),
            ..x.req
        };
        self.execute(req).await
    }

    /// Runs a command whose data (if any) is complete, then answers it.
    async fn execute(&mut self, req: Request) -> Flow {
        let cid = req.sqe.cid();
        let outcome = if let Some(s) = req.effects.refuse_connect {
            Completion::status(s).into()
        } else if let Some(s) = req.effects.fail {
            Completion::status(s).into()
        } else {
            match req.key {
                CmdKey::Fabrics(_) => self.fabrics(&req),
                CmdKey::Admin(_) => self.admin(&req),
                CmdKey::Io(_) => self.io(&req),
            }
        };
        match outcome {
            Outcome::Done(c) => self.complete(cid, c, &req.effects).await?,
            Outcome::Held => {}
        }
        self.deliver_aens().await
    }

    /// The CQE for `cid` on this queue.
    fn cqe(&self, cid: u16, dw0: u32, dw1: u32, status: Status) -> Cqe {
        let (sqhd, sqid) = self.q.as_ref().map_or((0, 0), |q| {
            (if q.sqflow_disabled { 0xffff } else { q.sqhd }, q.qid)
        });
        Cqe {
            dw0: dw0.into(),
            dw1: dw1.into(),
            sqhd: sqhd.into(),
            sqid: sqid.into(),
            cid: cid.into(),
            status: status.to_cqe_status().into(),
        }
    }

    /// Builds the response PDUs (C2HData, then CapsuleResp unless SUCCESS is used).
    fn build_reply(&self, cid: u16, c: &Completion) -> Reply {
        let mut r = Reply {
            close_after: c.close_after,
            ..Reply::default()
        };
        let cfg = &self.shared.config;
        let mut success_flag = false;
        if let Some(data) = c.data.as_ref().filter(|d| !d.is_empty())
            && c.status.is_success()
        {
            success_flag = c.dw0 == 0
                && c.dw1 == 0
                && match cfg.c2h_success {
                    C2hSuccess::Never => false,
                    C2hSuccess::Always => true,
                    C2hSuccess::WhenSqFlowDisabled => {
                        self.q.as_ref().is_some_and(|q| q.sqflow_disabled)
                    }
                };
            let chunk = cfg.c2h_chunk.max(4) as usize;
            let mut off = 0usize;
            while off < data.len() {
                let end = (off + chunk).min(data.len());
                let last = end == data.len();
                let pdu = C2HData {
                    cccid: cid,
                    datao: off as u32,
                    last,
                    success: last && success_flag,
                    data: data.slice(off..end),
                };
                r.push(&Pdu::C2HData(pdu), &self.neg);
                off = end;
            }
        }
        if !success_flag {
            let cqe = self.cqe(cid, c.dw0, c.dw1, c.status);
            r.push(&Pdu::CapsuleResp(CapsuleResp { cqe }), &self.neg);
        }
        r
    }

    /// Answers `cid`, applying the command's fault effects.
    async fn complete(&mut self, cid: u16, c: Completion, e: &Effects) -> Flow {
        let mut reply = match e.malformed {
            Some(kind) => self.malformed(kind, cid, c.data.as_ref().map_or(0, Bytes::len)),
            None => self.build_reply(cid, &c),
        };
        if e.corrupt_hdgst {
            reply.corrupt_hdgst(&self.neg);
        }
        if e.corrupt_ddgst {
            reply.corrupt_ddgst(&self.neg);
        }
        if let Some(d) = e.delay {
            self.delayed.push(Delayed {
                at: Instant::now() + d,
                bytes: reply.bytes,
                close_after: reply.close_after,
            });
            return Ok(());
        }
        self.send(&reply.bytes).await?;
        if reply.close_after {
            return Err(Close);
        }
        Ok(())
    }

    /// Completes held AERs with queued events of this connection's controller.
    pub async fn deliver_aens(&mut self) -> Flow {
        let Some(cntlid) = self.q.as_ref().filter(|q| q.qid == 0).map(|q| q.cntlid) else {
            return Ok(());
        };
        let mut out = Vec::new();
        {
            let mut st = self.shared.lock();
            let Some(ctrl) = st.controllers.get_mut(&cntlid) else {
                return Ok(());
            };
            while !self.aers.is_empty() {
                let Some(ev) = ctrl.events.pop_front() else {
                    break;
                };
                out.push((self.aers.remove(0), ev));
            }
            st.counters.aens_sent += out.len() as u64;
        }
        for (cid, ev) in out {
            let cqe = self.cqe(cid, ev, 0, Status::SUCCESS);
            self.send_pdu(&Pdu::CapsuleResp(CapsuleResp { cqe }))
                .await?;
        }
        Ok(())
    }

    /// A malformed or out-of-protocol PDU standing in for the answer to `cid`.
    fn malformed(&self, kind: MalformedPdu, cid: u16, data_len: usize) -> Reply {
        let mut r = Reply::default();
        let resp = |cid| {
            Pdu::CapsuleResp(CapsuleResp {
                cqe: self.cqe(cid, 0, 0, Status::SUCCESS),
            })
        };
        let hdgst_fix = |bytes: &mut [u8], hlen: usize| {
            if self.neg.hdgst
                && let Some(h) = bytes.get(..hlen)
            {
                let d = libnvme_rs::tcp::digest::crc32c(h).to_le_bytes();
                if let Some(slot) = bytes.get_mut(hlen..hlen + DIGEST_LEN) {
                    slot.copy_from_slice(&d);
                }
            }
        };
        let set = |bytes: &mut Vec<u8>, at: usize, value: &[u8]| {
            if let Some(dst) = bytes.get_mut(at..at + value.len()) {
                dst.copy_from_slice(value);
            }
        };
        match kind {
            MalformedPdu::UnknownType => {
                r.bytes = vec![0u8; 24];
                set(&mut r.bytes, 0, &[0x08, 0, 24, 0, 24]);
            }
            MalformedPdu::BadHlen => {
                r.push(&resp(cid), &self.neg);
                let plen = r.bytes.len() + 8;
                r.bytes.resize(plen, 0);
                set(&mut r.bytes, 2, &[32]);
                set(&mut r.bytes, 4, &(plen as u32).to_le_bytes());
            }
            MalformedPdu::PlenTooLarge => {
                r.push(&resp(cid), &self.neg);
                set(&mut r.bytes, 4, &0x8000_0000u32.to_le_bytes());
            }
            MalformedPdu::BadPdo => {
                r.push(&resp(cid), &self.neg);
                set(&mut r.bytes, 3, &[24]);
                hdgst_fix(&mut r.bytes, 24);
            }
            MalformedPdu::DigestFlagMismatch => {
                r.push(&resp(cid), &self.neg);
                let fl = r.bytes.get(1).copied().unwrap_or(0) ^ flags::HDGSTF;
                set(&mut r.bytes, 1, &[fl]);
            }
            MalformedPdu::SuccessWithoutLast => {
                let pdu = C2HData {
                    cccid: cid,
                    datao: 0,
                    last: true,
                    success: true,
                    data: Bytes::from(vec![0u8; data_len.clamp(4, 4096)]),
                };
                r.push(&Pdu::C2HData(pdu), &self.neg);
                let fl = r.bytes.get(1).copied().unwrap_or(0) & !flags::LAST_PDU;
                set(&mut r.bytes, 1, &[fl]);
                hdgst_fix(&mut r.bytes, 24);
            }
            MalformedPdu::DataOutOfRange => {
                let pdu = C2HData {
                    cccid: cid,
                    datao: 0x1000_0000,
                    last: true,
                    success: false,
                    data: Bytes::from(vec![0u8; 512]),
                };
                r.push(&Pdu::C2HData(pdu), &self.neg);
            }
            MalformedPdu::UnexpectedR2t => {
                let r2t = R2t {
                    cccid: cid,
                    ttag: 0x5a5a,
                    r2to: 0,
                    r2tl: 4096,
                };
                r.push(&Pdu::R2t(r2t), &self.neg);
            }
            MalformedPdu::UnknownCid => r.push(&resp(cid ^ 0x8000), &self.neg),
        }
        r
    }

    /// Registers the queue after a successful Fabrics Connect.
    pub fn set_queue(&mut self, q: Queue) {
        let max = self
            .shared
            .config
            .ic
            .maxh2cdata
            .max(q.inline_limit)
            .max(ADMIN_INLINE_DATA);
        self.limits = Limits::new(max);
        if q.qid == 0
            && let Some(kato) = q.kato
        {
            self.kato_deadline = Some(Instant::now() + kato);
        }
        if let Some(c) = self.shared.lock().conns.get_mut(&self.id) {
            c.info.qid = Some(q.qid);
            c.info.cntlid = Some(q.cntlid);
            c.info.hostnqn = Some(q.hostnqn.clone());
            c.info.subnqn = Some(q.subnqn.clone());
        }
        self.q = Some(q);
    }
}

/// Counts a task as alive until dropped, and unregisters its connection (also on abort).
pub(crate) struct TaskGuard {
    shared: Arc<Shared>,
    conn: Option<u64>,
}

impl TaskGuard {
    pub fn new(shared: &Arc<Shared>, conn: Option<u64>) -> Self {
        shared.live_tasks.fetch_add(1, Ordering::SeqCst);
        Self {
            shared: shared.clone(),
            conn,
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(id) = self.conn {
            self.shared.lock().remove_connection(id);
        }
        self.shared.live_tasks.fetch_sub(1, Ordering::SeqCst);
    }
}
