//! B-tree pages and index tuples (PostgreSQL's `nbtree.h`, `itup.h` and
//! the page-level parts of `nbtinsert.c` / `nbtsearch.c`). Pure functions
//! over a [`Page`]: no pins, locks or WAL.
//!
//! # An index tuple
//!
//! ```text
//!  0           4        6        8              (12)
//!  +-----------+--------+--------+--------------+--------- ...
//!  | tid block | tid off| t_info | [child block]| key bytes
//!  +-----------+--------+--------+--------------+--------- ...
//! ```
//!
//! `t_info` holds the tuple's size in its low 13 bits, [`INFO_HAS_CHILD`]
//! and [`INFO_MINUS_INFINITY`]. Only an internal-page item has a child
//! block, so a leaf entry's header is 8 bytes, as PostgreSQL's
//! `IndexTupleData` (an int4 key makes a 16-byte tuple on both).
//!
//! Every tuple carries a heap tuple id: on a leaf it is the row the entry
//! points at, in a pivot (high keys and internal-page separators) it is
//! the tie-breaker of the separator, so that the tree orders `(key, tid)`
//! pairs and every entry is unique (PostgreSQL 12's "heapkeyspace"):
//! descents are exact and an entry is deleted by its identity. `child` is
//! the downlink of an internal-page item, 0 (no block) elsewhere.
//! [`MINUS_INFINITY`] marks the first item of an internal page, whose key
//! is lower than any (PostgreSQL truncates it to no attributes). The key
//! bytes are the caller's; a [`KeyOrder`] compares them.
//!
//! # A page
//!
//! The standard slotted page with a 16-byte special space
//! ([`BtPageOpaque`]: left and right sibling, level, flags). On every page
//! but the rightmost of its level, item 1 is the high key: no tuple on the
//! page, and none below it, is greater. Data items start at
//! [`P_HIKEY`] + 1 there and at [`P_HIKEY`] on the rightmost page, sorted.
//! Block 0 is the metapage: one item, [`BtMeta`].

use std::cmp::Ordering;

use crate::storage::page::{ItemPointer, OffsetNumber, Page, maxalign};
use crate::storage::types::{BLCKSZ, BlockNumber};

/// How the index orders its keys: the operator class's comparison support
/// function (`BTORDER_PROC`) of each key column, applied by the caller to
/// the key bytes it formed.
pub trait KeyOrder {
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering;
}

/// Bytes of the header of an index tuple with a child block (a leaf
/// entry's is 4 fewer); the size limits count with it.
pub const INDEX_TUPLE_HEADER: usize = 16;

/// Bytes of the header every index tuple has.
const BASE_HEADER: usize = 8;

/// `t_info` bits: the tuple's size, then its flags.
const INFO_SIZE_MASK: u16 = 0x1fff;
/// `t_info`: a child block follows the fixed header.
const INFO_HAS_CHILD: u16 = 0x2000;
/// `t_info`: [`MINUS_INFINITY`].
const INFO_MINUS_INFINITY: u16 = 0x4000;

/// The largest key a tuple may carry: three tuples must fit a page (two
/// data items and a high key after a split), as PostgreSQL's
/// `BTMaxItemSize` demands.
pub const MAX_KEY_SIZE: usize = (BLCKSZ - 32 - 16) / 3 - INDEX_TUPLE_HEADER - 16;

/// Tuple flag: the first item of an internal page, lower than every key.
pub const MINUS_INFINITY: u16 = 0x0001;

/// The high key's offset on a non-rightmost page (`P_HIKEY`).
pub const P_HIKEY: OffsetNumber = 1;

/// "No page" in sibling links and the metapage (block 0 is the metapage,
/// never a tree page), PostgreSQL's `P_NONE`.
pub const P_NONE: BlockNumber = 0;

/// Page flags (`btpo_flags`).
pub const BTP_LEAF: u16 = 1 << 0;
pub const BTP_ROOT: u16 = 1 << 1;
pub const BTP_META: u16 = 1 << 3;

/// The metapage's magic number (PostgreSQL's `BTREE_MAGIC`).
pub const BTREE_MAGIC: u32 = 0x053162;
/// Our on-disk version of the format above.
pub const BTREE_VERSION: u32 = 1;

/// An index tuple, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexTuple {
    pub tid: ItemPointer,
    pub child: BlockNumber,
    pub flags: u16,
    pub key: Vec<u8>,
}

