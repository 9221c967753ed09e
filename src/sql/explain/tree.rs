//! A plan as EXPLAIN shows it: PostgreSQL's node names and nesting, built
//! from ferrogres's [`Plan`] (PostgreSQL's `ExplainNode` walk).
//!
//! The mapping is not one to one, in both directions:
//! - `Project` and `Filter` are not nodes in PostgreSQL: projection is
//!   part of every node, and a Filter becomes the `Filter:` line of the
//!   node below it (`One-Time Filter:` on a Result). `Labeled` names a
//!   FROM item; a `SubqueryScan` runs as its subquery and shows as that.
//! - The executor does work PostgreSQL gives nodes of their own, and they
//!   are shown as such: a hash join's build side is a `Hash` node, a
//!   nested loop's materialised inner side a `Materialize`, the sort a
//!   WindowAgg does on its input a `Sort`, a locking scan `LockRows` over
//!   `Seq Scan`.
//! - `Unique` (DISTINCT, first row of each value by hashing) is a
//!   `HashAggregate`; `UniqueOn` (DISTINCT ON over sorted input) is
//!   `Unique`; UNION ALL is `Append`; UNION is `HashAggregate` over
//!   `Append`; INTERSECT and EXCEPT are `HashSetOp` over `Append` of
//!   `Subquery Scan on "*SELECT* n"`.
//!
//! Costs come from [`crate::sql::plan::costsize`]; with ANALYZE each node's
//! counters come from its `Instrument` wrapper (`exec::instrument`).

use std::collections::HashMap;

use super::deparse::{Deparser, agg_name, sort_key};
use crate::sql::adt::SessionFormat;
use crate::sql::analyze::{JoinKind, SetOpKind, WinFunc};
use crate::sql::catalog::RelationSource;
use crate::sql::exec::instrument::NodeInstr;
use crate::sql::exec::tuplesort::SortMethod;
use crate::sql::expr::{Expr, SubLinkKind};
use crate::sql::functions::{FuncKind, registry};
use crate::sql::plan::costsize::{self, Est};
use crate::sql::plan::{Plan, ScanLabel};
use crate::sql::types::Type;

/// A property of a node, as the formats print it.
#[derive(Clone, Debug)]
pub enum Prop {
    Text(String),
    List(Vec<String>),
    Bool(bool),
}

/// What a scan node reads (`ExplainScanTarget`).
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// "Relation Name", "Function Name" or "CTE Name" (None for a
    /// subquery or VALUES scan, which show their alias only).
    pub name_key: Option<&'static str>,
    pub name: String,
    pub schema: Option<String>,
    pub alias: String,
}

#[derive(Clone, Debug, Default)]
pub struct ExplNode {
    /// "Node Type" in the structured formats.
    pub node_type: &'static str,
    /// The text format's name (`HashAggregate`, `Hash Left Join`).
    pub text_name: String,
    /// Properties between "Node Type" and "Parent Relationship"
    /// (Strategy, Partial Mode, Operation).
    pub head: Vec<(&'static str, Prop)>,
    pub parent_relationship: Option<&'static str>,
    pub subplan_name: Option<String>,
    pub target: Option<Target>,
    /// "Join Type" (joins), "Command" (SetOp).
    pub kind_props: Vec<(&'static str, Prop)>,
    pub est: Est,
    pub actual: Option<NodeInstr>,
    /// VERBOSE's Output list.
    pub output: Vec<String>,
    pub props: Vec<(&'static str, Prop)>,
    /// A Filter's input rows (total), while the Filter's own counters are
    /// still to come from its Instrument wrapper.
    pub filter_input: Option<u64>,
    pub filters: Vec<String>,
    pub removed_by_filter: Option<u64>,
    /// ANALYZE of a Sort: method, space in kB, "Memory" or "Disk".
    pub sort_method: Option<(&'static str, u64, &'static str)>,
    pub children: Vec<ExplNode>,
}

impl ExplNode {
    fn new(node_type: &'static str, est: Est) -> ExplNode {
        ExplNode {
            node_type,
            text_name: node_type.to_string(),
            est,
            ..Default::default()
        }
    }

    fn with_child(mut self, mut c: ExplNode, rel: &'static str) -> ExplNode {
        c.parent_relationship = Some(rel);
        self.children.push(c);
        self
    }
}

/// A built node with the names and types of its output columns.
pub struct Built {
    pub node: ExplNode,
    /// How expressions above this node name its columns (qualified when
    /// the statement has several FROM items, or under VERBOSE).
    pub cols: Vec<String>,
    pub types: Vec<(Type, i32)>,
    /// For a scan: its columns as its own Filter names them (qualified
    /// only under VERBOSE) and as an Output list names them (qualified
    /// only with several FROM items), PostgreSQL's `show_scan_qual` and
    /// `show_plan_tlist` rules.
    pub scan_forms: Option<(Vec<String>, Vec<String>)>,
}

pub struct Builder<'a> {
    pub fmt: &'a SessionFormat,
    pub verbose: bool,
    /// Qualify column names with their relation (more than one FROM item
    /// in the statement, or VERBOSE).
    pub qualify: bool,
    /// More than one FROM item in the statement.
    pub multi: bool,
    /// The statement's expression subqueries and CTE plans, by index.
    pub subplans: &'a [Option<Plan>],
    pub instr: Option<&'a [NodeInstr]>,
    /// Relation sizes in pages, by relation oid.
    pub pages: &'a dyn Fn(&crate::sql::tables::TableDef) -> f64,
    pub initplan_params: HashMap<usize, usize>,
    pub exec_params: HashMap<usize, String>,
    /// An expression was too deep to print (see [`Deparser::too_deep`]).
    pub too_deep: std::cell::Cell<bool>,
    /// Subplans already shown (each once).
    shown: Vec<usize>,
    /// CTEs referenced: (subplan, name), shown under the top node.
    pub ctes: Vec<(usize, String)>,
    /// How many FROM items of each name have been shown: later ones are
    /// `name_1`, `name_2`... (`select_rtable_names_for_explain`).
    aliases: HashMap<String, usize>,
    pub costs: &'a costsize::CostSettings,
}

impl Built {
    fn plain(node: ExplNode, cols: Vec<String>, types: Vec<(Type, i32)>) -> Built {
        Built {
            node,
            cols,
            types,
            scan_forms: None,
        }
    }
}

impl<'a> Builder<'a> {
    pub fn new(
        fmt: &'a SessionFormat,
        verbose: bool,
        subplans: &'a [Option<Plan>],
        instr: Option<&'a [NodeInstr]>,
        pages: &'a dyn Fn(&crate::sql::tables::TableDef) -> f64,
        costs: &'a costsize::CostSettings,
        plans: &[&Plan],
    ) -> Builder<'a> {
        // InitPlan output parameters are numbered in subplan order, as
        // PostgreSQL numbers PARAM_EXEC slots as it plans them.
        let mut kinds: Vec<(usize, bool, bool)> = Vec::new();
        let mut labels = 0usize;
        // One copy of each plan to walk (the walkers take `&mut Plan`).
        let mut visit = |p: &Plan| {
            let mut p = p.clone();
            count_labels(&mut p, &mut labels);
            let _ = crate::sql::plan::clauses::walk_plan(&mut p, &mut |e: &mut Expr| {
                collect_sublinks(e, &mut kinds);
                Ok(())
            });
        };
        for p in plans {
            visit(p);
        }
        for p in subplans.iter().flatten() {
            visit(p);
        }
        kinds.sort();
        kinds.dedup();
        let mut initplan_params = HashMap::new();
        for (index, correlated, any) in &kinds {
            if !correlated && !any && !initplan_params.contains_key(index) {
                let n = initplan_params.len();
                initplan_params.insert(*index, n);
            }
        }
        Builder {
            fmt,
            verbose,
            qualify: verbose || labels > 1,
            multi: labels > 1,
            subplans,
            instr,
            pages,
            initplan_params,
            exec_params: HashMap::new(),
            too_deep: Default::default(),
            shown: Vec::new(),
            ctes: Vec::new(),
            aliases: HashMap::new(),
            costs,
        }
    }

    /// Takes FROM-item name `name` before the plan is built (an INSERT's
    /// target), so a scan of the same table is `name_1`.
    pub fn reserve_alias(&mut self, name: &str) {
        *self.aliases.entry(name.to_string()).or_insert(0) += 1;
    }

    fn deparser(&self) -> Deparser<'_> {
        Deparser {
            fmt: self.fmt,
            initplan_params: &self.initplan_params,
            exec_params: &self.exec_params,
            too_deep: &self.too_deep,
        }
    }

