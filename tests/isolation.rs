//! Transaction isolation as clients see it: MVCC snapshots, row locks,
//! concurrent updates, deadlocks, savepoints.

mod common;

use std::time::Duration;

use common::*;

fn setup(s: &Server) {
    s.psql("CREATE TABLE acct (id int, balance int)");
    s.psql("INSERT INTO acct VALUES (1, 100), (2, 200)");
}

#[test]
fn dirty_reads_are_impossible_and_readers_do_not_block_writers() {
    let s = Server::start();
    setup(&s);
    let mut w = s.connect();
    w.batch_execute("BEGIN; UPDATE acct SET balance = 0 WHERE id = 1")
        .unwrap();
    let mut r = s.connect();
    assert_eq!(
        Server::query_one(&mut r, "SELECT balance FROM acct WHERE id = 1").as_deref(),
        Some("100")
    );
    w.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        Server::query_one(&mut r, "SELECT balance FROM acct WHERE id = 1").as_deref(),
        Some("100")
    );
    // A reader's open transaction does not block a writer.
    r.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM acct")
        .unwrap();
    w.batch_execute("UPDATE acct SET balance = balance + 1 WHERE id = 2")
        .unwrap();
    r.batch_execute("COMMIT").unwrap();
}

#[test]
fn repeatable_read_snapshot_is_stable_and_concurrent_update_fails_40001() {
    let s = Server::start();
    setup(&s);
    let mut rr = s.connect();
    rr.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .unwrap();
    assert_eq!(
        Server::query_one(&mut rr, "SELECT balance FROM acct WHERE id = 1").as_deref(),
        Some("100")
    );
    s.psql("UPDATE acct SET balance = 150 WHERE id = 1");
    assert_eq!(
        Server::query_one(&mut rr, "SELECT balance FROM acct WHERE id = 1").as_deref(),
        Some("100")
    );
    let err = rr
        .simple_query("UPDATE acct SET balance = balance + 1 WHERE id = 1")
        .unwrap_err();
    assert_eq!(code(&err), "40001");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "could not serialize access due to concurrent update"
    );
    rr.batch_execute("ROLLBACK").unwrap();
    // READ COMMITTED sees each statement's committed state.
    let mut rc = s.connect();
    rc.batch_execute("BEGIN").unwrap();
    assert_eq!(
        Server::query_one(&mut rc, "SELECT balance FROM acct WHERE id = 1").as_deref(),
        Some("150")
    );
    s.psql("UPDATE acct SET balance = 175 WHERE id = 1");
    assert_eq!(
        Server::query_one(&mut rc, "SELECT balance FROM acct WHERE id = 1").as_deref(),
        Some("175")
    );
    rc.batch_execute("COMMIT").unwrap();
}

#[test]
fn second_updater_waits_then_rechecks_no_lost_update() {
    let s = Server::start();
    setup(&s);
    let mut a = s.connect();
    a.batch_execute("BEGIN; UPDATE acct SET balance = balance + 10 WHERE id = 1")
        .unwrap();
    let conninfo = s.conninfo();
    let t = std::thread::spawn(move || {
        let mut b = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
        let t0 = std::time::Instant::now();
        b.batch_execute("UPDATE acct SET balance = balance + 5 WHERE id = 1")
            .unwrap();
        t0.elapsed()
    });
    // The second updater is blocked on the first: pg_locks shows it waiting.
    assert!(wait_until(Duration::from_secs(5), || s
        .psql("SELECT count(*) FROM pg_locks WHERE NOT granted")
        != "0"));
    std::thread::sleep(Duration::from_millis(300));
    a.batch_execute("COMMIT").unwrap();
    let waited = t.join().unwrap();
    assert!(
        waited >= Duration::from_millis(300),
        "the second UPDATE did not wait ({waited:?})"
    );
    assert_eq!(s.psql("SELECT balance FROM acct WHERE id = 1"), "115");
}

