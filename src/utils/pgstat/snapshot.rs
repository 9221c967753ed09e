//! What the collector keeps and writes (PostgreSQL 14's
//! `PgStat_StatDBEntry`, `PgStat_StatTabEntry`, `PgStat_ArchiverStats`,
//! plus PostgreSQL 16's I/O counters), and the snapshot file format.
//!
//! One file holds everything: `pg_stat_tmp/global.stat` while the server
//! runs, `pg_stat/global.stat` across a clean restart. It is written to a
//! temporary name and renamed, so a reader sees a whole file or the previous
//! one. Layout: magic, version, the time it was written, then the entries;
//! little-endian, as the messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::msg::{
    BGWRITER_BASELINE_LEN, DbCounts, IoCounts, Msg, Reader, SharedTarget, TableCounts, Writer,
};
use crate::storage::types::Oid;
use crate::utils::time::TimestampTz;

const MAGIC: u32 = 0x4647_5354; // "FGST"
const FILE_VERSION: u32 = 1;

/// Directory of the snapshot the running collector rewrites.
pub const TMP_DIR: &str = "pg_stat_tmp";
/// Directory of the file written at shutdown.
pub const PERMANENT_DIR: &str = "pg_stat";
pub const FILE_NAME: &str = "global.stat";

/// `backend_type`s with rows in `pg_stat_io` (PostgreSQL 16's list for
/// object `relation`, context `normal`); the index travels in [`Msg::Io`].
pub const IO_BACKEND_TYPES: [&str; 9] = [
    "autovacuum launcher",
    "autovacuum worker",
    "client backend",
    "background worker",
    "background writer",
    "checkpointer",
    "standalone backend",
    "startup",
    "walsender",
];

/// One table's cumulative statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TabEntry {
    /// Cumulative counters; `live_delta`/`dead_delta` are n_live_tup/n_dead_tup.
    pub c: TableCounts,
    pub last_vacuum: TimestampTz,
    pub last_autovacuum: TimestampTz,
    pub last_analyze: TimestampTz,
    pub last_autoanalyze: TimestampTz,
    pub vacuum_count: u64,
    pub autovacuum_count: u64,
    pub analyze_count: u64,
    pub autoanalyze_count: u64,
}

/// One database's cumulative statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbEntry {
    pub c: DbCounts,
    pub tup_inserted: u64,
    pub tup_updated: u64,
    pub tup_deleted: u64,
    /// 0: never reset (NULL).
    pub stats_reset: TimestampTz,
    pub tables: BTreeMap<Oid, TabEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArchiverStats {
    pub archived_count: u64,
    pub last_archived_wal: String,
    pub last_archived_time: TimestampTz,
    pub failed_count: u64,
    pub last_failed_wal: String,
    pub last_failed_time: TimestampTz,
    pub stats_reset: TimestampTz,
}

/// Everything the collector knows; what a backend reads back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// When the collector wrote it (0 in memory before the first write).
    pub written_at: TimestampTz,
    pub dbs: BTreeMap<Oid, DbEntry>,
    pub archiver: ArchiverStats,
    /// Index into [`IO_BACKEND_TYPES`] → counters.
    pub io: BTreeMap<u8, IoCounts>,
    pub io_reset: TimestampTz,
    /// Buffer-pool counters at the last pg_stat_reset_shared('bgwriter')
    /// (see [`SharedTarget::Bgwriter`]). Never written to the permanent
    /// file: shared memory restarts from zero with the server.
    pub bgwriter_baseline: [u64; BGWRITER_BASELINE_LEN],
}

impl StatsSnapshot {
    pub fn table(&self, db: Oid, rel: Oid) -> Option<&TabEntry> {
        self.dbs.get(&db)?.tables.get(&rel)
    }

    fn db_mut(&mut self, db: Oid) -> &mut DbEntry {
        self.dbs.entry(db).or_default()
    }

