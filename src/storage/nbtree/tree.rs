//! The B-tree access method's tree operations (PostgreSQL's
//! `nbtinsert.c`, `nbtsearch.c`, `nbtpage.c`, the bulk-delete part of
//! `nbtree.c` and amcheck's `bt_index_check`): pins, content locks and
//! WAL around the page functions of [`super::page`]. The rules are
//! `README.md`'s (N1–N10).

use std::cmp::Ordering;

use super::page::{
    BTP_LEAF, BTP_ROOT, BTREE_DEFAULT_FILLFACTOR, BTREE_MAGIC, BTREE_NONLEAF_FILLFACTOR,
    BTREE_VERSION, BtMeta, BtPageOpaque, IndexTuple, KeyOrder, MAX_KEY_SIZE, MINUS_INFINITY,
    P_HIKEY, P_NONE, data_items, high_key, high_key_ref, init_meta_page, init_tree_page,
    internal_position, leaf_position, must_move_right, rebuild_page, space_needed, split_point,
    tuple_at, tuple_ref_at,
};
use crate::storage::buffer::{BufferLockMode, LockedBuffer};
use crate::storage::heap::TupleDesc;
use crate::storage::heap::access::{CritSection, HeapRelation, HeapStorage};
use crate::storage::page::{ItemPointer, OffsetNumber, Page};
use crate::storage::types::{BLCKSZ, BlockNumber, BufferTag, ForkNumber, Oid, RelFileLocator, Xid};
use crate::storage::wal::{BlockRef, RmgrId};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// `XLOG_BTREE_INSERT_LEAF`: block 0's data is the offset (u16 LE) and
/// the tuple, inserted there.
pub const XLOG_BTREE_INSERT_LEAF: u8 = 0x00;
/// `XLOG_BTREE_PAGES`: every block carries its image: the pages of a
/// split (all levels, the new root and the metapage), a new metapage, a
/// page VACUUM cleaned (README N5).
pub const XLOG_BTREE_PAGES: u8 = 0x10;

/// `XLOG_BTREE_DELETE`: block 0's data is the offsets (u16 LE, ascending)
/// of the leaf items a scan found dead, removed (`Page::index_multi_delete`).
pub const XLOG_BTREE_DELETE: u8 = 0x20;

/// SQLSTATE `XX002` (`ERRCODE_INDEX_CORRUPTED`).
pub const INDEX_CORRUPTED: &str = "XX002";

/// What the B-tree needs to know about an index relation.
#[derive(Clone, Debug)]
pub struct BtreeRelation {
    pub oid: Oid,
    /// Database oid (0 for a shared catalog's index).
    pub db_oid: Oid,
    pub name: String,
    pub locator: RelFileLocator,
}

impl BtreeRelation {
    fn tag(&self, block: BlockNumber) -> BufferTag {
        BufferTag {
            rel: self.locator,
            fork: ForkNumber::Main,
            block,
        }
    }

    /// The relation as the storage functions shared with the heap see it.
    fn as_heap(&self) -> HeapRelation {
        HeapRelation {
            oid: self.oid,
            db_oid: self.db_oid,
            name: self.name.clone(),
            locator: self.locator,
            desc: TupleDesc::new(Vec::new()),
        }
    }
}

fn corrupt(rel: &BtreeRelation, what: String) -> PgError {
    PgError::error(
        INDEX_CORRUPTED,
        format!("index \"{}\" is corrupted: {what}", rel.name),
    )
}

/// Creates the index's file and its metapage (an empty tree), WAL-logged.
/// Like the heap's storage, not undone by an abort: the caller drops it.
pub fn bt_create(s: &HeapStorage<'_>, rel: &BtreeRelation) -> PgResult<()> {
    s.create_storage(&rel.as_heap())?;
    let (mut meta, blkno) = s.pool.extend(rel.locator, ForkNumber::Main)?;
    assert_eq!(blkno, 0, "a new index's file is empty");
    let _crit = CritSection::enter();
    init_meta_page(
        &mut Page::new(meta.page_mut()),
        BtMeta {
            magic: BTREE_MAGIC,
            version: BTREE_VERSION,
            root: P_NONE,
            level: 0,
        },
    );
    meta.mark_dirty();
    log_pages(s, &mut [meta]);
    Ok(())
}

