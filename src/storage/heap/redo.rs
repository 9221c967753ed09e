//! WAL records of the heap (`RmgrId::Heap`) and of relation storage
//! (`RmgrId::Storage`), and their redo: PostgreSQL's `heapam_xlog.h`,
//! `heap_redo` / `heap_xlog_*` in `heapam.c`, and `smgr_redo` in
//! `catalog/storage.c`.
//!
//! # Records
//!
//! Every heap record names the blocks it changes as block references
//! (`BlockRef`); a block carries a full-page image when it is the page's
//! first change since the redo point, and then no block data. Main data is
//! little-endian:
//!
//! | info | main data | block 0 | block 1 |
//! |---|---|---|---|
//! | `INSERT` (\| `INIT_PAGE`) | `offnum u16` | the page; data = the tuple as inserted | — |
//! | `DELETE` | `offnum u16, xmax u64, cmax u32` | the page | — |
//! | `UPDATE` (\| `INIT_PAGE`) | `old_offnum u16, new_offnum u16, xmax u64, cmax u32` | the new version's page; data = the new tuple | the old version's page, if another one |
//! | `LOCK` | `offnum u16, xmax u64, infomask_bits u16` | the page | — |
//! | `FPI_FOR_HINT` | — | the page, always with an image | — |
//! | `VACUUM` | `prune_xid u64, nunused u16, nfrozen u16, unused offsets u16[], frozen offsets u16[]` | the page | — |
//! | `INPLACE` | `offnum u16` | the page; data = the whole new tuple (same length as the old one) | — |
//! | `NEWPAGE` | — | the page, always with an image | — |
//!
//! `VACUUM` (0x30; PostgreSQL's `XLOG_HEAP2_PRUNE` + `VACUUM` + `FREEZE_PAGE`
//! in one, as there are no indexes to wait for): the listed line pointers
//! become unused, the listed tuples get `HEAP_XMIN_FROZEN`, the page is
//! compacted and gets `pd_prune_xid`, all by
//! [`heap_page_vacuum_execute`](super::vacuum::heap_page_vacuum_execute),
//! which VACUUM itself runs too. Replay also records the page's free space
//! in the free space map. `INPLACE` (0x40, `XLOG_HEAP_INPLACE`): VACUUM's
//! non-transactional update of a `pg_class` / `pg_database` row
//! (`heap_inplace_update`): the tuple's bytes are overwritten, its length
//! unchanged. `NEWPAGE` (0x50, `XLOG_FPI` / `log_newpage`): a page written
//! whole, by VACUUM FULL into the new relation file.
//!
//! `INIT_PAGE` (0x80): the page was new (all zeros) and the change
//! initialised it; redo initialises it too and needs no image. The tuple in
//! block data is the formed tuple with `t_xmin`, `t_cid` and infomask set;
//! redo's `heap_page_add_tuple_at` sets `t_ctid`, exactly as the original
//! insert did. The old version of an `UPDATE` gets `t_xmax`, cmax and
//! `t_ctid = (block 0, new_offnum)`. `FPI_FOR_HINT` is PostgreSQL's
//! `XLOG_FPI_FOR_HINT` (which lives in the XLOG resource manager there): a
//! hint-bit change to a page with `data_checksums`, first since the redo
//! point, logs the page so that a torn write cannot leave a page whose
//! checksum fails. It takes 0x70, PostgreSQL's `XLOG_HEAP_INPLACE`, since
//! ferrogres has no in-place updates.
//!
//! Storage `CREATE` (0x10, as `XLOG_SMGR_CREATE`): `spc u32, db u32,
//! rel u32, fork u8`. Redo creates the database directory if needed and the
//! file if missing.
//!
//! Storage `TRUNCATE` (0x20, as `XLOG_SMGR_TRUNCATE`): `spc u32, db u32,
//! rel u32, nblocks u32`: VACUUM cut the main fork to `nblocks` blocks.
//! Logged and flushed *before* the file is truncated (as PostgreSQL's
//! `RelationTruncate`). Redo drops the buffers past the end, truncates the
//! file if it is longer (a missing file is skipped) and the free space map.
//!
//! # Redo rules
//!
//! - A block with an image: the image is written into the buffer (obtained
//!   with `read_buffer_zero_and_lock`, never read from disk: the disk copy
//!   may be torn), its LSN set to the record's end, marked dirty.
//! - `INIT_PAGE`: the page is initialised and the change applied,
//!   whatever the page held.
//! - Otherwise the page is read and the change is applied only if the
//!   page's LSN is older than the record's end, so replaying a record twice
//!   is harmless. A block beyond the relation's end, or a page that is all
//!   zeros, cannot be brought up to date by a record that neither
//!   initialises it nor carries its image: the record is skipped and the
//!   page remembered as invalid (PostgreSQL's `XLogReadBufferForRedo`
//!   returning `BLK_NOTFOUND`, and `log_invalid_page`). A later `TRUNCATE`
//!   below it forgets it (the page was cut off, which is why it was missing);
//!   one still remembered when replay ends means the WAL and the files
//!   disagree: `PANIC: WAL contains references to invalid pages`.
//! - A page skipped because its LSN is at or past the record's end must
//!   have had that LSN written by WAL that replay also reads (WAL before
//!   data). [`check_after_replay`] refuses to open when a page read during
//!   replay carries an LSN beyond the end of the WAL: its changes came from
//!   WAL that is gone (in the field: processes of two servers writing one
//!   data directory), and opening would reuse those LSNs and make later
//!   replays skip real changes.
//! - Every check a routine relies on (line pointer ranges, a tuple at the
//!   old offset, the tuple fitting) fails with PostgreSQL's message
//!   (`invalid max offset number`, `invalid lp`, `failed to add tuple`) and
//!   names the record and block in a `CONTEXT` line, as PostgreSQL's
//!   `WAL redo at … for Heap/UPDATE: … blkref #0: rel …, blk …` does.
//! - A relation whose file no longer exists was dropped later (drops are
//!   not WAL-logged, and the unlink happened after this record): its
//!   records are skipped, as PostgreSQL's redo ignores blocks of missing
//!   relations.

