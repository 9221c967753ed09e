//! The date/time types through a real driver: psycopg 3 stores and reads
//! time, interval, date, timestamp and timestamptz in text and binary
//! format (tests/drivers/psycopg_datetime.py).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn psycopg_round_trips_date_time_types_in_text_and_binary() {
    let s = Server::builder().start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/psycopg_datetime.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&s.socket_dir)
        .arg(s.port.to_string())
        .env("HOME", "/nonexistent")
        .output()
        .expect("python3 with psycopg 3 (scripts/deps.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "psycopg failed:\n{stdout}{}\n--- log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let mut want = Vec::new();
    for fmt in ["text", "binary"] {
        for check in [
            "rows",
            "column type oids",
            "binary time parameter",
            "binary interval parameter",
            "time + interval",
        ] {
            want.push(format!("ok {fmt} {check}"));
        }
    }
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want, "{stdout}");
}
