//! Time spans (`zeroconf-connections-persistence`): a literal port of upstream's vendored
//! pytimeparse, `staslib/timeparse.py` (compat spec §1.6).
//!
//! The Python version tries `float(sval)` first, then strips an optional sign with
//! `\s*(?P<sign>[+|-])?\s*(?P<unsigned>.*)$` (so `|` is a "sign" too) and matches the rest
//! against five case-insensitive regexes, the first that matches (and is not blank) wins:
//!
//! ```text
//! DAYS  = (?P<days>[\d.]+)\s*(?:d|dys?|days?)      HOURS = (?P<hours>[\d.]+)\s*(?:h|hrs?|hours?)
//! MINS  = (?P<mins>[\d.]+)\s*(?:m|(mins?)|(minutes?))
//! SECS  = (?P<secs>[\d.]+)\s*(?:s|secs?|seconds?)  OPTSEP(x) = (?:x\s*(?:[,/]\s*)?)?
//! 1. \s* OPTSEP(DAYS) \s* OPTSEP(HOURS) \s* OPTSEP(MINS) \s* (?:SECS)? \s*$
//! 2. \s* (?P<mins>\d{1,2}):(?P<secs>\d{2}(?:\.\d+)?) \s*$
//! 3. \s* OPTSEP(DAYS) \s* (?P<hours>\d+):(?P<mins>\d{2}):(?P<secs>\d{2}(?:\.\d+)?) \s*$
//! 4. \s* (?P<days>\d+):(?P<hours>\d{2}):(?P<mins>\d{2}):(?P<secs>\d{2}(?:\.\d+)?) \s*$
//! 5. \s* :(?P<secs>\d{2}(?:\.\d+)?) \s*$
//! ```
//!
//! The regexes are simple enough to be matched by hand: a number is always a maximal run
//! of `[\d.]`, and a unit is always the maximal run of characters up to the next
//! whitespace, separator, digit or dot (whatever follows a unit in the regexes starts with
//! one of those), so no backtracking is needed. Python semantics kept: `\d` is any Unicode
//! decimal digit and `\s` is `str.isspace()`; `re.I` also lets `ſ` match `s` and `İ`/`ı`
//! match `i`; `float()` accepts `inf`, `nan`, exponents, `_` between digits and surrounding
//! whitespace. Where upstream raises instead of returning (`.` or `1.2.3` as a number, an
//! embedded line break, an infinite sum truncated to an int), this returns `None`.

use super::ini::py_isspace;

/// First code point of each run of ten Unicode decimal digits (category Nd, Unicode 14.0
/// as in CPython 3.11), i.e. what `\d`, `int()` and `float()` accept.
const ND_STARTS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

const DAYS: usize = 0;
const HOURS: usize = 1;
const MINS: usize = 2;
const SECS: usize = 3;
/// `MULTIPLIERS`, indexed by the constants above (the order of the regex groups).
const MULTIPLIERS: [f64; 4] = [86400.0, 3600.0, 60.0, 1.0];

/// Captured groups `days`, `hours`, `mins`, `secs` (`None`: did not participate).
type Groups<'a> = [Option<&'a str>; 4];

/// Parses a time span into seconds, as upstream's `timeparse.timeparse()`; `None` when it
/// is not a time span.
pub fn parse_timespan(s: &str) -> Option<f64> {
    if let Some(v) = py_float(s) {
        return Some(v);
    }
    // COMPILED_SIGN
    let s = s.trim_start_matches(py_isspace);
    let (sign, s) = match s.strip_prefix(['+', '|', '-']) {
        Some(rest) if s.starts_with('-') => (-1.0, rest),
        Some(rest) => (1.0, rest),
        None => (1.0, s),
    };
    let rest = s.trim_start_matches(py_isspace);
    // `.*$`: `.` stops at a line break and `$` only matches before a final one; Python
    // crashes (`None.groupdict()`) when that fails.
    let unsigned = match rest.find('\n') {
        None => rest,
        Some(i) if i + 1 == rest.len() => rest.get(..i)?,
        Some(_) => return None,
    };
    let groups = units_format(unsigned)
        .or_else(|| min_clock(unsigned))
        .or_else(|| days_hour_clock(unsigned))
        .or_else(|| day_clock(unsigned))
        .or_else(|| sec_clock(unsigned))?;
    evaluate(sign, &groups)
}

