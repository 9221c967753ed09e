//! Write-ahead log (PostgreSQL's `xlog.c`, `xloginsert.c`, `xlogreader.c`).
//!
//! Every change to a data page is first described by a WAL record; the
//! record must be durable before the page may reach disk (WAL before data,
//! enforced by the buffer manager through [`flush`]). After a crash the
//! startup process replays the records from the last checkpoint's redo
//! point, and the data files are back where the WAL says they were.
//!
//! ```text
//!  backend                        shared WAL region                        pg_wal/
//!  insert() ── assemble + CRC ──> [insert_lock] reserve at curr_pos,
//!   (no lock)                     copy into ring pages ──┐
//!                                                        │ write_locked()  000000010000000000000001
//!  flush(lsn) ─────────────────>  [WALWriteLock] ────────┴──> pwrite ────> 000000010000000000000002
//!                                  fdatasync, flush_pos = inserted_upto        ...
//!  WalReader (startup) <──────────────────────────────────────────────────── read + validate
//! ```
//!
//! # Where things are
//! - [`record`]: the record format, assembly, CRC, decoding, [`CheckPoint`].
//! - [`file`]: segment names, page headers, creating / listing / recycling segments.
//! - [`buffer`]: the shared region: positions, the buffer ring, insert, write, flush, group commit.
//! - [`reader`]: [`WalReader`], reading segment files back for recovery.
//!
//! # Positions
//! LSNs are byte positions in the WAL stream, page headers included, as in
//! PostgreSQL. Segment `n` covers `[n * 16 MiB, (n+1) * 16 MiB)`; WAL starts
//! in segment 1 (`0/1000000`), and initdb's checkpoint record sits at
//! `0/1000028`, after the first page's long header. In shared memory:
//! `flush_pos <= write_pos <= inserted_upto <= curr_pos` (see `buffer`).
//!
//! # Lock order
//! insert lock (WALInsertLock) → WALWriteLock. A flusher holds only
//! WALWriteLock and never waits for the insert lock, so an inserter whose
//! buffer ring is full may take WALWriteLock while holding the insert lock.
//! Neither is held while waiting for anything but the other and disk I/O.
//!
//! # Crashes
//! A crash can leave the last page(s) half written, or hold pages of a
//! recycled segment beyond the end. Every page header carries its own
//! address and every record its predecessor's LSN and a CRC, so the reader
//! stops at the first page or record that does not belong: that is the end
//! of WAL. Nothing past the last flushed LSN was promised to anyone (a
//! commit returns only after [`flush`] covered its record), so losing it is
//! correct. The startup process then calls [`init_insert_position`] with the
//! reader's end, which re-reads the last partial page into the buffers: the
//! next write rewrites that page with the valid bytes kept and garbage past
//! them zeroed.
//!
//! # The data directory
//! Segment files live in `<data_dir>/pg_wal`. The process-wide data
//! directory is set once with [`set_data_dir`] — by the postmaster before
//! its first fork, so that every child inherits it — and read by every
//! function here that does I/O through shared memory. Functions that take a
//! `data_dir` argument ([`bootstrap_wal`], [`WalReader::new`],
//! [`remove_old_segments`], [`list_segments`]) do not need it.
//!
//! # What is left out
//! Timelines other than 1 (point-in-time recovery cuts the WAL off after
//! its stop point instead of starting timeline 2: see `bgproc/startup.rs`),
//! backup history files, parallel
//! insertion locks, WAL compression, `wal_sync_method` other than
//! fdatasync (every value syncs with `fdatasync`), `commit_delay`.
//!
//! See README.md beside this file for the numbered rules.

pub mod buffer;
pub mod file;
pub mod reader;
pub mod record;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use buffer::{Wal, WalConfig, WalStats};
pub use file::{
    WalFileInfo, list_segments, remove_old_segments, segment_name, walfile_name,
    walfile_name_offset,
};
pub use reader::WalReader;
pub use record::{
    BlockRef, CheckPoint, DecodedBlock, DecodedRecord, RmgrId, XLOG_BACKUP_END,
    XLOG_CHECKPOINT_ONLINE, XLOG_CHECKPOINT_SHUTDOWN, XLOG_FPI, XLOG_NEXTOID, XLOG_NOOP,
    XLOG_SWITCH,
};

use crate::storage::shmem::{self, Region, RegionId};
use crate::storage::types::{BLCKSZ, Lsn, WAL_SEGMENT_SIZE, Xid};
use crate::utils::guc::Settings;

