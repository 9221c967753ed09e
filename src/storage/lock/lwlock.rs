//! LWLock: shared/exclusive lock word with futex sleeping.
//!
//! State word layout (`state`): bit 31 = held exclusively; bits 0..24 =
//! number of shared holders. `waiters` counts sleepers so that release only
//! pays for a wake-up syscall when someone sleeps; `wake_seq` is the futex
//! word sleepers wait on (a sequence bumped on every release with waiters,
//! so a wake-up between "check" and "sleep" is never lost).

use std::sync::atomic::{AtomicU32, Ordering};

use super::{futex_wait, futex_wake};

const EXCLUSIVE: u32 = 1 << 31;
const SHARED_MASK: u32 = (1 << 24) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LWLockMode {
    Shared,
    Exclusive,
}

#[repr(C)]
pub struct LWLock {
    state: AtomicU32,
    waiters: AtomicU32,
    wake_seq: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<LWLock>() == 12);

impl LWLock {
    pub const fn new() -> LWLock {
        LWLock {
            state: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            wake_seq: AtomicU32::new(0),
        }
    }

    fn try_acquire(&self, mode: LWLockMode) -> bool {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let next = match mode {
                LWLockMode::Exclusive if cur == 0 => EXCLUSIVE,
                LWLockMode::Shared if cur & EXCLUSIVE == 0 => {
                    assert!(
                        cur & SHARED_MASK < SHARED_MASK,
                        "LWLock shared holder count overflow"
                    );
                    cur + 1
                }
                _ => return false,
            };
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Acquires the lock, sleeping while it is held in a conflicting mode.
    pub fn acquire(&self, mode: LWLockMode) -> LWLockGuard<'_> {
        let mut spins = 0;
        loop {
            if self.try_acquire(mode) {
                crate::process::held_lwlocks_changed(1);
                return LWLockGuard { lock: self, mode };
            }
            if spins < 50 {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let seq = self.wake_seq.load(Ordering::Acquire);
            self.waiters.fetch_add(1, Ordering::AcqRel);
            // Re-check after announcing ourselves: a release that happened
            // before the increment did not see us.
            if self.try_acquire(mode) {
                self.waiters.fetch_sub(1, Ordering::AcqRel);
                crate::process::held_lwlocks_changed(1);
                return LWLockGuard { lock: self, mode };
            }
            futex_wait(
                &self.wake_seq,
                seq,
                Some(std::time::Duration::from_millis(100)),
            );
            self.waiters.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn release(&self, mode: LWLockMode) {
        match mode {
            LWLockMode::Exclusive => {
                let prev = self.state.swap(0, Ordering::Release);
                assert_eq!(prev, EXCLUSIVE, "releasing an LWLock not held exclusively");
            }
            LWLockMode::Shared => {
                let prev = self.state.fetch_sub(1, Ordering::Release);
                assert!(
                    prev & SHARED_MASK > 0 && prev & EXCLUSIVE == 0,
                    "releasing an LWLock not held shared"
                );
            }
        }
        crate::process::held_lwlocks_changed(-1);
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.wake_seq.fetch_add(1, Ordering::AcqRel);
            futex_wake(&self.wake_seq, u32::MAX);
        }
    }
}

pub struct LWLockGuard<'a> {
    lock: &'a LWLock,
    mode: LWLockMode,
}

impl Drop for LWLockGuard<'_> {
    fn drop(&mut self) {
        self.lock.release(self.mode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two processes sharing one anonymous MAP_SHARED page increment a
    /// counter under the lock; no increment may be lost.
    #[test]
    fn exclusive_lock_serialises_processes() {
        #[repr(C)]
        struct Shared {
            lock: LWLock,
            counter: std::cell::UnsafeCell<u64>,
        }
        // SAFETY: a fresh shared anonymous mapping, zeroed (valid for LWLock and u64).
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                4096,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
            )
        }
        .unwrap();
        // SAFETY: the mapping is zeroed and large enough.
        let shared = unsafe { &*(ptr as *const Shared) };
        const N: u64 = 20_000;
        // SAFETY: the test process is forked only to run the closure below and _exit.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                for _ in 0..N {
                    let _g = shared.lock.acquire(LWLockMode::Exclusive);
                    // SAFETY: guarded by `lock` held exclusively.
                    unsafe { *shared.counter.get() += 1 };
                }
                // SAFETY: leave the forked test child without running the harness.
                unsafe { libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                for _ in 0..N {
                    let _g = shared.lock.acquire(LWLockMode::Exclusive);
                    // SAFETY: guarded by `lock` held exclusively.
                    unsafe { *shared.counter.get() += 1 };
                }
                nix::sys::wait::waitpid(child, None).unwrap();
                let _g = shared.lock.acquire(LWLockMode::Shared);
                // SAFETY: guarded by `lock` held shared.
                assert_eq!(unsafe { *shared.counter.get() }, 2 * N);
            }
        }
    }
}
