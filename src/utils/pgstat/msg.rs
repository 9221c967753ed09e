//! The messages backends send to the collector (PostgreSQL 14's
//! `PgStat_Msg*` structs), and the little-endian encoding shared with the
//! snapshot files.
//!
//! Every message is one datagram of at most [`MAX_MSG_BYTES`]: a type byte,
//! a version byte, then the type's fields in a fixed order. Table counters
//! travel [`TABSTAT_PER_MSG`] tables to a message, as PostgreSQL's
//! `PGSTAT_NUM_TABENTRIES` does. A datagram that does not decode (wrong
//! version, short, trailing bytes) is dropped by the collector.

use crate::storage::types::Oid;
use crate::utils::time::TimestampTz;

/// Largest datagram (PostgreSQL's `PGSTAT_MAX_MSG_SIZE` is 1000).
pub const MAX_MSG_BYTES: usize = 1000;
/// Tables per [`Msg::TabStat`].
pub const TABSTAT_PER_MSG: usize = 7;
/// Bytes kept of a WAL file name in [`Msg::Archiver`].
pub const MAX_WAL_NAME: usize = 64;
const VERSION: u8 = 1;

/// Counters of one table, as a backend accumulates them between flushes
/// (PostgreSQL's `PgStat_TableCounts`). Deltas: the collector adds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableCounts {
    pub seq_scan: u64,
    pub seq_tup_read: u64,
    pub idx_scan: u64,
    pub idx_tup_fetch: u64,
    pub tup_ins: u64,
    pub tup_upd: u64,
    pub tup_del: u64,
    pub tup_hot_upd: u64,
    pub live_delta: i64,
    pub dead_delta: i64,
    /// Committed inserts + updates + deletes (`n_mod_since_analyze`).
    pub changed: u64,
    /// Committed inserts (`n_ins_since_vacuum`).
    pub inserted_committed: u64,
    pub blocks_read: u64,
    pub blocks_hit: u64,
}

impl TableCounts {
    pub fn is_zero(&self) -> bool {
        *self == TableCounts::default()
    }

    pub fn add(&mut self, o: &TableCounts) {
        self.seq_scan += o.seq_scan;
        self.seq_tup_read += o.seq_tup_read;
        self.idx_scan += o.idx_scan;
        self.idx_tup_fetch += o.idx_tup_fetch;
        self.tup_ins += o.tup_ins;
        self.tup_upd += o.tup_upd;
        self.tup_del += o.tup_del;
        self.tup_hot_upd += o.tup_hot_upd;
        self.live_delta += o.live_delta;
        self.dead_delta += o.dead_delta;
        self.changed += o.changed;
        self.inserted_committed += o.inserted_committed;
        self.blocks_read += o.blocks_read;
        self.blocks_hit += o.blocks_hit;
    }

    pub(super) fn put(&self, w: &mut Writer) {
        for v in [
            self.seq_scan,
            self.seq_tup_read,
            self.idx_scan,
            self.idx_tup_fetch,
            self.tup_ins,
            self.tup_upd,
            self.tup_del,
            self.tup_hot_upd,
        ] {
            w.u64(v);
        }
        w.i64(self.live_delta);
        w.i64(self.dead_delta);
        for v in [
            self.changed,
            self.inserted_committed,
            self.blocks_read,
            self.blocks_hit,
        ] {
            w.u64(v);
        }
    }

    pub(super) fn get(r: &mut Reader) -> Option<TableCounts> {
        Some(TableCounts {
            seq_scan: r.u64()?,
            seq_tup_read: r.u64()?,
            idx_scan: r.u64()?,
            idx_tup_fetch: r.u64()?,
            tup_ins: r.u64()?,
            tup_upd: r.u64()?,
            tup_del: r.u64()?,
            tup_hot_upd: r.u64()?,
            live_delta: r.i64()?,
            dead_delta: r.i64()?,
            changed: r.u64()?,
            inserted_committed: r.u64()?,
            blocks_read: r.u64()?,
            blocks_hit: r.u64()?,
        })
    }
}

/// Database-wide counters that are not sums of table counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbCounts {
    pub xact_commit: u64,
    pub xact_rollback: u64,
    pub blks_read: u64,
    pub blks_hit: u64,
    pub tup_returned: u64,
    pub tup_fetched: u64,
    pub deadlocks: u64,
    pub sessions: u64,
    pub session_time_us: u64,
    pub active_time_us: u64,
    pub temp_files: u64,
    pub temp_bytes: u64,
}

impl DbCounts {
    pub fn is_zero(&self) -> bool {
        *self == DbCounts::default()
    }

