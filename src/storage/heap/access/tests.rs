//! Heap access method tests: real shared memory (a private MAP_SHARED
//! segment per test with the process array, transaction regions, lock
//! table, buffer pool and WAL), real forked processes, real files and WAL
//! segments in a temporary data directory.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::*;
use crate::storage::heap::{AttrType, Attribute};
use crate::storage::lock::lmgr::LockTable;
use crate::storage::lock::lmgr::testshm::{
    TestShmem, fork_child, shared_counters, small_settings, wait_child, wait_until,
};
use crate::storage::smgr::Smgr;
use crate::storage::smgr::testutil::TempDataDir;
use crate::storage::wal::{WalConfig, WalReader};
use crate::storage::xact::{CLOG_REGION, TRANSAM_REGION, TransactionState, Transam, XactWal};

/// 1 MiB WAL segments: a few per test.
const SEG: u64 = 1 << 20;
const SYSID: u64 = 0x0fe1_4a11_0000_0001;

fn shared_mapping(size: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous shared mapping, zeroed; never unmapped (forked
    // children and leaked handles use it for the rest of the process).
    unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
    }
    .expect("mmap for a test region")
    .cast::<u8>()
}

/// The pool's WAL flush hook: tests flush the WAL themselves before reading it.
fn no_wal_flush(_: Lsn) -> std::io::Result<()> {
    Ok(())
}

/// A fresh buffer pool over `dir`, with its own storage manager.
pub(crate) fn new_pool(dir: &Path, nbuffers: u32, data_checksums: bool) -> &'static BufferPool {
    let base = shared_mapping(BufferPool::size_for(nbuffers));
    let smgr: &'static Smgr = Box::leak(Box::new(Smgr::new(dir)));
    // SAFETY: zeroed, page-aligned, sized for `nbuffers`, used by this test only.
    unsafe {
        BufferPool::init_at(base, nbuffers, data_checksums);
        Box::leak(Box::new(BufferPool::from_raw(
            base,
            nbuffers,
            smgr,
            no_wal_flush,
        )))
    }
}

/// Commit and abort records go to the test's WAL, like the server's.
struct TestXactWal(&'static Wal);

impl XactWal for TestXactWal {
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn {
        HeapWal::insert(self.0, rmgr, info, xid, main_data)
    }
    fn flush(&self, upto: Lsn) -> std::io::Result<()> {
        self.0.flush(upto)
    }
    fn wake_writer(&self) {}
    fn flushed_lsn(&self) -> Lsn {
        self.0.flushed_lsn()
    }
}

pub(crate) struct Env {
    pub(crate) dir: TempDataDir,
    pub(crate) shm: TestShmem,
    pub(crate) transam: Transam,
    pub(crate) locks: LockTable,
    pub(crate) wal: &'static Wal,
    pub(crate) pool: &'static BufferPool,
    /// Where the first record of this WAL starts.
    pub(crate) wal_start: Lsn,
}

impl Env {
    pub(crate) fn new(name: &str, nbuffers: u32, data_checksums: bool) -> Env {
        let dir = TempDataDir::new(&format!("heapam-{name}"));
        std::fs::create_dir_all(dir.path().join("pg_wal/archive_status")).unwrap();
        std::fs::create_dir_all(dir.path().join("pg_xact")).unwrap();
        let mut settings = small_settings();
        settings.set_internal("max_connections", "16");
        settings.set_internal("data_directory", dir.path().to_str().unwrap());
        let shm = TestShmem::new(settings, &[TRANSAM_REGION, CLOG_REGION, LockTable::REGION]);

        let n_wal_buffers = 16;
        let base = shared_mapping(Wal::region_size(n_wal_buffers));
        let cfg = WalConfig {
            n_buffers: n_wal_buffers,
            seg_size: SEG,
            fsync: false,
            full_page_writes: true,
            archive_mode: false,
        };
        // SAFETY: a fresh zeroed shared mapping of the right size.
        let wal: &'static Wal = unsafe {
            Wal::init_region(base, cfg);
            Box::leak(Box::new(Wal::attach(base, dir.path())))
        };
        wal.init_insert_position(Lsn(SEG), Lsn::INVALID, SYSID)
            .unwrap();
        let wal_start = wal.insert_lsn();
        let xwal: &'static TestXactWal = Box::leak(Box::new(TestXactWal(wal)));
        // SAFETY: regions 1..=3 were initialised as listed, for these settings.
        let (transam, locks) = unsafe {
            (
                Transam::from_raw(
                    shm.region(1),
                    shm.region(2),
                    &shm.settings,
                    shm.procarray(),
                    xwal,
                ),
                LockTable::from_raw(shm.region(3), &shm.settings, shm.procarray()),
            )
        };
        transam.set_next_xid(Xid(1000));
        let pool = new_pool(dir.path(), nbuffers, data_checksums);
        Env {
            dir,
            shm,
            transam,
            locks,
            wal,
            pool,
            wal_start,
        }
    }

    pub(crate) fn heap(&self) -> HeapStorage<'static> {
        HeapStorage {
            pool: self.pool,
            wal: self.wal,
        }
    }

    /// A backend: its own process-array slot and lock manager.
    pub(crate) fn backend(&self) -> TransactionState {
        let slot = self.shm.claim();
        TransactionState::new(self.transam, slot, LockManager::new(self.locks, slot))
    }

    /// Makes everything inserted so far durable and readable.
    pub(crate) fn flush_wal(&self) {
        self.wal.flush(self.wal.insert_lsn()).unwrap();
    }

    /// The records from `start` to the end of WAL.
    pub(crate) fn records_from(&self, start: Lsn) -> Vec<DecodedRecord> {
        self.flush_wal();
        let mut r = WalReader::with_segment_size(self.dir.path(), start, SEG);
        r.expect_system_identifier(SYSID);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        out
    }

    /// Replays the Heap and Storage records from `start` into `heap`'s
    /// pool, as the startup process does; returns how many.
    pub(crate) fn replay(&self, start: Lsn, heap: HeapStorage<'_>) -> usize {
        let mut n = 0;
        for rec in self.records_from(start) {
            if matches!(rec.rmgr, RmgrId::Heap | RmgrId::Storage) {
                heap.redo(&rec).unwrap_or_else(|e| {
                    panic!("redo of {:?} at {}: {}", rec.rmgr, rec.lsn, e.message)
                });
                n += 1;
            }
        }
        n
    }
}

