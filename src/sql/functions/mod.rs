//! Built-in functions, operators and aggregates: ferrogres's `pg_proc` and
//! `pg_operator`, built once per process.
//!
//! Each entry is a [`FuncDef`]: name, argument types, result type and an
//! implementation. Operators are entries of kind [`FuncKind::Infix`] /
//! [`FuncKind::Prefix`] named by their symbol; the analyser resolves a call
//! against the candidates of a name with PostgreSQL's rules
//! (`analyze::resolve`), and the executor calls the chosen entry by
//! [`FuncId`]. Arithmetic and comparison have generic implementations
//! ([`Impl::IntArith`], [`Impl::Cmp`], ...) parameterised by the entry's
//! result type, so the cross-type integer operators (`int4 + int8`, ...) of
//! PostgreSQL exist here too without one function per pair.

pub mod aggregates;
mod amcheck;
pub mod array;
mod bytea;
mod dates;
mod dbsize;
pub(crate) mod enums;
pub(crate) mod json;
mod math;
pub mod ordered_set;
mod regex;
mod regex_classes;
mod scalar;
mod sequence;
pub mod stataggs;
pub(crate) mod string;
mod timestamp;
mod uuid;
pub mod window;

use std::collections::HashMap;
use std::sync::OnceLock;

use super::exec::EvalContext;
use super::types::{Datum, Type};
use crate::utils::elog::PgResult;
pub use aggregates::AggKind;
pub use window::WinKind;

/// Index into the registry.
pub type FuncId = usize;

/// A declared argument type (`pg_proc.proargtypes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    T(Type),
    /// `anynonarray`: any type except arrays (and, after resolution, not unknown).
    AnyNonArray,
    /// `"any"`: accepts anything, including unknown literals, unchanged.
    Any,
    /// `anyarray` / `anyelement`: one element type for all of them
    /// (`analyze::resolve::resolve_polymorphic`).
    AnyArray,
    AnyElement,
    /// `anycompatiblearray` / `anycompatible`: their common type.
    AnyCompatibleArray,
    AnyCompatible,
    /// `anyenum`: in the `anyelement` family, restricted to enum types.
    AnyEnum,
}

