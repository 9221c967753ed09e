//! The statistics collector (PostgreSQL 14's `pgstat.c` collector loop).
//! The design and the reporting side live in `crate::utils::pgstat`.
//!
//! It attaches to no shared memory, so the postmaster restarts it alone
//! whenever it dies; statistics are merely stale meanwhile.
//!
//! Loop: wait on the socket and the self-pipe; drain every queued
//! datagram into memory; then write `pg_stat_tmp/global.stat` if a reader
//! asked for a snapshot newer than the last one written (an inquiry), or if
//! something changed and the last write is [`STAT_INTERVAL`] old.
//!
//! Start: load `pg_stat/global.stat` (left by a clean shutdown) and remove
//! it; failing that, `pg_stat_tmp/global.stat` (left by a collector that
//! was killed: a restarted collector carries on from its last snapshot; the
//! postmaster removes that file at server start and after a crash, so it
//! never survives a restart of the server).
//!
//! SIGUSR2 (shutdown): drain the socket, write `pg_stat/global.stat`,
//! remove `pg_stat_tmp/`'s file, exit 0. SIGTERM: write the temporary file
//! and exit 0 (restarted alone). SIGQUIT: exit at once, writing nothing.

use std::time::{Duration, Instant};

use crate::postmaster::ServerEnv;
use crate::process::signals;
use crate::utils::pgstat::msg::{MAX_MSG_BYTES, Msg};
use crate::utils::pgstat::snapshot::{self, StatsSnapshot};
use crate::utils::pgstat::socket;
use crate::utils::time::{TimestampTz, now_timestamptz};

/// PostgreSQL's `PGSTAT_STAT_INTERVAL`: the most often the file is
/// rewritten without an inquiry.
const STAT_INTERVAL: Duration = Duration::from_millis(500);
/// Datagrams handled between two looks at the signals (a bound on one turn).
const MAX_MSGS_PER_TURN: usize = 10_000;

struct Collector {
    env: ServerEnv,
    stats: StatsSnapshot,
    /// Newest inquiry cutoff not yet satisfied by a write.
    wanted: TimestampTz,
    /// Something changed since the last write.
    dirty: bool,
    last_write: Instant,
}

pub fn main(env: ServerEnv) -> ! {
    let stats = load(&env);
    let mut c = Collector {
        env,
        stats,
        wanted: 0,
        dirty: true,
        last_write: Instant::now() - STAT_INTERVAL,
    };
    loop {
        c.wait(STAT_INTERVAL);
        if signals::take(signals::POSTMASTER_DEATH_PENDING) != 0 {
            crate::process::proc_exit(1);
        }
        if signals::take(signals::SIGHUP_PENDING) != 0 {
            c.env.reload_settings();
        }
        let bits = signals::take(signals::SIGTERM_PENDING | signals::SIGUSR2_PENDING);
        c.drain();
        if bits & signals::SIGUSR2_PENDING != 0 {
            c.write_permanent();
            crate::process::proc_exit(0);
        }
        if bits & signals::SIGTERM_PENDING != 0 {
            c.write_tmp();
            crate::process::proc_exit(0);
        }
        let stale = c.wanted > c.stats.written_at;
        let periodic = c.dirty && c.last_write.elapsed() >= STAT_INTERVAL;
        if stale || periodic {
            c.write_tmp();
        }
    }
}

/// The statistics to start from (see the module doc).
fn load(env: &ServerEnv) -> StatsSnapshot {
    let permanent = snapshot::permanent_path(&env.data_dir);
    if let Some(s) = StatsSnapshot::read(&permanent) {
        let _ = std::fs::remove_file(&permanent);
        return s;
    }
    let _ = std::fs::remove_file(&permanent);
    StatsSnapshot::read(&snapshot::tmp_path(&env.data_dir)).unwrap_or_default()
}

impl Collector {
    /// Sleeps until a datagram or a signal arrives, or `timeout` passes.
    fn wait(&mut self, timeout: Duration) {
        let mut fds = vec![libc::pollfd {
            fd: signals::self_pipe_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(fd) = socket::recv_fd() {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: poll over a local vector of valid pollfds.
        unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                timeout.as_millis() as i32,
            )
        };
        if fds[0].revents != 0 {
            signals::drain_self_pipe();
        }
    }

    /// Applies every queued datagram.
    fn drain(&mut self) {
        let mut buf = [0u8; MAX_MSG_BYTES + 1];
        for _ in 0..MAX_MSGS_PER_TURN {
            let Some(n) = socket::recv(&mut buf) else {
                return;
            };
            match Msg::decode(&buf[..n]) {
                Some(Msg::Inquiry { cutoff }) => self.wanted = self.wanted.max(cutoff),
                Some(m) => {
                    self.stats.apply(m, now_timestamptz());
                    self.dirty = true;
                }
                None => {}
            }
        }
    }

    fn write_to(&mut self, dir: &str, permanent: bool) {
        // The write time must reach every inquiry's cutoff even if the
        // clock stepped back.
        self.stats.written_at = now_timestamptz().max(self.wanted);
        if let Err(e) = self.stats.write(&self.env.data_dir, dir, permanent) {
            crate::utils::elog::log_error(
                &e.with_severity(crate::utils::elog::Severity::Log),
                None,
            );
        }
        self.dirty = false;
        self.last_write = Instant::now();
    }

    fn write_tmp(&mut self) {
        self.write_to(snapshot::TMP_DIR, false);
    }

    fn write_permanent(&mut self) {
        self.write_to(snapshot::PERMANENT_DIR, true);
        let _ = std::fs::remove_file(snapshot::tmp_path(&self.env.data_dir));
    }
}
