//! Catalog work for VACUUM, ANALYZE and `ALTER TABLE ... SET (...)`
//! (PostgreSQL's `vac_update_relstats`, `vac_update_datfrozenxid`,
//! `heap_inplace_update` callers, `reloptions.c`, and the relfilenode swap
//! of `cluster.c`).
//!
//! Rules:
//! 1. `relpages`, `reltuples`, `relfrozenxid` and `datfrozenxid` are
//!    updated **in place** (no new row version, WAL `INPLACE`), so they
//!    survive an abort of the transaction VACUUM ran in and never bloat the
//!    catalogs, as in PostgreSQL. The row updated is the one the caller's
//!    snapshot sees.
//! 2. `relfrozenxid` and `datfrozenxid` only move forward. They are int8:
//!    xids are 64-bit, so there is no wraparound to protect against;
//!    `age()` still reports how far behind they are.
//! 3. `reloptions` and `relfilenode` change transactionally (a new
//!    `pg_class` row version; the caller notes the catalog change so every
//!    backend drops its relation cache at commit).

use crate::storage::heap::access::{self, HeapStorage, TmOutcome, WriteContext};
use crate::storage::heap::{HeapValue, form_tuple};
use crate::storage::page::ItemPointer;
use crate::storage::types::{Oid, Xid};
use crate::storage::xact::{Snapshot, XactStatus};
use crate::utils::elog::{PgError, PgResult, sqlstate};

use super::defs::{PG_CLASS, PG_DATABASE, TableDef, catalog_def, pg_class_col as col};
use super::relcache::as_str;

fn catalog(cat: Oid, db_oid: Oid) -> crate::storage::heap::access::HeapRelation {
    TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation()
}

fn as_oid(v: &HeapValue) -> Oid {
    match v {
        HeapValue::Oid(o) => *o,
        _ => 0,
    }
}

fn as_i64(v: &HeapValue) -> i64 {
    match v {
        HeapValue::I64(i) => *i,
        HeapValue::I32(i) => *i as i64,
        _ => 0,
    }
}