impl IndexTuple {
    pub fn leaf(key: Vec<u8>, tid: ItemPointer) -> IndexTuple {
        IndexTuple {
            tid,
            child: P_NONE,
            flags: 0,
            key,
        }
    }

    pub fn is_minus_infinity(&self) -> bool {
        self.flags & MINUS_INFINITY != 0
    }

    pub fn encode(&self) -> Vec<u8> {
        assert_eq!(self.flags & !MINUS_INFINITY, 0, "unknown index tuple flags");
        let has_child = self.child != P_NONE;
        let header = if has_child {
            BASE_HEADER + 4
        } else {
            BASE_HEADER
        };
        let size = header + self.key.len();
        assert!(
            size <= INFO_SIZE_MASK as usize,
            "index tuple of {size} bytes"
        );
        let mut info = size as u16;
        if has_child {
            info |= INFO_HAS_CHILD;
        }
        if self.is_minus_infinity() {
            info |= INFO_MINUS_INFINITY;
        }
        let mut b = Vec::with_capacity(maxalign(size));
        b.extend_from_slice(&self.tid.block().to_le_bytes());
        b.extend_from_slice(&self.tid.offset().to_le_bytes());
        b.extend_from_slice(&info.to_le_bytes());
        if has_child {
            b.extend_from_slice(&self.child.to_le_bytes());
        }
        b.extend_from_slice(&self.key);
        b
    }

    /// The tuple stored in `b`; the page it comes from was verified, so a
    /// malformed tuple is corruption and panics.
    pub fn decode(b: &[u8]) -> IndexTuple {
        IndexTupleRef::read(b).to_owned()
    }

    /// `(key, tid)` order; minus infinity first.
    pub fn compare(&self, other: &IndexTuple, order: &dyn KeyOrder) -> Ordering {
        self.as_ref().compare(other, order)
    }

    fn as_ref(&self) -> IndexTupleRef<'_> {
        IndexTupleRef {
            tid: self.tid,
            child: self.child,
            flags: self.flags,
            key: &self.key,
        }
    }
}

/// An index tuple read in place on its page: a binary search compares a
/// dozen of them per page, and copying each key out cost an allocation.
#[derive(Clone, Copy, Debug)]
pub struct IndexTupleRef<'a> {
    pub tid: ItemPointer,
    pub child: BlockNumber,
    pub flags: u16,
    pub key: &'a [u8],
}

impl<'a> IndexTupleRef<'a> {
    /// The tuple stored in `b` (see [`IndexTuple::decode`]).
    pub fn read(b: &'a [u8]) -> IndexTupleRef<'a> {
        assert!(b.len() >= BASE_HEADER, "index tuple of {} bytes", b.len());
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let info = u16_at(6);
        let size = (info & INFO_SIZE_MASK) as usize;
        assert_eq!(
            size,
            b.len(),
            "index tuple size does not match its line pointer"
        );
        let (child, header) = if info & INFO_HAS_CHILD != 0 {
            assert!(
                b.len() >= BASE_HEADER + 4,
                "index tuple of {} bytes",
                b.len()
            );
            (u32_at(BASE_HEADER), BASE_HEADER + 4)
        } else {
            (P_NONE, BASE_HEADER)
        };
        let flags = if info & INFO_MINUS_INFINITY != 0 {
            MINUS_INFINITY
        } else {
            0
        };
        IndexTupleRef {
            tid: ItemPointer::new(u32_at(0), u16_at(4)),
            child,
            flags,
            key: &b[header..],
        }
    }

    pub fn is_minus_infinity(&self) -> bool {
        self.flags & MINUS_INFINITY != 0
    }

    pub fn to_owned(&self) -> IndexTuple {
        IndexTuple {
            tid: self.tid,
            child: self.child,
            flags: self.flags,
            key: self.key.to_vec(),
        }
    }

    /// `(key, tid)` order; minus infinity first.
    pub fn compare(&self, other: &IndexTuple, order: &dyn KeyOrder) -> Ordering {
        match (self.is_minus_infinity(), other.is_minus_infinity()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => order
                .compare(self.key, &other.key)
                .then_with(|| self.tid.cmp(&other.tid)),
        }
    }
}

/// The special space of every B-tree page (`BTPageOpaqueData`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtPageOpaque {
    pub prev: BlockNumber,
    pub next: BlockNumber,
    /// 0 for leaves.
    pub level: u32,
    pub flags: u16,
}

pub const BT_OPAQUE_SIZE: usize = 16;

