//! Who is calling: the bus daemon knows each connection's Unix user.

use zbus::message::Header;
use zbus::{Connection, fdo};

/// The Unix user of the connection that sent `header`'s message, asked of the bus daemon.
/// `None` when the bus cannot tell (then treat the caller as unprivileged).
pub async fn caller_uid(conn: &Connection, header: &Header<'_>) -> Option<u32> {
    let sender = header.sender()?;
    let dbus = fdo::DBusProxy::new(conn).await.ok()?;
    dbus.get_connection_unix_user(sender.clone().into())
        .await
        .ok()
}

/// Whether the caller is root (unknown counts as not).
pub async fn caller_is_root(conn: &Connection, header: &Header<'_>) -> bool {
    caller_uid(conn, header).await == Some(0)
}

/// `AccessDenied` ("only root may `what`") unless the caller is root. The shipped bus policy
/// already denies some of this; the check holds on a bus without that policy too.
pub async fn require_root(conn: &Connection, header: &Header<'_>, what: &str) -> fdo::Result<()> {
    if caller_is_root(conn, header).await {
        Ok(())
    } else {
        Err(fdo::Error::AccessDenied(format!("only root may {what}")))
    }
}
