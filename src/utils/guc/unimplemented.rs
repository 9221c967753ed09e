//! The audit of `pg_settings`: which parameters ferrogres accepts without
//! giving them PostgreSQL's effect.
//!
//! Every parameter of PostgreSQL 15 is in the table of `params.rs`, so that
//! `SHOW`, `pg_settings`, `postgresql.conf` and drivers that set them keep
//! working. A parameter falls in one of four groups:
//!
//! 1. **Implemented**: the server does what PostgreSQL does with it.
//! 2. **Read-only** (context `internal`): it reports a fact and cannot be set.
//! 3. **Not implemented** ([`NOT_IMPLEMENTED`] below): setting it to a value
//!    other than its default is accepted — a configuration written for
//!    PostgreSQL must still start — but raises a WARNING (SQLSTATE 0A000)
//!    naming the parameter, with a DETAIL saying what ferrogres lacks:
//!    to the client for SET, `set_config`, startup-packet options and ALTER
//!    SYSTEM; in the server log for the configuration files and `-c`.
//! 4. **As PostgreSQL built without the feature** ([`AS_BUILD_WITHOUT`]):
//!    PostgreSQL itself accepts these and does nothing with them when it is
//!    built without Bonjour, GSSAPI, LLVM or NLS, or runs on Linux rather
//!    than Windows; ferrogres is such a build. No WARNING.
//!
//! A fifth, small group holds vacuously: the parameter governs only objects
//! ferrogres cannot create yet (a type, an access method, a kind of
//! statement), and using those fails on its own with an error, so no value
//! of the setting can change a result. They are listed in [`VACUOUS`] so the
//! audit test can tell them from forgotten ones, and each must move to group
//! 1 when its feature lands. `row_security = off` and `check_function_bodies
//! = off`, which pg_dump's scripts set, are here: with no policies and no
//! function bodies, "off" is exactly what happens.
//!
//! The lists are sorted (a unit test checks it, and that every name is a
//! parameter of `params.rs` that can be set). `tests/settings_audit.rs`
//! walks all of `pg_settings` through a real server, sets every parameter
//! to a non-default value, and checks that exactly the parameters of
//! [`NOT_IMPLEMENTED`] warn — and that the README lists the same names.

use crate::utils::elog::{PgError, Severity, sqlstate};

/// Why a group of parameters has no effect yet.
const PLANNER: &str = "ferrogres has no cost-based planner yet: every query has one plan shape.";
const PARALLEL: &str = "ferrogres has no parallel query yet.";
const REPLICATION: &str = "ferrogres has no streaming or logical replication yet.";
const STANDBY: &str = "ferrogres has no standby servers yet.";
const OPENSSL: &str =
    "ferrogres's TLS is rustls, which takes no OpenSSL cipher lists or DH parameter files.";
const PRELOAD: &str = "ferrogres cannot load shared libraries or extensions.";
const WRAPAROUND: &str = "Transaction ids are 64 bits wide in ferrogres: there is no wraparound to prevent, and no multixacts.";
const WRITEBACK: &str = "ferrogres does not ask the kernel to write back dirty data early.";
const SERIALIZABLE: &str =
    "ferrogres has no predicate locks: SERIALIZABLE runs as REPEATABLE READ.";
const DEBUG_OUTPUT: &str = "ferrogres has no parse, rewrite or plan trees to print.";
const STATS_LOG: &str = "ferrogres does not collect per-statement resource usage.";
const TABLESPACES: &str = "ferrogres has no tablespaces yet.";
const LOG_SAMPLING: &str = "ferrogres does not sample statements or transactions for the log.";
const SYSLOG: &str = "ferrogres logs to stderr and its logging collector only, never to syslog.";
const WAL_TUNING: &str = "ferrogres's WAL writer does not implement this tuning.";
const TRACE: &str = "ferrogres has no such trace output.";
const SOCKETS: &str = "ferrogres does not set this socket option.";

