//! Differential tests against CPython: `staslib::conf::ini` against `configparser`
//! configured exactly as upstream nvme-stas configures it (compat spec §1.2,
//! rust-ecosystem §3.4), and `staslib::conf::timespan` against upstream's vendored
//! `timeparse`.
//!
//! Generated inputs are batched into one `python3` process per test, sent as a JSON list
//! on stdin. A mismatch is shrunk (one Python call per step) and reported with the seed;
//! set `STAS_DIFF_SEED` to replay a run and `STAS_DIFF_CASES` to change the batch size.
//! Without `python3` the tests print `SKIPPED: python3 not found` and pass, unless
//! `STAS_REQUIRE_SYSTEM_TESTS=1`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use staslib::conf::ini::{self, IniError};
use staslib::conf::timespan::parse_timespan;

/// Inputs on which we deliberately differ from configparser at the INI level. The
/// deliberate fixes of DESIGN.md (bare keys, unparsable values, empty `exclude=`) live in
/// the typed layer, so this is empty; the only INI-level difference, refusing input over
/// `ini::MAX_INPUT_BYTES`, is never generated.
const DELIBERATE_DIVERGENCES: &[&str] = &[];

/// configparser as upstream's `SvcConf._read_conf_file()` sets it up, with upstream's
/// `OrderedMultisetDict` verbatim. Prints `{"ok": [[section, [[key, items|null]]]]}` or
/// `{"error": kind, ...}` per input text, or `{"skip": ...}` for a text with code points
/// this Python's Unicode database does not know (their lower-casing legitimately differs).
const CONFIGPARSER_PY: &str = r#"
import configparser, io, json, sys, unicodedata

class OrderedMultisetDict(dict):
    def __setitem__(self, key, value):
        if key in self and isinstance(value, list):
            self[key].extend(value)
        else:
            super().__setitem__(key, value)

    def __getitem__(self, key):
        value = super().__getitem__(key)

        if isinstance(value, str):
            return value.split('\n')

        return value

def run(text):
    # str.lower() follows this Python's Unicode database, Rust's follows a newer one.
    if any(unicodedata.category(c) == 'Cn' for c in text):
        return {'skip': 'unassigned in Unicode ' + unicodedata.unidata_version}
    config = configparser.ConfigParser(
        default_section=None,
        allow_no_value=True,
        delimiters=('='),
        interpolation=None,
        strict=False,
        dict_type=OrderedMultisetDict,
    )
    # What config.read() opens: a UTF-8 text file with universal newlines.
    fp = io.TextIOWrapper(io.BytesIO(text.encode('utf-8')), encoding='utf-8')
    try:
        config.read_file(fp, 'test.conf')
    except configparser.MissingSectionHeaderError as e:
        return {'error': 'missing-section-header', 'line': e.lineno}
    except configparser.ParsingError as e:
        return {'error': 'empty-option-name', 'lines': [line for line, _ in e.errors]}
    except AttributeError as e:
        if "'append'" in str(e):
            return {'error': 'valueless-continued'}
        if "'extend'" in str(e):
            return {'error': 'value-after-valueless'}
        raise
    return {'ok': [[s, [[o, config._sections[s][o]] for o in config.options(s)]]
                   for s in config.sections()]}

json.dump([run(t) for t in json.load(sys.stdin)], sys.stdout)
"#;

/// Upstream's `staslib/timeparse.py` (regexes and arithmetic verbatim). Prints `null`,
/// `repr(float(result))` or `{"error": name}` per input.
const TIMEPARSE_PY: &str = r#"
import json, re, sys

SIGN = r'(?P<sign>[+|-])?'
DAYS = r'(?P<days>[\d.]+)\s*(?:d|dys?|days?)'
HOURS = r'(?P<hours>[\d.]+)\s*(?:h|hrs?|hours?)'
MINS = r'(?P<mins>[\d.]+)\s*(?:m|(mins?)|(minutes?))'
SECS = r'(?P<secs>[\d.]+)\s*(?:s|secs?|seconds?)'
SEPARATORS = r'[,/]'
SECCLOCK = r':(?P<secs>\d{2}(?:\.\d+)?)'
MINCLOCK = r'(?P<mins>\d{1,2}):(?P<secs>\d{2}(?:\.\d+)?)'
HOURCLOCK = r'(?P<hours>\d+):(?P<mins>\d{2}):(?P<secs>\d{2}(?:\.\d+)?)'
DAYCLOCK = r'(?P<days>\d+):(?P<hours>\d{2}):(?P<mins>\d{2}):(?P<secs>\d{2}(?:\.\d+)?)'

