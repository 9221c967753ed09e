//! Binary send/receive formats (PostgreSQL's `*_send` / `*_recv`
//! functions): Bind parameters and result columns in format 1, and binary
//! COPY fields. Text-like values travel in the client encoding, as
//! `pq_sendtext` sends them.

use super::SessionFormat;
use crate::sql::types::{Datum, Numeric, Type};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::mb;

/// `incorrect binary data format` (22P03): bytes that are not a value of
/// the type. The Bind message names the parameter after it.
pub const BAD_BINARY_FORMAT: &str = "incorrect binary data format";

/// Binary input (`*_recv`) of a value of type `ty`: a Bind parameter,
/// a binary COPY field.
pub fn recv(b: &[u8], ty: Type, fmt: &SessionFormat) -> PgResult<Datum> {
    let bad = || PgError::error(sqlstate::INVALID_BINARY_REPRESENTATION, BAD_BINARY_FORMAT);
    // pq_getmsgint & co.: too few bytes is 08P01; bytes left over are
    // 22P03 (the caller's check that the whole value was read).
    let fixed = |n: usize| -> PgResult<&[u8]> {
        match b.len().cmp(&n) {
            std::cmp::Ordering::Equal => Ok(b),
            std::cmp::Ordering::Less => Err(PgError::error(
                sqlstate::PROTOCOL_VIOLATION,
                "insufficient data left in message",
            )),
            std::cmp::Ordering::Greater => Err(bad()),
        }
    };
    if ty.is_enum() {
        // enum_recv: the label as text in the client encoding.
        return super::enums::enum_in(&mb::client_to_server(b)?, ty);
    }
    Ok(match ty {
        Type::Bool => Datum::Bool(fixed(1)?[0] != 0),
        Type::Int2 => Datum::Int2(i16::from_be_bytes(fixed(2)?.try_into().unwrap())),
        Type::Int4 => Datum::Int4(i32::from_be_bytes(fixed(4)?.try_into().unwrap())),
        Type::Int8 => Datum::Int8(i64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        Type::Float4 => Datum::Float4(f32::from_be_bytes(fixed(4)?.try_into().unwrap())),
        Type::Float8 => Datum::Float8(f64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        t if t.is_oid_like() => Datum::Oid(u32::from_be_bytes(fixed(4)?.try_into().unwrap())),
        Type::Char => Datum::Text(super::systypes::char_text(fixed(1)?[0])),
        Type::Xid => Datum::Xid(u32::from_be_bytes(fixed(4)?.try_into().unwrap())),
        Type::Timestamptz => Datum::Timestamptz(i64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        Type::Timestamp => Datum::Timestamp(i64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        Type::Interval => {
            let b = fixed(16)?;
            Datum::Interval {
                micros: i64::from_be_bytes(b[0..8].try_into().unwrap()),
                days: i32::from_be_bytes(b[8..12].try_into().unwrap()),
                months: i32::from_be_bytes(b[12..16].try_into().unwrap()),
            }
        }
        Type::Time => {
            let t = i64::from_be_bytes(fixed(8)?.try_into().unwrap());
            // time_recv checks the range.
            if !(0..=super::time::USECS_PER_DAY).contains(&t) {
                return Err(PgError::error("22008", "time out of range"));
            }
            Datum::Time(t)
        }
        Type::Date => Datum::Date(i32::from_be_bytes(fixed(4)?.try_into().unwrap())),
        Type::PgLsn => Datum::Lsn(u64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        Type::Uuid => Datum::Uuid(fixed(16)?.try_into().unwrap()),
        // bytearecv: the bytes themselves (a Bind message is below 1 GB).
        Type::Bytea => Datum::Bytea(b.to_vec()),
        Type::Text | Type::Varchar | Type::Name | Type::Bpchar | Type::Unknown => {
            // textrecv: the bytes are text in the client encoding.
            let s = mb::client_to_server(b)?;
            if ty == Type::Unknown || ty == Type::Text {
                Datum::Text(s)
            } else {
                super::input(&s, ty, -1, fmt)?
            }
        }
        // json_recv: the text; jsonb_recv: version 1, then the text.
        Type::Json => super::input(&mb::client_to_server(b)?, ty, -1, fmt)?,
        Type::Jsonb => match b.split_first() {
            Some((1, text)) => super::input(&mb::client_to_server(text)?, ty, -1, fmt)?,
            Some((v, _)) => {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!("unsupported jsonb version number {v}"),
                ));
            }
            None => return Err(bad()),
        },
        Type::Numeric => {
            let s = numeric_recv(b).ok_or_else(bad)?;
            Datum::Numeric(Numeric::parse(&s)?)
        }
        _ if ty.elem().is_some() => {
            let elem = ty.elem().expect("array type");
            crate::utils::stack::check_stack_depth()?;
            Datum::Array(Box::new(super::array::recv(b, elem, |e| {
                // A fixed-width element cut short reads past its data (08P01
                // in PostgreSQL); one too long is left with bytes unread.
                // (An enum's binary form is its label: no fixed width.)
                let len = elem.typlen();
                if len > 0 && !elem.is_enum() && e.len() < len as usize {
                    return Err(PgError::error("08P01", "insufficient data left in message"));
                }
                recv(e, elem, fmt)
            })?))
        }
        _ => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("binary input of type {} is not supported", ty.name()),
            ));
        }
    })
}