/// Runs `f` with a write context for `tx` (assigning its xid).
pub(crate) fn with_cx<R>(
    env: &Env,
    tx: &mut TransactionState,
    crosscheck: Option<&Snapshot>,
    f: impl FnOnce(&mut WriteContext<'_>) -> R,
) -> R {
    let xid = tx.xid_for_write().unwrap();
    let cid = tx.command_id();
    // A statement_timeout for tests: no wait lasts forever, even when the
    // code under test is wrong.
    let started = std::time::Instant::now();
    let mut statement_timeout = || {
        if started.elapsed() > Duration::from_secs(20) {
            Err(PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            ))
        } else {
            Ok(())
        }
    };
    let mut cx = WriteContext {
        xid,
        cid,
        crosscheck,
        xact: &env.transam,
        locks: &mut tx.locks,
        check_interrupts: &mut statement_timeout,
    };
    f(&mut cx)
}

/// Forks a test child; a panic in it is exit code 101, never a return
/// into the test harness.
fn fork_test_child(f: impl FnOnce() -> i32) -> nix::unistd::Pid {
    fork_child(move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101))
}

pub(crate) fn relation(db_oid: Oid, rel_number: Oid) -> HeapRelation {
    HeapRelation {
        oid: rel_number,
        db_oid,
        name: format!("t{rel_number}"),
        locator: RelFileLocator {
            spc_oid: 1663,
            db_oid,
            rel_number,
        },
        desc: TupleDesc::new(vec![
            Attribute::new("id", AttrType::Int4),
            Attribute::new("payload", AttrType::Text),
        ]),
    }
}

/// Row `id` with a text payload of `len` bytes.
pub(crate) fn row(id: i32, len: usize) -> Vec<HeapValue> {
    let mut text = format!("row {id} ").into_bytes();
    text.resize(len, b'x');
    vec![HeapValue::I32(id), HeapValue::Bytes(text)]
}

fn id_of(values: &[HeapValue]) -> i32 {
    match values[0] {
        HeapValue::I32(id) => id,
        ref v => panic!("id column holds {v:?}"),
    }
}

pub(crate) fn scan_all(
    heap: HeapStorage<'_>,
    rel: &HeapRelation,
    snapshot: &Snapshot,
    xact: &dyn XactStatus,
) -> Vec<(ItemPointer, Vec<HeapValue>)> {
    let mut out = Vec::new();
    heap.scan(rel, snapshot, xact, &mut |tid, values| {
        out.push((tid, values));
        Ok(true)
    })
    .unwrap();
    out
}

