//! Correlated subqueries (`nodeSubplan.c`'s `ExecScanSubPlan`): the
//! SubLink's parameters are evaluated against the current row into their
//! slots, then the subquery's plan runs afresh and is read only as far as
//! the answer needs (one row for EXISTS, two for a scalar subquery, up to
//! the deciding row for ANY/ALL). Uncorrelated subqueries keep the
//! run-once path of [`EvalContext::subplan_rows`].

use super::super::expr::{Expr, SubLinkKind};
use super::super::types::Datum;
use super::{EvalContext, eval};
use crate::utils::elog::{PgError, PgResult, sqlstate};

pub(super) fn eval_correlated(
    index: usize,
    kind: &SubLinkKind,
    params: &[(usize, Expr)],
    row: &[Datum],
    cx: &mut EvalContext,
) -> PgResult<Datum> {
    for (slot, e) in params {
        let v = eval(e, row, cx)?;
        cx.set_exec_param(*slot, v);
    }
    match kind {
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
