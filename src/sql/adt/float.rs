//! `float8`: input (`float8in`), output (`float8out`: shortest round-trip
//! digits, PostgreSQL 12+ with `extra_float_digits > 0`), and the `%g`
//! formatting PostgreSQL uses elsewhere (`float8_numeric`, and output when
//! `extra_float_digits <= 0`).

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// `float8out` with the given `extra_float_digits`.
pub fn float8_out(v: f64, extra_float_digits: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if extra_float_digits > 0 {
        return shortest(v, 15);
    }
    format_g(v, (15 + extra_float_digits).max(1) as usize)
}

/// `float4out`.
pub fn float4_out(v: f32, extra_float_digits: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if extra_float_digits > 0 {
        let (digits, exp) = sci_parts(&format!("{:e}", v));
        return layout(v.is_sign_negative(), &digits, exp, 6);
    }
    format_g(v as f64, (6 + extra_float_digits).max(1) as usize)
}

/// Splits Rust's `{:e}` output (`-1.2345e-7`) into digits ("12345") and exponent.
fn sci_parts(s: &str) -> (String, i32) {
    let s = s.trim_start_matches('-');
    let (mant, exp) = s.split_once('e').expect("{:e} has an exponent");
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().expect("exponent is an integer"))
}

/// Shortest round-trip representation, laid out like Ryu's `d2s` in
/// PostgreSQL: fixed notation when `-4 <= exponent < fixed_limit`.
fn shortest(v: f64, fixed_limit: i32) -> String {
    let (digits, exp) = sci_parts(&format!("{:e}", v));
    layout(v.is_sign_negative(), &digits, exp, fixed_limit)
}

fn layout(neg: bool, digits: &str, exp: i32, fixed_limit: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    if (-4..fixed_limit).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

/// C's `%.{precision}g`.
pub fn format_g(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let p = precision.max(1);
    let s = format!("{:.*e}", p - 1, v);
    let (digits, exp) = sci_parts(&s);
    let neg = v.is_sign_negative();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= p as i32 {
        let d = digits.trim_end_matches('0');
        let d = if d.is_empty() { "0" } else { d };
        out.push_str(&d[..1]);
        if d.len() > 1 {
            out.push('.');
            out.push_str(&d[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else {
        let fixed = format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, v.abs());
        let fixed = if fixed.contains('.') {
            fixed
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            fixed
        };
        out.push_str(&fixed);
    }
    out
}

/// `float8in`.
pub fn float8_in(input: &str) -> PgResult<f64> {
    parse_float(input, "double precision").map(|(v, _)| v)
}

/// `float4in`.
pub fn float4_in(input: &str) -> PgResult<f32> {
    let (v, had_nonzero) = parse_float(input, "real")?;
    let f = v as f32;
    if (f.is_infinite() && !v.is_infinite()) || (f == 0.0 && had_nonzero) {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{input}\" is out of range for type real"),
        ));
    }
    Ok(f)
}

fn parse_float(input: &str, type_name: &str) -> PgResult<(f64, bool)> {
    let bad = || {
        PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {type_name}: \"{input}\""),
        )
    };
    let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
    if s.is_empty() {
        return Err(bad());
    }
    let lower = s.to_ascii_lowercase();
    let special = match lower.as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    };
    if let Some(v) = special {
        return Ok((v, false));
    }
    // Only decimal syntax: sign, digits, point, exponent (Rust's parser also
    // accepts "inf"/"nan" spellings, handled above).
    let valid = {
        let b = s.as_bytes();
        let mut i = 0;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let mut digits = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
                digits += 1;
            }
        }
        if digits > 0 && i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                digits = 0;
            }
        }
        digits > 0 && i == b.len()
    };
    if !valid {
        return Err(bad());
    }
    let v: f64 = s.parse().map_err(|_| bad())?;
    let mantissa_nonzero = s
        .split(['e', 'E'])
        .next()
        .unwrap_or("")
        .bytes()
        .any(|c| (b'1'..=b'9').contains(&c));
    if v.is_infinite() || (v == 0.0 && mantissa_nonzero) {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{input}\" is out of range for type {type_name}"),
        ));
    }
    Ok((v, mantissa_nonzero))
}

/// `float_overflow_error` / `float_underflow_error` checks after an operation.
pub fn check_float8(result: f64, inf_is_valid: bool, zero_is_valid: bool) -> PgResult<f64> {
    if result.is_infinite() && !inf_is_valid {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: overflow",
        ));
    }
    if result == 0.0 && !zero_is_valid {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: underflow",
        ));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_matches_postgres_15() {
        for (v, s) in [
            (0.00001, "1e-05"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (1e100, "1e+100"),
            (0.1, "0.1"),
            (1.5e-7, "1.5e-07"),
            (-0.0, "-0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(float8_out(v, 1), s, "{v}");
        }
        assert_eq!(float8_out(1.0 / 3.0, 0), "0.333333333333333");
    }

    #[test]
    fn g_format_is_c_compatible() {
        assert_eq!(format_g(0.1, 15), "0.1");
        assert_eq!(format_g(1e20, 15), "1e+20");
        assert_eq!(format_g(123.456, 15), "123.456");
        assert_eq!(format_g(1.0 / 3.0, 15), "0.333333333333333");
        assert_eq!(format_g(0.0, 15), "0");
        assert_eq!(format_g(1e-5, 15), "1e-05");
    }

    #[test]
    fn input_rejects_garbage_and_out_of_range() {
        assert_eq!(float8_in(" 1.5 ").unwrap(), 1.5);
        assert!(float8_in("-Infinity").unwrap().is_infinite());
        assert_eq!(
            float8_in("abc").unwrap_err().sqlstate,
            sqlstate::INVALID_TEXT_REPRESENTATION
        );
        assert_eq!(
            float8_in("1e400").unwrap_err().sqlstate,
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert_eq!(
            float8_in("1e-400").unwrap_err().sqlstate,
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE
        );
    }
}
