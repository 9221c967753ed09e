//! VACUUM, VACUUM FULL, FREEZE, ANALYZE, the free space map and the size
//! functions, as a user sees them through psql.

mod common;

use std::time::Duration;

use common::*;

/// A server whose autovacuum stays out of the way of the measurements.
fn server() -> Server {
    Server::builder().conf("autovacuum = off").start()
}

fn size(s: &Server, table: &str) -> i64 {
    s.psql(&format!("SELECT pg_relation_size('{table}')"))
        .parse()
        .unwrap()
}

fn fill(s: &Server, table: &str, n: i32) {
    s.psql(&format!(
        "CREATE TABLE {table} (id int, n int, pad text);
         INSERT INTO {table} SELECT g, 0, repeat('x', 200) FROM generate_series(1, {n}) g"
    ));
}

#[test]
fn vacuum_removes_dead_rows_and_truncates_a_deleted_tail() {
    let s = server();
    fill(&s, "t", 2000);
    let before = size(&s, "t");
    assert!(before >= 50 * 8192, "{before}");
    s.psql("DELETE FROM t WHERE id > 500");
    assert_eq!(size(&s, "t"), before, "DELETE alone frees nothing");
    s.psql("VACUUM t");
    let after = size(&s, "t");
    assert!(
        after < before / 3,
        "the empty tail was cut off: {before} -> {after}"
    );
    assert_eq!(after % 8192, 0);
    assert_eq!(s.psql("SELECT count(*), sum(id) FROM t"), "500|125250");
    // The space left is reused: new rows do not extend the table.
    s.psql("DELETE FROM t WHERE id <= 250");
    s.psql("VACUUM t");
    s.psql("INSERT INTO t SELECT g, 1, repeat('y', 200) FROM generate_series(1, 250) g");
    assert_eq!(size(&s, "t"), after, "freed space was reused");
    assert_eq!(s.psql("SELECT count(*) FROM t"), "500");
    assert_eq!(s.psql("SELECT count(*) FROM t WHERE n = 1"), "250");
}

#[test]
fn steady_update_load_stops_growing_once_vacuum_keeps_up() {
    let s = server();
    fill(&s, "kept", 300);
    fill(&s, "bloated", 300);
    let mut kept = Vec::new();
    let mut bloated = Vec::new();
    for _ in 0..8 {
        s.psql("UPDATE kept SET n = n + 1");
        s.psql("VACUUM kept");
        s.psql("UPDATE bloated SET n = n + 1");
        kept.push(size(&s, "kept"));
        bloated.push(size(&s, "bloated"));
    }
    assert_eq!(
        kept[3], kept[7],
        "with VACUUM between rounds the table stops growing: {kept:?}"
    );
    assert!(
        bloated[7] > bloated[3] && bloated[3] > bloated[0],
        "without VACUUM it keeps growing: {bloated:?}"
    );
    assert!(kept[7] < bloated[7], "{kept:?} vs {bloated:?}");
    assert_eq!(
        s.psql("SELECT count(*), min(n), max(n) FROM kept"),
        "300|8|8"
    );
    // The free space map is a fork of its own.
    let fsm: i64 = s
        .psql("SELECT pg_relation_size('kept', 'fsm')")
        .parse()
        .unwrap();
    assert!(fsm > 0);
    assert_eq!(
        s.psql("SELECT pg_table_size('kept') = pg_relation_size('kept') + pg_relation_size('kept', 'fsm')"),
        "t"
    );
}

#[test]
fn vacuum_full_rewrites_the_table_into_a_new_smaller_file() {
    let s = server();
    fill(&s, "t", 2000);
    s.psql("DELETE FROM t WHERE id % 4 <> 0");
    let before = size(&s, "t");
    let node_before = s.psql("SELECT relfilenode FROM pg_class WHERE relname = 't'");
    s.psql("VACUUM FULL t");
    let node_after = s.psql("SELECT relfilenode FROM pg_class WHERE relname = 't'");
    assert_ne!(node_before, node_after);
    let after = size(&s, "t");
    assert!(after * 3 < before, "{before} -> {after}");
    assert_eq!(s.psql("SELECT count(*), sum(id) FROM t"), "500|501000");
    let old_file = data_path(&s, &format!("base/5/{node_before}"));
    assert!(!exists(&old_file), "old file removed at commit");
    // Later changes work on the new file.
    s.psql("UPDATE t SET n = 7 WHERE id <= 100");
    assert_eq!(s.psql("SELECT count(*) FROM t WHERE n = 7"), "25");
    assert_eq!(
        s.psql("SELECT relpages, reltuples FROM pg_class WHERE relname = 't'"),
        format!("{}|500", after / 8192)
    );
}

