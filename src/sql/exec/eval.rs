//! Expression evaluation (`execExprInterp.c`, as a tree walk): SQL
//! three-valued logic, strict functions, CASE, COALESCE, casts.

use std::cmp::Ordering;

use super::super::adt::{self, as_f64, as_i128, datum_cmp, make_int};
use super::super::expr::{BoolTestKind, Expr, SubLinkKind};
use super::super::functions::{Arith, CmpOp, FuncId, Impl, registry};
use super::super::types::{Datum, Type};
use super::EvalContext;
use crate::utils::elog::{PgError, PgResult, sqlstate};

fn division_by_zero() -> PgError {
    PgError::error(sqlstate::DIVISION_BY_ZERO, "division by zero")
}

/// Evaluates `e` against `row`.
pub fn eval(e: &Expr, row: &[Datum], cx: &mut EvalContext) -> PgResult<Datum> {
    // Leaves do not recurse; everything else may nest as deep as the input.
    if !matches!(
        e,
        Expr::Const { .. } | Expr::Column { .. } | Expr::Param { .. }
    ) {
        crate::utils::stack::check_stack_depth()?;
    }
    match e {
        Expr::Const { value, .. } => Ok(value.clone()),
        Expr::Column { index, .. } => Ok(row[*index].clone()),
        Expr::Param { number, .. } => Ok(super::super::params::value(*number)),
        Expr::Func {
            func,
            args,
            arg_types,
            ..
        } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, row, cx)?);
            }
            invoke(*func, &vals, arg_types, cx)
        }
        Expr::And(args) => {
            let mut saw_null = false;
            for a in args {
                match eval(a, row, cx)? {
                    Datum::Bool(false) => return Ok(Datum::Bool(false)),
                    Datum::Null => saw_null = true,
                    _ => {}
                }
            }
            Ok(if saw_null {
                Datum::Null
            } else {
                Datum::Bool(true)
            })
        }
        Expr::Or(args) => {
            let mut saw_null = false;
            for a in args {
                match eval(a, row, cx)? {
                    Datum::Bool(true) => return Ok(Datum::Bool(true)),
                    Datum::Null => saw_null = true,
                    _ => {}
                }
            }
            Ok(if saw_null {
                Datum::Null
            } else {
                Datum::Bool(false)
            })
        }
        Expr::Not(a) => Ok(match eval(a, row, cx)? {
            Datum::Bool(b) => Datum::Bool(!b),
            _ => Datum::Null,
        }),
        Expr::Case {
            arg,
            whens,
            default,
            ..
        } => {
            let pushed = match arg {
                Some(a) => {
                    let v = eval(a, row, cx)?;
                    cx.case_values.push(v);
                    true
                }
                None => false,
            };
            let mut result = None;
            for (cond, res) in whens {
                let c = eval(cond, row, cx);
                match c {
                    Ok(Datum::Bool(true)) => {
                        result = Some(eval(res, row, cx));
                        break;
                    }
                    Ok(_) => {}
                    Err(err) => {
                        result = Some(Err(err));
                        break;
                    }
                }
            }
            let out = match result {
                Some(r) => r,
                None => eval(default, row, cx),
            };
            if pushed {
                cx.case_values.pop();
            }
            out
        }
        Expr::InList { arg, test } => {
            let v = eval(arg, row, cx)?;
            cx.case_values.push(v);
            let out = eval(test, row, cx);
            cx.case_values.pop();
            out
        }
        Expr::CaseTest { .. } => Ok(cx
            .case_values
            .last()
            .cloned()
            .expect("CaseTest inside CASE")),
        Expr::Coalesce { args, .. } => {
            for a in args {
                let v = eval(a, row, cx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Datum::Null)
        }
        Expr::MinMax { greatest, args, .. } => {
            let mut best: Option<Datum> = None;
            for a in args {
                let v = eval(a, row, cx)?;
                if v.is_null() {
                    continue;
                }
                let replace = match &best {
                    None => true,
                    Some(b) => {
                        let o = datum_cmp(&v, b);
                        if *greatest {
                            o == Ordering::Greater
                        } else {
                            o == Ordering::Less
                        }
                    }
                };
                if replace {
                    best = Some(v);
                }
            }
            Ok(best.unwrap_or(Datum::Null))
        }
        Expr::NullIf {
            left, right, eq, ..
        } => {
            let l = eval(left, row, cx)?;
            let r = eval(right, row, cx)?;
            if !l.is_null() && !r.is_null() {
                let types = [left.ty(), right.ty()];
                if invoke(*eq, &[l.clone(), r], &types, cx)? == Datum::Bool(true) {
                    return Ok(Datum::Null);
                }
            }
            Ok(l)
        }
        Expr::NullTest { arg, is_not } => {
            let v = eval(arg, row, cx)?;
            Ok(Datum::Bool(v.is_null() != *is_not))
        }
        Expr::BoolTest { arg, kind } => {
            let v = eval(arg, row, cx)?;
            let b = match v {
                Datum::Bool(b) => Some(b),
                _ => None,
            };
            Ok(Datum::Bool(match kind {
                BoolTestKind::IsTrue => b == Some(true),
                BoolTestKind::IsNotTrue => b != Some(true),
                BoolTestKind::IsFalse => b == Some(false),
                BoolTestKind::IsNotFalse => b != Some(false),
                BoolTestKind::IsUnknown => b.is_none(),
                BoolTestKind::IsNotUnknown => b.is_some(),
            }))
        }
        Expr::Cast { arg, to, typmod } => {
            let v = eval(arg, row, cx)?;
            adt::cast(v, arg.ty(), *to, *typmod, &cx.fmt)
        }
        Expr::Distinct {
            left,
            right,
            eq,
            not,
        } => {
            let l = eval(left, row, cx)?;
            let r = eval(right, row, cx)?;
            let distinct = match (l.is_null(), r.is_null()) {
                (true, true) => false,
                (true, false) | (false, true) => true,
                _ => {
                    let types = [left.ty(), right.ty()];
                    invoke(*eq, &[l, r], &types, cx)? != Datum::Bool(true)
                }
            };
            Ok(Datum::Bool(distinct != *not))
        }
        Expr::ExecParam { slot, .. } => Ok(cx.exec_param(*slot)),
        Expr::SubLink {
            index,
            kind,
            params,
            correlated: true,
            ..
        } => super::subplan::eval_correlated(*index, kind, params, e.ty(), row, cx),
        Expr::SubLink {
            index,
            kind: SubLinkKind::Any { cmp },
            ..
        } if super::subplan::hashable_any(cmp) => {
            super::subplan::eval_hashed_any(*index, cmp, row, cx)
        }
        Expr::SubLink { index, kind, .. } => {
            let rows = cx.subplan_rows(*index)?;
            match kind {
                SubLinkKind::Exists => Ok(Datum::Bool(!rows.is_empty())),
                SubLinkKind::Array => super::super::functions::array::from_rows(
                    rows.iter().map(|r| r[0].clone()).collect(),
                    e.ty(),
                ),
                SubLinkKind::Expr => match rows.len() {
                    0 => Ok(Datum::Null),
                    1 => Ok(rows[0][0].clone()),
                    _ => Err(PgError::error(
                        sqlstate::CARDINALITY_VIOLATION,
                        "more than one row returned by a subquery used as an expression",
                    )),
                },
                SubLinkKind::Any { cmp } | SubLinkKind::All { cmp } => {
                    let any = matches!(kind, SubLinkKind::Any { .. });
                    let mut saw_null = false;
                    for r in rows.iter() {
                        cx.case_values.push(r[0].clone());
                        let v = eval(cmp, row, cx);
                        cx.case_values.pop();
                        match v? {
                            Datum::Bool(b) if b == any => return Ok(Datum::Bool(any)),
                            Datum::Null => saw_null = true,
                            _ => {}
                        }
                    }
                    Ok(if saw_null {
                        Datum::Null
                    } else {
                        Datum::Bool(!any)
                    })
                }
            }
        }
        Expr::Array(a) => super::super::functions::array::eval_expr(a, row, cx),
        Expr::FieldSelect { arg, field, .. } => match eval(arg, row, cx)? {
            Datum::Record(r) => Ok(r.fields.get(*field).cloned().unwrap_or(Datum::Null)),
            _ => Ok(Datum::Null),
        },
        Expr::Row(args) => {
            let mut fields = Vec::with_capacity(args.len());
            for a in args {
                fields.push(eval(a, row, cx)?);
            }
            let types = args.iter().map(|a| a.ty()).collect();
            Ok(super::super::adt::rowtypes::RecordValue::datum(
                fields, types,
            ))
        }
        Expr::Agg { .. } => unreachable!("aggregate placeholders are replaced before execution"),
        Expr::WindowFunc { .. } => {
            unreachable!("window function placeholders are replaced before execution")
        }
    }
}

