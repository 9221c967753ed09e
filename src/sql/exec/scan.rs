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
use super::super::plan::indxpath::IndexPath;
use super::super::tables::{RowChange, RowId, RowLockMode, ScanId, TableDef};
use super::super::types::{Datum, Type};
use super::{EvalContext, ExecNode, Row, eval, eval_qual};
use crate::utils::elog::PgResult;

/// Opens a scan of `table` and remembers it until it ends.
pub(crate) fn open(cx: &mut EvalContext, table: &Arc<TableDef>) -> PgResult<ScanId> {
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

/// A table scan that keeps each row's id: sequential, or through an
/// index (`plan::indxpath`), whose conditions it then tests on each row.
pub(crate) struct TableScanWithIds {
    pub table: Arc<TableDef>,
    pub index: Option<IndexPath>,
    pub scan: Option<ScanId>,
    pub done: bool,
}

/// An index bound's value as the index column's type, when the value
/// can be one exactly (an integer in range, a string for a string
/// column); None widens the range (the conditions still decide).
fn bound_value(v: Datum, column: Type) -> Option<Datum> {
    use crate::sql::adt::as_i128;
    match column.oid() {
        21 => as_i128(&v)
            .and_then(|i| i16::try_from(i).ok())
            .map(Datum::Int2),
        23 => as_i128(&v)
            .and_then(|i| i32::try_from(i).ok())
            .map(Datum::Int4),
        20 => as_i128(&v)
            .and_then(|i| i64::try_from(i).ok())
            .map(Datum::Int8),
        25 | 1043 => match v {
            Datum::Text(t) => Some(Datum::Text(t)),
            _ => None,
        },
        _ => Some(v),
    }
}

impl TableScanWithIds {
    pub fn new(table: Arc<TableDef>) -> TableScanWithIds {
        TableScanWithIds {
            table,
            index: None,
            scan: None,
            done: false,
        }
    }

    pub fn with_index(table: Arc<TableDef>, index: IndexPath) -> TableScanWithIds {
        TableScanWithIds {
            table,
            index: Some(index),
            scan: None,
            done: false,
        }
    }

    /// Opens the index scan; None when a bound is NULL (no row can match).
    fn open_index(&self, cx: &mut EvalContext, path: &IndexPath) -> PgResult<Option<ScanId>> {
        let column = crate::sql::catalog::column_type(self.table.columns[path.column].type_oid);
        let mut bounds = [None, None];
        for (slot, b) in bounds.iter_mut().zip([&path.lower, &path.upper]) {
            if let Some((e, inclusive)) = b {
                let v = eval(e, &[], cx)?;
                if matches!(v, Datum::Null) {
                    return Ok(None);
                }
                *slot = bound_value(v, column).map(|v| (v, *inclusive));
            }
        }
        let [lower, upper] = bounds;
        let id = cx
            .server
            .open_index_scan(&self.table, path.index_oid, lower, upper)?;
        cx.open_scans.push(id);
        Ok(Some(id))
    }

    pub(crate) fn next(&mut self, cx: &mut EvalContext) -> PgResult<Option<(RowId, Row)>> {
        if self.done {
            return Ok(None);
        }
        let scan = match self.scan {
            Some(s) => s,
            None => {
                let s = match self.index.take() {
                    Some(path) => {
                        let s = self.open_index(cx, &path);
                        self.index = Some(path);
                        match s? {
                            Some(s) => s,
                            None => {
                                self.done = true;
                                return Ok(None);
                            }
                        }
                    }
                    None => open(cx, &self.table)?,
                };
                self.scan = Some(s);
                s
            }
        };
        loop {
            let r = next(cx, scan)?;
            let Some((id, row)) = r else {
                self.done = true;
                return Ok(None);
            };
            if let Some(path) = &self.index {
                let mut ok = true;
                for c in &path.conds {
                    if !eval_qual(c, &row, cx)? {
                        ok = false;
                        break;
                    }
                }
                if !ok {
                    continue;
                }
            }
            return Ok(Some((id, row)));
        }
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
