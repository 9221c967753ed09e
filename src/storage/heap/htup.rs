//! The on-disk heap tuple header: PostgreSQL's `htup_details.h`.

use std::mem::offset_of;

use crate::storage::page::{
    ItemPointer, MAXIMUM_ALIGNOF, SIZE_OF_ITEM_ID, SIZE_OF_PAGE_HEADER_DATA, maxalign,
};
use crate::storage::types::{BLCKSZ, Xid};

/// A command's sequence number within its transaction (PostgreSQL's
/// `CommandId`).
pub type CommandId = u32;

pub const FIRST_COMMAND_ID: CommandId = 0;
pub const INVALID_COMMAND_ID: CommandId = u32::MAX;

/// The fixed part of every heap tuple, followed by the null bitmap
/// (`t_bits`, only if `HEAP_HASNULL`) and, at `t_hoff`, the data.
///
/// PostgreSQL's `HeapTupleHeaderData` with these differences:
/// - `t_xmin` and `t_xmax` are 64-bit, so the fixed part is 31 bytes
///   (PostgreSQL: 23) and `t_hoff` is at least 32 (PostgreSQL: 24).
/// - `t_cid` is a plain command id: there are no combo command ids
///   (`HEAP_COMBOCID` is never set) and no `t_xvac` (no old-style VACUUM
///   FULL). See [`crate::storage::heap`] for the rule that replaces combo
///   cids.
/// - No MultiXacts: `t_xmax` is always a single transaction id.
/// - All fields are little-endian on disk.
///
/// The struct documents the layout and is the decoded form; tuples are read
/// and written field by field ([`HeapTupleHeader::read`],
/// [`HeapTupleHeader::write`]), never by casting page bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapTupleHeader {
    /// Inserting transaction.
    pub t_xmin: Xid,
    /// Deleting or locking transaction, or invalid.
    pub t_xmax: Xid,
    /// cmin or cmax, see the module doc.
    pub t_cid: CommandId,
    /// This tuple's own id, or the id of the newer version after an update.
    pub t_ctid: ItemPointer,
    /// Number of attributes (low 11 bits) and `HEAP_*_UPDATED`/`HEAP_ONLY_TUPLE`.
    pub t_infomask2: u16,
    /// `HEAP_*` flag and hint bits.
    pub t_infomask: u16,
    /// Offset of the data: MAXALIGN(header + null bitmap).
    pub t_hoff: u8,
    // t_bits: the null bitmap, (natts + 7) / 8 bytes, follows here.
}

const _: () = assert!(size_of::<HeapTupleHeader>() == 32);
const _: () = assert!(offset_of!(HeapTupleHeader, t_cid) == 16);
const _: () = assert!(offset_of!(HeapTupleHeader, t_ctid) == 20);
const _: () = assert!(offset_of!(HeapTupleHeader, t_infomask2) == 26);
const _: () = assert!(offset_of!(HeapTupleHeader, t_infomask) == 28);

/// PostgreSQL's `SizeofHeapTupleHeader`: where the null bitmap starts.
pub const SIZEOF_HEAP_TUPLE_HEADER: usize = offset_of!(HeapTupleHeader, t_hoff) + 1;
const _: () = assert!(SIZEOF_HEAP_TUPLE_HEADER == 31);

// t_infomask bits, with PostgreSQL's values.
/// Has null attribute(s).
pub const HEAP_HASNULL: u16 = 0x0001;
/// Has variable-width attribute(s).
pub const HEAP_HASVARWIDTH: u16 = 0x0002;
/// xmax is an exclusive locker (with `HEAP_XMAX_LOCK_ONLY`: FOR UPDATE).
pub const HEAP_XMAX_EXCL_LOCK: u16 = 0x0040;
/// xmax, if valid, only locked the tuple.
pub const HEAP_XMAX_LOCK_ONLY: u16 = 0x0080;
/// xmax is a key-share locker.
pub const HEAP_XMAX_KEYSHR_LOCK: u16 = 0x0010;
/// xmax is a shared locker (FOR SHARE).
pub const HEAP_XMAX_SHR_LOCK: u16 = HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
pub const HEAP_LOCK_MASK: u16 = HEAP_XMAX_SHR_LOCK | HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
/// Hint: t_xmin committed.
pub const HEAP_XMIN_COMMITTED: u16 = 0x0100;
/// Hint: t_xmin aborted.
pub const HEAP_XMIN_INVALID: u16 = 0x0200;
/// Both: the tuple is frozen, visible to everyone whatever t_xmin says.
pub const HEAP_XMIN_FROZEN: u16 = HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID;
/// Hint: t_xmax committed.
pub const HEAP_XMAX_COMMITTED: u16 = 0x0400;
/// Hint: t_xmax invalid or aborted.
pub const HEAP_XMAX_INVALID: u16 = 0x0800;
/// This is the new version of an updated row.
pub const HEAP_UPDATED: u16 = 0x2000;
/// Hint bits: may be set without WAL by anyone holding the content lock.
pub const HEAP_XACT_HINT_MASK: u16 =
    HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID | HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID;
