//! Commit status: `pg_xact/` (PostgreSQL's `clog.c` on top of `slru.c`).
//!
//! Two bits per transaction id, 4 ids per byte, 32768 per 8 KiB page, 32
//! pages per segment file `pg_xact/XXXX` (the segment number in upper-case
//! hex, at least four digits, as PostgreSQL names them). Pages are cached in
//! a fixed number of shared slots, replaced least-recently-used.
//!
//! Rules:
//! 1. `control_lock` guards every slot (page number, dirty flag, contents).
//!    Lookups of a resident page take it shared; anything that changes a
//!    slot takes it exclusive. The LRU tick is an atomic bumped under either.
//! 2. I/O (page read on a miss, write-back on eviction and at checkpoint)
//!    happens under the exclusive lock: a miss costs every clog user the
//!    time of one 8 KiB read, once per 32768 transactions (PostgreSQL drops
//!    the lock and uses per-buffer I/O locks instead).
//! 3. WAL before data: a page is written only after the WAL is flushed up
//!    to its `page_lsn`, the highest commit-record LSN stored on it (only
//!    asynchronous commits can leave it unflushed) or its ZEROPAGE record.
//! 4. A page is created (zeroed) only by [`Clog::zero_page`], WAL-logged as
//!    `CLOG_ZEROPAGE`, when xid assignment reaches the page's first id.
//!    A page missing from disk reads as zeros (all "in progress"): that is
//!    what a never-flushed zeroed page is after a crash, and readers treat an
//!    in-progress id that is not in the process array as aborted.
//! 5. A page evicted dirty is written and fsynced at once; `clog_checkpoint`
//!    writes every dirty page and fsyncs the files it wrote.
//! 6. An I/O failure is PostgreSQL's `SlruReportIOError`: `could not access
//!    status of transaction N` with a DETAIL naming the step, the file
//!    (`pg_xact/0000`), the offset and `%m`, and `errcode_for_file_access`'s
//!    SQLSTATE (53100 on a full disk). N is the transaction whose status was
//!    being read or set; for a write-back at checkpoint, where PostgreSQL
//!    prints 0, the newest transaction whose status is on the page.
//!    A failed write leaves the page dirty: the next checkpoint retries it.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};

use super::record::{CLOG_ZEROPAGE, XactWal, decode_zeropage, encode_zeropage};
use crate::storage::lock::{LWLock, LWLockMode};
use crate::storage::types::{BLCKSZ, Lsn, Xid};
use crate::storage::wal::RmgrId;
use crate::utils::elog::{self, PgError, PgResult};
use crate::utils::guc::Settings;

/// Status bits of one transaction, PostgreSQL's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ClogStatus {
    InProgress = 0,
    Committed = 1,
    Aborted = 2,
    /// PostgreSQL's intermediate state for subtransactions; ferrogres never
    /// writes it (subxids are committed with their parent under the
    /// process-array rule, see README.md) but reads it as in progress.
    SubCommitted = 3,
}

impl ClogStatus {
    fn from_bits(b: u8) -> ClogStatus {
        match b & 3 {
            0 => ClogStatus::InProgress,
            1 => ClogStatus::Committed,
            2 => ClogStatus::Aborted,
            _ => ClogStatus::SubCommitted,
        }
    }
}

pub const CLOG_XACTS_PER_BYTE: u64 = 4;
pub const CLOG_XACTS_PER_PAGE: u64 = BLCKSZ as u64 * CLOG_XACTS_PER_BYTE;
pub const SLRU_PAGES_PER_SEGMENT: u64 = 32;

const EMPTY: u64 = u64::MAX;
const DIR_BYTES: usize = 1024;

pub fn page_of(xid: Xid) -> u64 {
    xid.0 / CLOG_XACTS_PER_PAGE
}

/// `pg_xact/XXXX` file name of a segment.
pub fn segment_name(segno: u64) -> String {
    format!("{segno:04X}")
}

