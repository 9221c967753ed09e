//! Index relations in the catalogs and their keys (PostgreSQL's
//! `catalog/index.c`: `index_create`, `index_drop`, `FormIndexDatum`, and
//! the B-tree operator classes' comparison support functions).
//!
//! An index is a `pg_class` row of relkind `'i'` with `relam` 403
//! (btree), one `pg_attribute` row per key column (named and typed as the
//! table's column), and a `pg_index` row naming the table, the key
//! attnums (`indkey`) and the per-column options (`indoption`: bit 0 DESC,
//! bit 1 NULLS FIRST, as PostgreSQL's `INDOPTION_DESC` /
//! `INDOPTION_NULLS_FIRST`). A PRIMARY KEY or UNIQUE constraint adds a
//! `pg_constraint` row of contype `'p'` / `'u'` whose `conindid` is the
//! index.
//!
//! # Keys
//!
//! A key is the stored values ([`super::datum`]) of the key columns, each
//! as a tag byte (0 NULL, else the storage shape) and its bytes: fixed
//! widths little-endian, byte strings length-prefixed. [`IndexKeyOrder`]
//! compares two keys column by column with the column type's B-tree
//! order (the same order `ORDER BY` uses, `sql::adt::datum_cmp`), DESC
//! and NULLS FIRST/LAST applied; the heap tuple id breaks ties inside the
//! tree (storage/nbtree README N1).
//!
//! Rules:
//! 1. The catalog rows are written in the transaction of the DDL, under
//!    the table's ShareLock (CREATE INDEX) or AccessExclusiveLock (DROP,
//!    constraints), so a writer of the table, which holds RowExclusiveLock,
//!    always sees a committed and complete set of indexes and maintains
//!    every one of them.
//! 2. The key encoding is stored on disk: changing it is a catalog
//!    version bump (`CATALOG_VERSION_NO`).

use std::cmp::Ordering;

use super::defs::*;
use super::relcache::{as_oid, as_str, scan_catalog};
use crate::sql::adt::array::ArrayValue;
use crate::sql::types::{Datum, Type};
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{self, HeapRelation, TmOutcome, WriteContext};
use crate::storage::heap::tuple::{oidvector_pack, oidvector_unpack};
use crate::storage::nbtree::{BtreeRelation, KeyOrder};
use crate::storage::types::{Oid, RelFileLocator};
use crate::storage::xact::{Snapshot, XactStatus};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// `pg_am.oid` of the B-tree access method.
pub const BTREE_AM_OID: Oid = 403;
/// `indoption` bits.
pub const INDOPTION_DESC: i16 = 0x0001;
pub const INDOPTION_NULLS_FIRST: i16 = 0x0002;

/// Column numbers (0-based) of `pg_index`.
pub mod col {
    pub const INDEXRELID: usize = 0;
    pub const INDRELID: usize = 1;
    pub const INDISUNIQUE: usize = 4;
    pub const INDNULLSNOTDISTINCT: usize = 5;
    pub const INDISPRIMARY: usize = 6;
    pub const INDISVALID: usize = 10;
    pub const INDKEY: usize = 15;
    pub const INDOPTION: usize = 18;
}

/// One index of a table, as the relcache hands it out.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexDef {
    pub oid: Oid,
    pub name: String,
    pub relfilenode: Oid,
    /// The indexed table.
    pub table_oid: Oid,
    pub db_oid: Oid,
    /// 1-based attnums of the key columns, in key order.
    pub keys: Vec<i16>,
    /// `indoption` per key column.
    pub options: Vec<i16>,
    /// Type oid per key column (the table column's).
    pub key_types: Vec<Oid>,
    pub unique: bool,
    pub primary: bool,
    pub nulls_not_distinct: bool,
}

/// The columns and options of a new index.
#[derive(Clone, Debug, PartialEq)]
pub struct NewIndex {
    pub name: String,
    pub keys: Vec<i16>,
    pub options: Vec<i16>,
    pub unique: bool,
    pub primary: bool,
    pub nulls_not_distinct: bool,
    /// The constraint the index backs: PRIMARY KEY (`'p'`) or UNIQUE (`'u'`).
    pub constraint: Option<u8>,
}

impl IndexDef {
    pub fn locator(&self) -> RelFileLocator {
        RelFileLocator {
            spc_oid: 0,
            db_oid: self.db_oid,
            rel_number: self.relfilenode,
        }
    }

