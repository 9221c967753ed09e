//! The pool: region layout, the per-process handle, reading (PostgreSQL's
//! `ReadBuffer_common` / `BufferAlloc`), victim selection (`freelist.c`'s
//! clock sweep), writing (`FlushBuffer`), invalidation and relation extension.

use std::cell::UnsafeCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::desc::*;
use super::guard::{BufferLockGuard, LockedBuffer, PinnedBuffer};
use super::table::{BufTable, NUM_BUFFER_PARTITIONS, PaddedLWLock, bucket_count, tag_hash};
use super::{BgWriterState, Buffer, BufferStats, WalFlushFn};
use crate::storage::lock::{LWLockGuard, LWLockMode};
use crate::storage::page::Page;
use crate::storage::shmem::{Region, RegionId, Segment};
use crate::storage::smgr::{self, Smgr, SyncQueue};
use crate::storage::types::{BLCKSZ, BlockNumber, BufferTag, ForkNumber, Lsn, RelFileLocator};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::Settings;

/// Relation-extension locks: LWLocks picked by hashing (rel, fork). Two
/// relations may share one; that only costs concurrency.
pub const NUM_EXTENSION_LOCKS: usize = 64;

/// Smallest pool (PostgreSQL's minimum for `shared_buffers`).
pub const MIN_BUFFERS: u32 = 16;
/// Alignment of the page array (PostgreSQL's `PG_IO_ALIGN_SIZE`).
const PAGE_ALIGN: usize = 4096;
/// How many times `get_victim` may fail to evict a chosen buffer (someone
/// pinned or re-dirtied it meanwhile) before giving up.
const VICTIM_ATTEMPTS_PER_BUFFER: usize = 4;
/// How long invalidation waits for a transient pin (bgwriter/checkpointer) to go.
const INVALIDATE_PIN_WAIT_MS: u32 = 30_000;

static ZERO_PAGE: [u8; BLCKSZ] = [0; BLCKSZ];

/// Counters of the whole pool (pg_stat_bgwriter / pg_stat_io). All atomic.
#[repr(C)]
#[derive(Default)]
pub(super) struct SharedStats {
    pub buffers_alloc: AtomicU64,
    pub buffers_backend: AtomicU64,
    pub buffers_clean: AtomicU64,
    pub maxwritten_clean: AtomicU64,
    pub buffers_checkpoint: AtomicU64,
    pub blocks_read: AtomicU64,
    pub blocks_hit: AtomicU64,
    pub blocks_written: AtomicU64,
    pub blocks_extended: AtomicU64,
}

/// Start of the region.
#[repr(C)]
pub(super) struct PoolHeader {
    /// Written once at init.
    nbuffers: u32,
    /// Written once at init.
    initialised: AtomicU32,
    /// Whether pages carry checksums (`data_checksums`). Written once at init.
    data_checksums: u32,
    /// Clock-sweep position, monotonically increasing: the hand is
    /// `next_victim % nbuffers`, completed passes `next_victim / nbuffers`. Atomic.
    pub next_victim: AtomicU64,
    /// Buffer allocations since the bgwriter last looked (`numBufferAllocs`). Atomic.
    pub allocs_since_bgwriter: AtomicU64,
    pub stats: SharedStats,
}

/// Byte offsets of the parts of the region (identical in every process).
struct RegionLayout {
    descs: usize,
    partition_locks: usize,
    ext_locks: usize,
    buckets: usize,
    next: usize,
    keys: usize,
    sync_queue: usize,
    pages: usize,
    total: usize,
}

fn align_to(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

impl RegionLayout {
    fn new(nbuffers: usize) -> RegionLayout {
        let mut off = align_to(std::mem::size_of::<PoolHeader>(), 64);
        let mut take = |bytes: usize| {
            let at = off;
            off = align_to(off + bytes, 64);
            at
        };
        let descs = take(nbuffers * std::mem::size_of::<BufferDesc>());
        let partition_locks = take(NUM_BUFFER_PARTITIONS * std::mem::size_of::<PaddedLWLock>());
        let ext_locks = take(NUM_EXTENSION_LOCKS * std::mem::size_of::<PaddedLWLock>());
        let buckets = take(bucket_count(nbuffers) * 4);
        let next = take(nbuffers * 4);
        let keys = take(nbuffers * std::mem::size_of::<BufferTag>());
        let sync_queue = take(SyncQueue::size(nbuffers));
        // Slack so the page array can start on a PAGE_ALIGN boundary
        // wherever the (cache-line aligned) region lands.
        let pages = take(nbuffers * BLCKSZ + PAGE_ALIGN);
        RegionLayout {
            descs,
            partition_locks,
            ext_locks,
            buckets,
            next,
            keys,
            sync_queue,
            pages,
            total: off,
        }
    }
}

fn nbuffers_from(settings: &Settings) -> u32 {
    let n = settings.get_int("shared_buffers");
    assert!(
        n >= MIN_BUFFERS as i64,
        "shared_buffers must be at least {MIN_BUFFERS} (got {n})"
    );
    assert!(n < (1 << 30), "shared_buffers is too large ({n} buffers)");
    n as u32
}

/// What a flush was for, for the statistics.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteSource {
    /// A backend evicting a victim or flushing a relation (buffers_backend).
    Backend,
    /// `sync_for_checkpoint` (buffers_checkpoint).
    Checkpoint,
    /// `bgwriter_lru_scan` (buffers_clean).
    BgWriter,
}

