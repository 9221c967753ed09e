//! Utility statements that do not go through the planner (PostgreSQL's
//! `ProcessUtility`): SET / RESET / SHOW, ALTER SYSTEM, and transaction
//! control. Settings themselves live in `utils::guc`; this module only
//! turns statements into calls on [`Settings`](crate::utils::guc::Settings)
//! and the backend.

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, TransactionStmtKind, VariableSetKind, a_const};

use super::types::Type;
use super::{Field, Outcome, ServerContext, TransactionRequest};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Settings that take a list (`GUC_LIST_INPUT`); all others take one value.
const LIST_SETTINGS: &[&str] = &[
    "datestyle",
    "search_path",
    "temp_tablespaces",
    "session_preload_libraries",
    "shared_preload_libraries",
    "local_preload_libraries",
    "log_destination",
    "unix_socket_directories",
    "listen_addresses",
    "wal_consistency_checking",
];

/// List settings whose items are identifiers and get quoted (`GUC_LIST_QUOTE`).
const QUOTED_LIST_SETTINGS: &[&str] = &[
    "search_path",
    "temp_tablespaces",
    "session_preload_libraries",
    "shared_preload_libraries",
    "local_preload_libraries",
];

/// `quote_identifier`: quotes unless the name is a plain lower-case
/// identifier that is not a (non-unreserved) keyword.
pub fn quote_identifier(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let keyword = plain
        && pg_query::scan(s).ok().is_some_and(|r| {
            r.tokens.len() == 1 && {
                let k = r.tokens[0].keyword_kind;
                k != pb::KeywordKind::NoKeyword as i32
                    && k != pb::KeywordKind::UnreservedKeyword as i32
            }
        });
    if plain && !keyword {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `flatten_set_variable_args`: the value text of `SET name = args`.
fn flatten_args(name: &str, args: &[pg_query::Node]) -> PgResult<Option<String>> {
    if args.is_empty() {
        return Ok(None);
    }
    let lname = name.to_ascii_lowercase();
    if args.len() > 1 && !LIST_SETTINGS.contains(&lname.as_str()) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("SET {name} takes only one argument"),
        ));
    }
    let quote = QUOTED_LIST_SETTINGS.contains(&lname.as_str());
    let mut parts = Vec::new();
    for a in args {
        let node = match a.node.as_ref() {
            Some(NodeEnum::TypeCast(_)) => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "SET TIME ZONE INTERVAL is not supported by ferrogres yet",
                ));
            }
            Some(n) => n,
            None => continue,
        };
        let NodeEnum::AConst(c) = node else {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "unexpected SET argument",
            ));
        };
        parts.push(match &c.val {
            Some(a_const::Val::Ival(i)) => i.ival.to_string(),
            Some(a_const::Val::Fval(f)) => f.fval.clone(),
            Some(a_const::Val::Sval(s)) => {
                if quote {
                    quote_identifier(&s.sval)
                } else {
                    s.sval.clone()
                }
            }
            Some(a_const::Val::Boolval(b)) => {
                (if b.boolval { "true" } else { "false" }).to_string()
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "unexpected SET argument",
                ));
            }
        });
    }
    Ok(Some(parts.join(", ")))
}

/// `SET`, `RESET`, `SET LOCAL`, `SET ... TO DEFAULT`, `RESET ALL`,
/// `SET TRANSACTION ...` / `SET SESSION CHARACTERISTICS ...`.
pub fn set(ctx: &mut dyn ServerContext, stmt: &pb::VariableSetStmt) -> PgResult<Outcome> {
    let su = ctx.is_superuser();
    let kind = VariableSetKind::try_from(stmt.kind).unwrap_or(VariableSetKind::Undefined);
    let tag = match kind {
        VariableSetKind::VarReset | VariableSetKind::VarResetAll => "RESET",
        _ => "SET",
    };
    match kind {
        VariableSetKind::VarSetValue => {
            let value = flatten_args(&stmt.name, &stmt.args)?;
            ctx.settings()
                .set(&stmt.name, value.as_deref(), stmt.is_local, su)?;
        }
        VariableSetKind::VarSetDefault => {
            ctx.settings().set(&stmt.name, None, stmt.is_local, su)?
        }
        VariableSetKind::VarReset => ctx.settings().reset(&stmt.name, su)?,
        VariableSetKind::VarResetAll => ctx.settings().reset_all(),
        VariableSetKind::VarSetMulti => {
            let prefix = match stmt.name.as_str() {
                "TRANSACTION" => "",
                "SESSION CHARACTERISTICS" => "default_",
                _ => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("SET {} is not supported by ferrogres yet", stmt.name),
                    ));
                }
            };
            for item in &stmt.args {
                let Some(NodeEnum::DefElem(d)) = item.node.as_ref() else {
                    continue;
                };
                let value = def_elem_value(d);
                let name = format!("{prefix}{}", d.defname);
                ctx.settings()
                    .set(&name, Some(&value), prefix.is_empty(), su)?;
            }
        }
        VariableSetKind::VarSetCurrent | VariableSetKind::Undefined => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "SET ... FROM CURRENT is not supported by ferrogres yet",
            ));
        }
    }
    Ok(Outcome::Command { tag: tag.into() })
}

