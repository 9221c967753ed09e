//! VACUUM on a private shared segment (the heap access tests' `Env`):
//! pruning, freezing, truncation, in-place updates, and their redo.

use super::*;
use crate::storage::heap::access::tests::{Env, new_pool, relation, row, scan_all, with_cx};
use crate::storage::heap::access::{RowLockMode, TmOutcome};
use crate::storage::page::ItemPointer;

fn no_interrupts() -> PgResult<()> {
    Ok(())
}

/// Every normal tuple's (tid, xmin frozen?) in the relation.
fn frozen_flags(heap: HeapStorage<'_>, rel: &HeapRelation) -> Vec<(ItemPointer, bool)> {
    let mut out = Vec::new();
    for blkno in 0..heap.nblocks(rel).unwrap() {
        let pin = heap.pool.read_buffer(main_tag(rel, blkno)).unwrap();
        let g = pin.lock_shared();
        let page = Page::new(g.page());
        for off in 1..=page.max_offset() {
            if page.item_id(off).is_normal() {
                let h = HeapTupleHeader::read(page.get_item(off));
                out.push((ItemPointer::new(blkno, off), h.xmin_frozen()));
            }
        }
    }
    out
}

#[test]
fn vacuum_frees_dead_tuples_freezes_the_rest_and_replay_rebuilds_the_same_table() {
    let env = Env::new("vacuum-redo", 32, false);
    let heap = env.heap();
    let rel = relation(7, 16500);
    heap.create_storage(&rel).unwrap();

    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tids: Vec<ItemPointer> = (0..600)
        .map(|i| {
            heap.insert(&rel, &row(i, 60 + (i % 7) as usize * 20), xid, 0)
                .unwrap()
        })
        .collect();
    tx.commit(true);
    tx.begin();
    with_cx(&env, &mut tx, None, |cx| {
        for (i, &tid) in tids.iter().enumerate() {
            let r = match i % 6 {
                0 => heap.delete(&rel, tid, cx).unwrap(),
                1 => {
                    heap.update(&rel, tid, &row(i as i32 + 10_000, 40), cx)
                        .unwrap()
                        .0
                }
                2 => heap.lock_tuple(&rel, tid, RowLockMode::Update, cx).unwrap(),
                _ => continue,
            };
            assert_eq!(r, TmOutcome::Ok);
        }
    });
    tx.commit(true);
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    for i in 0..40 {
        heap.insert(&rel, &row(-i, 100), xid, 0).unwrap();
    }
    tx.abort();

    tx.begin();
    let snap = tx.snapshot();
    let before = scan_all(heap, &rel, &snap, &env.transam);
    tx.commit(true);
    assert_eq!(before.len(), 500);
    let nblocks = heap.nblocks(&rel).unwrap();

    let opts = VacuumOptions {
        freeze: true,
        ..Default::default()
    };
    let cutoffs = Cutoffs::new(env.transam.oldest_xmin(), &opts);
    let mut cost = CostBalance::new(CostDelay::disabled());
    let r = heap
        .lazy_vacuum_heap(
            &rel,
            cutoffs,
            &env.transam,
            &mut cost,
            &mut no_interrupts,
            ProgressReporter::none(),
            None,
        )
        .unwrap();
    // 100 deleted + 100 old versions of updated rows + 40 aborted inserts.
    assert_eq!(r.tuples_removed, 240);
    assert_eq!(r.live_tuples, 500);
    assert_eq!(r.recently_dead_tuples, 0);
    assert_eq!(r.tuples_frozen, 500, "FREEZE freezes every survivor");
    assert_eq!(r.rel_pages, nblocks);
    assert!(r.wal_records > 0 && r.pages_with_removed > 0);
    assert!(r.new_relfrozenxid >= cutoffs.freeze_limit);
    assert!(frozen_flags(heap, &rel).iter().all(|(_, f)| *f));

    tx.begin();
    let snap = tx.snapshot();
    let after = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(after, before, "the same rows at the same tuple ids");
    tx.commit(true);

    // Freed space is reused: new rows fit without extending.
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    for i in 0..150 {
        heap.insert(&rel, &row(20_000 + i, 60), xid, 0).unwrap();
    }
    tx.commit(true);
    assert_eq!(
        heap.nblocks(&rel).unwrap(),
        nblocks,
        "the FSM led inserts to freed space"
    );

    tx.begin();
    let snap = tx.snapshot();
    let expected = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(expected.len(), 650);
    let flags = frozen_flags(heap, &rel);

    // Throw everything away and replay the WAL into a fresh pool.
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    env.pool.smgr().unlink(rel.locator).unwrap();
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 32, false),
        wal: env.wal,
    };
    env.replay(env.wal_start, fresh);
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), expected);
    assert_eq!(frozen_flags(fresh, &rel), flags);
    // The replay recorded the freed space in the map too.
    assert!(
        fsm::fsm_search(fresh.pool, rel.locator, 100, nblocks, None)
            .unwrap()
            .is_some()
            || fresh.nblocks(&rel).unwrap() == nblocks
    );
    // Replaying again on top of the result changes nothing (page LSNs).
    env.replay(env.wal_start, fresh);
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), expected);
    tx.commit(true);
}

