//! Background processes: one file per kind, each with its own `main`
//! (PostgreSQL's `src/backend/postmaster/*.c`).
//!
//! [`child_main`] is where every non-backend child starts after fork: it
//! sets the title, attaches to the process-array slot for kinds that use
//! shared memory, and runs the kind's main loop. Until later issues give
//! them their full jobs, each loop waits on its latch for its configured
//! interval, reloads on SIGHUP, and obeys the shutdown signals of the
//! process table (DESIGN.md §1).

pub mod archiver;
pub mod autovacuum;
pub mod bgwriter;
pub mod checkpointer;
pub mod logger;
pub mod logical_launcher;
pub mod startup;
pub mod stats;
pub mod walwriter;

use std::time::Duration;

use crate::postmaster::ServerEnv;
use crate::process::{ProcessKind, signals, title};
use crate::utils::elog::{self, LogContext, Severity};

/// Entry point of every background child. Never returns.
pub fn child_main(kind: ProcessKind, env: ServerEnv, logger_pipe: Option<i32>) -> ! {
    title::set_title(&format!("ferrogres: {}", kind.title()));
    let info = kind.info();
    elog::set_log_context(LogContext {
        backend_type: info.backend_type.unwrap_or(kind.title()).to_string(),
        session_start_s: crate::utils::time::now_unix().0,
        ..Default::default()
    });
    if !info.attaches_shm {
        // The logger and the stats collector must not keep the segment
        // mapped: it is re-created at a crash-restart and they outlive it.
        crate::storage::shmem::uninstall();
    }
    if info.attaches_shm {
        let seg = crate::storage::shmem::get();
        seg.assert_valid();
        let slot = seg
            .procarray()
            .claim(kind, false)
            .expect("no free auxiliary process slot");
        crate::process::set_my_slot(slot);
        signals::set_latch_target(&slot.latch);
        crate::process::attach_storage(&env.data_dir);
    }
    match kind {
        ProcessKind::Startup => startup::main(env),
        ProcessKind::Checkpointer => checkpointer::main(env),
        ProcessKind::BgWriter => bgwriter::main(env),
        ProcessKind::WalWriter => walwriter::main(env),
        ProcessKind::AutovacLauncher => autovacuum::launcher::launcher_main(env),
        ProcessKind::AutovacWorker => autovacuum::worker::worker_main(env),
        ProcessKind::StatsCollector => stats::main(env),
        ProcessKind::Archiver => archiver::main(env),
        ProcessKind::Logger => {
            logger::main(env, logger_pipe.expect("logger started without its pipe"))
        }
        ProcessKind::LogicalRepLauncher => logical_launcher::main(env),
        ProcessKind::Postmaster | ProcessKind::Backend | ProcessKind::ParallelWorker => {
            unreachable!("{kind:?} is not started through child_main")
        }
    }
}

/// One turn of a background main loop: sleeps on the latch for up to
/// `timeout` (first sending its I/O counters to the statistics collector),
/// then handles what every background process handles the same
/// way — SIGHUP reloads the configuration, postmaster death exits — and
/// returns the other pending signal bits (SIGTERM, SIGINT, SIGUSR1, SIGUSR2)
/// for the caller to act on.
pub fn wait_for_work(env: &mut ServerEnv, timeout: Duration) -> u32 {
    // Buffer I/O of the last turn goes to pg_stat_io (at most every 500 ms).
    crate::utils::pgstat::report_background_io();
    signals::my_latch().wait(timeout);
    if signals::take(signals::POSTMASTER_DEATH_PENDING) != 0 {
        // PostgreSQL's background processes exit at once when the postmaster is gone.
        crate::process::proc_exit(1);
    }
    if signals::take(signals::SIGHUP_PENDING) != 0 {
        env.reload_settings();
    }
    signals::take(
        signals::SIGTERM_PENDING
            | signals::SIGINT_PENDING
            | signals::SIGUSR1_PENDING
            | signals::SIGUSR2_PENDING,
    )
}

/// A duration setting in milliseconds, at least 1 ms.
pub fn setting_ms(env: &ServerEnv, name: &str) -> Duration {
    Duration::from_millis(env.settings.get_int(name).max(1) as u64)
}

/// A duration setting in seconds.
pub fn setting_s(env: &ServerEnv, name: &str) -> Duration {
    Duration::from_secs(env.settings.get_int(name).max(1) as u64)
}

/// Logs at LOG level (shorthand used by the background processes).
pub fn log(msg: &str) {
    elog::log(Severity::Log, msg);
}
