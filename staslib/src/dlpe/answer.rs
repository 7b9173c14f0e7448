//! What stacd reads from stafd (compat §2.8): `get_all_log_pages(true)`, a JSON string, turned
//! into each DC's host side and its log page. The text comes from another process: it is
//! bounded and validated, and a malformed answer is an error, never "no log pages".

use std::borrow::Cow;
use std::fmt;

use super::{KEYS, Packed};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Largest answer accepted (a D-Bus message is at most 128 MiB; 10,000 entries of JSON are
/// about 3 MiB).
pub const MAX_JSON: usize = 64 << 20;

/// The host side of the DC that reported a log page: IOCs inherit it (§4.10-2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportingDc {
    /// `host-traddr` of the DC.
    pub host_traddr: String,
    /// `host-iface` of the DC.
    pub host_iface: String,
    /// `host-nqn` of the DC.
    pub host_nqn: String,
}

/// Each DC's host side and its log page entries.
pub type LogPages = Vec<(ReportingDc, Vec<Packed>)>;

/// Parses `get_all_log_pages(true)`. Read in one pass into each entry's packed form: at a
/// thousand entries a JSON tree of the answer would be ~50,000 short-lived allocations per
/// reconcile, interleaved on the heap with the IOCs' long-lived ones.
pub fn parse_all_log_pages(text: &str) -> Result<LogPages, String> {
    if text.len() > MAX_JSON {
        return Err(format!("answer of {} bytes is too large", text.len()));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let pages = de
        .deserialize_seq(AnswerVisitor)
        .map_err(|e| format!("not stafd's answer: {e}"))?;
    de.end().map_err(|e| format!("not stafd's answer: {e}"))?;
    Ok(pages)
}

/// A JSON string borrowed from the text where it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(Text)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A value kept only when it is a string: a dictionary value of another type counts as absent
/// (as upstream's readers treat it), and is skipped whole.
struct MaybeText<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MaybeTextVisitor).map(MaybeText)
    }
}

struct MaybeTextVisitor;

impl<'de> Visitor<'de> for MaybeTextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }
}

/// The answer: an array of `{"discovery-controller": {...}, "log-pages": [...]}`.
struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = LogPages;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(ItemSeed)? {
            out.push(item);
        }
        Ok(out)
    }
}

struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = (ReportingDc, Vec<Packed>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = (ReportingDc, Vec<Packed>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element with a discovery-controller object and a log-pages array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut dc, mut pages) = (None, None);
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "discovery-controller" => dc = Some(map.next_value_seed(DcSeed)?),
                "log-pages" => pages = Some(map.next_value_seed(PagesSeed)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let dc = dc.ok_or_else(|| de::Error::custom("element without a discovery-controller"))?;
        let pages = pages.ok_or_else(|| de::Error::custom("element without log-pages"))?;
        Ok((dc, pages))
    }
}

/// The reporting DC: only its host side is used.
struct DcSeed;

impl<'de> DeserializeSeed<'de> for DcSeed {
    type Value = ReportingDc;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DcSeed {
    type Value = ReportingDc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a discovery-controller object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut dc = ReportingDc::default();
        // Either spelling of the host NQN, kept for `host_nqn_of` to choose from.
        let (mut nqn2, mut nqn3) = (None, None);
        while let Some(Text(key)) = map.next_key()? {
            let MaybeText(value) = map.next_value()?;
            let value = value.map(Cow::into_owned);
            match key.as_ref() {
                "host-traddr" => dc.host_traddr = value.unwrap_or_default(),
                "host-iface" => dc.host_iface = value.unwrap_or_default(),
                "host-nqn" => nqn2 = value,
                "hostnqn" => nqn3 = value,
                _ => {}
            }
        }
        dc.host_nqn = crate::dbus::host_nqn_of(|k| match k {
            "host-nqn" => nqn2.as_deref(),
            "hostnqn" => nqn3.as_deref(),
            _ => None,
        })
        .unwrap_or("")
        .to_owned();
        Ok(dc)
    }
}

struct PagesSeed;

impl<'de> DeserializeSeed<'de> for PagesSeed {
    type Value = Vec<Packed>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PagesSeed {
    type Value = Vec<Packed>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a log-pages array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(entry) = seq.next_element_seed(EntrySeed)? {
            out.push(entry);
        }
        Ok(out)
    }
}

