//! Names and locations derived from raw parse trees: PostgreSQL's
//! `FigureColname` (default output column names) and `exprLocation` (the
//! leftmost token of an expression, where error carets point).

use pg_query::NodeEnum;
use pg_query::protobuf::{MinMaxOp, SqlValueFunctionOp};

/// Default name of an output column (`?column?` when nothing better).
pub fn figure_colname(node: Option<&NodeEnum>) -> String {
    figure(node)
        .map(|(n, _)| n)
        .unwrap_or_else(|| "?column?".into())
}

fn last_string(nodes: &[pg_query::Node]) -> Option<String> {
    match nodes.last()?.node.as_ref()? {
        NodeEnum::String(s) => Some(s.sval.clone()),
        _ => None,
    }
}

/// (name, strength): 2 for a real name, 1 for a fallback like `case`.
fn figure(node: Option<&NodeEnum>) -> Option<(String, u8)> {
    let node = node?;
    match node {
        NodeEnum::ColumnRef(c) => last_string(&c.fields).map(|n| (n, 2)),
        NodeEnum::FuncCall(f) => last_string(&f.funcname).map(|n| (n, 2)),
        NodeEnum::AExpr(a) if a.kind == pg_query::protobuf::AExprKind::AexprNullif as i32 => {
            Some(("nullif".into(), 2))
        }
        NodeEnum::TypeCast(tc) => {
            let inner = figure(tc.arg.as_ref().and_then(|a| a.node.as_ref()));
            match inner {
                Some((n, s)) if s > 1 => Some((n, s)),
                _ => tc
                    .type_name
                    .as_ref()
                    .and_then(|t| last_string(&t.names))
                    .map(|n| (n, 1)),
            }
        }
        // The ELSE's name when that is a strong one (a column, a function...).
        NodeEnum::CaseExpr(c) => match figure(c.defresult.as_ref().and_then(|n| n.node.as_ref())) {
            Some((name, strength)) if strength > 1 => Some((name, strength)),
            _ => Some(("case".into(), 1)),
        },
        NodeEnum::CoalesceExpr(_) => Some(("coalesce".into(), 2)),
        NodeEnum::GroupingFunc(_) => Some(("grouping".into(), 2)),
        NodeEnum::MinMaxExpr(m) => Some((
            if m.op == MinMaxOp::IsGreatest as i32 {
                "greatest"
            } else {
                "least"
            }
            .into(),
            2,
        )),
        NodeEnum::SqlvalueFunction(s) => {
            let name = match SqlValueFunctionOp::try_from(s.op).ok()? {
                SqlValueFunctionOp::SvfopCurrentDate => "current_date",
                SqlValueFunctionOp::SvfopCurrentTime | SqlValueFunctionOp::SvfopCurrentTimeN => {
                    "current_time"
                }
                SqlValueFunctionOp::SvfopCurrentTimestamp
                | SqlValueFunctionOp::SvfopCurrentTimestampN => "current_timestamp",
                SqlValueFunctionOp::SvfopLocaltime | SqlValueFunctionOp::SvfopLocaltimeN => {
                    "localtime"
                }
                SqlValueFunctionOp::SvfopLocaltimestamp
                | SqlValueFunctionOp::SvfopLocaltimestampN => "localtimestamp",
                SqlValueFunctionOp::SvfopCurrentRole => "current_role",
                SqlValueFunctionOp::SvfopCurrentUser => "current_user",
                SqlValueFunctionOp::SvfopUser => "user",
                SqlValueFunctionOp::SvfopSessionUser => "session_user",
                SqlValueFunctionOp::SvfopCurrentCatalog => "current_catalog",
                SqlValueFunctionOp::SvfopCurrentSchema => "current_schema",
                SqlValueFunctionOp::SqlvalueFunctionOpUndefined => return None,
            };
            Some((name.into(), 2))
        }
        NodeEnum::SubLink(s) => {
            use pg_query::protobuf::SubLinkType;
            match SubLinkType::try_from(s.sub_link_type).ok()? {
                SubLinkType::ExistsSublink => Some(("exists".into(), 2)),
                SubLinkType::ArraySublink => Some(("array".into(), 2)),
                SubLinkType::ExprSublink => {
                    // The subquery's first output column name, whatever it is.
                    let Some(NodeEnum::SelectStmt(sel)) =
                        s.subselect.as_ref().and_then(|n| n.node.as_ref())
                    else {
                        return None;
                    };
                    let mut sel: &pg_query::protobuf::SelectStmt = sel;
                    while let Some(l) = sel.larg.as_deref() {
                        sel = l;
                    }
                    if let Some(NodeEnum::ResTarget(rt)) =
                        sel.target_list.first().and_then(|n| n.node.as_ref())
                    {
                        if !rt.name.is_empty() {
                            return Some((rt.name.clone(), 2));
                        }
                        return Some((
                            figure_colname(rt.val.as_ref().and_then(|v| v.node.as_ref())),
                            2,
                        ));
                    }
                    if !sel.values_lists.is_empty() {
                        return Some(("column1".into(), 2));
                    }
                    None
                }
                _ => None,
            }
        }
        NodeEnum::RowExpr(_) => Some(("row".into(), 2)),
        NodeEnum::AArrayExpr(_) => Some(("array".into(), 2)),
        // Subscripts name the column after what they subscript.
        NodeEnum::AIndirection(i) => figure(i.arg.as_ref().and_then(|n| n.node.as_ref())),
        _ => None,
    }
}

fn min_loc(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn loc(l: i32) -> Option<usize> {
    if l >= 0 { Some(l as usize) } else { None }
}

fn child(n: &Option<Box<pg_query::Node>>) -> Option<usize> {
    n.as_ref()
        .and_then(|n| n.node.as_ref())
        .and_then(raw_location)
}

fn first_of(nodes: &[pg_query::Node]) -> Option<usize> {
    nodes
        .iter()
        .filter_map(|n| n.node.as_ref().and_then(raw_location))
        .min()
}

/// The leftmost location in a raw expression (`exprLocation`).
pub fn raw_location(node: &NodeEnum) -> Option<usize> {
    match node {
        NodeEnum::AConst(c) => loc(c.location),
        NodeEnum::ColumnRef(c) => loc(c.location),
        NodeEnum::ParamRef(p) => loc(p.location),
        NodeEnum::AExpr(a) => min_loc(loc(a.location), child(&a.lexpr)),
        NodeEnum::BoolExpr(b) => min_loc(loc(b.location), first_of(&b.args)),
        NodeEnum::FuncCall(f) => min_loc(loc(f.location), first_of(&f.args)),
        NodeEnum::TypeCast(t) => min_loc(loc(t.location), child(&t.arg)),
        NodeEnum::CaseExpr(c) => loc(c.location),
        NodeEnum::CoalesceExpr(c) => loc(c.location),
        NodeEnum::MinMaxExpr(m) => loc(m.location),
        NodeEnum::NullTest(n) => min_loc(loc(n.location), child(&n.arg)),
        NodeEnum::BooleanTest(b) => min_loc(loc(b.location), child(&b.arg)),
        NodeEnum::SqlvalueFunction(s) => loc(s.location),
        NodeEnum::SubLink(s) => min_loc(loc(s.location), child(&s.testexpr)),
        NodeEnum::RowExpr(r) => loc(r.location),
        NodeEnum::AArrayExpr(a) => loc(a.location),
        NodeEnum::CollateClause(c) => min_loc(loc(c.location), child(&c.arg)),
        NodeEnum::ResTarget(r) => loc(r.location),
        NodeEnum::SortBy(s) => child(&s.node).or(loc(s.location)),
        _ => None,
    }
}