use crate::storage::buffer::BufferPool;
use crate::storage::page::{ItemPointer, OffsetNumber, Page, PageMut};
use crate::storage::smgr::Smgr;
use crate::storage::types::{BlockNumber, ForkNumber, RelFileLocator, Xid};
use crate::storage::wal::{DecodedBlock, DecodedRecord, RmgrId};
use crate::utils::elog::{PgError, PgResult, sqlstate};

use super::htup::{
    CommandId, HEAP_LOCK_MASK, HEAP_XMAX_LOCK_ONLY, MAX_HEAP_TUPLE_SIZE, SIZEOF_HEAP_TUPLE_HEADER,
};
use super::page::{
    heap_page_add_tuple_at, heap_page_set_cmax, heap_page_set_ctid, heap_page_set_xmax,
};

/// Storage record: a relation fork was created.
pub const XLOG_SMGR_CREATE: u8 = 0x10;
/// Storage record: the main fork was truncated (VACUUM).
pub const XLOG_SMGR_TRUNCATE: u8 = 0x20;

/// Heap record kinds (`info & XLOG_HEAP_OPMASK`), PostgreSQL's values.
pub const XLOG_HEAP_INSERT: u8 = 0x00;
pub const XLOG_HEAP_DELETE: u8 = 0x10;
pub const XLOG_HEAP_UPDATE: u8 = 0x20;
/// VACUUM of one page: unused line pointers, frozen tuples, compaction.
pub const XLOG_HEAP_VACUUM: u8 = 0x30;
/// Non-transactional overwrite of a catalog tuple (`heap_inplace_update`).
pub const XLOG_HEAP_INPLACE: u8 = 0x40;
/// A whole new page, always carried as an image (`log_newpage`).
pub const XLOG_HEAP_NEWPAGE: u8 = 0x50;
pub const XLOG_HEAP_LOCK: u8 = 0x60;
/// A full-page image taken for a hint-bit change (see the module doc).
pub const XLOG_HEAP_FPI_FOR_HINT: u8 = 0x70;
pub const XLOG_HEAP_OPMASK: u8 = 0x70;
/// The change initialised a new page.
pub const XLOG_HEAP_INIT_PAGE: u8 = 0x80;

// ---------------------------------------------------------------------------
// Main data
// ---------------------------------------------------------------------------

/// Little-endian reader over main data; every getter is checked.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, at: 0 }
    }
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.data.get(self.at..self.at + N)?;
        self.at += N;
        Some(b.try_into().expect("length checked"))
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take()?))
    }
    /// Only if everything was consumed.
    fn done<T>(self, v: T) -> Option<T> {
        (self.at == self.data.len()).then_some(v)
    }
}

/// `xl_heap_insert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlHeapInsert {
    pub offnum: OffsetNumber,
}