/// The `pg_class` row of relation `rel_oid` in database `db_oid` that
/// `snapshot` sees, with its tuple id.
pub fn pg_class_row(
    db_oid: Oid,
    rel_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<(ItemPointer, Vec<HeapValue>)>> {
    let mut found = None;
    access::heap_scan(
        &catalog(PG_CLASS, db_oid),
        snapshot,
        xact,
        &mut |tid, row| {
            if as_oid(&row[col::OID]) == rel_oid {
                found = Some((tid, row));
                return Ok(false);
            }
            Ok(true)
        },
    )?;
    Ok(found)
}

/// `pg_class.relfrozenxid` of the table.
pub fn relfrozenxid(
    db_oid: Oid,
    table: &TableDef,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<Xid>> {
    Ok(pg_class_row(db_oid, table.oid, snapshot, xact)?
        .map(|(_, row)| Xid(as_i64(&row[col::RELFROZENXID]).max(0) as u64)))
}

/// `vac_update_relstats` (rule 1): relpages, reltuples and, if given,
/// relfrozenxid (only forward, rule 2).
pub fn update_relstats(
    db_oid: Oid,
    table: &TableDef,
    relpages: u32,
    reltuples: f64,
    relfrozenxid: Option<Xid>,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<()> {
    let Some((tid, mut row)) = pg_class_row(db_oid, table.oid, snapshot, xact)? else {
        return Ok(()); // dropped meanwhile
    };
    row[col::RELPAGES] = HeapValue::I32(relpages.min(i32::MAX as u32) as i32);
    row[col::RELTUPLES] = HeapValue::F32(reltuples as f32);
    if let Some(x) = relfrozenxid {
        let old = as_i64(&row[col::RELFROZENXID]);
        row[col::RELFROZENXID] = HeapValue::I64(old.max(x.0 as i64));
    }
    let rel = catalog(PG_CLASS, db_oid);
    let tuple = form_tuple(&rel.desc, &row)?;
    HeapStorage::this_process().inplace_update(&rel, tid, &tuple)
}

/// `vac_update_datfrozenxid`: the oldest `relfrozenxid` of the database's
/// tables becomes `pg_database.datfrozenxid` (only forward, rule 2).
pub fn update_datfrozenxid(
    db_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<()> {
    let mut oldest: Option<i64> = None;
    access::heap_scan(&catalog(PG_CLASS, db_oid), snapshot, xact, &mut |_, row| {
        if as_str(&row[col::RELKIND]) == "r" {
            let x = as_i64(&row[col::RELFROZENXID]);
            if x > 0 {
                oldest = Some(oldest.map_or(x, |o| o.min(x)));
            }
        }
        Ok(true)
    })?;
    let Some(oldest) = oldest else {
        return Ok(());
    };
    let rel = catalog(PG_DATABASE, 0);
    let mut target = None;
    access::heap_scan(&rel, snapshot, xact, &mut |tid, row| {
        if as_oid(&row[0]) == db_oid {
            target = Some((tid, row));
            return Ok(false);
        }
        Ok(true)
    })?;
    let Some((tid, mut row)) = target else {
        return Ok(());
    };
    use super::defs::pg_database_col::DATFROZENXID;
    if as_i64(&row[DATFROZENXID]) >= oldest {
        return Ok(());
    }
    row[DATFROZENXID] = HeapValue::I64(oldest);
    let tuple = form_tuple(&rel.desc, &row)?;
    HeapStorage::this_process().inplace_update(&rel, tid, &tuple)
}

/// Every ordinary table of the database as (schema, name), catalogs
/// included, in `pg_class` order: what `VACUUM` / `ANALYZE` without a
/// table list processes.
pub fn all_tables(
    db_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<(String, String)>> {
    let mut namespaces = Vec::new();
    access::heap_scan(
        &catalog(super::defs::PG_NAMESPACE, db_oid),
        snapshot,
        xact,
        &mut |_, row| {
            namespaces.push((as_oid(&row[0]), as_str(&row[1])));
            Ok(true)
        },
    )?;
    let mut out = Vec::new();
    access::heap_scan(&catalog(PG_CLASS, db_oid), snapshot, xact, &mut |_, row| {
        if as_str(&row[col::RELKIND]) == "r" {
            let ns = as_oid(&row[col::RELNAMESPACE]);
            if let Some((_, n)) = namespaces.iter().find(|(o, _)| *o == ns) {
                out.push((n.clone(), as_str(&row[col::RELNAME])));
            }
        }
        Ok(true)
    })?;
    Ok(out)
}

/// (schema, name) of the relation with oid `rel_oid`, if `snapshot` sees it.
pub fn relation_name_by_oid(
    db_oid: Oid,
    rel_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<(String, String)>> {
    let Some((_, row)) = pg_class_row(db_oid, rel_oid, snapshot, xact)? else {
        return Ok(None);
    };
    let ns = as_oid(&row[col::RELNAMESPACE]);
    let mut schema = None;
    access::heap_scan(
        &catalog(super::defs::PG_NAMESPACE, db_oid),
        snapshot,
        xact,
        &mut |_, r| {
            if as_oid(&r[0]) == ns {
                schema = Some(as_str(&r[1]));
                return Ok(false);
            }
            Ok(true)
        },
    )?;
    Ok(schema.map(|s| (s, as_str(&row[col::RELNAME]))))
}

/// Every database as (oid, name), from the shared `pg_database`.
pub fn database_names(snapshot: &Snapshot, xact: &dyn XactStatus) -> PgResult<Vec<(Oid, String)>> {
    let mut out = Vec::new();
    access::heap_scan(&catalog(PG_DATABASE, 0), snapshot, xact, &mut |_, row| {
        out.push((as_oid(&row[0]), as_str(&row[1])));
        Ok(true)
    })?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// reloptions
// ---------------------------------------------------------------------------

/// The storage parameters ferrogres accepts (PostgreSQL's heap
/// `reloptions` relevant to VACUUM), with their kind.
const RELOPTIONS: &[(&str, RelOptKind)] = &[
    ("autovacuum_enabled", RelOptKind::Bool),
    (
        "autovacuum_vacuum_threshold",
        RelOptKind::Int(0, i32::MAX as i64),
    ),
    (
        "autovacuum_vacuum_insert_threshold",
        RelOptKind::Int(-1, i32::MAX as i64),
    ),
    (
        "autovacuum_analyze_threshold",
        RelOptKind::Int(0, i32::MAX as i64),
    ),
    (
        "autovacuum_vacuum_scale_factor",
        RelOptKind::Real(0.0, 100.0),
    ),
    (
        "autovacuum_vacuum_insert_scale_factor",
        RelOptKind::Real(0.0, 100.0),
    ),
    (
        "autovacuum_analyze_scale_factor",
        RelOptKind::Real(0.0, 100.0),
    ),
    (
        "autovacuum_vacuum_cost_delay",
        RelOptKind::Real(-1.0, 100.0),
    ),
    ("autovacuum_vacuum_cost_limit", RelOptKind::Int(-1, 10000)),
    (
        "autovacuum_freeze_min_age",
        RelOptKind::Int(0, 1_000_000_000),
    ),
    (
        "autovacuum_freeze_max_age",
        RelOptKind::Int(100_000, 2_000_000_000),
    ),
    (
        "autovacuum_freeze_table_age",
        RelOptKind::Int(0, 2_000_000_000),
    ),
    ("fillfactor", RelOptKind::Int(10, 100)),
    ("vacuum_truncate", RelOptKind::Bool),
    ("toast_tuple_target", RelOptKind::Int(128, 8160)),
    ("parallel_workers", RelOptKind::Int(0, 1024)),
];

#[derive(Clone, Copy)]
enum RelOptKind {
    Bool,
    Int(i64, i64),
    Real(f64, f64),
}

/// Parses `{a=1,b=off}` (what `pg_class.reloptions` holds) into pairs.
pub fn parse_reloptions(v: &HeapValue) -> Vec<(String, String)> {
    let HeapValue::Bytes(b) = v else {
        return Vec::new();
    };
    let Ok(a) = crate::sql::adt::array::deserialize(b) else {
        return Vec::new();
    };
    a.items
        .iter()
        .filter_map(|d| match d {
            crate::sql::types::Datum::Text(item) => {
                let (k, v) = item.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// `reloptions` as stored: a `text[]` of `name=value`, NULL when none.
fn format_reloptions(opts: &[(String, String)]) -> HeapValue {
    if opts.is_empty() {
        return HeapValue::Null;
    }
    let items = opts
        .iter()
        .map(|(k, v)| crate::sql::types::Datum::Text(format!("{k}={v}")))
        .collect();
    let a = crate::sql::adt::array::ArrayValue::from_items(crate::sql::types::Type::Text, items)
        .expect("a one-dimensional text array");
    HeapValue::Bytes(crate::sql::adt::array::serialize(&a))
}

/// Checks one `name = value` the way `parseRelOptions` does and returns
/// the value as it is stored (PostgreSQL keeps the text as given).
pub fn validate_reloption(name: &str, value: Option<&str>) -> PgResult<String> {
    let Some((_, kind)) = RELOPTIONS.iter().find(|(n, _)| *n == name) else {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("unrecognized parameter \"{name}\""),
        ));
    };
    let invalid = |what: &str, v: &str| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid value for {what} option \"{name}\": {v}"),
        )
    };
    match (kind, value) {
        (RelOptKind::Bool, None) => Ok("true".to_string()),
        (RelOptKind::Bool, Some(v)) => {
            let l = v.to_ascii_lowercase();
            let ok = [
                "on", "off", "true", "false", "yes", "no", "1", "0", "t", "f", "y", "n",
            ]
            .contains(&l.as_str());
            if ok {
                Ok(v.to_string())
            } else {
                Err(invalid("boolean", v))
            }
        }
        (RelOptKind::Int(min, max), Some(v)) => {
            let n: i64 = v.trim().parse().map_err(|_| invalid("integer", v))?;
            if n < *min || n > *max {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("value {v} out of bounds for option \"{name}\""),
                )
                .with_detail(format!("Valid values are between \"{min}\" and \"{max}\".")));
            }
            Ok(v.trim().to_string())
        }
        (RelOptKind::Real(min, max), Some(v)) => {
            let n: f64 = v.trim().parse().map_err(|_| invalid("floating point", v))?;
            if n < *min || n > *max {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("value {v} out of bounds for option \"{name}\""),
                )
                .with_detail(format!(
                    "Valid values are between \"{min:.6}\" and \"{max:.6}\"."
                )));
            }
            Ok(v.trim().to_string())
        }
        (_, None) => Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid value for option \"{name}\": (null)"),
        )),
    }
}

