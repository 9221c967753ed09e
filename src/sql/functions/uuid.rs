//! Built-ins over `uuid` (`utils/adt/uuid.c`): the six comparison
//! operators (byte order, as `memcmp`), `uuid_cmp`, `uuid_hash` and
//! `gen_random_uuid()`. PostgreSQL 15 has no `min`/`max` for uuid, so
//! neither does ferrogres.

use super::super::adt::uuid;
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::Builder;
use crate::utils::elog::PgResult;

type R = PgResult<Datum>;

fn uuid_arg(d: &Datum) -> &[u8; 16] {
    match d {
        Datum::Uuid(u) => u,
        other => panic!("uuid argument expected, got {other:?}"),
    }
}

/// `gen_random_uuid()`: volatile, a new value at every call.
fn gen_random_uuid(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Uuid(uuid::gen_random_uuid()?))
}

/// `uuid_cmp`: PostgreSQL returns `memcmp`'s result, which glibc makes
/// the difference of the first differing bytes (`uuid_cmp(x'ff..', x'00..')`
/// is 255), so ferrogres returns the same.
fn uuid_cmp(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (x, y) = (uuid_arg(&a[0]), uuid_arg(&a[1]));
    Ok(Datum::Int4(
        x.iter()
            .zip(y)
            .find(|(p, q)| p != q)
            .map_or(0, |(p, q)| *p as i32 - *q as i32),
    ))
}

fn uuid_hash(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(uuid::uuid_hash(uuid_arg(&a[0]))))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.comparison_ops(Uuid);
    b.func("uuid_cmp", &[Uuid, Uuid], Int4, uuid_cmp);
    b.func("uuid_hash", &[Uuid], Int4, uuid_hash);
    b.func("gen_random_uuid", &[], Uuid, gen_random_uuid);
}
