//! Relation sizes and transaction-id age (PostgreSQL's `dbsize.c` and
//! `xid.c`'s `xid_age`): `pg_relation_size`, `pg_table_size`,
//! `pg_total_relation_size`, `pg_indexes_size`, `pg_size_pretty`, `age`.
//!
//! There is no `regclass` type yet: a relation is named by text
//! (`'t'`, `'public.t'`, `'"Mixed"'`) or by its oid.
//!
//! `age(xid)`: ferrogres's transaction ids are 64-bit and never wrap, so
//! `relfrozenxid`/`datfrozenxid` are int8 and `age()` is simply the
//! distance from the current (or next) xid, returned as int4 like
//! PostgreSQL's (saturating at 2^31-1, which 64-bit ids make harmless:
//! wraparound cannot happen, and FREEZE still sets the frozen bits).

use super::super::adt::as_i128;
use super::super::exec::EvalContext;
use super::super::tables::{RelationRef, RelationSize};
use super::super::types::{Datum, Type};
use super::Builder;
use crate::storage::types::ForkNumber;
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

/// A relation name as text: `name`, `schema.name`, double quotes kept
/// literal, unquoted parts folded to lower case (`stringToQualifiedNameList`).
fn parse_name(text: &str) -> PgResult<RelationRef> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c if quoted => cur.push(c),
            c => cur.extend(c.to_lowercase()),
        }
    }
    parts.push(cur);
    let invalid = || PgError::error(sqlstate::INVALID_NAME_SYNTAX, "invalid name syntax");
    if quoted || parts.iter().any(|p| p.is_empty()) {
        return Err(invalid());
    }
    match parts.len() {
        1 => Ok(RelationRef::Name(None, parts.pop().expect("one part"))),
        2 => {
            let name = parts.pop().expect("two parts");
            Ok(RelationRef::Name(parts.pop(), name))
        }
        _ => Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "cross-database references are not implemented: \"{}\"",
                text
            ),
        )),
    }
}

pub(super) fn relation_arg(d: &Datum) -> PgResult<RelationRef> {
    match d {
        Datum::Text(s) => parse_name(s),
        other => match as_i128(other) {
            Some(v) if (0..=u32::MAX as i128).contains(&v) => Ok(RelationRef::Oid(v as u32)),
            _ => Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("invalid relation argument {other:?}"),
            )),
        },
    }
}

fn size_of(cx: &mut EvalContext, rel: &Datum, what: RelationSize) -> R {
    let rel = relation_arg(rel)?;
    if let RelationRef::Name(schema, name) = &rel
        && cx.server.lookup_table(schema.as_deref(), name)?.is_none()
    {
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!(
                "relation \"{}\" does not exist",
                match schema {
                    Some(s) => format!("{s}.{name}"),
                    None => name.clone(),
                }
            ),
        ));
    }
    Ok(match cx.server.relation_size(&rel, what)? {
        Some(n) => Datum::Int8(n),
        None => Datum::Null,
    })
}

fn pg_relation_size(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    size_of(cx, &a[0], RelationSize::Fork(ForkNumber::Main))
}

fn pg_relation_size_fork(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let fork = match &a[1] {
        Datum::Text(s) => match s.as_str() {
            "main" => ForkNumber::Main,
            "fsm" => ForkNumber::Fsm,
            "vm" => ForkNumber::VisibilityMap,
            "init" => ForkNumber::Init,
            _ => {
                return Err(
                    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, "invalid fork name")
                        .with_hint("Valid fork names are \"main\", \"fsm\", \"vm\", and \"init\"."),
                );
            }
        },
        _ => ForkNumber::Main,
    };
    size_of(cx, &a[0], RelationSize::Fork(fork))
}

fn pg_table_size(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    size_of(cx, &a[0], RelationSize::Table)
}

fn pg_total_relation_size(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    size_of(cx, &a[0], RelationSize::Total)
}

fn pg_indexes_size(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    size_of(cx, &a[0], RelationSize::Indexes)
}

/// PostgreSQL 15's `pg_size_pretty` on an integer number of bytes: the
/// `size_pretty_units` loop (bytes below 10 kB; then kB, MB, GB, TB, PB
/// below 20 × 1024 - 1 of the unit, half-rounded).
pub fn size_pretty(size: i128) -> String {
    const UNITS: &[(&str, i128, bool, u32)] = &[
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let half_rounded = |x: i128| (x + if x < 0 { -1 } else { 1 }) / 2;
    let mut size = size;
    for (i, &(name, limit, round, bits)) in UNITS.iter().enumerate() {
        let last = i + 1 == UNITS.len();
        if last || size.abs() < limit {
            if round {
                size = half_rounded(size);
            }
            return format!("{size} {name}");
        }
        let (_, _, next_round, next_bits) = UNITS[i + 1];
        let shift = next_bits - bits - next_round as u32 + round as u32;
        size /= 1i128 << shift;
    }
    unreachable!("the last unit always matches")
}

fn pg_size_pretty(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = match &a[0] {
        Datum::Numeric(n) => {
            let t = n.trunc(0).to_string_pg();
            t.parse::<i128>().map_err(|_| {
                PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "value out of range for pg_size_pretty",
                )
            })?
        }
        other => as_i128(other).expect("bigint argument"),
    };
    Ok(Datum::Text(size_pretty(n)))
}

fn age(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let xid: i64 = match &a[0] {
        Datum::Xid(x) => *x as i64,
        other => as_i128(other).expect("integer argument") as i64,
    };
    let now = cx.server.age_reference_xid()?;
    // Special xids (frozen, bootstrap) are infinitely old, as in PostgreSQL.
    if xid < 3 {
        return Ok(Datum::Int4(i32::MAX));
    }
    Ok(Datum::Int4(
        (now - xid).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
    ))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    for t in [Text, Oid] {
        b.func("pg_relation_size", &[t], Int8, pg_relation_size);
        b.func("pg_relation_size", &[t, Text], Int8, pg_relation_size_fork);
        b.func("pg_table_size", &[t], Int8, pg_table_size);
        b.func("pg_total_relation_size", &[t], Int8, pg_total_relation_size);
        b.func("pg_indexes_size", &[t], Int8, pg_indexes_size);
    }
    b.func("pg_size_pretty", &[Int8], Text, pg_size_pretty);
    b.func("pg_size_pretty", &[Numeric], Text, pg_size_pretty);
    b.func("age", &[Xid], Int4, age);
    b.func("age", &[Int8], Int4, age);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_pretty_rounds_like_postgresql_15() {
        // Values checked against PostgreSQL 15.
        assert_eq!(size_pretty(8192), "8192 bytes");
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(16384), "16 kB");
        assert_eq!(size_pretty(1_293_942_784), "1234 MB");
        assert_eq!(size_pretty(10 * 1024 * 1024), "10 MB");
        assert_eq!(size_pretty(-10240), "-10 kB");
        assert_eq!(size_pretty(0), "0 bytes");
    }

    #[test]
    fn relation_names_parse_as_qualified_identifiers() {
        assert_eq!(
            parse_name("T").unwrap(),
            RelationRef::Name(None, "t".into())
        );
        assert_eq!(
            parse_name("public.\"Mixed\"").unwrap(),
            RelationRef::Name(Some("public".into()), "Mixed".into())
        );
        assert!(parse_name("a..b").is_err());
    }
}
