//! Durability and crash recovery, as a user sees them: committed rows
//! survive every kind of crash, uncommitted ones never appear.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

fn ids(s: &Server, sql: &str) -> BTreeSet<i64> {
    s.psql(sql)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn postgresql_crash_test_committed_rows_survive_uncommitted_vanish() {
    let mut s = Server::start();
    s.psql("CREATE TABLE crash_t (id int, note text)");
    s.psql("INSERT INTO crash_t VALUES (1, 'committed')");
    // A second session inserts in an open transaction, then its backend is killed.
    let mut open = s.connect();
    open.batch_execute("BEGIN; INSERT INTO crash_t VALUES (2, 'in flight')")
        .unwrap();
    let victim: i32 = Server::query_one(&mut open, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    let bystander = s.psql_background("SELECT pg_sleep(30)");
    kill(victim, libc::SIGKILL);
    let out = bystander.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("terminating connection because of crash of another server process")
            || err.contains("server closed the connection"),
        "{err}"
    );
    assert!(s.wait_for_log(
        "all server processes terminated; reinitializing",
        Duration::from_secs(15)
    ));
    s.wait_ready(Duration::from_secs(30));
    assert!(s.log().contains("redo starts at"), "{}", s.log());
    assert_eq!(
        ids(&s, "SELECT id FROM crash_t ORDER BY id"),
        BTreeSet::from([1])
    );
    // An orderly restart keeps them.
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0));
    s.launch();
    assert_eq!(
        s.psql("SELECT id, note FROM crash_t ORDER BY id"),
        "1|committed"
    );
}

/// Writers insert unique ids in autocommit; an id counts as acknowledged
/// when its INSERT returned success. After `crash` and recovery, every
/// acknowledged id is present and no id that was never attempted is.
fn acknowledged_commits_survive(crash: impl FnOnce(&mut Server)) {
    let mut s = Server::builder()
        .conf("shared_buffers = 1MB")
        .conf("checkpoint_timeout = 30s")
        .start();
    s.psql("CREATE TABLE load_t (id bigint, pad text)");
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let attempted = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3i64 {
        let (acked, attempted, stop, conninfo) =
            (acked.clone(), attempted.clone(), stop.clone(), s.conninfo());
        writers.push(std::thread::spawn(move || {
            let mut next = w * 1_000_000;
            let mut client = None;
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if client.is_none() {
                    client = postgres::Client::connect(&conninfo, postgres::NoTls).ok();
                    if client.is_none() {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                }
                next += 1;
                attempted.lock().unwrap().insert(next);
                let sql = format!("INSERT INTO load_t VALUES ({next}, repeat('x', 200))");
                match client.as_mut().unwrap().batch_execute(&sql) {
                    Ok(()) => {
                        acked.lock().unwrap().insert(next);
                    }
                    Err(_) => client = None,
                }
            }
        }));
    }
    assert!(
        wait_until(Duration::from_secs(20), || acked.lock().unwrap().len()
            > 300),
        "writers made no progress"
    );
    crash(&mut s);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    s.wait_ready(Duration::from_secs(60));
    let present = ids(&s, "SELECT id FROM load_t");
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let lost: Vec<_> = acked.difference(&present).take(10).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged commits lost, e.g. {lost:?}\n{}",
        acked.difference(&present).count(),
        s.log()
    );
    let phantom: Vec<_> = present.difference(&attempted).take(10).collect();
    assert!(
        phantom.is_empty(),
        "rows that were never inserted: {phantom:?}"
    );
    assert_eq!(
        s.psql("SELECT count(*) = count(DISTINCT id) FROM load_t"),
        "t",
        "duplicated rows after recovery"
    );
}

fn kill9(s: &mut Server, title: &str) {
    let pid = s
        .child_pid(title)
        .unwrap_or_else(|| panic!("no {title}: {:?}", s.children()));
    kill(pid, libc::SIGKILL);
    assert!(
        s.wait_for_log(
            "all server processes terminated; reinitializing",
            Duration::from_secs(20)
        ),
        "{}",
        s.log()
    );
}

#[test]
fn acknowledged_commits_survive_kill9_of_the_checkpointer() {
    acknowledged_commits_survive(|s| kill9(s, "ferrogres: checkpointer"));
}

#[test]
fn acknowledged_commits_survive_kill9_of_the_background_writer() {
    acknowledged_commits_survive(|s| kill9(s, "ferrogres: background writer"));
}

