//! pg_hba.conf and password authentication, with psql and the postgres crate.

mod common;

use std::process::Command;

use common::*;

fn psql_as(s: &Server, host: &str, user: &str, password: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-w",
        "-h",
        host,
        "-p",
        &s.port.to_string(),
        "-U",
        user,
        "-d",
        "postgres",
        "-c",
        "SELECT current_user",
    ]);
    cmd.env_remove("PGPASSWORD");
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const HBA_ALL: &str = "local all all trust\nhost all all 127.0.0.1/32 METHOD\n";

fn server_with(method: &str) -> Server {
    Server::builder()
        .password("s3cret")
        .hba(&HBA_ALL.replace("METHOD", method))
        .start()
}

#[test]
fn scram_sha_256_accepts_the_right_password_and_refuses_a_wrong_one() {
    let s = server_with("scram-sha-256");
    let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("s3cret"));
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "postgres");
    let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("wrong"));
    assert!(!ok);
    assert!(
        out.contains("FATAL:  password authentication failed for user \"postgres\""),
        "{out}"
    );
    // The postgres crate's SCRAM client too.
    let conn = format!(
        "host=127.0.0.1 port={} user=postgres password=s3cret dbname=postgres",
        s.port
    );
    let mut c = postgres::Client::connect(&conn, postgres::NoTls).unwrap();
    assert_eq!(Server::query_one(&mut c, "SELECT 1").as_deref(), Some("1"));
    let bad = format!(
        "host=127.0.0.1 port={} user=postgres password=nope dbname=postgres",
        s.port
    );
    let err = postgres::Client::connect(&bad, postgres::NoTls)
        .err()
        .unwrap();
    assert_eq!(err.as_db_error().unwrap().code().code(), "28P01");
    // The log says why; the client does not.
    assert!(
        s.log()
            .contains("password authentication failed for user \"postgres\"")
    );
    assert!(
        s.log().contains("Connection matched pg_hba.conf line 2"),
        "{}",
        s.log()
    );
    // A wrong password is not a crash.
    assert!(
        !s.log()
            .contains("terminating any other active server processes")
    );
}

#[test]
fn md5_and_password_methods_work_with_a_scram_stored_password() {
    for method in ["md5", "password"] {
        let s = server_with(method);
        let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("s3cret"));
        assert!(ok, "{method}: {out}");
        let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("bad"));
        assert!(
            !ok && out.contains("password authentication failed"),
            "{method}: {out}"
        );
    }
}

#[test]
fn missing_role_gets_the_same_error_as_a_wrong_password() {
    let s = server_with("scram-sha-256");
    let (ok, out) = psql_as(&s, "127.0.0.1", "ghost", Some("whatever"));
    assert!(!ok);
    assert!(
        out.contains("FATAL:  password authentication failed for user \"ghost\""),
        "{out}"
    );
}

#[test]
fn reject_lines_and_missing_entries_are_refused_with_28000() {
    let s = Server::builder()
        .hba("local all all trust\nhost all postgres 127.0.0.1/32 reject\n")
        .start();
    let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", None);
    assert!(!ok);
    assert!(out.contains("pg_hba.conf rejects connection for host \"127.0.0.1\", user \"postgres\", database \"postgres\""), "{out}");
    // No line for ::1 / other users over TCP.
    add_login_role(&s, "bob", 16384);
    let (ok, out) = psql_as(&s, "127.0.0.1", "bob", None);
    assert!(!ok);
    assert!(
        out.contains(
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"bob\", database \"postgres\""
        ),
        "{out}"
    );
    // Unix-socket trust still works.
    let (ok, out) = psql_as(&s, s.socket_dir.to_str().unwrap(), "bob", None);
    assert!(ok, "{out}");
}

