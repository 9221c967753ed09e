//! `bytea`: PostgreSQL's byte strings (`varlena.c`'s `byteain`/`byteaout`,
//! `encode.c`'s `encode`/`decode`).
//!
//! Text forms:
//! - input accepts the hex format `\x0102` (whitespace allowed between
//!   digit pairs, lower-case `x` only) and the escape format, where `\\`
//!   is a backslash, `\nnn` an octal byte (first digit 0..3) and any other
//!   byte stands for itself;
//! - output follows `bytea_output` ([`ByteaOutput`]): `\x` and lower-case
//!   hex, or the escape format with `\\` and `\nnn` for bytes outside
//!   0x20..0x7e.
//!
//! `encode`/`decode` know `hex`, `base64` (lines of 76 characters, as
//! PostgreSQL's MIME-style encoder writes them) and `escape`, whose rules
//! differ from byteaout's: only NUL, bytes with the high bit set and the
//! backslash are escaped.
//!
//! Every value is bounded by `MaxAllocSize` (1 GB): results whose size is
//! known up front are checked before they are allocated.

use super::stringinfo;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The `bytea_output` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ByteaOutput {
    #[default]
    Hex,
    Escape,
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The first character of `s` (PostgreSQL prints `pg_mblen` bytes of the
/// offending input, which for a UTF-8 server is one character).
fn first_char(s: &[u8]) -> String {
    let n = match s.first() {
        Some(&b) if b >= 0xf0 => 4,
        Some(&b) if b >= 0xe0 => 3,
        Some(&b) if b >= 0xc0 => 2,
        _ => 1,
    };
    String::from_utf8_lossy(&s[..n.min(s.len())]).into_owned()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `hex_decode`: pairs of hex digits, with spaces, tabs and newlines
/// allowed between pairs.
pub fn hex_decode(src: &[u8]) -> PgResult<Vec<u8>> {
    let mut out = Vec::with_capacity(src.len() / 2);
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
            i += 1;
            continue;
        }
        let digit = |i: usize| {
            hex_value(src[i]).ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid hexadecimal digit: \"{}\"", first_char(&src[i..])),
                )
            })
        };
        let hi = digit(i)?;
        if i + 1 >= src.len() {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "invalid hexadecimal data: odd number of digits",
            ));
        }
        let lo = digit(i + 1)?;
        out.push(hi << 4 | lo);
        i += 2;
    }
    Ok(out)
}

/// `hex_encode`: two lower-case digits per byte.
pub fn hex_encode(b: &[u8], out: &mut String) {
    for &x in b {
        out.push(HEX_DIGITS[(x >> 4) as usize] as char);
        out.push(HEX_DIGITS[(x & 15) as usize] as char);
    }
}

fn invalid_bytea() -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        "invalid input syntax for type bytea",
    )
}

fn is_octal_escape(s: &[u8]) -> bool {
    s.len() >= 4
        && s[0] == b'\\'
        && (b'0'..=b'3').contains(&s[1])
        && (b'0'..=b'7').contains(&s[2])
        && (b'0'..=b'7').contains(&s[3])
}

fn octal_value(s: &[u8]) -> u8 {
    ((s[1] - b'0') << 6) | ((s[2] - b'0') << 3) | (s[3] - b'0')
}

/// The escape format's decoding, shared by `byteain` and `decode(..., 'escape')`.
fn escape_decode(s: &[u8]) -> PgResult<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
        } else if is_octal_escape(&s[i..]) {
            out.push(octal_value(&s[i..]));
            i += 4;
        } else if s.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            return Err(invalid_bytea());
        }
    }
    Ok(out)
}

/// `byteain`.
pub fn bytea_in(s: &str) -> PgResult<Vec<u8>> {
    let b = s.as_bytes();
    if let Some(hex) = b.strip_prefix(b"\\x") {
        return hex_decode(hex);
    }
    escape_decode(b)
}