#[test]
fn concurrent_increments_reach_the_exact_total() {
    let s = Server::start();
    s.psql("CREATE TABLE counter (n int)");
    s.psql("INSERT INTO counter VALUES (0)");
    let mut threads = Vec::new();
    for _ in 0..6 {
        let conninfo = s.conninfo();
        threads.push(std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
            for _ in 0..50 {
                c.batch_execute("UPDATE counter SET n = n + 1").unwrap();
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.psql("SELECT n FROM counter"), "300");
}

#[test]
fn deadlock_is_detected_with_40p01() {
    let s = Server::builder().conf("deadlock_timeout = 200ms").start();
    setup(&s);
    let mut a = s.connect();
    let mut b = s.connect();
    a.batch_execute("BEGIN; UPDATE acct SET balance = 1 WHERE id = 1")
        .unwrap();
    b.batch_execute("BEGIN; UPDATE acct SET balance = 2 WHERE id = 2")
        .unwrap();
    let t = std::thread::spawn(move || {
        let r = a.batch_execute("UPDATE acct SET balance = 1 WHERE id = 2");
        (a, r)
    });
    std::thread::sleep(Duration::from_millis(200));
    let rb = b.batch_execute("UPDATE acct SET balance = 2 WHERE id = 1");
    let (mut a, ra) = t.join().unwrap();
    let errors: Vec<String> = [&ra, &rb]
        .iter()
        .filter_map(|r| r.as_ref().err().map(code))
        .collect();
    assert_eq!(
        errors,
        vec!["40P01".to_string()],
        "exactly one side must get deadlock detected"
    );
    let _ = a.batch_execute("ROLLBACK");
    let _ = b.batch_execute("ROLLBACK");
    assert!(s.log().contains("deadlock detected"));
}

#[test]
fn select_for_update_blocks_writers_until_commit() {
    let s = Server::start();
    setup(&s);
    let mut a = s.connect();
    a.batch_execute("BEGIN; SELECT * FROM acct WHERE id = 1 FOR UPDATE")
        .unwrap();
    let conninfo = s.conninfo();
    let t = std::thread::spawn(move || {
        let mut b = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
        let t0 = std::time::Instant::now();
        b.batch_execute("UPDATE acct SET balance = 0 WHERE id = 1")
            .unwrap();
        t0.elapsed()
    });
    std::thread::sleep(Duration::from_millis(400));
    a.batch_execute("COMMIT").unwrap();
    assert!(t.join().unwrap() >= Duration::from_millis(300));
}

#[test]
fn errors_abort_the_transaction_and_savepoints_recover() {
    let s = Server::start();
    setup(&s);
    let mut c = s.connect();
    c.batch_execute(
        "BEGIN; INSERT INTO acct VALUES (3, 300); SAVEPOINT sp; INSERT INTO acct VALUES (4, 400)",
    )
    .unwrap();
    assert!(c.simple_query("SELECT 1/0").is_err());
    let err = c.simple_query("SELECT 1").unwrap_err();
    assert_eq!(code(&err), "25P02");
    c.batch_execute("ROLLBACK TO SAVEPOINT sp; INSERT INTO acct VALUES (5, 500); COMMIT")
        .unwrap();
    assert_eq!(s.psql("SELECT id FROM acct ORDER BY id"), "1\n2\n3\n5");
}

#[test]
fn ddl_is_transactional_and_visible_to_other_sessions_after_commit() {
    let s = Server::start();
    let mut a = s.connect();
    a.batch_execute("BEGIN; CREATE TABLE ddl_t (x int); INSERT INTO ddl_t VALUES (1)")
        .unwrap();
    let out = s.psql_output("SELECT * FROM ddl_t", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("relation \"ddl_t\" does not exist"));
    a.batch_execute("COMMIT").unwrap();
    assert_eq!(s.psql("SELECT x FROM ddl_t"), "1");
    a.batch_execute("BEGIN; DROP TABLE ddl_t; ROLLBACK")
        .unwrap();
    assert_eq!(s.psql("SELECT x FROM ddl_t"), "1");
    s.psql("DROP TABLE ddl_t");
    assert!(!s.psql_output("SELECT * FROM ddl_t", &[]).status.success());
}

#[test]
fn pg_stat_activity_shows_backend_xid_xmin_and_idle_in_transaction() {
    let s = Server::start();
    setup(&s);
    let mut c = s.connect();
    let pid = Server::query_one(&mut c, "SELECT pg_backend_pid()").unwrap();
    c.batch_execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; UPDATE acct SET balance = 1 WHERE id = 1",
    )
    .unwrap();
    let xid = Server::query_one(&mut c, "SELECT txid_current()").unwrap();
    let row = s.psql(&format!(
        "SELECT backend_xid, backend_xmin IS NOT NULL, state, xact_start IS NOT NULL FROM pg_stat_activity WHERE pid = {pid}"
    ));
    assert_eq!(row, format!("{xid}|t|idle in transaction|t"));
    c.batch_execute("COMMIT").unwrap();
    let row = s.psql(&format!(
        "SELECT backend_xid IS NULL, backend_xmin IS NULL, state, xact_start IS NULL FROM pg_stat_activity WHERE pid = {pid}"
    ));
    assert_eq!(row, "t|t|idle|t");
}

#[test]
fn syntax_error_inside_a_block_then_rollback_leaves_the_server_healthy() {
    let s = Server::start();
    let out = std::process::Command::new("psql")
        .args(["-X", "-h"])
        .arg(&s.socket_dir)
        .args([
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args([
            "-c",
            "BEGIN",
            "-c",
            "SELEC 1",
            "-c",
            "ROLLBACK",
            "-c",
            "SELECT 42",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("42"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !s.log()
            .contains("terminating any other active server processes"),
        "{}",
        s.log()
    );
}

#[test]
fn a_client_that_vanishes_inside_a_transaction_releases_its_locks() {
    let s = Server::start();
    setup(&s);
    let mut client =
        s.psql_background("BEGIN; UPDATE acct SET balance = 0 WHERE id = 1; SELECT pg_sleep(60);");
    let backend = s
        .children()
        .into_iter()
        .find(|(_, t)| t.contains("[local]") && !t.ends_with(" idle"))
        .unwrap()
        .0;
    client.kill().unwrap();
    client.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !pid_alive(backend)),
        "backend outlived its client"
    );
    // Its row lock and table lock are gone: a writer and DROP TABLE proceed.
    let t0 = std::time::Instant::now();
    s.psql("SET lock_timeout = '3s'; UPDATE acct SET balance = 5 WHERE id = 1");
    s.psql("SET lock_timeout = '3s'; DROP TABLE acct");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "waited {:?} for a dead session's locks",
        t0.elapsed()
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_locks WHERE NOT granted"),
        "0"
    );
}

#[test]
fn a_cancel_that_arrives_while_idle_does_not_end_the_session() {
    let s = Server::start();
    let mut c = s.connect();
    let pid = Server::query_one(&mut c, "SELECT pg_backend_pid()").unwrap();
    assert_eq!(s.psql(&format!("SELECT pg_cancel_backend({pid})")), "t");
    s.psql("SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(Server::query_one(&mut c, "SELECT 7").as_deref(), Some("7"));
}
