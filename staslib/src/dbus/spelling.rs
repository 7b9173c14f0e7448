//! Which generation's words the D-Bus API speaks (spec 3.x §8). nvme-stas 3.x renamed the
//! controller key `host-nqn` to `hostnqn` and serves a DLPE's `subtype` and `treq` in
//! libnvme's words (`nvme subsystem`); 2.x clients expect the old ones. The daemons speak 3.x
//! on the 3.x layout and 2.x otherwise (`--dbus-api` overrides); readers accept both.

use super::ControllerDict;
use crate::conf::generation::Generation;
use crate::dlpe::DlpeDict;

/// The D-Bus wire spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spelling {
    /// nvme-stas 2.x: `host-nqn`, `nvme`, `referral`, ...
    #[default]
    V2,
    /// nvme-stas 3.x: `hostnqn`, libnvme's `nvme subsystem`, ...
    V3,
}

impl Spelling {
    /// The spelling of a configuration generation.
    pub fn of(generation: Generation) -> Self {
        match generation {
            Generation::V2 => Self::V2,
            Generation::V3 => Self::V3,
        }
    }

    /// `--dbus-api` when given, else the spelling of the configuration's generation.
    pub fn chosen(dbus_api: Option<Self>, generation: Generation) -> Self {
        dbus_api.unwrap_or_else(|| Self::of(generation))
    }

    /// `2`/`2.x` or `3`/`3.x` (the `--dbus-api` argument).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "2" | "2.x" => Ok(Self::V2),
            "3" | "3.x" => Ok(Self::V3),
            _ => Err(format!("{s:?}: the D-Bus API is 2 or 3")),
        }
    }

    /// The name of the host NQN key of a controller dictionary.
    pub fn host_nqn_key(self) -> &'static str {
        match self {
            Self::V2 => "host-nqn",
            Self::V3 => "hostnqn",
        }
    }
}

/// A controller dictionary (built with 2.x keys) in `spelling`. With 3.x, `host-nqn` becomes
/// `hostnqn`; where the dictionary also has the sysfs `hostnqn` of the details (empty while
/// not connected), the identity's value stays: clients key controllers by it (stacd inherits
/// a DC's host NQN from it).
pub fn respell_dict(d: ControllerDict, spelling: Spelling) -> ControllerDict {
    if spelling == Spelling::V2 {
        return d;
    }
    let mut out: ControllerDict = Vec::with_capacity(d.len());
    for (k, v) in d {
        let k = if k == "host-nqn" {
            "hostnqn".to_owned()
        } else {
            k
        };
        if !out.iter().any(|(ok, _)| *ok == k) {
            out.push((k, v));
        }
    }
    out
}

/// 2.x's words for DLPE `subtype` and `treq` values and libnvme 3's for the same numbers.
const SUBTYPES: [(u8, &str, &str); 3] = [
    (1, "referral", "discovery subsystem referral"),
    (2, "nvme", "nvme subsystem"),
    (3, "discovery", "current discovery subsystem"),
];

const TREQS: [(u8, &str, &str); 6] = [
    (0, "not specified", "not specified"),
    (1, "required", "required"),
    (2, "not required", "not required"),
    (
        4,
        "disable sqflow",
        "not specified, sq flow control disable supported",
    ),
    (5, "5", "required, sq flow control disable supported"),
    (6, "6", "not required, sq flow control disable supported"),
];

fn v2_to_v3(value: &str, table: &[(u8, &'static str, &'static str)]) -> String {
    match table.iter().find(|(_, v2, _)| *v2 == value) {
        Some((_, _, v3)) => (*v3).to_owned(),
        // 2.x shows unknown numbers as digits; libnvme says "unrecognized".
        None if value.bytes().all(|b| b.is_ascii_digit()) => "unrecognized".to_owned(),
        None => value.to_owned(),
    }
}

fn v3_to_v2<'a>(value: &'a str, table: &[(u8, &'static str, &'static str)]) -> &'a str {
    table
        .iter()
        .find(|(_, _, v3)| *v3 == value)
        .map_or(value, |(_, v2, _)| v2)
}

