//! Tests of the settings as a user sees them. Expected strings were checked
//! against a real PostgreSQL 15 (`SET`/`SHOW`, its server log on reload, the
//! postgresql.auto.conf it writes).

use std::fs;
use std::path::{Path, PathBuf};

use super::params::{Kind, PARAMS};
use super::*;
use crate::utils::elog::{PgError, Severity, sqlstate};

fn set(s: &mut Settings, name: &str, value: &str) {
    s.set(name, Some(value), false, true)
        .unwrap_or_else(|e| panic!("SET {name} = {value:?}: {}", e.message));
}

fn show(s: &Settings, name: &str) -> String {
    s.show(name)
        .unwrap_or_else(|e| panic!("SHOW {name}: {}", e.message))
}

fn set_err(s: &mut Settings, name: &str, value: &str) -> PgError {
    s.set(name, Some(value), false, true)
        .expect_err(&format!("SET {name} = {value:?} must fail"))
}

/// A fresh data directory under the system temp dir, removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!("ferrogres_guc_{tag}_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        DataDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn conf_path(&self) -> String {
        self.0
            .join("postgresql.conf")
            .to_string_lossy()
            .into_owned()
    }
    fn write_conf(&self, text: &str) {
        fs::write(self.0.join("postgresql.conf"), text).unwrap();
    }
    fn write_auto_conf(&self, text: &str) {
        fs::write(self.0.join("postgresql.auto.conf"), text).unwrap();
    }
    fn read_auto_conf(&self) -> String {
        fs::read_to_string(self.0.join("postgresql.auto.conf")).unwrap()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn messages(lines: &[(Severity, String)]) -> Vec<&str> {
    lines.iter().map(|(_, m)| m.as_str()).collect()
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

#[test]
fn parameter_table_is_sorted_and_has_what_ferrogres_needs() {
    for pair in PARAMS.windows(2) {
        assert!(
            pair[0].name.to_ascii_lowercase() < pair[1].name.to_ascii_lowercase(),
            "{} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    assert!(
        PARAMS.len() >= 350,
        "PostgreSQL 15 has 358 parameters on Linux"
    );
    let s = Settings::new();
    for name in [
        "listen_addresses",
        "port",
        "max_connections",
        "superuser_reserved_connections",
        "unix_socket_directories",
        "unix_socket_permissions",
        "authentication_timeout",
        "password_encryption",
        "ssl",
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "dynamic_shared_memory_type",
        "max_worker_processes",
        "max_parallel_workers",
        "max_parallel_workers_per_gather",
        "wal_level",
        "fsync",
        "synchronous_commit",
        "wal_sync_method",
        "full_page_writes",
        "wal_buffers",
        "wal_writer_delay",
        "wal_writer_flush_after",
        "commit_delay",
        "commit_siblings",
        "checkpoint_timeout",
        "checkpoint_completion_target",
        "checkpoint_warning",
        "max_wal_size",
        "min_wal_size",
        "archive_mode",
        "archive_command",
        "archive_timeout",
        "restore_command",
        "recovery_target_time",
        "recovery_target_lsn",
        "recovery_target_action",
        "bgwriter_delay",
        "bgwriter_lru_maxpages",
        "bgwriter_lru_multiplier",
        "bgwriter_flush_after",
        "logging_collector",
        "log_destination",
        "log_directory",
        "log_filename",
        "log_rotation_age",
        "log_rotation_size",
        "log_truncate_on_rotation",
        "log_min_messages",
        "log_min_error_statement",
        "log_line_prefix",
        "log_connections",
        "log_disconnections",
        "log_checkpoints",
        "log_statement",
        "log_timezone",
        "log_autovacuum_min_duration",
        "cluster_name",
        "track_activities",
        "track_counts",
        "track_io_timing",
        "autovacuum",
        "autovacuum_naptime",
        "autovacuum_max_workers",
        "autovacuum_vacuum_threshold",
        "autovacuum_vacuum_scale_factor",
        "autovacuum_analyze_threshold",
        "autovacuum_analyze_scale_factor",
        "autovacuum_vacuum_insert_threshold",
        "autovacuum_vacuum_insert_scale_factor",
        "autovacuum_vacuum_cost_delay",
        "autovacuum_vacuum_cost_limit",
        "autovacuum_freeze_max_age",
        "vacuum_cost_delay",
        "vacuum_cost_limit",
        "deadlock_timeout",
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
        "search_path",
        "default_transaction_isolation",
        "transaction_isolation",
        "default_transaction_read_only",
        "DateStyle",
        "IntervalStyle",
        "TimeZone",
        "client_encoding",
        "server_encoding",
        "lc_messages",
        "lc_monetary",
        "lc_numeric",
        "lc_time",
        "extra_float_digits",
        "client_min_messages",
        "application_name",
        "restart_after_crash",
        "data_directory",
        "config_file",
        "hba_file",
        "server_version",
        "server_version_num",
        "standard_conforming_strings",
        "integer_datetimes",
        "block_size",
        "wal_segment_size",
        "max_locks_per_transaction",
        "default_text_search_config",
        "session_authorization",
        "is_superuser",
        "shared_preload_libraries",
        "krb_server_keyfile",
        "huge_pages",
        "temp_buffers",
        "effective_cache_size",
        "random_page_cost",
        "seq_page_cost",
        "enable_seqscan",
        "enable_indexscan",
        "enable_hashjoin",
        "jit",
        "data_checksums",
        "max_prepared_transactions",
        "lc_collate",
        "lc_ctype",
        "max_identifier_length",
        "in_hot_standby",
    ] {
        assert!(s.show(name).is_ok(), "{name} is missing");
    }
    // Every boot value is valid for its own parameter.
    for def in PARAMS {
        match def.kind {
            Kind::Int { boot, min, max, .. } => {
                assert!(min <= boot && boot <= max || boot == -1, "{}", def.name)
            }
            Kind::Real { boot, min, max, .. } => {
                assert!(min <= boot && boot <= max, "{}", def.name)
            }
            Kind::Enum { boot, options } => assert!(
                options.iter().any(|o| o.val == boot && !o.hidden),
                "{}",
                def.name
            ),
            _ => {}
        }
    }
}

#[test]
fn boot_values_show_as_in_postgres_15() {
    let s = Settings::new();
    for (name, expected) in [
        ("shared_buffers", "128MB"),
        ("work_mem", "4MB"),
        ("maintenance_work_mem", "64MB"),
        ("effective_cache_size", "4GB"),
        ("temp_buffers", "8MB"),
        ("max_wal_size", "1GB"),
        ("min_wal_size", "80MB"),
        ("wal_segment_size", "16MB"),
        ("checkpoint_timeout", "5min"),
        ("checkpoint_completion_target", "0.9"),
        ("checkpoint_warning", "30s"),
        ("bgwriter_lru_multiplier", "2"),
        ("bgwriter_delay", "200ms"),
        ("bgwriter_flush_after", "512kB"),
        ("wal_writer_flush_after", "1MB"),
        ("autovacuum_vacuum_cost_delay", "2ms"),
        ("vacuum_cost_delay", "0"),
        ("authentication_timeout", "1min"),
        ("log_rotation_age", "1d"),
        ("log_rotation_size", "10MB"),
        ("log_autovacuum_min_duration", "10min"),
        ("track_activity_query_size", "1kB"),
        ("gin_pending_list_limit", "4MB"),
        ("log_parameter_max_length", "-1"),
        ("statement_timeout", "0"),
        ("unix_socket_permissions", "0777"),
        ("data_directory_mode", "0700"),
        ("log_file_mode", "0600"),
        ("archive_command", "(disabled)"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "GMT"),
        ("IntervalStyle", "postgres"),
        ("search_path", "\"$user\", public"),
        ("server_version", "15.0"),
        ("server_version_num", "150000"),
        ("server_encoding", "UTF8"),
        ("client_encoding", "UTF8"),
        ("integer_datetimes", "on"),
        ("block_size", "8192"),
        ("max_identifier_length", "63"),
        ("in_hot_standby", "off"),
        ("is_superuser", "off"),
        ("transaction_isolation", "read committed"),
        ("role", "none"),
        ("seed", "unavailable"),
        ("timezone_abbreviations", "Default"),
        ("log_line_prefix", "%m [%p] "),
        ("wal_level", "replica"),
        ("max_stack_depth", "2MB"),
    ] {
        assert_eq!(show(&s, name), expected, "SHOW {name}");
    }
}

// ---------------------------------------------------------------------------
// SET and SHOW
// ---------------------------------------------------------------------------

#[test]
fn set_then_show_matches_postgres_15() {
    let mut s = Settings::new();
    // (parameter, value given to SET, what PostgreSQL 15's SHOW printed)
    for (name, value, expected) in [
        ("work_mem", "128MB", "128MB"),
        ("work_mem", "1GB", "1GB"),
        ("work_mem", "1000", "1000kB"),
        ("work_mem", "1024kB", "1MB"),
        ("work_mem", "10 MB", "10MB"),
        ("work_mem", "1.5MB", "1536kB"),
        ("work_mem", "0x100", "256kB"),
        ("work_mem", "64 kB ", "64kB"),
        ("work_mem", "1e3", "1000kB"),
        ("work_mem", " 100", "100kB"),
        ("sort_mem", "2MB", "2MB"),
        ("statement_timeout", "5min", "5min"),
        ("statement_timeout", "90s", "90s"),
        ("statement_timeout", "1500", "1500ms"),
        ("statement_timeout", "1.5s", "1500ms"),
        ("statement_timeout", "1d", "1d"),
        ("statement_timeout", "100us", "0"),
        ("statement_timeout", "600us", "1ms"),
        ("enable_seqscan", "t", "on"),
        ("enable_seqscan", "fa", "off"),
        ("enable_seqscan", "of", "off"),
        ("enable_seqscan", "1", "on"),
        ("synchronous_commit", "TRUE", "on"),
        ("synchronous_commit", "Remote_Write", "remote_write"),
        ("wal_compression", "on", "pglz"),
        ("client_min_messages", "debug", "debug2"),
        ("client_min_messages", "info", "info"),
        ("random_page_cost", "1.1", "1.1"),
        ("random_page_cost", "1e-5", "1e-05"),
        ("random_page_cost", "1234567", "1.23457e+06"),
        ("random_page_cost", "0.00001234", "1.234e-05"),
        ("vacuum_cost_delay", "0.5", "500us"),
        ("vacuum_cost_delay", "1.5ms", "1500us"),
        ("vacuum_cost_delay", "0.001s", "1ms"),
        ("vacuum_cost_delay", "10us", "10us"),
        ("vacuum_cost_delay", "1e-7", "0.0001us"),
        ("log_min_messages", "debug1", "debug1"),
        ("myapp.foo", "bar", "bar"),
        ("application_name", "h\u{e9}llo", "h??llo"),
        ("DateStyle", "german", "German, DMY"),
        ("DateStyle", "ymd", "German, YMD"),
        ("DateStyle", "sql, euro", "SQL, DMY"),
        ("DateStyle", "postgres,us", "Postgres, MDY"),
        ("DateStyle", "", "Postgres, MDY"),
        ("DateStyle", "\"iso\"", "ISO, MDY"),
        ("DateStyle", " postgresql , european", "Postgres, DMY"),
        ("DateStyle", "default", "ISO, MDY"),
        ("TimeZone", "utc", "UTC"),
        ("TimeZone", "gmt", "GMT"),
        ("TimeZone", "5", "<+05>-05"),
        ("TimeZone", "-3.5", "<-03:30>+03:30"),
        ("TimeZone", "XYZ3", "XYZ3"),
        ("TimeZone", "UTC0", "UTC0"),
        ("client_encoding", "utf-8", "UTF8"),
        ("client_encoding", "latin1", "LATIN1"),
        ("client_encoding", "unicode", "UTF8"),
        ("client_encoding", "iso_8859_15", "LATIN9"),
        ("client_encoding", "Windows-1252", "WIN1252"),
        (
            "default_transaction_isolation",
            "Serializable",
            "serializable",
        ),
        (
            "default_text_search_config",
            "english",
            "pg_catalog.english",
        ),
        ("geqo_selection_bias", "1.5", "1.5"),
        ("IntervalStyle", "ISO_8601", "iso_8601"),
    ] {
        set(&mut s, name, value);
        assert_eq!(show(&s, name), expected, "SET {name} = {value:?}");
    }
    assert_eq!(
        s.get_int("work_mem"),
        2048,
        "sort_mem is the old name of work_mem"
    );
    assert_eq!(s.canonical_name("datestyle").as_deref(), Some("DateStyle"));
    assert_eq!(s.canonical_name("MYAPP.FOO").as_deref(), Some("myapp.foo"));
}

#[test]
fn set_errors_match_postgres_15() {
    let mut s = Settings::new();
    // (parameter as typed, value, SQLSTATE, message, detail, hint) from PostgreSQL 15.
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (
            "work_mem",
            "10kB",
            "22023",
            "10 kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)",
            None,
            None,
        ),
        (
            "work_mem",
            "10mb",
            "22023",
            "invalid value for parameter \"work_mem\": \"10mb\"",
            None,
            Some("Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\"."),
        ),
        (
            "work_mem",
            "3TB",
            "22023",
            "invalid value for parameter \"work_mem\": \"3TB\"",
            None,
            Some("Value exceeds integer range."),
        ),
        (
            "work_mem",
            "abc",
            "22023",
            "invalid value for parameter \"work_mem\": \"abc\"",
            None,
            None,
        ),
        (
            "Work_Mem",
            "abc",
            "22023",
            "invalid value for parameter \"Work_Mem\": \"abc\"",
            None,
            None,
        ),
        (
            "statement_timeout",
            "-1",
            "22023",
            "-1 ms is outside the valid range for parameter \"statement_timeout\" (0 .. 2147483647)",
            None,
            None,
        ),
        (
            "statement_timeout",
            "5 hours",
            "22023",
            "invalid value for parameter \"statement_timeout\": \"5 hours\"",
            None,
            Some(
                "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".",
            ),
        ),
        (
            "enable_seqscan",
            "o",
            "22023",
            "parameter \"enable_seqscan\" requires a Boolean value",
            None,
            None,
        ),
        (
            "enable_seqscan",
            "maybe",
            "22023",
            "parameter \"enable_seqscan\" requires a Boolean value",
            None,
            None,
        ),
        (
            "synchronous_commit",
            "bogus",
            "22023",
            "invalid value for parameter \"synchronous_commit\": \"bogus\"",
            None,
            Some("Available values: local, remote_write, remote_apply, on, off."),
        ),
        (
            "default_transaction_isolation",
            "repeatable_read",
            "22023",
            "invalid value for parameter \"default_transaction_isolation\": \"repeatable_read\"",
            None,
            Some(
                "Available values: serializable, repeatable read, read committed, read uncommitted.",
            ),
        ),
        (
            "random_page_cost",
            "-1",
            "22023",
            "-1 is outside the valid range for parameter \"random_page_cost\" (0 .. 1.79769e+308)",
            None,
            None,
        ),
        (
            "random_page_cost",
            "abc",
            "22023",
            "invalid value for parameter \"random_page_cost\": \"abc\"",
            None,
            None,
        ),
        (
            "vacuum_cost_delay",
            "200",
            "22023",
            "200 ms is outside the valid range for parameter \"vacuum_cost_delay\" (0 .. 100)",
            None,
            None,
        ),
        (
            "geqo_selection_bias",
            "1.0",
            "22023",
            "1 is outside the valid range for parameter \"geqo_selection_bias\" (1.5 .. 2)",
            None,
            None,
        ),
        (
            "extra_float_digits",
            "5",
            "22023",
            "5 is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)",
            None,
            None,
        ),
        (
            "checkpoint_completion_target",
            "2",
            "55P02",
            "parameter \"checkpoint_completion_target\" cannot be changed now",
            None,
            None,
        ),
        (
            "port",
            "5",
            "55P02",
            "parameter \"port\" cannot be changed without restarting the server",
            None,
            None,
        ),
        (
            "PORT",
            "1",
            "55P02",
            "parameter \"PORT\" cannot be changed without restarting the server",
            None,
            None,
        ),
        (
            "fsync",
            "off",
            "55P02",
            "parameter \"fsync\" cannot be changed now",
            None,
            None,
        ),
        (
            "is_superuser",
            "on",
            "55P02",
            "parameter \"is_superuser\" cannot be changed",
            None,
            None,
        ),
        (
            "ignore_system_indexes",
            "on",
            "55P02",
            "parameter \"ignore_system_indexes\" cannot be set after connection start",
            None,
            None,
        ),
        (
            "log_connections",
            "on",
            "55P02",
            "parameter \"log_connections\" cannot be set after connection start",
            None,
            None,
        ),
        (
            "nonexistent",
            "1",
            "42704",
            "unrecognized configuration parameter \"nonexistent\"",
            None,
            None,
        ),
        (
            "a.b c",
            "1",
            "42602",
            "invalid configuration parameter name \"a.b c\"",
            Some(
                "Custom parameter names must be two or more simple identifiers separated by dots.",
            ),
            None,
        ),
        (
            "a..b",
            "1",
            "42602",
            "invalid configuration parameter name \"a..b\"",
            Some(
                "Custom parameter names must be two or more simple identifiers separated by dots.",
            ),
            None,
        ),
        (
            "a.1b",
            "1",
            "42602",
            "invalid configuration parameter name \"a.1b\"",
            Some(
                "Custom parameter names must be two or more simple identifiers separated by dots.",
            ),
            None,
        ),
        (
            "datestyle",
            "iso, foo",
            "22023",
            "invalid value for parameter \"DateStyle\": \"iso, foo\"",
            Some("Unrecognized key word: \"foo\"."),
            None,
        ),
        (
            "datestyle",
            "iso, sql",
            "22023",
            "invalid value for parameter \"DateStyle\": \"iso, sql\"",
            Some("Conflicting \"datestyle\" specifications."),
            None,
        ),
        (
            "datestyle",
            "iso,",
            "22023",
            "invalid value for parameter \"DateStyle\": \"iso,\"",
            Some("List syntax is invalid."),
            None,
        ),
        (
            "timezone",
            "xyz",
            "22023",
            "invalid value for parameter \"TimeZone\": \"xyz\"",
            None,
            None,
        ),
        (
            "timezone",
            "168",
            "22023",
            "invalid value for parameter \"TimeZone\": \"168\"",
            Some("UTC timezone offset is out of range."),
            None,
        ),
        (
            "client_encoding",
            "bogus",
            "22023",
            "invalid value for parameter \"client_encoding\": \"bogus\"",
            None,
            None,
        ),
        (
            "client_encoding",
            "MULE_INTERNAL",
            "0A000",
            "invalid value for parameter \"client_encoding\": \"MULE_INTERNAL\"",
            Some("Conversion between MULE_INTERNAL and UTF8 is not supported."),
            None,
        ),
        (
            "client_encoding",
            "euc-jp",
            "0A000",
            "invalid value for parameter \"client_encoding\": \"euc-jp\"",
            Some("Conversion between EUC_JP and UTF8 is not supported."),
            Some(
                "ferrogres converts only these client encodings: SQL_ASCII, UTF8, LATIN1, LATIN2, LATIN3, LATIN4, LATIN5, LATIN6, LATIN7, LATIN8, LATIN9, LATIN10, WIN1256, WIN1258, WIN866, WIN874, KOI8R, WIN1251, WIN1252, ISO_8859_5, ISO_8859_6, ISO_8859_7, ISO_8859_8, WIN1250, WIN1253, WIN1254, WIN1255, WIN1257, KOI8U.",
            ),
        ),
        (
            "lc_messages",
            "xx_XX",
            "22023",
            "invalid value for parameter \"lc_messages\": \"xx_XX\"",
            None,
            None,
        ),
        (
            "timezone_abbreviations",
            "india",
            "22023",
            "invalid value for parameter \"timezone_abbreviations\": \"india\"",
            None,
            None,
        ),
        (
            "default_text_search_config",
            "foo",
            "22023",
            "invalid value for parameter \"default_text_search_config\": \"foo\"",
            None,
            None,
        ),
        (
            "default_table_access_method",
            "foo",
            "22023",
            "invalid value for parameter \"default_table_access_method\": \"foo\"",
            Some("Table access method \"foo\" does not exist."),
            None,
        ),
        (
            "default_table_access_method",
            "",
            "22023",
            "invalid value for parameter \"default_table_access_method\": \"\"",
            Some("default_table_access_method cannot be empty."),
            None,
        ),
        (
            "search_path",
            "\"unterminated",
            "22023",
            "invalid value for parameter \"search_path\": \"\"unterminated\"",
            Some("List syntax is invalid."),
            None,
        ),
        (
            "log_destination",
            "stderr",
            "55P02",
            "parameter \"log_destination\" cannot be changed now",
            None,
            None,
        ),
    ];
    for (name, value, code, message, detail, hint) in cases {
        let e = set_err(&mut s, name, value);
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (*code, *message),
            "SET {name} = {value:?}"
        );
        assert_eq!(
            e.detail.as_deref(),
            *detail,
            "detail of SET {name} = {value:?}"
        );
        assert_eq!(e.hint.as_deref(), *hint, "hint of SET {name} = {value:?}");
        assert_eq!(e.severity, Severity::Error);
    }
    // Stats options exclude each other, with PostgreSQL's bool message.
    set(&mut s, "log_statement_stats", "on");
    let e = set_err(&mut s, "log_parser_stats", "on");
    assert_eq!(
        e.message,
        "invalid value for parameter \"log_parser_stats\": 1"
    );
    assert_eq!(
        e.detail.as_deref(),
        Some("Cannot enable parameter when \"log_statement_stats\" is true.")
    );
    // Nothing above changed anything.
    assert_eq!(show(&s, "work_mem"), "4MB");
    assert_eq!(show(&s, "DateStyle"), "ISO, MDY");
}

#[test]
fn superuser_only_parameters_need_a_superuser() {
    let mut s = Settings::new();
    let e = s
        .set("log_min_messages", Some("debug1"), false, false)
        .unwrap_err();
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        (
            sqlstate::INSUFFICIENT_PRIVILEGE,
            "permission denied to set parameter \"log_min_messages\""
        )
    );
    s.set("log_min_messages", Some("debug1"), false, true)
        .unwrap();
    assert_eq!(show(&s, "log_min_messages"), "debug1");
    s.set("work_mem", Some("8MB"), false, false).unwrap();
    let e = s.reset("log_min_messages", false).unwrap_err();
    assert_eq!(e.sqlstate, sqlstate::INSUFFICIENT_PRIVILEGE);
}

