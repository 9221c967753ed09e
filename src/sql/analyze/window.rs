//! Window functions and window definitions (PostgreSQL's
//! `transformWindowFuncCall` in `parse_agg.c` and
//! `transformWindowDefinitions` in `parse_clause.c`).
//!
//! A call with `OVER` becomes an [`Expr::WindowFunc`] placeholder and a
//! [`WindowFuncRef`] that names its window by number (`winref`). The
//! windows are PostgreSQL's `p_windowdefs`: the `WINDOW` clause's
//! definitions first, then each inline `OVER (...)` that is not equal to
//! one already listed. They stay raw until the whole SELECT has been
//! analysed, as in PostgreSQL, and are then transformed in order into
//! [`WindowClause`]s (a definition may copy an earlier one by name).
//! PARTITION BY and ORDER BY follow SQL99 rules: `PARTITION BY 1` is the
//! constant 1, and names are input columns, never output aliases.
//!
//! Everything a window reads is an expression over the row the target
//! list reads (the aggregation's output when the query groups), so
//! `sum(sum(x)) OVER (ORDER BY g)` works and an ungrouped column in a
//! window is the usual grouping error.

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::expr::strip_locations;
use super::names::raw_location;
use super::{Analyzer, ExprKind, Scope, node_of};
use crate::sql::expr::{Expr, Loc};
use crate::sql::functions::{AggKind, WinKind};
use crate::sql::types::Type;
use crate::utils::elog::{PgResult, sqlstate};

/// `FRAMEOPTION_*` of PostgreSQL's `parsenodes.h` (the parser's bits).
pub mod frameopt {
    pub const NONDEFAULT: i32 = 0x00001;
    pub const RANGE: i32 = 0x00002;
    pub const ROWS: i32 = 0x00004;
    pub const GROUPS: i32 = 0x00008;
    pub const START_UNBOUNDED_PRECEDING: i32 = 0x00020;
    pub const END_UNBOUNDED_FOLLOWING: i32 = 0x00100;
    pub const START_CURRENT_ROW: i32 = 0x00200;
    pub const END_CURRENT_ROW: i32 = 0x00400;
    pub const START_OFFSET_PRECEDING: i32 = 0x00800;
    pub const END_OFFSET_PRECEDING: i32 = 0x01000;
    pub const START_OFFSET_FOLLOWING: i32 = 0x02000;
    pub const END_OFFSET_FOLLOWING: i32 = 0x04000;
    pub const EXCLUDE_CURRENT_ROW: i32 = 0x08000;
    pub const EXCLUDE_GROUP: i32 = 0x10000;
    pub const EXCLUDE_TIES: i32 = 0x20000;
    pub const START_OFFSET: i32 = START_OFFSET_PRECEDING | START_OFFSET_FOLLOWING;
    pub const END_OFFSET: i32 = END_OFFSET_PRECEDING | END_OFFSET_FOLLOWING;
    pub const DEFAULTS: i32 = RANGE | START_UNBOUNDED_PRECEDING | END_CURRENT_ROW;
}

/// What a window function call computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WinFunc {
    Builtin(WinKind),
    /// An aggregate over the frame (`winagg`).
    Agg(AggKind),
}

/// One window function call (PostgreSQL's `WindowFunc`).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowFuncRef {
    pub func: WinFunc,
    pub args: Vec<Expr>,
    pub arg_types: Vec<Type>,
    pub ty: Type,
    /// `FILTER (WHERE ...)` of an aggregate.
    pub filter: Option<Expr>,
    /// Index into [`super::Query::windows`].
    pub winref: usize,
    pub loc: Loc,
}

/// How a RANGE frame's offset bound is computed from the current row's
/// ORDER BY value `v` (a `CaseTest` in these expressions): PostgreSQL's
/// `in_range` support function, as `v + offset` and `v - offset` compared
/// with each row's value cast by `key` (None: compared as it is).
#[derive(Clone, Debug, PartialEq)]
pub struct RangeOffsetOps {
    pub plus: Expr,
    pub minus: Expr,
    pub key: Option<Expr>,
}

