//! The bounded, validating parser: [`Nbft::parse`] and the discovery URI grammar.

use std::net::{IpAddr, Ipv6Addr};

use super::layout::*;
use super::{
    DescriptorKind, Nbft, NbftDiscovery, NbftError, NbftHfi, NbftHfiTcp, NbftHost, NbftSsnsExt,
    NbftSubsystem, Skipped,
};
use crate::spec::WELL_KNOWN_DISC_NQN;

// Bounded little-endian field access. Callers slice a descriptor after checking its bounds,
// so these never miss; a miss would read as zero rather than panic.

fn rd_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

fn rd_u16(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(off..off + 2) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}

pub(super) fn rd_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn rd_array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = b.get(off..off + N) {
        a.copy_from_slice(s);
    }
    a
}

/// A heap object reference.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeapObj {
    pub(super) offset: u32,
    pub(super) length: u16,
}

pub(super) fn rd_obj(b: &[u8], off: usize) -> HeapObj {
    HeapObj {
        offset: rd_u32(b, off),
        length: rd_u16(b, off + 4),
    }
}

/// Converts a 16-byte address field: IPv4-mapped → IPv4, else IPv6.
fn ip_from_bytes(b: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(b);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

fn non_zero_ip(b: [u8; 16]) -> Option<IpAddr> {
    (b != [0u8; 16]).then(|| ip_from_bytes(b))
}

fn trim_text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default())
        .trim_end()
        .to_owned()
}

/// The table being parsed, with its validated heap bounds.
struct Table<'a> {
    data: &'a [u8],
    heap_start: u64,
    heap_end: u64,
}

impl<'a> Table<'a> {
    /// `len` bytes at `offset`, or [`NbftError::OutOfBounds`].
    fn slice(&self, what: &'static str, offset: u64, len: u64) -> Result<&'a [u8], NbftError> {
        let oob = || NbftError::OutOfBounds {
            what,
            offset,
            len,
            table: self.data.len(),
        };
        let end = offset.checked_add(len).ok_or_else(oob)?;
        let start = usize::try_from(offset).map_err(|_| oob())?;
        let end = usize::try_from(end).map_err(|_| oob())?;
        self.data.get(start..end).ok_or_else(oob)
    }

    /// The bytes of a heap object; `None` for a zero-length (absent) object.
    fn heap(
        &self,
        what: &'static str,
        field: &'static str,
        obj: HeapObj,
    ) -> Result<Option<&'a [u8]>, NbftError> {
        if obj.length == 0 {
            return Ok(None);
        }
        let start = u64::from(obj.offset);
        let end = start + u64::from(obj.length);
        if start < self.heap_start || end > self.heap_end {
            return Err(NbftError::HeapObjectOutOfBounds {
                what,
                field,
                offset: obj.offset,
                length: obj.length,
            });
        }
        self.slice(what, start, u64::from(obj.length)).map(Some)
    }

    /// A heap string: up to its length or first NUL, UTF-8.
    fn heap_str(
        &self,
        what: &'static str,
        field: &'static str,
        obj: HeapObj,
    ) -> Result<Option<String>, NbftError> {
        let Some(bytes) = self.heap(what, field, obj)? else {
            return Ok(None);
        };
        let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
        let text = std::str::from_utf8(bytes.get(..end).unwrap_or_default())
            .map_err(|_| NbftError::Malformed { what, field })?;
        Ok(Some(text.to_owned()))
    }

    fn required_str(
        &self,
        what: &'static str,
        field: &'static str,
        obj: HeapObj,
    ) -> Result<String, NbftError> {
        self.heap_str(what, field, obj)?
            .filter(|s| !s.is_empty())
            .ok_or(NbftError::Missing { what, field })
    }
}

fn check_id(what: &'static str, found: u8, expected: u8) -> Result<(), NbftError> {
    if found == expected {
        Ok(())
    } else {
        Err(NbftError::BadStructureId {
            what,
            found,
            expected,
        })
    }
}