/// Bits describing xmax, cleared whenever xmax changes.
pub const HEAP_XMAX_BITS: u16 =
    HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID | HEAP_XMAX_LOCK_ONLY | HEAP_LOCK_MASK;

// t_infomask2 bits.
/// Number of attributes.
pub const HEAP_NATTS_MASK: u16 = 0x07FF;
/// The tuple was updated and the new version is a heap-only tuple (HOT).
pub const HEAP_HOT_UPDATED: u16 = 0x4000;
/// A heap-only tuple: no index entry points at it.
pub const HEAP_ONLY_TUPLE: u16 = 0x8000;

/// PostgreSQL's `MaxHeapAttributeNumber`.
pub const MAX_HEAP_ATTRIBUTE_NUMBER: usize = 1600;

/// The largest tuple a heap page holds (`MaxHeapTupleSize`): 8152 bytes.
pub const MAX_HEAP_TUPLE_SIZE: usize =
    BLCKSZ - maxalign(SIZE_OF_PAGE_HEADER_DATA + SIZE_OF_ITEM_ID);
const _: () = assert!(MAX_HEAP_TUPLE_SIZE == 8152);

/// The most line pointers a heap page may have (`MaxHeapTuplesPerPage`):
/// as many empty tuples as fit. 226 here (PostgreSQL: 291).
pub const MAX_HEAP_TUPLES_PER_PAGE: usize =
    (BLCKSZ - SIZE_OF_PAGE_HEADER_DATA) / (maxalign(SIZEOF_HEAP_TUPLE_HEADER) + SIZE_OF_ITEM_ID);
const _: () = assert!(MAX_HEAP_TUPLES_PER_PAGE == 226);
const _: () = assert!(maxalign(SIZEOF_HEAP_TUPLE_HEADER).is_multiple_of(MAXIMUM_ALIGNOF));

/// PostgreSQL's `BITMAPLEN`: bytes of null bitmap for `natts` attributes.
pub const fn bitmap_len(natts: usize) -> usize {
    natts.div_ceil(8)
}

const T_XMIN: usize = offset_of!(HeapTupleHeader, t_xmin);
const T_XMAX: usize = offset_of!(HeapTupleHeader, t_xmax);
const T_CID: usize = offset_of!(HeapTupleHeader, t_cid);
const T_CTID: usize = offset_of!(HeapTupleHeader, t_ctid);
const T_INFOMASK2: usize = offset_of!(HeapTupleHeader, t_infomask2);
const T_INFOMASK: usize = offset_of!(HeapTupleHeader, t_infomask);
const T_HOFF: usize = offset_of!(HeapTupleHeader, t_hoff);

impl HeapTupleHeader {
    /// Decodes the header at the start of `tuple`.
    pub fn read(tuple: &[u8]) -> HeapTupleHeader {
        assert!(
            tuple.len() >= SIZEOF_HEAP_TUPLE_HEADER,
            "heap tuple of {} bytes is shorter than its header",
            tuple.len()
        );
        let u64_at = |at: usize| u64::from_le_bytes(tuple[at..at + 8].try_into().expect("8"));
        let u16_at = |at: usize| u16::from_le_bytes([tuple[at], tuple[at + 1]]);
        HeapTupleHeader {
            t_xmin: Xid(u64_at(T_XMIN)),
            t_xmax: Xid(u64_at(T_XMAX)),
            t_cid: u32::from_le_bytes(tuple[T_CID..T_CID + 4].try_into().expect("4")),
            t_ctid: ItemPointer::from_bytes(tuple[T_CTID..T_CTID + 6].try_into().expect("6")),
            t_infomask2: u16_at(T_INFOMASK2),
            t_infomask: u16_at(T_INFOMASK),
            t_hoff: tuple[T_HOFF],
        }
    }