#[repr(C)]
struct ClogHeader {
    /// Rule 1.
    control_lock: LWLock,
    n_slots: AtomicU32,
    /// LRU clock: incremented on every page access.
    tick: AtomicU64,
    /// Directory of the segment files (`<data_directory>/pg_xact`). Written at init only.
    dir_len: AtomicU32,
    dir: [AtomicU8; DIR_BYTES],
}

#[repr(C)]
struct ClogSlot {
    /// Page held, EMPTY if none. Guarded by control_lock.
    page_no: AtomicU64,
    /// 1 if changed since last written. Guarded by control_lock.
    dirty: AtomicU32,
    _pad: u32,
    /// Last access tick (LRU). Bumped under control_lock shared or exclusive.
    last_used: AtomicU64,
    /// Rule 3. Guarded by control_lock.
    page_lsn: AtomicU64,
    /// The newest xid whose status was set on the page since it was loaded
    /// (0: none), named when writing it back fails (rule 6). Guarded by
    /// control_lock.
    newest_xid: AtomicU64,
    /// The page. Guarded by control_lock.
    data: [AtomicU8; BLCKSZ],
}

/// This process's view of the clog region.
#[derive(Clone, Copy)]
pub struct Clog {
    header: &'static ClogHeader,
    slots: &'static [ClogSlot],
}

/// Number of page slots, PostgreSQL 15's `CLOGShmemBuffers`:
/// `shared_buffers / 512`, between 4 and 128.
fn n_slots(settings: &Settings) -> usize {
    (settings.get_int("shared_buffers") / 512).clamp(4, 128) as usize
}

impl Clog {
    pub const REGION: crate::storage::shmem::Region = crate::storage::shmem::Region {
        name: "Clog",
        size: Clog::region_size,
        init: Clog::init,
    };

    fn region_size(settings: &Settings) -> usize {
        std::mem::size_of::<ClogHeader>().div_ceil(8) * 8
            + n_slots(settings) * std::mem::size_of::<ClogSlot>()
    }

    /// # Safety
    /// `base`: `region_size(settings)` zeroed bytes, cache-line aligned, unused by anyone else.
    unsafe fn init(base: *mut u8, settings: &Settings) {
        // SAFETY: forwarded from the caller.
        let clog = unsafe { Clog::from_raw(base, settings) };
        clog.header.n_slots.store(clog.slots.len() as u32, Relaxed);
        for s in clog.slots {
            s.page_no.store(EMPTY, Relaxed);
        }
        let dir = PathBuf::from(settings.get_str("data_directory")).join("pg_xact");
        let bytes = dir.to_string_lossy().into_owned().into_bytes();
        assert!(
            bytes.len() <= DIR_BYTES,
            "data directory path longer than {DIR_BYTES} bytes"
        );
        for (d, b) in clog.header.dir.iter().zip(&bytes) {
            d.store(*b, Relaxed);
        }
        clog.header.dir_len.store(bytes.len() as u32, Relaxed);
    }

    /// # Safety
    /// `base` is the start of the clog region for these settings, mapped for
    /// the life of the process (initialised by `init`, except within it).
    pub unsafe fn from_raw(base: *mut u8, settings: &Settings) -> Clog {
        let n = n_slots(settings);
        let slots_at = std::mem::size_of::<ClogHeader>().div_ceil(8) * 8;
        // SAFETY: the caller guarantees the layout; all-zero is valid for every atomic.
        unsafe {
            Clog {
                header: &*(base as *const ClogHeader),
                slots: std::slice::from_raw_parts(base.add(slots_at) as *const ClogSlot, n),
            }
        }
    }

    /// Directory of the segment files.
    pub fn dir(&self) -> PathBuf {
        let n = self.header.dir_len.load(Relaxed) as usize;
        let bytes: Vec<u8> = self.header.dir[..n]
            .iter()
            .map(|b| b.load(Relaxed))
            .collect();
        PathBuf::from(String::from_utf8(bytes).expect("pg_xact path is UTF-8"))
    }

