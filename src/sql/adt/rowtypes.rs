//! Row values (`record`): PostgreSQL's `rowtypes.c` for anonymous records.
//!
//! A [`RecordValue`] is what `ROW(a, b)` and a whole-row reference (`t` for
//! a FROM item `t`) evaluate to: the field values with their types. Output
//! is `record_out`'s: `(f1,f2,...)`, a NULL field empty, a field quoted
//! with `"` when it is empty or holds `"`, `\`, `(`, `)`, `,` or white
//! space (doubling `"` and `\` inside). Ordering is btree `record_cmp`'s:
//! field by field, two NULLs equal and NULL after any value, a shorter
//! record first when all its fields match. (A json field, which
//! PostgreSQL cannot order, orders by its text here.)
//!
//! Not yet: composite types with catalog rows (a table's row type, `CREATE
//! TYPE ... AS (...)`), record input, binary I/O, field selection
//! (`(t).a`), records in table columns and arrays of records.

use std::cmp::Ordering;

use super::SessionFormat;
use crate::sql::types::{Datum, Type};

#[derive(Clone, Debug, PartialEq)]
pub struct RecordValue {
    pub fields: Vec<Datum>,
    pub types: Vec<Type>,
}

impl RecordValue {
    /// A record datum of `fields` of `types`.
    pub fn datum(fields: Vec<Datum>, types: Vec<Type>) -> Datum {
        debug_assert_eq!(fields.len(), types.len());
        Datum::Record(Box::new(RecordValue { fields, types }))
    }
}

/// `record_out`.
pub fn record_out(r: &RecordValue, fmt: &SessionFormat) -> String {
    let mut out = String::from("(");
    for (i, (d, t)) in r.fields.iter().zip(&r.types).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(v) = super::output(d, *t, fmt) else {
            continue;
        };
        let quote = v.is_empty()
            || v.chars()
                .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_ascii_whitespace());
        if !quote {
            out.push_str(&v);
            continue;
        }
        out.push('"');
        for c in v.chars() {
            if c == '"' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(')');
    out
}

/// btree `record_cmp`.
pub fn record_cmp(a: &RecordValue, b: &RecordValue) -> Ordering {
    for (x, y) in a.fields.iter().zip(&b.fields) {
        let o = match (x, y) {
            (Datum::Null, Datum::Null) => Ordering::Equal,
            (Datum::Null, _) => Ordering::Greater,
            (_, Datum::Null) => Ordering::Less,
            // json has no ordering (PostgreSQL raises 42883 at run time);
            // its text keeps the comparison total here.
            (Datum::Json(x), Datum::Json(y)) => x.cmp(y),
            (x, y) => super::datum_cmp(x, y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.fields.len().cmp(&b.fields.len())
}
