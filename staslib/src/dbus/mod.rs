//! What the daemons and their clients share on D-Bus: names, paths and interfaces (compat
//! §2.1), the string dictionaries of controllers (§2.3) and timers (§2.6), and the caller
//! checks that keep secrets and writes to root.

mod caller;
mod controller_dict;
mod params;
mod spelling;
mod timer;

pub use caller::{caller_is_root, caller_uid, require_root};
pub use controller_dict::{
    ControllerDict, DictEntry, WireDict, for_caller, id_dict, json_dict, redact_secrets, wire_dict,
};
pub use params::{check_controller_pairs, controller_entry};
pub use spelling::{Spelling, dlpe_value_as_v2, host_nqn_of, respell_dict, respell_dlpe};
pub use timer::{TimerView, render_timer};

/// The system-bus connection of a daemon that owns `name` once built. The name is taken
/// only if nobody holds it: a second instance fails to start instead of taking the name from
/// the running one (zbus's default flags would replace it), as upstream's daemons do.
pub fn service_connection(name: &'static str) -> zbus::connection::Builder<'static> {
    zbus::connection::Builder::system()
        .name(name)
        .allow_name_replacements(false)
        .replace_existing_names(false)
}

/// stafd's well-known name, object path and main interface.
pub const STAFD_NAME: &str = "org.nvmexpress.staf";
/// stafd's object path (the only one it exports).
pub const STAFD_PATH: &str = "/org/nvmexpress/staf";
/// stafd's debug interface.
pub const STAFD_DEBUG_IFACE: &str = "org.nvmexpress.staf.debug";
/// stacd's well-known name and main interface.
pub const STACD_NAME: &str = "org.nvmexpress.stac";
/// stacd's object path.
pub const STACD_PATH: &str = "/org/nvmexpress/stac";
/// stacd's debug interface.
pub const STACD_DEBUG_IFACE: &str = "org.nvmexpress.stac.debug";

/// Keys whose values are DH-HMAC-CHAP secrets: shown to root only (deliberate fix 6).
pub const SECRET_KEYS: [&str; 3] = ["dhchap-secret", "dhchap-ctrl-secret", "hostkey"];

/// What a caller that is not root sees instead of a secret.
pub const REDACTED: &str = "(redacted)";
