use super::testutil::TempDataDir;
use super::*;

fn rel(rel_number: u32) -> RelFileLocator {
    RelFileLocator {
        spc_oid: 1663,
        db_oid: 5,
        rel_number,
    }
}

fn page_of(byte: u8) -> [u8; BLCKSZ] {
    [byte; BLCKSZ]
}

#[test]
fn paths_are_postgresql_paths() {
    assert_eq!(relpath(rel(16384), ForkNumber::Main), "base/5/16384");
    assert_eq!(relpath(rel(16384), ForkNumber::Fsm), "base/5/16384_fsm");
    assert_eq!(
        relpath(rel(16384), ForkNumber::VisibilityMap),
        "base/5/16384_vm"
    );
    let shared = RelFileLocator {
        spc_oid: 1664,
        db_oid: 0,
        rel_number: 1262,
    };
    assert_eq!(relpath(shared, ForkNumber::Main), "global/1262");
    assert_eq!(
        segment_path(rel(16384), ForkNumber::Main, 2),
        "base/5/16384.2"
    );
    assert_eq!(
        segment_path(rel(16384), ForkNumber::Fsm, 1),
        "base/5/16384_fsm.1"
    );
}

#[test]
fn blocks_written_extended_and_read_back() {
    let dir = TempDataDir::new("smgr-rw");
    let smgr = Smgr::new(dir.path());
    let r = rel(16384);
    assert!(!smgr.exists(r, ForkNumber::Main).unwrap());
    smgr.create(r, ForkNumber::Main, false).unwrap();
    assert!(smgr.exists(r, ForkNumber::Main).unwrap());
    assert!(dir.path().join("base/5/16384").exists());
    assert_eq!(smgr.nblocks(r, ForkNumber::Main).unwrap(), 0);
    for b in 0..3u8 {
        smgr.extend(r, ForkNumber::Main, b as u32, &page_of(b + 1))
            .unwrap();
    }
    assert_eq!(smgr.nblocks(r, ForkNumber::Main).unwrap(), 3);
    smgr.write(r, ForkNumber::Main, 1, &page_of(0xAB)).unwrap();
    let mut buf = [0u8; BLCKSZ];
    smgr.read(r, ForkNumber::Main, 1, &mut buf).unwrap();
    assert_eq!(buf, page_of(0xAB));
    smgr.read(r, ForkNumber::Main, 2, &mut buf).unwrap();
    assert_eq!(buf, page_of(3));
    // Without a queue, the writes wait in the local pending set.
    assert_eq!(smgr.pending_count(), 1);
    assert_eq!(smgr.sync_pending().unwrap(), 1);
    assert_eq!(smgr.pending_count(), 0);
    let err = smgr.create(r, ForkNumber::Main, false).unwrap_err();
    assert_eq!(err.sqlstate, "58P02");
    assert_eq!(
        err.message,
        "could not create file \"base/5/16384\": File exists"
    );
    smgr.create(r, ForkNumber::Main, true)
        .expect("redo tolerates an existing file");
}

#[test]
fn missing_relation_reports_postgresql_error() {
    let dir = TempDataDir::new("smgr-missing");
    let smgr = Smgr::new(dir.path());
    let mut buf = [0u8; BLCKSZ];
    let err = smgr
        .read(rel(16384), ForkNumber::Main, 0, &mut buf)
        .unwrap_err();
    assert_eq!(err.sqlstate, "58P01");
    assert_eq!(
        err.message,
        "could not open file \"base/5/16384\": No such file or directory"
    );
    let err = smgr.nblocks(rel(16384), ForkNumber::Main).unwrap_err();
    assert_eq!(err.sqlstate, "58P01");
}

#[test]
fn reading_past_eof_fails_and_partial_last_block_is_zero_filled() {
    let dir = TempDataDir::new("smgr-eof");
    let smgr = Smgr::new(dir.path());
    let r = rel(16385);
    smgr.create(r, ForkNumber::Main, false).unwrap();
    smgr.extend(r, ForkNumber::Main, 0, &page_of(7)).unwrap();
    let mut buf = [0u8; BLCKSZ];
    let err = smgr.read(r, ForkNumber::Main, 1, &mut buf).unwrap_err();
    assert_eq!(err.sqlstate, "XX001");
    assert_eq!(
        err.message,
        "could not read block 1 in file \"base/5/16385\": read only 0 of 8192 bytes"
    );
    // A torn extension: the file reaches into block 1 but not to its end.
    let f = OpenOptions::new()
        .write(true)
        .open(dir.path().join("base/5/16385"))
        .unwrap();
    f.write_at(&[9u8; 100], BLCKSZ as u64).unwrap();
    assert_eq!(
        smgr.nblocks(r, ForkNumber::Main).unwrap(),
        1,
        "a partial block is not counted"
    );
    smgr.read(r, ForkNumber::Main, 1, &mut buf).unwrap();
    assert_eq!(&buf[..100], &[9u8; 100][..]);
    assert!(
        buf[100..].iter().all(|&b| b == 0),
        "tail of the partial block reads as zeros"
    );
}

