//! The FROM clause and column references (`parse_clause.c`,
//! `parse_relation.c`, `parse_target.c`'s star expansion): FROM items
//! become a [`FromTree`] of base relations and joins, and a namespace
//! ([`NsItem`]s, PostgreSQL's `ParseNamespaceItem`) that names resolve in.
//!
//! **Row layout.** Every expression of a query is evaluated against one
//! flat row: the columns of the base FROM items (tables, subqueries,
//! VALUES, functions) side by side, in the order they appear in the FROM
//! clause. A join's row is the contiguous part of it covering its inputs,
//! so the planner only shifts column indexes when it moves a qual below a
//! join. A join's *output* columns (what `*` and unqualified names see)
//! are expressions over that row: merged `USING` columns (the left column,
//! the right one for RIGHT JOIN, `COALESCE(l, r)` for FULL JOIN, each
//! coerced to the common type), then the other columns of the left input,
//! then those of the right.
//!
//! **Visibility** follows `transformFromClauseItem`: an unaliased join
//! hides its inputs' columns from unqualified lookup (they are found
//! through the join's own item, which is how `a` of `USING (a)` is the
//! merged column and a name on both sides is ambiguous) but keeps their
//! relation names; a join alias hides the inputs completely.
//!
//! **Correlation.** A name not found in the query's namespace is looked
//! up in the enclosing queries' ([`OuterLevels`], innermost first). An
//! outer column becomes an [`Expr::ExecParam`]; the subquery of the level
//! that owns the column gets a `(slot, expression)` pair that sets it, and
//! every subquery in between is marked correlated (it must be re-run when
//! the slot changes, PostgreSQL's `extParam`).

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, JoinType};

use super::super::catalog::{ColumnDef, open_relation};
use super::super::expr::{Expr, Loc};
use super::super::types::Type;
use super::{Analyzer, ExprKind, Query, RangeTblEntry, RteSource, Scope, TargetEntry, node_of};
use crate::utils::elog::{PgResult, sqlstate};

/// The FROM clause as a tree of base items and joins.
#[derive(Clone, Debug)]
pub enum FromTree {
    Rte(RangeTblEntry),
    /// A LATERAL subquery or a function in FROM that reads columns of the
    /// items to its left: `params` (slot, expression over the flat row) are
    /// set from each row of the join's left input before it is run again.
    /// Always the right input of an INNER or LEFT join.
    Lateral {
        rte: RangeTblEntry,
        params: Vec<(usize, Expr)>,
    },
    /// `qual` (over the query's flat row) decides which pairs match; a
    /// comma or CROSS JOIN is an inner join without one.
    Join {
        kind: JoinKind,
        left: Box<FromTree>,
        right: Box<FromTree>,
        qual: Option<Expr>,
    },
}

impl FromTree {
    /// How many columns of the flat row this item covers.
    pub fn width(&self) -> usize {
        match self {
            FromTree::Rte(r) | FromTree::Lateral { rte: r, .. } => r.columns.len(),
            FromTree::Join { left, right, .. } => left.width() + right.width(),
        }
    }
}

/// Parameters a subquery reads of an enclosing row: (slot, expression).
pub type Params = Vec<(usize, Expr)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Clone, Debug)]
pub(crate) struct NsColumn {
    pub name: String,
    /// Over the query's flat row.
    pub expr: Expr,
}

/// One name a query's expressions can see (`ParseNamespaceItem`).
#[derive(Clone, Debug)]
pub(crate) struct NsItem {
    pub refname: String,
    pub relname: String,
    pub has_alias: bool,
    /// May be named as a qualifier (`t.a`, `t.*`).
    pub rel_visible: bool,
    /// Its columns are found by unqualified names and `*`.
    pub cols_visible: bool,
    /// Hidden by a join alias: named only in the "cannot be referenced" hint.
    pub hidden: bool,
    /// A function returning a scalar: its name alone is its one column.
    pub scalar_function: bool,
    /// A relation's schema (`pg_catalog`, `public`), for `s.t.a`.
    pub schema: Option<String>,
    pub columns: Vec<NsColumn>,
}

impl NsItem {
    /// A base item whose columns start at `offset` of the flat row.
    pub fn base(
        refname: &str,
        relname: &str,
        has_alias: bool,
        columns: &[ColumnDef],
        offset: usize,
    ) -> NsItem {
        NsItem {
            refname: refname.to_string(),
            relname: relname.to_string(),
            has_alias,
            rel_visible: true,
            cols_visible: true,
            hidden: false,
            scalar_function: false,
            schema: None,
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, c)| NsColumn {
                    name: c.name.clone(),
                    expr: Expr::Column {
                        index: offset + i,
                        ty: c.ty,
                        typmod: c.typmod,
                        name: if refname.is_empty() {
                            c.name.clone()
                        } else {
                            format!("{refname}.{}", c.name)
                        },
                        loc: Loc(None),
                    },
                })
                .collect(),
        }
    }
}

/// The namespaces of the queries enclosing the one being analysed, for
/// correlated references (innermost last), and the next free parameter slot.
#[derive(Default)]
pub struct OuterLevels {
    levels: Vec<OuterLevel>,
    next_slot: usize,
    /// FROM items of the query being analysed that are already known but
    /// not visible to the item being analysed (its left siblings).
    from_seen: Vec<NsItem>,
    /// Such items of enclosing queries, while a FROM subquery is analysed:
    /// named only in the "cannot be referenced" hints.
    invisible: Vec<NsItem>,
    /// The WITH queries in scope, outermost first (`p_ctenamespace`).
    pub(super) ctes: Vec<CteDef>,
    /// Names of WITH queries of the clause being analysed that are not in
    /// scope yet (for the forward-reference DETAIL of 42P01).
    pub(super) forward_ctes: Vec<String>,
    /// Work tables of recursive CTEs handed out so far.
    next_worktable: usize,
}

