//! B-tree indexes as clients see them: two sessions inserting the same
//! primary key (the second waits for the first and then fails or goes in),
//! acknowledged inserts and index structure surviving kill -9 under eight
//! concurrent inserters that split pages all over the tree, VACUUM and
//! VACUUM FULL after deletes leaving the indexes consistent with the freed
//! keys insertable again, and `pgbench -i`'s primary keys.
//! `bt_index_check` (amcheck's function, built in) verifies each index.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

/// `bt_index_check` passes on each index (it returns void: psql prints
/// an empty value).
fn check_indexes(s: &Server, indexes: &[&str]) {
    for i in indexes {
        assert_eq!(
            s.psql(&format!("SELECT bt_index_check('{i}')")),
            "",
            "bt_index_check('{i}')"
        );
    }
}

/// The error of a statement that must fail with a unique violation.
fn expect_unique_violation(c: &mut postgres::Client, sql: &str, constraint: &str) -> String {
    let e = c
        .batch_execute(sql)
        .expect_err(&format!("{sql} must violate {constraint}"));
    assert_eq!(code(&e), "23505", "{sql}: {e:?}");
    assert_eq!(
        message(&e),
        format!("duplicate key value violates unique constraint \"{constraint}\""),
        "{sql}"
    );
    e.as_db_error()
        .and_then(|d| d.detail())
        .unwrap_or_default()
        .to_string()
}

/// Runs `sql` in a new session on a thread and returns once that session
/// waits for a lock (pg_locks shows a request not granted) and is still
/// waiting a moment later.
fn start_blocked(s: &Server, sql: &str) -> JoinHandle<Result<(), postgres::Error>> {
    let conninfo = s.conninfo();
    let statement = sql.to_string();
    let handle = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
        c.batch_execute(&statement)
    });
    let mut watcher = s.connect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        if handle.is_finished() {
            let r = handle.join().unwrap();
            panic!("{sql:?} did not wait for the other transaction: {r:?}");
        }
        assert!(Instant::now() < deadline, "{sql:?} never waited");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !handle.is_finished(),
        "{sql:?} stopped waiting before the other transaction ended"
    );
    handle
}

/// Of two sessions inserting the same key, the second waits for the
/// first's transaction: it fails with 23505 once the first commits and
/// goes in if the first rolls back. A transaction deleting the key makes
/// an inserter wait the same way, with the opposite outcomes.
#[test]
fn concurrent_inserts_of_one_key_wait_for_the_first_transaction() {
    let s = Server::start();
    s.psql("CREATE TABLE k (id int PRIMARY KEY, v text)");
    let mut first = s.connect();

    // The first commits: the second fails.
    first
        .batch_execute("BEGIN; INSERT INTO k VALUES (1, 'first')")
        .unwrap();
    let second = start_blocked(&s, "INSERT INTO k VALUES (1, 'second')");
    first.batch_execute("COMMIT").unwrap();
    let e = second
        .join()
        .unwrap()
        .expect_err("the committed key 1 is taken");
    assert_eq!(code(&e), "23505", "{e:?}");
    assert_eq!(
        message(&e),
        "duplicate key value violates unique constraint \"k_pkey\""
    );
    assert_eq!(
        e.as_db_error().unwrap().detail(),
        Some("Key (id)=(1) already exists.")
    );

    // The first rolls back: the second goes in.
    first
        .batch_execute("BEGIN; INSERT INTO k VALUES (2, 'first')")
        .unwrap();
    let second = start_blocked(&s, "INSERT INTO k VALUES (2, 'second')");
    first.batch_execute("ROLLBACK").unwrap();
    second
        .join()
        .unwrap()
        .expect("key 2 is free once the first inserter rolled back");

    // A deleter commits: the key is free.
    first
        .batch_execute("BEGIN; DELETE FROM k WHERE id = 1")
        .unwrap();
    let second = start_blocked(&s, "INSERT INTO k VALUES (1, 'after delete')");
    first.batch_execute("COMMIT").unwrap();
    second
        .join()
        .unwrap()
        .expect("key 1 is free once its deleter committed");

    // A deleter rolls back: the key is still taken.
    first
        .batch_execute("BEGIN; DELETE FROM k WHERE id = 2")
        .unwrap();
    let second = start_blocked(&s, "INSERT INTO k VALUES (2, 'third')");
    first.batch_execute("ROLLBACK").unwrap();
    let e = second
        .join()
        .unwrap()
        .expect_err("the deleter rolled back: key 2 is still taken");
    assert_eq!(code(&e), "23505", "{e:?}");

    assert_eq!(
        s.psql("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM k"),
        "1:after delete,2:second"
    );
    check_indexes(&s, &["k_pkey"]);
}

