//! Fault injection: rules installed on a running simulator, matched per connection and per
//! command.

use std::time::Duration;

use crate::status::Status;

/// Which commands a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmdMatch {
    /// Every command (Fabrics included).
    Any,
    /// An admin opcode (e.g. 0x02 Get Log Page, 0x18 Keep Alive).
    Admin(u8),
    /// An I/O opcode (e.g. 0x01 Write, 0x02 Read).
    Io(u8),
    /// A Fabrics command type (0x00 Property Set, 0x01 Connect, 0x04 Property Get, ...).
    Fabrics(u8),
}

impl CmdMatch {
    pub(crate) fn matches(&self, cmd: &CmdKey) -> bool {
        match (*self, *cmd) {
            (Self::Any, _) => true,
            (Self::Admin(op), CmdKey::Admin(o)) | (Self::Io(op), CmdKey::Io(o)) => op == o,
            (Self::Fabrics(t), CmdKey::Fabrics(f)) => t == f,
            _ => false,
        }
    }
}

/// A received command, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmdKey {
    Admin(u8),
    Io(u8),
    Fabrics(u8),
}

/// A malformed or protocol-violating PDU sent instead of a command's response. The
/// connection stays open afterwards so the host's H2CTermReq can be observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedPdu {
    /// Reserved PDU type 0x08.
    UnknownType,
    /// CapsuleResp with HLEN 32.
    BadHlen,
    /// CapsuleResp header announcing a PLEN of 2 GiB (only the header is sent).
    PlenTooLarge,
    /// CapsuleResp with a non-zero PDO.
    BadPdo,
    /// C2HData with SUCCESS but without LAST_PDU.
    SuccessWithoutLast,
    /// C2HData whose DATAO lies beyond the command's transfer.
    DataOutOfRange,
    /// R2T for a command that has nothing to write.
    UnexpectedR2t,
    /// A CapsuleResp for a CID that is not outstanding.
    UnknownCid,
    /// CapsuleResp whose HDGSTF flag disagrees with the negotiated header digest.
    DigestFlagMismatch,
}

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the TCP connection when command number N+1 arrives on it (N answered).
    DropAfterCommands(u64),
    /// Close the TCP connection (FIN), without answering, when a matching command arrives.
    DropOnCommand(CmdMatch),
    /// Reset the TCP connection (RST), without answering, when a matching command arrives
    /// (e.g. `CmdMatch::Fabrics(0x01)`: refuse Connect at the TCP level).
    ResetOnCommand(CmdMatch),
    /// Hold matching responses for this long (other traffic keeps flowing).
    Delay { cmd: CmdMatch, delay: Duration },
    /// Flip the header digest of the first PDU answering a matching command (only when
    /// header digests were negotiated).
    CorruptHeaderDigest(CmdMatch),
    /// Flip the data digest of the first C2HData answering a matching command (only when
    /// data digests were negotiated).
    CorruptDataDigest(CmdMatch),
    /// Send a malformed PDU instead of the response.
    Malformed { cmd: CmdMatch, kind: MalformedPdu },
    /// Fail Fabrics Connect with this status (e.g. [`Status::CONNECT_CTRL_BUSY`]).
    RefuseConnect(Status),
    /// Reset (RST) new TCP connections right after accept.
    ResetOnAccept,
    /// Receive Keep Alive (the timer is still reset) but never answer it.
    IgnoreKeepAlive,
    /// Never answer a matching command.
    NeverAnswer(CmdMatch),
    /// Complete a matching command with this status.
    FailCommand { cmd: CmdMatch, status: Status },
    /// Change the discovery log generation counter after every discovery Get Log Page.
    UnstableGenctr,
}

/// Which connections a rule applies to; unset fields match anything. A field that is set
/// matches only once the connection knows it (host and subsystem NQN and QID are known
/// from Fabrics Connect on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultTarget {
    /// Connection id (see [`crate::SimHandle::next_connection_id`]).
    pub connection: Option<u64>,
    pub hostnqn: Option<String>,
    pub subnqn: Option<String>,
    pub qid: Option<u16>,
}

impl FaultTarget {
    /// Every connection.
    pub fn all() -> Self {
        Self::default()
    }

