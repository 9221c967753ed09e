//! B-tree tests on real shared memory, files and WAL (the heap tests'
//! environment): ordering, splits at several levels, duplicates, bulk
//! delete, concurrent inserters in forked processes, and WAL replay into
//! a fresh pool.

use std::cmp::Ordering;

use super::page::{BtMeta, KeyOrder};
use super::redo::bt_redo_with;
use super::tree::{BtreeRelation, bt_bulk_delete, bt_check, bt_create, bt_insert, bt_scan};
use crate::storage::heap::access::HeapStorage;
use crate::storage::heap::access::tests::{Env, new_pool};
use crate::storage::lock::lmgr::testshm::{fork_child, wait_child};
use crate::storage::page::{ItemPointer, Page};
use crate::storage::types::{BufferTag, ForkNumber, RelFileLocator};
use crate::storage::wal::RmgrId;

/// Keys are i32s, little-endian, compared as integers.
struct Int4Order;

impl KeyOrder for Int4Order {
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        key_of(a).cmp(&key_of(b))
    }
}

fn key(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn key_of(b: &[u8]) -> i32 {
    i32::from_le_bytes(b.try_into().expect("4-byte key"))
}

/// Keys of `len` bytes starting with an i32: wide tuples make many levels.
struct WideOrder;

impl KeyOrder for WideOrder {
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        key_of(&a[..4])
            .cmp(&key_of(&b[..4]))
            .then(a[4..].cmp(&b[4..]))
    }
}

fn wide(v: i32, len: usize) -> Vec<u8> {
    let mut k = key(v);
    k.resize(len, b'w');
    k
}

fn index(rel_number: u32) -> BtreeRelation {
    BtreeRelation {
        oid: rel_number,
        db_oid: 5,
        name: format!("i{rel_number}"),
        locator: RelFileLocator {
            spc_oid: 1663,
            db_oid: 5,
            rel_number,
        },
    }
}

fn tid(i: i32) -> ItemPointer {
    ItemPointer::new(i as u32 / 100, (i % 100) as u16 + 1)
}

/// A permutation of 0..n (a fixed multiplicative shuffle).
fn shuffled(n: i32) -> Vec<i32> {
    let mut v: Vec<i32> = (0..n).collect();
    let mut x: u64 = 0x9e37_79b9;
    for i in (1..v.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.swap(i, (x >> 33) as usize % (i + 1));
    }
    v
}

fn all_entries(
    s: &HeapStorage<'_>,
    rel: &BtreeRelation,
    order: &dyn KeyOrder,
) -> Vec<(Vec<u8>, ItemPointer)> {
    let mut out = Vec::new();
    bt_scan(s, rel, order, None, &mut |k, t| {
        out.push((k.to_vec(), t));
        Ok(true)
    })
    .unwrap();
    out
}

fn meta(s: &HeapStorage<'_>, rel: &BtreeRelation) -> BtMeta {
    let pin = s
        .pool
        .read_buffer(BufferTag {
            rel: rel.locator,
            fork: ForkNumber::Main,
            block: 0,
        })
        .unwrap();
    let g = pin.lock_shared();
    BtMeta::read(&Page::new(g.page())).unwrap()
}

#[test]
fn keys_inserted_in_random_order_scan_back_sorted_through_several_levels() {
    let env = Env::new("bt-order", 64, false);
    let s = env.heap();
    let rel = index(17001);
    bt_create(&s, &rel).unwrap();
    assert_eq!(all_entries(&s, &rel, &Int4Order), vec![]);
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), 0);
    let n = 30_000;
    for v in shuffled(n) {
        bt_insert(&s, &rel, &Int4Order, key(v), tid(v)).unwrap();
    }
    assert!(
        meta(&s, &rel).level >= 1,
        "30000 entries need more than a root leaf"
    );
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), n as u64);
    let got = all_entries(&s, &rel, &Int4Order);
    let want: Vec<(Vec<u8>, ItemPointer)> = (0..n).map(|v| (key(v), tid(v))).collect();
    assert_eq!(got, want);

    // A scan from a key starts at the first entry not below it.
    let mut from = Vec::new();
    bt_scan(&s, &rel, &Int4Order, Some(&key(12_345)), &mut |k, _| {
        from.push(key_of(k));
        Ok(from.len() < 3)
    })
    .unwrap();
    assert_eq!(from, vec![12_345, 12_346, 12_347]);
    let mut past_end = 0;
    bt_scan(&s, &rel, &Int4Order, Some(&key(n + 5)), &mut |_, _| {
        past_end += 1;
        Ok(true)
    })
    .unwrap();
    assert_eq!(past_end, 0);
}

