//! Transactions: ids, commit status, snapshots (PostgreSQL's `varsup.c`,
//! `clog.c`/`slru.c`, the snapshot half of `procarray.c`, and the low level
//! of `xact.c`).
//!
//! ```text
//!   backend (TransactionState)                 shared memory
//!   ─────────────────────────                  ─────────────────────────────────
//!   begin()                                    Transam region:
//!   xid_for_write() ── assign_xid ──────────►    XidGenLock, ProcArrayLock, next_xid
//!        │             (slot.xid, then           XactProc[slot]: subxid cache (64)
//!        │              next_xid; rule X1)     ProcArray slots: xid, xmin, latch
//!        └─ ExclusiveLock on TransactionId(xid) ──► LockTable (storage::lock::lmgr)
//!   snapshot() ────── get_snapshot ─────────►  scan slots under ProcArrayLock shared
//!   commit() ──► COMMIT record ─► flush ─► pg_xact COMMITTED ─► leave ProcArray ─► release locks
//!   abort()  ──► ABORT record ──────────► pg_xact ABORTED   ─► leave ProcArray ─► release locks
//!                                          Clog region: pg_xact pages, LRU, control lock
//! ```
//!
//! Transaction ids are 64-bit (no wraparound, no epoch): `next_xid` only
//! grows, and ids are compared with `<`.
//!
//! Visibility questions are answered in PostgreSQL's order — "is it still
//! running?" from the process array, then "did it commit?" from pg_xact —
//! which is correct because a transaction is marked in pg_xact before it
//! leaves the process array (rule X3). A transaction that is neither
//! running nor marked crashed: it counts as aborted.
//!
//! Subtransactions (SAVEPOINT) that write get their own xid, cached in the
//! owner's shared `XactProc` entry so snapshots see them as running. A
//! rolled-back subtransaction is marked ABORTED at ROLLBACK TO; the others
//! are marked COMMITTED with their parent, listed in its commit record.
//! With no pg_subtrans, the cache is also the limit: 64 live writing
//! subtransactions per transaction (ERROR 54000 beyond).
//!
//! Crash behaviour: nothing here survives a crash-restart except pg_xact
//! files; the startup process rebuilds pg_xact from WAL through
//! [`xact_redo`] / [`clog_redo`] and sets the next xid with
//! [`set_next_xid`] (and [`advance_next_xid_past`] for every record's xid).
//! The numbered rules are in README.md beside this file.

mod clog;
mod procarray;
mod record;
mod snapshot;
mod varsup;
#[allow(clippy::module_inception)]
mod xact;

#[cfg(test)]
mod tests;

pub use clog::{CLOG_XACTS_PER_PAGE, Clog, ClogStatus, SLRU_PAGES_PER_SEGMENT, segment_name};
pub use record::{
    CLOG_TRUNCATE, CLOG_ZEROPAGE, ServerWal, XLOG_XACT_ABORT, XLOG_XACT_COMMIT, XactRecord, XactWal,
};
pub use snapshot::{Snapshot, XactStatus, XidStatus};
pub use varsup::MAX_CACHED_SUBXIDS;
pub use xact::{TransactionState, xact_lock_table_wait};

use crate::process::procarray::ProcArray;
use crate::storage::types::{Lsn, Xid};
use crate::utils::elog::PgResult;
use crate::utils::guc::Settings;

/// The shared transaction machinery as one process sees it: the Transam
/// and Clog regions, the process array, and the WAL to log to. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Transam {
    pub(crate) header: &'static varsup::TransamHeader,
    pub(crate) xact_procs: &'static [varsup::XactProc],
    pub clog: Clog,
    pub procarray: ProcArray,
    pub wal: &'static dyn XactWal,
}

/// Region of the shared xid counter, ProcArrayLock and subxid caches.
pub const TRANSAM_REGION: crate::storage::shmem::Region = crate::storage::shmem::Region {
    name: "Transam",
    size: varsup::region_size,
    init: varsup::init,
};

/// Region of the pg_xact page cache.
pub const CLOG_REGION: crate::storage::shmem::Region = Clog::REGION;

impl Transam {
    /// The machinery of this server process (global segment, real WAL).
    pub fn get() -> Transam {
        use crate::storage::shmem::{RegionId, get};
        let seg = get();
        seg.transam(|| {
            // SAFETY: both regions were initialised by their `init` with the
            // segment's settings, and the segment outlives the process's use
            // of it.
            unsafe {
                Transam::from_raw(
                    seg.region(RegionId::Transam),
                    seg.region(RegionId::Clog),
                    seg.settings(),
                    seg.procarray(),
                    &ServerWal,
                )
            }
        })
    }

    /// # Safety
    /// `transam` and `clog` are the starts of the regions described by
    /// [`TRANSAM_REGION`] and [`CLOG_REGION`] for `settings`, initialised,
    /// and mapped for the life of the process; `procarray` is the same
    /// segment's process array.
    pub unsafe fn from_raw(
        transam: *mut u8,
        clog: *mut u8,
        settings: &Settings,
        procarray: ProcArray,
        wal: &'static dyn XactWal,
    ) -> Transam {
        // SAFETY: forwarded from the caller.
        let (header, xact_procs) = unsafe { varsup::parts(transam, settings) };
        assert_eq!(
            xact_procs.len(),
            procarray.slots().len(),
            "Transam region sized for another process array"
        );
        // SAFETY: forwarded from the caller.
        let clog = unsafe { Clog::from_raw(clog, settings) };
        Transam {
            header,
            xact_procs,
            clog,
            procarray,
            wal,
        }
    }

    /// `clog_checkpoint`: writes every dirty pg_xact page and fsyncs.
    pub fn clog_checkpoint(&self) -> PgResult<()> {
        self.clog.checkpoint(self.wal)
    }

    /// pg_xact status bits of `xid`, without the process-array check.
    pub fn clog_status(&self, xid: Xid) -> PgResult<ClogStatus> {
        self.clog.get_status(xid, self.wal)
    }
}

// -- Server-process entry points (global segment) -----------------------------

/// Next xid to be assigned.
pub fn next_xid() -> Xid {
    Transam::get().next_xid()
}

/// Startup: the next xid from the checkpoint (before the server opens).
pub fn set_next_xid(xid: Xid) {
    Transam::get().set_next_xid(xid)
}

/// Startup: for every replayed record's xid.
pub fn advance_next_xid_past(xid: Xid) {
    Transam::get().advance_next_xid_past(xid)
}

/// Redo of an Xact (RmgrId::Xact) record.
pub fn xact_redo(info: u8, main_data: &[u8]) {
    Transam::get().xact_redo(info, main_data)
}

/// Redo of a Clog (RmgrId::Clog) record.
pub fn clog_redo(info: u8, main_data: &[u8]) {
    Transam::get().clog_redo(info, main_data)
}

/// Checkpointer / shutdown: write back pg_xact.
pub fn clog_checkpoint() -> PgResult<()> {
    Transam::get().clog_checkpoint()
}

/// Vacuum horizon.
pub fn oldest_xmin() -> Xid {
    Transam::get().oldest_xmin()
}

/// Hint-bit rule for asynchronous commits: a page may carry a "committed"
/// hint for `xid` only once WAL is flushed past this LSN.
pub fn commit_lsn(xid: Xid) -> Lsn {
    Transam::get().clog.commit_lsn(xid)
}