/// The metapage's contents (read under its share lock, released at once:
/// README N3).
fn read_meta(s: &HeapStorage<'_>, rel: &BtreeRelation) -> PgResult<BtMeta> {
    let pin = s.pool.read_buffer(rel.tag(0))?;
    let g = pin.lock_shared();
    BtMeta::read(&Page::new(g.page())).ok_or_else(|| {
        PgError::error(
            INDEX_CORRUPTED,
            format!("index \"{}\" is not a btree", rel.name),
        )
    })
}

/// The metapage, locked exclusively to change the root, and its contents.
fn lock_meta<'p>(s: &HeapStorage<'p>, rel: &BtreeRelation) -> PgResult<(LockedBuffer<'p>, BtMeta)> {
    let meta = s
        .pool
        .read_buffer(rel.tag(0))?
        .into_locked(BufferLockMode::Exclusive);
    let m =
        BtMeta::read(&Page::new(meta.page())).ok_or_else(|| corrupt(rel, "bad metapage".into()))?;
    Ok((meta, m))
}

/// Logs every page in `pages` by its image, in one record, and sets their
/// LSNs (README N5). Call inside the critical section that changed them.
fn log_pages(s: &HeapStorage<'_>, pages: &mut [LockedBuffer<'_>]) {
    let images: Vec<Box<[u8; BLCKSZ]>> = pages.iter().map(|g| Box::new(*g.page())).collect();
    let end = loop {
        let redo = s.wal.redo_pointer();
        let refs: Vec<BlockRef<'_>> = pages
            .iter()
            .zip(&images)
            .map(|(g, img)| BlockRef {
                tag: g.tag(),
                image: Some(img),
                data: &[],
            })
            .collect();
        if let Some(end) = s.wal.insert_if_redo_unchanged(
            redo,
            RmgrId::Btree,
            XLOG_BTREE_PAGES,
            Xid::INVALID,
            &[],
            &refs,
        ) {
            break end;
        }
    };
    for g in pages.iter_mut() {
        let mut page = Page::new(g.page_mut());
        page.set_lsn(end);
        if cfg!(debug_assertions) {
            page.assert_valid();
        }
    }
}

/// `_bt_search`: from the root to the leaf `key` belongs on, moving right
/// past pages split since their parent was read (Lehman and Yao). One
/// page is locked at a time (README N2); the leaf comes back locked,
/// exclusively when `for_write`, with the blocks of the internal pages
/// passed on the way (the stack a split uses to find parents). None while
/// the tree has no root.
fn descend<'p>(
    s: &HeapStorage<'p>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    key: &IndexTuple,
    for_write: bool,
) -> PgResult<Option<(Vec<BlockNumber>, BlockNumber, LockedBuffer<'p>)>> {
    let meta = read_meta(s, rel)?;
    if meta.root == P_NONE {
        return Ok(None);
    }
    let mut blk = meta.root;
    let mut stack = Vec::new();
    let leaf_mode = if for_write {
        BufferLockMode::Exclusive
    } else {
        BufferLockMode::Shared
    };
    let mut mode = if meta.level == 0 {
        leaf_mode
    } else {
        BufferLockMode::Shared
    };
    loop {
        let (buf, at) = move_right(s, rel, order, key, blk, mode)?;
        blk = at;
        let (o, child) = {
            let page = Page::new(buf.page());
            let o = BtPageOpaque::read(&page);
            if o.is_leaf() {
                (o, None)
            } else {
                let off = internal_position(&page, key, order);
                (o, Some(tuple_ref_at(&page, off).child))
            }
        };
        let Some(child) = child else {
            if mode != leaf_mode {
                // The root was a leaf read under a share lock for a write:
                // only possible if levels shrank, which they never do.
                return Err(corrupt(
                    rel,
                    format!("leaf {blk} reached with the wrong lock"),
                ));
            }
            return Ok(Some((stack, blk, buf)));
        };
        stack.push(blk);
        mode = if o.level == 1 {
            leaf_mode
        } else {
            BufferLockMode::Shared
        };
        drop(buf);
        blk = child;
    }
}

