//! The snapshot half of PostgreSQL's `procarray.c`: snapshots, the running
//! check, the vacuum horizon, and removing a transaction from the array.
//!
//! Rule X4 (README.md): ids leave the process array only under
//! `ProcArrayLock` exclusive; snapshots, `is_in_progress` and `oldest_xmin`
//! read it under `ProcArrayLock` shared. So a snapshot sees a set of
//! finished transactions that is a prefix of the commit order, and the
//! `xmin` a snapshot publishes is in the slot before any transaction it
//! saw running can leave the array (vacuum cannot miss it).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::Transam;
use super::clog::ClogStatus;
use super::snapshot::{Snapshot, XactStatus, XidStatus};
use crate::process::procarray::ProcSlot;
use crate::storage::lock::LWLockMode;
use crate::storage::types::Xid;

impl Transam {
    /// Takes an MVCC snapshot for the process owning `slot` (PostgreSQL's
    /// `GetSnapshotData`) and, if the slot has no xmin yet, publishes the
    /// snapshot's xmin there (cleared at transaction end, or by
    /// [`clear_xmin`](Self::clear_xmin) between READ COMMITTED statements).
    pub fn get_snapshot(&self, slot: &ProcSlot, my_top_xid: Xid, curcid: u32) -> Snapshot {
        let _g = self.header.proc_array_lock.acquire(LWLockMode::Shared);
        let xmax = self.next_xid(); // rule X1: read before the scan
        let mut xip = Vec::new();
        for (i, s) in self.procarray.slots().iter().enumerate() {
            if std::ptr::eq(s, slot) {
                continue;
            }
            let xid = Xid(s.xid.load(Acquire));
            if !xid.is_valid() || xid >= xmax {
                continue;
            }
            xip.push(xid);
            let cache = &self.xact_procs[i];
            let n = cache.nsubxids.load(Acquire) as usize;
            for sub in &cache.subxids[..n.min(super::varsup::MAX_CACHED_SUBXIDS)] {
                let sub = Xid(sub.load(Relaxed));
                if sub.is_valid() && sub < xmax {
                    xip.push(sub);
                }
            }
        }
        xip.sort_unstable();
        let xmin = xip.first().copied().unwrap_or(xmax);
        if slot.xmin.load(Relaxed) == 0 {
            slot.xmin.store(xmin.0, Release);
        }
        Snapshot {
            xmin,
            xmax,
            xip,
            curxid: my_top_xid,
            curcid,
            own_subxids: Vec::new(),
        }
    }

    /// Forgets the slot's xmin (no snapshot of this process is in use any more).
    pub fn clear_xmin(&self, slot: &ProcSlot) {
        slot.xmin.store(0, Release);
    }

    /// The oldest xid any running transaction or live snapshot may still
    /// consider running (PostgreSQL's `GetOldestNonRemovableTransactionId`):
    /// rows deleted by transactions that committed before it are dead to all.
    pub fn oldest_xmin(&self) -> Xid {
        let _g = self.header.proc_array_lock.acquire(LWLockMode::Shared);
        let mut oldest = self.next_xid();
        for s in self.procarray.slots() {
            for v in [s.xid.load(Acquire), s.xmin.load(Acquire)] {
                if v != 0 && v < oldest.0 {
                    oldest = Xid(v);
                }
            }
        }
        oldest
    }

    /// Whether `xid` (top-level or subtransaction) belongs to a running
    /// transaction (PostgreSQL's `TransactionIdIsInProgress`). The caller's
    /// own transaction counts as running.
    pub fn is_in_progress(&self, xid: Xid) -> bool {
        if !xid.is_normal() {
            return false;
        }
        let _g = self.header.proc_array_lock.acquire(LWLockMode::Shared);
        self.procarray.slots().iter().enumerate().any(|(i, s)| {
            let top = s.xid.load(Acquire);
            if top == 0 || top > xid.0 {
                return false; // subxids are younger than their parent
            }
            if top == xid.0 {
                return true;
            }
            let cache = &self.xact_procs[i];
            let n = (cache.nsubxids.load(Acquire) as usize).min(super::varsup::MAX_CACHED_SUBXIDS);
            cache.subxids[..n]
                .iter()
                .any(|sub| sub.load(Relaxed) == xid.0)
        })
    }

    /// Removes the slot's transaction from the process array at its end
    /// (PostgreSQL's `ProcArrayEndTransaction`): subxids, xid, xmin.
    pub(crate) fn end_transaction_in_procarray(&self, slot: &ProcSlot) {
        let cache = &self.xact_procs[self.slot_index(slot)];
        let _g = self.header.proc_array_lock.acquire(LWLockMode::Exclusive);
        cache.nsubxids.store(0, Release);
        slot.xid.store(0, Release);
        slot.xmin.store(0, Release);
    }

    /// Removes rolled-back subtransaction ids from the slot's cache
    /// (PostgreSQL's `XidCacheRemoveRunningXids`).
    pub(crate) fn remove_subxids(&self, slot: &ProcSlot, gone: &[Xid]) {
        let cache = &self.xact_procs[self.slot_index(slot)];
        let _g = self.header.proc_array_lock.acquire(LWLockMode::Exclusive);
        let n = cache.nsubxids.load(Relaxed) as usize;
        let kept: Vec<u64> = cache.subxids[..n]
            .iter()
            .map(|s| s.load(Relaxed))
            .filter(|v| !gone.contains(&Xid(*v)))
            .collect();
        for (dst, v) in cache.subxids.iter().zip(&kept) {
            dst.store(*v, Relaxed);
        }
        cache.nsubxids.store(kept.len() as u32, Release);
    }

    /// The live subtransaction ids in `slot`'s cache.
    pub fn cached_subxids(&self, slot: &ProcSlot) -> Vec<Xid> {
        let cache = &self.xact_procs[self.slot_index(slot)];
        let n = cache.nsubxids.load(Acquire) as usize;
        cache.subxids[..n]
            .iter()
            .map(|s| Xid(s.load(Relaxed)))
            .collect()
    }
}

impl XactStatus for Transam {
    /// Process array first, then pg_xact (PostgreSQL's order: a transaction
    /// is marked in pg_xact before it leaves the array, rule X3). An id
    /// neither running nor marked belongs to a transaction that crashed: aborted.
    fn status(&self, xid: Xid) -> XidStatus {
        if xid == Xid::BOOTSTRAP || xid == Xid::FROZEN {
            return XidStatus::Committed;
        }
        if !xid.is_valid() {
            return XidStatus::Aborted;
        }
        if self.is_in_progress(xid) {
            return XidStatus::InProgress;
        }
        match self
            .clog
            .get_status(xid, self.wal)
            .expect("could not read pg_xact")
        {
            ClogStatus::Committed => XidStatus::Committed,
            ClogStatus::Aborted | ClogStatus::InProgress | ClogStatus::SubCommitted => {
                XidStatus::Aborted
            }
        }
    }

    /// A commit is durable once WAL is flushed past its commit record
    /// (synchronous commits always are by the time others can see them).
    fn commit_is_durable(&self, xid: Xid) -> bool {
        self.clog.commit_lsn(xid) <= self.wal.flushed_lsn()
    }
}
