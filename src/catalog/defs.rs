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
pub const PG_PROC: Oid = 1255;
pub const PG_OPERATOR: Oid = 2617;
pub const PG_CAST: Oid = 2605;
pub const PG_LANGUAGE: Oid = 2612;
pub const PG_DESCRIPTION: Oid = 2609;
pub const PG_COLLATION: Oid = 3456;

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
            ("typowner", AttrType::Oid),
            ("typlen", AttrType::Int2),
            ("typbyval", AttrType::Bool),
            ("typtype", AttrType::Char),
            ("typcategory", AttrType::Char),
            ("typispreferred", AttrType::Bool),
            ("typisdefined", AttrType::Bool),
            ("typdelim", AttrType::Char),
            ("typrelid", AttrType::Oid),
            ("typsubscript", AttrType::Regproc),
            ("typelem", AttrType::Oid),
            ("typarray", AttrType::Oid),
            ("typinput", AttrType::Regproc),
            ("typoutput", AttrType::Regproc),
            ("typreceive", AttrType::Regproc),
            ("typsend", AttrType::Regproc),
            ("typmodin", AttrType::Regproc),
            ("typmodout", AttrType::Regproc),
            ("typanalyze", AttrType::Regproc),
            ("typalign", AttrType::Char),
            ("typstorage", AttrType::Char),
            ("typnotnull", AttrType::Bool),
            ("typbasetype", AttrType::Oid),
            ("typtypmod", AttrType::Int4),
            ("typndims", AttrType::Int4),
            ("typcollation", AttrType::Oid),
            // pg_node_tree in PostgreSQL.
            ("typdefaultbin", AttrType::Text),
            ("typdefault", AttrType::Text),
            // aclitem[] in PostgreSQL.
            ("typacl", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_PROC,
        name: "pg_proc",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("proname", AttrType::Name),
            ("pronamespace", AttrType::Oid),
            ("proowner", AttrType::Oid),
            ("prolang", AttrType::Oid),
            ("procost", AttrType::Float4),
            ("prorows", AttrType::Float4),
            ("provariadic", AttrType::Oid),
            ("prosupport", AttrType::Regproc),
            ("prokind", AttrType::Char),
            ("prosecdef", AttrType::Bool),
            ("proleakproof", AttrType::Bool),
            ("proisstrict", AttrType::Bool),
            ("proretset", AttrType::Bool),
            ("provolatile", AttrType::Char),
            ("proparallel", AttrType::Char),
            ("pronargs", AttrType::Int2),
            ("pronargdefaults", AttrType::Int2),
            ("prorettype", AttrType::Oid),
            ("proargtypes", AttrType::Oidvector),
            // oid[], "char"[], text[], pg_node_tree, oid[] in PostgreSQL.
            ("proallargtypes", AttrType::Text),
            ("proargmodes", AttrType::Text),
            ("proargnames", AttrType::Text),
            ("proargdefaults", AttrType::Text),
            ("protrftypes", AttrType::Text),
            ("prosrc", AttrType::Text),
            ("probin", AttrType::Text),
            // pg_node_tree, text[], aclitem[] in PostgreSQL.
            ("prosqlbody", AttrType::Text),
            ("proconfig", AttrType::Text),
            ("proacl", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_OPERATOR,
        name: "pg_operator",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("oprname", AttrType::Name),
            ("oprnamespace", AttrType::Oid),
            ("oprowner", AttrType::Oid),
            ("oprkind", AttrType::Char),
            ("oprcanmerge", AttrType::Bool),
            ("oprcanhash", AttrType::Bool),
            ("oprleft", AttrType::Oid),
            ("oprright", AttrType::Oid),
            ("oprresult", AttrType::Oid),
            ("oprcom", AttrType::Oid),
            ("oprnegate", AttrType::Oid),
            ("oprcode", AttrType::Regproc),
            ("oprrest", AttrType::Regproc),
            ("oprjoin", AttrType::Regproc),
        ],
    },
    CatalogDef {
        oid: PG_CAST,
        name: "pg_cast",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("castsource", AttrType::Oid),
            ("casttarget", AttrType::Oid),
            ("castfunc", AttrType::Oid),
            ("castcontext", AttrType::Char),
            ("castmethod", AttrType::Char),
        ],
    },
    CatalogDef {
        oid: PG_LANGUAGE,
        name: "pg_language",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("lanname", AttrType::Name),
            ("lanowner", AttrType::Oid),
            ("lanispl", AttrType::Bool),
            ("lanpltrusted", AttrType::Bool),
            ("lanplcallfoid", AttrType::Oid),
            ("laninline", AttrType::Oid),
            ("lanvalidator", AttrType::Oid),
            // aclitem[] in PostgreSQL.
            ("lanacl", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_COLLATION,
        name: "pg_collation",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("collname", AttrType::Name),
            ("collnamespace", AttrType::Oid),
            ("collowner", AttrType::Oid),
            ("collprovider", AttrType::Char),
            ("collisdeterministic", AttrType::Bool),
            ("collencoding", AttrType::Int4),
            ("collcollate", AttrType::Text),
            ("collctype", AttrType::Text),
            ("colliculocale", AttrType::Text),
            ("collversion", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_DESCRIPTION,
        name: "pg_description",
        shared: false,
        columns: &[
            ("objoid", AttrType::Oid),
            ("classoid", AttrType::Oid),
            ("objsubid", AttrType::Int4),
            ("description", AttrType::Text),
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

/// Catalog columns that may be NULL (every other one is NOT NULL), as in
/// PostgreSQL (the columns past `CATALOG_VARLEN` in its headers).
pub const NULLABLE_CATALOG_COLUMNS: &[&str] = &[
    "reloptions",
    "typdefaultbin",
    "typdefault",
    "typacl",
    "proallargtypes",
    "proargmodes",
    "proargnames",
    "proargdefaults",
    "protrftypes",
    "probin",
    "prosqlbody",
    "proconfig",
    "proacl",
    "lanacl",
    "collcollate",
    "collctype",
    "colliculocale",
    "collversion",
];

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

/// Column numbers (0-based) of `pg_type`, in PostgreSQL 15's order.
pub mod pg_type_col {
    pub const OID: usize = 0;
    pub const TYPNAME: usize = 1;
    pub const TYPNAMESPACE: usize = 2;
    pub const TYPLEN: usize = 4;
    pub const TYPBYVAL: usize = 5;
    pub const TYPTYPE: usize = 6;
    pub const TYPCATEGORY: usize = 7;
    pub const TYPELEM: usize = 13;
    pub const TYPARRAY: usize = 14;
    pub const TYPINPUT: usize = 15;
    pub const TYPOUTPUT: usize = 16;
    pub const TYPALIGN: usize = 22;
    pub const TYPACL: usize = 31;
}

/// Column numbers (0-based) of `pg_attribute`.
pub mod pg_attribute_col {
    pub const ATTRELID: usize = 0;
    pub const ATTNAME: usize = 1;
    pub const ATTTYPID: usize = 2;
    pub const ATTLEN: usize = 3;
    pub const ATTNUM: usize = 4;
    pub const ATTTYPMOD: usize = 5;
    pub const ATTNOTNULL: usize = 6;
    pub const ATTHASDEF: usize = 7;
    pub const ATTISDROPPED: usize = 8;
}

/// Column numbers (0-based) of `pg_namespace`, `pg_attrdef` and `pg_database`.
pub mod pg_namespace_col {
    pub const OID: usize = 0;
    pub const NSPNAME: usize = 1;
}
pub mod pg_attrdef_col {
    pub const ADRELID: usize = 1;
    pub const ADNUM: usize = 2;
    pub const ADBIN: usize = 3;
}
pub mod pg_database_col {
    pub const OID: usize = 0;
    pub const DATNAME: usize = 1;
    pub const DATALLOWCONN: usize = 4;
}

pub fn catalog_def(oid: Oid) -> &'static CatalogDef {
    CATALOGS
        .iter()
        .find(|c| c.oid == oid)
        .expect("not a bootstrap catalog")
}

/// The types the heap can store a column of, with PostgreSQL's names. The
/// `pg_type` rows are [`super::builtin::pg_type`]'s.
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
    ("char", AttrType::Char),
    ("regproc", AttrType::Regproc),
    ("regprocedure", AttrType::OidAlias(2202)),
    ("regoper", AttrType::OidAlias(2203)),
    ("regoperator", AttrType::OidAlias(2204)),
    ("regclass", AttrType::OidAlias(2205)),
    ("regtype", AttrType::OidAlias(2206)),
    ("regnamespace", AttrType::OidAlias(4089)),
    ("regrole", AttrType::OidAlias(4096)),
    ("regcollation", AttrType::OidAlias(4191)),
    ("oidvector", AttrType::Oidvector),
    ("uuid", AttrType::Uuid),
    ("time", AttrType::Time),
    ("interval", AttrType::Interval),
    ("json", AttrType::Json),
    ("jsonb", AttrType::Jsonb),
];

/// The storage type for a `pg_type` oid, if ferrogres can store it.
pub fn attr_type_for(type_oid: Oid) -> Option<AttrType> {
    let found = TYPES
        .iter()
        .map(|(_, t)| *t)
        .find(|t| t.type_oid() == type_oid);
    found.or_else(|| {
        // An array of a storable element type.
        let t = crate::sql::types::Type::from_oid(type_oid)?;
        attr_type_for(t.elem()?.oid())?;
        Some(AttrType::Array(type_oid))
    })
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
