//! CHECK constraints: CREATE TABLE's, and ALTER TABLE's ADD / DROP /
//! VALIDATE CONSTRAINT (PostgreSQL's `AddRelationNewConstraints` in
//! `heap.c` and `ATExecAddConstraint` / `ATExecDropConstraint` /
//! `ATExecValidateConstraint` in `tablecmds.c`).
//!
//! A constraint's expression is analysed over the table's columns
//! (`cookConstraint`: boolean, no subqueries, aggregates, window or
//! set-returning functions) and stored as SQL text deparsed from the parse
//! tree; INSERT and UPDATE analyse it again from that text and check every
//! new row (`dml.rs`). An unnamed constraint is named as
//! `ChooseConstraintName` names it: `table_column_check` when the
//! expression reads one column, else `table_check`, with a number appended
//! until the name is free in the schema.
//!
//! ADD CONSTRAINT checks the existing rows (23514) unless NOT VALID;
//! VALIDATE CONSTRAINT checks them later and marks the constraint valid.
//! Both run under the table's AccessExclusiveLock, taken before the rows
//! are read, so no row escapes the check.

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::analyze::Analyzer;
use super::exec::{self, EvalContext, eval};
use super::expr::Expr;
use super::tables::{ConstraintChange, TableDef};
use super::types::Datum;
use super::{ServerContext, ddl};
use crate::catalog::pg_constraint::NewCheck;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// A CHECK constraint as the statement wrote it.
pub(super) struct RawCheck<'n> {
    /// Empty when the statement named none.
    pub name: &'n str,
    pub expr: &'n NodeEnum,
    /// `NOT VALID`: existing rows are not checked (ALTER TABLE only).
    pub not_valid: bool,
    pub no_inherit: bool,
}

impl<'n> RawCheck<'n> {
    /// The CHECK of a parsed `Constraint` node.
    pub fn of(con: &'n pb::Constraint) -> RawCheck<'n> {
        RawCheck {
            name: &con.conname,
            expr: con
                .raw_expr
                .as_ref()
                .and_then(|n| n.node.as_ref())
                .expect("CHECK has an expression"),
            not_valid: con.skip_validation,
            no_inherit: con.is_no_inherit,
        }
    }
}

/// Adds `raws` to `table` (locked for ALTER by the caller). With
/// `existing_rows`, the rows already in the table are checked against
/// each constraint not marked NOT VALID (ALTER TABLE); CREATE TABLE's
/// table is empty and its constraints are valid.
pub(super) fn add_checks(
    ctx: &mut dyn ServerContext,
    source: &str,
    table: &TableDef,
    raws: &[RawCheck<'_>],
    existing_rows: bool,
) -> PgResult<()> {
    let mut analysed = Vec::with_capacity(raws.len());
    {
        let mut analyzer = Analyzer::new(&mut *ctx, source);
        for raw in raws {
            // ALTER TABLE's errors carry no position in PostgreSQL (its
            // expressions are cooked without the statement's text).
            let e = analyzer
                .analyze_check_node(raw.expr, table)
                .map_err(|mut e| {
                    if existing_rows {
                        e.position = None;
                    }
                    e
                })?;
            analysed.push(e);
        }
    }
    let on_table = ctx.constraint_names(table.namespace_oid, Some(table.oid))?;
    let mut in_schema: Option<Vec<String>> = None;
    let mut news: Vec<NewCheck> = Vec::with_capacity(raws.len());
    for (raw, e) in raws.iter().zip(&analysed) {
        let columns = referenced_columns(e);
        let name = if raw.name.is_empty() {
            let taken = match &mut in_schema {
                Some(t) => t,
                None => in_schema.insert(ctx.constraint_names(table.namespace_oid, None)?),
            };
            let column = match columns.as_slice() {
                [one] => Some(table.columns[*one as usize - 1].name.as_str()),
                _ => None,
            };
            choose_constraint_name(&table.name, column, "check", |n| {
                Ok(taken.iter().any(|t| t == n) || news.iter().any(|c| c.name == n))
            })?
        } else {
            if news.iter().any(|c| c.name == raw.name) {
                return Err(PgError::error(
                    sqlstate::DUPLICATE_OBJECT,
                    format!("check constraint \"{}\" already exists", raw.name),
                ));
            }
            if on_table.iter().any(|t| t == raw.name) {
                return Err(PgError::error(
                    sqlstate::DUPLICATE_OBJECT,
                    format!(
                        "constraint \"{}\" for relation \"{}\" already exists",
                        raw.name, table.name
                    ),
                ));
            }
            raw.name.to_string()
        };
        news.push(NewCheck {
            name,
            expr: ddl::deparse_expr(raw.expr)?,
            columns,
            validated: !(existing_rows && raw.not_valid),
            no_inherit: raw.no_inherit,
        });
    }
    if existing_rows {
        for (new, e) in news.iter().zip(&analysed) {
            if new.validated {
                check_existing_rows(ctx, table, &new.name, e)?;
            }
        }
    }
    ctx.alter_constraints(table, ConstraintChange::Add(news))?;
    Ok(())
}

/// `ALTER TABLE ... DROP CONSTRAINT [IF EXISTS] name`.
pub(super) fn drop_check(
    ctx: &mut dyn ServerContext,
    table: &TableDef,
    name: &str,
    missing_ok: bool,
) -> PgResult<()> {
    if ctx.alter_constraints(table, ConstraintChange::Drop(name.to_string()))? > 0 {
        return Ok(());
    }
    let text = format!(
        "constraint \"{name}\" of relation \"{}\" does not exist",
        table.name
    );
    if missing_ok {
        ctx.notice(PgError::notice(format!("{text}, skipping")));
        return Ok(());
    }
    Err(PgError::error(sqlstate::UNDEFINED_OBJECT, text))
}

/// `ALTER TABLE ... VALIDATE CONSTRAINT name`: checks the rows against a
/// NOT VALID constraint and marks it valid.
pub(super) fn validate_check(
    ctx: &mut dyn ServerContext,
    table: &TableDef,
    name: &str,
) -> PgResult<()> {
    let Some(c) = table.checks.iter().find(|c| c.name == name) else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!(
                "constraint \"{name}\" of relation \"{}\" does not exist",
                table.name
            ),
        ));
    };
    if c.validated {
        return Ok(());
    }
    let e = Analyzer::new(&mut *ctx, "").analyze_check_text(&c.expr, table)?;
    check_existing_rows(ctx, table, name, &e)?;
    ctx.alter_constraints(table, ConstraintChange::Validate(name.to_string()))?;
    Ok(())
}