#[test]
fn show_of_unknown_parameters_fails_and_custom_ones_are_strings() {
    let mut s = Settings::new();
    let e = s.show("nosuch").unwrap_err();
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        ("42704", "unrecognized configuration parameter \"nosuch\"")
    );
    assert_eq!(
        s.show("myapp.bar").unwrap_err().message,
        "unrecognized configuration parameter \"myapp.bar\""
    );
    assert_eq!(s.current_setting("myapp.bar", true).unwrap(), None);
    set(&mut s, "MyApp.Bar", "42");
    assert_eq!(show(&s, "myapp.bar"), "42");
    assert_eq!(s.get_str("myapp.bar"), "42");
    assert!(
        s.show_all().iter().all(|(name, _, _)| name != "MyApp.Bar"),
        "placeholders are hidden from SHOW ALL"
    );
}

#[test]
fn long_names_are_truncated_with_a_notice() {
    let mut s = Settings::new();
    let long = "a".repeat(79);
    set(&mut s, "application_name", &long);
    assert_eq!(show(&s, "application_name"), "a".repeat(63));
    let notices = s.take_notices();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].severity, Severity::Notice);
    assert_eq!(notices[0].sqlstate, "42622");
    assert_eq!(
        notices[0].message,
        format!(
            "identifier \"{long}\" will be truncated to \"{}\"",
            "a".repeat(63)
        )
    );
    assert!(s.take_notices().is_empty());
}

