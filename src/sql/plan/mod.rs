//! Planning: an analysed [`Query`] becomes a tree of [`Plan`] nodes, the
//! way PostgreSQL's `grouping_planner` stacks paths, but without
//! alternatives to cost: there is one way to run each query today.
//!
//! ```text
//!   Limit                 LIMIT / OFFSET
//!    └ Sort               ORDER BY (stable, on projected columns)
//!       └ Unique          DISTINCT (first occurrence of each row)
//!          └ Project      target list, plus resjunk sort columns
//!             └ Filter    HAVING
//!                └ Agg    GROUP BY / aggregates (hashed, first-seen order)
//!                   └ Filter      WHERE
//!                      └ SeqScan  relation (or SubqueryScan, ValuesScan,
//!                                 SetOp over two plans, or Result)
//! ```
//!
//! Subqueries in expressions are planned separately (one plan per
//! `Expr::SubLink`); uncorrelated ones run once, like PostgreSQL's
//! InitPlans, correlated ones once per evaluation, like SubPlans.
//!
//! A final Project drops resjunk columns when the query has any.
//!
//! **Joins.** The FROM tree is planned as written (no join reordering):
//! each join becomes a [`Plan::HashJoin`] when its qual has at least one
//! equality between an expression of only the left input and one of only
//! the right (of a type whose equality the hash keys respect), else a
//! [`Plan::NestLoop`]. WHERE quals are split at AND and pushed down as far
//! as the outer joins allow: a qual over one input goes below an inner
//! join, or below the preserved side of an outer join; a qual of an inner
//! join becomes part of that join's qual; what cannot move stays a Filter
//! above the join. An outer join's ON quals over only its nullable input
//! filter that input. A join whose right input is LATERAL is a
//! [`Plan::LateralLoop`], which re-runs that input per left row. There are no costs or statistics yet (the
//! query-engine issue brings them, with join order search, merge joins
//! and index paths): the choice between the two join methods is this rule
//! alone, and the build side of a hash join is always the right input.

pub mod clauses;
pub mod costsize;
pub mod indxpath;

