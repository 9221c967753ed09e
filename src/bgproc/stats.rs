//! The statistics collector (PostgreSQL 14's `pgstat.c` collector). It
//! does not attach to shared memory, so the postmaster restarts it alone
//! whenever it dies; statistics are merely stale meanwhile. SIGUSR2 (at
//! shutdown): write `pg_stat/` and exit 0. Counters arrive with the stats issue.

use std::time::Duration;

use crate::postmaster::ServerEnv;
use crate::process::signals;

/// PostgreSQL's `PGSTAT_STAT_INTERVAL`.
const STAT_INTERVAL: Duration = Duration::from_millis(500);

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        let bits = super::wait_for_work(&mut env, STAT_INTERVAL);
        if bits & (signals::SIGTERM_PENDING | signals::SIGUSR2_PENDING) != 0 {
            crate::process::proc_exit(0);
        }
    }
}
