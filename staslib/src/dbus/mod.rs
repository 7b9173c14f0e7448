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
pub use spelling::{
    Spelling, dlpe_value_as_v2, dlpe_value_in_v2, host_nqn_of, respell_dict, respell_dlpe,
};
pub use timer::{TimerView, render_timer};

/// A daemon's system-bus connection, to serve its objects on before [`start_service`].
pub fn service_connection() -> zbus::connection::Builder<'static> {
    zbus::connection::Builder::system()
}

/// Connects with `builder` (its objects served) while `setup` runs, then takes `name`
/// ([`take_name`]) once `setup` has succeeded and `ready` has seen its result. The
/// handshake is round trips to dbus-daemon: a daemon reads its configuration and opens
/// its backend meanwhile. Callers address the daemon by `name`, so nothing reaches its
/// objects before `ready` has run. A failed `setup` is the error, whatever the bus did;
/// a bus error is "D-Bus: cannot take NAME: ...".
pub async fn start_service<T>(
    builder: zbus::connection::Builder<'static>,
    name: &str,
    setup: impl std::future::Future<Output = Result<T, String>>,
    ready: impl FnOnce(&T),
) -> Result<(zbus::Connection, T), String> {
    let (bus, setup) = tokio::join!(builder.build(), setup);
    let setup = setup?;
    ready(&setup);
    let taken = match bus {
        Ok(conn) => take_name(&conn, name).await.map(|()| conn),
        Err(e) => Err(e.to_string()),
    };
    let conn = taken.map_err(|e| format!("D-Bus: cannot take {name}: {e}"))?;
    Ok((conn, setup))
}

/// `RequestName`'s DBUS_NAME_FLAG_DO_NOT_QUEUE.
const DO_NOT_QUEUE: u32 = 4;

/// Takes the well-known `name` only if nobody holds it: a second instance fails to start
/// instead of queueing for the name or taking it from the running one (zbus's default flags
/// would replace it), as upstream's daemons do. One round trip on the start-up path: zbus's
/// own name request first subscribes to `NameAcquired` and `NameLost` (two more), which
/// only a daemon that queues for its name or yields it needs.
pub async fn take_name(conn: &zbus::Connection, name: &str) -> Result<(), String> {
    let reply = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "RequestName",
            &(name, DO_NOT_QUEUE),
        )
        .await
        .map_err(|e| e.to_string())?;
    match reply
        .body()
        .deserialize::<u32>()
        .map_err(|e| e.to_string())?
    {
        // Primary owner, or already the owner.
        1 | 4 => Ok(()),
        3 => Err("another process owns it".into()),
        other => Err(format!("RequestName answered {other}")),
    }
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
