//! Array expressions, operators and functions (`utils/adt/arrayfuncs.c`,
//! `array_userfuncs.c`, `execExprInterp.c`'s ArrayExpr and
//! ScalarArrayOpExpr). Values are [`ArrayValue`]s; see
//! [`crate::sql::adt::array`] for their layout and limits.
//!
//! Polymorphic signatures (`anyarray`, `anyelement`, `anycompatible`,
//! `anycompatiblearray`) are resolved by the analyser
//! (`analyze::resolve::resolve_polymorphic`); an implementation learns the
//! element type from its array argument or from `arg_types`.

use std::cmp::Ordering;

use super::super::adt::array::{self, ARRAY_SUBSCRIPT_ERROR, ArrayValue, MAXDIM};
use super::super::adt::{self, datum_cmp};
use super::super::exec::EvalContext;
use super::super::exec::{eval, invoke};
use super::super::expr::ArrayExpr;
use super::super::types::{Datum, Type};
use super::{ArgType, Builder, CmpOp, FuncKind, Impl, SetImpl};
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

fn arr(d: &Datum) -> &ArrayValue {
    match d {
        Datum::Array(a) => a,
        other => panic!("array argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i32 {
    match d {
        Datum::Int4(v) => *v,
        other => panic!("int4 argument expected, got {other:?}"),
    }
}

/// The element type of the array type `t` (the analyser resolved it).
fn elem_of(t: Type) -> Type {
    t.elem().unwrap_or(Type::Text)
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/// Evaluates an [`ArrayExpr`].
pub fn eval_expr(e: &ArrayExpr, row: &[Datum], cx: &mut EvalContext) -> R {
    match e {
        ArrayExpr::Construct {
            elems,
            ty,
            multidims,
        } => {
            let mut vals = Vec::with_capacity(elems.len());
            for x in elems {
                vals.push(eval(x, row, cx)?);
            }
            construct(vals, *ty, *multidims)
        }
        ArrayExpr::Subscript {
            arg,
            lower,
            upper,
            slice,
            ..
        } => {
            let a = eval(arg, row, cx)?;
            let mut lo = Vec::with_capacity(lower.len());
            let mut hi = Vec::with_capacity(upper.len());
            let mut saw_null = false;
            for (l, u) in lower.iter().zip(upper) {
                for (bound, out) in [(l, &mut lo), (u, &mut hi)] {
                    match bound {
                        None => out.push(None),
                        Some(x) => match eval(x, row, cx)? {
                            Datum::Int4(v) => out.push(Some(v)),
                            _ => {
                                saw_null = true;
                                out.push(None);
                            }
                        },
                    }
                }
            }
            if lower.len() > MAXDIM {
                return Err(array::too_many_dims(lower.len()));
            }
            let Datum::Array(a) = a else {
                return Ok(Datum::Null);
            };
            if saw_null {
                return Ok(Datum::Null);
            }
            if *slice {
                Ok(a.slice(&lo, &hi).into_datum())
            } else {
                let subs: Vec<i32> = hi.iter().map(|v| v.expect("checked")).collect();
                Ok(a.get(&subs))
            }
        }
        ArrayExpr::Assign {
            arg,
            subs,
            value,
            ty,
        } => {
            let a = eval(arg, row, cx)?;
            let mut idx = Vec::with_capacity(subs.len());
            for s in subs {
                match eval(s, row, cx)? {
                    Datum::Int4(v) => idx.push(v),
                    _ => {
                        return Err(PgError::error(
                            sqlstate::NULL_VALUE_NOT_ALLOWED,
                            "array subscript in assignment must not be null",
                        ));
                    }
                }
            }
            let v = eval(value, row, cx)?;
            let base = match a {
                Datum::Array(a) => *a,
                _ => ArrayValue::empty(elem_of(*ty)),
            };
            Ok(base.set(&idx, v)?.into_datum())
        }
        ArrayExpr::ScalarArrayOp {
            func,
            left,
            array,
            all,
            arg_types,
        } => {
            let l = eval(left, row, cx)?;
            let a = eval(array, row, cx)?;
            let Datum::Array(a) = a else {
                return Ok(Datum::Null);
            };
            if a.items.is_empty() {
                return Ok(Datum::Bool(*all));
            }
            let strict = super::registry().get(*func).strict;
            if l.is_null() && strict {
                return Ok(Datum::Null);
            }
            let mut saw_null = false;
            for item in &a.items {
                let r = if strict && item.is_null() {
                    Datum::Null
                } else {
                    invoke(*func, &[l.clone(), item.clone()], arg_types, cx)?
                };
                match r {
                    Datum::Bool(b) if b != *all => return Ok(Datum::Bool(b)),
                    Datum::Null => saw_null = true,
                    _ => {}
                }
            }
            Ok(if saw_null {
                Datum::Null
            } else {
                Datum::Bool(*all)
            })
        }
    }
}

/// `ARRAY[...]` of type `ty` (ExecEvalArrayExpr).
pub fn construct(vals: Vec<Datum>, ty: Type, multidims: bool) -> R {
    let elem = elem_of(ty);
    if !multidims {
        return Ok(ArrayValue::from_items(elem, vals)?.into_datum());
    }
    let mut sub_dims: Option<(Vec<i32>, Vec<i32>)> = None;
    let mut have_empty = false;
    let mut items = Vec::new();
    let mut n = 0;
    let mismatch = || {
        PgError::error(
            ARRAY_SUBSCRIPT_ERROR,
            "multidimensional arrays must have array expressions with matching dimensions",
        )
    };
    for v in vals {
        let Datum::Array(a) = v else {
            have_empty = true;
            continue;
        };
        if a.items.is_empty() {
            have_empty = true;
            continue;
        }
        match &sub_dims {
            None => {
                if a.ndim() + 1 > MAXDIM {
                    return Err(array::too_many_dims(a.ndim() + 1));
                }
                sub_dims = Some((a.dims.clone(), a.lbounds.clone()));
            }
            Some((d, l)) => {
                if *d != a.dims || *l != a.lbounds {
                    return Err(mismatch());
                }
            }
        }
        n += 1;
        items.extend(a.items);
    }
    let Some((d, l)) = sub_dims else {
        return Ok(ArrayValue::empty(elem).into_datum());
    };
    if have_empty {
        return Err(mismatch());
    }
    let mut dims = vec![n];
    dims.extend(d);
    let mut lbounds = vec![1];
    lbounds.extend(l);
    Ok(ArrayValue::new(elem, dims, lbounds, items)?.into_datum())
}

/// `ARRAY(subquery)`: the rows' single column as an array of `ty`.
pub fn from_rows(vals: Vec<Datum>, ty: Type) -> R {
    if elem_of(ty).elem().is_some() || vals.iter().any(|v| matches!(v, Datum::Array(_))) {
        // An array of arrays is a higher-dimensional array.
        if vals.iter().any(|v| v.is_null()) {
            return Err(PgError::error(
                sqlstate::NULL_VALUE_NOT_ALLOWED,
                "cannot accumulate null arrays",
            ));
        }
        return construct(vals, ty, true);
    }
    construct(vals, ty, false)
}

/// `array_agg`'s final function over its inputs, the result of type `ty`:
/// elements, or (an array type's inputs) sub-arrays of one more dimension
/// (`array_agg_array_transfn`'s errors for NULL, empty or mismatched ones).
pub fn aggregate(vals: Vec<Datum>, ty: Type, of_arrays: bool) -> R {
    let elem = elem_of(ty);
    if !of_arrays {
        return Ok(ArrayValue::from_items(elem, vals)?.into_datum());
    }
    let mut sub: Option<(Vec<i32>, Vec<i32>)> = None;
    let mut items = Vec::new();
    let n = vals.len() as i32;
    for v in vals {
        let Datum::Array(a) = v else {
            return Err(PgError::error(
                sqlstate::NULL_VALUE_NOT_ALLOWED,
                "cannot accumulate null arrays",
            ));
        };
        match &sub {
            None if a.items.is_empty() => {
                return Err(PgError::error(
                    ARRAY_SUBSCRIPT_ERROR,
                    "cannot accumulate empty arrays",
                ));
            }
            None => {
                if a.ndim() + 1 > MAXDIM {
                    return Err(array::too_many_dims(a.ndim() + 1));
                }
                sub = Some((a.dims.clone(), a.lbounds.clone()));
            }
            Some((d, l)) => {
                if *d != a.dims || *l != a.lbounds {
                    return Err(PgError::error(
                        ARRAY_SUBSCRIPT_ERROR,
                        "cannot accumulate arrays of different dimensionality",
                    ));
                }
            }
        }
        items.extend(a.items);
    }
    let Some((d, l)) = sub else {
        return Ok(ArrayValue::from_items(elem, items)?.into_datum());
    };
    let mut dims = vec![n];
    dims.extend(d);
    let mut lbounds = vec![1];
    lbounds.extend(l);
    Ok(ArrayValue::new(elem, dims, lbounds, items)?.into_datum())
}

// ---------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------

/// `array_contain_compare`: whether every element of `a` (every one, when
/// `match_all`; any one otherwise) equals some element of `b`. NULLs match
/// nothing.
fn contain_compare(a: &ArrayValue, b: &ArrayValue, match_all: bool) -> bool {
    for x in &a.items {
        if x.is_null() {
            if match_all {
                return false;
            }
            continue;
        }
        let found = b
            .items
            .iter()
            .any(|y| !y.is_null() && datum_cmp(x, y) == Ordering::Equal);
        if found && !match_all {
            return true;
        }
        if !found && match_all {
            return false;
        }
    }
    match_all
}

fn check_same_elem(a: &ArrayValue, b: &ArrayValue) -> PgResult<()> {
    if a.elem != b.elem {
        return Err(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            "cannot compare arrays of different element types",
        ));
    }
    Ok(())
}

fn arraycontains(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    check_same_elem(arr(&a[0]), arr(&a[1]))?;
    Ok(Datum::Bool(contain_compare(arr(&a[1]), arr(&a[0]), true)))
}

fn arraycontained(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    check_same_elem(arr(&a[0]), arr(&a[1]))?;
    Ok(Datum::Bool(contain_compare(arr(&a[0]), arr(&a[1]), true)))
}

fn arrayoverlap(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    check_same_elem(arr(&a[0]), arr(&a[1]))?;
    Ok(Datum::Bool(contain_compare(arr(&a[0]), arr(&a[1]), false)))
}

/// `array_cat` (`anycompatiblearray || anycompatiblearray`): not strict; a
/// NULL side is ignored; arrays of n and n-1 dimensions append or prepend
/// an element-array.
fn array_cat(_: &mut EvalContext, a: &[Datum], types: &[Type], _: Type) -> R {
    let (x, y) = match (&a[0], &a[1]) {
        (Datum::Null, Datum::Null) => return Ok(Datum::Null),
        (Datum::Null, v) | (v, Datum::Null) => return Ok(v.clone()),
        (Datum::Array(x), Datum::Array(y)) => (x, y),
        _ => unreachable!("array_cat of arrays"),
    };
    let elem = elem_of(types[0]);
    if x.items.is_empty() {
        return Ok(Datum::Array(y.clone()));
    }
    if y.items.is_empty() {
        return Ok(Datum::Array(x.clone()));
    }
    let incompatible = |detail: String| {
        PgError::error(
            ARRAY_SUBSCRIPT_ERROR,
            "cannot concatenate incompatible arrays",
        )
        .with_detail(detail)
    };
    let (nx, ny) = (x.ndim(), y.ndim());
    let mut items = x.items.clone();
    items.extend(y.items.iter().cloned());
    if nx == ny {
        if x.dims[1..] != y.dims[1..] {
            return Err(incompatible(
                "Arrays with differing element dimensions are not compatible for concatenation."
                    .into(),
            ));
        }
        let mut dims = x.dims.clone();
        dims[0] += y.dims[0];
        return Ok(ArrayValue::new(elem, dims, x.lbounds.clone(), items)?.into_datum());
    }
    if nx == ny + 1 {
        if x.dims[1..] != y.dims[..] {
            return Err(incompatible(
                "Arrays with differing dimensions are not compatible for concatenation.".into(),
            ));
        }
        let mut dims = x.dims.clone();
        dims[0] += 1;
        return Ok(ArrayValue::new(elem, dims, x.lbounds.clone(), items)?.into_datum());
    }
    if ny == nx + 1 {
        if y.dims[1..] != x.dims[..] {
            return Err(incompatible(
                "Arrays with differing dimensions are not compatible for concatenation.".into(),
            ));
        }
        let mut dims = y.dims.clone();
        dims[0] += 1;
        let lbounds = y.lbounds.clone();
        return Ok(ArrayValue::new(elem, dims, lbounds, items)?.into_datum());
    }
    Err(incompatible(format!(
        "Arrays of {nx} and {ny} dimensions are not compatible for concatenation."
    )))
}

fn one_dim_push(a: &Datum, v: Datum, elem: Type, front: bool) -> R {
    let a = match a {
        Datum::Null => ArrayValue::empty(elem),
        Datum::Array(a) => (**a).clone(),
        _ => unreachable!("array argument"),
    };
    if a.items.is_empty() {
        return Ok(ArrayValue::from_items(elem, vec![v])?.into_datum());
    }
    if a.ndim() != 1 {
        return Err(PgError::error(
            sqlstate::DATA_EXCEPTION,
            "argument must be empty or one-dimensional array",
        ));
    }
    let mut a = a;
    if front {
        // The lower bound stays the input's, as in PostgreSQL.
        a.items.insert(0, v);
    } else {
        a.items.push(v);
    }
    a.dims[0] += 1;
    array::check_dims(&a.dims, &a.lbounds)?;
    Ok(a.into_datum())
}

fn array_append(_: &mut EvalContext, a: &[Datum], types: &[Type], _: Type) -> R {
    one_dim_push(&a[0], a[1].clone(), elem_of(types[0]), false)
}

fn array_prepend(_: &mut EvalContext, a: &[Datum], types: &[Type], _: Type) -> R {
    one_dim_push(&a[1], a[0].clone(), elem_of(types[1]), true)
}

// ---------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------

/// The 1-based dimension `d` of `a`, if it has one.
fn dim(a: &ArrayValue, d: i32) -> Option<usize> {
    (d >= 1 && (d as usize) <= a.ndim()).then(|| d as usize - 1)
}

fn array_length(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = arr(&a[0]);
    Ok(dim(x, int(&a[1])).map_or(Datum::Null, |i| Datum::Int4(x.dims[i])))
}

fn array_lower(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = arr(&a[0]);
    Ok(dim(x, int(&a[1])).map_or(Datum::Null, |i| Datum::Int4(x.lbounds[i])))
}

fn array_upper(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = arr(&a[0]);
    Ok(dim(x, int(&a[1])).map_or(Datum::Null, |i| Datum::Int4(x.lbounds[i] + x.dims[i] - 1)))
}

fn array_ndims(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = arr(&a[0]);
    Ok(if x.ndim() == 0 {
        Datum::Null
    } else {
        Datum::Int4(x.ndim() as i32)
    })
}

fn array_dims(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = arr(&a[0]);
    if x.ndim() == 0 {
        return Ok(Datum::Null);
    }
    let mut s = String::new();
    for (d, l) in x.dims.iter().zip(&x.lbounds) {
        s.push_str(&format!("[{}:{}]", l, *l as i64 + *d as i64 - 1));
    }
    Ok(Datum::Text(s))
}

fn cardinality(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(arr(&a[0]).items.len() as i32))
}

fn one_dim_only(a: &ArrayValue) -> PgResult<()> {
    if a.ndim() > 1 {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "searching for elements in multidimensional arrays is not supported",
        ));
    }
    Ok(())
}

