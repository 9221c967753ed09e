//! CONTRACT between the executor and the storage side of the backend for
//! tables on disk (the lead wrote this; the backend implements it).
//!
//! The executor analyses and plans against [`TableDef`]s from
//! `lookup_table`, reads rows through `open_scan`/`scan_next` (each visible
//! row with its [`RowId`]), and writes through `insert_row`/`update_row`/
//! `delete_row`/`lock_row`. Visibility, snapshots, row and table locks,
//! waiting for concurrent writers and WAL are the backend's business.
//!
//! Concurrent writers (PostgreSQL's EvalPlanQual, in our terms): when
//! `update_row`/`delete_row`/`lock_row` returns [`RowChange::Moved`], a
//! concurrent transaction committed a newer version of the row. Under READ
//! COMMITTED the executor re-evaluates the statement's WHERE clause on the
//! new version and, if it still matches, recomputes the new values and
//! calls again with the new `RowId`; [`RowChange::Gone`] means the row was
//! deleted concurrently: skip it. Under REPEATABLE READ the backend raises
//! 40001 itself and the executor never sees `Moved`.
//!
//! Values: one [`Datum`] per column, in table order, already coerced to the
//! column's type (the executor applies DEFAULT, NOT NULL (23502) and typmod
//! checks such as varchar(n) 22001 and numeric(p,s) rounding before the call).

use std::sync::Arc;

pub use crate::catalog::{ColumnDef, TableDef};
use crate::sql::types::Datum;
use crate::utils::elog::PgResult;

/// Where a row version lives (its ctid).
pub type RowId = crate::storage::page::ItemPointer;

#[derive(Clone, Debug, PartialEq)]
pub enum RowChange {
    Done,
    /// Deleted by a concurrent committed transaction: skip the row.
    Gone,
    /// Updated by a concurrent committed transaction: its newest version.
    Moved {
        row_id: RowId,
        row: Vec<Datum>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLockMode {
    Share,
    Update,
}

/// A scan in progress (opaque to the executor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanId(pub u32);

/// The table side of the backend. Every method has a default that reports
/// 0A000, so contexts without storage (unit tests) need not implement it.
pub trait TableContext {
    fn lookup_table(
        &mut self,
        _schema: Option<&str>,
        _name: &str,
    ) -> PgResult<Option<Arc<TableDef>>> {
        Ok(None)
    }
    /// CREATE TABLE. Ok(false) when it exists and `if_not_exists` (the
    /// backend sends PostgreSQL's NOTICE `relation "t" already exists, skipping`).
    fn create_table(
        &mut self,
        _schema: Option<&str>,
        _name: &str,
        _columns: Vec<ColumnDef>,
        _if_not_exists: bool,
    ) -> PgResult<bool> {
        Err(no_tables())
    }
    /// DROP TABLE. Ok(false) when missing and `if_exists` (NOTICE `table "t" does not exist, skipping`).
    fn drop_table(
        &mut self,
        _schema: Option<&str>,
        _name: &str,
        _if_exists: bool,
    ) -> PgResult<bool> {
        Err(no_tables())
    }
    /// Starts a scan of the visible rows; `lock` is FOR SHARE / FOR UPDATE.
    fn open_scan(&mut self, _table: &TableDef) -> PgResult<ScanId> {
        Err(no_tables())
    }
    /// The next visible row, or None at the end (the scan is then closed).
    fn scan_next(&mut self, _scan: ScanId) -> PgResult<Option<(RowId, Vec<Datum>)>> {
        Err(no_tables())
    }
    fn close_scan(&mut self, _scan: ScanId) {}
    fn insert_row(&mut self, _table: &TableDef, _row: Vec<Datum>) -> PgResult<RowId> {
        Err(no_tables())
    }
    fn update_row(
        &mut self,
        _table: &TableDef,
        _row_id: RowId,
        _row: Vec<Datum>,
    ) -> PgResult<RowChange> {
        Err(no_tables())
    }
    fn delete_row(&mut self, _table: &TableDef, _row_id: RowId) -> PgResult<RowChange> {
        Err(no_tables())
    }
    fn lock_row(
        &mut self,
        _table: &TableDef,
        _row_id: RowId,
        _mode: RowLockMode,
    ) -> PgResult<RowChange> {
        Err(no_tables())
    }
    /// `txid_current()`: assigns an xid if the transaction has none.
    fn txid_current(&mut self) -> PgResult<i64> {
        Err(no_tables())
    }
    /// `pg_current_wal_lsn()` as PostgreSQL prints a pg_lsn (`0/16B3748`).
    fn current_wal_lsn(&mut self) -> PgResult<String> {
        Err(no_tables())
    }
    /// `CHECKPOINT` (superuser only: 42501 `must be superuser to do CHECKPOINT`).
    fn checkpoint(&mut self) -> PgResult<()> {
        Err(no_tables())
    }
    /// SAVEPOINT / RELEASE SAVEPOINT / ROLLBACK TO SAVEPOINT.
    fn savepoint(&mut self, _request: SavepointRequest, _name: &str) -> PgResult<()> {
        Err(no_tables())
    }
    /// Takes the statement's snapshot now if it has none (PostgreSQL takes
    /// one for every SELECT, INSERT, UPDATE, DELETE and most DDL, even one
    /// that reads no table, which fixes the transaction's isolation level).
    fn take_snapshot(&mut self) {}
    /// Whether the transaction has taken its first snapshot: from then on
    /// `SET TRANSACTION ISOLATION LEVEL` is refused (25001).
    fn snapshot_taken(&self) -> bool {
        false
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavepointRequest {
    Define,
    Release,
    RollbackTo,
}

fn no_tables() -> crate::utils::elog::PgError {
    crate::utils::elog::PgError::error(
        crate::utils::elog::sqlstate::FEATURE_NOT_SUPPORTED,
        "tables are not available in this context",
    )
}