    pub fn add(&mut self, o: &DbCounts) {
        self.xact_commit += o.xact_commit;
        self.xact_rollback += o.xact_rollback;
        self.blks_read += o.blks_read;
        self.blks_hit += o.blks_hit;
        self.tup_returned += o.tup_returned;
        self.tup_fetched += o.tup_fetched;
        self.deadlocks += o.deadlocks;
        self.sessions += o.sessions;
        self.session_time_us += o.session_time_us;
        self.active_time_us += o.active_time_us;
        self.temp_files += o.temp_files;
        self.temp_bytes += o.temp_bytes;
    }

    fn fields(&self) -> [u64; 12] {
        [
            self.xact_commit,
            self.xact_rollback,
            self.blks_read,
            self.blks_hit,
            self.tup_returned,
            self.tup_fetched,
            self.deadlocks,
            self.sessions,
            self.session_time_us,
            self.active_time_us,
            self.temp_files,
            self.temp_bytes,
        ]
    }

    pub(super) fn put(&self, w: &mut Writer) {
        for v in self.fields() {
            w.u64(v);
        }
    }

    pub(super) fn get(r: &mut Reader) -> Option<DbCounts> {
        Some(DbCounts {
            xact_commit: r.u64()?,
            xact_rollback: r.u64()?,
            blks_read: r.u64()?,
            blks_hit: r.u64()?,
            tup_returned: r.u64()?,
            tup_fetched: r.u64()?,
            deadlocks: r.u64()?,
            sessions: r.u64()?,
            session_time_us: r.u64()?,
            active_time_us: r.u64()?,
            temp_files: r.u64()?,
            temp_bytes: r.u64()?,
        })
    }
}

/// I/O counters of one process for `pg_stat_io` (object `relation`,
/// context `normal`). Deltas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoCounts {
    pub reads: u64,
    pub writes: u64,
    pub extends: u64,
    pub hits: u64,
    pub evictions: u64,
    pub fsyncs: u64,
}

impl IoCounts {
    pub fn is_zero(&self) -> bool {
        *self == IoCounts::default()
    }

    pub fn add(&mut self, o: &IoCounts) {
        self.reads += o.reads;
        self.writes += o.writes;
        self.extends += o.extends;
        self.hits += o.hits;
        self.evictions += o.evictions;
        self.fsyncs += o.fsyncs;
    }

    /// `self - earlier`, saturating (for deltas of cumulative counters).
    pub fn since(&self, earlier: &IoCounts) -> IoCounts {
        IoCounts {
            reads: self.reads.saturating_sub(earlier.reads),
            writes: self.writes.saturating_sub(earlier.writes),
            extends: self.extends.saturating_sub(earlier.extends),
            hits: self.hits.saturating_sub(earlier.hits),
            evictions: self.evictions.saturating_sub(earlier.evictions),
            fsyncs: self.fsyncs.saturating_sub(earlier.fsyncs),
        }
    }

    pub(super) fn put(&self, w: &mut Writer) {
        for v in [
            self.reads,
            self.writes,
            self.extends,
            self.hits,
            self.evictions,
            self.fsyncs,
        ] {
            w.u64(v);
        }
    }

    pub(super) fn get(r: &mut Reader) -> Option<IoCounts> {
        Some(IoCounts {
            reads: r.u64()?,
            writes: r.u64()?,
            extends: r.u64()?,
            hits: r.u64()?,
            evictions: r.u64()?,
            fsyncs: r.u64()?,
        })
    }
}

/// `pg_stat_reset_shared` targets the collector keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedTarget {
    Archiver,
    Io,
    /// The buffer-pool counters of `pg_stat_bgwriter` live in shared memory
    /// and cannot be zeroed from outside the pool: the collector keeps
    /// their values at the reset as a baseline the view subtracts.
    Bgwriter([u64; BGWRITER_BASELINE_LEN]),
}

/// buffers_checkpoint, buffers_clean, maxwritten_clean, buffers_backend,
/// buffers_backend_fsync, buffers_alloc.
pub const BGWRITER_BASELINE_LEN: usize = 6;

#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// A backend's flush: table counters of one database plus its
    /// database-wide counters (PgStat_MsgTabstat).
    TabStat {
        db: Oid,
        db_counts: DbCounts,
        tables: Vec<(Oid, TableCounts)>,
    },
    /// "Write a snapshot at least as new as `cutoff`" (PgStat_MsgInquiry).
    Inquiry {
        cutoff: TimestampTz,
    },
    /// `pg_stat_reset()` for one database.
    ResetDb {
        db: Oid,
    },
    /// `pg_stat_reset_single_table_counters(rel)`.
    ResetTable {
        db: Oid,
        rel: Oid,
    },
    ResetShared(SharedTarget),
    /// VACUUM (`analyze` false) or ANALYZE (`analyze` true) finished.
    Maintenance {
        db: Oid,
        rel: Oid,
        analyze: bool,
        autovacuum: bool,
        live: i64,
        dead: i64,
        time: TimestampTz,
    },
    /// One archive attempt.
    Archiver {
        failed: bool,
        wal: String,
        time: TimestampTz,
    },
    /// A process's I/O since its last report.
    Io {
        backend_type: u8,
        counts: IoCounts,
    },
}