/// `IS NOT DISTINCT FROM` on elements.
fn not_distinct(x: &Datum, y: &Datum) -> bool {
    match (x.is_null(), y.is_null()) {
        (true, true) => true,
        (false, false) => datum_cmp(x, y) == Ordering::Equal,
        _ => false,
    }
}

/// `array_position(arr, x [, start])`: not strict in `x`.
fn array_position(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Array(x) = &a[0] else {
        return Ok(Datum::Null);
    };
    one_dim_only(x)?;
    if x.items.is_empty() {
        return Ok(Datum::Null);
    }
    let lb = x.lbounds[0];
    let start = match a.get(2) {
        None => lb,
        Some(Datum::Int4(s)) => *s,
        Some(_) => {
            return Err(PgError::error(
                sqlstate::NULL_VALUE_NOT_ALLOWED,
                "initial position must not be null",
            ));
        }
    };
    for (i, item) in x.items.iter().enumerate() {
        let pos = lb + i as i32;
        if pos < start {
            continue;
        }
        if not_distinct(item, &a[1]) {
            return Ok(Datum::Int4(pos));
        }
    }
    Ok(Datum::Null)
}

fn array_positions(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Array(x) = &a[0] else {
        return Ok(Datum::Null);
    };
    one_dim_only(x)?;
    let lb = x.lbounds.first().copied().unwrap_or(1);
    let found: Vec<Datum> = x
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| not_distinct(item, &a[1]))
        .map(|(i, _)| Datum::Int4(lb + i as i32))
        .collect();
    Ok(ArrayValue::from_items(Type::Int4, found)?.into_datum())
}

