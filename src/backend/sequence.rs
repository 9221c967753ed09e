//! Sequences as a session uses them (the backend half of PostgreSQL's
//! `commands/sequence.c`): creating and altering them through the
//! catalog, and `nextval`/`currval`/`setval`/`lastval` with the session's
//! cache of values fetched ahead (`CACHE n`, PostgreSQL's `SeqTable`).
//!
//! Locks: `nextval` and `setval` take RowExclusiveLock on the sequence
//! (held to the end of the transaction, so `DROP SEQUENCE` waits for
//! them), `currval` AccessShareLock; the counter itself is protected by
//! its page's content lock (`storage::sequence` rule S4).

use std::collections::HashMap;
use std::sync::Arc;

use super::session::{Session, check_interrupts};
use crate::catalog::TableDef;
use crate::catalog::defs::ColumnDef;
use crate::catalog::pg_sequence::{self, SeqForm};
use crate::sql::ServerContext;
use crate::storage::lock::lmgr::LockMode;
use crate::storage::sequence::{self, SEQ_COLUMNS, SeqState};
use crate::storage::xact::Transam;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// What a session remembers of one sequence (PostgreSQL's `SeqTableData`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SeqCacheEntry {
    /// The value `nextval` returned last (`currval`), once `valid`.
    last: i64,
    /// The last value fetched into this session's cache: `nextval`
    /// returns `last + increment` without the page while `last != cached`.
    cached: i64,
    increment: i64,
    valid: bool,
}

/// The session's sequence state: its caches and `lastval`'s sequence.
#[derive(Default)]
pub(super) struct SessionSequences {
    entries: HashMap<u32, SeqCacheEntry>,
    last_used: Option<u32>,
}

fn not_a_sequence(name: &str) -> PgError {
    PgError::error(
        sqlstate::WRONG_OBJECT_TYPE,
        format!("\"{name}\" is not a sequence"),
    )
}

fn read_only(function: &str) -> PgError {
    PgError::error(
        sqlstate::READ_ONLY_SQL_TRANSACTION,
        format!("cannot execute {function}() in a read-only transaction"),
    )
}

