//! EXPLAIN (PostgreSQL's `commands/explain.c`).
//!
//! `EXPLAIN [ ( option [, ...] ) ] statement` and the old
//! `EXPLAIN [ANALYZE] [VERBOSE] statement`, for SELECT (VALUES and WITH
//! included), INSERT, UPDATE and DELETE. Options as PostgreSQL 15's:
//! ANALYZE, VERBOSE, COSTS, SETTINGS, BUFFERS, WAL, TIMING, SUMMARY and
//! FORMAT { TEXT | JSON | YAML | XML }, with its errors (42601 for an
//! unknown option or value, 22023 for TIMING or WAL without ANALYZE).
//!
//! The statement is analysed and planned exactly as it would run
//! (constant folding included, so `EXPLAIN SELECT 1/0` fails as in
//! PostgreSQL); `tree` turns the plan into PostgreSQL's node names and
//! `format` prints them. Under ANALYZE a SELECT runs with every plan node
//! wrapped in an `Instrument` node (`exec::instrument`), its rows
//! discarded; an INSERT, UPDATE or DELETE runs through its ordinary
//! executor and its ModifyTable node reports the time and rows of the
//! whole statement (the scan under it is not instrumented separately: it
//! shows the rows written).
//!
//! `EXPLAIN EXECUTE name (args)` explains the prepared statement with its
//! parameters bound, and prints their values where the statement reads
//! them, as PostgreSQL's custom plans do.
//!
//! Not done: EXPLAIN of CREATE TABLE AS and DECLARE (0A000); the hash
//! memory lines under ANALYZE (`Buckets`, `Batches`); the `Planning:`
//! buffer line.

mod deparse;
pub mod format;
pub mod tree;

use std::collections::HashMap;
use std::time::Instant;

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::analyze::InsertRows;
use super::catalog::RelationSource;
use super::exec::{self, EvalContext, instrument::Instrumentation};
use super::plan::{self, Plan, costsize};
use super::types::Type;
use super::{Field, Outcome, ServerContext, Statement, dml, maintenance, parser};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use tree::{Builder, ExplNode, Target};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainFormat {
    Text,
    Json,
    Yaml,
    Xml,
}

/// `ExplainState`'s options.
#[derive(Clone, Debug)]
pub struct ExplainOptions {
    pub analyze: bool,
    pub verbose: bool,
    pub costs: bool,
    pub buffers: bool,
    pub wal: bool,
    pub timing: bool,
    pub summary: bool,
    pub settings: bool,
    pub format: ExplainFormat,
}

/// The one column EXPLAIN returns.
pub fn query_plan_field() -> Field {
    Field {
        name: "QUERY PLAN".into(),
        type_oid: Type::Text.oid(),
        typlen: -1,
        typmod: -1,
    }
}

/// `ExplainQuery`'s option parsing.
fn parse_options(stmt: &Statement, e: &pb::ExplainStmt) -> PgResult<ExplainOptions> {
    let mut o = ExplainOptions {
        analyze: false,
        verbose: false,
        costs: true,
        buffers: false,
        wal: false,
        timing: false,
        summary: false,
        settings: false,
        format: ExplainFormat::Text,
    };
    let (mut timing_set, mut summary_set) = (None, None);
    let at = |d: &pb::DefElem, err: PgError| {
        if d.location >= 0 {
            err.with_position(parser::char_position(
                stmt.parsed_text(),
                d.location as usize,
            ))
        } else {
            err
        }
    };
    for opt in &e.options {
        let Some(NodeEnum::DefElem(d)) = opt.node.as_ref() else {
            continue;
        };
        let b = || maintenance::def_bool(d);
        match d.defname.as_str() {
            "analyze" => o.analyze = b()?,
            "verbose" => o.verbose = b()?,
            "costs" => o.costs = b()?,
            "buffers" => o.buffers = b()?,
            "wal" => o.wal = b()?,
            "settings" => o.settings = b()?,
            "timing" => timing_set = Some(b()?),
            "summary" => summary_set = Some(b()?),
            "format" => {
                let v = maintenance::def_arg_string(d.arg.as_deref()).unwrap_or_default();
                o.format = match v.as_str() {
                    "text" => ExplainFormat::Text,
                    "json" => ExplainFormat::Json,
                    "yaml" => ExplainFormat::Yaml,
                    "xml" => ExplainFormat::Xml,
                    _ => {
                        return Err(at(
                            d,
                            PgError::error(
                                sqlstate::INVALID_PARAMETER_VALUE,
                                format!(
                                    "unrecognized value for EXPLAIN option \"format\": \"{v}\""
                                ),
                            ),
                        ));
                    }
                };
            }
            other => {
                return Err(at(
                    d,
                    PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        format!("unrecognized EXPLAIN option \"{other}\""),
                    ),
                ));
            }
        }
    }
    if o.wal && !o.analyze {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "EXPLAIN option WAL requires ANALYZE",
        ));
    }
    o.timing = timing_set.unwrap_or(o.analyze);
    if timing_set == Some(true) && !o.analyze {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "EXPLAIN option TIMING requires ANALYZE",
        ));
    }
    o.summary = summary_set.unwrap_or(o.analyze);
    Ok(o)
}

