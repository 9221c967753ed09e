//! Transcendental `numeric` functions: `ln`, `exp`, `log`, and `^` with a
//! non-integral exponent, with PostgreSQL 15's result scales (`numeric_ln`,
//! `numeric_exp`, `log_var`, `power_var`).
//!
//! PostgreSQL computes these with a few guard digits and rounds; its results
//! are the correctly rounded values except in pathological cases. Here the
//! value is computed with at least ten guard digits and then rounded half
//! away from zero, which gives the same digits.
//!
//! - ln: reduce x into [0.9, 1.1] by repeated square roots (each doubles a
//!   factor), then the series ln x = 2 (z + z³/3 + z⁵/5 + ...), z = (x-1)/(x+1).
//! - exp: halve x until |x| < 0.5, sum the Taylor series, square back.

use std::cmp::Ordering;

use super::numeric::{MAX_DISPLAY_SCALE, MAX_RESULT_SCALE, MIN_SIG_DIGITS, Numeric, overflow};
use crate::utils::elog::{PgError, PgResult, sqlstate};

const GUARD: i32 = 10;

/// log10(e) as PostgreSQL writes it in `numeric.c`; the scale choices
/// depend on it, so use the same digits rather than `LOG10_E`.
#[allow(clippy::approx_constant)]
const PG_LOG10_E: f64 = 0.434294481903252;

fn log_of_zero() -> PgError {
    PgError::error("2201E", "cannot take logarithm of zero")
}

fn log_of_negative() -> PgError {
    PgError::error("2201E", "cannot take logarithm of a negative number")
}

fn clamp_rscale(r: i32) -> i32 {
    r.clamp(0, MAX_DISPLAY_SCALE)
}

/// The base-10000 digit at weight `w` (PostgreSQL's `digits[]`).
fn nbase_digit(n: &Numeric, w: i32) -> u32 {
    let Numeric::Finite { mag, scale, .. } = n else {
        return 0;
    };
    let mut d = 0u32;
    for p in (4 * w..4 * w + 4).rev() {
        let idx = p + *scale as i32;
        let digit = if idx >= 0 {
            mag.get(idx as usize).copied().unwrap_or(0)
        } else {
            0
        };
        d = d * 10 + digit as u32;
    }
    d
}

impl Numeric {
    /// `estimate_ln_dweight`: the decimal weight of ln(self), roughly.
    fn estimate_ln_dweight(&self) -> i32 {
        if self.is_negative() || self.is_zero() {
            return 0;
        }
        let lo = Numeric::parse("0.9").expect("constant");
        let hi = Numeric::parse("1.1").expect("constant");
        if self.cmp_pg(&lo) != Ordering::Less && self.cmp_pg(&hi) != Ordering::Greater {
            let x = self.sub(&Numeric::from_i64(1)).expect("small difference");
            return if x.is_zero() { 0 } else { x.dweight() };
        }
        let (w, d0) = self.nbase_weight_and_first_digit();
        let d1 = nbase_digit(self, w - 1);
        let digits = d0 as f64 * 10000.0 + d1 as f64;
        let dweight = (w * 4 - 4) as f64;
        let ln = digits.ln() + dweight * std::f64::consts::LN_10;
        ln.abs().log10() as i32
    }

    /// ln(self) with `scale` digits after the point (self finite and positive).
    fn ln_to_scale(&self, scale: i32) -> Numeric {
        let work = scale.max(0) + GUARD + 20;
        let lo = Numeric::parse("0.9").expect("constant");
        let hi = Numeric::parse("1.1").expect("constant");
        let mut x = self.clone();
        let mut halvings = 0u32;
        while x.cmp_pg(&lo) == Ordering::Less || x.cmp_pg(&hi) == Ordering::Greater {
            x = x.sqrt_scale(work as u32);
            halvings += 1;
        }
        let one = Numeric::from_i64(1);
        let z = x
            .sub(&one)
            .expect("bounded")
            .div_round(&x.add(&one).expect("bounded"), work)
            .expect("x + 1 > 0");
        let z2 = z.mul_exact(&z).expect("bounded").round(work);
        let mut term = z.clone();
        let mut sum = z;
        let mut k = 1i64;
        loop {
            term = term.mul_exact(&z2).expect("bounded").round(work);
            k += 2;
            let t = term.div_round(&Numeric::from_i64(k), work).expect("k > 0");
            if t.is_zero() {
                break;
            }
            sum = sum.add(&t).expect("bounded");
        }
        let factor = Numeric::from_i128(1i128 << (halvings + 1).min(120));
        sum.mul_exact(&factor).expect("bounded").round(scale)
    }

    /// exp(self) rounded to `rscale` digits after the point (self finite).
    fn exp_to_scale(&self, rscale: i32) -> PgResult<Numeric> {
        let x = self.to_f64();
        // exp_var's guard: |x| >= 6000 overflows, or underflows to zero.
        if x.abs() >= (MAX_RESULT_SCALE * 3) as f64 {
            if x > 0.0 {
                return Err(overflow());
            }
            return Ok(Numeric::zero().round(rscale));
        }
        // Significant digits needed: rscale plus the integer digits of the result.
        let weight = (x * std::f64::consts::LOG10_E).floor() as i32;
        let sig = (rscale + weight + 1).max(1);
        let mut halvings = 0u32;
        let mut y = self.clone();
        let half = Numeric::parse("0.5").expect("constant");
        while y.abs().cmp_pg(&half) == Ordering::Greater {
            y = y
                .div_round(&Numeric::from_i64(2), sig + 3 * GUARD + halvings as i32)
                .expect("2 != 0");
            halvings += 1;
        }
        let work = sig + GUARD + (halvings as i32 * 3) / 10 + 2;
        let mut sum = Numeric::from_i64(1);
        let mut term = Numeric::from_i64(1);
        let mut k = 0i64;
        loop {
            k += 1;
            term = term
                .mul_exact(&y)
                .expect("bounded")
                .div_round(&Numeric::from_i64(k), work)
                .expect("k > 0");
            if term.is_zero() {
                break;
            }
            sum = sum.add(&term).expect("bounded");
        }
        for _ in 0..halvings {
            sum = sum.mul_exact(&sum)?.round_sig(work);
        }
        Ok(sum.round(rscale))
    }

