//! The free space map (PostgreSQL's `storage/freespace/`), simplified: a
//! flat `_fsm` fork holding **one byte per heap page**, the page's free
//! space in units of [`FSM_CAT_STEP`] (32) bytes, rounded down
//! (`fsm_space_avail_to_cat`). Not PostgreSQL's three-level binary tree:
//! a search reads the map pages in order (one map page covers
//! [`SLOTS_PER_FSM_PAGE`] heap pages — the page minus its header, about
//! 64 MiB of heap), which is a
//! few microseconds for the table sizes ferrogres serves.
//!
//! ```text
//!  _fsm block k:  [ page header | special space: SLOTS_PER_FSM_PAGE category bytes ]
//!                                slot i = heap block k * SLOTS_PER_FSM_PAGE + i
//! ```
//!
//! Map pages are ordinary initialised pages (so the buffer pool's checks
//! pass) whose special space is the byte array.
//!
//! # Rules
//!
//! F1. **The map is a hint.** Whoever takes a block from it checks the heap
//!     page itself under its exclusive lock; if the page has less room than
//!     the map claimed, it records the true amount ([`fsm_record`]) and asks
//!     again. A block beyond the heap's end is never returned.
//! F2. **Not WAL-logged**, as in PostgreSQL (only its truncation is, there;
//!     here the heap's truncation record covers it, and the search ignores
//!     slots past the end of the heap). After a crash the map may be stale
//!     or zero: space is then found again by the next VACUUM. The replay of
//!     a VACUUM page record records the page's free space, as PostgreSQL's
//!     `heap_xlog_prune` does.
//! F3. **Who writes it:** VACUUM after each page, inserters that found a
//!     page fuller than the map said, the redo of VACUUM records.
//! F4. **Locks:** a map page's content lock is a leaf: it is never held
//!     while another content lock is taken, except while extending the map
//!     fork (the extension lock of the `_fsm` fork).
//! F5. **Torn map pages:** a map page that fails its checks on read (a torn
//!     write with `data_checksums`) is an error for that search only; the
//!     caller treats the map as empty and extends the heap. The next
//!     VACUUM rewrites the page.

use crate::storage::buffer::BufferPool;
use crate::storage::page::Page;
use crate::storage::page::bufpage::SIZE_OF_PAGE_HEADER_DATA;
use crate::storage::types::{BLCKSZ, BlockNumber, BufferTag, ForkNumber, RelFileLocator};
use crate::utils::elog::PgResult;

/// Bytes of free space per category step (`FSM_CAT_STEP`).
pub const FSM_CAT_STEP: usize = BLCKSZ / 256;
/// Heap pages described by one map page.
pub const SLOTS_PER_FSM_PAGE: usize = BLCKSZ - SIZE_OF_PAGE_HEADER_DATA;

const _: () = assert!(SLOTS_PER_FSM_PAGE.is_multiple_of(8) && SLOTS_PER_FSM_PAGE > 8000);
const _: () = assert!(FSM_CAT_STEP == 32);

/// Category of `avail` free bytes, rounded down (`fsm_space_avail_to_cat`).
pub fn space_avail_to_cat(avail: usize) -> u8 {
    (avail / FSM_CAT_STEP).min(255) as u8
}

/// Smallest category that guarantees `need` bytes (`fsm_space_needed_to_cat`).
pub fn space_needed_to_cat(need: usize) -> u8 {
    need.div_ceil(FSM_CAT_STEP).clamp(1, 255) as u8
}

fn fsm_tag(rel: RelFileLocator, fsm_block: BlockNumber) -> BufferTag {
    BufferTag {
        rel,
        fork: ForkNumber::Fsm,
        block: fsm_block,
    }
}

fn location(heap_block: BlockNumber) -> (BlockNumber, usize) {
    (
        (heap_block as usize / SLOTS_PER_FSM_PAGE) as BlockNumber,
        heap_block as usize % SLOTS_PER_FSM_PAGE,
    )
}

/// Number of map pages (0 if the fork does not exist).
fn fsm_nblocks(pool: &BufferPool, rel: RelFileLocator) -> PgResult<BlockNumber> {
    let smgr = pool.smgr();
    if !smgr.exists(rel, ForkNumber::Fsm)? {
        return Ok(0);
    }
    smgr.nblocks(rel, ForkNumber::Fsm)
}