    /// One connection.
    pub fn connection(id: u64) -> Self {
        Self {
            connection: Some(id),
            ..Self::default()
        }
    }

    pub(crate) fn matches(&self, ctx: &MatchCtx<'_>) -> bool {
        fn field<T: PartialEq + ?Sized>(want: Option<&T>, have: Option<&T>) -> bool {
            match (want, have) {
                (None, _) => true,
                (Some(w), Some(h)) => w == h,
                (Some(_), None) => false,
            }
        }
        field(self.connection.as_ref(), Some(&ctx.connection))
            && field(self.hostnqn.as_deref(), ctx.hostnqn)
            && field(self.subnqn.as_deref(), ctx.subnqn)
            && field(self.qid.as_ref(), ctx.qid.as_ref())
    }
}

/// What a connection knows about itself when rules are matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatchCtx<'a> {
    pub connection: u64,
    pub hostnqn: Option<&'a str>,
    pub subnqn: Option<&'a str>,
    pub qid: Option<u16>,
}

/// A fault with its scope and how many times it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub fault: Fault,
    pub target: FaultTarget,
    /// Fire at most this many times, then the rule is removed (`None` = forever).
    pub times: Option<u32>,
}

impl FaultRule {
    /// `fault` on every connection, forever.
    pub fn global(fault: Fault) -> Self {
        Self {
            fault,
            target: FaultTarget::all(),
            times: None,
        }
    }

    /// `fault` on connection `id` only.
    pub fn on_connection(id: u64, fault: Fault) -> Self {
        Self {
            fault,
            target: FaultTarget::connection(id),
            times: None,
        }
    }

    /// Limits the rule to `n` firings.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Replaces the target.
    pub fn target(mut self, target: FaultTarget) -> Self {
        self.target = target;
        self
    }
}

/// Handle of an installed rule, for [`crate::SimHandle::remove_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub(crate) u64);

/// Everything the rules say about one command.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Effects {
    pub drop_now: bool,
    pub reset_now: bool,
    pub delay: Option<Duration>,
    pub corrupt_hdgst: bool,
    pub corrupt_ddgst: bool,
    pub malformed: Option<MalformedPdu>,
    pub never_answer: bool,
    pub fail: Option<Status>,
    pub refuse_connect: Option<Status>,
    pub unstable_genctr: bool,
}

/// Installed rules, in installation order.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    rules: Vec<(FaultId, FaultRule)>,
    next_id: u64,
}

impl FaultSet {
    pub fn insert(&mut self, rule: FaultRule) -> FaultId {
        self.next_id += 1;
        let id = FaultId(self.next_id);
        self.rules.push((id, rule));
        id
    }

