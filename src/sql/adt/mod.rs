//! Abstract data types: each type's input and output functions, the casts
//! between types (`pg_cast`), comparison (btree order) and hashing, as in
//! PostgreSQL's `utils/adt/`.
//!
//! Conventions:
//! - Input functions return PostgreSQL's exact errors (`22P02 invalid input
//!   syntax for type integer: "abc"`, `22003 value "..." is out of range for
//!   type integer`). The analyser attaches the literal's position.
//! - Output depends on session settings only through [`SessionFormat`]
//!   (time zone, `extra_float_digits`); DateStyle is always ISO and
//!   IntervalStyle always `postgres`.
//! - Text comparison is bytewise, which is what the `C` and `C.UTF-8`
//!   collations do; other collations are not supported.

pub mod array;
pub mod binary;
pub mod bytea;
pub mod date;
pub mod datestyle;
pub mod datetime;
pub mod enums;
pub mod float;
pub mod formatting;
pub mod json;
pub mod jsonb;
pub mod like;
pub mod network;
pub mod numeric;
mod numeric_math;
pub mod regtypes;
pub mod rowtypes;
pub mod stringinfo;
pub mod systypes;
pub mod time;
pub mod uuid;

use std::cmp::Ordering;

use self::datetime::{Interval, TimeZone};
use self::numeric::Numeric;
use super::types::{Datum, Type, TypeCategory};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::time::TimestampTz;

/// Session settings that change how values are read and printed.
#[derive(Clone, Debug, Default)]
pub struct SessionFormat {
    pub tz: TimeZone,
    pub extra_float_digits: i32,
    /// What `now` means in input (`'now'::timestamptz`).
    pub now: TimestampTz,
    pub bytea_output: bytea::ByteaOutput,
    /// `DateStyle`: output style and the field order of ambiguous input.
    pub date_style: datestyle::DateStyle,
    pub interval_style: datestyle::IntervalStyle,
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// The type's output function. NULL has no text form (`None`).
pub fn output(d: &Datum, ty: Type, fmt: &SessionFormat) -> Option<String> {
    Some(match d {
        Datum::Null => return None,
        Datum::Bool(b) => (if *b { "t" } else { "f" }).to_string(),
        Datum::Int2(v) => v.to_string(),
        Datum::Int4(v) => v.to_string(),
        Datum::Int8(v) => v.to_string(),
        Datum::Float8(v) => float::float8_out(*v, fmt.extra_float_digits),
        Datum::Float4(v) => float::float4_out(*v, fmt.extra_float_digits),
        Datum::Numeric(n) => n.to_string_pg(),
        Datum::Text(s) => s.clone(),
        Datum::Oid(o) if ty.is_reg() => regtypes::reg_out(*o, ty),
        Datum::Oid(o) => o.to_string(),
        Datum::Xid(x) => x.to_string(),
        Datum::Timestamptz(ts)
            if fmt.date_style.style == datestyle::Style::Iso || is_infinite(*ts) =>
        {
            datetime::timestamptz_out(*ts, &fmt.tz)
        }
        Datum::Timestamptz(ts) => datestyle::timestamptz_out(*ts, &fmt.tz, fmt.date_style),
        Datum::Interval {
            months,
            days,
            micros,
        } => datestyle::interval_out(
            &Interval {
                months: *months,
                days: *days,
                micros: *micros,
            },
            fmt.interval_style,
        ),
        Datum::Void => String::new(),
        Datum::Array(a) => array::array_out(a, fmt),
        Datum::Date(d)
            if fmt.date_style.style == datestyle::Style::Iso
                || *d == i32::MIN
                || *d == i32::MAX =>
        {
            date::date_out(*d)
        }
        Datum::Date(d) => datestyle::date_out(*d, fmt.date_style),
        Datum::Timestamp(t) if fmt.date_style.style == datestyle::Style::Iso || is_infinite(*t) => {
            date::timestamp_out(*t)
        }
        Datum::Timestamp(t) => datestyle::timestamp_out(*t, None, fmt.date_style),
        Datum::Lsn(l) => date::lsn_out(*l),
        Datum::Uuid(u) => uuid::uuid_out(u),
        Datum::Bytea(b) => bytea::bytea_out(b, fmt.bytea_output),
        Datum::Time(t) => time::time_out(*t),
        Datum::Json(s) => s.clone(),
        Datum::Jsonb(j) => j.to_text(),
        Datum::Record(r) => rowtypes::record_out(r, fmt),
        Datum::Enum(e) => e.label.to_string(),
    })
}

fn is_infinite(ts: i64) -> bool {
    ts == datetime::TIMESTAMP_INFINITY || ts == datetime::TIMESTAMP_NEG_INFINITY
}

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

fn invalid(type_name: &str, input: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {type_name}: \"{input}\""),
    )
}

fn out_of_range_for(type_name: &str, input: &str) -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("value \"{input}\" is out of range for type {type_name}"),
    )
}

