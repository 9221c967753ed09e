//! The reporting side, in every process but the collector (PostgreSQL 14's
//! `pgstat_count_*`, `AtEOXact_PgStat`, `pgstat_report_stat` and
//! `backend_read_statsfile`).
//!
//! State is process-local (one backend serves one session). Table counters
//! of the running transaction wait in a stack of levels (one per open
//! savepoint) and join the pending counters when their transaction or
//! savepoint ends, committed or aborted; pending counters go to the
//! collector at most every [`MIN_INTERVAL`] and when the process ends.
//! Buffer accesses are counted by the buffer pool through
//! [`count_buffer_hit`] and friends: atomics for the process's totals
//! (`pg_stat_io`), plus a per-relation map in backends (`pg_statio_*`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::msg::{DbCounts, IoCounts, Msg, TABSTAT_PER_MSG, TableCounts};
use super::snapshot::{IO_BACKEND_TYPES, StatsSnapshot, tmp_path};
use super::socket;
use crate::storage::types::{Oid, RelFileLocator};
use crate::utils::elog::{self, Severity};

/// PostgreSQL's `PGSTAT_STAT_INTERVAL`: how often a backend flushes at most.
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);
/// How long a reader waits for a fresh snapshot before using the last one
/// (PostgreSQL waits `PGSTAT_MAX_WAIT_TIME`, 10 s; a dead collector should
/// not stall a monitoring query that long).
pub const MAX_WAIT: Duration = Duration::from_secs(3);
/// How often a waiting reader checks the file (`PGSTAT_RETRY_DELAY`).
const RETRY_DELAY: Duration = Duration::from_millis(10);
/// How often it repeats its inquiry (`PGSTAT_INQ_INTERVAL`).
const INQUIRY_INTERVAL: Duration = Duration::from_millis(640);
/// Bound on the per-relation buffer counters kept between flushes.
const MAX_REL_IO_ENTRIES: usize = 10_000;

/// Counts of one table in one transaction level (`PgStat_TableXactStatus`).
#[derive(Clone, Copy, Default)]
struct XactCounts {
    inserted: u64,
    updated: u64,
    deleted: u64,
}

struct XactLevel {
    /// The savepoint that opened the level (None for the top level).
    savepoint: Option<String>,
    tables: HashMap<(Oid, Oid), XactCounts>,
}

impl XactLevel {
    fn new(savepoint: Option<String>) -> XactLevel {
        XactLevel {
            savepoint,
            tables: HashMap::new(),
        }
    }
}

struct Local {
    /// The session's database (0 outside backends).
    db_oid: Oid,
    track_counts: bool,
    /// Level 0 is the transaction; one more per open savepoint.
    xact: Vec<XactLevel>,
    /// Counters waiting for the next flush, by (database, relation).
    tables: HashMap<(Oid, Oid), TableCounts>,
    /// Database-wide counters of `db_oid` waiting for the next flush.
    db: DbCounts,
    /// relfilenode → table oid, learnt as tables are used.
    relfilenodes: HashMap<(Oid, Oid), Oid>,
    /// This process's I/O totals at the last flush.
    io_sent: IoCounts,
    last_flush: Option<Instant>,
    /// The snapshot this transaction reads (PostgreSQL keeps one per
    /// transaction so that joins between views are consistent).
    snapshot: Option<Arc<StatsSnapshot>>,
}

impl Local {
    fn new() -> Local {
        Local {
            db_oid: 0,
            track_counts: true,
            xact: Vec::new(),
            tables: HashMap::new(),
            db: DbCounts::default(),
            relfilenodes: HashMap::new(),
            io_sent: IoCounts::default(),
            last_flush: None,
            snapshot: None,
        }
    }

    fn top(&mut self) -> &mut XactLevel {
        if self.xact.is_empty() {
            self.xact.push(XactLevel::new(None));
        }
        self.xact.last_mut().expect("a level exists")
    }

    fn savepoint(&mut self, name: &str) {
        self.top();
        self.xact.push(XactLevel::new(Some(name.to_string())));
    }