    fn expr(&self, e: &Expr, cols: &[String]) -> String {
        self.deparser().expr(e, cols)
    }

    /// Deparses expressions of a node over `cols`, noting the outer
    /// columns their correlated subqueries read; returns the texts and
    /// the subplans they reference.
    fn node_exprs(&mut self, exprs: &[&Expr], cols: &[String]) -> (Vec<String>, Vec<usize>) {
        self.node_exprs_with(exprs, cols, cols)
    }

    /// `node_exprs`, with the outer columns a subquery reads named as
    /// `param_cols` name them (qualified: they come from another level).
    fn node_exprs_with(
        &mut self,
        exprs: &[&Expr],
        cols: &[String],
        param_cols: &[String],
    ) -> (Vec<String>, Vec<usize>) {
        let mut subs = Vec::new();
        for e in exprs {
            collect_sublink_params(e, &mut |index, params| {
                subs.push(index);
                for (slot, pe) in params {
                    let text = self.deparser().expr(pe, param_cols);
                    self.exec_params.insert(*slot, text);
                }
            });
        }
        let texts = exprs.iter().map(|e| self.expr(e, cols)).collect();
        (texts, subs)
    }

    /// Adds the subplans `subs` (InitPlans first, SubPlans after the
    /// node's own children) to `node`.
    fn attach_subplans(&mut self, node: &mut ExplNode, subs: Vec<usize>) {
        let mut init = Vec::new();
        for index in subs {
            if self.shown.contains(&index) {
                continue;
            }
            self.shown.push(index);
            let Some(Some(plan)) = self.subplans.get(index) else {
                continue;
            };
            let mut b = self.build(plan);
            if let Some(p) = self.initplan_params.get(&index) {
                b.node.parent_relationship = Some("InitPlan");
                b.node.subplan_name = Some(format!("InitPlan {} (returns ${p})", index + 1));
                init.push(b.node);
            } else {
                b.node.parent_relationship = Some("SubPlan");
                b.node.subplan_name = Some(format!("SubPlan {}", index + 1));
                node.children.push(b.node);
            }
        }
        if !init.is_empty() {
            init.append(&mut node.children);
            node.children = init;
        }
    }

    /// The statement's top node. Output lists name columns as
    /// `show_plan_tlist` does, qualified only when the statement has
    /// several FROM items, where the other lines also qualify under
    /// VERBOSE: with VERBOSE and one FROM item the tree is built a second
    /// time unqualified for its Output lists.
    pub fn build_top(&mut self, plan: &Plan) -> ExplNode {
        let mut top = self.build_top_once(plan);
        if self.verbose && !self.multi {
            let mut plain = Builder {
                fmt: self.fmt,
                verbose: true,
                qualify: false,
                multi: false,
                subplans: self.subplans,
                instr: self.instr,
                pages: self.pages,
                initplan_params: self.initplan_params.clone(),
                exec_params: HashMap::new(),
                too_deep: Default::default(),
                shown: Vec::new(),
                ctes: Vec::new(),
                aliases: HashMap::new(),
                costs: self.costs,
            };
            let other = plain.build_top_once(plan);
            copy_outputs(&mut top, &other);
            self.too_deep
                .set(self.too_deep.get() || plain.too_deep.get());
        }
        top
    }

