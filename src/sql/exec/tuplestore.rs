//! A store of rows within `work_mem` (PostgreSQL's `tuplestore.c`): the
//! shared rows of a materialised WITH query and a recursive query's work
//! table.
//!
//! Rows are appended in memory; when they take more than `work_mem` they
//! are all written to the end of a temporary file and memory starts
//! empty again, so the store is a file prefix of rows `0..spilled` and
//! the rest in memory. Readers ([`ReadPtr`]) go through the rows in order,
//! each at its own pace, while rows are still being added (a CTE is
//! computed as its first reader needs it): a reader in the file part
//! reads through its own buffer, and one that was in memory when its rows
//! moved to the file skips to its position there.

use super::tuplesort::{RunReader, write_row};
use super::{EvalContext, Row, row_bytes};
use crate::storage::file::temp::{TempFile, TempFileSettings};
use crate::utils::elog::PgResult;

pub struct Tuplestore {
    work_mem: usize,
    temp: TempFileSettings,
    file: Option<TempFile>,
    /// Rows in the file.
    spilled: usize,
    mem: Vec<Row>,
    mem_bytes: usize,
}

/// A reader's place: the next row's position, and its file reader.
#[derive(Default)]
pub struct ReadPtr {
    pub pos: usize,
    reader: Option<RunReader>,
    /// File rows that reader has passed.
    file_rows: usize,
}

impl Tuplestore {
    pub fn new(work_mem_kb: i64, temp: TempFileSettings) -> Tuplestore {
        Tuplestore {
            work_mem: (work_mem_kb.max(64) as usize).saturating_mul(1024),
            temp,
            file: None,
            spilled: 0,
            mem: Vec::new(),
            mem_bytes: 0,
        }
    }

    /// A store within the session's `work_mem`.
    pub fn for_session(cx: &mut EvalContext) -> Tuplestore {
        let temp = Tuplestore::session_temp_settings(cx);
        Tuplestore::new(cx.server.settings().get_int("work_mem"), temp)
    }

    /// The session's `temp_file_limit` and `log_temp_files`.
    pub fn session_temp_settings(cx: &mut EvalContext) -> TempFileSettings {
        let s = cx.server.settings();
        TempFileSettings {
            limit_kb: s.get_int("temp_file_limit"),
            log_min_kb: s.get_int("log_temp_files"),
        }
    }

    pub fn len(&self) -> usize {
        self.spilled + self.mem.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn put(&mut self, row: Row) -> PgResult<()> {
        self.mem_bytes += row_bytes(&row);
        self.mem.push(row);
        if self.mem_bytes > self.work_mem {
            if self.file.is_none() {
                self.file = Some(TempFile::create(self.temp)?);
            }
            let file = self.file.as_mut().expect("created above");
            let mut buf = Vec::new();
            for r in &self.mem {
                write_row(file, r, &mut buf)?;
            }
            file.flush()?;
            self.spilled += self.mem.len();
            self.mem.clear();
            self.mem_bytes = 0;
        }
        Ok(())
    }

    /// The row at `ptr`, moving it on; None past the last row so far.
    pub fn read(&self, ptr: &mut ReadPtr) -> PgResult<Option<Row>> {
        if ptr.pos >= self.len() {
            return Ok(None);
        }
        if ptr.pos >= self.spilled {
            let r = self.mem[ptr.pos - self.spilled].clone();
            ptr.pos += 1;
            return Ok(Some(r));
        }
        let file = self.file.as_ref().expect("rows were spilled");
        let reader = ptr.reader.get_or_insert_with(|| RunReader::new(0, 0));
        reader.extend_to(file.size());
        while ptr.file_rows < ptr.pos {
            reader.next_row(file)?;
            ptr.file_rows += 1;
        }
        let r = reader.next_row(file)?;
        ptr.file_rows += 1;
        ptr.pos += 1;
        Ok(r)
    }
}
