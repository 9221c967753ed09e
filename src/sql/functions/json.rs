//! Functions and operators over `json` and `jsonb` (PostgreSQL's
//! `utils/adt/json.c`, `jsonb.c`, `jsonfuncs.c`), with PostgreSQL 15's
//! signatures and output formats:
//! - `-> ->> #> #>>` for both types; on `json` they parse the text and
//!   return sub-values verbatim (duplicate keys: the last one wins);
//! - jsonb `@> <@ ? ?| ?& || - #-` and the six comparisons (`jsonb_cmp`);
//! - `to_json`/`to_jsonb` of every scalar type (`datum_to_json`: numbers
//!   bare unless NaN/Infinity, timestamps in ISO 8601 with a `T`, other
//!   types as strings of their output), `json[b]_build_object/array`,
//!   `json[b]_object`, `json[b]_typeof`, `json[b]_array_length`,
//!   `json[b]_strip_nulls`, `jsonb_pretty`, `jsonb_set`, `jsonb_set_lax`,
//!   `jsonb_insert`, `jsonb_exists`, `json[b]_extract_path[_text]`;
//! - the aggregates live in `aggregates.rs` and call [`datum_to_json`] /
//!   [`datum_to_jsonb`].
//!
//! `text[]` arguments (paths, key lists) are read by [`text_array`] only,
//! so the general arrays of the arrays work touch one function here.

use super::super::adt::json::{self, Node, NodeKind, escape_json};
use super::super::adt::jsonb::{self, Jsonb, SetOp};
use super::super::adt::{self, SessionFormat, numeric::Numeric};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type, TypeCategory};
use super::{ArgType, Builder, Impl};
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

fn jb(d: &Datum) -> &Jsonb {
    match d {
        Datum::Jsonb(j) => j,
        other => panic!("jsonb argument expected, got {other:?}"),
    }
}

fn js(d: &Datum) -> &str {
    match d {
        Datum::Json(s) | Datum::Text(s) => s,
        other => panic!("json argument expected, got {other:?}"),
    }
}

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i64 {
    adt::as_i128(d).expect("integer argument") as i64
}

