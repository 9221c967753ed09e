//! The archiver (PostgreSQL's `pgarch.c` + `shell_archive.c`): runs
//! `archive_command` for each completed WAL segment. Started only with
//! `archive_mode != off`.
//!
//! # Protocol with the rest of the server (PostgreSQL's, file names and all)
//! 1. Whoever completes a segment (the WAL flush that moves `flush_pos` past
//!    its end, see `storage/wal/buffer.rs`) creates
//!    `pg_wal/archive_status/NAME.ready` and sets this process's latch.
//! 2. The archiver takes the `.ready` files in name order (the order of the
//!    segments), runs `archive_command` through `sh -c` with the data
//!    directory as its working directory, `%p` replaced by `pg_wal/NAME`,
//!    `%f` by `NAME` and `%%` by `%`.
//! 3. Exit status 0: `NAME.ready` is renamed to `NAME.done`, the title
//!    becomes `ferrogres: archiver last was NAME`. Anything else: PostgreSQL's
//!    LOG `archive command failed with exit code N` with the command in its
//!    DETAIL; after three failures in a row, one second apart, the archiver
//!    logs a WARNING and waits on its latch (at most 60 s) before it starts
//!    over with the oldest `.ready`. Segments are archived strictly in order:
//!    a failing one holds back the ones after it, as in PostgreSQL.
//! 4. The checkpointer never removes or recycles a segment that still has a
//!    `.ready` file, so a failing command makes `pg_wal` grow until it works.
//!
//! Signals: SIGHUP reloads (a new `archive_command` applies to the next
//! attempt); SIGUSR2 (from the postmaster, after the shutdown checkpoint):
//! archive everything that is ready, then exit 0 — failures are not retried
//! forever then, as PostgreSQL gives up after the usual three tries; SIGTERM:
//! exit 0, the postmaster restarts it; postmaster death: exit at once.
//!
//! A crash of the archiver is harmless for the archive: a command that ran but
//! whose `.ready` was not yet renamed runs again on the next start, which is
//! why PostgreSQL asks archive commands to be idempotent.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::postmaster::ServerEnv;
use crate::process::{signals, title};
use crate::utils::elog::{self, PgError, Severity, sqlstate};

/// PostgreSQL's `NUM_ARCHIVE_RETRIES`.
const NUM_ARCHIVE_RETRIES: u32 = 3;
/// PostgreSQL's `PGARCH_AUTOWAKE_INTERVAL`: the longest sleep between rounds.
const AUTOWAKE: Duration = Duration::from_secs(60);

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        // Work first: there may be segments left from before a restart.
        let stop = copy_loop(&mut env, false);
        if stop {
            crate::process::proc_exit(0);
        }
        let bits = super::wait_for_work(&mut env, AUTOWAKE);
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
        if bits & signals::SIGUSR2_PENDING != 0 {
            // Shutdown: one last round, then exit.
            copy_loop(&mut env, true);
            crate::process::proc_exit(0);
        }
    }
}

/// PostgreSQL's `pgarch_ArchiverCopyLoop`: archives every `.ready` segment
/// in order until none is left or one fails too often. Returns true when
/// the process should exit now (SIGTERM arrived meanwhile).
fn copy_loop(env: &mut ServerEnv, shutting_down: bool) -> bool {
    let status_dir = env.data_dir.join("pg_wal/archive_status");
    loop {
        let Some(name) = next_ready(&status_dir) else {
            return false;
        };
        if signals::take(signals::SIGHUP_PENDING) != 0 {
            env.reload_settings();
        }
        let command = env.settings.get_str("archive_command");
        if command.is_empty() {
            elog::log_error(
                &PgError::new(
                    Severity::Warning,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    "archive_mode enabled, yet archive_command is not set",
                ),
                None,
            );
            return false;
        }
        let seg_path = env.data_dir.join("pg_wal").join(&name);
        if !seg_path.exists() {
            // PostgreSQL: the segment went away (it cannot be archived any more).
            let _ = std::fs::remove_file(status_dir.join(format!("{name}.ready")));
            elog::log_error(
                &PgError::new(
                    Severity::Warning,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    format!(
                        "removed orphan archive status file \"pg_wal/archive_status/{name}.ready\""
                    ),
                ),
                None,
            );
            continue;
        }
        let mut failures = 0;
        loop {
            if archive_one(&env.data_dir, &command, &name) {
                let ready = status_dir.join(format!("{name}.ready"));
                let done = status_dir.join(format!("{name}.done"));
                if let Err(e) = std::fs::rename(&ready, &done) {
                    elog::log(
                        Severity::Warning,
                        &format!(
                            "could not rename file \"{}\" to \"{}\": {e}",
                            ready.display(),
                            done.display()
                        ),
                    );
                }
                title::set_title(&format!("ferrogres: archiver last was {name}"));
                report_stats(true, &name);
                break;
            }
            report_stats(false, &name);
            failures += 1;
            if failures >= NUM_ARCHIVE_RETRIES {
                elog::log(
                    Severity::Warning,
                    &format!(
                        "archiving write-ahead log file \"{name}\" failed too many times, will try again later"
                    ),
                );
                return false;
            }
            // One second between tries, waking early only to exit.
            let bits = if shutting_down {
                std::thread::sleep(Duration::from_secs(1));
                0
            } else {
                signals::my_latch().wait(Duration::from_secs(1));
                if signals::take(signals::POSTMASTER_DEATH_PENDING) != 0 {
                    crate::process::proc_exit(1);
                }
                signals::peek(signals::SIGTERM_PENDING)
            };
            if bits & signals::SIGTERM_PENDING != 0 {
                return true;
            }
            if signals::take(signals::SIGHUP_PENDING) != 0 {
                env.reload_settings();
            }
        }
    }
}

