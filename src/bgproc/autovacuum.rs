//! The autovacuum launcher (PostgreSQL's `autovacuum.c`): wakes every
//! `autovacuum_naptime` to decide which databases need a worker.
//! SIGTERM: exit 0, restarted quietly. Workers and the decision come with
//! the VACUUM issue.

use crate::postmaster::ServerEnv;
use crate::process::signals;

pub fn launcher_main(mut env: ServerEnv) -> ! {
    loop {
        let interval = super::setting_s(&env, "autovacuum_naptime");
        let bits = super::wait_for_work(&mut env, interval);
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
    }
}
