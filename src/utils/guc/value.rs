//! Parsing and printing of parameter values, as guc.c does it: `parse_bool`,
//! `parse_int` and `parse_real` with unit suffixes, and the unit-choosing
//! output of `SHOW`.
//!
//! Integers accept what C's `strtol(.., 0)` accepts (leading blanks, a sign,
//! `0x` hex, leading-zero octal) and fall back to `strtod` when the number
//! continues with `.`, `e` or `E` (`1.5MB`, `1e3`); the result is rounded to
//! the nearest integer (ties to even, like `rint`). Units are case-sensitive,
//! at most three letters, and may be separated from the number by blanks.
//! `SHOW` prints an integer in the largest unit that divides it exactly and a
//! real in the first unit that makes it (nearly) integral, using `%g`.

use super::params::Unit;

/// Hint given when a memory unit is not recognised.
pub(super) const MEMORY_UNITS_HINT: &str =
    "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".";
/// Hint given when a time unit is not recognised.
pub(super) const TIME_UNITS_HINT: &str =
    "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".";
const INT_RANGE_HINT: &str = "Value exceeds integer range.";

/// Size of a data page and of a WAL page (BLCKSZ, XLOG_BLCKSZ).
const BLCKSZ: f64 = 8192.0;

/// One row of PostgreSQL's unit conversion tables: `unit` expressed in the
/// parameter's base unit.
struct Conversion {
    unit: &'static str,
    base: Unit,
    multiplier: f64,
}

const KB: f64 = 1024.0;
const MB: f64 = 1024.0 * 1024.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;
const TB: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

/// `memory_unit_conversion_table`: for each base unit, greatest unit first.
static MEMORY_UNITS: &[Conversion] = &[
    Conversion {
        unit: "TB",
        base: Unit::Byte,
        multiplier: TB,
    },
    Conversion {
        unit: "GB",
        base: Unit::Byte,
        multiplier: GB,
    },
    Conversion {
        unit: "MB",
        base: Unit::Byte,
        multiplier: MB,
    },
    Conversion {
        unit: "kB",
        base: Unit::Byte,
        multiplier: KB,
    },
    Conversion {
        unit: "B",
        base: Unit::Byte,
        multiplier: 1.0,
    },
    Conversion {
        unit: "TB",
        base: Unit::Kb,
        multiplier: GB,
    },
    Conversion {
        unit: "GB",
        base: Unit::Kb,
        multiplier: MB,
    },
    Conversion {
        unit: "MB",
        base: Unit::Kb,
        multiplier: KB,
    },
    Conversion {
        unit: "kB",
        base: Unit::Kb,
        multiplier: 1.0,
    },
    Conversion {
        unit: "B",
        base: Unit::Kb,
        multiplier: 1.0 / KB,
    },
    Conversion {
        unit: "TB",
        base: Unit::Mb,
        multiplier: MB,
    },
    Conversion {
        unit: "GB",
        base: Unit::Mb,
        multiplier: KB,
    },
    Conversion {
        unit: "MB",
        base: Unit::Mb,
        multiplier: 1.0,
    },
    Conversion {
        unit: "kB",
        base: Unit::Mb,
        multiplier: 1.0 / KB,
    },
    Conversion {
        unit: "B",
        base: Unit::Mb,
        multiplier: 1.0 / MB,
    },
    Conversion {
        unit: "TB",
        base: Unit::Blocks,
        multiplier: GB / (BLCKSZ / KB),
    },
    Conversion {
        unit: "GB",
        base: Unit::Blocks,
        multiplier: MB / (BLCKSZ / KB),
    },
    Conversion {
        unit: "MB",
        base: Unit::Blocks,
        multiplier: KB / (BLCKSZ / KB),
    },
    Conversion {
        unit: "kB",
        base: Unit::Blocks,
        multiplier: 1.0 / (BLCKSZ / KB),
    },
    Conversion {
        unit: "B",
        base: Unit::Blocks,
        multiplier: 1.0 / BLCKSZ,
    },
];

