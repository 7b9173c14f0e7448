//! Controllers nvme-stas must leave alone on a libnvme 3 host (spec 3.x §1, nvme-stas 3.x's
//! `protected()`): those another owner holds in the ownership registry, and those the NBFT
//! lists — an initramfs older than the registry may have connected the boot devices without
//! writing `owner=nbft`. Such a controller is never adopted, audited away or disconnected.

use super::adopt::KernelConnection;
use crate::trid::{Transport, traddr_eq};

/// A controller the firmware's NBFT names: its transport ID as the table gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftListed {
    /// `tcp` (the only transport NBFT describes today).
    pub transport: String,
    /// Target address.
    pub traddr: String,
    /// Target port; empty matches any.
    pub trsvcid: String,
    /// Subsystem NQN.
    pub subsysnqn: String,
}

impl NbftListed {
    /// Whether the kernel connection `c` is this controller (addresses compared as
    /// addresses, so `::ffff:10.0.0.1` is `10.0.0.1`).
    pub fn matches(&self, c: &KernelConnection) -> bool {
        let Ok(transport) = self.transport.parse::<Transport>() else {
            return false;
        };
        c.transport == self.transport
            && c.subsysnqn == self.subsysnqn
            && (self.trsvcid.is_empty() || c.trsvcid == self.trsvcid)
            && traddr_eq(transport, &c.traddr, &self.traddr)
    }
}

/// Why `c` (device `device`) is not ours to touch: another owner in the registry
/// (`foreign_owner`), or listed in the NBFT.
pub fn reason(
    foreign_owner: Option<String>,
    nbft: &[NbftListed],
    c: Option<&KernelConnection>,
) -> Option<String> {
    if let Some(owner) = foreign_owner {
        return Some(format!("owned by {owner:?} in the ownership registry"));
    }
    let c = c?;
    nbft.iter()
        .any(|n| n.matches(c))
        .then(|| "listed in the NBFT (a boot device)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(traddr: &str, trsvcid: &str, nqn: &str) -> KernelConnection {
        KernelConnection {
            transport: "tcp".into(),
            traddr: traddr.into(),
            trsvcid: trsvcid.into(),
            subsysnqn: nqn.into(),
            ..KernelConnection::default()
        }
    }

    #[test]
    fn registry_owner_first_then_nbft() {
        let nbft = [NbftListed {
            transport: "tcp".into(),
            traddr: "192.168.1.10".into(),
            trsvcid: "4420".into(),
            subsysnqn: "nqn.boot".into(),
        }];
        let boot = conn("::ffff:192.168.1.10", "4420", "nqn.boot");
        assert_eq!(
            reason(Some("discoverd".into()), &nbft, Some(&boot)).as_deref(),
            Some("owned by \"discoverd\" in the ownership registry")
        );
        assert!(reason(None, &nbft, Some(&boot)).unwrap().contains("NBFT"));
        for other in [
            conn("192.168.1.11", "4420", "nqn.boot"),
            conn("192.168.1.10", "4421", "nqn.boot"),
            conn("192.168.1.10", "4420", "nqn.other"),
        ] {
            assert_eq!(reason(None, &nbft, Some(&other)), None, "{other:?}");
        }
        assert_eq!(reason(None, &nbft, None), None);
        let any_port = NbftListed {
            trsvcid: String::new(),
            ..nbft[0].clone()
        };
        assert!(any_port.matches(&conn("192.168.1.10", "4430", "nqn.boot")));
        let bad = NbftListed {
            transport: "carrier-pigeon".into(),
            ..nbft[0].clone()
        };
        assert!(!bad.matches(&boot));
    }
}
