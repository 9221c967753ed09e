//! INSERT, UPDATE and DELETE (PostgreSQL's `nodeModifyTable.c`).
//!
//! Analysis (`analyze::modify`) leaves, for every row to write, one
//! expression per table column already of the column's type. Here each row
//! is evaluated, then finished as `ExecConstraints` would: the column's
//! typmod is applied by assignment rules (varchar(n) → 22001, numeric(p,s)
//! rounding or 22003), NOT NULL is checked (23502, with the failing row
//! in DETAIL), then the table's CHECK constraints (23514; NULL passes).
//! The backend gets rows ready to store (`tables.rs` contract).
//!
//! UPDATE and DELETE scan the table with the statement's snapshot and write
//! each row whose WHERE holds. When the backend reports that a concurrent
//! transaction moved the row ([`RowChange::Moved`]), the WHERE clause is
//! re-evaluated on the newest version and, if it still holds, the new
//! values are recomputed from that version and the write is retried on it
//! (EvalPlanQual); [`RowChange::Gone`] skips the row. Each retry follows a
//! committed update, so the loop ends.
//!
//! Data-modifying WITH queries (`run_modifying_ctes`) run through the same
//! executors before the statement they belong to, each once and to
//! completion. They share the statement's snapshot and command id: a row
//! written under the current command id is invisible to scans under it,
//! so no sub-statement sees another's changes (PostgreSQL's rule), and
//! their RETURNING rows reach the statement through the CTE's store.

use pg_query::protobuf as pb;

use super::adt::{self, SessionFormat};
use super::analyze::{
    self, DeleteQuery, InsertQuery, InsertRows, ModifyCte, ModifyQuery, TargetEntry, UpdateQuery,
};
use super::exec::{self, EvalContext, Row, eval, eval_qual};
use super::expr::Expr;
use super::tables::{RowChange, TableDef};
use super::types::{Datum, Type};
use super::{Field, Outcome, ServerContext, Statement, catalog::column_type, plan};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Runs the analyser on a DML statement, returning its result and the
/// subqueries it found (run as InitPlans).
pub(super) fn analyze_with<T>(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    f: impl FnOnce(&mut analyze::Analyzer) -> PgResult<T>,
) -> PgResult<(T, Vec<plan::Plan>, Vec<ModifyCte>)> {
    ctx.take_snapshot();
    let mut analyzer = analyze::Analyzer::new(ctx, stmt.parsed_text());
    let q = f(&mut analyzer)?;
    let subplans = analyzer
        .subqueries
        .into_iter()
        .map(|q| plan::plan_query(q).plan)
        .collect();
    Ok((q, subplans, analyzer.modify_ctes))
}

/// Runs the statement's data-modifying WITH queries, each once and to
/// completion, in WITH order, before the statement itself: all with the
/// statement's snapshot and command id, so none sees another's changes
/// (nor does the statement), only their RETURNING rows through the CTEs.
pub(super) fn run_modifying_ctes(ctes: Vec<ModifyCte>, cx: &mut EvalContext) -> PgResult<()> {
    for m in ctes {
        check_write_privilege(&*cx.server, m.query.table())?;
        let (_, rows) = match m.query {
            ModifyQuery::Insert(q) => exec_insert(q, cx)?,
            ModifyQuery::Update(q) => exec_update(q, cx)?,
            ModifyQuery::Delete(q) => exec_delete(q, cx)?,
        };
        cx.fill_cte(m.subquery, rows)?;
    }
    Ok(())
}

