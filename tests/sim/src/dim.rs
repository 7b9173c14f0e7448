//! Parser for TP8010 Discovery Information Management data (protocol reference §3.8).
//! Every length is checked against the received bytes; a bad payload is an error, never a
//! panic.

use libnvme_rs::admin::dim::{
    DIM_HEADER_SIZE, EXAT_HEADER_SIZE, EXATTYPE_HOSTID, EXATTYPE_SYMNAME, EXT_DIE_FIXED_SIZE,
    RawDimHeader, RawExat, RawExtDie,
};
use libnvme_rs::spec::disclog::{ENTRY_SIZE, RawDiscoveryLogEntry};
use zerocopy::FromBytes;

use crate::state::DimEntry;

/// Most entries accepted in one command (far above what a host registers).
const MAX_ENTRIES: u64 = 64;

/// Header fields and entries of a DIM payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedDim {
    pub tdl: u32,
    pub entfmt: u16,
    pub etype: u16,
    pub portlcl: u8,
    pub ektype: u16,
    pub eid: String,
    pub ename: String,
    pub ever: String,
    pub entries: Vec<DimEntry>,
}

/// Why a DIM payload was rejected (answered with Invalid Discovery Information).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DimParseError {
    #[error("payload of {0} bytes is shorter than the DIM header")]
    Short(usize),
    #[error("TDL {tdl} does not fit the {len} bytes received")]
    BadTdl { tdl: u32, len: usize },
    #[error("{0} entries is too many")]
    TooManyEntries(u64),
    #[error("entry format {0} is unknown")]
    BadFormat(u16),
    #[error("entry {0} is truncated")]
    Truncated(usize),
    #[error("field {0} is not printable ASCII")]
    NotPrintable(&'static str),
    #[error("entity identifier is empty")]
    EmptyEid,
}

/// Text up to the first NUL with trailing spaces stripped; must be printable ASCII.
fn text(raw: &[u8], field: &'static str) -> Result<String, DimParseError> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let t = raw.get(..end).unwrap_or_default().trim_ascii_end();
    if t.iter().any(|b| !(0x20..=0x7e).contains(b)) {
        return Err(DimParseError::NotPrintable(field));
    }
    Ok(t.iter().map(|&b| char::from(b)).collect())
}

fn entry_fields(raw: &RawDiscoveryLogEntry) -> Result<DimEntry, DimParseError> {
    Ok(DimEntry {
        trtype: raw.trtype,
        adrfam: raw.adrfam,
        subtype: raw.subtype,
        treq: raw.treq,
        portid: raw.portid.get(),
        trsvcid: text(&raw.trsvcid, "trsvcid")?,
        nqn: text(&raw.subnqn, "nqn")?,
        traddr: text(&raw.traddr, "traddr")?,
        hostid: None,
        symname: None,
        exats: Vec::new(),
    })
}

