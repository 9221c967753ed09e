//! VACUUM, ANALYZE, `ALTER TABLE ... SET | RESET (storage parameters)`
//! and ALTER TABLE's constraint subcommands (ADD / DROP / VALIDATE
//! CONSTRAINT, for CHECK constraints: `constraint.rs`)
//! (PostgreSQL's `ExecVacuum` option parsing and the reloptions part of
//! `tablecmds.c`). The work itself is the backend's
//! ([`TableContext::vacuum`](super::tables::TableContext::vacuum),
//! [`TableContext::alter_reloptions`](super::tables::TableContext::alter_reloptions)).

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, AlterTableType, ObjectType};

use super::tables::VacuumRequest;
use super::{Outcome, ServerContext};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The text of a `DefElem` argument (`defGetString`): `off` arrives as a
/// type name, numbers as Integer/Float nodes, quoted text as String.
pub(super) fn def_arg_string(arg: Option<&pb::Node>) -> Option<String> {
    let node = arg?.node.as_ref()?;
    Some(match node {
        NodeEnum::String(s) => s.sval.clone(),
        NodeEnum::Integer(i) => i.ival.to_string(),
        NodeEnum::Float(f) => f.fval.clone(),
        NodeEnum::Boolean(b) => (if b.boolval { "true" } else { "false" }).to_string(),
        NodeEnum::TypeName(t) => t
            .names
            .iter()
            .filter_map(|n| match n.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("."),
        NodeEnum::AConst(c) => match &c.val {
            Some(pb::a_const::Val::Sval(s)) => s.sval.clone(),
            Some(pb::a_const::Val::Ival(i)) => i.ival.to_string(),
            Some(pb::a_const::Val::Fval(f)) => f.fval.clone(),
            Some(pb::a_const::Val::Boolval(b)) => {
                (if b.boolval { "true" } else { "false" }).to_string()
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// `defGetBoolean`.
pub(super) fn def_bool(d: &pb::DefElem) -> PgResult<bool> {
    let Some(v) = def_arg_string(d.arg.as_deref()) else {
        return Ok(true);
    };
    match v.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Ok(true),
        "false" | "off" | "0" | "no" => Ok(false),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("{} requires a Boolean value", d.defname),
        )),
    }
}

/// `VACUUM [ ( option [, ...] ) ] [ table [, ...] ]` and `ANALYZE ...`.
pub fn vacuum(ctx: &mut dyn ServerContext, stmt: &pb::VacuumStmt) -> PgResult<Outcome> {
    let mut req = VacuumRequest {
        vacuum: stmt.is_vacuumcmd,
        analyze: !stmt.is_vacuumcmd,
        full: false,
        freeze: false,
        verbose: false,
        truncate: true,
        skip_locked: false,
        tables: Vec::new(),
    };
    for o in &stmt.options {
        let Some(NodeEnum::DefElem(d)) = o.node.as_ref() else {
            continue;
        };
        match d.defname.as_str() {
            "verbose" => req.verbose = def_bool(d)?,
            "skip_locked" => req.skip_locked = def_bool(d)?,
            "analyze" if stmt.is_vacuumcmd => req.analyze = def_bool(d)?,
            "full" if stmt.is_vacuumcmd => req.full = def_bool(d)?,
            "freeze" if stmt.is_vacuumcmd => req.freeze = def_bool(d)?,
            "truncate" if stmt.is_vacuumcmd => req.truncate = def_bool(d)?,
            // Accepted, meaningless without indexes, TOAST or parallel workers.
            "disable_page_skipping" | "process_toast" | "index_cleanup" | "parallel"
                if stmt.is_vacuumcmd => {}
            other => {
                let what = if stmt.is_vacuumcmd {
                    "VACUUM"
                } else {
                    "ANALYZE"
                };
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!("unrecognized {what} option \"{other}\""),
                ));
            }
        }
    }
    for r in &stmt.rels {
        let Some(NodeEnum::VacuumRelation(vr)) = r.node.as_ref() else {
            continue;
        };
        let Some(rv) = vr.relation.as_ref() else {
            continue;
        };
        if !vr.va_cols.is_empty() && stmt.is_vacuumcmd && !req.analyze {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "ANALYZE option must be specified when a column list is provided",
            ));
        }
        let schema = (!rv.schemaname.is_empty()).then(|| rv.schemaname.clone());
        req.tables.push((schema, rv.relname.clone()));
    }
    if req.vacuum && ctx.in_transaction_block() {
        return Err(PgError::error(
            sqlstate::ACTIVE_SQL_TRANSACTION,
            "VACUUM cannot run inside a transaction block",
        ));
    }
    ctx.vacuum(&req)?;
    Ok(Outcome::Command {
        tag: if stmt.is_vacuumcmd {
            "VACUUM"
        } else {
            "ANALYZE"
        }
        .into(),
    })
}