/// The elements of a `text[]` argument, in storage order.
pub(crate) fn text_array(d: &Datum) -> Vec<Option<String>> {
    match d {
        Datum::Array(a) => a
            .items
            .iter()
            .map(|v| match v {
                Datum::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        other => panic!("text[] argument expected, got {other:?}"),
    }
}

fn jsonb_datum(j: Jsonb) -> Datum {
    Datum::Jsonb(Box::new(j))
}

fn invalid_param(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.comparison_ops(Jsonb);
    // Field and element access.
    b.op("->", Json, Text, Json, Impl::Scalar(json_object_field));
    b.op("->", Json, Int4, Json, Impl::Scalar(json_array_element));
    b.op(
        "->>",
        Json,
        Text,
        Text,
        Impl::Scalar(json_object_field_text),
    );
    b.op(
        "->>",
        Json,
        Int4,
        Text,
        Impl::Scalar(json_array_element_text),
    );
    b.op("#>", Json, TextArray, Json, Impl::Scalar(json_extract_path));
    b.op(
        "#>>",
        Json,
        TextArray,
        Text,
        Impl::Scalar(json_extract_path_text),
    );
    b.op("->", Jsonb, Text, Jsonb, Impl::Scalar(jsonb_object_field));
    b.op("->", Jsonb, Int4, Jsonb, Impl::Scalar(jsonb_array_element));
    b.op(
        "->>",
        Jsonb,
        Text,
        Text,
        Impl::Scalar(jsonb_object_field_text),
    );
    b.op(
        "->>",
        Jsonb,
        Int4,
        Text,
        Impl::Scalar(jsonb_array_element_text),
    );
    b.op(
        "#>",
        Jsonb,
        TextArray,
        Jsonb,
        Impl::Scalar(jsonb_extract_path),
    );
    b.op(
        "#>>",
        Jsonb,
        TextArray,
        Text,
        Impl::Scalar(jsonb_extract_path_text),
    );
    // jsonb operators.
    b.op("@>", Jsonb, Jsonb, Bool, Impl::Scalar(jsonb_contains));
    b.op("<@", Jsonb, Jsonb, Bool, Impl::Scalar(jsonb_contained));
    b.op("?", Jsonb, Text, Bool, Impl::Scalar(jsonb_exists));
    b.op("?|", Jsonb, TextArray, Bool, Impl::Scalar(jsonb_exists_any));
    b.op("?&", Jsonb, TextArray, Bool, Impl::Scalar(jsonb_exists_all));
    b.op("||", Jsonb, Jsonb, Jsonb, Impl::Scalar(jsonb_concat));
    b.op("-", Jsonb, Text, Jsonb, Impl::Scalar(jsonb_delete));
    b.op("-", Jsonb, Int4, Jsonb, Impl::Scalar(jsonb_delete_idx));
    b.op(
        "-",
        Jsonb,
        TextArray,
        Jsonb,
        Impl::Scalar(jsonb_delete_array),
    );
    b.op(
        "#-",
        Jsonb,
        TextArray,
        Jsonb,
        Impl::Scalar(jsonb_delete_path),
    );
    // Functions.
    b.func("jsonb_exists", &[Jsonb, Text], Bool, jsonb_exists);
    b.func(
        "jsonb_exists_any",
        &[Jsonb, TextArray],
        Bool,
        jsonb_exists_any,
    );
    b.func(
        "jsonb_exists_all",
        &[Jsonb, TextArray],
        Bool,
        jsonb_exists_all,
    );
    b.func("jsonb_contains", &[Jsonb, Jsonb], Bool, jsonb_contains);
    b.func("jsonb_contained", &[Jsonb, Jsonb], Bool, jsonb_contained);
    b.func("jsonb_concat", &[Jsonb, Jsonb], Jsonb, jsonb_concat);
    b.func("jsonb_cmp", &[Jsonb, Jsonb], Int4, jsonb_cmp);
    b.func("jsonb_typeof", &[Jsonb], Text, jsonb_typeof);
    b.func("json_typeof", &[Json], Text, json_typeof);
    b.func("jsonb_array_length", &[Jsonb], Int4, jsonb_array_length);
    b.func("json_array_length", &[Json], Int4, json_array_length);
    b.func("jsonb_strip_nulls", &[Jsonb], Jsonb, jsonb_strip_nulls);
    b.func("json_strip_nulls", &[Json], Json, json_strip_nulls);
    b.func("jsonb_pretty", &[Jsonb], Text, jsonb_pretty);
    b.func("jsonb_set", &[Jsonb, TextArray, Jsonb], Jsonb, jsonb_set);
    b.func(
        "jsonb_set",
        &[Jsonb, TextArray, Jsonb, Bool],
        Jsonb,
        jsonb_set,
    );
    b.func(
        "jsonb_insert",
        &[Jsonb, TextArray, Jsonb],
        Jsonb,
        jsonb_insert,
    );
    b.func(
        "jsonb_insert",
        &[Jsonb, TextArray, Jsonb, Bool],
        Jsonb,
        jsonb_insert,
    );
    for n in 3..=5 {
        let all = [
            ArgType::T(Jsonb),
            ArgType::T(TextArray),
            ArgType::T(Jsonb),
            ArgType::T(Bool),
            ArgType::T(Text),
        ];
        b.func_nonstrict("jsonb_set_lax", &all[..n], Jsonb, jsonb_set_lax, false);
    }
    b.func(
        "jsonb_delete_path",
        &[Jsonb, TextArray],
        Jsonb,
        jsonb_delete_path,
    );
    b.func_nonstrict(
        "jsonb_extract_path",
        &[ArgType::T(Jsonb), ArgType::T(Text)],
        Jsonb,
        jsonb_extract_path_variadic,
        true,
    );
    b.funcs.last_mut().expect("just pushed").strict = true;
    b.func_nonstrict(
        "jsonb_extract_path_text",
        &[ArgType::T(Jsonb), ArgType::T(Text)],
        Text,
        jsonb_extract_path_text_variadic,
        true,
    );
    b.funcs.last_mut().expect("just pushed").strict = true;
    b.func_nonstrict(
        "json_extract_path",
        &[ArgType::T(Json), ArgType::T(Text)],
        Json,
        json_extract_path_variadic,
        true,
    );
    b.funcs.last_mut().expect("just pushed").strict = true;
    b.func_nonstrict(
        "json_extract_path_text",
        &[ArgType::T(Json), ArgType::T(Text)],
        Text,
        json_extract_path_text_variadic,
        true,
    );
    b.funcs.last_mut().expect("just pushed").strict = true;
    b.func_nonstrict("to_json", &[ArgType::AnyElement], Json, to_json, false);
    b.funcs.last_mut().expect("just pushed").strict = true;
    b.func_nonstrict("to_jsonb", &[ArgType::AnyElement], Jsonb, to_jsonb, false);
    b.funcs.last_mut().expect("just pushed").strict = true;
    b.func_nonstrict(
        "json_build_object",
        &[ArgType::Any],
        Json,
        json_build_object,
        true,
    );
    b.func_nonstrict("json_build_object", &[], Json, json_build_object, false);
    b.func_nonstrict(
        "json_build_array",
        &[ArgType::Any],
        Json,
        json_build_array,
        true,
    );
    b.func_nonstrict("json_build_array", &[], Json, json_build_array, false);
    b.func_nonstrict(
        "jsonb_build_object",
        &[ArgType::Any],
        Jsonb,
        jsonb_build_object,
        true,
    );
    b.func_nonstrict("jsonb_build_object", &[], Jsonb, jsonb_build_object, false);
    b.func_nonstrict(
        "jsonb_build_array",
        &[ArgType::Any],
        Jsonb,
        jsonb_build_array,
        true,
    );
    b.func_nonstrict("jsonb_build_array", &[], Jsonb, jsonb_build_array, false);
    b.func("json_object", &[TextArray], Json, json_object);
    b.func("json_object", &[TextArray, TextArray], Json, json_object);
    b.func("jsonb_object", &[TextArray], Jsonb, jsonb_object);
    b.func("jsonb_object", &[TextArray, TextArray], Jsonb, jsonb_object);
}

// --- json (text) navigation -------------------------------------------------

fn parse_json(s: &str) -> PgResult<Node> {
    json::parse(s, true)
}

fn node_field<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.kind {
        NodeKind::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|f| &f.1),
        _ => None,
    }
}

