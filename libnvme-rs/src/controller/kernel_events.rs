//! One netlink uevent socket per process, read by a thread that hands each nvme event to
//! the controller that owns the device. A receive-buffer overrun (events lost, upstream
//! #380/#261) is announced to every controller as a resync, so none waits for an event that
//! will never come.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};

use crate::kernel::uevent::{NetlinkUevents, Uevent, UeventError, UeventSource};

/// What the router delivers to one device's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DeviceEvent {
    /// A uevent for the device. Boxed: it is large, and rarely more than one waits.
    Uevent(Box<Uevent>),
    /// Events were lost: re-read whatever state matters.
    Resync,
}

/// One subscriber's events. Not a tokio channel: a thousand controllers each hold one, and
/// a channel costs ~0.8 KiB before its first event (cache-padded halves, a first block of
/// 32 slots); this is one small allocation, and an event is rare.
#[derive(Debug, Default)]
struct Inbox {
    state: Mutex<InboxState>,
    ready: Notify,
    /// Uevents numbered at or below this were sent before the subscriber took the device
    /// (0: none are skipped). The kernel's own `connected` from our connect is one: the
    /// reader thread may route it after the subscription, and it would read as a reconnect.
    after: u64,
}

#[derive(Debug, Default)]
struct InboxState {
    queue: VecDeque<DeviceEvent>,
    /// The receiver is gone: the router forgets this inbox.
    dropped: bool,
    /// The uevent source ended: after the queue, `recv` answers `None`.
    closed: bool,
}

impl Inbox {
    fn state(&self) -> std::sync::MutexGuard<'_, InboxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `ev`; false when the receiver is gone.
    fn send(&self, ev: DeviceEvent) -> bool {
        let mut s = self.state();
        if s.dropped {
            return false;
        }
        s.queue.push_back(ev);
        drop(s);
        // A permit is kept when nobody waits yet, so an event between the receiver's look
        // at the queue and its wait is not missed.
        self.ready.notify_one();
        true
    }

    /// Queues `ev` (numbered `seqnum`) unless it predates the subscription; false when the
    /// receiver is gone.
    fn offer(&self, ev: &Uevent, seqnum: Option<u64>) -> bool {
        if seqnum.is_some_and(|n| n <= self.after) {
            return !self.is_dropped();
        }
        self.send(DeviceEvent::Uevent(Box::new(ev.clone())))
    }

    fn close(&self) {
        self.state().closed = true;
        self.ready.notify_one();
    }

    fn is_dropped(&self) -> bool {
        self.state().dropped
    }
}

/// The receiving end of one subscription.
#[derive(Debug)]
pub(super) struct DeviceEvents(Arc<Inbox>);

impl DeviceEvents {
    /// The next event; `None` once the uevent source has ended and the queue is empty.
    pub(super) async fn recv(&mut self) -> Option<DeviceEvent> {
        loop {
            {
                let mut s = self.0.state();
                if let Some(ev) = s.queue.pop_front() {
                    return Some(ev);
                }
                if s.closed {
                    return None;
                }
            }
            self.0.ready.notified().await;
        }
    }

    /// The next event if one is queued (tests).
    #[cfg(test)]
    fn try_recv(&mut self) -> Option<DeviceEvent> {
        self.0.state().queue.pop_front()
    }
}

impl Drop for DeviceEvents {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.dropped = true;
        s.queue.clear();
    }
}

/// Every subscriber of a device gets its events: two handles on one kernel controller (an
/// adopted second connect) must not take each other's events away. `ended` is set when the
/// reader stops: later subscribers are told at once.
#[derive(Debug, Default)]
struct RouteTable {
    devices: HashMap<String, Vec<Arc<Inbox>>>,
    ended: bool,
}
type Routes = Arc<Mutex<RouteTable>>;
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

    /// Events of `device` (`nvme3`) from now on, next to any other subscriber's; with
    /// `after`, only those the kernel numbered above it (`/sys/kernel/uevent_seqnum` read
    /// once the device was ours), whenever the reader thread gets to them.
    pub(super) fn subscribe(&self, device: &str, after: Option<u64>) -> DeviceEvents {
        let inbox = Arc::new(Inbox {
            after: after.unwrap_or(0),
            ..Inbox::default()
        });
        let mut routes = lock(&self.routes);
        if routes.ended {
            inbox.close();
        } else {
            let subscribers = routes.devices.entry(device.to_owned()).or_default();
            subscribers.retain(|i| !i.is_dropped());
            subscribers.push(inbox.clone());
        }
        DeviceEvents(inbox)
    }

    /// Forgets the subscribers of `device` whose receiver is gone; with none left, its events
    /// go to the "unmanaged" channel again.
    pub(super) fn unsubscribe_dropped(&self, device: &str) {
        let mut routes = lock(&self.routes);
        if let Some(subscribers) = routes.devices.get_mut(device) {
            subscribers.retain(|i| !i.is_dropped());
            if subscribers.is_empty() {
                routes.devices.remove(device);
            }
        }
    }
}

fn lock(routes: &Routes) -> std::sync::MutexGuard<'_, RouteTable> {
    routes.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_loop(source: impl UeventSource, routes: Routes, unrouted: Unrouted) {
    route(source, &routes, &unrouted);
    // Every owner waiting for an event, and every later one, hears that none will come.
    let mut table = lock(&routes);
    table.ended = true;
    for inbox in table.devices.drain().flat_map(|(_, v)| v) {
        inbox.close();
    }
}

