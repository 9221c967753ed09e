//! Built-ins over enum types (`utils/adt/enum.c`): the six comparison
//! operators on `anyenum` (by `enumsortorder`, `adt::enums`), `enum_cmp`,
//! `enum_first`, `enum_last`, `enum_range` and `min`/`max`.
//!
//! `enum_first`, `enum_last` and `enum_range` read only their argument's
//! type, so they are not strict: `enum_first(NULL::mood)` is the first
//! label, and a NULL bound of `enum_range(a, b)` means "from the first" or
//! "to the last", as in PostgreSQL.

use super::super::adt::array::ArrayValue;
use super::super::adt::enums::{self, EnumValue};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::{AggKind, ArgType, Builder, COMPARISONS, FuncKind, Impl};
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

fn enum_arg(d: &Datum) -> Option<&EnumValue> {
    match d {
        Datum::Enum(e) => Some(e),
        _ => None,
    }
}

fn enum_cmp(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (Some(x), Some(y)) = (enum_arg(&a[0]), enum_arg(&a[1])) else {
        return Ok(Datum::Null);
    };
    Ok(Datum::Int4(x.cmp(y) as i32))
}

/// The enum's values; PostgreSQL's 55000 when it has none.
fn values_of(ty: Type) -> PgResult<Vec<EnumValue>> {
    let v = enums::values(ty)?;
    if v.is_empty() {
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("enum {} contains no values", ty.name()),
        ));
    }
    Ok(v)
}

fn enum_first(_: &mut EvalContext, _: &[Datum], types: &[Type], _: Type) -> R {
    Ok(Datum::Enum(values_of(types[0])?.swap_remove(0)))
}

fn enum_last(_: &mut EvalContext, _: &[Datum], types: &[Type], _: Type) -> R {
    Ok(Datum::Enum(values_of(types[0])?.pop().expect("not empty")))
}

/// `enum_range(anyenum)` and `enum_range(anyenum, anyenum)`.
fn enum_range(_: &mut EvalContext, a: &[Datum], types: &[Type], _: Type) -> R {
    let ty = types[0];
    let mut items = enums::values(ty)?;
    if a.len() == 2 {
        let lo = enum_arg(&a[0]).cloned();
        let hi = enum_arg(&a[1]).cloned();
        items.retain(|v| {
            lo.as_ref().is_none_or(|l| v.cmp(l).is_ge())
                && hi.as_ref().is_none_or(|h| v.cmp(h).is_le())
        });
    }
    let items = items.into_iter().map(Datum::Enum).collect();
    Ok(Datum::Array(Box::new(ArrayValue::from_items(ty, items)?)))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    let e = ArgType::AnyEnum;
    for (sym, c) in COMPARISONS {
        b.op_any(sym, e, e, Bool, Impl::Cmp(c));
    }
    b.push(
        "enum_cmp",
        FuncKind::Function,
        vec![e, e],
        Int4,
        Impl::Scalar(enum_cmp),
    );
    b.func_nonstrict("enum_first", &[e], Type::AnyEnum, enum_first, false);
    b.func_nonstrict("enum_last", &[e], Type::AnyEnum, enum_last, false);
    b.func_nonstrict("enum_range", &[e], Type::AnyArray, enum_range, false);
    b.func_nonstrict("enum_range", &[e, e], Type::AnyArray, enum_range, false);
    b.agg("min", &[e], Type::AnyEnum, AggKind::Min);
    b.agg("max", &[e], Type::AnyEnum, AggKind::Max);
}
