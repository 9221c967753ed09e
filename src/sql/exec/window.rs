//! WindowAgg (PostgreSQL's `nodeWindowAgg.c`): the window functions of one
//! window over its input.
//!
//! The node reads its whole input, sorts it (stably) on the PARTITION BY
//! keys, ascending with NULLs last, then the ORDER BY keys, and emits the
//! rows in that order with one column per window function appended,
//! partition by partition.
//! Within a partition, rows equal on every ORDER BY key are *peers*
//! (without ORDER BY, the whole partition is one peer group); `rank`,
//! RANGE and GROUPS frames and the EXCLUDE options are defined on peer
//! groups.
//!
//! Frames are half-open row ranges `[start, end)` of the partition, computed
//! per row from the frame options (`frame_bounds`); RANGE offsets compare
//! each row's ORDER BY value with `current ± offset` through the in_range
//! expressions the analyser built, so they never overflow. Aggregates run
//! through their ordinary transition functions: a frame that starts at the
//! partition's first row (the default) is fed incrementally, a frame equal
//! to the previous row's reuses its result, and any other frame is
//! aggregated afresh.
//!
//! Memory: the input goes through a [`Tuplesort`] on the PARTITION BY and
//! ORDER BY values (spilling to temporary files past `work_mem`), and the
//! node holds one partition at a time, at most 1 GB of it (53200 past
//! that); a partition does not spill yet.

use std::cmp::Ordering;

use super::tuplesort::Tuplesort;
use super::{EvalContext, ExecNode, Row, compare_key, eval, eval_qual};
use crate::sql::analyze::{Frame, WinFunc, WindowFuncRef, frameopt};
use crate::sql::expr::Expr;
use crate::sql::functions::WinKind;
use crate::sql::functions::aggregates::Accumulator;
use crate::sql::plan::SortKey;
use crate::sql::types::Datum;
use crate::utils::elog::{PgError, PgResult, sqlstate};

pub(super) struct WindowAgg {
    pub input: Option<Box<dyn ExecNode>>,
    pub partition: Vec<Expr>,
    pub order: Vec<(Expr, bool, bool)>,
    pub frame: Frame,
    pub funcs: Vec<WindowFuncRef>,
    /// The current partition's rows with their window values.
    pub output: std::vec::IntoIter<Row>,
    /// The input, sorted (spilling past `work_mem`), and its next row.
    pub sorted: Option<Tuplesort>,
    pub pending: Option<Row>,
    pub offsets: Option<Offsets>,
}

/// The frame offsets, evaluated once per scan (`calculate_frame_offsets`).
pub(super) struct Offsets {
    /// ROWS and GROUPS offsets.
    start_n: u64,
    end_n: u64,
    /// RANGE offsets.
    start: Datum,
    end: Datum,
}

/// One partition, sorted, with its peer groups.
struct Partition<'a> {
    rows: &'a [Row],
    /// Per row: its peer group's number, first row and end (exclusive).
    group: Vec<usize>,
    group_start: Vec<usize>,
    group_end: Vec<usize>,
    /// The first row of each peer group, and the partition's length last.
    starts: Vec<usize>,
}

impl ExecNode for WindowAgg {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if let Some(mut input) = self.input.take() {
            self.offsets = Some(self.offsets(cx)?);
            // Sorted rows are the PARTITION BY values, the ORDER BY values,
            // then the input row; the sort keys are the first columns.
            let np = self.partition.len();
            let mut keys: Vec<SortKey> = (0..np)
                .map(|column| SortKey {
                    column,
                    descending: false,
                    nulls_first: false,
                })
                .collect();
            keys.extend(
                self.order
                    .iter()
                    .enumerate()
                    .map(|(i, (_, desc, nulls_first))| SortKey {
                        column: np + i,
                        descending: *desc,
                        nulls_first: *nulls_first,
                    }),
            );
            let mut sort = Tuplesort::for_session(keys, cx);
            while let Some(r) = input.next(cx)? {
                let mut row = Vec::with_capacity(np + self.order.len() + r.len());
                for e in &self.partition {
                    row.push(eval(e, &r, cx)?);
                }
                for (e, _, _) in &self.order {
                    row.push(eval(e, &r, cx)?);
                }
                row.extend(r);
                sort.put(row)?;
            }
            sort.perform(cx)?;
            self.pending = sort.next()?;
            self.sorted = Some(sort);
        }
        loop {
            if let Some(r) = self.output.next() {
                return Ok(Some(r));
            }
            if !self.next_partition(cx)? {
                return Ok(None);
            }
        }
    }
}

