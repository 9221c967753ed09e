//! VACUUM of a heap (PostgreSQL's `vacuumlazy.c`, `vacuum.c`'s cost
//! delay and `vac_update_relstats`, `pruneheap.c`'s execution half,
//! `heapam.c`'s freezing and `heap_inplace_update`, `rewriteheap.c` for
//! VACUUM FULL, and ANALYZE's row counting).
//!
//! # Lazy VACUUM of one relation ([`vacuum_relation`])
//!
//! ```text
//!  ShareUpdateExclusiveLock on the table (conflicts with itself: one VACUUM at a time)
//!  oldest_xmin = ProcArray horizon; freeze_limit = oldest_xmin - vacuum_freeze_min_age
//!  for each block:                                   (cost-based delay between pages)
//!     pin, exclusive content lock  ── the cleanup lock, see below
//!     satisfies_vacuum(oldest_xmin) on every tuple:
//!        Dead ─────────────► line pointer LP_UNUSED (with indexes: only the
//!                             tuple ids the index pass cleaned, see below)
//!        kept, xmin committed < freeze_limit ─► HEAP_XMIN_FROZEN
//!     [critical section: heap_page_vacuum_execute, compact, WAL VACUUM record, LSN]
//!     unlock; free space → free space map
//!  trailing empty pages: AccessExclusiveLock *conditionally*; re-check them;
//!     WAL TRUNCATE (flushed), drop buffers, truncate file and map
//!  pg_class.relpages/reltuples/relfrozenxid in place (WAL INPLACE); pg_database.datfrozenxid
//! ```
//!
//! **The cleanup lock.** PostgreSQL moves tuples only under a cleanup lock
//! (exclusive content lock and no other pin), because its scans keep
//! pointers into a pinned page after releasing the content lock. In
//! ferrogres nobody can do that: a page is reachable only through a
//! content-lock guard (`BufferLockGuard::page`; buffer README rules 1–2),
//! and every reader copies what it needs out before the lock is released
//! (heap README H5). So the exclusive content lock is already a cleanup
//! lock here; nothing was added to the buffer pool. What a pin *may* still
//! hold across the lock is a tuple id, which is why line pointers never
//! move and a freed one is only reused for a row an old tuple id cannot be
//! confused with (heap README rule 8: the xmin check when following
//! `t_ctid`; a tuple id a live snapshot can see is never Dead).
//!
//! **Indexes.** A table without indexes is vacuumed in one pass (dead
//! line pointers go straight to `LP_UNUSED`, as PostgreSQL does for such
//! a table). With indexes, VACUUM first collects the tuple ids of the
//! tuples dead under its cutoffs (a read-only pass,
//! [`HeapStorage::collect_dead_tuples`]), removes their entries from
//! every index (`bt_bulk_delete`), and only then frees exactly those
//! line pointers in the heap pass (heap README rule 13). A tuple that
//! died in between is left for the next VACUUM: its index entries are
//! still there. PostgreSQL instead marks dead items `LP_DEAD` in its first
//! pass and frees them in a third; the heap is read twice either way.
//!
//! **Freezing** is an optimisation only (64-bit xids never wrap, heap
//! README rule 15): `relfrozenxid` is the oldest xid still present
//! unfrozen in the table (xmin or xmax), never moved backwards, and
//! `age()` of it stays meaningful; `VACUUM FREEZE` (`freeze_min_age = 0`)
//! freezes every tuple whose inserter committed before `oldest_xmin`.
//!
//! # Crash behaviour
//!
//! Every page change is one WAL record (`VACUUM`, replayed by
//! [`heap_page_vacuum_execute`], idempotent through the page LSN). The
//! truncation record is flushed before the file shrinks. The `pg_class`
//! row is overwritten in place with an `INPLACE` record. The free space
//! map is not logged (storage/fsm rule F2). VACUUM FULL writes its new
//! file through the buffer pool with a `NEWPAGE` image per page, after the
//! new file's Storage `CREATE`; the swap of `relfilenode` is an ordinary
//! transactional `pg_class` update, so a crash before commit leaves the old
//! file in use (and an orphan new file, as PostgreSQL can).

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::storage::buffer::BufferLockGuard;
use crate::storage::fsm;
use crate::storage::page::{ItemPointer, OffsetNumber, Page, PageMut};
use crate::storage::types::{BLCKSZ, BlockNumber, ForkNumber, Xid};
use crate::storage::wal::{BlockRef, RmgrId};
use crate::storage::xact::XactStatus;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::Settings;

use super::access::{CritSection, HeapRelation, HeapStorage, LogBlock, main_tag, tuple_at};
use super::htup::{HEAP_XMIN_FROZEN, HeapTupleHeader, MAX_HEAP_TUPLES_PER_PAGE};
use super::page::{heap_page_add_tuple, heap_page_free_space, heap_page_set_hint_bits};
use super::redo::{
    XLOG_HEAP_INPLACE, XLOG_HEAP_NEWPAGE, XLOG_HEAP_VACUUM, XLOG_SMGR_TRUNCATE, XlHeapInsert,
    XlHeapVacuum, XlSmgrTruncate,
};
use super::visibility::{HtsvResult, satisfies_vacuum};
use crate::utils::pgstat::progress::{self, ProgressCommand, ProgressReporter};

/// PostgreSQL's default `vacuum_freeze_min_age`.
pub const DEFAULT_FREEZE_MIN_AGE: i64 = 50_000_000;

// ---------------------------------------------------------------------------
// Page level: shared by VACUUM and its redo
// ---------------------------------------------------------------------------