fn node_elem(n: &Node, i: i64) -> Option<&Node> {
    match &n.kind {
        NodeKind::Array(items) => {
            let len = items.len() as i64;
            let i = if i < 0 { len + i } else { i };
            if i < 0 || i >= len {
                None
            } else {
                items.get(i as usize)
            }
        }
        _ => None,
    }
}

fn node_path<'a>(n: &'a Node, path: &[Option<String>]) -> Option<&'a Node> {
    let mut cur = n;
    for step in path {
        let step = step.as_deref()?;
        cur = match &cur.kind {
            NodeKind::Object(_) => node_field(cur, step)?,
            NodeKind::Array(_) => node_elem(cur, step.trim().parse::<i64>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn node_json(src: &str, n: Option<&Node>) -> Datum {
    match n {
        Some(n) => Datum::Json(src[n.start..n.end].to_string()),
        None => Datum::Null,
    }
}

fn node_text(src: &str, n: Option<&Node>) -> Datum {
    match n {
        None => Datum::Null,
        Some(n) => match &n.kind {
            NodeKind::Null => Datum::Null,
            NodeKind::String(s) => Datum::Text(s.clone()),
            _ => Datum::Text(src[n.start..n.end].to_string()),
        },
    }
}

fn json_object_field(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_json(s, node_field(&n, text(&a[1]))))
}

fn json_object_field_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_text(s, node_field(&n, text(&a[1]))))
}

fn json_array_element(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_json(s, node_elem(&n, int(&a[1]))))
}

fn json_array_element_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_text(s, node_elem(&n, int(&a[1]))))
}

fn json_extract_path(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_json(s, node_path(&n, &text_array(&a[1]))))
}

fn json_extract_path_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_text(s, node_path(&n, &text_array(&a[1]))))
}

/// The variadic path of `*_extract_path(x, VARIADIC text[])`; None if the
/// value is NULL.
fn variadic_path(a: &[Datum]) -> Option<Vec<Option<String>>> {
    if a[0].is_null() {
        return None;
    }
    Some(
        a[1..]
            .iter()
            .map(|d| match d {
                Datum::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
    )
}

fn json_extract_path_variadic(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Some(path) = variadic_path(a) else {
        return Ok(Datum::Null);
    };
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_json(s, node_path(&n, &path)))
}

fn json_extract_path_text_variadic(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Some(path) = variadic_path(a) else {
        return Ok(Datum::Null);
    };
    let s = js(&a[0]);
    let n = parse_json(s)?;
    Ok(node_text(s, node_path(&n, &path)))
}

fn json_typeof(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = parse_json(js(&a[0]))?;
    Ok(Datum::Text(json::node_typeof(&n).to_string()))
}

fn json_array_length(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = parse_json(js(&a[0]))?;
    match &n.kind {
        NodeKind::Array(items) => Ok(Datum::Int4(items.len() as i32)),
        NodeKind::Object(_) => Err(invalid_param("cannot get array length of a non-array")),
        _ => Err(invalid_param("cannot get array length of a scalar")),
    }
}

fn strip_node(out: &mut String, src: &str, n: &Node) {
    match &n.kind {
        NodeKind::Object(fields) => {
            out.push('{');
            let mut first = true;
            for (k, v) in fields {
                if matches!(v.kind, NodeKind::Null) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                escape_json(out, k);
                out.push(':');
                strip_node(out, src, v);
            }
            out.push('}');
        }
        NodeKind::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                strip_node(out, src, v);
            }
            out.push(']');
        }
        _ => out.push_str(&src[n.start..n.end]),
    }
}