/// `pg_strtoint16/32/64` (PostgreSQL 15: decimal digits only, surrounding
/// whitespace allowed).
fn parse_int(input: &str, type_name: &str, min: i128, max: i128) -> PgResult<i128> {
    let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid(type_name, input));
    }
    let mut v: i128 = 0;
    for c in digits.bytes() {
        v = v * 10 + (c - b'0') as i128;
        if v > max + 1 {
            return Err(out_of_range_for(type_name, input));
        }
    }
    let v = if neg { -v } else { v };
    if v < min || v > max {
        return Err(out_of_range_for(type_name, input));
    }
    Ok(v)
}

pub fn int4_in(input: &str) -> PgResult<i32> {
    parse_int(input, "integer", i32::MIN as i128, i32::MAX as i128).map(|v| v as i32)
}

pub fn int8_in(input: &str) -> PgResult<i64> {
    parse_int(input, "bigint", i64::MIN as i128, i64::MAX as i128).map(|v| v as i64)
}

pub fn int2_in(input: &str) -> PgResult<i16> {
    parse_int(input, "smallint", i16::MIN as i128, i16::MAX as i128).map(|v| v as i16)
}

/// `boolin`: unique prefixes of true/false/yes/no, on/off, 1/0.
pub fn bool_in(input: &str) -> PgResult<bool> {
    let s = input
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase();
    let is_prefix = |word: &str, min: usize| s.len() >= min && word.starts_with(s.as_str());
    if is_prefix("true", 1) || is_prefix("yes", 1) || s == "on" || s == "1" {
        return Ok(true);
    }
    if is_prefix("false", 1) || is_prefix("no", 1) || is_prefix("off", 2) || s == "0" {
        return Ok(false);
    }
    Err(invalid("boolean", input))
}

/// `name` values are truncated to NAMEDATALEN - 1 = 63 bytes.
pub fn truncate_name(s: &str) -> String {
    if s.len() <= 63 {
        return s.to_string();
    }
    let mut end = 63;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn inet_in(input: &str) -> PgResult<String> {
    let s = input.trim();
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| invalid("inet", input))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match mask {
        Some(m) => m
            .parse::<u32>()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| invalid("inet", input))?,
        None => max,
    };
    Ok(if bits == max {
        ip.to_string()
    } else {
        format!("{ip}/{bits}")
    })
}

/// `xidin`: C's `strtoul(s, NULL, 0)` truncated to 32 bits, so garbage reads
/// as 0, `0x1f` as hex and `010` as octal, as in PostgreSQL 15.
fn xid_in(input: &str) -> u32 {
    let s = input.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if s.len() > 2
        && (s.starts_with("0x") || s.starts_with("0X"))
        && s.as_bytes()[2].is_ascii_hexdigit()
    {
        (16, &s[2..])
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    let mut v: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { break };
        v = v.saturating_mul(radix as u64).saturating_add(d as u64);
    }
    let v = if neg { v.wrapping_neg() } else { v };
    v as u32
}

pub(crate) fn oid_in(input: &str) -> PgResult<u32> {
    let v = parse_int(input, "oid", i32::MIN as i128, u32::MAX as i128).map_err(|e| {
        if e.sqlstate == sqlstate::INVALID_TEXT_REPRESENTATION {
            invalid("oid", input)
        } else {
            e
        }
    })?;
    Ok(v as i64 as u32)
}

/// A built-in type by name, else a user-defined one (qualified or along
/// the search path).
fn named_type(name: &str) -> Option<Type> {
    if let Some(t) = Type::from_name(name) {
        return Some(t);
    }
    let (schema, bare) = match name.split_once('.') {
        Some((s, n)) => (Some(s), n),
        None => (None, name),
    };
    crate::catalog::syscache::user_type_oid(schema, bare)
        .ok()
        .flatten()
        .and_then(Type::from_oid)
}

fn regtype_in(input: &str) -> PgResult<u32> {
    let s = input.trim();
    if let Ok(oid) = s.parse::<u32>() {
        return Ok(oid);
    }
    let lower = s.to_ascii_lowercase();
    let name = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
    let t = match name {
        "timestamp with time zone" => Some(Type::Timestamptz),
        "character varying" => Some(Type::Varchar),
        other => match other.strip_suffix("[]") {
            Some(e) => named_type(e).and_then(|t| t.array()),
            None => named_type(other),
        },
    };
    t.map(|t| t.oid()).ok_or_else(|| {
        PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("type \"{s}\" does not exist"),
        )
    })
}

/// Reads a date/time in a non-ISO form through `parse` after rewriting it
/// to ISO in the session's DateStyle field order; errors name the input as
/// the user wrote it.
fn with_datestyle<T>(
    s: &str,
    fmt: &SessionFormat,
    parse: impl Fn(&str) -> PgResult<T>,
) -> PgResult<T> {
    match datestyle::normalize(s, fmt.date_style.order) {
        None => parse(s),
        Some(iso) => parse(&iso).map_err(|mut e| {
            e.message = e.message.replace(&iso, s);
            e
        }),
    }
}

