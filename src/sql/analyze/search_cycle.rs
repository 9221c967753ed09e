//! `SEARCH { DEPTH | BREADTH } FIRST BY ... SET seq` and `CYCLE ... SET
//! mark [TO v DEFAULT d] USING path` of a recursive WITH query
//! (PostgreSQL's `rewriteSearchAndCycle`), as a rewrite of the analysed
//! non-recursive and recursive terms:
//!
//! - the CTE (and its work table, so the recursive term sees them) gains
//!   the columns `seq`, `mark`, `path`, after its own;
//! - the non-recursive term outputs `ARRAY[ROW(cols)]` (depth first) or
//!   `ROW(0::int8, cols)` (breadth first) as `seq`, `d` as `mark`,
//!   `ARRAY[ROW(cycle cols)]` as `path`;
//! - the recursive term outputs `wt.seq || ROW(new cols)` or
//!   `ROW((wt.seq).depth + 1, new cols)`, `CASE WHEN ROW(new cycle cols) =
//!   ANY (wt.path) THEN v ELSE d END`, `wt.path || ROW(new cycle cols)`,
//!   and reads only work-table rows with `wt.mark <> v`, which is what
//!   stops the recursion at a cycle.
//!
//! "new cols" are the recursive term's own output expressions for those
//! columns; `wt` is its reference to the work table, which must be at the
//! top level of its FROM clause.

use pg_query::protobuf as pb;

use super::super::catalog::ColumnDef;
use super::super::expr::{ArrayExpr, Expr, Loc};
use super::super::types::{Datum, Type};
use super::{Analyzer, ExprKind, FromTree, Query, RteSource, Scope, TargetEntry, node_of};
use crate::utils::elog::{PgResult, sqlstate};

/// A CTE's SEARCH and CYCLE clauses.
#[derive(Clone, Debug, Default)]
pub(super) struct SearchCycle {
    pub search: Option<pb::CteSearchClause>,
    pub cycle: Option<pb::CteCycleClause>,
}

/// The clauses with the mark values analysed and the added columns known.
pub(super) struct Prepared {
    clauses: SearchCycle,
    /// CYCLE's TO and DEFAULT values, of the mark column's type.
    mark_value: Option<(Expr, Expr)>,
    /// The columns added after the CTE's own.
    pub extra: Vec<ColumnDef>,
}

fn loc(l: i32) -> Option<usize> {
    (l >= 0).then_some(l as usize)
}

