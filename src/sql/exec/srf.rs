//! Set-returning functions: PostgreSQL's `nodeFunctionscan.c` (a function
//! list in FROM, `ROWS FROM (...)`, `WITH ORDINALITY`) and
//! `nodeProjectSet.c` (set-returning functions in a target list).
//!
//! Both nodes run calls the same way, through [`SrfRun`]: the arguments are
//! evaluated once per call, then the call yields rows until it is done.
//! How the rows are made is the registry's [`SetImpl`]: `generate_series`,
//! `unnest` and `generate_subscripts` step a [`Series`] one value at a time
//! (so `LIMIT` stops an endless series); the others compute their rows on
//! first use and hold them (counted against [`EvalContext::hold`]).
//!
//! A function that returns one value is, in FROM, a call of one row.
//!
//! Several calls run in lockstep, as PostgreSQL 10 and later do: each
//! output row takes the next row of every call, NULLs standing in for the
//! calls already done, until all are done. A call whose strict function
//! has a NULL argument yields no rows.
//!
//! The planner guarantees the shapes: a [`ProjectSet`]'s calls read only
//! its input row (nested calls are split into stacked ProjectSets, the
//! innermost first), and no other node evaluates a set-returning call.

use std::cmp::Ordering;

use super::super::adt::datetime::{Interval, TimeZone, timestamptz_pl_interval};
use super::super::adt::{as_interval, datum_cmp};
use super::super::expr::Expr;
use super::super::functions::{FuncId, SetImpl, registry};
use super::super::plan::RangeFunction;
use super::super::types::{Datum, Type};
use super::{EvalContext, ExecNode, Row, eval};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// One running call of a set-returning function.
pub(super) enum SrfRun {
    Series(Series),
    Rows(std::vec::IntoIter<Row>),
    Done,
}

impl SrfRun {
    /// Starts `func` over `args` evaluated against `row`; `ty` is the
    /// call's result type.
    pub(super) fn start(
        func: FuncId,
        args: &[Expr],
        ty: Type,
        row: &[Datum],
        cx: &mut EvalContext,
    ) -> PgResult<SrfRun> {
        let def = registry().get(func);
        let mut vals = Vec::with_capacity(args.len());
        let mut types = Vec::with_capacity(args.len());
        for a in args {
            vals.push(eval(a, row, cx)?);
            types.push(a.ty());
        }
        // A function returning one value, in FROM: one row.
        let Some(how) = def.srf else {
            let v = super::eval::invoke(func, &vals, &types, cx)?;
            return Ok(SrfRun::Rows(vec![vec![v]].into_iter()));
        };
        if def.strict && vals.iter().any(|v| v.is_null()) {
            return Ok(SrfRun::Done);
        }
        Ok(match how {
            SetImpl::Series => match Series::start(vals, ty)? {
                Some(s) => SrfRun::Series(s),
                None => SrfRun::Done,
            },
            SetImpl::Values(f) => {
                let values = f(cx, &vals, &types)?;
                cx.hold(&values)?;
                SrfRun::Rows(
                    values
                        .into_iter()
                        .map(|v| vec![v])
                        .collect::<Vec<_>>()
                        .into_iter(),
                )
            }
            SetImpl::Rows => {
                let rows = super::super::functions::json::srf_rows(def.name, &vals)?;
                cx.hold(&rows.iter().flatten().cloned().collect::<Vec<_>>())?;
                SrfRun::Rows(rows.into_iter())
            }
        })
    }

    /// The call's next row; None once it is done (and ever after).
    pub(super) fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        cx.server.check_for_interrupts()?;
        let out = match self {
            SrfRun::Series(s) => s.next(cx)?.map(|d| vec![d]),
            SrfRun::Rows(rows) => rows.next(),
            SrfRun::Done => None,
        };
        if out.is_none() {
            *self = SrfRun::Done;
        }
        Ok(out)
    }
}

/// A FROM item of set-returning functions: one function, or the list of
/// `ROWS FROM (...)` (and the multi-argument `unnest`), side by side in
/// lockstep, then the `WITH ORDINALITY` counter.
pub(super) struct FunctionScan {
    pub functions: Vec<RangeFunction>,
    pub ordinality: bool,
    pub runs: Option<Vec<SrfRun>>,
    pub count: i64,
}

impl ExecNode for FunctionScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.runs.is_none() {
            let mut runs = Vec::with_capacity(self.functions.len());
            for f in &self.functions {
                runs.push(SrfRun::start(f.func, &f.args, f.ty, &[], cx)?);
            }
            self.runs = Some(runs);
        }
        let runs = self.runs.as_mut().expect("started");
        let mut row = Vec::new();
        let mut any = false;
        for (run, f) in runs.iter_mut().zip(&self.functions) {
            match run.next(cx)? {
                Some(r) => {
                    any = true;
                    row.extend(r);
                }
                None => row.extend(std::iter::repeat_n(Datum::Null, f.ncols)),
            }
        }
        if !any {
            return Ok(None);
        }
        if self.ordinality {
            self.count += 1;
            row.push(Datum::Int8(self.count));
        }
        Ok(Some(row))
    }
}

