//! What the server log says about statements: `log_statement`,
//! `log_min_duration_statement`, `log_duration` and `log_lock_waits`,
//! in PostgreSQL's line shapes.

mod common;

use std::time::Duration;

use common::*;

/// The log lines containing `needle`.
fn lines_with(s: &Server, needle: &str) -> Vec<String> {
    s.log()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Whether `text` is `<digits>.<3 digits> ms`, PostgreSQL's duration shape.
fn is_ms(text: &str) -> bool {
    let Some(num) = text.strip_suffix(" ms") else {
        return false;
    };
    let Some((whole, frac)) = num.split_once('.') else {
        return false;
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() == 3
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn log_statement_logs_ddl_mod_or_all() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE t (a int)").unwrap();
    for (level, logged, unlogged) in [
        (
            "none",
            vec![],
            vec![
                "SELECT 1000",
                "INSERT INTO t VALUES (1000)",
                "CREATE TABLE u1000 (a int)",
            ],
        ),
        (
            "ddl",
            vec!["CREATE TABLE u1001 (a int)"],
            vec!["SELECT 1001", "INSERT INTO t VALUES (1001)"],
        ),
        (
            "mod",
            vec!["CREATE TABLE u1002 (a int)", "INSERT INTO t VALUES (1002)"],
            vec!["SELECT 1002"],
        ),
        (
            "all",
            vec![
                "CREATE TABLE u1003 (a int)",
                "INSERT INTO t VALUES (1003)",
                "SELECT 1003",
            ],
            vec![],
        ),
    ] {
        c.batch_execute(&format!("SET log_statement = '{level}'"))
            .unwrap();
        for sql in logged.iter().chain(&unlogged) {
            c.batch_execute(sql).unwrap();
        }
        c.batch_execute("SET log_statement = 'none'").unwrap();
        for sql in &logged {
            assert!(
                s.wait_for_log(&format!("LOG:  statement: {sql}\n"), Duration::from_secs(5)),
                "{level}: {sql} not logged\n{}",
                s.log()
            );
        }
        for sql in &unlogged {
            assert!(
                lines_with(&s, &format!("statement: {sql}")).is_empty(),
                "{level}: {sql} logged\n{}",
                s.log()
            );
        }
    }
}

#[test]
fn log_min_duration_statement_logs_slow_statements_with_their_duration() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("SET log_min_duration_statement = 200")
        .unwrap();
    c.batch_execute("SELECT 4242").unwrap();
    c.batch_execute("SELECT pg_sleep(0.3)").unwrap();
    // A statement that fails logs no duration, as in PostgreSQL.
    c.batch_execute("SELECT pg_sleep(0.3), 1/0").unwrap_err();
    c.batch_execute("SET log_min_duration_statement = -1")
        .unwrap();
    let needle = "  statement: SELECT pg_sleep(0.3)";
    assert!(
        s.wait_for_log(needle, Duration::from_secs(5)),
        "{}",
        s.log()
    );
    let lines = lines_with(&s, needle);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (_, rest) = lines[0]
        .split_once("LOG:  duration: ")
        .expect("duration line");
    let ms = rest
        .strip_suffix(needle)
        .expect("statement after the duration");
    assert!(is_ms(ms), "{ms:?}");
    let value: f64 = ms.trim_end_matches(" ms").parse().unwrap();
    assert!((300.0..10_000.0).contains(&value), "{value}");
    assert!(lines_with(&s, "SELECT 4242").is_empty(), "{}", s.log());
    assert!(
        lines_with(&s, "1/0")
            .iter()
            .all(|l| !l.contains("duration"))
    );

    // With log_statement having logged the statement, and 0 (log
    // everything), the duration line stands alone.
    c.batch_execute("SET log_statement = 'all'; SET log_min_duration_statement = 0")
        .unwrap();
    c.batch_execute("SELECT 777").unwrap();
    c.batch_execute("SET log_statement = 'none'").unwrap();
    assert!(s.wait_for_log("LOG:  statement: SELECT 777\n", Duration::from_secs(5)));
    let log = s.log();
    let after = &log[log.find("LOG:  statement: SELECT 777").unwrap()..];
    let next = after.lines().nth(1).expect("a line after the statement");
    let (_, ms) = next.split_once("LOG:  duration: ").expect("duration line");
    assert!(is_ms(ms), "{next:?}");
}

#[test]
fn log_duration_logs_every_statement_s_duration_alone() {
    let s = Server::start();
    let mut c = s.connect();
    let before = lines_with(&s, "LOG:  duration: ").len();
    c.batch_execute("SET log_duration = on").unwrap();
    c.batch_execute("SELECT 31337").unwrap();
    assert!(wait_until(Duration::from_secs(5), || lines_with(
        &s,
        "LOG:  duration: "
    )
    .len()
        >= before + 2));
    for l in lines_with(&s, "LOG:  duration: ") {
        let (_, ms) = l.split_once("LOG:  duration: ").unwrap();
        assert!(is_ms(ms), "{l:?}");
    }
}

#[test]
fn log_lock_waits_reports_a_wait_past_deadlock_timeout_and_its_end() {
    let s = Server::start();
    let mut a = s.connect();
    a.batch_execute("CREATE TABLE t (id int, v int); INSERT INTO t VALUES (1, 0)")
        .unwrap();
    let a_pid = Server::query_one(&mut a, "SELECT pg_backend_pid()").unwrap();
    let a_xid = {
        a.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1")
            .unwrap();
        Server::query_one(&mut a, "SELECT txid_current()").unwrap()
    };
    let mut b = s.connect();
    let b_pid = Server::query_one(&mut b, "SELECT pg_backend_pid()").unwrap();
    b.batch_execute("SET log_lock_waits = on; SET deadlock_timeout = '200ms'")
        .unwrap();
    let waiter = std::thread::spawn(move || b.batch_execute("UPDATE t SET v = 2 WHERE id = 1"));
    let still =
        format!("LOG:  process {b_pid} still waiting for ShareLock on transaction {a_xid} after ");
    assert!(
        s.wait_for_log(&still, Duration::from_secs(10)),
        "{}",
        s.log()
    );
    a.batch_execute("COMMIT").unwrap();
    waiter.join().unwrap().unwrap();
    let acquired =
        format!("LOG:  process {b_pid} acquired ShareLock on transaction {a_xid} after ");
    assert!(
        s.wait_for_log(&acquired, Duration::from_secs(10)),
        "{}",
        s.log()
    );
    let log = s.log();
    let line = log.lines().find(|l| l.contains(&still)).unwrap();
    let ms = &line[line.find(&still).unwrap() + still.len()..];
    assert!(is_ms(ms), "{line:?}");
    let value: f64 = ms.trim_end_matches(" ms").parse().unwrap();
    assert!((190.0..5000.0).contains(&value), "{value}");
    assert!(
        log.contains(&format!(
            "DETAIL:  Process holding the lock: {a_pid}. Wait queue: {b_pid}."
        )),
        "{log}"
    );
}
