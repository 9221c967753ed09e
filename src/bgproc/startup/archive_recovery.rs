//! Archive recovery and point-in-time recovery (PostgreSQL's
//! `xlogrecovery.c`: `readRecoverySignalFile`, `validateRecoveryParameters`,
//! `RestoreArchivedFile`, `recoveryStopsBefore` / `recoveryStopsAfter`).
//!
//! Requested by `recovery.signal` in the data directory. Then:
//! - every WAL segment is first asked of `restore_command` (`%f` the file
//!   name, `%p` = `pg_wal/RECOVERYXLOG`), the copy renamed into `pg_wal`
//!   under its own name; when the command fails the file already in
//!   `pg_wal` (if any) is read instead, as PostgreSQL does;
//! - replay stops at the recovery target, if one is set
//!   (`recovery_target_time`, `recovery_target_lsn`,
//!   `recovery_target = 'immediate'`), with `recovery_target_inclusive`;
//! - `recovery_target_action`: `promote` opens the server; `pause` and
//!   `shutdown` stop the server at the target (ferrogres has no hot
//!   standby, and PostgreSQL's `pause` without `hot_standby` is `shutdown`).
//!
//! `standby.signal` (standby mode) is not supported.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::postmaster::ServerEnv;
use crate::sql::adt::datetime::{self, TimeZone};
use crate::storage::types::{Lsn, WAL_SEGMENT_SIZE};
use crate::storage::wal::{DecodedRecord, RmgrId};
use crate::storage::xact::{XLOG_XACT_ABORT, XLOG_XACT_COMMIT, XactRecord};
use crate::utils::elog::{self, Severity};
use crate::utils::time::TimestampTz;

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Time(TimestampTz),
    Lsn(Lsn),
    Immediate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Promote,
    /// `pause` (no hot standby) and `shutdown`.
    Shutdown,
}

pub struct ArchiveRecovery {
    pub target: Option<Target>,
    pub inclusive: bool,
    pub action: Action,
    /// For the times in log lines (`log_timezone`).
    log_tz: TimeZone,
    restorer: Rc<RefCell<Restorer>>,
}

/// Runs `restore_command`, once per segment name.
struct Restorer {
    data_dir: PathBuf,
    command: String,
    tried: HashSet<String>,
}

impl ArchiveRecovery {
    /// None without `recovery.signal`; Err for settings PostgreSQL refuses.
    pub fn from_env(env: &ServerEnv) -> Result<Option<ArchiveRecovery>, String> {
        if env.data_dir.join("standby.signal").exists() {
            return Err("standby mode is not supported by ferrogres (standby.signal)".into());
        }
        if !env.data_dir.join("recovery.signal").exists() {
            return Ok(None);
        }
        let s = &env.settings;
        let command = s.get_str("restore_command");
        if command.is_empty() {
            return Err("must specify restore_command when standby mode is not enabled".into());
        }
        let tz = TimeZone::parse(&s.get_str("TimeZone")).unwrap_or_default();
        let mut targets = Vec::new();
        let time = s.get_str("recovery_target_time");
        if !time.is_empty() {
            let ts = datetime::timestamptz_in(&time, &tz, crate::utils::time::now_timestamptz())
                .map_err(|_| {
                    format!("invalid value for parameter \"recovery_target_time\": \"{time}\"")
                })?;
            targets.push(Target::Time(ts));
        }
        let lsn = s.get_str("recovery_target_lsn");
        if !lsn.is_empty() {
            let l = crate::backup::parse_lsn(&lsn).ok_or_else(|| {
                format!("invalid value for parameter \"recovery_target_lsn\": \"{lsn}\"")
            })?;
            targets.push(Target::Lsn(l));
        }
        if s.get_str("recovery_target") == "immediate" {
            targets.push(Target::Immediate);
        }
        for unsupported in ["recovery_target_xid", "recovery_target_name"] {
            if !s.get_str(unsupported).is_empty() {
                return Err(format!("{unsupported} is not supported by ferrogres"));
            }
        }
        if targets.len() > 1 {
            return Err("multiple recovery targets specified".into());
        }
        let action = match s.get_str("recovery_target_action").as_str() {
            "promote" => Action::Promote,
            _ => Action::Shutdown,
        };
        Ok(Some(ArchiveRecovery {
            target: targets.pop(),
            inclusive: s.get_bool("recovery_target_inclusive"),
            action,
            log_tz: TimeZone::parse(&s.get_str("log_timezone")).unwrap_or_default(),
            restorer: Rc::new(RefCell::new(Restorer {
                data_dir: env.data_dir.clone(),
                command,
                tried: HashSet::new(),
            })),
        }))
    }

    pub fn format_time(&self, ts: TimestampTz) -> String {
        datetime::timestamptz_out(ts, &self.log_tz)
    }

    /// PostgreSQL's opening line of archive recovery.
    pub fn starting_message(&self) -> String {
        match &self.target {
            None => "starting archive recovery".into(),
            Some(Target::Time(ts)) => {
                format!(
                    "starting point-in-time recovery to {}",
                    self.format_time(*ts)
                )
            }
            Some(Target::Lsn(l)) => {
                format!("starting point-in-time recovery to WAL location (LSN) \"{l}\"")
            }
            Some(Target::Immediate) => {
                "starting point-in-time recovery to earliest consistent point".into()
            }
        }
    }

    /// The closure a `WalReader` calls before reading a segment.
    pub fn fetcher(&self) -> Box<dyn FnMut(&str)> {
        let r = self.restorer.clone();
        Box::new(move |name: &str| {
            r.borrow_mut().restore(name);
        })
    }

