//! The catalog rows of user-defined types (PostgreSQL's `pg_type.c`
//! `TypeCreate` and `pg_enum.c`): today enum types.
//!
//! `CREATE TYPE mood AS ENUM ('sad', 'ok')` writes three kinds of rows in
//! the creating transaction, so the type appears exactly when it commits:
//! - the type's `pg_type` row (`typtype 'e'`, `typcategory 'E'`, 4 bytes by
//!   value, `enum_in`/`enum_out`);
//! - its array type's row, named with a leading underscore (`_mood`), as
//!   PostgreSQL's `makeArrayTypeName` does;
//! - one `pg_enum` row per label, `enumsortorder` 1, 2, 3, ..., with oids
//!   drawn in label order (PostgreSQL keeps them ascending too, so an oid
//!   order is the sort order until a label is added in between).
//!
//! The SQL layer (`sql/typecmds.rs`) checks names, labels and dependencies
//! against the statement's catalog view before calling here; this module
//! only writes. Concurrent creators of one name are serialised by an
//! object lock on (`pg_type`, namespace, name), as `create_table` does for
//! relations, and look again once they hold it.

use super::builtin::{TypeEntry, pg_type_row};
use super::defs::*;
use super::relcache::{as_oid, as_str, scan_catalog};
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{self, HeapRelation, TmOutcome, WriteContext};
use crate::storage::lock::lmgr::{LockMode, LockTag};
use crate::storage::types::Oid;
use crate::storage::xact::Snapshot;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// PostgreSQL's `enum_in`, `enum_out`, `array_in`, `array_out`.
const F_ENUM_IN: Oid = 3506;
const F_ENUM_OUT: Oid = 3507;
const F_ARRAY_IN: Oid = 750;
const F_ARRAY_OUT: Oid = 751;

fn catalog(cat: Oid, db_oid: Oid) -> HeapRelation {
    TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation()
}

/// Takes the lock that serialises creators of `name` in `namespace`.
pub fn lock_type_name(
    db_oid: Oid,
    namespace: Oid,
    name: &str,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    let name_hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    let tag = LockTag::Object {
        db: db_oid,
        class_id: PG_TYPE,
        obj_id: namespace,
        obj_sub_id: name_hash,
    };
    cx.locks
        .lock_acquire(tag, LockMode::ShareRowExclusive, false, cx.check_interrupts)?;
    Ok(())
}

/// Whether `namespace` has a type named `name` (a user type row or a
/// relation's row type, which every table has in PostgreSQL).
pub fn type_name_taken(
    db_oid: Oid,
    namespace: Oid,
    name: &str,
    snapshot: &Snapshot,
    xact: &dyn crate::storage::xact::XactStatus,
) -> PgResult<bool> {
    let mut taken = false;
    for (cat, ns_col, name_col) in [
        (PG_TYPE, pg_type_col::TYPNAMESPACE, pg_type_col::TYPNAME),
        (PG_CLASS, pg_class_col::RELNAMESPACE, pg_class_col::RELNAME),
    ] {
        scan_catalog(cat, db_oid, snapshot, xact, &mut |_, row| {
            taken |= as_oid(&row[ns_col]) == namespace && as_str(&row[name_col]) == name;
            !taken
        })?;
    }
    Ok(taken)
}

/// Writes an enum type, its array type and its labels; returns the type's
/// oid. `array_name` is the array type's name (`_mood`).
#[allow(clippy::too_many_arguments)]
pub fn create_enum(
    db_oid: Oid,
    namespace: Oid,
    owner: Oid,
    name: &str,
    array_name: &str,
    labels: &[String],
    cx: &mut WriteContext<'_>,
) -> PgResult<Oid> {
    let type_oid = super::oid::new_oid();
    let array_oid = super::oid::new_oid();
    let base = TypeEntry {
        oid: type_oid,
        typname: "",
        typlen: 4,
        typbyval: true,
        typtype: b'e',
        typcategory: b'E',
        typispreferred: false,
        typdelim: b',',
        typelem: 0,
        typarray: array_oid,
        typinput: F_ENUM_IN,
        typoutput: F_ENUM_OUT,
        typreceive: 0,
        typsend: 0,
        typmodin: 0,
        typmodout: 0,
        typalign: b'i',
        typstorage: b'p',
        typcollation: 0,
        descr: None,
    };
    let array = TypeEntry {
        oid: array_oid,
        typlen: -1,
        typbyval: false,
        typtype: b'b',
        typcategory: b'A',
        typelem: type_oid,
        typarray: 0,
        typinput: F_ARRAY_IN,
        typoutput: F_ARRAY_OUT,
        typstorage: b'x',
        ..base
    };
    let pg_type = catalog(PG_TYPE, db_oid);
    for (entry, typname) in [(base, name), (array, array_name)] {
        let mut row = pg_type_row(&entry, namespace, owner);
        row[pg_type_col::TYPNAME] = HeapValue::name(typname);
        access::heap_insert(&pg_type, &row, cx.xid, cx.cid)?;
    }
    let pg_enum = catalog(PG_ENUM, db_oid);
    for (i, label) in labels.iter().enumerate() {
        insert_label(&pg_enum, type_oid, (i + 1) as f32, label, cx)?;
    }
    Ok(type_oid)
}

