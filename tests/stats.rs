//! The cumulative statistics as a user sees them: pg_stat_user_tables,
//! pg_stat_database, pg_statio_user_tables, pg_stat_io and the reset
//! functions, and what restarts and a killed collector do to them.

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(15);

/// Polls `sql` until it prints `expected`; panics with the last value.
fn wait_for_value(s: &Server, sql: &str, expected: &str) {
    let mut last = String::new();
    let ok = wait_until(WAIT, || {
        last = s.psql(sql);
        last == expected
    });
    assert!(ok, "{sql}: expected {expected:?}, last saw {last:?}");
}

#[test]
fn table_counters_follow_inserts_updates_deletes_and_rollbacks() {
    let s = Server::start();
    s.psql("CREATE TABLE t (a int, b text)");
    s.psql("INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z')");
    s.psql("UPDATE t SET b = 'w' WHERE a = 1");
    s.psql("DELETE FROM t WHERE a = 2");
    // ins, upd, del, live, dead.
    wait_for_value(
        &s,
        "SELECT n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup \
         FROM pg_stat_user_tables WHERE relname = 't'",
        "3|1|1|2|2",
    );
    // Aborted inserts count as inserted and become dead, never live.
    s.psql("BEGIN; INSERT INTO t VALUES (4, 'a'), (5, 'b'); ROLLBACK");
    wait_for_value(
        &s,
        "SELECT n_tup_ins, n_live_tup, n_dead_tup, n_mod_since_analyze, n_ins_since_vacuum \
         FROM pg_stat_user_tables WHERE relname = 't'",
        "5|2|4|5|3",
    );
    // A rolled-back savepoint aborts only its own work.
    s.psql(
        "BEGIN; INSERT INTO t VALUES (6, 'c'); SAVEPOINT s; INSERT INTO t VALUES (7, 'd'); \
         ROLLBACK TO SAVEPOINT s; COMMIT",
    );
    wait_for_value(
        &s,
        "SELECT n_tup_ins, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relname = 't'",
        "7|3|5",
    );
    // Sequential scans: each statement above that read t scanned it once.
    let before: i64 = s
        .psql("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 't'")
        .parse()
        .unwrap();
    assert!(before >= 2, "UPDATE and DELETE scan the table: {before}");
    assert_eq!(s.psql("SELECT count(*) FROM t"), "3");
    wait_for_value(
        &s,
        "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 't'",
        &(before + 1).to_string(),
    );
    let read: i64 = s
        .psql("SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 't'")
        .parse()
        .unwrap();
    assert!(read >= 3, "seq_tup_read {read}");
    // The table shows in pg_stat_all_tables, not in pg_stat_sys_tables; the
    // catalogs show in pg_stat_sys_tables.
    assert_eq!(
        s.psql("SELECT schemaname FROM pg_stat_all_tables WHERE relname = 't'"),
        "public"
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_sys_tables WHERE relname = 't'"),
        "0"
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_sys_tables WHERE relname = 'pg_class'"),
        "1"
    );
    // Buffer hits of the table's blocks.
    wait_until(WAIT, || {
        s.psql("SELECT heap_blks_read + heap_blks_hit > 0 FROM pg_statio_user_tables WHERE relname = 't'")
            == "t"
    });
    assert_eq!(
        s.psql(
            "SELECT heap_blks_read + heap_blks_hit > 0 FROM pg_statio_user_tables WHERE relname = 't'"
        ),
        "t"
    );
}

#[test]
fn track_counts_off_stops_table_counting() {
    let s = Server::start();
    s.psql("CREATE TABLE quiet (a int)");
    s.psql("SET track_counts = off; INSERT INTO quiet VALUES (1)");
    s.psql("INSERT INTO quiet VALUES (2)");
    wait_for_value(
        &s,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'quiet'",
        "1",
    );
}

