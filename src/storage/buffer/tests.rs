//! Buffer pool tests. Each builds its own pool on a fresh anonymous
//! MAP_SHARED mapping (tests run as threads of one process, so the global
//! segment is not used) over a temporary data directory; the cross-process
//! tests fork children that share the mapping, as server processes do.

use std::io;
use std::sync::Mutex;

use super::*;
use crate::storage::page::Page;
use crate::storage::smgr::Smgr;
use crate::storage::smgr::testutil::TempDataDir;
use crate::storage::types::{BLCKSZ, BlockNumber, BufferTag, ForkNumber, RelFileLocator};

fn rel(rel_number: u32) -> RelFileLocator {
    RelFileLocator {
        spc_oid: 1663,
        db_oid: 5,
        rel_number,
    }
}

fn tag(rel_number: u32, block: BlockNumber) -> BufferTag {
    BufferTag {
        rel: rel(rel_number),
        fork: ForkNumber::Main,
        block,
    }
}

fn no_wal(_: Lsn) -> io::Result<()> {
    panic!("no page in this test has an LSN: the WAL flush hook must not be called")
}

/// A pool of `nbuffers` on a private shared mapping, over `dir`.
fn test_pool(dir: &TempDataDir, nbuffers: u32, wal_flush: WalFlushFn) -> BufferPool {
    test_pool_with(dir, nbuffers, wal_flush, false)
}

fn test_pool_with(
    dir: &TempDataDir,
    nbuffers: u32,
    wal_flush: WalFlushFn,
    data_checksums: bool,
) -> BufferPool {
    let size = BufferPool::size_for(nbuffers);
    // SAFETY: a fresh anonymous shared mapping; it is never unmapped (the
    // test's children and guards may use it until the process ends).
    let base = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
    }
    .expect("mmap test pool")
    .cast::<u8>();
    let smgr: &'static Smgr = Box::leak(Box::new(Smgr::new(dir.path())));
    // SAFETY: zeroed, page-aligned, `size` bytes, not yet shared with anyone.
    unsafe {
        BufferPool::init_at(base, nbuffers, data_checksums);
        BufferPool::from_raw(base, nbuffers, smgr, wal_flush)
    }
}