/// One log page entry: the known keys' string values, 3.x words read as 2.x's (as
/// [`super::from_pairs`]).
struct EntrySeed;

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Packed;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = Packed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a log page entry object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values: [Option<Cow<'de, str>>; KEYS.len()] = Default::default();
        while let Some(Text(key)) = map.next_key()? {
            match KEYS.iter().position(|k| *k == key.as_ref()) {
                // A repeated key: the last value counts, as in a JSON object read whole.
                Some(i) => values[i] = map.next_value::<MaybeText<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Packed::from_fn(|i, key| {
            let v = values[i].as_deref()?;
            Some(crate::dbus::dlpe_value_in_v2(key, v))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stafds_answer_and_refuses_garbage() {
        let text = r#"[{"discovery-controller": {"traddr": "10.0.0.1", "trsvcid": "8009", "transport": "tcp", "subsysnqn": "nqn.2014-08.org.nvmexpress.discovery", "host-iface": "eth0", "host-traddr": "", "host-nqn": "nqn.h", "device": "nvme0"}, "log-pages": [{"trtype": "tcp", "adrfam": "ipv4", "traddr": "10.0.0.2", "trsvcid": "4420", "subnqn": "nqn.io", "subtype": "nvme", "treq": "not specified", "tsas": "{'sectype': 'none'}", "portid": "1", "cntlid": "65535", "asqsz": "32", "eflags": "0", "bogus": "x"}]}, {"discovery-controller": {"traddr": "10.0.0.9"}, "log-pages": []}]"#;
        let got = parse_all_log_pages(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].0,
            ReportingDc {
                host_traddr: "".into(),
                host_iface: "eth0".into(),
                host_nqn: "nqn.h".into()
            }
        );
        assert_eq!(got[0].1[0].iter().count(), 12, "unknown keys dropped");
        assert_eq!(got[0].1[0].get("subnqn"), Some("nqn.io"));
        assert!(got[1].1.is_empty());
        for bad in [
            "",
            "{}",
            "[1]",
            r#"[{"log-pages": []}]"#,
            r#"[{"discovery-controller": {}}]"#,
            r#"[{"discovery-controller": {}, "log-pages": [1]}]"#,
        ] {
            assert!(parse_all_log_pages(bad).is_err(), "{bad:?}");
        }
        assert!(parse_all_log_pages(&" ".repeat(MAX_JSON + 1)).is_err());
    }

    /// What a JSON tree reader would make of odd but valid answers: escaped strings, values
    /// that are not strings (absent), repeated keys (the last counts), unknown keys skipped
    /// whole; and what is refused: a wrong shape or anything after the array.
    #[test]
    fn reads_odd_answers_as_a_json_tree_would() {
        let text = r#"[{"extra": {"deep": [1, {"x": null}]}, "discovery-controller": {"host-traddr": 7, "host-iface": "e\u0074h0", "hostnqn": "nqn.h3", "host-nqn": ["no"]}, "log-pages": [{"traddr": "1.1.1.1", "traddr": "10.0.0.\u0032", "subnqn": "nqn.\"q\"", "trsvcid": 4420, "eflags": {"a": 1}, "portid": true, "cntlid": null, "trtype": "tcp", "unknown": [[[]]]}]}]"#;
        let got = parse_all_log_pages(text).unwrap();
        assert_eq!(
            got[0].0,
            ReportingDc {
                host_traddr: "".into(),
                host_iface: "eth0".into(),
                host_nqn: "nqn.h3".into()
            }
        );
        let e = &got[0].1[0];
        let pairs: Vec<(&str, &str)> = e.iter().collect();
        assert_eq!(
            pairs,
            vec![
                ("trtype", "tcp"),
                ("traddr", "10.0.0.2"),
                ("subnqn", "nqn.\"q\"")
            ]
        );
        // Both spellings of the host NQN: 2.x's counts, as upstream's readers take it.
        let both = r#"[{"discovery-controller": {"hostnqn": "nqn.3", "host-nqn": "nqn.2"}, "log-pages": []}]"#;
        assert_eq!(parse_all_log_pages(both).unwrap()[0].0.host_nqn, "nqn.2");
        for bad in [
            "[] []",
            "[]x",
            r#"[{"discovery-controller": [], "log-pages": []}]"#,
            r#"[{"discovery-controller": {}, "log-pages": {}}]"#,
            r#"[{"discovery-controller": {}, "log-pages": [[]]}]"#,
            r#"[{"discovery-controller": {}, "log-pages": [{"traddr": "x"}]"#,
        ] {
            assert!(parse_all_log_pages(bad).is_err(), "{bad:?}");
        }
    }

    /// An nvme-stas 3.x stafd (or ours on the 3.x layout) says `hostnqn` and libnvme's words.
    #[test]
    fn reads_the_3x_spelling() {
        let text = r#"[{"discovery-controller": {"traddr": "10.0.0.1", "trsvcid": "8009", "transport": "tcp", "subsysnqn": "nqn.2014-08.org.nvmexpress.discovery", "host-iface": "", "host-traddr": "", "hostnqn": "nqn.h3", "device": "nvme0"}, "log-pages": [{"trtype": "tcp", "adrfam": "ipv4", "traddr": "10.0.0.2", "trsvcid": "4420", "subnqn": "nqn.io", "subtype": "nvme subsystem", "treq": "not specified, sq flow control disable supported", "portid": "1", "cntlid": "65535", "asqsz": "32", "eflags": "0"}, {"trtype": "tcp", "adrfam": "ipv4", "traddr": "10.0.0.3", "trsvcid": "8009", "subnqn": "nqn.2014-08.org.nvmexpress.discovery", "subtype": "discovery subsystem referral", "treq": "required", "portid": "2", "cntlid": "65535", "asqsz": "32", "eflags": "0"}]}]"#;
        let got = parse_all_log_pages(text).unwrap();
        assert_eq!(got[0].0.host_nqn, "nqn.h3");
        let e = &got[0].1;
        assert_eq!(e[0].get("subtype"), Some("nvme"));
        assert_eq!(e[0].get("treq"), Some("disable sqflow"));
        assert_eq!(e[1].get("subtype"), Some("referral"));
        assert_eq!(
            super::super::tid_of(|k| e[0].get(k)).unwrap().subsysnqn(),
            "nqn.io"
        );
        assert!(
            super::super::tid_of(|k| e[1].get(k)).is_ok(),
            "a referral in 3.x words is still a controller"
        );
    }
}