/// Applies one page's VACUUM: the line pointers at `unused` (dead tuples
/// or `LP_DEAD` stubs) become unused, the tuples at `frozen` get
/// `HEAP_XMIN_FROZEN`, the page is compacted and its line pointer array
/// trimmed, and `pd_prune_xid` becomes `prune_xid`. VACUUM and the redo of
/// its record run this same function on the same page state, so the
/// layouts agree (heap README rule 16). Err describes a record that does
/// not fit the page (a redo failure).
pub fn heap_page_vacuum_execute(
    page: &mut PageMut<'_>,
    unused: &[OffsetNumber],
    frozen: &[OffsetNumber],
    prune_xid: Xid,
) -> Result<(), String> {
    let max = page.max_offset();
    for &off in unused {
        if off == 0 || off > max {
            return Err(format!("offset {off} out of range 1..={max}"));
        }
        if !page.item_id(off).is_used() {
            return Err(format!("line pointer {off} is already unused"));
        }
        page.set_item_unused(off);
    }
    for &off in frozen {
        if off == 0 || off > max || !page.item_id(off).is_normal() {
            return Err(format!("no tuple to freeze at offset {off}"));
        }
        let item = page.get_item_mut(off);
        let mut h = HeapTupleHeader::read(item);
        h.t_infomask |= HEAP_XMIN_FROZEN;
        h.write(item);
    }
    if !unused.is_empty() {
        page.repair_fragmentation();
        page.truncate_line_pointer_array();
    }
    page.set_prune_xid(prune_xid);
    page.set_full(false);
    Ok(())
}

// ---------------------------------------------------------------------------
// Options and cost-based delay
// ---------------------------------------------------------------------------

/// What to do (the VACUUM statement's options, or autovacuum's choice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VacuumOptions {
    /// `FREEZE`: `freeze_min_age = 0`.
    pub freeze: bool,
    /// `VERBOSE`: INFO messages through the `notice` callback.
    pub verbose: bool,
    /// Cut empty pages off the end (`TRUNCATE` option, default on).
    pub truncate: bool,
    /// Run by an autovacuum worker (reports and log wording).
    pub is_autovacuum: bool,
    /// `vacuum_freeze_min_age`; ignored with `freeze`.
    pub freeze_min_age: i64,
}

impl Default for VacuumOptions {
    fn default() -> VacuumOptions {
        VacuumOptions {
            freeze: false,
            verbose: false,
            truncate: true,
            is_autovacuum: false,
            freeze_min_age: DEFAULT_FREEZE_MIN_AGE,
        }
    }
}

/// Cost-based vacuum delay (`vacuum_cost_*`, or `autovacuum_vacuum_cost_*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostDelay {
    /// Sleep this long (scaled by the balance) when the balance reaches the
    /// limit; 0 disables the delay.
    pub delay_ms: f64,
    pub limit: i64,
    pub page_hit: i64,
    pub page_miss: i64,
    pub page_dirty: i64,
}

impl CostDelay {
    /// No delay (PostgreSQL's default for a manual VACUUM).
    pub fn disabled() -> CostDelay {
        CostDelay {
            delay_ms: 0.0,
            limit: 200,
            page_hit: 1,
            page_miss: 2,
            page_dirty: 20,
        }
    }

    /// From the settings: `vacuum_cost_*`, or for autovacuum
    /// `autovacuum_vacuum_cost_delay/limit` where not -1 (PostgreSQL's rule).
    pub fn from_settings(s: &Settings, autovacuum: bool) -> CostDelay {
        let mut delay_ms = s.get_real("vacuum_cost_delay");
        let mut limit = s.get_int("vacuum_cost_limit");
        if autovacuum {
            let d = s.get_real("autovacuum_vacuum_cost_delay");
            if d >= 0.0 {
                delay_ms = d;
            }
            let l = s.get_int("autovacuum_vacuum_cost_limit");
            if l > 0 {
                limit = l;
            }
        }
        CostDelay {
            delay_ms,
            limit: limit.max(1),
            page_hit: s.get_int("vacuum_cost_page_hit"),
            page_miss: s.get_int("vacuum_cost_page_miss"),
            page_dirty: s.get_int("vacuum_cost_page_dirty"),
        }
    }
}

/// The running balance (`VacuumCostBalance`) and buffer usage counters.
pub struct CostBalance {
    pub cfg: CostDelay,
    balance: i64,
    pub hits: u64,
    pub misses: u64,
    pub dirtied: u64,
    pub slept: Duration,
}

/// Longest single sleep slice: interrupts are checked at least this often.
const SLEEP_SLICE: Duration = Duration::from_millis(10);

impl CostBalance {
    pub fn new(cfg: CostDelay) -> CostBalance {
        CostBalance {
            cfg,
            balance: 0,
            hits: 0,
            misses: 0,
            dirtied: 0,
            slept: Duration::ZERO,
        }
    }

    fn charge_read(&mut self, hit: bool) {
        if hit {
            self.hits += 1;
            self.balance += self.cfg.page_hit;
        } else {
            self.misses += 1;
            self.balance += self.cfg.page_miss;
        }
    }

    fn charge_dirty(&mut self) {
        self.dirtied += 1;
        self.balance += self.cfg.page_dirty;
    }