    /// Encodes the header into the first 31 bytes of `tuple`; the null
    /// bitmap that follows is left alone.
    pub fn write(&self, tuple: &mut [u8]) {
        assert!(
            tuple.len() >= SIZEOF_HEAP_TUPLE_HEADER,
            "heap tuple of {} bytes is shorter than its header",
            tuple.len()
        );
        tuple[T_XMIN..T_XMIN + 8].copy_from_slice(&self.t_xmin.0.to_le_bytes());
        tuple[T_XMAX..T_XMAX + 8].copy_from_slice(&self.t_xmax.0.to_le_bytes());
        tuple[T_CID..T_CID + 4].copy_from_slice(&self.t_cid.to_le_bytes());
        tuple[T_CTID..T_CTID + 6].copy_from_slice(&self.t_ctid.to_bytes());
        tuple[T_INFOMASK2..T_INFOMASK2 + 2].copy_from_slice(&self.t_infomask2.to_le_bytes());
        tuple[T_INFOMASK..T_INFOMASK + 2].copy_from_slice(&self.t_infomask.to_le_bytes());
        tuple[T_HOFF] = self.t_hoff;
    }

    /// Number of attributes stored (`HeapTupleHeaderGetNatts`); may be
    /// fewer than the relation has now (ADD COLUMN).
    pub fn natts(&self) -> usize {
        (self.t_infomask2 & HEAP_NATTS_MASK) as usize
    }

    pub fn has_nulls(&self) -> bool {
        self.t_infomask & HEAP_HASNULL != 0
    }

    pub fn has_varwidth(&self) -> bool {
        self.t_infomask & HEAP_HASVARWIDTH != 0
    }

    /// `HeapTupleHeaderXminCommitted` (true for frozen tuples too).
    pub fn xmin_committed(&self) -> bool {
        self.t_infomask & HEAP_XMIN_COMMITTED != 0
    }

    /// `HeapTupleHeaderXminInvalid`: the aborted hint, not frozen.
    pub fn xmin_invalid(&self) -> bool {
        self.t_infomask & HEAP_XMIN_FROZEN == HEAP_XMIN_INVALID
    }

    /// `HeapTupleHeaderXminFrozen`, or an xmin that is itself
    /// [`Xid::FROZEN`] or [`Xid::BOOTSTRAP`].
    pub fn xmin_frozen(&self) -> bool {
        self.t_infomask & HEAP_XMIN_FROZEN == HEAP_XMIN_FROZEN
            || self.t_xmin == Xid::FROZEN
            || self.t_xmin == Xid::BOOTSTRAP
    }

    pub fn xmax_committed(&self) -> bool {
        self.t_infomask & HEAP_XMAX_COMMITTED != 0
    }

    /// The `HEAP_XMAX_INVALID` hint, or no xmax at all.
    pub fn xmax_invalid(&self) -> bool {
        self.t_infomask & HEAP_XMAX_INVALID != 0 || !self.t_xmax.is_valid()
    }

    /// `HEAP_XMAX_IS_LOCKED_ONLY`: xmax locked the row and did not delete it.
    pub fn xmax_is_locked_only(&self) -> bool {
        self.t_infomask & HEAP_XMAX_LOCK_ONLY != 0
    }

    /// Whether xmax deleted or updated the tuple (valid and not lock-only),
    /// whatever the deleter's fate.
    pub fn has_deleter(&self) -> bool {
        !self.xmax_invalid() && !self.xmax_is_locked_only()
    }

    pub fn is_hot_updated(&self) -> bool {
        self.t_infomask2 & HEAP_HOT_UPDATED != 0
    }

    pub fn is_heap_only(&self) -> bool {
        self.t_infomask2 & HEAP_ONLY_TUPLE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_without_touching_the_bitmap() {
        let h = HeapTupleHeader {
            t_xmin: Xid(0x0102_0304_0506_0708),
            t_xmax: Xid(9),
            t_cid: 77,
            t_ctid: ItemPointer::new(70000, 5),
            t_infomask2: 3 | HEAP_HOT_UPDATED,
            t_infomask: HEAP_HASNULL | HEAP_XMIN_COMMITTED,
            t_hoff: 32,
        };
        let mut bytes = vec![0xeeu8; 40];
        h.write(&mut bytes);
        assert_eq!(bytes[31], 0xee, "null bitmap byte overwritten");
        assert_eq!(HeapTupleHeader::read(&bytes), h);
        assert_eq!(h.natts(), 3);
        assert!(h.is_hot_updated() && !h.is_heap_only());
    }

    #[test]
    fn frozen_is_both_xmin_hint_bits() {
        let mut h = HeapTupleHeader::read(&[0u8; 32]);
        h.t_xmin = Xid(100);
        h.t_infomask = HEAP_XMIN_FROZEN;
        assert!(h.xmin_committed() && h.xmin_frozen() && !h.xmin_invalid());
        h.t_infomask = HEAP_XMIN_INVALID;
        assert!(h.xmin_invalid() && !h.xmin_frozen());
    }
}