/// Parameters whose non-default values ferrogres accepts with a WARNING, and
/// why. Sorted by name (lower-cased).
pub(super) static NOT_IMPLEMENTED: &[(&str, &str)] = &[
    ("allow_in_place_tablespaces", TABLESPACES),
    (
        "allow_system_table_mods",
        "ferrogres never allows DDL on system catalogs.",
    ),
    ("archive_cleanup_command", STANDBY),
    ("archive_library", PRELOAD),
    (
        "array_nulls",
        "Array input always reads an unquoted NULL as a null element.",
    ),
    ("autovacuum_freeze_max_age", WRAPAROUND),
    ("autovacuum_multixact_freeze_max_age", WRAPAROUND),
    (
        "autovacuum_work_mem",
        "VACUUM keeps all dead tuple ids of a pass in memory.",
    ),
    ("backend_flush_after", WRITEBACK),
    (
        "backslash_quote",
        "The scanner always accepts \\' in E'' strings.",
    ),
    (
        "backtrace_functions",
        "ferrogres does not write backtraces for errors.",
    ),
    ("bgwriter_flush_after", WRITEBACK),
    ("checkpoint_flush_after", WRITEBACK),
    (
        "checkpoint_warning",
        "ferrogres does not warn about checkpoints that come too often.",
    ),
    (
        "client_connection_check_interval",
        "ferrogres notices a vanished client only when it next reads or writes.",
    ),
    ("commit_delay", WAL_TUNING),
    ("commit_siblings", WAL_TUNING),
    (
        "compute_query_id",
        "ferrogres computes no query identifiers.",
    ),
    (
        "config_file",
        "The configuration file is always DATADIR/postgresql.conf.",
    ),
    ("constraint_exclusion", PLANNER),
    ("cpu_index_tuple_cost", PLANNER),
    ("cpu_operator_cost", PLANNER),
    ("cpu_tuple_cost", PLANNER),
    ("cursor_tuple_fraction", PLANNER),
    (
        "data_sync_retry",
        "A failed fsync of a data file is always a PANIC.",
    ),
    (
        "db_user_namespace",
        "ferrogres has no per-database user names.",
    ),
    ("debug_pretty_print", DEBUG_OUTPUT),
    ("debug_print_parse", DEBUG_OUTPUT),
    ("debug_print_plan", DEBUG_OUTPUT),
    ("debug_print_rewritten", DEBUG_OUTPUT),
    (
        "default_statistics_target",
        "ANALYZE samples a fixed number of rows.",
    ),
    ("default_tablespace", TABLESPACES),
    ("default_transaction_deferrable", SERIALIZABLE),
    ("dynamic_library_path", PRELOAD),
    ("dynamic_shared_memory_type", PARALLEL),
    ("effective_cache_size", PLANNER),
    (
        "effective_io_concurrency",
        "ferrogres does not prefetch heap pages.",
    ),
    ("enable_async_append", PLANNER),
    ("enable_bitmapscan", PLANNER),
    ("enable_gathermerge", PLANNER),
    ("enable_hashagg", PLANNER),
    ("enable_hashjoin", PLANNER),
    ("enable_incremental_sort", PLANNER),
    ("enable_indexonlyscan", PLANNER),
    ("enable_indexscan", PLANNER),
    ("enable_material", PLANNER),
    ("enable_memoize", PLANNER),
    ("enable_mergejoin", PLANNER),
    ("enable_nestloop", PLANNER),
    ("enable_parallel_append", PLANNER),
    ("enable_parallel_hash", PLANNER),
    ("enable_partition_pruning", PLANNER),
    ("enable_partitionwise_aggregate", PLANNER),
    ("enable_partitionwise_join", PLANNER),
    ("enable_seqscan", PLANNER),
    ("enable_sort", PLANNER),
    ("enable_tidscan", PLANNER),
    (
        "escape_string_warning",
        "ferrogres never warns about backslashes in ordinary string literals.",
    ),
    ("exit_on_error", "An ERROR never ends the session."),
    ("extension_destdir", PRELOAD),
    (
        "external_pid_file",
        "ferrogres writes only DATADIR/postmaster.pid.",
    ),
    ("force_parallel_mode", PARALLEL),
    ("from_collapse_limit", PLANNER),
    ("geqo", PLANNER),
    ("geqo_effort", PLANNER),
    ("geqo_generations", PLANNER),
    ("geqo_pool_size", PLANNER),
    ("geqo_seed", PLANNER),
    ("geqo_selection_bias", PLANNER),
    ("geqo_threshold", PLANNER),
    ("hot_standby", STANDBY),
    ("hot_standby_feedback", STANDBY),
    (
        "huge_page_size",
        "ferrogres maps its shared memory with normal pages.",
    ),
    (
        "huge_pages",
        "ferrogres maps its shared memory with normal pages.",
    ),
    (
        "ignore_checksum_failure",
        "ferrogres does not checksum data pages.",
    ),
    (
        "ignore_invalid_pages",
        "Invalid page references in WAL always stop recovery.",
    ),
    (
        "ignore_system_indexes",
        "ferrogres's catalogs have no indexes yet.",
    ),
    ("join_collapse_limit", PLANNER),
    (
        "lc_monetary",
        "ferrogres has no money type or locale-aware formatting yet.",
    ),
    (
        "lc_numeric",
        "ferrogres has no locale-aware number formatting yet.",
    ),
    (
        "lc_time",
        "ferrogres has no locale-aware date formatting yet.",
    ),
    ("local_preload_libraries", PRELOAD),
    (
        "log_autovacuum_min_duration",
        "ferrogres does not log autovacuum actions.",
    ),
    (
        "log_destination",
        "ferrogres writes the log as stderr-format text only (no csvlog, jsonlog or syslog).",
    ),
    (
        "log_error_verbosity",
        "Log lines always carry the DEFAULT level of detail.",
    ),
    ("log_executor_stats", STATS_LOG),
    (
        "log_hostname",
        "ferrogres does not resolve client host names.",
    ),
    ("log_min_duration_sample", LOG_SAMPLING),
    (
        "log_parameter_max_length",
        "ferrogres does not log bind parameters.",
    ),
    (
        "log_parameter_max_length_on_error",
        "ferrogres does not log bind parameters.",
    ),
    ("log_parser_stats", STATS_LOG),
    ("log_planner_stats", STATS_LOG),
    ("log_recovery_conflict_waits", STANDBY),
    ("log_replication_commands", REPLICATION),
    (
        "log_startup_progress_interval",
        "ferrogres does not log progress of long startup operations.",
    ),
    ("log_statement_sample_rate", LOG_SAMPLING),
    ("log_statement_stats", STATS_LOG),
    ("log_transaction_sample_rate", LOG_SAMPLING),
    ("logical_decoding_work_mem", REPLICATION),
    (
        "maintenance_io_concurrency",
        "ferrogres does not prefetch heap pages.",
    ),
    (
        "maintenance_work_mem",
        "index builds sort in memory, and VACUUM keeps all dead tuple ids of a pass in memory.",
    ),
    (
        "max_files_per_process",
        "ferrogres does not cache or limit open files per process.",
    ),
    ("max_logical_replication_workers", REPLICATION),
    ("max_parallel_maintenance_workers", PARALLEL),
    ("max_parallel_workers", PARALLEL),
    ("max_parallel_workers_per_gather", PARALLEL),
    ("max_pred_locks_per_page", SERIALIZABLE),
    ("max_pred_locks_per_relation", SERIALIZABLE),
    ("max_pred_locks_per_transaction", SERIALIZABLE),
    (
        "max_prepared_transactions",
        "ferrogres has no two-phase commit (PREPARE TRANSACTION) yet.",
    ),
    ("max_replication_slots", REPLICATION),
    ("max_slot_wal_keep_size", REPLICATION),
    (
        "max_stack_depth",
        "The expression depth limit is fixed; the backend raises its own stack limit to 64 MB.",
    ),
    ("max_standby_archive_delay", STANDBY),
    ("max_standby_streaming_delay", STANDBY),
    ("max_sync_workers_per_subscription", REPLICATION),
    ("min_dynamic_shared_memory", PARALLEL),
    ("min_parallel_index_scan_size", PARALLEL),
    ("min_parallel_table_scan_size", PARALLEL),
    (
        "old_snapshot_threshold",
        "Old snapshots never become too old in ferrogres.",
    ),
    ("parallel_leader_participation", PARALLEL),
    ("parallel_setup_cost", PARALLEL),
    ("parallel_tuple_cost", PARALLEL),
    (
        "plan_cache_mode",
        "ferrogres plans every execution of a prepared statement afresh.",
    ),
    ("post_auth_delay", "ferrogres has no debugging delays."),
    ("pre_auth_delay", "ferrogres has no debugging delays."),
    ("primary_conninfo", STANDBY),
    ("primary_slot_name", STANDBY),
    ("promote_trigger_file", STANDBY),
    (
        "quote_all_identifiers",
        "ferrogres has no SQL deparsing that would quote identifiers.",
    ),
    ("random_page_cost", PLANNER),
    (
        "recovery_end_command",
        "ferrogres does not run a command at the end of archive recovery.",
    ),
    (
        "recovery_init_sync_method",
        "Crash recovery does not fsync the data directory before it starts.",
    ),
    ("recovery_min_apply_delay", STANDBY),
    ("recursive_worktable_factor", PLANNER),
    ("seed", "ferrogres's random() cannot be seeded yet."),
    ("seq_page_cost", PLANNER),
    ("session_preload_libraries", PRELOAD),
    (
        "session_replication_role",
        "ferrogres has no triggers or foreign keys for it to switch off yet.",
    ),
    (
        "shared_memory_type",
        "ferrogres's shared memory is always an anonymous shared mapping (mmap).",
    ),
    ("shared_preload_libraries", PRELOAD),
    ("ssl_ciphers", OPENSSL),
    ("ssl_dh_params_file", OPENSSL),
    (
        "standard_conforming_strings",
        "The scanner always treats backslashes in ordinary strings as plain characters.",
    ),
    (
        "stats_fetch_consistency",
        "Statistics views always read the current counters.",
    ),
    ("synchronous_standby_names", REPLICATION),
    ("syslog_facility", SYSLOG),
    ("syslog_ident", SYSLOG),
    ("syslog_sequence_numbers", SYSLOG),
    ("syslog_split_messages", SYSLOG),
    ("tcp_keepalives_count", SOCKETS),
    ("tcp_keepalives_idle", SOCKETS),
    ("tcp_keepalives_interval", SOCKETS),
    ("tcp_user_timeout", SOCKETS),
    ("temp_buffers", "ferrogres has no temporary tables yet."),
    ("temp_tablespaces", TABLESPACES),
    (
        "timezone_abbreviations",
        "Only the Default set of time zone abbreviations is known.",
    ),
    ("trace_notify", TRACE),
    ("trace_recovery_messages", TRACE),
    ("trace_sort", TRACE),
    (
        "track_activity_query_size",
        "pg_stat_activity.query keeps a fixed number of bytes.",
    ),
    (
        "track_commit_timestamp",
        "ferrogres does not record commit timestamps.",
    ),
    (
        "track_functions",
        "ferrogres does not count function calls.",
    ),
    (
        "track_io_timing",
        "ferrogres does not time block reads and writes.",
    ),
    ("track_wal_io_timing", "ferrogres does not time WAL writes."),
    ("transaction_deferrable", SERIALIZABLE),
    (
        "transform_null_equals",
        "expr = NULL is never rewritten to expr IS NULL.",
    ),
    ("update_process_title", "Process titles are always updated."),
    ("vacuum_defer_cleanup_age", REPLICATION),
    ("vacuum_failsafe_age", WRAPAROUND),
    ("vacuum_freeze_table_age", WRAPAROUND),
    ("vacuum_multixact_failsafe_age", WRAPAROUND),
    ("vacuum_multixact_freeze_min_age", WRAPAROUND),
    ("vacuum_multixact_freeze_table_age", WRAPAROUND),
    (
        "wal_compression",
        "ferrogres does not compress full-page images.",
    ),
    (
        "wal_consistency_checking",
        "ferrogres does not check redo against full-page images.",
    ),
    (
        "wal_decode_buffer_size",
        "Recovery reads WAL without prefetching.",
    ),
    ("wal_init_zero", WAL_TUNING),
    ("wal_keep_size", REPLICATION),
    (
        "wal_level",
        "ferrogres writes the same WAL at every wal_level; logical decoding needs more.",
    ),
    (
        "wal_log_hints",
        "ferrogres does not WAL-log hint-bit changes.",
    ),
    ("wal_receiver_create_temp_slot", STANDBY),
    ("wal_receiver_status_interval", STANDBY),
    ("wal_receiver_timeout", STANDBY),
    ("wal_recycle", WAL_TUNING),
    ("wal_retrieve_retry_interval", STANDBY),
    ("wal_sender_timeout", REPLICATION),
    ("wal_skip_threshold", WAL_TUNING),
    ("wal_sync_method", "WAL is always flushed with fdatasync."),
    ("wal_writer_flush_after", WAL_TUNING),
    (
        "zero_damaged_pages",
        "ferrogres does not checksum data pages, so it finds no damaged ones to zero.",
    ),
];

