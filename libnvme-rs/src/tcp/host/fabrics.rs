//! Fabrics commands (protocol reference §2): Connect, Property Get/Set, Disconnect, and the
//! controller enable / shutdown sequences built on the properties.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::error::TcpError;
use super::inflight::Transfer;
use super::options::HostId;
use super::queue::QueueHandle;
use crate::spec::NQN_MAX_LEN;
use crate::spec::fabrics::{
    CONNECT_ATR, CONNECT_DATA_SIZE, OPCODE, SC_CONNECT_INVALID_PARAMETERS, cc, csts, fctype,
    property,
};
use crate::tcp::Sqe;

fn fabrics_sqe(fctype: u8, fields: &[(usize, &[u8])]) -> Sqe {
    let mut raw = [0u8; 64];
    raw[0] = OPCODE;
    raw[1] = Sqe::PSDT_SGL;
    raw[4] = fctype;
    for (offset, bytes) in fields {
        if let Some(dst) = raw.get_mut(*offset..offset + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
    Sqe::from_bytes(&raw)
}

/// Connect SQE: QID @42, SQSIZE (0's based) @44, CATTR @46, KATO (ms) @48.
pub fn connect_sqe(qid: u16, sqsize: u16, cattr: u8, kato_ms: u32) -> Sqe {
    fabrics_sqe(
        fctype::CONNECT,
        &[
            (42, &qid.to_le_bytes()),
            (44, &sqsize.to_le_bytes()),
            (46, &[cattr]),
            (48, &kato_ms.to_le_bytes()),
        ],
    )
}

fn put_nqn(dst: &mut [u8], what: &str, nqn: &str) -> Result<(), TcpError> {
    let bytes = nqn.as_bytes();
    if bytes.is_empty() || bytes.len() > NQN_MAX_LEN || bytes.contains(&0) {
        return Err(TcpError::InvalidArgument(format!(
            "{what} must be 1..={NQN_MAX_LEN} bytes without NUL, got {} bytes",
            bytes.len()
        )));
    }
    if let Some(field) = dst.get_mut(..bytes.len()) {
        field.copy_from_slice(bytes);
    }
    Ok(())
}

/// Connect data: HOSTID @0, CNTLID @16, SUBNQN @256, HOSTNQN @512 (NUL terminated).
pub fn connect_data(
    host: &HostId,
    cntlid: u16,
    subnqn: &str,
) -> Result<[u8; CONNECT_DATA_SIZE], TcpError> {
    let mut data = [0u8; CONNECT_DATA_SIZE];
    data[..16].copy_from_slice(&host.hostid);
    data[16..18].copy_from_slice(&cntlid.to_le_bytes());
    put_nqn(&mut data[256..512], "subsystem NQN", subnqn)?;
    put_nqn(&mut data[512..768], "host NQN", &host.hostnqn)?;
    Ok(data)
}

/// Property Get: ATTRIB @40 (1 = 8 bytes), OFFSET @44.
pub fn property_get_sqe(offset: u32, eight_bytes: bool) -> Sqe {
    fabrics_sqe(
        fctype::PROPERTY_GET,
        &[(40, &[u8::from(eight_bytes)]), (44, &offset.to_le_bytes())],
    )
}

/// Property Set of a 4-byte property (the only size nvmet accepts): VALUE @48.
pub fn property_set_sqe(offset: u32, value: u32) -> Sqe {
    fabrics_sqe(
        fctype::PROPERTY_SET,
        &[
            (40, &[0]),
            (44, &offset.to_le_bytes()),
            (48, &u64::from(value).to_le_bytes()),
        ],
    )
}

/// Disconnect (RECFMT 0); only valid on I/O queues, only if OFCS bit 0.
pub fn disconnect_sqe() -> Sqe {
    fabrics_sqe(fctype::DISCONNECT, &[])
}

/// What one Fabrics Connect asks for.
#[derive(Debug, Clone, Copy)]
pub struct ConnectCommand<'a> {
    /// QID: queue ID, 0 for the admin queue.
    pub qid: u16,
    /// Entries of the queue; SQSIZE is this minus one.
    pub queue_size: u16,
    /// Zero on I/O queues.
    pub kato: Duration,
    /// [`CNTLID_DYNAMIC`](crate::spec::fabrics::CNTLID_DYNAMIC) for the admin queue, the admin queue's answer for I/O queues.
    pub cntlid: u16,
    /// HOSTNQN and HOSTID sent in the Connect data.
    pub host: &'a HostId,
    /// SUBNQN: the NVM subsystem (or discovery) NQN to connect to.
    pub subnqn: &'a str,
}

/// Sends Connect and returns the CNTLID the controller assigned.
pub async fn connect(q: &QueueHandle, p: &ConnectCommand<'_>) -> Result<u16, TcpError> {
    let kato_ms = u32::try_from(p.kato.as_millis()).unwrap_or(u32::MAX);
    let sqe = connect_sqe(p.qid, p.queue_size.saturating_sub(1), 0, kato_ms);
    let data = connect_data(p.host, p.cntlid, p.subnqn)?;
    let c = q
        .submit(
            sqe,
            Transfer::Write(Bytes::copy_from_slice(&data)),
            Some(q.command_timeout()),
        )
        .await?;
    let dw0 = c.cqe.dw0();
    match c.cqe.status() {
        None if dw0 & CONNECT_ATR != 0 => Err(TcpError::AuthenticationRequired),
        // Truncation intended: CNTLID is DW0 bits 15:0.
        None => Ok(dw0 as u16),
        Some(s) if s.sct == 1 && s.sc == SC_CONNECT_INVALID_PARAMETERS => {
            Err(TcpError::ConnectInvalidParameters {
                ipo: dw0 as u16,
                iattr: dw0 & (1 << 16) != 0,
            })
        }
        Some(s) => Err(TcpError::Status(s)),
    }
}

/// Reads a property (CAP with `eight_bytes`, the others without).
pub async fn property_get(
    q: &QueueHandle,
    offset: u32,
    eight_bytes: bool,
) -> Result<u64, TcpError> {
    let c = q
        .execute(property_get_sqe(offset, eight_bytes), Transfer::None)
        .await?;
    Ok(u64::from(c.cqe.dw0()) | (u64::from(c.cqe.dw1()) << 32))
}

/// Writes a 4-byte property.
pub async fn property_set(q: &QueueHandle, offset: u32, value: u32) -> Result<(), TcpError> {
    q.execute(property_set_sqe(offset, value), Transfer::None)
        .await
        .map(drop)
}

/// Controller Capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap(pub u64);

impl Cap {
    /// Maximum queue entries, 0's based.
    pub fn mqes(&self) -> u16 {
        self.0 as u16
    }

    /// Worst-case time to become ready: (TO + 1) × 500 ms, as Linux waits.
    pub fn ready_timeout(&self) -> Duration {
        Duration::from_millis(((self.0 >> 24) & 0xff).saturating_add(1) * 500)
    }

    /// CSS bit 43: I/O command sets beyond NVM (CC.CSS = 110b allowed).
    pub fn io_command_sets(&self) -> bool {
        self.0 & (1 << 43) != 0
    }

    /// Minimum memory page size in bytes (MDTS unit).
    pub fn mpsmin_bytes(&self) -> usize {
        1usize << (12 + ((self.0 >> 48) & 0xf))
    }
}

/// CC as Linux configures it: CSS per CAP, MPS 0, AMS 0, IOSQES 6, IOCQES 4, EN clear.
pub fn cc_config(cap: Cap) -> u32 {
    let css = if cap.io_command_sets() {
        cc::CSS_ALL_IO
    } else {
        0
    };
    css | cc::IOSQES | cc::IOCQES
}

/// The enable sequence (§2.4): CAP, CC without EN, CC with EN, poll CSTS.RDY within
/// CAP.TO. Returns CAP and the CC value written.
pub async fn enable(q: &QueueHandle) -> Result<(Cap, u32), TcpError> {
    let cap = Cap(property_get(q, property::CAP, true).await?);
    let config = cc_config(cap);
    property_set(q, property::CC, config).await?;
    let cc = config | cc::EN;
    property_set(q, property::CC, cc).await?;
    wait_csts(q, |v| v & csts::RDY != 0, cap.ready_timeout()).await?;
    Ok((cap, cc))
}

/// Normal shutdown: CC.SHN = 01b, then wait for CSTS.SHST = 10b.
pub async fn shutdown(q: &QueueHandle, cc: u32, timeout: Duration) -> Result<(), TcpError> {
    property_set(q, property::CC, (cc & !cc::SHN_MASK) | cc::SHN_NORMAL).await?;
    wait_csts(q, |v| v & csts::SHST_MASK == csts::SHST_COMPLETE, timeout)
        .await
        .map(drop)
}

/// Polls CSTS (1 ms, doubling to 100 ms) until `done`; CFS is fatal.
async fn wait_csts(
    q: &QueueHandle,
    done: impl Fn(u32) -> bool,
    timeout: Duration,
) -> Result<u32, TcpError> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(1);
    loop {
        // CSTS is a 4-byte property: the upper half of the result is zero.
        let value = property_get(q, property::CSTS, false).await? as u32;
        if value & csts::CFS != 0 {
            return Err(TcpError::ControllerFatal);
        }
        if done(value) {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(TcpError::NotReady(timeout));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use zerocopy::IntoBytes;

    use super::*;

    #[test]
    fn connect_sqe_layout() {
        let sqe = connect_sqe(3, 127, 4, 30_000);
        let b = sqe.as_bytes();
        assert_eq!((b[0], b[1], b[4]), (0x7f, 0x40, 0x01));
        assert_eq!(&b[42..44], &3u16.to_le_bytes());
        assert_eq!(&b[44..46], &127u16.to_le_bytes());
        assert_eq!(b[46], 4);
        assert_eq!(&b[48..52], &30_000u32.to_le_bytes());
    }

    #[test]
    fn connect_data_layout_and_nqn_bounds() {
        let host = HostId {
            hostnqn: "nqn.2014-08.org.nvmexpress:uuid:1".into(),
            hostid: [7; 16],
        };
        let d = connect_data(&host, 0xffff, "nqn.sub").unwrap();
        assert_eq!(&d[..16], &[7; 16]);
        assert_eq!(&d[16..18], &[0xff, 0xff]);
        assert_eq!(&d[256..263], b"nqn.sub");
        assert_eq!(d[263], 0);
        assert_eq!(&d[512..512 + host.hostnqn.len()], host.hostnqn.as_bytes());
        assert!(connect_data(&host, 1, &"x".repeat(224)).is_err());
        assert!(connect_data(&host, 1, "").is_err());
        assert!(connect_data(&host, 1, "a\0b").is_err());
    }

    #[test]
    fn property_sqes() {
        let g = property_get_sqe(property::CAP, true);
        let b = g.as_bytes();
        assert_eq!((b[4], b[40]), (fctype::PROPERTY_GET, 1));
        let s = property_set_sqe(property::CC, 0x0046_0001);
        let b = s.as_bytes();
        assert_eq!((b[4], b[40]), (fctype::PROPERTY_SET, 0));
        assert_eq!(&b[44..48], &0x14u32.to_le_bytes());
        assert_eq!(&b[48..56], &0x0046_0001u64.to_le_bytes());
        assert_eq!(disconnect_sqe().as_bytes()[4], fctype::DISCONNECT);
    }

    #[test]
    fn cap_fields_and_cc() {
        let cap = Cap((1 << 43) | (0x1e << 24) | (1 << 48) | 127);
        assert_eq!(cap.mqes(), 127);
        assert_eq!(cap.ready_timeout(), Duration::from_millis(31 * 500));
        assert_eq!(cap.mpsmin_bytes(), 8192);
        assert_eq!(cc_config(cap) | cc::EN, 0x0046_0061);
        assert_eq!(cc_config(Cap(0)) | cc::EN, 0x0046_0001);
    }
}
