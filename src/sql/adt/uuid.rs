//! `uuid` (PostgreSQL's `utils/adt/uuid.c`): 16 bytes, printed as 32
//! lower-case hex digits in groups 8-4-4-4-12, compared as bytes
//! (`memcmp`), hashed with `hash_any` over the 16 bytes.

use crate::utils::elog::{PgError, PgResult, sqlstate};

pub const UUID_LEN: usize = 16;

/// `uuid_in` (`string_to_uuid`): 32 hex digits, upper or lower case,
/// optionally inside `{}`, with at most one hyphen after any group of four
/// digits but the last. Nothing else is accepted, not even blanks.
pub fn uuid_in(input: &str) -> PgResult<[u8; UUID_LEN]> {
    let syntax_error = || {
        PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type uuid: \"{input}\""),
        )
    };
    let mut src = input.as_bytes();
    let braces = src.first() == Some(&b'{');
    if braces {
        src = &src[1..];
    }
    let mut out = [0u8; UUID_LEN];
    for (i, byte) in out.iter_mut().enumerate() {
        let (Some(hi), Some(lo)) = (
            src.first().and_then(|c| (*c as char).to_digit(16)),
            src.get(1).and_then(|c| (*c as char).to_digit(16)),
        ) else {
            return Err(syntax_error());
        };
        *byte = (hi << 4 | lo) as u8;
        src = &src[2..];
        if src.first() == Some(&b'-') && i % 2 == 1 && i < UUID_LEN - 1 {
            src = &src[1..];
        }
    }
    if braces {
        match src.split_first() {
            Some((b'}', rest)) => src = rest,
            _ => return Err(syntax_error()),
        }
    }
    if !src.is_empty() {
        return Err(syntax_error());
    }
    Ok(out)
}

/// `uuid_out`: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower case.
pub fn uuid_out(u: &[u8; UUID_LEN]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `gen_random_uuid`: a version 4 (random) UUID from the operating
/// system's random number generator, as PostgreSQL takes it from
/// `pg_strong_random`.
pub fn gen_random_uuid() -> PgResult<[u8; UUID_LEN]> {
    let mut u = [0u8; UUID_LEN];
    getrandom::fill(&mut u).map_err(|_| {
        PgError::error(sqlstate::INTERNAL_ERROR, "could not generate random values")
    })?;
    u[6] = (u[6] & 0x0f) | 0x40; // version 4
    u[8] = (u[8] & 0x3f) | 0x80; // variant RFC 4122
    Ok(u)
}

/// `uuid_hash`: PostgreSQL's `hash_any` (Bob Jenkins' lookup3
/// `hashlittle`, as `hash_bytes` in `common/hashfn.c` computes it on a
/// little-endian machine) over the 16 bytes.
pub fn uuid_hash(u: &[u8; UUID_LEN]) -> i32 {
    hash_bytes(u) as i32
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn final_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// `hash_bytes` of `common/hashfn.c`, little-endian.
fn hash_bytes(k: &[u8]) -> u32 {
    let word = |b: &[u8]| -> u32 {
        b.iter()
            .enumerate()
            .fold(0u32, |w, (i, &x)| w.wrapping_add((x as u32) << (8 * i)))
    };
    let init = 0x9e37_79b9u32
        .wrapping_add(k.len() as u32)
        .wrapping_add(3_923_095);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = k;
    while rest.len() >= 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    a = a.wrapping_add(word(&rest[..rest.len().min(4)]));
    if rest.len() > 4 {
        b = b.wrapping_add(word(&rest[4..rest.len().min(8)]));
    }
    if rest.len() > 8 {
        // The lowest byte of c is reserved for the length.
        c = c.wrapping_add(word(&rest[8..]) << 8);
    }
    final_mix(&mut a, &mut b, &mut c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: &str = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";

    #[test]
    fn input_accepts_postgresqls_spellings() {
        let want = uuid_in(CANONICAL).unwrap();
        for s in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        ] {
            assert_eq!(uuid_in(s).unwrap(), want, "{s}");
        }
        assert_eq!(uuid_out(&want), CANONICAL);
    }

    #[test]
    fn input_rejects_everything_else_with_22p02() {
        for s in [
            "",
            "x",
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "é0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ] {
            let e = uuid_in(s).unwrap_err();
            assert_eq!(e.sqlstate, sqlstate::INVALID_TEXT_REPRESENTATION, "{s}");
            assert_eq!(
                e.message,
                format!("invalid input syntax for type uuid: \"{s}\"")
            );
        }
    }

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let a = gen_random_uuid().unwrap();
        let b = gen_random_uuid().unwrap();
        assert_ne!(a, b);
        let s = uuid_out(&a);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
    }

    #[test]
    fn hash_is_postgresqls_uuid_hash() {
        // SELECT uuid_hash('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11') on PostgreSQL 15.
        assert_eq!(
            uuid_hash(&uuid_in(CANONICAL).unwrap()),
            UUID_HASH_OF_CANONICAL
        );
        assert_eq!(
            uuid_hash(&[0; 16]),
            UUID_HASH_OF_NIL,
            "uuid_hash('00000000-0000-0000-0000-000000000000')"
        );
    }

    const UUID_HASH_OF_CANONICAL: i32 = 1_154_666_245;
    const UUID_HASH_OF_NIL: i32 = 1_353_656_403;
}