/// The type's input function, applying `typmod` (`numeric(p,s)`, `varchar(n)`).
pub fn input(s: &str, ty: Type, typmod: i32, fmt: &SessionFormat) -> PgResult<Datum> {
    let d = match ty {
        Type::Bool => Datum::Bool(bool_in(s)?),
        Type::Int2 => Datum::Int2(int2_in(s)?),
        Type::Int4 => Datum::Int4(int4_in(s)?),
        Type::Int8 => Datum::Int8(int8_in(s)?),
        Type::Float8 => Datum::Float8(float::float8_in(s)?),
        Type::Float4 => Datum::Float4(float::float4_in(s)?),
        Type::Numeric => Datum::Numeric(Numeric::parse(s)?),
        Type::Text | Type::Unknown | Type::Varchar | Type::Bpchar => Datum::Text(s.to_string()),
        Type::Date => Datum::Date(with_datestyle(s, fmt, |s| {
            date::date_in(s, &fmt.tz, fmt.now)
        })?),
        Type::Timestamp => Datum::Timestamp(with_datestyle(s, fmt, |s| {
            date::timestamp_in(s, &fmt.tz, fmt.now)
        })?),
        Type::PgLsn => Datum::Lsn(date::lsn_in(s)?),
        Type::Uuid => Datum::Uuid(uuid::uuid_in(s)?),
        Type::Name => Datum::Text(truncate_name(s)),
        Type::Oid => Datum::Oid(oid_in(s)?),
        t if t.is_reg() => Datum::Oid(regtypes::reg_in(s, t)?),
        Type::Char => Datum::Text(systypes::char_in(s)),
        Type::Oidvector => Datum::Text(systypes::oidvector_out(&systypes::oidvector_in(s)?)),
        Type::Xid => Datum::Xid(xid_in(s)),
        Type::Inet => Datum::Text(inet_in(s)?),
        Type::Timestamptz => Datum::Timestamptz(with_datestyle(s, fmt, |s| {
            datetime::timestamptz_in(s, &fmt.tz, fmt.now)
        })?),
        Type::Interval => {
            let iv = datetime::interval_in(s)?;
            Datum::Interval {
                months: iv.months,
                days: iv.days,
                micros: iv.micros,
            }
        }
        Type::Void => Datum::Void,
        Type::Bytea => Datum::Bytea(bytea::bytea_in(s)?),
        Type::Time => {
            let off = fmt.tz.offset_at(fmt.now);
            let local =
                (fmt.now + off * crate::utils::time::USECS_PER_SEC).rem_euclid(time::USECS_PER_DAY);
            Datum::Time(time::time_in(s, local)?)
        }
        _ if ty.elem().is_some() => {
            let elem = ty.elem().expect("array type");
            return Ok(Datum::Array(Box::new(array::array_in(
                s, elem, typmod, fmt,
            )?)));
        }
        Type::Json => Datum::Json(json::json_in(s)?),
        Type::Jsonb => Datum::Jsonb(Box::new(jsonb::Jsonb::parse(s)?)),
        t if t.is_enum() => enums::enum_in(s, t)?,
        // Pseudo-types (PostgreSQL's `anyarray_in` & co.).
        _ => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("cannot accept a value of type {}", ty.name()),
            ));
        }
    };
    apply_typmod(d, ty, typmod, true)
}

/// Length coercion (`numeric(p,s)`, `varchar(n)`); explicit casts truncate varchar.
pub fn apply_typmod(d: Datum, ty: Type, typmod: i32, explicit: bool) -> PgResult<Datum> {
    if typmod < 0 || d.is_null() {
        return Ok(d);
    }
    match (ty, d) {
        (Type::Numeric, Datum::Numeric(n)) => Ok(Datum::Numeric(n.apply_typmod(typmod)?)),
        (Type::Varchar | Type::Bpchar, Datum::Text(s)) => {
            let max = (typmod - 4).max(0) as usize;
            let len = s.chars().count();
            if len <= max {
                if ty == Type::Bpchar && len < max {
                    let mut padded = s;
                    padded.extend(std::iter::repeat_n(' ', max - len));
                    return Ok(Datum::Text(padded));
                }
                return Ok(Datum::Text(s));
            }
            let head: String = s.chars().take(max).collect();
            if explicit || s.chars().skip(max).all(|c| c == ' ') {
                Ok(Datum::Text(head))
            } else {
                let name = if ty == Type::Bpchar {
                    "character"
                } else {
                    "character varying"
                };
                Err(PgError::error(
                    sqlstate::STRING_DATA_RIGHT_TRUNCATION,
                    format!("value too long for type {name}({max})"),
                ))
            }
        }
        (_, Datum::Array(mut a)) if ty.elem().is_some() => {
            let elem = a.elem;
            for item in &mut a.items {
                let v = std::mem::replace(item, Datum::Null);
                *item = apply_typmod(v, elem, typmod, explicit)?;
            }
            Ok(Datum::Array(a))
        }
        (Type::Timestamp, Datum::Timestamp(t)) => Ok(Datum::Timestamp(round_timestamp(t, typmod))),
        (Type::Time, Datum::Time(t)) => Ok(Datum::Time(time::round_time(t, typmod))),
        (Type::Timestamptz, Datum::Timestamptz(t)) => {
            Ok(Datum::Timestamptz(round_timestamp(t, typmod)))
        }
        (_, d) => Ok(d),
    }
}