impl XlHeapInsert {
    pub fn encode(&self) -> Vec<u8> {
        self.offnum.to_le_bytes().to_vec()
    }
    pub fn decode(data: &[u8]) -> Option<XlHeapInsert> {
        let mut r = Reader::new(data);
        let offnum = r.u16()?;
        r.done(XlHeapInsert { offnum })
    }
}

/// `xl_heap_delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlHeapDelete {
    pub offnum: OffsetNumber,
    pub xmax: Xid,
    pub cmax: CommandId,
}

impl XlHeapDelete {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14);
        out.extend_from_slice(&self.offnum.to_le_bytes());
        out.extend_from_slice(&self.xmax.0.to_le_bytes());
        out.extend_from_slice(&self.cmax.to_le_bytes());
        out
    }
    pub fn decode(data: &[u8]) -> Option<XlHeapDelete> {
        let mut r = Reader::new(data);
        let v = XlHeapDelete {
            offnum: r.u16()?,
            xmax: Xid(r.u64()?),
            cmax: r.u32()?,
        };
        r.done(v)
    }
}

/// `xl_heap_update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlHeapUpdate {
    pub old_offnum: OffsetNumber,
    pub new_offnum: OffsetNumber,
    pub xmax: Xid,
    pub cmax: CommandId,
}

impl XlHeapUpdate {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.old_offnum.to_le_bytes());
        out.extend_from_slice(&self.new_offnum.to_le_bytes());
        out.extend_from_slice(&self.xmax.0.to_le_bytes());
        out.extend_from_slice(&self.cmax.to_le_bytes());
        out
    }
    pub fn decode(data: &[u8]) -> Option<XlHeapUpdate> {
        let mut r = Reader::new(data);
        let v = XlHeapUpdate {
            old_offnum: r.u16()?,
            new_offnum: r.u16()?,
            xmax: Xid(r.u64()?),
            cmax: r.u32()?,
        };
        r.done(v)
    }
}

/// `xl_heap_lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlHeapLock {
    pub offnum: OffsetNumber,
    pub xmax: Xid,
    /// `HEAP_XMAX_LOCK_ONLY` and the lock-strength bits.
    pub infomask_bits: u16,
}

impl XlHeapLock {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        out.extend_from_slice(&self.offnum.to_le_bytes());
        out.extend_from_slice(&self.xmax.0.to_le_bytes());
        out.extend_from_slice(&self.infomask_bits.to_le_bytes());
        out
    }
    pub fn decode(data: &[u8]) -> Option<XlHeapLock> {
        let mut r = Reader::new(data);
        let v = XlHeapLock {
            offnum: r.u16()?,
            xmax: Xid(r.u64()?),
            infomask_bits: r.u16()?,
        };
        r.done(v)
    }
}

/// VACUUM's page record (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XlHeapVacuum {
    pub prune_xid: Xid,
    pub unused: Vec<OffsetNumber>,
    pub frozen: Vec<OffsetNumber>,
}

impl XlHeapVacuum {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 2 * (self.unused.len() + self.frozen.len()));
        out.extend_from_slice(&self.prune_xid.0.to_le_bytes());
        out.extend_from_slice(&(self.unused.len() as u16).to_le_bytes());
        out.extend_from_slice(&(self.frozen.len() as u16).to_le_bytes());
        for o in self.unused.iter().chain(&self.frozen) {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out
    }
    pub fn decode(data: &[u8]) -> Option<XlHeapVacuum> {
        let mut r = Reader::new(data);
        let prune_xid = Xid(r.u64()?);
        let nunused = r.u16()? as usize;
        let nfrozen = r.u16()? as usize;
        let mut unused = Vec::with_capacity(nunused.min(1024));
        for _ in 0..nunused {
            unused.push(r.u16()?);
        }
        let mut frozen = Vec::with_capacity(nfrozen.min(1024));
        for _ in 0..nfrozen {
            frozen.push(r.u16()?);
        }
        r.done(XlHeapVacuum {
            prune_xid,
            unused,
            frozen,
        })
    }
}

/// `xl_smgr_truncate` (main fork only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlSmgrTruncate {
    pub rel: RelFileLocator,
    pub nblocks: BlockNumber,
}

impl XlSmgrTruncate {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.rel.spc_oid.to_le_bytes());
        out.extend_from_slice(&self.rel.db_oid.to_le_bytes());
        out.extend_from_slice(&self.rel.rel_number.to_le_bytes());
        out.extend_from_slice(&self.nblocks.to_le_bytes());
        out
    }
    pub fn decode(data: &[u8]) -> Option<XlSmgrTruncate> {
        let mut r = Reader::new(data);
        let rel = RelFileLocator {
            spc_oid: r.u32()?,
            db_oid: r.u32()?,
            rel_number: r.u32()?,
        };
        let nblocks = r.u32()?;
        r.done(XlSmgrTruncate { rel, nblocks })
    }
}

