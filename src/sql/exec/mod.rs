//! The executor: plan nodes become pull-based iterators (PostgreSQL's
//! `ExecProcNode` model). Each node's `next` returns its next row or None;
//! Sort, Agg and Unique consume their input on the first call.
//!
//! Interrupts: every row a scan produces calls
//! [`ServerContext::check_for_interrupts`], so a cancel request or a
//! terminate signal ends even a long aggregation or sort promptly.

mod eval;
pub mod instrument;
mod join;
mod rowcodec;
pub(crate) mod scan;
mod srf;
mod subplan;
pub mod tuplesort;
pub mod tuplestore;
mod window;

use std::cmp::Ordering;
use std::collections::HashMap;

pub use eval::{eval, eval_qual, invoke};

use super::ServerContext;
use super::adt::{self, HashKey, SessionFormat, datum_cmp, hash_key};
use super::analyze::Aggref;
use super::catalog::RelationSource;
use super::functions::aggregates::Accumulator;
use super::plan::{Plan, SortKey};
use super::types::Datum;
use crate::utils::elog::{PgError, PgResult};

pub type Row = Vec<Datum>;

/// What expression evaluation needs from the session.
pub struct EvalContext<'a> {
    pub server: &'a mut dyn ServerContext,
    pub fmt: SessionFormat,
    /// Values of enclosing `CASE x WHEN ...` tests (innermost last).
    pub case_values: Vec<Datum>,
    /// Plans of the statement's subqueries in expressions, taken when first run.
    pub subplans: Vec<Option<Plan>>,
    /// Their rows, once run (uncorrelated subqueries run once, like InitPlans).
    subplan_results: Vec<Option<std::rc::Rc<Vec<Row>>>>,
    /// Values of outer columns correlated subqueries read
    /// ([`super::expr::Expr::ExecParam`] slots), set by their SubLinks.
    exec_params: Vec<Datum>,
    /// Hash sets of uncorrelated `x = ANY (subquery)` results, by subplan.
    hashed_subplans: Vec<Option<std::rc::Rc<subplan::HashedRows>>>,
    /// Materialised WITH queries by subplan: rows computed so far and the
    /// node computing the rest (`CteScan`).
    cte_stores: HashMap<usize, CteStore>,
    /// The current round's rows of each recursive CTE's work table.
    worktables: HashMap<usize, std::rc::Rc<tuplestore::Tuplestore>>,
    /// Table scans not yet at their end: closed when the statement ends.
    pub(crate) open_scans: Vec<super::tables::ScanId>,
    /// Bytes of rows this statement's nodes hold in memory (see [`EvalContext::hold`]).
    held_bytes: usize,
    /// EXPLAIN ANALYZE's counters, when the statement runs under it.
    pub instrument: Option<instrument::Instrumentation>,
    /// The instrumented node running now (its counters' slot).
    pub(crate) current_node: Option<usize>,
}

/// The most a statement's executor may hold in memory: sort input, groups,
/// DISTINCT keys, set-operation rows and the result itself. PostgreSQL
/// streams results and spills sorts and hashes to disk past `work_mem`;
/// ferrogres does neither yet (the query-engine issue), so without a bound
/// one `SELECT ... ORDER BY` over a large series could take the machine's
/// memory and end in the OOM killer and a crash-restart.
pub const MAX_HELD_BYTES: usize = 1 << 30;

/// 53200 for a statement past [`MAX_HELD_BYTES`] of rows in memory.
pub(crate) fn out_of_memory() -> PgError {
    PgError::error(crate::utils::elog::sqlstate::OUT_OF_MEMORY, "out of memory").with_detail(
        format!(
            "The query holds more than {} MB of rows in memory; ferrogres does not spill groups, hash tables, window partitions or results to disk yet.",
            MAX_HELD_BYTES >> 20
        ),
    )
}

impl Drop for EvalContext<'_> {
    fn drop(&mut self) {
        for scan in std::mem::take(&mut self.open_scans) {
            self.server.close_scan(scan);
        }
    }
}

