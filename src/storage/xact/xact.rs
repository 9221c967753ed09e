//! Commit and abort (PostgreSQL's `RecordTransactionCommit` /
//! `RecordTransactionAbort` and `ProcArrayEndTransaction`), their redo, and
//! the per-backend transaction state: lazily assigned xids, savepoints,
//! command ids and transaction-id locks (the low level of `xact.c`).

use std::sync::atomic::Ordering::Relaxed;

use super::Transam;
use super::clog::ClogStatus;
use super::record::{XLOG_XACT_ABORT, XLOG_XACT_COMMIT, XactRecord};
use super::snapshot::Snapshot;
use crate::process::procarray::ProcSlot;
use crate::storage::lock::lmgr::{LockManager, LockMode, LockResult, LockTag};
use crate::storage::types::{Lsn, Xid};
use crate::storage::wal::RmgrId;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Marks the caller inside a critical section for the crash rules: a panic
/// here is a PANIC (the postmaster restarts the server).
struct CritSection<'a>(&'a ProcSlot);

impl<'a> CritSection<'a> {
    fn enter(slot: &'a ProcSlot) -> CritSection<'a> {
        slot.crit_section_depth.fetch_add(1, Relaxed);
        CritSection(slot)
    }
}

impl Drop for CritSection<'_> {
    fn drop(&mut self) {
        self.0.crit_section_depth.fetch_sub(1, Relaxed);
    }
}

impl Transam {
    /// Commits `xid` with its live subtransactions `subxids` (rules C1–C4 of
    /// README.md, in this order):
    /// 1. insert the COMMIT record (xid, timestamp, subxids);
    /// 2. synchronous: flush WAL through it; else wake the walwriter;
    /// 3. mark xid and subxids COMMITTED in pg_xact (page LSN = the record's end);
    /// 4. remove the transaction from the process array (ProcArrayLock exclusive).
    ///
    /// The caller releases the transaction's locks afterwards (step 5).
    /// Returns the commit record's end LSN. A failure here is a PANIC, as in
    /// PostgreSQL: the commit record may already be durable.
    pub fn commit(&self, slot: &ProcSlot, xid: Xid, subxids: &[Xid], synchronous: bool) -> Lsn {
        assert!(xid.is_normal(), "committing invalid xid {xid}");
        assert_eq!(
            slot.xid.load(Relaxed),
            xid.0,
            "committing a transaction this slot does not run"
        );
        let _crit = CritSection::enter(slot);
        let record = XactRecord {
            xid,
            timestamp: crate::utils::time::now_timestamptz(),
            subxids: subxids.to_vec(),
        };
        let lsn = self
            .wal
            .insert(RmgrId::Xact, XLOG_XACT_COMMIT, xid, &record.encode());
        if synchronous {
            self.wal
                .flush(lsn)
                .unwrap_or_else(|e| panic!("PANIC: could not flush WAL for commit of {xid}: {e}"));
        } else {
            self.wal.wake_writer();
        }
        let mut all = subxids.to_vec();
        all.push(xid);
        self.clog
            .set_status(&all, ClogStatus::Committed, lsn, self.wal)
            .unwrap_or_else(|e| {
                panic!(
                    "PANIC: could not mark {xid} committed in pg_xact: {}",
                    e.message
                )
            });
        self.end_transaction_in_procarray(slot);
        lsn
    }

    /// Aborts `xid` and the subtransactions `subxids` not already aborted
    /// (PostgreSQL's `RecordTransactionAbort`): ABORT record (not flushed: a
    /// transaction missing from WAL after a crash is aborted anyway), pg_xact
    /// ABORTED, then out of the process array.
    pub fn abort(&self, slot: &ProcSlot, xid: Xid, subxids: &[Xid]) {
        assert!(xid.is_normal(), "aborting invalid xid {xid}");
        let _crit = CritSection::enter(slot);
        let record = XactRecord {
            xid,
            timestamp: crate::utils::time::now_timestamptz(),
            subxids: subxids.to_vec(),
        };
        self.wal
            .insert(RmgrId::Xact, XLOG_XACT_ABORT, xid, &record.encode());
        let mut all = subxids.to_vec();
        all.push(xid);
        self.clog
            .set_status(&all, ClogStatus::Aborted, Lsn::INVALID, self.wal)
            .unwrap_or_else(|e| {
                panic!(
                    "PANIC: could not mark {xid} aborted in pg_xact: {}",
                    e.message
                )
            });
        self.end_transaction_in_procarray(slot);
    }