#[test]
fn vacuum_freeze_advances_relfrozenxid_and_datfrozenxid() {
    let s = server();
    fill(&s, "t", 100);
    let mut c = s.connect();
    for _ in 0..30 {
        c.simple_query("SELECT txid_current()").unwrap();
    }
    let age_before: i64 = s
        .psql("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 't'")
        .parse()
        .unwrap();
    assert!(age_before >= 30, "{age_before}");
    s.psql("VACUUM FREEZE t");
    let age_after: i64 = s
        .psql("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 't'")
        .parse()
        .unwrap();
    assert!(age_after < 5, "{age_before} -> {age_after}");
    // A database-wide VACUUM FREEZE moves datfrozenxid too.
    let dat_before: i64 = s
        .psql("SELECT age(datfrozenxid) FROM pg_database WHERE datname = 'postgres'")
        .parse()
        .unwrap();
    s.psql("VACUUM FREEZE");
    let dat_after: i64 = s
        .psql("SELECT age(datfrozenxid) FROM pg_database WHERE datname = 'postgres'")
        .parse()
        .unwrap();
    assert!(
        dat_after < 5 && dat_after < dat_before,
        "{dat_before} -> {dat_after}"
    );
    assert_eq!(s.psql("SELECT count(*) FROM t"), "100");
}

#[test]
fn vacuum_inside_a_transaction_block_is_refused() {
    let s = server();
    s.psql("CREATE TABLE t (id int)");
    let out = s.psql_output("BEGIN; VACUUM t; COMMIT;", &["-v", "VERBOSITY=verbose"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("25001") && err.contains("VACUUM cannot run inside a transaction block"),
        "{err}"
    );
    // ANALYZE may.
    s.psql("BEGIN; ANALYZE t; COMMIT;");
}

#[test]
fn vacuum_verbose_reports_like_postgresql_15() {
    let s = server();
    s.psql(
        "CREATE TABLE t (id int, pad text);
         INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 150) g;
         DELETE FROM t WHERE id > 50 AND id <= 150",
    );
    let out = s.psql_output("VACUUM (VERBOSE, TRUNCATE false) t", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = String::from_utf8_lossy(&out.stderr);
    assert!(
        info.contains("INFO:  vacuuming \"postgres.public.t\""),
        "{info}"
    );
    assert!(
        info.contains("INFO:  finished vacuuming \"postgres.public.t\": index scans: 0"),
        "{info}"
    );
    assert!(
        info.contains("pages: 0 removed, 3 remain, 3 scanned (100.00% of total)"),
        "{info}"
    );
    assert!(
        info.contains("tuples: 100 removed, 50 remain, 0 are dead but not yet removable"),
        "{info}"
    );
    assert!(info.contains("removable cutoff: "), "{info}");
    assert!(info.contains("buffer usage: "), "{info}");
    let out = s.psql_output("ANALYZE VERBOSE t", &[]);
    let info = String::from_utf8_lossy(&out.stderr);
    assert!(info.contains("INFO:  analyzing \"public.t\""), "{info}");
    assert!(
        info.contains("\"t\": scanned 3 of 3 pages, containing 50 live rows and 0 dead rows; 50 rows in sample, 50 estimated total rows"),
        "{info}"
    );
}

#[test]
fn analyze_updates_reltuples_and_relpages() {
    let s = server();
    fill(&s, "t", 1234);
    assert_eq!(
        s.psql("SELECT relpages, reltuples FROM pg_class WHERE relname = 't'"),
        "0|-1"
    );
    s.psql("ANALYZE t");
    let pages = size(&s, "t") / 8192;
    assert_eq!(
        s.psql("SELECT relpages, reltuples FROM pg_class WHERE relname = 't'"),
        format!("{pages}|1234")
    );
    s.psql("DELETE FROM t WHERE id <= 234");
    s.psql("VACUUM ANALYZE t");
    // In one Query message VACUUM would run inside its implicit block.
    let out = s.psql_output("DELETE FROM t WHERE id = 1000; VACUUM t", &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("VACUUM cannot run inside a transaction block")
    );
    assert_eq!(
        s.psql("SELECT reltuples FROM pg_class WHERE relname = 't'"),
        "1000"
    );
}

#[test]
fn a_crash_after_vacuum_recovers_the_vacuumed_table_intact() {
    let mut s = server();
    fill(&s, "t", 1500);
    s.psql("CHECKPOINT");
    s.psql("DELETE FROM t WHERE id % 3 = 0 OR id > 1200");
    s.psql("VACUUM FREEZE t");
    s.psql("INSERT INTO t SELECT g, 2, repeat('z', 200) FROM generate_series(5001, 5300) g");
    s.psql("UPDATE t SET n = 3 WHERE id <= 30");
    let expected = s.psql("SELECT count(*), sum(id), sum(n) FROM t");
    let size_before = size(&s, "t");
    // kill -9 of a backend: a crash-restart, recovery from the checkpoint.
    let mut victim = s.connect();
    let pid: i32 = Server::query_one(&mut victim, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    kill(pid, libc::SIGKILL);
    assert!(
        s.wait_for_log(
            "all server processes terminated; reinitializing",
            Duration::from_secs(20)
        ),
        "{}",
        s.log()
    );
    s.wait_ready(Duration::from_secs(30));
    assert_eq!(s.psql("SELECT count(*), sum(id), sum(n) FROM t"), expected);
    assert_eq!(size(&s, "t"), size_before, "the truncation was replayed");
    // And the table keeps working: VACUUM again, more changes.
    s.psql("DELETE FROM t WHERE n = 2");
    s.psql("VACUUM t");
    assert_eq!(s.psql("SELECT count(*) FROM t WHERE n = 2"), "0");
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(20)), Some(0));
}

