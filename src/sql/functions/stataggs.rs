//! The statistical aggregates, computed as PostgreSQL computes them so the
//! digits agree:
//!
//! - `variance`/`var_samp`/`var_pop`/`stddev`/`stddev_samp`/`stddev_pop`
//!   over integers and numeric: exact sums of X and X² in numeric
//!   (`do_numeric_accum`), then `numeric_stddev_internal`: (N·ΣX² − (ΣX)²)
//!   / (N·(N−1)) divided at `select_div_scale`, the square root at that
//!   scale. NaN and ±Infinity inputs are counted apart and make the
//!   result NaN.
//! - the same over float4/float8: `float8_accum`'s Youngs-Cramer update of
//!   (N, Sx, Sxx), which avoids the cancellation of the textbook formula.
//! - the two-variable aggregates `regr_*`, `covar_pop`/`covar_samp` and
//!   `corr` over (Y, X) float8 pairs: `float8_regr_accum`'s update of
//!   (N, Sx, Sxx, Sy, Syy, Sxy), skipping a row where either is NULL.
//! - `bit_and`/`bit_or`/`bit_xor` over the integer types.

use super::super::adt::numeric::Numeric;
use super::super::types::{Datum, Type};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Which variance or standard deviation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarKind {
    /// Standard deviation (else variance).
    pub stddev: bool,
    /// Sample (divide by N − 1; NULL below two rows), else population.
    pub sample: bool,
}

/// Which final function of the (Y, X) regression state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegrKind {
    Count,
    Sxx,
    Syy,
    Sxy,
    AvgX,
    AvgY,
    R2,
    Slope,
    Intercept,
    CovarPop,
    CovarSamp,
    Corr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitKind {
    And,
    Or,
    Xor,
}

fn overflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: overflow",
    )
}

/// `NumericAggState` as the variance aggregates use it.
#[derive(Clone, Debug)]
pub struct NumericMoments {
    n: i64,
    sum_x: Numeric,
    sum_x2: Numeric,
    nan: i64,
    inf: i64,
}

impl NumericMoments {
    pub fn new() -> NumericMoments {
        NumericMoments {
            n: 0,
            sum_x: Numeric::zero(),
            sum_x2: Numeric::zero(),
            nan: 0,
            inf: 0,
        }
    }

    pub fn accum(&mut self, x: &Numeric) -> PgResult<()> {
        if x.is_nan() {
            self.nan += 1;
        } else if x.is_infinite() {
            self.inf += 1;
        } else {
            self.n += 1;
            self.sum_x = self.sum_x.add(x)?;
            self.sum_x2 = self.sum_x2.add(&x.mul_exact(x)?)?;
        }
        Ok(())
    }

    /// `numeric_stddev_internal`.
    pub fn finish(&self, kind: VarKind) -> PgResult<Datum> {
        let total = self.n + self.nan + self.inf;
        if total == 0 || (kind.sample && total <= 1) {
            return Ok(Datum::Null);
        }
        if self.nan > 0 || self.inf > 0 {
            return Ok(Datum::Numeric(Numeric::NaN));
        }
        let n = Numeric::from_i64(self.n);
        // N·ΣX² − (ΣX)², exactly (PostgreSQL's rscale there is the exact
        // product's).
        let num = n
            .mul_exact(&self.sum_x2)?
            .sub(&self.sum_x.mul_exact(&self.sum_x)?)?;
        if num.is_zero() || num.is_negative() {
            return Ok(Datum::Numeric(Numeric::zero()));
        }
        let den = if kind.sample {
            n.mul_exact(&Numeric::from_i64(self.n - 1))?
        } else {
            n.mul_exact(&n)?
        };
        let rscale = num.select_div_scale(&den);
        let var = num.div_round(&den, rscale)?;
        Ok(Datum::Numeric(if kind.stddev {
            var.sqrt_scale(rscale.max(0) as u32)
        } else {
            var
        }))
    }
}

/// `float8_accum`'s (N, Sx, Sxx).
#[derive(Clone, Debug, Default)]
pub struct FloatMoments {
    n: f64,
    sx: f64,
    sxx: f64,
}

impl FloatMoments {
    pub fn accum(&mut self, x: f64) -> PgResult<()> {
        let (n0, sx0) = (self.n, self.sx);
        self.n += 1.0;
        self.sx += x;
        if n0 > 0.0 {
            let tmp = x * self.n - self.sx;
            self.sxx += tmp * tmp / (self.n * n0);
            if self.sx.is_infinite() || self.sxx.is_infinite() {
                if !sx0.is_infinite() && !x.is_infinite() {
                    return Err(overflow());
                }
                self.sxx = f64::NAN;
            }
        } else if x.is_nan() || x.is_infinite() {
            // The first input being Inf or NaN makes Sxx NaN.
            self.sxx = f64::NAN;
        }
        Ok(())
    }

