//! json and jsonb through a real driver: psycopg 3 sends `Json`/`Jsonb`
//! parameters in text and binary format (binary json is the text, binary
//! jsonb a version byte 1 and the text, as `jsonb_send`/`jsonb_recv`) and
//! reads json and jsonb columns in both; a bad version byte is an error and
//! a parse error carries PostgreSQL's CONTEXT line. SQL-level behaviour is
//! in `tests/differential/json.sql` and `jsonb.sql`.

mod common;

use common::*;

#[test]
fn psycopg_round_trips_json_and_jsonb_in_text_and_binary() {
    let s = Server::builder().start();
    let stdout = run_psycopg_script(&s, "psycopg_json.py");
    let mut want = Vec::new();
    for fmt in ["text", "binary"] {
        for check in [
            "rows",
            "column type oids",
            "result of a binary jsonb parameter",
            "result of a text jsonb parameter",
            "binary jsonb parameter prints canonically",
            "binary json parameter keeps its text",
            "an operator's jsonb result",
        ] {
            want.push(format!("ok {fmt} {check}"));
        }
    }
    want.push("ok a version 2 binary jsonb is an error".into());
    want.push("ok bad json context".into());
    want.push("ok the session goes on after it".into());
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want);
}

/// A 100 MB jsonb and deeply nested input are errors or work, never a crash.
#[test]
fn large_and_deep_json_are_clean_errors() {
    let s = Server::builder().start();
    let deep = run_psql(&s.socket_dir, s.port, "SELECT repeat('[', 1000000)::jsonb");
    assert!(deep.contains("stack depth limit exceeded"), "{deep}");
    let deep = run_psql(
        &s.socket_dir,
        s.port,
        "SELECT (repeat('{\"a\":', 100000) || '1' || repeat('}', 100000))::json IS NULL",
    );
    assert!(deep.contains("stack depth limit exceeded"), "{deep}");
    let big = run_psql(
        &s.socket_dir,
        s.port,
        "SELECT jsonb_array_length(('[' || repeat('1,', 5000000) || '1]')::jsonb)",
    );
    assert!(big.contains("5000001"), "{big}");
    let long = run_psql(
        &s.socket_dir,
        s.port,
        "SELECT length(('\"' || repeat('x', 270000000) || '\"')::jsonb::text)",
    );
    assert!(
        long.contains("string too long to represent as jsonb string"),
        "{long}"
    );
    let ok = run_psql(&s.socket_dir, s.port, "SELECT 1");
    assert!(ok.contains('1'), "{ok}");
}
