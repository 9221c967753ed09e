//! Differential tests: every line of `tests/differential/*.sql` runs through
//! psql against PostgreSQL 15 (the oracle, started here as the `postgres`
//! OS user) and against ferrogres; stdout and stderr must match.

mod common;

use common::*;

#[test]
fn first_slice_matches_postgresql_15() {
    let oracle = Oracle::start();
    let s = Server::builder().conf("timezone = 'UTC'").start();
    let mut files: Vec<_> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("--") {
                continue;
            }
            count += 1;
            let expected = oracle.psql(line);
            let actual = run_psql(&s.socket_dir, s.port, line);
            if expected != actual {
                failures.push(format!(
                    "{line}\n  postgres:  {expected:?}\n  ferrogres: {actual:?}"
                ));
            }
        }
    }
    assert!(count > 50, "only {count} differential cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} statements differ from PostgreSQL 15:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
