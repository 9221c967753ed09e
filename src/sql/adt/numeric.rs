//! `numeric`: arbitrary-precision decimal arithmetic with PostgreSQL's
//! rules for result scales (`numeric.c`).
//!
//! A finite value is `mag × 10^-scale` where `mag` is a base-10 magnitude
//! kept least-significant digit first without leading zeros (an empty
//! vector is zero) and `scale` is PostgreSQL's *display scale* (`dscale`):
//! `1.50` keeps `mag = 150, scale = 2`, so output needs no extra state.
//! PostgreSQL stores base-10000 digits; the only place the difference shows
//! is `select_div_scale`, which reasons in base-10000 weights, and
//! [`Numeric::nbase_weight_and_first_digit`] reproduces those.
//!
//! Schoolbook algorithms on decimal digits are O(n²) — fine for the
//! numbers SQL users type; PostgreSQL's limits (131072 digits before the
//! point, 16383 after) are enforced on input and results.
//!
//! Special values follow PostgreSQL 15: `NaN` (equal to itself and larger
//! than everything when sorting), `Infinity` and `-Infinity`.

use std::cmp::Ordering;

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// `NUMERIC_MAX_DISPLAY_SCALE` / `NUMERIC_MAX_RESULT_SCALE`.
pub const MAX_DISPLAY_SCALE: i32 = 1000;
pub const MAX_RESULT_SCALE: i32 = 2000;
/// `NUMERIC_MIN_SIG_DIGITS`: division keeps at least this many significant digits.
pub(crate) const MIN_SIG_DIGITS: i32 = 16;
/// Digits allowed before the decimal point (PostgreSQL: weight < 32768 base-10000 digits).
const MAX_INT_DIGITS: usize = 131_072;
const MAX_FRAC_DIGITS: u32 = 16_383;

#[derive(Clone, Debug, PartialEq)]
pub enum Numeric {
    NaN,
    PosInf,
    NegInf,
    Finite { neg: bool, mag: Vec<u8>, scale: u32 },
}

pub(crate) fn overflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

fn div_zero() -> PgError {
    PgError::error(sqlstate::DIVISION_BY_ZERO, "division by zero")
}

// ---------------------------------------------------------------------------
// Magnitudes: little-endian base-10 digit vectors without leading zeros.
// ---------------------------------------------------------------------------

