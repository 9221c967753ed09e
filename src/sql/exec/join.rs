//! Join nodes (`nodeNestloop.c`, `nodeHashjoin.c`), for inner, left,
//! right and full joins.
//!
//! Both read the right input completely first (the nested loop
//! materialises it, as PostgreSQL puts a Material node there; the hash
//! join hashes it) and then stream the left input, so rows come out in
//! left order, each left row's matches in right order, and for RIGHT/FULL
//! joins the unmatched right rows last.
//!
//! Per pair of rows the qual is evaluated on one reused buffer holding the
//! left row followed by the right row: the right row's values are *moved*
//! into the buffer and back, so testing a pair allocates and copies no
//! values; only a matching pair is cloned into an output row.

use super::super::adt::{HashKey, hash_key};
use super::super::analyze::JoinKind;
use super::super::expr::Expr;
use super::super::types::Datum;
use super::{EvalContext, ExecNode, Row, eval, eval_qual};
use crate::utils::elog::PgResult;

/// How many pairs are tested between interrupt checks.
const PAIRS_PER_CHECK: u32 = 4096;

/// The materialised right input and which of its rows found a partner.
struct Inner {
    rows: Vec<Row>,
    matched: Vec<bool>,
}

impl Inner {
    fn read(input: &mut dyn ExecNode, cx: &mut EvalContext) -> PgResult<Inner> {
        let mut rows = Vec::new();
        while let Some(r) = input.next(cx)? {
            cx.hold(&r)?;
            rows.push(r);
        }
        let matched = vec![false; rows.len()];
        Ok(Inner { rows, matched })
    }
}

/// The state both joins share: the current left row (in `buf`), how far
/// through its candidates the join is, and the unmatched-right phase.
struct Probe {
    kind: JoinKind,
    left_width: usize,
    right_width: usize,
    /// The current left row, then room for one right row.
    buf: Row,
    /// Whether `buf` holds a left row still being joined.
    active: bool,
    /// Whether the current left row matched any right row.
    matched: bool,
    /// Next candidate (index into the candidate list).
    pos: usize,
    /// RIGHT/FULL: next right row to check for the unmatched output.
    tail: usize,
    pairs: u32,
}

impl Probe {
    fn new(kind: JoinKind, left_width: usize, right_width: usize) -> Probe {
        Probe {
            kind,
            left_width,
            right_width,
            buf: Vec::with_capacity(left_width + right_width),
            active: false,
            matched: false,
            pos: 0,
            tail: 0,
            pairs: 0,
        }
    }

    /// Tests `buf`'s left row with right row `j`; returns the joined row if
    /// the qual holds.
    fn test(
        &mut self,
        inner: &mut Inner,
        j: usize,
        qual: Option<&Expr>,
        cx: &mut EvalContext,
    ) -> PgResult<Option<Row>> {
        self.pairs += 1;
        if self.pairs >= PAIRS_PER_CHECK {
            self.pairs = 0;
            cx.server.check_for_interrupts()?;
        }
        let right = &mut inner.rows[j];
        let ok = match qual {
            None => true,
            Some(q) => {
                self.buf.append(right);
                let r = eval_qual(q, &self.buf, cx);
                right.extend(self.buf.drain(self.left_width..));
                r?
            }
        };
        if !ok {
            return Ok(None);
        }
        self.matched = true;
        inner.matched[j] = true;
        let mut out = Vec::with_capacity(self.left_width + self.right_width);
        out.extend_from_slice(&self.buf);
        out.extend_from_slice(right);
        Ok(Some(out))
    }

    /// The current left row with NULLs for the right side.
    fn left_only(&self) -> Row {
        let mut out = Vec::with_capacity(self.left_width + self.right_width);
        out.extend_from_slice(&self.buf);
        out.resize(self.left_width + self.right_width, Datum::Null);
        out
    }

