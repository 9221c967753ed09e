//! The shared WAL buffers and the insert / write / flush paths
//! (PostgreSQL's `XLogCtl`, `XLogInsertRecord`, `AdvanceXLInsertBuffer`,
//! `XLogWrite`, `XLogFlush`, `XLogBackgroundFlush`).
//!
//! Region layout: [`WalCtl`], then one `AtomicU64` per buffer page saying
//! which WAL page (its start LSN) the page holds (0 = none; PostgreSQL's
//! `xlblocks`), then the pages themselves. Page `p` of the WAL lives in
//! buffer `(p / BLCKSZ) % n_buffers`.
//!
//! Positions, all LSNs, in order: `flush_pos <= write_pos <= inserted_upto
//! <= curr_pos`. `inserted_upto` is PostgreSQL's "WaitXLogInsertionsToFinish"
//! answer made explicit: every byte before it is final in the buffers. There
//! is one insert lock (PostgreSQL has eight insertion locks so that copies
//! run in parallel; one is enough for two cores and keeps the proof short).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::file::{
    self, SIZE_OF_LONG_PHD, TIMELINE, XLP_FIRST_IS_CONTRECORD, maxalign, page_floor,
    page_header_size,
};
use super::record::{self, BlockRef, RmgrId, XLOG_SWITCH};
use crate::storage::lock::{LWLock, LWLockMode};
use crate::storage::types::{BLCKSZ, Lsn, Xid};
use crate::utils::elog::{self, PgResult};

const PAGE: u64 = BLCKSZ as u64;

/// The shared control block (PostgreSQL's `XLogCtlData`).
#[repr(C)]
pub struct WalCtl {
    /// WALInsertLock: reserving space and copying records into the buffers,
    /// initialising buffer pages. Lock order: insert_lock, then write_lock.
    insert_lock: LWLock,
    /// WALWriteLock: writing buffer pages to the segment files and fsyncing them.
    write_lock: LWLock,
    /// 1 once `init_insert_position` ran; inserts before that are a bug.
    insert_ready: AtomicU32,
    /// Where the next record goes (may be a page boundary: the record then
    /// starts after the page header). Guarded by insert_lock.
    curr_pos: AtomicU64,
    /// Start of the last record inserted (the next one's xl_prev). Guarded by insert_lock.
    prev_rec: AtomicU64,
    /// Every byte before this is final in the buffers. Written under
    /// insert_lock (monotonic); read by anyone.
    inserted_upto: AtomicU64,
    /// Written out up to here (LogwrtResult.Write). Written under write_lock.
    write_pos: AtomicU64,
    /// Durable up to here (LogwrtResult.Flush). Written under write_lock.
    flush_pos: AtomicU64,
    /// RedoRecPtr: full-page images are needed for pages whose LSN is at or
    /// before it. Written under insert_lock.
    redo_rec_ptr: AtomicU64,
    /// `full_page_writes`, `fsync`, `archive_mode != off` (0/1), kept current by `apply_settings`.
    full_page_writes: AtomicU32,
    fsync: AtomicU32,
    archive_mode: AtomicU32,
    /// For long page headers. Written by init_insert_position.
    system_identifier: AtomicU64,
    /// Latest commit LSN left to the walwriter (synchronous_commit = off).
    async_xact_lsn: AtomicU64,
    /// Fixed at init.
    n_buffers: u64,
    seg_size: u64,
    /// pg_stat_wal counters (atomics, no lock).
    wal_records: AtomicU64,
    wal_fpi: AtomicU64,
    wal_bytes: AtomicU64,
    wal_buffers_full: AtomicU64,
    wal_write: AtomicU64,
    wal_sync: AtomicU64,
    /// TimestampTz of the last reset.
    stats_reset: AtomicI64,
    /// Base backups in progress (pg_backup_start / BASE_BACKUP not yet
    /// stopped) and the oldest start LSN among them (0: none). While one
    /// runs, checkpoints keep every segment from that LSN on (PostgreSQL's
    /// `runningBackups`). Atomics, no lock: see `register_backup`.
    running_backups: AtomicU32,
    backup_start: AtomicU64,
}

/// The WAL this process has written (PostgreSQL's `pgWalUsage`): records,
/// full-page images, bytes. Process-local (each backend its own, after
/// fork), read by EXPLAIN's WAL option around each plan node.
static WAL_USAGE: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