/// `AdjustTimestampForTypmod`: rounds to `typmod` fractional digits (0..=6).
fn round_timestamp(t: i64, typmod: i32) -> i64 {
    if !(0..6).contains(&typmod)
        || t == datetime::TIMESTAMP_INFINITY
        || t == datetime::TIMESTAMP_NEG_INFINITY
    {
        return t;
    }
    let scale = 10i64.pow(6 - typmod as u32);
    let offset = scale / 2;
    if t >= 0 {
        (t + offset) / scale * scale
    } else {
        -((-t + offset) / scale * scale)
    }
}

// ---------------------------------------------------------------------------
// Casts (pg_cast)
// ---------------------------------------------------------------------------

/// `pg_cast.castcontext`, ordered from most to least permissive use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CoercionContext {
    Implicit,
    Assignment,
    Explicit,
}

/// In which contexts a cast from `from` to `to` may be applied (None: no cast).
pub fn cast_context(from: Type, to: Type) -> Option<CoercionContext> {
    use crate::sql::types::consts::*;
    use CoercionContext::*;
    if from == to {
        return Some(Implicit);
    }
    // Array coercion (`array_coerce`): as the element types cast.
    if let (Some(fe), Some(te)) = (from.elem(), to.elem()) {
        return cast_context(fe, te);
    }
    let ctx = match (from, to) {
        (Int2, Int4 | Int8 | Float4 | Float8 | Numeric) => Implicit,
        (Int4, Int8 | Float4 | Float8 | Numeric | Oid) => Implicit,
        (Int8, Float4 | Float8 | Numeric | Oid) => Implicit,
        (Int2 | Int4 | Int8, t) if t.is_reg() => Implicit,
        (Oid, t) | (t, Oid) if t.is_reg() => Implicit,
        (f, Int4 | Int8) if f.is_reg() => Assignment,
        (Regproc, Regprocedure)
        | (Regprocedure, Regproc)
        | (Regoper, Regoperator)
        | (Regoperator, Regoper) => Implicit,
        (Text | Varchar, Regclass) => Implicit,
        (Char, Text) => Implicit,
        (Char, Bpchar | Varchar) | (Text | Bpchar | Varchar, Char) => Assignment,
        (Char, Int4) | (Int4, Char) => Explicit,
        (Float4, Float8) => Implicit,
        (Numeric, Float4 | Float8) => Implicit,
        (Text, Name | Varchar | Bpchar) => Implicit,
        (Varchar, Text | Name | Bpchar) => Implicit,
        (Bpchar, Text | Varchar | Name) => Implicit,
        (Name, Text) => Implicit,
        (Date, Timestamp | Timestamptz) | (Timestamp, Timestamptz) => Implicit,
        (Timestamptz, Timestamp | Date) | (Timestamp, Date) => Assignment,
        (Time, Interval) => Implicit,
        (Interval, Time) | (Timestamp | Timestamptz, Time) => Assignment,
        (Int4, Int2) | (Int8, Int2 | Int4) => Assignment,
        (Float4, Int2 | Int4 | Int8 | Numeric)
        | (Float8, Int2 | Int4 | Int8 | Float4 | Numeric) => Assignment,
        (Numeric, Int2 | Int4 | Int8) => Assignment,
        (Oid, Int4 | Int8) => Assignment,
        (Name, Varchar | Bpchar) => Assignment,
        (Int4, Bool) | (Bool, Int4) => Explicit,
        (Json, Jsonb) | (Jsonb, Json) => Assignment,
        (Jsonb, Bool | Numeric | Int2 | Int4 | Int8 | Float4 | Float8) => Explicit,
        (Int2, Oid) => Explicit,
        (Unknown, _) => Implicit,
        // Automatic I/O conversion: to string types on assignment, from them explicitly.
        (_, Text | Varchar | Name | Bpchar) => Assignment,
        (Text | Varchar | Name | Bpchar, _) if to != Void && to != Unknown => Explicit,
        _ => return None,
    };
    Some(ctx)
}

pub fn can_coerce(from: Type, to: Type, ctx: CoercionContext) -> bool {
    cast_context(from, to).is_some_and(|c| c <= ctx)
}

fn int_out_of_range(ty: Type) -> PgError {
    let msg = match ty {
        Type::Int2 => "smallint out of range",
        Type::Int8 => "bigint out of range",
        Type::Oid => "OID out of range",
        _ => "integer out of range",
    };
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, msg)
}

/// Makes an integer datum of type `ty`, checking its range.
pub fn make_int(v: i128, ty: Type) -> PgResult<Datum> {
    match ty {
        Type::Int2 => i16::try_from(v)
            .map(Datum::Int2)
            .map_err(|_| int_out_of_range(ty)),
        Type::Int4 => i32::try_from(v)
            .map(Datum::Int4)
            .map_err(|_| int_out_of_range(ty)),
        Type::Int8 => i64::try_from(v)
            .map(Datum::Int8)
            .map_err(|_| int_out_of_range(ty)),
        t if t.is_oid_like() => {
            if (i32::MIN as i128..=u32::MAX as i128).contains(&v) {
                Ok(Datum::Oid(v as i64 as u32))
            } else {
                Err(int_out_of_range(Type::Oid))
            }
        }
        _ => unreachable!("make_int for non-integer type {ty:?}"),
    }
}