const T_TABSTAT: u8 = 1;
const T_INQUIRY: u8 = 2;
const T_RESET_DB: u8 = 3;
const T_RESET_TABLE: u8 = 4;
const T_RESET_SHARED: u8 = 5;
const T_MAINTENANCE: u8 = 6;
const T_ARCHIVER: u8 = 7;
const T_IO: u8 = 8;

impl Msg {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Msg::TabStat {
                db,
                db_counts,
                tables,
            } => {
                assert!(
                    tables.len() <= TABSTAT_PER_MSG,
                    "too many tables in one stats message"
                );
                w.header(T_TABSTAT);
                w.u32(*db);
                db_counts.put(&mut w);
                w.u8(tables.len() as u8);
                for (rel, c) in tables {
                    w.u32(*rel);
                    c.put(&mut w);
                }
            }
            Msg::Inquiry { cutoff } => {
                w.header(T_INQUIRY);
                w.i64(*cutoff);
            }
            Msg::ResetDb { db } => {
                w.header(T_RESET_DB);
                w.u32(*db);
            }
            Msg::ResetTable { db, rel } => {
                w.header(T_RESET_TABLE);
                w.u32(*db);
                w.u32(*rel);
            }
            Msg::ResetShared(t) => {
                w.header(T_RESET_SHARED);
                match t {
                    SharedTarget::Archiver => w.u8(0),
                    SharedTarget::Io => w.u8(1),
                    SharedTarget::Bgwriter(base) => {
                        w.u8(2);
                        for v in base {
                            w.u64(*v);
                        }
                    }
                }
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
                w.header(T_MAINTENANCE);
                w.u32(*db);
                w.u32(*rel);
                w.u8(*analyze as u8);
                w.u8(*autovacuum as u8);
                w.i64(*live);
                w.i64(*dead);
                w.i64(*time);
            }
            Msg::Archiver { failed, wal, time } => {
                w.header(T_ARCHIVER);
                w.u8(*failed as u8);
                w.str(truncate(wal, MAX_WAL_NAME));
                w.i64(*time);
            }
            Msg::Io {
                backend_type,
                counts,
            } => {
                w.header(T_IO);
                w.u8(*backend_type);
                counts.put(&mut w);
            }
        }
        assert!(w.0.len() <= MAX_MSG_BYTES, "stats message too large");
        w.0
    }

    /// Decodes one datagram; None for anything malformed.
    pub fn decode(buf: &[u8]) -> Option<Msg> {
        let mut r = Reader::new(buf);
        let kind = r.u8()?;
        if r.u8()? != VERSION {
            return None;
        }
        let msg = match kind {
            T_TABSTAT => {
                let db = r.u32()?;
                let db_counts = DbCounts::get(&mut r)?;
                let n = r.u8()? as usize;
                if n > TABSTAT_PER_MSG {
                    return None;
                }
                let mut tables = Vec::with_capacity(n);
                for _ in 0..n {
                    tables.push((r.u32()?, TableCounts::get(&mut r)?));
                }
                Msg::TabStat {
                    db,
                    db_counts,
                    tables,
                }
            }
            T_INQUIRY => Msg::Inquiry { cutoff: r.i64()? },
            T_RESET_DB => Msg::ResetDb { db: r.u32()? },
            T_RESET_TABLE => Msg::ResetTable {
                db: r.u32()?,
                rel: r.u32()?,
            },
            T_RESET_SHARED => Msg::ResetShared(match r.u8()? {
                0 => SharedTarget::Archiver,
                1 => SharedTarget::Io,
                2 => {
                    let mut base = [0u64; BGWRITER_BASELINE_LEN];
                    for v in &mut base {
                        *v = r.u64()?;
                    }
                    SharedTarget::Bgwriter(base)
                }
                _ => return None,
            }),
            T_MAINTENANCE => Msg::Maintenance {
                db: r.u32()?,
                rel: r.u32()?,
                analyze: r.bool()?,
                autovacuum: r.bool()?,
                live: r.i64()?,
                dead: r.i64()?,
                time: r.i64()?,
            },
            T_ARCHIVER => Msg::Archiver {
                failed: r.bool()?,
                wal: r.str()?,
                time: r.i64()?,
            },
            T_IO => Msg::Io {
                backend_type: r.u8()?,
                counts: IoCounts::get(&mut r)?,
            },
            _ => return None,
        };
        r.at_end().then_some(msg)
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Little-endian writer (messages and snapshot files).
#[derive(Default)]
pub(super) struct Writer(pub Vec<u8>);

impl Writer {
    fn header(&mut self, kind: u8) {
        self.u8(kind);
        self.u8(VERSION);
    }
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A string of at most 255 bytes (callers truncate).
    pub fn str(&mut self, s: &str) {
        let s = truncate(s, 255);
        self.u8(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// The matching reader: every getter returns None past the end.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn str(&mut self) -> Option<String> {
        let n = self.u8()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(seed: u64) -> TableCounts {
        TableCounts {
            seq_scan: seed,
            seq_tup_read: seed + 1,
            idx_scan: 0,
            idx_tup_fetch: 0,
            tup_ins: seed + 2,
            tup_upd: seed + 3,
            tup_del: seed + 4,
            tup_hot_upd: 0,
            live_delta: -(seed as i64),
            dead_delta: seed as i64 * 2,
            changed: 7,
            inserted_committed: 2,
            blocks_read: u64::MAX,
            blocks_hit: 9,
        }
    }

    fn every_kind() -> Vec<Msg> {
        vec![
            Msg::TabStat {
                db: 5,
                db_counts: DbCounts {
                    xact_commit: 3,
                    xact_rollback: 1,
                    blks_read: 10,
                    blks_hit: 20,
                    tup_returned: 30,
                    tup_fetched: 0,
                    deadlocks: 1,
                    sessions: 1,
                    session_time_us: 12345,
                    active_time_us: 99,
                    temp_files: 2,
                    temp_bytes: 16384,
                },
                tables: (0..TABSTAT_PER_MSG as u64)
                    .map(|i| (16384 + i as u32, counts(i)))
                    .collect(),
            },
            Msg::TabStat {
                db: 0,
                db_counts: DbCounts::default(),
                tables: vec![],
            },
            Msg::Inquiry { cutoff: -42 },
            Msg::ResetDb { db: 5 },
            Msg::ResetTable { db: 5, rel: 16384 },
            Msg::ResetShared(SharedTarget::Archiver),
            Msg::ResetShared(SharedTarget::Io),
            Msg::ResetShared(SharedTarget::Bgwriter([1, 2, 3, 4, 5, 6])),
            Msg::Maintenance {
                db: 5,
                rel: 16390,
                analyze: true,
                autovacuum: false,
                live: 100,
                dead: 0,
                time: 777,
            },
            Msg::Archiver {
                failed: true,
                wal: "000000010000000000000003".into(),
                time: 1,
            },
            Msg::Io {
                backend_type: 3,
                counts: IoCounts {
                    reads: 1,
                    writes: 2,
                    extends: 3,
                    hits: 4,
                    evictions: 5,
                    fsyncs: 6,
                },
            },
        ]
    }

    #[test]
    fn every_message_round_trips_and_fits_one_datagram() {
        for m in every_kind() {
            let bytes = m.encode();
            assert!(
                bytes.len() <= MAX_MSG_BYTES,
                "{m:?} is {} bytes",
                bytes.len()
            );
            assert_eq!(Msg::decode(&bytes), Some(m));
        }
    }

    #[test]
    fn truncated_or_padded_datagrams_are_rejected() {
        for m in every_kind() {
            let bytes = m.encode();
            for cut in 0..bytes.len() {
                assert_eq!(Msg::decode(&bytes[..cut]), None, "{m:?} cut at {cut}");
            }
            let mut padded = bytes.clone();
            padded.push(0);
            assert_eq!(Msg::decode(&padded), None, "{m:?} with a trailing byte");
        }
    }

    #[test]
    fn unknown_kinds_and_versions_are_rejected() {
        let mut bytes = Msg::ResetDb { db: 1 }.encode();
        bytes[1] = VERSION + 1;
        assert_eq!(Msg::decode(&bytes), None);
        let mut bytes = Msg::ResetDb { db: 1 }.encode();
        bytes[0] = 200;
        assert_eq!(Msg::decode(&bytes), None);
        let mut bytes = Msg::TabStat {
            db: 1,
            db_counts: DbCounts::default(),
            tables: vec![],
        }
        .encode();
        // A table count above the limit.
        let n_at = bytes.len() - 1;
        bytes[n_at] = TABSTAT_PER_MSG as u8 + 1;
        assert_eq!(Msg::decode(&bytes), None);
    }

    #[test]
    fn long_wal_names_are_truncated_on_a_char_boundary() {
        let wal = "é".repeat(MAX_WAL_NAME);
        let m = Msg::Archiver {
            failed: false,
            wal,
            time: 0,
        };
        match Msg::decode(&m.encode()) {
            Some(Msg::Archiver { wal, .. }) => {
                assert!(wal.len() <= MAX_WAL_NAME);
                assert!(wal.chars().all(|c| c == 'é'));
            }
            other => panic!("{other:?}"),
        }
    }
}
