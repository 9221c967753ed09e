//! uuid through real drivers: psycopg 3 sends `uuid.UUID` parameters in
//! text and binary format and reads uuid columns in both (the extended
//! protocol's binary uuid is 16 raw bytes, as `uuid_send`/`uuid_recv`).
//! The rust `postgres` crate needs its `with-uuid-1` feature for uuid, so
//! it is not used here. SQL-level behaviour is in
//! `tests/differential/uuid.sql`.

mod common;

use common::*;

#[test]
fn psycopg_round_trips_uuid_in_text_and_binary() {
    let s = Server::builder().start();
    let stdout = run_psycopg_script(&s, "psycopg_uuid.py");
    let mut want = Vec::new();
    for fmt in ["text", "binary"] {
        for check in [
            "rows in uuid order",
            "column type oid",
            "result of a binary uuid parameter",
            "result of a text uuid parameter",
            "gen_random_uuid is a version 4 uuid.UUID",
            "binary parameter prints canonically",
        ] {
            want.push(format!("ok {fmt} {check}"));
        }
    }
    want.push("ok update with a binary uuid".into());
    want.push("ok a 3-byte binary uuid is an error".into());
    want.push("ok the session goes on after it".into());
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want);
}
