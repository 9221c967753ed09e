//! Catalog lookups by oid and by name for the code that has no session at
//! hand (PostgreSQL's syscache.c with its catalog snapshot, snapmgr.c's
//! `GetCatalogSnapshot`).
//!
//! The output and input functions of the object-identifier types
//! (`regclassout`, `regnamespacein`, `regroleout`...) turn oids into names
//! and back wherever a value is printed or read: in a result row, in a cast
//! to text, inside `array_out` or `record_out`. They run deep inside the
//! executor, where no session is passed, exactly as PostgreSQL's do; like
//! PostgreSQL's, they read the catalogs through a per-process cache.
//!
//! Rules:
//! 1. **One catalog snapshot per statement.** The backend calls
//!    [`begin_statement`] as each statement starts, with its database, its
//!    search_path and what a snapshot of its own transaction needs
//!    ([`SnapshotSource`]). The first lookup of the statement takes a fresh
//!    MVCC snapshot from it (not the statement's or the transaction's
//!    snapshot: catalog reads see the latest committed catalog and the
//!    transaction's own earlier commands, as PostgreSQL's catalog snapshot
//!    does under every isolation level). Taking it sets the process's xmin
//!    only when none is set, so it never lets vacuum past a snapshot the
//!    transaction still uses.
//! 2. **The cache lives for the statement.** The maps of `pg_class` and
//!    `pg_namespace` are read whole on first use and dropped by the next
//!    [`begin_statement`], so a statement never sees half of another
//!    transaction's DDL and the next one sees all of it.
//! 3. Roles come from the backend ([`set_roles`]) until `pg_authid` is a
//!    heap catalog: the backend publishes its list when it starts and
//!    whenever it reloads it.
//! 4. Outside a statement (unit tests, initdb) nothing is installed: oid
//!    lookups answer `None` (the output functions print the number) and
//!    name lookups find only built-in objects.

use std::cell::RefCell;
use std::collections::HashMap;

use super::defs::*;
use super::relcache::{as_oid, as_str};
use crate::process::procarray::ProcSlot;
use crate::storage::heap::HeapValue;
use crate::storage::heap::access;
use crate::storage::types::{Oid, Xid};
use crate::storage::xact::{Snapshot, Transam};
use crate::utils::elog::PgResult;

/// What a fresh snapshot of this backend's transaction needs: its proc
/// slot, top-level xid, current command id and live subtransactions.
#[derive(Clone)]
pub struct SnapshotSource {
    pub slot: &'static ProcSlot,
    pub top_xid: Xid,
    pub curcid: u32,
    pub own_subxids: Vec<Xid>,
}

/// A relation's `pg_class` facts the reg* types need.
#[derive(Clone, Debug)]
pub struct RelInfo {
    pub name: String,
    pub namespace: Oid,
    pub kind: String,
}

struct View {
    db_oid: Oid,
    search_path: Vec<String>,
    source: SnapshotSource,
    snapshot: Option<Snapshot>,
    relations: Option<HashMap<Oid, RelInfo>>,
    namespaces: Option<HashMap<Oid, String>>,
}

thread_local! {
    static VIEW: RefCell<Option<View>> = const { RefCell::new(None) };
    static ROLES: RefCell<Vec<(Oid, String)>> = const { RefCell::new(Vec::new()) };
}

/// Starts a statement's catalog view (rule 1); drops the last one's cache.
pub fn begin_statement(db_oid: Oid, search_path: Vec<String>, source: SnapshotSource) {
    VIEW.with(|v| {
        *v.borrow_mut() = Some(View {
            db_oid,
            search_path,
            source,
            snapshot: None,
            relations: None,
            namespaces: None,
        })
    });
}

/// Drops the cached maps after this backend's own DDL inside a statement;
/// `source` has the xid and command id the DDL wrote with.
pub fn invalidate(source: SnapshotSource) {
    VIEW.with(|v| {
        if let Some(view) = v.borrow_mut().as_mut() {
            view.source = source;
            view.snapshot = None;
            view.relations = None;
            view.namespaces = None;
        }
    });
}

