//! Sequence functions (PostgreSQL's `commands/sequence.c` SQL interface):
//! `nextval`, `currval`, `setval`, `lastval`, `pg_sequence_last_value`
//! and `pg_get_serial_sequence`. The backend does the work
//! (`TableContext::nextval` ...); all of them are volatile in `pg_proc`,
//! so the planner never folds them.

use super::super::adt::regtypes::reg_in;
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::Builder;
use crate::sql::functions::string::quote_identifier;
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

fn oid_arg(d: &Datum) -> u32 {
    match d {
        Datum::Oid(o) => *o,
        other => unreachable!("regclass argument {other:?}"),
    }
}

fn int8_arg(d: &Datum) -> i64 {
    match d {
        Datum::Int8(v) => *v,
        other => unreachable!("bigint argument {other:?}"),
    }
}

fn nextval(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int8(cx.server.nextval(oid_arg(&a[0]))?))
}

fn currval(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int8(cx.server.currval(oid_arg(&a[0]))?))
}

fn lastval(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int8(cx.server.lastval()?))
}

fn setval(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let is_called = a.get(2).is_none_or(|d| matches!(d, Datum::Bool(true)));
    Ok(Datum::Int8(cx.server.setval(
        oid_arg(&a[0]),
        int8_arg(&a[1]),
        is_called,
    )?))
}

/// `pg_sequence_last_value(regclass)`: the page's `last_value`, NULL
/// before the first `nextval` (what `pg_sequences.last_value` shows).
fn pg_sequence_last_value(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(match cx.server.sequence_state(oid_arg(&a[0]))? {
        Some((last, _, true)) => Datum::Int8(last),
        _ => Datum::Null,
    })
}

/// `pg_get_serial_sequence(table, column)`: the qualified name of the
/// sequence the column owns (SERIAL, `OWNED BY`), or NULL. The table name
/// is parsed as SQL (folded to lower case), the column name is literal.
fn pg_get_serial_sequence(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (Datum::Text(table), Datum::Text(column)) = (&a[0], &a[1]) else {
        return Ok(Datum::Null);
    };
    let rel_oid = reg_in(table, Type::Regclass)?;
    let Some(rel) = cx.server.lookup_relation(rel_oid)? else {
        return Ok(Datum::Null);
    };
    let Some(attnum) = rel.columns.iter().position(|c| &c.name == column) else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_COLUMN,
            format!(
                "column \"{column}\" of relation \"{}\" does not exist",
                rel.name
            ),
        ));
    };
    for (seq, sub, _) in cx.server.owned_sequences(rel_oid)? {
        if sub == attnum as i32 + 1
            && let Some(s) = cx.server.lookup_relation(seq)?
        {
            return Ok(Datum::Text(format!(
                "{}.{}",
                quote_identifier(&s.namespace),
                quote_identifier(&s.name)
            )));
        }
    }
    Ok(Datum::Null)
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.func("nextval", &[Regclass], Int8, nextval);
    b.func("currval", &[Regclass], Int8, currval);
    b.func("setval", &[Regclass, Int8], Int8, setval);
    b.func("setval", &[Regclass, Int8, Bool], Int8, setval);
    b.func("lastval", &[], Int8, lastval);
    b.func(
        "pg_sequence_last_value",
        &[Regclass],
        Int8,
        pg_sequence_last_value,
    );
    b.func(
        "pg_get_serial_sequence",
        &[Text, Text],
        Text,
        pg_get_serial_sequence,
    );
}
