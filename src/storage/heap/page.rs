//! Heap operations on one page, with no buffer pool and no WAL: the
//! page-level halves of PostgreSQL's `hio.c` (`RelationPutHeapTuple`),
//! `heapam.c` (`heap_prepare_insert`, the xmax/ctid changes of
//! `heap_delete`, `heap_update` and `heap_lock_tuple`), `pruneheap.c` and
//! `vacuumlazy.c` (`lazy_vacuum_heap_page`).
//!
//! The heap access method calls these holding the buffer's pin and
//! exclusive content lock (a shared lock is enough for
//! [`heap_page_set_hint_bits`]), inside a critical section together with
//! the WAL insert that describes the change; redo calls the same functions
//! with the same arguments, so a change and its replay cannot diverge.

use std::borrow::{Borrow, BorrowMut};

use crate::storage::page::{ItemPointer, OffsetNumber, Page};
use crate::storage::types::{BLCKSZ, BlockNumber, Xid};

use super::htup::{
    CommandId, HEAP_HOT_UPDATED, HEAP_LOCK_MASK, HEAP_XACT_HINT_MASK, HEAP_XMAX_BITS,
    HEAP_XMAX_INVALID, HEAP_XMAX_LOCK_ONLY, HeapTupleHeader, MAX_HEAP_TUPLE_SIZE,
    MAX_HEAP_TUPLES_PER_PAGE, SIZEOF_HEAP_TUPLE_HEADER,
};
use super::visibility::{HintBits, HtsvResult, XactStatus, satisfies_vacuum};

/// Stamps a formed tuple as inserted by `xid` in command `cid`
/// (`heap_prepare_insert`): clears every transaction bit and hint, sets
/// `t_xmin`, `t_cid` and `HEAP_XMAX_INVALID`.
pub fn heap_prepare_insert(tuple: &mut [u8], xid: Xid, cid: CommandId) {
    assert!(xid.is_valid(), "insert without a transaction id");
    let mut h = HeapTupleHeader::read(tuple);
    h.t_infomask &= !(HEAP_XACT_HINT_MASK | HEAP_XMAX_BITS);
    h.t_infomask |= HEAP_XMAX_INVALID;
    h.t_infomask2 &= !(HEAP_HOT_UPDATED | super::htup::HEAP_ONLY_TUPLE);
    h.t_xmin = xid;
    h.t_xmax = Xid::INVALID;
    h.t_cid = cid;
    h.write(tuple);
}

/// Adds `tuple` to the page, which is block `blkno`, and sets its `t_ctid`
/// to its own id (`RelationPutHeapTuple`). Reuses an unused line pointer
/// if there is one. `None` if it does not fit, or the page already has
/// [`MAX_HEAP_TUPLES_PER_PAGE`] line pointers.
pub fn heap_page_add_tuple<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    blkno: BlockNumber,
    tuple: &[u8],
) -> Option<OffsetNumber> {
    assert!(
        tuple.len() >= SIZEOF_HEAP_TUPLE_HEADER && tuple.len() <= MAX_HEAP_TUPLE_SIZE,
        "heap tuple of {} bytes",
        tuple.len()
    );
    let off = match page.first_unused() {
        Some(off) => off,
        None if (page.max_offset() as usize) < MAX_HEAP_TUPLES_PER_PAGE => page.max_offset() + 1,
        None => return None,
    };
    heap_page_add_tuple_at(page, blkno, off, tuple)
}

/// Adds `tuple` at line pointer `off`, which must be unused or
/// `max_offset() + 1`: the redo of an insert, which must land where the
/// original did. Sets `t_ctid` to `(blkno, off)` and clears
/// `PD_ALL_VISIBLE` (the new tuple is not yet visible to all). `None` if it
/// does not fit or `off` is taken.
pub fn heap_page_add_tuple_at<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    blkno: BlockNumber,
    off: OffsetNumber,
    tuple: &[u8],
) -> Option<OffsetNumber> {
    assert!(
        off as usize <= MAX_HEAP_TUPLES_PER_PAGE,
        "heap tuple offset {off} beyond {MAX_HEAP_TUPLES_PER_PAGE}"
    );
    let off = page.add_item(tuple, Some(off))?;
    let item = page.get_item_mut(off);
    let mut h = HeapTupleHeader::read(item);
    h.t_ctid = ItemPointer::new(blkno, off);
    h.write(item);
    page.set_all_visible(false);
    Some(off)
}

