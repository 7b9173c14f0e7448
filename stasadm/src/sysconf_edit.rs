//! Comment- and layout-preserving editor for `sys.conf` (what `stasadm` writes, compat spec
//! §3.4).
//!
//! Upstream `stasadm` rewrites the whole file with Python's `configparser`, losing every
//! comment and blank line. This editor changes only the lines it has to (deliberate
//! improvement):
//!
//! * [`set_option`] replaces the **last** occurrence of the option in the section (the one
//!   a reader uses) in place, keeping the line's indentation, key spelling and spacing around
//!   `=`, and drops that occurrence's continuation lines; earlier duplicates are left alone
//!   (they are dead: the last one wins). Without an occurrence the line `option = value` is
//!   appended after the last option of the last `[section]` header; without such a header
//!   the section is appended at the end of the file.
//! * [`remove_option`] removes every occurrence in the section (and their continuation
//!   lines), keeping comments and blank lines.
//!
//! Lines are classified exactly as `configparser` reads them (compat spec §1.2): `#`/`;`
//! comments (even indented), `[name]` headers (name between the first `[` and the last `]`,
//! case-sensitive), `key = value` or bare `key` options (names case-insensitive, `=` is the
//! only delimiter), and continuation lines (non-blank lines indented deeper than their
//! option). Text before the first header is kept untouched.
//!
//! Files are replaced atomically (temporary file in the same directory, then `rename`), with
//! the old file's permission bits; a symbolic link is followed and its target replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The section `stasadm` edits.
pub const HOST_SECTION: &str = "Host";

/// Errors of the sys.conf editor.
#[derive(Debug, thiserror::Error)]
pub enum SysConfError {
    /// The value holds a line break, which the INI format cannot store on one line.
    #[error("invalid value for \"{option}\": it must fit on a single line")]
    MultiLineValue {
        /// The option.
        option: String,
    },
    /// The option name cannot be written as an INI key.
    #[error("invalid option name \"{0}\"")]
    BadOptionName(String),
    /// The file exists but could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("cannot edit {}: the file is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// What a physical line is, in configparser's reading.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    /// `[name]`.
    Header(String),
    /// An option line: lower-cased name.
    Option(String),
    /// A continuation line of the nearest preceding option line.
    Continuation,
    /// Anything configparser would reject (text before the first header, `=value`).
    Other,
}

/// One physical line: its text without the line ending, and the ending (`""` on a last line
/// without newline).
#[derive(Debug, Clone)]
struct Line<'a> {
    body: &'a str,
    ending: &'a str,
    kind: Kind,
    /// Index of the section header this line is under (`None` before the first header).
    section: Option<usize>,
}

fn split_lines(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|l| {
            let body = l.strip_suffix('\n').unwrap_or(l);
            let body_no_cr = body.strip_suffix('\r').unwrap_or(body);
            (body_no_cr, l.get(body_no_cr.len()..).unwrap_or(""))
        })
        .collect()
}

/// `[name]` as configparser's `SECTCRE` (`\[(?P<header>.+)\]`, matched at the start of the
/// stripped line): the name runs from the first `[` to the last `]`.
fn parse_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let name = rest.get(..end)?;
    (!name.is_empty()).then_some(name)
}

/// The option name of an option line (configparser's `OPTCRE_NV` + `optionxform`).
fn option_name(stripped: &str) -> &str {
    match stripped.find('=') {
        Some(eq) => stripped.get(..eq).unwrap_or("").trim_end(),
        None => stripped,
    }
}

fn leading_ws_chars(s: &str) -> usize {
    s.chars().take_while(|c| c.is_whitespace()).count()
}

fn classify(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut section: Option<usize> = None;
    let mut in_option = false;
    let mut indent_level = 0usize;
    for (i, (body, ending)) in split_lines(text).into_iter().enumerate() {
        let stripped = body.trim();
        let kind = if stripped.starts_with('#') || stripped.starts_with(';') {
            Kind::Comment
        } else if stripped.is_empty() {
            Kind::Blank
        } else {
            let indent = leading_ws_chars(body);
            if section.is_some() && in_option && indent > indent_level {
                Kind::Continuation
            } else {
                indent_level = indent;
                if let Some(name) = parse_header(stripped) {
                    section = Some(i);
                    in_option = false;
                    Kind::Header(name.to_owned())
                } else {
                    let name = option_name(stripped);
                    in_option = section.is_some() && !name.is_empty();
                    if in_option {
                        Kind::Option(name.to_lowercase())
                    } else {
                        Kind::Other
                    }
                }
            }
        };
        let line_section = match kind {
            Kind::Header(_) => Some(i),
            _ => section,
        };
        out.push(Line {
            body,
            ending,
            kind,
            section: line_section,
        });
    }
    out
}

