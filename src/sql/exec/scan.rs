//! Scans of tables on disk and of set-returning functions.
//!
//! [`TableScan`] pulls rows from the backend (`open_scan`/`scan_next`, one
//! row at a time, like `SeqNext`); a scan the executor abandons early (under
//! a LIMIT, or after an error) is closed when the statement's
//! [`EvalContext`] is dropped. [`LockingScan`] is the scan of
//! `SELECT ... FOR UPDATE/SHARE` (PostgreSQL's LockRows over the scan): it
//! tests the WHERE clause, locks each matching row, and when a concurrent
//! transaction moved the row re-tests the newest version (EvalPlanQual),
//! returning it instead when it still matches and skipping it otherwise.
//! [`SeriesScan`] produces `generate_series` lazily.

use std::cmp::Ordering;
use std::sync::Arc;

use super::super::adt::datetime::{Interval, TimeZone, timestamptz_pl_interval};
use super::super::adt::{as_interval, datum_cmp};
use super::super::expr::Expr;
use super::super::tables::{RowChange, RowId, RowLockMode, ScanId, TableDef};
use super::super::types::{Datum, Type};
use super::{EvalContext, ExecNode, Row, eval, eval_qual};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Opens a scan of `table` and remembers it until it ends.
pub(crate) fn open(cx: &mut EvalContext, table: &TableDef) -> PgResult<ScanId> {
    let id = cx.server.open_scan(table)?;
    cx.open_scans.push(id);
    Ok(id)
}

/// The next visible row of an open scan (None at the end, when the backend closed it).
pub(crate) fn next(cx: &mut EvalContext, scan: ScanId) -> PgResult<Option<(RowId, Row)>> {
    cx.server.check_for_interrupts()?;
    let r = cx.server.scan_next(scan)?;
    if r.is_none() {
        cx.open_scans.retain(|s| *s != scan);
    }
    Ok(r)
}

/// A plain scan: the rows without their ids.
pub(super) struct TableScan(pub TableScanWithIds);

impl ExecNode for TableScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        Ok(self.0.next(cx)?.map(|(_, row)| row))
    }
}

pub(super) struct LockingScan {
    pub inner: TableScanWithIds,
    pub mode: RowLockMode,
    pub qual: Option<Expr>,
}

/// A table scan that keeps each row's id.
pub(super) struct TableScanWithIds {
    pub table: Arc<TableDef>,
    pub scan: Option<ScanId>,
    pub done: bool,
}

impl TableScanWithIds {
    pub fn new(table: Arc<TableDef>) -> TableScanWithIds {
        TableScanWithIds {
            table,
            scan: None,
            done: false,
        }
    }

    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<(RowId, Row)>> {
        if self.done {
            return Ok(None);
        }
        let scan = match self.scan {
            Some(s) => s,
            None => {
                let s = open(cx, &self.table)?;
                self.scan = Some(s);
                s
            }
        };
        let r = next(cx, scan)?;
        if r.is_none() {
            self.done = true;
        }
        Ok(r)
    }
}

impl ExecNode for LockingScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        'rows: while let Some((mut row_id, mut row)) = self.inner.next(cx)? {
            if let Some(q) = &self.qual
                && !eval_qual(q, &row, cx)?
            {
                continue;
            }
            // Bounded by the number of concurrent updates to this row.
            loop {
                let table = self.inner.table.clone();
                match cx.server.lock_row(&table, row_id, self.mode)? {
                    RowChange::Done => return Ok(Some(row)),
                    RowChange::Gone => continue 'rows,
                    RowChange::Moved {
                        row_id: newer,
                        row: newest,
                    } => {
                        if let Some(q) = &self.qual
                            && !eval_qual(q, &newest, cx)?
                        {
                            continue 'rows;
                        }
                        row_id = newer;
                        row = newest;
                    }
                }
            }
        }
        Ok(None)
    }
}

