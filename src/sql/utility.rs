//! Utility statements that do not go through the planner (PostgreSQL's
//! `ProcessUtility`): SET / RESET / SHOW, ALTER SYSTEM, and transaction
//! control. Settings themselves live in `utils::guc`; this module only
//! turns statements into calls on [`Settings`](crate::utils::guc::Settings)
//! and the backend.

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, TransactionStmtKind, VariableSetKind, a_const};

use super::tables::SavepointRequest;
use super::types::Type;
use super::{Field, Outcome, ServerContext, TransactionRequest};
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};
use crate::utils::guc::SetArg;

/// `flatten_set_variable_args`: the value text of `SET name = args`, by
/// the GUC's own rules (list parameters, identifier quoting).
fn flatten_args(
    ctx: &mut dyn ServerContext,
    name: &str,
    args: &[pg_query::Node],
) -> PgResult<Option<String>> {
    let bad = || PgError::error(sqlstate::SYNTAX_ERROR, "unexpected SET argument");
    let mut items: Vec<SetArg<'_>> = Vec::with_capacity(args.len());
    for a in args {
        let c = match a.node.as_ref() {
            Some(NodeEnum::AConst(c)) => c,
            Some(NodeEnum::TypeCast(_)) => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "SET TIME ZONE INTERVAL is not supported by ferrogres yet",
                ));
            }
            _ => return Err(bad()),
        };
        items.push(match &c.val {
            Some(a_const::Val::Ival(i)) => SetArg::Integer(i.ival as i64),
            Some(a_const::Val::Fval(f)) => SetArg::Float(&f.fval),
            Some(a_const::Val::Sval(s)) => SetArg::Str(&s.sval),
            Some(a_const::Val::Boolval(b)) => SetArg::Str(if b.boolval { "true" } else { "false" }),
            _ => return Err(bad()),
        });
    }
    ctx.settings().flatten_set_args(name, &items)
}