/// `xl_smgr_create`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlSmgrCreate {
    pub rel: RelFileLocator,
    pub fork: ForkNumber,
}

impl XlSmgrCreate {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13);
        out.extend_from_slice(&self.rel.spc_oid.to_le_bytes());
        out.extend_from_slice(&self.rel.db_oid.to_le_bytes());
        out.extend_from_slice(&self.rel.rel_number.to_le_bytes());
        out.push(self.fork as u8);
        out
    }
    pub fn decode(data: &[u8]) -> Option<XlSmgrCreate> {
        let mut r = Reader::new(data);
        let rel = RelFileLocator {
            spc_oid: r.u32()?,
            db_oid: r.u32()?,
            rel_number: r.u32()?,
        };
        let fork = match r.u8()? {
            0 => ForkNumber::Main,
            1 => ForkNumber::Fsm,
            2 => ForkNumber::VisibilityMap,
            3 => ForkNumber::Init,
            _ => return None,
        };
        r.done(XlSmgrCreate { rel, fork })
    }
}

// ---------------------------------------------------------------------------
// Redo
// ---------------------------------------------------------------------------

/// Creates `base/<db>` (or `global`) under the data directory if missing:
/// smgr creates files, not database directories.
pub(crate) fn ensure_database_dir(smgr: &Smgr, rel: RelFileLocator) -> PgResult<()> {
    let dir = if rel.db_oid == 0 {
        smgr.data_dir().join("global")
    } else {
        smgr.data_dir().join(format!("base/{}", rel.db_oid))
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        PgError::error(
            sqlstate::IO_ERROR,
            format!("could not create directory \"{}\": {e}", dir.display()),
        )
    })
}

fn malformed(rec: &DecodedRecord) -> PgError {
    PgError::error(
        sqlstate::INTERNAL_ERROR,
        format!(
            "malformed {} WAL record at {} (info {:#04x})",
            rec.rmgr.name(),
            rec.lsn,
            rec.info
        ),
    )
}

fn redo_failed(rec: &DecodedRecord, what: String) -> PgError {
    PgError::error(
        sqlstate::INTERNAL_ERROR,
        format!("{} redo at {} failed: {what}", rec.rmgr.name(), rec.lsn),
    )
}

/// PostgreSQL's name of a heap record kind, for CONTEXT lines.
fn heap_op_name(info: u8) -> &'static str {
    match info & XLOG_HEAP_OPMASK {
        XLOG_HEAP_INSERT => "INSERT",
        XLOG_HEAP_DELETE => "DELETE",
        XLOG_HEAP_UPDATE => "UPDATE",
        XLOG_HEAP_VACUUM => "VACUUM",
        XLOG_HEAP_INPLACE => "INPLACE",
        XLOG_HEAP_NEWPAGE => "NEWPAGE",
        XLOG_HEAP_LOCK => "LOCK",
        _ => "FPI_FOR_HINT",
    }
}

/// A check of a redo routine failed on one block: the message is
/// PostgreSQL's; the context names the record and the block.
fn block_redo_failed(rec: &DecodedRecord, blk: &DecodedBlock, what: String) -> PgError {
    let index = rec
        .blocks
        .iter()
        .position(|b| std::ptr::eq(b, blk))
        .unwrap_or(0);
    let r = blk.tag.rel;
    // The context travels as the detail; heap_redo prints it as CONTEXT.
    PgError::error(sqlstate::INTERNAL_ERROR, what).with_detail(format!(
        "WAL redo at {} for Heap/{}: blkref #{index}: rel {}/{}/{}, fork {:?}, blk {}",
        rec.lsn,
        heap_op_name(rec.info),
        r.spc_oid,
        r.db_oid,
        r.rel_number,
        blk.tag.fork,
        blk.tag.block
    ))
}

// ---------------------------------------------------------------------------
// What replay saw that must be explained by the time it ends (the startup
// process's own memory: only it replays).
// ---------------------------------------------------------------------------

/// A page a record could not be applied to, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InvalidPage {
    rel: (u32, u32, u32),
    fork: u8,
    block: BlockNumber,
    /// The block was beyond the end of the file (else: all zeros).
    missing: bool,
}

