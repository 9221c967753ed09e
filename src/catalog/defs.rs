//! Catalog definitions: the bootstrap catalogs' columns, the types
//! ferrogres stores, and the relation descriptor the rest of the server uses.

use crate::storage::heap::access::HeapRelation;
use crate::storage::heap::{AttrType, Attribute, TupleDesc};
use crate::storage::types::{Oid, RelFileLocator};

pub const PG_TYPE: Oid = 1247;
pub const PG_ATTRIBUTE: Oid = 1249;
pub const PG_CLASS: Oid = 1259;
pub const PG_ATTRDEF: Oid = 2604;
pub const PG_NAMESPACE: Oid = 2615;
pub const PG_DATABASE: Oid = 1262;

pub const PG_CATALOG_NAMESPACE: Oid = 11;
pub const PUBLIC_NAMESPACE: Oid = 2200;
/// The bootstrap superuser's oid.
pub const BOOTSTRAP_SUPERUSER: Oid = 10;
/// First oid handed out to user objects (`FirstNormalObjectId`).
pub const FIRST_NORMAL_OBJECT_ID: Oid = 16384;

/// A bootstrap catalog: its oid (also its relfilenode), name, whether it is
/// shared by all databases, and its columns.
pub struct CatalogDef {
    pub oid: Oid,
    pub name: &'static str,
    pub shared: bool,
    pub columns: &'static [(&'static str, AttrType)],
}

pub const CATALOGS: &[CatalogDef] = &[
    CatalogDef {
        oid: PG_TYPE,
        name: "pg_type",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("typname", AttrType::Name),
            ("typnamespace", AttrType::Oid),
            ("typlen", AttrType::Int2),
            ("typbyval", AttrType::Bool),
            ("typtype", AttrType::Text),
            ("typalign", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_ATTRIBUTE,
        name: "pg_attribute",
        shared: false,
        columns: &[
            ("attrelid", AttrType::Oid),
            ("attname", AttrType::Name),
            ("atttypid", AttrType::Oid),
            ("attlen", AttrType::Int2),
            ("attnum", AttrType::Int2),
            ("atttypmod", AttrType::Int4),
            ("attnotnull", AttrType::Bool),
            ("atthasdef", AttrType::Bool),
            ("attisdropped", AttrType::Bool),
        ],
    },
    CatalogDef {
        oid: PG_CLASS,
        name: "pg_class",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("relname", AttrType::Name),
            ("relnamespace", AttrType::Oid),
            ("relowner", AttrType::Oid),
            ("relfilenode", AttrType::Oid),
            ("relpages", AttrType::Int4),
            ("reltuples", AttrType::Float4),
            ("relnatts", AttrType::Int2),
            ("relkind", AttrType::Text),
            ("relpersistence", AttrType::Text),
            ("relisshared", AttrType::Bool),
            ("relfrozenxid", AttrType::Int8),
            // `{name=value,...}` as PostgreSQL prints its text[]; NULL when none.
            ("reloptions", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_ATTRDEF,
        name: "pg_attrdef",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("adrelid", AttrType::Oid),
            ("adnum", AttrType::Int2),
            ("adbin", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_NAMESPACE,
        name: "pg_namespace",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("nspname", AttrType::Name),
            ("nspowner", AttrType::Oid),
        ],
    },
    CatalogDef {
        oid: PG_DATABASE,
        name: "pg_database",
        shared: true,
        columns: &[
            ("oid", AttrType::Oid),
            ("datname", AttrType::Name),
            ("datdba", AttrType::Oid),
            ("encoding", AttrType::Int4),
            ("datallowconn", AttrType::Bool),
            ("datfrozenxid", AttrType::Int8),
        ],
    },
];

/// Catalog columns that may be NULL (every other one is NOT NULL).
pub const NULLABLE_CATALOG_COLUMNS: &[&str] = &["reloptions"];

/// Column numbers (0-based) of `pg_class` that VACUUM and ALTER TABLE use.
pub mod pg_class_col {
    pub const OID: usize = 0;
    pub const RELNAME: usize = 1;
    pub const RELNAMESPACE: usize = 2;
    pub const RELFILENODE: usize = 4;
    pub const RELPAGES: usize = 5;
    pub const RELTUPLES: usize = 6;
    pub const RELKIND: usize = 8;
    pub const RELISSHARED: usize = 10;
    pub const RELFROZENXID: usize = 11;
    pub const RELOPTIONS: usize = 12;
}

pub fn catalog_def(oid: Oid) -> &'static CatalogDef {
    CATALOGS
        .iter()
        .find(|c| c.oid == oid)
        .expect("not a bootstrap catalog")
}

/// The types a column can have, with PostgreSQL's names (pg_type rows).
pub const TYPES: &[(&str, AttrType)] = &[
    ("bool", AttrType::Bool),
    ("int2", AttrType::Int2),
    ("int4", AttrType::Int4),
    ("int8", AttrType::Int8),
    ("oid", AttrType::Oid),
    ("float4", AttrType::Float4),
    ("float8", AttrType::Float8),
    ("date", AttrType::Date),
    ("timestamp", AttrType::Timestamp),
    ("timestamptz", AttrType::Timestamptz),
    ("numeric", AttrType::Numeric),
    ("text", AttrType::Text),
    ("varchar", AttrType::Varchar),
    ("bpchar", AttrType::Bpchar),
    ("bytea", AttrType::Bytea),
    ("name", AttrType::Name),
];

/// The storage type for a `pg_type` oid, if ferrogres can store it.
pub fn attr_type_for(type_oid: Oid) -> Option<AttrType> {
    TYPES
        .iter()
        .map(|(_, t)| *t)
        .find(|t| t.type_oid() == type_oid)
}

/// One column of a table, as the SQL layer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub type_oid: Oid,
    /// -1 when none; for varchar(n) n + 4, numeric(p,s) ((p << 16) | s) + 4, as PostgreSQL.
    pub typmod: i32,
    pub not_null: bool,
    /// The DEFAULT expression as SQL text, evaluated at each INSERT.
    pub default_expr: Option<String>,
}

