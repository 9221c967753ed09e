//! Transaction tests with real processes sharing a private segment.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::process::procarray::ProcSlot;
use crate::storage::lock::lmgr::testshm::{
    TestShmem, fork_child, shared_counters, small_settings, wait_child, wait_until,
};
use crate::storage::lock::lmgr::{LockManager, LockTable};
use crate::storage::wal::RmgrId;

/// A WAL that hands out increasing LSNs and keeps the records (per process).
#[derive(Default)]
struct TestWal {
    lsn: AtomicU64,
    records: Mutex<Vec<(u8, u8, Xid, Vec<u8>)>>,
}

impl XactWal for TestWal {
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn {
        self.records
            .lock()
            .unwrap()
            .push((rmgr as u8, info, xid, main_data.to_vec()));
        Lsn(self.lsn.fetch_add(100, Ordering::SeqCst) + 100)
    }
    fn flush(&self, _upto: Lsn) -> std::io::Result<()> {
        Ok(())
    }
    fn wake_writer(&self) {}
    fn flushed_lsn(&self) -> Lsn {
        Lsn(self.lsn.load(Ordering::SeqCst))
    }
}

struct Env {
    shm: TestShmem,
    transam: Transam,
    locks: LockTable,
    dir: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(name: &str) -> (Env, &'static TestWal) {
    let dir = std::env::temp_dir().join(format!("ferrogres-xact-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = small_settings();
    settings.set_internal("data_directory", dir.to_str().unwrap());
    let shm = TestShmem::new(settings, &[TRANSAM_REGION, CLOG_REGION, LockTable::REGION]);
    let wal: &'static TestWal = Box::leak(Box::default());
    // SAFETY: regions 1..=3 were initialised as listed, for these settings.
    let (transam, locks) = unsafe {
        (
            Transam::from_raw(
                shm.region(1),
                shm.region(2),
                &shm.settings,
                shm.procarray(),
                wal,
            ),
            LockTable::from_raw(shm.region(3), &shm.settings, shm.procarray()),
        )
    };
    (
        Env {
            shm,
            transam,
            locks,
            dir,
        },
        wal,
    )
}

impl Env {
    fn backend(&self) -> TransactionState {
        let slot: &'static ProcSlot = self.shm.claim();
        TransactionState::new(self.transam, slot, LockManager::new(self.locks, slot))
    }
}

#[test]
fn xids_are_unique_across_processes_and_cross_clog_pages() {
    let (env, _) = setup("unique");
    let start = CLOG_XACTS_PER_PAGE - 150;
    env.transam.set_next_xid(Xid(start));
    const PER_CHILD: usize = 100;
    const CHILDREN: usize = 4;
    let out = shared_counters(PER_CHILD * CHILDREN);
    let children: Vec<_> = (0..CHILDREN)
        .map(|c| {
            let env = &env;
            fork_child(move || {
                let mut tx = env.backend();
                for i in 0..PER_CHILD {
                    tx.begin();
                    let xid = tx.xid_for_write().unwrap();
                    out[c * PER_CHILD + i].store(xid.0 as u32, Ordering::SeqCst);
                    if i % 2 == 0 {
                        tx.commit(true);
                    } else {
                        tx.abort();
                    }
                }
                0
            })
        })
        .collect();
    for c in children {
        assert_eq!(wait_child(c), 0);
    }
    let mut xids: Vec<u64> = out
        .iter()
        .map(|x| x.load(Ordering::SeqCst) as u64)
        .collect();
    xids.sort();
    xids.dedup();
    assert_eq!(
        xids.len(),
        PER_CHILD * CHILDREN,
        "every xid handed out once"
    );
    assert_eq!(xids[0], start);
    assert_eq!(
        env.transam.next_xid(),
        Xid(start + (PER_CHILD * CHILDREN) as u64)
    );
    // Statuses were recorded on both pages, as each child decided.
    for (c_i, x) in out.iter().enumerate() {
        let xid = Xid(x.load(Ordering::SeqCst) as u64);
        let want = if (c_i % PER_CHILD) % 2 == 0 {
            XidStatus::Committed
        } else {
            XidStatus::Aborted
        };
        assert_eq!(env.transam.status(xid), want, "xid {xid}");
    }
}

#[test]
fn clog_status_survives_write_back_and_reread_from_pg_xact_files() {
    let (env, _) = setup("clog");
    let clog = env.transam.clog;
    // More pages than cache slots, on two segments: forces evictions.
    let pages: Vec<u64> = (0..clog.slot_count() as u64 + 8)
        .chain([SLRU_PAGES_PER_SEGMENT + 1])
        .collect();
    let child = fork_child(|| {
        for &p in &pages {
            let base = p * CLOG_XACTS_PER_PAGE;
            let wal = env.transam.wal;
            clog.set_status(&[Xid(base + 3)], ClogStatus::Committed, Lsn(5), wal)
                .unwrap();
            clog.set_status(
                &[Xid(base + 4), Xid(base + 7)],
                ClogStatus::Aborted,
                Lsn::INVALID,
                wal,
            )
            .unwrap();
        }
        0
    });
    assert_eq!(wait_child(child), 0);
    let check = |when: &str| {
        for &p in &pages {
            let base = p * CLOG_XACTS_PER_PAGE;
            assert_eq!(
                env.transam.clog_status(Xid(base + 3)).unwrap(),
                ClogStatus::Committed,
                "{when} page {p}"
            );
            assert_eq!(
                env.transam.clog_status(Xid(base + 4)).unwrap(),
                ClogStatus::Aborted,
                "{when} page {p}"
            );
            assert_eq!(
                env.transam.clog_status(Xid(base + 5)).unwrap(),
                ClogStatus::InProgress,
                "{when} page {p}"
            );
            assert_eq!(
                env.transam.clog_status(Xid(base + 7)).unwrap(),
                ClogStatus::Aborted,
                "{when} page {p}"
            );
        }
    };
    check("cached");
    env.transam.clog_checkpoint().unwrap();
    clog.drop_cache();
    check("re-read");
    let seg0 = env.dir.join("pg_xact").join("0000");
    let seg1 = env.dir.join("pg_xact").join("0001");
    assert_eq!(segment_name(0x1A), "001A");
    assert!(
        seg0.exists() && seg1.exists(),
        "PostgreSQL-named segment files"
    );
    let last_in_seg1 = pages
        .iter()
        .filter(|&&p| p / SLRU_PAGES_PER_SEGMENT == 1)
        .max()
        .unwrap();
    assert_eq!(
        std::fs::metadata(&seg1).unwrap().len(),
        (last_in_seg1 - SLRU_PAGES_PER_SEGMENT + 1) * 8192,
        "page N of a segment at offset N * 8 KiB"
    );
    // Byte layout as PostgreSQL's: xid 3 is bits 6-7 of byte 0.
    let bytes = std::fs::read(&seg0).unwrap();
    assert_eq!(bytes[0], 0b01 << 6);
    assert_eq!(bytes[1], 0b10 | (0b10 << 6));
}

#[test]
fn snapshot_sees_running_xids_and_subxids_in_progress_and_committed_ones_committed() {
    let (env, _) = setup("snapshot");
    let sync = shared_counters(4); // [child xid, child subxid, parent says go, child phase]
    let child = fork_child(|| {
        let mut tx = env.backend();
        tx.begin();
        let xid = tx.xid_for_write().unwrap();
        let level = tx.savepoint();
        let sub = tx.xid_for_write().unwrap();
        if sub <= xid || !tx.is_current_xid(sub) {
            return 2;
        }
        sync[0].store(xid.0 as u32, Ordering::SeqCst);
        sync[1].store(sub.0 as u32, Ordering::SeqCst);
        if !wait_until(Duration::from_secs(10), || {
            sync[2].load(Ordering::SeqCst) == 1
        }) {
            return 3;
        }
        tx.rollback_to_savepoint(level);
        if tx.is_current_xid(sub) {
            return 4;
        }
        sync[3].store(1, Ordering::SeqCst);
        if !wait_until(Duration::from_secs(10), || {
            sync[2].load(Ordering::SeqCst) == 2
        }) {
            return 5;
        }
        tx.commit(false);
        0
    });
    assert!(wait_until(Duration::from_secs(10), || sync[1]
        .load(Ordering::SeqCst)
        != 0));
    let xid = Xid(sync[0].load(Ordering::SeqCst) as u64);
    let sub = Xid(sync[1].load(Ordering::SeqCst) as u64);

    let mut me = env.backend();
    me.begin();
    let snap = me.snapshot();
    assert_eq!(snap.xip, vec![xid, sub]);
    assert_eq!(snap.xmin, xid);
    assert_eq!(snap.xmax, env.transam.next_xid());
    assert!(snap.xid_in_snapshot(xid) && snap.xid_in_snapshot(sub));
    assert_eq!(env.transam.status(xid), XidStatus::InProgress);
    assert_eq!(env.transam.status(sub), XidStatus::InProgress);
    assert!(env.transam.oldest_xmin() <= xid);
    let my_slot_xmin = env
        .shm
        .procarray()
        .find(std::process::id() as i32)
        .unwrap()
        .xmin
        .load(Ordering::SeqCst);
    assert_eq!(
        my_slot_xmin, xid.0,
        "snapshot xmin published in the slot for vacuum"
    );

    sync[2].store(1, Ordering::SeqCst); // child: ROLLBACK TO
    assert!(wait_until(Duration::from_secs(10), || sync[3]
        .load(Ordering::SeqCst)
        == 1));
    assert_eq!(env.transam.status(sub), XidStatus::Aborted);
    assert_eq!(env.transam.status(xid), XidStatus::InProgress);
    assert_eq!(me.snapshot().xip, vec![xid]);

    sync[2].store(2, Ordering::SeqCst); // child: COMMIT (asynchronous)
    assert_eq!(wait_child(child), 0);
    assert_eq!(env.transam.status(xid), XidStatus::Committed);
    assert_eq!(env.transam.status(sub), XidStatus::Aborted);
    assert!(
        snap.xid_in_snapshot(xid),
        "the old snapshot still sees it running"
    );
    me.reset_xmin();
    let later = me.snapshot();
    assert!(later.xip.is_empty());
    assert!(!later.xid_in_snapshot(xid));
    me.commit(true);
    assert_eq!(
        env.transam.oldest_xmin(),
        env.transam.next_xid(),
        "nothing holds vacuum back"
    );
}

#[test]
fn released_savepoint_commits_with_its_parent_in_one_record() {
    let (env, wal) = setup("release");
    let mut tx = env.backend();
    tx.begin();
    let top = tx.xid_for_write().unwrap();
    let l1 = tx.savepoint();
    let s1 = tx.xid_for_write().unwrap();
    let l2 = tx.savepoint();
    let s2 = tx.xid_for_write().unwrap();
    tx.release_savepoint(l2);
    assert_eq!(tx.xid_for_write().unwrap(), s1, "back in savepoint 1");
    tx.release_savepoint(l1);
    assert_eq!(tx.xid_for_write().unwrap(), top);
    let snap = tx.snapshot();
    assert!(snap.is_own_xid(s1) && snap.is_own_xid(s2) && snap.is_own_xid(top));
    tx.commit(true);
    for x in [top, s1, s2] {
        assert_eq!(env.transam.status(x), XidStatus::Committed);
    }
    let records = wal.records.lock().unwrap();
    let (rmgr, info, xid, data) = records.last().unwrap();
    assert_eq!(
        (*rmgr, *info, *xid),
        (RmgrId::Xact as u8, XLOG_XACT_COMMIT, top)
    );
    let rec = XactRecord::decode(data).unwrap();
    assert_eq!(rec.xid, top);
    let mut subs = rec.subxids.clone();
    subs.sort();
    assert_eq!(subs, vec![s1, s2]);
}

#[test]
fn redo_rebuilds_pg_xact_and_next_xid_from_the_records() {
    let (env, wal) = setup("redo-src");
    let mut tx = env.backend();
    let mut expected = Vec::new();
    for i in 0..5 {
        tx.begin();
        let x = tx.xid_for_write().unwrap();
        let lvl = tx.savepoint();
        let s = tx.xid_for_write().unwrap();
        if i == 2 {
            tx.rollback_to_savepoint(lvl);
            expected.push((s, XidStatus::Aborted));
        }
        if i % 2 == 0 {
            tx.commit(true);
            expected.push((x, XidStatus::Committed));
            if i != 2 {
                expected.push((s, XidStatus::Committed));
            }
        } else {
            tx.abort();
            expected.push((x, XidStatus::Aborted));
            expected.push((s, XidStatus::Aborted));
        }
    }
    let (fresh, _) = setup("redo-dst");
    for (rmgr, info, _xid, data) in wal.records.lock().unwrap().iter() {
        if *rmgr == RmgrId::Xact as u8 {
            fresh.transam.xact_redo(*info, data);
        } else {
            assert_eq!(*rmgr, RmgrId::Clog as u8);
            fresh.transam.clog_redo(*info, data);
        }
    }
    for (x, st) in expected {
        assert_eq!(fresh.transam.status(x), st, "xid {x} after redo");
    }
    assert_eq!(fresh.transam.next_xid(), env.transam.next_xid());
}

#[test]
fn writer_waits_for_the_other_transaction_through_its_xid_lock() {
    let (env, _) = setup("xactwait");
    let sync = shared_counters(1);
    let child = fork_child(|| {
        let mut tx = env.backend();
        tx.begin();
        let xid = tx.xid_for_write().unwrap();
        sync[0].store(xid.0 as u32, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        tx.commit(true);
        0
    });
    assert!(wait_until(Duration::from_secs(10), || sync[0]
        .load(Ordering::SeqCst)
        != 0));
    let other = Xid(sync[0].load(Ordering::SeqCst) as u64);
    let mut me = env.backend();
    me.begin();
    assert!(
        !me.conditional_xact_lock_table_wait(other).unwrap(),
        "NOWAIT sees it running"
    );
    let start = Instant::now();
    me.xact_lock_table_wait(other, &mut || Ok(())).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        env.transam.status(other),
        XidStatus::Committed,
        "woken only once it has committed"
    );
    assert_eq!(wait_child(child), 0);
    me.commit(true);
}

#[test]
fn subtransactions_that_write_are_limited_to_the_cache_size() {
    let (env, _) = setup("sublimit");
    let mut tx = env.backend();
    tx.begin();
    tx.xid_for_write().unwrap();
    for _ in 0..MAX_CACHED_SUBXIDS {
        tx.savepoint();
        tx.xid_for_write().unwrap();
    }
    let lvl = tx.savepoint();
    let err = tx.xid_for_write().unwrap_err();
    assert_eq!(err.sqlstate, "54000");
    // Rolling back frees room.
    tx.rollback_to_savepoint(lvl - 1);
    tx.xid_for_write().unwrap();
    tx.abort();
    assert_eq!(env.transam.oldest_xmin(), env.transam.next_xid());
    assert_eq!(tx.locks.held_count(), 0);
}
