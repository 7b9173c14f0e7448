//! NVMe Boot Firmware Table (NBFT, ACPI) parser (compat spec §4.15; NVM Express Boot
//! Specification 1.0, the layout libnvme's `nbft.h` describes).
//!
//! The firmware leaves the table in `/sys/firmware/acpi/tables/NBFT*`. It holds the host
//! identity the pre-OS driver used, its host fabric interfaces (HFIs, with MAC and IP), the
//! discovery controllers (as `nvme+tcp://host:port/` URIs) and the subsystem namespaces
//! (SSNS) it booted from.
//!
//! Layout: a 64-byte ACPI-style header (`NBFT` signature, length, revision, checksum, heap
//! location), a 64-byte control descriptor at offset 64 (location of the host descriptor and
//! of the HFI, SSNS, security and discovery descriptor lists), the descriptors, and a heap
//! holding variable-size objects (strings, HFI transport info, address bytes) referenced by
//! `(offset from table start, length)` pairs.
//!
//! Parsing is bounded and validated: every offset and length is checked against the table
//! (64-bit arithmetic, no overflow), heap references must lie inside the heap, the whole
//! table must sum to zero (ACPI checksum), and nothing panics. As in libnvme, a problem in
//! the header, control or host descriptor rejects the table, while a bad HFI, discovery or
//! SSNS descriptor is only skipped (recorded in [`Nbft::skipped`]); descriptors whose
//! "valid" flag is clear are reserved and ignored.
//!
//! Differences from libnvme (all lenient, none reads out of bounds): any minor revision is
//! accepted (minor revisions are backward compatible by definition); heap strings end at
//! their length or first NUL (a terminator is not required); a discovery descriptor without
//! an NQN uses the well-known discovery NQN (as the Boot specification says; libnvme 1.x
//! drops the entry, newer libnvme keeps it without an NQN); a discovery descriptor whose HFI
//! or security profile does not resolve, and a subsystem whose security profile does not,
//! are kept (libnvme drops them); HFI references resolve by the descriptors' index field; a
//! subsystem address stored as text is accepted when it is an IP literal; a control
//! descriptor marked not valid gives an empty table, as in libnvme 1.x (libnvme rejects it
//! since 2026). Security profiles are counted, not decoded. The checksum covers the header's
//! `length` bytes (ACPI), not trailing file bytes.
//!
//! `tests/nbft_libnvme.rs` checks the parse of libnvme's own test tables (real Dell firmware
//! and synthetic ones) field by field against libnvme's dump of them.
//!
//! [`Nbft::discovery_controllers`] / [`Nbft::subsystem_controllers`] give what `stafd` /
//! `stacd` use. `Nbft::to_bytes` serializes a model back to a valid table (tests, tools): it
//! is compiled only for this crate's tests and with the `nbft-builder` feature.
//!
//! Modules: `layout` (sizes, IDs, flags), `model` (the decoded types), `parse` (the parser),
//! `error`, `sysfs` (table files, MAC → interface) and `builder` (the serializer); all their
//! public items are re-exported here.

mod error;
mod layout;
mod model;
mod parse;
mod sysfs;

#[cfg(any(test, feature = "nbft-builder"))]
mod builder;
#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "nbft-builder"))]
pub use builder::fix_checksum;
pub use error::NbftError;
pub use layout::{
    CONTROL_LEN, DISCOVERY_LEN, HEADER_LEN, HFI_LEN, HFI_TCP_LEN, HOST_LEN, SECURITY_LEN,
    SIGNATURE, SSNS_EXT_LEN, SSNS_LEN, TRTYPE_TCP,
};
pub use model::{
    DescriptorKind, Nbft, NbftController, NbftDiscovery, NbftHfi, NbftHfiTcp, NbftHost,
    NbftSsnsExt, NbftSubsystem, Skipped, format_mac,
};
pub use parse::parse_discovery_uri;
pub use sysfs::{
    DEFAULT_ACPI_TABLES_DIR, MAX_TABLE_LEN, NbftReadError, iface_by_mac, parse_mac, read_dir,
    read_file,
};
