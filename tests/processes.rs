//! The process architecture as a user sees it with `ps`, `kill` and
//! `pg_stat_activity`: titles, restart rules of every kind, postmaster death.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const BG_TITLES: [&str; 6] = [
    "ferrogres: checkpointer",
    "ferrogres: background writer",
    "ferrogres: walwriter",
    "ferrogres: autovacuum launcher",
    "ferrogres: stats collector",
    "ferrogres: logical replication launcher",
];

fn wait_for_all_background(s: &Server) {
    for t in BG_TITLES {
        assert!(
            s.wait_for_child(t, None, Duration::from_secs(20)).is_some(),
            "no process titled {t:?}: {:?}",
            s.children()
        );
    }
}

#[test]
fn background_processes_run_with_their_titles_and_show_in_pg_stat_activity() {
    let s = Server::start();
    wait_for_all_background(&s);
    let types = s.psql("SELECT backend_type FROM pg_stat_activity ORDER BY backend_type");
    for t in [
        "autovacuum launcher",
        "background writer",
        "checkpointer",
        "client backend",
        "logical replication launcher",
        "walwriter",
    ] {
        assert!(
            types.lines().any(|l| l == t),
            "backend_type {t:?} missing from pg_stat_activity:\n{types}"
        );
    }
    // The stats collector and the logger are not in pg_stat_activity, as in PostgreSQL.
    assert!(!types.contains("stats collector"));
    // pids in the view are the real processes.
    let ckpt_pid = s.child_pid("ferrogres: checkpointer").unwrap();
    assert_eq!(
        s.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"),
        ckpt_pid.to_string()
    );
    // The archiver runs only with archive_mode = on.
    assert!(s.child_pid("ferrogres: archiver").is_none());
}

#[test]
fn archiver_and_logger_start_when_configured() {
    let s = Server::builder()
        .conf("archive_mode = on")
        .conf("archive_command = '/bin/true'")
        .conf("logging_collector = on")
        .start();
    assert!(
        s.wait_for_child("ferrogres: archiver", None, Duration::from_secs(20))
            .is_some(),
        "{:?}",
        s.children()
    );
    assert!(
        s.wait_for_child("ferrogres: logger", None, Duration::from_secs(20))
            .is_some(),
        "{:?}",
        s.children()
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'archiver'"),
        "1"
    );
}

#[test]
fn backend_title_shows_user_database_host_and_state() {
    let s = Server::start();
    let mut c = s.connect();
    let pid: i32 = Server::query_one(&mut c, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || title_of(pid).contains("idle")),
        "{}",
        title_of(pid)
    );
    let t = title_of(pid);
    assert!(
        t.starts_with("ferrogres: postgres postgres 127.0.0.1("),
        "{t}"
    );
    c.batch_execute("BEGIN").unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || title_of(pid)
            .ends_with("idle in transaction")),
        "{}",
        title_of(pid)
    );
    c.batch_execute("COMMIT").unwrap();
    // While a statement runs, the title carries its command tag.
    let conninfo = s.conninfo();
    let t = std::thread::spawn(move || {
        let mut c2 = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
        c2.batch_execute("SELECT pg_sleep(2)").unwrap();
    });
    assert!(
        wait_until(Duration::from_secs(5), || s
            .children()
            .iter()
            .any(|(_, t)| t.ends_with(" SELECT") && t.contains("127.0.0.1("))),
        "{:?}",
        s.children()
    );
    t.join().unwrap();
    // Unix-socket sessions show [local].
    let out = Command::new("psql")
        .args(["-X", "-h"])
        .arg(&s.socket_dir)
        .args([
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            "SELECT pg_sleep(3)",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || s
            .children()
            .iter()
            .any(|(_, t)| t == "ferrogres: postgres postgres [local] SELECT")),
        "{:?}",
        s.children()
    );
    let mut out = out;
    out.wait().unwrap();
}