/// A WITH query in scope: its body is analysed afresh at each reference,
/// for the planner to inline; a non-recursive one also has one shared
/// analysis (`shared`) that the planner scans instead when PostgreSQL
/// would materialise the CTE (`CteShared::inline`).
#[derive(Clone)]
pub(super) struct CteDef {
    pub name: String,
    pub query: Box<pg_query::protobuf::SelectStmt>,
    pub colnames: Vec<pg_query::Node>,
    /// Its body is being analysed (a reference now is a recursive one).
    pub busy: bool,
    /// Declared in `WITH RECURSIVE`.
    pub recursive: bool,
    /// While its recursive term is analysed: the work table's id and columns.
    pub work: Option<(usize, Vec<ColumnDef>)>,
    /// The recursive term read the work table.
    pub work_used: bool,
    /// A non-recursive WITH query's shared result (see `RteSource::Cte`).
    pub shared: Option<super::CteShared>,
    /// A data-modifying WITH query: its RETURNING columns, and whether it
    /// has a RETURNING clause at all.
    pub modifying: Option<(Vec<ColumnDef>, bool)>,
    /// Its SEARCH and CYCLE clauses (`search_cycle.rs`).
    pub search_cycle: Option<super::search_cycle::SearchCycle>,
}

struct OuterLevel {
    ns: Vec<NsItem>,
    /// Parameters the subquery at this level sets: (slot, outer expression).
    params: Vec<(usize, Expr)>,
    /// Reads a parameter set further out.
    ext_dep: bool,
    /// The target of `UPDATE ... FROM` / `DELETE ... USING`: in PostgreSQL
    /// one namespace with the FROM items, so a name in both is ambiguous.
    merged: bool,
}

impl OuterLevels {
    /// How many parameter slots the statement uses.
    pub fn slots(&self) -> usize {
        self.next_slot
    }
}

enum Lookup {
    Found(Expr),
    /// No item of that name (qualified) or no column of that name (unqualified).
    Absent,
}

fn loc(l: i32) -> Option<usize> {
    if l >= 0 { Some(l as usize) } else { None }
}

