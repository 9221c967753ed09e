//! Error reporting: PostgreSQL's `elog.c` in our terms.
//!
//! Two classes of failure exist (see STYLE.md). Operating errors — bad SQL, a
//! missing object, a wrong password, a broken client — travel as
//! `Result<_, PgError>`: they carry a severity, a five-character SQLSTATE and
//! PostgreSQL's message text, and end the statement (ERROR) or the session
//! (FATAL). Bugs are assertions: a panicking child aborts, and the postmaster
//! treats the abort as a crash.
//!
//! Server log lines go to stderr. When `logging_collector = on` stderr is the
//! logger's pipe; otherwise it is whatever the postmaster was started with.
//! Every line is prefixed by `log_line_prefix`, expanded by [`format_prefix`].

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// Message severities, ordered as PostgreSQL orders them for `log_min_messages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Debug5,
    Debug4,
    Debug3,
    Debug2,
    Debug1,
    Info,
    Notice,
    Warning,
    Error,
    Log,
    Fatal,
    Panic,
}

impl Severity {
    /// The word used on the wire and in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug5
            | Severity::Debug4
            | Severity::Debug3
            | Severity::Debug2
            | Severity::Debug1 => "DEBUG",
            Severity::Info => "INFO",
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Log => "LOG",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
        }
    }

    /// Parses a `log_min_messages` value.
    pub fn from_setting(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug5" => Severity::Debug5,
            "debug4" => Severity::Debug4,
            "debug3" => Severity::Debug3,
            "debug2" | "debug" => Severity::Debug2,
            "debug1" => Severity::Debug1,
            "info" => Severity::Info,
            "notice" => Severity::Notice,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            "log" => Severity::Log,
            "fatal" => Severity::Fatal,
            "panic" => Severity::Panic,
            _ => return None,
        })
    }

    /// Rank used when comparing against `log_min_messages`: LOG sits between
    /// ERROR and FATAL for the server log, as in PostgreSQL's `is_log_level_output`.
    fn log_rank(self) -> u8 {
        match self {
            Severity::Debug5 => 0,
            Severity::Debug4 => 1,
            Severity::Debug3 => 2,
            Severity::Debug2 => 3,
            Severity::Debug1 => 4,
            Severity::Info => 5,
            Severity::Notice => 6,
            Severity::Warning => 7,
            Severity::Error => 8,
            Severity::Log => 9,
            Severity::Fatal => 10,
            Severity::Panic => 11,
        }
    }
}

/// SQLSTATE codes used by ferrogres, named as in PostgreSQL's `errcodes.txt`.
pub mod sqlstate {
    pub const SUCCESSFUL_COMPLETION: &str = "00000";
    pub const WARNING: &str = "01000";
    pub const CONNECTION_FAILURE: &str = "08006";
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const CARDINALITY_VIOLATION: &str = "21000";
    pub const DATA_EXCEPTION: &str = "22000";
    pub const STRING_DATA_RIGHT_TRUNCATION: &str = "22001";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const SEQUENCE_GENERATOR_LIMIT_EXCEEDED: &str = "2200H";
    pub const GENERATED_ALWAYS: &str = "428C9";
    pub const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";
    pub const NULL_VALUE_NOT_ALLOWED: &str = "22004";
    pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
    pub const INVALID_DATETIME_FORMAT: &str = "22007";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const INVALID_BINARY_REPRESENTATION: &str = "22P03";
    pub const BAD_COPY_FILE_FORMAT: &str = "22P04";
    pub const INVALID_NAME_SYNTAX: &str = "42602";
    pub const INVALID_ESCAPE_SEQUENCE: &str = "22025";
    pub const INVALID_TRANSACTION_STATE: &str = "25000";
    pub const S_E_INVALID_SPECIFICATION: &str = "3B001";
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    pub const IDLE_IN_TRANSACTION_SESSION_TIMEOUT: &str = "25P03";
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const INVALID_CATALOG_NAME: &str = "3D000";
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const DEADLOCK_DETECTED: &str = "40P01";
    pub const SYNTAX_ERROR: &str = "42601";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const DUPLICATE_COLUMN: &str = "42701";
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    pub const INVALID_TABLE_DEFINITION: &str = "42P16";
    pub const EXTERNAL_ROUTINE_EXCEPTION: &str = "38000";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const AMBIGUOUS_FUNCTION: &str = "42725";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_PARAMETER: &str = "42P02";
    pub const INVALID_NAME: &str = "42602";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const WINDOWING_ERROR: &str = "42P20";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const INVALID_SCHEMA_NAME: &str = "3F000";
    pub const NAME_TOO_LONG: &str = "42622";
    pub const NOT_NULL_VIOLATION: &str = "23502";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const LOCK_NOT_AVAILABLE: &str = "55P03";
    pub const DATA_CORRUPTED: &str = "XX001";
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const GROUPING_ERROR: &str = "42803";
    pub const CANT_CHANGE_RUNTIME_PARAM: &str = "55P02";
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
    pub const INSUFFICIENT_RESOURCES: &str = "53000";
    pub const DISK_FULL: &str = "53100";
    pub const CONFIGURATION_LIMIT_EXCEEDED: &str = "53400";
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    pub const OUT_OF_MEMORY: &str = "53200";
    pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub const STATEMENT_TOO_COMPLEX: &str = "54001";
    pub const TOO_MANY_COLUMNS: &str = "54011";
    pub const TOO_MANY_ARGUMENTS: &str = "54023";
    pub const QUERY_CANCELED: &str = "57014";
    pub const ADMIN_SHUTDOWN: &str = "57P01";
    pub const CRASH_SHUTDOWN: &str = "57P02";
    pub const CANNOT_CONNECT_NOW: &str = "57P03";
    pub const IDLE_SESSION_TIMEOUT: &str = "57P05";
    pub const IO_ERROR: &str = "58030";
    pub const UNDEFINED_FILE: &str = "58P01";
    pub const DUPLICATE_FILE: &str = "58P02";
    pub const WRONG_OBJECT_TYPE: &str = "42809";
    pub const CONFIG_FILE_ERROR: &str = "F0000";
    pub const LOCK_FILE_EXISTS: &str = "F0001";
    pub const INTERNAL_ERROR: &str = "XX000";
}

