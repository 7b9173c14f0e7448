//! The in-flight table of one queue: command identifiers, per-command data buffers, and the
//! checks a data PDU must pass before it touches a buffer. Pure bookkeeping under a mutex
//! the reader task and submitters share; no I/O, no awaiting.

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, oneshot};

use super::error::TcpError;
use crate::tcp::{C2HData, Cqe, PduError, PduType, R2t};

/// A finished command: its CQE (synthesized with status 0 for the C2HData SUCCESS path)
/// and, for a read, the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The completion queue entry (status, DW0/DW1).
    pub cqe: Cqe,
    /// Data read from the controller; empty for other commands.
    pub data: Vec<u8>,
}

/// The data phase of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    /// No data.
    None,
    /// Controller to host: this many bytes arrive in C2HData PDUs.
    Read(usize),
    /// Host to controller: in-capsule when it fits the queue's limit, else on R2T.
    Write(Bytes),
}

pub(crate) type Waiter = oneshot::Sender<Result<Completion, TcpError>>;

/// One outstanding command. It keeps its semaphore permit (queue depth) and its CID until
/// the controller completes it, even when the submitter gave up (timeout, cancellation):
/// a late completion then cannot be mistaken for a newer command's.
pub(crate) struct Slot {
    waiter: Option<Waiter>,
    read: Option<Vec<u8>>,
    received: usize,
    /// Data the controller fetches with R2T (absent when sent in-capsule).
    r2t_data: Option<Bytes>,
    /// How far the R2Ts so far reached into `r2t_data`.
    r2t_next: usize,
    digest_error: bool,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    pub(crate) fn new(
        waiter: Waiter,
        read_len: Option<usize>,
        r2t_data: Option<Bytes>,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        Self {
            waiter: Some(waiter),
            read: read_len.map(|n| vec![0; n]),
            received: 0,
            r2t_data,
            r2t_next: 0,
            digest_error: false,
            _permit: permit,
        }
    }
}

/// A result to hand to a submitter once the table lock is released.
pub(crate) struct Done {
    waiter: Option<Waiter>,
    result: Result<Completion, TcpError>,
}

impl Done {
    pub(crate) fn deliver(self) {
        if let Some(w) = self.waiter {
            // The submitter may have timed out or been cancelled; nobody to tell then.
            let _ = w.send(self.result);
        }
    }

    pub(crate) fn fail(slot: Slot, reason: TcpError) -> Self {
        Self {
            waiter: slot.waiter,
            result: Err(reason),
        }
    }
}

/// Slots grow to the most commands ever outstanding at once, not the queue depth: a
/// connection held for keep-alives (stacd's thousand I/O controllers) keeps one or two, not
/// a queue depth's worth (~10 KiB per queue).
pub(crate) struct Table {
    slots: Vec<Option<Slot>>,
    free: Vec<u16>,
    capacity: u16,
    closed: Option<TcpError>,
}

