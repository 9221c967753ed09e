//! The shared lock table (PostgreSQL's `LOCK` / `PROCLOCK` hash tables and
//! the wait-queue half of `PGPROC`).
//!
//! Layout of the region, all fixed at start:
//!
//! ```text
//! LockTableHeader | buckets[n_buckets] | LockEntry[n_locks] | ProcLockEntry[n_proclocks] | LockProc[n_procs]
//! ```
//!
//! A tag hashes to a partition (`hash % NUM_LOCK_PARTITIONS`) and a bucket
//! (`hash % n_buckets`; `n_buckets` is a multiple of the partition count, so
//! a bucket belongs to exactly one partition). Every entry reachable from a
//! partition's buckets — the LOCK, its PROCLOCKs, and the queue links of the
//! processes waiting on it — is guarded by that partition's LWLock. Free
//! entries sit on free lists guarded by `freelist_lock` (a spinlock).
//!
//! Fields are atomics read and written with `Relaxed` ordering *under* the
//! guarding LWLock (whose acquire/release orders them); the only fields read
//! without the lock are `LockProc::wait_status` (by its owner, Acquire) and
//! `LockProc::wait_start` (by pg_locks, informational).

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering::Relaxed};

use super::tag::{LockMode, LockTag, MAX_LOCKMODES, RawTag};
use crate::process::procarray::{ProcArray, ProcSlot};
use crate::storage::lock::{LWLock, LWLockMode, SpinLock};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::Settings;

/// Number of lock-table partitions (PostgreSQL's `NUM_LOCK_PARTITIONS`).
pub const NUM_LOCK_PARTITIONS: usize = 16;

/// `LockProc::wait_status` values.
pub(crate) const WAIT_OK: u32 = 0;
pub(crate) const WAIT_WAITING: u32 = 1;

/// "No entry" in the index+1 links below.
const NIL: u32 = 0;

#[repr(C)]
pub(crate) struct LockTableHeader {
    /// One per partition; see the module doc for what each guards.
    pub partition_locks: [LWLock; NUM_LOCK_PARTITIONS],
    /// Guards the two free-list heads and the `next` links of free entries.
    freelist_lock: SpinLock,
    /// Index+1 of the first free `LockEntry`. Guarded by `freelist_lock`.
    lock_free_head: AtomicU32,
    /// Index+1 of the first free `ProcLockEntry`. Guarded by `freelist_lock`.
    proclock_free_head: AtomicU32,
}

/// A locked object (PostgreSQL's `LOCK`). Guarded by its partition lock.
#[repr(C)]
pub(crate) struct LockEntry {
    tag: [AtomicU32; 6],
    /// Index+1 of the next entry in the bucket chain (or the free list).
    next: AtomicU32,
    /// Modes granted to someone (bit per mode).
    pub grant_mask: AtomicU32,
    /// Modes someone waits for.
    pub wait_mask: AtomicU32,
    /// Requests (granted or waiting) and grants, per mode and in total.
    pub requested: [AtomicU32; MAX_LOCKMODES + 1],
    pub n_requested: AtomicU32,
    pub granted: [AtomicU32; MAX_LOCKMODES + 1],
    pub n_granted: AtomicU32,
    /// Index+1 of the first PROCLOCK of this lock.
    pub proclocks: AtomicU32,
    /// Index+1 of the first waiting process (FIFO through `LockProc::wait_next`).
    pub queue_head: AtomicU32,
}

/// One process's interest in one lock (PostgreSQL's `PROCLOCK`). Guarded by
/// the lock's partition lock.
#[repr(C)]
pub(crate) struct ProcLockEntry {
    pub lock: AtomicU32,
    pub proc: AtomicU32,
    /// Modes this process holds on the lock.
    pub hold_mask: AtomicU32,
    /// Index+1 of the next PROCLOCK of the same lock (or the free list).
    pub next: AtomicU32,
}