/// `time_unit_conversion_table`: for each base unit, greatest unit first.
static TIME_UNITS: &[Conversion] = &[
    Conversion {
        unit: "d",
        base: Unit::Ms,
        multiplier: 1000.0 * 60.0 * 60.0 * 24.0,
    },
    Conversion {
        unit: "h",
        base: Unit::Ms,
        multiplier: 1000.0 * 60.0 * 60.0,
    },
    Conversion {
        unit: "min",
        base: Unit::Ms,
        multiplier: 1000.0 * 60.0,
    },
    Conversion {
        unit: "s",
        base: Unit::Ms,
        multiplier: 1000.0,
    },
    Conversion {
        unit: "ms",
        base: Unit::Ms,
        multiplier: 1.0,
    },
    Conversion {
        unit: "us",
        base: Unit::Ms,
        multiplier: 1.0 / 1000.0,
    },
    Conversion {
        unit: "d",
        base: Unit::S,
        multiplier: 60.0 * 60.0 * 24.0,
    },
    Conversion {
        unit: "h",
        base: Unit::S,
        multiplier: 60.0 * 60.0,
    },
    Conversion {
        unit: "min",
        base: Unit::S,
        multiplier: 60.0,
    },
    Conversion {
        unit: "s",
        base: Unit::S,
        multiplier: 1.0,
    },
    Conversion {
        unit: "ms",
        base: Unit::S,
        multiplier: 1.0 / 1000.0,
    },
    Conversion {
        unit: "us",
        base: Unit::S,
        multiplier: 1.0 / (1000.0 * 1000.0),
    },
    Conversion {
        unit: "d",
        base: Unit::Min,
        multiplier: 60.0 * 24.0,
    },
    Conversion {
        unit: "h",
        base: Unit::Min,
        multiplier: 60.0,
    },
    Conversion {
        unit: "min",
        base: Unit::Min,
        multiplier: 1.0,
    },
    Conversion {
        unit: "s",
        base: Unit::Min,
        multiplier: 1.0 / 60.0,
    },
    Conversion {
        unit: "ms",
        base: Unit::Min,
        multiplier: 1.0 / (1000.0 * 60.0),
    },
    Conversion {
        unit: "us",
        base: Unit::Min,
        multiplier: 1.0 / (1000.0 * 1000.0 * 60.0),
    },
];

fn is_memory(unit: Unit) -> bool {
    matches!(unit, Unit::Byte | Unit::Kb | Unit::Mb | Unit::Blocks)
}

fn table_for(unit: Unit) -> &'static [Conversion] {
    if is_memory(unit) {
        MEMORY_UNITS
    } else {
        TIME_UNITS
    }
}

fn units_hint(unit: Unit) -> &'static str {
    if is_memory(unit) {
        MEMORY_UNITS_HINT
    } else {
        TIME_UNITS_HINT
    }
}

/// The unit name shown in `pg_settings.unit` and in range errors
/// (`get_config_unit_name`).
pub(super) fn unit_name(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::None => None,
        Unit::Byte => Some("B"),
        Unit::Kb => Some("kB"),
        Unit::Mb => Some("MB"),
        Unit::Blocks => Some("8kB"),
        Unit::Ms => Some("ms"),
        Unit::S => Some("s"),
        Unit::Min => Some("min"),
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `parse_bool`: a case-insensitive, non-empty prefix of true/false/yes/no,
/// `on`/`off` (at least two letters), or `1`/`0`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let lower = s.to_ascii_lowercase();
    let is_prefix_of = |word: &str| !lower.is_empty() && word.starts_with(lower.as_str());
    match lower.as_bytes().first()? {
        b't' if is_prefix_of("true") => Some(true),
        b'f' if is_prefix_of("false") => Some(false),
        b'y' if is_prefix_of("yes") => Some(true),
        b'n' if is_prefix_of("no") => Some(false),
        b'o' if lower == "on" => Some(true),
        b'o' if lower.len() >= 2 && "off".starts_with(lower.as_str()) => Some(false),
        b'1' if lower.len() == 1 => Some(true),
        b'0' if lower.len() == 1 => Some(false),
        _ => None,
    }
}