/// An operating error (or notice) as PostgreSQL reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PgError {
    pub severity: Severity,
    pub sqlstate: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the query text, for syntax errors.
    pub position: Option<u32>,
    /// The CONTEXT line (`errcontext`), e.g. `JSON data, line 1: ...`.
    pub context: Option<String>,
}

impl PgError {
    pub fn new(severity: Severity, sqlstate: &'static str, message: impl Into<String>) -> PgError {
        PgError {
            severity,
            sqlstate,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            context: None,
        }
    }
    pub fn error(sqlstate: &'static str, message: impl Into<String>) -> PgError {
        PgError::new(Severity::Error, sqlstate, message)
    }
    pub fn fatal(sqlstate: &'static str, message: impl Into<String>) -> PgError {
        PgError::new(Severity::Fatal, sqlstate, message)
    }
    pub fn notice(message: impl Into<String>) -> PgError {
        PgError::new(Severity::Notice, sqlstate::SUCCESSFUL_COMPLETION, message)
    }
    pub fn warning(message: impl Into<String>) -> PgError {
        PgError::new(Severity::Warning, sqlstate::WARNING, message)
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> PgError {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> PgError {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_severity(mut self, severity: Severity) -> PgError {
        self.severity = severity;
        self
    }
    pub fn with_context(mut self, context: impl Into<String>) -> PgError {
        self.context = Some(context.into());
        self
    }
    pub fn with_position(mut self, position: u32) -> PgError {
        self.position = Some(position);
        self
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:  {}", self.severity.as_str(), self.message)
    }
}

impl std::error::Error for PgError {}

pub type PgResult<T> = Result<T, PgError>;

// ---------------------------------------------------------------------------
// File access errors
// ---------------------------------------------------------------------------

/// `%m`: the `strerror` text of an I/O error ("No space left on device"),
/// without Rust's " (os error 28)" suffix.
pub fn strerror(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_string(),
        None => err.to_string(),
    }
}

/// PostgreSQL 15's `errcode_for_file_access()`: the SQLSTATE of a failed
/// file operation, from its errno. A full disk is 53100 (`disk_full`).
pub fn errcode_for_file_access(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EROFS) => {
            sqlstate::INSUFFICIENT_PRIVILEGE
        }
        Some(libc::ENOENT) => sqlstate::UNDEFINED_FILE,
        Some(libc::EEXIST) => sqlstate::DUPLICATE_FILE,
        Some(libc::ENOTDIR) | Some(libc::EISDIR) | Some(libc::ENOTEMPTY) => {
            sqlstate::WRONG_OBJECT_TYPE
        }
        Some(libc::ENOSPC) => sqlstate::DISK_FULL,
        Some(libc::ENFILE) | Some(libc::EMFILE) => sqlstate::INSUFFICIENT_RESOURCES,
        Some(libc::EIO) => sqlstate::IO_ERROR,
        Some(_) => sqlstate::INTERNAL_ERROR,
        // No errno: an error built by our own code; classify by kind.
        None => match err.kind() {
            std::io::ErrorKind::NotFound => sqlstate::UNDEFINED_FILE,
            std::io::ErrorKind::AlreadyExists => sqlstate::DUPLICATE_FILE,
            std::io::ErrorKind::PermissionDenied => sqlstate::INSUFFICIENT_PRIVILEGE,
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::WriteZero => sqlstate::DISK_FULL,
            _ => sqlstate::INTERNAL_ERROR,
        },
    }
}