    fn find_savepoint(&self, name: &str) -> Option<usize> {
        self.xact
            .iter()
            .rposition(|x| x.savepoint.as_deref() == Some(name))
    }

    fn release_savepoint(&mut self, name: &str) {
        let Some(i) = self.find_savepoint(name) else {
            return;
        };
        let released: Vec<XactLevel> = self.xact.drain(i..).collect();
        let below = self.xact.last_mut().expect("level 0 is never a savepoint");
        for level in released {
            for (key, x) in level.tables {
                let b = below.tables.entry(key).or_default();
                b.inserted += x.inserted;
                b.updated += x.updated;
                b.deleted += x.deleted;
            }
        }
    }

    fn rollback_to_savepoint(&mut self, name: &str) {
        let Some(i) = self.find_savepoint(name) else {
            return;
        };
        let aborted: Vec<XactLevel> = self.xact.drain(i..).collect();
        for level in aborted {
            self.end_level(level, false);
        }
        self.xact.push(XactLevel::new(Some(name.to_string())));
    }

    fn end_transaction(&mut self, commit: bool) {
        let levels: Vec<XactLevel> = self.xact.drain(..).collect();
        for level in levels {
            self.end_level(level, commit);
        }
        if commit {
            self.db.xact_commit += 1;
        } else {
            self.db.xact_rollback += 1;
        }
        self.snapshot = None;
    }

    /// Folds a finished level into the pending counters (PostgreSQL's
    /// `AtEOXact_PgStat` / `AtEOSubXact_PgStat` for an abort).
    fn end_level(&mut self, level: XactLevel, commit: bool) {
        for (key, x) in level.tables {
            let t = self.tables.entry(key).or_default();
            t.tup_ins += x.inserted;
            t.tup_upd += x.updated;
            t.tup_del += x.deleted;
            if commit {
                t.live_delta += x.inserted as i64 - x.deleted as i64;
                t.dead_delta += (x.updated + x.deleted) as i64;
                t.changed += x.inserted + x.updated + x.deleted;
                t.inserted_committed += x.inserted;
            } else {
                // Aborted inserts and the new versions of aborted updates
                // are dead tuples now.
                t.dead_delta += (x.inserted + x.updated) as i64;
            }
        }
    }
}

static LOCAL: LazyLock<Mutex<Local>> = LazyLock::new(|| Mutex::new(Local::new()));

fn local() -> MutexGuard<'static, Local> {
    // A panic while holding it aborts the process anyway.
    LOCAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// Buffer I/O, counted by the buffer pool
// ---------------------------------------------------------------------------

static IO_READS: AtomicU64 = AtomicU64::new(0);
static IO_HITS: AtomicU64 = AtomicU64::new(0);
static IO_WRITES: AtomicU64 = AtomicU64::new(0);
static IO_EXTENDS: AtomicU64 = AtomicU64::new(0);
static IO_EVICTIONS: AtomicU64 = AtomicU64::new(0);
static IO_FSYNCS: AtomicU64 = AtomicU64::new(0);
static IO_DIRTIED: AtomicU64 = AtomicU64::new(0);
static TRACK_REL_IO: AtomicBool = AtomicBool::new(false);
/// (database, relfilenode) → (blocks read, blocks hit), backends only.
static REL_IO: Mutex<Option<HashMap<(Oid, Oid), (u64, u64)>>> = Mutex::new(None);

fn count_rel_io(rel: RelFileLocator, read: u64, hit: u64) {
    if !TRACK_REL_IO.load(Ordering::Relaxed) {
        return;
    }
    let mut g = REL_IO.lock().unwrap_or_else(|e| e.into_inner());
    let map = g.get_or_insert_with(HashMap::new);
    let key = (rel.db_oid, rel.rel_number);
    if map.len() >= MAX_REL_IO_ENTRIES && !map.contains_key(&key) {
        return;
    }
    let e = map.entry(key).or_default();
    e.0 += read;
    e.1 += hit;
}