fn count_wal_usage(fpi: u64, bytes: u64) {
    WAL_USAGE[0].fetch_add(1, Ordering::Relaxed);
    WAL_USAGE[1].fetch_add(fpi, Ordering::Relaxed);
    WAL_USAGE[2].fetch_add(bytes, Ordering::Relaxed);
}

/// This process's WAL usage so far: (records, full-page images, bytes).
pub fn wal_usage() -> (u64, u64, u64) {
    (
        WAL_USAGE[0].load(Ordering::Relaxed),
        WAL_USAGE[1].load(Ordering::Relaxed),
        WAL_USAGE[2].load(Ordering::Relaxed),
    )
}

/// What `pg_stat_wal` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WalStats {
    pub wal_records: u64,
    pub wal_fpi: u64,
    pub wal_bytes: u64,
    pub wal_buffers_full: u64,
    pub wal_write: u64,
    pub wal_sync: u64,
    /// Milliseconds; always 0 (track_wal_io_timing is not implemented).
    pub wal_write_time: f64,
    pub wal_sync_time: f64,
    /// TimestampTz.
    pub stats_reset: i64,
}

const fn align64(n: usize) -> usize {
    n.div_ceil(64) * 64
}

/// Shared-memory settings of the region.
#[derive(Clone, Copy, Debug)]
pub struct WalConfig {
    pub n_buffers: usize,
    pub seg_size: u64,
    pub fsync: bool,
    pub full_page_writes: bool,
    pub archive_mode: bool,
}

/// This process's handle on the shared WAL state.
pub struct Wal {
    ctl: &'static WalCtl,
    page_lsn: &'static [AtomicU64],
    pages: *mut u8,
    data_dir: PathBuf,
    /// The segment this process last wrote (segno, file). Per process.
    open_seg: Mutex<Option<(u64, File)>>,
    /// Called after `.ready` files were created (wakes the archiver). Per
    /// process; None for private WAL regions (initdb, unit tests).
    on_segment_ready: Option<fn()>,
}

// SAFETY: `pages` points into the shared region whose pages are written only
// under insert_lock (initialisation and copy) and read under write_lock by
// the writer, following the position rules in the module doc; every other
// field is atomic or per-handle behind a Mutex.
unsafe impl Send for Wal {}
unsafe impl Sync for Wal {}

impl Wal {
    pub fn region_size(n_buffers: usize) -> usize {
        align64(std::mem::size_of::<WalCtl>()) + align64(n_buffers * 8) + n_buffers * BLCKSZ
    }

    /// # Safety
    /// `base` points at `region_size(cfg.n_buffers)` zeroed, 64-byte-aligned
    /// bytes that no process uses yet.
    pub unsafe fn init_region(base: *mut u8, cfg: WalConfig) {
        assert!(cfg.n_buffers >= 4, "wal_buffers must be at least 4 pages");
        assert!(
            cfg.seg_size.is_power_of_two() && cfg.seg_size >= 2 * PAGE,
            "WAL segment size must be a power of two of at least 2 pages"
        );
        // SAFETY: caller guarantees room and alignment for WalCtl at base.
        unsafe {
            (base as *mut WalCtl).write(WalCtl {
                insert_lock: LWLock::new(),
                write_lock: LWLock::new(),
                insert_ready: AtomicU32::new(0),
                curr_pos: AtomicU64::new(0),
                prev_rec: AtomicU64::new(0),
                inserted_upto: AtomicU64::new(0),
                write_pos: AtomicU64::new(0),
                flush_pos: AtomicU64::new(0),
                redo_rec_ptr: AtomicU64::new(0),
                full_page_writes: AtomicU32::new(cfg.full_page_writes as u32),
                fsync: AtomicU32::new(cfg.fsync as u32),
                archive_mode: AtomicU32::new(cfg.archive_mode as u32),
                system_identifier: AtomicU64::new(0),
                async_xact_lsn: AtomicU64::new(0),
                n_buffers: cfg.n_buffers as u64,
                seg_size: cfg.seg_size,
                wal_records: AtomicU64::new(0),
                wal_fpi: AtomicU64::new(0),
                wal_bytes: AtomicU64::new(0),
                wal_buffers_full: AtomicU64::new(0),
                wal_write: AtomicU64::new(0),
                wal_sync: AtomicU64::new(0),
                stats_reset: AtomicI64::new(crate::utils::time::now_timestamptz()),
                running_backups: AtomicU32::new(0),
                backup_start: AtomicU64::new(0),
            });
        }
        // page_lsn and pages are all zero already: "holds no page".
    }