/// Integer value of an integer-family datum.
pub fn as_i128(d: &Datum) -> Option<i128> {
    Some(match d {
        Datum::Int2(v) => *v as i128,
        Datum::Int4(v) => *v as i128,
        Datum::Int8(v) => *v as i128,
        Datum::Oid(v) => *v as i128,
        _ => return None,
    })
}

/// Floating value of a float or integer datum.
pub fn as_f64(d: &Datum) -> Option<f64> {
    Some(match d {
        Datum::Float8(v) => *v,
        Datum::Float4(v) => *v as f64,
        Datum::Int2(v) => *v as f64,
        Datum::Int4(v) => *v as f64,
        Datum::Int8(v) => *v as f64,
        Datum::Numeric(n) => n.to_f64(),
        _ => return None,
    })
}

pub fn as_numeric(d: &Datum) -> Option<Numeric> {
    Some(match d {
        Datum::Numeric(n) => n.clone(),
        other => Numeric::from_i128(as_i128(other)?),
    })
}

pub fn as_interval(d: &Datum) -> Option<Interval> {
    match d {
        Datum::Interval {
            months,
            days,
            micros,
        } => Some(Interval {
            months: *months,
            days: *days,
            micros: *micros,
        }),
        _ => None,
    }
}

pub fn interval_datum(iv: Interval) -> Datum {
    Datum::Interval {
        months: iv.months,
        days: iv.days,
        micros: iv.micros,
    }
}

/// Performs the cast `from` → `to` (the analyser has checked it exists) and
/// then applies `typmod`.
pub fn cast(d: Datum, from: Type, to: Type, typmod: i32, fmt: &SessionFormat) -> PgResult<Datum> {
    if d.is_null() {
        return Ok(Datum::Null);
    }
    let v = cast_value(d, from, to, fmt)?;
    apply_typmod(v, to, typmod, true)
}