impl Table {
    /// A table with CIDs `0..capacity`.
    pub(crate) fn new(capacity: u16) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            capacity,
            closed: None,
        }
    }

    pub(crate) fn closed(&self) -> Option<&TcpError> {
        self.closed.as_ref()
    }

    /// Allocates a CID for `slot`; fails once the queue is closed.
    pub(crate) fn insert(&mut self, slot: Slot) -> Result<u16, TcpError> {
        if let Some(reason) = &self.closed {
            return Err(reason.clone());
        }
        // Cannot run out: every slot holds one of `capacity` semaphore permits.
        let cid = match self.free.pop() {
            Some(cid) => cid,
            None if self.slots.len() < usize::from(self.capacity) => {
                self.slots.push(None);
                u16::try_from(self.slots.len() - 1).unwrap_or(u16::MAX)
            }
            None => {
                return Err(TcpError::InvalidArgument(
                    "no free command identifier".into(),
                ));
            }
        };
        if let Some(entry) = self.slots.get_mut(usize::from(cid)) {
            *entry = Some(slot);
        }
        Ok(cid)
    }

    pub(crate) fn remove(&mut self, cid: u16) -> Option<Slot> {
        let slot = self.slots.get_mut(usize::from(cid))?.take()?;
        self.free.push(cid);
        Some(slot)
    }

    fn get_mut(&mut self, cid: u16) -> Option<&mut Slot> {
        self.slots.get_mut(usize::from(cid))?.as_mut()
    }

    /// Marks the table closed and hands back every outstanding command; `None` if it was
    /// closed already.
    pub(crate) fn close(&mut self, reason: TcpError) -> Option<Vec<Slot>> {
        if self.closed.is_some() {
            return None;
        }
        self.closed = Some(reason);
        Some(self.slots.iter_mut().filter_map(Option::take).collect())
    }

    /// A CapsuleResp. Error statuses are returned as completions (Connect needs DW0 of a
    /// failed completion); data problems become errors.
    pub(crate) fn on_resp(&mut self, cqe: Cqe) -> Result<Done, PduError> {
        let cid = cqe.cid();
        let slot = self
            .remove(cid)
            .ok_or(PduError::UnexpectedPdu(PduType::CapsuleResp))?;
        let result = if slot.digest_error {
            Err(TcpError::DataDigest { cid })
        } else if !cqe.is_success() {
            Ok(Completion {
                cqe,
                data: Vec::new(),
            })
        } else {
            finish(cid, slot.read, slot.received, cqe)
        };
        Ok(Done {
            waiter: slot.waiter,
            result,
        })
    }

    /// A C2HData PDU: data must continue exactly where the previous PDU ended (DATAO in
    /// order, as the Linux host assumes) and stay inside the command's read buffer.
    pub(crate) fn on_c2h(&mut self, d: &C2HData) -> Result<Option<Done>, PduError> {
        let cid = d.cccid;
        let len = u32::try_from(d.data.len()).unwrap_or(u32::MAX);
        let out_of_range = PduError::DataOutOfRange {
            cccid: cid,
            offset: d.datao,
            len,
        };
        let slot = self
            .get_mut(cid)
            .ok_or(PduError::UnexpectedPdu(PduType::C2HData))?;
        let received = slot.received;
        let Some(buf) = slot.read.as_mut() else {
            return Err(out_of_range);
        };
        let start = usize::try_from(d.datao).map_err(|_| out_of_range.clone())?;
        let end = start
            .checked_add(d.data.len())
            .filter(|&end| end <= buf.len())
            .ok_or_else(|| out_of_range.clone())?;
        if !slot.digest_error {
            if start != received {
                return Err(out_of_range);
            }
            if let Some(dst) = buf.get_mut(start..end) {
                dst.copy_from_slice(&d.data);
            }
            slot.received = end;
        }
        if !d.success {
            return Ok(None);
        }
        let Some(slot) = self.remove(cid) else {
            return Ok(None);
        };
        let cqe = Cqe {
            cid: cid.into(),
            ..Cqe::default()
        };
        let result = if slot.digest_error {
            Err(TcpError::DataDigest { cid })
        } else {
            finish(cid, slot.read, slot.received, cqe)
        };
        Ok(Some(Done {
            waiter: slot.waiter,
            result,
        }))
    }

    /// A C2HData whose data digest failed: the command fails (once it completes), the
    /// connection stays. `success` is the PDU's SUCCESS flag: no CapsuleResp will follow.
    pub(crate) fn on_data_digest_error(
        &mut self,
        cid: u16,
        success: bool,
    ) -> Result<Option<Done>, PduError> {
        let slot = self
            .get_mut(cid)
            .ok_or(PduError::UnexpectedPdu(PduType::C2HData))?;
        slot.digest_error = true;
        if !success {
            return Ok(None);
        }
        Ok(self
            .remove(cid)
            .map(|slot| Done::fail(slot, TcpError::DataDigest { cid })))
    }

    /// An R2T: the requested range must be non-empty and inside the command's write data.
    /// Returns the bytes to send.
    pub(crate) fn on_r2t(&mut self, r: &R2t) -> Result<Bytes, PduError> {
        let out_of_range = PduError::DataOutOfRange {
            cccid: r.cccid,
            offset: r.r2to,
            len: r.r2tl,
        };
        let slot = self
            .get_mut(r.cccid)
            .ok_or(PduError::UnexpectedPdu(PduType::R2t))?;
        let Some(data) = slot.r2t_data.as_ref() else {
            return Err(out_of_range);
        };
        let start = usize::try_from(r.r2to).map_err(|_| out_of_range.clone())?;
        // Data goes out once: no R2T may ask again for data already requested (Linux).
        if start < slot.r2t_next {
            return Err(out_of_range);
        }
        let end = usize::try_from(r.r2tl)
            .ok()
            .filter(|&n| n > 0)
            .and_then(|n| start.checked_add(n))
            .filter(|&end| end <= data.len())
            .ok_or(out_of_range)?;
        let out = data.slice(start..end);
        slot.r2t_next = end;
        Ok(out)
    }
}

