//! The logging collector (PostgreSQL's `syslogger.c`).
//!
//! With `logging_collector = on`, the postmaster makes a pipe before its
//! first fork and points its own stderr at the write end; every child
//! inherits that stderr. The logger reads the read end and writes
//! `log_directory`/`log_filename` (strftime escapes, in UTC), rotating when
//! `log_rotation_age` minutes have passed (aligned to the clock, as
//! PostgreSQL does) or the file reaches `log_rotation_size` kB, and on
//! SIGUSR1 (`pg_rotate_logfile()`).
//!
//! It does not attach to shared memory. It ignores SIGTERM and SIGQUIT and
//! exits when the pipe reports EOF, i.e. once the postmaster and every
//! other child have exited — so the postmaster's last line still reaches
//! the file — or at the latest [`DRAIN_AFTER_POSTMASTER_DEATH`] after the
//! postmaster died (something else may hold a write end, such as a
//! program run by `archive_command`; an orphaned logger must not keep the
//! data directory's interlock held). If it dies, the postmaster starts a
//! new one on the same pipe.
//!
//! Each log line is written with one `write(2)` of at most a few hundred
//! bytes, so lines from different processes do not interleave (pipe writes
//! up to PIPE_BUF are atomic); longer messages may, a known difference from
//! PostgreSQL's chunked protocol.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::sys::signal::Signal;

use crate::postmaster::ServerEnv;
use crate::process::signals;

/// How long the logger goes on draining its pipe after the postmaster died.
const DRAIN_AFTER_POSTMASTER_DEATH: std::time::Duration = std::time::Duration::from_secs(1);

struct LogFile {
    file: std::fs::File,
    size_bytes: u64,
}

