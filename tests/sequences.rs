//! Sequences under crashes: a value `nextval` returned is never returned
//! again, whatever is killed when (storage/sequence rules S1 and S2), and
//! SERIAL columns keep handing out fresh ids after recovery.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

/// The crashes here are deliberate; a panic or a redo failure is not.
fn assert_no_panic(s: &Server) {
    let log = s.log();
    assert!(!log.contains("PANIC") && !log.contains("panicked"), "{log}");
}

fn crash_and_recover(s: &mut Server) {
    // SIGKILL of a backend makes the postmaster restart everything, as
    // PostgreSQL does; the bystander session's backend is the victim.
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
}

/// Eight sessions call `nextval` as fast as they can (two sequences, one
/// with CACHE 5) while a backend is killed; every value a client received
/// is below every value handed out after recovery, and no value was
/// received twice.
#[test]
fn kill_9_under_concurrent_nextval_never_repeats_a_value() {
    let mut s = Server::builder().conf("checkpoint_timeout = 30s").start();
    s.psql("CREATE SEQUENCE crash_seq; CREATE SEQUENCE crash_cached CACHE 5");
    let got: Arc<Mutex<Vec<(usize, i64)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8usize {
        let (got, stop, conninfo) = (got.clone(), stop.clone(), s.conninfo());
        workers.push(std::thread::spawn(move || {
            let seq = if w % 2 == 0 {
                "crash_seq"
            } else {
                "crash_cached"
            };
            let Ok(mut c) = postgres::Client::connect(&conninfo, postgres::NoTls) else {
                return;
            };
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                match c.query_one(&format!("SELECT nextval('{seq}')"), &[]) {
                    Ok(row) => got.lock().unwrap().push((w % 2, row.get::<_, i64>(0))),
                    Err(_) => return, // the crash ended this session
                }
                n += 1;
                if n % 50 == 0 && w == 0 {
                    // Checkpoints in between exercise rule S2.
                    let _ = c.batch_execute("CHECKPOINT");
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    crash_and_recover(&mut s);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let got = got.lock().unwrap().clone();
    for (k, seq) in [(0usize, "crash_seq"), (1, "crash_cached")] {
        let before: Vec<i64> = got
            .iter()
            .filter(|(g, _)| *g == k)
            .map(|(_, v)| *v)
            .collect();
        assert!(
            before.len() > 20,
            "{seq}: only {} values before the crash",
            before.len()
        );
        let distinct: BTreeSet<i64> = before.iter().copied().collect();
        assert_eq!(distinct.len(), before.len(), "{seq} returned a value twice");
        let max_before = *distinct.iter().max().unwrap();
        let after: i64 = s.psql(&format!("SELECT nextval('{seq}')")).parse().unwrap();
        assert!(
            after > max_before,
            "{seq}: {after} after recovery, but {max_before} was handed out before"
        );
    }
    assert_no_panic(&s);
}

/// A lone `SELECT nextval()` (a transaction that writes nothing else) is
/// durable at once, also right after a checkpoint and across a second
/// crash; SERIAL goes on after recovery; setval survives a crash.
#[test]
fn nextval_and_setval_are_durable_across_crashes_and_checkpoints() {
    let mut s = Server::start();
    s.psql("CREATE SEQUENCE lone_seq; CREATE TABLE crash_serial (id serial, v text)");
    assert_eq!(s.psql("SELECT nextval('lone_seq')"), "1");
    s.psql("INSERT INTO crash_serial (v) VALUES ('a'), ('b')");
    s.psql("CHECKPOINT");
    // The first nextval after the checkpoint logs again (rule S2).
    assert_eq!(s.psql("SELECT nextval('lone_seq')"), "2");
    crash_and_recover(&mut s);
    let v: i64 = s.psql("SELECT nextval('lone_seq')").parse().unwrap();
    assert!(v > 2, "lone_seq gave {v} after recovery");
    s.psql("INSERT INTO crash_serial (v) VALUES ('c')");
    assert_eq!(
        s.psql("SELECT count(DISTINCT id), count(*) FROM crash_serial"),
        "3|3"
    );
    let ids = s.psql("SELECT id FROM crash_serial WHERE v = 'c'");
    assert!(ids.parse::<i64>().unwrap() > 2, "{ids}");
    assert_eq!(s.psql("SELECT setval('lone_seq', 1000, false)"), "1000");
    crash_and_recover(&mut s);
    assert_eq!(s.psql("SELECT nextval('lone_seq')"), "1000");
    assert_eq!(
        s.psql("SELECT last_value, is_called FROM lone_seq"),
        "1000|t"
    );
    // An orderly restart keeps the state exactly (no values skipped from
    // the page; the shutdown checkpoint wrote it).
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0));
    s.launch();
    assert_eq!(
        s.psql("SELECT last_value, is_called FROM lone_seq"),
        "1000|t"
    );
    assert_no_panic(&s);
}
