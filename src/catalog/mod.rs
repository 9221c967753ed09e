//! System catalogs (PostgreSQL's `src/backend/catalog` and `relcache.c`).
//!
//! The catalogs are ordinary heap tables with PostgreSQL's OIDs and column
//! names, so DDL is transactional: `CREATE TABLE` inserts rows into
//! `pg_class`, `pg_attribute` and `pg_attrdef` with the creating
//! transaction's xid, and other sessions see the table exactly when they
//! would see any other committed row.
//!
//! | catalog | oid | scope | rows |
//! |---|---|---|---|
//! | `pg_type` | 1247 | per database | the types ferrogres implements, PostgreSQL 15's columns |
//! | `pg_proc` | 1255 | per database | built-in functions and aggregates, their support functions |
//! | `pg_operator` | 2617 | per database | built-in operators |
//! | `pg_cast` | 2605 | per database | the casts `sql::adt` implements |
//! | `pg_language` | 2612 | per database | `internal` |
//! | `pg_description` | 2609 | per database | PostgreSQL's descriptions of those built-ins |
//! | `pg_attribute` | 1249 | per database | one per column |
//! | `pg_class` | 1259 | per database | one per relation, catalogs included |
//! | `pg_attrdef` | 2604 | per database | column defaults, as SQL text |
//! | `pg_namespace` | 2615 | per database | `pg_catalog`, `public` |
//! | `pg_sequence` | 2224 | per database | one per sequence ([`pg_sequence`]) |
//! | `pg_depend` | 2608 | per database | sequences owned by columns (`OWNED BY`, SERIAL) |
//! | `pg_index` | 2610 | per database | one per B-tree index ([`index`]) |
//! | `pg_constraint` | 2606 | per database | CHECK, PRIMARY KEY and UNIQUE constraints |
//! | `pg_am` | 2601 | per database | `heap`, `btree` |
//! | `pg_database` | 1262 | shared (`global/`) | `template1`, `template0`, `postgres` |
//!
//! Roles are still the `global/pg_authid` stand-in of the authentication
//! module (authentication runs before the backend has a snapshot).
//!
//! Built-in rows ([`builtin`]): one declarative table per catalog
//! (PostgreSQL's `pg_*.dat`), with PostgreSQL 15's oids; the rows of
//! functions and operators are generated from the function registry
//! joined with those tables. The rules are in `README.md` here.
//!
//! Bootstrap ([`bootstrap`]): initdb writes these catalogs' pages directly,
//! every row with xmin = BootstrapTransactionId (always committed), before
//! the first checkpoint, so they need no WAL — PostgreSQL's bootstrap mode.
//!
//! Caching ([`relcache`]): each backend caches relation descriptors; any
//! transaction that changes the catalogs bumps a shared generation counter
//! when it commits, and a backend that sees the counter move drops its
//! cache at the start of its next statement (PostgreSQL's shared
//! invalidation queue, reduced to "everything changed"). A backend drops
//! its cache after its own DDL too, so it sees its uncommitted tables.
//!
//! OIDs ([`oid`]): one shared counter, WAL-logged in batches, restored
//! from the checkpoint and the replayed WAL (PostgreSQL's `GetNewObjectId`).

/// PostgreSQL's `CATALOG_VERSION_NO`: the layout of the catalogs and their
/// bootstrap rows, written to `pg_control` by initdb and checked by the
/// startup process, which refuses a data directory of another version
/// (`database files are incompatible with server`). Bump it (the date and
/// a serial, as PostgreSQL does) with every change to a catalog's columns
/// or to what initdb writes.
pub const CATALOG_VERSION_NO: u32 = 202612082;

pub mod bootstrap;
pub mod builtin;
pub mod datum;
pub mod defs;
pub mod index;
pub mod oid;
pub mod pg_constraint;
pub mod pg_enum;
pub mod pg_sequence;
pub mod relcache;
pub mod syscache;
pub mod vacuum;

pub use defs::{ColumnDef, TableDef};
