//! The logging collector: files under log_directory, log_line_prefix,
//! log_connections/log_disconnections, log_min_messages and rotation.

mod common;

use std::time::Duration;

use common::*;

fn log_files(s: &Server) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(s.data.join("log"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn all_logs(s: &Server) -> String {
    log_files(s)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect()
}

#[test]
fn collector_writes_prefixed_lines_with_connections_and_disconnections() {
    let s = Server::builder()
        .conf("logging_collector = on")
        .conf("log_line_prefix = '%m [%p] %q%u@%d app=%a %e '")
        .conf("log_connections = on")
        .conf("log_disconnections = on")
        .start();
    s.psql("SELECT 1");
    let _ = s.psql_output("SELECT 1/0", &[]);
    assert!(
        wait_until(Duration::from_secs(10), || all_logs(&s)
            .contains("disconnection: session time:")),
        "{}",
        all_logs(&s)
    );
    let text = all_logs(&s);
    assert!(
        text.contains(
            "connection authorized: user=postgres database=postgres application_name=psql"
        ),
        "{text}"
    );
    assert!(
        text.contains("postgres@postgres app=psql 22012 ERROR:  division by zero"),
        "{text}"
    );
    assert!(text.contains("STATEMENT:  SELECT 1/0"), "{text}");
    // Background processes stop the prefix at %q.
    assert!(
        text.lines().any(
            |l| l.contains("] database system is ready to accept connections")
                || l.contains("LOG:  database system is ready")
        ),
        "{text}"
    );
    // The stderr of the postmaster went to the collector after the redirect notice.
    assert!(
        s.log()
            .contains("redirecting log output to logging collector process")
    );
    assert!(!s.log().contains("connection authorized"));
}

#[test]
fn log_rotation_size_starts_new_files() {
    let s = Server::builder()
        .conf("logging_collector = on")
        .conf("log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'")
        .conf("log_rotation_size = 10kB")
        .conf("log_min_error_statement = error")
        .start();
    // Each failing statement writes two lines; produce well over 10 kB, over a few seconds
    // so that file names (which have one-second resolution) differ.
    for round in 0..3 {
        let sql: String = (0..60)
            .map(|i| format!("SELECT {round}{i}/0;"))
            .collect::<Vec<_>>()
            .join("");
        for stmt in sql.split(';').filter(|x| !x.is_empty()) {
            let _ = s.psql_output(stmt, &[]);
        }
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert!(
        wait_until(Duration::from_secs(10), || log_files(&s).len() >= 2),
        "no rotation: {:?}",
        log_files(&s)
    );
}

#[test]
fn log_min_messages_filters_the_server_log() {
    let s = Server::builder()
        .conf("log_min_messages = fatal")
        .conf("log_connections = on")
        .start();
    let _ = s.psql_output("SELECT 1/0", &[]);
    std::thread::sleep(Duration::from_millis(300));
    let log = s.log();
    assert!(!log.contains("division by zero"), "{log}");
    assert!(!log.contains("connection authorized"), "{log}");
}

#[test]
fn log_rotation_age_starts_a_new_file_at_the_next_minute_boundary() {
    let s = Server::builder()
        .conf("logging_collector = on")
        .conf("log_filename = 'postgresql-%H%M%S.log'")
        .conf("log_rotation_age = 1min")
        .conf("log_connections = on")
        .start();
    // One file at first (two already if the server started just before a
    // minute boundary).
    assert!(wait_until(Duration::from_secs(5), || !log_files(&s).is_empty()));
    // Rotation happens at the next whole minute (PostgreSQL aligns it to the clock).
    assert!(
        wait_until(Duration::from_secs(70), || log_files(&s).len() >= 2),
        "no time-based rotation: {:?}",
        log_files(&s)
    );
    s.psql("SELECT 1");
    let newest = log_files(&s).pop().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || std::fs::read_to_string(&newest)
            .unwrap_or_default()
            .contains("connection authorized")),
        "new lines do not go to the new file"
    );
    let name = newest.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.ends_with("00.log"),
        "rotated file {name} does not start on a minute boundary"
    );
}