/// `validateCheckConstraint`: every visible row passes `e` (NULL passes).
fn check_existing_rows(
    ctx: &mut dyn ServerContext,
    table: &TableDef,
    name: &str,
    e: &Expr,
) -> PgResult<()> {
    let mut cx = EvalContext::new(ctx);
    let scan = exec::scan::open(&mut cx, &std::sync::Arc::new(table.clone()))?;
    while let Some((_, row)) = exec::scan::next(&mut cx, scan)? {
        // The scan is closed when `cx` goes (EvalContext's Drop).
        if eval(e, &row, &mut cx)? == Datum::Bool(false) {
            return Err(PgError::error(
                sqlstate::CHECK_VIOLATION,
                format!(
                    "check constraint \"{name}\" of relation \"{}\" is violated by some row",
                    table.name
                ),
            ));
        }
    }
    Ok(())
}

/// The attnums `e` reads, without duplicates, in order of first use.
fn referenced_columns(e: &Expr) -> Vec<i16> {
    fn walk(e: &Expr, out: &mut Vec<i16>) {
        if let Expr::Column { index, .. } = e {
            let attnum = *index as i16 + 1;
            if !out.contains(&attnum) {
                out.push(attnum);
            }
        }
        e.for_each_child(&mut |c| walk(c, out));
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// `ChooseConstraintName`: `name1[_name2]_label`, then `label1`,
/// `label2`, ... until `taken` says the name is free.
pub(super) fn choose_constraint_name(
    name1: &str,
    name2: Option<&str>,
    label: &str,
    mut taken: impl FnMut(&str) -> PgResult<bool>,
) -> PgResult<String> {
    let mut pass = 0u32;
    loop {
        let l = if pass == 0 {
            label.to_string()
        } else {
            format!("{label}{pass}")
        };
        let name = super::sequence::make_object_name(name1, name2, &l);
        if !taken(&name)? {
            return Ok(name);
        }
        pass += 1;
    }
}