impl WindowAgg {
    /// Reads the next partition from the sorted input and computes its
    /// rows into `output`; false at the end. Only one partition is held.
    fn next_partition(&mut self, cx: &mut EvalContext) -> PgResult<bool> {
        let Some(first) = self.pending.take() else {
            return Ok(false);
        };
        let (np, no) = (self.partition.len(), self.order.len());
        let sort = self.sorted.as_mut().expect("the input was sorted");
        let mut bytes = super::row_bytes(&first);
        let mut part = vec![first];
        while let Some(r) = sort.next()? {
            if same(&r[..np], &part[0][..np]) {
                bytes += super::row_bytes(&r);
                if bytes > super::MAX_HELD_BYTES {
                    return Err(super::out_of_memory());
                }
                part.push(r);
            } else {
                self.pending = Some(r);
                break;
            }
        }
        let mut okeys_owned: Vec<Row> = Vec::with_capacity(part.len());
        let mut rest: Vec<Row> = Vec::with_capacity(part.len());
        for mut r in part {
            let input = r.split_off(np + no);
            okeys_owned.push(r.split_off(np));
            rest.push(input);
        }
        let okeys: Vec<&Row> = okeys_owned.iter().collect();
        let partition = Partition::new(&rest, &okeys);
        let order_vals: Vec<Datum> = okeys
            .iter()
            .map(|k| k.first().cloned().unwrap_or(Datum::Null))
            .collect();
        let offsets = self.offsets.take().expect("computed at the start");
        let results = self.run_partition(cx, &partition, &order_vals, &offsets);
        self.offsets = Some(offsets);
        let results = results?;
        let mut out = Vec::with_capacity(rest.len());
        for (i, mut row) in rest.into_iter().enumerate() {
            row.extend(results.iter().map(|col| col[i].clone()));
            out.push(row);
        }
        self.output = out.into_iter();
        Ok(true)
    }
}

fn same(a: &[Datum], b: &[Datum]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| compare_key(x, y, false, false) == Ordering::Equal)
}