/// The waiting part of a process (PostgreSQL's `PGPROC.waitLock` & co).
/// Indexed like the process array's slots.
#[repr(C)]
pub(crate) struct LockProc {
    /// Index+1 of the lock waited for, NIL if none. Guarded by that lock's partition.
    pub wait_lock: AtomicU32,
    /// Mode waited for. Same guard.
    pub wait_mode: AtomicU32,
    /// The PROCLOCK of the wait. Same guard.
    pub wait_proclock: AtomicU32,
    /// Index+1 of the next process in the same wait queue. Same guard.
    pub wait_next: AtomicU32,
    /// WAIT_WAITING while queued; set to WAIT_OK (Release) by whoever grants
    /// the lock, under the partition lock, before setting the latch.
    pub wait_status: AtomicU32,
    _pad: u32,
    /// When the current wait began (TimestampTz), 0 if not waiting. Owner writes.
    pub wait_start: AtomicI64,
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Sizes derived from the settings, identical in every process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub n_locks: usize,
    pub n_proclocks: usize,
    pub n_buckets: usize,
    pub n_procs: usize,
}

impl Dims {
    /// PostgreSQL's sizing: `max_locks_per_transaction × (max_connections +
    /// auxiliary processes)` locks, twice as many PROCLOCKs.
    pub fn of(settings: &Settings) -> Dims {
        let n_procs = ProcArray::slot_count(settings);
        let per_xact = settings.get_int("max_locks_per_transaction").max(10) as usize;
        let n_locks = per_xact * n_procs;
        let n_buckets = (n_locks / 2).next_power_of_two().max(NUM_LOCK_PARTITIONS);
        Dims {
            n_locks,
            n_proclocks: 2 * n_locks,
            n_buckets,
            n_procs,
        }
    }

    fn offsets(self) -> [usize; 5] {
        use std::mem::size_of;
        let buckets = align8(size_of::<LockTableHeader>());
        let locks = align8(buckets + self.n_buckets * size_of::<AtomicU32>());
        let proclocks = align8(locks + self.n_locks * size_of::<LockEntry>());
        let procs = align8(proclocks + self.n_proclocks * size_of::<ProcLockEntry>());
        let end = align8(procs + self.n_procs * size_of::<LockProc>());
        [buckets, locks, proclocks, procs, end]
    }
}

/// This process's view of the shared lock table.
#[derive(Clone, Copy)]
pub struct LockTable {
    pub(crate) header: &'static LockTableHeader,
    pub(crate) buckets: &'static [AtomicU32],
    pub(crate) locks: &'static [LockEntry],
    pub(crate) proclocks: &'static [ProcLockEntry],
    pub(crate) procs: &'static [LockProc],
    pub(crate) procarray: ProcArray,
}

/// Error raised when the table has no free entry (PostgreSQL's wording).
pub(crate) fn out_of_shared_memory() -> PgError {
    PgError::error(sqlstate::OUT_OF_MEMORY, "out of shared memory")
        .with_hint("You might need to increase max_locks_per_transaction.")
}

impl LockTable {
    /// The lock table's place in the shared-memory registry.
    pub const REGION: crate::storage::shmem::Region = crate::storage::shmem::Region {
        name: "LockTable",
        size: LockTable::region_size,
        init: LockTable::init,
    };

    fn region_size(settings: &Settings) -> usize {
        Dims::of(settings).offsets()[4]
    }

    /// # Safety
    /// `base` points at `region_size(settings)` zeroed, 8-aligned bytes that
    /// no other process uses yet.
    unsafe fn init(base: *mut u8, settings: &Settings) {
        // SAFETY: forwarded from the caller.
        let (header, _buckets, locks, proclocks, _procs) =
            unsafe { LockTable::parts(base, settings) };
        // Thread every entry onto its free list; zero is a valid state for the rest.
        for (i, e) in locks.iter().enumerate() {
            e.next.store(
                if i + 1 < locks.len() {
                    i as u32 + 2
                } else {
                    NIL
                },
                Relaxed,
            );
        }
        for (i, e) in proclocks.iter().enumerate() {
            e.next.store(
                if i + 1 < proclocks.len() {
                    i as u32 + 2
                } else {
                    NIL
                },
                Relaxed,
            );
        }
        header
            .lock_free_head
            .store(if locks.is_empty() { NIL } else { 1 }, Relaxed);
        header
            .proclock_free_head
            .store(if proclocks.is_empty() { NIL } else { 1 }, Relaxed);
    }

    /// The table in this process's segment.
    pub fn get() -> LockTable {
        let seg = crate::storage::shmem::get();
        // SAFETY: the region was initialised by `init` with the segment's settings.
        unsafe {
            LockTable::from_raw(
                seg.region(crate::storage::shmem::RegionId::LockTable),
                seg.settings(),
                seg.procarray(),
            )
        }
    }