/// The table's `reloptions` as (name, value) pairs, in the order stored
/// (empty when none). What autovacuum reads for per-table settings.
pub fn reloptions(
    db_oid: Oid,
    rel_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<(String, String)>> {
    Ok(match pg_class_row(db_oid, rel_oid, snapshot, xact)? {
        Some((_, row)) => match &row[col::RELOPTIONS] {
            v => parse_reloptions(v),
        },
        None => Vec::new(),
    })
}

/// One parsed reloption value as a bool (`on`, `true`, `1`, ...).
pub fn reloption_bool(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "on" | "true" | "yes" | "1" | "t" | "y"
    )
}

/// What ALTER TABLE asks of `reloptions`.
pub enum RelOptionsChange<'a> {
    /// `SET (name = value, ...)`: values already validated.
    Set(&'a [(String, String)]),
    /// `RESET (name, ...)`.
    Reset(&'a [String]),
}

/// Rewrites the `pg_class` row of `table` with changed `reloptions`
/// (transactionally, rule 3). The caller holds ShareUpdateExclusiveLock.
pub fn change_reloptions(
    db_oid: Oid,
    table: &TableDef,
    change: RelOptionsChange<'_>,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    update_class_row(db_oid, table, snapshot, cx, |row| {
        let mut opts = parse_reloptions(&row[col::RELOPTIONS]);
        match change {
            RelOptionsChange::Set(pairs) => {
                for (k, v) in pairs {
                    match opts.iter_mut().find(|(n, _)| n == k) {
                        Some(e) => e.1 = v.clone(),
                        None => opts.push((k.clone(), v.clone())),
                    }
                }
            }
            RelOptionsChange::Reset(names) => opts.retain(|(n, _)| !names.contains(n)),
        }
        row[col::RELOPTIONS] = format_reloptions(&opts);
    })
}