struct ReplayChecks {
    invalid: std::collections::BTreeSet<InvalidPage>,
    /// The highest LSN of a page that replay found already past a record.
    max_skipped_page_lsn: Option<(crate::storage::types::Lsn, crate::storage::types::BufferTag)>,
}

static REPLAY_CHECKS: std::sync::Mutex<ReplayChecks> = std::sync::Mutex::new(ReplayChecks {
    invalid: std::collections::BTreeSet::new(),
    max_skipped_page_lsn: None,
});

fn replay_checks() -> std::sync::MutexGuard<'static, ReplayChecks> {
    REPLAY_CHECKS.lock().unwrap_or_else(|e| e.into_inner())
}

fn rel_key(rel: RelFileLocator) -> (u32, u32, u32) {
    (rel.spc_oid, rel.db_oid, rel.rel_number)
}

fn log_invalid_page(tag: crate::storage::types::BufferTag, missing: bool) {
    replay_checks().invalid.insert(InvalidPage {
        rel: rel_key(tag.rel),
        fork: tag.fork as u8,
        block: tag.block,
        missing,
    });
}

/// A truncate explains the invalid pages it cut off (PostgreSQL's
/// `XLogTruncateRelation` → `forget_invalid_pages`).
fn forget_invalid_pages(rel: RelFileLocator, from_block: BlockNumber) {
    let key = rel_key(rel);
    replay_checks()
        .invalid
        .retain(|p| p.rel != key || p.block < from_block);
}

/// Whether replay remembers `tag` as an invalid page (for tests).
#[cfg(test)]
pub(crate) fn is_invalid_page(tag: crate::storage::types::BufferTag) -> bool {
    replay_checks()
        .invalid
        .iter()
        .any(|p| p.rel == rel_key(tag.rel) && p.fork == tag.fork as u8 && p.block == tag.block)
}

/// Called by the startup process once replay has reached `end_of_wal`:
/// the checks of the module doc's redo rules, as PostgreSQL's
/// `XLogCheckInvalidPages`. An error is a PANIC: the server must not open.
pub fn check_after_replay(end_of_wal: crate::storage::types::Lsn) -> Result<(), String> {
    replay_checks().verdict(end_of_wal)
}

impl ReplayChecks {
    fn verdict(&self, end_of_wal: crate::storage::types::Lsn) -> Result<(), String> {
        if !self.invalid.is_empty() {
            let mut lines = String::new();
            for p in self.invalid.iter().take(20) {
                let rel = RelFileLocator {
                    spc_oid: p.rel.0,
                    db_oid: p.rel.1,
                    rel_number: p.rel.2,
                };
                let path = crate::storage::smgr::relpath(rel, ForkNumber::Main);
                lines.push_str(&format!(
                    "WARNING:  page {} of relation {path} {}\n",
                    p.block,
                    if p.missing {
                        "does not exist"
                    } else {
                        "is uninitialized"
                    }
                ));
            }
            return Err(format!("{lines}WAL contains references to invalid pages"));
        }
        if let Some((lsn, tag)) = self.max_skipped_page_lsn
            && lsn > end_of_wal
        {
            return Err(format!(
                "page {} of relation {} has LSN {lsn}, beyond the end of WAL at {end_of_wal}\n\
                 HINT:  The page was changed by WAL that no longer exists, for example by \
                 processes of another server on this data directory. Restore the data \
                 directory from a backup.",
                tag.block,
                crate::storage::smgr::relpath(tag.rel, tag.fork)
            ));
        }
        Ok(())
    }
}

/// Redo of a Storage record (PostgreSQL's `smgr_redo`).
pub fn storage_redo_with(smgr: &Smgr, rec: &DecodedRecord) -> PgResult<()> {
    match rec.info & 0xF0 {
        XLOG_SMGR_CREATE => {
            let xl = XlSmgrCreate::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            ensure_database_dir(smgr, xl.rel)?;
            smgr.create(xl.rel, xl.fork, true)
        }
        other => Err(redo_failed(
            rec,
            format!("unknown storage op code {other:#04x}"),
        )),
    }
}

/// Redo of Storage `TRUNCATE`: buffers past the end are dropped, then
/// the file and the free space map are cut (never lengthened).
fn smgr_truncate_redo(pool: &BufferPool, rec: &DecodedRecord) -> PgResult<()> {
    let xl = XlSmgrTruncate::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
    let smgr = pool.smgr();
    if !smgr.exists(xl.rel, ForkNumber::Main)? {
        return Ok(()); // dropped later
    }
    forget_invalid_pages(xl.rel, xl.nblocks);
    pool.drop_fork_buffers_from(xl.rel, ForkNumber::Main, xl.nblocks)?;
    if smgr.nblocks(xl.rel, ForkNumber::Main)? > xl.nblocks {
        smgr.truncate(xl.rel, ForkNumber::Main, xl.nblocks)?;
    }
    crate::storage::fsm::fsm_truncate(pool, xl.rel, xl.nblocks)
}