/// A descriptor list: `count` entries of `stride` bytes at `offset`.
fn list<'a>(
    t: &Table<'a>,
    what: &'static str,
    offset: u32,
    stride: u16,
    count: u8,
    min: usize,
) -> Result<Vec<&'a [u8]>, NbftError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    // libnvme indexes with the structure size; a zero length is read the same way.
    let stride_len = if stride == 0 {
        min
    } else {
        usize::from(stride)
    };
    if stride_len < min {
        return Err(NbftError::DescriptorTooShort { what, stride, min });
    }
    let total = stride_len as u64 * u64::from(count);
    t.slice(what, u64::from(offset), total)?;
    (0..usize::from(count))
        .map(|i| {
            t.slice(
                what,
                u64::from(offset) + (i * stride_len) as u64,
                min as u64,
            )
        })
        .collect()
}

impl Nbft {
    /// Parses and validates a table (see the module documentation).
    pub fn parse(data: &[u8]) -> Result<Nbft, NbftError> {
        let min = HEADER_LEN + CONTROL_LEN;
        if data.len() < min {
            return Err(NbftError::TooShort {
                len: data.len(),
                min,
            });
        }
        let sig: [u8; 4] = rd_array(data, 0);
        if &sig != SIGNATURE {
            return Err(NbftError::BadSignature(sig));
        }
        let length = rd_u32(data, 4);
        let table_len = usize::try_from(length).unwrap_or(usize::MAX);
        if table_len > data.len() {
            return Err(NbftError::LengthExceedsData {
                header: length,
                actual: data.len(),
            });
        }
        if table_len < min {
            return Err(NbftError::TooShort {
                len: table_len,
                min,
            });
        }
        let data = data.get(..table_len).unwrap_or_default();
        let sum = data.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        if sum != 0 {
            return Err(NbftError::BadChecksum(sum));
        }
        let major_revision = rd_u8(data, 8);
        if major_revision != 1 {
            return Err(NbftError::UnsupportedRevision(major_revision));
        }
        let heap_offset = rd_u32(data, 36);
        let heap_length = rd_u32(data, 40);
        let heap_start = u64::from(heap_offset);
        let heap_end = heap_start + u64::from(heap_length);
        if heap_end > table_len as u64 {
            return Err(NbftError::OutOfBounds {
                what: "heap",
                offset: heap_start,
                len: u64::from(heap_length),
                table: table_len,
            });
        }
        let t = Table {
            data,
            heap_start,
            heap_end,
        };
        let mut nbft = Nbft {
            major_revision,
            minor_revision: rd_u8(data, 50),
            oem_id: trim_text(data.get(10..16).unwrap_or_default()),
            oem_table_id: trim_text(data.get(16..24).unwrap_or_default()),
            host: None,
            hfis: Vec::new(),
            security_count: 0,
            discovery: Vec::new(),
            subsystems: Vec::new(),
            skipped: Vec::new(),
        };

        let control = t.slice("control descriptor", HEADER_LEN as u64, CONTROL_LEN as u64)?;
        if rd_u8(control, 6) & CONTROL_VALID == 0 {
            return Ok(nbft);
        }
        check_id("control descriptor", rd_u8(control, 0), ID_CONTROL)?;

        let hdesc = rd_u32(control, 8);
        let host = t.slice("host descriptor", u64::from(hdesc), HOST_LEN as u64)?;
        nbft.host = Some(parse_host(&t, host)?);

        let hfis = list(
            &t,
            "HFI descriptor list",
            rd_u32(control, 16),
            rd_u16(control, 20),
            rd_u8(control, 23),
            HFI_LEN,
        )?;
        let ssns = list(
            &t,
            "SSNS descriptor list",
            rd_u32(control, 24),
            rd_u16(control, 28),
            rd_u8(control, 31),
            SSNS_LEN,
        )?;
        let security = list(
            &t,
            "security descriptor list",
            rd_u32(control, 32),
            rd_u16(control, 36),
            rd_u8(control, 39),
            SECURITY_LEN,
        )?;
        nbft.security_count = u8::try_from(security.len()).unwrap_or(u8::MAX);
        let discovery = list(
            &t,
            "discovery descriptor list",
            rd_u32(control, 40),
            rd_u16(control, 44),
            rd_u8(control, 47),
            DISCOVERY_LEN,
        )?;

        for (position, d) in hfis.into_iter().enumerate() {
            match parse_hfi(&t, d) {
                Ok(Some(h)) => nbft.hfis.push(h),
                Ok(None) => {}
                Err(error) => nbft.skipped.push(Skipped {
                    kind: DescriptorKind::Hfi,
                    position,
                    error,
                }),
            }
        }
        for (position, d) in discovery.into_iter().enumerate() {
            match parse_discovery(&t, d) {
                Ok(Some(x)) => nbft.discovery.push(x),
                Ok(None) => {}
                Err(error) => nbft.skipped.push(Skipped {
                    kind: DescriptorKind::Discovery,
                    position,
                    error,
                }),
            }
        }
        for (position, d) in ssns.into_iter().enumerate() {
            match parse_ssns(&t, d, &nbft.hfis) {
                Ok(Some(x)) => nbft.subsystems.push(x),
                Ok(None) => {}
                Err(error) => nbft.skipped.push(Skipped {
                    kind: DescriptorKind::Subsystem,
                    position,
                    error,
                }),
            }
        }
        Ok(nbft)
    }
}