/// Parameters PostgreSQL itself ignores when built without Bonjour, GSSAPI,
/// LLVM or NLS, or on Linux: ferrogres is such a build (group 4). Nothing
/// consults this list but the tests: it records the decision.
#[cfg(test)]
pub(super) static AS_BUILD_WITHOUT: &[&str] = &[
    "bonjour", // `on` is refused, as PostgreSQL without Bonjour does
    "bonjour_name",
    "event_source", // Windows only
    "jit",
    "jit_above_cost",
    "jit_debugging_support",
    "jit_dump_bitcode",
    "jit_expressions",
    "jit_inline_above_cost",
    "jit_optimize_above_cost",
    "jit_profiling_support",
    "jit_provider",
    "jit_tuple_deforming",
    "krb_caseins_users",
    "krb_server_keyfile",
    "lc_messages", // messages are English, as without --enable-nls
];

/// Parameters that govern only what ferrogres cannot create yet (group 5).
/// Like [`AS_BUILD_WITHOUT`], a record checked by the tests.
#[cfg(test)]
pub(super) static VACUOUS: &[&str] = &[
    "check_function_bodies",                  // no CREATE FUNCTION yet
    "default_table_access_method",            // only `heap` is accepted, and heap is what is used
    "default_text_search_config",             // no text search yet
    "default_toast_compression",              // no TOAST yet
    "gin_fuzzy_search_limit",                 // no GIN indexes yet
    "gin_pending_list_limit",                 // no GIN indexes yet
    "lo_compat_privileges",                   // no large objects yet
    "password_encryption",                    // no CREATE/ALTER ROLE ... PASSWORD yet
    "restrict_nonsystem_relation_kind",       // no views or foreign tables yet
    "row_security",                           // no row-level security policies yet
    "ssl_passphrase_command_supports_reload", // ssl_passphrase_command is refused (0A000)
    "synchronize_seqscans",                   // scans always start at block 0, as with `off`
    "xmlbinary",                              // no xml type yet
    "xmloption",                              // no xml type yet
];