    /// Applies one message (the collector's `pgstat_recv_*`). Inquiries
    /// are the caller's business.
    pub fn apply(&mut self, msg: Msg, now: TimestampTz) {
        match msg {
            Msg::TabStat {
                db,
                db_counts,
                tables,
            } => {
                let d = self.db_mut(db);
                d.c.add(&db_counts);
                for (rel, c) in tables {
                    d.tup_inserted += c.tup_ins;
                    d.tup_updated += c.tup_upd;
                    d.tup_deleted += c.tup_del;
                    d.c.blks_read += c.blocks_read;
                    d.c.blks_hit += c.blocks_hit;
                    let t = d.tables.entry(rel).or_default();
                    t.c.add(&c);
                    // A reset or a VACUUM report may leave a later delta
                    // below zero, as in PostgreSQL: clamp.
                    t.c.live_delta = t.c.live_delta.max(0);
                    t.c.dead_delta = t.c.dead_delta.max(0);
                }
            }
            Msg::Inquiry { .. } => {}
            Msg::ResetDb { db } => {
                *self.db_mut(db) = DbEntry {
                    stats_reset: now,
                    ..Default::default()
                };
            }
            Msg::ResetTable { db, rel } => {
                let d = self.db_mut(db);
                d.tables.remove(&rel);
                d.stats_reset = now;
            }
            Msg::ResetShared(SharedTarget::Archiver) => {
                self.archiver = ArchiverStats {
                    stats_reset: now,
                    ..Default::default()
                };
            }
            Msg::ResetShared(SharedTarget::Io) => {
                self.io.clear();
                self.io_reset = now;
            }
            Msg::ResetShared(SharedTarget::Bgwriter(base)) => {
                self.bgwriter_baseline = base;
            }
            Msg::Maintenance {
                db,
                rel,
                analyze,
                autovacuum,
                live,
                dead,
                time,
            } => {
                let t = self.db_mut(db).tables.entry(rel).or_default();
                t.c.live_delta = live.max(0);
                t.c.dead_delta = dead.max(0);
                match (analyze, autovacuum) {
                    (false, false) => {
                        t.last_vacuum = time;
                        t.vacuum_count += 1;
                    }
                    (false, true) => {
                        t.last_autovacuum = time;
                        t.autovacuum_count += 1;
                    }
                    (true, false) => {
                        t.last_analyze = time;
                        t.analyze_count += 1;
                    }
                    (true, true) => {
                        t.last_autoanalyze = time;
                        t.autoanalyze_count += 1;
                    }
                }
                if analyze {
                    t.c.changed = 0;
                } else {
                    t.c.inserted_committed = 0;
                }
            }
            Msg::Archiver { failed, wal, time } => {
                let a = &mut self.archiver;
                if failed {
                    a.failed_count += 1;
                    a.last_failed_wal = wal;
                    a.last_failed_time = time;
                } else {
                    a.archived_count += 1;
                    a.last_archived_wal = wal;
                    a.last_archived_time = time;
                }
            }
            Msg::Io {
                backend_type,
                counts,
            } => {
                if (backend_type as usize) < IO_BACKEND_TYPES.len() {
                    self.io.entry(backend_type).or_default().add(&counts);
                }
            }
        }
    }