    /// # Safety
    /// `base` was initialised by `init_region` and stays mapped for the
    /// rest of the process.
    pub unsafe fn attach(base: *mut u8, data_dir: &Path) -> Wal {
        // SAFETY: layout as written by init_region.
        unsafe {
            let ctl = &*(base as *const WalCtl);
            let n = ctl.n_buffers as usize;
            let lsn_base = base.add(align64(std::mem::size_of::<WalCtl>()));
            let page_lsn = std::slice::from_raw_parts(lsn_base as *const AtomicU64, n);
            let pages = lsn_base.add(align64(n * 8));
            Wal {
                ctl,
                page_lsn,
                pages,
                data_dir: data_dir.to_path_buf(),
                open_seg: Mutex::new(None),
                on_segment_ready: None,
            }
        }
    }

    pub fn seg_size(&self) -> u64 {
        self.ctl.seg_size
    }

    /// Sets the hook run after segments were marked `.ready`.
    pub fn set_on_segment_ready(&mut self, hook: fn()) {
        self.on_segment_ready = Some(hook);
    }

    /// A base backup starting at `start` begins: keep WAL from there on.
    pub fn register_backup(&self, start: Lsn) {
        // Count first, then lower the start: a checkpoint that sees the
        // count but an old (larger or zero) start keeps too little only if
        // it read `backup_start` before this store, and `start` is the
        // redo point of a checkpoint that already completed, whose segment
        // that checkpoint kept.
        if self.ctl.running_backups.fetch_add(1, Ordering::AcqRel) == 0 {
            self.ctl.backup_start.store(start.0, Ordering::Release);
        } else {
            self.ctl.backup_start.fetch_min(start.0, Ordering::AcqRel);
        }
    }

    /// A base backup ended (stopped or aborted).
    pub fn unregister_backup(&self) {
        let before = self.ctl.running_backups.fetch_sub(1, Ordering::AcqRel);
        assert!(before > 0, "unregister_backup without a running backup");
        if before == 1 {
            self.ctl.backup_start.store(0, Ordering::Release);
        }
    }

    /// The oldest start LSN of a running base backup, if any.
    pub fn backup_start(&self) -> Option<Lsn> {
        if self.ctl.running_backups.load(Ordering::Acquire) == 0 {
            return None;
        }
        match self.ctl.backup_start.load(Ordering::Acquire) {
            0 => None,
            v => Some(Lsn(v)),
        }
    }

    pub fn archive_mode(&self) -> bool {
        self.ctl.archive_mode.load(Ordering::Acquire) == 1
    }

    fn slot(&self, page: u64) -> usize {
        ((page / PAGE) % self.ctl.n_buffers) as usize
    }

    fn slot_ptr(&self, slot: usize) -> *mut u8 {
        assert!(slot < self.ctl.n_buffers as usize);
        // SAFETY: slot < n_buffers, so the page lies inside the region.
        unsafe { self.pages.add(slot * BLCKSZ) }
    }

    // -----------------------------------------------------------------
    // Positions and settings
    // -----------------------------------------------------------------

    pub fn is_insert_ready(&self) -> bool {
        self.ctl.insert_ready.load(Ordering::Acquire) == 1
    }

    /// PostgreSQL's `GetXLogInsertRecPtr` (pg_current_wal_insert_lsn).
    pub fn insert_lsn(&self) -> Lsn {
        let pos = self.ctl.curr_pos.load(Ordering::Acquire);
        if pos % PAGE == 0 && pos != 0 {
            Lsn(pos + page_header_size(pos, self.ctl.seg_size) as u64)
        } else {
            Lsn(pos)
        }
    }

    /// LogwrtResult.Write (pg_current_wal_lsn).
    pub fn write_lsn(&self) -> Lsn {
        Lsn(self.ctl.write_pos.load(Ordering::Acquire))
    }

    /// LogwrtResult.Flush (pg_current_wal_flush_lsn).
    pub fn flushed_lsn(&self) -> Lsn {
        Lsn(self.ctl.flush_pos.load(Ordering::Acquire))
    }

    pub fn redo_pointer(&self) -> Lsn {
        Lsn(self.ctl.redo_rec_ptr.load(Ordering::Acquire))
    }

