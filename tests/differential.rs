//! Differential tests: every line of `tests/differential/*.sql` runs through
//! psql against PostgreSQL 15 (the oracle, started here as the `postgres`
//! OS user) and against ferrogres; stdout and stderr must match.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

struct Oracle {
    dir: TempDir,
    port: u16,
}

impl Oracle {
    fn start() -> Oracle {
        let dir = TempDir::new("pg15");
        let postgres_bin = format!("{PG_BIN}/postgres");
        assert!(
            Path::new(&postgres_bin).exists(),
            "PostgreSQL 15 is not installed at {PG_BIN} (scripts/deps.sh installs it)"
        );
        let run_as_postgres = |args: &[&str]| {
            let mut cmd = if nix_is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]);
                c
            } else {
                Command::new(args[0])
            };
            if nix_is_root() {
                cmd.args(args);
            } else {
                cmd.args(&args[1..]);
            }
            cmd
        };
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir.0)
            .status()
            .unwrap();
        Command::new("chmod")
            .args(["755"])
            .arg(&dir.0)
            .status()
            .unwrap();
        let data = dir.0.join("data");
        let out = run_as_postgres(&[
            &format!("{PG_BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "oracle initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = dir.0.join("pg.log");
        let opts = format!(
            "-p {port} -k {} -c listen_addresses='' -c fsync=off -c timezone=UTC",
            dir.0.display()
        );
        let out = run_as_postgres(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "oracle did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Oracle { dir, port }
    }

    fn psql(&self, sql: &str) -> String {
        run_psql(&self.dir.0, self.port, sql)
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let pidfile = self.dir.0.join("data/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
        {
            kill(pid, libc::SIGQUIT);
            wait_until(Duration::from_secs(10), || !pid_alive(pid));
        }
    }
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn run_psql(socket_dir: &Path, port: u16, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-A", "-q", "-h"])
        .arg(socket_dir)
        .args([
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .env("PGTZ", "UTC")
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr).replace("psql:", "")
    )
}

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