/// Whether `read_buffer` reads the block or zero-fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReadMode {
    /// Read the block from disk on a miss (it must exist).
    Normal,
    /// Don't read: on a miss the page is zero-filled (for a block past the
    /// end being added, or one redo overwrites completely); the buffer
    /// comes back exclusively locked.
    ZeroAndLock,
}

/// The buffer pool as this process sees it: pointers into the shared region
/// plus this process's own state (its pins, its storage manager and WAL
/// flush hook). One per process (per test in unit tests).
pub struct BufferPool {
    nbuffers: u32,
    pub(super) header: &'static PoolHeader,
    pub(super) descs: &'static [BufferDesc],
    table: BufTable,
    ext_locks: &'static [PaddedLWLock],
    pages: *mut u8,
    sync_queue: &'static SyncQueue,
    pub(super) smgr: &'static Smgr,
    wal_flush: WalFlushFn,
    /// Pins this process holds on each buffer (PostgreSQL's PrivateRefCount),
    /// for `release_all_pins` on the way out and leak checks.
    private_refcount: Box<[AtomicU32]>,
    pub(super) bgwriter: Mutex<BgWriterState>,
}

// SAFETY: the shared parts are atomics, LWLocks, or cells guarded by the
// locks documented on each field; `pages` points into the shared region and
// each page is guarded by its buffer's content lock (README rules 1–3).
unsafe impl Send for BufferPool {}
unsafe impl Sync for BufferPool {}

impl BufferPool {
    /// The pool's place in the shared-memory registry.
    pub const REGION: Region = Region {
        name: "BufferPool",
        size: BufferPool::region_size,
        init: BufferPool::init_region,
    };

    fn region_size(settings: &Settings) -> usize {
        BufferPool::size_for(nbuffers_from(settings))
    }

    /// # Safety
    /// As [`Region::init`].
    unsafe fn init_region(base: *mut u8, settings: &Settings) {
        // SAFETY: forwarded contract.
        unsafe {
            BufferPool::init_at(
                base,
                nbuffers_from(settings),
                settings.get_bool("data_checksums"),
            )
        }
    }

    /// Bytes of shared memory a pool of `nbuffers` needs.
    pub fn size_for(nbuffers: u32) -> usize {
        RegionLayout::new(nbuffers as usize).total
    }

    /// Initialises a pool in memory that no process uses yet.
    ///
    /// # Safety
    /// `base` points at `size_for(nbuffers)` zeroed bytes, 64-byte aligned,
    /// in memory shared by every process that will attach.
    pub unsafe fn init_at(base: *mut u8, nbuffers: u32, data_checksums: bool) {
        assert!(
            nbuffers >= MIN_BUFFERS,
            "a buffer pool needs at least {MIN_BUFFERS} buffers"
        );
        assert_eq!(
            base as usize % 64,
            0,
            "buffer pool region must be cache-line aligned"
        );
        let layout = RegionLayout::new(nbuffers as usize);
        // SAFETY: the memory is ours, zeroed, and laid out by RegionLayout.
        // All-zero is the initial state of descriptors (no tag, unpinned),
        // LWLocks (free), buckets (empty) and links (unlinked).
        unsafe {
            let header = base.cast::<PoolHeader>();
            std::ptr::addr_of_mut!((*header).nbuffers).write(nbuffers);
            std::ptr::addr_of_mut!((*header).data_checksums).write(data_checksums as u32);
            SyncQueue::init(base.add(layout.sync_queue), nbuffers as usize);
            let pool = BufferPool::views(base, nbuffers);
            pool.0.init();
            for d in pool.1 {
                d.lock_header().set_tag(INVALID_TAG);
            }
            (*header).initialised.store(1, Ordering::Release);
        }
    }

    /// # Safety
    /// `base` was laid out for `nbuffers` (by `init_at` or about to be).
    unsafe fn views(base: *mut u8, nbuffers: u32) -> (BufTable, &'static [BufferDesc]) {
        let n = nbuffers as usize;
        let l = RegionLayout::new(n);
        // SAFETY: offsets computed by RegionLayout lie inside the region and
        // are aligned for their types; the memory lives as long as the process.
        unsafe {
            let table = BufTable::from_parts(
                std::slice::from_raw_parts(
                    base.add(l.partition_locks).cast(),
                    NUM_BUFFER_PARTITIONS,
                ),
                std::slice::from_raw_parts(
                    base.add(l.buckets).cast::<AtomicU32>(),
                    bucket_count(n),
                ),
                std::slice::from_raw_parts(base.add(l.next).cast::<AtomicU32>(), n),
                std::slice::from_raw_parts(base.add(l.keys).cast::<UnsafeCell<BufferTag>>(), n),
            );
            let descs = std::slice::from_raw_parts(base.add(l.descs).cast::<BufferDesc>(), n);
            (table, descs)
        }
    }