#[test]
fn typed_getters_return_base_units() {
    let mut s = Settings::new();
    assert_eq!(s.get_int("shared_buffers"), 16384);
    assert_eq!(s.get_int("checkpoint_timeout"), 300);
    assert_eq!(s.get_int("bgwriter_delay"), 200);
    assert_eq!(s.get_int("log_rotation_age"), 1440);
    assert_eq!(s.get_int("max_wal_size"), 1024);
    assert_eq!(s.get_real("checkpoint_completion_target"), 0.9);
    assert!(s.get_bool("fsync"));
    assert_eq!(s.get_str("wal_level"), "replica");
    assert_eq!(s.get_str("log_line_prefix"), "%m [%p] ");
    set(&mut s, "statement_timeout", "2min");
    assert_eq!(s.get_int("statement_timeout"), 120_000);
}

#[test]
#[should_panic(expected = "unknown configuration parameter")]
fn getters_panic_on_unknown_names() {
    Settings::new().get_int("no_such_parameter");
}

#[test]
#[should_panic(expected = "is not an integer")]
fn getters_panic_on_the_wrong_type() {
    Settings::new().get_int("fsync");
}

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

#[test]
fn set_local_reverts_at_commit_and_set_stays() {
    let mut s = Settings::new();
    // BEGIN; SET work_mem='1MB'; SET LOCAL work_mem='2MB'; SHOW → 2MB; COMMIT; SHOW → 1MB
    s.at_transaction_start();
    set(&mut s, "work_mem", "1MB");
    s.set("work_mem", Some("2MB"), true, true).unwrap();
    assert_eq!(show(&s, "work_mem"), "2MB");
    s.at_transaction_end(true);
    assert_eq!(show(&s, "work_mem"), "1MB");
    // BEGIN; SET LOCAL work_mem='3MB'; SET work_mem='5MB'; COMMIT → 5MB
    s.at_transaction_start();
    s.set("work_mem", Some("3MB"), true, true).unwrap();
    set(&mut s, "work_mem", "5MB");
    s.at_transaction_end(true);
    assert_eq!(show(&s, "work_mem"), "5MB");
    // BEGIN; SET work_mem='7MB'; ROLLBACK → 5MB
    s.at_transaction_start();
    set(&mut s, "work_mem", "7MB");
    s.set("DateStyle", Some("german"), true, true).unwrap();
    s.at_transaction_end(false);
    assert_eq!(show(&s, "work_mem"), "5MB");
    assert_eq!(show(&s, "DateStyle"), "ISO, MDY");
    // SET LOCAL in an implicit transaction has no lasting effect.
    s.at_transaction_start();
    s.set("work_mem", Some("9MB"), true, true).unwrap();
    s.at_transaction_end(true);
    assert_eq!(show(&s, "work_mem"), "5MB");
    // ... nor outside any transaction.
    s.set("work_mem", Some("9MB"), true, true).unwrap();
    assert_eq!(show(&s, "work_mem"), "5MB");
    // RESET inside a rolled-back transaction is undone too.
    s.at_transaction_start();
    s.reset("work_mem", true).unwrap();
    assert_eq!(show(&s, "work_mem"), "4MB");
    s.at_transaction_end(false);
    assert_eq!(show(&s, "work_mem"), "5MB");
    // RESET ALL likewise.
    s.at_transaction_start();
    s.reset_all();
    assert_eq!(show(&s, "work_mem"), "4MB");
    s.at_transaction_end(false);
    assert_eq!(show(&s, "work_mem"), "5MB");
}