/// `array_remove` / `array_replace` (not strict in the values).
fn replace_impl(a: &[Datum], replace: Option<&Datum>) -> R {
    let Datum::Array(x) = &a[0] else {
        return Ok(Datum::Null);
    };
    if x.items.is_empty() {
        return Ok(a[0].clone());
    }
    if replace.is_none() && x.ndim() > 1 {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "removing elements from multidimensional arrays is not supported",
        ));
    }
    let mut out = (**x).clone();
    match replace {
        Some(r) => {
            for item in &mut out.items {
                if not_distinct(item, &a[1]) {
                    *item = r.clone();
                }
            }
            Ok(out.into_datum())
        }
        None => {
            let items: Vec<Datum> = x
                .items
                .iter()
                .filter(|i| !not_distinct(i, &a[1]))
                .cloned()
                .collect();
            if items.len() == x.items.len() {
                return Ok(a[0].clone());
            }
            if items.is_empty() {
                return Ok(ArrayValue::empty(x.elem).into_datum());
            }
            let n = items.len() as i32;
            Ok(ArrayValue::new(x.elem, vec![n], x.lbounds.clone(), items)?.into_datum())
        }
    }
}

fn array_remove(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    replace_impl(a, None)
}

fn array_replace(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    replace_impl(a, Some(&a[2]))
}

