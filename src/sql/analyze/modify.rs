//! Analysis of INSERT / UPDATE / DELETE (`transformInsertStmt`,
//! `transformUpdateStmt`, `transformDeleteStmt`) and of functions in FROM
//! (`transformRangeFunction`).
//!
//! Every value bound for a column is coerced to the column's type by
//! assignment rules here; the column's typmod (varchar(n) length,
//! numeric(p,s) rounding) and NOT NULL are applied per row by the executor
//! (`sql::dml`), because a typmod error must name the value's column only
//! once the value exists. DEFAULT expressions are SQL text in the catalog;
//! each is parsed and analysed at most once per statement.

use std::sync::Arc;

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb};

use super::super::adt::{CoercionContext, can_coerce};
use super::super::catalog::{self, ColumnDef, column_type};
use super::super::expr::{Expr, Loc};
use super::super::tables::TableDef;
use super::super::types::{Datum, Type};
use super::names::raw_location;
use super::{
    Analyzer, ExprKind, MAX_TUPLE_ATTRIBUTE_NUMBER, Query, RangeFunction, RangeTblEntry, RteSource,
    Scope, TargetEntry, node_of,
};
use crate::utils::elog::{PgError, PgResult, sqlstate};

fn loc(l: i32) -> Option<usize> {
    if l >= 0 { Some(l as usize) } else { None }
}

/// Where INSERT's rows come from. Each row expression list has one entry
/// per table column, in table order, already of the column's type.
#[derive(Debug)]
pub enum InsertRows {
    /// `VALUES (...), (...)` (and `DEFAULT VALUES`): evaluated without input.
    Values(Vec<Vec<Expr>>),
    /// `INSERT ... SELECT`: `exprs` are evaluated over each row of `query`.
    Select { query: Box<Query>, exprs: Vec<Expr> },
}

#[derive(Debug)]
pub struct InsertQuery {
    pub table: Arc<TableDef>,
    pub rows: InsertRows,
    /// The table's CHECK constraints (name, expression over the new row).
    pub checks: Vec<(String, Expr)>,
    /// RETURNING, over the inserted row (empty: no RETURNING).
    pub returning: Vec<TargetEntry>,
}

#[derive(Debug)]
pub struct UpdateQuery {
    pub table: Arc<TableDef>,
    /// Over the old row.
    pub where_qual: Option<Expr>,
    /// (column index, new value over the old row).
    pub sets: Vec<(usize, Expr)>,
    /// The table's CHECK constraints (name, expression over the new row).
    pub checks: Vec<(String, Expr)>,
    /// Over the new row.
    pub returning: Vec<TargetEntry>,
}

#[derive(Debug)]
pub struct DeleteQuery {
    pub table: Arc<TableDef>,
    pub where_qual: Option<Expr>,
    /// Over the deleted row.
    pub returning: Vec<TargetEntry>,
}

/// A data-modifying statement in `WITH` (run before the statement, its
/// RETURNING rows filling the CTE's shared store `subquery`).
#[derive(Debug)]
pub enum ModifyQuery {
    Insert(InsertQuery),
    Update(UpdateQuery),
    Delete(DeleteQuery),
}

#[derive(Debug)]
pub struct ModifyCte {
    pub subquery: usize,
    pub query: ModifyQuery,
}

impl ModifyQuery {
    pub fn table(&self) -> &Arc<TableDef> {
        match self {
            ModifyQuery::Insert(q) => &q.table,
            ModifyQuery::Update(q) => &q.table,
            ModifyQuery::Delete(q) => &q.table,
        }
    }

    pub fn returning(&self) -> &[TargetEntry] {
        match self {
            ModifyQuery::Insert(q) => &q.returning,
            ModifyQuery::Update(q) => &q.returning,
            ModifyQuery::Delete(q) => &q.returning,
        }
    }
}

/// The SQL view of a table's columns.
pub fn table_columns(table: &TableDef) -> Vec<ColumnDef> {
    table
        .columns
        .iter()
        .map(|c| ColumnDef {
            name: c.name.clone(),
            ty: column_type(c.type_oid),
            typmod: c.typmod,
        })
        .collect()
}

impl<'a> Analyzer<'a> {
    // --- the target table -----------------------------------------------------

