//! System views read from shared memory and the data directory (the
//! `pg_stat_*` views, `pg_locks`, and the functions `pg_control_checkpoint()`
//! and `pg_ls_waldir()` used in FROM). pg_stat_activity lives with the
//! session, which knows who is asking.
//!
//! The cumulative-statistics views (`pg_stat_database`,
//! `pg_stat_{all,user,sys}_tables`, `pg_statio_{all,user,sys}_tables`,
//! `pg_stat_archiver`, `pg_stat_io`) read the statistics collector's
//! snapshot ([`crate::utils::pgstat::fetch_snapshot`]) and take names from
//! the catalogs, read with the statement's snapshot: a table dropped since
//! is gone from the views even though the collector still has its entry.

use std::sync::atomic::Ordering;

use crate::catalog::TableDef;
use crate::catalog::defs::{
    PG_CLASS, PG_DATABASE, PG_NAMESPACE, catalog_def, pg_class_col, pg_database_col,
    pg_namespace_col,
};
use crate::catalog::relcache::as_str;
use crate::process::ProcessKind;
use crate::sql::VirtualRelation;
use crate::sql::types::{Datum, Type};
use crate::storage::control::ControlFile;
use crate::storage::heap::HeapValue;
use crate::storage::heap::access;
use crate::storage::types::Oid;
use crate::storage::xact::{Snapshot, Transam};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::pgstat::StatsSnapshot;
use crate::utils::pgstat::snapshot::{IO_BACKEND_TYPES, TabEntry};
use crate::utils::time::TimestampTz;

