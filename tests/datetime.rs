//! The date/time types through a real driver: psycopg 3 stores and reads
//! time, interval, date, timestamp and timestamptz in text and binary
//! format (tests/drivers/psycopg_datetime.py).

mod common;

use common::*;

#[test]
fn psycopg_round_trips_date_time_types_in_text_and_binary() {
    let s = Server::builder().start();
    let stdout = run_psycopg_script(&s, "psycopg_datetime.py");
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
