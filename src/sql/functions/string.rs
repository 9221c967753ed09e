//! String functions of `varlena.c` and `quote.c` that `scalar.rs` lacks:
//! `format()` (`text_format`), `quote_ident`, `quote_literal`,
//! `quote_nullable`, `translate`, `overlay` (text and bytea), `to_hex`,
//! `bit_length` and `unistr`, each with PostgreSQL 15's messages.
//!
//! `quote_literal(anyelement)` and `quote_nullable(anyelement)` need the
//! `anyelement` pseudo-type, which the registry cannot declare yet; the
//! text versions are here.

use super::super::adt::{self, as_i128, stringinfo::StringInfo};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::{ArgType, Builder};
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn bytes(d: &Datum) -> &[u8] {
    match d {
        Datum::Bytea(b) => b,
        other => panic!("bytea argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i64 {
    as_i128(d).expect("integer argument") as i64
}

fn err(code: &'static str, msg: impl Into<String>) -> PgError {
    PgError::error(code, msg)
}

// --- quoting -------------------------------------------------------------------

/// `quote_identifier`, shared with the settings code.
pub(crate) fn quote_identifier(s: &str) -> String {
    crate::utils::guc::quote_identifier(s)
}

/// `quote_literal_cstr`: single quotes doubled, and an `E` prefix with
/// doubled backslashes when there is a backslash.
pub(crate) fn quote_literal_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn quote_ident(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(quote_identifier(text(&a[0]))))
}

fn quote_literal(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(quote_literal_str(text(&a[0]))))
}

fn quote_nullable(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(match &a[0] {
        Datum::Text(s) => quote_literal_str(s),
        _ => "NULL".to_string(),
    }))
}

// --- format() --------------------------------------------------------------------

fn format_hint(e: PgError) -> PgError {
    e.with_hint("For a single \"%\" use \"%%\".")
}

fn unterminated() -> PgError {
    format_hint(err(
        sqlstate::INVALID_PARAMETER_VALUE,
        "unterminated format() type specifier",
    ))
}

fn too_few() -> PgError {
    err(
        sqlstate::INVALID_PARAMETER_VALUE,
        "too few arguments for format()",
    )
}

fn arg_zero() -> PgError {
    err(
        sqlstate::INVALID_PARAMETER_VALUE,
        "format specifies argument 0, but arguments are numbered from 1",
    )
}

/// `text_format_parse_digits`: a decimal number at `*i`, if any.
fn parse_digits(f: &[char], i: &mut usize) -> PgResult<Option<i32>> {
    let mut v: Option<i32> = None;
    while let Some(d) = f.get(*i).and_then(|c| c.to_digit(10)) {
        let n = v
            .unwrap_or(0)
            .checked_mul(10)
            .and_then(|n| n.checked_add(d as i32))
            .ok_or_else(|| {
                err(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "number is out of range",
                )
            })?;
        v = Some(n);
        *i += 1;
    }
    Ok(v)
}

/// `text_format_append_string`: `s` padded with spaces to `width`
/// characters (left-justified if `left`), each part appended under
/// `enlargeStringInfo`'s limit.
fn append_padded(out: &mut StringInfo, s: &str, left: bool, width: usize) -> PgResult<()> {
    let pad = width.saturating_sub(s.chars().count());
    let spaces = |out: &mut StringInfo| -> PgResult<()> {
        if pad > 0 {
            crate::sql::adt::stringinfo::check_enlarge(out.0.len(), pad)?;
            out.0.extend(std::iter::repeat_n(' ', pad));
        }
        Ok(())
    };
    if left {
        out.append(s)?;
        spaces(out)
    } else {
        spaces(out)?;
        out.append(s)
    }
}