fn cols(list: &[(&str, Type)]) -> Vec<(String, Type)> {
    list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

fn count(v: u64) -> Datum {
    Datum::Int8(v as i64)
}

/// `pg_stat_bgwriter`, PostgreSQL 15's columns. The buffer-pool counters
/// are shown relative to the baseline of the last
/// `pg_stat_reset_shared('bgwriter')`, kept by the statistics collector.
pub fn pg_stat_bgwriter(stats: &StatsSnapshot) -> VirtualRelation {
    let ckpt = crate::bgproc::checkpointer::shmem();
    let mut buf = crate::storage::buffer::pool().stats();
    let base = stats.bgwriter_baseline;
    for (v, b) in [
        &mut buf.buffers_checkpoint,
        &mut buf.buffers_clean,
        &mut buf.maxwritten_clean,
        &mut buf.buffers_backend,
        &mut buf.buffers_backend_fsync,
        &mut buf.buffers_alloc,
    ]
    .into_iter()
    .zip(base)
    {
        *v = v.saturating_sub(b);
    }
    VirtualRelation {
        columns: cols(&[
            ("checkpoints_timed", Type::Int8),
            ("checkpoints_req", Type::Int8),
            ("checkpoint_write_time", Type::Float8),
            ("checkpoint_sync_time", Type::Float8),
            ("buffers_checkpoint", Type::Int8),
            ("buffers_clean", Type::Int8),
            ("maxwritten_clean", Type::Int8),
            ("buffers_backend", Type::Int8),
            ("buffers_backend_fsync", Type::Int8),
            ("buffers_alloc", Type::Int8),
            ("stats_reset", Type::Timestamptz),
        ]),
        rows: vec![vec![
            count(ckpt.checkpoints_timed.load(Ordering::Relaxed)),
            count(ckpt.checkpoints_req.load(Ordering::Relaxed)),
            Datum::Float8(ckpt.checkpoint_write_time_ms.load(Ordering::Relaxed) as f64),
            Datum::Float8(ckpt.checkpoint_sync_time_ms.load(Ordering::Relaxed) as f64),
            count(buf.buffers_checkpoint),
            count(buf.buffers_clean),
            count(buf.maxwritten_clean),
            count(buf.buffers_backend),
            count(buf.buffers_backend_fsync),
            count(buf.buffers_alloc),
            Datum::Timestamptz(ckpt.stats_reset.load(Ordering::Relaxed)),
        ]],
    }
}

/// `pg_stat_wal`, PostgreSQL 15's columns.
pub fn pg_stat_wal() -> VirtualRelation {
    let s = crate::storage::wal::stats();
    VirtualRelation {
        columns: cols(&[
            ("wal_records", Type::Int8),
            ("wal_fpi", Type::Int8),
            ("wal_bytes", Type::Numeric),
            ("wal_buffers_full", Type::Int8),
            ("wal_write", Type::Int8),
            ("wal_sync", Type::Int8),
            ("wal_write_time", Type::Float8),
            ("wal_sync_time", Type::Float8),
            ("stats_reset", Type::Timestamptz),
        ]),
        rows: vec![vec![
            count(s.wal_records),
            count(s.wal_fpi),
            Datum::Numeric(
                crate::sql::adt::numeric::Numeric::parse(&s.wal_bytes.to_string())
                    .expect("integer parses"),
            ),
            count(s.wal_buffers_full),
            count(s.wal_write),
            count(s.wal_sync),
            Datum::Float8(s.wal_write_time),
            Datum::Float8(s.wal_sync_time),
            Datum::Timestamptz(s.stats_reset),
        ]],
    }
}

/// `pg_locks`, PostgreSQL 15's columns.
pub fn pg_locks() -> VirtualRelation {
    let opt_oid = |v: Option<u32>| v.map(Datum::Oid).unwrap_or(Datum::Null);
    let rows = crate::storage::lock::lmgr::LockTable::get()
        .pg_locks()
        .into_iter()
        .map(|r| {
            vec![
                Datum::Text(r.locktype.to_string()),
                opt_oid(r.database),
                opt_oid(r.relation),
                r.page.map(|p| Datum::Int4(p as i32)).unwrap_or(Datum::Null),
                r.tuple
                    .map(|t| Datum::Int2(t as i16))
                    .unwrap_or(Datum::Null),
                Datum::Null,
                r.transactionid
                    .map(|x| Datum::Text(x.0.to_string()))
                    .unwrap_or(Datum::Null),
                opt_oid(r.classid),
                opt_oid(r.objid),
                r.objsubid
                    .map(|v| Datum::Int2(v as i16))
                    .unwrap_or(Datum::Null),
                Datum::Null,
                Datum::Int4(r.pid),
                Datum::Text(r.mode.to_string()),
                Datum::Bool(r.granted),
                Datum::Bool(false),
                r.waitstart.map(Datum::Timestamptz).unwrap_or(Datum::Null),
            ]
        })
        .collect();
    VirtualRelation {
        columns: cols(&[
            ("locktype", Type::Text),
            ("database", Type::Oid),
            ("relation", Type::Oid),
            ("page", Type::Int4),
            ("tuple", Type::Int2),
            ("virtualxid", Type::Text),
            ("transactionid", Type::Text),
            ("classid", Type::Oid),
            ("objid", Type::Oid),
            ("objsubid", Type::Int2),
            ("virtualtransaction", Type::Text),
            ("pid", Type::Int4),
            ("mode", Type::Text),
            ("granted", Type::Bool),
            ("fastpath", Type::Bool),
            ("waitstart", Type::Timestamptz),
        ]),
        rows,
    }
}

/// `pg_control_checkpoint()`, PostgreSQL 15's columns.
pub fn pg_control_checkpoint(data_dir: &std::path::Path) -> PgResult<VirtualRelation> {
    let cf = ControlFile::read(data_dir).map_err(|e| {
        PgError::error(
            sqlstate::IO_ERROR,
            format!("could not read file \"global/pg_control\": {e}"),
        )
    })?;
    let cp = &cf.checkpoint_copy;
    let ts =
        (cp.time - crate::utils::time::POSTGRES_EPOCH_UNIX_S) * crate::utils::time::USECS_PER_SEC;
    Ok(VirtualRelation {
        columns: cols(&[
            ("checkpoint_lsn", Type::PgLsn),
            ("redo_lsn", Type::PgLsn),
            ("redo_wal_file", Type::Text),
            ("timeline_id", Type::Int4),
            ("prev_timeline_id", Type::Int4),
            ("full_page_writes", Type::Bool),
            ("next_xid", Type::Text),
            ("next_oid", Type::Oid),
            ("next_multixact_id", Type::Xid),
            ("next_multi_offset", Type::Xid),
            ("oldest_xid", Type::Xid),
            ("oldest_xid_dbid", Type::Oid),
            ("oldest_active_xid", Type::Xid),
            ("oldest_multi_xid", Type::Xid),
            ("oldest_multi_dbid", Type::Oid),
            ("oldest_commit_ts_xid", Type::Xid),
            ("newest_commit_ts_xid", Type::Xid),
            ("checkpoint_time", Type::Timestamptz),
        ]),
        rows: vec![vec![
            Datum::Lsn(cf.checkpoint.0),
            Datum::Lsn(cp.redo.0),
            Datum::Text(cf.redo_wal_file()),
            Datum::Int4(cp.timeline as i32),
            Datum::Int4(cp.prev_timeline as i32),
            Datum::Bool(cp.full_page_writes),
            // PostgreSQL prints epoch:xid; with 64-bit ids the epoch is the high half.
            Datum::Text(format!(
                "{}:{}",
                cp.next_xid.0 >> 32,
                cp.next_xid.0 & 0xffff_ffff
            )),
            Datum::Oid(cp.next_oid),
            Datum::Xid(cp.next_multi),
            Datum::Xid(cp.next_multi_offset),
            Datum::Xid(cp.oldest_xid.0 as u32),
            Datum::Oid(cp.oldest_xid_db),
            Datum::Xid(cp.oldest_active_xid.0 as u32),
            Datum::Xid(cp.oldest_multi),
            Datum::Oid(cp.oldest_multi_db),
            Datum::Xid(0),
            Datum::Xid(0),
            Datum::Timestamptz(ts),
        ]],
    })
}

/// `pg_ls_waldir()`: name, size, modification.
pub fn pg_ls_waldir(data_dir: &std::path::Path) -> PgResult<VirtualRelation> {
    let files = crate::storage::wal::list_segments(data_dir).map_err(|e| {
        PgError::error(
            sqlstate::IO_ERROR,
            format!("could not read directory \"pg_wal\": {e}"),
        )
    })?;
    let rows = files
        .into_iter()
        .map(|f| {
            let unix_us = f
                .modification
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0);
            vec![
                Datum::Text(f.name),
                Datum::Int8(f.size as i64),
                Datum::Timestamptz(
                    unix_us
                        - crate::utils::time::POSTGRES_EPOCH_UNIX_S
                            * crate::utils::time::USECS_PER_SEC,
                ),
            ]
        })
        .collect();
    Ok(VirtualRelation {
        columns: cols(&[
            ("name", Type::Text),
            ("size", Type::Int8),
            ("modification", Type::Timestamptz),
        ]),
        rows,
    })
}