/// kill -9 of a process whose rule is crash-restart: every other child is
/// replaced, a connected client is told, the log says so in PostgreSQL's
/// words, and the server serves again.
fn assert_kill9_crash_restarts(s: Server, title: &str, log_name: &str) {
    wait_for_all_background(&s);
    let victim = s
        .wait_for_child(title, None, Duration::from_secs(10))
        .unwrap();
    let client = s.psql_background("SELECT pg_sleep(60)");
    let before: Vec<(i32, String)> = s.children();
    kill(victim, libc::SIGKILL);
    assert!(
        s.wait_for_log(
            &format!("{log_name} (PID {victim}) was terminated by signal 9: Killed"),
            Duration::from_secs(10)
        ),
        "{}",
        s.log()
    );
    assert!(s.wait_for_log(
        "terminating any other active server processes",
        Duration::from_secs(5)
    ));
    assert!(
        s.wait_for_log(
            "all server processes terminated; reinitializing",
            Duration::from_secs(15)
        ),
        "{}",
        s.log()
    );
    let out = client.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WARNING:  terminating connection because of crash of another server process"),
        "{err}"
    );
    s.wait_ready(Duration::from_secs(20));
    wait_for_all_background(&s);
    // Every process that attaches to shared memory was replaced.
    let after = s.children();
    for (pid, t) in before {
        if t.contains("logger") {
            continue;
        }
        assert!(
            !after.iter().any(|(p, _)| *p == pid),
            "{t} (PID {pid}) survived the crash-restart"
        );
    }
    assert_eq!(
        s.log()
            .matches("database system is ready to accept connections")
            .count(),
        2,
        "{}",
        s.log()
    );
    assert!(
        s.log()
            .contains("database system was not properly shut down; automatic recovery in progress")
    );
}

#[test]
fn killed_checkpointer_causes_crash_restart() {
    assert_kill9_crash_restarts(
        Server::start(),
        "ferrogres: checkpointer",
        "checkpointer process",
    );
}

#[test]
fn killed_background_writer_causes_crash_restart() {
    assert_kill9_crash_restarts(
        Server::start(),
        "ferrogres: background writer",
        "background writer process",
    );
}

#[test]
fn killed_walwriter_causes_crash_restart() {
    assert_kill9_crash_restarts(
        Server::start(),
        "ferrogres: walwriter",
        "WAL writer process",
    );
}

#[test]
fn killed_autovacuum_launcher_causes_crash_restart() {
    assert_kill9_crash_restarts(
        Server::start(),
        "ferrogres: autovacuum launcher",
        "autovacuum launcher process",
    );
}

#[test]
fn killed_logical_replication_launcher_causes_crash_restart() {
    assert_kill9_crash_restarts(
        Server::start(),
        "ferrogres: logical replication launcher",
        "background worker \"logical replication launcher\"",
    );
}

#[test]
fn killed_archiver_causes_crash_restart() {
    let s = Server::builder()
        .conf("archive_mode = on")
        .conf("archive_command = '/bin/true'")
        .start();
    assert_kill9_crash_restarts(s, "ferrogres: archiver", "archiver process");
}

#[test]
fn children_that_ignore_sigquit_are_killed_after_5_seconds() {
    let s = Server::start();
    wait_for_all_background(&s);
    // A stopped walwriter cannot act on SIGQUIT: the postmaster must SIGKILL it.
    let walwriter = s.child_pid("ferrogres: walwriter").unwrap();
    kill(walwriter, libc::SIGSTOP);
    let bgwriter = s.child_pid("ferrogres: background writer").unwrap();
    let t0 = std::time::Instant::now();
    kill(bgwriter, libc::SIGKILL);
    assert!(
        s.wait_for_log(
            "issuing SIGKILL to recalcitrant children",
            Duration::from_secs(15)
        ),
        "{}",
        s.log()
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(4500),
        "SIGKILL came too early: {:?}",
        t0.elapsed()
    );
    assert!(s.wait_for_log(
        "all server processes terminated; reinitializing",
        Duration::from_secs(10)
    ));
    s.wait_ready(Duration::from_secs(20));
    assert!(!pid_alive(walwriter));
}