    fn build_top_once(&mut self, plan: &Plan) -> ExplNode {
        let mut b = self.build(plan);
        if self.verbose && b.node.output.is_empty() {
            b.node.output = match &b.scan_forms {
                Some((_, out)) => out.clone(),
                None => b.cols.clone(),
            };
        }
        let mut shown = Vec::new();
        let mut i = 0;
        while i < self.ctes.len() {
            let (index, name) = self.ctes[i].clone();
            i += 1;
            if shown.contains(&index) {
                continue;
            }
            shown.push(index);
            if let Some(Some(p)) = self.subplans.get(index) {
                let mut c = self.build(p).node;
                c.parent_relationship = Some("InitPlan");
                c.subplan_name = Some(format!("CTE {name}"));
                shown_cte_before(&mut b.node, c);
            }
        }
        b.node
    }

    fn column_names(&self, label: &ScanLabel, qualify: bool) -> Vec<String> {
        label
            .colnames
            .iter()
            .map(|c| {
                if qualify {
                    format!("{}.{}", quote_ident(&label.refname), quote_ident(c))
                } else {
                    quote_ident(c)
                }
            })
            .collect()
    }

    pub fn build(&mut self, plan: &Plan) -> Built {
        let c = self.costs;
        match plan {
            Plan::Instrument { id, input } => {
                let mut b = self.build(input);
                if let Some(instr) = self.instr {
                    let new = instr[*id].clone();
                    if let Some(before) = b.node.filter_input.take() {
                        b.node.removed_by_filter = Some(before.saturating_sub(new.ntuples));
                    }
                    b.node.sort_method = new.sort.map(|m| match m {
                        SortMethod::Quicksort { memory } => {
                            ("quicksort", (memory as u64).div_ceil(1024), "Memory")
                        }
                        SortMethod::ExternalMerge { disk } => {
                            ("external merge", disk.div_ceil(1024), "Disk")
                        }
                        SortMethod::TopN { memory } => {
                            ("top-N heapsort", (memory as u64).div_ceil(1024), "Memory")
                        }
                    });
                    // LockRows over its scan: one executor node, both counters.
                    if b.node.node_type == "LockRows" {
                        b.node.children[0].actual = Some(new.clone());
                    }
                    b.node.actual = Some(new);
                }
                b
            }
            Plan::Labeled { label, input } => self.build_labeled(label, input),
            Plan::Result => Built::plain(
                ExplNode::new("Result", costsize::result(c)),
                Vec::new(),
                Vec::new(),
            ),
            Plan::Project { input, exprs } => {
                let mut b = self.build(input);
                let refs: Vec<&Expr> = exprs.iter().collect();
                let (texts, subs) = self.node_exprs(&refs, &b.cols);
                b.types = exprs.iter().map(|e| (e.ty(), e.typmod())).collect();
                b.node.est.width = costsize::width(&b.types);
                if self.verbose {
                    b.node.output = match b.scan_forms.take() {
                        Some((_, out)) => exprs.iter().map(|e| self.expr(e, &out)).collect(),
                        None => texts.clone(),
                    };
                }
                b.scan_forms = None;
                b.cols = texts;
                self.attach_subplans(&mut b.node, subs);
                b
            }
            Plan::Filter { input, qual } => {
                let mut b = self.build(input);
                let cols = match &b.scan_forms {
                    Some((own, _)) => own.clone(),
                    None => b.cols.clone(),
                };
                let (texts, subs) = self.node_exprs_with(&[qual], &cols, &b.cols);
                let text = texts.into_iter().next().expect("one qual");
                let constant = !qual.any(&|x| matches!(x, Expr::Column { .. }));
                if constant && !(b.node.node_type == "Result" && b.node.children.is_empty()) {
                    // A qual of no column is tested once, before the input
                    // is read (`exec`'s Filter): PostgreSQL's gating Result.
                    let mut r = ExplNode::new("Result", b.node.est);
                    r.props.push(("One-Time Filter", Prop::Text(text)));
                    r.est = costsize::filter(b.node.est, qual, c);
                    r.actual = b.node.actual.clone();
                    r.filter_input = None;
                    let child = std::mem::take(&mut b.node);
                    b.node = r.with_child(child, "Outer");
                    b.scan_forms = None;
                    self.attach_subplans(&mut b.node, subs);
                    return b;
                }
                if constant {
                    b.node.props.push(("One-Time Filter", Prop::Text(text)));
                } else {
                    b.node.filters.push(text);
                    b.node.filter_input = b.node.actual.as_ref().map(|a| a.ntuples);
                }
                b.node.est = costsize::filter(b.node.est, qual, c);
                self.attach_subplans(&mut b.node, subs);
                b
            }
            Plan::SeqScan { .. }
            | Plan::IndexScan { .. }
            | Plan::LockingScan { .. }
            | Plan::FunctionScan { .. }
            | Plan::CteScan { .. }
            | Plan::WorkTableScan { .. }
            | Plan::ValuesScan { .. }
            | Plan::SubqueryScan { .. } => {
                let label = ScanLabel {
                    relname: String::new(),
                    refname: String::new(),
                    has_alias: false,
                    schema: None,
                    colnames: Vec::new(),
                };
                self.build_labeled(&label, plan)
            }
            Plan::RecursiveUnion { left, right, .. } => {
                let l = self.build(left);
                let r = self.build(right);
                let est = costsize::recursive_union(l.node.est, r.node.est);
                let node = ExplNode::new("Recursive Union", est)
                    .with_child(l.node, "Outer")
                    .with_child(r.node, "Inner");
                Built::plain(node, l.cols, l.types)
            }
            Plan::SetOp { kind, all, .. } => self.build_set_op(plan, *kind, *all),
            Plan::NestLoop {
                kind,
                left,
                right,
                qual,
                ..
            } => {
                let l = self.build(left);
                let r = self.build(right);
                let (cols, types) = joined(&l, &r);
                let mat = ExplNode::new("Materialize", costsize::materialize(r.node.est, c))
                    .with_child(r.node, "Outer");
                let est = costsize::nest_loop(l.node.est, mat.est, qual.as_ref(), *kind, &types, c);
                let node = join_node("Nested Loop", "Nested Loop", *kind, est)
                    .with_child(l.node, "Outer")
                    .with_child(copy_actual_from_child(mat), "Inner");
                self.finish_join(node, Vec::new(), qual.as_ref(), cols, types)
            }
            Plan::LateralLoop {
                kind,
                left,
                right,
                params,
                qual,
                ..
            } => {
                let l = self.build(left);
                for (slot, e) in params {
                    let text = self.expr(e, &l.cols);
                    self.exec_params.insert(*slot, text);
                }
                let r = self.build(right);
                let (cols, types) = joined(&l, &r);
                let est = costsize::lateral_loop(l.node.est, r.node.est, &types, c);
                let node = join_node("Nested Loop", "Nested Loop", *kind, est)
                    .with_child(l.node, "Outer")
                    .with_child(r.node, "Inner");
                self.finish_join(node, Vec::new(), qual.as_ref(), cols, types)
            }
            Plan::HashJoin {
                kind,
                left,
                right,
                left_keys,
                right_keys,
                qual,
                ..
            } => {
                let l = self.build(left);
                let r = self.build(right);
                let (cols, types) = joined(&l, &r);
                let conds: Vec<String> = left_keys
                    .iter()
                    .zip(right_keys)
                    .map(|(a, b)| {
                        format!("({} = {})", self.expr(a, &l.cols), self.expr(b, &r.cols))
                    })
                    .collect();
                let cond = if conds.len() == 1 {
                    conds[0].clone()
                } else {
                    format!("({})", conds.join(" AND "))
                };
                let hash = ExplNode::new("Hash", costsize::hash(r.node.est, c))
                    .with_child(r.node, "Outer");
                let est = costsize::hash_join(
                    l.node.est,
                    hash.est,
                    left_keys.len(),
                    qual.as_ref(),
                    *kind,
                    &types,
                    c,
                );
                let node = join_node("Hash Join", "Hash", *kind, est)
                    .with_child(l.node, "Outer")
                    .with_child(copy_actual_from_child(hash), "Inner");
                let props = vec![("Hash Cond", Prop::Text(cond))];
                self.finish_join(node, props, qual.as_ref(), cols, types)
            }
            Plan::Agg {
                input,
                group_by,
                grouping_sets,
                aggregates,
            } => {
                let b = self.build(input);
                let refs: Vec<&Expr> = group_by.iter().collect();
                let (keys, mut subs) = self.node_exprs(&refs, &b.cols);
                let mut agg_texts = Vec::new();
                for a in aggregates {
                    let mut exprs: Vec<&Expr> = a.args.iter().collect();
                    exprs.extend(a.filter.iter());
                    let (_, s) = self.node_exprs(&exprs, &b.cols);
                    subs.extend(s);
                    agg_texts.push(
                        if a.kind == crate::sql::functions::aggregates::AggKind::Grouping {
                            let args: Vec<String> = a
                                .grouping_refs
                                .iter()
                                .map(|i| col_name(&keys, *i))
                                .collect();
                            format!("GROUPING({})", args.join(", "))
                        } else {
                            self.deparser().aggref(a, &b.cols)
                        },
                    );
                }
                let mut types: Vec<(Type, i32)> =
                    group_by.iter().map(|e| (e.ty(), e.typmod())).collect();
                types.extend(aggregates.iter().map(|a| (a.ty, -1)));
                let (node_type, text, strategy) = match grouping_sets {
                    Some(sets) if sets.iter().any(|s| s.is_empty()) => {
                        ("Aggregate", "MixedAggregate", "Mixed")
                    }
                    Some(_) => ("Aggregate", "HashAggregate", "Hashed"),
                    None if group_by.is_empty() => ("Aggregate", "Aggregate", "Plain"),
                    None => ("Aggregate", "HashAggregate", "Hashed"),
                };
                let est = costsize::agg(
                    b.node.est,
                    group_by.len(),
                    grouping_sets.as_deref(),
                    aggregates.len(),
                    &types,
                    c,
                );
                let mut node = ExplNode::new(node_type, est);
                node.text_name = text.to_string();
                node.head.push(("Strategy", Prop::Text(strategy.into())));
                node.head
                    .push(("Partial Mode", Prop::Text("Simple".into())));
                match grouping_sets {
                    Some(sets) => {
                        let mut empty = false;
                        for s in sets {
                            if s.is_empty() {
                                empty = true;
                                continue;
                            }
                            let k: Vec<String> = s.iter().map(|i| col_name(&keys, *i)).collect();
                            node.props.push(("Hash Key", Prop::List(k)));
                        }
                        if empty {
                            node.props
                                .push(("Group Key", Prop::List(vec!["()".into()])));
                        }
                    }
                    None if !keys.is_empty() => {
                        node.props.push(("Group Key", Prop::List(keys.clone())));
                    }
                    None => {}
                }
                if self.verbose {
                    node.output = keys.iter().chain(&agg_texts).cloned().collect();
                }
                let node = node.with_child(b.node, "Outer");
                let mut node = node;
                self.attach_subplans(&mut node, subs);
                let cols = keys.into_iter().chain(agg_texts).collect();
                Built::plain(node, cols, types)
            }
            Plan::WindowAgg {
                input,
                partition,
                order,
                funcs,
                ..
            } => {
                let b = self.build(input);
                let mut sort_keys: Vec<String> =
                    partition.iter().map(|e| self.expr(e, &b.cols)).collect();
                for (e, desc, nf) in order {
                    sort_keys.push(sort_key(self.expr(e, &b.cols), *desc, *nf));
                }
                let mut names = Vec::new();
                let mut subs = Vec::new();
                for f in funcs {
                    let refs: Vec<&Expr> = f.args.iter().chain(f.filter.iter()).collect();
                    let (args, s) = self.node_exprs(&refs, &b.cols);
                    subs.extend(s);
                    let nargs = f.args.len();
                    let name = match f.func {
                        WinFunc::Builtin(k) => registry()
                            .funcs
                            .iter()
                            .find(|d| d.kind == FuncKind::Window(k))
                            .map_or("window", |d| d.name),
                        WinFunc::Agg(k) => agg_name(k),
                    };
                    let star = matches!(
                        f.func,
                        WinFunc::Agg(crate::sql::functions::aggregates::AggKind::CountStar)
                    );
                    let mut s = if star {
                        format!("{name}(*)")
                    } else {
                        format!("{name}({})", args[..nargs.min(args.len())].join(", "))
                    };
                    if f.filter.is_some() {
                        s.push_str(&format!(" FILTER (WHERE {})", col_name(&args, nargs)));
                    }
                    s.push_str(" OVER (?)");
                    names.push(s);
                }
                let mut types = b.types.clone();
                types.extend(funcs.iter().map(|f| (f.ty, -1)));
                let child = if sort_keys.is_empty() {
                    b.node
                } else {
                    let mut s = ExplNode::new("Sort", costsize::sort(b.node.est, c));
                    s.props.push(("Sort Key", Prop::List(sort_keys)));
                    copy_actual_from_child(s.with_child(b.node, "Outer"))
                };
                let est = costsize::window_agg(child.est, funcs.len(), &types, c);
                let mut node = ExplNode::new("WindowAgg", est).with_child(child, "Outer");
                let cols: Vec<String> = b.cols.iter().cloned().chain(names).collect();
                if self.verbose {
                    node.output = cols.clone();
                }
                self.attach_subplans(&mut node, subs);
                Built::plain(node, cols, types)
            }
            Plan::ProjectSet { input, calls } => {
                let b = self.build(input);
                let mut names = Vec::new();
                let mut subs = Vec::new();
                let mut rows = 1.0f64;
                for (func, args, _) in calls {
                    let refs: Vec<&Expr> = args.iter().collect();
                    let (a, s) = self.node_exprs(&refs, &b.cols);
                    subs.extend(s);
                    names.push(format!(
                        "{}({})",
                        registry().funcs[*func].name,
                        a.join(", ")
                    ));
                    rows = rows.max(costsize::srf_rows(*func, args));
                }
                let mut types = b.types.clone();
                types.extend(calls.iter().map(|(_, _, t)| (*t, -1)));
                let est = costsize::project_set(b.node.est, rows, &types, c);
                let mut node = ExplNode::new("ProjectSet", est).with_child(b.node, "Outer");
                let cols: Vec<String> = b.cols.iter().cloned().chain(names).collect();
                self.attach_subplans(&mut node, subs);
                Built::plain(node, cols, types)
            }
            Plan::Unique { input, ncols } => {
                let b = self.build(input);
                let keys: Vec<String> = (0..*ncols).map(|i| col_name(&b.cols, i)).collect();
                let est = costsize::agg(b.node.est, *ncols, None, 0, &b.types, c);
                let mut node = ExplNode::new("Aggregate", est);
                node.text_name = "HashAggregate".into();
                node.head.push(("Strategy", Prop::Text("Hashed".into())));
                node.head
                    .push(("Partial Mode", Prop::Text("Simple".into())));
                node.props.push(("Group Key", Prop::List(keys)));
                Built::plain(node.with_child(b.node, "Outer"), b.cols, b.types)
            }
            Plan::UniqueOn { input, .. } => {
                let b = self.build(input);
                let est = costsize::unique(b.node.est, c);
                Built::plain(
                    ExplNode::new("Unique", est).with_child(b.node, "Outer"),
                    b.cols,
                    b.types,
                )
            }
            Plan::Sort { input, keys } => {
                let b = self.build(input);
                let shown: Vec<String> = keys
                    .iter()
                    .map(|k| sort_key(col_name(&b.cols, k.column), k.descending, k.nulls_first))
                    .collect();
                let mut node = ExplNode::new("Sort", costsize::sort(b.node.est, c));
                node.props.push(("Sort Key", Prop::List(shown)));
                Built::plain(node.with_child(b.node, "Outer"), b.cols, b.types)
            }
            Plan::Limit {
                input,
                offset,
                count,
                ..
            } => {
                let b = self.build(input);
                let refs: Vec<&Expr> = offset.iter().chain(count.iter()).collect();
                let (_, subs) = self.node_exprs(&refs, &b.cols);
                let est = costsize::limit(b.node.est, offset.as_ref(), count.as_ref());
                let mut node = ExplNode::new("Limit", est).with_child(b.node, "Outer");
                self.attach_subplans(&mut node, subs);
                Built::plain(node, b.cols, b.types)
            }
        }
    }

