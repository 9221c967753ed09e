//! The catalog rows of table constraints (PostgreSQL's `pg_constraint`,
//! `heap.c`'s `StoreRelCheck` and `pg_constraint.c`).
//!
//! ferrogres has CHECK constraints (`contype 'c'`); NOT NULL lives in
//! `pg_attribute.attnotnull`, as in PostgreSQL 15. A CHECK constraint is
//! one `pg_constraint` row: its name (unique among the table's
//! constraints), the table, the columns the expression reads (`conkey`)
//! and the expression as SQL text in `conbin` (PostgreSQL keeps a node
//! tree there; ferrogres's stored expressions are SQL text, as
//! `pg_attrdef.adbin` is). `pg_class.relchecks` counts the table's CHECK
//! constraints, as psql's `\d` relies on.
//!
//! Rules:
//! 1. The rows are written and deleted in the transaction of the DDL, under
//!    the table's AccessExclusiveLock (the caller takes it), so a writer of
//!    the table always sees the constraints of a committed catalog.
//! 2. The relcache reads a table's CHECK constraints with its columns,
//!    sorted by name: PostgreSQL checks them in name order, so the one a
//!    failing row reports is the same.

use super::defs::*;
use super::relcache::{as_oid, as_str, scan_catalog};
use crate::sql::adt::array::ArrayValue;
use crate::sql::types::{Datum, Type};
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{self, HeapRelation, TmOutcome, WriteContext};
use crate::storage::types::Oid;
use crate::storage::xact::{Snapshot, XactStatus};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Column numbers (0-based) of `pg_constraint`.
pub mod col {
    pub const OID: usize = 0;
    pub const CONNAME: usize = 1;
    pub const CONNAMESPACE: usize = 2;
    pub const CONTYPE: usize = 3;
    pub const CONVALIDATED: usize = 6;
    pub const CONRELID: usize = 7;
    pub const CONINDID: usize = 9;
    pub const CONNOINHERIT: usize = 17;
    pub const CONBIN: usize = 25;
}

/// A CHECK constraint of a table, as the relcache hands it out.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckConstraint {
    pub oid: Oid,
    pub name: String,
    /// The boolean expression over the table's columns, as SQL text.
    pub expr: String,
    /// False for `NOT VALID` until `VALIDATE CONSTRAINT`.
    pub validated: bool,
    pub no_inherit: bool,
}

/// A CHECK constraint to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCheck {
    pub name: String,
    pub expr: String,
    /// The attnums the expression reads (`conkey`).
    pub columns: Vec<i16>,
    pub validated: bool,
    pub no_inherit: bool,
}

fn catalog(cat: Oid, db_oid: Oid) -> HeapRelation {
    TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation()
}

/// `contype` of a `pg_constraint` row.
pub fn contype_of(row: &[HeapValue]) -> u8 {
    match &row[col::CONTYPE] {
        HeapValue::Bytes(b) => b.first().copied().unwrap_or(0),
        _ => 0,
    }
}

fn check_of(row: &[HeapValue]) -> CheckConstraint {
    CheckConstraint {
        oid: as_oid(&row[col::OID]),
        name: as_str(&row[col::CONNAME]),
        expr: as_str(&row[col::CONBIN]),
        validated: matches!(row[col::CONVALIDATED], HeapValue::Bool(true)),
        no_inherit: matches!(row[col::CONNOINHERIT], HeapValue::Bool(true)),
    }
}

/// The CHECK constraints of `table`, by name (rule 2).
pub fn check_constraints(
    db_oid: Oid,
    table: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<CheckConstraint>> {
    let mut out = Vec::new();
    scan_catalog(PG_CONSTRAINT, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[col::CONRELID]) == table && contype_of(row) == b'c' {
            out.push(check_of(row));
        }
        true
    })?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The names of the constraints in schema `namespace` (PostgreSQL's
/// `ConstraintNameExists`, for `ChooseConstraintName`), or of `table`'s
/// constraints only.
pub fn constraint_names(
    db_oid: Oid,
    namespace: Oid,
    table: Option<Oid>,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<String>> {
    let mut out = Vec::new();
    scan_catalog(PG_CONSTRAINT, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[col::CONNAMESPACE]) == namespace
            && table.is_none_or(|t| as_oid(&row[col::CONRELID]) == t)
        {
            out.push(as_str(&row[col::CONNAME]));
        }
        true
    })?;
    Ok(out)
}

/// `StoreRelCheck`: the `pg_constraint` row of a CHECK constraint of
/// `table`; returns its oid.
pub fn insert_check(
    db_oid: Oid,
    table: &TableDef,
    check: &NewCheck,
    cx: &mut WriteContext<'_>,
) -> PgResult<Oid> {
    insert_row(
        db_oid,
        table,
        ConstraintRow {
            name: &check.name,
            contype: b'c',
            validated: check.validated,
            index_oid: 0,
            no_inherit: check.no_inherit,
            columns: &check.columns,
            conbin: Some(&check.expr),
        },
        cx,
    )
}

/// What differs between the `pg_constraint` rows ferrogres writes.
struct ConstraintRow<'a> {
    name: &'a str,
    contype: u8,
    validated: bool,
    index_oid: Oid,
    no_inherit: bool,
    columns: &'a [i16],
    conbin: Option<&'a str>,
}

