//! The logical replication launcher (PostgreSQL's `launcher.c`), a
//! background worker: it would start apply workers for subscriptions.
//! As a background worker with `bgw_restart_time` = 5 s, SIGTERM makes it
//! exit 1 and the postmaster starts it again five seconds later.

use std::time::Duration;

use crate::postmaster::ServerEnv;
use crate::process::signals;

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        // wal_retrieve_retry_interval-like idle wake-up.
        let bits = super::wait_for_work(&mut env, Duration::from_secs(180));
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(1);
        }
    }
}