fn cast_value(d: Datum, from: Type, to: Type, fmt: &SessionFormat) -> PgResult<Datum> {
    use crate::sql::types::consts::*;
    if from == to {
        return Ok(d);
    }
    if let (Datum::Array(a), Some(te)) = (&d, to.elem()) {
        if from.elem().is_some() {
            let mut a = (**a).clone();
            for item in &mut a.items {
                if !item.is_null() {
                    *item = cast_value(std::mem::replace(item, Datum::Null), a.elem, te, fmt)?;
                }
            }
            a.elem = te;
            return Ok(Datum::Array(Box::new(a)));
        }
    }
    match (from, to) {
        (f, t)
            if (matches!(f, Int2 | Int4 | Int8) || f.is_oid_like())
                && (matches!(t, Int2 | Int4 | Int8) || t.is_oid_like()) =>
        {
            make_int(as_i128(&d).expect("integer datum"), to)
        }
        (Char, Text | Varchar | Bpchar) => Ok(d),
        (Text | Varchar | Bpchar, Char) => {
            let Datum::Text(s) = d else {
                unreachable!("string datum")
            };
            Ok(Datum::Text(systypes::text_to_char(&s)))
        }
        (Char, Int4) => {
            let Datum::Text(s) = d else {
                unreachable!("\"char\" datum")
            };
            Ok(Datum::Int4(systypes::char_to_int4(&s)))
        }
        (Int4, Char) => Ok(Datum::Text(systypes::int4_to_char(
            as_i128(&d).expect("integer datum") as i32,
        )?)),
        (Int2 | Int4 | Int8, Float8) => {
            Ok(Datum::Float8(as_i128(&d).expect("integer datum") as f64))
        }
        (Int2 | Int4 | Int8, Float4) => {
            Ok(Datum::Float4(as_i128(&d).expect("integer datum") as f32))
        }
        (Int2 | Int4 | Int8, Numeric) => Ok(Datum::Numeric(as_numeric(&d).expect("integer datum"))),
        (Float4 | Float8, Int2 | Int4 | Int8) => {
            let f = as_f64(&d).expect("float datum").round_ties_even();
            if f.is_nan() || !(-1.8e19..=1.8e19).contains(&f) {
                return Err(int_out_of_range(to));
            }
            make_int(f as i128, to)
        }
        (Float8, Float4) => {
            let v = as_f64(&d).expect("float datum");
            let f = v as f32;
            if f.is_infinite() && !v.is_infinite() {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "value out of range: overflow",
                ));
            }
            if f == 0.0 && v != 0.0 {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "value out of range: underflow",
                ));
            }
            Ok(Datum::Float4(f))
        }
        (Float4, Float8) => Ok(Datum::Float8(as_f64(&d).expect("float datum"))),
        (Float8, Numeric) => Ok(Datum::Numeric(self::numeric::Numeric::from_f64(
            as_f64(&d).expect("float datum"),
        )?)),
        (Float4, Numeric) => {
            let v = as_f64(&d).expect("float datum");
            if !v.is_finite() {
                return Ok(Datum::Numeric(self::numeric::Numeric::from_f64(v)?));
            }
            Ok(Datum::Numeric(self::numeric::Numeric::parse(
                &float::format_g(v, 6),
            )?))
        }
        (Numeric, Float8) => match &d {
            Datum::Numeric(n @ self::numeric::Numeric::Finite { .. }) => {
                Ok(Datum::Float8(float::float8_in(&n.to_string_pg())?))
            }
            _ => Ok(Datum::Float8(as_f64(&d).expect("numeric datum"))),
        },
        (Numeric, Float4) => Ok(Datum::Float4(as_f64(&d).expect("numeric datum") as f32)),
        (Numeric, Int2 | Int4 | Int8) => {
            let Datum::Numeric(n) = &d else {
                unreachable!("numeric datum")
            };
            match n {
                self::numeric::Numeric::NaN => Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("cannot convert NaN to {}", to.name()),
                )),
                self::numeric::Numeric::PosInf | self::numeric::Numeric::NegInf => {
                    Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("cannot convert infinity to {}", to.name()),
                    ))
                }
                _ => make_int(n.to_i64().ok_or_else(|| int_out_of_range(to))? as i128, to),
            }
        }
        (Jsonb, Bool | Numeric | Int2 | Int4 | Int8 | Float4 | Float8) => {
            let Datum::Jsonb(j) = &d else {
                unreachable!("jsonb datum")
            };
            jsonb_to_scalar(j, to, fmt)
        }
        (Json, Jsonb) => match d {
            Datum::Json(s) => Ok(Datum::Jsonb(Box::new(jsonb::Jsonb::parse(&s)?))),
            _ => unreachable!("json datum"),
        },
        (Jsonb, Json) => match d {
            Datum::Jsonb(j) => Ok(Datum::Json(j.to_text())),
            _ => unreachable!("jsonb datum"),
        },
        (Int4, Bool) => Ok(Datum::Bool(as_i128(&d) != Some(0))),
        (Bool, Int4) => Ok(Datum::Int4(matches!(d, Datum::Bool(true)) as i32)),
        (Bool, Text | Varchar) => Ok(Datum::Text(
            (if matches!(d, Datum::Bool(true)) {
                "true"
            } else {
                "false"
            })
            .into(),
        )),
        (Inet, Text | Varchar) => {
            let Datum::Text(s) = d else {
                unreachable!("inet datum")
            };
            Ok(Datum::Text(if s.contains('/') {
                s
            } else if s.contains(':') {
                format!("{s}/128")
            } else {
                format!("{s}/32")
            }))
        }
        (Text | Varchar | Unknown, Name) => {
            let Datum::Text(s) = d else {
                unreachable!("text datum")
            };
            Ok(Datum::Text(truncate_name(&s)))
        }
        // rtrim1: char(n) loses its padding when it becomes another string type.
        (Bpchar, Text | Varchar | Name) => {
            let Datum::Text(s) = d else {
                unreachable!("bpchar datum")
            };
            let trimmed = s.trim_end_matches(' ');
            Ok(Datum::Text(if to == Name {
                truncate_name(trimmed)
            } else {
                trimmed.to_string()
            }))
        }
        (Text | Varchar | Name | Unknown, Text | Varchar | Bpchar) => Ok(d),
        (Date, Timestamp) => match d {
            Datum::Date(v) => Ok(Datum::Timestamp(date::date_to_timestamp(v)?)),
            _ => unreachable!("date datum"),
        },
        (Date, Timestamptz) => match d {
            Datum::Date(v) => Ok(Datum::Timestamptz(date::timestamp_to_timestamptz(
                date::date_to_timestamp(v)?,
                &fmt.tz,
            ))),
            _ => unreachable!("date datum"),
        },
        (Timestamp, Timestamptz) => match d {
            Datum::Timestamp(v) => Ok(Datum::Timestamptz(date::timestamp_to_timestamptz(
                v, &fmt.tz,
            ))),
            _ => unreachable!("timestamp datum"),
        },
        (Timestamptz, Timestamp) => match d {
            Datum::Timestamptz(v) => {
                Ok(Datum::Timestamp(date::timestamptz_to_timestamp(v, &fmt.tz)))
            }
            _ => unreachable!("timestamptz datum"),
        },
        (Timestamp, Date) => match d {
            Datum::Timestamp(v) => Ok(Datum::Date(date::timestamp_to_date(v)?)),
            _ => unreachable!("timestamp datum"),
        },
        (Timestamptz, Date) => match d {
            Datum::Timestamptz(v) => Ok(Datum::Date(date::timestamp_to_date(
                date::timestamptz_to_timestamp(v, &fmt.tz),
            )?)),
            _ => unreachable!("timestamptz datum"),
        },
        (Time, Interval) => match d {
            Datum::Time(t) => Ok(interval_datum(Interval {
                months: 0,
                days: 0,
                micros: t,
            })),
            _ => unreachable!("time datum"),
        },
        // interval_time: the time part, modulo a day.
        (Interval, Time) => {
            let iv = as_interval(&d).expect("interval datum");
            Ok(Datum::Time(iv.micros.rem_euclid(time::USECS_PER_DAY)))
        }
        (Timestamp, Time) => match d {
            Datum::Timestamp(v) => Ok(
                if v == datetime::TIMESTAMP_INFINITY || v == datetime::TIMESTAMP_NEG_INFINITY {
                    Datum::Null
                } else {
                    Datum::Time(v.rem_euclid(time::USECS_PER_DAY))
                },
            ),
            _ => unreachable!("timestamp datum"),
        },
        (Timestamptz, Time) => match d {
            Datum::Timestamptz(v) => Ok(
                if v == datetime::TIMESTAMP_INFINITY || v == datetime::TIMESTAMP_NEG_INFINITY {
                    Datum::Null
                } else {
                    Datum::Time(
                        date::timestamptz_to_timestamp(v, &fmt.tz).rem_euclid(time::USECS_PER_DAY),
                    )
                },
            ),
            _ => unreachable!("timestamptz datum"),
        },
        // I/O conversion.
        (_, Text | Varchar | Name | Bpchar) => {
            let s = output(&d, from, fmt).unwrap_or_default();
            input(&s, to, -1, fmt)
        }
        (Text | Varchar | Name | Bpchar | Unknown, _) => {
            let Datum::Text(s) = d else {
                unreachable!("string datum")
            };
            input(&s, to, -1, fmt)
        }
        _ => Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("cannot cast type {} to {}", from.name(), to.name()),
        )),
    }
}