const CLIENTS: usize = 8;
const ROWS_PER_CLIENT: i64 = 2000;
/// The server is killed once this many inserts were acknowledged.
const KILL_AFTER: usize = 6000;

/// splitmix64: spreads consecutive ids over the key space.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Row `id`'s primary key: 100 bytes, in no particular order, so that the
/// clients split leaf pages all over the tree.
fn key_of(id: i64) -> String {
    format!("{:016x}-{id:08}-{}", splitmix(id as u64), "k".repeat(74))
}

#[derive(Default)]
struct Outcome {
    /// Inserts the server acknowledged (autocommit: committed).
    acked: Vec<i64>,
    /// The insert in flight when the connection broke: it may or may not
    /// have committed.
    uncertain: Vec<i64>,
    /// An error before the kill.
    failure: Option<String>,
}

fn inserter(
    conninfo: String,
    client: i64,
    acked: Arc<AtomicUsize>,
    killed: Arc<AtomicBool>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut c = match postgres::Client::connect(&conninfo, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            if !killed.load(Ordering::SeqCst) {
                out.failure = Some(format!("client {client} could not connect: {e}"));
            }
            return out;
        }
    };
    for i in 0..ROWS_PER_CLIENT {
        let id = client * ROWS_PER_CLIENT + i + 1;
        let sql = format!(
            "INSERT INTO crash VALUES ('{}', {id}, 'client {client} row {i}')",
            key_of(id)
        );
        match c.batch_execute(&sql) {
            Ok(()) => {
                out.acked.push(id);
                acked.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => {
                out.uncertain.push(id);
                if !killed.load(Ordering::SeqCst) {
                    out.failure = Some(format!("insert of row {id} failed before the kill: {e:?}"));
                }
                return out;
            }
        }
    }
    out
}

