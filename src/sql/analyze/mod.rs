//! Parse analysis (PostgreSQL's `parser/analyze.c` and friends): a raw
//! `SelectStmt` becomes a [`Query`] whose names are resolved against its
//! FROM items (see `from.rs`) and the enclosing queries, whose expressions
//! are typed [`Expr`]s with resolved functions and operators, and whose
//! clauses are checked the way
//! PostgreSQL checks them, with the same SQLSTATEs, messages and positions.
//!
//! Clause order follows `transformSelectStmt`: FROM, target list, WHERE,
//! HAVING, ORDER BY, GROUP BY, DISTINCT, LIMIT/OFFSET, then the grouping
//! check (`parseCheckAggregates`). That order decides which error a
//! statement with several mistakes reports, so it matters.
//!
//! After analysis, expressions above an aggregation refer to the
//! aggregation's output row: group keys first, then aggregate results
//! ([`Query::has_grouping`]).

mod array;
mod copy;
mod expr;
mod from;
mod grouping;
mod modify;
mod names;
mod ordered_set;
pub mod resolve;
mod search_cycle;
pub mod window;

use pg_query::NodeEnum;
use pg_query::protobuf::SelectStmt;

use super::ServerContext;
use super::adt::SessionFormat;
use super::catalog::{ColumnDef, Relation};
use super::expr::{Expr, Loc};
use super::functions::AggKind;
use super::parser::char_position;
use super::types::Type;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use resolve::select_common_type;

pub use copy::{CopyFromQuery, copy_attnums, copy_relation};
pub use from::{FromTree, JoinKind, OuterLevels, hashable_equality};
pub use modify::{
    DeleteQuery, InsertQuery, InsertRows, ModifyCte, ModifyQuery, UpdateQuery, table_columns,
};
pub use names::{figure_colname, raw_location};
pub use window::{Frame, RangeOffsetOps, WinFunc, WindowClause, WindowFuncRef, frameopt};

/// An analysed SELECT.
#[derive(Clone, Debug)]
pub struct Query {
    /// The FROM clause; expressions see its flat row (see `from.rs`).
    pub from: Option<FromTree>,
    /// Over the scan row.
    pub where_qual: Option<Expr>,
    /// Over the scan row.
    pub group_by: Vec<Expr>,
    /// `GROUPING SETS` / `ROLLUP` / `CUBE`: the sets, each a sorted list of
    /// indexes into `group_by` (see `grouping.rs`); `None` for a plain
    /// GROUP BY.
    pub grouping_sets: Option<Vec<Vec<usize>>>,
    pub aggregates: Vec<Aggref>,
    /// True when the query aggregates (aggregates, GROUP BY or HAVING).
    pub has_grouping: bool,
    /// Over the aggregation's output row.
    pub having: Option<Expr>,
    /// Window function calls and the windows they use (`Expr::WindowFunc`
    /// indexes `window_funcs`); their expressions read the same row as
    /// the target list.
    pub window_funcs: Vec<WindowFuncRef>,
    pub windows: Vec<WindowClause>,
    /// Over the aggregation's output row when `has_grouping`, else the scan
    /// row, with window function results after it.
    pub targets: Vec<TargetEntry>,
    pub sort: Vec<SortClause>,
    pub distinct: bool,
    /// `DISTINCT ON (...)`: the targets whose equal rows keep only the
    /// first in sort order (`sort` starts with them).
    pub distinct_on: Vec<usize>,
    pub limit_count: Option<Expr>,
    pub limit_offset: Option<Expr>,
    /// `FETCH FIRST n ROWS WITH TIES`: also the rows equal to the last
    /// one on the ORDER BY keys.
    pub limit_with_ties: bool,
    /// `FOR UPDATE` / `FOR SHARE` (of the one table in FROM).
    pub lock: Option<super::tables::RowLockMode>,
}

impl Query {
    /// The visible output columns (a FROM subquery's columns).
    pub fn output_columns(&self) -> Vec<ColumnDef> {
        self.targets
            .iter()
            .filter(|t| !t.resjunk)
            .map(|t| ColumnDef {
                name: t.name.clone(),
                ty: t.expr.ty(),
                typmod: t.expr.typmod(),
            })
            .collect()
    }