#[test]
fn pg_hba_changes_apply_on_reload() {
    let s = Server::builder()
        .hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        .start();
    assert!(psql_as(&s, "127.0.0.1", "postgres", None).0);
    std::fs::write(
        s.data.join("pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    s.psql("SELECT pg_reload_conf()");
    assert!(wait_until(std::time::Duration::from_secs(5), || !psql_as(
        &s,
        "127.0.0.1",
        "postgres",
        None
    )
    .0));
    // A broken file is not applied.
    std::fs::write(s.data.join("pg_hba.conf"), "bogus all all trust\n").unwrap();
    s.psql("SELECT pg_reload_conf()");
    assert!(
        s.wait_for_log(
            "pg_hba.conf was not reloaded",
            std::time::Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    assert!(s.psql("SELECT 1") == "1");
}

#[test]
fn initdb_with_password_auth_requires_a_password() {
    let dir = TempDir::new("initdb");
    let out = Command::new(BIN)
        .args(["initdb", "-D"])
        .arg(dir.0.join("d"))
        .args(["--auth", "scram-sha-256"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must specify a password for the superuser")
    );
    // And a non-empty directory is refused.
    std::fs::create_dir_all(dir.0.join("full")).unwrap();
    std::fs::write(dir.0.join("full/x"), "x").unwrap();
    let out = Command::new(BIN)
        .args(["initdb", "-D"])
        .arg(dir.0.join("full"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists but is not empty"));
}

#[test]
fn a_failed_password_authentication_tells_the_client_nothing_but_the_message() {
    let s = server_with("scram-sha-256");
    let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("wrong"));
    assert!(!ok);
    assert!(
        out.contains("FATAL:  password authentication failed for user \"postgres\""),
        "{out}"
    );
    assert!(!out.contains("DETAIL"), "{out}");
    assert!(!out.contains("pg_hba.conf"), "{out}");
    for (user, password) in [("postgres", "nope"), ("ghost", "nope")] {
        let err = postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user={user} password={password} dbname=postgres",
                s.port
            ),
            postgres::NoTls,
        )
        .err()
        .unwrap();
        let db = err.as_db_error().expect("a FATAL from the server");
        assert_eq!(db.code().code(), "28P01");
        assert_eq!(
            db.message(),
            format!("password authentication failed for user \"{user}\"")
        );
        assert_eq!(db.detail(), None, "{user}");
    }
    // The server log keeps the reasons.
    let log = s.log();
    assert!(
        log.contains("DETAIL:  Password does not match for user \"postgres\".\n"),
        "{log}"
    );
    assert!(log.contains("Role \"ghost\" does not exist."), "{log}");
    assert!(
        log.contains("Connection matched pg_hba.conf line 2: "),
        "{log}"
    );
}

#[test]
fn auth_delay_makes_a_wrong_password_wait_and_a_right_one_not() {
    let s = Server::builder()
        .password("s3cret")
        .hba(&HBA_ALL.replace("METHOD", "scram-sha-256"))
        .conf("auth_delay.milliseconds = 700")
        .start();
    let started = std::time::Instant::now();
    let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("wrong"));
    assert!(
        !ok && out.contains("password authentication failed"),
        "{out}"
    );
    // A lower bound only: the delay is a sleep in the backend.
    assert!(started.elapsed() >= std::time::Duration::from_millis(700));
    // Other clients are served meanwhile: the postmaster does not wait.
    let slow = std::thread::spawn({
        let port = s.port;
        move || {
            Command::new("psql")
                .args(["-X", "-w", "-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-U", "postgres", "-d", "postgres", "-c", "SELECT 1"])
                .env("PGPASSWORD", "wrong")
                .output()
                .unwrap()
        }
    });
    let (ok, out) = psql_as(&s, "127.0.0.1", "postgres", Some("s3cret"));
    assert!(ok, "{out}");
    assert!(!slow.join().unwrap().status.success());
    assert_eq!(
        s.psql(
            "SELECT setting, unit, context FROM pg_settings WHERE name = 'auth_delay.milliseconds'"
        ),
        "700|ms|sighup"
    );
}
