//! The checkpointer (PostgreSQL's `checkpointer.c` + `CreateCheckPoint`).
//!
//! A checkpoint makes everything before its redo point durable in the data
//! files, so recovery can start there:
//! 1. note the redo point (the WAL insert position now);
//! 2. write every dirty buffer, spread over `checkpoint_completion_target`
//!    of the interval for timed checkpoints, at full speed when requested;
//! 3. write back the commit-status (pg_xact) pages and fsync every file
//!    written since the last checkpoint;
//! 4. insert the checkpoint record and flush WAL up to it;
//! 5. point `pg_control` at it;
//! 6. remove or recycle WAL segments older than the redo point (never one
//!    the archiver still has to copy).
//!
//! Triggers: `checkpoint_timeout`; WAL growth past `max_wal_size`
//! (measured as PostgreSQL does: max_wal_size / (1 + completion target)
//! since the last redo point); a request (`CHECKPOINT`, through this
//! module's shared region); shutdown (SIGUSR2 from the postmaster: the
//! shutdown checkpoint, then `pg_control` says "shut down" and the process
//! exits 0). SIGTERM is ignored, as in PostgreSQL. A timed checkpoint is
//! skipped when no WAL was written since the last one that completed.
//!
//! # When a checkpoint fails (a full disk, an I/O error)
//! PostgreSQL's rules:
//! - writing a data page or a pg_xact page fails: the checkpoint is
//!   abandoned with an ERROR that names the file and the cause (53100 on a
//!   full disk), logged here; a waiting `CHECKPOINT` gets `checkpoint
//!   request failed` (with the cause as DETAIL, a ferrogres addition) and
//!   the next checkpoint retries, after a pause of a second. Nothing is lost:
//!   `pg_control` still points at the last checkpoint that completed, and
//!   the pages that could not be written stay dirty.
//! - an fsync, the WAL flush of the checkpoint record, or the `pg_control`
//!   update fails: PANIC (`elog::panic`), and the server restarts through
//!   crash recovery. After a failed fsync the kernel may have dropped the
//!   data, so retrying could report success for pages not on disk.
//! - the shutdown checkpoint fails: `pg_control` stays "shutting down"
//!   (written in place before the checkpoint starts), the error is logged as
//!   FATAL and the process exits 1 (PostgreSQL 15's `ExitOnAnyError`); the
//!   postmaster treats that as a crash and logs `abnormal database system
//!   shutdown`, never `database system is shut down`, and the next start
//!   runs crash recovery (`database system shutdown was interrupted`).

use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::postmaster::ServerEnv;
use crate::process::{ProcessKind, signals};
use crate::storage::control::{ControlFile, DbState};
use crate::storage::shmem::{Region, RegionId};
use crate::storage::wal;
use crate::utils::elog::{self, PgError, PgResult, Severity, sqlstate};
use crate::utils::guc::Settings;

/// The checkpointer's shared state (PostgreSQL's `CheckpointerShmem`).
#[repr(C)]
pub struct CheckpointerShmem {
    /// Pending request flags ([`REQUEST_FORCE`], ...). Set by anyone, taken by the checkpointer.
    requests: AtomicU32,
    /// Checkpoints started / completed / failed (PostgreSQL's ckpt_started,
    /// ckpt_done, ckpt_failed): a requester waits for `done` to pass the
    /// `started` it saw.
    started: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    /// pg_stat_bgwriter counters, written by the checkpointer only.
    pub checkpoints_timed: AtomicU64,
    pub checkpoints_req: AtomicU64,
    pub checkpoint_write_time_ms: AtomicU64,
    pub checkpoint_sync_time_ms: AtomicU64,
    /// TimestampTz of the last pg_stat_reset_shared('bgwriter').
    pub stats_reset: AtomicI64,
    /// The last failed checkpoint's error, UTF-8, for requesters' DETAIL.
    /// Written by the checkpointer before it bumps `failed` (release); read
    /// by a requester after it saw `failed` move (acquire).
    failure_len: AtomicU32,
    failure: [AtomicU8; FAILURE_BYTES],
}

/// Bound on the failure text kept for requesters.
const FAILURE_BYTES: usize = 512;

