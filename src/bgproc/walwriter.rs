//! The WAL writer (PostgreSQL's `walwriter.c`): every `wal_writer_delay`
//! it writes and flushes WAL that asynchronous commits
//! (`synchronous_commit = off`) left in the WAL buffers, which bounds what
//! such commits can lose to that window. An asynchronous commit also sets
//! its latch. When several rounds find nothing to do it sleeps longer
//! (PostgreSQL's hibernation, 25 × the delay), until a latch wakes it.
//! SIGTERM: exit 0, restarted quietly. If it is stopped (SIGSTOP), commits
//! still complete: synchronous committers flush their own WAL.

use crate::postmaster::ServerEnv;
use crate::process::signals;
use crate::storage::wal;

/// Idle rounds before hibernating (PostgreSQL's LOOPS_UNTIL_HIBERNATE).
const LOOPS_UNTIL_HIBERNATE: u32 = 50;
const HIBERNATE_FACTOR: u32 = 25;

pub fn main(mut env: ServerEnv) -> ! {
    let mut idle_rounds = 0u32;
    loop {
        let delay = super::setting_ms(&env, "wal_writer_delay");
        let timeout = if idle_rounds >= LOOPS_UNTIL_HIBERNATE {
            delay * HIBERNATE_FACTOR
        } else {
            delay
        };
        let bits = super::wait_for_work(&mut env, timeout);
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
        if !wal::is_insert_ready() {
            continue;
        }
        match wal::write_and_flush_background() {
            Ok(true) => idle_rounds = 0,
            Ok(false) => idle_rounds = idle_rounds.saturating_add(1),
            Err(e) => {
                crate::utils::elog::log(
                    crate::utils::elog::Severity::Panic,
                    &format!("could not write to WAL: {e}"),
                );
                crate::process::proc_exit(2);
            }
        }
    }
}
