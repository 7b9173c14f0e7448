//! The decoded table: host, HFIs, discovery and subsystem namespace descriptors, and the
//! controller candidates `stafd` / `stacd` take from them.

use std::net::IpAddr;

use super::NbftError;

/// Which list a skipped descriptor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorKind {
    /// Host fabric interface.
    Hfi,
    /// Discovery controller.
    Discovery,
    /// Subsystem namespace.
    Subsystem,
}

/// A descriptor that was present and marked valid but could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The list.
    pub kind: DescriptorKind,
    /// Position in the list (0-based).
    pub position: usize,
    /// Why.
    pub error: NbftError,
}

/// The host descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftHost {
    /// Host ID (raw UUID bytes).
    pub id: [u8; 16],
    /// Host NQN.
    pub nqn: String,
    /// The host ID was set by an administrator (else a driver default).
    pub id_configured: bool,
    /// The host NQN was set by an administrator (else a driver default).
    pub nqn_configured: bool,
    /// Primary administrative host flag (0 not indicated, 1 unselected, 2 selected, 3 reserved).
    pub primary_admin: u8,
}

impl NbftHost {
    /// The host ID as a canonical UUID string.
    pub fn id_string(&self) -> String {
        crate::host::format_uuid(&self.id)
    }
}

/// NVMe/TCP details of an HFI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftHfiTcp {
    /// PCI segment/bus/device/function of the NIC.
    pub pci_sbdf: u32,
    /// MAC address.
    pub mac: [u8; 6],
    /// VLAN ID (0 = none).
    pub vlan: u16,
    /// IP origin (Windows `NL_PREFIX_ORIGIN`).
    pub ip_origin: u8,
    /// Interface address.
    pub ipaddr: IpAddr,
    /// Prefix length.
    pub subnet_mask_prefix: u8,
    /// Gateway (`None` when all-zero).
    pub gateway: Option<IpAddr>,
    /// Route metric.
    pub route_metric: u16,
    /// Primary DNS server.
    pub primary_dns: Option<IpAddr>,
    /// Secondary DNS server.
    pub secondary_dns: Option<IpAddr>,
    /// DHCP server (only when `dhcp_override`).
    pub dhcp_server: Option<IpAddr>,
    /// Host name from DHCP or configuration.
    pub host_name: Option<String>,
    /// The configuration came from DHCP.
    pub dhcp_override: bool,
    /// This HFI was the default route.
    pub default_route: bool,
}

impl NbftHfiTcp {
    /// `aa:bb:cc:dd:ee:ff`.
    pub fn mac_string(&self) -> String {
        format_mac(&self.mac)
    }

    /// PCI address as libnvme prints it (`segment:bus:device.function`, hex, no padding).
    pub fn pci_address(&self) -> String {
        let s = self.pci_sbdf;
        format!(
            "{:x}:{:x}:{:x}.{:x}",
            (s & 0xffff_0000) >> 16,
            (s & 0x0000_ff00) >> 8,
            (s & 0x0000_00f8) >> 3,
            s & 0x7
        )
    }
}

/// A host fabric interface (only NVMe/TCP exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftHfi {
    /// HFI descriptor index (what other descriptors reference).
    pub index: u8,
    /// NVMe/TCP details.
    pub tcp: NbftHfiTcp,
}

/// A discovery controller descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftDiscovery {
    /// Discovery descriptor index.
    pub index: u8,
    /// Index of the HFI it is reached through.
    pub hfi_index: u8,
    /// Security profile index (0 = none).
    pub security_index: u8,
    /// Controller URI, e.g. `nvme+tcp://192.168.1.10:8009/`.
    pub uri: String,
    /// Discovery controller NQN (the well-known one when the table gives none).
    pub nqn: String,
    /// Transport from the URI scheme (`nvme+tcp` → `tcp`).
    pub transport: String,
    /// Host part of the URI (brackets of IPv6 literals removed, lower-cased).
    pub traddr: String,
    /// Port of the URI, if any.
    pub trsvcid: Option<String>,
}

/// SSNS extended information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftSsnsExt {
    /// Controller ID of the first controller.
    pub controller_id: u16,
    /// Admin submission queue size, when administratively set.
    pub asqsz: Option<u16>,
    /// DHCP root path string.
    pub dhcp_root_path: Option<String>,
}

/// A subsystem namespace descriptor (what the firmware booted from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftSubsystem {
    /// SSNS descriptor index.
    pub index: u16,
    /// Subsystem transport address (an IP literal for TCP).
    pub traddr: String,
    /// Subsystem transport service ID (port).
    pub trsvcid: String,
    /// Subsystem NQN.
    pub subsys_nqn: String,
    /// Subsystem port ID.
    pub subsys_port_id: u16,
    /// Namespace ID (0 = unspecified).
    pub nsid: u32,
    /// Namespace identifier type (1 EUI-64, 2 NGUID, 3 UUID).
    pub nid_type: u8,
    /// Namespace identifier.
    pub nid: [u8; 16],
    /// Header digest required.
    pub hdr_digest: bool,
    /// Data digest required.
    pub data_digest: bool,
    /// Primary discovery controller index (0 = none).
    pub primary_discovery_index: u8,
    /// Security profile index (0 = none).
    pub security_index: u8,
    /// HFI indexes: primary first, then the resolvable secondaries, each HFI once.
    pub hfi_indexes: Vec<u8>,
    /// Administrative, not necessarily bootable, namespace.
    pub non_bootable: bool,
    /// Acquired through discovery.
    pub discovered: bool,
    /// Availability hint (0 not indicated, 1 available, 2 unavailable).
    pub unavailable: u8,
    /// Extended information, when present and valid.
    pub extended: Option<NbftSsnsExt>,
}

