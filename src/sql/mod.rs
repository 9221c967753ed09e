//! The SQL pipeline after PostgreSQL's own grammar: parse (pg_query) →
//! analyse → plan → execute.
//!
//! ```text
//!  query string ──parser──▶ Statement (raw parse tree, pg_query protobuf)
//!                              │
//!            utility ◀─────────┤ SET / SHOW / RESET / ALTER SYSTEM / BEGIN ...
//!                              ▼
//!                 analyze ──▶ Query     names resolved against the FROM relation,
//!                              │         types inferred, functions/operators resolved
//!                              ▼
//!                    plan ──▶ Plan      SeqScan → Filter → Agg → Filter(HAVING)
//!                              │         → Project → Unique → Sort → Limit
//!                              ▼
//!                    exec ──▶ rows      pull-based nodes, text output per type
//! ```
//!
//! Module map: [`parser`] (splitting, syntax-error positions), [`analyze`]
//! (`parse_*.c`: names, types, function/operator resolution, grouping
//! checks), [`plan`] (the plan tree), [`exec`] (executor nodes, expression
//! evaluation), [`functions`] (`pg_proc`/`pg_operator`: built-ins and
//! aggregates), [`adt`] (each type's input/output, casts, comparison;
//! `numeric` and date/time arithmetic), [`catalog`] (relations and their
//! row sources), [`utility`] (SET/SHOW/transaction control), [`types`] and
//! [`expr`] (values and analysed expressions).
//!
//! SUPPORTED: SELECT with any number of FROM items (relations, optionally
//! `pg_catalog.`-qualified and aliased with column aliases, subqueries,
//! VALUES lists, functions) and joins (comma, CROSS, [INNER], LEFT/RIGHT/
//! FULL [OUTER], ON/USING/NATURAL, join aliases; nested loop and hash
//! join, see [`plan`]), WHERE, GROUP BY (expression, output name, position, `()`),
//! HAVING, aggregates (count, sum, avg, min, max, bool_and/or, every,
//! string_agg; DISTINCT, FILTER and ORDER BY inside the call), DISTINCT,
//! ORDER BY (ASC/DESC, NULLS FIRST/LAST, by name/position/expression),
//! LIMIT/OFFSET; VALUES; UNION/INTERSECT/EXCEPT [ALL]; subqueries in
//! expressions (scalar, EXISTS, IN/ANY/ALL), correlated to any level; expressions over
//! bool, int2/4/8, float4/8, numeric (arbitrary precision), text, varchar,
//! name, oid, regtype, xid, inet, timestamptz, interval; PostgreSQL's type
//! resolution for literals, operators, functions and CASE/COALESCE/IN/
//! VALUES/UNION; its error codes, messages, hints and positions;
//! SET/RESET/SHOW (incl. ALL), ALTER SYSTEM, BEGIN/START TRANSACTION/
//! COMMIT/END/ROLLBACK/ABORT with transaction modes.
//!
//! Tables ([`tables`]): CREATE TABLE (NULL / NOT NULL / DEFAULT column
//! constraints) and DROP TABLE ([`ddl`]); INSERT (VALUES, SELECT, DEFAULT),
//! UPDATE (also `... FROM`) and DELETE (also `... USING`) with RETURNING
//! ([`dml`]); SELECT from tables, with
//! FOR UPDATE/SHARE; `generate_series` and the backend's set-returning
//! functions in FROM; date, timestamp, char(n) and pg_lsn; SAVEPOINT,
//! RELEASE, ROLLBACK TO, CHECKPOINT.
//!
//! DELIBERATELY LEFT OUT (for now, all failing with SQLSTATE 0A000 rather
//! than misbehaving): other DDL, PRIMARY KEY/UNIQUE/CHECK/FOREIGN KEY
//! constraints, ON CONFLICT, some LATERAL shapes, aggregates of an outer
//! query inside a subquery, RETURNING of FROM/USING columns, FOR
//! UPDATE/SHARE with joins,
//! GROUPING() over an outer query's columns, collations other than C (text compares bytewise, like the
//! `C`/`C.UTF-8` collations initdb picks here).
//! Parameters (`$1`) exist only for the extended query protocol
//! ([`params`], [`describe`]). Constant expressions are evaluated per
//! row rather than folded at plan time, so an error in a constant surfaces
//! only if a row reaches it; rows of hashed GROUP BY, DISTINCT and set
//! operations come out in first-seen order (PostgreSQL promises no order
//! either).
//!
//! Relation scans go through [`catalog::RelationSource`]; on-disk heap
//! tables will be added there as another source, without touching the
//! analyser, planner or the rest of the executor.
//!
//! CONTRACT with the backend (`src/backend`):
//! - [`parse`] splits a simple-query string into statements, each with its
//!   own source text and parse tree; a syntax error carries SQLSTATE 42601
//!   and the 1-based cursor position, as PostgreSQL reports it.
//! - [`command_tag`] names the statement for the process title and
//!   `pg_stat_activity` before it runs (`SELECT`, `SET`, `SHOW`, ...).
//! - [`execute`] runs one statement against a [`ServerContext`], which is the
//!   backend's window onto shared memory, settings and signals. Results are
//!   in text format, ready for DataRow. Values print in the session's
//!   `TimeZone` and `extra_float_digits`, read from [`Settings`] at the start
//!   of each statement.
//! - `pg_settings` is served here from [`Settings::pg_settings_rows`]; every
//!   other system relation comes from [`ServerContext::system_relation`].
//! - NOTICEs the settings produce (`Settings::take_notices`) and
//!   WARNINGs such as `SET LOCAL can only be used in transaction blocks` go
//!   to [`ServerContext::notice`]; the latter needs
//!   [`ServerContext::in_transaction_block`].
//! - `ALTER SYSTEM RESET ALL` reaches [`ServerContext::alter_system`] as
//!   name `all` with no value; `START TRANSACTION` reports its own tag.

pub mod adt;
pub mod analyze;
pub mod catalog;
mod constraint;
mod copy;
mod ddl;
mod dml;
pub mod exec;
mod explain;
pub mod expr;
pub mod functions;
pub mod indexcmds;
mod maintenance;
pub mod params;
mod parser;
pub mod plan;
mod sequence;
pub mod tables;
mod typecmds;
pub mod types;
mod utility;

