//! The built-in catalog rows: one declarative table per catalog, in the
//! spirit of PostgreSQL's `src/include/catalog/pg_*.dat`, from which initdb
//! bootstraps `pg_type`, `pg_proc`, `pg_operator`, `pg_cast`,
//! `pg_language` and `pg_description` ([`rows`]).
//!
//! | table | holds | emitted by initdb |
//! |---|---|---|
//! | [`pg_type::PG_TYPE`] | every type ferrogres implements, pseudo-types its signatures use | all |
//! | [`pg_proc::PG_PROC`] | `Callable`: PostgreSQL's row for each function and aggregate of the registry; `Support`: type I/O, operator and cast implementations | `Callable` rows a registry entry matches; `Support` rows another emitted row names |
//! | [`pg_operator::PG_OPERATOR`] | PostgreSQL's row for each operator of the registry | rows a registry entry matches |
//! | [`pg_cast::PG_CAST`] | PostgreSQL's casts between the listed types | rows whose context `sql::adt::cast_context` implements |
//!
//! The function registry (`sql::functions`) stays what the analyser
//! resolves calls with; the catalog rows of functions and operators are
//! *generated from it*, joined with these tables by (name, argument type
//! oids). So a function is added by one registry entry plus one
//! `PG_PROC` row, and [`tests`] fail if either is missing: a registry
//! entry without a row (unless listed in [`NOT_IN_PG_PROC`] with the
//! reason), a row without a registry entry, or a row whose signature
//! (result type, strictness, variadic) disagrees with the registry.
//!
//! Invariants (checked by the tests):
//! 1. Every oid below `FirstNormalObjectId` (16384) is PostgreSQL 15's oid
//!    for the same object — drivers hard-code them. ferrogres never
//!    invents a built-in oid.
//! 2. Every type oid a row names (argument, result, operand, cast source,
//!    element, array) has a `pg_type` row, and every function oid a row
//!    names (`typinput`, `oprcode`, `castfunc`, ...) has a `pg_proc` row:
//!    the catalogs are closed under their references.
//! 3. A row says what ferrogres does, not what PostgreSQL does, where the
//!    two differ: no array type is listed that cannot be used (so
//!    `int4.typarray` is 0 until `int4[]` exists), `typreceive`/`typsend`
//!    are 0 (binary I/O lives in `backend/extended.rs`, not in callable
//!    `*_send`/`*_recv` functions), and there are no selectivity
//!    estimators (`oprrest`/`oprjoin` 0), planner support functions
//!    (`prosupport` 0), subscripting handlers or `typanalyze` functions.
//!    `tests/catalog_builtins.rs` lists each such difference from
//!    PostgreSQL 15 with its reason and fails on any other.
//! 4. `Support` rows are not callable by name yet: the analyser still
//!    resolves calls through the registry (issue 7's next slice resolves
//!    them through `pg_proc`).
//!
//! `prosrc` is PostgreSQL's `prosrc` (the internal function's name,
//! `aggregate_dummy` for aggregates), so `\df+` and pg_dump show what they
//! show on PostgreSQL; ferrogres's implementation of a `Callable` row is
//! the registry entry with the same (proname, proargtypes), of a `Support`
//! row the type's input/output in `sql::adt` or the operator's registry
//! entry. Catalog columns of types ferrogres cannot store yet (`oid[]`,
//! `text[]`, `"char"[]`, `aclitem[]`, `pg_node_tree`) are `text` holding
//! PostgreSQL's text form, NULL for nearly every built-in.

pub mod pg_cast;
pub mod pg_collation;
pub mod pg_operator;
pub mod pg_proc;
pub mod pg_type;

use std::collections::HashSet;
use std::sync::OnceLock;

use super::defs::{BOOTSTRAP_SUPERUSER, PG_CATALOG_NAMESPACE, PUBLIC_NAMESPACE};
use crate::sql::adt::{CoercionContext, cast_context};
use crate::sql::functions::{FuncDef, FuncKind, registry};
use crate::sql::types::Type;
use crate::storage::heap::HeapValue;
use crate::storage::heap::tuple::oidvector_pack;
use crate::storage::types::Oid;

/// `pg_language` oid of `internal`, the language of every built-in.
pub const INTERNAL_LANGUAGE: Oid = 12;

