//! The backend's transaction glue (PostgreSQL's xact.c, the part above
//! `storage::xact`): which snapshot a statement uses, what happens to files
//! at commit and abort, savepoint names, and the catalog invalidation a
//! committed DDL transaction owes everyone else.
//!
//! Rules:
//! 1. READ COMMITTED takes a snapshot per statement; REPEATABLE READ (and
//!    SERIALIZABLE, which ferrogres runs as REPEATABLE READ) one per
//!    transaction, at its first statement.
//! 2. A relation file created in a transaction is unlinked if the
//!    transaction (or the savepoint that created it) rolls back; a dropped
//!    relation's file is unlinked only after commit (PostgreSQL's pending
//!    deletes).
//! 3. A transaction that changed the catalogs bumps the shared catalog
//!    generation after its commit is recorded, so every backend drops its
//!    relation cache before its next statement.

use crate::catalog::oid;
use crate::catalog::relcache::RelCache;
use crate::storage::heap::access::{self, HeapRelation, WriteContext};
use crate::storage::types::{RelFileLocator, Xid};
use crate::storage::xact::{Snapshot, TransactionState, Transam};
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
}

struct Savepoint {
    name: String,
    level: u32,
    creates_len: usize,
    drops_len: usize,
}

pub struct Txn {
    pub state: TransactionState,
    pub relcache: RelCache,
    isolation: Isolation,
    /// REPEATABLE READ's transaction snapshot (rule 1).
    xact_snapshot: Option<Snapshot>,
    /// The current statement's snapshot.
    stmt_snapshot: Option<Snapshot>,
    /// Whether the transaction has taken any snapshot yet: from then on its
    /// isolation level is fixed (25001 for a late SET TRANSACTION).
    snapshot_taken: bool,
    catalog_changed: bool,
    /// Files to unlink if we roll back (rule 2).
    pending_creates: Vec<HeapRelation>,
    /// Files to unlink once we commit (rule 2).
    pending_drops: Vec<HeapRelation>,
    savepoints: Vec<Savepoint>,
}

impl Txn {
    pub fn new(db_oid: crate::storage::types::Oid) -> Txn {
        Txn {
            state: TransactionState::for_this_process(),
            relcache: RelCache::new(db_oid),
            isolation: Isolation::ReadCommitted,
            xact_snapshot: None,
            stmt_snapshot: None,
            snapshot_taken: false,
            catalog_changed: false,
            pending_creates: Vec::new(),
            pending_drops: Vec::new(),
            savepoints: Vec::new(),
        }
    }

    pub fn begin(&mut self, isolation: Isolation) {
        self.state.begin();
        self.isolation = isolation;
        self.xact_snapshot = None;
        self.stmt_snapshot = None;
        self.snapshot_taken = false;
        self.catalog_changed = false;
        assert!(
            self.pending_creates.is_empty() && self.pending_drops.is_empty(),
            "file actions left from the last transaction"
        );
        self.savepoints.clear();
    }

    /// Sets the isolation level (SET TRANSACTION before the first statement).
    pub fn set_isolation(&mut self, isolation: Isolation) {
        self.isolation = isolation;
    }

    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// Starts a statement: notices other sessions' DDL (rule 3). Its
    /// snapshot is taken at its first read, so that `BEGIN ISOLATION LEVEL`
    /// and `SET TRANSACTION` take effect before the transaction's first
    /// snapshot, as in PostgreSQL.
    pub fn start_statement(&mut self) {
        self.relcache.invalidate_if_needed();
        self.stmt_snapshot = None;
    }

    /// The rest of the statement reads with a snapshot taken now, at any
    /// isolation level (`GetLatestSnapshot`): ALTER TABLE checks a table's
    /// rows once its AccessExclusiveLock is held, and must see every row
    /// committed before it got the lock.
    pub fn use_latest_snapshot(&mut self) {
        self.stmt_snapshot = Some(self.state.snapshot());
        self.snapshot_taken = true;
    }