fn str_list(nodes: &[pg_query::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

impl<'a> Analyzer<'a> {
    /// `transformFromClause`: the items of a comma list are inner joins
    /// without a qual, left to right.
    pub(crate) fn transform_from_clause(
        &mut self,
        from: &[pg_query::Node],
    ) -> PgResult<(Option<FromTree>, Vec<NsItem>)> {
        let mark = self.outer.from_seen.len();
        let r = self.transform_from_list(from);
        self.outer.from_seen.truncate(mark);
        r
    }

    fn transform_from_list(
        &mut self,
        from: &[pg_query::Node],
    ) -> PgResult<(Option<FromTree>, Vec<NsItem>)> {
        let mut tree: Option<FromTree> = None;
        let mut ns: Vec<NsItem> = Vec::new();
        let mut offset = 0;
        for item in from {
            let Some(node) = item.node.as_ref() else {
                continue;
            };
            let (t, item_ns, _) = self.transform_from_item(node, &mut offset)?;
            self.check_namespace_conflicts(&ns, &item_ns)?;
            self.outer.from_seen.extend(item_ns.iter().cloned());
            ns.extend(item_ns);
            tree = Some(match tree {
                None => t,
                Some(left) => FromTree::Join {
                    kind: JoinKind::Inner,
                    left: Box::new(left),
                    right: Box::new(t),
                    qual: None,
                },
            });
        }
        Ok((tree, ns))
    }

    /// `checkNameSpaceConflicts`: two visible items may not have one name.
    fn check_namespace_conflicts(&self, a: &[NsItem], b: &[NsItem]) -> PgResult<()> {
        for x in a.iter().filter(|x| x.rel_visible) {
            for y in b.iter().filter(|y| y.rel_visible) {
                if x.refname == y.refname {
                    return Err(self.error(
                        "42712",
                        format!("table name \"{}\" specified more than once", x.refname),
                        None,
                    ));
                }
            }
        }
        Ok(())
    }

    /// One FROM item: its tree, its namespace and its output columns.
    fn transform_from_item(
        &mut self,
        node: &NodeEnum,
        offset: &mut usize,
    ) -> PgResult<(FromTree, Vec<NsItem>, Vec<NsColumn>)> {
        crate::utils::stack::check_stack_depth()?;
        let NodeEnum::JoinExpr(j) = node else {
            let (rte, params) = self.transform_base_item(node)?;
            let mut item = NsItem::base(
                &rte.refname,
                &rte.relname,
                rte.has_alias,
                &rte.columns,
                *offset,
            );
            item.scalar_function = matches!(&rte.source,
                RteSource::Function { functions, ordinality: false } if functions.len() == 1);
            item.schema = relation_schema(&rte.source);
            *offset += rte.columns.len();
            let cols = item.columns.clone();
            let tree = if params.is_empty() {
                FromTree::Rte(rte)
            } else {
                FromTree::Lateral { rte, params }
            };
            return Ok((tree, vec![item], cols));
        };
        let kind = match JoinType::try_from(j.jointype).unwrap_or(JoinType::Undefined) {
            JoinType::JoinInner => JoinKind::Inner,
            JoinType::JoinLeft => JoinKind::Left,
            JoinType::JoinRight => JoinKind::Right,
            JoinType::JoinFull => JoinKind::Full,
            _ => return Err(self.unsupported("this kind of join", None)),
        };
        let larg = node_of(&j.larg).expect("JOIN has a left input");
        let rarg = node_of(&j.rarg).expect("JOIN has a right input");
        let lstart = *offset;
        let (ltree, mut lns, lcols) = self.transform_from_item(larg, offset)?;
        let rstart = *offset;
        let mark = self.outer.from_seen.len();
        self.outer.from_seen.extend(lns.iter().cloned());
        let r = self.transform_from_item(rarg, offset);
        self.outer.from_seen.truncate(mark);
        let (rtree, mut rns, rcols) = r?;
        self.check_namespace_conflicts(&lns, &rns)?;
        if matches!(ltree, FromTree::Lateral { .. }) {
            return Err(self.unsupported("a LATERAL reference from the left input of a join", None));
        }
        if let FromTree::Lateral { params, .. } = &rtree {
            self.check_lateral(params, kind, lstart, rstart)?;
        }

        // USING / NATURAL: the merged columns and their equality quals.
        let using: Vec<String> = if j.is_natural {
            lcols
                .iter()
                .filter(|c| rcols.iter().any(|r| r.name == c.name))
                .map(|c| c.name.clone())
                .collect()
        } else {
            str_list(&j.using_clause)
        };
        let mut quals: Vec<Expr> = Vec::new();
        let mut merged: Vec<NsColumn> = Vec::new();
        let mut lused = vec![false; lcols.len()];
        let mut rused = vec![false; rcols.len()];
        for (k, name) in using.iter().enumerate() {
            if using[..k].contains(name) {
                return Err(self.error(
                    "42701",
                    format!("column name \"{name}\" appears more than once in USING clause"),
                    None,
                ));
            }
            let li = self.using_column(&lcols, name, "left")?;
            let ri = self.using_column(&rcols, name, "right")?;
            lused[li] = true;
            rused[ri] = true;
            let (l, r) = (lcols[li].expr.clone(), rcols[ri].expr.clone());
            let (mut both, ty) = self.coerce_to_common(vec![l, r], &[None, None], "JOIN/USING")?;
            let r = both.pop().expect("two");
            let l = both.pop().expect("two");
            let eq = self.make_op("=", Some(l.clone()), r.clone(), None)?;
            quals.push(eq);
            let expr = match kind {
                JoinKind::Inner | JoinKind::Left => l,
                JoinKind::Right => r,
                JoinKind::Full => Expr::Coalesce {
                    args: vec![l, r],
                    ty,
                },
            };
            merged.push(NsColumn {
                name: name.clone(),
                expr,
            });
        }

        // ON.
        if let Some(q) = node_of(&j.quals) {
            let mut ns = lns.clone();
            ns.extend(rns.iter().cloned());
            let mut scope = Scope::new(ExprKind::JoinOn);
            scope.ns = ns;
            let e = self.transform_expr(&mut scope, q)?;
            let e = self.coerce_to_boolean(e, "JOIN/ON", super::names::raw_location(q))?;
            quals.push(e);
        }
        let qual = match quals.len() {
            0 => None,
            1 => quals.pop(),
            _ => Some(Expr::And(quals)),
        };
        if kind == JoinKind::Full
            && let Some(q) = &qual
        {
            self.check_full_join(q, lstart, rstart, *offset)?;
        }

        let mut cols = merged.clone();
        cols.extend(
            lcols
                .into_iter()
                .zip(lused)
                .filter(|(_, u)| !u)
                .map(|(c, _)| c),
        );
        cols.extend(
            rcols
                .into_iter()
                .zip(rused)
                .filter(|(_, u)| !u)
                .map(|(c, _)| c),
        );
        let mut ns: Vec<NsItem>;
        match &j.alias {
            Some(a) => {
                if a.colnames.len() > cols.len() {
                    return Err(self.error(
                        "42P10",
                        format!(
                            "join expression \"{}\" has {} columns available but {} columns specified",
                            a.aliasname,
                            cols.len(),
                            a.colnames.len()
                        ),
                        None,
                    ));
                }
                for (c, n) in cols.iter_mut().zip(str_list(&a.colnames)) {
                    c.name = n;
                }
                ns = vec![NsItem {
                    refname: a.aliasname.clone(),
                    relname: a.aliasname.clone(),
                    has_alias: true,
                    rel_visible: true,
                    cols_visible: true,
                    hidden: false,
                    scalar_function: false,
                    schema: None,
                    columns: cols.clone(),
                }];
                // The inputs stay only for the "cannot be referenced" hint.
                for mut item in lns.into_iter().chain(rns) {
                    item.rel_visible = false;
                    item.cols_visible = false;
                    item.hidden = true;
                    ns.push(item);
                }
            }
            None => {
                for item in lns.iter_mut().chain(rns.iter_mut()) {
                    item.cols_visible = false;
                }
                ns = lns;
                ns.extend(rns);
                ns.push(NsItem {
                    refname: String::new(),
                    relname: String::new(),
                    has_alias: false,
                    rel_visible: false,
                    cols_visible: true,
                    hidden: false,
                    scalar_function: false,
                    schema: None,
                    columns: cols.clone(),
                });
            }
        }
        if let Some(a) = &j.join_using_alias {
            let item = NsItem {
                refname: a.aliasname.clone(),
                relname: a.aliasname.clone(),
                has_alias: true,
                rel_visible: true,
                cols_visible: false,
                hidden: false,
                scalar_function: false,
                schema: None,
                columns: merged,
            };
            self.check_namespace_conflicts(&ns, std::slice::from_ref(&item))?;
            ns.push(item);
        }
        Ok((
            FromTree::Join {
                kind,
                left: Box::new(ltree),
                right: Box::new(rtree),
                qual,
            },
            ns,
            cols,
        ))
    }

    /// `FULL JOIN` needs an equality between the two inputs (PostgreSQL
    /// runs it only as a merge or hash join), unless its qual reads no
    /// columns at all.
    fn check_full_join(&self, q: &Expr, ls: usize, rs: usize, end: usize) -> PgResult<()> {
        use super::super::functions::{CmpOp, Impl, registry};
        let mut parts = Vec::new();
        conjuncts_of(q, &mut parts);
        let reads_columns = q.any(&|x| matches!(x, Expr::Column { .. }));
        let equi = parts.iter().any(|p| match p {
            Expr::Func { func, args, .. } if args.len() == 2 => {
                matches!(registry().get(*func).imp, Impl::Cmp(CmpOp::Eq))
                    && match (column_span(&args[0]), column_span(&args[1])) {
                        (Some(a), Some(b)) => {
                            let l = |s: (usize, usize)| s.0 >= ls && s.1 < rs;
                            let r = |s: (usize, usize)| s.0 >= rs && s.1 < end;
                            (l(a) && r(b)) || (l(b) && r(a))
                        }
                        _ => false,
                    }
            }
            _ => false,
        });
        if reads_columns && !equi {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "FULL JOIN is only supported with merge-joinable or hash-joinable join conditions",
                None,
            ));
        }
        Ok(())
    }

    fn using_column(&self, cols: &[NsColumn], name: &str, side: &str) -> PgResult<usize> {
        let mut found = None;
        for (i, c) in cols.iter().enumerate() {
            if c.name == name {
                if found.is_some() {
                    return Err(self.error(
                        sqlstate::AMBIGUOUS_COLUMN,
                        format!(
                            "common column name \"{name}\" appears more than once in {side} table"
                        ),
                        None,
                    ));
                }
                found = Some(i);
            }
        }
        found.ok_or_else(|| {
            self.error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column \"{name}\" specified in USING clause does not exist in {side} table"
                ),
                None,
            )
        })
    }

    /// A LATERAL item may read the left input of its own join only, and
    /// only an INNER or LEFT join (PostgreSQL's 42P10 otherwise).
    fn check_lateral(
        &self,
        params: &[(usize, Expr)],
        kind: JoinKind,
        lstart: usize,
        rstart: usize,
    ) -> PgResult<()> {
        for (_, e) in params {
            let Some((lo, hi)) = column_span(e) else {
                continue;
            };
            if matches!(kind, JoinKind::Right | JoinKind::Full) {
                let (name, l) = match first_column_ref(e) {
                    Some((n, l)) => (n, l),
                    None => (String::new(), None),
                };
                let table = name.split('.').next().unwrap_or("").to_string();
                return Err(self
                    .error(
                        "42P10",
                        format!("invalid reference to FROM-clause entry for table \"{table}\""),
                        l,
                    )
                    .with_detail(
                        "The combining JOIN type must be INNER or LEFT for a LATERAL reference.",
                    ));
            }
            if lo < lstart || hi >= rstart {
                return Err(self.unsupported("LATERAL references past the enclosing join", None));
            }
        }
        Ok(())
    }

    /// Runs `f` (the analysis of a LATERAL item) with the items to its left
    /// visible as an outer level; returns the parameters it reads of them.
    fn lateral_level<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> PgResult<T>,
    ) -> PgResult<(T, Vec<(usize, Expr)>)> {
        let seen = std::mem::take(&mut self.outer.from_seen);
        self.outer.levels.push(OuterLevel {
            ns: seen.clone(),
            params: Vec::new(),
            ext_dep: false,
            merged: false,
        });
        let r = f(self);
        let level = self.outer.levels.pop().expect("pushed above");
        self.outer.from_seen = seen;
        Ok((r?, level.params))
    }

    /// A table, subquery, VALUES or function in FROM, with the parameters
    /// it reads of the items to its left (LATERAL).
    fn transform_base_item(
        &mut self,
        node: &NodeEnum,
    ) -> PgResult<(RangeTblEntry, Vec<(usize, Expr)>)> {
        if let NodeEnum::RangeFunction(rf) = node {
            // Functions in FROM are implicitly LATERAL.
            return self.lateral_level(|a| a.transform_range_function(rf));
        }
        if let NodeEnum::RangeSubselect(rs) = node
            && rs.lateral
        {
            let mut plain = rs.clone();
            plain.lateral = false;
            let plain = NodeEnum::RangeSubselect(plain);
            return self.lateral_level(|a| a.transform_base_item_inner(&plain, true));
        }
        Ok((self.transform_base_item_inner(node, false)?, Vec::new()))
    }

    fn transform_base_item_inner(
        &mut self,
        node: &NodeEnum,
        lateral: bool,
    ) -> PgResult<RangeTblEntry> {
        match node {
            NodeEnum::RangeVar(rv)
                if rv.schemaname.is_empty()
                    && self.outer.ctes.iter().any(|c| c.name == rv.relname) =>
            {
                self.transform_cte_reference(rv)
            }
            NodeEnum::RangeVar(rv) => {
                let schema = if rv.schemaname.is_empty() {
                    None
                } else {
                    Some(rv.schemaname.as_str())
                };
                let l = loc(rv.location);
                let rel = match open_relation(self.ctx, schema, &rv.relname)? {
                    Some(r) => r,
                    None => {
                        let shown = match schema {
                            Some(s) => format!("{s}.{}", rv.relname),
                            None => rv.relname.clone(),
                        };
                        let e = self.error(
                            sqlstate::UNDEFINED_TABLE,
                            format!("relation \"{shown}\" does not exist"),
                            l,
                        );
                        if schema.is_none() && self.outer.forward_ctes.contains(&rv.relname) {
                            return Err(e
                                .with_detail(format!("There is a WITH item named \"{}\", but it cannot be referenced from this part of the query.", rv.relname))
                                .with_hint("Use WITH RECURSIVE, or re-order the WITH items to remove forward references."));
                        }
                        return Err(e);
                    }
                };
                if let crate::sql::catalog::RelationSource::Table(t) = &rel.source
                    && t.relkind == 'i'
                {
                    return Err(self.error(
                        sqlstate::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is an index", rv.relname),
                        l,
                    ));
                }
                let mut columns = rel.columns.clone();
                let (refname, has_alias) = self.apply_alias(&mut columns, &rv.alias, &rel.name)?;
                Ok(RangeTblEntry {
                    refname,
                    relname: rel.name.clone(),
                    has_alias,
                    columns,
                    source: RteSource::Relation(rel),
                })
            }
            NodeEnum::RangeSubselect(rs) => {
                let Some(NodeEnum::SelectStmt(sel)) = node_of(&rs.subquery) else {
                    return Err(self.unsupported("this kind of subquery", None));
                };
                let Some(alias) = &rs.alias else {
                    let (what, example) = if sel.values_lists.is_empty() {
                        ("subquery", "SELECT")
                    } else {
                        ("VALUES", "VALUES")
                    };
                    return Err(self
                        .error(
                            sqlstate::SYNTAX_ERROR,
                            format!("{what} in FROM must have an alias"),
                            self.subquery_paren_location(sel),
                        )
                        .with_hint(format!("For example, FROM ({example} ...) [AS] foo.")));
                };
                let q = if lateral {
                    self.analyze_select(sel)?
                } else {
                    self.analyze_isolated(sel)?
                };
                let mut columns = q.output_columns();
                self.apply_alias_colnames(&mut columns, &alias.colnames, &alias.aliasname, None)?;
                Ok(RangeTblEntry {
                    refname: alias.aliasname.clone(),
                    relname: alias.aliasname.clone(),
                    has_alias: true,
                    columns,
                    source: RteSource::Subquery(Box::new(q)),
                })
            }
            _ => Err(self.unsupported("this kind of FROM item", None)),
        }
    }

    /// A FROM subquery's query, analysed where the FROM items before it are
    /// known but not visible (named only in hints).
    fn analyze_isolated(&mut self, sel: &pb::SelectStmt) -> PgResult<Query> {
        let seen = std::mem::take(&mut self.outer.from_seen);
        let mark = self.outer.invisible.len();
        self.outer.invisible.extend(seen.iter().cloned());
        let q = self.analyze_select(sel);
        self.outer.invisible.truncate(mark);
        self.outer.from_seen = seen;
        q
    }

    /// Applies a FROM item's `AS alias (cols)` to `columns`: its reference
    /// name and whether it was aliased (`default` when not).
    pub(super) fn apply_alias(
        &self,
        columns: &mut [ColumnDef],
        alias: &Option<pb::Alias>,
        default: &str,
    ) -> PgResult<(String, bool)> {
        Ok(match alias {
            Some(a) => {
                self.apply_alias_colnames(columns, &a.colnames, &a.aliasname, None)?;
                (a.aliasname.clone(), true)
            }
            None => (default.to_string(), false),
        })
    }

    /// A FROM reference to a WITH query: its body as a subquery, named by
    /// the CTE's column list and then the reference's alias. The body sees
    /// only the WITH queries before its own.
    pub(super) fn transform_cte_reference(&mut self, rv: &pb::RangeVar) -> PgResult<RangeTblEntry> {
        let i = self
            .outer
            .ctes
            .iter()
            .rposition(|c| c.name == rv.relname)
            .expect("checked by the caller");
        if let Some((columns, has_returning)) = self.outer.ctes[i].modifying.clone() {
            let cte = self.outer.ctes[i].clone();
            if !has_returning {
                return Err(self.error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "WITH query \"{}\" does not have a RETURNING clause",
                        cte.name
                    ),
                    loc(rv.location),
                ));
            }
            let mut columns = columns;
            self.apply_alias_colnames(&mut columns, &cte.colnames, &cte.name, None)?;
            let (refname, has_alias) = self.apply_alias(&mut columns, &rv.alias, &cte.name)?;
            let shared = cte.shared.expect("a data-modifying CTE has a store");
            shared.refs.set(shared.refs.get() + 1);
            return Ok(RangeTblEntry {
                refname,
                relname: cte.name.clone(),
                has_alias,
                columns,
                source: RteSource::Cte {
                    shared,
                    inline: Box::new(super::Query::of_targets(Vec::new())),
                },
            });
        }
        if self.outer.ctes[i].busy {
            let l = loc(rv.location);
            let name = rv.relname.clone();
            let Some((id, mut columns)) = self.outer.ctes[i].work.clone() else {
                if self.outer.ctes[i].recursive {
                    return Err(self.error(
                        "42P19",
                        format!("recursive reference to query \"{name}\" must not appear within its non-recursive term"),
                        l,
                    ));
                }
                return Err(self.unsupported("recursive WITH queries", l));
            };
            if self.outer.ctes[i].work_used {
                return Err(self.error(
                    "42P19",
                    format!(
                        "recursive reference to query \"{name}\" must not appear more than once"
                    ),
                    l,
                ));
            }
            self.outer.ctes[i].work_used = true;
            let (refname, has_alias) = self.apply_alias(&mut columns, &rv.alias, &name)?;
            return Ok(RangeTblEntry {
                refname,
                relname: name,
                has_alias,
                columns,
                source: RteSource::WorkTable { worktable: id },
            });
        }
        let cte = self.outer.ctes[i].clone();
        if cte.recursive
            && cte.query.op == pg_query::protobuf::SetOperation::SetopUnion as i32
            && let Some(rte) = self.recursive_union(i, rv)?
        {
            return Ok(rte);
        }
        if cte.search_cycle.is_some() {
            // SEARCH/CYCLE need a recursive UNION (PostgreSQL points at the CTE).
            return Err(self.error(
                sqlstate::SYNTAX_ERROR,
                "WITH query is not recursive",
                loc(rv.location),
            ));
        }
        let later = self.outer.ctes.split_off(i + 1);
        let forward_mark = self.outer.forward_ctes.len();
        self.outer
            .forward_ctes
            .extend(std::iter::once(cte.name.clone()).chain(later.iter().map(|c| c.name.clone())));
        self.outer.ctes[i].busy = true;
        let q = self.analyze_isolated(&cte.query);
        self.outer.ctes[i].busy = false;
        self.outer.ctes.extend(later);
        self.outer.forward_ctes.truncate(forward_mark);
        let q = q?;
        let mut columns = q.output_columns();
        self.apply_alias_colnames(&mut columns, &cte.colnames, &cte.name, None)?;
        let (refname, has_alias) = self.apply_alias(&mut columns, &rv.alias, &cte.name)?;
        let source = match cte.shared {
            Some(shared) => {
                shared.refs.set(shared.refs.get() + 1);
                RteSource::Cte {
                    shared,
                    inline: Box::new(q),
                }
            }
            None => RteSource::Subquery(Box::new(q)),
        };
        Ok(RangeTblEntry {
            refname,
            relname: cte.name.clone(),
            has_alias,
            columns,
            source,
        })
    }

    /// A reference to recursive CTE `i` whose body is `a UNION [ALL] b`:
    /// `a` analysed first (it must not read the CTE), its columns become
    /// the work table `b` reads. None when `b` does not read it (then the
    /// body is an ordinary query).
    fn recursive_union(&mut self, i: usize, rv: &pb::RangeVar) -> PgResult<Option<RangeTblEntry>> {
        let cte = self.outer.ctes[i].clone();
        let body = &cte.query;
        let (Some(larg), Some(rarg)) = (&body.larg, &body.rarg) else {
            return Ok(None);
        };
        if !body.sort_clause.is_empty() || body.limit_count.is_some() || body.limit_offset.is_some()
        {
            return Err(self.unsupported("ORDER BY/LIMIT in a recursive query", loc(rv.location)));
        }
        let later = self.outer.ctes.split_off(i + 1);
        self.outer.ctes[i].busy = true;
        let seen = std::mem::take(&mut self.outer.from_seen);
        let id = self.outer.next_worktable;
        self.outer.next_worktable += 1;
        let r = (|| -> PgResult<Option<(Query, Query, Vec<ColumnDef>)>> {
            let mut left = self.analyze_select(larg)?;
            let mut columns = left.output_columns();
            self.apply_alias_colnames(&mut columns, &cte.colnames, &cte.name, None)?;
            let prepared = match &cte.search_cycle {
                Some(sc) => {
                    // PostgreSQL reports these without a position.
                    for (side, arg) in [("left", larg), ("right", rarg)] {
                        if arg.op != pg_query::protobuf::SetOperation::SetopNone as i32 {
                            return Err(self.error(
                                sqlstate::SYNTAX_ERROR,
                                format!("with a SEARCH or CYCLE clause, the {side} side of the UNION must be a SELECT"),
                                None,
                            ));
                        }
                    }
                    Some(self.prepare_search_cycle(sc)?)
                }
                None => None,
            };
            let own = columns.clone();
            if let Some(p) = &prepared {
                columns.extend(p.extra.iter().cloned());
            }
            self.outer.ctes[i].work = Some((id, columns.clone()));
            self.outer.ctes[i].work_used = false;
            let mut right = self.analyze_select(rarg)?;
            if !self.outer.ctes[i].work_used {
                return Ok(None);
            }
            if let Some(p) = &prepared {
                self.rewrite_search_cycle(p, &own, &mut left, &mut right, id, &cte.name)?;
            }
            let rtypes: Vec<Type> = right
                .targets
                .iter()
                .filter(|t| !t.resjunk)
                .map(|t| t.expr.ty())
                .collect();
            if rtypes.len() != columns.len() {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "each UNION query must have the same number of columns",
                    None,
                ));
            }
            for (k, (c, t)) in columns.iter().zip(&rtypes).enumerate() {
                if c.ty != *t {
                    return Err(self
                        .error(
                            sqlstate::DATATYPE_MISMATCH,
                            format!(
                                "recursive query \"{}\" column {} has type {} in non-recursive term but type {} overall",
                                cte.name,
                                k + 1,
                                c.ty.name(),
                                t.name()
                            ),
                            None,
                        )
                        .with_hint("Cast the output of the non-recursive term to the correct type."));
                }
            }
            Ok(Some((left, right, columns)))
        })();
        self.outer.from_seen = seen;
        self.outer.ctes[i].busy = false;
        self.outer.ctes[i].work = None;
        self.outer.ctes[i].work_used = false;
        self.outer.ctes.extend(later);
        let Some((left, right, mut columns)) = r? else {
            return Ok(None);
        };
        let (refname, has_alias) = self.apply_alias(&mut columns, &rv.alias, &cte.name)?;
        Ok(Some(RangeTblEntry {
            refname,
            relname: cte.name.clone(),
            has_alias,
            columns,
            source: RteSource::RecursiveUnion {
                worktable: id,
                all: body.all,
                left: Box::new(left),
                right: Box::new(right),
            },
        }))
    }

    // --- column references ----------------------------------------------------

    /// `transformColumnRef`: `a`, `t.a`, `s.t.a`, `db.s.t.a` against the
    /// query's namespace, then the enclosing queries'.
    pub(crate) fn resolve_column_ref(
        &mut self,
        scope: &Scope,
        c: &pb::ColumnRef,
    ) -> PgResult<Expr> {
        let l = loc(c.location);
        if c.fields
            .iter()
            .any(|f| matches!(f.node, Some(NodeEnum::AStar(_))))
        {
            return Err(self.unsupported("row references (x.*) in expressions", l));
        }
        let names = str_list(&c.fields);
        let (qual, colname) = names.split_at(names.len() - 1);
        let colname = &colname[0];
        if let Lookup::Found(e) = self.lookup_column(&scope.ns, qual, colname, l)? {
            if qual.is_empty()
                && scope.sees_dml_target
                && let Some(level) = self.outer.levels.last()
                && level.merged
                && level
                    .ns
                    .iter()
                    .any(|i| i.cols_visible && i.columns.iter().any(|c| &c.name == colname))
            {
                return Err(self.error(
                    sqlstate::AMBIGUOUS_COLUMN,
                    format!("column reference \"{colname}\" is ambiguous"),
                    l,
                ));
            }
            return Ok(with_loc(e, l));
        }
        for depth in (0..self.outer.levels.len()).rev() {
            let ns = std::mem::take(&mut self.outer.levels[depth].ns);
            let r = self.lookup_column(&ns, qual, colname, l);
            self.outer.levels[depth].ns = ns;
            if let Lookup::Found(e) = r? {
                return Ok(self.outer_param(depth, with_loc(e, l)));
            }
        }
        // A scalar function's name alone is its column (a whole-row
        // reference to it); other whole-row references are not supported.
        if qual.is_empty() {
            let levels: Vec<&[NsItem]> = std::iter::once(scope.ns.as_slice())
                .chain(self.outer.levels.iter().rev().map(|l| l.ns.as_slice()))
                .collect();
            for (up, ns) in levels.into_iter().enumerate() {
                if let Some(item) = ns.iter().find(|i| i.rel_visible && &i.refname == colname) {
                    // A scalar function's column itself; else a record of
                    // the item's columns.
                    let depth = self.outer.levels.len().saturating_sub(up);
                    let scalar = item.scalar_function;
                    let cols: Vec<Expr> = item
                        .columns
                        .iter()
                        .map(|c| with_loc(c.expr.clone(), l))
                        .collect();
                    let mut fields = Vec::with_capacity(cols.len());
                    for e in cols {
                        fields.push(if up == 0 {
                            e
                        } else {
                            self.outer_param(depth, e)
                        });
                    }
                    if scalar && fields.len() == 1 {
                        return Ok(fields.pop().expect("one column"));
                    }
                    return Ok(Expr::Row(fields));
                }
            }
        }
        // Not found anywhere: PostgreSQL's errors, with hints from this level.
        if !qual.is_empty() {
            let table = qual.last().cloned().unwrap_or_default();
            let schema_mismatch = qual.len() > 1
                && scope
                    .ns
                    .iter()
                    .any(|i| i.rel_visible && !i.has_alias && i.refname == table);
            if schema_mismatch
                || scope.ns.iter().any(|i| i.hidden && i.refname == table)
                || self
                    .not_visible()
                    .any(|i| i.rel_visible && i.refname == table)
            {
                return Err(self
                    .error(
                        sqlstate::UNDEFINED_TABLE,
                        format!("invalid reference to FROM-clause entry for table \"{table}\""),
                        l,
                    )
                    .with_hint(format!("There is an entry for table \"{table}\", but it cannot be referenced from this part of the query.")));
            }
            if let Some(item) = scope
                .ns
                .iter()
                .find(|i| i.has_alias && i.relname == table && i.rel_visible)
            {
                return Err(self
                    .error(
                        sqlstate::UNDEFINED_TABLE,
                        format!("invalid reference to FROM-clause entry for table \"{table}\""),
                        l,
                    )
                    .with_hint(format!(
                        "Perhaps you meant to reference the table alias \"{}\".",
                        item.refname
                    )));
            }
            return Err(self.error(
                sqlstate::UNDEFINED_TABLE,
                format!("missing FROM-clause entry for table \"{table}\""),
                l,
            ));
        }
        let mut e = self.error(
            sqlstate::UNDEFINED_COLUMN,
            format!("column \"{colname}\" does not exist"),
            l,
        );
        if let Some(item) = self
            .not_visible()
            .find(|i| !i.refname.is_empty() && i.columns.iter().any(|c| &c.name == colname))
        {
            e = e.with_hint(format!("There is a column named \"{colname}\" in table \"{}\", but it cannot be referenced from this part of the query.", item.refname));
        } else if let Some(hint) = fuzzy_hint(colname, &scope.ns) {
            e = e.with_hint(hint);
        }
        Err(e)
    }

    /// FROM items that exist but cannot be referenced from here.
    fn not_visible(&self) -> impl Iterator<Item = &NsItem> {
        self.outer.from_seen.iter().chain(&self.outer.invisible)
    }

    fn lookup_column(
        &self,
        ns: &[NsItem],
        qual: &[String],
        colname: &str,
        l: Option<usize>,
    ) -> PgResult<Lookup> {
        let ambiguous = || {
            let shown = if qual.is_empty() {
                colname.to_string()
            } else {
                format!("{}.{colname}", qual.join("."))
            };
            self.error(
                sqlstate::AMBIGUOUS_COLUMN,
                format!("column reference \"{shown}\" is ambiguous"),
                l,
            )
        };
        if qual.is_empty() {
            let mut found: Option<&Expr> = None;
            for item in ns.iter().filter(|i| i.cols_visible) {
                for c in item.columns.iter().filter(|c| c.name == colname) {
                    if found.is_some() {
                        return Err(ambiguous());
                    }
                    found = Some(&c.expr);
                }
            }
            return Ok(match found {
                Some(e) => Lookup::Found(e.clone()),
                None => Lookup::Absent,
            });
        }
        let Some(item) = ns
            .iter()
            .find(|i| i.rel_visible && self.qualifier_matches(qual, i))
        else {
            return Ok(Lookup::Absent);
        };
        let mut matches = item.columns.iter().filter(|c| c.name == colname);
        match (matches.next(), matches.next()) {
            (Some(_), Some(_)) => Err(ambiguous()),
            (Some(c), None) => Ok(Lookup::Found(c.expr.clone())),
            _ => {
                let mut e = self.error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column {}.{colname} does not exist", qual.join(".")),
                    l,
                );
                if let Some(hint) = fuzzy_hint(colname, ns) {
                    e = e.with_hint(hint);
                }
                Err(e)
            }
        }
    }

    /// A column of enclosing level `depth`, read through a parameter slot.
    fn outer_param(&mut self, depth: usize, e: Expr) -> Expr {
        let (ty, typmod) = (e.ty(), e.typmod());
        let level = &mut self.outer.levels[depth];
        let slot = match level.params.iter().find(|(_, p)| *p == e) {
            Some((s, _)) => *s,
            None => {
                let s = self.outer.next_slot;
                self.outer.next_slot += 1;
                level.params.push((s, e));
                s
            }
        };
        for inner in &mut self.outer.levels[depth + 1..] {
            inner.ext_dep = true;
        }
        Expr::ExecParam { slot, ty, typmod }
    }

    /// Analyses the SELECT of a subquery in an expression of `scope`'s
    /// query; returns it with the parameters it reads from that query and
    /// whether it is correlated.
    pub(crate) fn analyze_sublink_select(
        &mut self,
        scope: &Scope,
        sel: &pb::SelectStmt,
    ) -> PgResult<(Query, Params, bool)> {
        self.outer.levels.push(OuterLevel {
            ns: scope.ns.clone(),
            params: Vec::new(),
            ext_dep: false,
            merged: false,
        });
        let r = self.analyze_select(sel);
        let level = self.outer.levels.pop().expect("pushed above");
        let q = r?;
        let correlated = !level.params.is_empty() || level.ext_dep;
        Ok((q, level.params, correlated))
    }

    // --- UPDATE ... FROM, DELETE ... USING ---------------------------------------

    /// Analyses the extra FROM items of `UPDATE ... FROM` / `DELETE ...
    /// USING` and, through `f`, the clauses that see them together with the
    /// target table (`target`'s namespace). The target's columns become
    /// parameters: the statement runs as a correlated subquery over the
    /// FROM items per target row. Returns `f`'s result, the FROM tree and
    /// the parameters.
    pub(crate) fn with_dml_from<T>(
        &mut self,
        target: &Scope,
        from: &[pg_query::Node],
        f: impl FnOnce(&mut Self, &mut Scope) -> PgResult<T>,
    ) -> PgResult<(T, FromTree, Params)> {
        // The FROM items themselves cannot see the target.
        let mark = self.outer.invisible.len();
        self.outer.invisible.extend(target.ns.iter().cloned());
        let r = self.transform_from_clause(from);
        self.outer.invisible.truncate(mark);
        let (tree, ns) = r?;
        self.check_namespace_conflicts(&target.ns, &ns)?;
        self.outer.levels.push(OuterLevel {
            ns: target.ns.clone(),
            params: Vec::new(),
            ext_dep: false,
            merged: true,
        });
        let mut scope = Scope::new(ExprKind::Where);
        scope.ns = ns;
        scope.sees_dml_target = true;
        let r = f(self, &mut scope);
        let level = self.outer.levels.pop().expect("pushed above");
        Ok((r?, tree.expect("a FROM list with items"), level.params))
    }

    /// A correlated subquery over `tree` filtered by `qual`: EXISTS when
    /// `value` is None, else the value of its first row.
    pub(crate) fn dml_from_sublink(
        &mut self,
        tree: &FromTree,
        qual: &Option<Expr>,
        value: Option<Expr>,
        params: &[(usize, Expr)],
    ) -> Expr {
        use super::super::expr::SubLinkKind;
        use super::super::types::Datum;
        let (kind, ty, targets, limit_count) = match value {
            None => (SubLinkKind::Exists, Type::Bool, Vec::new(), None),
            Some(e) => (
                SubLinkKind::Expr,
                e.ty(),
                vec![TargetEntry {
                    expr: e,
                    name: String::new(),
                    resjunk: false,
                }],
                Some(Expr::Const {
                    value: Datum::Int8(1),
                    ty: Type::Int8,
                    typmod: -1,
                    loc: Loc(None),
                }),
            ),
        };
        let index = self.subqueries.len();
        self.subqueries.push(Query {
            from: Some(tree.clone()),
            where_qual: qual.clone(),
            limit_count,
            ..Query::of_targets(targets)
        });
        Expr::SubLink {
            index,
            kind,
            ty,
            params: params.to_vec(),
            correlated: true,
        }
    }

    // --- * ----------------------------------------------------------------------

    /// `*` (every visible item's columns) or `t.*` in a target list.
    pub(crate) fn expand_star(
        &self,
        scope: &Scope,
        cr: &pb::ColumnRef,
    ) -> PgResult<Vec<TargetEntry>> {
        let l = loc(cr.location);
        let entry = |c: &NsColumn| TargetEntry {
            expr: with_loc(c.expr.clone(), l),
            name: c.name.clone(),
            resjunk: false,
        };
        if cr.fields.len() == 1 {
            if !scope.ns.iter().any(|i| i.cols_visible) {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "SELECT * with no tables specified is not valid",
                    l,
                ));
            }
            return Ok(scope
                .ns
                .iter()
                .filter(|i| i.cols_visible)
                .flat_map(|i| i.columns.iter().map(entry))
                .collect());
        }
        let qual = str_list(&cr.fields[..cr.fields.len() - 1]);
        match scope
            .ns
            .iter()
            .find(|i| i.rel_visible && self.qualifier_matches(&qual, i))
        {
            Some(item) => Ok(item.columns.iter().map(entry).collect()),
            None => {
                let table = qual.last().cloned().unwrap_or_default();
                match scope
                    .ns
                    .iter()
                    .find(|i| i.has_alias && i.relname == table && i.rel_visible)
                {
                    Some(item) => {
                        Err(self.missing_from_entry(&qual, &item.relname, &item.refname, true, l))
                    }
                    None => Err(self.missing_from_entry(&qual, "", "", false, l)),
                }
            }
        }
    }
}

