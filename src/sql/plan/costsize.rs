//! Cost and row estimates (PostgreSQL's `costsize.c`), as EXPLAIN shows
//! them: `(cost=startup..total rows=N width=W)`.
//!
//! The planner has one way to run each query today, so nothing chooses by
//! these numbers yet; they follow PostgreSQL's formulas over the same
//! settings (`seq_page_cost`, `cpu_tuple_cost`, `cpu_operator_cost`) so
//! that a plan's numbers read as PostgreSQL's would, with PostgreSQL's
//! defaults where there are no statistics (ANALYZE writes no
//! `pg_statistic` yet): equality selects 0.5 %, inequalities a third, a
//! grouping column has 200 distinct values, a set-returning function 1000
//! rows unless its arguments are constants it can count.
//!
//! A table's size is its main fork's current length in pages; a table of
//! no pages is assumed to have 10 (PostgreSQL's rule for a relation never
//! vacuumed); its rows are as many as fit at its estimated width, on
//! ferrogres's pages (32-byte page and tuple headers), not PostgreSQL's.

use crate::sql::analyze::JoinKind;
use crate::sql::expr::Expr;
use crate::sql::functions::{FuncKind, registry};
use crate::sql::types::{Datum, Type};

/// The cost settings of the session.
#[derive(Clone, Copy, Debug)]
pub struct CostSettings {
    pub seq_page_cost: f64,
    pub cpu_tuple_cost: f64,
    pub cpu_operator_cost: f64,
}

impl Default for CostSettings {
    fn default() -> CostSettings {
        CostSettings {
            seq_page_cost: 1.0,
            cpu_tuple_cost: 0.01,
            cpu_operator_cost: 0.0025,
        }
    }
}

/// One node's estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Est {
    pub startup: f64,
    pub total: f64,
    pub rows: f64,
    pub width: i32,
}

const DEFAULT_EQ_SEL: f64 = 0.005;
const DEFAULT_INEQ_SEL: f64 = 1.0 / 3.0;
const DEFAULT_NUM_DISTINCT: f64 = 200.0;
const PAGE_SIZE: f64 = 8192.0;
const PAGE_HEADER: f64 = 32.0;
const TUPLE_HEADER: f64 = 32.0;
const LINE_POINTER: f64 = 4.0;

/// `clamp_row_est`: at least one row, whole rows.
fn clamp(rows: f64) -> f64 {
    if rows <= 1.0 { 1.0 } else { rows.round() }
}

/// `get_typavgwidth`: fixed-width types their length, bounded varchar and
/// char their bound, other variable-width types 32 bytes.
pub fn type_width(ty: Type, typmod: i32) -> i32 {
    let len = ty.typlen();
    if len > 0 {
        return len as i32;
    }
    if typmod > 4 && matches!(ty, Type::Varchar | Type::Bpchar) {
        let max = typmod - 4;
        return if max <= 32 {
            max
        } else if max < 1000 {
            32 + (max - 32) / 2
        } else {
            32 + (1000 - 32) / 2
        };
    }
    32
}

pub fn width(types: &[(Type, i32)]) -> i32 {
    types.iter().map(|(t, m)| type_width(*t, *m)).sum()
}

pub fn result(c: &CostSettings) -> Est {
    Est {
        startup: 0.0,
        total: c.cpu_tuple_cost,
        rows: 1.0,
        width: 0,
    }
}

/// Operators evaluated per row by `e` (`cost_qual_eval`'s count).
fn operators(e: &Expr) -> f64 {
    let mut n = 0.0;
    fn go(e: &Expr, n: &mut f64) {
        if matches!(
            e,
            Expr::Func { .. }
                | Expr::NullIf { .. }
                | Expr::Distinct { .. }
                | Expr::Cast { .. }
                | Expr::InList { .. }
        ) {
            *n += 1.0;
        }
        e.for_each_child(&mut |c| go(c, n));
    }
    go(e, &mut n);
    n
}