/// A `pg_type` row. Columns not here are the same for every built-in:
/// typnamespace pg_catalog, typowner the bootstrap superuser, typisdefined
/// true, typrelid 0, typsubscript 0, typanalyze 0, typnotnull false,
/// typbasetype 0, typtypmod -1, typndims 0, typdefaultbin, typdefault and
/// typacl NULL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TypeEntry {
    pub oid: Oid,
    pub typname: &'static str,
    pub typlen: i16,
    pub typbyval: bool,
    pub typtype: u8,
    pub typcategory: u8,
    pub typispreferred: bool,
    pub typdelim: u8,
    pub typelem: Oid,
    pub typarray: Oid,
    pub typinput: Oid,
    pub typoutput: Oid,
    pub typreceive: Oid,
    pub typsend: Oid,
    pub typmodin: Oid,
    pub typmodout: Oid,
    pub typalign: u8,
    pub typstorage: u8,
    pub typcollation: Oid,
    /// `pg_description` text.
    pub descr: Option<&'static str>,
}

/// Why a `pg_proc` row is in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcRole {
    /// A function or aggregate of the registry: callable by name.
    Callable,
    /// Named by another catalog row (type I/O, operator or cast
    /// implementation).
    Support,
}

/// A `pg_proc` row. Columns not here: pronamespace pg_catalog, proowner the
/// bootstrap superuser, prolang internal, prosupport 0, prosecdef false,
/// pronargs = proargtypes.len(), protrftypes, probin, prosqlbody, proconfig
/// and proacl NULL. `prosrc` is PostgreSQL's, except for the few built-ins
/// PostgreSQL writes in SQL (language sql): ferrogres implements those in
/// Rust too, so they are `internal` and `prosrc` is their name.
pub struct ProcEntry {
    pub oid: Oid,
    pub proname: &'static str,
    pub role: ProcRole,
    pub prokind: u8,
    pub procost: f32,
    pub prorows: f32,
    pub provariadic: Oid,
    pub proleakproof: bool,
    pub proisstrict: bool,
    pub proretset: bool,
    pub provolatile: u8,
    pub proparallel: u8,
    pub pronargdefaults: i16,
    pub prorettype: Oid,
    pub proargtypes: &'static [Oid],
    /// PostgreSQL's text form of the `oid[]` (variadic functions only).
    pub proallargtypes: Option<&'static str>,
    /// PostgreSQL's text form of the `"char"[]` (variadic functions only).
    pub proargmodes: Option<&'static str>,
    /// PostgreSQL's text form of the `text[]`.
    pub proargnames: Option<&'static str>,
    /// PostgreSQL's `pg_node_tree` text, stored verbatim.
    pub proargdefaults: Option<&'static str>,
    pub prosrc: &'static str,
    pub descr: Option<&'static str>,
}

/// A `pg_operator` row (oprnamespace pg_catalog, oprowner the bootstrap
/// superuser, oprrest and oprjoin 0).
pub struct OperEntry {
    pub oid: Oid,
    pub oprname: &'static str,
    pub oprkind: u8,
    pub oprcanmerge: bool,
    pub oprcanhash: bool,
    pub oprleft: Oid,
    pub oprright: Oid,
    pub oprresult: Oid,
    pub oprcom: Oid,
    pub oprnegate: Oid,
    pub oprcode: Oid,
    pub descr: Option<&'static str>,
}

/// A `pg_collation` row (the columns that differ between built-ins;
/// `collctype` equals `collcollate`, `colliculocale` and `collversion` are
/// NULL, every one is deterministic).
pub struct CollationEntry {
    pub oid: Oid,
    pub collname: &'static str,
    pub collprovider: u8,
    pub collencoding: i32,
    pub collcollate: Option<&'static str>,
    pub descr: Option<&'static str>,
}

/// A `pg_cast` row.
pub struct CastEntry {
    pub oid: Oid,
    pub castsource: Oid,
    pub casttarget: Oid,
    pub castfunc: Oid,
    pub castcontext: u8,
    pub castmethod: u8,
}

