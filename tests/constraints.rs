//! CHECK constraints across sessions: ALTER TABLE ... ADD CONSTRAINT
//! waits for the table's writers and checks the rows they committed, a
//! constraint added in one session holds for the next row another session
//! writes, and constraints survive a crash (their catalog rows are WAL).

mod common;

use std::time::{Duration, Instant};

use common::*;

fn sqlstate(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}

/// Waits until some lock request is waiting (ALTER TABLE behind the
/// inserting transaction).
fn wait_for_lock_waiter(c: &mut postgres::Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = c
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "ALTER TABLE never waited");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A transaction inserts a violating row and commits while ALTER TABLE
/// waits for its lock: the ALTER must see the row (it reads with a
/// snapshot taken once the lock is held) and fail with 23514.
#[test]
fn add_constraint_waits_for_writers_and_checks_what_they_committed() {
    let s = Server::builder().start();
    s.psql("CREATE TABLE t (a int); INSERT INTO t VALUES (1)");
    let mut writer = s.connect();
    writer
        .batch_execute("BEGIN; INSERT INTO t VALUES (-1)")
        .unwrap();
    let conninfo = s.conninfo();
    let alter = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
        c.batch_execute("ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0)")
    });
    let mut watcher = s.connect();
    wait_for_lock_waiter(&mut watcher);
    writer.batch_execute("COMMIT").unwrap();
    let err = alter
        .join()
        .unwrap()
        .expect_err("the committed -1 violates a_pos");
    assert_eq!(sqlstate(&err), "23514", "{err:?}");
    let db = err.as_db_error().unwrap();
    assert_eq!(
        db.message(),
        "check constraint \"a_pos\" of relation \"t\" is violated by some row"
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_constraint WHERE conname = 'a_pos'"),
        "0"
    );

    // Once the row is gone the constraint goes in, and binds every session.
    s.psql("DELETE FROM t WHERE a < 0; ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0)");
    let err = writer
        .batch_execute("INSERT INTO t VALUES (-2)")
        .expect_err("a_pos holds in the other session");
    assert_eq!(sqlstate(&err), "23514", "{err:?}");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "new row for relation \"t\" violates check constraint \"a_pos\""
    );
    writer.batch_execute("INSERT INTO t VALUES (2)").unwrap();
}

/// An INSERT that waits for the lock of an ALTER TABLE adding a CHECK
/// constraint is analysed with the constraint once the ALTER commits (the
/// writer's lock is taken before the table's definition is read, as
/// PostgreSQL's setTargetTable does), so the violating row is refused.
#[test]
fn a_writer_waiting_behind_add_constraint_obeys_the_new_constraint() {
    let s = Server::builder().start();
    s.psql("CREATE TABLE w (a int); INSERT INTO w VALUES (1)");
    let mut alter = s.connect();
    alter
        .batch_execute("BEGIN; ALTER TABLE w ADD CONSTRAINT w_pos CHECK (a > 0)")
        .unwrap();
    let conninfo = s.conninfo();
    let writer = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
        c.batch_execute("INSERT INTO w VALUES (-1)")
    });
    let mut watcher = s.connect();
    wait_for_lock_waiter(&mut watcher);
    alter.batch_execute("COMMIT").unwrap();
    let err = writer
        .join()
        .unwrap()
        .expect_err("-1 violates the constraint committed while the INSERT waited");
    assert_eq!(sqlstate(&err), "23514", "{err:?}");
    assert_eq!(s.psql("SELECT count(*) FROM w WHERE a < 0"), "0");
}

/// A NOT VALID constraint and a validated one both survive kill -9 and
/// crash recovery with their state; VALIDATE works afterwards.
#[test]
fn constraints_survive_a_crash() {
    let s = Server::builder().start();
    s.psql(
        "CREATE TABLE c (a int CONSTRAINT a_pos CHECK (a > 0), b int);
         INSERT INTO c VALUES (1, -1);
         ALTER TABLE c ADD CONSTRAINT b_pos CHECK (b > 0) NOT VALID",
    );
    let mut victim = s.connect();
    let pid: i32 = Server::query_one(&mut victim, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    kill(pid, libc::SIGKILL);
    assert!(s.wait_for_log(
        "all server processes terminated; reinitializing",
        Duration::from_secs(15)
    ));
    s.wait_ready(Duration::from_secs(30));
    assert_eq!(
        s.psql(
            "SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) \
             FROM pg_constraint WHERE conrelid = 'c'::regclass"
        ),
        "a_pos:true,b_pos:false"
    );
    let out = s.psql_output("INSERT INTO c VALUES (0, 1)", &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("violates check constraint \"a_pos\""),
        "{out:?}"
    );
    let out = s.psql_output("ALTER TABLE c VALIDATE CONSTRAINT b_pos", &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("check constraint \"b_pos\" of relation \"c\" is violated by some row"),
        "{out:?}"
    );
    s.psql("UPDATE c SET b = 1; ALTER TABLE c VALIDATE CONSTRAINT b_pos");
    assert_eq!(
        s.psql("SELECT convalidated FROM pg_constraint WHERE conname = 'b_pos'"),
        "t"
    );
    let log = s.log();
    assert!(!log.contains("PANIC") && !log.contains("panicked"), "{log}");
}