    /// RIGHT/FULL, after the left input: the next unmatched right row with
    /// NULLs for the left side.
    fn next_unmatched(&mut self, inner: &Inner) -> Option<Row> {
        if !matches!(self.kind, JoinKind::Right | JoinKind::Full) {
            return None;
        }
        while self.tail < inner.rows.len() {
            let j = self.tail;
            self.tail += 1;
            if !inner.matched[j] {
                let mut out = Vec::with_capacity(self.left_width + self.right_width);
                out.resize(self.left_width, Datum::Null);
                out.extend_from_slice(&inner.rows[j]);
                return Some(out);
            }
        }
        None
    }

    fn preserves_left(&self) -> bool {
        matches!(self.kind, JoinKind::Left | JoinKind::Full)
    }
}

pub(super) struct NestLoop {
    pub left: Box<dyn ExecNode>,
    pub right: Option<Box<dyn ExecNode>>,
    pub qual: Option<Expr>,
    inner: Option<Inner>,
    probe: Probe,
    left_done: bool,
}

impl NestLoop {
    pub fn new(
        kind: JoinKind,
        left: Box<dyn ExecNode>,
        right: Box<dyn ExecNode>,
        qual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    ) -> NestLoop {
        NestLoop {
            left,
            right: Some(right),
            qual,
            inner: None,
            probe: Probe::new(kind, left_width, right_width),
            left_done: false,
        }
    }
}

impl ExecNode for NestLoop {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        if let Some(mut right) = self.right.take() {
            self.inner = Some(Inner::read(right.as_mut(), cx)?);
        }
        let inner = self.inner.as_mut().expect("right input read");
        let p = &mut self.probe;
        loop {
            if self.left_done {
                return Ok(p.next_unmatched(inner));
            }
            if !p.active {
                match self.left.next(cx)? {
                    None => {
                        self.left_done = true;
                        continue;
                    }
                    Some(r) => {
                        p.buf = r;
                        p.active = true;
                        p.matched = false;
                        p.pos = 0;
                    }
                }
            }
            while p.pos < inner.rows.len() {
                let j = p.pos;
                p.pos += 1;
                if let Some(out) = p.test(inner, j, self.qual.as_ref(), cx)? {
                    return Ok(Some(out));
                }
            }
            p.active = false;
            if !p.matched && p.preserves_left() {
                return Ok(Some(p.left_only()));
            }
        }
    }
}

pub(super) struct HashJoin {
    left: Box<dyn ExecNode>,
    right: Option<Box<dyn ExecNode>>,
    left_keys: Vec<Expr>,
    right_keys: Vec<Expr>,
    qual: Option<Expr>,
    inner: Option<Inner>,
    table: crate::sql::adt::KeyMap<Vec<usize>>,
    /// The current left row's key (reused between rows).
    key: Vec<HashKey>,
    /// Whether the current left row's key is in the table.
    hit: bool,
    probe: Probe,
    left_done: bool,
}

impl HashJoin {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: JoinKind,
        left: Box<dyn ExecNode>,
        right: Box<dyn ExecNode>,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        qual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    ) -> HashJoin {
        HashJoin {
            left,
            right: Some(right),
            left_keys,
            right_keys,
            qual,
            inner: None,
            table: Default::default(),
            key: Vec::new(),
            hit: false,
            probe: Probe::new(kind, left_width, right_width),
            left_done: false,
        }
    }

    /// Evaluates `keys` over `row` into `out`; false if any is NULL.
    fn keys(
        keys: &[Expr],
        row: &[Datum],
        out: &mut Vec<HashKey>,
        cx: &mut EvalContext,
    ) -> PgResult<bool> {
        out.clear();
        for k in keys {
            let v = eval(k, row, cx)?;
            if v.is_null() {
                return Ok(false);
            }
            out.push(hash_key(&v));
        }
        Ok(true)
    }

    fn build(&mut self, cx: &mut EvalContext) -> PgResult<()> {
        let Some(mut right) = self.right.take() else {
            return Ok(());
        };
        let inner = Inner::read(right.as_mut(), cx)?;
        let mut key = Vec::with_capacity(self.right_keys.len());
        for (j, r) in inner.rows.iter().enumerate() {
            if Self::keys(&self.right_keys, r, &mut key, cx)? {
                match self.table.get_mut(&key) {
                    Some(list) => list.push(j),
                    None => {
                        self.table.insert(key.clone(), vec![j]);
                    }
                }
            }
        }
        self.inner = Some(inner);
        Ok(())
    }
}

