//! The slotted page: PostgreSQL's `bufpage.h` / `bufpage.c` and
//! `itemid.h`. See the module doc of [`crate::storage::page`] for the
//! layout and the invariants.

use std::borrow::{Borrow, BorrowMut};
use std::fmt;
use std::mem::offset_of;

use crate::storage::types::{BLCKSZ, BlockNumber, Lsn, Xid};
use crate::utils::elog::PgError;

use super::checksum::page_checksum;
use super::itemptr::{FIRST_OFFSET_NUMBER, INVALID_OFFSET_NUMBER, OffsetNumber};

/// PostgreSQL's `MAXIMUM_ALIGNOF` on 64-bit platforms.
pub const MAXIMUM_ALIGNOF: usize = 8;

/// PostgreSQL's `TYPEALIGN`: `len` rounded up to a multiple of `align`
/// (a power of two).
pub const fn typealign(align: usize, len: usize) -> usize {
    (len + align - 1) & !(align - 1)
}

/// PostgreSQL's `MAXALIGN`.
pub const fn maxalign(len: usize) -> usize {
    typealign(MAXIMUM_ALIGNOF, len)
}

/// SQLSTATE `XX001` (`ERRCODE_DATA_CORRUPTED`), which `utils::elog::sqlstate`
/// does not list yet.
pub const DATA_CORRUPTED: &str = "XX001";

/// The page header, at offset 0 of every page.
///
/// PostgreSQL's `PageHeaderData` field for field, except that
/// `pd_prune_xid` is a 64-bit [`Xid`]. Keeping it 8-byte aligned needs four
/// bytes of explicit padding (`pd_reserved`, always zero), so the header is
/// 32 bytes where PostgreSQL's is 24. `pd_lsn` is one `u64` rather than
/// PostgreSQL's two 32-bit halves. All fields are little-endian on disk.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageHeader {
    /// LSN of the WAL record of the last change to this page: the buffer
    /// pool must flush WAL up to here before writing the page.
    pub pd_lsn: Lsn,
    /// Checksum (see [`super::checksum`]); 0 if never set.
    pub pd_checksum: u16,
    /// `PD_*` flag bits.
    pub pd_flags: u16,
    /// Offset to the end of the line pointer array (start of free space).
    pub pd_lower: u16,
    /// Offset to the start of tuple storage (end of free space).
    pub pd_upper: u16,
    /// Offset to the start of the special space (BLCKSZ if none).
    pub pd_special: u16,
    /// `BLCKSZ | PAGE_LAYOUT_VERSION`.
    pub pd_pagesize_version: u16,
    /// Padding that keeps `pd_prune_xid` aligned; always zero.
    pub pd_reserved: u32,
    /// Oldest xmax on the page that may become prunable, or invalid.
    pub pd_prune_xid: Xid,
}

const _: () = assert!(size_of::<PageHeader>() == 32);
const _: () = assert!(offset_of!(PageHeader, pd_checksum) == 8);
const _: () = assert!(offset_of!(PageHeader, pd_prune_xid) == 24);

/// PostgreSQL's `SizeOfPageHeaderData`: where the line pointers start.
pub const SIZE_OF_PAGE_HEADER_DATA: usize = size_of::<PageHeader>();

pub(crate) const PD_CHECKSUM_OFFSET: usize = offset_of!(PageHeader, pd_checksum);
const PD_LSN_OFFSET: usize = offset_of!(PageHeader, pd_lsn);
const PD_FLAGS_OFFSET: usize = offset_of!(PageHeader, pd_flags);
const PD_LOWER_OFFSET: usize = offset_of!(PageHeader, pd_lower);
const PD_UPPER_OFFSET: usize = offset_of!(PageHeader, pd_upper);
const PD_SPECIAL_OFFSET: usize = offset_of!(PageHeader, pd_special);
const PD_PAGESIZE_VERSION_OFFSET: usize = offset_of!(PageHeader, pd_pagesize_version);
const PD_RESERVED_OFFSET: usize = offset_of!(PageHeader, pd_reserved);
const PD_PRUNE_XID_OFFSET: usize = offset_of!(PageHeader, pd_prune_xid);

/// Layout version in the low byte of `pd_pagesize_version`. PostgreSQL uses
/// 4; ours differs so that PostgreSQL's tools (pageinspect, pg_filedump)
/// do not mistake a ferrogres page for one of theirs.
pub const PAGE_LAYOUT_VERSION: u16 = 0xF1;

/// Some line pointer is unused (a hint: may be set when none is).
pub const PD_HAS_FREE_LINES: u16 = 0x0001;
/// A recent update found no room on the page (a hint for pruning).
pub const PD_PAGE_FULL: u16 = 0x0002;
/// Every tuple on the page is visible to everyone.
pub const PD_ALL_VISIBLE: u16 = 0x0004;
const PD_VALID_FLAG_BITS: u16 = 0x0007;

/// Line pointer state (PostgreSQL's `lp_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpFlags {
    /// Free for reuse; `lp_off` and `lp_len` are 0.
    Unused = 0,
    /// Points at a tuple: `lp_off`, `lp_len` locate it.
    Normal = 1,
    /// HOT redirect: `lp_off` is the offset of another line pointer, `lp_len` 0.
    Redirect = 2,
    /// Dead; may or may not still have storage.
    Dead = 3,
}

/// A line pointer (PostgreSQL's `ItemIdData`): 32 bits holding
/// `lp_off:15, lp_flags:2, lp_len:15`, low bits first, as PostgreSQL's
/// bitfield lays them out on little-endian machines.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ItemId(u32);