    /// # Safety
    /// `base` is the start of a region laid out by `region_size(settings)`
    /// and initialised by `init`, that stays mapped for the life of the
    /// process; `procarray` is the process array of the same segment.
    pub unsafe fn from_raw(base: *mut u8, settings: &Settings, procarray: ProcArray) -> LockTable {
        // SAFETY: forwarded from the caller.
        let (header, buckets, locks, proclocks, procs) =
            unsafe { LockTable::parts(base, settings) };
        assert_eq!(
            procs.len(),
            procarray.slots().len(),
            "lock table sized for another process array"
        );
        LockTable {
            header,
            buckets,
            locks,
            proclocks,
            procs,
            procarray,
        }
    }

    /// # Safety
    /// `base` points at `region_size(settings)` bytes of shared memory that
    /// stay mapped for the life of the process.
    #[allow(clippy::type_complexity)]
    unsafe fn parts(
        base: *mut u8,
        settings: &Settings,
    ) -> (
        &'static LockTableHeader,
        &'static [AtomicU32],
        &'static [LockEntry],
        &'static [ProcLockEntry],
        &'static [LockProc],
    ) {
        let dims = Dims::of(settings);
        let [b, l, pl, p, _] = dims.offsets();
        // SAFETY: the caller guarantees the layout; every part is 8-aligned
        // (the region starts on a cache line) and all-zero is a valid value
        // for every atomic in it.
        unsafe {
            (
                &*(base as *const LockTableHeader),
                std::slice::from_raw_parts(base.add(b) as *const AtomicU32, dims.n_buckets),
                std::slice::from_raw_parts(base.add(l) as *const LockEntry, dims.n_locks),
                std::slice::from_raw_parts(base.add(pl) as *const ProcLockEntry, dims.n_proclocks),
                std::slice::from_raw_parts(base.add(p) as *const LockProc, dims.n_procs),
            )
        }
    }

    pub fn procarray(&self) -> ProcArray {
        self.procarray
    }

    /// Index of a slot of the process array (= index into `procs`).
    pub fn proc_index(&self, slot: &ProcSlot) -> usize {
        let base = self.procarray.slots().as_ptr() as usize;
        let off = slot as *const ProcSlot as usize - base;
        let i = off / std::mem::size_of::<ProcSlot>();
        assert!(i < self.procs.len(), "slot is not in this process array");
        i
    }

    pub(crate) fn pid_of(&self, proc: usize) -> i32 {
        self.procarray.slots()[proc]
            .pid
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn partition_of(hash: u32) -> usize {
        hash as usize % NUM_LOCK_PARTITIONS
    }

    pub(crate) fn partition_lock(&self, part: usize) -> &'static LWLock {
        &self.header.partition_locks[part]
    }

