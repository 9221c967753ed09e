//! Indexes for a session: maintenance on every heap insert, the
//! uniqueness check, builds, drops and rebuilds (PostgreSQL's
//! `execIndexing.c`, `nbtinsert.c`'s `_bt_check_unique`, `index.c`'s
//! `index_build`, `indexcmds.c`'s `DefineIndex`).
//!
//! Rules:
//! 1. Every heap tuple a statement inserts (INSERT, UPDATE's new version,
//!    COPY) gets an entry in every index of the table before the
//!    statement goes on (no HOT yet: heap README rule 14).
//! 2. The uniqueness check and the insertion of the entry happen under a
//!    heavyweight lock on (index, hash of the key) in ExclusiveLock mode,
//!    held only across the check and the insert. Of two inserters of the
//!    same key, the second sees the first's entry; if that row's inserter
//!    (or deleter) is still running, the second releases the key lock,
//!    waits for that transaction (`XactLockTableWait`, so deadlocks are
//!    detected) and checks again — the outcome PostgreSQL's leaf-page lock
//!    gives, without holding a page lock across a heap visit.
//! 3. An index entry points at one heap tuple version; the check looks at
//!    each equal entry's tuple with `SnapshotDirty` semantics
//!    ([`HeapStorage::fetch_dirty`]): dead ones are ignored.
//! 4. Builds take ShareLock on the table (writers wait), index every tuple
//!    some snapshot may still see, and check uniqueness among the live
//!    ones; a failing build leaves nothing behind (its catalog rows are
//!    the aborting transaction's, its file a pending create).

use std::cmp::Ordering;