// ---------------------------------------------------------------------------
// The shared-memory region
// ---------------------------------------------------------------------------

/// The WAL's place in the shared-memory registry.
pub const REGION: Region = Region {
    name: "WAL",
    size: region_size,
    init: region_init,
};

/// `wal_buffers` in pages: -1 means shared_buffers / 32 clamped to
/// [8, 2048] (PostgreSQL's `XLOGChooseNumBuffers`); explicit values below 4 become 4.
pub fn wal_buffers_pages(settings: &Settings) -> usize {
    let v = settings.get_int("wal_buffers");
    if v == -1 {
        (settings.get_int("shared_buffers") / 32).clamp(8, 2048) as usize
    } else {
        v.max(4) as usize
    }
}

fn region_size(settings: &Settings) -> usize {
    Wal::region_size(wal_buffers_pages(settings))
}

/// # Safety
/// As [`Region::init`]: `base` is `region_size(settings)` zeroed bytes.
unsafe fn region_init(base: *mut u8, settings: &Settings) {
    let cfg = WalConfig {
        n_buffers: wal_buffers_pages(settings),
        seg_size: WAL_SEGMENT_SIZE,
        fsync: settings.get_bool("fsync"),
        full_page_writes: settings.get_bool("full_page_writes"),
        archive_mode: settings.get_str("archive_mode") != "off",
    };
    // SAFETY: forwarded from the caller.
    unsafe { Wal::init_region(base, cfg) }
}

// ---------------------------------------------------------------------------
// This process's view
// ---------------------------------------------------------------------------

static DATA_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Sets the data directory for this process and the children it forks
/// afterwards. Call once, in the postmaster before the first fork (or in a
/// child before its first WAL call). A relative path is made absolute.
pub fn set_data_dir(dir: &Path) {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let now = DATA_DIR.get_or_init(|| abs.clone());
    assert_eq!(
        now, &abs,
        "wal::set_data_dir called with two different directories"
    );
}

/// The data directory set by [`set_data_dir`].
pub fn data_dir() -> &'static Path {
    DATA_DIR
        .get()
        .expect("wal::set_data_dir was not called in this process (or before its fork)")
}

/// This process's handle on the shared WAL region. Created on first use in
/// each child: the postmaster itself must never call the functions below
/// (it does not touch shared-memory contents, shmem rule 4).
fn global() -> &'static Wal {
    static GLOBAL: OnceLock<(u32, Wal)> = OnceLock::new();
    let (pid, wal) = GLOBAL.get_or_init(|| {
        let base = shmem::get().region(RegionId::Wal);
        // SAFETY: the region was initialised by `region_init` when the
        // segment was created, and a child's mapping lives as long as it.
        let mut wal = unsafe { Wal::attach(base, data_dir()) };
        wal.set_on_segment_ready(wake_archiver);
        (std::process::id(), wal)
    });
    // getpid() is a system call: checked in debug builds (the tests), not
    // on every WAL call of a release build.
    debug_assert_eq!(
        *pid,
        std::process::id(),
        "WAL handle inherited through fork: only children may use the WAL"
    );
    wal
}

/// Appends a record to the WAL buffers; returns the LSN just past it
/// (MAXALIGNed: flush up to it to make the record durable).
pub fn insert(rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8], blocks: &[BlockRef<'_>]) -> Lsn {
    insert_with_start(rmgr, info, xid, main_data, blocks).1
}

