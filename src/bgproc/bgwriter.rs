//! The background writer (PostgreSQL's `bgwriter.c`): every
//! `bgwriter_delay` it writes dirty buffers ahead of the clock hand so that
//! backends find clean ones. SIGTERM: exit 0, restarted quietly.
//! The buffer pool arrives with the storage issue; until then a round has
//! nothing to write.

use crate::postmaster::ServerEnv;
use crate::process::signals;

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        let interval = super::setting_ms(&env, "bgwriter_delay");
        let bits = super::wait_for_work(&mut env, interval);
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
    }
}
