//! VACUUM, ANALYZE, relation sizes and storage parameters for a session
//! (PostgreSQL's `vacuum()` driver loop, `cluster.c`'s relfilenode swap for
//! VACUUM FULL, `dbsize.c`). The heap and catalog work lives in
//! `storage::heap::vacuum` and `catalog::vacuum`; this is the glue to the
//! session's transaction, locks and client.
//!
//! Rules:
//! 1. Lazy VACUUM and ANALYZE run in the statement's transaction but take
//!    no xid: their catalog updates are in place (catalog::vacuum rule 1).
//! 2. VACUUM FULL takes AccessExclusiveLock, copies the live rows into a
//!    new relfilenode and changes `pg_class.relfilenode` transactionally:
//!    the new file is removed if the transaction aborts, the old one when
//!    it commits (txn rule 2). Catalogs (whose relfilenode is fixed) get a
//!    lazy VACUUM instead.
//! 3. VERBOSE messages are INFO notices, sent once each table is done.

use std::sync::Arc;

use super::session::{Session, check_interrupts};
use crate::catalog::TableDef;
use crate::catalog::defs::PG_CATALOG_NAMESPACE;
use crate::sql::ServerContext;
use crate::sql::tables::{RelationRef, RelationSize, TableContext, VacuumRequest};
use crate::storage::heap::access::{self, HeapStorage};
use crate::storage::heap::vacuum::{self as heapvac, CostDelay, Cutoffs, VacuumEnv, VacuumOptions};
use crate::storage::lock::lmgr::LockMode;
use crate::storage::types::{BLCKSZ, ForkNumber};
use crate::storage::xact::Transam;
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

fn info(message: String) -> PgError {
    PgError::new(Severity::Info, sqlstate::SUCCESSFUL_COMPLETION, message)
}