/// `trim_array(arr, n)`: removes the last n elements of the first dimension.
fn trim_array(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let x = arr(&a[0]);
    let n = int(&a[1]);
    let len = x.dims.first().copied().unwrap_or(0);
    if n < 0 || n > len {
        return Err(PgError::error(
            ARRAY_SUBSCRIPT_ERROR,
            "number of elements to trim must be between 0 and %d".replace("%d", &len.to_string()),
        ));
    }
    if n == 0 {
        return Ok(a[0].clone());
    }
    let lb = x.lbounds[0];
    let lower = vec![None; 1];
    let upper = vec![Some(lb + len - n - 1)];
    let mut out = x.slice(&lower, &upper);
    if !out.items.is_empty() {
        out.lbounds = x.lbounds.clone();
    }
    Ok(out.into_datum())
}

/// `array_fill(value, dims [, lbounds])`.
fn array_fill(_: &mut EvalContext, a: &[Datum], types: &[Type], _: Type) -> R {
    let null_dims = || {
        PgError::error(
            sqlstate::NULL_VALUE_NOT_ALLOWED,
            "dimension array or low bound array cannot be null",
        )
    };
    let ints = |d: &Datum| -> PgResult<Vec<i32>> {
        let Datum::Array(x) = d else {
            return Err(null_dims());
        };
        if x.ndim() > 1 {
            return Err(
                PgError::error(ARRAY_SUBSCRIPT_ERROR, "wrong number of array subscripts")
                    .with_detail("Dimension array must be one dimensional."),
            );
        }
        x.items
            .iter()
            .map(|i| match i {
                Datum::Int4(v) => Ok(*v),
                _ => Err(PgError::error(
                    sqlstate::NULL_VALUE_NOT_ALLOWED,
                    "dimension values cannot be null",
                )),
            })
            .collect()
    };
    let dims = ints(&a[1])?;
    let lbounds = match a.get(2) {
        Some(d) => {
            let l = ints(d)?;
            if l.len() != dims.len() {
                return Err(PgError::error(
                    ARRAY_SUBSCRIPT_ERROR,
                    "wrong number of array subscripts",
                )
                .with_detail("Low bound array has different size than dimensions array."));
            }
            l
        }
        None => vec![1; dims.len()],
    };
    let elem = types[0];
    if dims.len() > MAXDIM {
        return Err(array::too_many_dims(dims.len()));
    }
    if dims.is_empty() {
        return Ok(ArrayValue::empty(elem).into_datum());
    }
    let n = array::check_dims(&dims, &lbounds)?;
    if n == 0 {
        return Ok(ArrayValue::empty(elem).into_datum());
    }
    let items = vec![a[0].clone(); n];
    Ok(ArrayValue::new(elem, dims, lbounds, items)?.into_datum())
}

