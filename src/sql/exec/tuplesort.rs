//! Sorting within `work_mem` (PostgreSQL's `tuplesort.c`, simplified).
//!
//! Rows are collected in memory until they take more than `work_mem`;
//! then the batch is sorted and written to a temporary file as a *run*,
//! and collection starts again. If no run was written the sort is an
//! in-memory sort ("quicksort"). Otherwise the last batch becomes a run
//! too and the runs are merged ("external merge"): at most `fan_in` runs
//! at a time, each read through a 32 kB buffer, so a merge pass needs about
//! `work_mem` of buffers whatever the input's size; passes repeat, each
//! into a new file (the old one deleted), until the remaining runs can be
//! merged while the rows are handed out.
//!
//! The sort is stable, as ferrogres's in-memory sort always was: rows that
//! compare equal keep their input order, within a run by the stable sort
//! and across runs because a tie goes to the earlier run, and runs are
//! made and merged in input order.
//!
//! Memory: the batch is measured with the executor's row size estimate;
//! a single row larger than `work_mem` still makes a run of one row.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

use super::rowcodec::{Decoder, encode_row};
use super::{EvalContext, Row, compare_key, row_bytes};
use crate::sql::plan::SortKey;
use crate::storage::file::temp::{TempFile, TempFileSettings};
use crate::utils::elog::PgResult;

const READ_BUFFER: usize = 32 * 1024;

/// How a finished sort ran, for EXPLAIN ANALYZE's `Sort Method` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortMethod {
    /// In memory; the peak bytes held.
    Quicksort { memory: usize },
    /// Through temporary files; the bytes of the first pass's runs.
    ExternalMerge { disk: u64 },
    /// Bounded (a LIMIT above): the smallest rows only, in a heap; its
    /// peak bytes.
    TopN { memory: usize },
}

/// A run: bytes `start..end` of the current file.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: u64,
    end: u64,
}

pub struct Tuplesort {
    keys: Rc<Vec<SortKey>>,
    work_mem: usize,
    temp: TempFileSettings,
    batch: Vec<Row>,
    batch_bytes: usize,
    peak: usize,
    file: Option<TempFile>,
    runs: Vec<Run>,
    spilled: u64,
    state: State,
    /// At most this many rows are wanted (`tuplesort_set_bound`).
    bound: Option<usize>,
    /// Bounded mode: the `bound` smallest rows so far, largest on top,
    /// each with its input position (ties keep input order).
    heap: Option<BinaryHeap<Bounded>>,
    seq: u64,
}

/// A row of a bounded sort: ordered by the keys, then input position.
struct Bounded {
    row: Row,
    seq: u64,
    keys: Rc<Vec<SortKey>>,
}