#[test]
fn savepoints_nest_set_and_set_local() {
    let mut s = Settings::new();
    // BEGIN; SET work_mem='11MB'; SAVEPOINT a; SET work_mem='12MB'; ROLLBACK TO a; → 11MB; COMMIT → 11MB
    s.at_transaction_start();
    set(&mut s, "work_mem", "11MB");
    let a = s.at_subtransaction_start();
    set(&mut s, "work_mem", "12MB");
    s.at_subtransaction_end(false, a);
    assert_eq!(show(&s, "work_mem"), "11MB");
    s.at_transaction_end(true);
    assert_eq!(show(&s, "work_mem"), "11MB");

    // A SET inside a released savepoint survives the commit; a SET LOCAL does not.
    s.at_transaction_start();
    let b = s.at_subtransaction_start();
    set(&mut s, "work_mem", "13MB");
    s.set("statement_timeout", Some("1s"), true, true).unwrap();
    s.at_subtransaction_end(true, b);
    assert_eq!(show(&s, "work_mem"), "13MB");
    assert_eq!(show(&s, "statement_timeout"), "1s");
    s.at_transaction_end(true);
    assert_eq!(show(&s, "work_mem"), "13MB");
    assert_eq!(show(&s, "statement_timeout"), "0");

    // SET in the transaction, SET LOCAL in a released savepoint: commit keeps the SET value.
    s.at_transaction_start();
    set(&mut s, "work_mem", "14MB");
    let c = s.at_subtransaction_start();
    s.set("work_mem", Some("15MB"), true, true).unwrap();
    s.at_subtransaction_end(true, c);
    assert_eq!(show(&s, "work_mem"), "15MB");
    s.at_transaction_end(true);
    assert_eq!(show(&s, "work_mem"), "14MB");

    // Rolling back the whole transaction undoes released savepoints too.
    s.at_transaction_start();
    let d = s.at_subtransaction_start();
    set(&mut s, "work_mem", "16MB");
    s.at_subtransaction_end(true, d);
    s.at_transaction_end(false);
    assert_eq!(show(&s, "work_mem"), "14MB");
}

#[test]
fn transaction_modes_start_from_their_defaults() {
    let mut s = Settings::new();
    set(&mut s, "default_transaction_isolation", "repeatable read");
    s.at_transaction_start();
    assert_eq!(show(&s, "transaction_isolation"), "repeatable read");
    set(&mut s, "transaction_isolation", "serializable");
    assert_eq!(show(&s, "transaction_isolation"), "serializable");
    s.at_transaction_end(true);
    s.at_transaction_start();
    assert_eq!(show(&s, "transaction_isolation"), "repeatable read");
    s.at_transaction_end(true);
    let row = s
        .pg_settings_rows()
        .into_iter()
        .find(|r| r.name == "transaction_read_only")
        .unwrap();
    assert_eq!(row.source, "override");
}