#[test]
fn wide_keys_split_internal_pages_and_grow_new_roots() {
    let env = Env::new("bt-wide", 64, false);
    let s = env.heap();
    let rel = index(17002);
    bt_create(&s, &rel).unwrap();
    // ~900-byte keys: 8 per page, so internal pages split too.
    let n = 3_000;
    for v in shuffled(n) {
        bt_insert(&s, &rel, &WideOrder, wide(v, 900), tid(v)).unwrap();
    }
    assert!(meta(&s, &rel).level >= 3, "level {}", meta(&s, &rel).level);
    assert_eq!(bt_check(&s, &rel, &WideOrder).unwrap(), n as u64);
    let got: Vec<i32> = all_entries(&s, &rel, &WideOrder)
        .iter()
        .map(|(k, _)| key_of(&k[..4]))
        .collect();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    // Too large a key is 54000, and nothing changes.
    let e = bt_insert(&s, &rel, &WideOrder, wide(1, 3000), tid(1)).unwrap_err();
    assert_eq!(e.sqlstate, "54000");
    assert_eq!(bt_check(&s, &rel, &WideOrder).unwrap(), n as u64);
}

#[test]
fn equal_keys_are_ordered_by_heap_tid_and_bulk_delete_removes_exactly_the_dead() {
    let env = Env::new("bt-dups", 64, false);
    let s = env.heap();
    let rel = index(17003);
    bt_create(&s, &rel).unwrap();
    // 10 distinct keys, 2000 entries each, tids shuffled.
    for i in shuffled(20_000) {
        bt_insert(&s, &rel, &Int4Order, key(i % 10), tid(i)).unwrap();
    }
    let got = all_entries(&s, &rel, &Int4Order);
    assert_eq!(got.len(), 20_000);
    for w in got.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert!(
            (key_of(&a.0), a.1) < (key_of(&b.0), b.1),
            "entries out of (key, tid) order"
        );
    }
    // A key's entries from its first one.
    let mut sevens = 0;
    bt_scan(&s, &rel, &Int4Order, Some(&key(7)), &mut |k, _| {
        if key_of(k) != 7 {
            return Ok(false);
        }
        sevens += 1;
        Ok(true)
    })
    .unwrap();
    assert_eq!(sevens, 2000);
    // The same tid twice is refused (the caller's bug).
    assert!(bt_insert(&s, &rel, &Int4Order, key(3), tid(3)).is_err());

    let removed = bt_bulk_delete(&s, &rel, &Int4Order, &mut |t| {
        (t.block() * 100 + t.offset() as u32 - 1) % 3 == 0
    })
    .unwrap();
    let left = all_entries(&s, &rel, &Int4Order);
    assert_eq!(removed as usize + left.len(), 20_000);
    assert!(
        left.iter()
            .all(|(_, t)| (t.block() * 100 + t.offset() as u32 - 1) % 3 != 0)
    );
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), left.len() as u64);
    // Inserting into cleaned pages works.
    for i in 0..3000 {
        if i % 3 == 0 {
            bt_insert(&s, &rel, &Int4Order, key(i % 10), tid(i)).unwrap();
        }
    }
    assert_eq!(
        bt_check(&s, &rel, &Int4Order).unwrap(),
        left.len() as u64 + 1000
    );
}