/// Puts the reference's location on a plain column (for later errors).
fn with_loc(e: Expr, l: Option<usize>) -> Expr {
    match e {
        Expr::Column {
            index,
            ty,
            typmod,
            name,
            ..
        } => Expr::Column {
            index,
            ty,
            typmod,
            name,
            loc: Loc(l),
        },
        other => other,
    }
}

/// `errorMissingColumn`'s fuzzy match over the visible items' columns.
fn fuzzy_hint(name: &str, ns: &[NsItem]) -> Option<String> {
    let visible: Vec<&NsItem> = ns.iter().filter(|i| i.rel_visible).collect();
    if let [item] = visible.as_slice() {
        let cols: Vec<ColumnDef> = item
            .columns
            .iter()
            .map(|c| ColumnDef {
                name: c.name.clone(),
                ty: c.expr.ty(),
                typmod: -1,
            })
            .collect();
        return super::expr::fuzzy_column_hint(name, &item.refname, &cols);
    }
    const MAX_FUZZY_DISTANCE: usize = 3;
    let mut distance = MAX_FUZZY_DISTANCE + 1;
    let mut first: Option<(&str, &str)> = None;
    let mut second: Option<(&str, &str)> = None;
    for item in ns.iter().filter(|i| i.rel_visible) {
        let mut best_here: Option<(usize, &str)> = None;
        for c in &item.columns {
            let d = super::expr::levenshtein(&c.name, name);
            if d > name.chars().count() / 2 || d > MAX_FUZZY_DISTANCE {
                continue;
            }
            if best_here.is_none_or(|(bd, _)| d < bd) {
                best_here = Some((d, &c.name));
            }
        }
        let Some((d, col)) = best_here else { continue };
        if d < distance {
            distance = d;
            first = Some((&item.refname, col));
            second = None;
        } else if d == distance && second.is_none() {
            second = Some((&item.refname, col));
        }
    }
    match (first, second) {
        (Some((t, a)), None) => Some(format!(
            "Perhaps you meant to reference the column \"{t}.{a}\"."
        )),
        (Some((t, a)), Some((u, b))) => Some(format!(
            "Perhaps you meant to reference the column \"{t}.{a}\" or the column \"{u}.{b}\"."
        )),
        _ => None,
    }
}