/// The DETAIL for a parameter ferrogres does not implement, if it is one
/// (`name` already canonical, any case).
pub(super) fn not_implemented(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    NOT_IMPLEMENTED
        .binary_search_by(|(n, _)| (*n).cmp(lower.as_str()))
        .ok()
        .map(|i| NOT_IMPLEMENTED[i].1)
}

/// Values of a not-implemented parameter that still need no WARNING because
/// they are what ferrogres does anyway.
pub(super) fn harmless_value(name: &str, shown: &str) -> bool {
    match name.to_ascii_lowercase().as_str() {
        // initdb writes the machine's locale; "C" behaviour is what we have.
        "lc_monetary" | "lc_numeric" | "lc_time" => {
            matches!(shown, "C" | "POSIX" | "C.UTF-8" | "C.utf8" | "")
        }
        // fdatasync is what ferrogres uses.
        "wal_sync_method" => shown == "fdatasync",
        // Higher levels are accepted for archiving and backups, which work.
        "wal_level" => shown == "replica" || shown == "minimal",
        _ => false,
    }
}

/// The WARNING for setting `name` to `shown` (not its default), or None if
/// ferrogres implements the parameter or the value is harmless.
pub(super) fn warning(name: &str, shown: &str) -> Option<PgError> {
    let detail = not_implemented(name)?;
    if harmless_value(name, shown) {
        return None;
    }
    Some(
        PgError::new(
            Severity::Warning,
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "parameter \"{name}\" is not implemented by ferrogres; its value has no effect"
            ),
        )
        .with_detail(detail),
    )
}

