//! Malformed and hostile input: never a panic, always a clear error naming a line (or, for
//! problems of the whole file, the file), bounded work.

use proptest::prelude::*;

use super::*;

/// A configuration that uses every construct, for truncation.
const RICH: &str = "# full\n[Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\
    persistent = auto\n[I/O Controller Defaults]\nctrl-loss-tmo = 0x258\n\
    [Host]\nhostnqn = nqn.2014-08.org.example:h\nhostid = 46ba5037-7ce5-41fa-9452-48477bf00080\n\
    hostsymname = lab host\nkxchap-secret = DHHC-1:00:abc=:\n\
    [Discovery Controller]\nnqn = nqn.2014-08.org.example:cdc\n\
    controller = transport=tcp;traddr=192.0.2.1;trsvcid=8009;persistent=force\n\
    [Subsystem]\nnqn = nqn.2014-08.org.example:vol\ntls = yes\n\
    controller = transport=tcp;traddr=192.0.2.2;host-iface=eth0;tos=3\n\
    controller = transport=rdma;traddr=192.0.2.3;keep-alive-tmo=\n";

/// The checks every result must pass: an error names the file, and a line within the
/// input unless the problem is the whole file's.
fn check_result(text: &[u8], r: &Result<ConnConfig, ConnConfError>) {
    let lines = text.split(|b| *b == b'\n').count();
    match r {
        Ok(c) => {
            for w in &c.warnings {
                assert!((1..=lines).contains(&w.origin.line), "{w}");
            }
            for p in c
                .discovery
                .iter()
                .chain(&c.subsystems)
                .flat_map(|e| &e.paths)
            {
                assert!((1..=lines).contains(&p.origin.line));
            }
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with(MAIN), "{shown}");
            match e.location.line {
                Some(line) => assert!((1..=lines).contains(&line), "{shown} ({lines} lines)"),
                None => assert!(
                    matches!(e.kind, ErrorKind::TooLarge { .. }),
                    "only whole-file problems have no line: {shown}"
                ),
            }
        }
    }
}

fn parse_bytes(text: &[u8]) -> Result<ConnConfig, ConnConfError> {
    parse(Path::new(MAIN), Some(text), &[])
}

#[test]
fn every_truncation_of_a_rich_file() {
    assert!(parse_bytes(RICH.as_bytes()).is_ok());
    let mut refused = 0;
    for end in 0..=RICH.len() {
        let text = &RICH.as_bytes()[..end];
        let r = parse_bytes(text);
        check_result(text, &r);
        refused += usize::from(r.is_err());
    }
    // Cutting inside a value or header must be noticed somewhere.
    assert!(refused > 0);
}

#[test]
fn nul_byte_names_its_line() {
    let e = parse_bytes(b"[Host]\nhostsymname = a\n\0\n").map(|_| ());
    assert!(
        matches!(&e, Err(ConnConfError { kind: ErrorKind::NulByte, location }) if location.line == Some(3)),
        "{e:?}"
    );
}

#[test]
fn long_lines() {
    let long_value = "x".repeat(MAX_LINE_BYTES);
    let e = load_err(&format!("[Host]\n\nfuture = {long_value}\n"));
    assert!(matches!(e.kind, ErrorKind::LineTooLong { .. }), "{e}");
    assert_eq!(at(&e), "nvme-stas.conf:3");
    // Comments are exempt (they can be of any length in libnvme and mean nothing).
    let c = load(&format!("# {long_value}\n[Host]\n"));
    assert!(c.host.is_some());
    // A line just under the limit is read.
    let c = load(&format!("[Host]\nf = {}\n", "y".repeat(MAX_LINE_BYTES - 4)));
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn invalid_utf8_only_matters_where_used() {
    let c = parse_bytes(b"# caf\xe9\n[Fut\xffure]\nk\xff = \xfe\n[Host]\nbogus\xff = 1\n");
    assert!(c.is_ok_and(|c| c.warnings.len() == 2));
    let e = parse_bytes(b"[Host]\nhostsymname = caf\xe9\n").map(|_| ());
    assert!(
        matches!(
            &e,
            Err(ConnConfError {
                kind: ErrorKind::UnsafeValue {
                    key: "hostsymname",
                    ..
                },
                ..
            })
        ),
        "{e:?}"
    );
}

/// Lines built from the grammar's pieces, so that generated input reaches deep states.
fn line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("=".to_owned()),
        Just(";".to_owned()),
        Just("#".to_owned()),
        Just(" ".to_owned()),
        Just("\r".to_owned()),
        Just("Host".to_owned()),
        Just("Subsystem".to_owned()),
        Just("Discovery Controller".to_owned()),
        Just("I/O Controller Defaults".to_owned()),
        Just("controller".to_owned()),
        Just("transport=tcp".to_owned()),
        Just("traddr=192.0.2.1".to_owned()),
        Just("nqn".to_owned()),
        Just("nqn.2014-08.org.example:x".to_owned()),
        Just("hostid".to_owned()),
        Just("46ba5037-7ce5-41fa-9452-48477bf00080".to_owned()),
        Just("persistent".to_owned()),
        Just("tos".to_owned()),
        Just("0x".to_owned()),
        Just("kxchap-secret".to_owned()),
        "[ -~]{0,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_lines_never_panic(lines in prop::collection::vec(line(), 0..30)) {
        let text = lines.join("\n");
        let r = parse_bytes(text.as_bytes());
        check_result(text.as_bytes(), &r);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = parse_bytes(&bytes);
        if bytes.contains(&0) {
            prop_assert!(matches!(&r, Err(e) if matches!(e.kind, ErrorKind::NulByte)));
        }
        let lines = bytes.split(|b| *b == b'\n').count();
        if let Err(e) = &r {
            prop_assert!(e.location.line.is_some_and(|l| (1..=lines).contains(&l)), "{}", e);
        }
    }

    #[test]
    fn truncated_rich_file_with_noise(cut in 0..RICH.len(), noise in line()) {
        let text = format!("{}{noise}\n{}", &RICH[..cut], &RICH[cut..]);
        let r = parse_bytes(text.as_bytes());
        check_result(text.as_bytes(), &r);
    }
}
