//! EXPLAIN ANALYZE's per-node counters (PostgreSQL's `instrument.c`).
//!
//! EXPLAIN ANALYZE wraps every node of the plans it runs in a
//! [`Plan::Instrument`](crate::sql::plan::Plan::Instrument) numbered in
//! pre-order; the executor builds an [`InstrNode`] for each, which counts
//! into slot `id` of [`EvalContext::instrument`]. A node instance is one
//! *loop* (a nested loop's inner side, a correlated subquery and a LATERAL
//! item are built again for each outer row), counted on its first call so
//! that a node never pulled shows as never executed, as in PostgreSQL.
//!
//! Times are inclusive (a node's time contains its inputs'), measured
//! around each `next` call; the startup time of a loop is the time until
//! its first row (or its end, if it has none). Buffer and WAL usage are
//! this process's counters ([`crate::utils::pgstat::buffer_usage`],
//! [`crate::storage::wal::buffer::wal_usage`]) sampled around each call,
//! so they too are inclusive.

use std::time::{Duration, Instant};

use super::{EvalContext, ExecNode, Row};
use crate::utils::elog::PgResult;

/// What is measured, and the counters of each instrumented node.
#[derive(Debug, Default)]
pub struct Instrumentation {
    pub timing: bool,
    pub buffers: bool,
    pub wal: bool,
    pub nodes: Vec<NodeInstr>,
}

/// One node's totals over all its loops.
#[derive(Clone, Debug, Default)]
pub struct NodeInstr {
    pub nloops: u64,
    pub ntuples: u64,
    /// Sum over loops of the time to the first row.
    pub startup: Duration,
    pub total: Duration,
    /// Shared buffers hit, read, dirtied, written; temporary-file blocks
    /// read, written.
    pub buffers: [u64; 6],
    /// WAL records, full-page images, bytes.
    pub wal: [u64; 3],
    /// How the node's sort ran (a Sort node).
    pub sort: Option<super::tuplesort::SortMethod>,
}

impl NodeInstr {
    pub fn executed(&self) -> bool {
        self.nloops > 0
    }
}

pub(super) struct InstrNode {
    pub(super) id: usize,
    pub(super) input: Box<dyn ExecNode>,
    pub(super) started: bool,
    pub(super) first_done: bool,
    pub(super) elapsed: Duration,
}

impl InstrNode {
    pub(super) fn new(id: usize, input: Box<dyn ExecNode>) -> InstrNode {
        InstrNode {
            id,
            input,
            started: false,
            first_done: false,
            elapsed: Duration::ZERO,
        }
    }
}

fn usage(instr: &Instrumentation) -> ([u64; 6], [u64; 3]) {
    let b = if instr.buffers {
        let [hit, read, dirtied, written] = crate::utils::pgstat::buffer_usage();
        let (temp_read, temp_written) = crate::storage::file::temp::temp_usage();
        [hit, read, dirtied, written, temp_read, temp_written]
    } else {
        [0; 6]
    };
    let (r, f, by) = if instr.wal {
        crate::storage::wal::buffer::wal_usage()
    } else {
        (0, 0, 0)
    };
    (b, [r, f, by])
}

impl ExecNode for InstrNode {
    fn set_bound(&mut self, bound: usize) {
        self.input.set_bound(bound);
    }

    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        let Some(instr) = cx.instrument.as_ref() else {
            return self.input.next(cx);
        };
        let timing = instr.timing;
        let (b0, w0) = usage(instr);
        let t0 = timing.then(Instant::now);
        let outer = cx.current_node.replace(self.id);
        let r = self.input.next(cx);
        cx.current_node = outer;
        let dt = t0.map_or(Duration::ZERO, |t| t.elapsed());
        let instr = cx.instrument.as_mut().expect("checked above");
        let (b1, w1) = usage(instr);
        let n = &mut instr.nodes[self.id];
        if !self.started {
            self.started = true;
            n.nloops += 1;
        }
        self.elapsed += dt;
        n.total += dt;
        for i in 0..6 {
            n.buffers[i] += b1[i].saturating_sub(b0[i]);
        }
        for i in 0..3 {
            n.wal[i] += w1[i].saturating_sub(w0[i]);
        }
        if matches!(r, Ok(Some(_))) {
            n.ntuples += 1;
        }
        if !self.first_done && r.is_ok() {
            self.first_done = true;
            n.startup += self.elapsed;
        }
        r
    }
}
