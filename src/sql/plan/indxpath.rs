//! Index paths (PostgreSQL's `indxpath.c`, without costs yet): which
//! WHERE conditions of a table scan a B-tree index can answer.
//!
//! A condition is usable when it compares the index's **first** key
//! column with a value fixed for the scan — a constant or a parameter
//! (`$1`), an expression of those without volatile functions — with
//! `=`, `<`, `<=`, `>` or `>=` (either side), and the value's type is
//! the column's (or both are integers). The scan then reads only the
//! index range those conditions bound ([`IndexPath`]) and visits the heap
//! for each entry; the conditions themselves become the node's Index
//! Cond, tested again on every row it returns, so a bound the executor
//! cannot turn into a key (an int8 beyond an int4 column's range) only
//! widens the range.
//!
//! The choice, until the query-engine issue brings statistics: an
//! equality on a unique index first, then any equality, then a range
//! bounded on both sides (`BETWEEN`); a one-sided range stays a
//! sequential scan, which is what PostgreSQL picks for it when the range
//! holds much of the table.

use super::super::expr::Expr;
use super::super::functions::{CmpOp, Impl, registry};
use super::super::tables::TableDef;
use super::super::types::Type;

/// An index scan's range over the first key column, with the conditions
/// it came from.
#[derive(Clone, Debug)]
pub struct IndexPath {
    pub index_oid: u32,
    pub index_name: String,
    /// The table column (0-based) of the index's first key.
    pub column: usize,
    /// Lower and upper bound in value order: (value, inclusive).
    pub lower: Option<(Expr, bool)>,
    pub upper: Option<(Expr, bool)>,
    /// The conditions used, all of which the scan tests on its rows.
    pub conds: Vec<Expr>,
}

fn is_integer(t: Type) -> bool {
    matches!(t.oid(), 20 | 21 | 23)
}

/// Whether `e` has one value for the whole scan.
fn is_pseudo_constant(e: &Expr) -> bool {
    !e.any(&|x| match x {
        Expr::Column { .. }
        | Expr::SubLink { .. }
        | Expr::ExecParam { .. }
        | Expr::Agg { .. }
        | Expr::WindowFunc { .. }
        | Expr::CaseTest { .. } => true,
        Expr::Func { func, .. } => crate::catalog::builtin::provolatile(*func) == b'v',
        _ => false,
    })
}

/// `column op value` (operator turned around when the column is on the
/// right): the comparison, the column and the value.
fn comparison(e: &Expr) -> Option<(CmpOp, usize, Type, &Expr)> {
    let Expr::Func { func, args, .. } = e else {
        return None;
    };
    let Impl::Cmp(op) = registry().get(*func).imp else {
        return None;
    };
    let [l, r] = args.as_slice() else {
        return None;
    };
    let flip = |op| match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    };
    match (l, r) {
        (Expr::Column { index, ty, .. }, v) if is_pseudo_constant(v) => Some((op, *index, *ty, v)),
        (v, Expr::Column { index, ty, .. }) if is_pseudo_constant(v) => {
            Some((flip(op), *index, *ty, v))
        }
        _ => None,
    }
}

fn type_fits(column: Type, value: Type) -> bool {
    column == value
        || (is_integer(column) && is_integer(value))
        || (matches!(column.oid(), 25 | 1043) && matches!(value.oid(), 25 | 1043 | 705))
}

/// `value op column` written as `column op' value` with the commutator
/// (`5 = id` → `id = 5`, `5 < id` → `id > 5`), as PostgreSQL shows an
/// Index Cond; the expression as it was where no commutator exists.
fn commuted(e: &Expr) -> Expr {
    let Expr::Func {
        func,
        args,
        arg_types,
        ty,
    } = e
    else {
        return e.clone();
    };
    if !matches!(args.as_slice(), [l, Expr::Column { .. }] if !matches!(l, Expr::Column { .. })) {
        return e.clone();
    }
    let name = registry().get(*func).name;
    let flipped = match name {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        other => other,
    };
    let (lt, rt) = (args[0].ty(), args[1].ty());
    let found = registry()
        .candidates(flipped, true)
        .iter()
        .copied()
        .find(|&f| {
            let d = registry().get(f);
            matches!(d.imp, Impl::Cmp(_))
                && d.args.len() == 2
                && d.args[0].type_oid() == rt.oid()
                && d.args[1].type_oid() == lt.oid()
        });
    match found {
        Some(f) => Expr::Func {
            func: f,
            args: vec![args[1].clone(), args[0].clone()],
            arg_types: vec![arg_types[1], arg_types[0]],
            ty: *ty,
        },
        None => e.clone(),
    }
}

/// The best index path for a scan of `table` under `quals` (over the
/// table's columns), if any; the quals it uses are taken out of `quals`.
pub fn choose_index(table: &TableDef, quals: &mut Vec<Expr>) -> Option<IndexPath> {
    let mut best: Option<(u8, IndexPath, Vec<usize>)> = None;
    for index in &table.indexes {
        let column = index.keys[0] as usize - 1;
        let col_type = crate::sql::catalog::column_type(index.key_types[0]);
        let (mut eq, mut lower, mut upper) = (None, None, None);
        let mut used = Vec::new();
        for (i, q) in quals.iter().enumerate() {
            let Some((op, c, ty, v)) = comparison(q) else {
                continue;
            };
            if c != column || ty != col_type || !type_fits(col_type, v.ty()) {
                continue;
            }
            match op {
                CmpOp::Eq if eq.is_none() => eq = Some(v.clone()),
                CmpOp::Gt | CmpOp::Ge if lower.is_none() => {
                    lower = Some((v.clone(), op == CmpOp::Ge))
                }
                CmpOp::Lt | CmpOp::Le if upper.is_none() => {
                    upper = Some((v.clone(), op == CmpOp::Le))
                }
                _ => continue,
            }
            used.push(i);
        }
        let rank = match (&eq, &lower, &upper) {
            (Some(_), _, _) if index.unique && index.keys.len() == 1 => 3,
            (Some(_), _, _) => 2,
            (None, Some(_), Some(_)) => 1,
            _ => continue,
        };
        let (lower, upper) = match eq {
            Some(v) => (Some((v.clone(), true)), Some((v, true))),
            None => (lower, upper),
        };
        if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            let path = IndexPath {
                index_oid: index.oid,
                index_name: index.name.clone(),
                column,
                lower,
                upper,
                conds: Vec::new(),
            };
            best = Some((rank, path, used));
        }
    }
    let (_, mut path, used) = best?;
    let mut kept = Vec::new();
    for (i, q) in std::mem::take(quals).into_iter().enumerate() {
        if used.contains(&i) {
            path.conds.push(commuted(&q));
        } else {
            kept.push(q);
        }
    }
    *quals = kept;
    Some(path)
}