impl<'a> EvalContext<'a> {
    pub fn new(server: &'a mut dyn ServerContext) -> EvalContext<'a> {
        let fmt = session_format(server);
        EvalContext {
            server,
            fmt,
            case_values: Vec::new(),
            subplans: Vec::new(),
            subplan_results: Vec::new(),
            exec_params: Vec::new(),
            hashed_subplans: Vec::new(),
            worktables: HashMap::new(),
            cte_stores: HashMap::new(),
            open_scans: Vec::new(),
            held_bytes: 0,
            instrument: None,
            current_node: None,
        }
    }

    /// Accounts for `row` being kept in memory until the statement ends:
    /// 53200 `out of memory` once the statement holds more than
    /// [`MAX_HELD_BYTES`] (a clean error instead of an aborted backend).
    pub fn hold(&mut self, row: &[Datum]) -> PgResult<()> {
        self.held_bytes = self.held_bytes.saturating_add(row_bytes(row));
        if self.held_bytes > MAX_HELD_BYTES {
            return Err(out_of_memory());
        }
        Ok(())
    }

    /// Installs the statement's subquery plans.
    pub fn set_subplans(&mut self, plans: Vec<Plan>) {
        self.subplan_results = vec![None; plans.len()];
        self.subplans = plans.into_iter().map(Some).collect();
    }

    /// The rows of subquery `index`, running it the first time.
    pub fn subplan_rows(&mut self, index: usize) -> PgResult<std::rc::Rc<Vec<Row>>> {
        if let Some(rows) = &self.subplan_results[index] {
            return Ok(rows.clone());
        }
        let plan = self.subplans[index].take().expect("a subplan runs once");
        let rows = std::rc::Rc::new(run(plan, self)?);
        self.subplan_results[index] = Some(rows.clone());
        Ok(rows)
    }

    /// The row at `ptr` of materialised WITH query `index` (subplan
    /// `index`), computing rows up to it if no reader has yet: PostgreSQL's
    /// CTE tuplestore, read by each reference at its own pace.
    pub(crate) fn cte_row(
        &mut self,
        index: usize,
        ptr: &mut tuplestore::ReadPtr,
    ) -> PgResult<Option<Row>> {
        loop {
            if !self.cte_stores.contains_key(&index) {
                let store = tuplestore::Tuplestore::for_session(self);
                self.cte_stores.insert(
                    index,
                    CteStore {
                        rows: store,
                        producer: None,
                        done: false,
                    },
                );
            }
            let store = self.cte_stores.get_mut(&index).expect("made above");
            if ptr.pos < store.rows.len() {
                return store.rows.read(ptr);
            }
            if store.done {
                return Ok(None);
            }
            let mut node = match store.producer.take() {
                Some(n) => n,
                None => build(
                    self.subplans[index]
                        .take()
                        .expect("a WITH query is computed once"),
                ),
            };
            let r = node.next(self)?;
            let store = self.cte_stores.get_mut(&index).expect("entry made above");
            match r {
                Some(row) => {
                    store.rows.put(row)?;
                    store.producer = Some(node);
                }
                None => store.done = true,
            }
        }
    }

    /// Installs the rows of a data-modifying WITH query (its RETURNING
    /// rows) as the CTE's complete store.
    pub(crate) fn fill_cte(&mut self, index: usize, rows: Vec<Row>) -> PgResult<()> {
        let mut store = tuplestore::Tuplestore::for_session(self);
        for r in rows {
            store.put(r)?;
        }
        self.cte_stores.insert(
            index,
            CteStore {
                rows: store,
                producer: None,
                done: true,
            },
        );
        Ok(())
    }

    /// Runs a correlated subquery's plan afresh (its parameters set), for
    /// `f` to pull rows from until it returns false.
    pub fn run_correlated(
        &mut self,
        index: usize,
        f: &mut dyn FnMut(Row, &mut EvalContext) -> PgResult<bool>,
    ) -> PgResult<()> {
        let plan = self.subplans[index]
            .clone()
            .expect("a correlated subplan is kept");
        let mut node = build(plan);
        while let Some(r) = node.next(self)? {
            if !f(r, self)? {
                break;
            }
        }
        Ok(())
    }

    /// The rows of uncorrelated subquery `index` as a hash set of their
    /// first column (PostgreSQL's hashed SubPlan), built once.
    pub(crate) fn hashed_subplan(
        &mut self,
        index: usize,
    ) -> PgResult<std::rc::Rc<subplan::HashedRows>> {
        if self.hashed_subplans.len() <= index {
            self.hashed_subplans.resize(index + 1, None);
        }
        if let Some(h) = &self.hashed_subplans[index] {
            return Ok(h.clone());
        }
        let rows = self.subplan_rows(index)?;
        let h = std::rc::Rc::new(subplan::HashedRows::new(&rows));
        self.hashed_subplans[index] = Some(h.clone());
        Ok(h)
    }

    pub fn set_exec_param(&mut self, slot: usize, value: Datum) {
        if self.exec_params.len() <= slot {
            self.exec_params.resize(slot + 1, Datum::Null);
        }
        self.exec_params[slot] = value;
    }

    pub fn exec_param(&self, slot: usize) -> Datum {
        self.exec_params.get(slot).cloned().unwrap_or(Datum::Null)
    }

    /// Records how the running node's sort ran, for EXPLAIN ANALYZE.
    pub(crate) fn note_sort_method(&mut self, method: tuplesort::SortMethod) {
        if let (Some(instr), Some(id)) = (self.instrument.as_mut(), self.current_node) {
            instr.nodes[id].sort = Some(method);
        }
    }

    /// Re-reads settings that affect input and output (after `set_config`).
    pub fn refresh_format(&mut self) {
        self.fmt = session_format(self.server);
    }
}

/// The session's TimeZone and extra_float_digits, as values are read and printed.
pub fn session_format(server: &mut dyn ServerContext) -> SessionFormat {
    /// The settings a [`SessionFormat`] is derived from.
    const FORMAT_SETTINGS: [&str; 5] = [
        "timezone",
        "extra_float_digits",
        "bytea_output",
        "datestyle",
        "intervalstyle",
    ];
    thread_local! {
        /// The last format derived and the values it came from: parsing the
        /// time zone and styles anew costs more than a short statement.
        static LAST: std::cell::RefCell<Option<(crate::utils::guc::ValuesKey, SessionFormat)>> =
            const { std::cell::RefCell::new(None) };
    }
    let now = server.transaction_timestamp();
    let settings = server.settings();
    let cached = LAST.with_borrow(|last| match last {
        Some((key, fmt)) if settings.values_match(&FORMAT_SETTINGS, key) => Some(fmt.clone()),
        _ => None,
    });
    if let Some(fmt) = cached {
        return SessionFormat { now, ..fmt };
    }
    let tz = settings
        .show("timezone")
        .ok()
        .and_then(|name| adt::datetime::TimeZone::parse(&name))
        .unwrap_or_default();
    let extra_float_digits = settings
        .show("extra_float_digits")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1);
    let bytea_output = match settings.show("bytea_output").ok().as_deref() {
        Some("escape") => adt::bytea::ByteaOutput::Escape,
        _ => adt::bytea::ByteaOutput::Hex,
    };
    let date_style =
        adt::datestyle::DateStyle::parse(&settings.show("datestyle").unwrap_or_default());
    let interval_style =
        adt::datestyle::IntervalStyle::parse(&settings.show("intervalstyle").unwrap_or_default());
    let fmt = SessionFormat {
        tz,
        extra_float_digits,
        now,
        bytea_output,
        date_style,
        interval_style,
    };
    let key = settings.values_key(&FORMAT_SETTINGS);
    LAST.with_borrow_mut(|last| *last = Some((key, fmt.clone())));
    fmt
}

