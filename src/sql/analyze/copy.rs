//! Analysis of `COPY table [(columns)] FROM ... [WHERE ...]` (the parts of
//! PostgreSQL's `DoCopy` and `BeginCopyFrom` that resolve names): the
//! target table, which table column each input field fills, the DEFAULT
//! of every other column, the CHECK constraints and the WHERE condition.

use std::sync::Arc;

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::modify::table_columns;
use super::{Analyzer, ExprKind, Scope};
use crate::sql::ServerContext;
use crate::sql::expr::Expr;
use crate::sql::tables::TableDef;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// An analysed COPY FROM: what each input row becomes.
#[derive(Debug)]
pub struct CopyFromQuery {
    pub table: Arc<TableDef>,
    /// The table column each input field fills, in input order.
    pub attnums: Vec<usize>,
    /// Per table column: the DEFAULT of a column that is not input and
    /// has one (evaluated for every row), else None (input, or NULL).
    pub defaults: Vec<Option<Expr>>,
    /// CHECK constraints (name, expression over the new row).
    pub checks: Vec<(String, Expr)>,
    /// `WHERE`, over the new row (defaults filled in): rows for which it
    /// is not true are skipped.
    pub where_qual: Option<Expr>,
}

/// `CopyGetAttnums`: the table columns `names` denote (all, in order,
/// when empty); 42703 for an unknown name, 42701 for a repeated one.
pub fn copy_attnums(table: &TableDef, names: &[pb::Node]) -> PgResult<Vec<usize>> {
    if names.is_empty() {
        return Ok((0..table.columns.len()).collect());
    }
    let mut out: Vec<usize> = Vec::with_capacity(names.len());
    for n in names {
        let Some(NodeEnum::String(s)) = n.node.as_ref() else {
            continue;
        };
        let Some(i) = table.columns.iter().position(|c| c.name == s.sval) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column \"{}\" of relation \"{}\" does not exist",
                    s.sval, table.name
                ),
            ));
        };
        if out.contains(&i) {
            return Err(PgError::error(
                sqlstate::DUPLICATE_COLUMN,
                format!("column \"{}\" specified more than once", s.sval),
            ));
        }
        out.push(i);
    }
    Ok(out)
}

/// COPY's relation (`table_openrv`): a memory-backed system view is
/// refused with PostgreSQL's message for the direction; no position.
pub fn copy_relation(
    ctx: &mut dyn ServerContext,
    rv: &pb::RangeVar,
    is_from: bool,
) -> PgResult<Arc<TableDef>> {
    let schema = (!rv.schemaname.is_empty()).then_some(rv.schemaname.as_str());
    if schema.is_none_or(|s| s == "pg_catalog")
        && (rv.relname == "pg_settings" || ctx.system_relation(&rv.relname)?.is_some())
    {
        let e = PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!(
                "cannot copy {} view \"{}\"",
                if is_from { "to" } else { "from" },
                rv.relname
            ),
        );
        return Err(if is_from {
            e.with_hint("To enable copying to a view, provide an INSTEAD OF INSERT trigger.")
        } else {
            e.with_hint("Try the COPY (SELECT ...) TO variant.")
        });
    }
    let table = ctx.lookup_table(schema, &rv.relname)?.ok_or_else(|| {
        let shown = match schema {
            Some(s) => format!("{s}.{}", rv.relname),
            None => rv.relname.clone(),
        };
        PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{shown}\" does not exist"),
        )
    })?;
    if table.relkind == 'i' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("\"{}\" is an index", rv.relname),
        ));
    }
    Ok(table)
}

impl Analyzer<'_> {
    /// The table COPY FROM writes, with its columns, defaults, checks and
    /// WHERE. A memory-backed system view is refused here; sequences are
    /// refused by the caller once the copy has begun, where PostgreSQL's
    /// `CopyFrom` refuses them.
    pub fn analyze_copy_from(
        &mut self,
        rv: &pb::RangeVar,
        columns: &[pb::Node],
        where_clause: &Option<Box<pg_query::Node>>,
    ) -> PgResult<CopyFromQuery> {
        let table = copy_relation(&mut *self.ctx, rv, true)?;
        // DoCopy analyses WHERE before BeginCopyFrom looks at the columns.
        let where_qual = match where_clause.as_deref().and_then(|n| n.node.as_ref()) {
            Some(n) => {
                let mut scope = Scope::single(
                    &table.name,
                    &table.name,
                    false,
                    &table_columns(&table),
                    ExprKind::CopyWhere,
                );
                let e = self.transform_expr(&mut scope, n)?;
                Some(self.coerce_to_boolean(e, "WHERE", super::raw_location(n))?)
            }
            None => None,
        };
        let attnums = copy_attnums(&table, columns)?;
        let mut cache = Vec::new();
        let mut defaults = vec![None; table.columns.len()];
        for (i, c) in table.columns.iter().enumerate() {
            if !attnums.contains(&i) && c.default_expr.is_some() {
                defaults[i] = Some(self.column_default(&table, i, &mut cache)?);
            }
        }
        let checks = self.table_checks(&table)?;
        Ok(CopyFromQuery {
            table,
            attnums,
            defaults,
            checks,
            where_qual,
        })
    }
}
