//! A replication-mode connection (PostgreSQL's `walsender.c`, reduced to
//! what `ferrogres basebackup` needs). The backend gets here after
//! authentication when the startup packet said `replication=true`.
//!
//! Commands (simple Query protocol, one per message):
//! - `IDENTIFY_SYSTEM`: one row (systemid, timeline, xlogpos, dbname).
//! - `BASE_BACKUP [LABEL 'x'] [FAST] [WAL] [NOWAIT]` (also the
//!   parenthesised PostgreSQL 15 option list): a row (recptr, tli) with the
//!   start position; CopyOutResponse; CopyData messages carrying one tar
//!   archive (see the module doc of `backup`); CopyDone; a row with the
//!   end position; CommandComplete; ReadyForQuery. WAL is always included.
//!
//! Anything else gets `42601 syntax error` for an unknown command, as a
//! walsender answers. The backup is aborted (unregistered) if the client
//! goes away midway.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::tar;
use crate::postmaster::ServerEnv;
use crate::process::{proc_exit, signals};
use crate::protocol::{Body, Connection, ReadError};
use crate::storage::types::{Lsn, WAL_SEGMENT_SIZE};
use crate::storage::wal;
use crate::utils::elog::{self, PgError, PgResult, Severity, sqlstate};

/// Top-level entries of the data directory that are not copied (PostgreSQL's
/// `excludeFiles` / `excludeDirContents`; directories in the second list are
/// sent empty).
const EXCLUDE_FILES: [&str; 6] = [
    "postmaster.pid",
    "postmaster.opts",
    "backup_label",
    "backup_label.old",
    "tablespace_map",
    "recovery.signal",
];
const EXCLUDE_DIR_CONTENTS: [&str; 5] =
    ["pg_wal", "pg_stat_tmp", "pg_replslot", "pg_notify", "log"];

/// Serves commands until the client disconnects. Never returns.
pub fn run(env: ServerEnv, mut conn: Connection) -> ! {
    ready(&mut conn);
    loop {
        if conn.flush().is_err() {
            proc_exit(0);
        }
        let bits = signals::SIGTERM_PENDING | signals::POSTMASTER_DEATH_PENDING;
        match conn.read_message(bits, None) {
            Err(ReadError::Interrupted) => {
                if signals::take(signals::SIGTERM_PENDING | signals::POSTMASTER_DEATH_PENDING) != 0
                {
                    let e = PgError::fatal(
                        sqlstate::ADMIN_SHUTDOWN,
                        "terminating connection due to administrator command",
                    );
                    elog::log_error(&e, None);
                    conn.send_raw(&crate::protocol::framed_report(&e));
                    let _ = conn.flush();
                    proc_exit(1);
                }
            }
            Err(ReadError::Eof) | Err(ReadError::TimedOut) => proc_exit(0),
            Err(ReadError::Protocol(e)) => {
                elog::log_error(&e, None);
                conn.send_raw(&crate::protocol::framed_report(&e));
                let _ = conn.flush();
                proc_exit(1);
            }
            Ok((b'X', _)) => proc_exit(0),
            Ok((b'Q', body)) => {
                let mut pos = 0;
                let text = crate::protocol::get_cstr(&body, &mut pos).unwrap_or_default();
                if let Err(e) = exec_command(&env, &mut conn, &text) {
                    if e.severity >= Severity::Fatal && e.severity != Severity::Log {
                        elog::log_error(&e, Some(&text));
                        conn.send_raw(&crate::protocol::framed_report(&e));
                        let _ = conn.flush();
                        proc_exit(1);
                    }
                    elog::log_error(&e, Some(&text));
                    conn.send_raw(&crate::protocol::framed_report(&e));
                }
                ready(&mut conn);
            }
            Ok((kind, _)) => {
                let e = PgError::fatal(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("invalid standby message type \"{}\"", kind as char),
                );
                elog::log_error(&e, None);
                conn.send_raw(&crate::protocol::framed_report(&e));
                let _ = conn.flush();
                proc_exit(1);
            }
        }
    }
}