// ---------------------------------------------------------------------------
// Cumulative statistics views
// ---------------------------------------------------------------------------

/// The names the statistics views answer to (served by [`stat_view`]).
pub const STAT_VIEWS: [&str; 11] = [
    "pg_stat_database",
    "pg_stat_all_tables",
    "pg_stat_user_tables",
    "pg_stat_sys_tables",
    "pg_statio_all_tables",
    "pg_statio_user_tables",
    "pg_statio_sys_tables",
    "pg_stat_archiver",
    "pg_stat_io",
    // Served here too because their rows need the collector's snapshot.
    "pg_stat_bgwriter",
    "pg_stat_database_conflicts",
];

/// One relation of the current database, from `pg_class`.
struct RelInfo {
    oid: Oid,
    name: String,
    schema: String,
    shared: bool,
}

fn heap_oid(v: &HeapValue) -> Oid {
    match v {
        HeapValue::Oid(o) => *o,
        HeapValue::I32(i) => *i as Oid,
        _ => 0,
    }
}

/// Rows of a bootstrap catalog visible to `snapshot`.
fn scan_catalog(
    cat: Oid,
    db_oid: Oid,
    snapshot: &Snapshot,
    f: &mut dyn FnMut(&[HeapValue]),
) -> PgResult<()> {
    let rel = TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation();
    let transam = Transam::get();
    access::heap_scan(&rel, snapshot, &transam, &mut |_, row| {
        f(&row);
        Ok(true)
    })
}

/// Databases from the shared `pg_database`: (oid, name).
fn list_databases(snapshot: &Snapshot) -> PgResult<Vec<(Oid, String)>> {
    let mut out = Vec::new();
    scan_catalog(PG_DATABASE, 0, snapshot, &mut |row| {
        out.push((
            heap_oid(&row[pg_database_col::OID]),
            as_str(&row[pg_database_col::DATNAME]),
        ))
    })?;
    out.sort_by_key(|(o, _)| *o);
    Ok(out)
}

