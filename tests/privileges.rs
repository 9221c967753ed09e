//! What a non-superuser may touch: a role without superuser tries to write
//! the system catalogs, to become someone else, and to run what PostgreSQL
//! keeps for superusers. Every attempt must fail with PostgreSQL's
//! SQLSTATE and message, and the catalogs must be intact afterwards.

mod common;

use common::*;

/// A server with a login role `alice` who is not a superuser, and her session.
fn server_with_alice() -> (Server, postgres::Client) {
    let s = Server::start();
    add_login_role(&s, "alice", 16384);
    let alice = postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user=alice dbname=postgres", s.port),
        postgres::NoTls,
    )
    .unwrap();
    (s, alice)
}

fn assert_refused(c: &mut postgres::Client, sql: &str, sqlstate: &str, msg: &str) {
    match c.batch_execute(sql) {
        Ok(()) => panic!("{sql}: succeeded for a non-superuser"),
        Err(e) => {
            assert_eq!(code(&e), sqlstate, "{sql}: {e:?}");
            assert_eq!(message(&e), msg, "{sql}");
        }
    }
}

#[test]
fn a_non_superuser_cannot_write_the_system_catalogs() {
    let (s, mut alice) = server_with_alice();
    let mut su = s.connect();
    su.batch_execute("CREATE TABLE t (a int)").unwrap();
    let classes = Server::query_one(&mut su, "SELECT count(*) FROM pg_class").unwrap();
    for (sql, sqlstate, msg) in [
        (
            "DELETE FROM pg_catalog.pg_class",
            "42501",
            "permission denied for table pg_class",
        ),
        (
            "DELETE FROM pg_class WHERE relname = 't'",
            "42501",
            "permission denied for table pg_class",
        ),
        (
            "UPDATE pg_catalog.pg_class SET relname = 'x'",
            "42501",
            "permission denied for table pg_class",
        ),
        (
            "UPDATE pg_namespace SET nspname = 'x'",
            "42501",
            "permission denied for table pg_namespace",
        ),
        (
            "DELETE FROM pg_attribute",
            "42501",
            "permission denied for table pg_attribute",
        ),
        (
            "INSERT INTO pg_catalog.pg_namespace (oid, nspname, nspowner) VALUES (99999, 'x', 16384)",
            "42501",
            "permission denied for table pg_namespace",
        ),
        (
            "DELETE FROM pg_database",
            "42501",
            "permission denied for table pg_database",
        ),
        (
            "DROP TABLE pg_catalog.pg_class",
            "42501",
            "must be owner of table pg_class",
        ),
        (
            "ALTER TABLE pg_class SET (autovacuum_enabled = off)",
            "42501",
            "must be owner of table pg_class",
        ),
        (
            "CREATE TABLE pg_catalog.zz (a int)",
            "42501",
            "permission denied for schema pg_catalog",
        ),
    ] {
        assert_refused(&mut alice, sql, sqlstate, msg);
    }
    // Reading the catalogs is allowed, as in PostgreSQL.
    assert_eq!(
        Server::query_one(&mut alice, "SELECT count(*) FROM pg_class").as_deref(),
        Some(classes.as_str())
    );
    // Nothing changed, and everything is still reachable.
    assert_eq!(
        Server::query_one(&mut su, "SELECT count(*) FROM pg_class").as_deref(),
        Some(classes.as_str())
    );
    assert_eq!(
        Server::query_one(&mut su, "SELECT count(*) FROM t").as_deref(),
        Some("0")
    );
}