#[test]
fn acknowledged_commits_survive_kill9_of_the_walwriter() {
    acknowledged_commits_survive(|s| kill9(s, "ferrogres: walwriter"));
}

#[test]
fn acknowledged_commits_survive_kill9_of_a_backend() {
    acknowledged_commits_survive(|s| {
        let pid = s
            .children()
            .into_iter()
            .find(|(_, t)| t.contains("127.0.0.1("))
            .expect("a writer backend")
            .0;
        kill(pid, libc::SIGKILL);
        assert!(s.wait_for_log(
            "all server processes terminated; reinitializing",
            Duration::from_secs(20)
        ));
    });
}

#[test]
fn acknowledged_commits_survive_immediate_shutdown_and_restart() {
    acknowledged_commits_survive(|s| {
        let out = s.ctl(&["stop", "-m", "immediate"]);
        assert!(out.status.success());
        assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0));
        s.launch();
        assert!(s.log().contains(
            "database system was not properly shut down; automatic recovery in progress"
        ));
    });
}

#[test]
fn stopped_walwriter_does_not_stop_commits() {
    let s = Server::start();
    s.psql("CREATE TABLE w (id int)");
    let walwriter = s.child_pid("ferrogres: walwriter").unwrap();
    kill(walwriter, libc::SIGSTOP);
    for i in 0..50 {
        s.psql(&format!("INSERT INTO w VALUES ({i})"));
    }
    assert_eq!(s.psql("SELECT count(*) FROM w"), "50");
    kill(walwriter, libc::SIGCONT);
}

#[test]
fn asynchronous_commit_loses_at_most_the_walwriter_window_and_never_corrupts() {
    let mut s = Server::builder()
        .conf("synchronous_commit = off")
        .conf("wal_writer_delay = 200ms")
        .start();
    s.psql("CREATE TABLE a (id int)");
    let mut c = s.connect();
    for i in 1..=2000 {
        c.batch_execute(&format!("INSERT INTO a VALUES ({i})"))
            .unwrap();
    }
    // Older commits have had time to reach disk through the walwriter.
    std::thread::sleep(Duration::from_millis(1000));
    let mut last = 2000;
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(150) {
        last += 1;
        c.batch_execute(&format!("INSERT INTO a VALUES ({last})"))
            .unwrap();
    }
    // kill -9 of the postmaster and all its children.
    kill9_server(&mut s);
    s.launch();
    let present = ids(&s, "SELECT id FROM a");
    // Everything committed before the last second is there...
    assert!(
        (1..=2000).all(|i| present.contains(&i)),
        "lost commits older than wal_writer_delay"
    );
    // ...and what survived is a prefix: no holes, nothing invented.
    let max = *present.iter().max().unwrap();
    assert_eq!(
        present.len() as i64,
        max,
        "recovered rows are not a prefix of the committed ones"
    );
    assert!(max <= last);
}

/// After a crash the oid counter can restart below relation files an
/// aborted transaction left behind (the NEXTOID record that reserved them
/// need not have reached disk): CREATE TABLE must pick a file name that is
/// free, as PostgreSQL's GetNewRelFileNumber does, instead of failing with
/// `could not create file ...: File exists`.
#[test]
fn create_table_skips_relation_files_left_behind() {
    let mut s = Server::start();
    s.psql("CREATE TABLE left_a (id int)");
    let n: u32 = s
        .psql("SELECT relfilenode FROM pg_class WHERE relname = 'left_a'")
        .trim()
        .parse()
        .unwrap();
    let out = s.ctl(&["stop", "-m", "fast"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.wait_exit(Duration::from_secs(30));
    // Files of the next oids, as a crashed transaction would leave them.
    let strays: Vec<u32> = (n + 1..n + 200).collect();
    for o in &strays {
        std::fs::write(data_path(&s, &format!("base/5/{o}")), b"").unwrap();
    }
    s.launch();
    s.wait_ready(Duration::from_secs(30));
    s.psql("CREATE TABLE left_b (id int); INSERT INTO left_b VALUES (1)");
    let b: u32 = s
        .psql("SELECT relfilenode FROM pg_class WHERE relname = 'left_b'")
        .trim()
        .parse()
        .unwrap();
    assert!(!strays.contains(&b), "left_b took the stray file {b}");
    assert_eq!(s.psql("SELECT count(*) FROM left_b").trim(), "1");
    assert_no_crash(&s);
}
