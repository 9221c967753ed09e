//! Relations the SQL layer can scan, and where their rows come from.
//!
//! A [`Relation`] is what name lookup (`FROM x`) finds: its columns, for the
//! analyser, and a [`RelationSource`], which the executor's sequential scan
//! opens. Today every source is memory: system views the backend
//! materialises (`pg_stat_activity`, through
//! [`ServerContext::system_relation`]) and views this module builds itself
//! (`pg_settings`, from the session's [`Settings`]). On-disk heap tables will
//! be another `RelationSource` variant (relfilenode + snapshot) whose scan
//! reads pages through the buffer manager; nothing above the scan changes.
//!
//! Tables on disk (user tables and the catalogs `pg_class`, `pg_attribute`,
//! ...) come from [`TableContext::lookup_table`](super::tables::TableContext)
//! as [`RelationSource::Table`]; the executor's table scan reads them
//! through `open_scan`/`scan_next`.
//!
//! Name resolution follows `search_path` = `pg_catalog, public`: an
//! unqualified name (or one qualified with `pg_catalog`) is first looked for
//! among the memory-backed system views, then among tables; any other
//! schema qualification goes straight to the tables.

use std::sync::Arc;

use super::tables::TableDef;
use super::types::{Datum, Type};
use super::{ServerContext, VirtualRelation};
use crate::utils::elog::PgResult;
use crate::utils::guc::Settings;

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: Type,
    pub typmod: i32,
}

/// Where a scan gets its rows.
#[derive(Clone, Debug)]
pub enum RelationSource {
    /// Rows materialised when the relation was opened (one statement's snapshot).
    Memory(Vec<Vec<Datum>>),
    /// A heap table, scanned through the backend.
    Table(Arc<TableDef>),
}

#[derive(Clone, Debug)]
pub struct Relation {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub source: RelationSource,
}

/// Looks a relation up by (optional schema and) name. Ok(None): no such relation.
pub fn open_relation(
    ctx: &mut dyn ServerContext,
    schema: Option<&str>,
    name: &str,
) -> PgResult<Option<Relation>> {
    if schema.is_none_or(|s| s == "pg_catalog") {
        if name == "pg_settings" {
            return Ok(Some(pg_settings(ctx.settings())));
        }
        // Set-returning functions the backend serves like views are only
        // reachable as functions in FROM.
        if !SYSTEM_FUNCTIONS.contains(&name)
            && let Some(v) = ctx.system_relation(name)?
        {
            return Ok(Some(from_virtual(name, v)));
        }
    }
    Ok(ctx.lookup_table(schema, name)?.map(from_table))
}

/// Names `system_relation` answers that are functions, not views.
pub const SYSTEM_FUNCTIONS: [&str; 3] = ["pg_control_checkpoint", "pg_ls_waldir", "pg_backup_stop"];

/// The SQL type of a stored column (`pg_type` oid); types the SQL layer
/// does not know read as text.
pub fn column_type(type_oid: u32) -> Type {
    match Type::from_oid(type_oid) {
        Some(t) => t,
        None => Type::Text,
    }
}

pub fn from_table(t: Arc<TableDef>) -> Relation {
    Relation {
        name: t.name.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| ColumnDef {
                name: c.name.clone(),
                ty: column_type(c.type_oid),
                typmod: c.typmod,
            })
            .collect(),
        source: RelationSource::Table(t),
    }
}

/// A memory relation the backend serves (`pg_ls_waldir()` in FROM, ...).
pub fn system_function(ctx: &mut dyn ServerContext, name: &str) -> PgResult<Option<Relation>> {
    Ok(ctx.system_relation(name)?.map(|v| from_virtual(name, v)))
}

pub fn from_virtual(name: &str, v: VirtualRelation) -> Relation {
    Relation {
        name: name.to_string(),
        columns: v
            .columns
            .into_iter()
            .map(|(name, ty)| ColumnDef {
                name,
                ty,
                typmod: -1,
            })
            .collect(),
        source: RelationSource::Memory(v.rows),
    }
}

fn opt_text(v: &Option<String>) -> Datum {
    v.as_ref()
        .map(|s| Datum::Text(s.clone()))
        .unwrap_or(Datum::Null)
}

/// The `pg_settings` view, with PostgreSQL 15's columns.
pub fn pg_settings(settings: &Settings) -> Relation {
    use crate::sql::types::consts::*;
    let cols: [(&str, Type); 17] = [
        ("name", Text),
        ("setting", Text),
        ("unit", Text),
        ("category", Text),
        ("short_desc", Text),
        ("extra_desc", Text),
        ("context", Text),
        ("vartype", Text),
        ("source", Text),
        ("min_val", Text),
        ("max_val", Text),
        ("enumvals", TextArray),
        ("boot_val", Text),
        ("reset_val", Text),
        ("sourcefile", Text),
        ("sourceline", Int4),
        ("pending_restart", Bool),
    ];
    let rows = settings
        .pg_settings_rows()
        .into_iter()
        .map(|r| {
            vec![
                Datum::Text(r.name.clone()),
                Datum::Text(r.setting.clone()),
                opt_text(&r.unit),
                Datum::Text(r.category.clone()),
                Datum::Text(r.short_desc.clone()),
                opt_text(&r.extra_desc),
                Datum::Text(r.context.clone()),
                Datum::Text(r.vartype.clone()),
                Datum::Text(r.source.clone()),
                opt_text(&r.min_val),
                opt_text(&r.max_val),
                r.enumvals
                    .as_ref()
                    .map(|v| {
                        crate::sql::adt::array::ArrayValue::from_texts(v.iter().cloned().map(Some))
                            .into_datum()
                    })
                    .unwrap_or(Datum::Null),
                opt_text(&r.boot_val),
                opt_text(&r.reset_val),
                opt_text(&r.sourcefile),
                r.sourceline.map(Datum::Int4).unwrap_or(Datum::Null),
                Datum::Bool(r.pending_restart),
            ]
        })
        .collect();
    Relation {
        name: "pg_settings".into(),
        columns: cols
            .iter()
            .map(|(n, t)| ColumnDef {
                name: n.to_string(),
                ty: *t,
                typmod: -1,
            })
            .collect(),
        source: RelationSource::Memory(rows),
    }
}