fn parse_host(t: &Table<'_>, d: &[u8]) -> Result<NbftHost, NbftError> {
    const WHAT: &str = "host descriptor";
    let flags = rd_u8(d, 1);
    if flags & HOST_VALID == 0 {
        return Err(NbftError::HostNotValid);
    }
    check_id(WHAT, rd_u8(d, 0), ID_HOST)?;
    Ok(NbftHost {
        id: rd_array(d, 2),
        nqn: t.required_str(WHAT, "host NQN", rd_obj(d, 18))?,
        id_configured: flags & HOST_ID_CONFIGURED != 0,
        nqn_configured: flags & HOST_NQN_CONFIGURED != 0,
        primary_admin: (flags >> HOST_PRIMARY_SHIFT) & 0x3,
    })
}

fn parse_hfi(t: &Table<'_>, d: &[u8]) -> Result<Option<NbftHfi>, NbftError> {
    const WHAT: &str = "HFI descriptor";
    const TCP: &str = "HFI transport info";
    if rd_u8(d, 2) & HFI_VALID == 0 {
        return Ok(None);
    }
    check_id(WHAT, rd_u8(d, 0), ID_HFI)?;
    let trtype = rd_u8(d, 3);
    if trtype != TRTYPE_TCP {
        return Err(NbftError::UnsupportedTransport { what: WHAT, trtype });
    }
    let info = t
        .heap(WHAT, "transport info", rd_obj(d, 16))?
        .ok_or(NbftError::Missing {
            what: WHAT,
            field: "transport info",
        })?;
    if info.len() < HFI_TCP_LEN {
        return Err(NbftError::HeapObjectTooShort {
            what: WHAT,
            field: "transport info",
            len: info.len(),
            min: HFI_TCP_LEN,
        });
    }
    let flags = rd_u8(info, 6);
    if flags & HFI_TCP_VALID == 0 {
        return Err(NbftError::NotValid { what: TCP });
    }
    check_id(TCP, rd_u8(info, 0), ID_HFI_TRINFO)?;
    let version = rd_u8(info, 1);
    if version != 1 {
        return Err(NbftError::BadVersion {
            what: TCP,
            found: version,
        });
    }
    let dhcp_override = flags & HFI_TCP_DHCP_OVERRIDE != 0;
    Ok(Some(NbftHfi {
        index: rd_u8(d, 1),
        tcp: NbftHfiTcp {
            pci_sbdf: rd_u32(info, 7),
            mac: rd_array(info, 11),
            vlan: rd_u16(info, 17),
            ip_origin: rd_u8(info, 19),
            ipaddr: ip_from_bytes(rd_array(info, 20)),
            subnet_mask_prefix: rd_u8(info, 36),
            gateway: non_zero_ip(rd_array(info, 37)),
            route_metric: rd_u16(info, 54),
            primary_dns: non_zero_ip(rd_array(info, 56)),
            secondary_dns: non_zero_ip(rd_array(info, 72)),
            dhcp_server: if dhcp_override {
                non_zero_ip(rd_array(info, 88))
            } else {
                None
            },
            // Optional and informational: a bad reference is ignored, as in libnvme.
            host_name: t
                .heap_str(TCP, "host name", rd_obj(info, 104))
                .ok()
                .flatten()
                .filter(|s| !s.is_empty()),
            dhcp_override,
            default_route: flags & HFI_TCP_GLOBAL_ROUTE != 0,
        },
    }))
}

