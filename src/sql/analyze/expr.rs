//! Expression analysis (`parse_expr.c`, `parse_func.c`, `parse_oper.c`,
//! `parse_coerce.c`): raw expression nodes to typed [`Expr`]s.

use pg_query::NodeEnum;
use pg_query::protobuf::{
    self as pb, AExprKind, BoolExprType, BoolTestType, NullTestType, SqlValueFunctionOp, a_const,
};

use super::super::adt::numeric::{Numeric, make_typmod};
use super::super::adt::{self, CoercionContext, can_coerce};
use super::super::expr::{BoolTestKind, Expr, Loc, SubLinkKind};
use super::super::functions::{ArgType, FuncId, FuncKind, registry};
use super::super::types::{Datum, Type};
use super::names::raw_location;
use super::resolve::{Resolution, declared_args, resolve, select_common_type};
use super::{Aggref, Analyzer, Scope, node_of};
use crate::utils::elog::{PgError, PgResult, sqlstate};

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

fn sig(types: &[Type]) -> String {
    types
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance (for "Perhaps you meant ..." hints).
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { 1 };
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl<'a> Analyzer<'a> {
    pub(crate) fn transform_expr(&mut self, scope: &mut Scope, node: &NodeEnum) -> PgResult<Expr> {
        crate::utils::stack::check_stack_depth()?;
        match node {
            NodeEnum::AConst(c) => self.transform_const(c),
            NodeEnum::ColumnRef(c) => self.transform_column_ref(scope, c),
            NodeEnum::TypeCast(tc) => self.transform_type_cast(scope, tc),
            NodeEnum::AExpr(a) => self.transform_a_expr(scope, a),
            NodeEnum::BoolExpr(b) => {
                let construct = match BoolExprType::try_from(b.boolop) {
                    Ok(BoolExprType::AndExpr) => "AND",
                    Ok(BoolExprType::OrExpr) => "OR",
                    _ => "NOT",
                };
                let mut args = Vec::new();
                for a in &b.args {
                    let n = a.node.as_ref().expect("BoolExpr argument");
                    let e = self.transform_expr(scope, n)?;
                    args.push(self.coerce_to_boolean(e, construct, raw_location(n))?);
                }
                Ok(match construct {
                    "AND" => Expr::And(args),
                    "OR" => Expr::Or(args),
                    _ => Expr::Not(Box::new(
                        args.into_iter().next().expect("NOT has an argument"),
                    )),
                })
            }
            NodeEnum::FuncCall(f) => self.transform_func_call(scope, f),
            NodeEnum::GroupingFunc(g) => self.transform_grouping_func(scope, g),
            NodeEnum::CaseExpr(c) => {
                let before = scope.srf_count;
                let e = self.transform_case(scope, c)?;
                if scope.srf_count != before {
                    return Err(self
                        .srf_misplaced(scope, "set-returning functions are not allowed in CASE"));
                }
                Ok(e)
            }
            NodeEnum::CoalesceExpr(c) => {
                let before = scope.srf_count;
                let (args, ty) = self.transform_common(scope, &c.args, "COALESCE")?;
                if scope.srf_count != before {
                    return Err(self.srf_misplaced(
                        scope,
                        "set-returning functions are not allowed in COALESCE",
                    ));
                }
                Ok(Expr::Coalesce { args, ty })
            }
            NodeEnum::MinMaxExpr(m) => {
                let greatest = m.op == pb::MinMaxOp::IsGreatest as i32;
                let (args, ty) = self.transform_common(
                    scope,
                    &m.args,
                    if greatest { "GREATEST" } else { "LEAST" },
                )?;
                if !ty.is_sortable() {
                    return Err(self.error(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!(
                            "could not identify a comparison function for type {}",
                            ty.name()
                        ),
                        None,
                    ));
                }
                Ok(Expr::MinMax { greatest, args, ty })
            }
            NodeEnum::NullTest(n) if matches!(node_of(&n.arg), Some(NodeEnum::RowExpr(_))) => {
                // A row is NULL when every field is, NOT NULL when none is.
                let Some(NodeEnum::RowExpr(r)) = node_of(&n.arg) else {
                    unreachable!("matched")
                };
                let is_not = n.nulltesttype == NullTestType::IsNotNull as i32;
                let mut all = Vec::with_capacity(r.args.len());
                for a in &r.args {
                    let e = self.transform_expr(scope, a.node.as_ref().expect("ROW field"))?;
                    all.push(Expr::NullTest {
                        arg: Box::new(e),
                        is_not,
                    });
                }
                Ok(and_of(all))
            }
            NodeEnum::NullTest(n) => {
                let arg =
                    self.transform_expr(scope, node_of(&n.arg).expect("NullTest argument"))?;
                Ok(Expr::NullTest {
                    arg: Box::new(arg),
                    is_not: n.nulltesttype == NullTestType::IsNotNull as i32,
                })
            }
            NodeEnum::BooleanTest(b) => {
                let (kind, construct) = match BoolTestType::try_from(b.booltesttype)
                    .unwrap_or(BoolTestType::IsTrue)
                {
                    BoolTestType::IsTrue | BoolTestType::Undefined => {
                        (BoolTestKind::IsTrue, "IS TRUE")
                    }
                    BoolTestType::IsNotTrue => (BoolTestKind::IsNotTrue, "IS NOT TRUE"),
                    BoolTestType::IsFalse => (BoolTestKind::IsFalse, "IS FALSE"),
                    BoolTestType::IsNotFalse => (BoolTestKind::IsNotFalse, "IS NOT FALSE"),
                    BoolTestType::IsUnknown => (BoolTestKind::IsUnknown, "IS UNKNOWN"),
                    BoolTestType::IsNotUnknown => (BoolTestKind::IsNotUnknown, "IS NOT UNKNOWN"),
                };
                let n = node_of(&b.arg).expect("BooleanTest argument");
                let arg = self.transform_expr(scope, n)?;
                let arg = self.coerce_to_boolean(arg, construct, raw_location(n))?;
                Ok(Expr::BoolTest {
                    arg: Box::new(arg),
                    kind,
                })
            }
            NodeEnum::SqlvalueFunction(s) => {
                let name = match SqlValueFunctionOp::try_from(s.op)
                    .unwrap_or(SqlValueFunctionOp::SqlvalueFunctionOpUndefined)
                {
                    SqlValueFunctionOp::SvfopCurrentTimestamp
                    | SqlValueFunctionOp::SvfopCurrentTimestampN => "now",
                    SqlValueFunctionOp::SvfopCurrentRole
                    | SqlValueFunctionOp::SvfopCurrentUser
                    | SqlValueFunctionOp::SvfopUser => "current_user",
                    SqlValueFunctionOp::SvfopSessionUser => "session_user",
                    SqlValueFunctionOp::SvfopCurrentCatalog => "current_database",
                    SqlValueFunctionOp::SvfopCurrentSchema => "current_schema",
                    SqlValueFunctionOp::SvfopCurrentDate => "current_date",
                    SqlValueFunctionOp::SvfopLocaltimestamp
                    | SqlValueFunctionOp::SvfopLocaltimestampN => "localtimestamp",
                    SqlValueFunctionOp::SvfopLocaltime | SqlValueFunctionOp::SvfopLocaltimeN => {
                        "localtime"
                    }
                    _ => {
                        return Err(self.unsupported(
                            "CURRENT_TIME (type time with time zone)",
                            loc(s.location),
                        ));
                    }
                };
                let call = self.make_func_call(name, Vec::new(), loc(s.location))?;
                // CURRENT_TIMESTAMP(p), LOCALTIME(p), ...: rounded to p digits.
                if s.typmod >= 0 {
                    let ty = call.ty();
                    return self.coerce(
                        call,
                        ty,
                        s.typmod.min(6),
                        CoercionContext::Explicit,
                        loc(s.location),
                    );
                }
                Ok(call)
            }
            NodeEnum::ParamRef(p) => {
                match super::super::params::type_of(p.number.max(0) as usize) {
                    Some(ty) => Ok(Expr::Param {
                        number: p.number as usize,
                        ty,
                    }),
                    None => Err(self.error(
                        "42P02",
                        format!("there is no parameter ${}", p.number),
                        loc(p.location),
                    )),
                }
            }
            NodeEnum::SubLink(s) => self.transform_sublink(scope, s),
            NodeEnum::RowExpr(r) => {
                // An anonymous record; unknown literals become text, as
                // PostgreSQL resolves them in a row.
                let mut fields = Vec::with_capacity(r.args.len());
                for a in &r.args {
                    let n = a.node.as_ref().expect("ROW field");
                    let e = self.transform_expr(scope, n)?;
                    fields.push(self.unknown_as_text(e, raw_location(n))?);
                }
                super::check_target_list_length(fields.len())?;
                Ok(Expr::Row(fields))
            }
            NodeEnum::AArrayExpr(a) => self.transform_array_expr(scope, a, None),
            NodeEnum::AIndirection(i) => self.transform_indirection(scope, i),
            NodeEnum::CollateClause(c) => {
                // Every collation ferrogres has compares byte by byte, as
                // the database default does: COLLATE checks the name and
                // the type and leaves the expression as it is.
                let n = node_of(&c.arg).expect("COLLATE argument");
                let arg = self.transform_expr(scope, n)?;
                let arg = self.unknown_as_text(arg, raw_location(n))?;
                self.check_collation(&str_list(&c.collname), arg.ty(), loc(c.location))?;
                Ok(arg)
            }
            _ => Err(self.unsupported("this kind of expression", raw_location(node))),
        }
    }

    fn transform_const(&mut self, c: &pb::AConst) -> PgResult<Expr> {
        let l = Loc(loc(c.location));
        if c.isnull {
            return Ok(Expr::Const {
                value: Datum::Null,
                ty: Type::Unknown,
                typmod: -1,
                loc: l,
            });
        }
        let (value, ty) = match &c.val {
            Some(a_const::Val::Ival(i)) => (Datum::Int4(i.ival), Type::Int4),
            Some(a_const::Val::Fval(f)) => {
                let s = &f.fval;
                let is_integer = s
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+');
                match (is_integer, s.parse::<i64>()) {
                    (true, Ok(v)) if i32::try_from(v).is_ok() => {
                        (Datum::Int4(v as i32), Type::Int4)
                    }
                    (true, Ok(v)) => (Datum::Int8(v), Type::Int8),
                    _ => (
                        Datum::Numeric(Numeric::parse(s).map_err(|e| self.at(e, l.0))?),
                        Type::Numeric,
                    ),
                }
            }
            Some(a_const::Val::Boolval(b)) => (Datum::Bool(b.boolval), Type::Bool),
            Some(a_const::Val::Sval(s)) => (Datum::Text(s.sval.clone()), Type::Unknown),
            Some(a_const::Val::Bsval(_)) => {
                return Err(self.unsupported("bit-string constants", l.0));
            }
            None => (Datum::Null, Type::Unknown),
        };
        Ok(Expr::Const {
            value,
            ty,
            typmod: -1,
            loc: l,
        })
    }

    fn at(&self, e: PgError, l: Option<usize>) -> PgError {
        if e.position.is_some() {
            return e;
        }
        match l {
            Some(l) => e.with_position(super::super::parser::char_position(self.source, l)),
            None => e,
        }
    }

    // --- column references --------------------------------------------------

    fn transform_column_ref(&mut self, scope: &mut Scope, c: &pb::ColumnRef) -> PgResult<Expr> {
        self.resolve_column_ref(scope, c)
    }

    // --- casts and coercion ---------------------------------------------------

    /// Resolves a `TypeName` to a type and typmod (`typenameTypeIdAndMod`).
    pub(crate) fn type_from_name(&self, tn: &pb::TypeName) -> PgResult<(Type, i32)> {
        let names = str_list(&tn.names);
        let l = loc(tn.location);
        let (schema, name) = match names.as_slice() {
            [n] => (None, n.as_str()),
            [s, n] => (Some(s.as_str()), n.as_str()),
            _ => {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "improper qualified name (too many dotted names): {}",
                        names.join(".")
                    ),
                    l,
                ));
            }
        };
        let shown = names.join(".");
        let not_found = || {
            self.error(
                sqlstate::UNDEFINED_OBJECT,
                format!("type \"{shown}\" does not exist"),
                l,
            )
        };
        let builtin = match schema {
            Some(s) if s != "pg_catalog" => None,
            _ => Type::from_name(name).filter(|t| *t != Type::Unknown || name == "unknown"),
        };
        let user = || -> PgResult<Option<Type>> {
            if let Some(s) = schema
                && crate::catalog::syscache::namespace_oid(s)?.is_none()
            {
                return Err(self.error(
                    sqlstate::INVALID_SCHEMA_NAME,
                    format!("schema \"{s}\" does not exist"),
                    l,
                ));
            }
            Ok(crate::catalog::syscache::user_type_oid(schema, name)?.and_then(Type::from_oid))
        };
        let mut ty = match builtin {
            Some(t) => t,
            None => user()?.ok_or_else(not_found)?,
        };
        if tn.pct_type || tn.setof {
            return Err(self.unsupported("%TYPE and SETOF", l));
        }
        let mods: Vec<i64> = tn
            .typmods
            .iter()
            .map(|m| match m.node.as_ref() {
                Some(NodeEnum::AConst(c)) => match &c.val {
                    Some(a_const::Val::Ival(i)) => Ok(i.ival as i64),
                    _ => Err(self.error(
                        sqlstate::SYNTAX_ERROR,
                        "type modifiers must be simple constants or identifiers",
                        l,
                    )),
                },
                _ => Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    "type modifiers must be simple constants or identifiers",
                    l,
                )),
            })
            .collect::<PgResult<_>>()?;
        let typmod = match (ty, mods.as_slice()) {
            (_, []) => -1,
            (Type::Numeric, [p]) => make_typmod(*p as i32, 0).map_err(|e| self.at(e, l))?,
            (Type::Numeric, [p, s]) => {
                make_typmod(*p as i32, *s as i32).map_err(|e| self.at(e, l))?
            }
            (Type::Numeric, _) => {
                return Err(self.error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "invalid NUMERIC type modifier",
                    l,
                ));
            }
            (Type::Varchar, [n]) => {
                if *n < 1 {
                    return Err(self.error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "length for type varchar must be at least 1",
                        l,
                    ));
                }
                *n as i32 + 4
            }
            (Type::Bpchar, [n]) => {
                if *n < 1 {
                    return Err(self.error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "length for type char must be at least 1",
                        l,
                    ));
                }
                *n as i32 + 4
            }
            (Type::Timestamp | Type::Timestamptz | Type::Time, [p]) => {
                if *p < 0 {
                    let name = match ty {
                        Type::Timestamp => "TIMESTAMP",
                        Type::Time => "TIME",
                        _ => "TIMESTAMP WITH TIME ZONE",
                    };
                    return Err(self.error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("{name}({p}) precision must not be negative"),
                        l,
                    ));
                }
                (*p).min(6) as i32
            }
            (Type::Interval, _) => {
                return Err(self.unsupported("interval type modifiers (fields and precision)", l));
            }
            _ => {
                return Err(self.error(
                    sqlstate::SYNTAX_ERROR,
                    format!("type modifier is not allowed for type \"{}\"", ty.typname()),
                    l,
                ));
            }
        };
        if !tn.array_bounds.is_empty() {
            // `int[]`, `integer[3]`, `int ARRAY`: bounds are not enforced.
            ty = ty.array().ok_or_else(|| {
                self.error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("type \"{shown}[]\" does not exist"),
                    l,
                )
            })?;
        }
        Ok((ty, typmod))
    }

    fn transform_type_cast(&mut self, scope: &mut Scope, tc: &pb::TypeCast) -> PgResult<Expr> {
        let arg_node = node_of(&tc.arg).expect("TypeCast argument");
        let tn = tc.type_name.as_ref().expect("TypeCast type");
        let (ty, typmod) = self.type_from_name(tn)?;
        let arg = match arg_node {
            // `ARRAY[...]::t[]` types its elements by the cast.
            NodeEnum::AArrayExpr(a) => self.transform_array_expr(scope, a, Some(ty))?,
            other => self.transform_expr(scope, other)?,
        };
        let l = loc(tc.location).or(loc(tn.location));
        self.coerce(arg, ty, typmod, CoercionContext::Explicit, l)
    }

    /// `coerce_to_target_type`: literals are converted now (errors point at
    /// the literal); anything else gets a run-time [`Expr::Cast`].
    pub(crate) fn coerce(
        &mut self,
        e: Expr,
        target: Type,
        typmod: i32,
        ctx: CoercionContext,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let from = e.ty();
        if from == target && (typmod < 0 || typmod == e.typmod()) {
            return Ok(e);
        }
        if from == Type::Unknown {
            if let Expr::Param { number, .. } = &e {
                // `variable_coerce_param_hook`: the context decides the type.
                super::super::params::resolve(*number, target);
                let p = Expr::Param {
                    number: *number,
                    ty: target,
                };
                if typmod < 0 {
                    return Ok(p);
                }
                return Ok(Expr::Cast {
                    arg: Box::new(p),
                    to: target,
                    typmod,
                });
            }
            if let Expr::Const {
                value, loc: cloc, ..
            } = &e
            {
                let value = match value {
                    Datum::Null => Datum::Null,
                    Datum::Text(s) => adt::input(s, target, typmod, &self.fmt)
                        .map_err(|err| self.at(err, cloc.0))?,
                    other => other.clone(),
                };
                let newloc = match (l, cloc.0) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => b.or(a),
                };
                return Ok(Expr::Const {
                    value,
                    ty: target,
                    typmod,
                    loc: Loc(newloc),
                });
            }
            return Ok(Expr::Cast {
                arg: Box::new(e),
                to: target,
                typmod,
            });
        }
        if !can_coerce(from, target, ctx) {
            return Err(self.error(
                "42846",
                format!("cannot cast type {} to {}", from.name(), target.name()),
                l,
            ));
        }
        Ok(Expr::Cast {
            arg: Box::new(e),
            to: target,
            typmod,
        })
    }

    /// `coerce_to_boolean`.
    pub(crate) fn coerce_to_boolean(
        &mut self,
        e: Expr,
        construct: &str,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let t = e.ty();
        if t == Type::Bool {
            return Ok(e);
        }
        if t == Type::Unknown || can_coerce(t, Type::Bool, CoercionContext::Assignment) {
            return self.coerce(e, Type::Bool, -1, CoercionContext::Assignment, l);
        }
        Err(self.error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "argument of {construct} must be type boolean, not type {}",
                t.name()
            ),
            l,
        ))
    }

    /// `coerce_to_specific_type` (LIMIT/OFFSET to bigint).
    pub(crate) fn coerce_to_specific(
        &mut self,
        e: Expr,
        target: Type,
        construct: &str,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let t = e.ty();
        if t == target {
            return Ok(e);
        }
        if t == Type::Unknown || can_coerce(t, target, CoercionContext::Assignment) {
            return self.coerce(e, target, -1, CoercionContext::Assignment, l);
        }
        Err(self.error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "argument of {construct} must be type {}, not type {}",
                target.name(),
                t.name()
            ),
            l,
        ))
    }

    /// Common type of `exprs` (`select_common_type`) and the coerced list.
    pub(crate) fn coerce_to_common(
        &mut self,
        exprs: Vec<Expr>,
        locs: &[Option<usize>],
        context: &str,
    ) -> PgResult<(Vec<Expr>, Type)> {
        let types: Vec<Type> = exprs.iter().map(|e| e.ty()).collect();
        let ty = match select_common_type(&types) {
            Ok(t) => t,
            Err((p, n, i)) => {
                return Err(self.error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "{context} types {} and {} cannot be matched",
                        p.name(),
                        n.name()
                    ),
                    locs[i],
                ));
            }
        };
        let mut out = Vec::with_capacity(exprs.len());
        for (e, l) in exprs.into_iter().zip(locs) {
            let from = e.ty();
            if from != ty
                && from != Type::Unknown
                && !can_coerce(from, ty, CoercionContext::Implicit)
            {
                return Err(self.error(
                    "42846",
                    format!(
                        "{context} could not convert type {} to {}",
                        from.name(),
                        ty.name()
                    ),
                    *l,
                ));
            }
            out.push(self.coerce(e, ty, -1, CoercionContext::Implicit, *l)?);
        }
        Ok((out, ty))
    }

    fn transform_common(
        &mut self,
        scope: &mut Scope,
        args: &[pg_query::Node],
        context: &str,
    ) -> PgResult<(Vec<Expr>, Type)> {
        let mut exprs = Vec::new();
        let mut locs = Vec::new();
        for a in args {
            let n = a.node.as_ref().expect("argument");
            exprs.push(self.transform_expr(scope, n)?);
            locs.push(raw_location(n));
        }
        self.coerce_to_common(exprs, &locs, context)
    }

    // --- operators ------------------------------------------------------------

    /// `make_op`: resolves operator `name` for the arguments and coerces them.
    pub(crate) fn make_op(
        &mut self,
        name: &str,
        left: Option<Expr>,
        right: Expr,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let reg = registry();
        let input: Vec<Type> = match &left {
            Some(le) => vec![le.ty(), right.ty()],
            None => vec![right.ty()],
        };
        let cands: Vec<FuncId> = reg
            .candidates(name, true)
            .iter()
            .copied()
            .filter(|&id| (reg.get(id).kind == FuncKind::Infix) == left.is_some())
            .collect();
        let shown = match &left {
            Some(_) => format!("{} {name} {}", input[0].name(), input[1].name()),
            None => format!("{name} {}", input[0].name()),
        };
        let id = match resolve(&cands, &input, left.is_some()) {
            Resolution::Found(id) => id,
            Resolution::NotFound => {
                let hint = if left.is_some() {
                    "No operator matches the given name and argument types. You might need to add explicit type casts."
                } else {
                    "No operator matches the given name and argument type. You might need to add an explicit type cast."
                };
                return Err(self
                    .error(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!("operator does not exist: {shown}"),
                        l,
                    )
                    .with_hint(hint));
            }
            Resolution::Ambiguous => {
                return Err(self
                    .error("42725", format!("operator is not unique: {shown}"), l)
                    .with_hint("Could not choose a best candidate operator. You might need to add explicit type casts."));
            }
        };
        let args: Vec<Expr> = left.into_iter().chain([right]).collect();
        self.finish_call(id, args)
    }

    /// Coerces the arguments to the chosen entry's declared types.
    pub(super) fn finish_call(&mut self, id: FuncId, args: Vec<Expr>) -> PgResult<Expr> {
        let def = registry().get(id);
        let declared = declared_args(id, args.len()).expect("resolved candidate matches arity");
        let input: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        let poly = super::resolve::resolve_polymorphic(&declared, &input).unwrap_or_default();
        let concrete = |t: Type, this: &Self, l: Option<usize>| {
            // PostgreSQL reports these without a position.
            let _ = l;
            poly.concrete(t)
                .map_err(|m| this.error(sqlstate::DATATYPE_MISMATCH, m, None))
        };
        let mut out = Vec::with_capacity(args.len());
        for (a, d) in args.into_iter().zip(&declared) {
            let l = const_loc(&a);
            let coerced = match d {
                ArgType::T(t) => self.coerce(a, *t, -1, CoercionContext::Implicit, l)?,
                ArgType::AnyElement if a.ty() == Type::Unknown => {
                    return Err(self.error(
                        sqlstate::DATATYPE_MISMATCH,
                        "could not determine polymorphic type because input has type unknown",
                        None,
                    ));
                }
                ArgType::AnyArray
                | ArgType::AnyElement
                | ArgType::AnyEnum
                | ArgType::AnyCompatible
                | ArgType::AnyCompatibleArray => {
                    let pseudo = super::resolve::declared_type(*d).expect("polymorphic");
                    let t = concrete(pseudo, self, l)?;
                    self.coerce(a, t, -1, CoercionContext::Implicit, l)?
                }
                ArgType::AnyNonArray if a.ty() == Type::Unknown => {
                    self.coerce(a, Type::Text, -1, CoercionContext::Implicit, l)?
                }
                _ => a,
            };
            out.push(coerced);
        }
        let arg_types = out.iter().map(|e| e.ty()).collect();
        let ty = concrete(def.ret, self, None)?;
        Ok(Expr::Func {
            func: id,
            args: out,
            arg_types,
            ty,
        })
    }

    fn transform_a_expr(&mut self, scope: &mut Scope, a: &pb::AExpr) -> PgResult<Expr> {
        let kind = AExprKind::try_from(a.kind).unwrap_or(AExprKind::Undefined);
        let name = str_list(&a.name).last().cloned().unwrap_or_default();
        let l = loc(a.location);
        let lnode = node_of(&a.lexpr);
        let rnode = node_of(&a.rexpr);
        match kind {
            // SIMILAR TO: the grammar already made the pattern a call of
            // similar_to_escape(), so it is the operator `~` or `!~`.
            AExprKind::AexprOp
            | AExprKind::AexprLike
            | AExprKind::AexprIlike
            | AExprKind::AexprSimilar => {
                if let (Some(NodeEnum::RowExpr(lr)), Some(NodeEnum::RowExpr(rr))) = (lnode, rnode) {
                    return self.transform_row_compare(scope, &name, lr, rr, l);
                }
                let left = match lnode {
                    Some(n) => Some(self.transform_expr(scope, n)?),
                    None => None,
                };
                let right =
                    self.transform_expr(scope, rnode.expect("operator has a right argument"))?;
                self.make_op(&name, left, right, l)
            }
            AExprKind::AexprDistinct | AExprKind::AexprNotDistinct
                if matches!(
                    (lnode, rnode),
                    (Some(NodeEnum::RowExpr(_)), Some(NodeEnum::RowExpr(_)))
                ) =>
            {
                let (Some(NodeEnum::RowExpr(lr)), Some(NodeEnum::RowExpr(rr))) = (lnode, rnode)
                else {
                    unreachable!("matched")
                };
                // make_row_distinct_op: distinct when any pair is.
                let pairs = self.row_pairs(scope, lr, rr, l)?;
                let mut any = Vec::with_capacity(pairs.len());
                for (a, b) in pairs {
                    let (eq, a, b) = self.resolve_eq(a, b, l)?;
                    any.push(Expr::Distinct {
                        left: Box::new(a),
                        right: Box::new(b),
                        eq,
                        not: false,
                    });
                }
                let e = or_of(any);
                Ok(if kind == AExprKind::AexprNotDistinct {
                    Expr::Not(Box::new(e))
                } else {
                    e
                })
            }
            AExprKind::AexprDistinct | AExprKind::AexprNotDistinct => {
                let left = self.transform_expr(scope, lnode.expect("left"))?;
                let right = self.transform_expr(scope, rnode.expect("right"))?;
                let (eq, left, right) = self.resolve_eq(left, right, l)?;
                Ok(Expr::Distinct {
                    left: Box::new(left),
                    right: Box::new(right),
                    eq,
                    not: kind == AExprKind::AexprNotDistinct,
                })
            }
            AExprKind::AexprNullif => {
                let left = self.transform_expr(scope, lnode.expect("left"))?;
                let right = self.transform_expr(scope, rnode.expect("right"))?;
                let (eq, left, right) = self.resolve_eq(left, right, l)?;
                let ty = left.ty();
                Ok(Expr::NullIf {
                    left: Box::new(left),
                    right: Box::new(right),
                    eq,
                    ty,
                })
            }
            AExprKind::AexprIn => {
                self.transform_in(scope, &name, lnode.expect("left"), rnode.expect("list"), l)
            }
            AExprKind::AexprBetween
            | AExprKind::AexprNotBetween
            | AExprKind::AexprBetweenSym
            | AExprKind::AexprNotBetweenSym => {
                let a_e = self.transform_expr(scope, lnode.expect("left"))?;
                let Some(NodeEnum::List(list)) = rnode else {
                    unreachable!("BETWEEN has a bound list")
                };
                let b_e =
                    self.transform_expr(scope, list.items[0].node.as_ref().expect("lower bound"))?;
                let c_e =
                    self.transform_expr(scope, list.items[1].node.as_ref().expect("upper bound"))?;
                let not = matches!(
                    kind,
                    AExprKind::AexprNotBetween | AExprKind::AexprNotBetweenSym
                );
                let (ge, le) = if not { ("<", ">") } else { (">=", "<=") };
                let half = |this: &mut Self, lo: &Expr, hi: &Expr| -> PgResult<Expr> {
                    let x = this.make_op(ge, Some(a_e.clone()), lo.clone(), l)?;
                    let y = this.make_op(le, Some(a_e.clone()), hi.clone(), l)?;
                    Ok(if not {
                        Expr::Or(vec![x, y])
                    } else {
                        Expr::And(vec![x, y])
                    })
                };
                let first = half(self, &b_e, &c_e)?;
                if matches!(
                    kind,
                    AExprKind::AexprBetweenSym | AExprKind::AexprNotBetweenSym
                ) {
                    let second = half(self, &c_e, &b_e)?;
                    Ok(if not {
                        Expr::And(vec![first, second])
                    } else {
                        Expr::Or(vec![first, second])
                    })
                } else {
                    Ok(first)
                }
            }
            AExprKind::AexprOpAny | AExprKind::AexprOpAll => self.transform_scalar_array_op(
                scope,
                &name,
                lnode.expect("left"),
                rnode.expect("array"),
                kind == AExprKind::AexprOpAll,
                l,
            ),
            AExprKind::Undefined => Err(self.unsupported("this operator", l)),
        }
    }

    /// Resolves `=` for IS DISTINCT FROM / NULLIF and returns the coerced sides.
    fn resolve_eq(
        &mut self,
        left: Expr,
        right: Expr,
        l: Option<usize>,
    ) -> PgResult<(FuncId, Expr, Expr)> {
        match self.make_op("=", Some(left), right, l)? {
            Expr::Func { func, args, ty, .. } => {
                if ty != Type::Bool {
                    return Err(self.error(
                        sqlstate::DATATYPE_MISMATCH,
                        "operator = must return type boolean",
                        l,
                    ));
                }
                let mut it = args.into_iter();
                Ok((func, it.next().expect("left"), it.next().expect("right")))
            }
            _ => unreachable!("make_op returns a function call"),
        }
    }

    /// `transformAExprIn`: `x IN (a, b)` is `x = a OR x = b` (`NOT IN`:
    /// `x <> a AND x <> b`); constant items are first coerced to a common type.
    fn transform_in(
        &mut self,
        scope: &mut Scope,
        name: &str,
        lnode: &NodeEnum,
        rnode: &NodeEnum,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let mut left = self.transform_expr(scope, lnode)?;
        let Some(items) = (match rnode {
            NodeEnum::List(list) => Some(&list.items),
            _ => None,
        }) else {
            return Err(self.unsupported("IN (subquery)", l));
        };
        let mut rexprs = Vec::new();
        let mut rlocs = Vec::new();
        for it in items {
            let n = it.node.as_ref().expect("IN item");
            rexprs.push(self.transform_expr(scope, n)?);
            rlocs.push(raw_location(n));
        }
        let has_vars = |e: &Expr| e.any(&|x| matches!(x, Expr::Column { .. }));
        let nonvar_count = rexprs.iter().filter(|e| !has_vars(e)).count();
        if nonvar_count > 1 {
            let mut types = vec![left.ty()];
            types.extend(rexprs.iter().filter(|e| !has_vars(e)).map(|e| e.ty()));
            if let Ok(common) = select_common_type(&types) {
                let works = types.iter().all(|t| {
                    *t == Type::Unknown || can_coerce(*t, common, CoercionContext::Implicit)
                });
                if works {
                    // An unknown literal on the left is read as the common
                    // type here, where its position is known, since the
                    // comparisons below see only its value.
                    if left.ty() == Type::Unknown {
                        left = self.coerce(
                            left,
                            common,
                            -1,
                            CoercionContext::Implicit,
                            raw_location(lnode),
                        )?;
                    }
                    let mut coerced = Vec::new();
                    for (e, rl) in rexprs.into_iter().zip(&rlocs) {
                        coerced.push(if has_vars(&e) {
                            e
                        } else {
                            self.coerce(e, common, -1, CoercionContext::Implicit, *rl)?
                        });
                    }
                    rexprs = coerced;
                }
            }
        }
        let use_or = name == "=";
        let mut cmps = Vec::new();
        if rexprs.len() == 1 {
            let r = rexprs.pop().expect("one item");
            let c = self.make_op(name, Some(left), r, l)?;
            return self.coerce_to_boolean(c, "IN", l);
        }
        // The left side is evaluated once and compared with each item.
        let test_value = Expr::CaseTest { ty: left.ty() };
        for r in rexprs {
            let c = self.make_op(name, Some(test_value.clone()), r, l)?;
            cmps.push(self.coerce_to_boolean(c, "IN", l)?);
        }
        let test = if use_or {
            Expr::Or(cmps)
        } else {
            Expr::And(cmps)
        };
        Ok(Expr::InList {
            arg: Box::new(left),
            test: Box::new(test),
        })
    }

    // --- subqueries -------------------------------------------------------------

    /// `transformSubLink` for EXISTS, scalar, IN/ANY and ALL subqueries (correlated or not).
    fn transform_sublink(&mut self, scope: &mut Scope, s: &pb::SubLink) -> PgResult<Expr> {
        use pb::SubLinkType;
        let l = loc(s.location);
        let kind = SubLinkType::try_from(s.sub_link_type).unwrap_or(SubLinkType::Undefined);
        if scope.kind == super::ExprKind::Check {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot use subquery in check constraint",
                l,
            ));
        }
        if scope.kind == super::ExprKind::CopyWhere {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot use subquery in COPY FROM WHERE condition",
                l,
            ));
        }
        if !matches!(
            kind,
            SubLinkType::ExistsSublink
                | SubLinkType::ExprSublink
                | SubLinkType::AnySublink
                | SubLinkType::AllSublink
                | SubLinkType::ArraySublink
        ) {
            return Err(self.unsupported("this kind of subquery", l));
        }
        let Some(NodeEnum::SelectStmt(sel)) = node_of(&s.subselect) else {
            return Err(self.unsupported("this kind of subquery", l));
        };
        let (q, params, correlated) = self.analyze_sublink_select(scope, sel)?;
        let columns: Vec<(Type, i32)> = q
            .targets
            .iter()
            .filter(|t| !t.resjunk)
            .map(|t| (t.expr.ty(), t.expr.typmod()))
            .collect();
        if kind != SubLinkType::ExistsSublink && columns.len() != 1 {
            let msg = if columns.len() > 1 {
                "subquery has too many columns"
            } else {
                "subquery has too few columns"
            };
            let msg = if matches!(kind, SubLinkType::ExprSublink | SubLinkType::ArraySublink) {
                "subquery must return only one column"
            } else {
                msg
            };
            return Err(self.error(sqlstate::SYNTAX_ERROR, msg, l));
        }
        let index = self.subqueries.len();
        self.subqueries.push(q);
        let (kind, ty) = match kind {
            SubLinkType::ExistsSublink => (SubLinkKind::Exists, Type::Bool),
            SubLinkType::ExprSublink => (SubLinkKind::Expr, columns[0].0),
            SubLinkType::ArraySublink => {
                let t = columns[0].0;
                let at = if t.elem().is_some() {
                    Some(t)
                } else {
                    t.array()
                };
                let at = at.ok_or_else(|| {
                    self.error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("could not find array type for data type {}", t.name()),
                        l,
                    )
                })?;
                (SubLinkKind::Array, at)
            }
            _ => {
                let test = self.transform_expr(
                    scope,
                    node_of(&s.testexpr).expect("ANY/ALL has a test expression"),
                )?;
                let op = str_list(&s.oper_name)
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "=".to_string());
                let cmp = self.make_op(&op, Some(test), Expr::CaseTest { ty: columns[0].0 }, l)?;
                if cmp.ty() != Type::Bool {
                    return Err(self.error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!(
                            "operator {op} must return type boolean, not type {}",
                            cmp.ty().name()
                        ),
                        l,
                    ));
                }
                let cmp = Box::new(cmp);
                (
                    if kind == SubLinkType::AllSublink {
                        SubLinkKind::All { cmp }
                    } else {
                        SubLinkKind::Any { cmp }
                    },
                    Type::Bool,
                )
            }
        };
        Ok(Expr::SubLink {
            index,
            kind,
            ty,
            params,
            correlated,
        })
    }

    // --- CASE -----------------------------------------------------------------

    fn transform_case(&mut self, scope: &mut Scope, c: &pb::CaseExpr) -> PgResult<Expr> {
        let arg = match node_of(&c.arg) {
            Some(n) => {
                let e = self.transform_expr(scope, n)?;
                Some(self.unknown_as_text(e, raw_location(n))?)
            }
            None => None,
        };
        let mut conds = Vec::new();
        let mut results = Vec::new();
        let mut result_locs = Vec::new();
        for w in &c.args {
            let Some(NodeEnum::CaseWhen(cw)) = w.node.as_ref() else {
                continue;
            };
            let wnode = node_of(&cw.expr).expect("WHEN condition");
            let cond = match &arg {
                Some(a) => {
                    let placeholder = Expr::CaseTest { ty: a.ty() };
                    let v = self.transform_expr(scope, wnode)?;
                    self.make_op("=", Some(placeholder), v, loc(cw.location))?
                }
                None => self.transform_expr(scope, wnode)?,
            };
            conds.push(self.coerce_to_boolean(cond, "CASE/WHEN", raw_location(wnode))?);
            let rnode = node_of(&cw.result).expect("THEN result");
            results.push(self.transform_expr(scope, rnode)?);
            result_locs.push(raw_location(rnode));
        }
        let (default, dloc) = match node_of(&c.defresult) {
            Some(n) => (self.transform_expr(scope, n)?, raw_location(n)),
            None => (
                Expr::Const {
                    value: Datum::Null,
                    ty: Type::Unknown,
                    typmod: -1,
                    loc: Loc(None),
                },
                None,
            ),
        };
        // The default comes first in select_common_type, as in PostgreSQL.
        let mut all = vec![default];
        all.extend(results);
        let mut locs = vec![dloc];
        locs.extend(result_locs);
        let (mut coerced, ty) = self.coerce_to_common(all, &locs, "CASE")?;
        let default = coerced.remove(0);
        Ok(Expr::Case {
            arg: arg.map(Box::new),
            whens: conds.into_iter().zip(coerced).collect(),
            default: Box::new(default),
            ty,
        })
    }

    // --- function calls -------------------------------------------------------

    /// Calls a built-in by name with already-analysed arguments.
    pub(crate) fn make_func_call(
        &mut self,
        name: &str,
        args: Vec<Expr>,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let input: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        match resolve(registry().candidates(name, false), &input, false) {
            Resolution::Found(id) => self.finish_call(id, args),
            _ => Err(self.error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", sig(&input)),
                l,
            )),
        }
    }

    fn transform_func_call(&mut self, scope: &mut Scope, f: &pb::FuncCall) -> PgResult<Expr> {
        let l = loc(f.location);
        let names = str_list(&f.funcname);
        let name = names.last().cloned().unwrap_or_default();
        let shown_name = names.join(".");
        if f.func_variadic {
            return Err(self.unsupported("VARIADIC", l));
        }
        let schema_ok = names.len() == 1 || (names.len() == 2 && names[0] == "pg_catalog");
        let was_in_agg = scope.in_agg;
        let srfs_before = scope.srf_count;
        let mut args = Vec::new();
        // WITHIN GROUP: the direct arguments and the ordering columns are
        // inside the aggregate (an aggregate there is nested).
        if f.agg_within_group {
            scope.in_agg = true;
        }
        for a in &f.args {
            let n = a.node.as_ref().expect("function argument");
            if let NodeEnum::NamedArgExpr(_) = n {
                return Err(self.unsupported("named arguments", raw_location(n)));
            }
            args.push(self.transform_expr(scope, n)?);
        }
        let mut within = None;
        if f.agg_within_group {
            let direct = args.len();
            let mut spec = Vec::new();
            let mut locs: Vec<Option<usize>> = f
                .args
                .iter()
                .map(|a| a.node.as_ref().and_then(raw_location))
                .collect();
            for s in &f.agg_order {
                let Some(NodeEnum::SortBy(sb)) = s.node.as_ref() else {
                    continue;
                };
                let n = node_of(&sb.node).expect("sort expression");
                let e = self.transform_expr(scope, n)?;
                spec.push(self.sort_order(sb, &e)?);
                args.push(e);
                locs.push(raw_location(n));
            }
            scope.in_agg = was_in_agg;
            within = Some((direct, spec, locs));
        }
        let input: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        let reg = registry();
        let cands: &[FuncId] = if schema_ok {
            reg.candidates(&name, false)
        } else {
            &[]
        };
        let shown_args = sig(&input);
        let resolution = resolve(cands, &input, false);
        if let Resolution::Found(id) = resolution
            && f.agg_star
            && !matches!(reg.get(id).kind, FuncKind::Aggregate(_))
        {
            return Err(self.error(
                "42809",
                format!("{shown_name}(*) specified, but {shown_name} is not an aggregate function"),
                l,
            ));
        }
        let id = match resolution {
            Resolution::Found(id) => id,
            Resolution::NotFound => {
                return Err(self
                    .error(sqlstate::UNDEFINED_FUNCTION, format!("function {shown_name}({shown_args}) does not exist"), l)
                    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
            }
            Resolution::Ambiguous => {
                return Err(self
                    .error("42725", format!("function {shown_name}({shown_args}) is not unique"), l)
                    .with_hint("Could not choose a best candidate function. You might need to add explicit type casts."));
            }
        };
        let def = reg.get(id);
        if let Some((direct, spec, locs)) = within {
            return self.transform_ordered_set_call(
                scope,
                f,
                id,
                args,
                direct,
                spec,
                &locs,
                srfs_before,
            );
        }
        if let FuncKind::Aggregate(super::super::functions::AggKind::OrderedSet(_)) = def.kind {
            return Err(self.error(
                "42809",
                format!("WITHIN GROUP is required for ordered-set aggregate {shown_name}"),
                l,
            ));
        }
        // A window function, or an aggregate with OVER.
        let win = match def.kind {
            FuncKind::Window(kind) => {
                if f.over.is_none() {
                    return Err(self.error(
                        "42809",
                        format!("window function {shown_name} requires an OVER clause"),
                        l,
                    ));
                }
                Some(super::window::WinFunc::Builtin(kind))
            }
            FuncKind::Aggregate(kind) if f.over.is_some() => {
                Some(super::window::WinFunc::Agg(kind))
            }
            _ => None,
        };
        if let Some(win) = win {
            let Expr::Func {
                args,
                arg_types,
                ty,
                ..
            } = self.finish_call(id, args)?
            else {
                unreachable!("finish_call builds a call")
            };
            return self.transform_window_func_call(
                scope,
                f,
                win,
                args,
                arg_types,
                ty,
                srfs_before,
            );
        }
        let FuncKind::Aggregate(kind) = def.kind else {
            if f.agg_distinct || !f.agg_order.is_empty() || f.agg_filter.is_some() {
                let what = if f.agg_distinct {
                    "DISTINCT"
                } else if f.agg_filter.is_some() {
                    "FILTER"
                } else {
                    "ORDER BY"
                };
                return Err(self.error(
                    "42809",
                    format!("{what} specified, but {shown_name} is not an aggregate function"),
                    l,
                ));
            }
            if f.over.is_some() {
                return Err(self.error(
                    "42809",
                    format!(
                        "OVER specified, but {shown_name} is not a window function nor an aggregate function"
                    ),
                    l,
                ));
            }
            if def.srf.is_some() {
                if matches!(scope.kind, super::ExprKind::FromFunction)
                    && scope.srf_count != srfs_before
                {
                    return Err(self.error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "set-returning functions must appear at top level of FROM",
                        scope.last_srf_loc,
                    ));
                }
                if !scope.kind.allows_srfs() {
                    return Err(self.error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "set-returning functions are not allowed in {}",
                            scope.kind.clause()
                        ),
                        l,
                    ));
                }
                scope.srf_count += 1;
                scope.last_srf_loc = l;
            }
            return self.finish_call(id, args);
        };
        // Aggregates.
        self.check_aggregate_placement(scope, "aggregate functions", l)?;
        if was_in_agg
            || args
                .iter()
                .any(|a| a.any(&|x| matches!(x, Expr::Agg { .. })))
        {
            let inner = args
                .iter()
                .find_map(first_agg)
                .and_then(|j| scope.aggs.get(j))
                .and_then(|g| g.loc.0);
            return Err(self.error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
                inner.or(l),
            ));
        }
        if let Some(w) = args.iter().find_map(super::window::first_window_func) {
            return Err(self.error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot contain window function calls",
                scope.winfuncs[w].loc.0,
            ));
        }
        let Expr::Func {
            args,
            arg_types,
            ty,
            ..
        } = self.finish_call(id, args)?
        else {
            unreachable!("finish_call builds a call")
        };
        scope.in_agg = true;
        let mut order = Vec::new();
        for s in &f.agg_order {
            let Some(NodeEnum::SortBy(sb)) = s.node.as_ref() else {
                continue;
            };
            let e = self.transform_expr(scope, node_of(&sb.node).expect("sort expression"))?;
            let (desc, nulls_first) = self.sort_order(sb, &e)?;
            order.push((e, desc, nulls_first));
        }
        let filter = self.finish_aggregate_call(scope, f, &args, srfs_before, l)?;
        scope.in_agg = was_in_agg;
        scope.aggs.push(Aggref {
            kind,
            args,
            arg_types,
            ty,
            distinct: f.agg_distinct,
            order,
            filter,
            loc: Loc(l),
            grouping_refs: Vec::new(),
            direct_args: Vec::new(),
        });
        Ok(Expr::Agg {
            index: scope.aggs.len() - 1,
            ty,
        })
    }
}

