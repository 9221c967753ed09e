//! `GROUPING SETS`, `ROLLUP`, `CUBE` and `GROUPING()` (PostgreSQL's
//! `transformGroupClause` with `expand_grouping_sets` in `parse_agg.c`).
//!
//! A GROUP BY clause with grouping sets becomes the list of its distinct
//! grouping expressions ([`super::Query::group_by`]) plus the sets, each a
//! list of indexes into it ([`super::Query::grouping_sets`]): the
//! cartesian product of the top-level items, where an expression is one
//! set of itself, `ROLLUP (a, b)` is `(a, b), (a), ()`, `CUBE (a, b)` every
//! subset in PostgreSQL's order (`(), (a), (b), (a, b)`) and `GROUPING SETS
//! (...)` the concatenation of its items' sets. The aggregation then runs
//! once per set, with the grouping columns outside the set NULL.
//! `GROUPING(a, b)` is a pseudo-aggregate ([`AggKind::Grouping`]) whose
//! value in each output row has a bit set, from the right, for each
//! argument not grouped by that row's set.

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::{Analyzer, Scope, TargetEntry};
use crate::sql::expr::Expr;
use crate::utils::elog::{PgResult, sqlstate};

/// PostgreSQL's limit on the number of expanded grouping sets.
const MAX_GROUPING_SETS: usize = 4096;