    pub fn remove(&mut self, id: FaultId) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(i, _)| *i != id);
        before != self.rules.len()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<(FaultId, FaultRule)> {
        self.rules.clone()
    }

    /// Fires every matching rule for which `pick` returns true, consuming one use of
    /// each; `pick` sees the rule's fault and records its effect.
    /// Returns how many rules fired.
    fn fire(&mut self, ctx: &MatchCtx<'_>, mut pick: impl FnMut(&Fault) -> bool) -> u64 {
        let mut fired = 0;
        for (_, rule) in &mut self.rules {
            if rule.times == Some(0) || !rule.target.matches(ctx) {
                continue;
            }
            if pick(&rule.fault) {
                fired += 1;
                if let Some(n) = rule.times.as_mut() {
                    *n -= 1;
                }
            }
        }
        self.rules.retain(|(_, r)| r.times != Some(0));
        fired
    }

    /// True if a new connection must be reset.
    pub fn on_accept(&mut self, connection: u64) -> bool {
        let ctx = MatchCtx {
            connection,
            hostnqn: None,
            subnqn: None,
            qid: None,
        };
        let mut reset = false;
        self.fire(&ctx, |f| {
            let hit = !reset && matches!(f, Fault::ResetOnAccept);
            reset |= hit;
            hit
        });
        reset
    }

    /// Effects for command `cmd`, which is number `count` (1-based) on its connection,
    /// and how many rules fired.
    pub fn on_command(&mut self, ctx: &MatchCtx<'_>, cmd: CmdKey, count: u64) -> (Effects, u64) {
        let mut e = Effects::default();
        let fired = self.fire(ctx, |f| match *f {
            Fault::DropAfterCommands(n) if count > n && !e.drop_now => {
                e.drop_now = true;
                true
            }
            Fault::DropOnCommand(m) if m.matches(&cmd) && !e.drop_now => {
                e.drop_now = true;
                true
            }
            Fault::ResetOnCommand(m) if m.matches(&cmd) && !e.reset_now => {
                e.reset_now = true;
                true
            }
            Fault::Delay { cmd: m, delay } if m.matches(&cmd) => {
                e.delay = Some(e.delay.map_or(delay, |d| d.max(delay)));
                true
            }
            Fault::CorruptHeaderDigest(m) if m.matches(&cmd) && !e.corrupt_hdgst => {
                e.corrupt_hdgst = true;
                true
            }
            Fault::CorruptDataDigest(m) if m.matches(&cmd) && !e.corrupt_ddgst => {
                e.corrupt_ddgst = true;
                true
            }
            Fault::Malformed { cmd: m, kind } if m.matches(&cmd) && e.malformed.is_none() => {
                e.malformed = Some(kind);
                true
            }
            Fault::RefuseConnect(status)
                if cmd == CmdKey::Fabrics(0x01) && e.refuse_connect.is_none() =>
            {
                e.refuse_connect = Some(status);
                true
            }
            Fault::IgnoreKeepAlive if cmd == CmdKey::Admin(0x18) && !e.never_answer => {
                e.never_answer = true;
                true
            }
            Fault::NeverAnswer(m) if m.matches(&cmd) && !e.never_answer => {
                e.never_answer = true;
                true
            }
            Fault::FailCommand { cmd: m, status } if m.matches(&cmd) && e.fail.is_none() => {
                e.fail = Some(status);
                true
            }
            Fault::UnstableGenctr if cmd == CmdKey::Admin(0x02) && !e.unstable_genctr => {
                e.unstable_genctr = true;
                true
            }
            _ => false,
        });
        (e, fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(connection: u64) -> MatchCtx<'static> {
        MatchCtx {
            connection,
            hostnqn: Some("h"),
            subnqn: None,
            qid: Some(0),
        }
    }

    #[test]
    fn times_limit_and_removal() {
        let mut set = FaultSet::default();
        set.insert(FaultRule::global(Fault::NeverAnswer(CmdMatch::Admin(6))).times(2));
        for _ in 0..2 {
            assert!(set.on_command(&ctx(1), CmdKey::Admin(6), 1).0.never_answer);
        }
        assert!(!set.on_command(&ctx(1), CmdKey::Admin(6), 1).0.never_answer);
        assert!(set.list().is_empty());
    }

    #[test]
    fn targets_match_known_fields_only() {
        let mut t = FaultTarget::connection(3);
        assert!(t.matches(&ctx(3)) && !t.matches(&ctx(4)));
        t.subnqn = Some("s".into());
        assert!(!t.matches(&ctx(3)), "subnqn unknown yet");
        let t = FaultTarget {
            hostnqn: Some("h".into()),
            qid: Some(0),
            ..FaultTarget::default()
        };
        assert!(t.matches(&ctx(9)));
    }

    #[test]
    fn non_matching_rules_do_not_consume() {
        let mut set = FaultSet::default();
        set.insert(FaultRule::global(Fault::DropOnCommand(CmdMatch::Io(1))).times(1));
        assert!(!set.on_command(&ctx(1), CmdKey::Admin(1), 1).0.drop_now);
        assert!(set.on_command(&ctx(1), CmdKey::Io(1), 2).0.drop_now);
        assert!(!set.on_command(&ctx(1), CmdKey::Io(1), 3).0.drop_now);
    }

    #[test]
    fn drop_after_counts_commands() {
        let mut set = FaultSet::default();
        set.insert(FaultRule::global(Fault::DropAfterCommands(2)));
        assert!(!set.on_command(&ctx(1), CmdKey::Admin(6), 2).0.drop_now);
        assert!(set.on_command(&ctx(1), CmdKey::Admin(6), 3).0.drop_now);
        assert!(!set.on_accept(1));
    }
}