impl CheckpointerShmem {
    /// Records a failed checkpoint: its error for requesters, then the count
    /// they watch.
    fn record_failure(&self, err: &PgError) {
        let mut text = match &err.detail {
            Some(d) => format!("{}: {d}", err.message),
            None => err.message.clone(),
        };
        if text.len() > FAILURE_BYTES {
            let mut cut = FAILURE_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        for (slot, b) in self.failure.iter().zip(text.bytes()) {
            slot.store(b, Ordering::Relaxed);
        }
        self.failure_len.store(text.len() as u32, Ordering::Release);
        self.failed.fetch_add(1, Ordering::AcqRel);
    }

    /// The last failure recorded (empty if none).
    fn failure_text(&self) -> String {
        let n = (self.failure_len.load(Ordering::Acquire) as usize).min(FAILURE_BYTES);
        let bytes: Vec<u8> = self.failure[..n]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A checkpoint was explicitly requested (CHECKPOINT): do it even if idle.
pub const REQUEST_FORCE: u32 = 1;
/// Requested because WAL grew past max_wal_size.
pub const REQUEST_WAL: u32 = 2;

pub const REGION: Region = Region {
    name: "Checkpointer",
    size: |_| std::mem::size_of::<CheckpointerShmem>(),
    init: init_region,
};

unsafe fn init_region(base: *mut u8, _settings: &Settings) {
    // SAFETY: the caller hands us zeroed memory of our size; zero is a
    // valid state for every atomic; only stats_reset needs a value.
    let shm = unsafe { &*(base as *const CheckpointerShmem) };
    shm.stats_reset
        .store(crate::utils::time::now_timestamptz(), Ordering::Relaxed);
}

/// The shared state, in a process attached to the segment.
pub fn shmem() -> &'static CheckpointerShmem {
    // SAFETY: the region was initialised by `init_region` when the segment
    // was created and lives as long as this process.
    unsafe {
        &*(crate::storage::shmem::get().region(RegionId::Checkpointer) as *const CheckpointerShmem)
    }
}

/// `CHECKPOINT`: asks the checkpointer for an immediate checkpoint and waits
/// until one that started after the request has completed.
pub fn request_checkpoint(check_interrupts: &mut dyn FnMut() -> PgResult<()>) -> PgResult<()> {
    let shm = shmem();
    let seen_started = shm.started.load(Ordering::Acquire);
    let seen_failed = shm.failed.load(Ordering::Acquire);
    shm.requests.fetch_or(REQUEST_FORCE, Ordering::AcqRel);
    let procarray = crate::storage::shmem::get().procarray();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(slot) = procarray.find_kind(ProcessKind::Checkpointer) {
            slot.latch.set();
        }
        if shm.failed.load(Ordering::Acquire) != seen_failed {
            let mut err = PgError::error(sqlstate::INTERNAL_ERROR, "checkpoint request failed")
                .with_hint("Consult recent messages in the server log for details.");
            let cause = shm.failure_text();
            if !cause.is_empty() {
                err = err.with_detail(cause);
            }
            return Err(err);
        }
        // A checkpoint that started after our request and has finished.
        if shm.started.load(Ordering::Acquire) > seen_started
            && shm.done.load(Ordering::Acquire) > seen_started
        {
            return Ok(());
        }
        check_interrupts()?;
        if Instant::now() > deadline {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "checkpoint request timed out",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn main(mut env: ServerEnv) -> ! {
    signals::ignore(nix::sys::signal::Signal::SIGTERM);
    // Backends and the bgwriter queue their fsync requests for us.
    crate::storage::smgr::smgr().set_sync_owner();
    let shm = shmem();
    let mut last_checkpoint = Instant::now();
    let mut last_end: Option<crate::storage::types::Lsn> = None;
    let mut archive_timer = ArchiveTimer::new();
    loop {
        wal::apply_settings(&env.settings);
        let timeout = super::setting_s(&env, "checkpoint_timeout");
        // Wake at least every second to watch WAL growth (max_wal_size).
        let until_timed = timeout.saturating_sub(last_checkpoint.elapsed());
        let bits = super::wait_for_work(&mut env, until_timed.min(Duration::from_secs(1)));
        crate::storage::smgr::absorb_sync_requests();
        if bits & signals::SIGUSR2_PENDING != 0 {
            if let Err(e) = create_checkpoint(&env, CheckpointKind::Shutdown, &mut last_end) {
                // PostgreSQL 15 sets ExitOnAnyError for the shutdown
                // checkpoint: the ERROR becomes FATAL, and the exit code 1
                // tells the postmaster the shutdown was not clean.
                elog::log_error(&e.with_severity(Severity::Fatal), None);
                crate::process::proc_exit(1);
            }
            crate::process::proc_exit(0);
        }
        if !wal::is_insert_ready() {
            continue;
        }
        archive_timer.check(&env);
        let requested = shm.requests.swap(0, Ordering::AcqRel);
        let wal_limit = max_wal_bytes(&env.settings);
        let kind = if requested & REQUEST_FORCE != 0 {
            Some(CheckpointKind::Requested)
        } else if wal::bytes_since_redo() >= wal_limit || requested & REQUEST_WAL != 0 {
            Some(CheckpointKind::Wal)
        } else if last_checkpoint.elapsed() >= timeout {
            Some(CheckpointKind::Timed)
        } else {
            None
        };
        let Some(kind) = kind else { continue };
        last_checkpoint = Instant::now();
        // An idle system needs no timed checkpoint (PostgreSQL skips it too).
        if kind == CheckpointKind::Timed && last_end == Some(wal::insert_lsn()) {
            continue;
        }
        if let Err(e) = create_checkpoint(&env, kind, &mut last_end) {
            elog::log_error(&e, None);
            shm.record_failure(&e);
            // Retry at the next trigger, even if no WAL is written meanwhile.
            last_end = None;
            pause_after_failure();
        }
    }
}

/// `archive_timeout` (PostgreSQL's `CheckArchiveTimeout`, which also runs in
/// the checkpointer: it wakes at least once a second anyway). When no
/// segment switch happened for `archive_timeout` seconds and the current
/// segment holds WAL, the segment is switched so that the archiver gets it.
/// A switch by anyone else (a full segment, `pg_switch_wal()`) restarts the
/// clock: this process watches the segment number of the insert position.
struct ArchiveTimer {
    last_segno: u64,
    last_switch: Instant,
}

impl ArchiveTimer {
    fn new() -> ArchiveTimer {
        ArchiveTimer {
            last_segno: u64::MAX,
            last_switch: Instant::now(),
        }
    }

    fn check(&mut self, env: &ServerEnv) {
        let seg = crate::storage::types::WAL_SEGMENT_SIZE;
        let pos = wal::insert_lsn().0;
        let segno = pos / seg;
        if segno != self.last_segno {
            self.last_segno = segno;
            self.last_switch = Instant::now();
        }
        let timeout_s = env.settings.get_int("archive_timeout");
        if timeout_s <= 0 || !wal::archive_mode() {
            return;
        }
        if self.last_switch.elapsed() < Duration::from_secs(timeout_s as u64) {
            return;
        }
        self.last_switch = Instant::now();
        // Only a segment with records in it (past its long page header).
        if pos % seg <= crate::storage::wal::file::SIZE_OF_LONG_PHD as u64 {
            return;
        }
        match wal::switch_segment() {
            Ok(_) => self.last_segno = wal::insert_lsn().0 / seg,
            Err(e) => elog::log(
                Severity::Log,
                &format!("could not switch WAL segment for archive_timeout: {e}"),
            ),
        }
    }
}

/// PostgreSQL's pause of a second after a failed checkpoint (so that a
/// trigger that is still true does not spin), cut short by a shutdown
/// request or the postmaster's death, which the main loop then handles.
/// Not a latch wait: a waiting `CHECKPOINT` sets the latch every few ms.
fn pause_after_failure() {
    for _ in 0..10 {
        if signals::peek(signals::SIGUSR2_PENDING | signals::POSTMASTER_DEATH_PENDING) != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// WAL since the redo point that triggers a checkpoint (PostgreSQL's
/// CheckPointSegments: max_wal_size / (1 + checkpoint_completion_target)).
fn max_wal_bytes(settings: &Settings) -> u64 {
    let max_wal_mb = settings.get_int("max_wal_size") as f64;
    let target = settings.get_real("checkpoint_completion_target");
    ((max_wal_mb * 1024.0 * 1024.0) / (1.0 + target)) as u64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckpointKind {
    Timed,
    Requested,
    Wal,
    Shutdown,
}

impl CheckpointKind {
    /// The flags PostgreSQL prints in "checkpoint starting: ...".
    fn describe(self) -> &'static str {
        match self {
            CheckpointKind::Timed => "time",
            CheckpointKind::Requested => "immediate force wait",
            CheckpointKind::Wal => "wal",
            CheckpointKind::Shutdown => "shutdown immediate",
        }
    }
}

/// PostgreSQL's CreateCheckPoint. An Err is a checkpoint abandoned before
/// anything changed in `pg_control` (a data or pg_xact page that could not be
/// written): the caller logs and counts it, and the next checkpoint retries.
/// A failure after which going on could lose data (an fsync, the WAL flush,
/// the `pg_control` update) PANICs here. See the module doc.
fn create_checkpoint(
    env: &ServerEnv,
    kind: CheckpointKind,
    last_end: &mut Option<crate::storage::types::Lsn>,
) -> PgResult<()> {
    if !wal::is_insert_ready() {
        // Shut down before recovery finished: nothing may be written.
        return Ok(());
    }
    let shm = shmem();
    shm.started.fetch_add(1, Ordering::AcqRel);
    let log_checkpoints = env.settings.get_bool("log_checkpoints");
    let t0 = Instant::now();
    if log_checkpoints {
        super::log(&format!("checkpoint starting: {}", kind.describe()));
    }
    if kind == CheckpointKind::Shutdown {
        // PostgreSQL's DB_SHUTDOWNING: until the shutdown checkpoint is
        // recorded, a start finds a shutdown that did not complete and
        // recovers. Written in place, so a full disk cannot refuse it.
        if let Err(e) = ControlFile::update_state(&env.data_dir, DbState::Shutdowning) {
            elog::panic(e);
        }
    }
    let redo = wal::begin_checkpoint();
    let written = write_buffers(env, kind, t0)? as u64;
    let write_done = Instant::now();
    if let Err(e) = crate::storage::xact::clog_checkpoint() {
        if e.severity == Severity::Panic {
            elog::panic(e);
        }
        return Err(e);
    }
    // A failed fsync may have lost data the kernel dropped: PANIC, as PostgreSQL does.
    let synced_files = match crate::storage::smgr::sync_pending() {
        Ok(n) => n,
        Err(e) => elog::panic(e),
    };
    let sync_done = Instant::now();

    let mut control = match ControlFile::read(&env.data_dir) {
        Ok(c) => c,
        Err(e) => elog::panic(crate::storage::control::read_error(&e)),
    };
    let mut cp = control.checkpoint_copy.clone();
    // A shutdown checkpoint's redo point is the record itself: nothing can
    // be inserted in between, since every other process has exited.
    cp.redo = if kind == CheckpointKind::Shutdown {
        wal::begin_checkpoint()
    } else {
        redo
    };
    cp.next_xid = crate::storage::xact::next_xid();
    cp.next_oid = crate::catalog::oid::next_oid();
    cp.oldest_active_xid = crate::storage::xact::oldest_xmin();
    cp.full_page_writes = env.settings.get_bool("full_page_writes");
    cp.time = crate::utils::time::now_unix().0;
    let previous_redo = control.checkpoint_copy.redo;
    let (lsn, end) = wal::insert_checkpoint(kind == CheckpointKind::Shutdown, &cp);
    // A write or fsync failure PANICs inside `flush`; an Err is a bug.
    if let Err(e) = wal::flush(end) {
        elog::panic(PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("could not flush WAL for the checkpoint record: {e}"),
        ));
    }
    control.checkpoint = lsn;
    control.checkpoint_copy = cp.clone();
    control.state = if kind == CheckpointKind::Shutdown {
        DbState::Shutdowned
    } else {
        DbState::InProduction
    };
    control.time_s = cp.time;
    if let Err(e) = control.write(&env.data_dir) {
        elog::panic(e);
    }
    *last_end = Some(end);

    // Never remove a segment the archiver still has to copy, nor one a
    // running base backup still has to ship (from its start LSN on).
    let archive_status = env.data_dir.join("pg_wal/archive_status");
    let archiving = wal::archive_mode();
    let keep = |name: &str| archive_pending(&archive_status, name, archiving);
    let keep_from = wal::backup_start().map_or(cp.redo, |b| b.min(cp.redo));
    let (removed, recycled) = wal::remove_old_segments(
        &env.data_dir,
        keep_from,
        keep,
        env.settings.get_int("min_wal_size") as u64,
        env.settings.get_int("max_wal_size") as u64,
    )
    .unwrap_or_else(|e| {
        elog::log(
            Severity::Log,
            &format!("could not remove old WAL files: {}", elog::strerror(&e)),
        );
        (0, 0)
    });
    // PostgreSQL's PreallocXlogFiles: the next segment exists before a
    // commit needs it. On a full disk this fails the checkpoint request
    // (the checkpoint itself is complete and recorded), as there.
    let added = u64::from(wal::preallocate_next_segment()?);

    match kind {
        CheckpointKind::Timed => shm.checkpoints_timed.fetch_add(1, Ordering::Relaxed),
        _ => shm.checkpoints_req.fetch_add(1, Ordering::Relaxed),
    };
    let write_s = (write_done - t0).as_secs_f64();
    let sync_s = (sync_done - write_done).as_secs_f64();
    shm.checkpoint_write_time_ms
        .fetch_add((write_s * 1000.0) as u64, Ordering::Relaxed);
    shm.checkpoint_sync_time_ms
        .fetch_add((sync_s * 1000.0) as u64, Ordering::Relaxed);
    shm.done.fetch_add(1, Ordering::AcqRel);
    if log_checkpoints {
        let nbuffers = env.settings.get_int("shared_buffers").max(1) as f64;
        let distance_kb = cp.redo.0.saturating_sub(previous_redo.0) / 1024;
        super::log(&format!(
            "checkpoint complete: wrote {written} buffers ({:.1}%); {added} WAL file(s) added, {removed} removed, {recycled} recycled; write={write_s:.3} s, sync={sync_s:.3} s, total={:.3} s; sync files={synced_files}, longest=0.000 s, average=0.000 s; distance={distance_kb} kB, estimate={distance_kb} kB",
            100.0 * written as f64 / nbuffers,
            t0.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// Writes every buffer dirty at the start of the checkpoint (BufferSync).
/// Timed and WAL-triggered checkpoints spread the writes so that they end
/// after `checkpoint_completion_target` of the interval; requested and
/// shutdown checkpoints write at full speed.
fn write_buffers(env: &ServerEnv, kind: CheckpointKind, t0: Instant) -> PgResult<u32> {
    let spread = matches!(kind, CheckpointKind::Timed | CheckpointKind::Wal);
    let budget = super::setting_s(env, "checkpoint_timeout")
        .mul_f64(env.settings.get_real("checkpoint_completion_target"));
    let mut pace = |done: u32, total: u32| {
        crate::storage::smgr::absorb_sync_requests();
        // A shutdown request ends the pacing: finish as fast as possible.
        if !spread || total == 0 || signals::peek(signals::SIGUSR2_PENDING) != 0 {
            return;
        }
        let due = budget.mul_f64(done as f64 / total as f64);
        let elapsed = t0.elapsed();
        if elapsed < due {
            std::thread::sleep((due - elapsed).min(Duration::from_millis(100)));
        }
    };
    crate::storage::buffer::pool().sync_for_checkpoint(&mut pace)
}

/// Whether WAL segment `name` must be kept for the archiver (PostgreSQL's
/// `XLogArchiveCheckDone`, negated): not while archiving is off, nor once
/// it is `.done`; kept while `.ready`. A completed segment with neither file
/// lost its `.ready` to a failed creation (a full disk): it is created now
/// and the segment kept, so that no segment is removed unarchived.
fn archive_pending(archive_status: &std::path::Path, name: &str, archiving: bool) -> bool {
    if !archiving || archive_status.join(format!("{name}.done")).exists() {
        return false;
    }
    let ready = archive_status.join(format!("{name}.ready"));
    if !ready.exists() {
        match std::fs::write(&ready, b"") {
            Ok(()) => wal::wake_archiver(),
            Err(e) => elog::log_error(
                &elog::file_error(
                    &e,
                    format_args!(
                        "could not create archive status file \"pg_wal/archive_status/{name}.ready\""
                    ),
                )
                .with_severity(Severity::Log),
                None,
            ),
        }
    }
    true
}