/// `_bt_moveright`: locks `blk` in `mode`, then follows right-links while
/// the page's high key is lower than `key`. Returns the page and its block.
fn move_right<'p>(
    s: &HeapStorage<'p>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    key: &IndexTuple,
    mut blk: BlockNumber,
    mode: BufferLockMode,
) -> PgResult<(LockedBuffer<'p>, BlockNumber)> {
    let mut hops = 0u64;
    loop {
        let buf = s.pool.read_buffer(rel.tag(blk))?.into_locked(mode);
        let next = {
            let page = Page::new(buf.page());
            if page.is_new() {
                return Err(corrupt(rel, format!("block {blk} is not initialised")));
            }
            if !must_move_right(&page, key, order) {
                None
            } else {
                Some(BtPageOpaque::read(&page).next)
            }
        };
        match next {
            None => return Ok((buf, blk)),
            Some(n) => {
                drop(buf);
                blk = n;
                hops += 1;
                if hops > u32::MAX as u64 {
                    return Err(corrupt(rel, "right-links form a cycle".into()));
                }
            }
        }
    }
}

/// `_bt_doinsert`: adds the entry `(key, tid)`. 54000 for a key larger
/// than [`MAX_KEY_SIZE`].
pub fn bt_insert(
    s: &HeapStorage<'_>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    key: Vec<u8>,
    tid: ItemPointer,
) -> PgResult<()> {
    if key.len() > MAX_KEY_SIZE {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            format!(
                "index row size {} exceeds btree version 4 maximum {} for index \"{}\"",
                key.len() + super::page::INDEX_TUPLE_HEADER,
                MAX_KEY_SIZE + super::page::INDEX_TUPLE_HEADER,
                rel.name
            ),
        )
        .with_hint("Values larger than 1/3 of a buffer page cannot be indexed."));
    }
    let item = IndexTuple::leaf(key, tid);
    loop {
        match descend(s, rel, order, &item, true)? {
            Some((stack, blk, leaf)) => {
                return insert_on_page(s, rel, order, stack, blk, leaf, item);
            }
            None => {
                if create_root(s, rel, &item)? {
                    return Ok(());
                }
                // Someone else made the root first: descend again.
            }
        }
    }
}

/// The first insert into an empty tree: a leaf root holding `item`.
/// False if another backend created the root meanwhile.
fn create_root(s: &HeapStorage<'_>, rel: &BtreeRelation, item: &IndexTuple) -> PgResult<bool> {
    let (mut meta, m) = lock_meta(s, rel)?;
    if m.root != P_NONE {
        return Ok(false);
    }
    let (mut root, blk) = s.pool.extend(rel.locator, ForkNumber::Main)?;
    let _crit = CritSection::enter();
    {
        let mut page = Page::new(root.page_mut());
        init_tree_page(
            &mut page,
            BtPageOpaque {
                prev: P_NONE,
                next: P_NONE,
                level: 0,
                flags: BTP_LEAF | BTP_ROOT,
            },
        );
        assert!(
            page.insert_item_at(&item.encode(), P_HIKEY),
            "one item fits"
        );
    }
    init_meta_page(
        &mut Page::new(meta.page_mut()),
        BtMeta {
            root: blk,
            level: 0,
            ..m
        },
    );
    root.mark_dirty();
    meta.mark_dirty();
    log_pages(s, &mut [meta, root]);
    Ok(true)
}