    /// A scan of a FROM item, named by `label`.
    fn build_labeled(&mut self, label: &ScanLabel, input: &Plan) -> Built {
        let c = self.costs;
        let seen = self.aliases.entry(label.refname.clone()).or_insert(0);
        let unique = if *seen == 0 || label.refname.is_empty() {
            label.refname.clone()
        } else {
            format!("{}_{}", label.refname, seen)
        };
        *seen += 1;
        let renamed;
        let label = if unique != label.refname {
            renamed = ScanLabel {
                refname: unique,
                ..label.clone()
            };
            &renamed
        } else {
            label
        };
        let cols = self.column_names(label, self.qualify);
        let forms = (
            self.column_names(label, self.verbose),
            self.column_names(label, self.multi),
        );
        let alias = label.refname.clone();
        let schema = |s: &Option<String>| s.clone();
        match input {
            Plan::Instrument { id, input: inner } => {
                let mut b = self.build_labeled(label, inner);
                if let Some(instr) = self.instr {
                    b.node.actual = Some(instr[*id].clone());
                }
                b
            }
            Plan::SeqScan { relation } => {
                let types: Vec<(Type, i32)> =
                    relation.columns.iter().map(|c| (c.ty, c.typmod)).collect();
                let est = match &relation.source {
                    RelationSource::Table(t) => costsize::seq_scan((self.pages)(t), &types, c),
                    RelationSource::Memory(rows) => costsize::memory_scan(rows.len(), &types, c),
                };
                let mut node = ExplNode::new("Seq Scan", est);
                node.target = Some(Target {
                    name_key: Some("Relation Name"),
                    name: relation.name.clone(),
                    schema: schema(&label.schema),
                    alias,
                });
                self.scan_built(node, cols, types, &forms)
            }
            Plan::IndexScan { relation, path } => {
                let types: Vec<(Type, i32)> =
                    relation.columns.iter().map(|c| (c.ty, c.typmod)).collect();
                let unique_eq = match &relation.source {
                    RelationSource::Table(t) => {
                        t.indexes
                            .iter()
                            .any(|i| i.oid == path.index_oid && i.unique && i.keys.len() == 1)
                            && path.lower.as_ref().map(|l| &l.0).is_some()
                            && path.conds.len() == 1
                            && matches!(&path.lower, Some((_, true)))
                            && matches!(&path.upper, Some((_, true)))
                    }
                    RelationSource::Memory(_) => false,
                };
                let pages = match &relation.source {
                    RelationSource::Table(t) => (self.pages)(t),
                    RelationSource::Memory(_) => 1.0,
                };
                let est = costsize::index_scan(pages, &types, unique_eq, c);
                let mut node = ExplNode::new("Index Scan", est);
                node.text_name = format!(
                    "Index Scan using {}",
                    crate::sql::functions::string::quote_identifier(&path.index_name)
                );
                node.head
                    .push(("Scan Direction", Prop::Text("Forward".into())));
                node.head
                    .push(("Index Name", Prop::Text(path.index_name.clone())));
                node.target = Some(Target {
                    name_key: Some("Relation Name"),
                    name: relation.name.clone(),
                    schema: schema(&label.schema),
                    alias,
                });
                let conds: Vec<&Expr> = path.conds.iter().collect();
                let (texts, _) = self.node_exprs(&conds, &forms.0);
                let text = if texts.len() == 1 {
                    texts.into_iter().next().expect("one")
                } else {
                    format!("({})", texts.join(" AND "))
                };
                node.props.push(("Index Cond", Prop::Text(text)));
                self.scan_built(node, cols, types, &forms)
            }
            Plan::LockingScan { table, qual, .. } => {
                let types: Vec<(Type, i32)> = table
                    .columns
                    .iter()
                    .map(|c| (crate::sql::catalog::column_type(c.type_oid), c.typmod))
                    .collect();
                let mut scan = ExplNode::new(
                    "Seq Scan",
                    costsize::seq_scan((self.pages)(table), &types, c),
                );
                scan.target = Some(Target {
                    name_key: Some("Relation Name"),
                    name: table.name.clone(),
                    schema: Some(table.namespace.clone()),
                    alias,
                });
                if let Some(q) = qual {
                    scan.filters.push(self.expr(q, &forms.0));
                    scan.est = costsize::filter(scan.est, q, c);
                }
                let est = costsize::lock_rows(scan.est, c);
                let node = ExplNode::new("LockRows", est).with_child(scan, "Outer");
                self.scan_built(node, cols, types, &forms)
            }
            Plan::FunctionScan { functions, .. } => {
                let mut types = Vec::new();
                let mut rows = 1.0f64;
                let mut subs = Vec::new();
                for f in functions {
                    let refs: Vec<&Expr> = f.args.iter().collect();
                    let (_, s) = self.node_exprs(&refs, &[]);
                    subs.extend(s);
                    rows = rows.max(costsize::srf_rows(f.func, &f.args));
                }
                for _ in 0..label.colnames.len() {
                    types.push((Type::Int4, -1));
                }
                for (i, f) in functions.iter().enumerate() {
                    if i < types.len() && f.ncols == 1 {
                        types[i] = (f.ty, -1);
                    }
                }
                let est = costsize::function_scan(rows, &types, c);
                let mut node = ExplNode::new("Function Scan", est);
                let name = if functions.len() == 1 {
                    registry().funcs[functions[0].func].name.to_string()
                } else {
                    String::new()
                };
                node.target = Some(Target {
                    name_key: (functions.len() == 1).then_some("Function Name"),
                    name,
                    schema: Some("pg_catalog".into()),
                    alias,
                });
                self.attach_subplans(&mut node, subs);
                self.scan_built(node, cols, types, &forms)
            }
            Plan::CteScan { subplan } => {
                let sub = self.subplans.get(*subplan).and_then(|p| p.as_ref());
                let sub_est = sub.map(|p| {
                    let mut inner = Builder::new(
                        self.fmt,
                        false,
                        self.subplans,
                        None,
                        self.pages,
                        self.costs,
                        &[],
                    );
                    inner.qualify = self.qualify;
                    let b = inner.build(p);
                    (b.node.est, b.types)
                });
                let (est, types) = sub_est.unwrap_or_default();
                self.ctes.push((*subplan, label.relname.clone()));
                let mut node = ExplNode::new("CTE Scan", costsize::cte_scan(est, c));
                node.target = Some(Target {
                    name_key: Some("CTE Name"),
                    name: label.relname.clone(),
                    schema: None,
                    alias,
                });
                self.scan_built(node, cols, types, &forms)
            }
            Plan::WorkTableScan { .. } => {
                let types = vec![(Type::Int4, -1); label.colnames.len()];
                let mut node = ExplNode::new("WorkTable Scan", costsize::worktable_scan(&types, c));
                node.target = Some(Target {
                    name_key: Some("CTE Name"),
                    name: label.relname.clone(),
                    schema: None,
                    alias,
                });
                self.scan_built(node, cols, types, &forms)
            }
            Plan::ValuesScan { rows } => {
                let types: Vec<(Type, i32)> = rows
                    .first()
                    .map(|r| r.iter().map(|e| (e.ty(), e.typmod())).collect())
                    .unwrap_or_default();
                let mut subs = Vec::new();
                for r in rows {
                    let refs: Vec<&Expr> = r.iter().collect();
                    subs.extend(self.node_exprs(&refs, &[]).1);
                }
                let est = costsize::values_scan(rows.len(), &types, c);
                let mut node = ExplNode::new("Values Scan", est);
                node.target = Some(Target {
                    name_key: None,
                    name: String::new(),
                    schema: None,
                    alias: "*VALUES*".into(),
                });
                // A VALUES list's own columns are column1, column2...
                // whatever the FROM item's alias calls them.
                let named = |qualify: bool| -> Vec<String> {
                    (1..=label.colnames.len())
                        .map(|i| {
                            if qualify {
                                format!("\"*VALUES*\".column{i}")
                            } else {
                                format!("column{i}")
                            }
                        })
                        .collect()
                };
                let forms = (named(self.verbose), named(self.multi));
                let cols = named(self.qualify);
                self.attach_subplans(&mut node, subs);
                self.scan_built(node, cols, types, &forms)
            }
            Plan::SubqueryScan { subplan } => {
                // Runs as its subquery: no node of its own.
                let b = self.build(subplan);
                Built {
                    node: b.node,
                    cols,
                    types: b.types,
                    scan_forms: Some(forms.clone()),
                }
            }
            other => {
                let b = self.build(other);
                Built {
                    node: b.node,
                    cols,
                    types: b.types,
                    scan_forms: Some(forms.clone()),
                }
            }
        }
    }

