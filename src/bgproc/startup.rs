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
//! Redo routines are idempotent: a page change is applied only when the
//! page's LSN is older than the record (the buffer manager's rule), and
//! commit status is simply set again, so a crash during recovery is
//! followed by the same replay.

use crate::postmaster::ServerEnv;
use crate::storage::control::{ControlFile, DbState};
use crate::storage::wal::{self, DecodedRecord, RmgrId, WalReader};
use crate::storage::xact;
use crate::utils::elog::{self, Severity};

pub fn main(env: ServerEnv) -> ! {
    match startup(&env) {
        Ok(()) => crate::process::proc_exit(0),
        Err(msg) => {
            elog::log(Severity::Fatal, &msg);
            crate::process::proc_exit(1)
        }
    }
}

fn startup(env: &ServerEnv) -> Result<(), String> {
    let cf = ControlFile::read(&env.data_dir).map_err(|e| format!("could not read file \"global/pg_control\": {e}"))?;
    let when = crate::utils::time::format_unix_seconds(cf.time_s);
    let crashed = !matches!(cf.state, DbState::Shutdowned | DbState::ShutdownedInRecovery);
    match cf.state {
        DbState::Shutdowned => super::log(&format!("database system was shut down at {when}")),
        DbState::ShutdownedInRecovery => super::log(&format!("database system was shut down in recovery at {when}")),
        DbState::InCrashRecovery => {
            super::log(&format!("database system was interrupted while in recovery at {when}"));
        }
        _ => super::log(&format!("database system was interrupted; last known up at {when}")),
    }

    // The checkpoint record itself must be readable.
    let mut reader = WalReader::new(&env.data_dir, cf.checkpoint);
    reader.expect_system_identifier(cf.system_identifier);
    match reader.next_record() {
        Ok(Some(rec)) if rec.rmgr == RmgrId::Xlog => {}
        Ok(_) => return Err(format!("could not locate a valid checkpoint record at {}", cf.checkpoint)),
        Err(e) => return Err(format!("could not read checkpoint record at {}: {e}", cf.checkpoint)),
    }
    let checkpoint = &cf.checkpoint_copy;
    xact::set_next_xid(checkpoint.next_xid);
    crate::catalog::oid::advance_next_oid(checkpoint.next_oid);

    if crashed {
        super::log("database system was not properly shut down; automatic recovery in progress");
        ControlFile::update_state(&env.data_dir, DbState::InCrashRecovery).map_err(|e| format!("could not write control file: {e}"))?;
    }
    let mut reader = WalReader::new(&env.data_dir, checkpoint.redo);
    reader.expect_system_identifier(cf.system_identifier);
    let started = std::time::Instant::now();
    let mut replayed = 0u64;
    let mut last_lsn = None;
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => return Err(format!("could not read WAL during recovery: {e}")),
        };
        // Records at or before the checkpoint record describe changes the
        // checkpoint already made durable only if they precede the redo
        // point; every record from redo on is replayed.
        if rec.lsn >= cf.checkpoint && rec.rmgr == RmgrId::Xlog {
            continue;
        }
        if replayed == 0 && crashed {
            super::log(&format!("redo starts at {}", rec.lsn));
        }
        crate::process::title::set_title(&format!("ferrogres: startup recovering {}", wal::segment_name(rec.lsn)));
        redo(&rec);
        replayed += 1;
        last_lsn = Some(rec.lsn);
    }
    if crashed {
        if let Some(reason) = reader.end_reason() {
            super::log(reason);
        }
        match last_lsn {
            Some(lsn) => {
                let e = started.elapsed().as_secs_f64();
                super::log(&format!("redo done at {lsn} system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: {e:.2} s"));
            }
            None => super::log("redo is not required"),
        }
    }
    wal::init_insert_position(reader.end_of_wal(), reader.last_record())
        .map_err(|e| format!("could not prepare WAL for writing at {}: {e}", reader.end_of_wal()))?;
    wal::set_redo_pointer(checkpoint.redo);
    ControlFile::update_state(&env.data_dir, DbState::InProduction).map_err(|e| format!("could not write control file: {e}"))?;
    Ok(())
}

/// Hands a record to its resource manager (PostgreSQL's `RmgrTable[].rm_redo`).
fn redo(rec: &DecodedRecord) {
    if rec.xid.is_valid() {
        xact::advance_next_xid_past(rec.xid);
    }
    match rec.rmgr {
        RmgrId::Xact => xact::xact_redo(rec.info, &rec.main_data),
        RmgrId::Clog => xact::clog_redo(rec.info, &rec.main_data),
        RmgrId::Heap | RmgrId::Storage => crate::storage::heap::access::heap_redo(rec),
        RmgrId::Xlog if rec.info == wal::XLOG_NEXTOID => crate::catalog::oid::nextoid_redo(&rec.main_data),
        _ => {}
    }
}