pub fn explain(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    e: &pb::ExplainStmt,
) -> PgResult<Outcome> {
    let o = parse_options(stmt, e)?;
    let Some(inner) = e.query.as_ref().and_then(|q| q.node.as_ref()) else {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            "EXPLAIN without a statement",
        ));
    };
    let started = Instant::now();
    let (root, mut summary) = match inner {
        NodeEnum::ExecuteStmt(x) => {
            super::utility::with_prepared(ctx, stmt, x, |ctx, prepared| {
                explain_node(ctx, prepared, &prepared.node, &o, started)
            })?
        }
        other => explain_node(ctx, stmt, other, &o, started)?,
    };
    // SUMMARY: planning time (when the statement did not run, up to now)
    // and execution time.
    if o.summary && summary.planning_ms.is_none() {
        summary.planning_ms = Some(ms(started.elapsed()));
    }
    if !o.summary {
        summary.planning_ms = None;
        summary.execution_ms = None;
    }
    if o.settings {
        summary.settings = changed_planner_settings(ctx);
    }
    summary.triggers = o.analyze;
    let text = match o.format {
        ExplainFormat::Text => format::text(&root, &o, &summary),
        _ => format::structured(&root, &o, &summary),
    };
    let rows = match o.format {
        ExplainFormat::Text => text.lines().map(|l| vec![Some(l.to_string())]).collect(),
        _ => vec![vec![Some(text)]],
    };
    Ok(Outcome::Rows {
        fields: vec![query_plan_field()],
        rows,
        tag: "EXPLAIN".into(),
    })
}

/// The plan of one explainable statement, and its timings.
fn explain_node(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    inner: &NodeEnum,
    o: &ExplainOptions,
    started: Instant,
) -> PgResult<(ExplNode, format::Summary)> {
    // ANALYZE runs the statement: a write is refused where it would be.
    if o.analyze {
        super::prevent_command_if_read_only(ctx, inner)?;
    }
    match inner {
        NodeEnum::SelectStmt(sel) if sel.into_clause.is_none() => {
            explain_select(ctx, stmt, sel, o, started)
        }
        NodeEnum::InsertStmt(_) | NodeEnum::UpdateStmt(_) | NodeEnum::DeleteStmt(_) => {
            explain_modify(ctx, stmt, inner, o, started)
        }
        other => {
            let what = match other {
                NodeEnum::CreateTableAsStmt(_) | NodeEnum::SelectStmt(_) => {
                    "EXPLAIN CREATE TABLE AS"
                }
                NodeEnum::DeclareCursorStmt(_) => "EXPLAIN DECLARE",
                NodeEnum::MergeStmt(_) => "EXPLAIN MERGE",
                _ => "EXPLAIN of this statement",
            };
            Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("{what} is not supported by ferrogres yet"),
            ))
        }
    }
}

