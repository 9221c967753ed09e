//! An autovacuum worker: forked by the postmaster on the launcher's
//! request, it claims the request (its database), shows itself as
//! `ferrogres: autovacuum worker DB`, and vacuums or analyzes each table of
//! that database whose statistics cross PostgreSQL's thresholds:
//!
//! - vacuum when n_dead_tup > autovacuum_vacuum_threshold +
//!   autovacuum_vacuum_scale_factor × reltuples, or n_ins_since_vacuum >
//!   autovacuum_vacuum_insert_threshold + autovacuum_vacuum_insert_scale_factor × reltuples;
//! - analyze when n_mod_since_analyze > autovacuum_analyze_threshold +
//!   autovacuum_analyze_scale_factor × reltuples;
//!
//! each overridable per table with `ALTER TABLE ... SET (...)`, and
//! `autovacuum_enabled = off` skipping the table. It then exits 0.
//! SIGTERM: FATAL, and the launcher starts another later.

use crate::catalog::relcache::RelCache;
use crate::postmaster::ServerEnv;
use crate::process::{procarray, title};
use crate::storage::heap::HeapValue;
use crate::storage::heap::vacuum::{self as heapvac, CostDelay, VacuumEnv, VacuumOptions};
use crate::storage::types::{Oid, Xid};
use crate::storage::xact::{TransactionState, Transam};
use crate::utils::elog::{self, PgError, PgResult, Severity};
use crate::utils::guc::Settings;
use crate::utils::pgstat::msg::TableCounts;

pub fn worker_main(env: ServerEnv) -> ! {
    let Some(db_oid) = super::shmem().claim() else {
        // The launcher took the request back, or another worker got it.
        crate::process::proc_exit(0);
    };
    let Some(db_name) = database_name(db_oid) else {
        crate::process::proc_exit(0)
    };
    title::set_title(&format!("ferrogres: autovacuum worker {db_name}"));
    elog::update_log_context(|c| c.database = db_name.clone());
    let slot = crate::process::my_slot().expect("autovacuum worker has a slot");
    let now = crate::utils::time::now_timestamptz();
    slot.update_status(|st| {
        st.datid = db_oid;
        st.backend_start = now;
        procarray::put_str(&mut st.datname, &db_name);
    });
    let mut tx = TransactionState::for_this_process();
    let mut relcache = RelCache::new(db_oid);
    for (rel_oid, schema, name) in user_tables(db_oid) {
        if let Err(e) = crate::process::signals::check_interrupts() {
            if e.severity >= Severity::Fatal {
                elog::log(
                    Severity::Fatal,
                    "terminating autovacuum process due to administrator command",
                );
                crate::process::proc_exit(1);
            }
        }
        let task = Task {
            db_oid,
            db_name: &db_name,
            rel_oid,
            schema: &schema,
            name: &name,
        };
        tx.begin();
        match process_table(&env, &mut tx, &mut relcache, &task) {
            Ok(()) => {
                tx.commit(true);
            }
            Err(e) => {
                tx.abort();
                if e.sqlstate == crate::utils::elog::sqlstate::QUERY_CANCELED {
                    // A user's lock request cancelled us (rule 3): next table.
                    elog::log_error(
                        &PgError::new(Severity::Error, e.sqlstate, "canceling autovacuum task")
                            .with_detail(format!(
                                "automatic vacuum of table \"{db_name}.{schema}.{name}\""
                            )),
                        None,
                    );
                } else if e.severity >= Severity::Fatal {
                    elog::log_error(&e, None);
                    crate::process::proc_exit(1);
                } else {
                    elog::log_error(&e, None);
                }
            }
        }
        crate::utils::pgstat::clear_snapshot();
        slot.update_status(|st| {
            st.state = procarray::BackendState::Idle as u8;
            procarray::put_str(&mut st.query, "");
        });
    }
    crate::utils::pgstat::report_stat(true);
    crate::process::proc_exit(0)
}

struct Task<'a> {
    db_oid: Oid,
    db_name: &'a str,
    rel_oid: Oid,
    schema: &'a str,
    name: &'a str,
}