/// Tables of database `db` (relkind r, t, m, p), ordered by oid.
fn list_tables(db: Oid, snapshot: &Snapshot) -> PgResult<Vec<RelInfo>> {
    let mut namespaces = std::collections::HashMap::new();
    scan_catalog(PG_NAMESPACE, db, snapshot, &mut |row| {
        namespaces.insert(
            heap_oid(&row[pg_namespace_col::OID]),
            as_str(&row[pg_namespace_col::NSPNAME]),
        );
    })?;
    let mut out = Vec::new();
    scan_catalog(PG_CLASS, db, snapshot, &mut |row| {
        let relkind = as_str(&row[pg_class_col::RELKIND]);
        if !matches!(relkind.as_str(), "r" | "t" | "m" | "p") {
            return;
        }
        out.push(RelInfo {
            oid: heap_oid(&row[pg_class_col::OID]),
            name: as_str(&row[pg_class_col::RELNAME]),
            schema: namespaces
                .get(&heap_oid(&row[pg_class_col::RELNAMESPACE]))
                .cloned()
                .unwrap_or_default(),
            shared: matches!(row[pg_class_col::RELISSHARED], HeapValue::Bool(true)),
        });
    })?;
    out.sort_by_key(|r| r.oid);
    Ok(out)
}

fn is_sys_schema(schema: &str) -> bool {
    schema == "pg_catalog" || schema == "information_schema" || schema.starts_with("pg_toast")
}

fn ts_or_null(v: TimestampTz) -> Datum {
    if v == 0 {
        Datum::Null
    } else {
        Datum::Timestamptz(v)
    }
}

fn int8(v: i64) -> Datum {
    Datum::Int8(v)
}

/// Everything the statistics views need from the session.
pub struct StatViewContext<'a> {
    pub db_oid: Oid,
    pub snapshot: &'a Snapshot,
    pub stats: &'a StatsSnapshot,
    pub data_checksums: bool,
}

/// Serves one of [`STAT_VIEWS`].
pub fn stat_view(name: &str, cx: &StatViewContext<'_>) -> PgResult<Option<VirtualRelation>> {
    Ok(Some(match name {
        "pg_stat_database" => pg_stat_database(cx)?,
        "pg_stat_database_conflicts" => pg_stat_database_conflicts(cx)?,
        "pg_stat_all_tables" => pg_stat_tables(cx, |_| true)?,
        "pg_stat_user_tables" => pg_stat_tables(cx, |s| !is_sys_schema(s))?,
        "pg_stat_sys_tables" => pg_stat_tables(cx, is_sys_schema)?,
        "pg_statio_all_tables" => pg_statio_tables(cx, |_| true)?,
        "pg_statio_user_tables" => pg_statio_tables(cx, |s| !is_sys_schema(s))?,
        "pg_statio_sys_tables" => pg_statio_tables(cx, is_sys_schema)?,
        "pg_stat_archiver" => pg_stat_archiver(cx.stats),
        "pg_stat_io" => pg_stat_io(cx.stats),
        "pg_stat_bgwriter" => pg_stat_bgwriter(cx.stats),
        _ => return Ok(None),
    }))
}

/// Client backends connected to each database.
fn backends_per_database() -> std::collections::HashMap<Oid, i32> {
    let mut out = std::collections::HashMap::new();
    for slot in crate::storage::shmem::get().procarray().slots() {
        if slot.pid.load(Ordering::Acquire) == 0 || slot.kind() != Some(ProcessKind::Backend) {
            continue;
        }
        if let Some(st) = slot.read_status()
            && st.backend_start != 0
        {
            *out.entry(st.datid).or_insert(0) += 1;
        }
    }
    out
}