#[test]
fn reset_goes_back_to_the_file_or_client_value() {
    let mut s = Settings::new();
    s.set_from_client("application_name", "psql").unwrap();
    set(&mut s, "application_name", "other");
    s.reset("application_name", false).unwrap();
    assert_eq!(show(&s, "application_name"), "psql");
    set(&mut s, "work_mem", "8MB");
    s.set("work_mem", None, false, false).unwrap(); // SET work_mem TO DEFAULT
    assert_eq!(show(&s, "work_mem"), "4MB");
    // RESET ALL leaves the transaction modes and is_superuser alone.
    s.set_internal("is_superuser", "on");
    set(&mut s, "work_mem", "8MB");
    set(&mut s, "DateStyle", "sql");
    s.reset_all();
    assert_eq!(show(&s, "work_mem"), "4MB");
    assert_eq!(show(&s, "DateStyle"), "ISO, MDY");
    assert_eq!(show(&s, "application_name"), "psql");
    assert_eq!(show(&s, "is_superuser"), "on");
}

#[test]
fn startup_packet_options_follow_backend_contexts() {
    let mut s = Settings::new();
    s.set_from_client("DateStyle", "ISO, DMY").unwrap();
    assert_eq!(show(&s, "DateStyle"), "ISO, DMY");
    s.set_from_client("ignore_system_indexes", "on").unwrap();
    let e = s.set_from_client("log_connections", "on").unwrap_err();
    assert_eq!(
        e.message,
        "permission denied to set parameter \"log_connections\""
    );
    let e = s.set_from_client("work_mem", "1kB").unwrap_err();
    assert_eq!(e.sqlstate, "22023");
    let e = s.set_from_client("log_min_messages", "debug1").unwrap_err();
    assert_eq!(
        e.message,
        "permission denied to set parameter \"log_min_messages\""
    );
    s.set_internal("is_superuser", "on");
    s.set_from_client("log_connections", "on").unwrap();
    s.set_from_client("log_min_messages", "debug1").unwrap();
    let e = s.set_from_client("shared_buffers", "1MB").unwrap_err();
    assert_eq!(
        e.message,
        "parameter \"shared_buffers\" cannot be changed without restarting the server"
    );
    let row = s
        .pg_settings_rows()
        .into_iter()
        .find(|r| r.name == "DateStyle")
        .unwrap();
    assert_eq!(row.source, "client");
}

#[test]
fn set_args_are_flattened_like_postgres() {
    let s = Settings::new();
    let args = [
        SetArg::Str("$user"),
        SetArg::Str("public"),
        SetArg::Str("My Schema"),
    ];
    assert_eq!(
        s.flatten_set_args("search_path", &args).unwrap().as_deref(),
        Some("\"$user\", public, \"My Schema\"")
    );
    assert_eq!(
        s.flatten_set_args("DateStyle", &[SetArg::Str("ISO"), SetArg::Str("DMY")])
            .unwrap()
            .as_deref(),
        Some("ISO, DMY")
    );
    assert_eq!(
        s.flatten_set_args("work_mem", &[SetArg::Integer(64)])
            .unwrap()
            .as_deref(),
        Some("64")
    );
    assert_eq!(
        s.flatten_set_args("random_page_cost", &[SetArg::Float("1.5")])
            .unwrap()
            .as_deref(),
        Some("1.5")
    );
    assert_eq!(s.flatten_set_args("work_mem", &[]).unwrap(), None);
    let e = s
        .flatten_set_args("work_mem", &[SetArg::Integer(1), SetArg::Integer(2)])
        .unwrap_err();
    assert_eq!(e.message, "SET work_mem takes only one argument");
}

// ---------------------------------------------------------------------------
// ParameterStatus
// ---------------------------------------------------------------------------

#[test]
fn reported_parameters_are_the_guc_report_ones_then_only_changes() {
    let mut s = Settings::new();
    s.set_internal("is_superuser", "on");
    s.set_internal("session_authorization", "alice");
    s.set_from_client("application_name", "psql").unwrap();
    assert!(
        s.take_reported_changes().is_empty(),
        "nothing is reported before the initial burst"
    );
    let all = s.reported_parameters();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "application_name",
            "client_encoding",
            "DateStyle",
            "default_transaction_read_only",
            "in_hot_standby",
            "integer_datetimes",
            "IntervalStyle",
            "is_superuser",
            "server_encoding",
            "server_version",
            "session_authorization",
            "standard_conforming_strings",
            "TimeZone",
        ]
    );
    assert!(all.contains(&("server_version".to_string(), "15.0".to_string())));
    assert!(all.contains(&("session_authorization".to_string(), "alice".to_string())));
    assert!(s.take_reported_changes().is_empty());
    set(&mut s, "work_mem", "8MB");
    assert!(
        s.take_reported_changes().is_empty(),
        "work_mem is not GUC_REPORT"
    );
    s.at_transaction_start();
    set(&mut s, "DateStyle", "sql");
    assert_eq!(
        s.take_reported_changes(),
        vec![("DateStyle".to_string(), "SQL, MDY".to_string())]
    );
    s.at_transaction_end(false);
    assert_eq!(
        s.take_reported_changes(),
        vec![("DateStyle".to_string(), "ISO, MDY".to_string())]
    );
    set(&mut s, "TimeZone", "UTC");
    set(&mut s, "TimeZone", "GMT");
    assert!(
        s.take_reported_changes().is_empty(),
        "back to what was reported"
    );
}

// ---------------------------------------------------------------------------
// pg_settings and SHOW ALL
// ---------------------------------------------------------------------------

