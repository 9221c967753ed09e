//! OID allocation (PostgreSQL's `GetNewObjectId` in varsup.c).
//!
//! One shared counter. Before handing out an oid at or past the logged
//! limit, the allocator WAL-logs a NEXTOID record reserving the next
//! [`OID_PREFETCH`] oids, so that after a crash replay restarts the counter
//! past anything that may have been used. Checkpoints record the counter
//! too. User objects get oids from [`FIRST_NORMAL_OBJECT_ID`] up.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::defs::FIRST_NORMAL_OBJECT_ID;
use crate::storage::lock::SpinLock;
use crate::storage::shmem::{Region, RegionId};
use crate::storage::types::{Oid, Xid};
use crate::storage::wal::{self, RmgrId, XLOG_NEXTOID};
use crate::utils::guc::Settings;

/// How many oids one NEXTOID record reserves (PostgreSQL's VAR_OID_PREFETCH).
pub const OID_PREFETCH: u32 = 8192;

#[repr(C)]
pub struct CatalogShmem {
    /// Guards `next_oid` and `logged_upto` together.
    lock: SpinLock,
    next_oid: AtomicU32,
    /// Oids below this are covered by a NEXTOID record already in WAL.
    logged_upto: AtomicU32,
    /// Bumped when a transaction that changed the catalogs commits: backends
    /// drop their relation caches when they see it move.
    pub generation: AtomicU64,
}

pub const REGION: Region = Region {
    name: "Catalog",
    size: |_| std::mem::size_of::<CatalogShmem>(),
    init: init_region,
};

unsafe fn init_region(base: *mut u8, _settings: &Settings) {
    // SAFETY: zeroed memory of our size; zero is valid for every field.
    let shm = unsafe { &*(base as *const CatalogShmem) };
    shm.next_oid
        .store(FIRST_NORMAL_OBJECT_ID, Ordering::Relaxed);
}

pub fn shmem() -> &'static CatalogShmem {
    // SAFETY: initialised by `init_region` with the segment, which outlives this process's use.
    unsafe { &*(crate::storage::shmem::get().region(RegionId::Catalog) as *const CatalogShmem) }
}

/// Hands out a new oid.
pub fn new_oid() -> Oid {
    let shm = shmem();
    let _g = shm.lock.lock();
    let mut oid = shm.next_oid.load(Ordering::Relaxed);
    if oid < FIRST_NORMAL_OBJECT_ID {
        oid = FIRST_NORMAL_OBJECT_ID;
    }
    if oid >= shm.logged_upto.load(Ordering::Relaxed) {
        let upto = oid.saturating_add(OID_PREFETCH);
        // Logged (not flushed): a commit that uses the oid flushes past it.
        wal::insert(
            RmgrId::Xlog,
            XLOG_NEXTOID,
            Xid::INVALID,
            &upto.to_le_bytes(),
            &[],
        );
        shm.logged_upto.store(upto, Ordering::Relaxed);
    }
    shm.next_oid.store(oid + 1, Ordering::Relaxed);
    oid
}

/// A new oid to name a relation file in database `db_oid`
/// (`GetNewRelFileNumber`): one whose main fork does not exist yet. After a
/// crash the counter can restart below oids whose files an aborted
/// transaction created (the NEXTOID record that reserved them need not
/// have reached disk), so the file system is the last word.
pub fn new_relfilenumber(db_oid: Oid) -> crate::utils::elog::PgResult<Oid> {
    use crate::storage::smgr;
    use crate::storage::types::{ForkNumber, RelFileLocator};
    loop {
        let oid = new_oid();
        let loc = RelFileLocator {
            spc_oid: 0,
            db_oid,
            rel_number: oid,
        };
        if !smgr::exists(loc, ForkNumber::Main)? {
            return Ok(oid);
        }
    }
}

/// The counter for the checkpoint record.
pub fn next_oid() -> Oid {
    shmem().next_oid.load(Ordering::Relaxed)
}

/// Startup: restart the counter from the checkpoint, then past every
/// NEXTOID record replayed.
pub fn advance_next_oid(to: Oid) {
    let shm = shmem();
    let _g = shm.lock.lock();
    if to > shm.next_oid.load(Ordering::Relaxed) {
        shm.next_oid.store(to, Ordering::Relaxed);
    }
}

/// Redo of a NEXTOID record.
pub fn nextoid_redo(main_data: &[u8]) {
    if let Some(bytes) = main_data.get(..4) {
        advance_next_oid(u32::from_le_bytes(bytes.try_into().expect("4 bytes")));
    }
}

/// Marks the catalogs changed (at commit of a transaction that changed them).
pub fn bump_generation() {
    shmem().generation.fetch_add(1, Ordering::AcqRel);
}

pub fn generation() -> u64 {
    shmem().generation.load(Ordering::Acquire)
}