    pub fn set_redo_pointer(&self, redo: Lsn) {
        let _g = self.ctl.insert_lock.acquire(LWLockMode::Exclusive);
        self.ctl.redo_rec_ptr.store(redo.0, Ordering::Release);
    }

    /// Starts a checkpoint: the redo point is where the next record will
    /// start, and from now on a page changed for the first time needs a
    /// full-page image. Atomic with respect to inserts.
    pub fn begin_checkpoint(&self) -> Lsn {
        let _g = self.ctl.insert_lock.acquire(LWLockMode::Exclusive);
        let redo = self.insert_lsn();
        self.ctl.redo_rec_ptr.store(redo.0, Ordering::Release);
        redo
    }

    pub fn bytes_since_redo(&self) -> u64 {
        self.ctl
            .curr_pos
            .load(Ordering::Acquire)
            .saturating_sub(self.redo_pointer().0)
    }

    pub fn needs_full_page_image(&self, page_lsn: Lsn) -> bool {
        self.ctl.full_page_writes.load(Ordering::Acquire) == 1 && page_lsn <= self.redo_pointer()
    }

    pub fn set_options(&self, fsync: bool, full_page_writes: bool) {
        self.ctl.fsync.store(fsync as u32, Ordering::Release);
        self.ctl
            .full_page_writes
            .store(full_page_writes as u32, Ordering::Release);
    }

    pub fn full_page_writes(&self) -> bool {
        self.ctl.full_page_writes.load(Ordering::Acquire) == 1
    }

    /// Remembers a commit left to the walwriter; returns whether it moved.
    pub fn note_async_commit(&self, lsn: Lsn) -> bool {
        self.ctl.async_xact_lsn.fetch_max(lsn.0, Ordering::AcqRel) < lsn.0
    }

    pub fn stats(&self) -> WalStats {
        let c = self.ctl;
        WalStats {
            wal_records: c.wal_records.load(Ordering::Relaxed),
            wal_fpi: c.wal_fpi.load(Ordering::Relaxed),
            wal_bytes: c.wal_bytes.load(Ordering::Relaxed),
            wal_buffers_full: c.wal_buffers_full.load(Ordering::Relaxed),
            wal_write: c.wal_write.load(Ordering::Relaxed),
            wal_sync: c.wal_sync.load(Ordering::Relaxed),
            wal_write_time: 0.0,
            wal_sync_time: 0.0,
            stats_reset: c.stats_reset.load(Ordering::Relaxed),
        }
    }