/// VACUUM FULL's swap: the table's `relfilenode` becomes `relfilenode`,
/// with relpages/reltuples/relfrozenxid of the new file (rule 3).
#[allow(clippy::too_many_arguments)]
pub fn set_relfilenode(
    db_oid: Oid,
    table: &TableDef,
    relfilenode: Oid,
    relpages: u32,
    reltuples: f64,
    relfrozenxid: Xid,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    update_class_row(db_oid, table, snapshot, cx, |row| {
        row[col::RELFILENODE] = HeapValue::Oid(relfilenode);
        row[col::RELPAGES] = HeapValue::I32(relpages.min(i32::MAX as u32) as i32);
        row[col::RELTUPLES] = HeapValue::F32(reltuples as f32);
        let old = as_i64(&row[col::RELFROZENXID]);
        row[col::RELFROZENXID] = HeapValue::I64(old.max(relfrozenxid.0 as i64));
    })
}

/// Rewrites `table`'s `pg_class` row with `change` applied.
pub(crate) fn update_class_row(
    db_oid: Oid,
    table: &TableDef,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
    change: impl FnOnce(&mut Vec<HeapValue>),
) -> PgResult<()> {
    let Some((tid, mut row)) = pg_class_row(db_oid, table.oid, snapshot, cx.xact)? else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", table.name),
        ));
    };
    change(&mut row);
    match access::heap_update(&catalog(PG_CLASS, db_oid), tid, &row, cx)?.0 {
        TmOutcome::Ok => Ok(()),
        _ => Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            "tuple concurrently updated",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloptions_round_trip_and_are_validated_like_postgresql() {
        let opts = vec![
            ("autovacuum_enabled".to_string(), "off".to_string()),
            ("autovacuum_vacuum_threshold".to_string(), "100".to_string()),
        ];
        let stored = format_reloptions(&opts);
        assert_eq!(parse_reloptions(&stored), opts);
        assert_eq!(format_reloptions(&[]), HeapValue::Null);
        assert_eq!(
            validate_reloption("autovacuum_enabled", None).unwrap(),
            "true"
        );
        assert!(!reloption_bool("off") && reloption_bool("on"));
        let e = validate_reloption("nope", Some("1")).unwrap_err();
        assert_eq!(e.message, "unrecognized parameter \"nope\"");
        let e = validate_reloption("autovacuum_vacuum_threshold", Some("x")).unwrap_err();
        assert_eq!(
            e.message,
            "invalid value for integer option \"autovacuum_vacuum_threshold\": x"
        );
        let e = validate_reloption("fillfactor", Some("5")).unwrap_err();
        assert_eq!(e.message, "value 5 out of bounds for option \"fillfactor\"");
    }
}