trait ExecNode {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>>;

    /// At most `bound` rows will be read from this node (a LIMIT above
    /// it, PostgreSQL's `ExecSetTupleBound`): a Sort keeps only that many.
    fn set_bound(&mut self, _bound: usize) {}
}

/// Runs a plan to completion.
pub fn run(plan: Plan, cx: &mut EvalContext) -> PgResult<Vec<Row>> {
    let mut node = build(plan);
    let mut rows = Vec::new();
    while let Some(r) = node.next(cx)? {
        cx.hold(&r)?;
        rows.push(r);
    }
    Ok(rows)
}

/// Runs `plan`, handing each row to `each` as it is produced (nothing is
/// held beyond what the plan's own nodes keep).
pub fn run_each(
    plan: Plan,
    cx: &mut EvalContext,
    each: &mut dyn FnMut(&mut EvalContext, Row) -> PgResult<()>,
) -> PgResult<()> {
    let mut node = build(plan);
    while let Some(r) = node.next(cx)? {
        each(cx, r)?;
    }
    Ok(())
}

/// About how many bytes a row takes in memory, payloads included.
pub(super) fn row_bytes(row: &[Datum]) -> usize {
    let payload: usize = row
        .iter()
        .map(|d| match d {
            Datum::Text(s) => s.capacity(),
            Datum::Array(a) => row_bytes(&a.items),
            Datum::Numeric(_) => 32,
            _ => 0,
        })
        .sum();
    std::mem::size_of::<Row>() + row.len() * std::mem::size_of::<Datum>() + payload
}

fn build(plan: Plan) -> Box<dyn ExecNode> {
    match plan {
        Plan::Result => Box::new(ResultNode { done: false }),
        Plan::SeqScan { relation } => match relation.source {
            RelationSource::Memory(rows) => Box::new(SeqScan {
                rows: rows.into_iter(),
            }),
            RelationSource::Table(table) => {
                Box::new(scan::TableScan(scan::TableScanWithIds::new(table)))
            }
        },
        Plan::IndexScan { relation, path } => match relation.source {
            RelationSource::Table(table) => Box::new(scan::TableScan(
                scan::TableScanWithIds::with_index(table, path),
            )),
            RelationSource::Memory(_) => unreachable!("index paths are for tables"),
        },
        Plan::LockingScan { table, mode, qual } => Box::new(scan::LockingScan {
            inner: scan::TableScanWithIds::new(table),
            mode,
            qual,
        }),
        Plan::FunctionScan {
            functions,
            ordinality,
        } => Box::new(srf::FunctionScan {
            functions,
            ordinality,
            runs: None,
            count: 0,
        }),
        Plan::ProjectSet { input, calls } => Box::new(srf::ProjectSet {
            input: build(*input),
            calls,
            current: None,
        }),
        Plan::SubqueryScan { subplan } => build(*subplan),
        Plan::RecursiveUnion {
            worktable,
            all,
            left,
            right,
        } => Box::new(RecursiveUnion {
            worktable,
            all,
            left: Some(build(*left)),
            right: *right,
            seen: Default::default(),
            next_work: None,
            round: None,
        }),
        Plan::CteScan { subplan } => Box::new(CteScan {
            subplan,
            ptr: Default::default(),
        }),
        Plan::WorkTableScan { worktable } => Box::new(WorkTableScan {
            worktable,
            rows: None,
            ptr: Default::default(),
        }),
        Plan::ValuesScan { rows } => Box::new(ValuesScan {
            rows: rows.into_iter(),
        }),
        Plan::SetOp {
            kind,
            all,
            left,
            right,
        } => Box::new(SetOp {
            kind,
            all,
            inputs: Some((build(*left), build(*right))),
            output: Vec::new().into_iter(),
        }),
        Plan::NestLoop {
            kind,
            left,
            right,
            qual,
            left_width,
            right_width,
        } => Box::new(join::NestLoop::new(
            kind,
            build(*left),
            build(*right),
            qual,
            left_width,
            right_width,
        )),
        Plan::LateralLoop {
            kind,
            left,
            right,
            params,
            qual,
            left_width,
            right_width,
        } => Box::new(join::LateralLoop::new(
            kind,
            build(*left),
            *right,
            params,
            qual,
            left_width,
            right_width,
        )),
        Plan::HashJoin {
            kind,
            left,
            right,
            left_keys,
            right_keys,
            qual,
            left_width,
            right_width,
        } => Box::new(join::HashJoin::new(
            kind,
            build(*left),
            build(*right),
            left_keys,
            right_keys,
            qual,
            left_width,
            right_width,
        )),
        Plan::Filter { input, qual } => Box::new(Filter {
            input: build(*input),
            qual,
        }),
        Plan::Agg {
            input,
            group_by,
            grouping_sets,
            aggregates,
        } => Box::new(Agg {
            input: Some(build(*input)),
            group_by,
            grouping_sets,
            aggregates,
            output: None,
        }),
        Plan::WindowAgg {
            input,
            partition,
            order,
            frame,
            funcs,
        } => Box::new(window::WindowAgg {
            input: Some(build(*input)),
            partition,
            order,
            frame,
            funcs,
            output: Vec::new().into_iter(),
            sorted: None,
            pending: None,
            offsets: None,
        }),
        Plan::Project { input, exprs } => Box::new(Project {
            input: build(*input),
            exprs,
        }),
        Plan::Unique { input, ncols } => Box::new(Unique {
            input: build(*input),
            ncols,
            seen: Default::default(),
            seen_bytes: 0,
            limit: None,
            level: 0,
            spills: Vec::new(),
            todo: Vec::new(),
            reading: None,
            input_done: false,
        }),
        Plan::Sort { input, keys } => Box::new(Sort {
            input: Some(build(*input)),
            keys,
            sort: None,
            bound: None,
        }),
        Plan::UniqueOn { input, keys } => Box::new(UniqueOn {
            input: build(*input),
            keys,
            last: None,
        }),
        Plan::Limit {
            input,
            offset,
            count,
            ties,
        } => Box::new(Limit {
            input: build(*input),
            offset_expr: offset,
            count_expr: count,
            state: None,
            ties,
            last: None,
        }),
        Plan::Labeled { input, .. } => build(*input),
        Plan::Instrument { id, input } => Box::new(instrument::InstrNode::new(id, build(*input))),
    }
}

