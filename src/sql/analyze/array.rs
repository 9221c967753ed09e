//! Analysis of array expressions (`parse_expr.c`'s transformArrayExpr,
//! transformIndirection and make_scalar_array_op): `ARRAY[...]`,
//! subscripts and slices, `x op ANY/ALL (array)`. The nodes are
//! [`ArrayExpr`]s, evaluated by `functions::array::eval_expr`.

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::super::adt::CoercionContext;
use super::super::expr::{ArrayExpr, Expr};
use super::super::types::Type;
use super::names::raw_location;
use super::{Analyzer, Scope, node_of};
use crate::utils::elog::{PgResult, sqlstate};

fn loc(l: i32) -> Option<usize> {
    (l >= 0).then_some(l as usize)
}

impl<'a> Analyzer<'a> {
    /// `ARRAY[...]`; `target` is the array type of an enclosing cast
    /// (`ARRAY[]::int[]`), which also types the elements.
    pub(crate) fn transform_array_expr(
        &mut self,
        scope: &mut Scope,
        a: &pb::AArrayExpr,
        target: Option<Type>,
    ) -> PgResult<Expr> {
        let l = loc(a.location);
        let target = target.filter(|t| t.elem().is_some());
        let mut exprs = Vec::new();
        let mut locs = Vec::new();
        let mut multidims = false;
        for n in &a.elements {
            let node = n.node.as_ref().expect("ARRAY element");
            let e = match node {
                NodeEnum::AArrayExpr(sub) => {
                    multidims = true;
                    self.transform_array_expr(scope, sub, target)?
                }
                other => self.transform_expr(scope, other)?,
            };
            exprs.push(e);
            locs.push(raw_location(node));
        }
        if exprs.is_empty() {
            let Some(t) = target else {
                return Err(self
                    .error("42P18", "cannot determine type of empty array", l)
                    .with_hint(
                        "Explicitly cast to the desired type, for example ARRAY[]::integer[].",
                    ));
            };
            return Ok(Expr::Array(Box::new(ArrayExpr::Construct {
                elems: Vec::new(),
                ty: t,
                multidims: false,
            })));
        }
        // An element of an array type makes a multi-dimensional array.
        multidims = multidims || exprs.iter().any(|e| e.ty().elem().is_some());
        let (exprs, ty) = match target {
            Some(t) => {
                let want = if multidims {
                    t
                } else {
                    t.elem().expect("array")
                };
                let mut out = Vec::new();
                for (e, el) in exprs.into_iter().zip(&locs) {
                    out.push(self.coerce(e, want, -1, CoercionContext::Explicit, *el)?);
                }
                (out, t)
            }
            None => {
                let (exprs, common) = self.coerce_to_common(exprs, &locs, "ARRAY")?;
                let ty = if multidims {
                    if common.elem().is_none() {
                        return Err(self.error(
                            sqlstate::UNDEFINED_OBJECT,
                            format!(
                                "could not find element type for data type {}",
                                common.name()
                            ),
                            l,
                        ));
                    }
                    common
                } else {
                    common.array().ok_or_else(|| {
                        self.error(
                            sqlstate::UNDEFINED_OBJECT,
                            format!("could not find array type for data type {}", common.name()),
                            l,
                        )
                    })?
                };
                (exprs, ty)
            }
        };
        Ok(Expr::Array(Box::new(ArrayExpr::Construct {
            elems: exprs,
            ty,
            multidims,
        })))
    }