/// The tuple at `off`, or `None` if its line pointer is unused, dead or a
/// redirect.
pub fn heap_page_get_tuple<B: Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    off: OffsetNumber,
) -> Option<&[u8]> {
    if page.item_id(off).is_normal() {
        Some(page.get_item(off))
    } else {
        None
    }
}

/// The tuple at `off`, writable, or `None` as [`heap_page_get_tuple`].
pub fn heap_page_get_tuple_mut<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    off: OffsetNumber,
) -> Option<&mut [u8]> {
    if page.item_id(off).is_normal() {
        Some(page.get_item_mut(off))
    } else {
        None
    }
}

/// The header of the tuple at `off`, which must be a normal line pointer.
pub fn heap_page_tuple_header<B: Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    off: OffsetNumber,
) -> HeapTupleHeader {
    let tuple = heap_page_get_tuple(page, off)
        .unwrap_or_else(|| panic!("no tuple at offset {off}: {:?}", page.item_id(off)));
    HeapTupleHeader::read(tuple)
}

fn update_header<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    off: OffsetNumber,
    f: impl FnOnce(&mut HeapTupleHeader),
) {
    let lp = page.item_id(off);
    let tuple = heap_page_get_tuple_mut(page, off)
        .unwrap_or_else(|| panic!("no tuple at offset {off}: {lp:?}"));
    let mut h = HeapTupleHeader::read(tuple);
    f(&mut h);
    h.write(tuple);
}

/// Sets `t_xmax` (heap_delete, heap_update, heap_lock_tuple). Every
/// previous xmax bit (hints, lock bits, `HEAP_HOT_UPDATED`) is cleared and
/// `infomask_bits` — a subset of `HEAP_XMAX_LOCK_ONLY | HEAP_LOCK_MASK` —
/// set: 0 for a delete or update, `HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK`
/// for FOR UPDATE. A delete or update also makes the page prunable once
/// `xmax` is old enough and clears `PD_ALL_VISIBLE` (the caller clears the
/// visibility-map bit); it must set cmax with [`heap_page_set_cmax`].
pub fn heap_page_set_xmax<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    off: OffsetNumber,
    xmax: Xid,
    infomask_bits: u16,
) {
    assert!(xmax.is_normal(), "xmax {xmax} is not a normal xid");
    assert_eq!(
        infomask_bits & !(HEAP_XMAX_LOCK_ONLY | HEAP_LOCK_MASK),
        0,
        "heap_page_set_xmax: bits {infomask_bits:#06x} do not describe xmax"
    );
    update_header(page, off, |h| {
        h.t_infomask &= !HEAP_XMAX_BITS;
        h.t_infomask |= infomask_bits;
        h.t_infomask2 &= !HEAP_HOT_UPDATED;
        h.t_xmax = xmax;
    });
    if infomask_bits & HEAP_XMAX_LOCK_ONLY == 0 {
        page.set_prunable(xmax);
        page.set_all_visible(false);
    }
}

/// Stores the deleting command's id in `t_cid`, replacing cmin (see the
/// module doc: no combo command ids).
pub fn heap_page_set_cmax<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    off: OffsetNumber,
    cmax: CommandId,
) {
    update_header(page, off, |h| h.t_cid = cmax);
}

/// Points `t_ctid` at the newer version of an updated row.
pub fn heap_page_set_ctid<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    off: OffsetNumber,
    ctid: ItemPointer,
) {
    assert!(ctid.is_valid(), "ctid {ctid} is invalid");
    update_header(page, off, |h| h.t_ctid = ctid);
}

/// ORs hint bits returned by a visibility check into `t_infomask`. The
/// caller must have held the buffer's content lock (shared suffices) since
/// the check, so xmax cannot have changed in between (README rule 9).
pub fn heap_page_set_hint_bits<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    off: OffsetNumber,
    hints: HintBits,
) {
    assert_eq!(
        hints.0 & !HEAP_XACT_HINT_MASK,
        0,
        "not hint bits: {:#06x}",
        hints.0
    );
    if hints.is_empty() {
        return;
    }
    update_header(page, off, |h| h.t_infomask |= hints.0);
}