/// `text_format`: `%[n$][-][width|*[n$]]{s,I,L}` and `%%`.
fn format(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let Datum::Text(fmt) = &a[0] else {
        return Ok(Datum::Null);
    };
    let f: Vec<char> = fmt.chars().collect();
    let nargs = a.len();
    let mut out = StringInfo::new();
    let mut arg = 0usize;
    let mut i = 0usize;
    let mut lit = String::new();
    while i < f.len() {
        let c = f[i];
        i += 1;
        if c != '%' {
            lit.push(c);
            continue;
        }
        if i >= f.len() {
            return Err(unterminated());
        }
        if f[i] == '%' {
            lit.push('%');
            i += 1;
            continue;
        }
        out.append(&lit)?;
        lit.clear();
        // text_format_parse_format
        let mut argpos: Option<usize> = None;
        let mut widthpos: Option<usize> = None;
        let mut left = false;
        let mut width: i64 = 0;
        let mut simple_width = false;
        if let Some(n) = parse_digits(&f, &mut i)? {
            if i >= f.len() {
                return Err(unterminated());
            }
            if f[i] == '$' {
                if n == 0 {
                    return Err(arg_zero());
                }
                argpos = Some(n as usize);
                i += 1;
                if i >= f.len() {
                    return Err(unterminated());
                }
            } else {
                width = n as i64;
                simple_width = true;
            }
        }
        if !simple_width {
            if f[i] == '-' {
                left = true;
                i += 1;
                if i >= f.len() {
                    return Err(unterminated());
                }
            }
            if f[i] == '*' {
                i += 1;
                if i >= f.len() {
                    return Err(unterminated());
                }
                match parse_digits(&f, &mut i)? {
                    Some(n) => {
                        if i >= f.len() {
                            return Err(unterminated());
                        }
                        if f[i] != '$' {
                            return Err(err(
                                sqlstate::INVALID_PARAMETER_VALUE,
                                "width argument position must be ended by \"$\"",
                            ));
                        }
                        if n == 0 {
                            return Err(arg_zero());
                        }
                        widthpos = Some(n as usize);
                        i += 1;
                        if i >= f.len() {
                            return Err(unterminated());
                        }
                    }
                    None => widthpos = Some(0),
                }
            } else if let Some(n) = parse_digits(&f, &mut i)? {
                width = n as i64;
                if i >= f.len() {
                    return Err(unterminated());
                }
            }
        }
        let conv = f[i];
        i += 1;
        if !matches!(conv, 's' | 'I' | 'L') {
            return Err(format_hint(err(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("unrecognized format() type specifier \"{conv}\""),
            )));
        }
        if let Some(wp) = widthpos {
            arg = if wp > 0 { wp } else { arg + 1 };
            if arg >= nargs {
                return Err(too_few());
            }
            width = match &a[arg] {
                Datum::Null => 0,
                d => match as_i128(d) {
                    Some(v) => v as i64,
                    None => {
                        // PostgreSQL casts the width argument to integer.
                        let s = adt::output(d, t[arg], &cx.fmt).unwrap_or_default();
                        s.trim().parse::<i64>().map_err(|_| {
                            err(
                                sqlstate::INVALID_TEXT_REPRESENTATION,
                                format!("invalid input syntax for type integer: \"{s}\""),
                            )
                        })?
                    }
                },
            };
            if width < 0 {
                if width == i32::MIN as i64 {
                    return Err(err(
                        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                        "number is out of range",
                    ));
                }
                left = true;
                width = -width;
            }
        }
        arg = match argpos {
            Some(p) => p,
            None => arg + 1,
        };
        if arg >= nargs {
            return Err(too_few());
        }
        let width = width as usize;
        let value = &a[arg];
        if value.is_null() {
            match conv {
                's' => append_padded(&mut out, "", left, width)?,
                'L' => append_padded(&mut out, "NULL", left, width)?,
                _ => {
                    return Err(err(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "null values cannot be formatted as an SQL identifier",
                    ));
                }
            }
            continue;
        }
        let s = adt::output(value, t[arg], &cx.fmt).unwrap_or_default();
        let s = match conv {
            'I' => quote_identifier(&s),
            'L' => quote_literal_str(&s),
            _ => s,
        };
        append_padded(&mut out, &s, left, width)?;
    }
    out.append(&lit)?;
    Ok(Datum::Text(out.into_string()))
}

// --- translate, overlay, to_hex, bit_length ---------------------------------------------

/// `translate(string, from, to)`: each character of `from` becomes the
/// character at the same place in `to`, or is dropped past its end.
fn translate(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let from: Vec<char> = text(&a[1]).chars().collect();
    let to: Vec<char> = text(&a[2]).chars().collect();
    let mut out = String::with_capacity(text(&a[0]).len());
    for c in text(&a[0]).chars() {
        match from.iter().position(|&f| f == c) {
            Some(k) => {
                if let Some(&r) = to.get(k) {
                    out.push(r);
                }
            }
            None => out.push(c),
        }
    }
    Ok(Datum::Text(out))
}

/// `text_substring(s, start, len)` on a character or byte sequence, with
/// PostgreSQL's clipping of a start before 1.
fn substring_of<T: Clone>(s: &[T], start: i64, len: Option<i64>) -> Vec<T> {
    let n = s.len() as i64;
    let end = match len {
        Some(l) => start.saturating_add(l),
        None => i64::MAX,
    };
    let from = start.max(1);
    if end <= from || from > n {
        return Vec::new();
    }
    s[(from - 1) as usize..(end - 1).min(n) as usize].to_vec()
}

/// `textoverlay` / `byteaoverlay`: `s1 || placing || s2`.
fn overlay_parts<T: Clone>(s: &[T], placing: &[T], a: &[Datum]) -> PgResult<Vec<T>> {
    let sp = int(&a[2]);
    let sl = match a.get(3) {
        Some(d) => int(d),
        None => placing.len() as i64,
    };
    if sp <= 0 {
        return Err(err("22011", "negative substring length not allowed"));
    }
    let end = i32::try_from(sp + sl)
        .map_err(|_| err(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))?;
    let mut out = substring_of(s, 1, Some(sp - 1));
    out.extend_from_slice(placing);
    out.extend(substring_of(s, end as i64, None));
    Ok(out)
}

