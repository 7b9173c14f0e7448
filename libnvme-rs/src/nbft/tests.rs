//! Parser and serializer unit tests on tables built by the serializer and then corrupted
//! byte by byte.

use std::net::IpAddr;

use super::builder::put;
use super::layout::*;
use super::parse::{rd_obj, rd_u32};
use super::*;
use crate::spec::WELL_KNOWN_DISC_NQN;

const MAC1: [u8; 6] = [0xb0, 0x26, 0x28, 0xe8, 0x7c, 0x0e];
const MAC2: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A table with two HFIs (IPv4 + IPv6), two discovery and two subsystem descriptors.
pub(super) fn sample() -> Nbft {
    Nbft {
        major_revision: 1,
        minor_revision: 0,
        oem_id: "STAS".into(),
        oem_table_id: "NBFTTEST".into(),
        host: Some(NbftHost {
            id: [
                0x44, 0x45, 0x4c, 0x4c, 0x34, 0x00, 0x10, 0x36, 0x80, 0x38, 0xb2, 0xc0, 0x4f, 0x31,
                0x32, 0x33,
            ],
            nqn: "nqn.1988-11.com.example:host.1234567".into(),
            id_configured: true,
            nqn_configured: true,
            primary_admin: 2,
        }),
        hfis: vec![
            NbftHfi {
                index: 1,
                tcp: NbftHfiTcp {
                    pci_sbdf: 0x4000,
                    mac: MAC1,
                    vlan: 0,
                    ip_origin: 82,
                    ipaddr: ip("192.168.10.232"),
                    subnet_mask_prefix: 24,
                    gateway: Some(ip("192.168.10.254")),
                    route_metric: 500,
                    primary_dns: Some(ip("192.168.0.5")),
                    secondary_dns: None,
                    dhcp_server: Some(ip("192.168.10.254")),
                    host_name: Some("boot-host".into()),
                    dhcp_override: true,
                    default_route: true,
                },
            },
            NbftHfi {
                index: 2,
                tcp: NbftHfiTcp {
                    pci_sbdf: 0x0001_8109,
                    mac: MAC2,
                    vlan: 42,
                    ip_origin: 1,
                    ipaddr: ip("2001:db8::232"),
                    subnet_mask_prefix: 64,
                    gateway: None,
                    route_metric: 0,
                    primary_dns: None,
                    secondary_dns: Some(ip("2001:db8::53")),
                    dhcp_server: None,
                    host_name: None,
                    dhcp_override: false,
                    default_route: false,
                },
            },
        ],
        security_count: 0,
        discovery: vec![
            NbftDiscovery {
                index: 1,
                hfi_index: 1,
                security_index: 0,
                uri: "nvme+tcp://192.168.10.50:8009/".into(),
                nqn: WELL_KNOWN_DISC_NQN.into(),
                transport: "tcp".into(),
                traddr: "192.168.10.50".into(),
                trsvcid: Some("8009".into()),
            },
            NbftDiscovery {
                index: 2,
                hfi_index: 2,
                security_index: 0,
                uri: "nvme+tcp://[2001:DB8::50]/".into(),
                nqn: "nqn.2014-08.org.nvmexpress.discovery:uuid:1".into(),
                transport: "tcp".into(),
                traddr: "2001:db8::50".into(),
                trsvcid: None,
            },
        ],
        subsystems: vec![
            NbftSubsystem {
                index: 1,
                traddr: "192.168.10.48".into(),
                trsvcid: "4420".into(),
                subsys_nqn: "nqn.1988-11.com.example:array:00:2a64abf1".into(),
                subsys_port_id: 0,
                nsid: 148,
                nid_type: 2,
                nid: [0xc8; 16],
                hdr_digest: false,
                data_digest: false,
                primary_discovery_index: 1,
                security_index: 0,
                hfi_indexes: vec![1],
                non_bootable: false,
                discovered: true,
                unavailable: 1,
                extended: Some(NbftSsnsExt {
                    controller_id: 5,
                    asqsz: None,
                    dhcp_root_path: None,
                }),
            },
            NbftSubsystem {
                index: 2,
                traddr: "2001:db8::48".into(),
                trsvcid: "4420".into(),
                subsys_nqn: "nqn.1988-11.com.example:array:00:2a64abf1".into(),
                subsys_port_id: 3,
                nsid: 0,
                nid_type: 3,
                nid: [0x11; 16],
                hdr_digest: true,
                data_digest: true,
                primary_discovery_index: 0,
                security_index: 0,
                hfi_indexes: vec![2, 1],
                non_bootable: true,
                discovered: false,
                unavailable: 0,
                extended: Some(NbftSsnsExt {
                    controller_id: 4166,
                    asqsz: Some(32),
                    dhcp_root_path: Some("nvme+tcp://[2001:db8::48]:4420/x".into()),
                }),
            },
        ],
        skipped: vec![],
    }
}