/// Whether a type's equality matches equality of [`super::super::adt::hash_key`]
/// (so a hash join may use it): the same type on both sides, or integers.
pub fn hashable_equality(a: Type, b: Type) -> bool {
    let int = |t: Type| matches!(t, Type::Int2 | Type::Int4 | Type::Int8);
    if int(a) && int(b) {
        return true;
    }
    a == b
        && matches!(
            a,
            Type::Int2
                | Type::Int4
                | Type::Int8
                | Type::Oid
                | Type::Bool
                | Type::Text
                | Type::Varchar
                | Type::Name
                | Type::Numeric
                | Type::Float4
                | Type::Float8
                | Type::Date
                | Type::Timestamp
                | Type::Timestamptz
                | Type::Uuid
                | Type::Bytea
        )
}

fn conjuncts_of<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::And(args) => args.iter().for_each(|a| conjuncts_of(a, out)),
        other => out.push(other),
    }
}

/// The smallest and largest column index `e` reads.
fn column_span(e: &Expr) -> Option<(usize, usize)> {
    fn go(e: &Expr, span: &mut Option<(usize, usize)>) {
        if let Expr::Column { index, .. } = e {
            *span = Some(match *span {
                None => (*index, *index),
                Some((lo, hi)) => (lo.min(*index), hi.max(*index)),
            });
        }
        e.for_each_child(&mut |c| go(c, span));
    }
    let mut span = None;
    go(e, &mut span);
    span
}

/// The name and location of the first column `e` reads.
fn first_column_ref(e: &Expr) -> Option<(String, Option<usize>)> {
    if let Expr::Column { name, loc, .. } = e {
        return Some((name.clone(), loc.0));
    }
    let mut found = None;
    e.for_each_child(&mut |c| {
        if found.is_none() {
            found = first_column_ref(c);
        }
    });
    found
}

/// The schema a FROM relation lives in.
fn relation_schema(source: &RteSource) -> Option<String> {
    use super::super::catalog::RelationSource;
    let RteSource::Relation(rel) = source else {
        return None;
    };
    Some(match &rel.source {
        RelationSource::Table(t) if t.namespace_oid == crate::catalog::defs::PUBLIC_NAMESPACE => {
            "public".to_string()
        }
        _ => "pg_catalog".to_string(),
    })
}
