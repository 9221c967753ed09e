//! The postgresql.conf that initdb writes: PostgreSQL 15's
//! `postgresql.conf.sample` (kept verbatim beside this file) with the
//! substitutions initdb's `setup_config` makes on Linux.

/// PostgreSQL 15's postgresql.conf.sample, unmodified.
const SAMPLE: &str = include_str!("postgresql.conf.sample");

/// initdb's edits: each first token is replaced by the second, keeping the
/// rest of the line (its comment). The commented-out flush settings show the
/// Linux defaults, the uncommented lines are what initdb decides.
const INITDB_SUBSTITUTIONS: &[(&str, &str)] = &[
    ("#max_connections = 100", "max_connections = 100"),
    ("#shared_buffers = 128MB", "shared_buffers = 128MB"),
    (
        "#dynamic_shared_memory_type = posix",
        "dynamic_shared_memory_type = posix",
    ),
    ("#bgwriter_flush_after = 0", "#bgwriter_flush_after = 512kB"),
    (
        "#checkpoint_flush_after = 0",
        "#checkpoint_flush_after = 256kB",
    ),
    ("#max_wal_size = 1GB", "max_wal_size = 1GB"),
    ("#min_wal_size = 80MB", "min_wal_size = 80MB"),
    ("#log_timezone = 'GMT'", "log_timezone = 'UTC'"),
    ("#datestyle = 'iso, mdy'", "datestyle = 'iso, mdy'"),
    ("#timezone = 'GMT'", "timezone = 'UTC'"),
    ("#lc_messages = 'C'", "lc_messages = 'C'"),
    ("#lc_monetary = 'C'", "lc_monetary = 'C'"),
    ("#lc_numeric = 'C'", "lc_numeric = 'C'"),
    ("#lc_time = 'C'", "lc_time = 'C'"),
    (
        "#default_text_search_config = 'pg_catalog.simple'",
        "default_text_search_config = 'pg_catalog.english'",
    ),
];

/// initdb's `replace_token`: replaces the first occurrence of `token` in
/// the text; the sample must contain it.
fn replace_token(text: &mut String, token: &str, replacement: &str) {
    let at = text
        .find(token)
        .unwrap_or_else(|| panic!("postgresql.conf.sample lacks {token:?}"));
    text.replace_range(at..at + token.len(), replacement);
}

/// The postgresql.conf that initdb writes: PostgreSQL 15's sample with
/// initdb's settings uncommented (max_connections, shared_buffers,
/// dynamic_shared_memory_type, max_wal_size, min_wal_size, log_timezone,
/// datestyle, timezone, lc_*, default_text_search_config), plus
/// `port = N` when `port != 5432` and `unix_socket_directories` when given.
/// Loading it gives every parameter its default, except the time zones
/// (`UTC`), `lc_messages` (`C`) and `default_text_search_config`
/// (`pg_catalog.english`), as after PostgreSQL's initdb.
pub fn sample_config(port: u16, unix_socket_directories: Option<&str>) -> String {
    let mut text = SAMPLE.to_string();
    for (token, replacement) in INITDB_SUBSTITUTIONS {
        replace_token(&mut text, token, replacement);
    }
    if port != 5432 {
        replace_token(&mut text, "#port = 5432", &format!("port = {port}"));
    }
    if let Some(dirs) = unix_socket_directories {
        let quoted = dirs.replace('\\', "\\\\").replace('\'', "''");
        replace_token(
            &mut text,
            "#unix_socket_directories = '/tmp'",
            &format!("unix_socket_directories = '{quoted}'"),
        );
    }
    text
}