    /// `recoveryStopsBefore`: Some(log line) if replay must stop before `rec`.
    pub fn stops_before(&self, rec: &DecodedRecord) -> Option<String> {
        match &self.target {
            Some(Target::Lsn(l)) if !self.inclusive && rec.lsn >= *l => Some(format!(
                "recovery stopping before WAL location (LSN) \"{l}\""
            )),
            Some(Target::Time(target)) => {
                let (kind, x) = xact_end(rec)?;
                let stop = if self.inclusive {
                    x.timestamp > *target
                } else {
                    x.timestamp >= *target
                };
                stop.then(|| {
                    format!(
                        "recovery stopping before {kind} of transaction {}, time {}",
                        x.xid,
                        self.format_time(x.timestamp)
                    )
                })
            }
            _ => None,
        }
    }

    /// `recoveryStopsAfter`: Some(log line) if replay must stop after `rec`
    /// (just replayed). `consistent`: the backup end has been reached.
    pub fn stops_after(&self, rec: &DecodedRecord, consistent: bool) -> Option<String> {
        match &self.target {
            Some(Target::Lsn(l)) if self.inclusive && rec.lsn >= *l => Some(format!(
                "recovery stopping after WAL location (LSN) \"{l}\""
            )),
            Some(Target::Immediate) if consistent => {
                Some("recovery stopping after reaching consistency".into())
            }
            _ => None,
        }
    }
}

/// A commit or abort record: ("commit" | "abort", its contents).
pub fn xact_end(rec: &DecodedRecord) -> Option<(&'static str, XactRecord)> {
    if rec.rmgr != RmgrId::Xact {
        return None;
    }
    let kind = match rec.info & 0x70 {
        XLOG_XACT_COMMIT => "commit",
        XLOG_XACT_ABORT => "abort",
        _ => return None,
    };
    Some((kind, XactRecord::decode(&rec.main_data)?))
}

impl Restorer {
    /// PostgreSQL's `RestoreArchivedFile`: runs restore_command into
    /// `pg_wal/RECOVERYXLOG`, checks the size, renames it to `name`.
    fn restore(&mut self, name: &str) -> bool {
        if !self.tried.insert(name.to_string()) {
            return false;
        }
        let wal_dir = self.data_dir.join("pg_wal");
        let tmp = wal_dir.join("RECOVERYXLOG");
        let _ = std::fs::remove_file(&tmp);
        let cmd =
            crate::bgproc::archiver::expand_command(&self.command, "pg_wal/RECOVERYXLOG", name);
        elog::log(
            Severity::Debug3,
            &format!("executing restore command \"{cmd}\""),
        );
        let status = crate::bgproc::archiver::run_shell(&self.data_dir, &cmd);
        match status {
            Ok(st) if st.success() => {}
            Ok(st) => {
                elog::log(
                    Severity::Debug2,
                    &format!("could not restore file \"{name}\" from archive: {st}"),
                );
                let _ = std::fs::remove_file(&tmp);
                return false;
            }
            Err(e) => {
                elog::log(
                    Severity::Log,
                    &format!("could not execute restore command \"{cmd}\": {e}"),
                );
                return false;
            }
        }
        match std::fs::metadata(&tmp) {
            Ok(m) if m.len() == WAL_SEGMENT_SIZE => {}
            Ok(m) => {
                elog::log(
                    Severity::Log,
                    &format!(
                        "archive file \"{name}\" has wrong size: {} instead of {WAL_SEGMENT_SIZE}",
                        m.len()
                    ),
                );
                let _ = std::fs::remove_file(&tmp);
                return false;
            }
            Err(e) => {
                elog::log(
                    Severity::Log,
                    &format!("could not stat file \"{}\": {e}", tmp.display()),
                );
                return false;
            }
        }
        if let Err(e) = std::fs::rename(&tmp, wal_dir.join(name)) {
            elog::log(
                Severity::Log,
                &format!("could not rename file \"pg_wal/RECOVERYXLOG\" to \"pg_wal/{name}\": {e}"),
            );
            return false;
        }
        super::super::log(&format!("restored log file \"{name}\" from archive"));
        true
    }
}

/// Ends the WAL at `end` (PostgreSQL switches to a new timeline instead; see
/// the module doc of `startup`): zeroes the rest of `end`'s segment and
/// removes every later segment of `pg_wal`, so that nothing written after
/// the recovery stop point can ever be read as following the records the
/// promoted server writes next.
pub fn truncate_wal_after(data_dir: &Path, end: Lsn) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let seg = WAL_SEGMENT_SIZE;
    let wal_dir = data_dir.join("pg_wal");
    let end_segno = end.0 / seg;
    let mut names = Vec::new();
    for e in std::fs::read_dir(&wal_dir)? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if let Some((_, segno)) = crate::storage::wal::file::parse_segment_name(&name, seg) {
            names.push((segno, name));
        }
    }
    for (segno, name) in names {
        let path = wal_dir.join(&name);
        if segno > end_segno || (segno == end_segno && end.0 % seg == 0) {
            std::fs::remove_file(&path)?;
            let _ =
                std::fs::remove_file(wal_dir.join("archive_status").join(format!("{name}.ready")));
            let _ =
                std::fs::remove_file(wal_dir.join("archive_status").join(format!("{name}.done")));
        } else if segno == end_segno {
            let f = std::fs::OpenOptions::new().write(true).open(&path)?;
            let zeros = vec![0u8; 1 << 20];
            let mut off = end.0 % seg;
            while off < seg {
                let n = ((seg - off) as usize).min(zeros.len());
                f.write_all_at(&zeros[..n], off)?;
                off += n as u64;
            }
            f.sync_all()?;
        }
    }
    crate::storage::wal::file::fsync_dir(&wal_dir)
}