/// C's `strtol(s, &end, 0)`: returns the value (saturated, with an overflow
/// flag) and the number of bytes consumed (0 when no conversion happened).
fn strtol(s: &[u8]) -> (i128, bool, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let (radix, digits_start) = if i + 1 < s.len()
        && s[i] == b'0'
        && (s[i + 1] | 0x20) == b'x'
        && i + 2 < s.len()
        && s[i + 2].is_ascii_hexdigit()
    {
        (16, i + 2)
    } else if i < s.len() && s[i] == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = digits_start;
    let mut value: i128 = 0;
    let mut overflow = false;
    while j < s.len() {
        let d = match (s[j] as char).to_digit(radix) {
            Some(d) => d as i128,
            None => break,
        };
        value = value * radix as i128 + d;
        if value > i64::MAX as i128 + 1 {
            overflow = true;
            value = i64::MAX as i128 + 1;
        }
        j += 1;
    }
    if j == digits_start {
        return (0, false, 0);
    }
    let value = if negative { -value } else { value };
    (value, overflow || value > i64::MAX as i128, j)
}

/// C's `strtod` for what configuration values contain: blanks, sign,
/// decimal digits with point and exponent, `inf`/`infinity`/`nan`, and hex.
/// Returns the value, whether it was out of range (ERANGE), and the bytes
/// consumed (0 when no conversion happened).
fn strtod(s: &[u8]) -> (f64, bool, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let start = i;
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower: Vec<u8> = rest
        .iter()
        .take(8)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    if lower.starts_with(b"infinity") {
        return (sign * f64::INFINITY, false, i + 8);
    }
    if lower.starts_with(b"inf") {
        return (sign * f64::INFINITY, false, i + 3);
    }
    if lower.starts_with(b"nan") {
        return (f64::NAN, false, i + 3);
    }
    if rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && (rest[2].is_ascii_hexdigit() || rest[2] == b'.')
    {
        // Hexadecimal mantissa (binary exponent with `p` is not supported: no configuration value uses it).
        let mut j = 2;
        let mut value = 0.0f64;
        let mut any = false;
        while j < rest.len() && rest[j].is_ascii_hexdigit() {
            value = value * 16.0 + (rest[j] as char).to_digit(16).expect("hex digit") as f64;
            any = true;
            j += 1;
        }
        if j < rest.len() && rest[j] == b'.' {
            j += 1;
            let mut scale = 1.0 / 16.0;
            while j < rest.len() && rest[j].is_ascii_hexdigit() {
                value += (rest[j] as char).to_digit(16).expect("hex digit") as f64 * scale;
                scale /= 16.0;
                any = true;
                j += 1;
            }
        }
        if any {
            return (sign * value, value.is_infinite(), i + j);
        }
        // "0x" without digits: strtod reads the "0".
        return (0.0, false, i + 1);
    }
    let mut j = 0;
    let mut mantissa_digits = 0;
    let mut nonzero_digit = false;
    while j < rest.len() && rest[j].is_ascii_digit() {
        nonzero_digit |= rest[j] != b'0';
        mantissa_digits += 1;
        j += 1;
    }
    if j < rest.len() && rest[j] == b'.' {
        j += 1;
        while j < rest.len() && rest[j].is_ascii_digit() {
            nonzero_digit |= rest[j] != b'0';
            mantissa_digits += 1;
            j += 1;
        }
    }
    if mantissa_digits == 0 {
        return (0.0, false, 0);
    }
    if j < rest.len() && (rest[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < rest.len() && (rest[k] == b'+' || rest[k] == b'-') {
            k += 1;
        }
        if k < rest.len() && rest[k].is_ascii_digit() {
            while k < rest.len() && rest[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[start..i + j]).expect("ASCII number");
    let value: f64 = text.parse().unwrap_or(0.0);
    let out_of_range = value.is_infinite() || (value == 0.0 && nonzero_digit);
    (value, out_of_range, i + j)
}

/// [`strtod`] on a string.
pub(super) fn strtod_str(s: &str) -> (f64, bool, usize) {
    strtod(s.as_bytes())
}

/// `convert_to_base_unit`: `value` followed by the unit text `unit` (which
/// may have trailing blanks) in the parameter's base unit.
fn convert_to_base_unit(value: f64, unit_text: &[u8], base: Unit) -> Option<f64> {
    const MAX_UNIT_LEN: usize = 3;
    let mut len = 0;
    while len < unit_text.len() && !is_c_space(unit_text[len]) && len < MAX_UNIT_LEN {
        len += 1;
    }
    let unit = &unit_text[..len];
    if unit_text[len..].iter().any(|&b| !is_c_space(b)) {
        return None; // unit too long, or garbage after it
    }
    let table = table_for(base);
    for (i, row) in table.iter().enumerate() {
        if row.base == base && row.unit.as_bytes() == unit {
            let mut converted = value * row.multiplier;
            // A fractional value such as "30.1GB" is rounded to a multiple
            // of the next smaller unit, if there is one.
            if let Some(next) = table.get(i + 1)
                && next.base == base
            {
                converted = (converted / next.multiplier).round_ties_even() * next.multiplier;
            }
            return Some(converted);
        }
    }
    None
}

/// `parse_int`: the value in the parameter's base unit, or the hint to give
/// with the "invalid value" error.
pub(super) fn parse_int(s: &str, unit: Unit) -> Result<i64, Option<&'static str>> {
    let bytes = s.as_bytes();
    let (ivalue, overflow, mut end) = strtol(bytes);
    let mut value = ivalue as f64;
    let next = bytes.get(end).copied();
    if matches!(next, Some(b'.') | Some(b'e') | Some(b'E')) || overflow {
        // strtol stopped at a decimal point or an exponent, or overflowed:
        // re-parse as a float.
        let (fvalue, erange, fend) = strtod(bytes);
        if erange {
            return Err(None);
        }
        value = fvalue;
        end = fend;
    }
    if end == 0 || value.is_nan() {
        return Err(None);
    }
    while end < bytes.len() && is_c_space(bytes[end]) {
        end += 1;
    }
    if end < bytes.len() {
        if unit == Unit::None {
            return Err(None);
        }
        value = convert_to_base_unit(value, &bytes[end..], unit).ok_or(Some(units_hint(unit)))?;
    }
    let value = value.round_ties_even();
    if value > i32::MAX as f64 || value < i32::MIN as f64 {
        return Err(Some(INT_RANGE_HINT));
    }
    Ok(value as i64)
}

/// `parse_real`: the value in the parameter's base unit, or the hint to give
/// with the "invalid value" error.
pub(super) fn parse_real(s: &str, unit: Unit) -> Result<f64, Option<&'static str>> {
    let bytes = s.as_bytes();
    let (mut value, erange, mut end) = strtod(bytes);
    if end == 0 || erange || value.is_nan() {
        return Err(None);
    }
    while end < bytes.len() && is_c_space(bytes[end]) {
        end += 1;
    }
    if end < bytes.len() {
        if unit == Unit::None {
            return Err(None);
        }
        value = convert_to_base_unit(value, &bytes[end..], unit).ok_or(Some(units_hint(unit)))?;
    }
    Ok(value)
}

/// C's `printf("%g")`: six significant digits, trailing zeros removed,
/// exponent form below 1e-4 and from 1e6.
pub(super) fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v < 0.0 {
            "-inf".to_string()
        } else {
            "inf".to_string()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        };
    }
    const PRECISION: i32 = 6;
    // Round to six significant digits first: that decides the exponent.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, v);
    let (mantissa, exp) = sci.split_once('e').expect("exponent in {:e} output");
    let exp: i32 = exp.parse().expect("integer exponent");
    if !(-4..PRECISION).contains(&exp) {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (PRECISION - 1 - exp).max(0) as usize;
        strip_fraction_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// How `SHOW` prints an integer: positive values with a unit in the largest
/// unit that divides them exactly (`convert_int_from_base_unit`); zero and
/// negative values bare.
pub(super) fn format_int_with_unit(value: i64, unit: Unit) -> String {
    if value <= 0 || unit == Unit::None {
        return value.to_string();
    }
    for row in table_for(unit).iter().filter(|row| row.base == unit) {
        if row.multiplier <= 1.0 || value % (row.multiplier as i64) == 0 {
            let shown = (value as f64 / row.multiplier).round_ties_even() as i64;
            return format!("{shown}{}", row.unit);
        }
    }
    unreachable!("every unit table ends with a multiplier <= 1")
}

/// How `SHOW` prints a real with a unit: the first unit in which the value is
/// integral to within 1e-8, else the smallest unit (`convert_real_from_base_unit`).
pub(super) fn format_real_with_unit(value: f64, unit: Unit) -> String {
    if value <= 0.0 || unit == Unit::None {
        return format_g(value);
    }
    let mut shown = value;
    let mut shown_unit = "";
    for row in table_for(unit).iter().filter(|row| row.base == unit) {
        shown = value / row.multiplier;
        shown_unit = row.unit;
        if shown > 0.0 && ((shown.round_ties_even() / shown) - 1.0).abs() <= 1e-8 {
            break;
        }
    }
    format!("{}{}", format_g(shown), shown_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_postgres_spellings_and_prefixes() {
        for s in ["on", "ON", "true", "t", "TR", "yes", "y", "1"] {
            assert_eq!(parse_bool(s), Some(true), "{s}");
        }
        for s in ["off", "of", "false", "f", "no", "n", "0"] {
            assert_eq!(parse_bool(s), Some(false), "{s}");
        }
        for s in ["", "o", "maybe", " on", "on ", "truee", "01", "2", "onn"] {
            assert_eq!(parse_bool(s), None, "{s}");
        }
    }

    #[test]
    fn integers_convert_units_like_postgres() {
        // Expected values checked against PostgreSQL 15.
        assert_eq!(parse_int("128MB", Unit::Blocks), Ok(16384));
        assert_eq!(parse_int("128MB", Unit::Kb), Ok(131072));
        assert_eq!(parse_int("10 MB", Unit::Kb), Ok(10240));
        assert_eq!(parse_int("1.5MB", Unit::Kb), Ok(1536));
        assert_eq!(parse_int("0x100", Unit::Kb), Ok(256));
        assert_eq!(parse_int("0777", Unit::None), Ok(511));
        assert_eq!(parse_int("64 kB ", Unit::Kb), Ok(64));
        assert_eq!(parse_int("1e3", Unit::Kb), Ok(1000));
        assert_eq!(parse_int(" 100", Unit::Kb), Ok(100));
        assert_eq!(parse_int("+7MB", Unit::Kb), Ok(7168));
        assert_eq!(parse_int("-1", Unit::Ms), Ok(-1));
        assert_eq!(parse_int("5min", Unit::S), Ok(300));
        assert_eq!(parse_int("1.5s", Unit::Ms), Ok(1500));
        assert_eq!(parse_int("100us", Unit::Ms), Ok(0));
        assert_eq!(parse_int("600us", Unit::Ms), Ok(1));
        assert_eq!(parse_int("1d", Unit::Min), Ok(1440));
        assert_eq!(parse_int("1kB", Unit::Byte), Ok(1024));
        assert_eq!(parse_int("10mb", Unit::Kb), Err(Some(MEMORY_UNITS_HINT)));
        assert_eq!(parse_int("5 hours", Unit::Ms), Err(Some(TIME_UNITS_HINT)));
        assert_eq!(parse_int("3TB", Unit::Kb), Err(Some(INT_RANGE_HINT)));
        assert_eq!(parse_int("abc", Unit::Kb), Err(None));
        assert_eq!(parse_int("5MB", Unit::None), Err(None));
        assert_eq!(parse_int("", Unit::None), Err(None));
        assert_eq!(parse_int("nan", Unit::None), Err(None));
    }

    #[test]
    fn reals_parse_with_units() {
        assert_eq!(parse_real("0.9", Unit::None), Ok(0.9));
        assert_eq!(parse_real("1.5ms", Unit::Ms), Ok(1.5));
        assert_eq!(parse_real("0.001s", Unit::Ms), Ok(1.0));
        assert_eq!(parse_real("10us", Unit::Ms), Ok(0.01));
        assert_eq!(parse_real("1e-5", Unit::None), Ok(1e-5));
        assert_eq!(parse_real("abc", Unit::None), Err(None));
        assert_eq!(parse_real("1x", Unit::None), Err(None));
        assert_eq!(parse_real("2 weeks", Unit::Ms), Err(Some(TIME_UNITS_HINT)));
    }

    #[test]
    fn percent_g_matches_c() {
        assert_eq!(format_g(0.9), "0.9");
        assert_eq!(format_g(2.0), "2");
        assert_eq!(format_g(1e-5), "1e-05");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
        assert_eq!(format_g(0.00001234), "1.234e-05");
        assert_eq!(format_g(100000.0), "100000");
        assert_eq!(format_g(f64::MAX), "1.79769e+308");
        assert_eq!(format_g(0.0025), "0.0025");
        assert_eq!(format_g(-1.0), "-1");
        assert_eq!(format_g(0.0001), "0.0001");
    }

    #[test]
    fn show_picks_the_largest_exact_unit() {
        // Expected strings checked against PostgreSQL 15's SHOW.
        assert_eq!(format_int_with_unit(16384, Unit::Blocks), "128MB");
        assert_eq!(format_int_with_unit(512, Unit::Blocks), "4MB");
        assert_eq!(format_int_with_unit(524288, Unit::Blocks), "4GB");
        assert_eq!(format_int_with_unit(1, Unit::Blocks), "8kB");
        assert_eq!(format_int_with_unit(1000, Unit::Kb), "1000kB");
        assert_eq!(format_int_with_unit(1024, Unit::Kb), "1MB");
        assert_eq!(format_int_with_unit(1536, Unit::Kb), "1536kB");
        assert_eq!(format_int_with_unit(1024, Unit::Mb), "1GB");
        assert_eq!(format_int_with_unit(16777216, Unit::Byte), "16MB");
        assert_eq!(format_int_with_unit(300, Unit::S), "5min");
        assert_eq!(format_int_with_unit(90, Unit::S), "90s");
        assert_eq!(format_int_with_unit(1500, Unit::Ms), "1500ms");
        assert_eq!(format_int_with_unit(86400000, Unit::Ms), "1d");
        assert_eq!(format_int_with_unit(1440, Unit::Min), "1d");
        assert_eq!(format_int_with_unit(0, Unit::Ms), "0");
        assert_eq!(format_int_with_unit(-1, Unit::Kb), "-1");
        assert_eq!(format_real_with_unit(2.0, Unit::Ms), "2ms");
        assert_eq!(format_real_with_unit(0.0, Unit::Ms), "0");
        assert_eq!(format_real_with_unit(0.5, Unit::Ms), "500us");
        assert_eq!(format_real_with_unit(1.5, Unit::Ms), "1500us");
        assert_eq!(format_real_with_unit(1.0, Unit::Ms), "1ms");
        assert_eq!(format_real_with_unit(1e-7, Unit::Ms), "0.0001us");
    }
}