impl BtPageOpaque {
    pub fn read<B: std::borrow::Borrow<[u8; BLCKSZ]>>(page: &Page<B>) -> BtPageOpaque {
        let s = page.special();
        assert_eq!(s.len(), BT_OPAQUE_SIZE, "not a B-tree page");
        let u32_at = |i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
        BtPageOpaque {
            prev: u32_at(0),
            next: u32_at(4),
            level: u32_at(8),
            flags: u16::from_le_bytes([s[12], s[13]]),
        }
    }

    pub fn write<B: std::borrow::BorrowMut<[u8; BLCKSZ]>>(&self, page: &mut Page<B>) {
        let s = page.special_mut();
        assert_eq!(s.len(), BT_OPAQUE_SIZE, "not a B-tree page");
        s[0..4].copy_from_slice(&self.prev.to_le_bytes());
        s[4..8].copy_from_slice(&self.next.to_le_bytes());
        s[8..12].copy_from_slice(&self.level.to_le_bytes());
        s[12..14].copy_from_slice(&self.flags.to_le_bytes());
        s[14..16].fill(0);
    }

    pub fn is_leaf(&self) -> bool {
        self.flags & BTP_LEAF != 0
    }

    pub fn is_rightmost(&self) -> bool {
        self.next == P_NONE
    }

    /// The first data item's offset (`P_FIRSTDATAKEY`).
    pub fn first_data_key(&self) -> OffsetNumber {
        if self.is_rightmost() {
            P_HIKEY
        } else {
            P_HIKEY + 1
        }
    }
}

/// The metapage's contents (`BTMetaPageData`, the parts we use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtMeta {
    pub magic: u32,
    pub version: u32,
    /// P_NONE while the index is empty.
    pub root: BlockNumber,
    pub level: u32,
}

impl BtMeta {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16);
        for v in [self.magic, self.version, self.root, self.level] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    pub fn read<B: std::borrow::Borrow<[u8; BLCKSZ]>>(page: &Page<B>) -> Option<BtMeta> {
        if page.is_new() || page.max_offset() != 1 {
            return None;
        }
        let b = page.get_item(1);
        if b.len() != 16 {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let m = BtMeta {
            magic: u32_at(0),
            version: u32_at(4),
            root: u32_at(8),
            level: u32_at(12),
        };
        (m.magic == BTREE_MAGIC && m.version == BTREE_VERSION).then_some(m)
    }
}

/// Formats a metapage with `meta`.
pub fn init_meta_page<B: std::borrow::BorrowMut<[u8; BLCKSZ]>>(page: &mut Page<B>, meta: BtMeta) {
    page.init(BT_OPAQUE_SIZE);
    BtPageOpaque {
        prev: P_NONE,
        next: P_NONE,
        level: 0,
        flags: BTP_META,
    }
    .write(page);
    assert!(
        page.add_item(&meta.encode(), Some(1)).is_some(),
        "metapage item fits"
    );
}

/// Formats an empty tree page.
pub fn init_tree_page<B: std::borrow::BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    opaque: BtPageOpaque,
) {
    page.init(BT_OPAQUE_SIZE);
    opaque.write(page);
}

/// The tuple at `off`.
pub fn tuple_at<B: std::borrow::Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    off: OffsetNumber,
) -> IndexTuple {
    IndexTuple::decode(page.get_item(off))
}

/// The tuple at `off`, read in place.
pub fn tuple_ref_at<B: std::borrow::Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    off: OffsetNumber,
) -> IndexTupleRef<'_> {
    IndexTupleRef::read(page.get_item(off))
}

/// The data items of the page, in order (the high key excluded).
pub fn data_items<B: std::borrow::Borrow<[u8; BLCKSZ]>>(page: &Page<B>) -> Vec<IndexTuple> {
    let o = BtPageOpaque::read(page);
    (o.first_data_key()..=page.max_offset())
        .map(|off| tuple_at(page, off))
        .collect()
}

/// The high key, None on the rightmost page.
pub fn high_key<B: std::borrow::Borrow<[u8; BLCKSZ]>>(page: &Page<B>) -> Option<IndexTuple> {
    high_key_ref(page).map(|hk| hk.to_owned())
}

/// [`high_key`], read in place.
pub fn high_key_ref<B: std::borrow::Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
) -> Option<IndexTupleRef<'_>> {
    let o = BtPageOpaque::read(page);
    (!o.is_rightmost()).then(|| tuple_ref_at(page, P_HIKEY))
}