/// Redo of a Heap or Storage record into `pool`.
pub fn redo_with(pool: &BufferPool, rec: &DecodedRecord) -> PgResult<()> {
    match rec.rmgr {
        RmgrId::Storage if rec.info & 0xF0 == XLOG_SMGR_TRUNCATE => smgr_truncate_redo(pool, rec),
        RmgrId::Storage => storage_redo_with(pool.smgr(), rec),
        RmgrId::Heap => heap_redo_with(pool, rec),
        other => Err(redo_failed(
            rec,
            format!("not a heap record ({})", other.name()),
        )),
    }
}

fn block(rec: &DecodedRecord, i: usize) -> PgResult<&DecodedBlock> {
    rec.blocks.get(i).ok_or_else(|| malformed(rec))
}

/// The line pointer at `off` must hold a tuple.
fn check_normal(page: &PageMut<'_>, off: OffsetNumber) -> Result<(), String> {
    if off == 0 || off > page.max_offset() {
        return Err(format!(
            "invalid lp (offset {off} out of range 1..={})",
            page.max_offset()
        ));
    }
    let lp = page.item_id(off);
    if !lp.is_normal() || lp.len() < SIZEOF_HEAP_TUPLE_HEADER {
        return Err(format!("invalid lp (no tuple at offset {off}: {lp:?})"));
    }
    Ok(())
}

fn redo_add_tuple(
    page: &mut PageMut<'_>,
    blkno: BlockNumber,
    off: OffsetNumber,
    tuple: &[u8],
) -> Result<(), String> {
    if tuple.len() < SIZEOF_HEAP_TUPLE_HEADER || tuple.len() > MAX_HEAP_TUPLE_SIZE {
        return Err(format!(
            "failed to add tuple (a tuple of {} bytes)",
            tuple.len()
        ));
    }
    if off == 0 || off > page.max_offset() + 1 {
        return Err(format!(
            "invalid max offset number (offset {off}, the page has {} line pointers)",
            page.max_offset()
        ));
    }
    match heap_page_add_tuple_at(page, blkno, off, tuple) {
        Some(o) if o == off => Ok(()),
        _ => Err(format!(
            "failed to add tuple ({} bytes do not fit at offset {off})",
            tuple.len()
        )),
    }
}

/// Sets xmax (and cmax, ctid) of the old version in a delete or update.
fn redo_set_deleter(
    page: &mut PageMut<'_>,
    off: OffsetNumber,
    xmax: Xid,
    cmax: CommandId,
    ctid: Option<ItemPointer>,
) -> Result<(), String> {
    check_normal(page, off)?;
    if !xmax.is_normal() {
        return Err(format!("xmax {xmax} is not a normal xid"));
    }
    heap_page_set_xmax(page, off, xmax, 0);
    heap_page_set_cmax(page, off, cmax);
    if let Some(ctid) = ctid {
        heap_page_set_ctid(page, off, ctid);
    }
    Ok(())
}

