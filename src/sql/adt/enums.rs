//! Enum types (PostgreSQL's `utils/adt/enum.c`): `CREATE TYPE mood AS
//! ENUM ('sad', 'ok', 'happy')`.
//!
//! A value is its `pg_enum` row's oid on disk and its label on the wire, as
//! in PostgreSQL. In memory ([`EnumValue`]) it carries the oid, the
//! `enumsortorder` and the label, read from the statement's catalog view
//! (`catalog::syscache::enum_labels`) when the value is made — by the
//! input function, or when a stored oid is read back — so comparing,
//! hashing and printing need no catalog lookup:
//! - comparison is by `enumsortorder` (labels added with `BEFORE`/`AFTER`
//!   fall between their neighbours), then by oid;
//! - equality and hashing are by oid;
//! - output is the label, input the label exactly (case and spaces count),
//!   else 22P02 `invalid input value for enum mood: "x"`.

use std::sync::Arc;

use super::super::types::{Datum, Type};
use crate::catalog::syscache;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// One value of an enum type.
#[derive(Clone, Debug)]
pub struct EnumValue {
    /// The `pg_enum` row's oid (what is stored).
    pub oid: u32,
    pub sortorder: f32,
    pub label: Arc<str>,
}

impl PartialEq for EnumValue {
    fn eq(&self, other: &Self) -> bool {
        self.oid == other.oid
    }
}

impl EnumValue {
    pub fn cmp(&self, other: &EnumValue) -> std::cmp::Ordering {
        self.sortorder
            .total_cmp(&other.sortorder)
            .then(self.oid.cmp(&other.oid))
    }
}

/// `enum_in`: the label of `ty`.
pub fn enum_in(input: &str, ty: Type) -> PgResult<Datum> {
    syscache::enum_labels(ty.oid())?
        .into_iter()
        .find(|l| &*l.label == input)
        .map(|l| {
            Datum::Enum(EnumValue {
                oid: l.oid,
                sortorder: l.sortorder,
                label: l.label,
            })
        })
        .ok_or_else(|| {
            PgError::error(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                format!("invalid input value for enum {}: \"{input}\"", ty.name()),
            )
        })
}

/// A stored enum oid back to its value (`enum_out`'s lookup). A label
/// that no longer exists is PostgreSQL's 22P02 `invalid internal value
/// for enum: N`.
pub fn from_oid(oid: u32) -> PgResult<Datum> {
    match syscache::enum_label(oid)? {
        Some((_, l)) => Ok(Datum::Enum(EnumValue {
            oid: l.oid,
            sortorder: l.sortorder,
            label: l.label,
        })),
        None => Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            format!("invalid internal value for enum: {oid}"),
        )),
    }
}

/// All values of `ty` in sort order (`enum_range`, `enum_first`, `enum_last`).
pub fn values(ty: Type) -> PgResult<Vec<EnumValue>> {
    Ok(syscache::enum_labels(ty.oid())?
        .into_iter()
        .map(|l| EnumValue {
            oid: l.oid,
            sortorder: l.sortorder,
            label: l.label,
        })
        .collect())
}
