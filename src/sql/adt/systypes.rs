//! The catalogs' own types: `"char"` (PostgreSQL's `char.c`), `regproc`
//! (`regproc.c`) and `oidvector` (`oid.c`).
//!
//! - `"char"` is one byte. Its SQL value is `Datum::Text`: the character
//!   for ASCII, `\ooo` (three octal digits) for a byte past ASCII, as
//!   `charout` prints it, and the empty string for the zero byte.
//!   [`char_byte`] turns that text back into the byte the heap stores.
//! - `regproc` is an oid printed as the function's name. Built-in
//!   functions are the only functions yet, so names are looked up in the
//!   built-in rows (`catalog::builtin`), not by reading `pg_proc`.
//! - `oidvector` is PostgreSQL's zero-based oid array; its SQL value is
//!   its text form, oids separated by one space.

use crate::catalog::builtin;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The text form of a `"char"` byte (`charout`).
pub fn char_text(b: u8) -> String {
    match b {
        0 => String::new(),
        1..=127 => (b as char).to_string(),
        _ => format!("\\{:03o}", b),
    }
}

/// The byte of a `"char"` text (`charin`): `\ooo` is that byte, anything
/// else its first byte, the empty string the zero byte.
pub fn char_byte(s: &str) -> u8 {
    let b = s.as_bytes();
    if b.len() == 4
        && b[0] == b'\\'
        && b[1..].iter().all(|c| (b'0'..=b'7').contains(c))
        && b[1] <= b'3'
    {
        return (b[1] - b'0') * 64 + (b[2] - b'0') * 8 + (b[3] - b'0');
    }
    b.first().copied().unwrap_or(0)
}

/// `charin`.
pub fn char_in(s: &str) -> String {
    char_text(char_byte(s))
}

/// `"char"(text)`: the text's first byte, with no escape syntax.
pub fn text_to_char(s: &str) -> String {
    char_text(s.as_bytes().first().copied().unwrap_or(0))
}

/// `int4("char")`: the byte as a signed char, as PostgreSQL.
pub fn char_to_int4(s: &str) -> i32 {
    char_byte(s) as i8 as i32
}

/// `"char"(int4)`.
pub fn int4_to_char(v: i32) -> PgResult<String> {
    if !(-128..=127).contains(&v) {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            "\"char\" out of range",
        ));
    }
    Ok(char_text(v as i8 as u8))
}

/// `regprocout`.
pub fn regproc_out(oid: u32) -> String {
    builtin::regproc_name(oid)
}

/// `regprocin`: an oid, `-` for none, or the name of exactly one function.
pub fn regproc_in(input: &str) -> PgResult<u32> {
    let s = input.trim();
    if s == "-" {
        return Ok(0);
    }
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        return super::oid_in(s);
    }
    let name = s.strip_prefix("pg_catalog.").unwrap_or(s);
    match builtin::procs_named(name).as_slice() {
        [oid] => Ok(*oid),
        [] => Err(PgError::error(
            sqlstate::UNDEFINED_FUNCTION,
            format!("function \"{s}\" does not exist"),
        )),
        _ => Err(PgError::error(
            sqlstate::AMBIGUOUS_FUNCTION,
            format!("more than one function named \"{s}\""),
        )),
    }
}

/// `oidvectorin`: oids separated by spaces.
pub fn oidvector_in(s: &str) -> PgResult<Vec<u32>> {
    s.split_ascii_whitespace().map(super::oid_in).collect()
}

/// `oidvectorout`.
pub fn oidvector_out(oids: &[u32]) -> String {
    oids.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_prints_as_postgresql_prints_it() {
        assert_eq!(char_in("b"), "b");
        assert_eq!(char_in("bx"), "b", "first byte only");
        assert_eq!(char_in(""), "");
        assert_eq!(char_in("\\101"), "A");
        assert_eq!(char_in("é"), "\\303", "first byte of a multibyte character");
        assert_eq!(char_byte(&char_text(200)), 200);
        assert_eq!(char_to_int4("\\377"), -1);
        assert_eq!(int4_to_char(65).unwrap(), "A");
        assert_eq!(int4_to_char(128).unwrap_err().sqlstate, "22003");
    }

    #[test]
    fn regproc_reads_names_and_numbers() {
        assert_eq!(regproc_in("boolin").unwrap(), 1242);
        assert_eq!(regproc_in("pg_catalog.boolin").unwrap(), 1242);
        assert_eq!(regproc_in("-").unwrap(), 0);
        assert_eq!(regproc_in("1242").unwrap(), 1242);
        assert_eq!(regproc_in("no_such").unwrap_err().sqlstate, "42883");
        assert_eq!(regproc_in("abs").unwrap_err().sqlstate, "42725");
        assert_eq!(regproc_out(1242), "boolin");
    }

    #[test]
    fn oidvector_is_space_separated() {
        assert_eq!(oidvector_in(" 25  23 ").unwrap(), vec![25, 23]);
        assert_eq!(oidvector_out(&[25, 23]), "25 23");
        assert_eq!(oidvector_in("").unwrap(), Vec::<u32>::new());
        assert_eq!(oidvector_in("x").unwrap_err().sqlstate, "22P02");
    }
}
