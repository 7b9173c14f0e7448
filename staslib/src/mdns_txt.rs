//! TP8009 mDNS TXT records of `_nvme-disc._tcp` services (compat §4.7-4, §4.7-5).

use std::collections::BTreeMap;

use libnvme_rs::trid::Transport;

/// Whether the byte, taken as a Latin-1 character (upstream decodes TXT bytes one by one),
/// is printable in Python's `str.isprintable()` sense.
fn printable_latin1(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | 0xa1..=0xff) && b != 0xad
}

/// Parses TXT items: every item fully printable with exactly one `=` and a non-empty key is
/// kept, the key lower-cased and the value as is; everything else is ignored.
pub fn parse_txt<I, B>(items: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let mut out = BTreeMap::new();
    for item in items {
        let item = item.as_ref();
        if !item.iter().all(|&b| printable_latin1(b)) {
            continue;
        }
        let text: String = item.iter().map(|&b| char::from(b)).collect();
        let mut parts = text.split('=');
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        out.insert(key.to_lowercase(), value.to_owned());
    }
    out
}

/// The transport a TXT record announces with `p=`: `tcp`, or `roce`/`iwarp`/`rdma` for RDMA.
/// `None` means the service must not be used (upstream logs an ERROR).
pub fn transport_from_txt(txt: &BTreeMap<String, String>) -> Option<Transport> {
    match txt.get("p")?.trim().to_lowercase().as_str() {
        "tcp" => Some(Transport::Tcp),
        "roce" | "iwarp" | "rdma" => Some(Transport::Rdma),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn golden_vectors_of_compat_9_3() {
        assert_eq!(
            parse_txt(["NqN=Starfleet", "p=tcp"]),
            map(&[("nqn", "Starfleet"), ("p", "tcp")])
        );
        assert_eq!(
            parse_txt(["Nqn=Starfleet", "p=", "blah", "="]),
            map(&[("nqn", "Starfleet"), ("p", "")])
        );
        // A non-printable item is ignored, the others are kept.
        assert_eq!(
            parse_txt([&b"nqn=Star\x01fleet"[..], b"p=tcp"]),
            map(&[("p", "tcp")])
        );
    }

    #[test]
    fn items_need_exactly_one_equals_sign() {
        assert!(parse_txt(["a=b=c", "novalue", ""]).is_empty());
        assert_eq!(parse_txt(["k= spaced "]), map(&[("k", " spaced ")]));
        // Latin-1 letters are printable, C1 controls and NBSP are not.
        assert_eq!(parse_txt([&b"k=caf\xe9"[..]]), map(&[("k", "caf\u{e9}")]));
        assert!(parse_txt([&b"k=\x85"[..], b"k=\xa0"]).is_empty());
    }

    #[test]
    fn transport_from_p() {
        for (p, t) in [
            ("tcp", Some(Transport::Tcp)),
            (" TCP ", Some(Transport::Tcp)),
            ("roce", Some(Transport::Rdma)),
            ("iWARP", Some(Transport::Rdma)),
            ("rdma", Some(Transport::Rdma)),
            ("fc", None),
            ("", None),
        ] {
            assert_eq!(transport_from_txt(&map(&[("p", p)])), t, "{p:?}");
        }
        assert_eq!(transport_from_txt(&map(&[])), None);
    }
}