/// Eight clients insert rows with 100-byte primary keys (and a secondary
/// index on another column) until kill -9 ends the postmaster and every
/// backend. After crash recovery both indexes pass bt_index_check, every
/// acknowledged row is there (and nothing that was never inserted), each
/// acknowledged key still clashes, an interrupted insert's key is either
/// there or free, and new keys go in.
#[test]
fn acknowledged_inserts_and_index_structure_survive_kill9() {
    let mut s = Server::start();
    s.psql("CREATE TABLE crash (k text PRIMARY KEY, id bigint NOT NULL, note text)");
    s.psql("CREATE INDEX crash_id_idx ON crash (id)");

    let acked = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let handles: Vec<JoinHandle<Outcome>> = (0..CLIENTS)
        .map(|client| {
            let conninfo = s.conninfo();
            let acked = Arc::clone(&acked);
            let killed = Arc::clone(&killed);
            std::thread::spawn(move || inserter(conninfo, client as i64, acked, killed))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < KILL_AFTER && !handles.iter().all(|h| h.is_finished()) {
        assert!(
            Instant::now() < deadline,
            "only {} inserts acknowledged in 60 s",
            acked.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    killed.store(true, Ordering::SeqCst);
    kill9_server(&mut s);
    let outcomes: Vec<Outcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.failure.as_ref()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let acked_ids: HashSet<i64> = outcomes
        .iter()
        .flat_map(|o| o.acked.iter().copied())
        .collect();
    let uncertain: HashSet<i64> = outcomes
        .iter()
        .flat_map(|o| o.uncertain.iter().copied())
        .collect();
    assert!(acked_ids.len() >= KILL_AFTER.min(CLIENTS * ROWS_PER_CLIENT as usize));
    eprintln!(
        "killed after {} acknowledged inserts ({} in flight)",
        acked_ids.len(),
        uncertain.len()
    );

    s.launch();
    check_indexes(&s, &["crash_pkey", "crash_id_idx"]);

    let mut c = s.connect();
    let mut present = HashSet::new();
    for r in c.query("SELECT k, id FROM crash", &[]).unwrap() {
        let k: String = r.get(0);
        let id: i64 = r.get(1);
        assert_eq!(k, key_of(id), "row {id} has another key");
        assert!(present.insert(id), "row {id} is there twice");
    }
    let lost: Vec<&i64> = acked_ids
        .iter()
        .filter(|id| !present.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged rows lost: {lost:?}");
    let invented: Vec<&i64> = present
        .iter()
        .filter(|id| !acked_ids.contains(*id) && !uncertain.contains(*id))
        .collect();
    assert!(invented.is_empty(), "rows nobody inserted: {invented:?}");
    let in_flight_committed = uncertain.iter().filter(|id| present.contains(*id)).count();
    let count: i64 = c
        .query_one("SELECT count(*) FROM crash", &[])
        .unwrap()
        .get(0);
    assert_eq!(count as usize, acked_ids.len() + in_flight_committed);

    // Acknowledged keys still clash: a sample across all clients.
    let mut sample: Vec<i64> = acked_ids.iter().copied().collect();
    sample.sort();
    let step = (sample.len() / 40).max(1);
    for id in sample.iter().step_by(step) {
        let detail = expect_unique_violation(
            &mut c,
            &format!(
                "INSERT INTO crash VALUES ('{}', {}, 'again')",
                key_of(*id),
                id + 1_000_000
            ),
            "crash_pkey",
        );
        assert_eq!(detail, format!("Key (k)=({}) already exists.", key_of(*id)));
    }
    // An interrupted insert either committed (its key clashes) or did
    // not (its key, and any entry it left in the index, is no obstacle).
    for id in &uncertain {
        let sql = format!(
            "INSERT INTO crash VALUES ('{}', {id}, 'retry')",
            key_of(*id)
        );
        if present.contains(id) {
            expect_unique_violation(&mut c, &sql, "crash_pkey");
        } else {
            c.batch_execute(&sql)
                .unwrap_or_else(|e| panic!("row {id} never committed, yet: {e:?}"));
        }
    }
    // New keys go in.
    for id in [10_000_001i64, 10_000_002, 10_000_003] {
        c.batch_execute(&format!(
            "INSERT INTO crash VALUES ('{}', {id}, 'new')",
            key_of(id)
        ))
        .unwrap();
    }
    let after: i64 = c
        .query_one("SELECT count(*) FROM crash", &[])
        .unwrap()
        .get(0);
    let retried = uncertain.iter().filter(|id| !present.contains(*id)).count();
    assert_eq!(after, count + retried as i64 + 3);
    check_indexes(&s, &["crash_pkey", "crash_id_idx"]);
    let log = s.log();
    assert!(!log.contains("panicked"), "{log}");
}

/// VACUUM after deleting every other row and a whole key range (whole
/// leaf pages), and VACUUM FULL after deleting nearly everything, leave
/// both indexes passing bt_index_check; kept keys still clash, freed keys
/// go in again, in both the primary key and a unique text index.
#[test]
fn vacuum_after_deletes_keeps_indexes_consistent_and_frees_the_keys() {
    let s = Server::start();
    let indexes = ["vac_pkey", "vac_t"];
    let row = |g: &str| format!("'row ' || lpad(({g})::text, 6, '0') || repeat('.', 80)");
    s.psql("CREATE TABLE vac (id int PRIMARY KEY, t text NOT NULL)");
    s.psql("CREATE UNIQUE INDEX vac_t ON vac (t)");
    s.psql(&format!(
        "INSERT INTO vac SELECT g, {} FROM generate_series(1, 6000) g",
        row("g")
    ));
    check_indexes(&s, &indexes);

    let deleted = |g: i64| g % 2 == 0 || (2001..=4000).contains(&g);
    s.psql("DELETE FROM vac WHERE id % 2 = 0 OR id BETWEEN 2001 AND 4000");
    s.psql("VACUUM vac");
    check_indexes(&s, &indexes);
    let kept = (1..=6000).filter(|g| !deleted(*g)).count();
    assert_eq!(s.psql("SELECT count(*) FROM vac"), kept.to_string());

    let mut c = s.connect();
    let detail = expect_unique_violation(&mut c, "INSERT INTO vac VALUES (1, 'other')", "vac_pkey");
    assert_eq!(detail, "Key (id)=(1) already exists.");
    expect_unique_violation(
        &mut c,
        &format!("INSERT INTO vac VALUES (7001, {})", row("1")),
        "vac_t",
    );
    expect_unique_violation(&mut c, "INSERT INTO vac VALUES (5999, 'other')", "vac_pkey");
    // The freed keys, of both indexes, go in again.
    c.batch_execute("INSERT INTO vac VALUES (2, 'two')")
        .unwrap();
    c.batch_execute(&format!("INSERT INTO vac VALUES (7002, {})", row("4")))
        .unwrap();
    c.batch_execute("DELETE FROM vac WHERE id IN (2, 7002)")
        .unwrap();
    s.psql(&format!(
        "INSERT INTO vac SELECT g, {} FROM generate_series(1, 6000) g \
         WHERE g % 2 = 0 OR g BETWEEN 2001 AND 4000",
        row("g")
    ));
    assert_eq!(s.psql("SELECT count(*) FROM vac"), "6000");
    check_indexes(&s, &indexes);
    expect_unique_violation(&mut c, "INSERT INTO vac VALUES (3000, 'other')", "vac_pkey");

    // VACUUM FULL rewrites the table and rebuilds its indexes.
    s.psql("DELETE FROM vac WHERE id > 100");
    s.psql("VACUUM FULL vac");
    check_indexes(&s, &indexes);
    assert_eq!(s.psql("SELECT count(*) FROM vac"), "100");
    expect_unique_violation(&mut c, "INSERT INTO vac VALUES (50, 'other')", "vac_pkey");
    expect_unique_violation(
        &mut c,
        &format!("INSERT INTO vac VALUES (7003, {})", row("50")),
        "vac_t",
    );
    s.psql(&format!(
        "INSERT INTO vac SELECT g, {} FROM generate_series(101, 6000) g",
        row("g")
    ));
    assert_eq!(s.psql("SELECT count(*) FROM vac"), "6000");
    check_indexes(&s, &indexes);

    // Updates leave dead versions in both indexes; VACUUM removes them and
    // the old text values are free.
    s.psql("UPDATE vac SET t = t || '!' WHERE id <= 3000");
    s.psql("VACUUM vac");
    check_indexes(&s, &indexes);
    c.batch_execute(&format!("INSERT INTO vac VALUES (7004, {})", row("1")))
        .unwrap();
    expect_unique_violation(
        &mut c,
        &format!("INSERT INTO vac VALUES (7005, {} || '!')", row("1")),
        "vac_t",
    );
    assert_eq!(s.psql("SELECT count(*) FROM vac"), "6001");
    check_indexes(&s, &indexes);
}

/// `pgbench -i -s 1` (steps dtgvp: its primary keys come from ALTER TABLE
/// ADD PRIMARY KEY over 100000 accounts) creates the three pgbench_*_pkey
/// indexes; they pass bt_index_check and enforce their keys.
#[test]
fn pgbench_init_creates_primary_keys_that_check_clean() {
    let s = Server::start();
    let out = Command::new("pgbench")
        .args(["-i", "-s", "1", "-h"])
        .arg(&s.socket_dir)
        .args(["-p", &s.port.to_string(), "-U", "postgres", "postgres"])
        .output()
        .expect("run pgbench");
    assert!(
        out.status.success(),
        "pgbench -i failed:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let pkeys = [
        "pgbench_accounts_pkey",
        "pgbench_branches_pkey",
        "pgbench_tellers_pkey",
    ];
    assert_eq!(
        s.psql(
            "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class \
             WHERE relkind = 'i' AND relname LIKE 'pgbench%'"
        ),
        pkeys.join(",")
    );
    assert_eq!(
        s.psql(
            "SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) \
             FROM pg_constraint WHERE conname LIKE 'pgbench%'"
        ),
        "pgbench_accounts_pkey:p,pgbench_branches_pkey:p,pgbench_tellers_pkey:p"
    );
    check_indexes(&s, &pkeys);

    let mut c = s.connect();
    let detail = expect_unique_violation(
        &mut c,
        "INSERT INTO pgbench_accounts VALUES (100000, 1, 0, '')",
        "pgbench_accounts_pkey",
    );
    assert_eq!(detail, "Key (aid)=(100000) already exists.");
    expect_unique_violation(
        &mut c,
        "INSERT INTO pgbench_branches VALUES (1, 0, '')",
        "pgbench_branches_pkey",
    );
    expect_unique_violation(
        &mut c,
        "INSERT INTO pgbench_tellers VALUES (10, 1, 0, '')",
        "pgbench_tellers_pkey",
    );
    c.batch_execute("INSERT INTO pgbench_accounts VALUES (100001, 1, 0, '')")
        .unwrap();
    assert_eq!(s.psql("SELECT count(*) FROM pgbench_accounts"), "100001");
    check_indexes(&s, &pkeys);
}