    /// The index as the storage functions shared with tables see it
    /// (file creation and removal).
    pub fn heap_relation(&self) -> HeapRelation {
        HeapRelation {
            oid: self.oid,
            db_oid: self.db_oid,
            name: self.name.clone(),
            locator: self.locator(),
            desc: crate::storage::heap::TupleDesc::new(Vec::new()),
        }
    }

    /// What the B-tree needs.
    pub fn btree(&self) -> BtreeRelation {
        BtreeRelation {
            oid: self.oid,
            db_oid: self.db_oid,
            name: self.name.clone(),
            locator: self.locator(),
        }
    }

    /// The order of this index's keys (borrowed: no allocation on the
    /// per-row paths).
    pub fn key_order(&self) -> IndexKeyOrder<'_> {
        IndexKeyOrder {
            types: &self.key_types,
            options: &self.options,
        }
    }

    /// `FormIndexDatum`: the key of a table row (its stored values).
    pub fn form_key(&self, row: &[HeapValue]) -> Vec<u8> {
        let vals: Vec<&HeapValue> = self.keys.iter().map(|&a| &row[a as usize - 1]).collect();
        encode_key(&vals)
    }

    /// Whether the uniqueness check applies to `row`'s key: a key with a
    /// NULL never conflicts unless NULLS NOT DISTINCT.
    pub fn checks_unique(&self, row: &[HeapValue]) -> bool {
        self.unique
            && (self.nulls_not_distinct
                || self
                    .keys
                    .iter()
                    .all(|&a| !matches!(row[a as usize - 1], HeapValue::Null)))
    }

    /// The index as a relation for the catalog functions shared with
    /// tables (`pg_class` row updates, drops).
    pub fn as_relation(&self, table: &TableDef) -> TableDef {
        TableDef {
            oid: self.oid,
            name: self.name.clone(),
            namespace_oid: table.namespace_oid,
            namespace: table.namespace.clone(),
            db_oid: self.db_oid,
            relfilenode: self.relfilenode,
            relkind: 'i',
            columns: self
                .keys
                .iter()
                .map(|&a| table.columns[a as usize - 1].clone())
                .collect(),
            checks: Vec::new(),
            indexes: Vec::new(),
        }
    }

    /// `BuildIndexValueDescription`: `(a, b)=(1, x)` for DETAIL lines.
    pub fn describe_key(
        &self,
        table: &TableDef,
        row: &[HeapValue],
        fmt: &crate::sql::adt::SessionFormat,
    ) -> String {
        let q = crate::sql::functions::string::quote_identifier;
        let names: Vec<String> = self
            .keys
            .iter()
            .map(|&a| q(&table.columns[a as usize - 1].name))
            .collect();
        let values: Vec<String> = self
            .keys
            .iter()
            .map(|&a| {
                let c = &table.columns[a as usize - 1];
                let d = super::datum::to_datum(c.type_oid, row[a as usize - 1].clone())
                    .unwrap_or(Datum::Null);
                let ty = Type::from_oid(c.type_oid).unwrap_or(Type::Text);
                crate::sql::adt::output(&d, ty, fmt).unwrap_or_else(|| "null".into())
            })
            .collect();
        format!("({})=({})", names.join(", "), values.join(", "))
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

const TAG_NULL: u8 = 0;
const TAG_BOOL: u8 = 1;
const TAG_I16: u8 = 2;
const TAG_I32: u8 = 3;
const TAG_I64: u8 = 4;
const TAG_OID: u8 = 5;
const TAG_F32: u8 = 6;
const TAG_F64: u8 = 7;
const TAG_BYTES: u8 = 8;

/// Encodes stored values as a key (module doc).
pub fn encode_key(vals: &[&HeapValue]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * 9);
    for v in vals {
        let (tag, bytes): (u8, &[u8]) = match v {
            HeapValue::Null => (TAG_NULL, &[]),
            HeapValue::Bool(b) => (TAG_BOOL, if *b { &[1] } else { &[0] }),
            HeapValue::I16(i) => (TAG_I16, &i.to_le_bytes()),
            HeapValue::I32(i) => (TAG_I32, &i.to_le_bytes()),
            HeapValue::I64(i) => (TAG_I64, &i.to_le_bytes()),
            HeapValue::Oid(o) => (TAG_OID, &o.to_le_bytes()),
            HeapValue::F32(f) => (TAG_F32, &f.to_le_bytes()),
            HeapValue::F64(f) => (TAG_F64, &f.to_le_bytes()),
            HeapValue::Bytes(b) => {
                out.push(TAG_BYTES);
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(b);
                continue;
            }
        };
        out.push(tag);
        out.extend_from_slice(bytes);
    }
    out
}

