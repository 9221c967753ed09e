//! The heap access method (PostgreSQL's `heapam.c`, `hio.c`, and the
//! storage half of `catalog/storage.c`): relation files, inserting,
//! scanning, following update chains, and the row-level protocol of
//! UPDATE / DELETE / SELECT FOR SHARE|UPDATE — pins, content locks, tuple
//! locks, waiting for transactions, and WAL. Page-level work is
//! [`super::page`]'s, WAL records and their redo are [`super::redo`]'s;
//! the numbered rules are in `README.md` beside this file (H1–H12).
//!
//! # Handles
//!
//! Every operation is a method of [`HeapStorage`] — the buffer pool and
//! the WAL it writes through. The free functions (`heap_insert`, ...) are
//! the contract the catalog and executor use; they run on this process's
//! pool and WAL ([`HeapStorage::this_process`]). Tests build a
//! `HeapStorage` on a private shared mapping.
//!
//! # Changing a row (README H5–H9)
//!
//! ```text
//!  pin page ─► lock exclusive ─► satisfies_update(header, live xact status)
//!     ▲            │  Ok ──────────────► [critical section: change page, WAL, LSN, dirty]
//!     │            │  BeingUpdated(x) ─► unlock; tuple lock (heavyweight); wait for x's end
//!     └────────────┘                     (XactLockTableWait: deadlocks, cancel surface here)
//!                  │  Updated/Deleted ─► RR (crosscheck): 40001; RC: TmOutcome::Updated/Deleted
//!                  │  SelfUpdated ─────► TmOutcome::SelfModified
//!                  └  Invisible ───────► XX000 attempted to update invisible tuple
//! ```
//!
//! # What is left out (see README H12)
//!
//! No visibility map (the free space map is consulted by inserts, README
//! H3), no HOT, no TOAST, no MultiXacts (concurrent FOR
//! SHARE lockers beyond the one recorded in `t_xmax` hold the heavyweight
//! tuple lock instead), no visibility map.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

use crate::process::procarray::ProcSlot;
use crate::storage::buffer::{self, BufferLockGuard, BufferLockMode, BufferPool, PinnedBuffer};
use crate::storage::fsm;
use crate::storage::heap::{CommandId, HeapValue, TupleDesc};
use crate::storage::lock::lmgr::{LockManager, LockMode, LockTag};
use crate::storage::page::{ItemPointer, OffsetNumber, Page, PageRef, maxalign};
use crate::storage::types::{
    BLCKSZ, BlockNumber, BufferTag, ForkNumber, Lsn, Oid, RelFileLocator, Xid,
};
use crate::storage::wal::{self, BlockRef, DecodedRecord, RmgrId, Wal};
use crate::storage::xact::{Snapshot, XactStatus, XidStatus, xact_lock_table_wait};
use crate::utils::elog::{PgError, PgResult, sqlstate};

use super::htup::{
    HEAP_LOCK_MASK, HEAP_UPDATED, HEAP_XACT_HINT_MASK, HEAP_XMAX_EXCL_LOCK, HEAP_XMAX_LOCK_ONLY,
    HEAP_XMAX_SHR_LOCK, HEAP_XMIN_FROZEN, HeapTupleHeader, SIZEOF_HEAP_TUPLE_HEADER,
};
use super::page::{
    heap_page_add_tuple, heap_page_free_space, heap_page_set_cmax, heap_page_set_ctid,
    heap_page_set_hint_bits, heap_page_set_xmax, heap_prepare_insert,
};
use super::redo::{
    self, XLOG_HEAP_DELETE, XLOG_HEAP_FPI_FOR_HINT, XLOG_HEAP_INIT_PAGE, XLOG_HEAP_INSERT,
    XLOG_HEAP_LOCK, XLOG_HEAP_UPDATE, XLOG_SMGR_CREATE, XlHeapDelete, XlHeapInsert, XlHeapLock,
    XlHeapUpdate, XlSmgrCreate,
};
use super::tuple::{deform_tuple, form_tuple};
use super::visibility::{HintBits, TmResult, satisfies_mvcc, satisfies_update};

#[cfg(test)]
pub(crate) mod tests;

/// What the heap needs to know about a relation.
#[derive(Clone, Debug)]
pub struct HeapRelation {
    /// pg_class oid (lock tags, messages).
    pub oid: Oid,
    /// Database oid for lock tags (0 for shared catalogs).
    pub db_oid: Oid,
    pub name: String,
    pub locator: RelFileLocator,
    pub desc: TupleDesc,
}

/// The writer's side of a change: who writes, and how to wait.
pub struct WriteContext<'a> {
    pub xid: Xid,
    pub cid: CommandId,
    /// The transaction's snapshot in REPEATABLE READ: a row changed by a
    /// transaction it cannot see raises 40001. None in READ COMMITTED.
    pub crosscheck: Option<&'a Snapshot>,
    pub xact: &'a dyn XactStatus,
    pub locks: &'a mut LockManager,
    pub check_interrupts: &'a mut dyn FnMut() -> PgResult<()>,
}

/// Outcome of UPDATE / DELETE / SELECT FOR UPDATE on one row (TM_Result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TmOutcome {
    Ok,
    /// Already changed by this transaction's current or a later command.
    SelfModified,
    /// Updated by a committed concurrent transaction: the newest version is at `newer`.
    Updated {
        newer: ItemPointer,
    },
    /// Deleted by a committed concurrent transaction.
    Deleted,
}

/// What the uniqueness check found at a tuple id ([`HeapStorage::fetch_dirty`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirtyTuple {
    /// Gone, or never was: no conflict.
    Dead,
    /// Committed (or this transaction's) and not deleted: a conflict.
    Live,
    /// Another transaction is inserting or deleting it: wait for its end
    /// and look again.
    InProgress(Xid),
}

/// Row lock strength for SELECT ... FOR SHARE / FOR UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLockMode {
    Share,
    Update,
}

// ---------------------------------------------------------------------------
// The contract: this process's pool and WAL
// ---------------------------------------------------------------------------

/// Creates the relation's main fork (and `base/<db>/` if missing) and
/// WAL-logs the creation, so that redo recreates the file.
///
/// Not undone on abort: the caller (relcache) must call
/// [`heap_drop_storage`] if the creating transaction aborts, as
/// PostgreSQL's pending-deletes list does.
pub fn heap_create_storage(rel: &HeapRelation) -> PgResult<()> {
    HeapStorage::this_process().create_storage(rel)
}

/// Forgets the relation's buffers and removes its files. Call it only
/// after the dropping transaction committed (PostgreSQL defers the unlink
/// to commit too), holding AccessExclusiveLock. Not WAL-logged (README H11).
pub fn heap_drop_storage(rel: &HeapRelation) -> PgResult<()> {
    HeapStorage::this_process().drop_storage(rel)
}

/// Inserts a row as `xid`, command `cid`; returns its tuple id.
/// `54000` if the row does not fit on a page.
pub fn heap_insert(
    rel: &HeapRelation,
    values: &[HeapValue],
    xid: Xid,
    cid: CommandId,
) -> PgResult<ItemPointer> {
    HeapStorage::this_process().insert(rel, values, xid, cid)
}

