//! Math functions `scalar.rs` lacks: `factorial`, `gcd`/`lcm`,
//! `width_bucket`, `scale`/`min_scale`/`trim_scale`, `div` (numeric.c,
//! int.c, int8.c) and the float8 trigonometric and hyperbolic functions
//! (float.c), with PostgreSQL 15's special cases and messages.
//!
//! The degree-based functions (`sind`, `cosd`, ...) follow float.c's
//! scheme: reduce to the first quadrant and scale by the computed value at
//! 30°/45°/60°, so that `sind(30)` is exactly 0.5 as PostgreSQL prints it.

use std::f64::consts::PI;

use super::super::adt::numeric::Numeric;
use super::super::adt::{as_f64, as_i128};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::Builder;
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

fn int(d: &Datum) -> i64 {
    as_i128(d).expect("integer argument") as i64
}

fn f(d: &Datum) -> f64 {
    as_f64(d).expect("float argument")
}

fn numeric(d: &Datum) -> &Numeric {
    match d {
        Datum::Numeric(n) => n,
        other => panic!("numeric argument expected, got {other:?}"),
    }
}

fn err(code: &'static str, msg: &str) -> PgError {
    PgError::error(code, msg)
}

fn out_of_range_input() -> PgError {
    err(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "input is out of range",
    )
}

fn int_range_error(ret: Type) -> PgError {
    err(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        if ret == Type::Int8 {
            "bigint out of range"
        } else {
            "integer out of range"
        },
    )
}

const WIDTH_BUCKET: &str = "2201G";

// --- factorial, gcd, lcm ----------------------------------------------------------

/// `numeric_fac`: computed in base-10⁹ limbs (the result can have 131068
/// digits), then handed to numeric input, which enforces numeric's limits.
fn factorial(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = int(&a[0]);
    if n < 0 {
        return Err(err(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            "factorial of a negative number is undefined",
        ));
    }
    // 32177! is the largest that fits numeric's 131072 integral digits.
    if n > 32177 {
        return Err(super::super::adt::numeric::overflow());
    }
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = vec![1];
    for k in 2..=n as u64 {
        if k % 1024 == 0 {
            cx.server.check_for_interrupts()?;
        }
        let mut carry = 0u64;
        for l in limbs.iter_mut() {
            let v = *l * k + carry;
            *l = v % BASE;
            carry = v / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
    let mut s = limbs.last().expect("at least one limb").to_string();
    for l in limbs.iter().rev().skip(1) {
        s.push_str(&format!("{l:09}"));
    }
    Ok(Datum::Numeric(Numeric::parse(&s)?))
}

fn gcd_u(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

fn bits(ret: Type) -> u32 {
    if ret == Type::Int8 { 64 } else { 32 }
}

fn fits(v: u128, ret: Type) -> bool {
    v <= (1u128 << (bits(ret) - 1)) - 1
}

fn gcd_int(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    let (x, y) = (int(&a[0]) as i128, int(&a[1]) as i128);
    let g = gcd_u(x.unsigned_abs(), y.unsigned_abs());
    if !fits(g, ret) {
        return Err(int_range_error(ret));
    }
    super::super::adt::make_int(g as i128, ret)
}

fn lcm_int(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    let (x, y) = (int(&a[0]) as i128, int(&a[1]) as i128);
    if x == 0 || y == 0 {
        return super::super::adt::make_int(0, ret);
    }
    let g = gcd_u(x.unsigned_abs(), y.unsigned_abs());
    if !fits(g, ret) {
        return Err(int_range_error(ret));
    }
    let l = (x.unsigned_abs() / g).checked_mul(y.unsigned_abs());
    match l {
        Some(l) if fits(l, ret) => super::super::adt::make_int(l as i128, ret),
        _ => Err(int_range_error(ret)),
    }
}

fn gcd_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).gcd(numeric(&a[1]))?))
}

fn lcm_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).lcm(numeric(&a[1]))?))
}

// --- scale, div -------------------------------------------------------------------

fn scale(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = numeric(&a[0]);
    Ok(match n {
        Numeric::Finite { scale, .. } => Datum::Int4(*scale as i32),
        _ => Datum::Null,
    })
}

fn min_scale(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(match numeric(&a[0]).min_scale() {
        Some(s) => Datum::Int4(s as i32),
        None => Datum::Null,
    })
}