#[test]
fn a_non_superuser_cannot_run_what_postgresql_keeps_for_superusers() {
    let (s, mut alice) = server_with_alice();
    let mut su = s.connect();
    let su_pid = Server::query_one(&mut su, "SELECT pg_backend_pid()").unwrap();
    for (sql, sqlstate, msg) in [
        (
            format!("SELECT pg_terminate_backend({su_pid})"),
            "42501",
            "must be a superuser to terminate superuser process".to_string(),
        ),
        (
            format!("SELECT pg_cancel_backend({su_pid})"),
            "42501",
            "must be a superuser to cancel superuser query".to_string(),
        ),
        (
            "SELECT pg_reload_conf()".into(),
            "42501",
            "permission denied for function pg_reload_conf".into(),
        ),
        (
            "SELECT pg_switch_wal()".into(),
            "42501",
            "permission denied for function pg_switch_wal".into(),
        ),
        (
            "SELECT pg_backup_start('x')".into(),
            "42501",
            "permission denied for function pg_backup_start".into(),
        ),
        (
            "SELECT pg_stat_reset()".into(),
            "42501",
            "permission denied for function pg_stat_reset".into(),
        ),
        (
            "SELECT pg_stat_reset_shared('bgwriter')".into(),
            "42501",
            "permission denied for function pg_stat_reset_shared".into(),
        ),
        (
            "SELECT * FROM pg_ls_waldir()".into(),
            "42501",
            "permission denied for function pg_ls_waldir".into(),
        ),
        (
            "CHECKPOINT".into(),
            "42501",
            "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT".into(),
        ),
        (
            "ALTER SYSTEM SET work_mem = '1MB'".into(),
            "42501",
            "permission denied to set parameter \"work_mem\"".into(),
        ),
        (
            "COPY pg_class TO PROGRAM 'touch /tmp/ferrogres-pwned'".into(),
            "42501",
            "must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program".into(),
        ),
        (
            "COPY (SELECT 1) TO '/tmp/ferrogres-pwned'".into(),
            "42501",
            "must be superuser or have privileges of the pg_write_server_files role to COPY to a file".into(),
        ),
        (
            "COPY pg_class FROM '/etc/passwd'".into(),
            "42501",
            "must be superuser or have privileges of the pg_read_server_files role to COPY from a file".into(),
        ),
        (
            "SET log_statement = 'none'".into(),
            "42501",
            "permission denied to set parameter \"log_statement\"".into(),
        ),
    ] {
        assert_refused(&mut alice, &sql, sqlstate, &msg);
    }
    // The superuser's session is untouched.
    assert_eq!(Server::query_one(&mut su, "SELECT 1").as_deref(), Some("1"));
    assert!(
        !data_path(&s, "postgresql.auto.conf").exists()
            || !std::fs::read_to_string(data_path(&s, "postgresql.auto.conf"))
                .unwrap()
                .contains("work_mem")
    );
}

#[test]
fn set_role_and_session_authorization_check_the_role() {
    let (s, mut alice) = server_with_alice();
    let mut su = s.connect();
    // A role that does not exist: PostgreSQL's check hook says 22023.
    for sql in ["SET ROLE nosuch", "SET SESSION AUTHORIZATION nosuch"] {
        assert_refused(&mut su, sql, "22023", "role \"nosuch\" does not exist");
        assert_refused(&mut alice, sql, "22023", "role \"nosuch\" does not exist");
    }
    // A non-superuser cannot become the superuser.
    assert_refused(
        &mut alice,
        "SET ROLE postgres",
        "42501",
        "permission denied to set role \"postgres\"",
    );
    assert_refused(
        &mut alice,
        "SET SESSION AUTHORIZATION postgres",
        "42501",
        "permission denied to set session authorization \"postgres\"",
    );
    assert_eq!(
        Server::query_one(&mut alice, "SELECT current_user").as_deref(),
        Some("alice")
    );
    // Her own role is fine.
    alice.batch_execute("SET ROLE alice; RESET ROLE").unwrap();
    // The superuser may become alice, and then has her rights only.
    su.batch_execute("SET ROLE alice").unwrap();
    assert_eq!(
        Server::query_one(&mut su, "SELECT current_user || ' ' || session_user").as_deref(),
        Some("alice postgres")
    );
    assert_refused(
        &mut su,
        "DELETE FROM pg_class",
        "42501",
        "permission denied for table pg_class",
    );
    su.batch_execute("RESET ROLE").unwrap();
    assert_eq!(
        Server::query_one(&mut su, "SELECT current_user").as_deref(),
        Some("postgres")
    );
    su.batch_execute("SET SESSION AUTHORIZATION alice").unwrap();
    assert_eq!(
        Server::query_one(&mut su, "SELECT current_user || ' ' || session_user").as_deref(),
        Some("alice alice")
    );
    // Still the authenticated superuser underneath: she may go back.
    su.batch_execute("RESET SESSION AUTHORIZATION").unwrap();
    assert_eq!(
        Server::query_one(&mut su, "SELECT current_user || ' ' || session_user").as_deref(),
        Some("postgres postgres")
    );
    // SET ROLE in a transaction that rolls back is undone.
    su.batch_execute("BEGIN; SET ROLE alice; ROLLBACK").unwrap();
    assert_eq!(
        Server::query_one(&mut su, "SELECT current_user").as_deref(),
        Some("postgres")
    );
}