struct ResultNode {
    done: bool,
}

impl ExecNode for ResultNode {
    fn next(&mut self, _: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        Ok(Some(Vec::new()))
    }
}

struct SeqScan {
    rows: std::vec::IntoIter<Row>,
}

impl ExecNode for SeqScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        cx.server.check_for_interrupts()?;
        Ok(self.rows.next())
    }
}

struct Filter {
    input: Box<dyn ExecNode>,
    qual: super::expr::Expr,
}

impl ExecNode for Filter {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        // A qual folded to FALSE or NULL: read nothing (One-Time Filter).
        if matches!(
            self.qual,
            super::expr::Expr::Const {
                value: Datum::Bool(false) | Datum::Null,
                ..
            }
        ) {
            return Ok(None);
        }
        while let Some(r) = self.input.next(cx)? {
            if eval_qual(&self.qual, &r, cx)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

struct Project {
    input: Box<dyn ExecNode>,
    exprs: Vec<super::expr::Expr>,
}

impl ExecNode for Project {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        let Some(r) = self.input.next(cx)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(self.exprs.len());
        for e in &self.exprs {
            out.push(eval(e, &r, cx)?);
        }
        Ok(Some(out))
    }
}

/// `SELECT DISTINCT` (PostgreSQL's HashAggregate over the target list):
/// the first row of each distinct value, as it comes. The values seen are
/// kept within `work_mem` × `hash_mem_multiplier`; once that is full, a
/// row of a value not seen yet goes to one of [`SPILL_PARTITIONS`]
/// partitions by its hash, and after the input each partition is read as
/// a new input with an empty set (again partitioned, on other hash bits,
/// if it does not fit), as hash aggregation spills.
struct Unique {
    input: Box<dyn ExecNode>,
    ncols: usize,
    seen: adt::KeySet,
    seen_bytes: usize,
    /// The bound on `seen_bytes`, and the temporary-file settings.
    limit: Option<(usize, crate::storage::file::temp::TempFileSettings)>,
    /// The hash bits this pass partitions on (0: the input itself).
    level: u32,
    spills: Vec<Option<tuplestore::Tuplestore>>,
    /// Partitions still to read, and the one being read.
    todo: Vec<(u32, tuplestore::Tuplestore)>,
    reading: Option<(tuplestore::Tuplestore, tuplestore::ReadPtr)>,
    input_done: bool,
}

/// How many partitions a spilling hash table writes its rows to.
const SPILL_PARTITIONS: usize = 32;

/// The hash-table memory of a session (`work_mem` × `hash_mem_multiplier`).
fn hash_mem(cx: &mut EvalContext) -> usize {
    let s = cx.server.settings();
    (s.get_int("work_mem").max(64) as f64 * s.get_real("hash_mem_multiplier").max(1.0) * 1024.0)
        as usize
}

/// The spill partition of `key` at recursion `level`.
fn spill_partition(key: &[HashKey], level: u32) -> usize {
    use std::hash::BuildHasher;
    let h = crate::utils::hash::FxBuildHasher::default().hash_one(key);
    (h >> (level * 5 % 60)) as usize % SPILL_PARTITIONS
}

impl ExecNode for Unique {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.limit.is_none() {
            self.limit = Some((
                hash_mem(cx),
                tuplestore::Tuplestore::session_temp_settings(cx),
            ));
        }
        let (limit, temp) = self.limit.expect("set above");
        loop {
            let r = match &mut self.reading {
                // Spilled rows come from a file, not a scan: check here.
                Some((store, ptr)) => {
                    cx.server.check_for_interrupts()?;
                    store.read(ptr)?
                }
                None if self.input_done => return Ok(None),
                None => self.input.next(cx)?,
            };
            let Some(r) = r else {
                // A pass is over: its partitions are read next.
                self.input_done = true;
                let level = self.level + 1;
                for s in std::mem::take(&mut self.spills).into_iter().flatten() {
                    self.todo.push((level, s));
                }
                self.seen.clear();
                self.seen_bytes = 0;
                match self.todo.pop() {
                    Some((level, store)) => {
                        self.level = level;
                        self.reading = Some((store, tuplestore::ReadPtr::default()));
                        continue;
                    }
                    None => {
                        self.reading = None;
                        return Ok(None);
                    }
                }
            };
            let key: Vec<HashKey> = r[..self.ncols].iter().map(hash_key).collect();
            if self.seen.contains(&key) {
                continue;
            }
            if self.seen_bytes > limit {
                if self.spills.is_empty() {
                    self.spills = (0..SPILL_PARTITIONS).map(|_| None).collect();
                }
                self.spills[spill_partition(&key, self.level)]
                    .get_or_insert_with(|| tuplestore::Tuplestore::new(64, temp))
                    .put(r)?;
                continue;
            }
            self.seen_bytes += row_bytes(&r[..self.ncols]);
            self.seen.insert(key);
            return Ok(Some(r));
        }
    }
}