/// A target list's set-returning calls (`ProjectSet`): for each input row,
/// the row followed by one column per call, as many rows as the longest
/// call yields. The Project above computes the target list from them.
pub(super) struct ProjectSet {
    pub input: Box<dyn ExecNode>,
    /// (function, arguments over the input row, result type).
    pub calls: Vec<(FuncId, Vec<Expr>, Type)>,
    /// The input row being expanded and its calls.
    pub current: Option<(Row, Vec<SrfRun>)>,
}

impl ExecNode for ProjectSet {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        loop {
            if self.current.is_none() {
                let Some(row) = self.input.next(cx)? else {
                    return Ok(None);
                };
                let mut runs = Vec::with_capacity(self.calls.len());
                for (func, args, ty) in &self.calls {
                    runs.push(SrfRun::start(*func, args, *ty, &row, cx)?);
                }
                self.current = Some((row, runs));
            }
            let (row, runs) = self.current.as_mut().expect("set above");
            let mut values = Vec::with_capacity(runs.len());
            let mut any = false;
            for (run, (func, _, _)) in runs.iter_mut().zip(&self.calls) {
                match run.next(cx)? {
                    // A function of several columns gives a record.
                    Some(mut r) if r.len() == 1 => {
                        any = true;
                        values.push(r.swap_remove(0));
                    }
                    Some(r) => {
                        any = true;
                        let name = registry().get(*func).name;
                        let (cols, _) = super::super::functions::json::srf_columns(name);
                        let types = cols.iter().map(|c| c.1).collect();
                        values.push(super::super::adt::rowtypes::RecordValue::datum(r, types));
                    }
                    None => values.push(Datum::Null),
                }
            }
            if !any {
                self.current = None;
                continue;
            }
            let mut out = row.clone();
            out.extend(values);
            return Ok(Some(out));
        }
    }
}

/// `generate_series(start, stop [, step])` over integers, numeric or
/// timestamps; `unnest(array)`; `generate_subscripts(array, dim [, reverse])`.
pub(super) struct Series {
    current: Datum,
    stop: Datum,
    step: Datum,
    descending: bool,
    /// The next step would overflow the type: `current` was the last value.
    overflowed: bool,
}

fn step_zero() -> PgError {
    PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        "step size cannot equal zero",
    )
}

impl Series {
    /// The series of non-NULL arguments `vals` of a call returning `ty`
    /// (None: no rows).
    fn start(vals: Vec<Datum>, ty: Type) -> PgResult<Option<Series>> {
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
                overflowed: false,
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
                overflowed: false,
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
            None => match ty {
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
        let mut vals = vals.into_iter();
        let (current, stop) = (vals.next(), vals.next());
        Ok(Some(Series {
            current: current.expect("a series has a start"),
            stop: stop.expect("a series has a stop"),
            step,
            descending,
            overflowed: false,
        }))
    }

    /// The next value; None at the end (the caller stops asking).
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Datum>> {
        if self.overflowed {
            return Ok(None);
        }
        let o = datum_cmp(&self.current, &self.stop);
        if (self.descending && o == Ordering::Less) || (!self.descending && o == Ordering::Greater)
        {
            return Ok(None);
        }
        if let (Datum::Int4(i), Datum::Array(a)) = (&self.current, &self.step) {
            let out = a.items[*i as usize].clone();
            self.current = Datum::Int4(i + 1);
            return Ok(Some(out));
        }
        let out = self.current.clone();
        // Overflow past the type's range ends the series, as in PostgreSQL.
        let next = match (&self.current, &self.step) {
            (Datum::Int4(c), Datum::Int4(st)) => c.checked_add(*st).map(Datum::Int4),
            (Datum::Int8(c), Datum::Int8(st)) => c.checked_add(*st).map(Datum::Int8),
            (Datum::Numeric(c), Datum::Numeric(st)) => Some(Datum::Numeric(c.add(st)?)),
            (Datum::Timestamp(c), Datum::Interval { .. }) => {
                let iv: Interval = as_interval(&self.step).expect("interval step");
                Some(Datum::Timestamp(timestamptz_pl_interval(
                    *c,
                    &iv,
                    &TimeZone::default(),
                )?))
            }
            (Datum::Timestamptz(c), Datum::Interval { .. }) => {
                let iv: Interval = as_interval(&self.step).expect("interval step");
                Some(Datum::Timestamptz(timestamptz_pl_interval(
                    *c, &iv, &cx.fmt.tz,
                )?))
            }
            (c, st) => unreachable!("generate_series over {c:?} by {st:?}"),
        };
        match next {
            Some(n) => self.current = n,
            None => self.overflowed = true,
        }
        Ok(Some(out))
    }
}
