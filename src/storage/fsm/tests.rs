//! Free space map tests on a private buffer pool over a temporary data
//! directory.

use super::*;
use crate::storage::smgr::Smgr;
use crate::storage::smgr::testutil::TempDataDir;
use crate::storage::types::Lsn;

fn no_wal_flush(_: Lsn) -> std::io::Result<()> {
    Ok(())
}

fn new_pool(dir: &std::path::Path, nbuffers: u32) -> &'static BufferPool {
    // SAFETY: a fresh anonymous shared mapping, zeroed, never unmapped.
    let base = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            BufferPool::size_for(nbuffers),
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
    }
    .expect("mmap for a test pool")
    .cast::<u8>();
    let smgr: &'static Smgr = Box::leak(Box::new(Smgr::new(dir)));
    // SAFETY: zeroed, page-aligned, sized for `nbuffers`, used by this test only.
    unsafe {
        BufferPool::init_at(base, nbuffers, false);
        Box::leak(Box::new(BufferPool::from_raw(
            base,
            nbuffers,
            smgr,
            no_wal_flush,
        )))
    }
}

fn rel() -> RelFileLocator {
    RelFileLocator {
        spc_oid: 0,
        db_oid: 9,
        rel_number: 16400,
    }
}

#[test]
fn categories_round_available_space_down_and_needed_space_up() {
    assert_eq!(space_avail_to_cat(31), 0);
    assert_eq!(space_avail_to_cat(32), 1);
    assert_eq!(space_avail_to_cat(8160), 255);
    assert_eq!(space_needed_to_cat(1), 1);
    assert_eq!(space_needed_to_cat(33), 2);
    assert_eq!(space_needed_to_cat(64), 2);
    // A page recorded with the category a need asks for has room for it.
    for need in [40usize, 100, 144, 1000, 8000] {
        let cat = space_needed_to_cat(need);
        assert!(cat as usize * FSM_CAT_STEP >= need);
    }
}

#[test]
fn recorded_space_is_found_by_a_search_and_truncation_forgets_it() {
    let dir = TempDataDir::new("fsm-basic");
    std::fs::create_dir_all(dir.path().join("base/9")).unwrap();
    let pool = new_pool(dir.path(), 16);
    let r = rel();
    // No map yet: nothing found, recording zero creates nothing.
    assert_eq!(fsm_search(pool, r, 100, 10, None).unwrap(), None);
    fsm_record(pool, r, 3, 0).unwrap();
    assert!(!pool.smgr().exists(r, ForkNumber::Fsm).unwrap());

    fsm_record(pool, r, 7, 500).unwrap();
    fsm_record(pool, r, 4, 160).unwrap();
    assert!(pool.smgr().exists(r, ForkNumber::Fsm).unwrap());
    assert_eq!(fsm_get_avail_cat(pool, r, 7).unwrap(), 15);
    assert_eq!(fsm_search(pool, r, 100, 10, None).unwrap(), Some(4));
    assert_eq!(fsm_search(pool, r, 200, 10, None).unwrap(), Some(7));
    assert_eq!(fsm_search(pool, r, 100, 10, Some(4)).unwrap(), Some(7));
    assert_eq!(fsm_search(pool, r, 600, 10, None).unwrap(), None);
    // Blocks past the heap's end are never returned (rule F1).
    assert_eq!(fsm_search(pool, r, 200, 7, None).unwrap(), None);

    // A second map page, far out.
    let far = SLOTS_PER_FSM_PAGE as BlockNumber + 5;
    fsm_record(pool, r, far, 4000).unwrap();
    assert_eq!(pool.smgr().nblocks(r, ForkNumber::Fsm).unwrap(), 2);
    assert_eq!(fsm_search(pool, r, 1000, far + 1, None).unwrap(), Some(far));

    // The map survives eviction: write, forget the buffers, read back.
    pool.flush_relation(r).unwrap();
    pool.drop_relation_buffers(r).unwrap();
    assert_eq!(fsm_get_avail_cat(pool, r, 4).unwrap(), 5);

    fsm_truncate(pool, r, 5).unwrap();
    assert_eq!(pool.smgr().nblocks(r, ForkNumber::Fsm).unwrap(), 1);
    assert_eq!(fsm_get_avail_cat(pool, r, 7).unwrap(), 0);
    assert_eq!(fsm_get_avail_cat(pool, r, 4).unwrap(), 5);
    assert_eq!(fsm_search(pool, r, 100, 100_000, None).unwrap(), Some(4));
    fsm_truncate(pool, r, 0).unwrap();
    assert_eq!(fsm_search(pool, r, 10, 100_000, None).unwrap(), None);
}
