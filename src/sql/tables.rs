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

pub use crate::catalog::pg_sequence::SeqForm;
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

/// A change to the catalogs of user-defined types ([`TableContext::alter_types`]).
#[derive(Clone, Debug, PartialEq)]
pub enum TypeChange {
    CreateEnum {
        namespace: u32,
        name: String,
        array_name: String,
        labels: Vec<String>,
    },
    Drop {
        type_oid: u32,
        array_oid: u32,
    },
    AddLabel {
        type_oid: u32,
        label: String,
        sortorder: f32,
    },
    RenameLabel {
        label_oid: u32,
        new: String,
    },
}

/// A change to a table's CHECK constraints ([`TableContext::alter_constraints`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ConstraintChange {
    /// New constraints, named and checked against the table already.
    Add(Vec<crate::catalog::pg_constraint::NewCheck>),
    Drop(String),
    /// `VALIDATE CONSTRAINT`: the rows have been checked.
    Validate(String),
}

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
    /// CREATE SEQUENCE (and the sequence of a SERIAL or identity column):
    /// the relation, its `pg_sequence` row, its first page and, with
    /// `owned_by` (table oid, attnum, `b'a'`, or `b'i'` for identity), its
    /// `pg_depend` row. Ok(false) when it exists and `if_not_exists` (the
    /// backend sends the NOTICE).
    fn create_sequence(
        &mut self,
        _schema: Option<&str>,
        _name: &str,
        _form: SeqForm,
        _owned_by: Option<(u32, i16, u8)>,
        _if_not_exists: bool,
    ) -> PgResult<bool> {
        Err(no_tables())
    }
    /// ALTER SEQUENCE: the new `pg_sequence` row, `RESTART` (the page),
    /// and a new owner (`Some(None)` is `OWNED BY NONE`).
    fn alter_sequence(
        &mut self,
        _seq: &TableDef,
        _form: SeqForm,
        _restart: Option<i64>,
        _owned_by: Option<Option<(u32, i16)>>,
    ) -> PgResult<()> {
        Err(no_tables())
    }
    /// The `pg_sequence` row of relation `seq_oid`, None if it is not a sequence.
    fn sequence_form(&mut self, _seq_oid: u32) -> PgResult<Option<SeqForm>> {
        Err(no_tables())
    }
    /// The relation with this `pg_class` oid.
    fn lookup_relation(&mut self, _rel_oid: u32) -> PgResult<Option<Arc<TableDef>>> {
        Ok(None)
    }
    /// The sequences the table's columns own (SERIAL, `OWNED BY`: deptype
    /// `b'a'`; identity: `b'i'`), as (oid, attnum, deptype).
    fn owned_sequences(&mut self, _table_oid: u32) -> PgResult<Vec<(u32, i32, u8)>> {
        Ok(Vec::new())
    }
    /// TRUNCATE: each table gets a new, empty file in this transaction
    /// (the old one is removed at commit, the new one at abort), and with
    /// `restart_identity` its owned sequences restart.
    fn truncate(&mut self, _tables: &[Arc<TableDef>], _restart_identity: bool) -> PgResult<()> {
        Err(no_tables())
    }
    /// The column owning sequence `seq_oid`: (table oid, attnum, deptype).
    fn sequence_owner(&mut self, _seq_oid: u32) -> PgResult<Option<(u32, i32, u8)>> {
        Ok(None)
    }
    /// `nextval(regclass)`.
    fn nextval(&mut self, _seq_oid: u32) -> PgResult<i64> {
        Err(no_tables())
    }
    /// `currval(regclass)`: this session's last `nextval` of it (55000 before one).
    fn currval(&mut self, _seq_oid: u32) -> PgResult<i64> {
        Err(no_tables())
    }
    /// `lastval()`: this session's last `nextval` of any sequence.
    fn lastval(&mut self) -> PgResult<i64> {
        Err(no_tables())
    }
    /// `setval(regclass, bigint[, bool])`.
    fn setval(&mut self, _seq_oid: u32, _value: i64, _is_called: bool) -> PgResult<i64> {
        Err(no_tables())
    }
    /// The page's `(last_value, log_cnt, is_called)` (`pg_sequence_last_value`).
    fn sequence_state(&mut self, _seq_oid: u32) -> PgResult<Option<(i64, i64, bool)>> {
        Ok(None)
    }
    /// `DISCARD SEQUENCES`: forgets this session's cached values and
    /// `currval`/`lastval` state.
    fn discard_sequences(&mut self) {}
    /// Writes the catalog rows of a change to a user-defined type
    /// (`sql/typecmds.rs` has checked it against the statement's catalog
    /// view). `CreateEnum` answers 42710 if a concurrent creator of the
    /// name committed first.
    fn alter_types(&mut self, _change: TypeChange) -> PgResult<()> {
        Err(no_tables())
    }
    /// `setTargetTable`'s lock: takes `table`'s RowExclusiveLock (held to
    /// the end of the transaction) before INSERT, UPDATE or DELETE is
    /// analysed further, and returns the table as the catalogs have it once
    /// the lock is held (None if it was dropped while we waited), so a
    /// concurrent ALTER TABLE that committed meanwhile (a new CHECK
    /// constraint) applies to the statement. In READ COMMITTED the
    /// statement's snapshot is taken again after the lock, as PostgreSQL
    /// takes it after parse analysis.
    fn lock_for_write(&mut self, table: &Arc<TableDef>) -> PgResult<Option<Arc<TableDef>>> {
        Ok(Some(table.clone()))
    }
    /// Takes `table`'s AccessExclusiveLock (ALTER TABLE's, held to the end
    /// of the transaction) and returns the table as the catalogs have it
    /// then (None if it was dropped meanwhile).
    fn lock_for_alter(&mut self, _table: &TableDef) -> PgResult<Option<Arc<TableDef>>> {
        Err(no_tables())
    }
    /// Writes a change to the CHECK constraints of `table` (locked by
    /// `lock_for_alter`); returns how many constraints it touched (0: no
    /// constraint of that name).
    fn alter_constraints(
        &mut self,
        _table: &TableDef,
        _change: ConstraintChange,
    ) -> PgResult<usize> {
        Err(no_tables())
    }
    /// The names of the constraints in schema `namespace`, or of `table`'s.
    fn constraint_names(&mut self, _namespace: u32, _table: Option<u32>) -> PgResult<Vec<String>> {
        Ok(Vec::new())
    }
    /// `DefineIndex` for `table`: takes ShareLock on it (a caller that
    /// altered it holds AccessExclusiveLock already), writes the index's
    /// catalog rows, creates and fills its file; 23505 if a unique index
    /// meets duplicates. Returns the index's oid. The caller checked the
    /// name and the columns.
    fn create_index(
        &mut self,
        _table: &TableDef,
        _index: &crate::catalog::index::NewIndex,
    ) -> PgResult<u32> {
        Err(no_tables())
    }
    /// The table of index `index_oid`, current (after the table's
    /// AccessExclusiveLock, which this takes).
    fn lock_index_table(&mut self, _index_oid: u32) -> PgResult<Option<Arc<TableDef>>> {
        Err(no_tables())
    }
    /// Drops index `index_oid` of `table` (locked by the caller), with the
    /// PRIMARY KEY / UNIQUE constraint it backs.
    fn drop_index(&mut self, _table: &TableDef, _index_oid: u32) -> PgResult<()> {
        Err(no_tables())
    }
    /// The constraint (oid, name, contype) index `index_oid` backs.
    fn index_constraint(&mut self, _index_oid: u32) -> PgResult<Option<(u32, String, u8)>> {
        Ok(None)
    }
    /// `bt_index_check`: the number of entries, or XX002.
    fn check_index(&mut self, _index_oid: u32) -> PgResult<u64> {
        Err(no_tables())
    }
    /// Marks columns NOT NULL (a PRIMARY KEY on an existing table) after
    /// checking that no row has a NULL there (23502).
    fn set_not_null(&mut self, _table: &TableDef, _attnums: &[i16]) -> PgResult<()> {
        Err(no_tables())
    }
    /// The columns (table, column) whose type is one of `type_oids`.
    fn columns_of_types(&mut self, _type_oids: &[u32]) -> PgResult<Vec<(String, String)>> {
        Ok(Vec::new())
    }
    /// Starts a scan of the visible rows; `lock` is FOR SHARE / FOR UPDATE.
    fn open_scan(&mut self, _table: &Arc<TableDef>) -> PgResult<ScanId> {
        Err(no_tables())
    }
    /// Starts a scan of the visible rows whose index entries (index
    /// `index_oid` of `table`) have a first key column within `lower` ..
    /// `upper` (each value of the column's type, and whether it is
    /// included; None: unbounded), in index order. Rows come out of
    /// `scan_next` as from `open_scan`.
    fn open_index_scan(
        &mut self,
        _table: &Arc<TableDef>,
        _index_oid: u32,
        _lower: Option<(Datum, bool)>,
        _upper: Option<(Datum, bool)>,
    ) -> PgResult<ScanId> {
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
    /// Inserts several rows of one statement (COPY's batches, PostgreSQL's
    /// `CopyMultiInsertBuffer`): the table lock, the relation descriptor
    /// and the statistics are taken once per batch. `frozen` (COPY
    /// FREEZE) stores them frozen, visible to every snapshot at once
    /// (PostgreSQL's `HEAP_INSERT_FROZEN`), only for a table
    /// [`TableContext::created_in_subtransaction`]. A failure says which
    /// row (0-based) it was about, so COPY names that row's line.
    fn insert_rows(
        &mut self,
        _table: &TableDef,
        _rows: Vec<Vec<Datum>>,
        _frozen: bool,
    ) -> Result<(), (usize, crate::utils::elog::PgError)> {
        Err((0, no_tables()))
    }
    /// Whether the table's file was created (CREATE TABLE, TRUNCATE) by
    /// the current subtransaction, so that no other transaction can see
    /// its rows before this one commits and none survive if it aborts:
    /// COPY FREEZE's condition.
    fn created_in_subtransaction(&self, _table: &TableDef) -> bool {
        false
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
    /// `pg_switch_wal()`: ends the current WAL segment; returns the LSN just
    /// past the switch record (superuser only, as PostgreSQL's default grants).
    fn switch_wal(&mut self) -> PgResult<u64> {
        Err(no_tables())
    }
    /// `pg_backup_start(label, fast)`: returns the backup's start LSN.
    fn backup_start(&mut self, _label: &str, _fast: bool) -> PgResult<u64> {
        Err(no_tables())
    }
    /// `pg_backup_stop(wait_for_archive)`: (stop LSN, backup_label
    /// contents, tablespace_map contents).
    fn backup_stop(&mut self, _wait_for_archive: bool) -> PgResult<(u64, String, String)> {
        Err(no_tables())
    }
    /// The statistics functions: `what` is `reset` (pg_stat_reset(), the
    /// current database), `reset_shared` with `target` (pg_stat_reset_shared:
    /// bgwriter, archiver, wal, io), `reset_single_table` with `rel`
    /// (pg_stat_reset_single_table_counters), or `clear_snapshot`
    /// (pg_stat_clear_snapshot()).
    fn stats_reset(
        &mut self,
        _what: &str,
        _target: Option<&str>,
        _rel: Option<u32>,
    ) -> PgResult<()> {
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
    /// `CommandCounterIncrement`: the statement's next command sees the
    /// rows (catalog rows included) its earlier commands wrote.
    fn command_counter_increment(&mut self) -> PgResult<()> {
        Ok(())
    }
    /// Whether the transaction has taken its first snapshot: from then on
    /// `SET TRANSACTION ISOLATION LEVEL` is refused (25001).
    fn snapshot_taken(&self) -> bool {
        false
    }
    /// VACUUM / ANALYZE (the SQL layer already refused VACUUM inside a
    /// transaction block with 25001). VERBOSE output goes out as INFO
    /// notices from the backend.
    fn vacuum(&mut self, _request: &VacuumRequest) -> PgResult<()> {
        Err(no_tables())
    }
    /// `pg_relation_size` and friends, in bytes; None when the relation
    /// does not exist (the functions then return NULL, as PostgreSQL's do
    /// for a dropped oid).
    fn relation_size(&mut self, _rel: &RelationRef, _what: RelationSize) -> PgResult<Option<i64>> {
        Err(no_tables())
    }
    /// `ALTER TABLE ... SET (name = value, ...)` / `RESET (name, ...)`:
    /// `set` pairs (value None for a bare name, meaning true) and `reset` names.
    fn alter_reloptions(
        &mut self,
        _schema: Option<&str>,
        _name: &str,
        _set: &[(String, Option<String>)],
        _reset: &[String],
    ) -> PgResult<()> {
        Err(no_tables())
    }
    /// The xid `age()` measures from: this transaction's xid if it has
    /// one, else the next xid to be assigned (PostgreSQL's
    /// `GetStableLatestTransactionId`).
    fn age_reference_xid(&mut self) -> PgResult<i64> {
        Err(no_tables())
    }
}

/// VACUUM or ANALYZE, options and targets (PostgreSQL's `VacuumParams`
/// plus the relation list). No tables: every table of the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VacuumRequest {
    /// VACUUM (false: ANALYZE only).
    pub vacuum: bool,
    pub analyze: bool,
    pub full: bool,
    pub freeze: bool,
    pub verbose: bool,
    /// Cut empty pages off the end (`TRUNCATE` option, default true).
    pub truncate: bool,
    pub skip_locked: bool,
    /// (schema, name) of each table named.
    pub tables: Vec<(Option<String>, String)>,
}

/// A relation named by a size function's argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelationRef {
    Name(Option<String>, String),
    Oid(u32),
}

/// Which size `relation_size` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationSize {
    /// One fork: `main`, `fsm`, `vm` or `init` (`pg_relation_size(rel, fork)`).
    Fork(crate::storage::types::ForkNumber),
    /// Every fork (`pg_table_size`; no TOAST here).
    Table,
    /// Every fork of every index (`pg_indexes_size`).
    Indexes,
    /// Every fork plus indexes (`pg_total_relation_size`; no TOAST here).
    Total,
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