    /// A join node with its conditions (`props`), the rest of its qual as
    /// `Join Filter`, and the subplans the filter reads.
    fn finish_join(
        &mut self,
        mut node: ExplNode,
        mut props: Vec<(&'static str, Prop)>,
        qual: Option<&Expr>,
        cols: Vec<String>,
        types: Vec<(Type, i32)>,
    ) -> Built {
        let mut subs = Vec::new();
        if let Some(q) = qual {
            let (t, s) = self.node_exprs(&[q], &cols);
            props.push(("Join Filter", Prop::Text(t.concat())));
            subs = s;
        }
        node.props.extend(props);
        self.attach_subplans(&mut node, subs);
        Built::plain(node, cols, types)
    }

    /// A scan's result: VERBOSE's Output names its columns by
    /// `show_plan_tlist`'s rule, its Filter by `show_scan_qual`'s.
    fn scan_built(
        &self,
        mut node: ExplNode,
        cols: Vec<String>,
        types: Vec<(Type, i32)>,
        forms: &(Vec<String>, Vec<String>),
    ) -> Built {
        if self.verbose {
            node.output = forms.1.clone();
        }
        Built {
            node,
            cols,
            types,
            scan_forms: Some(forms.clone()),
        }
    }

    fn build_set_op(&mut self, plan: &Plan, kind: SetOpKind, all: bool) -> Built {
        let c = self.costs;
        // UNION [ALL] flattens into one Append of every input of the same
        // operation, as PostgreSQL's `recurse_union_children` does.
        let mut leaves = Vec::new();
        if kind == SetOpKind::Union {
            flatten_union(plan, all, &mut leaves);
        } else if let Plan::SetOp { left, right, .. } = plan {
            leaves.push(&**left);
            leaves.push(&**right);
        }
        let mut members = Vec::new();
        let mut first: Option<Built> = None;
        for (i, leaf) in leaves.into_iter().enumerate() {
            let b = self.build(leaf);
            let node = if kind == SetOpKind::Union {
                b.node.clone()
            } else {
                let mut s = ExplNode::new("Subquery Scan", b.node.est);
                s.target = Some(Target {
                    name_key: None,
                    name: String::new(),
                    schema: None,
                    alias: format!("*SELECT* {}", i + 1),
                });
                copy_actual_from_child(s.with_child(b.node.clone(), "Subquery"))
            };
            members.push(node);
            if first.is_none() {
                first = Some(b);
            }
        }
        let first = first.expect("a set operation has inputs");
        let ests: Vec<Est> = members.iter().map(|m| m.est).collect();
        let mut append = ExplNode::new("Append", costsize::append(&ests));
        // Under INTERSECT/EXCEPT and UNION the Append is the set
        // operation's reading of its inputs: their counters, summed.
        if self.instr.is_some() {
            let mut sum = NodeInstr::default();
            for m in &members {
                if let Some(a) = &m.actual {
                    sum.nloops = sum.nloops.max(a.nloops);
                    sum.ntuples += a.ntuples;
                    sum.total += a.total;
                    if sum.startup.is_zero() {
                        sum.startup = a.startup;
                    }
                    for i in 0..6 {
                        sum.buffers[i] += a.buffers[i];
                    }
                    for i in 0..3 {
                        sum.wal[i] += a.wal[i];
                    }
                }
            }
            append.actual = Some(sum);
        }
        for m in members {
            append = append.with_child(m, "Member");
        }
        let node = match (kind, all) {
            (SetOpKind::Union, true) => append,
            (SetOpKind::Union, false) => {
                let mut n = ExplNode::new(
                    "Aggregate",
                    costsize::agg(append.est, first.cols.len(), None, 0, &first.types, c),
                );
                n.text_name = "HashAggregate".into();
                n.head.push(("Strategy", Prop::Text("Hashed".into())));
                n.head.push(("Partial Mode", Prop::Text("Simple".into())));
                n.props.push(("Group Key", Prop::List(first.cols.clone())));
                n.with_child(append, "Outer")
            }
            (k, all) => {
                let command = match (k, all) {
                    (SetOpKind::Intersect, false) => "Intersect",
                    (SetOpKind::Intersect, true) => "Intersect All",
                    (_, false) => "Except",
                    (_, true) => "Except All",
                };
                let mut n = ExplNode::new("SetOp", costsize::set_op(append.est, c));
                n.text_name = format!("HashSetOp {command}");
                n.head.push(("Strategy", Prop::Text("Hashed".into())));
                n.kind_props.push(("Command", Prop::Text(command.into())));
                n.with_child(append, "Outer")
            }
        };
        Built::plain(node, first.cols, first.types)
    }
}

/// A join's output: the left input's columns, then the right's.
fn joined(l: &Built, r: &Built) -> (Vec<String>, Vec<(Type, i32)>) {
    (
        l.cols.iter().chain(&r.cols).cloned().collect(),
        l.types.iter().chain(&r.types).copied().collect(),
    )
}

fn flatten_union<'p>(plan: &'p Plan, all: bool, out: &mut Vec<&'p Plan>) {
    match plan {
        Plan::SetOp {
            kind: SetOpKind::Union,
            all: a,
            left,
            right,
        } if *a == all => {
            flatten_union(left, all, out);
            flatten_union(right, all, out);
        }
        Plan::Instrument { input, .. } if matches!(&**input, Plan::SetOp { kind: SetOpKind::Union, all: a, .. } if *a == all) => {
            flatten_union(input, all, out)
        }
        other => out.push(other),
    }
}

