//! Functions and operators over `bytea` (PostgreSQL's `varlena.c`,
//! `encode.c`, `cryptohashfuncs.c`, `mbutils.c`'s `pg_convert`), with
//! PostgreSQL 15's signatures: comparison byte by byte (`byteacmp`), `||`,
//! `length`/`octet_length`, `substring`/`substr`, `position`,
//! `get_byte`/`set_byte`, `encode`/`decode`, `md5` and the SHA-2 family,
//! `convert`/`convert_to`/`convert_from`, and `string_agg(bytea, bytea)`
//! (in `aggregates.rs`).

use md5::Md5;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::super::adt::{as_i128, bytea as adt_bytea, stringinfo};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::{Builder, Impl};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::mb;

type R = PgResult<Datum>;

fn bytes(d: &Datum) -> &[u8] {
    match d {
        Datum::Bytea(b) => b,
        other => panic!("bytea argument expected, got {other:?}"),
    }
}

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i64 {
    as_i128(d).expect("integer argument") as i64
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.comparison_ops(Bytea);
    b.op("||", Bytea, Bytea, Bytea, Impl::Scalar(byteacat));
    b.func("length", &[Bytea], Int4, byteaoctetlen);
    b.func("octet_length", &[Bytea], Int4, byteaoctetlen);
    for name in ["substring", "substr"] {
        b.func(name, &[Bytea, Int4, Int4], Bytea, bytea_substr);
        b.func(name, &[Bytea, Int4], Bytea, bytea_substr);
    }
    b.func("position", &[Bytea, Bytea], Int4, byteapos);
    b.func("get_byte", &[Bytea, Int4], Int4, byteaget_byte);
    b.func("set_byte", &[Bytea, Int4, Int4], Bytea, byteaset_byte);
    b.func("encode", &[Bytea, Text], Text, binary_encode);
    b.func("decode", &[Text, Text], Bytea, binary_decode);
    b.func("md5", &[Text], Text, md5_text);
    b.func("md5", &[Bytea], Text, md5_bytea);
    b.func("sha224", &[Bytea], Bytea, sha224_bytea);
    b.func("sha256", &[Bytea], Bytea, sha256_bytea);
    b.func("sha384", &[Bytea], Bytea, sha384_bytea);
    b.func("sha512", &[Bytea], Bytea, sha512_bytea);
    b.func("convert_to", &[Text, Name], Bytea, pg_convert_to);
    b.func("convert_from", &[Bytea, Name], Text, pg_convert_from);
    b.func("convert", &[Bytea, Name, Name], Bytea, pg_convert);
    b.func("length", &[Bytea, Name], Int4, length_in_encoding);
    b.func("btrim", &[Bytea, Bytea], Bytea, byteatrim);
    b.func("ltrim", &[Bytea, Bytea], Bytea, bytealtrim);
    b.func("rtrim", &[Bytea, Bytea], Bytea, byteartrim);
}

/// `dobyteatrim`: strips bytes of the set `a[1]` from the chosen ends.
fn trim(a: &[Datum], left: bool, right: bool) -> R {
    let (b, set) = (bytes(&a[0]), bytes(&a[1]));
    let mut from = 0;
    let mut to = b.len();
    if left {
        while from < to && set.contains(&b[from]) {
            from += 1;
        }
    }
    if right {
        while to > from && set.contains(&b[to - 1]) {
            to -= 1;
        }
    }
    Ok(Datum::Bytea(b[from..to].to_vec()))
}

fn byteatrim(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    trim(a, true, true)
}

fn bytealtrim(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    trim(a, true, false)
}

fn byteartrim(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    trim(a, false, true)
}

/// `length_in_encoding`: characters of `a[0]` read in encoding `a[1]`
/// (`pg_verify_mbstr_len`), so invalid bytes are 22021.
fn length_in_encoding(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let name = text(&a[1]);
    let enc = mb::char_to_encoding(name).ok_or_else(|| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid encoding name \"{name}\""),
        )
    })?;
    let b = bytes(&a[0]);
    mb::verify(b, enc)?;
    let n = if enc == mb::Encoding::UTF8 {
        std::str::from_utf8(b)
            .expect("verified as UTF-8")
            .chars()
            .count()
    } else {
        b.len()
    };
    Ok(Datum::Int4(n as i32))
}

/// `byteacat`: allocates the result directly, so XX000 past 1 GB.
fn byteacat(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (l, r) = (bytes(&a[0]), bytes(&a[1]));
    stringinfo::check_alloc(l.len() + r.len() + stringinfo::VARHDRSZ)?;
    let mut out = Vec::with_capacity(l.len() + r.len());
    out.extend_from_slice(l);
    out.extend_from_slice(r);
    Ok(Datum::Bytea(out))
}

