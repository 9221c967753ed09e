//! The autovacuum launcher. Every `autovacuum_naptime / number of
//! databases` it picks the next database that accepts connections (round
//! robin, as PostgreSQL does when nothing is close to wraparound) and asks
//! the postmaster for a worker there, unless `autovacuum_max_workers` are
//! already busy. With `autovacuum = off` it only sleeps. SIGTERM: exit 0,
//! restarted quietly.

use std::time::Duration;

use crate::postmaster::ServerEnv;
use crate::process::{ProcessKind, signals};
use crate::storage::types::Xid;
use crate::storage::xact::Transam;

pub fn launcher_main(mut env: ServerEnv) -> ! {
    let mut next_db = 0usize;
    loop {
        let naptime = super::super::setting_s(&env, "autovacuum_naptime");
        let databases = connectable_databases();
        let interval = naptime / databases.len().max(1) as u32;
        let bits = super::super::wait_for_work(&mut env, interval.max(Duration::from_millis(100)));
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
        if !env.settings.get_bool("autovacuum")
            || !env.settings.get_bool("track_counts")
            || databases.is_empty()
        {
            continue;
        }
        let shm = super::shmem();
        shm.expire(naptime.as_micros() as i64);
        let running = crate::storage::shmem::get()
            .procarray()
            .slots()
            .iter()
            .filter(|s| {
                s.pid.load(std::sync::atomic::Ordering::Acquire) != 0
                    && s.kind() == Some(ProcessKind::AutovacWorker)
            })
            .count();
        let max_workers = env.settings.get_int("autovacuum_max_workers").max(1) as usize;
        if running + shm.pending() >= max_workers {
            continue;
        }
        let db = databases[next_db % databases.len()];
        next_db = next_db.wrapping_add(1);
        if shm.request(db) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(env.postmaster_pid),
                nix::sys::signal::Signal::SIGUSR1,
            );
        }
    }
}

/// Databases that accept connections, from the shared pg_database.
fn connectable_databases() -> Vec<u32> {
    let Some(slot) = crate::process::my_slot() else {
        return Vec::new();
    };
    if !crate::storage::wal::is_insert_ready() {
        return Vec::new();
    }
    let transam = Transam::get();
    let snapshot = transam.get_snapshot(slot, Xid::INVALID, 0);
    let mut dbs = Vec::new();
    let rel = crate::catalog::TableDef::for_catalog(
        crate::catalog::defs::catalog_def(crate::catalog::defs::PG_DATABASE),
        0,
    )
    .heap_relation();
    let _ = crate::storage::heap::access::heap_scan(&rel, &snapshot, &transam, &mut |_, row| {
        if matches!(
            row.get(crate::catalog::defs::pg_database_col::DATALLOWCONN),
            Some(crate::storage::heap::HeapValue::Bool(true))
        ) {
            if let Some(crate::storage::heap::HeapValue::Oid(oid)) = row.first() {
                dbs.push(*oid);
            }
        }
        Ok(true)
    });
    transam.clear_xmin(slot);
    dbs
}
