//! Analysed expressions (PostgreSQL's `primnodes.h`): what the analyser
//! produces from raw parse trees and the executor evaluates.
//!
//! Every node is typed. Column references are positions in the row the
//! expression is evaluated against (the scan's row below an aggregate, the
//! aggregate's output row — group keys, then aggregate results — above it),
//! so the executor needs no name lookups. Operators are function calls
//! ([`Expr::Func`]) of the registry entry the analyser resolved.
//!
//! Locations ([`Loc`]) are kept only where later errors need them and never
//! take part in equality, so that `GROUP BY x` matches `x` written elsewhere,
//! as PostgreSQL's `equal()` ignores locations.

use super::functions::FuncId;
use super::types::{Datum, Type};

/// A byte offset into the query string, ignored by `==`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loc(pub Option<usize>);

impl PartialEq for Loc {
    fn eq(&self, _: &Loc) -> bool {
        true
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolTestKind {
    IsTrue,
    IsNotTrue,
    IsFalse,
    IsNotFalse,
    IsUnknown,
    IsNotUnknown,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Const {
        value: Datum,
        ty: Type,
        typmod: i32,
        loc: Loc,
    },
    /// A column of the input row; `name` is how errors print it (`t.x`).
    Column {
        index: usize,
        ty: Type,
        typmod: i32,
        name: String,
        loc: Loc,
    },
    Func {
        func: FuncId,
        args: Vec<Expr>,
        arg_types: Vec<Type>,
        ty: Type,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `CASE [arg] WHEN .. THEN .. ELSE default END`; with `arg`, each
    /// condition compares [`Expr::CaseTest`] (the arg's value) with a WHEN value.
    Case {
        arg: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        default: Box<Expr>,
        ty: Type,
    },
    CaseTest {
        ty: Type,
    },
    /// `arg IN (a, b, ...)` / `arg NOT IN (...)`: `arg` is evaluated once
    /// and stands as [`Expr::CaseTest`] in `test`, the OR (or AND) of the
    /// comparisons with each item (PostgreSQL's ScalarArrayOpExpr over a
    /// constant list evaluates its left side once too).
    InList {
        arg: Box<Expr>,
        test: Box<Expr>,
    },
    /// `$number` (1-based), a parameter of the extended query protocol.
    Param {
        number: usize,
        ty: Type,
    },
    Coalesce {
        args: Vec<Expr>,
        ty: Type,
    },
    MinMax {
        greatest: bool,
        args: Vec<Expr>,
        ty: Type,
    },
    /// `NULLIF(left, right)`: NULL when `eq(left, right)`, else `left`.
    NullIf {
        left: Box<Expr>,
        right: Box<Expr>,
        eq: FuncId,
        ty: Type,
    },
    NullTest {
        arg: Box<Expr>,
        is_not: bool,
    },
    BoolTest {
        arg: Box<Expr>,
        kind: BoolTestKind,
    },
    /// Run-time coercion to `to` (with length coercion to `typmod`).
    Cast {
        arg: Box<Expr>,
        to: Type,
        typmod: i32,
    },
    /// `left IS [NOT] DISTINCT FROM right`.
    Distinct {
        left: Box<Expr>,
        right: Box<Expr>,
        eq: FuncId,
        not: bool,
    },
    /// An aggregate call during analysis (index into the query's aggregates);
    /// replaced by a column of the aggregate's output before planning.
    Agg {
        index: usize,
        ty: Type,
    },
    /// A window function call during analysis (index into the query's
    /// window functions); replaced by a column of its WindowAgg node's
    /// output before execution.
    WindowFunc {
        index: usize,
        ty: Type,
    },
    /// A subquery in an expression (index into the statement's subplans).
    /// `params` are the values of the outer query it reads: each is
    /// evaluated against the current row and stored in executor parameter
    /// slot `.0` before the subquery runs (PostgreSQL's SubPlan `parParam`
    /// and `args`). `correlated` subqueries (own params, or reading params
    /// an enclosing subquery sets) run again for each evaluation; the
    /// others run once and keep their rows, like InitPlans.
    SubLink {
        index: usize,
        kind: SubLinkKind,
        ty: Type,
        params: Vec<(usize, Expr)>,
        correlated: bool,
    },
    /// A column of an outer query inside a correlated subquery: the value
    /// of executor parameter `slot`, set by the enclosing [`Expr::SubLink`]
    /// (PostgreSQL's `PARAM_EXEC`).
    ExecParam {
        slot: usize,
        ty: Type,
        typmod: i32,
    },
    Array(Box<ArrayExpr>),
    /// `ROW(a, b, ...)` or a whole-row reference: a record of its fields.
    Row(Vec<Expr>),
    /// Field `field` (0-based) of a record value (PostgreSQL's
    /// FieldSelect; built by rewrites such as SEARCH BREADTH FIRST's depth).
    FieldSelect {
        arg: Box<Expr>,
        field: usize,
        ty: Type,
    },
}

/// Array expressions ([`super::adt::array`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayExpr {
    /// `ARRAY[a, b]` of type `ty`: elements of its element type, or with
    /// `multidims`, sub-arrays of type `ty` (`ARRAY[[1,2],[3,4]]`).
    Construct {
        elems: Vec<Expr>,
        ty: Type,
        multidims: bool,
    },
    /// `arg[i][j]` (every `lower` None, `slice` false) or a slice
    /// `arg[l:u]`, `arg[:u]`, `arg[l:]`; subscripts are int4.
    Subscript {
        arg: Expr,
        lower: Vec<Option<Expr>>,
        upper: Vec<Option<Expr>>,
        slice: bool,
        ty: Type,
    },
    /// `UPDATE ... SET arg[i][j] = value`: `arg` with one element replaced
    /// (`array_set_element`; a NULL `arg` becomes a new array).
    Assign {
        arg: Expr,
        subs: Vec<Expr>,
        value: Expr,
        ty: Type,
    },
    /// `left op ANY (array)` / `op ALL`: the operator `func` applied to the
    /// left value and each element (PostgreSQL's ScalarArrayOpExpr).
    ScalarArrayOp {
        func: FuncId,
        left: Expr,
        array: Expr,
        all: bool,
        arg_types: Vec<Type>,
    },
}

impl ArrayExpr {
    pub fn ty(&self) -> Type {
        match self {
            ArrayExpr::Construct { ty, .. }
            | ArrayExpr::Subscript { ty, .. }
            | ArrayExpr::Assign { ty, .. } => *ty,
            ArrayExpr::ScalarArrayOp { .. } => Type::Bool,
        }
    }

    fn children_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            ArrayExpr::Construct { elems, .. } => elems.iter_mut().collect(),
            ArrayExpr::Subscript {
                arg, lower, upper, ..
            } => std::iter::once(arg)
                .chain(lower.iter_mut().flatten())
                .chain(upper.iter_mut().flatten())
                .collect(),
            ArrayExpr::ScalarArrayOp { left, array, .. } => vec![left, array],
            ArrayExpr::Assign {
                arg, subs, value, ..
            } => std::iter::once(arg)
                .chain(subs.iter_mut())
                .chain(std::iter::once(value))
                .collect(),
        }
    }