/// Registry entries that have no `pg_proc` row, and why.
pub const NOT_IN_PG_PROC: &[(&str, &[Oid], &str)] = &[
    (
        "pg_get_expr",
        &[25, 26],
        "takes pg_node_tree in PostgreSQL; ferrogres stores expressions as text",
    ),
    (
        "pg_get_expr",
        &[25, 26, 16],
        "takes pg_node_tree in PostgreSQL; ferrogres stores expressions as text",
    ),
    (
        "current_role",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "user",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "current_catalog",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "current_timestamp",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "current_date",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "localtimestamp",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "localtime",
        &[],
        "SQL syntax (SQLValueFunction), not a function in PostgreSQL",
    ),
    (
        "pg_stat_reset_single_table_counters",
        &[25],
        "stands in for the regclass argument until regclass exists",
    ),
    (
        "pg_relation_size",
        &[25],
        "stands in for pg_relation_size(regclass) until regclass exists",
    ),
    (
        "pg_relation_size",
        &[25, 25],
        "stands in for pg_relation_size(regclass, text) until regclass exists",
    ),
    (
        "pg_relation_size",
        &[26],
        "stands in for pg_relation_size(regclass) until regclass exists",
    ),
    (
        "pg_relation_size",
        &[26, 25],
        "stands in for pg_relation_size(regclass, text) until regclass exists",
    ),
    (
        "pg_table_size",
        &[25],
        "stands in for pg_table_size(regclass) until regclass exists",
    ),
    (
        "pg_table_size",
        &[26],
        "stands in for pg_table_size(regclass) until regclass exists",
    ),
    (
        "pg_total_relation_size",
        &[25],
        "stands in for pg_total_relation_size(regclass) until regclass exists",
    ),
    (
        "pg_total_relation_size",
        &[26],
        "stands in for pg_total_relation_size(regclass) until regclass exists",
    ),
    (
        "pg_indexes_size",
        &[25],
        "stands in for pg_indexes_size(regclass) until regclass exists",
    ),
    (
        "pg_indexes_size",
        &[26],
        "stands in for pg_indexes_size(regclass) until regclass exists",
    ),
    (
        "age",
        &[20],
        "ferrogres's 64-bit xids; PostgreSQL has age(xid) only",
    ),
    (
        "bt_index_check",
        &[25],
        "amcheck's bt_index_check(regclass), built in; an extension function in PostgreSQL",
    ),
    (
        "bt_index_check",
        &[26],
        "amcheck's bt_index_check(regclass), built in; an extension function in PostgreSQL",
    ),
    (
        "pg_backup_stop",
        &[],
        "PostgreSQL returns record with OUT parameters; ferrogres has no record type",
    ),
    (
        "pg_backup_stop",
        &[16],
        "PostgreSQL returns record with OUT parameters; ferrogres has no record type",
    ),
    ("ssl_is_used", &[], SSLINFO),
    ("ssl_version", &[], SSLINFO),
    ("ssl_cipher", &[], SSLINFO),
    ("ssl_client_cert_present", &[], SSLINFO),
    ("ssl_client_serial", &[], SSLINFO),
    ("ssl_client_dn", &[], SSLINFO),
    ("ssl_issuer_dn", &[], SSLINFO),
];

/// Why the sslinfo functions have no `pg_proc` row.
const SSLINFO: &str = "contrib/sslinfo, built in: PostgreSQL gives its functions oids at CREATE EXTENSION, so there is no fixed row to copy";

/// Registry operators that have no `pg_operator` row, and why.
pub const NOT_IN_PG_OPERATOR: &[(&str, &[Oid], &str)] = &[(
    "+",
    &[1186],
    "prefix + on interval: ferrogres accepts it, PostgreSQL 15 has no such operator",
)];

fn arg_oids(f: &FuncDef) -> Vec<Oid> {
    f.args.iter().map(|a| a.type_oid()).collect()
}

#[cfg(test)]
fn listed(list: &[(&str, &[Oid], &str)], f: &FuncDef) -> bool {
    let args = arg_oids(f);
    list.iter()
        .any(|(n, a, _)| *n == f.name && *a == args.as_slice())
}

