//! Check hooks: the per-parameter validation and canonicalisation that
//! PostgreSQL runs after the generic type check (`check_datestyle`,
//! `check_timezone`, `check_client_encoding`, …). A hook may rewrite the
//! value into its canonical form (`iso,dmy` → `ISO, DMY`, `utc` → `UTC`,
//! `utf-8` → `UTF8`) or reject it with PostgreSQL's message, detail and hint.
//!
//! Hooks that need the catalogs in PostgreSQL (`default_text_search_config`,
//! `default_table_access_method`) check against the built-in objects, which
//! are the only ones ferrogres has. Hooks that need the session's
//! transaction state (`transaction_isolation` after the first snapshot,
//! `temp_buffers` after temp tables were used, `role` and
//! `session_authorization` which need pg_authid) are the SQL layer's job.

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use super::settings::{Settings, Value};
use crate::utils::elog::sqlstate;
use crate::utils::mb;

/// Why a check hook rejected a value (`GUC_check_errcode`, `GUC_check_errmsg`,
/// `GUC_check_errdetail`, `GUC_check_errhint`). Without `message`, the
/// caller reports PostgreSQL's generic `invalid value for parameter` text.
#[derive(Debug, Default)]
pub(super) struct CheckError {
    pub code: Option<&'static str>,
    pub message: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl CheckError {
    fn generic() -> CheckError {
        CheckError::default()
    }
    fn detail(detail: impl Into<String>) -> CheckError {
        CheckError {
            detail: Some(detail.into()),
            ..CheckError::default()
        }
    }
}

/// `NAMEDATALEN - 1`: the longest SQL identifier in bytes.
pub(super) const MAX_IDENTIFIER_LEN: usize = 63;

/// `MAX_BACKENDS`: the limit on connections plus background processes.
const MAX_BACKENDS: i64 = 0x3FFFF;

/// `STACK_DEPTH_SLOP`: stack reserved beyond `max_stack_depth`.
const STACK_DEPTH_SLOP: i64 = 512 * 1024;

/// Runs the check hook of the parameter `name` (its canonical spelling), if
/// it has one.
pub(super) fn check(settings: &Settings, name: &str, value: &mut Value) -> Result<(), CheckError> {
    match (name, value) {
        ("DateStyle", Value::Str(s)) => {
            *s = check_datestyle(settings, s, 0)?;
            Ok(())
        }
        ("TimeZone" | "log_timezone", Value::Str(s)) => {
            *s = canonical_timezone(s)?;
            Ok(())
        }
        ("client_encoding", Value::Str(s)) => {
            let server = settings.get_str("server_encoding");
            *s = check_client_encoding(s, &server)?;
            Ok(())
        }
        ("server_encoding", Value::Str(s)) => {
            *s = canonical_encoding(s)
                .ok_or_else(CheckError::generic)?
                .to_string();
            Ok(())
        }
        ("application_name" | "cluster_name", Value::Str(s)) => {
            *s = clean_ascii(s);
            Ok(())
        }
        ("search_path" | "temp_tablespaces", Value::Str(s)) => split_identifier_string(s, b',')
            .map(|_| ())
            .ok_or_else(|| CheckError::detail("List syntax is invalid.")),
        ("log_destination", Value::Str(s)) => {
            check_keyword_list(s, &["stderr", "csvlog", "jsonlog", "syslog"])
        }
        ("restrict_nonsystem_relation_kind", Value::Str(s)) => {
            check_keyword_list(s, &["view", "foreign-table"])
        }
        ("lc_messages" | "lc_monetary" | "lc_numeric" | "lc_time", Value::Str(s)) => {
            if locale_is_valid(name, s) {
                Ok(())
            } else {
                Err(CheckError::generic())
            }
        }
        ("default_text_search_config", Value::Str(s)) => {
            *s = check_text_search_config(s)?;
            Ok(())
        }
        ("default_table_access_method", Value::Str(s)) => {
            if s.is_empty() {
                Err(CheckError::detail(
                    "default_table_access_method cannot be empty.",
                ))
            } else if s.len() > MAX_IDENTIFIER_LEN {
                Err(CheckError::detail(format!(
                    "default_table_access_method is too long (maximum {MAX_IDENTIFIER_LEN} characters)."
                )))
            } else if s != "heap" {
                Err(CheckError::detail(format!(
                    "Table access method \"{s}\" does not exist."
                )))
            } else {
                Ok(())
            }
        }
        ("timezone_abbreviations", Value::Str(s)) => {
            // The files in share/timezonesets that may be named directly.
            if ["Default", "Australia", "India"].contains(&s.as_str()) {
                Ok(())
            } else {
                Err(CheckError::generic())
            }
        }
        ("recovery_target", Value::Str(s)) => {
            if s.is_empty() || s == "immediate" {
                Ok(())
            } else {
                Err(CheckError::detail(
                    "The only allowed value is \"immediate\".",
                ))
            }
        }
        ("recovery_target_lsn", Value::Str(s)) => {
            if s.is_empty() || parse_lsn(s).is_some() {
                Ok(())
            } else {
                Err(CheckError::generic())
            }
        }
        ("recovery_target_xid", Value::Str(s)) => {
            if s.is_empty() || s.trim().parse::<u64>().is_ok() {
                Ok(())
            } else {
                Err(CheckError::generic())
            }
        }
        ("recovery_target_timeline", Value::Str(s)) => {
            if s == "current" || s == "latest" {
                Ok(())
            } else {
                match s.parse::<u64>() {
                    Ok(tli) if tli >= 1 && tli <= u32::MAX as u64 => Ok(()),
                    _ => Err(CheckError::detail(
                        "recovery_target_timeline is not a valid number.",
                    )),
                }
            }
        }
        ("max_stack_depth", Value::Int(kb)) => {
            let limit = stack_depth_rlimit();
            if limit > 0 && *kb * 1024 > limit - STACK_DEPTH_SLOP {
                Err(CheckError {
                    detail: Some(format!("\"max_stack_depth\" must not exceed {}kB.", (limit - STACK_DEPTH_SLOP) / 1024)),
                    hint: Some("Increase the platform's stack depth limit via \"ulimit -s\" or local equivalent.".to_string()),
                    ..CheckError::default()
                })
            } else {
                Ok(())
            }
        }
        ("wal_buffers", Value::Int(n)) => {
            // -1 asks for auto-tuning; once tuned, -1 means the tuned value.
            if *n == -1 {
                if settings.get_int("wal_buffers") == -1 {
                    return Ok(());
                }
                *n = choose_num_wal_buffers(
                    settings.get_int("shared_buffers"),
                    settings.get_int("wal_segment_size"),
                );
            }
            // Values below 4 are silently raised, as PostgreSQL does.
            if *n < 4 {
                *n = 4;
            }
            Ok(())
        }
        ("autovacuum_work_mem", Value::Int(n)) => {
            if *n != -1 && *n < 1024 {
                *n = 1024;
            }
            Ok(())
        }
        (
            "max_connections"
            | "autovacuum_max_workers"
            | "max_worker_processes"
            | "max_wal_senders",
            Value::Int(n),
        ) => {
            let mut total = 1 + *n;
            for other in [
                "max_connections",
                "autovacuum_max_workers",
                "max_worker_processes",
                "max_wal_senders",
            ] {
                if other != name {
                    total += settings.get_int(other);
                }
            }
            if total > MAX_BACKENDS {
                Err(CheckError::generic())
            } else {
                Ok(())
            }
        }
        ("log_statement_stats", Value::Bool(true)) => {
            if settings.get_bool("log_parser_stats")
                || settings.get_bool("log_planner_stats")
                || settings.get_bool("log_executor_stats")
            {
                Err(CheckError::detail(
                    "Cannot enable \"log_statement_stats\" when \"log_parser_stats\", \"log_planner_stats\", or \"log_executor_stats\" is true.",
                ))
            } else {
                Ok(())
            }
        }
        ("log_parser_stats" | "log_planner_stats" | "log_executor_stats", Value::Bool(true)) => {
            if settings.get_bool("log_statement_stats") {
                Err(CheckError::detail(
                    "Cannot enable parameter when \"log_statement_stats\" is true.",
                ))
            } else {
                Ok(())
            }
        }
        ("bonjour", Value::Bool(true)) => Err(CheckError {
            message: Some("Bonjour is not supported by this build".to_string()),
            ..CheckError::default()
        }),
        _ => Ok(()),
    }
}

/// `XLOGChooseNumBuffers`: 1/32 of shared_buffers, at least 8 pages and at
/// most one WAL segment.
pub(super) fn choose_num_wal_buffers(shared_buffers: i64, wal_segment_size_bytes: i64) -> i64 {
    let segment_pages = wal_segment_size_bytes / 8192;
    (shared_buffers / 32).min(segment_pages).max(8)
}

/// The soft stack limit in bytes, `i64::MAX` when unlimited, -1 when unknown
/// (`get_stack_depth_rlimit`).
pub(super) fn stack_depth_rlimit() -> i64 {
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
    match getrlimit(Resource::RLIMIT_STACK) {
        Ok((soft, _)) if soft == RLIM_INFINITY || soft >= i64::MAX as u64 => i64::MAX,
        Ok((soft, _)) => soft as i64,
        Err(_) => -1,
    }
}

/// The `max_stack_depth` PostgreSQL picks at start: 2MB, or less when the
/// stack limit is smaller (`InitializeGUCOptions`).
pub(super) fn default_max_stack_depth_kb() -> Option<i64> {
    let limit = stack_depth_rlimit();
    if limit <= 0 {
        return None;
    }
    let kb = (limit.saturating_sub(STACK_DEPTH_SLOP)) / 1024;
    (kb > 100).then(|| kb.min(2048))
}

// ---------------------------------------------------------------------------
// Lists of identifiers
// ---------------------------------------------------------------------------

/// `scanner_isspace`.
fn is_scanner_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Cuts `s` to at most `max` bytes without splitting a character.
pub(super) fn clip_to_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `SplitIdentifierString`: splits a `sep`-separated list of SQL
/// identifiers, double-quoted ones kept verbatim (with `""` → `"`), others
/// lower-cased; every name truncated to 63 bytes. None on a syntax error.
pub fn split_identifier_string(s: &str, sep: u8) -> Option<Vec<String>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut names = Vec::new();
    while i < b.len() && is_scanner_space(b[i]) {
        i += 1;
    }
    if i == b.len() {
        return Some(names); // an empty list is allowed
    }
    loop {
        if i == b.len() {
            return None; // a separator with no name after it
        }
        let name = if b[i] == b'"' {
            let mut name = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return None, // mismatched quotes
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        name.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        name.push(c);
                        i += 1;
                    }
                }
            }
            // An empty quoted name is allowed: `SET search_path = ''` is
            // stored as `""`, a schema no one can create.
            String::from_utf8_lossy(&name).into_owned()
        } else {
            let start = i;
            while i < b.len() && b[i] != sep && !is_scanner_space(b[i]) {
                i += 1;
            }
            if start == i {
                return None; // empty unquoted name not allowed
            }
            String::from_utf8_lossy(&b[start..i]).to_ascii_lowercase()
        };
        names.push(clip_to_bytes(&name, MAX_IDENTIFIER_LEN).to_string());
        while i < b.len() && is_scanner_space(b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] == sep {
            i += 1;
            while i < b.len() && is_scanner_space(b[i]) {
                i += 1;
            }
        } else if i == b.len() {
            return Some(names);
        } else {
            return None; // invalid syntax
        }
    }
}