/// CHECK_FOR_INTERRUPTS while a backup runs: SIGTERM and postmaster death
/// end the connection.
fn check_interrupts() -> PgResult<()> {
    if signals::peek(signals::SIGTERM_PENDING | signals::POSTMASTER_DEATH_PENDING) != 0 {
        return Err(PgError::fatal(
            sqlstate::ADMIN_SHUTDOWN,
            "terminating connection due to administrator command",
        ));
    }
    Ok(())
}

fn ready(conn: &mut Connection) {
    conn.send(b'Z', &Body::new().u8(b'I').0);
}

/// Sends a one-row result of text columns.
fn send_row(conn: &mut Connection, cols: &[(&str, u32)], values: &[Option<String>]) {
    let mut desc = Body::new().i16(cols.len() as i16);
    for (name, oid) in cols {
        desc = desc
            .cstr(name)
            .i32(0)
            .i16(0)
            .i32(*oid as i32)
            .i16(-1)
            .i32(-1)
            .i16(0);
    }
    conn.send(b'T', &desc.0);
    let mut row = Body::new().i16(values.len() as i16);
    for v in values {
        row = match v {
            Some(s) => row.i32(s.len() as i32).bytes(s.as_bytes()),
            None => row.i32(-1),
        };
    }
    conn.send(b'D', &row.0);
}

/// Options of BASE_BACKUP.
#[derive(Debug, Default, PartialEq)]
struct BaseBackupOptions {
    label: Option<String>,
}

fn syntax_error() -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, "syntax error")
}

/// Parses `BASE_BACKUP [ ( opt [value] [, ...] ) ]` or the old
/// `BASE_BACKUP [LABEL 'x'] [PROGRESS] [FAST] [WAL] [NOWAIT] ...` form.
fn parse_base_backup(rest: &str) -> PgResult<BaseBackupOptions> {
    let mut opts = BaseBackupOptions::default();
    let mut words: Vec<String> = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' || c == '(' || c == ')' || c == ';' {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(ch) => s.push(ch),
                    None => return Err(syntax_error()),
                }
            }
            words.push(format!("'{s}"));
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == ',' || ch == '(' || ch == ')' || ch == ';' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            words.push(s.to_ascii_uppercase());
        }
    }
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "LABEL" => {
                let v = words.get(i + 1).and_then(|w| w.strip_prefix('\''));
                opts.label = Some(v.ok_or_else(syntax_error)?.to_string());
                i += 1;
            }
            // Accepted and ignored: every checkpoint we request is
            // immediate, WAL is always included, nothing is throttled.
            "FAST" | "WAL" | "NOWAIT" | "PROGRESS" | "TABLESPACE_MAP" | "NOVERIFY_CHECKSUMS" => {}
            "CHECKPOINT" | "MAX_RATE" | "MANIFEST" | "MANIFEST_CHECKSUMS" | "TARGET" | "WAIT"
            | "VERIFY_CHECKSUMS" => {
                // An option with a value.
                if words.get(i + 1).is_some_and(|w| !is_option_word(w)) {
                    i += 1;
                }
            }
            other => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "unrecognized base backup option: \"{}\"",
                        other.trim_start_matches('\'')
                    ),
                ));
            }
        }
        i += 1;
    }
    Ok(opts)
}

fn is_option_word(w: &str) -> bool {
    matches!(
        w,
        "LABEL"
            | "FAST"
            | "WAL"
            | "NOWAIT"
            | "PROGRESS"
            | "TABLESPACE_MAP"
            | "CHECKPOINT"
            | "MAX_RATE"
            | "MANIFEST"
            | "MANIFEST_CHECKSUMS"
            | "TARGET"
            | "WAIT"
    )
}