/// The `PG_PROC` row of a registry function or aggregate: same name and
/// argument types, or — where PostgreSQL gives the trailing arguments
/// defaults — a prefix of them (`pg_backup_start(text)`).
pub fn proc_for(f: &FuncDef) -> Option<&'static ProcEntry> {
    if matches!(f.kind, FuncKind::Infix | FuncKind::Prefix) {
        return None;
    }
    let args = arg_oids(f);
    pg_proc::PG_PROC.iter().find(|p| {
        p.role == ProcRole::Callable
            && p.proname == f.name
            && (p.proargtypes == args.as_slice()
                || (p.pronargdefaults > 0
                    && args.len() >= p.proargtypes.len() - p.pronargdefaults as usize
                    && p.proargtypes.starts_with(&args))
                // VARIADIC T[]: the registry repeats T.
                || (f.variadic
                    && p.provariadic != 0
                    && p.proargtypes.len() == args.len()
                    && args.last() == Some(&p.provariadic)
                    && p.proargtypes[..args.len() - 1] == args[..args.len() - 1]))
    })
}

/// `provolatile` of a registry function or operator (its `oprcode`'s):
/// `b'i'`, `b's'` or `b'v'`; volatile for an entry without a row.
/// Computed once per process.
pub fn provolatile(id: crate::sql::functions::FuncId) -> u8 {
    static VOLATILITY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let all = VOLATILITY.get_or_init(|| {
        crate::sql::functions::registry()
            .funcs
            .iter()
            .map(|f| {
                let proc = match operator_for(f) {
                    Some(o) => pg_proc::PG_PROC.iter().find(|p| p.oid == o.oprcode),
                    None => proc_for(f),
                };
                proc.map_or(b'v', |p| p.provolatile)
            })
            .collect()
    });
    all.get(id).copied().unwrap_or(b'v')
}

/// The `PG_OPERATOR` row of a registry operator.
pub fn operator_for(f: &FuncDef) -> Option<&'static OperEntry> {
    let args = arg_oids(f);
    let (kind, left, right) = match (f.kind, args.as_slice()) {
        (FuncKind::Infix, [l, r]) => (b'b', *l, *r),
        (FuncKind::Prefix, [r]) => (b'l', 0, *r),
        _ => return None,
    };
    pg_operator::PG_OPERATOR.iter().find(|o| {
        o.oprname == f.name && o.oprkind == kind && o.oprleft == left && o.oprright == right
    })
}

/// Whether ferrogres implements a `PG_CAST` row: `sql::adt` has the cast,
/// in the same context.
pub fn cast_implemented(c: &CastEntry) -> bool {
    let (Some(from), Some(to)) = (Type::from_oid(c.castsource), Type::from_oid(c.casttarget))
    else {
        return false;
    };
    let ctx = match c.castcontext {
        b'i' => CoercionContext::Implicit,
        b'a' => CoercionContext::Assignment,
        _ => CoercionContext::Explicit,
    };
    cast_context(from, to) == Some(ctx)
}

/// The rows initdb writes, computed once per process.
pub struct Builtins {
    pub types: Vec<&'static TypeEntry>,
    pub procs: Vec<&'static ProcEntry>,
    pub operators: Vec<&'static OperEntry>,
    pub casts: Vec<&'static CastEntry>,
}

pub fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        let reg = registry();
        let types: Vec<_> = pg_type::PG_TYPE.iter().collect();
        let mut op_oids = HashSet::new();
        let mut proc_oids = HashSet::new();
        for f in &reg.funcs {
            if let Some(o) = operator_for(f) {
                op_oids.insert(o.oid);
            }
            if let Some(p) = proc_for(f) {
                proc_oids.insert(p.oid);
            }
        }
        let operators: Vec<_> = pg_operator::PG_OPERATOR
            .iter()
            .filter(|o| op_oids.contains(&o.oid))
            .collect();
        let casts: Vec<_> = pg_cast::PG_CAST
            .iter()
            .filter(|c| cast_implemented(c))
            .collect();
        for t in &types {
            proc_oids.extend([
                t.typinput,
                t.typoutput,
                t.typreceive,
                t.typsend,
                t.typmodin,
                t.typmodout,
            ]);
        }
        proc_oids.extend(operators.iter().map(|o| o.oprcode));
        proc_oids.extend(casts.iter().map(|c| c.castfunc));
        let procs = pg_proc::PG_PROC
            .iter()
            .filter(|p| proc_oids.contains(&p.oid))
            .collect();
        Builtins {
            types,
            procs,
            operators,
            casts,
        }
    })
}

