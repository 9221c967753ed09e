//! Constant folding: PostgreSQL's `eval_const_expressions`
//! (`optimizer/util/clauses.c`), run over a finished plan before it
//! executes.
//!
//! Rules, as PostgreSQL's:
//! - A call of an immutable function (`provolatile = 'i'`, from the
//!   function's or operator's `pg_proc` row) whose arguments are all
//!   constants is evaluated now and becomes a constant, so an error in a
//!   constant (`1/0`) is raised before any row is read, even when no row
//!   would reach it. Stable and volatile calls (`now()`, `random()`) and
//!   set-returning calls are left alone.
//! - A strict function with a constant NULL argument is NULL, whatever its
//!   volatility.
//! - AND and OR are simplified left to right: a constant FALSE (TRUE for
//!   OR) ends the simplification there, so the arguments after it are
//!   neither folded nor evaluated; constant TRUE (FALSE) arguments drop out.
//! - CASE drops the arms whose condition folds to FALSE or NULL without
//!   folding their results; an arm whose condition folds to TRUE becomes
//!   the ELSE. COALESCE drops NULL constants and stops at the first
//!   non-NULL constant.
//! - Casts are folded between types whose conversions do not depend on
//!   session settings (numbers other than money, and booleans).
//!
//! Subqueries are folded when their own plans run, not here. A `Filter`
//! whose qual folds to FALSE or NULL reads nothing (`exec`'s Filter
//! checks before pulling its input), as PostgreSQL's One-Time Filter does.

use super::Plan;
use crate::sql::exec::{EvalContext, eval};
use crate::sql::expr::{Expr, Loc};
use crate::sql::functions::registry;
use crate::sql::types::{Datum, Type, TypeCategory};
use crate::utils::elog::PgResult;

/// Folds the constant subexpressions of every expression of `plan`, then
/// of the subquery plans (`cx.subplans`) still referenced once folding has
/// dropped what it could — as PostgreSQL plans a SubLink only after
/// folding its surroundings.
pub fn eval_const_expressions(plan: &mut Plan, cx: &mut EvalContext) -> PgResult<()> {
    let mut f = |e: &mut Expr| fold_in_place(e, cx);
    walk_plan(plan, &mut f)?;
    let mut refs = Vec::new();
    walk_plan(plan, &mut |e: &mut Expr| {
        sublinks(e, &mut refs);
        Ok(())
    })?;
    plan.cte_subplans(&mut refs);
    fold_subplans(refs, cx)
}

/// Folds `exprs` (an UPDATE's SET and WHERE, ...) and the subquery plans
/// they still reference.
pub fn fold_exprs<'a>(
    exprs: impl Iterator<Item = &'a mut Expr>,
    cx: &mut EvalContext,
) -> PgResult<()> {
    let mut refs = Vec::new();
    for e in exprs {
        fold_in_place(e, cx)?;
        sublinks(e, &mut refs);
    }
    fold_subplans(refs, cx)
}

/// Folds subplans `todo` and those they reference, each once.
fn fold_subplans(mut todo: Vec<usize>, cx: &mut EvalContext) -> PgResult<()> {
    let mut done = vec![false; cx.subplans.len()];
    while let Some(i) = todo.pop() {
        if done.get(i).copied().unwrap_or(true) {
            continue;
        }
        done[i] = true;
        let Some(mut sub) = cx.subplans[i].take() else {
            continue;
        };
        let r = walk_plan(&mut sub, &mut |e: &mut Expr| fold_in_place(e, cx));
        walk_plan(&mut sub, &mut |e: &mut Expr| {
            sublinks(e, &mut todo);
            Ok(())
        })?;
        sub.cte_subplans(&mut todo);
        cx.subplans[i] = Some(sub);
        r?;
    }
    Ok(())
}

/// The subquery indexes `e` refers to.
fn sublinks(e: &Expr, out: &mut Vec<usize>) {
    if let Expr::SubLink { index, .. } = e {
        out.push(*index);
    }
    e.for_each_child(&mut |c| sublinks(c, out));
}