/// One column of a key, borrowed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum KeyValue<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Oid(u32),
    Float(f64),
    Bytes(&'a [u8]),
}

impl<'a> KeyValue<'a> {
    fn to_heap(self, tag_f32: bool) -> HeapValue {
        match self {
            KeyValue::Null => HeapValue::Null,
            KeyValue::Bool(b) => HeapValue::Bool(b),
            KeyValue::Int(i) => HeapValue::I64(i),
            KeyValue::Oid(o) => HeapValue::Oid(o),
            KeyValue::Float(f) if tag_f32 => HeapValue::F32(f as f32),
            KeyValue::Float(f) => HeapValue::F64(f),
            KeyValue::Bytes(b) => HeapValue::Bytes(b.to_vec()),
        }
    }
}

/// Reads the next column of a key at `*pos`; None if the bytes end early.
fn next_value<'a>(b: &'a [u8], pos: &mut usize) -> Option<(KeyValue<'a>, u8)> {
    let tag = *b.get(*pos)?;
    *pos += 1;
    let mut take = |n: usize| -> Option<&'a [u8]> {
        let s = b.get(*pos..*pos + n)?;
        *pos += n;
        Some(s)
    };
    let v = match tag {
        TAG_NULL => KeyValue::Null,
        TAG_BOOL => KeyValue::Bool(take(1)?[0] != 0),
        TAG_I16 => KeyValue::Int(i16::from_le_bytes(take(2)?.try_into().ok()?) as i64),
        TAG_I32 => KeyValue::Int(i32::from_le_bytes(take(4)?.try_into().ok()?) as i64),
        TAG_I64 => KeyValue::Int(i64::from_le_bytes(take(8)?.try_into().ok()?)),
        TAG_OID => KeyValue::Oid(u32::from_le_bytes(take(4)?.try_into().ok()?)),
        TAG_F32 => KeyValue::Float(f32::from_le_bytes(take(4)?.try_into().ok()?) as f64),
        TAG_F64 => KeyValue::Float(f64::from_le_bytes(take(8)?.try_into().ok()?)),
        TAG_BYTES => {
            let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            KeyValue::Bytes(take(n)?)
        }
        _ => return None,
    };
    Some((v, tag))
}

/// The stored values of a key, in key column order.
pub fn decode_key(key: &[u8]) -> Option<Vec<HeapValue>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < key.len() {
        let (v, tag) = next_value(key, &mut pos)?;
        out.push(match (v, tag) {
            (KeyValue::Int(i), TAG_I16) => HeapValue::I16(i as i16),
            (KeyValue::Int(i), TAG_I32) => HeapValue::I32(i as i32),
            (v, t) => v.to_heap(t == TAG_F32),
        });
    }
    Some(out)
}

/// How a column's values compare (the operator class's support function 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpKind {
    /// Integers, dates, times, timestamps, oids, floats, booleans: by
    /// value, straight from the key bytes.
    Scalar,
    /// text, varchar, bpchar, name, "char", bytea, uuid: bytewise (the
    /// database's collation is C).
    Bytes,
    /// numeric, interval, jsonb, arrays, enums: through the SQL value.
    Value,
}

impl CmpKind {
    fn of(type_oid: Oid) -> CmpKind {
        match type_oid {
            25 | 1043 | 1042 | 19 | 18 | 17 | 2950 => CmpKind::Bytes,
            16 | 21 | 23 | 20 | 26 | 700 | 701 | 1082 | 1083 | 1114 | 1184 => CmpKind::Scalar,
            _ => CmpKind::Value,
        }
    }
}

/// Whether a column of this type can be a B-tree key (it has a default
/// B-tree operator class); the name of the type otherwise, for
/// `data type json has no default operator class for access method "btree"`.
pub fn btree_indexable(type_oid: Oid) -> bool {
    match type_oid {
        114 | 142 | 600 | 601 | 602 | 603 | 604 | 628 | 718 | 2278 | 705 => false,
        t => Type::from_oid(t).is_some_and(|ty| match ty.elem() {
            Some(e) => btree_indexable(e.oid()),
            None => true,
        }),
    }
}

