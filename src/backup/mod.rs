//! Online base backups (PostgreSQL's `xlogbackup` half of `xlog.c`
//! — `do_pg_backup_start` / `do_pg_backup_stop` —, `basebackup.c`,
//! `walsender.c` for the replication command, and `pg_basebackup`).
//!
//! # What a base backup is
//! A copy of the data directory taken while the server runs, plus the WAL
//! written while it was taken. The copied files may be torn or out of date
//! with one another; replaying WAL from the backup's start point fixes them,
//! because every page changed after a checkpoint's redo point is logged
//! whole the first time (full-page images) and the copy starts after such a
//! checkpoint. The recovery is *consistent* once it has replayed past the
//! moment the copy ended (the `XLOG_BACKUP_END` record written at stop).
//!
//! 1. **start** ([`start_backup`]): request an immediate checkpoint, read
//!    its redo point (START WAL LOCATION) and its record's LSN (CHECKPOINT
//!    LOCATION) from `pg_control`, and register the backup with the WAL so
//!    that checkpoints keep every segment from the start on.
//! 2. copy the files (the client does it for `pg_backup_start`; the server
//!    does it for `BASE_BACKUP`).
//! 3. **stop** ([`stop_backup`]): insert `XLOG_BACKUP_END` (main data: the
//!    start LSN), switch to a new segment so the last one needed is
//!    complete (and archived, with `archive_mode`), unregister, and hand
//!    back the `backup_label` contents, which go into the copy.
//!
//! The startup process, finding `backup_label` in a data directory, starts
//! replay from its CHECKPOINT LOCATION rather than pg_control's, and refuses
//! to end recovery before it has seen the matching `XLOG_BACKUP_END`
//! (`bgproc/startup.rs`).
//!
//! # Transport of `ferrogres basebackup` (the design choice)
//! A replication-mode connection (startup parameter `replication=true`, as
//! pg_basebackup sends; authenticated against `pg_hba.conf` lines for the
//! `replication` database) accepts a minimal walsender command set
//! ([`walsender`]): `IDENTIFY_SYSTEM` and
//! `BASE_BACKUP [LABEL 'x'] [FAST] [WAL] [NOWAIT]`. `BASE_BACKUP` answers like
//! PostgreSQL's in shape — a row with the start position, a COPY OUT stream,
//! a row with the end position — but the COPY stream is one plain tar
//! archive (ustar) of the whole data directory: every file but the
//! excluded ones, then `backup_label`, then the WAL segments from the start
//! to the stop point under `pg_wal/`, and `global/pg_control` last (as
//! PostgreSQL sends it last). The client ([`client`]) unpacks it into the
//! target directory. Real `pg_basebackup` speaks a richer protocol and is not
//! supported.
//!
//! Not done: tablespaces (`tablespace_map` is always empty), backup history
//! files (`*.backup` in the archive), backup manifests, throttling,
//! progress reports, forcing full-page writes while a backup runs (the
//! server must run with `full_page_writes = on`, the default; a backup
//! started with it off is refused).

pub mod client;
pub mod tar;
pub mod walsender;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::storage::control::ControlFile;
use crate::storage::types::{Lsn, WAL_SEGMENT_SIZE, Xid};
use crate::storage::wal::{self, RmgrId, XLOG_BACKUP_END};
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// PostgreSQL's `MAXPGPATH`-bounded label.
const MAX_LABEL_LEN: usize = 1024;

/// What `backup_label` says (PostgreSQL 15's format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupLabel {
    /// START WAL LOCATION: the checkpoint's redo point.
    pub start_lsn: Lsn,
    /// CHECKPOINT LOCATION: the checkpoint record.
    pub checkpoint_lsn: Lsn,
    /// START TIME as written (`2026-01-05 12:00:00 UTC`).
    pub start_time: String,
    pub label: String,
    pub timeline: u32,
}

impl BackupLabel {
    /// The file's contents, as `pg_backup_stop()` returns them.
    pub fn to_file(&self) -> String {
        format!(
            "START WAL LOCATION: {} (file {})\nCHECKPOINT LOCATION: {}\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: {}\nLABEL: {}\nSTART TIMELINE: {}\n",
            self.start_lsn,
            wal::segment_name(self.start_lsn),
            self.checkpoint_lsn,
            self.start_time,
            self.label,
            self.timeline
        )
    }

