//! Shared test fixtures: a full capability line as a 6.x kernel prints it, and a tcp
//! option set with host NQN and ID.

use super::{ConnectOptions, KernelCapabilities};
use crate::trid::Transport;

pub(super) const FULL_LINE: &str = "instance=-1,cntlid=-1,transport=%s,traddr=%s,trsvcid=%s,nqn=%s,queue_size=%d,nr_io_queues=%d,reconnect_delay=%d,ctrl_loss_tmo=%d,keep_alive_tmo=%d,hostnqn=%s,host_traddr=%s,host_iface=%s,hostid=%s,disable_sqflow,hdr_digest,data_digest,nr_write_queues=%d,nr_poll_queues=%d,tos=%d,fast_io_fail_tmo=%d,discovery,dhchap_secret=%s,dhchap_ctrl_secret=%s\n";
pub(super) const HOSTNQN: &str =
    "nqn.2014-08.org.nvmexpress:uuid:4b4c4c45-0044-4d10-8039-b6c04f4c3333";
pub(super) const HOSTID: &str = "4b4c4c45-0044-4d10-8039-b6c04f4c3333";

pub(super) fn caps() -> KernelCapabilities {
    KernelCapabilities::parse(FULL_LINE)
}

pub(super) fn tcp(nqn: &str, traddr: &str) -> ConnectOptions {
    ConnectOptions {
        traddr: traddr.into(),
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID.into(),
        ..ConnectOptions::new(Transport::Tcp, nqn)
    }
}
