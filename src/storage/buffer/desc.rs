//! Buffer descriptors and their state word (PostgreSQL's `buf_internals.h`).
//!
//! `state` packs, as PostgreSQL's `BufferDesc.state` does:
//!
//! ```text
//!  bit 31 30 | 29       28        27       26     25     24      23    22    21     | 20..17 | 16..0
//!      resv   | EVICTING CKPT_NEED JUST_DIR IO_ERR IO_IN_P TAG_VAL VALID DIRTY LOCKED | usage  | refcount
//! ```
//!
//! `LOCKED` is the buffer-header spinlock. While it is set only its holder
//! changes `state`; everybody else (pin, unpin) uses a compare-and-swap loop
//! that waits for it to clear. The tag is guarded by the header spinlock.
//! `EVICTING` is ferrogres's addition: see README rule 9.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::storage::lock::{LWLock, futex_wait, futex_wake};
use crate::storage::types::{BufferTag, ForkNumber, RelFileLocator};

pub(super) const REFCOUNT_ONE: u32 = 1;
pub(super) const REFCOUNT_MASK: u32 = (1 << 17) - 1;
pub(super) const USAGE_SHIFT: u32 = 17;
pub(super) const USAGE_ONE: u32 = 1 << USAGE_SHIFT;
pub(super) const USAGE_MASK: u32 = 0xF << USAGE_SHIFT;
/// PostgreSQL's `BM_MAX_USAGE_COUNT`.
pub(super) const MAX_USAGE_COUNT: u32 = 5;

pub(super) const BM_LOCKED: u32 = 1 << 21;
pub(super) const BM_DIRTY: u32 = 1 << 22;
pub(super) const BM_VALID: u32 = 1 << 23;
pub(super) const BM_TAG_VALID: u32 = 1 << 24;
pub(super) const BM_IO_IN_PROGRESS: u32 = 1 << 25;
pub(super) const BM_IO_ERROR: u32 = 1 << 26;
pub(super) const BM_JUST_DIRTIED: u32 = 1 << 27;
pub(super) const BM_CHECKPOINT_NEEDED: u32 = 1 << 28;
/// A backend chose this dirty, unpinned buffer as its victim and is writing
/// it out; lookups that pin it wait for the flag to clear (README rule 9).
pub(super) const BM_EVICTING: u32 = 1 << 29;

const _: () = assert!(MAX_USAGE_COUNT << USAGE_SHIFT <= USAGE_MASK);
const _: () = assert!(USAGE_MASK & REFCOUNT_MASK == 0 && USAGE_MASK & BM_LOCKED == 0);

pub(super) fn refcount(state: u32) -> u32 {
    state & REFCOUNT_MASK
}
pub(super) fn usage_count(state: u32) -> u32 {
    (state & USAGE_MASK) >> USAGE_SHIFT
}

/// How long a process sleeps at most before re-checking a flag it waits on
/// (a safety belt against a lost wake-up; the futex wakes it normally).
const IO_WAIT_SLICE: Duration = Duration::from_millis(100);

pub(super) const INVALID_TAG: BufferTag = BufferTag {
    rel: RelFileLocator {
        spc_oid: 0,
        db_oid: 0,
        rel_number: 0,
    },
    fork: ForkNumber::Main,
    block: u32::MAX,
};

/// One buffer's descriptor. Padded to a cache line.
#[repr(C, align(64))]
pub(super) struct BufferDesc {
    /// Refcount, usage count and flags; see the module doc. Atomic; the
    /// header spinlock is its `BM_LOCKED` bit.
    pub state: AtomicU32,
    /// Futex word for I/O waits: bumped each time `BM_IO_IN_PROGRESS` or
    /// `BM_EVICTING` is cleared. Atomic.
    io_seq: AtomicU32,
    /// Processes sleeping on `io_seq`. Atomic.
    io_waiters: AtomicU32,
    /// Which block the buffer holds. Guarded by the header spinlock; stable
    /// while the buffer is pinned (changing it needs refcount 1, README rule 8).
    tag: UnsafeCell<BufferTag>,
    /// Guards the page contents (README rules 2–3).
    pub content_lock: LWLock,
}