// Offsets in sample().to_bytes().
const HOST: usize = 128;
const HFI0: usize = 160;
const DISC0: usize = HFI0 + 2 * HFI_LEN;
const SSNS0: usize = DISC0 + 2 * DISCOVERY_LEN;
const HEAP: usize = SSNS0 + 2 * SSNS_LEN;

fn patched(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = sample().to_bytes();
    edit(&mut b);
    fix_checksum(&mut b);
    b
}

fn set_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

fn set_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

#[test]
fn round_trip() {
    let model = sample();
    let bytes = model.to_bytes();
    assert_eq!(rd_u32(&bytes, 36) as usize, HEAP);
    assert_eq!(rd_u32(&bytes, 4) as usize, bytes.len());
    assert_eq!(bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b)), 0);
    assert_eq!(Nbft::parse(&bytes), Ok(model.clone()));
    // Trailing bytes past the header length are ignored.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0xaa; 7]);
    assert_eq!(Nbft::parse(&longer), Ok(model));
}

#[test]
fn accessors() {
    let n = sample();
    let host = n.host.as_ref().unwrap();
    assert_eq!(host.id_string(), "44454c4c-3400-1036-8038-b2c04f313233");
    let t = &n.hfi(1).unwrap().tcp;
    assert_eq!(t.mac_string(), "b0:26:28:e8:7c:0e");
    assert_eq!(t.pci_address(), "0:40:0.0");
    assert_eq!(n.hfi(2).unwrap().tcp.pci_address(), "1:81:1.1");
    assert!(n.hfi(3).is_none());
}

#[test]
fn controllers_for_stafd_and_stacd() {
    let n = sample();
    let lookup = |mac: &[u8; 6]| (*mac == MAC1).then(|| "eth0".to_owned());
    let dcs = n.discovery_controllers(&lookup);
    assert_eq!(
        dcs,
        vec![
            NbftController {
                transport: "tcp".into(),
                traddr: "192.168.10.50".into(),
                trsvcid: Some("8009".into()),
                subsysnqn: WELL_KNOWN_DISC_NQN.into(),
                host_nqn: Some("nqn.1988-11.com.example:host.1234567".into()),
                host_id: Some("44454c4c-3400-1036-8038-b2c04f313233".into()),
                hfi_mac: Some(MAC1),
                hfi_ipaddr: Some(ip("192.168.10.232")),
                host_iface: Some("eth0".into()),
                hdr_digest: false,
                data_digest: false,
            },
            NbftController {
                transport: "tcp".into(),
                traddr: "2001:db8::50".into(),
                trsvcid: None,
                subsysnqn: "nqn.2014-08.org.nvmexpress.discovery:uuid:1".into(),
                host_nqn: Some("nqn.1988-11.com.example:host.1234567".into()),
                host_id: Some("44454c4c-3400-1036-8038-b2c04f313233".into()),
                hfi_mac: Some(MAC2),
                hfi_ipaddr: Some(ip("2001:db8::232")),
                host_iface: None,
                hdr_digest: false,
                data_digest: false,
            },
        ]
    );
    let iocs = n.subsystem_controllers(&lookup);
    assert_eq!(iocs.len(), 2);
    assert_eq!(iocs[0].traddr, "192.168.10.48");
    assert_eq!(iocs[0].trsvcid.as_deref(), Some("4420"));
    assert_eq!(iocs[0].host_iface.as_deref(), Some("eth0"));
    assert!(!iocs[0].hdr_digest && !iocs[0].data_digest);
    // Primary HFI 2 (no interface with its MAC here).
    assert_eq!(iocs[1].hfi_mac, Some(MAC2));
    assert_eq!(iocs[1].host_iface, None);
    assert!(iocs[1].hdr_digest && iocs[1].data_digest);

    // The host NQN/ID are only passed on when administratively configured.
    let mut n = sample();
    if let Some(h) = n.host.as_mut() {
        h.nqn_configured = false;
        h.id_configured = false;
    }
    let n = Nbft::parse(&n.to_bytes()).unwrap();
    for c in n
        .discovery_controllers(&|_| None)
        .into_iter()
        .chain(n.subsystem_controllers(&|_| None))
    {
        assert_eq!((c.host_nqn, c.host_id), (None, None));
    }
}