impl Analyzer<'_> {
    /// An unknown-type literal resolved as text (a CASE test value, a ROW field).
    /// `COLLATE name` applied to a value of type `ty`: the collation exists
    /// (`pg_collation`, `LookupCollation`) and the type is collatable.
    pub(crate) fn check_collation(
        &mut self,
        names: &[String],
        ty: Type,
        l: Option<usize>,
    ) -> PgResult<u32> {
        let found = match names {
            [name] => crate::catalog::builtin::pg_collation::by_name(name),
            [schema, name] if schema == "pg_catalog" => {
                crate::catalog::builtin::pg_collation::by_name(name)
            }
            [schema, _] => {
                if crate::catalog::syscache::namespace_oid(schema)?.is_none() {
                    return Err(self.error(
                        sqlstate::INVALID_SCHEMA_NAME,
                        format!("schema \"{schema}\" does not exist"),
                        l,
                    ));
                }
                None
            }
            _ => None,
        };
        let Some(coll) = found else {
            return Err(self.error(
                sqlstate::UNDEFINED_OBJECT,
                format!(
                    "collation \"{}\" for encoding \"UTF8\" does not exist",
                    names.join(".")
                ),
                l,
            ));
        };
        if ty.typcollation() == 0 {
            return Err(self.error(
                sqlstate::DATATYPE_MISMATCH,
                format!("collations are not supported by type {}", ty.name()),
                l,
            ));
        }
        Ok(coll.oid)
    }

    fn unknown_as_text(&mut self, e: Expr, l: Option<usize>) -> PgResult<Expr> {
        if e.ty() == Type::Unknown {
            self.coerce(e, Type::Text, -1, CoercionContext::Implicit, l)
        } else {
            Ok(e)
        }
    }

    /// The analysed field pairs of `ROW(...) op ROW(...)` (42601 when the
    /// lengths differ).
    fn row_pairs(
        &mut self,
        scope: &mut Scope,
        lr: &pb::RowExpr,
        rr: &pb::RowExpr,
        l: Option<usize>,
    ) -> PgResult<Vec<(Expr, Expr)>> {
        if lr.args.len() != rr.args.len() {
            return Err(self.error(
                sqlstate::SYNTAX_ERROR,
                "unequal number of entries in row expressions",
                l,
            ));
        }
        let mut pairs = Vec::with_capacity(lr.args.len());
        for (a, b) in lr.args.iter().zip(&rr.args) {
            let a = self.transform_expr(scope, a.node.as_ref().expect("ROW field"))?;
            let b = self.transform_expr(scope, b.node.as_ref().expect("ROW field"))?;
            pairs.push((a, b));
        }
        Ok(pairs)
    }

    /// `make_row_comparison_op`: `ROW(a1, ..) op ROW(b1, ..)` field by
    /// field. `=` is every pair equal, `<>` some pair unequal; `<`, `<=`,
    /// `>`, `>=` compare left to right, the first unequal pair deciding and
    /// a NULL in the pairs compared so far making the answer NULL, which
    /// `(a1 < b1) OR (a1 = b1 AND (...(an <= bn)))` gives exactly.
    fn transform_row_compare(
        &mut self,
        scope: &mut Scope,
        name: &str,
        lr: &pb::RowExpr,
        rr: &pb::RowExpr,
        l: Option<usize>,
    ) -> PgResult<Expr> {
        let pairs = self.row_pairs(scope, lr, rr, l)?;
        let mut ops = Vec::with_capacity(pairs.len());
        for (a, b) in &pairs {
            let e = self.make_op(name, Some(a.clone()), b.clone(), l)?;
            if e.ty() != Type::Bool {
                return Err(self.error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "row comparison operator must yield type boolean, not type {}",
                        e.ty().name()
                    ),
                    l,
                ));
            }
            ops.push(e);
        }
        if ops.len() == 1 {
            return Ok(ops.pop().expect("one"));
        }
        match name {
            "=" => Ok(and_of(ops)),
            "<>" => Ok(or_of(ops)),
            "<" | "<=" | ">" | ">=" => {
                // Strict operators for all but the last pair.
                let strict = &name[..1];
                let mut e = ops.pop().expect("at least two pairs");
                for (a, b) in pairs.into_iter().rev().skip(1) {
                    let lt = self.make_op(strict, Some(a.clone()), b.clone(), l)?;
                    let eq = self.make_op("=", Some(a), b, l)?;
                    e = Expr::Or(vec![lt, Expr::And(vec![eq, e])]);
                }
                Ok(e)
            }
            _ => Err(self
                .error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("could not determine interpretation of row comparison operator {name}"),
                    l,
                )
                .with_hint(
                    "Row comparison operators must be associated with btree operator families.",
                )),
        }
    }

    /// A set-returning call where PostgreSQL cannot run one (0A000 at the
    /// last such call, with PostgreSQL's hint).
    pub(super) fn srf_misplaced(&self, scope: &Scope, msg: &str) -> PgError {
        self.error(sqlstate::FEATURE_NOT_SUPPORTED, msg, scope.last_srf_loc)
            .with_hint(
                "You might be able to move the set-returning function into a LATERAL FROM item.",
            )
    }
}