fn cost_settings(ctx: &mut dyn ServerContext) -> costsize::CostSettings {
    let mut c = costsize::CostSettings::default();
    let settings = ctx.settings();
    let get = |n: &str| {
        settings
            .show(n)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    if let Some(v) = get("seq_page_cost") {
        c.seq_page_cost = v;
    }
    if let Some(v) = get("cpu_tuple_cost") {
        c.cpu_tuple_cost = v;
    }
    if let Some(v) = get("cpu_operator_cost") {
        c.cpu_operator_cost = v;
    }
    c
}

/// Pages of every table the plans scan, by oid.
fn table_pages(ctx: &mut dyn ServerContext, plans: &[&Plan]) -> HashMap<u32, f64> {
    fn tables(p: &mut Plan, out: &mut Vec<std::sync::Arc<crate::sql::tables::TableDef>>) {
        match p {
            Plan::SeqScan { relation } | Plan::IndexScan { relation, .. } => {
                if let RelationSource::Table(t) = &relation.source {
                    out.push(t.clone());
                }
            }
            Plan::LockingScan { table, .. } => out.push(table.clone()),
            _ => {}
        }
        for c in p.children_mut() {
            tables(c, out);
        }
    }
    let mut all = Vec::new();
    for p in plans {
        // One copy to walk (the walk takes `&mut Plan`).
        tables(&mut (*p).clone(), &mut all);
    }
    let mut pages = HashMap::new();
    for t in all {
        let bytes = ctx
            .relation_size(
                &crate::sql::tables::RelationRef::Oid(t.oid),
                crate::sql::tables::RelationSize::Fork(crate::storage::types::ForkNumber::Main),
            )
            .ok()
            .flatten()
            .unwrap_or(0);
        pages.insert(t.oid, (bytes / 8192) as f64);
    }
    pages
}

/// Wraps every node of `plan` in an Instrument node, numbering from `next`.
fn instrument(plan: &mut Plan, next: &mut usize) {
    match plan {
        // The label and its scan are one node.
        Plan::Labeled { input, .. } => {
            for c in input.children_mut() {
                instrument(c, next);
            }
        }
        _ => {
            for c in plan.children_mut() {
                instrument(c, next);
            }
        }
    }
    let id = *next;
    *next += 1;
    let inner = std::mem::replace(plan, Plan::Result);
    *plan = Plan::Instrument {
        id,
        input: Box::new(inner),
    };
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn explain_select(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    sel: &pb::SelectStmt,
    o: &ExplainOptions,
    started: Instant,
) -> PgResult<(ExplNode, format::Summary)> {
    let (planned, subplans, modify_ctes) = super::plan_select(ctx, stmt, sel)?;
    let costs = cost_settings(ctx);
    let mut plan = planned.plan;
    let all: Vec<&Plan> = std::iter::once(&plan).chain(subplans.iter()).collect();
    let pages = table_pages(ctx, &all);
    let mut cx = EvalContext::new(ctx);
    cx.set_subplans(subplans);
    let mut summary = format::Summary::default();
    let instr = if o.analyze {
        let mut next = 0;
        instrument(&mut plan, &mut next);
        for p in cx.subplans.iter_mut().flatten() {
            instrument(p, &mut next);
        }
        cx.instrument = Some(Instrumentation {
            timing: o.timing,
            buffers: o.buffers,
            wal: o.wal,
            nodes: vec![Default::default(); next],
        });
        let planning = started.elapsed();
        let run_start = Instant::now();
        dml::run_modifying_ctes(modify_ctes, &mut cx)?;
        plan::clauses::eval_const_expressions(&mut plan, &mut cx)?;
        let shown_plan = plan.clone();
        let shown_subplans = cx.subplans.clone();
        let run = std::mem::replace(&mut plan, Plan::Result);
        exec::run_each(run, &mut cx, &mut |_, _| Ok(()))?;
        let nodes = cx.instrument.take().map(|i| i.nodes).unwrap_or_default();
        summary.planning_ms = Some(ms(planning));
        summary.execution_ms = Some(ms(run_start.elapsed()));
        Some((shown_plan, shown_subplans, nodes))
    } else {
        plan::clauses::eval_const_expressions(&mut plan, &mut cx)?;
        summary.planning_ms = Some(ms(started.elapsed()));
        None
    };
    let page_of = |t: &crate::sql::tables::TableDef| pages.get(&t.oid).copied().unwrap_or(0.0);
    let fmt = cx.fmt.clone();
    let root = match &instr {
        Some((p, subs, nodes)) => {
            let mut b = Builder::new(&fmt, o.verbose, subs, Some(nodes), &page_of, &costs, &[p]);
            let root = b.build_top(p);
            check_depth(&b)?;
            root
        }
        None => {
            let subs = cx.subplans.clone();
            let mut b = Builder::new(&fmt, o.verbose, &subs, None, &page_of, &costs, &[&plan]);
            let root = b.build_top(&plan);
            check_depth(&b)?;
            root
        }
    };
    Ok((root, summary))
}

/// INSERT, UPDATE and DELETE: a ModifyTable node over the rows to write.
fn explain_modify(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    inner: &NodeEnum,
    o: &ExplainOptions,
    started: Instant,
) -> PgResult<(ExplNode, format::Summary)> {
    use super::analyze::ModifyQuery;
    let (q, subplans, _) = match inner {
        NodeEnum::InsertStmt(s) => {
            let (q, p, c) = dml::analyze_with(ctx, stmt, |a| a.analyze_insert(s))?;
            (ModifyQuery::Insert(q), p, c)
        }
        NodeEnum::UpdateStmt(s) => {
            let (q, p, c) = dml::analyze_with(ctx, stmt, |a| a.analyze_update(s))?;
            (ModifyQuery::Update(q), p, c)
        }
        NodeEnum::DeleteStmt(s) => {
            let (q, p, c) = dml::analyze_with(ctx, stmt, |a| a.analyze_delete(s))?;
            (ModifyQuery::Delete(q), p, c)
        }
        _ => unreachable!("explain_modify is called for DML"),
    };
    let costs = cost_settings(ctx);
    let table = q.table().clone();
    let scan_label = plan::ScanLabel {
        relname: table.name.clone(),
        refname: table.name.clone(),
        has_alias: false,
        schema: Some(table.namespace.clone()),
        colnames: table.columns.iter().map(|c| c.name.clone()).collect(),
    };
    let scan = || Plan::Labeled {
        label: Box::new(scan_label.clone()),
        input: Box::new(Plan::SeqScan {
            relation: crate::sql::catalog::Relation {
                name: table.name.clone(),
                columns: crate::sql::analyze::table_columns(&table),
                source: RelationSource::Table(table.clone()),
            },
        }),
    };
    // The scan dml's target_scan runs: an index path where one applies.
    let filtered = |qual: &Option<crate::sql::expr::Expr>| {
        let mut quals = plan::conjuncts(qual.clone());
        let mut input = scan();
        if !table.indexes.is_empty()
            && let Some(path) = plan::indxpath::choose_index(&table, &mut quals)
            && let Plan::Labeled { input: inner, .. } = &mut input
            && let Plan::SeqScan { relation } = std::mem::replace(&mut **inner, Plan::Result)
        {
            **inner = Plan::IndexScan { relation, path };
        }
        match quals.len() {
            0 => input,
            1 => Plan::Filter {
                input: Box::new(input),
                qual: quals.pop().expect("one"),
            },
            _ => Plan::Filter {
                input: Box::new(input),
                qual: crate::sql::expr::Expr::And(quals),
            },
        }
    };
    let (operation, child) = match &q {
        ModifyQuery::Insert(i) => (
            "Insert",
            match &i.rows {
                InsertRows::Values(rows) if rows.len() == 1 => Plan::Result,
                InsertRows::Values(rows) => Plan::Labeled {
                    label: Box::new(plan::ScanLabel {
                        relname: "*VALUES*".into(),
                        refname: "*VALUES*".into(),
                        has_alias: false,
                        schema: None,
                        colnames: (1..=rows.first().map_or(0, |r| r.len()))
                            .map(|i| format!("column{i}"))
                            .collect(),
                    }),
                    input: Box::new(Plan::ValuesScan { rows: rows.clone() }),
                },
                InsertRows::Select { query, .. } => plan::plan_query((**query).clone()).plan,
            },
        ),
        ModifyQuery::Update(u) => ("Update", filtered(&u.where_qual)),
        ModifyQuery::Delete(d) => ("Delete", filtered(&d.where_qual)),
    };
    let pages = table_pages(ctx, &[&child]);
    let mut summary = format::Summary::default();
    let mut actual = None;
    if o.analyze {
        let planning = started.elapsed();
        let run_start = Instant::now();
        let out = match inner {
            NodeEnum::InsertStmt(s) => dml::insert(ctx, stmt, s)?,
            NodeEnum::UpdateStmt(s) => dml::update(ctx, stmt, s)?,
            NodeEnum::DeleteStmt(s) => dml::delete(ctx, stmt, s)?,
            _ => unreachable!("checked above"),
        };
        let elapsed = run_start.elapsed();
        let tag = match &out {
            Outcome::Rows { tag, .. } | Outcome::Command { tag } => tag.clone(),
            _ => String::new(),
        };
        let n: u64 = tag
            .rsplit(' ')
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        summary.planning_ms = Some(ms(planning));
        summary.execution_ms = Some(ms(elapsed));
        actual = Some((n, elapsed));
    }
    let fmt = exec::session_format(ctx);
    let subs: Vec<Option<Plan>> = subplans.into_iter().map(Some).collect();
    let page_of = |t: &crate::sql::tables::TableDef| pages.get(&t.oid).copied().unwrap_or(0.0);
    let mut b = Builder::new(&fmt, o.verbose, &subs, None, &page_of, &costs, &[&child]);
    if operation == "Insert" {
        b.reserve_alias(&table.name);
    }
    let mut c = b.build_top(&child);
    check_depth(&b)?;
    c.parent_relationship = Some("Outer");
    let mut est = c.est;
    est.rows = 0.0;
    est.width = 0;
    let mut node = ExplNode {
        node_type: "ModifyTable",
        text_name: operation.to_string(),
        est,
        ..Default::default()
    };
    node.head
        .push(("Operation", tree::Prop::Text(operation.to_string())));
    node.target = Some(Target {
        name_key: Some("Relation Name"),
        name: table.name.clone(),
        schema: Some(table.namespace.clone()),
        alias: table.name.clone(),
    });
    if let Some((n, elapsed)) = actual {
        let instr = exec::instrument::NodeInstr {
            nloops: 1,
            ntuples: 0,
            startup: elapsed,
            total: elapsed,
            ..Default::default()
        };
        let child_instr = exec::instrument::NodeInstr {
            nloops: 1,
            ntuples: n,
            startup: elapsed,
            total: elapsed,
            ..Default::default()
        };
        set_actual(&mut c, &child_instr);
        node.actual = Some(instr);
    }
    node.children.push(c);
    Ok((node, summary))
}

/// 54001 when an expression was too deep to print.
fn check_depth(b: &Builder) -> PgResult<()> {
    if b.too_deep.get() {
        return Err(crate::utils::stack::stack_depth_error());
    }
    Ok(())
}

/// Gives a node and the nodes it is made of the same counters (the rows a
/// DML statement wrote, its time).
fn set_actual(n: &mut ExplNode, a: &exec::instrument::NodeInstr) {
    n.actual = Some(a.clone());
    for c in &mut n.children {
        set_actual(c, a);
    }
}

/// PostgreSQL's `GUC_EXPLAIN` parameters: those that change plans.
const EXPLAIN_SETTINGS: &[&str] = &[
    "constraint_exclusion",
    "cpu_index_tuple_cost",
    "cpu_operator_cost",
    "cpu_tuple_cost",
    "cursor_tuple_fraction",
    "effective_cache_size",
    "effective_io_concurrency",
    "enable_async_append",
    "enable_bitmapscan",
    "enable_gathermerge",
    "enable_hashagg",
    "enable_hashjoin",
    "enable_incremental_sort",
    "enable_indexonlyscan",
    "enable_indexscan",
    "enable_material",
    "enable_memoize",
    "enable_mergejoin",
    "enable_nestloop",
    "enable_parallel_append",
    "enable_parallel_hash",
    "enable_partition_pruning",
    "enable_partitionwise_aggregate",
    "enable_partitionwise_join",
    "enable_seqscan",
    "enable_sort",
    "enable_tidscan",
    "force_parallel_mode",
    "from_collapse_limit",
    "geqo",
    "geqo_effort",
    "geqo_generations",
    "geqo_pool_size",
    "geqo_seed",
    "geqo_selection_bias",
    "geqo_threshold",
    "jit",
    "jit_above_cost",
    "jit_inline_above_cost",
    "jit_optimize_above_cost",
    "join_collapse_limit",
    "max_parallel_workers",
    "max_parallel_workers_per_gather",
    "min_parallel_index_scan_size",
    "min_parallel_table_scan_size",
    "parallel_leader_participation",
    "parallel_setup_cost",
    "parallel_tuple_cost",
    "plan_cache_mode",
    "random_page_cost",
    "search_path",
    "seq_page_cost",
    "work_mem",
];

/// The planner settings whose value differs from the built-in default,
/// by name (`get_explain_guc_options`).
fn changed_planner_settings(ctx: &mut dyn ServerContext) -> Vec<(String, String)> {
    let settings = ctx.settings();
    let rows = settings.pg_settings_rows();
    let mut out = Vec::new();
    for r in rows {
        if !EXPLAIN_SETTINGS.contains(&r.name.as_str()) || r.source == "default" {
            continue;
        }
        if r.boot_val.as_deref() == Some(r.setting.as_str()) {
            continue;
        }
        if let Ok(v) = settings.show(&r.name) {
            out.push((r.name.clone(), v));
        }
    }
    out.sort();
    out
}
