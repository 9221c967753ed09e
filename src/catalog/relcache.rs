//! Per-backend relation cache and catalog updates (PostgreSQL's relcache.c,
//! namespace.c lookups, heap.c's heap_create_with_catalog and
//! heap_drop_with_catalog).
//!
//! Rules:
//! 1. Lookups read the catalogs with the caller's snapshot, so a backend
//!    sees its own uncommitted DDL and other sessions' committed DDL, no more.
//! 2. The cache is dropped when the shared catalog generation moved (another
//!    transaction's DDL committed) and after this backend's own DDL.
//! 3. Creating a name takes a lock on (namespace, name) for the rest of the
//!    transaction, so two sessions creating the same table serialise and
//!    the second sees the first's row (42P07) once it commits — the job
//!    PostgreSQL's unique index on pg_class(relname, relnamespace) does.

use std::collections::HashMap;
use std::sync::Arc;

use super::defs::pg_attribute_col as att;
use super::defs::*;
use super::oid;
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{self, TmOutcome, WriteContext};
use crate::storage::heap::htup::MAX_HEAP_ATTRIBUTE_NUMBER;
use crate::storage::lock::lmgr::{LockMode, LockTag};
use crate::storage::page::ItemPointer;
use crate::storage::types::Oid;
use crate::storage::xact::{Snapshot, XactStatus};
use crate::utils::elog::{PgError, PgResult, sqlstate};

pub struct RelCache {
    db_oid: Oid,
    generation: u64,
    /// (namespace, relname) → the relation, or `None` when the name was
    /// looked up and does not exist there: an unqualified name is looked
    /// up in `pg_catalog` first, and that miss must not scan `pg_class`
    /// on every statement. Misses are dropped with hits (rule 2).
    tables: HashMap<Oid, HashMap<String, Option<Arc<TableDef>>>>,
    /// Schema name → oid, `None` for a schema that does not exist (the
    /// default search_path's `$user`).
    namespaces: HashMap<String, Option<Oid>>,
}

/// Reads a `name`/`text` column.
pub fn as_str(v: &HeapValue) -> String {
    match v {
        HeapValue::Bytes(b) => String::from_utf8_lossy(b)
            .trim_end_matches('\0')
            .to_string(),
        _ => String::new(),
    }
}

pub fn as_oid(v: &HeapValue) -> Oid {
    match v {
        HeapValue::Oid(o) => *o,
        HeapValue::I32(i) => *i as Oid,
        _ => 0,
    }
}

fn as_i16(v: &HeapValue) -> i16 {
    if let HeapValue::I16(i) = v { *i } else { 0 }
}

fn as_i32(v: &HeapValue) -> i32 {
    if let HeapValue::I32(i) = v { *i } else { 0 }
}

fn as_bool(v: &HeapValue) -> bool {
    matches!(v, HeapValue::Bool(true))
}

/// Scans a catalog, calling `f` for each visible row.
pub(crate) fn scan_catalog(
    cat: Oid,
    db_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
    f: &mut dyn FnMut(ItemPointer, &[HeapValue]) -> bool,
) -> PgResult<()> {
    let rel = TableDef::for_catalog(catalog_def(cat), db_oid).heap_relation();
    access::heap_scan(&rel, snapshot, xact, &mut |tid, row| Ok(f(tid, &row)))
}

/// Looks a database up in the shared `pg_database`: (oid, datallowconn).
pub fn lookup_database(
    name: &str,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<(Oid, bool)>> {
    let mut found = None;
    scan_catalog(PG_DATABASE, 0, snapshot, xact, &mut |_, row| {
        if as_str(&row[pg_database_col::DATNAME]) == name {
            found = Some((
                as_oid(&row[pg_database_col::OID]),
                as_bool(&row[pg_database_col::DATALLOWCONN]),
            ));
            false
        } else {
            true
        }
    })?;
    Ok(found)
}

/// (relnamespace, relname) of the relation `rel_oid`.
fn class_name(
    db_oid: Oid,
    rel_oid: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<(Oid, String)>> {
    let mut found = None;
    scan_catalog(PG_CLASS, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[pg_class_col::OID]) == rel_oid {
            found = Some((
                as_oid(&row[pg_class_col::RELNAMESPACE]),
                as_str(&row[pg_class_col::RELNAME]),
            ));
            false
        } else {
            true
        }
    })?;
    Ok(found)
}

