//! The startup process (PostgreSQL's `startup.c` + `StartupXLOG`): runs
//! before the server opens.
//!
//! 1. Read `global/pg_control` and report how the cluster was left.
//! 2. Read the checkpoint record it points to, then replay every WAL record
//!    from that checkpoint's redo point to the end of valid WAL, handing
//!    each to its resource manager's redo routine. A torn or zeroed tail is
//!    the normal end of WAL after a crash: it is logged and replay stops.
//! 3. Set the WAL insert position to the end of replayed WAL, the redo
//!    pointer to the checkpoint's, and the next transaction id past every
//!    replayed one; mark the cluster "in production" and exit 0, which tells
//!    the postmaster to open. A non-zero exit stops the server ("aborting
//!    startup due to startup process failure").
//!
//! # Archive recovery, backups and point-in-time recovery
//! With `recovery.signal` in the data directory the startup process does
//! archive recovery (`archive_recovery.rs`): each segment is fetched with
//! `restore_command` before `pg_wal` is tried, and replay stops at the
//! recovery target. With `backup_label` (a base backup), replay starts from
//! the label's CHECKPOINT LOCATION instead of pg_control's, and may not end
//! before the backup's `XLOG_BACKUP_END` record ("consistent recovery state
//! reached"). After archive recovery the startup process requests an
//! end-of-recovery checkpoint, renames `backup_label` to `backup_label.old`,
//! removes `recovery.signal`, logs `archive recovery complete` and exits 0.
//!
//! **Timelines.** PostgreSQL switches to a new timeline at the end of archive
//! recovery, so that WAL written after promotion never mixes with the
//! abandoned WAL after the stop point. ferrogres keeps timeline 1 (the WAL
//! code writes only timeline 1): instead, when replay stops at a target, the
//! WAL after the last replayed record is cut off — the rest of that segment
//! is zeroed and later segments in `pg_wal` are removed — and inserts
//! continue right after the last replayed record. The price: the promoted
//! server's segments have the same names as the original server's, so the
//! two must not archive into the same archive (PostgreSQL's `.history`
//! files and timeline-prefixed names are what avoid that there).
//!
//! Redo routines are idempotent: a page change is applied only when the
//! page's LSN is older than the record (the buffer manager's rule), and
//! commit status is simply set again, so a crash during recovery is
//! followed by the same replay.

mod archive_recovery;

use archive_recovery::{Action, ArchiveRecovery};

use crate::postmaster::ServerEnv;
use crate::storage::control::{ControlFile, DbState};
use crate::storage::types::Lsn;
use crate::storage::wal::{self, CheckPoint, DecodedRecord, RmgrId, WalReader};
use crate::storage::xact;
use crate::utils::elog::{self, Severity};

pub fn main(env: ServerEnv) -> ! {
    match startup(&env) {
        Ok(Exit::Open) => crate::process::proc_exit(0),
        Ok(Exit::ShutdownAtTarget) => crate::process::proc_exit(EXIT_SHUTDOWN_AT_TARGET),
        Err(msg) => {
            elog::log(Severity::Fatal, &msg);
            crate::process::proc_exit(1)
        }
    }
}