fn exec_command(env: &ServerEnv, conn: &mut Connection, text: &str) -> PgResult<()> {
    let trimmed = text.trim().trim_end_matches(';').trim();
    let upper = trimmed.to_ascii_uppercase();
    if upper == "IDENTIFY_SYSTEM" {
        let cf = crate::storage::control::ControlFile::read(&env.data_dir)
            .map_err(|e| PgError::error(sqlstate::IO_ERROR, e.to_string()))?;
        send_row(
            conn,
            &[
                ("systemid", 25),
                ("timeline", 23),
                ("xlogpos", 25),
                ("dbname", 25),
            ],
            &[
                Some(cf.system_identifier.to_string()),
                Some(wal::file::TIMELINE.to_string()),
                Some(wal::flushed_lsn().to_string()),
                None,
            ],
        );
        conn.send(b'C', &Body::new().cstr("IDENTIFY_SYSTEM").0);
        return Ok(());
    }
    if upper.starts_with("BASE_BACKUP") {
        let opts = parse_base_backup(&trimmed["BASE_BACKUP".len()..])?;
        return base_backup(env, conn, opts.label.as_deref().unwrap_or("base backup"));
    }
    Err(PgError::error(sqlstate::SYNTAX_ERROR, "syntax error"))
}

/// Streams tar bytes as CopyData messages.
struct CopyOut<'a> {
    conn: &'a mut Connection,
}

impl CopyOut<'_> {
    fn send(&mut self, bytes: &[u8]) -> PgResult<()> {
        for chunk in bytes.chunks(64 * 1024) {
            self.conn.send(b'd', chunk);
            self.conn.maybe_flush().map_err(client_gone)?;
        }
        Ok(())
    }

    fn dir(&mut self, path: &str) -> PgResult<()> {
        let h = tar::header(&tar::Header {
            path: path.to_string(),
            size: 0,
            mode: 0o700,
            dir: true,
            mtime: crate::utils::time::now_unix().0 as u64,
        })
        .map_err(io_error)?;
        self.send(&h)
    }

    /// Sends a file as it is now: its size when opened, zero-padded if it
    /// shrank meanwhile (PostgreSQL does the same; WAL replay repairs it).
    /// A file that vanished is skipped.
    fn file(&mut self, abs: &Path, path: &str) -> PgResult<()> {
        let mut f = match File::open(abs) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(e)),
        };
        let meta = f.metadata().map_err(io_error)?;
        let size = meta.len();
        self.bytes_header(path, size)?;
        let mut left = size;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = f.read(&mut buf[..want]).map_err(io_error)?;
            if n == 0 {
                // Shrank: pad with zeros.
                buf[..want].fill(0);
                self.send(&buf[..want])?;
                left -= want as u64;
                continue;
            }
            self.send(&buf[..n])?;
            left -= n as u64;
        }
        self.send(&vec![0u8; tar::padding(size)])
    }

    fn bytes_header(&mut self, path: &str, size: u64) -> PgResult<()> {
        let h = tar::header(&tar::Header {
            path: path.to_string(),
            size,
            mode: 0o600,
            dir: false,
            mtime: crate::utils::time::now_unix().0 as u64,
        })
        .map_err(io_error)?;
        self.send(&h)
    }

    fn bytes(&mut self, path: &str, contents: &[u8]) -> PgResult<()> {
        self.bytes_header(path, contents.len() as u64)?;
        self.send(contents)?;
        self.send(&vec![0u8; tar::padding(contents.len() as u64)])
    }
}

fn io_error(e: std::io::Error) -> PgError {
    PgError::error(sqlstate::IO_ERROR, format!("could not read file: {e}"))
}

fn client_gone(_: std::io::Error) -> PgError {
    PgError::fatal(sqlstate::CONNECTION_FAILURE, "connection to client lost")
}