fn heap_redo_with(pool: &BufferPool, rec: &DecodedRecord) -> PgResult<()> {
    let init = rec.info & XLOG_HEAP_INIT_PAGE != 0;
    match rec.info & XLOG_HEAP_OPMASK {
        XLOG_HEAP_INSERT => {
            let xl = XlHeapInsert::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            let b = block(rec, 0)?;
            redo_block(pool, rec, b, init, |page, blkno| {
                redo_add_tuple(page, blkno, xl.offnum, &b.data)
            })
        }
        XLOG_HEAP_DELETE => {
            let xl = XlHeapDelete::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            redo_block(pool, rec, block(rec, 0)?, false, |page, _| {
                redo_set_deleter(page, xl.offnum, xl.xmax, xl.cmax, None)
            })
        }
        XLOG_HEAP_UPDATE => {
            let xl = XlHeapUpdate::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            let new = block(rec, 0)?;
            let new_tid = ItemPointer::new(new.tag.block, xl.new_offnum);
            let same_page = rec.blocks.len() == 1;
            // Same order as heap_update: the new version first, then the old one.
            redo_block(pool, rec, new, init, |page, blkno| {
                redo_add_tuple(page, blkno, xl.new_offnum, &new.data)?;
                if same_page {
                    redo_set_deleter(page, xl.old_offnum, xl.xmax, xl.cmax, Some(new_tid))?;
                }
                Ok(())
            })?;
            if !same_page {
                redo_block(pool, rec, block(rec, 1)?, false, |page, _| {
                    redo_set_deleter(page, xl.old_offnum, xl.xmax, xl.cmax, Some(new_tid))
                })?;
            }
            Ok(())
        }
        XLOG_HEAP_LOCK => {
            let xl = XlHeapLock::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            if xl.infomask_bits & !(HEAP_XMAX_LOCK_ONLY | HEAP_LOCK_MASK) != 0
                || !xl.xmax.is_normal()
            {
                return Err(malformed(rec));
            }
            redo_block(pool, rec, block(rec, 0)?, false, |page, _| {
                check_normal(page, xl.offnum)?;
                heap_page_set_xmax(page, xl.offnum, xl.xmax, xl.infomask_bits);
                Ok(())
            })
        }
        XLOG_HEAP_FPI_FOR_HINT | XLOG_HEAP_NEWPAGE => {
            let b = block(rec, 0)?;
            if b.image.is_none() {
                return Err(malformed(rec));
            }
            redo_block(pool, rec, b, false, |_, _| Ok(()))
        }
        XLOG_HEAP_VACUUM => {
            let xl = XlHeapVacuum::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            let b = block(rec, 0)?;
            if !pool.smgr().exists(b.tag.rel, b.tag.fork)? {
                return Ok(()); // dropped later
            }
            let mut avail = None;
            redo_block(pool, rec, b, false, |page, _| {
                super::vacuum::heap_page_vacuum_execute(
                    page,
                    &xl.unused,
                    &xl.frozen,
                    xl.prune_xid,
                )?;
                avail = Some(super::page::heap_page_free_space(page));
                Ok(())
            })?;
            if b.image.is_some() {
                let pin = pool.read_buffer(b.tag)?;
                let g = pin.lock_shared();
                avail = Some(super::page::heap_page_free_space(&Page::new(g.page())));
            }
            match avail {
                Some(avail) => crate::storage::fsm::fsm_record(pool, b.tag.rel, b.tag.block, avail),
                None => Ok(()),
            }
        }
        XLOG_HEAP_INPLACE => {
            let xl = XlHeapInsert::decode(&rec.main_data).ok_or_else(|| malformed(rec))?;
            let b = block(rec, 0)?;
            redo_block(pool, rec, b, false, |page, _| {
                check_normal(page, xl.offnum)?;
                let item = page.get_item_mut(xl.offnum);
                if item.len() != b.data.len() {
                    return Err(format!(
                        "in-place tuple of {} bytes replaces one of {}",
                        b.data.len(),
                        item.len()
                    ));
                }
                item.copy_from_slice(&b.data);
                Ok(())
            })
        }
        other => Err(redo_failed(
            rec,
            format!("unknown heap op code {other:#04x}"),
        )),
    }
}

