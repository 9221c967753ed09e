//! Locks that work across processes (PostgreSQL's `s_lock.c` and `lwlock.c`).
//!
//! - [`SpinLock`]: an atomic flag with backoff, held for a few instructions.
//! - [`LWLock`]: a state word with shared/exclusive holders and a waiter
//!   count; waiters sleep on a *shared* futex (not `FUTEX_PRIVATE_FLAG`,
//!   which only works inside one process), so a holder in one process wakes
//!   waiters in another.
//!
//! - [`lmgr`]: heavyweight locks (relations, tuples, transaction ids) with
//!   wait queues and deadlock detection.
//!
//! Rules (see README.md):
//! 1. Never sleep, do I/O or allocate while holding a spinlock.
//! 2. An LWLock holder must not wait for client input or for another
//!    process's latch. Every process counts the LWLocks it holds in its
//!    process-array slot, so the postmaster's crash rules can be audited.
//! 3. A process that dies while holding any of these locks forces a
//!    crash-restart: the lock words are re-created with the segment.

pub mod lmgr;
mod lwlock;
mod spin;

pub use lwlock::{LWLock, LWLockGuard, LWLockMode};
pub use spin::SpinLock;

/// Futex wait on a word that may be shared between processes.
pub(crate) fn futex_wait(
    word: &std::sync::atomic::AtomicU32,
    expected: u32,
    timeout: Option<std::time::Duration>,
) {
    let ts = timeout.map(|d| rustix::time::Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos() as i64,
    });
    // The shared (non-private) futex is what makes this work across fork().
    let _ = rustix::thread::futex::wait(
        word,
        rustix::thread::futex::Flags::empty(),
        expected,
        ts.as_ref(),
    );
}

/// Wakes up to `n` waiters of a possibly shared futex word.
pub(crate) fn futex_wake(word: &std::sync::atomic::AtomicU32, n: u32) {
    let _ = rustix::thread::futex::wake(word, rustix::thread::futex::Flags::empty(), n);
}