/// `clause_selectivity` without statistics.
pub fn selectivity(e: &Expr) -> f64 {
    match e {
        Expr::Const { value, .. } => match value {
            Datum::Bool(true) => 1.0,
            _ => 0.0,
        },
        Expr::And(args) => args.iter().map(selectivity).product(),
        Expr::Or(args) => args
            .iter()
            .map(selectivity)
            .fold(0.0, |acc, s| acc + s - acc * s),
        Expr::Not(a) => 1.0 - selectivity(a),
        Expr::NullTest { is_not, .. } => {
            if *is_not {
                1.0 - DEFAULT_EQ_SEL
            } else {
                DEFAULT_EQ_SEL
            }
        }
        Expr::Func { func, .. } => {
            let def = &registry().funcs[*func];
            match (def.kind, def.name) {
                (FuncKind::Infix, "=" | "~~" | "~~*" | "~" | "~*") => DEFAULT_EQ_SEL,
                (FuncKind::Infix, "<>" | "!~~" | "!~") => 1.0 - DEFAULT_EQ_SEL,
                (FuncKind::Infix, "<" | "<=" | ">" | ">=") => DEFAULT_INEQ_SEL,
                _ => DEFAULT_INEQ_SEL,
            }
        }
        Expr::InList { test, .. } => selectivity(test),
        _ => DEFAULT_INEQ_SEL,
    }
}

pub fn filter(input: Est, qual: &Expr, c: &CostSettings) -> Est {
    Est {
        startup: input.startup,
        total: input.total + input.rows * c.cpu_operator_cost * operators(qual).max(1.0),
        rows: if input.rows == 0.0 {
            0.0
        } else {
            clamp(input.rows * selectivity(qual))
        },
        width: input.width,
    }
}

/// A table of `pages` pages (`cost_seqscan` over `estimate_rel_size`).
pub fn seq_scan(pages: f64, types: &[(Type, i32)], c: &CostSettings) -> Est {
    let pages = if pages <= 0.0 { 10.0 } else { pages };
    let w = width(types);
    let tuple = (w as f64 + TUPLE_HEADER + LINE_POINTER).max(1.0);
    let density = ((PAGE_SIZE - PAGE_HEADER) / tuple).floor();
    let rows = clamp(density * pages);
    Est {
        startup: 0.0,
        total: pages * c.seq_page_cost + rows * c.cpu_tuple_cost,
        rows,
        width: w,
    }
}

/// An index scan (no statistics yet): one row for an equality on a
/// unique index, else half a percent of the table's rows; a descent,
/// then a heap page per row.
pub fn index_scan(pages: f64, types: &[(Type, i32)], unique_eq: bool, c: &CostSettings) -> Est {
    let all = seq_scan(pages, types, c).rows;
    let rows = if unique_eq { 1.0 } else { clamp(all * 0.005) };
    let startup = 0.29;
    Est {
        startup,
        total: startup + 4.0 + rows * (4.0 * c.seq_page_cost + c.cpu_tuple_cost + 0.005),
        rows,
        width: width(types),
    }
}

/// A system view, whose rows are made when it is opened.
pub fn memory_scan(n: usize, types: &[(Type, i32)], c: &CostSettings) -> Est {
    Est {
        startup: 0.0,
        total: n as f64 * c.cpu_tuple_cost,
        rows: n as f64,
        width: width(types),
    }
}

pub fn function_scan(rows: f64, types: &[(Type, i32)], c: &CostSettings) -> Est {
    Est {
        startup: 0.0,
        total: rows * c.cpu_tuple_cost + c.cpu_operator_cost,
        rows,
        width: width(types),
    }
}

/// Rows a set-returning call yields: exact for `generate_series` and
/// `unnest` of constants (PostgreSQL's support functions), else 1000.
pub fn srf_rows(func: usize, args: &[Expr]) -> f64 {
    let name = registry().funcs[func].name;
    let int = |e: &Expr| match e {
        Expr::Const {
            value: Datum::Int4(v),
            ..
        } => Some(*v as f64),
        Expr::Const {
            value: Datum::Int8(v),
            ..
        } => Some(*v as f64),
        _ => None,
    };
    match (name, args) {
        ("generate_series", [a, b]) => match (int(a), int(b)) {
            (Some(a), Some(b)) => (b - a + 1.0).max(0.0),
            _ => 1000.0,
        },
        ("generate_series", [a, b, s]) => match (int(a), int(b), int(s)) {
            (Some(a), Some(b), Some(s)) if s != 0.0 => ((b - a) / s + 1.0).floor().max(0.0),
            _ => 1000.0,
        },
        (
            "unnest",
            [
                Expr::Const {
                    value: Datum::Array(a),
                    ..
                },
            ],
        ) => a.items.len() as f64,
        _ => 1000.0,
    }
}