/// Makes sure map page `fsm_block` exists and is initialised (`fsm_extend`).
fn fsm_ensure(pool: &BufferPool, rel: RelFileLocator, fsm_block: BlockNumber) -> PgResult<()> {
    let smgr = pool.smgr();
    if !smgr.exists(rel, ForkNumber::Fsm)? {
        // Another process may create it at the same time: "exists" is fine.
        smgr.create(rel, ForkNumber::Fsm, true)?;
    }
    // Bounded: each round adds one page, and the target is fixed.
    let mut rounds = 0u32;
    while smgr.nblocks(rel, ForkNumber::Fsm)? <= fsm_block {
        let (mut locked, _) = pool.extend(rel, ForkNumber::Fsm)?;
        Page::new(locked.page_mut()).init(SLOTS_PER_FSM_PAGE);
        locked.mark_dirty();
        rounds += 1;
        assert!(
            rounds <= fsm_block + 2,
            "extending the free space map never ends"
        );
    }
    Ok(())
}

/// Records that heap block `heap_block` has `avail` bytes free
/// (`RecordPageWithFreeSpace`).
pub fn fsm_record(
    pool: &BufferPool,
    rel: RelFileLocator,
    heap_block: BlockNumber,
    avail: usize,
) -> PgResult<()> {
    let cat = space_avail_to_cat(avail);
    let (fsm_block, slot) = location(heap_block);
    if cat == 0 && fsm_nblocks(pool, rel)? <= fsm_block {
        return Ok(()); // absent means 0 already
    }
    fsm_ensure(pool, rel, fsm_block)?;
    let pin = pool.read_buffer(fsm_tag(rel, fsm_block))?;
    let mut g = pin.lock_exclusive();
    let mut page = Page::new(g.page_mut());
    if page.is_new() {
        page.init(SLOTS_PER_FSM_PAGE);
    }
    if page.special()[slot] != cat {
        page.special_mut()[slot] = cat;
        g.mark_dirty();
    }
    Ok(())
}

/// The category recorded for `heap_block` (0 if none).
pub fn fsm_get_avail_cat(
    pool: &BufferPool,
    rel: RelFileLocator,
    heap_block: BlockNumber,
) -> PgResult<u8> {
    let (fsm_block, slot) = location(heap_block);
    if fsm_nblocks(pool, rel)? <= fsm_block {
        return Ok(0);
    }
    let pin = pool.read_buffer(fsm_tag(rel, fsm_block))?;
    let g = pin.lock_shared();
    let page = Page::new(g.page());
    Ok(if page.is_new() {
        0
    } else {
        page.special()[slot]
    })
}

/// A heap block below `heap_nblocks`, other than `avoid`, that the map
/// says has room for `need` bytes (`GetPageWithFreeSpace`); the lowest
/// such block, so that tables stay compact. None if there is none.
pub fn fsm_search(
    pool: &BufferPool,
    rel: RelFileLocator,
    need: usize,
    heap_nblocks: BlockNumber,
    avoid: Option<BlockNumber>,
) -> PgResult<Option<BlockNumber>> {
    let want = space_needed_to_cat(need);
    let pages = fsm_nblocks(pool, rel)?;
    for fsm_block in 0..pages {
        let first = fsm_block as usize * SLOTS_PER_FSM_PAGE;
        if first >= heap_nblocks as usize {
            break;
        }
        let pin = pool.read_buffer(fsm_tag(rel, fsm_block))?;
        let g = pin.lock_shared();
        let page = Page::new(g.page());
        if page.is_new() {
            continue;
        }
        let n = (heap_nblocks as usize - first).min(SLOTS_PER_FSM_PAGE);
        let found = page.special()[..n]
            .iter()
            .enumerate()
            .find(|&(i, &c)| c >= want && Some((first + i) as BlockNumber) != avoid);
        if let Some((i, _)) = found {
            return Ok(Some((first + i) as BlockNumber));
        }
    }
    Ok(None)
}

/// After the heap was truncated to `heap_nblocks`: forgets the slots of
/// the blocks cut off and the map pages no longer needed
/// (`FreeSpaceMapPrepareTruncateRel` + truncation of the fork).
pub fn fsm_truncate(
    pool: &BufferPool,
    rel: RelFileLocator,
    heap_nblocks: BlockNumber,
) -> PgResult<()> {
    let pages = fsm_nblocks(pool, rel)?;
    if pages == 0 {
        return Ok(());
    }
    let (fsm_block, slot) = location(heap_nblocks);
    let keep = if slot == 0 { fsm_block } else { fsm_block + 1 };
    if slot != 0 && fsm_block < pages {
        let pin = pool.read_buffer(fsm_tag(rel, fsm_block))?;
        let mut g = pin.lock_exclusive();
        let mut page = Page::new(g.page_mut());
        if !page.is_new() {
            page.special_mut()[slot..].fill(0);
            g.mark_dirty();
        }
    }
    if keep < pages {
        pool.drop_fork_buffers_from(rel, ForkNumber::Fsm, keep)?;
        pool.smgr().truncate(rel, ForkNumber::Fsm, keep)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