    pub fn encode(&self, permanent: bool) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(MAGIC);
        w.u32(FILE_VERSION);
        w.i64(self.written_at);
        w.u32(self.dbs.len() as u32);
        for (oid, d) in &self.dbs {
            w.u32(*oid);
            d.c.put(&mut w);
            w.u64(d.tup_inserted);
            w.u64(d.tup_updated);
            w.u64(d.tup_deleted);
            w.i64(d.stats_reset);
            w.u32(d.tables.len() as u32);
            for (rel, t) in &d.tables {
                w.u32(*rel);
                t.c.put(&mut w);
                for v in [
                    t.last_vacuum,
                    t.last_autovacuum,
                    t.last_analyze,
                    t.last_autoanalyze,
                ] {
                    w.i64(v);
                }
                for v in [
                    t.vacuum_count,
                    t.autovacuum_count,
                    t.analyze_count,
                    t.autoanalyze_count,
                ] {
                    w.u64(v);
                }
            }
        }
        let a = &self.archiver;
        w.u64(a.archived_count);
        w.str(&a.last_archived_wal);
        w.i64(a.last_archived_time);
        w.u64(a.failed_count);
        w.str(&a.last_failed_wal);
        w.i64(a.last_failed_time);
        w.i64(a.stats_reset);
        w.u32(self.io.len() as u32);
        for (k, c) in &self.io {
            w.u8(*k);
            c.put(&mut w);
        }
        w.i64(self.io_reset);
        for v in self.bgwriter_baseline {
            w.u64(if permanent { 0 } else { v });
        }
        w.0
    }

    pub fn decode(buf: &[u8]) -> Option<StatsSnapshot> {
        let mut r = Reader::new(buf);
        if r.u32()? != MAGIC || r.u32()? != FILE_VERSION {
            return None;
        }
        let mut s = StatsSnapshot {
            written_at: r.i64()?,
            ..Default::default()
        };
        let ndb = r.u32()?;
        for _ in 0..ndb {
            let oid = r.u32()?;
            let mut d = DbEntry {
                c: DbCounts::get(&mut r)?,
                tup_inserted: r.u64()?,
                tup_updated: r.u64()?,
                tup_deleted: r.u64()?,
                stats_reset: r.i64()?,
                tables: BTreeMap::new(),
            };
            let ntab = r.u32()?;
            for _ in 0..ntab {
                let rel = r.u32()?;
                let t = TabEntry {
                    c: TableCounts::get(&mut r)?,
                    last_vacuum: r.i64()?,
                    last_autovacuum: r.i64()?,
                    last_analyze: r.i64()?,
                    last_autoanalyze: r.i64()?,
                    vacuum_count: r.u64()?,
                    autovacuum_count: r.u64()?,
                    analyze_count: r.u64()?,
                    autoanalyze_count: r.u64()?,
                };
                d.tables.insert(rel, t);
            }
            s.dbs.insert(oid, d);
        }
        s.archiver = ArchiverStats {
            archived_count: r.u64()?,
            last_archived_wal: r.str()?,
            last_archived_time: r.i64()?,
            failed_count: r.u64()?,
            last_failed_wal: r.str()?,
            last_failed_time: r.i64()?,
            stats_reset: r.i64()?,
        };
        let nio = r.u32()?;
        for _ in 0..nio {
            let k = r.u8()?;
            s.io.insert(k, IoCounts::get(&mut r)?);
        }
        s.io_reset = r.i64()?;
        for v in &mut s.bgwriter_baseline {
            *v = r.u64()?;
        }
        r.at_end().then_some(s)
    }

    /// Writes the snapshot to `<data_dir>/<rel_dir>/global.stat`
    /// atomically (temporary file + rename). Errors are worded as
    /// PostgreSQL's `pgstat_write_statsfiles` (`could not write temporary
    /// statistics file "pg_stat_tmp/global.stat.tmp": No space left on
    /// device`); a temporary file that could not be completed is removed, so
    /// that a full disk keeps no half-written copy.
    pub fn write(
        &self,
        data_dir: &Path,
        rel_dir: &str,
        permanent: bool,
    ) -> crate::utils::elog::PgResult<()> {
        use crate::utils::elog::file_error;
        let dir = data_dir.join(rel_dir);
        let tmp_name = format!("{rel_dir}/{FILE_NAME}.tmp");
        let tmp = data_dir.join(&tmp_name);
        std::fs::create_dir_all(&dir).map_err(|e| {
            file_error(
                &e,
                format_args!("could not open temporary statistics file \"{tmp_name}\""),
            )
        })?;
        let result = std::fs::write(&tmp, self.encode(permanent))
            .map_err(|e| {
                file_error(&e, format_args!("could not write temporary statistics file \"{tmp_name}\""))
            })
            .and_then(|()| {
                std::fs::rename(&tmp, dir.join(FILE_NAME)).map_err(|e| {
                    file_error(
                        &e,
                        format_args!(
                            "could not rename temporary statistics file \"{tmp_name}\" to \"{rel_dir}/{FILE_NAME}\""
                        ),
                    )
                })
            });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Reads a snapshot file; None if missing or unreadable.
    pub fn read(path: &Path) -> Option<StatsSnapshot> {
        StatsSnapshot::decode(&std::fs::read(path).ok()?)
    }

    /// Just the write time of a snapshot file (cheap: the header).
    pub fn written_at_of(path: &Path) -> Option<TimestampTz> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        let mut head = [0u8; 16];
        f.read_exact(&mut head).ok()?;
        let mut r = Reader::new(&head);
        if r.u32()? != MAGIC || r.u32()? != FILE_VERSION {
            return None;
        }
        r.i64()
    }
}