    /// READ COMMITTED: the statement's snapshot is taken again (after a
    /// writer's table lock); REPEATABLE READ keeps the transaction's.
    pub fn refresh_statement_snapshot(&mut self) {
        if self.isolation == Isolation::ReadCommitted && self.stmt_snapshot.is_some() {
            self.stmt_snapshot = Some(self.state.snapshot());
        }
    }

    /// Whether the transaction has taken its first snapshot (after which its
    /// isolation level can no longer change).
    pub fn has_snapshot(&self) -> bool {
        self.snapshot_taken
    }

    fn take_statement_snapshot(&mut self) -> Snapshot {
        match self.isolation {
            Isolation::ReadCommitted => self.state.snapshot(),
            Isolation::RepeatableRead => match &self.xact_snapshot {
                Some(s) => s.clone(),
                None => {
                    let s = self.state.snapshot();
                    self.xact_snapshot = Some(s.clone());
                    s
                }
            },
        }
    }

    /// `CommandCounterIncrement` inside a statement: its later commands
    /// (the INSERT of `CREATE TABLE ... AS`) see what the earlier ones did.
    pub fn command_counter_increment(&mut self) -> PgResult<()> {
        self.state.command_counter_increment().map(|_| ())
    }

    /// Ends a statement: later statements see its changes.
    pub fn end_statement(&mut self) -> PgResult<()> {
        self.stmt_snapshot = None;
        self.state.command_counter_increment()?;
        if self.isolation == Isolation::ReadCommitted {
            self.state.reset_xmin();
        }
        Ok(())
    }

    /// The snapshot for reads in this statement, with the current command id
    /// (so a statement sees the rows its own earlier commands wrote).
    pub fn snapshot(&mut self) -> Snapshot {
        if self.stmt_snapshot.is_none() {
            self.stmt_snapshot = Some(self.take_statement_snapshot());
            self.snapshot_taken = true;
        }
        let mut s = self.stmt_snapshot.clone().expect("statement snapshot");
        s.curcid = self.state.command_id();
        s.curxid = self.state.top_xid();
        s
    }

    /// Everything a heap write needs; assigns the xid at the first write.
    pub fn write_context<'a>(
        &'a mut self,
        transam: &'a Transam,
        crosscheck: Option<&'a Snapshot>,
        check_interrupts: &'a mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<WriteContext<'a>> {
        let xid = self.state.xid_for_write()?;
        let cid = self.state.command_id();
        Ok(WriteContext {
            xid,
            cid,
            crosscheck,
            xact: transam,
            locks: &mut self.state.locks,
            check_interrupts,
        })
    }