pub use super::analyze::RangeFunction;
use super::analyze::{Aggref, FromTree, JoinKind, Query, RteSource, SetOpKind, SetOpTree};
use super::catalog::{Relation, RelationSource};
use super::expr::{Expr, Loc};
use super::types::Type;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Debug)]
pub enum Plan {
    /// One empty row (SELECT without FROM).
    Result,
    SeqScan {
        relation: Relation,
    },
    /// A table's rows through an index (`exec::scan::IndexScan`): those
    /// whose entries lie in the path's range and meet its conditions.
    IndexScan {
        relation: Relation,
        path: indxpath::IndexPath,
    },
    /// `SELECT ... FOR UPDATE/SHARE` of a table: scan, WHERE, row locks
    /// (with the recheck of rows concurrently updated).
    LockingScan {
        table: std::sync::Arc<super::tables::TableDef>,
        mode: super::tables::RowLockMode,
        qual: Option<Expr>,
    },
    /// Set-returning functions in FROM, in lockstep (`exec::srf`), then
    /// the `WITH ORDINALITY` counter.
    FunctionScan {
        functions: Vec<RangeFunction>,
        ordinality: bool,
    },
    SubqueryScan {
        subplan: Box<Plan>,
    },
    /// `WITH RECURSIVE`: `left`'s rows, then rounds of `right` over the
    /// previous round's rows (work table `worktable`) until one adds
    /// nothing; UNION drops rows already produced (`exec::RecursiveUnion`).
    RecursiveUnion {
        worktable: usize,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// A materialised WITH query (`exec::CteScan`): the rows of the
    /// statement's subquery `subplan`, computed once as the first reader
    /// needs them and shared by every reference.
    CteScan {
        subplan: usize,
    },
    /// The previous round's rows of a RecursiveUnion.
    WorkTableScan {
        worktable: usize,
    },
    /// `VALUES`: evaluates one row of expressions per output row.
    ValuesScan {
        rows: Vec<Vec<Expr>>,
    },
    /// UNION / INTERSECT / EXCEPT [ALL] of two inputs with the same column types.
    SetOp {
        kind: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// Joins every left row with the (materialised) right rows for which
    /// `qual` holds, over the row `left ++ right`.
    NestLoop {
        kind: JoinKind,
        left: Box<Plan>,
        right: Box<Plan>,
        qual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    },
    /// A join with a LATERAL right input: for each left row, sets `params`
    /// (slot, expression over the left row) and runs `right` again.
    /// INNER or LEFT only.
    LateralLoop {
        kind: JoinKind,
        left: Box<Plan>,
        right: Box<Plan>,
        params: Vec<(usize, Expr)>,
        qual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    },
    /// Builds a hash table of the right rows on `right_keys` and probes it
    /// with `left_keys` of each left row; `qual` is the rest of the join
    /// qual (over `left ++ right`). NULL keys match nothing.
    HashJoin {
        kind: JoinKind,
        left: Box<Plan>,
        right: Box<Plan>,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        qual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    },
    Filter {
        input: Box<Plan>,
        qual: Expr,
    },
    /// Output row: group keys, then one column per aggregate. With
    /// grouping sets (PostgreSQL's `MixedAggregate`), one group per set
    /// and key, the keys outside the set NULL.
    Agg {
        input: Box<Plan>,
        group_by: Vec<Expr>,
        grouping_sets: Option<Vec<Vec<usize>>>,
        aggregates: Vec<Aggref>,
    },
    /// One window's functions (`exec::window`): input rows sorted on the
    /// PARTITION BY then ORDER BY keys, each followed by one column per
    /// function.
    WindowAgg {
        input: Box<Plan>,
        partition: Vec<Expr>,
        order: Vec<(Expr, bool, bool)>,
        frame: super::analyze::Frame,
        funcs: Vec<super::analyze::WindowFuncRef>,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    /// A target list's set-returning calls: each input row followed by one
    /// column per call (function, arguments over the input row, result
    /// type), as many rows as the longest call yields (`exec::srf`).
    ProjectSet {
        input: Box<Plan>,
        calls: Vec<(crate::sql::functions::FuncId, Vec<Expr>, Type)>,
    },
    /// Keeps the first row of each set of equal rows (over the first `ncols` columns).
    Unique {
        input: Box<Plan>,
        ncols: usize,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    /// `DISTINCT ON`: drops each row equal to the one before it on the
    /// `keys` columns (its input is sorted on them).
    UniqueOn {
        input: Box<Plan>,
        keys: Vec<usize>,
    },
    Limit {
        input: Box<Plan>,
        offset: Option<Expr>,
        count: Option<Expr>,
        /// `WITH TIES`: the sort keys rows must equal the last one's on.
        ties: Option<Vec<SortKey>>,
    },
    /// The FROM item `input` scans, by name (PostgreSQL's range-table
    /// entry, which EXPLAIN reads): executes as `input` alone.
    Labeled {
        label: Box<ScanLabel>,
        input: Box<Plan>,
    },
    /// `EXPLAIN ANALYZE`'s counters around `input` (`exec::instrument`),
    /// slot `id` of the statement's instrumentation.
    Instrument {
        id: usize,
        input: Box<Plan>,
    },
}

/// How EXPLAIN names a FROM item: `Seq Scan on relname refname`, and the
/// names of its columns for the expressions above it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanLabel {
    pub relname: String,
    pub refname: String,
    pub has_alias: bool,
    /// The relation's schema (VERBOSE qualifies relation names with it).
    pub schema: Option<String>,
    pub colnames: Vec<String>,
}

impl Plan {
    /// The node's input plans (left before right).
    pub fn children_mut(&mut self) -> Vec<&mut Plan> {
        match self {
            Plan::Result
            | Plan::SeqScan { .. }
            | Plan::IndexScan { .. }
            | Plan::LockingScan { .. }
            | Plan::FunctionScan { .. }
            | Plan::CteScan { .. }
            | Plan::WorkTableScan { .. }
            | Plan::ValuesScan { .. } => Vec::new(),
            Plan::SubqueryScan { subplan } => vec![subplan],
            Plan::RecursiveUnion { left, right, .. }
            | Plan::SetOp { left, right, .. }
            | Plan::NestLoop { left, right, .. }
            | Plan::LateralLoop { left, right, .. }
            | Plan::HashJoin { left, right, .. } => vec![left, right],
            Plan::Filter { input, .. }
            | Plan::Agg { input, .. }
            | Plan::WindowAgg { input, .. }
            | Plan::Project { input, .. }
            | Plan::ProjectSet { input, .. }
            | Plan::Unique { input, .. }
            | Plan::Sort { input, .. }
            | Plan::UniqueOn { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Labeled { input, .. }
            | Plan::Instrument { input, .. } => vec![input],
        }
    }

    /// The statement subqueries this plan's CTE scans read.
    pub fn cte_subplans(&mut self, out: &mut Vec<usize>) {
        if let Plan::CteScan { subplan } = self {
            out.push(*subplan);
        }
        for c in self.children_mut() {
            c.cte_subplans(out);
        }
    }
}

/// One column of the result.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputColumn {
    pub name: String,
    pub ty: Type,
    pub typmod: i32,
}

#[derive(Clone, Debug)]
pub struct PlannedStmt {
    pub plan: Plan,
    pub columns: Vec<OutputColumn>,
}

pub fn plan_query(q: Query) -> PlannedStmt {
    let columns: Vec<OutputColumn> = q
        .targets
        .iter()
        .filter(|t| !t.resjunk)
        .map(|t| OutputColumn {
            name: t.name.clone(),
            ty: t.expr.ty(),
            typmod: t.expr.typmod(),
        })
        .collect();
    let nvisible = columns.len();
    let has_junk = q.targets.len() > nvisible;

    // The width of the rows the target list reads.
    let scan_width = q.from.as_ref().map_or(0, |f| f.width());
    let target_input_width = if q.has_grouping {
        q.group_by.len() + q.aggregates.len()
    } else {
        scan_width
    };
    let mut where_qual = q.where_qual;
    let mut plan = match q.from {
        None => Plan::Result,
        Some(FromTree::Join { .. } | FromTree::Lateral { .. }) => {
            let tree = q.from.expect("matched");
            plan_from(tree, 0, conjuncts(where_qual.take()))
        }
        Some(FromTree::Rte(rte)) => match &rte.source {
            RteSource::Relation(Relation {
                source: RelationSource::Table(table),
                ..
            }) if q.lock.is_some() => Plan::Labeled {
                label: Box::new(ScanLabel {
                    relname: rte.relname.clone(),
                    refname: rte.refname.clone(),
                    has_alias: rte.has_alias,
                    schema: Some(table.namespace.clone()),
                    colnames: rte.columns.iter().map(|c| c.name.clone()).collect(),
                }),
                input: Box::new(Plan::LockingScan {
                    table: table.clone(),
                    mode: q.lock.expect("checked"),
                    qual: where_qual.take(),
                }),
            },
            _ => {
                let quals = conjuncts(where_qual.take());
                plan_rte_quals(rte, quals)
            }
        },
    };
    if let Some(qual) = where_qual {
        plan = Plan::Filter {
            input: Box::new(plan),
            qual,
        };
    }
    if q.has_grouping {
        let mut group_by = q.group_by;
        if group_by.iter().any(|e| e.any(&Expr::is_set_call)) {
            plan = plan_project_set(plan, scan_width, &mut group_by);
        }
        plan = Plan::Agg {
            input: Box::new(plan),
            group_by,
            grouping_sets: q.grouping_sets,
            aggregates: q.aggregates,
        };
        if let Some(qual) = q.having {
            plan = Plan::Filter {
                input: Box::new(plan),
                qual,
            };
        }
    }
    let mut exprs: Vec<Expr> = q.targets.iter().map(|t| t.expr.clone()).collect();
    let mut target_input_width = target_input_width;
    if !q.window_funcs.is_empty() {
        let columns;
        (plan, columns) = plan_windows(plan, target_input_width, q.windows, q.window_funcs);
        target_input_width += columns.len();
        for e in &mut exprs {
            let taken = std::mem::replace(e, Expr::And(Vec::new()));
            *e = taken
                .rewrite(
                    &mut |x: &Expr| -> Result<Option<Expr>, std::convert::Infallible> {
                        Ok(match x {
                            Expr::WindowFunc { index, ty } => Some(Expr::Column {
                                index: columns[*index],
                                ty: *ty,
                                typmod: -1,
                                name: String::new(),
                                loc: Loc(None),
                            }),
                            _ => None,
                        })
                    },
                )
                .unwrap_or_else(|never| match never {});
        }
    }
    if exprs.iter().any(|e| e.any(&Expr::is_set_call)) {
        plan = plan_project_set(plan, target_input_width, &mut exprs);
    }
    plan = Plan::Project {
        input: Box::new(plan),
        exprs,
    };
    if q.distinct {
        plan = Plan::Unique {
            input: Box::new(plan),
            ncols: nvisible,
        };
    }
    let mut sort_keys = Vec::new();
    if !q.sort.is_empty() {
        let keys: Vec<SortKey> = q
            .sort
            .iter()
            .map(|s| SortKey {
                column: s.target,
                descending: s.descending,
                nulls_first: s.nulls_first,
            })
            .collect();
        sort_keys = keys.clone();
        plan = Plan::Sort {
            input: Box::new(plan),
            keys,
        };
    }
    if !q.distinct_on.is_empty() {
        plan = Plan::UniqueOn {
            input: Box::new(plan),
            keys: q.distinct_on,
        };
    }
    if q.limit_count.is_some() || q.limit_offset.is_some() {
        plan = Plan::Limit {
            input: Box::new(plan),
            offset: q.limit_offset,
            count: q.limit_count,
            ties: q.limit_with_ties.then_some(sort_keys),
        };
    }
    if has_junk {
        let exprs = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Expr::Column {
                index: i,
                ty: c.ty,
                typmod: c.typmod,
                name: c.name.clone(),
                loc: Loc(None),
            })
            .collect();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
    }
    PlannedStmt { plan, columns }
}

/// `select_active_windows` + `create_one_window_path`: a WindowAgg per
/// window that some function uses, over `plan` (rows of `width` columns),
/// in PostgreSQL's order: windows compare on their sort keys (sort-group
/// reference, descending first, NULLS FIRST first, key by key), a window
/// whose keys extend another's first, so one sort serves both and the rows
/// come out in the order of the last. Returns the column each function's
/// value lands in.
fn plan_windows(
    mut plan: Plan,
    width: usize,
    windows: Vec<super::analyze::WindowClause>,
    funcs: Vec<super::analyze::WindowFuncRef>,
) -> (Plan, Vec<usize>) {
    use std::cmp::Ordering;
    let mut active: Vec<usize> = (0..windows.len())
        .filter(|w| funcs.iter().any(|f| f.winref == *w))
        .collect();
    active.sort_by(|&a, &b| {
        let (x, y) = (&windows[a].sort_refs, &windows[b].sort_refs);
        for (p, q) in x.iter().zip(y) {
            let o = q.0.cmp(&p.0).then(q.1.cmp(&p.1)).then(q.2.cmp(&p.2));
            if o != Ordering::Equal {
                return o;
            }
        }
        y.len().cmp(&x.len())
    });
    let mut columns = vec![0; funcs.len()];
    let mut next = width;
    for w in active {
        let mine: Vec<usize> = (0..funcs.len()).filter(|&i| funcs[i].winref == w).collect();
        for &i in &mine {
            columns[i] = next;
            next += 1;
        }
        let clause = &windows[w];
        plan = Plan::WindowAgg {
            input: Box::new(plan),
            partition: clause.partition.clone(),
            order: clause.order.clone(),
            frame: clause.frame.clone(),
            funcs: mine.iter().map(|&i| funcs[i].clone()).collect(),
        };
    }
    (plan, columns)
}

/// Moves the set-returning calls of target list `exprs` into ProjectSet
/// nodes over `plan` (whose rows have `width` columns), innermost calls
/// first, and replaces each call with the column its ProjectSet adds.
fn plan_project_set(mut plan: Plan, mut width: usize, exprs: &mut [Expr]) -> Plan {
    loop {
        let mut calls: Vec<(crate::sql::functions::FuncId, Vec<Expr>, Type)> = Vec::new();
        for e in exprs.iter_mut() {
            let taken = std::mem::replace(e, Expr::And(Vec::new()));
            *e = taken
                .rewrite(
                    &mut |x: &Expr| -> Result<Option<Expr>, std::convert::Infallible> {
                        let Expr::Func { func, args, ty, .. } = x else {
                            return Ok(None);
                        };
                        if !x.is_set_call() || args.iter().any(|a| a.any(&Expr::is_set_call)) {
                            return Ok(None);
                        }
                        calls.push((*func, args.clone(), *ty));
                        Ok(Some(Expr::Column {
                            index: width + calls.len() - 1,
                            ty: *ty,
                            typmod: -1,
                            name: String::new(),
                            loc: Loc(None),
                        }))
                    },
                )
                .unwrap_or_else(|never| match never {});
        }
        if calls.is_empty() {
            return plan;
        }
        width += calls.len();
        plan = Plan::ProjectSet {
            input: Box::new(plan),
            calls,
        };
    }
}

/// Plans a set-operation tree whose output must have column `types`:
/// inputs of another type get a projection that casts them.
fn plan_set_op(tree: SetOpTree, types: &[(Type, i32)]) -> Plan {
    let have = tree.column_types();
    let plan = match tree {
        SetOpTree::Leaf { query, .. } => plan_query(*query).plan,
        SetOpTree::Op {
            kind,
            all,
            left,
            right,
            types: own,
        } => Plan::SetOp {
            kind,
            all,
            left: Box::new(plan_set_op(*left, &own)),
            right: Box::new(plan_set_op(*right, &own)),
        },
    };
    if have.iter().map(|t| t.0).eq(types.iter().map(|t| t.0)) {
        return plan;
    }
    let exprs = have
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, ((from, fm), (to, tm)))| {
            let col = Expr::Column {
                index: i,
                ty: *from,
                typmod: *fm,
                name: String::new(),
                loc: Loc(None),
            };
            if from == to {
                col
            } else {
                Expr::Cast {
                    arg: Box::new(col),
                    to: *to,
                    typmod: *tm,
                }
            }
        })
        .collect();
    Plan::Project {
        input: Box::new(plan),
        exprs,
    }
}