fn names(list: &[pg_query::Node]) -> Vec<String> {
    list.iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(pg_query::NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

fn record_array() -> Type {
    Type::Record.array().expect("record[] is a built-in type")
}

impl Analyzer<'_> {
    /// The added columns' names and types, before the recursive term is
    /// analysed (it sees them in the work table).
    pub(super) fn prepare_search_cycle(&mut self, sc: &SearchCycle) -> PgResult<Prepared> {
        let mut extra = Vec::new();
        if let Some(s) = &sc.search {
            extra.push(ColumnDef {
                name: s.search_seq_column.clone(),
                ty: if s.search_breadth_first {
                    Type::Record
                } else {
                    record_array()
                },
                typmod: -1,
            });
        }
        let mut mark_value = None;
        if let Some(c) = &sc.cycle {
            let mut scope = Scope::new(ExprKind::SelectTarget);
            let constant = |this: &mut Self,
                            scope: &mut Scope,
                            n: &Option<Box<pg_query::Node>>,
                            dflt: bool| {
                match node_of(n) {
                    Some(n) => this.transform_expr(scope, n),
                    None => Ok(Expr::Const {
                        value: Datum::Bool(dflt),
                        ty: Type::Bool,
                        typmod: -1,
                        loc: Loc(None),
                    }),
                }
            };
            let v = constant(self, &mut scope, &c.cycle_mark_value, true)?;
            let d = constant(self, &mut scope, &c.cycle_mark_default, false)?;
            let locs = [
                node_of(&c.cycle_mark_value).and_then(super::raw_location),
                node_of(&c.cycle_mark_default).and_then(super::raw_location),
            ];
            let (mut vd, ty) = self.coerce_to_common(vec![v, d], &locs, "CYCLE")?;
            let d = vd.pop().expect("two values");
            let v = vd.pop().expect("two values");
            extra.push(ColumnDef {
                name: c.cycle_mark_column.clone(),
                ty,
                typmod: -1,
            });
            extra.push(ColumnDef {
                name: c.cycle_path_column.clone(),
                ty: record_array(),
                typmod: -1,
            });
            mark_value = Some((v, d));
        }
        Ok(Prepared {
            clauses: sc.clone(),
            mark_value,
            extra,
        })
    }

    /// The indexes of a SEARCH or CYCLE clause's columns (`what`) in the
    /// CTE's column list, each named once.
    fn clause_columns(
        &self,
        what: &str,
        list: &[pg_query::Node],
        columns: &[ColumnDef],
        l: Option<usize>,
    ) -> PgResult<Vec<usize>> {
        let mut out = Vec::new();
        for n in names(list) {
            let Some(i) = columns.iter().position(|c| c.name == n) else {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    format!("{what} column \"{n}\" not in WITH query column list"),
                    l,
                ));
            };
            if out.contains(&i) {
                return Err(self.error(
                    "42701",
                    format!("{what} column \"{n}\" specified more than once"),
                    l,
                ));
            }
            out.push(i);
        }
        Ok(out)
    }

    /// `analyzeCTE`'s checks of the clauses against the CTE's own columns;
    /// the indexes of the SEARCH and CYCLE columns.
    fn check_search_cycle(
        &self,
        p: &Prepared,
        columns: &[ColumnDef],
    ) -> PgResult<(Vec<usize>, Vec<usize>)> {
        let mut search_cols = Vec::new();
        let mut cycle_cols = Vec::new();
        let in_list = |name: &str| columns.iter().any(|c| c.name == name);
        if let Some(s) = &p.clauses.search {
            let l = loc(s.location);
            search_cols = self.clause_columns("search", &s.search_col_list, columns, l)?;
            if in_list(&s.search_seq_column) {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "search sequence column name \"{}\" already used in WITH query column list",
                        s.search_seq_column
                    ),
                    l,
                ));
            }
        }
        if let Some(c) = &p.clauses.cycle {
            let l = loc(c.location);
            cycle_cols = self.clause_columns("cycle", &c.cycle_col_list, columns, l)?;
            if in_list(&c.cycle_mark_column) {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "cycle mark column name \"{}\" already used in WITH query column list",
                        c.cycle_mark_column
                    ),
                    l,
                ));
            }
            if in_list(&c.cycle_path_column) {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "cycle path column name \"{}\" already used in WITH query column list",
                        c.cycle_path_column
                    ),
                    l,
                ));
            }
            if c.cycle_mark_column == c.cycle_path_column {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "cycle mark column name and cycle path column name are the same",
                    l,
                ));
            }
        }
        if let (Some(s), Some(c)) = (&p.clauses.search, &p.clauses.cycle) {
            let l = loc(s.location);
            if s.search_seq_column == c.cycle_mark_column {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "search sequence column name and cycle mark column name are the same",
                    l,
                ));
            }
            if s.search_seq_column == c.cycle_path_column {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "search sequence column name and cycle path column name are the same",
                    l,
                ));
            }
        }
        Ok((search_cols, cycle_cols))
    }

    /// Rewrites both terms (see the module doc). `columns` are the CTE's
    /// own columns, without the added ones; the work table is `worktable`.
    pub(super) fn rewrite_search_cycle(
        &mut self,
        p: &Prepared,
        columns: &[ColumnDef],
        left: &mut Query,
        right: &mut Query,
        worktable: usize,
        cte_name: &str,
    ) -> PgResult<()> {
        let (search_cols, cycle_cols) = self.check_search_cycle(p, columns)?;
        let outputs = |q: &Query| -> Vec<Expr> {
            q.targets
                .iter()
                .filter(|t| !t.resjunk)
                .map(|t| t.expr.clone())
                .collect()
        };
        let (lout, rout) = (outputs(left), outputs(right));
        let row_of = |out: &[Expr], cols: &[usize]| {
            Expr::Row(cols.iter().map(|&i| out[i].clone()).collect())
        };
        let array_of = |e: Expr| {
            Expr::Array(Box::new(ArrayExpr::Construct {
                elems: vec![e],
                ty: record_array(),
                multidims: false,
            }))
        };
        let int8 = |v: i64| Expr::Const {
            value: Datum::Int8(v),
            ty: Type::Int8,
            typmod: -1,
            loc: Loc(None),
        };
        // The work table's columns in the recursive term's row.
        let Some(offset) = right
            .from
            .as_ref()
            .and_then(|f| worktable_offset(f, worktable, 0))
        else {
            // PostgreSQL reports this without a position.
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("with a SEARCH or CYCLE clause, the recursive reference to WITH query \"{cte_name}\" must be at the top level of its right-hand SELECT"),
                None,
            ));
        };
        let all: Vec<&ColumnDef> = columns.iter().chain(&p.extra).collect();
        let wt = |i: usize| Expr::Column {
            index: offset + i,
            ty: all[i].ty,
            typmod: all[i].typmod,
            name: all[i].name.clone(),
            loc: Loc(None),
        };
        let mut next = columns.len();
        let add = |q: &mut Query, name: &str, expr: Expr| {
            q.targets.push(TargetEntry {
                expr,
                name: name.to_string(),
                resjunk: false,
            });
        };
        if let Some(s) = &p.clauses.search {
            let seq = next;
            next += 1;
            let name = &s.search_seq_column;
            if s.search_breadth_first {
                let mut l = vec![int8(0)];
                l.extend(search_cols.iter().map(|&i| lout[i].clone()));
                add(left, name, Expr::Row(l));
                let depth = Expr::FieldSelect {
                    arg: Box::new(wt(seq)),
                    field: 0,
                    ty: Type::Int8,
                };
                let mut r = vec![self.make_op("+", Some(depth), int8(1), None)?];
                r.extend(search_cols.iter().map(|&i| rout[i].clone()));
                add(right, name, Expr::Row(r));
            } else {
                add(left, name, array_of(row_of(&lout, &search_cols)));
                let e = self.make_op("||", Some(wt(seq)), row_of(&rout, &search_cols), None)?;
                add(right, name, e);
            }
        }
        if let (Some(c), Some((v, d))) = (&p.clauses.cycle, &p.mark_value) {
            let (mark, path) = (next, next + 1);
            add(left, &c.cycle_mark_column, d.clone());
            add(
                left,
                &c.cycle_path_column,
                array_of(row_of(&lout, &cycle_cols)),
            );
            let new_row = row_of(&rout, &cycle_cols);
            let Expr::Func { func, .. } =
                self.make_op("=", Some(new_row.clone()), new_row.clone(), None)?
            else {
                unreachable!("make_op builds a call")
            };
            let seen = Expr::Array(Box::new(ArrayExpr::ScalarArrayOp {
                func,
                left: new_row.clone(),
                array: wt(path),
                all: false,
                arg_types: vec![Type::Record, Type::Record],
            }));
            add(
                right,
                &c.cycle_mark_column,
                Expr::Case {
                    arg: None,
                    whens: vec![(seen, v.clone())],
                    default: Box::new(d.clone()),
                    ty: v.ty(),
                },
            );
            let e = self.make_op("||", Some(wt(path)), new_row, None)?;
            add(right, &c.cycle_path_column, e);
            let not_cycle = self.make_op("<>", Some(wt(mark)), v.clone(), None)?;
            right.where_qual = Some(match right.where_qual.take() {
                Some(q) => Expr::And(vec![q, not_cycle]),
                None => not_cycle,
            });
        }
        Ok(())
    }
}

/// Where work table `id` starts in the flat row of `tree` (whose first
/// column is `base`), if it is an item of the FROM tree itself.
fn worktable_offset(tree: &FromTree, id: usize, base: usize) -> Option<usize> {
    match tree {
        FromTree::Rte(r) => {
            matches!(r.source, RteSource::WorkTable { worktable } if worktable == id)
                .then_some(base)
        }
        FromTree::Lateral { .. } => None,
        FromTree::Join { left, right, .. } => worktable_offset(left, id, base)
            .or_else(|| worktable_offset(right, id, base + left.width())),
    }
}