impl ExecNode for HashJoin {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        self.build(cx)?;
        let inner = self.inner.as_mut().expect("right input hashed");
        let p = &mut self.probe;
        loop {
            if self.left_done {
                return Ok(p.next_unmatched(inner));
            }
            if !p.active {
                match self.left.next(cx)? {
                    None => {
                        self.left_done = true;
                        continue;
                    }
                    Some(r) => {
                        self.hit = Self::keys(&self.left_keys, &r, &mut self.key, cx)?
                            && self.table.contains_key(&self.key);
                        p.buf = r;
                        p.active = true;
                        p.matched = false;
                        p.pos = 0;
                    }
                }
            }
            if self.hit {
                let candidates = &self.table[&self.key];
                while p.pos < candidates.len() {
                    let j = candidates[p.pos];
                    p.pos += 1;
                    if let Some(out) = p.test(inner, j, self.qual.as_ref(), cx)? {
                        return Ok(Some(out));
                    }
                }
            }
            p.active = false;
            if !p.matched && p.preserves_left() {
                return Ok(Some(p.left_only()));
            }
        }
    }
}

/// A join whose right input is LATERAL (`nodeNestloop.c` with
/// `nestParams`): the right plan runs again for each left row, after the
/// parameters it reads of that row are set.
pub(super) struct LateralLoop {
    kind: JoinKind,
    left: Box<dyn ExecNode>,
    right_plan: super::super::plan::Plan,
    params: Vec<(usize, Expr)>,
    qual: Option<Expr>,
    left_width: usize,
    right_width: usize,
    /// The current left row and the right input running for it.
    current: Option<(Row, Box<dyn ExecNode>, bool)>,
}

impl LateralLoop {
    pub fn new(
        kind: JoinKind,
        left: Box<dyn ExecNode>,
        right_plan: super::super::plan::Plan,
        params: Vec<(usize, Expr)>,
        qual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    ) -> LateralLoop {
        LateralLoop {
            kind,
            left,
            right_plan,
            params,
            qual,
            left_width,
            right_width,
            current: None,
        }
    }
}

impl ExecNode for LateralLoop {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        loop {
            if self.current.is_none() {
                let Some(l) = self.left.next(cx)? else {
                    return Ok(None);
                };
                for (slot, e) in &self.params {
                    let v = eval(e, &l, cx)?;
                    cx.set_exec_param(*slot, v);
                }
                let right = super::build(self.right_plan.clone());
                self.current = Some((l, right, false));
            }
            let (l, right, matched) = self.current.as_mut().expect("set above");
            match right.next(cx)? {
                Some(r) => {
                    let mut out = Vec::with_capacity(self.left_width + self.right_width);
                    out.extend_from_slice(l);
                    out.extend(r);
                    let ok = match &self.qual {
                        None => true,
                        Some(q) => eval_qual(q, &out, cx)?,
                    };
                    if ok {
                        *matched = true;
                        return Ok(Some(out));
                    }
                }
                None => {
                    let (l, _, matched) = self.current.take().expect("set above");
                    if !matched && self.kind == JoinKind::Left {
                        let mut out = l;
                        out.resize(self.left_width + self.right_width, Datum::Null);
                        return Ok(Some(out));
                    }
                }
            }
        }
    }
}
