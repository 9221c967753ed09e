//! Spinlock: test-and-test-and-set with bounded spinning, then yielding.

use std::sync::atomic::{AtomicU32, Ordering};

#[repr(C)]
pub struct SpinLock {
    locked: AtomicU32,
}

impl SpinLock {
    pub const fn new() -> SpinLock {
        SpinLock {
            locked: AtomicU32::new(0),
        }
    }

    pub fn lock(&self) -> SpinGuard<'_> {
        let mut spins = 0u32;
        loop {
            if self
                .locked
                .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return SpinGuard { lock: self };
            }
            while self.locked.load(Ordering::Relaxed) != 0 {
                spins += 1;
                if spins < 100 {
                    std::hint::spin_loop();
                } else {
                    // The holder may be descheduled: give it the CPU.
                    std::thread::yield_now();
                }
            }
        }
    }
}

pub struct SpinGuard<'a> {
    lock: &'a SpinLock,
}

impl Drop for SpinGuard<'_> {
    fn drop(&mut self) {
        self.lock.locked.store(0, Ordering::Release);
    }
}