/// Compares two values as ORDER BY does (NULLs placed per `nulls_first`).
pub(crate) fn compare_key(a: &Datum, b: &Datum, descending: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        _ => {
            let o = datum_cmp(a, b);
            if descending { o.reverse() } else { o }
        }
    }
}

/// ORDER BY: the input through a [`tuplesort::Tuplesort`], within
/// `work_mem` (spilling to temporary files past it).
struct Sort {
    input: Option<Box<dyn ExecNode>>,
    keys: Vec<SortKey>,
    sort: Option<tuplesort::Tuplesort>,
    bound: Option<usize>,
}

impl ExecNode for Sort {
    fn set_bound(&mut self, bound: usize) {
        self.bound = Some(bound);
    }

    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if let Some(mut input) = self.input.take() {
            let mut sort = tuplesort::Tuplesort::for_session(std::mem::take(&mut self.keys), cx);
            if let Some(b) = self.bound {
                sort.set_bound(b);
            }
            while let Some(r) = input.next(cx)? {
                sort.put(r)?;
            }
            let method = sort.perform(cx)?;
            cx.note_sort_method(method);
            self.sort = Some(sort);
        }
        match &mut self.sort {
            Some(s) => s.next(),
            None => Ok(None),
        }
    }
}

/// `WITH RECURSIVE` (`nodeRecursiveunion.c`): the non-recursive term's
/// rows as they come, then rounds of the recursive term over the rows the
/// round before produced (the work table), each row handed out as it is
/// made, so `LIMIT` ends an endless recursion. The rows of the next work
/// table go to a [`tuplestore::Tuplestore`], which spills past
/// `work_mem`. UNION keeps only rows not produced before (a hash set of
/// every row so far, in memory as in PostgreSQL).
struct RecursiveUnion {
    worktable: usize,
    all: bool,
    left: Option<Box<dyn ExecNode>>,
    right: Plan,
    seen: adt::KeySet,
    /// The rows of the round being produced.
    next_work: Option<tuplestore::Tuplestore>,
    /// The recursive term running over the previous round's rows.
    round: Option<Box<dyn ExecNode>>,
}

impl RecursiveUnion {
    /// Whether `r` is a result row (always for UNION ALL; for UNION, not
    /// one produced before).
    fn is_new(&mut self, r: &Row, cx: &mut EvalContext) -> PgResult<bool> {
        if self.all {
            return Ok(true);
        }
        if self.seen.insert(r.iter().map(hash_key).collect()) {
            cx.hold(r)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Keeps `r` for the next round.
    fn keep(&mut self, r: &Row, cx: &mut EvalContext) -> PgResult<()> {
        if self.next_work.is_none() {
            self.next_work = Some(tuplestore::Tuplestore::for_session(cx));
        }
        self.next_work.as_mut().expect("made above").put(r.clone())
    }
}

impl ExecNode for RecursiveUnion {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        loop {
            if let Some(left) = &mut self.left {
                match left.next(cx)? {
                    Some(r) => {
                        if self.is_new(&r, cx)? {
                            self.keep(&r, cx)?;
                            return Ok(Some(r));
                        }
                        continue;
                    }
                    None => self.left = None,
                }
            }
            if let Some(node) = &mut self.round {
                match node.next(cx)? {
                    Some(r) => {
                        cx.server.check_for_interrupts()?;
                        if self.is_new(&r, cx)? {
                            self.keep(&r, cx)?;
                            return Ok(Some(r));
                        }
                        continue;
                    }
                    None => self.round = None,
                }
            }
            // A round is over: its rows are the next one's work table.
            let work = match self.next_work.take() {
                Some(w) if !w.is_empty() => w,
                _ => return Ok(None),
            };
            cx.worktables.insert(self.worktable, std::rc::Rc::new(work));
            self.round = Some(build(self.right.clone()));
        }
    }
}

struct WorkTableScan {
    worktable: usize,
    rows: Option<std::rc::Rc<tuplestore::Tuplestore>>,
    ptr: tuplestore::ReadPtr,
}

impl ExecNode for WorkTableScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.rows.is_none() {
            match cx.worktables.get(&self.worktable) {
                Some(w) => self.rows = Some(w.clone()),
                None => return Ok(None),
            }
        }
        self.rows.as_ref().expect("set above").read(&mut self.ptr)
    }
}

/// `DISTINCT ON`: the first row of each run of rows equal on `keys`
/// (NULLs equal to NULLs, as the sort saw them).
struct UniqueOn {
    input: Box<dyn ExecNode>,
    keys: Vec<usize>,
    last: Option<Row>,
}

fn equal_on(keys: &[usize], a: &[Datum], b: &[Datum]) -> bool {
    keys.iter().all(|&k| match (&a[k], &b[k]) {
        (Datum::Null, Datum::Null) => true,
        (Datum::Null, _) | (_, Datum::Null) => false,
        (x, y) => datum_cmp(x, y) == Ordering::Equal,
    })
}