pub fn values_scan(n: usize, types: &[(Type, i32)], c: &CostSettings) -> Est {
    let n = n as f64;
    Est {
        startup: 0.0,
        total: n * (c.cpu_operator_cost * types.len() as f64 + c.cpu_tuple_cost),
        rows: n,
        width: width(types),
    }
}

pub fn cte_scan(sub: Est, c: &CostSettings) -> Est {
    Est {
        startup: 0.0,
        total: sub.rows * c.cpu_tuple_cost,
        rows: sub.rows,
        width: sub.width,
    }
}

/// A recursive CTE's work table: PostgreSQL's guess of ten rows per round.
pub fn worktable_scan(types: &[(Type, i32)], c: &CostSettings) -> Est {
    Est {
        startup: 0.0,
        total: 10.0 * c.cpu_tuple_cost,
        rows: 10.0,
        width: width(types),
    }
}

/// `cost_recursive_union`: the non-recursive term plus ten rounds.
pub fn recursive_union(l: Est, r: Est) -> Est {
    Est {
        startup: l.startup,
        total: l.total + 10.0 * r.total,
        rows: clamp(l.rows + 10.0 * r.rows),
        width: l.width.max(r.width),
    }
}

pub fn append(members: &[Est]) -> Est {
    Est {
        startup: members.first().map_or(0.0, |m| m.startup),
        total: members.iter().map(|m| m.total).sum(),
        rows: members.iter().map(|m| m.rows).sum(),
        width: members.iter().map(|m| m.width).max().unwrap_or(0),
    }
}

pub fn set_op(input: Est, c: &CostSettings) -> Est {
    Est {
        startup: input.total + input.rows * c.cpu_operator_cost,
        total: input.total + input.rows * c.cpu_operator_cost,
        rows: clamp((input.rows / 2.0).min(DEFAULT_NUM_DISTINCT)),
        width: input.width,
    }
}

pub fn materialize(input: Est, c: &CostSettings) -> Est {
    Est {
        startup: input.startup,
        total: input.total + 2.0 * c.cpu_operator_cost * input.rows,
        ..input
    }
}

fn join_rows(l: Est, r: Est, sel: f64, kind: JoinKind) -> f64 {
    let inner = l.rows * r.rows * sel;
    clamp(match kind {
        JoinKind::Inner => inner,
        JoinKind::Left => inner.max(l.rows),
        JoinKind::Right => inner.max(r.rows),
        JoinKind::Full => inner.max(l.rows).max(r.rows),
    })
}

pub fn nest_loop(
    l: Est,
    r: Est,
    qual: Option<&Expr>,
    kind: JoinKind,
    types: &[(Type, i32)],
    c: &CostSettings,
) -> Est {
    let sel = qual.map_or(1.0, selectivity);
    let pairs = l.rows * r.rows;
    let ops = qual.map_or(0.0, operators);
    Est {
        startup: l.startup + r.startup,
        total: l.total
            + r.total
            + pairs * (c.cpu_tuple_cost + ops * c.cpu_operator_cost)
            + l.rows * r.rows * c.cpu_operator_cost,
        rows: join_rows(l, r, sel, kind),
        width: width(types),
    }
}

pub fn lateral_loop(l: Est, r: Est, types: &[(Type, i32)], c: &CostSettings) -> Est {
    Est {
        startup: l.startup + r.startup,
        total: l.total + l.rows * r.total + l.rows * r.rows * c.cpu_tuple_cost,
        rows: clamp(l.rows * r.rows),
        width: width(types),
    }
}

pub fn hash(input: Est, _c: &CostSettings) -> Est {
    Est {
        startup: input.total,
        total: input.total,
        ..input
    }
}

