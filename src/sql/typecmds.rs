//! Type DDL (PostgreSQL's `typecmds.c`): `CREATE TYPE ... AS ENUM`,
//! `ALTER TYPE ... ADD VALUE / RENAME VALUE`, `DROP TYPE` and `DROP DOMAIN`.
//!
//! Enum types are the user-defined types ferrogres has; the catalog rows
//! are written by `catalog::pg_enum` (through the backend's
//! [`TableContext::alter_types`]), values live in `adt::enums`. Composite,
//! range, domain and base types (`CREATE TYPE ... AS (...)`, `AS RANGE`,
//! `CREATE DOMAIN`, `ALTER DOMAIN`, `CREATE TYPE name (INPUT = ...)`) fail
//! with 0A000 naming the command.
//!
//! Every check reads the statement's catalog view (`catalog::syscache`)
//! and reports PostgreSQL's error in PostgreSQL's order:
//! - `CREATE TYPE`: a missing schema (3F000), a taken name — another type
//!   or a relation, whose row type has the name (42710 `type "mood"
//!   already exists`) — then each label's length (42602 `invalid enum
//!   label`, 63 bytes at most), then duplicate labels (PostgreSQL's unique
//!   index on `(enumtypid, enumlabel)`, 23505 with its key detail);
//! - `ALTER TYPE`: 42704 for a missing type, 42809 `integer is not an
//!   enum`, then the label rules (42710 `enum label "x" already exists`,
//!   or with IF NOT EXISTS the NOTICE `..., skipping`; 22023 `"x" is not
//!   an existing enum label` for a missing neighbour or old label). A new
//!   label goes after the last (`enumsortorder` max + 1), or halfway
//!   between its neighbours for BEFORE / AFTER. PostgreSQL renumbers the
//!   labels when floats run out of room between two neighbours; ferrogres
//!   answers 0A000 there instead.
//!
//! `DROP TYPE` resolves every name first, as PostgreSQL's `RemoveObjects`
//! does, so `DROP TYPE bool, nosuch` reports the missing type. Then:
//! - a built-in type (`pg_type` row below 16384): 2BP01 `cannot drop type
//!   integer because it is required by the database system` (its pinned
//!   dependency), after the owner check (42501 for a non-superuser);
//! - a table's row type: 2BP01 `cannot drop type t because table t
//!   requires it`, hint `You can drop table t instead.`;
//! - an enum's array type (`DROP TYPE mood[]`): 2BP01 `... because type
//!   mood requires it`;
//! - an enum used by a column: 2BP01 `cannot drop type mood because other
//!   objects depend on it`, one DETAIL line per column (PostgreSQL's
//!   `pg_depend` walk). `CASCADE`, which would drop those columns, is
//!   0A000 while ALTER TABLE DROP COLUMN does not exist;
//! - nothing: 42704 `type "x" does not exist` (3F000 for a missing schema),
//!   or with IF EXISTS PostgreSQL's NOTICE `..., skipping`.
//!
//! `DROP DOMAIN` on a type that is not a domain is 42809 `"int4" is not a
//! domain`, with the name as written (`TypeNameToString`: `integer` is
//! `pg_catalog.int4`). Type names are matched exactly against `typname`:
//! the grammar has already turned `integer` into `pg_catalog.int4`, and a
//! quoted `"integer"` names no type, as in PostgreSQL.

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ObjectType};

use super::tables::TypeChange;
use super::types::Type;
use super::{Outcome, ServerContext};
use crate::catalog::defs::PG_CATALOG_NAMESPACE;
use crate::catalog::syscache;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The 0A000 for the type DDL ferrogres does not have yet, naming the
/// kind of type (the generic arm would only say `CREATE TYPE`).
pub fn unsupported(node: &NodeEnum) -> PgError {
    let what = match node {
        NodeEnum::CompositeTypeStmt(_) => "CREATE TYPE ... AS (...) (composite types)",
        NodeEnum::CreateDomainStmt(_) => "CREATE DOMAIN",
        NodeEnum::AlterDomainStmt(_) => "ALTER DOMAIN",
        NodeEnum::DefineStmt(d) if d.definition.is_empty() => "CREATE TYPE name (shell types)",
        _ => "CREATE TYPE name (INPUT = ..., OUTPUT = ...) (base types)",
    };
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported by ferrogres yet"),
    )
}

