//! Expressions as EXPLAIN prints them (the part of PostgreSQL's
//! `ruleutils.c` that `deparse_expression` uses): operators infix in
//! parentheses, constants other than integers and plain numerics with
//! their type (`'q'::text`), `AND`/`OR` flattened, `CASE`, `COALESCE`,
//! `IS NULL`, aggregates as called, subqueries as `(SubPlan n)`, `$n` for
//! an InitPlan's value.
//!
//! A column prints as the name its input gives it: each plan node's output
//! columns are deparsed once (`Names`), and an expression over that node
//! reads them by position, as `ruleutils` resolves OUTER_VAR and INNER_VAR
//! through the child plans.

use crate::sql::adt::{self, SessionFormat};
use crate::sql::analyze::Aggref;
use crate::sql::expr::{ArrayExpr, BoolTestKind, Expr, SubLinkKind};
use crate::sql::functions::{FuncKind, aggregates::AggKind, registry};
use crate::sql::types::{Datum, Type};

/// What names the columns of an expression's input row, and the
/// statement-wide choices that shape the text.
pub(super) struct Deparser<'a> {
    pub fmt: &'a SessionFormat,
    /// Output slot of each uncorrelated expression subquery printed as
    /// `$n` (an InitPlan's `returns $n`), by subplan index.
    pub initplan_params: &'a std::collections::HashMap<usize, usize>,
    /// How outer columns read by correlated subqueries print, by slot.
    pub exec_params: &'a std::collections::HashMap<usize, String>,
    /// Set when an expression nests deeper than the stack allows; EXPLAIN
    /// then fails with 54001 (PostgreSQL's deparser checks the depth too).
    pub too_deep: &'a std::cell::Cell<bool>,
}