impl ExecNode for UniqueOn {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        while let Some(r) = self.input.next(cx)? {
            if self
                .last
                .as_ref()
                .is_some_and(|l| equal_on(&self.keys, l, &r))
            {
                continue;
            }
            self.last = Some(r.clone());
            return Ok(Some(r));
        }
        Ok(None)
    }
}

struct Limit {
    input: Box<dyn ExecNode>,
    offset_expr: Option<super::expr::Expr>,
    count_expr: Option<super::expr::Expr>,
    /// (rows still to skip, rows still to return; None = unlimited).
    state: Option<(i64, Option<i64>)>,
    /// `WITH TIES`: the ORDER BY keys, and the last row of the count
    /// (rows equal to it on the keys follow it out).
    ties: Option<Vec<SortKey>>,
    last: Option<Row>,
}

impl ExecNode for Limit {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if self.state.is_none() {
            let offset = match &self.offset_expr {
                Some(e) => match eval(e, &[], cx)? {
                    Datum::Int8(v) if v < 0 => {
                        return Err(PgError::error("2201X", "OFFSET must not be negative"));
                    }
                    Datum::Int8(v) => v,
                    _ => 0,
                },
                None => 0,
            };
            let count = match &self.count_expr {
                Some(e) => match eval(e, &[], cx)? {
                    Datum::Int8(v) if v < 0 => {
                        return Err(PgError::error("2201W", "LIMIT must not be negative"));
                    }
                    Datum::Int8(v) => Some(v),
                    _ if self.ties.is_some() => {
                        return Err(PgError::error(
                            "2201W",
                            "row count cannot be null in FETCH FIRST ... WITH TIES clause",
                        ));
                    }
                    _ => None,
                },
                None => None,
            };
            self.state = Some((offset, count));
            if let (None, Some(c)) = (&self.ties, count) {
                self.input
                    .set_bound(usize::try_from(offset.saturating_add(c)).unwrap_or(usize::MAX));
            }
        }
        let (skip, remaining) = self.state.as_mut().expect("limit state initialised");
        if *remaining == Some(0) {
            // WITH TIES: one more row while it equals the last on the keys.
            let (Some(keys), Some(last)) = (&self.ties, &self.last) else {
                return Ok(None);
            };
            let Some(r) = self.input.next(cx)? else {
                self.last = None;
                return Ok(None);
            };
            // Equal as the sort sees it: NULLs tie with NULLs only.
            let columns: Vec<usize> = keys.iter().map(|k| k.column).collect();
            let tied = equal_on(&columns, &r, last);
            if !tied {
                self.last = None;
                return Ok(None);
            }
            return Ok(Some(r));
        }
        while *skip > 0 {
            if self.input.next(cx)?.is_none() {
                return Ok(None);
            }
            *skip -= 1;
        }
        let r = self.input.next(cx)?;
        if let (Some(row), Some(n)) = (&r, remaining) {
            *n -= 1;
            if *n == 0 && self.ties.is_some() {
                self.last = Some(row.clone());
            }
        }
        Ok(r)
    }
}

/// Per-group, per-aggregate state.
struct AggSlot {
    acc: Accumulator,
    /// DISTINCT: argument values already fed.
    seen: adt::KeySet,
    /// ORDER BY inside the call: (sort values, argument values), fed at the end.
    buffered: Vec<(Row, Row)>,
}

struct Agg {
    input: Option<Box<dyn ExecNode>>,
    group_by: Vec<super::expr::Expr>,
    grouping_sets: Option<Vec<Vec<usize>>>,
    aggregates: Vec<Aggref>,
    /// The groups, once all are computed (spilling past `work_mem`), and
    /// where the reading is.
    output: Option<(tuplestore::Tuplestore, tuplestore::ReadPtr)>,
}

impl Agg {
    fn new_slots(&self) -> Vec<AggSlot> {
        self.aggregates
            .iter()
            .map(|a| AggSlot {
                acc: Accumulator::new(a.kind, &a.arg_types, a.ty),
                seen: Default::default(),
                buffered: Vec::new(),
            })
            .collect()
    }

    /// All groups of the input (PostgreSQL's hash aggregation, with its
    /// spilling since PostgreSQL 13): a pass feeds the groups it has and
    /// makes new ones while their keys take at most `work_mem` ×
    /// `hash_mem_multiplier`; a row of a group it could not make is kept in
    /// a tuplestore of its grouping set (spilling to a temporary file), and
    /// each such store is aggregated by a later pass on its own. A group
    /// is complete in the pass that makes it: its rows all come in that
    /// pass, before or after it was made.
    fn consume(
        &self,
        input: &mut dyn ExecNode,
        cx: &mut EvalContext,
    ) -> PgResult<tuplestore::Tuplestore> {
        // A plain GROUP BY is the one set of all its keys.
        let all: Vec<usize> = (0..self.group_by.len()).collect();
        let sets: &[Vec<usize>] = match &self.grouping_sets {
            Some(s) => s,
            None => std::slice::from_ref(&all),
        };
        let hash_mem = hash_mem(cx);
        let mut out = tuplestore::Tuplestore::for_session(cx);
        let every: Vec<usize> = (0..sets.len()).collect();
        let mut todo = self.pass(
            &mut |cx| input.next(cx),
            &every,
            sets,
            0,
            hash_mem,
            cx,
            &mut out,
        )?;
        while let Some((si, level, store)) = todo.pop() {
            let mut ptr = tuplestore::ReadPtr::default();
            let more = self.pass(
                // Spilled rows come from a file, not a scan: check here.
                &mut |cx| {
                    cx.server.check_for_interrupts()?;
                    store.read(&mut ptr)
                },
                &[si],
                sets,
                level,
                hash_mem,
                cx,
                &mut out,
            )?;
            todo.extend(more);
        }
        Ok(out)
    }