const _: () = assert!(size_of::<ItemId>() == 4);

/// The size of one line pointer, `sizeof(ItemIdData)`.
pub const SIZE_OF_ITEM_ID: usize = size_of::<ItemId>();

/// The most line pointers a page can hold.
pub const MAX_LINE_POINTERS: usize = (BLCKSZ - SIZE_OF_PAGE_HEADER_DATA) / SIZE_OF_ITEM_ID;

/// The largest item `lp_len` can describe (15 bits); more than a page.
const MAX_ITEM_LEN: usize = (1 << 15) - 1;

impl ItemId {
    pub const UNUSED: ItemId = ItemId(0);

    pub fn new(off: usize, flags: LpFlags, len: usize) -> ItemId {
        assert!(
            off <= MAX_ITEM_LEN,
            "line pointer offset {off} exceeds 15 bits"
        );
        assert!(
            len <= MAX_ITEM_LEN,
            "line pointer length {len} exceeds 15 bits"
        );
        ItemId(off as u32 | (flags as u32) << 15 | (len as u32) << 17)
    }

    pub fn from_raw(raw: u32) -> ItemId {
        ItemId(raw)
    }

    pub fn raw(self) -> u32 {
        self.0
    }

    /// `lp_off`: byte offset of the item, or a redirect target.
    pub fn off(self) -> usize {
        (self.0 & 0x7fff) as usize
    }

    /// `lp_len`: byte length of the item (unaligned).
    #[allow(clippy::len_without_is_empty)] // `has_storage` is PostgreSQL's name
    pub fn len(self) -> usize {
        (self.0 >> 17) as usize
    }

    pub fn flags(self) -> LpFlags {
        match (self.0 >> 15) & 3 {
            0 => LpFlags::Unused,
            1 => LpFlags::Normal,
            2 => LpFlags::Redirect,
            _ => LpFlags::Dead,
        }
    }

    pub fn is_used(self) -> bool {
        self.flags() != LpFlags::Unused
    }

    pub fn is_normal(self) -> bool {
        self.flags() == LpFlags::Normal
    }

    pub fn is_redirect(self) -> bool {
        self.flags() == LpFlags::Redirect
    }

    pub fn is_dead(self) -> bool {
        self.flags() == LpFlags::Dead
    }

    /// Whether the item occupies bytes on the page (`ItemIdHasStorage`).
    pub fn has_storage(self) -> bool {
        self.len() != 0
    }
}

impl fmt::Debug for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ItemId({:?}, off {}, len {})",
            self.flags(),
            self.off(),
            self.len()
        )
    }
}

/// Why a page failed [`Page::check`]. Turned into an `XX001` error by
/// [`Page::verify_after_read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageCorruption(pub String);

impl fmt::Display for PageCorruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn corrupt(msg: String) -> Result<(), PageCorruption> {
    Err(PageCorruption(msg))
}

/// A view of one 8 KiB page: a buffer in the pool, a WAL full-page image,
/// or a test's array. `Page<&[u8; BLCKSZ]>` reads, `Page<&mut [u8; BLCKSZ]>`
/// also writes; nothing is allocated.
pub struct Page<B> {
    buf: B,
}

/// A read-only page view.
pub type PageRef<'a> = Page<&'a [u8; BLCKSZ]>;
/// A writable page view.
pub type PageMut<'a> = Page<&'a mut [u8; BLCKSZ]>;

