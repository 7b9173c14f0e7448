//! The Linux kernel NVMe-oF initiator.
//!
//! * [`options`] — capability probe and the connect option string (pure, validated).
//! * [`adopt`] — find and bind to an existing kernel connection instead of a duplicate.
//! * [`fabrics`] — connect / disconnect through `/dev/nvme-fabrics` and sysfs.
//! * [`sysfs`] — model of `/sys/class/nvme*`, rooted anywhere for tests.
//! * [`passthru`] — admin commands through `NVME_IOCTL_ADMIN_CMD` on `/dev/nvmeN`.
//! * [`uevent`] — kernel uevents for nvme devices (add/remove/change, AENs).
//! * [`exclusion`] — libnvme 3's host-wide exclusion list (`/etc/nvme/exclusions.conf`).
//! * [`registry`] — libnvme 3's ownership registry (`/run/nvme/registry`).
//! * [`protected`] — controllers to leave alone on a libnvme 3 host (other owners, NBFT).
//! * [`tls`] — NVMe/TCP TLS keys: the interchange format, libnvme's derivation, the keyring.

pub mod adopt;
pub mod exclusion;
pub mod fabrics;
pub mod options;
pub mod passthru;
pub mod protected;
pub mod registry;
pub mod sysfs;
pub mod tls;
pub mod uevent;

/// At most `max` bytes of the file at `path`: host files other programs write (the
/// exclusion list, registry attributes) are read bounded.
pub(crate) fn read_bounded(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(max).read_to_end(&mut buf)?;
    Ok(buf)
}