fn trim(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

fn mag_cmp(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    for i in (0..a.len()).rev() {
        match a[i].cmp(&b[i]) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

fn mag_add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0u8;
    for i in 0..n {
        let s = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    trim(out)
}

/// a - b, requires a >= b.
fn mag_sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    debug_assert!(mag_cmp(a, b) != Ordering::Less, "mag_sub needs a >= b");
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i8;
    for (i, &x) in a.iter().enumerate() {
        let mut d = x as i8 - b.get(i).copied().unwrap_or(0) as i8 - borrow;
        if d < 0 {
            d += 10;
            borrow = 1;
        } else {
            borrow = 0;
        }
        out.push(d as u8);
    }
    assert_eq!(borrow, 0, "mag_sub underflow");
    trim(out)
}

/// Base-10^9 limbs, least significant first.
fn to_limbs(a: &[u8]) -> Vec<u64> {
    a.chunks(9)
        .map(|c| c.iter().rev().fold(0u64, |acc, &d| acc * 10 + d as u64))
        .collect()
}

fn from_limbs(limbs: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(limbs.len() * 9);
    for &l in limbs {
        let mut v = l;
        for _ in 0..9 {
            out.push((v % 10) as u8);
            v /= 10;
        }
    }
    trim(out)
}

/// Schoolbook multiplication on base-10^9 limbs (81 times fewer steps than
/// on decimal digits), so that numbers near PostgreSQL's size limits stay
/// fast enough.
fn mag_mul(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    const BASE: u128 = 1_000_000_000;
    let (la, lb) = (to_limbs(a), to_limbs(b));
    let mut acc = vec![0u128; la.len() + lb.len() + 1];
    for (i, &x) in la.iter().enumerate() {
        if x == 0 {
            continue;
        }
        for (j, &y) in lb.iter().enumerate() {
            acc[i + j] += (x as u128) * (y as u128);
        }
    }
    let mut limbs = Vec::with_capacity(acc.len() + 2);
    let mut carry = 0u128;
    for v in acc {
        let s = v + carry;
        limbs.push((s % BASE) as u64);
        carry = s / BASE;
    }
    while carry > 0 {
        limbs.push((carry % BASE) as u64);
        carry /= BASE;
    }
    from_limbs(&limbs)
}

/// Multiplies by 10^k.
fn mag_shift(a: &[u8], k: usize) -> Vec<u8> {
    if a.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0u8; k];
    out.extend_from_slice(a);
    out
}

/// (floor(a / b), a mod b); b must be non-zero.
fn mag_divmod(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert!(!b.is_empty(), "mag_divmod by zero");
    if mag_cmp(a, b) == Ordering::Less {
        return (Vec::new(), a.to_vec());
    }
    // The top len(b) - 1 digits of `a` are less than `b`: start with them.
    let head = b.len() - 1;
    let mut r: Vec<u8> = trim(a[a.len() - head..].to_vec());
    let mut q = vec![0u8; a.len() - head];
    for i in (0..a.len() - head).rev() {
        // r = r * 10 + a[i]
        r.insert(0, a[i]);
        while r.last() == Some(&0) {
            r.pop();
        }
        let mut count = 0u8;
        while mag_cmp(&r, b) != Ordering::Less {
            sub_in_place(&mut r, b);
            count += 1;
        }
        q[i] = count;
    }
    (trim(q), r)
}

/// r -= b (r >= b), keeping r trimmed.
fn sub_in_place(r: &mut Vec<u8>, b: &[u8]) {
    let mut borrow = 0i8;
    for (i, digit) in r.iter_mut().enumerate() {
        let sub = b.get(i).copied().unwrap_or(0) as i8 + borrow;
        if sub == 0 && i >= b.len() {
            break;
        }
        let mut d = *digit as i8 - sub;
        if d < 0 {
            d += 10;
            borrow = 1;
        } else {
            borrow = 0;
        }
        *digit = d as u8;
    }
    assert_eq!(borrow, 0, "sub_in_place underflow");
    while r.last() == Some(&0) {
        r.pop();
    }
}

/// floor(sqrt(a)) by Newton's method.
fn mag_isqrt(a: &[u8]) -> Vec<u8> {
    if a.is_empty() {
        return Vec::new();
    }
    // Start above the root: 10^ceil(len/2).
    let mut x = mag_shift(&[1], a.len().div_ceil(2));
    loop {
        let (q, _) = mag_divmod(a, &x);
        let (y, _) = mag_divmod(&mag_add(&x, &q), &[2]);
        if mag_cmp(&y, &x) != Ordering::Less {
            return x;
        }
        x = y;
    }
}

fn mag_from_u128(mut v: u128) -> Vec<u8> {
    let mut out = Vec::new();
    while v > 0 {
        out.push((v % 10) as u8);
        v /= 10;
    }
    out
}

fn mag_to_u128(a: &[u8]) -> Option<u128> {
    let mut v: u128 = 0;
    for &d in a.iter().rev() {
        v = v.checked_mul(10)?.checked_add(d as u128)?;
    }
    Some(v)
}

// ---------------------------------------------------------------------------

/// log10 of the leading digits of a magnitude (as `d.ddd`), 0 for zero.
fn leading_digits_log10(mag: &[u8]) -> f64 {
    let mut v = 0.0f64;
    for &d in mag.iter().rev().take(15) {
        v = v * 10.0 + d as f64;
    }
    let shown = mag.len().min(15) as i32;
    if v == 0.0 {
        0.0
    } else {
        v.log10() - (shown - 1) as f64
    }
}

impl Numeric {
    pub fn zero() -> Numeric {
        Numeric::Finite {
            neg: false,
            mag: Vec::new(),
            scale: 0,
        }
    }

    fn finite(neg: bool, mag: Vec<u8>, scale: u32) -> Numeric {
        let mag = trim(mag);
        let neg = neg && !mag.is_empty();
        Numeric::Finite { neg, mag, scale }
    }

    pub fn from_i64(v: i64) -> Numeric {
        Numeric::finite(v < 0, mag_from_u128(v.unsigned_abs() as u128), 0)
    }

    pub fn from_i128(v: i128) -> Numeric {
        Numeric::finite(v < 0, mag_from_u128(v.unsigned_abs()), 0)
    }

    pub fn is_nan(&self) -> bool {
        matches!(self, Numeric::NaN)
    }

    pub fn is_infinite(&self) -> bool {
        matches!(self, Numeric::PosInf | Numeric::NegInf)
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Numeric::Finite { mag, .. } if mag.is_empty())
    }

    pub fn is_negative(&self) -> bool {
        matches!(self, Numeric::Finite { neg: true, .. } | Numeric::NegInf)
    }

    /// The display scale (0 for special values).
    pub fn scale(&self) -> u32 {
        match self {
            Numeric::Finite { scale, .. } => *scale,
            _ => 0,
        }
    }

    /// `numeric_in`. `type_name` is used in the error message.
    pub fn parse(input: &str) -> PgResult<Numeric> {
        let bad = || {
            PgError::error(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type numeric: \"{input}\""),
            )
        };
        let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "nan" => return Ok(Numeric::NaN),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Numeric::PosInf),
            "-infinity" | "-inf" => return Ok(Numeric::NegInf),
            _ => {}
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            neg = bytes[i] == b'-';
            i += 1;
        }
        let mut digits: Vec<u8> = Vec::new(); // big-endian
        let mut frac_digits: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_digit() {
                digits.push(c - b'0');
                if seen_point {
                    frac_digits += 1;
                }
                seen_digit = true;
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad());
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let mut eneg = false;
            if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                eneg = bytes[i] == b'-';
                i += 1;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                exponent = exponent
                    .saturating_mul(10)
                    .saturating_add((bytes[i] - b'0') as i64);
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
            if exponent > 1000 * 1000 {
                return Err(bad());
            }
            if eneg {
                exponent = -exponent;
            }
        }
        if i != bytes.len() {
            return Err(bad());
        }
        // value = digits * 10^(exponent - frac_digits)
        let mut mag: Vec<u8> = digits.into_iter().rev().collect();
        let shift = exponent - frac_digits;
        let scale;
        if shift >= 0 {
            mag = mag_shift(&trim(mag), shift as usize);
            scale = 0;
        } else {
            scale = (-shift) as u64;
            if scale > MAX_FRAC_DIGITS as u64 * 4 {
                return Err(overflow());
            }
        }
        let n = Numeric::finite(neg, mag, scale as u32);
        n.check_range()?;
        Ok(n)
    }

    fn check_range(&self) -> PgResult<()> {
        if let Numeric::Finite { mag, scale, .. } = self {
            if mag.len() > *scale as usize && mag.len() - *scale as usize > MAX_INT_DIGITS {
                return Err(overflow());
            }
            if *scale > MAX_FRAC_DIGITS {
                return Err(overflow());
            }
        }
        Ok(())
    }

    /// `numeric_out`.
    pub fn to_string_pg(&self) -> String {
        match self {
            Numeric::NaN => "NaN".into(),
            Numeric::PosInf => "Infinity".into(),
            Numeric::NegInf => "-Infinity".into(),
            Numeric::Finite { neg, mag, scale } => {
                let scale = *scale as usize;
                let mut out = String::with_capacity(mag.len() + 3);
                if *neg {
                    out.push('-');
                }
                if mag.len() > scale {
                    for &d in mag[scale..].iter().rev() {
                        out.push((b'0' + d) as char);
                    }
                } else {
                    out.push('0');
                }
                if scale > 0 {
                    out.push('.');
                    for i in (0..scale).rev() {
                        out.push((b'0' + mag.get(i).copied().unwrap_or(0)) as char);
                    }
                }
                out
            }
        }
    }

    /// Same value with display scale `s` (pads with zeros; `s` must not drop digits).
    fn with_scale(mag: &[u8], scale: u32, s: u32) -> Vec<u8> {
        assert!(s >= scale, "with_scale cannot drop digits");
        mag_shift(mag, (s - scale) as usize)
    }

    pub fn neg(&self) -> Numeric {
        match self {
            Numeric::NaN => Numeric::NaN,
            Numeric::PosInf => Numeric::NegInf,
            Numeric::NegInf => Numeric::PosInf,
            Numeric::Finite { neg, mag, scale } => Numeric::finite(!neg, mag.clone(), *scale),
        }
    }

    pub fn abs(&self) -> Numeric {
        match self {
            Numeric::NegInf => Numeric::PosInf,
            Numeric::Finite { mag, scale, .. } => Numeric::finite(false, mag.clone(), *scale),
            other => other.clone(),
        }
    }

    pub fn add(&self, other: &Numeric) -> PgResult<Numeric> {
        use Numeric::*;
        let r = match (self, other) {
            (NaN, _) | (_, NaN) => NaN,
            (PosInf, NegInf) | (NegInf, PosInf) => NaN,
            (PosInf, _) | (_, PosInf) => PosInf,
            (NegInf, _) | (_, NegInf) => NegInf,
            (
                Finite {
                    neg: n1,
                    mag: m1,
                    scale: s1,
                },
                Finite {
                    neg: n2,
                    mag: m2,
                    scale: s2,
                },
            ) => {
                let s = (*s1).max(*s2);
                let a = Numeric::with_scale(m1, *s1, s);
                let b = Numeric::with_scale(m2, *s2, s);
                if n1 == n2 {
                    Numeric::finite(*n1, mag_add(&a, &b), s)
                } else {
                    match mag_cmp(&a, &b) {
                        Ordering::Less => Numeric::finite(*n2, mag_sub(&b, &a), s),
                        _ => Numeric::finite(*n1, mag_sub(&a, &b), s),
                    }
                }
            }
        };
        r.check_range()?;
        Ok(r)
    }

    pub fn sub(&self, other: &Numeric) -> PgResult<Numeric> {
        self.add(&other.neg())
    }

    /// The exact product of two finite values (no display-scale cap), for
    /// intermediate results of the transcendental functions.
    pub(crate) fn mul_exact(&self, other: &Numeric) -> PgResult<Numeric> {
        match (self, other) {
            (
                Numeric::Finite {
                    neg: n1,
                    mag: m1,
                    scale: s1,
                },
                Numeric::Finite {
                    neg: n2,
                    mag: m2,
                    scale: s2,
                },
            ) => Ok(Numeric::finite(n1 != n2, mag_mul(m1, m2), s1 + s2)),
            _ => self.mul(other),
        }
    }

    pub fn mul(&self, other: &Numeric) -> PgResult<Numeric> {
        use Numeric::*;
        let r = match (self, other) {
            (NaN, _) | (_, NaN) => NaN,
            (PosInf | NegInf, b) | (b, PosInf | NegInf) if b.is_zero() => NaN,
            (
                Finite {
                    neg: n1,
                    mag: m1,
                    scale: s1,
                },
                Finite {
                    neg: n2,
                    mag: m2,
                    scale: s2,
                },
            ) => {
                let s = s1 + s2;
                let mut r = Numeric::finite(n1 != n2, mag_mul(m1, m2), s);
                if s as i32 > MAX_DISPLAY_SCALE {
                    r = r.round(MAX_DISPLAY_SCALE);
                }
                r
            }
            (a, b) => {
                if a.is_negative() != b.is_negative() {
                    NegInf
                } else {
                    PosInf
                }
            }
        };
        r.check_range()?;
        Ok(r)
    }

    /// Weight and first digit of this value's base-10000 representation,
    /// as `select_div_scale` sees them (0 and 0 for zero).
    pub(crate) fn nbase_weight_and_first_digit(&self) -> (i32, u32) {
        let Numeric::Finite { mag, scale, .. } = self else {
            return (0, 0);
        };
        if mag.is_empty() {
            return (0, 0);
        }
        // Decimal exponent of the most significant digit.
        let e = mag.len() as i32 - 1 - *scale as i32;
        let w = e.div_euclid(4);
        let mut first = 0u32;
        for p in (4 * w..4 * w + 4).rev() {
            let idx = p + *scale as i32;
            let d = if idx >= 0 {
                mag.get(idx as usize).copied().unwrap_or(0)
            } else {
                0
            };
            first = first * 10 + d as u32;
        }
        (w, first)
    }

    /// `select_div_scale`: the result scale of `self / other`.
    pub fn select_div_scale(&self, other: &Numeric) -> i32 {
        let (w1, f1) = self.nbase_weight_and_first_digit();
        let (w2, f2) = other.nbase_weight_and_first_digit();
        let mut qweight = w1 - w2;
        if f1 <= f2 {
            qweight -= 1;
        }
        let mut rscale = MIN_SIG_DIGITS - qweight * 4;
        rscale = rscale.max(self.scale() as i32);
        rscale = rscale.max(other.scale() as i32);
        rscale = rscale.max(0);
        rscale.min(MAX_DISPLAY_SCALE)
    }

    /// `numeric_div`.
    pub fn div(&self, other: &Numeric) -> PgResult<Numeric> {
        use Numeric::*;
        match (self, other) {
            (NaN, _) | (_, NaN) => return Ok(NaN),
            (PosInf | NegInf, PosInf | NegInf) => return Ok(NaN),
            (PosInf | NegInf, b) => {
                if b.is_zero() {
                    return Err(div_zero());
                }
                return Ok(if self.is_negative() != b.is_negative() {
                    NegInf
                } else {
                    PosInf
                });
            }
            (_, PosInf | NegInf) => return Ok(Numeric::zero()),
            _ => {}
        }
        if other.is_zero() {
            return Err(div_zero());
        }
        let rscale = self.select_div_scale(other);
        self.div_round(other, rscale)
    }

    /// Exact quotient rounded half away from zero to `rscale` digits.
    pub fn div_round(&self, other: &Numeric, rscale: i32) -> PgResult<Numeric> {
        let (
            Numeric::Finite {
                neg: n1,
                mag: m1,
                scale: s1,
            },
            Numeric::Finite {
                neg: n2,
                mag: m2,
                scale: s2,
            },
        ) = (self, other)
        else {
            return self.div(other);
        };
        if m2.is_empty() {
            return Err(div_zero());
        }
        // q = round(m1 * 10^(s2 + rscale) / (m2 * 10^s1))
        let num_shift = *s2 as i64 + rscale as i64;
        let den_shift = *s1 as i64;
        let (num, den) = if num_shift >= den_shift {
            (mag_shift(m1, (num_shift - den_shift) as usize), m2.clone())
        } else {
            (m1.clone(), mag_shift(m2, (den_shift - num_shift) as usize))
        };
        let (mut q, r) = mag_divmod(&num, &den);
        if mag_cmp(&mag_add(&r, &r), &den) != Ordering::Less {
            q = mag_add(&q, &[1]);
        }
        let out_scale = rscale.max(0) as u32;
        let mut q = if rscale < 0 {
            mag_shift(&q, (-rscale) as usize)
        } else {
            q
        };
        q = trim(q);
        let r = Numeric::finite(n1 != n2, q, out_scale);
        r.check_range()?;
        Ok(r)
    }

    /// Integer part of `self / other`, truncated toward zero.
    pub(crate) fn div_trunc(&self, other: &Numeric) -> PgResult<Numeric> {
        let (
            Numeric::Finite {
                neg: n1,
                mag: m1,
                scale: s1,
            },
            Numeric::Finite {
                neg: n2,
                mag: m2,
                scale: s2,
            },
        ) = (self, other)
        else {
            unreachable!("div_trunc on special values")
        };
        if m2.is_empty() {
            return Err(div_zero());
        }
        let num = mag_shift(m1, *s2 as usize);
        let den = mag_shift(m2, *s1 as usize);
        let (q, _) = mag_divmod(&num, &den);
        Ok(Numeric::finite(n1 != n2, q, 0))
    }

    /// `numeric_mod`: `self - trunc(self / other) * other`.
    pub fn rem(&self, other: &Numeric) -> PgResult<Numeric> {
        use Numeric::*;
        match (self, other) {
            (NaN, _) | (_, NaN) => return Ok(NaN),
            (PosInf | NegInf, _) => {
                if other.is_zero() {
                    return Err(div_zero());
                }
                return Ok(NaN);
            }
            (_, PosInf | NegInf) => return Ok(self.clone()),
            _ => {}
        }
        if other.is_zero() {
            return Err(div_zero());
        }
        let q = self.div_trunc(other)?;
        self.sub(&q.mul(other)?)
    }

    /// `min_scale`: the fewest fractional digits that represent the value
    /// exactly (`None` for NaN and infinities).
    pub fn min_scale(&self) -> Option<u32> {
        let Numeric::Finite { mag, scale, .. } = self else {
            return None;
        };
        let zeros = mag.iter().take_while(|&&d| d == 0).count() as u32;
        Some(if mag.is_empty() {
            0
        } else {
            scale.saturating_sub(zeros)
        })
    }

    /// `trim_scale`: the value with trailing fractional zeros dropped.
    pub fn trim_scale(&self) -> Numeric {
        match self.min_scale() {
            Some(s) => self.trunc(s as i32),
            None => self.clone(),
        }
    }

    /// `numeric_gcd`: Euclid on the absolute values; the result has the
    /// larger of the two display scales; NaN if either is not finite.
    pub fn gcd(&self, other: &Numeric) -> PgResult<Numeric> {
        if !matches!(self, Numeric::Finite { .. }) || !matches!(other, Numeric::Finite { .. }) {
            return Ok(Numeric::NaN);
        }
        let rscale = self.scale().max(other.scale()) as i32;
        let (mut a, mut b) = (self.abs(), other.abs());
        while !b.is_zero() {
            let r = a.rem(&b)?;
            a = b;
            b = r;
        }
        Ok(a.round(rscale))
    }

    /// `numeric_lcm`: `|x| / gcd(x, y) * |y|`, 0 if either is 0.
    pub fn lcm(&self, other: &Numeric) -> PgResult<Numeric> {
        if !matches!(self, Numeric::Finite { .. }) || !matches!(other, Numeric::Finite { .. }) {
            return Ok(Numeric::NaN);
        }
        let rscale = self.scale().max(other.scale()) as i32;
        if self.is_zero() || other.is_zero() {
            return Ok(Numeric::zero().round(rscale));
        }
        let g = self.gcd(other)?;
        let q = self.abs().div_trunc(&g)?;
        Ok(q.mul(&other.abs())?.round(rscale))
    }

    /// `round(numeric, int)`: half away from zero; negative `s` rounds left of the point.
    pub fn round(&self, s: i32) -> Numeric {
        self.round_or_trunc(s, true)
    }

    pub fn trunc(&self, s: i32) -> Numeric {
        self.round_or_trunc(s, false)
    }

    fn round_or_trunc(&self, s: i32, round: bool) -> Numeric {
        let Numeric::Finite { neg, mag, scale } = self else {
            return self.clone();
        };
        // numeric_round: -(NUMERIC_WEIGHT_MAX + 1) * DEC_DIGITS - 1 ..= NUMERIC_DSCALE_MAX.
        let s = s.clamp(-131_073, 16_383);
        let cur = *scale as i32;
        if s >= cur {
            return Numeric::finite(*neg, Numeric::with_scale(mag, *scale, s as u32), s as u32);
        }
        // Drop (cur - s) digits.
        let drop = (cur - s) as usize;
        let mut kept: Vec<u8> = if drop >= mag.len() {
            Vec::new()
        } else {
            mag[drop..].to_vec()
        };
        if round && drop <= mag.len() && drop > 0 && mag[drop - 1] >= 5 {
            kept = mag_add(&trim(kept), &[1]);
        }
        let kept = trim(kept);
        if s >= 0 {
            Numeric::finite(*neg, kept, s as u32)
        } else {
            Numeric::finite(*neg, mag_shift(&kept, (-s) as usize), 0)
        }
    }

    pub fn floor(&self) -> Numeric {
        let t = self.trunc(0);
        if self.is_negative()
            && matches!(self, Numeric::Finite { .. })
            && t != self.trunc_scale_eq()
        {
            return t.sub(&Numeric::from_i64(1)).expect("floor in range");
        }
        t
    }

    pub fn ceil(&self) -> Numeric {
        let t = self.trunc(0);
        if !self.is_negative()
            && matches!(self, Numeric::Finite { .. })
            && t != self.trunc_scale_eq()
        {
            return t.add(&Numeric::from_i64(1)).expect("ceil in range");
        }
        t
    }

    /// The value itself with scale 0 when it has no fractional part
    /// (compared against `trunc(0)` to detect a fraction).
    fn trunc_scale_eq(&self) -> Numeric {
        match self {
            Numeric::Finite { neg, mag, scale } => {
                let s = *scale as usize;
                if mag.iter().take(s).all(|&d| d == 0) {
                    Numeric::finite(
                        *neg,
                        if s >= mag.len() {
                            Vec::new()
                        } else {
                            mag[s..].to_vec()
                        },
                        0,
                    )
                } else {
                    Numeric::NaN
                }
            }
            other => other.clone(),
        }
    }

    /// `numeric_sqrt`: correctly rounded to PostgreSQL's result scale
    /// (at least 16 significant digits, at least the input's scale).
    pub fn sqrt(&self) -> PgResult<Numeric> {
        let invalid = || PgError::error("2201F", "cannot take square root of a negative number");
        match self {
            Numeric::NaN | Numeric::PosInf => return Ok(self.clone()),
            Numeric::NegInf => return Err(invalid()),
            _ => {}
        }
        if self.is_negative() {
            return Err(invalid());
        }
        let scale = self.scale();
        let (weight, _) = self.nbase_weight_and_first_digit();
        let sweight = (weight + 1) * 4 / 2 - 1;
        let rscale = (MIN_SIG_DIGITS - sweight)
            .max(scale as i32)
            .clamp(0, MAX_DISPLAY_SCALE) as u32;
        Ok(self.sqrt_scale(rscale))
    }

    /// Square root of a non-negative finite value, correctly rounded to `rscale` digits.
    pub(crate) fn sqrt_scale(&self, rscale: u32) -> Numeric {
        let Numeric::Finite { mag, scale, .. } = self else {
            unreachable!("sqrt_scale of a special value")
        };
        // r = round(sqrt(mag * 10^(2 rscale - scale))), dropping digits if scale > 2 rscale.
        let shift = 2 * rscale as i64 - *scale as i64;
        let n = if shift >= 0 {
            mag_shift(mag, shift as usize)
        } else {
            let drop = (-shift) as usize;
            if drop >= mag.len() {
                Vec::new()
            } else {
                trim(mag[drop..].to_vec())
            }
        };
        let mut r = mag_isqrt(&n);
        let rem = mag_sub(&n, &mag_mul(&r, &r));
        if mag_cmp(&rem, &r) == Ordering::Greater {
            r = mag_add(&r, &[1]);
        }
        Numeric::finite(false, r, rscale)
    }

    /// Decimal exponent of the most significant digit (`1234.5` → 3, `0.01` → -2; 0 for zero).
    pub(crate) fn dweight(&self) -> i32 {
        match self {
            Numeric::Finite { mag, scale, .. } if !mag.is_empty() => {
                mag.len() as i32 - 1 - *scale as i32
            }
            _ => 0,
        }
    }

    /// Rounds to `digits` significant digits.
    pub(crate) fn round_sig(&self, digits: i32) -> Numeric {
        if self.is_zero() {
            return self.clone();
        }
        self.round(digits - 1 - self.dweight())
    }

    /// `numeric_power`, with POSIX `pow(3)` rules for NaN and infinities.
    pub fn power(&self, exp: &Numeric) -> PgResult<Numeric> {
        use Numeric::*;
        let one = Numeric::from_i64(1);
        if self.is_nan() {
            return Ok(if matches!(exp, Finite { .. }) && exp.is_zero() {
                one
            } else {
                NaN
            });
        }
        if exp.is_nan() {
            return Ok(
                if matches!(self, Finite { .. }) && self.cmp_pg(&one) == Ordering::Equal {
                    one
                } else {
                    NaN
                },
            );
        }
        let sign = |n: &Numeric| {
            if n.is_zero() {
                0
            } else if n.is_negative() {
                -1
            } else {
                1
            }
        };
        let (sign1, sign2) = (sign(self), sign(exp));
        let is_integral = match exp {
            Finite { .. } => exp.trunc(0).cmp_pg(exp) == Ordering::Equal,
            _ => false,
        };
        if sign1 == 0 && sign2 < 0 {
            return Err(PgError::error(
                "2201F",
                "zero raised to a negative power is undefined",
            ));
        }
        if sign1 < 0 && !is_integral && matches!(exp, Finite { .. }) {
            return Err(PgError::error(
                "2201F",
                "a negative number raised to a non-integer power yields a complex result",
            ));
        }
        if !matches!(self, Finite { .. }) || !matches!(exp, Finite { .. }) {
            if matches!(self, Finite { .. }) && self.cmp_pg(&one) == Ordering::Equal {
                return Ok(one);
            }
            if sign2 == 0 {
                return Ok(one);
            }
            if sign1 == 0 && sign2 > 0 {
                return Ok(Numeric::zero());
            }
            if matches!(exp, PosInf | NegInf) {
                let abs_x_gt_one = match self {
                    Finite { .. } => {
                        if self.cmp_pg(&one.neg()) == Ordering::Equal {
                            return Ok(one);
                        }
                        self.abs().cmp_pg(&one) == Ordering::Greater
                    }
                    _ => true,
                };
                return Ok(if abs_x_gt_one == (sign2 > 0) {
                    PosInf
                } else {
                    Numeric::zero()
                });
            }
            if matches!(self, PosInf) {
                return Ok(if sign2 > 0 { PosInf } else { Numeric::zero() });
            }
            // self is -Infinity, exp finite.
            if sign2 < 0 {
                return Ok(Numeric::zero());
            }
            let odd = is_integral && !exp.rem(&Numeric::from_i64(2))?.is_zero();
            return Ok(if odd { NegInf } else { PosInf });
        }
        let n = exp
            .to_i64()
            .filter(|n| is_integral && n.unsigned_abs() <= i32::MAX as u64);
        let Some(n) = n else {
            return self.power_real(exp);
        };
        let rscale = MIN_SIG_DIGITS
            .max(self.scale() as i32)
            .min(MAX_DISPLAY_SCALE);
        if n == 0 {
            return Ok(Numeric::from_i64(1).round(rscale));
        }
        let Numeric::Finite { neg, mag, scale } = self else {
            unreachable!("finite")
        };
        // Bound the work: the exact power has about |n| * digits(base)
        // digits. Past that, a result that numeric can hold is computed as
        // exp(n * ln |x|) to the same result scale, as power_var_int does
        // with limited precision.
        let exact_digits =
            (mag.len().max(1) as f64 - 1.0 + leading_digits_log10(mag)) * n.unsigned_abs() as f64;
        if !self.is_zero() && exact_digits > 40_000.0 {
            let weight = self.to_f64().abs().log10() * n as f64;
            if weight > MAX_INT_DIGITS as f64 {
                return Err(overflow());
            }
            let r = self.abs().power_real_to(exp, Some(rscale))?;
            return Ok(if *neg && n % 2 != 0 { r.neg() } else { r });
        }
        let mut result: Vec<u8> = vec![1];
        let mut base = mag.clone();
        let mut e = n.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                result = mag_mul(&result, &base);
            }
            e >>= 1;
            if e > 0 {
                base = mag_mul(&base, &base);
            }
        }
        let negative = *neg && n % 2 != 0;
        let exact = Numeric::finite(negative, result, (*scale as u64 * n.unsigned_abs()) as u32);
        let r = if n > 0 {
            exact.round(rscale)
        } else {
            Numeric::from_i64(1).div_round(&exact, rscale)?
        };
        r.check_range()?;
        Ok(r)
    }

    /// Sign: -1, 0, 1 (NaN → NaN).
    pub fn sign(&self) -> Numeric {
        match self {
            Numeric::NaN => Numeric::NaN,
            _ if self.is_zero() => Numeric::zero(),
            _ if self.is_negative() => Numeric::from_i64(-1),
            _ => Numeric::from_i64(1),
        }
    }

    /// Total order used by comparison operators and sorting (`cmp_numerics`).
    pub fn cmp_pg(&self, other: &Numeric) -> Ordering {
        use Numeric::*;
        let rank = |n: &Numeric| match n {
            NegInf => 0,
            Finite { .. } => 1,
            PosInf => 2,
            NaN => 3,
        };
        match (self, other) {
            (
                Finite {
                    neg: n1,
                    mag: m1,
                    scale: s1,
                },
                Finite {
                    neg: n2,
                    mag: m2,
                    scale: s2,
                },
            ) => {
                if m1.is_empty() && m2.is_empty() {
                    return Ordering::Equal;
                }
                match (n1, n2) {
                    (false, true) => return Ordering::Greater,
                    (true, false) => return Ordering::Less,
                    _ => {}
                }
                let s = (*s1).max(*s2);
                let a = Numeric::with_scale(m1, *s1, s);
                let b = Numeric::with_scale(m2, *s2, s);
                let o = mag_cmp(&a, &b);
                if *n1 { o.reverse() } else { o }
            }
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// A canonical form for hashing: equal values (1.0 and 1.00) give equal keys.
    pub fn canonical(&self) -> String {
        match self {
            Numeric::Finite { neg, mag, scale } => {
                let zeros = mag
                    .iter()
                    .take(*scale as usize)
                    .take_while(|&&d| d == 0)
                    .count();
                Numeric::finite(
                    *neg,
                    mag[zeros.min(mag.len())..].to_vec(),
                    *scale - zeros as u32,
                )
                .to_string_pg()
            }
            other => other.to_string_pg(),
        }
    }

    /// Rounds to an integer (half away from zero) and converts; None if out of i64 range or special.
    pub fn to_i64(&self) -> Option<i64> {
        let Numeric::Finite { neg, .. } = self.round(0) else {
            return None;
        };
        let Numeric::Finite { mag, .. } = self.round(0) else {
            return None;
        };
        let v = mag_to_u128(&mag)?;
        if neg {
            if v > i64::MAX as u128 + 1 {
                None
            } else {
                Some((v as i128).wrapping_neg() as i64)
            }
        } else if v > i64::MAX as u128 {
            None
        } else {
            Some(v as i64)
        }
    }

    /// `numeric_float8`: through the text form, as PostgreSQL does.
    pub fn to_f64(&self) -> f64 {
        match self {
            Numeric::NaN => f64::NAN,
            Numeric::PosInf => f64::INFINITY,
            Numeric::NegInf => f64::NEG_INFINITY,
            _ => self.to_string_pg().parse::<f64>().unwrap_or(f64::NAN),
        }
    }

    /// `float8_numeric`: the value printed with 15 significant digits.
    pub fn from_f64(v: f64) -> PgResult<Numeric> {
        if v.is_nan() {
            return Ok(Numeric::NaN);
        }
        if v.is_infinite() {
            return Ok(if v > 0.0 {
                Numeric::PosInf
            } else {
                Numeric::NegInf
            });
        }
        Numeric::parse(&super::float::format_g(v, 15))
    }

    /// `apply_typmod`: round to the column's scale and check its precision.
    pub fn apply_typmod(&self, typmod: i32) -> PgResult<Numeric> {
        if typmod < 4 {
            return Ok(self.clone());
        }
        let (precision, scale) = typmod_precision_scale(typmod);
        match self {
            Numeric::NaN => Ok(Numeric::NaN),
            Numeric::PosInf | Numeric::NegInf => Err(PgError::error(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                "numeric field overflow",
            )
            .with_detail(format!(
                "A field with precision {precision}, scale {scale} cannot hold an infinite value."
            ))),
            _ => {
                let r = self.round(scale);
                let maxdigits = precision - scale;
                if let Numeric::Finite { mag, scale: rs, .. } = &r {
                    let int_digits = mag.len() as i32 - *rs as i32;
                    if !mag.is_empty() && int_digits > maxdigits {
                        let bound = if maxdigits != 0 {
                            format!("10^{maxdigits}")
                        } else {
                            "1".to_string()
                        };
                        return Err(PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
                            .with_detail(format!(
                                "A field with precision {precision}, scale {scale} must round to an absolute value less than {bound}."
                            )));
                    }
                }
                Ok(r)
            }
        }
    }
}

/// `numeric(p, s)` typmod as PostgreSQL encodes it: `((p << 16) | (s & 0x7ff)) + VARHDRSZ`.
pub fn make_typmod(precision: i32, scale: i32) -> PgResult<i32> {
    if !(1..=1000).contains(&precision) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("NUMERIC precision {precision} must be between 1 and 1000"),
        ));
    }
    if !(-1000..=1000).contains(&scale) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("NUMERIC scale {scale} must be between -1000 and 1000"),
        ));
    }
    Ok(((precision << 16) | (scale & 0x7ff)) + 4)
}