#[test]
fn empty_table_when_control_is_not_valid() {
    let n = Nbft {
        host: None,
        hfis: vec![],
        discovery: vec![],
        subsystems: vec![],
        ..sample()
    };
    let bytes = n.to_bytes();
    assert_eq!(bytes.len(), HEADER_LEN + CONTROL_LEN);
    let parsed = Nbft::parse(&bytes).unwrap();
    assert_eq!(parsed, n);
    assert!(parsed.discovery_controllers(&|_| None).is_empty());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample().to_bytes();
    for len in 0..bytes.len() {
        let e = Nbft::parse(&bytes[..len]).unwrap_err();
        assert!(
            matches!(
                e,
                NbftError::TooShort { .. } | NbftError::LengthExceedsData { .. }
            ),
            "{len}: {e}"
        );
    }
}

#[test]
fn header_errors() {
    let mut b = sample().to_bytes();
    b[100] ^= 0x01;
    assert!(matches!(Nbft::parse(&b), Err(NbftError::BadChecksum(_))));

    let b = patched(|b| b[0] = b'X');
    assert_eq!(Nbft::parse(&b), Err(NbftError::BadSignature(*b"XBFT")));

    let b = patched(|b| b[8] = 2);
    assert_eq!(Nbft::parse(&b), Err(NbftError::UnsupportedRevision(2)));
    // Any minor revision is accepted.
    let b = patched(|b| b[50] = 7);
    assert_eq!(Nbft::parse(&b).unwrap().minor_revision, 7);

    let b = patched(|b| {
        let l = b.len() as u32;
        set_u32(b, 4, l + 1);
    });
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::LengthExceedsData { .. })
    ));
    let b = patched(|b| set_u32(b, 4, 100));
    assert!(matches!(Nbft::parse(&b), Err(NbftError::TooShort { .. })));
    let b = patched(|b| set_u32(b, 4, u32::MAX));
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::LengthExceedsData { .. })
    ));
}

#[test]
fn heap_and_list_bounds() {
    // Heap past the end, including values that overflow 32 bits when added.
    for (off, len) in [(HEAP as u32, 1 << 20), (u32::MAX, u32::MAX), (0, u32::MAX)] {
        let b = patched(|b| {
            set_u32(b, 36, off);
            set_u32(b, 40, len);
        });
        assert!(
            matches!(
                Nbft::parse(&b),
                Err(NbftError::OutOfBounds { what: "heap", .. })
            ),
            "{off} {len}"
        );
    }
    // Host descriptor past the end.
    let b = patched(|b| set_u32(b, HEADER_LEN + 8, u32::MAX - 3));
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::OutOfBounds {
            what: "host descriptor",
            ..
        })
    ));
    // HFI list offset past the end, and a count running past the end.
    let b = patched(|b| set_u32(b, HEADER_LEN + 16, u32::MAX));
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::OutOfBounds { .. })
    ));
    let b = patched(|b| b[HEADER_LEN + 23] = 255);
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::OutOfBounds { .. })
    ));
    // Stride shorter than the structure; huge stride × count past the end.
    let b = patched(|b| set_u16(b, HEADER_LEN + 28, 64));
    assert_eq!(
        Nbft::parse(&b),
        Err(NbftError::DescriptorTooShort {
            what: "SSNS descriptor list",
            stride: 64,
            min: SSNS_LEN
        })
    );
    let b = patched(|b| set_u16(b, HEADER_LEN + 44, u16::MAX));
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::OutOfBounds { .. })
    ));
    // A zero stride reads as the structure size (libnvme).
    let b = patched(|b| set_u16(b, HEADER_LEN + 20, 0));
    assert_eq!(Nbft::parse(&b).unwrap(), sample());
    // Security descriptors are bounds-checked though not decoded.
    let b = patched(|b| {
        set_u32(b, HEADER_LEN + 32, 10_000);
        b[HEADER_LEN + 39] = 1;
    });
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::OutOfBounds { .. })
    ));
}