impl Session {
    /// The sequence `oid` and its `pg_sequence` row, locked in `mode`
    /// (`init_sequence` + `lock_and_open_sequence`).
    fn open_sequence(&mut self, oid: u32, mode: LockMode) -> PgResult<(Arc<TableDef>, SeqForm)> {
        let Some(def) = self.relation_by_oid(oid)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("could not open relation with OID {oid}"),
            ));
        };
        if def.relkind != 'S' {
            return Err(not_a_sequence(&def.name));
        }
        self.lock_table(&def, mode)?;
        let snapshot = self.txn.snapshot();
        let form =
            pg_sequence::read_form(self.txn.relcache.db_oid(), oid, &snapshot, &Transam::get())?
                .ok_or_else(|| not_a_sequence(&def.name))?;
        Ok((def, form))
    }

    pub(super) fn relation_by_oid(&mut self, oid: u32) -> PgResult<Option<Arc<TableDef>>> {
        let snapshot = self.txn.snapshot();
        self.txn
            .relcache
            .lookup_oid(oid, &snapshot, &Transam::get())
    }

    pub(super) fn seq_create(
        &mut self,
        schema: &str,
        name: &str,
        form: SeqForm,
        owned_by: Option<(u32, i16, u8)>,
    ) -> PgResult<()> {
        let columns = SEQ_COLUMNS
            .iter()
            .map(|(n, t)| ColumnDef {
                name: n.to_string(),
                type_oid: t.type_oid(),
                typmod: -1,
                not_null: true,
                default_expr: None,
                identity: 0,
            })
            .collect();
        let db = self.txn.relcache.db_oid();
        let def = self
            .txn
            .catalog_write(&mut check_interrupts, |relcache, snapshot, cx| {
                let def =
                    relcache.create_relation(Some(schema), name, columns, 'S', snapshot, cx)?;
                pg_sequence::insert_form(db, def.oid, &form, cx)?;
                if owned_by.is_some() {
                    pg_sequence::set_owner(db, def.oid, owned_by, snapshot, cx)?;
                }
                Ok(def)
            })?;
        self.txn.note_created(def.heap_relation());
        sequence::seq_init(
            &def.heap_relation(),
            SeqState {
                last_value: form.start,
                log_cnt: 0,
                is_called: false,
            },
        )
    }

    pub(super) fn seq_alter(
        &mut self,
        seq: &TableDef,
        form: SeqForm,
        restart: Option<i64>,
        owned_by: Option<Option<(u32, i16)>>,
    ) -> PgResult<()> {
        self.lock_table(seq, LockMode::ShareRowExclusive)?;
        let db = self.txn.relcache.db_oid();
        let oid = seq.oid;
        self.txn
            .catalog_write(&mut check_interrupts, |_, snapshot, cx| {
                pg_sequence::update_form(db, oid, &form, snapshot, cx)?;
                if let Some(owner) = owned_by {
                    pg_sequence::set_owner(
                        db,
                        oid,
                        owner.map(|(t, a)| (t, a, b'a')),
                        snapshot,
                        cx,
                    )?;
                }
                Ok(())
            })?;
        let rel = seq.heap_relation();
        let now = sequence::seq_read(&rel)?;
        // As in PostgreSQL: RESTART sets the value not yet called; any
        // other change keeps it, but logs again (log_cnt 0) with the new
        // parameters.
        match restart {
            Some(v) => sequence::seq_set(&rel, v, false)?,
            None => sequence::seq_set(&rel, now.last_value, now.is_called)?,
        }
        // This session's cached values are of the old parameters.
        if let Some(e) = self.sequences.entries.get_mut(&oid) {
            e.cached = e.last;
        }
        Ok(())
    }

    pub(super) fn seq_form(&mut self, oid: u32) -> PgResult<Option<SeqForm>> {
        let snapshot = self.txn.snapshot();
        pg_sequence::read_form(self.txn.relcache.db_oid(), oid, &snapshot, &Transam::get())
    }

    pub(super) fn seq_nextval(&mut self, oid: u32) -> PgResult<i64> {
        let (def, form) = self.open_sequence(oid, LockMode::RowExclusive)?;
        if self.settings().get_bool("transaction_read_only") {
            return Err(read_only("nextval"));
        }
        if let Some(e) = self.sequences.entries.get_mut(&oid)
            && e.valid
            && e.last != e.cached
        {
            // A value from this session's cache (no page access).
            e.last += e.increment;
            self.sequences.last_used = Some(oid);
            return Ok(e.last);
        }
        let fetched = sequence::seq_fetch(&def.heap_relation(), &def.name, form.params())?;
        self.sequences.entries.insert(
            oid,
            SeqCacheEntry {
                last: fetched.value,
                cached: fetched.last_cached,
                increment: form.increment,
                valid: true,
            },
        );
        self.sequences.last_used = Some(oid);
        Ok(fetched.value)
    }

    pub(super) fn seq_currval(&mut self, oid: u32) -> PgResult<i64> {
        let (def, _) = self.open_sequence(oid, LockMode::AccessShare)?;
        match self.sequences.entries.get(&oid) {
            Some(e) if e.valid => Ok(e.last),
            _ => Err(PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!(
                    "currval of sequence \"{}\" is not yet defined in this session",
                    def.name
                ),
            )),
        }
    }

    pub(super) fn seq_lastval(&mut self) -> PgResult<i64> {
        let undefined = || {
            PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "lastval is not yet defined in this session",
            )
        };
        let oid = self.sequences.last_used.ok_or_else(undefined)?;
        // The sequence may have been dropped since.
        if self.relation_by_oid(oid)?.is_none() {
            return Err(undefined());
        }
        self.seq_currval(oid)
    }

    pub(super) fn seq_setval(&mut self, oid: u32, value: i64, is_called: bool) -> PgResult<i64> {
        let (def, form) = self.open_sequence(oid, LockMode::RowExclusive)?;
        if self.settings().get_bool("transaction_read_only") {
            return Err(read_only("setval"));
        }
        if value < form.min || value > form.max {
            return Err(PgError::error(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                format!(
                    "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                    def.name, form.min, form.max
                ),
            ));
        }
        sequence::seq_set(&def.heap_relation(), value, is_called)?;
        let e = self.sequences.entries.entry(oid).or_default();
        // Values cached before are not to be handed out any more.
        e.cached = e.last;
        e.increment = form.increment;
        if is_called {
            e.last = value;
            e.cached = value;
            e.valid = true;
        }
        Ok(value)
    }

    pub(super) fn seq_state(&mut self, oid: u32) -> PgResult<Option<(i64, i64, bool)>> {
        let Some(def) = self.relation_by_oid(oid)? else {
            return Ok(None);
        };
        if def.relkind != 'S' {
            return Err(not_a_sequence(&def.name));
        }
        self.lock_table(&def, LockMode::AccessShare)?;
        let s = sequence::seq_read(&def.heap_relation())?;
        Ok(Some((s.last_value, s.log_cnt, s.is_called)))
    }

    pub(super) fn seq_discard(&mut self) {
        self.sequences = SessionSequences::default();
    }
}