pub fn hash_join(
    l: Est,
    h: Est,
    nkeys: usize,
    qual: Option<&Expr>,
    kind: JoinKind,
    types: &[(Type, i32)],
    c: &CostSettings,
) -> Est {
    let sel = DEFAULT_EQ_SEL.powi(nkeys as i32) * qual.map_or(1.0, selectivity);
    let rows = join_rows(l, h, sel, kind);
    let startup = h.total + h.rows * c.cpu_operator_cost * (nkeys as f64 + 1.0);
    Est {
        startup,
        total: startup
            + l.total
            + l.rows * c.cpu_operator_cost * nkeys as f64
            + rows * c.cpu_tuple_cost,
        rows,
        width: width(types),
    }
}

/// Aggregation: plain (one row), hashed on `nkeys` keys, or one hash
/// table per grouping set.
pub fn agg(
    input: Est,
    nkeys: usize,
    sets: Option<&[Vec<usize>]>,
    naggs: usize,
    types: &[(Type, i32)],
    c: &CostSettings,
) -> Est {
    let groups = |k: usize| {
        if k == 0 {
            1.0
        } else {
            DEFAULT_NUM_DISTINCT.powi(k as i32).min(input.rows).max(1.0)
        }
    };
    let rows = match sets {
        Some(sets) => sets.iter().map(|s| groups(s.len())).sum(),
        None => groups(nkeys),
    };
    let work = input.total + input.rows * c.cpu_operator_cost * (nkeys + naggs) as f64;
    let (startup, total) = if nkeys == 0 && sets.is_none() {
        (work + c.cpu_tuple_cost, work + c.cpu_tuple_cost)
    } else {
        (
            work,
            work + rows * (c.cpu_tuple_cost + naggs as f64 * c.cpu_operator_cost),
        )
    };
    Est {
        startup,
        total,
        rows: clamp(rows),
        width: width(types),
    }
}

/// `cost_sort`: n log2 n comparisons before the first row.
pub fn sort(input: Est, c: &CostSettings) -> Est {
    let n = input.rows.max(2.0);
    let startup = input.total + 2.0 * c.cpu_operator_cost * n * n.log2();
    Est {
        startup,
        total: startup + c.cpu_operator_cost * input.rows,
        ..input
    }
}

pub fn unique(input: Est, c: &CostSettings) -> Est {
    Est {
        startup: input.startup,
        total: input.total + input.rows * c.cpu_operator_cost,
        rows: clamp(input.rows.min(DEFAULT_NUM_DISTINCT)),
        width: input.width,
    }
}

pub fn window_agg(input: Est, nfuncs: usize, types: &[(Type, i32)], c: &CostSettings) -> Est {
    Est {
        startup: input.startup,
        total: input.total + input.rows * c.cpu_operator_cost * (nfuncs as f64 + 1.0),
        rows: input.rows,
        width: width(types),
    }
}

pub fn project_set(input: Est, rows: f64, types: &[(Type, i32)], c: &CostSettings) -> Est {
    let out = clamp(input.rows * rows);
    Est {
        startup: input.startup,
        total: input.total + out * c.cpu_tuple_cost,
        rows: out,
        width: width(types),
    }
}

pub fn lock_rows(input: Est, c: &CostSettings) -> Est {
    Est {
        total: input.total + input.rows * c.cpu_tuple_cost,
        ..input
    }
}

/// `adjust_limit_rows_costs`: a constant LIMIT and OFFSET take their share
/// of the input's cost.
pub fn limit(input: Est, offset: Option<&Expr>, count: Option<&Expr>) -> Est {
    let konst = |e: Option<&Expr>| match e {
        Some(Expr::Const {
            value: Datum::Int8(v),
            ..
        }) => Some((*v).max(0) as f64),
        Some(Expr::Const {
            value: Datum::Int4(v),
            ..
        }) => Some((*v).max(0) as f64),
        _ => None,
    };
    let per_row = if input.rows > 0.0 {
        (input.total - input.startup) / input.rows
    } else {
        0.0
    };
    let skip = konst(offset).unwrap_or(0.0).min(input.rows);
    let rows = match konst(count) {
        Some(n) => n.min(input.rows - skip),
        None if offset.is_some() || count.is_some() => ((input.rows - skip) * 0.1).max(1.0),
        None => input.rows - skip,
    };
    let startup = input.startup + skip * per_row;
    Est {
        startup,
        total: startup + rows.max(0.0) * per_row,
        rows: clamp(rows),
        width: input.width,
    }
}
