//! `staslib::dbus::start_service` on a private `dbus-daemon`: the daemon's set-up runs
//! during the bus handshake, the name is taken only after it succeeded, and each failure
//! says what failed.

use std::cell::Cell;
use std::path::Path;

use staslib::testing::PrivateBus;

const NAME: &str = "org.nvmexpress.staf";

/// A private bus in a directory of its own, or `None` (after `SKIPPED: why`) without
/// dbus-daemon.
fn bus_or_skip() -> Option<(tempfile::TempDir, PrivateBus)> {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    match PrivateBus::start_open(dir.path(), repo) {
        Ok(b) => Some((dir, b)),
        Err(e) => {
            if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref() == Ok("1") {
                panic!("{e} and STAS_REQUIRE_SYSTEM_TESTS=1");
            }
            println!("SKIPPED: {e}");
            None
        }
    }
}

fn builder(bus: &PrivateBus) -> zbus::connection::Builder<'static> {
    zbus::connection::Builder::address(bus.address.as_str())
}

async fn owner(bus: &PrivateBus) -> Option<String> {
    let conn = builder(bus).build().await.unwrap();
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
    dbus.get_name_owner(NAME.try_into().unwrap())
        .await
        .ok()
        .map(|o| o.to_string())
}

#[tokio::test]
async fn name_taken_after_setup_and_ready() {
    let Some((_dir, bus)) = bus_or_skip() else {
        return;
    };
    let seen = Cell::new(None);
    let ready = |v: &i32| {
        // Asked from another thread: `ready` runs inside the caller's task.
        let free = std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(owner(&bus)).is_none()
            })
            .join()
            .unwrap()
        });
        seen.set(Some((*v, free)));
    };
    let (conn, value) =
        staslib::dbus::start_service(builder(&bus), NAME, async { Ok::<_, String>(42) }, ready)
            .await
            .unwrap();
    assert_eq!(
        (value, seen.get()),
        (42, Some((42, true))),
        "ready ran once, before the name was taken"
    );
    assert_eq!(
        owner(&bus).await.as_deref(),
        conn.unique_name().map(|n| n.as_str())
    );
}

#[tokio::test]
async fn failed_setup_is_the_error_and_takes_no_name() {
    let Some((_dir, bus)) = bus_or_skip() else {
        return;
    };
    let ready = Cell::new(false);
    let err = staslib::dbus::start_service(
        builder(&bus),
        NAME,
        async { Err::<(), _>("no /dev/nvme-fabrics".to_owned()) },
        |()| ready.set(true),
    )
    .await
    .unwrap_err();
    assert_eq!(err, "no /dev/nvme-fabrics");
    assert!(!ready.get());
    assert_eq!(owner(&bus).await, None);
}

#[tokio::test]
async fn a_name_held_by_another_is_refused() {
    let Some((_dir, bus)) = bus_or_skip() else {
        return;
    };
    let (first, ()) =
        staslib::dbus::start_service(builder(&bus), NAME, async { Ok::<_, String>(()) }, |()| {})
            .await
            .unwrap();
    let err =
        staslib::dbus::start_service(builder(&bus), NAME, async { Ok::<_, String>(()) }, |()| {})
            .await
            .unwrap_err();
    assert_eq!(
        err,
        format!("D-Bus: cannot take {NAME}: another process owns it")
    );
    assert_eq!(
        owner(&bus).await.as_deref(),
        first.unique_name().map(|n| n.as_str())
    );
}
