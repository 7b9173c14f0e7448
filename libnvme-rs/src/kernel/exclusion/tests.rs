//! Tables of libnvme's exclusion rules (nvme-stas 3.x spec §2; libnvme `exclusion.c`,
//! `tid.c` and `tests/exclusion.c`).

use std::fs;

use super::*;

fn conn<'a>(transport: &'a str, traddr: &'a str, trsvcid: &'a str, nqn: &'a str) -> Connection<'a> {
    Connection {
        transport,
        traddr,
        trsvcid,
        nqn,
        hostnqn: "nqn.2014-08.org.nvmexpress:uuid:host",
        hostid: "3da64a01-16c5-4e10-ac46-397e2372b964",
        ..Connection::default()
    }
}

#[test]
fn entry_parsing_is_strict() {
    let ok = |s: &str| Entry::parse(s).unwrap();
    assert_eq!(
        ok(" transport = tcp ; traddr=::FFFF:10.0.0.1;;nqn=nqn.a; "),
        Entry {
            transport: Some("tcp".into()),
            traddr: Some("10.0.0.1".into()),
            nqn: Some("nqn.a".into()),
            ..Entry::default()
        }
    );
    assert_eq!(
        ok("traddr=1.2.3.4;traddr=5.6.7.8").traddr.as_deref(),
        Some("5.6.7.8")
    );
    assert_eq!(
        ok("transport=tcp;traddr=FE80::1%eth0").traddr.as_deref(),
        Some("fe80::1%eth0")
    );
    // No transport: no address check, the text is kept.
    assert_eq!(ok("traddr=storage-1").traddr.as_deref(), Some("storage-1"));
    assert_eq!(
        ok("transport=fc;traddr=nn-0x20000090fa942779,pn-0x10000090fa942779")
            .traddr
            .as_deref(),
        Some("nn-0x20000090fa942779:pn-0x10000090fa942779")
    );
    for (bad, why) in [
        ("", EntryError::Empty),
        (" ; ;", EntryError::Empty),
        ("transport", EntryError::BareToken("transport".into())),
        ("transport=tcp;junk", EntryError::BareToken("junk".into())),
        ("transport=", EntryError::EmptyValue("transport".into())),
        (
            "traddr= ;transport=tcp",
            EntryError::EmptyValue("traddr".into()),
        ),
        (
            "subsysnqn=nqn.a",
            EntryError::UnknownKey("subsysnqn".into()),
        ),
        (
            "host_traddr=1.2.3.4",
            EntryError::UnknownKey("host_traddr".into()),
        ),
        ("Transport=tcp", EntryError::UnknownKey("Transport".into())),
        (
            "transport=tcp;traddr=storage-1",
            EntryError::BadAddress("storage-1".into(), "tcp".into()),
        ),
        (
            "transport=rdma;host-traddr=10.0.0.256",
            EntryError::BadAddress("10.0.0.256".into(), "rdma".into()),
        ),
        (
            "transport=fc;traddr=nn-0x1:pn-0xZZ",
            EntryError::BadAddress("nn-0x1:pn-0xZZ".into(), "fc".into()),
        ),
        (
            "transport=fc;traddr=nn-0x12345678901234567:pn-0x1",
            EntryError::BadAddress("nn-0x12345678901234567:pn-0x1".into(), "fc".into()),
        ),
    ] {
        assert_eq!(Entry::parse(bad), Err(why), "{bad:?}");
    }
}

#[test]
fn matching_is_a_subset_match() {
    let tcp = conn("tcp", "9.9.9.9", "4420", "nqn.a");
    for (entry, c, want) in [
        // libnvme tests/exclusion.c test_match: extra fields of the connection are free.
        ("transport=tcp;traddr=9.9.9.9;nqn=nqn.a", tcp, true),
        ("transport=tcp;traddr=9.9.9.9;nqn=nqn.other", tcp, false),
        ("nqn=nqn.a", tcp, true),
        ("trsvcid=8009", tcp, false),
        ("transport=rdma", tcp, false),
        // Addresses compare as IP addresses.
        ("transport=tcp;traddr=::ffff:9.9.9.9", tcp, true),
        ("traddr=::ffff:9.9.9.9", tcp, true),
        ("traddr=09.9.9.9", tcp, false),
        (
            "transport=tcp;traddr=fe80::1%eth0",
            conn("tcp", "FE80:0::1%eth0", "4420", "nqn.a"),
            true,
        ),
        (
            "transport=tcp;traddr=fe80::1%eth0",
            conn("tcp", "fe80::1%eth1", "4420", "nqn.a"),
            false,
        ),
        // A field the connection lacks does not match.
        ("host-iface=eth0", tcp, false),
        ("host-traddr=10.0.0.1", tcp, false),
        (
            "host-iface=eth0",
            Connection {
                host_iface: "eth0",
                ..tcp
            },
            true,
        ),
        (
            "host-traddr=10.0.0.1",
            Connection {
                host_traddr: "::ffff:10.0.0.1",
                ..tcp
            },
            true,
        ),
        // Host identity: exact.
        ("hostnqn=nqn.2014-08.org.nvmexpress:uuid:host", tcp, true),
        ("hostnqn=nqn.2014-08.org.nvmexpress:uuid:HOST", tcp, false),
        ("hostid=3da64a01-16c5-4e10-ac46-397e2372b964", tcp, true),
        ("hostid=3DA64A01-16C5-4E10-AC46-397E2372B964", tcp, false),
        // FC: case-insensitive addresses, the entry's ',' normalised.
        (
            "transport=fc;traddr=nn-0x20000090FA942779,pn-0x10000090FA942779",
            conn(
                "fc",
                "nn-0x20000090fa942779:pn-0x10000090fa942779",
                "none",
                "nqn.a",
            ),
            true,
        ),
        // Malformed entries match nothing, even where a lenient reading would.
        ("nqn=nqn.a;bogus=1", tcp, false),
        ("nqn=nqn.a;trsvcid=", tcp, false),
        ("transport=tcp;traddr=not-an-ip", tcp, false),
        ("", tcp, false),
    ] {
        let got = Entry::parse(entry).is_ok_and(|e| e.matches(&c));
        assert_eq!(got, want, "{entry:?} against {c:?}");
    }
}