#[test]
fn concurrent_inserters_in_four_processes_lose_nothing() {
    let env = Env::new("bt-concurrent", 64, false);
    let s = env.heap();
    let rel = index(17004);
    bt_create(&s, &rel).unwrap();
    let per = 6_000;
    let children: Vec<_> = (0..4)
        .map(|p| {
            let rel = rel.clone();
            fork_child(move || {
                // Interleaved keys: every process splits the same pages.
                for i in 0..per {
                    let v = i * 4 + p;
                    if bt_insert(&s, &rel, &Int4Order, key(v), tid(v)).is_err() {
                        return 1;
                    }
                }
                0
            })
        })
        .collect();
    for c in children {
        assert_eq!(wait_child(c), 0, "an inserter failed");
    }
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), 4 * per as u64);
    let got: Vec<i32> = all_entries(&s, &rel, &Int4Order)
        .iter()
        .map(|(k, _)| key_of(k))
        .collect();
    assert_eq!(got, (0..4 * per).collect::<Vec<_>>());
}

#[test]
fn replaying_the_wal_into_a_fresh_pool_rebuilds_the_index() {
    let env = Env::new("bt-redo", 64, false);
    let s = env.heap();
    let rel = index(17005);
    bt_create(&s, &rel).unwrap();
    for v in shuffled(8_000) {
        bt_insert(&s, &rel, &Int4Order, key(v), tid(v)).unwrap();
    }
    bt_bulk_delete(&s, &rel, &Int4Order, &mut |t| t.offset() % 7 == 0).unwrap();
    // Entries a scan found dead: XLOG_BTREE_DELETE records.
    let mut killed = 0;
    for v in (0..8_000).step_by(13) {
        killed += super::tree::bt_delete_entries(&s, &rel, &Int4Order, &key(v), &|_| true).unwrap();
    }
    assert!(killed > 500);
    let expected = all_entries(&s, &rel, &Int4Order);

    // Throw the buffers and the file away, then replay everything.
    env.pool.drop_relation_buffers(rel.locator).unwrap();
    env.pool.smgr().unlink(rel.locator).unwrap();
    let fresh = HeapStorage {
        pool: new_pool(env.dir.path(), 64, false),
        wal: env.wal,
    };
    let replay = |fresh: &HeapStorage<'_>| {
        for rec in env.records_from(env.wal_start) {
            match rec.rmgr {
                RmgrId::Btree => bt_redo_with(fresh.pool, &rec).unwrap(),
                RmgrId::Storage => fresh.redo(&rec).unwrap(),
                _ => {}
            }
        }
    };
    replay(&fresh);
    assert_eq!(
        bt_check(&fresh, &rel, &Int4Order).unwrap(),
        expected.len() as u64
    );
    assert_eq!(all_entries(&fresh, &rel, &Int4Order), expected);
    // Idempotent: again on top, and from written pages.
    replay(&fresh);
    assert_eq!(all_entries(&fresh, &rel, &Int4Order), expected);
    fresh.pool.flush_relation(rel.locator).unwrap();
    fresh.pool.drop_relation_buffers(rel.locator).unwrap();
    replay(&fresh);
    assert_eq!(all_entries(&fresh, &rel, &Int4Order), expected);
    // The rebuilt index takes inserts.
    bt_insert(&fresh, &rel, &Int4Order, key(100_000), tid(9)).unwrap();
    assert_eq!(
        bt_check(&fresh, &rel, &Int4Order).unwrap(),
        expected.len() as u64 + 1
    );
}