/// Brings one block of a record up to date (the rules in the module doc).
pub(crate) fn redo_block(
    pool: &BufferPool,
    rec: &DecodedRecord,
    blk: &DecodedBlock,
    will_init: bool,
    apply: impl FnOnce(&mut PageMut<'_>, BlockNumber) -> Result<(), String>,
) -> PgResult<()> {
    let tag = blk.tag;
    let smgr = pool.smgr();
    if !smgr.exists(tag.rel, tag.fork)? {
        // Dropped after this record was written (the file was unlinked at
        // commit of the DROP, which is not WAL-logged).
        return Ok(());
    }
    // A block beyond the end is added as zeros when the record rewrites it
    // whole (an image or INIT_PAGE: the relation was extended before the
    // crash but the new blocks never reached the disk). Any other record
    // cannot be applied to it: skipped, remembered (module doc).
    let mut nblocks = smgr.nblocks(tag.rel, tag.fork)?;
    if nblocks <= tag.block && blk.image.is_none() && !will_init {
        log_invalid_page(tag, true);
        return Ok(());
    }
    let mut added = 0u64;
    while nblocks <= tag.block {
        let (_zero_page, b) = pool.extend(tag.rel, tag.fork)?;
        nblocks = b + 1;
        added += 1;
        assert!(added <= u32::MAX as u64, "extending for redo never ends");
    }

    if let Some(image) = &blk.image {
        let mut locked = pool.read_buffer_zero_and_lock(tag)?;
        let mut page = Page::new(locked.page_mut());
        page.bytes_mut().copy_from_slice(&image[..]);
        page.set_lsn(rec.end_lsn);
        page.assert_valid();
        locked.mark_dirty();
        return Ok(());
    }
    if will_init {
        let mut locked = pool.read_buffer_zero_and_lock(tag)?;
        let mut page = Page::new(locked.page_mut());
        page.init(0);
        apply(&mut page, tag.block).map_err(|e| block_redo_failed(rec, blk, e))?;
        page.set_lsn(rec.end_lsn);
        page.assert_valid();
        locked.mark_dirty();
        return Ok(());
    }
    let pin = pool.read_buffer(tag)?;
    let mut guard = pin.lock_exclusive();
    let mut page = Page::new(guard.page_mut());
    if page.lsn() >= rec.end_lsn {
        // Already there: the page was written after this record.
        let mut checks = replay_checks();
        if checks
            .max_skipped_page_lsn
            .is_none_or(|(l, _)| page.lsn() > l)
        {
            checks.max_skipped_page_lsn = Some((page.lsn(), tag));
        }
        return Ok(());
    }
    if page.is_new() {
        log_invalid_page(tag, false);
        return Ok(());
    }
    apply(&mut page, tag.block).map_err(|e| block_redo_failed(rec, blk, e))?;
    page.set_lsn(rec.end_lsn);
    page.assert_valid();
    guard.mark_dirty();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::types::{BufferTag, Lsn};

    fn tag(block: BlockNumber) -> BufferTag {
        BufferTag {
            rel: RelFileLocator {
                spc_oid: 1663,
                db_oid: 5,
                rel_number: 16384,
            },
            fork: ForkNumber::Main,
            block,
        }
    }

    #[test]
    fn replay_refuses_invalid_pages_and_pages_newer_than_the_wal() {
        let mut checks = ReplayChecks {
            invalid: Default::default(),
            max_skipped_page_lsn: None,
        };
        assert_eq!(checks.verdict(Lsn(100)), Ok(()));
        checks.max_skipped_page_lsn = Some((Lsn(90), tag(3)));
        assert_eq!(checks.verdict(Lsn(100)), Ok(()), "a page the WAL explains");
        checks.max_skipped_page_lsn = Some((Lsn(0x4F99700), tag(20)));
        let err = checks.verdict(Lsn(0x459BA10)).unwrap_err();
        assert!(
            err.starts_with("page 20 of relation base/5/16384 has LSN 0/4F99700, beyond the end of WAL at 0/459BA10"),
            "{err}"
        );
        checks.invalid.insert(InvalidPage {
            rel: (1663, 5, 16384),
            fork: 0,
            block: 20,
            missing: false,
        });
        let err = checks.verdict(Lsn(u64::MAX)).unwrap_err();
        assert_eq!(
            err,
            "WARNING:  page 20 of relation base/5/16384 is uninitialized\nWAL contains references to invalid pages"
        );
    }

    #[test]
    fn main_data_round_trips_and_rejects_bad_lengths() {
        let i = XlHeapInsert { offnum: 7 };
        assert_eq!(XlHeapInsert::decode(&i.encode()), Some(i));
        let d = XlHeapDelete {
            offnum: 3,
            xmax: Xid(1 << 40),
            cmax: 9,
        };
        assert_eq!(XlHeapDelete::decode(&d.encode()), Some(d));
        let u = XlHeapUpdate {
            old_offnum: 1,
            new_offnum: 226,
            xmax: Xid(77),
            cmax: 2,
        };
        assert_eq!(XlHeapUpdate::decode(&u.encode()), Some(u));
        let l = XlHeapLock {
            offnum: 5,
            xmax: Xid(8),
            infomask_bits: HEAP_XMAX_LOCK_ONLY,
        };
        assert_eq!(XlHeapLock::decode(&l.encode()), Some(l));
        let c = XlSmgrCreate {
            rel: RelFileLocator {
                spc_oid: 1663,
                db_oid: 5,
                rel_number: 16384,
            },
            fork: ForkNumber::Main,
        };
        assert_eq!(XlSmgrCreate::decode(&c.encode()), Some(c));
        assert_eq!(XlHeapDelete::decode(&d.encode()[..13]), None, "short");
        let mut long = u.encode();
        long.push(0);
        assert_eq!(XlHeapUpdate::decode(&long), None, "trailing bytes");
        let mut bad_fork = c.encode();
        bad_fork[12] = 9;
        assert_eq!(XlSmgrCreate::decode(&bad_fork), None);
    }
}