    /// ROLLBACK TO SAVEPOINT: aborts the subtransaction ids `subxids` (ABORT
    /// record naming them, pg_xact ABORTED) and removes them from the slot's
    /// cache, while the top-level transaction goes on.
    pub fn abort_subxids(&self, slot: &ProcSlot, subxids: &[Xid]) {
        let Some((&first, rest)) = subxids.split_first() else {
            return;
        };
        let _crit = CritSection::enter(slot);
        let record = XactRecord {
            xid: first,
            timestamp: crate::utils::time::now_timestamptz(),
            subxids: rest.to_vec(),
        };
        self.wal
            .insert(RmgrId::Xact, XLOG_XACT_ABORT, first, &record.encode());
        self.clog
            .set_status(subxids, ClogStatus::Aborted, Lsn::INVALID, self.wal)
            .unwrap_or_else(|e| {
                panic!(
                    "PANIC: could not mark subtransactions aborted in pg_xact: {}",
                    e.message
                )
            });
        self.remove_subxids(slot, subxids);
    }

    /// Redo of an Xact record (PostgreSQL's `xact_redo`): sets pg_xact and
    /// moves `next_xid` past the ids named.
    pub fn xact_redo(&self, info: u8, main_data: &[u8]) {
        let rec = XactRecord::decode(main_data).expect("malformed Xact WAL record");
        let status = match info & 0x70 {
            XLOG_XACT_COMMIT => ClogStatus::Committed,
            XLOG_XACT_ABORT => ClogStatus::Aborted,
            other => panic!("xact_redo: unknown op code {other:#x}"),
        };
        let mut all = rec.subxids.clone();
        all.push(rec.xid);
        for &x in &all {
            self.advance_next_xid_past(x);
        }
        self.clog
            .set_status(&all, status, Lsn::INVALID, self.wal)
            .expect("could not set pg_xact status in redo");
    }

    /// Redo of a Clog record (PostgreSQL's `clog_redo`).
    pub fn clog_redo(&self, info: u8, main_data: &[u8]) {
        self.clog
            .redo(info, main_data, self.wal)
            .expect("could not redo pg_xact page");
    }
}

/// One open subtransaction (SAVEPOINT level).
#[derive(Debug, Default)]
struct SubXact {
    /// Its own xid, INVALID until it writes.
    xid: Xid,
    /// Xids of released (subcommitted) subtransactions nested in it.
    children: Vec<Xid>,
}

/// A backend's transaction (the low level of PostgreSQL's `xact.c`):
/// owns the process's [`LockManager`], assigns xids lazily at the first
/// write, keeps the savepoint stack, and ends the transaction following the
/// commit/abort protocol. One per backend process; not shared.
pub struct TransactionState {
    transam: Transam,
    slot: &'static ProcSlot,
    /// The process's heavyweight locks (the executor takes relation and
    /// tuple locks through it too).
    pub locks: LockManager,
    in_transaction: bool,
    top_xid: Xid,
    /// Xids of subtransactions released into the top level.
    top_children: Vec<Xid>,
    /// Open savepoints; `levels[0]` is nesting level 1.
    levels: Vec<SubXact>,
    curcid: u32,
}

impl TransactionState {
    pub fn new(transam: Transam, slot: &'static ProcSlot, locks: LockManager) -> TransactionState {
        TransactionState {
            transam,
            slot,
            locks,
            in_transaction: false,
            top_xid: Xid::INVALID,
            top_children: Vec::new(),
            levels: Vec::new(),
            curcid: 0,
        }
    }

    /// The transaction state of this server process (global segment, own slot).
    pub fn for_this_process() -> TransactionState {
        let slot = crate::process::my_slot().expect("transactions need a process-array slot");
        TransactionState::new(Transam::get(), slot, LockManager::for_this_process())
    }

    pub fn transam(&self) -> &Transam {
        &self.transam
    }

    /// Starts a transaction (BEGIN, or the implicit one of a statement).
    /// No xid yet: it is assigned at the first write.
    pub fn begin(&mut self) {
        assert!(!self.in_transaction, "BEGIN inside a transaction");
        assert_eq!(
            self.slot.xid.load(Relaxed),
            0,
            "slot still has an xid at BEGIN"
        );
        self.in_transaction = true;
        self.curcid = 0;
    }

    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// The top-level xid, INVALID if the transaction has not written.
    pub fn top_xid(&self) -> Xid {
        self.top_xid
    }

