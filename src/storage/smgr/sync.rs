//! The shared fsync request queue (PostgreSQL's `CheckpointerShmem->requests`).
//!
//! Writers append the segment they wrote; the checkpointer absorbs the
//! queue into its own pending set. The queue lives inside the buffer pool's
//! shared region, sized to one slot per buffer as in PostgreSQL.

use std::cell::UnsafeCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::storage::lock::{LWLock, LWLockMode};
use crate::storage::types::{ForkNumber, RelFileLocator};

/// One segment file that needs an fsync before the next checkpoint completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct SyncTag {
    pub rel: RelFileLocator,
    pub fork: ForkNumber,
    pub segno: u32,
}

const _: () = assert!(std::mem::size_of::<SyncTag>() == 20);

impl SyncTag {
    pub fn new(rel: RelFileLocator, fork: ForkNumber, segno: u32) -> SyncTag {
        SyncTag { rel, fork, segno }
    }
}

/// Header of the queue; `capacity` request slots follow it in shared memory.
#[repr(C)]
pub struct SyncQueue {
    /// Guards `len` and the request slots (PostgreSQL's CheckpointerCommLock).
    lock: LWLock,
    /// Number of requests queued. Guarded by `lock`.
    len: UnsafeCell<u32>,
    /// Slots after the header. Written once at init.
    capacity: u32,
    /// Times a writer found the queue full and fsynced itself
    /// (pg_stat_bgwriter.buffers_backend_fsync). Atomic.
    backend_fsync: AtomicU64,
}

// SAFETY: `len` and the slots are only touched with `lock` held; the rest is atomic or read-only.
unsafe impl Sync for SyncQueue {}

impl SyncQueue {
    /// Bytes needed for a queue of `capacity` requests.
    pub fn size(capacity: usize) -> usize {
        std::mem::size_of::<SyncQueue>() + capacity * std::mem::size_of::<SyncTag>()
    }

    /// # Safety
    /// `base` points at `size(capacity)` zeroed bytes aligned for `SyncQueue`
    /// that no other process uses yet.
    pub unsafe fn init(base: *mut u8, capacity: usize) {
        assert!(
            capacity > 0 && capacity <= u32::MAX as usize,
            "fsync queue capacity out of range"
        );
        // SAFETY: caller guarantees the memory; all-zero is an unlocked, empty queue.
        unsafe {
            let q = base.cast::<SyncQueue>();
            std::ptr::addr_of_mut!((*q).capacity).write(capacity as u32);
        }
    }

    fn slots(&self) -> *mut SyncTag {
        // SAFETY: `size` reserved the slots right after the header.
        unsafe {
            (self as *const SyncQueue as *mut u8)
                .add(std::mem::size_of::<SyncQueue>())
                .cast::<SyncTag>()
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Queues a request. When full, first squeezes out duplicates (PostgreSQL's
    /// `CompactCheckpointerRequestQueue`); returns false if still full.
    pub fn forward(&self, tag: SyncTag) -> bool {
        let _g = self.lock.acquire(LWLockMode::Exclusive);
        // SAFETY: `len` and the slots are guarded by `lock`, held exclusively.
        unsafe {
            let len = &mut *self.len.get();
            if *len >= self.capacity {
                let slots = std::slice::from_raw_parts_mut(self.slots(), *len as usize);
                let mut seen = HashSet::with_capacity(slots.len());
                let mut kept = 0;
                for i in 0..slots.len() {
                    if seen.insert(slots[i]) {
                        slots[kept] = slots[i];
                        kept += 1;
                    }
                }
                *len = kept as u32;
                if *len >= self.capacity {
                    return false;
                }
            }
            self.slots().add(*len as usize).write(tag);
            *len += 1;
        }
        true
    }

    /// Moves every queued request into `into`; returns how many were queued.
    pub fn absorb(&self, into: &mut HashSet<SyncTag>) -> usize {
        let _g = self.lock.acquire(LWLockMode::Exclusive);
        // SAFETY: guarded by `lock`, held exclusively.
        unsafe {
            let len = &mut *self.len.get();
            let n = *len as usize;
            into.extend(std::slice::from_raw_parts(self.slots(), n).iter().copied());
            *len = 0;
            n
        }
    }

    /// Requests currently queued.
    pub fn len(&self) -> usize {
        let _g = self.lock.acquire(LWLockMode::Shared);
        // SAFETY: guarded by `lock`.
        unsafe { *self.len.get() as usize }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn count_backend_fsync(&self) {
        self.backend_fsync.fetch_add(1, Ordering::Relaxed);
    }

    /// pg_stat_bgwriter.buffers_backend_fsync.
    pub fn backend_fsync_count(&self) -> u64 {
        self.backend_fsync.load(Ordering::Relaxed)
    }
}
