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

/// First re-read of the list for an excluded controller, and the period after (the
/// daemons' connect retry schedule, §4.2-4).
const FIRST_RECHECK: std::time::Duration = std::time::Duration::from_secs(3);
const LATER_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Returns `true` at once when the list does not cover `tid`; else says so (once), lets
/// `record` note the match and the wait in the caller's state, and re-reads the list on the
/// retry schedule (3 s, then 60 s; sooner when `kick` is notified) until it no longer
/// does. `false` when `stop` resolves first.
pub async fn wait_while_excluded<S: std::future::Future + Unpin>(
    exclusions: &HostExclusions,
    tid: &TransportId,
    stop: &mut S,
    kick: Option<&tokio::sync::Notify>,
    mut record: impl FnMut(&Match, std::time::Duration),
) -> bool {
    let mut checks = 0u32;
    while let Some(m) = exclusions.check(tid) {
        checks += 1;
        if checks == 1 {
            tracing::info!("{tid} | not connecting: excluded by {m}");
        }
        let delay = if checks == 1 {
            FIRST_RECHECK
        } else {
            LATER_RECHECK
        };
        record(&m, delay);
        let kicked = async {
            match kick {
                Some(k) => k.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = kicked => {}
            _ = &mut *stop => return false,
        }
    }
    if checks > 0 {
        tracing::info!("{tid} | no longer excluded by the host's exclusion list");
    }
    true
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
