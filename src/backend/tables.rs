//! Tables as the executor sees them ([`TableContext`]), implemented over the
//! catalog, the heap access method and the session's transaction.
//!
//! Locks, as PostgreSQL takes them: scans take AccessShareLock on the
//! table, INSERT/UPDATE/DELETE RowExclusiveLock, SELECT FOR UPDATE/SHARE
//! RowShareLock, DROP TABLE AccessExclusiveLock — each held to the end of
//! the transaction. Row-level waits happen inside the heap access method.

use std::collections::VecDeque;
use std::sync::Arc;

use super::session::{Session, check_interrupts};
use crate::catalog::TableDef;
use crate::catalog::datum::{row_to_datums, row_to_heap};
use crate::sql::ServerContext;
use crate::sql::tables::{
    ColumnDef, ConstraintChange, RowChange, RowId, RowLockMode, SavepointRequest, ScanId,
    TableContext, TypeChange,
};
use crate::sql::types::Datum;
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{self, TmOutcome};
use crate::storage::lock::lmgr::{LockMode, LockResult, LockTag};
use crate::storage::xact::Transam;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// A scan's rows, read with the statement's snapshot when it opened.
pub(super) struct ScanState {
    table: Arc<TableDef>,
    rows: VecDeque<(RowId, Vec<HeapValue>)>,
}

impl Session {
    pub(super) fn lock_table(&mut self, table: &TableDef, mode: LockMode) -> PgResult<()> {
        let tag = LockTag::Relation {
            db: table.db_oid,
            rel: table.oid,
        };
        self.txn
            .state
            .locks
            .lock_acquire(tag, mode, false, &mut check_interrupts)?;
        Ok(())
    }

    /// One change to an existing row (UPDATE, DELETE, FOR UPDATE/SHARE): the
    /// table lock, the transaction's write context with REPEATABLE READ's
    /// cross-check, then the newest version if a concurrent update won.
    fn change_row(
        &mut self,
        table: &TableDef,
        lock: LockMode,
        op: impl FnOnce(&access::HeapRelation, &mut access::WriteContext<'_>) -> PgResult<TmOutcome>,
    ) -> PgResult<RowChange> {
        self.lock_table(table, lock)?;
        let transam = Transam::get();
        let crosscheck = self.txn.crosscheck_snapshot();
        let mut interrupts = check_interrupts;
        let outcome = {
            let mut cx = self
                .txn
                .write_context(&transam, crosscheck.as_ref(), &mut interrupts)?;
            op(&table.heap_relation(), &mut cx)?
        };
        self.follow(table, outcome)
    }

    /// Follows a concurrent update to the newest version (EvalPlanQual's fetch).
    fn follow(&mut self, table: &TableDef, outcome: TmOutcome) -> PgResult<RowChange> {
        match outcome {
            TmOutcome::Ok => Ok(RowChange::Done),
            TmOutcome::SelfModified | TmOutcome::Deleted => Ok(RowChange::Gone),
            TmOutcome::Updated { newer } => {
                let transam = Transam::get();
                match access::heap_fetch_latest(&table.heap_relation(), newer, &transam)? {
                    Some((row_id, values)) => Ok(RowChange::Moved {
                        row_id,
                        row: row_to_datums(table, values)?,
                    }),
                    None => Ok(RowChange::Gone),
                }
            }
        }
    }
}

impl Session {
    /// Whether a relation of this name exists: Ok(true) with the NOTICE
    /// `relation "x" already exists, skipping` under IF NOT EXISTS, 42P07
    /// without.
    fn relation_exists(
        &mut self,
        schema: Option<&str>,
        name: &str,
        if_not_exists: bool,
    ) -> PgResult<bool> {
        if self.lookup_table(schema, name)?.is_none() {
            return Ok(false);
        }
        if if_not_exists {
            self.notice(PgError::notice(format!(
                "relation \"{name}\" already exists, skipping"
            )));
            return Ok(true);
        }
        Err(PgError::error(
            sqlstate::DUPLICATE_TABLE,
            format!("relation \"{name}\" already exists"),
        ))
    }