/// `pg_stat_database`, PostgreSQL 15's columns: one row per database plus
/// the row of shared objects (datid 0).
fn pg_stat_database(cx: &StatViewContext<'_>) -> PgResult<VirtualRelation> {
    let mut dbs = vec![(0, None)];
    dbs.extend(
        list_databases(cx.snapshot)?
            .into_iter()
            .map(|(o, n)| (o, Some(n))),
    );
    let backends = backends_per_database();
    let empty = Default::default();
    let rows = dbs
        .into_iter()
        .map(|(oid, name)| {
            let d: &crate::utils::pgstat::snapshot::DbEntry =
                cx.stats.dbs.get(&oid).unwrap_or(&empty);
            let c = &d.c;
            vec![
                Datum::Oid(oid),
                name.map(Datum::Text).unwrap_or(Datum::Null),
                Datum::Int4(if oid == 0 {
                    0
                } else {
                    backends.get(&oid).copied().unwrap_or(0)
                }),
                count(c.xact_commit),
                count(c.xact_rollback),
                count(c.blks_read),
                count(c.blks_hit),
                count(c.tup_returned),
                count(c.tup_fetched),
                count(d.tup_inserted),
                count(d.tup_updated),
                count(d.tup_deleted),
                count(0),
                count(c.temp_files),
                count(c.temp_bytes),
                count(c.deadlocks),
                if cx.data_checksums {
                    count(0)
                } else {
                    Datum::Null
                },
                Datum::Null,
                Datum::Float8(0.0),
                Datum::Float8(0.0),
                Datum::Float8(c.session_time_us as f64 / 1000.0),
                Datum::Float8(c.active_time_us as f64 / 1000.0),
                Datum::Float8(0.0),
                count(c.sessions),
                count(0),
                count(0),
                count(0),
                ts_or_null(d.stats_reset),
            ]
        })
        .collect();
    Ok(VirtualRelation {
        columns: cols(&[
            ("datid", Type::Oid),
            ("datname", Type::Name),
            ("numbackends", Type::Int4),
            ("xact_commit", Type::Int8),
            ("xact_rollback", Type::Int8),
            ("blks_read", Type::Int8),
            ("blks_hit", Type::Int8),
            ("tup_returned", Type::Int8),
            ("tup_fetched", Type::Int8),
            ("tup_inserted", Type::Int8),
            ("tup_updated", Type::Int8),
            ("tup_deleted", Type::Int8),
            ("conflicts", Type::Int8),
            ("temp_files", Type::Int8),
            ("temp_bytes", Type::Int8),
            ("deadlocks", Type::Int8),
            ("checksum_failures", Type::Int8),
            ("checksum_last_failure", Type::Timestamptz),
            ("blk_read_time", Type::Float8),
            ("blk_write_time", Type::Float8),
            ("session_time", Type::Float8),
            ("active_time", Type::Float8),
            ("idle_in_transaction_time", Type::Float8),
            ("sessions", Type::Int8),
            ("sessions_abandoned", Type::Int8),
            ("sessions_fatal", Type::Int8),
            ("sessions_killed", Type::Int8),
            ("stats_reset", Type::Timestamptz),
        ]),
        rows,
    })
}

/// `pg_stat_database_conflicts`: no standbys, so all zero.
fn pg_stat_database_conflicts(cx: &StatViewContext<'_>) -> PgResult<VirtualRelation> {
    let rows = list_databases(cx.snapshot)?
        .into_iter()
        .map(|(oid, name)| {
            let mut r = vec![Datum::Oid(oid), Datum::Text(name)];
            r.extend((0..5).map(|_| count(0)));
            r
        })
        .collect();
    Ok(VirtualRelation {
        columns: cols(&[
            ("datid", Type::Oid),
            ("datname", Type::Name),
            ("confl_tablespace", Type::Int8),
            ("confl_lock", Type::Int8),
            ("confl_snapshot", Type::Int8),
            ("confl_bufferpin", Type::Int8),
            ("confl_deadlock", Type::Int8),
        ]),
        rows,
    })
}

/// The tables of the current database passing `schema_filter`, each with
/// its collector entry (shared catalogs are kept under database 0).
fn tables_with_stats<'a>(
    cx: &'a StatViewContext<'_>,
    schema_filter: fn(&str) -> bool,
) -> PgResult<Vec<(RelInfo, TabEntry)>> {
    Ok(list_tables(cx.db_oid, cx.snapshot)?
        .into_iter()
        .filter(|r| schema_filter(&r.schema))
        .map(|r| {
            let db = if r.shared { 0 } else { cx.db_oid };
            let t = cx.stats.table(db, r.oid).copied().unwrap_or_default();
            (r, t)
        })
        .collect())
}