pub use parser::{QueryStatements, parse, split};

use pg_query::NodeEnum;

use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::Settings;
use crate::utils::time::TimestampTz;
use types::{Datum, Type};

/// One column of a result, as RowDescription describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub type_oid: u32,
    pub typlen: i16,
    pub typmod: i32,
}

/// What one statement produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A row set: RowDescription, DataRows (text format, `None` = NULL), CommandComplete(tag).
    Rows {
        fields: Vec<Field>,
        rows: Vec<Vec<Option<String>>>,
        tag: String,
    },
    /// A utility command: CommandComplete(tag) only.
    Command { tag: String },
    /// An empty query string: EmptyQueryResponse.
    Empty,
}

/// A relation that lives in process or shared memory rather than on disk
/// (system views such as `pg_stat_activity`), materialised for one scan.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualRelation {
    pub columns: Vec<(String, Type)>,
    pub rows: Vec<Vec<Datum>>,
}

/// Transaction-control requests the SQL layer passes to the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionRequest {
    Begin,
    Commit,
    Rollback,
}

/// The backend as the executor sees it.
pub trait ServerContext: tables::TableContext {
    fn backend_pid(&self) -> i32;
    fn current_user(&self) -> &str;
    fn session_user(&self) -> &str;
    fn current_database(&self) -> &str;
    fn is_superuser(&self) -> bool;
    /// Start of the current transaction (what `now()` returns).
    fn transaction_timestamp(&self) -> TimestampTz;
    fn statement_timestamp(&self) -> TimestampTz;
    fn postmaster_start_time(&self) -> TimestampTz;

    /// This session's settings (SET, SHOW, current_setting, set_config).
    fn settings(&mut self) -> &mut Settings;
    /// `ALTER SYSTEM SET name = value` / `ALTER SYSTEM RESET name` (value None).
    fn alter_system(&mut self, name: &str, value: Option<&str>) -> PgResult<()>;
    /// `pg_reload_conf()`: signal the postmaster to reload.
    fn reload_conf(&mut self) -> PgResult<bool>;
    /// `DEALLOCATE name` (`Some`) or `DEALLOCATE ALL` (`None`): forgets
    /// prepared statements (those of the protocol's Parse messages; SQL
    /// PREPARE is not implemented yet). 26000 for an unknown name.
    fn deallocate(&mut self, name: Option<&str>) -> PgResult<()>;

    /// Raises 57014 if a cancel arrived, 57P01 if terminated.
    fn check_for_interrupts(&mut self) -> PgResult<()>;
    /// `pg_sleep`: sleeps, waking for interrupts (then returns their error).
    fn sleep(&mut self, seconds: f64) -> PgResult<()>;
    /// `pg_cancel_backend` (terminate = false) / `pg_terminate_backend`
    /// (true): permission checks, then SIGINT/SIGTERM. Ok(false) with a
    /// WARNING notice when the pid is not a server process.
    fn signal_backend(&mut self, pid: i32, terminate: bool) -> PgResult<bool>;

    /// Sends a NOTICE/WARNING to the client.
    fn notice(&mut self, notice: PgError);

    /// A system view or table backed by memory (`pg_stat_activity`, ...).
    /// `name` is unqualified and lowercase; Ok(None) if unknown.
    fn system_relation(&mut self, name: &str) -> PgResult<Option<VirtualRelation>>;

    /// BEGIN / COMMIT / ROLLBACK. Returns the command tag to report
    /// (`ROLLBACK` for a COMMIT of a failed transaction).
    fn transaction(&mut self, request: TransactionRequest) -> PgResult<String>;

    /// Whether an explicit transaction block (BEGIN ... COMMIT) is open:
    /// `SET LOCAL` / `SET TRANSACTION` outside one draw PostgreSQL's WARNING,
    /// `SAVEPOINT` and `COMMIT AND CHAIN` its error. The default (true)
    /// suppresses both.
    fn in_transaction_block(&self) -> bool {
        true
    }

    /// Checks `SET ROLE value` / `SET SESSION AUTHORIZATION value` (`name`
    /// is `role` or `session_authorization`): the role exists (22023) and the
    /// session may become it (42501).
    fn check_role_setting(&mut self, _name: &str, _value: &str) -> PgResult<()> {
        Ok(())
    }

    /// Whether a savepoint is open (a subtransaction runs).
    fn in_subtransaction(&self) -> bool {
        false
    }

    /// The simple query protocol's destination (PostgreSQL's DestRemote).
    /// Ok(true): RowDescription for `fields` has gone to the client and the
    /// SELECT's rows follow through [`ServerContext::send_row`] as the
    /// executor makes them, so no one holds the whole result. Ok(false),
    /// the default and the extended protocol's answer (its portals return
    /// rows in batches): rows are collected into [`Outcome::Rows`]. At most
    /// one statement per request streams; nested executions collect.
    fn begin_rows(&mut self, _fields: &[Field]) -> PgResult<bool> {
        Ok(false)
    }

    /// One row (text format, `None` = NULL) of the SELECT `begin_rows`
    /// accepted. An error ends the statement (22P05 when the row cannot be
    /// converted to the client encoding).
    fn send_row(&mut self, _row: &[Option<String>]) -> PgResult<()> {
        Ok(())
    }

