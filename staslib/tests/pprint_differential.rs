//! Differential tests of `staslib::pprint` against CPython's `pprint.pformat()` (compat
//! spec §3, §3.2), plus golden outputs that need no Python.
//!
//! Generated `(width, value)` cases are batched into one `python3` process per test, sent as
//! JSON on stdin with an explicit encoding of the value types (`{"l": [..]}` list,
//! `{"d": [[k, v], ..]}` dict, `{"f": "<float>"}` float; JSON null/bool/int/string as
//! themselves). A mismatch is shrunk (one Python call per step) and reported with the seed;
//! set `STAS_DIFF_SEED` to replay a run and `STAS_DIFF_CASES` to change the batch size.
//! Without `python3` the tests print `SKIPPED: python3 not found` and pass, unless
//! `STAS_REQUIRE_SYSTEM_TESTS=1`.

use std::process::Command;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use staslib::pprint::{PyValue, ctl_pformat, is_printable, pformat, repr, saferepr};

/// Decodes the cases and prints `[pprint.pformat(), repr()]` of each, as an ASCII JSON list.
const PFORMAT_PY: &str = r#"
import json, pprint, sys

def dec(x):
    if isinstance(x, dict):
        if 'l' in x:
            return [dec(i) for i in x['l']]
        if 'd' in x:
            return {k: dec(v) for k, v in x['d']}
        if 'f' in x:
            return float(x['f'])
        raise ValueError(x)
    return x

cases = json.loads(sys.stdin.buffer.read().decode('utf-8'))
out = []
for c in cases:
    v = dec(c['v'])
    out.append([pprint.pformat(v, width=c['w']), repr(v)])
sys.stdout.write(json.dumps(out))
"#;

/// One generated case: the width and the value.
type Case = (usize, PyValue);

fn encode(v: &PyValue) -> Value {
    match v {
        PyValue::None => Value::Null,
        PyValue::Bool(b) => json!(b),
        PyValue::Int(i) => {
            // serde_json numbers hold i64/u64, which is all the generators produce.
            i64::try_from(*i)
                .map(|i| json!(i))
                .or_else(|_| u64::try_from(*i).map(|u| json!(u)))
                .expect("generated ints fit in 64 bits")
        }
        PyValue::Float(f) => json!({ "f": format!("{f:e}") }),
        PyValue::Str(s) => json!(s),
        PyValue::List(items) => json!({ "l": items.iter().map(encode).collect::<Vec<_>>() }),
        PyValue::Dict(entries) => json!({
            "d": entries.iter().map(|(k, v)| json!([k, encode(v)])).collect::<Vec<_>>()
        }),
    }
}

mod common;
use common::python_available;