/// Evaluates a qualification: only TRUE passes (NULL and FALSE do not).
pub fn eval_qual(e: &Expr, row: &[Datum], cx: &mut EvalContext) -> PgResult<bool> {
    Ok(eval(e, row, cx)? == Datum::Bool(true))
}

/// Calls a registry entry on evaluated arguments.
pub fn invoke(id: FuncId, args: &[Datum], types: &[Type], cx: &mut EvalContext) -> PgResult<Datum> {
    let def = registry().get(id);
    if def.strict && args.iter().any(|a| a.is_null()) {
        return Ok(Datum::Null);
    }
    match def.imp {
        Impl::IntArith(op) => {
            let a = as_i128(&args[0]).expect("integer operand");
            let b = as_i128(&args[1]).expect("integer operand");
            let r = match op {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div => {
                    if b == 0 {
                        return Err(division_by_zero());
                    }
                    a / b
                }
                Arith::Mod => {
                    if b == 0 {
                        return Err(division_by_zero());
                    }
                    a % b
                }
            };
            make_int(r, def.ret)
        }
        Impl::FloatArith(op) => {
            let a = as_f64(&args[0]).expect("float operand");
            let b = as_f64(&args[1]).expect("float operand");
            let four = def.ret == Type::Float4;
            let r = match op {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div => {
                    if b == 0.0 && !a.is_nan() {
                        return Err(division_by_zero());
                    }
                    a / b
                }
                Arith::Mod => unreachable!("no float modulo operator"),
            };
            let r = if four { r as f32 as f64 } else { r };
            let inputs_inf = a.is_infinite() || b.is_infinite();
            let zero_ok = match op {
                Arith::Mul => a == 0.0 || b == 0.0,
                Arith::Div => a == 0.0 || b.is_infinite(),
                _ => true,
            };
            let r = adt::float::check_float8(r, inputs_inf, zero_ok || r != 0.0)?;
            Ok(if four {
                Datum::Float4(r as f32)
            } else {
                Datum::Float8(r)
            })
        }
        Impl::NumericArith(op) => {
            let a = adt::as_numeric(&args[0]).expect("numeric operand");
            let b = adt::as_numeric(&args[1]).expect("numeric operand");
            Ok(Datum::Numeric(match op {
                Arith::Add => a.add(&b)?,
                Arith::Sub => a.sub(&b)?,
                Arith::Mul => a.mul(&b)?,
                Arith::Div => a.div(&b)?,
                Arith::Mod => a.rem(&b)?,
            }))
        }
        Impl::Cmp(op) => {
            let o = datum_cmp(&args[0], &args[1]);
            Ok(Datum::Bool(match op {
                CmpOp::Eq => o == Ordering::Equal,
                CmpOp::Ne => o != Ordering::Equal,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            }))
        }
        Impl::Negate => match &args[0] {
            Datum::Float8(v) => Ok(Datum::Float8(-v)),
            Datum::Float4(v) => Ok(Datum::Float4(-v)),
            Datum::Numeric(n) => Ok(Datum::Numeric(n.neg())),
            Datum::Interval { .. } => Ok(adt::interval_datum(
                adt::as_interval(&args[0]).expect("interval").neg()?,
            )),
            d => make_int(-as_i128(d).expect("integer operand"), def.ret),
        },
        Impl::Identity => Ok(args[0].clone()),
        Impl::Scalar(f) => f(cx, args, types, def.ret),
        Impl::Aggregate => unreachable!("aggregates run in the Agg node"),
        Impl::Window => unreachable!("window functions run in the WindowAgg node"),
    }
}