/// `sqlstate::DEPENDENT_OBJECTS_STILL_EXIST`.

/// What a type name resolved to.
enum Target {
    BuiltIn(String),
    RowType {
        name: String,
        pinned: bool,
    },
    /// A user-defined type (`array` true: its array type, named so).
    User {
        oid: u32,
        array: bool,
    },
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
    // Dependency errors come after every name resolved, first one first.
    let mut drops = Vec::new();
    for t in targets {
        match t {
            Target::BuiltIn(name) | Target::RowType { name, pinned: true } => {
                return Err(PgError::error(
                    sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop type {name} because it is required by the database system"
                    ),
                ));
            }
            Target::RowType { name, .. } => {
                return Err(PgError::error(
                    sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!("cannot drop type {name} because table {name} requires it"),
                )
                .with_hint(format!("You can drop table {name} instead.")));
            }
            Target::User { oid, array: true } => {
                let t = Type::from_oid(oid).expect("resolved type");
                let base = t.elem().expect("array type").name();
                return Err(PgError::error(
                    sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop type {} because type {base} requires it",
                        t.name()
                    ),
                )
                .with_hint(format!("You can drop type {base} instead.")));
            }
            Target::User { oid, array: false } => {
                let t = Type::from_oid(oid).expect("resolved type");
                let array_oid = t.array().map_or(0, |a| a.oid());
                // PostgreSQL's pg_depend walk reports the array type's
                // dependents first, each group newest first.
                let mut users: Vec<String> = Vec::new();
                for (dep, shown) in [
                    (array_oid, format!("{}[]", t.name())),
                    (oid, t.name().into()),
                ] {
                    let cols = ctx.columns_of_types(&[dep])?;
                    users.extend(cols.iter().rev().map(|(table, col)| {
                        format!("column {col} of table {table} depends on type {shown}")
                    }));
                }
                if !users.is_empty() {
                    if ds.behavior == pb::DropBehavior::DropCascade as i32 {
                        return Err(PgError::error(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "DROP TYPE ... CASCADE of a type that columns use is not supported by ferrogres yet",
                        ));
                    }
                    let detail = users.join("\n");
                    return Err(PgError::error(
                        sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                        format!(
                            "cannot drop type {} because other objects depend on it",
                            t.name()
                        ),
                    )
                    .with_detail(detail)
                    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
                }
                drops.push(TypeChange::Drop {
                    type_oid: oid,
                    array_oid,
                });
            }
        }
    }
    for d in drops {
        ctx.alter_types(d)?;
    }
    Ok(Outcome::Command { tag: tag.into() })
}

/// Resolves one name (`LookupTypeName` + `get_object_address_type`);
/// Ok(None) when it is missing and `missing_ok` (the NOTICE is sent).
fn resolve(
    ctx: &mut dyn ServerContext,
    tn: &pb::TypeName,
    missing_ok: bool,
    is_domain: bool,
) -> PgResult<Option<Target>> {
    let names = name_parts(&tn.names);
    let written = names.join(".");
    let (schema, name) = split_name(&names)?;
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
    if let Some(sch) = schema
        && syscache::namespace_oid(sch)?.is_none()
    {
        let e = PgError::error(
            sqlstate::INVALID_SCHEMA_NAME,
            format!("schema \"{sch}\" does not exist"),
        );
        if missing_ok {
            ctx.notice(PgError::notice(format!("{}, skipping", e.message)));
            return Ok(None);
        }
        return Err(e);
    }
    if let Some(oid) = syscache::user_type_oid(schema, name)? {
        if is_domain {
            return Err(not_a_domain());
        }
        let t = Type::from_oid(oid).expect("a visible type has a row");
        return Ok(Some(match (array, t.array()) {
            (true, Some(a)) => Target::User {
                oid: a.oid(),
                array: true,
            },
            _ => Target::User { oid, array: false },
        }));
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

/// The `String` parts of a qualified name (`type_name` of the statements).
pub(super) fn name_parts(nodes: &[pb::Node]) -> Vec<&str> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect()
}

/// `(schema, name)` of a written name, PostgreSQL's errors for too many dots.
pub(super) fn split_name<'a>(parts: &[&'a str]) -> PgResult<(Option<&'a str>, &'a str)> {
    match parts {
        [n] => Ok((None, *n)),
        [s, n] | [_, s, n] => Ok((Some(*s), *n)),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!(
                "improper qualified name (too many dotted names): {}",
                parts.join(".")
            ),
        )),
    }
}

