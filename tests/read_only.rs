//! Read-only transactions as clients see them: `BEGIN READ ONLY`,
//! `SET TRANSACTION READ ONLY`, `SET SESSION CHARACTERISTICS`,
//! `default_transaction_read_only` and `transaction_read_only`.

mod common;

use common::*;

/// Every write, and the tag PostgreSQL's 25006 names it by.
const WRITES: &[(&str, &str)] = &[
    ("INSERT INTO t VALUES (9)", "INSERT"),
    ("UPDATE t SET a = 2", "UPDATE"),
    ("DELETE FROM t", "DELETE"),
    ("CREATE TABLE u (a int)", "CREATE TABLE"),
    ("DROP TABLE t", "DROP TABLE"),
    ("ALTER TABLE t ADD COLUMN b int", "ALTER TABLE"),
    ("SELECT * FROM t FOR UPDATE", "SELECT FOR UPDATE"),
    ("SELECT * FROM t FOR SHARE", "SELECT FOR SHARE"),
];

fn assert_read_only(c: &mut postgres::Client, begin: &str) {
    for (sql, tag) in WRITES {
        c.batch_execute(begin).unwrap();
        // Reads and SET still work.
        c.batch_execute("SELECT * FROM t; SET work_mem = '8MB'; SHOW work_mem")
            .unwrap();
        let err = c.batch_execute(sql).unwrap_err();
        assert_eq!(code(&err), "25006", "{begin} {sql}");
        assert_eq!(
            message(&err),
            format!("cannot execute {tag} in a read-only transaction"),
            "{begin} {sql}"
        );
        c.batch_execute("ROLLBACK").unwrap();
    }
}

#[test]
fn writes_fail_with_25006_in_every_kind_of_read_only_transaction() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
        .unwrap();
    assert_read_only(&mut c, "BEGIN READ ONLY");
    assert_read_only(&mut c, "START TRANSACTION READ ONLY");
    assert_read_only(&mut c, "BEGIN; SET TRANSACTION READ ONLY");
    assert_read_only(&mut c, "BEGIN; SET transaction_read_only = on");
    c.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .unwrap();
    assert_read_only(&mut c, "BEGIN");
    // Outside a block too: every implicit transaction is read-only.
    let err = c.batch_execute("INSERT INTO t VALUES (2)").unwrap_err();
    assert_eq!(code(&err), "25006");
    // VACUUM, CHECKPOINT and SELECT run, as in PostgreSQL.
    c.batch_execute("VACUUM t").unwrap();
    c.batch_execute("CHECKPOINT").unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM t").as_deref(),
        Some("1")
    );
    // BEGIN READ WRITE overrides the default; the default comes back after.
    c.batch_execute("BEGIN READ WRITE; INSERT INTO t VALUES (3); COMMIT")
        .unwrap();
    assert!(c.batch_execute("INSERT INTO t VALUES (4)").is_err());
    // In one Query message the INSERT would still run in the read-only
    // transaction the message started, as in PostgreSQL.
    c.batch_execute("SET default_transaction_read_only = off")
        .unwrap();
    c.batch_execute("INSERT INTO t VALUES (5)").unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM t").as_deref(),
        Some("3")
    );
    // The setting also works from the configuration and the client.
    let mut d = postgres::Client::connect(
        &format!(
            "{} options='-c default_transaction_read_only=on'",
            s.conninfo()
        ),
        postgres::NoTls,
    )
    .unwrap();
    assert_eq!(
        Server::query_one(&mut d, "SHOW transaction_read_only").as_deref(),
        Some("on")
    );
    assert_eq!(code(&d.batch_execute("DROP TABLE t").unwrap_err()), "25006");
}

#[test]
fn read_write_mode_must_be_set_before_any_query_and_not_in_a_savepoint() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE t (a int)").unwrap();
    // Before the first query it may still change.
    c.batch_execute(
        "BEGIN READ ONLY; SET TRANSACTION READ WRITE; INSERT INTO t VALUES (1); COMMIT",
    )
    .unwrap();
    for late in [
        "SET transaction_read_only = off",
        "SET TRANSACTION READ WRITE",
    ] {
        c.batch_execute("BEGIN READ ONLY").unwrap();
        c.batch_execute("SELECT 1").unwrap();
        let err = c.batch_execute(late).unwrap_err();
        assert_eq!(code(&err), "25001", "{late}");
        assert_eq!(
            message(&err),
            "transaction read-write mode must be set before any query"
        );
        c.batch_execute("ROLLBACK").unwrap();
    }
    c.batch_execute("BEGIN READ ONLY; SAVEPOINT a").unwrap();
    let err = c.batch_execute("SET TRANSACTION READ WRITE").unwrap_err();
    assert_eq!(code(&err), "25001");
    assert_eq!(
        message(&err),
        "cannot set transaction read-write mode inside a read-only transaction"
    );
    c.batch_execute("ROLLBACK").unwrap();
    // Going read-only late is always allowed.
    c.batch_execute("BEGIN; SELECT 1; SET TRANSACTION READ ONLY")
        .unwrap();
    assert_eq!(
        code(&c.batch_execute("INSERT INTO t VALUES (2)").unwrap_err()),
        "25006"
    );
    c.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM t").as_deref(),
        Some("1")
    );
}
