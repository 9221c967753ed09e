//! Storage manager: relation files on disk (PostgreSQL's `smgr.c` + `md.c`).
//!
//! A relation fork is a sequence of `BLCKSZ` blocks stored in 1 GiB segment
//! files (`RELSEG_SIZE` blocks each), named as PostgreSQL names them,
//! relative to the data directory:
//!
//! ```text
//! base/<db_oid>/<rel_number>[_fsm|_vm|_init][.<segno>]   (db_oid != 0)
//! global/<rel_number>[_fsm|_vm|_init][.<segno>]          (db_oid == 0, shared catalogs)
//! ```
//!
//! # Where the data directory comes from
//! A process's cwd is not the data directory, so every path is joined onto
//! an explicit directory held by an [`Smgr`]. Server processes use one
//! process-global [`Smgr`] installed once with [`init_process`] (the
//! postmaster may call it before forking — it never opens relation files
//! itself — or each child calls it at start); the free functions of this
//! module ([`read`], [`write`], ...) use it. Tests build their own `Smgr` on
//! a temporary directory.
//!
//! # Open files
//! Each `Smgr` keeps a bounded cache of open segment files (at most
//! `max_open_files`, least recently used closed first — "put a limit on
//! everything"). All I/O is positional (`pread`/`pwrite`), so descriptors
//! inherited through `fork()` are harmless. A cached descriptor of a
//! relation another process unlinked points at the dead inode: callers must
//! [`Smgr::close`] a relation when they learn it was dropped (relcache
//! invalidation), and relfilenumbers must not be reused before the next
//! checkpoint (PostgreSQL's rule too).
//!
//! # fsync requests (PostgreSQL's `sync.c` / `ForwardSyncRequest`)
//! A write does not fsync. It registers the segment it wrote (a [`SyncTag`])
//! either in the shared [`SyncQueue`] (backends, bgwriter) or, in the process
//! that owns syncing (the checkpointer, or a process without a queue:
//! standalone mode and tests), in a process-local pending set. At checkpoint
//! the checkpointer calls [`Smgr::sync_pending`], which absorbs the queue and
//! fsyncs every pending segment. When the queue is full even after removing
//! duplicates, the writer fsyncs the segment itself and the shared
//! `backend_fsync` counter (pg_stat_bgwriter.buffers_backend_fsync) goes up.
//! The request is registered before the write's buffer I/O completes, so a
//! checkpoint that waited for the buffer's I/O also sees the request.
//! A pending segment that has disappeared by the time of the fsync was
//! unlinked (DROP/TRUNCATE): there is nothing left to make durable.
//!
//! # Errors
//! `PgError`s with PostgreSQL's texts and codes: opening a missing file is
//! 58P01 `could not open file "base/5/16384": No such file or directory`;
//! reading past the end is XX001 `could not read block 7 in file
//! "base/5/16384": read only 0 of 8192 bytes`; other I/O errors carry
//! PostgreSQL's `errcode_for_file_access()` code (`elog::errcode_for_file_access`:
//! ENOSPC is 53100 `disk_full`, EIO 58030, ...).
//! A failed fsync is reported with severity PANIC: after a failed fsync the
//! kernel may have dropped the dirty pages, and only WAL replay can restore
//! them (PostgreSQL's `data_sync_retry = off`).

mod sync;

pub use sync::{SyncQueue, SyncTag};

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::storage::types::{BLCKSZ, BlockNumber, ForkNumber, RELSEG_SIZE, RelFileLocator};
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// Default bound on the descriptors one process keeps open (PostgreSQL's
/// `max_files_per_process` is 1000; relation segments get a share of it).
pub const DEFAULT_MAX_OPEN_FILES: usize = 256;

/// The largest valid block number (PostgreSQL's `MaxBlockNumber`);
/// `u32::MAX` is `InvalidBlockNumber`.
pub const MAX_BLOCK_NUMBER: BlockNumber = u32::MAX - 1;

const FILE_MODE: u32 = 0o600;
const ERRCODE_DATA_CORRUPTED: &str = "XX001";
const ERRCODE_DISK_FULL: &str = sqlstate::DISK_FULL;

