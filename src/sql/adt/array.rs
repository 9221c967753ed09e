//! Arrays of any element type (PostgreSQL's `utils/adt/arrayfuncs.c`).
//!
//! # Layout
//! An array value is an [`ArrayValue`]: the element type (`pg_type.typelem`
//! of the array type, so the value knows how to print, compare and store
//! its elements), the dimensions and their lower bounds, and the elements
//! in row-major order (the last subscript varies fastest), each a
//! [`Datum`] with `Datum::Null` for a NULL element. That is PostgreSQL's
//! `ArrayType` (ndim, dims[], lbound[], null bitmap, data) unpacked:
//!
//! ```text
//!   '[0:1][1:3]={{1,2,3},{4,NULL,6}}'::int[]
//!   elem  = int4
//!   dims  = [2, 3]        lbounds = [0, 1]
//!   items = [1, 2, 3, 4, NULL, 6]
//! ```
//!
//! # Invariants
//! - `dims.len() == lbounds.len() <= MAXDIM` (6);
//! - `items.len()` is the product of `dims`, at most [`MAX_ARRAY_SIZE`];
//! - an empty array has no dimensions at all (`dims` empty, `array_ndims`
//!   NULL), as in PostgreSQL; a dimension of length 0 never exists;
//! - `lbound + dim - 1` fits in an `i32` (`ArrayCheckBounds`);
//! - every non-NULL item is a value of `elem` (never itself an array:
//!   PostgreSQL has no arrays of arrays, only more dimensions).
//!
//! # Text, binary and on-disk forms
//! [`array_in`] / [`array_out`] are PostgreSQL 15's text forms with its
//! quoting rules and its exact `malformed array literal` details;
//! [`send`] / [`recv`] are `array_send` / `array_recv` (ndim, has-null
//! flag, element oid, then dims and lower bounds, then each element as a
//! length-prefixed value in the element type's binary format), the element
//! formats supplied by the protocol layer. On disk an array is a varlena
//! holding [`serialize`]'s form: a version byte, the element oid, ndim,
//! dims and lower bounds, then each element as a tag byte (0 NULL, 1
//! value) and a length-prefixed payload in a fixed, session-independent
//! encoding of the element's `Datum` ([`elem_to_bytes`]).
//!
//! Comparison is `array_cmp` (element by element, NULLs greatest and equal
//! to each other; then the number of elements, of dimensions, the
//! dimensions and the lower bounds), so `'{1,2}' = '[0:1]={1,2}'` is false.

use std::cmp::Ordering;

use super::SessionFormat;
use crate::sql::types::{Datum, Type};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// PostgreSQL's `MAXDIM`.
pub const MAXDIM: usize = 6;
/// PostgreSQL's `MaxArraySize` (`MaxAllocSize / sizeof(Datum)`).
pub const MAX_ARRAY_SIZE: usize = 134_217_727;
/// `ERRCODE_ARRAY_SUBSCRIPT_ERROR`.
pub const ARRAY_SUBSCRIPT_ERROR: &str = "2202E";

/// An array value; see the module doc for its invariants.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayValue {
    pub elem: Type,
    pub dims: Vec<i32>,
    pub lbounds: Vec<i32>,
    pub items: Vec<Datum>,
}

pub fn too_many_dims(n: usize) -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("number of array dimensions ({n}) exceeds the maximum allowed ({MAXDIM})"),
    )
}

pub fn too_large() -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("array size exceeds the maximum allowed ({MAX_ARRAY_SIZE})"),
    )
}

/// `ArrayGetNItems` + `ArrayCheckBounds`.
pub fn check_dims(dims: &[i32], lbounds: &[i32]) -> PgResult<usize> {
    if dims.len() > MAXDIM {
        return Err(too_many_dims(dims.len()));
    }
    let mut n: u64 = 1;
    for &d in dims {
        if d < 0 {
            return Err(too_large());
        }
        // As ArrayGetNItems: the running product must fit an int32, the
        // final one MaxArraySize.
        n = n.saturating_mul(d as u64);
        if n > i32::MAX as u64 {
            return Err(too_large());
        }
    }
    if n > MAX_ARRAY_SIZE as u64 {
        return Err(too_large());
    }
    // ArrayCheckBounds.
    for (&d, &lb) in dims.iter().zip(lbounds) {
        if (lb as i64) + (d as i64) > i32::MAX as i64 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("array lower bound is too large: {lb}"),
            ));
        }
    }
    Ok(if dims.is_empty() { 0 } else { n as usize })
}

impl ArrayValue {
    pub fn empty(elem: Type) -> ArrayValue {
        ArrayValue {
            elem,
            dims: Vec::new(),
            lbounds: Vec::new(),
            items: Vec::new(),
        }
    }

