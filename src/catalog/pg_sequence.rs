//! The catalog rows of sequences (PostgreSQL's `pg_sequence` and the
//! `pg_depend` rows of `OWNED BY`).
//!
//! A sequence is a `pg_class` row of `relkind 'S'` with the three columns
//! of [`crate::storage::sequence::SEQ_COLUMNS`], one `pg_sequence` row of
//! its parameters and, when a column owns it (`SERIAL`, `OWNED BY t.c`),
//! one `pg_depend` row `(pg_class, seq, 0) → (pg_class, table, attnum)`
//! of type `'a'` (auto), as PostgreSQL records it. All of them are
//! written in the creating transaction, like any DDL; the counter itself
//! lives on the sequence's page (`storage::sequence`), outside
//! transactions.

use super::defs::*;
use super::relcache::{as_oid, scan_catalog};
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{self, HeapRelation, TmOutcome, WriteContext};
use crate::storage::types::Oid;
use crate::storage::xact::{Snapshot, XactStatus};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// A sequence's `pg_sequence` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqForm {
    /// int2, int4 or int8 (`AS type`).
    pub type_oid: Oid,
    pub start: i64,
    pub increment: i64,
    pub max: i64,
    pub min: i64,
    pub cache: i64,
    pub cycle: bool,
}

impl SeqForm {
    pub fn params(&self) -> crate::storage::sequence::SeqParams {
        crate::storage::sequence::SeqParams {
            increment: self.increment,
            min: self.min,
            max: self.max,
            cache: self.cache,
            cycle: self.cycle,
        }
    }
}

fn catalog(cat: Oid, db_oid: Oid) -> HeapRelation {
    TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation()
}

fn form_row(seq: Oid, f: &SeqForm) -> Vec<HeapValue> {
    vec![
        HeapValue::Oid(seq),
        HeapValue::Oid(f.type_oid),
        HeapValue::I64(f.start),
        HeapValue::I64(f.increment),
        HeapValue::I64(f.max),
        HeapValue::I64(f.min),
        HeapValue::I64(f.cache),
        HeapValue::Bool(f.cycle),
    ]
}

fn as_i64(v: &HeapValue) -> i64 {
    if let HeapValue::I64(i) = v { *i } else { 0 }
}

/// The `pg_sequence` row of `seq`, if it is a sequence.
pub fn read_form(
    db_oid: Oid,
    seq: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<SeqForm>> {
    use pg_sequence_col as c;
    let mut found = None;
    scan_catalog(PG_SEQUENCE, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[c::SEQRELID]) != seq {
            return true;
        }
        found = Some(SeqForm {
            type_oid: as_oid(&row[c::SEQTYPID]),
            start: as_i64(&row[c::SEQSTART]),
            increment: as_i64(&row[c::SEQINCREMENT]),
            max: as_i64(&row[c::SEQMAX]),
            min: as_i64(&row[c::SEQMIN]),
            cache: as_i64(&row[c::SEQCACHE]),
            cycle: matches!(row[c::SEQCYCLE], HeapValue::Bool(true)),
        });
        false
    })?;
    Ok(found)
}

/// Writes the `pg_sequence` row of a new sequence.
pub fn insert_form(db_oid: Oid, seq: Oid, f: &SeqForm, cx: &mut WriteContext<'_>) -> PgResult<()> {
    access::heap_insert(
        &catalog(PG_SEQUENCE, db_oid),
        &form_row(seq, f),
        cx.xid,
        cx.cid,
    )?;
    Ok(())
}

/// Deletes the rows of `cat` whose `key_col` is `key` and for which `also`
/// holds; or replaces them with `replace`'s row.
fn change_rows(
    cat: Oid,
    db_oid: Oid,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
    matches: impl Fn(&[HeapValue]) -> bool,
    replace: Option<&[HeapValue]>,
) -> PgResult<()> {
    let mut tids = Vec::new();
    scan_catalog(cat, db_oid, snapshot, cx.xact, &mut |tid, row| {
        if matches(row) {
            tids.push(tid);
        }
        true
    })?;
    let rel = catalog(cat, db_oid);
    for tid in tids {
        let outcome = match replace {
            None => access::heap_delete(&rel, tid, cx)?,
            Some(new) => access::heap_update(&rel, tid, new, cx)?.0,
        };
        if outcome != TmOutcome::Ok {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "tuple concurrently updated",
            ));
        }
    }
    Ok(())
}