/// The scan of FROM item `rte` under `quals` (over its columns): an
/// index scan where [`indxpath::choose_index`] finds one, the remaining
/// quals in a Filter above.
fn plan_rte_quals(rte: super::analyze::RangeTblEntry, mut quals: Vec<Expr>) -> Plan {
    let path = match &rte.source {
        RteSource::Relation(Relation {
            source: RelationSource::Table(t),
            ..
        }) if !t.indexes.is_empty() => indxpath::choose_index(t, &mut quals),
        _ => None,
    };
    let mut plan = plan_rte(rte);
    if let Some(path) = path
        && let Plan::Labeled { input, .. } = &mut plan
        && let Plan::SeqScan { relation } = std::mem::replace(&mut **input, Plan::Result)
    {
        **input = Plan::IndexScan { relation, path };
    }
    match and_of(quals) {
        Some(qual) => Plan::Filter {
            input: Box::new(plan),
            qual,
        },
        None => plan,
    }
}

/// The scan of FROM item `rte`, labeled with its names.
fn plan_rte(rte: super::analyze::RangeTblEntry) -> Plan {
    let schema = match &rte.source {
        RteSource::Relation(Relation {
            source: RelationSource::Table(t),
            ..
        }) => Some(t.namespace.clone()),
        RteSource::Relation(_) => Some("pg_catalog".to_string()),
        _ => None,
    };
    let label = ScanLabel {
        relname: rte.relname,
        refname: rte.refname,
        has_alias: rte.has_alias,
        schema,
        colnames: rte.columns.iter().map(|c| c.name.clone()).collect(),
    };
    Plan::Labeled {
        label: Box::new(label),
        input: Box::new(plan_scan(rte.source)),
    }
}

