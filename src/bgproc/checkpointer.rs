//! The checkpointer (PostgreSQL's `checkpointer.c`). Every
//! `checkpoint_timeout`, or when asked, it makes a checkpoint; at shutdown
//! (SIGUSR2 from the postmaster) it writes the shutdown checkpoint, marks
//! `pg_control` "shut down" and exits 0. SIGTERM is ignored, as in PostgreSQL.
//!
//! Until the storage issue gives it dirty buffers and WAL, a checkpoint has
//! nothing to write; the shutdown checkpoint still records the clean stop
//! that the next start reads.

use crate::postmaster::ServerEnv;
use crate::process::signals;
use crate::storage::control::{ControlFile, DbState};

pub fn main(mut env: ServerEnv) -> ! {
    signals::ignore(nix::sys::signal::Signal::SIGTERM);
    loop {
        let timeout = super::setting_s(&env, "checkpoint_timeout");
        let bits = super::wait_for_work(&mut env, timeout);
        if bits & signals::SIGUSR2_PENDING != 0 {
            shutdown_checkpoint(&env);
            crate::process::proc_exit(0);
        }
    }
}

fn shutdown_checkpoint(env: &ServerEnv) {
    let log_checkpoints = env.settings.get_bool("log_checkpoints");
    let start = std::time::Instant::now();
    if log_checkpoints {
        super::log("checkpoint starting: shutdown immediate");
    }
    if let Err(e) = ControlFile::update_state(&env.data_dir, DbState::Shutdowned) {
        crate::utils::elog::log(
            crate::utils::elog::Severity::Panic,
            &format!("could not write control file: {e}"),
        );
        crate::process::proc_exit(2);
    }
    if log_checkpoints {
        let secs = start.elapsed().as_secs_f64();
        super::log(&format!(
            "checkpoint complete: wrote 0 buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.000 s, sync=0.000 s, total={secs:.3} s; sync files=0, longest=0.000 s, average=0.000 s; distance=0 kB, estimate=0 kB"
        ));
    }
}