/// As [`insert`], also returning where the record starts (the checkpoint
/// record's LSN goes to pg_control).
pub fn insert_with_start(
    rmgr: RmgrId,
    info: u8,
    xid: Xid,
    main_data: &[u8],
    blocks: &[BlockRef<'_>],
) -> (Lsn, Lsn) {
    global()
        .insert_record(rmgr, info, xid, main_data, blocks, None)
        .expect("unconditional insert")
}

/// Inserts unless a checkpoint moved the redo pointer away from
/// `decided_with_redo` since the caller decided which blocks need a
/// full-page image (it read [`redo_pointer`] before calling
/// [`needs_full_page_image`]). None: decide again and retry, still holding
/// the buffer locks. Use this for records that change pages.
pub fn insert_if_redo_unchanged(
    decided_with_redo: Lsn,
    rmgr: RmgrId,
    info: u8,
    xid: Xid,
    main_data: &[u8],
    blocks: &[BlockRef<'_>],
) -> Option<Lsn> {
    global()
        .insert_record(rmgr, info, xid, main_data, blocks, Some(decided_with_redo))
        .map(|(_, end)| end)
}

/// Makes the WAL durable (fdatasync) at least up to `upto`. Group commit:
/// one caller's sync covers everything inserted before it started. A no-op
/// before [`init_insert_position`] (during recovery the WAL is on disk).
pub fn flush(upto: Lsn) -> io::Result<()> {
    global().flush(upto)
}

/// The walwriter's round: writes and syncs whatever is inserted. Returns
/// whether there was work (false: the walwriter may hibernate).
pub fn write_and_flush_background() -> io::Result<bool> {
    global().write_and_flush_background()
}

/// Where the next record will start (pg_current_wal_insert_lsn).
pub fn insert_lsn() -> Lsn {
    global().insert_lsn()
}

/// Written out up to here (pg_current_wal_lsn).
pub fn write_lsn() -> Lsn {
    global().write_lsn()
}

/// Durable up to here (pg_current_wal_flush_lsn).
pub fn flushed_lsn() -> Lsn {
    global().flushed_lsn()
}

/// Sets RedoRecPtr (the startup process, from the checkpoint it replayed from).
pub fn set_redo_pointer(redo: Lsn) {
    global().set_redo_pointer(redo)
}

pub fn redo_pointer() -> Lsn {
    global().redo_pointer()
}

/// The checkpointer's first step: takes the current insert position as the
/// redo point and sets RedoRecPtr to it, atomically with respect to inserts.
pub fn begin_checkpoint() -> Lsn {
    global().begin_checkpoint()
}

/// Whether a change to a page whose LSN is `page_lsn` must log the whole
/// page: full_page_writes is on and the page was not changed since the
/// current redo point.
pub fn needs_full_page_image(page_lsn: Lsn) -> bool {
    global().needs_full_page_image(page_lsn)
}

/// pg_switch_wal: ends the current segment with an XLOG_SWITCH record,
/// flushes, and returns the record's end (the insert position if the
/// segment holds nothing yet).
pub fn switch_segment() -> io::Result<Lsn> {
    global().switch_segment()
}

/// WAL inserted since the redo point (for max_wal_size checkpoints).
pub fn bytes_since_redo() -> u64 {
    global().bytes_since_redo()
}

/// After replay: inserts continue at `end_of_wal` with `prev_record` as the
/// next record's xl_prev (both from the [`WalReader`] that reached the end).
/// Reads the system identifier for page headers from pg_control.
pub fn init_insert_position(end_of_wal: Lsn, prev_record: Lsn) -> io::Result<()> {
    let cf = crate::storage::control::ControlFile::read(data_dir())?;
    global().init_insert_position(end_of_wal, prev_record, cf.system_identifier)
}

/// Whether the startup process has set the insert position, i.e. WAL may
/// be written (nothing may be inserted during recovery).
pub fn is_insert_ready() -> bool {
    global().is_insert_ready()
}

/// pg_stat_wal.
pub fn stats() -> WalStats {
    global().stats()
}

/// pg_stat_reset_shared('wal').
pub fn reset_stats() {
    global().reset_stats()
}

/// Copies the reloadable `fsync` and `full_page_writes` into shared memory
/// (the checkpointer calls it at start and after each SIGHUP, as
/// PostgreSQL's `UpdateFullPageWrites`).
pub fn apply_settings(settings: &Settings) {
    global().set_options(
        settings.get_bool("fsync"),
        settings.get_bool("full_page_writes"),
    )
}

/// A commit with synchronous_commit = off: remembers its LSN and wakes the
/// walwriter so that it is flushed soon (PostgreSQL's `XLogSetAsyncXactLSN`).
pub fn async_commit(lsn: Lsn) {
    if global().note_async_commit(lsn) {
        wake_walwriter();
    }
}

/// Sets the archiver's latch, if it runs (a segment became `.ready`).
pub fn wake_archiver() {
    if let Some(slot) = shmem::get()
        .procarray()
        .find_kind(crate::process::ProcessKind::Archiver)
    {
        slot.latch.set();
    }
}

/// Whether `archive_mode` is not `off` (fixed at server start).
pub fn archive_mode() -> bool {
    global().archive_mode()
}

/// A base backup whose WAL starts at `start` begins: checkpoints keep
/// every segment from `start`'s on until [`unregister_backup`].
pub fn register_backup(start: Lsn) {
    global().register_backup(start)
}

/// The base backup registered with [`register_backup`] ended.
pub fn unregister_backup() {
    global().unregister_backup()
}

/// The oldest start LSN of the base backups in progress (checkpoints keep
/// WAL from there on).
pub fn backup_start() -> Option<Lsn> {
    global().backup_start()
}

/// Sets the walwriter's latch, if it runs.
pub fn wake_walwriter() {
    if let Some(slot) = shmem::get()
        .procarray()
        .find_kind(crate::process::ProcessKind::WalWriter)
    {
        slot.latch.set();
    }
}

/// Creates the next segment ahead of need (the checkpointer calls it).
pub fn preallocate_next_segment() -> crate::utils::elog::PgResult<bool> {
    global().preallocate_next_segment()
}

/// Writes a checkpoint record; returns (its LSN, end). For a shutdown
/// checkpoint, call [`begin_checkpoint`] right before with no other
/// inserter left, so that `cp.redo` equals the returned LSN.
pub fn insert_checkpoint(shutdown: bool, cp: &CheckPoint) -> (Lsn, Lsn) {
    let info = if shutdown {
        XLOG_CHECKPOINT_SHUTDOWN
    } else {
        XLOG_CHECKPOINT_ONLINE
    };
    insert_with_start(RmgrId::Xlog, info, Xid::INVALID, &cp.encode(), &[])
}

// ---------------------------------------------------------------------------
// initdb
// ---------------------------------------------------------------------------

/// First value of `next_oid` after initdb (PostgreSQL's FirstNormalObjectId).
pub const FIRST_NORMAL_OBJECT_ID: u32 = 16384;

/// initdb: creates `pg_wal/` and `pg_wal/archive_status/`, writes segment 1
/// with a shutdown checkpoint record, and returns the record's LSN
/// (`0/1000028`) and contents for pg_control (`checkpoint`, `checkpoint_copy`).
pub fn bootstrap_wal(data_dir: &Path, system_identifier: u64) -> io::Result<(Lsn, CheckPoint)> {
    bootstrap_wal_sized(data_dir, system_identifier, WAL_SEGMENT_SIZE)
}

pub(crate) fn bootstrap_wal_sized(
    data_dir: &Path,
    system_identifier: u64,
    seg_size: u64,
) -> io::Result<(Lsn, CheckPoint)> {
    std::fs::create_dir_all(file::wal_dir(data_dir).join("archive_status"))?;
    let wal = private_wal(data_dir, seg_size, 8);
    wal.init_insert_position(Lsn(seg_size), Lsn::INVALID, system_identifier)?;
    let redo = wal.begin_checkpoint();
    let cp = CheckPoint {
        redo,
        timeline: file::TIMELINE,
        prev_timeline: file::TIMELINE,
        full_page_writes: true,
        next_xid: Xid::FIRST_NORMAL,
        next_oid: FIRST_NORMAL_OBJECT_ID,
        next_multi: 1,
        next_multi_offset: 0,
        oldest_xid: Xid::FIRST_NORMAL,
        oldest_xid_db: 1,
        oldest_multi: 1,
        oldest_multi_db: 1,
        oldest_active_xid: Xid::INVALID,
        time: crate::utils::time::now_unix().0,
    };
    let (lsn, end) = wal
        .insert_record(
            RmgrId::Xlog,
            XLOG_CHECKPOINT_SHUTDOWN,
            Xid::INVALID,
            &cp.encode(),
            &[],
            None,
        )
        .expect("unconditional insert");
    assert_eq!(lsn, redo, "the bootstrap checkpoint is its own redo point");
    wal.flush(end)?;
    file::fsync_dir(&file::wal_dir(data_dir))?;
    Ok((lsn, cp))
}

/// A WAL region in this process's private memory (initdb, tests of code
/// that needs no other process). Leaked: it lives as long as the process.
pub(crate) fn private_wal(data_dir: &Path, seg_size: u64, n_buffers: usize) -> Wal {
    let words = Wal::region_size(n_buffers).div_ceil(8);
    let mem: &'static mut [u64] = Box::leak(vec![0u64; words].into_boxed_slice());
    let base = mem.as_mut_ptr() as *mut u8;
    // SAFETY: `mem` is zeroed, 8-byte aligned, large enough, leaked (never
    // freed) and used by this process only.
    unsafe {
        Wal::init_region(
            base,
            WalConfig {
                n_buffers,
                seg_size,
                fsync: true,
                full_page_writes: true,
                archive_mode: false,
            },
        );
        Wal::attach(base, data_dir)
    }
}

const _: () = assert!(WAL_SEGMENT_SIZE % BLCKSZ as u64 == 0);