/// `ALTER SEQUENCE`: the new `pg_sequence` row.
pub fn update_form(
    db_oid: Oid,
    seq: Oid,
    f: &SeqForm,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    let row = form_row(seq, f);
    change_rows(
        PG_SEQUENCE,
        db_oid,
        snapshot,
        cx,
        |r| as_oid(&r[pg_sequence_col::SEQRELID]) == seq,
        Some(&row),
    )
}

/// DROP SEQUENCE: its `pg_sequence` row and the `pg_depend` rows of its
/// ownership (the `pg_class`/`pg_attribute` rows go as a table's do).
pub fn delete_sequence_rows(
    db_oid: Oid,
    seq: Oid,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    change_rows(
        PG_SEQUENCE,
        db_oid,
        snapshot,
        cx,
        |r| as_oid(&r[pg_sequence_col::SEQRELID]) == seq,
        None,
    )?;
    set_owner(db_oid, seq, None, snapshot, cx)
}

/// `OWNED BY table.column` (`Some((table, attnum, b'a'))`), an identity
/// column's sequence (`b'i'`, internal) or `OWNED BY NONE`: replaces the
/// sequence's dependency on a column.
pub fn set_owner(
    db_oid: Oid,
    seq: Oid,
    owner: Option<(Oid, i16, u8)>,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    use pg_depend_col as d;
    change_rows(
        PG_DEPEND,
        db_oid,
        snapshot,
        cx,
        |r| {
            as_oid(&r[d::CLASSID]) == PG_CLASS
                && as_oid(&r[d::OBJID]) == seq
                && as_oid(&r[d::REFCLASSID]) == PG_CLASS
        },
        None,
    )?;
    if let Some((table, attnum, deptype)) = owner {
        access::heap_insert(
            &catalog(PG_DEPEND, db_oid),
            &[
                HeapValue::Oid(PG_CLASS),
                HeapValue::Oid(seq),
                HeapValue::I32(0),
                HeapValue::Oid(PG_CLASS),
                HeapValue::Oid(table),
                HeapValue::I32(attnum as i32),
                HeapValue::Bytes(vec![deptype]),
            ],
            cx.xid,
            cx.cid,
        )?;
    }
    Ok(())
}

/// A `pg_depend` row's (refobjsubid, deptype).
fn column_dependency(r: &[HeapValue]) -> (i32, u8) {
    use pg_depend_col as d;
    let sub = match r[d::REFOBJSUBID] {
        HeapValue::I32(i) => i,
        _ => 0,
    };
    let deptype = match &r[d::DEPTYPE] {
        HeapValue::Bytes(b) => b.first().copied().unwrap_or(0),
        _ => 0,
    };
    (sub, deptype)
}

/// The column that owns sequence `seq`: (table oid, attnum, deptype).
pub fn owner_of(
    db_oid: Oid,
    seq: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<(Oid, i32, u8)>> {
    use pg_depend_col as d;
    let mut out = None;
    scan_catalog(PG_DEPEND, db_oid, snapshot, xact, &mut |_, r| {
        if as_oid(&r[d::CLASSID]) == PG_CLASS
            && as_oid(&r[d::OBJID]) == seq
            && as_oid(&r[d::REFCLASSID]) == PG_CLASS
        {
            let (sub, deptype) = column_dependency(r);
            out = Some((as_oid(&r[d::REFOBJID]), sub, deptype));
            return false;
        }
        true
    })?;
    Ok(out)
}

/// The sequences a table's columns own: (sequence oid, attnum, deptype
/// `b'a'` or `b'i'`).
pub fn owned_sequences(
    db_oid: Oid,
    table: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<(Oid, i32, u8)>> {
    use pg_depend_col as d;
    let mut out = Vec::new();
    scan_catalog(PG_DEPEND, db_oid, snapshot, xact, &mut |_, r| {
        if as_oid(&r[d::CLASSID]) == PG_CLASS
            && as_oid(&r[d::REFCLASSID]) == PG_CLASS
            && as_oid(&r[d::REFOBJID]) == table
        {
            let (sub, deptype) = column_dependency(r);
            if deptype != b'a' && deptype != b'i' {
                return true;
            }
            out.push((as_oid(&r[d::OBJID]), sub, deptype));
        }
        true
    })?;
    Ok(out)
}