/// The scan of one base FROM item.
fn plan_scan(source: RteSource) -> Plan {
    match source {
        RteSource::Relation(relation) => Plan::SeqScan { relation },
        RteSource::Function {
            functions,
            ordinality,
        } => Plan::FunctionScan {
            functions,
            ordinality,
        },
        RteSource::Subquery(sub) => Plan::SubqueryScan {
            subplan: Box::new(plan_query(*sub).plan),
        },
        RteSource::Cte { shared, inline } => {
            let mut plan = plan_query(*inline).plan;
            let (mut volatile, mut correlated) = (false, false);
            let _ = clauses::walk_plan(&mut plan, &mut |e: &mut Expr| {
                volatile |= e.any(&|x| {
                    matches!(x, Expr::Func { func, .. }
                        if crate::catalog::builtin::provolatile(*func) == b'v')
                });
                correlated |= e.any(&|x| matches!(x, Expr::ExecParam { .. }));
                Ok(())
            });
            if shared.inline(volatile, correlated) {
                Plan::SubqueryScan {
                    subplan: Box::new(plan),
                }
            } else {
                Plan::CteScan {
                    subplan: shared.subquery,
                }
            }
        }
        RteSource::Values(rows) => Plan::ValuesScan { rows },
        RteSource::RecursiveUnion {
            worktable,
            all,
            left,
            right,
        } => Plan::RecursiveUnion {
            worktable,
            all,
            left: Box::new(plan_query(*left).plan),
            right: Box::new(plan_query(*right).plan),
        },
        RteSource::WorkTable { worktable } => Plan::WorkTableScan { worktable },
        RteSource::SetOp(tree) => {
            let types = tree.column_types();
            plan_set_op(*tree, &types)
        }
    }
}