/// An ERROR for a failed file operation, worded as PostgreSQL's
/// `errmsg("could not write to file \"%s\": %m")`: `what` is the part
/// before the colon (`could not write to file "pg_wal/xlogtemp.123"`).
pub fn file_error(err: &std::io::Error, what: impl fmt::Display) -> PgError {
    PgError::error(
        errcode_for_file_access(err),
        format!("{what}: {}", strerror(err)),
    )
}

/// The error a `write()` that wrote fewer bytes than asked stands for:
/// PostgreSQL assumes ENOSPC when the short write set no errno.
pub fn short_write() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::ENOSPC)
}

// ---------------------------------------------------------------------------
// Server log
// ---------------------------------------------------------------------------

/// Per-process facts that `log_line_prefix` escapes refer to. Each process
/// fills in what it knows; the prefix is expanded at each log call.
#[derive(Clone, Debug, Default)]
pub struct LogContext {
    pub user: String,
    pub database: String,
    pub application_name: String,
    pub remote_host: String,
    pub remote_port: String,
    pub backend_type: String,
    /// Process start, seconds since the Unix epoch (for %c session id).
    pub session_start_s: i64,
    /// Whether this process is a client backend (%q stops the prefix otherwise).
    pub is_session: bool,
}

struct LogState {
    ctx: LogContext,
    prefix: String,
    line_no: u64,
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(7); // warning

thread_local! {
    static LOG_STATE: std::cell::RefCell<LogState> = std::cell::RefCell::new(LogState {
        ctx: LogContext::default(),
        prefix: "%m [%p] ".to_string(),
        line_no: 0,
    });
}

/// Sets `log_min_messages` for this process.
pub fn set_log_min_messages(level: Severity) {
    MIN_LEVEL.store(level.log_rank(), Ordering::Relaxed);
}

/// Sets `log_line_prefix` for this process.
pub fn set_log_line_prefix(prefix: &str) {
    LOG_STATE.with(|s| s.borrow_mut().prefix = prefix.to_string());
}

/// Replaces what this process tells `log_line_prefix` about itself.
pub fn set_log_context(ctx: LogContext) {
    LOG_STATE.with(|s| s.borrow_mut().ctx = ctx);
}

/// Updates the log context in place (for facts learned during startup).
pub fn update_log_context(f: impl FnOnce(&mut LogContext)) {
    LOG_STATE.with(|s| f(&mut s.borrow_mut().ctx));
}

/// Whether a message of this severity goes to the server log.
pub fn log_enabled(severity: Severity) -> bool {
    severity.log_rank() >= MIN_LEVEL.load(Ordering::Relaxed)
}

/// Writes one line to the server log if `log_min_messages` lets it through.
pub fn log(severity: Severity, message: &str) {
    if !log_enabled(severity) {
        return;
    }
    write_log_line(severity, message, None);
}

/// Logs an error report the way PostgreSQL does, with DETAIL and HINT lines.
pub fn log_error(err: &PgError, statement: Option<&str>) {
    if !log_enabled(err.severity) {
        return;
    }
    write_log_line(err.severity, &err.message, Some(err));
    if let Some(stmt) = statement {
        write_log_line_raw("STATEMENT", stmt);
    }
}

/// PostgreSQL's `ereport(PANIC, ...)`: logs `err` with severity PANIC
/// (its SQLSTATE, DETAIL and HINT kept) and aborts the process. The
/// postmaster sees a child killed by SIGABRT and restarts the server; WAL
/// replay repairs what the failure left. For failures after which going on
/// could lose data: a WAL write or flush, a control-file update.
pub fn panic(err: PgError) -> ! {
    let err = PgError {
        severity: Severity::Panic,
        ..err
    };
    write_log_line(Severity::Panic, &err.message, Some(&err));
    std::process::abort()
}

fn write_log_line(severity: Severity, message: &str, err: Option<&PgError>) {
    let mut out = String::with_capacity(128);
    let sqlstate = err
        .map(|e| e.sqlstate)
        .unwrap_or(sqlstate::SUCCESSFUL_COMPLETION);
    let prefix = LOG_STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.line_no += 1;
        format_prefix(&s.prefix, &s.ctx, s.line_no, sqlstate)
    });
    out.push_str(&prefix);
    out.push_str(severity.as_str());
    out.push_str(":  ");
    out.push_str(message);
    out.push('\n');
    if let Some(e) = err {
        if let Some(d) = &e.detail {
            out.push_str(&prefix);
            out.push_str("DETAIL:  ");
            out.push_str(d);
            out.push('\n');
        }
        if let Some(h) = &e.hint {
            out.push_str(&prefix);
            out.push_str("HINT:  ");
            out.push_str(h);
            out.push('\n');
        }
    }
    emit(&out);
}