fn and_of(mut v: Vec<Expr>) -> Expr {
    if v.len() == 1 {
        v.pop().expect("one")
    } else {
        Expr::And(v)
    }
}

fn or_of(mut v: Vec<Expr>) -> Expr {
    if v.len() == 1 {
        v.pop().expect("one")
    } else {
        Expr::Or(v)
    }
}

impl Analyzer<'_> {
    /// A sort item's (descending, nulls first) for a key of `e`'s type,
    /// `USING op` included: `<` sorts ascending and `>` descending (with
    /// the text pattern operators `~<~`/`~>~`, the same order under the C
    /// collation), NULLs first when descending unless the item says; any
    /// other existing operator is not an ordering operator (42809).
    pub(super) fn sort_order(&mut self, sb: &pb::SortBy, e: &Expr) -> PgResult<(bool, bool)> {
        if sb.sortby_dir != pb::SortByDir::SortbyUsing as i32 {
            return Ok(sort_direction(sb));
        }
        let l = loc(sb.location);
        let op = str_list(&sb.use_op).last().cloned().unwrap_or_default();
        // The operator must exist for the key's type.
        self.make_op(&op, Some(e.clone()), e.clone(), l)?;
        let desc = match op.as_str() {
            "<" | "~<~" => false,
            ">" | "~>~" => true,
            _ => {
                return Err(self
                    .error(
                        "42809",
                        format!("operator {op} is not a valid ordering operator"),
                        l,
                    )
                    .with_hint(
                        "Ordering operators must be \"<\" or \">\" members of btree operator families.",
                    ));
            }
        };
        let nulls_first = match sb.sortby_nulls {
            n if n == pb::SortByNulls::SortbyNullsFirst as i32 => true,
            n if n == pb::SortByNulls::SortbyNullsLast as i32 => false,
            _ => desc,
        };
        Ok((desc, nulls_first))
    }
}