    /// The schema a new relation goes into: the named one, or the first
    /// existing schema of the search path (3F000 when there is none).
    fn creation_schema(&mut self, schema: Option<&str>) -> PgResult<String> {
        if let Some(s) = schema {
            return Ok(s.to_string());
        }
        let user = self.current_user().to_string();
        let path = self.settings().search_path(&user);
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        self.txn
            .relcache
            .creation_schema(&path, &snapshot, &transam)?
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_SCHEMA_NAME,
                    "no schema has been selected to create in",
                )
            })
    }
}

impl TableContext for Session {
    fn lookup_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> PgResult<Option<Arc<TableDef>>> {
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        match schema {
            Some(_) => self.txn.relcache.lookup(schema, name, &snapshot, &transam),
            None => {
                let user = self.current_user().to_string();
                let path = self.settings().search_path(&user);
                self.txn
                    .relcache
                    .lookup_in_path(&path, name, &snapshot, &transam)
            }
        }
    }

    fn create_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        columns: Vec<ColumnDef>,
        if_not_exists: bool,
    ) -> PgResult<bool> {
        if self.relation_exists(schema, name, if_not_exists)? {
            return Ok(false);
        }
        let schema = self.creation_schema(schema)?;
        let def = self
            .txn
            .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                relcache.create_table(Some(&schema), name, columns, snapshot, cx)
            })?;
        self.txn.note_created(def.heap_relation());
        Ok(true)
    }

    fn drop_table(&mut self, schema: Option<&str>, name: &str, if_exists: bool) -> PgResult<bool> {
        let Some(def) = self.lookup_table(schema, name)? else {
            if if_exists {
                self.notice(PgError::notice(format!(
                    "table \"{name}\" does not exist, skipping"
                )));
                return Ok(false);
            }
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("table \"{name}\" does not exist"),
            ));
        };
        self.lock_table(&def, LockMode::AccessExclusive)?;
        // A table's owned sequences (SERIAL) go with it (their pg_depend
        // rows are of type 'a', auto).
        let mut doomed = vec![def.clone()];
        if def.relkind == 'r' {
            for (seq, _, _) in self.owned_sequences(def.oid)? {
                if let Some(s) = self.relation_by_oid(seq)? {
                    self.lock_table(&s, LockMode::AccessExclusive)?;
                    doomed.push(s);
                }
            }
        }
        let db = self.txn.relcache.db_oid();
        for d in doomed {
            for index in &d.indexes {
                self.drop_index_def(index, false)?;
            }
            self.txn
                .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                    if d.relkind == 'S' {
                        crate::catalog::pg_sequence::delete_sequence_rows(db, d.oid, snapshot, cx)?;
                    }
                    relcache.drop_table(&d, snapshot, cx)
                })?;
            self.txn.note_dropped(d.heap_relation());
        }
        Ok(true)
    }

    fn create_sequence(
        &mut self,
        schema: Option<&str>,
        name: &str,
        form: crate::sql::tables::SeqForm,
        owned_by: Option<(u32, i16, u8)>,
        if_not_exists: bool,
    ) -> PgResult<bool> {
        if self.relation_exists(schema, name, if_not_exists)? {
            return Ok(false);
        }
        let schema = self.creation_schema(schema)?;
        if let Some((table, _, _)) = owned_by
            && self
                .relation_by_oid(table)?
                .is_some_and(|t| t.namespace != schema)
        {
            return Err(PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "sequence must be in same schema as table it is linked to",
            ));
        }
        self.seq_create(&schema, name, form, owned_by)?;
        Ok(true)
    }

    fn alter_sequence(
        &mut self,
        seq: &TableDef,
        form: crate::sql::tables::SeqForm,
        restart: Option<i64>,
        owned_by: Option<Option<(u32, i16)>>,
    ) -> PgResult<()> {
        self.seq_alter(seq, form, restart, owned_by)
    }

    fn sequence_form(&mut self, seq_oid: u32) -> PgResult<Option<crate::sql::tables::SeqForm>> {
        self.seq_form(seq_oid)
    }

    fn lookup_relation(&mut self, rel_oid: u32) -> PgResult<Option<Arc<TableDef>>> {
        self.relation_by_oid(rel_oid)
    }

    fn lock_for_write(&mut self, table: &Arc<TableDef>) -> PgResult<Option<Arc<TableDef>>> {
        if table.namespace_oid == crate::catalog::defs::PG_CATALOG_NAMESPACE {
            // The catalogs' definitions are fixed; their writers lock as before.
            return Ok(Some(table.clone()));
        }
        // Usually granted at once: then nothing changed since the
        // statement's snapshot unless DDL committed meanwhile, and the
        // statement keeps both (no second snapshot on the hot path).
        let tag = LockTag::Relation {
            db: table.db_oid,
            rel: table.oid,
        };
        let waited = match self.txn.state.locks.lock_acquire(
            tag,
            LockMode::RowExclusive,
            true,
            &mut check_interrupts,
        )? {
            LockResult::NotAvailable => {
                self.lock_table(table, LockMode::RowExclusive)?;
                true
            }
            LockResult::Granted | LockResult::AlreadyHeld => false,
        };
        let changed = self.txn.relcache.invalidate_if_needed();
        if waited {
            self.txn.refresh_statement_snapshot();
        }
        if waited || changed {
            return self.relation_by_oid(table.oid);
        }
        Ok(Some(table.clone()))
    }

    fn lock_for_alter(&mut self, table: &TableDef) -> PgResult<Option<Arc<TableDef>>> {
        self.lock_table(table, LockMode::AccessExclusive)?;
        // A concurrent ALTER may have committed while we waited, and rows
        // the table's check must see.
        self.txn.relcache.invalidate_if_needed();
        self.txn.use_latest_snapshot();
        self.relation_by_oid(table.oid)
    }

    fn alter_constraints(&mut self, table: &TableDef, change: ConstraintChange) -> PgResult<usize> {
        use crate::catalog::pg_constraint;
        let db = self.txn.relcache.db_oid();
        let have = table.checks.len();
        self.txn
            .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                let (n, count) = match &change {
                    ConstraintChange::Add(checks) => {
                        for c in checks {
                            pg_constraint::insert_check(db, table, c, cx)?;
                        }
                        (checks.len(), have + checks.len())
                    }
                    ConstraintChange::Drop(name) | ConstraintChange::Validate(name) => {
                        let validate = matches!(change, ConstraintChange::Validate(_));
                        let n = pg_constraint::change_constraints(
                            db,
                            table.oid,
                            snapshot,
                            cx,
                            |c| c.name == *name,
                            validate,
                        )?;
                        (n, if validate { have } else { have - n.min(have) })
                    }
                };
                if count != have {
                    pg_constraint::set_relchecks(db, table, count, snapshot, cx)?;
                }
                relcache.invalidate();
                Ok(n)
            })
    }

    fn constraint_names(&mut self, namespace: u32, table: Option<u32>) -> PgResult<Vec<String>> {
        let snapshot = self.txn.snapshot();
        crate::catalog::pg_constraint::constraint_names(
            self.txn.relcache.db_oid(),
            namespace,
            table,
            &snapshot,
            &Transam::get(),
        )
    }

    fn owned_sequences(&mut self, table_oid: u32) -> PgResult<Vec<(u32, i32, u8)>> {
        let snapshot = self.txn.snapshot();
        crate::catalog::pg_sequence::owned_sequences(
            self.txn.relcache.db_oid(),
            table_oid,
            &snapshot,
            &Transam::get(),
        )
    }

    fn truncate(&mut self, tables: &[Arc<TableDef>], restart_identity: bool) -> PgResult<()> {
        self.truncate_tables(tables, restart_identity)
    }

    fn sequence_owner(&mut self, seq_oid: u32) -> PgResult<Option<(u32, i32, u8)>> {
        let snapshot = self.txn.snapshot();
        crate::catalog::pg_sequence::owner_of(
            self.txn.relcache.db_oid(),
            seq_oid,
            &snapshot,
            &Transam::get(),
        )
    }

    fn nextval(&mut self, seq_oid: u32) -> PgResult<i64> {
        self.seq_nextval(seq_oid)
    }

    fn currval(&mut self, seq_oid: u32) -> PgResult<i64> {
        self.seq_currval(seq_oid)
    }

    fn lastval(&mut self) -> PgResult<i64> {
        self.seq_lastval()
    }

    fn setval(&mut self, seq_oid: u32, value: i64, is_called: bool) -> PgResult<i64> {
        self.seq_setval(seq_oid, value, is_called)
    }

    fn sequence_state(&mut self, seq_oid: u32) -> PgResult<Option<(i64, i64, bool)>> {
        self.seq_state(seq_oid)
    }

    fn discard_sequences(&mut self) {
        self.seq_discard();
    }

    fn alter_types(&mut self, change: TypeChange) -> PgResult<()> {
        use crate::catalog::pg_enum;
        let owner = crate::catalog::syscache::role_oid(self.current_user())
            .unwrap_or(crate::catalog::defs::BOOTSTRAP_SUPERUSER);
        let db = self.txn.relcache.db_oid();
        self.txn
            .catalog_write(&mut check_interrupts, |_, snapshot, cx| match change {
                TypeChange::CreateEnum {
                    namespace,
                    name,
                    array_name,
                    labels,
                } => {
                    pg_enum::lock_type_name(db, namespace, &name, cx)?;
                    // Look again once the lock is held: a concurrent
                    // creator of the name may have committed.
                    let fresh = Transam::get().get_snapshot(
                        crate::process::my_slot().expect("backend has a slot"),
                        cx.xid,
                        cx.cid,
                    );
                    if pg_enum::type_name_taken(db, namespace, &name, &fresh, cx.xact)? {
                        return Err(PgError::error(
                            sqlstate::DUPLICATE_OBJECT,
                            format!("type \"{name}\" already exists"),
                        ));
                    }
                    pg_enum::create_enum(db, namespace, owner, &name, &array_name, &labels, cx)
                        .map(|_| ())
                }
                TypeChange::Drop {
                    type_oid,
                    array_oid,
                } => pg_enum::drop_type(db, type_oid, array_oid, snapshot, cx),
                TypeChange::AddLabel {
                    type_oid,
                    label,
                    sortorder,
                } => pg_enum::add_label(db, type_oid, sortorder, &label, cx),
                TypeChange::RenameLabel { label_oid, new } => {
                    pg_enum::rename_label(db, label_oid, &new, snapshot, cx)
                }
            })
    }

    fn columns_of_types(&mut self, type_oids: &[u32]) -> PgResult<Vec<(String, String)>> {
        let snapshot = self.txn.snapshot();
        crate::catalog::pg_enum::columns_of_types(
            self.txn.relcache.db_oid(),
            type_oids,
            &snapshot,
            &Transam::get(),
        )
    }

    fn create_index(
        &mut self,
        table: &TableDef,
        index: &crate::catalog::index::NewIndex,
    ) -> PgResult<u32> {
        self.lock_table(table, LockMode::Share)?;
        self.txn.relcache.invalidate_if_needed();
        let Some(current) = self.relation_by_oid(table.oid)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", table.name),
            ));
        };
        self.define_index(&current, index)
    }

    fn lock_index_table(&mut self, index_oid: u32) -> PgResult<Option<Arc<TableDef>>> {
        let snapshot = self.txn.snapshot();
        let db = self.txn.relcache.db_oid();
        let Some(table_oid) =
            crate::catalog::index::index_table(db, index_oid, &snapshot, &Transam::get())?
        else {
            return Ok(None);
        };
        let Some(table) = self.relation_by_oid(table_oid)? else {
            return Ok(None);
        };
        self.lock_for_alter(&table)
    }

    fn drop_index(&mut self, table: &TableDef, index_oid: u32) -> PgResult<()> {
        let Some(index) = table.indexes.iter().find(|i| i.oid == index_oid) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!(
                    "index {index_oid} of table \"{}\" does not exist",
                    table.name
                ),
            ));
        };
        self.drop_index_def(index, true)
    }

    fn index_constraint(&mut self, index_oid: u32) -> PgResult<Option<(u32, String, u8)>> {
        let snapshot = self.txn.snapshot();
        crate::catalog::index::index_constraint(
            self.txn.relcache.db_oid(),
            index_oid,
            &snapshot,
            &Transam::get(),
        )
    }

    fn check_index(&mut self, index_oid: u32) -> PgResult<u64> {
        let snapshot = self.txn.snapshot();
        let db = self.txn.relcache.db_oid();
        let table =
            match crate::catalog::index::index_table(db, index_oid, &snapshot, &Transam::get())? {
                Some(t) => self.relation_by_oid(t)?,
                None => None,
            };
        let Some(table) = table else {
            return Err(PgError::error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!("relation with OID {index_oid} is not a btree index"),
            ));
        };
        let index = table
            .indexes
            .iter()
            .find(|i| i.oid == index_oid)
            .cloned()
            .expect("pg_index names the table");
        self.verify_index(&table, &index)
    }

    fn set_not_null(&mut self, table: &TableDef, attnums: &[i16]) -> PgResult<()> {
        let pending: Vec<i16> = attnums
            .iter()
            .copied()
            .filter(|&a| !table.columns[a as usize - 1].not_null)
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let mut null_in = None;
        access::heap_scan(
            &table.heap_relation(),
            &snapshot,
            &transam,
            &mut |_, row| {
                if let Some(&a) = pending
                    .iter()
                    .find(|&&a| matches!(row[a as usize - 1], HeapValue::Null))
                {
                    null_in = Some(a);
                    return Ok(false);
                }
                Ok(true)
            },
        )?;
        if let Some(a) = null_in {
            return Err(PgError::error(
                sqlstate::NOT_NULL_VIOLATION,
                format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    table.columns[a as usize - 1].name,
                    table.name
                ),
            ));
        }
        let db = self.txn.relcache.db_oid();
        self.txn
            .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                crate::catalog::index::set_not_null(db, table, &pending, snapshot, cx)?;
                relcache.invalidate();
                Ok(())
            })
    }

    fn open_scan(&mut self, table: &Arc<TableDef>) -> PgResult<ScanId> {
        self.lock_table(table, LockMode::AccessShare)?;
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let mut rows = VecDeque::new();
        let mut n = 0u32;
        access::heap_scan(
            &table.heap_relation(),
            &snapshot,
            &transam,
            &mut |tid, values| {
                n += 1;
                if n % 1024 == 0 {
                    check_interrupts()?;
                }
                rows.push_back((tid, values));
                Ok(true)
            },
        )?;
        crate::utils::pgstat::count_seq_scan(table.db_oid, table.oid, table.relfilenode, n as u64);
        let id = self.next_scan;
        self.next_scan = self.next_scan.wrapping_add(1);
        self.scans.insert(
            id,
            ScanState {
                table: table.clone(),
                rows,
            },
        );
        Ok(ScanId(id))
    }

    fn open_index_scan(
        &mut self,
        table: &Arc<TableDef>,
        index_oid: u32,
        lower: Option<(Datum, bool)>,
        upper: Option<(Datum, bool)>,
    ) -> PgResult<ScanId> {
        self.lock_table(table, LockMode::AccessShare)?;
        let Some(index) = table.indexes.iter().find(|i| i.oid == index_oid) else {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("index {index_oid} of \"{}\" vanished", table.name),
            ));
        };
        let entries = self.index_range_tids(
            &index,
            lower.as_ref().map(|b| &b.0),
            upper.as_ref().map(|b| &b.0),
        )?;
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let rel = table.heap_relation();
        let storage = access::HeapStorage::this_process();
        // The horizon is read once, and only if some entry's tuple is invisible.
        let mut horizon = None;
        let mut oldest_xmin = || *horizon.get_or_insert_with(crate::storage::xact::oldest_xmin);
        let mut rows = VecDeque::new();
        let mut dead = Vec::new();
        for (key, tid) in entries {
            match storage.fetch_for_index(&rel, tid, &snapshot, &transam, Some(&mut oldest_xmin))? {
                (Some(values), _) => rows.push_back((tid, values)),
                (None, true) => dead.push((key, tid)),
                (None, false) => {}
            }
        }
        // Only where WAL can be written (not while recovery runs).
        if !dead.is_empty() && crate::storage::wal::is_insert_ready() {
            self.kill_index_entries(&index, dead)?;
        }
        let id = self.next_scan;
        self.next_scan = self.next_scan.wrapping_add(1);
        self.scans.insert(
            id,
            ScanState {
                table: table.clone(),
                rows,
            },
        );
        Ok(ScanId(id))
    }

    fn scan_next(&mut self, scan: ScanId) -> PgResult<Option<(RowId, Vec<Datum>)>> {
        let Some(state) = self.scans.get_mut(&scan.0) else {
            return Ok(None);
        };
        match state.rows.pop_front() {
            Some((tid, values)) => {
                let table = state.table.clone();
                Ok(Some((tid, row_to_datums(&table, values)?)))
            }
            None => {
                self.scans.remove(&scan.0);
                Ok(None)
            }
        }
    }

    fn close_scan(&mut self, scan: ScanId) {
        self.scans.remove(&scan.0);
    }

    fn insert_row(&mut self, table: &TableDef, row: Vec<Datum>) -> PgResult<RowId> {
        self.lock_table(table, LockMode::RowExclusive)?;
        let values = row_to_heap(table, &row)?;
        let xid = self.txn.state.xid_for_write()?;
        let cid = self.txn.state.command_id();
        let row_id = access::heap_insert(&table.heap_relation(), &values, xid, cid)?;
        if !table.indexes.is_empty() {
            self.index_insert(table, row_id, &values)?;
        }
        crate::utils::pgstat::count_insert(table.db_oid, table.oid, table.relfilenode);
        Ok(row_id)
    }

    fn insert_rows(
        &mut self,
        table: &TableDef,
        rows: Vec<Vec<Datum>>,
        frozen: bool,
    ) -> Result<(), (usize, PgError)> {
        if rows.is_empty() {
            return Ok(());
        }
        assert!(
            !frozen || self.created_in_subtransaction(table),
            "COPY FREEZE into a table this subtransaction did not create"
        );
        let first = |e| (0, e);
        self.lock_table(table, LockMode::RowExclusive)
            .map_err(first)?;
        let rel = table.heap_relation();
        let xid = self.txn.state.xid_for_write().map_err(first)?;
        let cid = self.txn.state.command_id();
        let storage = access::HeapStorage::this_process();
        let n = rows.len();
        for (i, row) in rows.into_iter().enumerate() {
            let at = |e| (i, e);
            let values = row_to_heap(table, &row).map_err(at)?;
            let tid = storage
                .insert_with(&rel, &values, xid, cid, frozen)
                .map_err(at)?;
            if !table.indexes.is_empty() {
                self.index_insert(table, tid, &values).map_err(at)?;
            }
        }
        crate::utils::pgstat::count_inserts(table.db_oid, table.oid, table.relfilenode, n as u64);
        Ok(())
    }

    fn created_in_subtransaction(&self, table: &TableDef) -> bool {
        self.txn
            .created_in_current_subxact(table.heap_relation().locator)
    }

    fn update_row(
        &mut self,
        table: &TableDef,
        row_id: RowId,
        row: Vec<Datum>,
    ) -> PgResult<RowChange> {
        let values = row_to_heap(table, &row)?;
        let mut new_tid = None;
        let change = self.change_row(table, LockMode::RowExclusive, |rel, cx| {
            let (outcome, tid) = access::heap_update(rel, row_id, &values, cx)?;
            if outcome == TmOutcome::Ok {
                crate::utils::pgstat::count_update(table.db_oid, table.oid, table.relfilenode);
                new_tid = tid;
            }
            Ok(outcome)
        })?;
        if let Some(tid) = new_tid
            && !table.indexes.is_empty()
        {
            self.index_insert(table, tid, &values)?;
        }
        Ok(change)
    }

    fn delete_row(&mut self, table: &TableDef, row_id: RowId) -> PgResult<RowChange> {
        self.change_row(table, LockMode::RowExclusive, |rel, cx| {
            let outcome = access::heap_delete(rel, row_id, cx)?;
            if outcome == TmOutcome::Ok {
                crate::utils::pgstat::count_delete(table.db_oid, table.oid, table.relfilenode);
            }
            Ok(outcome)
        })
    }

    fn lock_row(
        &mut self,
        table: &TableDef,
        row_id: RowId,
        mode: RowLockMode,
    ) -> PgResult<RowChange> {
        let mode = match mode {
            RowLockMode::Share => access::RowLockMode::Share,
            RowLockMode::Update => access::RowLockMode::Update,
        };
        self.change_row(table, LockMode::RowShare, |rel, cx| {
            access::heap_lock_tuple(rel, row_id, mode, cx)
        })
    }

    fn txid_current(&mut self) -> PgResult<i64> {
        Ok(self.txn.state.xid_for_write()?.0 as i64)
    }

    fn current_wal_lsn(&mut self) -> PgResult<String> {
        Ok(crate::storage::wal::write_lsn()
            .max(crate::storage::wal::insert_lsn())
            .to_string())
    }

    fn checkpoint(&mut self) -> PgResult<()> {
        if !self.is_superuser() {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT",
            ));
        }
        crate::bgproc::checkpointer::request_checkpoint(&mut check_interrupts)
    }

    fn switch_wal(&mut self) -> PgResult<u64> {
        backup_privilege(self, "pg_switch_wal")?;
        if !crate::storage::wal::is_insert_ready() {
            return Err(in_recovery());
        }
        crate::storage::wal::switch_segment()
            .map(|l| l.0)
            .map_err(|e| {
                PgError::error(
                    sqlstate::IO_ERROR,
                    format!("could not switch WAL segment: {e}"),
                )
            })
    }

    fn backup_start(&mut self, label: &str, _fast: bool) -> PgResult<u64> {
        backup_privilege(self, "pg_backup_start")?;
        crate::backup::session_backup_start(label, &mut check_interrupts).map(|l| l.0)
    }

    fn backup_stop(&mut self, wait_for_archive: bool) -> PgResult<(u64, String, String)> {
        backup_privilege(self, "pg_backup_stop")?;
        let mut notices = Vec::new();
        let r = crate::backup::session_backup_stop(
            wait_for_archive,
            &mut |n| notices.push(n),
            &mut check_interrupts,
        );
        for n in notices {
            self.notice(n);
        }
        r.map(|(l, label, map)| (l.0, label, map))
    }

    fn stats_reset(&mut self, what: &str, target: Option<&str>, rel: Option<u32>) -> PgResult<()> {
        use crate::utils::pgstat::{self, Msg, SharedTarget};
        if what == "clear_snapshot" {
            pgstat::clear_snapshot();
            return Ok(());
        }
        let function = match what {
            "reset" => "pg_stat_reset",
            "reset_shared" => "pg_stat_reset_shared",
            _ => "pg_stat_reset_single_table_counters",
        };
        // PostgreSQL 15 grants these to superusers only by default.
        if !self.is_superuser() {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied for function {function}"),
            ));
        }
        let db = pgstat::my_database();
        match (what, target) {
            ("reset", _) => pgstat::send_reset(Msg::ResetDb { db }),
            ("reset_single_table", _) => {
                let rel = rel.unwrap_or(0);
                // Shared catalogs keep their statistics under database 0.
                let shared = crate::catalog::defs::CATALOGS
                    .iter()
                    .any(|c| c.oid == rel && c.shared);
                pgstat::send_reset(Msg::ResetTable {
                    db: if shared { 0 } else { db },
                    rel,
                });
            }
            ("reset_shared", Some("archiver")) => {
                pgstat::send_reset(Msg::ResetShared(SharedTarget::Archiver))
            }
            ("reset_shared", Some("io")) => pgstat::send_reset(Msg::ResetShared(SharedTarget::Io)),
            ("reset_shared", Some("wal")) => crate::storage::wal::reset_stats(),
            ("reset_shared", Some("recovery_prefetch")) => {}
            ("reset_shared", Some("bgwriter")) => {
                use std::sync::atomic::Ordering;
                // The checkpointer's counters are zeroed in place; the
                // buffer pool's become a baseline the view subtracts.
                let ckpt = crate::bgproc::checkpointer::shmem();
                for c in [
                    &ckpt.checkpoints_timed,
                    &ckpt.checkpoints_req,
                    &ckpt.checkpoint_write_time_ms,
                    &ckpt.checkpoint_sync_time_ms,
                ] {
                    c.store(0, Ordering::Relaxed);
                }
                ckpt.stats_reset
                    .store(crate::utils::time::now_timestamptz(), Ordering::Relaxed);
                let b = crate::storage::buffer::pool().stats();
                pgstat::send_reset(Msg::ResetShared(SharedTarget::Bgwriter([
                    b.buffers_checkpoint,
                    b.buffers_clean,
                    b.maxwritten_clean,
                    b.buffers_backend,
                    b.buffers_backend_fsync,
                    b.buffers_alloc,
                ])));
            }
            ("reset_shared", other) => {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("unrecognized reset target: \"{}\"", other.unwrap_or("")),
                )
                .with_hint(
                    "Target must be \"archiver\", \"bgwriter\", \"io\", \"recovery_prefetch\", or \"wal\".",
                ));
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!("unknown statistics request {what}"),
                ));
            }
        }
        Ok(())
    }

    fn take_snapshot(&mut self) {
        let _ = self.txn.snapshot();
    }

    fn command_counter_increment(&mut self) -> PgResult<()> {
        self.txn.command_counter_increment()
    }

    fn vacuum(&mut self, request: &crate::sql::tables::VacuumRequest) -> PgResult<()> {
        self.run_vacuum(request)
    }

    fn relation_size(
        &mut self,
        rel: &crate::sql::tables::RelationRef,
        what: crate::sql::tables::RelationSize,
    ) -> PgResult<Option<i64>> {
        self.relation_size_of(rel, what)
    }

    fn alter_reloptions(
        &mut self,
        schema: Option<&str>,
        name: &str,
        set: &[(String, Option<String>)],
        reset: &[String],
    ) -> PgResult<()> {
        self.alter_reloptions_of(schema, name, set, reset)
    }

    fn age_reference_xid(&mut self) -> PgResult<i64> {
        Ok(self.age_reference())
    }

    fn snapshot_taken(&self) -> bool {
        self.txn.has_snapshot()
    }

    fn savepoint(&mut self, request: SavepointRequest, name: &str) -> PgResult<()> {
        match request {
            SavepointRequest::Define => {
                self.txn.savepoint(name);
                crate::utils::pgstat::savepoint(name);
                Ok(())
            }
            SavepointRequest::Release => {
                self.txn.release_savepoint(name)?;
                crate::utils::pgstat::release_savepoint(name);
                Ok(())
            }
            SavepointRequest::RollbackTo => {
                self.txn.rollback_to_savepoint(name)?;
                crate::utils::pgstat::rollback_to_savepoint(name);
                self.recover_from_failed_block();
                Ok(())
            }
        }
    }
}

/// The WAL control and backup functions are superuser-only by default in
/// PostgreSQL 15 (EXECUTE revoked from PUBLIC).
fn backup_privilege(s: &Session, function: &str) -> PgResult<()> {
    if s.is_superuser() {
        Ok(())
    } else {
        Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for function {function}"),
        ))
    }
}

fn in_recovery() -> PgError {
    PgError::error(
        sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
        "recovery is in progress",
    )
    .with_hint("WAL control functions cannot be executed during recovery.")
}