/// `byteaout`, in the format `bytea_output` asks for. The caller has the
/// value, so its size is below 1 GB; the hex form may be twice that, which
/// PostgreSQL also builds (and fails on past `MaxAllocSize`).
pub fn bytea_out(b: &[u8], format: ByteaOutput) -> String {
    match format {
        ByteaOutput::Hex => {
            let mut out = String::with_capacity(2 + 2 * b.len());
            out.push_str("\\x");
            hex_encode(b, &mut out);
            out
        }
        ByteaOutput::Escape => {
            let mut out = String::with_capacity(b.len());
            for &c in b {
                if c == b'\\' {
                    out.push_str("\\\\");
                } else if !(0x20..=0x7e).contains(&c) {
                    push_octal(&mut out, c);
                } else {
                    out.push(c as char);
                }
            }
            out
        }
    }
}

fn push_octal(out: &mut String, c: u8) {
    out.push('\\');
    out.push((b'0' + (c >> 6)) as char);
    out.push((b'0' + ((c >> 3) & 7)) as char);
    out.push((b'0' + (c & 7)) as char);
}

// ---------------------------------------------------------------------------
// encode / decode
// ---------------------------------------------------------------------------

/// The formats of `encode`/`decode` (`pg_find_encoding`, case-insensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Hex,
    Base64,
    Escape,
}

fn find_format(name: &str) -> PgResult<Format> {
    match name.to_ascii_lowercase().as_str() {
        "hex" => Ok(Format::Hex),
        "base64" => Ok(Format::Base64),
        "escape" => Ok(Format::Escape),
        _ => Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("unrecognized encoding: \"{name}\""),
        )),
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `pg_base64_encode`: a newline after every 76 characters written.
fn base64_encode(src: &[u8], out: &mut String) {
    let mut line = 0;
    for chunk in src.chunks(3) {
        let buf = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        if chunk.len() < 3 {
            // The tail is written after the loop in PostgreSQL: no line
            // break can follow it.
            out.push(BASE64[(buf >> 18) as usize & 63] as char);
            out.push(BASE64[(buf >> 12) as usize & 63] as char);
            out.push(if chunk.len() == 2 {
                BASE64[(buf >> 6) as usize & 63] as char
            } else {
                '='
            });
            out.push('=');
            break;
        }
        for shift in [18, 12, 6, 0] {
            out.push(BASE64[(buf >> shift) as usize & 63] as char);
        }
        line += 4;
        if line >= 76 {
            out.push('\n');
            line = 0;
        }
    }
}

/// `pg_base64_enc_len`: what [`base64_encode`] writes, at most.
fn base64_enc_len(n: usize) -> Option<usize> {
    let quads = n.checked_add(2)? / 3 * 4;
    quads.checked_add(quads / 76)
}

fn base64_value(c: u8) -> Option<u32> {
    BASE64.iter().position(|&x| x == c).map(|v| v as u32)
}

/// `pg_base64_decode`.
fn base64_decode(src: &[u8]) -> PgResult<Vec<u8>> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let (mut buf, mut pos, mut end) = (0u32, 0, 0);
    for (i, &c) in src.iter().enumerate() {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        let b = if c == b'=' {
            if end == 0 {
                end = match pos {
                    2 => 1,
                    3 => 2,
                    _ => {
                        return Err(PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "unexpected \"=\" while decoding base64 sequence",
                        ));
                    }
                };
            }
            0
        } else {
            base64_value(c).ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!(
                        "invalid symbol \"{}\" found while decoding base64 sequence",
                        first_char(&src[i..])
                    ),
                )
            })?
        };
        buf = (buf << 6) + b;
        pos += 1;
        if pos == 4 {
            out.push((buf >> 16) as u8);
            if end == 0 || end > 1 {
                out.push((buf >> 8) as u8);
            }
            if end == 0 || end > 2 {
                out.push(buf as u8);
            }
            buf = 0;
            pos = 0;
        }
    }
    if pos != 0 {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "invalid base64 end sequence",
        )
        .with_hint("Input data is missing padding, is truncated, or is otherwise corrupted."));
    }
    Ok(out)
}

/// `esc_encode`: NUL and high-bit bytes as `\nnn`, backslash doubled.
fn escape_encode(src: &[u8], out: &mut String) {
    for &c in src {
        if c == 0 || c >= 0x80 {
            push_octal(out, c);
        } else if c == b'\\' {
            out.push_str("\\\\");
        } else {
            out.push(c as char);
        }
    }
}