    /// COPY FROM STDIN: sends CopyInResponse (`binary`: format 1, else 0,
    /// for `ncols` columns); the data then comes from
    /// [`ServerContext::copy_in_next`].
    fn copy_in_begin(&mut self, _binary: bool, _ncols: usize) -> PgResult<()> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY FROM STDIN is not possible here",
        ))
    }

    /// The next CopyData message's bytes; Ok(None) at CopyDone. CopyFail
    /// is 57014 `COPY from stdin failed: <message>`; Flush and Sync are
    /// skipped; any other message is 08P01.
    fn copy_in_next(&mut self) -> PgResult<Option<Vec<u8>>> {
        Ok(None)
    }

    /// COPY TO STDOUT: sends CopyOutResponse; the data follows through
    /// [`ServerContext::copy_out_data`], then [`ServerContext::copy_out_end`].
    fn copy_out_begin(&mut self, _binary: bool, _ncols: usize) -> PgResult<()> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY TO STDOUT is not possible here",
        ))
    }

    /// One CopyData message.
    fn copy_out_data(&mut self, _data: &[u8]) -> PgResult<()> {
        Ok(())
    }

    /// CopyDone.
    fn copy_out_end(&mut self) -> PgResult<()> {
        Ok(())
    }

    /// SQL `PREPARE name (types) AS stmt`: analyses `stmt` with parameter
    /// `types` (Unknown: inferred) and keeps it beside the protocol's
    /// prepared statements (one namespace, as in PostgreSQL; 42P05 when
    /// the name is taken). Returns the parameter types.
    fn prepare(&mut self, _name: &str, _stmt: Statement, _types: Vec<Type>) -> PgResult<()> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "PREPARE is not supported by ferrogres yet",
        ))
    }

    /// A prepared statement (SQL or protocol) and its parameter types.
    fn prepared_statement(&self, _name: &str) -> Option<(Statement, Vec<Type>)> {
        None
    }
}

/// One parsed statement of a query string.
///
/// Each statement is parsed on its own (see [`parser::QueryStatements`]),
/// so its tree's locations are byte offsets into [`Statement::parsed_text`];
/// error positions sent to the client count characters of the whole
/// string, as in PostgreSQL ([`Statement::to_query_position`]).
#[derive(Clone, Debug)]
pub struct Statement {
    /// The statement's own text (for `pg_stat_activity.query` it is the whole string).
    pub text: String,
    pub node: pg_query::NodeEnum,
    /// The whole query string the statement came from.
    pub source: std::sync::Arc<str>,
    /// Byte offset of the statement in `source`.
    pub location: usize,
}

impl Statement {
    /// The text the tree's locations point into: `source` from the
    /// statement's start.
    pub fn parsed_text(&self) -> &str {
        &self.source[self.location..]
    }

    /// Turns an error position counted in [`Statement::parsed_text`] into
    /// one counted in the whole query string.
    pub fn to_query_position(&self, mut e: PgError) -> PgError {
        if let Some(p) = e.position
            && self.location > 0
        {
            let before = parser::char_position(&self.source, self.location) - 1;
            e.position = Some(p + before);
        }
        e
    }
}

/// Runs one statement.
///
/// Interrupts are checked first, as PostgreSQL's statement loop does: a
/// cancel or terminate that arrives while one statement of a long Query
/// message runs takes effect at the next statement at the latest.
pub fn execute(ctx: &mut dyn ServerContext, stmt: &Statement) -> PgResult<Outcome> {
    ctx.check_for_interrupts()?;
    execute_statement(ctx, stmt).map_err(|e| stmt.to_query_position(e))
}

fn execute_statement(ctx: &mut dyn ServerContext, stmt: &Statement) -> PgResult<Outcome> {
    prevent_command_if_read_only(ctx, &stmt.node)?;
    match &stmt.node {
        NodeEnum::SelectStmt(sel) if sel.into_clause.is_some() => {
            let into = sel.into_clause.as_deref().expect("checked");
            let mut query = (**sel).clone();
            query.into_clause = None;
            ddl::create_table_as(ctx, stmt, &query, into, false)
        }
        NodeEnum::SelectStmt(sel) => run_select(ctx, stmt, sel),
        NodeEnum::ExplainStmt(e) => explain::explain(ctx, stmt, e),
        NodeEnum::CreateTableAsStmt(c) if object_type(c.objtype) == ObjectType::ObjectTable => {
            let into = c.into.as_deref().expect("CREATE TABLE AS has INTO");
            match c.query.as_ref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::SelectStmt(q)) => {
                    ddl::create_table_as(ctx, stmt, q, into, c.if_not_exists)
                }
                _ => Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "CREATE TABLE AS EXECUTE is not supported by ferrogres yet",
                )),
            }
        }
        NodeEnum::VariableSetStmt(s) => utility::set(ctx, s),
        NodeEnum::VariableShowStmt(s) => utility::show(ctx, s),
        NodeEnum::TransactionStmt(s) => utility::transaction(ctx, s),
        NodeEnum::AlterSystemStmt(s) => utility::alter_system(ctx, s),
        NodeEnum::InsertStmt(s) => dml::insert(ctx, stmt, s),
        NodeEnum::UpdateStmt(s) => dml::update(ctx, stmt, s),
        NodeEnum::DeleteStmt(s) => dml::delete(ctx, stmt, s),
        NodeEnum::CreateStmt(s) => ddl::create_table(ctx, stmt, s),
        NodeEnum::CreateSeqStmt(s) => sequence::create_sequence(ctx, stmt, s),
        NodeEnum::TruncateStmt(s) => ddl::truncate(ctx, s),
        NodeEnum::AlterSeqStmt(s) => sequence::alter_sequence(ctx, stmt, s),
        NodeEnum::DropStmt(s) => ddl::drop(ctx, s),
        NodeEnum::IndexStmt(s) => indexcmds::create_index(ctx, s),
        NodeEnum::CreateEnumStmt(s) => typecmds::create_enum(ctx, s),
        NodeEnum::AlterEnumStmt(s) => typecmds::alter_enum(ctx, s),
        NodeEnum::CompositeTypeStmt(_)
        | NodeEnum::CreateDomainStmt(_)
        | NodeEnum::AlterDomainStmt(_) => Err(typecmds::unsupported(&stmt.node)),
        NodeEnum::DefineStmt(d) if object_type(d.kind) == ObjectType::ObjectType => {
            Err(typecmds::unsupported(&stmt.node))
        }
        NodeEnum::VacuumStmt(s) => maintenance::vacuum(ctx, s),
        NodeEnum::DiscardStmt(d) => utility::discard(ctx, d),
        NodeEnum::PrepareStmt(p) => utility::prepare(ctx, stmt, p),
        NodeEnum::ExecuteStmt(e) => utility::execute_prepared(ctx, stmt, e),
        NodeEnum::AlterTableStmt(s) => maintenance::alter_table(ctx, stmt, s),
        NodeEnum::DeallocateStmt(d) => {
            let name = (!d.isall).then_some(d.name.as_str());
            ctx.deallocate(name)?;
            Ok(Outcome::Command {
                tag: if name.is_some() {
                    "DEALLOCATE"
                } else {
                    "DEALLOCATE ALL"
                }
                .into(),
            })
        }
        NodeEnum::CheckPointStmt(_) => {
            ctx.checkpoint()?;
            Ok(Outcome::Command {
                tag: "CHECKPOINT".into(),
            })
        }
        NodeEnum::CopyStmt(c) => copy::copy(ctx, stmt, c),
        other => Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "{} is not supported by ferrogres yet",
                command_tag_of(other)
            ),
        )),
    }
}