/// Splits a qual at AND.
pub(crate) fn conjuncts(e: Option<Expr>) -> Vec<Expr> {
    fn go(e: Expr, out: &mut Vec<Expr>) {
        match e {
            Expr::And(args) => args.into_iter().for_each(|a| go(a, out)),
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    if let Some(e) = e {
        go(e, &mut out);
    }
    out
}

fn and_of(mut quals: Vec<Expr>) -> Option<Expr> {
    match quals.len() {
        0 => None,
        1 => quals.pop(),
        _ => Some(Expr::And(quals)),
    }
}

/// The smallest and largest column index `e` reads (None: no columns).
fn column_span(e: &Expr) -> Option<(usize, usize)> {
    fn go(e: &Expr, span: &mut Option<(usize, usize)>) {
        if let Expr::Column { index, .. } = e {
            *span = Some(match *span {
                None => (*index, *index),
                Some((lo, hi)) => (lo.min(*index), hi.max(*index)),
            });
        }
        e.for_each_child(&mut |c| go(c, span));
    }
    let mut span = None;
    go(e, &mut span);
    span
}

/// Whether `e` reads only columns in `lo..hi` (true for none at all).
fn within(e: &Expr, lo: usize, hi: usize) -> bool {
    column_span(e).is_none_or(|(a, b)| a >= lo && b < hi)
}

/// Moves column references `by` positions to the left.
fn shift(e: Expr, by: usize) -> Expr {
    if by == 0 {
        return e;
    }
    e.rewrite(
        &mut |x: &Expr| -> Result<Option<Expr>, std::convert::Infallible> {
            Ok(match x {
                Expr::Column {
                    index,
                    ty,
                    typmod,
                    name,
                    loc,
                } => Some(Expr::Column {
                    index: index - by,
                    ty: *ty,
                    typmod: *typmod,
                    name: name.clone(),
                    loc: *loc,
                }),
                _ => None,
            })
        },
    )
    .unwrap_or_else(|never| match never {})
}

/// Plans FROM item `tree`, whose columns start at `start` of the query's
/// flat row, with `quals` (over the flat row) applied to its rows. The
/// plan's rows are the item's part of the flat row.
fn plan_from(tree: FromTree, start: usize, quals: Vec<Expr>) -> Plan {
    match tree {
        FromTree::Rte(rte) | FromTree::Lateral { rte, .. } => {
            plan_rte_quals(rte, quals.into_iter().map(|q| shift(q, start)).collect())
        }
        FromTree::Join {
            kind,
            left,
            right,
            qual,
        } => {
            let (lw, rw) = (left.width(), right.width());
            let mut right_box: Option<FromTree> = None;
            let (ls, rs, end) = (start, start + lw, start + lw + rw);
            let (mut to_left, mut to_right, mut join, mut above) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let left_ok = matches!(kind, JoinKind::Inner | JoinKind::Left);
            let right_ok = matches!(kind, JoinKind::Inner | JoinKind::Right);
            // Quals from above: below a side the join does not null-extend.
            for q in quals {
                if left_ok && within(&q, ls, rs) {
                    to_left.push(q);
                } else if right_ok && within(&q, rs, end) {
                    to_right.push(q);
                } else if kind == JoinKind::Inner {
                    join.push(q);
                } else {
                    above.push(q);
                }
            }
            // The join's own qual: an outer join's over its nullable side
            // filters that side; over its preserved side it only decides matches.
            for q in conjuncts(qual) {
                let (l_only, r_only) = (within(&q, ls, rs), within(&q, rs, end));
                match kind {
                    JoinKind::Inner if l_only => to_left.push(q),
                    JoinKind::Inner if r_only => to_right.push(q),
                    JoinKind::Left if r_only && column_span(&q).is_some() => to_right.push(q),
                    JoinKind::Right if l_only && column_span(&q).is_some() => to_left.push(q),
                    _ => join.push(q),
                }
            }
            let lateral = match *right {
                FromTree::Lateral { rte, params } => {
                    let params = params.into_iter().map(|(s, e)| (s, shift(e, ls))).collect();
                    Some((FromTree::Rte(rte), params))
                }
                other => {
                    right_box = Some(other);
                    None
                }
            };
            let left_plan = Box::new(plan_from(*left, ls, to_left));
            if let Some((rtree, params)) = lateral {
                let right_plan = Box::new(plan_from(rtree, rs, to_right));
                let qual = and_of(join.into_iter().map(|q| shift(q, start)).collect());
                let plan = Plan::LateralLoop {
                    kind,
                    left: left_plan,
                    right: right_plan,
                    params,
                    qual,
                    left_width: lw,
                    right_width: rw,
                };
                return match and_of(above.into_iter().map(|q| shift(q, start)).collect()) {
                    Some(qual) => Plan::Filter {
                        input: Box::new(plan),
                        qual,
                    },
                    None => plan,
                };
            }
            let right = right_box.take().expect("not lateral");
            let right_plan = Box::new(plan_from(right, rs, to_right));
            // Equalities between the two sides become hash keys.
            let (mut left_keys, mut right_keys, mut rest) = (Vec::new(), Vec::new(), Vec::new());
            for q in join {
                match hash_clause(&q, (ls, rs), (rs, end)) {
                    Some((l, r)) => {
                        left_keys.push(shift(l, ls));
                        right_keys.push(shift(r, rs));
                    }
                    None => rest.push(shift(q, start)),
                }
            }
            let qual = and_of(rest);
            let plan = if left_keys.is_empty() {
                Plan::NestLoop {
                    kind,
                    left: left_plan,
                    right: right_plan,
                    qual,
                    left_width: lw,
                    right_width: rw,
                }
            } else {
                Plan::HashJoin {
                    kind,
                    left: left_plan,
                    right: right_plan,
                    left_keys,
                    right_keys,
                    qual,
                    left_width: lw,
                    right_width: rw,
                }
            };
            match and_of(above.into_iter().map(|q| shift(q, start)).collect()) {
                Some(qual) => Plan::Filter {
                    input: Box::new(plan),
                    qual,
                },
                None => plan,
            }
        }
    }
}

/// `a = b` with `a` over only the left columns and `b` over only the right
/// ones (or the reverse), both reading some column and free of subqueries
/// and volatile calls: the (left, right) key expressions.
fn hash_clause(q: &Expr, l: (usize, usize), r: (usize, usize)) -> Option<(Expr, Expr)> {
    use super::functions::{CmpOp, Impl, registry};
    let Expr::Func {
        func,
        args,
        arg_types,
        ..
    } = q
    else {
        return None;
    };
    if args.len() != 2 || !matches!(registry().get(*func).imp, Impl::Cmp(CmpOp::Eq)) {
        return None;
    }
    if !super::analyze::hashable_equality(arg_types[0], arg_types[1]) {
        return None;
    }
    if q.any(&|x| matches!(x, Expr::SubLink { .. })) {
        return None;
    }
    let (a, b) = (&args[0], &args[1]);
    let (sa, sb) = (column_span(a)?, column_span(b)?);
    let inside = |s: (usize, usize), range: (usize, usize)| s.0 >= range.0 && s.1 < range.1;
    if inside(sa, l) && inside(sb, r) {
        Some((a.clone(), b.clone()))
    } else if inside(sb, l) && inside(sa, r) {
        Some((b.clone(), a.clone()))
    } else {
        None
    }
}