/// The casts `jsonb::bool`, `jsonb::numeric`, `jsonb::int4`, ...
/// (`jsonb_bool`, `jsonb_numeric`, ...): of a scalar of the matching kind.
fn jsonb_to_scalar(j: &jsonb::Jsonb, to: Type, fmt: &SessionFormat) -> PgResult<Datum> {
    match (j, to) {
        (jsonb::Jsonb::Bool(b), Type::Bool) => Ok(Datum::Bool(*b)),
        (jsonb::Jsonb::Number(n), t) if t != Type::Bool => {
            cast_value(Datum::Numeric(n.clone()), Type::Numeric, t, fmt)
        }
        _ => Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "cannot cast jsonb {} to type {}",
                match j {
                    jsonb::Jsonb::Number(_) => "numeric",
                    other => other.type_name(),
                },
                to.name()
            ),
        )),
    }
}

// ---------------------------------------------------------------------------
// Comparison and hashing
// ---------------------------------------------------------------------------

fn float_cmp(a: f64, b: f64) -> Ordering {
    // float8_cmp_internal: NaN sorts after everything and equals itself.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).expect("non-NaN floats compare"),
    }
}

/// btree comparison of two non-NULL values of the same type family.
pub fn datum_cmp(a: &Datum, b: &Datum) -> Ordering {
    use Datum::*;
    match (a, b) {
        // The common cases first: same-type integers and text.
        (Int4(x), Int4(y)) => x.cmp(y),
        (Int8(x), Int8(y)) => x.cmp(y),
        (Text(x), Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Bool(x), Bool(y)) => x.cmp(y),
        (Float8(_) | Float4(_), _) | (_, Float8(_) | Float4(_)) => {
            float_cmp(as_f64(a).unwrap_or(f64::NAN), as_f64(b).unwrap_or(f64::NAN))
        }
        (Numeric(_), _) | (_, Numeric(_)) => match (as_numeric(a), as_numeric(b)) {
            (Some(x), Some(y)) => x.cmp_pg(&y),
            _ => Ordering::Equal,
        },
        (Int2(_) | Int4(_) | Int8(_) | Oid(_), Int2(_) | Int4(_) | Int8(_) | Oid(_)) => {
            as_i128(a).cmp(&as_i128(b))
        }
        (Xid(x), Xid(y)) => x.cmp(y),
        (Timestamptz(x), Timestamptz(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (Timestamp(x), Timestamp(y)) => x.cmp(y),
        (Time(x), Time(y)) => x.cmp(y),
        (Lsn(x), Lsn(y)) => x.cmp(y),
        (Uuid(x), Uuid(y)) => x.cmp(y),
        // byteacmp: memcmp, then the shorter first.
        (Bytea(x), Bytea(y)) => x.cmp(y),
        (Interval { .. }, Interval { .. }) => as_interval(a)
            .expect("interval")
            .span()
            .cmp(&as_interval(b).expect("interval").span()),
        (Array(x), Array(y)) => array::array_cmp(x, y),
        (Void, Void) => Ordering::Equal,
        (Jsonb(x), Jsonb(y)) => jsonb::cmp(x, y),
        (Record(x), Record(y)) => rowtypes::record_cmp(x, y),
        (Enum(x), Enum(y)) => x.cmp(y),
        _ => panic!("datum_cmp on incomparable values {a:?} and {b:?}"),
    }
}

/// A hashable form in which values that compare equal are equal
/// (GROUP BY, DISTINCT, `count(DISTINCT ...)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HashKey {
    Null,
    Bool(bool),
    Int(i128),
    Float(u64),
    Numeric(String),
    Text(String),
    Xid(u32),
    Interval(i128),
    /// dims, lower bounds, elements.
    Array(Vec<i32>, Vec<i32>, Vec<HashKey>),
    Void,
    Uuid([u8; 16]),
    Bytes(Vec<u8>),
    Record(Vec<HashKey>),
}

/// Hash tables keyed by rows of [`HashKey`]s, with the executor's fast hasher.
pub type KeyMap<V> = std::collections::HashMap<Vec<HashKey>, V, crate::utils::hash::FxBuildHasher>;
pub type KeySet = std::collections::HashSet<Vec<HashKey>, crate::utils::hash::FxBuildHasher>;

pub fn hash_key(d: &Datum) -> HashKey {
    match d {
        Datum::Null => HashKey::Null,
        Datum::Bool(b) => HashKey::Bool(*b),
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) | Datum::Oid(_) => {
            HashKey::Int(as_i128(d).expect("integer"))
        }
        Datum::Timestamptz(t) | Datum::Timestamp(t) | Datum::Time(t) => HashKey::Int(*t as i128),
        Datum::Date(d) => HashKey::Int(*d as i128),
        Datum::Lsn(l) => HashKey::Int(*l as i128),
        Datum::Float8(_) | Datum::Float4(_) => {
            let f = as_f64(d).expect("float");
            let f = if f == 0.0 { 0.0 } else { f };
            HashKey::Float(if f.is_nan() { u64::MAX } else { f.to_bits() })
        }
        Datum::Numeric(n) => HashKey::Numeric(n.canonical()),
        Datum::Text(s) => HashKey::Text(s.clone()),
        Datum::Xid(x) => HashKey::Xid(*x),
        Datum::Interval { .. } => HashKey::Interval(as_interval(d).expect("interval").span()),
        Datum::Array(a) => HashKey::Array(
            a.dims.clone(),
            a.lbounds.clone(),
            a.items.iter().map(hash_key).collect(),
        ),
        Datum::Void => HashKey::Void,
        Datum::Uuid(u) => HashKey::Uuid(*u),
        Datum::Bytea(b) => HashKey::Bytes(b.clone()),
        Datum::Json(s) => HashKey::Text(s.clone()),
        Datum::Jsonb(j) => HashKey::Text(j.hash_text()),
        Datum::Record(r) => HashKey::Record(r.fields.iter().map(hash_key).collect()),
        Datum::Enum(e) => HashKey::Int(e.oid as i128),
    }
}