    /// `vacuum_delay_point`: checks interrupts; once the balance reaches
    /// the limit sleeps `delay × balance / limit` (at most 4 × delay),
    /// checking interrupts every few milliseconds, so a cancel stops an
    /// autovacuum worker promptly.
    pub fn delay_point(
        &mut self,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<()> {
        check_interrupts()?;
        if self.cfg.delay_ms <= 0.0 || self.balance < self.cfg.limit {
            return Ok(());
        }
        let ms = (self.cfg.delay_ms * self.balance as f64 / self.cfg.limit as f64)
            .min(self.cfg.delay_ms * 4.0);
        self.balance = 0;
        let deadline = Instant::now() + Duration::from_secs_f64(ms / 1000.0);
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let slice = (deadline - now).min(SLEEP_SLICE);
            std::thread::sleep(slice);
            self.slept += slice;
            check_interrupts()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The heap pass
// ---------------------------------------------------------------------------

/// What the heap pass found and did (`LVRelState`'s counters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LazyVacuumResult {
    /// Blocks when the scan started, all scanned.
    pub rel_pages: BlockNumber,
    /// One past the last block that still holds a line pointer in use.
    pub nonempty_pages: BlockNumber,
    /// Dead tuples removed (their line pointers freed).
    pub tuples_removed: u64,
    /// `LP_DEAD` stubs freed (left by earlier pruning).
    pub lpdead_freed: u64,
    /// Pages on which something was removed.
    pub pages_with_removed: u64,
    /// Tuples kept that some snapshot may see (live, or deleted by a running transaction).
    pub live_tuples: u64,
    /// Deleted, but an old snapshot may still see them.
    pub recently_dead_tuples: u64,
    /// Tuples frozen now, and pages on which any were.
    pub tuples_frozen: u64,
    pub pages_frozen: u64,
    /// The oldest xid left unfrozen in the table (or the horizon).
    pub new_relfrozenxid: Xid,
    /// WAL written (estimate of bytes: records' payloads and images).
    pub wal_records: u64,
    pub wal_fpi: u64,
    pub wal_bytes: u64,
}

/// The xids the pass works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoffs {
    /// Tuples deleted by transactions that committed before this are dead.
    pub oldest_xmin: Xid,
    /// Tuples inserted by committed transactions before this get frozen.
    pub freeze_limit: Xid,
}

impl Cutoffs {
    /// `vacuum_set_xid_limits`: the freeze limit is `freeze_min_age` before
    /// the horizon (0 with FREEZE).
    pub fn new(oldest_xmin: Xid, opts: &VacuumOptions) -> Cutoffs {
        let age = if opts.freeze {
            0
        } else {
            opts.freeze_min_age.max(0) as u64
        };
        let limit = oldest_xmin.0.saturating_sub(age).max(Xid::FIRST_NORMAL.0);
        Cutoffs {
            oldest_xmin,
            freeze_limit: Xid(limit.min(oldest_xmin.0)),
        }
    }
}

/// One page's plan, decided under the exclusive lock.
#[derive(Default)]
struct PagePlan {
    unused: Vec<OffsetNumber>,
    frozen: Vec<OffsetNumber>,
    prune_xid: Xid,
    hints: Vec<(OffsetNumber, super::visibility::HintBits)>,
    removed_tuples: u64,
    lpdead: u64,
    live: u64,
    recently_dead: u64,
    /// Oldest xid left unfrozen on the page.
    oldest_xid: Option<Xid>,
    any_used_left: bool,
}

fn older(a: Option<Xid>, b: Xid) -> Option<Xid> {
    if !b.is_normal() {
        return a;
    }
    Some(match a {
        Some(a) if a < b => a,
        _ => b,
    })
}

fn plan_page(
    page: &Page<&[u8; BLCKSZ]>,
    rel: &HeapRelation,
    blkno: BlockNumber,
    cutoffs: Cutoffs,
    xact: &dyn XactStatus,
    removable: Option<&HashSet<ItemPointer>>,
) -> PgResult<PagePlan> {
    // With indexes, only what the index pass cleaned may go (rule 13).
    let may_free =
        |off: OffsetNumber| removable.is_none_or(|r| r.contains(&ItemPointer::new(blkno, off)));
    let mut plan = PagePlan::default();
    let mut prune_xid = Xid::INVALID;
    for off in 1..=page.max_offset() {
        let lp = page.item_id(off);
        if !lp.is_used() {
            continue;
        }
        if lp.is_dead() {
            if !may_free(off) {
                plan.any_used_left = true;
                continue;
            }
            plan.unused.push(off);
            plan.lpdead += 1;
            continue;
        }
        let Some(t) = tuple_at(page, rel, blkno, off)? else {
            plan.any_used_left = true; // a redirect: keep (no HOT yet)
            continue;
        };
        let mut h = HeapTupleHeader::read(t);
        let (res, hints) = satisfies_vacuum(&h, cutoffs.oldest_xmin, xact);
        if !hints.is_empty() {
            h.t_infomask |= hints.0;
            plan.hints.push((off, hints));
        }
        let keep_xmax = |plan: &mut PagePlan, h: &HeapTupleHeader| {
            if h.t_xmax.is_valid() && !h.xmax_invalid() {
                plan.oldest_xid = older(plan.oldest_xid, h.t_xmax);
            }
        };
        let mut freeze_candidate = false;
        match res {
            HtsvResult::Dead if may_free(off) => {
                plan.unused.push(off);
                plan.removed_tuples += 1;
                continue;
            }
            HtsvResult::Dead => {
                // Died after the index pass looked: next VACUUM's.
                plan.any_used_left = true;
                plan.recently_dead += 1;
                continue;
            }
            HtsvResult::RecentlyDead => {
                plan.recently_dead += 1;
                freeze_candidate = true;
                if !prune_xid.is_valid() || h.t_xmax < prune_xid {
                    prune_xid = h.t_xmax;
                }
            }
            HtsvResult::DeleteInProgress => {
                plan.live += 1;
                freeze_candidate = true;
                if !prune_xid.is_valid() || h.t_xmax < prune_xid {
                    prune_xid = h.t_xmax;
                }
            }
            HtsvResult::Live => {
                plan.live += 1;
                freeze_candidate = true;
            }
            HtsvResult::InsertInProgress => {}
        }
        plan.any_used_left = true;
        keep_xmax(&mut plan, &h);
        if h.xmin_frozen() || !h.t_xmin.is_normal() {
            continue;
        }
        if freeze_candidate && h.t_xmin < cutoffs.freeze_limit {
            plan.frozen.push(off);
        } else {
            plan.oldest_xid = older(plan.oldest_xid, h.t_xmin);
        }
    }
    plan.prune_xid = prune_xid;
    Ok(plan)
}

/// Whether the page holds any line pointer in use (`count_nondeletable_pages`).
fn page_in_use(page: &Page<&[u8; BLCKSZ]>) -> bool {
    !page.is_new() && page.line_pointers().any(|(_, lp)| lp.is_used())
}

/// Estimated size of a record (header, block reference, payload).
fn record_size_estimate(main: usize, image: bool) -> u64 {
    (24 + 20 + main + if image { BLCKSZ } else { 0 }) as u64
}

impl<'a> HeapStorage<'a> {
    /// The heap pass of lazy VACUUM over every block (see the module doc).
    /// The caller holds ShareUpdateExclusiveLock on the relation.
    pub fn lazy_vacuum_heap(
        &self,
        rel: &HeapRelation,
        cutoffs: Cutoffs,
        xact: &dyn XactStatus,
        cost: &mut CostBalance,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
        progress: ProgressReporter,
        removable: Option<&HashSet<ItemPointer>>,
    ) -> PgResult<LazyVacuumResult> {
        let rel_pages = self.nblocks(rel)?;
        progress.update(progress::PARAM_PHASE, progress::PHASE_SCAN_HEAP);
        progress.update(progress::PARAM_TOTAL_HEAP_BLKS, rel_pages as i64);
        progress.update(
            progress::PARAM_MAX_DEAD_TUPLES,
            MAX_HEAP_TUPLES_PER_PAGE as i64,
        );
        let mut r = LazyVacuumResult {
            rel_pages,
            new_relfrozenxid: cutoffs.oldest_xmin,
            ..Default::default()
        };
        let mut oldest: Option<Xid> = None;
        for blkno in 0..rel_pages {
            cost.delay_point(check_interrupts)?;
            let reads_before = self.pool.stats().blocks_read;
            let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
            cost.charge_read(self.pool.stats().blocks_read == reads_before);
            let mut g = pin.lock_exclusive();
            let (plan, new_page) = {
                let page = Page::new(g.page());
                if page.is_new() {
                    (PagePlan::default(), true)
                } else {
                    (
                        plan_page(&page, rel, blkno, cutoffs, xact, removable)?,
                        false,
                    )
                }
            };
            progress.update(progress::PARAM_NUM_DEAD_TUPLES, plan.unused.len() as i64);
            r.tuples_removed += plan.removed_tuples;
            r.lpdead_freed += plan.lpdead;
            r.live_tuples += plan.live;
            r.recently_dead_tuples += plan.recently_dead;
            if let Some(x) = plan.oldest_xid {
                oldest = older(oldest, x);
            }
            if !plan.unused.is_empty() || !plan.frozen.is_empty() {
                self.vacuum_page(&mut g, &plan, cost, &mut r);
            } else if !plan.hints.is_empty() {
                {
                    let mut page = Page::new(g.page_mut());
                    for &(off, hints) in &plan.hints {
                        heap_page_set_hint_bits(&mut page, off, hints);
                    }
                }
                self.hint_dirtied(&mut g);
            }
            let (avail, in_use) = {
                let page = Page::new(g.page());
                if new_page {
                    (
                        BLCKSZ - crate::storage::page::bufpage::SIZE_OF_PAGE_HEADER_DATA,
                        false,
                    )
                } else {
                    (heap_page_free_space(&page), page_in_use(&page))
                }
            };
            if in_use {
                r.nonempty_pages = blkno + 1;
            }
            drop(g);
            drop(pin);
            fsm::fsm_record(self.pool, rel.locator, blkno, avail)?;
            progress.update(progress::PARAM_HEAP_BLKS_SCANNED, blkno as i64 + 1);
            progress.update(progress::PARAM_HEAP_BLKS_VACUUMED, blkno as i64 + 1);
        }
        progress.update(progress::PARAM_NUM_DEAD_TUPLES, 0);
        if let Some(x) = oldest {
            r.new_relfrozenxid = x.min(cutoffs.oldest_xmin);
        }
        Ok(r)
    }