/// `array_to_string(arr, sep [, null_string])`: NULLs skipped unless a
/// null string is given.
fn array_to_string(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (Datum::Array(x), Datum::Text(sep)) = (&a[0], &a[1]) else {
        return Ok(Datum::Null);
    };
    let null_str = match a.get(2) {
        Some(Datum::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    let mut out = String::new();
    let mut first = true;
    for item in &x.items {
        let s = match adt::output(item, x.elem, &cx.fmt) {
            Some(s) => s,
            None => match null_str {
                Some(n) => n.to_string(),
                None => continue,
            },
        };
        if !first {
            out.push_str(sep);
        }
        first = false;
        out.push_str(&s);
    }
    Ok(Datum::Text(out))
}

/// `string_to_array(str, sep [, null_string])`.
fn string_to_array(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Text(s) = &a[0] else {
        return Ok(Datum::Null);
    };
    let null_str = match a.get(2) {
        Some(Datum::Text(n)) => Some(n.as_str()),
        _ => None,
    };
    if s.is_empty() {
        return Ok(ArrayValue::empty(Type::Text).into_datum());
    }
    let parts: Vec<String> = match &a[1] {
        Datum::Null => s.chars().map(|c| c.to_string()).collect(),
        Datum::Text(sep) if sep.is_empty() => vec![s.clone()],
        Datum::Text(sep) => s.split(sep.as_str()).map(str::to_string).collect(),
        _ => unreachable!("text separator"),
    };
    let items: Vec<Datum> = parts
        .into_iter()
        .map(|p| {
            if Some(p.as_str()) == null_str {
                Datum::Null
            } else {
                Datum::Text(p)
            }
        })
        .collect();
    Ok(ArrayValue::from_items(Type::Text, items)?.into_datum())
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    let aa = ArgType::AnyArray;
    let ae = ArgType::AnyElement;
    let ca = ArgType::AnyCompatibleArray;
    let ce = ArgType::AnyCompatible;
    let any_array = Type::AnyArray;
    for (sym, c) in [
        ("=", CmpOp::Eq),
        ("<>", CmpOp::Ne),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
    ] {
        b.op_any(sym, aa, aa, Bool, Impl::Cmp(c));
    }
    b.op_any("@>", aa, aa, Bool, Impl::Scalar(arraycontains));
    b.op_any("<@", aa, aa, Bool, Impl::Scalar(arraycontained));
    b.op_any("&&", aa, aa, Bool, Impl::Scalar(arrayoverlap));
    let cat = |b: &mut Builder, l, r, f| {
        b.push(
            "||",
            FuncKind::Infix,
            vec![l, r],
            Type::AnyCompatibleArray,
            Impl::Scalar(f),
        )
        .strict = false;
    };
    cat(b, ca, ca, array_cat);
    cat(b, ca, ce, array_append);
    cat(b, ce, ca, array_prepend);
    let f = |b: &mut Builder, name, args: &[ArgType], ret, f, strict: bool| {
        b.push(
            name,
            FuncKind::Function,
            args.to_vec(),
            ret,
            Impl::Scalar(f),
        )
        .strict = strict;
    };
    let int4 = ArgType::T(Int4);
    let text = ArgType::T(Text);
    f(b, "array_length", &[aa, int4], Int4, array_length, true);
    f(b, "array_lower", &[aa, int4], Int4, array_lower, true);
    f(b, "array_upper", &[aa, int4], Int4, array_upper, true);
    f(b, "array_ndims", &[aa], Int4, array_ndims, true);
    f(b, "array_dims", &[aa], Text, array_dims, true);
    f(b, "cardinality", &[aa], Int4, cardinality, true);
    f(
        b,
        "array_append",
        &[ca, ce],
        Type::AnyCompatibleArray,
        array_append,
        false,
    );
    f(
        b,
        "array_prepend",
        &[ce, ca],
        Type::AnyCompatibleArray,
        array_prepend,
        false,
    );
    f(
        b,
        "array_cat",
        &[ca, ca],
        Type::AnyCompatibleArray,
        array_cat,
        false,
    );
    f(b, "array_position", &[ca, ce], Int4, array_position, false);
    f(
        b,
        "array_position",
        &[ca, ce, int4],
        Int4,
        array_position,
        false,
    );
    let int4_arr = Type::from_oid(1007).expect("_int4");
    f(
        b,
        "array_positions",
        &[ca, ce],
        int4_arr,
        array_positions,
        false,
    );
    f(
        b,
        "array_remove",
        &[ca, ce],
        Type::AnyCompatibleArray,
        array_remove,
        false,
    );
    f(
        b,
        "array_replace",
        &[ca, ce, ce],
        Type::AnyCompatibleArray,
        array_replace,
        false,
    );
    f(b, "trim_array", &[aa, int4], any_array, trim_array, true);
    let int4_array = ArgType::T(Type::from_oid(1007).expect("_int4"));
    f(
        b,
        "array_fill",
        &[ae, int4_array],
        any_array,
        array_fill,
        false,
    );
    f(
        b,
        "array_fill",
        &[ae, int4_array, int4_array],
        any_array,
        array_fill,
        false,
    );
    f(
        b,
        "array_to_string",
        &[aa, text],
        Text,
        array_to_string,
        true,
    );
    f(
        b,
        "array_to_string",
        &[aa, text, text],
        Text,
        array_to_string,
        false,
    );
    f(
        b,
        "string_to_array",
        &[text, text],
        Type::TextArray,
        string_to_array,
        false,
    );
    f(
        b,
        "string_to_array",
        &[text, text, text],
        Type::TextArray,
        string_to_array,
        false,
    );
    b.set_func("unnest", &[aa], Type::AnyElement, SetImpl::Series);
    b.set_func("generate_subscripts", &[aa, int4], Int4, SetImpl::Series);
    let bool_ = ArgType::T(Bool);
    b.set_func(
        "generate_subscripts",
        &[aa, int4, bool_],
        Int4,
        SetImpl::Series,
    );
}
