//! Adoption of existing kernel connections (compat §4.12): before connecting, look for a
//! controller the kernel already has for the same identity and bind to it instead.
//!
//! This is what keeps a restart or an upgrade from creating duplicates (for the well-known
//! discovery NQN the kernel itself would allow them) and what turns a second connect of an
//! I/O controller into the existing one instead of an EALREADY failure.
//!
//! * [`matches_existing`] / [`is_candidate_device`] — the matching rules on one
//!   [`KernelConnection`] (pure).
//! * [`InterfaceAddrs`] / [`system_interfaces`] — the host's interfaces the rules consult.
//! * [`find_existing`] / [`connect_or_adopt`] — the search over sysfs and the connect path.

mod interfaces;
mod matching;

pub use interfaces::{InterfaceAddrs, LazyInterfaces, system_interfaces};
pub use matching::{KernelConnection, is_candidate_device, key_may_match, matches_existing};

use super::fabrics::{Connected, Fabrics, FabricsError};
use super::options::ConnectArgs;
use super::sysfs::{ControllerInfo, SysfsError, SysfsRoot};
use crate::trid::TransportId;

/// Which kind of controller a search is for (§4.12 step 2 device-type filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerKind {
    /// A discovery controller (admin queue only).
    Discovery,
    /// An I/O controller.
    Io,
}

/// Controllers that are being torn down cannot be adopted.
pub fn is_going_away(c: &ControllerInfo) -> bool {
    c.state
        .as_deref()
        .is_some_and(|s| s.starts_with("deleting") || s == "dead")
}

/// The first existing controller that matches `tid` (all of §4.12's rules), if any.
pub fn find_existing(
    sysfs: &SysfsRoot,
    tid: &TransportId,
    kind: ControllerKind,
    ifaces: &InterfaceAddrs,
) -> Result<Option<ControllerInfo>, AttachError> {
    let ifaces = LazyInterfaces::given(ifaces.clone());
    Ok(
        match find_existing_except(sysfs, tid, kind, &ifaces, &|_| None)? {
            Found::Adoptable(c) => Some(*c),
            Found::Refused { .. } | Found::Nothing => None,
        },
    )
}

/// What a search for an existing controller found.
#[derive(Debug)]
pub enum Found {
    /// A matching controller that may be adopted.
    Adoptable(Box<ControllerInfo>),
    /// Only matching controllers that `refuse` ruled out; the first one, and why.
    Refused {
        /// Its device name.
        device: String,
        /// What `refuse` said (e.g. `owned by "discoverd" in the ownership registry`).
        why: String,
    },
    /// No matching controller.
    Nothing,
}

/// [`find_existing`], never adopting a device for which `refuse` gives a reason (e.g.
/// another owner's in libnvme 3's registry), but reporting it when nothing else matches.
pub fn find_existing_except(
    sysfs: &SysfsRoot,
    tid: &TransportId,
    kind: ControllerKind,
    ifaces: &LazyInterfaces,
    refuse: &dyn Fn(&ControllerInfo) -> Option<String>,
) -> Result<Found, AttachError> {
    let mut refused = None;
    // Every connect searches: with a thousand controllers, reading all of each one's
    // attributes per search is quadratic work, so rule out by transport, address, host and
    // subsystem first (cached per controller by `SysfsRoot`, re-read only when a controller
    // changed). A thousand subsystems behind one port differ only in the subsystem.
    for name in sysfs.controller_names_where(|key| key_may_match(tid, key))? {
        let Some(c) = sysfs.controller(&name)? else {
            continue;
        };
        let kernel = c.connection();
        let kind_ok = match kind {
            ControllerKind::Discovery => c.is_discovery_controller(),
            ControllerKind::Io => c.is_io_controller(),
        };
        if !is_going_away(&c)
            && kind_ok
            && is_candidate_device(tid, &kernel)
            && matches_existing(tid, &kernel, ifaces.get().map_err(AttachError::Interfaces)?)
        {
            match refuse(&c) {
                None => return Ok(Found::Adoptable(Box::new(c))),
                Some(why) => {
                    refused.get_or_insert(Found::Refused {
                        device: c.name,
                        why,
                    });
                }
            }
        }
    }
    Ok(refused.unwrap_or(Found::Nothing))
}

/// Result of [`connect_or_adopt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The controller: instance, CNTLID and device name.
    pub controller: Connected,
    /// True when an existing controller was adopted (no write to `/dev/nvme-fabrics`).
    pub adopted: bool,
}