fn write_log_line_raw(label: &str, message: &str) {
    let prefix = LOG_STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.line_no += 1;
        format_prefix(
            &s.prefix,
            &s.ctx,
            s.line_no,
            sqlstate::SUCCESSFUL_COMPLETION,
        )
    });
    emit(&format!("{prefix}{label}:  {message}\n"));
}

/// One `write(2)` per message so lines from different processes sharing a
/// pipe or file do not interleave (writes up to PIPE_BUF are atomic).
fn emit(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Expands `log_line_prefix` escapes as PostgreSQL does (`log_line_prefix`
/// in postgresql.conf.sample lists them).
pub fn format_prefix(prefix: &str, ctx: &LogContext, line_no: u64, sqlstate: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 32);
    let mut chars = prefix.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Optional padding like %-10u is accepted and ignored beyond width.
        let mut pad = String::new();
        while let Some(&p) = chars.peek() {
            if p == '-' || p.is_ascii_digit() {
                pad.push(p);
                chars.next();
            } else {
                break;
            }
        }
        let Some(esc) = chars.next() else { break };
        let piece: String = match esc {
            'a' => ctx.application_name.clone(),
            'u' => ctx.user.clone(),
            'd' => ctx.database.clone(),
            'r' => {
                if ctx.remote_host.is_empty() {
                    String::new()
                } else if ctx.remote_port.is_empty() {
                    ctx.remote_host.clone()
                } else {
                    format!("{}({})", ctx.remote_host, ctx.remote_port)
                }
            }
            'h' => ctx.remote_host.clone(),
            'b' => ctx.backend_type.clone(),
            'p' => std::process::id().to_string(),
            't' => crate::utils::time::format_log_time(false),
            'm' => crate::utils::time::format_log_time(true),
            'n' => {
                let (s, us) = crate::utils::time::now_unix();
                format!("{}.{:03}", s, us / 1000)
            }
            's' => crate::utils::time::format_unix_seconds(ctx.session_start_s),
            'i' => String::new(),
            'e' => sqlstate.to_string(),
            'c' => format!("{:x}.{:x}", ctx.session_start_s, std::process::id()),
            'l' => line_no.to_string(),
            'x' | 'v' => "0".to_string(),
            'q' => {
                if !ctx.is_session {
                    break;
                }
                String::new()
            }
            '%' => "%".to_string(),
            _ => String::new(),
        };
        if let Ok(width) = pad.parse::<i32>() {
            let w = width.unsigned_abs() as usize;
            if width < 0 {
                out.push_str(&format!("{piece:<w$}"));
            } else {
                out.push_str(&format!("{piece:>w$}"));
            }
        } else {
            out.push_str(&piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_escapes_expand_like_postgres() {
        let ctx = LogContext {
            user: "alice".into(),
            database: "db".into(),
            application_name: "psql".into(),
            remote_host: "127.0.0.1".into(),
            remote_port: "5000".into(),
            is_session: true,
            ..Default::default()
        };
        assert_eq!(
            format_prefix("%u@%d %a %r %h %e %l %%", &ctx, 3, "57014"),
            "alice@db psql 127.0.0.1(5000) 127.0.0.1 57014 3 %"
        );
        let bg = LogContext {
            is_session: false,
            ..Default::default()
        };
        assert_eq!(format_prefix("x %q%u y", &bg, 1, "00000"), "x ");
    }
}