#[test]
fn storage_parameters_are_stored_in_reloptions() {
    let s = server();
    s.psql("CREATE TABLE t (id int)");
    assert_eq!(
        s.psql("SELECT reloptions IS NULL FROM pg_class WHERE relname = 't'"),
        "t"
    );
    s.psql("ALTER TABLE t SET (autovacuum_enabled = off, autovacuum_vacuum_threshold = 100)");
    assert_eq!(
        s.psql("SELECT reloptions FROM pg_class WHERE relname = 't'"),
        "{autovacuum_enabled=off,autovacuum_vacuum_threshold=100}"
    );
    s.psql("ALTER TABLE t RESET (autovacuum_enabled)");
    assert_eq!(
        s.psql("SELECT reloptions FROM pg_class WHERE relname = 't'"),
        "{autovacuum_vacuum_threshold=100}"
    );
    let out = s.psql_output("ALTER TABLE t SET (no_such_option = 1)", &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unrecognized parameter \"no_such_option\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn size_functions_and_progress_view_answer_like_postgresql() {
    let s = server();
    assert_eq!(
        s.psql("SELECT pg_size_pretty(8192::bigint), pg_size_pretty(16384::bigint), pg_size_pretty(1293942784::bigint), pg_size_pretty(10239::bigint)"),
        "8192 bytes|16 kB|1234 MB|10239 bytes"
    );
    s.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    assert_eq!(
        s.psql("SELECT pg_relation_size('t'), pg_total_relation_size('public.t')"),
        "8192|8192"
    );
    assert_eq!(
        s.psql("SELECT pg_relation_size(oid) FROM pg_class WHERE relname = 't'"),
        "8192"
    );
    assert_eq!(s.psql("SELECT count(*) FROM pg_stat_progress_vacuum"), "0");
    let out = s.psql_output("SELECT pg_relation_size('nope')", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("relation \"nope\" does not exist"));
}

#[test]
fn a_throttled_vacuum_shows_progress_and_stops_promptly_when_canceled() {
    let s = server();
    fill(&s, "big", 3000);
    s.psql("DELETE FROM big WHERE id % 2 = 0");
    let total = size(&s, "big") / 8192;
    // cost limit 1, delay 20 ms: about 20 ms per page, several seconds in all.
    let mut vac = s.psql_background_commands(&[
        "SET vacuum_cost_delay = 20",
        "SET vacuum_cost_limit = 1",
        "VACUUM big",
    ]);
    let mut seen = String::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            seen = s.psql("SELECT phase FROM pg_stat_progress_vacuum");
            seen == "scanning heap"
        }),
        "no progress row: {seen}"
    );
    let row = s.psql(
        "SELECT datname, phase, heap_blks_total, heap_blks_vacuumed <= heap_blks_scanned, index_vacuum_count FROM pg_stat_progress_vacuum",
    );
    assert!(
        row.starts_with(&format!("postgres|scanning heap|{total}|t|0")),
        "{row}"
    );
    let pid = s.psql("SELECT pid FROM pg_stat_progress_vacuum");
    let started = std::time::Instant::now();
    assert_eq!(s.psql(&format!("SELECT pg_cancel_backend({pid})")), "t");
    let out = loop {
        if vac.try_wait().unwrap().is_some() {
            break vac.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the canceled VACUUM went on"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("canceling statement due to user request"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.psql("SELECT count(*) FROM pg_stat_progress_vacuum"), "0");
    assert_eq!(s.psql("SELECT count(*) FROM big"), "1500");
}