/// Whether `t` is one of the string types that hold `Datum::Text`.
pub fn is_string_type(t: Type) -> bool {
    t.category() == TypeCategory::String || t == Type::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_input_follows_pg15() {
        assert_eq!(int4_in(" 42 ").unwrap(), 42);
        assert_eq!(int4_in("-2147483648").unwrap(), i32::MIN);
        assert_eq!(
            int4_in("abc").unwrap_err().message,
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(
            int4_in("").unwrap_err().message,
            "invalid input syntax for type integer: \"\""
        );
        assert_eq!(
            int4_in("99999999999").unwrap_err().message,
            "value \"99999999999\" is out of range for type integer"
        );
        assert_eq!(
            int2_in("40000").unwrap_err().sqlstate,
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE
        );
        assert!(int8_in("1_000").is_err());
    }

    #[test]
    fn bool_input_accepts_prefixes() {
        for t in ["t", "TRUE", "yes", "y", "on", "1", " true "] {
            assert!(bool_in(t).unwrap(), "{t}");
        }
        for f in ["f", "false", "no", "n", "off", "of", "0"] {
            assert!(!bool_in(f).unwrap(), "{f}");
        }
        assert!(bool_in("o").is_err());
        assert!(bool_in("maybe").is_err());
    }

    #[test]
    fn casts_round_like_postgres() {
        let fmt = SessionFormat::default();
        assert_eq!(
            cast(Datum::Float8(2.5), Type::Float8, Type::Int4, -1, &fmt).unwrap(),
            Datum::Int4(2)
        );
        assert_eq!(
            cast(Datum::Float8(3.5), Type::Float8, Type::Int4, -1, &fmt).unwrap(),
            Datum::Int4(4)
        );
        let n = Datum::Numeric(Numeric::parse("2.5").unwrap());
        assert_eq!(
            cast(n, Type::Numeric, Type::Int4, -1, &fmt).unwrap(),
            Datum::Int4(3)
        );
        assert_eq!(
            cast(Datum::Int8(1 << 40), Type::Int8, Type::Int4, -1, &fmt)
                .unwrap_err()
                .message,
            "integer out of range"
        );
        assert_eq!(
            cast(Datum::Bool(true), Type::Bool, Type::Text, -1, &fmt).unwrap(),
            Datum::Text("true".into())
        );
        let f = cast(Datum::Float8(0.1), Type::Float8, Type::Numeric, -1, &fmt).unwrap();
        assert_eq!(output(&f, Type::Numeric, &fmt).unwrap(), "0.1");
    }
}