/// PostgreSQL's `PreventCommandIfReadOnly` and `ExecCheckXactReadOnly`:
/// in a read-only transaction (`transaction_read_only`, from `BEGIN READ
/// ONLY`, `SET TRANSACTION READ ONLY` or `default_transaction_read_only`)
/// a statement that writes to the database fails with 25006 naming its
/// command tag. SELECT, SET, SHOW, transaction control, VACUUM, CHECKPOINT
/// and ALTER SYSTEM do not change what the database holds and run, as in
/// PostgreSQL. (PostgreSQL also lets DML on temporary tables through;
/// ferrogres has none.)
pub(crate) fn prevent_command_if_read_only(
    ctx: &mut dyn ServerContext,
    node: &NodeEnum,
) -> PgResult<()> {
    use pg_query::protobuf::LockClauseStrength;
    let tag = match node {
        NodeEnum::InsertStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::MergeStmt(_)
        | NodeEnum::CreateStmt(_)
        | NodeEnum::CreateSeqStmt(_)
        | NodeEnum::AlterSeqStmt(_)
        | NodeEnum::TruncateStmt(_)
        | NodeEnum::DropStmt(_)
        | NodeEnum::IndexStmt(_)
        | NodeEnum::AlterTableStmt(_) => command_tag_of(node),
        NodeEnum::CopyStmt(c) if c.is_from => "COPY FROM",
        NodeEnum::SelectStmt(s) if s.into_clause.is_some() => "SELECT INTO",
        // A WITH that modifies data (ExecCheckXactReadOnly's hasModifyingCTE).
        NodeEnum::SelectStmt(s)
            if s.with_clause.as_ref().is_some_and(|w| {
                w.ctes.iter().any(|c| match c.node.as_ref() {
                    Some(NodeEnum::CommonTableExpr(cte)) => !matches!(
                        cte.ctequery.as_ref().and_then(|n| n.node.as_ref()),
                        Some(NodeEnum::SelectStmt(_))
                    ),
                    _ => false,
                })
            }) =>
        {
            "SELECT"
        }
        // Row locks write the row's xmax: CreateCommandTag's names.
        NodeEnum::SelectStmt(s) => match s.locking_clause.first().and_then(|n| n.node.as_ref()) {
            Some(NodeEnum::LockingClause(lc)) => match LockClauseStrength::try_from(lc.strength) {
                Ok(LockClauseStrength::LcsForkeyshare) => "SELECT FOR KEY SHARE",
                Ok(LockClauseStrength::LcsForshare) => "SELECT FOR SHARE",
                Ok(LockClauseStrength::LcsFornokeyupdate) => "SELECT FOR NO KEY UPDATE",
                _ => "SELECT FOR UPDATE",
            },
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    if ctx.settings().get_bool("transaction_read_only") {
        return Err(PgError::error(
            sqlstate::READ_ONLY_SQL_TRANSACTION,
            format!("cannot execute {tag} in a read-only transaction"),
        ));
    }
    Ok(())
}

/// Analyses and plans a SELECT: its plan, the plans of its subqueries in
/// expressions and WITH (by subplan index), and its data-modifying WITH
/// queries.
fn plan_select(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    sel: &pg_query::protobuf::SelectStmt,
) -> PgResult<(plan::PlannedStmt, Vec<plan::Plan>, Vec<analyze::ModifyCte>)> {
    let (q, subplans, modify_ctes) = dml::analyze_with(ctx, stmt, |a| a.analyze_select(sel))?;
    Ok((plan::plan_query(q), subplans, modify_ctes))
}

fn run_select(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    sel: &pg_query::protobuf::SelectStmt,
) -> PgResult<Outcome> {
    let (mut planned, subplans, modify_ctes) = plan_select(ctx, stmt, sel)?;
    let mut cx = exec::EvalContext::new(ctx);
    cx.set_subplans(subplans);
    dml::run_modifying_ctes(modify_ctes, &mut cx)?;
    plan::clauses::eval_const_expressions(&mut planned.plan, &mut cx)?;
    let fmt = cx.fmt.clone();
    let fields: Vec<Field> = planned
        .columns
        .iter()
        .map(|c| Field {
            name: c.name.clone(),
            type_oid: c.ty.oid(),
            typlen: c.ty.typlen(),
            typmod: c.typmod,
        })
        .collect();
    let types: Vec<Type> = planned.columns.iter().map(|c| c.ty).collect();
    let text_row = |r: &[Datum]| -> Vec<Option<String>> {
        r.iter()
            .zip(&types)
            .map(|(d, t)| adt::output(d, *t, &fmt))
            .collect()
    };
    if cx.server.begin_rows(&fields)? {
        let mut n = 0u64;
        exec::run_each(planned.plan, &mut cx, &mut |cx, r| {
            n += 1;
            cx.server.send_row(&text_row(&r))
        })?;
        return Ok(Outcome::Command {
            tag: format!("SELECT {n}"),
        });
    }
    let rows = exec::run(planned.plan, &mut cx)?;
    let n = rows.len();
    let rows = rows.iter().map(|r| text_row(r)).collect();
    Ok(Outcome::Rows {
        fields,
        rows,
        tag: format!("SELECT {n}"),
    })
}

/// What `log_statement` a statement is logged under (PostgreSQL's
/// `GetCommandLogLevel`, ordered as its `LogStmtLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogStmtLevel {
    None,
    Ddl,
    Mod,
    All,
}

impl LogStmtLevel {
    /// The `log_statement` setting's value.
    pub fn from_setting(value: &str) -> LogStmtLevel {
        match value {
            "ddl" => LogStmtLevel::Ddl,
            "mod" => LogStmtLevel::Mod,
            "all" => LogStmtLevel::All,
            _ => LogStmtLevel::None,
        }
    }
}

/// The level `stmt` is logged at: DDL (`ddl` and up), data changes (`mod`
/// and up), everything else only under `all`.
pub fn log_level(stmt: &Statement) -> LogStmtLevel {
    match &stmt.node {
        NodeEnum::InsertStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::MergeStmt(_)
        | NodeEnum::TruncateStmt(_) => LogStmtLevel::Mod,
        NodeEnum::CopyStmt(c) if c.is_from => LogStmtLevel::Mod,
        NodeEnum::SelectStmt(s) if s.into_clause.is_some() => LogStmtLevel::Ddl,
        NodeEnum::SelectStmt(_)
        | NodeEnum::VariableSetStmt(_)
        | NodeEnum::VariableShowStmt(_)
        | NodeEnum::TransactionStmt(_)
        | NodeEnum::VacuumStmt(_)
        | NodeEnum::CheckPointStmt(_)
        | NodeEnum::ExplainStmt(_)
        | NodeEnum::CopyStmt(_)
        | NodeEnum::PrepareStmt(_)
        | NodeEnum::ExecuteStmt(_)
        | NodeEnum::DeallocateStmt(_)
        | NodeEnum::DeclareCursorStmt(_)
        | NodeEnum::FetchStmt(_)
        | NodeEnum::ClosePortalStmt(_)
        | NodeEnum::ListenStmt(_)
        | NodeEnum::NotifyStmt(_)
        | NodeEnum::UnlistenStmt(_)
        | NodeEnum::LockStmt(_)
        | NodeEnum::DiscardStmt(_)
        | NodeEnum::DoStmt(_)
        | NodeEnum::CallStmt(_) => LogStmtLevel::All,
        // CREATE, ALTER, DROP, GRANT, ALTER SYSTEM, COMMENT, ...
        _ => LogStmtLevel::Ddl,
    }
}

/// The command tag PostgreSQL's `CreateCommandTag` gives a statement.
pub fn command_tag(stmt: &Statement) -> &'static str {
    command_tag_of(&stmt.node)
}