fn trim_scale(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).trim_scale()))
}

/// `numeric_div_trunc`: the integral quotient, truncated toward zero.
fn div(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    use Numeric::*;
    let (x, y) = (numeric(&a[0]), numeric(&a[1]));
    let special = |inf_neg: bool| -> R {
        if !matches!(y, Finite { .. }) {
            return Ok(Datum::Numeric(NaN));
        }
        if y.is_zero() {
            return Err(err(sqlstate::DIVISION_BY_ZERO, "division by zero"));
        }
        Ok(Datum::Numeric(if inf_neg != y.is_negative() {
            NegInf
        } else {
            PosInf
        }))
    };
    match (x, y) {
        (NaN, _) | (_, NaN) => Ok(Datum::Numeric(NaN)),
        (PosInf, _) => special(false),
        (NegInf, _) => special(true),
        (_, PosInf | NegInf) => Ok(Datum::Numeric(Numeric::zero())),
        _ => Ok(Datum::Numeric(x.div_trunc(y)?)),
    }
}

// --- width_bucket ---------------------------------------------------------------------

fn count_arg(d: &Datum) -> PgResult<i32> {
    let c = int(d) as i32;
    if c <= 0 {
        return Err(err(WIDTH_BUCKET, "count must be greater than zero"));
    }
    Ok(c)
}

fn count_plus_one(c: i32) -> R {
    c.checked_add(1)
        .map(Datum::Int4)
        .ok_or_else(|| int_range_error(Type::Int4))
}