/// Inserts `item` on the exclusively locked `page` (block `blk`, reached
/// by `stack`): in place when it fits (one `INSERT_LEAF` record), else by
/// splitting it and inserting the separator into the parent, level by
/// level, all pages changed logged in one record (README N4, N5).
fn insert_on_page<'p>(
    s: &HeapStorage<'p>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    mut stack: Vec<BlockNumber>,
    mut blk: BlockNumber,
    mut cur: LockedBuffer<'p>,
    mut item: IndexTuple,
) -> PgResult<()> {
    let encoded = item.encode();
    let off = {
        let page = Page::new(cur.page());
        let off = leaf_position(&page, &item, order);
        if off <= page.max_offset() && tuple_at(&page, off).compare(&item, order) == Ordering::Equal
        {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "duplicate entry {:?} inserted into index \"{}\"",
                    item.tid, rel.name
                ),
            ));
        }
        if page.exact_free_space() >= space_needed(&encoded) {
            Some(off)
        } else {
            None
        }
    };
    if let Some(off) = off {
        insert_leaf_logged(s, &mut cur, off, &encoded);
        return Ok(());
    }

    // Split (`_bt_split`, `_bt_insert_parent`, `_bt_newroot`). Every
    // change from here on is in memory under locks until the one record
    // is written, so the critical section starts before the first.
    let _crit = CritSection::enter();
    let mut changed: Vec<LockedBuffer<'p>> = Vec::new();
    let mut pos = {
        let page = Page::new(cur.page());
        let o = BtPageOpaque::read(&page);
        (leaf_position(&page, &item, order) - o.first_data_key()) as usize
    };
    loop {
        let o = BtPageOpaque::read(&Page::new(cur.page()));
        let encoded = item.encode();
        let fits = Page::new(cur.page()).exact_free_space() >= space_needed(&encoded);
        if fits {
            let mut page = Page::new(cur.page_mut());
            let at = o.first_data_key() + pos as OffsetNumber;
            assert!(page.insert_item_at(&encoded, at), "checked that it fits");
            cur.mark_dirty();
            changed.push(cur);
            break;
        }
        // The page splits: only now are its items read out.
        let (old_hk, mut items) = {
            let page = Page::new(cur.page());
            (high_key(&page), data_items(&page))
        };
        // Ascending keys (the new item last on the rightmost page) leave the
        // left page as full as the fillfactor asks, not half empty.
        let appending = o.is_rightmost() && pos == items.len();
        items.insert(pos, item);
        let left_percent = match (appending, o.is_leaf()) {
            (false, _) => 50,
            (true, true) => BTREE_DEFAULT_FILLFACTOR,
            (true, false) => BTREE_NONLEAF_FILLFACTOR,
        };
        let k = split_point(
            &items.iter().map(IndexTuple::encode).collect::<Vec<_>>(),
            left_percent,
        );
        let mut right_items = items.split_off(k);
        let left_items = items;
        let (mut right, right_blk) = s.pool.extend(rel.locator, ForkNumber::Main)?;
        let first = right_items[0].clone();
        let separator = IndexTuple {
            tid: first.tid,
            child: right_blk,
            flags: 0,
            key: first.key.clone(),
        };
        if !o.is_leaf() {
            // The right page's first downlink covers everything below its
            // old key: it becomes minus infinity there.
            right_items[0].key.clear();
            right_items[0].flags |= MINUS_INFINITY;
        }
        let left_hk = IndexTuple {
            child: P_NONE,
            ..separator.clone()
        };
        let flags = o.flags & !BTP_ROOT;
        rebuild_page(
            &mut Page::new(right.page_mut()),
            BtPageOpaque {
                prev: blk,
                next: o.next,
                level: o.level,
                flags,
            },
            old_hk.as_ref(),
            &right_items,
        );
        rebuild_page(
            &mut Page::new(cur.page_mut()),
            BtPageOpaque {
                prev: o.prev,
                next: right_blk,
                level: o.level,
                flags,
            },
            Some(&left_hk),
            &left_items,
        );
        cur.mark_dirty();
        right.mark_dirty();
        if o.next != P_NONE {
            let mut sib = s
                .pool
                .read_buffer(rel.tag(o.next))?
                .into_locked(BufferLockMode::Exclusive);
            let mut page = Page::new(sib.page_mut());
            let mut so = BtPageOpaque::read(&page);
            if so.prev != blk {
                return Err(corrupt(
                    rel,
                    format!(
                        "right sibling {} of block {blk} points back at {}",
                        o.next, so.prev
                    ),
                ));
            }
            so.prev = right_blk;
            so.write(&mut page);
            sib.mark_dirty();
            changed.push(sib);
        }
        let left_blk = blk;
        changed.push(cur);
        changed.push(right);

        if o.flags & BTP_ROOT != 0 {
            // `_bt_newroot`: a root one level up with two downlinks.
            let (mut root, root_blk) = s.pool.extend(rel.locator, ForkNumber::Main)?;
            {
                let mut page = Page::new(root.page_mut());
                init_tree_page(
                    &mut page,
                    BtPageOpaque {
                        prev: P_NONE,
                        next: P_NONE,
                        level: o.level + 1,
                        flags: BTP_ROOT,
                    },
                );
                let low = IndexTuple {
                    tid: ItemPointer::INVALID,
                    child: left_blk,
                    flags: MINUS_INFINITY,
                    key: Vec::new(),
                };
                assert!(page.insert_item_at(&low.encode(), 1), "two downlinks fit");
                assert!(
                    page.insert_item_at(&separator.encode(), 2),
                    "two downlinks fit"
                );
            }
            root.mark_dirty();
            let (mut meta, m) = lock_meta(s, rel)?;
            init_meta_page(
                &mut Page::new(meta.page_mut()),
                BtMeta {
                    root: root_blk,
                    level: o.level + 1,
                    ..m
                },
            );
            meta.mark_dirty();
            changed.push(root);
            changed.push(meta);
            break;
        }

        // `_bt_getstackbuf`: the parent holding the downlink to the left
        // half, moving right if the parent split meanwhile; from a fresh
        // descent when the stack ran out (the root split since ours).
        let parent_guess = match stack.pop() {
            Some(p) => p,
            None => find_level_page(s, rel, order, &separator, o.level + 1)?,
        };
        let (parent, parent_blk, downlink) = find_downlink(s, rel, parent_guess, left_blk)?;
        let pfirst = BtPageOpaque::read(&Page::new(parent.page())).first_data_key();
        pos = (downlink + 1 - pfirst) as usize;
        cur = parent;
        blk = parent_blk;
        item = separator;
    }
    log_pages(s, &mut changed);
    Ok(())
}