/// Why [`connect_or_adopt`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Reading the existing controllers from sysfs failed.
    #[error("cannot list existing controllers")]
    Sysfs(#[from] SysfsError),
    /// Listing the host's network interfaces failed.
    #[error("cannot list host interfaces")]
    Interfaces(#[source] std::io::Error),
    /// Writing the connect options to `/dev/nvme-fabrics` failed (the kernel's answer,
    /// e.g. "authentication key rejected", is the text).
    #[error(transparent)]
    Connect(#[from] FabricsError),
    /// The kernel has the controller already, but as one we may not adopt.
    #[error("{device} exists and is {why}: left alone")]
    Refused {
        /// Its device name.
        device: String,
        /// Why it may not be adopted.
        why: String,
    },
}

/// Adopts an existing controller for `tid` or connects a new one with `args`. Blocking.
///
/// `tid` must carry the host NQN that `args` sends (the kernel's `hostnqn` is compared).
/// If the kernel answers EALREADY — another process connected between our search and our
/// write — the search runs once more and adopts what it finds.
pub fn connect_or_adopt(
    fabrics: &Fabrics,
    sysfs: &SysfsRoot,
    tid: &TransportId,
    kind: ControllerKind,
    args: &ConnectArgs,
) -> Result<Attached, AttachError> {
    connect_or_adopt_except(fabrics, sysfs, tid, kind, args, &|_| None)
}

/// [`connect_or_adopt`] never adopting a device for which `refuse` gives a reason; when
/// the kernel then refuses the duplicate, the error names that device and the reason.
pub fn connect_or_adopt_except(
    fabrics: &Fabrics,
    sysfs: &SysfsRoot,
    tid: &TransportId,
    kind: ControllerKind,
    args: &ConnectArgs,
    refuse: &dyn Fn(&ControllerInfo) -> Option<String>,
) -> Result<Attached, AttachError> {
    let ifaces = LazyInterfaces::system();
    let adopt = |c: ControllerInfo| Attached {
        controller: Connected {
            instance: c.instance,
            cntlid: c.cntlid,
            device: c.name,
        },
        adopted: true,
    };
    if let Found::Adoptable(c) = find_existing_except(sysfs, tid, kind, &ifaces, refuse)? {
        return Ok(adopt(*c));
    }
    match fabrics.connect(args) {
        Ok(controller) => Ok(Attached {
            controller,
            adopted: false,
        }),
        Err(FabricsError::AlreadyConnected) => {
            match find_existing_except(sysfs, tid, kind, &ifaces, refuse)? {
                Found::Adoptable(c) => Ok(adopt(*c)),
                Found::Refused { device, why } => Err(AttachError::Refused { device, why }),
                Found::Nothing => Err(FabricsError::AlreadyConnected.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trid::Transport;
    use std::fs;
    use std::path::Path;

    fn ctrl(root: &Path, name: &str, attrs: &[(&str, &str)]) {
        let d = root.join("class/nvme").join(name);
        fs::create_dir_all(&d).unwrap();
        for (k, v) in attrs {
            fs::write(d.join(k), format!("{v}\n")).unwrap();
        }
    }

    const HOST: &str = "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964";

    #[test]
    fn finds_live_matching_controller_and_skips_deleting_and_other_hosts() {
        let tmp = tempfile::tempdir().unwrap();
        let dc = crate::spec::WELL_KNOWN_DISC_NQN;
        let base = [
            ("transport", "tcp"),
            (
                "address",
                "traddr=127.0.0.1,trsvcid=8009,src_addr=127.0.0.1",
            ),
            ("subsysnqn", dc),
            ("cntrltype", "discovery"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            v
        };
        ctrl(
            tmp.path(),
            "nvme0",
            &with(&[("state", "deleting"), ("hostnqn", HOST)]),
        );
        ctrl(
            tmp.path(),
            "nvme1",
            &with(&[("state", "live"), ("hostnqn", "nqn.other")]),
        );
        ctrl(
            tmp.path(),
            "nvme2",
            &with(&[("state", "live"), ("hostnqn", HOST)]),
        );
        let sysfs = SysfsRoot::new(tmp.path());
        let tid =
            TransportId::new_discovery(Transport::Tcp, "127.0.0.1", "8009", "").with_host_nqn(HOST);
        let found = find_existing(
            &sysfs,
            &tid,
            ControllerKind::Discovery,
            &InterfaceAddrs::new(),
        )
        .unwrap()
        .map(|c| c.name);
        assert_eq!(found.as_deref(), Some("nvme2"));
        // A discovery controller (no children, cntrltype discovery) is never an IOC candidate.
        let io = find_existing(&sysfs, &tid, ControllerKind::Io, &InterfaceAddrs::new()).unwrap();
        assert!(io.is_none());
        // Another port is another identity.
        let tid2 =
            TransportId::new_discovery(Transport::Tcp, "127.0.0.1", "8010", "").with_host_nqn(HOST);
        let none = find_existing(
            &sysfs,
            &tid2,
            ControllerKind::Discovery,
            &InterfaceAddrs::new(),
        )
        .unwrap();
        assert!(none.is_none());

        // A refused match is not adopted but reported; a refused one next to an adoptable
        // one does not hide it.
        let refuse_all = |c: &ControllerInfo| Some(format!("refused {}", c.name));
        let r = find_existing_except(
            &sysfs,
            &tid,
            ControllerKind::Discovery,
            &LazyInterfaces::given(InterfaceAddrs::new()),
            &refuse_all,
        )
        .unwrap();
        assert!(
            matches!(&r, Found::Refused { device, why } if device == "nvme2" && why == "refused nvme2"),
            "{r:?}"
        );
        ctrl(
            tmp.path(),
            "nvme3",
            &with(&[("state", "live"), ("hostnqn", HOST)]),
        );
        let refuse_2 = |c: &ControllerInfo| (c.name == "nvme2").then(|| "mine".to_owned());
        let r = find_existing_except(
            &sysfs,
            &tid,
            ControllerKind::Discovery,
            &LazyInterfaces::given(InterfaceAddrs::new()),
            &refuse_2,
        )
        .unwrap();
        assert!(
            matches!(&r, Found::Adoptable(c) if c.name == "nvme3"),
            "{r:?}"
        );

        // The interfaces are read only for a controller the cached keys did not rule out:
        // a search for a new subsystem makes no netlink dump.
        let other =
            TransportId::new_discovery(Transport::Tcp, "10.9.9.9", "8009", "").with_host_nqn(HOST);
        let r = find_existing_except(
            &sysfs,
            &other,
            ControllerKind::Discovery,
            &LazyInterfaces::unreadable(),
            &|_| None,
        )
        .unwrap();
        assert!(matches!(r, Found::Nothing), "{r:?}");
        let r = find_existing_except(
            &sysfs,
            &tid,
            ControllerKind::Discovery,
            &LazyInterfaces::unreadable(),
            &|_| None,
        );
        assert!(matches!(r, Err(AttachError::Interfaces(_))), "{r:?}");
    }
}
