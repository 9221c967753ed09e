//! Bootstrap: initdb writes the catalogs' first pages directly (PostgreSQL's
//! bootstrap mode). The rows of the built-in types, functions, operators,
//! casts and their descriptions come from the declarative tables of
//! [`super::builtin`]. Rows carry xmin = BootstrapTransactionId, which every
//! snapshot sees as committed; the files are fsynced before initdb writes
//! the first checkpoint, so they need no WAL.

use std::io::Write;
use std::path::Path;

use super::builtin;
use super::defs::*;
use crate::storage::heap::{
    HeapValue, TupleDesc, form_tuple, heap_page_add_tuple, heap_prepare_insert,
};
use crate::storage::page::Page;
use crate::storage::types::{BLCKSZ, Oid, Xid};

/// A database initdb creates: oid, name, datallowconn.
pub const INITIAL_DATABASES: &[(Oid, &str, bool)] = &[
    (1, "template1", true),
    (4, "template0", false),
    (5, "postgres", true),
];

/// PostgreSQL's encoding number for UTF8.
const UTF8_ENCODING: i32 = 6;

fn name(s: &str) -> HeapValue {
    HeapValue::name(s)
}

/// A `text[]` value, as `sql::adt::array` stores it.
fn text_array(items: &[&str]) -> HeapValue {
    use crate::sql::adt::array::ArrayValue;
    use crate::sql::types::{Datum, Type};
    let a = ArrayValue::from_items(
        Type::Text,
        items.iter().map(|s| Datum::Text(s.to_string())).collect(),
    )
    .expect("a one-dimensional text array");
    HeapValue::Bytes(crate::sql::adt::array::serialize(&a))
}

/// The initial rows of a catalog.
fn initial_rows(cat: &CatalogDef) -> Vec<Vec<HeapValue>> {
    match cat.oid {
        PG_NAMESPACE => vec![
            vec![
                HeapValue::Oid(PG_CATALOG_NAMESPACE),
                name("pg_catalog"),
                HeapValue::Oid(BOOTSTRAP_SUPERUSER),
            ],
            vec![
                HeapValue::Oid(PUBLIC_NAMESPACE),
                name("public"),
                HeapValue::Oid(BOOTSTRAP_SUPERUSER),
            ],
        ],
        PG_TYPE => builtin::pg_type_rows(),
        PG_PROC => builtin::pg_proc_rows(),
        PG_OPERATOR => builtin::pg_operator_rows(),
        PG_CAST => builtin::pg_cast_rows(),
        PG_LANGUAGE => builtin::pg_language_rows(),
        PG_DESCRIPTION => builtin::pg_description_rows(),
        PG_COLLATION => builtin::pg_collation_rows(),
        PG_CLASS => CATALOGS
            .iter()
            .map(|c| {
                pg_class_row(
                    c.oid,
                    c.name,
                    PG_CATALOG_NAMESPACE,
                    c.columns.len(),
                    c.shared,
                    Xid::FIRST_NORMAL.0 as i64,
                )
            })
            .collect(),
        PG_ATTRIBUTE => CATALOGS
            .iter()
            .flat_map(|c| {
                c.columns.iter().enumerate().map(move |(i, (col, ty))| {
                    pg_attribute_row(
                        c.oid,
                        col,
                        ty.type_oid(),
                        i + 1,
                        -1,
                        !NULLABLE_CATALOG_COLUMNS.contains(col),
                        false,
                        0,
                    )
                })
            })
            .collect(),
        // The heap and the B-tree; their handler functions are not
        // callable (amhandler 0).
        PG_AM => vec![
            vec![
                HeapValue::Oid(HEAP_TABLE_AM_OID),
                name("heap"),
                HeapValue::Oid(0),
                HeapValue::Bytes(vec![b't']),
            ],
            vec![
                HeapValue::Oid(super::index::BTREE_AM_OID),
                name("btree"),
                HeapValue::Oid(0),
                HeapValue::Bytes(vec![b'i']),
            ],
        ],
        PG_INHERITS
        | PG_PARTITIONED_TABLE
        | PG_POLICY
        | PG_STATISTIC_EXT
        | PG_PUBLICATION
        | PG_PUBLICATION_NAMESPACE
        | PG_PUBLICATION_REL => Vec::new(),
        PG_ATTRDEF => Vec::new(),
        PG_DATABASE => INITIAL_DATABASES
            .iter()
            .map(|(oid, n, allow)| {
                let locale = || HeapValue::Bytes(b"C.UTF-8".to_vec());
                // initdb's ACL of the templates: connect for PUBLIC (not
                // template0), everything for the owner.
                let acl = match *n {
                    "template1" => text_array(&["=c/postgres", "postgres=CTc/postgres"]),
                    "template0" => text_array(&["=c/postgres", "postgres=CTc/postgres"]),
                    _ => HeapValue::Null,
                };
                vec![
                    HeapValue::Oid(*oid),
                    name(n),
                    HeapValue::Oid(BOOTSTRAP_SUPERUSER),
                    HeapValue::I32(UTF8_ENCODING),
                    HeapValue::Bytes(vec![b'c']),
                    HeapValue::Bool(*n != "postgres"),
                    HeapValue::Bool(*allow),
                    HeapValue::I32(-1),
                    HeapValue::I64(Xid::FIRST_NORMAL.0 as i64),
                    HeapValue::I64(1),
                    HeapValue::Oid(DEFAULTTABLESPACE_OID),
                    locale(),
                    locale(),
                    HeapValue::Null,
                    HeapValue::Null,
                    acl,
                ]
            })
            .collect(),
        PG_TABLESPACE => [
            (DEFAULTTABLESPACE_OID, "pg_default"),
            (GLOBALTABLESPACE_OID, "pg_global"),
        ]
        .iter()
        .map(|(oid, n)| {
            vec![
                HeapValue::Oid(*oid),
                name(n),
                HeapValue::Oid(BOOTSTRAP_SUPERUSER),
                HeapValue::Null,
                HeapValue::Null,
            ]
        })
        .collect(),
        PG_AUTH_MEMBERS | PG_INDEX | PG_CONSTRAINT | PG_ENUM | PG_SEQUENCE | PG_DEPEND => {
            Vec::new()
        }
        other => unreachable!("no initial rows for catalog {other}"),
    }
}

