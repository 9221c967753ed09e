//! Slotted 8 KiB pages: PostgreSQL's `bufpage.c`, `bufpage.h`, `itemid.h`,
//! `itemptr.h` and `checksum.c`.
//!
//! Every relation page (heap and, later, index) has this layout:
//!
//! ```text
//!  0       32                    pd_lower      pd_upper          pd_special  8192
//!  +--------+----+----+----+-- ... --+- free -+------+------+-- ... --+---------+
//!  | header |lp 1|lp 2|lp 3|         | space  |item 3|item 1| item 2  | special |
//!  +--------+----+----+----+-- ... --+--------+------+------+-- ... --+---------+
//!            line pointers grow  -->          <-- items grow
//! ```
//!
//! - The header ([`PageHeader`], 32 bytes) holds the page LSN, checksum,
//!   flags, the three boundaries and `pd_prune_xid`.
//! - Line pointers ([`ItemId`], 4 bytes each) are numbered from 1
//!   ([`OffsetNumber`]); a tuple's id is (block, offset) ([`ItemPointer`]),
//!   so a line pointer never moves while anything may point at it. Items
//!   can move: [`Page::repair_fragmentation`] packs them and only rewrites
//!   `lp_off`.
//! - Items start at MAXALIGN (8-byte) offsets; `lp_len` is the unaligned
//!   length.
//! - The special space at the end is for index access methods; heap pages
//!   have none.
//!
//! Invariants, checked by [`Page::check`] right after a page is read
//! ([`Page::verify_after_read`], an `XX001` error if broken: disk
//! corruption is an operating error) and asserted right before one is
//! written ([`Page::assert_valid`], a panic if broken: that is our bug):
//!
//! 1. `32 <= pd_lower <= pd_upper <= pd_special <= BLCKSZ`, `pd_special`
//!    MAXALIGNed; `pd_lower` ends a whole line pointer.
//! 2. Every line pointer with storage lies in `[pd_upper, pd_special)`, at a
//!    MAXALIGNed offset, and no two items overlap. Unused line pointers are
//!    all zero; redirects point at an existing offset.
//! 3. A page with `pd_upper == 0` is new and must be all zeros (a relation
//!    extended and never written, e.g. before a crash). All-zero pages
//!    verify whatever their checksum.
//! 4. With `data_checksums`, `pd_checksum` is set by
//!    [`Page::set_checksum`] as the last step before every write, and
//!    verified after every read. The checksum is CRC-32C based, not
//!    PostgreSQL's FNV (see [`checksum`]).
//!
//! Concurrency is not this module's concern: a `Page` is a view of bytes.
//! The buffer pool's rules (pin, then content lock; exclusive to modify;
//! WAL before data) decide who may hold a `PageMut`.
//!
//! Differences from PostgreSQL: the header is 32 bytes (64-bit
//! `pd_prune_xid`, explicit padding) and `pd_pagesize_version` carries our
//! own layout version; checksums use CRC-32C; all multi-byte fields are
//! little-endian. Index-page helpers (`PageIndexTupleDelete`, shuffling
//! inserts) are not here yet.

pub mod bufpage;
pub mod checksum;
pub mod itemptr;

pub use bufpage::{
    DATA_CORRUPTED, ItemId, LpFlags, MAX_LINE_POINTERS, MAXIMUM_ALIGNOF, PAGE_LAYOUT_VERSION,
    PD_ALL_VISIBLE, PD_HAS_FREE_LINES, PD_PAGE_FULL, Page, PageCorruption, PageHeader, PageMut,
    PageRef, SIZE_OF_ITEM_ID, SIZE_OF_PAGE_HEADER_DATA, maxalign, typealign,
};
pub use checksum::page_checksum;
pub use itemptr::{FIRST_OFFSET_NUMBER, INVALID_OFFSET_NUMBER, ItemPointer, OffsetNumber};