    /// Runs a catalog change (DDL) with the statement's snapshot and a
    /// write context, and records that the catalogs changed (rule 3).
    pub fn catalog_write<R>(
        &mut self,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
        f: impl FnOnce(&mut RelCache, &Snapshot, &mut WriteContext<'_>) -> PgResult<R>,
    ) -> PgResult<R> {
        let snapshot = self.snapshot();
        let transam = Transam::get();
        let xid = self.state.xid_for_write()?;
        let cid = self.state.command_id();
        let mut cx = WriteContext {
            xid,
            cid,
            crosscheck: None,
            xact: &transam,
            locks: &mut self.state.locks,
            check_interrupts,
        };
        let result = f(&mut self.relcache, &snapshot, &mut cx)?;
        self.catalog_changed = true;
        crate::catalog::syscache::invalidate(self.state.snapshot_source());
        Ok(result)
    }

    /// REPEATABLE READ's snapshot, for the 40001 cross-check of writes.
    pub fn crosscheck_snapshot(&self) -> Option<Snapshot> {
        if self.isolation == Isolation::RepeatableRead {
            self.xact_snapshot.clone()
        } else {
            None
        }
    }

    pub fn note_catalog_change(&mut self) {
        self.catalog_changed = true;
    }

    pub fn note_created(&mut self, rel: HeapRelation) {
        self.pending_creates.push(rel);
    }

    /// Whether the relation file `locator` was created by the current
    /// subtransaction (since the newest open savepoint): COPY FREEZE's
    /// condition (PostgreSQL's `rd_createSubid` / `rd_newRelfilelocatorSubid`).
    pub fn created_in_current_subxact(&self, locator: RelFileLocator) -> bool {
        let from = self.savepoints.last().map_or(0, |sp| sp.creates_len);
        self.pending_creates[from..]
            .iter()
            .any(|r| r.locator == locator)
    }

    pub fn note_dropped(&mut self, rel: HeapRelation) {
        self.pending_drops.push(rel);
    }

    pub fn top_xid(&self) -> Xid {
        self.state.top_xid()
    }

    /// COMMIT (rules 2 and 3).
    pub fn commit(&mut self, synchronous: bool) {
        self.state.commit(synchronous);
        self.pending_creates.clear();
        for rel in std::mem::take(&mut self.pending_drops) {
            if let Err(e) = access::heap_drop_storage(&rel) {
                crate::utils::elog::log_error(&e, None);
            }
        }
        self.finish();
    }

    /// ROLLBACK, or the end of a failed transaction (rule 2).
    pub fn abort(&mut self) {
        self.state.abort();
        self.pending_drops.clear();
        for rel in std::mem::take(&mut self.pending_creates) {
            if let Err(e) = access::heap_drop_storage(&rel) {
                crate::utils::elog::log_error(&e, None);
            }
        }
        // Our own uncommitted catalog rows are gone: forget what we cached.
        if self.catalog_changed {
            self.relcache.invalidate();
        }
        self.catalog_changed = false;
        self.finish_common();
    }

    fn finish(&mut self) {
        if self.catalog_changed {
            oid::bump_generation();
            self.relcache.invalidate();
        }
        self.catalog_changed = false;
        self.finish_common();
    }

    fn finish_common(&mut self) {
        self.xact_snapshot = None;
        self.stmt_snapshot = None;
        self.snapshot_taken = false;
        self.savepoints.clear();
        self.isolation = Isolation::ReadCommitted;
    }

    pub fn savepoint(&mut self, name: &str) {
        let level = self.state.savepoint();
        self.savepoints.push(Savepoint {
            name: name.to_string(),
            level,
            creates_len: self.pending_creates.len(),
            drops_len: self.pending_drops.len(),
        });
    }

    fn find_savepoint(&self, name: &str) -> PgResult<usize> {
        self.savepoints
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::S_E_INVALID_SPECIFICATION,
                    format!("savepoint \"{name}\" does not exist"),
                )
            })
    }

    pub fn release_savepoint(&mut self, name: &str) -> PgResult<()> {
        let i = self.find_savepoint(name)?;
        self.state.release_savepoint(self.savepoints[i].level);
        self.savepoints.truncate(i);
        Ok(())
    }

    pub fn rollback_to_savepoint(&mut self, name: &str) -> PgResult<()> {
        let i = self.find_savepoint(name)?;
        let sp = &self.savepoints[i];
        self.state.rollback_to_savepoint(sp.level);
        for rel in self.pending_creates.drain(sp.creates_len..) {
            if let Err(e) = access::heap_drop_storage(&rel) {
                crate::utils::elog::log_error(&e, None);
            }
        }
        self.pending_drops.truncate(sp.drops_len);
        self.savepoints.truncate(i + 1);
        if self.catalog_changed {
            self.relcache.invalidate();
        }
        Ok(())
    }

    pub fn has_savepoints(&self) -> bool {
        !self.savepoints.is_empty()
    }
}

/// Whether an error leaves the session usable (ERROR) or ends it.
pub fn is_fatal(e: &PgError) -> bool {
    e.severity >= Severity::Fatal && e.severity != Severity::Log
}