#[cfg(test)]
mod tests {
    use super::super::GucContext;
    use super::super::params::PARAMS;
    use super::*;

    fn param(name: &str) -> &'static super::super::params::ParamDef {
        PARAMS
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("{name} is not a parameter"))
    }

    #[test]
    fn lists_are_sorted_settable_parameters_in_one_group_each() {
        let names: Vec<&str> = NOT_IMPLEMENTED.iter().map(|(n, _)| *n).collect();
        for list in [&names[..], AS_BUILD_WITHOUT, VACUOUS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "not sorted: {list:?}");
            for name in list {
                assert_eq!(*name, name.to_ascii_lowercase());
                assert_ne!(param(name).context, GucContext::Internal, "{name}");
            }
        }
        for name in &names {
            assert!(
                !AS_BUILD_WITHOUT.contains(name) && !VACUOUS.contains(name),
                "{name}"
            );
        }
        for name in AS_BUILD_WITHOUT {
            assert!(!VACUOUS.contains(name), "{name}");
        }
    }

    #[test]
    fn warning_names_the_parameter_and_says_why() {
        let w = warning("enable_seqscan", "off").expect("warns");
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.sqlstate, "0A000");
        assert!(w.message.contains("\"enable_seqscan\""), "{}", w.message);
        assert_eq!(w.detail.as_deref(), Some(PLANNER));
        assert!(warning("work_mem", "1MB").is_none());
        assert!(warning("DateStyle", "SQL, DMY").is_none());
        assert!(warning("IntervalStyle", "iso_8601").is_none());
        assert!(warning("lc_numeric", "C.UTF-8").is_none());
        assert!(warning("lc_numeric", "de_DE.UTF-8").is_some());
    }
}