#[derive(Clone, Copy, Debug)]
struct KeyColumn {
    type_oid: Oid,
    cmp: CmpKind,
    desc: bool,
    nulls_first: bool,
}

/// The order of an index's keys (module doc): its key types and
/// `indoption`s.
#[derive(Clone, Copy, Debug)]
pub struct IndexKeyOrder<'a> {
    types: &'a [Oid],
    options: &'a [i16],
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl KeyColumn {
    fn compare(&self, a: KeyValue<'_>, ta: u8, b: KeyValue<'_>, tb: u8) -> Ordering {
        let ord = match (a, b) {
            (KeyValue::Null, KeyValue::Null) => return Ordering::Equal,
            (KeyValue::Null, _) => {
                return if self.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            (_, KeyValue::Null) => {
                return if self.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (KeyValue::Int(x), KeyValue::Int(y)) => x.cmp(&y),
            (KeyValue::Oid(x), KeyValue::Oid(y)) => x.cmp(&y),
            (KeyValue::Bool(x), KeyValue::Bool(y)) => x.cmp(&y),
            (KeyValue::Float(x), KeyValue::Float(y)) => float_cmp(x, y),
            (KeyValue::Bytes(x), KeyValue::Bytes(y)) if self.cmp == CmpKind::Bytes => x.cmp(y),
            _ => {
                let da = super::datum::to_datum(self.type_oid, a.to_heap(ta == TAG_F32));
                let db = super::datum::to_datum(self.type_oid, b.to_heap(tb == TAG_F32));
                match (da, db) {
                    (Ok(x), Ok(y)) if !matches!(x, Datum::Null) && !matches!(y, Datum::Null) => {
                        crate::sql::adt::datum_cmp(&x, &y)
                    }
                    _ => Ordering::Equal,
                }
            }
        };
        if self.desc { ord.reverse() } else { ord }
    }
}

impl IndexKeyOrder<'_> {
    fn column(&self, i: usize) -> KeyColumn {
        let (t, o) = (self.types[i], self.options[i]);
        KeyColumn {
            type_oid: t,
            cmp: CmpKind::of(t),
            desc: o & INDOPTION_DESC != 0,
            nulls_first: o & INDOPTION_NULLS_FIRST != 0,
        }
    }

    /// Compares the first `n` columns of two keys. A key that ends first
    /// (a scan's start key on a prefix of the columns) is the lower; a
    /// malformed key ends where it stops parsing (never a panic;
    /// `bt_check` reports the tree's state).
    pub fn compare_prefix(&self, a: &[u8], b: &[u8], n: usize) -> Ordering {
        let (mut pa, mut pb) = (0, 0);
        for i in 0..n.min(self.types.len()) {
            let c = self.column(i);
            match (next_value(a, &mut pa), next_value(b, &mut pb)) {
                (Some((va, ta)), Some((vb, tb))) => match c.compare(va, ta, vb, tb) {
                    Ordering::Equal => {}
                    o => return o,
                },
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
            }
        }
        Ordering::Equal
    }
}

impl KeyOrder for IndexKeyOrder<'_> {
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        self.compare_prefix(a, b, usize::MAX)
    }
}

// ---------------------------------------------------------------------------
// Catalog rows
// ---------------------------------------------------------------------------

fn catalog(cat: Oid, db_oid: Oid) -> HeapRelation {
    TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation()
}

fn as_bool(v: &HeapValue) -> bool {
    matches!(v, HeapValue::Bool(true))
}