    /// One pass over `next_row`'s rows for the grouping sets `active`, at
    /// recursion `level` (0: the input itself): appends the groups it
    /// completes to `out` and returns the rows of the groups it had no
    /// room for, by set and by one of [`SPILL_PARTITIONS`] partitions of
    /// their key's hash (other bits of it at each level), so that each
    /// later pass has a fraction of the groups left (PostgreSQL's
    /// `hashagg_spill_tuple`).
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &self,
        next_row: &mut dyn FnMut(&mut EvalContext) -> PgResult<Option<Row>>,
        active: &[usize],
        sets: &[Vec<usize>],
        level: u32,
        hash_mem: usize,
        cx: &mut EvalContext,
        out: &mut tuplestore::Tuplestore,
    ) -> PgResult<Vec<(usize, u32, tuplestore::Tuplestore)>> {
        use super::functions::AggKind;
        /// What a group costs beyond its keys, per aggregate (a guess).
        const GROUP_OVERHEAD: usize = 64;
        let temp = tuplestore::Tuplestore::session_temp_settings(cx);
        let mut index: Vec<adt::KeyMap<usize>> = vec![Default::default(); sets.len()];
        // (set, key values with those outside the set NULL, states).
        let mut groups: Vec<(usize, Row, Vec<AggSlot>)> = Vec::new();
        let mut spills: Vec<Vec<Option<tuplestore::Tuplestore>>> = (0..sets.len())
            .map(|_| (0..SPILL_PARTITIONS).map(|_| None).collect())
            .collect();
        let mut group_bytes = 0usize;
        // An empty set is one group even over no rows.
        if level == 0 {
            for (si, set) in sets.iter().enumerate() {
                if set.is_empty() {
                    groups.push((si, vec![Datum::Null; self.group_by.len()], self.new_slots()));
                    index[si].insert(Vec::new(), groups.len() - 1);
                }
            }
        }
        let mut targets: Vec<usize> = Vec::with_capacity(sets.len());
        while let Some(row) = next_row(cx)? {
            let mut keyvals = Vec::with_capacity(self.group_by.len());
            for e in &self.group_by {
                keyvals.push(eval(e, &row, cx)?);
            }
            targets.clear();
            for &si in active {
                let set = &sets[si];
                let key: Vec<HashKey> = set.iter().map(|&i| hash_key(&keyvals[i])).collect();
                let g = match index[si].get(&key) {
                    Some(&g) => g,
                    // The hash tables are full: the row waits for a later
                    // pass over this set's spilled rows.
                    None if group_bytes > hash_mem => {
                        // A partition's store keeps little in memory: there
                        // are many of them.
                        spills[si][spill_partition(&key, level)]
                            .get_or_insert_with(|| tuplestore::Tuplestore::new(64, temp))
                            .put(row.clone())?;
                        continue;
                    }
                    None => {
                        let mut vals = vec![Datum::Null; keyvals.len()];
                        for &i in set {
                            vals[i] = keyvals[i].clone();
                        }
                        group_bytes += row_bytes(&vals) + GROUP_OVERHEAD * self.aggregates.len();
                        groups.push((si, vals, self.new_slots()));
                        index[si].insert(key, groups.len() - 1);
                        groups.len() - 1
                    }
                };
                targets.push(g);
            }
            if targets.is_empty() {
                continue;
            }
            for (ai, a) in self.aggregates.iter().enumerate() {
                if a.kind == AggKind::Grouping {
                    continue;
                }
                if let Some(f) = &a.filter
                    && !eval_qual(f, &row, cx)?
                {
                    continue;
                }
                let mut args = Vec::with_capacity(a.args.len());
                for e in &a.args {
                    args.push(eval(e, &row, cx)?);
                }
                // DISTINCT aggregates are strict in their first argument.
                if a.distinct && args.first().is_some_and(|d| d.is_null()) && !a.kind.takes_nulls()
                {
                    continue;
                }
                let mut keys = Vec::with_capacity(a.order.len());
                for (e, _, _) in &a.order {
                    keys.push(eval(e, &row, cx)?);
                }
                for (n, &g) in targets.iter().enumerate() {
                    let slot = &mut groups[g].2[ai];
                    if a.distinct {
                        if !slot.seen.insert(args.iter().map(hash_key).collect()) {
                            continue;
                        }
                        cx.hold(&args)?;
                    }
                    if a.order.is_empty() && !a.distinct {
                        slot.acc.advance_fmt(&args, &cx.fmt)?;
                        continue;
                    }
                    // Buffered for the sort at the end: ORDER BY's keys, or
                    // for DISTINCT alone the values themselves (PostgreSQL
                    // sorts them; array_agg/string_agg show the order). The
                    // last set's group takes the row's values.
                    if !a.order.is_empty() {
                        cx.hold(&keys)?;
                        cx.hold(&args)?;
                    }
                    let last = n + 1 == targets.len();
                    let vals = if last {
                        std::mem::take(&mut args)
                    } else {
                        args.clone()
                    };
                    let sort_keys = if a.order.is_empty() {
                        vals.clone()
                    } else if last {
                        std::mem::take(&mut keys)
                    } else {
                        keys.clone()
                    };
                    slot.buffered.push((sort_keys, vals));
                }
            }
        }
        for (si, keys, slots) in groups {
            let mut row = keys;
            for (a, mut slot) in self.aggregates.iter().zip(slots) {
                if a.kind == AggKind::Grouping {
                    // A bit per argument, the leftmost highest, set when
                    // the row's set does not group by it.
                    let mask = a
                        .grouping_refs
                        .iter()
                        .fold(0i32, |m, r| m << 1 | i32::from(!sets[si].contains(r)));
                    row.push(Datum::Int4(mask));
                    continue;
                }
                if !a.order.is_empty() || a.distinct {
                    // ORDER BY inside the call, or DISTINCT's ascending order
                    // of the distinct values (array_agg/string_agg show it).
                    let spec: Vec<(bool, bool)> = if a.order.is_empty() {
                        vec![(false, false); a.args.len()]
                    } else {
                        a.order.iter().map(|(_, d, n)| (*d, *n)).collect()
                    };
                    let mut buf = std::mem::take(&mut slot.buffered);
                    buf.sort_by(|x, y| {
                        x.0.iter()
                            .zip(&y.0)
                            .zip(&spec)
                            .map(|((p, q), (d, n))| compare_key(p, q, *d, *n))
                            .find(|o| o.is_ne())
                            .unwrap_or(Ordering::Equal)
                    });
                    for (_, args) in buf {
                        slot.acc.advance_fmt(&args, &cx.fmt)?;
                    }
                }
                if let AggKind::OrderedSet(_) = a.kind {
                    // The direct arguments are evaluated over the group's keys.
                    let mut direct = Vec::with_capacity(a.direct_args.len());
                    for e in &a.direct_args {
                        direct.push(eval(e, &row, cx)?);
                    }
                    let spec: Vec<(bool, bool)> =
                        a.order.iter().map(|(_, d, n)| (*d, *n)).collect();
                    row.push(slot.acc.finish_ordered(&direct, &spec)?);
                    continue;
                }
                row.push(slot.acc.finish()?);
            }
            out.put(row)?;
        }
        Ok(spills
            .into_iter()
            .enumerate()
            .flat_map(|(si, parts)| parts.into_iter().flatten().map(move |s| (si, level + 1, s)))
            .collect())
    }
}