/// CPython's `pformat()` and `repr()` of every case, from one python3 process.
fn python_pformat(cases: &[Case]) -> Vec<(String, String)> {
    let payload: Vec<Value> = cases
        .iter()
        .map(|(w, v)| json!({ "w": w, "v": encode(v) }))
        .collect();
    let results: Vec<(String, String)> = common::run_python(PFORMAT_PY, &payload);
    assert_eq!(results.len(), cases.len());
    results
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn seed() -> u64 {
    env_number("STAS_DIFF_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
}

/// Our `(pformat, repr)` of a case.
fn ours((width, v): &Case) -> (String, String) {
    (pformat(v, *width), repr(v))
}

/// Generates the cases, compares ours with CPython in one batch, shrinks the first mismatch.
fn differential(name: &str, strategy: BoxedStrategy<Case>, default_cases: u64) {
    if !python_available() {
        return;
    }
    let seed = seed();
    let cases = env_number("STAS_DIFF_CASES").unwrap_or(default_cases);
    let mut seed_bytes = [0_u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut trees: Vec<_> = (0..cases)
        .map(|_| strategy.new_tree(&mut runner).expect("strategy generates"))
        .collect();
    let inputs: Vec<Case> = trees.iter().map(ValueTree::current).collect();
    let expected = python_pformat(&inputs);

    let failing: Vec<usize> = inputs
        .iter()
        .zip(&expected)
        .enumerate()
        .filter(|(_, (case, theirs))| ours(case) != **theirs)
        .map(|(i, _)| i)
        .collect();
    let multiline = expected.iter().filter(|(s, _)| s.contains('\n')).count();
    let split_strings = expected.iter().filter(|(s, _)| s.contains("'\n")).count();
    println!(
        "{name}: seed {seed}, {cases} cases ({multiline} multi-line, {split_strings} with split \
         literals), {} mismatches",
        failing.len()
    );
    let Some(&first) = failing.first() else {
        return;
    };

    let mut tree = trees.swap_remove(first);
    let fails =
        |case: &Case| -> bool { python_pformat(std::slice::from_ref(case)) != [ours(case)] };
    let mut minimal = tree.current();
    if tree.simplify() {
        for _ in 0..1000 {
            let candidate = tree.current();
            if fails(&candidate) {
                minimal = candidate;
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    let (their_pformat, their_repr) = python_pformat(std::slice::from_ref(&minimal)).remove(0);
    let (our_pformat, our_repr) = ours(&minimal);
    panic!(
        "{name}: {} of {cases} cases differ (seed {seed}, replay with STAS_DIFF_SEED={seed}).\n\
         minimal case: width={} value={:?}\n\
         python pformat:\n{their_pformat}\n\
         ours:\n{our_pformat}\n\
         python repr: {their_repr}\n\
         ours:        {our_repr}",
        failing.len(),
        minimal.0,
        minimal.1,
    );
}

/// Characters chosen so that every Python 3 agrees on them: ASCII, Latin-1, assigned BMP and
/// astral letters, whitespace/line-break/format/private-use characters and noncharacters.
const SPECIAL_CHARS: &[char] = &[
    ' ', ' ', ' ', '\t', '\n', '\r', '\'', '\'', '"', '"', '\\', '\x0b', '\x0c', '\x1c', '\x1d',
    '\x1e', '\x1f', '\x00', '\x07', '\x7f', '-', '.', ':', '_', '{', '}', '(', ')',
];
const UNICODE_CHARS: &[char] = &[
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    'é',
    'Σ',
    'ж',
    '中',
    '\u{1680}',
    '\u{2000}',
    '\u{200a}',
    '\u{200b}',
    '\u{200f}',
    '\u{2028}',
    '\u{2029}',
    '\u{202f}',
    '\u{205f}',
    '\u{3000}',
    '\u{61c}',
    '\u{feff}',
    '\u{fdd0}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{e000}',
    '\u{f8ff}',
    '\u{1d11e}',
    '\u{1f600}',
    '\u{e0001}',
    '\u{1fffe}',
    '\u{10ffff}',
];

fn any_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        8 => proptest::char::range('a', 'z'),
        1 => proptest::char::range(' ', '~'),
        3 => select(SPECIAL_CHARS),
        1 => proptest::char::range('\u{80}', '\u{ff}'),
        1 => select(UNICODE_CHARS),
    ]
}

const SEPARATORS: &[&str] = &[
    " ", " ", " ", " ", " ", "  ", "\t", "\n", " \n", "\r\n", "\r", "\u{a0}", "\u{3000}", "\x0c",
    "\u{2028}", " \x1c ",
];

/// Text of words and whitespace, long enough to need splitting at small and large widths.
fn wordy() -> impl Strategy<Value = String> + Clone {
    (
        select(&["", "", "", " ", "  ", "\n"][..]),
        vec(
            (
                prop_oneof![
                    5 => "[a-zA-Z0-9:.-]{1,12}",
                    1 => vec(any_char(), 1..8).prop_map(|c| c.into_iter().collect::<String>()),
                    1 => "[a-z]{20,60}",
                ],
                select(SEPARATORS),
            ),
            0..30,
        ),
        any::<bool>(),
    )
        .prop_map(|(lead, words, trailing_sep)| {
            let mut s = lead.to_owned();
            let n = words.len();
            for (i, (word, sep)) in words.into_iter().enumerate() {
                s.push_str(&word);
                if i + 1 < n || trailing_sep {
                    s.push_str(sep);
                }
            }
            s
        })
}

const NVME_STRINGS: &[&str] = &[
    "",
    "0",
    "8009",
    "4420",
    "tcp",
    "rdma",
    "eth0",
    "192.168.1.10",
    "fe80::2c6e:dee7:857:26bb",
    "nqn.2014-08.org.nvmexpress.discovery",
    "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964",
    "nqn.1988-11.com.dell:powerstore:00:a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8",
    "{'sectype': 'none'}",
    "{'qptype': 'connected', 'prtype': 'not specified', 'cms': 'cm'}",
    "1.5s [off]",
    "60.0s [2.345678s]",
    "/run/stafd/last-known-config.pickle",
    "(eth0, IPv4, SFSS._nvme-disc._tcp.local, _nvme-disc._tcp)",
    "True",
    "False",
];

fn string() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => vec(any_char(), 0..40).prop_map(|c| c.into_iter().collect::<String>()),
        4 => wordy(),
        2 => select(NVME_STRINGS).prop_map(str::to_owned),
        1 => "[a-z0-9]{60,200}",
    ]
}

const KEYS: &[&str] = &[
    "device",
    "host-iface",
    "host-nqn",
    "host-traddr",
    "subsysnqn",
    "traddr",
    "transport",
    "trsvcid",
    "connect attempts",
    "log_pages",
    "log-level",
    "tron",
    "controllers",
    "Device",
    "_x",
    "a",
    "",
    "é",
    "Z",
];

fn key() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => select(KEYS).prop_map(str::to_owned),
        1 => vec(any_char(), 0..12).prop_map(|c| c.into_iter().collect::<String>()),
        1 => wordy(),
    ]
}