fn int2_array(v: &HeapValue) -> Vec<i16> {
    let HeapValue::Bytes(b) = v else {
        return Vec::new();
    };
    match crate::sql::adt::array::deserialize(b) {
        Ok(a) => a
            .items
            .iter()
            .filter_map(|d| match d {
                Datum::Int2(i) => Some(*i),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn int2_array_value(items: &[i16]) -> PgResult<HeapValue> {
    let a = ArrayValue::from_items(Type::Int2, items.iter().map(|&i| Datum::Int2(i)).collect())?;
    Ok(HeapValue::Bytes(crate::sql::adt::array::serialize(&a)))
}

/// The indexes of `table` (its `pg_index` rows and their `pg_class`
/// rows), by oid.
pub fn table_indexes(
    db_oid: Oid,
    table: &TableDef,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<IndexDef>> {
    let mut found: Vec<IndexDef> = Vec::new();
    scan_catalog(PG_INDEX, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[col::INDRELID]) == table.oid && as_bool(&row[col::INDISVALID]) {
            let keys = int2_array(&row[col::INDKEY]);
            let mut options = int2_array(&row[col::INDOPTION]);
            options.resize(keys.len(), 0);
            found.push(IndexDef {
                oid: as_oid(&row[col::INDEXRELID]),
                name: String::new(),
                relfilenode: 0,
                table_oid: table.oid,
                db_oid: table.db_oid,
                key_types: keys
                    .iter()
                    .map(|&a| table.columns.get(a as usize - 1).map_or(0, |c| c.type_oid))
                    .collect(),
                keys,
                options,
                unique: as_bool(&row[col::INDISUNIQUE]),
                primary: as_bool(&row[col::INDISPRIMARY]),
                nulls_not_distinct: as_bool(&row[col::INDNULLSNOTDISTINCT]),
            });
        }
        true
    })?;
    if found.is_empty() {
        return Ok(found);
    }
    scan_catalog(PG_CLASS, db_oid, snapshot, xact, &mut |_, row| {
        let oid = as_oid(&row[pg_class_col::OID]);
        if let Some(i) = found.iter_mut().find(|i| i.oid == oid) {
            i.name = as_str(&row[pg_class_col::RELNAME]);
            i.relfilenode = as_oid(&row[pg_class_col::RELFILENODE]);
        }
        true
    })?;
    // An index whose pg_class row this snapshot cannot see is not there.
    found.retain(|i| i.relfilenode != 0);
    // Checked and maintained in creation order, as PostgreSQL's
    // RelationGetIndexList (by oid) has them: the first unique
    // violation reported is the same.
    found.sort_by_key(|i| i.oid);
    Ok(found)
}

/// `index_create`'s catalog rows: `pg_class`, `pg_attribute`, `pg_index`
/// and (for a constraint) `pg_constraint`; `relhasindex` of the table.
/// The caller has chosen `oid` (also the relfilenode) and creates the file.
pub fn insert_index_rows(
    db_oid: Oid,
    table: &TableDef,
    oid: Oid,
    index: &NewIndex,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    let ch = |c: u8| HeapValue::Bytes(vec![c]);
    let mut class = pg_class_row(
        oid,
        &index.name,
        table.namespace_oid,
        index.keys.len(),
        false,
        0,
    );
    class[6] = HeapValue::Oid(BTREE_AM_OID);
    class[pg_class_col::RELKIND] = ch(b'i');
    class[pg_class_col::RELPAGES] = HeapValue::I32(1);
    class[pg_class_col::RELTUPLES] = HeapValue::F32(0.0);
    class[pg_class_col::RELFROZENXID] = HeapValue::I64(0);
    class[pg_class_col::RELFROZENXID + 1] = HeapValue::I64(0);
    access::heap_insert(&catalog(PG_CLASS, db_oid), &class, cx.xid, cx.cid)?;
    for (i, &a) in index.keys.iter().enumerate() {
        let c = &table.columns[a as usize - 1];
        access::heap_insert(
            &catalog(PG_ATTRIBUTE, db_oid),
            &pg_attribute_row(oid, &c.name, c.type_oid, i + 1, c.typmod, false, false, 0),
            cx.xid,
            cx.cid,
        )?;
    }
    let collations: Vec<Oid> = index
        .keys
        .iter()
        .map(|&a| {
            let t = table.columns[a as usize - 1].type_oid;
            Type::from_oid(t)
                .and_then(|ty| ty.entry())
                .map_or(0, |e| e.typcollation)
        })
        .collect();
    let opclasses: Vec<Oid> = index
        .keys
        .iter()
        .map(|&a| default_btree_opclass(table.columns[a as usize - 1].type_oid))
        .collect();
    let row = vec![
        HeapValue::Oid(oid),
        HeapValue::Oid(table.oid),
        HeapValue::I16(index.keys.len() as i16),
        HeapValue::I16(index.keys.len() as i16),
        HeapValue::Bool(index.unique),
        HeapValue::Bool(index.nulls_not_distinct),
        HeapValue::Bool(index.primary),
        HeapValue::Bool(false),
        HeapValue::Bool(true),
        HeapValue::Bool(false),
        HeapValue::Bool(true),
        HeapValue::Bool(false),
        HeapValue::Bool(true),
        HeapValue::Bool(true),
        HeapValue::Bool(false),
        int2_array_value(&index.keys)?,
        HeapValue::Bytes(oidvector_pack(&collations)),
        HeapValue::Bytes(oidvector_pack(&opclasses)),
        int2_array_value(&index.options)?,
        HeapValue::Null,
        HeapValue::Null,
    ];
    access::heap_insert(&catalog(PG_INDEX, db_oid), &row, cx.xid, cx.cid)?;
    if let Some(contype) = index.constraint {
        super::pg_constraint::insert_index_constraint(db_oid, table, oid, index, contype, cx)?;
    }
    if table.indexes.is_empty() {
        // The caller's definition is current (the command counter moved
        // after any earlier index of this statement): the row is updated
        // once per command.
        super::vacuum::update_class_row(db_oid, table, snapshot, cx, |row| {
            row[pg_class_col::RELHASINDEX] = HeapValue::Bool(true);
        })?;
    }
    Ok(())
}

/// `index_drop`'s catalog rows: the index's `pg_class`, `pg_attribute` and
/// `pg_index` rows and any `pg_constraint` row it backs. The caller holds
/// AccessExclusiveLock on the table and removes the file at commit.
pub fn delete_index_rows(
    db_oid: Oid,
    index_oid: Oid,
    with_constraint: bool,
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    let targets: [(Oid, usize); 4] = [
        (PG_CLASS, pg_class_col::OID),
        (PG_ATTRIBUTE, pg_attribute_col::ATTRELID),
        (PG_INDEX, col::INDEXRELID),
        (PG_CONSTRAINT, super::pg_constraint::col::CONINDID),
    ];
    for (cat, key_col) in targets {
        if cat == PG_CONSTRAINT && !with_constraint {
            continue;
        }
        let mut tids = Vec::new();
        scan_catalog(cat, db_oid, snapshot, cx.xact, &mut |tid, row| {
            if as_oid(&row[key_col]) == index_oid
                && (cat != PG_CONSTRAINT
                    || matches!(super::pg_constraint::contype_of(row), b'p' | b'u'))
            {
                tids.push(tid);
            }
            true
        })?;
        let rel = catalog(cat, db_oid);
        for tid in tids {
            if access::heap_delete(&rel, tid, cx)? != TmOutcome::Ok {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "tuple concurrently updated",
                ));
            }
        }
    }
    Ok(())
}

/// The `pg_constraint` (oid, name, contype) backed by `index_oid`, if any.
pub fn index_constraint(
    db_oid: Oid,
    index_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<(Oid, String, u8)>> {
    let mut found = None;
    scan_catalog(PG_CONSTRAINT, db_oid, snapshot, xact, &mut |_, row| {
        let t = super::pg_constraint::contype_of(row);
        if as_oid(&row[super::pg_constraint::col::CONINDID]) == index_oid
            && matches!(t, b'p' | b'u')
        {
            found = Some((
                as_oid(&row[super::pg_constraint::col::OID]),
                as_str(&row[super::pg_constraint::col::CONNAME]),
                t,
            ));
            false
        } else {
            true
        }
    })?;
    Ok(found)
}

/// The table an index belongs to (`pg_index.indrelid`).
pub fn index_table(
    db_oid: Oid,
    index_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<Oid>> {
    let mut found = None;
    scan_catalog(PG_INDEX, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[col::INDEXRELID]) == index_oid {
            found = Some(as_oid(&row[col::INDRELID]));
            false
        } else {
            true
        }
    })?;
    Ok(found)
}

/// Sets `pg_attribute.attnotnull` of the columns `attnums` of `table`
/// (a PRIMARY KEY added to an existing table).
pub fn set_not_null(
    db_oid: Oid,
    table: &TableDef,
    attnums: &[i16],
    snapshot: &Snapshot,
    cx: &mut WriteContext<'_>,
) -> PgResult<()> {
    use pg_attribute_col as att;
    let mut rows = Vec::new();
    scan_catalog(PG_ATTRIBUTE, db_oid, snapshot, cx.xact, &mut |tid, row| {
        if as_oid(&row[att::ATTRELID]) == table.oid
            && matches!(row[att::ATTNUM], HeapValue::I16(n) if attnums.contains(&n))
            && !matches!(row[att::ATTNOTNULL], HeapValue::Bool(true))
        {
            rows.push((tid, row.to_vec()));
        }
        true
    })?;
    let rel = catalog(PG_ATTRIBUTE, db_oid);
    for (tid, mut row) in rows {
        row[att::ATTNOTNULL] = HeapValue::Bool(true);
        if access::heap_update(&rel, tid, &row, cx)?.0 != TmOutcome::Ok {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "tuple concurrently updated",
            ));
        }
    }
    Ok(())
}