def _opt(string):
    return f'(?:{string})?'

def _optsep(string):
    return fr'(?:{string}\s*(?:{SEPARATORS}\s*)?)?'

TIMEFORMATS = [
    fr'{_optsep(DAYS)}\s*{_optsep(HOURS)}\s*{_optsep(MINS)}\s*{_opt(SECS)}',
    f'{MINCLOCK}',
    fr'{_optsep(DAYS)}\s*{HOURCLOCK}',
    f'{DAYCLOCK}',
    f'{SECCLOCK}',
]

COMPILED_SIGN = re.compile(r'\s*' + SIGN + r'\s*(?P<unsigned>.*)$')
COMPILED_TIMEFORMATS = [re.compile(r'\s*' + timefmt + r'\s*$', re.I) for timefmt in TIMEFORMATS]

MULTIPLIERS = {
    'days': 60 * 60 * 24,
    'hours': 60 * 60,
    'mins': 60,
    'secs': 1,
}

def timeparse(sval):
    try:
        return float(sval)
    except TypeError:
        pass
    except ValueError:
        match = COMPILED_SIGN.match(sval)
        sign = -1 if match.groupdict()['sign'] == '-' else 1
        sval = match.groupdict()['unsigned']
        for timefmt in COMPILED_TIMEFORMATS:
            match = timefmt.match(sval)
            if match and match.group(0).strip():
                mdict = match.groupdict()
                if all(v.isdigit() for v in list(mdict.values()) if v):
                    return sign * sum((MULTIPLIERS[k] * int(v, 10) for (k, v) in list(mdict.items()) if v is not None))
                if 'secs' not in mdict or mdict['secs'] is None or mdict['secs'].isdigit():
                    return sign * int(
                        sum(
                            (
                                MULTIPLIERS[k] * float(v)
                                for (k, v) in list(mdict.items())
                                if k != 'secs' and v is not None
                            )
                        )
                    ) + (int(mdict['secs'], 10) if mdict['secs'] else 0)
                return sign * sum((MULTIPLIERS[k] * float(v) for (k, v) in list(mdict.items()) if v is not None))
    return None

def run(s):
    try:
        r = timeparse(s)
        return None if r is None else repr(float(r))
    except Exception as e:
        return {'error': type(e).__name__}

json.dump([run(s) for s in json.load(sys.stdin)], sys.stdout)
"#;

/// Runs `script` on `inputs`; `None` when python3 is missing and that is allowed.
mod common;
use common::python_available;

fn python(script: &str, inputs: &[String]) -> Option<Vec<Value>> {
    if !python_available() {
        return None;
    }
    let results: Vec<Value> = common::run_python(script, &inputs);
    assert_eq!(results.len(), inputs.len());
    Some(results)
}

/// Our reader's result in the oracle's shape.
fn ours_ini(text: &str) -> Value {
    match ini::parse(text, Path::new("test.conf")) {
        Ok(doc) => {
            let sections: Vec<Value> = doc
                .sections
                .iter()
                .map(|s| {
                    let options: Vec<Value> = s
                        .options
                        .iter()
                        .map(|o| json!([o.key, o.as_list()]))
                        .collect();
                    json!([s.name, options])
                })
                .collect();
            json!({ "ok": sections })
        }
        Err(IniError::MissingSectionHeader { line, .. }) => {
            json!({"error": "missing-section-header", "line": line})
        }
        Err(IniError::EmptyOptionName { lines, .. }) => {
            json!({"error": "empty-option-name", "lines": lines})
        }
        Err(IniError::ValuelessOptionContinued { .. }) => json!({"error": "valueless-continued"}),
        Err(IniError::ValueAfterValuelessOption { .. }) => {
            json!({"error": "value-after-valueless"})
        }
        Err(e) => json!({ "error": format!("unexpected: {e}") }),
    }
}