const _: () = assert!(std::mem::size_of::<BufferDesc>() == 64);

// SAFETY: `tag` is only accessed with the header spinlock held (through
// HeaderGuard); every other field is atomic or an LWLock.
unsafe impl Sync for BufferDesc {}

impl BufferDesc {
    /// Takes the header spinlock; the guard carries the state to store back.
    pub fn lock_header(&self) -> HeaderGuard<'_> {
        let mut spins = 0u32;
        loop {
            let old = self.state.fetch_or(BM_LOCKED, Ordering::Acquire);
            if old & BM_LOCKED == 0 {
                return HeaderGuard {
                    desc: self,
                    state: old,
                };
            }
            while self.state.load(Ordering::Relaxed) & BM_LOCKED != 0 {
                spin_delay(&mut spins);
            }
        }
    }

    /// Waits until the header spinlock is free; returns the state seen.
    fn wait_header_unlocked(&self) -> u32 {
        let mut spins = 0u32;
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s & BM_LOCKED == 0 {
                return s;
            }
            spin_delay(&mut spins);
        }
    }

    /// Applies `f` to the state with a CAS loop that respects the header
    /// spinlock (PostgreSQL's PinBuffer/UnpinBuffer pattern). Returns the new state.
    pub fn update_unlocked(&self, f: impl Fn(u32) -> u32) -> u32 {
        let mut old = self.wait_header_unlocked();
        loop {
            let new = f(old);
            match self
                .state
                .compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return new,
                Err(actual) if actual & BM_LOCKED != 0 => old = self.wait_header_unlocked(),
                Err(actual) => old = actual,
            }
        }
    }

    /// Sleeps until none of `mask`'s flags is set in `state`.
    pub fn wait_flags_clear(&self, mask: u32) {
        loop {
            let seq = self.io_seq.load(Ordering::SeqCst);
            if self.state.load(Ordering::SeqCst) & mask == 0 {
                return;
            }
            self.io_waiters.fetch_add(1, Ordering::SeqCst);
            if self.state.load(Ordering::SeqCst) & mask != 0 {
                futex_wait(&self.io_seq, seq, Some(IO_WAIT_SLICE));
            }
            self.io_waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Wakes every process in `wait_flags_clear`. Call after clearing a flag.
    pub fn wake_waiters(&self) {
        self.io_seq.fetch_add(1, Ordering::SeqCst);
        if self.io_waiters.load(Ordering::SeqCst) > 0 {
            futex_wake(&self.io_seq, u32::MAX);
        }
    }
}

fn spin_delay(spins: &mut u32) {
    *spins += 1;
    if *spins < 100 {
        std::hint::spin_loop();
    } else {
        // The holder may be descheduled: give it the CPU.
        std::thread::yield_now();
    }
}

/// The header spinlock, held. `state` is written back (unlocked) on drop.
/// Hold it for a few instructions only: no I/O, no LWLock, no allocation.
pub(super) struct HeaderGuard<'a> {
    desc: &'a BufferDesc,
    /// The state to store on release (without `BM_LOCKED`).
    pub state: u32,
}

impl HeaderGuard<'_> {
    pub fn tag(&self) -> BufferTag {
        // SAFETY: the header spinlock is held.
        unsafe { *self.desc.tag.get() }
    }
    pub fn set_tag(&mut self, tag: BufferTag) {
        // SAFETY: the header spinlock is held.
        unsafe { *self.desc.tag.get() = tag };
    }
}

impl Drop for HeaderGuard<'_> {
    fn drop(&mut self) {
        assert!(
            self.state & BM_LOCKED == 0,
            "buffer header state must not carry the lock bit"
        );
        self.desc.state.store(self.state, Ordering::Release);
    }
}