/// The quoted names of the index's key columns, from the table's
/// `pg_attribute` rows, in key order.
fn key_names(
    db_oid: Oid,
    ix: &IndexRow,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<String>> {
    use pg_attribute_col as att;
    let mut names = Vec::new();
    scan_catalog(PG_ATTRIBUTE, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[att::ATTRELID]) == ix.table
            && let HeapValue::I16(n) = row[att::ATTNUM]
        {
            names.push((n, as_str(&row[att::ATTNAME])));
        }
        true
    })?;
    Ok(ix
        .keys
        .iter()
        .map(|&a| {
            names
                .iter()
                .find(|(n, _)| *n == a)
                .map_or_else(|| format!("column{a}"), |(_, s)| quote(s))
        })
        .collect())
}

/// One `pg_index` row's key columns, options and flags.
struct IndexRow {
    table: Oid,
    keys: Vec<i16>,
    options: Vec<i16>,
    unique: bool,
    nulls_not_distinct: bool,
}

fn index_row(
    db_oid: Oid,
    index_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<IndexRow>> {
    let mut found = None;
    scan_catalog(PG_INDEX, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[col::INDEXRELID]) != index_oid {
            return true;
        }
        let keys = int2_array(&row[col::INDKEY]);
        let mut options = int2_array(&row[col::INDOPTION]);
        options.resize(keys.len(), 0);
        found = Some(IndexRow {
            table: as_oid(&row[col::INDRELID]),
            keys,
            options,
            unique: as_bool(&row[col::INDISUNIQUE]),
            nulls_not_distinct: as_bool(&row[col::INDNULLSNOTDISTINCT]),
        });
        false
    })?;
    Ok(found)
}

