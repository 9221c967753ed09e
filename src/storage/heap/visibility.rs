//! Tuple visibility: PostgreSQL's `heapam_visibility.c` (and the snapshot
//! test `XidInMVCCSnapshot` from `snapmgr.c`).
//!
//! The checks are pure: they read a decoded [`HeapTupleHeader`] and return,
//! with their answer, the hint bits ([`HintBits`]) the caller may OR into
//! `t_infomask` while it still holds the buffer's content lock
//! ([`super::page::heap_page_set_hint_bits`]). The rules are numbered in
//! `README.md`; the comments below cite them as "rule N".

use crate::storage::page::ItemPointer;
use crate::storage::types::Xid;
pub use crate::storage::xact::{Snapshot, XactStatus, XidStatus};

use super::htup::{
    CommandId, HEAP_XMAX_COMMITTED, HEAP_XMAX_INVALID, HEAP_XMIN_COMMITTED, HEAP_XMIN_INVALID,
    HeapTupleHeader,
};

// Snapshots, `XactStatus` and `XidStatus` are the transaction module's
// (`crate::storage::xact`): it owns the process array and the commit log
// they describe. `status` is only asked about normal xids; INVALID,
// BOOTSTRAP and FROZEN are answered here.

/// The status of any xid, special ones included.
fn xid_status(xacts: &dyn XactStatus, xid: Xid) -> XidStatus {
    if xid == Xid::BOOTSTRAP || xid == Xid::FROZEN {
        XidStatus::Committed
    } else if !xid.is_valid() {
        XidStatus::Aborted
    } else {
        xacts.status(xid)
    }
}

/// Hint bits a check found may be set: OR them into `t_infomask`
/// (PostgreSQL's `SetHintBits` calls, deferred to the caller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HintBits(pub u16);

impl HintBits {
    pub const NONE: HintBits = HintBits(0);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn add(&mut self, bit: u16) {
        self.0 |= bit;
    }

    /// The `*_COMMITTED` bit, only if the commit is durable (rule 9).
    fn add_committed(&mut self, bit: u16, xid: Xid, xacts: &dyn XactStatus) {
        if !xid.is_normal() || xacts.commit_is_durable(xid) {
            self.0 |= bit;
        }
    }
}

/// Of a tuple inserted by `snapshot`'s own transaction, the command id of
/// the insert, if still known (rule 6: `t_cid` is cmax once the own
/// transaction deleted the tuple, and cmin is then assumed older than any
/// running command).
fn own_cmin(tuple: &HeapTupleHeader, snapshot_cur: &dyn Fn(Xid) -> bool) -> Option<CommandId> {
    if tuple.has_deleter() && snapshot_cur(tuple.t_xmax) {
        None
    } else {
        Some(tuple.t_cid)
    }
}

/// `HeapTupleSatisfiesMVCC`: whether `snapshot` sees the tuple.
pub fn satisfies_mvcc(
    tuple: &HeapTupleHeader,
    snapshot: &Snapshot,
    xacts: &dyn XactStatus,
) -> (bool, HintBits) {
    let mut hints = HintBits::NONE;
    let is_current = |xid| snapshot.is_own_xid(xid);

    if !tuple.xmin_committed() {
        if tuple.xmin_invalid() {
            return (false, hints);
        }
        if is_current(tuple.t_xmin) {
            // Rule 5: our own insert.
            if let Some(cmin) = own_cmin(tuple, &is_current)
                && cmin >= snapshot.curcid
            {
                return (false, hints); // inserted after the scan started
            }
            if tuple.xmax_invalid() || tuple.xmax_is_locked_only() {
                return (true, hints);
            }
            if !is_current(tuple.t_xmax) {
                // Only an aborted deleter can be another transaction: no
                // one else can see our uncommitted tuple to delete it.
                if xid_status(xacts, tuple.t_xmax) == XidStatus::Aborted {
                    hints.add(HEAP_XMAX_INVALID);
                }
                return (true, hints);
            }
            // Rule 6: deleted by us as well; t_cid is cmax.
            return (tuple.t_cid >= snapshot.curcid, hints);
        }
        if snapshot.xid_in_snapshot(tuple.t_xmin) {
            return (false, hints);
        }
        match xid_status(xacts, tuple.t_xmin) {
            XidStatus::Committed => hints.add_committed(HEAP_XMIN_COMMITTED, tuple.t_xmin, xacts),
            // Not in the snapshot yet still running: it started after the
            // snapshot was taken (xid >= xmax is covered above), so this is
            // only reachable through a snapshot bug; stay conservative.
            XidStatus::InProgress => return (false, hints),
            XidStatus::Aborted => {
                hints.add(HEAP_XMIN_INVALID);
                return (false, hints);
            }
        }
    } else if !tuple.xmin_frozen() && snapshot.xid_in_snapshot(tuple.t_xmin) {
        // Committed, but after our snapshot was taken (rule 4).
        return (false, hints);
    }

    // The inserter committed and is visible to us.
    if tuple.xmax_invalid() || tuple.xmax_is_locked_only() {
        return (true, hints); // rule 7: a row lock does not hide a row
    }
    if !tuple.xmax_committed() {
        if is_current(tuple.t_xmax) {
            return (tuple.t_cid >= snapshot.curcid, hints); // deleted after scan start?
        }
        if snapshot.xid_in_snapshot(tuple.t_xmax) {
            return (true, hints);
        }
        match xid_status(xacts, tuple.t_xmax) {
            XidStatus::Committed => hints.add_committed(HEAP_XMAX_COMMITTED, tuple.t_xmax, xacts),
            XidStatus::InProgress => return (true, hints),
            XidStatus::Aborted => {
                hints.add(HEAP_XMAX_INVALID);
                return (true, hints);
            }
        }
    } else if snapshot.xid_in_snapshot(tuple.t_xmax) {
        return (true, hints); // deleter committed after our snapshot
    }
    (false, hints)
}