    /// `setTargetTable`: the table an INSERT/UPDATE/DELETE writes.
    /// `command` is INSERT, UPDATE or DELETE.
    fn target_table(
        &mut self,
        rv: Option<&pb::RangeVar>,
        command: &str,
    ) -> PgResult<(Arc<TableDef>, Scope)> {
        let rv = rv.expect("a DML statement names its table");
        let l = loc(rv.location);
        let schema = if rv.schemaname.is_empty() {
            None
        } else {
            Some(rv.schemaname.as_str())
        };
        let shown = match schema {
            Some(s) => format!("{s}.{}", rv.relname),
            None => rv.relname.clone(),
        };
        // A memory-backed system view is not a table.
        if schema.is_none_or(|s| s == "pg_catalog")
            && (rv.relname == "pg_settings" || self.ctx.system_relation(&rv.relname)?.is_some())
        {
            let (verb, gerund) = match command {
                "INSERT" => ("insert into", "inserting into"),
                "UPDATE" => ("update", "updating"),
                _ => ("delete from", "deleting from"),
            };
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("cannot {verb} view \"{}\"", rv.relname),
            )
            .with_detail("Views that do not select from a single table or view are not automatically updatable.")
            .with_hint(format!("To enable {gerund} the view, provide an INSTEAD OF {command} trigger or an unconditional ON {command} DO INSTEAD rule.")));
        }
        let Some(table) = self.ctx.lookup_table(schema, &rv.relname)? else {
            return Err(self.error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{shown}\" does not exist"),
                l,
            ));
        };
        if table.relkind == 'i' {
            return Err(self.error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!("\"{}\" is an index", rv.relname),
                l,
            ));
        }
        crate::sql::sequence::check_not_sequence(&table)?;
        // setTargetTable: the writer's lock first, then the definition the
        // catalogs have once it is held.
        let Some(table) = self.ctx.lock_for_write(&table)? else {
            return Err(self.error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{shown}\" does not exist"),
                l,
            ));
        };
        let (refname, has_alias) = match &rv.alias {
            Some(a) => (a.aliasname.clone(), true),
            None => (table.name.clone(), false),
        };
        let scope = Scope::single(
            &refname,
            &table.name,
            has_alias,
            &table_columns(&table),
            ExprKind::Where,
        );
        Ok((table, scope))
    }

    /// A DML statement's `WITH`: its queries are in scope while `f`
    /// analyses the statement (data-modifying ones only at top level).
    fn with_ctes<T>(
        &mut self,
        with: &Option<pb::WithClause>,
        f: impl FnOnce(&mut Self) -> PgResult<T>,
    ) -> PgResult<T> {
        let Some(with) = with else {
            return f(self);
        };
        let mark = self.outer.ctes.len();
        let top = self.query_depth == 0;
        let r = self.transform_with(with, top).and_then(|()| f(self));
        self.outer.ctes.truncate(mark);
        r
    }

    /// A data-modifying statement in WITH (`transformWithClause` for
    /// INSERT/UPDATE/DELETE): analysed now, run once before the statement;
    /// references read its RETURNING rows.
    pub(super) fn transform_modifying_cte(
        &mut self,
        cte: &pb::CommonTableExpr,
        top: bool,
        l: Option<usize>,
    ) -> PgResult<()> {
        if !top {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "WITH clause containing a data-modifying statement must be at the top level",
                l,
            ));
        }
        self.query_depth += 1;
        let q = match node_of(&cte.ctequery) {
            Some(NodeEnum::InsertStmt(s)) => self.analyze_insert(s).map(ModifyQuery::Insert),
            Some(NodeEnum::UpdateStmt(s)) => self.analyze_update(s).map(ModifyQuery::Update),
            Some(NodeEnum::DeleteStmt(s)) => self.analyze_delete(s).map(ModifyQuery::Delete),
            _ => Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "MERGE not supported in WITH query",
                l,
            )),
        };
        self.query_depth -= 1;
        let q = q?;
        let columns: Vec<ColumnDef> = q
            .returning()
            .iter()
            .map(|t| ColumnDef {
                name: t.name.clone(),
                ty: t.expr.ty(),
                typmod: t.expr.typmod(),
            })
            .collect();
        if cte.aliascolnames.len() > columns.len() {
            return Err(self.error(
                "42P10",
                format!(
                    "WITH query \"{}\" has {} columns available but {} columns specified",
                    cte.ctename,
                    columns.len(),
                    cte.aliascolnames.len()
                ),
                l,
            ));
        }
        // The store its references read, filled before the statement runs.
        self.subqueries.push(Query::of_targets(Vec::new()));
        let subquery = self.subqueries.len() - 1;
        let has_returning = !q.returning().is_empty();
        self.modify_ctes.push(ModifyCte { subquery, query: q });
        self.outer.ctes.push(super::from::CteDef {
            name: cte.ctename.clone(),
            query: Box::default(),
            colnames: cte.aliascolnames.clone(),
            busy: false,
            recursive: false,
            work: None,
            work_used: false,
            shared: Some(super::CteShared {
                subquery,
                refs: Default::default(),
                mode: super::CteMaterialize::Always,
            }),
            modifying: Some((columns, has_returning)),
            search_cycle: None,
        });
        Ok(())
    }

    /// `transformReturningList`.
    fn transform_returning(
        &mut self,
        scope: &mut Scope,
        clause: &Option<pb::ReturningClause>,
    ) -> PgResult<Vec<TargetEntry>> {
        let Some(rc) = clause else {
            return Ok(Vec::new());
        };
        if !rc.options.is_empty() {
            return Err(self.unsupported("RETURNING WITH (OLD/NEW)", None));
        }
        scope.kind = ExprKind::Returning;
        let mut targets = self.transform_target_list(scope, &rc.exprs)?;
        // PostgreSQL finds this when it forms the first RETURNING row.
        if targets.len() > MAX_TUPLE_ATTRIBUTE_NUMBER {
            return Err(PgError::error(
                sqlstate::TOO_MANY_COLUMNS,
                format!(
                    "number of columns ({}) exceeds limit ({MAX_TUPLE_ATTRIBUTE_NUMBER})",
                    targets.len()
                ),
            ));
        }
        for t in &mut targets {
            if t.expr.ty() == Type::Unknown {
                let e = std::mem::replace(&mut t.expr, Expr::CaseTest { ty: Type::Unknown });
                t.expr = self.coerce(e, Type::Text, -1, CoercionContext::Implicit, None)?;
            }
        }
        Ok(targets)
    }

    /// `transformAssignedExpr`: coerces a value to its column's type by
    /// assignment rules, or reports PostgreSQL's 42804.
    fn coerce_to_column(
        &mut self,
        e: Expr,
        table: &TableDef,
        col: usize,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let c = &table.columns[col];
        let ty = column_type(c.type_oid);
        let from = e.ty();
        if from != ty && from != Type::Unknown && !can_coerce(from, ty, CoercionContext::Assignment)
        {
            return Err(self
                .error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "column \"{}\" is of type {} but expression is of type {}",
                        c.name,
                        ty.name(),
                        from.name()
                    ),
                    l,
                )
                .with_hint("You will need to rewrite or cast the expression."));
        }
        self.coerce(e, ty, -1, CoercionContext::Assignment, l)
    }

    /// `rewriteTargetListIU`'s identity rule for a value given for column
    /// `col`: Ok(true) to use it, Ok(false) to use the column's default
    /// instead (`OVERRIDING USER VALUE`), 428C9 for a GENERATED ALWAYS
    /// column without `OVERRIDING SYSTEM VALUE`.
    fn identity_takes_value(
        &self,
        table: &TableDef,
        col: usize,
        overriding: pb::OverridingKind,
    ) -> PgResult<bool> {
        let c = &table.columns[col];
        match (c.identity, overriding) {
            (0, _) => Ok(true),
            (_, pb::OverridingKind::OverridingUserValue) => Ok(false),
            (b'a', pb::OverridingKind::OverridingSystemValue) => Ok(true),
            (b'a', _) => Err(PgError::error(
                sqlstate::GENERATED_ALWAYS,
                format!(
                    "cannot insert a non-DEFAULT value into column \"{}\"",
                    c.name
                ),
            )
            .with_detail(format!(
                "Column \"{}\" is an identity column defined as GENERATED ALWAYS.",
                c.name
            ))
            .with_hint("Use OVERRIDING SYSTEM VALUE to override.")),
            _ => Ok(true),
        }
    }

    /// UPDATE may set a GENERATED ALWAYS identity column only to DEFAULT.
    fn check_identity_update(&self, table: &TableDef, col: usize) -> PgResult<()> {
        let c = &table.columns[col];
        if c.identity == b'a' {
            return Err(PgError::error(
                sqlstate::GENERATED_ALWAYS,
                format!("column \"{}\" can only be updated to DEFAULT", c.name),
            )
            .with_detail(format!(
                "Column \"{}\" is an identity column defined as GENERATED ALWAYS.",
                c.name
            )));
        }
        Ok(())
    }

    /// The column's DEFAULT (NULL when it has none), of the column's type.
    pub(super) fn column_default(
        &mut self,
        table: &TableDef,
        col: usize,
        cache: &mut Vec<Option<Expr>>,
    ) -> PgResult<Expr> {
        if cache.is_empty() {
            cache.resize(table.columns.len(), None);
        }
        if let Some(e) = &cache[col] {
            return Ok(e.clone());
        }
        let c = &table.columns[col];
        let ty = column_type(c.type_oid);
        let e = match &c.default_expr {
            None => Expr::Const {
                value: Datum::Null,
                ty,
                typmod: -1,
                loc: Loc(None),
            },
            Some(sql) => self.analyze_default_expr(sql, ty, &c.name)?,
        };
        cache[col] = Some(e.clone());
        Ok(e)
    }

    /// Parses and analyses a DEFAULT expression kept as SQL text, coerced to
    /// `ty` (errors carry no position: the text is not the statement's).
    pub(crate) fn analyze_default_expr(
        &mut self,
        sql: &str,
        ty: Type,
        column: &str,
    ) -> PgResult<Expr> {
        self.analyze_stored_expr(sql, "DEFAULT", |a, node| {
            a.analyze_default_node(node, ty, column)
        })
    }

    /// Parses an expression the catalogs keep as SQL text (a DEFAULT, a
    /// CHECK constraint) and analyses it with `f`, the text as its own
    /// source; errors carry no position, the text not being the statement's.
    fn analyze_stored_expr(
        &mut self,
        sql: &str,
        what: &str,
        f: impl FnOnce(&mut Analyzer<'_>, &NodeEnum) -> PgResult<Expr>,
    ) -> PgResult<Expr> {
        let text = format!("SELECT {sql}");
        let bad = || {
            PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!("invalid {what} expression {sql:?}"),
            )
        };
        let parsed = pg_query::parse(&text, 0).map_err(|_| bad())?;
        let node = parsed
            .protobuf
            .stmts
            .first()
            .and_then(|s| s.stmt.as_ref())
            .and_then(|s| s.node.as_ref())
            .and_then(|n| match n {
                NodeEnum::SelectStmt(sel) => sel.target_list.first().cloned(),
                _ => None,
            })
            .and_then(|t| match t.node {
                Some(NodeEnum::ResTarget(rt)) => rt.val.and_then(|v| v.node),
                _ => None,
            })
            .ok_or_else(bad)?;
        let mut sub = Analyzer {
            ctx: &mut *self.ctx,
            source: &text,
            fmt: self.fmt.clone(),
            subqueries: Vec::new(),
            outer: Default::default(),
            modify_ctes: Vec::new(),
            query_depth: 0,
        };
        f(&mut sub, &node).map_err(|mut e| {
            e.position = None;
            e
        })
    }

    /// `cookConstraint`: a CHECK constraint's expression node of this
    /// statement over `table`'s columns, coerced to boolean; no
    /// subqueries, aggregates, window or set-returning functions (each
    /// refused where it is analysed, by [`ExprKind::Check`]).
    pub(crate) fn analyze_check_node(
        &mut self,
        node: &NodeEnum,
        table: &TableDef,
    ) -> PgResult<Expr> {
        let mut scope = Scope::single(
            &table.name,
            &table.name,
            false,
            &table_columns(table),
            ExprKind::Check,
        );
        let l = raw_location(node);
        // A subquery fails in transform_sublink, at its position.
        let e = self.transform_expr(&mut scope, node)?;
        self.coerce_to_boolean(e, "CHECK", l)
    }

    /// The CHECK constraints a row written to `table` must pass (NOT VALID
    /// ones too: they hold for new rows), by name.
    pub(super) fn table_checks(&mut self, table: &TableDef) -> PgResult<Vec<(String, Expr)>> {
        let mut out = Vec::with_capacity(table.checks.len());
        for c in &table.checks {
            out.push((c.name.clone(), self.analyze_check_text(&c.expr, table)?));
        }
        Ok(out)
    }

    /// A CHECK constraint's expression kept as SQL text (`conbin`), analysed.
    pub(crate) fn analyze_check_text(&mut self, sql: &str, table: &TableDef) -> PgResult<Expr> {
        self.analyze_stored_expr(sql, "CHECK", |a, node| a.analyze_check_node(node, table))
    }

    /// `cookDefault`: analyses a DEFAULT expression node of this statement
    /// and coerces it to `ty`; no column references, subqueries or aggregates.
    pub(crate) fn analyze_default_node(
        &mut self,
        node: &NodeEnum,
        ty: Type,
        column: &str,
    ) -> PgResult<Expr> {
        let mut scope = Scope::new(ExprKind::Default);
        let l = raw_location(node);
        let nsub = self.subqueries.len();
        let e = self.transform_expr(&mut scope, node).map_err(|e| {
            if e.sqlstate == sqlstate::UNDEFINED_COLUMN {
                let mut out = PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "cannot use column reference in DEFAULT expression",
                );
                out.position = e.position;
                out
            } else {
                e
            }
        })?;
        if self.subqueries.len() > nsub {
            self.subqueries.truncate(nsub);
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot use subquery in DEFAULT expression",
                l,
            ));
        }
        let from = e.ty();
        if from != ty && from != Type::Unknown && !can_coerce(from, ty, CoercionContext::Assignment)
        {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "column \"{column}\" is of type {} but default expression is of type {}",
                    ty.name(),
                    from.name()
                ),
            )
            .with_hint("You will need to rewrite or cast the expression."));
        }
        self.coerce(e, ty, -1, CoercionContext::Assignment, l)
    }

    /// A target column by name (`checkInsertTargets` / UPDATE's SET list).
    fn target_column(&self, table: &TableDef, rt: &pb::ResTarget) -> PgResult<usize> {
        let l = loc(rt.location);
        if !rt.indirection.is_empty() {
            return Err(self.unsupported("subscripts and field selection in assignments", l));
        }
        table
            .columns
            .iter()
            .position(|c| c.name == rt.name)
            .ok_or_else(|| {
                self.error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!(
                        "column \"{}\" of relation \"{}\" does not exist",
                        rt.name, table.name
                    ),
                    l,
                )
            })
    }

    // --- INSERT ---------------------------------------------------------------

    pub fn analyze_insert(&mut self, stmt: &pb::InsertStmt) -> PgResult<InsertQuery> {
        self.with_ctes(&stmt.with_clause, |a| a.analyze_insert_body(stmt))
    }

    fn analyze_insert_body(&mut self, stmt: &pb::InsertStmt) -> PgResult<InsertQuery> {
        if stmt.on_conflict_clause.is_some() {
            return Err(self.unsupported("ON CONFLICT", None));
        }
        let (table, mut scope) = self.target_table(stmt.relation.as_ref(), "INSERT")?;
        let ncols = table.columns.len();
        let overriding = pb::OverridingKind::try_from(stmt.r#override)
            .unwrap_or(pb::OverridingKind::OverridingNotSet);

        // Target columns: the listed ones, else all in order.
        let mut targets: Vec<(usize, Option<usize>)> = Vec::new();
        if stmt.cols.is_empty() {
            targets.extend((0..ncols).map(|i| (i, None)));
        } else {
            for c in &stmt.cols {
                let Some(NodeEnum::ResTarget(rt)) = c.node.as_ref() else {
                    continue;
                };
                let i = self.target_column(&table, rt)?;
                if targets.iter().any(|(j, _)| *j == i) {
                    return Err(self.error(
                        sqlstate::SYNTAX_ERROR,
                        format!("column \"{}\" specified more than once", rt.name),
                        loc(rt.location),
                    ));
                }
                targets.push((i, loc(rt.location)));
            }
        }

        let mut defaults: Vec<Option<Expr>> = Vec::new();
        let select = match node_of(&stmt.select_stmt) {
            Some(NodeEnum::SelectStmt(sel)) => Some(sel),
            None => None,
            Some(_) => return Err(self.unsupported("this INSERT source", None)),
        };
        let rows = match select {
            // DEFAULT VALUES.
            None => {
                let mut row = Vec::with_capacity(ncols);
                for i in 0..ncols {
                    row.push(self.column_default(&table, i, &mut defaults)?);
                }
                InsertRows::Values(vec![row])
            }
            Some(sel) if self.is_plain_values(sel) => {
                let mut rows = Vec::with_capacity(sel.values_lists.len());
                // One row is analysed like a target list: it may hold
                // set-returning calls (`EXPR_KIND_VALUES_SINGLE`).
                scope.kind = if sel.values_lists.len() == 1 {
                    ExprKind::ValuesSingle
                } else {
                    ExprKind::Values
                };
                let saved_ns = std::mem::take(&mut scope.ns);
                for list in &sel.values_lists {
                    let Some(NodeEnum::List(l)) = list.node.as_ref() else {
                        continue;
                    };
                    if let Some(NodeEnum::List(first)) = sel.values_lists[0].node.as_ref()
                        && first.items.len() != l.items.len()
                    {
                        return Err(self.error(
                            sqlstate::SYNTAX_ERROR,
                            "VALUES lists must all be the same length",
                            l.items
                                .first()
                                .and_then(|n| n.node.as_ref())
                                .and_then(raw_location),
                        ));
                    }
                    self.check_insert_arity(
                        l.items.len(),
                        &targets,
                        &l.items,
                        !stmt.cols.is_empty(),
                    )?;
                    let mut row: Vec<Option<Expr>> = vec![None; ncols];
                    for (item, &(col, _)) in l.items.iter().zip(&targets) {
                        let n = item.node.as_ref().expect("VALUES item");
                        let e = if let NodeEnum::SetToDefault(_) = n {
                            self.column_default(&table, col, &mut defaults)?
                        } else {
                            let e = self.transform_expr(&mut scope, n)?;
                            let e = self.coerce_to_column(e, &table, col, raw_location(n))?;
                            if self.identity_takes_value(&table, col, overriding)? {
                                e
                            } else {
                                self.column_default(&table, col, &mut defaults)?
                            }
                        };
                        row[col] = Some(e);
                    }
                    let mut full = Vec::with_capacity(ncols);
                    for (i, e) in row.into_iter().enumerate() {
                        full.push(match e {
                            Some(e) => e,
                            None => self.column_default(&table, i, &mut defaults)?,
                        });
                    }
                    rows.push(full);
                }
                scope.ns = saved_ns;
                if rows.len() == 1 && rows[0].iter().any(|e| e.any(&Expr::is_set_call)) {
                    // Run as `INSERT ... SELECT <row>`, whose plan expands the sets.
                    let row = rows.pop().expect("one row");
                    let exprs = row
                        .iter()
                        .enumerate()
                        .map(|(i, e)| Expr::Column {
                            index: i,
                            ty: e.ty(),
                            typmod: e.typmod(),
                            name: String::new(),
                            loc: Loc(None),
                        })
                        .collect();
                    let targets = row
                        .into_iter()
                        .map(|expr| TargetEntry {
                            expr,
                            name: String::new(),
                            resjunk: false,
                        })
                        .collect();
                    InsertRows::Select {
                        query: Box::new(Query::of_targets(targets)),
                        exprs,
                    }
                } else {
                    InsertRows::Values(rows)
                }
            }
            Some(sel) => {
                let query = self.analyze_select(sel)?;
                let outputs: Vec<(Type, i32)> = query
                    .targets
                    .iter()
                    .filter(|t| !t.resjunk)
                    .map(|t| (t.expr.ty(), t.expr.typmod()))
                    .collect();
                let locs: Vec<Option<usize>> = sel
                    .target_list
                    .iter()
                    .map(|n| match n.node.as_ref() {
                        Some(NodeEnum::ResTarget(rt)) => node_of(&rt.val).and_then(raw_location),
                        _ => None,
                    })
                    .collect();
                self.check_insert_arity(
                    outputs.len(),
                    &targets,
                    &sel.target_list,
                    !stmt.cols.is_empty(),
                )?;
                let mut row: Vec<Option<Expr>> = vec![None; ncols];
                for (k, (&(col, _), (ty, typmod))) in targets.iter().zip(&outputs).enumerate() {
                    let e = Expr::Column {
                        index: k,
                        ty: *ty,
                        typmod: *typmod,
                        name: String::new(),
                        loc: Loc(None),
                    };
                    let e =
                        self.coerce_to_column(e, &table, col, locs.get(k).copied().flatten())?;
                    row[col] = Some(if self.identity_takes_value(&table, col, overriding)? {
                        e
                    } else {
                        self.column_default(&table, col, &mut defaults)?
                    });
                }
                let mut exprs = Vec::with_capacity(ncols);
                for (i, e) in row.into_iter().enumerate() {
                    exprs.push(match e {
                        Some(e) => e,
                        None => self.column_default(&table, i, &mut defaults)?,
                    });
                }
                InsertRows::Select {
                    query: Box::new(query),
                    exprs,
                }
            }
        };
        let returning = self.transform_returning(&mut scope, &stmt.returning_clause)?;
        let checks = self.table_checks(&table)?;
        Ok(InsertQuery {
            table,
            rows,
            checks,
            returning,
        })
    }

    /// A bare `VALUES` list (not wrapped in ORDER BY/LIMIT/set operations).
    fn is_plain_values(&self, sel: &pb::SelectStmt) -> bool {
        !sel.values_lists.is_empty()
            && sel.sort_clause.is_empty()
            && sel.limit_count.is_none()
            && sel.limit_offset.is_none()
            && sel.with_clause.is_none()
    }

    fn check_insert_arity(
        &self,
        given: usize,
        targets: &[(usize, Option<usize>)],
        items: &[pg_query::Node],
        explicit: bool,
    ) -> PgResult<()> {
        if given > targets.len() {
            let l = items
                .get(targets.len())
                .and_then(|n| n.node.as_ref())
                .and_then(|n| match n {
                    NodeEnum::ResTarget(rt) => node_of(&rt.val).and_then(raw_location),
                    other => raw_location(other),
                });
            return Err(self.error(
                sqlstate::SYNTAX_ERROR,
                "INSERT has more expressions than target columns",
                l,
            ));
        }
        // Without a column list, the values fill the first columns.
        if given < targets.len() && explicit {
            return Err(self.error(
                sqlstate::SYNTAX_ERROR,
                "INSERT has more target columns than expressions",
                targets.get(given).and_then(|t| t.1),
            ));
        }
        Ok(())
    }

    // --- UPDATE / DELETE --------------------------------------------------------

    pub fn analyze_update(&mut self, stmt: &pb::UpdateStmt) -> PgResult<UpdateQuery> {
        self.with_ctes(&stmt.with_clause, |a| a.analyze_update_body(stmt))
    }

    fn analyze_update_body(&mut self, stmt: &pb::UpdateStmt) -> PgResult<UpdateQuery> {
        let (table, mut scope) = self.target_table(stmt.relation.as_ref(), "UPDATE")?;
        if !stmt.from_clause.is_empty() {
            return self.analyze_update_from(stmt, table, scope);
        }
        let mut defaults: Vec<Option<Expr>> = Vec::new();
        let mut sets: Vec<(usize, Expr)> = Vec::new();
        scope.kind = ExprKind::UpdateSet;
        for item in &stmt.target_list {
            let Some(NodeEnum::ResTarget(rt)) = item.node.as_ref() else {
                continue;
            };
            let val = node_of(&rt.val).expect("SET has a value");
            if let NodeEnum::MultiAssignRef(_) = val {
                return Err(
                    self.unsupported("multiple-column SET (a, b) = (...)", loc(rt.location))
                );
            }
            let col = if rt.indirection.is_empty() {
                self.target_column(&table, rt)?
            } else {
                // `SET a[i] = x`: the column by name (analyze::array).
                let mut plain = rt.clone();
                plain.indirection.clear();
                self.target_column(&table, &plain)?
            };
            if sets.iter().any(|(c, _)| *c == col) {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!("multiple assignments to same column \"{}\"", rt.name),
                ));
            }
            if !matches!(val, NodeEnum::SetToDefault(_)) {
                self.check_identity_update(&table, col)?;
            }
            let e = if let NodeEnum::SetToDefault(_) = val {
                self.column_default(&table, col, &mut defaults)?
            } else if !rt.indirection.is_empty() {
                let e = self.transform_expr(&mut scope, val)?;
                let ty = column_type(table.columns[col].type_oid);
                self.transform_array_assignment(
                    &mut scope,
                    &rt.name,
                    ty,
                    &rt.indirection,
                    e,
                    loc(rt.location),
                )?
            } else {
                let e = self.transform_expr(&mut scope, val)?;
                self.coerce_to_column(e, &table, col, raw_location(val))?
            };
            sets.push((col, e));
        }
        let where_qual = self.transform_where(&mut scope, &stmt.where_clause)?;
        let returning = self.transform_returning(&mut scope, &stmt.returning_clause)?;
        let checks = self.table_checks(&table)?;
        Ok(UpdateQuery {
            table,
            where_qual,
            sets,
            checks,
            returning,
        })
    }

    pub fn analyze_delete(&mut self, stmt: &pb::DeleteStmt) -> PgResult<DeleteQuery> {
        self.with_ctes(&stmt.with_clause, |a| a.analyze_delete_body(stmt))
    }

    fn analyze_delete_body(&mut self, stmt: &pb::DeleteStmt) -> PgResult<DeleteQuery> {
        let (table, mut scope) = self.target_table(stmt.relation.as_ref(), "DELETE")?;
        let where_qual = if stmt.using_clause.is_empty() {
            self.transform_where(&mut scope, &stmt.where_clause)?
        } else {
            // DELETE ... USING: delete the rows for which a USING row matches.
            let (qual, tree, params) =
                self.with_dml_from(&scope, &stmt.using_clause, |a, inner| {
                    a.transform_where(inner, &stmt.where_clause)
                })?;
            Some(self.dml_from_sublink(&tree, &qual, None, &params))
        };
        if !stmt.using_clause.is_empty() {
            self.check_returning_star(&stmt.returning_clause)?;
        }
        let returning = self
            .transform_returning(&mut scope, &stmt.returning_clause)
            .map_err(|e| self.returning_of_from(e, !stmt.using_clause.is_empty()))?;
        Ok(DeleteQuery {
            table,
            where_qual,
            returning,
        })
    }

    /// `UPDATE ... FROM`: each target row for which a row of the FROM
    /// items satisfies WHERE is updated once, with the SET values computed
    /// from the first such row (PostgreSQL takes an arbitrary one).
    fn analyze_update_from(
        &mut self,
        stmt: &pb::UpdateStmt,
        table: Arc<TableDef>,
        mut scope: Scope,
    ) -> PgResult<UpdateQuery> {
        let mut defaults: Vec<Option<Expr>> = Vec::new();
        let ((sets, qual), tree, params) =
            self.with_dml_from(&scope, &stmt.from_clause, |a, inner| {
                inner.kind = ExprKind::UpdateSet;
                let mut sets: Vec<(usize, Option<Expr>)> = Vec::new();
                for item in &stmt.target_list {
                    let Some(NodeEnum::ResTarget(rt)) = item.node.as_ref() else {
                        continue;
                    };
                    let val = node_of(&rt.val).expect("SET has a value");
                    if let NodeEnum::MultiAssignRef(_) = val {
                        return Err(
                            a.unsupported("multiple-column SET (a, b) = (...)", loc(rt.location))
                        );
                    }
                    let col = a.target_column(&table, rt)?;
                    if sets.iter().any(|(c, _)| *c == col) {
                        return Err(PgError::error(
                            sqlstate::SYNTAX_ERROR,
                            format!("multiple assignments to same column \"{}\"", rt.name),
                        ));
                    }
                    let e = if let NodeEnum::SetToDefault(_) = val {
                        None
                    } else {
                        a.check_identity_update(&table, col)?;
                        let e = a.transform_expr(inner, val)?;
                        Some(a.coerce_to_column(e, &table, col, raw_location(val))?)
                    };
                    sets.push((col, e));
                }
                let qual = a.transform_where(inner, &stmt.where_clause)?;
                Ok((sets, qual))
            })?;
        let mut out = Vec::with_capacity(sets.len());
        for (col, e) in sets {
            let e = match e {
                None => self.column_default(&table, col, &mut defaults)?,
                Some(e) => self.dml_from_sublink(&tree, &qual, Some(e), &params),
            };
            out.push((col, e));
        }
        let where_qual = Some(self.dml_from_sublink(&tree, &qual, None, &params));
        if true {
            self.check_returning_star(&stmt.returning_clause)?;
        }
        let returning = self
            .transform_returning(&mut scope, &stmt.returning_clause)
            .map_err(|e| self.returning_of_from(e, true))?;
        let checks = self.table_checks(&table)?;
        Ok(UpdateQuery {
            table,
            where_qual,
            sets: out,
            checks,
            returning,
        })
    }

    /// `RETURNING *` of UPDATE ... FROM / DELETE ... USING would include
    /// the FROM items' columns, which RETURNING cannot read yet.
    fn check_returning_star(&self, clause: &Option<pb::ReturningClause>) -> PgResult<()> {
        let Some(rc) = clause else { return Ok(()) };
        for item in &rc.exprs {
            if let Some(NodeEnum::ResTarget(rt)) = item.node.as_ref()
                && let Some(NodeEnum::ColumnRef(cr)) = node_of(&rt.val)
                && cr.fields.len() == 1
                && matches!(cr.fields[0].node, Some(NodeEnum::AStar(_)))
            {
                return Err(self.unsupported("RETURNING * with FROM/USING items", loc(cr.location)));
            }
        }
        Ok(())
    }

    /// RETURNING sees only the target table here: a name it cannot find
    /// may be a FROM/USING item's, which is not supported yet.
    fn returning_of_from(&self, e: PgError, has_from: bool) -> PgError {
        if has_from && e.sqlstate == "0A000" && e.message.contains("RETURNING * with") {
            return e;
        }
        if has_from
            && (e.sqlstate == sqlstate::UNDEFINED_COLUMN || e.sqlstate == sqlstate::UNDEFINED_TABLE)
        {
            let mut out = PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "not supported by ferrogres yet: RETURNING columns of FROM/USING items",
            );
            out.position = e.position;
            return out;
        }
        e
    }

    fn transform_where(
        &mut self,
        scope: &mut Scope,
        clause: &Option<Box<pg_query::Node>>,
    ) -> PgResult<Option<Expr>> {
        scope.kind = ExprKind::Where;
        match node_of(clause) {
            Some(NodeEnum::CurrentOfExpr(_)) => Err(self.unsupported("WHERE CURRENT OF", None)),
            Some(n) => {
                let e = self.transform_expr(scope, n)?;
                Ok(Some(self.coerce_to_boolean(e, "WHERE", raw_location(n))?))
            }
            None => Ok(None),
        }
    }

    // --- functions in FROM ------------------------------------------------------

    /// `transformRangeFunction`: set-returning functions in FROM (one, a
    /// `ROWS FROM (...)` list or the multi-argument `unnest`, optionally
    /// `WITH ORDINALITY`) and the functions the backend serves as
    /// relations (`pg_ls_waldir()`, ...).
    pub(super) fn transform_range_function(
        &mut self,
        rf: &pb::RangeFunction,
    ) -> PgResult<RangeTblEntry> {
        let mut calls: Vec<&pb::FuncCall> = Vec::new();
        for item in &rf.functions {
            let Some(NodeEnum::List(pair)) = item.node.as_ref() else {
                return Err(self.unsupported("this kind of FROM item", None));
            };
            if pair.items.get(1).is_some_and(|n| n.node.is_some()) {
                return Err(self.unsupported("column definition lists", None));
            }
            let Some(NodeEnum::FuncCall(f)) = pair.items.first().and_then(|n| n.node.as_ref())
            else {
                return Err(self.unsupported("this kind of function in FROM", None));
            };
            calls.push(f);
        }
        if !rf.coldeflist.is_empty() {
            return Err(self.unsupported("column definition lists", None));
        }
        let func_name = |f: &pb::FuncCall| -> (String, bool) {
            let names: Vec<String> = f
                .funcname
                .iter()
                .filter_map(|n| match n.node.as_ref() {
                    Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                    _ => None,
                })
                .collect();
            let schema_ok = names.len() == 1 || (names.len() == 2 && names[0] == "pg_catalog");
            (names.last().cloned().unwrap_or_default(), schema_ok)
        };
        let (name, schema_ok) = func_name(calls[0]);
        // The functions the backend serves as relations: alone, as written.
        if calls.len() == 1
            && !rf.is_rowsfrom
            && schema_ok
            && catalog::SYSTEM_FUNCTIONS.contains(&name.as_str())
            && calls[0].args.is_empty()
        {
            if rf.ordinality {
                return Err(self.unsupported(&format!("WITH ORDINALITY on {name}()"), None));
            }
            let l = loc(calls[0].location);
            let rel = catalog::system_function(self.ctx, &name)?.ok_or_else(|| {
                self.error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {name}() does not exist"),
                    l,
                )
            })?;
            let mut columns = rel.columns.clone();
            let (refname, has_alias) = self.apply_alias(&mut columns, &rf.alias, &name)?;
            return Ok(RangeTblEntry {
                refname,
                relname: name,
                has_alias,
                columns,
                source: RteSource::Relation(rel),
            });
        }
        // `unnest(a, b, ...)` outside ROWS FROM is `ROWS FROM (unnest(a), unnest(b), ...)`.
        let mut expanded: Vec<pb::FuncCall> = Vec::new();
        if calls.len() == 1 && !rf.is_rowsfrom && schema_ok && name == "unnest" {
            let f = calls[0];
            if f.args.len() > 1 {
                let qualified: Vec<pg_query::Node> = ["pg_catalog", "unnest"]
                    .iter()
                    .map(|n| pg_query::Node {
                        node: Some(NodeEnum::String(pb::String {
                            sval: n.to_string(),
                        })),
                    })
                    .collect();
                for a in &f.args {
                    let mut one = f.clone();
                    one.funcname = qualified.clone();
                    one.args = vec![a.clone()];
                    expanded.push(one);
                }
            }
        }
        if !expanded.is_empty() {
            calls = expanded.iter().collect();
        }
        let nfuncs = calls.len();
        let mut functions = Vec::with_capacity(nfuncs);
        let mut columns: Vec<ColumnDef> = Vec::new();
        let mut scalar_alias_ok = false;
        for f in &calls {
            let (fname, _) = func_name(f);
            let l = loc(f.location);
            let mut scope = Scope::new(ExprKind::FromFunction);
            let e = self.transform_expr(&mut scope, &NodeEnum::FuncCall(Box::new((*f).clone())))?;
            let Expr::Func { func, args, ty, .. } = e else {
                return Err(self.unsupported(&format!("function {fname}() in FROM"), l));
            };
            let def = crate::sql::functions::registry().get(func);
            let cols: Vec<(String, Type)> = match def.srf {
                Some(crate::sql::functions::SetImpl::Rows) => {
                    let (cols, scalar) = crate::sql::functions::json::srf_columns(def.name);
                    scalar_alias_ok = scalar;
                    cols.into_iter().map(|(n, t)| (n.to_string(), t)).collect()
                }
                _ => {
                    scalar_alias_ok = true;
                    vec![(fname.clone(), ty)]
                }
            };
            functions.push(RangeFunction {
                func,
                args,
                ty,
                ncols: cols.len(),
            });
            columns.extend(cols.into_iter().map(|(name, ty)| ColumnDef {
                name,
                ty,
                typmod: -1,
            }));
        }
        if rf.ordinality {
            columns.push(ColumnDef {
                name: "ordinality".into(),
                ty: Type::Int8,
                typmod: -1,
            });
        }
        let source = RteSource::Function {
            functions,
            ordinality: rf.ordinality,
        };
        let (refname, has_alias) = match &rf.alias {
            Some(a) => {
                // One function returning a scalar takes the alias as its column name.
                if nfuncs == 1 && scalar_alias_ok && a.colnames.is_empty() {
                    columns[0].name = a.aliasname.clone();
                }
                self.apply_alias_colnames(&mut columns, &a.colnames, &a.aliasname, None)?;
                (a.aliasname.clone(), true)
            }
            None => (name.clone(), false),
        };
        Ok(RangeTblEntry {
            refname,
            relname: name,
            has_alias,
            columns,
            source,
        })
    }
}