fn json_strip_nulls(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = js(&a[0]);
    let n = parse_json(s)?;
    let mut out = String::new();
    strip_node(&mut out, s, &n);
    Ok(Datum::Json(out))
}

// --- jsonb -----------------------------------------------------------------

fn opt_jsonb(j: Option<&Jsonb>) -> Datum {
    j.map(|j| jsonb_datum(j.clone())).unwrap_or(Datum::Null)
}

fn opt_text(j: Option<&Jsonb>) -> Datum {
    match j {
        None | Some(Jsonb::Null) => Datum::Null,
        Some(Jsonb::String(s)) => Datum::Text(s.clone()),
        Some(other) => Datum::Text(other.to_text()),
    }
}

/// A top-level scalar is a one-element array to `-> int` (raw scalar).
fn jsonb_elem(j: &Jsonb, i: i64) -> Option<&Jsonb> {
    if j.is_scalar() {
        return (i == 0 || i == -1).then_some(j);
    }
    j.get_index(i)
}

fn jsonb_object_field(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(opt_jsonb(jb(&a[0]).get_key(text(&a[1]))))
}

fn jsonb_object_field_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(opt_text(jb(&a[0]).get_key(text(&a[1]))))
}

fn jsonb_array_element(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(opt_jsonb(jsonb_elem(jb(&a[0]), int(&a[1]))))
}

fn jsonb_array_element_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(opt_text(jsonb_elem(jb(&a[0]), int(&a[1]))))
}

fn jsonb_extract_path(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(opt_jsonb(jsonb::get_path(jb(&a[0]), &text_array(&a[1]))))
}

fn jsonb_extract_path_text(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(opt_text(jsonb::get_path(jb(&a[0]), &text_array(&a[1]))))
}

fn jsonb_extract_path_variadic(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Some(path) = variadic_path(a) else {
        return Ok(Datum::Null);
    };
    Ok(opt_jsonb(jsonb::get_path(jb(&a[0]), &path)))
}

fn jsonb_extract_path_text_variadic(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Some(path) = variadic_path(a) else {
        return Ok(Datum::Null);
    };
    Ok(opt_text(jsonb::get_path(jb(&a[0]), &path)))
}

fn jsonb_contains(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(jsonb::contains(jb(&a[0]), jb(&a[1]))))
}

fn jsonb_contained(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(jsonb::contains(jb(&a[1]), jb(&a[0]))))
}

fn jsonb_exists(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(jsonb::exists(jb(&a[0]), text(&a[1]))))
}

fn jsonb_exists_any(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let j = jb(&a[0]);
    Ok(Datum::Bool(
        text_array(&a[1])
            .iter()
            .flatten()
            .any(|k| jsonb::exists(j, k)),
    ))
}

fn jsonb_exists_all(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let j = jb(&a[0]);
    Ok(Datum::Bool(
        text_array(&a[1])
            .iter()
            .flatten()
            .all(|k| jsonb::exists(j, k)),
    ))
}

fn jsonb_concat(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(jsonb_datum(jsonb::concat(jb(&a[0]), jb(&a[1]))))
}

fn jsonb_delete(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(jsonb_datum(jsonb::delete_key(jb(&a[0]), text(&a[1]))?))
}

fn jsonb_delete_idx(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(jsonb_datum(jsonb::delete_index(jb(&a[0]), int(&a[1]))?))
}

fn jsonb_delete_array(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut j = jb(&a[0]).clone();
    if j.is_scalar() {
        return Err(invalid_param("cannot delete from scalar"));
    }
    for k in text_array(&a[1]).iter().flatten() {
        j = jsonb::delete_key(&j, k)?;
    }
    Ok(jsonb_datum(j))
}

fn jsonb_delete_path(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(jsonb_datum(jsonb::set_path(
        jb(&a[0]),
        &text_array(&a[1]),
        None,
        SetOp::Delete,
    )?))
}

fn jsonb_cmp(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(jsonb::cmp(jb(&a[0]), jb(&a[1])) as i32))
}

fn jsonb_typeof(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(jb(&a[0]).type_name().to_string()))
}

fn jsonb_array_length(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    match jb(&a[0]) {
        Jsonb::Array(items) => Ok(Datum::Int4(items.len() as i32)),
        Jsonb::Object(_) => Err(invalid_param("cannot get array length of a non-array")),
        _ => Err(invalid_param("cannot get array length of a scalar")),
    }
}

fn jsonb_strip_nulls(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(jsonb_datum(jsonb::strip_nulls(jb(&a[0]))))
}

fn jsonb_pretty(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(jsonb::pretty(jb(&a[0]))))
}