fn put_u64(page: &mut [u8; BLCKSZ], at: usize, v: u64) {
    page[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
fn get_u64(page: &[u8; BLCKSZ], at: usize) -> u64 {
    u64::from_le_bytes(page[at..at + 8].try_into().unwrap())
}

/// Formats an empty heap page (`PageInit`).
fn init_page(page: &mut [u8; BLCKSZ]) {
    Page::new(page).init(0);
}

/// Extends `rel` by `n` blocks, writing `block * 1000 + 7` at offset 100.
fn fill_relation(pool: &BufferPool, rel_number: u32, n: u32) {
    pool.smgr()
        .create(rel(rel_number), ForkNumber::Main, false)
        .unwrap();
    for expected in 0..n {
        let (mut locked, block) = pool.extend(rel(rel_number), ForkNumber::Main).unwrap();
        assert_eq!(block, expected);
        init_page(locked.page_mut());
        put_u64(locked.page_mut(), 100, block as u64 * 1000 + 7);
        locked.mark_dirty();
    }
}

/// Runs `work` in a forked child that exits 0 on success, 1 on panic.
fn fork_child(work: impl FnOnce()) -> nix::unistd::Pid {
    // SAFETY: the child only runs `work` on the shared test pool and _exits.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).is_ok();
            // SAFETY: leave the forked test child without running the harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    }
}

fn wait_ok(child: nix::unistd::Pid) {
    let status = nix::sys::wait::waitpid(child, None).expect("waitpid");
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(child, 0),
        "child failed"
    );
}

#[test]
fn processes_updating_the_same_blocks_under_eviction_lose_nothing() {
    const BLOCKS: u32 = 40;
    const PROCS: u64 = 4;
    const ITERS: u64 = 1500;
    const AT: usize = 1000;
    let dir = TempDataDir::new("buf-procs");
    let pool = test_pool(&dir, 16, no_wal);
    fill_relation(&pool, 16384, BLOCKS);
    let block_of = |p: u64, i: u64| ((i * 7 + p * 3) % BLOCKS as u64) as u32;
    let work = |p: u64| {
        for i in 0..ITERS {
            let pin = pool.read_buffer(tag(16384, block_of(p, i))).unwrap();
            let mut g = pin.lock_exclusive();
            let page = g.page_mut();
            let v = get_u64(page, AT);
            put_u64(page, AT, v + 1);
            g.mark_dirty();
        }
        assert_eq!(pool.pins_held(), 0);
    };
    assert_eq!(pool.pins_held(), 0, "no pins may cross a fork");
    let children: Vec<_> = (1..PROCS).map(|p| fork_child(move || work(p))).collect();
    work(0);
    children.into_iter().for_each(wait_ok);

    let mut expected = vec![0u64; BLOCKS as usize];
    for p in 0..PROCS {
        for i in 0..ITERS {
            expected[block_of(p, i) as usize] += 1;
        }
    }
    for b in 0..BLOCKS {
        let pin = pool.read_buffer(tag(16384, b)).unwrap();
        let g = pin.lock_shared();
        assert_eq!(
            get_u64(g.page(), AT),
            expected[b as usize],
            "increments lost on block {b}"
        );
        assert_eq!(
            get_u64(g.page(), 100),
            b as u64 * 1000 + 7,
            "block {b} holds another block's page"
        );
    }
    let stats = pool.stats();
    assert!(
        stats.buffers_backend > 0,
        "16 buffers over 40 blocks must evict dirty pages: {stats:?}"
    );
    // What is on disk after a full write-out is the same.
    pool.flush_relation(rel(16384)).unwrap();
    assert_eq!(pool.dirty_count(), 0);
    let mut page = [0u8; BLCKSZ];
    for b in 0..BLOCKS {
        pool.smgr()
            .read(rel(16384), ForkNumber::Main, b, &mut page)
            .unwrap();
        assert_eq!(
            get_u64(&page, AT),
            expected[b as usize],
            "block {b} on disk"
        );
    }
}

#[test]
fn processes_extending_one_relation_get_distinct_blocks() {
    const PER_PROC: u32 = 25;
    const PROCS: u32 = 3;
    let dir = TempDataDir::new("buf-extend");
    let pool = test_pool(&dir, 16, no_wal);
    pool.smgr()
        .create(rel(16390), ForkNumber::Main, false)
        .unwrap();
    let work = |p: u32| {
        for i in 0..PER_PROC {
            let (mut locked, _) = pool.extend(rel(16390), ForkNumber::Main).unwrap();
            init_page(locked.page_mut());
            put_u64(locked.page_mut(), 200, (p * 1000 + i + 1) as u64);
            locked.mark_dirty();
        }
    };
    let children: Vec<_> = (1..PROCS).map(|p| fork_child(move || work(p))).collect();
    work(0);
    children.into_iter().for_each(wait_ok);

    assert_eq!(
        pool.smgr().nblocks(rel(16390), ForkNumber::Main).unwrap(),
        PER_PROC * PROCS
    );
    let mut seen = std::collections::HashSet::new();
    for b in 0..PER_PROC * PROCS {
        let pin = pool.read_buffer(tag(16390, b)).unwrap();
        let v = get_u64(pin.lock_shared().page(), 200);
        assert!(v != 0, "block {b} was extended but never filled");
        assert!(seen.insert(v), "two extensions got block {b}");
    }
}

#[test]
fn pages_survive_eviction_and_rereading_with_a_small_pool() {
    let dir = TempDataDir::new("buf-evict");
    let pool = test_pool(&dir, 16, no_wal);
    fill_relation(&pool, 16385, 200);
    assert_eq!(
        pool.smgr().nblocks(rel(16385), ForkNumber::Main).unwrap(),
        200
    );
    for round in 0..2 {
        for b in 0..200 {
            let pin = pool.read_buffer(tag(16385, b)).unwrap();
            assert_eq!(
                get_u64(pin.lock_shared().page(), 100),
                b as u64 * 1000 + 7,
                "round {round} block {b}"
            );
        }
    }
    let stats = pool.stats();
    assert!(
        stats.buffers_backend >= 200 - 16,
        "dirty victims are written by the backend: {stats:?}"
    );
    assert!(stats.blocks_read >= 2 * (200 - 16), "{stats:?}");
    assert_eq!(stats.blocks_extended, 200);
    assert_eq!(pool.pins_held(), 0);
}

#[test]
fn every_pinned_buffer_means_no_victim_and_a_clean_error() {
    let dir = TempDataDir::new("buf-allpinned");
    let pool = test_pool(&dir, 16, no_wal);
    fill_relation(&pool, 16386, 17);
    let pins: Vec<_> = (0..16)
        .map(|b| pool.read_buffer(tag(16386, b)).unwrap())
        .collect();
    let err = pool
        .read_buffer(tag(16386, 16))
        .err()
        .expect("no buffer can be had");
    assert_eq!(err.message, "no unpinned buffers available");
    drop(pins);
    assert_eq!(pool.pins_held(), 0);
    pool.read_buffer(tag(16386, 16))
        .expect("buffers are free again");
}

#[test]
fn reading_a_missing_relation_fails_without_leaking_a_pin() {
    let dir = TempDataDir::new("buf-missing");
    let pool = test_pool(&dir, 16, no_wal);
    let err = pool
        .read_buffer(tag(16387, 0))
        .err()
        .expect("no such relation");
    assert_eq!(err.sqlstate, "58P01");
    assert_eq!(
        err.message,
        "could not open file \"base/5/16387\": No such file or directory"
    );
    assert_eq!(pool.pins_held(), 0);
    // Retrying after the file appears reads it (the failed buffer is reusable).
    fill_relation(&pool, 16387, 1);
    pool.flush_relation(rel(16387)).unwrap();
    pool.drop_relation_buffers(rel(16387)).unwrap();
    let pin = pool.read_buffer(tag(16387, 0)).unwrap();
    assert_eq!(get_u64(pin.lock_shared().page(), 100), 7);
}

static WAL_CALLS: Mutex<Vec<(Lsn, u8)>> = Mutex::new(Vec::new());
static WAL_TEST_FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Records the LSN and what the data file held at offset 300 at that moment.
fn recording_wal(lsn: Lsn) -> io::Result<()> {
    let on_disk = std::fs::read(WAL_TEST_FILE.get().unwrap()).unwrap();
    WAL_CALLS.lock().unwrap().push((lsn, on_disk[300]));
    Ok(())
}

#[test]
fn dirty_page_is_written_only_after_wal_is_flushed_to_its_lsn() {
    let dir = TempDataDir::new("buf-wal");
    WAL_TEST_FILE.set(dir.path().join("base/5/16388")).unwrap();
    let pool = test_pool(&dir, 16, recording_wal);
    pool.smgr()
        .create(rel(16388), ForkNumber::Main, false)
        .unwrap();
    {
        let (mut locked, _) = pool.extend(rel(16388), ForkNumber::Main).unwrap();
        let page = locked.page_mut();
        init_page(page);
        page[300] = 0xEE;
        Page::new(page).set_lsn(Lsn(0x1_0000_0028));
        locked.mark_dirty();
        assert_eq!(locked.lsn(), Lsn(0x1_0000_0028));
    }
    assert_eq!(pool.flush_relation(rel(16388)).unwrap(), 1);
    assert_eq!(
        *WAL_CALLS.lock().unwrap(),
        vec![(Lsn(0x1_0000_0028), 0)],
        "flush to the page LSN, before the write"
    );
    let mut page = [0u8; BLCKSZ];
    pool.smgr()
        .read(rel(16388), ForkNumber::Main, 0, &mut page)
        .unwrap();
    assert_eq!(page[300], 0xEE);
}

fn failing_wal(_: Lsn) -> io::Result<()> {
    Err(io::Error::other("WAL device gone"))
}

#[test]
fn failed_wal_flush_keeps_the_page_dirty_and_unwritten() {
    let dir = TempDataDir::new("buf-walfail");
    let pool = test_pool(&dir, 16, failing_wal);
    pool.smgr()
        .create(rel(16389), ForkNumber::Main, false)
        .unwrap();
    {
        let (mut locked, _) = pool.extend(rel(16389), ForkNumber::Main).unwrap();
        let page = locked.page_mut();
        init_page(page);
        page[300] = 0xEE;
        Page::new(page).set_lsn(Lsn(0x28));
        locked.mark_dirty();
    }
    assert!(pool.flush_relation(rel(16389)).is_err());
    assert_eq!(pool.dirty_count(), 1);
    let mut page = [0u8; BLCKSZ];
    pool.smgr()
        .read(rel(16389), ForkNumber::Main, 0, &mut page)
        .unwrap();
    assert_eq!(page[300], 0, "nothing reaches the data file before its WAL");
    assert_eq!(pool.pins_held(), 0);
}

#[test]
fn checkpoint_writes_every_page_dirty_at_its_start_and_syncs_the_files() {
    let dir = TempDataDir::new("buf-ckpt");
    let pool = test_pool(&dir, 32, no_wal);
    fill_relation(&pool, 16392, 6);
    fill_relation(&pool, 16391, 4);
    fill_relation(&pool, 16393, 1);
    pool.flush_relation(rel(16393)).unwrap();
    assert_eq!(pool.dirty_count(), 10);
    let late = pool.read_buffer(tag(16393, 0)).unwrap();
    let mut calls = Vec::new();
    let written = pool
        .sync_for_checkpoint(&mut |done, total| {
            if calls.is_empty() {
                // Dirtied after the checkpoint started: left for the next one.
                let mut g = late.lock_exclusive();
                g.page_mut()[300] = 1;
                g.mark_dirty();
            }
            calls.push((done, total));
        })
        .unwrap();
    assert_eq!(written, 10);
    assert_eq!(calls.len(), 10);
    assert_eq!(calls.last(), Some(&(10, 10)));
    assert_eq!(pool.stats().buffers_checkpoint, 10);
    assert_eq!(
        pool.dirty_count(),
        1,
        "only the page dirtied during the checkpoint"
    );
    let mut page = [0u8; BLCKSZ];
    for (r, n) in [(16391, 4), (16392, 6)] {
        for b in 0..n {
            pool.smgr()
                .read(rel(r), ForkNumber::Main, b, &mut page)
                .unwrap();
            assert_eq!(get_u64(&page, 100), b as u64 * 1000 + 7);
        }
    }
    // Written by this process (not the sync owner): the requests went
    // through the shared queue; the checkpointer's sync absorbs and fsyncs them.
    let synced = pool.smgr().sync_pending().unwrap();
    assert_eq!(synced, 3, "one fsync per written segment");
    assert_eq!(pool.smgr().sync_pending().unwrap(), 0);
}

#[test]
fn bgwriter_writes_only_unpinned_dirty_buffers_with_usage_zero() {
    let dir = TempDataDir::new("buf-bgw");
    let pool = test_pool(&dir, 16, no_wal);
    fill_relation(&pool, 16394, 16);
    assert_eq!(pool.dirty_count(), 16);
    let pinned: Vec<_> = (0..4)
        .map(|b| pool.read_buffer(tag(16394, b)).unwrap())
        .collect();
    for b in 0..16 {
        let buf = pool.read_buffer(tag(16394, b)).unwrap().into_raw();
        pool.set_usage_for_test(buf, if (4..8).contains(&b) { 3 } else { 0 });
        pool.release(buf);
    }
    let written = pool.bgwriter_lru_scan(100, 2.0).unwrap();
    assert_eq!(written, 8);
    assert_eq!(pool.stats().buffers_clean, 8);
    assert_eq!(pool.stats().maxwritten_clean, 0);
    for b in 0..16 {
        let pin = pool.read_buffer(tag(16394, b)).unwrap();
        let dirty = pool.is_dirty_for_test(pin.buffer());
        assert_eq!(
            dirty,
            b < 8,
            "block {b}: pinned or recently used buffers stay dirty"
        );
    }
    drop(pinned);
}

#[test]
fn bgwriter_stops_at_lru_maxpages() {
    let dir = TempDataDir::new("buf-bgwmax");
    let pool = test_pool(&dir, 16, no_wal);
    fill_relation(&pool, 16395, 16);
    for b in 0..16 {
        let buf = pool.read_buffer(tag(16395, b)).unwrap().into_raw();
        pool.set_usage_for_test(buf, 0);
        pool.release(buf);
    }
    assert_eq!(pool.bgwriter_lru_scan(3, 2.0).unwrap(), 3);
    assert_eq!(pool.stats().maxwritten_clean, 1);
    assert_eq!(pool.dirty_count(), 13);
}

#[test]
fn dropped_relation_buffers_are_forgotten_without_writing() {
    let dir = TempDataDir::new("buf-drop");
    let pool = test_pool(&dir, 16, no_wal);
    fill_relation(&pool, 16396, 3);
    {
        let pin = pool.read_buffer(tag(16396, 1)).unwrap();
        let err = pool.drop_relation_buffers(rel(16396)).unwrap_err();
        assert_eq!(
            err.message,
            format!("buffer {} is pinned in InvalidateBuffer", pin.buffer().0)
        );
    }
    pool.drop_relation_buffers(rel(16396)).unwrap();
    assert_eq!(pool.dirty_count(), 0);
    assert_eq!(pool.stats().blocks_written, 0);
    // The file still holds the zero pages `extend` wrote.
    let pin = pool.read_buffer(tag(16396, 2)).unwrap();
    assert!(pin.lock_shared().page().iter().all(|&b| b == 0));
    drop(pin);
    // Truncation drops only the cut-off blocks.
    fill_relation(&pool, 16397, 4);
    pool.drop_fork_buffers_from(rel(16397), ForkNumber::Main, 2)
        .unwrap();
    assert_eq!(pool.dirty_count(), 2);
    pool.smgr()
        .truncate(rel(16397), ForkNumber::Main, 2)
        .unwrap();
    assert_eq!(
        pool.smgr().nblocks(rel(16397), ForkNumber::Main).unwrap(),
        2
    );
}

#[test]
fn zero_and_lock_gives_a_locked_zero_page_without_reading() {
    let dir = TempDataDir::new("buf-zero");
    let pool = test_pool(&dir, 16, no_wal);
    pool.smgr()
        .create(rel(16398), ForkNumber::Main, false)
        .unwrap();
    // Block 5 of an empty file (redo of a page past the end).
    let mut locked = pool.read_buffer_zero_and_lock(tag(16398, 5)).unwrap();
    assert_eq!(locked.mode(), BufferLockMode::Exclusive);
    assert!(locked.page().iter().all(|&b| b == 0));
    init_page(locked.page_mut());
    locked.page_mut()[500] = 1;
    locked.mark_dirty();
    let pin = locked.unlock();
    assert_eq!(pin.tag(), tag(16398, 5));
    drop(pin);
    assert_eq!(pool.stats().blocks_read, 0);
    pool.flush_relation(rel(16398)).unwrap();
    assert_eq!(
        pool.smgr().nblocks(rel(16398), ForkNumber::Main).unwrap(),
        6
    );
}

#[test]
fn region_is_registered_and_sized_from_shared_buffers() {
    let settings = crate::utils::guc::Settings::new();
    let nbuffers = settings.get_int("shared_buffers") as u32;
    let layout = crate::storage::shmem::Layout::compute(&settings);
    let idx = crate::storage::shmem::RegionId::BufferPool as usize;
    assert_eq!(crate::storage::shmem::REGIONS[idx].name, "BufferPool");
    let region_bytes = layout
        .offsets
        .get(idx + 1)
        .copied()
        .unwrap_or(layout.total_bytes)
        - layout.offsets[idx];
    assert!(region_bytes >= BufferPool::size_for(nbuffers));
    assert!(BufferPool::size_for(nbuffers) >= nbuffers as usize * BLCKSZ);
}

#[test]
fn checksummed_page_corrupted_on_disk_is_reported_as_xx001_when_read() {
    let dir = TempDataDir::new("buf-checksum");
    let pool = test_pool_with(&dir, 16, no_wal, true);
    fill_relation(&pool, 16399, 2);
    pool.flush_relation(rel(16399)).unwrap();
    pool.drop_relation_buffers(rel(16399)).unwrap();
    let mut page = [0u8; BLCKSZ];
    pool.smgr()
        .read(rel(16399), ForkNumber::Main, 1, &mut page)
        .unwrap();
    assert!(
        Page::new(&page).verify_checksum(1),
        "the pool sets the checksum as it writes"
    );
    page[4000] ^= 0x10;
    pool.smgr()
        .write(rel(16399), ForkNumber::Main, 1, &page)
        .unwrap();
    let err = pool
        .read_buffer(tag(16399, 1))
        .err()
        .expect("a flipped bit is detected");
    assert_eq!(err.sqlstate, "XX001");
    assert_eq!(
        err.message,
        "invalid page in block 1 of relation base/5/16399"
    );
    assert_eq!(pool.pins_held(), 0);
    let pin = pool
        .read_buffer(tag(16399, 0))
        .expect("the intact block reads fine");
    assert_eq!(get_u64(pin.lock_shared().page(), 100), 7);
}

#[test]
#[should_panic(expected = "page failed its invariants")]
fn writing_a_page_that_breaks_its_invariants_is_a_bug() {
    let dir = TempDataDir::new("buf-badpage");
    let pool = test_pool(&dir, 16, no_wal);
    pool.smgr()
        .create(rel(16400), ForkNumber::Main, false)
        .unwrap();
    {
        let (mut locked, _) = pool.extend(rel(16400), ForkNumber::Main).unwrap();
        locked.page_mut()[100] = 1; // not initialised, yet not all zeros
        locked.mark_dirty();
    }
    let _ = pool.flush_relation(rel(16400));
}