fn leaf() -> impl Strategy<Value = PyValue> + Clone {
    prop_oneof![
        1 => Just(PyValue::None),
        1 => any::<bool>().prop_map(PyValue::Bool),
        1 => (-1000_i64..1000).prop_map(PyValue::from),
        1 => any::<i64>().prop_map(PyValue::from),
        1 => any::<u64>().prop_map(PyValue::from),
        1 => prop_oneof![
            any::<f64>(),
            -1e6_f64..1e6,
            select(&[0.0, -0.0, 1.5, 60.0, 1e16, 1e-5, 1e22, f64::NAN, f64::INFINITY][..]),
        ]
        .prop_map(PyValue::Float),
        8 => string().prop_map(PyValue::Str),
    ]
}

fn value() -> impl Strategy<Value = PyValue> + Clone {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(PyValue::List),
            vec((key(), inner), 0..6).prop_map(PyValue::Dict),
        ]
    })
}

fn width() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![3 => Just(120_usize), 2 => 1_usize..=140, 1 => 100_usize..=130]
}

/// Any nested value at any width.
#[test]
fn pprint_matches_cpython_on_random_values() {
    differential("pprint random values", (width(), value()).boxed(), 1000);
}

/// A DLPE dict as `get_log_pages()` returns it.
fn dlpe() -> impl Strategy<Value = PyValue> + Clone {
    (
        select(NVME_STRINGS),
        select(NVME_STRINGS),
        string(),
        any::<bool>(),
    )
        .prop_map(|(traddr, subnqn, extra, with_tsas)| {
            let mut d = vec![
                ("trtype", PyValue::from("tcp")),
                ("adrfam", "ipv4".into()),
                ("traddr", traddr.into()),
                ("trsvcid", "4420".into()),
                ("subnqn", subnqn.into()),
                ("subtype", "nvme".into()),
                ("treq", "not specified".into()),
                ("portid", "1".into()),
                ("cntlid", "65535".into()),
                ("asqsz", "32".into()),
                ("eflags", extra.into()),
            ];
            if with_tsas {
                d.push(("tsas", "{'sectype': 'none'}".into()));
            }
            PyValue::dict(d)
        })
}