impl ArgType {
    /// The `pg_type` oid PostgreSQL declares for this argument
    /// (`"any"` 2276, `anynonarray` 2776).
    pub fn type_oid(self) -> u32 {
        match self {
            ArgType::T(t) => t.oid(),
            ArgType::AnyNonArray => 2776,
            ArgType::Any => 2276,
            ArgType::AnyArray => 2277,
            ArgType::AnyElement => 2283,
            ArgType::AnyCompatible => 5077,
            ArgType::AnyCompatibleArray => 5078,
            ArgType::AnyEnum => 3500,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncKind {
    Function,
    Prefix,
    Infix,
    Aggregate(AggKind),
    /// A window function (`prokind = 'w'`), run by the WindowAgg node.
    Window(WinKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Signature of a scalar implementation: arguments (already non-NULL for
/// strict functions), their types, and the declared result type.
pub type ScalarFn = fn(&mut EvalContext, &[Datum], &[Type], Type) -> PgResult<Datum>;

/// A set-returning function that computes all its values at once
/// (arguments already non-NULL for strict functions; a NULL argument of a
/// strict one gives no rows).
pub type SetFn = fn(&mut EvalContext, &[Datum], &[Type]) -> PgResult<Vec<Datum>>;

/// How a set-returning function (`proretset`) produces its rows; the
/// executor runs every kind the same way, in FROM (`FunctionScan`) and in
/// a target list (`ProjectSet`), through `exec::srf::SrfRun`.
#[derive(Clone, Copy)]
pub enum SetImpl {
    /// `generate_series`, `unnest`, `generate_subscripts`: one value at a
    /// time (`exec::srf::Series`), so `LIMIT` stops an endless series.
    Series,
    /// One value per row, all computed on first use.
    Values(SetFn),
    /// Rows of several columns by name (`functions::json::srf_rows`).
    Rows,
}

#[derive(Clone, Copy)]
pub enum Impl {
    IntArith(Arith),
    FloatArith(Arith),
    NumericArith(Arith),
    Cmp(CmpOp),
    Negate,
    Identity,
    Scalar(ScalarFn),
    /// Aggregates are run by the executor's Agg node.
    Aggregate,
    /// Window functions are run by the executor's WindowAgg node.
    Window,
}

pub struct FuncDef {
    pub name: &'static str,
    pub kind: FuncKind,
    pub args: Vec<ArgType>,
    /// The last argument may repeat (`VARIADIC "any"`).
    pub variadic: bool,
    pub ret: Type,
    pub imp: Impl,
    /// NULL in, NULL out (without calling the implementation).
    pub strict: bool,
    /// Some for a set-returning function (`proretset`): how its rows are
    /// made. `imp` is then never called (the planner moves every call
    /// into a FunctionScan or ProjectSet node).
    pub srf: Option<SetImpl>,
}

pub struct Registry {
    pub funcs: Vec<FuncDef>,
    functions: HashMap<&'static str, Vec<FuncId>>,
    operators: HashMap<&'static str, Vec<FuncId>>,
}

impl Registry {
    /// Candidates for a function name (`operator` false) or an operator
    /// symbol (`operator` true).
    pub fn candidates(&self, name: &str, operator: bool) -> &[FuncId] {
        let map = if operator {
            &self.operators
        } else {
            &self.functions
        };
        map.get(name).map(|v| v.as_slice()).unwrap_or(&[])
    }

    pub fn get(&self, id: FuncId) -> &FuncDef {
        &self.funcs[id]
    }
}

/// Whether `name` is a set-returning function: some registry entry of
/// that name returns a set.
pub fn is_set_returning(name: &str) -> bool {
    registry()
        .candidates(name, false)
        .iter()
        .any(|&id| registry().get(id).srf.is_some())
}

/// Where a set-returning function's call is evaluated outside the nodes
/// that run sets: a planner bug, reported rather than panicking.
fn srf_outside_set_node(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> PgResult<Datum> {
    Err(crate::utils::elog::PgError::error(
        crate::utils::elog::sqlstate::FEATURE_NOT_SUPPORTED,
        "set-valued function called in context that cannot accept a set",
    ))
}

pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(build)
}

struct Builder {
    funcs: Vec<FuncDef>,
}

/// The comparison operators by symbol.
const COMPARISONS: [(&str, CmpOp); 6] = [
    ("=", CmpOp::Eq),
    ("<>", CmpOp::Ne),
    ("<", CmpOp::Lt),
    ("<=", CmpOp::Le),
    (">", CmpOp::Gt),
    (">=", CmpOp::Ge),
];

impl Builder {
    pub(super) fn push(
        &mut self,
        name: &'static str,
        kind: FuncKind,
        args: Vec<ArgType>,
        ret: Type,
        imp: Impl,
    ) -> &mut FuncDef {
        self.funcs.push(FuncDef {
            name,
            kind,
            args,
            variadic: false,
            ret,
            imp,
            strict: true,
            srf: None,
        });
        self.funcs.last_mut().expect("just pushed")
    }
    /// The six comparison operators (`= <> < <= > >=`) of a type with
    /// itself, through the type's generic comparison (`adt::compare`).
    fn comparison_ops(&mut self, t: Type) {
        for (sym, c) in COMPARISONS {
            self.op(sym, t, t, Type::Bool, Impl::Cmp(c));
        }
    }

    fn op(&mut self, name: &'static str, l: Type, r: Type, ret: Type, imp: Impl) {
        self.push(
            name,
            FuncKind::Infix,
            vec![ArgType::T(l), ArgType::T(r)],
            ret,
            imp,
        );
    }
    fn op_any(&mut self, name: &'static str, l: ArgType, r: ArgType, ret: Type, imp: Impl) {
        self.push(name, FuncKind::Infix, vec![l, r], ret, imp);
    }
    fn prefix(&mut self, name: &'static str, t: Type, ret: Type, imp: Impl) {
        self.push(name, FuncKind::Prefix, vec![ArgType::T(t)], ret, imp);
    }
    fn func(&mut self, name: &'static str, args: &[Type], ret: Type, f: ScalarFn) {
        let args = args.iter().map(|&t| ArgType::T(t)).collect();
        self.push(name, FuncKind::Function, args, ret, Impl::Scalar(f));
    }
    fn func_nonstrict(
        &mut self,
        name: &'static str,
        args: &[ArgType],
        ret: Type,
        f: ScalarFn,
        variadic: bool,
    ) {
        let def = self.push(
            name,
            FuncKind::Function,
            args.to_vec(),
            ret,
            Impl::Scalar(f),
        );
        def.strict = false;
        def.variadic = variadic;
    }
    /// A set-returning function (`proretset`) of declared argument types.
    fn set_func(
        &mut self,
        name: &'static str,
        args: &[ArgType],
        ret: Type,
        how: SetImpl,
    ) -> &mut FuncDef {
        let def = self.push(
            name,
            FuncKind::Function,
            args.to_vec(),
            ret,
            Impl::Scalar(srf_outside_set_node),
        );
        def.srf = Some(how);
        def
    }
    /// A set-returning function computing all its values at once.
    fn srf(&mut self, name: &'static str, args: &[Type], ret: Type, f: SetFn) {
        let args: Vec<ArgType> = args.iter().map(|&t| ArgType::T(t)).collect();
        self.set_func(name, &args, ret, SetImpl::Values(f));
    }
    fn agg(&mut self, name: &'static str, args: &[ArgType], ret: Type, kind: AggKind) {
        self.push(
            name,
            FuncKind::Aggregate(kind),
            args.to_vec(),
            ret,
            Impl::Aggregate,
        )
        .strict = false;
    }
}

fn build() -> Registry {
    use crate::sql::types::consts::*;
    let mut b = Builder { funcs: Vec::new() };
    let ints = [Int2, Int4, Int8];
    let wider = |a: Type, c: Type| {
        if a == Int8 || c == Int8 {
            Int8
        } else if a == Int4 || c == Int4 {
            Int4
        } else {
            Int2
        }
    };
    let cmps = COMPARISONS;
    let ariths = [
        ("+", Arith::Add),
        ("-", Arith::Sub),
        ("*", Arith::Mul),
        ("/", Arith::Div),
    ];

    // Integer arithmetic and comparison, including PostgreSQL's cross-type operators.
    for &l in &ints {
        for &r in &ints {
            for &(sym, a) in &ariths {
                b.op(sym, l, r, wider(l, r), Impl::IntArith(a));
            }
            for &(sym, c) in &cmps {
                b.op(sym, l, r, Bool, Impl::Cmp(c));
            }
        }
        b.op("%", l, l, l, Impl::IntArith(Arith::Mod));
        b.prefix("-", l, l, Impl::Negate);
        b.prefix("+", l, l, Impl::Identity);
    }
    // Floating point.
    for &l in &[Float4, Float8] {
        for &r in &[Float4, Float8] {
            let ret = if l == Float4 && r == Float4 {
                Float4
            } else {
                Float8
            };
            for &(sym, a) in &ariths {
                b.op(sym, l, r, ret, Impl::FloatArith(a));
            }
            for &(sym, c) in &cmps {
                b.op(sym, l, r, Bool, Impl::Cmp(c));
            }
        }
        b.prefix("-", l, l, Impl::Negate);
        b.prefix("+", l, l, Impl::Identity);
    }
    b.op(
        "^",
        Float8,
        Float8,
        Float8,
        Impl::Scalar(scalar::float8_pow),
    );
    // numeric.
    for &(sym, a) in &ariths {
        b.op(sym, Numeric, Numeric, Numeric, Impl::NumericArith(a));
    }
    b.op(
        "%",
        Numeric,
        Numeric,
        Numeric,
        Impl::NumericArith(Arith::Mod),
    );
    b.prefix("-", Numeric, Numeric, Impl::Negate);
    b.prefix("+", Numeric, Numeric, Impl::Identity);
    // Comparison for the remaining types.
    for &t in &[
        Bool,
        Numeric,
        Text,
        Name,
        Oid,
        Timestamptz,
        Interval,
        Inet,
        Char,
    ] {
        for &(sym, c) in &cmps {
            b.op(sym, t, t, Bool, Impl::Cmp(c));
        }
    }
    for &(sym, c) in &cmps {
        b.op(sym, Name, Text, Bool, Impl::Cmp(c));
        b.op(sym, Text, Name, Bool, Impl::Cmp(c));
    }
    // Composite values compare field by field, NULL fields equal to each
    // other and above the rest (`record_eq`, `record_lt`, ...).
    for &(sym, c) in &cmps {
        b.op(sym, Type::Record, Type::Record, Bool, Impl::Cmp(c));
    }
    // text_pattern_ops: bytewise, which is how text compares here (C collation).
    for (sym, c) in [
        ("~<~", CmpOp::Lt),
        ("~<=~", CmpOp::Le),
        ("~>=~", CmpOp::Ge),
        ("~>~", CmpOp::Gt),
    ] {
        b.op(sym, Text, Text, Bool, Impl::Cmp(c));
    }
    b.op("=", Xid, Xid, Bool, Impl::Cmp(CmpOp::Eq));
    b.op("<>", Xid, Xid, Bool, Impl::Cmp(CmpOp::Ne));
    b.op("=", Xid, Int4, Bool, Impl::Scalar(scalar::xid_eq_int4));
    b.op("<>", Xid, Int4, Bool, Impl::Scalar(scalar::xid_ne_int4));
    // Date/time arithmetic.
    b.op(
        "+",
        Timestamptz,
        Interval,
        Timestamptz,
        Impl::Scalar(scalar::timestamptz_pl_interval),
    );
    b.op(
        "+",
        Interval,
        Timestamptz,
        Timestamptz,
        Impl::Scalar(scalar::interval_pl_timestamptz),
    );
    b.op(
        "-",
        Timestamptz,
        Interval,
        Timestamptz,
        Impl::Scalar(scalar::timestamptz_mi_interval),
    );
    b.op(
        "-",
        Timestamptz,
        Timestamptz,
        Interval,
        Impl::Scalar(scalar::timestamptz_mi),
    );
    b.op(
        "+",
        Interval,
        Interval,
        Interval,
        Impl::Scalar(scalar::interval_pl),
    );
    b.op(
        "-",
        Interval,
        Interval,
        Interval,
        Impl::Scalar(scalar::interval_mi),
    );
    b.op(
        "*",
        Interval,
        Float8,
        Interval,
        Impl::Scalar(scalar::interval_mul),
    );
    b.op(
        "*",
        Float8,
        Interval,
        Interval,
        Impl::Scalar(scalar::mul_interval),
    );
    b.op(
        "/",
        Interval,
        Float8,
        Interval,
        Impl::Scalar(scalar::interval_div),
    );
    b.prefix("-", Interval, Interval, Impl::Negate);
    b.prefix("+", Interval, Interval, Impl::Identity);
    // Strings.
    b.op("||", Text, Text, Text, Impl::Scalar(scalar::textcat));
    b.op_any(
        "||",
        ArgType::T(Text),
        ArgType::AnyNonArray,
        Text,
        Impl::Scalar(scalar::textcat),
    );
    b.op_any(
        "||",
        ArgType::AnyNonArray,
        ArgType::T(Text),
        Text,
        Impl::Scalar(scalar::textcat),
    );
    for &t in &[Text, Name] {
        b.op("~~", t, Text, Bool, Impl::Scalar(scalar::like));
        b.op("!~~", t, Text, Bool, Impl::Scalar(scalar::not_like));
        b.op("~~*", t, Text, Bool, Impl::Scalar(scalar::ilike));
        b.op("!~~*", t, Text, Bool, Impl::Scalar(scalar::not_ilike));
    }
    b.func("like_escape", &[Text, Text], Text, scalar::like_escape);

    scalar::register(&mut b);
    regex::register(&mut b);
    string::register(&mut b);
    math::register(&mut b);
    bytea::register(&mut b);
    dates::register(&mut b);
    timestamp::register(&mut b);
    dbsize::register(&mut b);
    amcheck::register(&mut b);
    dates::register_srfs(&mut b);
    aggregates::register(&mut b);
    window::register(&mut b);
    uuid::register(&mut b);
    enums::register(&mut b);
    sequence::register(&mut b);
    json::register(&mut b);
    json::register_srfs(&mut b);
    array::register(&mut b);

    let mut functions: HashMap<&'static str, Vec<FuncId>> = HashMap::new();
    let mut operators: HashMap<&'static str, Vec<FuncId>> = HashMap::new();
    for (id, f) in b.funcs.iter().enumerate() {
        let map = if matches!(f.kind, FuncKind::Infix | FuncKind::Prefix) {
            &mut operators
        } else {
            &mut functions
        };
        map.entry(f.name).or_default().push(id);
    }
    Registry {
        funcs: b.funcs,
        functions,
        operators,
    }
}

/// Writes the registry as tab-separated rows (id, kind, name, argument
/// type oids, result type oid, variadic, strict) to the file named by
/// `FERROGRES_REGISTRY_DUMP`, for scripts/catalog/gen.sh.
#[cfg(test)]
mod dump {
    #[test]
    #[ignore = "a tool for scripts/catalog/gen.sh, not a test"]
    fn dump_registry() {
        use std::fmt::Write;
        let path = std::env::var("FERROGRES_REGISTRY_DUMP").expect("FERROGRES_REGISTRY_DUMP");
        let mut out = String::new();
        for (id, f) in super::registry().funcs.iter().enumerate() {
            let kind = match f.kind {
                super::FuncKind::Function => "f".to_string(),
                super::FuncKind::Prefix => "l".to_string(),
                super::FuncKind::Infix => "b".to_string(),
                super::FuncKind::Aggregate(k) => format!("a:{k:?}"),
                super::FuncKind::Window(k) => format!("w:{k:?}"),
            };
            let args: Vec<String> = f.args.iter().map(|a| a.type_oid().to_string()).collect();
            writeln!(
                out,
                "{id}\t{kind}\t{}\t{}\t{}\t{}\t{}",
                f.name,
                args.join(" "),
                f.ret.oid(),
                f.variadic,
                f.strict
            )
            .expect("write to a String");
        }
        std::fs::write(path, out).expect("write the registry dump");
    }
}