    /// `arg[i]`, `arg[i][j]`, `arg[l:u]` (transformContainerSubscripts).
    pub(crate) fn transform_indirection(
        &mut self,
        scope: &mut Scope,
        ind: &pb::AIndirection,
    ) -> PgResult<Expr> {
        let arg_node = node_of(&ind.arg).expect("indirection argument");
        let arg = self.transform_expr(scope, arg_node)?;
        let l = raw_location(arg_node);
        let mut subs: Vec<&pb::AIndices> = Vec::new();
        for n in &ind.indirection {
            match n.node.as_ref() {
                Some(NodeEnum::AIndices(i)) => subs.push(i),
                _ => return Err(self.unsupported("field selection", l)),
            }
        }
        let ty = arg.ty();
        let Some(elem) = ty.elem() else {
            return Err(self.error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot subscript type {} because it does not support subscripting",
                    ty.name()
                ),
                l,
            ));
        };
        let slice = subs.iter().any(|s| s.is_slice);
        let mut lower = Vec::new();
        let mut upper = Vec::new();
        for s in subs {
            let mut sub = |this: &mut Self,
                           n: &Option<Box<pg_query::Node>>|
             -> PgResult<Option<Expr>> {
                let Some(node) = node_of(n) else {
                    return Ok(None);
                };
                let e = this.transform_expr(scope, node)?;
                let el = raw_location(node);
                let t = e.ty();
                if t != Type::Int4
                    && t != Type::Unknown
                    && !super::super::adt::can_coerce(t, Type::Int4, CoercionContext::Assignment)
                {
                    return Err(this.error(
                        sqlstate::DATATYPE_MISMATCH,
                        "array subscript must have type integer",
                        el,
                    ));
                }
                Ok(Some(this.coerce(
                    e,
                    Type::Int4,
                    -1,
                    CoercionContext::Assignment,
                    el,
                )?))
            };
            let u = sub(self, &s.uidx)?;
            let lo = if s.is_slice {
                sub(self, &s.lidx)?
            } else if slice {
                // A plain subscript among slices is the slice [1:n].
                Some(Expr::Const {
                    value: super::super::types::Datum::Int4(1),
                    ty: Type::Int4,
                    typmod: -1,
                    loc: Default::default(),
                })
            } else {
                None
            };
            lower.push(lo);
            upper.push(u);
        }
        let result = if slice { ty } else { elem };
        Ok(Expr::Array(Box::new(ArrayExpr::Subscript {
            arg,
            lower,
            upper,
            slice,
            ty: result,
        })))
    }

    /// `left op ANY (array)` / `op ALL` (make_scalar_array_op).
    pub(crate) fn transform_scalar_array_op(
        &mut self,
        scope: &mut Scope,
        name: &str,
        lnode: &NodeEnum,
        rnode: &NodeEnum,
        all: bool,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let left = self.transform_expr(scope, lnode)?;
        let mut right = self.transform_expr(scope, rnode)?;
        let rl = raw_location(rnode);
        if right.ty() == Type::Unknown {
            let lt = if left.ty() == Type::Unknown {
                Type::Text
            } else {
                left.ty()
            };
            if let Some(at) = lt.array() {
                right = self.coerce(right, at, -1, CoercionContext::Implicit, rl)?;
            }
        }
        let Some(elem) = right.ty().elem() else {
            return Err(self.error(
                "42809",
                "op ANY/ALL (array) requires array on right side",
                l,
            ));
        };
        let op = self.make_op(name, Some(left), Expr::CaseTest { ty: elem }, l)?;
        let Expr::Func {
            func, mut args, ty, ..
        } = op
        else {
            unreachable!("make_op returns a function call")
        };
        if ty != Type::Bool {
            return Err(self.error(
                "42809",
                "op ANY/ALL (array) requires operator to yield boolean",
                l,
            ));
        }
        let placeholder = args.pop().expect("right operand");
        let left = args.pop().expect("left operand");
        let want = placeholder.ty();
        if want != elem {
            let at = want.array().ok_or_else(|| {
                self.error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("could not find array type for data type {}", want.name()),
                    l,
                )
            })?;
            right = self.coerce(right, at, -1, CoercionContext::Implicit, rl)?;
        }
        let arg_types = vec![left.ty(), want];
        Ok(Expr::Array(Box::new(ArrayExpr::ScalarArrayOp {
            func,
            left,
            array: right,
            all,
            arg_types,
        })))
    }

    /// `SET col[i][j] = value` (transformAssignmentIndirection): the new
    /// value of the whole column. Slices in assignments are not supported.
    pub(crate) fn transform_array_assignment(
        &mut self,
        scope: &mut Scope,
        column: &str,
        col_ty: Type,
        indirection: &[pg_query::Node],
        value: Expr,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let Some(elem) = col_ty.elem() else {
            return Err(self.error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot subscript type {} because it does not support subscripting",
                    col_ty.name()
                ),
                l,
            ));
        };
        let mut subs = Vec::new();
        for n in indirection {
            let Some(NodeEnum::AIndices(ix)) = n.node.as_ref() else {
                return Err(self.unsupported("field selection in assignments", l));
            };
            if ix.is_slice {
                return Err(self.unsupported("slices in assignments", l));
            }
            let node = node_of(&ix.uidx).expect("a subscript");
            let e = self.transform_expr(scope, node)?;
            let el = raw_location(node);
            let t = e.ty();
            if t != Type::Unknown
                && !super::super::adt::can_coerce(t, Type::Int4, CoercionContext::Assignment)
            {
                return Err(self.error(
                    sqlstate::DATATYPE_MISMATCH,
                    "array subscript must have type integer",
                    el,
                ));
            }
            subs.push(self.coerce(e, Type::Int4, -1, CoercionContext::Assignment, el)?);
        }
        let from = value.ty();
        if from != elem
            && from != Type::Unknown
            && !super::super::adt::can_coerce(from, elem, CoercionContext::Assignment)
        {
            return Err(self
                .error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "subscripted assignment to \"{column}\" requires type {} but expression is of type {}",
                        elem.name(),
                        from.name()
                    ),
                    l,
                )
                .with_hint("You will need to rewrite or cast the expression."));
        }
        let value = self.coerce(value, elem, -1, CoercionContext::Assignment, l)?;
        let colref = NodeEnum::ColumnRef(pb::ColumnRef {
            fields: vec![pg_query::Node {
                node: Some(NodeEnum::String(pb::String {
                    sval: column.to_string(),
                })),
            }],
            location: -1,
        });
        let arg = self.transform_expr(scope, &colref)?;
        Ok(Expr::Array(Box::new(ArrayExpr::Assign {
            arg,
            subs,
            value,
            ty: col_ty,
        })))
    }
}
