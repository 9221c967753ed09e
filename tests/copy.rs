//! COPY as users run it: psql's `\copy` and COPY FROM STDIN with inline
//! data, server files in every format, the protocol's CopyData/CopyDone/
//! CopyFail through the `postgres` crate and psycopg 3, a bad row in the
//! middle of a large copy, COPY FREEZE and crash recovery of copied rows,
//! and `pgbench -i`'s data generation. Messages and formats themselves are
//! compared with PostgreSQL 15 in `tests/differential/copy.sql`.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// Runs a psql script from stdin (so COPY FROM STDIN reads the lines after
/// it); stdout and stderr.
fn psql_script(s: &Server, script: &str) -> (String, String) {
    let mut child = Command::new(PSQL)
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=0", "-h"])
        .arg(&s.socket_dir)
        .args([
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn psql_copies_inline_data_and_round_trips_files_in_every_format() {
    let s = Server::start();
    let dir = TempDir::new("copy-files");
    let f = |name: &str| dir.0.join(name).display().to_string();
    let script = format!(
        "CREATE TABLE ct (id int, name text, price numeric(8,2), at timestamptz, tags text[]);\n\
         COPY ct FROM STDIN;\n\
         1\tapple\t1.25\t2026-01-02 03:04:05+00\t{{red,green}}\n\
         2\t\\N\t\\N\t\\N\t\\N\n\
         3\ttab\\there\t0.5\t2026-06-30 23:59:59+00\t{{}}\n\
         \\.\n\
         \\copy ct FROM STDIN (FORMAT csv)\n\
         4,\"comma, quoted\",2,,\"{{a,\"\"b c\"\"}}\"\n\
         5,\"multi\n\
         line\",3.5,2026-12-07 00:00:00+00,\n\
         \\.\n\
         COPY ct TO '{text}';\n\
         COPY ct TO '{csv}' (FORMAT csv, HEADER);\n\
         COPY ct TO '{bin}' (FORMAT binary);\n\
         \\copy ct TO '{client}' (FORMAT csv)\n\
         CREATE TABLE ct_text (id int, name text, price numeric(8,2), at timestamptz, tags text[]);\n\
         CREATE TABLE ct_csv (id int, name text, price numeric(8,2), at timestamptz, tags text[]);\n\
         CREATE TABLE ct_bin (id int, name text, price numeric(8,2), at timestamptz, tags text[]);\n\
         CREATE TABLE ct_client (id int, name text, price numeric(8,2), at timestamptz, tags text[]);\n\
         COPY ct_text FROM '{text}';\n\
         COPY ct_csv FROM '{csv}' (FORMAT csv, HEADER MATCH);\n\
         COPY ct_bin FROM '{bin}' (FORMAT binary);\n\
         \\copy ct_client FROM '{client}' (FORMAT csv)\n\
         SELECT count(*) FROM ct;\n\
         SELECT count(*) FROM (SELECT * FROM ct EXCEPT SELECT * FROM ct_text) d;\n\
         SELECT count(*) FROM (SELECT * FROM ct EXCEPT SELECT * FROM ct_csv) d;\n\
         SELECT count(*) FROM (SELECT * FROM ct EXCEPT SELECT * FROM ct_bin) d;\n\
         SELECT count(*) FROM (SELECT * FROM ct EXCEPT SELECT * FROM ct_client) d;\n\
         SELECT count(*) FROM ct_bin WHERE name IS NULL AND price IS NULL;\n\
         SELECT name FROM ct WHERE id IN (3, 5) ORDER BY id;\n",
        text = f("ct.txt"),
        csv = f("ct.csv"),
        bin = f("ct.bin"),
        client = f("client.csv"),
    );
    let (out, err) = psql_script(&s, &script);
    assert!(err.is_empty(), "psql reported errors:\n{err}\n{}", s.log());
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["5", "0", "0", "0", "0", "1", "tab\there", "multi", "line"],
        "{out}"
    );
    let bin = std::fs::read(f("ct.bin")).unwrap();
    assert!(bin.starts_with(b"PGCOPY\n\xff\r\n\0"), "binary signature");
    assert!(bin.ends_with(&[0xff, 0xff]), "binary trailer");
    let csv = std::fs::read_to_string(f("ct.csv")).unwrap();
    assert!(
        csv.starts_with("id,name,price,at,tags\n1,apple,1.25,"),
        "{csv}"
    );
    assert_no_crash(&s);
}

#[test]
fn a_bad_row_ends_a_large_copy_and_leaves_nothing_and_the_session_goes_on() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE big (id int, v text)")
        .unwrap();
    let mut w = c.copy_in("COPY big FROM STDIN").unwrap();
    let mut failed = false;
    for i in 0..200_000 {
        let line = if i == 150_000 {
            "oops\tbad\n".to_string()
        } else {
            format!("{i}\tvalue {i}\n")
        };
        // The server may report the error before we finish sending.
        if w.write_all(line.as_bytes()).is_err() {
            failed = true;
            break;
        }
    }
    let err = match w.finish() {
        Ok(n) => panic!("a bad row was accepted ({n} rows, failed = {failed})"),
        Err(e) => e,
    };
    assert_eq!(code(&err), "22P02", "{err:?}");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(
        db.where_(),
        Some("COPY big, line 150001, column id: \"oops\"")
    );
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM big").as_deref(),
        Some("0")
    );

    // A good large copy, then its rows come back out in order.
    let mut w = c.copy_in("COPY big FROM STDIN").unwrap();
    for i in 0..100_000 {
        w.write_all(format!("{i}\tvalue {i}\n").as_bytes()).unwrap();
    }
    assert_eq!(w.finish().unwrap(), 100_000);
    let mut out = String::new();
    c.copy_out("COPY (SELECT * FROM big ORDER BY id) TO STDOUT")
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out.lines().count(), 100_000);
    assert_eq!(out.lines().nth(99_999), Some("99999\tvalue 99999"));

    // CopyFail from the client: 57014 with its message, nothing written.
    let mut w = c.copy_in("COPY big FROM STDIN").unwrap();
    w.write_all(b"-1\tnever\n").unwrap();
    drop(w);
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM big WHERE id < 0").as_deref(),
        Some("0")
    );
    assert_no_crash(&s);
}