/// `ExecConstraints` for one row: typmods by assignment, then NOT NULL,
/// then the CHECK constraints in name order.
pub(super) fn finish_row(
    table: &TableDef,
    checks: &[(String, Expr)],
    mut row: Row,
    cx: &mut EvalContext,
) -> PgResult<Row> {
    for (d, c) in row.iter_mut().zip(&table.columns) {
        if c.typmod >= 0 && !d.is_null() {
            let v = std::mem::replace(d, Datum::Null);
            *d = adt::apply_typmod(v, column_type(c.type_oid), c.typmod, false)?;
        }
    }
    for (d, c) in row.iter().zip(&table.columns) {
        if c.not_null && d.is_null() {
            return Err(PgError::error(
                sqlstate::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    c.name, table.name
                ),
            )
            .with_detail(failing_row(table, &row, &cx.fmt)));
        }
    }
    // ExecRelCheck: a constraint fails only on false; NULL passes.
    for (name, e) in checks {
        if eval(e, &row, cx)? == Datum::Bool(false) {
            return Err(PgError::error(
                sqlstate::CHECK_VIOLATION,
                format!(
                    "new row for relation \"{}\" violates check constraint \"{name}\"",
                    table.name
                ),
            )
            .with_detail(failing_row(table, &row, &cx.fmt)));
        }
    }
    Ok(row)
}

/// `ExecBuildSlotValueDescription`'s DETAIL: the row as text.
fn failing_row(table: &TableDef, row: &[Datum], fmt: &SessionFormat) -> String {
    let shown: Vec<String> = row
        .iter()
        .zip(&table.columns)
        .map(|(d, c)| adt::output(d, column_type(c.type_oid), fmt).unwrap_or_else(|| "null".into()))
        .collect();
    format!("Failing row contains ({}).", shown.join(", "))
}

/// RETURNING's output rows, collected as rows are written.
struct Returning<'q> {
    targets: &'q [TargetEntry],
    rows: Vec<Row>,
}

/// A statement's result: its command tag, or RETURNING's rows with it.
fn outcome(targets: &[TargetEntry], rows: Vec<Row>, tag: String, fmt: &SessionFormat) -> Outcome {
    Returning { targets, rows }.outcome(tag, fmt)
}

impl Returning<'_> {
    fn wanted(&self) -> bool {
        !self.targets.is_empty()
    }

    fn push(&mut self, row: &[Datum], cx: &mut EvalContext) -> PgResult<()> {
        let mut out = Vec::with_capacity(self.targets.len());
        for t in self.targets {
            out.push(eval(&t.expr, row, cx)?);
        }
        self.rows.push(out);
        Ok(())
    }

    fn outcome(self, tag: String, fmt: &SessionFormat) -> Outcome {
        if self.targets.is_empty() {
            return Outcome::Command { tag };
        }
        let fields = self
            .targets
            .iter()
            .map(|t| Field {
                name: t.name.clone(),
                type_oid: t.expr.ty().oid(),
                typlen: t.expr.ty().typlen(),
                typmod: t.expr.typmod(),
            })
            .collect();
        let types: Vec<Type> = self.targets.iter().map(|t| t.expr.ty()).collect();
        let rows = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&types)
                    .map(|(d, t)| adt::output(d, *t, fmt))
                    .collect()
            })
            .collect();
        Outcome::Rows { fields, rows, tag }
    }
}

fn eval_row(exprs: &[Expr], input: &[Datum], cx: &mut EvalContext) -> PgResult<Row> {
    let mut row = Vec::with_capacity(exprs.len());
    for e in exprs {
        row.push(eval(e, input, cx)?);
    }
    Ok(row)
}

/// The privilege rule ferrogres enforces until it has GRANT (the catalog
/// issue's): the system catalogs belong to the bootstrap superuser and
/// PUBLIC may only read them, so INSERT, UPDATE and DELETE on them need a
/// superuser (PostgreSQL's `aclcheck_error` for ACL_INSERT & co.).
pub(super) fn check_write_privilege(ctx: &dyn ServerContext, table: &TableDef) -> PgResult<()> {
    if table.namespace_oid == crate::catalog::defs::PG_CATALOG_NAMESPACE && !ctx.is_superuser() {
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {}", table.name),
        ));
    }
    Ok(())
}