impl Deparser<'_> {
    /// `e` over a row whose columns print as `cols`.
    pub fn expr(&self, e: &Expr, cols: &[String]) -> String {
        self.go(e, cols, None)
    }

    fn go(&self, e: &Expr, cols: &[String], case_test: Option<&str>) -> String {
        if crate::utils::stack::check_stack_depth().is_err() {
            self.too_deep.set(true);
            return String::new();
        }
        let sub = |x: &Expr| self.go(x, cols, case_test);
        match e {
            Expr::Const { value, ty, .. } => constant(value, *ty, self.fmt),
            Expr::Column { index, name, .. } => {
                cols.get(*index).cloned().unwrap_or_else(|| name.clone())
            }
            Expr::Func { func, args, ty, .. } => {
                let def = &registry().funcs[*func];
                match (def.kind, args.as_slice()) {
                    (FuncKind::Infix, [l, r]) => format!("({} {} {})", sub(l), def.name, sub(r)),
                    (FuncKind::Prefix, [r]) => format!("({} {})", def.name, sub(r)),
                    _ => {
                        let a: Vec<String> = args.iter().map(sub).collect();
                        let _ = ty;
                        format!("{}({})", def.name, a.join(", "))
                    }
                }
            }
            // Nested ANDs (ORs) print as one list, as PostgreSQL flattens them.
            Expr::And(args) => bool_list(flat(args, true).into_iter().map(sub), "AND"),
            Expr::Or(args) => bool_list(flat(args, false).into_iter().map(sub), "OR"),
            Expr::Not(arg) => format!("(NOT {})", sub(arg)),
            Expr::Case {
                arg,
                whens,
                default,
                ..
            } => {
                let test = arg.as_ref().map(|a| sub(a));
                let mut s = String::from("CASE");
                if let Some(t) = &test {
                    s.push(' ');
                    s.push_str(t);
                }
                for (w, t) in whens {
                    let cond = match (&test, w) {
                        // `CASE x WHEN v`: the comparison's right side.
                        (Some(_), Expr::Func { args, .. }) if args.len() == 2 => {
                            self.go(&args[1], cols, None)
                        }
                        _ => self.go(w, cols, test.as_deref()),
                    };
                    s.push_str(&format!(" WHEN {cond} THEN {}", sub(t)));
                }
                s.push_str(&format!(" ELSE {} END", sub(default)));
                s
            }
            Expr::CaseTest { .. } => case_test.unwrap_or("CASE_TEST_EXPR").to_string(),
            Expr::InList { arg, test } => {
                let a = sub(arg);
                match self.in_list_array(test) {
                    Some((op, quantifier, array)) => format!("({a} {op} {quantifier} ({array}))"),
                    None => self.go(test, cols, Some(&a)),
                }
            }
            Expr::Param { number, ty } => match crate::sql::params::bound_value(*number) {
                Some(v) => constant(&v, *ty, self.fmt),
                None => format!("${number}"),
            },
            Expr::Coalesce { args, .. } => call("COALESCE", args.iter().map(sub)),
            Expr::MinMax { greatest, args, .. } => call(
                if *greatest { "GREATEST" } else { "LEAST" },
                args.iter().map(sub),
            ),
            Expr::NullIf { left, right, .. } => call("NULLIF", [sub(left), sub(right)].into_iter()),
            Expr::NullTest { arg, is_not } => format!(
                "({} IS {}NULL)",
                sub(arg),
                if *is_not { "NOT " } else { "" }
            ),
            Expr::BoolTest { arg, kind } => {
                let k = match kind {
                    BoolTestKind::IsTrue => "IS TRUE",
                    BoolTestKind::IsNotTrue => "IS NOT TRUE",
                    BoolTestKind::IsFalse => "IS FALSE",
                    BoolTestKind::IsNotFalse => "IS NOT FALSE",
                    BoolTestKind::IsUnknown => "IS UNKNOWN",
                    BoolTestKind::IsNotUnknown => "IS NOT UNKNOWN",
                };
                format!("({} {k})", sub(arg))
            }
            Expr::Cast { arg, to, typmod } => {
                format!("({})::{}", sub(arg), type_name(*to, *typmod))
            }
            Expr::Distinct {
                left, right, not, ..
            } => format!(
                "({} IS {}DISTINCT FROM {})",
                sub(left),
                if *not { "NOT " } else { "" },
                sub(right)
            ),
            Expr::Agg { index, .. } => format!("agg{index}"),
            Expr::WindowFunc { index, .. } => format!("window{index}"),
            Expr::SubLink {
                index,
                kind,
                correlated,
                ..
            } => {
                let n = index + 1;
                match (kind, correlated) {
                    (_, true) => format!("(SubPlan {n})"),
                    (SubLinkKind::Any { .. }, false) => format!("(hashed SubPlan {n})"),
                    (_, false) => match self.initplan_params.get(index) {
                        Some(p) => format!("${p}"),
                        None => format!("(SubPlan {n})"),
                    },
                }
            }
            Expr::ExecParam { slot, .. } => self
                .exec_params
                .get(slot)
                .cloned()
                .unwrap_or_else(|| format!("${slot}")),
            Expr::Array(a) => match &**a {
                ArrayExpr::Construct { elems, .. } => {
                    let items: Vec<String> = elems.iter().map(sub).collect();
                    format!("ARRAY[{}]", items.join(", "))
                }
                ArrayExpr::Subscript {
                    arg,
                    lower,
                    upper,
                    slice,
                    ..
                } => {
                    let mut s = format!("({})", sub(arg));
                    for (l, u) in lower.iter().zip(upper) {
                        let u = u.as_ref().map(&sub).unwrap_or_default();
                        if *slice {
                            let l = l.as_ref().map(&sub).unwrap_or_default();
                            s.push_str(&format!("[{l}:{u}]"));
                        } else {
                            s.push_str(&format!("[{u}]"));
                        }
                    }
                    s
                }
                ArrayExpr::Assign { arg, .. } => sub(arg),
                ArrayExpr::ScalarArrayOp {
                    func,
                    left,
                    array,
                    all,
                    ..
                } => format!(
                    "({} {} {} ({}))",
                    sub(left),
                    registry().funcs[*func].name,
                    if *all { "ALL" } else { "ANY" },
                    sub(array)
                ),
            },
            Expr::Row(fields) => call("ROW", fields.iter().map(sub)),
            Expr::FieldSelect { arg, field, .. } => format!("({}).f{}", sub(arg), field + 1),
        }
    }

    /// `x IN (1, 2)` over constants as PostgreSQL plans it, a
    /// ScalarArrayOpExpr over an array constant: `= ANY ('{1,2}'::integer[])`
    /// (NOT IN: `<> ALL`). None when an item is not a constant.
    fn in_list_array(&self, test: &Expr) -> Option<(&'static str, &'static str, String)> {
        let (args, quantifier) = match test {
            Expr::Or(args) => (args, "ANY"),
            Expr::And(args) => (args, "ALL"),
            _ => return None,
        };
        let mut op = None;
        let mut ty = None;
        let mut items = Vec::new();
        for a in args {
            let Expr::Func { func, args, .. } = a else {
                return None;
            };
            let def = &registry().funcs[*func];
            let [Expr::CaseTest { .. }, Expr::Const { value, ty: t, .. }] = args.as_slice() else {
                return None;
            };
            if op.is_some_and(|o| o != def.name) || ty.is_some_and(|x| x != *t) {
                return None;
            }
            op = Some(def.name);
            ty = Some(*t);
            items.push(match adt::output(value, *t, self.fmt) {
                None => "NULL".to_string(),
                Some(v) => array_element(&v),
            });
        }
        let (op, ty) = (op?, ty?);
        let literal = quote_literal(&format!("{{{}}}", items.join(",")));
        Some((
            op,
            quantifier,
            format!("{literal}::{}[]", type_name(ty, -1)),
        ))
    }

    /// An aggregate call over its input row, as PostgreSQL prints an Aggref.
    pub fn aggref(&self, a: &Aggref, cols: &[String]) -> String {
        let name = agg_name(a.kind);
        let args: Vec<String> = a.args.iter().map(|x| self.expr(x, cols)).collect();
        let mut s = if a.kind == AggKind::CountStar {
            format!("{name}(*)")
        } else if matches!(a.kind, AggKind::OrderedSet(_)) {
            let direct: Vec<String> = a.direct_args.iter().map(|x| self.expr(x, cols)).collect();
            format!(
                "{name}({}) WITHIN GROUP (ORDER BY {})",
                direct.join(", "),
                self.order_list(&a.args, &a.order, cols)
            )
        } else {
            let mut s = format!(
                "{name}({}{}",
                if a.distinct { "DISTINCT " } else { "" },
                args.join(", ")
            );
            if !a.order.is_empty() {
                let keys: Vec<Expr> = a.order.iter().map(|(e, _, _)| e.clone()).collect();
                s.push_str(&format!(
                    " ORDER BY {}",
                    self.order_list(&keys, &a.order, cols)
                ));
            }
            s.push(')');
            s
        };
        if let Some(f) = &a.filter {
            s.push_str(&format!(" FILTER (WHERE {})", self.expr(f, cols)));
        }
        s
    }

    fn order_list(&self, keys: &[Expr], dirs: &[(Expr, bool, bool)], cols: &[String]) -> String {
        keys.iter()
            .zip(dirs)
            .map(|(k, (_, desc, nulls_first))| sort_key(self.expr(k, cols), *desc, *nulls_first))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A sort key as `Sort Key:` shows it: `a`, `a DESC`, `a NULLS FIRST`,
/// `a DESC NULLS LAST` (only what differs from the direction's default).
pub(super) fn sort_key(key: String, desc: bool, nulls_first: bool) -> String {
    match (desc, nulls_first) {
        (false, false) => key,
        (false, true) => format!("{key} NULLS FIRST"),
        (true, true) => format!("{key} DESC"),
        (true, false) => format!("{key} DESC NULLS LAST"),
    }
}

/// The SQL name of an aggregate.
pub(super) fn agg_name(kind: AggKind) -> &'static str {
    registry()
        .funcs
        .iter()
        .find(|f| f.kind == FuncKind::Aggregate(kind))
        .map_or("aggregate", |f| f.name)
}