/// PostgreSQL's binary numeric (`numeric_recv`) as decimal text.
fn numeric_recv(b: &[u8]) -> Option<String> {
    if b.len() < 8 {
        return None;
    }
    let rd = |i: usize| i16::from_be_bytes([b[i], b[i + 1]]);
    let ndigits = rd(0) as usize;
    let weight = rd(2) as i32;
    let sign = rd(4) as u16;
    let dscale = rd(6).max(0) as usize;
    if b.len() != 8 + 2 * ndigits {
        return None;
    }
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| rd(8 + 2 * i) as u16).collect();
    let mut int = String::new();
    for w in (0..=weight).rev() {
        let idx = (weight - w) as usize;
        let d = digits.get(idx).copied().unwrap_or(0);
        if int.is_empty() {
            if d != 0 {
                int.push_str(&d.to_string());
            }
        } else {
            int.push_str(&format!("{d:04}"));
        }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    let mut k = weight + 1;
    while frac.len() < dscale {
        let d = if k < 0 {
            0
        } else {
            digits.get(k as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        k += 1;
    }
    frac.truncate(dscale);
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    s.push_str(&int);
    if dscale > 0 {
        s.push('.');
        s.push_str(&frac);
    }
    Some(s)
}

/// PostgreSQL's binary numeric (`numeric_send`) from decimal text.
fn numeric_send(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let push16 = |out: &mut Vec<u8>, v: i16| out.extend_from_slice(&v.to_be_bytes());
    let special = match s {
        "NaN" => Some(0xC000u16),
        "Infinity" => Some(0xD000),
        "-Infinity" => Some(0xF000),
        _ => None,
    };
    if let Some(sign) = special {
        push16(&mut out, 0);
        push16(&mut out, 0);
        push16(&mut out, sign as i16);
        push16(&mut out, 0);
        return Some(out);
    }
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    if !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let dscale = frac.len();
    // Pad the integer part on the left and the fraction on the right to
    // whole base-10000 digits.
    let int = int.trim_start_matches('0');
    let ipad = (4 - int.len() % 4) % 4;
    let int_p = format!("{}{}", "0".repeat(ipad), int);
    let fpad = (4 - frac.len() % 4) % 4;
    let frac_p = format!("{}{}", frac, "0".repeat(fpad));
    let mut digits: Vec<i16> = Vec::new();
    for c in int_p
        .as_bytes()
        .chunks(4)
        .chain(frac_p.as_bytes().chunks(4))
    {
        digits.push(std::str::from_utf8(c).ok()?.parse().ok()?);
    }
    let mut weight = (int_p.len() / 4) as i32 - 1;
    // Strip leading and trailing zero digits.
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    push16(&mut out, digits.len() as i16);
    push16(&mut out, weight as i16);
    push16(&mut out, if neg && !digits.is_empty() { 0x4000 } else { 0 });
    push16(&mut out, dscale as i16);
    for d in digits {
        push16(&mut out, d);
    }
    Some(out)
}

/// Binary output (`*_send`) of a value given in its text form.
pub fn send(text: &str, type_oid: u32, fmt: &SessionFormat) -> PgResult<Vec<u8>> {
    let ty = Type::from_oid(type_oid);
    let unsupported = || {
        PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "binary output of type {} is not supported",
                ty.map(|t| t.name()).unwrap_or("unknown".into())
            ),
        )
    };
    let Some(ty) = ty else {
        return Err(unsupported());
    };
    match ty {
        Type::Text | Type::Varchar | Type::Name | Type::Bpchar | Type::Unknown => {
            // textsend: the client encoding, as in text format.
            return Ok(mb::server_to_client(text)?.into_owned());
        }
        Type::Void => return Ok(Vec::new()),
        // enum_send: the label, as text.
        _ if ty.is_enum() => return Ok(mb::server_to_client(text)?.into_owned()),
        Type::Numeric => return numeric_send(text).ok_or_else(unsupported),
        Type::Inet | Type::Oidvector => return Err(unsupported()),
        _ if ty.elem().is_some() => {
            // array_send, each element by its own type's send.
            let elem = ty.elem().expect("array type");
            let a = super::array::array_in(text, elem, -1, fmt)?;
            return super::array::send(&a, |d| {
                let t = super::output(d, elem, fmt).unwrap_or_default();
                send(&t, elem.oid(), fmt)
            });
        }
        Type::Char => return Ok(vec![super::systypes::char_byte(text)]),
        // byteasend: the bytes themselves, from either bytea_output form.
        Type::Bytea => return super::bytea::bytea_in(text),
        // json_send: the text; jsonb_send: version byte 1, then the text.
        Type::Json => return Ok(mb::server_to_client(text)?.into_owned()),
        Type::Jsonb => {
            let mut v = vec![1u8];
            v.extend_from_slice(&mb::server_to_client(text)?);
            return Ok(v);
        }
        _ => {}
    }
    let d = super::input(text, ty, -1, fmt)?;
    Ok(match d {
        Datum::Bool(b) => vec![b as u8],
        Datum::Int2(v) => v.to_be_bytes().to_vec(),
        Datum::Int4(v) => v.to_be_bytes().to_vec(),
        Datum::Int8(v) => v.to_be_bytes().to_vec(),
        Datum::Float4(v) => v.to_be_bytes().to_vec(),
        Datum::Float8(v) => v.to_be_bytes().to_vec(),
        Datum::Oid(v) | Datum::Xid(v) => v.to_be_bytes().to_vec(),
        Datum::Timestamptz(v) | Datum::Timestamp(v) | Datum::Time(v) => v.to_be_bytes().to_vec(),
        Datum::Date(v) => v.to_be_bytes().to_vec(),
        Datum::Lsn(v) => v.to_be_bytes().to_vec(),
        Datum::Uuid(u) => u.to_vec(),
        Datum::Interval {
            months,
            days,
            micros,
        } => {
            let mut v = micros.to_be_bytes().to_vec();
            v.extend_from_slice(&days.to_be_bytes());
            v.extend_from_slice(&months.to_be_bytes());
            v
        }
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_round_trip() {
        for s in [
            "0",
            "1",
            "-1.50",
            "12345.6789",
            "0.0001",
            "100000000",
            "-0.000012",
            "3.14",
        ] {
            let b = numeric_send(s).unwrap();
            assert_eq!(numeric_recv(&b).unwrap(), s, "{s}");
        }
        // 12345.6789: digits 1, 2345, 6789; weight 1; dscale 4.
        assert_eq!(
            numeric_send("12345.6789").unwrap(),
            vec![0, 3, 0, 1, 0, 0, 0, 4, 0, 1, 0x09, 0x29, 0x1a, 0x85]
        );
    }
}