pub fn insert(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    ins: &pb::InsertStmt,
) -> PgResult<Outcome> {
    let (q, subplans, ctes) = analyze_with(ctx, stmt, |a| a.analyze_insert(ins))?;
    check_write_privilege(ctx, &q.table)?;
    let mut cx = EvalContext::new(ctx);
    cx.set_subplans(subplans);
    run_modifying_ctes(ctes, &mut cx)?;
    let targets = q.returning.clone();
    let (count, rows) = exec_insert(q, &mut cx)?;
    let fmt = cx.fmt.clone();
    Ok(outcome(&targets, rows, format!("INSERT 0 {count}"), &fmt))
}

/// Inserts the rows; the count and RETURNING's rows.
fn exec_insert(q: InsertQuery, cx: &mut EvalContext) -> PgResult<(u64, Vec<Row>)> {
    let InsertQuery {
        table,
        mut rows,
        checks,
        returning: targets,
    } = q;
    if let InsertRows::Values(rows) = &mut rows {
        plan::clauses::fold_exprs(rows.iter_mut().flatten(), cx)?;
    }
    let mut returning = Returning {
        targets: &targets,
        rows: Vec::new(),
    };
    let mut count: u64 = 0;
    let mut write = |row: Row, cx: &mut EvalContext, returning: &mut Returning| -> PgResult<()> {
        let row = finish_row(&table, &checks, row, cx)?;
        if returning.wanted() {
            cx.server.insert_row(&table, row.clone())?;
            returning.push(&row, cx)?;
        } else {
            cx.server.insert_row(&table, row)?;
        }
        count += 1;
        Ok(())
    };
    match rows {
        InsertRows::Values(rows) => {
            for exprs in &rows {
                cx.server.check_for_interrupts()?;
                let row = eval_row(exprs, &[], cx)?;
                write(row, cx, &mut returning)?;
            }
        }
        InsertRows::Select { query, exprs } => {
            // The source is read completely before the first row is written,
            // so an INSERT ... SELECT from its own table sees only old rows.
            let mut planned = plan::plan_query(*query);
            plan::clauses::eval_const_expressions(&mut planned.plan, cx)?;
            let mut exprs = exprs;
            plan::clauses::fold_exprs(exprs.iter_mut(), cx)?;
            let source = exec::run(planned.plan, cx)?;
            for input in source {
                cx.server.check_for_interrupts()?;
                let row = eval_row(&exprs, &input, cx)?;
                write(row, cx, &mut returning)?;
            }
        }
    }
    Ok((count, returning.rows))
}

/// The new version of `old` under UPDATE's SET list.
fn updated_row(
    table: &TableDef,
    sets: &[(usize, Expr)],
    checks: &[(String, Expr)],
    old: &[Datum],
    cx: &mut EvalContext,
) -> PgResult<Row> {
    let mut new = old.to_vec();
    for (col, e) in sets {
        new[*col] = eval(e, old, cx)?;
    }
    finish_row(table, checks, new, cx)
}

fn qual_holds(qual: &Option<Expr>, row: &[Datum], cx: &mut EvalContext) -> PgResult<bool> {
    match qual {
        Some(q) => eval_qual(q, row, cx),
        None => Ok(true),
    }
}

/// The scan of an UPDATE's or DELETE's target: through an index when
/// the WHERE clause allows one (`plan::indxpath`), else sequential.
fn target_scan(
    table: &std::sync::Arc<super::tables::TableDef>,
    qual: &Option<Expr>,
) -> exec::scan::TableScanWithIds {
    if !table.indexes.is_empty() {
        let mut quals = plan::conjuncts(qual.clone());
        if let Some(path) = plan::indxpath::choose_index(table, &mut quals) {
            return exec::scan::TableScanWithIds::with_index(table.clone(), path);
        }
    }
    exec::scan::TableScanWithIds::new(table.clone())
}