/// Passes NOTICEs the settings produced (a truncated name, ...) to the client.
fn forward_notices(ctx: &mut dyn ServerContext) {
    for n in ctx.settings().take_notices() {
        ctx.notice(n);
    }
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
    let warn_no_block = |ctx: &mut dyn ServerContext, what: &str| {
        if !ctx.in_transaction_block() {
            ctx.notice(PgError::new(
                Severity::Warning,
                sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                format!("{what} can only be used in transaction blocks"),
            ));
        }
    };
    if stmt.is_local
        && matches!(
            kind,
            VariableSetKind::VarSetValue | VariableSetKind::VarSetDefault
        )
    {
        warn_no_block(ctx, "SET LOCAL");
    }
    if kind == VariableSetKind::VarSetMulti && stmt.name == "TRANSACTION" {
        warn_no_block(ctx, "SET TRANSACTION");
    }
    if kind == VariableSetKind::VarReset && stmt.name == "transaction_isolation" {
        warn_no_block(ctx, "RESET TRANSACTION");
    }
    match kind {
        VariableSetKind::VarSetValue => {
            let value = flatten_args(ctx, &stmt.name, &stmt.args)?;
            if stmt.name.eq_ignore_ascii_case("transaction_isolation")
                && let Some(v) = &value
            {
                check_isolation_change(ctx, v)?;
            }
            if stmt.name.eq_ignore_ascii_case("transaction_read_only")
                && let Some(v) = &value
            {
                check_read_only_change(ctx, v)?;
            }
            if (stmt.name.eq_ignore_ascii_case("role")
                || stmt.name.eq_ignore_ascii_case("session_authorization"))
                && let Some(v) = &value
            {
                ctx.check_role_setting(&stmt.name, v)?;
            }
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
                if prefix.is_empty() && d.defname == "transaction_isolation" {
                    check_isolation_change(ctx, &value)?;
                }
                if prefix.is_empty() && d.defname == "transaction_read_only" {
                    check_read_only_change(ctx, &value)?;
                }
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
    forward_notices(ctx);
    Ok(Outcome::Command { tag: tag.into() })
}

/// `check_XactIsoLevel`: the isolation level is fixed by the transaction's
/// first snapshot.
fn check_isolation_change(ctx: &mut dyn ServerContext, value: &str) -> PgResult<()> {
    let current = ctx
        .settings()
        .show("transaction_isolation")
        .unwrap_or_default();
    if !current.eq_ignore_ascii_case(value.trim()) && ctx.snapshot_taken() {
        return Err(PgError::error(
            sqlstate::ACTIVE_SQL_TRANSACTION,
            "SET TRANSACTION ISOLATION LEVEL must be called before any query",
        ));
    }
    Ok(())
}

/// `check_transaction_read_only`: a read-only transaction may turn
/// read-write only at top level and before its first snapshot.
fn check_read_only_change(ctx: &mut dyn ServerContext, value: &str) -> PgResult<()> {
    let to_read_write = crate::utils::guc::parse_bool(value.trim()) == Some(false);
    if !to_read_write || !ctx.settings().get_bool("transaction_read_only") {
        return Ok(());
    }
    if ctx.in_subtransaction() {
        return Err(PgError::error(
            sqlstate::ACTIVE_SQL_TRANSACTION,
            "cannot set transaction read-write mode inside a read-only transaction",
        ));
    }
    if ctx.snapshot_taken() {
        return Err(PgError::error(
            sqlstate::ACTIVE_SQL_TRANSACTION,
            "transaction read-write mode must be set before any query",
        ));
    }
    Ok(())
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
        .canonical_name(&stmt.name)
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
    let set = stmt.setstmt.as_ref().expect("ALTER SYSTEM has a SET");
    // PostgreSQL 15's AlterSystemSetConfigFile: without GRANT ALTER SYSTEM
    // (which ferrogres does not have), only a superuser may.
    if !ctx.is_superuser() {
        let reset_all = VariableSetKind::try_from(set.kind) == Ok(VariableSetKind::VarResetAll);
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            if reset_all {
                "permission denied to perform ALTER SYSTEM RESET ALL".to_string()
            } else {
                format!("permission denied to set parameter \"{}\"", set.name)
            },
        ));
    }
    match VariableSetKind::try_from(set.kind).unwrap_or(VariableSetKind::Undefined) {
        VariableSetKind::VarSetValue => {
            let value = flatten_args(ctx, &set.name, &set.args)?;
            ctx.alter_system(&set.name, value.as_deref())?;
            forward_notices(ctx);
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
/// `RequireTransactionBlock`'s error.
fn no_block(what: &str) -> PgError {
    PgError::error(
        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
        format!("{what} can only be used in transaction blocks"),
    )
}

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
                if !ctx.in_transaction_block() {
                    let what = if kind == TransactionStmtKind::TransStmtCommit {
                        "COMMIT"
                    } else {
                        "ROLLBACK"
                    };
                    return Err(no_block(&format!("{what} AND CHAIN")));
                }
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
        | TransactionStmtKind::TransStmtRollbackTo => {
            if !ctx.in_transaction_block() {
                return Err(no_block(match kind {
                    TransactionStmtKind::TransStmtSavepoint => "SAVEPOINT",
                    TransactionStmtKind::TransStmtRelease => "RELEASE SAVEPOINT",
                    _ => "ROLLBACK TO SAVEPOINT",
                }));
            }
            let (request, tag) = match kind {
                TransactionStmtKind::TransStmtSavepoint => (SavepointRequest::Define, "SAVEPOINT"),
                TransactionStmtKind::TransStmtRelease => (SavepointRequest::Release, "RELEASE"),
                _ => (SavepointRequest::RollbackTo, "ROLLBACK"),
            };
            ctx.savepoint(request, &stmt.savepoint_name)?;
            Ok(Outcome::Command { tag: tag.into() })
        }
        _ => Err(unsupported("two-phase commit")),
    }
}

/// `DISCARD ALL | PLANS | TEMP | SEQUENCES`. ALL is `RESET ALL`,
/// `DEALLOCATE ALL` and `DISCARD SEQUENCES` (and would close cursors and
/// drop temporary tables, of which ferrogres has none) and, as in
/// PostgreSQL, cannot run inside a transaction block. SEQUENCES forgets
/// the session's cached sequence values and `currval`/`lastval` state;
/// PLANS and TEMP have nothing to discard: ferrogres caches no plans
/// between statements and has no temporary tables yet.
pub fn discard(ctx: &mut dyn ServerContext, d: &pb::DiscardStmt) -> PgResult<Outcome> {
    use pb::DiscardMode;
    let tag = match DiscardMode::try_from(d.target).unwrap_or(DiscardMode::Undefined) {
        DiscardMode::DiscardAll => {
            if ctx.in_transaction_block() {
                return Err(PgError::error(
                    sqlstate::ACTIVE_SQL_TRANSACTION,
                    "DISCARD ALL cannot run inside a transaction block",
                ));
            }
            // SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL.
            let su = ctx.is_superuser();
            ctx.settings().reset("session_authorization", su)?;
            ctx.settings().reset_all();
            ctx.deallocate(None)?;
            ctx.discard_sequences();
            "DISCARD ALL"
        }
        DiscardMode::DiscardPlans => "DISCARD PLANS",
        DiscardMode::DiscardTemp => "DISCARD TEMP",
        DiscardMode::DiscardSequences => {
            ctx.discard_sequences();
            "DISCARD SEQUENCES"
        }
        DiscardMode::Undefined => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this DISCARD is not supported by ferrogres yet",
            ));
        }
    };
    Ok(Outcome::Command { tag: tag.into() })
}

