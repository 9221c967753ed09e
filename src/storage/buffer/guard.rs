//! RAII handles: a pin ([`PinnedBuffer`]), a content lock
//! ([`BufferLockGuard`]) and both together ([`LockedBuffer`]). The types
//! enforce README rules 1–3: a content lock borrows a pin, pages are reached
//! only through a lock guard, and `page_mut`/`mark_dirty` need the
//! exclusive mode.

use std::ops::{Deref, DerefMut};

use super::Buffer;
use super::desc::{BM_DIRTY, BM_JUST_DIRTIED, BM_VALID, refcount};
use super::pool::{BufferPool, page_lsn};
use crate::storage::lock::{LWLockGuard, LWLockMode};
use crate::storage::types::{BLCKSZ, BufferTag, Lsn};

/// One pin on a buffer; unpins on drop (`ReleaseBuffer`).
pub struct PinnedBuffer<'a> {
    pool: &'a BufferPool,
    buf: Buffer,
}

impl<'a> PinnedBuffer<'a> {
    pub(super) fn new(pool: &'a BufferPool, buf: Buffer) -> PinnedBuffer<'a> {
        PinnedBuffer { pool, buf }
    }

    pub fn buffer(&self) -> Buffer {
        self.buf
    }

    pub fn tag(&self) -> BufferTag {
        self.pool.tag_of(self.buf)
    }

    /// Takes the content lock (`LockBuffer`). Never hold it while waiting
    /// for a client or for another process's latch (README rule 12).
    pub fn lock(&self, mode: LWLockMode) -> BufferLockGuard<'_> {
        self.pool.lock_content(self.buf, mode)
    }

    pub fn lock_shared(&self) -> BufferLockGuard<'_> {
        self.lock(LWLockMode::Shared)
    }

    pub fn lock_exclusive(&self) -> BufferLockGuard<'_> {
        self.lock(LWLockMode::Exclusive)
    }

    /// Takes the content lock and keeps pin and lock together in one value
    /// (as `extend` returns them), for code that walks from page to page
    /// holding one or several, like the B-tree's descent and splits.
    pub fn into_locked(self, mode: LWLockMode) -> LockedBuffer<'a> {
        let guard = self.pool.lock_content(self.buf, mode);
        LockedBuffer::new(guard, self)
    }

    /// Keeps the pin but gives up the guard; release it later with
    /// [`BufferPool::release`] (or [`PinnedBuffer::from_raw`]).
    pub fn into_raw(self) -> Buffer {
        let buf = self.buf;
        std::mem::forget(self);
        buf
    }

    /// Takes back ownership of a pin given up with [`PinnedBuffer::into_raw`].
    ///
    /// # Safety
    /// This process holds a pin on `buf` that nothing else will release.
    pub unsafe fn from_raw(pool: &'a BufferPool, buf: Buffer) -> PinnedBuffer<'a> {
        PinnedBuffer { pool, buf }
    }
}

impl Drop for PinnedBuffer<'_> {
    fn drop(&mut self) {
        self.pool.unpin(self.buf);
    }
}

/// A content lock on a pinned buffer; releases the lock on drop.
pub struct BufferLockGuard<'a> {
    pool: &'a BufferPool,
    buf: Buffer,
    mode: LWLockMode,
    _lw: LWLockGuard<'a>,
}

impl<'a> BufferLockGuard<'a> {
    pub(super) fn new(
        pool: &'a BufferPool,
        buf: Buffer,
        mode: LWLockMode,
        lw: LWLockGuard<'a>,
    ) -> BufferLockGuard<'a> {
        BufferLockGuard {
            pool,
            buf,
            mode,
            _lw: lw,
        }
    }

    pub fn buffer(&self) -> Buffer {
        self.buf
    }

    pub fn mode(&self) -> LWLockMode {
        self.mode
    }

    pub fn tag(&self) -> BufferTag {
        self.pool.tag_of(self.buf)
    }

    /// The page (`BufferGetPage`), readable under either lock mode.
    pub fn page(&self) -> &[u8; BLCKSZ] {
        // SAFETY: pinned and content-locked: nobody changes the page except
        // hint-bit setters under a share lock (README rule 4).
        unsafe { &*self.pool.page_ptr(self.buf) }
    }

    /// The page for changing; needs the exclusive lock.
    pub fn page_mut(&mut self) -> &mut [u8; BLCKSZ] {
        assert_eq!(
            self.mode,
            LWLockMode::Exclusive,
            "page_mut needs the exclusive content lock"
        );
        // SAFETY: the exclusive content lock makes us the page's only user
        // (flushers copy it under a share lock, which conflicts).
        unsafe { &mut *self.pool.page_ptr(self.buf) }
    }

    /// The page's LSN.
    pub fn lsn(&self) -> Lsn {
        page_lsn(self.page())
    }

    /// Marks the buffer dirty after a change (`MarkBufferDirty`): exclusive
    /// lock held, WAL record for the change inserted and its LSN set on the
    /// page before the lock is released (README rule 5).
    pub fn mark_dirty(&self) {
        assert_eq!(
            self.mode,
            LWLockMode::Exclusive,
            "mark_dirty needs the exclusive content lock"
        );
        self.set_dirty();
    }

    /// Marks dirty after a hint-bit-only change, allowed under a share lock
    /// (`MarkBufferDirtyHint`). Such a change must be safe to lose.
    pub fn mark_dirty_hint(&self) {
        self.set_dirty();
    }

    fn set_dirty(&self) {
        let was_clean = std::cell::Cell::new(false);
        self.pool.desc(self.buf).update_unlocked(|s| {
            assert!(refcount(s) > 0, "dirtying an unpinned buffer");
            assert!(s & BM_VALID != 0, "dirtying a buffer that is not valid");
            was_clean.set(s & BM_DIRTY == 0);
            s | BM_DIRTY | BM_JUST_DIRTIED
        });
        if was_clean.get() {
            crate::utils::pgstat::count_buffer_dirtied();
        }
    }
}

/// A pin plus the exclusive (or given) content lock, as `extend` and
/// `read_buffer_zero_and_lock` return them. Derefs to the lock guard.
pub struct LockedBuffer<'a> {
    // Field order matters: the lock is released before the pin.
    guard: BufferLockGuard<'a>,
    pin: PinnedBuffer<'a>,
}

impl<'a> LockedBuffer<'a> {
    pub(super) fn new(guard: BufferLockGuard<'a>, pin: PinnedBuffer<'a>) -> LockedBuffer<'a> {
        assert_eq!(guard.buf, pin.buf, "lock and pin of different buffers");
        LockedBuffer { guard, pin }
    }

    /// Releases the content lock, keeping the pin.
    pub fn unlock(self) -> PinnedBuffer<'a> {
        let LockedBuffer { guard, pin } = self;
        drop(guard);
        pin
    }
}

impl<'a> Deref for LockedBuffer<'a> {
    type Target = BufferLockGuard<'a>;
    fn deref(&self) -> &BufferLockGuard<'a> {
        &self.guard
    }
}

impl<'a> DerefMut for LockedBuffer<'a> {
    fn deref_mut(&mut self) -> &mut BufferLockGuard<'a> {
        &mut self.guard
    }
}