impl Analyzer<'_> {
    /// The sets of one GROUP BY item (indexes into `group_by`, which gains
    /// the item's expressions).
    pub(super) fn expand_group_item(
        &mut self,
        scope: &mut Scope,
        targets: &mut Vec<TargetEntry>,
        node: &NodeEnum,
        group_by: &mut Vec<Expr>,
        top: bool,
    ) -> PgResult<Vec<Vec<usize>>> {
        use pb::GroupingSetKind as K;
        // Grouping sets nest as deep as the client writes them.
        crate::utils::stack::check_stack_depth()?;
        let NodeEnum::GroupingSet(gs) = node else {
            // An expression, or `(a, b)` inside a grouping set: one set.
            if !top
                && let NodeEnum::RowExpr(r) = node
                && r.row_format == pb::CoercionForm::CoerceImplicitCast as i32
            {
                let mut set = Vec::new();
                for a in &r.args {
                    let n = a.node.as_ref().expect("row field");
                    set.push(self.group_expr_index(scope, targets, n, group_by)?);
                }
                return Ok(vec![set]);
            }
            return Ok(vec![vec![
                self.group_expr_index(scope, targets, node, group_by)?,
            ]]);
        };
        let kind = K::try_from(gs.kind).unwrap_or(K::GroupingSetEmpty);
        let mut units = Vec::with_capacity(gs.content.len());
        if matches!(
            kind,
            K::GroupingSetSimple | K::GroupingSetRollup | K::GroupingSetCube
        ) {
            for c in &gs.content {
                let n = c.node.as_ref().expect("grouping set item");
                let sets = self.expand_group_item(scope, targets, n, group_by, false)?;
                units.push(sets.into_iter().flatten().collect::<Vec<usize>>());
            }
        }
        Ok(match kind {
            K::GroupingSetSimple => vec![units.concat()],
            K::GroupingSetRollup => (0..=units.len())
                .rev()
                .map(|k| units[..k].concat())
                .collect(),
            K::GroupingSetCube => {
                if units.len() > 12 {
                    return Err(self.error(
                        sqlstate::PROGRAM_LIMIT_EXCEEDED,
                        "CUBE is limited to 12 elements",
                        (gs.location >= 0).then_some(gs.location as usize),
                    ));
                }
                (0u32..1 << units.len())
                    .map(|mask| {
                        (0..units.len())
                            .filter(|b| mask & (1 << b) != 0)
                            .flat_map(|b| units[b].iter().copied())
                            .collect()
                    })
                    .collect()
            }
            K::GroupingSetSets => {
                let mut out = Vec::new();
                for c in &gs.content {
                    let n = c.node.as_ref().expect("grouping set item");
                    out.extend(self.expand_group_item(scope, targets, n, group_by, false)?);
                }
                out
            }
            _ => vec![Vec::new()],
        })
    }

    fn group_expr_index(
        &mut self,
        scope: &mut Scope,
        targets: &mut Vec<TargetEntry>,
        node: &NodeEnum,
        group_by: &mut Vec<Expr>,
    ) -> PgResult<usize> {
        let idx = self.find_target(scope, targets, node, false)?;
        let e = targets[idx].expr.clone();
        if e.any(&|x| matches!(x, Expr::Agg { .. })) {
            return Err(self.error(
                sqlstate::GROUPING_ERROR,
                "aggregate functions are not allowed in GROUP BY",
                super::names::raw_location(node),
            ));
        }
        Ok(match group_by.iter().position(|g| *g == e) {
            Some(i) => i,
            None => {
                group_by.push(e);
                group_by.len() - 1
            }
        })
    }

    /// The cartesian product of the top-level items' sets (each set
    /// sorted, without repeats), without repeated sets for `GROUP BY
    /// DISTINCT`.
    pub(super) fn combine_grouping_sets(
        &self,
        items: Vec<Vec<Vec<usize>>>,
        distinct: bool,
    ) -> PgResult<Vec<Vec<usize>>> {
        let mut acc: Vec<Vec<usize>> = vec![Vec::new()];
        for item in items {
            if acc.len().saturating_mul(item.len()) > MAX_GROUPING_SETS {
                return Err(self.error(
                    sqlstate::STATEMENT_TOO_COMPLEX,
                    "too many grouping sets present (maximum 4096)",
                    None,
                ));
            }
            let mut next = Vec::with_capacity(acc.len() * item.len());
            for a in &acc {
                for s in &item {
                    let mut set = a.clone();
                    set.extend(s.iter().copied());
                    next.push(set);
                }
            }
            acc = next;
        }
        for s in &mut acc {
            s.sort_unstable();
            s.dedup();
        }
        if distinct {
            let mut seen = Vec::new();
            acc.retain(|s| {
                if seen.contains(s) {
                    false
                } else {
                    seen.push(s.clone());
                    true
                }
            });
        }
        Ok(acc)
    }

    /// `GROUPING(a, ...)`: a pseudo-aggregate over the grouping
    /// expressions it names.
    pub(super) fn transform_grouping_func(
        &mut self,
        scope: &mut Scope,
        g: &pb::GroupingFunc,
    ) -> PgResult<Expr> {
        let l = (g.location >= 0).then_some(g.location as usize);
        self.check_aggregate_placement(scope, "grouping operations", l)?;
        if g.args.len() > 31 {
            return Err(self.error(
                sqlstate::TOO_MANY_ARGUMENTS,
                "GROUPING must have fewer than 32 arguments",
                l,
            ));
        }
        let mut args = Vec::with_capacity(g.args.len());
        for a in &g.args {
            let n = a.node.as_ref().expect("GROUPING argument");
            args.push(self.transform_expr(scope, n)?);
        }
        // GROUPING over an outer query's columns belongs to that query
        // (agglevelsup), which is not supported yet, as for aggregates.
        if args
            .iter()
            .any(|a| a.any(&|x| matches!(x, Expr::ExecParam { .. })))
        {
            return Err(self.unsupported("GROUPING over columns of an outer query", l));
        }
        scope.aggs.push(super::Aggref {
            kind: crate::sql::functions::AggKind::Grouping,
            arg_types: Vec::new(),
            args,
            ty: crate::sql::types::Type::Int4,
            distinct: false,
            order: Vec::new(),
            filter: None,
            loc: crate::sql::expr::Loc(l),
            grouping_refs: Vec::new(),
            direct_args: Vec::new(),
        });
        Ok(Expr::Agg {
            index: scope.aggs.len() - 1,
            ty: crate::sql::types::Type::Int4,
        })
    }

    /// Each `GROUPING(...)`'s arguments as indexes into `group_by`
    /// (PostgreSQL's `check_agglevels_and_constraints` for grouping
    /// functions): an argument must be one of the grouping expressions.
    pub(super) fn resolve_grouping_funcs(
        &self,
        aggs: &mut [super::Aggref],
        group_by: &[Expr],
    ) -> PgResult<()> {
        for a in aggs
            .iter_mut()
            .filter(|a| a.kind == crate::sql::functions::AggKind::Grouping)
        {
            for arg in std::mem::take(&mut a.args) {
                match group_by.iter().position(|g| *g == arg) {
                    Some(i) => a.grouping_refs.push(i),
                    None => {
                        return Err(self.error(
                            sqlstate::GROUPING_ERROR,
                            "arguments to GROUPING must be grouping expressions of the associated query level",
                            match &arg {
                                Expr::Column { loc, .. } => loc.0,
                                _ => a.loc.0,
                            },
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
