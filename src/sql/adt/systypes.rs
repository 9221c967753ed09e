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
    fn oidvector_is_space_separated() {
        assert_eq!(oidvector_in(" 25  23 ").unwrap(), vec![25, 23]);
        assert_eq!(oidvector_out(&[25, 23]), "25 23");
        assert_eq!(oidvector_in("").unwrap(), Vec::<u32>::new());
        assert_eq!(oidvector_in("x").unwrap_err().sqlstate, "22P02");
    }
}