#[test]
fn pg_settings_rows_match_postgres_15() {
    let mut s = Settings::new();
    set(&mut s, "work_mem", "8MB");
    let rows = s.pg_settings_rows();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} row"))
            .clone()
    };
    let o = |s: &str| Some(s.to_string());

    let shared_buffers = row("shared_buffers");
    assert_eq!(
        shared_buffers,
        PgSettingsRow {
            name: "shared_buffers".into(),
            setting: "16384".into(),
            unit: o("8kB"),
            category: "Resource Usage / Memory".into(),
            short_desc: "Sets the number of shared memory buffers used by the server.".into(),
            extra_desc: None,
            context: "postmaster".into(),
            vartype: "integer".into(),
            source: "default".into(),
            min_val: o("16"),
            max_val: o("1073741823"),
            enumvals: None,
            boot_val: o("16384"),
            reset_val: o("16384"),
            sourcefile: None,
            sourceline: None,
            pending_restart: false,
        }
    );
    let work_mem = row("work_mem");
    assert_eq!(
        (
            work_mem.setting.as_str(),
            work_mem.source.as_str(),
            work_mem.reset_val.as_deref()
        ),
        ("8192", "session", Some("4096"))
    );
    assert_eq!(
        work_mem.extra_desc.as_deref(),
        Some(
            "This much memory can be used by each internal sort operation and hash table before switching to temporary disk files."
        )
    );
    let isolation = row("default_transaction_isolation");
    let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    // PostgreSQL 15 prints these text[] as {serializable,"repeatable read","read committed","read uncommitted"}, ...
    assert_eq!(
        isolation.enumvals,
        strings(&[
            "serializable",
            "repeatable read",
            "read committed",
            "read uncommitted"
        ])
    );
    assert_eq!(
        row("ssl_max_protocol_version").enumvals,
        strings(&["", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"])
    );
    assert_eq!(
        row("archive_mode").enumvals,
        strings(&["always", "on", "off"])
    );
    assert_eq!(
        row("synchronous_commit").enumvals,
        strings(&["local", "remote_write", "remote_apply", "on", "off"])
    );
    let cost = row("random_page_cost");
    assert_eq!(
        (
            cost.vartype.as_str(),
            cost.min_val.as_deref(),
            cost.max_val.as_deref()
        ),
        ("real", Some("0"), Some("1.79769e+308"))
    );
    let delay = row("autovacuum_vacuum_cost_delay");
    assert_eq!(
        (
            delay.setting.as_str(),
            delay.unit.as_deref(),
            delay.min_val.as_deref()
        ),
        ("2", Some("ms"), Some("-1"))
    );
    let perms = row("unix_socket_permissions");
    assert_eq!(
        (
            perms.setting.as_str(),
            perms.boot_val.as_deref(),
            perms.reset_val.as_deref()
        ),
        ("0777", Some("511"), Some("511"))
    );
    let archive = row("archive_command");
    assert_eq!(
        (archive.setting.as_str(), archive.boot_val.as_deref()),
        ("(disabled)", Some(""))
    );
    let tz = row("TimeZone");
    assert_eq!(
        (
            tz.context.as_str(),
            tz.vartype.as_str(),
            tz.boot_val.as_deref()
        ),
        ("user", "string", Some("GMT"))
    );
    let external = row("external_pid_file");
    assert_eq!((external.boot_val, external.reset_val), (None, None));
    let abbrevs = row("timezone_abbreviations");
    assert_eq!(
        (
            abbrevs.boot_val,
            abbrevs.reset_val.as_deref(),
            abbrevs.source.as_str()
        ),
        (None, Some("Default"), "default")
    );
    let stack = row("max_stack_depth");
    assert_eq!(
        (stack.boot_val.as_deref(), stack.unit.as_deref()),
        (Some("100"), Some("kB"))
    );
    assert_eq!(row("log_connections").context, "superuser-backend");
    assert_eq!(row("block_size").context, "internal");
    assert_eq!(row("wal_segment_size").unit.as_deref(), Some("B"));
    assert_eq!(row("log_rotation_age").unit.as_deref(), Some("min"));
    assert_eq!(row("enable_seqscan").vartype, "bool");
    for hidden in ["is_superuser", "session_authorization", "role", "seed"] {
        assert!(
            rows.iter().all(|r| r.name != hidden),
            "{hidden} is not in pg_settings"
        );
    }
}

#[test]
fn show_all_is_sorted_ignoring_case() {
    let s = Settings::new();
    let all = s.show_all();
    assert_eq!(
        all.len(),
        PARAMS.len() - 4,
        "all but is_superuser, session_authorization, role and seed"
    );
    let names: Vec<String> = all.iter().map(|(n, _, _)| n.to_ascii_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(all[0].0, "allow_in_place_tablespaces");
    let datestyle = all.iter().position(|(n, _, _)| n == "DateStyle").unwrap();
    assert!(
        all[datestyle - 1].0.as_str() < "datestyle" && all[datestyle + 1].0.as_str() > "datestyle"
    );
    assert!(all.contains(&(
        "work_mem".into(),
        "4MB".into(),
        "Sets the maximum memory to be used for query workspaces.".into()
    )));
}

// ---------------------------------------------------------------------------
// Configuration files
// ---------------------------------------------------------------------------

#[test]
fn startup_load_reads_both_files_and_records_where_values_came_from() {
    let dir = DataDir::new("startup");
    dir.write_conf(
        "# a comment\nport = 5433\nshared_buffers = 256MB\nwork_mem = '8MB'\nmyapp.mode = 'fast'\nlog_line_prefix = '%t [%p] '\n",
    );
    dir.write_auto_conf("# Do not edit this file manually!\nwork_mem = '16MB'\n");
    let mut s = Settings::new();
    s.set_command_line("max_connections", "50").unwrap();
    let log = s.load_config_files(dir.path(), false).unwrap();
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(s.get_int("port"), 5433);
    assert_eq!(show(&s, "shared_buffers"), "256MB");
    assert_eq!(
        show(&s, "work_mem"),
        "16MB",
        "postgresql.auto.conf is read last"
    );
    assert_eq!(show(&s, "myapp.mode"), "fast");
    assert_eq!(s.get_int("max_connections"), 50);
    assert_eq!(
        show(&s, "wal_buffers"),
        "8MB",
        "auto-tuned to shared_buffers / 32"
    );
    let data_dir = dir.path().to_string_lossy().into_owned();
    assert_eq!(show(&s, "data_directory"), data_dir);
    assert_eq!(show(&s, "config_file"), dir.conf_path());
    assert_eq!(show(&s, "hba_file"), format!("{data_dir}/pg_hba.conf"));
    assert_eq!(show(&s, "ident_file"), format!("{data_dir}/pg_ident.conf"));

    let rows = s.pg_settings_rows();
    let row = |name: &str| rows.iter().find(|r| r.name == name).unwrap().clone();
    let port = row("port");
    assert_eq!(
        (
            port.source.as_str(),
            port.sourcefile.as_deref(),
            port.sourceline
        ),
        (
            "configuration file",
            Some(dir.conf_path().as_str()),
            Some(2)
        )
    );
    let auto_conf = format!("{data_dir}/postgresql.auto.conf");
    let work_mem = row("work_mem");
    assert_eq!(
        (work_mem.sourcefile.as_deref(), work_mem.sourceline),
        (Some(auto_conf.as_str()), Some(2))
    );
    assert_eq!(row("max_connections").source, "command line");
    assert_eq!(row("data_directory").source, "override");
    assert_eq!(row("wal_buffers").source, "default");
}

#[test]
fn startup_load_fails_on_syntax_errors_bad_values_and_unknown_names() {
    let dir = DataDir::new("startup_errors");
    let conf = dir.conf_path();
    for (text, message) in [
        (
            "work_mem = 1 2\n",
            format!("syntax error in file \"{conf}\" line 1, near token \"2\""),
        ),
        (
            "work_mem = abc\n",
            "invalid value for parameter \"work_mem\": \"abc\"".to_string(),
        ),
        (
            "work_mem = 8MB\nmax_connections = 0\n",
            "0 is outside the valid range for parameter \"max_connections\" (1 .. 262143)"
                .to_string(),
        ),
        (
            "work_mem = 8MB\nnosuch = 0\n",
            format!("unrecognized configuration parameter \"nosuch\" in file \"{conf}\" line 2"),
        ),
        (
            "block_size = 4096\n",
            "parameter \"block_size\" cannot be changed".to_string(),
        ),
    ] {
        dir.write_conf(text);
        let mut s = Settings::new();
        let e = s.load_config_files(dir.path(), false).unwrap_err();
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (sqlstate::CONFIG_FILE_ERROR, message.as_str()),
            "for {text:?}"
        );
        let report = Settings::new().process_config_files(dir.path(), false);
        assert_eq!(
            report.log.last().unwrap(),
            &(
                Severity::Fatal,
                format!("configuration file \"{conf}\" contains errors")
            )
        );
    }
    // A missing postgresql.conf is an error; a missing postgresql.auto.conf is skipped.
    let empty = DataDir::new("no_conf");
    let e = Settings::new()
        .load_config_files(empty.path(), false)
        .unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "could not open configuration file \"{}\": No such file or directory",
            empty.conf_path()
        )
    );
    empty.write_conf("");
    let log = Settings::new()
        .load_config_files(empty.path(), false)
        .unwrap();
    let auto = empty
        .path()
        .join("postgresql.auto.conf")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        messages(&log),
        [format!("skipping missing configuration file \"{auto}\"")]
    );
}