/// `pg_stat_{all,user,sys}_tables`, PostgreSQL 15's columns.
fn pg_stat_tables(
    cx: &StatViewContext<'_>,
    schema_filter: fn(&str) -> bool,
) -> PgResult<VirtualRelation> {
    let rows = tables_with_stats(cx, schema_filter)?
        .into_iter()
        .map(|(r, t)| {
            let c = &t.c;
            vec![
                Datum::Oid(r.oid),
                Datum::Text(r.schema),
                Datum::Text(r.name),
                count(c.seq_scan),
                count(c.seq_tup_read),
                // No indexes yet: PostgreSQL shows NULL for a table without any.
                Datum::Null,
                Datum::Null,
                count(c.tup_ins),
                count(c.tup_upd),
                count(c.tup_del),
                count(c.tup_hot_upd),
                int8(c.live_delta.max(0)),
                int8(c.dead_delta.max(0)),
                count(c.changed),
                count(c.inserted_committed),
                ts_or_null(t.last_vacuum),
                ts_or_null(t.last_autovacuum),
                ts_or_null(t.last_analyze),
                ts_or_null(t.last_autoanalyze),
                count(t.vacuum_count),
                count(t.autovacuum_count),
                count(t.analyze_count),
                count(t.autoanalyze_count),
            ]
        })
        .collect();
    Ok(VirtualRelation {
        columns: cols(&[
            ("relid", Type::Oid),
            ("schemaname", Type::Name),
            ("relname", Type::Name),
            ("seq_scan", Type::Int8),
            ("seq_tup_read", Type::Int8),
            ("idx_scan", Type::Int8),
            ("idx_tup_fetch", Type::Int8),
            ("n_tup_ins", Type::Int8),
            ("n_tup_upd", Type::Int8),
            ("n_tup_del", Type::Int8),
            ("n_tup_hot_upd", Type::Int8),
            ("n_live_tup", Type::Int8),
            ("n_dead_tup", Type::Int8),
            ("n_mod_since_analyze", Type::Int8),
            ("n_ins_since_vacuum", Type::Int8),
            ("last_vacuum", Type::Timestamptz),
            ("last_autovacuum", Type::Timestamptz),
            ("last_analyze", Type::Timestamptz),
            ("last_autoanalyze", Type::Timestamptz),
            ("vacuum_count", Type::Int8),
            ("autovacuum_count", Type::Int8),
            ("analyze_count", Type::Int8),
            ("autoanalyze_count", Type::Int8),
        ]),
        rows,
    })
}

/// `pg_statio_{all,user,sys}_tables`: heap blocks only (no indexes or
/// TOAST yet, so those columns are NULL as PostgreSQL shows them then).
fn pg_statio_tables(
    cx: &StatViewContext<'_>,
    schema_filter: fn(&str) -> bool,
) -> PgResult<VirtualRelation> {
    let rows = tables_with_stats(cx, schema_filter)?
        .into_iter()
        .map(|(r, t)| {
            let mut row = vec![
                Datum::Oid(r.oid),
                Datum::Text(r.schema),
                Datum::Text(r.name),
                count(t.c.blocks_read),
                count(t.c.blocks_hit),
            ];
            row.extend((0..6).map(|_| Datum::Null));
            row
        })
        .collect();
    Ok(VirtualRelation {
        columns: cols(&[
            ("relid", Type::Oid),
            ("schemaname", Type::Name),
            ("relname", Type::Name),
            ("heap_blks_read", Type::Int8),
            ("heap_blks_hit", Type::Int8),
            ("idx_blks_read", Type::Int8),
            ("idx_blks_hit", Type::Int8),
            ("toast_blks_read", Type::Int8),
            ("toast_blks_hit", Type::Int8),
            ("tidx_blks_read", Type::Int8),
            ("tidx_blks_hit", Type::Int8),
        ]),
        rows,
    })
}

/// `pg_stat_archiver`, PostgreSQL 15's columns.
fn pg_stat_archiver(stats: &StatsSnapshot) -> VirtualRelation {
    let a = &stats.archiver;
    let text_or_null = |s: &str| {
        if s.is_empty() {
            Datum::Null
        } else {
            Datum::Text(s.to_string())
        }
    };
    VirtualRelation {
        columns: cols(&[
            ("archived_count", Type::Int8),
            ("last_archived_wal", Type::Text),
            ("last_archived_time", Type::Timestamptz),
            ("failed_count", Type::Int8),
            ("last_failed_wal", Type::Text),
            ("last_failed_time", Type::Timestamptz),
            ("stats_reset", Type::Timestamptz),
        ]),
        rows: vec![vec![
            count(a.archived_count),
            text_or_null(&a.last_archived_wal),
            ts_or_null(a.last_archived_time),
            count(a.failed_count),
            text_or_null(&a.last_failed_wal),
            ts_or_null(a.last_failed_time),
            ts_or_null(a.stats_reset),
        ]],
    }
}