/// A frame clause.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// `frameopt` bits.
    pub options: i32,
    /// Offsets: int8 for ROWS and GROUPS; for RANGE, the type the
    /// in_range function takes.
    pub start_offset: Option<Expr>,
    pub end_offset: Option<Expr>,
    /// RANGE offset bounds: how each is computed.
    pub start_ops: Option<RangeOffsetOps>,
    pub end_ops: Option<RangeOffsetOps>,
}

/// A window (PostgreSQL's `WindowClause`).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowClause {
    pub name: Option<String>,
    pub partition: Vec<Expr>,
    /// (expression, descending, nulls first)
    pub order: Vec<(Expr, bool, bool)>,
    pub frame: Frame,
    /// `uniqueOrder` of the planner's `select_active_windows`: the
    /// sort-group references (and direction, nulls first) of the
    /// partition then the order keys, without repeats. The planner orders
    /// windows by it as PostgreSQL does, which decides the row order a
    /// query without ORDER BY returns.
    pub sort_refs: Vec<(usize, bool, bool)>,
}

/// Whether `e` holds a window function call.
pub fn has_window_func(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::WindowFunc { .. }))
}

/// The first window function call in `e`.
pub(super) fn first_window_func(e: &Expr) -> Option<usize> {
    if let Expr::WindowFunc { index, .. } = e {
        return Some(*index);
    }
    let mut found = None;
    e.for_each_child(&mut |c| {
        if found.is_none() {
            found = first_window_func(c);
        }
    });
    found
}

fn loc(l: i32) -> Option<usize> {
    (l >= 0).then_some(l as usize)
}

/// Raw window definitions compare as PostgreSQL's `equal()` does, which
/// ignores parse locations.
fn same_definition(a: &pb::WindowDef, b: &pb::WindowDef) -> bool {
    fn shape(w: &pb::WindowDef) -> String {
        let mut w = w.clone();
        w.name.clear();
        let text = format!("{w:?}");
        // Drop every `location: N` of the node tree.
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(i) = rest.find("location: ") {
            out.push_str(&rest[..i]);
            rest = rest[i + "location: ".len()..]
                .trim_start_matches(|c: char| c == '-' || c.is_ascii_digit());
        }
        out.push_str(rest);
        out
    }
    shape(a) == shape(b)
}