fn check_keyword_list(s: &str, keywords: &[&str]) -> Result<(), CheckError> {
    let names = split_identifier_string(s, b',')
        .ok_or_else(|| CheckError::detail("List syntax is invalid."))?;
    for name in names {
        if !keywords.iter().any(|k| k.eq_ignore_ascii_case(&name)) {
            return Err(CheckError::detail(format!(
                "Unrecognized key word: \"{name}\"."
            )));
        }
    }
    Ok(())
}

/// PostgreSQL 15's keywords that are not `UNRESERVED_KEYWORD`: an identifier
/// spelled like one of these must be quoted.
static NON_UNRESERVED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// `quote_identifier`: double-quotes `s` unless it is a lower-case identifier
/// that is not a reserved word.
pub(crate) fn quote_identifier(s: &str) -> String {
    let b = s.as_bytes();
    let safe = !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        && NON_UNRESERVED_KEYWORDS.binary_search(&s).is_err();
    if safe {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `pg_clean_ascii`: bytes outside printable ASCII become `?`.
fn clean_ascii(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if (32..=126).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// DateStyle
// ---------------------------------------------------------------------------

/// `check_datestyle`: style (ISO, SQL, Postgres, German) and field order
/// (YMD, DMY, MDY), starting from the current setting so `SET datestyle =
/// dmy` keeps the style. Returns the canonical `ISO, MDY` form.
fn check_datestyle(settings: &Settings, value: &str, depth: u32) -> Result<String, CheckError> {
    let current = settings.get_str("DateStyle");
    let (mut style, mut order) = current
        .split_once(", ")
        .map(|(s, o)| (s.to_string(), o.to_string()))
        .unwrap_or(("ISO".into(), "MDY".into()));
    let (mut have_style, mut have_order, mut ok) = (false, false, true);
    let tokens = split_identifier_string(value, b',')
        .ok_or_else(|| CheckError::detail("List syntax is invalid."))?;
    fn set_style(new: &str, style: &mut String, have_style: &mut bool, ok: &mut bool) {
        if *have_style && style != new {
            *ok = false; // conflicting styles
        }
        *style = new.to_string();
        *have_style = true;
    }
    for tok in tokens {
        let lower = tok.to_ascii_lowercase();
        if lower == "iso" {
            set_style("ISO", &mut style, &mut have_style, &mut ok);
        } else if lower == "sql" {
            set_style("SQL", &mut style, &mut have_style, &mut ok);
        } else if lower.starts_with("postgres") {
            set_style("Postgres", &mut style, &mut have_style, &mut ok);
        } else if lower == "german" {
            set_style("German", &mut style, &mut have_style, &mut ok);
            // GERMAN also sets DMY, unless explicitly overridden.
            if !have_order {
                order = "DMY".into();
            }
        } else if lower == "ymd"
            || lower == "dmy"
            || lower.starts_with("euro")
            || lower == "mdy"
            || lower == "us"
            || lower.starts_with("noneuro")
        {
            let new = if lower == "ymd" {
                "YMD"
            } else if lower == "dmy" || lower.starts_with("euro") {
                "DMY"
            } else {
                "MDY"
            };
            if have_order && order != new {
                ok = false; // conflicting orders
            }
            order = new.into();
            have_order = true;
        } else if lower == "default" {
            // DEFAULT means the reset value, parsed recursively so that
            // "DEFAULT, ISO" works.
            if depth > 0 {
                ok = false;
                break;
            }
            let reset = settings.reset_value_string("DateStyle");
            let sub = check_datestyle(settings, &reset, depth + 1)?;
            let (sub_style, sub_order) = sub.split_once(", ").expect("canonical DateStyle");
            if !have_style {
                style = sub_style.to_string();
            }
            if !have_order {
                order = sub_order.to_string();
            }
        } else {
            return Err(CheckError::detail(format!(
                "Unrecognized key word: \"{tok}\"."
            )));
        }
    }
    if !ok {
        return Err(CheckError::detail(
            "Conflicting \"datestyle\" specifications.",
        ));
    }
    Ok(format!("{style}, {order}"))
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

/// The canonical name of an encoding (`pg_encoding_to_char(pg_char_to_encoding(s))`);
/// names and aliases are PostgreSQL's, kept in [`crate::utils::mb`].
pub(super) fn canonical_encoding(s: &str) -> Option<&'static str> {
    mb::char_to_encoding(s).map(|e| e.name())
}

/// `check_client_encoding`: a known name, with a conversion to the server
/// encoding. PostgreSQL reports a missing conversion with 0A000 and
/// `Conversion between X and UTF8 is not supported.`; ferrogres does the
/// same for the encodings it has no conversion for (the multi-byte ones),
/// rather than accepting the name and sending UTF-8.
fn check_client_encoding(value: &str, server_encoding: &str) -> Result<String, CheckError> {
    let enc = mb::char_to_encoding(value).ok_or_else(CheckError::generic)?;
    let name = enc.name();
    if let Some(e) = mb::client_encoding_unsupported(enc) {
        return Err(CheckError {
            code: Some(sqlstate::FEATURE_NOT_SUPPORTED),
            detail: Some(format!(
                "Conversion between {name} and {server_encoding} is not supported."
            )),
            hint: e.hint,
            ..CheckError::default()
        });
    }
    Ok(name.to_string())
}

// ---------------------------------------------------------------------------
// Locales and text search
// ---------------------------------------------------------------------------

/// `check_locale`: whether the C library knows the locale for the
/// parameter's category. The empty string means "from the environment".
fn locale_is_valid(name: &str, locale: &str) -> bool {
    let mask = match name {
        "lc_messages" => libc::LC_MESSAGES_MASK,
        "lc_monetary" => libc::LC_MONETARY_MASK,
        "lc_numeric" => libc::LC_NUMERIC_MASK,
        _ => libc::LC_TIME_MASK,
    };
    let Ok(c_locale) = std::ffi::CString::new(locale) else {
        return false;
    };
    // SAFETY: newlocale only reads the NUL-terminated string, which outlives
    // the call; a non-null result is a locale object we own and free at
    // once. Unlike setlocale, neither call touches process-wide state.
    unsafe {
        let loc = libc::newlocale(mask, c_locale.as_ptr(), std::ptr::null_mut());
        if loc.is_null() {
            return false;
        }
        libc::freelocale(loc);
    }
    true
}

/// The text search configurations initdb creates (`pg_ts_config`).
static TEXT_SEARCH_CONFIGS: &[&str] = &[
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "simple",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
];

/// `check_TSCurrentConfig`: the configuration must exist; the value becomes
/// its schema-qualified name.
fn check_text_search_config(value: &str) -> Result<String, CheckError> {
    let parts = split_qualified_name(value).ok_or_else(CheckError::generic)?;
    let (schema, config) = match parts.as_slice() {
        [config] => ("pg_catalog", config.as_str()),
        [schema, config] => (schema.as_str(), config.as_str()),
        _ => return Err(CheckError::generic()),
    };
    if schema == "pg_catalog" && TEXT_SEARCH_CONFIGS.contains(&config) {
        Ok(format!("pg_catalog.{config}"))
    } else {
        Err(CheckError::generic())
    }
}

/// Splits `a.b` (`stringToQualifiedNameList`), lower-casing unquoted parts.
fn split_qualified_name(s: &str) -> Option<Vec<String>> {
    split_identifier_string(s, b'.').filter(|parts| !parts.is_empty())
}

/// Parses an LSN written `X/X` (`pg_lsn_in`).
fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    let ok = |p: &str| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok(hi) || !ok(lo) {
        return None;
    }
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

/// Where the system's time zone database lives (PostgreSQL built
/// `--with-system-tzdata`, as Debian's packages are).
const TZDIR: &str = "/usr/share/zoneinfo";

/// Zone names that mean UTC, accepted even when the time zone database is
/// not installed.
static BUILTIN_UTC_ZONES: &[&str] = &[
    "UTC",
    "Etc/UTC",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
    "Etc/GMT",
    "Greenwich",
    "Etc/Greenwich",
];

/// `check_timezone` + `pg_tzset`: the canonical spelling of a time zone
/// setting. Accepts a number of hours east of UTC (`5` → `<+05>-05`),
/// `GMT`, a zone of the time zone database in any letter case (`utc` →
/// `UTC`, `america/new_york` → `America/New_York`), or a POSIX time zone
/// specification (`EST5EDT`, `<+03>-3`), which is upper-cased.
pub(super) fn canonical_timezone(value: &str) -> Result<String, CheckError> {
    if value.len() >= 8 && value[..8].eq_ignore_ascii_case("interval") {
        // SET TIME ZONE INTERVAL '...' is not supported.
        return Err(CheckError::generic());
    }
    let (hours, _, consumed) = super::value::strtod_str(value);
    if consumed > 0 && consumed == value.len() {
        if !hours.is_finite() {
            return Err(CheckError::detail("UTC timezone offset is out of range."));
        }
        // A number of hours; SQL's sign convention is the opposite of POSIX's.
        let gmtoffset_s = (-hours * 3600.0) as i64;
        let name = offset_zone_name(gmtoffset_s);
        return if gmtoffset_s.abs() / 3600 <= 167 {
            Ok(name)
        } else {
            Err(CheckError::detail("UTC timezone offset is out of range."))
        };
    }
    let upper = value.to_ascii_uppercase();
    if upper.len() > 255 {
        return Err(CheckError::generic());
    }
    if upper == "GMT" {
        return Ok(upper);
    }
    if let Some(canonical) = find_zone_file(&upper) {
        if canonical.starts_with("right/") {
            return Err(leap_seconds(value));
        }
        return Ok(canonical);
    }
    if !upper.starts_with(':')
        && let Some(has_seconds) = parse_posix_tz(upper.as_bytes())
    {
        if has_seconds {
            return Err(leap_seconds(value));
        }
        return Ok(upper);
    }
    Err(CheckError::generic())
}

fn leap_seconds(value: &str) -> CheckError {
    CheckError {
        message: Some(format!("time zone \"{value}\" appears to use leap seconds")),
        detail: Some("PostgreSQL does not support leap seconds.".to_string()),
        ..CheckError::default()
    }
}

/// `pg_tzset_offset`'s name for a fixed offset in seconds west of UTC.
fn offset_zone_name(gmtoffset_s: i64) -> String {
    let mut abs = gmtoffset_s.abs();
    let mut text = format!("{:02}", abs / 3600);
    abs %= 3600;
    if abs != 0 {
        text.push_str(&format!(":{:02}", abs / 60));
        abs %= 60;
        if abs != 0 {
            text.push_str(&format!(":{abs:02}"));
        }
    }
    if gmtoffset_s > 0 {
        format!("<-{text}>+{text}")
    } else {
        format!("<+{text}>-{text}")
    }
}

/// `pg_open_tzfile`: finds `name` under the time zone directory matching
/// each path component case-insensitively, and returns its canonical
/// spelling if it is a TZif file.
fn find_zone_file(name: &str) -> Option<String> {
    let name = name.strip_prefix(':').unwrap_or(name);
    if !std::path::Path::new(TZDIR).is_dir() {
        return BUILTIN_UTC_ZONES
            .iter()
            .find(|z| z.eq_ignore_ascii_case(name))
            .map(|z| z.to_string());
    }
    let mut path = PathBuf::from(TZDIR);
    let mut canonical = Vec::new();
    for component in name.split('/') {
        if component.is_empty() {
            return None;
        }
        let found = fs::read_dir(&path)
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .find(|entry| !entry.starts_with('.') && entry.eq_ignore_ascii_case(component))?;
        path.push(&found);
        canonical.push(found);
    }
    let mut magic = [0u8; 4];
    fs::File::open(&path).ok()?.read_exact(&mut magic).ok()?;
    (&magic == b"TZif").then(|| canonical.join("/"))
}

/// `tzparse` for a POSIX TZ string such as `EST5EDT,M3.2.0,M11.1.0`.
/// Returns None if it does not parse, else whether the standard offset has
/// a seconds part (which PostgreSQL rejects as "leap seconds").
fn parse_posix_tz(s: &[u8]) -> Option<bool> {
    let mut p = 0;
    let std_name_len = zone_abbreviation(s, &mut p)?;
    if p >= s.len() || std_name_len == 0 {
        return None;
    }
    let (_, has_seconds) = tz_offset(s, &mut p)?;
    if p == s.len() {
        return Some(has_seconds);
    }
    let dst_name_len = zone_abbreviation(s, &mut p)?;
    if dst_name_len == 0 {
        return None;
    }
    if p < s.len() && s[p] != b',' && s[p] != b';' {
        tz_offset(s, &mut p)?;
    }
    if p == s.len() {
        return Some(has_seconds); // default DST rules
    }
    if s[p] != b',' && s[p] != b';' {
        return None;
    }
    p += 1;
    tz_rule(s, &mut p)?;
    if s.get(p) != Some(&b',') {
        return None;
    }
    p += 1;
    tz_rule(s, &mut p)?;
    (p == s.len()).then_some(has_seconds)
}

/// A zone abbreviation: `<...>` or a run of characters that are not digits,
/// commas or signs. Returns its length.
fn zone_abbreviation(s: &[u8], p: &mut usize) -> Option<usize> {
    if s.get(*p) == Some(&b'<') {
        let start = *p + 1;
        let mut i = start;
        while i < s.len() && s[i] != b'>' {
            i += 1;
        }
        if i >= s.len() {
            return None;
        }
        *p = i + 1;
        Some(i - start)
    } else {
        let start = *p;
        while *p < s.len() && !s[*p].is_ascii_digit() && !matches!(s[*p], b',' | b'-' | b'+') {
            *p += 1;
        }
        Some(*p - start)
    }
}

fn tz_number(s: &[u8], p: &mut usize, min: i64, max: i64) -> Option<i64> {
    let start = *p;
    let mut n: i64 = 0;
    while *p < s.len() && s[*p].is_ascii_digit() {
        n = n * 10 + (s[*p] - b'0') as i64;
        if n > max {
            return None;
        }
        *p += 1;
    }
    (*p > start && n >= min).then_some(n)
}

/// `getsecs`: hh[:mm[:ss]], hours up to a week. Returns seconds and whether
/// a non-zero seconds part was given.
fn tz_secs(s: &[u8], p: &mut usize) -> Option<(i64, bool)> {
    let hours = tz_number(s, p, 0, 24 * 7 - 1)?;
    let mut secs = hours * 3600;
    let mut has_seconds = false;
    if s.get(*p) == Some(&b':') {
        *p += 1;
        secs += tz_number(s, p, 0, 59)? * 60;
        if s.get(*p) == Some(&b':') {
            *p += 1;
            let ss = tz_number(s, p, 0, 60)?;
            has_seconds = ss != 0;
            secs += ss;
        }
    }
    Some((secs, has_seconds))
}

/// `getoffset`: an optionally signed `getsecs`.
fn tz_offset(s: &[u8], p: &mut usize) -> Option<(i64, bool)> {
    let negative = match s.get(*p) {
        Some(b'-') => {
            *p += 1;
            true
        }
        Some(b'+') => {
            *p += 1;
            false
        }
        _ => false,
    };
    let (secs, has_seconds) = tz_secs(s, p)?;
    Some((if negative { -secs } else { secs }, has_seconds))
}

/// `getrule`: `Jn`, `n` or `Mm.w.d`, optionally followed by `/time`.
fn tz_rule(s: &[u8], p: &mut usize) -> Option<()> {
    match s.get(*p) {
        Some(b'J') => {
            *p += 1;
            tz_number(s, p, 1, 365)?;
        }
        Some(b'M') => {
            *p += 1;
            tz_number(s, p, 1, 12)?;
            if s.get(*p) != Some(&b'.') {
                return None;
            }
            *p += 1;
            tz_number(s, p, 1, 5)?;
            if s.get(*p) != Some(&b'.') {
                return None;
            }
            *p += 1;
            tz_number(s, p, 0, 6)?;
        }
        Some(c) if c.is_ascii_digit() => {
            tz_number(s, p, 0, 365)?;
        }
        _ => return None,
    }
    if s.get(*p) == Some(&b'/') {
        *p += 1;
        tz_offset(s, p)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_lists_split_like_split_identifier_string() {
        assert_eq!(
            split_identifier_string("a, \"B c\", Public", b','),
            Some(vec!["a".into(), "B c".into(), "public".into()])
        );
        assert_eq!(split_identifier_string("  ", b','), Some(vec![]));
        assert_eq!(
            split_identifier_string("\"a\"\"b\"", b','),
            Some(vec!["a\"b".into()])
        );
        assert_eq!(split_identifier_string("iso,", b','), None);
        assert_eq!(split_identifier_string("a b", b','), None);
        assert_eq!(split_identifier_string("\"unterminated", b','), None);
        assert_eq!(
            split_identifier_string("\"\"", b','),
            Some(vec![String::new()])
        );
    }

    #[test]
    fn identifiers_are_quoted_when_needed() {
        assert_eq!(quote_identifier("public"), "public");
        assert_eq!(quote_identifier("$user"), "\"$user\"");
        assert_eq!(quote_identifier("a b"), "\"a b\"");
        assert_eq!(quote_identifier("user"), "\"user\"");
        assert_eq!(quote_identifier("Foo"), "\"Foo\"");
        assert_eq!(quote_identifier("x\"y"), "\"x\"\"y\"");
        let mut sorted = NON_UNRESERVED_KEYWORDS.to_vec();
        sorted.sort();
        assert_eq!(
            sorted, NON_UNRESERVED_KEYWORDS,
            "binary search needs a sorted keyword list"
        );
    }

    #[test]
    fn time_zones_are_canonicalised_like_postgres() {
        // Expected spellings checked against PostgreSQL 15's SHOW timezone.
        assert_eq!(canonical_timezone("utc").unwrap(), "UTC");
        assert_eq!(canonical_timezone("etc/utc").unwrap(), "Etc/UTC");
        assert_eq!(canonical_timezone("gmt").unwrap(), "GMT");
        assert_eq!(canonical_timezone("5").unwrap(), "<+05>-05");
        assert_eq!(canonical_timezone("-3.5").unwrap(), "<-03:30>+03:30");
        assert_eq!(canonical_timezone("167").unwrap(), "<+167>-167");
        assert_eq!(
            canonical_timezone("168").unwrap_err().detail.as_deref(),
            Some("UTC timezone offset is out of range.")
        );
        assert_eq!(canonical_timezone("XYZ3").unwrap(), "XYZ3");
        assert_eq!(canonical_timezone("abc+1").unwrap(), "ABC+1");
        assert_eq!(canonical_timezone("<+05>-05").unwrap(), "<+05>-05");
        assert_eq!(
            canonical_timezone("ABC3DEF,M3.2.0,M11.1.0").unwrap(),
            "ABC3DEF,M3.2.0,M11.1.0"
        );
        assert_eq!(
            canonical_timezone("ABC3DEF,J60,J300/2").unwrap(),
            "ABC3DEF,J60,J300/2"
        );
        for bad in [
            "xyz",
            "z",
            "ABC",
            "",
            "../UTC",
            "/usr/share/zoneinfo/UTC",
            "Europe/Berlin ",
            "ABC3DEF,J60",
            "ABC168",
            "ABC-3:60",
        ] {
            assert!(canonical_timezone(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(
            canonical_timezone("ABC167:59:59")
                .unwrap_err()
                .message
                .unwrap()
                .contains("leap seconds")
        );
        if std::path::Path::new(TZDIR)
            .join("America/New_York")
            .exists()
        {
            assert_eq!(
                canonical_timezone("america/new_york").unwrap(),
                "America/New_York"
            );
            assert!(
                canonical_timezone("America").is_err(),
                "a directory is not a zone"
            );
            assert!(canonical_timezone("zone.tab").is_err(), "not a TZif file");
        }
    }

    #[test]
    fn encodings_normalise_through_aliases() {
        assert_eq!(canonical_encoding("utf-8"), Some("UTF8"));
        assert_eq!(canonical_encoding("unicode"), Some("UTF8"));
        assert_eq!(canonical_encoding("iso-8859-1"), Some("LATIN1"));
        assert_eq!(canonical_encoding("ISO_8859_5"), Some("ISO_8859_5"));
        assert_eq!(canonical_encoding("win"), Some("WIN1251"));
        assert_eq!(canonical_encoding("sql_ascii"), Some("SQL_ASCII"));
        assert_eq!(canonical_encoding("bogus"), None);
    }
}