fn finish(
    cid: u16,
    read: Option<Vec<u8>>,
    received: usize,
    cqe: Cqe,
) -> Result<Completion, TcpError> {
    let data = read.unwrap_or_default();
    if received != data.len() {
        return Err(TcpError::ShortTransfer {
            cid,
            expected: data.len(),
            received,
        });
    }
    Ok(Completion { cqe, data })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Semaphore;

    use super::*;

    fn slot(
        read: Option<usize>,
        write: Option<&'static [u8]>,
    ) -> (Slot, oneshot::Receiver<Result<Completion, TcpError>>) {
        let (tx, rx) = oneshot::channel();
        let permit = Arc::new(Semaphore::new(1))
            .try_acquire_owned()
            .expect("one permit");
        (
            Slot::new(tx, read, write.map(Bytes::from_static), permit),
            rx,
        )
    }

    fn c2h(cid: u16, datao: u32, data: &'static [u8], success: bool) -> C2HData {
        C2HData {
            cccid: cid,
            datao,
            last: success,
            success,
            data: Bytes::from_static(data),
        }
    }

    fn cqe(cid: u16, status: u16) -> Cqe {
        Cqe {
            cid: cid.into(),
            status: status.into(),
            ..Cqe::default()
        }
    }

    #[test]
    fn cids_are_recycled_and_bounded() {
        let mut t = Table::new(2);
        let a = t.insert(slot(None, None).0).unwrap();
        let b = t.insert(slot(None, None).0).unwrap();
        assert_ne!(a, b);
        assert!(t.insert(slot(None, None).0).is_err());
        assert!(t.remove(a).is_some());
        assert_eq!(t.insert(slot(None, None).0).unwrap(), a);
        // Slots follow what is outstanding, not the depth; unknown CIDs find nothing.
        let mut t = Table::new(128);
        let a = t.insert(slot(None, None).0).unwrap();
        assert!(t.remove(a).is_some());
        let a = t.insert(slot(None, None).0).unwrap();
        let b = t.insert(slot(None, None).0).unwrap();
        assert_eq!((a, b, t.slots.len()), (0, 1, 2));
        assert!(t.remove(100).is_none());
        assert!(t.on_resp(cqe(100, 0)).is_err());
    }

    #[test]
    fn read_in_order_then_resp() {
        let mut t = Table::new(4);
        let (s, mut rx) = slot(Some(8), None);
        let cid = t.insert(s).unwrap();
        assert!(t.on_c2h(&c2h(cid, 0, b"abcd", false)).unwrap().is_none());
        assert!(t.on_c2h(&c2h(cid, 4, b"efgh", false)).unwrap().is_none());
        t.on_resp(cqe(cid, 0)).unwrap().deliver();
        assert_eq!(rx.try_recv().unwrap().unwrap().data, b"abcdefgh");
    }

    #[test]
    fn read_out_of_range_or_out_of_order() {
        let mut t = Table::new(4);
        let (s, _rx) = slot(Some(8), None);
        let cid = t.insert(s).unwrap();
        let e = t.on_c2h(&c2h(cid, 6, b"abcd", false)).err().unwrap();
        assert_eq!(e.fes(), crate::tcp::wire::fes::DATA_OUT_OF_RANGE);
        assert!(t.on_c2h(&c2h(cid, 4, b"ab", false)).is_err());
        assert!(matches!(
            t.on_c2h(&c2h(cid + 1, 0, b"ab", false)),
            Err(PduError::UnexpectedPdu(_))
        ));
        // A write has no read buffer: any C2HData is out of range.
        let (w, _rx) = slot(None, Some(b"data"));
        let wid = t.insert(w).unwrap();
        assert!(matches!(
            t.on_c2h(&c2h(wid, 0, b"ab", false)),
            Err(PduError::DataOutOfRange { .. })
        ));
    }

    #[test]
    fn success_flag_completes_and_checks_length() {
        let mut t = Table::new(4);
        let (s, mut rx) = slot(Some(4), None);
        let cid = t.insert(s).unwrap();
        t.on_c2h(&c2h(cid, 0, b"wxyz", true))
            .unwrap()
            .unwrap()
            .deliver();
        let c = rx.try_recv().unwrap().unwrap();
        assert_eq!((c.cqe.cid(), c.data.as_slice()), (cid, &b"wxyz"[..]));

        let (s, mut rx) = slot(Some(8), None);
        let cid = t.insert(s).unwrap();
        t.on_c2h(&c2h(cid, 0, b"wxyz", true))
            .unwrap()
            .unwrap()
            .deliver();
        assert!(matches!(
            rx.try_recv().unwrap(),
            Err(TcpError::ShortTransfer {
                expected: 8,
                received: 4,
                ..
            })
        ));
    }

    #[test]
    fn short_read_with_resp_and_error_status() {
        let mut t = Table::new(4);
        let (s, mut rx) = slot(Some(8), None);
        let cid = t.insert(s).unwrap();
        t.on_resp(cqe(cid, 0)).unwrap().deliver();
        assert!(matches!(
            rx.try_recv().unwrap(),
            Err(TcpError::ShortTransfer { .. })
        ));
        let (s, mut rx) = slot(Some(8), None);
        let cid = t.insert(s).unwrap();
        t.on_resp(cqe(cid, 0x0004)).unwrap().deliver();
        assert!(!rx.try_recv().unwrap().unwrap().cqe.is_success());
        assert!(t.on_resp(cqe(cid, 0)).is_err(), "completed CID is free");
    }

    #[test]
    fn r2t_ranges() {
        let mut t = Table::new(4);
        let (s, _rx) = slot(None, Some(b"0123456789"));
        let cid = t.insert(s).unwrap();
        let r2t = |r2to, r2tl| R2t {
            cccid: cid,
            ttag: 1,
            r2to,
            r2tl,
        };
        assert_eq!(t.on_r2t(&r2t(2, 5)).unwrap(), &b"23456"[..]);
        assert!(t.on_r2t(&r2t(8, 5)).is_err());
        assert!(t.on_r2t(&r2t(0, 0)).is_err());
        assert!(t.on_r2t(&r2t(u32::MAX, 2)).is_err());
        let (r, _rx) = slot(Some(4), None);
        let rid = t.insert(r).unwrap();
        assert!(
            t.on_r2t(&R2t {
                cccid: rid,
                ttag: 0,
                r2to: 0,
                r2tl: 4
            })
            .is_err()
        );
    }

    #[test]
    fn digest_error_fails_only_the_command() {
        let mut t = Table::new(4);
        let (s, mut rx) = slot(Some(8), None);
        let cid = t.insert(s).unwrap();
        assert!(t.on_data_digest_error(cid, false).unwrap().is_none());
        assert!(t.on_c2h(&c2h(cid, 4, b"efgh", false)).unwrap().is_none());
        t.on_resp(cqe(cid, 0)).unwrap().deliver();
        assert!(matches!(
            rx.try_recv().unwrap(),
            Err(TcpError::DataDigest { .. })
        ));
    }

    #[test]
    fn close_drains_and_refuses() {
        let mut t = Table::new(4);
        let (s, _rx) = slot(None, None);
        t.insert(s).unwrap();
        assert_eq!(t.close(TcpError::Closed).map(|v| v.len()), Some(1));
        assert!(t.close(TcpError::Closed).is_none());
        assert!(matches!(
            t.insert(slot(None, None).0),
            Err(TcpError::Closed)
        ));
    }
}