fn same_ini(text: &str, ours: &Value, theirs: &Value) -> bool {
    ours == theirs || DELIBERATE_DIVERGENCES.contains(&text) || theirs.get("skip").is_some()
}

fn ours_timespan(s: &str) -> Value {
    parse_timespan(s).map_or(Value::Null, |v| json!(v.to_bits()))
}

/// Python's `null`/exception both mean `None`; numbers compare bit for bit (NaN as NaN).
fn same_timespan(_: &str, ours: &Value, theirs: &Value) -> bool {
    let theirs = match theirs {
        Value::String(repr) => repr.parse::<f64>().ok(),
        _ => None,
    };
    let ours = ours.as_u64().map(f64::from_bits);
    match (ours, theirs) {
        (None, None) => true,
        (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
        _ => false,
    }
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

type Same = fn(&str, &Value, &Value) -> bool;

/// Generates `cases` inputs, compares ours with the oracle in one batch, shrinks the first
/// mismatch. Returns per-outcome statistics (keyed by the oracle's result kind).
fn differential<S>(
    name: &str,
    strategy: S,
    default_cases: u64,
    script: &str,
    ours: fn(&str) -> Value,
    same: Same,
) -> Option<std::collections::BTreeMap<String, usize>>
where
    S: Strategy<Value = String>,
{
    // Fail or skip before spending time on generation.
    if !python_available() {
        return None;
    }
    let seed = seed();
    let cases = env_number("STAS_DIFF_CASES").unwrap_or(default_cases);
    let mut seed_bytes = [0_u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut trees: Vec<S::Tree> = (0..cases)
        .map(|_| strategy.new_tree(&mut runner).expect("strategy generates"))
        .collect();
    let inputs: Vec<String> = trees.iter().map(ValueTree::current).collect();
    let expected = python(script, &inputs)?;

    let mut stats = std::collections::BTreeMap::new();
    let mut failing = Vec::new();
    for (i, (input, theirs)) in inputs.iter().zip(&expected).enumerate() {
        let kind = match theirs {
            Value::Object(m) if m.contains_key("ok") => "ok".to_owned(),
            Value::Object(m) if m.contains_key("skip") => "skip".to_owned(),
            Value::Object(m) => m
                .get("error")
                .map_or_else(|| "?".to_owned(), |e| format!("error {e}")),
            Value::Null => "null".to_owned(),
            _ => "value".to_owned(),
        };
        *stats.entry(kind).or_insert(0) += 1;
        if !same(input, &ours(input), theirs) {
            failing.push(i);
        }
    }
    println!("{name}: seed {seed}, {cases} cases, outcomes {stats:?}");
    let Some(&first) = failing.first() else {
        return Some(stats);
    };

    let mut tree = trees.swap_remove(first);
    let fails = |input: &str| -> Option<Value> {
        let theirs = python(script, &[input.to_owned()])?.pop()?;
        (!same(input, &ours(input), &theirs)).then_some(theirs)
    };
    let mut minimal = tree.current();
    if tree.simplify() {
        for _ in 0..1000 {
            let candidate = tree.current();
            if fails(&candidate).is_some() {
                minimal = candidate;
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    let theirs = fails(&minimal);
    panic!(
        "{name}: {} of {cases} inputs differ (seed {seed}, replay with STAS_DIFF_SEED={seed}).\n\
         minimal input: {minimal:?}\n\
         python: {theirs:?}\n\
         ours:   {}",
        failing.len(),
        ours(&minimal)
    );
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    proptest::sample::select(options).prop_map(str::to_owned)
}

const INDENTS: &[&str] = &[
    "", "", "", "", " ", "  ", "\t", "    ", "\u{3000}", "\x0c", "\x1c",
];
const CONTINUATION_INDENTS: &[&str] = &[" ", "  ", "\t", "    ", "\u{a0}", "\t "];
const WS: &[&str] = &["", "", "", " ", "  ", "\t", "\u{a0}", "\x1c", " \t "];
const SECTIONS: &[&str] = &[
    "Global",
    "Global",
    "Controllers",
    "Controllers",
    "global",
    "DEFAULT",
    "Service Discovery",
    " Global ",
    "a]b",
    "]",
    "Σ",
    "[x",
    "x=y",
];
const HEADER_TAILS: &[&str] = &["", "", "", "", " ", " trailing", "]", " # c", "=1"];
const KEYS: &[&str] = &[
    "kato",
    "KATO",
    "Kato",
    "controller",
    "Controller",
    "CONTROLLER",
    "exclude",
    "tron",
    "ip-family : ipv4",
    "x:y",
    "İd",
    "ΣΑΣ",
    "Straße",
    "a b",
    "[k",
    "k]",
    "[]",
];
const VALUES: &[&str] = &[
    "",
    "5",
    "true",
    "transport=tcp;traddr=1.2.3.4",
    "transport=tcp;traddr=fe80::1%eth0;trsvcid=8009;dhchap-secret=DHHC-1:00:a=:",
    "host-iface=eth0 # x",
    "%(x)s",
    "x=y=z",
    "[S]",
    "[Global]",
    "a ; b",
    "ΣΑΣ",
    "#",
    ";x",
    "= lead",
    "k = v",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => pick(KEYS),
        1 => "[a-zA-Z][a-zA-Z0-9 :._-]{0,6}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => pick(VALUES),
        3 => "[a-zA-Z0-9=;:#%\\[\\] .,/-]{0,12}",
        1 => "[a-zA-Z\\PC]{0,6}",
    ]
}

/// One physical line of INI text.
fn ini_line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (pick(INDENTS), pick(SECTIONS), pick(HEADER_TAILS))
            .prop_map(|(i, s, t)| format!("{i}[{s}]{t}")),
        16 => (pick(INDENTS), key(), pick(WS), pick(WS), value(), pick(WS))
            .prop_map(|(i, k, a, b, v, t)| format!("{i}{k}{a}={b}{v}{t}")),
        2 => (pick(INDENTS), key(), pick(WS)).prop_map(|(i, k, t)| format!("{i}{k}{t}")),
        5 => (pick(CONTINUATION_INDENTS), value(), pick(WS))
            .prop_map(|(i, v, t)| format!("{i}{v}{t}")),
        4 => (pick(INDENTS), pick(&["#", ";"]), value())
            .prop_map(|(i, c, v)| format!("{i}{c}{v}")),
        8 => pick(WS),
        1 => (pick(INDENTS), "[a-zA-Z ]{0,8}").prop_map(|(i, s)| format!("{i}[{s}")),
        1 => "[ -~\t]{0,16}",
    ]
}

/// Rare lines that make configparser fail (empty key) or always hit an edge.
fn rare_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (pick(INDENTS), value()).prop_map(|(i, v)| format!("{i}={v}")),
        Just("[]".to_owned()),
        Just("\u{feff}[Global]".to_owned()),
    ]
}

fn ini_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![60 => ini_line(), 1 => rare_line()];
    let ending = pick(&["\n", "\n", "\n", "\n", "\n", "\n", "\r\n", "\r"]);
    (
        proptest::bool::weighted(0.9),
        pick(INDENTS),
        proptest::collection::vec((line, ending), 0..24),
        proptest::bool::weighted(0.8),
    )
        .prop_map(|(header, indent, lines, final_newline)| {
            let mut text = String::new();
            if header {
                text.push_str(&format!("{indent}[Global]\n"));
            }
            let count = lines.len();
            for (i, (line, ending)) in lines.into_iter().enumerate() {
                text.push_str(&line);
                if i + 1 < count || final_newline {
                    text.push_str(&ending);
                }
            }
            text
        })
}

