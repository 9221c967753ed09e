//! pgbench as users run it: concurrent clients over the simple protocol.
//! Eight inserters into one table is what exposed a relation-extension race
//! (two backends using the same new page); the row count must match what
//! pgbench says it committed.

mod common;

use std::process::Command;

use common::*;

fn pgbench(s: &Server, script: &str, clients: u32, seconds: u32) -> (bool, String) {
    let path = s.dir.0.join("script.sql");
    std::fs::write(&path, script).unwrap();
    let out = Command::new("pgbench")
        .args(["-n", "-M", "simple", "-h"])
        .arg(&s.socket_dir)
        .args(["-p", &s.port.to_string(), "-U", "postgres"])
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.to_string(),
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&path)
        .arg("postgres")
        .output()
        .expect("run pgbench");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn processed(report: &str) -> i64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split('/').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no transaction count in pgbench output:\n{report}"))
}

#[test]
fn eight_concurrent_inserters_commit_every_row_they_report() {
    let s = Server::builder().conf("shared_buffers = 1MB").start();
    s.psql("CREATE TABLE pgb (id int, label text, at timestamptz)");
    let (ok, report) = pgbench(
        &s,
        "\\set id random(1, 1000000)\nINSERT INTO pgb VALUES (:id, 'row ' || :id, now());\n",
        8,
        4,
    );
    assert!(ok, "pgbench failed:\n{report}\n{}", s.log());
    assert!(!report.contains("error"), "{report}");
    let n = processed(&report);
    assert!(n > 100, "too few transactions: {report}");
    assert_eq!(
        s.psql("SELECT count(*) FROM pgb").parse::<i64>().unwrap(),
        n,
        "{report}"
    );
}

#[test]
fn mixed_inserts_and_counts_run_clean() {
    let s = Server::start();
    s.psql("CREATE TABLE pgb (id int, label text, at timestamptz)");
    s.psql("CREATE TABLE small (id int, v int)");
    s.psql("INSERT INTO small SELECT g, g * 2 FROM generate_series(1, 100) g");
    let script = "\\set id random(1, 1000000)\nINSERT INTO pgb VALUES (:id, 'row ' || :id, now());\nSELECT count(*) FROM small;\n";
    let (ok, report) = pgbench(&s, script, 4, 3);
    assert!(ok && !report.contains("error"), "pgbench failed:\n{report}");
    assert_eq!(
        s.psql("SELECT count(*) FROM pgb").parse::<i64>().unwrap(),
        processed(&report)
    );
}

/// pgbench's own TPC-B for 20 s at 8 clients while a CHECKPOINT and
/// autovacuum run: pgbench's balance invariant holds afterwards, every
/// index checks clean, and the server logged no ERROR.
#[test]
fn tpcb_with_a_checkpoint_and_autovacuum_keeps_the_invariant() {
    let s = Server::builder()
        .conf("autovacuum_naptime = 1")
        .conf("autovacuum_vacuum_threshold = 50")
        .conf("autovacuum_vacuum_scale_factor = 0.01")
        .start();
    let pgbench = |args: &[&str]| {
        Command::new("pgbench")
            .args(args)
            .arg("-h")
            .arg(&s.socket_dir)
            .args(["-p", &s.port.to_string(), "-U", "postgres", "postgres"])
            .output()
            .expect("run pgbench")
    };
    let init = pgbench(&["-i", "-q", "-s", "1"]);
    assert!(init.status.success(), "pgbench -i failed:\n{}", s.log());
    let run = std::thread::scope(|scope| {
        let run = scope.spawn(|| pgbench(&["-n", "-c", "8", "-j", "2", "-T", "20"]));
        std::thread::sleep(std::time::Duration::from_secs(8));
        s.psql("CHECKPOINT");
        run.join().unwrap()
    });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "pgbench failed:\n{report}\n{}",
        s.log()
    );
    assert!(processed(&report) > 100, "too few transactions: {report}");
    assert_eq!(
        s.psql(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(bbalance) FROM pgbench_branches) \
             AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(tbalance) FROM pgbench_tellers) \
             AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(delta) FROM pgbench_history)"
        ),
        "t",
        "{report}"
    );
    assert!(
        wait_until(std::time::Duration::from_secs(30), || {
            s.psql(
                "SELECT coalesce(sum(autovacuum_count), 0) > 0 FROM pg_stat_user_tables \
                 WHERE relname LIKE 'pgbench%'",
            ) == "t"
        }),
        "autovacuum never ran on the pgbench tables:\n{}",
        s.log()
    );
    for index in [
        "pgbench_accounts_pkey",
        "pgbench_branches_pkey",
        "pgbench_tellers_pkey",
    ] {
        s.psql(&format!("SELECT bt_index_check('{index}')"));
    }
    let log = s.log();
    assert!(
        !log.lines().any(|l| l.contains("ERROR")),
        "the server logged an ERROR:\n{log}"
    );
}
