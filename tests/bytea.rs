//! bytea through real drivers: the rust `postgres` crate (binary format for
//! `Vec<u8>` parameters and results) and psycopg 3 (text and binary), each
//! storing values in a table and reading them back. The text forms,
//! operators and functions are in `tests/differential/bytea.sql`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn every_byte() -> Vec<u8> {
    (0..=255).collect()
}

#[test]
fn rust_postgres_round_trips_bytea_in_binary_format() {
    let s = Server::builder().start();
    let mut c = s.connect();
    let all = every_byte();
    for v in [vec![0u8, 0xff], Vec::new(), all.clone()] {
        let row = c.query_one("SELECT $1::bytea", &[&v]).unwrap();
        assert_eq!(row.get::<_, Vec<u8>>(0), v);
        assert_eq!(row.columns()[0].type_(), &postgres::types::Type::BYTEA);
    }
    let none: Option<Vec<u8>> = None;
    let row = c.query_one("SELECT $1::bytea", &[&none]).unwrap();
    assert_eq!(row.get::<_, Option<Vec<u8>>>(0), None);
    // A parameter whose type the server infers from the column.
    c.batch_execute("CREATE TABLE blobs (id int, b bytea)")
        .unwrap();
    for (i, v) in [Some(all.clone()), Some(vec![0]), None, Some(Vec::new())]
        .iter()
        .enumerate()
    {
        c.execute("INSERT INTO blobs VALUES ($1, $2)", &[&(i as i32), v])
            .unwrap();
    }
    let rows = c.query("SELECT b FROM blobs ORDER BY id", &[]).unwrap();
    let got: Vec<Option<Vec<u8>>> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        got,
        vec![Some(all.clone()), Some(vec![0]), None, Some(Vec::new())]
    );
    let id: i32 = c
        .query_one("SELECT id FROM blobs WHERE b = $1", &[&vec![0u8]])
        .unwrap()
        .get(0);
    assert_eq!(id, 1);
    // Functions over a binary parameter, results in binary.
    let row = c
        .query_one(
            "SELECT sha256($1), length($1), $1 || '\\xff'::bytea",
            &[&b"abc".to_vec()],
        )
        .unwrap();
    assert_eq!(
        row.get::<_, Vec<u8>>(0)[..4],
        [0xba, 0x78, 0x16, 0xbf],
        "sha256('abc') starts ba7816bf"
    );
    assert_eq!(row.get::<_, i32>(1), 3);
    assert_eq!(row.get::<_, Vec<u8>>(2), b"abc\xff".to_vec());
    // Text format (simple query) follows bytea_output.
    c.batch_execute("SET bytea_output = 'escape'").unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SELECT '\\x00410a5c'::bytea").as_deref(),
        Some("\\000A\\012\\\\")
    );
    // Binary results do not depend on it.
    let row = c.query_one("SELECT $1::bytea", &[&all]).unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(0), all);
}

#[test]
fn psycopg_round_trips_bytea_as_postgresql_15_does() {
    let oracle = Oracle::start();
    let s = Server::builder().start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/psycopg_bytea.py");
    let run = |host: &Path, port: u16| {
        let out = Command::new("python3")
            .arg(&script)
            .arg(host)
            .arg(port.to_string())
            .env("HOME", "/nonexistent")
            .output()
            .expect("python3 with psycopg 3 (scripts/deps.sh installs it)");
        assert!(
            out.status.success(),
            "psycopg failed: {}{}\n--- log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            s.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let expected = run(&oracle.dir.0, oracle.port);
    assert!(
        expected.lines().count() >= 15,
        "the script checks little: {expected}"
    );
    assert!(
        !expected.contains(" False\n") && !expected.contains("False]"),
        "PostgreSQL 15 itself fails a check: {expected}"
    );
    assert_eq!(run(&s.socket_dir, s.port), expected);
}
