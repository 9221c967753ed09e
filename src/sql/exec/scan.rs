//! Scans of tables on disk and of set-returning functions.
//!
//! [`TableScan`] pulls rows from the backend (`open_scan`/`scan_next`, one
//! row at a time, like `SeqNext`); a scan the executor abandons early (under
//! a LIMIT, or after an error) is closed when the statement's
//! [`EvalContext`] is dropped. [`LockingScan`] is the scan of
//! `SELECT ... FOR UPDATE/SHARE` (PostgreSQL's LockRows over the scan): it
//! tests the WHERE clause, locks each matching row, and when a concurrent
//! transaction moved the row re-tests the newest version (EvalPlanQual),
//! returning it instead when it still matches and skipping it otherwise.
//! Set-returning functions have their own module (`srf.rs`).

use std::sync::Arc;

use super::super::expr::Expr;
use super::super::tables::{RowChange, RowId, RowLockMode, ScanId, TableDef};
use super::{EvalContext, ExecNode, Row, eval_qual};
use crate::utils::elog::PgResult;

/// Opens a scan of `table` and remembers it until it ends.
pub(crate) fn open(cx: &mut EvalContext, table: &TableDef) -> PgResult<ScanId> {
    let id = cx.server.open_scan(table)?;
    cx.open_scans.push(id);
    Ok(id)
}

/// The next visible row of an open scan (None at the end, when the backend closed it).
pub(crate) fn next(cx: &mut EvalContext, scan: ScanId) -> PgResult<Option<(RowId, Row)>> {
    cx.server.check_for_interrupts()?;
    let r = cx.server.scan_next(scan)?;
    if r.is_none() {
        cx.open_scans.retain(|s| *s != scan);
    }
    Ok(r)
}

/// A plain scan: the rows without their ids.
pub(super) struct TableScan(pub TableScanWithIds);

impl ExecNode for TableScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        Ok(self.0.next(cx)?.map(|(_, row)| row))
    }
}

pub(super) struct LockingScan {
    pub inner: TableScanWithIds,
    pub mode: RowLockMode,
    pub qual: Option<Expr>,
}

/// A table scan that keeps each row's id.
pub(super) struct TableScanWithIds {
    pub table: Arc<TableDef>,
    pub scan: Option<ScanId>,
    pub done: bool,
}

impl TableScanWithIds {
    pub fn new(table: Arc<TableDef>) -> TableScanWithIds {
        TableScanWithIds {
            table,
            scan: None,
            done: false,
        }
    }

    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<(RowId, Row)>> {
        if self.done {
            return Ok(None);
        }
        let scan = match self.scan {
            Some(s) => s,
            None => {
                let s = open(cx, &self.table)?;
                self.scan = Some(s);
                s
            }
        };
        let r = next(cx, scan)?;
        if r.is_none() {
            self.done = true;
        }
        Ok(r)
    }
}

impl ExecNode for LockingScan {
    fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<Row>> {
        'rows: while let Some((mut row_id, mut row)) = self.inner.next(cx)? {
            if let Some(q) = &self.qual
                && !eval_qual(q, &row, cx)?
            {
                continue;
            }
            // Bounded by the number of concurrent updates to this row.
            loop {
                let table = self.inner.table.clone();
                match cx.server.lock_row(&table, row_id, self.mode)? {
                    RowChange::Done => return Ok(Some(row)),
                    RowChange::Gone => continue 'rows,
                    RowChange::Moved {
                        row_id: newer,
                        row: newest,
                    } => {
                        if let Some(q) = &self.qual
                            && !eval_qual(q, &newest, cx)?
                        {
                            continue 'rows;
                        }
                        row_id = newer;
                        row = newest;
                    }
                }
            }
        }
        Ok(None)
    }
}