/// `regprocout` for built-ins: the function's name, `-` for 0, the number
/// for an oid no built-in has.
pub fn regproc_name(oid: Oid) -> String {
    if oid == 0 {
        return "-".to_string();
    }
    match pg_proc::PG_PROC.iter().find(|p| p.oid == oid) {
        // regprocout qualifies a name regprocin would not find uniquely.
        Some(p) if procs_named(p.proname).len() > 1 => format!("pg_catalog.{}", p.proname),
        Some(p) => p.proname.to_string(),
        None => oid.to_string(),
    }
}

/// `regprocin` for built-ins: the oids of the emitted functions named `name`.
pub fn procs_named(name: &str) -> Vec<Oid> {
    builtins()
        .procs
        .iter()
        .filter(|p| p.proname == name)
        .map(|p| p.oid)
        .collect()
}

// ---------------------------------------------------------------------------
// Rows, in the column order of `defs::CATALOGS`
// ---------------------------------------------------------------------------

fn name(s: &str) -> HeapValue {
    HeapValue::name(s)
}

fn text(s: &str) -> HeapValue {
    HeapValue::Bytes(s.as_bytes().to_vec())
}

fn opt_text(s: Option<&str>) -> HeapValue {
    s.map(text).unwrap_or(HeapValue::Null)
}

fn ch(c: u8) -> HeapValue {
    HeapValue::Bytes(vec![c])
}

fn oid(o: Oid) -> HeapValue {
    HeapValue::Oid(o)
}

pub fn pg_type_rows() -> Vec<Vec<HeapValue>> {
    builtins()
        .types
        .iter()
        .map(|t| pg_type_row(t, PG_CATALOG_NAMESPACE, BOOTSTRAP_SUPERUSER))
        .collect()
}

/// One `pg_type` row: a built-in's, or a user-defined type's made by
/// `CREATE TYPE` (`catalog::pg_enum`) in `namespace`, owned by `owner`.
pub fn pg_type_row(t: &TypeEntry, namespace: Oid, owner: Oid) -> Vec<HeapValue> {
    vec![
        oid(t.oid),
        name(t.typname),
        oid(namespace),
        oid(owner),
        HeapValue::I16(t.typlen),
        HeapValue::Bool(t.typbyval),
        ch(t.typtype),
        ch(t.typcategory),
        HeapValue::Bool(t.typispreferred),
        HeapValue::Bool(true),
        ch(t.typdelim),
        oid(0),
        oid(0),
        oid(t.typelem),
        oid(t.typarray),
        oid(t.typinput),
        oid(t.typoutput),
        oid(t.typreceive),
        oid(t.typsend),
        oid(t.typmodin),
        oid(t.typmodout),
        oid(0),
        ch(t.typalign),
        ch(t.typstorage),
        HeapValue::Bool(false),
        oid(0),
        HeapValue::I32(-1),
        HeapValue::I32(0),
        oid(t.typcollation),
        HeapValue::Null,
        HeapValue::Null,
        HeapValue::Null,
    ]
}

pub fn pg_proc_rows() -> Vec<Vec<HeapValue>> {
    builtins()
        .procs
        .iter()
        .map(|p| {
            vec![
                oid(p.oid),
                name(p.proname),
                oid(PG_CATALOG_NAMESPACE),
                oid(BOOTSTRAP_SUPERUSER),
                oid(INTERNAL_LANGUAGE),
                HeapValue::F32(p.procost),
                HeapValue::F32(p.prorows),
                oid(p.provariadic),
                oid(0),
                ch(p.prokind),
                HeapValue::Bool(false),
                HeapValue::Bool(p.proleakproof),
                HeapValue::Bool(p.proisstrict),
                HeapValue::Bool(p.proretset),
                ch(p.provolatile),
                ch(p.proparallel),
                HeapValue::I16(p.proargtypes.len() as i16),
                HeapValue::I16(p.pronargdefaults),
                oid(p.prorettype),
                HeapValue::Bytes(oidvector_pack(p.proargtypes)),
                opt_text(p.proallargtypes),
                opt_text(p.proargmodes),
                opt_text(p.proargnames),
                opt_text(p.proargdefaults),
                HeapValue::Null,
                text(p.prosrc),
                HeapValue::Null,
                HeapValue::Null,
                HeapValue::Null,
                HeapValue::Null,
            ]
        })
        .collect()
}

