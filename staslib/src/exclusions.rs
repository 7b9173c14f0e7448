//! libnvme 3's host-wide exclusion list (`/etc/nvme/exclusions.conf` + `.conf.d/`) as both
//! daemons consult it: before every connect attempt, whatever the controller's source
//! (configuration, log page entry, referral, mDNS, NBFT), with the host identity the
//! connection would carry. An exclusion added at run time (`nvme exclusion add`,
//! `nvme disconnect -x`) takes effect on the next attempt; one removed lets the next retry
//! connect. A connection that already exists is left alone, as libnvme's other readers do.

use libnvme_rs::host::HostIdentity;
use libnvme_rs::kernel::exclusion::{Connection, ExclusionList, Match};
use libnvme_rs::trid::TransportId;

/// The list and the host identity connections are checked with.
#[derive(Debug, Clone)]
pub struct HostExclusions {
    list: ExclusionList,
    hostnqn: String,
    hostid: String,
}

impl HostExclusions {
    /// The host's list (`/etc/nvme`) for connections made as `host`.
    pub fn new(host: &HostIdentity) -> Self {
        Self::with_list(ExclusionList::default(), host)
    }

    /// Another list (tests).
    pub fn with_list(list: ExclusionList, host: &HostIdentity) -> Self {
        Self {
            list,
            hostnqn: host.hostnqn.clone(),
            hostid: host.hostid.clone(),
        }
    }

    /// The entry that excludes `tid`, reading the list now.
    pub fn check(&self, tid: &TransportId) -> Option<Match> {
        self.list
            .find(&Connection::of(tid, &self.hostnqn, &self.hostid))
    }
}

#[cfg(test)]
mod tests {
    use libnvme_rs::trid::Transport;

    use super::*;

    #[test]
    fn a_tid_is_checked_with_the_host_identity() {
        let dir = tempfile::tempdir().unwrap();
        let host = HostIdentity {
            hostnqn: "nqn.2014-08.org.nvmexpress:uuid:me".into(),
            hostid: "id-me".into(),
            hostkey: None,
        };
        let ex = HostExclusions::with_list(ExclusionList::new(dir.path()), &host);
        let tid = TransportId::new(Transport::Tcp, "10.0.0.1", "4420", "nqn.a");
        assert!(ex.check(&tid).is_none());
        std::fs::write(
            dir.path().join("exclusions.conf"),
            "[exclusions]\nexclusion = hostid=id-me;nqn=nqn.a\n",
        )
        .unwrap();
        assert_eq!(ex.check(&tid).map(|m| m.line), Some(2));
        // Another host NQN on the ID itself: the entry's hostnqn must match that one.
        std::fs::write(
            dir.path().join("exclusions.conf"),
            "[exclusions]\nexclusion = hostnqn=nqn.2014-08.org.nvmexpress:uuid:me\n",
        )
        .unwrap();
        assert!(ex.check(&tid).is_some());
        assert!(ex.check(&tid.clone().with_host_nqn("nqn.other")).is_none());
    }
}