pub fn typmod_precision_scale(typmod: i32) -> (i32, i32) {
    let t = typmod - 4;
    let precision = (t >> 16) & 0xffff;
    // Sign-extend the 11-bit scale field.
    let scale = ((t & 0x7ff) ^ 1024) - 1024;
    (precision, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn input_and_output_keep_display_scale() {
        for (i, o) in [
            ("1.50", "1.50"),
            ("  -0.0 ", "0.0"),
            ("1e3", "1000"),
            ("1.5e-3", "0.0015"),
            (".5", "0.5"),
            ("5.", "5"),
            ("007", "7"),
            ("NaN", "NaN"),
            ("-inf", "-Infinity"),
        ] {
            assert_eq!(n(i).to_string_pg(), o, "{i}");
        }
        assert!(Numeric::parse("abc").is_err());
        assert!(Numeric::parse("1e").is_err());
        assert!(Numeric::parse("").is_err());
    }

    #[test]
    fn division_uses_select_div_scale() {
        assert_eq!(
            n("10").div(&n("3")).unwrap().to_string_pg(),
            "3.3333333333333333"
        );
        assert_eq!(
            n("1").div(&n("3")).unwrap().to_string_pg(),
            "0.33333333333333333333"
        );
        assert_eq!(
            n("2").div(&n("3")).unwrap().to_string_pg(),
            "0.66666666666666666667"
        );
        assert_eq!(
            n("100000").div(&n("3")).unwrap().to_string_pg(),
            "33333.333333333333"
        );
        assert_eq!(
            n("1.000").div(&n("8")).unwrap().to_string_pg(),
            "0.12500000000000000000"
        );
        assert_eq!(
            n("-7").div(&n("2")).unwrap().to_string_pg(),
            "-3.5000000000000000"
        );
        assert!(n("1").div(&n("0")).is_err());
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(n("0.1").add(&n("0.2")).unwrap().to_string_pg(), "0.3");
        assert_eq!(n("1.5").mul(&n("1.25")).unwrap().to_string_pg(), "1.875");
        assert_eq!(n("1").sub(&n("1.00")).unwrap().to_string_pg(), "0.00");
        assert_eq!(n("7.5").rem(&n("2")).unwrap().to_string_pg(), "1.5");
        assert_eq!(n("-7").rem(&n("3")).unwrap().to_string_pg(), "-1");
        assert_eq!(n("2.5").round(0).to_string_pg(), "3");
        assert_eq!(n("-2.5").round(0).to_string_pg(), "-3");
        assert_eq!(n("1234.5678").round(-2).to_string_pg(), "1200");
        assert_eq!(n("1.5").round(3).to_string_pg(), "1.500");
        assert_eq!(n("-1.5").floor().to_string_pg(), "-2");
        assert_eq!(n("1.2").ceil().to_string_pg(), "2");
        assert_eq!(n("-1.0").ceil().to_string_pg(), "-1");
    }

    #[test]
    fn typmod_rounds_and_overflows() {
        let tm = make_typmod(5, 2).unwrap();
        assert_eq!(
            n("123.456").apply_typmod(tm).unwrap().to_string_pg(),
            "123.46"
        );
        let e = n("1234.5").apply_typmod(tm).unwrap_err();
        assert_eq!(e.message, "numeric field overflow");
        assert_eq!(
            e.detail.as_deref(),
            Some(
                "A field with precision 5, scale 2 must round to an absolute value less than 10^3."
            )
        );
        assert_eq!(
            typmod_precision_scale(make_typmod(10, -2).unwrap()),
            (10, -2)
        );
    }
}
