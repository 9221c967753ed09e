//! Type DDL (PostgreSQL's `typecmds.c`): today `DROP TYPE` and
//! `DROP DOMAIN` resolve their names as PostgreSQL does and refuse what
//! cannot be dropped; user-defined types (issue 7) do not exist yet.
//!
//! ferrogres has no user-defined types yet: `CREATE TYPE` (enum,
//! composite, range, base), `CREATE DOMAIN`, `ALTER TYPE` and
//! `ALTER DOMAIN` fail with 0A000 naming the command (the generic arm of
//! `sql::execute`). So every type a `DROP TYPE` can name is one of:
//! - a built-in type (`pg_type` row below 16384, [`Type::all`]): PostgreSQL
//!   refuses with 2BP01 `cannot drop type integer because it is required by
//!   the database system` (its pinned dependency), after the owner check
//!   (42501 `must be owner of type integer` for a non-superuser);
//! - a table's row type (a catalog's, which is pinned like a built-in, or a
//!   user table's: 2BP01 `cannot drop type t because table t requires it`,
//!   hint `You can drop table t instead.`);
//! - nothing: 42704 `type "x" does not exist` (3F000 for a missing schema),
//!   or with IF EXISTS PostgreSQL's NOTICE `..., skipping`.
//!
//! As in PostgreSQL's `RemoveObjects`, every name is resolved (missing ones
//! reported or skipped in order) before any dependency error, so
//! `DROP TYPE bool, nosuch` reports the missing type. `DROP DOMAIN` on a
//! type that is not a domain is 42809 `"int4" is not a domain`, with the
//! name as written (`TypeNameToString`: `integer` is `pg_catalog.int4`).
//! Type names are matched exactly against `typname`: the grammar has
//! already turned `integer` into `pg_catalog.int4`, and a quoted
//! `"integer"` names no type, as in PostgreSQL.

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ObjectType};

use super::types::Type;
use super::{Outcome, ServerContext};
use crate::catalog::defs::PG_CATALOG_NAMESPACE;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The 0A000 for the type DDL ferrogres does not have yet, naming the
/// kind of type (the generic arm would only say `CREATE TYPE`).
pub fn unsupported(node: &NodeEnum) -> PgError {
    let what = match node {
        NodeEnum::CreateEnumStmt(_) => "CREATE TYPE ... AS ENUM (enum types)",
        NodeEnum::CompositeTypeStmt(_) => "CREATE TYPE ... AS (...) (composite types)",
        NodeEnum::CreateDomainStmt(_) => "CREATE DOMAIN",
        NodeEnum::AlterEnumStmt(_) => "ALTER TYPE ... ADD/RENAME VALUE (enum types)",
        NodeEnum::AlterDomainStmt(_) => "ALTER DOMAIN",
        NodeEnum::DefineStmt(d) if d.definition.is_empty() => "CREATE TYPE name (shell types)",
        _ => "CREATE TYPE name (INPUT = ..., OUTPUT = ...) (base types)",
    };
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported by ferrogres yet"),
    )
}

/// `DEPENDENT_OBJECTS_STILL_EXIST`.
const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";

/// What a type name resolved to.
enum Target {
    BuiltIn(String),
    RowType { name: String, pinned: bool },
}

/// `DROP TYPE` / `DROP DOMAIN` (`kind` says which).
pub fn drop_types(
    ctx: &mut dyn ServerContext,
    ds: &pb::DropStmt,
    kind: ObjectType,
) -> PgResult<Outcome> {
    let is_domain = kind == ObjectType::ObjectDomain;
    let tag = if is_domain {
        "DROP DOMAIN"
    } else {
        "DROP TYPE"
    };
    let mut targets = Vec::new();
    for obj in &ds.objects {
        let Some(NodeEnum::TypeName(tn)) = obj.node.as_ref() else {
            continue;
        };
        match resolve(ctx, tn, ds.missing_ok, is_domain)? {
            // The owner check comes as each name is resolved, as in
            // RemoveObjects; built-ins belong to the bootstrap superuser.
            Some(Target::BuiltIn(name)) if !ctx.is_superuser() => {
                return Err(PgError::error(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("must be owner of type {name}"),
                ));
            }
            Some(t) => targets.push(t),
            None => {}
        }
    }
    match targets.into_iter().next() {
        None => Ok(Outcome::Command { tag: tag.into() }),
        Some(Target::BuiltIn(name)) | Some(Target::RowType { name, pinned: true }) => {
            Err(PgError::error(
                DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop type {name} because it is required by the database system"),
            ))
        }
        Some(Target::RowType { name, .. }) => Err(PgError::error(
            DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot drop type {name} because table {name} requires it"),
        )
        .with_hint(format!("You can drop table {name} instead."))),
    }
}

/// Resolves one name (`LookupTypeName` + `get_object_address_type`);
/// Ok(None) when it is missing and `missing_ok` (the NOTICE is sent).
fn resolve(
    ctx: &mut dyn ServerContext,
    tn: &pb::TypeName,
    missing_ok: bool,
    is_domain: bool,
) -> PgResult<Option<Target>> {
    let names: Vec<&str> = tn
        .names
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect();
    let written = names.join(".");
    let (schema, name) = match names.as_slice() {
        [n] => (None, *n),
        [s, n] => (Some(*s), *n),
        [_, s, n] => (Some(*s), *n),
        _ => {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!("improper qualified name (too many dotted names): {written}"),
            ));
        }
    };
    let array = !tn.array_bounds.is_empty();
    let shown = |base: String| if array { format!("{base}[]") } else { base };
    let not_a_domain = || {
        PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a domain", shown(written.clone())),
        )
    };
    if matches!(schema, None | Some("pg_catalog"))
        && let Some(t) = Type::all().find(|t| t.typname() == name)
    {
        if is_domain {
            return Err(not_a_domain());
        }
        return Ok(Some(Target::BuiltIn(shown(t.name().into_owned()))));
    }
    // A table's row type has the table's name (`heap_create_with_catalog`
    // makes it); a missing schema is reported here.
    let table = match ctx.lookup_table(schema, name) {
        Ok(t) => t,
        Err(e) if missing_ok && e.sqlstate == sqlstate::INVALID_SCHEMA_NAME => {
            ctx.notice(PgError::notice(format!("{}, skipping", e.message)));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if let Some(t) = table
        && !array
    {
        if is_domain {
            return Err(not_a_domain());
        }
        return Ok(Some(Target::RowType {
            name: name.to_string(),
            pinned: t.namespace_oid == PG_CATALOG_NAMESPACE,
        }));
    }
    let missing = format!("type \"{}\" does not exist", shown(written));
    if missing_ok {
        ctx.notice(PgError::notice(format!("{missing}, skipping")));
        return Ok(None);
    }
    Err(PgError::error(sqlstate::UNDEFINED_OBJECT, missing))
}
