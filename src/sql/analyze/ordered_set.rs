//! `agg(direct args) WITHIN GROUP (ORDER BY ...)`: ordered-set and
//! hypothetical-set aggregate calls (PostgreSQL's `ParseFuncOrColumn` for
//! `agg_within_group`, `unify_hypothetical_args`).
//!
//! The function resolves over the direct arguments followed by the
//! ordering columns, as `pg_proc` declares these aggregates. The ordering
//! columns become the aggregate's `args` and `order` (the aggregation
//! sorts them as for any aggregate ORDER BY); the direct arguments stay
//! apart and are later rewritten over the group key columns, since they
//! are evaluated once per group.

use pg_query::protobuf as pb;

use super::super::expr::{Expr, Loc};
use super::super::functions::{AggKind, FuncId, FuncKind, registry};
use super::super::types::Type;
use super::{Aggref, Analyzer, Scope};
use crate::utils::elog::{PgResult, sqlstate};

impl Analyzer<'_> {
    /// `args` are the direct arguments then the ordering columns, `spec`
    /// each ordering column's (descending, nulls first), `locs` every
    /// argument's position.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transform_ordered_set_call(
        &mut self,
        scope: &mut Scope,
        f: &pb::FuncCall,
        id: FuncId,
        mut args: Vec<Expr>,
        direct: usize,
        spec: Vec<(bool, bool)>,
        locs: &[Option<usize>],
        srfs_before: usize,
    ) -> PgResult<Expr> {
        let l = (f.location >= 0).then_some(f.location as usize);
        let def = registry().get(id);
        let name = def.name;
        let shown_sig = || {
            args.iter()
                .map(|a| a.ty().name().into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = match def.kind {
            FuncKind::Aggregate(AggKind::OrderedSet(k)) => k,
            FuncKind::Aggregate(_) => {
                return Err(self.error(
                    "42809",
                    format!(
                        "{name} is not an ordered-set aggregate, so it cannot have WITHIN GROUP"
                    ),
                    l,
                ));
            }
            _ => {
                return Err(self.error(
                    "42809",
                    format!("WITHIN GROUP specified, but {name} is not an aggregate function"),
                    l,
                ));
            }
        };
        let ordered = args.len() - direct;
        let wanted = kind.direct_args(args.len());
        let hint = if kind.hypothetical() && direct != ordered {
            Some(format!(
                "To use the hypothetical-set aggregate {name}, the number of hypothetical direct arguments (here {direct}) must match the number of ordering columns (here {ordered})."
            ))
        } else if wanted != direct {
            Some(format!(
                "There is an ordered-set aggregate {name}, but it requires {wanted} direct arguments, not {direct}."
            ))
        } else {
            None
        };
        if let Some(hint) = hint {
            return Err(self
                .error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {name}({}) does not exist", shown_sig()),
                    l,
                )
                .with_hint(hint));
        }
        if f.over.is_some() {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("OVER is not supported for ordered-set aggregate {name}"),
                l,
            ));
        }
        self.check_aggregate_placement(scope, "aggregate functions", l)?;
        if scope.in_agg {
            return Err(self.error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
                l,
            ));
        }
        if let Some(w) = args.iter().find_map(super::window::first_window_func) {
            return Err(self.error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot contain window function calls",
                scope.winfuncs[w].loc.0,
            ));
        }
        if kind.hypothetical() {
            // unify_hypothetical_args: each direct argument and its
            // ordering column take their common type.
            let mut rest = args.split_off(direct);
            for i in 0..direct {
                // PostgreSQL lists the ordering column first.
                let pair = vec![rest[i].clone(), args[i].clone()];
                let (mut pair, _) =
                    self.coerce_to_common(pair, &[locs[direct + i], locs[i]], "WITHIN GROUP")?;
                args[i] = pair.pop().expect("two coerced");
                rest[i] = pair.pop().expect("two coerced");
            }
            args.extend(rest);
        }
        let Expr::Func {
            mut args,
            arg_types,
            ty,
            ..
        } = self.finish_call(id, args)?
        else {
            unreachable!("finish_call builds a call")
        };
        let aggregated = args.split_off(direct);
        scope.in_agg = true;
        let filter = self.finish_aggregate_call(scope, f, &aggregated, srfs_before, l);
        scope.in_agg = false;
        let filter = filter?;
        let order = aggregated
            .iter()
            .cloned()
            .zip(spec)
            .map(|(e, (desc, nulls_first))| (e, desc, nulls_first))
            .collect();
        let ty = if ty == Type::Unknown { Type::Text } else { ty };
        scope.aggs.push(Aggref {
            kind: AggKind::OrderedSet(kind),
            arg_types: arg_types[direct..].to_vec(),
            args: aggregated,
            ty,
            distinct: false,
            order,
            filter,
            loc: Loc(l),
            grouping_refs: Vec::new(),
            direct_args: args,
        });
        Ok(Expr::Agg {
            index: scope.aggs.len() - 1,
            ty,
        })
    }
}