/// `encode(bytea, text)`. The result is ASCII except in the escape format,
/// where bytes 0x01..0x7f pass through, so it is always valid UTF-8.
pub fn encode(data: &[u8], format: &str) -> PgResult<String> {
    let format = find_format(format)?;
    let len = match format {
        Format::Hex => data.len().checked_mul(2),
        Format::Base64 => base64_enc_len(data.len()),
        Format::Escape => data.len().checked_mul(4),
    };
    // binary_encode: palloc(VARHDRSZ + resultlen) with the worst case.
    stringinfo::check_alloc(
        len.and_then(|l| l.checked_add(stringinfo::VARHDRSZ))
            .unwrap_or(usize::MAX),
    )?;
    let mut out = String::new();
    match format {
        Format::Hex => hex_encode(data, &mut out),
        Format::Base64 => base64_encode(data, &mut out),
        Format::Escape => escape_encode(data, &mut out),
    }
    Ok(out)
}

/// `decode(text, text)`. Decoding never grows the data, so the result is
/// within the limit the input already met.
pub fn decode(data: &str, format: &str) -> PgResult<Vec<u8>> {
    match find_format(format)? {
        Format::Hex => hex_decode(data.as_bytes()),
        Format::Base64 => base64_decode(data.as_bytes()),
        Format::Escape => escape_decode(data.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_escape_input_follow_byteain() {
        assert_eq!(bytea_in("\\x01 02\n0A").unwrap(), vec![1, 2, 10]);
        assert_eq!(bytea_in("a\\\\b\\001\\377").unwrap(), b"a\\b\x01\xff");
        let e = bytea_in("\\x0z").unwrap_err();
        assert_eq!(e.sqlstate, sqlstate::INVALID_PARAMETER_VALUE);
        assert_eq!(e.message, "invalid hexadecimal digit: \"z\"");
        assert_eq!(
            bytea_in("\\x012").unwrap_err().message,
            "invalid hexadecimal data: odd number of digits"
        );
        let e = bytea_in("\\X01").unwrap_err();
        assert_eq!(e.sqlstate, sqlstate::INVALID_TEXT_REPRESENTATION);
        assert_eq!(e.message, "invalid input syntax for type bytea");
        assert!(bytea_in("\\400").is_err());
        assert!(bytea_in("a\\").is_err());
    }

    #[test]
    fn output_follows_bytea_output() {
        let b = b"a\\b\x01\xff\x7f~";
        assert_eq!(bytea_out(b, ByteaOutput::Hex), "\\x615c6201ff7f7e");
        assert_eq!(bytea_out(b, ByteaOutput::Escape), "a\\\\b\\001\\377\\177~");
        for f in [ByteaOutput::Hex, ByteaOutput::Escape] {
            let all: Vec<u8> = (0..=255).collect();
            assert_eq!(bytea_in(&bytea_out(&all, f)).unwrap(), all, "{f:?}");
        }
    }

    #[test]
    fn base64_breaks_lines_at_76_characters_as_postgres() {
        let s = encode(&[b'a'; 57], "base64").unwrap();
        assert_eq!(s.len(), 77);
        assert!(s.ends_with('\n'));
        assert_eq!(encode(b"ab", "BASE64").unwrap(), "YWI=");
        assert_eq!(encode(b"a", "base64").unwrap(), "YQ==");
        for n in 0..200 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37) as u8).collect();
            let enc = encode(&data, "base64").unwrap();
            assert!(enc.len() <= base64_enc_len(n).unwrap());
            assert_eq!(decode(&enc, "base64").unwrap(), data);
        }
        assert_eq!(
            decode("YW*J", "base64").unwrap_err().message,
            "invalid symbol \"*\" found while decoding base64 sequence"
        );
        assert_eq!(
            decode("YWJ", "base64").unwrap_err().message,
            "invalid base64 end sequence"
        );
        assert_eq!(
            decode("Y===", "base64").unwrap_err().message,
            "unexpected \"=\" while decoding base64 sequence"
        );
    }

    #[test]
    fn escape_encoding_differs_from_byteaout() {
        assert_eq!(
            encode(b"\x00A\n\\\x80\xff", "escape").unwrap(),
            "\\000A\n\\\\\\200\\377"
        );
        assert_eq!(
            encode(b"x", "nope").unwrap_err().message,
            "unrecognized encoding: \"nope\""
        );
    }
}