    /// The first pass over a table with indexes (`lazy_scan_heap`'s dead
    /// item collection): the tuple ids of the tuples dead to everyone under
    /// `cutoffs`, and of `LP_DEAD` stubs. Read-only; the index pass removes
    /// their entries, and [`HeapStorage::lazy_vacuum_heap`] then frees
    /// exactly these.
    pub fn collect_dead_tuples(
        &self,
        rel: &HeapRelation,
        cutoffs: Cutoffs,
        xact: &dyn XactStatus,
        cost: &mut CostBalance,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<HashSet<ItemPointer>> {
        let mut dead = HashSet::new();
        self.scan_vacuum_status(
            rel,
            cutoffs.oldest_xmin,
            xact,
            &mut || cost.delay_point(check_interrupts),
            &mut |tid, status| {
                if matches!(status, None | Some(HtsvResult::Dead)) {
                    dead.insert(tid);
                }
            },
        )?;
        Ok(dead)
    }

    /// Every used line pointer's `satisfies_vacuum(oldest_xmin)` status
    /// (None for an `LP_DEAD` stub), page by page under share locks;
    /// `per_page` runs before each page (interrupts, cost delay).
    fn scan_vacuum_status(
        &self,
        rel: &HeapRelation,
        oldest_xmin: Xid,
        xact: &dyn XactStatus,
        per_page: &mut dyn FnMut() -> PgResult<()>,
        visit: &mut dyn FnMut(ItemPointer, Option<HtsvResult>),
    ) -> PgResult<BlockNumber> {
        let nblocks = self.nblocks(rel)?;
        for blkno in 0..nblocks {
            per_page()?;
            let pin = self.pool.read_buffer(main_tag(rel, blkno))?;
            let g = pin.lock_shared();
            let page = Page::new(g.page());
            if page.is_new() {
                continue;
            }
            for off in 1..=page.max_offset() {
                let tid = ItemPointer::new(blkno, off);
                if page.item_id(off).is_dead() {
                    visit(tid, None);
                    continue;
                }
                let Some(t) = tuple_at(&page, rel, blkno, off)? else {
                    continue;
                };
                let (res, _) = satisfies_vacuum(&HeapTupleHeader::read(t), oldest_xmin, xact);
                visit(tid, Some(res));
            }
        }
        Ok(nblocks)
    }

    /// One page's change and its record, in a critical section.
    fn vacuum_page(
        &self,
        g: &mut BufferLockGuard<'_>,
        plan: &PagePlan,
        cost: &mut CostBalance,
        r: &mut LazyVacuumResult,
    ) {
        let main = XlHeapVacuum {
            prune_xid: plan.prune_xid,
            unused: plan.unused.clone(),
            frozen: plan.frozen.clone(),
        }
        .encode();
        let image = self.wal.needs_full_page_image(g.lsn());
        {
            let _crit = CritSection::enter();
            {
                let mut page = Page::new(g.page_mut());
                for &(off, hints) in &plan.hints {
                    heap_page_set_hint_bits(&mut page, off, hints);
                }
                heap_page_vacuum_execute(&mut page, &plan.unused, &plan.frozen, plan.prune_xid)
                    .expect("the plan was made from this page under the same lock");
            }
            g.mark_dirty();
            self.log_change(
                XLOG_HEAP_VACUUM,
                Xid::INVALID,
                &main,
                &mut [LogBlock {
                    guard: g,
                    data: &[],
                    will_init: false,
                }],
            );
        }
        cost.charge_dirty();
        r.wal_records += 1;
        r.wal_fpi += image as u64;
        r.wal_bytes += record_size_estimate(main.len(), image);
        if !plan.unused.is_empty() {
            r.pages_with_removed += 1;
        }
        if !plan.frozen.is_empty() {
            r.pages_frozen += 1;
            r.tuples_frozen += plan.frozen.len() as u64;
        }
    }

    /// `count_nondeletable_pages`: looks at the pages from `from` up to the
    /// end again (someone may have used them since the scan) and returns
    /// one past the last page in use. The caller holds AccessExclusiveLock.
    pub fn count_nondeletable_pages(
        &self,
        rel: &HeapRelation,
        from: BlockNumber,
    ) -> PgResult<BlockNumber> {
        let nblocks = self.nblocks(rel)?;
        let mut blkno = nblocks;
        while blkno > from {
            let pin = self.pool.read_buffer(main_tag(rel, blkno - 1))?;
            let g = pin.lock_shared();
            if page_in_use(&Page::new(g.page())) {
                break;
            }
            blkno -= 1;
        }
        Ok(blkno)
    }

    /// Cuts the main fork to `nblocks` (`RelationTruncate`): the Storage
    /// `TRUNCATE` record is inserted and flushed first, then the buffers
    /// past the end are dropped, the file and the free space map cut. The
    /// caller holds AccessExclusiveLock and checked that the pages cut off
    /// hold nothing ([`HeapStorage::count_nondeletable_pages`]).
    pub fn truncate_heap(&self, rel: &HeapRelation, nblocks: BlockNumber) -> PgResult<()> {
        let current = self.nblocks(rel)?;
        if nblocks >= current {
            return Ok(());
        }
        let xl = XlSmgrTruncate {
            rel: rel.locator,
            nblocks,
        };
        let end = self.wal.insert(
            RmgrId::Storage,
            XLOG_SMGR_TRUNCATE,
            Xid::INVALID,
            &xl.encode(),
        );
        self.wal.flush(end)?;
        self.pool
            .drop_fork_buffers_from(rel.locator, ForkNumber::Main, nblocks)?;
        self.pool
            .smgr()
            .truncate(rel.locator, ForkNumber::Main, nblocks)?;
        fsm::fsm_truncate(self.pool, rel.locator, nblocks)
    }

    /// `heap_inplace_update`: overwrites the tuple at `tid` with `new_tuple`
    /// (same length; the header is kept, only the data after `t_hoff`
    /// changes) without a new version, WAL-logged as `INPLACE`. For
    /// VACUUM's statistics in `pg_class` and `pg_database`.
    pub fn inplace_update(
        &self,
        rel: &HeapRelation,
        tid: ItemPointer,
        new_tuple: &[u8],
    ) -> PgResult<()> {
        if !tid.is_valid() || tid.block() >= self.nblocks(rel)? {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "invalid tuple id {tid} for in-place update of \"{}\"",
                    rel.name
                ),
            ));
        }
        let pin = self.pool.read_buffer(main_tag(rel, tid.block()))?;
        let mut g = pin.lock_exclusive();
        let old = {
            let page = Page::new(g.page());
            match tuple_at(&page, rel, tid.block(), tid.offset())? {
                Some(t) => t.to_vec(),
                None => {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        format!("tuple {tid} of \"{}\" to update in place is gone", rel.name),
                    ));
                }
            }
        };
        let hoff = HeapTupleHeader::read(&old).t_hoff as usize;
        let new_hoff = HeapTupleHeader::read(new_tuple).t_hoff as usize;
        if old.len() != new_tuple.len() || hoff != new_hoff {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "in-place update of \"{}\" would change the tuple's length",
                    rel.name
                ),
            ));
        }
        let mut tuple = old.clone();
        tuple[hoff..].copy_from_slice(&new_tuple[hoff..]);
        if tuple == old {
            return Ok(());
        }
        let main = XlHeapInsert {
            offnum: tid.offset(),
        }
        .encode();
        let _crit = CritSection::enter();
        Page::new(g.page_mut())
            .get_item_mut(tid.offset())
            .copy_from_slice(&tuple);
        g.mark_dirty();
        self.log_change(
            XLOG_HEAP_INPLACE,
            Xid::INVALID,
            &main,
            &mut [LogBlock {
                guard: &mut g,
                data: &tuple,
                will_init: false,
            }],
        );
        Ok(())
    }

    /// ANALYZE's count (`acquire_sample_rows`, reading every page): live
    /// and dead rows by `satisfies_vacuum(oldest_xmin)`, under share locks.
    /// Returns (pages, live, dead).
    pub fn count_rows(
        &self,
        rel: &HeapRelation,
        oldest_xmin: Xid,
        xact: &dyn XactStatus,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<(BlockNumber, u64, u64)> {
        let (mut live, mut dead) = (0u64, 0u64);
        let nblocks = self.scan_vacuum_status(
            rel,
            oldest_xmin,
            xact,
            check_interrupts,
            &mut |_, status| match status {
                Some(HtsvResult::Live | HtsvResult::DeleteInProgress) => live += 1,
                None | Some(HtsvResult::Dead | HtsvResult::RecentlyDead) => dead += 1,
                Some(HtsvResult::InsertInProgress) => {}
            },
        )?;
        Ok((nblocks, live, dead))
    }

    /// VACUUM FULL's copy (`rewriteheap.c`, simplified): every tuple of
    /// `old` that is not Dead goes to `new` (whose file the caller created
    /// and logged), compacted, with `HEAP_XMIN_FROZEN` if its inserter
    /// committed before `cutoffs.freeze_limit`. Each new page is written
    /// through the buffer pool and logged whole (`NEWPAGE`). Update chains
    /// are not carried over: each copy's `t_ctid` points at itself (the
    /// caller holds AccessExclusiveLock, so nobody follows one meanwhile).
    pub fn rewrite(
        &self,
        old: &HeapRelation,
        new: &HeapRelation,
        cutoffs: Cutoffs,
        xact: &dyn XactStatus,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<RewriteResult> {
        let nblocks = self.nblocks(old)?;
        let mut res = RewriteResult {
            old_pages: nblocks,
            ..Default::default()
        };
        let mut buf = Box::new([0u8; BLCKSZ]);
        Page::new(&mut *buf).init(0);
        let mut new_blkno: BlockNumber = 0;
        let mut page_has_tuples = false;
        for blkno in 0..nblocks {
            check_interrupts()?;
            let mut copies = Vec::new();
            {
                let pin = self.pool.read_buffer(main_tag(old, blkno))?;
                let g = pin.lock_shared();
                let page = Page::new(g.page());
                if page.is_new() {
                    continue;
                }
                for off in 1..=page.max_offset() {
                    let Some(t) = tuple_at(&page, old, blkno, off)? else {
                        continue;
                    };
                    let mut h = HeapTupleHeader::read(t);
                    let (r, hints) = satisfies_vacuum(&h, cutoffs.oldest_xmin, xact);
                    h.t_infomask |= hints.0;
                    match r {
                        HtsvResult::Dead => {
                            res.removed += 1;
                            continue;
                        }
                        HtsvResult::RecentlyDead => res.recently_dead += 1,
                        _ => res.kept += 1,
                    }
                    if !matches!(r, HtsvResult::InsertInProgress)
                        && h.t_xmin.is_normal()
                        && h.t_xmin < cutoffs.freeze_limit
                    {
                        h.t_infomask |= HEAP_XMIN_FROZEN;
                    }
                    let mut copy = t.to_vec();
                    h.write(&mut copy);
                    copies.push(copy);
                }
            }
            for copy in copies {
                let mut page = Page::new(&mut *buf);
                if heap_page_add_tuple(&mut page, new_blkno, &copy).is_none() {
                    assert!(page_has_tuples, "a tuple always fits on an empty page");
                    self.write_new_page(new, new_blkno, &buf)?;
                    new_blkno += 1;
                    Page::new(&mut *buf).init(0);
                    let mut page = Page::new(&mut *buf);
                    heap_page_add_tuple(&mut page, new_blkno, &copy)
                        .expect("a tuple fits on an empty page");
                }
                page_has_tuples = true;
            }
        }
        if page_has_tuples {
            self.write_new_page(new, new_blkno, &buf)?;
            new_blkno += 1;
        }
        res.new_pages = new_blkno;
        Ok(res)
    }

    /// Writes a page built in memory as block `blkno` of `rel` (the next
    /// block), logged whole (`log_newpage`).
    fn write_new_page(
        &self,
        rel: &HeapRelation,
        blkno: BlockNumber,
        page: &[u8; BLCKSZ],
    ) -> PgResult<()> {
        let (mut locked, got) = self.pool.extend(rel.locator, ForkNumber::Main)?;
        assert_eq!(got, blkno, "VACUUM FULL's new file grew behind its back");
        let _crit = CritSection::enter();
        locked.page_mut().copy_from_slice(page);
        locked.mark_dirty();
        let end = loop {
            let redo = self.wal.redo_pointer();
            let refs = [BlockRef {
                tag: main_tag(rel, blkno),
                image: Some(locked.page()),
                data: &[],
            }];
            if let Some(end) = self.wal.insert_if_redo_unchanged(
                redo,
                RmgrId::Heap,
                XLOG_HEAP_NEWPAGE,
                Xid::INVALID,
                &[],
                &refs,
            ) {
                break end;
            }
        };
        let mut p = Page::new(locked.page_mut());
        p.set_lsn(end);
        p.assert_valid();
        Ok(())
    }
}

/// What VACUUM FULL's copy did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewriteResult {
    pub old_pages: BlockNumber,
    pub new_pages: BlockNumber,
    /// Dead tuples left behind.
    pub removed: u64,
    /// Tuples copied (live or in progress).
    pub kept: u64,
    /// Copied although deleted: an old snapshot may still see them.
    pub recently_dead: u64,
}