#[test]
fn host_errors_reject_the_table() {
    let b = patched(|b| b[HOST + 1] &= !HOST_VALID);
    assert_eq!(Nbft::parse(&b), Err(NbftError::HostNotValid));
    let b = patched(|b| b[HOST] = 9);
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::BadStructureId { found: 9, .. })
    ));
    let b = patched(|b| set_u32(b, HOST + 18, 3));
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::HeapObjectOutOfBounds {
            field: "host NQN",
            ..
        })
    ));
    let b = patched(|b| set_u16(b, HOST + 22, 0));
    assert_eq!(
        Nbft::parse(&b),
        Err(NbftError::Missing {
            what: "host descriptor",
            field: "host NQN"
        })
    );
    // Object running one byte past the heap end.
    let b = patched(|b| {
        let end = b.len() as u32;
        set_u32(b, HOST + 18, end - 4);
        set_u16(b, HOST + 22, 5);
    });
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::HeapObjectOutOfBounds { .. })
    ));
    // Non-UTF-8 NQN.
    let b = patched(|b| {
        let at = rd_u32(b, HOST + 18) as usize;
        b[at] = 0xff;
    });
    assert!(matches!(Nbft::parse(&b), Err(NbftError::Malformed { .. })));
    let b = patched(|b| b[HEADER_LEN] = 5);
    assert!(matches!(
        Nbft::parse(&b),
        Err(NbftError::BadStructureId {
            what: "control descriptor",
            ..
        })
    ));
}

fn skipped(b: &[u8]) -> (Nbft, Vec<(DescriptorKind, usize, NbftError)>) {
    let n = Nbft::parse(b).unwrap();
    let s = n
        .skipped
        .iter()
        .map(|s| (s.kind, s.position, s.error.clone()))
        .collect();
    (n, s)
}