/// A constraint subcommand of ALTER TABLE (`constraint.rs` does the work).
enum ConstraintCmd<'s> {
    Add(&'s pb::Constraint),
    /// PRIMARY KEY or UNIQUE.
    AddIndex(&'s pb::Constraint),
    Drop {
        name: &'s str,
        missing_ok: bool,
    },
    Validate(&'s str),
}

impl ConstraintCmd<'_> {
    fn action(&self) -> &'static str {
        match self {
            ConstraintCmd::Add(_) | ConstraintCmd::AddIndex(_) => "ADD CONSTRAINT",
            ConstraintCmd::Drop { .. } => "DROP CONSTRAINT",
            ConstraintCmd::Validate(_) => "VALIDATE CONSTRAINT",
        }
    }
}

/// `ALTER TABLE`: `SET (...)` / `RESET (...)` of storage parameters and
/// ADD / DROP / VALIDATE of CHECK constraints; everything else is 0A000.
pub fn alter_table(
    ctx: &mut dyn ServerContext,
    statement: &super::Statement,
    stmt: &pb::AlterTableStmt,
) -> PgResult<Outcome> {
    let objtype = ObjectType::try_from(stmt.objtype).unwrap_or(ObjectType::Undefined);
    if objtype != ObjectType::ObjectTable {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "this form of ALTER is not supported by ferrogres yet",
        ));
    }
    let rv = stmt.relation.as_ref().expect("ALTER TABLE names a table");
    let mut set: Vec<(String, Option<String>)> = Vec::new();
    let mut reset: Vec<String> = Vec::new();
    let mut constraints: Vec<ConstraintCmd> = Vec::new();
    for c in &stmt.cmds {
        let Some(NodeEnum::AlterTableCmd(cmd)) = c.node.as_ref() else {
            continue;
        };
        let subtype = AlterTableType::try_from(cmd.subtype).unwrap_or(AlterTableType::Undefined);
        let items: Vec<&pb::DefElem> = match cmd.def.as_deref().and_then(|d| d.node.as_ref()) {
            Some(NodeEnum::List(l)) => l
                .items
                .iter()
                .filter_map(|n| match n.node.as_ref() {
                    Some(NodeEnum::DefElem(d)) => Some(&**d),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        match subtype {
            AlterTableType::AtSetRelOptions => {
                for d in items {
                    if !d.defnamespace.is_empty() {
                        return Err(PgError::error(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            format!(
                                "storage parameters of namespace \"{}\" are not supported by ferrogres yet",
                                d.defnamespace
                            ),
                        ));
                    }
                    set.push((d.defname.clone(), def_arg_string(d.arg.as_deref())));
                }
            }
            AlterTableType::AtResetRelOptions => {
                for d in items {
                    reset.push(d.defname.clone());
                }
            }
            AlterTableType::AtAddConstraint => {
                let Some(NodeEnum::Constraint(con)) =
                    cmd.def.as_deref().and_then(|d| d.node.as_ref())
                else {
                    continue;
                };
                let t = pb::ConstrType::try_from(con.contype).unwrap_or(pb::ConstrType::Undefined);
                if super::indexcmds::is_index_constraint(con) {
                    constraints.push(ConstraintCmd::AddIndex(con));
                    continue;
                }
                if t != pb::ConstrType::ConstrCheck {
                    return Err(super::ddl::unsupported(super::ddl::constraint_name(t)));
                }
                constraints.push(ConstraintCmd::Add(con));
            }
            AlterTableType::AtDropConstraint => {
                if cmd.behavior == pb::DropBehavior::DropCascade as i32 {
                    return Err(super::ddl::unsupported("DROP CONSTRAINT ... CASCADE"));
                }
                constraints.push(ConstraintCmd::Drop {
                    name: &cmd.name,
                    missing_ok: cmd.missing_ok,
                });
            }
            AlterTableType::AtValidateConstraint => {
                constraints.push(ConstraintCmd::Validate(&cmd.name));
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "this form of ALTER TABLE is not supported by ferrogres yet",
                ));
            }
        }
    }
    let schema = (!rv.schemaname.is_empty()).then_some(rv.schemaname.as_str());
    let target = ctx.lookup_table(schema, &rv.relname)?;
    if let Some(t) = &target
        && t.namespace_oid == crate::catalog::defs::PG_CATALOG_NAMESPACE
    {
        if !ctx.is_superuser() {
            return Err(super::ddl::not_owner(&t.name));
        }
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied: \"{}\" is a system catalog", t.name),
        ));
    }
    if let Some(t) = &target
        && matches!(t.relkind, 'S' | 'i')
    {
        // ATSimplePermissions: storage parameters and constraints are
        // for tables.
        let action = match constraints.first() {
            Some(c) => c.action(),
            None if set.is_empty() => "RESET",
            None => "SET",
        };
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!(
                "ALTER action {action} cannot be performed on relation \"{}\"",
                t.name
            ),
        )
        .with_detail(if t.relkind == 'i' {
            "This operation is not supported for indexes."
        } else {
            "This operation is not supported for sequences."
        }));
    }
    if target.is_none() {
        if stmt.missing_ok {
            ctx.notice(PgError::notice(format!(
                "relation \"{}\" does not exist, skipping",
                rv.relname
            )));
            return Ok(Outcome::Command {
                tag: "ALTER TABLE".into(),
            });
        }
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", rv.relname),
        ));
    }
    if !set.is_empty() || !reset.is_empty() {
        ctx.alter_reloptions(schema, &rv.relname, &set, &reset)?;
    }
    if !constraints.is_empty() {
        let target = target.expect("the table was found above");
        let Some(mut table) = ctx.lock_for_alter(&target)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", rv.relname),
            ));
        };
        for (i, c) in constraints.iter().enumerate() {
            if i > 0 {
                // Each subcommand sees the ones before it.
                ctx.command_counter_increment()?;
                table = ctx.lock_for_alter(&table)?.expect("the locked table stays");
            }
            use super::constraint::{RawCheck, add_checks, drop_check, validate_check};
            match c {
                ConstraintCmd::Add(con) => {
                    let raw = [RawCheck::of(con)];
                    add_checks(ctx, statement.parsed_text(), &table, &raw, true)?
                }
                ConstraintCmd::AddIndex(con) => super::indexcmds::add_index_constraints(
                    ctx,
                    statement,
                    &table,
                    &[super::indexcmds::IndexConstraint { con, column: None }],
                )?,
                ConstraintCmd::Drop { name, missing_ok } => {
                    if !super::indexcmds::drop_index_constraint(ctx, &table, name)? {
                        drop_check(ctx, &table, name, *missing_ok)?
                    }
                }
                ConstraintCmd::Validate(name) => validate_check(ctx, &table, name)?,
            }
        }
    }
    Ok(Outcome::Command {
        tag: "ALTER TABLE".into(),
    })
}