impl Analyzer<'_> {
    /// Checks a call with `OVER` and registers it; `agg` is the aggregate
    /// kind when the function is an aggregate, else `kind` is the window
    /// function. `args` are analysed (and coerced by `finish_call`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transform_window_func_call(
        &mut self,
        scope: &mut Scope,
        f: &pb::FuncCall,
        func: WinFunc,
        args: Vec<Expr>,
        arg_types: Vec<Type>,
        ty: Type,
        srfs_before: usize,
    ) -> PgResult<Expr> {
        let l = loc(f.location);
        if f.agg_distinct {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "DISTINCT is not implemented for window functions",
                l,
            ));
        }
        if f.agg_filter.is_some() && matches!(func, WinFunc::Builtin(_)) {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "FILTER is not implemented for non-aggregate window functions",
                l,
            ));
        }
        if !f.agg_order.is_empty() {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "aggregate ORDER BY is not implemented for window functions",
                l,
            ));
        }
        if scope.srf_count != srfs_before {
            return Err(self.srf_misplaced(
                scope,
                "window function calls cannot contain set-returning function calls",
            ));
        }
        let filter = match node_of(&f.agg_filter) {
            Some(n) => {
                let e = self.transform_expr(scope, n)?;
                Some(self.coerce_to_boolean(e, "FILTER", raw_location(n))?)
            }
            None => None,
        };
        // transformWindowFuncCall: nesting, then where the call is.
        let inner = args.iter().chain(filter.iter()).find_map(first_window_func);
        if let Some(j) = inner {
            return Err(self.error(
                sqlstate::WINDOWING_ERROR,
                "window function calls cannot be nested",
                scope.winfuncs[j].loc.0,
            ));
        }
        if !scope.kind.allows_window_functions() {
            let msg = match scope.kind {
                ExprKind::WindowPartition | ExprKind::WindowOrder | ExprKind::WindowFrame(_) => {
                    "window functions are not allowed in window definitions".to_string()
                }
                k => format!("window functions are not allowed in {}", k.clause()),
            };
            return Err(self.error(sqlstate::WINDOWING_ERROR, msg, l));
        }
        let over = f.over.as_ref().expect("a window function call has OVER");
        let winref = if !over.name.is_empty() {
            // OVER w: a window of the WINDOW clause.
            match scope.windowdefs.iter().position(|w| w.name == over.name) {
                Some(i) => i,
                None => {
                    return Err(self.error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("window \"{}\" does not exist", over.name),
                        loc(over.location),
                    ));
                }
            }
        } else {
            // An inline definition: the first equal one, else a new one.
            match scope
                .windowdefs
                .iter()
                .position(|w| w.refname == over.refname && same_definition(w, over))
            {
                Some(i) => i,
                None => {
                    scope.windowdefs.push((**over).clone());
                    scope.windowdefs.len() - 1
                }
            }
        };
        scope.winfuncs.push(WindowFuncRef {
            func,
            args,
            arg_types,
            ty,
            filter,
            winref,
            loc: Loc(l),
        });
        Ok(Expr::WindowFunc {
            index: scope.winfuncs.len() - 1,
            ty,
        })
    }

    /// `transformWindowDefinitions`: the windows of `scope.windowdefs`, in
    /// order. `sortgroup` holds the expressions the query's ORDER BY and
    /// GROUP BY already numbered (their sort-group references are their
    /// positions plus one); window keys not among them are added.
    pub(super) fn transform_window_definitions(
        &mut self,
        scope: &mut Scope,
        sortgroup: &mut Vec<Expr>,
    ) -> PgResult<Vec<WindowClause>> {
        use frameopt::*;
        let defs = std::mem::take(&mut scope.windowdefs);
        let mut result: Vec<WindowClause> = Vec::with_capacity(defs.len());
        let outcome = (|| -> PgResult<()> {
            for def in &defs {
                let l = loc(def.location);
                if !def.name.is_empty()
                    && result.iter().any(|w| w.name.as_deref() == Some(&def.name))
                {
                    return Err(self.error(
                        sqlstate::WINDOWING_ERROR,
                        format!("window \"{}\" is already defined", def.name),
                        l,
                    ));
                }
                let refwc = if def.refname.is_empty() {
                    None
                } else {
                    match result
                        .iter()
                        .find(|w| w.name.as_deref() == Some(&def.refname))
                    {
                        Some(w) => Some(w.clone()),
                        None => {
                            return Err(self.error(
                                sqlstate::UNDEFINED_OBJECT,
                                format!("window \"{}\" does not exist", def.refname),
                                l,
                            ));
                        }
                    }
                };
                scope.kind = ExprKind::WindowOrder;
                let mut order = Vec::with_capacity(def.order_clause.len());
                for item in &def.order_clause {
                    let Some(NodeEnum::SortBy(sb)) = item.node.as_ref() else {
                        continue;
                    };
                    let node = node_of(&sb.node).expect("SortBy has an expression");
                    let e = self.transform_expr(scope, node)?;
                    let e = self.unknown_to_text(e, raw_location(node))?;
                    self.check_sortable(&e, raw_location(node))?;
                    let (desc, nulls_first) = self.sort_order(sb, &e)?;
                    order.push((e, desc, nulls_first));
                }
                scope.kind = ExprKind::WindowPartition;
                let mut partition = Vec::with_capacity(def.partition_clause.len());
                for item in &def.partition_clause {
                    let Some(node) = item.node.as_ref() else {
                        continue;
                    };
                    let e = self.transform_expr(scope, node)?;
                    let e = self.unknown_to_text(e, raw_location(node))?;
                    if !e.ty().is_sortable() {
                        return Err(self.error(
                            sqlstate::UNDEFINED_FUNCTION,
                            format!(
                                "could not identify an equality operator for type {}",
                                e.ty().name()
                            ),
                            raw_location(node),
                        ));
                    }
                    // A key already listed is not repeated.
                    if !partition.contains(&e) {
                        partition.push(e);
                    }
                }
                // A definition that names another copies its PARTITION BY
                // and (when it has none of its own) its ORDER BY.
                if let Some(r) = &refwc {
                    if !partition.is_empty() {
                        return Err(self.error(
                            sqlstate::WINDOWING_ERROR,
                            format!(
                                "cannot override PARTITION BY clause of window \"{}\"",
                                def.refname
                            ),
                            l,
                        ));
                    }
                    partition = r.partition.clone();
                    if !order.is_empty() && !r.order.is_empty() {
                        return Err(self.error(
                            sqlstate::WINDOWING_ERROR,
                            format!(
                                "cannot override ORDER BY clause of window \"{}\"",
                                def.refname
                            ),
                            l,
                        ));
                    }
                    let own_order = !order.is_empty();
                    if !own_order {
                        order = r.order.clone();
                    }
                    if r.frame.options != DEFAULTS {
                        let e = self.error(
                            sqlstate::WINDOWING_ERROR,
                            format!(
                                "cannot copy window \"{}\" because it has a frame clause",
                                def.refname
                            ),
                            l,
                        );
                        if !def.name.is_empty() || own_order || def.frame_options != DEFAULTS {
                            return Err(e);
                        }
                        return Err(e.with_hint("Omit the parentheses in this OVER clause."));
                    }
                }
                let options = def.frame_options;
                if options & RANGE != 0
                    && options & (START_OFFSET | END_OFFSET) != 0
                    && order.len() != 1
                {
                    return Err(self.error(
                        sqlstate::WINDOWING_ERROR,
                        "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
                        l,
                    ));
                }
                if options & GROUPS != 0 && order.is_empty() {
                    return Err(self.error(
                        sqlstate::WINDOWING_ERROR,
                        "GROUPS mode requires an ORDER BY clause",
                        l,
                    ));
                }
                let key_ty = order.first().map(|o| o.0.ty());
                let (start_offset, start_ops) = self.transform_frame_offset(
                    scope,
                    options,
                    key_ty,
                    node_of(&def.start_offset),
                )?;
                let (end_offset, end_ops) =
                    self.transform_frame_offset(scope, options, key_ty, node_of(&def.end_offset))?;
                // Sort-group references: ORDER BY keys, then PARTITION BY.
                let number = |e: &Expr, sortgroup: &mut Vec<Expr>| {
                    let bare = strip_locations(e.clone());
                    match sortgroup.iter().position(|s| *s == bare) {
                        Some(i) => i + 1,
                        None => {
                            sortgroup.push(bare);
                            sortgroup.len()
                        }
                    }
                };
                let order_refs: Vec<(usize, bool, bool)> = order
                    .iter()
                    .map(|(e, d, n)| (number(e, sortgroup), *d, *n))
                    .collect();
                let mut sort_refs: Vec<(usize, bool, bool)> = Vec::new();
                for e in &partition {
                    let r = (number(e, sortgroup), false, false);
                    if !sort_refs.contains(&r) {
                        sort_refs.push(r);
                    }
                }
                for r in order_refs {
                    if !sort_refs.contains(&r) {
                        sort_refs.push(r);
                    }
                }
                result.push(WindowClause {
                    name: (!def.name.is_empty()).then(|| def.name.clone()),
                    partition,
                    order,
                    frame: Frame {
                        options,
                        start_offset,
                        end_offset,
                        start_ops,
                        end_ops,
                    },
                    sort_refs,
                });
            }
            Ok(())
        })();
        scope.windowdefs = defs;
        outcome.map(|()| result)
    }

    /// `transformFrameOffset`: ROWS and GROUPS offsets are bigint; a
    /// RANGE offset takes the type of the in_range support function for
    /// the ORDER BY column's type. No offset may read columns.
    fn transform_frame_offset(
        &mut self,
        scope: &mut Scope,
        options: i32,
        key_ty: Option<Type>,
        node: Option<&NodeEnum>,
    ) -> PgResult<(Option<Expr>, Option<RangeOffsetOps>)> {
        use frameopt::*;
        let Some(node) = node else {
            return Ok((None, None));
        };
        let clause = if options & ROWS != 0 {
            "ROWS"
        } else if options & GROUPS != 0 {
            "GROUPS"
        } else {
            "RANGE"
        };
        scope.kind = ExprKind::WindowFrame(clause);
        let l = raw_location(node);
        let e = self.transform_expr(scope, node)?;
        if e.any(&|x| matches!(x, Expr::Column { .. })) {
            let col_loc = super::first_column_loc(&e).or(l);
            return Err(self.error(
                "42P10",
                format!("argument of {clause} must not contain variables"),
                col_loc,
            ));
        }
        if clause != "RANGE" {
            return Ok((
                Some(self.coerce_to_specific(e, Type::Int8, clause, l)?),
                None,
            ));
        }
        let key = key_ty.expect("RANGE offsets have one ORDER BY column");
        let offset_ty = e.ty();
        // The in_range support functions of the btree operator families
        // (left type: the column's; right types: what the offset may be).
        use crate::sql::types::consts as t;
        let rights: &[Type] = match key {
            k if k == t::Int2 || k == t::Int4 => &[t::Int8, t::Int4, t::Int2],
            k if k == t::Int8 => &[t::Int8],
            k if k == t::Float4 || k == t::Float8 => &[t::Float8],
            k if k == t::Numeric => &[t::Numeric],
            k if k == t::Date
                || k == t::Timestamp
                || k == t::Timestamptz
                || k == t::Time
                || k == t::Interval =>
            {
                &[t::Interval]
            }
            _ => &[],
        };
        if rights.is_empty() {
            return Err(self.error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {}",
                    key.name()
                ),
                l,
            ));
        }
        // An exact match, else the one function the offset coerces to
        // implicitly (the column's own type among several).
        let coercible: Vec<Type> = rights
            .iter()
            .copied()
            .filter(|&r| {
                crate::sql::adt::can_coerce(
                    offset_ty,
                    r,
                    crate::sql::adt::CoercionContext::Implicit,
                )
            })
            .collect();
        let target = if rights.contains(&offset_ty) {
            offset_ty
        } else if coercible.len() == 1 {
            coercible[0]
        } else if coercible.contains(&key) {
            key
        } else {
            return Err(self
                .error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {} and offset type {}",
                        key.name(),
                        offset_ty.name()
                    ),
                    l,
                )
                .with_hint("Cast the offset value to an appropriate type."));
        };
        let offset = self.coerce_to_specific(e, target, "RANGE", l)?;
        // v + offset and v - offset in the type the column compares in:
        // integers in numeric (in_range never overflows), dates as
        // timestamps.
        let case = Expr::CaseTest { ty: key };
        let (base, off, key_cast) = if key == t::Int2 || key == t::Int4 || key == t::Int8 {
            let cast = |e: Expr| Expr::Cast {
                arg: Box::new(e),
                to: t::Numeric,
                typmod: -1,
            };
            (cast(case.clone()), cast(offset.clone()), Some(cast(case)))
        } else if key == t::Float4 {
            let cast = Expr::Cast {
                arg: Box::new(case),
                to: t::Float8,
                typmod: -1,
            };
            (cast.clone(), offset.clone(), Some(cast))
        } else if key == t::Date {
            let cast = Expr::Cast {
                arg: Box::new(case),
                to: t::Timestamp,
                typmod: -1,
            };
            (cast.clone(), offset.clone(), Some(cast))
        } else {
            (case, offset.clone(), None)
        };
        let plus = self.make_op("+", Some(base.clone()), off.clone(), None)?;
        let minus = self.make_op("-", Some(base), off, None)?;
        Ok((
            Some(offset),
            Some(RangeOffsetOps {
                plus,
                minus,
                key: key_cast,
            }),
        ))
    }

    /// A window key of unknown type (a string literal) is text.
    fn unknown_to_text(&mut self, e: Expr, l: Option<usize>) -> PgResult<Expr> {
        if e.ty() == Type::Unknown {
            self.coerce(
                e,
                Type::Text,
                -1,
                crate::sql::adt::CoercionContext::Implicit,
                l,
            )
        } else {
            Ok(e)
        }
    }

    fn check_sortable(&self, e: &Expr, l: Option<usize>) -> PgResult<()> {
        if e.ty().is_sortable() {
            return Ok(());
        }
        Err(self
            .error(
                sqlstate::UNDEFINED_FUNCTION,
                format!(
                    "could not identify an ordering operator for type {}",
                    e.ty().name()
                ),
                l,
            )
            .with_hint("Use an explicit ordering operator or modify the query."))
    }
}