// ---------------------------------------------------------------------------
// The whole of VACUUM for one relation
// ---------------------------------------------------------------------------

/// What a caller of [`vacuum_relation`] provides: its lock manager,
/// snapshot and transaction status (for the catalog rows), interrupts and
/// where INFO messages go.
pub struct VacuumEnv<'a> {
    /// The database VACUUM runs in (for `pg_database` and progress).
    pub db_oid: crate::storage::types::Oid,
    pub db_name: &'a str,
    pub locks: &'a mut crate::storage::lock::lmgr::LockManager,
    pub snapshot: &'a crate::storage::xact::Snapshot,
    pub xact: &'a dyn XactStatus,
    pub check_interrupts: &'a mut dyn FnMut() -> PgResult<()>,
    /// INFO messages (VERBOSE) and WARNINGs.
    pub notice: &'a mut dyn FnMut(PgError),
}

/// The outcome of [`vacuum_relation`] (what VERBOSE prints and the
/// statistics collector is told).
#[derive(Clone, Debug, PartialEq)]
pub struct VacuumStats {
    pub heap: LazyVacuumResult,
    pub pages_removed: BlockNumber,
    pub rel_pages: BlockNumber,
    pub reltuples: f64,
    pub oldest_xmin: Xid,
    pub old_relfrozenxid: Xid,
    pub new_relfrozenxid: Xid,
    pub hits: u64,
    pub misses: u64,
    pub dirtied: u64,
    pub elapsed: Duration,
    /// False if the relation was skipped (dropped meanwhile, or the lock
    /// was not available to autovacuum).
    pub done: bool,
}