/// A set-returning function other than `generate_series` in FROM
/// (`regexp_matches`, ...): its `SetFn` computes all rows on first use.
pub(super) struct SetFunctionScan {
    pub func: crate::sql::functions::FuncId,
    pub srf: crate::sql::functions::SetFn,
    pub args: Vec<Expr>,
    pub rows: Option<std::vec::IntoIter<Datum>>,
}

impl ExecNode for SetFunctionScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.rows.is_none() {
            let mut vals = Vec::with_capacity(self.args.len());
            let mut types = Vec::with_capacity(self.args.len());
            for a in &self.args {
                vals.push(eval(a, &[], cx)?);
                types.push(a.ty());
            }
            let strict = crate::sql::functions::registry().get(self.func).strict;
            let rows = if strict && vals.iter().any(|v| v.is_null()) {
                Vec::new()
            } else {
                (self.srf)(cx, &vals, &types)?
            };
            self.rows = Some(rows.into_iter());
        }
        cx.server.check_for_interrupts()?;
        Ok(self.rows.as_mut().and_then(|r| r.next()).map(|d| vec![d]))
    }
}

/// A set-returning function of rows (`jsonb_each(...)`): its arguments
/// are evaluated once and its rows produced by `functions::json::srf_rows`.
pub(super) struct RowSetFunctionScan {
    pub name: &'static str,
    pub args: Vec<Expr>,
    pub rows: Option<std::vec::IntoIter<Row>>,
}

impl ExecNode for RowSetFunctionScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.rows.is_none() {
            let mut vals = Vec::with_capacity(self.args.len());
            for a in &self.args {
                vals.push(eval(a, &[], cx)?);
            }
            let rows = crate::sql::functions::json::srf_rows(self.name, &vals)?;
            cx.hold(&rows.iter().flatten().cloned().collect::<Vec<_>>())?;
            self.rows = Some(rows.into_iter());
        }
        cx.server.check_for_interrupts()?;
        Ok(self.rows.as_mut().and_then(|r| r.next()))
    }
}

/// `generate_series(start, stop [, step])` over integers, numeric or timestamps.
pub(super) struct SeriesScan {
    pub args: Vec<Expr>,
    pub ty: Type,
    pub state: Option<Option<Series>>,
}

pub(super) struct Series {
    current: Datum,
    stop: Datum,
    step: Datum,
    descending: bool,
}

fn step_zero() -> PgError {
    PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        "step size cannot equal zero",
    )
}