/// A simple leaf insert and its `INSERT_LEAF` record (with the page's
/// image when it is the first change since the redo pointer).
fn insert_leaf_logged(
    s: &HeapStorage<'_>,
    cur: &mut LockedBuffer<'_>,
    off: OffsetNumber,
    tuple: &[u8],
) {
    let _crit = CritSection::enter();
    {
        let mut page = Page::new(cur.page_mut());
        assert!(page.insert_item_at(tuple, off), "checked that it fits");
    }
    cur.mark_dirty();
    let mut data = Vec::with_capacity(2 + tuple.len());
    data.extend_from_slice(&off.to_le_bytes());
    data.extend_from_slice(tuple);
    log_leaf_change(s, cur, XLOG_BTREE_INSERT_LEAF, &data);
}

/// Logs a change already made to one page (in the caller's critical
/// section) as record `info` with `data` for its block, or with the page's
/// image when it is the first change since the redo pointer, and stamps
/// the page with the record's LSN.
fn log_leaf_change(s: &HeapStorage<'_>, cur: &mut LockedBuffer<'_>, info: u8, data: &[u8]) {
    let end = loop {
        let redo = s.wal.redo_pointer();
        let image = s
            .wal
            .needs_full_page_image(Page::new(cur.page()).lsn())
            .then(|| Box::new(*cur.page()));
        let refs = [BlockRef {
            tag: cur.tag(),
            image: image.as_deref(),
            data: if image.is_some() { &[] } else { data },
        }];
        if let Some(end) =
            s.wal
                .insert_if_redo_unchanged(redo, RmgrId::Btree, info, Xid::INVALID, &[], &refs)
        {
            break end;
        }
    };
    let mut page = Page::new(cur.page_mut());
    page.set_lsn(end);
    if cfg!(debug_assertions) {
        page.assert_valid();
    }
}