    /// Reads a `backup_label` file's contents (PostgreSQL's
    /// `read_backup_label`). Err names what is wrong.
    pub fn parse(text: &str) -> Result<BackupLabel, String> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let invalid = || "invalid data in file \"backup_label\"".to_string();
        let start = field("START WAL LOCATION:").ok_or_else(invalid)?;
        let start_lsn =
            parse_lsn(start.split_whitespace().next().unwrap_or("")).ok_or_else(invalid)?;
        let checkpoint_lsn = field("CHECKPOINT LOCATION:")
            .and_then(|v| parse_lsn(&v))
            .ok_or_else(invalid)?;
        Ok(BackupLabel {
            start_lsn,
            checkpoint_lsn,
            start_time: field("START TIME:").unwrap_or_default(),
            label: field("LABEL:").unwrap_or_default(),
            timeline: field("START TIMELINE:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
        })
    }
}

/// `X/Y` in hex, as pg_lsn's input.
pub fn parse_lsn(s: &str) -> Option<Lsn> {
    let (hi, lo) = s.trim().split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    if hi > u32::MAX as u64 || lo > u32::MAX as u64 {
        return None;
    }
    Some(Lsn(hi << 32 | lo))
}

fn now_label_time() -> String {
    crate::utils::time::format_unix_seconds(crate::utils::time::now_unix().0)
}

/// `do_pg_backup_start`: checkpoint, then register the backup. The caller
/// must call [`stop_backup`] or [`abort_backup`] afterwards.
pub fn start_backup(
    label: &str,
    check_interrupts: &mut dyn FnMut() -> PgResult<()>,
) -> PgResult<BackupLabel> {
    if label.len() > MAX_LABEL_LEN {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("backup label too long (max {MAX_LABEL_LEN} bytes)"),
        ));
    }
    if label.contains('\n') {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "backup label must not contain a newline",
        ));
    }
    if !wal::is_insert_ready() {
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "recovery is in progress",
        )
        .with_hint("WAL control functions cannot be executed during recovery."));
    }
    // Every checkpoint we could request is immediate: `fast` only matters
    // to PostgreSQL's spread checkpoints.
    crate::bgproc::checkpointer::request_checkpoint(check_interrupts)?;
    let cf = ControlFile::read(wal::data_dir()).map_err(|e| {
        PgError::error(
            sqlstate::IO_ERROR,
            format!("could not read file \"global/pg_control\": {e}"),
        )
    })?;
    if !cf.checkpoint_copy.full_page_writes {
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "WAL generated with full_page_writes=off was replayed since last restartpoint",
        )
        .with_hint("ferrogres needs full_page_writes = on for online backups."));
    }
    let start_lsn = cf.checkpoint_copy.redo;
    wal::register_backup(start_lsn);
    Ok(BackupLabel {
        start_lsn,
        checkpoint_lsn: cf.checkpoint,
        start_time: now_label_time(),
        label: label.to_string(),
        timeline: crate::storage::wal::file::TIMELINE,
    })
}

/// A started backup that will not be stopped (its session ended).
pub fn abort_backup() {
    wal::unregister_backup();
}

/// `do_pg_backup_stop`: writes `XLOG_BACKUP_END`, switches segment so that
/// the WAL the backup needs is complete, unregisters the backup. With
/// `wait_for_archive` and archiving on, waits until the last segment needed
/// is archived; `notice` receives PostgreSQL's NOTICE/WARNING messages.
/// Returns the stop LSN (just past the backup-end record).
pub fn stop_backup(
    started: &BackupLabel,
    wait_for_archive: bool,
    notice: &mut dyn FnMut(PgError),
    check_interrupts: &mut dyn FnMut() -> PgResult<()>,
) -> PgResult<Lsn> {
    let (_, stop) = wal::insert_with_start(
        RmgrId::Xlog,
        XLOG_BACKUP_END,
        Xid::INVALID,
        &started.start_lsn.0.to_le_bytes(),
        &[],
    );
    let switched = wal::switch_segment();
    wal::unregister_backup();
    switched.map_err(|e| {
        PgError::error(
            sqlstate::IO_ERROR,
            format!("could not switch WAL segment: {e}"),
        )
    })?;
    if !wait_for_archive {
        return Ok(stop);
    }
    if !wal::archive_mode() {
        notice(PgError::new(
            Severity::Notice,
            sqlstate::SUCCESSFUL_COMPLETION,
            "WAL archiving is not enabled; you must ensure that all required WAL segments are copied through other means to complete the backup",
        ));
        return Ok(stop);
    }
    // The last segment needed: the one holding the stop point's last byte.
    let last = wal::walfile_name(stop);
    let status = wal::data_dir().join("pg_wal/archive_status");
    let t0 = Instant::now();
    let mut next_warning = 60u64;
    loop {
        let done = status.join(format!("{last}.done")).exists();
        let ready = status.join(format!("{last}.ready")).exists();
        if done || !ready && !wal::data_dir().join("pg_wal").join(&last).exists() {
            break;
        }
        check_interrupts()?;
        wal::wake_archiver();
        std::thread::sleep(Duration::from_millis(100));
        let waited = t0.elapsed().as_secs();
        if waited >= next_warning {
            notice(
                PgError::new(
                    Severity::Warning,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    format!(
                        "still waiting for all required WAL segments to be archived ({waited} seconds elapsed)"
                    ),
                )
                .with_hint("Check that your archive_command is executing properly.  You can safely cancel this backup, but the database backup will not be usable without all the WAL segments."),
            );
            next_warning *= 2;
        }
    }
    notice(PgError::new(
        Severity::Notice,
        sqlstate::SUCCESSFUL_COMPLETION,
        "all required WAL segments have been archived",
    ));
    Ok(stop)
}