/// The value of `c` if it is a Unicode decimal digit.
fn decimal_value(c: char) -> Option<u8> {
    let c = u32::from(c);
    let run = ND_STARTS
        .partition_point(|&start| start <= c)
        .checked_sub(1)?;
    let offset = c - ND_STARTS.get(run)?;
    u8::try_from(offset).ok().filter(|&d| d < 10)
}

fn is_digit(c: char) -> bool {
    decimal_value(c).is_some()
}

/// Python's `str.isdigit()` for the strings the regexes capture (digits and dots).
fn all_digits(v: &str) -> bool {
    !v.is_empty() && v.chars().all(is_digit)
}

/// Python's `float(str)`.
fn py_float(s: &str) -> Option<f64> {
    // _PyUnicode_TransformDecimalAndSpaceToASCII: ASCII is kept as is, non-ASCII
    // whitespace becomes ' ', decimal digits become ASCII, anything else is invalid.
    let mut ascii = String::with_capacity(s.len());
    for c in s.chars() {
        if u32::from(c) < 127 {
            ascii.push(c);
        } else if py_isspace(c) {
            ascii.push(' ');
        } else {
            ascii.push(char::from(b'0' + decimal_value(c)?));
        }
    }
    // Py_ISSPACE is the C locale's isspace().
    let trimmed = ascii.trim_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    if !trimmed.contains('_') {
        return trimmed.parse().ok();
    }
    // _Py_string_to_number_with_underscores: only single `_` between digits.
    let mut cleaned = String::with_capacity(trimmed.len());
    let mut prev = '\0';
    for c in trimmed.chars() {
        if c == '_' {
            if !prev.is_ascii_digit() {
                return None;
            }
        } else {
            if prev == '_' && !c.is_ascii_digit() {
                return None;
            }
            cleaned.push(c);
        }
        prev = c;
    }
    if prev == '_' {
        return None;
    }
    cleaned.parse().ok()
}

/// `int(v, 10)` of a string of decimal digits, exact while it fits an `i128`.
fn py_int(v: &str) -> Option<f64> {
    let exact = v.chars().try_fold(0_i128, |acc, c| {
        acc.checked_mul(10)?
            .checked_add(i128::from(decimal_value(c)?))
    });
    match exact {
        Some(n) => Some(n as f64),
        None => py_float(v),
    }
}

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches(py_isspace)
}