fn command_tag_of(node: &NodeEnum) -> &'static str {
    use pg_query::protobuf::{DiscardMode, TransactionStmtKind, VariableSetKind};
    match node {
        NodeEnum::SelectStmt(s) => {
            if s.into_clause.is_some() {
                "SELECT INTO"
            } else {
                "SELECT"
            }
        }
        NodeEnum::InsertStmt(_) => "INSERT",
        NodeEnum::UpdateStmt(_) => "UPDATE",
        NodeEnum::DeleteStmt(_) => "DELETE",
        NodeEnum::MergeStmt(_) => "MERGE",
        NodeEnum::VariableSetStmt(s) => {
            match VariableSetKind::try_from(s.kind).unwrap_or(VariableSetKind::Undefined) {
                VariableSetKind::VarReset | VariableSetKind::VarResetAll => "RESET",
                _ => "SET",
            }
        }
        NodeEnum::VariableShowStmt(_) => "SHOW",
        NodeEnum::AlterSystemStmt(_) => "ALTER SYSTEM",
        NodeEnum::TransactionStmt(t) => {
            match TransactionStmtKind::try_from(t.kind).unwrap_or(TransactionStmtKind::Undefined) {
                TransactionStmtKind::TransStmtBegin => "BEGIN",
                TransactionStmtKind::TransStmtStart => "START TRANSACTION",
                TransactionStmtKind::TransStmtCommit => "COMMIT",
                TransactionStmtKind::TransStmtRollback
                | TransactionStmtKind::TransStmtRollbackTo => "ROLLBACK",
                TransactionStmtKind::TransStmtSavepoint => "SAVEPOINT",
                TransactionStmtKind::TransStmtRelease => "RELEASE",
                TransactionStmtKind::TransStmtPrepare => "PREPARE TRANSACTION",
                TransactionStmtKind::TransStmtCommitPrepared => "COMMIT PREPARED",
                TransactionStmtKind::TransStmtRollbackPrepared => "ROLLBACK PREPARED",
                TransactionStmtKind::Undefined => "???",
            }
        }
        NodeEnum::CreateStmt(_) => "CREATE TABLE",
        NodeEnum::CreateTableAsStmt(c) => {
            if object_type(c.objtype) == ObjectType::ObjectMatview {
                "CREATE MATERIALIZED VIEW"
            } else if c.is_select_into {
                "SELECT INTO"
            } else {
                "CREATE TABLE AS"
            }
        }
        NodeEnum::IndexStmt(_) => "CREATE INDEX",
        NodeEnum::ViewStmt(_) => "CREATE VIEW",
        NodeEnum::CreateSchemaStmt(_) => "CREATE SCHEMA",
        NodeEnum::CreateSeqStmt(_) => "CREATE SEQUENCE",
        NodeEnum::AlterSeqStmt(_) => "ALTER SEQUENCE",
        NodeEnum::CreatedbStmt(_) => "CREATE DATABASE",
        NodeEnum::DropdbStmt(_) => "DROP DATABASE",
        NodeEnum::AlterDatabaseStmt(_)
        | NodeEnum::AlterDatabaseSetStmt(_)
        | NodeEnum::AlterDatabaseRefreshCollStmt(_) => "ALTER DATABASE",
        NodeEnum::CreateRoleStmt(_) => "CREATE ROLE",
        NodeEnum::AlterRoleStmt(_) | NodeEnum::AlterRoleSetStmt(_) => "ALTER ROLE",
        NodeEnum::DropRoleStmt(_) => "DROP ROLE",
        NodeEnum::CreateFunctionStmt(f) => {
            if f.is_procedure {
                "CREATE PROCEDURE"
            } else {
                "CREATE FUNCTION"
            }
        }
        NodeEnum::AlterFunctionStmt(f) => match object_type(f.objtype) {
            ObjectType::ObjectProcedure => "ALTER PROCEDURE",
            ObjectType::ObjectRoutine => "ALTER ROUTINE",
            _ => "ALTER FUNCTION",
        },
        NodeEnum::CreateExtensionStmt(_) => "CREATE EXTENSION",
        NodeEnum::AlterExtensionStmt(_) | NodeEnum::AlterExtensionContentsStmt(_) => {
            "ALTER EXTENSION"
        }
        NodeEnum::CreateTrigStmt(_) => "CREATE TRIGGER",
        NodeEnum::CreateEventTrigStmt(_) => "CREATE EVENT TRIGGER",
        NodeEnum::AlterEventTrigStmt(_) => "ALTER EVENT TRIGGER",
        NodeEnum::CreateDomainStmt(_) => "CREATE DOMAIN",
        NodeEnum::AlterDomainStmt(_) => "ALTER DOMAIN",
        NodeEnum::CompositeTypeStmt(_)
        | NodeEnum::CreateEnumStmt(_)
        | NodeEnum::CreateRangeStmt(_) => "CREATE TYPE",
        NodeEnum::AlterEnumStmt(_) | NodeEnum::AlterTypeStmt(_) => "ALTER TYPE",
        NodeEnum::CreateTableSpaceStmt(_) => "CREATE TABLESPACE",
        NodeEnum::DropTableSpaceStmt(_) => "DROP TABLESPACE",
        NodeEnum::AlterTableSpaceOptionsStmt(_) => "ALTER TABLESPACE",
        NodeEnum::AlterTableStmt(a) => alter_object_type_tag(a.objtype),
        NodeEnum::AlterTableMoveAllStmt(a) => alter_object_type_tag(a.objtype),
        NodeEnum::RenameStmt(r) => alter_object_type_tag(r.rename_type),
        NodeEnum::AlterObjectSchemaStmt(a) => alter_object_type_tag(a.object_type),
        NodeEnum::AlterOwnerStmt(a) => alter_object_type_tag(a.object_type),
        NodeEnum::AlterObjectDependsStmt(a) => alter_object_type_tag(a.object_type),
        NodeEnum::DropStmt(d) => drop_tag(d.remove_type),
        NodeEnum::TruncateStmt(_) => "TRUNCATE TABLE",
        NodeEnum::CommentStmt(_) => "COMMENT",
        NodeEnum::SecLabelStmt(_) => "SECURITY LABEL",
        NodeEnum::GrantStmt(g) => {
            if g.is_grant {
                "GRANT"
            } else {
                "REVOKE"
            }
        }
        NodeEnum::GrantRoleStmt(g) => {
            if g.is_grant {
                "GRANT ROLE"
            } else {
                "REVOKE ROLE"
            }
        }
        NodeEnum::AlterDefaultPrivilegesStmt(_) => "ALTER DEFAULT PRIVILEGES",
        NodeEnum::CopyStmt(_) => "COPY",
        NodeEnum::ExplainStmt(_) => "EXPLAIN",
        NodeEnum::VacuumStmt(v) => {
            if v.is_vacuumcmd {
                "VACUUM"
            } else {
                "ANALYZE"
            }
        }
        NodeEnum::ClusterStmt(_) => "CLUSTER",
        NodeEnum::ReindexStmt(_) => "REINDEX",
        NodeEnum::CheckPointStmt(_) => "CHECKPOINT",
        NodeEnum::LockStmt(_) => "LOCK TABLE",
        NodeEnum::ListenStmt(_) => "LISTEN",
        NodeEnum::UnlistenStmt(_) => "UNLISTEN",
        NodeEnum::NotifyStmt(_) => "NOTIFY",
        NodeEnum::LoadStmt(_) => "LOAD",
        NodeEnum::DiscardStmt(d) => {
            match DiscardMode::try_from(d.target).unwrap_or(DiscardMode::Undefined) {
                DiscardMode::DiscardAll => "DISCARD ALL",
                DiscardMode::DiscardPlans => "DISCARD PLANS",
                DiscardMode::DiscardSequences => "DISCARD SEQUENCES",
                DiscardMode::DiscardTemp => "DISCARD TEMP",
                DiscardMode::Undefined => "???",
            }
        }
        NodeEnum::PrepareStmt(_) => "PREPARE",
        NodeEnum::ExecuteStmt(_) => "EXECUTE",
        NodeEnum::DeallocateStmt(d) => {
            if d.isall {
                "DEALLOCATE ALL"
            } else {
                "DEALLOCATE"
            }
        }
        NodeEnum::DeclareCursorStmt(_) => "DECLARE CURSOR",
        NodeEnum::ClosePortalStmt(c) => {
            if c.portalname.is_empty() {
                "CLOSE CURSOR ALL"
            } else {
                "CLOSE CURSOR"
            }
        }
        NodeEnum::FetchStmt(f) => {
            if f.ismove {
                "MOVE"
            } else {
                "FETCH"
            }
        }
        NodeEnum::DoStmt(_) => "DO",
        NodeEnum::CallStmt(_) => "CALL",
        NodeEnum::ConstraintsSetStmt(_) => "SET CONSTRAINTS",
        NodeEnum::RefreshMatViewStmt(_) => "REFRESH MATERIALIZED VIEW",
        NodeEnum::CreatePublicationStmt(_) => "CREATE PUBLICATION",
        NodeEnum::AlterPublicationStmt(_) => "ALTER PUBLICATION",
        NodeEnum::CreateSubscriptionStmt(_) => "CREATE SUBSCRIPTION",
        NodeEnum::AlterSubscriptionStmt(_) => "ALTER SUBSCRIPTION",
        NodeEnum::DropSubscriptionStmt(_) => "DROP SUBSCRIPTION",
        NodeEnum::CreatePolicyStmt(_) => "CREATE POLICY",
        NodeEnum::AlterPolicyStmt(_) => "ALTER POLICY",
        NodeEnum::ReassignOwnedStmt(_) => "REASSIGN OWNED",
        NodeEnum::DropOwnedStmt(_) => "DROP OWNED",
        NodeEnum::CreateCastStmt(_) => "CREATE CAST",
        NodeEnum::CreateConversionStmt(_) => "CREATE CONVERSION",
        NodeEnum::AlterCollationStmt(_) => "ALTER COLLATION",
        NodeEnum::CreateAmStmt(_) => "CREATE ACCESS METHOD",
        NodeEnum::CreateOpClassStmt(_) => "CREATE OPERATOR CLASS",
        NodeEnum::CreateOpFamilyStmt(_) => "CREATE OPERATOR FAMILY",
        NodeEnum::AlterOpFamilyStmt(_) => "ALTER OPERATOR FAMILY",
        NodeEnum::AlterOperatorStmt(_) => "ALTER OPERATOR",
        NodeEnum::CreatePlangStmt(_) => "CREATE LANGUAGE",
        NodeEnum::CreateStatsStmt(_) => "CREATE STATISTICS",
        NodeEnum::AlterStatsStmt(_) => "ALTER STATISTICS",
        NodeEnum::CreateTransformStmt(_) => "CREATE TRANSFORM",
        NodeEnum::CreateFdwStmt(_) => "CREATE FOREIGN DATA WRAPPER",
        NodeEnum::AlterFdwStmt(_) => "ALTER FOREIGN DATA WRAPPER",
        NodeEnum::CreateForeignServerStmt(_) => "CREATE SERVER",
        NodeEnum::AlterForeignServerStmt(_) => "ALTER SERVER",
        NodeEnum::CreateForeignTableStmt(_) => "CREATE FOREIGN TABLE",
        NodeEnum::ImportForeignSchemaStmt(_) => "IMPORT FOREIGN SCHEMA",
        NodeEnum::CreateUserMappingStmt(_) => "CREATE USER MAPPING",
        NodeEnum::AlterUserMappingStmt(_) => "ALTER USER MAPPING",
        NodeEnum::DropUserMappingStmt(_) => "DROP USER MAPPING",
        NodeEnum::AlterTsdictionaryStmt(_) => "ALTER TEXT SEARCH DICTIONARY",
        NodeEnum::AlterTsconfigurationStmt(_) => "ALTER TEXT SEARCH CONFIGURATION",
        NodeEnum::RuleStmt(_) => "CREATE RULE",
        NodeEnum::DefineStmt(d) => match object_type(d.kind) {
            ObjectType::ObjectAggregate => "CREATE AGGREGATE",
            ObjectType::ObjectOperator => "CREATE OPERATOR",
            ObjectType::ObjectType => "CREATE TYPE",
            ObjectType::ObjectTsparser => "CREATE TEXT SEARCH PARSER",
            ObjectType::ObjectTsdictionary => "CREATE TEXT SEARCH DICTIONARY",
            ObjectType::ObjectTstemplate => "CREATE TEXT SEARCH TEMPLATE",
            ObjectType::ObjectTsconfiguration => "CREATE TEXT SEARCH CONFIGURATION",
            ObjectType::ObjectCollation => "CREATE COLLATION",
            ObjectType::ObjectAccessMethod => "CREATE ACCESS METHOD",
            _ => "???",
        },
        // Not statements of their own (parts of other statements or of
        // PL/pgSQL); PostgreSQL's CreateCommandTag answers ??? too.
        _ => "???",
    }
}