/// A parsed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nbft {
    /// Major revision (always 1).
    pub major_revision: u8,
    /// Minor revision.
    pub minor_revision: u8,
    /// OEM ID (trailing NULs and spaces removed).
    pub oem_id: String,
    /// OEM table ID.
    pub oem_table_id: String,
    /// Host descriptor; `None` when the control descriptor is not marked valid (an empty
    /// table: every list is then empty too).
    pub host: Option<NbftHost>,
    /// Valid HFIs.
    pub hfis: Vec<NbftHfi>,
    /// Number of security profile descriptors (not decoded).
    pub security_count: u8,
    /// Valid discovery descriptors.
    pub discovery: Vec<NbftDiscovery>,
    /// Valid subsystem namespace descriptors.
    pub subsystems: Vec<NbftSubsystem>,
    /// Descriptors marked valid but unusable.
    pub skipped: Vec<Skipped>,
}

/// A controller candidate taken from the table, the fields `stafd`/`stacd` build a
/// controller identity from (compat spec §4.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftController {
    /// Transport (`tcp`).
    pub transport: String,
    /// Target address.
    pub traddr: String,
    /// Target port; `None` when a discovery URI has no port (upstream then uses the
    /// string `None`; callers apply their transport default instead).
    pub trsvcid: Option<String>,
    /// Subsystem NQN.
    pub subsysnqn: String,
    /// The table's host NQN, only when it was administratively configured.
    pub host_nqn: Option<String>,
    /// The table's host ID, only when it was administratively configured.
    pub host_id: Option<String>,
    /// MAC of the HFI the firmware used.
    pub hfi_mac: Option<[u8; 6]>,
    /// Address of that HFI (a possible `host-traddr`; upstream does not use it).
    pub hfi_ipaddr: Option<IpAddr>,
    /// Interface with the HFI's MAC, when the lookup found one.
    pub host_iface: Option<String>,
    /// Header digest required (subsystems only).
    pub hdr_digest: bool,
    /// Data digest required (subsystems only).
    pub data_digest: bool,
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Nbft {
    /// The HFI with descriptor index `index`.
    pub fn hfi(&self, index: u8) -> Option<&NbftHfi> {
        self.hfis.iter().find(|h| h.index == index)
    }

    fn configured_host(&self) -> (Option<String>, Option<String>) {
        match &self.host {
            Some(h) => (
                h.nqn_configured.then(|| h.nqn.clone()),
                h.id_configured.then(|| h.id_string()),
            ),
            None => (None, None),
        }
    }

    fn hfi_fields(
        &self,
        index: Option<u8>,
        iface_for_mac: &dyn Fn(&[u8; 6]) -> Option<String>,
    ) -> (Option<[u8; 6]>, Option<IpAddr>, Option<String>) {
        match index.and_then(|i| self.hfi(i)) {
            Some(h) => (
                Some(h.tcp.mac),
                Some(h.tcp.ipaddr),
                iface_for_mac(&h.tcp.mac),
            ),
            None => (None, None, None),
        }
    }

    /// Discovery controllers for `stafd` (compat spec §4.15-2): transport/traddr/trsvcid
    /// from the URI, subsysnqn = the descriptor's NQN, host NQN/ID only when configured,
    /// host interface from `iface_for_mac` applied to the HFI's MAC (see [`iface_by_mac`](super::iface_by_mac)).
    pub fn discovery_controllers(
        &self,
        iface_for_mac: &dyn Fn(&[u8; 6]) -> Option<String>,
    ) -> Vec<NbftController> {
        let (host_nqn, host_id) = self.configured_host();
        self.discovery
            .iter()
            .map(|d| {
                let (hfi_mac, hfi_ipaddr, host_iface) =
                    self.hfi_fields(Some(d.hfi_index), iface_for_mac);
                NbftController {
                    transport: d.transport.clone(),
                    traddr: d.traddr.clone(),
                    trsvcid: d.trsvcid.clone(),
                    subsysnqn: d.nqn.clone(),
                    host_nqn: host_nqn.clone(),
                    host_id: host_id.clone(),
                    hfi_mac,
                    hfi_ipaddr,
                    host_iface,
                    hdr_digest: false,
                    data_digest: false,
                }
            })
            .collect()
    }

    /// Subsystem (I/O controller) candidates (compat spec §4.15-4; upstream parses but does
    /// not use them): the primary HFI gives the interface.
    pub fn subsystem_controllers(
        &self,
        iface_for_mac: &dyn Fn(&[u8; 6]) -> Option<String>,
    ) -> Vec<NbftController> {
        let (host_nqn, host_id) = self.configured_host();
        self.subsystems
            .iter()
            .map(|s| {
                let (hfi_mac, hfi_ipaddr, host_iface) =
                    self.hfi_fields(s.hfi_indexes.first().copied(), iface_for_mac);
                NbftController {
                    transport: "tcp".to_owned(),
                    traddr: s.traddr.clone(),
                    trsvcid: Some(s.trsvcid.clone()),
                    subsysnqn: s.subsys_nqn.clone(),
                    host_nqn: host_nqn.clone(),
                    host_id: host_id.clone(),
                    hfi_mac,
                    hfi_ipaddr,
                    host_iface,
                    hdr_digest: s.hdr_digest,
                    data_digest: s.data_digest,
                }
            })
            .collect()
    }
}