    /// Takes every partition lock in order (deadlock check, pg_locks).
    pub(crate) fn lock_all(&self, mode: LWLockMode) -> Vec<impl Sized + 'static> {
        self.header
            .partition_locks
            .iter()
            .map(|l| l.acquire(mode))
            .collect()
    }

    // -- LOCK entries (caller holds the tag's partition lock) ---------------

    pub(crate) fn tag_of(&self, lock: usize) -> LockTag {
        let e = &self.locks[lock];
        LockTag::from_raw(std::array::from_fn(|i| e.tag[i].load(Relaxed)))
    }

    fn bucket_of(&self, hash: u32) -> &AtomicU32 {
        &self.buckets[hash as usize % self.buckets.len()]
    }

    pub(crate) fn find_lock(&self, raw: &RawTag, hash: u32) -> Option<usize> {
        let mut cur = self.bucket_of(hash).load(Relaxed);
        let mut steps = 0;
        while cur != NIL {
            let e = &self.locks[cur as usize - 1];
            if e.tag.iter().zip(raw).all(|(a, b)| a.load(Relaxed) == *b) {
                return Some(cur as usize - 1);
            }
            cur = e.next.load(Relaxed);
            steps += 1;
            assert!(
                steps <= self.locks.len(),
                "cycle in a lock-table bucket chain"
            );
        }
        None
    }

    pub(crate) fn find_or_create_lock(&self, tag: LockTag, hash: u32) -> PgResult<usize> {
        let raw = tag.to_raw();
        if let Some(i) = self.find_lock(&raw, hash) {
            return Ok(i);
        }
        let i = {
            let _g = self.header.freelist_lock.lock();
            let head = self.header.lock_free_head.load(Relaxed);
            if head == NIL {
                return Err(out_of_shared_memory());
            }
            self.header
                .lock_free_head
                .store(self.locks[head as usize - 1].next.load(Relaxed), Relaxed);
            head as usize - 1
        };
        let e = &self.locks[i];
        for (slot, v) in e.tag.iter().zip(raw) {
            slot.store(v, Relaxed);
        }
        e.grant_mask.store(0, Relaxed);
        e.wait_mask.store(0, Relaxed);
        for m in 0..=MAX_LOCKMODES {
            e.requested[m].store(0, Relaxed);
            e.granted[m].store(0, Relaxed);
        }
        e.n_requested.store(0, Relaxed);
        e.n_granted.store(0, Relaxed);
        e.proclocks.store(NIL, Relaxed);
        e.queue_head.store(NIL, Relaxed);
        let bucket = self.bucket_of(hash);
        e.next.store(bucket.load(Relaxed), Relaxed);
        bucket.store(i as u32 + 1, Relaxed);
        Ok(i)
    }

    /// Unlinks an unused lock from its bucket and frees it.
    pub(crate) fn remove_lock(&self, lock: usize, hash: u32) {
        let e = &self.locks[lock];
        assert_eq!(
            e.n_requested.load(Relaxed),
            0,
            "freeing a lock that is still requested"
        );
        assert_eq!(
            e.proclocks.load(Relaxed),
            NIL,
            "freeing a lock that still has PROCLOCKs"
        );
        assert_eq!(
            e.queue_head.load(Relaxed),
            NIL,
            "freeing a lock with waiters"
        );
        let bucket = self.bucket_of(hash);
        let target = lock as u32 + 1;
        if bucket.load(Relaxed) == target {
            bucket.store(e.next.load(Relaxed), Relaxed);
        } else {
            let mut cur = bucket.load(Relaxed);
            loop {
                assert_ne!(cur, NIL, "lock not found in its bucket chain");
                let c = &self.locks[cur as usize - 1];
                if c.next.load(Relaxed) == target {
                    c.next.store(e.next.load(Relaxed), Relaxed);
                    break;
                }
                cur = c.next.load(Relaxed);
            }
        }
        let _g = self.header.freelist_lock.lock();
        e.next
            .store(self.header.lock_free_head.load(Relaxed), Relaxed);
        self.header.lock_free_head.store(target, Relaxed);
    }

    // -- PROCLOCK entries ----------------------------------------------------

    pub(crate) fn find_proclock(&self, lock: usize, proc: usize) -> Option<usize> {
        let mut cur = self.locks[lock].proclocks.load(Relaxed);
        while cur != NIL {
            let pl = &self.proclocks[cur as usize - 1];
            if pl.proc.load(Relaxed) as usize == proc {
                return Some(cur as usize - 1);
            }
            cur = pl.next.load(Relaxed);
        }
        None
    }

    pub(crate) fn find_or_create_proclock(&self, lock: usize, proc: usize) -> PgResult<usize> {
        if let Some(i) = self.find_proclock(lock, proc) {
            return Ok(i);
        }
        let i = {
            let _g = self.header.freelist_lock.lock();
            let head = self.header.proclock_free_head.load(Relaxed);
            if head == NIL {
                return Err(out_of_shared_memory());
            }
            self.header.proclock_free_head.store(
                self.proclocks[head as usize - 1].next.load(Relaxed),
                Relaxed,
            );
            head as usize - 1
        };
        let pl = &self.proclocks[i];
        pl.lock.store(lock as u32, Relaxed);
        pl.proc.store(proc as u32, Relaxed);
        pl.hold_mask.store(0, Relaxed);
        let e = &self.locks[lock];
        pl.next.store(e.proclocks.load(Relaxed), Relaxed);
        e.proclocks.store(i as u32 + 1, Relaxed);
        Ok(i)
    }

    fn remove_proclock(&self, proclock: usize) {
        let pl = &self.proclocks[proclock];
        let e = &self.locks[pl.lock.load(Relaxed) as usize];
        let target = proclock as u32 + 1;
        if e.proclocks.load(Relaxed) == target {
            e.proclocks.store(pl.next.load(Relaxed), Relaxed);
        } else {
            let mut cur = e.proclocks.load(Relaxed);
            loop {
                assert_ne!(cur, NIL, "PROCLOCK not found on its lock");
                let c = &self.proclocks[cur as usize - 1];
                if c.next.load(Relaxed) == target {
                    c.next.store(pl.next.load(Relaxed), Relaxed);
                    break;
                }
                cur = c.next.load(Relaxed);
            }
        }
        let _g = self.header.freelist_lock.lock();
        pl.next
            .store(self.header.proclock_free_head.load(Relaxed), Relaxed);
        self.header.proclock_free_head.store(target, Relaxed);
    }

    /// Frees the PROCLOCK if it holds nothing and is not waited on, then the
    /// LOCK if nobody requests it any more (PostgreSQL's `CleanUpLock`);
    /// otherwise wakes whoever can now be granted.
    pub(crate) fn clean_up_lock(&self, lock: usize, proclock: usize, hash: u32) {
        let pl = &self.proclocks[proclock];
        let proc = pl.proc.load(Relaxed) as usize;
        let waiting_here = self.procs[proc].wait_lock.load(Relaxed) == lock as u32 + 1;
        if pl.hold_mask.load(Relaxed) == 0 && !waiting_here {
            self.remove_proclock(proclock);
        }
        if self.locks[lock].n_requested.load(Relaxed) == 0 {
            self.remove_lock(lock, hash);
        } else {
            self.wake_up(lock);
        }
    }

    // -- grant bookkeeping ---------------------------------------------------

    /// `GrantLock`: counts a grant of `mode` to the PROCLOCK's process.
    pub(crate) fn grant(&self, lock: usize, proclock: usize, mode: LockMode) {
        let e = &self.locks[lock];
        let m = mode as usize;
        e.granted[m].fetch_add(1, Relaxed);
        e.n_granted.fetch_add(1, Relaxed);
        e.grant_mask.fetch_or(mode.bit(), Relaxed);
        let prev = self.proclocks[proclock]
            .hold_mask
            .fetch_or(mode.bit(), Relaxed);
        assert_eq!(prev & mode.bit(), 0, "granting a mode already held");
        assert!(
            e.n_granted.load(Relaxed) <= e.n_requested.load(Relaxed),
            "more grants than requests"
        );
    }

    /// Counts a new request of `mode`.
    pub(crate) fn add_request(&self, lock: usize, mode: LockMode) {
        let e = &self.locks[lock];
        e.requested[mode as usize].fetch_add(1, Relaxed);
        e.n_requested.fetch_add(1, Relaxed);
    }

    /// Withdraws a request that was never granted.
    pub(crate) fn remove_request(&self, lock: usize, mode: LockMode) {
        let e = &self.locks[lock];
        let prev = e.requested[mode as usize].fetch_sub(1, Relaxed);
        assert!(prev > 0, "request count underflow");
        e.n_requested.fetch_sub(1, Relaxed);
    }

    /// `UnGrantLock`: forgets a granted `mode` (both grant and request).
    pub(crate) fn ungrant(&self, lock: usize, proclock: usize, mode: LockMode) {
        let e = &self.locks[lock];
        let m = mode as usize;
        let prev = self.proclocks[proclock]
            .hold_mask
            .fetch_and(!mode.bit(), Relaxed);
        assert_ne!(prev & mode.bit(), 0, "releasing a lock mode not held");
        assert!(e.granted[m].load(Relaxed) > 0, "grant count underflow");
        e.granted[m].fetch_sub(1, Relaxed);
        e.n_granted.fetch_sub(1, Relaxed);
        if e.granted[m].load(Relaxed) == 0 {
            e.grant_mask.fetch_and(!mode.bit(), Relaxed);
        }
        self.remove_request(lock, mode);
    }

    /// `LockCheckConflicts`: would `mode` conflict with what *other*
    /// processes hold? `my_held` is what the requester already holds.
    pub(crate) fn conflicts_with_holders(&self, lock: usize, mode: LockMode, my_held: u32) -> bool {
        let e = &self.locks[lock];
        let conflict_mask = mode.conflicts();
        if conflict_mask & e.grant_mask.load(Relaxed) == 0 {
            return false;
        }
        LockMode::ALL.iter().any(|&m| {
            if conflict_mask & m.bit() == 0 {
                return false;
            }
            let mine = (my_held & m.bit() != 0) as u32;
            e.granted[m as usize].load(Relaxed) > mine
        })
    }

    // -- wait queue ------------------------------------------------------------

    /// The processes waiting on `lock`, in queue order.
    pub(crate) fn queue(&self, lock: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.locks[lock].queue_head.load(Relaxed);
        while cur != NIL {
            out.push(cur as usize - 1);
            assert!(out.len() <= self.procs.len(), "cycle in a lock wait queue");
            cur = self.procs[cur as usize - 1].wait_next.load(Relaxed);
        }
        out
    }

    pub(crate) fn hold_mask_of(&self, proc: usize) -> u32 {
        self.proclocks[self.procs[proc].wait_proclock.load(Relaxed) as usize]
            .hold_mask
            .load(Relaxed)
    }

    pub(crate) fn wait_mode_of(&self, proc: usize) -> LockMode {
        LockMode::from_u32(self.procs[proc].wait_mode.load(Relaxed)).expect("valid wait mode")
    }

    /// Queues `proc` for `mode` on `lock`, before `before` or at the tail.
    pub(crate) fn enqueue(
        &self,
        lock: usize,
        proclock: usize,
        proc: usize,
        mode: LockMode,
        before: Option<usize>,
    ) {
        let p = &self.procs[proc];
        assert_eq!(
            p.wait_lock.load(Relaxed),
            NIL,
            "process already waits for a lock"
        );
        p.wait_mode.store(mode as u32, Relaxed);
        p.wait_proclock.store(proclock as u32, Relaxed);
        p.wait_start
            .store(crate::utils::time::now_timestamptz(), Relaxed);
        p.wait_status.store(WAIT_WAITING, Relaxed);
        p.wait_lock.store(lock as u32 + 1, Relaxed);
        let e = &self.locks[lock];
        let me = proc as u32 + 1;
        let target = before.map_or(NIL, |b| b as u32 + 1);
        if e.queue_head.load(Relaxed) == target {
            p.wait_next.store(target, Relaxed);
            e.queue_head.store(me, Relaxed);
        } else {
            let mut cur = e.queue_head.load(Relaxed);
            loop {
                assert_ne!(cur, NIL, "queue position not found");
                let c = &self.procs[cur as usize - 1];
                if c.wait_next.load(Relaxed) == target {
                    p.wait_next.store(target, Relaxed);
                    c.wait_next.store(me, Relaxed);
                    break;
                }
                cur = c.wait_next.load(Relaxed);
            }
        }
        e.wait_mask.fetch_or(mode.bit(), Relaxed);
    }

    /// Unlinks `proc` from the queue of the lock it waits on and recomputes
    /// the wait mask. Does not touch the request counts.
    fn dequeue(&self, lock: usize, proc: usize) {
        let e = &self.locks[lock];
        let me = proc as u32 + 1;
        let next = self.procs[proc].wait_next.load(Relaxed);
        if e.queue_head.load(Relaxed) == me {
            e.queue_head.store(next, Relaxed);
        } else {
            let mut cur = e.queue_head.load(Relaxed);
            loop {
                assert_ne!(cur, NIL, "waiter not found in its lock's queue");
                let c = &self.procs[cur as usize - 1];
                if c.wait_next.load(Relaxed) == me {
                    c.wait_next.store(next, Relaxed);
                    break;
                }
                cur = c.wait_next.load(Relaxed);
            }
        }
        let p = &self.procs[proc];
        p.wait_next.store(NIL, Relaxed);
        p.wait_lock.store(NIL, Relaxed);
        let mask = self
            .queue(lock)
            .iter()
            .fold(0, |m, &q| m | self.wait_mode_of(q).bit());
        e.wait_mask.store(mask, Relaxed);
    }

    /// `RemoveFromWaitQueue`: a waiter gives up (timeout, cancel, deadlock).
    /// Withdraws its request, cleans up and wakes whoever that unblocks.
    pub(crate) fn remove_from_wait_queue(&self, proc: usize, hash: u32) {
        let p = &self.procs[proc];
        let lock = p.wait_lock.load(Relaxed) as usize - 1;
        let proclock = p.wait_proclock.load(Relaxed) as usize;
        let mode = self.wait_mode_of(proc);
        self.dequeue(lock, proc);
        p.wait_start.store(0, Relaxed);
        self.remove_request(lock, mode);
        self.clean_up_lock(lock, proclock, hash);
    }

    /// `ProcLockWakeup`: grants, in queue order, every waiter that conflicts
    /// neither with the holders nor with a request ahead of it in the queue,
    /// and sets its latch.
    pub(crate) fn wake_up(&self, lock: usize) {
        let mut ahead_requests = 0u32;
        for proc in self.queue(lock) {
            let mode = self.wait_mode_of(proc);
            let proclock = self.procs[proc].wait_proclock.load(Relaxed) as usize;
            let held = self.proclocks[proclock].hold_mask.load(Relaxed);
            if mode.conflicts() & ahead_requests == 0
                && !self.conflicts_with_holders(lock, mode, held)
            {
                self.grant(lock, proclock, mode);
                self.dequeue(lock, proc);
                self.procs[proc].wait_start.store(0, Relaxed);
                self.procs[proc]
                    .wait_status
                    .store(WAIT_OK, std::sync::atomic::Ordering::Release);
                self.procarray.slots()[proc].latch.set();
            } else {
                ahead_requests |= mode.bit();
            }
        }
    }
}