fn startup(env: &ServerEnv) -> Result<Exit, String> {
    let cf = ControlFile::read(&env.data_dir)
        .map_err(|e| crate::storage::control::read_error(&e).message)?;
    if cf.catalog_version_no != crate::catalog::CATALOG_VERSION_NO {
        // PostgreSQL's ReadControlFile: the catalogs on disk have another
        // layout than the one this server reads. Nothing is touched.
        let e = elog::PgError::fatal(
            crate::utils::elog::sqlstate::INTERNAL_ERROR,
            "database files are incompatible with server",
        )
        .with_detail(format!(
            "The database cluster was initialized with CATALOG_VERSION_NO {}, but the server \
             was compiled with CATALOG_VERSION_NO {}.",
            cf.catalog_version_no,
            crate::catalog::CATALOG_VERSION_NO
        ))
        .with_hint("It looks like you need to initdb.");
        elog::log_error(&e, None);
        crate::process::proc_exit(1);
    }
    let when = crate::utils::time::format_unix_seconds(cf.time_s);
    let crashed = !matches!(
        cf.state,
        DbState::Shutdowned | DbState::ShutdownedInRecovery
    );
    match cf.state {
        DbState::Shutdowned => super::log(&format!("database system was shut down at {when}")),
        DbState::ShutdownedInRecovery => super::log(&format!(
            "database system was shut down in recovery at {when}"
        )),
        DbState::Shutdowning => super::log(&format!(
            "database system shutdown was interrupted; last known up at {when}"
        )),
        DbState::InCrashRecovery => {
            super::log(&format!(
                "database system was interrupted while in recovery at {when}"
            ));
        }
        DbState::InArchiveRecovery => super::log(&format!(
            "database system was interrupted while in recovery at log time {when}"
        )),
        _ => super::log(&format!(
            "database system was interrupted; last known up at {when}"
        )),
    }

    let archive = ArchiveRecovery::from_env(env)?;
    let label_path = env.data_dir.join("backup_label");
    let label = match std::fs::read_to_string(&label_path) {
        Ok(text) => Some(crate::backup::BackupLabel::parse(&text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("could not read file \"backup_label\": {e}")),
    };
    if let Some(a) = &archive {
        super::log(&a.starting_message());
    }
    let new_reader = |start| {
        let mut r = WalReader::new(&env.data_dir, start);
        r.expect_system_identifier(cf.system_identifier);
        if let Some(a) = &archive {
            r.set_restore(a.fetcher());
        }
        r
    };

    // The checkpoint record itself must be readable: backup_label's when
    // there is one (pg_control was copied later and may point past it).
    let checkpoint_lsn = label.as_ref().map_or(cf.checkpoint, |l| l.checkpoint_lsn);
    let mut reader = new_reader(checkpoint_lsn);
    let checkpoint: CheckPoint = match reader.next_record() {
        Ok(Some(rec))
            if rec.rmgr == RmgrId::Xlog
                && matches!(
                    rec.info,
                    wal::XLOG_CHECKPOINT_ONLINE | wal::XLOG_CHECKPOINT_SHUTDOWN
                ) =>
        {
            if label.is_some() {
                CheckPoint::decode(&rec.main_data)
                    .ok_or_else(|| format!("invalid checkpoint record at {checkpoint_lsn}"))?
            } else {
                cf.checkpoint_copy.clone()
            }
        }
        Ok(_) if label.is_some() => {
            return Err(format!(
                "could not locate required checkpoint record at {checkpoint_lsn}"
            ));
        }
        Ok(_) => {
            return Err(format!(
                "could not locate a valid checkpoint record at {checkpoint_lsn}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "could not read checkpoint record at {checkpoint_lsn}: {e}"
            ));
        }
    };
    drop(reader);
    xact::set_next_xid(checkpoint.next_xid);
    crate::catalog::oid::advance_next_oid(checkpoint.next_oid);

    // Replay is logged as PostgreSQL logs it whenever it is more than a
    // clean restart.
    let recovering = crashed || archive.is_some() || label.is_some();
    if archive.is_some() {
        ControlFile::update_state(&env.data_dir, DbState::InArchiveRecovery)
            .map_err(|e| e.message)?;
    } else if recovering {
        super::log("database system was not properly shut down; automatic recovery in progress");
        ControlFile::update_state(&env.data_dir, DbState::InCrashRecovery)
            .map_err(|e| e.message)?;
    }
    let mut reader = new_reader(checkpoint.redo);
    let started = std::time::Instant::now();
    let mut replayed = 0u64;
    let mut last_lsn = None;
    // The last record read and accepted (replayed or skipped): where the
    // WAL ends if replay stops at a target.
    let mut last_read: Option<(Lsn, Lsn)> = None;
    // A backup copy is consistent once its XLOG_BACKUP_END is replayed.
    let mut consistent = label.is_none();
    let mut last_xact_time = None;
    let mut stopped: Option<String> = None;
    let mut title_segment = String::new();
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => return Err(format!("could not read WAL during recovery: {e}")),
        };
        if let Some(a) = &archive
            && let Some(msg) = a.stops_before(&rec)
        {
            stopped = Some(msg);
            break;
        }
        last_read = Some((rec.lsn, rec.end_lsn));
        // Checkpoint records from the starting checkpoint on have nothing
        // to redo; every other record from the redo point on is replayed.
        if rec.lsn >= checkpoint_lsn
            && rec.rmgr == RmgrId::Xlog
            && matches!(
                rec.info,
                wal::XLOG_CHECKPOINT_ONLINE | wal::XLOG_CHECKPOINT_SHUTDOWN
            )
        {
            continue;
        }
        if replayed == 0 && recovering {
            super::log(&format!("redo starts at {}", rec.lsn));
        }
        let segment = wal::segment_name(rec.lsn);
        if segment != title_segment {
            crate::process::title::set_title(&format!("ferrogres: startup recovering {segment}"));
            title_segment = segment;
        }
        redo(&rec);
        replayed += 1;
        last_lsn = Some(rec.lsn);
        if let Some((_, x)) = archive_recovery::xact_end(&rec) {
            last_xact_time = Some(x.timestamp);
        }
        if !consistent
            && rec.rmgr == RmgrId::Xlog
            && rec.info == wal::XLOG_BACKUP_END
            && rec
                .main_data
                .get(..8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                == label.as_ref().map(|l| l.start_lsn.0)
        {
            consistent = true;
            super::log(&format!(
                "consistent recovery state reached at {}",
                rec.end_lsn
            ));
        }
        if let Some(a) = &archive
            && let Some(msg) = a.stops_after(&rec, consistent)
        {
            stopped = Some(msg);
            break;
        }
    }
    if let Some(msg) = &stopped {
        super::log(msg);
    } else if recovering && let Some(reason) = reader.end_reason() {
        super::log(reason);
    }
    if !consistent {
        return Err(if stopped.is_some() {
            "requested recovery stop point is before consistent recovery point".into()
        } else {
            "WAL ends before end of online backup".into()
        });
    }
    if let Some(a) = &archive
        && a.target.is_some()
        && stopped.is_none()
    {
        return Err("recovery ended before configured recovery target was reached".into());
    }
    if recovering {
        match last_lsn {
            Some(lsn) => {
                let e = started.elapsed().as_secs_f64();
                super::log(&format!(
                    "redo done at {lsn} system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: {e:.2} s"
                ));
            }
            None => super::log("redo is not required"),
        }
    }
    if let Some(a) = &archive {
        if let Some(t) = last_xact_time {
            super::log(&format!(
                "last completed transaction was at log time {}",
                a.format_time(t)
            ));
        }
        if stopped.is_some() && a.action == Action::Shutdown {
            super::log("shutdown at recovery target");
            return Ok(Exit::ShutdownAtTarget);
        }
    }
    // Where inserts continue: after the last replayed record when replay
    // stopped at a target (the rest of the WAL is cut off: timeline 1 is
    // kept, see the module doc), else at the end of valid WAL.
    // The WAL must explain every page replay read (PostgreSQL's
    // XLogCheckInvalidPages); a page newer than the WAL only matters in
    // crash recovery (a stop at a target cuts the WAL after it).
    let newest_allowed_page_lsn = match &stopped {
        Some(_) => crate::storage::types::Lsn(u64::MAX),
        None => reader.end_of_wal(),
    };
    if let Err(e) = crate::storage::heap::redo::check_after_replay(newest_allowed_page_lsn) {
        panic!("PANIC: {e}");
    }
    let (end, prev) = match (&stopped, last_read) {
        (Some(_), Some((lsn, end))) => {
            archive_recovery::truncate_wal_after(&env.data_dir, end)
                .map_err(|e| format!("could not remove WAL after the recovery target: {e}"))?;
            (end, lsn)
        }
        _ => (reader.end_of_wal(), reader.last_record()),
    };
    wal::init_insert_position(end, prev)
        .map_err(|e| format!("could not prepare WAL for writing at {end}: {e}"))?;
    wal::set_redo_pointer(checkpoint.redo);
    ControlFile::update_state(&env.data_dir, DbState::InProduction).map_err(|e| e.message)?;
    if archive.is_some() || label.is_some() {
        // The end-of-recovery checkpoint (PostgreSQL requests it with
        // CHECKPOINT_END_OF_RECOVERY | IMMEDIATE | WAIT): pg_control then
        // points after the stop point, and a crash from here on is plain
        // crash recovery. The checkpointer runs during recovery and starts
        // as soon as the insert position is set.
        crate::bgproc::checkpointer::request_checkpoint(&mut || Ok(()))
            .map_err(|e| format!("end-of-recovery checkpoint failed: {}", e.message))?;
        if label.is_some() {
            std::fs::rename(&label_path, env.data_dir.join("backup_label.old")).map_err(|e| {
                format!("could not rename file \"backup_label\" to \"backup_label.old\": {e}")
            })?;
        }
    }
    if archive.is_some() {
        let signal = env.data_dir.join("recovery.signal");
        std::fs::remove_file(&signal)
            .map_err(|e| format!("could not remove file \"recovery.signal\": {e}"))?;
        let _ = crate::storage::wal::file::fsync_dir(&env.data_dir);
        super::log("archive recovery complete");
    }
    Ok(Exit::Open)
}