fn route(mut source: impl UeventSource, routes: &Routes, unrouted: &Unrouted) {
    loop {
        match source.next_event(None) {
            Ok(Some(ev)) => {
                let name = ev.sysname().to_owned();
                let mut table = lock(routes);
                if let Some(subscribers) = table.devices.get_mut(&name) {
                    // Owners that went away without unsubscribing are dropped here.
                    let seqnum = ev.seqnum();
                    subscribers.retain(|i| i.offer(&ev, seqnum));
                    if !subscribers.is_empty() {
                        continue;
                    }
                    table.devices.remove(&name);
                }
                drop(table);
                if let Some(tx) = unrouted.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    let _ = tx.send(ev);
                }
            }
            Ok(None) => {}
            Err(UeventError::Overrun) => {
                tracing::warn!(
                    "uevents were lost (receive buffer overrun): resyncing every controller"
                );
                lock(routes).devices.retain(|_, subscribers| {
                    subscribers.retain(|i| i.send(DeviceEvent::Resync));
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

    /// A uevent socket that says what it is told to, then ends.
    struct Scripted(std::vec::IntoIter<Result<Option<Uevent>, UeventError>>);
    impl UeventSource for Scripted {
        fn next_event(
            &mut self,
            _: Option<std::time::Duration>,
        ) -> Result<Option<Uevent>, UeventError> {
            self.0.next().unwrap_or(Err(UeventError::Closed))
        }
    }

    #[test]
    fn routes_by_device_and_resyncs_everyone_on_overrun() {
        let ev = |dev: &str| {
            parse_uevent(format!("change@/devices/virtual/nvme-fabrics/ctl/{dev}\0ACTION=change\0DEVPATH=/devices/virtual/nvme-fabrics/ctl/{dev}\0SUBSYSTEM=nvme\0NVME_AEN=0x70f002\0").as_bytes()).unwrap()
        };
        let routes: Routes = Arc::default();
        let unrouted: Unrouted = Arc::default();
        let router = UeventRouter {
            routes: routes.clone(),
            unrouted: unrouted.clone(),
        };
        let mut rx1 = router.subscribe("nvme1", None);
        let mut rx1b = router.subscribe("nvme1", None);
        let mut rx2 = router.subscribe("nvme2", None);
        // A subscriber that went away does not hide the device from the "unmanaged" channel.
        drop(router.subscribe("nvme9", None));
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
        assert!(rx1.try_recv().is_none());
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

    /// A subscriber that took its device after uevent N (its own connect's `connected`)
    /// does not get N or earlier, even when the reader routes them late; later ones it
    /// gets. Another subscriber of the device gets them all, and an event without a number
    /// is delivered.
    #[test]
    fn skips_events_numbered_before_the_subscription() {
        let ev = |seq: Option<u64>| {
            let seq = seq.map(|n| format!("SEQNUM={n}\0")).unwrap_or_default();
            parse_uevent(format!("change@/devices/virtual/nvme-fabrics/ctl/nvme1\0SUBSYSTEM=nvme\0NVME_EVENT=connected\0{seq}").as_bytes()).unwrap()
        };
        let routes: Routes = Arc::default();
        let router = UeventRouter {
            routes: routes.clone(),
            unrouted: Arc::default(),
        };
        let mut late = router.subscribe("nvme1", Some(10));
        let mut all = router.subscribe("nvme1", None);
        let script: Vec<_> = [Some(9), Some(10), Some(11), None]
            .into_iter()
            .map(|n| Ok(Some(ev(n))))
            .collect();
        read_loop(Scripted(script.into_iter()), routes, Arc::default());
        let got = |rx: &mut DeviceEvents| {
            std::iter::from_fn(|| rx.try_recv())
                .map(|e| match e {
                    DeviceEvent::Uevent(u) => u.seqnum(),
                    DeviceEvent::Resync => panic!("no resync here"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(got(&mut late), [Some(11), None]);
        assert_eq!(got(&mut all), [Some(9), Some(10), Some(11), None]);
    }

    /// An event sent before the owner waits is kept (the wakeup too); once the source ends,
    /// what was queued is still delivered, then `None`, also to a later subscriber.
    #[test]
    fn inbox_keeps_early_events_and_reports_the_end() {
        async fn next(rx: &mut DeviceEvents) -> Option<DeviceEvent> {
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .expect("recv answers within 5 s")
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let routes: Routes = Arc::default();
            let router = UeventRouter {
                routes: routes.clone(),
                unrouted: Arc::default(),
            };
            let mut rx = router.subscribe("nvme1", None);
            let inbox = lock(&routes).devices["nvme1"][0].clone();
            assert!(inbox.send(DeviceEvent::Resync));
            assert_eq!(next(&mut rx).await, Some(DeviceEvent::Resync));
            // Sent while the owner waits.
            let sender = tokio::spawn(async move {
                tokio::task::yield_now().await;
                assert!(inbox.send(DeviceEvent::Resync));
                inbox
            });
            assert_eq!(next(&mut rx).await, Some(DeviceEvent::Resync));
            let inbox = sender.await.unwrap();
            assert!(inbox.send(DeviceEvent::Resync));
            read_loop(
                Scripted(Vec::new().into_iter()),
                routes.clone(),
                Arc::default(),
            );
            assert_eq!(next(&mut rx).await, Some(DeviceEvent::Resync));
            assert_eq!(next(&mut rx).await, None);
            let mut late = router.subscribe("nvme2", None);
            assert_eq!(next(&mut late).await, None);
            // A dropped receiver refuses events, so the router forgets it.
            drop(rx);
            assert!(!inbox.send(DeviceEvent::Resync));
        });
    }

    /// A queued event is one pointer; the uevent itself is only allocated when one comes.
    #[test]
    fn a_device_event_is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<DeviceEvent>(),
            std::mem::size_of::<usize>()
        );
    }
}