/// A block of `rel` found in the pool.
pub fn count_buffer_hit(rel: RelFileLocator) {
    IO_HITS.fetch_add(1, Ordering::Relaxed);
    count_rel_io(rel, 0, 1);
}

/// A block of `rel` read from disk into the pool.
pub fn count_buffer_read(rel: RelFileLocator) {
    IO_READS.fetch_add(1, Ordering::Relaxed);
    count_rel_io(rel, 1, 0);
}

/// A dirty buffer written out by this process.
pub fn count_buffer_write() {
    IO_WRITES.fetch_add(1, Ordering::Relaxed);
}

/// A relation extended by one block by this process.
pub fn count_buffer_extend() {
    IO_EXTENDS.fetch_add(1, Ordering::Relaxed);
}

/// A clean buffer dirtied by this process (EXPLAIN's `dirtied`).
pub fn count_buffer_dirtied() {
    IO_DIRTIED.fetch_add(1, Ordering::Relaxed);
}

/// This process's shared-buffer usage so far, as EXPLAIN (BUFFERS) shows
/// it (PostgreSQL's `pgBufferUsage`): hits, reads, dirtied, written.
pub fn buffer_usage() -> [u64; 4] {
    [
        IO_HITS.load(Ordering::Relaxed),
        IO_READS.load(Ordering::Relaxed),
        IO_DIRTIED.load(Ordering::Relaxed),
        IO_WRITES.load(Ordering::Relaxed),
    ]
}

/// A valid buffer evicted by this process to make room.
pub fn count_buffer_eviction() {
    IO_EVICTIONS.fetch_add(1, Ordering::Relaxed);
}

/// A relation segment fsynced by this process (the checkpointer's sync
/// phase, or a backend whose fsync request queue was full).
pub fn count_fsync() {
    IO_FSYNCS.fetch_add(1, Ordering::Relaxed);
}

fn io_totals() -> IoCounts {
    IoCounts {
        reads: IO_READS.load(Ordering::Relaxed),
        writes: IO_WRITES.load(Ordering::Relaxed),
        extends: IO_EXTENDS.load(Ordering::Relaxed),
        hits: IO_HITS.load(Ordering::Relaxed),
        evictions: IO_EVICTIONS.load(Ordering::Relaxed),
        fsyncs: IO_FSYNCS.load(Ordering::Relaxed),
    }
}

/// This process's row in `pg_stat_io`, from its process-array slot.
fn my_io_backend_type() -> Option<u8> {
    let kind = crate::process::my_slot()?.kind()?;
    let name = match kind.info().backend_type? {
        "parallel worker" | "logical replication launcher" => "background worker",
        other => other,
    };
    IO_BACKEND_TYPES
        .iter()
        .position(|t| *t == name)
        .map(|i| i as u8)
}

// ---------------------------------------------------------------------------
// Sessions and transactions
// ---------------------------------------------------------------------------

/// A backend connected to `db` (PostgreSQL's `pgstat_report_connect`).
pub fn init_backend(db: Oid) {
    let mut l = local();
    l.db_oid = db;
    l.db.sessions += 1;
    TRACK_REL_IO.store(true, Ordering::Relaxed);
}

/// The database this backend is connected to (0 elsewhere).
pub fn my_database() -> Oid {
    local().db_oid
}

/// `track_counts` as the transaction starts.
pub fn set_track_counts(on: bool) {
    local().track_counts = on;
}

/// Remembers which table a relfilenode belongs to (for `pg_statio_*`).
fn note_relation(l: &mut Local, db: Oid, rel: Oid, relfilenode: Oid) {
    if relfilenode != rel && l.relfilenodes.len() < MAX_REL_IO_ENTRIES {
        l.relfilenodes.insert((db, relfilenode), rel);
    }
}