pub(crate) fn ids(rows: &[(ItemPointer, Vec<HeapValue>)]) -> Vec<i32> {
    let mut v: Vec<i32> = rows.iter().map(|(_, r)| id_of(r)).collect();
    v.sort();
    v
}

/// The header of the tuple at `tid`, read through `pool`.
fn header(pool: &BufferPool, rel: &HeapRelation, tid: ItemPointer) -> HeapTupleHeader {
    let pin = pool.read_buffer(main_tag(rel, tid.block())).unwrap();
    let g = pin.lock_shared();
    let page = Page::new(g.page());
    HeapTupleHeader::read(page.get_item(tid.offset()))
}

fn tid_to_u32(tid: ItemPointer) -> u32 {
    (tid.block() << 16) | tid.offset() as u32
}

fn u32_to_tid(v: u32) -> ItemPointer {
    ItemPointer::new(v >> 16, (v & 0xffff) as u16)
}

#[test]
fn inserted_rows_come_back_from_a_scan_across_many_pages() {
    let env = Env::new("scan", 16, false);
    let heap = env.heap();
    // A database directory that does not exist yet is created.
    let rel = relation(6, 16384);
    heap.create_storage(&rel).unwrap();
    assert!(env.dir.path().join("base/6/16384").exists());

    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tids: Vec<ItemPointer> = (0..3000)
        .map(|i| {
            heap.insert(&rel, &row(i, 150 + (i % 7) as usize * 20), xid, 0)
                .unwrap()
        })
        .collect();
    tx.commit(true);
    let nblocks = env
        .pool
        .smgr()
        .nblocks(rel.locator, ForkNumber::Main)
        .unwrap();
    assert!(
        nblocks > 60,
        "3000 rows of ~200 bytes take more than 60 pages (16 buffers), got {nblocks}"
    );
    let mut sorted = tids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        tids.len(),
        "every insert has its own tuple id"
    );
    assert_eq!(sorted, tids, "inserts fill pages in order");

    tx.begin();
    let snap = tx.snapshot();
    let rows = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(rows.len(), 3000);
    for (i, (tid, values)) in rows.iter().enumerate() {
        assert_eq!(*tid, tids[i]);
        assert_eq!(*values, row(i as i32, 150 + (i % 7) * 20));
    }

    // visit returning false stops the scan; its error ends it.
    let mut seen = 0;
    heap.scan(&rel, &snap, &env.transam, &mut |_, _| {
        seen += 1;
        Ok(seen < 10)
    })
    .unwrap();
    assert_eq!(seen, 10);
    let err = heap
        .scan(&rel, &snap, &env.transam, &mut |_, _| {
            Err(PgError::error(sqlstate::QUERY_CANCELED, "canceled"))
        })
        .unwrap_err();
    assert_eq!(err.sqlstate, sqlstate::QUERY_CANCELED);
    tx.commit(true);

    // A row that does not fit on a page.
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let err = heap.insert(&rel, &row(1, 9000), xid, 0).unwrap_err();
    assert_eq!(err.sqlstate, sqlstate::PROGRAM_LIMIT_EXCEEDED);
    assert!(err.message.starts_with("row is too big"), "{}", err.message);
    tx.abort();
    assert_eq!(env.pool.pins_held(), 0, "no pin leaked");
}

#[test]
fn snapshots_see_committed_and_own_earlier_rows_but_not_aborted_or_running_ones() {
    let env = Env::new("visibility", 16, false);
    let heap = env.heap();
    let rel = relation(5, 16385);
    heap.create_storage(&rel).unwrap();

    let mut a = env.backend();
    a.begin();
    let t1 = heap
        .insert(&rel, &row(1, 10), a.xid_for_write().unwrap(), 0)
        .unwrap();
    a.commit(true);

    let mut b = env.backend();
    b.begin();
    let t2 = heap
        .insert(&rel, &row(2, 10), b.xid_for_write().unwrap(), 0)
        .unwrap();
    b.abort();

    let mut c = env.backend();
    c.begin();
    let t3 = heap
        .insert(&rel, &row(3, 10), c.xid_for_write().unwrap(), 0)
        .unwrap();
    // A command does not see its own inserts; the next one does.
    assert_eq!(
        ids(&scan_all(heap, &rel, &c.snapshot(), &env.transam)),
        vec![1]
    );
    c.command_counter_increment().unwrap();
    assert_eq!(
        ids(&scan_all(heap, &rel, &c.snapshot(), &env.transam)),
        vec![1, 3]
    );

    let mut d = env.backend();
    d.begin();
    let before_commit = d.snapshot();
    assert_eq!(
        ids(&scan_all(heap, &rel, &before_commit, &env.transam)),
        vec![1]
    );
    // The scan left hint bits for the finished transactions only.
    assert!(
        header(env.pool, &rel, t1).xmin_committed(),
        "committed inserter hinted"
    );
    assert!(
        header(env.pool, &rel, t2).xmin_invalid(),
        "aborted inserter hinted"
    );
    let h3 = header(env.pool, &rel, t3);
    assert!(
        !h3.xmin_committed() && !h3.xmin_invalid(),
        "running inserter not hinted"
    );

    c.commit(true);
    assert_eq!(
        ids(&scan_all(heap, &rel, &before_commit, &env.transam)),
        vec![1],
        "an old snapshot keeps its view"
    );
    assert_eq!(
        ids(&scan_all(heap, &rel, &d.snapshot(), &env.transam)),
        vec![1, 3]
    );
    d.commit(true);
}