#[test]
fn pg_stat_database_counts_commits_rollbacks_and_tuples() {
    let s = Server::start();
    let q = "SELECT xact_commit, xact_rollback, tup_inserted \
             FROM pg_stat_database WHERE datname = current_database()";
    s.psql("CREATE TABLE d (a int)");
    let mut c = s.connect();
    let row = |c: &mut postgres::Client| -> Vec<i64> {
        for m in c.simple_query(q).unwrap() {
            if let postgres::SimpleQueryMessage::Row(r) = m {
                return (0..3).map(|i| r.get(i).unwrap().parse().unwrap()).collect();
            }
        }
        panic!("no row from {q}");
    };
    let before = row(&mut c);
    for _ in 0..3 {
        c.simple_query("BEGIN; INSERT INTO d VALUES (1); ROLLBACK")
            .unwrap();
    }
    for _ in 0..2 {
        c.simple_query("INSERT INTO d VALUES (1)").unwrap();
    }
    // The same session reads the view: a new transaction, so a fresh
    // snapshot including its own finished transactions.
    let after = row(&mut c);
    assert!(after[0] >= before[0] + 2, "{before:?} → {after:?}");
    assert!(after[1] >= before[1] + 3, "{before:?} → {after:?}");
    assert_eq!(after[2], before[2] + 5, "{before:?} → {after:?}");
    // One row per database plus the shared-objects row.
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_database WHERE datid = 0 AND datname IS NULL"),
        "1"
    );
    assert_eq!(
        s.psql("SELECT count(*) > 0 FROM pg_stat_database WHERE datname = 'template1'"),
        "t"
    );
    assert_eq!(
        s.psql("SELECT numbackends >= 2 FROM pg_stat_database WHERE datname = 'postgres'"),
        "t"
    );
    drop(c);
}

#[test]
fn pg_stat_reset_functions_zero_their_counters() {
    let s = Server::start();
    s.psql("CREATE TABLE r1 (a int)");
    s.psql("CREATE TABLE r2 (a int)");
    s.psql("INSERT INTO r1 VALUES (1), (2)");
    s.psql("INSERT INTO r2 VALUES (1)");
    wait_for_value(
        &s,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname IN ('r1', 'r2') ORDER BY relname",
        "2\n1",
    );
    s.psql("SELECT pg_stat_reset_single_table_counters(relid) FROM pg_stat_user_tables WHERE relname = 'r1'");
    wait_for_value(
        &s,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname IN ('r1', 'r2') ORDER BY relname",
        "0\n1",
    );
    s.psql("SELECT pg_stat_reset_single_table_counters('r2')");
    wait_for_value(
        &s,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname IN ('r1', 'r2') ORDER BY relname",
        "0\n0",
    );
    s.psql("INSERT INTO r2 VALUES (2)");
    wait_for_value(
        &s,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'r2'",
        "1",
    );
    s.psql("SELECT pg_stat_reset()");
    wait_for_value(
        &s,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'r2'",
        "0",
    );
    assert_eq!(
        s.psql("SELECT stats_reset IS NOT NULL FROM pg_stat_database WHERE datname = current_database()"),
        "t"
    );
    // Shared targets.
    s.psql("CHECKPOINT");
    s.psql("SELECT pg_stat_reset_shared('bgwriter')");
    assert_eq!(
        s.psql("SELECT checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter"),
        "0|0"
    );
    s.psql("SELECT pg_stat_reset_shared('io')");
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_io WHERE stats_reset IS NULL"),
        "0"
    );
    s.psql("SELECT pg_stat_reset_shared('archiver')");
    assert_eq!(
        s.psql("SELECT archived_count, stats_reset IS NOT NULL FROM pg_stat_archiver"),
        "0|t"
    );
    s.psql("SELECT pg_stat_reset_shared('wal')");
    let out = s.psql_output("SELECT pg_stat_reset_shared('nonsense')", &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unrecognized reset target: \"nonsense\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn statistics_survive_a_clean_restart_and_are_reset_by_a_crash_restart() {
    let mut s = Server::start();
    s.psql("CREATE TABLE keep (a int)");
    s.psql("INSERT INTO keep VALUES (1), (2), (3)");
    let q = "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'keep'";
    wait_for_value(&s, q, "3");
    // Clean (fast) shutdown: the collector writes pg_stat/.
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0));
    assert!(
        s.data.join("pg_stat/global.stat").exists(),
        "no pg_stat/global.stat after a clean shutdown"
    );
    assert!(!s.data.join("pg_stat_tmp/global.stat").exists());
    s.launch();
    wait_for_value(&s, q, "3");
    // The file was consumed at start.
    assert!(!s.data.join("pg_stat/global.stat").exists());

    // A crash-restart (kill -9 of a backend) starts statistics from zero.
    let mut victim = s.connect();
    let pid: i32 = Server::query_one(&mut victim, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    kill(pid, libc::SIGKILL);
    assert!(
        s.wait_for_log("all server processes terminated; reinitializing", WAIT),
        "{}",
        s.log()
    );
    s.wait_ready(Duration::from_secs(30));
    wait_for_value(&s, q, "0");
    assert_eq!(s.psql("SELECT count(*) FROM keep"), "3");
}