/// Path of a fork's first segment, relative to the data directory
/// (PostgreSQL's `relpath()`): `base/5/16384`, `global/1262_vm`.
pub fn relpath(rel: RelFileLocator, fork: ForkNumber) -> String {
    if rel.db_oid == 0 {
        format!("global/{}{}", rel.rel_number, fork.suffix())
    } else {
        format!("base/{}/{}{}", rel.db_oid, rel.rel_number, fork.suffix())
    }
}

/// Path of one segment file, relative to the data directory.
pub fn segment_path(rel: RelFileLocator, fork: ForkNumber, segno: u32) -> String {
    if segno == 0 {
        relpath(rel, fork)
    } else {
        format!("{}.{}", relpath(rel, fork), segno)
    }
}

const ALL_FORKS: [ForkNumber; 4] = [
    ForkNumber::Main,
    ForkNumber::Fsm,
    ForkNumber::VisibilityMap,
    ForkNumber::Init,
];

fn file_error(err: &io::Error, what: std::fmt::Arguments<'_>) -> PgError {
    crate::utils::elog::file_error(err, what)
}

/// Reads until `buf` is full or end of file; returns the bytes read.
fn pread_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes all of `buf` unless the device refuses (returns bytes written).
fn pwrite_full(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.write_at(&buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if done > 0 => {
                // Report the short write; the caller words the error.
                let _ = e;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Whether a missing segment file may be created when opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OpenMode {
    /// The file must exist.
    Fail,
    /// Create the file if missing (segments after the first, on write/extend).
    Create,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct SegKey {
    rel: RelFileLocator,
    fork: ForkNumber,
    segno: u32,
}

/// Bounded LRU cache of open segment files.
struct FdCache {
    files: HashMap<SegKey, (File, u64)>,
    tick: u64,
}

/// The storage manager of one process (or one test).
pub struct Smgr {
    data_dir: PathBuf,
    max_open_files: usize,
    /// Open segment files, bounded by `max_open_files`.
    files: Mutex<FdCache>,
    /// Segments written but not yet fsynced, kept in this process: used by
    /// the sync owner (checkpointer) and when no queue is attached.
    pending: Mutex<HashSet<SyncTag>>,
    /// The shared fsync request queue (set once, when the buffer pool attaches).
    queue: OnceLock<&'static SyncQueue>,
    /// True in the process that fsyncs at checkpoint (the checkpointer).
    sync_owner: AtomicBool,
}

impl Smgr {
    /// A storage manager for the data directory `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Smgr {
        Smgr {
            data_dir: data_dir.into(),
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            files: Mutex::new(FdCache {
                files: HashMap::new(),
                tick: 0,
            }),
            pending: Mutex::new(HashSet::new()),
            queue: OnceLock::new(),
            sync_owner: AtomicBool::new(false),
        }
    }

    /// Changes the bound on cached open files (at least 2).
    pub fn with_max_open_files(mut self, max_open_files: usize) -> Smgr {
        assert!(max_open_files >= 2, "smgr needs at least two open files");
        self.max_open_files = max_open_files;
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Routes this process's fsync requests through the shared queue. Called
    /// once by the buffer pool when it attaches; later calls with the same
    /// queue are no-ops.
    pub fn attach_sync_queue(&self, queue: &'static SyncQueue) {
        let installed = *self.queue.get_or_init(|| queue);
        assert!(
            std::ptr::eq(installed, queue),
            "smgr is already attached to another fsync queue"
        );
    }

    /// Makes this process the one that fsyncs (the checkpointer): its own
    /// writes are remembered locally instead of queued.
    pub fn set_sync_owner(&self) {
        self.sync_owner.store(true, Ordering::Relaxed);
    }

    /// Number of segment files this process has open.
    pub fn open_file_count(&self) -> usize {
        self.files
            .lock()
            .expect("smgr file cache poisoned")
            .files
            .len()
    }

    fn full_path(&self, rel: RelFileLocator, fork: ForkNumber, segno: u32) -> PathBuf {
        self.data_dir.join(segment_path(rel, fork, segno))
    }

    /// Runs `f` on the open segment file, opening (and caching) it first.
    fn with_segment<T>(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        segno: u32,
        mode: OpenMode,
        f: impl FnOnce(&File) -> T,
    ) -> Result<T, io::Error> {
        let key = SegKey { rel, fork, segno };
        let mut cache = self.files.lock().expect("smgr file cache poisoned");
        cache.tick += 1;
        let tick = cache.tick;
        if let Some((file, last_used)) = cache.files.get_mut(&key) {
            *last_used = tick;
            return Ok(f(file));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(mode == OpenMode::Create)
            .mode(FILE_MODE)
            .open(self.full_path(rel, fork, segno))?;
        if cache.files.len() >= self.max_open_files {
            let lru = cache
                .files
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
                .expect("a full cache has an entry");
            cache.files.remove(&lru);
        }
        let result = f(&file);
        cache.files.insert(key, (file, tick));
        Ok(result)
    }

    fn forget_files(&self, rel: RelFileLocator, fork: Option<ForkNumber>) {
        let mut cache = self.files.lock().expect("smgr file cache poisoned");
        cache
            .files
            .retain(|k, _| !(k.rel == rel && fork.is_none_or(|f| f == k.fork)));
    }

    /// Closes every cached file of `rel` (after another process dropped or
    /// truncated it).
    pub fn close(&self, rel: RelFileLocator) {
        self.forget_files(rel, None);
    }

    /// Creates the fork's first segment (PostgreSQL's `mdcreate`). The
    /// database directory must exist. During redo an existing file is fine.
    pub fn create(&self, rel: RelFileLocator, fork: ForkNumber, is_redo: bool) -> PgResult<()> {
        let path = self.full_path(rel, fork, 0);
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path);
        match opened {
            Ok(_) => Ok(()),
            Err(e) if is_redo && e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(file_error(
                &e,
                format_args!("could not create file \"{}\"", relpath(rel, fork)),
            )),
        }
    }

    /// Whether the fork exists on disk (`mdexists`). Looks at the directory,
    /// not at the descriptor cache, so a file dropped by another process is
    /// seen as gone.
    pub fn exists(&self, rel: RelFileLocator, fork: ForkNumber) -> PgResult<bool> {
        match std::fs::metadata(self.full_path(rel, fork, 0)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget_files(rel, Some(fork));
                Ok(false)
            }
            Err(e) => Err(file_error(
                &e,
                format_args!("could not open file \"{}\"", relpath(rel, fork)),
            )),
        }
    }

    fn segment_blocks(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        segno: u32,
    ) -> Result<u32, io::Error> {
        let len = self.with_segment(rel, fork, segno, OpenMode::Fail, |f| {
            f.metadata().map(|m| m.len())
        })??;
        Ok((len / BLCKSZ as u64) as u32)
    }

    /// Number of blocks in the fork (`mdnblocks`): full segments, then the
    /// first segment that is not full. A partial last block is not counted.
    pub fn nblocks(&self, rel: RelFileLocator, fork: ForkNumber) -> PgResult<BlockNumber> {
        let mut total: u64 = 0;
        // Bounded: a fork has at most MAX_BLOCK_NUMBER / RELSEG_SIZE + 1 segments.
        for segno in 0..=(MAX_BLOCK_NUMBER / RELSEG_SIZE) {
            match self.segment_blocks(rel, fork, segno) {
                Ok(n) => {
                    total += n.min(RELSEG_SIZE) as u64;
                    if n < RELSEG_SIZE {
                        break;
                    }
                }
                Err(e) if segno > 0 && e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(file_error(
                        &e,
                        format_args!("could not open file \"{}\"", segment_path(rel, fork, segno)),
                    ));
                }
            }
        }
        Ok(total.min(MAX_BLOCK_NUMBER as u64 + 1) as BlockNumber)
    }

    /// Reads one block (`mdread`). Reading at or past the end of the file is
    /// an error (XX001); a block cut short by the end of the file (an
    /// extension that reached the file size but not all its bytes) has its
    /// missing tail read as zeros.
    pub fn read(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        block: BlockNumber,
        buf: &mut [u8; BLCKSZ],
    ) -> PgResult<()> {
        let segno = block / RELSEG_SIZE;
        let offset = (block % RELSEG_SIZE) as u64 * BLCKSZ as u64;
        let path = segment_path(rel, fork, segno);
        let got = match self.with_segment(rel, fork, segno, OpenMode::Fail, |f| {
            pread_full(f, buf, offset)
        }) {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                return Err(file_error(
                    &e,
                    format_args!("could not read block {block} in file \"{path}\""),
                ));
            }
            // A later segment that does not exist: the block is past the end.
            Err(e) if segno > 0 && e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(file_error(
                    &e,
                    format_args!("could not open file \"{path}\""),
                ));
            }
        };
        if got == 0 {
            return Err(PgError::error(
                ERRCODE_DATA_CORRUPTED,
                format!(
                    "could not read block {block} in file \"{path}\": read only 0 of {BLCKSZ} bytes"
                ),
            ));
        }
        buf[got..].fill(0);
        Ok(())
    }

    fn write_block(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        block: BlockNumber,
        buf: &[u8; BLCKSZ],
        extending: bool,
    ) -> PgResult<()> {
        let segno = block / RELSEG_SIZE;
        let offset = (block % RELSEG_SIZE) as u64 * BLCKSZ as u64;
        let path = segment_path(rel, fork, segno);
        // The first segment must have been created; later ones appear as
        // the relation grows into them.
        let mode = if segno == 0 {
            OpenMode::Fail
        } else {
            OpenMode::Create
        };
        let written =
            match self.with_segment(rel, fork, segno, mode, |f| pwrite_full(f, buf, offset)) {
                Ok(Ok(n)) => n,
                Ok(Err(e)) if extending => {
                    return Err(
                        file_error(&e, format_args!("could not extend file \"{path}\""))
                            .with_hint("Check free disk space."),
                    );
                }
                Ok(Err(e)) => {
                    return Err(file_error(
                        &e,
                        format_args!("could not write block {block} in file \"{path}\""),
                    ));
                }
                Err(e) => {
                    return Err(file_error(
                        &e,
                        format_args!("could not open file \"{path}\""),
                    ));
                }
            };
        if written != BLCKSZ {
            let message = if extending {
                format!(
                    "could not extend file \"{path}\": wrote only {written} of {BLCKSZ} bytes at block {block}"
                )
            } else {
                format!(
                    "could not write block {block} in file \"{path}\": wrote only {written} of {BLCKSZ} bytes"
                )
            };
            return Err(
                PgError::error(ERRCODE_DISK_FULL, message).with_hint("Check free disk space.")
            );
        }
        self.register_dirty_segment(SyncTag::new(rel, fork, segno))
    }

    /// Writes one existing block (`mdwrite`) and registers the segment for
    /// fsync at the next checkpoint.
    pub fn write(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        block: BlockNumber,
        buf: &[u8; BLCKSZ],
    ) -> PgResult<()> {
        self.write_block(rel, fork, block, buf, false)
    }

    /// Adds block `block` (normally the current `nblocks`) with contents
    /// `buf` (`mdextend`), creating the next segment file when needed.
    pub fn extend(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        block: BlockNumber,
        buf: &[u8; BLCKSZ],
    ) -> PgResult<()> {
        if block > MAX_BLOCK_NUMBER {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "cannot extend file \"{}\" beyond {} blocks",
                    relpath(rel, fork),
                    MAX_BLOCK_NUMBER + 1
                ),
            ));
        }
        self.write_block(rel, fork, block, buf, true)
    }

    /// Truncates the fork to `nblocks` blocks (`mdtruncate`). Segments past
    /// the new end are truncated to zero length but kept, as PostgreSQL does
    /// (other processes may have them open). The caller has already dropped
    /// the buffers of the blocks being cut off.
    pub fn truncate(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        nblocks: BlockNumber,
    ) -> PgResult<()> {
        let current = self.nblocks(rel, fork)?;
        if nblocks > current {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "could not truncate file \"{}\" to {} blocks: it's only {} blocks now",
                    relpath(rel, fork),
                    nblocks,
                    current
                ),
            ));
        }
        let last_seg = current / RELSEG_SIZE;
        for segno in (nblocks / RELSEG_SIZE)..=last_seg {
            let keep_blocks = if segno == nblocks / RELSEG_SIZE {
                nblocks % RELSEG_SIZE
            } else {
                0
            };
            let path = segment_path(rel, fork, segno);
            match self.with_segment(rel, fork, segno, OpenMode::Fail, |f| {
                f.set_len(keep_blocks as u64 * BLCKSZ as u64)
            }) {
                Ok(Ok(())) => self.register_dirty_segment(SyncTag::new(rel, fork, segno))?,
                Ok(Err(e)) => {
                    return Err(file_error(
                        &e,
                        format_args!("could not truncate file \"{path}\" to {keep_blocks} blocks"),
                    ));
                }
                Err(e) if segno > 0 && e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(file_error(
                        &e,
                        format_args!("could not open file \"{path}\""),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Removes every segment of every fork of `rel` (`mdunlink`). The caller
    /// has already dropped the relation's buffers. Missing files are fine.
    pub fn unlink(&self, rel: RelFileLocator) -> PgResult<()> {
        self.forget_files(rel, None);
        self.pending
            .lock()
            .expect("smgr pending set poisoned")
            .retain(|t| t.rel != rel);
        for fork in ALL_FORKS {
            // Later segments first, so a crash leaves a prefix, never a hole.
            let mut last = 0;
            while last < MAX_BLOCK_NUMBER / RELSEG_SIZE
                && self.full_path(rel, fork, last + 1).exists()
            {
                last += 1;
            }
            for segno in (0..=last).rev() {
                match std::fs::remove_file(self.full_path(rel, fork, segno)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(file_error(
                            &e,
                            format_args!(
                                "could not remove file \"{}\"",
                                segment_path(rel, fork, segno)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// fsyncs every segment of the fork now (`mdimmedsync`), for writes that
    /// bypassed the buffer pool.
    pub fn immedsync(&self, rel: RelFileLocator, fork: ForkNumber) -> PgResult<()> {
        for segno in 0..=(MAX_BLOCK_NUMBER / RELSEG_SIZE) {
            let path = segment_path(rel, fork, segno);
            match self.with_segment(rel, fork, segno, OpenMode::Fail, |f| f.sync_all()) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(fsync_error(&e, &path)),
                Err(e) if segno > 0 && e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(file_error(
                        &e,
                        format_args!("could not open file \"{path}\""),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Alias of [`Smgr::immedsync`] for one fork.
    pub fn fsync(&self, rel: RelFileLocator, fork: ForkNumber) -> PgResult<()> {
        self.immedsync(rel, fork)
    }

    /// Remembers that `tag` needs an fsync before the next checkpoint ends
    /// (`register_dirty_segment`).
    fn register_dirty_segment(&self, tag: SyncTag) -> PgResult<()> {
        let queue = self.queue.get();
        if self.sync_owner.load(Ordering::Relaxed) || queue.is_none() {
            self.pending
                .lock()
                .expect("smgr pending set poisoned")
                .insert(tag);
            return Ok(());
        }
        let queue = queue.expect("checked above");
        if queue.forward(tag) {
            return Ok(());
        }
        // The queue is full of distinct requests: sync it ourselves.
        queue.count_backend_fsync();
        crate::utils::pgstat::count_fsync();
        let path = segment_path(tag.rel, tag.fork, tag.segno);
        match self.with_segment(tag.rel, tag.fork, tag.segno, OpenMode::Fail, |f| {
            f.sync_all()
        }) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(fsync_error(&e, &path)),
            Err(e) => Err(file_error(
                &e,
                format_args!("could not open file \"{path}\""),
            )),
        }
    }

    /// Moves the shared queue's requests into this process's pending set
    /// (`AbsorbSyncRequests`). The checkpointer calls it on every wake-up
    /// and while pacing a checkpoint, so the queue rarely fills.
    pub fn absorb_sync_requests(&self) -> usize {
        match self.queue.get() {
            Some(queue) => {
                let mut pending = self.pending.lock().expect("smgr pending set poisoned");
                queue.absorb(&mut pending)
            }
            None => 0,
        }
    }

    /// Number of segments waiting for an fsync in this process.
    pub fn pending_count(&self) -> usize {
        self.pending
            .lock()
            .expect("smgr pending set poisoned")
            .len()
    }

    /// fsyncs every segment written since the last call (the checkpoint's
    /// `ProcessSyncRequests`): absorbs the queue, then syncs each pending
    /// segment through a freshly opened descriptor (so a cached descriptor of
    /// a since-unlinked file cannot stand in for the new one). Returns the
    /// number of files synced. A failure keeps the request pending and is
    /// reported with PANIC severity.
    pub fn sync_pending(&self) -> PgResult<usize> {
        self.absorb_sync_requests();
        let tags: Vec<SyncTag> = self
            .pending
            .lock()
            .expect("smgr pending set poisoned")
            .iter()
            .copied()
            .collect();
        let mut synced = 0;
        for tag in tags {
            let path = segment_path(tag.rel, tag.fork, tag.segno);
            match File::open(self.full_path(tag.rel, tag.fork, tag.segno)) {
                Ok(file) => {
                    file.sync_all().map_err(|e| fsync_error(&e, &path))?;
                    crate::utils::pgstat::count_fsync();
                    synced += 1;
                }
                // Unlinked since it was written: nothing left to make durable.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    let mut err = file_error(&e, format_args!("could not open file \"{path}\""));
                    err.severity = Severity::Panic;
                    return Err(err);
                }
            }
            self.pending
                .lock()
                .expect("smgr pending set poisoned")
                .remove(&tag);
        }
        Ok(synced)
    }
}

fn fsync_error(err: &io::Error, path: &str) -> PgError {
    let mut e = file_error(err, format_args!("could not fsync file \"{path}\""));
    e.severity = Severity::Panic;
    e
}

// ---------------------------------------------------------------------------
// The process's storage manager.
// ---------------------------------------------------------------------------

static PROCESS_SMGR: OnceLock<Smgr> = OnceLock::new();

/// Installs this process's storage manager on `data_dir` (made absolute).
/// Once per process; a second call with the same directory is a no-op.
pub fn init_process(data_dir: &Path) -> &'static Smgr {
    let dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let smgr = PROCESS_SMGR.get_or_init(|| Smgr::new(dir.clone()));
    assert_eq!(
        smgr.data_dir(),
        dir.as_path(),
        "smgr::init_process called with two data directories"
    );
    smgr
}

/// This process's storage manager ([`init_process`] must have run).
pub fn smgr() -> &'static Smgr {
    PROCESS_SMGR
        .get()
        .expect("smgr::init_process was not called in this process")
}

pub fn create(rel: RelFileLocator, fork: ForkNumber, is_redo: bool) -> PgResult<()> {
    smgr().create(rel, fork, is_redo)
}
pub fn exists(rel: RelFileLocator, fork: ForkNumber) -> PgResult<bool> {
    smgr().exists(rel, fork)
}
pub fn nblocks(rel: RelFileLocator, fork: ForkNumber) -> PgResult<BlockNumber> {
    smgr().nblocks(rel, fork)
}
pub fn read(
    rel: RelFileLocator,
    fork: ForkNumber,
    block: BlockNumber,
    buf: &mut [u8; BLCKSZ],
) -> PgResult<()> {
    smgr().read(rel, fork, block, buf)
}
pub fn write(
    rel: RelFileLocator,
    fork: ForkNumber,
    block: BlockNumber,
    buf: &[u8; BLCKSZ],
) -> PgResult<()> {
    smgr().write(rel, fork, block, buf)
}
pub fn extend(
    rel: RelFileLocator,
    fork: ForkNumber,
    block: BlockNumber,
    buf: &[u8; BLCKSZ],
) -> PgResult<()> {
    smgr().extend(rel, fork, block, buf)
}
pub fn truncate(rel: RelFileLocator, fork: ForkNumber, nblocks: BlockNumber) -> PgResult<()> {
    smgr().truncate(rel, fork, nblocks)
}
pub fn unlink(rel: RelFileLocator) -> PgResult<()> {
    smgr().unlink(rel)
}
pub fn immedsync(rel: RelFileLocator, fork: ForkNumber) -> PgResult<()> {
    smgr().immedsync(rel, fork)
}
pub fn close(rel: RelFileLocator) {
    smgr().close(rel)
}
/// Checkpointer: absorb queued fsync requests.
pub fn absorb_sync_requests() -> usize {
    smgr().absorb_sync_requests()
}
/// Checkpointer: fsync everything written since the last checkpoint.
pub fn sync_pending() -> PgResult<usize> {
    smgr().sync_pending()
}

#[cfg(test)]
mod tests;

/// A temporary data directory for tests (removed on drop).
#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};

    pub struct TempDataDir {
        path: PathBuf,
    }

    impl TempDataDir {
        /// `$TMPDIR/ferrogres-<name>-<pid>-<n>` with `base/5` and `global` in it.
        pub fn new(name: &str) -> TempDataDir {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("ferrogres-{name}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(path.join("base/5")).expect("create test data dir");
            std::fs::create_dir_all(path.join("global")).expect("create test data dir");
            TempDataDir { path }
        }
        pub fn path(&self) -> &Path {
            &self.path
        }
    }

    impl Drop for TempDataDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