    /// Current subtransaction nesting level (0 = top).
    pub fn nest_level(&self) -> u32 {
        self.levels.len() as u32
    }

    /// The xid to stamp on tuples written now, assigning it (and the
    /// top-level one) at first use, each with its ExclusiveLock on itself
    /// (PostgreSQL's `GetCurrentTransactionId` / `AssignTransactionId`).
    pub fn xid_for_write(&mut self) -> PgResult<Xid> {
        assert!(self.in_transaction, "writing outside a transaction");
        if !self.top_xid.is_valid() {
            let xid = self.transam.assign_xid(self.slot);
            self.top_xid = xid;
            self.lock_own_xid(xid, 0)?;
        }
        let level = self.levels.len() as u32;
        let Some(cur) = self.levels.last() else {
            return Ok(self.top_xid);
        };
        if cur.xid.is_valid() {
            return Ok(cur.xid);
        }
        let sub = self.transam.assign_subxid(self.slot)?;
        self.levels.last_mut().expect("checked above").xid = sub;
        self.lock_own_xid(sub, level)?;
        Ok(sub)
    }

    fn lock_own_xid(&mut self, xid: Xid, level: u32) -> PgResult<()> {
        self.locks.set_nest_level(level);
        let r = self.locks.lock_acquire(
            LockTag::TransactionId(xid),
            LockMode::Exclusive,
            true,
            &mut || Ok(()),
        );
        self.locks.set_nest_level(self.levels.len() as u32);
        assert_eq!(
            r?,
            LockResult::Granted,
            "someone holds the lock of fresh xid {xid}"
        );
        Ok(())
    }

    /// Live subtransaction xids (not rolled back), unsorted.
    fn live_subxids(&self) -> Vec<Xid> {
        let mut out = self.top_children.clone();
        for l in &self.levels {
            if l.xid.is_valid() {
                out.push(l.xid);
            }
            out.extend_from_slice(&l.children);
        }
        out
    }

    /// Whether `xid` is this transaction's (PostgreSQL's
    /// `TransactionIdIsCurrentTransactionId`): top-level or a live subtransaction.
    pub fn is_current_xid(&self, xid: Xid) -> bool {
        xid.is_valid() && (xid == self.top_xid || self.live_subxids().contains(&xid))
    }

    /// The current command id.
    pub fn command_id(&self) -> u32 {
        self.curcid
    }