    fn children(&self) -> Vec<&Expr> {
        match self {
            ArrayExpr::Construct { elems, .. } => elems.iter().collect(),
            ArrayExpr::Subscript {
                arg, lower, upper, ..
            } => std::iter::once(arg)
                .chain(lower.iter().flatten())
                .chain(upper.iter().flatten())
                .collect(),
            ArrayExpr::ScalarArrayOp { left, array, .. } => vec![left, array],
            ArrayExpr::Assign {
                arg, subs, value, ..
            } => std::iter::once(arg)
                .chain(subs.iter())
                .chain(std::iter::once(value))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum SubLinkKind {
    /// `EXISTS (SELECT ...)`.
    Exists,
    /// `(SELECT x ...)`: at most one row.
    Expr,
    /// `x op ANY (SELECT y ...)` / `x IN (...)`: `cmp` compares the test
    /// value with [`Expr::CaseTest`], which stands for each row's value.
    Any { cmp: Box<Expr> },
    /// `x op ALL (SELECT y ...)`.
    All { cmp: Box<Expr> },
    /// `ARRAY(SELECT x ...)`: the rows' values as an array.
    Array,
}

impl Expr {
    pub fn ty(&self) -> Type {
        match self {
            Expr::Const { ty, .. }
            | Expr::Column { ty, .. }
            | Expr::Func { ty, .. }
            | Expr::Case { ty, .. }
            | Expr::CaseTest { ty }
            | Expr::Param { ty, .. }
            | Expr::Coalesce { ty, .. }
            | Expr::MinMax { ty, .. }
            | Expr::NullIf { ty, .. }
            | Expr::ExecParam { ty, .. } => *ty,
            Expr::And(_)
            | Expr::Or(_)
            | Expr::Not(_)
            | Expr::NullTest { .. }
            | Expr::BoolTest { .. }
            | Expr::InList { .. }
            | Expr::Distinct { .. } => Type::Bool,
            Expr::Cast { to, .. } => *to,
            Expr::Agg { ty, .. } | Expr::WindowFunc { ty, .. } | Expr::SubLink { ty, .. } => *ty,
            Expr::Array(a) => a.ty(),
            Expr::Row(_) => Type::Record,
            Expr::FieldSelect { ty, .. } => *ty,
        }
    }

    /// `exprTypmod`.
    pub fn typmod(&self) -> i32 {
        match self {
            Expr::Const { typmod, .. }
            | Expr::Column { typmod, .. }
            | Expr::Cast { typmod, .. }
            | Expr::ExecParam { typmod, .. } => *typmod,
            Expr::NullIf { left, .. } => left.typmod(),
            Expr::Coalesce { args, .. } | Expr::MinMax { args, .. } => common_typmod(args.iter()),
            Expr::Case { whens, default, .. } => {
                common_typmod(whens.iter().map(|(_, r)| r).chain([default.as_ref()]))
            }
            _ => -1,
        }
    }

    pub fn is_null_const(&self) -> bool {
        matches!(
            self,
            Expr::Const {
                value: Datum::Null,
                ..
            }
        )
    }

    /// Calls `f` on every direct child.
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Expr::Const { .. }
            | Expr::Column { .. }
            | Expr::CaseTest { .. }
            | Expr::Param { .. }
            | Expr::ExecParam { .. }
            | Expr::Agg { .. }
            | Expr::WindowFunc { .. } => {}
            Expr::Func { args, .. }
            | Expr::And(args)
            | Expr::Or(args)
            | Expr::Coalesce { args, .. }
            | Expr::MinMax { args, .. } => args.iter().for_each(f),
            Expr::Not(a)
            | Expr::NullTest { arg: a, .. }
            | Expr::BoolTest { arg: a, .. }
            | Expr::Cast { arg: a, .. } => f(a),
            Expr::Case {
                arg,
                whens,
                default,
                ..
            } => {
                if let Some(a) = arg {
                    f(a);
                }
                for (c, r) in whens {
                    f(c);
                    f(r);
                }
                f(default);
            }
            Expr::NullIf { left, right, .. } | Expr::Distinct { left, right, .. } => {
                f(left);
                f(right);
            }
            Expr::InList { arg, test } => {
                f(arg);
                f(test);
            }
            Expr::SubLink { kind, params, .. } => {
                match kind {
                    SubLinkKind::Any { cmp } | SubLinkKind::All { cmp } => f(cmp),
                    SubLinkKind::Exists | SubLinkKind::Expr | SubLinkKind::Array => {}
                }
                params.iter().for_each(|(_, e)| f(e));
            }
            Expr::Array(a) => a.children().into_iter().for_each(f),
            Expr::Row(args) => args.iter().for_each(f),
            Expr::FieldSelect { arg, .. } => f(arg),
        }
    }

    /// Whether this is a call of a set-returning function (`proretset`).
    pub fn is_set_call(&self) -> bool {
        matches!(self, Expr::Func { func, .. }
            if super::functions::registry().get(*func).srf.is_some())
    }

    /// Whether any node satisfies `pred`.
    pub fn any(&self, pred: &dyn Fn(&Expr) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        let mut found = false;
        self.for_each_child(&mut |c| found = found || c.any(pred));
        found
    }

    /// Rebuilds the tree bottom-up... top-down: `f` may replace a node
    /// (returning Some) or let the walk descend into its children (None).
    pub fn rewrite<E>(
        self,
        f: &mut dyn FnMut(&Expr) -> Result<Option<Expr>, E>,
    ) -> Result<Expr, E> {
        if let Some(r) = f(&self)? {
            return Ok(r);
        }
        let mut go = |e: Expr| e.rewrite(f);
        Ok(match self {
            e @ (Expr::Const { .. }
            | Expr::Column { .. }
            | Expr::CaseTest { .. }
            | Expr::Param { .. }
            | Expr::ExecParam { .. }
            | Expr::Agg { .. }
            | Expr::WindowFunc { .. }) => e,
            Expr::Func {
                func,
                args,
                arg_types,
                ty,
            } => Expr::Func {
                func,
                args: args.into_iter().map(&mut go).collect::<Result<_, E>>()?,
                arg_types,
                ty,
            },
            Expr::And(args) => Expr::And(args.into_iter().map(&mut go).collect::<Result<_, E>>()?),
            Expr::Or(args) => Expr::Or(args.into_iter().map(&mut go).collect::<Result<_, E>>()?),
            Expr::Coalesce { args, ty } => Expr::Coalesce {
                args: args.into_iter().map(&mut go).collect::<Result<_, E>>()?,
                ty,
            },
            Expr::MinMax { greatest, args, ty } => Expr::MinMax {
                greatest,
                args: args.into_iter().map(&mut go).collect::<Result<_, E>>()?,
                ty,
            },
            Expr::Not(a) => Expr::Not(Box::new(go(*a)?)),
            Expr::NullTest { arg, is_not } => Expr::NullTest {
                arg: Box::new(go(*arg)?),
                is_not,
            },
            Expr::BoolTest { arg, kind } => Expr::BoolTest {
                arg: Box::new(go(*arg)?),
                kind,
            },
            Expr::Cast { arg, to, typmod } => Expr::Cast {
                arg: Box::new(go(*arg)?),
                to,
                typmod,
            },
            Expr::Case {
                arg,
                whens,
                default,
                ty,
            } => Expr::Case {
                arg: match arg {
                    Some(a) => Some(Box::new(go(*a)?)),
                    None => None,
                },
                whens: whens
                    .into_iter()
                    .map(|(c, r)| Ok((go(c)?, go(r)?)))
                    .collect::<Result<_, E>>()?,
                default: Box::new(go(*default)?),
                ty,
            },
            Expr::NullIf {
                left,
                right,
                eq,
                ty,
            } => Expr::NullIf {
                left: Box::new(go(*left)?),
                right: Box::new(go(*right)?),
                eq,
                ty,
            },
            Expr::SubLink {
                index,
                kind,
                ty,
                params,
                correlated,
            } => Expr::SubLink {
                index,
                params: params
                    .into_iter()
                    .map(|(s, e)| Ok((s, go(e)?)))
                    .collect::<Result<_, E>>()?,
                correlated,
                kind: match kind {
                    SubLinkKind::Any { cmp } => SubLinkKind::Any {
                        cmp: Box::new(go(*cmp)?),
                    },
                    SubLinkKind::All { cmp } => SubLinkKind::All {
                        cmp: Box::new(go(*cmp)?),
                    },
                    other => other,
                },
                ty,
            },
            Expr::Distinct {
                left,
                right,
                eq,
                not,
            } => Expr::Distinct {
                left: Box::new(go(*left)?),
                right: Box::new(go(*right)?),
                eq,
                not,
            },
            Expr::InList { arg, test } => Expr::InList {
                arg: Box::new(go(*arg)?),
                test: Box::new(go(*test)?),
            },
            Expr::Row(args) => Expr::Row(args.into_iter().map(&mut go).collect::<Result<_, E>>()?),
            Expr::FieldSelect { arg, field, ty } => Expr::FieldSelect {
                arg: Box::new(go(*arg)?),
                field,
                ty,
            },
            Expr::Array(mut a) => {
                for c in a.children_mut() {
                    let taken = std::mem::replace(c, Expr::CaseTest { ty: Type::Unknown });
                    *c = go(taken)?;
                }
                Expr::Array(a)
            }
        })
    }
}

fn common_typmod<'a>(mut exprs: impl Iterator<Item = &'a Expr>) -> i32 {
    let Some(first) = exprs.next() else { return -1 };
    let t = first.typmod();
    if exprs.all(|e| e.typmod() == t) {
        t
    } else {
        -1
    }
}
