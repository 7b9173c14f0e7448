//! Differential test against libnvme's own parser, built from nvme-cli's sources by
//! `tests/scripts/libnvme-ini-diff.sh` (gcc and the libnvme sources vendored in
//! `tests/vendor/nvme-cli`).
//! Every corpus case and a few hundred generated ones are written to a directory, loaded by
//! both, and compared in the harness's canonical text form. The deliberate differences of
//! the module documentation are checked the other way: libnvme accepts, we refuse.
//!
//! Without gcc or the sources the test prints `SKIPPED: <why>` and passes, unless
//! `STAS_REQUIRE_SYSTEM_TESTS=1`. `STAS_DIFF_SEED` replays a generated batch,
//! `STAS_DIFF_CASES` changes its size.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// One entry of a configuration tree, relative to its directory.
enum Node {
    File(Vec<u8>),
    Dir,
}

struct Case {
    name: String,
    nodes: Vec<(String, Node)>,
}

const MAIN_NAME: &str = "nvme-stas.conf";

fn case(name: &str, main: Option<&str>, dropins: &[(&str, &str)]) -> Case {
    let mut nodes = Vec::new();
    if let Some(main) = main {
        nodes.push((MAIN_NAME.to_owned(), Node::File(main.as_bytes().to_vec())));
    }
    for (n, text) in dropins {
        nodes.push((
            format!("{MAIN_NAME}.d/{n}"),
            Node::File(text.as_bytes().to_vec()),
        ));
    }
    Case {
        name: name.to_owned(),
        nodes,
    }
}

