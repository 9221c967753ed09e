//! The shared buffer mapping table: BufferTag → buffer id (PostgreSQL's
//! `buf_table.c`).
//!
//! Chained hashing in fixed arrays. Every buffer owns exactly one entry
//! (its id), which is linked into at most one chain at a time: eviction
//! unlinks a buffer from its old tag's chain before linking it under the new
//! tag (PostgreSQL 16's order), so no spare entries are needed. The bucket
//! count is a power of two and a multiple of [`NUM_BUFFER_PARTITIONS`], so
//! the bucket `hash % nbuckets` lies in partition `hash % NUM_BUFFER_PARTITIONS`
//! and each chain is guarded by exactly one partition LWLock.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};

use super::desc::INVALID_TAG;
use crate::storage::lock::LWLock;
use crate::storage::types::BufferTag;

/// Partitions of the mapping table, each with its own LWLock (PostgreSQL's value).
pub const NUM_BUFFER_PARTITIONS: usize = 128;

/// An LWLock alone on its cache line.
#[repr(C, align(64))]
pub(super) struct PaddedLWLock(pub LWLock);

/// Link value meaning "no entry". Links store `buffer id + 1`.
const NIL: u32 = 0;

/// Hash of a tag (a fixed mix, identical in every process).
pub(super) fn tag_hash(tag: &BufferTag) -> u32 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for word in [
        tag.rel.spc_oid,
        tag.rel.db_oid,
        tag.rel.rel_number,
        tag.fork as u32,
        tag.block,
    ] {
        h = (h ^ word as u64).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 32;
    }
    h = (h ^ (h >> 29)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    (h ^ (h >> 32)) as u32
}

/// Number of buckets for `nbuffers` buffers.
pub(super) fn bucket_count(nbuffers: usize) -> usize {
    (nbuffers * 2)
        .next_power_of_two()
        .max(NUM_BUFFER_PARTITIONS)
}

/// A view of the table in shared memory.
pub(super) struct BufTable {
    pub partition_locks: &'static [PaddedLWLock],
    /// Chain heads. Guarded by the bucket's partition lock.
    buckets: &'static [AtomicU32],
    /// Per buffer: next link of its chain. Guarded by the partition lock of
    /// the chain it is in; owned by the evicting process while unlinked.
    next: &'static [AtomicU32],
    /// Per buffer: the tag it is linked under. Guarded like `next`.
    keys: &'static [UnsafeCell<BufferTag>],
}

// SAFETY: `keys` cells are only accessed under the partition lock of the
// chain they belong to (the callers' contract on insert/lookup/delete).
unsafe impl Sync for BufTable {}

impl BufTable {
    /// # Safety
    /// The slices live in the shared segment, sized by `bucket_count` and
    /// `nbuffers`, and were initialised by [`BufTable::init`].
    pub unsafe fn from_parts(
        partition_locks: &'static [PaddedLWLock],
        buckets: &'static [AtomicU32],
        next: &'static [AtomicU32],
        keys: &'static [UnsafeCell<BufferTag>],
    ) -> BufTable {
        assert_eq!(partition_locks.len(), NUM_BUFFER_PARTITIONS);
        assert!(buckets.len().is_power_of_two() && buckets.len() % NUM_BUFFER_PARTITIONS == 0);
        assert_eq!(next.len(), keys.len());
        BufTable {
            partition_locks,
            buckets,
            next,
            keys,
        }
    }

    /// Sets every entry to "unlinked" (zeroed memory is an empty table
    /// except for the keys, which get the invalid tag for clarity).
    pub fn init(&self) {
        for key in self.keys {
            // SAFETY: called before any other process can see the table.
            unsafe { *key.get() = INVALID_TAG };
        }
    }

    pub fn partition_lock(&self, hash: u32) -> &'static LWLock {
        &self.partition_locks[hash as usize % NUM_BUFFER_PARTITIONS].0
    }

    fn bucket(&self, hash: u32) -> &AtomicU32 {
        &self.buckets[hash as usize & (self.buckets.len() - 1)]
    }

    /// The buffer holding `tag`. Caller holds the partition lock (any mode).
    pub fn lookup(&self, tag: &BufferTag, hash: u32) -> Option<u32> {
        let mut link = self.bucket(hash).load(Ordering::Relaxed);
        let mut steps = 0;
        while link != NIL {
            let id = link - 1;
            // SAFETY: entry `id` is in this chain, guarded by the partition lock the caller holds.
            if unsafe { *self.keys[id as usize].get() } == *tag {
                return Some(id);
            }
            link = self.next[id as usize].load(Ordering::Relaxed);
            steps += 1;
            assert!(steps <= self.next.len(), "buffer mapping chain has a cycle");
        }
        None
    }

    /// Links buffer `id` under `tag`, or returns the buffer already there.
    /// Caller holds the partition lock exclusively and owns the unlinked entry `id`.
    pub fn insert(&self, tag: &BufferTag, hash: u32, id: u32) -> Result<(), u32> {
        if let Some(existing) = self.lookup(tag, hash) {
            return Err(existing);
        }
        let bucket = self.bucket(hash);
        // SAFETY: entry `id` is unlinked and owned by the caller; after the
        // link below it is guarded by the partition lock the caller holds.
        unsafe { *self.keys[id as usize].get() = *tag };
        self.next[id as usize].store(bucket.load(Ordering::Relaxed), Ordering::Relaxed);
        bucket.store(id + 1, Ordering::Relaxed);
        Ok(())
    }

    /// Unlinks buffer `id` from `tag`'s chain. Caller holds the partition
    /// lock exclusively. Panics if the entry is not there (corruption).
    pub fn delete(&self, tag: &BufferTag, hash: u32, id: u32) {
        let bucket = self.bucket(hash);
        let mut prev: Option<u32> = None;
        let mut link = bucket.load(Ordering::Relaxed);
        let mut steps = 0;
        while link != NIL {
            let cur = link - 1;
            let after = self.next[cur as usize].load(Ordering::Relaxed);
            if cur == id {
                // SAFETY: guarded by the partition lock the caller holds.
                assert!(
                    unsafe { *self.keys[cur as usize].get() } == *tag,
                    "buffer mapping entry has another tag"
                );
                match prev {
                    None => bucket.store(after, Ordering::Relaxed),
                    Some(p) => self.next[p as usize].store(after, Ordering::Relaxed),
                }
                self.next[cur as usize].store(NIL, Ordering::Relaxed);
                // SAFETY: the entry is now unlinked and owned by the caller.
                unsafe { *self.keys[cur as usize].get() = INVALID_TAG };
                return;
            }
            prev = Some(cur);
            link = after;
            steps += 1;
            assert!(steps <= self.next.len(), "buffer mapping chain has a cycle");
        }
        panic!("buffer {id} is not in the mapping table under {tag:?}");
    }
}
