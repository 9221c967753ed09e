//! Settings that bound how long things may take, as clients see them:
//! `statement_timeout`, `lock_timeout`, `deadlock_timeout`,
//! `idle_in_transaction_session_timeout` and `idle_session_timeout`.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn statement_timeout_cancels_a_sleep_and_a_long_scan_with_57014() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("SET statement_timeout = '1s'").unwrap();
    for sql in [
        "SELECT pg_sleep(30)",
        "SELECT count(*) FROM generate_series(1, 100000000)",
    ] {
        let t0 = Instant::now();
        let err = c.simple_query(sql).unwrap_err();
        let took = t0.elapsed();
        assert_eq!(code(&err), "57014", "{sql}");
        assert_eq!(
            message(&err),
            "canceling statement due to statement timeout",
            "{sql}"
        );
        assert!(took >= Duration::from_millis(900), "{sql} took {took:?}");
        assert!(took < Duration::from_secs(10), "{sql} took {took:?}");
    }
    // The timer is per statement: a short statement after it runs, and
    // one that takes longer than the timeout in total over several
    // statements of one session is not canceled.
    for _ in 0..3 {
        assert_eq!(
            Server::query_one(&mut c, "SELECT pg_sleep(0.5)::text || 'x'").as_deref(),
            Some("x")
        );
    }
    // statement_timeout = 0 turns it off again.
    c.batch_execute("SET statement_timeout = 0").unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SELECT pg_sleep(1.5)::text || 'y'").as_deref(),
        Some("y")
    );
}

#[test]
fn statement_timeout_applies_to_each_statement_of_a_query_message() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("SET statement_timeout = '700ms'").unwrap();
    // Three statements of 400 ms each: together over the timeout, each under it.
    c.batch_execute("SELECT pg_sleep(0.4); SELECT pg_sleep(0.4); SELECT pg_sleep(0.4)")
        .unwrap();
    let err = c
        .batch_execute("SELECT pg_sleep(0.1); SELECT pg_sleep(5)")
        .unwrap_err();
    assert_eq!(code(&err), "57014");
}

fn two_sessions_on_one_row(s: &Server) -> (postgres::Client, postgres::Client) {
    let mut a = s.connect();
    a.batch_execute("CREATE TABLE t (id int, v int); INSERT INTO t VALUES (1, 0)")
        .unwrap();
    a.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1")
        .unwrap();
    (a, s.connect())
}

#[test]
fn lock_timeout_ends_a_wait_for_a_row_lock_with_55p03() {
    let s = Server::start();
    let (mut a, mut b) = two_sessions_on_one_row(&s);
    // statement_timeout only bounds the test if lock_timeout were ignored.
    b.batch_execute("SET lock_timeout = '500ms'; SET statement_timeout = '10s'")
        .unwrap();
    let t0 = Instant::now();
    let err = b
        .simple_query("UPDATE t SET v = 2 WHERE id = 1")
        .unwrap_err();
    let took = t0.elapsed();
    assert_eq!(code(&err), "55P03");
    assert_eq!(message(&err), "canceling statement due to lock timeout");
    assert!(took >= Duration::from_millis(450), "took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // The waiter left the queue: once A commits, B's update goes through.
    a.batch_execute("COMMIT").unwrap();
    b.batch_execute("UPDATE t SET v = 2 WHERE id = 1").unwrap();
    assert_eq!(
        Server::query_one(&mut a, "SELECT v FROM t").as_deref(),
        Some("2")
    );
}

#[test]
fn deadlock_timeout_sets_when_the_deadlock_check_runs() {
    let s = Server::start();
    let mut a = s.connect();
    a.batch_execute(
        "CREATE TABLE t (id int, v int); INSERT INTO t VALUES (1, 0); INSERT INTO t VALUES (2, 0)",
    )
    .unwrap();
    let mut b = s.connect();
    // B will be the one that closes the cycle and, with the short
    // deadlock_timeout, the one that detects it; A's check would come only
    // after a minute.
    a.batch_execute("SET deadlock_timeout = '60s'").unwrap();
    b.batch_execute("SET deadlock_timeout = '3s'").unwrap();
    a.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1")
        .unwrap();
    b.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 2")
        .unwrap();
    let waiter = std::thread::spawn(move || {
        let r = a.batch_execute("UPDATE t SET v = 2 WHERE id = 2");
        (a, r)
    });
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let err = b
        .batch_execute("UPDATE t SET v = 2 WHERE id = 1")
        .unwrap_err();
    let took = t0.elapsed();
    assert_eq!(code(&err), "40P01");
    assert!(took >= Duration::from_millis(2800), "took {took:?}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    b.batch_execute("ROLLBACK").unwrap();
    let (mut a, r) = waiter.join().unwrap();
    r.unwrap();
    a.batch_execute("COMMIT").unwrap();
}

/// Waits until the backend with pid `pid` is gone from pg_stat_activity.
fn wait_backend_gone(s: &Server, pid: &str) -> bool {
    wait_until(Duration::from_secs(10), || {
        s.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"
        )) == "0"
    })
}

#[test]
fn idle_in_transaction_session_timeout_ends_the_session_with_25p03() {
    let s = Server::start();
    let (mut a, mut b) = two_sessions_on_one_row(&s);
    let pid = Server::query_one(&mut a, "SELECT pg_backend_pid()").unwrap();
    a.batch_execute("SET idle_in_transaction_session_timeout = '500ms'")
        .unwrap();
    // Busy statements do not count as idle time.
    a.batch_execute("SELECT pg_sleep(1)").unwrap();
    assert!(wait_backend_gone(&s, &pid), "backend {pid} still there");
    assert!(
        s.log()
            .contains("FATAL:  terminating connection due to idle-in-transaction timeout"),
        "{}",
        s.log()
    );
    let err = a.simple_query("SELECT 1").unwrap_err();
    assert!(a.is_closed() || code(&err) == "25P03", "{err}");
    // Its transaction was rolled back and its row lock released.
    b.batch_execute("SET lock_timeout = '5s'; UPDATE t SET v = 3 WHERE id = 1")
        .unwrap();
    assert_eq!(
        Server::query_one(&mut b, "SELECT v FROM t").as_deref(),
        Some("3")
    );
}

#[test]
fn idle_session_timeout_ends_an_idle_session_with_57p05_but_not_one_in_a_transaction() {
    let s = Server::start();
    let mut a = s.connect();
    let a_pid = Server::query_one(&mut a, "SELECT pg_backend_pid()").unwrap();
    let mut b = s.connect();
    let b_pid = Server::query_one(&mut b, "SELECT pg_backend_pid()").unwrap();
    a.batch_execute("SET idle_session_timeout = '500ms'")
        .unwrap();
    b.batch_execute("SET idle_session_timeout = '500ms'; BEGIN")
        .unwrap();
    assert!(wait_backend_gone(&s, &a_pid), "backend {a_pid} still there");
    assert!(
        s.log()
            .contains("FATAL:  terminating connection due to idle-session timeout"),
        "{}",
        s.log()
    );
    assert!(a.simple_query("SELECT 1").is_err());
    // B sits in a transaction block: idle_session_timeout does not apply.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        s.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {b_pid}"
        )),
        "1"
    );
    b.batch_execute("COMMIT").unwrap();
    assert!(wait_backend_gone(&s, &b_pid), "backend {b_pid} still there");
}