/// The roles as `(oid, rolname)` (rule 3).
pub fn set_roles(roles: Vec<(Oid, String)>) {
    ROLES.with(|r| *r.borrow_mut() = roles);
}

pub fn role_name(oid: Oid) -> Option<String> {
    ROLES.with(|r| {
        r.borrow()
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, n)| n.clone())
    })
}

pub fn role_oid(name: &str) -> Option<Oid> {
    ROLES.with(|r| r.borrow().iter().find(|(_, n)| n == name).map(|(o, _)| *o))
}

impl View {
    fn snapshot(&mut self) -> Snapshot {
        if self.snapshot.is_none() {
            let src = &self.source;
            let mut s = Transam::get().get_snapshot(src.slot, src.top_xid, src.curcid);
            s.own_subxids = src.own_subxids.clone();
            self.snapshot = Some(s);
        }
        self.snapshot.clone().expect("taken above")
    }

    fn scan(&mut self, cat: Oid, f: &mut dyn FnMut(&[HeapValue])) -> PgResult<()> {
        let snapshot = self.snapshot();
        let rel = TableDef::for_catalog(catalog_def(cat), self.db_oid).heap_relation();
        access::heap_scan(&rel, &snapshot, &Transam::get(), &mut |_, row| {
            f(&row);
            Ok(true)
        })
    }

    fn relations(&mut self) -> PgResult<&HashMap<Oid, RelInfo>> {
        if self.relations.is_none() {
            let mut m = HashMap::new();
            self.scan(PG_CLASS, &mut |row| {
                let oid = as_oid(&row[pg_class_col::OID]);
                m.insert(
                    oid,
                    RelInfo {
                        name: as_str(&row[pg_class_col::RELNAME]),
                        namespace: as_oid(&row[pg_class_col::RELNAMESPACE]),
                        kind: as_str(&row[pg_class_col::RELKIND]),
                    },
                );
            })?;
            self.relations = Some(m);
        }
        Ok(self.relations.as_ref().expect("read above"))
    }

    fn namespaces(&mut self) -> PgResult<&HashMap<Oid, String>> {
        if self.namespaces.is_none() {
            let mut m = HashMap::new();
            self.scan(PG_NAMESPACE, &mut |row| {
                m.insert(
                    as_oid(&row[pg_namespace_col::OID]),
                    as_str(&row[pg_namespace_col::NSPNAME]),
                );
            })?;
            self.namespaces = Some(m);
        }
        Ok(self.namespaces.as_ref().expect("read above"))
    }