fn quote(s: &str) -> String {
    crate::sql::functions::string::quote_identifier(s)
}

/// `pg_get_indexdef(index, column, pretty)`: the CREATE INDEX statement
/// (column 0), or the name of key column `column` (1-based). None for an
/// oid that is no index.
pub fn index_def(
    db_oid: Oid,
    index_oid: Oid,
    column: i32,
    pretty: bool,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<String>> {
    let Some(ix) = index_row(db_oid, index_oid, snapshot, xact)? else {
        return Ok(None);
    };
    let names = key_names(db_oid, &ix, snapshot, xact)?;
    if column > 0 {
        return Ok(names.get(column as usize - 1).cloned());
    }
    let mut rels: Vec<(Oid, String, Oid)> = Vec::new();
    scan_catalog(PG_CLASS, db_oid, snapshot, xact, &mut |_, row| {
        let oid = as_oid(&row[pg_class_col::OID]);
        if oid == index_oid || oid == ix.table {
            rels.push((
                oid,
                as_str(&row[pg_class_col::RELNAME]),
                as_oid(&row[pg_class_col::RELNAMESPACE]),
            ));
        }
        true
    })?;
    let (Some(index), Some(table)) = (
        rels.iter().find(|r| r.0 == index_oid),
        rels.iter().find(|r| r.0 == ix.table),
    ) else {
        return Ok(None);
    };
    let mut ns_name = String::new();
    scan_catalog(PG_NAMESPACE, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[pg_namespace_col::OID]) == table.2 {
            ns_name = as_str(&row[pg_namespace_col::NSPNAME]);
            false
        } else {
            true
        }
    })?;
    let cols: Vec<String> = names
        .into_iter()
        .zip(&ix.options)
        .map(|(mut c, &o)| {
            let desc = o & INDOPTION_DESC != 0;
            let nulls_first = o & INDOPTION_NULLS_FIRST != 0;
            if desc {
                c.push_str(" DESC");
                if !nulls_first {
                    c.push_str(" NULLS LAST");
                }
            } else if nulls_first {
                c.push_str(" NULLS FIRST");
            }
            c
        })
        .collect();
    // Pretty: the table unqualified where the default search_path finds
    // it (PostgreSQL asks the session's; ferrogres's catalog layer knows
    // the default).
    let table_name = if pretty && matches!(ns_name.as_str(), "public" | "pg_catalog") {
        quote(&table.1)
    } else {
        format!("{}.{}", quote(&ns_name), quote(&table.1))
    };
    Ok(Some(format!(
        "CREATE {}INDEX {} ON {} USING btree ({}){}",
        if ix.unique { "UNIQUE " } else { "" },
        quote(&index.1),
        table_name,
        cols.join(", "),
        if ix.nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        }
    )))
}

