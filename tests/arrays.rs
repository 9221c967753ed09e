//! Arrays through real drivers: the rust `postgres` crate (binary format
//! for `Vec<Option<i32>>` / `Vec<Option<String>>` parameters and results)
//! and psycopg 3 (text and binary), compared with PostgreSQL 15. The text
//! forms, operators and functions are in `tests/differential/arrays.sql`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn rust_postgres_round_trips_int_and_text_arrays_in_binary_format() {
    let s = Server::builder().start();
    let mut c = s.connect();
    let ints: Vec<Option<i32>> = vec![Some(1), None, Some(i32::MIN), Some(i32::MAX)];
    let texts: Vec<Option<String>> = vec![
        Some("a".into()),
        None,
        Some("b c".into()),
        Some(String::new()),
        Some("NULL".into()),
        Some("\"\\{}".into()),
    ];
    let row = c
        .query_one("SELECT $1::int[], $2::text[]", &[&ints, &texts])
        .unwrap();
    assert_eq!(row.columns()[0].type_(), &postgres::types::Type::INT4_ARRAY);
    assert_eq!(row.columns()[1].type_(), &postgres::types::Type::TEXT_ARRAY);
    assert_eq!(row.get::<_, Vec<Option<i32>>>(0), ints);
    assert_eq!(row.get::<_, Vec<Option<String>>>(1), texts);
    let empty: Vec<i32> = Vec::new();
    let row = c.query_one("SELECT $1::int[]", &[&empty]).unwrap();
    assert_eq!(row.get::<_, Vec<i32>>(0), empty);
    // Stored in a table and read back; the parameter types come from the columns.
    c.batch_execute("CREATE TABLE arrs (id int, a int[], t text[])")
        .unwrap();
    c.execute(
        "INSERT INTO arrs VALUES ($1, $2, $3)",
        &[&1i32, &ints, &texts],
    )
    .unwrap();
    c.execute(
        "INSERT INTO arrs VALUES ($1, $2, $3)",
        &[&2i32, &empty, &None::<Vec<String>>],
    )
    .unwrap();
    let rows = c.query("SELECT a, t FROM arrs ORDER BY id", &[]).unwrap();
    assert_eq!(rows[0].get::<_, Vec<Option<i32>>>(0), ints);
    assert_eq!(rows[0].get::<_, Vec<Option<String>>>(1), texts);
    assert_eq!(rows[1].get::<_, Vec<i32>>(0), empty);
    assert_eq!(rows[1].get::<_, Option<Vec<String>>>(1), None);
    let id: i32 = c
        .query_one("SELECT id FROM arrs WHERE a = $1", &[&ints])
        .unwrap()
        .get(0);
    assert_eq!(id, 1);
    let n: i64 = c
        .query_one("SELECT count(*) FROM arrs WHERE $1 = ANY(t)", &[&"b c"])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // A binary array of the wrong element type is an error, not a crash.
    let bigints: Vec<i64> = vec![1, 2];
    assert!(c.query_one("SELECT $1::int[]", &[&bigints]).is_err());
    assert_eq!(Server::query_one(&mut c, "SELECT 1").as_deref(), Some("1"));
}

#[test]
fn psycopg_round_trips_arrays_as_postgresql_15_does() {
    let oracle = Oracle::start();
    let s = Server::builder().start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/psycopg_arrays.py");
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
        expected.lines().count() >= 12,
        "the script checks little: {expected}"
    );
    assert_eq!(run(&s.socket_dir, s.port), expected);
}

#[test]
fn random_array_literals_and_binary_arrays_fail_exactly_as_in_postgresql_15() {
    let oracle = Oracle::start();
    let s = Server::builder().start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/psycopg_array_fuzz.py");
    let run = |host: &Path, port: u16| {
        let out = Command::new("python3")
            .arg(&script)
            .arg(host)
            .arg(port.to_string())
            .env("HOME", "/nonexistent")
            .output()
            .expect("python3 with psycopg 3");
        assert!(
            out.status.success(),
            "psycopg failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let expected = run(&oracle.dir.0, oracle.port);
    let actual = run(&s.socket_dir, s.port);
    let differing: Vec<String> = expected
        .lines()
        .zip(actual.lines())
        .filter(|(e, a)| e != a)
        .map(|(e, a)| format!("postgres:  {e}\nferrogres: {a}"))
        .take(10)
        .collect();
    assert!(differing.is_empty(), "{}", differing.join("\n"));
    assert_eq!(expected.lines().count(), 4501);
    assert_eq!(actual.lines().count(), 4501);
    assert!(!s.log().contains("panicked"), "a backend panicked");
}