pub(crate) fn walk_plan(
    plan: &mut Plan,
    f: &mut dyn FnMut(&mut Expr) -> PgResult<()>,
) -> PgResult<()> {
    match plan {
        Plan::Result | Plan::SeqScan { .. } | Plan::WorkTableScan { .. } | Plan::CteScan { .. } => {
        }
        Plan::IndexScan { path, .. } => {
            for (e, _) in path.lower.iter_mut().chain(path.upper.iter_mut()) {
                f(e)?;
            }
            for c in &mut path.conds {
                f(c)?;
            }
        }
        Plan::RecursiveUnion { left, right, .. } => {
            walk_plan(left, f)?;
            walk_plan(right, f)?;
        }
        Plan::LockingScan { qual, .. } => {
            if let Some(q) = qual {
                f(q)?;
            }
        }
        Plan::FunctionScan { functions, .. } => {
            for func in functions {
                func.args.iter_mut().try_for_each(&mut *f)?;
            }
        }
        Plan::SubqueryScan { subplan } => walk_plan(subplan, f)?,
        Plan::ValuesScan { rows } => {
            for row in rows {
                row.iter_mut().try_for_each(&mut *f)?;
            }
        }
        Plan::SetOp { left, right, .. } => {
            walk_plan(left, f)?;
            walk_plan(right, f)?;
        }
        Plan::NestLoop {
            left, right, qual, ..
        } => {
            walk_plan(left, f)?;
            walk_plan(right, f)?;
            if let Some(q) = qual {
                f(q)?;
            }
        }
        Plan::LateralLoop {
            left,
            right,
            params,
            qual,
            ..
        } => {
            walk_plan(left, f)?;
            walk_plan(right, f)?;
            for (_, e) in params {
                f(e)?;
            }
            if let Some(q) = qual {
                f(q)?;
            }
        }
        Plan::HashJoin {
            left,
            right,
            left_keys,
            right_keys,
            qual,
            ..
        } => {
            walk_plan(left, f)?;
            walk_plan(right, f)?;
            left_keys.iter_mut().try_for_each(&mut *f)?;
            right_keys.iter_mut().try_for_each(&mut *f)?;
            if let Some(q) = qual {
                f(q)?;
            }
        }
        Plan::Filter { input, qual } => {
            walk_plan(input, f)?;
            f(qual)?;
        }
        Plan::Agg {
            input,
            group_by,
            aggregates,
            ..
        } => {
            walk_plan(input, f)?;
            group_by.iter_mut().try_for_each(&mut *f)?;
            for a in aggregates {
                a.args.iter_mut().try_for_each(&mut *f)?;
                a.direct_args.iter_mut().try_for_each(&mut *f)?;
                for (e, _, _) in &mut a.order {
                    f(e)?;
                }
                if let Some(q) = &mut a.filter {
                    f(q)?;
                }
            }
        }
        Plan::WindowAgg {
            input,
            partition,
            order,
            frame,
            funcs,
        } => {
            walk_plan(input, f)?;
            partition.iter_mut().try_for_each(&mut *f)?;
            for (e, _, _) in order {
                f(e)?;
            }
            for e in [&mut frame.start_offset, &mut frame.end_offset]
                .into_iter()
                .flatten()
            {
                f(e)?;
            }
            for ops in [&mut frame.start_ops, &mut frame.end_ops]
                .into_iter()
                .flatten()
            {
                f(&mut ops.plus)?;
                f(&mut ops.minus)?;
                if let Some(k) = &mut ops.key {
                    f(k)?;
                }
            }
            for w in funcs {
                w.args.iter_mut().try_for_each(&mut *f)?;
                if let Some(q) = &mut w.filter {
                    f(q)?;
                }
            }
        }
        Plan::Project { input, exprs } => {
            walk_plan(input, f)?;
            exprs.iter_mut().try_for_each(&mut *f)?;
        }
        Plan::ProjectSet { input, calls } => {
            walk_plan(input, f)?;
            for (_, args, _) in calls {
                args.iter_mut().try_for_each(&mut *f)?;
            }
        }
        Plan::Unique { input, .. }
        | Plan::Sort { input, .. }
        | Plan::UniqueOn { input, .. }
        | Plan::Labeled { input, .. }
        | Plan::Instrument { input, .. } => walk_plan(input, f)?,
        Plan::Limit {
            input,
            offset,
            count,
            ..
        } => {
            walk_plan(input, f)?;
            if let Some(e) = offset {
                f(e)?;
            }
            if let Some(e) = count {
                f(e)?;
            }
        }
    }
    Ok(())
}

fn fold_in_place(e: &mut Expr, cx: &mut EvalContext) -> PgResult<()> {
    let old = std::mem::replace(e, Expr::And(Vec::new()));
    *e = fold(old, cx)?;
    Ok(())
}

/// `e` with its constant subexpressions folded.
pub fn fold(e: Expr, cx: &mut EvalContext) -> PgResult<Expr> {
    e.rewrite(&mut |x: &Expr| fold_node(x, cx))
}

fn constant(value: Datum, ty: Type) -> Expr {
    Expr::Const {
        value,
        ty,
        typmod: -1,
        loc: Loc(None),
    }
}

fn as_const(e: &Expr) -> Option<&Datum> {
    match e {
        Expr::Const { value, .. } => Some(value),
        _ => None,
    }
}

