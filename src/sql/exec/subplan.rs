//! Correlated subqueries (`nodeSubplan.c`'s `ExecScanSubPlan`): the
//! SubLink's parameters are evaluated against the current row into their
//! slots, then the subquery's plan runs afresh and is read only as far as
//! the answer needs (one row for EXISTS, two for a scalar subquery, up to
//! the deciding row for ANY/ALL). Uncorrelated subqueries keep the
//! run-once path of [`EvalContext::subplan_rows`]; an uncorrelated
//! `x = ANY (subquery)` (and so `IN`/`NOT IN`) over a type whose equality
//! the hash keys respect probes a hash set of the subquery's values
//! instead of comparing with every row (PostgreSQL's hashed SubPlan).

use std::collections::HashSet;

use super::super::adt::{HashKey, hash_key};
use super::super::expr::{Expr, SubLinkKind};
use super::super::functions::{CmpOp, Impl, registry};
use super::super::types::Datum;
use super::{EvalContext, Row, eval};
use crate::utils::elog::{PgError, PgResult, sqlstate};

pub(super) fn eval_correlated(
    index: usize,
    kind: &SubLinkKind,
    params: &[(usize, Expr)],
    ty: crate::sql::types::Type,
    row: &[Datum],
    cx: &mut EvalContext,
) -> PgResult<Datum> {
    for (slot, e) in params {
        let v = eval(e, row, cx)?;
        cx.set_exec_param(*slot, v);
    }
    match kind {
        // ARRAY(subquery) referring to the outer row.
        SubLinkKind::Array => {
            let mut vals = Vec::new();
            cx.run_correlated(index, &mut |r, _| {
                vals.push(r.into_iter().next().unwrap_or(Datum::Null));
                Ok(true)
            })?;
            crate::sql::functions::array::from_rows(vals, ty)
        }
        SubLinkKind::Exists => {
            let mut found = false;
            cx.run_correlated(index, &mut |_, _| {
                found = true;
                Ok(false)
            })?;
            Ok(Datum::Bool(found))
        }
        SubLinkKind::Expr => {
            let mut value: Option<Datum> = None;
            let mut too_many = false;
            cx.run_correlated(index, &mut |r, _| {
                if value.is_some() {
                    too_many = true;
                    return Ok(false);
                }
                value = Some(r.into_iter().next().unwrap_or(Datum::Null));
                Ok(true)
            })?;
            if too_many {
                return Err(PgError::error(
                    sqlstate::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                ));
            }
            Ok(value.unwrap_or(Datum::Null))
        }
        SubLinkKind::Any { cmp } | SubLinkKind::All { cmp } => {
            let any = matches!(kind, SubLinkKind::Any { .. });
            let mut saw_null = false;
            let mut decided = false;
            cx.run_correlated(index, &mut |r, cx| {
                cx.case_values
                    .push(r.into_iter().next().unwrap_or(Datum::Null));
                let v = eval(cmp, row, cx);
                cx.case_values.pop();
                match v? {
                    Datum::Bool(b) if b == any => {
                        decided = true;
                        Ok(false)
                    }
                    Datum::Null => {
                        saw_null = true;
                        Ok(true)
                    }
                    _ => Ok(true),
                }
            })?;
            Ok(if decided {
                Datum::Bool(any)
            } else if saw_null {
                Datum::Null
            } else {
                Datum::Bool(!any)
            })
        }
    }
}

/// An uncorrelated subquery's first column as a hash set.
pub(crate) struct HashedRows {
    keys: HashSet<HashKey, crate::utils::hash::FxBuildHasher>,
    any_rows: bool,
    has_null: bool,
}

impl HashedRows {
    pub(super) fn new(rows: &[Row]) -> HashedRows {
        let mut keys = HashSet::with_capacity_and_hasher(rows.len(), Default::default());
        let mut has_null = false;
        for r in rows {
            match r.first() {
                Some(d) if !d.is_null() => {
                    keys.insert(hash_key(d));
                }
                _ => has_null = true,
            }
        }
        HashedRows {
            keys,
            any_rows: !rows.is_empty(),
            has_null,
        }
    }
}

/// Whether `cmp` of an `ANY` SubLink is `test = <row value>` of a type
/// whose equality agrees with [`hash_key`].
pub(super) fn hashable_any(cmp: &Expr) -> bool {
    let Expr::Func {
        func,
        args,
        arg_types,
        ..
    } = cmp
    else {
        return false;
    };
    args.len() == 2
        && matches!(args[1], Expr::CaseTest { .. })
        && matches!(registry().get(*func).imp, Impl::Cmp(CmpOp::Eq))
        && super::super::analyze::hashable_equality(arg_types[0], arg_types[1])
}

/// `test = ANY (subquery)` by a hash probe, with `ANY`'s NULL rules.
pub(super) fn eval_hashed_any(
    index: usize,
    cmp: &Expr,
    row: &[Datum],
    cx: &mut EvalContext,
) -> PgResult<Datum> {
    let Expr::Func { args, .. } = cmp else {
        unreachable!("checked by hashable_any")
    };
    let set = cx.hashed_subplan(index)?;
    if !set.any_rows {
        return Ok(Datum::Bool(false));
    }
    let v = eval(&args[0], row, cx)?;
    if v.is_null() {
        return Ok(Datum::Null);
    }
    if set.keys.contains(&hash_key(&v)) {
        return Ok(Datum::Bool(true));
    }
    Ok(if set.has_null {
        Datum::Null
    } else {
        Datum::Bool(false)
    })
}