/// `width_bucket_float8` of PostgreSQL 15, including its conversion of a
/// non-finite quotient to `INT_MIN` (x86's `cvttsd2si`).
fn width_bucket_float8(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (op, b1, b2) = (f(&a[0]), f(&a[1]), f(&a[2]));
    let count = count_arg(&a[3])?;
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(err(
            WIDTH_BUCKET,
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(err(WIDTH_BUCKET, "lower and upper bounds must be finite"));
    }
    let to_int = |v: f64| -> i32 {
        if v.is_finite() && v >= i32::MIN as f64 && v < 2147483648.0 {
            v as i32
        } else {
            i32::MIN
        }
    };
    if b1 < b2 {
        if op < b1 {
            Ok(Datum::Int4(0))
        } else if op >= b2 {
            count_plus_one(count)
        } else {
            Ok(Datum::Int4(to_int(
                (count as f64 * (op - b1) / (b2 - b1)) + 1.0,
            )))
        }
    } else if b1 > b2 {
        if op > b1 {
            Ok(Datum::Int4(0))
        } else if op <= b2 {
            count_plus_one(count)
        } else {
            Ok(Datum::Int4(to_int(
                (count as f64 * (b1 - op) / (b1 - b2)) + 1.0,
            )))
        }
    } else {
        Err(err(WIDTH_BUCKET, "lower bound cannot equal upper bound"))
    }
}

/// `width_bucket_numeric`: exact, `trunc((op - lo) * count / (hi - lo)) + 1`.
fn width_bucket_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    use std::cmp::Ordering::*;
    let (op, b1, b2) = (numeric(&a[0]), numeric(&a[1]), numeric(&a[2]));
    let count = count_arg(&a[3])?;
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(err(
            WIDTH_BUCKET,
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(err(WIDTH_BUCKET, "lower and upper bounds must be finite"));
    }
    let bucket = |num: Numeric, den: Numeric| -> R {
        let q = num.mul(&Numeric::from_i64(count as i64))?.div_trunc(&den)?;
        let v = q.to_i64().unwrap_or(i64::MAX) + 1;
        i32::try_from(v)
            .map(Datum::Int4)
            .map_err(|_| int_range_error(Type::Int4))
    };
    match b1.cmp_pg(b2) {
        Equal => Err(err(WIDTH_BUCKET, "lower bound cannot equal upper bound")),
        Less => {
            if op.cmp_pg(b1) == Less {
                Ok(Datum::Int4(0))
            } else if op.cmp_pg(b2) != Less {
                count_plus_one(count)
            } else {
                bucket(op.sub(b1)?, b2.sub(b1)?)
            }
        }
        Greater => {
            if op.cmp_pg(b1) == Greater {
                Ok(Datum::Int4(0))
            } else if op.cmp_pg(b2) != Greater {
                count_plus_one(count)
            } else {
                bucket(b1.sub(op)?, b1.sub(b2)?)
            }
        }
    }
}

// --- trigonometry -------------------------------------------------------------------

const RADIANS_PER_DEGREE: f64 = PI / 180.0;

fn f8(v: f64) -> R {
    Ok(Datum::Float8(v))
}

/// `sin(x)` etc.: NaN in, NaN out; an infinite argument is out of range.
fn finite_arg(x: f64) -> PgResult<()> {
    if x.is_infinite() {
        return Err(out_of_range_input());
    }
    Ok(())
}

fn unit_arg(x: f64) -> PgResult<()> {
    if !x.is_nan() && !(-1.0..=1.0).contains(&x) {
        return Err(out_of_range_input());
    }
    Ok(())
}

fn dsin(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    finite_arg(x)?;
    f8(x.sin())
}

fn dcos(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    finite_arg(x)?;
    f8(x.cos())
}

fn dtan(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    finite_arg(x)?;
    f8(x.tan())
}

fn dcot(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    finite_arg(x)?;
    f8(1.0 / x.tan())
}

fn dasin(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    unit_arg(x)?;
    f8(x.asin())
}

fn dacos(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    unit_arg(x)?;
    f8(x.acos())
}

fn datan(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    f8(f(&a[0]).atan())
}

fn datan2(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    f8(f(&a[0]).atan2(f(&a[1])))
}

fn dsinh(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    f8(f(&a[0]).sinh())
}

fn dcosh(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    f8(f(&a[0]).cosh())
}

fn dtanh(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    f8(f(&a[0]).tanh())
}

fn dasinh(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    f8(f(&a[0]).asinh())
}

fn dacosh(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    if x < 1.0 {
        return Err(out_of_range_input());
    }
    f8(x.acosh())
}

fn datanh(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    unit_arg(x)?;
    f8(if x == 1.0 {
        f64::INFINITY
    } else if x == -1.0 {
        f64::NEG_INFINITY
    } else {
        x.atanh()
    })
}

fn sin_30() -> f64 {
    (30.0 * RADIANS_PER_DEGREE).sin()
}

fn one_minus_cos_60() -> f64 {
    1.0 - (60.0 * RADIANS_PER_DEGREE).cos()
}

fn sind_0_to_30(x: f64) -> f64 {
    ((x * RADIANS_PER_DEGREE).sin() / sin_30()) / 2.0
}

fn cosd_0_to_60(x: f64) -> f64 {
    let one_minus_cos_x = 1.0 - (x * RADIANS_PER_DEGREE).cos();
    1.0 - (one_minus_cos_x / one_minus_cos_60()) / 2.0
}

fn sind_q1(x: f64) -> f64 {
    if x <= 30.0 {
        sind_0_to_30(x)
    } else {
        cosd_0_to_60(90.0 - x)
    }
}

fn cosd_q1(x: f64) -> f64 {
    if x <= 60.0 {
        cosd_0_to_60(x)
    } else {
        sind_0_to_30(90.0 - x)
    }
}

fn dsind(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut x = f(&a[0]);
    if x.is_nan() {
        return f8(f64::NAN);
    }
    finite_arg(x)?;
    x %= 360.0;
    let mut sign = 1.0;
    if x < 0.0 {
        x = -x;
        sign = -sign;
    }
    if x > 180.0 {
        x = 360.0 - x;
        sign = -sign;
    }
    if x > 90.0 {
        x = 180.0 - x;
    }
    f8(sign * sind_q1(x))
}

fn dcosd(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut x = f(&a[0]);
    if x.is_nan() {
        return f8(f64::NAN);
    }
    finite_arg(x)?;
    x %= 360.0;
    if x < 0.0 {
        x = -x;
    }
    if x > 180.0 {
        x = 360.0 - x;
    }
    let mut sign = 1.0;
    if x > 90.0 {
        x = 180.0 - x;
        sign = -sign;
    }
    f8(sign * cosd_q1(x))
}

/// `dtand` (`cot` false) and `dcotd` (`cot` true).
fn tan_or_cot_d(a: &[Datum], cot: bool) -> R {
    let mut x = f(&a[0]);
    if x.is_nan() {
        return f8(f64::NAN);
    }
    finite_arg(x)?;
    x %= 360.0;
    let mut sign = 1.0;
    if x < 0.0 {
        x = -x;
        sign = -sign;
    }
    if x > 180.0 {
        x = 360.0 - x;
        sign = -sign;
    }
    if x > 90.0 {
        x = 180.0 - x;
        sign = -sign;
    }
    let r = if cot {
        let cot_45 = cosd_q1(45.0) / sind_q1(45.0);
        sign * ((cosd_q1(x) / sind_q1(x)) / cot_45)
    } else {
        let tan_45 = sind_q1(45.0) / cosd_q1(45.0);
        sign * ((sind_q1(x) / cosd_q1(x)) / tan_45)
    };
    // PostgreSQL forces minus zero to zero here.
    f8(if r == 0.0 { 0.0 } else { r })
}

fn dtand(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    tan_or_cot_d(a, false)
}

fn dcotd(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    tan_or_cot_d(a, true)
}

fn asind_q1(x: f64) -> f64 {
    if x <= 0.5 {
        (x.asin() / 0.5f64.asin()) * 30.0
    } else {
        90.0 - (x.acos() / 0.5f64.acos()) * 60.0
    }
}

fn acosd_q1(x: f64) -> f64 {
    if x <= 0.5 {
        90.0 - (x.asin() / 0.5f64.asin()) * 30.0
    } else {
        (x.acos() / 0.5f64.acos()) * 60.0
    }
}

fn dasind(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    if x.is_nan() {
        return f8(f64::NAN);
    }
    unit_arg(x)?;
    f8(if x >= 0.0 { asind_q1(x) } else { -asind_q1(-x) })
}

fn dacosd(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    if x.is_nan() {
        return f8(f64::NAN);
    }
    unit_arg(x)?;
    f8(if x >= 0.0 {
        acosd_q1(x)
    } else {
        90.0 + asind_q1(-x)
    })
}

fn datand(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = f(&a[0]);
    if x.is_nan() {
        return f8(f64::NAN);
    }
    f8((x.atan() / 1.0f64.atan()) * 45.0)
}

fn datan2d(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (y, x) = (f(&a[0]), f(&a[1]));
    if x.is_nan() || y.is_nan() {
        return f8(f64::NAN);
    }
    f8((y.atan2(x) / 1.0f64.atan()) * 45.0)
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.func("factorial", &[Int8], Numeric, factorial);
    b.func("gcd", &[Int4, Int4], Int4, gcd_int);
    b.func("gcd", &[Int8, Int8], Int8, gcd_int);
    b.func("gcd", &[Numeric, Numeric], Numeric, gcd_numeric);
    b.func("lcm", &[Int4, Int4], Int4, lcm_int);
    b.func("lcm", &[Int8, Int8], Int8, lcm_int);
    b.func("lcm", &[Numeric, Numeric], Numeric, lcm_numeric);
    b.func("scale", &[Numeric], Int4, scale);
    b.func("min_scale", &[Numeric], Int4, min_scale);
    b.func("trim_scale", &[Numeric], Numeric, trim_scale);
    b.func("div", &[Numeric, Numeric], Numeric, div);
    b.func(
        "width_bucket",
        &[Float8, Float8, Float8, Int4],
        Int4,
        width_bucket_float8,
    );
    b.func(
        "width_bucket",
        &[Numeric, Numeric, Numeric, Int4],
        Int4,
        width_bucket_numeric,
    );
    for (name, imp) in [
        ("sin", dsin as super::ScalarFn),
        ("cos", dcos),
        ("tan", dtan),
        ("cot", dcot),
        ("asin", dasin),
        ("acos", dacos),
        ("atan", datan),
        ("sinh", dsinh),
        ("cosh", dcosh),
        ("tanh", dtanh),
        ("asinh", dasinh),
        ("acosh", dacosh),
        ("atanh", datanh),
        ("sind", dsind),
        ("cosd", dcosd),
        ("tand", dtand),
        ("cotd", dcotd),
        ("asind", dasind),
        ("acosd", dacosd),
        ("atand", datand),
    ] {
        b.func(name, &[Float8], Float8, imp);
    }
    b.func("atan2", &[Float8, Float8], Float8, datan2);
    b.func("atan2d", &[Float8, Float8], Float8, datan2d);
}
