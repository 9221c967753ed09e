//! The shared buffer pool (PostgreSQL's `bufmgr.c`, `freelist.c`,
//! `buf_table.c`). Rules: README.md beside this file.
//!
//! `shared_buffers` pages live in the shared segment (region "BufferPool"),
//! each with a [`desc`] descriptor: the tag of the block it holds, one
//! atomic state word (refcount, usage count, flags, header spinlock bit) and
//! a content LWLock. A shared mapping table, partitioned by
//! [`NUM_BUFFER_PARTITIONS`] LWLocks, finds the buffer of a tag.
//!
//! ```text
//!  read_buffer(tag) ──lookup (partition lock, shared)──▶ hit: pin, usage+1
//!        │ miss
//!        ▼
//!  clock sweep: hand → refcount 0? usage>0 → usage-1 : victim (pin)
//!        │ victim dirty → BM_EVICTING, FlushBuffer (WAL flush to page LSN, smgr write)
//!        │ unmap old tag (old partition, exclusive; still refcount 1 and clean?)
//!        ▼
//!  map new tag (new partition, exclusive) → StartBufferIO → smgr read → BM_VALID
//! ```
//!
//! Every process builds its own [`BufferPool`] handle over the region: the
//! shared parts plus its own pin counts, storage manager and WAL flush hook.
//! The server keeps one per process in a global ([`attach_process`] /
//! [`pool`]); tests build theirs on a private `MAP_SHARED` mapping.
//!
//! Crash behaviour: a process that dies holding a content or partition
//! LWLock, or with `BM_IO_IN_PROGRESS`/`BM_EVICTING` set, forces a
//! crash-restart (the segment is re-created). Pins are released on a clean
//! exit by [`at_proc_exit`].

mod bgsync;
mod desc;
mod guard;
mod pool;
mod table;

#[cfg(test)]
mod tests;

use std::sync::OnceLock;

pub use bgsync::BgWriterState;
pub use guard::{BufferLockGuard, LockedBuffer, PinnedBuffer};
pub use pool::{BufferPool, MIN_BUFFERS, NUM_EXTENSION_LOCKS};
pub use table::NUM_BUFFER_PARTITIONS;

/// Content-lock modes (`BUFFER_LOCK_SHARE` / `BUFFER_LOCK_EXCLUSIVE`).
pub use crate::storage::lock::LWLockMode as BufferLockMode;

use crate::storage::shmem::Segment;
use crate::storage::types::Lsn;

/// A buffer id: the 0-based index of a buffer in the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Buffer(pub u32);

/// Makes the WAL durable up to an LSN: called with a page's LSN before the
/// page is written (WAL before data). The server installs
/// `crate::storage::wal::flush`; tests install their own.
pub type WalFlushFn = fn(Lsn) -> std::io::Result<()>;

/// The pool's counters (pg_stat_bgwriter columns and pg_stat_io totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferStats {
    /// Buffers allocated (victims chosen).
    pub buffers_alloc: u64,
    /// Buffers written by backends (eviction, flush_relation).
    pub buffers_backend: u64,
    /// Times a backend had to fsync itself because the queue was full.
    pub buffers_backend_fsync: u64,
    /// Buffers written by the background writer.
    pub buffers_clean: u64,
    /// Bgwriter rounds stopped by bgwriter_lru_maxpages.
    pub maxwritten_clean: u64,
    /// Buffers written by checkpoints.
    pub buffers_checkpoint: u64,
    /// Blocks read from disk.
    pub blocks_read: u64,
    /// Blocks found in the pool.
    pub blocks_hit: u64,
    /// Blocks written (all sources).
    pub blocks_written: u64,
    /// Blocks added by `extend`.
    pub blocks_extended: u64,
}

static PROCESS_POOL: OnceLock<BufferPool> = OnceLock::new();

/// Attaches this process to the pool in the shared segment. Call once at
/// child start, after [`crate::storage::smgr::init_process`]; `wal_flush` is
/// `crate::storage::wal::flush` in the server.
pub fn attach_process(seg: &Segment, wal_flush: WalFlushFn) -> &'static BufferPool {
    let smgr = crate::storage::smgr::smgr();
    let mut fresh = false;
    let pool = PROCESS_POOL.get_or_init(|| {
        fresh = true;
        BufferPool::attach(seg, smgr, wal_flush)
    });
    assert!(fresh, "buffer::attach_process called twice in one process");
    pool
}

/// This process's pool ([`attach_process`] must have run).
pub fn pool() -> &'static BufferPool {
    PROCESS_POOL
        .get()
        .expect("buffer pool is not attached in this process")
}

/// On the way out of a process: drops the pins it still holds (a FATAL
/// error exits without unwinding guards). No-op if never attached.
pub fn at_proc_exit() {
    if let Some(pool) = PROCESS_POOL.get() {
        pool.release_all_pins();
    }
}
