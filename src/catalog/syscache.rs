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
//! 2. **The cache lives for the statement.** The maps of `pg_class`,
//!    `pg_namespace` and `pg_description` are read whole on first use and dropped by the next
//!    [`begin_statement`], so a statement never sees half of another
//!    transaction's DDL and the next one sees all of it.
//! 3. Roles come from the backend ([`set_roles`]) until `pg_authid` is a
//!    heap catalog: the backend publishes its list when it starts and
//!    whenever it reloads it.
//! 4. Outside a statement (unit tests, initdb) nothing is installed: oid
//!    lookups answer `None` (the output functions print the number) and
//!    name lookups find only built-in objects.
//! 5. **User-defined types** (`pg_type` rows from oid 16384 on) and the
//!    `pg_enum` labels are read like the other maps, once per statement.
//!    `Type::entry` hands out `&'static` rows, so each distinct version of
//!    a user type's row is copied once into a per-process pool and kept
//!    for the life of the backend: the pool grows only with type DDL this
//!    backend sees (a few hundred bytes a version), never per statement.
//!    A statement never calls back into `sql::types` while it holds the
//!    view (the maps are built from raw heap values), so the view's
//!    `RefCell` is never borrowed twice.

use std::cell::RefCell;
use std::collections::HashMap;

use super::builtin::TypeEntry;
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
    /// The `search_path` setting and the user `$user` stands for, as the
    /// backend had them when the statement started; parsed into
    /// `search_path` on first use (most statements never look a name up),
    /// and kept across statements while neither changes.
    path_setting: String,
    path_user: String,
    search_path: Option<Vec<String>>,
    source: SnapshotSource,
    snapshot: Option<Snapshot>,
    relations: Option<HashMap<Oid, RelInfo>>,
    namespaces: Option<HashMap<Oid, String>>,
    /// `pg_description` by `(objoid, objsubid)`: each `(classoid, text)`
    /// in heap order (`\df+` asks once per function).
    descriptions: Option<HashMap<(Oid, i32), Vec<(Oid, String)>>>,
    /// User-defined `pg_type` rows (oid from 16384 on), rule 5.
    types: Option<HashMap<Oid, UserType>>,
    /// `pg_enum` by type, each type's labels in `enumsortorder` order.
    enums: Option<EnumMaps>,
}

/// A user-defined type's row (rule 5) and its schema.
#[derive(Clone, Copy, Debug)]
pub struct UserType {
    pub entry: &'static TypeEntry,
    pub namespace: Oid,
}

/// One `pg_enum` row.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumLabel {
    pub oid: Oid,
    pub sortorder: f32,
    pub label: std::sync::Arc<str>,
}

#[derive(Default)]
struct EnumMaps {
    by_type: HashMap<Oid, Vec<EnumLabel>>,
    /// label oid -> (type, index in `by_type`).
    by_oid: HashMap<Oid, (Oid, usize)>,
}

thread_local! {
    static VIEW: RefCell<Option<View>> = const { RefCell::new(None) };
    static ROLES: RefCell<Vec<(Oid, String)>> = const { RefCell::new(Vec::new()) };
    /// Every user type row version this process has handed out (rule 5).
    static TYPE_POOL: RefCell<HashMap<Oid, Vec<&'static TypeEntry>>> = RefCell::new(HashMap::new());
}

/// The one `&'static` copy of a user type row with this content (rule 5):
/// made and kept the first time this process meets it.
/// `entry.typname` is ignored: `name` is the row's.
fn pooled(entry: TypeEntry, name: &str) -> &'static TypeEntry {
    TYPE_POOL.with(|p| {
        let mut p = p.borrow_mut();
        let versions = p.entry(entry.oid).or_default();
        if let Some(e) = versions.iter().find(|e| {
            e.typname == name
                && TypeEntry {
                    typname: e.typname,
                    ..entry
                } == ***e
        }) {
            return *e;
        }
        let typname: &'static str = Box::leak(name.to_string().into_boxed_str());
        let leaked: &'static TypeEntry = Box::leak(Box::new(TypeEntry { typname, ..entry }));
        versions.push(leaked);
        leaked
    })
}