/// `relpages` and `reltuples` of each index of `table` (in place, as
/// PostgreSQL's `vac_update_relstats` of an index): its file's length and
/// the table's live rows, one entry each.
fn update_index_stats(
    table: &crate::catalog::TableDef,
    reltuples: f64,
    env: &VacuumEnv<'_>,
) -> PgResult<()> {
    let smgr = HeapStorage::this_process().pool.smgr();
    for index in &table.indexes {
        let pages = smgr.nblocks(index.locator(), ForkNumber::Main)?;
        crate::catalog::vacuum::update_relstats(
            env.db_oid,
            &index.as_relation(table),
            pages,
            reltuples,
            None,
            env.snapshot,
            env.xact,
        )?;
    }
    Ok(())
}

/// Lazy VACUUM of `table` (see the module doc): the entry point for the
/// VACUUM statement and for autovacuum workers. Takes (and leaves held
/// until the caller's transaction ends) ShareUpdateExclusiveLock; with
/// `opts.is_autovacuum` the lock is tried without waiting and the table
/// skipped if busy, as PostgreSQL's autovacuum does. Updates `pg_class`
/// and `pg_database` in place. The caller reports the counts to the
/// statistics collector.
pub fn vacuum_relation(
    table: &crate::catalog::TableDef,
    opts: &VacuumOptions,
    cost: &CostDelay,
    env: &mut VacuumEnv<'_>,
) -> PgResult<VacuumStats> {
    use crate::storage::lock::lmgr::{LockMode, LockResult, LockTag};
    let started = Instant::now();
    let rel = table.heap_relation();
    let tag = LockTag::Relation {
        db: table.db_oid,
        rel: table.oid,
    };
    let got = env.locks.lock_acquire(
        tag,
        LockMode::ShareUpdateExclusive,
        opts.is_autovacuum,
        &mut *env.check_interrupts,
    )?;
    let mut stats = VacuumStats {
        heap: LazyVacuumResult::default(),
        pages_removed: 0,
        rel_pages: 0,
        reltuples: 0.0,
        oldest_xmin: Xid::INVALID,
        old_relfrozenxid: Xid::INVALID,
        new_relfrozenxid: Xid::INVALID,
        hits: 0,
        misses: 0,
        dirtied: 0,
        elapsed: Duration::ZERO,
        done: false,
    };
    if got == LockResult::NotAvailable {
        return Ok(stats);
    }
    let heap = HeapStorage::this_process();
    if !heap.pool.smgr().exists(rel.locator, ForkNumber::Main)? {
        return Ok(stats); // dropped meanwhile
    }
    let full_name = format!("{}.{}.{}", env.db_name, table.namespace, table.name);
    if opts.verbose {
        (env.notice)(PgError::new(
            crate::utils::elog::Severity::Info,
            sqlstate::SUCCESSFUL_COMPLETION,
            format!("vacuuming \"{full_name}\""),
        ));
    }
    let progress = ProgressReporter::start(ProgressCommand::Vacuum, env.db_oid, table.oid);
    let result = (|| -> PgResult<()> {
        let oldest_xmin = crate::storage::xact::oldest_xmin();
        let cutoffs = Cutoffs::new(oldest_xmin, opts);
        let mut balance = CostBalance::new(*cost);
        // Indexes: collect the dead, remove their index entries, then free
        // exactly those (heap README rule 13).
        let removable = if table.indexes.is_empty() {
            None
        } else {
            let dead = heap.collect_dead_tuples(
                &rel,
                cutoffs,
                env.xact,
                &mut balance,
                &mut *env.check_interrupts,
            )?;
            progress.update(progress::PARAM_PHASE, progress::PHASE_VACUUM_INDEX);
            if !dead.is_empty() {
                for index in &table.indexes {
                    crate::storage::nbtree::bt_bulk_delete(
                        &heap,
                        &index.btree(),
                        &index.key_order(),
                        &mut |tid| dead.contains(&tid),
                    )?;
                }
            }
            Some(dead)
        };
        let r = heap.lazy_vacuum_heap(
            &rel,
            cutoffs,
            env.xact,
            &mut balance,
            &mut *env.check_interrupts,
            progress,
            removable.as_ref(),
        )?;
        // Truncation: only with AccessExclusiveLock, and only if free now.
        let mut rel_pages = r.rel_pages;
        if opts.truncate && r.nonempty_pages < r.rel_pages {
            progress.update(progress::PARAM_PHASE, progress::PHASE_TRUNCATE);
            let got = env.locks.lock_acquire(
                tag,
                LockMode::AccessExclusive,
                true,
                &mut *env.check_interrupts,
            )?;
            if got != LockResult::NotAvailable {
                let keep = heap.count_nondeletable_pages(&rel, r.nonempty_pages)?;
                let truncated = heap.truncate_heap(&rel, keep);
                // PostgreSQL releases it right after truncating, too.
                env.locks.lock_release(tag, LockMode::AccessExclusive);
                truncated?;
                rel_pages = heap.nblocks(&rel)?;
            }
        }
        progress.update(progress::PARAM_PHASE, progress::PHASE_FINAL_CLEANUP);
        let reltuples = r.live_tuples as f64;
        let old = crate::catalog::vacuum::relfrozenxid(env.db_oid, table, env.snapshot, env.xact)?;
        let new_frozen = match old {
            Some(o) if o > r.new_relfrozenxid => o,
            _ => r.new_relfrozenxid,
        };
        crate::catalog::vacuum::update_relstats(
            env.db_oid,
            table,
            rel_pages,
            reltuples,
            Some(new_frozen),
            env.snapshot,
            env.xact,
        )?;
        update_index_stats(table, reltuples, env)?;
        crate::catalog::vacuum::update_datfrozenxid(env.db_oid, env.snapshot, env.xact)?;
        stats.pages_removed = r.rel_pages - rel_pages;
        stats.rel_pages = rel_pages;
        stats.reltuples = reltuples;
        stats.oldest_xmin = oldest_xmin;
        stats.old_relfrozenxid = old.unwrap_or(Xid::INVALID);
        stats.new_relfrozenxid = new_frozen;
        stats.hits = balance.hits;
        stats.misses = balance.misses;
        stats.dirtied = balance.dirtied;
        stats.heap = r;
        stats.done = true;
        Ok(())
    })();
    progress.end();
    result?;
    stats.elapsed = started.elapsed();
    crate::utils::pgstat::report_vacuum(
        env.db_oid,
        table.oid,
        stats.heap.live_tuples as i64,
        stats.heap.recently_dead_tuples as i64,
        opts.is_autovacuum,
    );
    if opts.verbose {
        (env.notice)(PgError::new(
            crate::utils::elog::Severity::Info,
            sqlstate::SUCCESSFUL_COMPLETION,
            verbose_report(&full_name, &stats),
        ));
    }
    Ok(stats)
}