impl SeriesScan {
    fn start(&self, cx: &mut EvalContext) -> PgResult<Option<Series>> {
        let mut vals = Vec::with_capacity(self.args.len());
        for a in &self.args {
            vals.push(eval(a, &[], cx)?);
        }
        if vals.iter().any(|v| v.is_null()) {
            return Ok(None);
        }
        // unnest(array): a series over the element offsets, the array kept
        // as its "step" (see `next`).
        if let [Datum::Array(a)] = vals.as_slice() {
            if a.items.is_empty() {
                return Ok(None);
            }
            return Ok(Some(Series {
                current: Datum::Int4(0),
                stop: Datum::Int4(a.items.len() as i32 - 1),
                step: vals[0].clone(),
                descending: false,
            }));
        }
        // generate_subscripts(array, dim [, reverse]): the subscripts of
        // one dimension, a series of int4.
        if let [Datum::Array(a), Datum::Int4(d), rest @ ..] = vals.as_slice() {
            let reverse = matches!(rest, [Datum::Bool(true)]);
            if *d < 1 || *d as usize > a.ndim() {
                return Ok(None);
            }
            let i = *d as usize - 1;
            let (lb, ub) = (a.lbounds[i], a.lbounds[i] + a.dims[i] - 1);
            let (from, to, step) = if reverse { (ub, lb, -1) } else { (lb, ub, 1) };
            return Ok(Some(Series {
                current: Datum::Int4(from),
                stop: Datum::Int4(to),
                step: Datum::Int4(step),
                descending: reverse,
            }));
        }
        // generate_series_step_numeric's checks, in its order: start and
        // stop before the step. An infinite bound would never be reached.
        let bad = |msg: String| Err(PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg));
        for (v, which) in vals.iter().zip(["start value", "stop value"]) {
            if let Datum::Numeric(n) = v {
                if n.is_nan() {
                    return bad(format!("{which} cannot be NaN"));
                }
                if n.is_infinite() {
                    return bad(format!("{which} cannot be infinity"));
                }
            }
        }
        let step = match vals.get(2) {
            Some(s) => s.clone(),
            None => match self.ty {
                Type::Int4 => Datum::Int4(1),
                Type::Int8 => Datum::Int8(1),
                Type::Numeric => Datum::Numeric(super::super::types::Numeric::from_i64(1)),
                _ => unreachable!("timestamp series have a step"),
            },
        };
        let descending = match &step {
            Datum::Int4(0) | Datum::Int8(0) => return Err(step_zero()),
            Datum::Int4(v) => *v < 0,
            Datum::Int8(v) => *v < 0,
            Datum::Numeric(n) => {
                if n.is_nan() {
                    return bad("step size cannot be NaN".into());
                }
                if n.is_infinite() {
                    return bad("step size cannot be infinity".into());
                }
                if n.is_zero() {
                    return Err(step_zero());
                }
                n.is_negative()
            }
            Datum::Interval { .. } => {
                let iv = as_interval(&step).expect("interval step");
                match iv.span().cmp(&0) {
                    Ordering::Equal => return Err(step_zero()),
                    o => o == Ordering::Less,
                }
            }
            other => unreachable!("generate_series step {other:?}"),
        };
        Ok(Some(Series {
            current: vals[0].clone(),
            stop: vals[1].clone(),
            step,
            descending,
        }))
    }
}

impl ExecNode for SeriesScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.state.is_none() {
            self.state = Some(self.start(cx)?);
        }
        cx.server.check_for_interrupts()?;
        let Some(Some(s)) = self.state.as_mut() else {
            return Ok(None);
        };
        let o = datum_cmp(&s.current, &s.stop);
        if (s.descending && o == Ordering::Less) || (!s.descending && o == Ordering::Greater) {
            self.state = Some(None);
            return Ok(None);
        }
        if let (Datum::Int4(i), Datum::Array(a)) = (&s.current, &s.step) {
            let out = a.items[*i as usize].clone();
            s.current = Datum::Int4(i + 1);
            return Ok(Some(vec![out]));
        }
        let out = s.current.clone();
        // Overflow past the type's range ends the series, as in PostgreSQL.
        let next = match (&s.current, &s.step) {
            (Datum::Int4(c), Datum::Int4(st)) => c.checked_add(*st).map(Datum::Int4),
            (Datum::Int8(c), Datum::Int8(st)) => c.checked_add(*st).map(Datum::Int8),
            (Datum::Numeric(c), Datum::Numeric(st)) => Some(Datum::Numeric(c.add(st)?)),
            (Datum::Timestamp(c), Datum::Interval { .. }) => {
                let iv: Interval = as_interval(&s.step).expect("interval step");
                Some(Datum::Timestamp(timestamptz_pl_interval(
                    *c,
                    &iv,
                    &TimeZone::default(),
                )?))
            }
            (Datum::Timestamptz(c), Datum::Interval { .. }) => {
                let iv: Interval = as_interval(&s.step).expect("interval step");
                Some(Datum::Timestamptz(timestamptz_pl_interval(
                    *c, &iv, &cx.fmt.tz,
                )?))
            }
            (c, st) => unreachable!("generate_series over {c:?} by {st:?}"),
        };
        match next {
            Some(n) => s.current = n,
            None => self.state = Some(None),
        }
        Ok(Some(vec![out]))
    }
}
