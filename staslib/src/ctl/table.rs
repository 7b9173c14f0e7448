//! Aligned text tables and `key: value` blocks for the readable output.

/// Renders rows under `headers`, columns separated by two spaces, each as wide as its
/// widest cell (in characters); the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>], indent: &str) -> String {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::from(indent);
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            if i + 1 < cols {
                let pad = widths[i].saturating_sub(cell.chars().count());
                l.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(
            &mut row
                .iter()
                .map(String::as_str)
                .chain(std::iter::repeat(""))
                .take(cols),
        );
    }
    out
}

/// `key  value` lines with the values aligned.
pub fn key_values(pairs: &[(String, String)], indent: &str) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let pad = width - k.chars().count();
        out.push_str(format!("{indent}{k}{}  {v}", " ".repeat(pad)).trim_end());
        out.push('\n');
    }
    out
}

/// `-` for an empty cell.
pub fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let t = table(
            &["A", "LONGER"],
            &[
                vec!["xyz".into(), "1".into()],
                vec!["é".into(), "22".into()],
            ],
            "",
        );
        assert_eq!(t, "A    LONGER\nxyz  1\né    22\n");
        assert_eq!(
            key_values(&[("a".into(), "1".into()), ("bcd".into(), "".into())], "  "),
            "  a    1\n  bcd\n"
        );
        assert_eq!(or_dash(""), "-");
    }
}