impl<'a> Partition<'a> {
    fn new(rows: &'a [Row], okeys: &[&Row]) -> Partition<'a> {
        let n = rows.len();
        let mut starts = vec![0];
        for i in 1..n {
            if !same(okeys[i], okeys[i - 1]) {
                starts.push(i);
            }
        }
        if n == 0 {
            starts.clear();
        }
        starts.push(n);
        let (mut group, mut group_start, mut group_end) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for g in 0..starts.len() - 1 {
            for _ in starts[g]..starts[g + 1] {
                group.push(g);
                group_start.push(starts[g]);
                group_end.push(starts[g + 1]);
            }
        }
        Partition {
            rows,
            group,
            group_start,
            group_end,
            starts,
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn groups(&self) -> usize {
        self.starts.len() - 1
    }
}

impl WindowAgg {
    fn offsets(&self, cx: &mut EvalContext) -> PgResult<Offsets> {
        let opts = self.frame.options;
        let mut o = Offsets {
            start_n: 0,
            end_n: 0,
            start: Datum::Null,
            end: Datum::Null,
        };
        for (expr, which) in [
            (&self.frame.start_offset, "starting"),
            (&self.frame.end_offset, "ending"),
        ] {
            let Some(e) = expr else { continue };
            let v = eval(e, &[], cx)?;
            if v.is_null() {
                return Err(PgError::error(
                    sqlstate::NULL_VALUE_NOT_ALLOWED,
                    format!("frame {which} offset must not be null"),
                ));
            }
            if opts & frameopt::RANGE == 0 {
                let Datum::Int8(n) = v else {
                    unreachable!("ROWS and GROUPS offsets are bigint")
                };
                if n < 0 {
                    return Err(PgError::error(
                        "22013",
                        format!("frame {which} offset must not be negative"),
                    ));
                }
                if which == "starting" {
                    o.start_n = n as u64;
                } else {
                    o.end_n = n as u64;
                }
            } else if which == "starting" {
                o.start = v;
            } else {
                o.end = v;
            }
        }
        Ok(o)
    }

    /// `[start, end)` of row `i`'s frame, before exclusion.
    fn frame_bounds(
        &self,
        cx: &mut EvalContext,
        p: &Partition,
        i: usize,
        order_vals: &[Datum],
        cmp_vals: &[Datum],
        o: &Offsets,
    ) -> PgResult<(usize, usize)> {
        use frameopt::*;
        let opts = self.frame.options;
        let n = p.len();
        let g = p.group[i];
        let start = if opts & START_UNBOUNDED_PRECEDING != 0 {
            0
        } else if opts & START_CURRENT_ROW != 0 {
            if opts & ROWS != 0 {
                i
            } else {
                p.group_start[i]
            }
        } else if opts & ROWS != 0 {
            if opts & START_OFFSET_PRECEDING != 0 {
                i.saturating_sub(o.start_n.min(usize::MAX as u64) as usize)
            } else {
                add_clamped(i, o.start_n, n)
            }
        } else if opts & GROUPS != 0 {
            if opts & START_OFFSET_PRECEDING != 0 {
                match g.checked_sub(o.start_n.min(usize::MAX as u64) as usize) {
                    Some(h) => p.starts[h],
                    None => 0,
                }
            } else {
                p.starts[add_clamped(g, o.start_n, p.groups())]
            }
        } else {
            let preceding = opts & START_OFFSET_PRECEDING != 0;
            match self.range_bound(cx, &order_vals[i], true, preceding)? {
                Some(bound) => self.range_first_not_before(cmp_vals, &bound),
                None => 0,
            }
        };
        let end = if opts & END_UNBOUNDED_FOLLOWING != 0 {
            n
        } else if opts & END_CURRENT_ROW != 0 {
            if opts & ROWS != 0 {
                i + 1
            } else {
                p.group_end[i]
            }
        } else if opts & ROWS != 0 {
            if opts & END_OFFSET_PRECEDING != 0 {
                (i + 1).saturating_sub(o.end_n.min(usize::MAX as u64) as usize)
            } else {
                add_clamped(i + 1, o.end_n, n)
            }
        } else if opts & GROUPS != 0 {
            if opts & END_OFFSET_PRECEDING != 0 {
                match g.checked_sub(o.end_n.min(usize::MAX as u64) as usize) {
                    Some(h) => p.starts[h + 1],
                    None => 0,
                }
            } else {
                p.starts[add_clamped(g + 1, o.end_n, p.groups())]
            }
        } else {
            let preceding = opts & END_OFFSET_PRECEDING != 0;
            match self.range_bound(cx, &order_vals[i], false, preceding)? {
                Some(bound) => self.range_first_after(cmp_vals, &bound),
                None => n,
            }
        };
        Ok((start, end))
    }

    /// `current ± offset` in the ORDER BY direction: PRECEDING moves
    /// against it, FOLLOWING with it. A NULL current value bounds at NULL
    /// (its peers); None means every row is within the bound.
    fn range_bound(
        &self,
        cx: &mut EvalContext,
        current: &Datum,
        start: bool,
        preceding: bool,
    ) -> PgResult<Option<Datum>> {
        if current.is_null() {
            return Ok(Some(Datum::Null));
        }
        let ops = if start {
            &self.frame.start_ops
        } else {
            &self.frame.end_ops
        };
        let ops = ops.as_ref().expect("RANGE offsets have in_range");
        let descending = self.order[0].1;
        let e = if preceding != descending {
            &ops.minus
        } else {
            &ops.plus
        };
        cx.case_values.push(current.clone());
        let r = eval(e, &[], cx);
        cx.case_values.pop();
        // in_range_float8_float8: an infinite offset from an infinite
        // value toward the other infinity (inf - inf) has every row in range.
        let r = r?;
        let infinite = match current {
            Datum::Float8(c) => c.is_infinite(),
            Datum::Float4(c) => c.is_infinite(),
            _ => false,
        };
        if infinite && matches!(r, Datum::Float8(b) if b.is_nan()) {
            return Ok(None);
        }
        Ok(Some(r))
    }

    fn range_cmp(&self, v: &Datum, bound: &Datum) -> Ordering {
        let (_, desc, nulls_first) = self.order[0];
        compare_key(v, bound, desc, nulls_first)
    }

    fn range_first_not_before(&self, vals: &[Datum], bound: &Datum) -> usize {
        vals.partition_point(|v| self.range_cmp(v, bound) == Ordering::Less)
    }

    fn range_first_after(&self, vals: &[Datum], bound: &Datum) -> usize {
        vals.partition_point(|v| self.range_cmp(v, bound) != Ordering::Greater)
    }

    /// Whether row `j` is excluded from row `i`'s frame.
    fn excluded(&self, p: &Partition, i: usize, j: usize) -> bool {
        use frameopt::*;
        let opts = self.frame.options;
        if opts & EXCLUDE_CURRENT_ROW != 0 {
            j == i
        } else if opts & EXCLUDE_GROUP != 0 {
            p.group[j] == p.group[i]
        } else if opts & EXCLUDE_TIES != 0 {
            j != i && p.group[j] == p.group[i]
        } else {
            false
        }
    }

    fn has_exclusion(&self) -> bool {
        use frameopt::*;
        self.frame.options & (EXCLUDE_CURRENT_ROW | EXCLUDE_GROUP | EXCLUDE_TIES) != 0
    }

    /// Every function's value for every row of partition `p`.
    fn run_partition(
        &self,
        cx: &mut EvalContext,
        p: &Partition,
        order_vals: &[Datum],
        o: &Offsets,
    ) -> PgResult<Vec<Vec<Datum>>> {
        let n = p.len();
        // The ORDER BY values as the RANGE offset comparison sees them.
        let needs_frame = self.funcs.iter().any(|f| {
            matches!(
                f.func,
                WinFunc::Agg(_)
                    | WinFunc::Builtin(
                        WinKind::FirstValue | WinKind::LastValue | WinKind::NthValue
                    )
            )
        });
        let range_offsets = self.frame.options & frameopt::RANGE != 0
            && self.frame.options & (frameopt::START_OFFSET | frameopt::END_OFFSET) != 0;
        let mut cmp_vals: Vec<Datum> = Vec::new();
        if needs_frame && range_offsets && n > 0 {
            for off in [&o.start, &o.end] {
                if !off.is_null() && is_negative(off) {
                    return Err(PgError::error(
                        "22013",
                        "invalid preceding or following size in window function",
                    ));
                }
            }
            let key = self
                .frame
                .start_ops
                .as_ref()
                .or(self.frame.end_ops.as_ref())
                .and_then(|r| r.key.as_ref());
            for v in order_vals {
                cmp_vals.push(match key {
                    Some(k) if !v.is_null() => {
                        cx.case_values.push(v.clone());
                        let r = eval(k, &[], cx);
                        cx.case_values.pop();
                        r?
                    }
                    _ => v.clone(),
                });
            }
        }
        let mut frames = Vec::new();
        if needs_frame {
            frames.reserve(n);
            for i in 0..n {
                frames.push(self.frame_bounds(cx, p, i, order_vals, &cmp_vals, o)?);
            }
        }
        let mut results = Vec::with_capacity(self.funcs.len());
        for f in &self.funcs {
            cx.server.check_for_interrupts()?;
            // Arguments (and FILTER) per row.
            let mut args: Vec<Row> = Vec::with_capacity(n);
            let mut pass: Vec<bool> = Vec::with_capacity(n);
            for r in p.rows {
                let mut a = Vec::with_capacity(f.args.len());
                for e in &f.args {
                    a.push(eval(e, r, cx)?);
                }
                args.push(a);
                pass.push(match &f.filter {
                    Some(q) => eval_qual(q, r, cx)?,
                    None => true,
                });
            }
            let col = match f.func {
                WinFunc::Agg(kind) => self.aggregate(cx, p, f, kind, &args, &pass, &frames)?,
                WinFunc::Builtin(k) => self.builtin(p, k, &args, &frames)?,
            };
            results.push(col);
        }
        Ok(results)
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &self,
        cx: &mut EvalContext,
        p: &Partition,
        f: &WindowFuncRef,
        kind: crate::sql::functions::AggKind,
        args: &[Row],
        pass: &[bool],
        frames: &[(usize, usize)],
    ) -> PgResult<Vec<Datum>> {
        let n = p.len();
        let new_acc = || Accumulator::new(kind, &f.arg_types, f.ty);
        let mut out = Vec::with_capacity(n);
        let exclusion = self.has_exclusion();
        let incremental = !exclusion && frames.iter().all(|(s, _)| *s == 0);
        let mut acc = new_acc();
        let mut fed = 0;
        let mut last: Option<((usize, usize), Datum)> = None;
        for i in 0..n {
            let (s, e) = frames[i];
            if incremental {
                while fed < e {
                    if pass[fed] {
                        acc.advance_fmt(&args[fed], &cx.fmt)?;
                    }
                    fed += 1;
                }
                out.push(acc.finish()?);
                continue;
            }
            if !exclusion
                && let Some((b, v)) = &last
                && *b == (s, e)
            {
                out.push(v.clone());
                continue;
            }
            let mut a = new_acc();
            for j in s..e.max(s) {
                if pass[j] && !self.excluded(p, i, j) {
                    a.advance_fmt(&args[j], &cx.fmt)?;
                }
            }
            let v = a.finish()?;
            last = Some(((s, e), v.clone()));
            out.push(v);
        }
        Ok(out)
    }

    fn builtin(
        &self,
        p: &Partition,
        k: WinKind,
        args: &[Row],
        frames: &[(usize, usize)],
    ) -> PgResult<Vec<Datum>> {
        let n = p.len();
        let mut out = Vec::with_capacity(n);
        match k {
            WinKind::RowNumber => out.extend((0..n).map(|i| Datum::Int8(i as i64 + 1))),
            WinKind::Rank => out.extend((0..n).map(|i| Datum::Int8(p.group_start[i] as i64 + 1))),
            WinKind::DenseRank => out.extend((0..n).map(|i| Datum::Int8(p.group[i] as i64 + 1))),
            WinKind::PercentRank => out.extend((0..n).map(|i| {
                Datum::Float8(if n > 1 {
                    p.group_start[i] as f64 / (n - 1) as f64
                } else {
                    0.0
                })
            })),
            WinKind::CumeDist => {
                out.extend((0..n).map(|i| Datum::Float8(p.group_end[i] as f64 / n as f64)))
            }
            WinKind::Ntile => {
                // The bucket count is read on the partition's first row.
                let buckets = match args.first().map(|a| &a[0]) {
                    None | Some(Datum::Null) => {
                        out.resize(n, Datum::Null);
                        return Ok(out);
                    }
                    Some(Datum::Int4(b)) => *b,
                    Some(other) => unreachable!("ntile takes integer, got {other:?}"),
                };
                if buckets <= 0 {
                    return Err(PgError::error(
                        "22014",
                        "argument of ntile must be greater than zero",
                    ));
                }
                let b = buckets as usize;
                let per = n / b;
                let rem = n % b;
                let big = rem * (per + 1);
                for i in 0..n {
                    let bucket = if i < big {
                        i / (per + 1)
                    } else {
                        rem + (i - big) / per.max(1)
                    };
                    out.push(Datum::Int4(bucket as i32 + 1));
                }
            }
            WinKind::Lag | WinKind::Lead => {
                for (i, a) in args.iter().enumerate() {
                    let off = match a.get(1) {
                        None => 1i64,
                        Some(Datum::Int4(o)) => *o as i64,
                        Some(Datum::Null) => {
                            out.push(Datum::Null);
                            continue;
                        }
                        Some(other) => unreachable!("lag offset is integer, got {other:?}"),
                    };
                    let target = if k == WinKind::Lag {
                        i as i64 - off
                    } else {
                        i as i64 + off
                    };
                    out.push(if target >= 0 && (target as usize) < n {
                        args[target as usize][0].clone()
                    } else {
                        a.get(2).cloned().unwrap_or(Datum::Null)
                    });
                }
            }
            WinKind::FirstValue | WinKind::LastValue | WinKind::NthValue => {
                for (i, a) in args.iter().enumerate() {
                    let (s, e) = frames[i];
                    let mut members = (s..e.max(s)).filter(|&j| !self.excluded(p, i, j));
                    let pick = match k {
                        WinKind::FirstValue => members.next(),
                        WinKind::LastValue => members.next_back(),
                        _ => {
                            let nth = match &a[1] {
                                Datum::Null => {
                                    out.push(Datum::Null);
                                    continue;
                                }
                                Datum::Int4(v) => *v,
                                other => unreachable!("nth_value takes integer, got {other:?}"),
                            };
                            if nth <= 0 {
                                return Err(PgError::error(
                                    "22016",
                                    "argument of nth_value must be greater than zero",
                                ));
                            }
                            members.nth(nth as usize - 1)
                        }
                    };
                    out.push(pick.map_or(Datum::Null, |j| args[j][0].clone()));
                }
            }
        }
        Ok(out)
    }
}

/// `base + by`, at most `limit`.
fn add_clamped(base: usize, by: u64, limit: usize) -> usize {
    (base as u64).saturating_add(by).min(limit as u64) as usize
}

/// Whether a RANGE offset is below zero (in_range's check).
fn is_negative(d: &Datum) -> bool {
    match d {
        Datum::Interval { .. } => crate::sql::adt::as_interval(d).is_some_and(|iv| iv.span() < 0),
        Datum::Float4(f) => *f < 0.0,
        Datum::Float8(f) => *f < 0.0,
        Datum::Numeric(n) => n.is_negative(),
        Datum::Int2(v) => *v < 0,
        Datum::Int4(v) => *v < 0,
        Datum::Int8(v) => *v < 0,
        _ => false,
    }
}