/// Whether `key` belongs to a page to the right (`_bt_moveright`): the
/// page is not the rightmost and its high key is lower than `key`.
pub fn must_move_right<B: std::borrow::Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    key: &IndexTuple,
    order: &dyn KeyOrder,
) -> bool {
    high_key_ref(page).is_some_and(|hk| hk.compare(key, order) == Ordering::Less)
}

/// `_bt_binsrch` on a leaf: the offset of the first data item not lower
/// than `key` (where `key` goes; `max_offset() + 1` after the last).
pub fn leaf_position<B: std::borrow::Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    key: &IndexTuple,
    order: &dyn KeyOrder,
) -> OffsetNumber {
    let o = BtPageOpaque::read(page);
    let (mut lo, mut hi) = (o.first_data_key(), page.max_offset() + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if tuple_ref_at(page, mid).compare(key, order) == Ordering::Less {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// `_bt_binsrch` on an internal page: the offset of the last item not
/// greater than `key` (its downlink leads to `key`'s subtree).
pub fn internal_position<B: std::borrow::Borrow<[u8; BLCKSZ]>>(
    page: &Page<B>,
    key: &IndexTuple,
    order: &dyn KeyOrder,
) -> OffsetNumber {
    let o = BtPageOpaque::read(page);
    let first = o.first_data_key();
    assert!(page.max_offset() >= first, "an internal page without items");
    let (mut lo, mut hi) = (first + 1, page.max_offset() + 1);
    // Invariant: item lo - 1 <= key (the first item is minus infinity).
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if tuple_ref_at(page, mid).compare(key, order) != Ordering::Greater {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo - 1
}

/// Bytes a tuple takes on a page, line pointer included.
pub fn space_needed(t: &[u8]) -> usize {
    maxalign(t.len()) + 4
}

/// Rewrites a tree page with `high_key` (None: rightmost) and `items`,
/// keeping its LSN; the opaque data becomes `opaque`. The items must fit.
pub fn rebuild_page<B: std::borrow::BorrowMut<[u8; BLCKSZ]>>(
    page: &mut Page<B>,
    opaque: BtPageOpaque,
    high_key: Option<&IndexTuple>,
    items: &[IndexTuple],
) {
    assert_eq!(
        opaque.next == P_NONE,
        high_key.is_none(),
        "a page has a high key exactly when it has a right sibling"
    );
    let lsn = page.lsn();
    init_tree_page(page, opaque);
    page.set_lsn(lsn);
    let mut off = 1;
    for t in high_key.into_iter().chain(items) {
        assert!(
            page.insert_item_at(&t.encode(), off),
            "rebuilt page overflows"
        );
        off += 1;
    }
}

/// PostgreSQL's `BTREE_DEFAULT_FILLFACTOR`: how full a leaf is left when
/// the rightmost leaf splits under an insert at its end.
pub const BTREE_DEFAULT_FILLFACTOR: usize = 90;
/// PostgreSQL's `BTREE_NONLEAF_FILLFACTOR`, the same for internal pages.
pub const BTREE_NONLEAF_FILLFACTOR: usize = 70;

/// Bytes a page offers its items (the header and the special space off).
const PAGE_CAPACITY: usize =
    BLCKSZ - crate::storage::page::bufpage::SIZE_OF_PAGE_HEADER_DATA - BT_OPAQUE_SIZE;

/// Where to split `items` (already holding the new tuple) into a left and
/// a right page: the count of items that stay left. The left side gets
/// about `left_percent` of the bytes (50 for an even split; the fillfactor
/// when keys arrive in ascending order, so that an index built or grown in
/// order ends with full pages, as `_bt_findsplitloc` does for the rightmost
/// page), and always keeps room for its new high key (a copy of the first
/// right item). `_bt_findsplitloc`, without its other refinements.
pub fn split_point(items: &[Vec<u8>], left_percent: usize) -> usize {
    assert!(
        items.len() >= 2,
        "splitting a page of {} items",
        items.len()
    );
    let total: usize = items.iter().map(|t| space_needed(t)).sum();
    let target = total * left_percent / 100;
    let mut left = 0usize;
    let mut k = 0usize;
    while k < items.len() - 1 {
        let next = space_needed(&items[k]);
        let high_key = space_needed(&items[k + 1]);
        if k > 0 && (left + next > target || left + next + high_key > PAGE_CAPACITY) {
            break;
        }
        left += next;
        k += 1;
    }
    k.max(1)
}