/// The result of [`satisfies_update`] (PostgreSQL's `TM_Result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TmResult {
    /// The tuple may be updated, deleted or locked.
    Ok,
    /// The command cannot see the tuple at all (inserted by a later command
    /// of this transaction, or by a transaction that aborted or is running).
    Invisible,
    /// Already updated or deleted by this transaction's current command (or
    /// a later one): skip it, as PostgreSQL does.
    SelfUpdated,
    /// Updated by a committed transaction; `t_ctid` points at the newer
    /// version.
    Updated,
    /// Deleted by a committed transaction.
    Deleted,
    /// Another transaction, still running, updated, deleted or locked it:
    /// wait for that xid to end, then check again.
    BeingUpdated(Xid),
}

/// `HeapTupleSatisfiesUpdate`: may the transaction `curxid`, running
/// command `curcid`, update, delete or lock the tuple at `t_self`?
/// Unlike MVCC checks it looks at live transaction status, not a snapshot
/// (rule 8); the executor checks snapshot visibility separately (and
/// REPEATABLE READ turns `Updated`/`Deleted` into `40001`).
pub fn satisfies_update(
    tuple: &HeapTupleHeader,
    t_self: ItemPointer,
    is_current_xid: &dyn Fn(Xid) -> bool,
    curcid: CommandId,
    xacts: &dyn XactStatus,
) -> (TmResult, HintBits) {
    let mut hints = HintBits::NONE;
    let is_current = |xid: Xid| xid.is_valid() && is_current_xid(xid);
    let updated_or_deleted = || {
        if tuple.t_ctid != t_self {
            TmResult::Updated
        } else {
            TmResult::Deleted
        }
    };

    if !tuple.xmin_committed() {
        if tuple.xmin_invalid() {
            return (TmResult::Invisible, hints);
        }
        if is_current(tuple.t_xmin) {
            if let Some(cmin) = own_cmin(tuple, &is_current)
                && cmin >= curcid
            {
                return (TmResult::Invisible, hints); // inserted after scan start
            }
            if tuple.xmax_invalid() {
                return (TmResult::Ok, hints);
            }
            if tuple.xmax_is_locked_only() {
                // Only we can have locked our own uncommitted tuple.
                if is_current(tuple.t_xmax)
                    || xid_status(xacts, tuple.t_xmax) != XidStatus::InProgress
                {
                    return (TmResult::Ok, hints);
                }
                return (TmResult::BeingUpdated(tuple.t_xmax), hints);
            }
            if !is_current(tuple.t_xmax) {
                if xid_status(xacts, tuple.t_xmax) == XidStatus::Aborted {
                    hints.add(HEAP_XMAX_INVALID);
                }
                return (TmResult::Ok, hints);
            }
            return if tuple.t_cid >= curcid {
                (TmResult::SelfUpdated, hints) // updated after scan start
            } else {
                (TmResult::Invisible, hints) // updated before scan start
            };
        }
        match xid_status(xacts, tuple.t_xmin) {
            XidStatus::InProgress => return (TmResult::Invisible, hints),
            XidStatus::Committed => hints.add_committed(HEAP_XMIN_COMMITTED, tuple.t_xmin, xacts),
            XidStatus::Aborted => {
                hints.add(HEAP_XMIN_INVALID);
                return (TmResult::Invisible, hints);
            }
        }
    }

    // The inserter committed.
    if tuple.xmax_invalid() {
        return (TmResult::Ok, hints);
    }
    if tuple.xmax_committed() {
        if tuple.xmax_is_locked_only() {
            return (TmResult::Ok, hints);
        }
        return (updated_or_deleted(), hints);
    }
    if is_current(tuple.t_xmax) {
        if tuple.xmax_is_locked_only() {
            // Our own row lock: PostgreSQL reports BeingModified and the
            // caller, finding the locker is itself, proceeds.
            return (TmResult::BeingUpdated(tuple.t_xmax), hints);
        }
        return if tuple.t_cid >= curcid {
            (TmResult::SelfUpdated, hints)
        } else {
            (TmResult::Invisible, hints)
        };
    }
    match xid_status(xacts, tuple.t_xmax) {
        XidStatus::InProgress => (TmResult::BeingUpdated(tuple.t_xmax), hints),
        XidStatus::Aborted => {
            hints.add(HEAP_XMAX_INVALID);
            (TmResult::Ok, hints)
        }
        XidStatus::Committed if tuple.xmax_is_locked_only() => {
            // The locker is gone; the lock means nothing now.
            hints.add(HEAP_XMAX_INVALID);
            (TmResult::Ok, hints)
        }
        XidStatus::Committed => {
            hints.add_committed(HEAP_XMAX_COMMITTED, tuple.t_xmax, xacts);
            (updated_or_deleted(), hints)
        }
    }
}