/// PostgreSQL's `relation_needs_vacanalyze`: the thresholds of the module
/// doc, from the table's reloptions where set, else the settings. Returns
/// (vacuum, analyze).
fn needs_vacanalyze(
    settings: &Settings,
    reloptions: &[(String, String)],
    counts: &TableCounts,
    reltuples: f64,
) -> (bool, bool) {
    let opt = |name: &str| {
        reloptions
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if opt("autovacuum_enabled").is_some_and(|v| !crate::catalog::vacuum::reloption_bool(v)) {
        return (false, false);
    }
    let real = |name: &str| {
        opt(name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| settings.get_real(name))
    };
    let int = |name: &str| {
        opt(name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| settings.get_int(name) as f64)
    };
    let vac_thresh =
        int("autovacuum_vacuum_threshold") + real("autovacuum_vacuum_scale_factor") * reltuples;
    let ins_base = int("autovacuum_vacuum_insert_threshold");
    let ins_thresh = ins_base + real("autovacuum_vacuum_insert_scale_factor") * reltuples;
    let anl_thresh =
        int("autovacuum_analyze_threshold") + real("autovacuum_analyze_scale_factor") * reltuples;
    let dead = counts.dead_delta.max(0) as f64;
    let vacuum =
        dead > vac_thresh || (ins_base >= 0.0 && counts.inserted_committed as f64 > ins_thresh);
    let analyze = counts.changed as f64 > anl_thresh;
    (vacuum, analyze)
}

/// Vacuums and/or analyzes one table if its statistics say so (rule 2).
fn process_table(
    env: &ServerEnv,
    tx: &mut TransactionState,
    relcache: &mut RelCache,
    task: &Task<'_>,
) -> PgResult<()> {
    let transam = Transam::get();
    let snapshot = tx.snapshot();
    let stats = crate::utils::pgstat::fetch_snapshot(&env.data_dir);
    let Some(entry) = stats.table(task.db_oid, task.rel_oid) else {
        return Ok(());
    };
    let reloptions =
        crate::catalog::vacuum::reloptions(task.db_oid, task.rel_oid, &snapshot, &transam)?;
    // n_live_tup stands in for pg_class.reltuples (both are estimates).
    let reltuples = entry.c.live_delta.max(0) as f64;
    let (vacuum, analyze) = needs_vacanalyze(&env.settings, &reloptions, &entry.c, reltuples);
    if !vacuum && !analyze {
        return Ok(());
    }
    let Some(table) = relcache.lookup(Some(task.schema), task.name, &snapshot, &transam)? else {
        return Ok(());
    };
    let what = match (vacuum, analyze) {
        (true, true) => "VACUUM ANALYZE",
        (true, false) => "VACUUM",
        _ => "ANALYZE",
    };
    let query = format!("autovacuum: {what} {}.{}", task.schema, task.name);
    let now = crate::utils::time::now_timestamptz();
    crate::process::my_slot()
        .expect("slot")
        .update_status(|st| {
            st.state = procarray::BackendState::Running as u8;
            st.query_start = now;
            st.state_change = now;
            procarray::put_str(&mut st.query, &query);
        });
    let mut interrupts = crate::process::signals::check_interrupts;
    let mut notice = |n: PgError| elog::log_error(&n, None);
    let mut venv = VacuumEnv {
        db_oid: task.db_oid,
        db_name: task.db_name,
        locks: &mut tx.locks,
        snapshot: &snapshot,
        xact: &transam,
        check_interrupts: &mut interrupts,
        notice: &mut notice,
    };
    if vacuum {
        let opts = VacuumOptions {
            is_autovacuum: true,
            freeze_min_age: env.settings.get_int("vacuum_freeze_min_age"),
            ..Default::default()
        };
        let cost = CostDelay::from_settings(&env.settings, true);
        heapvac::vacuum_relation(&table, &opts, &cost, &mut venv)?;
    }
    if analyze {
        heapvac::analyze_relation(&table, false, true, &mut venv)?;
    }
    Ok(())
}

fn database_name(db_oid: Oid) -> Option<String> {
    let slot = crate::process::my_slot()?;
    let transam = Transam::get();
    let snapshot = transam.get_snapshot(slot, Xid::INVALID, 0);
    let rel = crate::catalog::TableDef::for_catalog(
        crate::catalog::defs::catalog_def(crate::catalog::defs::PG_DATABASE),
        0,
    )
    .heap_relation();
    let mut found = None;
    let _ = crate::storage::heap::access::heap_scan(&rel, &snapshot, &transam, &mut |_, row| {
        if matches!(row.first(), Some(HeapValue::Oid(o)) if *o == db_oid) {
            found = Some(crate::catalog::relcache::as_str(&row[1]));
            return Ok(false);
        }
        Ok(true)
    });
    transam.clear_xmin(slot);
    found
}

/// (oid, schema, name) of the ordinary tables outside pg_catalog.
fn user_tables(db_oid: Oid) -> Vec<(Oid, String, String)> {
    let Some(slot) = crate::process::my_slot() else {
        return Vec::new();
    };
    let transam = Transam::get();
    let snapshot = transam.get_snapshot(slot, Xid::INVALID, 0);
    let rel = crate::catalog::TableDef::for_catalog(
        crate::catalog::defs::catalog_def(crate::catalog::defs::PG_CLASS),
        db_oid,
    )
    .heap_relation();
    let mut out = Vec::new();
    let _ = crate::storage::heap::access::heap_scan(&rel, &snapshot, &transam, &mut |_, row| {
        if let (Some(HeapValue::Oid(oid)), Some(HeapValue::Oid(ns))) = (row.first(), row.get(2)) {
            if *ns == crate::catalog::defs::PUBLIC_NAMESPACE {
                out.push((
                    *oid,
                    "public".to_string(),
                    crate::catalog::relcache::as_str(&row[1]),
                ));
            }
        }
        Ok(true)
    });
    transam.clear_xmin(slot);
    out
}