    /// This process's view of an initialised pool.
    ///
    /// # Safety
    /// `base` was initialised by [`BufferPool::init_at`] with `nbuffers`, and
    /// stays mapped for the rest of the process's life.
    pub unsafe fn from_raw(
        base: *mut u8,
        nbuffers: u32,
        smgr: &'static Smgr,
        wal_flush: WalFlushFn,
    ) -> BufferPool {
        let l = RegionLayout::new(nbuffers as usize);
        // SAFETY: per the contract, the region is initialised and laid out by RegionLayout.
        unsafe {
            let header = &*base.cast::<PoolHeader>();
            assert_eq!(
                header.initialised.load(Ordering::Acquire),
                1,
                "buffer pool region is not initialised"
            );
            assert_eq!(
                header.nbuffers, nbuffers,
                "buffer pool was initialised for another size"
            );
            let (table, descs) = BufferPool::views(base, nbuffers);
            let ext_locks = std::slice::from_raw_parts(
                base.add(l.ext_locks).cast::<PaddedLWLock>(),
                NUM_EXTENSION_LOCKS,
            );
            let sync_queue = &*base.add(l.sync_queue).cast::<SyncQueue>();
            let pages_start = base.add(l.pages);
            let pages = pages_start.add(pages_start.align_offset(PAGE_ALIGN));
            smgr.attach_sync_queue(sync_queue);
            BufferPool {
                nbuffers,
                header,
                descs,
                table,
                ext_locks,
                pages,
                sync_queue,
                smgr,
                wal_flush,
                private_refcount: (0..nbuffers).map(|_| AtomicU32::new(0)).collect(),
                bgwriter: Mutex::new(BgWriterState::default()),
            }
        }
    }

    /// Attaches to the pool in the server's shared segment (a child, after fork).
    pub fn attach(seg: &Segment, smgr: &'static Smgr, wal_flush: WalFlushFn) -> BufferPool {
        let nbuffers = nbuffers_from(seg.settings());
        // SAFETY: the segment's BufferPool region was initialised by
        // `init_region` with the same settings, and is never unmapped under a child.
        unsafe { BufferPool::from_raw(seg.region(RegionId::BufferPool), nbuffers, smgr, wal_flush) }
    }

    pub fn nbuffers(&self) -> u32 {
        self.nbuffers
    }

    /// Whether pages are checksummed (fixed at initdb, like PostgreSQL's).
    pub fn data_checksums(&self) -> bool {
        self.header.data_checksums != 0
    }