    /// A one-dimensional array with lower bound 1 (empty if `items` is).
    pub fn from_items(elem: Type, items: Vec<Datum>) -> PgResult<ArrayValue> {
        if items.is_empty() {
            return Ok(ArrayValue::empty(elem));
        }
        if items.len() > MAX_ARRAY_SIZE {
            return Err(too_large());
        }
        Ok(ArrayValue {
            elem,
            dims: vec![items.len() as i32],
            lbounds: vec![1],
            items,
        })
    }

    /// A multi-dimensional array, its dimensions checked.
    pub fn new(
        elem: Type,
        dims: Vec<i32>,
        lbounds: Vec<i32>,
        items: Vec<Datum>,
    ) -> PgResult<ArrayValue> {
        let n = check_dims(&dims, &lbounds)?;
        if n == 0 {
            return Ok(ArrayValue::empty(elem));
        }
        assert_eq!(n, items.len(), "array items match its dimensions");
        Ok(ArrayValue {
            elem,
            dims,
            lbounds,
            items,
        })
    }

    /// A one-dimensional text array (catalog columns such as `enumvals`).
    pub fn from_texts(items: impl IntoIterator<Item = Option<String>>) -> ArrayValue {
        let items: Vec<Datum> = items
            .into_iter()
            .map(|s| s.map_or(Datum::Null, Datum::Text))
            .collect();
        ArrayValue::from_items(Type::Text, items).expect("a catalog list is small")
    }

    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The array type of this value (every element type here has one).
    pub fn array_type(&self) -> Option<Type> {
        self.elem.array()
    }

    pub fn into_datum(self) -> Datum {
        Datum::Array(Box::new(self))
    }

    /// The offset of a 0-based index vector, if each is within its dimension.
    fn offset(&self, idx: &[i32]) -> usize {
        let mut off = 0usize;
        for (i, &ix) in idx.iter().enumerate() {
            off = off * self.dims[i] as usize + ix as usize;
        }
        off
    }

    /// `array_get_element`: `a[i][j]`; NULL outside the array or for the
    /// wrong number of subscripts.
    pub fn get(&self, subs: &[i32]) -> Datum {
        if subs.len() != self.ndim() || subs.is_empty() {
            return Datum::Null;
        }
        let mut idx = Vec::with_capacity(subs.len());
        for (i, &s) in subs.iter().enumerate() {
            let z = s as i64 - self.lbounds[i] as i64;
            if z < 0 || z >= self.dims[i] as i64 {
                return Datum::Null;
            }
            idx.push(z as i32);
        }
        self.items[self.offset(&idx)].clone()
    }

    /// `array_set_element`: this array with `a[subs] = v`. An empty array
    /// becomes one of that single element at those subscripts; a
    /// one-dimensional array grows (NULL-filled) to reach the subscript.
    pub fn set(&self, subs: &[i32], v: Datum) -> PgResult<ArrayValue> {
        let subscript_error = |m: &str| PgError::error(ARRAY_SUBSCRIPT_ERROR, m.to_string());
        if subs.len() > MAXDIM {
            return Err(too_many_dims(subs.len()));
        }
        if self.ndim() == 0 {
            return ArrayValue::new(self.elem, vec![1; subs.len()], subs.to_vec(), vec![v]);
        }
        if subs.len() != self.ndim() {
            return Err(subscript_error("wrong number of array subscripts"));
        }
        if self.ndim() == 1 {
            let (lb, len) = (self.lbounds[0] as i64, self.dims[0] as i64);
            let i = subs[0] as i64;
            let new_lb = lb.min(i);
            let new_ub = (lb + len - 1).max(i);
            let n = new_ub - new_lb + 1;
            if n > MAX_ARRAY_SIZE as i64 {
                return Err(too_large());
            }
            let mut items = vec![Datum::Null; n as usize];
            for (k, item) in self.items.iter().enumerate() {
                items[(lb - new_lb) as usize + k] = item.clone();
            }
            items[(i - new_lb) as usize] = v;
            return ArrayValue::new(self.elem, vec![n as i32], vec![new_lb as i32], items);
        }
        let mut idx = Vec::with_capacity(subs.len());
        for (k, &sub) in subs.iter().enumerate() {
            let z = sub as i64 - self.lbounds[k] as i64;
            if z < 0 || z >= self.dims[k] as i64 {
                return Err(subscript_error("array subscript out of range"));
            }
            idx.push(z as i32);
        }
        let mut out = self.clone();
        let off = self.offset(&idx);
        out.items[off] = v;
        Ok(out)
    }