/// The page at `level` that `key` belongs on, from a fresh descent (its
/// block; nothing stays locked).
fn find_level_page(
    s: &HeapStorage<'_>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    key: &IndexTuple,
    level: u32,
) -> PgResult<BlockNumber> {
    let meta = read_meta(s, rel)?;
    let mut blk = meta.root;
    loop {
        let (buf, at) = move_right(s, rel, order, key, blk, BufferLockMode::Shared)?;
        let page = Page::new(buf.page());
        let o = BtPageOpaque::read(&page);
        if o.level == level {
            return Ok(at);
        }
        if o.level < level || o.is_leaf() {
            return Err(corrupt(rel, format!("no page at level {level}")));
        }
        blk = tuple_ref_at(&page, internal_position(&page, key, order)).child;
    }
}

/// Locks `blk` exclusively and finds the item whose downlink is `child`,
/// following right-links: (page, its block, the item's offset).
fn find_downlink<'p>(
    s: &HeapStorage<'p>,
    rel: &BtreeRelation,
    mut blk: BlockNumber,
    child: BlockNumber,
) -> PgResult<(LockedBuffer<'p>, BlockNumber, OffsetNumber)> {
    loop {
        let buf = s
            .pool
            .read_buffer(rel.tag(blk))?
            .into_locked(BufferLockMode::Exclusive);
        let (found, next) = {
            let page = Page::new(buf.page());
            let o = BtPageOpaque::read(&page);
            let found = (o.first_data_key()..=page.max_offset())
                .find(|&off| tuple_ref_at(&page, off).child == child);
            (found, o.next)
        };
        if let Some(off) = found {
            return Ok((buf, blk, off));
        }
        if next == P_NONE {
            return Err(corrupt(
                rel,
                format!("failed to re-find parent key for split pages {child}"),
            ));
        }
        drop(buf);
        blk = next;
    }
}

/// Calls `visit` with every entry `(key, tid)` from the first not lower
/// than `(start, tid 0)` (all entries when None), in order, until it
/// returns false. Each leaf's entries are copied under its share lock,
/// which is released before `visit` runs (README N6).
pub fn bt_scan(
    s: &HeapStorage<'_>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    start: Option<&[u8]>,
    visit: &mut dyn FnMut(&[u8], ItemPointer) -> PgResult<bool>,
) -> PgResult<()> {
    let key = match start {
        Some(k) => IndexTuple::leaf(k.to_vec(), ItemPointer::new(0, 0)),
        None => IndexTuple {
            tid: ItemPointer::INVALID,
            child: P_NONE,
            flags: MINUS_INFINITY,
            key: Vec::new(),
        },
    };
    let Some((_, _, mut buf)) = descend(s, rel, order, &key, false)? else {
        return Ok(());
    };
    // Each leaf is copied out and its lock released before `visit` runs
    // (it may read heap pages); entries are read from the copy in place,
    // as far as `visit` wants them.
    let mut copy: Box<[u8; BLCKSZ]> = Box::new(*buf.page());
    let mut first = true;
    loop {
        drop(buf);
        let page = Page::new(&*copy);
        let o = BtPageOpaque::read(&page);
        let from = if first {
            leaf_position(&page, &key, order)
        } else {
            o.first_data_key()
        };
        first = false;
        for off in from..=page.max_offset() {
            let e = tuple_ref_at(&page, off);
            if !visit(e.key, e.tid)? {
                return Ok(());
            }
        }
        if o.next == P_NONE {
            return Ok(());
        }
        buf = s
            .pool
            .read_buffer(rel.tag(o.next))?
            .into_locked(BufferLockMode::Shared);
        copy.copy_from_slice(buf.page());
    }
}