#[test]
fn updates_and_deletes_leave_versions_linked_through_ctid() {
    let env = Env::new("update", 16, false);
    let heap = env.heap();
    let rel = relation(5, 16386);
    heap.create_storage(&rel).unwrap();

    // Seven rows of ~1 KB fill block 0 but for ~800 bytes.
    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let t: Vec<ItemPointer> = (0..7)
        .map(|i| heap.insert(&rel, &row(i, 1000), xid, 0).unwrap())
        .collect();
    assert!(t.iter().all(|tid| tid.block() == 0));
    tx.commit(true);

    let mut w = env.backend();
    w.begin();
    let (n0, n1) = with_cx(&env, &mut w, None, |cx| {
        // Small enough for the same page, then too big for it.
        let (o0, n0) = heap.update(&rel, t[0], &row(100, 50), cx).unwrap();
        let (o1, n1) = heap.update(&rel, t[1], &row(101, 1000), cx).unwrap();
        assert_eq!((o0, o1), (TmOutcome::Ok, TmOutcome::Ok));
        assert_eq!(heap.delete(&rel, t[2], cx).unwrap(), TmOutcome::Ok);
        // The same command meets its own changes.
        assert_eq!(
            heap.update(&rel, t[0], &row(200, 5), cx).unwrap(),
            (TmOutcome::SelfModified, None)
        );
        assert_eq!(
            heap.delete(&rel, t[2], cx).unwrap(),
            TmOutcome::SelfModified
        );
        assert_eq!(
            heap.lock_tuple(&rel, t[2], RowLockMode::Update, cx)
                .unwrap(),
            TmOutcome::SelfModified
        );
        (n0.unwrap(), n1.unwrap())
    });
    assert_eq!(n0.block(), 0, "fits on the old version's page");
    assert_eq!(n1.block(), 1, "did not fit: a new page");
    assert_eq!(header(env.pool, &rel, t[0]).t_ctid, n0);
    assert_eq!(header(env.pool, &rel, t[1]).t_ctid, n1);
    assert_eq!(
        header(env.pool, &rel, t[2]).t_ctid,
        t[2],
        "a deleted tuple points at itself"
    );
    assert!(header(env.pool, &rel, n1).t_infomask & HEAP_UPDATED != 0);
    // Before the updater commits the chain is not followed.
    assert_eq!(
        heap.fetch_latest(&rel, t[0], &env.transam).unwrap(),
        Some((t[0], row(0, 1000)))
    );
    w.command_counter_increment().unwrap();
    assert_eq!(
        ids(&scan_all(heap, &rel, &w.snapshot(), &env.transam)),
        vec![3, 4, 5, 6, 100, 101]
    );
    w.commit(true);

    let mut r = env.backend();
    r.begin();
    let snap = r.snapshot();
    assert_eq!(
        ids(&scan_all(heap, &rel, &snap, &env.transam)),
        vec![3, 4, 5, 6, 100, 101]
    );
    assert_eq!(
        heap.fetch_latest(&rel, t[0], &env.transam).unwrap(),
        Some((n0, row(100, 50)))
    );
    assert_eq!(
        heap.fetch_latest(&rel, t[1], &env.transam).unwrap(),
        Some((n1, row(101, 1000)))
    );
    assert_eq!(heap.fetch_latest(&rel, t[2], &env.transam).unwrap(), None);
    with_cx(&env, &mut r, None, |cx| {
        // READ COMMITTED: told where the row went, or that it is gone.
        assert_eq!(
            heap.update(&rel, t[0], &row(300, 5), cx).unwrap(),
            (TmOutcome::Updated { newer: n0 }, None)
        );
        assert_eq!(heap.delete(&rel, t[2], cx).unwrap(), TmOutcome::Deleted);
        assert_eq!(
            heap.lock_tuple(&rel, t[1], RowLockMode::Share, cx).unwrap(),
            TmOutcome::Updated { newer: n1 }
        );
        // Bad tuple ids are errors, not panics.
        for bad in [
            ItemPointer::new(99, 1),
            ItemPointer::new(0, 200),
            ItemPointer::new(0, 0),
        ] {
            let e = heap.delete(&rel, bad, cx).unwrap_err();
            assert_eq!(e.sqlstate, sqlstate::INTERNAL_ERROR, "{bad}");
        }
        // EvalPlanQual's next step: change the newest version.
        assert_eq!(heap.delete(&rel, n0, cx).unwrap(), TmOutcome::Ok);
    });
    // REPEATABLE READ: the same meetings are serialization failures.
    with_cx(&env, &mut r, Some(&snap), |cx| {
        let e = heap.update(&rel, t[1], &row(300, 5), cx).unwrap_err();
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (
                sqlstate::SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent update"
            )
        );
        let e = heap
            .lock_tuple(&rel, t[2], RowLockMode::Update, cx)
            .unwrap_err();
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (
                sqlstate::SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent delete"
            )
        );
    });

    // Another transaction's uncommitted row cannot be updated.
    let mut u = env.backend();
    u.begin();
    let t_uncommitted = heap
        .insert(&rel, &row(7, 10), u.xid_for_write().unwrap(), 0)
        .unwrap();
    with_cx(&env, &mut r, None, |cx| {
        let e = heap
            .update(&rel, t_uncommitted, &row(8, 10), cx)
            .unwrap_err();
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (
                sqlstate::INTERNAL_ERROR,
                "attempted to update invisible tuple"
            )
        );
    });
    u.abort();
    r.commit(true);
    assert_eq!(env.pool.pins_held(), 0, "no pin leaked");
}