/// Starts a statement's catalog view (rule 1); drops the last one's cache.
/// `search_path` is the setting's value and `user` the role `$user` names;
/// both are compared with the last statement's, so the common case copies
/// and parses nothing.
pub fn begin_statement(db_oid: Oid, search_path: &str, user: &str, source: SnapshotSource) {
    VIEW.with(|v| {
        let mut v = v.borrow_mut();
        let (path_setting, path_user, parsed) = match v.take() {
            Some(old) if old.path_setting == search_path && old.path_user == user => {
                (old.path_setting, old.path_user, old.search_path)
            }
            _ => (search_path.to_string(), user.to_string(), None),
        };
        *v = Some(View {
            db_oid,
            path_setting,
            path_user,
            search_path: parsed,
            source,
            snapshot: None,
            relations: None,
            namespaces: None,
            descriptions: None,
            types: None,
            enums: None,
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
            view.descriptions = None;
            view.types = None;
            view.enums = None;
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
    /// The search path's schema names, `$user` replaced (parsed once).
    fn search_path(&mut self) -> &[String] {
        if self.search_path.is_none() {
            self.search_path = Some(crate::utils::guc::search_path_names(
                &self.path_setting,
                &self.path_user,
            ));
        }
        self.search_path.as_deref().expect("parsed above")
    }

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

    fn descriptions(&mut self) -> PgResult<&HashMap<(Oid, i32), Vec<(Oid, String)>>> {
        if self.descriptions.is_none() {
            let mut m: HashMap<(Oid, i32), Vec<(Oid, String)>> = HashMap::new();
            self.scan(PG_DESCRIPTION, &mut |row| {
                let HeapValue::I32(subid) = row[2] else {
                    return;
                };
                m.entry((as_oid(&row[0]), subid))
                    .or_default()
                    .push((as_oid(&row[1]), as_str(&row[3])));
            })?;
            self.descriptions = Some(m);
        }
        Ok(self.descriptions.as_ref().expect("read above"))
    }

    fn types(&mut self) -> PgResult<&HashMap<Oid, UserType>> {
        if self.types.is_none() {
            let mut rows = Vec::new();
            self.scan(PG_TYPE, &mut |row| {
                let oid = as_oid(&row[pg_type_col::OID]);
                if oid >= FIRST_NORMAL_OBJECT_ID {
                    rows.push(row.to_vec());
                }
            })?;
            let mut m = HashMap::new();
            for row in rows {
                let ch = |i: usize| match &row[i] {
                    HeapValue::Bytes(b) => b.first().copied().unwrap_or(0),
                    _ => 0,
                };
                let name = as_str(&row[pg_type_col::TYPNAME]);
                let entry = TypeEntry {
                    oid: as_oid(&row[pg_type_col::OID]),
                    typname: "",
                    typlen: match row[pg_type_col::TYPLEN] {
                        HeapValue::I16(v) => v,
                        _ => -1,
                    },
                    typbyval: matches!(row[pg_type_col::TYPBYVAL], HeapValue::Bool(true)),
                    typtype: ch(pg_type_col::TYPTYPE),
                    typcategory: ch(pg_type_col::TYPCATEGORY),
                    typispreferred: false,
                    typdelim: ch(pg_type_col::TYPDELIM),
                    typelem: as_oid(&row[pg_type_col::TYPELEM]),
                    typarray: as_oid(&row[pg_type_col::TYPARRAY]),
                    typinput: as_oid(&row[pg_type_col::TYPINPUT]),
                    typoutput: as_oid(&row[pg_type_col::TYPOUTPUT]),
                    typreceive: as_oid(&row[pg_type_col::TYPRECEIVE]),
                    typsend: as_oid(&row[pg_type_col::TYPSEND]),
                    typmodin: 0,
                    typmodout: 0,
                    typalign: ch(pg_type_col::TYPALIGN),
                    typstorage: ch(pg_type_col::TYPSTORAGE),
                    typcollation: as_oid(&row[pg_type_col::TYPCOLLATION]),
                    descr: None,
                };
                m.insert(
                    entry.oid,
                    UserType {
                        entry: pooled(entry, &name),
                        namespace: as_oid(&row[pg_type_col::TYPNAMESPACE]),
                    },
                );
            }
            self.types = Some(m);
        }
        Ok(self.types.as_ref().expect("read above"))
    }

    fn enums(&mut self) -> PgResult<&EnumMaps> {
        if self.enums.is_none() {
            let mut maps = EnumMaps::default();
            self.scan(PG_ENUM, &mut |row| {
                let sortorder = match row[pg_enum_col::ENUMSORTORDER] {
                    HeapValue::F32(f) => f,
                    _ => 0.0,
                };
                maps.by_type
                    .entry(as_oid(&row[pg_enum_col::ENUMTYPID]))
                    .or_default()
                    .push(EnumLabel {
                        oid: as_oid(&row[pg_enum_col::OID]),
                        sortorder,
                        label: as_str(&row[pg_enum_col::ENUMLABEL]).into(),
                    });
            })?;
            for (typ, labels) in maps.by_type.iter_mut() {
                labels.sort_by(|a, b| a.sortorder.total_cmp(&b.sortorder));
                for (i, l) in labels.iter().enumerate() {
                    maps.by_oid.insert(l.oid, (*typ, i));
                }
            }
            self.enums = Some(maps);
        }
        Ok(self.enums.as_ref().expect("read above"))
    }

    /// The namespaces searched for an unqualified name, in order: pg_catalog
    /// first unless the path names it, then each schema of the path that
    /// exists (`recomputeNamespacePath`).
    fn path_oids(&mut self) -> PgResult<Vec<Oid>> {
        let path = self.search_path().to_vec();
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

/// `pg_get_constraintdef`'s text of constraint `oid` (None: no constraint).
pub fn constraint_def(oid: Oid, pretty: bool) -> PgResult<Option<String>> {
    Ok(with_view(|v| {
        let snapshot = v.snapshot();
        super::pg_constraint::constraint_def(v.db_oid, oid, pretty, &snapshot, &Transam::get())
    })?
    .flatten())
}

/// `pg_get_indexdef`'s text of index `oid` (None: no index).
pub fn index_def(oid: Oid, column: i32, pretty: bool) -> PgResult<Option<String>> {
    Ok(with_view(|v| {
        let snapshot = v.snapshot();
        super::index::index_def(v.db_oid, oid, column, pretty, &snapshot, &Transam::get())
    })?
    .flatten())
}

/// `pg_description.description` of an object (`classoid` None: of any
/// catalog, as the one-argument `obj_description` reads it).
pub fn description(objoid: Oid, classoid: Option<Oid>, objsubid: i32) -> PgResult<Option<String>> {
    Ok(with_view(|v| {
        Ok(v.descriptions()?.get(&(objoid, objsubid)).and_then(|d| {
            d.iter()
                .find(|(c, _)| classoid.is_none_or(|want| *c == want))
                .map(|(_, text)| text.clone())
        }))
    })?
    .flatten())
}

/// A user-defined type's `pg_type` row (rule 5); None outside a statement
/// or when no such type is visible to it.
pub fn user_type(oid: Oid) -> Option<&'static TypeEntry> {
    user_type_row(oid).map(|u| u.entry)
}

/// A user-defined type's row and schema.
pub fn user_type_row(oid: Oid) -> Option<UserType> {
    with_view(|v| Ok(v.types()?.get(&oid).copied()))
        .ok()
        .flatten()
        .flatten()
}

/// A user-defined type by schema and name, or along the search path when
/// unqualified (`LookupTypeName` for the types of `CREATE TYPE`).
pub fn user_type_oid(schema: Option<&str>, name: &str) -> PgResult<Option<Oid>> {
    Ok(with_view(|v| {
        let path = match schema {
            Some(s) => match v.namespaces()?.iter().find(|(_, n)| n.as_str() == s) {
                Some((o, _)) => vec![*o],
                None => return Ok(None),
            },
            None => v.path_oids()?,
        };
        let types = v.types()?;
        Ok(path.iter().find_map(|ns| {
            types
                .values()
                .find(|u| u.namespace == *ns && u.entry.typname == name)
                .map(|u| u.entry.oid)
        }))
    })?
    .flatten())
}

/// Whether a user type's schema is on the search path (so `format_type`
/// prints it unqualified).
pub fn user_type_is_visible(oid: Oid) -> bool {
    with_view(|v| {
        let Some(u) = v.types()?.get(&oid).copied() else {
            return Ok(false);
        };
        let path = v.path_oids()?;
        // Visible if no earlier schema of the path has a type of the name.
        let types = v.types()?;
        Ok(path
            .iter()
            .find(|ns| {
                types
                    .values()
                    .any(|t| t.namespace == **ns && t.entry.typname == u.entry.typname)
            })
            .is_some_and(|ns| *ns == u.namespace))
    })
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// An enum type's labels in sort order (empty outside a statement).
pub fn enum_labels(type_oid: Oid) -> PgResult<Vec<EnumLabel>> {
    Ok(with_view(|v| {
        Ok(v.enums()?
            .by_type
            .get(&type_oid)
            .cloned()
            .unwrap_or_default())
    })?
    .unwrap_or_default())
}

/// One enum label by its `pg_enum` oid, with its type.
pub fn enum_label(label_oid: Oid) -> PgResult<Option<(Oid, EnumLabel)>> {
    Ok(with_view(|v| {
        let m = v.enums()?;
        Ok(m.by_oid
            .get(&label_oid)
            .map(|(t, i)| (*t, m.by_type[t][*i].clone())))
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
        let explicit = v.search_path().iter().any(|s| s == "pg_catalog");
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