/// `(transport, host, port)` of a discovery URI `nvme+<transport>://host[:port][/...]`,
/// following Python's `urlparse` (scheme and host lower-cased, userinfo dropped, IPv6 in
/// brackets, port canonicalised as a number 0..=65535).
pub fn parse_discovery_uri(uri: &str) -> Result<(String, String, Option<String>), NbftError> {
    let bad = |reason| NbftError::BadUri {
        uri: uri.to_owned(),
        reason,
    };
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    let transport = scheme
        .split('+')
        .nth(1)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or_else(|| bad("scheme is not nvme+<transport>"))?
        .to_owned();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
        };
        (h, port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            let digits = p.trim_start_matches('0');
            let n: u32 = match digits {
                "" => 0,
                d if d.len() > 5 => return Err(bad("port out of range")),
                d => d.parse().map_err(|_| bad("bad port"))?,
            };
            if n > 65535 {
                return Err(bad("port out of range"));
            }
            Some(n.to_string())
        }
        Some(_) => return Err(bad("bad port")),
    };
    Ok((transport, host.to_lowercase(), port))
}

fn parse_discovery(t: &Table<'_>, d: &[u8]) -> Result<Option<NbftDiscovery>, NbftError> {
    const WHAT: &str = "discovery descriptor";
    if rd_u8(d, 1) & DISCOVERY_VALID == 0 {
        return Ok(None);
    }
    check_id(WHAT, rd_u8(d, 0), ID_DISCOVERY)?;
    let uri = t.required_str(WHAT, "controller URI", rd_obj(d, 6))?;
    let nqn = t
        .heap_str(WHAT, "controller NQN", rd_obj(d, 12))?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| WELL_KNOWN_DISC_NQN.to_owned());
    let (transport, traddr, trsvcid) = parse_discovery_uri(&uri)?;
    Ok(Some(NbftDiscovery {
        index: rd_u8(d, 2),
        hfi_index: rd_u8(d, 3),
        security_index: rd_u8(d, 4),
        uri,
        nqn,
        transport,
        traddr,
        trsvcid,
    }))
}