    pub fn reset_stats(&self) {
        let c = self.ctl;
        for a in [
            &c.wal_records,
            &c.wal_fpi,
            &c.wal_bytes,
            &c.wal_buffers_full,
            &c.wal_write,
            &c.wal_sync,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        c.stats_reset
            .store(crate::utils::time::now_timestamptz(), Ordering::Relaxed);
    }

    // -----------------------------------------------------------------
    // Start-up
    // -----------------------------------------------------------------

    /// Makes inserts continue at `end_of_wal` (a MAXALIGNed record end, as
    /// the reader reports it), with `prev_record` as the next xl_prev. The
    /// partially filled last page is read back into its buffer (bytes past
    /// `end_of_wal` zeroed) so the next write of that page keeps the valid
    /// bytes before it.
    pub fn init_insert_position(
        &self,
        end_of_wal: Lsn,
        prev_record: Lsn,
        system_identifier: u64,
    ) -> io::Result<()> {
        let end = end_of_wal.0;
        assert_eq!(end % 8, 0, "end of WAL {end_of_wal} is not MAXALIGNed");
        assert!(
            end >= self.ctl.seg_size,
            "end of WAL {end_of_wal} lies in segment 0"
        );
        let _i = self.ctl.insert_lock.acquire(LWLockMode::Exclusive);
        let _w = self.ctl.write_lock.acquire(LWLockMode::Exclusive);
        for p in self.page_lsn {
            p.store(0, Ordering::Release);
        }
        self.ctl
            .system_identifier
            .store(system_identifier, Ordering::Release);
        if end % PAGE != 0 {
            let page = page_floor(end);
            let mut buf = vec![0u8; BLCKSZ];
            if !file::read_page(&self.data_dir, page, self.ctl.seg_size, &mut buf)? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "could not read WAL page {} holding the end of WAL {end_of_wal}",
                        Lsn(page)
                    ),
                ));
            }
            let hdr = file::parse_page_header(&buf);
            file::validate_page_header(&hdr, page, self.ctl.seg_size, Some(system_identifier))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            buf[(end - page) as usize..].fill(0);
            let slot = self.slot(page);
            // SAFETY: the slot is a BLCKSZ page of the region; both locks are
            // held exclusively and no insert is possible yet.
            unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), self.slot_ptr(slot), BLCKSZ) };
            self.page_lsn[slot].store(page, Ordering::Release);
        }
        for a in [
            &self.ctl.curr_pos,
            &self.ctl.inserted_upto,
            &self.ctl.write_pos,
            &self.ctl.flush_pos,
        ] {
            a.store(end, Ordering::Release);
        }
        self.ctl.prev_rec.store(prev_record.0, Ordering::Release);
        self.ctl.insert_ready.store(1, Ordering::Release);
        Ok(())
    }

    // -----------------------------------------------------------------
    // Insert
    // -----------------------------------------------------------------

    /// Inserts a record; returns (start, end) where end is MAXALIGNed. With
    /// `expect_redo`, returns None without inserting when the redo pointer
    /// is no longer that value (a checkpoint began since the caller decided
    /// which pages need images: decide again; PostgreSQL's `fpw_lsn` check).
    pub fn insert_record(
        &self,
        rmgr: RmgrId,
        info: u8,
        xid: Xid,
        main_data: &[u8],
        blocks: &[BlockRef<'_>],
        expect_redo: Option<Lsn>,
    ) -> Option<(Lsn, Lsn)> {
        let mut rec = record::assemble(rmgr, info, xid, main_data, blocks);
        assert!(
            self.is_insert_ready(),
            "WAL insert before the insert position was initialised (still in recovery?)"
        );
        let g = self.ctl.insert_lock.acquire(LWLockMode::Exclusive);
        if let Some(expected) = expect_redo {
            if self.redo_pointer() != expected && self.full_page_writes() {
                return None;
            }
        }
        let (start, end) = self.insert_locked(&mut rec.bytes, rec.body_crc);
        let next = maxalign(end);
        self.ctl.curr_pos.store(next, Ordering::Release);
        self.ctl.inserted_upto.store(next, Ordering::Release);
        drop(g);
        self.ctl.wal_records.fetch_add(1, Ordering::Relaxed);
        self.ctl
            .wal_fpi
            .fetch_add(rec.fpi_count as u64, Ordering::Relaxed);
        self.ctl
            .wal_bytes
            .fetch_add(rec.bytes.len() as u64, Ordering::Relaxed);
        count_wal_usage(rec.fpi_count as u64, rec.bytes.len() as u64);
        Some((Lsn(start), Lsn(next)))
    }

    /// Copies a record at the insert position. Insert lock held. Returns
    /// (start, unaligned end); the caller advances `curr_pos`.
    fn insert_locked(&self, bytes: &mut [u8], body_crc: u32) -> (u64, u64) {
        let mut pos = self.ctl.curr_pos.load(Ordering::Acquire);
        if pos % PAGE == 0 {
            self.init_page(pos, 0, 0);
            pos += page_header_size(pos, self.ctl.seg_size) as u64;
        }
        record::finish_header(
            bytes,
            Lsn(self.ctl.prev_rec.load(Ordering::Acquire)),
            body_crc,
        );
        let end = self.copy_bytes(pos, bytes);
        self.ctl.prev_rec.store(pos, Ordering::Release);
        (pos, end)
    }

    /// Copies `data` into the buffers from `pos`, adding continuation page
    /// headers. Insert lock held; `pos`'s page is initialised.
    fn copy_bytes(&self, mut pos: u64, data: &[u8]) -> u64 {
        let mut rest = data;
        loop {
            let page = page_floor(pos);
            let off = (pos - page) as usize;
            let n = (BLCKSZ - off).min(rest.len());
            let slot = self.slot(page);
            assert_eq!(
                self.page_lsn[slot].load(Ordering::Acquire),
                page,
                "WAL buffer for {} not initialised",
                Lsn(page)
            );
            // SAFETY: off + n <= BLCKSZ inside this slot; the page is ours
            // to fill under insert_lock (writers read only bytes before
            // inserted_upto, which is <= pos).
            unsafe {
                std::ptr::copy_nonoverlapping(rest.as_ptr(), self.slot_ptr(slot).add(off), n)
            };
            rest = &rest[n..];
            pos += n as u64;
            if rest.is_empty() {
                return pos;
            }
            self.init_page(pos, XLP_FIRST_IS_CONTRECORD, rest.len() as u32);
            pos += page_header_size(pos, self.ctl.seg_size) as u64;
        }
    }

    /// Makes buffer page `page` hold WAL page `page`: zeroed, with its
    /// header. When the buffer still holds an older page not yet written
    /// out, writes it first (wal_buffers_full). Insert lock held; every byte
    /// before `page` is final.
    fn init_page(&self, page: u64, info: u16, rem_len: u32) {
        assert_eq!(page % PAGE, 0);
        let slot = self.slot(page);
        let old = self.page_lsn[slot].load(Ordering::Acquire);
        assert!(
            old < page,
            "WAL buffer holds page {} newer than {}",
            Lsn(old),
            Lsn(page)
        );
        if old != 0 && self.ctl.write_pos.load(Ordering::Acquire) < old + PAGE {
            self.ctl.inserted_upto.fetch_max(page, Ordering::AcqRel);
            let _w = self.ctl.write_lock.acquire(LWLockMode::Exclusive);
            if self.ctl.write_pos.load(Ordering::Acquire) < old + PAGE {
                let upto = self.ctl.inserted_upto.load(Ordering::Acquire);
                // PostgreSQL PANICs here too: the record is half copied.
                self.write_locked(upto).unwrap_or_else(|e| elog::panic(e));
                self.ctl.wal_buffers_full.fetch_add(1, Ordering::Relaxed);
            }
            assert!(self.ctl.write_pos.load(Ordering::Acquire) >= old + PAGE);
        }
        let ptr = self.slot_ptr(slot);
        // SAFETY: the buffer's previous page is written out (checked above)
        // and `page` is beyond inserted_upto's page, so no writer reads it.
        let buf = unsafe {
            std::ptr::write_bytes(ptr, 0, BLCKSZ);
            std::slice::from_raw_parts_mut(ptr, BLCKSZ)
        };
        let sysid = self.ctl.system_identifier.load(Ordering::Acquire);
        file::write_page_header(buf, page, self.ctl.seg_size, sysid, info, rem_len);
        self.page_lsn[slot].store(page, Ordering::Release);
    }

    /// Inserts an XLOG_SWITCH record and pads the rest of its segment
    /// (pg_switch_wal). Returns the switch record's end, or the insert
    /// position when the current segment holds no record yet. Flushes.
    pub fn switch_segment(&self) -> io::Result<Lsn> {
        let mut rec = record::assemble(RmgrId::Xlog, XLOG_SWITCH, Xid::INVALID, &[], &[]);
        assert!(
            self.is_insert_ready(),
            "pg_switch_wal before the insert position was initialised"
        );
        let seg = self.ctl.seg_size;
        let g = self.ctl.insert_lock.acquire(LWLockMode::Exclusive);
        let pos = self.ctl.curr_pos.load(Ordering::Acquire);
        if pos % seg == 0 {
            drop(g);
            return Ok(self.insert_lsn());
        }
        let (_, end) = self.insert_locked(&mut rec.bytes, rec.body_crc);
        let seg_end = end.div_ceil(seg) * seg;
        let mut p = page_floor(end - 1) + PAGE;
        while p < seg_end {
            self.init_page(p, 0, 0);
            p += PAGE;
        }
        self.ctl.curr_pos.store(seg_end, Ordering::Release);
        self.ctl.inserted_upto.store(seg_end, Ordering::Release);
        drop(g);
        self.ctl.wal_records.fetch_add(1, Ordering::Relaxed);
        self.ctl
            .wal_bytes
            .fetch_add(rec.bytes.len() as u64, Ordering::Relaxed);
        count_wal_usage(0, rec.bytes.len() as u64);
        self.flush(Lsn(seg_end))?;
        Ok(Lsn(end))
    }

    // -----------------------------------------------------------------
    // Write and flush
    // -----------------------------------------------------------------

    /// Makes the WAL durable at least up to `upto` (PostgreSQL's
    /// `XLogFlush`). Group commit: whoever gets WALWriteLock writes and
    /// syncs everything inserted so far, so the committers queued behind it
    /// find their LSN flushed and return without a sync of their own.
    pub fn flush(&self, upto: Lsn) -> io::Result<()> {
        if !self.is_insert_ready() {
            // Recovery: the WAL being replayed is read from disk.
            return Ok(());
        }
        if upto.0 <= self.ctl.flush_pos.load(Ordering::Acquire) {
            return Ok(());
        }
        let _w = self.ctl.write_lock.acquire(LWLockMode::Exclusive);
        if upto.0 <= self.ctl.flush_pos.load(Ordering::Acquire) {
            return Ok(()); // someone flushed for us while we waited
        }
        let target = self.ctl.inserted_upto.load(Ordering::Acquire);
        if upto.0 > target {
            return Err(io::Error::other(format!(
                "xlog flush request {upto} is not satisfied --- flushed only to {}",
                self.flushed_lsn()
            )));
        }
        // A WAL write or fdatasync that fails is a PANIC, as in PostgreSQL
        // (XLogFlush runs in a critical section): after a failed fsync the
        // kernel may have dropped the pages, and a retry that succeeds would
        // acknowledge commits that are not on disk. Crash recovery replays
        // what did reach the disk; nothing acknowledged depends on the rest.
        self.write_locked(target).unwrap_or_else(|e| elog::panic(e));
        self.sync_locked(target).unwrap_or_else(|e| elog::panic(e));
        Ok(())
    }

    /// The walwriter's round (PostgreSQL's `XLogBackgroundFlush`): writes
    /// and syncs everything inserted. Returns whether there was anything to
    /// do (false: the walwriter may hibernate).
    pub fn write_and_flush_background(&self) -> io::Result<bool> {
        if !self.is_insert_ready() {
            return Ok(false);
        }
        if self.ctl.inserted_upto.load(Ordering::Acquire)
            <= self.ctl.flush_pos.load(Ordering::Acquire)
        {
            return Ok(false);
        }
        let _w = self.ctl.write_lock.acquire(LWLockMode::Exclusive);
        let target = self.ctl.inserted_upto.load(Ordering::Acquire);
        if target <= self.ctl.flush_pos.load(Ordering::Acquire) {
            return Ok(false);
        }
        // A failure PANICs, as in `flush`.
        self.write_locked(target).unwrap_or_else(|e| elog::panic(e));
        self.sync_locked(target).unwrap_or_else(|e| elog::panic(e));
        Ok(true)
    }

    /// Runs `f` on segment `segno`'s file, opening (and creating) it if this
    /// process does not have it open.
    fn with_segment<T>(&self, segno: u64, f: impl FnOnce(&File) -> PgResult<T>) -> PgResult<T> {
        let mut open = self.open_seg.lock().unwrap_or_else(|e| e.into_inner());
        if open.as_ref().map(|(s, _)| *s) != Some(segno) {
            *open = None;
            let file = file::open_segment_for_write(&self.data_dir, segno, self.ctl.seg_size)?;
            *open = Some((segno, file));
        }
        f(&open.as_ref().expect("just opened").1)
    }

    /// Writes the buffer pages from `write_pos`'s page up to `target`
    /// (whole pages: the last one may be partly filled and is rewritten
    /// next time). Write lock held; `target <= inserted_upto`.
    fn write_locked(&self, target: u64) -> PgResult<()> {
        let seg = self.ctl.seg_size;
        let written = self.ctl.write_pos.load(Ordering::Acquire);
        if target <= written {
            return Ok(());
        }
        assert!(
            target <= self.ctl.inserted_upto.load(Ordering::Acquire),
            "writing WAL not yet inserted"
        );
        let mut pos = page_floor(written);
        while pos < target {
            let segno = pos / seg;
            let seg_end = (segno + 1) * seg;
            // One write for pages contiguous both in the file and in the ring.
            let mut run_end = pos + PAGE;
            while run_end < target && run_end < seg_end && self.slot(run_end) != 0 {
                run_end += PAGE;
            }
            let mut p = pos;
            while p < run_end {
                assert_eq!(
                    self.page_lsn[self.slot(p)].load(Ordering::Acquire),
                    p,
                    "WAL page {} is not in the buffers",
                    Lsn(p)
                );
                p += PAGE;
            }
            let ptr = self.slot_ptr(self.slot(pos)) as *const u8;
            let len = (run_end - pos) as usize;
            self.with_segment(segno, |f| {
                pwrite_all(f, ptr, len, pos % seg).map_err(|e| {
                    elog::file_error(
                        &e,
                        format_args!(
                            "could not write to log file {} at offset {}, length {len}",
                            file::segment_file_name(TIMELINE, segno, seg),
                            pos % seg
                        ),
                    )
                })
            })?;
            self.ctl.wal_write.fetch_add(1, Ordering::Relaxed);
            pos = run_end;
        }
        self.ctl.write_pos.store(target, Ordering::Release);
        Ok(())
    }

    /// fdatasyncs every segment written since the last flush, then
    /// advances `flush_pos` to `target` (already written). Marks completed
    /// segments `.ready` for the archiver. Write lock held.
    fn sync_locked(&self, target: u64) -> PgResult<()> {
        let seg = self.ctl.seg_size;
        let old = self.ctl.flush_pos.load(Ordering::Acquire);
        assert!(
            target <= self.ctl.write_pos.load(Ordering::Acquire),
            "syncing WAL not yet written"
        );
        if target <= old {
            return Ok(());
        }
        if self.ctl.fsync.load(Ordering::Acquire) == 1 {
            for segno in old / seg..=(target - 1) / seg {
                self.with_segment(segno, |f| {
                    rustix::fs::fdatasync(f).map_err(|e| {
                        elog::file_error(
                            &io::Error::from(e),
                            format_args!(
                                "could not fdatasync file \"{}\"",
                                file::segment_file_name(TIMELINE, segno, seg)
                            ),
                        )
                    })
                })?;
                self.ctl.wal_sync.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.ctl.flush_pos.store(target, Ordering::Release);
        if self.ctl.archive_mode.load(Ordering::Acquire) == 1 {
            // Segments completed by this flush: those ending in (old, target].
            // (PostgreSQL's XLogArchiveNotify, called as each segment is
            // completed: the segment is durable, since this flush synced it.)
            let status = file::wal_dir(&self.data_dir).join("archive_status");
            let mut any = false;
            for segno in old / seg..target / seg {
                let name = file::segment_file_name(TIMELINE, segno, seg);
                let _ = std::fs::create_dir_all(&status);
                // PostgreSQL's XLogArchiveNotify: a failure is only LOGged
                // (the WAL is durable); the checkpointer creates a missing
                // `.ready` before it would remove the segment.
                if let Err(e) = std::fs::write(status.join(format!("{name}.ready")), b"") {
                    elog::log_error(
                        &elog::file_error(
                            &e,
                            format_args!(
                                "could not create archive status file \"pg_wal/archive_status/{name}.ready\""
                            ),
                        )
                        .with_severity(elog::Severity::Log),
                        None,
                    );
                    continue;
                }
                any = true;
            }
            if any && let Some(hook) = self.on_segment_ready {
                hook();
            }
        }
        Ok(())
    }

    /// Creates the segment after the one being inserted into, if missing,
    /// once inserts are 75% into the current one (PostgreSQL's
    /// `PreallocXlogFiles`; the checkpointer calls it after each checkpoint),
    /// so that a commit rarely has to create a segment itself. Returns
    /// whether it created one.
    pub fn preallocate_next_segment(&self) -> PgResult<bool> {
        let seg = self.ctl.seg_size;
        let pos = self.ctl.curr_pos.load(Ordering::Acquire);
        if pos % seg < seg / 4 * 3 {
            return Ok(false);
        }
        file::create_segment(&self.data_dir, pos / seg + 1, seg)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Holds WALWriteLock (tests of group commit).
    #[cfg(test)]
    pub(crate) fn hold_write_lock_for_test(&self) -> impl Drop + '_ {
        self.ctl.write_lock.acquire(LWLockMode::Exclusive)
    }
}

/// pwrite of `len` bytes from shared memory at `ptr`. The kernel copies the
/// bytes; no Rust reference to memory other processes may be writing (the
/// unfinished tail of the last page) is formed.
fn pwrite_all(f: &File, ptr: *const u8, len: usize, offset: u64) -> io::Result<()> {
    let mut done = 0usize;
    while done < len {
        // SAFETY: [ptr, ptr+len) lies in the mapped WAL buffers.
        let n = unsafe {
            libc::pwrite(
                f.as_raw_fd(),
                ptr.add(done).cast(),
                len - done,
                (offset + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            // PostgreSQL: "if write didn't set errno, assume no disk space".
            return Err(elog::short_write());
        }
        done += n as usize;
    }
    Ok(())
}

const _: () = assert!(SIZE_OF_LONG_PHD < BLCKSZ);