/// A sequential scan of `rel` that returned `tuples` rows.
pub fn count_seq_scan(db: Oid, rel: Oid, relfilenode: Oid, tuples: u64) {
    let mut l = local();
    if !l.track_counts {
        return;
    }
    note_relation(&mut l, db, rel, relfilenode);
    let t = l.tables.entry((db, rel)).or_default();
    t.seq_scan += 1;
    t.seq_tup_read += tuples;
    l.db.tup_returned += tuples;
}

fn count_change(db: Oid, rel: Oid, relfilenode: Oid, f: impl FnOnce(&mut XactCounts)) {
    let mut l = local();
    if !l.track_counts {
        return;
    }
    note_relation(&mut l, db, rel, relfilenode);
    f(l.top().tables.entry((db, rel)).or_default());
}

pub fn count_insert(db: Oid, rel: Oid, relfilenode: Oid) {
    count_change(db, rel, relfilenode, |x| x.inserted += 1);
}

/// `n` rows inserted at once (COPY's batches).
pub fn count_inserts(db: Oid, rel: Oid, relfilenode: Oid, n: u64) {
    count_change(db, rel, relfilenode, |x| x.inserted += n);
}

pub fn count_update(db: Oid, rel: Oid, relfilenode: Oid) {
    count_change(db, rel, relfilenode, |x| x.updated += 1);
}

pub fn count_delete(db: Oid, rel: Oid, relfilenode: Oid) {
    count_change(db, rel, relfilenode, |x| x.deleted += 1);
}

/// A temporary file of `bytes` bytes was deleted (`pgstat_report_tempfile`).
pub fn count_temp_file(bytes: u64) {
    let mut l = local();
    if !l.track_counts {
        return;
    }
    l.db.temp_files += 1;
    l.db.temp_bytes += bytes;
}

/// A deadlock was detected in this backend.
pub fn count_deadlock() {
    local().db.deadlocks += 1;
}

/// SAVEPOINT `name` was defined.
pub fn savepoint(name: &str) {
    local().savepoint(name);
}

/// RELEASE SAVEPOINT `name`: its level and those above join the one below.
pub fn release_savepoint(name: &str) {
    local().release_savepoint(name);
}

/// ROLLBACK TO SAVEPOINT `name`: the work since it is aborted; the
/// savepoint stays defined.
pub fn rollback_to_savepoint(name: &str) {
    local().rollback_to_savepoint(name);
}

/// The transaction ended (PostgreSQL's `AtEOXact_PgStat`), then a flush
/// if the last one is at least [`MIN_INTERVAL`] old.
pub fn end_transaction(commit: bool) {
    local().end_transaction(commit);
    report_stat(false);
}

/// The session ends: an open transaction counts as rolled back (the caller
/// aborted it), the session time is added and everything is sent.
pub fn end_session(in_transaction: bool, session_time: Duration) {
    if in_transaction {
        end_transaction(false);
    }
    local().db.session_time_us += session_time.as_micros() as u64;
    report_stat(true);
}

/// When an idle backend should wake to send what it holds back (None:
/// nothing pending). PostgreSQL's `IdleStatsUpdateTimeout`.
pub fn idle_flush_deadline() -> Option<Instant> {
    let l = local();
    let rel_io_pending = REL_IO
        .lock()
        .map(|g| g.as_ref().is_some_and(|m| !m.is_empty()))
        .unwrap_or(false);
    let pending = !l.tables.is_empty()
        || !l.db.is_zero()
        || rel_io_pending
        || !io_totals().since(&l.io_sent).is_zero();
    if !pending || !socket::available() {
        return None;
    }
    Some(match l.last_flush {
        Some(t) => t + MIN_INTERVAL,
        None => Instant::now(),
    })
}