fn jsonb_set(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let create = !matches!(a.get(3), Some(Datum::Bool(false)));
    Ok(jsonb_datum(jsonb::set_path(
        jb(&a[0]),
        &text_array(&a[1]),
        Some(jb(&a[2])),
        SetOp::Replace { create },
    )?))
}

fn jsonb_insert(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let after = matches!(a.get(3), Some(Datum::Bool(true)));
    Ok(jsonb_datum(jsonb::set_path(
        jb(&a[0]),
        &text_array(&a[1]),
        Some(jb(&a[2])),
        SetOp::Insert { after },
    )?))
}

/// `jsonb_set_lax`: not strict; a NULL new value is handled as
/// `null_value_treatment` says.
fn jsonb_set_lax(cx: &mut EvalContext, a: &[Datum], t: &[Type], r: Type) -> R {
    if a[0].is_null() || a[1].is_null() || a.get(3).is_some_and(|d| d.is_null()) {
        return Ok(Datum::Null);
    }
    let treatment = match a.get(4) {
        None => "use_json_null",
        Some(Datum::Text(s)) => s.as_str(),
        Some(_) => {
            return Err(invalid_param(
                "null_value_treatment must be \"delete_key\", \"return_target\", \"use_json_null\", or \"raise_exception\"",
            ));
        }
    };
    if !a[2].is_null() {
        return jsonb_set(cx, &a[..a.len().min(4)], t, r);
    }
    match treatment {
        "raise_exception" => Err(PgError::error(
            sqlstate::NULL_VALUE_NOT_ALLOWED,
            "JSON value must not be null",
        )
        .with_detail("Exception was raised because null_value_treatment is \"raise_exception\".")
        .with_hint("To avoid, either change the null_value_treatment argument or ensure that an SQL NULL is not passed.")),
        "use_json_null" => {
            let mut args = a[..a.len().min(4)].to_vec();
            args[2] = jsonb_datum(Jsonb::Null);
            jsonb_set(cx, &args, t, r)
        }
        "delete_key" => jsonb_delete_path(cx, &a[..2], t, r),
        "return_target" => Ok(a[0].clone()),
        _ => Err(invalid_param(
            "null_value_treatment must be \"delete_key\", \"return_target\", \"use_json_null\", or \"raise_exception\"",
        )),
    }
}

// --- Conversion of SQL values ------------------------------------------------

/// Whether a type's values become JSON numbers (`JSONTYPE_NUMERIC`).
fn is_number_type(t: Type) -> bool {
    matches!(
        t,
        Type::Int2 | Type::Int4 | Type::Int8 | Type::Float4 | Type::Float8 | Type::Numeric
    )
}

/// `JsonEncodeDateTime` with XSD dates: ISO 8601 with a `T`, zone offsets
/// as `+hh:mm`.
fn xsd_datetime(s: &str, with_zone: bool) -> String {
    if s.ends_with("infinity") {
        return s.to_string();
    }
    let mut out = s.replacen(' ', "T", 1);
    if with_zone {
        // The offset is +hh, +hh:mm or +hh:mm:ss after the time.
        if let Some(p) = out.rfind(['+', '-']) {
            let off = &out[p + 1..];
            if off.len() == 2 {
                out.push_str(":00");
            }
        }
    }
    out
}

/// `datum_to_json`: appends `d` (of type `ty`) as JSON text.
pub fn datum_to_json(
    out: &mut String,
    d: &Datum,
    ty: Type,
    fmt: &SessionFormat,
    key: bool,
) -> PgResult<()> {
    if key && (matches!(ty, Type::Json | Type::Jsonb) || ty.category() == TypeCategory::Array) {
        return Err(invalid_param(
            "key value must be scalar, not array, composite, or json",
        ));
    }
    match d {
        Datum::Null => out.push_str("null"),
        Datum::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Datum::Json(s) => out.push_str(s),
        Datum::Jsonb(j) => out.push_str(&j.to_text()),
        Datum::Array(a) => {
            // array_to_json: nested brackets per dimension, elements as
            // their own type's JSON.
            fn dim(
                out: &mut String,
                a: &crate::sql::adt::array::ArrayValue,
                level: usize,
                pos: &mut usize,
                fmt: &SessionFormat,
            ) -> PgResult<()> {
                out.push('[');
                let n = a.dims.get(level).copied().unwrap_or(0).max(0) as usize;
                for i in 0..n {
                    if i > 0 {
                        out.push(',');
                    }
                    if level + 1 < a.dims.len() {
                        dim(out, a, level + 1, pos, fmt)?;
                    } else {
                        datum_to_json(out, &a.items[*pos], a.elem, fmt, false)?;
                        *pos += 1;
                    }
                }
                out.push(']');
                Ok(())
            }
            if a.dims.is_empty() {
                out.push_str("[]");
            } else {
                dim(out, a, 0, &mut 0, fmt)?;
            }
        }
        Datum::Date(_) | Datum::Timestamp(_) | Datum::Timestamptz(_) => {
            // JsonEncodeDateTime: ISO whatever DateStyle says.
            let iso = SessionFormat {
                date_style: Default::default(),
                ..fmt.clone()
            };
            let s = adt::output(d, ty, &iso).unwrap_or_default();
            let s = xsd_datetime(&s, matches!(d, Datum::Timestamptz(_)));
            escape_json(out, &s);
        }
        _ => {
            let s = adt::output(d, ty, fmt).unwrap_or_default();
            if !key && is_number_type(ty) && is_valid_json_number(&s) {
                out.push_str(&s);
            } else {
                escape_json(out, &s);
            }
        }
    }
    Ok(())
}