fn write_tree(root: &Path, nodes: &[(String, Node)]) {
    for (rel, node) in nodes {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        match node {
            Node::File(bytes) => std::fs::write(&path, bytes),
            Node::Dir => std::fs::create_dir_all(&path),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

const SUB: &str = "[Subsystem]\nnqn = nqn.2014-08.org.example:s\n";
const DCP: &str = "[Discovery Controller]\ncontroller = transport=tcp;traddr=192.0.2.7\n";
const IOCP: &str = "[Subsystem]\nnqn = nqn.2014-08.org.example:v\n\
                    controller = transport=tcp;traddr=192.0.2.8\n";

/// Hand-written cases: every rule of the module documentation that libnvme shares.
fn corpus() -> Vec<Case> {
    let mut v = Vec::new();
    let mut main = |name: &str, text: &str| v.push(case(name, Some(text), &[]));

    // Lines and sections.
    main(
        "comments and CRLF",
        &format!("# c\r\n\r\n  # c\r\n{}", IOCP.replace('\n', "\r\n")),
    );
    main(
        "inline comment in an integer",
        "[I/O Controller Defaults]\ntos = 1 # one\n",
    );
    main(
        "inline comment in a string",
        &format!("[Host]\nhostsymname = a # b\n{DCP}"),
    );
    for (i, h) in [
        "[ Host ]",
        "[Host] # c",
        "[]",
        "[ ]",
        "[Host",
        "[Host]]",
        "[host]",
    ]
    .iter()
    .enumerate()
    {
        main(
            &format!("header {i}"),
            &format!("{h}\nhostsymname = x\n{DCP}"),
        );
    }
    main("junk", "[Host]\nwhat is this\n");
    main("junk =", "[Host]\n= value\n");
    main("junk in an unknown section", "[Future]\njunk\n");
    main("key before section", "tos = 1\n[Host]\n");
    main("unknown key before section", "bogus = 1\n");
    main("case-sensitive key", &format!("[Host]\nTos = 1\n{DCP}"));
    main(
        "equals in value",
        &format!("[Host]\nhostsymname = a=b\n{DCP}"),
    );
    main("second host", "[Host]\n[Subsystem]\n[Host]\n");
    main(
        "repeated defaults",
        &format!(
            "[I/O Controller Defaults]\ntos = 1\nqueue-size = 8\n[I/O Controller Defaults]\ntos = 2\n{IOCP}"
        ),
    );
    main(
        "unknown section contents",
        &format!("[Future]\ncontroller = x\nhostnqn = bad\npersistent = no\n{IOCP}"),
    );
    main("dc default nqn", DCP);
    main(
        "dc nqn last wins",
        "[Discovery Controller]\nnqn = nqn.2014-08.org.example:a\n\
         nqn = nqn.2014-08.org.example:b\ncontroller = transport=rdma;traddr=192.0.2.1\n",
    );
    main("subsystem without nqn", &format!("{IOCP}[Subsystem]\n"));
    main("empty endpoint", SUB);
    main("empty file", "");
    main("only comments", "# nothing\n\n");
    for (i, nqn) in [
        "nqn.2014-01.x",
        "nqn.2014-13.x",
        "nqn.2014-00.x",
        "nqn.2014-08.",
        "nqn.2014-8.x",
        "not-an-nqn",
        "nqn.2014-08.a b",
        "nqn.2014-08.x:uuid:46ba5037-7ce5-41fa-9452-48477bf00080",
    ]
    .iter()
    .enumerate()
    {
        main(
            &format!("nqn {i}"),
            &format!("[Subsystem]\nnqn = {nqn}\ncontroller = transport=tcp;traddr=192.0.2.8\n"),
        );
    }
    main(
        "nqn of 223 and 224 bytes",
        &format!(
            "[Subsystem]\nnqn = nqn.2014-08.x:{}\ncontroller = transport=tcp;traddr=192.0.2.1\n\
             [Subsystem]\nnqn = nqn.2014-08.x:{}\n",
            "a".repeat(223 - 14),
            "a".repeat(224 - 14)
        ),
    );

    // Placement of every kind of key in every section.
    let sections = [
        "[Host]\n",
        "[Discovery Controller Defaults]\n",
        "[I/O Controller Defaults]\n",
        "[Discovery Controller]\n",
        SUB,
    ];
    let keys = [
        "ctrl-loss-tmo = 5",
        "hdr-digest = on",
        "tls = yes",
        "tls-key = NVMeTLSkey-1:01:abc=:",
        "kxchap-secret = DHHC-1:00:abc==:",
        "tls-key-identity = NVMe1R01 a b c",
        "keyring = .nvme",
        "persistent = force",
        "hostnqn = nqn.2014-08.org.example:h",
        "hostid = 46ba5037-7ce5-41fa-9452-48477bf00080",
        "hostsymname = sym",
        "nqn = nqn.2014-08.org.example:n",
        "controller = transport=tcp;traddr=192.0.2.1",
    ];
    for (si, s) in sections.iter().enumerate() {
        for (ki, k) in keys.iter().enumerate() {
            main(
                &format!("placement {si}/{ki}"),
                &format!("{s}{k}\n{DCP}{IOCP}"),
            );
        }
    }

    // Values.
    for (i, n) in [
        "600",
        "-1",
        "+5",
        "0",
        "0x1E",
        "0X1e",
        "030",
        "-0x10",
        "2147483647",
        "-2147483648",
        "2147483648",
        "-2147483649",
        "08",
        "0x",
        "0xg",
        "12x",
        "1.5",
        "ten",
        "--1",
        "- 1",
        "",
    ]
    .iter()
    .enumerate()
    {
        main(
            &format!("int {i}"),
            &format!("[Host]\nctrl-loss-tmo = {n}\n{DCP}"),
        );
    }
    for (i, b) in [
        "1", "yes", "Y", "TRUE", "t", "On", "0", "no", "N", "False", "f", "OFF", "2", "maybe", "",
    ]
    .iter()
    .enumerate()
    {
        main(
            &format!("bool {i}"),
            &format!("[Host]\ndata-digest = {b}\n{DCP}"),
        );
    }
    for (i, p) in ["no", "AUTO", "Force", "maybe", "", "yes"]
        .iter()
        .enumerate()
    {
        main(
            &format!("persistent {i}"),
            &format!("[Discovery Controller Defaults]\npersistent = {p}\n{DCP}"),
        );
    }
    for (i, id) in [
        "46ba5037-7ce5-41fa-9452-48477bf00080",
        "46BA5037-7CE5-41FA-9452-48477BF00080",
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "",
    ]
    .iter()
    .enumerate()
    {
        main(
            &format!("hostid {i}"),
            &format!("[Host]\nhostnqn = nqn.2014-08.org.example:h\nhostid = {id}\n{DCP}"),
        );
    }

    // Controller lines.
    for (i, line) in [
        ";; transport = tcp ; traddr = 192.0.2.1;;trsvcid=4420;",
        "transport=tcp;traddr=192.0.2.1;trsvcid=4420;host-traddr=192.0.2.9;host-iface=eth1",
        "transport=fc;traddr=nn-0x20000090fa942779:pn-0x10000090fa942779;host-traddr=nn-0x1:pn-0x2",
        "transport=loop;traddr=x",
        "transport=tcp;traddr=storage.example.com",
        "transport=tcp",
        "traddr=192.0.2.1",
        "",
        "transport=tcp;traddr=",
        "transport=;traddr=192.0.2.1",
        "transport=tcp;traddr=192.0.2.1;trsvcid=1;trsvcid=2",
        "transport=tcp;traddr=192.0.2.1;bogus=1",
        "Transport=tcp;traddr=192.0.2.1",
        "transport=tcp;traddr=192.0.2.1;tcp",
        "transport=tcp;=x;traddr=192.0.2.1",
        "transport=tcp;traddr=192.0.2.1;nqn=nqn.2014-08.org.example:x",
        "transport=tcp;traddr=192.0.2.1;hostnqn=nqn.2014-08.org.example:x",
        "transport=tcp;traddr=192.0.2.1;controller=x",
        "transport=tcp;traddr=192.0.2.1;tls=yes",
        "transport=tcp;traddr=192.0.2.1;keyring=.nvme",
        "transport=tcp;traddr=192.0.2.1;keep-alive-tmo=ten",
        "transport=tcp;traddr=192.0.2.1;keep-alive-tmo=;tos=0x10;hdr-digest=Yes",
        "transport=tcp;traddr=192.0.2.1;persistent=auto",
        "transport=tcp;traddr=192.0.2.1;persistent=",
        "transport=tcp;traddr=192.0.2.1;persistent=bad",
    ]
    .iter()
    .enumerate()
    {
        main(
            &format!("dc path {i}"),
            &format!("[Discovery Controller]\ncontroller = {line}\n"),
        );
        main(
            &format!("ioc path {i}"),
            &format!("{SUB}controller = {line}\n"),
        );
    }

    // Cascade and reset.
    main(
        "cascade",
        "[I/O Controller Defaults]\nctrl-loss-tmo = 10\nreconnect-delay = 10\n\
         fast-io-fail-tmo = 10\ntos = 10\n[Host]\nreconnect-delay = 20\n\
         fast-io-fail-tmo = 20\ntos = 20\nkxchap-secret = DHHC-1:00:h:\n\
         [Subsystem]\nnqn = nqn.2014-08.org.example:a\nfast-io-fail-tmo = 30\ntos = 30\n\
         controller = transport=tcp;traddr=192.0.2.1;tos=40\n\
         controller = transport=tcp;traddr=192.0.2.2\n\
         [Discovery Controller Defaults]\nkeep-alive-tmo = 30\n[Discovery Controller]\n\
         keep-alive-tmo = 31\ncontroller = transport=tcp;traddr=192.0.2.3;keep-alive-tmo=32\n",
    );
    main(
        "reset",
        "[I/O Controller Defaults]\nctrl-loss-tmo = 600\nkeep-alive-tmo = 5\ntos = 1\n\
         hdr-digest = yes\nkeyring = .nvme\nqueue-size = 64\n[Host]\nctrl-loss-tmo =\n\
         keyring =\n[Subsystem]\nnqn = nqn.2014-08.org.example:a\nkeep-alive-tmo =\n\
         queue-size =\nqueue-size = 32\n\
         controller = transport=tcp;traddr=192.0.2.1;tos=;hdr-digest=\n",
    );

    // Several files.
    let persona = |n: &str, id: &str| {
        format!(
            "[Host]\nhostnqn = nqn.2014-08.org.example:{n}\nhostid = {id}\n\
             hostsymname = {n}-sym\ntls = yes\n{IOCP}{DCP}"
        )
    };
    const A: &str = "46ba5037-7ce5-41fa-9452-48477bf00080";
    const B: &str = "ffffffff-7ce5-41fa-9452-48477bf00080";
    let defaults = "[Discovery Controller Defaults]\nkeep-alive-tmo = 30\ntos = 1\n\
                    [I/O Controller Defaults]\nkeep-alive-tmo = 5\ntos = 1\n\
                    [Host]\nctrl-loss-tmo = 900\nkeyring = .main\n";
    let dropin_defaults = "[I/O Controller Defaults]\ntos = 7\nkeep-alive-tmo =\n\
                           [Discovery Controller Defaults]\nreconnect-delay = 3\n";
    v.push(case(
        "drop-in overlay",
        Some(&format!("{defaults}{IOCP}{DCP}")),
        &[
            ("10-a.conf", &format!("{dropin_defaults}{IOCP}{DCP}")),
            ("20-b.conf", &format!("{IOCP}{DCP}")),
            ("30-p.conf", &persona("p", A)),
        ],
    ));
    v.push(case(
        "only drop-ins",
        None,
        &[("a.conf", IOCP), ("b.conf", DCP)],
    ));
    v.push(case("nothing", None, &[]));
    v.push(case(
        "hostnqn reused main/drop-in",
        Some(&persona("a", A)),
        &[("1.conf", &persona("a", B))],
    ));
    v.push(case(
        "hostnqn reused, one without hostid",
        None,
        &[
            ("1.conf", &persona("a", A)),
            ("2.conf", "[Host]\nhostnqn = nqn.2014-08.org.example:a\n"),
        ],
    ));
    v.push(case(
        "hostid reused",
        None,
        &[("1.conf", &persona("a", A)), ("2.conf", &persona("b", A))],
    ));
    v.push(case(
        "distinct personas",
        Some(&persona("a", A)),
        &[("1.conf", &persona("b", B))],
    ));
    v.push(case(
        "drop-in host without hostnqn",
        None,
        &[("1.conf", &format!("[Host]\nhostid = {A}\n"))],
    ));
    v.push(case(
        "drop-in host with reset hostnqn",
        None,
        &[("1.conf", "[Host]\nhostnqn =\n")],
    ));
    v.push(case(
        "unnamed main persona shares a hostid",
        Some(&format!("[Host]\nhostid = {A}\n{IOCP}")),
        &[("1.conf", &persona("a", A))],
    ));
    v.push(case(
        "unknown keys in drop-ins",
        Some(&format!("{IOCP}bogus = 1\n")),
        &[("1.conf", "[Future]\nx = 1\n[Host]\nfuture = 2\n")],
    ));
    v.push(case(
        "error in the second drop-in",
        Some(IOCP),
        &[("1.conf", DCP), ("2.conf", "[Host]\ntos = x\n")],
    ));

    // The file system.
    let mut names = case(
        "drop-in names and order",
        None,
        &[
            ("20-b.conf", IOCP),
            ("10-a.conf", IOCP),
            ("Z.conf", IOCP),
            (".hidden.conf", IOCP),
            ("..conf", IOCP),
            (".conf", "junk\n"),
            ("a.conf~", "junk\n"),
            ("a.conf.bak", "junk\n"),
            ("README", "junk\n"),
            ("a.CONF", "junk\n"),
        ],
    );
    names.nodes.push((format!("{MAIN_NAME}.d/sub"), Node::Dir));
    v.push(names);
    let mut d = case("drop-in that is a directory", Some(IOCP), &[]);
    d.nodes.push((format!("{MAIN_NAME}.d/d.conf"), Node::Dir));
    v.push(d);
    let mut d = case("drop-in directory that is a file", Some(IOCP), &[]);
    d.nodes.push((
        format!("{MAIN_NAME}.d"),
        Node::File(IOCP.as_bytes().to_vec()),
    ));
    v.push(d);
    v.push(Case {
        name: "main file that is a directory".into(),
        nodes: vec![(MAIN_NAME.to_owned(), Node::Dir)],
    });
    v.push(Case {
        name: "NUL byte".into(),
        nodes: vec![(MAIN_NAME.to_owned(), Node::File(b"[Host]\n\0\n".to_vec()))],
    });
    let mut big = IOCP.as_bytes().to_vec();
    big.resize(MAX_FILE_BYTES as usize + 1, b'\n');
    v.push(Case {
        name: "over 1 MiB".into(),
        nodes: vec![(MAIN_NAME.to_owned(), Node::File(big))],
    });
    let mut exact = IOCP.as_bytes().to_vec();
    exact.resize(MAX_FILE_BYTES as usize, b'\n');
    v.push(Case {
        name: "exactly 1 MiB".into(),
        nodes: vec![(MAIN_NAME.to_owned(), Node::File(exact))],
    });
    v.push(Case {
        name: "not UTF-8 in ignored places".into(),
        nodes: vec![(
            MAIN_NAME.to_owned(),
            Node::File(b"# caf\xe9\n[Fut\xffure]\nk\xff = v\xfe\n[Host]\nbogus\xff = 1\n".to_vec()),
        )],
    });
    v
}

/// Inputs libnvme accepts and we refuse on purpose (module documentation, "Deliberate
/// differences").
fn divergences() -> Vec<Case> {
    let h = |body: &str| format!("[Host]\n{body}\n{DCP}");
    let p = |line: &str| format!("[Discovery Controller]\ncontroller = {line}\n");
    vec![
        case(
            "hostid with trailing text",
            Some(&h("hostid = 46ba5037-7ce5-41fa-9452-48477bf00080xyz")),
            &[],
        ),
        case(
            "comma in traddr",
            Some(&p("transport=tcp;traddr=192.0.2.1,nr_io_queues=9")),
            &[],
        ),
        case(
            "equals in traddr",
            Some(&p("transport=tcp;traddr=a=b")),
            &[],
        ),
        case(
            "unknown transport",
            Some(&p("transport=tpc;traddr=192.0.2.1")),
            &[],
        ),
        case(
            "bad interface name",
            Some(&p("transport=tcp;traddr=192.0.2.1;host-iface=eth0:1")),
            &[],
        ),
        case(
            "space in a secret",
            Some(&h("kxchap-secret = DHHC-1:00:a b:")),
            &[],
        ),
        case("comma in keyring", Some(&h("keyring = .nvme,tls")), &[]),
        case("tab in hostsymname", Some(&h("hostsymname = a\tb")), &[]),
        case(
            "comma in an nqn",
            Some("[Subsystem]\nnqn = nqn.2014-08.org.example:a,b\n"),
            &[],
        ),
        case(
            "line over 16 KiB",
            Some(&format!(
                "[Host]\nfuture-key = {}\n",
                "x".repeat(MAX_LINE_BYTES)
            )),
            &[],
        ),
    ]
}

/// A small deterministic generator (xorshift64*), so a failing batch replays by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A random file from fragments that both implementations must read the same way (no
/// input of the deliberate differences).
fn random_file(rng: &mut Rng) -> String {
    const HEADERS: &[&str] = &[
        "[Host]",
        "[Discovery Controller Defaults]",
        "[I/O Controller Defaults]",
        "[Discovery Controller]",
        "[Discovery Controller]",
        "[Subsystem]",
        "[Subsystem]",
        "[Subsystem]",
        "[Future]",
        " [ Host ] ",
    ];
    const INTS: &[&str] = &["5", "-1", "0x10", "010", "600", "", "08", "x", "2147483648"];
    const BOOLS: &[&str] = &["yes", "No", "on", "0", "", "2"];
    const TUNABLES: &[&str] = &[
        "nr-io-queues",
        "nr-write-queues",
        "nr-poll-queues",
        "queue-size",
        "keep-alive-tmo",
        "reconnect-delay",
        "ctrl-loss-tmo",
        "fast-io-fail-tmo",
        "tos",
    ];
    const FLAGS: &[&str] = &[
        "duplicate-connect",
        "disable-sqflow",
        "hdr-digest",
        "data-digest",
        "tls",
        "concat",
    ];
    const STRINGS: &[&str] = &[
        "tls-key = NVMeTLSkey-1:01:k=:",
        "tls-key-identity = id one",
        "keyring = .nvme",
        "kxchap-secret = DHHC-1:00:s==:",
        "kxchap-ctrl-secret = DHHC-1:00:c:",
        "keyring =",
        "kxchap-secret =",
    ];
    const IDENTITY: &[&str] = &[
        "hostnqn = nqn.2014-08.org.example:h1",
        "hostnqn = nqn.2014-08.org.example:h2",
        "hostnqn = nqn.2014-08.org.example:h3",
        "hostnqn =",
        "hostnqn = bad",
        "hostid = 46ba5037-7ce5-41fa-9452-48477bf00080",
        "hostid = ffffffff-7ce5-41fa-9452-48477bf00080",
        "hostid = 0000000000000000000000000000000000000",
        "hostid =",
        "hostsymname = sym bol",
        "hostsymname =",
    ];
    const NQNS: &[&str] = &[
        "nqn = nqn.2014-08.org.example:s1",
        "nqn = nqn.2014-08.org.example:s2",
        "nqn = nqn.2014-08.org.nvmexpress.discovery",
        "nqn =",
        "nqn = nqn.2014-13.x",
    ];
    const TOKENS: &[&str] = &[
        "transport=tcp",
        "transport=rdma",
        "transport=fc",
        "transport=loop",
        "traddr=192.0.2.1",
        "traddr=192.0.2.2",
        "traddr=host.example",
        "trsvcid=4420",
        "trsvcid=8009",
        "host-traddr=192.0.2.100",
        "host-iface=eth0",
        "tos=3",
        "keep-alive-tmo=",
        "ctrl-loss-tmo=0x20",
        "hdr-digest=yes",
        "persistent=auto",
        "persistent=x",
        "tls=yes",
        "bogus=1",
        "junk",
        "",
        " ",
        "nqn=nqn.2014-08.org.example:x",
    ];
    let mut out = String::new();
    let lines = rng.below(24);
    for _ in 0..lines {
        let line = match rng.below(14) {
            0 | 1 => rng.pick(HEADERS).to_owned(),
            2 | 3 => format!("{} = {}", rng.pick(TUNABLES), rng.pick(INTS)),
            4 => format!("{} = {}", rng.pick(FLAGS), rng.pick(BOOLS)),
            5 => rng.pick(STRINGS).to_owned(),
            6 => rng.pick(IDENTITY).to_owned(),
            7 => rng.pick(NQNS).to_owned(),
            8..=10 => {
                // Mostly well-formed: transport and traddr first.
                let mut toks = Vec::new();
                if rng.below(8) != 0 {
                    toks.push(rng.pick(&TOKENS[..4]).to_owned());
                    toks.push(rng.pick(&TOKENS[4..7]).to_owned());
                }
                for _ in 0..rng.below(4) {
                    toks.push(rng.pick(&TOKENS[4..]).to_owned());
                }
                format!("controller = {}", toks.join(";"))
            }
            11 => format!(
                "persistent = {}",
                rng.pick(&["auto", "no", "FORCE", "", "maybe"])
            ),
            12 => rng
                .pick(&["# comment", "", "bogus = 1", "junk", "   "])
                .to_owned(),
            _ => rng
                .pick(&[
                    "[Discovery Controller]",
                    "[Subsystem]\nnqn = nqn.2014-08.org.example:z",
                ])
                .to_owned(),
        };
        out.push_str(&line);
        out.push_str(if rng.below(10) == 0 { "\r\n" } else { "\n" });
    }
    out
}

/// A random file whose lines are valid where they stand (values and placement), so that
/// most such configurations resolve and their results are compared; personas may still
/// collide across files.
fn clean_file(rng: &mut Rng) -> String {
    const TUNABLES: &[&str] = &[
        "nr-io-queues = 4",
        "nr-write-queues = 0x2",
        "nr-poll-queues = 010",
        "queue-size = 128",
        "keep-alive-tmo = 30",
        "keep-alive-tmo =",
        "reconnect-delay = 5",
        "ctrl-loss-tmo = -1",
        "ctrl-loss-tmo = 600",
        "ctrl-loss-tmo =",
        "fast-io-fail-tmo = 0",
        "tos = 0xff",
        "duplicate-connect = Yes",
        "disable-sqflow = off",
        "hdr-digest = t",
        "data-digest =",
        "tls = on",
        "tls =",
        "concat = 0",
        "tls-key = NVMeTLSkey-1:01:k=:",
        "tls-key-identity = id one",
        "keyring = .nvme",
        "keyring =",
        "kxchap-secret = DHHC-1:00:s==:",
        "kxchap-ctrl-secret = DHHC-1:00:c:",
        "bogus = 1",
    ];
    const HOST: &[&str] = &[
        "hostnqn = nqn.2014-08.org.example:h1",
        "hostnqn = nqn.2014-08.org.example:h2",
        "hostnqn = nqn.2014-08.org.example:h3",
        "hostid = 46ba5037-7ce5-41fa-9452-48477bf00080",
        "hostid = ffffffff-7ce5-41fa-9452-48477bf00080",
        "hostid = 11111111-7ce5-41fa-9452-48477bf00080",
        "hostsymname = sym bol",
        "hostsymname =",
    ];
    const PERSISTENT: &[&str] = &[
        "persistent = auto",
        "persistent = NO",
        "persistent = force",
        "persistent =",
    ];
    const ADDR: &[&str] = &[
        "transport=tcp;traddr=192.0.2.1",
        "transport=rdma;traddr=192.0.2.2;trsvcid=4420",
        "transport=tcp;traddr=host.example;host-iface=eth0",
        "transport=fc;traddr=nn-0x1:pn-0x2;host-traddr=nn-0x3:pn-0x4",
        " transport = loop ; traddr = x ;",
    ];
    const OVERRIDES: &[&str] = &[
        "",
        ";tos=3",
        ";keep-alive-tmo=",
        ";ctrl-loss-tmo=0x20;hdr-digest=yes",
        ";;",
    ];
    let mut out = String::new();
    let mut host_written = false;
    for _ in 0..1 + rng.below(6) {
        let section = rng.below(5);
        let header = match section {
            0 if !host_written => {
                host_written = true;
                "[Host]\n"
            }
            0 | 1 => "[Discovery Controller Defaults]\n",
            2 => "[I/O Controller Defaults]\n",
            3 => "[Discovery Controller]\n",
            _ => "[Subsystem]\nnqn = nqn.2014-08.org.example:s\n",
        };
        out.push_str(header);
        let is_host = header == "[Host]\n";
        for _ in 0..rng.below(6) {
            let line = match rng.below(4) {
                0 if is_host => rng.pick(HOST).to_owned(),
                1 if matches!(section, 1 | 3) && !is_host => rng.pick(PERSISTENT).to_owned(),
                2 if section >= 3 => {
                    let persistent = if section == 3 && rng.below(3) == 0 {
                        ";persistent=auto"
                    } else {
                        ""
                    };
                    format!(
                        "controller = {}{}{persistent}",
                        rng.pick(ADDR),
                        rng.pick(OVERRIDES)
                    )
                }
                _ => rng.pick(TUNABLES).to_owned(),
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn generated(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng(seed | 1);
    (0..count)
        .map(|i| {
            let clean = i % 2 == 0;
            let file = |rng: &mut Rng| {
                if clean {
                    clean_file(rng)
                } else {
                    random_file(rng)
                }
            };
            let main = (rng.below(5) != 0).then(|| file(&mut rng));
            let names = ["10-a.conf", "20-b.conf", "30-c.conf"];
            let dropins: Vec<(&str, String)> = names[..rng.below(4)]
                .iter()
                .map(|n| (*n, file(&mut rng)))
                .collect();
            let dropins: Vec<(&str, &str)> =
                dropins.iter().map(|(n, t)| (*n, t.as_str())).collect();
            case(
                &format!("generated #{i} (seed {seed})"),
                main.as_deref(),
                &dropins,
            )
        })
        .collect()
}

fn skip_or_fail(why: &str) {
    if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref() == Ok("1") {
        panic!("{why} and STAS_REQUIRE_SYSTEM_TESTS=1");
    }
    println!("SKIPPED: {why}");
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts/libnvme-ini-diff.sh")
}

/// libnvme's and our view of one case.
fn both(harness: &Path, c: &Case) -> (String, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    write_tree(root, &c.nodes);
    let main = root.join(MAIN_NAME);
    let out = Command::new(harness)
        .arg(root)
        .arg(&main)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", harness.display()));
    assert!(out.status.success(), "{}: harness failed: {out:?}", c.name);
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    let ours = render(&read(&main), root);
    (theirs, ours)
}

#[test]
fn differential_against_libnvme() {
    let build = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("bash")
        .arg(script())
        .arg("self-test")
        .arg(build.path())
        .output()
        .unwrap_or_else(|e| panic!("bash: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(77) {
        skip_or_fail(stdout.trim().trim_start_matches("SKIPPED: "));
        return;
    }
    assert!(
        out.status.success(),
        "building libnvme's parser failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", stdout.trim());
    let harness = build.path().join("libnvme-ini-harness");

    let seed = std::env::var("STAS_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let count = std::env::var("STAS_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut cases = corpus();
    let hand_written = cases.len();
    cases.extend(generated(seed, count));
    let mut failures = Vec::new();
    let mut accepted = 0;
    for c in &cases {
        let (theirs, ours) = both(&harness, c);
        accepted += usize::from(theirs.ends_with("result ok\n"));
        if theirs != ours {
            failures.push(format!(
                "--- {} ---\nlibnvme:\n{theirs}ours:\n{ours}",
                c.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ (STAS_DIFF_SEED={seed}):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The corpus exercises both outcomes.
    assert!(
        accepted > hand_written / 4 && accepted < cases.len(),
        "{accepted}"
    );

    for c in divergences() {
        let (theirs, ours) = both(&harness, &c);
        assert!(
            theirs.ends_with("result ok\n") && ours.ends_with("result error\n"),
            "{}: expected libnvme to accept and us to refuse\nlibnvme:\n{theirs}ours:\n{ours}",
            c.name
        );
    }
    println!(
        "{} cases identical ({hand_written} written, {count} generated with seed {seed}), \
         {accepted} accepted; {} deliberate differences confirmed",
        cases.len(),
        divergences().len()
    );
}