/// Sends the pending counters (PostgreSQL's `pgstat_report_stat`): always
/// when `force`, otherwise only if the last flush is at least
/// [`MIN_INTERVAL`] old. Returns whether it sent.
pub fn report_stat(force: bool) -> bool {
    let mut l = local();
    let now = Instant::now();
    if !force
        && l.last_flush
            .is_some_and(|t| now.duration_since(t) < MIN_INTERVAL)
    {
        return false;
    }
    l.last_flush = Some(now);
    // Per-relation buffer counters become table counters.
    let rel_io = REL_IO
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    for ((db, relfilenode), (read, hit)) in rel_io {
        let rel = l
            .relfilenodes
            .get(&(db, relfilenode))
            .copied()
            .unwrap_or(relfilenode);
        let t = l.tables.entry((db, rel)).or_default();
        t.blocks_read += read;
        t.blocks_hit += hit;
    }
    // pg_stat_io.
    let totals = io_totals();
    let io = totals.since(&l.io_sent);
    l.io_sent = totals;
    if !io.is_zero()
        && let Some(backend_type) = my_io_backend_type()
    {
        socket::send(&Msg::Io {
            backend_type,
            counts: io,
        });
    }
    // Table and database counters, grouped by database.
    let mut by_db: HashMap<Oid, Vec<(Oid, TableCounts)>> = HashMap::new();
    for ((db, rel), c) in l.tables.drain() {
        if !c.is_zero() {
            by_db.entry(db).or_default().push((rel, c));
        }
    }
    let my_db = l.db_oid;
    let mut db_counts = std::mem::take(&mut l.db);
    if !db_counts.is_zero() {
        by_db.entry(my_db).or_default();
    }
    drop(l);
    for (db, tables) in by_db {
        let mut chunks: Vec<Vec<(Oid, TableCounts)>> =
            tables.chunks(TABSTAT_PER_MSG).map(|c| c.to_vec()).collect();
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        for tables in chunks {
            let counts = if db == my_db {
                std::mem::take(&mut db_counts)
            } else {
                DbCounts::default()
            };
            socket::send(&Msg::TabStat {
                db,
                db_counts: counts,
                tables,
            });
        }
    }
    true
}

/// For background processes' main loops: sends their I/O counters (at most
/// every [`MIN_INTERVAL`]).
pub fn report_background_io() {
    if io_totals().since(&local().io_sent).is_zero() {
        return;
    }
    report_stat(false);
}

// ---------------------------------------------------------------------------
// Reports from VACUUM, ANALYZE and the archiver
// ---------------------------------------------------------------------------

/// VACUUM of `rel` in `db` finished: n_live_tup/n_dead_tup become `live`
/// and `dead`, last_(auto)vacuum is now and n_ins_since_vacuum restarts.
pub fn report_vacuum(db: Oid, rel: Oid, live: i64, dead: i64, autovacuum: bool) {
    report_maintenance(db, rel, false, live, dead, autovacuum);
}

/// ANALYZE of `rel` in `db` finished: as [`report_vacuum`], for
/// last_(auto)analyze and n_mod_since_analyze.
pub fn report_analyze(db: Oid, rel: Oid, live: i64, dead: i64, autovacuum: bool) {
    report_maintenance(db, rel, true, live, dead, autovacuum);
}

fn report_maintenance(db: Oid, rel: Oid, analyze: bool, live: i64, dead: i64, autovacuum: bool) {
    // Counts this process still holds for the table were taken before the
    // scan: send them first so that the report overrides them.
    report_stat(true);
    socket::send(&Msg::Maintenance {
        db,
        rel,
        analyze,
        autovacuum,
        live,
        dead,
        time: crate::utils::time::now_timestamptz(),
    });
}

/// One archive attempt of `wal_name` (`pg_stat_archiver`).
pub fn report_archiver(ok: bool, wal_name: &str) {
    socket::send(&Msg::Archiver {
        failed: !ok,
        wal: wal_name.to_string(),
        time: crate::utils::time::now_timestamptz(),
    });
}