    pub fn smgr(&self) -> &'static Smgr {
        self.smgr
    }

    pub(super) fn desc(&self, buf: Buffer) -> &'static BufferDesc {
        &self.descs[buf.0 as usize]
    }

    /// Raw pointer to a buffer's page. Access rules: README 1–3.
    pub(super) fn page_ptr(&self, buf: Buffer) -> *mut [u8; BLCKSZ] {
        assert!(buf.0 < self.nbuffers, "buffer id out of range");
        // SAFETY: inside the page array laid out by RegionLayout.
        unsafe { self.pages.add(buf.0 as usize * BLCKSZ).cast() }
    }

    // -----------------------------------------------------------------------
    // Pins
    // -----------------------------------------------------------------------

    /// Pins a buffer found through the mapping table (partition lock held),
    /// bumping its usage count (PostgreSQL's `PinBuffer`).
    fn pin_found(&self, buf: Buffer) -> u32 {
        let state = self.desc(buf).update_unlocked(|s| {
            assert!(refcount(s) < REFCOUNT_MASK, "buffer refcount overflow");
            let mut n = s + REFCOUNT_ONE;
            if usage_count(s) < MAX_USAGE_COUNT {
                n += USAGE_ONE;
            }
            n
        });
        self.private_refcount[buf.0 as usize].fetch_add(1, Ordering::Relaxed);
        state
    }

    /// Pins with the header spinlock held, without touching the usage count
    /// (`PinBuffer_Locked`); the caller calls `note_pin` after unlocking.
    fn pin_locked(h: &mut HeaderGuard<'_>) {
        assert!(
            refcount(h.state) < REFCOUNT_MASK,
            "buffer refcount overflow"
        );
        h.state += REFCOUNT_ONE;
    }

    fn note_pin(&self, buf: Buffer) {
        self.private_refcount[buf.0 as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Drops one of this process's pins (`UnpinBuffer`).
    pub(super) fn unpin(&self, buf: Buffer) {
        let prev = self.private_refcount[buf.0 as usize].fetch_sub(1, Ordering::Relaxed);
        assert!(
            prev > 0,
            "unpinning buffer {} that this process has not pinned",
            buf.0
        );
        self.desc(buf).update_unlocked(|s| {
            assert!(refcount(s) > 0, "buffer refcount underflow");
            s - REFCOUNT_ONE
        });
    }

    /// Pins this process holds (all buffers). Zero between transactions.
    pub fn pins_held(&self) -> u32 {
        self.private_refcount
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Drops every pin this process holds (PostgreSQL's `AtProcExit_Buffers`).
    /// Only on the way out: guards still alive must never be dropped after it.
    pub fn release_all_pins(&self) {
        for id in 0..self.nbuffers {
            let n = self.private_refcount[id as usize].load(Ordering::Relaxed);
            for _ in 0..n {
                self.unpin(Buffer(id));
            }
        }
    }

    /// Drops a pin taken with [`PinnedBuffer::into_raw`] (PostgreSQL's `ReleaseBuffer`).
    pub fn release(&self, buf: Buffer) {
        self.unpin(buf);
    }

    /// Which block a pinned buffer holds (`BufferGetTag`).
    pub fn tag_of(&self, buf: Buffer) -> BufferTag {
        assert!(
            self.private_refcount[buf.0 as usize].load(Ordering::Relaxed) > 0,
            "tag_of on an unpinned buffer"
        );
        self.desc(buf).lock_header().tag()
    }

    /// Takes a buffer's content lock (`LockBuffer`). The caller holds a pin
    /// and keeps it until the guard is gone.
    pub(super) fn lock_content(&self, buf: Buffer, mode: LWLockMode) -> BufferLockGuard<'_> {
        assert!(
            self.private_refcount[buf.0 as usize].load(Ordering::Relaxed) > 0,
            "locking an unpinned buffer"
        );
        let lw = self.desc(buf).content_lock.acquire(mode);
        BufferLockGuard::new(self, buf, mode, lw)
    }

    // -----------------------------------------------------------------------
    // Reading
    // -----------------------------------------------------------------------

    /// Pins the buffer holding `tag`, reading the block on a miss.
    pub fn read_buffer(&self, tag: BufferTag) -> PgResult<PinnedBuffer<'_>> {
        let (pin, lock) = self.read_buffer_common(tag, ReadMode::Normal)?;
        debug_assert!(lock.is_none());
        Ok(pin)
    }

    /// Pins the buffer holding `tag` if the block is in the pool and valid;
    /// None otherwise (nothing is read). A resident valid block exists in
    /// its relation: truncation drops a relation's buffers before it cuts
    /// the file, so an inserter may use its cached target block this way
    /// without asking the file's length.
    pub fn read_buffer_if_resident(&self, tag: BufferTag) -> Option<PinnedBuffer<'_>> {
        let hash = tag_hash(&tag);
        let partition = self.table.partition_lock(hash);
        let buf = {
            let _p = partition.acquire(LWLockMode::Shared);
            let id = self.table.lookup(&tag, hash)?;
            self.pin_found(Buffer(id));
            Buffer(id)
        };
        let pin = PinnedBuffer::new(self, buf);
        self.desc(buf).wait_flags_clear(BM_EVICTING);
        if self.desc(buf).state.load(Ordering::Acquire) & BM_VALID == 0 {
            return None;
        }
        self.header.stats.blocks_hit.fetch_add(1, Ordering::Relaxed);
        crate::utils::pgstat::count_buffer_hit(tag.rel);
        Some(pin)
    }

    /// Pins and exclusively locks the buffer for `tag` without reading it:
    /// on a miss the page is zeros (PostgreSQL's `RBM_ZERO_AND_LOCK`).
    pub fn read_buffer_zero_and_lock(&self, tag: BufferTag) -> PgResult<LockedBuffer<'_>> {
        let (pin, lock) = self.read_buffer_common(tag, ReadMode::ZeroAndLock)?;
        let lw = match lock {
            Some(lw) => lw,
            None => self
                .desc(pin.buffer())
                .content_lock
                .acquire(LWLockMode::Exclusive),
        };
        let guard = BufferLockGuard::new(self, pin.buffer(), LWLockMode::Exclusive, lw);
        Ok(LockedBuffer::new(guard, pin))
    }

    /// Either mode; see [`ReadMode`]. With `ZeroAndLock` the lock comes back
    /// when this call zero-filled the page (held from before it became valid).
    fn read_buffer_common(
        &self,
        tag: BufferTag,
        mode: ReadMode,
    ) -> PgResult<(PinnedBuffer<'_>, Option<LWLockGuard<'_>>)> {
        let hash = tag_hash(&tag);
        let partition = self.table.partition_lock(hash);
        let found = {
            let _p = partition.acquire(LWLockMode::Shared);
            self.table.lookup(&tag, hash).map(|id| {
                self.pin_found(Buffer(id));
                Buffer(id)
            })
        };
        let pin = match found {
            Some(buf) => PinnedBuffer::new(self, buf),
            None => self.alloc_buffer(tag, hash)?,
        };
        // A victim being written out by its evictor: wait, don't lock it (rule 9).
        self.desc(pin.buffer()).wait_flags_clear(BM_EVICTING);
        let lock = self.make_valid(pin.buffer(), tag, mode)?;
        Ok((pin, lock))
    }

    /// Reads (or zero-fills) the page unless it is valid already, taking
    /// part in PostgreSQL's StartBufferIO/TerminateBufferIO protocol.
    fn make_valid(
        &self,
        buf: Buffer,
        tag: BufferTag,
        mode: ReadMode,
    ) -> PgResult<Option<LWLockGuard<'_>>> {
        let desc = self.desc(buf);
        if desc.state.load(Ordering::Acquire) & BM_VALID != 0 {
            self.header.stats.blocks_hit.fetch_add(1, Ordering::Relaxed);
            crate::utils::pgstat::count_buffer_hit(tag.rel);
            return Ok(None);
        }
        if !self.start_io(desc, true) {
            self.header.stats.blocks_hit.fetch_add(1, Ordering::Relaxed);
            crate::utils::pgstat::count_buffer_hit(tag.rel);
            return Ok(None);
        }
        // SAFETY: we own the buffer's I/O and it is not valid: nobody else
        // reads or writes the page until terminate_io (README rule 6).
        let page = unsafe { &mut *self.page_ptr(buf) };
        match mode {
            ReadMode::Normal => {
                let read = self
                    .smgr
                    .read(tag.rel, tag.fork, tag.block, page)
                    .and_then(|()| verify_page_after_read(page, &tag, self.data_checksums()));
                if let Err(e) = read {
                    self.terminate_io(desc, false, BM_IO_ERROR);
                    return Err(e);
                }
                self.header
                    .stats
                    .blocks_read
                    .fetch_add(1, Ordering::Relaxed);
                crate::utils::pgstat::count_buffer_read(tag.rel);
                self.terminate_io(desc, false, BM_VALID);
                Ok(None)
            }
            ReadMode::ZeroAndLock => {
                page.fill(0);
                // Lock before the page becomes valid, so nobody else sees it
                // zeroed before the caller fills it in.
                let lw = desc.content_lock.acquire(LWLockMode::Exclusive);
                self.terminate_io(desc, false, BM_VALID);
                Ok(Some(lw))
            }
        }
    }

    /// Begins I/O on a buffer (`StartBufferIO`): waits for another process's
    /// I/O on it, then returns false if there is nothing left to do (already
    /// valid for input, no longer dirty for output).
    pub(super) fn start_io(&self, desc: &BufferDesc, for_input: bool) -> bool {
        let mut h = loop {
            let h = desc.lock_header();
            if h.state & BM_IO_IN_PROGRESS == 0 {
                break h;
            }
            drop(h);
            desc.wait_flags_clear(BM_IO_IN_PROGRESS);
        };
        if for_input && h.state & BM_VALID != 0 {
            return false;
        }
        if !for_input && h.state & BM_DIRTY == 0 {
            return false;
        }
        h.state |= BM_IO_IN_PROGRESS;
        if !for_input {
            // Changes from now on must keep the buffer dirty after this write.
            h.state &= !BM_JUST_DIRTIED;
        }
        true
    }

    /// Ends I/O (`TerminateBufferIO`), waking waiters.
    pub(super) fn terminate_io(&self, desc: &BufferDesc, clear_dirty: bool, set_flags: u32) {
        {
            let mut h = desc.lock_header();
            assert!(
                h.state & BM_IO_IN_PROGRESS != 0,
                "terminating I/O that is not in progress"
            );
            h.state &= !(BM_IO_IN_PROGRESS | BM_IO_ERROR);
            if clear_dirty && h.state & BM_JUST_DIRTIED == 0 {
                h.state &= !(BM_DIRTY | BM_CHECKPOINT_NEEDED);
            }
            h.state |= set_flags;
        }
        desc.wake_waiters();
    }

    // -----------------------------------------------------------------------
    // Replacement
    // -----------------------------------------------------------------------

    /// Gives `tag` a buffer: a clock-sweep victim, retagged, pinned, not yet
    /// valid. If another process mapped `tag` meanwhile, pins that one.
    fn alloc_buffer(&self, tag: BufferTag, hash: u32) -> PgResult<PinnedBuffer<'_>> {
        let victim = self.get_victim()?;
        let partition = self.table.partition_lock(hash);
        let _p = partition.acquire(LWLockMode::Exclusive);
        match self.table.insert(&tag, hash, victim.0) {
            Err(existing) => {
                self.pin_found(Buffer(existing));
                drop(_p);
                // The victim is untagged: unpinned, the sweep takes it next.
                self.unpin(victim);
                Ok(PinnedBuffer::new(self, Buffer(existing)))
            }
            Ok(()) => {
                let mut h = self.desc(victim).lock_header();
                assert_eq!(
                    refcount(h.state),
                    1,
                    "a fresh victim is pinned by its evictor only"
                );
                assert!(h.state & BM_TAG_VALID == 0, "a fresh victim has no tag");
                h.set_tag(tag);
                h.state = (h.state & REFCOUNT_MASK) | BM_TAG_VALID | USAGE_ONE;
                drop(h);
                Ok(PinnedBuffer::new(self, victim))
            }
        }
    }

    /// Clock sweep (`StrategyGetBuffer` + `InvalidateVictimBuffer`): returns
    /// a buffer that is pinned by us only, clean, and out of the mapping table.
    fn get_victim(&self) -> PgResult<Buffer> {
        self.header
            .stats
            .buffers_alloc
            .fetch_add(1, Ordering::Relaxed);
        self.header
            .allocs_since_bgwriter
            .fetch_add(1, Ordering::Relaxed);
        let mut attempts = self.nbuffers as usize * VICTIM_ATTEMPTS_PER_BUFFER;
        loop {
            let buf = self.clock_sweep()?;
            if self.prepare_victim(buf)? {
                return Ok(buf);
            }
            self.unpin(buf);
            attempts -= 1;
            if attempts == 0 {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "no unpinned buffers available",
                ));
            }
        }
    }

    /// Advances the hand to an unpinned buffer with usage count 0, lowering
    /// usage counts on the way; returns it pinned (and marked `BM_EVICTING`
    /// if dirty). Errors after a full pass over only pinned buffers.
    fn clock_sweep(&self) -> PgResult<Buffer> {
        let n = self.nbuffers as u64;
        let mut trycounter = self.nbuffers;
        loop {
            let buf = Buffer((self.header.next_victim.fetch_add(1, Ordering::Relaxed) % n) as u32);
            let desc = self.desc(buf);
            let mut h = desc.lock_header();
            if refcount(h.state) == 0 {
                if usage_count(h.state) > 0 {
                    h.state -= USAGE_ONE;
                    trycounter = self.nbuffers;
                    continue;
                }
                Self::pin_locked(&mut h);
                if h.state & (BM_TAG_VALID | BM_DIRTY) == BM_TAG_VALID | BM_DIRTY {
                    h.state |= BM_EVICTING;
                }
                drop(h);
                self.note_pin(buf);
                return Ok(buf);
            }
            drop(h);
            trycounter -= 1;
            if trycounter == 0 {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "no unpinned buffers available",
                ));
            }
        }
    }

    /// Writes the victim out if dirty and removes it from the mapping table.
    /// False if someone pinned or re-dirtied it meanwhile (caller unpins).
    fn prepare_victim(&self, buf: Buffer) -> PgResult<bool> {
        let desc = self.desc(buf);
        let state = desc.state.load(Ordering::Acquire);
        if state & BM_TAG_VALID == 0 {
            return Ok(true);
        }
        if state & BM_EVICTING != 0 {
            if let Err(e) = self.flush_buffer(buf, WriteSource::Backend) {
                self.clear_evicting(desc);
                return Err(e);
            }
        }
        let old_tag = desc.lock_header().tag();
        let old_hash = tag_hash(&old_tag);
        let _p = self
            .table
            .partition_lock(old_hash)
            .acquire(LWLockMode::Exclusive);
        let mut h = desc.lock_header();
        assert!(h.tag() == old_tag, "a pinned buffer changed its tag");
        if refcount(h.state) != 1 || h.state & BM_DIRTY != 0 {
            h.state &= !BM_EVICTING;
            drop(h);
            desc.wake_waiters();
            return Ok(false);
        }
        // Refcount 1 under the partition lock: nobody else holds or can find it.
        h.state &= REFCOUNT_MASK;
        h.set_tag(INVALID_TAG);
        drop(h);
        self.table.delete(&old_tag, old_hash, buf.0);
        crate::utils::pgstat::count_buffer_eviction();
        Ok(true)
    }

    fn clear_evicting(&self, desc: &BufferDesc) {
        desc.lock_header().state &= !BM_EVICTING;
        desc.wake_waiters();
    }

    // -----------------------------------------------------------------------
    // Writing
    // -----------------------------------------------------------------------

    /// Writes a pinned buffer if it is dirty (`FlushBuffer`): copies the page
    /// under a share content lock, flushes WAL up to the copy's LSN, then
    /// writes the copy. Returns whether this call wrote it.
    pub(super) fn flush_buffer(&self, buf: Buffer, source: WriteSource) -> PgResult<bool> {
        let desc = self.desc(buf);
        let mut copy = [0u8; BLCKSZ];
        {
            let _content = desc.content_lock.acquire(LWLockMode::Shared);
            if !self.start_io(desc, false) {
                return Ok(false);
            }
            // SAFETY: the share content lock excludes changes other than hint
            // bits (which may tear in the copy harmlessly, as in PostgreSQL's
            // PageSetChecksumCopy); the page lives in the shared region.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.page_ptr(buf).cast::<u8>(),
                    copy.as_mut_ptr(),
                    BLCKSZ,
                )
            };
        }
        let tag = desc.lock_header().tag();
        let result = self.write_page_copy(&tag, &mut copy);
        match result {
            Ok(()) => {
                self.terminate_io(desc, true, 0);
                let stats = &self.header.stats;
                stats.blocks_written.fetch_add(1, Ordering::Relaxed);
                crate::utils::pgstat::count_buffer_write();
                match source {
                    WriteSource::Backend => stats.buffers_backend.fetch_add(1, Ordering::Relaxed),
                    WriteSource::Checkpoint => {
                        stats.buffers_checkpoint.fetch_add(1, Ordering::Relaxed)
                    }
                    WriteSource::BgWriter => stats.buffers_clean.fetch_add(1, Ordering::Relaxed),
                };
                Ok(true)
            }
            Err(e) => {
                self.terminate_io(desc, false, BM_IO_ERROR);
                Err(e)
            }
        }
    }

    /// WAL before data, checksum, write.
    fn write_page_copy(&self, tag: &BufferTag, copy: &mut [u8; BLCKSZ]) -> PgResult<()> {
        let lsn = page_lsn(copy);
        if lsn.is_valid() {
            (self.wal_flush)(lsn).map_err(|e| {
                PgError::error(
                    sqlstate::IO_ERROR,
                    format!(
                        "could not flush WAL to {lsn} before writing block {} of relation {}: {e}",
                        tag.block,
                        smgr::relpath(tag.rel, tag.fork)
                    ),
                )
            })?;
        }
        prepare_page_for_write(copy, tag, self.data_checksums());
        self.smgr.write(tag.rel, tag.fork, tag.block, copy)
    }

    /// Pins `buf` (header lock held by the caller through `h`) and writes it.
    pub(super) fn flush_locked(
        &self,
        buf: Buffer,
        mut h: HeaderGuard<'_>,
        source: WriteSource,
    ) -> PgResult<bool> {
        Self::pin_locked(&mut h);
        drop(h);
        self.note_pin(buf);
        let r = self.flush_buffer(buf, source);
        self.unpin(buf);
        r
    }

    /// Writes every dirty buffer of `rel` (all forks) (`FlushRelationBuffers`).
    pub fn flush_relation(&self, rel: RelFileLocator) -> PgResult<u32> {
        let mut written = 0;
        for id in 0..self.nbuffers {
            let h = self.descs[id as usize].lock_header();
            if h.state & (BM_TAG_VALID | BM_VALID | BM_DIRTY) == BM_TAG_VALID | BM_VALID | BM_DIRTY
                && h.tag().rel == rel
            {
                written += self.flush_locked(Buffer(id), h, WriteSource::Backend)? as u32;
            }
        }
        Ok(written)
    }

    // -----------------------------------------------------------------------
    // Invalidation
    // -----------------------------------------------------------------------

    /// Forgets every buffer of `rel`, dirty or not, without writing
    /// (`DropRelationBuffers`, for DROP TABLE / TRUNCATE). The caller holds
    /// the relation's AccessExclusiveLock, so only transient background pins
    /// can exist; they are waited out.
    pub fn drop_relation_buffers(&self, rel: RelFileLocator) -> PgResult<()> {
        self.invalidate_matching(|t| t.rel == rel)
    }

    /// Forgets buffers of one fork from `first_block` on (before truncating it).
    pub fn drop_fork_buffers_from(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
        first_block: BlockNumber,
    ) -> PgResult<()> {
        self.invalidate_matching(|t| t.rel == rel && t.fork == fork && t.block >= first_block)
    }

    /// Forgets every buffer of a database (`DropDatabaseBuffers`).
    pub fn drop_database_buffers(&self, db_oid: u32) -> PgResult<()> {
        self.invalidate_matching(|t| t.rel.db_oid == db_oid)
    }

    fn invalidate_matching(&self, matches: impl Fn(&BufferTag) -> bool) -> PgResult<()> {
        for id in 0..self.nbuffers {
            let buf = Buffer(id);
            let desc = self.desc(buf);
            let mut waited_ms = 0;
            loop {
                let tag = {
                    let h = desc.lock_header();
                    if h.state & BM_TAG_VALID == 0 || !matches(&h.tag()) {
                        break;
                    }
                    h.tag()
                };
                if self.private_refcount[id as usize].load(Ordering::Relaxed) > 0 {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        format!("buffer {id} is pinned in InvalidateBuffer"),
                    ));
                }
                let hash = tag_hash(&tag);
                let p = self
                    .table
                    .partition_lock(hash)
                    .acquire(LWLockMode::Exclusive);
                let mut h = desc.lock_header();
                if h.state & BM_TAG_VALID == 0 || h.tag() != tag {
                    break;
                }
                if refcount(h.state) > 0 {
                    drop(h);
                    drop(p);
                    desc.wait_flags_clear(BM_IO_IN_PROGRESS | BM_EVICTING);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    waited_ms += 1;
                    if waited_ms > INVALIDATE_PIN_WAIT_MS {
                        return Err(PgError::error(
                            sqlstate::INTERNAL_ERROR,
                            format!("buffer {id} is still pinned in InvalidateBuffer"),
                        ));
                    }
                    continue;
                }
                h.state = 0;
                h.set_tag(INVALID_TAG);
                drop(h);
                self.table.delete(&tag, hash, id);
                break;
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // Extension
    // -----------------------------------------------------------------------

    /// Adds a zeroed block at the end of the fork and returns it pinned and
    /// exclusively locked, with its number. Extension of one (rel, fork) is
    /// serialised by an extension LWLock (see README rule 11).
    pub fn extend(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
    ) -> PgResult<(LockedBuffer<'_>, BlockNumber)> {
        let ext = self
            .extension_lock(rel, fork)
            .acquire(LWLockMode::Exclusive);
        let block = self.smgr.nblocks(rel, fork)?;
        if block > smgr::MAX_BLOCK_NUMBER {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "cannot extend relation {} beyond {} blocks",
                    smgr::relpath(rel, fork),
                    smgr::MAX_BLOCK_NUMBER + 1
                ),
            ));
        }
        // The buffer is allocated and locked before the file grows, so no
        // one who sees the new size can read the block from disk and use it
        // before its extender holds it (PostgreSQL's P_NEW order).
        let locked = self.read_buffer_zero_and_lock(BufferTag { rel, fork, block })?;
        self.smgr.extend(rel, fork, block, &ZERO_PAGE)?;
        drop(ext);
        if locked.page().iter().any(|&b| b != 0) {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "unexpected data beyond EOF in block {block} of relation {}",
                    smgr::relpath(rel, fork)
                ),
            )
            .with_hint(
                "This has been seen to occur with buggy kernels; consider updating your system.",
            ));
        }
        self.header
            .stats
            .blocks_extended
            .fetch_add(1, Ordering::Relaxed);
        crate::utils::pgstat::count_buffer_extend();
        Ok((locked, block))
    }

    fn extension_lock(
        &self,
        rel: RelFileLocator,
        fork: ForkNumber,
    ) -> &'static crate::storage::lock::LWLock {
        let h = tag_hash(&BufferTag {
            rel,
            fork,
            block: 0,
        });
        &self.ext_locks[h as usize % NUM_EXTENSION_LOCKS].0
    }

    // -----------------------------------------------------------------------
    // Statistics
    // -----------------------------------------------------------------------

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> BufferStats {
        let s = &self.header.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BufferStats {
            buffers_alloc: get(&s.buffers_alloc),
            buffers_backend: get(&s.buffers_backend),
            buffers_backend_fsync: self.sync_queue.backend_fsync_count(),
            buffers_clean: get(&s.buffers_clean),
            maxwritten_clean: get(&s.maxwritten_clean),
            buffers_checkpoint: get(&s.buffers_checkpoint),
            blocks_read: get(&s.blocks_read),
            blocks_hit: get(&s.blocks_hit),
            blocks_written: get(&s.blocks_written),
            blocks_extended: get(&s.blocks_extended),
        }
    }

    /// Buffers currently dirty (for tests and monitoring; not a snapshot).
    pub fn dirty_count(&self) -> u32 {
        self.descs
            .iter()
            .filter(|d| d.state.load(Ordering::Relaxed) & BM_DIRTY != 0)
            .count() as u32
    }

    #[cfg(test)]
    pub(super) fn set_usage_for_test(&self, buf: Buffer, usage: u32) {
        assert!(usage <= MAX_USAGE_COUNT);
        let mut h = self.desc(buf).lock_header();
        h.state = (h.state & !USAGE_MASK) | (usage << USAGE_SHIFT);
    }

    #[cfg(test)]
    pub(super) fn is_dirty_for_test(&self, buf: Buffer) -> bool {
        self.desc(buf).state.load(Ordering::Acquire) & BM_DIRTY != 0
    }
}

// ---------------------------------------------------------------------------
// The only places the pool looks inside a page (layout: crate::storage::page).
// ---------------------------------------------------------------------------

/// The page's LSN (`PageGetLSN`).
pub(super) fn page_lsn(page: &[u8; BLCKSZ]) -> Lsn {
    Page::new(page).lsn()
}

/// Run on the private copy right before it is written: the page must pass
/// its invariants (a failure is our bug: panic), then gets its checksum.
fn prepare_page_for_write(page: &mut [u8; BLCKSZ], tag: &BufferTag, data_checksums: bool) {
    let mut page = Page::new(page);
    page.assert_valid();
    if data_checksums {
        page.set_checksum(tag.block);
    }
}

/// Run right after a block is read, before the buffer becomes valid
/// (`PageIsVerified`): XX001 `invalid page in block N of relation R`.
fn verify_page_after_read(
    page: &[u8; BLCKSZ],
    tag: &BufferTag,
    data_checksums: bool,
) -> PgResult<()> {
    Page::new(page).verify_after_read(tag.block, &smgr::relpath(tag.rel, tag.fork), data_checksums)
}
