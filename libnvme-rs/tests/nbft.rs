//! NBFT files end to end: a golden table built by our own serializer (no firmware dump),
//! directory scanning, and MAC → interface lookup on a fake `/sys/class/net`. Tables this
//! crate did not produce (libnvme's) are checked in `nbft_libnvme.rs`.
//!
//! `tests/data/NBFT-example` is `example().to_bytes()`; rerun with `NBFT_BLESS=1` after a
//! deliberate format change to rewrite it.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use libnvme_rs::nbft::{
    self, Nbft, NbftController, NbftDiscovery, NbftError, NbftHfi, NbftHfiTcp, NbftHost,
    NbftReadError, NbftSubsystem,
};

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn example() -> Nbft {
    Nbft {
        major_revision: 1,
        minor_revision: 0,
        oem_id: "STASRS".into(),
        oem_table_id: "EXAMPLE".into(),
        host: Some(NbftHost {
            id: [
                0x3d, 0xa6, 0x4a, 0x01, 0x16, 0xc5, 0x4e, 0x10, 0xac, 0x46, 0x39, 0x7e, 0x23, 0x72,
                0xb9, 0x64,
            ],
            nqn: "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964".into(),
            id_configured: true,
            nqn_configured: true,
            primary_admin: 0,
        }),
        hfis: vec![NbftHfi {
            index: 1,
            tcp: NbftHfiTcp {
                pci_sbdf: 0x0300,
                mac: MAC,
                vlan: 0,
                ip_origin: 3,
                ipaddr: ip("10.10.0.2"),
                subnet_mask_prefix: 24,
                gateway: Some(ip("10.10.0.1")),
                route_metric: 500,
                primary_dns: None,
                secondary_dns: None,
                dhcp_server: None,
                host_name: Some("nvme-boot".into()),
                dhcp_override: false,
                default_route: true,
            },
        }],
        security_count: 0,
        discovery: vec![NbftDiscovery {
            index: 1,
            hfi_index: 1,
            security_index: 0,
            uri: "nvme+tcp://10.10.0.100:8009/".into(),
            nqn: "nqn.2014-08.org.nvmexpress.discovery".into(),
            transport: "tcp".into(),
            traddr: "10.10.0.100".into(),
            trsvcid: Some("8009".into()),
        }],
        subsystems: vec![NbftSubsystem {
            index: 1,
            traddr: "10.10.0.100".into(),
            trsvcid: "4420".into(),
            subsys_nqn: "nqn.2024-01.io.example:boot-volume".into(),
            subsys_port_id: 1,
            nsid: 1,
            nid_type: 3,
            nid: [0x5a; 16],
            hdr_digest: true,
            data_digest: false,
            primary_discovery_index: 1,
            security_index: 0,
            hfi_indexes: vec![1],
            non_bootable: false,
            discovered: true,
            unavailable: 1,
            extended: None,
        }],
        skipped: vec![],
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

#[test]
fn golden_fixture_matches_the_serializer_and_parses_back() {
    let path = data_dir().join("NBFT-example");
    let bytes = example().to_bytes();
    if std::env::var_os("NBFT_BLESS").is_some() {
        fs::write(&path, &bytes).unwrap();
    }
    let golden = fs::read(&path).expect("tests/data/NBFT-example (NBFT_BLESS=1 to create)");
    assert_eq!(golden, bytes, "serializer output changed");
    assert_eq!(&golden[..4], b"NBFT");
    assert_eq!(nbft::read_file(&path).unwrap(), example());
}

#[test]
fn read_dir_finds_nbft_files_in_order_and_reports_corrupt_ones() {
    let d = tempfile::tempdir().unwrap();
    assert!(nbft::read_dir(d.path()).is_empty());
    assert!(nbft::read_dir(&d.path().join("missing")).is_empty());

    let good = example().to_bytes();
    let mut corrupt = good.clone();
    corrupt[200] ^= 0xff;
    fs::write(d.path().join("NBFT"), &good).unwrap();
    fs::write(d.path().join("NBFT1"), &corrupt).unwrap();
    fs::write(d.path().join("DSDT"), b"not ours").unwrap();

    let found = nbft::read_dir(d.path());
    let names: Vec<_> = found
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["NBFT", "NBFT1"]);
    assert_eq!(found[0].1.as_ref().unwrap(), &example());
    match &found[1].1 {
        Err(NbftReadError::Parse {
            source: NbftError::BadChecksum(_),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_and_unreadable_files() {
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("NBFT-big");
    fs::write(&big, vec![0u8; nbft::MAX_TABLE_LEN + 1]).unwrap();
    assert!(matches!(
        nbft::read_file(&big),
        Err(NbftReadError::TooLarge { .. })
    ));
    assert!(matches!(
        nbft::read_file(&d.path().join("nope")),
        Err(NbftReadError::Io { .. })
    ));
    fs::write(d.path().join("empty"), b"").unwrap();
    assert!(matches!(
        nbft::read_file(&d.path().join("empty")),
        Err(NbftReadError::Parse {
            source: NbftError::TooShort { .. },
            ..
        })
    ));
}

fn fake_link(root: &Path, name: &str, ty: &str, mac: &str) {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("type"), format!("{ty}\n")).unwrap();
    fs::write(dir.join("address"), format!("{mac}\n")).unwrap();
}

#[test]
fn host_iface_from_the_hfi_mac() {
    let net = tempfile::tempdir().unwrap();
    // An InfiniBand link with the same MAC prefix does not count; neither does a bridge
    // with another MAC.
    fake_link(net.path(), "ib0", "32", "02:00:5e:10:00:01");
    fake_link(net.path(), "lo", "772", "00:00:00:00:00:00");
    fake_link(net.path(), "br0", "1", "02:00:5e:10:00:02");
    fake_link(net.path(), "enp3s0", "1", "02:00:5E:10:00:01");
    assert_eq!(
        nbft::iface_by_mac(net.path(), &MAC).as_deref(),
        Some("enp3s0")
    );
    assert_eq!(nbft::iface_by_mac(net.path(), &[9; 6]), None);
    assert_eq!(nbft::iface_by_mac(&net.path().join("none"), &MAC), None);

    let table = nbft::read_file(&data_dir().join("NBFT-example")).unwrap();
    let lookup = |mac: &[u8; 6]| nbft::iface_by_mac(net.path(), mac);
    assert_eq!(
        table.discovery_controllers(&lookup),
        vec![NbftController {
            transport: "tcp".into(),
            traddr: "10.10.0.100".into(),
            trsvcid: Some("8009".into()),
            subsysnqn: "nqn.2014-08.org.nvmexpress.discovery".into(),
            host_nqn: Some(
                "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964".into()
            ),
            host_id: Some("3da64a01-16c5-4e10-ac46-397e2372b964".into()),
            hfi_mac: Some(MAC),
            hfi_ipaddr: Some(ip("10.10.0.2")),
            host_iface: Some("enp3s0".into()),
            hdr_digest: false,
            data_digest: false,
        }]
    );
    let iocs = table.subsystem_controllers(&lookup);
    assert_eq!(iocs.len(), 1);
    assert_eq!(iocs[0].subsysnqn, "nqn.2024-01.io.example:boot-volume");
    assert_eq!(iocs[0].trsvcid.as_deref(), Some("4420"));
    assert!(iocs[0].hdr_digest && !iocs[0].data_digest);
    assert_eq!(iocs[0].host_iface.as_deref(), Some("enp3s0"));
}