use super::session::{Session, check_interrupts};
use crate::catalog::TableDef;
use crate::catalog::defs::PG_INDEX;
use crate::catalog::index::{IndexDef, IndexKeyOrder, NewIndex};
use crate::sql::types::Datum;
use crate::storage::heap::HeapValue;
use crate::storage::heap::access::{DirtyTuple, HeapStorage};
use crate::storage::lock::lmgr::{LockMode, LockTag};
use crate::storage::nbtree::{self, KeyOrder};
use crate::storage::page::ItemPointer;
use crate::storage::types::Xid;
use crate::storage::xact::{Transam, xact_lock_table_wait};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// FNV-1a of a key, for the key lock's tag (rule 2).
fn key_hash(key: &[u8]) -> u32 {
    key.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

enum UniqueOutcome {
    Inserted,
    Conflict,
    Wait(Xid),
}

impl Session {
    /// Whether `xid` is this transaction's or a running subtransaction's.
    fn xid_is_mine(&self, xid: Xid) -> bool {
        xid.is_valid()
            && self
                .txn
                .state
                .locks
                .holds(LockTag::TransactionId(xid), LockMode::Exclusive)
    }

    /// Rule 1: the entries of the heap tuple `tid` with stored values `values`.
    pub(super) fn index_insert(
        &mut self,
        table: &TableDef,
        tid: ItemPointer,
        values: &[HeapValue],
    ) -> PgResult<()> {
        for index in &table.indexes {
            let key = index.form_key(values);
            let order = index.key_order();
            if index.checks_unique(values) {
                self.insert_unique(table, index, &order, key, tid, values)?;
            } else {
                let s = HeapStorage::this_process();
                nbtree::bt_insert(&s, &index.btree(), &order, key, tid)?;
            }
        }
        Ok(())
    }

    /// Rules 2 and 3.
    fn insert_unique(
        &mut self,
        table: &TableDef,
        index: &IndexDef,
        order: &IndexKeyOrder<'_>,
        key: Vec<u8>,
        tid: ItemPointer,
        values: &[HeapValue],
    ) -> PgResult<()> {
        let tag = LockTag::Object {
            db: index.db_oid,
            class_id: PG_INDEX,
            obj_id: index.oid,
            obj_sub_id: key_hash(&key),
        };
        let bt = index.btree();
        let s = HeapStorage::this_process();
        let transam = Transam::get();
        loop {
            self.txn.state.locks.lock_acquire(
                tag,
                LockMode::Exclusive,
                false,
                &mut check_interrupts,
            )?;
            let outcome = (|| -> PgResult<UniqueOutcome> {
                let mut equal = Vec::new();
                nbtree::bt_scan(&s, &bt, order, Some(&key), &mut |k, t| {
                    if order.compare(k, &key) != Ordering::Equal {
                        return Ok(false);
                    }
                    equal.push(t);
                    Ok(true)
                })?;
                // The heap descriptor only when another entry has the key.
                let others: Vec<ItemPointer> = equal.into_iter().filter(|&t| t != tid).collect();
                let heap = (!others.is_empty()).then(|| table.heap_relation());
                for t in others {
                    let heap = heap.as_ref().expect("made for the other entries");
                    match s.fetch_dirty(heap, t, &transam, &|x| self.xid_is_mine(x))? {
                        DirtyTuple::Dead => {}
                        DirtyTuple::Live => return Ok(UniqueOutcome::Conflict),
                        DirtyTuple::InProgress(x) => return Ok(UniqueOutcome::Wait(x)),
                    }
                }
                nbtree::bt_insert(&s, &bt, order, key.clone(), tid)?;
                Ok(UniqueOutcome::Inserted)
            })();
            self.txn.state.locks.lock_release(tag, LockMode::Exclusive);
            match outcome? {
                UniqueOutcome::Inserted => return Ok(()),
                UniqueOutcome::Conflict => {
                    let fmt = crate::sql::exec::session_format(self);
                    return Err(PgError::error(
                        sqlstate::UNIQUE_VIOLATION,
                        format!(
                            "duplicate key value violates unique constraint \"{}\"",
                            index.name
                        ),
                    )
                    .with_detail(format!(
                        "Key {} already exists.",
                        index.describe_key(table, values, &fmt)
                    )));
                }
                UniqueOutcome::Wait(x) => {
                    xact_lock_table_wait(&mut self.txn.state.locks, x, &mut check_interrupts)?;
                    check_interrupts()?;
                }
            }
        }
    }

    /// Rule 4: fills the empty index `index` of `table` from the heap.
    /// 23505 if a unique index meets two live equal keys.
    pub(super) fn build_index(&mut self, table: &TableDef, index: &IndexDef) -> PgResult<()> {
        let s = HeapStorage::this_process();
        let transam = Transam::get();
        let order = index.key_order();
        let mut entries: Vec<(Vec<u8>, ItemPointer, bool, Option<Vec<HeapValue>>)> = Vec::new();
        let oldest_xmin = crate::storage::xact::oldest_xmin();
        let mut n = 0u64;
        s.scan_for_index_build(
            &table.heap_relation(),
            oldest_xmin,
            &transam,
            &|x| self.xid_is_mine(x),
            &mut |tid, values, alive| {
                n += 1;
                if n % 1024 == 0 {
                    check_interrupts()?;
                }
                let key = index.form_key(&values);
                let check = alive && index.checks_unique(&values);
                entries.push((key, tid, check, check.then_some(values)));
                Ok(())
            },
        )?;
        entries.sort_by(|a, b| order.compare(&a.0, &b.0).then(a.1.cmp(&b.1)));
        if index.unique {
            let mut last: Option<usize> = None;
            for i in 0..entries.len() {
                if !entries[i].2 {
                    continue;
                }
                if let Some(j) = last
                    && order.compare(&entries[j].0, &entries[i].0) == Ordering::Equal
                {
                    let fmt = crate::sql::exec::session_format(self);
                    let values = entries[i]
                        .3
                        .as_ref()
                        .expect("checked rows keep their values");
                    return Err(PgError::error(
                        sqlstate::UNIQUE_VIOLATION,
                        format!("could not create unique index \"{}\"", index.name),
                    )
                    .with_detail(format!(
                        "Key {} is duplicated.",
                        index.describe_key(table, values, &fmt)
                    )));
                }
                last = Some(i);
            }
        }
        let bt = index.btree();
        for (i, (key, tid, _, _)) in entries.into_iter().enumerate() {
            if i % 1024 == 1023 {
                check_interrupts()?;
            }
            nbtree::bt_insert(&s, &bt, &order, key, tid)?;
        }
        Ok(())
    }

    /// The entries (key, heap tuple id) of index `index` whose first key
    /// column lies between `lower` and `upper` (value order; inclusion
    /// is left to the scan's conditions), in index order.
    pub(super) fn index_range_tids(
        &mut self,
        index: &IndexDef,
        lower: Option<&Datum>,
        upper: Option<&Datum>,
    ) -> PgResult<Vec<(Vec<u8>, ItemPointer)>> {
        let ty = index.key_types[0];
        let key = |d: &Datum| -> PgResult<Vec<u8>> {
            let v = crate::catalog::datum::to_heap(ty, d)?;
            Ok(crate::catalog::index::encode_key(&[&v]))
        };
        let (lower, upper) = (lower.map(key).transpose()?, upper.map(key).transpose()?);
        // A DESC column's index order is the values' reverse.
        let (start, stop) = if index.options[0] & crate::catalog::index::INDOPTION_DESC != 0 {
            (upper, lower)
        } else {
            (lower, upper)
        };
        let order = index.key_order();
        let s = HeapStorage::this_process();
        let mut tids = Vec::new();
        let mut n = 0u64;
        nbtree::bt_scan(
            &s,
            &index.btree(),
            &order,
            start.as_deref(),
            &mut |k, tid| {
                if let Some(stop) = &stop
                    && order.compare_prefix(k, stop, 1) == Ordering::Greater
                {
                    return Ok(false);
                }
                n += 1;
                if n % 4096 == 0 {
                    check_interrupts()?;
                }
                tids.push((k.to_vec(), tid));
                Ok(true)
            },
        )?;
        Ok(tids)
    }

    /// PostgreSQL's `kill_prior_tuple`, done at once: removes the entries
    /// `(key, tid)` whose heap tuples an index scan found dead to every
    /// snapshot, so the next scan of those keys does not visit them again
    /// (without HOT, each update of a row adds an entry; a hot row's key
    /// would otherwise collect one per version until VACUUM).
    pub(super) fn kill_index_entries(
        &mut self,
        index: &IndexDef,
        mut dead: Vec<(Vec<u8>, ItemPointer)>,
    ) -> PgResult<()> {
        let s = HeapStorage::this_process();
        let order = index.key_order();
        let bt = index.btree();
        dead.sort_by(|a, b| order.compare(&a.0, &b.0));
        let mut i = 0;
        while i < dead.len() {
            let mut j = i + 1;
            while j < dead.len() && order.compare(&dead[j].0, &dead[i].0) == Ordering::Equal {
                j += 1;
            }
            let tids: std::collections::HashSet<ItemPointer> =
                dead[i..j].iter().map(|(_, t)| *t).collect();
            nbtree::bt_delete_entries(&s, &bt, &order, &dead[i].0, &|t| tids.contains(&t))?;
            i = j;
        }
        Ok(())
    }

    /// Creates the index's file (a pending create of the transaction).
    pub(super) fn create_index_storage(&mut self, index: &IndexDef) -> PgResult<()> {
        let s = HeapStorage::this_process();
        nbtree::bt_create(&s, &index.btree())?;
        self.txn.note_created(index.heap_relation());
        Ok(())
    }

    /// `index_create` + `index_build` for `table` (whose ShareLock or
    /// stronger the caller holds): catalog rows, file, entries. Returns
    /// the index's oid.
    pub(super) fn define_index(&mut self, table: &TableDef, new: &NewIndex) -> PgResult<u32> {
        let db = self.txn.relcache.db_oid();
        let oid = crate::catalog::oid::new_relfilenumber(table.db_oid)?;
        let def = IndexDef {
            oid,
            name: new.name.clone(),
            relfilenode: oid,
            table_oid: table.oid,
            db_oid: table.db_oid,
            keys: new.keys.clone(),
            options: new.options.clone(),
            key_types: new
                .keys
                .iter()
                .map(|&a| table.columns[a as usize - 1].type_oid)
                .collect(),
            unique: new.unique,
            primary: new.primary,
            nulls_not_distinct: new.nulls_not_distinct,
        };
        self.txn
            .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                crate::catalog::index::insert_index_rows(db, table, oid, new, snapshot, cx)?;
                relcache.invalidate();
                Ok(())
            })?;
        self.create_index_storage(&def)?;
        self.build_index(table, &def)?;
        Ok(oid)
    }

    /// A new, empty file for each index of `table` after its heap got a
    /// new relfilenode (TRUNCATE), or a rebuilt one (VACUUM FULL, with
    /// `rebuild`): `pg_class.relfilenode` of each index moves, the old
    /// files go at commit.
    pub(super) fn reset_indexes(&mut self, table: &TableDef, rebuild: bool) -> PgResult<()> {
        let db = self.txn.relcache.db_oid();
        for index in &table.indexes {
            let mut new = index.clone();
            new.relfilenode = crate::catalog::oid::new_relfilenumber(table.db_oid)?;
            self.create_index_storage(&new)?;
            if rebuild {
                self.build_index(table, &new)?;
            }
            let as_rel = index.as_relation(table);
            self.txn
                .catalog_write(&mut check_interrupts, |_, snapshot, cx| {
                    crate::catalog::vacuum::set_relfilenode(
                        db,
                        &as_rel,
                        new.relfilenode,
                        1,
                        0.0,
                        Xid::INVALID,
                        snapshot,
                        cx,
                    )
                })?;
            self.txn.note_dropped(index.heap_relation());
        }
        Ok(())
    }

    /// `index_drop`: catalog rows now, the file at commit. The caller
    /// holds AccessExclusiveLock on the table.
    pub(super) fn drop_index_def(
        &mut self,
        index: &IndexDef,
        with_constraint: bool,
    ) -> PgResult<()> {
        let db = self.txn.relcache.db_oid();
        self.txn
            .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                crate::catalog::index::delete_index_rows(
                    db,
                    index.oid,
                    with_constraint,
                    snapshot,
                    cx,
                )?;
                relcache.invalidate();
                Ok(())
            })?;
        self.txn.note_dropped(index.heap_relation());
        Ok(())
    }

    /// `bt_index_check(index)`: the structure check of storage/nbtree, and
    /// that every entry's key is its heap tuple's (when the tuple is still
    /// there). Returns the number of entries.
    pub(super) fn verify_index(&mut self, table: &TableDef, index: &IndexDef) -> PgResult<u64> {
        self.lock_table(table, LockMode::AccessShare)?;
        let s = HeapStorage::this_process();
        let order = index.key_order();
        let bt = index.btree();
        let n = nbtree::bt_check(&s, &bt, &order)?;
        let heap = table.heap_relation();
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let mut bad = None;
        let mut seen = 0u64;
        nbtree::bt_scan(&s, &bt, &order, None, &mut |k, tid| {
            seen += 1;
            if let Some(values) = s.fetch_visible(&heap, tid, &snapshot, &transam)?
                && index.form_key(&values) != k
            {
                bad = Some(tid);
                return Ok(false);
            }
            Ok(true)
        })?;
        if let Some(tid) = bad {
            return Err(PgError::error(
                nbtree::tree::INDEX_CORRUPTED,
                format!(
                    "index \"{}\" is corrupted: the entry for heap tuple {tid} does not match the tuple's key",
                    index.name
                ),
            ));
        }
        if seen != n {
            return Err(PgError::error(
                nbtree::tree::INDEX_CORRUPTED,
                format!(
                    "index \"{}\" is corrupted: a scan found {seen} entries, the structure check {n}",
                    index.name
                ),
            ));
        }
        Ok(n)
    }
}