fn namespace_name(
    db_oid: Oid,
    ns: Oid,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> PgResult<Option<String>> {
    let mut found = None;
    scan_catalog(PG_NAMESPACE, db_oid, snapshot, xact, &mut |_, row| {
        if as_oid(&row[pg_namespace_col::OID]) == ns {
            found = Some(as_str(&row[pg_namespace_col::NSPNAME]));
            false
        } else {
            true
        }
    })?;
    Ok(found)
}

impl RelCache {
    pub fn new(db_oid: Oid) -> RelCache {
        RelCache {
            db_oid,
            generation: oid::generation(),
            tables: HashMap::new(),
            namespaces: HashMap::new(),
        }
    }

    /// The database this cache reads.
    pub fn db_oid(&self) -> Oid {
        self.db_oid
    }

    /// Drops everything if another transaction's DDL committed (rule 2).
    /// Drops the cache if another backend's DDL committed since it was
    /// filled; true if it did.
    pub fn invalidate_if_needed(&mut self) -> bool {
        let g = oid::generation();
        if g != self.generation {
            self.invalidate();
            self.generation = g;
            return true;
        }
        false
    }

    pub fn invalidate(&mut self) {
        self.tables.clear();
        self.namespaces.clear();
    }

    /// Drops what is cached for one name, found or missing.
    fn forget(&mut self, ns: Oid, name: &str) {
        if let Some(names) = self.tables.get_mut(&ns) {
            names.remove(name);
        }
    }

    fn namespace_oid(
        &mut self,
        name: &str,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<Oid>> {
        if let Some(o) = self.namespaces.get(name) {
            return Ok(*o);
        }
        let mut found = None;
        scan_catalog(PG_NAMESPACE, self.db_oid, snapshot, xact, &mut |_, row| {
            if as_str(&row[pg_namespace_col::NSPNAME]) == name {
                found = Some(as_oid(&row[pg_namespace_col::OID]));
                false
            } else {
                true
            }
        })?;
        self.namespaces.insert(name.to_string(), found);
        Ok(found)
    }

    /// Finds a table by (optionally qualified) name. Unqualified names look
    /// in `pg_catalog`, then `public` (the default search_path); sessions
    /// use [`RelCache::lookup_in_path`] with their own search_path.
    pub fn lookup(
        &mut self,
        schema: Option<&str>,
        name: &str,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<Arc<TableDef>>> {
        match schema {
            Some(s) => self.lookup_in(&[s], true, name, snapshot, xact),
            None => self.lookup_in(&["pg_catalog", "public"], false, name, snapshot, xact),
        }
    }

    /// Finds an unqualified table name along `search_path` (schema names,
    /// `$user` already replaced): `pg_catalog` first unless the path names
    /// it, then each schema of the path that exists (`RelnameGetRelid`).
    pub fn lookup_in_path(
        &mut self,
        search_path: &[String],
        name: &str,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<Arc<TableDef>>> {
        let mut schemas: Vec<&str> = Vec::with_capacity(search_path.len() + 1);
        if !search_path.iter().any(|s| s == "pg_catalog") {
            schemas.push("pg_catalog");
        }
        schemas.extend(search_path.iter().map(String::as_str));
        self.lookup_in(&schemas, false, name, snapshot, xact)
    }

    /// The first schema of `search_path` that exists, where unqualified
    /// names are created (`namespace_search_path`'s creation namespace).
    pub fn creation_schema(
        &mut self,
        search_path: &[String],
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<String>> {
        for s in search_path {
            if self.namespace_oid(s, snapshot, xact)?.is_some() {
                return Ok(Some(s.clone()));
            }
        }
        Ok(None)
    }

    fn lookup_in(
        &mut self,
        schemas: &[&str],
        qualified: bool,
        name: &str,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<Arc<TableDef>>> {
        self.invalidate_if_needed();
        for &s in schemas {
            let Some(ns) = self.namespace_oid(s, snapshot, xact)? else {
                if qualified {
                    return Err(PgError::error(
                        sqlstate::INVALID_SCHEMA_NAME,
                        format!("schema \"{s}\" does not exist"),
                    ));
                }
                continue;
            };
            let cached = self.tables.get(&ns).and_then(|names| names.get(name));
            let found = match cached {
                Some(entry) => entry.clone(),
                None => {
                    let loaded = self.load(ns, s, name, snapshot, xact)?.map(Arc::new);
                    self.tables
                        .entry(ns)
                        .or_default()
                        .insert(name.to_string(), loaded.clone());
                    loaded
                }
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    fn load(
        &self,
        ns: Oid,
        ns_name: &str,
        name: &str,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<TableDef>> {
        let mut class_row = None;
        scan_catalog(PG_CLASS, self.db_oid, snapshot, xact, &mut |_, row| {
            if as_oid(&row[pg_class_col::RELNAMESPACE]) == ns
                && as_str(&row[pg_class_col::RELNAME]) == name
            {
                class_row = Some(row.to_vec());
                false
            } else {
                true
            }
        })?;
        let Some(row) = class_row else {
            return Ok(None);
        };
        let oid = as_oid(&row[pg_class_col::OID]);
        let shared = as_bool(&row[pg_class_col::RELISSHARED]);
        let mut columns: Vec<(i16, ColumnDef)> = Vec::new();
        scan_catalog(PG_ATTRIBUTE, self.db_oid, snapshot, xact, &mut |_, a| {
            if as_oid(&a[att::ATTRELID]) == oid && !as_bool(&a[att::ATTISDROPPED]) {
                columns.push((
                    as_i16(&a[att::ATTNUM]),
                    ColumnDef {
                        name: as_str(&a[att::ATTNAME]),
                        type_oid: as_oid(&a[att::ATTTYPID]),
                        typmod: as_i32(&a[att::ATTTYPMOD]),
                        not_null: as_bool(&a[att::ATTNOTNULL]),
                        default_expr: None,
                        identity: match &a[att::ATTIDENTITY] {
                            HeapValue::Bytes(b) => b.first().copied().unwrap_or(0),
                            _ => 0,
                        },
                    },
                ));
            }
            true
        })?;
        columns.sort_by_key(|(n, _)| *n);
        let mut defaults: Vec<(i16, String)> = Vec::new();
        scan_catalog(PG_ATTRDEF, self.db_oid, snapshot, xact, &mut |_, d| {
            if as_oid(&d[pg_attrdef_col::ADRELID]) == oid {
                defaults.push((
                    as_i16(&d[pg_attrdef_col::ADNUM]),
                    as_str(&d[pg_attrdef_col::ADBIN]),
                ));
            }
            true
        })?;
        for (num, expr) in defaults {
            if let Some((_, c)) = columns.iter_mut().find(|(n, _)| *n == num) {
                c.default_expr = Some(expr);
            }
        }
        // An identity column's default is its sequence's nextval (the
        // sequence is the one its pg_depend row of type 'i' names).
        if columns.iter().any(|(_, c)| c.identity != 0) {
            for (seq, attnum, deptype) in
                super::pg_sequence::owned_sequences(self.db_oid, oid, snapshot, xact)?
            {
                if deptype != b'i' {
                    continue;
                }
                let Some(seq_name) = self.relation_name(seq, snapshot, xact)? else {
                    continue;
                };
                if let Some((_, c)) = columns.iter_mut().find(|(n, _)| *n as i32 == attnum) {
                    c.default_expr = Some(format!(
                        "nextval('{}'::regclass)",
                        seq_name.replace('\'', "''")
                    ));
                }
            }
        }
        let relkind = as_str(&row[pg_class_col::RELKIND])
            .chars()
            .next()
            .unwrap_or('r');
        let checks = if relkind == 'r' && ns != PG_CATALOG_NAMESPACE {
            super::pg_constraint::check_constraints(self.db_oid, oid, snapshot, xact)?
        } else {
            Vec::new()
        };
        let mut def = TableDef {
            oid,
            name: name.to_string(),
            namespace_oid: ns,
            namespace: ns_name.to_string(),
            db_oid: if shared { 0 } else { self.db_oid },
            relfilenode: as_oid(&row[pg_class_col::RELFILENODE]),
            relkind,
            columns: columns.into_iter().map(|(_, c)| c).collect(),
            checks,
            indexes: Vec::new(),
        };
        if relkind == 'r' && ns != PG_CATALOG_NAMESPACE && as_bool(&row[pg_class_col::RELHASINDEX])
        {
            def.indexes = super::index::table_indexes(self.db_oid, &def, snapshot, xact)?;
        }
        Ok(Some(def))
    }

    /// CREATE TABLE: catalog rows plus the relation's file (rule 3 for names).
    pub fn create_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        columns: Vec<ColumnDef>,
        snapshot: &Snapshot,
        cx: &mut WriteContext<'_>,
    ) -> PgResult<Arc<TableDef>> {
        self.create_relation(schema, name, columns, 'r', snapshot, cx)
    }

    /// A relation of `relkind` `'r'` (table) or `'S'` (sequence: the
    /// caller writes its `pg_sequence` row and its page): catalog rows
    /// plus the relation's file (rule 3 for names).
    pub fn create_relation(
        &mut self,
        schema: Option<&str>,
        name: &str,
        columns: Vec<ColumnDef>,
        relkind: char,
        snapshot: &Snapshot,
        cx: &mut WriteContext<'_>,
    ) -> PgResult<Arc<TableDef>> {
        let ns_name = schema.unwrap_or("public");
        let Some(ns) = self.namespace_oid(ns_name, snapshot, cx.xact)? else {
            return Err(PgError::error(
                sqlstate::INVALID_SCHEMA_NAME,
                format!("schema \"{ns_name}\" does not exist"),
            ));
        };
        if name.len() >= 64 {
            return Err(PgError::error(
                sqlstate::NAME_TOO_LONG,
                format!("identifier \"{name}\" is too long"),
            ));
        }
        // PostgreSQL's CheckAttributeNamesTypes; TupleDesc::new asserts it.
        if columns.len() > MAX_HEAP_ATTRIBUTE_NUMBER {
            return Err(PgError::error(
                sqlstate::TOO_MANY_COLUMNS,
                format!("tables can have at most {MAX_HEAP_ATTRIBUTE_NUMBER} columns"),
            ));
        }
        for c in &columns {
            if attr_type_for(c.type_oid).is_none() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "ferrogres cannot store columns of type oid {} yet",
                        c.type_oid
                    ),
                ));
            }
        }
        // Rule 3: serialise creators of the same name.
        let name_hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ b as u32).wrapping_mul(0x0100_0193)
        });
        let tag = LockTag::Object {
            db: self.db_oid,
            class_id: PG_CLASS,
            obj_id: ns,
            obj_sub_id: name_hash,
        };
        cx.locks
            .lock_acquire(tag, LockMode::ShareRowExclusive, false, cx.check_interrupts)?;
        // Look again with a fresh view after the lock (a concurrent creator may have committed).
        let fresh = crate::storage::xact::Transam::get().get_snapshot(
            crate::process::my_slot().expect("backend has a slot"),
            cx.xid,
            cx.cid,
        );
        // Each look reads the catalog, not what an earlier look cached.
        self.forget(ns, name);
        let seen_fresh = self.lookup(Some(ns_name), name, &fresh, cx.xact)?.is_some();
        self.forget(ns, name);
        if seen_fresh
            || self
                .lookup(Some(ns_name), name, snapshot, cx.xact)?
                .is_some()
        {
            return Err(PgError::error(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let rel_oid = oid::new_relfilenumber(self.db_oid)?;
        let def = TableDef {
            oid: rel_oid,
            name: name.to_string(),
            namespace_oid: ns,
            namespace: ns_name.to_string(),
            db_oid: self.db_oid,
            relfilenode: rel_oid,
            relkind,
            columns,
            checks: Vec::new(),
            indexes: Vec::new(),
        };
        let catalog = |c: Oid| TableDef::for_catalog(catalog_def(c), self.db_oid).heap_relation();
        let mut class_row =
            pg_class_row(rel_oid, name, ns, def.columns.len(), false, cx.xid.0 as i64);
        if relkind == 'S' {
            sequence_class_row(&mut class_row);
        }
        access::heap_insert(&catalog(PG_CLASS), &class_row, cx.xid, cx.cid)?;
        for (i, c) in def.columns.iter().enumerate() {
            access::heap_insert(
                &catalog(PG_ATTRIBUTE),
                &pg_attribute_row(
                    rel_oid,
                    &c.name,
                    c.type_oid,
                    i + 1,
                    c.typmod,
                    c.not_null,
                    c.default_expr.is_some() && c.identity == 0,
                    c.identity,
                ),
                cx.xid,
                cx.cid,
            )?;
            if let Some(expr) = c.default_expr.as_ref().filter(|_| c.identity == 0) {
                access::heap_insert(
                    &catalog(PG_ATTRDEF),
                    &[
                        HeapValue::Oid(oid::new_oid()),
                        HeapValue::Oid(rel_oid),
                        HeapValue::I16(i as i16 + 1),
                        HeapValue::Bytes(expr.as_bytes().to_vec()),
                    ],
                    cx.xid,
                    cx.cid,
                )?;
            }
        }
        access::heap_create_storage(&def.heap_relation())?;
        self.invalidate();
        Ok(Arc::new(def))
    }

    /// `"schema"."name"` of the relation `rel_oid`, quoted where needed.
    fn relation_name(
        &self,
        rel_oid: Oid,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<String>> {
        let Some((ns, name)) = class_name(self.db_oid, rel_oid, snapshot, xact)? else {
            return Ok(None);
        };
        let Some(ns_name) = namespace_name(self.db_oid, ns, snapshot, xact)? else {
            return Ok(None);
        };
        let q = crate::sql::functions::string::quote_identifier;
        Ok(Some(format!("{}.{}", q(&ns_name), q(&name))))
    }

    /// The relation with pg_class oid `rel_oid` (`nextval(regclass)`).
    pub fn lookup_oid(
        &mut self,
        rel_oid: Oid,
        snapshot: &Snapshot,
        xact: &dyn XactStatus,
    ) -> PgResult<Option<Arc<TableDef>>> {
        let Some((ns, name)) = class_name(self.db_oid, rel_oid, snapshot, xact)? else {
            return Ok(None);
        };
        match namespace_name(self.db_oid, ns, snapshot, xact)? {
            Some(n) => self.lookup(Some(&n), &name, snapshot, xact),
            None => Ok(None),
        }
    }

    /// DROP TABLE: deletes the catalog rows. The caller removes the files
    /// once the transaction commits, and holds AccessExclusiveLock.
    pub fn drop_table(
        &mut self,
        def: &TableDef,
        snapshot: &Snapshot,
        cx: &mut WriteContext<'_>,
    ) -> PgResult<()> {
        if def.namespace_oid == PG_CATALOG_NAMESPACE {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", def.name),
            ));
        }
        let targets: [(Oid, usize); 4] = [
            (PG_CLASS, pg_class_col::OID),
            (PG_ATTRIBUTE, att::ATTRELID),
            (PG_ATTRDEF, pg_attrdef_col::ADRELID),
            (PG_CONSTRAINT, super::pg_constraint::col::CONRELID),
        ];
        for (cat, key_col) in targets {
            let mut tids = Vec::new();
            scan_catalog(cat, self.db_oid, snapshot, cx.xact, &mut |tid, row| {
                if as_oid(&row[key_col]) == def.oid {
                    tids.push(tid);
                }
                true
            })?;
            let rel = TableDef::for_catalog(catalog_def(cat), self.db_oid).heap_relation();
            for tid in tids {
                match access::heap_delete(&rel, tid, cx)? {
                    TmOutcome::Ok => {}
                    _ => {
                        return Err(PgError::error(
                            sqlstate::INTERNAL_ERROR,
                            "tuple concurrently updated",
                        ));
                    }
                }
            }
        }
        self.invalidate();
        Ok(())
    }
}