/// `btbulkdelete`: removes every leaf entry whose heap tuple id `dead`
/// names, page by page from the leftmost leaf, each cleaned page logged
/// by its image. Returns how many were removed. Emptied pages stay in
/// the tree (no page deletion yet: README N8).
pub fn bt_bulk_delete(
    s: &HeapStorage<'_>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    dead: &mut dyn FnMut(ItemPointer) -> bool,
) -> PgResult<u64> {
    let leftmost = IndexTuple {
        tid: ItemPointer::INVALID,
        child: P_NONE,
        flags: MINUS_INFINITY,
        key: Vec::new(),
    };
    let Some((_, mut blk, buf)) = descend(s, rel, order, &leftmost, false)? else {
        return Ok(0);
    };
    drop(buf);
    let mut removed = 0u64;
    loop {
        let mut buf = s
            .pool
            .read_buffer(rel.tag(blk))?
            .into_locked(BufferLockMode::Exclusive);
        let (o, hk, items) = {
            let page = Page::new(buf.page());
            (
                BtPageOpaque::read(&page),
                high_key(&page),
                data_items(&page),
            )
        };
        removed += remove_items(s, &mut buf, o, hk.as_ref(), &items, &mut |t| dead(t.tid));
        drop(buf);
        if o.next == P_NONE {
            return Ok(removed);
        }
        blk = o.next;
    }
}

/// Rebuilds the locked leaf without the `items` `doomed` picks, logged by
/// its image; how many went.
fn remove_items(
    s: &HeapStorage<'_>,
    buf: &mut LockedBuffer<'_>,
    o: BtPageOpaque,
    hk: Option<&IndexTuple>,
    items: &[IndexTuple],
    doomed: &mut dyn FnMut(&IndexTuple) -> bool,
) -> u64 {
    let keep: Vec<IndexTuple> = items.iter().filter(|t| !doomed(t)).cloned().collect();
    if keep.len() == items.len() {
        return 0;
    }
    let _crit = CritSection::enter();
    rebuild_page(&mut Page::new(buf.page_mut()), o, hk, &keep);
    buf.mark_dirty();
    log_pages(s, std::slice::from_mut(buf));
    (items.len() - keep.len()) as u64
}

/// `_bt_delitems_delete` reached from a scan: removes the entries with
/// key `key` whose heap tuple ids `dead` names — tuples the caller found
/// dead to every snapshot, as VACUUM would (README N7: their heap line
/// pointers stay until VACUUM). Walks right from the key's first leaf
/// while the key may continue there. Returns how many were removed.
pub fn bt_delete_entries(
    s: &HeapStorage<'_>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
    key: &[u8],
    dead: &dyn Fn(ItemPointer) -> bool,
) -> PgResult<u64> {
    let start = IndexTuple::leaf(key.to_vec(), ItemPointer::new(0, 0));
    let Some((_, _, mut buf)) = descend(s, rel, order, &start, true)? else {
        return Ok(0);
    };
    let mut removed = 0u64;
    loop {
        let (o, more, doomed) = {
            let page = Page::new(buf.page());
            let o = BtPageOpaque::read(&page);
            // The key's entries are contiguous from its first position.
            let doomed: Vec<OffsetNumber> = (leaf_position(&page, &start, order)
                ..=page.max_offset())
                .map(|off| (off, tuple_ref_at(&page, off)))
                .take_while(|(_, t)| order.compare(t.key, key) == Ordering::Equal)
                .filter(|(_, t)| dead(t.tid))
                .map(|(off, _)| off)
                .collect();
            // Equal keys may go on to the right sibling only if the high
            // key is not above the key.
            let more = high_key_ref(&page)
                .is_some_and(|hk| order.compare(hk.key, key) != Ordering::Greater);
            (o, more, doomed)
        };
        if !doomed.is_empty() {
            delete_leaf_items_logged(s, &mut buf, &doomed);
            removed += doomed.len() as u64;
        }
        drop(buf);
        if !more {
            return Ok(removed);
        }
        buf = s
            .pool
            .read_buffer(rel.tag(o.next))?
            .into_locked(BufferLockMode::Exclusive);
    }
}