#[test]
fn concurrent_update_waits_for_the_first_writer_then_sees_the_new_version_or_fails_to_serialize() {
    let env = Env::new("concurrent", 32, false);
    let heap = env.heap();
    let rel = &relation(5, 16387);
    heap.create_storage(rel).unwrap();
    let flags: &'static [AtomicU32] = shared_counters(8);

    for repeatable_read in [false, true] {
        let mut setup = env.backend();
        setup.begin();
        let tid = heap
            .insert(rel, &row(1, 20), setup.xid_for_write().unwrap(), 0)
            .unwrap();
        setup.commit(true);
        for f in flags {
            f.store(0, Ordering::SeqCst);
        }

        let env_ref = &env;
        let first = fork_test_child(move || {
            let mut tx = env_ref.backend();
            tx.begin();
            let r = with_cx(env_ref, &mut tx, None, |cx| {
                heap.update(rel, tid, &row(2, 20), cx)
            });
            let Ok((TmOutcome::Ok, Some(new))) = r else {
                return 2;
            };
            flags[1].store(tid_to_u32(new), Ordering::SeqCst);
            flags[0].store(1, Ordering::SeqCst); // updated, not committed
            std::thread::sleep(Duration::from_millis(300));
            flags[2].store(1, Ordering::SeqCst); // committing now
            tx.commit(true);
            0
        });
        let second = fork_test_child(move || {
            if !wait_until(Duration::from_secs(10), || {
                flags[0].load(Ordering::SeqCst) == 1
            }) {
                return 3;
            }
            let mut tx = env_ref.backend();
            tx.begin();
            let snap = tx.snapshot();
            let cross = repeatable_read.then_some(&snap);
            let r = with_cx(env_ref, &mut tx, cross, |cx| {
                heap.update(rel, tid, &row(3, 20), cx)
            });
            if flags[2].load(Ordering::SeqCst) != 1 {
                return 4; // did not wait for the first writer
            }
            let newer_expected = u32_to_tid(flags[1].load(Ordering::SeqCst));
            let code = match r {
                Ok((TmOutcome::Updated { newer }, None))
                    if !repeatable_read && newer == newer_expected =>
                {
                    // EvalPlanQual: fetch the newest version and change it.
                    match heap.fetch_latest(rel, tid, &env_ref.transam) {
                        Ok(Some((t, v))) if t == newer && v == row(2, 20) => {
                            match with_cx(env_ref, &mut tx, None, |cx| {
                                heap.update(rel, newer, &row(3, 20), cx)
                            }) {
                                Ok((TmOutcome::Ok, Some(_))) => 0,
                                _ => 7,
                            }
                        }
                        _ => 6,
                    }
                }
                Err(e) if repeatable_read && e.sqlstate == sqlstate::SERIALIZATION_FAILURE => 0,
                _ => 5,
            };
            if code == 0 && !repeatable_read {
                tx.commit(true);
            } else {
                tx.abort();
            }
            code
        });
        assert_eq!(
            wait_child(first),
            0,
            "first writer (repeatable_read = {repeatable_read})"
        );
        assert_eq!(
            wait_child(second),
            0,
            "second writer (repeatable_read = {repeatable_read})"
        );

        let mut check = env.backend();
        check.begin();
        let rows = scan_all(heap, rel, &check.snapshot(), &env.transam);
        let want = if repeatable_read { 2 } else { 3 };
        assert!(
            rows.iter().any(|(_, v)| *v == row(want, 20)),
            "row {want} in {rows:?}"
        );
        check.commit(true);
    }
}

