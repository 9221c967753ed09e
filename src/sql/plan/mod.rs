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
//! `Expr::SubLink`) and run once, like PostgreSQL's InitPlans.
//!
//! A final Project drops resjunk columns when the query has any.
//! Index scans, joins and a cost model arrive with on-disk tables.

use super::analyze::{Aggref, Query, RteSource, SetOpKind, SetOpTree};
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
    /// `SELECT ... FOR UPDATE/SHARE` of a table: scan, WHERE, row locks
    /// (with the recheck of rows concurrently updated).
    LockingScan {
        table: std::sync::Arc<super::tables::TableDef>,
        mode: super::tables::RowLockMode,
        qual: Option<Expr>,
    },
    /// `generate_series(args)` in FROM, producing values of type `ty`.
    FunctionScan {
        args: Vec<Expr>,
        ty: Type,
    },
    /// A set-returning function of rows (`functions::json::srf_rows`).
    SetFunctionScan {
        name: &'static str,
        args: Vec<Expr>,
    },
    SubqueryScan {
        subplan: Box<Plan>,
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
    Filter {
        input: Box<Plan>,
        qual: Expr,
    },
    /// Output row: group keys, then one column per aggregate.
    Agg {
        input: Box<Plan>,
        group_by: Vec<Expr>,
        aggregates: Vec<Aggref>,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
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
    Limit {
        input: Box<Plan>,
        offset: Option<Expr>,
        count: Option<Expr>,
    },
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

    let mut where_qual = q.where_qual;
    let mut plan = match q.from {
        None => Plan::Result,
        Some(rte) => match rte.source {
            RteSource::Relation(Relation {
                source: RelationSource::Table(table),
                ..
            }) if q.lock.is_some() => Plan::LockingScan {
                table,
                mode: q.lock.expect("checked"),
                qual: where_qual.take(),
            },
            RteSource::Relation(relation) => Plan::SeqScan { relation },
            RteSource::Function { args, ty } => Plan::FunctionScan { args, ty },
            RteSource::SetFunction { name, args } => Plan::SetFunctionScan { name, args },
            RteSource::Subquery(sub) => Plan::SubqueryScan {
                subplan: Box::new(plan_query(*sub).plan),
            },
            RteSource::Values(rows) => Plan::ValuesScan { rows },
            RteSource::SetOp(tree) => {
                let types = tree.column_types();
                plan_set_op(*tree, &types)
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
        plan = Plan::Agg {
            input: Box::new(plan),
            group_by: q.group_by,
            aggregates: q.aggregates,
        };
        if let Some(qual) = q.having {
            plan = Plan::Filter {
                input: Box::new(plan),
                qual,
            };
        }
    }
    plan = Plan::Project {
        input: Box::new(plan),
        exprs: q.targets.iter().map(|t| t.expr.clone()).collect(),
    };
    if q.distinct {
        plan = Plan::Unique {
            input: Box::new(plan),
            ncols: nvisible,
        };
    }
    if !q.sort.is_empty() {
        let keys = q
            .sort
            .iter()
            .map(|s| SortKey {
                column: s.target,
                descending: s.descending,
                nulls_first: s.nulls_first,
            })
            .collect();
        plan = Plan::Sort {
            input: Box::new(plan),
            keys,
        };
    }
    if q.limit_count.is_some() || q.limit_offset.is_some() {
        plan = Plan::Limit {
            input: Box::new(plan),
            offset: q.limit_offset,
            count: q.limit_count,
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