/// A controller dict as `list_controllers()` / `status` return it.
fn controller() -> impl Strategy<Value = PyValue> + Clone {
    (
        select(NVME_STRINGS),
        select(NVME_STRINGS),
        select(NVME_STRINGS),
        string(),
        proptest::option::of(vec(dlpe(), 0..4)),
        proptest::option::of(value()),
    )
        .prop_map(|(traddr, iface, nqn, extra, log_pages, more)| {
            let mut d = vec![
                ("device", PyValue::from("nvme0")),
                ("host-iface", iface.into()),
                ("host-nqn", nqn.into()),
                ("host-traddr", "".into()),
                ("subsysnqn", "nqn.2014-08.org.nvmexpress.discovery".into()),
                ("traddr", traddr.into()),
                ("transport", "tcp".into()),
                ("trsvcid", "8009".into()),
                ("connect attempts", "0".into()),
                ("last event", extra.into()),
            ];
            if let Some(pages) = log_pages {
                d.push(("log_pages", PyValue::List(pages)));
            }
            if let Some(more) = more {
                d.push(("retry connect timer", more));
            }
            PyValue::dict(d)
        })
}

/// `stafctl status` / `ls` / `adlp` shaped output.
fn ctl_shape() -> impl Strategy<Value = PyValue> + Clone {
    let controllers = vec(controller(), 0..4).prop_map(PyValue::List);
    prop_oneof![
        controllers.clone(),
        (controllers, select(NVME_STRINGS), any::<bool>(), value()).prop_map(
            |(controllers, nqn, tron, avahi)| {
                PyValue::dict([
                    ("controllers", controllers),
                    ("hostnqn", nqn.into()),
                    ("hostkey", PyValue::None),
                    ("tron", tron.into()),
                    ("log-level", if tron { "DEBUG" } else { "INFO" }.into()),
                    ("config soak timer", "1.5s [off]".into()),
                    ("avahi", avahi),
                ])
            }
        ),
        vec(
            (controller(), vec(dlpe(), 0..3)).prop_map(|(dc, pages)| {
                PyValue::dict([
                    ("discovery-controller", dc),
                    ("log-pages", PyValue::List(pages)),
                ])
            }),
            0..3
        )
        .prop_map(PyValue::List),
    ]
}

/// The ctl tools' output shapes, mostly at their width.
#[test]
fn pprint_matches_cpython_on_ctl_shapes() {
    differential("pprint ctl shapes", (width(), ctl_shape()).boxed(), 1000);
}

/// The `stafctl ls` sample of compat spec §3.2.
#[test]
fn pprint_golden_stafctl_ls() {
    let ls = PyValue::List(vec![PyValue::dict([
        ("transport", PyValue::from("tcp")),
        ("traddr", "192.168.1.10".into()),
        ("trsvcid", "8009".into()),
        ("host-traddr", "".into()),
        ("host-iface", "eth0".into()),
        ("subsysnqn", "nqn.2014-08.org.nvmexpress.discovery".into()),
        (
            "host-nqn",
            "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964".into(),
        ),
        ("device", "nvme0".into()),
    ])]);
    let want = "\
[{'device': 'nvme0',
  'host-iface': 'eth0',
  'host-nqn': 'nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964',
  'host-traddr': '',
  'subsysnqn': 'nqn.2014-08.org.nvmexpress.discovery',
  'traddr': '192.168.1.10',
  'transport': 'tcp',
  'trsvcid': '8009'}]";
    assert_eq!(ctl_pformat(&ls), want);
    assert_eq!(ctl_pformat(&PyValue::List(vec![])), "[]");

    // The same payload as the daemon's JSON.
    let json = r#"[{"transport": "tcp", "traddr": "192.168.1.10", "trsvcid": "8009",
        "host-traddr": "", "host-iface": "eth0",
        "subsysnqn": "nqn.2014-08.org.nvmexpress.discovery",
        "host-nqn": "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964",
        "device": "nvme0"}]"#;
    let decoded: PyValue = serde_json::from_str(json).expect("valid JSON");
    assert_eq!(ctl_pformat(&decoded), want);
}