/// `pg_stat_io`, PostgreSQL 16's shape: one row per backend type for
/// object `relation`, context `normal`. Operations a backend type never
/// performs are NULL, as in PostgreSQL (the checkpointer and the
/// background writer only write); times are 0 (`track_io_timing` is not
/// implemented); writebacks are not counted yet (0).
fn pg_stat_io(stats: &StatsSnapshot) -> VirtualRelation {
    let rows = IO_BACKEND_TYPES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let c = stats.io.get(&(i as u8)).copied().unwrap_or_default();
            let writer_only = matches!(*name, "checkpointer" | "background writer");
            let maybe = |v: u64| if writer_only { Datum::Null } else { count(v) };
            let maybe_time = || {
                if writer_only {
                    Datum::Null
                } else {
                    Datum::Float8(0.0)
                }
            };
            vec![
                Datum::Text(name.to_string()),
                Datum::Text("relation".into()),
                Datum::Text("normal".into()),
                maybe(c.reads),
                maybe_time(),
                count(c.writes),
                Datum::Float8(0.0),
                count(0),
                Datum::Float8(0.0),
                maybe(c.extends),
                maybe_time(),
                Datum::Int8(crate::storage::types::BLCKSZ as i64),
                maybe(c.hits),
                maybe(c.evictions),
                Datum::Null,
                count(c.fsyncs),
                Datum::Float8(0.0),
                ts_or_null(stats.io_reset),
            ]
        })
        .collect();
    VirtualRelation {
        columns: cols(&[
            ("backend_type", Type::Text),
            ("object", Type::Text),
            ("context", Type::Text),
            ("reads", Type::Int8),
            ("read_time", Type::Float8),
            ("writes", Type::Int8),
            ("write_time", Type::Float8),
            ("writebacks", Type::Int8),
            ("writeback_time", Type::Float8),
            ("extends", Type::Int8),
            ("extend_time", Type::Float8),
            ("op_bytes", Type::Int8),
            ("hits", Type::Int8),
            ("evictions", Type::Int8),
            ("reuses", Type::Int8),
            ("fsyncs", Type::Int8),
            ("fsync_time", Type::Float8),
            ("stats_reset", Type::Timestamptz),
        ]),
        rows,
    }
}

/// The rows of a `pg_stat_progress_*` view: pid, datid, datname, relid
/// of every process running `command`, then `rest` of its progress.
fn progress_rows(
    command: crate::utils::pgstat::progress::ProgressCommand,
    databases: &[(u32, String)],
    rest: impl Fn(&crate::utils::pgstat::progress::Progress) -> Vec<Datum>,
) -> Vec<Vec<Datum>> {
    crate::utils::pgstat::progress::running(command)
        .into_iter()
        .map(|(pid, prog)| {
            let datname = databases
                .iter()
                .find(|(o, _)| *o == prog.datid)
                .map(|(_, n)| Datum::Text(n.clone()))
                .unwrap_or(Datum::Null);
            let mut row = vec![
                Datum::Int4(pid),
                Datum::Oid(prog.datid),
                datname,
                Datum::Oid(prog.relid),
            ];
            row.extend(rest(&prog));
            row
        })
        .collect()
}