impl Session {
    /// `pg_sequences`: every sequence of the database with its parameters
    /// and `last_value` (NULL before the first `nextval`), in oid order.
    pub(super) fn pg_sequences(&mut self) -> PgResult<crate::sql::VirtualRelation> {
        use crate::catalog::defs::{
            PG_CLASS, PG_NAMESPACE, pg_class_col as c, pg_namespace_col as n,
        };
        use crate::catalog::relcache::{as_oid, as_str, scan_catalog};
        use crate::sql::types::{Datum, Type};
        let db = self.txn.relcache.db_oid();
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let mut namespaces = HashMap::new();
        scan_catalog(PG_NAMESPACE, db, &snapshot, &transam, &mut |_, row| {
            namespaces.insert(as_oid(&row[n::OID]), as_str(&row[n::NSPNAME]));
            true
        })?;
        let mut seqs = Vec::new();
        scan_catalog(PG_CLASS, db, &snapshot, &transam, &mut |_, row| {
            if as_str(&row[c::RELKIND]) == "S" {
                seqs.push((
                    as_oid(&row[c::OID]),
                    as_str(&row[c::RELNAME]),
                    as_oid(&row[c::RELNAMESPACE]),
                    as_oid(&row[c::RELOWNER]),
                ));
            }
            true
        })?;
        seqs.sort_by_key(|s| s.0);
        let mut rows = Vec::new();
        for (oid, name, ns, owner) in seqs {
            let Some(f) = self.seq_form(oid)? else {
                continue;
            };
            let last = match self.seq_state(oid)? {
                Some((v, _, true)) => Datum::Int8(v),
                _ => Datum::Null,
            };
            let owner = self
                .roles
                .iter()
                .find(|r| r.oid == owner)
                .map_or_else(|| owner.to_string(), |r| r.name.clone());
            rows.push(vec![
                Datum::Text(namespaces.get(&ns).cloned().unwrap_or_default()),
                Datum::Text(name),
                Datum::Text(owner),
                Datum::Oid(f.type_oid),
                Datum::Int8(f.start),
                Datum::Int8(f.min),
                Datum::Int8(f.max),
                Datum::Int8(f.increment),
                Datum::Bool(f.cycle),
                Datum::Int8(f.cache),
                last,
            ]);
        }
        let columns = [
            ("schemaname", Type::Name),
            ("sequencename", Type::Name),
            ("sequenceowner", Type::Name),
            ("data_type", Type::Regtype),
            ("start_value", Type::Int8),
            ("min_value", Type::Int8),
            ("max_value", Type::Int8),
            ("increment_by", Type::Int8),
            ("cycle", Type::Bool),
            ("cache_size", Type::Int8),
            ("last_value", Type::Int8),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
        Ok(crate::sql::VirtualRelation { columns, rows })
    }
}