/// `NAMEDATALEN - 1`.
const MAX_LABEL_BYTES: usize = 63;

fn check_label(label: &str) -> PgResult<()> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(PgError::error(
            sqlstate::INVALID_NAME,
            format!("invalid enum label \"{label}\""),
        )
        .with_detail("Labels must be 63 bytes or less."));
    }
    Ok(())
}

/// Whether `namespace` already has a type of this name: a user type, a
/// built-in (in pg_catalog) or a relation's row type.
fn type_exists(ctx: &mut dyn ServerContext, nsp: &str, nsp_oid: u32, name: &str) -> PgResult<bool> {
    if nsp_oid == PG_CATALOG_NAMESPACE && Type::all().any(|t| t.typname() == name) {
        return Ok(true);
    }
    if syscache::user_type_oid(Some(nsp), name)?.is_some() {
        return Ok(true);
    }
    Ok(ctx.lookup_table(Some(nsp), name)?.is_some())
}

/// `CREATE TYPE name AS ENUM ('label', ...)` (`DefineEnum`).
pub fn create_enum(ctx: &mut dyn ServerContext, s: &pb::CreateEnumStmt) -> PgResult<Outcome> {
    let parts = name_parts(&s.type_name);
    let (schema, name) = split_name(&parts)?;
    let nsp = match schema {
        Some(sch) => sch.to_string(),
        None => {
            let user = ctx.current_user().to_string();
            let path = ctx.settings().search_path(&user);
            let mut found = None;
            for p in path {
                if syscache::namespace_oid(&p)?.is_some() {
                    found = Some(p);
                    break;
                }
            }
            found.ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_SCHEMA_NAME,
                    "no schema has been selected to create in",
                )
            })?
        }
    };
    let Some(nsp_oid) = syscache::namespace_oid(&nsp)? else {
        return Err(PgError::error(
            sqlstate::INVALID_SCHEMA_NAME,
            format!("schema \"{nsp}\" does not exist"),
        ));
    };
    let name = crate::sql::adt::truncate_name(name);
    if type_exists(ctx, &nsp, nsp_oid, &name)? {
        return Err(PgError::error(
            sqlstate::DUPLICATE_OBJECT,
            format!("type \"{name}\" already exists"),
        ));
    }
    let labels: Vec<String> = s
        .vals
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(v)) => Some(v.sval.clone()),
            _ => None,
        })
        .collect();
    for l in &labels {
        check_label(l)?;
    }
    if let Some(dup) = labels
        .iter()
        .enumerate()
        .find(|(i, l)| labels[..*i].contains(l))
        .map(|(_, l)| l)
    {
        // PostgreSQL's unique index on (enumtypid, enumlabel) reports it;
        // its key names the oid the type would have had, as there.
        return Err(PgError::error(
            sqlstate::UNIQUE_VIOLATION,
            "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"",
        )
        .with_detail(format!(
            "Key (enumtypid, enumlabel)=({}, {dup}) already exists.",
            crate::catalog::oid::new_oid()
        )));
    }
    // makeArrayTypeName: an underscore in front, more until the name is free.
    let mut array_name = format!("_{name}");
    while array_name.len() <= MAX_LABEL_BYTES && type_exists(ctx, &nsp, nsp_oid, &array_name)? {
        array_name.insert(0, '_');
    }
    let array_name = crate::sql::adt::truncate_name(&array_name);
    ctx.alter_types(TypeChange::CreateEnum {
        namespace: nsp_oid,
        name,
        array_name,
        labels,
    })?;
    Ok(Outcome::Command {
        tag: "CREATE TYPE".into(),
    })
}

