//! Shutdown modes, reload and `ctl`, as a client and an operator see them.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn db_error_code(e: &postgres::Error) -> Option<String> {
    e.as_db_error().map(|d| d.code().code().to_string())
}

#[test]
fn fast_shutdown_terminates_sessions_with_57p01_and_checkpoints() {
    let mut s = Server::start();
    let mut c = s.connect();
    c.batch_execute("BEGIN").unwrap();
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0), "{}", s.log());
    let err = c.simple_query("SELECT 1").unwrap_err();
    // The FATAL arrived before the client asked; the crate reports it or a closed connection.
    let code = db_error_code(&err);
    assert!(
        code.is_none() || code.as_deref() == Some("57P01"),
        "{err:?}"
    );
    let log = s.log();
    assert!(log.contains("received fast shutdown request"), "{log}");
    assert!(log.contains("aborting any active transactions"), "{log}");
    assert!(
        log.contains("FATAL:  terminating connection due to administrator command"),
        "{log}"
    );
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("database system is shut down"), "{log}");
    assert!(!s.data.join("postmaster.pid").exists());
    assert!(!s.socket_dir.join(format!(".s.PGSQL.{}", s.port)).exists());
    // A clean stop: the next start needs no recovery.
    s.launch();
    assert!(
        s.log().contains("database system was shut down at"),
        "{}",
        s.log()
    );
}

#[test]
fn psql_sees_57p01_message_on_fast_shutdown() {
    let mut s = Server::start();
    let p = s.psql_background("SELECT pg_sleep(30)");
    s.signal(libc::SIGINT);
    let out = p.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FATAL:  terminating connection due to administrator command"),
        "{err}"
    );
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0));
}

#[test]
fn smart_shutdown_waits_for_sessions_and_refuses_new_ones() {
    let mut s = Server::start();
    let mut c = s.connect();
    s.signal(libc::SIGTERM);
    assert!(s.wait_for_log("received smart shutdown request", Duration::from_secs(5)));
    // New connections are refused with 57P03 while the old session goes on.
    let out = s.psql_output("SELECT 1", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the database system is shutting down"),
        "{err}"
    );
    assert_eq!(Server::query_one(&mut c, "SELECT 7").as_deref(), Some("7"));
    assert_eq!(
        s.wait_exit(Duration::from_millis(500)),
        None,
        "smart shutdown must wait for sessions"
    );
    drop(c);
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0), "{}", s.log());
    assert!(s.log().contains("database system is shut down"));
}

#[test]
fn immediate_shutdown_warns_clients_and_next_start_recovers() {
    let mut s = Server::start();
    let p = s.psql_background("SELECT pg_sleep(30)");
    let out = s.ctl(&["stop", "-m", "immediate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = p.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("terminating connection due to immediate shutdown command"),
        "{err}"
    );
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(s.log().contains("received immediate shutdown request"));
    assert!(
        !s.log().contains("checkpoint starting: shutdown"),
        "immediate shutdown must not checkpoint"
    );
    s.launch();
    assert!(
        s.log()
            .contains("database system was not properly shut down; automatic recovery in progress"),
        "{}",
        s.log()
    );
}

#[test]
fn ctl_start_status_restart_stop() {
    let s = Server::start();
    // Hand the server over to ctl: stop the harness's postmaster first.
    let data = s.data.clone();
    let log = s.dir.0.join("ctl.log");
    let out = s.ctl(&["stop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("server stopped"));
    let ctl = |args: &[&str]| {
        Command::new(BIN)
            .arg("ctl")
            .args(args)
            .arg("-D")
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = ctl(&["status"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "status of a stopped server exits 3"
    );
    let out = ctl(&["start", "-l", log.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("server started"));
    assert_eq!(s.psql("SELECT 1"), "1");
    let out = ctl(&["status"]);
    assert!(out.status.success());
    let pid1 = pidfile_pid(&data);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("server is running (PID: {pid1})"))
    );
    let out = ctl(&["restart", "-l", log.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid2 = pidfile_pid(&data);
    assert_ne!(pid1, pid2);
    assert_eq!(s.psql("SELECT 2"), "2");
    let out = ctl(&["reload"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("server signaled"));
    let out = ctl(&["stop", "-m", "smart"]);
    assert!(out.status.success());
    assert!(!pid_alive(pid2));
    let logtext = std::fs::read_to_string(&log).unwrap();
    assert!(
        logtext.contains("received SIGHUP, reloading configuration files"),
        "{logtext}"
    );
}

fn pidfile_pid(data: &std::path::Path) -> i32 {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn sighup_reloads_configuration_and_reports_postmaster_only_parameters() {
    let s = Server::start();
    assert_eq!(s.psql("SHOW work_mem"), "4MB");
    let mut conf = std::fs::read_to_string(s.data.join("postgresql.conf")).unwrap();
    conf.push_str(&format!("work_mem = '8MB'\nport = {}\n", free_port()));
    std::fs::write(s.data.join("postgresql.conf"), conf).unwrap();
    // An existing session picks the change up too (SIGHUP is forwarded).
    let mut c = s.connect();
    s.signal(libc::SIGHUP);
    assert!(s.wait_for_log(
        "received SIGHUP, reloading configuration files",
        Duration::from_secs(5)
    ));
    assert!(
        s.wait_for_log(
            "parameter \"port\" cannot be changed without restarting the server",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    assert!(
        s.wait_for_log(
            "parameter \"work_mem\" changed to \"8MB\"",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    assert_eq!(s.psql("SHOW work_mem"), "8MB");
    assert!(wait_until(Duration::from_secs(5), || Server::query_one(
        &mut c,
        "SHOW work_mem"
    )
    .as_deref()
        == Some("8MB")));
}

#[test]
fn alter_system_writes_auto_conf_and_pg_reload_conf_applies_it() {
    let s = Server::start();
    s.psql("ALTER SYSTEM SET work_mem = '16MB'");
    let auto = std::fs::read_to_string(s.data.join("postgresql.auto.conf")).unwrap();
    assert!(auto.contains("work_mem = '16MB'"), "{auto}");
    assert_eq!(
        s.psql("SHOW work_mem"),
        "4MB",
        "ALTER SYSTEM takes effect only on reload"
    );
    assert_eq!(s.psql("SELECT pg_reload_conf()"), "t");
    assert!(wait_until(Duration::from_secs(5), || s
        .psql("SHOW work_mem")
        == "16MB"));
    s.psql("ALTER SYSTEM RESET work_mem");
    s.psql("SELECT pg_reload_conf()");
    assert!(wait_until(Duration::from_secs(5), || s
        .psql("SHOW work_mem")
        == "4MB"));
}