/// `pg_stat_progress_vacuum`, PostgreSQL 15's columns, from the VACUUM
/// progress slots in shared memory (`utils::pgstat::progress`).
/// `databases` names the database oids (from `pg_database`).
pub fn pg_stat_progress_vacuum(databases: &[(u32, String)]) -> VirtualRelation {
    use crate::utils::pgstat::progress as p;
    let rows = progress_rows(p::ProgressCommand::Vacuum, databases, |prog| {
        vec![
            Datum::Text(p::phase_name(prog.params[p::PARAM_PHASE]).to_string()),
            Datum::Int8(prog.params[p::PARAM_TOTAL_HEAP_BLKS]),
            Datum::Int8(prog.params[p::PARAM_HEAP_BLKS_SCANNED]),
            Datum::Int8(prog.params[p::PARAM_HEAP_BLKS_VACUUMED]),
            Datum::Int8(prog.params[p::PARAM_NUM_INDEX_VACUUMS]),
            Datum::Int8(prog.params[p::PARAM_MAX_DEAD_TUPLES]),
            Datum::Int8(prog.params[p::PARAM_NUM_DEAD_TUPLES]),
        ]
    });
    VirtualRelation {
        columns: cols(&[
            ("pid", Type::Int4),
            ("datid", Type::Oid),
            ("datname", Type::Name),
            ("relid", Type::Oid),
            ("phase", Type::Text),
            ("heap_blks_total", Type::Int8),
            ("heap_blks_scanned", Type::Int8),
            ("heap_blks_vacuumed", Type::Int8),
            ("index_vacuum_count", Type::Int8),
            ("max_dead_tuples", Type::Int8),
            ("num_dead_tuples", Type::Int8),
        ]),
        rows,
    }
}

/// `pg_stat_progress_copy`, PostgreSQL 15's columns, from the progress
/// slots of processes running COPY.
pub fn pg_stat_progress_copy(databases: &[(u32, String)]) -> VirtualRelation {
    use crate::utils::pgstat::progress as p;
    let rows = progress_rows(p::ProgressCommand::Copy, databases, |prog| {
        let command = match prog.params[p::COPY_COMMAND] {
            p::COPY_COMMAND_FROM => "COPY FROM",
            _ => "COPY TO",
        };
        let kind = match prog.params[p::COPY_TYPE] {
            p::COPY_TYPE_FILE => "FILE",
            p::COPY_TYPE_PROGRAM => "PROGRAM",
            p::COPY_TYPE_PIPE => "PIPE",
            _ => "CALLBACK",
        };
        vec![
            Datum::Text(command.into()),
            Datum::Text(kind.into()),
            Datum::Int8(prog.params[p::COPY_BYTES_PROCESSED]),
            Datum::Int8(prog.params[p::COPY_BYTES_TOTAL]),
            Datum::Int8(prog.params[p::COPY_TUPLES_PROCESSED]),
            Datum::Int8(prog.params[p::COPY_TUPLES_EXCLUDED]),
        ]
    });
    VirtualRelation {
        columns: cols(&[
            ("pid", Type::Int4),
            ("datid", Type::Oid),
            ("datname", Type::Name),
            ("relid", Type::Oid),
            ("command", Type::Text),
            ("type", Type::Text),
            ("bytes_processed", Type::Int8),
            ("bytes_total", Type::Int8),
            ("tuples_processed", Type::Int8),
            ("tuples_excluded", Type::Int8),
        ]),
        rows,
    }
}

/// `pg_roles`: the roles without their passwords. A superuser has every
/// attribute; the roles file records only superuser and login, so other
/// roles have none of CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS.
pub fn pg_roles(roles: &[crate::backend::auth::Role]) -> VirtualRelation {
    let b = Datum::Bool;
    VirtualRelation {
        columns: vec![
            ("rolname".into(), Type::Name),
            ("rolsuper".into(), Type::Bool),
            ("rolinherit".into(), Type::Bool),
            ("rolcreaterole".into(), Type::Bool),
            ("rolcreatedb".into(), Type::Bool),
            ("rolcanlogin".into(), Type::Bool),
            ("rolreplication".into(), Type::Bool),
            ("rolconnlimit".into(), Type::Int4),
            ("rolpassword".into(), Type::Text),
            ("rolvaliduntil".into(), Type::Timestamptz),
            ("rolbypassrls".into(), Type::Bool),
            ("rolconfig".into(), Type::TextArray),
            ("oid".into(), Type::Oid),
        ],
        rows: roles
            .iter()
            .map(|r| {
                vec![
                    Datum::Text(r.name.clone()),
                    b(r.superuser),
                    b(true),
                    b(r.superuser),
                    b(r.superuser),
                    b(r.can_login),
                    b(r.superuser),
                    Datum::Int4(-1),
                    Datum::Text("********".into()),
                    Datum::Null,
                    b(r.superuser),
                    Datum::Null,
                    Datum::Oid(r.oid),
                ]
            })
            .collect(),
    }
}