#[test]
fn killed_backend_crash_restarts_and_other_sessions_are_told() {
    let s = Server::start();
    wait_for_all_background(&s);
    let ckpt = s.child_pid("ferrogres: checkpointer").unwrap();
    // A bystander session running a statement: psql prints the WARNING.
    let bystander = s.psql_background("SELECT pg_sleep(30)");
    let mut victim_client = s.connect();
    let victim: i32 = Server::query_one(&mut victim_client, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait_until(Duration::from_secs(5), || s.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'"
    ) == "1"));
    kill(victim, libc::SIGKILL);
    let out = bystander.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WARNING:  terminating connection because of crash of another server process"),
        "{err}"
    );
    assert!(!out.status.success());
    assert!(s.wait_for_log(
        &format!("server process (PID {victim}) was terminated by signal 9: Killed"),
        Duration::from_secs(10)
    ));
    assert!(
        s.wait_for_log(
            "all server processes terminated; reinitializing",
            Duration::from_secs(15)
        ),
        "{}",
        s.log()
    );
    s.wait_ready(Duration::from_secs(20));
    assert!(
        !pid_alive(ckpt) || s.child_pid("ferrogres: checkpointer") != Some(ckpt),
        "checkpointer kept its pid"
    );
    // The killed session's client sees its connection gone.
    assert!(victim_client.simple_query("SELECT 1").is_err());
}

#[test]
fn killed_stats_collector_is_restarted_alone() {
    let s = Server::start();
    wait_for_all_background(&s);
    let mut c = s.connect();
    let stats = s.child_pid("ferrogres: stats collector").unwrap();
    let ckpt = s.child_pid("ferrogres: checkpointer").unwrap();
    kill(stats, libc::SIGKILL);
    let new = s.wait_for_child(
        "ferrogres: stats collector",
        Some(stats),
        Duration::from_secs(10),
    );
    assert!(
        new.is_some(),
        "stats collector not restarted: {:?}",
        s.children()
    );
    assert!(s.log().contains(&format!(
        "statistics collector process (PID {stats}) was terminated by signal 9: Killed"
    )));
    assert!(
        !s.log()
            .contains("terminating any other active server processes")
    );
    assert_eq!(s.child_pid("ferrogres: checkpointer"), Some(ckpt));
    // The session survives.
    assert_eq!(
        Server::query_one(&mut c, "SELECT 1 + 1").as_deref(),
        Some("2")
    );
}

#[test]
fn killed_logger_is_restarted_alone_and_logging_continues() {
    let s = Server::builder()
        .conf("logging_collector = on")
        .conf("log_connections = on")
        .start();
    let logger = s
        .wait_for_child("ferrogres: logger", None, Duration::from_secs(10))
        .unwrap();
    let ckpt = s.child_pid("ferrogres: checkpointer").unwrap();
    kill(logger, libc::SIGKILL);
    let new = s.wait_for_child("ferrogres: logger", Some(logger), Duration::from_secs(10));
    assert!(new.is_some(), "logger not restarted: {:?}", s.children());
    assert_eq!(s.child_pid("ferrogres: checkpointer"), Some(ckpt));
    s.psql("SELECT 'after the logger restart'");
    let log_dir = s.data.join("log");
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_dir(&log_dir)
                .map(|d| {
                    d.flatten().any(|f| {
                        let t = std::fs::read_to_string(f.path()).unwrap_or_default();
                        t.contains(&format!("system logger process (PID {logger}) was terminated by signal 9: Killed"))
                            && t.contains("connection authorized: user=postgres database=postgres")
                    })
                })
                .unwrap_or(false)
        }),
        "log files do not show the restart"
    );
}