fn in_section(lines: &[Line<'_>], line: &Line<'_>, section: &str) -> bool {
    line.section
        .and_then(|h| lines.get(h))
        .is_some_and(|h| matches!(&h.kind, Kind::Header(n) if n == section))
}

/// The line ending new lines get: CRLF if the file's first line uses it, else LF.
fn newline_of(lines: &[Line<'_>]) -> &'static str {
    match lines.first() {
        Some(l) if l.ending == "\r\n" => "\r\n",
        _ => "\n",
    }
}

fn check_option_name(option: &str) -> Result<(), SysConfError> {
    let bad = option.is_empty()
        || option.trim() != option
        || option.contains(['=', '\n', '\r'])
        || option.starts_with(['[', '#', ';']);
    if bad {
        Err(SysConfError::BadOptionName(option.to_owned()))
    } else {
        Ok(())
    }
}

fn check_value(option: &str, value: &str) -> Result<(), SysConfError> {
    if value.contains(['\n', '\r']) {
        Err(SysConfError::MultiLineValue {
            option: option.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// `option = value` rewritten on an existing option line, keeping its indentation, key
/// spelling and the whitespace around `=`.
fn rewrite_option_line(body: &str, value: &str) -> String {
    let indent_len = body.len() - body.trim_start().len();
    let (indent, rest) = body.split_at(indent_len);
    let rest = rest.trim_end();
    match rest.find('=') {
        Some(eq) => {
            let key_part = rest.get(..eq).unwrap_or("");
            let key = key_part.trim_end();
            let ws_before = key_part.get(key.len()..).unwrap_or("");
            let after = rest.get(eq + 1..).unwrap_or("");
            let mut ws_after = after
                .get(..after.len() - after.trim_start().len())
                .unwrap_or("");
            if ws_after.is_empty() && after.is_empty() && !ws_before.is_empty() {
                // `key =` (empty value): mirror the space before `=`.
                ws_after = " ";
            }
            if value.is_empty() {
                format!("{indent}{key}{ws_before}=")
            } else {
                format!("{indent}{key}{ws_before}={ws_after}{value}")
            }
        }
        None => new_option_line(&format!("{indent}{rest}"), value),
    }
}

/// The line configparser would write: `key = value` (`key =` for an empty value).
fn new_option_line(key: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{key} =")
    } else {
        format!("{key} = {value}")
    }
}

fn render(lines: &[(String, String)]) -> String {
    lines.iter().map(|(b, e)| format!("{b}{e}")).collect()
}

/// Sets `option` to `value` in `[section]` of INI `text` (see the module documentation).
/// `option` is matched case-insensitively; `value` must be a single line.
pub fn set_option(
    text: &str,
    section: &str,
    option: &str,
    value: &str,
) -> Result<String, SysConfError> {
    check_option_name(option)?;
    check_value(option, value)?;
    let key = option.to_lowercase();
    let lines = classify(text);
    let nl = newline_of(&lines);
    let mut out: Vec<(String, String)> = lines
        .iter()
        .map(|l| (l.body.to_owned(), l.ending.to_owned()))
        .collect();

    let last = lines.iter().rposition(|l| {
        matches!(&l.kind, Kind::Option(k) if *k == key) && in_section(&lines, l, section)
    });
    if let Some(i) = last {
        if let (Some(slot), Some(line)) = (out.get_mut(i), lines.get(i)) {
            slot.0 = rewrite_option_line(line.body, value);
        }
        // Drop the old value's continuation lines (comments and blank lines stay).
        let mut keep = vec![true; lines.len()];
        for (j, l) in lines.iter().enumerate().skip(i + 1) {
            match l.kind {
                Kind::Continuation => keep[j] = false,
                Kind::Blank | Kind::Comment => {}
                _ => break,
            }
        }
        let out: Vec<_> = out
            .into_iter()
            .zip(keep)
            .filter_map(|(l, k)| k.then_some(l))
            .collect();
        return Ok(render(&out));
    }

    let new_line = (new_option_line(option, value), nl.to_owned());
    let header = lines
        .iter()
        .rposition(|l| matches!(&l.kind, Kind::Header(n) if n == section));
    let Some(h) = header else {
        // No such section: append it.
        if let Some(last) = out.last_mut()
            && last.1.is_empty()
        {
            last.1 = nl.to_owned();
        }
        if lines.last().is_some_and(|l| l.kind != Kind::Blank) {
            out.push((String::new(), nl.to_owned()));
        }
        out.push((format!("[{section}]"), nl.to_owned()));
        out.push(new_line);
        return Ok(render(&out));
    };

    let end = lines
        .iter()
        .enumerate()
        .skip(h + 1)
        .find(|(_, l)| matches!(l.kind, Kind::Header(_)))
        .map_or(lines.len(), |(j, _)| j);
    let body = h + 1..end;
    let last_content = body.clone().rev().find(|&j| {
        matches!(
            lines.get(j).map(|l| &l.kind),
            Some(Kind::Option(_) | Kind::Continuation | Kind::Other)
        )
    });
    let after = match last_content {
        Some(j) => j,
        None if end == lines.len() => body
            .clone()
            .rev()
            .find(|&j| lines.get(j).is_some_and(|l| l.kind != Kind::Blank))
            .unwrap_or(h),
        // A section followed by another one: after the comment block glued to the header.
        None => body
            .clone()
            .take_while(|&j| lines.get(j).is_some_and(|l| l.kind == Kind::Comment))
            .last()
            .unwrap_or(h),
    };
    if let Some(prev) = out.get_mut(after)
        && prev.1.is_empty()
    {
        prev.1 = nl.to_owned();
    }
    out.insert(after + 1, new_line);
    Ok(render(&out))
}

/// Removes every occurrence of `option` (case-insensitive) from `[section]` of `text`,
/// with their continuation lines. Returns the new text and the number of occurrences removed.
pub fn remove_option(text: &str, section: &str, option: &str) -> (String, usize) {
    let key = option.to_lowercase();
    let lines = classify(text);
    let mut removed = 0;
    let mut dropping = false;
    let mut out = Vec::with_capacity(lines.len());
    for l in &lines {
        match &l.kind {
            Kind::Option(k) if *k == key && in_section(&lines, l, section) => {
                removed += 1;
                dropping = true;
                continue;
            }
            Kind::Continuation if dropping => continue,
            Kind::Blank | Kind::Comment => {}
            _ => dropping = false,
        }
        out.push((l.body.to_owned(), l.ending.to_owned()));
    }
    (render(&out), removed)
}

/// Appends an empty `[section]` if `text` has none (upstream `stasadm` always ensures
/// `[Host]` exists, even when clearing an option).
pub fn ensure_section(text: &str, section: &str) -> String {
    let lines = classify(text);
    if lines
        .iter()
        .any(|l| matches!(&l.kind, Kind::Header(n) if n == section))
    {
        return text.to_owned();
    }
    let nl = newline_of(&lines);
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(nl);
    }
    if lines.last().is_some_and(|l| l.kind != Kind::Blank) {
        out.push_str(nl);
    }
    out.push_str(&format!("[{section}]{nl}"));
    out
}

/// The value of the last occurrence of `option` in `[section]`, as configparser returns it:
/// `None` if absent, `Some(None)` for a bare key, else the stripped value with continuation
/// lines joined by `\n` (trailing blank lines dropped).
pub fn get_option(text: &str, section: &str, option: &str) -> Option<Option<String>> {
    let key = option.to_lowercase();
    let lines = classify(text);
    let i = lines.iter().rposition(|l| {
        matches!(&l.kind, Kind::Option(k) if *k == key) && in_section(&lines, l, section)
    })?;
    let first = lines.get(i)?.body.trim();
    let Some(eq) = first.find('=') else {
        return Some(None);
    };
    let mut parts = vec![first.get(eq + 1..).unwrap_or("").trim().to_owned()];
    for l in lines.iter().skip(i + 1) {
        match l.kind {
            Kind::Continuation => parts.push(l.body.trim().to_owned()),
            Kind::Blank => parts.push(String::new()),
            Kind::Comment => {}
            _ => break,
        }
    }
    Some(Some(parts.join("\n").trim_end().to_owned()))
}

/// Reads `path` as UTF-8 text; `Ok(None)` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, SysConfError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| SysConfError::NotUtf8 {
                path: path.to_owned(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SysConfError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Replaces `path` with `text` atomically (temporary file + rename in the same directory),
/// keeping the old file's permission bits and following a symbolic link to its target.
pub fn write_text_atomic(path: &Path, text: &str) -> Result<(), SysConfError> {
    use std::os::unix::fs::PermissionsExt;
    let werr = |source| SysConfError::Write {
        path: path.to_owned(),
        source,
    };
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).map_err(werr)?,
        _ => path.to_owned(),
    };
    let old_mode = fs::metadata(&target).ok().map(|m| m.permissions().mode());
    if fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Err(werr(io::Error::from(io::ErrorKind::IsADirectory)));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sys.conf".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> io::Result<()> {
        let create = || OpenOptions::new().write(true).create_new(true).open(&tmp);
        let mut f = match create() {
            // Our PID in the name: a leftover of a crashed earlier run.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&tmp)?;
                create()?
            }
            other => other?,
        };
        if let Some(mode) = old_mode {
            f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &target)?;
        // Best effort: make the rename durable.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(werr)
}

/// Sets `[Host] option = value` in the file `path`, creating the file (not its directory)
/// when missing.
pub fn set_host_option(path: &Path, option: &str, value: &str) -> Result<(), SysConfError> {
    let text = read_text(path)?.unwrap_or_default();
    let new = set_option(&text, HOST_SECTION, option, value)?;
    write_text_atomic(path, &new)
}

/// Removes `option` from `[Host]` in the file `path`, ensuring `[Host]` exists (creating the
/// file when missing, as upstream). Returns how many occurrences were removed. The file is
/// not rewritten when nothing changes.
pub fn clear_host_option(path: &Path, option: &str) -> Result<usize, SysConfError> {
    let text = read_text(path)?;
    let existing = text.is_some();
    let text = text.unwrap_or_default();
    let (new, removed) = remove_option(&text, HOST_SECTION, option);
    let new = ensure_section(&new, HOST_SECTION);
    if !existing || new != text {
        write_text_atomic(path, &new)?;
    }
    Ok(removed)
}

/// The `[Host]` value of `option` in the file `path` (see [`get_option`]); a missing file
/// reads as absent.
pub fn get_host_option(path: &Path, option: &str) -> Result<Option<Option<String>>, SysConfError> {
    Ok(read_text(path)?.and_then(|t| get_option(&t, HOST_SECTION, option)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, opt: &str, val: &str) -> String {
        set_option(text, HOST_SECTION, opt, val).unwrap()
    }

    #[test]
    fn upstream_example_keeps_the_comment() {
        assert_eq!(
            set(
                "# c\n[Host]\nnqn=file:///etc/nvme/hostnqn",
                "symname",
                "Luke Sky"
            ),
            "# c\n[Host]\nnqn=file:///etc/nvme/hostnqn\nsymname = Luke Sky\n"
        );
    }

    #[test]
    fn empty_or_sectionless_text_gets_a_host_section() {
        assert_eq!(set("", "nqn", "x"), "[Host]\nnqn = x\n");
        assert_eq!(
            set("# only a comment", "nqn", "x"),
            "# only a comment\n\n[Host]\nnqn = x\n"
        );
        assert_eq!(
            set("[Other]\na = 1\n\n", "id", "y"),
            "[Other]\na = 1\n\n[Host]\nid = y\n"
        );
        // Section names are case-sensitive: [host] is another section.
        assert_eq!(
            set("[host]\nnqn = a\n", "nqn", "b"),
            "[host]\nnqn = a\n\n[Host]\nnqn = b\n"
        );
    }

    #[test]
    fn replaces_last_occurrence_in_place_keeping_style() {
        let text = "\
# header comment
[Host]
nqn=old1
  # indented comment
NQN   =   old2
key = k   ; not a comment (no inline comments)

[Global]
nqn = not-host
";
        assert_eq!(
            set(text, "nqn", "new"),
            "\
# header comment
[Host]
nqn=old1
  # indented comment
NQN   =   new
key = k   ; not a comment (no inline comments)

[Global]
nqn = not-host
"
        );
        // A bare key becomes `key = value`; indentation is kept.
        assert_eq!(
            set("[Host]\n  symname\nid=1\n", "symname", "S"),
            "[Host]\n  symname = S\nid=1\n"
        );
        // `key =` with an empty value.
        assert_eq!(set("[Host]\nid =\n", "id", "v"), "[Host]\nid = v\n");
        assert_eq!(set("[Host]\nid=\n", "id", "v"), "[Host]\nid=v\n");
        assert_eq!(set("[Host]\nid = v\n", "id", ""), "[Host]\nid =\n");
    }

    #[test]
    fn replacing_drops_the_old_continuation_lines() {
        let text = "[Host]\nsymname = a\n  b\n# kept\n\n  c\nid = 1\n";
        assert_eq!(
            set(text, "symname", "z"),
            "[Host]\nsymname = z\n# kept\n\nid = 1\n"
        );
    }

    #[test]
    fn appends_after_the_last_option_of_the_last_host_section() {
        let text = "\
[Host]
nqn = a

# about Other
[Other]
x = 1
[Host]
id = b
  continued
# trailing comment of Host?

[Last]
";
        assert_eq!(
            set(text, "symname", "S"),
            "\
[Host]
nqn = a

# about Other
[Other]
x = 1
[Host]
id = b
  continued
symname = S
# trailing comment of Host?

[Last]
"
        );
    }

    #[test]
    fn empty_host_section_placement() {
        // Last section: after its commented examples.
        assert_eq!(
            set(
                "# sys.conf\n[Host]\n#nqn=file:///etc/nvme/hostnqn\n#id=x\n\n",
                "nqn",
                "N"
            ),
            "# sys.conf\n[Host]\n#nqn=file:///etc/nvme/hostnqn\n#id=x\nnqn = N\n\n"
        );
        // Followed by another section: after the comments glued to the header.
        assert_eq!(
            set("[Host]\n# c1\n\n# about B\n[B]\n", "nqn", "N"),
            "[Host]\n# c1\nnqn = N\n\n# about B\n[B]\n"
        );
        assert_eq!(set("[Host]", "nqn", "N"), "[Host]\nnqn = N\n");
        assert_eq!(set("[Host]\n[B]\n", "nqn", "N"), "[Host]\nnqn = N\n[B]\n");
    }

    #[test]
    fn header_and_option_syntax_follow_configparser() {
        // `[Host] trailing` is a [Host] header; an indented header is still a header when
        // no option precedes it at a smaller indent.
        assert_eq!(set("[Host] junk\n", "a", "1"), "[Host] junk\na = 1\n");
        // `:` is not a delimiter: `nqn : x` is an option named "nqn : x", not nqn.
        assert_eq!(
            set("[Host]\nnqn : x\n", "nqn", "y"),
            "[Host]\nnqn : x\nnqn = y\n"
        );
        // A header indented under an option is a continuation line in configparser.
        assert_eq!(
            get_option("[Host]\na = 1\n  [Host2]\n", "Host", "a"),
            Some(Some("1\n[Host2]".into()))
        );
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        assert_eq!(
            set("[Host]\r\nnqn = a\r\n", "id", "b"),
            "[Host]\r\nnqn = a\r\nid = b\r\n"
        );
        assert_eq!(
            set("[Host]\r\nnqn = a\r\n", "nqn", "b"),
            "[Host]\r\nnqn = b\r\n"
        );
        assert_eq!(
            set("[Host]\nnqn = a", "id", "b"),
            "[Host]\nnqn = a\nid = b\n"
        );
        assert_eq!(
            set("[A]\nx = 1", "id", "b"),
            "[A]\nx = 1\n\n[Host]\nid = b\n"
        );
    }

    #[test]
    fn bad_names_and_values() {
        assert!(matches!(
            set_option("", HOST_SECTION, "symname", "a\nb"),
            Err(SysConfError::MultiLineValue { .. })
        ));
        for bad in ["", " x", "a=b", "[x", "#x", "a\nb"] {
            assert!(
                matches!(
                    set_option("", HOST_SECTION, bad, "v"),
                    Err(SysConfError::BadOptionName(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn remove_keeps_comments_blank_lines_and_other_sections() {
        let text = "\
# top
[Host]
symname = a
  continued
# c1

SymName=b
nqn = n
unknown-opt = u

[Other]
symname = keep
";
        let (new, n) = remove_option(text, HOST_SECTION, "symname");
        assert_eq!(n, 2);
        assert_eq!(
            new,
            "\
# top
[Host]
# c1

nqn = n
unknown-opt = u

[Other]
symname = keep
"
        );
        let (same, n) = remove_option(&new, HOST_SECTION, "symname");
        assert_eq!((same.as_str(), n), (new.as_str(), 0));
    }

    #[test]
    fn set_then_clear_round_trip_preserves_everything_else() {
        let text = "# c\n; c2\n[Host]\nnqn=file:///etc/nvme/hostnqn\n\n[Zzz]\nfoo = bar\n";
        let with = set(text, "symname", "Luke Sky");
        assert_eq!(
            get_option(&with, HOST_SECTION, "SYMNAME"),
            Some(Some("Luke Sky".into()))
        );
        let (back, n) = remove_option(&with, HOST_SECTION, "symname");
        assert_eq!(n, 1);
        assert_eq!(back, text);
    }

    #[test]
    fn ensure_section_appends_only_when_missing() {
        assert_eq!(ensure_section("", "Host"), "[Host]\n");
        assert_eq!(ensure_section("[Host]\n", "Host"), "[Host]\n");
        assert_eq!(ensure_section("# c", "Host"), "# c\n\n[Host]\n");
        assert_eq!(ensure_section("[A]\n\n", "Host"), "[A]\n\n[Host]\n");
    }

    #[test]
    fn get_option_semantics() {
        let text = "nqn = before-any-section\n[Host]\nnqn = a\n[Other]\nnqn = o\n[Host]\nNQN =  b  \nbare\n";
        assert_eq!(get_option(text, "Host", "nqn"), Some(Some("b".into())));
        assert_eq!(get_option(text, "Host", "bare"), Some(None));
        assert_eq!(get_option(text, "Host", "id"), None);
        assert_eq!(get_option(text, "Nope", "nqn"), None);
        assert_eq!(
            get_option("[Host]\nk = a\n\n  b\n\n", "Host", "k"),
            Some(Some("a\n\nb".into()))
        );
    }

    fn scratch() -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "stasadm-sysconf-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn file_helpers() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch();
        let p = d.join("sys.conf");
        // Missing file: created.
        set_host_option(&p, "nqn", "nqn.x").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "[Host]\nnqn = nqn.x\n");
        assert_eq!(
            get_host_option(&p, "nqn").unwrap(),
            Some(Some("nqn.x".into()))
        );
        // Permissions are kept across the atomic replace.
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&p, "# mine\n[Host]\nnqn = nqn.x\n").unwrap();
        set_host_option(&p, "symname", "S").unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "# mine\n[Host]\nnqn = nqn.x\nsymname = S\n"
        );
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(clear_host_option(&p, "symname").unwrap(), 1);
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "# mine\n[Host]\nnqn = nqn.x\n"
        );
        // Symbolic links are followed, not replaced.
        let link = d.join("link.conf");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        set_host_option(&link, "id", "I").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(fs::read_to_string(&p).unwrap().ends_with("id = I\n"));
        // clear on a missing file creates [Host], as upstream.
        let q = d.join("new.conf");
        assert_eq!(clear_host_option(&q, "symname").unwrap(), 0);
        assert_eq!(fs::read_to_string(&q).unwrap(), "[Host]\n");
        // Missing directory, directory as file, non-UTF-8: errors, no temp files left.
        assert!(matches!(
            set_host_option(&d.join("no/such/dir/sys.conf"), "a", "b"),
            Err(SysConfError::Write { .. })
        ));
        assert!(set_host_option(&d, "a", "b").is_err());
        let bin = d.join("bin.conf");
        fs::write(&bin, [0xffu8, 0xfe]).unwrap();
        assert!(matches!(
            set_host_option(&bin, "a", "b"),
            Err(SysConfError::NotUtf8 { .. })
        ));
        let leftovers: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&d).unwrap();
    }
}
