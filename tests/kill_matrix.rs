//! The kill matrix: under a write load whose commits are recorded only once
//! the server acknowledged them, kill — at random — every kind of process,
//! the postmaster included (SIGKILL and SIGQUIT), restart at once after a
//! postmaster death, and check at the end that nothing acknowledged is lost:
//! every recorded id is present exactly once, and transfers between accounts
//! never changed the total.
//!
//! The suite runs a short form (`KILL_MATRIX_KILLS`, default 30 kills);
//! `scripts/kill-matrix.sh N` runs N. `KILL_MATRIX_SEED` replays a run.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const ACCOUNTS: i64 = 10;
const INITIAL_BALANCE: i64 = 1000;

/// xorshift64*: enough randomness for choosing victims, and replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the clients share: the next id to insert and the ids acknowledged.
struct Load {
    stop: AtomicBool,
    next_id: AtomicI64,
    acked: Mutex<Vec<i64>>,
    transfers: AtomicI64,
}

/// One client: reconnects whenever its connection is lost; alternates
/// transfers (in one transaction, locking accounts in id order) and inserts
/// (autocommit; the id is recorded only after the server said COMMIT).
fn client(conninfo: String, load: Arc<Load>, seed: u64) {
    let mut rng = Rng(seed | 1);
    while !load.stop.load(Ordering::Relaxed) {
        let mut c = match postgres::Client::connect(&conninfo, postgres::NoTls) {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        while !load.stop.load(Ordering::Relaxed) {
            let ok = if rng.below(2) == 0 {
                let a = 1 + rng.below(ACCOUNTS as u64) as i64;
                let b = 1 + (a + rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS; // never a
                let amount = 1 + rng.below(50) as i64;
                let (lo, hi, d) = if a < b {
                    (a, b, -amount)
                } else {
                    (b, a, amount)
                };
                let r = c.batch_execute(&format!(
                    "BEGIN; UPDATE accounts SET balance = balance + {d} WHERE id = {lo}; \
                     UPDATE accounts SET balance = balance - {d} WHERE id = {hi}; COMMIT"
                ));
                if r.is_ok() {
                    load.transfers.fetch_add(1, Ordering::Relaxed);
                }
                r
            } else {
                let id = load.next_id.fetch_add(1, Ordering::Relaxed);
                let r = c.batch_execute(&format!("INSERT INTO items VALUES ({id})"));
                if r.is_ok() {
                    load.acked.lock().unwrap().push(id);
                }
                r
            };
            if ok.is_err() && c.is_closed() {
                break;
            }
        }
    }
}

/// Titles of the children a kill may pick (the postmaster is picked apart).
fn victims(s: &Server) -> Vec<(i32, String)> {
    s.children()
        .into_iter()
        .filter(|(_, t)| t.starts_with("ferrogres: "))
        .collect()
}

#[test]
fn acknowledged_commits_survive_random_kills_of_every_process_kind() {
    let kills: usize = std::env::var("KILL_MATRIX_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("KILL_MATRIX_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("kill matrix: {kills} kills, KILL_MATRIX_SEED={seed}");
    let mut rng = Rng(seed | 1);

    let mut s = Server::builder()
        .conf("logging_collector = on")
        .conf("archive_mode = on")
        .conf("archive_command = '/bin/true'")
        .conf("autovacuum_naptime = 1")
        .conf("max_wal_size = 32MB")
        .conf("checkpoint_timeout = 30")
        .start();
    s.psql(&format!(
        "CREATE TABLE accounts (id int, balance int); \
         INSERT INTO accounts SELECT g, {INITIAL_BALANCE} FROM generate_series(1, {ACCOUNTS}) g; \
         CREATE TABLE items (id bigint)"
    ));

    let load = Arc::new(Load {
        stop: AtomicBool::new(false),
        next_id: AtomicI64::new(1),
        acked: Mutex::new(Vec::new()),
        transfers: AtomicI64::new(0),
    });
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (conninfo, load) = (s.conninfo(), load.clone());
            let seed = rng.next() ^ i;
            std::thread::spawn(move || client(conninfo, load, seed))
        })
        .collect();

    let started = Instant::now();
    let mut by_kind: std::collections::BTreeMap<String, usize> = Default::default();
    let mut refusals = 0;
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(200 + rng.below(600)));
        let signal = if rng.below(4) == 0 {
            libc::SIGQUIT
        } else {
            libc::SIGKILL
        };
        let children = victims(&s);
        // The postmaster is one victim in four; otherwise any child.
        if rng.below(4) == 0 || children.is_empty() {
            let name = if signal == libc::SIGKILL {
                "postmaster (SIGKILL)"
            } else {
                "postmaster (SIGQUIT)"
            };
            *by_kind.entry(name.to_string()).or_default() += 1;
            kill(s.postmaster_pid(), signal);
            if signal == libc::SIGQUIT {
                // Immediate shutdown: the postmaster exits once its children have.
                assert!(s.wait_exit(Duration::from_secs(30)).is_some());
            } else {
                s.reap();
            }
            refusals += s.relaunch_after_postmaster_death(Duration::from_secs(60));
            continue;
        }
        let (pid, title) = &children[rng.below(children.len() as u64) as usize];
        let kind = title
            .trim_start_matches("ferrogres: ")
            .split(" for PID")
            .next()
            .unwrap()
            .to_string();
        let kind = if kind.starts_with("postgres ") {
            "client backend".to_string()
        } else {
            kind.split_whitespace()
                .take_while(|w| !w.contains('/') && !w.starts_with("recovering") && *w != "last")
                .collect::<Vec<_>>()
                .join(" ")
        };
        *by_kind
            .entry(format!(
                "{kind} ({})",
                if signal == libc::SIGKILL {
                    "SIGKILL"
                } else {
                    "SIGQUIT"
                }
            ))
            .or_default() += 1;
        kill(*pid, signal);
        // A startup process's death stops the server; anything else is a
        // crash-restart or a quiet restart. Either way: back to service.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if s.wait_exit(Duration::from_millis(10)).is_some() {
                refusals += s.relaunch_after_postmaster_death(Duration::from_secs(60));
                break;
            }
            if s.psql_output("SELECT 1", &[]).status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not come back after killing {title}:\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // Some load after the last kill, then stop the clients.
    std::thread::sleep(Duration::from_millis(500));
    load.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }

    let acked = load.acked.lock().unwrap().clone();
    let rows = s.psql("SELECT id FROM items");
    let present: Vec<i64> = rows.lines().map(|l| l.trim().parse().unwrap()).collect();
    let distinct: HashSet<i64> = present.iter().copied().collect();
    let lost: Vec<i64> = acked
        .iter()
        .copied()
        .filter(|id| !distinct.contains(id))
        .collect();
    let (sum, count) = {
        let out = s.psql("SELECT sum(balance), count(*) FROM accounts");
        let mut f = out.split('|');
        (
            f.next().unwrap().parse::<i64>().unwrap(),
            f.next().unwrap().parse::<i64>().unwrap(),
        )
    };
    eprintln!(
        "kill matrix: {kills} kills in {:?} ({refusals} starts refused while orphans lived), \
         {} inserts and {} transfers acknowledged, {} rows present, {} lost; by kind: {by_kind:?}",
        started.elapsed(),
        acked.len(),
        load.transfers.load(Ordering::Relaxed),
        present.len(),
        lost.len(),
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged inserts lost (seed {seed}), e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    assert_eq!(
        present.len(),
        distinct.len(),
        "duplicated rows (seed {seed})"
    );
    assert_eq!(
        count, ACCOUNTS,
        "accounts rows lost or duplicated (seed {seed})"
    );
    assert_eq!(
        sum,
        ACCOUNTS * INITIAL_BALANCE,
        "transfers changed the total (seed {seed})"
    );
    assert!(!acked.is_empty() && load.transfers.load(Ordering::Relaxed) > 0);
}