/// `PREPARE name [(types)] AS statement` (`PrepareQuery`).
pub fn prepare(
    ctx: &mut dyn ServerContext,
    stmt: &super::Statement,
    p: &pb::PrepareStmt,
) -> PgResult<Outcome> {
    let query = p
        .query
        .as_ref()
        .and_then(|n| n.node.clone())
        .expect("PREPARE has a statement");
    let mut types = Vec::with_capacity(p.argtypes.len());
    {
        let analyzer = super::analyze::Analyzer::new(&mut *ctx, stmt.parsed_text());
        for t in &p.argtypes {
            let Some(NodeEnum::TypeName(tn)) = t.node.as_ref() else {
                continue;
            };
            types.push(analyzer.type_from_name(tn)?.0);
        }
    }
    let inner = super::Statement {
        text: stmt.text.clone(),
        node: query,
        source: stmt.source.clone(),
        location: stmt.location,
    };
    ctx.prepare(&p.name, inner, types)?;
    Ok(Outcome::Command {
        tag: "PREPARE".into(),
    })
}

/// `EXECUTE name [(params)]` (`ExecuteQuery`): the parameters are
/// analysed as constant expressions, coerced to the statement's parameter
/// types by assignment rules, and the statement runs with them.
pub fn execute_prepared(
    ctx: &mut dyn ServerContext,
    stmt: &super::Statement,
    e: &pb::ExecuteStmt,
) -> PgResult<Outcome> {
    with_prepared(ctx, stmt, e, |ctx, inner| super::execute(ctx, inner))
}

/// Runs `f` on the statement `EXECUTE name (args)` names, with its
/// parameters bound to the arguments (coerced by assignment rules), and
/// puts the session's parameters back afterwards (EXECUTE and EXPLAIN
/// EXECUTE).
pub fn with_prepared<T>(
    ctx: &mut dyn ServerContext,
    stmt: &super::Statement,
    e: &pb::ExecuteStmt,
    f: impl FnOnce(&mut dyn ServerContext, &super::Statement) -> PgResult<T>,
) -> PgResult<T> {
    use super::adt::{CoercionContext, can_coerce};
    let Some((inner, types)) = ctx.prepared_statement(&e.name) else {
        return Err(PgError::error(
            sqlstate::INVALID_SQL_STATEMENT_NAME,
            format!("prepared statement \"{}\" does not exist", e.name),
        ));
    };
    if e.params.len() != types.len() {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!(
                "wrong number of parameters for prepared statement \"{}\"",
                e.name
            ),
        )
        .with_detail(format!(
            "Expected {} parameters but got {}.",
            types.len(),
            e.params.len()
        )));
    }
    ctx.take_snapshot();
    let mut exprs = Vec::with_capacity(types.len());
    {
        let mut analyzer = super::analyze::Analyzer::new(&mut *ctx, stmt.parsed_text());
        for (i, (n, &ty)) in e.params.iter().zip(&types).enumerate() {
            let n = n.node.as_ref().expect("EXECUTE parameter");
            let l = super::analyze::raw_location(n);
            let mut scope = super::analyze::Scope::new(super::analyze::ExprKind::ExecuteParameter);
            let x = analyzer.transform_expr(&mut scope, n)?;
            let from = x.ty();
            if from != super::types::Type::Unknown
                && !can_coerce(from, ty, CoercionContext::Assignment)
            {
                return Err(analyzer
                    .error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!(
                            "parameter ${} of type {} cannot be coerced to the expected type {}",
                            i + 1,
                            from.name(),
                            ty.name()
                        ),
                        l,
                    )
                    .with_hint("You will need to rewrite or cast the expression."));
            }
            exprs.push(analyzer.coerce(x, ty, -1, CoercionContext::Assignment, l)?);
        }
    }
    let mut values = Vec::with_capacity(exprs.len());
    {
        let mut cx = super::exec::EvalContext::new(ctx);
        for x in &exprs {
            values.push(super::exec::eval(x, &[], &mut cx)?);
        }
    }
    let saved = super::params::take();
    super::params::set_types(types);
    super::params::set_values(values);
    let r = f(ctx, &inner);
    super::params::restore(saved);
    r
}