fn def_elem_value(d: &pb::DefElem) -> String {
    match d.arg.as_ref().and_then(|a| a.node.as_ref()) {
        Some(NodeEnum::AConst(c)) => match &c.val {
            Some(a_const::Val::Ival(i)) => (if i.ival != 0 { "on" } else { "off" }).to_string(),
            Some(a_const::Val::Sval(s)) => s.sval.clone(),
            Some(a_const::Val::Boolval(b)) => (if b.boolval { "on" } else { "off" }).to_string(),
            Some(a_const::Val::Fval(f)) => f.fval.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn text_field(name: &str) -> Field {
    Field {
        name: name.to_string(),
        type_oid: Type::Text.oid(),
        typlen: Type::Text.typlen(),
        typmod: -1,
    }
}

/// `SHOW name` and `SHOW ALL`.
pub fn show(ctx: &mut dyn ServerContext, stmt: &pb::VariableShowStmt) -> PgResult<Outcome> {
    let settings = ctx.settings();
    if stmt.name.eq_ignore_ascii_case("all") {
        let rows = settings
            .show_all()
            .into_iter()
            .map(|(n, v, d)| vec![Some(n), Some(v), Some(d)])
            .collect();
        return Ok(Outcome::Rows {
            fields: vec![
                text_field("name"),
                text_field("setting"),
                text_field("description"),
            ],
            rows,
            tag: "SHOW".into(),
        });
    }
    let value = settings.show(&stmt.name)?;
    let canonical = settings
        .show_all()
        .into_iter()
        .map(|(n, _, _)| n)
        .find(|n| n.eq_ignore_ascii_case(&stmt.name))
        .unwrap_or_else(|| stmt.name.clone());
    Ok(Outcome::Rows {
        fields: vec![text_field(&canonical)],
        rows: vec![vec![Some(value)]],
        tag: "SHOW".into(),
    })
}

/// `ALTER SYSTEM SET name = value` / `ALTER SYSTEM RESET name` / `ALTER SYSTEM RESET ALL`
/// (the last reaches the backend as name `all` with no value).
pub fn alter_system(ctx: &mut dyn ServerContext, stmt: &pb::AlterSystemStmt) -> PgResult<Outcome> {
    if !ctx.is_superuser() {
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            "must be superuser to execute ALTER SYSTEM command",
        ));
    }
    let set = stmt.setstmt.as_ref().expect("ALTER SYSTEM has a SET");
    match VariableSetKind::try_from(set.kind).unwrap_or(VariableSetKind::Undefined) {
        VariableSetKind::VarSetValue => {
            let value = flatten_args(&set.name, &set.args)?;
            ctx.alter_system(&set.name, value.as_deref())?;
        }
        VariableSetKind::VarSetDefault | VariableSetKind::VarReset => {
            ctx.alter_system(&set.name, None)?
        }
        VariableSetKind::VarResetAll => ctx.alter_system("all", None)?,
        _ => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this form of ALTER SYSTEM is not supported",
            ));
        }
    }
    Ok(Outcome::Command {
        tag: "ALTER SYSTEM".into(),
    })
}

/// BEGIN / START TRANSACTION / COMMIT / END / ROLLBACK / ABORT.
pub fn transaction(ctx: &mut dyn ServerContext, stmt: &pb::TransactionStmt) -> PgResult<Outcome> {
    let kind = TransactionStmtKind::try_from(stmt.kind).unwrap_or(TransactionStmtKind::Undefined);
    let unsupported = |what: &str| {
        PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("{what} is not supported by ferrogres yet"),
        )
    };
    match kind {
        TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart => {
            let tag = ctx.transaction(TransactionRequest::Begin)?;
            let su = ctx.is_superuser();
            for item in &stmt.options {
                let Some(NodeEnum::DefElem(d)) = item.node.as_ref() else {
                    continue;
                };
                let value = def_elem_value(d);
                match ctx.settings().set(&d.defname, Some(&value), true, su) {
                    Err(e) if e.sqlstate == sqlstate::UNDEFINED_OBJECT => {}
                    other => other?,
                }
            }
            let tag = if kind == TransactionStmtKind::TransStmtStart {
                "START TRANSACTION".to_string()
            } else {
                tag
            };
            Ok(Outcome::Command { tag })
        }
        TransactionStmtKind::TransStmtCommit | TransactionStmtKind::TransStmtRollback => {
            if stmt.chain {
                return Err(unsupported("AND CHAIN"));
            }
            let req = if kind == TransactionStmtKind::TransStmtCommit {
                TransactionRequest::Commit
            } else {
                TransactionRequest::Rollback
            };
            Ok(Outcome::Command {
                tag: ctx.transaction(req)?,
            })
        }
        TransactionStmtKind::TransStmtSavepoint
        | TransactionStmtKind::TransStmtRelease
        | TransactionStmtKind::TransStmtRollbackTo => Err(unsupported("SAVEPOINT")),
        _ => Err(unsupported("two-phase commit")),
    }
}