pub fn main(mut env: ServerEnv, pipe_fd: i32) -> ! {
    signals::ignore(Signal::SIGTERM);
    signals::ignore(Signal::SIGQUIT);
    signals::ignore(Signal::SIGINT);
    let mut current = open_log_file(&env, false);
    let mut next_rotation = next_rotation_time(&env);
    let mut buf = vec![0u8; 65536];
    let mut exit_by: Option<std::time::Instant> = None;
    loop {
        let mut timeout_ms = match next_rotation {
            Some(t) => ((t - crate::utils::time::now_unix().0).max(0) * 1000 + 10).min(1000) as i32,
            None => 1000,
        };
        if let Some(deadline) = exit_by {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                if let Some(f) = current.as_mut() {
                    let _ = f.file.flush();
                }
                crate::process::proc_exit(0);
            }
            timeout_ms = timeout_ms.min(left.as_millis() as i32 + 1);
        }
        let mut fds = [
            libc::pollfd {
                fd: pipe_fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals::self_pipe_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll over a local array of valid pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if fds[1].revents != 0 {
            signals::drain_self_pipe();
        }
        let mut rotate = false;
        if signals::take(signals::SIGHUP_PENDING) != 0 {
            let (old_dir, old_name) = (
                env.settings.get_str("log_directory"),
                env.settings.get_str("log_filename"),
            );
            env.reload_settings();
            if old_dir != env.settings.get_str("log_directory")
                || old_name != env.settings.get_str("log_filename")
            {
                rotate = true;
            }
            next_rotation = next_rotation_time(&env);
        }
        if signals::take(signals::SIGUSR1_PENDING) != 0 {
            rotate = true;
        }
        if signals::take(signals::POSTMASTER_DEATH_PENDING) != 0 && exit_by.is_none() {
            exit_by = Some(std::time::Instant::now() + DRAIN_AFTER_POSTMASTER_DEATH);
        }
        if fds[0].revents != 0 {
            // SAFETY: reading into our own buffer from the inherited pipe.
            let n = unsafe { libc::read(pipe_fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n == 0 {
                // Every writer is gone: the postmaster has exited.
                if let Some(f) = current.as_mut() {
                    let _ = f.file.flush();
                }
                crate::process::proc_exit(0);
            }
            if n > 0 {
                match current.as_mut() {
                    Some(f) => {
                        let _ = f.file.write_all(&buf[..n as usize]);
                        f.size_bytes += n as u64;
                    }
                    // No file could be opened: keep the lines somewhere.
                    None => {
                        let _ = std::io::stdout().write_all(&buf[..n as usize]);
                    }
                }
            }
        }
        let now = crate::utils::time::now_unix().0;
        let mut time_based = false;
        if let Some(t) = next_rotation {
            if now >= t {
                rotate = true;
                time_based = true;
            }
        }
        let size_limit_kb = env.settings.get_int("log_rotation_size");
        if let Some(f) = &current {
            if size_limit_kb > 0 && f.size_bytes >= size_limit_kb as u64 * 1024 {
                rotate = true;
            }
        }
        if rotate {
            let truncate = time_based && env.settings.get_bool("log_truncate_on_rotation");
            if let Some(new) = open_log_file(&env, truncate) {
                current = Some(new);
            }
            next_rotation = next_rotation_time(&env);
        }
    }
}

/// Next time-based rotation, aligned to multiples of `log_rotation_age`
/// since midnight UTC, or None when it is 0.
fn next_rotation_time(env: &ServerEnv) -> Option<i64> {
    let age_min = env.settings.get_int("log_rotation_age");
    if age_min <= 0 {
        return None;
    }
    let age_s = age_min * 60;
    let now = crate::utils::time::now_unix().0;
    Some((now / age_s + 1) * age_s)
}

fn open_log_file(env: &ServerEnv, truncate: bool) -> Option<LogFile> {
    let dir = {
        let d = PathBuf::from(env.settings.get_str("log_directory"));
        if d.is_absolute() {
            d
        } else {
            env.data_dir.join(d)
        }
    };
    let _ = std::fs::create_dir_all(&dir);
    let now = crate::utils::time::now_unix().0;
    let name = strftime_utc(&env.settings.get_str("log_filename"), now);
    let path = dir.join(name);
    let mode = env.settings.get_int("log_file_mode") as u32;
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).mode(if mode == 0 { 0o600 } else { mode });
    if truncate {
        opts.write(true).truncate(true);
    } else {
        opts.append(true);
    }
    let file = opts.open(&path).ok()?;
    let size_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    // The logger's own messages go to the current file too.
    // SAFETY: dup2 of a valid fd onto stderr.
    unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&file), 2) };
    Some(LogFile { file, size_bytes })
}

/// The strftime escapes `log_filename` uses, in UTC.
pub fn strftime_utc(pattern: &str, unix_s: i64) -> String {
    let f = crate::utils::time::to_fields(
        (unix_s - crate::utils::time::POSTGRES_EPOCH_UNIX_S) * 1_000_000,
        0,
    );
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{:04}", f.year)),
            Some('y') => out.push_str(&format!("{:02}", f.year % 100)),
            Some('m') => out.push_str(&format!("{:02}", f.month)),
            Some('d') => out.push_str(&format!("{:02}", f.day)),
            Some('H') => out.push_str(&format!("{:02}", f.hour)),
            Some('M') => out.push_str(&format!("{:02}", f.minute)),
            Some('S') => out.push_str(&format!("{:02}", f.second)),
            Some('s') => out.push_str(&unix_s.to_string()),
            Some('a') => {
                let days = unix_s.div_euclid(86_400);
                out.push_str(
                    ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize],
                );
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_filename_escapes_expand() {
        // 2021-03-01 12:34:56 UTC
        let t = 1_614_602_096;
        assert_eq!(
            super::strftime_utc("postgresql-%Y-%m-%d_%H%M%S.log", t),
            "postgresql-2021-03-01_123456.log"
        );
        assert_eq!(super::strftime_utc("pg-%a.log", t), "pg-Mon.log");
    }
}