/// Calls `visit` with every row `snapshot` sees, in physical order, until
/// it returns false. The relation's length is taken at the start.
pub fn heap_scan(
    rel: &HeapRelation,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
    visit: &mut dyn FnMut(ItemPointer, Vec<HeapValue>) -> PgResult<bool>,
) -> PgResult<()> {
    HeapStorage::this_process().scan(rel, snapshot, xact, visit)
}

/// EvalPlanQual's fetch: the newest version of the row at `tid`,
/// following `t_ctid` through committed updaters; None if the row was
/// deleted (or its chain pruned). A version whose updater is still running
/// (this transaction included) or aborted is returned as is: UPDATE /
/// DELETE / lock on it then waits or reports `SelfModified`.
pub fn heap_fetch_latest(
    rel: &HeapRelation,
    tid: ItemPointer,
    xact: &dyn XactStatus,
) -> PgResult<Option<(ItemPointer, Vec<HeapValue>)>> {
    HeapStorage::this_process().fetch_latest(rel, tid, xact)
}

/// DELETE of the row version at `tid`.
pub fn heap_delete(
    rel: &HeapRelation,
    tid: ItemPointer,
    cx: &mut WriteContext<'_>,
) -> PgResult<TmOutcome> {
    HeapStorage::this_process().delete(rel, tid, cx)
}

/// UPDATE of the row version at `tid` to `values`; on success also the new
/// version's tuple id.
pub fn heap_update(
    rel: &HeapRelation,
    tid: ItemPointer,
    values: &[HeapValue],
    cx: &mut WriteContext<'_>,
) -> PgResult<(TmOutcome, Option<ItemPointer>)> {
    HeapStorage::this_process().update(rel, tid, values, cx)
}

/// SELECT ... FOR SHARE / FOR UPDATE of the row version at `tid`.
pub fn heap_lock_tuple(
    rel: &HeapRelation,
    tid: ItemPointer,
    mode: RowLockMode,
    cx: &mut WriteContext<'_>,
) -> PgResult<TmOutcome> {
    HeapStorage::this_process().lock_tuple(rel, tid, mode, cx)
}

/// Redo of a `RmgrId::Heap` or `RmgrId::Storage` record, for the startup
/// process. A failure is a PANIC (the startup process dies and the server
/// does not open), as a redo error is in PostgreSQL.
pub fn heap_redo(rec: &DecodedRecord) {
    if let Err(e) = redo::redo_with(buffer::pool(), rec) {
        match &e.detail {
            // A block's failure names the record and block (redo's CONTEXT).
            Some(context) => panic!("PANIC: {}\nCONTEXT:  {context}", e.message),
            None => panic!("PANIC: {}", e.message),
        }
    }
}

/// Redo of a `RmgrId::Storage` record alone ([`heap_redo`] takes those too).
pub fn storage_redo(rec: &DecodedRecord) {
    if let Err(e) = redo::storage_redo_with(crate::storage::smgr::smgr(), rec) {
        panic!("PANIC: {}", e.message);
    }
}

// ---------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------

/// The WAL as the heap uses it: the redo-pointer protocol for page changes
/// (WAL README rule 2) and plain inserts for records without pages.
pub trait HeapWal: Sync {
    fn redo_pointer(&self) -> Lsn;
    fn needs_full_page_image(&self, page_lsn: Lsn) -> bool;
    /// None: a checkpoint moved the redo pointer; decide images again.
    fn insert_if_redo_unchanged(
        &self,
        decided_with_redo: Lsn,
        rmgr: RmgrId,
        info: u8,
        xid: Xid,
        main_data: &[u8],
        blocks: &[BlockRef<'_>],
    ) -> Option<Lsn>;
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn;
    /// Makes the WAL durable up to `upto` (before a file is truncated).
    fn flush(&self, upto: Lsn) -> PgResult<()>;
}

/// This server process's WAL (the `wal::` functions on the global segment).
pub struct ServerHeapWal;

impl HeapWal for ServerHeapWal {
    fn redo_pointer(&self) -> Lsn {
        wal::redo_pointer()
    }
    fn needs_full_page_image(&self, page_lsn: Lsn) -> bool {
        wal::needs_full_page_image(page_lsn)
    }
    fn insert_if_redo_unchanged(
        &self,
        decided_with_redo: Lsn,
        rmgr: RmgrId,
        info: u8,
        xid: Xid,
        main_data: &[u8],
        blocks: &[BlockRef<'_>],
    ) -> Option<Lsn> {
        wal::insert_if_redo_unchanged(decided_with_redo, rmgr, info, xid, main_data, blocks)
    }
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn {
        wal::insert(rmgr, info, xid, main_data, &[])
    }
    fn flush(&self, upto: Lsn) -> PgResult<()> {
        wal::flush(upto).map_err(wal_flush_error)
    }
}

fn wal_flush_error(e: std::io::Error) -> PgError {
    PgError::error(
        sqlstate::IO_ERROR,
        format!("could not flush write-ahead log: {e}"),
    )
}

/// A WAL handle of its own (tests, tools).
impl HeapWal for Wal {
    fn redo_pointer(&self) -> Lsn {
        Wal::redo_pointer(self)
    }
    fn needs_full_page_image(&self, page_lsn: Lsn) -> bool {
        Wal::needs_full_page_image(self, page_lsn)
    }
    fn insert_if_redo_unchanged(
        &self,
        decided_with_redo: Lsn,
        rmgr: RmgrId,
        info: u8,
        xid: Xid,
        main_data: &[u8],
        blocks: &[BlockRef<'_>],
    ) -> Option<Lsn> {
        self.insert_record(rmgr, info, xid, main_data, blocks, Some(decided_with_redo))
            .map(|(_, end)| end)
    }
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn {
        self.insert_record(rmgr, info, xid, main_data, &[], None)
            .expect("an unconditional insert always succeeds")
            .1
    }
    fn flush(&self, upto: Lsn) -> PgResult<()> {
        Wal::flush(self, upto).map_err(wal_flush_error)
    }
}

/// The buffer pool and WAL the heap works through.
#[derive(Clone, Copy)]
pub struct HeapStorage<'a> {
    pub pool: &'a BufferPool,
    pub wal: &'a dyn HeapWal,
}

impl HeapStorage<'static> {
    /// This process's pool (`buffer::pool()`) and WAL.
    pub fn this_process() -> HeapStorage<'static> {
        HeapStorage {
            pool: buffer::pool(),
            wal: &ServerHeapWal,
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// Bound on the per-process insert-target cache ("a limit on everything").
const TARGET_CACHE_LIMIT: usize = 1024;
/// Bound on the `t_ctid` hops [`HeapStorage::fetch_latest`] follows.
const MAX_CHAIN_HOPS: usize = 1 << 20;
/// Bound on the attempts to find a page with room for one tuple.
const MAX_PLACEMENT_TRIES: usize = 1000;
/// Bound on the free-space-map candidates one insert looks at.
const MAX_FSM_TRIES: usize = 8;

thread_local! {
    /// The block each relation's last insert went to (PostgreSQL keeps it
    /// in the relcache: `rd_targblock`). A hint: checked against the
    /// relation's length before use. Per process (and per thread, for tests).
    static TARGET_BLOCK: RefCell<HashMap<RelFileLocator, BlockNumber>> = RefCell::new(HashMap::new());
}

fn cached_target(rel: RelFileLocator) -> Option<BlockNumber> {
    TARGET_BLOCK.with(|m| m.borrow().get(&rel).copied())
}

fn set_cached_target(rel: RelFileLocator, block: BlockNumber) {
    TARGET_BLOCK.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= TARGET_CACHE_LIMIT && !m.contains_key(&rel) {
            m.clear();
        }
        m.insert(rel, block);
    });
}

fn forget_cached_target(rel: RelFileLocator) {
    TARGET_BLOCK.with(|m| m.borrow_mut().remove(&rel));
}

pub(super) fn main_tag(rel: &HeapRelation, block: BlockNumber) -> BufferTag {
    BufferTag {
        rel: rel.locator,
        fork: ForkNumber::Main,
        block,
    }
}

fn internal(msg: String) -> PgError {
    PgError::error(sqlstate::INTERNAL_ERROR, msg)
}

fn invalid_tid(rel: &HeapRelation, tid: ItemPointer) -> PgError {
    internal(format!(
        "invalid tuple id {tid} in relation \"{}\"",
        rel.name
    ))
}

fn corrupt_tuple(rel: &HeapRelation, tid: ItemPointer, what: &str) -> PgError {
    PgError::error(
        sqlstate::DATA_CORRUPTED,
        format!("corrupted tuple {tid} in relation \"{}\": {what}", rel.name),
    )
}

/// The tuple at `off` of block `blkno`, or None if the offset is out of
/// range or its line pointer holds no tuple. A tuple too broken to decode
/// is `XX001`.
pub(super) fn tuple_at<'p>(
    page: &'p PageRef<'_>,
    rel: &HeapRelation,
    blkno: BlockNumber,
    off: OffsetNumber,
) -> PgResult<Option<&'p [u8]>> {
    if off == 0 || off > page.max_offset() || !page.item_id(off).is_normal() {
        return Ok(None);
    }
    let t = page.get_item(off);
    let tid = ItemPointer::new(blkno, off);
    if t.len() < SIZEOF_HEAP_TUPLE_HEADER {
        return Err(corrupt_tuple(
            rel,
            tid,
            &format!("{} bytes is shorter than a tuple header", t.len()),
        ));
    }
    let h = HeapTupleHeader::read(t);
    if (h.t_hoff as usize) < SIZEOF_HEAP_TUPLE_HEADER || h.t_hoff as usize > t.len() {
        return Err(corrupt_tuple(
            rel,
            tid,
            &format!("t_hoff {} in a tuple of {} bytes", h.t_hoff, t.len()),
        ));
    }
    if h.natts() > rel.desc.natts() {
        return Err(corrupt_tuple(
            rel,
            tid,
            &format!(
                "{} attributes stored, the relation has {}",
                h.natts(),
                rel.desc.natts()
            ),
        ));
    }
    Ok(Some(t))
}