#[test]
fn bad_descriptors_are_skipped_not_fatal() {
    // Discovery URI outside the heap.
    let (n, s) = skipped(&patched(|b| set_u32(b, DISC0 + 6, 0)));
    assert_eq!(n.discovery.len(), 1);
    assert_eq!(n.discovery[0].index, 2);
    assert!(matches!(
        s.as_slice(),
        [(
            DescriptorKind::Discovery,
            0,
            NbftError::HeapObjectOutOfBounds { .. }
        )]
    ));
    assert_eq!(n.subsystems.len(), 2);

    // Unusable URI scheme.
    let (n, s) = skipped(&patched(|b| {
        let at = rd_u32(b, DISC0 + 6) as usize;
        put(b, at + 4, b"-");
    }));
    assert_eq!(n.discovery.len(), 1);
    assert!(matches!(s.as_slice(), [(_, 0, NbftError::BadUri { .. })]));

    // HFI with another transport: skipped, and the SSNS whose primary HFI it was too.
    let (n, s) = skipped(&patched(|b| b[HFI0 + HFI_LEN + 3] = 2));
    assert_eq!(n.hfis.len(), 1);
    assert_eq!(n.subsystems.len(), 1);
    assert_eq!(
        s,
        vec![
            (
                DescriptorKind::Hfi,
                1,
                NbftError::UnsupportedTransport {
                    what: "HFI descriptor",
                    trtype: 2
                }
            ),
            (
                DescriptorKind::Subsystem,
                1,
                NbftError::HfiNotFound {
                    what: "SSNS descriptor",
                    index: 2
                }
            ),
        ]
    );
    // The discovery entry through the missing HFI stays, without interface data.
    let dcs = n.discovery_controllers(&|_| Some("x".into()));
    assert_eq!(dcs[1].hfi_mac, None);
    assert_eq!(dcs[1].host_iface, None);

    // Transport info heap object too short / not valid / wrong version.
    let (_, s) = skipped(&patched(|b| set_u16(b, HFI0 + 20, 100)));
    assert!(matches!(
        s[0],
        (
            DescriptorKind::Hfi,
            0,
            NbftError::HeapObjectTooShort { len: 100, .. }
        )
    ));
    let info = |b: &[u8]| rd_u32(b, HFI0 + 16) as usize;
    let (_, s) = skipped(&patched(|b| {
        let i = info(b);
        b[i + 6] = 0;
    }));
    assert!(matches!(s[0], (_, 0, NbftError::NotValid { .. })));
    let (_, s) = skipped(&patched(|b| {
        let i = info(b);
        b[i + 1] = 2;
    }));
    assert!(matches!(
        s[0],
        (_, 0, NbftError::BadVersion { found: 2, .. })
    ));

    // SSNS without NQN, with a bad address object, with an unknown transport.
    let (n, s) = skipped(&patched(|b| set_u16(b, SSNS0 + 58, 0)));
    assert_eq!(n.subsystems.len(), 1);
    assert!(matches!(
        s[0],
        (
            DescriptorKind::Subsystem,
            0,
            NbftError::Missing {
                field: "subsystem NQN",
                ..
            }
        )
    ));
    let (_, s) = skipped(&patched(|b| set_u16(b, SSNS0 + 14, 5)));
    assert!(matches!(s[0], (_, 0, NbftError::Malformed { .. })));
    let (_, s) = skipped(&patched(|b| b[SSNS0 + 5] = 1));
    assert!(matches!(
        s[0],
        (_, 0, NbftError::UnsupportedTransport { trtype: 1, .. })
    ));
}

#[test]
fn secondary_hfis_are_listed_once() {
    // Real firmware (Dell PowerEdge R660/R760) repeats the primary HFI in the secondary
    // list; libnvme lists each HFI once, and so do we. Unknown indexes (0, 9) are dropped.
    let mut model = sample();
    model.subsystems[1].hfi_indexes = vec![2, 2, 1, 0, 1, 9, 2];
    let n = Nbft::parse(&model.to_bytes()).unwrap();
    assert_eq!(n.subsystems[1].hfi_indexes, [2, 1]);
    model.subsystems[1].hfi_indexes = vec![1, 1];
    let n = Nbft::parse(&model.to_bytes()).unwrap();
    assert_eq!(n.subsystems[1].hfi_indexes, [1]);
    assert!(n.skipped.is_empty());
}

#[test]
fn reserved_descriptors_and_lenient_fields() {
    // Valid flag clear: silently ignored.
    let (n, s) = skipped(&patched(|b| {
        b[DISC0 + 1] = 0;
        set_u16(b, SSNS0 + SSNS_LEN + 3, 0);
        b[HFI0 + 2] = 0;
    }));
    assert!(s.iter().all(|(k, _, _)| *k == DescriptorKind::Subsystem));
    assert_eq!(n.discovery.len(), 1);
    assert_eq!(n.hfis.len(), 1);
    // SSNS 0's primary HFI (1) is gone now: skipped; SSNS 1 was reserved.
    assert_eq!(n.subsystems.len(), 0);

    // Discovery without NQN → well-known NQN.
    let n = Nbft::parse(&patched(|b| set_u16(b, DISC0 + DISCOVERY_LEN + 16, 0))).unwrap();
    assert_eq!(n.discovery[1].nqn, WELL_KNOWN_DISC_NQN);

    // Bad host name and bad extended info are ignored, the descriptor kept.
    let n = Nbft::parse(&patched(|b| {
        let i = rd_u32(b, HFI0 + 16) as usize;
        set_u32(b, i + 104, 1);
        set_u32(b, SSNS0 + 60, 2);
    }))
    .unwrap();
    assert_eq!(n.hfis[0].tcp.host_name, None);
    assert_eq!(n.subsystems[0].extended, None);

    // Subsystem address written as text.
    let mut model = sample();
    model.subsystems.truncate(1);
    let mut b = model.to_bytes();
    let ssns0 = HFI0 + 2 * HFI_LEN + 2 * DISCOVERY_LEN;
    let nqn = rd_obj(&b, ssns0 + 54);
    // Point the address at a text literal placed where the NQN is.
    let text = b"10.0.0.1\0";
    put(&mut b, nqn.offset as usize, text);
    set_u32(&mut b, ssns0 + 10, nqn.offset);
    set_u16(&mut b, ssns0 + 14, 8);
    fix_checksum(&mut b);
    let n = Nbft::parse(&b).unwrap();
    assert_eq!(n.subsystems.len(), 1, "{:?}", n.skipped);
    assert_eq!(n.subsystems[0].traddr, "10.0.0.1");
}