/// The normal line pointers and their tuples, in offset order.
pub fn heap_page_tuples<B: Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
) -> impl Iterator<Item = (OffsetNumber, &[u8])> + '_ {
    page.line_pointers()
        .filter(|(_, lp)| lp.is_normal())
        .map(|(off, _)| (off, page.get_item(off)))
}

/// Room for a new tuple (`PageGetHeapFreeSpace`): the page's free space,
/// or 0 if no line pointer can be had.
pub fn heap_page_free_space<B: Borrow<[u8; BLCKSZ]>>(page: &Page<B>) -> usize {
    let space = page.free_space();
    if space > 0
        && page.max_offset() as usize >= MAX_HEAP_TUPLES_PER_PAGE
        && !(page.has_free_lines() && page.line_pointers().any(|(_, lp)| !lp.is_used()))
    {
        return 0;
    }
    space
}

/// `PageIsPrunable`: whether some deleter on the page may have become
/// invisible to everyone.
pub fn heap_page_is_prunable<B: Borrow<[u8; BLCKSZ]>>(page: &Page<B>, oldest_xmin: Xid) -> bool {
    let xid = page.prune_xid();
    xid.is_valid() && xid < oldest_xmin
}

/// What [`heap_page_prune`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneResult {
    /// Line pointers newly set `LP_DEAD`; index entries still point at
    /// them until VACUUM removes those and calls [`heap_page_mark_unused`].
    pub pruned: Vec<OffsetNumber>,
    /// Bytes of free space gained.
    pub freed_bytes: usize,
}

/// Removes the tuples no snapshot can see any more (a simplified
/// `heap_page_prune`): every tuple [`satisfies_vacuum`] calls `Dead` given
/// `oldest_xmin` loses its storage and its line pointer becomes `LP_DEAD`,
/// then the page is compacted. Line pointers keep their offsets. Hint bits
/// found on the way are set. `pd_prune_xid` becomes the oldest xmax still
/// to be waited for. The caller holds a cleanup lock (exclusive content
/// lock and the only pin), because tuples move.
///
/// Without HOT there are no chains to follow and no redirects; with HOT
/// this is where chains would be collapsed.
pub fn heap_page_prune<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    oldest_xmin: Xid,
    xacts: &dyn XactStatus,
) -> PruneResult {
    page.assert_valid();
    let free_before = page.exact_free_space();
    let mut pruned = Vec::new();
    let mut next_prune_xid = Xid::INVALID;
    for off in 1..=page.max_offset() {
        if !page.item_id(off).is_normal() {
            continue;
        }
        let header = heap_page_tuple_header(page, off);
        let (result, hints) = satisfies_vacuum(&header, oldest_xmin, xacts);
        heap_page_set_hint_bits(page, off, hints);
        match result {
            HtsvResult::Dead => {
                page.set_item_dead(off);
                pruned.push(off);
            }
            HtsvResult::RecentlyDead | HtsvResult::DeleteInProgress => {
                let xmax = header.t_xmax;
                if !next_prune_xid.is_valid() || xmax < next_prune_xid {
                    next_prune_xid = xmax;
                }
            }
            HtsvResult::Live | HtsvResult::InsertInProgress => {}
        }
    }
    if !pruned.is_empty() {
        page.repair_fragmentation();
    }
    page.set_prune_xid(next_prune_xid);
    page.set_full(false);
    let freed_bytes = page.exact_free_space() - free_before;
    PruneResult {
        pruned,
        freed_bytes,
    }
}

