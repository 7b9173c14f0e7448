//! I/O controllers on either backend: connect or adopt, device name, state, removal, and
//! disconnect. On the kernel backend the controller is a `/dev/nvmeN` whose namespaces are
//! block devices; on the native backend it is held in this process (admin queue with
//! keep-alive plus I/O queues).

use super::error::{Cause, ControllerError, Operation};
use super::params::ConnectParams;
use super::{Backend, kernel, native};
use crate::trid::TransportId;

/// A connected I/O controller.
#[derive(Debug)]
pub struct IoController {
    tid: TransportId,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Native(Box<native::NativeIoc>),
    Kernel(Box<kernel::KernelIoc>),
}

impl IoController {
    /// Connects to (or, on the kernel backend, adopts) the I/O controller `tid`.
    pub async fn connect(
        backend: &Backend,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<Self, ControllerError> {
        // Each arm boxed: callers hold this future while a connect waits (both backends
        // admit a few at a time), and the native arm's state would size it for both.
        let inner = match backend {
            Backend::Native(b) => {
                Inner::Native(Box::new(Box::pin(b.connect_ioc(tid, params)).await?))
            }
            Backend::Kernel(b) => {
                Inner::Kernel(Box::new(Box::pin(b.connect_ioc(tid, params)).await?))
            }
        };
        Ok(Self {
            tid: tid.clone(),
            inner,
        })
    }

    /// The identity it was connected with.
    pub fn tid(&self) -> &TransportId {
        &self.tid
    }

    /// The kernel device (`nvme4`), on the kernel backend.
    pub fn device(&self) -> Option<&str> {
        match &self.inner {
            Inner::Native(_) => None,
            Inner::Kernel(k) => Some(k.device()),
        }
    }

    /// Whether connecting adopted an existing kernel controller.
    pub fn adopted(&self) -> bool {
        match &self.inner {
            Inner::Native(_) => false,
            Inner::Kernel(k) => k.adopted(),
        }
    }

    /// The controller's state: the kernel's (`live`, `connecting`, `resetting`, ...; `None`
    /// once the device is gone) or, on the native backend, `live` while the association is
    /// up and `dead` after.
    pub fn state(&self) -> Option<String> {
        match &self.inner {
            Inner::Native(n) => Some(n.state().to_owned()),
            Inner::Kernel(k) => k.state(),
        }
    }

    /// Waits until the controller goes away (kernel: removed, e.g. `nvme disconnect` or
    /// `ctrl_loss_tmo` expired; native: the association ended) and says why. Cancel-safe.
    pub async fn removed(&mut self) -> String {
        match &mut self.inner {
            Inner::Native(n) => n.removed().await,
            Inner::Kernel(k) => k.removed().await,
        }
    }

    /// Checks that the controller is still the one connected, for an audit that does not
    /// trust events alone: on the kernel backend its sysfs device must exist and be the same
    /// kernel object (a lost `remove` followed by a new controller reusing the name is
    /// caught). Returns why it is gone; after that [`Self::removed`] never completes. The
    /// native backend reports a lost association through [`Self::removed`] and always
    /// answers `None`.
    pub fn vanished(&mut self) -> Option<String> {
        match &mut self.inner {
            Inner::Native(_) => None,
            Inner::Kernel(k) => k.vanished(),
        }
    }

    /// Ends it. On the kernel backend `keep` leaves the kernel connection (stacd keeps I/O
    /// connections when it stops); the native one always closes.
    pub async fn disconnect(self, keep: bool) -> Result<(), ControllerError> {
        let tid = self.tid;
        let r: Result<(), Cause> = match self.inner {
            Inner::Native(n) => n.close().await,
            Inner::Kernel(k) => k.close(keep).await,
        };
        r.map_err(|e| e.at(&tid, Operation::Disconnect))
    }
}