/// `ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'x' [BEFORE | AFTER 'y']` and
/// `ALTER TYPE name RENAME VALUE 'x' TO 'y'` (`AlterEnum`).
pub fn alter_enum(ctx: &mut dyn ServerContext, s: &pb::AlterEnumStmt) -> PgResult<Outcome> {
    let parts = name_parts(&s.type_name);
    let (schema, name) = split_name(&parts)?;
    let written = parts.join(".");
    let missing = || {
        PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("type \"{written}\" does not exist"),
        )
    };
    if let Some(sch) = schema
        && syscache::namespace_oid(sch)?.is_none()
    {
        return Err(PgError::error(
            sqlstate::INVALID_SCHEMA_NAME,
            format!("schema \"{sch}\" does not exist"),
        ));
    }
    let builtin = match schema {
        None | Some("pg_catalog") => Type::all().find(|t| t.typname() == name),
        Some(_) => None,
    };
    let ty = match builtin {
        Some(t) => t,
        None => match syscache::user_type_oid(schema, name)?.and_then(Type::from_oid) {
            Some(t) => t,
            None => {
                // A table's row type is a type too (not an enum).
                return Err(match ctx.lookup_table(schema, name)? {
                    Some(_) => not_an_enum(name),
                    None => missing(),
                });
            }
        },
    };
    if !ty.is_enum() {
        return Err(not_an_enum(&ty.name()));
    }
    let labels = syscache::enum_labels(ty.oid())?;
    let done = Outcome::Command {
        tag: "ALTER TYPE".into(),
    };
    let not_existing = |l: &str| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("\"{l}\" is not an existing enum label"),
        )
    };
    let exists = |l: &str| {
        PgError::error(
            sqlstate::DUPLICATE_OBJECT,
            format!("enum label \"{l}\" already exists"),
        )
    };
    if !s.old_val.is_empty() {
        // RENAME VALUE old TO new.
        check_label(&s.new_val)?;
        let Some(old) = labels.iter().find(|l| *l.label == *s.old_val) else {
            return Err(not_existing(&s.old_val));
        };
        if labels.iter().any(|l| *l.label == *s.new_val) {
            return Err(exists(&s.new_val));
        }
        ctx.alter_types(TypeChange::RenameLabel {
            label_oid: old.oid,
            new: s.new_val.clone(),
        })?;
        return Ok(done);
    }
    check_label(&s.new_val)?;
    if labels.iter().any(|l| *l.label == *s.new_val) {
        if s.skip_if_new_val_exists {
            ctx.notice(PgError::notice(format!(
                "enum label \"{}\" already exists, skipping",
                s.new_val
            )));
            return Ok(done);
        }
        return Err(exists(&s.new_val));
    }
    let sortorder = if s.new_val_neighbor.is_empty() {
        labels.last().map_or(1.0, |l| l.sortorder + 1.0)
    } else {
        let Some(i) = labels.iter().position(|l| *l.label == *s.new_val_neighbor) else {
            return Err(not_existing(&s.new_val_neighbor));
        };
        let nbr = labels[i].sortorder;
        let other = if s.new_val_is_after {
            labels.get(i + 1).map(|l| l.sortorder)
        } else {
            i.checked_sub(1).map(|j| labels[j].sortorder)
        };
        match other {
            None if s.new_val_is_after => nbr + 1.0,
            None => nbr - 1.0,
            Some(o) => {
                let mid = (nbr + o) / 2.0;
                if mid == nbr || mid == o {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "ALTER TYPE ... ADD VALUE here needs the enum's labels renumbered, which is not supported by ferrogres yet",
                    ));
                }
                mid
            }
        }
    };
    ctx.alter_types(TypeChange::AddLabel {
        type_oid: ty.oid(),
        label: s.new_val.clone(),
        sortorder,
    })?;
    Ok(done)
}

fn not_an_enum(shown: &str) -> PgError {
    PgError::error(
        sqlstate::WRONG_OBJECT_TYPE,
        format!("{shown} is not an enum"),
    )
}
