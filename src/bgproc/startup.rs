//! The startup process (PostgreSQL's `startup.c` + `StartupXLOG`): runs
//! before the server opens. It reads `global/pg_control`, reports how the
//! cluster was left, performs recovery, marks the cluster in production and
//! exits 0, which tells the postmaster to open. A non-zero exit stops the
//! server ("aborting startup due to startup process failure").
//!
//! Until the storage issue adds WAL, there is nothing to replay: after an
//! unclean stop it logs PostgreSQL's recovery lines and "redo is not required".

use crate::postmaster::ServerEnv;
use crate::storage::control::{ControlFile, DbState};
use crate::utils::elog::{self, Severity};

pub fn main(env: ServerEnv) -> ! {
    crate::process::title::set_title("ferrogres: startup");
    let cf = match ControlFile::read(&env.data_dir) {
        Ok(cf) => cf,
        Err(e) => {
            elog::log(
                Severity::Fatal,
                &format!("could not read file \"global/pg_control\": {e}"),
            );
            crate::process::proc_exit(1);
        }
    };
    let when = crate::utils::time::format_unix_seconds(cf.time_s);
    match cf.state {
        DbState::Shutdowned => super::log(&format!("database system was shut down at {when}")),
        DbState::ShutdownedInRecovery => super::log(&format!(
            "database system was shut down in recovery at {when}"
        )),
        _ => {
            super::log(&format!(
                "database system was interrupted; last known up at {when}"
            ));
            super::log(
                "database system was not properly shut down; automatic recovery in progress",
            );
            if let Err(e) = ControlFile::update_state(&env.data_dir, DbState::InCrashRecovery) {
                elog::log(
                    Severity::Fatal,
                    &format!("could not write control file: {e}"),
                );
                crate::process::proc_exit(1);
            }
            super::log("redo is not required");
        }
    }
    if let Err(e) = ControlFile::update_state(&env.data_dir, DbState::InProduction) {
        elog::log(
            Severity::Fatal,
            &format!("could not write control file: {e}"),
        );
        crate::process::proc_exit(1);
    }
    crate::process::proc_exit(0)
}