/// The nodes folding treats specially (None: fold the children only).
fn fold_node(x: &Expr, cx: &mut EvalContext) -> PgResult<Option<Expr>> {
    Ok(Some(match x {
        Expr::Func {
            func,
            args,
            arg_types,
            ty,
        } => {
            let def = registry().get(*func);
            let args = args
                .iter()
                .map(|a| fold(a.clone(), cx))
                .collect::<PgResult<Vec<_>>>()?;
            let call = Expr::Func {
                func: *func,
                args,
                arg_types: arg_types.clone(),
                ty: *ty,
            };
            let Expr::Func { args, .. } = &call else {
                unreachable!("built above")
            };
            if def.srf.is_some() {
                return Ok(Some(call));
            }
            if def.strict
                && args
                    .iter()
                    .any(|a| matches!(as_const(a), Some(Datum::Null)))
            {
                constant(Datum::Null, *ty)
            } else if args.iter().all(|a| as_const(a).is_some())
                && crate::catalog::builtin::provolatile(*func) == b'i'
            {
                let value = eval(&call, &[], cx)?;
                constant(value, *ty)
            } else {
                call
            }
        }
        Expr::And(args) | Expr::Or(args) => {
            let is_and = matches!(x, Expr::And(_));
            let mut kept = Vec::with_capacity(args.len());
            let mut saw_null = false;
            for a in args {
                let a = fold(a.clone(), cx)?;
                match as_const(&a) {
                    Some(Datum::Bool(b)) if *b != is_and => {
                        return Ok(Some(constant(Datum::Bool(*b), Type::Bool)));
                    }
                    Some(Datum::Bool(_)) => {}
                    Some(Datum::Null) => saw_null = true,
                    _ => kept.push(a),
                }
            }
            if saw_null {
                kept.push(constant(Datum::Null, Type::Bool));
            }
            match kept.len() {
                0 => constant(Datum::Bool(is_and), Type::Bool),
                1 => kept.pop().expect("one"),
                _ if is_and => Expr::And(kept),
                _ => Expr::Or(kept),
            }
        }
        Expr::Not(a) => {
            let a = fold((**a).clone(), cx)?;
            match as_const(&a) {
                Some(Datum::Bool(b)) => constant(Datum::Bool(!b), Type::Bool),
                Some(Datum::Null) => constant(Datum::Null, Type::Bool),
                _ => Expr::Not(Box::new(a)),
            }
        }
        Expr::Case {
            arg,
            whens,
            default,
            ty,
        } => {
            let arg = match arg {
                Some(a) => Some(Box::new(fold((**a).clone(), cx)?)),
                None => None,
            };
            let mut kept = Vec::with_capacity(whens.len());
            let mut default_result = None;
            for (cond, result) in whens {
                let cond = fold(cond.clone(), cx)?;
                match as_const(&cond) {
                    Some(Datum::Bool(false) | Datum::Null) => continue,
                    Some(Datum::Bool(true)) => {
                        default_result = Some(fold(result.clone(), cx)?);
                        break;
                    }
                    _ => kept.push((cond, fold(result.clone(), cx)?)),
                }
            }
            let default = match default_result {
                Some(d) => d,
                None => fold((**default).clone(), cx)?,
            };
            if kept.is_empty() {
                default
            } else {
                Expr::Case {
                    arg,
                    whens: kept,
                    default: Box::new(default),
                    ty: *ty,
                }
            }
        }
        Expr::Coalesce { args, ty } => {
            let mut kept = Vec::with_capacity(args.len());
            for a in args {
                let a = fold(a.clone(), cx)?;
                match as_const(&a) {
                    Some(Datum::Null) => continue,
                    Some(_) => {
                        kept.push(a);
                        break;
                    }
                    None => kept.push(a),
                }
            }
            match kept.len() {
                0 => constant(Datum::Null, *ty),
                1 => kept.pop().expect("one"),
                _ => Expr::Coalesce {
                    args: kept,
                    ty: *ty,
                },
            }
        }
        Expr::Cast { arg, to, typmod } => {
            let arg = fold((**arg).clone(), cx)?;
            let from = arg.ty();
            // money's text depends on lc_monetary: not settled.
            let settled = |t: Type| {
                matches!(t.category(), TypeCategory::Numeric | TypeCategory::Boolean)
                    && t.oid() != 790
            };
            let cast = Expr::Cast {
                arg: Box::new(arg),
                to: *to,
                typmod: *typmod,
            };
            match &cast {
                Expr::Cast { arg, .. }
                    if as_const(arg).is_some() && settled(from) && settled(*to) =>
                {
                    let value = eval(&cast, &[], cx)?;
                    Expr::Const {
                        value,
                        ty: *to,
                        typmod: *typmod,
                        loc: Loc(None),
                    }
                }
                _ => cast,
            }
        }
        _ => return Ok(None),
    }))
}