/// Walks the data directory (`rel` relative to it) depth first, sending
/// directories before their contents.
fn send_tree(out: &mut CopyOut<'_>, root: &Path, rel: &str) -> PgResult<()> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(e)),
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if rel.is_empty() && EXCLUDE_FILES.contains(&name.as_str()) {
            continue;
        }
        if path == "global/pg_control" || name.starts_with("pgsql_tmp") {
            continue; // pg_control goes last; temporary files never
        }
        let ft = match e.file_type() {
            Ok(t) => t,
            Err(_) => continue,
        };
        if ft.is_dir() {
            out.dir(&path)?;
            if rel.is_empty() && EXCLUDE_DIR_CONTENTS.contains(&name.as_str()) {
                if name == "pg_wal" {
                    out.dir("pg_wal/archive_status")?;
                }
                continue;
            }
            send_tree(out, root, &path)?;
        } else if ft.is_file() {
            out.file(&e.path(), &path)?;
        }
    }
    Ok(())
}

fn base_backup(env: &ServerEnv, conn: &mut Connection, label: &str) -> PgResult<()> {
    let mut interrupts = check_interrupts;
    let started = super::start_backup(label, &mut interrupts)?;
    // From here on an error must unregister the backup, unless the stop
    // (which unregisters it) already ran.
    let mut stopped = false;
    let result = stream_backup(env, conn, &started, &mut stopped);
    if result.is_err() && !stopped {
        super::abort_backup();
    }
    let stop = result?;
    send_row(
        conn,
        &[("recptr", 25), ("tli", 20)],
        &[
            Some(stop.to_string()),
            Some(wal::file::TIMELINE.to_string()),
        ],
    );
    conn.send(b'C', &Body::new().cstr("BASE_BACKUP").0);
    elog::log(
        Severity::Debug1,
        &format!(
            "base backup \"{label}\" done: {} to {stop}",
            started.start_lsn
        ),
    );
    Ok(())
}

/// Sends everything between the start and stop of the backup; returns the
/// stop LSN. The backup is stopped (unregistered) on success.
fn stream_backup(
    env: &ServerEnv,
    conn: &mut Connection,
    started: &super::BackupLabel,
    stopped: &mut bool,
) -> PgResult<Lsn> {
    send_row(
        conn,
        &[("recptr", 25), ("tli", 20)],
        &[
            Some(started.start_lsn.to_string()),
            Some(wal::file::TIMELINE.to_string()),
        ],
    );
    // CopyOutResponse: binary, no columns.
    conn.send(b'H', &Body::new().u8(1).i16(0).0);
    let mut out = CopyOut { conn };
    send_tree(&mut out, &env.data_dir, "")?;
    out.bytes("backup_label", started.to_file().as_bytes())?;
    // Stop: writes XLOG_BACKUP_END and switches segment, so that every
    // segment up to the stop point is complete on disk.
    let mut interrupts = check_interrupts;
    *stopped = true;
    let stop = super::stop_backup(started, false, &mut |_| {}, &mut interrupts)?;
    for segno in super::wal_segments(started.start_lsn, stop) {
        let name = wal::file::segment_file_name(wal::file::TIMELINE, segno, WAL_SEGMENT_SIZE);
        let abs = env.data_dir.join("pg_wal").join(&name);
        if !abs.exists() {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FILE,
                format!("requested WAL segment {name} has already been removed"),
            ));
        }
        out.file(&abs, &format!("pg_wal/{name}"))?;
    }
    out.file(&env.data_dir.join("global/pg_control"), "global/pg_control")?;
    out.send(&[0u8; 2 * tar::BLOCK])?;
    conn.send(b'c', &[]);
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_backup_options_in_both_syntaxes() {
        assert_eq!(
            parse_base_backup(" LABEL 'it''s' FAST WAL NOWAIT")
                .unwrap()
                .label
                .as_deref(),
            Some("it's")
        );
        assert_eq!(
            parse_base_backup(" (LABEL 'x', CHECKPOINT 'fast', WAIT false)")
                .unwrap()
                .label
                .as_deref(),
            Some("x")
        );
        assert!(parse_base_backup(" BOGUS").is_err());
    }
}