    /// `array_get_slice`: bounds default to the array's; the result has
    /// lower bounds 1, and is empty when any range is empty or outside.
    pub fn slice(&self, lower: &[Option<i32>], upper: &[Option<i32>]) -> ArrayValue {
        let n = lower.len();
        if self.ndim() == 0 || n > self.ndim() {
            return ArrayValue::empty(self.elem);
        }
        let mut lo = Vec::with_capacity(self.ndim());
        let mut hi = Vec::with_capacity(self.ndim());
        for i in 0..self.ndim() {
            let lb = self.lbounds[i];
            let ub = lb + self.dims[i] - 1;
            let (l, u) = if i < n {
                (
                    lower[i].unwrap_or(lb).max(lb),
                    upper[i].unwrap_or(ub).min(ub),
                )
            } else {
                (lb, ub)
            };
            if l > u {
                return ArrayValue::empty(self.elem);
            }
            lo.push(l);
            hi.push(u);
        }
        let dims: Vec<i32> = lo.iter().zip(&hi).map(|(l, u)| u - l + 1).collect();
        let mut items = Vec::new();
        let mut cur: Vec<i32> = lo.clone();
        loop {
            let idx: Vec<i32> = cur
                .iter()
                .zip(&self.lbounds)
                .map(|(c, lb)| c - lb)
                .collect();
            items.push(self.items[self.offset(&idx)].clone());
            // Advance the last subscript fastest.
            let mut k = cur.len();
            loop {
                if k == 0 {
                    let lbounds = vec![1; dims.len()];
                    return ArrayValue {
                        elem: self.elem,
                        dims,
                        lbounds,
                        items,
                    };
                }
                k -= 1;
                if cur[k] < hi[k] {
                    cur[k] += 1;
                    break;
                }
                cur[k] = lo[k];
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Text input
// ---------------------------------------------------------------------------

fn array_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn malformed(s: &str, detail: Option<&str>) -> PgError {
    let e = PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("malformed array literal: \"{s}\""),
    );
    match detail {
        Some(d) => e.with_detail(d),
        None => e,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    NoLevel,
    LevelStarted,
    ElemStarted,
    /// Never entered, as in PostgreSQL 15 (kept for its state list).
    #[allow(dead_code)]
    ElemCompleted,
    QuotedElemStarted,
    QuotedElemCompleted,
    ElemDelimited,
    LevelCompleted,
    LevelDelimited,
}

/// `ArrayCount`: the dimensions of the brace structure of `s` (which starts
/// at its `{`); 0 dimensions for an empty array. Errors name `s`.
fn array_count(s: &str, delim: u8) -> PgResult<Vec<i32>> {
    use State::*;
    let b = s.as_bytes();
    let err = |d: &str| malformed(s, Some(d));
    let unexpected = |c: char| malformed(s, Some(&format!("Unexpected \"{c}\" character.")));
    let mut nest_level = 0usize;
    let mut ndim = 1usize;
    let mut temp = [0i32; MAXDIM];
    let mut nelems = [1i32; MAXDIM];
    let mut nelems_last = [0i32; MAXDIM];
    let mut in_quotes = false;
    let mut eo_array = false;
    let mut empty_array = true;
    let mut state = NoLevel;
    let mut p = 0usize;
    while !eo_array {
        let mut item_done = false;
        while !item_done {
            if state == ElemStarted || state == QuotedElemStarted {
                empty_array = false;
            }
            let Some(&c) = b.get(p) else {
                return Err(err("Unexpected end of input."));
            };
            match c {
                b'\\' => {
                    if !matches!(
                        state,
                        LevelStarted | ElemStarted | QuotedElemStarted | ElemDelimited
                    ) {
                        return Err(unexpected('\\'));
                    }
                    if state != QuotedElemStarted {
                        state = ElemStarted;
                    }
                    if p + 1 < b.len() {
                        p += 1;
                    } else {
                        return Err(err("Unexpected end of input."));
                    }
                }
                b'"' => {
                    if !matches!(state, LevelStarted | QuotedElemStarted | ElemDelimited) {
                        return Err(err("Unexpected array element."));
                    }
                    in_quotes = !in_quotes;
                    state = if in_quotes {
                        QuotedElemStarted
                    } else {
                        QuotedElemCompleted
                    };
                }
                b'{' if !in_quotes => {
                    if !matches!(state, NoLevel | LevelStarted | LevelDelimited) {
                        return Err(unexpected('{'));
                    }
                    state = LevelStarted;
                    if nest_level >= MAXDIM {
                        return Err(too_many_dims(nest_level + 1));
                    }
                    temp[nest_level] = 0;
                    nest_level += 1;
                    ndim = ndim.max(nest_level);
                }
                b'}' if !in_quotes => {
                    if !(matches!(
                        state,
                        ElemStarted | ElemCompleted | QuotedElemCompleted | LevelCompleted
                    ) || (nest_level == 1 && state == LevelStarted))
                    {
                        return Err(unexpected('}'));
                    }
                    state = LevelCompleted;
                    if nest_level == 0 {
                        return Err(err("Unmatched \"}\" character."));
                    }
                    nest_level -= 1;
                    if nelems_last[nest_level] != 0 && nelems[nest_level] != nelems_last[nest_level]
                    {
                        return Err(err(
                            "Multidimensional arrays must have sub-arrays with matching dimensions.",
                        ));
                    }
                    nelems_last[nest_level] = nelems[nest_level];
                    nelems[nest_level] = 1;
                    if nest_level == 0 {
                        eo_array = true;
                        item_done = true;
                    } else {
                        temp[nest_level - 1] += 1;
                    }
                }
                _ if !in_quotes => {
                    if c == delim {
                        if !matches!(
                            state,
                            ElemStarted | ElemCompleted | QuotedElemCompleted | LevelCompleted
                        ) {
                            return Err(unexpected(delim as char));
                        }
                        state = if state == LevelCompleted {
                            LevelDelimited
                        } else {
                            ElemDelimited
                        };
                        item_done = true;
                        if nest_level == 0 {
                            return Err(unexpected(delim as char));
                        }
                        nelems[nest_level - 1] += 1;
                    } else if !array_isspace(c) {
                        if !matches!(state, LevelStarted | ElemStarted | ElemDelimited) {
                            return Err(err("Unexpected array element."));
                        }
                        state = ElemStarted;
                    }
                }
                _ => {}
            }
            if !item_done {
                p += 1;
            }
        }
        temp[ndim - 1] += 1;
        p += 1;
    }
    while p < b.len() {
        if !array_isspace(b[p]) {
            return Err(err("Junk after closing right brace."));
        }
        p += 1;
    }
    if empty_array {
        return Ok(Vec::new());
    }
    Ok(temp[..ndim].to_vec())
}

/// C's `atoi` on the digits and signs PostgreSQL scanned.
fn atoi(s: &str) -> i32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = (v * 10 + (b[i] - b'0') as i64).min(1 << 40);
        i += 1;
    }
    let v = if neg { -v } else { v };
    v as i32
}

/// `array_in`: the text form of an array of `elem`, each element read with
/// the element type's input function and `typmod`.
pub fn array_in(s: &str, elem: Type, typmod: i32, fmt: &SessionFormat) -> PgResult<ArrayValue> {
    let b = s.as_bytes();
    let delim = b',';
    let mut p = 0usize;
    let mut dims: Vec<i32> = Vec::new();
    let mut lbounds: Vec<i32> = Vec::new();
    let is_bound_char = |c: u8| c.is_ascii_digit() || c == b'-' || c == b'+';
    loop {
        while p < b.len() && array_isspace(b[p]) {
            p += 1;
        }
        if b.get(p) != Some(&b'[') {
            break;
        }
        p += 1;
        if dims.len() >= MAXDIM {
            return Err(too_many_dims(dims.len() + 1));
        }
        let mut q = p;
        while q < b.len() && is_bound_char(b[q]) {
            q += 1;
        }
        if q == p {
            return Err(malformed(
                s,
                Some("\"[\" must introduce explicitly-specified array dimensions."),
            ));
        }
        let lb;
        if b.get(q) == Some(&b':') {
            lb = atoi(&s[p..q]);
            p = q + 1;
            q = p;
            while q < b.len() && is_bound_char(b[q]) {
                q += 1;
            }
            if q == p {
                return Err(malformed(s, Some("Missing array dimension value.")));
            }
        } else {
            lb = 1;
        }
        if b.get(q) != Some(&b']') {
            return Err(malformed(s, Some("Missing \"]\" after array dimensions.")));
        }
        let ub = atoi(&s[p..q]);
        p = q + 1;
        if ub < lb {
            return Err(PgError::error(
                ARRAY_SUBSCRIPT_ERROR,
                "upper bound cannot be less than lower bound",
            ));
        }
        dims.push((ub as i64 - lb as i64 + 1).min(i32::MAX as i64) as i32);
        lbounds.push(lb);
    }
    let body;
    if dims.is_empty() {
        if b.get(p) != Some(&b'{') {
            return Err(malformed(
                s,
                Some("Array value must start with \"{\" or dimension information."),
            ));
        }
        body = &s[p..];
        dims = array_count(body, delim)?;
        lbounds = vec![1; dims.len()];
    } else {
        if b.get(p) != Some(&b'=') {
            return Err(malformed(s, Some("Missing \"=\" after array dimensions.")));
        }
        p += 1;
        while p < b.len() && array_isspace(b[p]) {
            p += 1;
        }
        if b.get(p) != Some(&b'{') {
            return Err(malformed(s, Some("Array contents must start with \"{\".")));
        }
        body = &s[p..];
        let braces = array_count(body, delim)?;
        if braces != dims {
            return Err(malformed(
                s,
                Some("Specified array dimensions do not match array contents."),
            ));
        }
    }
    let nitems = check_dims(&dims, &lbounds)?;
    if nitems == 0 {
        return Ok(ArrayValue::empty(elem));
    }
    let texts = read_array_str(body, s, nitems, delim)?;
    let mut items = Vec::with_capacity(nitems);
    for t in texts {
        items.push(match t {
            None => Datum::Null,
            Some(t) => super::input(&t, elem, typmod, fmt)?,
        });
    }
    Ok(ArrayValue {
        elem,
        dims,
        lbounds,
        items,
    })
}

/// `ReadArrayStr`: the element strings (None for an unquoted NULL), in
/// order; `array_count` has validated the structure. Each pass of the outer
/// loop reads one element, ending at a delimiter or the final `}`; closing
/// braces of sub-arrays and the delimiter after them belong to the element
/// before them, as in PostgreSQL.
fn read_array_str(
    body: &str,
    orig: &str,
    nitems: usize,
    delim: u8,
) -> PgResult<Vec<Option<String>>> {
    let b = body.as_bytes();
    let mut out: Vec<Option<String>> = Vec::with_capacity(nitems);
    let mut p = 0usize;
    let mut nest = 0usize;
    let mut in_quotes = false;
    let mut eo_array = false;
    while !eo_array {
        let mut item: Vec<u8> = Vec::new();
        let mut end = 0usize; // significant length of item
        let mut leading = true;
        let mut quoted = false;
        loop {
            let Some(&c) = b.get(p) else {
                return Err(malformed(orig, None));
            };
            match c {
                b'\\' => {
                    p += 1;
                    let Some(&n) = b.get(p) else {
                        return Err(malformed(orig, None));
                    };
                    item.push(n);
                    p += 1;
                    leading = false;
                    end = item.len();
                    quoted = true;
                }
                b'"' => {
                    in_quotes = !in_quotes;
                    if in_quotes {
                        leading = false;
                    } else {
                        end = item.len();
                    }
                    quoted = true;
                    p += 1;
                }
                b'{' if !in_quotes => {
                    nest += 1;
                    p += 1;
                }
                b'}' if !in_quotes => {
                    if nest == 0 {
                        return Err(malformed(orig, None));
                    }
                    nest -= 1;
                    p += 1;
                    if nest == 0 {
                        eo_array = true;
                        break;
                    }
                }
                _ if in_quotes => {
                    item.push(c);
                    p += 1;
                }
                _ if c == delim => {
                    p += 1;
                    break;
                }
                _ if array_isspace(c) => {
                    if !leading {
                        item.push(c);
                    }
                    p += 1;
                }
                _ => {
                    item.push(c);
                    p += 1;
                    leading = false;
                    end = item.len();
                }
            }
        }
        item.truncate(end);
        let text = String::from_utf8(item).map_err(|_| malformed(orig, None))?;
        if !quoted && text.eq_ignore_ascii_case("NULL") {
            out.push(None);
        } else {
            out.push(Some(text));
        }
    }
    if out.len() != nitems {
        return Err(malformed(orig, None));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Text output
// ---------------------------------------------------------------------------

/// `array_out`.
pub fn array_out(a: &ArrayValue, fmt: &SessionFormat) -> String {
    let mut out = String::new();
    if a.items.is_empty() {
        return "{}".to_string();
    }
    if a.lbounds.iter().any(|&l| l != 1) {
        for (d, l) in a.dims.iter().zip(&a.lbounds) {
            out.push_str(&format!("[{}:{}]", l, *l as i64 + *d as i64 - 1));
        }
        out.push('=');
    }
    let ndim = a.ndim();
    let mut idx = vec![0i32; ndim];
    for _ in 0..ndim {
        out.push('{');
    }
    for (n, item) in a.items.iter().enumerate() {
        if n > 0 {
            // Close and reopen the levels whose index wrapped.
            let mut k = ndim - 1;
            let mut closed = 0;
            loop {
                idx[k] += 1;
                if idx[k] < a.dims[k] {
                    break;
                }
                idx[k] = 0;
                closed += 1;
                if k == 0 {
                    break;
                }
                k -= 1;
            }
            for _ in 0..closed {
                out.push('}');
            }
            out.push(',');
            for _ in 0..closed {
                out.push('{');
            }
        }
        match super::output(item, a.elem, fmt) {
            None => out.push_str("NULL"),
            Some(s) => push_quoted(&mut out, &s),
        }
    }
    for _ in 0..ndim {
        out.push('}');
    }
    out
}

/// An element as `array_out` writes it: quoted when empty, `NULL`-like or
/// containing a delimiter, brace, quote, backslash or white space.
fn push_quoted(out: &mut String, s: &str) {
    let needs = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.bytes()
            .any(|c| matches!(c, b'{' | b'}' | b',' | b'"' | b'\\') || array_isspace(c));
    if !needs {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// Comparison and hashing
// ---------------------------------------------------------------------------

/// `array_cmp` (btree order; equality is `Ordering::Equal`).
pub fn array_cmp(a: &ArrayValue, b: &ArrayValue) -> Ordering {
    for (x, y) in a.items.iter().zip(&b.items) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => super::datum_cmp(x, y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.items
        .len()
        .cmp(&b.items.len())
        .then(a.ndim().cmp(&b.ndim()))
        .then_with(|| a.dims.cmp(&b.dims))
        .then_with(|| a.lbounds.cmp(&b.lbounds))
}

// ---------------------------------------------------------------------------
// On-disk form
// ---------------------------------------------------------------------------

const DISK_VERSION: u8 = 1;

/// The element's value in ferrogres's stable on-disk encoding.
pub fn elem_to_bytes(d: &Datum) -> Vec<u8> {
    match d {
        Datum::Null => Vec::new(),
        Datum::Bool(b) => vec![*b as u8],
        Datum::Int2(v) => v.to_be_bytes().to_vec(),
        Datum::Int4(v) => v.to_be_bytes().to_vec(),
        Datum::Int8(v) => v.to_be_bytes().to_vec(),
        Datum::Float4(v) => v.to_be_bytes().to_vec(),
        Datum::Float8(v) => v.to_be_bytes().to_vec(),
        Datum::Numeric(n) => n.to_string_pg().into_bytes(),
        Datum::Text(s) => s.as_bytes().to_vec(),
        Datum::Oid(v) | Datum::Xid(v) => v.to_be_bytes().to_vec(),
        Datum::Timestamptz(v) | Datum::Timestamp(v) => v.to_be_bytes().to_vec(),
        Datum::Date(v) => v.to_be_bytes().to_vec(),
        Datum::Lsn(v) => v.to_be_bytes().to_vec(),
        Datum::Uuid(u) => u.to_vec(),
        Datum::Bytea(b) => b.clone(),
        Datum::Interval {
            months,
            days,
            micros,
        } => {
            let mut v = micros.to_be_bytes().to_vec();
            v.extend_from_slice(&days.to_be_bytes());
            v.extend_from_slice(&months.to_be_bytes());
            v
        }
        Datum::Void => Vec::new(),
        // No column has type record (or record[]): never stored; the text
        // keeps this total rather than a reason to abort.
        Datum::Record(r) => super::rowtypes::record_out(r, &SessionFormat::default()).into_bytes(),
        Datum::Array(a) => serialize(a),
        Datum::Time(v) => v.to_be_bytes().to_vec(),
        Datum::Json(s) => s.as_bytes().to_vec(),
        Datum::Jsonb(j) => j.to_text().into_bytes(),
        // The pg_enum oid, as a column stores it.
        Datum::Enum(e) => e.oid.to_be_bytes().to_vec(),
    }
}

fn corrupt() -> PgError {
    PgError::error(sqlstate::DATA_CORRUPTED, "invalid array value on disk")
}

/// Reads [`elem_to_bytes`]'s form of a value of `ty`.
pub fn elem_from_bytes(b: &[u8], ty: Type) -> PgResult<Datum> {
    let arr = |n: usize| -> PgResult<&[u8]> { if b.len() == n { Ok(b) } else { Err(corrupt()) } };
    macro_rules! be {
        ($t:ty, $n:expr) => {
            <$t>::from_be_bytes(arr($n)?.try_into().map_err(|_| corrupt())?)
        };
    }
    Ok(match ty {
        Type::Bool => Datum::Bool(arr(1)?[0] != 0),
        Type::Int2 => Datum::Int2(be!(i16, 2)),
        Type::Int4 => Datum::Int4(be!(i32, 4)),
        Type::Int8 => Datum::Int8(be!(i64, 8)),
        Type::Float4 => Datum::Float4(be!(f32, 4)),
        Type::Float8 => Datum::Float8(be!(f64, 8)),
        Type::Numeric => Datum::Numeric(super::numeric::Numeric::parse(
            std::str::from_utf8(b).map_err(|_| corrupt())?,
        )?),
        t if t.is_oid_like() => Datum::Oid(be!(u32, 4)),
        Type::Xid => Datum::Xid(be!(u32, 4)),
        Type::Timestamptz => Datum::Timestamptz(be!(i64, 8)),
        Type::Timestamp => Datum::Timestamp(be!(i64, 8)),
        Type::Date => Datum::Date(be!(i32, 4)),
        Type::PgLsn => Datum::Lsn(be!(u64, 8)),
        Type::Uuid => Datum::Uuid(arr(16)?.try_into().map_err(|_| corrupt())?),
        Type::Bytea => Datum::Bytea(b.to_vec()),
        Type::Interval => {
            let b = arr(16)?;
            Datum::Interval {
                micros: i64::from_be_bytes(b[0..8].try_into().map_err(|_| corrupt())?),
                days: i32::from_be_bytes(b[8..12].try_into().map_err(|_| corrupt())?),
                months: i32::from_be_bytes(b[12..16].try_into().map_err(|_| corrupt())?),
            }
        }
        Type::Time => Datum::Time(be!(i64, 8)),
        Type::Json => Datum::Json(String::from_utf8(b.to_vec()).map_err(|_| corrupt())?),
        Type::Jsonb => Datum::Jsonb(Box::new(super::jsonb::Jsonb::parse(
            std::str::from_utf8(b).map_err(|_| corrupt())?,
        )?)),
        _ if ty.elem().is_some() => Datum::Array(Box::new(deserialize(b)?)),
        _ if ty.is_enum() => super::enums::from_oid(be!(u32, 4))?,
        _ => Datum::Text(String::from_utf8(b.to_vec()).map_err(|_| corrupt())?),
    })
}

/// The on-disk form of an array (see the module doc).
pub fn serialize(a: &ArrayValue) -> Vec<u8> {
    let mut out = vec![DISK_VERSION];
    out.extend_from_slice(&a.elem.oid().to_be_bytes());
    out.push(a.ndim() as u8);
    for (d, l) in a.dims.iter().zip(&a.lbounds) {
        out.extend_from_slice(&d.to_be_bytes());
        out.extend_from_slice(&l.to_be_bytes());
    }
    for item in &a.items {
        if item.is_null() {
            out.push(0);
        } else {
            let b = elem_to_bytes(item);
            out.push(1);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(&b);
        }
    }
    out
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|s| i32::from_be_bytes(s.try_into().expect("4 bytes")))
    }
}

/// Reads [`serialize`]'s form.
pub fn deserialize(b: &[u8]) -> PgResult<ArrayValue> {
    let mut r = Reader { b, p: 0 };
    if r.u8() != Some(DISK_VERSION) {
        return Err(corrupt());
    }
    let elem = r
        .i32()
        .and_then(|o| Type::from_oid(o as u32))
        .ok_or_else(corrupt)?;
    let ndim = r.u8().ok_or_else(corrupt)? as usize;
    if ndim > MAXDIM {
        return Err(corrupt());
    }
    let mut dims = Vec::with_capacity(ndim);
    let mut lbounds = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(r.i32().ok_or_else(corrupt)?);
        lbounds.push(r.i32().ok_or_else(corrupt)?);
    }
    let n = check_dims(&dims, &lbounds).map_err(|_| corrupt())?;
    let mut items = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        match r.u8().ok_or_else(corrupt)? {
            0 => items.push(Datum::Null),
            1 => {
                let len = r.i32().ok_or_else(corrupt)? as u32 as usize;
                let payload = r.take(len).ok_or_else(corrupt)?;
                items.push(elem_from_bytes(payload, elem)?);
            }
            _ => return Err(corrupt()),
        }
    }
    if n == 0 {
        return Ok(ArrayValue::empty(elem));
    }
    Ok(ArrayValue {
        elem,
        dims,
        lbounds,
        items,
    })
}

// ---------------------------------------------------------------------------
// Binary (array_send / array_recv)
// ---------------------------------------------------------------------------

/// `array_send`, each element encoded by `send_elem` (the element type's
/// `*_send`).
pub fn send(
    a: &ArrayValue,
    mut send_elem: impl FnMut(&Datum) -> PgResult<Vec<u8>>,
) -> PgResult<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(&(a.ndim() as i32).to_be_bytes());
    let has_null = a.items.iter().any(|d| d.is_null());
    out.extend_from_slice(&(has_null as i32).to_be_bytes());
    out.extend_from_slice(&a.elem.oid().to_be_bytes());
    for (d, l) in a.dims.iter().zip(&a.lbounds) {
        out.extend_from_slice(&d.to_be_bytes());
        out.extend_from_slice(&l.to_be_bytes());
    }
    for item in &a.items {
        if item.is_null() {
            out.extend_from_slice(&(-1i32).to_be_bytes());
        } else {
            let b = send_elem(item)?;
            out.extend_from_slice(&(b.len() as i32).to_be_bytes());
            out.extend_from_slice(&b);
        }
    }
    Ok(out)
}

/// `array_recv` for an array of `elem`, each element decoded by
/// `recv_elem` (the element type's `*_recv`).
pub fn recv(
    b: &[u8],
    elem: Type,
    mut recv_elem: impl FnMut(&[u8]) -> PgResult<Datum>,
) -> PgResult<ArrayValue> {
    // pq_getmsgint past the end of the value.
    let bad = || PgError::error("08P01", "insufficient data left in message");
    let mut r = Reader { b, p: 0 };
    let ndim = r.i32().ok_or_else(bad)?;
    if ndim < 0 {
        return Err(PgError::error(
            "22P03",
            format!("invalid number of dimensions: {ndim}"),
        ));
    }
    if ndim as usize > MAXDIM {
        return Err(too_many_dims(ndim as usize));
    }
    let flags = r.i32().ok_or_else(bad)?;
    if flags != 0 && flags != 1 {
        return Err(PgError::error("22P03", "invalid array flags"));
    }
    let elem_oid = r.i32().ok_or_else(bad)? as u32;
    if elem_oid != elem.oid() {
        return Err(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "binary data has array element type {elem_oid} ({}) instead of expected {} ({})",
                Type::from_oid(elem_oid).map_or("???".into(), |t| t.name()),
                elem.oid(),
                elem.name()
            ),
        ));
    }
    let mut dims = Vec::new();
    let mut lbounds = Vec::new();
    for _ in 0..ndim {
        dims.push(r.i32().ok_or_else(bad)?);
        lbounds.push(r.i32().ok_or_else(bad)?);
    }
    let n = check_dims(&dims, &lbounds)?;
    let mut items = Vec::with_capacity(n.min(b.len() / 4));
    for _ in 0..n {
        let len = r.i32().ok_or_else(bad)?;
        if len == -1 {
            items.push(Datum::Null);
            continue;
        }
        // ReadArrayBinary: an item longer than what is left is 22P03.
        let short = || PgError::error("22P03", "insufficient data left in message");
        if len < 0 {
            return Err(short());
        }
        let payload = r.take(len as usize).ok_or_else(short)?;
        let k = items.len() + 1;
        items.push(recv_elem(payload).map_err(|mut e| {
            // The element's receive function left bytes unread.
            if e.message.starts_with("incorrect binary data format") {
                e.message = format!("improper binary format in array element {k}");
            }
            e
        })?);
    }
    if r.p != b.len() {
        // Bytes left over: the caller's check (the Bind message names the
        // parameter after it).
        return Err(PgError::error("22P03", super::binary::BAD_BINARY_FORMAT));
    }
    if n == 0 {
        return Ok(ArrayValue::empty(elem));
    }
    Ok(ArrayValue {
        elem,
        dims,
        lbounds,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PgResult<ArrayValue> {
        array_in(s, Type::Int4, -1, &SessionFormat::default())
    }
    fn out(a: &ArrayValue) -> String {
        array_out(a, &SessionFormat::default())
    }

    #[test]
    fn text_forms_round_trip_like_postgres() {
        for s in [
            "{}",
            "{1,2,3}",
            "{{1,2},{3,4}}",
            "[0:1]={1,NULL}",
            "[1:2][3:4]={{1,2},{3,4}}",
        ] {
            assert_eq!(out(&parse(s).unwrap()), s);
        }
        assert_eq!(out(&parse(" { 1 , 2 } ").unwrap()), "{1,2}");
        let t = array_in(
            "{a b,\"c,d\",\"\",NULL,\"NULL\",\\\\x}",
            Type::Text,
            -1,
            &SessionFormat::default(),
        )
        .unwrap();
        assert_eq!(out(&t), "{\"a b\",\"c,d\",\"\",NULL,\"NULL\",\"\\\\x\"}");
    }

    #[test]
    fn malformed_literals_have_postgres_details() {
        let d = |s: &str| parse(s).unwrap_err().detail.unwrap_or_default();
        assert_eq!(d("{1,2"), "Unexpected end of input.");
        assert_eq!(
            d("{{1,2},{3}}"),
            "Multidimensional arrays must have sub-arrays with matching dimensions."
        );
        assert_eq!(d("{1,{2}}"), "Unexpected \"{\" character.");
        assert_eq!(d("{,}"), "Unexpected \",\" character.");
        assert_eq!(d("{1}x"), "Junk after closing right brace.");
        assert_eq!(
            d("[1:3]={1,2}"),
            "Specified array dimensions do not match array contents."
        );
        assert_eq!(parse("{{{{{{{1}}}}}}}").unwrap_err().sqlstate, "54000");
    }

    #[test]
    fn disk_form_round_trips() {
        let a = parse("[0:1][1:2]={{1,NULL},{3,4}}").unwrap();
        assert_eq!(deserialize(&serialize(&a)).unwrap(), a);
        assert!(deserialize(&[1, 0, 0]).is_err());
    }

    #[test]
    fn slices_and_subscripts() {
        let a = parse("{{1,2,3},{4,5,6}}").unwrap();
        assert_eq!(a.get(&[2, 3]), Datum::Int4(6));
        assert_eq!(a.get(&[3, 1]), Datum::Null);
        assert_eq!(
            out(&a.slice(&[Some(1), Some(2)], &[Some(2), Some(2)])),
            "{{2},{5}}"
        );
        assert_eq!(out(&a.slice(&[None], &[Some(1)])), "{{1,2,3}}");
        assert_eq!(out(&a.slice(&[Some(5)], &[None])), "{}");
    }
}