/// Whether a new tuple of `need` (MAXALIGNed) bytes fits on the page; a
/// new page (all zeros) is initialised by the insert.
fn page_has_room(page: &[u8; BLCKSZ], need: usize) -> bool {
    let page = Page::new(page);
    page.is_new() || heap_page_free_space(&page) >= need
}

/// `t_xmax` is a FOR SHARE locker: other share lockers may exist that
/// could not be recorded (no MultiXacts) and hold the heavyweight tuple
/// lock in Share mode instead (README H8). Whatever the locker's fate: the
/// unrecorded ones may outlive it.
fn may_have_share_lockers(h: &HeapTupleHeader) -> bool {
    h.t_xmax.is_valid()
        && h.xmax_is_locked_only()
        && h.t_infomask & HEAP_LOCK_MASK == HEAP_XMAX_SHR_LOCK
}

/// The parts of a header that only change under an exclusive lock.
fn header_identity(h: &HeapTupleHeader) -> (Xid, Xid, ItemPointer, u16) {
    (
        h.t_xmin,
        h.t_xmax,
        h.t_ctid,
        h.t_infomask & !HEAP_XACT_HINT_MASK,
    )
}

/// `TransactionIdIsCurrentTransactionId` for a writer: its own xid, or one
/// whose transaction lock it holds (its top-level xid and live
/// subtransactions: every transaction holds ExclusiveLock on its xids, xact
/// README X5).
fn is_current_xid(cx: &WriteContext<'_>, xid: Xid) -> bool {
    xid.is_valid()
        && (xid == cx.xid
            || cx
                .locks
                .holds(LockTag::TransactionId(xid), LockMode::Exclusive))
}

/// The status of any xid, special ones included.
fn xid_status(xact: &dyn XactStatus, xid: Xid) -> XidStatus {
    if xid == Xid::BOOTSTRAP || xid == Xid::FROZEN {
        XidStatus::Committed
    } else if !xid.is_valid() {
        XidStatus::Aborted
    } else {
        xact.status(xid)
    }
}