use pg_query::protobuf::ObjectType;

fn object_type(t: i32) -> ObjectType {
    ObjectType::try_from(t).unwrap_or(ObjectType::Undefined)
}

/// PostgreSQL's `AlterObjectTypeCommandTag`.
fn alter_object_type_tag(t: i32) -> &'static str {
    use ObjectType as O;
    match object_type(t) {
        O::ObjectAggregate => "ALTER AGGREGATE",
        O::ObjectAttribute => "ALTER TYPE",
        O::ObjectCast => "ALTER CAST",
        O::ObjectCollation => "ALTER COLLATION",
        O::ObjectColumn => "ALTER TABLE",
        O::ObjectConversion => "ALTER CONVERSION",
        O::ObjectDatabase => "ALTER DATABASE",
        O::ObjectDomain | O::ObjectDomconstraint => "ALTER DOMAIN",
        O::ObjectExtension => "ALTER EXTENSION",
        O::ObjectFdw => "ALTER FOREIGN DATA WRAPPER",
        O::ObjectForeignServer => "ALTER SERVER",
        O::ObjectForeignTable => "ALTER FOREIGN TABLE",
        O::ObjectFunction => "ALTER FUNCTION",
        O::ObjectIndex => "ALTER INDEX",
        O::ObjectLanguage => "ALTER LANGUAGE",
        O::ObjectLargeobject => "ALTER LARGE OBJECT",
        O::ObjectOpclass => "ALTER OPERATOR CLASS",
        O::ObjectOperator => "ALTER OPERATOR",
        O::ObjectOpfamily => "ALTER OPERATOR FAMILY",
        O::ObjectPolicy => "ALTER POLICY",
        O::ObjectProcedure => "ALTER PROCEDURE",
        O::ObjectRole => "ALTER ROLE",
        O::ObjectRoutine => "ALTER ROUTINE",
        O::ObjectRule => "ALTER RULE",
        O::ObjectSchema => "ALTER SCHEMA",
        O::ObjectSequence => "ALTER SEQUENCE",
        O::ObjectTable | O::ObjectTabconstraint => "ALTER TABLE",
        O::ObjectTablespace => "ALTER TABLESPACE",
        O::ObjectTrigger => "ALTER TRIGGER",
        O::ObjectEventTrigger => "ALTER EVENT TRIGGER",
        O::ObjectTsconfiguration => "ALTER TEXT SEARCH CONFIGURATION",
        O::ObjectTsdictionary => "ALTER TEXT SEARCH DICTIONARY",
        O::ObjectTsparser => "ALTER TEXT SEARCH PARSER",
        O::ObjectTstemplate => "ALTER TEXT SEARCH TEMPLATE",
        O::ObjectType => "ALTER TYPE",
        O::ObjectView => "ALTER VIEW",
        O::ObjectMatview => "ALTER MATERIALIZED VIEW",
        O::ObjectPublication => "ALTER PUBLICATION",
        O::ObjectSubscription => "ALTER SUBSCRIPTION",
        O::ObjectStatisticExt => "ALTER STATISTICS",
        _ => "???",
    }
}