#[test]
fn only_entries_inside_the_exclusions_section_count() {
    let text = "\
exclusion = nqn=stray
# a comment
[exclusions]
exclusion = nqn=one
  exclusion=nqn=two  
exclusions = nqn=wrong-key
#exclusion = nqn=commented
[future]
exclusion = nqn=foreign
[ exclusions ] trailing
exclusion = nqn=three
[exclusions
exclusion = nqn=after-junk-header
[Exclusions]
exclusion = nqn=case
";
    let got: Vec<(usize, &str)> = entries(text);
    assert_eq!(got, [(4, "nqn=one"), (5, "nqn=two"), (11, "nqn=three")]);
    let long = format!("[exclusions]\nexclusion = nqn={}\n", "x".repeat(5000));
    assert!(entries(&long).is_empty(), "over-long lines are not entries");
}

#[test]
fn the_list_is_read_on_every_check_main_file_then_dropins() {
    let dir = tempfile::tempdir().unwrap();
    let list = ExclusionList::new(dir.path());
    let c = conn("tcp", "10.0.0.7", "4420", "nqn.b");
    // Missing files exclude nothing.
    assert_eq!(list.find(&c), None);

    fs::write(
        dir.path().join(MAIN_FILE),
        "[exclusions]\nexclusion = nqn=nqn.a\n",
    )
    .unwrap();
    assert_eq!(list.find(&c), None);

    let d = dir.path().join(DROPIN_DIR);
    fs::create_dir(&d).unwrap();
    fs::write(d.join(".conf"), "[exclusions]\nexclusion = nqn=nqn.b\n").unwrap();
    fs::write(
        d.join("b.conf.bak"),
        "[exclusions]\nexclusion = nqn=nqn.b\n",
    )
    .unwrap();
    assert_eq!(list.find(&c), None, "only <name>.conf drop-ins count");

    fs::write(
        d.join("ops.conf"),
        "[exclusions]\nexclusion = transport=tcp;bogus=1\nexclusion = traddr=10.0.0.7;nqn=nqn.b\n",
    )
    .unwrap();
    let m = list
        .find(&c)
        .expect("added at run time, seen on the next check");
    assert_eq!(m.file, d.join("ops.conf"));
    assert_eq!(m.line, 3);
    assert_eq!(
        m.to_string(),
        format!(
            "{}:3 (exclusion = traddr=10.0.0.7;nqn=nqn.b)",
            d.join("ops.conf").display()
        )
    );

    // The main file is consulted first.
    fs::write(
        dir.path().join(MAIN_FILE),
        "[exclusions]\nexclusion = nqn=nqn.a\nexclusion = trsvcid=4420\n",
    )
    .unwrap();
    assert_eq!(list.find(&c).unwrap().file, dir.path().join(MAIN_FILE));

    // Removed again: no longer excluded.
    fs::remove_file(dir.path().join(MAIN_FILE)).unwrap();
    fs::remove_file(d.join("ops.conf")).unwrap();
    assert_eq!(list.find(&c), None);
}

#[test]
fn a_transport_id_is_checked_with_the_host_identity() {
    let tid = TransportId::new(Transport::Tcp, "10.0.0.7", "4420", "nqn.b");
    let c = Connection::of(&tid, "nqn.host", "id-1");
    assert_eq!(
        (c.transport, c.traddr, c.trsvcid, c.nqn, c.hostnqn, c.hostid),
        ("tcp", "10.0.0.7", "4420", "nqn.b", "nqn.host", "id-1")
    );
    let tid = tid.with_host_nqn("nqn.other-host");
    assert_eq!(
        Connection::of(&tid, "nqn.host", "id-1").hostnqn,
        "nqn.other-host"
    );
}
