//! The serializer, the inverse of [`Nbft::parse`] for the modelled fields: tests and tools
//! build tables with it. Compiled for this crate's tests and with the `nbft-builder` feature.

use std::net::IpAddr;

use super::layout::*;
use super::{Nbft, NbftHfi};

/// SSNS transport flags "valid" bit: written, not checked by the parser (as libnvme).
const SSNS_TRFLAG_VALID: u16 = 1;

pub(super) fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(off..off + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Heap being assembled: objects are appended NUL-terminated (the length excludes the NUL).
struct HeapWriter {
    base: usize,
    bytes: Vec<u8>,
}

impl HeapWriter {
    fn add(&mut self, data: &[u8], nul: bool) -> [u8; 6] {
        let offset = u32::try_from(self.base + self.bytes.len()).unwrap_or(u32::MAX);
        let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
        self.bytes
            .extend_from_slice(data.get(..usize::from(length)).unwrap_or_default());
        if nul {
            self.bytes.push(0);
        }
        obj_bytes(offset, length)
    }

    fn add_str(&mut self, s: &str) -> [u8; 6] {
        self.add(s.as_bytes(), true)
    }
}

fn obj_bytes(offset: u32, length: u16) -> [u8; 6] {
    let mut o = [0u8; 6];
    put(&mut o, 0, &offset.to_le_bytes());
    put(&mut o, 4, &length.to_le_bytes());
    o
}

impl Nbft {
    /// Serializes the model to a valid table: header, control, host, HFI, discovery and SSNS
    /// lists, then the heap; checksum fixed. Skipped descriptors are not written; with no
    /// host the control descriptor is marked not valid. `Nbft::parse(&n.to_bytes())` gives
    /// `n` back for any model whose references resolve.
    pub fn to_bytes(&self) -> Vec<u8> {
        let host_off = HEADER_LEN + CONTROL_LEN;
        let hfi_off = host_off + HOST_LEN;
        let disc_off = hfi_off + HFI_LEN * self.hfis.len();
        let ssns_off = disc_off + DISCOVERY_LEN * self.discovery.len();
        let heap_off = if self.host.is_some() {
            ssns_off + SSNS_LEN * self.subsystems.len()
        } else {
            host_off
        };
        let mut buf = vec![0u8; heap_off];
        let mut heap = HeapWriter {
            base: heap_off,
            bytes: Vec::new(),
        };

        put(&mut buf, 0, SIGNATURE);
        buf[8] = self.major_revision;
        let mut oem = [0u8; 6];
        put(
            &mut oem,
            0,
            self.oem_id
                .as_bytes()
                .get(..6.min(self.oem_id.len()))
                .unwrap_or_default(),
        );
        put(&mut buf, 10, &oem);
        let mut oem_table = [0u8; 8];
        put(
            &mut oem_table,
            0,
            self.oem_table_id
                .as_bytes()
                .get(..8.min(self.oem_table_id.len()))
                .unwrap_or_default(),
        );
        put(&mut buf, 16, &oem_table);
        buf[50] = self.minor_revision;

        let c = HEADER_LEN;
        buf[c] = ID_CONTROL;
        buf[c + 1] = 1;
        put(&mut buf, c + 4, &(CONTROL_LEN as u16).to_le_bytes());
        if let Some(host) = &self.host {
            buf[c + 6] = CONTROL_VALID;
            put(
                &mut buf,
                c + 8,
                &obj_bytes(host_off as u32, HOST_LEN as u16),
            );
            buf[c + 14] = 1;
            let count = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
            for (at, off, len, n) in [
                (16, hfi_off, HFI_LEN, self.hfis.len()),
                (24, ssns_off, SSNS_LEN, self.subsystems.len()),
                (40, disc_off, DISCOVERY_LEN, self.discovery.len()),
            ] {
                put(&mut buf, c + at, &(off as u32).to_le_bytes());
                put(&mut buf, c + at + 4, &(len as u16).to_le_bytes());
                buf[c + at + 6] = 1;
                buf[c + at + 7] = count(n);
            }

            let h = host_off;
            buf[h] = ID_HOST;
            buf[h + 1] = HOST_VALID
                | if host.id_configured {
                    HOST_ID_CONFIGURED
                } else {
                    0
                }
                | if host.nqn_configured {
                    HOST_NQN_CONFIGURED
                } else {
                    0
                }
                | ((host.primary_admin & 0x3) << HOST_PRIMARY_SHIFT);
            put(&mut buf, h + 2, &host.id);
            let o = heap.add_str(&host.nqn);
            put(&mut buf, h + 18, &o);

            for (i, hfi) in self.hfis.iter().enumerate() {
                let d = hfi_off + i * HFI_LEN;
                buf[d] = ID_HFI;
                buf[d + 1] = hfi.index;
                buf[d + 2] = HFI_VALID;
                buf[d + 3] = TRTYPE_TCP;
                let info_at = heap.bytes.len();
                let o = heap.add(&hfi_tcp_bytes(hfi), false);
                put(&mut buf, d + 16, &o);
                // Host name: appended after the info, which is patched to point at it.
                if let Some(name) = &hfi.tcp.host_name {
                    let name_obj = heap.add_str(name);
                    put(&mut heap.bytes, info_at + 104, &name_obj);
                }
            }
            for (i, disc) in self.discovery.iter().enumerate() {
                let d = disc_off + i * DISCOVERY_LEN;
                buf[d] = ID_DISCOVERY;
                buf[d + 1] = DISCOVERY_VALID;
                buf[d + 2] = disc.index;
                buf[d + 3] = disc.hfi_index;
                buf[d + 4] = disc.security_index;
                let o = heap.add_str(&disc.uri);
                put(&mut buf, d + 6, &o);
                let o = heap.add_str(&disc.nqn);
                put(&mut buf, d + 12, &o);
            }
            for (i, s) in self.subsystems.iter().enumerate() {
                let d = ssns_off + i * SSNS_LEN;
                buf[d] = ID_SSNS;
                put(&mut buf, d + 1, &s.index.to_le_bytes());
                let flags = SSNS_VALID
                    | if s.non_bootable { SSNS_NON_BOOTABLE } else { 0 }
                    | if s.discovered { SSNS_DISCOVERED } else { 0 }
                    | if s.extended.is_some() {
                        SSNS_EXTENDED_INFO_IN_USE
                    } else {
                        0
                    }
                    | (u16::from(s.unavailable & 0x3) << SSNS_UNAVAIL_SHIFT);
                put(&mut buf, d + 3, &flags.to_le_bytes());
                buf[d + 5] = TRTYPE_TCP;
                let trflags = SSNS_TRFLAG_VALID
                    | if s.hdr_digest { SSNS_HDR_DIGEST } else { 0 }
                    | if s.data_digest { SSNS_DATA_DIGEST } else { 0 };
                put(&mut buf, d + 6, &trflags.to_le_bytes());
                buf[d + 8] = s.primary_discovery_index;
                let o = match s.traddr.parse::<IpAddr>() {
                    Ok(ip) => heap.add(&ip_to_bytes(&ip), false),
                    Err(_) => heap.add_str(&s.traddr),
                };
                put(&mut buf, d + 10, &o);
                let o = heap.add_str(&s.trsvcid);
                put(&mut buf, d + 16, &o);
                put(&mut buf, d + 22, &s.subsys_port_id.to_le_bytes());
                put(&mut buf, d + 24, &s.nsid.to_le_bytes());
                buf[d + 28] = s.nid_type;
                put(&mut buf, d + 29, &s.nid);
                buf[d + 45] = s.security_index;
                buf[d + 46] = s.hfi_indexes.first().copied().unwrap_or(0);
                if let Some(rest) = s.hfi_indexes.get(1..).filter(|r| !r.is_empty()) {
                    let o = heap.add(rest, false);
                    put(&mut buf, d + 48, &o);
                }
                let o = heap.add_str(&s.subsys_nqn);
                put(&mut buf, d + 54, &o);
                if let Some(ext) = &s.extended {
                    let root = ext.dhcp_root_path.as_deref().map(|p| heap.add_str(p));
                    let mut e = [0u8; SSNS_EXT_LEN];
                    e[0] = ID_SSNS_EXT;
                    e[1] = 1;
                    put(&mut e, 2, &s.index.to_le_bytes());
                    let eflags = SSNS_EXT_VALID
                        | if ext.asqsz.is_some() {
                            SSNS_EXT_ADMIN_ASQSZ
                        } else {
                            0
                        };
                    put(&mut e, 4, &eflags.to_le_bytes());
                    put(&mut e, 8, &ext.controller_id.to_le_bytes());
                    put(&mut e, 10, &ext.asqsz.unwrap_or(0).to_le_bytes());
                    if let Some(r) = root {
                        put(&mut e, 12, &r);
                    }
                    let o = heap.add(&e, false);
                    put(&mut buf, d + 60, &o);
                }
            }
        }

        let heap_len = heap.bytes.len();
        buf.extend_from_slice(&heap.bytes);
        let total = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        put(&mut buf, 4, &total.to_le_bytes());
        put(&mut buf, 36, &(heap_off as u32).to_le_bytes());
        put(&mut buf, 40, &(heap_len as u32).to_le_bytes());
        fix_checksum(&mut buf);
        buf
    }
}

/// The 128-byte NVMe/TCP transport info of `hfi` (host name reference left empty).
fn hfi_tcp_bytes(hfi: &NbftHfi) -> [u8; HFI_TCP_LEN] {
    let t = &hfi.tcp;
    let mut b = [0u8; HFI_TCP_LEN];
    b[0] = ID_HFI_TRINFO;
    b[1] = 1;
    b[2] = TRTYPE_TCP;
    b[3] = 1;
    put(&mut b, 4, &u16::from(hfi.index).to_le_bytes());
    b[6] = HFI_TCP_VALID
        | if t.default_route {
            HFI_TCP_GLOBAL_ROUTE
        } else {
            0
        }
        | if t.dhcp_override {
            HFI_TCP_DHCP_OVERRIDE
        } else {
            0
        };
    put(&mut b, 7, &t.pci_sbdf.to_le_bytes());
    put(&mut b, 11, &t.mac);
    put(&mut b, 17, &t.vlan.to_le_bytes());
    b[19] = t.ip_origin;
    put(&mut b, 20, &ip_to_bytes(&t.ipaddr));
    b[36] = t.subnet_mask_prefix;
    let opt = |ip: &Option<IpAddr>| ip.as_ref().map_or([0u8; 16], ip_to_bytes);
    put(&mut b, 37, &opt(&t.gateway));
    put(&mut b, 54, &t.route_metric.to_le_bytes());
    put(&mut b, 56, &opt(&t.primary_dns));
    put(&mut b, 72, &opt(&t.secondary_dns));
    put(&mut b, 88, &opt(&t.dhcp_server));
    b
}

/// Sets byte 9 so that the table sums to zero.
pub fn fix_checksum(table: &mut [u8]) {
    if let Some(c) = table.get_mut(9) {
        *c = 0;
    }
    let sum = table.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    if let Some(c) = table.get_mut(9) {
        *c = 0u8.wrapping_sub(sum);
    }
}

fn ip_to_bytes(ip: &IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}