fn join_node(node_type: &'static str, text: &str, kind: JoinKind, est: Est) -> ExplNode {
    let (jt, shown) = match kind {
        JoinKind::Inner => ("Inner", String::new()),
        JoinKind::Left => ("Left", " Left".into()),
        JoinKind::Right => ("Right", " Right".into()),
        JoinKind::Full => ("Full", " Full".into()),
    };
    let mut n = ExplNode::new(node_type, est);
    n.text_name = if node_type == "Hash Join" {
        format!("{text}{shown} Join")
    } else if shown.is_empty() {
        text.to_string()
    } else {
        format!("{text}{shown} Join")
    };
    n.kind_props.push(("Join Type", Prop::Text(jt.into())));
    n.props.push(("Inner Unique", Prop::Bool(false)));
    n
}

/// A node the executor does not have on its own (Hash, Materialize, a
/// WindowAgg's Sort): its counters are its input's.
fn copy_actual_from_child(mut n: ExplNode) -> ExplNode {
    if let Some(c) = n.children.last() {
        n.actual = c.actual.clone();
    }
    n
}

/// Column `i` of a node's output as expressions above it name it.
fn col_name(cols: &[String], i: usize) -> String {
    cols.get(i)
        .cloned()
        .unwrap_or_else(|| format!("column{}", i + 1))
}

