//! Enum types through a real driver: psycopg 3's `EnumInfo.fetch` reads
//! the type's `pg_type` and `pg_enum` rows, and values round-trip as text
//! and binary parameters and results. SQL-level behaviour is in
//! `tests/differential/enum.sql`.

mod common;

use common::*;

#[test]
fn psycopg_fetches_enum_info_and_round_trips_values() {
    let s = Server::builder().start();
    let stdout = run_psycopg_script(&s, "psycopg_enum.py");
    let mut want = vec!["ok EnumInfo labels".to_string()];
    for fmt in ["text", "binary"] {
        for res in ["text", "binary"] {
            want.push(format!("ok {fmt} parameters, {res} results"));
        }
    }
    want.push("ok bad label error".into());
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want, "{stdout}");
    assert_no_crash(&s);
}