#[test]
fn relation_grows_into_second_segment_and_truncates_back() {
    let dir = TempDataDir::new("smgr-seg");
    let smgr = Smgr::new(dir.path());
    let r = rel(16386);
    smgr.create(r, ForkNumber::Main, false).unwrap();
    // A full first segment, sparse on disk.
    let f = OpenOptions::new()
        .write(true)
        .open(dir.path().join("base/5/16386"))
        .unwrap();
    f.set_len(RELSEG_SIZE as u64 * BLCKSZ as u64).unwrap();
    assert_eq!(smgr.nblocks(r, ForkNumber::Main).unwrap(), RELSEG_SIZE);
    smgr.extend(r, ForkNumber::Main, RELSEG_SIZE, &page_of(0x11))
        .unwrap();
    smgr.extend(r, ForkNumber::Main, RELSEG_SIZE + 1, &page_of(0x22))
        .unwrap();
    assert!(dir.path().join("base/5/16386.1").exists());
    assert_eq!(smgr.nblocks(r, ForkNumber::Main).unwrap(), RELSEG_SIZE + 2);
    let mut buf = [0u8; BLCKSZ];
    smgr.read(r, ForkNumber::Main, RELSEG_SIZE + 1, &mut buf)
        .unwrap();
    assert_eq!(buf, page_of(0x22));

    smgr.truncate(r, ForkNumber::Main, 10).unwrap();
    assert_eq!(smgr.nblocks(r, ForkNumber::Main).unwrap(), 10);
    assert_eq!(
        std::fs::metadata(dir.path().join("base/5/16386.1"))
            .unwrap()
            .len(),
        0
    );
    let err = smgr
        .read(r, ForkNumber::Main, RELSEG_SIZE, &mut buf)
        .unwrap_err();
    assert_eq!(err.sqlstate, "XX001");

    smgr.create(r, ForkNumber::Fsm, false).unwrap();
    smgr.unlink(r).unwrap();
    for name in ["16386", "16386.1", "16386_fsm"] {
        assert!(
            !dir.path().join("base/5").join(name).exists(),
            "{name} survived unlink"
        );
    }
    assert!(!smgr.exists(r, ForkNumber::Main).unwrap());
}

#[test]
fn open_file_cache_is_bounded() {
    let dir = TempDataDir::new("smgr-lru");
    let smgr = Smgr::new(dir.path()).with_max_open_files(2);
    for n in 0..5 {
        smgr.create(rel(20000 + n), ForkNumber::Main, false)
            .unwrap();
        smgr.extend(rel(20000 + n), ForkNumber::Main, 0, &page_of(n as u8))
            .unwrap();
        assert!(smgr.open_file_count() <= 2);
    }
    let mut buf = [0u8; BLCKSZ];
    for n in 0..5 {
        smgr.read(rel(20000 + n), ForkNumber::Main, 0, &mut buf)
            .unwrap();
        assert_eq!(buf, page_of(n as u8));
        assert!(smgr.open_file_count() <= 2);
    }
}

/// A queue in plain (process-private) memory: enough for one process.
fn leaked_queue(capacity: usize) -> &'static SyncQueue {
    let words = SyncQueue::size(capacity).div_ceil(8);
    let mem: &'static mut [u64] = Box::leak(vec![0u64; words].into_boxed_slice());
    // SAFETY: zeroed, 8-aligned, large enough, used only by this test.
    unsafe {
        SyncQueue::init(mem.as_mut_ptr().cast(), capacity);
        &*mem.as_ptr().cast::<SyncQueue>()
    }
}

#[test]
fn full_fsync_queue_makes_the_writer_sync_itself() {
    let dir = TempDataDir::new("smgr-queue");
    let queue = leaked_queue(2);
    let writer = Smgr::new(dir.path());
    writer.attach_sync_queue(queue);
    for n in 0..3 {
        writer
            .create(rel(30000 + n), ForkNumber::Main, false)
            .unwrap();
    }
    writer
        .extend(rel(30000), ForkNumber::Main, 0, &page_of(1))
        .unwrap();
    writer
        .extend(rel(30000), ForkNumber::Main, 1, &page_of(1))
        .unwrap();
    writer
        .extend(rel(30001), ForkNumber::Main, 0, &page_of(1))
        .unwrap();
    assert_eq!(
        queue.backend_fsync_count(),
        0,
        "a duplicate is compacted away, not synced"
    );
    writer
        .extend(rel(30002), ForkNumber::Main, 0, &page_of(1))
        .unwrap();
    assert_eq!(queue.backend_fsync_count(), 1);
    assert_eq!(
        writer.pending_count(),
        0,
        "a forwarding process keeps nothing locally"
    );

    let checkpointer = Smgr::new(dir.path());
    checkpointer.attach_sync_queue(queue);
    checkpointer.set_sync_owner();
    writer.unlink(rel(30001)).unwrap();
    assert_eq!(checkpointer.absorb_sync_requests(), 2);
    assert!(queue.is_empty());
    // 30000 is synced; 30001 was unlinked meanwhile, which is not an error.
    assert_eq!(checkpointer.sync_pending().unwrap(), 1);
    assert_eq!(checkpointer.pending_count(), 0);
}