impl PartialEq for Bounded {
    fn eq(&self, other: &Bounded) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bounded {}
impl PartialOrd for Bounded {
    fn partial_cmp(&self, other: &Bounded) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bounded {
    fn cmp(&self, other: &Bounded) -> Ordering {
        compare(&self.keys, &self.row, &other.row).then(self.seq.cmp(&other.seq))
    }
}

enum State {
    Loading,
    Memory(std::vec::IntoIter<Row>),
    Merge(Merge),
}

fn compare(keys: &[SortKey], a: &Row, b: &Row) -> Ordering {
    for k in keys {
        let o = compare_key(&a[k.column], &b[k.column], k.descending, k.nulls_first);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl Tuplesort {
    /// A sort on `keys` within `work_mem_kb` kilobytes.
    pub fn new(keys: Vec<SortKey>, work_mem_kb: i64, temp: TempFileSettings) -> Tuplesort {
        Tuplesort {
            keys: Rc::new(keys),
            work_mem: (work_mem_kb.max(64) as usize).saturating_mul(1024),
            temp,
            batch: Vec::new(),
            batch_bytes: 0,
            peak: 0,
            file: None,
            runs: Vec::new(),
            spilled: 0,
            state: State::Loading,
            bound: None,
            heap: None,
            seq: 0,
        }
    }

    /// Only the first `bound` rows of the result will be read. Once the
    /// input passes twice that, in memory, the sort keeps just the
    /// `bound` smallest rows in a heap (PostgreSQL's top-N heapsort).
    pub fn set_bound(&mut self, bound: usize) {
        self.bound = Some(bound.max(1));
    }

    fn heap_put(&mut self, row: Row) {
        let seq = self.seq;
        self.seq += 1;
        let bound = self.bound.expect("bounded mode has a bound");
        let keys = self.keys.clone();
        let heap = self.heap.as_mut().expect("bounded mode");
        let entry = Bounded { row, seq, keys };
        if heap.len() < bound {
            self.batch_bytes += row_bytes(&entry.row);
            heap.push(entry);
        } else if heap.peek().is_some_and(|top| entry < *top) {
            let old = heap.pop().expect("peeked");
            self.batch_bytes = self.batch_bytes + row_bytes(&entry.row) - row_bytes(&old.row);
            heap.push(entry);
        }
        self.peak = self.peak.max(self.batch_bytes);
    }

    /// The session's `work_mem`, `temp_file_limit` and `log_temp_files`.
    pub fn for_session(keys: Vec<SortKey>, cx: &mut EvalContext) -> Tuplesort {
        let temp = super::tuplestore::Tuplestore::session_temp_settings(cx);
        Tuplesort::new(keys, cx.server.settings().get_int("work_mem"), temp)
    }

    pub fn put(&mut self, row: Row) -> PgResult<()> {
        debug_assert!(matches!(self.state, State::Loading));
        if self.heap.is_some() {
            self.heap_put(row);
            return Ok(());
        }
        self.seq += 1;
        self.batch_bytes += row_bytes(&row);
        self.batch.push(row);
        self.peak = self.peak.max(self.batch_bytes);
        if let Some(b) = self.bound
            && self.runs.is_empty()
            && self.batch.len() > b.saturating_mul(2)
        {
            // Into bounded mode: the batch's `b` smallest rows, in order.
            let keys = self.keys.clone();
            let mut rows = std::mem::take(&mut self.batch);
            rows.sort_by(|a, b| compare(&keys, a, b));
            rows.truncate(b);
            self.batch_bytes = rows.iter().map(|r| row_bytes(r)).sum();
            self.heap = Some(
                rows.into_iter()
                    .enumerate()
                    .map(|(i, row)| Bounded {
                        row,
                        seq: i as u64,
                        keys: keys.clone(),
                    })
                    .collect(),
            );
            return Ok(());
        }
        if self.batch_bytes > self.work_mem {
            self.dump_run()?;
        }
        Ok(())
    }

    /// Sorts the batch and appends it to the file as a run.
    fn dump_run(&mut self) -> PgResult<()> {
        let keys = self.keys.clone();
        self.batch.sort_by(|a, b| compare(&keys, a, b));
        if self.file.is_none() {
            self.file = Some(TempFile::create(self.temp)?);
        }
        let file = self.file.as_mut().expect("created above");
        let start = file.size();
        let mut buf = Vec::new();
        for r in self.batch.drain(..) {
            write_row(file, &r, &mut buf)?;
        }
        let end = file.size();
        self.spilled += end - start;
        self.runs.push(Run { start, end });
        self.batch_bytes = 0;
        Ok(())
    }

    /// Ends the input: sorts in memory, or writes the last run and merges
    /// until one pass can deliver the rows.
    pub fn perform(&mut self, cx: &mut EvalContext) -> PgResult<SortMethod> {
        if let Some(heap) = self.heap.take() {
            let rows: Vec<Row> = heap.into_sorted_vec().into_iter().map(|b| b.row).collect();
            self.state = State::Memory(rows.into_iter());
            return Ok(SortMethod::TopN { memory: self.peak });
        }
        if self.runs.is_empty() {
            let keys = self.keys.clone();
            let mut rows = std::mem::take(&mut self.batch);
            rows.sort_by(|a, b| compare(&keys, a, b));
            self.state = State::Memory(rows.into_iter());
            return Ok(SortMethod::Quicksort { memory: self.peak });
        }
        if !self.batch.is_empty() {
            self.dump_run()?;
        }
        let fan_in = (self.work_mem / READ_BUFFER).max(6);
        let mut file = self.file.take().expect("runs were written");
        file.flush()?;
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > fan_in {
            let mut out = TempFile::create(self.temp)?;
            let mut next = Vec::new();
            for group in runs.chunks(fan_in) {
                let start = out.size();
                let mut m = Merge::new(Rc::new(file), group, self.keys.clone())?;
                let mut buf = Vec::new();
                let mut n = 0u64;
                while let Some(r) = m.next_row()? {
                    n += 1;
                    if n % 1024 == 0 {
                        cx.server.check_for_interrupts()?;
                    }
                    write_row(&mut out, &r, &mut buf)?;
                }
                file = Rc::try_unwrap(m.file)
                    .ok()
                    .expect("the merge is done with the file");
                next.push(Run {
                    start,
                    end: out.size(),
                });
            }
            out.flush()?;
            // The previous pass's file is deleted here.
            file = out;
            runs = next;
        }
        self.state = State::Merge(Merge::new(Rc::new(file), &runs, self.keys.clone())?);
        Ok(SortMethod::ExternalMerge { disk: self.spilled })
    }

    pub fn next(&mut self) -> PgResult<Option<Row>> {
        match &mut self.state {
            State::Loading => unreachable!("rows are read after perform"),
            State::Memory(rows) => Ok(rows.next()),
            State::Merge(m) => m.next_row(),
        }
    }
}

/// Appends `row` to `file` as its length and its encoding (`buf` is
/// scratch space).
pub(super) fn write_row(
    file: &mut TempFile,
    row: &[crate::sql::types::Datum],
    buf: &mut Vec<u8>,
) -> PgResult<()> {
    buf.clear();
    encode_row(row, buf);
    file.write(&(buf.len() as u32).to_le_bytes())?;
    file.write(buf)
}

/// Reads the rows [`write_row`] wrote between two offsets of a file,
/// through a buffer.
pub(super) struct RunReader {
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
}

impl RunReader {
    pub(super) fn new(start: u64, end: u64) -> RunReader {
        RunReader {
            pos: start,
            end,
            buf: Vec::new(),
            at: 0,
        }
    }

    /// Lets the reader go on to `end` (the file has grown).
    pub(super) fn extend_to(&mut self, end: u64) {
        self.end = self.end.max(end);
    }

    /// Makes `n` bytes available at `buf[at..]`; false at the run's end.
    fn fill(&mut self, file: &TempFile, n: usize) -> PgResult<bool> {
        if self.buf.len() - self.at >= n {
            return Ok(true);
        }
        self.buf.drain(..self.at);
        self.at = 0;
        let want = (n - self.buf.len()).max(READ_BUFFER) as u64;
        let want = want.min(self.end - self.pos) as usize;
        if want == 0 {
            return Ok(self.buf.len() >= n);
        }
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let got = file.read_at(self.pos, &mut self.buf[old..])?;
        self.buf.truncate(old + got);
        self.pos += got as u64;
        Ok(self.buf.len() >= n)
    }

    pub(super) fn next_row(&mut self, file: &TempFile) -> PgResult<Option<Row>> {
        if !self.fill(file, 4)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes(self.buf[self.at..self.at + 4].try_into().expect("4 bytes"))
            as usize;
        self.at += 4;
        if !self.fill(file, len)? {
            return Err(crate::utils::elog::PgError::error(
                crate::utils::elog::sqlstate::INTERNAL_ERROR,
                "unexpected end of data in a temporary file",
            ));
        }
        let row = Decoder::new(&self.buf[self.at..self.at + len]).row()?;
        self.at += len;
        Ok(Some(row))
    }
}

/// A row at the head of run `run`, ordered for a min-heap (ties: the
/// earlier run first).
struct Head {
    row: Row,
    run: usize,
    keys: Rc<Vec<SortKey>>,
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        compare(&self.keys, &self.row, &other.row)
            .then(self.run.cmp(&other.run))
            .reverse()
    }
}

/// A k-way merge of runs of one file.
struct Merge {
    file: Rc<TempFile>,
    readers: Vec<RunReader>,
    heap: BinaryHeap<Head>,
}

impl Merge {
    fn new(file: Rc<TempFile>, runs: &[Run], keys: Rc<Vec<SortKey>>) -> PgResult<Merge> {
        let mut readers: Vec<RunReader> = runs
            .iter()
            .map(|r| RunReader::new(r.start, r.end))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, rd) in readers.iter_mut().enumerate() {
            if let Some(row) = rd.next_row(&file)? {
                heap.push(Head {
                    row,
                    run: i,
                    keys: keys.clone(),
                });
            }
        }
        Ok(Merge {
            file,
            readers,
            heap,
        })
    }

    fn next_row(&mut self) -> PgResult<Option<Row>> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(row) = self.readers[head.run].next_row(&self.file)? {
            self.heap.push(Head {
                row,
                run: head.run,
                keys: head.keys.clone(),
            });
        }
        Ok(Some(head.row))
    }
}