/// `IsValidJsonNumber`.
fn is_valid_json_number(s: &str) -> bool {
    !s.is_empty() && json::parse(s, false).is_ok_and(|n| matches!(n.kind, NodeKind::Number))
}

/// `datum_to_jsonb`.
pub fn datum_to_jsonb(d: &Datum, ty: Type, fmt: &SessionFormat) -> PgResult<Jsonb> {
    Ok(match d {
        Datum::Null => Jsonb::Null,
        Datum::Bool(b) => Jsonb::Bool(*b),
        Datum::Json(s) => Jsonb::parse(s)?,
        Datum::Jsonb(j) => (**j).clone(),
        Datum::Numeric(n) if !n.is_nan() && !n.is_infinite() => Jsonb::Number(n.clone()),
        Datum::Array(a) => {
            fn dim(
                a: &crate::sql::adt::array::ArrayValue,
                level: usize,
                pos: &mut usize,
                fmt: &SessionFormat,
            ) -> PgResult<Jsonb> {
                let n = a.dims.get(level).copied().unwrap_or(0).max(0) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    if level + 1 < a.dims.len() {
                        items.push(dim(a, level + 1, pos, fmt)?);
                    } else {
                        items.push(datum_to_jsonb(&a.items[*pos], a.elem, fmt)?);
                        *pos += 1;
                    }
                }
                Ok(Jsonb::Array(items))
            }
            if a.dims.is_empty() {
                Jsonb::Array(Vec::new())
            } else {
                dim(a, 0, &mut 0, fmt)?
            }
        }
        Datum::Date(_) | Datum::Timestamp(_) | Datum::Timestamptz(_) => {
            // JsonEncodeDateTime: ISO whatever DateStyle says.
            let iso = SessionFormat {
                date_style: Default::default(),
                ..fmt.clone()
            };
            let s = adt::output(d, ty, &iso).unwrap_or_default();
            Jsonb::String(xsd_datetime(&s, matches!(d, Datum::Timestamptz(_))))
        }
        _ => {
            let s = adt::output(d, ty, fmt).unwrap_or_default();
            if is_number_type(ty) && is_valid_json_number(&s) {
                Jsonb::Number(Numeric::parse(&s)?)
            } else {
                Jsonb::String(s)
            }
        }
    })
}

/// The key of a `jsonb_build_object` / `jsonb_object_agg` pair.
fn jsonb_key(d: &Datum, ty: Type, fmt: &SessionFormat) -> PgResult<String> {
    if matches!(ty, Type::Json | Type::Jsonb) || ty.category() == TypeCategory::Array {
        return Err(invalid_param(
            "key value must be scalar, not array, composite, or json",
        ));
    }
    Ok(match d {
        Datum::Date(_) | Datum::Timestamp(_) | Datum::Timestamptz(_) => {
            // JsonEncodeDateTime: ISO whatever DateStyle says.
            let iso = SessionFormat {
                date_style: Default::default(),
                ..fmt.clone()
            };
            let s = adt::output(d, ty, &iso).unwrap_or_default();
            xsd_datetime(&s, matches!(d, Datum::Timestamptz(_)))
        }
        Datum::Bool(b) => (if *b { "true" } else { "false" }).to_string(),
        _ => adt::output(d, ty, fmt).unwrap_or_default(),
    })
}

fn check_unknown(t: &[Type]) -> PgResult<()> {
    if t.first() == Some(&Type::Unknown) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "could not determine input data type",
        ));
    }
    Ok(())
}

fn to_json(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    check_unknown(t)?;
    if a[0].is_null() {
        return Ok(Datum::Null);
    }
    let mut out = String::new();
    datum_to_json(&mut out, &a[0], t[0], &cx.fmt, false)?;
    Ok(Datum::Json(out))
}