fn parse_ssns(
    t: &Table<'_>,
    d: &[u8],
    hfis: &[NbftHfi],
) -> Result<Option<NbftSubsystem>, NbftError> {
    const WHAT: &str = "SSNS descriptor";
    let flags = rd_u16(d, 3);
    if flags & SSNS_VALID == 0 {
        return Ok(None);
    }
    check_id(WHAT, rd_u8(d, 0), ID_SSNS)?;
    let index = rd_u16(d, 1);
    let trtype = rd_u8(d, 5);
    if trtype != TRTYPE_TCP {
        return Err(NbftError::UnsupportedTransport { what: WHAT, trtype });
    }
    let trflags = rd_u16(d, 6);
    let addr = t
        .heap(WHAT, "transport address", rd_obj(d, 10))?
        .ok_or(NbftError::Missing {
            what: WHAT,
            field: "transport address",
        })?;
    let traddr = match <[u8; 16]>::try_from(addr) {
        Ok(raw) => ip_from_bytes(raw).to_string(),
        Err(_) => {
            // Not 16 address bytes: accept an IP literal written as text.
            let end = addr.iter().position(|&c| c == 0).unwrap_or(addr.len());
            std::str::from_utf8(addr.get(..end).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .map(|ip| ip.to_string())
                .ok_or(NbftError::Malformed {
                    what: WHAT,
                    field: "transport address",
                })?
        }
    };
    let trsvcid = t.required_str(WHAT, "transport service ID", rd_obj(d, 16))?;
    let primary = rd_u8(d, 46);
    if !hfis.iter().any(|h| h.index == primary) {
        return Err(NbftError::HfiNotFound {
            what: WHAT,
            index: primary,
        });
    }
    let mut hfi_indexes = vec![primary];
    if let Some(secondary) = t.heap(WHAT, "secondary HFI associations", rd_obj(d, 48))? {
        // Firmware repeats the primary HFI in this list (Dell PowerEdge R660/R760 do): each
        // HFI is listed once, as libnvme's read_ssns does.
        for &i in secondary {
            if hfis.iter().any(|h| h.index == i) && !hfi_indexes.contains(&i) {
                hfi_indexes.push(i);
            }
        }
    }
    let subsys_nqn = t.required_str(WHAT, "subsystem NQN", rd_obj(d, 54))?;
    let extended = if flags & SSNS_EXTENDED_INFO_IN_USE != 0 {
        // Informational, as in libnvme: a bad extension is ignored.
        parse_ssns_ext(t, rd_obj(d, 60), index).ok().flatten()
    } else {
        None
    };
    Ok(Some(NbftSubsystem {
        index,
        traddr,
        trsvcid,
        subsys_nqn,
        subsys_port_id: rd_u16(d, 22),
        nsid: rd_u32(d, 24),
        nid_type: rd_u8(d, 28),
        nid: rd_array(d, 29),
        hdr_digest: trflags & SSNS_HDR_DIGEST != 0,
        data_digest: trflags & SSNS_DATA_DIGEST != 0,
        primary_discovery_index: rd_u8(d, 8),
        security_index: rd_u8(d, 45),
        hfi_indexes,
        non_bootable: flags & SSNS_NON_BOOTABLE != 0,
        discovered: flags & SSNS_DISCOVERED != 0,
        unavailable: u8::try_from((flags >> SSNS_UNAVAIL_SHIFT) & 0x3).unwrap_or(0),
        extended,
    }))
}

fn parse_ssns_ext(
    t: &Table<'_>,
    obj: HeapObj,
    ssns_index: u16,
) -> Result<Option<NbftSsnsExt>, NbftError> {
    const WHAT: &str = "SSNS extended info";
    let Some(e) = t.heap(WHAT, "descriptor", obj)? else {
        return Ok(None);
    };
    if e.len() < SSNS_EXT_LEN {
        return Err(NbftError::HeapObjectTooShort {
            what: WHAT,
            field: "descriptor",
            len: e.len(),
            min: SSNS_EXT_LEN,
        });
    }
    check_id(WHAT, rd_u8(e, 0), ID_SSNS_EXT)?;
    if rd_u8(e, 1) != 1 || rd_u16(e, 2) != ssns_index {
        return Ok(None);
    }
    let flags = rd_u32(e, 4);
    if flags & SSNS_EXT_VALID == 0 {
        return Ok(None);
    }
    Ok(Some(NbftSsnsExt {
        controller_id: rd_u16(e, 8),
        asqsz: (flags & SSNS_EXT_ADMIN_ASQSZ != 0).then(|| rd_u16(e, 10)),
        dhcp_root_path: t
            .heap_str(WHAT, "DHCP root path", rd_obj(e, 12))
            .ok()
            .flatten(),
    }))
}