    /// `numeric_ln`.
    pub fn ln(&self) -> PgResult<Numeric> {
        match self {
            Numeric::NaN | Numeric::PosInf => return Ok(self.clone()),
            Numeric::NegInf => return Err(log_of_negative()),
            _ => {}
        }
        if self.is_zero() {
            return Err(log_of_zero());
        }
        if self.is_negative() {
            return Err(log_of_negative());
        }
        let rscale =
            clamp_rscale((MIN_SIG_DIGITS - self.estimate_ln_dweight()).max(self.scale() as i32));
        Ok(self.ln_to_scale(rscale))
    }

    /// `numeric_exp`.
    pub fn exp(&self) -> PgResult<Numeric> {
        match self {
            Numeric::NaN | Numeric::PosInf => return Ok(self.clone()),
            Numeric::NegInf => return Ok(Numeric::zero()),
            _ => {}
        }
        let val =
            (self.to_f64() * PG_LOG10_E).clamp(-MAX_RESULT_SCALE as f64, MAX_RESULT_SCALE as f64);
        let rscale = clamp_rscale((MIN_SIG_DIGITS - val as i32).max(self.scale() as i32));
        self.exp_to_scale(rscale)
    }

    /// `numeric_log(base, x)` (`log_var`); `log(x)` is `log(10, x)`.
    pub fn log(base: &Numeric, x: &Numeric) -> PgResult<Numeric> {
        use Numeric::*;
        if base.is_nan() || x.is_nan() {
            return Ok(NaN);
        }
        for n in [base, x] {
            if n.is_negative() {
                return Err(log_of_negative());
            }
            if n.is_zero() {
                return Err(log_of_zero());
            }
        }
        match (base, x) {
            (PosInf, PosInf) => return Ok(NaN),
            (PosInf, _) => return Ok(Numeric::zero()),
            (_, PosInf) => return Ok(PosInf),
            _ => {}
        }
        let result_dweight = x.estimate_ln_dweight() - base.estimate_ln_dweight();
        let rscale = clamp_rscale(
            (MIN_SIG_DIGITS - result_dweight)
                .max(base.scale() as i32)
                .max(x.scale() as i32),
        );
        let ln_base = base.ln_to_scale(rscale + 2 * GUARD - base.estimate_ln_dweight().min(0));
        let ln_x = x.ln_to_scale(rscale + 2 * GUARD - x.estimate_ln_dweight().min(0));
        if ln_base.is_zero() {
            return Err(PgError::error(
                sqlstate::DIVISION_BY_ZERO,
                "division by zero",
            ));
        }
        ln_x.div_round(&ln_base, rscale)
    }

    /// `power_var` for a non-integral (or huge) exponent: exp(exp × ln(self)).
    pub(crate) fn power_real(&self, exp: &Numeric) -> PgResult<Numeric> {
        self.power_real_to(exp, None)
    }

    /// `power_real` to a given result scale (`power_var_int`'s, for an
    /// integral exponent too large to multiply out exactly).
    pub(crate) fn power_real_to(&self, exp: &Numeric, scale: Option<i32>) -> PgResult<Numeric> {
        if self.is_zero() {
            // 0 ^ positive non-integer.
            return Ok(Numeric::zero().round(MIN_SIG_DIGITS));
        }
        if self.is_negative() {
            return Err(PgError::error(
                "2201F",
                "a negative number raised to a non-integer power yields a complex result",
            ));
        }
        let ln_dweight = self.estimate_ln_dweight();
        let val = self.to_f64().ln() * exp.to_f64();
        if val.abs() > MAX_RESULT_SCALE as f64 * 3.01 {
            if val > 0.0 {
                return Err(overflow());
            }
            return Ok(Numeric::zero().round(scale.unwrap_or(MAX_DISPLAY_SCALE)));
        }
        let val = val * PG_LOG10_E;
        let rscale = scale.unwrap_or_else(|| {
            clamp_rscale(
                (MIN_SIG_DIGITS - val as i32)
                    .max(self.scale() as i32)
                    .max(exp.scale() as i32),
            )
        });
        let sig_digits = (rscale + val as i32).max(0);
        let local_rscale = (sig_digits - ln_dweight + 8).max(0) + GUARD;
        let ln = self.ln_to_scale(local_rscale);
        let product = ln.mul_exact(exp)?.round(local_rscale);
        product.exp_to_scale(rscale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn transcendental_functions_match_postgres_15() {
        assert_eq!(n("1.5").exp().unwrap().to_string_pg(), "4.4816890703380648");
        assert_eq!(n("2.0").ln().unwrap().to_string_pg(), "0.6931471805599453");
        assert_eq!(
            n("1.5").power(&n("1.5")).unwrap().to_string_pg(),
            "1.8371173070873836"
        );
        assert_eq!(
            n("4").power(&n("0.5")).unwrap().to_string_pg(),
            "2.0000000000000000"
        );
        assert_eq!(
            Numeric::log(&n("10"), &n("1000")).unwrap().to_string_pg(),
            "3.0000000000000000"
        );
        assert!(n("0").ln().is_err());
        assert!(Numeric::log(&n("1"), &n("5")).is_err());
    }
}
