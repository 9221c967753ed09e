//! MVCC snapshots and the transaction-status interface the heap uses
//! (PostgreSQL's `SnapshotData` for MVCC snapshots and the
//! `TransactionIdIsInProgress` / `TransactionIdDidCommit` pair).

use crate::storage::types::Xid;

/// What a visibility check needs to know about a transaction id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XidStatus {
    /// Still running (in the process array).
    InProgress,
    Committed,
    /// Rolled back, or never finished before a crash.
    Aborted,
}

/// Source of transaction status for visibility checks. The server's
/// implementation is [`super::Transam`]: process array first, then pg_xact.
pub trait XactStatus {
    fn status(&self, xid: Xid) -> XidStatus;

    /// Whether `xid`'s commit record is flushed to WAL, so that a
    /// `*_COMMITTED` hint bit may be set: with asynchronous commit a page
    /// carrying the hint could otherwise reach disk before the commit
    /// record, and the hint would outlive a transaction lost in a crash.
    fn commit_is_durable(&self, _xid: Xid) -> bool {
        true
    }
}

/// An MVCC snapshot (PostgreSQL's `SnapshotData`).
///
/// A transaction id counts as *running* for this snapshot when it is
/// `>= xmax`, or in `xip`; ids `< xmin` are all finished. The taker's own
/// transaction is not in `xip`: its changes are recognised by `curxid` /
/// `own_subxids` and ordered by command id (`curcid`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every id below this had finished when the snapshot was taken.
    pub xmin: Xid,
    /// The first id not yet assigned when the snapshot was taken.
    pub xmax: Xid,
    /// Ids (top-level and subtransaction) running at that time, sorted, each in `[xmin, xmax)`.
    pub xip: Vec<Xid>,
    /// The taker's top-level xid, `Xid::INVALID` if it has none yet.
    pub curxid: Xid,
    /// Changes made by the taker with a command id `>= curcid` are not seen.
    pub curcid: u32,
    /// The taker's live subtransaction xids (not rolled back), sorted: its
    /// own changes, like `curxid`'s. Empty when it has no savepoint that wrote.
    pub own_subxids: Vec<Xid>,
}

impl Snapshot {
    /// PostgreSQL's `XidInMVCCSnapshot`: whether `xid` was still running
    /// for this snapshot (so its effects are not visible, whatever pg_xact
    /// says now). Not meaningful for the taker's own ids.
    pub fn xid_in_snapshot(&self, xid: Xid) -> bool {
        if xid < self.xmin {
            return false;
        }
        if xid >= self.xmax {
            return true;
        }
        self.xip.binary_search(&xid).is_ok()
    }

    /// Whether `xid` is the taker's own transaction or one of its live subtransactions.
    pub fn is_own_xid(&self, xid: Xid) -> bool {
        xid.is_valid() && (xid == self.curxid || self.own_subxids.binary_search(&xid).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_in_snapshot_follows_xmin_xip_xmax() {
        let s = Snapshot {
            xmin: Xid(10),
            xmax: Xid(20),
            xip: vec![Xid(10), Xid(15)],
            curxid: Xid(17),
            curcid: 0,
            own_subxids: vec![Xid(18)],
        };
        assert!(!s.xid_in_snapshot(Xid(9)));
        assert!(s.xid_in_snapshot(Xid(10)));
        assert!(!s.xid_in_snapshot(Xid(12)));
        assert!(s.xid_in_snapshot(Xid(15)));
        assert!(s.xid_in_snapshot(Xid(20)));
        assert!(s.is_own_xid(Xid(17)) && s.is_own_xid(Xid(18)) && !s.is_own_xid(Xid(15)));
        assert!(!s.is_own_xid(Xid::INVALID));
    }
}