/// Takes the Output lists of `src`, a tree of the same shape.
fn copy_outputs(dst: &mut ExplNode, src: &ExplNode) {
    dst.output = src.output.clone();
    for (d, s) in dst.children.iter_mut().zip(&src.children) {
        copy_outputs(d, s);
    }
}

/// Puts a CTE's plan among the top node's InitPlans, before its children.
fn shown_cte_before(top: &mut ExplNode, cte: ExplNode) {
    let at = top
        .children
        .iter()
        .position(|c| c.parent_relationship != Some("InitPlan"))
        .unwrap_or(top.children.len());
    top.children.insert(at, cte);
}

/// `quote_identifier`: lower-case names of letters, digits and `_` that
/// are not keywords are bare, anything else in double quotes.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_reserved(s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

fn is_reserved(s: &str) -> bool {
    matches!(
        s,
        "all"
            | "and"
            | "any"
            | "array"
            | "as"
            | "asc"
            | "case"
            | "cast"
            | "check"
            | "collate"
            | "column"
            | "constraint"
            | "create"
            | "default"
            | "desc"
            | "distinct"
            | "do"
            | "else"
            | "end"
            | "except"
            | "false"
            | "for"
            | "foreign"
            | "from"
            | "grant"
            | "group"
            | "having"
            | "in"
            | "intersect"
            | "into"
            | "limit"
            | "not"
            | "null"
            | "offset"
            | "on"
            | "only"
            | "or"
            | "order"
            | "primary"
            | "references"
            | "select"
            | "table"
            | "then"
            | "to"
            | "true"
            | "union"
            | "unique"
            | "user"
            | "using"
            | "when"
            | "where"
            | "window"
            | "with"
    )
}

fn count_labels(p: &mut Plan, n: &mut usize) {
    if let Plan::Labeled { .. } = p {
        *n += 1;
    }
    for c in p.children_mut() {
        count_labels(c, n);
    }
}

/// (subplan, correlated, hashed ANY) of every SubLink in `e`.
fn collect_sublinks(e: &Expr, out: &mut Vec<(usize, bool, bool)>) {
    if let Expr::SubLink {
        index,
        kind,
        correlated,
        ..
    } = e
    {
        out.push((*index, *correlated, matches!(kind, SubLinkKind::Any { .. })));
    }
    e.for_each_child(&mut |c| collect_sublinks(c, out));
}

fn collect_sublink_params(e: &Expr, f: &mut dyn FnMut(usize, &[(usize, Expr)])) {
    if let Expr::SubLink { index, params, .. } = e {
        f(*index, params);
    }
    e.for_each_child(&mut |c| collect_sublink_params(c, f));
}