impl Analyzer<'_> {
    /// The rest of an aggregate call once its arguments are analysed (inside
    /// the aggregate, `scope.in_agg` set): its FILTER, and the checks that
    /// it holds no set-returning call and reads the query's own columns.
    pub(super) fn finish_aggregate_call(
        &mut self,
        scope: &mut Scope,
        f: &pb::FuncCall,
        args: &[Expr],
        srfs_before: usize,
        l: Option<usize>,
    ) -> PgResult<Option<Expr>> {
        let filter = match node_of(&f.agg_filter) {
            Some(n) => {
                let e = self.transform_expr(scope, n)?;
                Some(self.coerce_to_boolean(e, "FILTER", raw_location(n))?)
            }
            None => None,
        };
        if scope.srf_count != srfs_before {
            return Err(self.srf_misplaced(
                scope,
                "aggregate function calls cannot contain set-returning function calls",
            ));
        }
        // An aggregate over only outer columns belongs to the outer query
        // (PostgreSQL's agglevelsup), which is not supported yet.
        let reads = |m: &dyn Fn(&Expr) -> bool| args.iter().any(|a| a.any(m));
        if reads(&|x| matches!(x, Expr::ExecParam { .. }))
            && !reads(&|x| matches!(x, Expr::Column { .. }))
        {
            return Err(self.unsupported("aggregates over columns of an outer query", l));
        }
        Ok(filter)
    }
}