    /// `float8_var_samp` and friends.
    pub fn finish(&self, kind: VarKind) -> Datum {
        let var = if kind.sample {
            if self.n <= 1.0 {
                return Datum::Null;
            }
            self.sxx / (self.n - 1.0)
        } else {
            if self.n == 0.0 {
                return Datum::Null;
            }
            self.sxx / self.n
        };
        Datum::Float8(if kind.stddev { var.sqrt() } else { var })
    }
}

/// `float8_regr_accum`'s (N, Sx, Sxx, Sy, Syy, Sxy).
#[derive(Clone, Debug, Default)]
pub struct Regression {
    n: f64,
    sx: f64,
    sxx: f64,
    sy: f64,
    syy: f64,
    sxy: f64,
}

impl Regression {
    pub fn accum(&mut self, y: f64, x: f64) -> PgResult<()> {
        let (n0, sx0, sy0) = (self.n, self.sx, self.sy);
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        if n0 > 0.0 {
            let tx = x * self.n - self.sx;
            let ty = y * self.n - self.sy;
            let scale = 1.0 / (self.n * n0);
            self.sxx += tx * tx * scale;
            self.syy += ty * ty * scale;
            self.sxy += tx * ty * scale;
            if self.sx.is_infinite() || self.sxx.is_infinite() {
                if !sx0.is_infinite() && !x.is_infinite() {
                    return Err(overflow());
                }
                self.sxx = f64::NAN;
            }
            if self.sy.is_infinite() || self.syy.is_infinite() {
                if !sy0.is_infinite() && !y.is_infinite() {
                    return Err(overflow());
                }
                self.syy = f64::NAN;
            }
            if self.sxy.is_infinite() {
                if !sx0.is_infinite() && !x.is_infinite() && !sy0.is_infinite() && !y.is_infinite()
                {
                    return Err(overflow());
                }
                self.sxy = f64::NAN;
            }
        } else {
            if x.is_nan() || x.is_infinite() {
                self.sxx = f64::NAN;
                self.sxy = f64::NAN;
            }
            if y.is_nan() || y.is_infinite() {
                self.syy = f64::NAN;
                self.sxy = f64::NAN;
            }
        }
        Ok(())
    }

    pub fn finish(&self, kind: RegrKind) -> Datum {
        use RegrKind::*;
        if kind == Count {
            return Datum::Int8(self.n as i64);
        }
        let need = if kind == CovarSamp { 2.0 } else { 1.0 };
        if self.n < need {
            return Datum::Null;
        }
        let n = self.n;
        let v = match kind {
            Count => unreachable!("handled above"),
            Sxx => self.sxx,
            Syy => self.syy,
            Sxy => self.sxy,
            AvgX => self.sx / n,
            AvgY => self.sy / n,
            CovarPop => self.sxy / n,
            CovarSamp => self.sxy / (n - 1.0),
            Corr => {
                if self.sxx == 0.0 || self.syy == 0.0 {
                    return Datum::Null;
                }
                self.sxy / (self.sxx * self.syy).sqrt()
            }
            R2 => {
                if self.sxx == 0.0 {
                    return Datum::Null;
                }
                if self.syy == 0.0 {
                    1.0
                } else {
                    (self.sxy * self.sxy) / (self.sxx * self.syy)
                }
            }
            Slope => {
                if self.sxx == 0.0 {
                    return Datum::Null;
                }
                self.sxy / self.sxx
            }
            Intercept => {
                if self.sxx == 0.0 {
                    return Datum::Null;
                }
                (self.sy - self.sx * self.sxy / self.sxx) / n
            }
        };
        Datum::Float8(v)
    }
}

/// `bit_and`/`bit_or`/`bit_xor`: the running value (NULL before the first
/// input), in the input's type.
pub fn bit_accum(kind: BitKind, acc: Option<i64>, v: i64) -> i64 {
    match (kind, acc) {
        (_, None) => v,
        (BitKind::And, Some(a)) => a & v,
        (BitKind::Or, Some(a)) => a | v,
        (BitKind::Xor, Some(a)) => a ^ v,
    }
}

pub fn bit_datum(v: i64, ty: Type) -> Datum {
    match ty {
        Type::Int2 => Datum::Int2(v as i16),
        Type::Int4 => Datum::Int4(v as i32),
        _ => Datum::Int8(v),
    }
}