#[test]
fn discovery_uris() {
    let ok = [
        (
            "nvme+tcp://100.71.103.50:8009/",
            ("tcp", "100.71.103.50", Some("8009")),
        ),
        (
            "NVME+TCP://Host.Example:08009",
            ("tcp", "host.example", Some("8009")),
        ),
        (
            "nvme+tcp://[FE80::1]:4420/path?q#f",
            ("tcp", "fe80::1", Some("4420")),
        ),
        ("nvme+tcp://[fe80::1]", ("tcp", "fe80::1", None)),
        ("nvme+tcp://user:pw@h:1/", ("tcp", "h", Some("1"))),
        ("nvme+tcp://h:/", ("tcp", "h", None)),
        ("nvme+rdma://h:0", ("rdma", "h", Some("0"))),
        ("nvme+tcp://h:65535", ("tcp", "h", Some("65535"))),
    ];
    for (uri, (t, h, p)) in ok {
        assert_eq!(
            parse_discovery_uri(uri).unwrap(),
            (t.to_owned(), h.to_owned(), p.map(str::to_owned)),
            "{uri}"
        );
    }
    for uri in [
        "nvme://h:1",
        "tcp://h",
        "nvme+://h",
        "nvme+tcp://:8009/",
        "nvme+tcp://h:65536",
        "nvme+tcp://h:99999999999999999999",
        "nvme+tcp://h:abc",
        "nvme+tcp://h:-1",
        "nvme+tcp://[::1",
        "nvme+tcp://[::1]x",
        "nvme+tcp://fe80::1/",
        "no-scheme",
        "",
    ] {
        assert!(
            matches!(parse_discovery_uri(uri), Err(NbftError::BadUri { .. })),
            "{uri}"
        );
    }
}

#[test]
fn macs() {
    assert_eq!(parse_mac("B0:26:28:e8:7c:0e\n"), Some(MAC1));
    assert_eq!(format_mac(&MAC1), "b0:26:28:e8:7c:0e");
    for bad in [
        "",
        "b0:26:28:e8:7c",
        "b0:26:28:e8:7c:0e:00",
        "b0:26:28:e8:7c:0",
        "zz:26:28:e8:7c:0e",
    ] {
        assert_eq!(parse_mac(bad), None, "{bad}");
    }
}

#[test]
fn random_corruption_never_panics() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let base = sample().to_bytes();
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    runner
        .run(
            &(
                proptest::collection::vec((0..base.len(), any::<u8>()), 1..8),
                any::<bool>(),
            ),
            |(edits, fix)| {
                let mut b = base.clone();
                for (at, v) in edits {
                    b[at] = v;
                }
                if fix {
                    fix_checksum(&mut b);
                }
                if let Ok(n) = Nbft::parse(&b) {
                    let _ = n.discovery_controllers(&|_| None);
                    let _ = n.subsystem_controllers(&|_| None);
                    let _ = n.to_bytes();
                }
                Ok(())
            },
        )
        .unwrap();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |mut b| {
            if b.len() >= 10 {
                put(&mut b, 0, SIGNATURE);
                let l = b.len() as u32;
                put(&mut b, 4, &l.to_le_bytes());
                b[8] = 1;
                fix_checksum(&mut b);
            }
            let _ = Nbft::parse(&b);
            Ok(())
        })
        .unwrap();
}