fn insert_label(
    pg_enum: &HeapRelation,
    type_oid: Oid,
    sortorder: f32,
    label: &str,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    access::heap_insert(
        pg_enum,
        &[
            HeapValue::Oid(super::oid::new_oid()),
            HeapValue::Oid(type_oid),
            HeapValue::F32(sortorder),
            HeapValue::name(label),
        ],
        cx.xid,
        cx.cid,
    )?;
    Ok(())
}

/// `ALTER TYPE ... ADD VALUE`: one more label at `sortorder`.
pub fn add_label(
    db_oid: Oid,
    type_oid: Oid,
    sortorder: f32,
    label: &str,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    insert_label(&catalog(PG_ENUM, db_oid), type_oid, sortorder, label, cx)
}

/// Deletes the rows of `cat` whose column `key_col` holds one of `oids`,
/// or updates them where `replace` gives a new row.
fn change_where(
    cat: Oid,
    key_col: usize,
    oids: &[Oid],
    db_oid: Oid,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
    mut replace: impl FnMut(&[HeapValue]) -> Option<Vec<HeapValue>>,
) -> PgResult<()> {
    let mut rows = Vec::new();
    scan_catalog(cat, db_oid, snapshot, cx.xact, &mut |tid, row| {
        if oids.contains(&as_oid(&row[key_col])) {
            rows.push((tid, row.to_vec()));
        }
        true
    })?;
    let rel = catalog(cat, db_oid);
    for (tid, row) in rows {
        let outcome = match replace(&row) {
            None => access::heap_delete(&rel, tid, cx)?,
            Some(new) => access::heap_update(&rel, tid, &new, cx)?.0,
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

/// `ALTER TYPE ... RENAME VALUE`: the label row `label_oid` gets `new`.
pub fn rename_label(
    db_oid: Oid,
    label_oid: Oid,
    new: &str,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    change_where(
        PG_ENUM,
        pg_enum_col::OID,
        &[label_oid],
        db_oid,
        snapshot,
        cx,
        |row| {
            let mut row = row.to_vec();
            row[pg_enum_col::ENUMLABEL] = HeapValue::name(new);
            Some(row)
        },
    )
}

/// `DROP TYPE`: the type's and its array type's `pg_type` rows, its
/// labels and descriptions. The caller has checked that no column uses it.
pub fn drop_type(
    db_oid: Oid,
    type_oid: Oid,
    array_oid: Oid,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    let both = [type_oid, array_oid];
    change_where(
        PG_TYPE,
        pg_type_col::OID,
        &both,
        db_oid,
        snapshot,
        cx,
        |_| None,
    )?;
    change_where(
        PG_ENUM,
        pg_enum_col::ENUMTYPID,
        &[type_oid],
        db_oid,
        snapshot,
        cx,
        |_| None,
    )?;
    change_where(PG_DESCRIPTION, 0, &both, db_oid, snapshot, cx, |_| None)
}

/// The columns whose type is one of `type_oids`, as (table name, column
/// name), for DROP TYPE's dependency check (PostgreSQL's `pg_depend`).
pub fn columns_of_types(
    db_oid: Oid,
    type_oids: &[Oid],
    snapshot: &Snapshot,
    xact: &dyn crate::storage::xact::XactStatus,
) -> PgResult<Vec<(String, String)>> {
    let mut cols = Vec::new();
    scan_catalog(PG_ATTRIBUTE, db_oid, snapshot, xact, &mut |_, row| {
        if type_oids.contains(&as_oid(&row[pg_attribute_col::ATTTYPID])) {
            cols.push((
                as_oid(&row[pg_attribute_col::ATTRELID]),
                as_str(&row[pg_attribute_col::ATTNAME]),
            ));
        }
        true
    })?;
    if cols.is_empty() {
        return Ok(Vec::new());
    }
    let mut names = std::collections::HashMap::new();
    scan_catalog(PG_CLASS, db_oid, snapshot, xact, &mut |_, row| {
        // An index's columns are its table's (PostgreSQL records the
        // index's dependency on the column, not on the type).
        if as_str(&row[pg_class_col::RELKIND]) != "i" {
            names.insert(
                as_oid(&row[pg_class_col::OID]),
                as_str(&row[pg_class_col::RELNAME]),
            );
        }
        true
    })?;
    Ok(cols
        .into_iter()
        .filter_map(|(rel, col)| names.get(&rel).map(|n| (n.clone(), col)))
        .collect())
}