/// A relation descriptor (PostgreSQL's `RelationData`, the parts we need).
#[derive(Clone, Debug, PartialEq)]
pub struct TableDef {
    pub oid: Oid,
    pub name: String,
    pub namespace_oid: Oid,
    pub namespace: String,
    /// Database the files live in (0 for shared catalogs).
    pub db_oid: Oid,
    pub relfilenode: Oid,
    /// 'r' ordinary table (catalogs included).
    pub relkind: char,
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    /// What the heap access method needs.
    pub fn heap_relation(&self) -> HeapRelation {
        let attrs = self
            .columns
            .iter()
            .map(|c| {
                let ty = attr_type_for(c.type_oid).expect("column type without storage");
                let a = Attribute::new(c.name.clone(), ty);
                if c.not_null { a.not_null() } else { a }
            })
            .collect();
        HeapRelation {
            oid: self.oid,
            db_oid: self.db_oid,
            name: self.name.clone(),
            locator: RelFileLocator {
                spc_oid: 0,
                db_oid: self.db_oid,
                rel_number: self.relfilenode,
            },
            desc: TupleDesc::new(attrs),
        }
    }

    /// The descriptor of a bootstrap catalog in database `db_oid`.
    pub fn for_catalog(def: &CatalogDef, db_oid: Oid) -> TableDef {
        TableDef {
            oid: def.oid,
            name: def.name.to_string(),
            namespace_oid: PG_CATALOG_NAMESPACE,
            namespace: "pg_catalog".to_string(),
            db_oid: if def.shared { 0 } else { db_oid },
            relfilenode: def.oid,
            relkind: 'r',
            columns: def
                .columns
                .iter()
                .map(|(n, t)| ColumnDef {
                    name: n.to_string(),
                    type_oid: t.type_oid(),
                    typmod: -1,
                    not_null: !NULLABLE_CATALOG_COLUMNS.contains(n),
                    default_expr: None,
                })
                .collect(),
        }
    }
}