    /// `CommandCounterIncrement`: later commands see earlier ones' changes.
    pub fn command_counter_increment(&mut self) -> PgResult<u32> {
        if self.curcid == u32::MAX - 1 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                "cannot have more than 2^32-2 commands in a transaction",
            ));
        }
        self.curcid += 1;
        Ok(self.curcid)
    }

    /// A snapshot for the current command (per statement under READ
    /// COMMITTED, once per transaction under REPEATABLE READ).
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self
            .transam
            .get_snapshot(self.slot, self.top_xid, self.curcid);
        s.own_subxids = self.live_subxids();
        s.own_subxids.sort_unstable();
        s
    }

    /// What the catalog snapshot of `catalog::syscache` needs to take a
    /// snapshot of this transaction later in the statement.
    pub fn snapshot_source(&self) -> crate::catalog::syscache::SnapshotSource {
        let mut own_subxids = self.live_subxids();
        own_subxids.sort_unstable();
        crate::catalog::syscache::SnapshotSource {
            slot: self.slot,
            top_xid: self.top_xid,
            curcid: self.curcid,
            own_subxids,
        }
    }

    /// READ COMMITTED between statements: no snapshot is in use, so the
    /// process's xmin need not hold back vacuum.
    pub fn reset_xmin(&self) {
        self.transam.clear_xmin(self.slot);
    }

    /// SAVEPOINT: opens a subtransaction; returns its nesting level (1-based),
    /// which the backend maps the savepoint name to.
    pub fn savepoint(&mut self) -> u32 {
        assert!(self.in_transaction, "SAVEPOINT outside a transaction");
        self.levels.push(SubXact::default());
        let level = self.levels.len() as u32;
        self.locks.set_nest_level(level);
        level
    }

    /// RELEASE SAVEPOINT of nesting level `level`: that subtransaction and
    /// those inside it end; their xids and locks pass to the parent and
    /// commit or abort with it.
    pub fn release_savepoint(&mut self, level: u32) {
        assert!(
            level >= 1 && level as usize <= self.levels.len(),
            "no savepoint at level {level}"
        );
        let mut merged = Vec::new();
        for l in self.levels.drain(level as usize - 1..) {
            if l.xid.is_valid() {
                merged.push(l.xid);
            }
            merged.extend(l.children);
        }
        match self.levels.last_mut() {
            Some(parent) => parent.children.extend(merged),
            None => self.top_children.extend(merged),
        }
        self.locks.reassign_to_parent(level);
        self.locks.set_nest_level(level - 1);
    }

    /// ROLLBACK TO SAVEPOINT of nesting level `level`: the subtransactions
    /// at `level` and deeper are aborted (pg_xact ABORTED, out of the process
    /// array, their locks released: waiters on their xids wake up), and the
    /// savepoint stays, as an empty subtransaction at `level`.
    pub fn rollback_to_savepoint(&mut self, level: u32) {
        assert!(
            level >= 1 && level as usize <= self.levels.len(),
            "no savepoint at level {level}"
        );
        let mut doomed = Vec::new();
        for l in self.levels.drain(level as usize - 1..) {
            if l.xid.is_valid() {
                doomed.push(l.xid);
            }
            doomed.extend(l.children);
        }
        self.transam.abort_subxids(self.slot, &doomed);
        self.locks.release_subxact(level);
        self.levels.push(SubXact::default());
        self.locks.set_nest_level(level);
    }

    /// COMMIT (PostgreSQL's `CommitTransaction`, low level): the commit
    /// protocol if the transaction wrote, then every lock released and the
    /// xmin cleared. Returns the commit record's LSN (INVALID if read-only).
    pub fn commit(&mut self, synchronous_commit: bool) -> Lsn {
        assert!(self.in_transaction, "COMMIT outside a transaction");
        let lsn = if self.top_xid.is_valid() {
            let subxids = self.live_subxids();
            self.transam
                .commit(self.slot, self.top_xid, &subxids, synchronous_commit)
        } else {
            self.transam.clear_xmin(self.slot);
            Lsn::INVALID
        };
        self.finish();
        lsn
    }

    /// ROLLBACK, or the abort after an error (PostgreSQL's `AbortTransaction`
    /// + `CleanupTransaction`). Safe to call when no transaction is open.
    pub fn abort(&mut self) {
        if self.top_xid.is_valid() {
            let subxids = self.live_subxids();
            self.transam.abort(self.slot, self.top_xid, &subxids);
        } else {
            self.transam.clear_xmin(self.slot);
        }
        self.finish();
    }

    fn finish(&mut self) {
        // Step 5: locks go after the process array no longer shows us running,
        // so a woken waiter sees the final status.
        self.locks.release_all();
        self.in_transaction = false;
        self.top_xid = Xid::INVALID;
        self.top_children.clear();
        self.levels.clear();
        self.curcid = 0;
    }

    /// Waits until transaction `xid` (top-level or subtransaction) has ended
    /// (PostgreSQL's `XactLockTableWait`): ShareLock on its xid lock, then
    /// released at once. Interrupts, lock_timeout and deadlock errors end the wait.
    pub fn xact_lock_table_wait(
        &mut self,
        xid: Xid,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<()> {
        xact_lock_table_wait(&mut self.locks, xid, check_interrupts)
    }

    /// As [`xact_lock_table_wait`](Self::xact_lock_table_wait) without
    /// waiting (`NOWAIT`): false if `xid` is still running.
    pub fn conditional_xact_lock_table_wait(&mut self, xid: Xid) -> PgResult<bool> {
        let tag = LockTag::TransactionId(xid);
        match self
            .locks
            .lock_acquire(tag, LockMode::Share, true, &mut || Ok(()))?
        {
            LockResult::NotAvailable => Ok(false),
            _ => {
                self.locks.lock_release(tag, LockMode::Share);
                Ok(true)
            }
        }
    }
}

/// `XactLockTableWait` for callers holding only a [`LockManager`].
pub fn xact_lock_table_wait(
    locks: &mut LockManager,
    xid: Xid,
    check_interrupts: &mut dyn FnMut() -> PgResult<()>,
) -> PgResult<()> {
    let tag = LockTag::TransactionId(xid);
    assert!(
        !locks.holds(tag, LockMode::Exclusive),
        "waiting for our own transaction {xid}"
    );
    locks.lock_acquire(tag, LockMode::Share, false, check_interrupts)?;
    locks.lock_release(tag, LockMode::Share);
    Ok(())
}