/// A DLPE dictionary (built with 2.x words) in `spelling`.
pub fn respell_dlpe(d: &DlpeDict, spelling: Spelling) -> DlpeDict {
    d.iter()
        .map(|(k, v)| {
            let v = match (spelling, *k) {
                (Spelling::V3, "subtype") => v2_to_v3(v, &SUBTYPES),
                (Spelling::V3, "treq") => v2_to_v3(v, &TREQS),
                _ => v.clone(),
            };
            (*k, v)
        })
        .collect()
}

/// A DLPE value read from outside, in 2.x words whichever generation wrote it.
pub fn dlpe_value_as_v2(key: &str, value: &str) -> String {
    dlpe_value_in_v2(key, value).to_owned()
}

/// [`dlpe_value_as_v2`] without a copy.
pub fn dlpe_value_in_v2<'a>(key: &str, value: &'a str) -> &'a str {
    match key {
        "subtype" => v3_to_v2(value, &SUBTYPES),
        "treq" => v3_to_v2(value, &TREQS),
        _ => value,
    }
}

/// The host NQN of a controller dictionary read from outside, in either spelling.
pub fn host_nqn_of<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
    get("host-nqn").or_else(|| get("hostnqn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(pairs: &[(&str, &str)]) -> ControllerDict {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn controller_dicts_rename_host_nqn_and_keep_the_identity() {
        let id = dict(&[
            ("traddr", "1.2.3.4"),
            ("host-nqn", "nqn.h"),
            ("device", "nvme0"),
        ]);
        assert_eq!(respell_dict(id.clone(), Spelling::V2), id);
        assert_eq!(
            respell_dict(id, Spelling::V3),
            dict(&[
                ("traddr", "1.2.3.4"),
                ("hostnqn", "nqn.h"),
                ("device", "nvme0")
            ])
        );
        // Details of a DC not connected: the sysfs hostnqn is empty; the identity's stays.
        let details = dict(&[("host-nqn", "nqn.h"), ("hostid", "x"), ("hostnqn", "")]);
        assert_eq!(
            respell_dict(details, Spelling::V3),
            dict(&[("hostnqn", "nqn.h"), ("hostid", "x")])
        );
    }

    #[test]
    fn dlpe_words_both_ways() {
        let d: DlpeDict = vec![
            ("trtype", "tcp".into()),
            ("subtype", "nvme".into()),
            ("treq", "disable sqflow".into()),
        ];
        let v3 = respell_dlpe(&d, Spelling::V3);
        assert_eq!(v3[1].1, "nvme subsystem");
        assert_eq!(v3[2].1, "not specified, sq flow control disable supported");
        assert_eq!(respell_dlpe(&d, Spelling::V2), d);
        for (k, v) in &v3 {
            let back = dlpe_value_as_v2(k, v);
            assert_eq!(
                Some(&back),
                d.iter().find(|(dk, _)| dk == k).map(|(_, v)| v)
            );
        }
        for (v2, v3) in [
            ("referral", "discovery subsystem referral"),
            ("discovery", "current discovery subsystem"),
            ("9", "unrecognized"),
        ] {
            let d: DlpeDict = vec![("subtype", v2.into())];
            assert_eq!(respell_dlpe(&d, Spelling::V3)[0].1, v3);
        }
        assert_eq!(dlpe_value_as_v2("subtype", "nvme"), "nvme");
        assert_eq!(
            dlpe_value_as_v2("traddr", "nvme subsystem"),
            "nvme subsystem"
        );
    }

    #[test]
    fn parse_and_generation() {
        assert_eq!(Spelling::parse("3"), Ok(Spelling::V3));
        assert_eq!(Spelling::parse("2.x"), Ok(Spelling::V2));
        assert!(Spelling::parse("4").is_err());
        assert_eq!(Spelling::of(Generation::V3).host_nqn_key(), "hostnqn");
        assert_eq!(Spelling::of(Generation::V2).host_nqn_key(), "host-nqn");
    }
}