impl ExecNode for Agg {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if let Some(mut input) = self.input.take() {
            let rows = self.consume(input.as_mut(), cx)?;
            self.output = Some((rows, tuplestore::ReadPtr::default()));
        }
        match &mut self.output {
            Some((rows, ptr)) => rows.read(ptr),
            None => Ok(None),
        }
    }
}

/// A materialised WITH query (`EvalContext::cte_row`): its rows so far
/// (spilling past `work_mem`), and the node computing the rest.
struct CteStore {
    rows: tuplestore::Tuplestore,
    producer: Option<Box<dyn ExecNode>>,
    done: bool,
}

/// One reference to a materialised WITH query.
struct CteScan {
    subplan: usize,
    ptr: tuplestore::ReadPtr,
}

impl ExecNode for CteScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        cx.server.check_for_interrupts()?;
        cx.cte_row(self.subplan, &mut self.ptr)
    }
}

struct ValuesScan {
    rows: std::vec::IntoIter<Vec<super::expr::Expr>>,
}

impl ExecNode for ValuesScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        cx.server.check_for_interrupts()?;
        let Some(exprs) = self.rows.next() else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(exprs.len());
        for e in &exprs {
            out.push(eval(e, &[], cx)?);
        }
        Ok(Some(out))
    }
}

/// Hashed UNION / INTERSECT / EXCEPT (`nodeSetOp.c`): UNION ALL is an
/// append; the others count each distinct row on both sides.
struct SetOp {
    kind: super::analyze::SetOpKind,
    all: bool,
    inputs: Option<(Box<dyn ExecNode>, Box<dyn ExecNode>)>,
    output: std::vec::IntoIter<Row>,
}

impl ExecNode for SetOp {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        use super::analyze::SetOpKind;
        if let Some((mut left, mut right)) = self.inputs.take() {
            // Distinct rows in first-seen order, with their counts on each side.
            let mut index: adt::KeyMap<usize> = Default::default();
            let mut rows: Vec<(Row, u64, u64)> = Vec::new();
            let mut out = Vec::new();
            for (side, input) in [(0, &mut left), (1, &mut right)] {
                while let Some(r) = input.next(cx)? {
                    if self.kind == SetOpKind::Union && self.all {
                        cx.hold(&r)?;
                        out.push(r);
                        continue;
                    }
                    let key: Vec<HashKey> = r.iter().map(hash_key).collect();
                    let i = match index.get(&key) {
                        Some(&i) => i,
                        None => {
                            cx.hold(&r)?;
                            rows.push((r, 0, 0));
                            index.insert(key, rows.len() - 1);
                            rows.len() - 1
                        }
                    };
                    if side == 0 {
                        rows[i].1 += 1;
                    } else {
                        rows[i].2 += 1;
                    }
                }
            }
            for (r, l, rc) in rows {
                let copies = match (self.kind, self.all) {
                    (SetOpKind::Union, _) => 1,
                    (SetOpKind::Intersect, false) => u64::from(l > 0 && rc > 0),
                    (SetOpKind::Intersect, true) => l.min(rc),
                    (SetOpKind::Except, false) => u64::from(l > 0 && rc == 0),
                    (SetOpKind::Except, true) => l.saturating_sub(rc),
                };
                for _ in 0..copies {
                    out.push(r.clone());
                }
            }
            self.output = out.into_iter();
        }
        Ok(self.output.next())
    }
}