#[test]
fn generated_ini_matches_configparser() {
    let Some(stats) = differential("ini", ini_text(), 2000, CONFIGPARSER_PY, ours_ini, same_ini)
    else {
        return;
    };
    // Keep the generator useful: a good share of inputs must parse (about 55% do).
    let total: usize = stats.values().sum();
    let ok = stats.get("ok").copied().unwrap_or(0);
    assert!(ok * 3 > total, "too few inputs parse: {stats:?}");
}

/// Hand-picked inputs covering each rule of compat spec §1.2 and each quirk of `_read`.
#[test]
fn known_inputs_match_configparser() {
    let texts: Vec<String> = [
        "[Global]\nKATO=5\nkato = 6\n",
        "[Global]\nip-family : ipv4\n",
        "[Controllers]\nexclude = host-iface=eth0 # x\n",
        "[Controllers]\ncontroller=transport=tcp;traddr=fe80::1%eth0;trsvcid=8009;dhchap-secret=DHHC-1:00:a=:\n",
        "[Global]\n  # indented comment\n\t; another\nkato=1\n",
        "[Controllers]\ncontroller=a\n[Global]\n[Controllers]\ncontroller=b\n",
        "[Controllers]\ncontroller=a\n  b\n\n  c\n",
        "[Controllers]\ncontroller=a\n\ncontroller=b\n\n\n",
        "[Controllers]\nexclude=a\nexclude=\n\n",
        "[S]\na=\na=\n",
        "[S]\na=1\na\n",
        "[S]\na\na=1\n",
        "[S]\na\n  x\n",
        "[S]\n=x\n  y\n= z\n",
        "[S]\n=x\na\na=1\n",
        "a=1\n[S]\n",
        "\n# c\n\n[]\n",
        "\u{feff}[Global]\nkato=1\n",
        "[DEFAULT]\nkato=1\n",
        "[global]\ntron\n",
        " [S]\n  a = 1 = 2 \n\tb:c\n",
        "[x] trailing\na=1\n[a]b]\n[]\n[Global\n[ sp ]\n",
        "[S]\na=1\n [T]\nb\n",
        "[S]\na=1\n# c\n  2\n",
        "[S]\r\na=1\r  b\rc\r\n",
        "[S]\nKEYİ=1\nΣΑΣ=2\n",
        "[S]\n\x1ca\x1c=\x1c1\x1c\n\u{3000}b\u{a0}=\u{85}2\u{2028}\n",
        "[S]\na=1\n\u{3000}x\n",
        "[S]\n  a=1\n b=2\n   c\n",
        "[S]\na=%(x)s\n",
        "",
        "\n\n",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    compare_ini_batch(&texts, |i| format!("known input #{i}: {:?}", texts[i]));
}

fn compare_ini_batch(texts: &[String], describe: impl Fn(usize) -> String) {
    let Some(expected) = python(CONFIGPARSER_PY, texts) else {
        return;
    };
    let mut mismatches = Vec::new();
    for (i, (text, theirs)) in texts.iter().zip(&expected).enumerate() {
        let ours = ours_ini(text);
        if !same_ini(text, &ours, theirs) {
            mismatches.push(format!(
                "{}\n  python: {theirs}\n  ours:   {ours}",
                describe(i)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn conf_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            conf_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "conf") {
            found.push(path);
        }
    }
}

/// Every `*.conf` shipped under `etc/` reads the same in both implementations.
#[test]
fn shipped_conf_files_match_configparser() {
    let etc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc");
    let mut files = Vec::new();
    conf_files(&etc, &mut files);
    files.sort();
    if files.is_empty() {
        println!("no *.conf files under {} yet", etc.display());
        return;
    }
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect();
    println!("comparing {} file(s) under etc/", files.len());
    compare_ini_batch(&texts, |i| files[i].display().to_string());
}

fn timespan_text() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "1", "2", "12", "72", "1.5", ".", "0", "05", "\u{661}", " ", " ", "  ", ",", "/", ":", ":",
        "d", "dy", "days", "Day", "h", "hrs", "HOURS", "m", "min", "Minutes", "s", "sec", "SECS",
        "seconds", "\u{17f}", "\u{130}", "-", "+", "|", "e", "e3", "inf", "nan", "_", "\t", "\n",
        "x", "w", "ms",
    ];
    prop_oneof![
        2 => proptest::collection::vec(pick(TOKENS), 0..8).prop_map(|t| t.concat()),
        1 => "[-+| ]{0,2}[0-9]{0,3}(:[0-9]{1,3}){0,3}(\\.[0-9]{0,2})? ?",
        2 => "[-+ ]{0,2}([0-9.]{1,3} ?(d|h|m|s|day|hours|min|secs)[ ,/]{0,2}){1,4}",
    ]
}

#[test]
fn generated_timespans_match_timeparse() {
    differential(
        "timespan",
        timespan_text(),
        8000,
        TIMEPARSE_PY,
        ours_timespan,
        same_timespan,
    );
}