/// A `pg_constraint` row of `table` in PostgreSQL 15's column order (not
/// deferrable, local, no foreign-key columns); returns its oid.
fn insert_row(
    db_oid: Oid,
    table: &TableDef,
    c: ConstraintRow<'_>,
    cx: &mut WriteContext<'_>,
) -> PgResult<Oid> {
    let oid = super::oid::new_oid();
    let ch = |c: u8| HeapValue::Bytes(vec![c]);
    let conkey = ArrayValue::from_items(
        Type::Int2,
        c.columns.iter().map(|&a| Datum::Int2(a)).collect(),
    )?;
    let row = [
        HeapValue::Oid(oid),
        HeapValue::name(c.name),
        HeapValue::Oid(table.namespace_oid),
        ch(c.contype),
        HeapValue::Bool(false),
        HeapValue::Bool(false),
        HeapValue::Bool(c.validated),
        HeapValue::Oid(table.oid),
        HeapValue::Oid(0),
        HeapValue::Oid(c.index_oid),
        HeapValue::Oid(0),
        HeapValue::Oid(0),
        ch(b' '),
        ch(b' '),
        ch(b' '),
        HeapValue::Bool(true),
        HeapValue::I32(0),
        HeapValue::Bool(c.no_inherit),
        HeapValue::Bytes(crate::sql::adt::array::serialize(&conkey)),
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
        c.conbin
            .map_or(HeapValue::Null, |e| HeapValue::Bytes(e.as_bytes().to_vec())),
    ];
    access::heap_insert(&catalog(PG_CONSTRAINT, db_oid), &row, cx.xid, cx.cid)?;
    Ok(oid)
}

/// The `pg_constraint` row of a PRIMARY KEY (`'p'`) or UNIQUE (`'u'`)
/// constraint backed by the index `index_oid` (`index_constraint_create`);
/// named as the index, as PostgreSQL names them (`connoinherit` true, as
/// PostgreSQL 15 sets it for them).
pub fn insert_index_constraint(
    db_oid: Oid,
    table: &TableDef,
    index_oid: Oid,
    index: &super::index::NewIndex,
    contype: u8,
    cx: &mut WriteContext<'_>,
) -> PgResult<Oid> {
    insert_row(
        db_oid,
        table,
        ConstraintRow {
            name: &index.name,
            contype,
            validated: true,
            index_oid,
            no_inherit: true,
            columns: &index.keys,
            conbin: None,
        },
        cx,
    )
}

/// Sets `pg_class.relchecks` of `table` to `count`.
pub fn set_relchecks(
    db_oid: Oid,
    table: &TableDef,
    count: usize,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    super::vacuum::update_class_row(db_oid, table, snapshot, cx, |row| {
        row[pg_class_col::RELCHECKS] = HeapValue::I16(count as i16);
    })
}

/// The constraints of `table` that `matches` picks: deleted, or (with
/// `validate`) marked validated. Returns how many.
pub fn change_constraints(
    db_oid: Oid,
    table: Oid,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
    matches: impl Fn(&CheckConstraint) -> bool,
    validate: bool,
) -> PgResult<usize> {
    let mut found = Vec::new();
    scan_catalog(PG_CONSTRAINT, db_oid, snapshot, cx.xact, &mut |tid, row| {
        if as_oid(&row[col::CONRELID]) == table && matches(&check_of(row)) {
            found.push((tid, row.to_vec()));
        }
        true
    })?;
    let rel = catalog(PG_CONSTRAINT, db_oid);
    for (tid, mut row) in found.iter().cloned() {
        let outcome = if validate {
            row[col::CONVALIDATED] = HeapValue::Bool(true);
            access::heap_update(&rel, tid, &row, cx)?.0
        } else {
            access::heap_delete(&rel, tid, cx)?
        };
        if outcome != TmOutcome::Ok {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "tuple concurrently updated",
            ));
        }
    }
    Ok(found.len())
}

/// `pg_get_constraintdef`'s text of the constraint `oid`: `CHECK (expr)`,
/// with the expression parenthesised once more unless `pretty`, as
/// PostgreSQL's deparser prints a top-level operator. None when `oid` is
/// no constraint.
pub fn constraint_def(
    db_oid: Oid,
    oid: Oid,
    pretty: bool,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<String>> {
    let mut out = None;
    let mut index = None;
    scan_catalog(PG_CONSTRAINT, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[col::OID]) != oid {
            return true;
        }
        if matches!(contype_of(row), b'p' | b'u') {
            index = Some((contype_of(row), as_oid(&row[col::CONINDID])));
        }
        if contype_of(row) == b'c' {
            let c = check_of(row);
            let simple = c
                .expr
                .chars()
                .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '"');
            let mut text = if pretty || simple {
                format!("CHECK ({})", c.expr)
            } else {
                format!("CHECK (({}))", c.expr)
            };
            if c.no_inherit {
                text.push_str(" NO INHERIT");
            }
            if !c.validated {
                text.push_str(" NOT VALID");
            }
            out = Some(text);
        }
        false
    })?;
    if let Some((contype, index_oid)) = index {
        return super::index::index_constraint_def(db_oid, contype, index_oid, snapshot, xact);
    }
    Ok(out)
}