/// `pg_get_constraintdef` of a PRIMARY KEY / UNIQUE constraint backed by
/// index `index_oid`: `PRIMARY KEY (a, b)`, `UNIQUE NULLS NOT DISTINCT (c)`.
pub fn index_constraint_def(
    db_oid: Oid,
    contype: u8,
    index_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<String>> {
    let Some(ix) = index_row(db_oid, index_oid, snapshot, xact)? else {
        return Ok(None);
    };
    let cols = key_names(db_oid, &ix, snapshot, xact)?;
    Ok(Some(format!(
        "{}{} ({})",
        if contype == b'p' {
            "PRIMARY KEY"
        } else {
            "UNIQUE"
        },
        if ix.nulls_not_distinct {
            " NULLS NOT DISTINCT"
        } else {
            ""
        },
        cols.join(", ")
    )))
}

/// The rows of the `pg_indexes` view: (schemaname, tablename, indexname,
/// indexdef) of every index, by schema, table and index name.
pub fn pg_indexes_rows(
    db_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Vec<[String; 4]>> {
    let mut pairs: Vec<(Oid, Oid)> = Vec::new();
    scan_catalog(PG_INDEX, db_oid, snapshot, xact, &mut |_, row| {
        pairs.push((as_oid(&row[col::INDEXRELID]), as_oid(&row[col::INDRELID])));
        true
    })?;
    let mut classes = std::collections::HashMap::new();
    scan_catalog(PG_CLASS, db_oid, snapshot, xact, &mut |_, row| {
        classes.insert(
            as_oid(&row[pg_class_col::OID]),
            (
                as_str(&row[pg_class_col::RELNAME]),
                as_oid(&row[pg_class_col::RELNAMESPACE]),
            ),
        );
        true
    })?;
    let mut namespaces = std::collections::HashMap::new();
    scan_catalog(PG_NAMESPACE, db_oid, snapshot, xact, &mut |_, row| {
        namespaces.insert(
            as_oid(&row[pg_namespace_col::OID]),
            as_str(&row[pg_namespace_col::NSPNAME]),
        );
        true
    })?;
    let mut out = Vec::new();
    for (index, table) in pairs {
        let (Some((iname, _)), Some((tname, ns))) = (classes.get(&index), classes.get(&table))
        else {
            continue;
        };
        let Some(def) = index_def(db_oid, index, 0, false, snapshot, xact)? else {
            continue;
        };
        out.push([
            namespaces.get(ns).cloned().unwrap_or_default(),
            tname.clone(),
            iname.clone(),
            def,
        ]);
    }
    out.sort();
    Ok(out)
}

/// PostgreSQL 15's default B-tree operator class of a type (`pg_opclass`
/// oids, for `pg_index.indclass`); 0 where ferrogres's type has none listed.
pub fn default_btree_opclass(type_oid: Oid) -> Oid {
    match type_oid {
        16 => 424,
        17 => 428,
        18 => 429,
        19 => 1986,
        20 => 3124,
        21 => 1979,
        23 => 1978,
        25 | 1043 => 3126,
        26 => 1981,
        700 => 1970,
        701 => 1971,
        1042 => 426,
        1082 => 3122,
        1083 => 1996,
        1114 => 3128,
        1184 => 3127,
        1186 => 3123,
        1700 => 3125,
        2950 => 2968,
        3802 => 4033,
        _ => 0,
    }
}

/// Reads an `oidvector` column (`indclass`, `indcollation`).
pub fn oidvector(v: &HeapValue) -> Vec<Oid> {
    match v {
        HeapValue::Bytes(b) => oidvector_unpack(b).unwrap_or_default(),
        _ => Vec::new(),
    }
}
