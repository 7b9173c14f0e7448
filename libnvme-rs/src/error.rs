//! How errors of this crate (and of its users) are printed: the one chain formatter.

/// Formats an error and its sources as `outer: inner: innermost`, skipping a source whose
/// text its parent already contains (transparent wrappers repeat it).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("connection refused")]
        Refused,
    }

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("connect failed")]
        Connect(#[source] Inner),
        #[error(transparent)]
        Transparent(Inner),
        #[error("connect failed: {0}")]
        Repeats(#[source] Inner),
    }

    #[test]
    fn sources_are_joined_and_repeats_skipped() {
        for (e, want) in [
            (
                Outer::Connect(Inner::Refused),
                "connect failed: connection refused",
            ),
            (Outer::Transparent(Inner::Refused), "connection refused"),
            (
                Outer::Repeats(Inner::Refused),
                "connect failed: connection refused",
            ),
        ] {
            assert_eq!(error_chain(&e), want);
        }
    }
}