/// The oldest segment waiting for the archiver (`.ready` files sort by
/// segment name, which is WAL order).
fn next_ready(status_dir: &Path) -> Option<String> {
    let entries = std::fs::read_dir(status_dir).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".ready"))
                .map(str::to_string)
        })
        .min()
}

/// `%p`, `%f` and `%%` in an archive or restore command (PostgreSQL's
/// `replace_percent_placeholders`); any other `%x` is kept as it is.
pub fn expand_command(command: &str, path: &str, file: &str) -> String {
    let mut out = String::with_capacity(command.len() + path.len());
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('p') => {
                chars.next();
                out.push_str(path);
            }
            Some('f') => {
                chars.next();
                out.push_str(file);
            }
            Some('%') => {
                chars.next();
                out.push('%');
            }
            _ => out.push('%'),
        }
    }
    out
}

/// Runs `sh -c COMMAND` in the data directory (PostgreSQL runs it with the
/// data directory as cwd, which is what makes `%p` a relative path work).
/// Returns the exit status.
pub fn run_shell(data_dir: &Path, command: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(data_dir)
        .stdin(std::process::Stdio::null())
        .status()
}

/// One attempt at archiving segment `name`; logs PostgreSQL's lines on failure.
fn archive_one(data_dir: &Path, command: &str, name: &str) -> bool {
    let cmd = expand_command(command, &format!("pg_wal/{name}"), name);
    elog::log(
        Severity::Debug3,
        &format!("executing archive command \"{cmd}\""),
    );
    match run_shell(data_dir, &cmd) {
        Ok(st) if st.success() => true,
        Ok(st) => {
            use std::os::unix::process::ExitStatusExt;
            let msg = match (st.code(), st.signal()) {
                (Some(code), _) => format!("archive command failed with exit code {code}"),
                (None, Some(sig)) => format!(
                    "archive command was terminated by signal {sig}: {}",
                    nix::sys::signal::Signal::try_from(sig)
                        .map(|s| s.as_str())
                        .unwrap_or("Unknown signal")
                ),
                _ => "archive command exited with unrecognized status".to_string(),
            };
            elog::log_error(
                &PgError::new(Severity::Log, sqlstate::SUCCESSFUL_COMPLETION, msg)
                    .with_detail(format!("The failed archive command was: {cmd}")),
                None,
            );
            false
        }
        Err(e) => {
            elog::log_error(
                &PgError::new(
                    Severity::Log,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    format!("could not execute archive command: {e}"),
                )
                .with_detail(format!("The failed archive command was: {cmd}")),
                None,
            );
            false
        }
    }
}

/// Feeds pg_stat_archiver (archived_count / failed_count, last names and
/// times) through the statistics collector.
fn report_stats(ok: bool, wal_name: &str) {
    crate::utils::pgstat::report_archiver(ok, wal_name);
}

#[cfg(test)]
mod tests {
    use super::expand_command;

    #[test]
    fn archive_command_placeholders_expand_like_postgresql() {
        assert_eq!(
            expand_command("cp %p /arch/%f && echo 100%% %x", "pg_wal/A", "A"),
            "cp pg_wal/A /arch/A && echo 100% %x"
        );
        assert_eq!(expand_command("trailing %", "p", "f"), "trailing %");
    }
}