/// Sends a reset request (pg_stat_reset*); the caller checked permissions.
pub fn send_reset(msg: Msg) {
    socket::send(&msg);
    local().snapshot = None;
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Forgets the transaction's snapshot (`pg_stat_clear_snapshot()`).
pub fn clear_snapshot() {
    local().snapshot = None;
}

/// The statistics as of now, for the views (PostgreSQL's
/// `backend_read_statsfile`): this backend's pending counters are sent,
/// then the collector is asked for a snapshot at least as new as the
/// request and the file is polled until it is. A collector that does not
/// answer within [`MAX_WAIT`] (dead, or restarting) leaves the last file
/// in place: the views stop moving. Cached until the transaction ends.
pub fn fetch_snapshot(data_dir: &Path) -> Arc<StatsSnapshot> {
    if let Some(s) = local().snapshot.clone() {
        return s;
    }
    report_stat(true);
    let path = tmp_path(data_dir);
    let snapshot = if socket::available() {
        let cutoff = crate::utils::time::now_timestamptz();
        let start = Instant::now();
        let mut last_inquiry = start;
        socket::send(&Msg::Inquiry { cutoff });
        loop {
            if StatsSnapshot::written_at_of(&path).is_some_and(|t| t >= cutoff)
                && let Some(s) = StatsSnapshot::read(&path)
            {
                break s;
            }
            let now = Instant::now();
            if now.duration_since(start) >= MAX_WAIT {
                elog::log(
                    Severity::Log,
                    "using stale statistics instead of current ones because stats collector is not responding",
                );
                break StatsSnapshot::read(&path).unwrap_or_default();
            }
            if now.duration_since(last_inquiry) >= INQUIRY_INTERVAL {
                socket::send(&Msg::Inquiry { cutoff });
                last_inquiry = now;
            }
            std::thread::sleep(RETRY_DELAY);
        }
    } else {
        StatsSnapshot::read(&path).unwrap_or_default()
    };
    let s = Arc::new(snapshot);
    local().snapshot = Some(s.clone());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(l: &mut Local, rel: Oid, f: impl FnOnce(&mut XactCounts)) {
        f(l.top().tables.entry((5, rel)).or_default());
    }

    #[test]
    fn committed_and_aborted_changes_count_as_postgresql_counts_them() {
        let mut l = Local::new();
        // Committed: 3 inserts, 1 update, 1 delete.
        for _ in 0..3 {
            change(&mut l, 10, |x| x.inserted += 1);
        }
        change(&mut l, 10, |x| x.updated += 1);
        change(&mut l, 10, |x| x.deleted += 1);
        l.end_transaction(true);
        let t = l.tables[&(5, 10)];
        assert_eq!((t.tup_ins, t.tup_upd, t.tup_del), (3, 1, 1));
        assert_eq!((t.live_delta, t.dead_delta), (2, 2));
        assert_eq!((t.changed, t.inserted_committed), (5, 3));
        // Aborted: 2 inserts and 1 update are dead; tup_* still count.
        change(&mut l, 10, |x| x.inserted += 2);
        change(&mut l, 10, |x| x.updated += 1);
        l.end_transaction(false);
        let t = l.tables[&(5, 10)];
        assert_eq!((t.tup_ins, t.tup_upd), (5, 2));
        assert_eq!((t.live_delta, t.dead_delta), (2, 5));
        assert_eq!((t.changed, t.inserted_committed), (5, 3));
        assert_eq!((l.db.xact_commit, l.db.xact_rollback), (1, 1));
    }

    #[test]
    fn rolled_back_savepoints_abort_only_their_work() {
        let mut l = Local::new();
        change(&mut l, 10, |x| x.inserted += 1);
        l.savepoint("a");
        change(&mut l, 10, |x| x.inserted += 1);
        l.savepoint("b");
        change(&mut l, 10, |x| x.inserted += 1);
        l.release_savepoint("b");
        // Rolls back the inserts after "a" (two), keeps "a" defined.
        l.rollback_to_savepoint("a");
        assert_eq!(l.xact.len(), 2);
        change(&mut l, 10, |x| x.inserted += 1);
        l.end_transaction(true);
        let t = l.tables[&(5, 10)];
        assert_eq!(t.tup_ins, 4);
        assert_eq!((t.live_delta, t.dead_delta), (2, 2));
        assert_eq!(t.inserted_committed, 2);
        assert!(l.xact.is_empty());
    }
}
