//! Ordered-set and hypothetical-set aggregates (PostgreSQL's
//! `orderedsetaggs.c`): `percentile_cont`, `percentile_disc` (one
//! fraction or an array of them), `mode`, and the hypothetical `rank`,
//! `dense_rank`, `percent_rank` and `cume_dist` of `WITHIN GROUP (ORDER BY
//! ...)`.
//!
//! The aggregation sorts the group's aggregated arguments on the WITHIN
//! GROUP ORDER BY (as for any aggregate with ORDER BY) and feeds them here
//! in that order; the single-column aggregates drop NULL inputs, the
//! hypothetical ones keep them (they sort as the ORDER BY says). The
//! direct arguments (the fraction, the hypothetical row) are evaluated once
//! per group over its grouping columns and reach only the final function.

use std::cmp::Ordering;

use super::super::adt::array::ArrayValue;
use super::super::adt::{as_f64, as_interval, datum_cmp, interval_datum};
use super::super::types::{Datum, Type};
use crate::utils::elog::{PgError, PgResult, sqlstate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsKind {
    PercentileCont,
    /// `percentile_cont(float8[])`: an array of results.
    PercentileContMulti,
    PercentileDisc,
    PercentileDiscMulti,
    Mode,
    /// The hypothetical-set aggregates (`aggkind` 'h').
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
}

impl OsKind {
    pub fn hypothetical(self) -> bool {
        matches!(
            self,
            OsKind::Rank | OsKind::DenseRank | OsKind::PercentRank | OsKind::CumeDist
        )
    }

    /// How many of `nargs` resolved arguments are direct (`aggnumdirectargs`;
    /// a hypothetical aggregate has as many as it has ordering columns).
    pub fn direct_args(self, nargs: usize) -> usize {
        match self {
            OsKind::Mode => 0,
            k if k.hypothetical() => nargs / 2,
            _ => 1,
        }
    }

    /// Whether NULL aggregated inputs are kept (the multi-column
    /// transition of the hypothetical aggregates).
    pub fn keeps_nulls(self) -> bool {
        self.hypothetical()
    }
}

/// `percentile value %g is not between 0 and 1` (PostgreSQL's own
/// `snprintf` spells NaN and infinity out).
fn check_percentile(p: f64) -> PgResult<()> {
    if (0.0..=1.0).contains(&p) {
        return Ok(());
    }
    let shown = if p.is_nan() {
        "NaN".to_string()
    } else if p.is_infinite() {
        if p > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        super::super::adt::float::format_g(p, 6)
    };
    Err(PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("percentile value {shown} is not between 0 and 1"),
    ))
}

/// `float8_lerp` / `interval_lerp`: lo + (hi − lo) · pct.
fn lerp(lo: &Datum, hi: &Datum, pct: f64) -> PgResult<Datum> {
    if let (Some(l), Some(h)) = (as_interval(lo), as_interval(hi)) {
        return Ok(interval_datum(h.sub(&l)?.mul(pct)?.add(&l)?));
    }
    let (l, h) = (
        as_f64(lo).expect("float8 input"),
        as_f64(hi).expect("float8 input"),
    );
    Ok(Datum::Float8(l + pct * (h - l)))
}

fn percentile(cont: bool, sorted: &[&Datum], p: f64) -> PgResult<Datum> {
    let n = sorted.len();
    if cont {
        let pos = p * (n - 1) as f64;
        let (first, second) = (pos.floor() as usize, pos.ceil() as usize);
        if first == second {
            Ok(sorted[first].clone())
        } else {
            lerp(sorted[first], sorted[second], pos - first as f64)
        }
    } else {
        let rownum = (p * n as f64).ceil() as usize;
        Ok(sorted[rownum.saturating_sub(1).min(n - 1)].clone())
    }
}

/// The final function: `rows` are the aggregated argument rows in ORDER
/// BY order (NULLs already dropped where the aggregate drops them),
/// `direct` the direct arguments, `order` each ordering column's
/// (descending, nulls first).
pub fn finish(
    kind: OsKind,
    ret: Type,
    rows: &[Vec<Datum>],
    direct: &[Datum],
    order: &[(bool, bool)],
) -> PgResult<Datum> {
    use OsKind::*;
    let firsts = || rows.iter().map(|r| &r[0]).collect::<Vec<&Datum>>();
    match kind {
        PercentileCont | PercentileDisc => {
            let Some(p) = direct.first().and_then(as_f64) else {
                return Ok(Datum::Null);
            };
            check_percentile(p)?;
            if rows.is_empty() {
                return Ok(Datum::Null);
            }
            percentile(kind == PercentileCont, &firsts(), p)
        }
        PercentileContMulti | PercentileDiscMulti => {
            if rows.is_empty() {
                return Ok(Datum::Null);
            }
            let Some(Datum::Array(ps)) = direct.first() else {
                return Ok(Datum::Null);
            };
            let elem = ret.elem().expect("percentile array result");
            let sorted = firsts();
            let mut items = Vec::with_capacity(ps.items.len());
            for d in &ps.items {
                items.push(match as_f64(d) {
                    None => Datum::Null,
                    Some(p) => {
                        check_percentile(p)?;
                        percentile(kind == PercentileContMulti, &sorted, p)?
                    }
                });
            }
            Ok(ArrayValue::new(elem, ps.dims.clone(), ps.lbounds.clone(), items)?.into_datum())
        }
        Mode => {
            let mut best: Option<(&Datum, usize)> = None;
            let mut run: Option<(&Datum, usize)> = None;
            for v in firsts() {
                run = match run {
                    Some((last, n)) if datum_cmp(last, v) == Ordering::Equal => Some((last, n + 1)),
                    Some(r) => {
                        if best.is_none_or(|b| r.1 > b.1) {
                            best = Some(r);
                        }
                        Some((v, 1))
                    }
                    None => Some((v, 1)),
                };
            }
            if let Some(r) = run
                && best.is_none_or(|b| r.1 > b.1)
            {
                best = Some(r);
            }
            Ok(best.map_or(Datum::Null, |b| b.0.clone()))
        }
        Rank | DenseRank | PercentRank | CumeDist => {
            let cmp = |r: &[Datum]| -> Ordering {
                for (i, (desc, nulls_first)) in order.iter().enumerate() {
                    let o = crate::sql::exec::compare_key(&r[i], &direct[i], *desc, *nulls_first);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            };
            let n = rows.len();
            let before = rows.iter().filter(|r| cmp(r) == Ordering::Less).count();
            Ok(match kind {
                Rank => Datum::Int8(before as i64 + 1),
                PercentRank => Datum::Float8(if n == 0 {
                    0.0
                } else {
                    before as f64 / n as f64
                }),
                CumeDist => {
                    let upto = rows.iter().filter(|r| cmp(r) != Ordering::Greater).count();
                    Datum::Float8((upto + 1) as f64 / (n + 1) as f64)
                }
                _ => {
                    // Distinct rows before the hypothetical one (rows are sorted,
                    // so peers are adjacent; NULLs match NULLs).
                    let mut groups = 0i64;
                    let mut prev: Option<&Vec<Datum>> = None;
                    for r in rows.iter().take(before) {
                        let same = prev.is_some_and(|p| {
                            p.iter().zip(r).all(|(a, b)| {
                                crate::sql::exec::compare_key(a, b, false, false) == Ordering::Equal
                            })
                        });
                        if !same {
                            groups += 1;
                        }
                        prev = Some(r);
                    }
                    Datum::Int8(groups + 1)
                }
            })
        }
    }
}