#[test]
fn a_stopped_or_killed_collector_freezes_the_views_until_a_new_one_runs() {
    let s = Server::start();
    s.psql("CREATE TABLE c (a int)");
    s.psql("INSERT INTO c VALUES (1)");
    let q = "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'c'";
    wait_for_value(&s, q, "1");
    let collector = s
        .wait_for_child("ferrogres: stats collector", None, WAIT)
        .expect("a stats collector");
    // A stopped collector answers no inquiry: sessions keep working and the
    // views show the last snapshot written.
    kill(collector, libc::SIGSTOP);
    let mut c = s.connect();
    c.simple_query("INSERT INTO c VALUES (2), (3)").unwrap();
    assert_eq!(Server::query_one(&mut c, q).as_deref(), Some("1"));
    assert!(
        s.wait_for_log(
            "using stale statistics instead of current ones because stats collector is not responding",
            WAIT
        ),
        "{}",
        s.log()
    );
    // Killed, it is restarted alone; the new one picks up the last
    // snapshot and the messages queued meanwhile: the views move again.
    kill(collector, libc::SIGKILL);
    assert!(
        s.wait_for_child("ferrogres: stats collector", Some(collector), WAIT)
            .is_some()
    );
    wait_for_value(&s, q, "3");
    c.simple_query("INSERT INTO c VALUES (4)").unwrap();
    wait_for_value(&s, q, "4");
    assert!(
        !s.log()
            .contains("terminating any other active server processes")
    );
}

#[test]
fn pg_stat_io_shows_checkpointer_writes_and_client_backend_io() {
    let s = Server::start();
    s.psql("CREATE TABLE io (a int, b text)");
    s.psql("INSERT INTO io SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
    s.psql("CHECKPOINT");
    wait_for_value(
        &s,
        "SELECT writes > 0 FROM pg_stat_io WHERE backend_type = 'checkpointer' AND object = 'relation' AND context = 'normal'",
        "t",
    );
    wait_for_value(
        &s,
        "SELECT extends > 0 AND hits > 0 FROM pg_stat_io WHERE backend_type = 'client backend' AND context = 'normal'",
        "t",
    );
    // What the checkpointer never does is NULL, as in PostgreSQL.
    assert_eq!(
        s.psql(
            "SELECT reads IS NULL, op_bytes FROM pg_stat_io WHERE backend_type = 'checkpointer'"
        ),
        "t|8192"
    );
}

#[test]
fn the_collector_is_not_in_pg_stat_activity() {
    let s = Server::start();
    assert!(
        s.wait_for_child("ferrogres: stats collector", None, WAIT)
            .is_some()
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE '%stat%'"),
        "0"
    );
    assert_eq!(
        s.psql("SELECT archived_count, failed_count FROM pg_stat_archiver"),
        "0|0"
    );
}

#[test]
fn pg_stat_io_counts_evictions_and_checkpoint_fsyncs() {
    let s = Server::builder().conf("shared_buffers = 1MB").start();
    s.psql("CREATE TABLE io_t (id int, pad text)");
    // Far more pages than 128 buffers: backends must evict.
    s.psql("INSERT INTO io_t SELECT g, repeat('e', 500) FROM generate_series(1, 5000) g");
    s.psql("CHECKPOINT");
    assert!(
        common::wait_until(std::time::Duration::from_secs(10), || {
            let ev: i64 = s.psql("SELECT coalesce(sum(evictions), 0) FROM pg_stat_io WHERE backend_type = 'client backend'").parse().unwrap_or(0);
            let fs: i64 = s.psql("SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE backend_type = 'checkpointer'").parse().unwrap_or(0);
            ev > 0 && fs > 0
        }),
        "{}",
        s.psql("SELECT backend_type, evictions, fsyncs FROM pg_stat_io")
    );
}