#[test]
fn a_writer_waits_for_every_share_locker_even_those_not_recorded_in_xmax() {
    let env = Env::new("share", 32, false);
    let heap = env.heap();
    let rel = &relation(5, 16388);
    heap.create_storage(rel).unwrap();
    let mut setup = env.backend();
    setup.begin();
    let tid = heap
        .insert(rel, &row(1, 20), setup.xid_for_write().unwrap(), 0)
        .unwrap();
    setup.commit(true);
    let flags: &'static [AtomicU32] = shared_counters(8);
    let env_ref = &env;

    // Two FOR SHARE lockers: the first is recorded in t_xmax, the second
    // holds the heavyweight tuple lock; the second ends last.
    let locker = |me: usize, hold_ms: u64| {
        fork_test_child(move || {
            if me == 1
                && !wait_until(Duration::from_secs(10), || {
                    flags[0].load(Ordering::SeqCst) == 1
                })
            {
                return 3;
            }
            let mut tx = env_ref.backend();
            tx.begin();
            let started = std::time::Instant::now();
            let r = with_cx(env_ref, &mut tx, None, |cx| {
                heap.lock_tuple(rel, tid, RowLockMode::Share, cx)
            });
            if r != Ok(TmOutcome::Ok) || started.elapsed() > Duration::from_millis(500) {
                return 2; // share lockers do not wait for each other
            }
            flags[me].store(1, Ordering::SeqCst);
            if me == 0
                && !wait_until(Duration::from_secs(10), || {
                    flags[1].load(Ordering::SeqCst) == 1
                })
            {
                return 4;
            }
            std::thread::sleep(Duration::from_millis(hold_ms));
            flags[3 + me].store(1, Ordering::SeqCst); // committing
            tx.commit(true);
            0
        })
    };
    let first = locker(0, 200);
    let second = locker(1, 700);
    let writer = fork_test_child(move || {
        if !wait_until(Duration::from_secs(10), || {
            flags[1].load(Ordering::SeqCst) == 1
        }) {
            return 3;
        }
        let mut tx = env_ref.backend();
        tx.begin();
        let r = with_cx(env_ref, &mut tx, None, |cx| {
            heap.update(rel, tid, &row(2, 20), cx)
        });
        let both_ended =
            flags[3].load(Ordering::SeqCst) == 1 && flags[4].load(Ordering::SeqCst) == 1;
        let code = match r {
            Ok((TmOutcome::Ok, Some(_))) if both_ended => 0,
            Ok((TmOutcome::Ok, Some(_))) => 5, // overtook a share locker
            _ => 6,
        };
        tx.commit(true);
        code
    });
    assert_eq!(wait_child(first), 0, "recorded share locker");
    assert_eq!(wait_child(second), 0, "unrecorded share locker");
    assert_eq!(wait_child(writer), 0, "writer");
}