/// `DATA/pg_stat_tmp/global.stat`.
pub fn tmp_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TMP_DIR).join(FILE_NAME)
}

/// `DATA/pg_stat/global.stat`.
pub fn permanent_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PERMANENT_DIR).join(FILE_NAME)
}

fn remove_in(data_dir: &Path, dir: &str) {
    let _ = std::fs::remove_file(data_dir.join(dir).join(FILE_NAME));
    let _ = std::fs::remove_file(data_dir.join(dir).join(format!("{FILE_NAME}.tmp")));
}

/// Removes both snapshot files (PostgreSQL's `pgstat_reset_all`): the
/// postmaster calls this after a crash, before the new collector is forked,
/// so statistics restart from zero whenever recovery runs.
pub fn remove_all_files(data_dir: &Path) {
    remove_in(data_dir, TMP_DIR);
    remove_in(data_dir, PERMANENT_DIR);
}

/// At postmaster start: a `pg_stat_tmp` file left by a server that did not
/// shut down cleanly must not be loaded (only `pg_stat/`, written by a
/// clean shutdown, carries statistics across a restart).
pub fn remove_all_files_but_permanent(data_dir: &Path) {
    remove_in(data_dir, TMP_DIR);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_file_round_trips_and_drops_the_baseline_when_permanent() {
        let mut s = StatsSnapshot {
            written_at: 99,
            ..Default::default()
        };
        s.apply(
            Msg::TabStat {
                db: 5,
                db_counts: DbCounts {
                    xact_commit: 2,
                    ..Default::default()
                },
                tables: vec![(
                    16384,
                    TableCounts {
                        tup_ins: 3,
                        live_delta: 3,
                        blocks_hit: 4,
                        ..Default::default()
                    },
                )],
            },
            1,
        );
        s.apply(
            Msg::Archiver {
                failed: false,
                wal: "000000010000000000000001".into(),
                time: 7,
            },
            1,
        );
        s.apply(
            Msg::Io {
                backend_type: 2,
                counts: IoCounts {
                    writes: 5,
                    ..Default::default()
                },
            },
            1,
        );
        s.apply(Msg::ResetShared(SharedTarget::Bgwriter([9; 6])), 1);
        assert_eq!(StatsSnapshot::decode(&s.encode(false)).as_ref(), Some(&s));
        let p = StatsSnapshot::decode(&s.encode(true)).unwrap();
        assert_eq!(p.bgwriter_baseline, [0; 6]);
        assert_eq!(p.dbs, s.dbs);
        let d = &p.dbs[&5];
        assert_eq!((d.tup_inserted, d.c.blks_hit, d.c.xact_commit), (3, 4, 2));
        assert_eq!(d.tables[&16384].c.live_delta, 3);
    }

    #[test]
    fn vacuum_and_analyze_reports_set_counts_and_reset_their_counters() {
        let mut s = StatsSnapshot::default();
        s.apply(
            Msg::TabStat {
                db: 1,
                db_counts: DbCounts::default(),
                tables: vec![(
                    10,
                    TableCounts {
                        live_delta: 5,
                        dead_delta: 4,
                        changed: 9,
                        inserted_committed: 5,
                        ..Default::default()
                    },
                )],
            },
            0,
        );
        let maint = |analyze, autovacuum| Msg::Maintenance {
            db: 1,
            rel: 10,
            analyze,
            autovacuum,
            live: 5,
            dead: 0,
            time: 42,
        };
        s.apply(maint(false, false), 0);
        let t = *s.table(1, 10).unwrap();
        assert_eq!(
            (t.c.dead_delta, t.c.inserted_committed, t.c.changed),
            (0, 0, 9)
        );
        assert_eq!((t.last_vacuum, t.vacuum_count), (42, 1));
        s.apply(maint(true, true), 0);
        let t = *s.table(1, 10).unwrap();
        assert_eq!(
            (t.c.changed, t.last_autoanalyze, t.autoanalyze_count),
            (0, 42, 1)
        );
    }
}