/// The result of [`satisfies_vacuum`] (PostgreSQL's `HTSV_Result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HtsvResult {
    /// Visible, or may become visible, to someone: keep.
    Live,
    /// Invisible to everyone, now and later: removable.
    Dead,
    /// Deleted by a committed transaction, but some snapshot older than the
    /// deleter may still see it: keep for now.
    RecentlyDead,
    /// The inserter is still running.
    InsertInProgress,
    /// The inserter committed; the deleter is still running.
    DeleteInProgress,
}

/// `HeapTupleSatisfiesVacuum`: what VACUUM and pruning may do with the
/// tuple, given `oldest_xmin`, the oldest xmin of any running transaction
/// or snapshot (rule 10). A deleter older than `oldest_xmin` committed
/// before every snapshot anyone still holds was taken.
pub fn satisfies_vacuum(
    tuple: &HeapTupleHeader,
    oldest_xmin: Xid,
    xacts: &dyn XactStatus,
) -> (HtsvResult, HintBits) {
    let mut hints = HintBits::NONE;

    if !tuple.xmin_committed() {
        if tuple.xmin_invalid() {
            return (HtsvResult::Dead, hints);
        }
        match xid_status(xacts, tuple.t_xmin) {
            // Always correct from others' point of view, even if the
            // inserter also deleted it (PostgreSQL says the same).
            XidStatus::InProgress => return (HtsvResult::InsertInProgress, hints),
            XidStatus::Committed => hints.add_committed(HEAP_XMIN_COMMITTED, tuple.t_xmin, xacts),
            XidStatus::Aborted => {
                hints.add(HEAP_XMIN_INVALID);
                return (HtsvResult::Dead, hints);
            }
        }
    }

    // The inserter committed: the tuple was good at some point.
    if tuple.xmax_invalid() {
        return (HtsvResult::Live, hints);
    }
    if tuple.xmax_is_locked_only() {
        // Live whatever the locker did; hint the xmax away once it is gone.
        if !tuple.xmax_committed() && xid_status(xacts, tuple.t_xmax) != XidStatus::InProgress {
            hints.add(HEAP_XMAX_INVALID);
        }
        return (HtsvResult::Live, hints);
    }
    if !tuple.xmax_committed() {
        match xid_status(xacts, tuple.t_xmax) {
            XidStatus::InProgress => return (HtsvResult::DeleteInProgress, hints),
            XidStatus::Committed => hints.add_committed(HEAP_XMAX_COMMITTED, tuple.t_xmax, xacts),
            XidStatus::Aborted => {
                hints.add(HEAP_XMAX_INVALID);
                return (HtsvResult::Live, hints);
            }
        }
    }
    if tuple.t_xmax >= oldest_xmin {
        (HtsvResult::RecentlyDead, hints)
    } else {
        (HtsvResult::Dead, hints)
    }
}

#[cfg(test)]
mod tests;