pub fn update(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    upd: &pb::UpdateStmt,
) -> PgResult<Outcome> {
    let (q, subplans, ctes) = analyze_with(ctx, stmt, |a| a.analyze_update(upd))?;
    check_write_privilege(ctx, &q.table)?;
    let mut cx = EvalContext::new(ctx);
    cx.set_subplans(subplans);
    run_modifying_ctes(ctes, &mut cx)?;
    let targets = q.returning.clone();
    let (count, rows) = exec_update(q, &mut cx)?;
    let fmt = cx.fmt.clone();
    Ok(outcome(&targets, rows, format!("UPDATE {count}"), &fmt))
}

/// Updates the rows; the count and RETURNING's rows.
fn exec_update(mut q: UpdateQuery, cx: &mut EvalContext) -> PgResult<(u64, Vec<Row>)> {
    plan::clauses::fold_exprs(
        q.where_qual
            .iter_mut()
            .chain(q.sets.iter_mut().map(|(_, e)| e)),
        cx,
    )?;
    let table = q.table.clone();
    let mut returning = Returning {
        targets: &q.returning,
        rows: Vec::new(),
    };
    let mut count: u64 = 0;
    let mut scan = target_scan(&table, &q.where_qual);
    while let Some((row_id, row)) = scan.next(cx)? {
        if !qual_holds(&q.where_qual, &row, cx)? {
            continue;
        }
        let (mut row_id, mut old) = (row_id, row);
        loop {
            let new = updated_row(&table, &q.sets, &q.checks, &old, cx)?;
            let kept = if returning.wanted() {
                Some(new.clone())
            } else {
                None
            };
            match cx.server.update_row(&table, row_id, new)? {
                RowChange::Done => {
                    count += 1;
                    if let Some(new) = kept {
                        returning.push(&new, cx)?;
                    }
                    break;
                }
                RowChange::Gone => break,
                RowChange::Moved {
                    row_id: newer,
                    row: newest,
                } => {
                    if !qual_holds(&q.where_qual, &newest, cx)? {
                        break;
                    }
                    row_id = newer;
                    old = newest;
                }
            }
        }
    }
    Ok((count, returning.rows))
}

pub fn delete(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    del: &pb::DeleteStmt,
) -> PgResult<Outcome> {
    let (q, subplans, ctes) = analyze_with(ctx, stmt, |a| a.analyze_delete(del))?;
    check_write_privilege(ctx, &q.table)?;
    let mut cx = EvalContext::new(ctx);
    cx.set_subplans(subplans);
    run_modifying_ctes(ctes, &mut cx)?;
    let targets = q.returning.clone();
    let (count, rows) = exec_delete(q, &mut cx)?;
    let fmt = cx.fmt.clone();
    Ok(outcome(&targets, rows, format!("DELETE {count}"), &fmt))
}

/// Deletes the rows; the count and RETURNING's rows.
fn exec_delete(mut q: DeleteQuery, cx: &mut EvalContext) -> PgResult<(u64, Vec<Row>)> {
    plan::clauses::fold_exprs(q.where_qual.iter_mut(), cx)?;
    let table = q.table.clone();
    let mut returning = Returning {
        targets: &q.returning,
        rows: Vec::new(),
    };
    let mut count: u64 = 0;
    let mut scan = target_scan(&table, &q.where_qual);
    while let Some((row_id, row)) = scan.next(cx)? {
        if !qual_holds(&q.where_qual, &row, cx)? {
            continue;
        }
        let (mut row_id, mut current) = (row_id, row);
        loop {
            match cx.server.delete_row(&table, row_id)? {
                RowChange::Done => {
                    count += 1;
                    if returning.wanted() {
                        returning.push(&current, cx)?;
                    }
                    break;
                }
                RowChange::Gone => break,
                RowChange::Moved {
                    row_id: newer,
                    row: newest,
                } => {
                    if !qual_holds(&q.where_qual, &newest, cx)? {
                        break;
                    }
                    row_id = newer;
                    current = newest;
                }
            }
        }
    }
    Ok((count, returning.rows))
}