/// One row of the `pg_locks` view.
#[derive(Clone, Debug, PartialEq)]
pub struct PgLocksRow {
    pub locktype: &'static str,
    pub database: Option<u32>,
    pub relation: Option<u32>,
    pub page: Option<u32>,
    pub tuple: Option<u16>,
    pub transactionid: Option<crate::storage::types::Xid>,
    pub classid: Option<u32>,
    pub objid: Option<u32>,
    pub objsubid: Option<u32>,
    pub pid: i32,
    pub mode: &'static str,
    pub granted: bool,
    /// When the wait began (TimestampTz), for rows not granted.
    pub waitstart: Option<i64>,
}

impl LockTable {
    /// The rows of `pg_locks` (PostgreSQL's `GetLockStatusData`): one per
    /// held mode per process, plus one ungranted row per waiter. Takes every
    /// partition lock shared, in order, so the picture is consistent.
    pub fn pg_locks(&self) -> Vec<PgLocksRow> {
        let _guards = self.lock_all(LWLockMode::Shared);
        let mut rows = Vec::new();
        for bucket in self.buckets {
            let mut cur = bucket.load(Relaxed);
            while cur != NIL {
                let lock = cur as usize - 1;
                let tag = self.tag_of(lock);
                let mut pl_cur = self.locks[lock].proclocks.load(Relaxed);
                while pl_cur != NIL {
                    let pl = &self.proclocks[pl_cur as usize - 1];
                    let proc = pl.proc.load(Relaxed) as usize;
                    let held = pl.hold_mask.load(Relaxed);
                    for m in LockMode::ALL {
                        if held & m.bit() != 0 {
                            rows.push(self.row(tag, proc, m, true, None));
                        }
                    }
                    let p = &self.procs[proc];
                    if p.wait_lock.load(Relaxed) == cur
                        && p.wait_proclock.load(Relaxed) == pl_cur - 1
                    {
                        let start = p.wait_start.load(Relaxed);
                        rows.push(self.row(
                            tag,
                            proc,
                            self.wait_mode_of(proc),
                            false,
                            (start != 0).then_some(start),
                        ));
                    }
                    pl_cur = pl.next.load(Relaxed);
                }
                cur = self.locks[lock].next.load(Relaxed);
            }
        }
        rows
    }