/// Splits off the maximal prefix of characters matching `f`.
fn take_while(s: &str, f: impl Fn(char) -> bool) -> (&str, &str) {
    let end = s.find(|c: char| !f(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// Which unit word `unit` is, compared as `re.I` does.
fn unit_kind(unit: &str) -> Option<usize> {
    let folded: String = unit
        .chars()
        .map(|c| match c {
            '\u{17f}' => 's',
            '\u{130}' | '\u{131}' => 'i',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    match folded.as_str() {
        "d" | "dy" | "dys" | "day" | "days" => Some(DAYS),
        "h" | "hr" | "hrs" | "hour" | "hours" => Some(HOURS),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(MINS),
        "s" | "sec" | "secs" | "second" | "seconds" => Some(SECS),
        _ => None,
    }
}

/// `[\d.]+\s*UNIT`: the number and unit kind, and the rest.
fn number_with_unit(s: &str) -> Option<(&str, usize, &str)> {
    let (number, rest) = take_while(s, |c| c == '.' || is_digit(c));
    if number.is_empty() {
        return None;
    }
    let (unit, rest) = take_while(skip_ws(rest), |c| {
        !(py_isspace(c) || c == ',' || c == '/' || c == '.' || is_digit(c))
    });
    Some((number, unit_kind(unit)?, rest))
}

/// `\s*(?:[,/]\s*)?` after a component.
fn skip_separator(s: &str) -> &str {
    let s = skip_ws(s);
    match s.strip_prefix([',', '/']) {
        Some(rest) => skip_ws(rest),
        None => s,
    }
}

/// Format 1: `[N days][,/] [N hours][,/] [N mins][,/] [N secs]`.
fn units_format(s: &str) -> Option<Groups<'_>> {
    let mut groups: Groups<'_> = [None; 4];
    let mut next = DAYS;
    let mut s = skip_ws(s);
    while !s.is_empty() {
        let (number, kind, rest) = number_with_unit(s)?;
        if kind < next {
            return None;
        }
        *groups.get_mut(kind)? = Some(number);
        next = kind + 1;
        if kind == SECS {
            return skip_ws(rest).is_empty().then_some(groups);
        }
        s = skip_separator(rest);
    }
    // `match.group(0).strip()` must not be empty.
    groups.iter().any(Option::is_some).then_some(groups)
}

/// `\d{2}(?:\.\d+)?\s*$`: the seconds of the clock formats, which end the string.
fn clock_secs(s: &str) -> Option<&str> {
    let mut chars = s.char_indices();
    let two = match (chars.next(), chars.next()) {
        (Some((_, a)), Some((i, b))) if is_digit(a) && is_digit(b) => i + b.len_utf8(),
        _ => return None,
    };
    let after = s.get(two..)?;
    let mut end = two;
    if let Some(frac) = after.strip_prefix('.') {
        let (digits, _) = take_while(frac, is_digit);
        if !digits.is_empty() {
            end = two + 1 + digits.len();
        }
    }
    let (secs, rest) = s.split_at(end);
    skip_ws(rest).is_empty().then_some(secs)
}

/// `\d{2}:` inside the clock formats.
fn two_digits_colon(s: &str) -> Option<(&str, &str)> {
    let (digits, rest) = take_while(s, is_digit);
    if digits.chars().count() != 2 {
        return None;
    }
    Some((digits, rest.strip_prefix(':')?))
}

/// Format 2: `M:SS`.
fn min_clock(s: &str) -> Option<Groups<'_>> {
    let (mins, rest) = take_while(skip_ws(s), is_digit);
    if !(1..=2).contains(&mins.chars().count()) {
        return None;
    }
    let secs = clock_secs(rest.strip_prefix(':')?)?;
    Some([None, None, Some(mins), Some(secs)])
}

/// `\d+:\d{2}:\d{2}(?:\.\d+)?\s*$`.
fn hour_clock(s: &str) -> Option<(&str, &str, &str)> {
    let (hours, rest) = take_while(s, is_digit);
    if hours.is_empty() {
        return None;
    }
    let (mins, rest) = two_digits_colon(rest.strip_prefix(':')?)?;
    Some((hours, mins, clock_secs(rest)?))
}

/// Format 3: `[N days][,/] H:MM:SS`.
fn days_hour_clock(s: &str) -> Option<Groups<'_>> {
    let s = skip_ws(s);
    let with_days = number_with_unit(s).and_then(|(days, kind, rest)| {
        let (hours, mins, secs) = hour_clock(skip_separator(rest))?;
        (kind == DAYS).then_some([Some(days), Some(hours), Some(mins), Some(secs)])
    });
    with_days.or_else(|| {
        let (hours, mins, secs) = hour_clock(s)?;
        Some([None, Some(hours), Some(mins), Some(secs)])
    })
}

/// Format 4: `D:HH:MM:SS`.
fn day_clock(s: &str) -> Option<Groups<'_>> {
    let (days, rest) = take_while(skip_ws(s), is_digit);
    if days.is_empty() {
        return None;
    }
    let (hours, rest) = two_digits_colon(rest.strip_prefix(':')?)?;
    let (mins, rest) = two_digits_colon(rest)?;
    Some([Some(days), Some(hours), Some(mins), Some(clock_secs(rest)?)])
}

/// Format 5: `:SS`.
fn sec_clock(s: &str) -> Option<Groups<'_>> {
    let secs = clock_secs(skip_ws(s).strip_prefix(':')?)?;
    Some([None, None, None, Some(secs)])
}

/// The arithmetic of `timeparse()` after a match, including its quirk that the sign is
/// not applied to integer seconds when another component is fractional.
fn evaluate(sign: f64, groups: &Groups<'_>) -> Option<f64> {
    let present = || {
        groups
            .iter()
            .zip(MULTIPLIERS)
            .enumerate()
            .filter_map(|(k, (v, m))| v.map(|v| (k, v, m)))
    };
    if present().all(|(_, v, _)| all_digits(v)) {
        // int arithmetic (`+ 0.0`: an int has no negative zero).
        let mut sum = 0.0;
        for (_, v, m) in present() {
            sum += m * py_int(v)?;
        }
        return Some(sign * sum + 0.0);
    }
    let secs = groups.get(SECS).copied().flatten();
    if secs.is_none_or(all_digits) {
        let mut sum = 0.0;
        for (_, v, m) in present().filter(|&(k, _, _)| k != SECS) {
            sum += m * py_float(v)?;
        }
        // int(float): truncates, and raises on infinity.
        let whole = sum.trunc();
        if !whole.is_finite() {
            return None;
        }
        let secs = match secs {
            Some(v) => py_int(v)?,
            None => 0.0,
        };
        return Some(sign * whole + secs + 0.0);
    }
    let mut sum = 0.0;
    for (_, v, m) in present() {
        sum += m * py_float(v)?;
    }
    Some(sign * sum)
}