#[test]
fn empty_pages_at_the_end_are_truncated_and_the_truncation_is_replayed() {
    let env = Env::new("vacuum-truncate", 32, false);
    let heap = env.heap();
    let rel = relation(7, 16501);
    heap.create_storage(&rel).unwrap();
    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tids: Vec<ItemPointer> = (0..400)
        .map(|i| heap.insert(&rel, &row(i, 300), xid, 0).unwrap())
        .collect();
    tx.commit(true);
    let nblocks = heap.nblocks(&rel).unwrap();
    assert!(nblocks > 10);
    tx.begin();
    with_cx(&env, &mut tx, None, |cx| {
        for &tid in &tids[100..] {
            assert_eq!(heap.delete(&rel, tid, cx).unwrap(), TmOutcome::Ok);
        }
    });
    tx.commit(true);

    let cutoffs = Cutoffs::new(env.transam.oldest_xmin(), &VacuumOptions::default());
    let mut cost = CostBalance::new(CostDelay::disabled());
    let r = heap
        .lazy_vacuum_heap(
            &rel,
            cutoffs,
            &env.transam,
            &mut cost,
            &mut no_interrupts,
            ProgressReporter::none(),
            None,
        )
        .unwrap();
    assert_eq!(r.tuples_removed, 300);
    assert_eq!(
        r.tuples_frozen, 0,
        "young tuples are not frozen without FREEZE"
    );
    assert!(r.nonempty_pages < nblocks);
    let keep = heap
        .count_nondeletable_pages(&rel, r.nonempty_pages)
        .unwrap();
    assert_eq!(keep, r.nonempty_pages);
    heap.truncate_heap(&rel, keep).unwrap();
    assert_eq!(heap.nblocks(&rel).unwrap(), keep);
    assert!(
        fsm::fsm_search(heap.pool, rel.locator, 100, nblocks, None)
            .unwrap()
            .is_none_or(|b| b < keep)
    );

    tx.begin();
    let snap = tx.snapshot();
    let expected = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(expected.len(), 100);
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    env.pool.smgr().unlink(rel.locator).unwrap();
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 32, false),
        wal: env.wal,
    };
    env.replay(env.wal_start, fresh);
    assert_eq!(
        fresh.nblocks(&rel).unwrap(),
        keep,
        "the truncation was replayed"
    );
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), expected);
    tx.commit(true);
}

#[test]
fn an_in_place_update_changes_data_only_and_is_replayed() {
    let env = Env::new("vacuum-inplace", 16, false);
    let heap = env.heap();
    let rel = relation(7, 16502);
    heap.create_storage(&rel).unwrap();
    let mut tx = env.backend();
    tx.begin();
    let xid = tx.xid_for_write().unwrap();
    let tid = heap.insert(&rel, &row(1, 20), xid, 0).unwrap();
    tx.commit(true);
    let mut new_values = row(2, 20);
    let newtup = crate::storage::heap::form_tuple(&rel.desc, &new_values).unwrap();
    heap.inplace_update(&rel, tid, &newtup).unwrap();
    let longer = crate::storage::heap::form_tuple(&rel.desc, &row(3, 40)).unwrap();
    assert!(
        heap.inplace_update(&rel, tid, &longer).is_err(),
        "length must not change"
    );

    tx.begin();
    let snap = tx.snapshot();
    let rows = scan_all(heap, &rel, &snap, &env.transam);
    assert_eq!(rows, vec![(tid, std::mem::take(&mut new_values))]);
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    env.pool.smgr().unlink(rel.locator).unwrap();
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 16, false),
        wal: env.wal,
    };
    env.replay(env.wal_start, fresh);
    assert_eq!(scan_all(fresh, &rel, &snap, &env.transam), rows);
    tx.commit(true);
}

#[test]
fn vacuum_page_records_round_trip() {
    let v = XlHeapVacuum {
        prune_xid: Xid(1 << 40),
        unused: vec![1, 5, 226],
        frozen: vec![2, 3],
    };
    assert_eq!(XlHeapVacuum::decode(&v.encode()), Some(v.clone()));
    let mut short = v.encode();
    short.pop();
    assert_eq!(XlHeapVacuum::decode(&short), None);
    let t = XlSmgrTruncate {
        rel: crate::storage::types::RelFileLocator {
            spc_oid: 0,
            db_oid: 5,
            rel_number: 16384,
        },
        nblocks: 17,
    };
    assert_eq!(XlSmgrTruncate::decode(&t.encode()), Some(t));
}

#[test]
fn cost_delay_sleeps_once_the_balance_reaches_the_limit_and_stays_cancellable() {
    let mut b = CostBalance::new(CostDelay {
        delay_ms: 20.0,
        limit: 10,
        page_hit: 1,
        page_miss: 2,
        page_dirty: 20,
    });
    b.charge_read(true);
    let t = Instant::now();
    b.delay_point(&mut no_interrupts).unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(10),
        "below the limit: no sleep"
    );
    b.charge_dirty();
    let t = Instant::now();
    b.delay_point(&mut no_interrupts).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(20),
        "slept delay × balance / limit (capped)"
    );
    b.charge_dirty();
    b.charge_dirty();
    let t = Instant::now();
    let mut calls = 0;
    let mut cancel = || {
        calls += 1;
        if calls > 1 {
            Err(PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to user request",
            ))
        } else {
            Ok(())
        }
    };
    let e = b.delay_point(&mut cancel).unwrap_err();
    assert_eq!(e.sqlstate, sqlstate::QUERY_CANCELED);
    assert!(
        t.elapsed() < Duration::from_millis(40),
        "a cancel cut the 80 ms sleep short"
    );
}