/// ANALYZE of `table` (`analyze_rel`): takes ShareUpdateExclusiveLock
/// (tried without waiting for autovacuum: Ok(None) if busy), counts live
/// and dead rows over every page, updates `pg_class.relpages/reltuples` in
/// place and reports to the statistics collector. Returns (pages, live,
/// dead). No per-column statistics (`pg_statistic`) yet.
pub fn analyze_relation(
    table: &crate::catalog::TableDef,
    verbose: bool,
    is_autovacuum: bool,
    env: &mut VacuumEnv<'_>,
) -> PgResult<Option<(BlockNumber, u64, u64)>> {
    use crate::storage::lock::lmgr::{LockMode, LockResult, LockTag};
    let tag = LockTag::Relation {
        db: table.db_oid,
        rel: table.oid,
    };
    let got = env.locks.lock_acquire(
        tag,
        LockMode::ShareUpdateExclusive,
        is_autovacuum,
        &mut *env.check_interrupts,
    )?;
    if got == LockResult::NotAvailable {
        return Ok(None);
    }
    let heap = HeapStorage::this_process();
    let rel = table.heap_relation();
    if !heap.pool.smgr().exists(rel.locator, ForkNumber::Main)? {
        return Ok(None);
    }
    if verbose {
        (env.notice)(PgError::new(
            crate::utils::elog::Severity::Info,
            sqlstate::SUCCESSFUL_COMPLETION,
            format!("analyzing \"{}.{}\"", table.namespace, table.name),
        ));
    }
    let oldest_xmin = crate::storage::xact::oldest_xmin();
    let (pages, live, dead) =
        heap.count_rows(&rel, oldest_xmin, env.xact, &mut *env.check_interrupts)?;
    crate::catalog::vacuum::update_relstats(
        env.db_oid,
        table,
        pages,
        live as f64,
        None,
        env.snapshot,
        env.xact,
    )?;
    update_index_stats(table, live as f64, env)?;
    if verbose {
        (env.notice)(PgError::new(
            crate::utils::elog::Severity::Info,
            sqlstate::SUCCESSFUL_COMPLETION,
            format!(
                "\"{}\": scanned {pages} of {pages} pages, containing {live} live rows and {dead} dead rows; {live} rows in sample, {live} estimated total rows",
                table.name
            ),
        ));
    }
    crate::utils::pgstat::report_analyze(
        env.db_oid,
        table.oid,
        live as i64,
        dead as i64,
        is_autovacuum,
    );
    Ok(Some((pages, live, dead)))
}

