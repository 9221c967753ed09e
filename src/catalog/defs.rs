//! Catalog definitions: the bootstrap catalogs' columns, the types
//! ferrogres stores, and the relation descriptor the rest of the server uses.

use crate::storage::heap::access::HeapRelation;
use crate::storage::heap::{AttrType, Attribute, HeapValue, TupleDesc};
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
pub const PG_AM: Oid = 2601;
pub const PG_ENUM: Oid = 3501;
pub const PG_TABLESPACE: Oid = 1213;
pub const PG_AUTH_MEMBERS: Oid = 1261;
pub const PG_INDEX: Oid = 2610;
pub const PG_CONSTRAINT: Oid = 2606;
pub const PG_SEQUENCE: Oid = 2224;
pub const PG_DEPEND: Oid = 2608;
/// `pg_default` and `pg_global`.
pub const DEFAULTTABLESPACE_OID: Oid = 1663;
pub const GLOBALTABLESPACE_OID: Oid = 1664;
pub const PG_INHERITS: Oid = 2611;
pub const PG_PARTITIONED_TABLE: Oid = 3350;
pub const PG_POLICY: Oid = 3256;
pub const PG_STATISTIC_EXT: Oid = 3381;
pub const PG_PUBLICATION: Oid = 6104;
pub const PG_PUBLICATION_NAMESPACE: Oid = 6237;
pub const PG_PUBLICATION_REL: Oid = 6106;
/// `oid[]`, `"char"[]`, `int2[]`.
const OID_ARRAY: Oid = 1028;
const CHAR_ARRAY: Oid = 1002;
const INT2_ARRAY: Oid = 1005;

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
            ("typacl", AttrType::Array(TEXT_ARRAY)),
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
            ("proacl", AttrType::Array(TEXT_ARRAY)),
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
            ("lanacl", AttrType::Array(TEXT_ARRAY)),
        ],
    },
    CatalogDef {
        oid: PG_AM,
        name: "pg_am",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("amname", AttrType::Name),
            ("amhandler", AttrType::Regproc),
            ("amtype", AttrType::Char),
        ],
    },
    // The catalogs below stay empty until ferrogres has what fills them
    // (table inheritance and partitioning, row-level security, extended
    // statistics, logical replication publications); their statements fail
    // with 0A000. They exist because the tools read them: psql's \d joins
    // every one, pgbench asks pg_partitioned_table whether its accounts
    // table is partitioned.
    CatalogDef {
        oid: PG_INHERITS,
        name: "pg_inherits",
        shared: false,
        columns: &[
            ("inhrelid", AttrType::Oid),
            ("inhparent", AttrType::Oid),
            ("inhseqno", AttrType::Int4),
            ("inhdetachpending", AttrType::Bool),
        ],
    },
    CatalogDef {
        oid: PG_PARTITIONED_TABLE,
        name: "pg_partitioned_table",
        shared: false,
        columns: &[
            ("partrelid", AttrType::Oid),
            ("partstrat", AttrType::Char),
            ("partnatts", AttrType::Int2),
            ("partdefid", AttrType::Oid),
            // int2vector and oidvector in PostgreSQL.
            ("partattrs", AttrType::Array(INT2_ARRAY)),
            ("partclass", AttrType::Array(OID_ARRAY)),
            ("partcollation", AttrType::Array(OID_ARRAY)),
            // pg_node_tree in PostgreSQL.
            ("partexprs", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_POLICY,
        name: "pg_policy",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("polname", AttrType::Name),
            ("polrelid", AttrType::Oid),
            ("polcmd", AttrType::Char),
            ("polpermissive", AttrType::Bool),
            ("polroles", AttrType::Array(OID_ARRAY)),
            // pg_node_tree in PostgreSQL.
            ("polqual", AttrType::Text),
            ("polwithcheck", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_STATISTIC_EXT,
        name: "pg_statistic_ext",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("stxrelid", AttrType::Oid),
            ("stxname", AttrType::Name),
            ("stxnamespace", AttrType::Oid),
            ("stxowner", AttrType::Oid),
            ("stxstattarget", AttrType::Int4),
            // int2vector in PostgreSQL.
            ("stxkeys", AttrType::Array(INT2_ARRAY)),
            ("stxkind", AttrType::Array(CHAR_ARRAY)),
            // pg_node_tree in PostgreSQL.
            ("stxexprs", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_PUBLICATION,
        name: "pg_publication",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("pubname", AttrType::Name),
            ("pubowner", AttrType::Oid),
            ("puballtables", AttrType::Bool),
            ("pubinsert", AttrType::Bool),
            ("pubupdate", AttrType::Bool),
            ("pubdelete", AttrType::Bool),
            ("pubtruncate", AttrType::Bool),
            ("pubviaroot", AttrType::Bool),
        ],
    },
    CatalogDef {
        oid: PG_PUBLICATION_NAMESPACE,
        name: "pg_publication_namespace",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("pnpubid", AttrType::Oid),
            ("pnnspid", AttrType::Oid),
        ],
    },
    CatalogDef {
        oid: PG_PUBLICATION_REL,
        name: "pg_publication_rel",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("prpubid", AttrType::Oid),
            ("prrelid", AttrType::Oid),
            // pg_node_tree in PostgreSQL.
            ("prqual", AttrType::Text),
            // int2vector in PostgreSQL.
            ("prattrs", AttrType::Array(INT2_ARRAY)),
        ],
    },
    // The labels of CREATE TYPE ... AS ENUM (sql/typecmds.rs).
    CatalogDef {
        oid: PG_ENUM,
        name: "pg_enum",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("enumtypid", AttrType::Oid),
            ("enumsortorder", AttrType::Float4),
            ("enumlabel", AttrType::Name),
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
            ("attstattarget", AttrType::Int4),
            ("attlen", AttrType::Int2),
            ("attnum", AttrType::Int2),
            ("attndims", AttrType::Int4),
            ("attcacheoff", AttrType::Int4),
            ("atttypmod", AttrType::Int4),
            ("attbyval", AttrType::Bool),
            ("attalign", AttrType::Char),
            ("attstorage", AttrType::Char),
            ("attcompression", AttrType::Char),
            ("attnotnull", AttrType::Bool),
            ("atthasdef", AttrType::Bool),
            ("atthasmissing", AttrType::Bool),
            ("attidentity", AttrType::Char),
            ("attgenerated", AttrType::Char),
            ("attisdropped", AttrType::Bool),
            ("attislocal", AttrType::Bool),
            ("attinhcount", AttrType::Int4),
            ("attcollation", AttrType::Oid),
            // aclitem[] in PostgreSQL.
            ("attacl", AttrType::Array(TEXT_ARRAY)),
            ("attoptions", AttrType::Array(TEXT_ARRAY)),
            ("attfdwoptions", AttrType::Array(TEXT_ARRAY)),
            // anyarray in PostgreSQL; ferrogres has no "missing" values.
            ("attmissingval", AttrType::Text),
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
            ("reltype", AttrType::Oid),
            ("reloftype", AttrType::Oid),
            ("relowner", AttrType::Oid),
            ("relam", AttrType::Oid),
            ("relfilenode", AttrType::Oid),
            ("reltablespace", AttrType::Oid),
            ("relpages", AttrType::Int4),
            ("reltuples", AttrType::Float4),
            ("relallvisible", AttrType::Int4),
            ("reltoastrelid", AttrType::Oid),
            ("relhasindex", AttrType::Bool),
            ("relisshared", AttrType::Bool),
            ("relpersistence", AttrType::Char),
            ("relkind", AttrType::Char),
            ("relnatts", AttrType::Int2),
            ("relchecks", AttrType::Int2),
            ("relhasrules", AttrType::Bool),
            ("relhastriggers", AttrType::Bool),
            ("relhassubclass", AttrType::Bool),
            ("relrowsecurity", AttrType::Bool),
            ("relforcerowsecurity", AttrType::Bool),
            ("relispopulated", AttrType::Bool),
            ("relreplident", AttrType::Char),
            ("relispartition", AttrType::Bool),
            ("relrewrite", AttrType::Oid),
            // xid in PostgreSQL; ferrogres's xids are 64-bit.
            ("relfrozenxid", AttrType::Int8),
            ("relminmxid", AttrType::Int8),
            // aclitem[] in PostgreSQL.
            ("relacl", AttrType::Array(TEXT_ARRAY)),
            ("reloptions", AttrType::Array(TEXT_ARRAY)),
            // pg_node_tree in PostgreSQL.
            ("relpartbound", AttrType::Text),
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
            ("datlocprovider", AttrType::Char),
            ("datistemplate", AttrType::Bool),
            ("datallowconn", AttrType::Bool),
            ("datconnlimit", AttrType::Int4),
            // xid in PostgreSQL; ferrogres's xids are 64-bit.
            ("datfrozenxid", AttrType::Int8),
            ("datminmxid", AttrType::Int8),
            ("dattablespace", AttrType::Oid),
            ("datcollate", AttrType::Text),
            ("datctype", AttrType::Text),
            ("daticulocale", AttrType::Text),
            ("datcollversion", AttrType::Text),
            // aclitem[] in PostgreSQL: the same text form, in a text[].
            ("datacl", AttrType::Array(TEXT_ARRAY)),
        ],
    },
    CatalogDef {
        oid: PG_TABLESPACE,
        name: "pg_tablespace",
        shared: true,
        columns: &[
            ("oid", AttrType::Oid),
            ("spcname", AttrType::Name),
            ("spcowner", AttrType::Oid),
            // aclitem[] in PostgreSQL.
            ("spcacl", AttrType::Array(TEXT_ARRAY)),
            ("spcoptions", AttrType::Array(TEXT_ARRAY)),
        ],
    },
    // Empty: role membership (GRANT role) is not implemented yet.
    CatalogDef {
        oid: PG_AUTH_MEMBERS,
        name: "pg_auth_members",
        shared: true,
        columns: &[
            ("roleid", AttrType::Oid),
            ("member", AttrType::Oid),
            ("grantor", AttrType::Oid),
            ("admin_option", AttrType::Bool),
        ],
    },
    // One row per sequence (`CREATE SEQUENCE`, SERIAL).
    CatalogDef {
        oid: PG_SEQUENCE,
        name: "pg_sequence",
        shared: false,
        columns: &[
            ("seqrelid", AttrType::Oid),
            ("seqtypid", AttrType::Oid),
            ("seqstart", AttrType::Int8),
            ("seqincrement", AttrType::Int8),
            ("seqmax", AttrType::Int8),
            ("seqmin", AttrType::Int8),
            ("seqcache", AttrType::Int8),
            ("seqcycle", AttrType::Bool),
        ],
    },
    // Dependencies between user objects: a sequence owned by a column
    // (`OWNED BY`, SERIAL). PostgreSQL's rows for built-in objects are
    // not here: nothing built in can be dropped.
    CatalogDef {
        oid: PG_DEPEND,
        name: "pg_depend",
        shared: false,
        columns: &[
            ("classid", AttrType::Oid),
            ("objid", AttrType::Oid),
            ("objsubid", AttrType::Int4),
            ("refclassid", AttrType::Oid),
            ("refobjid", AttrType::Oid),
            ("refobjsubid", AttrType::Int4),
            ("deptype", AttrType::Char),
        ],
    },
    // Empty until indexes and constraints exist (the B-tree issue).
    CatalogDef {
        oid: PG_INDEX,
        name: "pg_index",
        shared: false,
        columns: &[
            ("indexrelid", AttrType::Oid),
            ("indrelid", AttrType::Oid),
            ("indnatts", AttrType::Int2),
            ("indnkeyatts", AttrType::Int2),
            ("indisunique", AttrType::Bool),
            ("indnullsnotdistinct", AttrType::Bool),
            ("indisprimary", AttrType::Bool),
            ("indisexclusion", AttrType::Bool),
            ("indimmediate", AttrType::Bool),
            ("indisclustered", AttrType::Bool),
            ("indisvalid", AttrType::Bool),
            ("indcheckxmin", AttrType::Bool),
            ("indisready", AttrType::Bool),
            ("indislive", AttrType::Bool),
            ("indisreplident", AttrType::Bool),
            // int2vector in PostgreSQL.
            ("indkey", AttrType::Array(INT2_ARRAY)),
            ("indcollation", AttrType::Oidvector),
            ("indclass", AttrType::Oidvector),
            // int2vector in PostgreSQL.
            ("indoption", AttrType::Array(INT2_ARRAY)),
            // pg_node_tree in PostgreSQL.
            ("indexprs", AttrType::Text),
            ("indpred", AttrType::Text),
        ],
    },
    CatalogDef {
        oid: PG_CONSTRAINT,
        name: "pg_constraint",
        shared: false,
        columns: &[
            ("oid", AttrType::Oid),
            ("conname", AttrType::Name),
            ("connamespace", AttrType::Oid),
            ("contype", AttrType::Char),
            ("condeferrable", AttrType::Bool),
            ("condeferred", AttrType::Bool),
            ("convalidated", AttrType::Bool),
            ("conrelid", AttrType::Oid),
            ("contypid", AttrType::Oid),
            ("conindid", AttrType::Oid),
            ("conparentid", AttrType::Oid),
            ("confrelid", AttrType::Oid),
            ("confupdtype", AttrType::Char),
            ("confdeltype", AttrType::Char),
            ("confmatchtype", AttrType::Char),
            ("conislocal", AttrType::Bool),
            ("coninhcount", AttrType::Int4),
            ("connoinherit", AttrType::Bool),
            ("conkey", AttrType::Array(INT2_ARRAY)),
            ("confkey", AttrType::Array(INT2_ARRAY)),
            ("conpfeqop", AttrType::Array(OID_ARRAY)),
            ("conppeqop", AttrType::Array(OID_ARRAY)),
            ("conffeqop", AttrType::Array(OID_ARRAY)),
            ("confdelsetcols", AttrType::Array(INT2_ARRAY)),
            ("conexclop", AttrType::Array(OID_ARRAY)),
            // pg_node_tree in PostgreSQL.
            ("conbin", AttrType::Text),
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
    "relacl",
    "relpartbound",
    "attacl",
    "attoptions",
    "attfdwoptions",
    "attmissingval",
    "polroles",
    "polqual",
    "polwithcheck",
    "stxkind",
    "stxexprs",
    "prqual",
    "prattrs",
    "daticulocale",
    "datcollversion",
    "datacl",
    "spcacl",
    "spcoptions",
    "indexprs",
    "indpred",
    "conkey",
    "confkey",
    "conpfeqop",
    "conppeqop",
    "conffeqop",
    "confdelsetcols",
    "conexclop",
    "conbin",
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
    pub const RELOWNER: usize = 5;
    pub const RELFILENODE: usize = 7;
    pub const RELPAGES: usize = 9;
    pub const RELTUPLES: usize = 10;
    pub const RELHASINDEX: usize = 13;
    pub const RELISSHARED: usize = 14;
    pub const RELKIND: usize = 16;
    pub const RELCHECKS: usize = 18;
    pub const RELFROZENXID: usize = 28;
    pub const RELOPTIONS: usize = 31;
}

/// `pg_am.oid` of the heap table access method.
pub const HEAP_TABLE_AM_OID: Oid = 2;
/// `text[]`.
const TEXT_ARRAY: Oid = 1009;

/// A new `pg_class` row for an ordinary table (catalogs included), in
/// PostgreSQL 15's column order: heap access method, default tablespace,
/// no row type (ferrogres has no composite types yet), no TOAST table, no
/// indexes, rules, triggers, policies or inheritance.
pub fn pg_class_row(
    oid: Oid,
    name: &str,
    namespace: Oid,
    natts: usize,
    shared: bool,
    frozenxid: i64,
) -> Vec<HeapValue> {
    let ch = |c: u8| HeapValue::Bytes(vec![c]);
    vec![
        HeapValue::Oid(oid),
        HeapValue::name(name),
        HeapValue::Oid(namespace),
        HeapValue::Oid(0),
        HeapValue::Oid(0),
        HeapValue::Oid(BOOTSTRAP_SUPERUSER),
        HeapValue::Oid(HEAP_TABLE_AM_OID),
        HeapValue::Oid(oid),
        HeapValue::Oid(0),
        HeapValue::I32(0),
        HeapValue::F32(-1.0),
        HeapValue::I32(0),
        HeapValue::Oid(0),
        HeapValue::Bool(false),
        HeapValue::Bool(shared),
        ch(b'p'),
        ch(b'r'),
        HeapValue::I16(natts as i16),
        HeapValue::I16(0),
        HeapValue::Bool(false),
        HeapValue::Bool(false),
        HeapValue::Bool(false),
        HeapValue::Bool(false),
        HeapValue::Bool(false),
        HeapValue::Bool(true),
        ch(b'd'),
        HeapValue::Bool(false),
        HeapValue::Oid(0),
        HeapValue::I64(frozenxid),
        HeapValue::I64(1),
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
    ]
}

/// Makes a [`pg_class_row`] a sequence's, as PostgreSQL 15 writes it: no
/// access method, one page and one tuple, no frozen xid.
pub fn sequence_class_row(row: &mut [HeapValue]) {
    row[6] = HeapValue::Oid(0);
    row[pg_class_col::RELPAGES] = HeapValue::I32(1);
    row[pg_class_col::RELTUPLES] = HeapValue::F32(1.0);
    row[pg_class_col::RELKIND] = HeapValue::Bytes(vec![b'S']);
    row[pg_class_col::RELFROZENXID] = HeapValue::I64(0);
    row[pg_class_col::RELFROZENXID + 1] = HeapValue::I64(0);
}

/// A new `pg_attribute` row, in PostgreSQL 15's column order; length,
/// alignment, storage and collation are the type's.
pub fn pg_attribute_row(
    relid: Oid,
    name: &str,
    type_oid: Oid,
    attnum: usize,
    typmod: i32,
    not_null: bool,
    has_default: bool,
    identity: u8,
) -> Vec<HeapValue> {
    let ch = |c: u8| HeapValue::Bytes(vec![c]);
    let storage = attr_type_for(type_oid).map(|t| t.storage());
    let (len, byval) = storage.map_or((-1, false), |(l, _, b)| (l, b));
    let ty = crate::sql::types::Type::from_oid(type_oid);
    let (align, store, collation, ndims) = match ty.and_then(|t| t.entry()) {
        Some(e) => (
            e.typalign,
            e.typstorage,
            e.typcollation,
            i32::from(ty.is_some_and(|t| t.elem().is_some())),
        ),
        None => (b'i', b'p', 0, 0),
    };
    vec![
        HeapValue::Oid(relid),
        HeapValue::name(name),
        HeapValue::Oid(type_oid),
        HeapValue::I32(-1),
        HeapValue::I16(len),
        HeapValue::I16(attnum as i16),
        HeapValue::I32(ndims),
        HeapValue::I32(-1),
        HeapValue::I32(typmod),
        HeapValue::Bool(byval),
        ch(align),
        ch(store),
        ch(0),
        HeapValue::Bool(not_null),
        HeapValue::Bool(has_default),
        HeapValue::Bool(false),
        ch(identity),
        ch(0),
        HeapValue::Bool(false),
        HeapValue::Bool(true),
        HeapValue::I32(0),
        HeapValue::Oid(collation),
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
    ]
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
    pub const TYPDELIM: usize = 10;
    pub const TYPRECEIVE: usize = 17;
    pub const TYPSEND: usize = 18;
    pub const TYPALIGN: usize = 22;
    pub const TYPSTORAGE: usize = 23;
    pub const TYPCOLLATION: usize = 28;
    pub const TYPACL: usize = 31;
}

/// Column numbers (0-based) of `pg_sequence`.
pub mod pg_sequence_col {
    pub const SEQRELID: usize = 0;
    pub const SEQTYPID: usize = 1;
    pub const SEQSTART: usize = 2;
    pub const SEQINCREMENT: usize = 3;
    pub const SEQMAX: usize = 4;
    pub const SEQMIN: usize = 5;
    pub const SEQCACHE: usize = 6;
    pub const SEQCYCLE: usize = 7;
}

/// Column numbers (0-based) of `pg_depend`.
pub mod pg_depend_col {
    pub const CLASSID: usize = 0;
    pub const OBJID: usize = 1;
    pub const OBJSUBID: usize = 2;
    pub const REFCLASSID: usize = 3;
    pub const REFOBJID: usize = 4;
    pub const REFOBJSUBID: usize = 5;
    pub const DEPTYPE: usize = 6;
}

/// Column numbers (0-based) of `pg_enum`.
pub mod pg_enum_col {
    pub const OID: usize = 0;
    pub const ENUMTYPID: usize = 1;
    pub const ENUMSORTORDER: usize = 2;
    pub const ENUMLABEL: usize = 3;
}

/// Column numbers (0-based) of `pg_attribute`.
pub mod pg_attribute_col {
    pub const ATTRELID: usize = 0;
    pub const ATTNAME: usize = 1;
    pub const ATTTYPID: usize = 2;
    pub const ATTLEN: usize = 4;
    pub const ATTNUM: usize = 5;
    pub const ATTTYPMOD: usize = 8;
    pub const ATTNOTNULL: usize = 13;
    pub const ATTHASDEF: usize = 14;
    pub const ATTIDENTITY: usize = 16;
    pub const ATTISDROPPED: usize = 18;
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
    pub const DATALLOWCONN: usize = 6;
    pub const DATFROZENXID: usize = 8;
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
        let t = crate::sql::types::Type::from_oid(type_oid)?;
        if t.is_enum() {
            return Some(AttrType::Enum(type_oid));
        }
        // An array of a storable element type.
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
    /// The DEFAULT expression as SQL text, evaluated at each INSERT. An
    /// identity column's is its sequence's `nextval`, made when the
    /// relation is loaded (it has no `pg_attrdef` row, as in PostgreSQL).
    pub default_expr: Option<String>,
    /// `pg_attribute.attidentity`: 0, `b'a'` (GENERATED ALWAYS) or `b'd'`
    /// (GENERATED BY DEFAULT).
    pub identity: u8,
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
    /// CHECK constraints, by name (`pg_constraint`, rule 2 there).
    pub checks: Vec<super::pg_constraint::CheckConstraint>,
    /// The table's indexes, by oid ([`super::index`]).
    pub indexes: Vec<super::index::IndexDef>,
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
                    identity: 0,
                })
                .collect(),
            checks: Vec::new(),
            indexes: Vec::new(),
        }
    }
}