/// Removes the leaf items at `offs` and logs it as `XLOG_BTREE_DELETE`
/// (the page's image instead when it is the first change since the redo
/// pointer): a scan that kills a few entries writes a few bytes of WAL,
/// not a page.
fn delete_leaf_items_logged(
    s: &HeapStorage<'_>,
    cur: &mut LockedBuffer<'_>,
    offs: &[OffsetNumber],
) {
    let _crit = CritSection::enter();
    Page::new(cur.page_mut()).index_multi_delete(offs);
    cur.mark_dirty();
    let data: Vec<u8> = offs.iter().flat_map(|o| o.to_le_bytes()).collect();
    log_leaf_change(s, cur, XLOG_BTREE_DELETE, &data);
}

/// amcheck's `bt_index_check`: every level from the root down is a chain
/// of pages linked both ways, at the right level, each page's items in
/// strictly increasing `(key, tid)` order and not above its high key, and
/// each downlink leads one level down. Returns the number of leaf
/// entries; XX002 names the first violation.
pub fn bt_check(s: &HeapStorage<'_>, rel: &BtreeRelation, order: &dyn KeyOrder) -> PgResult<u64> {
    let meta = read_meta(s, rel)?;
    if meta.root == P_NONE {
        return Ok(0);
    }
    let mut leftmost = meta.root;
    let mut level = meta.level;
    let mut entries = 0u64;
    loop {
        let mut blk = leftmost;
        let mut prev = P_NONE;
        let mut next_leftmost = None;
        loop {
            let pin = s.pool.read_buffer(rel.tag(blk))?;
            let g = pin.lock_shared();
            let page = Page::new(g.page());
            let o = BtPageOpaque::read(&page);
            if o.level != level {
                return Err(corrupt(
                    rel,
                    format!("block {blk} is at level {} in level {level}", o.level),
                ));
            }
            if o.prev != prev {
                return Err(corrupt(
                    rel,
                    format!("block {blk}'s left link is {} not {prev}", o.prev),
                ));
            }
            if o.is_leaf() != (level == 0) {
                return Err(corrupt(
                    rel,
                    format!("block {blk}'s leaf flag does not match level {level}"),
                ));
            }
            let items = data_items(&page);
            for w in items.windows(2) {
                if w[0].compare(&w[1], order) != Ordering::Less {
                    return Err(corrupt(rel, format!("items out of order in block {blk}")));
                }
            }
            if let (Some(hk), Some(last)) = (high_key(&page), items.last())
                && last.compare(&hk, order) == Ordering::Greater
            {
                return Err(corrupt(
                    rel,
                    format!("an item of block {blk} is above its high key"),
                ));
            }
            if level > 0 {
                match items.first() {
                    Some(f) if prev == P_NONE && !f.is_minus_infinity() => {
                        return Err(corrupt(
                            rel,
                            format!("leftmost internal block {blk} lacks minus infinity"),
                        ));
                    }
                    None => return Err(corrupt(rel, format!("internal block {blk} is empty"))),
                    _ => {}
                }
                if next_leftmost.is_none() {
                    next_leftmost = Some(items[0].child);
                }
            } else {
                entries += items.len() as u64;
            }
            prev = blk;
            if o.next == P_NONE {
                break;
            }
            blk = o.next;
        }
        match next_leftmost {
            Some(b) => {
                leftmost = b;
                level -= 1;
            }
            None => return Ok(entries),
        }
    }
}
