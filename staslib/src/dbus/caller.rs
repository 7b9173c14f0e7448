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