impl Session {
    /// The tables a VACUUM / ANALYZE names, or all of the database's.
    fn vacuum_targets(&mut self, req: &VacuumRequest) -> PgResult<Vec<Arc<TableDef>>> {
        let mut out = Vec::new();
        if req.tables.is_empty() {
            let snapshot = self.txn.snapshot();
            let transam = Transam::get();
            let db_oid = self.txn.relcache.db_oid();
            for (schema, name) in crate::catalog::vacuum::all_tables(db_oid, &snapshot, &transam)? {
                if let Some(t) = self.lookup_table(Some(&schema), &name)? {
                    out.push(t);
                }
            }
            return Ok(out);
        }
        for (schema, name) in &req.tables {
            match self.lookup_table(schema.as_deref(), name)? {
                Some(t) if t.relkind != 'r' => {
                    // vacuum_rel / analyze_rel: only tables are processed
                    // (VACUUM ANALYZE warns once, as vacuum).
                    let verb = if req.vacuum { "vacuum" } else { "analyze" };
                    self.notice(PgError::new(
                        Severity::Warning,
                        sqlstate::WARNING,
                        format!(
                            "skipping \"{}\" --- cannot {verb} non-tables or special system tables",
                            t.name
                        ),
                    ));
                }
                Some(t) => out.push(t),
                None if req.skip_locked => {}
                None => {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_TABLE,
                        format!("relation \"{name}\" does not exist"),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// See [`TableContext::vacuum`].
    pub(super) fn run_vacuum(&mut self, req: &VacuumRequest) -> PgResult<()> {
        for table in self.vacuum_targets(req)? {
            check_interrupts()?;
            if req.vacuum {
                if req.full && table.namespace_oid != PG_CATALOG_NAMESPACE {
                    self.vacuum_full(&table, req)?;
                } else {
                    self.lazy_vacuum(&table, req)?;
                }
            }
            if req.analyze {
                self.analyze(&table, req)?;
            }
        }
        Ok(())
    }

    fn with_vacuum_env<R>(
        &mut self,
        f: impl FnOnce(&mut VacuumEnv<'_>) -> PgResult<R>,
    ) -> PgResult<R> {
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let db_oid = self.txn.relcache.db_oid();
        let db_name = self.current_database().to_string();
        let mut notices = Vec::new();
        let mut interrupts = check_interrupts;
        let result = {
            let mut notice = |n: PgError| notices.push(n);
            let mut env = VacuumEnv {
                db_oid,
                db_name: &db_name,
                locks: &mut self.txn.state.locks,
                snapshot: &snapshot,
                xact: &transam,
                check_interrupts: &mut interrupts,
                notice: &mut notice,
            };
            f(&mut env)
        };
        for n in notices {
            self.notice(n);
        }
        result
    }

    fn lazy_vacuum(&mut self, table: &TableDef, req: &VacuumRequest) -> PgResult<()> {
        let opts = VacuumOptions {
            freeze: req.freeze,
            verbose: req.verbose,
            truncate: req.truncate,
            is_autovacuum: false,
            freeze_min_age: self.settings().get_int("vacuum_freeze_min_age"),
        };
        let cost = CostDelay::from_settings(self.settings(), false);
        self.with_vacuum_env(|env| heapvac::vacuum_relation(table, &opts, &cost, env))?;
        Ok(())
    }

    fn analyze(&mut self, table: &TableDef, req: &VacuumRequest) -> PgResult<()> {
        self.with_vacuum_env(|env| heapvac::analyze_relation(table, req.verbose, false, env))?;
        Ok(())
    }

    /// VACUUM FULL (rule 2).
    fn vacuum_full(&mut self, table: &TableDef, req: &VacuumRequest) -> PgResult<()> {
        let started = std::time::Instant::now();
        self.lock_table(table, LockMode::AccessExclusive)?;
        if req.verbose {
            self.notice(info(format!(
                "vacuuming \"{}.{}\"",
                table.namespace, table.name
            )));
        }
        let old_rel = table.heap_relation();
        let mut new_def = table.clone();
        new_def.relfilenode = crate::catalog::oid::new_relfilenumber(table.db_oid)?;
        let new_rel = new_def.heap_relation();
        access::heap_create_storage(&new_rel)?;
        self.txn.note_created(new_rel.clone());
        let opts = VacuumOptions {
            freeze: req.freeze,
            freeze_min_age: self.settings().get_int("vacuum_freeze_min_age"),
            ..Default::default()
        };
        let cutoffs = Cutoffs::new(crate::storage::xact::oldest_xmin(), &opts);
        let transam = Transam::get();
        let mut interrupts = check_interrupts;
        let res = HeapStorage::this_process().rewrite(
            &old_rel,
            &new_rel,
            cutoffs,
            &transam,
            &mut interrupts,
        )?;
        let snapshot = self.txn.snapshot();
        let db_oid = self.txn.relcache.db_oid();
        {
            let mut cx = self.txn.write_context(&transam, None, &mut interrupts)?;
            crate::catalog::vacuum::set_relfilenode(
                db_oid,
                table,
                new_def.relfilenode,
                res.new_pages,
                (res.kept + res.recently_dead) as f64,
                cutoffs.freeze_limit,
                &snapshot,
                &mut cx,
            )?;
        }
        self.txn.note_catalog_change();
        self.txn.note_dropped(old_rel);
        self.reset_indexes(&new_def, true)?;
        self.txn.relcache.invalidate();
        if req.verbose {
            self.notice(
                info(format!(
                    "\"{}.{}\": found {} removable, {} nonremovable row versions in {} pages",
                    table.namespace,
                    table.name,
                    res.removed,
                    res.kept + res.recently_dead,
                    res.old_pages
                ))
                .with_detail(format!(
                    "{} dead row versions cannot be removed yet.\nCPU: user: 0.00 s, system: 0.00 s, elapsed: {:.2} s.",
                    res.recently_dead,
                    started.elapsed().as_secs_f64()
                )),
            );
        }
        crate::utils::pgstat::report_vacuum(
            db_oid,
            table.oid,
            res.kept as i64,
            res.recently_dead as i64,
            false,
        );
        Ok(())
    }

    /// See [`TableContext::truncate`] (PostgreSQL's `ExecuteTruncateGuts`
    /// with a new relfilenode per table, as VACUUM FULL gets one).
    pub(super) fn truncate_tables(
        &mut self,
        tables: &[Arc<TableDef>],
        restart_identity: bool,
    ) -> PgResult<()> {
        for t in tables {
            self.lock_table(t, LockMode::AccessExclusive)?;
        }
        let db_oid = self.txn.relcache.db_oid();
        let mut restart = Vec::new();
        for table in tables {
            let old_rel = table.heap_relation();
            let mut new_def = (**table).clone();
            new_def.relfilenode = crate::catalog::oid::new_relfilenumber(table.db_oid)?;
            let new_rel = new_def.heap_relation();
            access::heap_create_storage(&new_rel)?;
            self.txn.note_created(new_rel);
            let snapshot = self.txn.snapshot();
            let transam = Transam::get();
            let mut interrupts = check_interrupts;
            {
                let mut cx = self.txn.write_context(&transam, None, &mut interrupts)?;
                crate::catalog::vacuum::set_relfilenode(
                    db_oid,
                    table,
                    new_def.relfilenode,
                    0,
                    -1.0,
                    crate::storage::types::Xid::INVALID,
                    &snapshot,
                    &mut cx,
                )?;
            }
            self.txn.note_catalog_change();
            self.txn.note_dropped(old_rel);
            self.reset_indexes(&new_def, false)?;
            crate::utils::pgstat::report_vacuum(db_oid, table.oid, 0, 0, false);
            if restart_identity {
                use crate::sql::tables::TableContext;
                restart.extend(
                    self.owned_sequences(table.oid)?
                        .into_iter()
                        .map(|(s, _, _)| s),
                );
            }
        }
        self.txn.relcache.invalidate();
        for seq in restart {
            use crate::sql::tables::TableContext;
            if let (Some(def), Some(form)) = (self.lookup_relation(seq)?, self.seq_form(seq)?) {
                self.lock_table(&def, LockMode::AccessExclusive)?;
                crate::storage::sequence::seq_set(&def.heap_relation(), form.start, false)?;
            }
        }
        Ok(())
    }

    /// See [`TableContext::relation_size`].
    pub(super) fn relation_size_of(
        &mut self,
        rel: &RelationRef,
        what: RelationSize,
    ) -> PgResult<Option<i64>> {
        let table = match rel {
            RelationRef::Name(schema, name) => self.lookup_table(schema.as_deref(), name)?,
            RelationRef::Oid(oid) => {
                let snapshot = self.txn.snapshot();
                let transam = Transam::get();
                let db_oid = self.txn.relcache.db_oid();
                match crate::catalog::vacuum::relation_name_by_oid(
                    db_oid, *oid, &snapshot, &transam,
                )? {
                    Some((schema, name)) => self.lookup_table(Some(&schema), &name)?,
                    None => None,
                }
            }
        };
        let Some(table) = table else {
            return Ok(None);
        };
        let smgr = crate::storage::smgr::smgr();
        let all = [
            ForkNumber::Main,
            ForkNumber::Fsm,
            ForkNumber::VisibilityMap,
            ForkNumber::Init,
        ];
        let size = |locator, forks: &[ForkNumber]| -> PgResult<i64> {
            let mut bytes = 0i64;
            for &fork in forks {
                if smgr.exists(locator, fork)? {
                    bytes += smgr.nblocks(locator, fork)? as i64 * BLCKSZ as i64;
                }
            }
            Ok(bytes)
        };
        let locator = table.heap_relation().locator;
        let indexes = || -> PgResult<i64> {
            let mut bytes = 0;
            for i in &table.indexes {
                bytes += size(i.locator(), &all)?;
            }
            Ok(bytes)
        };
        Ok(Some(match what {
            RelationSize::Fork(f) => size(locator, &[f])?,
            RelationSize::Table => size(locator, &all)?,
            RelationSize::Indexes => indexes()?,
            RelationSize::Total => size(locator, &all)? + indexes()?,
        }))
    }

    /// See [`TableContext::alter_reloptions`].
    pub(super) fn alter_reloptions_of(
        &mut self,
        schema: Option<&str>,
        name: &str,
        set: &[(String, Option<String>)],
        reset: &[String],
    ) -> PgResult<()> {
        let Some(table) = self.lookup_table(schema, name)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            ));
        };
        if table.namespace_oid == PG_CATALOG_NAMESPACE {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", table.name),
            ));
        }
        let mut pairs = Vec::with_capacity(set.len());
        for (k, v) in set {
            pairs.push((
                k.clone(),
                crate::catalog::vacuum::validate_reloption(k, v.as_deref())?,
            ));
        }
        for k in reset {
            crate::catalog::vacuum::validate_reloption(k, Some("0")).or_else(|e| {
                if e.message.starts_with("unrecognized") {
                    Err(e)
                } else {
                    Ok(String::new())
                }
            })?;
        }
        self.lock_table(&table, LockMode::ShareUpdateExclusive)?;
        let snapshot = self.txn.snapshot();
        let transam = Transam::get();
        let db_oid = self.txn.relcache.db_oid();
        let mut interrupts = check_interrupts;
        {
            let mut cx = self.txn.write_context(&transam, None, &mut interrupts)?;
            use crate::catalog::vacuum::{RelOptionsChange, change_reloptions};
            if !pairs.is_empty() {
                change_reloptions(
                    db_oid,
                    &table,
                    RelOptionsChange::Set(&pairs),
                    &snapshot,
                    &mut cx,
                )?;
            }
            if !reset.is_empty() {
                if !pairs.is_empty() {
                    // The second change must see the first.
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "SET and RESET in one ALTER TABLE are not supported by ferrogres yet",
                    ));
                }
                change_reloptions(
                    db_oid,
                    &table,
                    RelOptionsChange::Reset(reset),
                    &snapshot,
                    &mut cx,
                )?;
            }
        }
        self.txn.note_catalog_change();
        self.txn.relcache.invalidate();
        Ok(())
    }

    /// See [`TableContext::age_reference_xid`].
    pub(super) fn age_reference(&mut self) -> i64 {
        let top = self.txn.top_xid();
        if top.is_valid() {
            top.0 as i64
        } else {
            crate::storage::xact::next_xid().0 as i64
        }
    }
}
