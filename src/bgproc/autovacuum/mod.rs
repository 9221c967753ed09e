//! Autovacuum (PostgreSQL's `autovacuum.c`): a launcher that decides which
//! database needs attention, and short-lived workers that vacuum and
//! analyze the tables of one database.
//!
//! How a worker is started, without the postmaster reading shared memory
//! (DESIGN.md §1): the launcher writes the database oid into a free request
//! slot of [`AutovacShmem`] and sends SIGUSR1 to the postmaster; the
//! postmaster forks an autovacuum worker (at most `autovacuum_max_workers`
//! at a time); the worker claims the oldest pending request. A request not
//! claimed within a naptime is taken back by the launcher.
//!
//! Rules:
//! 1. Only the launcher fills request slots; only a worker empties one
//!    (compare-and-swap of its state), so each request starts one worker.
//! 2. A worker vacuums one table at a time, each in its own transaction,
//!    and shows `autovacuum: VACUUM schema.table` as its query.
//! 3. A worker blocking a user's lock request is sent SIGINT by the
//!    waiter after `deadlock_timeout` (PostgreSQL's rule); it logs
//!    `canceling autovacuum task` and moves on to the next table.

pub mod launcher;
pub mod worker;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::storage::shmem::{Region, RegionId};
use crate::storage::types::Oid;
use crate::utils::guc::Settings;

/// Request slots (a bound on pending worker starts).
const REQUEST_SLOTS: usize = 16;

const SLOT_FREE: u32 = 0;
const SLOT_PENDING: u32 = 1;
const SLOT_CLAIMED: u32 = 2;

#[repr(C)]
struct Request {
    /// SLOT_FREE / SLOT_PENDING / SLOT_CLAIMED (rule 1).
    state: AtomicU32,
    db_oid: AtomicU32,
    /// When the launcher filled it (µs since the PostgreSQL epoch).
    requested_at: AtomicU64,
}

/// The launcher↔worker meeting point in shared memory.
#[repr(C)]
pub struct AutovacShmem {
    requests: [Request; REQUEST_SLOTS],
}

pub const REGION: Region = Region {
    name: "Autovacuum",
    size: |_| std::mem::size_of::<AutovacShmem>(),
    init: init_region,
};

unsafe fn init_region(_base: *mut u8, _settings: &Settings) {
    // All-zero: every slot free.
}

pub fn shmem() -> &'static AutovacShmem {
    // SAFETY: the region was initialised with the segment and outlives this process's use.
    unsafe { &*(crate::storage::shmem::get().region(RegionId::Autovacuum) as *const AutovacShmem) }
}

impl AutovacShmem {
    /// Launcher: queue a worker for `db_oid`. False when every slot is busy.
    pub fn request(&self, db_oid: Oid) -> bool {
        for r in &self.requests {
            if r.state
                .compare_exchange(SLOT_FREE, SLOT_CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                r.db_oid.store(db_oid, Ordering::Relaxed);
                r.requested_at.store(
                    crate::utils::time::now_timestamptz() as u64,
                    Ordering::Relaxed,
                );
                r.state.store(SLOT_PENDING, Ordering::Release);
                return true;
            }
        }
        false
    }

    /// Worker: take the oldest pending request; if another worker took it
    /// first, try the next, until none is pending (bounded by the slots).
    pub fn claim(&self) -> Option<Oid> {
        for _ in 0..REQUEST_SLOTS {
            let oldest = self
                .requests
                .iter()
                .filter(|r| r.state.load(Ordering::Acquire) == SLOT_PENDING)
                .min_by_key(|r| r.requested_at.load(Ordering::Relaxed))?;
            if oldest
                .state
                .compare_exchange(
                    SLOT_PENDING,
                    SLOT_CLAIMED,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                let db = oldest.db_oid.load(Ordering::Relaxed);
                oldest.state.store(SLOT_FREE, Ordering::Release);
                return Some(db);
            }
        }
        None
    }

    /// Launcher: drop requests nobody claimed for `older_than_us`.
    pub fn expire(&self, older_than_us: i64) {
        let now = crate::utils::time::now_timestamptz();
        for r in &self.requests {
            if r.state.load(Ordering::Acquire) == SLOT_PENDING
                && now - r.requested_at.load(Ordering::Relaxed) as i64 > older_than_us
                && r.state
                    .compare_exchange(SLOT_PENDING, SLOT_FREE, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {}
        }
    }

    pub fn pending(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.state.load(Ordering::Acquire) == SLOT_PENDING)
            .count()
    }
}