/// The DROP branch of PostgreSQL's `CreateCommandTag`.
pub(crate) fn drop_tag(t: i32) -> &'static str {
    use ObjectType as O;
    match object_type(t) {
        O::ObjectTable => "DROP TABLE",
        O::ObjectSequence => "DROP SEQUENCE",
        O::ObjectView => "DROP VIEW",
        O::ObjectMatview => "DROP MATERIALIZED VIEW",
        O::ObjectIndex => "DROP INDEX",
        O::ObjectForeignTable => "DROP FOREIGN TABLE",
        O::ObjectType => "DROP TYPE",
        O::ObjectDomain => "DROP DOMAIN",
        O::ObjectCollation => "DROP COLLATION",
        O::ObjectConversion => "DROP CONVERSION",
        O::ObjectSchema => "DROP SCHEMA",
        O::ObjectTsparser => "DROP TEXT SEARCH PARSER",
        O::ObjectTsdictionary => "DROP TEXT SEARCH DICTIONARY",
        O::ObjectTstemplate => "DROP TEXT SEARCH TEMPLATE",
        O::ObjectTsconfiguration => "DROP TEXT SEARCH CONFIGURATION",
        O::ObjectExtension => "DROP EXTENSION",
        O::ObjectFunction => "DROP FUNCTION",
        O::ObjectProcedure => "DROP PROCEDURE",
        O::ObjectRoutine => "DROP ROUTINE",
        O::ObjectAggregate => "DROP AGGREGATE",
        O::ObjectOperator => "DROP OPERATOR",
        O::ObjectLanguage => "DROP LANGUAGE",
        O::ObjectCast => "DROP CAST",
        O::ObjectTrigger => "DROP TRIGGER",
        O::ObjectEventTrigger => "DROP EVENT TRIGGER",
        O::ObjectRule => "DROP RULE",
        O::ObjectFdw => "DROP FOREIGN DATA WRAPPER",
        O::ObjectForeignServer => "DROP SERVER",
        O::ObjectOpclass => "DROP OPERATOR CLASS",
        O::ObjectOpfamily => "DROP OPERATOR FAMILY",
        O::ObjectPolicy => "DROP POLICY",
        O::ObjectTransform => "DROP TRANSFORM",
        O::ObjectAccessMethod => "DROP ACCESS METHOD",
        O::ObjectPublication => "DROP PUBLICATION",
        O::ObjectStatisticExt => "DROP STATISTICS",
        _ => "???",
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tables;

/// Parse analysis without execution, for the extended protocol's Parse and
/// Describe: the result columns (None for a statement that returns no
/// rows). Parameter types the analysis inferred are left in [`params`].
pub fn describe(ctx: &mut dyn ServerContext, stmt: &Statement) -> PgResult<Option<Vec<Field>>> {
    describe_statement(ctx, stmt).map_err(|e| stmt.to_query_position(e))
}

fn describe_statement(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
) -> PgResult<Option<Vec<Field>>> {
    let targets = |t: &[analyze::TargetEntry]| -> Option<Vec<Field>> {
        if t.is_empty() {
            return None;
        }
        Some(
            t.iter()
                .map(|t| Field {
                    name: t.name.clone(),
                    type_oid: t.expr.ty().oid(),
                    typlen: t.expr.ty().typlen(),
                    typmod: t.expr.typmod(),
                })
                .collect(),
        )
    };
    match &stmt.node {
        NodeEnum::SelectStmt(sel) => {
            let (planned, _, _) = plan_select(ctx, stmt, sel)?;
            Ok(Some(
                planned
                    .columns
                    .iter()
                    .map(|c| Field {
                        name: c.name.clone(),
                        type_oid: c.ty.oid(),
                        typlen: c.ty.typlen(),
                        typmod: c.typmod,
                    })
                    .collect(),
            ))
        }
        NodeEnum::InsertStmt(s) => {
            let (q, _, _) = dml::analyze_with(ctx, stmt, |a| a.analyze_insert(s))?;
            Ok(targets(&q.returning))
        }
        NodeEnum::UpdateStmt(s) => {
            let (q, _, _) = dml::analyze_with(ctx, stmt, |a| a.analyze_update(s))?;
            Ok(targets(&q.returning))
        }
        NodeEnum::DeleteStmt(s) => {
            let (q, _, _) = dml::analyze_with(ctx, stmt, |a| a.analyze_delete(s))?;
            Ok(targets(&q.returning))
        }
        NodeEnum::ExplainStmt(e) => {
            // The explained statement's parameters get their types here.
            if let Some(inner) = e.query.as_ref().and_then(|q| q.node.as_ref()) {
                let inner = Statement {
                    text: stmt.text.clone(),
                    node: inner.clone(),
                    source: stmt.source.clone(),
                    location: stmt.location,
                };
                describe_statement(ctx, &inner)?;
            }
            Ok(Some(vec![explain::query_plan_field()]))
        }
        // SHOW returns one text column named after the setting.
        NodeEnum::VariableShowStmt(s) => {
            let name = if s.name.eq_ignore_ascii_case("all") {
                return Ok(Some(
                    ["name", "setting", "description"]
                        .iter()
                        .map(|n| Field {
                            name: n.to_string(),
                            type_oid: Type::Text.oid(),
                            typlen: -1,
                            typmod: -1,
                        })
                        .collect(),
                ));
            } else {
                ctx.settings()
                    .canonical_name(&s.name)
                    .unwrap_or_else(|| s.name.clone())
            };
            Ok(Some(vec![Field {
                name,
                type_oid: Type::Text.oid(),
                typlen: -1,
                typmod: -1,
            }]))
        }
        _ => Ok(None),
    }
}