/// Parses a DIM payload (header + entries) of any task.
pub(crate) fn parse(data: &[u8]) -> Result<ParsedDim, DimParseError> {
    let (hdr, _) =
        RawDimHeader::read_from_prefix(data).map_err(|_| DimParseError::Short(data.len()))?;
    let tdl = hdr.tdl.get();
    let body_end = usize::try_from(tdl)
        .ok()
        .filter(|&t| (DIM_HEADER_SIZE..=data.len()).contains(&t))
        .ok_or(DimParseError::BadTdl {
            tdl,
            len: data.len(),
        })?;
    let nument = hdr.nument.get();
    if nument > MAX_ENTRIES {
        return Err(DimParseError::TooManyEntries(nument));
    }
    let entfmt = hdr.entfmt.get();
    let eid = text(&hdr.eid, "eid")?;
    if eid.is_empty() {
        return Err(DimParseError::EmptyEid);
    }
    let mut entries = Vec::new();
    let mut pos = DIM_HEADER_SIZE;
    for index in 0..nument as usize {
        let rest = data
            .get(pos..body_end)
            .ok_or(DimParseError::Truncated(index))?;
        match entfmt {
            1 => {
                let (raw, _) = RawDiscoveryLogEntry::read_from_prefix(rest)
                    .map_err(|_| DimParseError::Truncated(index))?;
                entries.push(entry_fields(&raw)?);
                pos += ENTRY_SIZE;
            }
            2 => {
                let (die, _) = RawExtDie::read_from_prefix(rest)
                    .map_err(|_| DimParseError::Truncated(index))?;
                let tel = die.tel.get() as usize;
                if tel < EXT_DIE_FIXED_SIZE || tel > rest.len() {
                    return Err(DimParseError::Truncated(index));
                }
                let mut entry = entry_fields(&die.entry)?;
                let mut exats = rest
                    .get(EXT_DIE_FIXED_SIZE..tel)
                    .ok_or(DimParseError::Truncated(index))?;
                for _ in 0..die.numexat.get() {
                    let (h, after) = RawExat::read_from_prefix(exats)
                        .map_err(|_| DimParseError::Truncated(index))?;
                    let len = usize::from(h.exatlen.get());
                    let value = after.get(..len).ok_or(DimParseError::Truncated(index))?;
                    match h.exattype.get() {
                        EXATTYPE_HOSTID => {
                            entry.hostid = value.get(..16).and_then(|v| v.try_into().ok());
                        }
                        EXATTYPE_SYMNAME => entry.symname = Some(text(value, "symname")?),
                        _ => {}
                    }
                    entry.exats.push((h.exattype.get(), value.to_vec()));
                    let step = (EXAT_HEADER_SIZE + len).next_multiple_of(4);
                    exats = exats.get(step..).unwrap_or_default();
                }
                entries.push(entry);
                pos += tel;
            }
            other => return Err(DimParseError::BadFormat(other)),
        }
    }
    Ok(ParsedDim {
        tdl,
        entfmt,
        etype: hdr.etype.get(),
        portlcl: hdr.portlcl,
        ektype: hdr.ektype.get(),
        eid,
        ename: text(&hdr.ename, "ename")?,
        ever: text(&hdr.ever, "ever")?,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use libnvme_rs::admin::dim::DimHostEntry;
    use libnvme_rs::spec::disclog::adrfam;

    fn host() -> DimHostEntry {
        DimHostEntry {
            hostnqn: "nqn.2014-08.org.nvmexpress:uuid:1234".into(),
            hostid: [7; 16],
            entity_name: "host1".into(),
            entity_version: "Linux 6.12".into(),
            adrfam: adrfam::IPV4,
            symname: Some("rack 7".into()),
        }
    }

    #[test]
    fn parses_libnvme_payload() {
        let p = parse(&host().payload().unwrap()).unwrap();
        assert_eq!(p.eid, "nqn.2014-08.org.nvmexpress:uuid:1234");
        assert_eq!((p.ename.as_str(), p.ever.as_str()), ("host1", "Linux 6.12"));
        assert_eq!((p.entfmt, p.etype, p.ektype), (2, 1, 0x5f));
        assert_eq!(p.entries.len(), 1);
        let e = &p.entries[0];
        assert_eq!(e.hostid, Some([7; 16]));
        assert_eq!(e.symname.as_deref(), Some("rack 7"));
        assert_eq!(e.nqn, p.eid);
        assert_eq!(e.exats.len(), 2);
    }

    #[test]
    fn rejects_bad_payloads() {
        let good = host().payload().unwrap();
        assert!(matches!(
            parse(&good[..100]),
            Err(DimParseError::Short(100))
        ));
        // TDL larger than the data.
        let mut bad = good.clone();
        bad[0..4].copy_from_slice(&100_000u32.to_le_bytes());
        assert!(matches!(parse(&bad), Err(DimParseError::BadTdl { .. })));
        // Entry truncated by TDL.
        let mut bad = good.clone();
        bad[0..4].copy_from_slice(&1500u32.to_le_bytes());
        assert!(matches!(parse(&bad), Err(DimParseError::Truncated(0))));
        // EXAT length running past the entry.
        let mut bad = good.clone();
        let exat = DIM_HEADER_SIZE + EXT_DIE_FIXED_SIZE;
        bad[exat + 2..exat + 4].copy_from_slice(&4000u16.to_le_bytes());
        assert!(matches!(parse(&bad), Err(DimParseError::Truncated(0))));
        let mut bad = good;
        bad[24] = 0;
        assert!(matches!(parse(&bad), Err(DimParseError::EmptyEid)));
        // Arbitrary bytes never panic.
        for len in [0, 1024, 1100, 3000] {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = parse(&junk);
        }
    }
}