#[test]
fn the_check_reports_items_out_of_order_and_broken_links() {
    use super::page::{BtPageOpaque, data_items, high_key, rebuild_page};
    let env = Env::new("bt-check", 64, false);
    let s = env.heap();
    let rel = index(17006);
    bt_create(&s, &rel).unwrap();
    for v in 0..2000 {
        bt_insert(&s, &rel, &Int4Order, key(v), tid(v)).unwrap();
    }
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), 2000);
    let tag = |block| BufferTag {
        rel: rel.locator,
        fork: ForkNumber::Main,
        block,
    };
    // Block 1 was the first root leaf: now the leftmost leaf.
    let corrupt = |f: &dyn Fn(&mut BtPageOpaque, &mut Vec<super::page::IndexTuple>)| {
        let pin = s.pool.read_buffer(tag(1)).unwrap();
        let mut g = pin.lock_exclusive();
        let mut page = Page::new(g.page_mut());
        let mut o = BtPageOpaque::read(&page);
        let hk = high_key(&page);
        let mut items = data_items(&page);
        f(&mut o, &mut items);
        rebuild_page(&mut page, o, hk.as_ref(), &items);
        g.mark_dirty();
    };
    corrupt(&|_, items| items.swap(3, 4));
    let e = bt_check(&s, &rel, &Int4Order).unwrap_err();
    assert_eq!(e.sqlstate, "XX002");
    assert!(e.message.contains("out of order"), "{}", e.message);
    corrupt(&|_, items| items.swap(3, 4));
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), 2000);
    corrupt(&|o, _| o.prev = 7);
    let e = bt_check(&s, &rel, &Int4Order).unwrap_err();
    assert!(e.message.contains("left link"), "{}", e.message);
}

#[test]
fn deleting_one_keys_dead_entries_spans_leaves_and_spares_other_keys() {
    let env = Env::new("bt-kill", 64, false);
    let s = env.heap();
    let rel = index(17007);
    bt_create(&s, &rel).unwrap();
    // 10 keys of 2000 entries each: key 7's run covers several leaves.
    for i in shuffled(20_000) {
        bt_insert(&s, &rel, &Int4Order, key(i % 10), tid(i)).unwrap();
    }
    let odd = |t: ItemPointer| t.block() % 2 == 1;
    let removed = super::tree::bt_delete_entries(&s, &rel, &Int4Order, &key(7), &odd).unwrap();
    let left = all_entries(&s, &rel, &Int4Order);
    assert_eq!(removed as usize + left.len(), 20_000);
    assert!(removed > 0);
    // Only key 7's odd-offset entries went; every other key kept its own.
    assert!(!left.iter().any(|(k, t)| key_of(k) == 7 && odd(*t)));
    assert_eq!(left.iter().filter(|(k, _)| key_of(k) != 7).count(), 18_000);
    assert_eq!(bt_check(&s, &rel, &Int4Order).unwrap(), left.len() as u64);
    // A key with no entries removes nothing.
    assert_eq!(
        super::tree::bt_delete_entries(&s, &rel, &Int4Order, &key(42), &odd).unwrap(),
        0
    );
}

/// A leaf entry's header is PostgreSQL's 8 bytes; an internal item adds its
/// child block; every field survives the round trip.
#[test]
fn index_tuples_encode_compactly_and_round_trip() {
    use super::page::{IndexTuple, MINUS_INFINITY};
    let leaf = IndexTuple::leaf(key(42), ItemPointer::new(7, 3));
    let b = leaf.encode();
    assert_eq!(b.len(), 8 + 4);
    assert_eq!(crate::storage::page::maxalign(b.len()), 16);
    assert_eq!(IndexTuple::decode(&b), leaf);
    let pivot = IndexTuple {
        tid: ItemPointer::new(9, 1),
        child: 12,
        flags: MINUS_INFINITY,
        key: Vec::new(),
    };
    let b = pivot.encode();
    assert_eq!(b.len(), 12);
    assert_eq!(IndexTuple::decode(&b), pivot);
    let separator = IndexTuple {
        child: 5,
        flags: 0,
        ..IndexTuple::leaf(key(-1), ItemPointer::new(1, 2))
    };
    assert_eq!(IndexTuple::decode(&separator.encode()), separator);
}