#[test]
fn reload_applies_changes_ignores_postmaster_ones_and_resets_removed_ones() {
    let dir = DataDir::new("reload");
    let conf = dir.conf_path();
    dir.write_conf("port = 5433\nwork_mem = 8MB\nlog_min_duration_statement = '1s'\nmyapp.x = 1\nmax_wal_size = 1GB\n");
    dir.write_auto_conf("");
    let mut s = Settings::new();
    s.set_command_line("unix_socket_directories", "/tmp/sockets")
        .unwrap();
    s.load_config_files(dir.path(), false).unwrap();

    // The same lines as the PostgreSQL 15 server log for this edit.
    dir.write_conf("port = 5434\nwork_mem = 16MB\nmax_wal_size = 2GB\nunix_socket_directories = '/elsewhere'\n");
    let log = s.load_config_files(dir.path(), true).unwrap();
    assert_eq!(
        messages(&log),
        [
            "parameter \"log_min_duration_statement\" removed from configuration file, reset to default",
            "parameter \"myapp.x\" removed from configuration file, reset to default",
            "parameter \"port\" cannot be changed without restarting the server",
            "parameter \"work_mem\" changed to \"16MB\"",
            "parameter \"max_wal_size\" changed to \"2GB\"",
            "parameter \"unix_socket_directories\" cannot be changed without restarting the server",
            &format!(
                "configuration file \"{conf}\" contains errors; unaffected changes were applied"
            ),
        ]
    );
    assert!(log.iter().all(|(severity, _)| *severity == Severity::Log));
    assert_eq!(
        s.get_int("port"),
        5433,
        "a postmaster parameter keeps its value until restart"
    );
    assert_eq!(show(&s, "unix_socket_directories"), "/tmp/sockets");
    assert_eq!(show(&s, "work_mem"), "16MB");
    assert_eq!(show(&s, "log_min_duration_statement"), "-1");
    assert_eq!(show(&s, "myapp.x"), "");
    let rows = s.pg_settings_rows();
    assert!(
        rows.iter()
            .find(|r| r.name == "port")
            .unwrap()
            .pending_restart
    );
    assert!(
        !rows
            .iter()
            .find(|r| r.name == "work_mem")
            .unwrap()
            .pending_restart
    );

    // Putting the old port back clears pending_restart; nothing else to say.
    dir.write_conf("port = 5433\nwork_mem = 16MB\nmax_wal_size = 2GB\n");
    let log = s.load_config_files(dir.path(), true).unwrap();
    assert!(log.is_empty(), "{log:?}");
    assert!(
        !s.pg_settings_rows()
            .iter()
            .find(|r| r.name == "port")
            .unwrap()
            .pending_restart
    );

    // Removing a postmaster parameter from the file also needs a restart.
    dir.write_conf("work_mem = 16MB\nmax_wal_size = 2GB\n");
    let log = s.load_config_files(dir.path(), true).unwrap();
    assert_eq!(
        messages(&log),
        [
            "parameter \"port\" cannot be changed without restarting the server".to_string(),
            format!(
                "configuration file \"{conf}\" contains errors; unaffected changes were applied"
            ),
        ]
    );
}

#[test]
fn reload_with_a_syntax_error_changes_nothing() {
    let dir = DataDir::new("reload_syntax");
    let conf = dir.conf_path();
    dir.write_conf("work_mem = 8MB\n");
    dir.write_auto_conf("");
    let mut s = Settings::new();
    s.load_config_files(dir.path(), false).unwrap();
    dir.write_conf("work_mem = 16MB\nfoo bar baz\n");
    let e = s.load_config_files(dir.path(), true).unwrap_err();
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        (
            sqlstate::CONFIG_FILE_ERROR,
            format!("syntax error in file \"{conf}\" line 2, near token \"baz\"").as_str()
        )
    );
    assert_eq!(show(&s, "work_mem"), "8MB");
    let report = s.process_config_files(dir.path(), true);
    assert!(!report.applied);
    assert_eq!(
        report.log.last().unwrap().1,
        format!("configuration file \"{conf}\" contains errors; no changes were applied")
    );

    dir.write_conf("work_mem = 16MB\nnosuch_param = 1\n");
    let e = s.load_config_files(dir.path(), true).unwrap_err();
    assert_eq!(
        e.message,
        format!("unrecognized configuration parameter \"nosuch_param\" in file \"{conf}\" line 2")
    );
    assert_eq!(show(&s, "work_mem"), "8MB");

    // A bad value only skips its own line.
    dir.write_conf("work_mem = abc\nmaintenance_work_mem = 100MB\n");
    let log = s.load_config_files(dir.path(), true).unwrap();
    assert_eq!(
        messages(&log),
        [
            "invalid value for parameter \"work_mem\": \"abc\"".to_string(),
            "parameter \"maintenance_work_mem\" changed to \"100MB\"".to_string(),
            format!(
                "configuration file \"{conf}\" contains errors; unaffected changes were applied"
            ),
        ]
    );
    assert_eq!(show(&s, "maintenance_work_mem"), "100MB");
}

#[test]
fn session_and_command_line_values_outrank_a_reload() {
    let dir = DataDir::new("reload_priority");
    dir.write_conf("work_mem = 8MB\nstatement_timeout = 0\n");
    dir.write_auto_conf("");
    let mut s = Settings::new();
    s.set_command_line("statement_timeout", "5s").unwrap();
    s.load_config_files(dir.path(), false).unwrap();
    assert_eq!(show(&s, "statement_timeout"), "5s");
    set(&mut s, "work_mem", "1MB");

    dir.write_conf("work_mem = 32MB\nstatement_timeout = 1min\n");
    let log = s.load_config_files(dir.path(), true).unwrap();
    assert!(log.is_empty(), "neither current value changed: {log:?}");
    assert_eq!(show(&s, "work_mem"), "1MB", "SET outranks the file");
    assert_eq!(show(&s, "statement_timeout"), "5s", "-c outranks the file");
    s.reset("work_mem", false).unwrap();
    assert_eq!(
        show(&s, "work_mem"),
        "32MB",
        "but RESET goes to the new file value"
    );

    // A reload inside a transaction updates the value a rollback restores.
    s.at_transaction_start();
    set(&mut s, "work_mem", "2MB");
    dir.write_conf("work_mem = 64MB\n");
    s.load_config_files(dir.path(), true).unwrap();
    s.at_transaction_end(false);
    assert_eq!(show(&s, "work_mem"), "64MB");
}

#[test]
fn children_of_the_postmaster_reload_quietly_and_keep_backend_parameters() {
    let dir = DataDir::new("reload_child");
    dir.write_conf("work_mem = 8MB\n");
    dir.write_auto_conf("");
    let mut s = Settings::new();
    s.load_config_files(dir.path(), false).unwrap();
    s.set_under_postmaster(true);
    dir.write_conf("work_mem = 16MB\nport = 6000\nignore_system_indexes = on\n");
    let report = s.process_config_files(dir.path(), true);
    assert!(
        report
            .log
            .iter()
            .all(|(severity, _)| *severity == Severity::Debug2),
        "{:?}",
        report.log
    );
    assert!(report.log.iter().all(|(_, m)| !m.contains("changed to")));
    assert_eq!(show(&s, "work_mem"), "16MB");
    assert!(
        !s.get_bool("ignore_system_indexes"),
        "backend parameters stay as the session started"
    );
}