/// Outputs captured from CPython 3.11 `pprint.pformat(..., width=120)`.
#[test]
fn pprint_golden_cpython_outputs() {
    let words = "word ".repeat(30);
    let status = PyValue::dict([
        ("tron", PyValue::Bool(true)),
        ("hostkey", PyValue::None),
        ("kato", 30.into()),
        ("interval", 1.5.into()),
        (
            "controllers",
            PyValue::List(vec![PyValue::dict([
                ("device", PyValue::from("nvme1")),
                (
                    "log_pages",
                    PyValue::List(vec![PyValue::dict([
                        ("tsas", PyValue::from("{'sectype': 'none'}")),
                        ("traddr", "::1".into()),
                    ])]),
                ),
                ("note", words.as_str().into()),
                ("quote's", "say \"hi\"\n\tand 'bye'\\".into()),
            ])]),
        ),
        ("empty", PyValue::Dict(vec![])),
        ("none", PyValue::List(vec![])),
    ]);
    let want = r#"{'controllers': [{'device': 'nvme1',
                  'log_pages': [{'traddr': '::1', 'tsas': "{'sectype': 'none'}"}],
                  'note': 'word word word word word word word word word word word word word word word word word word '
                          'word word word word word word word word word word word word ',
                  "quote's": 'say "hi"\n\tand \'bye\'\\'}],
 'empty': {},
 'hostkey': None,
 'interval': 1.5,
 'kato': 30,
 'none': [],
 'tron': True}"#;
    assert_eq!(ctl_pformat(&status), want);

    // A top-level string too long for the line is parenthesised.
    let top = PyValue::from(format!("{words}\nsecond line"));
    let want = "('word word word word word word word word word word word word word word word word word word word word word word word '\n \
                'word word word word word word word \\n'\n 'second line')";
    assert_eq!(ctl_pformat(&top), want);

    assert_eq!(
        saferepr(&PyValue::dict([
            ("b", PyValue::from(-1)),
            ("a", 2.5e-7.into())
        ])),
        "{'a': 2.5e-07, 'b': -1}"
    );
}

/// JSON numbers decode as `json.loads` decodes them.
#[test]
fn pprint_json_numbers() {
    let v: PyValue = serde_json::from_str(
        r#"{"i": -7, "u": 18446744073709551615, "f": 1.0, "e": 1e16, "n": null}"#,
    )
    .expect("valid JSON");
    assert_eq!(
        ctl_pformat(&v),
        "{'e': 1e+16, 'f': 1.0, 'i': -7, 'n': None, 'u': 18446744073709551615}"
    );
    let v: PyValue = serde_json::from_value(json!({"k": [true, "x"]})).expect("any JSON value");
    assert_eq!(ctl_pformat(&v), "{'k': [True, 'x']}");
}

/// Ranges of non-ASCII code points `str.isprintable()` rejects, or `null` when this Python's
/// Unicode database is not the 14.0.0 of CPython 3.11 that the table reproduces.
const NON_PRINTABLE_PY: &str = r#"
import json, sys, unicodedata
if unicodedata.unidata_version != '14.0.0':
    print(json.dumps(None))
    sys.exit()
out, start = [], None
for c in range(0x80, 0x110000):
    p = not chr(c).isprintable()
    if p and start is None:
        start = c
    if not p and start is not None:
        out.append([start, c - 1])
        start = None
if start is not None:
    out.append([start, 0x10FFFF])
print(json.dumps(out))
"#;

/// `is_printable()` (which decides `\x`/`\u`/`\U` escapes in string reprs) agrees with
/// `str.isprintable()` on every code point.
#[test]
fn pprint_printable_table_matches_cpython() {
    if !python_available() {
        return;
    }
    let output = Command::new("python3")
        .args(["-c", NON_PRINTABLE_PY])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "python3 failed");
    let theirs: Option<Vec<(u32, u32)>> =
        serde_json::from_slice(&output.stdout).expect("python3 prints JSON");
    let Some(theirs) = theirs else {
        println!("pprint printable table: not Unicode 14.0.0, nothing to compare");
        return;
    };
    let mut ours: Vec<(u32, u32)> = Vec::new();
    for c in (0x80..=0x10FFFF_u32).filter_map(char::from_u32) {
        if is_printable(c) {
            continue;
        }
        let n = u32::from(c);
        match ours.last_mut() {
            // Surrogates (not chars) are non-printable too, so runs continue across them.
            Some(last) if last.1 + 1 == n || (last.1 == 0xD7FF && n == 0xE000) => last.1 = n,
            _ => ours.push((n, n)),
        }
    }
    assert_eq!(ours, theirs);
}
