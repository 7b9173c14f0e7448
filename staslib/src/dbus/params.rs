//! Controller parameters that arrive over D-Bus (runtime additions) or from firmware: checked
//! before they can become a `/dev/nvme-fabrics` option string.

use std::collections::HashMap;
use std::path::Path;

use crate::conf::controller::{ControllerEntry, ItemContext};
use crate::conf::options::Daemon;

/// Keys a runtime `AddController` may carry: the `controller=` keys.
const ALLOWED_KEYS: [&str; 22] = [
    "transport",
    "traddr",
    "trsvcid",
    "subsysnqn",
    "nqn",
    "host-traddr",
    "host-iface",
    "host-nqn",
    "dhchap-secret",
    "dhchap-ctrl-secret",
    "kato",
    "queue-size",
    "reconnect-delay",
    "ctrl-loss-tmo",
    "nr-io-queues",
    "nr-write-queues",
    "nr-poll-queues",
    "hdr-digest",
    "data-digest",
    "disable-sqflow",
    "ip-family",
    "ignore-iface",
];

/// Checks D-Bus arguments before they become a controller: known keys, printable ASCII,
/// no `,` (the fabrics option separator) anywhere and no `=` outside secrets.
pub fn check_controller_pairs(
    pairs: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        if !ALLOWED_KEYS.contains(&k.as_str()) {
            return Err(format!("unknown key {k:?}"));
        }
        if v.len() > 512 {
            return Err(format!("{k}: value too long"));
        }
        let secret = k.starts_with("dhchap");
        if let Some(c) = v
            .chars()
            .find(|c| !c.is_ascii_graphic() || *c == ',' || (*c == '=' && !secret))
        {
            return Err(format!("{k}: {c:?} is not allowed"));
        }
        out.push((k.clone(), v.clone()));
    }
    // Stable order for the entry (the D-Bus dict has none).
    out.sort_by(|a, b| {
        let rank = |k: &str| ALLOWED_KEYS.iter().position(|x| *x == k);
        rank(&a.0).cmp(&rank(&b.0))
    });
    Ok(out)
}

/// Parses checked pairs as a `controller=` entry of `daemon`'s configuration would be.
pub fn controller_entry(
    daemon: Daemon,
    pairs: Vec<(String, String)>,
) -> Result<ControllerEntry, String> {
    let ctx = ItemContext {
        daemon,
        file: Path::new("D-Bus Add"),
        line: None,
        option: "controller",
    };
    let (entry, diags) = ControllerEntry::from_pairs(&ctx, pairs);
    entry.ok_or_else(|| {
        diags
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })
}