fn get_u16(b: &[u8; BLCKSZ], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn put_u16(b: &mut [u8; BLCKSZ], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(b: &[u8; BLCKSZ], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn put_u64(b: &mut [u8; BLCKSZ], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn item_id_offset(off: OffsetNumber) -> usize {
    SIZE_OF_PAGE_HEADER_DATA + (off as usize - 1) * SIZE_OF_ITEM_ID
}

impl<B: Borrow<[u8; BLCKSZ]>> Page<B> {
    pub fn new(buf: B) -> Page<B> {
        Page { buf }
    }

    pub fn into_inner(self) -> B {
        self.buf
    }

    pub fn bytes(&self) -> &[u8; BLCKSZ] {
        self.buf.borrow()
    }

    /// The whole header, decoded.
    pub fn header(&self) -> PageHeader {
        let b = self.bytes();
        PageHeader {
            pd_lsn: Lsn(get_u64(b, PD_LSN_OFFSET)),
            pd_checksum: get_u16(b, PD_CHECKSUM_OFFSET),
            pd_flags: get_u16(b, PD_FLAGS_OFFSET),
            pd_lower: get_u16(b, PD_LOWER_OFFSET),
            pd_upper: get_u16(b, PD_UPPER_OFFSET),
            pd_special: get_u16(b, PD_SPECIAL_OFFSET),
            pd_pagesize_version: get_u16(b, PD_PAGESIZE_VERSION_OFFSET),
            pd_reserved: u32::from_le_bytes(
                b[PD_RESERVED_OFFSET..PD_RESERVED_OFFSET + 4]
                    .try_into()
                    .expect("4 bytes"),
            ),
            pd_prune_xid: Xid(get_u64(b, PD_PRUNE_XID_OFFSET)),
        }
    }

    pub fn lsn(&self) -> Lsn {
        Lsn(get_u64(self.bytes(), PD_LSN_OFFSET))
    }

    /// The stored checksum (0 if never set).
    pub fn checksum(&self) -> u16 {
        get_u16(self.bytes(), PD_CHECKSUM_OFFSET)
    }

    pub fn flags(&self) -> u16 {
        get_u16(self.bytes(), PD_FLAGS_OFFSET)
    }

    pub fn lower(&self) -> usize {
        get_u16(self.bytes(), PD_LOWER_OFFSET) as usize
    }

    pub fn upper(&self) -> usize {
        get_u16(self.bytes(), PD_UPPER_OFFSET) as usize
    }

    pub fn special_offset(&self) -> usize {
        get_u16(self.bytes(), PD_SPECIAL_OFFSET) as usize
    }

    pub fn prune_xid(&self) -> Xid {
        Xid(get_u64(self.bytes(), PD_PRUNE_XID_OFFSET))
    }

    pub fn has_free_lines(&self) -> bool {
        self.flags() & PD_HAS_FREE_LINES != 0
    }

    pub fn is_full(&self) -> bool {
        self.flags() & PD_PAGE_FULL != 0
    }

    pub fn is_all_visible(&self) -> bool {
        self.flags() & PD_ALL_VISIBLE != 0
    }

    /// Whether the page was never initialised (PostgreSQL's `PageIsNew`:
    /// `pd_upper == 0`). A page that passed [`Page::check`] and is new is
    /// all zeros: a relation extended but never written, or a page a crash
    /// left unwritten.
    pub fn is_new(&self) -> bool {
        self.upper() == 0
    }

    /// Whether every byte is zero.
    pub fn is_all_zero(&self) -> bool {
        self.bytes().iter().all(|&b| b == 0)
    }

    /// The number of line pointers (`PageGetMaxOffsetNumber`); 0 for a new
    /// page.
    pub fn max_offset(&self) -> OffsetNumber {
        let lower = self.lower();
        if lower <= SIZE_OF_PAGE_HEADER_DATA {
            return 0;
        }
        ((lower - SIZE_OF_PAGE_HEADER_DATA) / SIZE_OF_ITEM_ID) as OffsetNumber
    }

    /// The line pointer at `off` (1-based). Panics if `off` is out of range:
    /// offsets come from this page or from an index that points at it.
    pub fn item_id(&self, off: OffsetNumber) -> ItemId {
        assert!(
            off >= FIRST_OFFSET_NUMBER && off <= self.max_offset(),
            "offset {off} out of range 1..={}",
            self.max_offset()
        );
        let at = item_id_offset(off);
        let raw = u32::from_le_bytes(self.bytes()[at..at + 4].try_into().expect("4 bytes"));
        ItemId(raw)
    }

    /// All line pointers with their offsets.
    pub fn line_pointers(&self) -> impl Iterator<Item = (OffsetNumber, ItemId)> + '_ {
        (FIRST_OFFSET_NUMBER..=self.max_offset()).map(move |off| (off, self.item_id(off)))
    }

    /// The item at `off`, which must have storage (`PageGetItem`).
    pub fn get_item(&self, off: OffsetNumber) -> &[u8] {
        let lp = self.item_id(off);
        assert!(lp.has_storage(), "item {off} has no storage: {lp:?}");
        &self.bytes()[lp.off()..lp.off() + lp.len()]
    }

    /// The special space (index metadata; empty for heap pages).
    pub fn special(&self) -> &[u8] {
        &self.bytes()[self.special_offset()..]
    }

    /// Space between the line pointers and the tuples (`PageGetExactFreeSpace`).
    pub fn exact_free_space(&self) -> usize {
        self.upper().saturating_sub(self.lower())
    }

    /// Room for one more item: the exact free space less one new line
    /// pointer (`PageGetFreeSpace`). An item of up to this many bytes
    /// (after MAXALIGN) fits.
    pub fn free_space(&self) -> usize {
        self.exact_free_space().saturating_sub(SIZE_OF_ITEM_ID)
    }

    /// The checksum this page would have as block `blkno`.
    pub fn compute_checksum(&self, blkno: BlockNumber) -> u16 {
        page_checksum(self.bytes(), blkno)
    }

    /// Whether the stored checksum matches block `blkno`. An all-zero page
    /// verifies: it was never written.
    pub fn verify_checksum(&self, blkno: BlockNumber) -> bool {
        if self.is_new() && self.is_all_zero() {
            return true;
        }
        self.checksum() == self.compute_checksum(blkno)
    }

    /// Checks the page's structure: the header invariants
    /// (`SizeOfPageHeaderData <= pd_lower <= pd_upper <= pd_special <= BLCKSZ`,
    /// known version and flags) and that every line pointer with storage
    /// lies, MAXALIGNed and without overlapping another, between `pd_upper`
    /// and `pd_special`. A new page must be all zeros.
    pub fn check(&self) -> Result<(), PageCorruption> {
        let h = self.header();
        if h.pd_upper == 0 {
            if !self.is_all_zero() {
                return corrupt("page is not initialized but is not all zeros".into());
            }
            return Ok(());
        }
        let expected_version = BLCKSZ as u16 | PAGE_LAYOUT_VERSION;
        if h.pd_pagesize_version != expected_version {
            return corrupt(format!(
                "page size/version is {:#06x}, expected {:#06x}",
                h.pd_pagesize_version, expected_version
            ));
        }
        if h.pd_flags & !PD_VALID_FLAG_BITS != 0 {
            return corrupt(format!("invalid page flags {:#06x}", h.pd_flags));
        }
        if h.pd_reserved != 0 {
            return corrupt(format!("pd_reserved is {:#x}, not zero", h.pd_reserved));
        }
        let (lower, upper, special) = (
            h.pd_lower as usize,
            h.pd_upper as usize,
            h.pd_special as usize,
        );
        if lower < SIZE_OF_PAGE_HEADER_DATA
            || lower > upper
            || upper > special
            || special > BLCKSZ
            || special != maxalign(special)
        {
            return corrupt(format!(
                "invalid page pointers: lower = {lower}, upper = {upper}, special = {special}"
            ));
        }
        if !(lower - SIZE_OF_PAGE_HEADER_DATA).is_multiple_of(SIZE_OF_ITEM_ID) {
            return corrupt(format!(
                "pd_lower {lower} is not at a line pointer boundary"
            ));
        }
        let max = self.max_offset();
        // (lp_off, lp_len) of every item with storage, to check overlaps.
        let mut extents = [(0u16, 0u16); MAX_LINE_POINTERS];
        let mut n = 0;
        for (off, lp) in self.line_pointers() {
            match lp.flags() {
                LpFlags::Unused if lp.off() != 0 || lp.has_storage() => {
                    return corrupt(format!("unused line pointer {off} is not zero: {lp:?}"));
                }
                LpFlags::Unused => continue,
                LpFlags::Redirect => {
                    if lp.has_storage() || lp.off() == 0 || lp.off() > max as usize {
                        return corrupt(format!("invalid redirect line pointer {off}: {lp:?}"));
                    }
                    continue;
                }
                LpFlags::Normal if !lp.has_storage() => {
                    return corrupt(format!("normal line pointer {off} has no storage"));
                }
                LpFlags::Dead if !lp.has_storage() => continue,
                LpFlags::Normal | LpFlags::Dead => {}
            }
            if lp.off() < upper || lp.off() + lp.len() > special || lp.off() != maxalign(lp.off()) {
                return corrupt(format!(
                    "corrupted line pointer {off}: offset = {}, size = {}",
                    lp.off(),
                    lp.len()
                ));
            }
            extents[n] = (lp.off() as u16, lp.len() as u16);
            n += 1;
        }
        let extents = &mut extents[..n];
        extents.sort_unstable();
        for pair in extents.windows(2) {
            if pair[0].0 as usize + pair[0].1 as usize > pair[1].0 as usize {
                return corrupt(format!(
                    "items at offsets {} and {} overlap",
                    pair[0].0, pair[1].0
                ));
            }
        }
        Ok(())
    }

    /// [`Page::check`] for a page about to be written or just modified:
    /// failing it is a bug, so it panics.
    pub fn assert_valid(&self) {
        if let Err(e) = self.check() {
            panic!("page failed its invariants: {e}");
        }
    }

    /// PostgreSQL's `PageIsVerified`, run on every page read from disk: an
    /// all-zero page is accepted; otherwise the checksum (when
    /// `data_checksums`) and [`Page::check`] must pass. Failure is an
    /// operating error, `XX001 invalid page in block N of relation R`.
    pub fn verify_after_read(
        &self,
        blkno: BlockNumber,
        rel: &dyn fmt::Display,
        data_checksums: bool,
    ) -> Result<(), PgError> {
        let invalid = |detail: String| {
            PgError::error(
                DATA_CORRUPTED,
                format!("invalid page in block {blkno} of relation {rel}"),
            )
            .with_detail(detail)
        };
        if self.is_new() && self.is_all_zero() {
            return Ok(());
        }
        if data_checksums && !self.verify_checksum(blkno) {
            return Err(invalid(format!(
                "page verification failed, calculated checksum {} but expected {}",
                self.compute_checksum(blkno),
                self.checksum()
            )));
        }
        self.check().map_err(|e| invalid(e.0))
    }
}

impl<B: BorrowMut<[u8; BLCKSZ]>> Page<B> {
    pub fn bytes_mut(&mut self) -> &mut [u8; BLCKSZ] {
        self.buf.borrow_mut()
    }

    /// Formats an empty page with `special_size` bytes (MAXALIGNed) of
    /// special space at the end (`PageInit`). Everything else is zeroed.
    pub fn init(&mut self, special_size: usize) {
        let special_size = maxalign(special_size);
        assert!(
            special_size <= BLCKSZ - SIZE_OF_PAGE_HEADER_DATA,
            "special space of {special_size} bytes does not fit a page"
        );
        let special = (BLCKSZ - special_size) as u16;
        let b = self.bytes_mut();
        b.fill(0);
        put_u16(b, PD_LOWER_OFFSET, SIZE_OF_PAGE_HEADER_DATA as u16);
        put_u16(b, PD_UPPER_OFFSET, special);
        put_u16(b, PD_SPECIAL_OFFSET, special);
        put_u16(
            b,
            PD_PAGESIZE_VERSION_OFFSET,
            BLCKSZ as u16 | PAGE_LAYOUT_VERSION,
        );
    }

    pub fn set_lsn(&mut self, lsn: Lsn) {
        put_u64(self.bytes_mut(), PD_LSN_OFFSET, lsn.0);
    }

    pub fn set_prune_xid(&mut self, xid: Xid) {
        put_u64(self.bytes_mut(), PD_PRUNE_XID_OFFSET, xid.0);
    }

    /// `PageSetPrunable`: lowers `pd_prune_xid` to `xid` if it is older.
    pub fn set_prunable(&mut self, xid: Xid) {
        assert!(xid.is_normal(), "prunable xid {xid} is not a normal xid");
        let cur = self.prune_xid();
        if !cur.is_valid() || xid < cur {
            self.set_prune_xid(xid);
        }
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        let flags = self.flags();
        let flags = if on { flags | flag } else { flags & !flag };
        put_u16(self.bytes_mut(), PD_FLAGS_OFFSET, flags);
    }

    pub fn set_full(&mut self, on: bool) {
        self.set_flag(PD_PAGE_FULL, on);
    }

    pub fn set_all_visible(&mut self, on: bool) {
        self.set_flag(PD_ALL_VISIBLE, on);
    }

    /// Stores `pd_checksum` for block `blkno`: the last thing done before a
    /// page is written (PostgreSQL's `PageSetChecksumInplace`).
    pub fn set_checksum(&mut self, blkno: BlockNumber) {
        let c = self.compute_checksum(blkno);
        put_u16(self.bytes_mut(), PD_CHECKSUM_OFFSET, c);
    }

    fn set_item_id(&mut self, off: OffsetNumber, lp: ItemId) {
        let at = item_id_offset(off);
        self.bytes_mut()[at..at + 4].copy_from_slice(&lp.0.to_le_bytes());
    }

    /// The item at `off`, writable in place (its length cannot change).
    pub fn get_item_mut(&mut self, off: OffsetNumber) -> &mut [u8] {
        let lp = self.item_id(off);
        assert!(lp.has_storage(), "item {off} has no storage: {lp:?}");
        &mut self.bytes_mut()[lp.off()..lp.off() + lp.len()]
    }

    /// The special space, writable.
    pub fn special_mut(&mut self) -> &mut [u8] {
        let at = self.special_offset();
        &mut self.bytes_mut()[at..]
    }

    /// Adds an item (PostgreSQL's `PageAddItem` with `overwrite`
    /// semantics), storing it MAXALIGNed below `pd_upper`.
    ///
    /// - `offset == None`: reuse the first unused line pointer if the page
    ///   has any (`PD_HAS_FREE_LINES`), else append one.
    /// - `offset == Some(n)`: `n` must be an unused line pointer or
    ///   `max_offset() + 1`; a used one is not overwritten (returns `None`).
    ///
    /// Returns the item's offset, or `None` if it does not fit. Callers with
    /// a per-page item limit (the heap's `MaxHeapTuplesPerPage`) pass an
    /// explicit offset.
    pub fn add_item(&mut self, item: &[u8], offset: Option<OffsetNumber>) -> Option<OffsetNumber> {
        assert!(!self.is_new(), "add_item on an uninitialised page");
        assert!(!item.is_empty(), "add_item with an empty item");
        let max = self.max_offset();
        let (off, reuse) = match offset {
            Some(off) => {
                assert!(
                    off != INVALID_OFFSET_NUMBER && off <= max + 1,
                    "add_item at offset {off} beyond {}",
                    max + 1
                );
                if off <= max && self.item_id(off) != ItemId::UNUSED {
                    return None;
                }
                (off, off <= max)
            }
            None => match self.first_unused() {
                Some(off) => (off, true),
                None => (max + 1, false),
            },
        };
        if !reuse && off as usize > MAX_LINE_POINTERS {
            return None;
        }
        let lower = if reuse {
            self.lower()
        } else {
            self.lower() + SIZE_OF_ITEM_ID
        };
        let upper = self.upper();
        let aligned = maxalign(item.len());
        if lower > upper || upper - lower < aligned {
            return None;
        }
        let new_upper = upper - aligned;
        let b = self.bytes_mut();
        b[new_upper..new_upper + item.len()].copy_from_slice(item);
        b[new_upper + item.len()..upper].fill(0);
        put_u16(b, PD_LOWER_OFFSET, lower as u16);
        put_u16(b, PD_UPPER_OFFSET, new_upper as u16);
        self.set_item_id(off, ItemId::new(new_upper, LpFlags::Normal, item.len()));
        Some(off)
    }

    /// Inserts `item` so that it gets offset `off`, moving the line
    /// pointers at `off` and after one place up (`PageAddItem` without
    /// overwrite, as index pages use it: their line pointers stay in key
    /// order and have no holes). `off` may be `max_offset() + 1`. False if
    /// it does not fit.
    pub fn insert_item_at(&mut self, item: &[u8], off: OffsetNumber) -> bool {
        assert!(!self.is_new(), "insert_item_at on an uninitialised page");
        assert!(!item.is_empty(), "insert_item_at with an empty item");
        let max = self.max_offset();
        assert!(
            off != INVALID_OFFSET_NUMBER && off <= max + 1,
            "insert_item_at offset {off} beyond {}",
            max + 1
        );
        if max as usize + 1 > MAX_LINE_POINTERS {
            return false;
        }
        let lower = self.lower() + SIZE_OF_ITEM_ID;
        let upper = self.upper();
        let aligned = maxalign(item.len());
        if lower > upper || upper - lower < aligned {
            return false;
        }
        let new_upper = upper - aligned;
        let b = self.bytes_mut();
        b[new_upper..new_upper + item.len()].copy_from_slice(item);
        b[new_upper + item.len()..upper].fill(0);
        let from = item_id_offset(off);
        let end = item_id_offset(max + 1);
        b.copy_within(from..end, from + SIZE_OF_ITEM_ID);
        put_u16(b, PD_LOWER_OFFSET, lower as u16);
        put_u16(b, PD_UPPER_OFFSET, new_upper as u16);
        self.set_item_id(off, ItemId::new(new_upper, LpFlags::Normal, item.len()));
        true
    }

    /// The first unused line pointer if `PD_HAS_FREE_LINES` says there may
    /// be one; clears the hint when it was stale.
    pub fn first_unused(&mut self) -> Option<OffsetNumber> {
        if !self.has_free_lines() {
            return None;
        }
        let found = self
            .line_pointers()
            .find(|(_, lp)| !lp.is_used())
            .map(|(off, _)| off);
        if found.is_none() {
            self.set_flag(PD_HAS_FREE_LINES, false);
        }
        found
    }

    /// Marks `off` dead and drops its storage (PostgreSQL's `ItemIdSetDead`);
    /// the bytes are reclaimed by the next [`Page::repair_fragmentation`].
    pub fn set_item_dead(&mut self, off: OffsetNumber) {
        self.item_id(off); // bounds check
        self.set_item_id(off, ItemId::new(0, LpFlags::Dead, 0));
    }

    /// Marks `off` unused, free for reuse by [`Page::add_item`]
    /// (`ItemIdSetUnused`).
    pub fn set_item_unused(&mut self, off: OffsetNumber) {
        self.item_id(off); // bounds check
        self.set_item_id(off, ItemId::UNUSED);
        self.set_flag(PD_HAS_FREE_LINES, true);
    }

    /// Makes `off` a redirect to `target` (`ItemIdSetRedirect`).
    pub fn set_item_redirect(&mut self, off: OffsetNumber, target: OffsetNumber) {
        assert!(target != off, "line pointer {off} redirected to itself");
        self.item_id(target); // bounds check
        self.item_id(off);
        self.set_item_id(off, ItemId::new(target as usize, LpFlags::Redirect, 0));
    }

    /// Removes the items at `offs` (ascending, each in range) and their line
    /// pointers, moving later line pointers down so the array has no holes
    /// (`PageIndexMultiDelete`, for index pages whose items are kept in
    /// key order), then packs the storage.
    pub fn index_multi_delete(&mut self, offs: &[OffsetNumber]) {
        let max = self.max_offset();
        assert!(
            offs.windows(2).all(|w| w[0] < w[1])
                && offs.iter().all(|&o| o != INVALID_OFFSET_NUMBER && o <= max),
            "index_multi_delete of {offs:?} on a page of {max} items"
        );
        // A few items: move the bytes below each one up over it
        // (`PageIndexTupleDelete`), cheaper than packing the whole page.
        if offs.len() <= 8 {
            for &off in offs.iter().rev() {
                self.index_tuple_delete(off);
            }
            return;
        }
        let mut kept: OffsetNumber = 0;
        let mut doomed = offs.iter().peekable();
        for off in FIRST_OFFSET_NUMBER..=max {
            if doomed.peek() == Some(&&off) {
                doomed.next();
                continue;
            }
            kept += 1;
            if kept != off {
                let lp = self.item_id(off);
                self.set_item_id(kept, lp);
            }
        }
        let lower = item_id_offset(kept + 1);
        let old_lower = self.lower();
        let b = self.bytes_mut();
        b[lower..old_lower].fill(0);
        put_u16(b, PD_LOWER_OFFSET, lower as u16);
        self.repair_fragmentation();
    }

    /// Removes the item at `off` and its line pointer: later line pointers
    /// move down one place, the storage below the item moves up over it
    /// (`PageIndexTupleDelete`).
    fn index_tuple_delete(&mut self, off: OffsetNumber) {
        let max = self.max_offset();
        let lp = self.item_id(off);
        assert!(lp.has_storage(), "index item {off} has no storage: {lp:?}");
        let (item_off, size) = (lp.off(), maxalign(lp.len()));
        let upper = self.upper();
        assert!(
            upper <= item_off && item_off + size <= self.special_offset(),
            "index item {off} lies outside the page's storage"
        );
        let b = self.bytes_mut();
        b.copy_within(upper..item_off, upper + size);
        b[upper..upper + size].fill(0);
        let from = item_id_offset(off + 1);
        let end = item_id_offset(max + 1);
        b.copy_within(from..end, from - SIZE_OF_ITEM_ID);
        b[end - SIZE_OF_ITEM_ID..end].fill(0);
        put_u16(b, PD_LOWER_OFFSET, (end - SIZE_OF_ITEM_ID) as u16);
        put_u16(b, PD_UPPER_OFFSET, (upper + size) as u16);
        for o in FIRST_OFFSET_NUMBER..max {
            let lp = self.item_id(o);
            if lp.has_storage() && lp.off() < item_off {
                self.set_item_id(o, ItemId::new(lp.off() + size, lp.flags(), lp.len()));
            }
        }
    }

    /// Packs all items with storage against the special space, so the free
    /// space is one hole again (`PageRepairFragmentation`). Line pointers
    /// keep their offsets — tuple ids stay valid — only `lp_off` changes.
    /// Sets `PD_HAS_FREE_LINES` if any line pointer is unused.
    pub fn repair_fragmentation(&mut self) {
        self.assert_valid();
        // (lp_off, lp_len, offset number) of every item with storage.
        let mut items = [(0u16, 0u16, 0u16); MAX_LINE_POINTERS];
        let mut n = 0;
        let mut has_unused = false;
        for (off, lp) in self.line_pointers() {
            if lp.has_storage() {
                items[n] = (lp.off() as u16, lp.len() as u16, off);
                n += 1;
            } else if !lp.is_used() {
                has_unused = true;
            }
        }
        let items = &mut items[..n];
        // Highest first: each item moves up (or stays), never over an item
        // not yet moved.
        items.sort_unstable_by_key(|item| std::cmp::Reverse(item.0));
        let mut upper = self.special_offset();
        for &(lp_off, len, off) in items.iter() {
            let (lp_off, len) = (lp_off as usize, len as usize);
            upper -= maxalign(len);
            assert!(upper >= lp_off, "compaction would move item {off} down");
            let lp = self.item_id(off);
            let b = self.bytes_mut();
            b.copy_within(lp_off..lp_off + len, upper);
            b[upper + len..upper + maxalign(len)].fill(0);
            self.set_item_id(off, ItemId::new(upper, lp.flags(), len));
        }
        let lower = self.lower();
        let b = self.bytes_mut();
        b[lower..upper].fill(0);
        put_u16(b, PD_UPPER_OFFSET, upper as u16);
        self.set_flag(PD_HAS_FREE_LINES, has_unused);
        self.assert_valid();
    }

    /// Removes unused line pointers from the end of the array, returning
    /// their space to the free space (`PageTruncateLinePointerArray`; run
    /// by VACUUM's second pass, never while others may hold a tuple id
    /// they have not yet looked up — see the heap README).
    pub fn truncate_line_pointer_array(&mut self) {
        let mut max = self.max_offset();
        while max > 0 && !self.item_id(max).is_used() {
            max -= 1;
        }
        let lower = SIZE_OF_PAGE_HEADER_DATA + max as usize * SIZE_OF_ITEM_ID;
        let old_lower = self.lower();
        let b = self.bytes_mut();
        b[lower..old_lower].fill(0);
        put_u16(b, PD_LOWER_OFFSET, lower as u16);
        let any_unused = self.line_pointers().any(|(_, lp)| !lp.is_used());
        self.set_flag(PD_HAS_FREE_LINES, any_unused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Box<[u8; BLCKSZ]> {
        Box::new([0u8; BLCKSZ])
    }

    #[test]
    fn layout_sizes_match_the_documented_format() {
        assert_eq!(SIZE_OF_PAGE_HEADER_DATA, 32);
        assert_eq!(SIZE_OF_ITEM_ID, 4);
        assert_eq!(MAX_LINE_POINTERS, 2040);
        let lp = ItemId::new(8000, LpFlags::Normal, 100);
        assert_eq!(
            (lp.off(), lp.flags(), lp.len()),
            (8000, LpFlags::Normal, 100)
        );
        // Bit positions as PostgreSQL's bitfield on little-endian.
        assert_eq!(lp.raw(), 8000 | 1 << 15 | 100 << 17);
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(16);
        let h = page.header();
        assert_eq!(h.pd_lower, 32);
        assert_eq!(h.pd_upper as usize, BLCKSZ - 16);
        assert_eq!(h.pd_special as usize, BLCKSZ - 16);
        assert_eq!(h.pd_pagesize_version, 0x2000 | PAGE_LAYOUT_VERSION);
        assert_eq!(page.special().len(), 16);
        page.check().unwrap();
    }

    #[test]
    fn index_multi_delete_closes_the_gaps_and_frees_the_bytes() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(16);
        let free = page.exact_free_space();
        for i in 1..=6u8 {
            assert!(page.insert_item_at(&[i; 20], i as OffsetNumber));
        }
        page.index_multi_delete(&[2, 3, 6]);
        assert_eq!(page.max_offset(), 3);
        let left: Vec<u8> = (1..=3).map(|o| page.get_item(o)[0]).collect();
        assert_eq!(left, [1, 4, 5]);
        for (o, i) in [(1, 1u8), (2, 4), (3, 5)] {
            assert_eq!(page.get_item(o), &[i; 20][..]);
        }
        assert_eq!(page.exact_free_space(), free - 3 * (24 + 4));
        page.check().unwrap();
        page.index_multi_delete(&[1, 2, 3]);
        assert_eq!(page.max_offset(), 0);
        assert_eq!(page.exact_free_space(), free);
        // Many at once (the packing path), items of several sizes.
        for i in 1..=40u8 {
            assert!(page.insert_item_at(&vec![i; 8 + i as usize], i as OffsetNumber));
        }
        let doomed: Vec<OffsetNumber> = (1..=40).filter(|o| o % 3 == 0).collect();
        page.index_multi_delete(&doomed);
        let left: Vec<u8> = (1..=page.max_offset())
            .map(|o| page.get_item(o)[0])
            .collect();
        let want: Vec<u8> = (1..=40).filter(|i| i % 3 != 0).collect();
        assert_eq!(left, want);
        for (o, &i) in (1..).zip(&want) {
            assert_eq!(page.get_item(o), &vec![i; 8 + i as usize][..]);
        }
        page.check().unwrap();
    }

    #[test]
    fn new_page_is_all_zero_and_verifies() {
        let buf = blank();
        let page = Page::new(&*buf);
        assert!(page.is_new());
        assert_eq!(page.max_offset(), 0);
        assert!(page.verify_checksum(7));
        page.check().unwrap();
        page.verify_after_read(7, &"base/5/16384", true).unwrap();
    }

    #[test]
    fn filling_a_page_accounts_free_space_exactly() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(0);
        assert_eq!(page.free_space(), BLCKSZ - 32 - 4);
        let item = [0xabu8; 100]; // MAXALIGNs to 104, plus a 4-byte line pointer
        let mut n = 0;
        loop {
            let before = page.free_space();
            match page.add_item(&item, None) {
                Some(off) => {
                    n += 1;
                    assert_eq!(off, n);
                    assert_eq!(page.exact_free_space(), before + 4 - 108);
                }
                None => {
                    assert!(before < 104, "refused with {before} bytes free");
                    break;
                }
            }
        }
        assert_eq!(n as usize, (BLCKSZ - 32) / 108);
        assert_eq!(page.max_offset() as usize, n as usize);
        for off in 1..=page.max_offset() {
            assert_eq!(page.get_item(off), &item[..]);
        }
        page.check().unwrap();
    }

    #[test]
    fn add_item_at_offset_reuses_only_unused_pointers() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(0);
        assert_eq!(page.add_item(b"one", None), Some(1));
        assert_eq!(page.add_item(b"two", None), Some(2));
        assert_eq!(
            page.add_item(b"xxx", Some(1)),
            None,
            "used pointer overwritten"
        );
        page.set_item_unused(1);
        assert!(page.has_free_lines());
        assert_eq!(page.add_item(b"uno", None), Some(1));
        assert_eq!(page.get_item(1), b"uno");
        assert_eq!(page.add_item(b"three", Some(3)), Some(3));
        assert_eq!(page.max_offset(), 3);
        page.check().unwrap();
    }

    #[test]
    fn compaction_keeps_offsets_and_reclaims_dead_space() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(8);
        let items: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 10 + i as usize * 7]).collect();
        for it in &items {
            page.add_item(it, None).unwrap();
        }
        let free_before = page.exact_free_space();
        let mut reclaimed = 0;
        for off in (1..=20u16).filter(|o| o % 3 == 0) {
            reclaimed += maxalign(page.get_item(off).len());
            page.set_item_dead(off);
        }
        page.set_item_unused(20);
        reclaimed += maxalign(items[19].len());
        assert_eq!(
            page.exact_free_space(),
            free_before,
            "storage freed before compaction"
        );
        page.repair_fragmentation();
        assert_eq!(page.exact_free_space(), free_before + reclaimed);
        assert_eq!(page.max_offset(), 20, "line pointers must stay");
        for off in 1..=19u16 {
            let lp = page.item_id(off);
            if off % 3 == 0 {
                assert!(lp.is_dead() && !lp.has_storage());
            } else {
                assert_eq!(page.get_item(off), &items[off as usize - 1][..]);
            }
        }
        assert!(page.has_free_lines());
        assert_eq!(page.special().len(), 8);
        page.check().unwrap();
        page.truncate_line_pointer_array();
        assert_eq!(page.max_offset(), 19);
        assert!(!page.has_free_lines());
        page.check().unwrap();
    }

    #[test]
    fn checksum_detects_a_flipped_bit_and_a_misdirected_write() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(0);
        page.add_item(b"some tuple bytes", None).unwrap();
        page.set_lsn(Lsn(0x1_0000_0028));
        page.set_checksum(42);
        assert_ne!(page.checksum(), 0);
        assert!(page.verify_checksum(42));
        assert!(
            !page.verify_checksum(43),
            "checksum must depend on the block number"
        );
        page.verify_after_read(42, &"base/5/16384", true).unwrap();
        for bit in [0usize, 8 * 8 + 3, 4000 * 8 + 5, BLCKSZ * 8 - 1] {
            page.bytes_mut()[bit / 8] ^= 1 << (bit % 8);
            assert!(!page.verify_checksum(42), "flip of bit {bit} not detected");
            let err = page
                .verify_after_read(42, &"base/5/16384", true)
                .unwrap_err();
            assert_eq!(err.sqlstate, "XX001");
            assert_eq!(
                err.message,
                "invalid page in block 42 of relation base/5/16384"
            );
            page.bytes_mut()[bit / 8] ^= 1 << (bit % 8);
        }
        assert!(page.verify_checksum(42));
    }

    #[test]
    fn check_rejects_corrupt_headers_and_line_pointers() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(0);
        page.add_item(b"abc", None).unwrap();
        page.add_item(b"defgh", None).unwrap();
        let good = *page.bytes();

        // pd_lower above pd_upper
        let upper = page.upper() as u16;
        put_u16(page.bytes_mut(), PD_LOWER_OFFSET, upper + 4);
        assert!(page.check().is_err());
        *page.bytes_mut() = good;
        // pd_special beyond the page
        put_u16(page.bytes_mut(), PD_SPECIAL_OFFSET, 9000);
        assert!(page.check().is_err());
        *page.bytes_mut() = good;
        // line pointer pointing into free space
        page.set_item_id(1, ItemId::new(1000, LpFlags::Normal, 3));
        assert!(page.check().is_err());
        *page.bytes_mut() = good;
        // overlapping items
        let lp2 = page.item_id(2);
        page.set_item_id(1, ItemId::new(lp2.off(), LpFlags::Normal, 3));
        assert!(page.check().unwrap_err().0.contains("overlap"));
        *page.bytes_mut() = good;
        // uninitialised header with garbage below
        put_u16(page.bytes_mut(), PD_UPPER_OFFSET, 0);
        assert!(page.check().is_err());
        let err = page
            .verify_after_read(3, &"base/1/1259", false)
            .unwrap_err();
        assert_eq!(err.sqlstate, DATA_CORRUPTED);
        *page.bytes_mut() = good;
        page.check().unwrap();
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn item_id_beyond_max_offset_is_a_bug() {
        let mut buf = blank();
        let mut page = Page::new(&mut *buf);
        page.init(0);
        page.item_id(1);
    }
}
