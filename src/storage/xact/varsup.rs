//! Transaction id allocation (PostgreSQL's `varsup.c`) and the shared part
//! of the transaction machinery: `XidGenLock`, `ProcArrayLock`, the next xid
//! and each process's subtransaction-id cache.
//!
//! Ordering rules (numbered as in README.md):
//!
//! - X1. An xid is stored in its owner's slot (`ProcSlot.xid`, or the
//!   subxid cache) *before* `next_xid` moves past it (Release), both under
//!   `XidGenLock`. A snapshot reads `next_xid` (Acquire) before scanning the
//!   slots, so every id below its `xmax` that is still running is in a slot
//!   it scans. The owner stamps tuples with the id only after `assign_xid`
//!   returns, so anyone who sees a tuple's xid also sees it in the slot.
//! - X2. The clog page of a new id is created (ZEROPAGE) before the id is
//!   handed out, under `XidGenLock`.

use std::sync::atomic::{
    AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

use super::Transam;
use crate::process::procarray::{ProcArray, ProcSlot};
use crate::storage::lock::{LWLock, LWLockMode};
use crate::storage::types::Xid;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::Settings;

/// Subtransaction ids cached per process (PostgreSQL's `PGPROC_MAX_CACHED_SUBXIDS`).
/// ferrogres has no pg_subtrans to overflow into, so this is also the limit
/// on live subtransactions that write (ERROR 54000 beyond).
pub const MAX_CACHED_SUBXIDS: usize = 64;

#[repr(C)]
pub(crate) struct TransamHeader {
    /// Serialises xid assignment (rules X1, X2).
    pub xid_gen_lock: LWLock,
    /// Shared by snapshot takers and `oldest_xmin`; exclusive to remove ids
    /// from the process array (transaction end, ROLLBACK TO). Rule X4.
    pub proc_array_lock: LWLock,
    _pad: u64,
    /// Next id to assign. Written under `xid_gen_lock` (Release), read anywhere (Acquire).
    pub next_xid: AtomicU64,
}

/// One process's subtransaction ids (PostgreSQL's `XidCache`), indexed like
/// the process array. Entries `[0, nsubxids)` are valid while the slot's
/// `xid` is set. Appended by the owner (entry first, then count, Release,
/// under `xid_gen_lock`); shrunk only under `proc_array_lock` exclusive.
#[repr(C)]
pub(crate) struct XactProc {
    pub nsubxids: AtomicU32,
    _pad: u32,
    pub subxids: [AtomicU64; MAX_CACHED_SUBXIDS],
}

pub(crate) fn region_size(settings: &Settings) -> usize {
    std::mem::size_of::<TransamHeader>().div_ceil(8) * 8
        + ProcArray::slot_count(settings) * std::mem::size_of::<XactProc>()
}

/// # Safety
/// `base`: `region_size(settings)` zeroed bytes, cache-line aligned, unused by anyone else.
pub(crate) unsafe fn init(base: *mut u8, settings: &Settings) {
    // SAFETY: forwarded from the caller.
    let (header, _) = unsafe { parts(base, settings) };
    header.next_xid.store(Xid::FIRST_NORMAL.0, Relaxed);
}

/// # Safety
/// `base` is the start of the region for these settings, mapped for the life of the process.
pub(crate) unsafe fn parts(
    base: *mut u8,
    settings: &Settings,
) -> (&'static TransamHeader, &'static [XactProc]) {
    let procs_at = std::mem::size_of::<TransamHeader>().div_ceil(8) * 8;
    // SAFETY: the caller guarantees the layout; all-zero is valid for every atomic.
    unsafe {
        (
            &*(base as *const TransamHeader),
            std::slice::from_raw_parts(
                base.add(procs_at) as *const XactProc,
                ProcArray::slot_count(settings),
            ),
        )
    }
}

impl Transam {
    /// Index of `slot` in the process array.
    pub(crate) fn slot_index(&self, slot: &ProcSlot) -> usize {
        let base = self.procarray.slots().as_ptr() as usize;
        let i = (slot as *const ProcSlot as usize - base) / std::mem::size_of::<ProcSlot>();
        assert!(
            i < self.xact_procs.len(),
            "slot is not in this process array"
        );
        i
    }

    /// The next xid to be assigned (PostgreSQL's `ReadNextFullTransactionId`).
    pub fn next_xid(&self) -> Xid {
        Xid(self.header.next_xid.load(Acquire))
    }

    /// Sets the next xid: the startup process, from the checkpoint record,
    /// before anyone assigns ids.
    pub fn set_next_xid(&self, xid: Xid) {
        assert!(xid.is_normal(), "next xid {xid} is not a normal xid");
        let _g = self.header.xid_gen_lock.acquire(LWLockMode::Exclusive);
        self.header.next_xid.store(xid.0, Release);
    }

    /// Moves the next xid past `xid` if needed (redo of any record carrying
    /// an xid: PostgreSQL's `AdvanceNextFullTransactionIdPastXid`).
    pub fn advance_next_xid_past(&self, xid: Xid) {
        if !xid.is_normal() || xid.0 < self.header.next_xid.load(Acquire) {
            return;
        }
        let _g = self.header.xid_gen_lock.acquire(LWLockMode::Exclusive);
        if xid.0 >= self.header.next_xid.load(Relaxed) {
            self.header.next_xid.store(xid.0 + 1, Release);
        }
    }

    /// Takes the next id under `XidGenLock`, creating its clog page first
    /// when it is the page's first id (rule X2), publishes it with `publish`
    /// (rule X1), then moves `next_xid` past it.
    fn allocate(&self, publish: impl FnOnce(Xid)) -> Xid {
        let _g = self.header.xid_gen_lock.acquire(LWLockMode::Exclusive);
        let xid = Xid(self.header.next_xid.load(Relaxed));
        assert!(xid.is_normal(), "next_xid {xid} not initialised");
        if xid.0 % super::clog::CLOG_XACTS_PER_PAGE == 0 || xid == Xid::FIRST_NORMAL {
            // PostgreSQL ERRORs out here too (ExtendCLOG runs before the id is
            // used); the id is simply not handed out.
            self.clog
                .zero_page(super::clog::page_of(xid), self.wal, true)
                .expect("could not extend pg_xact");
        }
        publish(xid);
        self.header.next_xid.store(xid.0 + 1, Release);
        xid
    }

    /// Assigns a top-level transaction id to the process owning `slot` and
    /// stores it in `slot.xid` before anyone can see it (PostgreSQL's
    /// `GetNewTransactionId`). The caller then takes the xid's lock
    /// ([`super::TransactionState`] does both).
    pub fn assign_xid(&self, slot: &ProcSlot) -> Xid {
        assert_eq!(
            slot.xid.load(Relaxed),
            0,
            "process already has a transaction id"
        );
        let cache = &self.xact_procs[self.slot_index(slot)];
        self.allocate(|xid| {
            cache.nsubxids.store(0, Relaxed);
            slot.xid.store(xid.0, Release);
        })
    }

    /// Assigns a subtransaction id under the running top-level transaction
    /// of `slot` and adds it to the slot's subxid cache. ERROR 54000 when the
    /// cache is full (see [`MAX_CACHED_SUBXIDS`]).
    pub fn assign_subxid(&self, slot: &ProcSlot) -> PgResult<Xid> {
        let parent = slot.xid.load(Relaxed);
        assert_ne!(parent, 0, "subtransaction id without a top-level id");
        let cache = &self.xact_procs[self.slot_index(slot)];
        let n = cache.nsubxids.load(Relaxed) as usize;
        if n >= MAX_CACHED_SUBXIDS {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("cannot have more than {MAX_CACHED_SUBXIDS} subtransactions that modify data in a transaction"),
            )
            .with_hint("Release or roll back savepoints that wrote before starting new ones."));
        }
        Ok(self.allocate(|xid| {
            cache.subxids[n].store(xid.0, Relaxed);
            cache.nsubxids.store(n as u32 + 1, Release);
        }))
    }
}