/// VACUUM's second pass (`lazy_vacuum_heap_page`): after the index
/// entries pointing at them are gone, the `LP_DEAD` line pointers at
/// `offsets` become unused and reusable, and unused ones at the end of the
/// array are truncated away.
pub fn heap_page_mark_unused<B: BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    offsets: &[OffsetNumber],
) {
    for &off in offsets {
        let lp = page.item_id(off);
        assert!(
            lp.is_dead() && !lp.has_storage(),
            "line pointer {off} is not dead: {lp:?}"
        );
        page.set_item_unused(off);
    }
    page.truncate_line_pointer_array();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::heap::htup::{HEAP_XMAX_EXCL_LOCK, HEAP_XMIN_COMMITTED, HEAP_XMIN_INVALID};
    use crate::storage::heap::tuple::{AttrType, Attribute, HeapValue, TupleDesc, form_tuple};
    use crate::storage::heap::visibility::XidStatus;

    struct Fates;
    impl XactStatus for Fates {
        fn status(&self, xid: Xid) -> XidStatus {
            match xid.0 {
                10..=19 => XidStatus::Committed,
                20..=29 => XidStatus::Aborted,
                _ => XidStatus::InProgress,
            }
        }
    }

    fn row(n: i32, text_len: usize) -> Vec<u8> {
        let desc = TupleDesc::new(vec![
            Attribute::new("n", AttrType::Int4),
            Attribute::new("t", AttrType::Text),
        ]);
        form_tuple(
            &desc,
            &[HeapValue::I32(n), HeapValue::Bytes(vec![b'x'; text_len])],
        )
        .unwrap()
    }

    fn insert(page: &mut Page<&mut [u8; BLCKSZ]>, xmin: Xid, n: i32) -> OffsetNumber {
        let mut t = row(n, 100);
        heap_prepare_insert(&mut t, xmin, 0);
        heap_page_add_tuple(page, 7, &t).unwrap()
    }

    #[test]
    fn added_tuple_points_at_itself_and_can_be_deleted() {
        let mut buf = Box::new([0u8; BLCKSZ]);
        let mut page = Page::new(&mut *buf);
        page.init(0);
        let off = insert(&mut page, Xid(10), 1);
        let h = heap_page_tuple_header(&page, off);
        assert_eq!(h.t_ctid, ItemPointer::new(7, off));
        assert_eq!(h.t_xmin, Xid(10));
        assert!(h.xmax_invalid());

        heap_page_set_xmax(
            &mut page,
            off,
            Xid(30),
            HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK,
        );
        assert!(heap_page_tuple_header(&page, off).xmax_is_locked_only());
        assert!(
            !page.prune_xid().is_valid(),
            "a row lock does not make the page prunable"
        );

        heap_page_set_xmax(&mut page, off, Xid(31), 0);
        heap_page_set_cmax(&mut page, off, 4);
        heap_page_set_ctid(&mut page, off, ItemPointer::new(8, 1));
        heap_page_set_hint_bits(&mut page, off, HintBits(HEAP_XMIN_COMMITTED));
        let h = heap_page_tuple_header(&page, off);
        assert_eq!(
            (h.t_xmax, h.t_cid, h.t_ctid),
            (Xid(31), 4, ItemPointer::new(8, 1))
        );
        assert!(h.has_deleter() && !h.xmax_is_locked_only() && h.xmin_committed());
        assert_eq!(page.prune_xid(), Xid(31));
        assert_eq!(heap_page_tuples(&page).count(), 1);
        page.check().unwrap();
    }

    #[test]
    fn redo_places_a_tuple_at_its_original_offset() {
        let mut buf = Box::new([0u8; BLCKSZ]);
        let mut page = Page::new(&mut *buf);
        page.init(0);
        page.set_all_visible(true);
        let mut t = row(1, 10);
        heap_prepare_insert(&mut t, Xid(10), 0);
        assert_eq!(heap_page_add_tuple_at(&mut page, 3, 1, &t), Some(1));
        assert!(!page.is_all_visible(), "insert clears PD_ALL_VISIBLE");
        assert_eq!(
            heap_page_add_tuple_at(&mut page, 3, 1, &t),
            None,
            "offset 1 is taken"
        );
        assert_eq!(heap_page_add_tuple_at(&mut page, 3, 2, &t), Some(2));
        assert_eq!(
            heap_page_tuple_header(&page, 2).t_ctid,
            ItemPointer::new(3, 2)
        );
    }

    #[test]
    fn prune_removes_dead_tuples_and_keeps_tuple_ids() {
        let mut buf = Box::new([0u8; BLCKSZ]);
        let mut page = Page::new(&mut *buf);
        page.init(0);
        let live = insert(&mut page, Xid(10), 1);
        let aborted = insert(&mut page, Xid(20), 2);
        let deleted_old = insert(&mut page, Xid(10), 3);
        heap_page_set_xmax(&mut page, deleted_old, Xid(11), 0);
        let deleted_recent = insert(&mut page, Xid(10), 4);
        heap_page_set_xmax(&mut page, deleted_recent, Xid(15), 0);
        let deleting = insert(&mut page, Xid(10), 5);
        heap_page_set_xmax(&mut page, deleting, Xid(40), 0);
        let inserting = insert(&mut page, Xid(41), 6);
        let before: Vec<(OffsetNumber, Vec<u8>)> = heap_page_tuples(&page)
            .map(|(o, t)| (o, t.to_vec()))
            .collect();
        assert!(heap_page_is_prunable(&page, Xid(14)));

        let result = heap_page_prune(&mut page, Xid(14), &Fates);
        assert_eq!(result.pruned, vec![aborted, deleted_old]);
        assert_eq!(
            result.freed_bytes,
            2 * 144,
            "two 140-byte tuples, MAXALIGNed"
        );
        assert!(page.item_id(aborted).is_dead() && page.item_id(deleted_old).is_dead());
        for (off, bytes) in &before {
            if *off == aborted || *off == deleted_old {
                assert!(heap_page_get_tuple(&page, *off).is_none());
                continue;
            }
            let now = heap_page_get_tuple(&page, *off).expect("survivor");
            // Same row; only hint bits may differ.
            assert_eq!(now[32..], bytes[32..], "row at {off} changed");
        }
        assert!(
            heap_page_tuple_header(&page, live).xmin_committed(),
            "hint set by prune"
        );
        assert_eq!(page.prune_xid(), Xid(15), "oldest xmax still to wait for");
        assert!(!heap_page_is_prunable(&page, Xid(14)));
        let _ = inserting;

        // VACUUM's second pass frees the line pointers for reuse.
        heap_page_mark_unused(&mut page, &result.pruned);
        assert_eq!(page.max_offset(), 6);
        let mut t = row(7, 10);
        heap_prepare_insert(&mut t, Xid(12), 0);
        assert_eq!(heap_page_add_tuple(&mut page, 7, &t), Some(aborted));
        page.check().unwrap();
    }

    #[test]
    fn aborted_insert_hint_is_kept_by_prune_and_page_limits_line_pointers() {
        let mut buf = Box::new([0u8; BLCKSZ]);
        let mut page = Page::new(&mut *buf);
        page.init(0);
        let desc = TupleDesc::new(vec![Attribute::new("b", AttrType::Bool)]);
        let mut t = form_tuple(&desc, &[HeapValue::Null]).unwrap();
        heap_prepare_insert(&mut t, Xid(20), 0);
        assert_eq!(t.len(), 32, "smallest tuple: header only");
        let mut n = 0;
        while heap_page_add_tuple(&mut page, 0, &t).is_some() {
            n += 1;
        }
        assert_eq!(n, MAX_HEAP_TUPLES_PER_PAGE);
        assert_eq!(heap_page_free_space(&page), 0);
        let r = heap_page_prune(&mut page, Xid(100), &Fates);
        assert_eq!(r.pruned.len(), MAX_HEAP_TUPLES_PER_PAGE);
        // Dead line pointers are not reusable until VACUUM marks them unused.
        assert!(heap_page_add_tuple(&mut page, 0, &t).is_none());
        heap_page_mark_unused(&mut page, &r.pruned);
        assert_eq!(page.max_offset(), 0);
        let mut h = HeapTupleHeader::read(&t);
        h.t_infomask |= HEAP_XMIN_INVALID;
        h.write(&mut t);
        heap_prepare_insert(&mut t, Xid(12), 3);
        assert_eq!(heap_page_add_tuple(&mut page, 0, &t), Some(1));
        let h = heap_page_tuple_header(&page, 1);
        assert_eq!(
            h.t_infomask & HEAP_XMIN_INVALID,
            0,
            "prepare_insert clears hints"
        );
        assert_eq!((h.t_xmin, h.t_cid), (Xid(12), 3));
    }
}