fn to_jsonb(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    check_unknown(t)?;
    if a[0].is_null() {
        return Ok(Datum::Null);
    }
    Ok(jsonb_datum(datum_to_jsonb(&a[0], t[0], &cx.fmt)?))
}

fn check_pairs(a: &[Datum], name: &str) -> PgResult<()> {
    if a.len() % 2 != 0 {
        return Err(
            invalid_param("argument list must have even number of elements").with_hint(format!(
                "The arguments of {name}() must consist of alternating keys and values."
            )),
        );
    }
    for (i, k) in a.iter().enumerate().step_by(2) {
        if k.is_null() && name == "jsonb_build_object" {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("argument {}: key must not be null", i + 1),
            ));
        }
        if k.is_null() {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("argument {} cannot be null", i + 1),
            )
            .with_hint("Object keys should be text."));
        }
    }
    Ok(())
}

fn json_build_object(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    check_pairs(a, "json_build_object")?;
    let mut out = String::from("{");
    for i in (0..a.len()).step_by(2) {
        if i > 0 {
            out.push_str(", ");
        }
        let mut k = String::new();
        datum_to_json(&mut k, &a[i], t[i], &cx.fmt, true)?;
        if !k.starts_with('"') {
            let mut q = String::new();
            escape_json(&mut q, &k);
            k = q;
        }
        out.push_str(&k);
        out.push_str(" : ");
        datum_to_json(&mut out, &a[i + 1], t[i + 1], &cx.fmt, false)?;
    }
    out.push('}');
    Ok(Datum::Json(out))
}

fn json_build_array(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let mut out = String::from("[");
    for (i, d) in a.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        datum_to_json(&mut out, d, t[i], &cx.fmt, false)?;
    }
    out.push(']');
    Ok(Datum::Json(out))
}

fn jsonb_build_object(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    check_pairs(a, "jsonb_build_object")?;
    let mut pairs = Vec::with_capacity(a.len() / 2);
    for i in (0..a.len()).step_by(2) {
        let k = jsonb_key(&a[i], t[i], &cx.fmt)?;
        pairs.push((k, datum_to_jsonb(&a[i + 1], t[i + 1], &cx.fmt)?));
    }
    Ok(jsonb_datum(jsonb::make_object(pairs)))
}

fn jsonb_build_array(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let mut items = Vec::with_capacity(a.len());
    for (i, d) in a.iter().enumerate() {
        items.push(datum_to_jsonb(d, t[i], &cx.fmt)?);
    }
    Ok(jsonb_datum(Jsonb::Array(items)))
}

/// The pairs of `json_object(text[])` / `json_object(keys, values)`.
fn object_pairs(a: &[Datum]) -> PgResult<Vec<(String, Option<String>)>> {
    let null_key = || {
        PgError::error(
            sqlstate::NULL_VALUE_NOT_ALLOWED,
            "null value not allowed for object key",
        )
    };
    let mut out = Vec::new();
    if a.len() == 1 {
        let items = text_array(&a[0]);
        if items.len() % 2 != 0 {
            return Err(PgError::error(
                "2202E",
                "array must have even number of elements",
            ));
        }
        for p in items.chunks(2) {
            out.push((p[0].clone().ok_or_else(null_key)?, p[1].clone()));
        }
    } else {
        let (k, v) = (text_array(&a[0]), text_array(&a[1]));
        if k.len() != v.len() {
            return Err(PgError::error("2202E", "mismatched array dimensions"));
        }
        for (k, v) in k.iter().zip(v) {
            out.push((k.clone().ok_or_else(null_key)?, v.clone()));
        }
    }
    Ok(out)
}

fn json_object(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut out = String::from("{");
    for (i, (k, v)) in object_pairs(a)?.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        escape_json(&mut out, k);
        out.push_str(" : ");
        match v {
            Some(v) => escape_json(&mut out, v),
            None => out.push_str("null"),
        }
    }
    out.push('}');
    Ok(Datum::Json(out))
}

fn jsonb_object(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let pairs = object_pairs(a)?
        .into_iter()
        .map(|(k, v)| (k, v.map(Jsonb::String).unwrap_or(Jsonb::Null)))
        .collect();
    Ok(jsonb_datum(jsonb::make_object(pairs)))
}

// --- Set-returning functions -------------------------------------------------

/// The JSON set-returning functions ([`super::SetImpl::Rows`]): their rows
/// come from [`srf_rows`], with the columns of [`srf_columns`].
pub const SRF_NAMES: &[&str] = &[
    "jsonb_each",
    "jsonb_each_text",
    "json_each",
    "json_each_text",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "json_array_elements",
    "json_array_elements_text",
    "jsonb_object_keys",
    "json_object_keys",
];