/// How the startup process ends when it succeeds.
enum Exit {
    /// Exit 0: the postmaster opens the server.
    Open,
    /// Exit 3 (PostgreSQL's code): `recovery_target_action = 'shutdown'`
    /// (or `'pause'`) reached its target; the postmaster shuts down.
    ShutdownAtTarget,
}

/// The exit code of [`Exit::ShutdownAtTarget`].
pub const EXIT_SHUTDOWN_AT_TARGET: i32 = 3;

/// Hands a record to its resource manager (PostgreSQL's `RmgrTable[].rm_redo`).
fn redo(rec: &DecodedRecord) {
    if rec.xid.is_valid() {
        xact::advance_next_xid_past(rec.xid);
    }
    match rec.rmgr {
        RmgrId::Xact => xact::xact_redo(rec.info, &rec.main_data),
        RmgrId::Clog => xact::clog_redo(rec.info, &rec.main_data),
        RmgrId::Heap | RmgrId::Storage => crate::storage::heap::access::heap_redo(rec),
        RmgrId::Sequence => crate::storage::sequence::seq_redo(rec),
        RmgrId::Btree => crate::storage::nbtree::redo::bt_redo(rec),
        RmgrId::Xlog if rec.info == wal::XLOG_NEXTOID => {
            crate::catalog::oid::nextoid_redo(&rec.main_data)
        }
        _ => {}
    }
}
