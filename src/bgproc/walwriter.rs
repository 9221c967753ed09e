//! The WAL writer (PostgreSQL's `walwriter.c`): every `wal_writer_delay`
//! it flushes WAL that asynchronous commits left in the WAL buffers.
//! SIGTERM: exit 0, restarted quietly. WAL arrives with the storage issue.

use crate::postmaster::ServerEnv;
use crate::process::signals;

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        let interval = super::setting_ms(&env, "wal_writer_delay");
        let bits = super::wait_for_work(&mut env, interval);
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
    }
}