/// A critical section for the crash rules (DESIGN §2): a panic inside is a
/// PANIC. Recorded in this process's slot when it has one.
pub(crate) struct CritSection(Option<&'static ProcSlot>);

impl CritSection {
    pub(crate) fn enter() -> CritSection {
        let slot = crate::process::my_slot();
        if let Some(s) = slot {
            s.crit_section_depth.fetch_add(1, Relaxed);
        }
        CritSection(slot)
    }
}

impl Drop for CritSection {
    fn drop(&mut self) {
        if let Some(s) = self.0 {
            s.crit_section_depth.fetch_sub(1, Relaxed);
        }
    }
}

/// The heavyweight tuple lock a row operation may take (README H7).
struct TupleLock {
    tag: LockTag,
    held: Option<LockMode>,
    /// Kept until the end of the transaction: an unrecorded FOR SHARE lock.
    keep: bool,
}

impl TupleLock {
    fn new(rel: &HeapRelation, tid: ItemPointer) -> TupleLock {
        TupleLock {
            tag: LockTag::Tuple {
                db: rel.db_oid,
                rel: rel.oid,
                block: tid.block(),
                offset: tid.offset(),
            },
            held: None,
            keep: false,
        }
    }

    /// Takes the lock in `mode` unless one is held already (waiting, with
    /// deadlock detection and interrupts).
    fn acquire(&mut self, cx: &mut WriteContext<'_>, mode: LockMode) -> PgResult<()> {
        if self.held.is_none() {
            cx.locks
                .lock_acquire(self.tag, mode, false, &mut *cx.check_interrupts)?;
            self.held = Some(mode);
        }
        Ok(())
    }

    fn release(&mut self, locks: &mut LockManager) {
        if let Some(mode) = self.held.take()
            && !self.keep
        {
            locks.lock_release(self.tag, mode);
        }
    }
}

/// One block of a WAL-logged change: its locked buffer, the block data,
/// and whether the change initialised the page.
pub(super) struct LogBlock<'g, 'a> {
    pub(super) guard: &'g mut BufferLockGuard<'a>,
    pub(super) data: &'g [u8],
    pub(super) will_init: bool,
}

/// 40001 for REPEATABLE READ, else the outcome for the executor.
fn concurrently_changed(
    cx: &WriteContext<'_>,
    h: &HeapTupleHeader,
    res: TmResult,
) -> PgResult<TmOutcome> {
    let deleted = res == TmResult::Deleted;
    if cx.crosscheck.is_some() {
        let what = if deleted { "delete" } else { "update" };
        return Err(PgError::error(
            sqlstate::SERIALIZATION_FAILURE,
            format!("could not serialize access due to concurrent {what}"),
        ));
    }
    Ok(if deleted {
        TmOutcome::Deleted
    } else {
        TmOutcome::Updated { newer: h.t_ctid }
    })
}

/// `XactLockTableWait`, then the interrupt check: the caller loops back
/// to look at the tuple again, and that loop must stay cancellable.
fn wait_for_xact(cx: &mut WriteContext<'_>, xid: Xid) -> PgResult<()> {
    xact_lock_table_wait(cx.locks, xid, &mut *cx.check_interrupts)?;
    (cx.check_interrupts)()
}

fn check_writer(rel: &HeapRelation, cx: &WriteContext<'_>) -> PgResult<()> {
    if !cx.xid.is_normal() {
        return Err(internal(format!(
            "cannot change relation \"{}\" without a transaction id (xid {})",
            rel.name, cx.xid
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The access method
// ---------------------------------------------------------------------------

impl<'a> HeapStorage<'a> {
    /// Pins the block of `tid`, or None if the relation has no such block.
    /// A block in the buffer pool exists (truncation drops buffers before
    /// it cuts the file), so only a miss asks the file's length.
    fn pin_tid_block(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
    ) -> PgResult<Option<PinnedBuffer<'a>>> {
        if !tid.is_valid() {
            return Ok(None);
        }
        let tag = main_tag(rel, tid.block());
        if let Some(pin) = self.pool.read_buffer_if_resident(tag) {
            return Ok(Some(pin));
        }
        if tid.block() >= self.nblocks(rel)? {
            return Ok(None);
        }
        Ok(Some(self.pool.read_buffer(tag)?))
    }

    pub(super) fn nblocks(&self, rel: &HeapRelation) -> PgResult<BlockNumber> {
        self.pool.smgr().nblocks(rel.locator, ForkNumber::Main)
    }

    /// See [`heap_create_storage`].
    pub fn create_storage(&self, rel: &HeapRelation) -> PgResult<()> {
        let smgr = self.pool.smgr();
        redo::ensure_database_dir(smgr, rel.locator)?;
        smgr.create(rel.locator, ForkNumber::Main, false)?;
        let xl = XlSmgrCreate {
            rel: rel.locator,
            fork: ForkNumber::Main,
        };
        self.wal.insert(
            RmgrId::Storage,
            XLOG_SMGR_CREATE,
            Xid::INVALID,
            &xl.encode(),
        );
        forget_cached_target(rel.locator);
        Ok(())
    }

    /// See [`heap_drop_storage`].
    pub fn drop_storage(&self, rel: &HeapRelation) -> PgResult<()> {
        self.pool.drop_relation_buffers(rel.locator)?;
        self.pool.smgr().unlink(rel.locator)?;
        forget_cached_target(rel.locator);
        Ok(())
    }

    /// Redo of a Heap or Storage record into this pool.
    pub fn redo(&self, rec: &DecodedRecord) -> PgResult<()> {
        redo::redo_with(self.pool, rec)
    }

    // -- WAL ------------------------------------------------------------------

    /// Logs a change already made to the locked pages (WAL README rule 2):
    /// images decided against the redo pointer, retried if a checkpoint
    /// moved it; then every page's LSN becomes the record's end. Called in
    /// a critical section, after `mark_dirty`.
    pub(super) fn log_change(
        &self,
        info: u8,
        xid: Xid,
        main: &[u8],
        blocks: &mut [LogBlock<'_, '_>],
    ) -> Lsn {
        let end = loop {
            let redo = self.wal.redo_pointer();
            let refs: Vec<BlockRef<'_>> = blocks
                .iter()
                .map(|b| {
                    let page: &[u8; BLCKSZ] = b.guard.page();
                    let image = (!b.will_init
                        && self.wal.needs_full_page_image(Page::new(page).lsn()))
                    .then_some(page);
                    BlockRef {
                        tag: b.guard.tag(),
                        image,
                        data: if image.is_some() { &[] } else { b.data },
                    }
                })
                .collect();
            if let Some(end) =
                self.wal
                    .insert_if_redo_unchanged(redo, RmgrId::Heap, info, xid, main, &refs)
            {
                break end;
            }
        };
        for b in blocks.iter_mut() {
            let mut page = Page::new(b.guard.page_mut());
            page.set_lsn(end);
            // Every page is checked before it is written and after it is
            // read; after each change only in debug builds (the tests):
            // the check sorts the line pointers, a cost per row.
            if cfg!(debug_assertions) {
                page.assert_valid();
            }
        }
        end
    }

    /// Sets hint bits under the exclusive lock (README H4).
    fn set_hints(&self, g: &mut BufferLockGuard<'_>, off: OffsetNumber, hints: HintBits) {
        if hints.is_empty() {
            return;
        }
        heap_page_set_hint_bits(&mut Page::new(g.page_mut()), off, hints);
        self.hint_dirtied(g);
    }

    /// `MarkBufferDirtyHint`: with `data_checksums`, the first change of a
    /// page after the redo point logs the page first (`FPI_FOR_HINT`), or
    /// a torn write could leave a page whose checksum fails.
    pub(super) fn hint_dirtied(&self, g: &mut BufferLockGuard<'_>) {
        assert_eq!(
            g.mode(),
            BufferLockMode::Exclusive,
            "hint bits are set under the exclusive lock here"
        );
        if self.pool.data_checksums() {
            loop {
                let redo = self.wal.redo_pointer();
                if !self.wal.needs_full_page_image(g.lsn()) {
                    break;
                }
                let refs = [BlockRef {
                    tag: g.tag(),
                    image: Some(g.page()),
                    data: &[],
                }];
                if let Some(end) = self.wal.insert_if_redo_unchanged(
                    redo,
                    RmgrId::Heap,
                    XLOG_HEAP_FPI_FOR_HINT,
                    Xid::INVALID,
                    &[],
                    &refs,
                ) {
                    Page::new(g.page_mut()).set_lsn(end);
                    break;
                }
            }
        }
        g.mark_dirty_hint();
    }

    // -- Insert ---------------------------------------------------------------

    /// See [`heap_insert`].
    pub fn insert(
        &self,
        rel: &HeapRelation,
        values: &[HeapValue],
        xid: Xid,
        cid: CommandId,
    ) -> PgResult<ItemPointer> {
        self.insert_with(rel, values, xid, cid, false)
    }

    /// [`HeapStorage::insert`]; `frozen` stores the tuple with
    /// `HEAP_XMIN_FROZEN` (PostgreSQL's `HEAP_INSERT_FROZEN`, for COPY
    /// FREEZE): visible to every snapshot at once, which is only right
    /// for a relation file no other transaction can see yet.
    pub fn insert_with(
        &self,
        rel: &HeapRelation,
        values: &[HeapValue],
        xid: Xid,
        cid: CommandId,
        frozen: bool,
    ) -> PgResult<ItemPointer> {
        if values.len() != rel.desc.natts() {
            return Err(internal(format!(
                "{} values for the {} attributes of relation \"{}\"",
                values.len(),
                rel.desc.natts(),
                rel.name
            )));
        }
        if !xid.is_valid() {
            return Err(internal(format!(
                "cannot insert into \"{}\" without a transaction id",
                rel.name
            )));
        }
        let mut tuple = form_tuple(&rel.desc, values)?;
        heap_prepare_insert(&mut tuple, xid, cid);
        if frozen {
            let mut h = HeapTupleHeader::read(&tuple);
            h.t_infomask |= HEAP_XMIN_FROZEN;
            h.write(&mut tuple);
        }
        let need = maxalign(tuple.len());

        // The last target of this process while it is in the pool (so it
        // exists: no need to ask the file's length, a system call, per row).
        if let Some(blkno) = cached_target(rel.locator)
            && let Some(pin) = self.pool.read_buffer_if_resident(main_tag(rel, blkno))
        {
            let mut g = pin.lock_exclusive();
            if page_has_room(g.page(), need) {
                let off = self.insert_locked(&mut g, blkno, &tuple, xid);
                return Ok(ItemPointer::new(blkno, off));
            }
        }
        // The last target of this process, then the relation's last block.
        let nblocks = self.nblocks(rel)?;
        let cached = cached_target(rel.locator).filter(|&b| b < nblocks);
        let last = nblocks.checked_sub(1).filter(|&b| Some(b) != cached);
        for blkno in cached.into_iter().chain(last) {
            let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
            let mut g = pin.lock_exclusive();
            if page_has_room(g.page(), need) {
                let off = self.insert_locked(&mut g, blkno, &tuple, xid);
                set_cached_target(rel.locator, blkno);
                return Ok(ItemPointer::new(blkno, off));
            }
        }
        // Space VACUUM freed, from the free space map (rule F1 of
        // storage/fsm: check the page, correct the map if it was wrong).
        let mut tries = 0usize;
        while let Some(blkno) = self.fsm_candidate(rel, need, nblocks, cached)? {
            let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
            let mut g = pin.lock_exclusive();
            if page_has_room(g.page(), need) {
                let off = self.insert_locked(&mut g, blkno, &tuple, xid);
                set_cached_target(rel.locator, blkno);
                return Ok(ItemPointer::new(blkno, off));
            }
            let avail = heap_page_free_space(&Page::new(g.page()));
            drop(g);
            drop(pin);
            fsm::fsm_record(self.pool, rel.locator, blkno, avail)?;
            tries += 1;
            if tries >= MAX_FSM_TRIES {
                break;
            }
        }
        // A new page: extend() hands it over exclusively locked, so nobody
        // can fill it first (buffer README rule 11).
        let (mut locked, blkno) = self.pool.extend(rel.locator, ForkNumber::Main)?;
        let off = self.insert_locked(&mut locked, blkno, &tuple, xid);
        set_cached_target(rel.locator, blkno);
        Ok(ItemPointer::new(blkno, off))
    }

    /// Adds a prepared tuple to the exclusively locked page, which has room,
    /// and logs INSERT. Initialises a new page.
    fn insert_locked(
        &self,
        g: &mut BufferLockGuard<'_>,
        blkno: BlockNumber,
        tuple: &[u8],
        xid: Xid,
    ) -> OffsetNumber {
        let _crit = CritSection::enter();
        let (init, off) = {
            let mut page = Page::new(g.page_mut());
            let init = page.is_new();
            if init {
                page.init(0);
            }
            let off = heap_page_add_tuple(&mut page, blkno, tuple)
                .expect("the page was checked to have room");
            (init, off)
        };
        g.mark_dirty();
        let info = XLOG_HEAP_INSERT | if init { XLOG_HEAP_INIT_PAGE } else { 0 };
        let main = XlHeapInsert { offnum: off }.encode();
        self.log_change(
            info,
            xid,
            &main,
            &mut [LogBlock {
                guard: g,
                data: tuple,
                will_init: init,
            }],
        );
        off
    }

    // -- Scan -----------------------------------------------------------------

    /// See [`heap_scan`].
    pub fn scan(
        &self,
        rel: &HeapRelation,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
        visit: &mut dyn FnMut(ItemPointer, Vec<HeapValue>) -> PgResult<bool>,
    ) -> PgResult<()> {
        let nblocks = self.nblocks(rel)?;
        let mut rows: Vec<(ItemPointer, Vec<HeapValue>)> = Vec::new();
        for blkno in 0..nblocks {
            let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
            let mut hints_found = false;
            {
                let g = pin.lock_shared();
                let page = Page::new(g.page());
                for off in 1..=page.max_offset() {
                    let Some(t) = tuple_at(&page, rel, blkno, off)? else {
                        continue;
                    };
                    let (visible, hints) =
                        satisfies_mvcc(&HeapTupleHeader::read(t), snapshot, xact);
                    hints_found |= !hints.is_empty();
                    if visible {
                        rows.push((ItemPointer::new(blkno, off), deform_tuple(&rel.desc, t)));
                    }
                }
            }
            if hints_found {
                self.set_page_hints(rel, &pin, blkno, snapshot, xact)?;
            }
            drop(pin);
            // No content lock (nor pin) while the caller's code runs.
            for (tid, values) in rows.drain(..) {
                if !visit(tid, values)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Sets the hint bits a scan found (README H4). The buffer guard has
    /// no writable page under a share lock, so this re-checks every tuple
    /// under the exclusive lock: hints are facts about xids, whoever asks.
    fn set_page_hints(
        &self,
        rel: &HeapRelation,
        pin: &PinnedBuffer<'_>,
        blkno: BlockNumber,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<()> {
        let mut g = pin.lock_exclusive();
        let mut found = Vec::new();
        {
            let page = Page::new(g.page());
            for off in 1..=page.max_offset() {
                let Some(t) = tuple_at(&page, rel, blkno, off)? else {
                    continue;
                };
                let (_, hints) = satisfies_mvcc(&HeapTupleHeader::read(t), snapshot, xact);
                if !hints.is_empty() {
                    found.push((off, hints));
                }
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        {
            let mut page = Page::new(g.page_mut());
            for (off, hints) in found {
                heap_page_set_hint_bits(&mut page, off, hints);
            }
        }
        self.hint_dirtied(&mut g);
        Ok(())
    }

    // -- Fetches for indexes ----------------------------------------------------

    /// `heap_fetch` with an MVCC snapshot: the row at `tid` if `snapshot`
    /// sees it (an index scan's heap visit). A tuple id past the end or at
    /// an unused slot is no row (its index entry is stale, VACUUM will
    /// remove it).
    pub fn fetch_visible(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<Vec<HeapValue>>> {
        Ok(self.fetch_for_index(rel, tid, snapshot, xact, None)?.0)
    }

    /// [`HeapStorage::fetch_visible`] that also says whether the tuple is
    /// dead to every snapshot (`satisfies_vacuum` under the horizon
    /// `oldest_xmin` gives, asked only for an invisible tuple): an index
    /// scan then removes the entry (`kill_prior_tuple`).
    pub fn fetch_for_index(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
        oldest_xmin: Option<&mut dyn FnMut() -> Xid>,
    ) -> PgResult<(Option<Vec<HeapValue>>, bool)> {
        let Some(pin) = self.pin_tid_block(rel, tid)? else {
            return Ok((None, false));
        };
        let g = pin.lock_shared();
        let page = Page::new(g.page());
        let Some(t) = tuple_at(&page, rel, tid.block(), tid.offset())? else {
            return Ok((None, false));
        };
        let h = HeapTupleHeader::read(t);
        let (visible, _) = satisfies_mvcc(&h, snapshot, xact);
        if visible {
            return Ok((Some(deform_tuple(&rel.desc, t)), false));
        }
        let dead = oldest_xmin.is_some_and(|x| {
            super::visibility::satisfies_vacuum(&h, x(), xact).0
                == super::visibility::HtsvResult::Dead
        });
        Ok((None, dead))
    }

    /// The uniqueness check's look at one heap tuple (`SnapshotDirty` in
    /// `_bt_check_unique`): whether the row at `tid` is live or may
    /// become so, and whose end to wait for first if that is undecided.
    /// `is_mine` says whether an xid is this transaction's (or one of its
    /// running subtransactions').
    pub fn fetch_dirty(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        xact: &dyn XactStatus,
        is_mine: &dyn Fn(Xid) -> bool,
    ) -> PgResult<DirtyTuple> {
        let Some(pin) = self.pin_tid_block(rel, tid)? else {
            return Ok(DirtyTuple::Dead);
        };
        let g = pin.lock_shared();
        let page = Page::new(g.page());
        let Some(t) = tuple_at(&page, rel, tid.block(), tid.offset())? else {
            return Ok(DirtyTuple::Dead);
        };
        let h = HeapTupleHeader::read(t);
        if !h.xmin_frozen() && !h.xmin_committed() {
            if h.xmin_invalid() {
                return Ok(DirtyTuple::Dead);
            }
            match xid_status(xact, h.t_xmin) {
                XidStatus::Aborted => return Ok(DirtyTuple::Dead),
                XidStatus::InProgress if !is_mine(h.t_xmin) => {
                    return Ok(DirtyTuple::InProgress(h.t_xmin));
                }
                _ => {}
            }
        }
        if h.xmax_invalid() || h.xmax_is_locked_only() || !h.t_xmax.is_valid() {
            return Ok(DirtyTuple::Live);
        }
        if h.xmax_committed() {
            return Ok(DirtyTuple::Dead);
        }
        Ok(match xid_status(xact, h.t_xmax) {
            XidStatus::Aborted => DirtyTuple::Live,
            XidStatus::Committed => DirtyTuple::Dead,
            XidStatus::InProgress if is_mine(h.t_xmax) => DirtyTuple::Dead,
            XidStatus::InProgress => DirtyTuple::InProgress(h.t_xmax),
        })
    }

    /// The heap scan of an index build (`heapam_index_build_range_scan`
    /// with SnapshotAny): every tuple some snapshot may still see, with
    /// whether it is alive for the uniqueness check (live, or inserted and
    /// not deleted by this transaction). The caller holds ShareLock, so
    /// no other transaction is changing the table.
    pub fn scan_for_index_build(
        &self,
        rel: &HeapRelation,
        oldest_xmin: Xid,
        xact: &dyn XactStatus,
        is_mine: &dyn Fn(Xid) -> bool,
        visit: &mut dyn FnMut(ItemPointer, Vec<HeapValue>, bool) -> PgResult<()>,
    ) -> PgResult<()> {
        use super::visibility::{HtsvResult, satisfies_vacuum};
        let nblocks = self.nblocks(rel)?;
        let mut rows: Vec<(ItemPointer, Vec<HeapValue>, bool)> = Vec::new();
        for blkno in 0..nblocks {
            {
                let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
                let g = pin.lock_shared();
                let page = Page::new(g.page());
                for off in 1..=page.max_offset() {
                    let Some(t) = tuple_at(&page, rel, blkno, off)? else {
                        continue;
                    };
                    let h = HeapTupleHeader::read(t);
                    let alive = match satisfies_vacuum(&h, oldest_xmin, xact).0 {
                        HtsvResult::Dead => continue,
                        HtsvResult::Live => true,
                        HtsvResult::RecentlyDead => false,
                        HtsvResult::InsertInProgress | HtsvResult::DeleteInProgress => {
                            h.xmax_invalid()
                                || h.xmax_is_locked_only()
                                || !h.t_xmax.is_valid()
                                || !is_mine(h.t_xmax)
                        }
                    };
                    rows.push((
                        ItemPointer::new(blkno, off),
                        deform_tuple(&rel.desc, t),
                        alive,
                    ));
                }
            }
            for (tid, values, alive) in rows.drain(..) {
                visit(tid, values, alive)?;
            }
        }
        Ok(())
    }

    // -- EvalPlanQual fetch ---------------------------------------------------

    /// See [`heap_fetch_latest`].
    pub fn fetch_latest(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<(ItemPointer, Vec<HeapValue>)>> {
        let mut nblocks = self.nblocks(rel)?;
        if !tid.is_valid() || tid.block() >= nblocks {
            return Err(invalid_tid(rel, tid));
        }
        let mut cur = tid;
        let mut prior_xmax: Option<Xid> = None;
        for _ in 0..MAX_CHAIN_HOPS {
            if cur.block() >= nblocks {
                nblocks = self.nblocks(rel)?;
                if cur.block() >= nblocks {
                    return Err(corrupt_tuple(
                        rel,
                        cur,
                        "t_ctid points beyond the end of the relation",
                    ));
                }
            }
            let pin = self.pool.read_buffer(main_tag(rel, cur.block()))?;
            let g = pin.lock_shared();
            let page = Page::new(g.page());
            let Some(t) = tuple_at(&page, rel, cur.block(), cur.offset())? else {
                return Ok(None); // pruned: the row is gone
            };
            let h = HeapTupleHeader::read(t);
            if let Some(px) = prior_xmax
                && h.t_xmin != px
            {
                return Ok(None); // the chain was pruned and the slot reused (README rule 8)
            }
            if !h.xmin_frozen()
                && (h.xmin_invalid()
                    || (!h.xmin_committed() && xid_status(xact, h.t_xmin) == XidStatus::Aborted))
            {
                return Ok(None);
            }
            if h.xmax_invalid() || h.xmax_is_locked_only() {
                return Ok(Some((cur, deform_tuple(&rel.desc, t))));
            }
            let updater_committed =
                h.xmax_committed() || xid_status(xact, h.t_xmax) == XidStatus::Committed;
            if !updater_committed {
                return Ok(Some((cur, deform_tuple(&rel.desc, t))));
            }
            if h.t_ctid == cur {
                return Ok(None); // deleted
            }
            prior_xmax = Some(h.t_xmax);
            cur = h.t_ctid;
        }
        Err(internal(format!(
            "update chain of tuple {tid} in relation \"{}\" is longer than {MAX_CHAIN_HOPS}",
            rel.name
        )))
    }

    // -- Row changes ----------------------------------------------------------

    /// Pins the page of `tid`, which must lie inside the relation.
    fn pin_tid(&self, rel: &HeapRelation, tid: ItemPointer) -> PgResult<PinnedBuffer<'a>> {
        self.pin_tid_block(rel, tid)?
            .ok_or_else(|| invalid_tid(rel, tid))
    }

    /// The header of the tuple at `tid` on the locked page.
    fn header_at(
        &self,
        rel: &HeapRelation,
        g: &BufferLockGuard<'_>,
        tid: ItemPointer,
    ) -> PgResult<HeapTupleHeader> {
        let page = Page::new(g.page());
        match tuple_at(&page, rel, tid.block(), tid.offset())? {
            Some(t) => Ok(HeapTupleHeader::read(t)),
            None => Err(invalid_tid(rel, tid)),
        }
    }

    /// `satisfies_update` for the writer in `cx`, hints applied.
    fn check_update(
        &self,
        g: &mut BufferLockGuard<'_>,
        h: &HeapTupleHeader,
        tid: ItemPointer,
        cx: &WriteContext<'_>,
    ) -> TmResult {
        let (res, hints) = satisfies_update(h, tid, &|x| is_current_xid(cx, x), cx.cid, cx.xact);
        self.set_hints(g, tid.offset(), hints);
        res
    }

    /// See [`heap_delete`].
    pub fn delete(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        cx: &mut WriteContext<'_>,
    ) -> PgResult<TmOutcome> {
        check_writer(rel, cx)?;
        let mut tl = TupleLock::new(rel, tid);
        let r = self.delete_inner(rel, tid, cx, &mut tl);
        tl.release(cx.locks);
        r
    }

    fn delete_inner(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        cx: &mut WriteContext<'_>,
        tl: &mut TupleLock,
    ) -> PgResult<TmOutcome> {
        let pin = self.pin_tid(rel, tid)?;
        loop {
            let mut g = pin.lock_exclusive();
            let h = self.header_at(rel, &g, tid)?;
            match self.check_update(&mut g, &h, tid, cx) {
                TmResult::Invisible => {
                    return Err(internal("attempted to delete invisible tuple".into()));
                }
                TmResult::SelfUpdated => return Ok(TmOutcome::SelfModified),
                res @ (TmResult::Updated | TmResult::Deleted) => {
                    return concurrently_changed(cx, &h, res);
                }
                TmResult::BeingUpdated(x) if !is_current_xid(cx, x) => {
                    drop(g);
                    tl.acquire(cx, LockMode::Exclusive)?;
                    wait_for_xact(cx, x)?;
                    continue;
                }
                TmResult::BeingUpdated(_) | TmResult::Ok => {}
            }
            if may_have_share_lockers(&h) && tl.held.is_none() {
                drop(g);
                tl.acquire(cx, LockMode::Exclusive)?;
                continue;
            }
            let _crit = CritSection::enter();
            {
                let mut page = Page::new(g.page_mut());
                heap_page_set_xmax(&mut page, tid.offset(), cx.xid, 0);
                heap_page_set_cmax(&mut page, tid.offset(), cx.cid);
            }
            g.mark_dirty();
            let main = XlHeapDelete {
                offnum: tid.offset(),
                xmax: cx.xid,
                cmax: cx.cid,
            }
            .encode();
            self.log_change(
                XLOG_HEAP_DELETE,
                cx.xid,
                &main,
                &mut [LogBlock {
                    guard: &mut g,
                    data: &[],
                    will_init: false,
                }],
            );
            return Ok(TmOutcome::Ok);
        }
    }

    /// See [`heap_update`].
    pub fn update(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        values: &[HeapValue],
        cx: &mut WriteContext<'_>,
    ) -> PgResult<(TmOutcome, Option<ItemPointer>)> {
        check_writer(rel, cx)?;
        if values.len() != rel.desc.natts() {
            return Err(internal(format!(
                "{} values for the {} attributes of relation \"{}\"",
                values.len(),
                rel.desc.natts(),
                rel.name
            )));
        }
        let mut newtup = form_tuple(&rel.desc, values)?;
        heap_prepare_insert(&mut newtup, cx.xid, cx.cid);
        let mut h = HeapTupleHeader::read(&newtup);
        h.t_infomask |= HEAP_UPDATED;
        h.write(&mut newtup);

        let mut tl = TupleLock::new(rel, tid);
        let r = self.update_inner(rel, tid, &newtup, cx, &mut tl);
        tl.release(cx.locks);
        r
    }

    fn update_inner(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        newtup: &[u8],
        cx: &mut WriteContext<'_>,
        tl: &mut TupleLock,
    ) -> PgResult<(TmOutcome, Option<ItemPointer>)> {
        let need = maxalign(newtup.len());
        let old_blk = tid.block();
        let old_off = tid.offset();
        let pin = self.pin_tid(rel, tid)?;
        let mut placement_tries = 0usize;
        loop {
            let mut g = pin.lock_exclusive();
            let h = self.header_at(rel, &g, tid)?;
            match self.check_update(&mut g, &h, tid, cx) {
                TmResult::Invisible => {
                    return Err(internal("attempted to update invisible tuple".into()));
                }
                TmResult::SelfUpdated => return Ok((TmOutcome::SelfModified, None)),
                res @ (TmResult::Updated | TmResult::Deleted) => {
                    return concurrently_changed(cx, &h, res).map(|o| (o, None));
                }
                TmResult::BeingUpdated(x) if !is_current_xid(cx, x) => {
                    drop(g);
                    tl.acquire(cx, LockMode::Exclusive)?;
                    wait_for_xact(cx, x)?;
                    continue;
                }
                TmResult::BeingUpdated(_) | TmResult::Ok => {}
            }
            if may_have_share_lockers(&h) && tl.held.is_none() {
                drop(g);
                tl.acquire(cx, LockMode::Exclusive)?;
                continue;
            }

            // Same page if it fits (README H9).
            if page_has_room(g.page(), need) {
                let _crit = CritSection::enter();
                let new_off = {
                    let mut page = Page::new(g.page_mut());
                    let new_off =
                        heap_page_add_tuple(&mut page, old_blk, newtup).expect("checked room");
                    heap_page_set_xmax(&mut page, old_off, cx.xid, 0);
                    heap_page_set_cmax(&mut page, old_off, cx.cid);
                    heap_page_set_ctid(&mut page, old_off, ItemPointer::new(old_blk, new_off));
                    new_off
                };
                g.mark_dirty();
                let main = XlHeapUpdate {
                    old_offnum: old_off,
                    new_offnum: new_off,
                    xmax: cx.xid,
                    cmax: cx.cid,
                }
                .encode();
                self.log_change(
                    XLOG_HEAP_UPDATE,
                    cx.xid,
                    &main,
                    &mut [LogBlock {
                        guard: &mut g,
                        data: newtup,
                        will_init: false,
                    }],
                );
                return Ok((TmOutcome::Ok, Some(ItemPointer::new(old_blk, new_off))));
            }

            // Another page: unlock, find one with room, then lock both in
            // block order and check that nothing changed meanwhile.
            drop(g);
            placement_tries += 1;
            if placement_tries > MAX_PLACEMENT_TRIES {
                return Err(internal(format!(
                    "could not find room for a tuple of {need} bytes in relation \"{}\"",
                    rel.name
                )));
            }
            let target = self.choose_target(rel, need, old_blk)?;
            let new_pin = self.pool.read_buffer(main_tag(rel, target))?;
            let (mut g_old, mut g_new) = if old_blk < target {
                let o = pin.lock_exclusive();
                (o, new_pin.lock_exclusive())
            } else {
                let n = new_pin.lock_exclusive();
                (pin.lock_exclusive(), n)
            };
            if !page_has_room(g_new.page(), need) {
                forget_cached_target(rel.locator);
                continue;
            }
            let h2 = self.header_at(rel, &g_old, tid)?;
            if header_identity(&h2) != header_identity(&h) {
                continue; // changed while unlocked: check again from the top
            }

            let _crit = CritSection::enter();
            let (init, new_off) = {
                let mut page = Page::new(g_new.page_mut());
                let init = page.is_new();
                if init {
                    page.init(0);
                }
                (
                    init,
                    heap_page_add_tuple(&mut page, target, newtup).expect("checked room"),
                )
            };
            let new_tid = ItemPointer::new(target, new_off);
            {
                let mut page = Page::new(g_old.page_mut());
                heap_page_set_xmax(&mut page, old_off, cx.xid, 0);
                heap_page_set_cmax(&mut page, old_off, cx.cid);
                heap_page_set_ctid(&mut page, old_off, new_tid);
            }
            g_new.mark_dirty();
            g_old.mark_dirty();
            let info = XLOG_HEAP_UPDATE | if init { XLOG_HEAP_INIT_PAGE } else { 0 };
            let main = XlHeapUpdate {
                old_offnum: old_off,
                new_offnum: new_off,
                xmax: cx.xid,
                cmax: cx.cid,
            }
            .encode();
            self.log_change(
                info,
                cx.xid,
                &main,
                &mut [
                    LogBlock {
                        guard: &mut g_new,
                        data: newtup,
                        will_init: init,
                    },
                    LogBlock {
                        guard: &mut g_old,
                        data: &[],
                        will_init: false,
                    },
                ],
            );
            set_cached_target(rel.locator, target);
            return Ok((TmOutcome::Ok, Some(new_tid)));
        }
    }

    /// A block other than `avoid` that had room for `need` bytes when
    /// looked at (the caller locks and checks again), extending the
    /// relation if none of the candidates has.
    fn choose_target(
        &self,
        rel: &HeapRelation,
        need: usize,
        avoid: BlockNumber,
    ) -> PgResult<BlockNumber> {
        let nblocks = self.nblocks(rel)?;
        let cached = cached_target(rel.locator).filter(|&b| b < nblocks && b != avoid);
        let last = nblocks
            .checked_sub(1)
            .filter(|&b| b != avoid && Some(b) != cached);
        for blkno in cached.into_iter().chain(last) {
            let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
            let g = pin.lock_shared();
            if page_has_room(g.page(), need) {
                return Ok(blkno);
            }
        }
        // The free space map (storage/fsm rule F1).
        let mut tries = 0usize;
        while let Some(blkno) = self.fsm_candidate(rel, need, nblocks, Some(avoid))? {
            let avail = {
                let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
                let g = pin.lock_shared();
                if page_has_room(g.page(), need) {
                    set_cached_target(rel.locator, blkno);
                    return Ok(blkno);
                }
                heap_page_free_space(&Page::new(g.page()))
            };
            fsm::fsm_record(self.pool, rel.locator, blkno, avail)?;
            tries += 1;
            if tries >= MAX_FSM_TRIES {
                break;
            }
        }
        let (locked, blkno) = self.pool.extend(rel.locator, ForkNumber::Main)?;
        drop(locked); // a new page; the insert that uses it initialises it
        set_cached_target(rel.locator, blkno);
        Ok(blkno)
    }

    /// A block the free space map says has room for `need` bytes, other
    /// than `avoid`. A map that cannot be read (a torn map page, fsm rule
    /// F5) is treated as empty.
    fn fsm_candidate(
        &self,
        rel: &HeapRelation,
        need: usize,
        nblocks: BlockNumber,
        avoid: Option<BlockNumber>,
    ) -> PgResult<Option<BlockNumber>> {
        match fsm::fsm_search(self.pool, rel.locator, need, nblocks, avoid) {
            Ok(b) => Ok(b),
            Err(e) if e.sqlstate == sqlstate::DATA_CORRUPTED => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// See [`heap_lock_tuple`].
    pub fn lock_tuple(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        mode: RowLockMode,
        cx: &mut WriteContext<'_>,
    ) -> PgResult<TmOutcome> {
        check_writer(rel, cx)?;
        let mut tl = TupleLock::new(rel, tid);
        let r = self.lock_tuple_inner(rel, tid, mode, cx, &mut tl);
        tl.release(cx.locks);
        r
    }

    fn lock_tuple_inner(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        mode: RowLockMode,
        cx: &mut WriteContext<'_>,
        tl: &mut TupleLock,
    ) -> PgResult<TmOutcome> {
        let (lock_mode, bits) = match mode {
            RowLockMode::Share => (LockMode::Share, HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_SHR_LOCK),
            RowLockMode::Update => (
                LockMode::Exclusive,
                HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK,
            ),
        };
        let pin = self.pin_tid(rel, tid)?;
        loop {
            let mut g = pin.lock_exclusive();
            let h = self.header_at(rel, &g, tid)?;
            match self.check_update(&mut g, &h, tid, cx) {
                TmResult::Invisible => {
                    return Err(internal("attempted to lock invisible tuple".into()));
                }
                TmResult::SelfUpdated => return Ok(TmOutcome::SelfModified),
                res @ (TmResult::Updated | TmResult::Deleted) => {
                    return concurrently_changed(cx, &h, res);
                }
                TmResult::BeingUpdated(x) if is_current_xid(cx, x) => {
                    // Our own row lock. FOR UPDATE covers everything; a
                    // FOR SHARE is upgraded below.
                    let ours_exclusive = h.t_infomask & HEAP_LOCK_MASK == HEAP_XMAX_EXCL_LOCK;
                    if mode == RowLockMode::Share || ours_exclusive {
                        return Ok(TmOutcome::Ok);
                    }
                }
                TmResult::BeingUpdated(x) => {
                    if mode == RowLockMode::Share && may_have_share_lockers(&h) {
                        // Another transaction holds FOR SHARE and is the one
                        // recorded in t_xmax. Without MultiXacts we cannot be
                        // recorded too: join through the heavyweight tuple
                        // lock in Share mode, kept until our transaction ends
                        // (README H8). Taking it queues us behind writers.
                        if tl.held.is_some() {
                            tl.keep = true;
                            return Ok(TmOutcome::Ok);
                        }
                        drop(g);
                        tl.acquire(cx, LockMode::Share)?;
                        continue;
                    }
                    drop(g);
                    tl.acquire(cx, lock_mode)?;
                    wait_for_xact(cx, x)?;
                    continue;
                }
                TmResult::Ok => {}
            }
            if mode == RowLockMode::Update && may_have_share_lockers(&h) && tl.held.is_none() {
                // Unrecorded share lockers hold the tuple lock: wait for them.
                drop(g);
                tl.acquire(cx, LockMode::Exclusive)?;
                continue;
            }
            let _crit = CritSection::enter();
            heap_page_set_xmax(&mut Page::new(g.page_mut()), tid.offset(), cx.xid, bits);
            g.mark_dirty();
            let main = XlHeapLock {
                offnum: tid.offset(),
                xmax: cx.xid,
                infomask_bits: bits,
            }
            .encode();
            self.log_change(
                XLOG_HEAP_LOCK,
                cx.xid,
                &main,
                &mut [LogBlock {
                    guard: &mut g,
                    data: &[],
                    will_init: false,
                }],
            );
            return Ok(TmOutcome::Ok);
        }
    }
}
