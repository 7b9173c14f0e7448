//! Controller dictionaries (`a{ss}`, compat §2.3): ordered, every value a string.

use libnvme_rs::trid::TransportId;

use super::{REDACTED, SECRET_KEYS};

/// An ordered string dictionary, as sent in `a{ss}` and in upstream's JSON.
pub type ControllerDict = Vec<(String, String)>;

/// One `key: value` of a [`ControllerDict`].
pub type DictEntry = (String, String);

/// The identity ("id") dictionary: `traddr`, `trsvcid`, `transport`, `subsysnqn`,
/// `host-iface`, `host-traddr`, the extra keys of the `controller=` line in their order,
/// `host-nqn`, `device` (`nvme?` while not bound to a kernel device).
pub fn id_dict(
    tid: &TransportId,
    extras: &[(String, String)],
    device: Option<&str>,
) -> ControllerDict {
    let mut d: ControllerDict = [
        ("traddr", tid.traddr()),
        ("trsvcid", tid.trsvcid()),
        ("transport", tid.transport().as_str()),
        ("subsysnqn", tid.subsysnqn()),
        ("host-iface", tid.host_iface()),
        ("host-traddr", tid.host_traddr()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    d.extend(extras.iter().cloned());
    d.push(("host-nqn".to_owned(), tid.host_nqn().to_owned()));
    d.push(("device".to_owned(), device.unwrap_or("nvme?").to_owned()));
    d
}

/// `a{ss}` as sent.
pub type WireDict = std::collections::BTreeMap<String, String>;

/// What a caller sees of a controller dictionary: secrets redacted unless it is root, keys in
/// the daemon's spelling.
pub fn for_caller(mut d: ControllerDict, root: bool, spelling: super::Spelling) -> ControllerDict {
    redact_secrets(&mut d, root);
    super::respell_dict(d, spelling)
}

/// [`for_caller`] as `a{ss}`.
pub fn wire_dict(d: ControllerDict, root: bool, spelling: super::Spelling) -> WireDict {
    for_caller(d, root, spelling).into_iter().collect()
}

/// [`for_caller`] as a JSON object in upstream's (Python's) formatting and key order.
pub fn json_dict(
    d: ControllerDict,
    root: bool,
    spelling: super::Spelling,
) -> crate::py_json::PyJson {
    let d = for_caller(d, root, spelling);
    crate::py_json::PyJson::str_dict(d.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Replaces secret values with [`REDACTED`] unless the caller is root (deliberate fix 6).
pub fn redact_secrets(dict: &mut ControllerDict, caller_is_root: bool) {
    if caller_is_root {
        return;
    }
    for (k, v) in dict.iter_mut() {
        if SECRET_KEYS.contains(&k.as_str()) && !v.is_empty() {
            REDACTED.clone_into(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libnvme_rs::trid::Transport;

    #[test]
    fn id_dict_has_upstream_keys_in_order() {
        let tid = TransportId::new(
            Transport::Tcp,
            "10.10.10.10",
            "",
            "nqn.1988-11.com.dell:SFSS:2:20220208134025e8",
        )
        .with_host_traddr("1.2.3.4")
        .with_host_iface("wlp0s20f3")
        .with_host_nqn("nqn.1988-11.com.dell:poweredge:1234");
        let extras = vec![("dhchap-secret".to_owned(), "DHHC-1:00:abc=:".to_owned())];
        let mut d = id_dict(&tid, &extras, None);
        let keys: Vec<&str> = d.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "traddr",
                "trsvcid",
                "transport",
                "subsysnqn",
                "host-iface",
                "host-traddr",
                "dhchap-secret",
                "host-nqn",
                "device"
            ]
        );
        assert_eq!(d[1].1, "8009");
        assert_eq!(d[8].1, "nvme?");
        redact_secrets(&mut d, true);
        assert_eq!(d[6].1, "DHHC-1:00:abc=:");
        redact_secrets(&mut d, false);
        assert_eq!(d[6].1, REDACTED);
    }
}