    fn find(&self, page: u64) -> Option<&'static ClogSlot> {
        let s = self
            .slots
            .iter()
            .find(|s| s.page_no.load(Relaxed) == page)?;
        s.last_used
            .store(self.header.tick.fetch_add(1, Relaxed) + 1, Relaxed);
        Some(s)
    }

    /// Makes `page` resident (control lock held exclusive): evicts the least
    /// recently used slot, writing it back if dirty, and reads the page
    /// (zeros if it is not on disk, or if `zero` is set). `xid` is the
    /// transaction the caller is after, named if the I/O fails (rule 6).
    fn load(
        &self,
        page: u64,
        xid: Xid,
        wal: &dyn XactWal,
        zero: bool,
    ) -> PgResult<&'static ClogSlot> {
        if let Some(s) = self.find(page) {
            if zero {
                s.data.iter().for_each(|b| b.store(0, Relaxed));
            }
            return Ok(s);
        }
        let victim = self
            .slots
            .iter()
            .min_by_key(|s| {
                if s.page_no.load(Relaxed) == EMPTY {
                    0
                } else {
                    s.last_used.load(Relaxed) + 1
                }
            })
            .expect("clog has slots");
        if victim.page_no.load(Relaxed) != EMPTY && victim.dirty.load(Relaxed) != 0 {
            let segno = self.write_slot(victim, xid, wal)?;
            self.fsync_segment(segno, xid)?;
        }
        let mut buf = [0u8; BLCKSZ];
        if !zero {
            self.read_page(page, xid, &mut buf)?;
        }
        for (d, b) in victim.data.iter().zip(buf) {
            d.store(b, Relaxed);
        }
        victim.page_no.store(page, Relaxed);
        victim.dirty.store(0, Relaxed);
        victim.page_lsn.store(0, Relaxed);
        victim.newest_xid.store(0, Relaxed);
        victim
            .last_used
            .store(self.header.tick.fetch_add(1, Relaxed) + 1, Relaxed);
        Ok(victim)
    }

    /// PostgreSQL's `SlruReportIOError` (rule 6). `what` is the failed step
    /// as its DETAIL words it (`write to`, `read from`, `open`, `fsync`);
    /// the offset is printed for reads and writes only, as there.
    fn io_error(&self, what: &str, page: u64, xid: Xid, e: &std::io::Error) -> PgError {
        let file = format!("pg_xact/{}", segment_name(page / SLRU_PAGES_PER_SEGMENT));
        let offset = (page % SLRU_PAGES_PER_SEGMENT) * BLCKSZ as u64;
        let detail = match what {
            "read from" | "write to" => format!(
                "Could not {what} file \"{file}\" at offset {offset}: {}.",
                elog::strerror(e)
            ),
            _ => format!("Could not {what} file \"{file}\": {}.", elog::strerror(e)),
        };
        PgError::error(
            elog::errcode_for_file_access(e),
            format!("could not access status of transaction {xid}"),
        )
        .with_detail(detail)
    }

    /// The transaction to name when writing back `slot` fails without a
    /// caller's xid (a checkpoint): the newest one set on the page, else the
    /// first normal one the page holds.
    fn xid_on_page(slot: &ClogSlot) -> Xid {
        let newest = slot.newest_xid.load(Relaxed);
        if newest != 0 {
            return Xid(newest);
        }
        let first = slot.page_no.load(Relaxed) * CLOG_XACTS_PER_PAGE;
        Xid(first.max(Xid::FIRST_NORMAL.0))
    }

    fn read_page(&self, page: u64, xid: Xid, buf: &mut [u8; BLCKSZ]) -> PgResult<()> {
        let path = self.dir().join(segment_name(page / SLRU_PAGES_PER_SEGMENT));
        let f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()), // rule 4
            Err(e) => return Err(self.io_error("open", page, xid, &e)),
        };
        let offset = (page % SLRU_PAGES_PER_SEGMENT) * BLCKSZ as u64;
        let mut done = 0;
        while done < BLCKSZ {
            match f.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break, // past the end: the rest stays zero (rule 4)
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("read from", page, xid, &e)),
            }
        }
        Ok(())
    }

    /// Writes a resident dirty page (control lock held exclusive), after
    /// flushing WAL to its LSN (rule 3). Returns its segment number. On
    /// failure the page stays dirty.
    fn write_slot(&self, slot: &ClogSlot, xid: Xid, wal: &dyn XactWal) -> PgResult<u64> {
        let page = slot.page_no.load(Relaxed);
        let lsn = Lsn(slot.page_lsn.load(Relaxed));
        if lsn.is_valid() {
            // A WAL flush that fails PANICs inside the WAL code (WAL
            // README); an error here is the flush request's own.
            wal.flush(lsn).map_err(|e| {
                PgError::error(
                    elog::errcode_for_file_access(&e),
                    format!("could not access status of transaction {xid}"),
                )
                .with_detail(format!("Could not flush WAL to {lsn}: {e}."))
            })?;
        }
        let buf: Vec<u8> = slot.data.iter().map(|b| b.load(Relaxed)).collect();
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| self.io_error("open", page, xid, &e))?;
        let segno = page / SLRU_PAGES_PER_SEGMENT;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(segment_name(segno)))
            .map_err(|e| self.io_error("open", page, xid, &e))?;
        let offset = (page % SLRU_PAGES_PER_SEGMENT) * BLCKSZ as u64;
        let mut done = 0;
        while done < BLCKSZ {
            match f.write_at(&buf[done..], offset + done as u64) {
                Ok(0) => return Err(self.io_error("write to", page, xid, &elog::short_write())),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("write to", page, xid, &e)),
            }
        }
        slot.dirty.store(0, Relaxed);
        Ok(segno)
    }

    fn fsync_segment(&self, segno: u64, xid: Xid) -> PgResult<()> {
        let page = segno * SLRU_PAGES_PER_SEGMENT;
        let f = std::fs::File::open(self.dir().join(segment_name(segno)))
            .map_err(|e| self.io_error("open", page, xid, &e))?;
        // PostgreSQL's data_sync_elevel(ERROR): after a failed fsync the
        // kernel may have dropped the pages; only WAL replay restores them.
        f.sync_all().map_err(|e| {
            let mut err = self.io_error("fsync", page, xid, &e);
            err.severity = elog::Severity::Panic;
            err
        })?;
        if let Ok(d) = std::fs::File::open(self.dir()) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The status bits of `xid` (PostgreSQL's `TransactionIdGetStatus`).
    pub fn get_status(&self, xid: Xid, wal: &dyn XactWal) -> PgResult<ClogStatus> {
        let page = page_of(xid);
        let byte = ((xid.0 % CLOG_XACTS_PER_PAGE) / CLOG_XACTS_PER_BYTE) as usize;
        let shift = (xid.0 % CLOG_XACTS_PER_BYTE) * 2;
        {
            let _g = self.header.control_lock.acquire(LWLockMode::Shared);
            if let Some(s) = self.find(page) {
                return Ok(ClogStatus::from_bits(s.data[byte].load(Relaxed) >> shift));
            }
        }
        let _g = self.header.control_lock.acquire(LWLockMode::Exclusive);
        let s = self.load(page, xid, wal, false)?;
        Ok(ClogStatus::from_bits(s.data[byte].load(Relaxed) >> shift))
    }

    /// Sets the status of every id in `xids` (PostgreSQL's
    /// `TransactionIdSetTreeStatus`, without the subcommitted step: see
    /// README.md rule X3). `commit_lsn` is the commit record's end, or
    /// `Lsn::INVALID` when the WAL need not precede the page (aborts, redo).
    pub fn set_status(
        &self,
        xids: &[Xid],
        status: ClogStatus,
        commit_lsn: Lsn,
        wal: &dyn XactWal,
    ) -> PgResult<()> {
        let _g = self.header.control_lock.acquire(LWLockMode::Exclusive);
        for &xid in xids {
            assert!(xid.is_normal(), "setting the status of special xid {xid}");
            let s = self.load(page_of(xid), xid, wal, false)?;
            let byte = ((xid.0 % CLOG_XACTS_PER_PAGE) / CLOG_XACTS_PER_BYTE) as usize;
            let shift = (xid.0 % CLOG_XACTS_PER_BYTE) * 2;
            let old = s.data[byte].load(Relaxed);
            let cur = ClogStatus::from_bits(old >> shift);
            assert!(
                cur == ClogStatus::InProgress || cur == status,
                "transaction {xid} changes status from {cur:?} to {status:?}"
            );
            s.data[byte].store((old & !(3 << shift)) | ((status as u8) << shift), Relaxed);
            s.dirty.store(1, Relaxed);
            s.newest_xid.fetch_max(xid.0, Relaxed);
            if commit_lsn.0 > s.page_lsn.load(Relaxed) {
                s.page_lsn.store(commit_lsn.0, Relaxed);
            }
        }
        Ok(())
    }

    /// The LSN up to which WAL must be flushed before a hint bit saying
    /// `xid` committed may reach disk (PostgreSQL's `TransactionIdGetCommitLSN`,
    /// per page instead of per group). `Lsn::INVALID` if the page is not cached.
    pub fn commit_lsn(&self, xid: Xid) -> Lsn {
        let _g = self.header.control_lock.acquire(LWLockMode::Shared);
        self.slots
            .iter()
            .find(|s| s.page_no.load(Relaxed) == page_of(xid))
            .map_or(Lsn::INVALID, |s| Lsn(s.page_lsn.load(Relaxed)))
    }

    /// Creates page `page` zeroed (rule 4); WAL-logs it unless replaying.
    pub fn zero_page(&self, page: u64, wal: &dyn XactWal, write_wal: bool) -> PgResult<()> {
        let _g = self.header.control_lock.acquire(LWLockMode::Exclusive);
        // The page's first id: the one whose assignment created the page.
        let first = Xid((page * CLOG_XACTS_PER_PAGE).max(Xid::FIRST_NORMAL.0));
        let s = self.load(page, first, wal, true)?;
        s.dirty.store(1, Relaxed);
        if write_wal {
            let lsn = wal.insert(
                RmgrId::Clog,
                CLOG_ZEROPAGE,
                Xid::INVALID,
                &encode_zeropage(page),
            );
            s.page_lsn.store(lsn.0, Relaxed);
        }
        Ok(())
    }

    /// Writes every dirty page and fsyncs the files written (PostgreSQL's
    /// `CheckPointCLOG`). Called by the checkpointer and at shutdown.
    pub fn checkpoint(&self, wal: &dyn XactWal) -> PgResult<()> {
        let mut segments = BTreeMap::new();
        {
            let _g = self.header.control_lock.acquire(LWLockMode::Exclusive);
            for s in self.slots {
                if s.page_no.load(Relaxed) != EMPTY && s.dirty.load(Relaxed) != 0 {
                    let xid = Clog::xid_on_page(s);
                    let segno = self.write_slot(s, xid, wal)?;
                    segments.entry(segno).or_insert(xid);
                }
            }
        }
        for (segno, xid) in segments {
            self.fsync_segment(segno, xid)?;
        }
        Ok(())
    }

    /// Forgets every cached page without writing (tests: simulate a restart).
    #[cfg(test)]
    pub(crate) fn drop_cache(&self) {
        let _g = self.header.control_lock.acquire(LWLockMode::Exclusive);
        for s in self.slots {
            s.page_no.store(EMPTY, Relaxed);
            s.dirty.store(0, Relaxed);
        }
    }

    #[cfg(test)]
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Redo of a Clog record (PostgreSQL's `clog_redo`).
    pub fn redo(&self, info: u8, main_data: &[u8], wal: &dyn XactWal) -> PgResult<()> {
        match info & 0xf0 {
            CLOG_ZEROPAGE => {
                let page = decode_zeropage(main_data).expect("malformed CLOG_ZEROPAGE record");
                self.zero_page(page, wal, false)
            }
            // Never written: with 64-bit xids pg_xact is not truncated yet.
            super::record::CLOG_TRUNCATE => Ok(()),
            other => panic!("clog_redo: unknown op code {other:#x}"),
        }
    }
}