    /// `SELECT <targets>` without FROM.
    pub fn of_targets(targets: Vec<TargetEntry>) -> Query {
        Query {
            from: None,
            where_qual: None,
            group_by: Vec::new(),
            grouping_sets: None,
            aggregates: Vec::new(),
            has_grouping: false,
            having: None,
            window_funcs: Vec::new(),
            windows: Vec::new(),
            targets,
            sort: Vec::new(),
            distinct: false,
            distinct_on: Vec::new(),
            limit_count: None,
            limit_offset: None,
            limit_with_ties: false,
            lock: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RangeTblEntry {
    /// The name columns are qualified with (alias, else relation name).
    pub refname: String,
    pub relname: String,
    pub has_alias: bool,
    pub columns: Vec<ColumnDef>,
    pub source: RteSource,
}

#[derive(Clone, Debug)]
pub enum RteSource {
    Relation(Relation),
    Subquery(Box<Query>),
    /// `VALUES (..), (..)`: one row of expressions per row.
    Values(Vec<Vec<Expr>>),
    /// UNION / INTERSECT / EXCEPT.
    SetOp(Box<SetOpTree>),
    /// `WITH RECURSIVE`'s `non-recursive UNION [ALL] recursive`: `right`
    /// reads the rows of the previous round as [`RteSource::WorkTable`]
    /// `worktable`, until a round adds none.
    RecursiveUnion {
        worktable: usize,
        all: bool,
        left: Box<Query>,
        right: Box<Query>,
    },
    /// A reference to a non-recursive WITH query: planned as the inlined
    /// `inline` subquery when PostgreSQL would inline it (see
    /// [`CteShared::inline`]), else as a scan of the CTE's one shared,
    /// lazily filled result (subquery `shared.subquery`).
    Cte {
        shared: CteShared,
        inline: Box<Query>,
    },
    /// The recursive term's reference to its own CTE: the previous round.
    WorkTable {
        worktable: usize,
    },
    /// Set-returning functions (`functions::FuncDef::srf`): one, or the
    /// list of `ROWS FROM (...)`, side by side; then the ordinality column.
    Function {
        functions: Vec<RangeFunction>,
        ordinality: bool,
    },
}

/// `AS [NOT] MATERIALIZED` of a WITH query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CteMaterialize {
    Default,
    Always,
    Never,
}

/// What the references to one non-recursive WITH query share: the
/// statement's subquery that computes it once, how many references the
/// statement has (counted while it is analysed) and its `MATERIALIZED`.
#[derive(Clone, Debug)]
pub struct CteShared {
    pub subquery: usize,
    pub refs: std::rc::Rc<std::cell::Cell<usize>>,
    pub mode: CteMaterialize,
}

impl CteShared {
    /// PostgreSQL's rule for inlining a CTE (`SS_process_ctes`): `NOT
    /// MATERIALIZED`, or referenced once without `MATERIALIZED`; never
    /// when its query calls a volatile function (`volatile`), so that
    /// each of its rows is computed once. A CTE that reads an outer
    /// query's columns (`correlated`) is inlined here, since its one result
    /// would be stale for the next outer row.
    pub fn inline(&self, volatile: bool, correlated: bool) -> bool {
        if correlated {
            return true;
        }
        let by_mode = match self.mode {
            CteMaterialize::Never => true,
            CteMaterialize::Always => false,
            CteMaterialize::Default => self.refs.get() <= 1,
        };
        by_mode && !volatile
    }
}

/// One function of a FROM item's function list.
#[derive(Clone, Debug)]
pub struct RangeFunction {
    pub func: crate::sql::functions::FuncId,
    pub args: Vec<Expr>,
    /// The call's result type (record for a function of several columns).
    pub ty: Type,
    /// How many columns it contributes.
    pub ncols: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

/// The inputs of a set operation (PostgreSQL's `SetOperationStmt` tree).
#[derive(Clone, Debug)]
pub enum SetOpTree {
    /// A SELECT; `locs` are its output expressions' locations (for errors).
    Leaf {
        query: Box<Query>,
        locs: Vec<Option<usize>>,
    },
    /// `types` are the output column types both inputs are coerced to.
    Op {
        kind: SetOpKind,
        all: bool,
        left: Box<SetOpTree>,
        right: Box<SetOpTree>,
        types: Vec<(Type, i32)>,
    },
}

impl SetOpTree {
    pub fn column_types(&self) -> Vec<(Type, i32)> {
        match self {
            SetOpTree::Leaf { query, .. } => query
                .targets
                .iter()
                .filter(|t| !t.resjunk)
                .map(|t| (t.expr.ty(), t.expr.typmod()))
                .collect(),
            SetOpTree::Op { types, .. } => types.clone(),
        }
    }

    fn location(&self, col: usize) -> Option<usize> {
        match self {
            SetOpTree::Leaf { locs, .. } => locs.get(col).copied().flatten(),
            SetOpTree::Op { left, .. } => left.location(col),
        }
    }

    fn first_location(&self) -> Option<usize> {
        self.location(0)
    }
}

#[derive(Clone, Debug)]
pub struct TargetEntry {
    pub expr: Expr,
    pub name: String,
    /// Computed only for ORDER BY, not returned.
    pub resjunk: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SortClause {
    pub target: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Aggref {
    pub kind: AggKind,
    pub args: Vec<Expr>,
    pub arg_types: Vec<Type>,
    pub ty: Type,
    pub distinct: bool,
    /// ORDER BY inside the call: (expression, descending, nulls first).
    pub order: Vec<(Expr, bool, bool)>,
    pub filter: Option<Expr>,
    pub loc: Loc,
    /// `GROUPING(...)` ([`AggKind::Grouping`]): its arguments' indexes into
    /// the query's `group_by`, leftmost first (`args` is then empty).
    pub grouping_refs: Vec<usize>,
    /// An ordered-set aggregate's direct arguments (the fraction of
    /// `percentile_cont`, the hypothetical row of `rank`), over the
    /// aggregation's group key columns; `args` are then the WITHIN GROUP
    /// ordering columns, `order` their directions.
    pub direct_args: Vec<Expr>,
}

/// Where an expression appears (PostgreSQL's `ParseExprKind`): decides
/// whether aggregates are allowed and names the clause in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    SelectTarget,
    Where,
    Having,
    OrderBy,
    GroupBy,
    Limit,
    Offset,
    FromSubquery,
    Values,
    /// The single row of `INSERT ... VALUES (...)`, analysed like a target list.
    ValuesSingle,
    /// The parameters of `EXECUTE name (...)`.
    ExecuteParameter,
    Returning,
    UpdateSet,
    Default,
    /// A CHECK constraint's expression.
    Check,
    /// `COPY ... FROM ... WHERE`.
    CopyWhere,
    FromFunction,
    JoinOn,
    WindowPartition,
    WindowOrder,
    /// A frame offset: "ROWS", "RANGE" or "GROUPS".
    WindowFrame(&'static str),
}

impl ExprKind {
    fn clause(self) -> &'static str {
        match self {
            ExprKind::SelectTarget => "SELECT",
            ExprKind::Where => "WHERE",
            ExprKind::Having => "HAVING",
            ExprKind::OrderBy => "ORDER BY",
            ExprKind::GroupBy => "GROUP BY",
            ExprKind::Limit => "LIMIT",
            ExprKind::Offset => "OFFSET",
            ExprKind::FromSubquery => "FROM",
            ExprKind::Values | ExprKind::ValuesSingle => "VALUES",
            ExprKind::ExecuteParameter => "EXECUTE",
            ExprKind::Returning => "RETURNING",
            ExprKind::UpdateSet => "UPDATE",
            ExprKind::Default => "DEFAULT expressions",
            ExprKind::Check => "check constraints",
            ExprKind::CopyWhere => "COPY FROM WHERE conditions",
            ExprKind::FromFunction => "functions in FROM",
            ExprKind::JoinOn => "JOIN conditions",
            ExprKind::WindowPartition => "window PARTITION BY",
            ExprKind::WindowOrder => "window ORDER BY",
            ExprKind::WindowFrame("ROWS") => "window ROWS",
            ExprKind::WindowFrame("GROUPS") => "window GROUPS",
            ExprKind::WindowFrame(_) => "window RANGE",
        }
    }

    /// `check_srf_call_placement`: where a set-returning call may be
    /// (the target list, GROUP BY, ORDER BY; FROM at top level, checked
    /// by the FROM item).
    fn allows_srfs(self) -> bool {
        matches!(
            self,
            ExprKind::SelectTarget
                | ExprKind::GroupBy
                | ExprKind::OrderBy
                | ExprKind::FromFunction
                | ExprKind::ValuesSingle
        )
    }

    fn allows_aggregates(self) -> bool {
        matches!(
            self,
            ExprKind::SelectTarget
                | ExprKind::Having
                | ExprKind::OrderBy
                | ExprKind::WindowPartition
                | ExprKind::WindowOrder
        )
    }

    fn allows_window_functions(self) -> bool {
        matches!(self, ExprKind::SelectTarget | ExprKind::OrderBy)
    }
}

/// Per-SELECT analysis state (PostgreSQL's `ParseState`).
pub(crate) struct Scope {
    /// What names resolve to (`p_namespace`).
    ns: Vec<from::NsItem>,
    aggs: Vec<Aggref>,
    kind: ExprKind,
    in_agg: bool,
    /// The clauses of `UPDATE ... FROM` / `DELETE ... USING`, which also
    /// see the target table (the innermost outer level).
    sees_dml_target: bool,
    /// Set-returning calls analysed so far and the location of the last
    /// (`p_last_srf`): CASE, COALESCE, aggregates and FROM functions
    /// compare the count before and after their arguments.
    srf_count: usize,
    last_srf_loc: Option<usize>,
    /// `p_windowdefs`: the WINDOW clause, then inline OVER definitions.
    windowdefs: Vec<pg_query::protobuf::WindowDef>,
    winfuncs: Vec<WindowFuncRef>,
}

impl Scope {
    /// A scope without FROM items.
    pub(crate) fn new(kind: ExprKind) -> Scope {
        Scope {
            ns: Vec::new(),
            aggs: Vec::new(),
            kind,
            in_agg: false,
            sees_dml_target: false,
            srf_count: 0,
            last_srf_loc: None,
            windowdefs: Vec::new(),
            winfuncs: Vec::new(),
        }
    }

    /// A scope of one relation (the target of INSERT/UPDATE/DELETE).
    pub(crate) fn single(
        refname: &str,
        relname: &str,
        has_alias: bool,
        columns: &[ColumnDef],
        kind: ExprKind,
    ) -> Scope {
        let mut s = Scope::new(kind);
        s.ns = vec![from::NsItem::base(refname, relname, has_alias, columns, 0)];
        s
    }

    /// Whether an unqualified `name` names an input column.
    fn has_input_column(&self, name: &str) -> bool {
        self.ns
            .iter()
            .filter(|i| i.cols_visible)
            .any(|i| i.columns.iter().any(|c| c.name == name))
    }
}

pub struct Analyzer<'a> {
    pub ctx: &'a mut dyn ServerContext,
    /// The whole query string: locations are byte offsets into it.
    pub source: &'a str,
    pub fmt: SessionFormat,
    /// Subqueries in expressions, in order of [`Expr::SubLink`] indexes.
    pub subqueries: Vec<Query>,
    /// Enclosing queries' namespaces, for correlated subqueries.
    pub outer: OuterLevels,
    /// The statement's data-modifying WITH queries, in WITH order: run
    /// once each, before the statement, whether or not it reads them.
    pub modify_ctes: Vec<ModifyCte>,
    /// How many queries enclose the one being analysed (0 at the
    /// statement's top level, where alone a WITH may modify data).
    pub query_depth: usize,
}

impl<'a> Analyzer<'a> {
    /// An analyser of a statement whose parse-tree locations point into
    /// `source`, with the session's output settings.
    pub fn new(ctx: &'a mut dyn ServerContext, source: &'a str) -> Analyzer<'a> {
        let fmt = crate::sql::exec::session_format(ctx);
        Analyzer {
            ctx,
            source,
            fmt,
            subqueries: Vec::new(),
            outer: Default::default(),
            modify_ctes: Vec::new(),
            query_depth: 0,
        }
    }
}

/// PostgreSQL's `MaxTupleAttributeNumber`: the widest row a query may build.
pub const MAX_TUPLE_ATTRIBUTE_NUMBER: usize = 1664;

/// A target list (or RETURNING list) longer than a row may be is 54011.
pub fn check_target_list_length(n: usize) -> PgResult<()> {
    if n > MAX_TUPLE_ATTRIBUTE_NUMBER {
        return Err(PgError::error(
            sqlstate::TOO_MANY_COLUMNS,
            format!("target lists can have at most {MAX_TUPLE_ATTRIBUTE_NUMBER} entries"),
        ));
    }
    Ok(())
}

fn node_of(n: &Option<Box<pg_query::Node>>) -> Option<&NodeEnum> {
    n.as_ref().and_then(|n| n.node.as_ref())
}

impl<'a> Analyzer<'a> {
    pub fn error(&self, code: &'static str, msg: impl Into<String>, loc: Option<usize>) -> PgError {
        let e = PgError::error(code, msg);
        match loc {
            Some(l) => e.with_position(char_position(self.source, l)),
            None => e,
        }
    }

    /// 42803 unless the clause being analysed may hold aggregates;
    /// `what` is "aggregate functions" or "grouping operations".
    fn check_aggregate_placement(
        &self,
        scope: &Scope,
        what: &str,
        loc: Option<usize>,
    ) -> PgResult<()> {
        if scope.kind.allows_aggregates() {
            return Ok(());
        }
        Err(self.error(
            sqlstate::GROUPING_ERROR,
            format!("{what} are not allowed in {}", scope.kind.clause()),
            loc,
        ))
    }

    fn unsupported(&self, what: &str, loc: Option<usize>) -> PgError {
        self.error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("not supported by ferrogres yet: {what}"),
            loc,
        )
    }

    /// `transformWithClause` for non-recursive, read-only WITH queries:
    /// each body is analysed once here for its errors (as PostgreSQL does,
    /// referenced or not), then put in scope for the queries after it and
    /// the main query, which analyse it afresh where they reference it.
    /// Evaluating a CTE per reference gives PostgreSQL's results except
    /// for volatile functions in a CTE referenced more than once (PostgreSQL
    /// materialises those once), so `MATERIALIZED` is refused (0A000).
    /// `top`: the WITH of the statement itself, where data-modifying
    /// queries may be.
    fn transform_with(&mut self, with: &pg_query::protobuf::WithClause, top: bool) -> PgResult<()> {
        use pg_query::protobuf::CteMaterialize;
        let start = self.outer.ctes.len();
        for c in &with.ctes {
            let Some(NodeEnum::CommonTableExpr(cte)) = c.node.as_ref() else {
                continue;
            };
            let l = if cte.location >= 0 {
                Some(cte.location as usize)
            } else {
                None
            };
            if self.outer.ctes[start..]
                .iter()
                .any(|d| d.name == cte.ctename)
            {
                return Err(self.error(
                    "42712",
                    format!(
                        "WITH query name \"{}\" specified more than once",
                        cte.ctename
                    ),
                    l,
                ));
            }
            let Some(NodeEnum::SelectStmt(sel)) = node_of(&cte.ctequery) else {
                self.transform_modifying_cte(cte, top, l)?;
                continue;
            };
            let mode = match cte.ctematerialized {
                m if m == CteMaterialize::Always as i32 => self::CteMaterialize::Always,
                m if m == CteMaterialize::Never as i32 => self::CteMaterialize::Never,
                _ => self::CteMaterialize::Default,
            };
            let search_cycle =
                (cte.search_clause.is_some() || cte.cycle_clause.is_some()).then(|| {
                    search_cycle::SearchCycle {
                        search: cte.search_clause.clone(),
                        cycle: cte.cycle_clause.as_deref().cloned(),
                    }
                });
            if search_cycle.is_some() && !with.recursive {
                return Err(self.error(sqlstate::SYNTAX_ERROR, "WITH query is not recursive", l));
            }
            let def = from::CteDef {
                name: cte.ctename.clone(),
                query: sel.clone(),
                colnames: cte.aliascolnames.clone(),
                busy: true,
                recursive: with.recursive,
                work: None,
                work_used: false,
                shared: None,
                modifying: None,
                search_cycle,
            };
            // Analysed once for its errors; a self-reference is recursive.
            self.outer.ctes.push(def);
            let q = if with.recursive {
                let last = self.outer.ctes.len() - 1;
                self.outer.ctes[last].busy = false;
                let rv = pg_query::protobuf::RangeVar {
                    relname: cte.ctename.clone(),
                    inh: true,
                    relpersistence: "p".into(),
                    location: cte.location,
                    ..Default::default()
                };
                let rte = self.transform_cte_reference(&rv)?;
                self.outer.ctes[last].busy = true;
                // Only the column count matters below.
                let mut q = Query::of_targets(Vec::new());
                q.targets = rte
                    .columns
                    .iter()
                    .map(|c| TargetEntry {
                        expr: Expr::Const {
                            value: super::types::Datum::Null,
                            ty: c.ty,
                            typmod: c.typmod,
                            loc: Loc(None),
                        },
                        name: c.name.clone(),
                        resjunk: false,
                    })
                    .collect();
                Ok(q)
            } else {
                let d = self.outer.ctes.pop().expect("pushed");
                let mark = self.outer.forward_ctes.len();
                let pos = with
                    .ctes
                    .iter()
                    .position(|n| std::ptr::eq(n, c))
                    .unwrap_or(0);
                self.outer
                    .forward_ctes
                    .extend(
                        with.ctes[pos..]
                            .iter()
                            .filter_map(|n| match n.node.as_ref() {
                                Some(NodeEnum::CommonTableExpr(x)) => Some(x.ctename.clone()),
                                _ => None,
                            }),
                    );
                let q = self.analyze_select(sel);
                self.outer.forward_ctes.truncate(mark);
                self.outer.ctes.push(d);
                q
            }?;
            let outputs = q.targets.iter().filter(|t| !t.resjunk).count();
            if cte.aliascolnames.len() > outputs {
                return Err(self.error(
                    "42P10",
                    format!(
                        "WITH query \"{}\" has {outputs} columns available but {} columns specified",
                        cte.ctename,
                        cte.aliascolnames.len()
                    ),
                    l,
                ));
            }
            if !with.recursive {
                // This analysis is also the query every materialised
                // reference reads.
                self.subqueries.push(q);
                self.outer.ctes.last_mut().expect("pushed").shared = Some(CteShared {
                    subquery: self.subqueries.len() - 1,
                    refs: Default::default(),
                    mode,
                });
            }
            // A WITH RECURSIVE query is computed per reference either way
            // (PostgreSQL never inlines it; see the README).
            self.outer.ctes.last_mut().expect("pushed").busy = false;
        }
        Ok(())
    }

    /// `transformSelectStmt` (and `transformValuesClause`,
    /// `transformSetOperationStmt` for VALUES and UNION/INTERSECT/EXCEPT).
    pub fn analyze_select(&mut self, stmt: &SelectStmt) -> PgResult<Query> {
        self.analyze_select_ext(stmt, true)
    }

    /// `resolve_unknowns` false keeps unknown-type output columns unknown, as
    /// set-operation leaves need (the set operation decides their type).
    fn analyze_select_ext(&mut self, stmt: &SelectStmt, resolve_unknowns: bool) -> PgResult<Query> {
        crate::utils::stack::check_stack_depth()?;
        if let Some(with) = &stmt.with_clause {
            let mark = self.outer.ctes.len();
            let top = self.query_depth == 0;
            let r = self.transform_with(with, top).and_then(|()| {
                let mut body = stmt.clone();
                body.with_clause = None;
                self.analyze_select_ext(&body, resolve_unknowns)
            });
            self.outer.ctes.truncate(mark);
            return r;
        }
        self.query_depth += 1;
        let r = self.analyze_select_body(stmt, resolve_unknowns);
        self.query_depth -= 1;
        r
    }

    fn analyze_select_body(
        &mut self,
        stmt: &SelectStmt,
        resolve_unknowns: bool,
    ) -> PgResult<Query> {
        if stmt.into_clause.is_some() {
            return Err(self.unsupported("SELECT INTO", None));
        }
        let limit_with_ties = stmt.limit_option == pg_query::protobuf::LimitOption::WithTies as i32;

        // FROM (a set operation or VALUES list acts as the FROM item of a `SELECT *`).
        let is_set_op = stmt.op != pg_query::protobuf::SetOperation::SetopNone as i32;
        let select_star = is_set_op || !stmt.values_lists.is_empty();
        let (from, ns) = if is_set_op || !stmt.values_lists.is_empty() {
            let rte = if is_set_op {
                self.transform_set_operation(stmt)?
            } else {
                self.transform_values(&stmt.values_lists)?
            };
            let mut item =
                from::NsItem::base(&rte.refname, &rte.relname, rte.has_alias, &rte.columns, 0);
            item.rel_visible = !rte.refname.is_empty();
            (Some(FromTree::Rte(rte)), vec![item])
        } else {
            self.transform_from_clause(&stmt.from_clause)?
        };
        let lock = self.transform_locking(stmt, from.as_ref())?;
        let mut scope = Scope::new(ExprKind::SelectTarget);
        scope.ns = ns;
        // The WINDOW clause is visible to the window functions' OVER.
        for w in &stmt.window_clause {
            if let Some(NodeEnum::WindowDef(def)) = w.node.as_ref() {
                scope.windowdefs.push((**def).clone());
            }
        }

        // Target list; unknown-type outputs become text (resolveTargetListUnknowns).
        let mut targets = if select_star {
            let Some(FromTree::Rte(rte)) = from.as_ref() else {
                unreachable!("set operations and VALUES have a FROM item")
            };
            rte.columns
                .iter()
                .enumerate()
                .map(|(i, c)| TargetEntry {
                    expr: Expr::Column {
                        index: i,
                        ty: c.ty,
                        typmod: c.typmod,
                        name: c.name.clone(),
                        loc: Loc(None),
                    },
                    name: c.name.clone(),
                    resjunk: false,
                })
                .collect()
        } else {
            self.transform_target_list(&mut scope, &stmt.target_list)?
        };
        check_target_list_length(targets.len())?;
        for t in targets.iter_mut().filter(|_| resolve_unknowns) {
            if t.expr.ty() == Type::Unknown {
                let e = std::mem::replace(&mut t.expr, Expr::CaseTest { ty: Type::Unknown });
                t.expr = self.coerce(
                    e,
                    Type::Text,
                    -1,
                    super::adt::CoercionContext::Implicit,
                    None,
                )?;
            }
        }

        // WHERE, HAVING.
        scope.kind = ExprKind::Where;
        let where_qual = match node_of(&stmt.where_clause) {
            Some(n) => {
                let e = self.transform_expr(&mut scope, n)?;
                Some(self.coerce_to_boolean(e, "WHERE", names::raw_location(n))?)
            }
            None => None,
        };
        scope.kind = ExprKind::Having;
        let having = match node_of(&stmt.having_clause) {
            Some(n) => {
                let e = self.transform_expr(&mut scope, n)?;
                Some(self.coerce_to_boolean(e, "HAVING", names::raw_location(n))?)
            }
            None => None,
        };

        // ORDER BY (may add resjunk targets), GROUP BY.
        scope.kind = ExprKind::OrderBy;
        let mut sort = Vec::new();
        let mut sort_locs = Vec::new();
        for item in &stmt.sort_clause {
            let Some(NodeEnum::SortBy(sb)) = item.node.as_ref() else {
                continue;
            };
            let node = node_of(&sb.node).expect("SortBy has an expression");
            let target = self.find_target(&mut scope, &mut targets, node, true)?;
            let key = targets[target].expr.clone();
            let (descending, nulls_first) = self.sort_order(sb, &key)?;
            if !targets[target].expr.ty().is_sortable() {
                return Err(self
                    .error(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!(
                            "could not identify an ordering operator for type {}",
                            targets[target].expr.ty().name()
                        ),
                        names::raw_location(node),
                    )
                    .with_hint("Use an explicit ordering operator or modify the query."));
            }
            if is_set_op && targets[target].resjunk {
                return Err(self
                    .error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
                        names::raw_location(node),
                    )
                    .with_detail("Only result column names can be used, not expressions or functions.")
                    .with_hint("Add the expression/function to every SELECT, or move the UNION into a FROM clause."));
            }
            sort.push(SortClause {
                target,
                descending,
                nulls_first,
            });
            sort_locs.push(names::raw_location(node));
        }
        scope.kind = ExprKind::GroupBy;
        let mut group_by: Vec<Expr> = Vec::new();
        let mut items: Vec<Vec<Vec<usize>>> = Vec::new();
        let mut has_sets = false;
        for item in &stmt.group_clause {
            let Some(node) = item.node.as_ref() else {
                continue;
            };
            has_sets |= matches!(node, NodeEnum::GroupingSet(_));
            items.push(self.expand_group_item(
                &mut scope,
                &mut targets,
                node,
                &mut group_by,
                true,
            )?);
        }
        // One set naming every expression is a plain GROUP BY (as in
        // PostgreSQL, which then drops the grouping sets).
        let mut grouping_sets = None;
        let mut empty_grouping_set = false;
        if has_sets {
            let sets = self.combine_grouping_sets(items, stmt.group_distinct)?;
            if sets.len() == 1 && sets[0].len() == group_by.len() {
                empty_grouping_set = group_by.is_empty();
            } else {
                grouping_sets = Some(sets);
            }
        }

        // DISTINCT.
        let mut distinct = !stmt.distinct_clause.is_empty();
        let mut distinct_on: Vec<usize> = Vec::new();
        if distinct && stmt.distinct_clause.iter().any(|n| n.node.is_some()) {
            // transformDistinctOnClause: the targets, which must be the
            // leading ORDER BY items (in any order); those not ordered by
            // are sorted after the ORDER BY, ascending.
            distinct = false;
            scope.kind = ExprKind::OrderBy;
            let mut locs = Vec::new();
            for n in &stmt.distinct_clause {
                let Some(node) = n.node.as_ref() else {
                    continue;
                };
                let idx = self.find_target(&mut scope, &mut targets, node, true)?;
                if !distinct_on.contains(&idx) {
                    distinct_on.push(idx);
                    locs.push(names::raw_location(node));
                }
            }
            let mut skipped = false;
            for s in &sort {
                match distinct_on.iter().position(|t| *t == s.target) {
                    Some(j) if skipped => {
                        return Err(self.error(
                            "42P10",
                            "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                            locs[j],
                        ));
                    }
                    Some(_) => {}
                    None => skipped = true,
                }
            }
            for (j, &t) in distinct_on.iter().enumerate() {
                if !sort.iter().any(|s| s.target == t) {
                    if skipped {
                        return Err(self.error(
                            "42P10",
                            "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                            locs[j],
                        ));
                    }
                    sort.push(SortClause {
                        target: t,
                        descending: false,
                        nulls_first: false,
                    });
                }
            }
        }
        if distinct {
            for (s, loc) in sort.iter().zip(&sort_locs) {
                if targets[s.target].resjunk {
                    return Err(self.error(
                        "42P10",
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                        *loc,
                    ));
                }
            }
        }

        // LIMIT / OFFSET.
        scope.kind = ExprKind::Offset;
        let limit_offset = match node_of(&stmt.limit_offset) {
            Some(n) => Some(self.transform_limit(&mut scope, n, "OFFSET")?),
            None => None,
        };
        scope.kind = ExprKind::Limit;
        let limit_count = match node_of(&stmt.limit_count) {
            Some(n) => Some(self.transform_limit(&mut scope, n, "LIMIT")?),
            None => None,
        };

        // The windows, now that every window function has been seen.
        let mut sortgroup: Vec<Expr> = Vec::new();
        for e in sort
            .iter()
            .map(|s| &targets[s.target].expr)
            .chain(group_by.iter())
        {
            let bare = expr::strip_locations(e.clone());
            if !sortgroup.contains(&bare) {
                sortgroup.push(bare);
            }
        }
        let mut windows = self.transform_window_definitions(&mut scope, &mut sortgroup)?;
        let mut window_funcs = std::mem::take(&mut scope.winfuncs);

        // Grouping check and rewrite above the aggregation.
        let has_grouping = !scope.aggs.is_empty()
            || !group_by.is_empty()
            || having.is_some()
            || empty_grouping_set
            || grouping_sets.is_some();
        let with_what = if !scope.aggs.is_empty() {
            Some("aggregate functions")
        } else if !window_funcs.is_empty() {
            Some("window functions")
        } else {
            None
        };
        if lock.is_some()
            && let Some(with_what) = with_what
        {
            let what = match stmt.locking_clause.first().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::LockingClause(lc))
                    if lc.strength
                        == pg_query::protobuf::LockClauseStrength::LcsForshare as i32 =>
                {
                    "FOR SHARE"
                }
                _ => "FOR UPDATE",
            };
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("{what} is not allowed with {with_what}"),
                None,
            ));
        }
        let mut having = having;
        if has_grouping {
            self.resolve_grouping_funcs(&mut scope.aggs, &group_by)?;
            for i in 0..scope.aggs.len() {
                let direct = std::mem::take(&mut scope.aggs[i].direct_args);
                let mut out = Vec::with_capacity(direct.len());
                for e in direct {
                    out.push(
                        self.rewrite_for_grouping(e, &group_by, &scope.aggs)
                            .map_err(|err| {
                                if err.sqlstate == sqlstate::GROUPING_ERROR {
                                    err.with_detail("Direct arguments of an ordered-set aggregate must use only grouped columns.")
                                } else {
                                    err
                                }
                            })?,
                    );
                }
                scope.aggs[i].direct_args = out;
            }
            let regroup = |this: &Self, e: &mut Expr| -> PgResult<()> {
                let taken = std::mem::replace(e, Expr::CaseTest { ty: Type::Unknown });
                *e = this.rewrite_for_grouping(taken, &group_by, &scope.aggs)?;
                Ok(())
            };
            for t in &mut targets {
                let e = std::mem::replace(&mut t.expr, Expr::CaseTest { ty: Type::Unknown });
                t.expr = self.rewrite_for_grouping(e, &group_by, &scope.aggs)?;
            }
            if let Some(h) = having.take() {
                having = Some(self.rewrite_for_grouping(h, &group_by, &scope.aggs)?);
            }
            for f in &mut window_funcs {
                for e in &mut f.args {
                    regroup(self, e)?;
                }
                if let Some(e) = &mut f.filter {
                    regroup(self, e)?;
                }
            }
            for w in &mut windows {
                for e in &mut w.partition {
                    regroup(self, e)?;
                }
                for (e, _, _) in &mut w.order {
                    regroup(self, e)?;
                }
            }
        }

        Ok(Query {
            from,
            where_qual,
            group_by,
            grouping_sets,
            aggregates: scope.aggs,
            has_grouping,
            having,
            window_funcs,
            windows,
            targets,
            sort,
            distinct,
            distinct_on,
            limit_count,
            limit_offset,
            limit_with_ties,
            lock,
        })
    }

    /// `transformLockingClause`: FOR UPDATE / FOR SHARE of the FROM table.
    fn transform_locking(
        &self,
        stmt: &SelectStmt,
        from: Option<&FromTree>,
    ) -> PgResult<Option<super::tables::RowLockMode>> {
        use super::tables::RowLockMode;
        use pg_query::protobuf::{LockClauseStrength, LockWaitPolicy};
        let mut mode: Option<RowLockMode> = None;
        for item in &stmt.locking_clause {
            let Some(NodeEnum::LockingClause(lc)) = item.node.as_ref() else {
                continue;
            };
            let strength = LockClauseStrength::try_from(lc.strength)
                .unwrap_or(LockClauseStrength::LcsForupdate);
            let what = match strength {
                LockClauseStrength::LcsForkeyshare => "FOR KEY SHARE",
                LockClauseStrength::LcsForshare => "FOR SHARE",
                LockClauseStrength::LcsFornokeyupdate => "FOR NO KEY UPDATE",
                _ => "FOR UPDATE",
            };
            if stmt.op != pg_query::protobuf::SetOperation::SetopNone as i32 {
                return Err(self.error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("{what} is not allowed with UNION/INTERSECT/EXCEPT"),
                    None,
                ));
            }
            if !stmt.distinct_clause.is_empty() {
                return Err(self.error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("{what} is not allowed with DISTINCT clause"),
                    None,
                ));
            }
            if !stmt.group_clause.is_empty() {
                return Err(self.error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("{what} is not allowed with GROUP BY clause"),
                    None,
                ));
            }
            if stmt.having_clause.is_some() {
                return Err(self.error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("{what} is not allowed with HAVING clause"),
                    None,
                ));
            }
            if LockWaitPolicy::try_from(lc.wait_policy).unwrap_or(LockWaitPolicy::LockWaitBlock)
                != LockWaitPolicy::LockWaitBlock
            {
                return Err(self.unsupported("NOWAIT and SKIP LOCKED", None));
            }
            if !lc.locked_rels.is_empty() {
                return Err(self.unsupported(&format!("{what} OF"), None));
            }
            let is_table = matches!(
                from,
                Some(FromTree::Rte(RangeTblEntry {
                    source: RteSource::Relation(Relation {
                        source: super::catalog::RelationSource::Table(_),
                        ..
                    }),
                    ..
                }))
            );
            if matches!(from, Some(FromTree::Join { .. })) {
                return Err(self.unsupported(&format!("{what} with joins"), None));
            }
            if !is_table {
                return Err(self.unsupported(&format!("{what} of anything but a table"), None));
            }
            if let Some(FromTree::Rte(RangeTblEntry {
                source:
                    RteSource::Relation(Relation {
                        source: super::catalog::RelationSource::Table(t),
                        ..
                    }),
                ..
            })) = from
                && t.relkind == 'S'
            {
                return Err(self.error(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("cannot lock rows in sequence \"{}\"", t.name),
                    None,
                ));
            }
            let m = match strength {
                LockClauseStrength::LcsForkeyshare | LockClauseStrength::LcsForshare => {
                    RowLockMode::Share
                }
                _ => RowLockMode::Update,
            };
            // The strongest of several clauses wins.
            mode = Some(match (mode, m) {
                (Some(RowLockMode::Update), _) | (_, RowLockMode::Update) => RowLockMode::Update,
                _ => RowLockMode::Share,
            });
        }
        Ok(mode)
    }

    /// `check_ungrouped_columns` + replacing grouped expressions and
    /// aggregates by columns of the aggregation's output.
    fn rewrite_for_grouping(&self, e: Expr, group_by: &[Expr], aggs: &[Aggref]) -> PgResult<Expr> {
        let ngroups = group_by.len();
        e.rewrite(&mut |x: &Expr| -> PgResult<Option<Expr>> {
            // Outer columns a correlated subquery reads must be grouped too.
            if let Expr::SubLink {
                index,
                kind,
                ty,
                params,
                correlated,
            } = x
                && !params.is_empty()
            {
                let mut out = Vec::with_capacity(params.len());
                for (slot, p) in params {
                    let r = self.rewrite_for_grouping(p.clone(), group_by, aggs).map_err(|err| {
                        match p {
                            Expr::Column { name, loc, .. }
                                if err.sqlstate == sqlstate::GROUPING_ERROR =>
                            {
                                self.error(
                                    sqlstate::GROUPING_ERROR,
                                    format!("subquery uses ungrouped column \"{name}\" from outer query"),
                                    loc.0,
                                )
                            }
                            _ => err,
                        }
                    })?;
                    out.push((*slot, r));
                }
                let kind = match kind {
                    super::expr::SubLinkKind::Any { cmp } => super::expr::SubLinkKind::Any {
                        cmp: Box::new(self.rewrite_for_grouping((**cmp).clone(), group_by, aggs)?),
                    },
                    super::expr::SubLinkKind::All { cmp } => super::expr::SubLinkKind::All {
                        cmp: Box::new(self.rewrite_for_grouping((**cmp).clone(), group_by, aggs)?),
                    },
                    k => k.clone(),
                };
                return Ok(Some(Expr::SubLink {
                    index: *index,
                    kind,
                    ty: *ty,
                    params: out,
                    correlated: *correlated,
                }));
            }
            if let Some(i) = group_by.iter().position(|g| g == x) {
                return Ok(Some(Expr::Column {
                    index: i,
                    ty: x.ty(),
                    typmod: x.typmod(),
                    name: String::new(),
                    loc: Loc(None),
                }));
            }
            match x {
                Expr::Agg { index: j, .. } => Ok(Some(Expr::Column {
                    index: ngroups + j,
                    ty: aggs[*j].ty,
                    typmod: -1,
                    name: String::new(),
                    loc: Loc(None),
                })),
                Expr::Column { name, loc, .. } => Err(self.error(
                    sqlstate::GROUPING_ERROR,
                    format!("column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                    loc.0,
                )),
                _ => Ok(None),
            }
        })
    }

    fn transform_limit(
        &mut self,
        scope: &mut Scope,
        node: &NodeEnum,
        clause: &str,
    ) -> PgResult<Expr> {
        let e = self.transform_expr(scope, node)?;
        let loc = names::raw_location(node);
        if e.any(&|x| matches!(x, Expr::Column { .. })) {
            let col_loc = first_column_loc(&e).or(loc);
            return Err(self.error(
                "42P10",
                format!("argument of {clause} must not contain variables"),
                col_loc,
            ));
        }
        self.coerce_to_specific(e, Type::Int8, clause, loc)
    }

    // --- VALUES and set operations -------------------------------------------

    /// `transformValuesClause`: each column gets the common type of its rows.
    fn transform_values(&mut self, lists: &[pg_query::Node]) -> PgResult<RangeTblEntry> {
        let mut scope = Scope::new(ExprKind::Values);
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        let mut locs: Vec<Vec<Option<usize>>> = Vec::new();
        for list in lists {
            let Some(NodeEnum::List(l)) = list.node.as_ref() else {
                continue;
            };
            let mut row = Vec::new();
            let mut row_locs = Vec::new();
            for item in &l.items {
                let n = item.node.as_ref().expect("VALUES item");
                if let NodeEnum::SetToDefault(d) = n {
                    let loc = if d.location >= 0 {
                        Some(d.location as usize)
                    } else {
                        None
                    };
                    return Err(self.error(
                        sqlstate::SYNTAX_ERROR,
                        "DEFAULT is not allowed in this context",
                        loc,
                    ));
                }
                row.push(self.transform_expr(&mut scope, n)?);
                row_locs.push(names::raw_location(n));
            }
            if let Some(first) = rows.first()
                && first.len() != row.len()
            {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "VALUES lists must all be the same length",
                    row_locs.first().copied().flatten(),
                ));
            }
            rows.push(row);
            locs.push(row_locs);
        }
        let ncols = rows.first().map(|r| r.len()).unwrap_or(0);
        let mut columns = Vec::with_capacity(ncols);
        let mut by_col: Vec<Vec<Expr>> = vec![Vec::new(); ncols];
        for row in rows {
            for (c, e) in row.into_iter().enumerate() {
                by_col[c].push(e);
            }
        }
        let mut coerced_cols = Vec::with_capacity(ncols);
        for (c, exprs) in by_col.into_iter().enumerate() {
            let col_locs: Vec<Option<usize>> = locs.iter().map(|l| l[c]).collect();
            let (exprs, ty) = self.coerce_to_common(exprs, &col_locs, "VALUES")?;
            let typmod = common_typmod(&exprs);
            columns.push(ColumnDef {
                name: format!("column{}", c + 1),
                ty,
                typmod,
            });
            coerced_cols.push(exprs);
        }
        let nrows = coerced_cols.first().map(|c| c.len()).unwrap_or(0);
        let mut out_rows: Vec<Vec<Expr>> = (0..nrows).map(|_| Vec::with_capacity(ncols)).collect();
        for col in coerced_cols {
            for (r, e) in col.into_iter().enumerate() {
                out_rows[r].push(e);
            }
        }
        Ok(RangeTblEntry {
            refname: "*VALUES*".into(),
            relname: "*VALUES*".into(),
            has_alias: false,
            columns,
            source: RteSource::Values(out_rows),
        })
    }

    /// `transformSetOperationStmt`: the tree of UNION/INTERSECT/EXCEPT with
    /// each output column's type chosen by `select_common_type`.
    fn transform_set_operation(&mut self, stmt: &SelectStmt) -> PgResult<RangeTblEntry> {
        let (tree, names) = self.transform_set_op_tree(stmt)?;
        let types = tree.column_types();
        let columns = names
            .into_iter()
            .zip(types)
            .map(|(name, (ty, typmod))| ColumnDef { name, ty, typmod })
            .collect();
        Ok(RangeTblEntry {
            refname: String::new(),
            relname: String::new(),
            has_alias: false,
            columns,
            source: RteSource::SetOp(Box::new(tree)),
        })
    }

    /// Returns the tree and the output column names (from the leftmost leaf).
    fn transform_set_op_tree(&mut self, stmt: &SelectStmt) -> PgResult<(SetOpTree, Vec<String>)> {
        crate::utils::stack::check_stack_depth()?;
        use pg_query::protobuf::SetOperation;
        let op = SetOperation::try_from(stmt.op).unwrap_or(SetOperation::SetopNone);
        // A leaf: a plain SELECT (the top node's own ORDER BY/LIMIT belong to the whole).
        if op == SetOperation::SetopNone || op == SetOperation::Undefined {
            let q = self.analyze_select_ext(stmt, false)?;
            let names = q
                .targets
                .iter()
                .filter(|t| !t.resjunk)
                .map(|t| t.name.clone())
                .collect();
            let locs = stmt
                .target_list
                .iter()
                .filter_map(|n| n.node.as_ref())
                .map(|n| match n {
                    NodeEnum::ResTarget(rt) => rt
                        .val
                        .as_ref()
                        .and_then(|v| v.node.as_ref())
                        .and_then(names::raw_location),
                    other => names::raw_location(other),
                })
                .collect();
            return Ok((
                SetOpTree::Leaf {
                    query: Box::new(q),
                    locs,
                },
                names,
            ));
        }
        let context = match op {
            SetOperation::SetopUnion => "UNION",
            SetOperation::SetopIntersect => "INTERSECT",
            _ => "EXCEPT",
        };
        let larg = stmt.larg.as_ref().expect("set operation has a left input");
        let rarg = stmt.rarg.as_ref().expect("set operation has a right input");
        let (mut left, names) = self.transform_set_op_tree(larg)?;
        let (mut right, _) = self.transform_set_op_tree(rarg)?;
        let ltypes = left.column_types();
        let rtypes = right.column_types();
        if ltypes.len() != rtypes.len() {
            return Err(self.error(
                sqlstate::SYNTAX_ERROR,
                format!("each {context} query must have the same number of columns"),
                right.first_location(),
            ));
        }
        let mut types = Vec::with_capacity(ltypes.len());
        for (i, ((lt, lm), (rt, rm))) in ltypes.iter().zip(&rtypes).enumerate() {
            let ty = match select_common_type(&[*lt, *rt]) {
                Ok(t) => t,
                Err((p, n, _)) => {
                    return Err(self.error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!(
                            "{context} types {} and {} cannot be matched",
                            p.name(),
                            n.name()
                        ),
                        right.location(i),
                    ));
                }
            };
            for (side, t) in [(&mut left, *lt), (&mut right, *rt)] {
                if t != ty
                    && t != Type::Unknown
                    && !super::adt::can_coerce(t, ty, super::adt::CoercionContext::Implicit)
                {
                    return Err(self.error(
                        "42846",
                        format!(
                            "{context} could not convert type {} to {}",
                            t.name(),
                            ty.name()
                        ),
                        side.location(i),
                    ));
                }
                self.coerce_set_op_leaf_const(side, i, ty)?;
            }
            types.push((ty, if lm == rm { *lm } else { -1 }));
        }
        let kind = match op {
            SetOperation::SetopUnion => SetOpKind::Union,
            SetOperation::SetopIntersect => SetOpKind::Intersect,
            _ => SetOpKind::Except,
        };
        Ok((
            SetOpTree::Op {
                kind,
                all: stmt.all,
                left: Box::new(left),
                right: Box::new(right),
                types,
            },
            names,
        ))
    }

    /// An unknown-type literal output of a leaf takes the set operation's
    /// type now, so that a bad literal is reported at its position.
    fn coerce_set_op_leaf_const(
        &mut self,
        tree: &mut SetOpTree,
        col: usize,
        ty: Type,
    ) -> PgResult<()> {
        if let SetOpTree::Leaf { query, locs } = tree {
            let visible: Vec<usize> = (0..query.targets.len())
                .filter(|&k| !query.targets[k].resjunk)
                .collect();
            let t = &mut query.targets[visible[col]];
            if t.expr.ty() == Type::Unknown {
                let e = std::mem::replace(&mut t.expr, Expr::CaseTest { ty: Type::Unknown });
                t.expr = self.coerce(
                    e,
                    ty,
                    -1,
                    super::adt::CoercionContext::Implicit,
                    locs.get(col).copied().flatten(),
                )?;
            }
        }
        Ok(())
    }

    // --- FROM ---------------------------------------------------------------

    fn apply_alias_colnames(
        &self,
        columns: &mut [ColumnDef],
        colnames: &[pg_query::Node],
        alias: &str,
        loc: Option<usize>,
    ) -> PgResult<()> {
        if colnames.len() > columns.len() {
            return Err(self.error(
                "42P10",
                format!(
                    "table \"{alias}\" has {} columns available but {} columns specified",
                    columns.len(),
                    colnames.len()
                ),
                loc,
            ));
        }
        for (c, n) in columns.iter_mut().zip(colnames) {
            if let Some(NodeEnum::String(s)) = n.node.as_ref() {
                c.name = s.sval.clone();
            }
        }
        Ok(())
    }

    /// Where `( SELECT ...` of a FROM subquery starts: the grammar reports
    /// errors there, but the raw tree keeps no location for it, so scan back
    /// from the subquery's first target to the outermost opening parenthesis.
    fn subquery_paren_location(&self, sel: &SelectStmt) -> Option<usize> {
        let first = first_select_location(sel)?;
        let lower = self.source[..first.min(self.source.len())].to_ascii_lowercase();
        let keyword = lower
            .rfind("select")
            .into_iter()
            .chain(lower.rfind("values"))
            .max()?;
        let bytes = self.source.as_bytes();
        let mut outer = None;
        let mut i = keyword;
        while i > 0 {
            i -= 1;
            match bytes[i] {
                b'(' => outer = Some(i),
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ => break,
            }
        }
        outer
    }

    // --- target list ----------------------------------------------------------

    fn transform_target_list(
        &mut self,
        scope: &mut Scope,
        list: &[pg_query::Node],
    ) -> PgResult<Vec<TargetEntry>> {
        let mut out = Vec::new();
        for item in list {
            let Some(NodeEnum::ResTarget(rt)) = item.node.as_ref() else {
                continue;
            };
            let val = node_of(&rt.val).expect("ResTarget has a value");
            if let NodeEnum::ColumnRef(cr) = val
                && let Some(last) = cr.fields.last()
                && matches!(last.node, Some(NodeEnum::AStar(_)))
            {
                out.extend(self.expand_star(scope, cr)?);
                continue;
            }
            let expr = self.transform_expr(scope, val)?;
            let name = if rt.name.is_empty() {
                names::figure_colname(Some(val))
            } else {
                rt.name.clone()
            };
            out.push(TargetEntry {
                expr,
                name,
                resjunk: false,
            });
        }
        Ok(out)
    }

    /// Whether `t`, `s.t` or `db.s.t` names FROM item `item` (a schema
    /// only for a relation without alias, in its own schema).
    pub(crate) fn qualifier_matches(&self, qual: &[String], item: &from::NsItem) -> bool {
        let schema_ok = |s: &String| !item.has_alias && item.schema.as_deref() == Some(s.as_str());
        match qual {
            [t] => *t == item.refname,
            [s, t] => schema_ok(s) && *t == item.relname,
            [c, s, t] => schema_ok(s) && *t == item.relname && *c == self.ctx.current_database(),
            _ => false,
        }
    }

    pub(crate) fn missing_from_entry(
        &self,
        qual: &[String],
        relname: &str,
        refname: &str,
        has_alias: bool,
        loc: Option<usize>,
    ) -> PgError {
        let table = qual.last().cloned().unwrap_or_default();
        if has_alias && table == relname {
            return self
                .error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("invalid reference to FROM-clause entry for table \"{table}\""),
                    loc,
                )
                .with_hint(format!(
                    "Perhaps you meant to reference the table alias \"{refname}\"."
                ));
        }
        self.error(
            sqlstate::UNDEFINED_TABLE,
            format!("missing FROM-clause entry for table \"{table}\""),
            loc,
        )
    }

    /// `findTargetlistEntrySQL92` (ORDER BY / GROUP BY items): an output
    /// column name or position, else an expression (added as a resjunk
    /// target if not already in the list). Returns the target index.
    fn find_target(
        &mut self,
        scope: &mut Scope,
        targets: &mut Vec<TargetEntry>,
        node: &NodeEnum,
        order_by: bool,
    ) -> PgResult<usize> {
        let clause = if order_by { "ORDER BY" } else { "GROUP BY" };
        if let NodeEnum::ColumnRef(cr) = node
            && let [single] = cr.fields.as_slice()
            && let Some(NodeEnum::String(s)) = single.node.as_ref()
        {
            let name = &s.sval;
            // GROUP BY prefers an input column of that name (SQL99).
            let input_has = !order_by && scope.has_input_column(name);
            if !input_has {
                let mut found: Option<usize> = None;
                for (i, t) in targets.iter().enumerate() {
                    if !t.resjunk && &t.name == name {
                        match found {
                            None => found = Some(i),
                            Some(j) if targets[j].expr != t.expr => {
                                let loc = if cr.location >= 0 {
                                    Some(cr.location as usize)
                                } else {
                                    None
                                };
                                return Err(self.error(
                                    sqlstate::AMBIGUOUS_COLUMN,
                                    format!("{clause} \"{name}\" is ambiguous"),
                                    loc,
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                }
                if let Some(i) = found {
                    return Ok(i);
                }
            }
        }
        if let NodeEnum::AConst(c) = node {
            let loc = if c.location >= 0 {
                Some(c.location as usize)
            } else {
                None
            };
            match &c.val {
                Some(pg_query::protobuf::a_const::Val::Ival(i)) => {
                    let pos = i.ival;
                    let visible: Vec<usize> = (0..targets.len())
                        .filter(|&k| !targets[k].resjunk)
                        .collect();
                    if pos < 1 || pos as usize > visible.len() {
                        return Err(self.error(
                            "42P10",
                            format!("{clause} position {pos} is not in select list"),
                            loc,
                        ));
                    }
                    return Ok(visible[pos as usize - 1]);
                }
                _ if !c.isnull => {
                    return Err(self.error(
                        sqlstate::SYNTAX_ERROR,
                        format!("non-integer constant in {clause}"),
                        loc,
                    ));
                }
                _ => {}
            }
        }
        let e = self.transform_expr(scope, node)?;
        if let Some(i) = targets.iter().position(|t| t.expr == e) {
            return Ok(i);
        }
        let e = if e.ty() == Type::Unknown {
            self.coerce(
                e,
                Type::Text,
                -1,
                super::adt::CoercionContext::Implicit,
                None,
            )?
        } else {
            e
        };
        targets.push(TargetEntry {
            expr: e,
            name: names::figure_colname(Some(node)),
            resjunk: true,
        });
        Ok(targets.len() - 1)
    }
}

/// The location of the first expression of a SELECT, VALUES or set operation.
fn first_select_location(sel: &SelectStmt) -> Option<usize> {
    if let Some(l) = sel
        .target_list
        .iter()
        .filter_map(|n| n.node.as_ref())
        .filter_map(names::raw_location)
        .min()
    {
        return Some(l);
    }
    if let Some(NodeEnum::List(l)) = sel.values_lists.first().and_then(|n| n.node.as_ref()) {
        return l
            .items
            .iter()
            .filter_map(|n| n.node.as_ref())
            .filter_map(names::raw_location)
            .min();
    }
    sel.larg.as_ref().and_then(|l| first_select_location(l))
}

fn common_typmod(exprs: &[Expr]) -> i32 {
    match exprs.first() {
        Some(f) if exprs.iter().all(|e| e.typmod() == f.typmod()) => f.typmod(),
        _ => -1,
    }
}

fn first_column_loc(e: &Expr) -> Option<usize> {
    if let Expr::Column { loc, .. } = e {
        return loc.0;
    }
    let mut found = None;
    e.for_each_child(&mut |c| {
        if found.is_none() {
            found = first_column_loc(c);
        }
    });
    found
}