    fn row(
        &self,
        tag: LockTag,
        proc: usize,
        mode: LockMode,
        granted: bool,
        waitstart: Option<i64>,
    ) -> PgLocksRow {
        let mut row = PgLocksRow {
            locktype: tag.locktype(),
            database: None,
            relation: None,
            page: None,
            tuple: None,
            transactionid: None,
            classid: None,
            objid: None,
            objsubid: None,
            pid: self.pid_of(proc),
            mode: mode.name(),
            granted,
            waitstart,
        };
        match tag {
            LockTag::Relation { db, rel } => {
                row.database = Some(db);
                row.relation = Some(rel);
            }
            LockTag::Tuple {
                db,
                rel,
                block,
                offset,
            } => {
                row.database = Some(db);
                row.relation = Some(rel);
                row.page = Some(block);
                row.tuple = Some(offset);
            }
            LockTag::TransactionId(xid) => row.transactionid = Some(xid),
            LockTag::Object {
                db,
                class_id,
                obj_id,
                obj_sub_id,
            } => {
                row.database = Some(db);
                row.classid = Some(class_id);
                row.objid = Some(obj_id);
                row.objsubid = Some(obj_sub_id);
            }
            LockTag::Advisory {
                db,
                key1,
                key2,
                field4,
            } => {
                row.database = Some(db);
                row.classid = Some(key1);
                row.objid = Some(key2);
                row.objsubid = Some(field4 as u32);
            }
        }
        row
    }
}
