//! System views read from shared memory and the data directory (the
//! `pg_stat_*` views, `pg_locks`, and the functions `pg_control_checkpoint()`
//! and `pg_ls_waldir()` used in FROM). pg_stat_activity lives with the
//! session, which knows who is asking.
//!

use std::sync::atomic::Ordering;

use crate::sql::VirtualRelation;
use crate::sql::types::{Datum, Type};
use crate::storage::control::ControlFile;
use crate::utils::elog::{PgError, PgResult, sqlstate};

fn cols(list: &[(&str, Type)]) -> Vec<(String, Type)> {
    list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

fn count(v: u64) -> Datum {
    Datum::Int8(v as i64)
}

/// `pg_stat_bgwriter`, PostgreSQL 15's columns.
pub fn pg_stat_bgwriter() -> VirtualRelation {
    let ckpt = crate::bgproc::checkpointer::shmem();
    let buf = crate::storage::buffer::pool().stats();
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