#[test]
fn replaying_the_wal_into_a_fresh_pool_rebuilds_a_thrown_away_relation() {
    let env = Env::new("redo", 16, false);
    let heap = env.heap();
    let rel = relation(7, 16389);
    heap.create_storage(&rel).unwrap();

    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tids: Vec<ItemPointer> = (0..600)
        .map(|i| {
            heap.insert(&rel, &row(i, 40 + (i % 13) as usize * 30), xid, 0)
                .unwrap()
        })
        .collect();
    tx.commit(true);

    tx.begin();
    with_cx(&env, &mut tx, None, |cx| {
        for (i, &tid) in tids.iter().enumerate() {
            let i = i as i32;
            let r = match i % 11 {
                0 => heap.update(&rel, tid, &row(i + 10_000, 20), cx).unwrap().0,
                3 => heap.update(&rel, tid, &row(i + 10_000, 900), cx).unwrap().0,
                5 => heap.delete(&rel, tid, cx).unwrap(),
                7 => heap.lock_tuple(&rel, tid, RowLockMode::Update, cx).unwrap(),
                9 => heap.lock_tuple(&rel, tid, RowLockMode::Share, cx).unwrap(),
                _ => continue,
            };
            assert_eq!(r, TmOutcome::Ok, "row {i}");
        }
    });
    tx.commit(true);
    // Rolled back work is replayed too, and stays invisible.
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    for i in 0..50 {
        heap.insert(&rel, &row(-i, 100), xid, 0).unwrap();
    }
    tx.abort();

    tx.begin();
    let snap = tx.snapshot();
    let expected = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(expected.len(), 600 - 600 / 11 - 1);
    let nblocks = env
        .pool
        .smgr()
        .nblocks(rel.locator, ForkNumber::Main)
        .unwrap();

    // Throw the buffers away unwritten, and the file with them.
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    env.pool.smgr().unlink(rel.locator).unwrap();
    assert!(!env.dir.path().join("base/7/16389").exists());
    std::fs::remove_dir(env.dir.path().join("base/7")).unwrap();

    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 16, false),
        wal: env.wal,
    };
    let replayed = env.replay(env.wal_start, fresh);
    assert!(replayed > 600 + 200, "{replayed} heap and storage records");
    assert_eq!(
        scan_all(fresh, &rel, &snap, &env.transam),
        expected,
        "same rows at the same tuple ids"
    );
    assert_eq!(
        fresh
            .pool
            .smgr()
            .nblocks(rel.locator, ForkNumber::Main)
            .unwrap(),
        nblocks
    );

    // Replay is idempotent: again on top of the result.
    env.replay(env.wal_start, fresh);
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), expected);
    // And from written pages: write everything, forget the buffers, replay.
    fresh.pool.flush_relation(rel.locator).unwrap();
    fresh.pool.drop_relation_buffers(rel.locator).unwrap();
    env.replay(env.wal_start, fresh);
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), expected);
    tx.commit(true);
}

#[test]
fn a_full_page_image_after_the_redo_pointer_moves_restores_a_torn_page() {
    let env = Env::new("fpi", 16, false);
    let heap = env.heap();
    let rel = relation(5, 16390);
    heap.create_storage(&rel).unwrap();
    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tids: Vec<ItemPointer> = (0..20)
        .map(|i| heap.insert(&rel, &row(i, 100), xid, 0).unwrap())
        .collect();
    tx.commit(true);

    // A checkpoint: the redo point moves, then the dirty pages are written.
    let redo = env.wal.begin_checkpoint();
    env.pool.flush_relation(rel.locator).unwrap();

    tx.begin();
    with_cx(&env, &mut tx, None, |cx| {
        assert_eq!(
            heap.update(&rel, tids[0], &row(100, 100), cx).unwrap().0,
            TmOutcome::Ok
        );
        assert_eq!(heap.delete(&rel, tids[1], cx).unwrap(), TmOutcome::Ok);
    });
    tx.commit(true);

    let heap_records: Vec<DecodedRecord> = env
        .records_from(redo)
        .into_iter()
        .filter(|r| r.rmgr == RmgrId::Heap)
        .collect();
    assert_eq!(heap_records.len(), 2);
    assert_eq!(
        heap_records[0].info & XLOG_HEAP_OPMASK_FOR_TESTS,
        XLOG_HEAP_UPDATE
    );
    assert!(
        heap_records[0].blocks[0].image.is_some(),
        "first change after the redo point logs the page"
    );
    assert!(
        heap_records[0].blocks[0].data.is_empty(),
        "no tuple data besides an image"
    );
    assert!(
        heap_records[1].blocks[0].image.is_none(),
        "the second change does not"
    );

    tx.begin();
    let snap = tx.snapshot();
    let expected = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(ids(&expected), (2..20).chain([100]).collect::<Vec<_>>());

    // The page is written, and the write tears: its first half is lost.
    env.pool.flush_relation(rel.locator).unwrap();
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(env.dir.path().join("base/5/16390"))
        .unwrap();
    file.write_all_at(&[0u8; BLCKSZ / 2], 0).unwrap();
    drop(file);
    let torn = HeapStorage {
        pool: new_pool(env.dir.path(), 16, false),
        wal: env.wal,
    };
    let err = torn
        .scan(&rel, &snap, &env.transam, &mut |_, _| Ok(true))
        .unwrap_err();
    assert_eq!(err.sqlstate, sqlstate::DATA_CORRUPTED, "{}", err.message);

    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 16, false),
        wal: env.wal,
    };
    env.replay(redo, fresh);
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), expected);
    tx.commit(true);
}