/// The segment numbers holding WAL from `start` up to (not including) `stop`.
pub fn wal_segments(start: Lsn, stop: Lsn) -> std::ops::RangeInclusive<u64> {
    let first = start.0 / WAL_SEGMENT_SIZE;
    let last = stop.0.saturating_sub(1) / WAL_SEGMENT_SIZE;
    first..=last.max(first)
}

// ---------------------------------------------------------------------------
// The SQL functions' session state (non-exclusive backups, PostgreSQL 15)
// ---------------------------------------------------------------------------

/// The backup this backend started with `pg_backup_start` (one process per
/// session, so a process-wide slot is the session's).
static SESSION_BACKUP: Mutex<Option<BackupLabel>> = Mutex::new(None);

/// `pg_backup_start(label, fast)`: returns the start LSN.
pub fn session_backup_start(
    label: &str,
    check_interrupts: &mut dyn FnMut() -> PgResult<()>,
) -> PgResult<Lsn> {
    let mut slot = SESSION_BACKUP.lock().unwrap_or_else(|e| e.into_inner());
    if slot.is_some() {
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "a backup is already in progress in this session",
        ));
    }
    let started = start_backup(label, check_interrupts)?;
    let lsn = started.start_lsn;
    *slot = Some(started);
    Ok(lsn)
}

/// `pg_backup_stop(wait_for_archive)`: (stop LSN, backup_label contents,
/// tablespace_map contents).
pub fn session_backup_stop(
    wait_for_archive: bool,
    notice: &mut dyn FnMut(PgError),
    check_interrupts: &mut dyn FnMut() -> PgResult<()>,
) -> PgResult<(Lsn, String, String)> {
    let started = SESSION_BACKUP
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| {
            PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "backup is not in progress",
            )
            .with_hint("Did you call pg_backup_start()?")
        })?;
    let stop = stop_backup(&started, wait_for_archive, notice, check_interrupts)?;
    Ok((stop, started.to_file(), String::new()))
}

/// The session ends with a backup still running (PostgreSQL's
/// `do_pg_abort_backup` from `before_shmem_exit`).
pub fn abort_session_backup() {
    let taken = SESSION_BACKUP
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if taken.is_some() {
        abort_backup();
        crate::utils::elog::log(
            Severity::Warning,
            "aborting backup due to backend exiting before pg_backup_stop was called",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_label_has_postgresql_15_format_and_parses_back() {
        let l = BackupLabel {
            start_lsn: Lsn(0x2000028),
            checkpoint_lsn: Lsn(0x2000060),
            start_time: "2026-01-05 12:00:00 UTC".into(),
            label: "nightly".into(),
            timeline: 1,
        };
        let text = l.to_file();
        assert_eq!(
            text,
            "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
             CHECKPOINT LOCATION: 0/2000060\n\
             BACKUP METHOD: streamed\n\
             BACKUP FROM: primary\n\
             START TIME: 2026-01-05 12:00:00 UTC\n\
             LABEL: nightly\n\
             START TIMELINE: 1\n"
        );
        assert_eq!(BackupLabel::parse(&text), Ok(l));
        assert!(BackupLabel::parse("LABEL: x\n").is_err());
    }

    #[test]
    fn wal_segments_cover_start_to_stop() {
        let seg = WAL_SEGMENT_SIZE;
        assert_eq!(wal_segments(Lsn(2 * seg + 40), Lsn(2 * seg + 100)), 2..=2);
        assert_eq!(wal_segments(Lsn(2 * seg + 40), Lsn(4 * seg)), 2..=3);
        assert_eq!(wal_segments(Lsn(2 * seg + 40), Lsn(4 * seg + 8)), 2..=4);
    }
}
