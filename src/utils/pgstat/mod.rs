//! Cumulative statistics, PostgreSQL 14's way: backends count, a separate
//! collector process adds up, the views read the collector's snapshot file.
//!
//! ```text
//!  backend ── TabStat / Io / Maintenance / Archiver / Reset ──▶ UDP 127.0.0.1 ──▶ stats collector
//!     │                                                                              │ memory
//!     └── Inquiry("newer than T") ──────────────────────────────────────────────────▶│
//!     ◀──────────── reads pg_stat_tmp/global.stat (written at ≥ T) ◀──────────────────┘
//! ```
//!
//! Pieces: [`msg`] (the datagrams), [`socket`] (created by the postmaster
//! before its first fork, inherited by every child), [`backend`] (counting
//! and flushing in each process, reading snapshots), [`snapshot`] (the
//! collector's state and its file); the collector's loop is
//! `crate::bgproc::stats`. Rules: README.md beside this file.
//!
//! API for the rest of the server:
//! - counting, by the backend's table access: [`count_seq_scan`],
//!   [`count_insert`], [`count_update`], [`count_delete`], transaction ends
//!   ([`end_transaction`], savepoints), [`count_deadlock`];
//! - by the buffer pool: [`count_buffer_hit`], [`count_buffer_read`],
//!   [`count_buffer_write`], [`count_buffer_extend`];
//! - **VACUUM and ANALYZE**: [`report_vacuum`]`(db, rel, live, dead,
//!   autovacuum)` and [`report_analyze`]`(db, rel, live, dead, autovacuum)`
//!   set n_live_tup / n_dead_tup, last_(auto)vacuum / last_(auto)analyze and
//!   their counts, and restart n_ins_since_vacuum / n_mod_since_analyze;
//! - **the archiver**: [`report_archiver`]`(ok, wal_name)` after each attempt;
//! - background processes: [`report_background_io`] from their loops
//!   (`crate::bgproc::wait_for_work` calls it);
//! - reading: [`fetch_snapshot`] (cached until the transaction ends).
//!
//! Crash behaviour: the collector attaches to no shared memory; killed, it
//! is restarted alone and reloads the last snapshot it wrote
//! (`pg_stat_tmp/global.stat`), then receives what was queued on the socket
//! meanwhile — nothing is lost unless the socket buffer overflowed. While it
//! is down, readers wait [`backend::MAX_WAIT`] and use the last file. A
//! crash-restart of the server (or an immediate shutdown) discards every
//! file and queued message: statistics restart from zero, as in PostgreSQL.

pub mod backend;
pub mod msg;
pub mod progress;
pub mod snapshot;
pub mod socket;

pub use backend::{
    buffer_usage, clear_snapshot, count_buffer_dirtied, count_buffer_eviction, count_buffer_extend,
    count_buffer_hit, count_buffer_read, count_buffer_write, count_deadlock, count_delete,
    count_fsync, count_insert, count_inserts, count_seq_scan, count_temp_file, count_update,
    end_session, end_transaction, fetch_snapshot, idle_flush_deadline, init_backend, my_database,
    release_savepoint, report_analyze, report_archiver, report_background_io, report_stat,
    report_vacuum, rollback_to_savepoint, savepoint, send_reset, set_track_counts,
};
pub use msg::{Msg, SharedTarget};
pub use snapshot::{IO_BACKEND_TYPES, StatsSnapshot};

/// The postmaster, before its first fork: creates the socket, or logs why
/// the server runs without statistics.
pub fn postmaster_init(data_dir: &std::path::Path) {
    snapshot::remove_all_files_but_permanent(data_dir);
    if let Err(e) = socket::init() {
        crate::utils::elog::log(
            crate::utils::elog::Severity::Log,
            &format!("could not create socket for statistics collector: {e}"),
        );
        crate::utils::elog::log(
            crate::utils::elog::Severity::Log,
            "disabling statistics collector for lack of working socket",
        );
    }
}

/// The postmaster, after every child of a crashed generation is gone and
/// before the new collector starts: statistics restart from zero.
pub fn postmaster_reset_after_crash(data_dir: &std::path::Path) {
    snapshot::remove_all_files(data_dir);
    socket::discard_queued();
}
