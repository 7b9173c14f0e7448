//! One netlink uevent socket per process, read by a thread that hands each nvme event to
//! the controller that owns the device. A receive-buffer overrun (events lost, upstream
//! #380/#261) is announced to every controller as a resync, so none waits for an event that
//! will never come.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::kernel::uevent::{NetlinkUevents, Uevent, UeventError, UeventSource};

/// What the router delivers to one device's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DeviceEvent {
    /// A uevent for the device. Boxed: each subscriber's channel holds a first block of 32
    /// slots from the start, and a thousand controllers each have one.
    Uevent(Box<Uevent>),
    /// Events were lost: re-read whatever state matters.
    Resync,
}

/// Every subscriber of a device gets its events: two handles on one kernel controller (an
/// adopted second connect) must not take each other's events away.
type Routes = Arc<Mutex<HashMap<String, Vec<mpsc::UnboundedSender<DeviceEvent>>>>>;
type Unrouted = Arc<Mutex<Option<mpsc::UnboundedSender<Uevent>>>>;

/// Routes uevents to per-device channels; events of other devices go to one optional
/// "unmanaged" channel.
#[derive(Debug, Clone)]
pub(super) struct UeventRouter {
    routes: Routes,
    unrouted: Unrouted,
}

impl UeventRouter {
    /// Opens the socket with a receive buffer of `buffer` bytes and starts the reader thread.
    pub(super) fn start(buffer: usize) -> Result<Self, UeventError> {
        let source = NetlinkUevents::open_with_buffer(buffer)?;
        let routes: Routes = Arc::default();
        let unrouted: Unrouted = Arc::default();
        let (r, u) = (routes.clone(), unrouted.clone());
        std::thread::Builder::new()
            .name("nvme-uevents".into())
            .spawn(move || read_loop(source, r, u))
            .map_err(UeventError::Socket)?;
        Ok(Self { routes, unrouted })
    }

    /// Events of devices nobody subscribed to, from now on (replaces an earlier taker).
    pub(super) fn unrouted(&self) -> mpsc::UnboundedReceiver<Uevent> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.unrouted.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    /// Events of `device` (`nvme3`) from now on, next to any other subscriber's.
    pub(super) fn subscribe(&self, device: &str) -> mpsc::UnboundedReceiver<DeviceEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut routes = lock(&self.routes);
        let subscribers = routes.entry(device.to_owned()).or_default();
        subscribers.retain(|t| !t.is_closed());
        subscribers.push(tx);
        rx
    }

    /// Forgets the subscribers of `device` whose receiver is gone; with none left, its events
    /// go to the "unmanaged" channel again.
    pub(super) fn unsubscribe_dropped(&self, device: &str) {
        let mut routes = lock(&self.routes);
        if let Some(subscribers) = routes.get_mut(device) {
            subscribers.retain(|t| !t.is_closed());
            if subscribers.is_empty() {
                routes.remove(device);
            }
        }
    }
}

fn lock(
    routes: &Routes,
) -> std::sync::MutexGuard<'_, HashMap<String, Vec<mpsc::UnboundedSender<DeviceEvent>>>> {
    routes.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_loop(mut source: impl UeventSource, routes: Routes, unrouted: Unrouted) {
    loop {
        match source.next_event(None) {
            Ok(Some(ev)) => {
                let name = ev.sysname().to_owned();
                let mut map = lock(&routes);
                if let Some(subscribers) = map.get_mut(&name) {
                    // Owners that went away without unsubscribing are dropped here.
                    subscribers
                        .retain(|tx| tx.send(DeviceEvent::Uevent(Box::new(ev.clone()))).is_ok());
                    if !subscribers.is_empty() {
                        continue;
                    }
                    map.remove(&name);
                }
                drop(map);
                if let Some(tx) = unrouted.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    let _ = tx.send(ev);
                }
            }
            Ok(None) => {}
            Err(UeventError::Overrun) => {
                tracing::warn!(
                    "uevents were lost (receive buffer overrun): resyncing every controller"
                );
                lock(&routes).retain(|_, subscribers| {
                    subscribers.retain(|tx| tx.send(DeviceEvent::Resync).is_ok());
                    !subscribers.is_empty()
                });
            }
            Err(e) => {
                tracing::error!("uevent socket failed, kernel events are no longer seen: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::uevent::parse_uevent;

    #[test]
    fn routes_by_device_and_resyncs_everyone_on_overrun() {
        struct Scripted(std::vec::IntoIter<Result<Option<Uevent>, UeventError>>);
        impl UeventSource for Scripted {
            fn next_event(
                &mut self,
                _: Option<std::time::Duration>,
            ) -> Result<Option<Uevent>, UeventError> {
                self.0.next().unwrap_or(Err(UeventError::Closed))
            }
        }
        let ev = |dev: &str| {
            parse_uevent(format!("change@/devices/virtual/nvme-fabrics/ctl/{dev}\0ACTION=change\0DEVPATH=/devices/virtual/nvme-fabrics/ctl/{dev}\0SUBSYSTEM=nvme\0NVME_AEN=0x70f002\0").as_bytes()).unwrap()
        };
        let routes: Routes = Arc::default();
        let unrouted: Unrouted = Arc::default();
        let router = UeventRouter {
            routes: routes.clone(),
            unrouted: unrouted.clone(),
        };
        let mut rx1 = router.subscribe("nvme1");
        let mut rx1b = router.subscribe("nvme1");
        let mut rx2 = router.subscribe("nvme2");
        // A subscriber that went away does not hide the device from the "unmanaged" channel.
        drop(router.subscribe("nvme9"));
        let mut other = router.unrouted();
        let script = vec![
            Ok(Some(ev("nvme1"))),
            Ok(Some(ev("nvme9"))),
            Err(UeventError::Overrun),
            Ok(Some(ev("nvme2"))),
        ];
        read_loop(Scripted(script.into_iter()), routes, unrouted);
        assert_eq!(other.try_recv().unwrap(), ev("nvme9"));
        assert!(other.try_recv().is_err());
        assert_eq!(
            rx1.try_recv().unwrap(),
            DeviceEvent::Uevent(Box::new(ev("nvme1")))
        );
        assert_eq!(rx1.try_recv().unwrap(), DeviceEvent::Resync);
        assert!(rx1.try_recv().is_err());
        assert_eq!(
            rx1b.try_recv().unwrap(),
            DeviceEvent::Uevent(Box::new(ev("nvme1")))
        );
        assert_eq!(rx1b.try_recv().unwrap(), DeviceEvent::Resync);
        assert_eq!(rx2.try_recv().unwrap(), DeviceEvent::Resync);
        assert_eq!(
            rx2.try_recv().unwrap(),
            DeviceEvent::Uevent(Box::new(ev("nvme2")))
        );
    }

    /// Every routed controller's channel allocates 32 slots up front.
    #[test]
    fn a_device_event_is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<DeviceEvent>(),
            std::mem::size_of::<usize>()
        );
    }
}