/// An ORDER BY item's (descending, nulls first), without `USING`.
pub(super) fn sort_direction(sb: &pb::SortBy) -> (bool, bool) {
    let desc = sb.sortby_dir == pb::SortByDir::SortbyDesc as i32;
    let nulls_first = match sb.sortby_nulls {
        n if n == pb::SortByNulls::SortbyNullsFirst as i32 => true,
        n if n == pb::SortByNulls::SortbyNullsLast as i32 => false,
        _ => desc,
    };
    (desc, nulls_first)
}

pub(super) fn first_agg(e: &Expr) -> Option<usize> {
    if let Expr::Agg { index: j, .. } = e {
        return Some(*j);
    }
    let mut found = None;
    e.for_each_child(&mut |c| {
        if found.is_none() {
            found = first_agg(c);
        }
    });
    found
}

fn const_loc(e: &Expr) -> Option<usize> {
    match e {
        Expr::Const { loc, .. } => loc.0,
        _ => None,
    }
}

/// PostgreSQL's `errorMissingColumn` hint: the closest column names
/// (Levenshtein distance at most 3 and less than half the name's length).
pub(crate) fn fuzzy_column_hint(
    name: &str,
    refname: &str,
    columns: &[super::super::catalog::ColumnDef],
) -> Option<String> {
    const MAX_FUZZY_DISTANCE: usize = 3;
    let mut distance = MAX_FUZZY_DISTANCE + 1;
    let mut first: Option<&str> = None;
    let mut second: Option<&str> = None;
    for c in columns {
        let d = levenshtein(&c.name, name);
        if d > name.chars().count() / 2 {
            continue;
        }
        if d < distance {
            distance = d;
            first = Some(&c.name);
            second = None;
        } else if d == distance {
            if second.is_some() {
                first = None;
                second = None;
                distance = d - 1;
            } else if first.is_some() {
                second = Some(&c.name);
            } else if distance <= MAX_FUZZY_DISTANCE {
                first = Some(&c.name);
            }
        }
    }
    match (first, second) {
        (Some(a), None) => Some(format!(
            "Perhaps you meant to reference the column \"{refname}.{a}\"."
        )),
        (Some(a), Some(b)) => Some(format!(
            "Perhaps you meant to reference the column \"{refname}.{a}\" or the column \"{refname}.{b}\"."
        )),
        _ => None,
    }
}

/// `e` without parse locations, for comparing expressions as PostgreSQL's
/// `equal()` does.
pub(super) fn strip_locations(e: Expr) -> Expr {
    e.rewrite(
        &mut |x: &Expr| -> Result<Option<Expr>, std::convert::Infallible> {
            Ok(match x {
                Expr::Column {
                    index,
                    ty,
                    typmod,
                    name,
                    loc: Loc(Some(_)),
                } => Some(Expr::Column {
                    index: *index,
                    ty: *ty,
                    typmod: *typmod,
                    name: name.clone(),
                    loc: Loc(None),
                }),
                Expr::Const {
                    value,
                    ty,
                    typmod,
                    loc: Loc(Some(_)),
                } => Some(Expr::Const {
                    value: value.clone(),
                    ty: *ty,
                    typmod: *typmod,
                    loc: Loc(None),
                }),
                _ => None,
            })
        },
    )
    .unwrap_or_else(|never| match never {})
}