/// The arguments of an AND (`and`) or OR, with nested ones of the same kind spliced in.
fn flat(args: &[Expr], and: bool) -> Vec<&Expr> {
    let mut out = Vec::new();
    for a in args {
        match a {
            Expr::And(inner) if and => out.extend(flat(inner, true)),
            Expr::Or(inner) if !and => out.extend(flat(inner, false)),
            other => out.push(other),
        }
    }
    out
}

fn bool_list(args: impl Iterator<Item = String>, op: &str) -> String {
    let parts: Vec<String> = args.collect();
    format!("({})", parts.join(&format!(" {op} ")))
}

fn call(name: &str, args: impl Iterator<Item = String>) -> String {
    format!("{name}({})", args.collect::<Vec<_>>().join(", "))
}

/// `format_type`'s spelling of a type with its modifier.
pub(super) fn type_name(ty: Type, typmod: i32) -> String {
    let base = ty.name().into_owned();
    if typmod < 0 {
        return base;
    }
    match ty {
        Type::Varchar | Type::Bpchar => format!("{base}({})", typmod - 4),
        Type::Numeric => {
            let t = typmod - 4;
            format!("{base}({},{})", (t >> 16) & 0xffff, t & 0xffff)
        }
        _ => base,
    }
}

/// A constant as `get_const_expr` prints it: integers and plain numerics
/// bare (negative ones quoted, with their type), booleans as `true` and
/// `false`, NULL and every other type as a quoted literal with `::type`.
fn constant(value: &Datum, ty: Type, fmt: &SessionFormat) -> String {
    let Some(text) = adt::output(value, ty, fmt) else {
        return format!("NULL::{}", type_name(ty, -1));
    };
    match ty {
        Type::Int4 if !text.starts_with('-') => text,
        Type::Numeric
            if !text.starts_with('-')
                && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && text.contains('.') =>
        {
            text
        }
        Type::Bool => (if text == "t" { "true" } else { "false" }).to_string(),
        Type::Unknown => quote_literal(&text),
        _ => format!("{}::{}", quote_literal(&text), type_name(ty, -1)),
    }
}

/// An element of an array literal, quoted as `array_out` quotes it.
fn array_element(v: &str) -> String {
    let needs = v.is_empty()
        || v.eq_ignore_ascii_case("null")
        || v.chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if needs {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

fn quote_literal(s: &str) -> String {
    let escaped = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", escaped.replace('\\', "\\\\"))
    } else {
        format!("'{escaped}'")
    }
}