/// PostgreSQL 15's `finished vacuuming` INFO message (`heap_vacuum_rel`).
pub fn verbose_report(full_name: &str, s: &VacuumStats) -> String {
    let r = &s.heap;
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            100.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };
    let next = crate::storage::xact::next_xid();
    let mut out = format!("finished vacuuming \"{full_name}\": index scans: 0\n");
    out += &format!(
        "pages: {} removed, {} remain, {} scanned ({:.2}% of total)\n",
        s.pages_removed,
        s.rel_pages,
        r.rel_pages,
        pct(r.rel_pages as u64, r.rel_pages as u64)
    );
    out += &format!(
        "tuples: {} removed, {} remain, {} are dead but not yet removable\n",
        r.tuples_removed,
        r.live_tuples + r.recently_dead_tuples,
        r.recently_dead_tuples
    );
    out += &format!(
        "removable cutoff: {}, which was {} XIDs old when operation ended\n",
        s.oldest_xmin.0,
        next.0.saturating_sub(s.oldest_xmin.0)
    );
    if s.new_relfrozenxid > s.old_relfrozenxid && s.old_relfrozenxid.is_valid() {
        out += &format!(
            "new relfrozenxid: {}, which is {} XIDs ahead of previous value\n",
            s.new_relfrozenxid.0,
            s.new_relfrozenxid.0 - s.old_relfrozenxid.0
        );
    }
    if r.tuples_frozen > 0 {
        out += &format!(
            "frozen: {} pages from table ({:.2}% of total) had {} tuples frozen\n",
            r.pages_frozen,
            pct(r.pages_frozen, r.rel_pages as u64),
            r.tuples_frozen
        );
    }
    out += &format!(
        "index scan not needed: {} pages from table ({:.2}% of total) had {} dead item identifiers removed\n",
        r.pages_with_removed,
        pct(r.pages_with_removed, r.rel_pages as u64),
        r.tuples_removed + r.lpdead_freed
    );
    let secs = s.elapsed.as_secs_f64();
    let mb = |pages: u64| pages as f64 * BLCKSZ as f64 / (1024.0 * 1024.0);
    let (read_rate, write_rate) = if secs > 0.0 {
        (mb(s.misses) / secs, mb(s.dirtied) / secs)
    } else {
        (0.0, 0.0)
    };
    out += &format!("avg read rate: {read_rate:.3} MB/s, avg write rate: {write_rate:.3} MB/s\n");
    out += &format!(
        "buffer usage: {} hits, {} misses, {} dirtied\n",
        s.hits, s.misses, s.dirtied
    );
    out += &format!(
        "WAL usage: {} records, {} full page images, {} bytes\n",
        r.wal_records, r.wal_fpi, r.wal_bytes
    );
    out += &format!("system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: {secs:.2} s");
    out
}
