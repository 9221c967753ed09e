//! Sorts past `work_mem` (ORDER BY, and a WindowAgg's input), the stores
//! of materialised WITH queries and recursive work tables, and hash
//! aggregation past `work_mem` × `hash_mem_multiplier` spill to
//! temporary files under `base/pgsql_tmp` and give the same rows; the files are counted (`pg_stat_database`),
//! logged (`log_temp_files`), bounded (`temp_file_limit`), removed when the
//! statement ends however it ends, and removed at start; the backend's
//! peak memory stays bounded.

mod common;

use std::time::Duration;

use common::*;

fn temp_dir_files(s: &Server) -> Vec<String> {
    std::fs::read_dir(data_path(s, "base/pgsql_tmp"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The backend's peak resident memory (VmHWM) in kB after running `sql`
/// in a fresh session.
fn peak_rss_kb(s: &Server, setup: &str, sql: &str) -> u64 {
    let mut c = s.connect();
    c.batch_execute(setup).unwrap();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    c.batch_execute(sql).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn a_sort_past_work_mem_spills_and_cleans_up() {
    let s = Server::builder()
        .conf("timezone = 'UTC'")
        .conf("log_temp_files = 0")
        .start();

    // The order is right: every row, each no smaller than the one before.
    let out = s.psql(
        "SET work_mem = '64kB'; \
         SELECT md5(g::text) FROM generate_series(1, 40000) g ORDER BY 1",
    );
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 40000);
    assert!(rows.windows(2).all(|w| w[0] <= w[1]), "not sorted");

    // Counted, logged, and gone afterwards.
    assert!(temp_dir_files(&s).is_empty(), "{:?}", temp_dir_files(&s));
    let stats = s.psql(
        "SELECT pg_sleep(0.7); SELECT temp_files > 0, temp_bytes > 1000000 \
         FROM pg_stat_database WHERE datname = current_database()",
    );
    assert!(stats.ends_with("t|t"), "{stats}");
    assert!(
        s.wait_for_log(
            "LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );

    // EXPLAIN ANALYZE says how the sort ran.
    let out = s.psql(
        "SET work_mem = '64kB'; EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) \
         SELECT md5(g::text) FROM generate_series(1, 20000) g ORDER BY 1",
    );
    assert!(out.contains("Sort Method: external merge  Disk: "), "{out}");
    // BUFFERS counts the temporary-file blocks the runs took.
    let out = s.psql(
        "SET work_mem = '64kB'; EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) \
         SELECT md5(g::text) FROM generate_series(1, 20000) g ORDER BY 1",
    );
    assert!(out.contains("Buffers: temp read="), "{out}");
    let out = s.psql(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT g FROM generate_series(1, 100) g ORDER BY g DESC",
    );
    assert!(out.contains("Sort Method: quicksort  Memory: "), "{out}");

    // temp_file_limit: PostgreSQL's error, and nothing left behind.
    let out = s.psql_output(
        "SET work_mem = '64kB'; SET temp_file_limit = '100kB'; \
         SELECT count(*) FROM (SELECT md5(g::text) FROM generate_series(1, 40000) g ORDER BY 1) s",
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("ERROR:  temporary file size exceeds temp_file_limit (100kB)"),
        "{err}"
    );
    assert!(temp_dir_files(&s).is_empty());

    // A cancelled sort (statement_timeout) removes its files too.
    let out = s.psql_output(
        "SET work_mem = '64kB'; SET statement_timeout = '300ms'; \
         SELECT count(*) FROM (SELECT md5(g::text) FROM generate_series(1, 3000000) g ORDER BY 1) s",
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("canceling statement due to statement timeout"),
        "{err}"
    );
    assert!(temp_dir_files(&s).is_empty(), "{:?}", temp_dir_files(&s));
}

#[test]
fn an_endless_recursive_query_spills_and_is_cancellable() {
    let s = Server::builder().conf("log_temp_files = 0").start();
    // Each round's 2000 rows pass work_mem: the work table goes to disk.
    let out = s.psql_output(
        "SET work_mem = '64kB'; SET statement_timeout = '2s'; \
         WITH RECURSIVE r(n) AS (SELECT g FROM generate_series(1, 2000) g \
         UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("canceling statement due to statement timeout"),
        "{err}"
    );
    assert!(
        s.log().contains("LOG:  temporary file: path"),
        "{}",
        s.log()
    );
    assert!(temp_dir_files(&s).is_empty(), "{:?}", temp_dir_files(&s));
    // With LIMIT it ends, with PostgreSQL's rows.
    let out = s.psql(
        "SET work_mem = '64kB'; WITH RECURSIVE r(n) AS (SELECT g FROM generate_series(1, 2000) g \
         UNION ALL SELECT n + 2000 FROM r) SELECT n FROM r LIMIT 2 OFFSET 9999",
    );
    assert_eq!(out, "10000\n10001");
}

#[test]
fn stray_temporary_files_are_removed_at_start() {
    let mut s = Server::start();
    let dir = data_path(&s, "base/pgsql_tmp");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pgsql_tmp99999.0"), b"left by a crash").unwrap();
    s.signal(libc::SIGINT);
    assert!(s.wait_exit(Duration::from_secs(30)).is_some());
    s.launch();
    s.wait_ready(Duration::from_secs(30));
    assert!(temp_dir_files(&s).is_empty(), "{:?}", temp_dir_files(&s));
}

#[test]
fn a_spilling_sort_keeps_the_backend_small() {
    let s = Server::builder().conf("timezone = 'UTC'").start();
    // Each statement's peak in memory, and with work_mem = 1MB: less than half.
    let bounded = |what: &str, sql: &str| {
        let in_memory = peak_rss_kb(&s, "SET work_mem = '1GB'", sql);
        let spilled = peak_rss_kb(&s, "SET work_mem = '1MB'", sql);
        eprintln!("peak RSS of {what}: {in_memory} kB in memory, {spilled} kB with work_mem = 1MB");
        assert!(
            spilled * 2 < in_memory,
            "{what} did not bound memory: {spilled} kB vs {in_memory} kB"
        );
    };
    bounded(
        "a 400000-row sort",
        "SELECT count(*) FROM (SELECT g, md5(g::text) AS m FROM generate_series(1, 400000) g \
         ORDER BY m OFFSET 1) s",
    );
    // Hash aggregation of 400000 groups spills its groups' rows.
    bounded(
        "GROUP BY over 400000 groups",
        "SELECT count(*), sum(c) FROM (SELECT md5(g::text) AS k, count(*) AS c \
         FROM generate_series(1, 400000) g GROUP BY 1) s",
    );
    // SELECT DISTINCT over 400000 values too.
    bounded(
        "SELECT DISTINCT over 400000 values",
        "SELECT count(*) FROM (SELECT DISTINCT md5(g::text) FROM generate_series(1, 400000) g) s",
    );
    assert!(temp_dir_files(&s).is_empty(), "{:?}", temp_dir_files(&s));
    // A window over 400000 rows in 1000 partitions holds one partition.
    bounded(
        "row_number over 400000 rows in 1000 partitions",
        "SELECT count(*) FROM (SELECT row_number() OVER (PARTITION BY g % 1000 ORDER BY md5(g::text)) \
         FROM generate_series(1, 400000) g OFFSET 1) s",
    );
}