    /// The namespaces searched for an unqualified name, in order: pg_catalog
    /// first unless the path names it, then each schema of the path that
    /// exists (`recomputeNamespacePath`).
    fn path_oids(&mut self) -> PgResult<Vec<Oid>> {
        let path = self.search_path.clone();
        let nsps = self.namespaces()?;
        let by_name = |n: &str| nsps.iter().find(|(_, v)| v.as_str() == n).map(|(o, _)| *o);
        let mut out = Vec::with_capacity(path.len() + 1);
        if !path.iter().any(|s| s == "pg_catalog") {
            out.push(PG_CATALOG_NAMESPACE);
        }
        for s in &path {
            if let Some(o) = by_name(s) {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        Ok(out)
    }
}

fn with_view<T>(f: impl FnOnce(&mut View) -> PgResult<T>) -> PgResult<Option<T>> {
    VIEW.with(|v| match v.borrow_mut().as_mut() {
        Some(view) => f(view).map(Some),
        None => Ok(None),
    })
}

/// The database this backend reads.
pub fn database() -> Oid {
    VIEW.with(|v| v.borrow().as_ref().map_or(0, |view| view.db_oid))
}

/// A database's oid by name.
pub fn database_oid(name: &str) -> PgResult<Option<Oid>> {
    Ok(with_view(|v| {
        let snapshot = v.snapshot();
        Ok(super::relcache::lookup_database(name, &snapshot, &Transam::get())?.map(|(o, _)| o))
    })?
    .flatten())
}

/// `pg_description.description` of an object (`classoid` None: of any
/// catalog, as the one-argument `obj_description` reads it).
pub fn description(objoid: Oid, classoid: Option<Oid>, objsubid: i32) -> PgResult<Option<String>> {
    Ok(with_view(|v| {
        let mut found = None;
        v.scan(PG_DESCRIPTION, &mut |row| {
            if found.is_none()
                && as_oid(&row[0]) == objoid
                && classoid.is_none_or(|c| as_oid(&row[1]) == c)
                && matches!(row[2], HeapValue::I32(s) if s == objsubid)
            {
                found = Some(as_str(&row[3]));
            }
        })?;
        Ok(found)
    })?
    .flatten())
}

/// A relation's name, namespace and kind by oid.
pub fn relation(oid: Oid) -> PgResult<Option<RelInfo>> {
    Ok(with_view(|v| Ok(v.relations()?.get(&oid).cloned()))?.flatten())
}

/// A namespace's name by oid.
pub fn namespace_name(oid: Oid) -> PgResult<Option<String>> {
    Ok(with_view(|v| Ok(v.namespaces()?.get(&oid).cloned()))?.flatten())
}

/// A namespace's oid by name.
pub fn namespace_oid(name: &str) -> PgResult<Option<Oid>> {
    if name == "pg_catalog" {
        return Ok(Some(PG_CATALOG_NAMESPACE));
    }
    Ok(with_view(|v| {
        Ok(v.namespaces()?
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(o, _)| *o))
    })?
    .flatten())
}

/// The effective search path as namespace oids (pg_catalog included).
pub fn search_path_oids() -> PgResult<Vec<Oid>> {
    Ok(with_view(|v| v.path_oids())?.unwrap_or_else(|| vec![PG_CATALOG_NAMESPACE]))
}

/// `current_schemas(include_implicit)`: the schemas of the search path
/// that exist, in order, with the implicitly searched `pg_catalog` first
/// when asked for.
pub fn current_schemas(include_implicit: bool) -> PgResult<Vec<String>> {
    Ok(with_view(|v| {
        let explicit = v.search_path.iter().any(|s| s == "pg_catalog");
        let oids = v.path_oids()?;
        let nsps = v.namespaces()?;
        Ok(oids
            .iter()
            .enumerate()
            .filter(|(i, _)| include_implicit || explicit || *i > 0)
            .filter_map(|(_, o)| nsps.get(o).cloned())
            .collect())
    })?
    .unwrap_or_default())
}

/// `RangeVarGetRelid` for the reg* types: a relation by schema and name,
/// or along the search path when unqualified.
pub fn relation_oid(schema: Option<&str>, name: &str) -> PgResult<Option<Oid>> {
    Ok(with_view(|v| {
        let path = match schema {
            Some(s) => match v
                .namespaces()?
                .iter()
                .find(|(_, n)| n.as_str() == s)
                .map(|(o, _)| *o)
            {
                Some(o) => vec![o],
                None => return Ok(None),
            },
            None => v.path_oids()?,
        };
        let rels = v.relations()?;
        for nsp in path {
            if let Some((oid, _)) = rels
                .iter()
                .find(|(_, r)| r.namespace == nsp && r.name == name)
            {
                return Ok(Some(*oid));
            }
        }
        Ok(None)
    })?
    .flatten())
}

/// `RelationIsVisible`: the relation is the first of its name along the
/// search path.
pub fn relation_is_visible(oid: Oid) -> PgResult<bool> {
    let Some(rel) = relation(oid)? else {
        return Ok(false);
    };
    if !search_path_oids()?.contains(&rel.namespace) {
        return Ok(false);
    }
    Ok(relation_oid(None, &rel.name)? == Some(oid))
}