/// The output columns of a set-returning function: (name, type), and
/// whether a table alias names its single column (no OUT parameter).
pub fn srf_columns(name: &str) -> (Vec<(&'static str, Type)>, bool) {
    let json = name.starts_with("json_");
    let val = if name.ends_with("_text") {
        Type::Text
    } else if json {
        Type::Json
    } else {
        Type::Jsonb
    };
    match name {
        "jsonb_each" | "jsonb_each_text" | "json_each" | "json_each_text" => {
            (vec![("key", Type::Text), ("value", val)], false)
        }
        "jsonb_object_keys" => (vec![("jsonb_object_keys", Type::Text)], true),
        "json_object_keys" => (vec![("json_object_keys", Type::Text)], true),
        _ => (vec![("value", val)], false),
    }
}

/// The rows of set-returning function `name` over `args` (NULL in, no rows).
pub fn srf_rows(name: &str, args: &[Datum]) -> PgResult<Vec<Vec<Datum>>> {
    if args.iter().any(|d| d.is_null()) {
        return Ok(Vec::new());
    }
    let as_text = name.ends_with("_text");
    let mut rows = Vec::new();
    match &args[0] {
        Datum::Jsonb(j) => {
            let val = |v: &Jsonb| {
                if as_text {
                    opt_text(Some(v))
                } else {
                    jsonb_datum(v.clone())
                }
            };
            match (name, &**j) {
                ("jsonb_each" | "jsonb_each_text", Jsonb::Object(pairs)) => {
                    for (k, v) in pairs {
                        rows.push(vec![Datum::Text(k.clone()), val(v)]);
                    }
                }
                ("jsonb_each" | "jsonb_each_text", _) => {
                    return Err(invalid_param(format!("cannot call {name} on a non-object")));
                }
                ("jsonb_object_keys", Jsonb::Object(pairs)) => {
                    for (k, _) in pairs {
                        rows.push(vec![Datum::Text(k.clone())]);
                    }
                }
                ("jsonb_object_keys", Jsonb::Array(_)) => {
                    return Err(invalid_param(format!("cannot call {name} on an array")));
                }
                ("jsonb_object_keys", _) => {
                    return Err(invalid_param(format!("cannot call {name} on a scalar")));
                }
                (_, Jsonb::Array(items)) => {
                    for v in items {
                        rows.push(vec![val(v)]);
                    }
                }
                (_, Jsonb::Object(_)) => {
                    return Err(invalid_param("cannot extract elements from an object"));
                }
                _ => return Err(invalid_param("cannot extract elements from a scalar")),
            }
        }
        d => {
            let s = js(d);
            let n = parse_json(s)?;
            let val = |v: &Node| {
                if as_text {
                    node_text(s, Some(v))
                } else {
                    node_json(s, Some(v))
                }
            };
            match (name, &n.kind) {
                ("json_each" | "json_each_text", NodeKind::Object(fields)) => {
                    for (k, v) in fields {
                        rows.push(vec![Datum::Text(k.clone()), val(v)]);
                    }
                }
                ("json_each" | "json_each_text", NodeKind::Array(_)) => {
                    return Err(invalid_param("cannot deconstruct an array as an object"));
                }
                ("json_each" | "json_each_text", _) => {
                    return Err(invalid_param("cannot deconstruct a scalar"));
                }
                ("json_object_keys", NodeKind::Object(fields)) => {
                    for (k, _) in fields {
                        rows.push(vec![Datum::Text(k.clone())]);
                    }
                }
                ("json_object_keys", NodeKind::Array(_)) => {
                    return Err(invalid_param(format!("cannot call {name} on an array")));
                }
                ("json_object_keys", _) => {
                    return Err(invalid_param(format!("cannot call {name} on a scalar")));
                }
                (_, NodeKind::Array(items)) => {
                    for v in items {
                        rows.push(vec![val(v)]);
                    }
                }
                (_, NodeKind::Object(_)) => {
                    return Err(invalid_param(format!("cannot call {name} on a non-array")));
                }
                _ => return Err(invalid_param(format!("cannot call {name} on a scalar"))),
            }
        }
    }
    Ok(rows)
}

pub(super) fn register_srfs(b: &mut Builder) {
    use crate::sql::types::consts::*;
    let record = Type::from_oid(2249).expect("record has a pg_type row");
    for name in SRF_NAMES {
        let arg = if name.starts_with("json_") {
            Json
        } else {
            Jsonb
        };
        let (cols, _) = srf_columns(name);
        let ret = if cols.len() == 1 { cols[0].1 } else { record };
        b.set_func(name, &[super::ArgType::T(arg)], ret, super::SetImpl::Rows);
    }
}
