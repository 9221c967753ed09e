//! The archiver (PostgreSQL's `pgarch.c`): runs `archive_command` for each
//! completed WAL segment. Started only with `archive_mode = on`. SIGTERM:
//! exit 0, restarted; SIGUSR2 (from the postmaster, after the shutdown
//! checkpoint): archive what is left and exit 0. Archiving itself comes
//! with the archiving issue.

use std::time::Duration;

use crate::postmaster::ServerEnv;
use crate::process::signals;

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        let bits = super::wait_for_work(&mut env, Duration::from_secs(60));
        if bits & (signals::SIGTERM_PENDING | signals::SIGUSR2_PENDING) != 0 {
            crate::process::proc_exit(0);
        }
    }
}