#[test]
fn sigterm_restarts_bgwriter_walwriter_and_launcher_quietly() {
    let s = Server::start();
    wait_for_all_background(&s);
    let ckpt = s.child_pid("ferrogres: checkpointer").unwrap();
    for title in [
        "ferrogres: background writer",
        "ferrogres: walwriter",
        "ferrogres: autovacuum launcher",
    ] {
        let old = s.child_pid(title).unwrap();
        kill(old, libc::SIGTERM);
        assert!(
            s.wait_for_child(title, Some(old), Duration::from_secs(10))
                .is_some(),
            "{title} not restarted"
        );
    }
    assert_eq!(
        s.child_pid("ferrogres: checkpointer"),
        Some(ckpt),
        "a quiet restart must not crash-restart"
    );
    assert!(
        !s.log()
            .contains("terminating any other active server processes"),
        "{}",
        s.log()
    );
}

#[test]
fn checkpointer_ignores_sigterm() {
    let s = Server::start();
    wait_for_all_background(&s);
    let ckpt = s.child_pid("ferrogres: checkpointer").unwrap();
    kill(ckpt, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    assert!(pid_alive(ckpt));
    assert_eq!(s.child_pid("ferrogres: checkpointer"), Some(ckpt));
}

#[test]
fn logical_replication_launcher_exits_1_on_sigterm_and_returns_after_5s() {
    let s = Server::start();
    wait_for_all_background(&s);
    let old = s
        .child_pid("ferrogres: logical replication launcher")
        .unwrap();
    let t0 = std::time::Instant::now();
    kill(old, libc::SIGTERM);
    assert!(s.wait_for_log(
        &format!(
            "background worker \"logical replication launcher\" (PID {old}) exited with exit code 1"
        ),
        Duration::from_secs(5)
    ));
    let new = s.wait_for_child(
        "ferrogres: logical replication launcher",
        Some(old),
        Duration::from_secs(15),
    );
    assert!(new.is_some());
    assert!(
        t0.elapsed() >= Duration::from_millis(4500),
        "restarted too early: {:?}",
        t0.elapsed()
    );
    assert!(
        !s.log()
            .contains("terminating any other active server processes")
    );
}

#[test]
fn restart_after_crash_off_stops_the_server() {
    let mut s = Server::builder().conf("restart_after_crash = off").start();
    let mut c = s.connect();
    let pid: i32 = Server::query_one(&mut c, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    kill(pid, libc::SIGKILL);
    let code = s.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(1), "{}", s.log());
    assert!(
        s.log()
            .contains("shutting down because restart_after_crash is off"),
        "{}",
        s.log()
    );
    assert!(!s.data.join("postmaster.pid").exists());
}

#[test]
fn killed_postmaster_children_exit_and_a_new_postmaster_starts_over_the_stale_pid_file() {
    let mut s = Server::start();
    wait_for_all_background(&s);
    let mut c = s.connect();
    let pm = s.postmaster_pid();
    let kids: Vec<i32> = s.children().into_iter().map(|(p, _)| p).collect();
    assert!(kids.len() >= 7);
    kill(pm, libc::SIGKILL);
    s.reap();
    assert!(
        wait_until(Duration::from_secs(10), || kids
            .iter()
            .all(|p| !pid_alive(*p))),
        "children outlived the postmaster"
    );
    assert!(
        c.simple_query("SELECT 1").is_err(),
        "session survived its postmaster"
    );
    assert!(
        s.data.join("postmaster.pid").exists(),
        "kill -9 leaves the pid file behind"
    );
    s.launch();
    assert_eq!(s.psql("SELECT 42"), "42");
    assert!(
        s.log()
            .contains("database system was not properly shut down; automatic recovery in progress")
    );
}

#[test]
fn second_postmaster_on_the_same_directory_is_refused() {
    let s = Server::start();
    let out = Command::new(BIN)
        .arg("server")
        .arg("-D")
        .arg(&s.data)
        .arg("-p")
        .arg(free_port().to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lock file \"postmaster.pid\" already exists"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "Is another postmaster (PID {}) running",
            s.postmaster_pid()
        )),
        "{err}"
    );
    assert_eq!(s.psql("SELECT 1"), "1");
}