fn overlay_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let p: Vec<char> = text(&a[1]).chars().collect();
    Ok(Datum::Text(overlay_parts(&s, &p, a)?.into_iter().collect()))
}

fn overlay_bytea(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bytea(overlay_parts(bytes(&a[0]), bytes(&a[1]), a)?))
}

fn to_hex(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(match &a[0] {
        Datum::Int4(v) => format!("{:x}", *v as u32),
        d => format!("{:x}", int(d) as u64),
    }))
}

fn bit_length(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = match &a[0] {
        Datum::Bytea(b) => b.len(),
        d => text(d).len(),
    };
    Ok(Datum::Int4((n * 8) as i32))
}

// --- unistr ----------------------------------------------------------------------

fn invalid_unicode_escape() -> PgError {
    err(sqlstate::INVALID_ESCAPE_SEQUENCE, "invalid Unicode escape")
        .with_hint("Unicode escapes must be \\XXXX, \\+XXXXXX, \\uXXXX, or \\UXXXXXXXX.")
}

fn surrogate_pair() -> PgError {
    err(
        sqlstate::INVALID_ESCAPE_SEQUENCE,
        "invalid Unicode surrogate pair",
    )
}

/// `unistr`: `\XXXX`, `\+XXXXXX`, `\uXXXX`, `\UXXXXXXXX` and `\\`.
fn unistr(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut pending_high: Option<u32> = None;
    let mut i = 0;
    let hex = |i: usize, n: usize| -> Option<u32> {
        let digits = s.get(i..i + n)?;
        let mut v = 0u32;
        for c in digits {
            v = v * 16 + c.to_digit(16)?;
        }
        Some(v)
    };
    while i < s.len() {
        if s[i] != '\\' {
            if pending_high.is_some() {
                return Err(surrogate_pair());
            }
            out.push(s[i]);
            i += 1;
            continue;
        }
        if s.get(i + 1) == Some(&'\\') {
            if pending_high.is_some() {
                return Err(surrogate_pair());
            }
            out.push('\\');
            i += 2;
            continue;
        }
        let (cp, len) = match s.get(i + 1) {
            Some('+') => (hex(i + 2, 6), 8),
            Some('u') => (hex(i + 2, 4), 6),
            Some('U') => (hex(i + 2, 8), 10),
            _ => (hex(i + 1, 4), 5),
        };
        let Some(cp) = cp else {
            return Err(invalid_unicode_escape());
        };
        i += len;
        if let Some(hi) = pending_high.take() {
            if !(0xDC00..=0xDFFF).contains(&cp) {
                return Err(surrogate_pair());
            }
            let c = 0x10000 + ((hi - 0xD800) << 10) + (cp - 0xDC00);
            out.push(char::from_u32(c).expect("a surrogate pair decodes"));
            continue;
        }
        if (0xD800..=0xDBFF).contains(&cp) {
            pending_high = Some(cp);
            continue;
        }
        if (0xDC00..=0xDFFF).contains(&cp) {
            return Err(surrogate_pair());
        }
        match char::from_u32(cp).filter(|&c| c != '\0') {
            Some(c) => out.push(c),
            None => {
                return Err(err(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid Unicode code point: {cp:04X}"),
                ));
            }
        }
    }
    if pending_high.is_some() {
        return Err(surrogate_pair());
    }
    Ok(Datum::Text(out))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.func_nonstrict(
        "format",
        &[ArgType::T(Text), ArgType::Any],
        Text,
        format,
        true,
    );
    b.func_nonstrict("format", &[ArgType::T(Text)], Text, format, false);
    b.func("quote_ident", &[Text], Text, quote_ident);
    b.func("quote_literal", &[Text], Text, quote_literal);
    b.func_nonstrict(
        "quote_nullable",
        &[ArgType::T(Text)],
        Text,
        quote_nullable,
        false,
    );
    b.func("translate", &[Text, Text, Text], Text, translate);
    b.func("overlay", &[Text, Text, Int4, Int4], Text, overlay_text);
    b.func("overlay", &[Text, Text, Int4], Text, overlay_text);
    b.func("overlay", &[Bytea, Bytea, Int4, Int4], Bytea, overlay_bytea);
    b.func("overlay", &[Bytea, Bytea, Int4], Bytea, overlay_bytea);
    b.func("to_hex", &[Int4], Text, to_hex);
    b.func("to_hex", &[Int8], Text, to_hex);
    b.func("bit_length", &[Text], Int4, bit_length);
    b.func("bit_length", &[Bytea], Int4, bit_length);
    b.func("unistr", &[Text], Text, unistr);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_literal_doubles_quotes_and_backslashes() {
        assert_eq!(quote_literal_str("it's"), "'it''s'");
        assert_eq!(quote_literal_str("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn substring_of_clips_like_text_substring() {
        let s: Vec<char> = "abc".chars().collect();
        assert_eq!(substring_of(&s, 0, Some(2)), vec!['a']);
        assert_eq!(substring_of(&s, 2, None), vec!['b', 'c']);
        assert!(substring_of(&s, 4, None).is_empty());
    }
}