#[test]
fn copied_rows_and_frozen_rows_survive_a_crash_and_an_aborted_freeze_leaves_none() {
    let mut s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE kept (id int); CREATE TABLE frozen (id int)")
        .unwrap();
    let mut w = c.copy_in("COPY kept FROM STDIN").unwrap();
    for i in 0..20_000 {
        w.write_all(format!("{i}\n").as_bytes()).unwrap();
    }
    assert_eq!(w.finish().unwrap(), 20_000);
    c.batch_execute("BEGIN; TRUNCATE frozen").unwrap();
    let mut w = c.copy_in("COPY frozen FROM STDIN (FREEZE)").unwrap();
    for i in 0..5_000 {
        w.write_all(format!("{i}\n").as_bytes()).unwrap();
    }
    assert_eq!(w.finish().unwrap(), 5_000);
    c.batch_execute("COMMIT").unwrap();
    // A frozen copy rolled back leaves nothing: its file goes with it.
    c.batch_execute("BEGIN; TRUNCATE frozen").unwrap();
    let mut w = c.copy_in("COPY frozen FROM STDIN (FREEZE)").unwrap();
    w.write_all(b"-1\n-2\n").unwrap();
    assert_eq!(w.finish().unwrap(), 2);
    c.batch_execute("ROLLBACK").unwrap();
    drop(c);

    // kill -9 of the postmaster and all its children, then recovery.
    kill9_server(&mut s);
    s.launch();
    assert_eq!(
        s.psql("SELECT count(*), sum(id) FROM kept"),
        "20000|199990000"
    );
    assert_eq!(s.psql("SELECT count(*), min(id) FROM frozen"), "5000|0");
}

#[test]
fn psycopg_copies_rows_in_text_and_binary_and_recovers_from_failures() {
    let s = Server::builder().start();
    let stdout = run_psycopg_script(&s, "psycopg_copy.py");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "ok text copy in count",
            "ok text copy in rows",
            "ok binary copy in rows",
            "ok text copy out rows",
            "ok binary copy out rows",
            "ok csv copy out header",
            "ok csv copy out lines",
            "ok copy out through the extended protocol",
            "ok copy in through the extended protocol",
            "ok an exception in the block ends the copy",
            "ok nothing of a failed copy is visible",
            "ok bad row sqlstate",
            "ok bad row context",
            "ok the session goes on after a failed copy",
        ]
    );
}

#[test]
fn pgbench_initialises_its_tables_with_copy() {
    let s = Server::start();
    // d: drop, t: create tables, g: generate data client side (COPY ...
    // FROM STDIN with FREEZE after TRUNCATE), v: vacuum. Primary keys
    // (p) need indexes, which do not exist yet.
    let out = Command::new("pgbench")
        .args(["-i", "-I", "dtgv", "-s", "1", "-h"])
        .arg(&s.socket_dir)
        .args(["-p", &s.port.to_string(), "-U", "postgres", "postgres"])
        .output()
        .expect("run pgbench");
    assert!(
        out.status.success(),
        "pgbench -i failed:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    assert_eq!(
        s.psql(
            "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_branches), \
             (SELECT count(*) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_history)"
        ),
        "100000|1|10|0"
    );
    assert_eq!(s.psql("SELECT sum(abalance) FROM pgbench_accounts"), "0");
}

#[test]
fn pg_stat_progress_copy_shows_a_running_copy_and_forgets_it_at_the_end() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE prog (id int, v text)")
        .unwrap();
    let table_oid = Server::query_one(&mut c, "SELECT 'prog'::regclass::oid").unwrap();
    let mut w = c.copy_in("COPY prog FROM STDIN").unwrap();
    for i in 0..50_000 {
        w.write_all(format!("{i}\tsome text for row {i}\n").as_bytes())
            .unwrap();
    }
    w.flush().unwrap();
    let mut watcher = s.connect();
    let mut seen = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            seen = Server::query_one(
                &mut watcher,
                "SELECT relid::text || ' ' || command || ' ' || type || ' ' || \
                 (tuples_processed > 0)::text || ' ' || (bytes_processed > 0)::text || ' ' || \
                 tuples_excluded || ' ' || datname FROM pg_stat_progress_copy",
            );
            seen.as_deref().is_some_and(|r| r.contains(" true true "))
        }),
        "no progress row: {seen:?}"
    );
    assert_eq!(
        seen.unwrap(),
        format!("{table_oid} COPY FROM PIPE true true 0 postgres")
    );
    assert_eq!(w.finish().unwrap(), 50_000);
    assert_eq!(
        Server::query_one(&mut watcher, "SELECT count(*) FROM pg_stat_progress_copy").as_deref(),
        Some("0")
    );
}