pub fn pg_operator_rows() -> Vec<Vec<HeapValue>> {
    let b = builtins();
    let emitted = |o: Oid| {
        if b.operators.iter().any(|x| x.oid == o) {
            o
        } else {
            0
        }
    };
    b.operators
        .iter()
        .map(|o| {
            vec![
                oid(o.oid),
                name(o.oprname),
                oid(PG_CATALOG_NAMESPACE),
                oid(BOOTSTRAP_SUPERUSER),
                ch(o.oprkind),
                HeapValue::Bool(o.oprcanmerge),
                HeapValue::Bool(o.oprcanhash),
                oid(o.oprleft),
                oid(o.oprright),
                oid(o.oprresult),
                // A commutator or negator ferrogres lacks is not named.
                oid(emitted(o.oprcom)),
                oid(emitted(o.oprnegate)),
                oid(o.oprcode),
                oid(0),
                oid(0),
            ]
        })
        .collect()
}

pub fn pg_cast_rows() -> Vec<Vec<HeapValue>> {
    builtins()
        .casts
        .iter()
        .map(|c| {
            vec![
                oid(c.oid),
                oid(c.castsource),
                oid(c.casttarget),
                oid(c.castfunc),
                ch(c.castcontext),
                ch(c.castmethod),
            ]
        })
        .collect()
}

pub fn pg_language_rows() -> Vec<Vec<HeapValue>> {
    vec![vec![
        oid(INTERNAL_LANGUAGE),
        name("internal"),
        oid(BOOTSTRAP_SUPERUSER),
        HeapValue::Bool(false),
        HeapValue::Bool(false),
        oid(0),
        oid(0),
        // fmgr_internal_validator: there is no CREATE FUNCTION ... LANGUAGE internal yet.
        oid(0),
        HeapValue::Null,
    ]]
}

/// `pg_collation`'s rows.
pub fn pg_collation_rows() -> Vec<Vec<HeapValue>> {
    pg_collation::PG_COLLATION
        .iter()
        .map(|c| {
            vec![
                oid(c.oid),
                name(c.collname),
                oid(super::defs::PG_CATALOG_NAMESPACE),
                oid(BOOTSTRAP_SUPERUSER),
                ch(c.collprovider),
                HeapValue::Bool(true),
                HeapValue::I32(c.collencoding),
                opt_text(c.collcollate),
                opt_text(c.collcollate),
                HeapValue::Null,
                HeapValue::Null,
            ]
        })
        .collect()
}

/// `pg_description`: PostgreSQL's descriptions of the emitted built-ins.
pub fn pg_description_rows() -> Vec<Vec<HeapValue>> {
    use super::defs::{PG_LANGUAGE, PG_NAMESPACE, PG_OPERATOR, PG_PROC, PG_TYPE};
    let b = builtins();
    let mut rows: Vec<(Oid, Oid, &str)> = Vec::new();
    rows.extend(
        b.types
            .iter()
            .filter_map(|t| Some((t.oid, PG_TYPE, t.descr?))),
    );
    rows.extend(
        b.procs
            .iter()
            .filter_map(|p| Some((p.oid, PG_PROC, p.descr?))),
    );
    rows.extend(
        b.operators
            .iter()
            .filter_map(|o| Some((o.oid, PG_OPERATOR, o.descr?))),
    );
    rows.extend(
        pg_collation::PG_COLLATION
            .iter()
            .filter_map(|c| Some((c.oid, super::defs::PG_COLLATION, c.descr?))),
    );
    rows.push((INTERNAL_LANGUAGE, PG_LANGUAGE, "built-in functions"));
    rows.push((PG_CATALOG_NAMESPACE, PG_NAMESPACE, "system catalog schema"));
    rows.push((PUBLIC_NAMESPACE, PG_NAMESPACE, "standard public schema"));
    rows.into_iter()
        .map(|(o, class, d)| vec![oid(o), oid(class), HeapValue::I32(0), text(d)])
        .collect()
}

#[cfg(test)]
mod tests;