/// Writes a heap file holding `rows`, packed into pages in order.
fn write_heap_file(path: &Path, desc: &TupleDesc, rows: &[Vec<HeapValue>]) -> std::io::Result<()> {
    let mut pages: Vec<Box<[u8; BLCKSZ]>> = Vec::new();
    let mut page = Box::new([0u8; BLCKSZ]);
    Page::new(&mut *page).init(0);
    for row in rows {
        let mut tuple = form_tuple(desc, row).map_err(|e| std::io::Error::other(e.message))?;
        heap_prepare_insert(&mut tuple, Xid::BOOTSTRAP, 0);
        let blkno = pages.len() as u32;
        if heap_page_add_tuple(&mut Page::new(&mut *page), blkno, &tuple).is_none() {
            Page::new(&mut *page).set_checksum(blkno);
            pages.push(std::mem::replace(&mut page, Box::new([0u8; BLCKSZ])));
            Page::new(&mut *page).init(0);
            let blkno = pages.len() as u32;
            heap_page_add_tuple(&mut Page::new(&mut *page), blkno, &tuple)
                .expect("a catalog row fits on an empty page");
        }
    }
    let blkno = pages.len() as u32;
    Page::new(&mut *page).set_checksum(blkno);
    pages.push(page);
    let mut f = std::fs::File::create(path)?;
    for p in &pages {
        f.write_all(&p[..])?;
    }
    f.sync_all()
}

/// Writes every bootstrap catalog: the per-database ones into each initial
/// database's directory, the shared ones into `global/`.
pub fn write_bootstrap_catalogs(data_dir: &Path) -> std::io::Result<()> {
    for cat in CATALOGS {
        let def = TableDef::for_catalog(cat, 0);
        let desc = def.heap_relation().desc;
        let rows = initial_rows(cat);
        if cat.shared {
            write_heap_file(
                &data_dir.join("global").join(cat.oid.to_string()),
                &desc,
                &rows,
            )?;
        } else {
            for (db, _, _) in INITIAL_DATABASES {
                let dir = data_dir.join("base").join(db.to_string());
                std::fs::create_dir_all(&dir)?;
                write_heap_file(&dir.join(cat.oid.to_string()), &desc, &rows)?;
            }
        }
    }
    for dir in ["global", "base/1", "base/4", "base/5"] {
        std::fs::File::open(data_dir.join(dir))?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every catalog column's type is storable and has a `pg_type` row, and
    /// every initial row forms a tuple of its catalog.
    #[test]
    fn every_catalog_column_has_a_type_row_and_rows_form() {
        for cat in CATALOGS {
            for (col, t) in cat.columns {
                assert!(
                    attr_type_for(t.type_oid()) == Some(*t),
                    "{t:?} is not storable"
                );
                assert!(
                    builtin::builtins()
                        .types
                        .iter()
                        .any(|r| r.oid == t.type_oid()),
                    "{}.{col}: type {t:?} has no pg_type row",
                    cat.name
                );
            }
            let desc = TableDef::for_catalog(cat, 5).heap_relation().desc;
            for row in initial_rows(cat) {
                form_tuple(&desc, &row).unwrap();
            }
        }
    }
}