/// Parses a systemd time span (`systemd.time(7)`, as nvme-stas 3.x's `dc-giveup-timeout`)
/// into seconds: numbers with units (`us`, `ms`, `s`, `min`/`m`, `h`, `d`, `w`, `M`/`month`
/// = 30.44 days, `y` = 365.25 days, and their long forms), summed, spaces optional; a bare
/// number is seconds; `infinity` is [`f64::INFINITY`]. Case matters (`M` is a month, `m` a
/// minute), as in systemd. `None` when it is not a time span.
pub fn parse_systemd_timespan(s: &str) -> Option<f64> {
    const UNITS: &[(&str, f64)] = &[
        ("seconds", 1.0),
        ("second", 1.0),
        ("sec", 1.0),
        ("s", 1.0),
        ("minutes", 60.0),
        ("minute", 60.0),
        ("min", 60.0),
        ("months", 2_629_800.0),
        ("month", 2_629_800.0),
        ("M", 2_629_800.0),
        ("msec", 1e-3),
        ("ms", 1e-3),
        ("m", 60.0),
        ("hours", 3600.0),
        ("hour", 3600.0),
        ("hr", 3600.0),
        ("h", 3600.0),
        ("days", 86400.0),
        ("day", 86400.0),
        ("d", 86400.0),
        ("weeks", 604_800.0),
        ("week", 604_800.0),
        ("w", 604_800.0),
        ("years", 31_557_600.0),
        ("year", 31_557_600.0),
        ("y", 31_557_600.0),
        ("usec", 1e-6),
        ("us", 1e-6),
        ("\u{b5}s", 1e-6),
    ];
    let s = s.trim();
    if s == "infinity" {
        return Some(f64::INFINITY);
    }
    if s.is_empty() || s.len() > 256 {
        return None;
    }
    let mut rest = s;
    let mut total = 0.0;
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?.trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_len)?;
        let factor = if unit.is_empty() {
            // A bare number is seconds, and only allowed as the last part.
            1.0
        } else {
            UNITS.iter().find(|(name, _)| *name == unit)?.1
        };
        total += number * factor;
        parts += 1;
        rest = rest.get(unit_len..)?.trim_start();
        if unit.is_empty() && !rest.is_empty() {
            return None;
        }
    }
    (parts > 0 && total.is_finite()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_time_spans() {
        for (text, want) in [
            ("72h", Some(259_200.0)),
            ("72hours", Some(259_200.0)),
            ("1M", Some(2_629_800.0)),
            ("1m", Some(60.0)),
            ("1min 30s", Some(90.0)),
            ("1h30min", Some(5400.0)),
            ("2d 3h", Some(183_600.0)),
            ("90", Some(90.0)),
            ("1.5h", Some(5400.0)),
            ("500ms", Some(0.5)),
            ("1w", Some(604_800.0)),
            ("1y", Some(31_557_600.0)),
            ("infinity", Some(f64::INFINITY)),
            ("  3d  ", Some(259_200.0)),
            ("", None),
            ("h", None),
            ("3 parsecs", None),
            ("10 5s", None),
            ("1.2.3s", None),
            ("-1h", None),
            ("Infinity", None),
        ] {
            assert_eq!(parse_systemd_timespan(text), want, "{text:?}");
        }
    }

    #[track_caller]
    fn check(input: &str, expected: Option<f64>) {
        let got = parse_timespan(input);
        match (got, expected) {
            (Some(g), Some(e)) if g.to_bits() == e.to_bits() => {}
            (Some(g), Some(e)) if g.is_nan() && e.is_nan() => {}
            (None, None) => {}
            _ => panic!("parse_timespan({input:?}) = {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn upstream_cases() {
        // Compat spec §1.6, in order.
        let cases: &[(&str, Option<f64>)] = &[
            ("1", Some(1.0)),
            ("1s", Some(1.0)),
            ("1 sec", Some(1.0)),
            ("1 second", Some(1.0)),
            ("1 seconds", Some(1.0)),
            ("1:01", Some(61.0)),
            ("1 day", Some(86400.0)),
            ("1 hour", Some(3600.0)),
            ("1 min", Some(60.0)),
            ("0.5", Some(0.5)),
            ("-1", Some(-1.0)),
            (":22", Some(22.0)),
            ("1 minute, 24 secs", Some(84.0)),
            ("1.2 minutes", Some(72.0)),
            ("1.2 seconds", Some(1.2)),
            ("- 1 minute", Some(-60.0)),
            ("+ 1 minute", Some(60.0)),
            ("blah", None),
            ("72hours", Some(259_200.0)),
            ("1 day 2 hours", Some(93_600.0)),
            // The vendored module's doctests.
            ("1:24", Some(84.0)),
            ("1m24s", Some(84.0)),
        ];
        for &(input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn formats_and_quirks() {
        let cases: &[(&str, Option<f64>)] = &[
            ("100", Some(100.0)),
            (" 1e3 ", Some(1000.0)),
            ("1_000", Some(1000.0)),
            ("1__000", None),
            ("inf", Some(f64::INFINITY)),
            ("nan", Some(f64::NAN)),
            ("", None),
            ("   ", None),
            ("-", None),
            ("1d2h3m4s", Some(93_784.0)),
            ("1 DAYS / 2 Hrs, 3 Minutes 4 SECONDS", Some(93_784.0)),
            ("2 dy", Some(172_800.0)),
            ("1 d,", Some(86400.0)),
            ("1d,,2h", None),
            ("1s 1m", None),
            ("1m,1s", Some(61.0)),
            ("1s,", None),
            ("1 ms", None),
            ("1 w", None),
            ("1:02:03", Some(3723.0)),
            ("1 day, 1:02:03", Some(90123.0)),
            ("1:01:02:03", Some(90123.0)),
            ("1:02:03.5", Some(3723.5)),
            ("1:02:03.", None),
            ("123:45", None),
            (":5", None),
            ("1.5.2 s", None),
            (". s", None),
            ("1.d", Some(86400.0)),
            ("1d.5h", Some(88200.0)),
            ("-0.0s", Some(-0.0)),
            ("-0s", Some(0.0)),
            // `|` is a sign; the sign is lost on integer seconds next to a fraction.
            ("|1m", Some(60.0)),
            ("- 1.5m 10s", Some(-80.0)),
            ("-1.5m 10.5s", Some(-100.5)),
            // Python's re.I and \d, \s.
            ("1 \u{17f}ec", Some(1.0)),
            ("1 m\u{130}n", Some(60.0)),
            ("\u{661}\u{662} s", Some(12.0)),
            ("\u{661}:\u{662}\u{663}", Some(83.0)),
            ("\u{3000}5m\u{85}", Some(300.0)),
            ("5\u{1c}", None),
            ("5 m\u{1c}", Some(300.0)),
            ("5m\n", Some(300.0)),
            ("5m\nx", None),
            ("5m\n\n", None),
        ];
        for &(input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn digits_table() {
        assert_eq!(decimal_value('0'), Some(0));
        assert_eq!(decimal_value('9'), Some(9));
        assert_eq!(decimal_value(':'), None);
        assert_eq!(decimal_value('\u{1d7ff}'), Some(9));
        assert_eq!(decimal_value('\u{1fbf9}'), Some(9));
        assert_eq!(decimal_value('\u{1fbfa}'), None);
        assert_eq!(decimal_value('/'), None);
    }

    #[test]
    fn garbage_never_panics() {
        let alphabet: Vec<char> = "0123456789.:,/ +-|dhmsayounitecDHMS\u{17f}\u{130}\u{661}_e\n\t"
            .chars()
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = usize::try_from(state % alphabet.len() as u64).unwrap_or(0);
                s.push(alphabet[i]);
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let _ = parse_timespan(&s);
        }
        let _ = parse_timespan(&"9".repeat(400));
        assert_eq!(parse_timespan(&format!("{}.5 m", "9".repeat(400))), None);
    }
}
