//! A small raw NVMe/TCP client over the libnvme-rs codec: enough to drive the simulator
//! PDU by PDU in tests (no queue pair, no timers, one command at a time plus stashed AERs).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
use libnvme_rs::tcp::{
    CapsuleCmd, Cqe, H2CData, IcReq, IcResp, Limits, Negotiated, Pdu, PduError, SglDescriptor, Sqe,
    decode_bytes, encode, peek_header,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zerocopy::IntoBytes;

pub const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:0f8fad5b-d9cb-469f-a165-70867728950e";
pub const HOSTID: [u8; 16] = [
    0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f, 0xa1, 0x65, 0x70, 0x86, 0x77, 0x28, 0x95, 0x0e,
];
pub const DISC_NQN: &str = WELL_KNOWN_DISC_NQN;
/// Upper bound on any single wait in tests.
pub const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub enum RecvError {
    Eof,
    Timeout,
    Io(std::io::Error),
    Pdu(PduError),
}

impl RecvError {
    /// The connection was closed or reset by the simulator.
    pub fn is_closed(&self) -> bool {
        match self {
            Self::Eof => true,
            Self::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            _ => false,
        }
    }
}

pub struct Client {
    pub stream: TcpStream,
    rbuf: BytesMut,
    pub neg: Negotiated,
    pub limits: Limits,
    pub maxh2cdata: u32,
    next_cid: u16,
    /// Completions for other CIDs (AERs) seen while waiting.
    pub stash: Vec<Cqe>,
    /// The last frame received, raw.
    pub last_frame: Bytes,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("tcp connect");
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            rbuf: BytesMut::new(),
            neg: Negotiated::default(),
            limits: Limits::new(16 << 20),
            maxh2cdata: 0,
            next_cid: 1,
            stash: Vec::new(),
            last_frame: Bytes::new(),
        }
    }

    /// Sends a PDU; a write error (peer gone) shows up on the next receive instead.
    pub async fn send(&mut self, pdu: &Pdu) {
        let bytes = encode(pdu, &self.neg).expect("encode");
        let _ = self.stream.write_all(&bytes).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    pub async fn recv_timeout(&mut self, wait: Duration) -> Result<Pdu, RecvError> {
        tokio::time::timeout(wait, self.recv_inner())
            .await
            .unwrap_or(Err(RecvError::Timeout))
    }

    pub async fn recv(&mut self) -> Result<Pdu, RecvError> {
        self.recv_timeout(WAIT).await
    }

    async fn recv_inner(&mut self) -> Result<Pdu, RecvError> {
        loop {
            if let Some(info) = peek_header(&self.rbuf, &self.limits).map_err(RecvError::Pdu)?
                && self.rbuf.len() >= info.frame_len()
            {
                let frame = self.rbuf.split_to(info.frame_len()).freeze();
                self.last_frame = frame.clone();
                return decode_bytes(&frame, &self.neg, &self.limits).map_err(RecvError::Pdu);
            }
            match self.stream.read_buf(&mut self.rbuf).await {
                Ok(0) => return Err(RecvError::Eof),
                Ok(_) => {}
                Err(e) => return Err(RecvError::Io(e)),
            }
        }
    }

    /// Waits for the peer to close the connection (anything received before is discarded).
    pub async fn expect_closed(&mut self) {
        self.rbuf.clear();
        let wait = async {
            loop {
                match self.stream.read_buf(&mut self.rbuf).await {
                    Ok(0) => return,
                    Ok(_) => self.rbuf.clear(),
                    Err(e) => {
                        assert!(RecvError::Io(e).is_closed(), "read error");
                        return;
                    }
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .expect("connection not closed");
    }

    pub async fn ic_with(&mut self, req: IcReq) -> Result<IcResp, RecvError> {
        self.send(&Pdu::IcReq(req)).await;
        match self.recv().await? {
            Pdu::IcResp(r) => {
                self.neg = Negotiated::from_exchange(&req, &r);
                self.maxh2cdata = r.maxh2cdata;
                Ok(r)
            }
            other => panic!("expected ICResp, got {other:?}"),
        }
    }

    pub async fn ic(&mut self, hdgst: bool, ddgst: bool) -> IcResp {
        let req = IcReq {
            hpda: 0,
            hdgst,
            ddgst,
            maxr2t: 0,
        };
        self.ic_with(req).await.expect("ICResp")
    }

    pub fn cid(&mut self) -> u16 {
        let c = self.next_cid;
        self.next_cid = self.next_cid.wrapping_add(1).max(1);
        c
    }

    /// Sends a command without waiting; returns its CID.
    pub async fn post(
        &mut self,
        mut sqe: Sqe,
        out: Option<&[u8]>,
        in_capsule: bool,
        in_len: u32,
    ) -> u16 {
        let cid = self.cid();
        sqe.set_cid(cid);
        sqe.flags = Sqe::PSDT_SGL;
        let mut data = Bytes::new();
        match out {
            Some(d) if in_capsule => {
                sqe.dptr = SglDescriptor::in_capsule(d.len() as u32);
                data = Bytes::copy_from_slice(d);
            }
            Some(d) => sqe.dptr = SglDescriptor::transport(d.len() as u32),
            None => sqe.dptr = SglDescriptor::transport(in_len),
        }
        self.send(&Pdu::CapsuleCmd(CapsuleCmd { sqe, data })).await;
        cid
    }

    /// Waits for command `cid`'s completion, moving data both ways.
    pub async fn finish(
        &mut self,
        cid: u16,
        out: Option<&[u8]>,
        in_len: u32,
    ) -> Result<(Cqe, Vec<u8>), RecvError> {
        let mut buf = vec![0u8; in_len as usize];
        loop {
            match self.recv().await? {
                Pdu::CapsuleResp(r) if r.cqe.cid() == cid => return Ok((r.cqe, buf)),
                Pdu::CapsuleResp(r) => self.stash.push(r.cqe),
                Pdu::C2HData(d) => {
                    assert_eq!(d.cccid, cid, "C2HData for another command");
                    let at = d.datao as usize;
                    buf.get_mut(at..at + d.data.len())
                        .expect("C2HData within the transfer")
                        .copy_from_slice(&d.data);
                    if d.success {
                        let cqe = Cqe {
                            cid: cid.into(),
                            ..Cqe::default()
                        };
                        return Ok((cqe, buf));
                    }
                }
                Pdu::R2t(r) => {
                    assert_eq!(r.cccid, cid);
                    let data = out.expect("R2T for a command without data");
                    let mut off = r.r2to;
                    let end = r.r2to + r.r2tl;
                    while off < end {
                        let n = (end - off).min(self.maxh2cdata);
                        let chunk = &data[off as usize..(off + n) as usize];
                        let pdu = H2CData {
                            cccid: cid,
                            ttag: r.ttag,
                            datao: off,
                            last: off + n == end,
                            data: Bytes::copy_from_slice(chunk),
                        };
                        self.send(&Pdu::H2CData(pdu)).await;
                        off += n;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// One command, start to end.
    pub async fn submit(
        &mut self,
        sqe: Sqe,
        out: Option<&[u8]>,
        in_capsule: bool,
        in_len: u32,
    ) -> Result<(Cqe, Vec<u8>), RecvError> {
        let cid = self.post(sqe, out, in_capsule, in_len).await;
        self.finish(cid, out, in_len).await
    }

    /// Waits for the completion of `cid` (e.g. an AER), looking at stashed ones first.
    pub async fn wait_cqe(&mut self, cid: u16, wait: Duration) -> Result<Cqe, RecvError> {
        if let Some(i) = self.stash.iter().position(|c| c.cid() == cid) {
            return Ok(self.stash.remove(i));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_timeout(left).await? {
                Pdu::CapsuleResp(r) if r.cqe.cid() == cid => return Ok(r.cqe),
                Pdu::CapsuleResp(r) => self.stash.push(r.cqe),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub async fn connect_queue(
        &mut self,
        subnqn: &str,
        qid: u16,
        cntlid: u16,
        kato_ms: u32,
        cattr: u8,
    ) -> Result<Cqe, RecvError> {
        let mut sqe = fabrics_sqe(0x01);
        let b = sqe.as_mut_bytes();
        b[42..44].copy_from_slice(&qid.to_le_bytes());
        b[44..46].copy_from_slice(&31u16.to_le_bytes());
        b[46] = cattr;
        b[48..52].copy_from_slice(&kato_ms.to_le_bytes());
        let mut data = vec![0u8; 1024];
        data[..16].copy_from_slice(&HOSTID);
        data[16..18].copy_from_slice(&cntlid.to_le_bytes());
        data[256..256 + subnqn.len()].copy_from_slice(subnqn.as_bytes());
        data[512..512 + HOSTNQN.len()].copy_from_slice(HOSTNQN.as_bytes());
        Ok(self.submit(sqe, Some(&data), true, 0).await?.0)
    }

    pub async fn prop_get(&mut self, offset: u32, eight: bool) -> Cqe {
        let mut sqe = fabrics_sqe(0x04);
        let b = sqe.as_mut_bytes();
        b[40] = u8::from(eight);
        b[44..48].copy_from_slice(&offset.to_le_bytes());
        self.submit(sqe, None, false, 0)
            .await
            .expect("property get")
            .0
    }

    pub async fn prop_set(&mut self, offset: u32, value: u32) -> Cqe {
        let mut sqe = fabrics_sqe(0x00);
        let b = sqe.as_mut_bytes();
        b[44..48].copy_from_slice(&offset.to_le_bytes());
        b[48..52].copy_from_slice(&value.to_le_bytes());
        self.submit(sqe, None, false, 0)
            .await
            .expect("property set")
            .0
    }

    /// CC = 0x00460001, then polls CSTS.RDY; returns CSTS.
    pub async fn enable(&mut self) -> u32 {
        assert!(self.prop_set(0x14, 0x0046_0000).await.is_success());
        assert!(self.prop_set(0x14, 0x0046_0001).await.is_success());
        for _ in 0..20 {
            let csts = self.prop_get(0x1c, false).await.dw0();
            if csts & 3 != 0 {
                return csts;
            }
        }
        panic!("controller never became ready");
    }

    pub async fn admin(&mut self, opcode: u8, cdw10: u32, cdw11: u32) -> Cqe {
        let sqe = Sqe {
            opcode,
            cdw10: cdw10.into(),
            cdw11: cdw11.into(),
            ..Sqe::default()
        };
        self.submit(sqe, None, false, 0).await.expect("admin").0
    }

    pub async fn identify(&mut self, cns: u8, nsid: u32) -> Result<(Cqe, Vec<u8>), RecvError> {
        let sqe = Sqe {
            opcode: 0x06,
            nsid: nsid.into(),
            cdw10: u32::from(cns).into(),
            ..Sqe::default()
        };
        self.submit(sqe, None, false, 4096).await
    }

    pub async fn get_log(
        &mut self,
        lid: u8,
        offset: u64,
        len: u32,
        rae: bool,
    ) -> Result<(Cqe, Vec<u8>), RecvError> {
        let sqe = log_sqe(lid, offset, len, rae);
        self.submit(sqe, None, false, len).await
    }

    pub async fn keep_alive(&mut self) -> Cqe {
        self.admin(0x18, 0, 0).await
    }

    /// Posts an AER; returns its CID.
    pub async fn post_aer(&mut self) -> u16 {
        let sqe = Sqe {
            opcode: 0x0c,
            ..Sqe::default()
        };
        self.post(sqe, None, false, 0).await
    }
}

pub fn fabrics_sqe(fctype: u8) -> Sqe {
    let mut sqe = Sqe {
        opcode: 0x7f,
        ..Sqe::default()
    };
    sqe.as_mut_bytes()[4] = fctype;
    sqe
}

pub fn log_sqe(lid: u8, offset: u64, len: u32, rae: bool) -> Sqe {
    let numd = len / 4 - 1;
    Sqe {
        opcode: 0x02,
        cdw10: (u32::from(lid) | (u32::from(rae) << 15) | ((numd & 0xffff) << 16)).into(),
        cdw11: (numd >> 16).into(),
        cdw12: (offset as u32).into(),
        cdw13: ((offset >> 32) as u32).into(),
        ..Sqe::default()
    }
}

/// (SCT, SC, DNR) of a completion.
pub fn status(cqe: &Cqe) -> (u8, u8, bool) {
    let sf = cqe.status_field();
    (((sf >> 8) & 7) as u8, sf as u8, cqe.dnr())
}

/// IC + admin Connect + enable.
pub async fn admin_session(
    addr: SocketAddr,
    subnqn: &str,
    kato_ms: u32,
    digests: bool,
) -> (Client, u16) {
    let mut c = Client::connect(addr).await;
    c.ic(digests, digests).await;
    let cqe = c
        .connect_queue(subnqn, 0, 0xffff, kato_ms, 0)
        .await
        .expect("connect");
    assert!(cqe.is_success(), "connect failed: {:?}", status(&cqe));
    let cntlid = cqe.dw0() as u16;
    let csts = c.enable().await;
    assert_eq!(csts & 3, 1, "CSTS {csts:#x}");
    (c, cntlid)
}

/// Polls `f` until it holds (or panics after [`WAIT`]).
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