#[test]
fn duplicate_lines_take_the_last_and_name_case_is_ignored() {
    let dir = DataDir::new("duplicates");
    dir.write_conf(
        "WORK_MEM = 6MB\nwork_mem = +7MB\nDateStyle = 'sql, dmy'\ndatestyle = 'iso, ymd'\n",
    );
    let mut s = Settings::new();
    s.load_config_files(dir.path(), false).unwrap();
    assert_eq!(s.get_int("work_mem"), 7168);
    assert_eq!(show(&s, "DateStyle"), "ISO, YMD");
}

// ---------------------------------------------------------------------------
// ALTER SYSTEM
// ---------------------------------------------------------------------------

#[test]
fn alter_system_writes_postgresql_auto_conf_like_postgres() {
    let dir = DataDir::new("alter_system");
    dir.write_conf("");
    let mut s = Settings::new();
    s.load_config_files(dir.path(), false).unwrap();
    let d = dir.path();
    s.alter_system(d, "work_mem", Some("10MB")).unwrap();
    s.alter_system(d, "search_path", Some("a, \"B c\""))
        .unwrap();
    s.alter_system(d, "port", Some("5439")).unwrap();
    s.alter_system(d, "log_line_prefix", Some("%m \\ 'x'"))
        .unwrap();
    s.alter_system(d, "Work_Mem", Some("30MB")).unwrap();
    s.alter_system(d, "enable_seqscan", Some("yes")).unwrap();
    // The file PostgreSQL 15 wrote for the same statements.
    assert_eq!(
        dir.read_auto_conf(),
        "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n\
         search_path = 'a, \"B c\"'\n\
         port = '5439'\n\
         log_line_prefix = '%m \\\\ ''x'''\n\
         Work_Mem = '30MB'\n\
         enable_seqscan = 'yes'\n"
    );
    assert!(!d.join("postgresql.auto.conf.tmp").exists());

    // Errors, as PostgreSQL 15 reports them.
    for (name, value, code, message) in [
        (
            "is_superuser",
            Some("on"),
            "55P02",
            "parameter \"is_superuser\" cannot be changed",
        ),
        (
            "transaction_isolation",
            Some("serializable"),
            "55P02",
            "parameter \"transaction_isolation\" cannot be changed",
        ),
        (
            "data_directory",
            Some("/x"),
            "55P02",
            "parameter \"data_directory\" cannot be changed",
        ),
        (
            "nosuch",
            Some("1"),
            "42704",
            "unrecognized configuration parameter \"nosuch\"",
        ),
        (
            "myapp.foo",
            Some("1"),
            "42704",
            "unrecognized configuration parameter \"myapp.foo\"",
        ),
        (
            "work_mem",
            Some("abc"),
            "22023",
            "invalid value for parameter \"work_mem\": \"abc\"",
        ),
        (
            "timezone",
            Some("foo"),
            "22023",
            "invalid value for parameter \"TimeZone\": \"foo\"",
        ),
        (
            "application_name",
            Some("a\nb"),
            "22023",
            "parameter value for ALTER SYSTEM must not contain a newline",
        ),
    ] {
        let e = s.alter_system(d, name, value).unwrap_err();
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (code, message),
            "ALTER SYSTEM SET {name}"
        );
    }

    // The reload picks the values up; escapes survive the round trip.
    s.load_config_files(d, true).unwrap();
    assert_eq!(show(&s, "work_mem"), "30MB");
    assert_eq!(show(&s, "log_line_prefix"), "%m \\ 'x'");
    assert_eq!(show(&s, "search_path"), "a, \"B c\"");

    s.alter_system(d, "work_mem", None).unwrap();
    assert!(!dir.read_auto_conf().contains("Work_Mem"));
    s.alter_system(d, "all", None).unwrap();
    assert_eq!(
        dir.read_auto_conf(),
        "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n"
    );
    let log = s.load_config_files(d, true).unwrap();
    assert!(
        messages(&log)
            .contains(&"parameter \"work_mem\" removed from configuration file, reset to default")
    );
}

// ---------------------------------------------------------------------------
// The sample configuration
// ---------------------------------------------------------------------------

#[test]
fn sample_config_loads_to_the_defaults() {
    let dir = DataDir::new("sample");
    fs::write(
        dir.path().join("postgresql.conf"),
        sample_config(5432, None),
    )
    .unwrap();
    dir.write_auto_conf(super::guc_file::AUTO_CONF_HEADER);
    let mut s = Settings::new();
    let log = s.load_config_files(dir.path(), false).unwrap();
    assert!(log.is_empty(), "{log:?}");
    let fresh = Settings::new();
    let expected_changes = [
        ("TimeZone", "UTC"),
        ("log_timezone", "UTC"),
        ("lc_messages", "C"),
        ("default_text_search_config", "pg_catalog.english"),
        ("wal_buffers", "4MB"),
    ];
    let locations = ["config_file", "data_directory", "hba_file", "ident_file"];
    for (name, value, _) in s.show_all() {
        if locations.contains(&name.as_str()) {
            continue;
        }
        let expected = expected_changes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| show(&fresh, &name));
        assert_eq!(value, expected, "{name} after loading the sample");
    }
    let sample = sample_config(5432, None);
    let uncommented: Vec<&str> = sample
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        uncommented,
        [
            "max_connections",
            "shared_buffers",
            "dynamic_shared_memory_type",
            "max_wal_size",
            "min_wal_size",
            "log_timezone",
            "datestyle",
            "timezone",
            "lc_messages",
            "lc_monetary",
            "lc_numeric",
            "lc_time",
            "default_text_search_config",
        ]
    );

    // With a port and a socket directory.
    let text = sample_config(5433, Some("/run/ferro'grès"));
    assert!(text.contains("\nport = 5433\t\t\t\t# (change requires restart)\n"));
    assert!(text.contains(
        "\nunix_socket_directories = '/run/ferro''grès'\t# comma-separated list of directories\n"
    ));
    fs::write(dir.path().join("postgresql.conf"), text).unwrap();
    let mut s = Settings::new();
    s.load_config_files(dir.path(), false).unwrap();
    assert_eq!(s.get_int("port"), 5433);
    assert_eq!(show(&s, "unix_socket_directories"), "/run/ferro'grès");
}

#[test]
fn every_commented_out_sample_line_is_a_valid_default() {
    // "The commented-out settings shown in this file represent the default
    // values": uncommenting each one must parse, validate and give the
    // default (save the platform- or build-dependent ones listed here).
    let platform_dependent = [
        "data_directory",
        "hba_file",
        "ident_file",
        "krb_server_keyfile",
        "bgwriter_flush_after",
        "checkpoint_flush_after",
        "wal_sync_method",
        "include_dir",
        "include_if_exists",
        "include",
        "max_stack_depth",
        "client_encoding",
    ];
    let mut checked = 0;
    for line in sample_config(5432, None).lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((name, _)) = rest.split_once(" = ") else {
            continue;
        };
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            || platform_dependent.contains(&name)
        {
            continue;
        }
        let mut state = super::guc_file::ParseState::new(Path::new("/"), Severity::Log);
        assert!(
            super::guc_file::parse_config_fp(rest.as_bytes(), "sample", 0, &mut state),
            "{line}: {:?}",
            state.log
        );
        let item = &state.items[0];
        let mut s = Settings::new();
        s.set_command_line(&item.name, &item.value)
            .unwrap_or_else(|e| panic!("{line}: {}", e.message));
        let fresh = Settings::new();
        assert_eq!(show(&s, name), show(&fresh, name), "{line}");
        checked += 1;
    }
    assert!(checked > 250, "only {checked} sample lines checked");
}