#[test]
fn a_record_without_image_on_a_zeroed_or_missing_page_is_skipped_and_remembered() {
    let env = Env::new("invalidpage", 16, false);
    let heap = env.heap();
    let rel = relation(5, 16393);
    heap.create_storage(&rel).unwrap();
    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tids: Vec<ItemPointer> = (0..5)
        .map(|i| heap.insert(&rel, &row(i, 100), xid, 0).unwrap())
        .collect();
    tx.commit(true);
    let redo = env.wal.begin_checkpoint();
    env.pool.flush_relation(rel.locator).unwrap();
    tx.begin();
    with_cx(&env, &mut tx, None, |cx| {
        assert_eq!(heap.delete(&rel, tids[0], cx).unwrap(), TmOutcome::Ok);
        assert_eq!(heap.delete(&rel, tids[1], cx).unwrap(), TmOutcome::Ok);
    });
    tx.commit(true);
    let deletes: Vec<DecodedRecord> = env
        .records_from(redo)
        .into_iter()
        .filter(|r| r.rmgr == RmgrId::Heap)
        .collect();
    assert!(deletes[0].blocks[0].image.is_some() && deletes[1].blocks[0].image.is_none());
    let block0 = crate::storage::types::BufferTag {
        rel: rel.locator,
        fork: ForkNumber::Main,
        block: 0,
    };
    let path = env.dir.path().join("base/5/16393");

    // Someone else zeroed the page: the record without an image cannot
    // be applied; replay skips it and remembers the page.
    env.pool.flush_relation(rel.locator).unwrap();
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&[0u8; BLCKSZ], 0).unwrap();
    drop(file);
    assert!(!crate::storage::heap::redo::is_invalid_page(block0));
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 16, false),
        wal: env.wal,
    };
    env.replay(deletes[1].lsn, fresh);
    assert!(crate::storage::heap::redo::is_invalid_page(block0));

    // The same for a block beyond the end of the file.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 16, false),
        wal: env.wal,
    };
    env.replay(deletes[1].lsn, fresh);
    assert!(crate::storage::heap::redo::is_invalid_page(block0));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "replay did not invent a page"
    );
    tx.begin();
    tx.commit(true);
}

const XLOG_HEAP_OPMASK_FOR_TESTS: u8 = crate::storage::heap::redo::XLOG_HEAP_OPMASK;

#[test]
fn hint_bits_on_a_checksummed_page_log_its_image_once_per_checkpoint() {
    let env = Env::new("hintfpi", 16, true);
    let heap = env.heap();
    let rel = relation(5, 16391);
    heap.create_storage(&rel).unwrap();
    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    for i in 0..10 {
        heap.insert(&rel, &row(i, 100), xid, 0).unwrap();
    }
    tx.commit(true);
    let redo = env.wal.begin_checkpoint();

    for _ in 0..2 {
        tx.begin();
        assert_eq!(scan_all(heap, &rel, &tx.snapshot(), &env.transam).len(), 10);
        tx.commit(true);
    }
    let hint_images: Vec<DecodedRecord> = env
        .records_from(redo)
        .into_iter()
        .filter(|r| r.rmgr == RmgrId::Heap && r.info == XLOG_HEAP_FPI_FOR_HINT)
        .collect();
    assert_eq!(
        hint_images.len(),
        1,
        "one image for the first hint after the redo point"
    );
    let image = hint_images[0].blocks[0].image.as_ref().expect("an image");
    let page = Page::new(&**image);
    let (_, first) = crate::storage::heap::heap_page_tuples(&page)
        .next()
        .unwrap();
    assert!(
        HeapTupleHeader::read(first).xmin_committed(),
        "the image carries the hints"
    );

    // The image restores the page on replay.
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 16, true),
        wal: env.wal,
    };
    env.replay(redo, fresh);
    tx.begin();
    assert_eq!(
        scan_all(fresh, &rel, &tx.snapshot(), &env.transam).len(),
        10
    );
    tx.commit(true);
}