fn byteaoctetlen(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(bytes(&a[0]).len() as i32))
}

/// `bytea_substring`: bytes `start .. start + len` clipped to the value.
fn bytea_substr(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let b = bytes(&a[0]);
    let start = int(&a[1]);
    let n = b.len() as i64;
    let s1 = start.max(1);
    let e = match a.get(2) {
        Some(l) => {
            let len = int(l);
            if len < 0 {
                return Err(PgError::error(
                    "22011",
                    "negative substring length not allowed",
                ));
            }
            start.saturating_add(len)
        }
        None => i64::MAX,
    };
    if e <= s1 || s1 > n {
        return Ok(Datum::Bytea(Vec::new()));
    }
    Ok(Datum::Bytea(
        b[(s1 - 1) as usize..(e - 1).min(n) as usize].to_vec(),
    ))
}

/// `byteapos`: 1-based position of the first occurrence, 0 if none, 1 for
/// an empty pattern.
fn byteapos(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (s, sub) = (bytes(&a[0]), bytes(&a[1]));
    if sub.is_empty() {
        return Ok(Datum::Int4(1));
    }
    let pos = s.windows(sub.len()).position(|w| w == sub);
    Ok(Datum::Int4(pos.map_or(0, |p| p as i32 + 1)))
}

fn byte_index(b: &[u8], n: i64) -> PgResult<usize> {
    if n < 0 || n >= b.len() as i64 {
        return Err(PgError::error(
            "2202E",
            format!("index {n} out of valid range, 0..{}", b.len() as i64 - 1),
        ));
    }
    Ok(n as usize)
}

fn byteaget_byte(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let b = bytes(&a[0]);
    Ok(Datum::Int4(b[byte_index(b, int(&a[1]))?] as i32))
}

/// `byteaSetByte`: the new value is truncated to its low 8 bits, as C's
/// assignment to `char` does.
fn byteaset_byte(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut b = bytes(&a[0]).to_vec();
    let i = byte_index(&b, int(&a[1]))?;
    b[i] = int(&a[2]) as u8;
    Ok(Datum::Bytea(b))
}

fn binary_encode(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(adt_bytea::encode(bytes(&a[0]), text(&a[1]))?))
}

fn binary_decode(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bytea(adt_bytea::decode(text(&a[0]), text(&a[1]))?))
}

fn md5_hex(data: &[u8]) -> Datum {
    let mut out = String::with_capacity(32);
    adt_bytea::hex_encode(&Md5::digest(data), &mut out);
    Datum::Text(out)
}

fn md5_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(md5_hex(text(&a[0]).as_bytes()))
}

fn md5_bytea(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(md5_hex(bytes(&a[0])))
}

fn sha224_bytea(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bytea(Sha224::digest(bytes(&a[0])).to_vec()))
}

fn sha256_bytea(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bytea(Sha256::digest(bytes(&a[0])).to_vec()))
}

fn sha384_bytea(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bytea(Sha384::digest(bytes(&a[0])).to_vec()))
}

fn sha512_bytea(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bytea(Sha512::digest(bytes(&a[0])).to_vec()))
}

fn encoding(name: &str, role: &str) -> PgResult<mb::Encoding> {
    mb::char_to_encoding(name).ok_or_else(|| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid {role} encoding name \"{name}\""),
        )
    })
}

/// `pg_convert_to`: the text (in the server encoding, UTF8) in `dest`.
fn pg_convert_to(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let dst = encoding(text(&a[1]), "destination")?;
    let s = text(&a[0]);
    Ok(Datum::Bytea(
        mb::convert(s.as_bytes(), mb::Encoding::UTF8, dst)?.into_owned(),
    ))
}

/// `pg_convert_from`: bytes in `src` as text, verified as UTF-8 (so a NUL
/// byte is 22021, as PostgreSQL reports it).
fn pg_convert_from(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let src = encoding(text(&a[1]), "source")?;
    let out = mb::convert(bytes(&a[0]), src, mb::Encoding::UTF8)?;
    let s = mb::verify_utf8(&out)?;
    Ok(Datum::Text(s.to_string()))
}

fn pg_convert(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let src = encoding(text(&a[1]), "source")?;
    let dst = encoding(text(&a[2]), "destination")?;
    Ok(Datum::Bytea(
        mb::convert(bytes(&a[0]), src, dst)?.into_owned(),
    ))
}
