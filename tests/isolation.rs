//! Transaction isolation as clients see it: MVCC snapshots, row locks,
//! concurrent updates, deadlocks, savepoints.

mod common;

use std::time::Duration;

use common::*;

fn code(e: &postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

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
