//! Visibility truth tables. Transactions used throughout:
//!
//! | xid | fate                                                      |
//! |-----|-----------------------------------------------------------|
//! | 90  | committed long ago (below the snapshot's xmin)            |
//! | 91  | aborted                                                   |
//! | 92  | committed asynchronously, commit record not yet flushed   |
//! | 102 | running (in the snapshot's xip)                           |
//! | 103 | committed after the snapshot was taken (in xip)           |
//! | 120 | the snapshot owner's own transaction                      |
//! | 300 | committed, started after the snapshot (>= its xmax)       |

use std::collections::HashMap;

use super::*;
use crate::storage::heap::htup::{
    HEAP_XMAX_EXCL_LOCK, HEAP_XMAX_LOCK_ONLY, HEAP_XMIN_FROZEN, HEAP_XMIN_INVALID,
};

const OLD: Xid = Xid(90);
const ABORTED: Xid = Xid(91);
const NOT_DURABLE: Xid = Xid(92);
const RUNNING: Xid = Xid(102);
const LATE_COMMIT: Xid = Xid(103);
const ME: Xid = Xid(120);
const FUTURE: Xid = Xid(300);
const NONE: Xid = Xid::INVALID;

struct Clog(HashMap<Xid, XidStatus>);

impl XactStatus for Clog {
    fn status(&self, xid: Xid) -> XidStatus {
        assert!(xid.is_normal(), "asked about special xid {xid}");
        *self
            .0
            .get(&xid)
            .unwrap_or_else(|| panic!("unknown xid {xid}"))
    }
    fn commit_is_durable(&self, xid: Xid) -> bool {
        xid != NOT_DURABLE
    }
}

fn clog() -> Clog {
    use XidStatus::*;
    Clog(HashMap::from([
        (OLD, Committed),
        (ABORTED, Aborted),
        (NOT_DURABLE, Committed),
        (RUNNING, InProgress),
        (LATE_COMMIT, Committed),
        (ME, InProgress),
        (FUTURE, Committed),
    ]))
}

fn snapshot(curcid: CommandId) -> Snapshot {
    Snapshot {
        xmin: Xid(100),
        xmax: Xid(150),
        xip: vec![RUNNING, LATE_COMMIT],
        curxid: ME,
        curcid,
        own_subxids: Vec::new(),
    }
}

/// A tuple as heap_insert leaves it, then deleted/locked by `xmax`.
fn tup(xmin: Xid, xmax: Xid, cid: CommandId, infomask: u16) -> HeapTupleHeader {
    let mut infomask = infomask;
    if !xmax.is_valid() {
        infomask |= HEAP_XMAX_INVALID;
    }
    HeapTupleHeader {
        t_xmin: xmin,
        t_xmax: xmax,
        t_cid: cid,
        t_ctid: SELF_TID,
        t_infomask2: 1,
        t_infomask: infomask,
        t_hoff: 32,
    }
}

const SELF_TID: ItemPointer = ItemPointer::new(4, 2);
const LOCK: u16 = HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK;
const XMIN_C: u16 = HEAP_XMIN_COMMITTED;
const XMAX_C: u16 = HEAP_XMAX_COMMITTED;
const XMAX_I: u16 = HEAP_XMAX_INVALID;
const XMIN_I: u16 = HEAP_XMIN_INVALID;

#[test]
fn mvcc_truth_table() {
    // (case, tuple, curcid, visible, hints)
    let cases: &[(&str, HeapTupleHeader, CommandId, bool, u16)] = &[
        ("committed insert", tup(OLD, NONE, 0, 0), 0, true, XMIN_C),
        (
            "committed insert, hinted",
            tup(OLD, NONE, 0, XMIN_C),
            0,
            true,
            0,
        ),
        ("aborted insert", tup(ABORTED, NONE, 0, 0), 0, false, XMIN_I),
        (
            "aborted insert, hinted",
            tup(ABORTED, NONE, 0, XMIN_I),
            0,
            false,
            0,
        ),
        ("insert in progress", tup(RUNNING, NONE, 0, 0), 0, false, 0),
        (
            "insert committed after snapshot",
            tup(LATE_COMMIT, NONE, 0, 0),
            0,
            false,
            0,
        ),
        (
            "insert committed after snapshot, hinted",
            tup(LATE_COMMIT, NONE, 0, XMIN_C),
            0,
            false,
            0,
        ),
        (
            "insert by xid >= snapshot xmax",
            tup(FUTURE, NONE, 0, 0),
            0,
            false,
            0,
        ),
        (
            "frozen beats the snapshot",
            tup(LATE_COMMIT, NONE, 0, HEAP_XMIN_FROZEN),
            0,
            true,
            0,
        ),
        (
            "xmin FrozenTransactionId",
            tup(Xid::FROZEN, NONE, 0, 0),
            0,
            true,
            XMIN_C,
        ),
        (
            "xmin BootstrapTransactionId",
            tup(Xid::BOOTSTRAP, NONE, 0, 0),
            0,
            true,
            XMIN_C,
        ),
        (
            "commit not flushed: no hint",
            tup(NOT_DURABLE, NONE, 0, 0),
            0,
            true,
            0,
        ),
        (
            "own insert, earlier command",
            tup(ME, NONE, 2, 0),
            3,
            true,
            0,
        ),
        ("own insert, this command", tup(ME, NONE, 3, 0), 3, false, 0),
        (
            "own insert, later command",
            tup(ME, NONE, 4, 0),
            3,
            false,
            0,
        ),
        ("own insert, own row lock", tup(ME, ME, 2, LOCK), 3, true, 0),
        (
            "own insert+delete, delete by this command",
            tup(ME, ME, 3, 0),
            3,
            true,
            0,
        ),
        (
            "own insert+delete, delete by earlier command",
            tup(ME, ME, 3, 0),
            4,
            false,
            0,
        ),
        (
            "own insert, deleter aborted",
            tup(ME, ABORTED, 2, 0),
            3,
            true,
            XMAX_I,
        ),
        (
            "committed insert, own delete this command",
            tup(OLD, ME, 5, XMIN_C),
            5,
            true,
            0,
        ),
        (
            "committed insert, own delete earlier command",
            tup(OLD, ME, 5, XMIN_C),
            6,
            false,
            0,
        ),
        (
            "delete committed",
            tup(OLD, OLD, 0, XMIN_C),
            0,
            false,
            XMAX_C,
        ),
        (
            "delete committed, hinted",
            tup(OLD, OLD, 0, XMIN_C | XMAX_C),
            0,
            false,
            0,
        ),
        (
            "delete committed, not flushed",
            tup(OLD, NOT_DURABLE, 0, XMIN_C),
            0,
            false,
            0,
        ),
        (
            "delete aborted",
            tup(OLD, ABORTED, 0, XMIN_C),
            0,
            true,
            XMAX_I,
        ),
        (
            "delete in progress",
            tup(OLD, RUNNING, 0, XMIN_C),
            0,
            true,
            0,
        ),
        (
            "delete committed after snapshot",
            tup(OLD, LATE_COMMIT, 0, XMIN_C),
            0,
            true,
            0,
        ),
        (
            "delete committed after snapshot, hinted",
            tup(OLD, LATE_COMMIT, 0, XMIN_C | XMAX_C),
            0,
            true,
            0,
        ),
        (
            "delete by xid >= snapshot xmax",
            tup(OLD, FUTURE, 0, XMIN_C),
            0,
            true,
            0,
        ),
        (
            "row lock by committed xact",
            tup(OLD, OLD, 0, XMIN_C | LOCK),
            0,
            true,
            0,
        ),
        (
            "row lock in progress",
            tup(OLD, RUNNING, 0, XMIN_C | LOCK),
            0,
            true,
            0,
        ),
        (
            "row lock by own xact",
            tup(OLD, ME, 0, XMIN_C | LOCK),
            9,
            true,
            0,
        ),
        (
            "insert in progress, deleted by committed (impossible order)",
            tup(RUNNING, OLD, 0, 0),
            0,
            false,
            0,
        ),
    ];
    let clog = clog();
    for (case, t, curcid, visible, hints) in cases {
        let got = satisfies_mvcc(t, &snapshot(*curcid), &clog);
        assert_eq!(got, (*visible, HintBits(*hints)), "{case}");
    }
}

#[test]
fn read_only_snapshot_has_no_own_tuples() {
    let snap = Snapshot {
        curxid: Xid::INVALID,
        ..snapshot(0)
    };
    // A tuple whose xmax was never set must not count as "deleted by me".
    let t = tup(OLD, NONE, 0, XMIN_C);
    assert_eq!(satisfies_mvcc(&t, &snap, &clog()), (true, HintBits::NONE));
}

#[test]
fn snapshot_xip_membership() {
    let s = snapshot(0);
    assert!(!s.xid_in_snapshot(Xid(99)), "below xmin: finished");
    assert!(
        !s.xid_in_snapshot(Xid(101)),
        "in range, not in xip: finished"
    );
    assert!(s.xid_in_snapshot(RUNNING));
    assert!(s.xid_in_snapshot(Xid(150)), "at xmax: not yet started");
    assert!(!s.is_own_xid(Xid::INVALID));
    assert!(s.is_own_xid(ME));
}

#[test]
fn update_truth_table() {
    let moved = |mut t: HeapTupleHeader| {
        t.t_ctid = ItemPointer::new(9, 1);
        t
    };
    use TmResult::*;
    // (case, tuple, curcid, result, hints)
    let cases: &[(&str, HeapTupleHeader, CommandId, TmResult, u16)] = &[
        ("live", tup(OLD, NONE, 0, XMIN_C), 0, Ok, 0),
        ("live, xmin hinted now", tup(OLD, NONE, 0, 0), 0, Ok, XMIN_C),
        (
            "committed after our snapshot: not a snapshot check",
            tup(LATE_COMMIT, NONE, 0, 0),
            0,
            Ok,
            XMIN_C,
        ),
        (
            "insert in progress",
            tup(RUNNING, NONE, 0, 0),
            0,
            Invisible,
            0,
        ),
        (
            "insert aborted",
            tup(ABORTED, NONE, 0, 0),
            0,
            Invisible,
            XMIN_I,
        ),
        (
            "own insert by this command",
            tup(ME, NONE, 3, 0),
            3,
            Invisible,
            0,
        ),
        (
            "own insert by earlier command",
            tup(ME, NONE, 2, 0),
            3,
            Ok,
            0,
        ),
        ("own insert, own row lock", tup(ME, ME, 2, LOCK), 3, Ok, 0),
        (
            "own insert+delete by this command",
            tup(ME, ME, 3, 0),
            3,
            SelfUpdated,
            0,
        ),
        (
            "own insert+delete by earlier command",
            tup(ME, ME, 3, 0),
            4,
            Invisible,
            0,
        ),
        (
            "own delete by this command",
            tup(OLD, ME, 5, XMIN_C),
            5,
            SelfUpdated,
            0,
        ),
        (
            "own delete by earlier command",
            tup(OLD, ME, 5, XMIN_C),
            6,
            Invisible,
            0,
        ),
        (
            "own row lock",
            tup(OLD, ME, 0, XMIN_C | LOCK),
            1,
            BeingUpdated(ME),
            0,
        ),
        (
            "being deleted",
            tup(OLD, RUNNING, 0, XMIN_C),
            0,
            BeingUpdated(RUNNING),
            0,
        ),
        (
            "being locked",
            tup(OLD, RUNNING, 0, XMIN_C | LOCK),
            0,
            BeingUpdated(RUNNING),
            0,
        ),
        ("deleted", tup(OLD, OLD, 0, XMIN_C), 0, Deleted, XMAX_C),
        (
            "deleted, hinted",
            tup(OLD, OLD, 0, XMIN_C | XMAX_C),
            0,
            Deleted,
            0,
        ),
        (
            "updated",
            moved(tup(OLD, LATE_COMMIT, 0, XMIN_C)),
            0,
            Updated,
            XMAX_C,
        ),
        (
            "updated, not flushed",
            moved(tup(OLD, NOT_DURABLE, 0, XMIN_C)),
            0,
            Updated,
            0,
        ),
        (
            "deleter aborted",
            tup(OLD, ABORTED, 0, XMIN_C),
            0,
            Ok,
            XMAX_I,
        ),
        (
            "locker committed",
            tup(OLD, OLD, 0, XMIN_C | LOCK),
            0,
            Ok,
            XMAX_I,
        ),
        (
            "locker aborted",
            tup(OLD, ABORTED, 0, XMIN_C | LOCK),
            0,
            Ok,
            XMAX_I,
        ),
    ];
    let clog = clog();
    for (case, t, curcid, result, hints) in cases {
        let got = satisfies_update(t, SELF_TID, &|x| x == ME, *curcid, &clog);
        assert_eq!(got, (*result, HintBits(*hints)), "{case}");
    }
}

#[test]
fn vacuum_truth_table() {
    use HtsvResult::*;
    let oldest_xmin = Xid(102);
    // (case, tuple, result, hints)
    let cases: &[(&str, HeapTupleHeader, HtsvResult, u16)] = &[
        ("aborted insert", tup(ABORTED, NONE, 0, 0), Dead, XMIN_I),
        (
            "insert in progress",
            tup(RUNNING, NONE, 0, 0),
            InsertInProgress,
            0,
        ),
        (
            "insert in progress, deleting itself",
            tup(ME, ME, 0, 0),
            InsertInProgress,
            0,
        ),
        ("live", tup(OLD, NONE, 0, 0), Live, XMIN_C),
        ("frozen", tup(OLD, NONE, 0, HEAP_XMIN_FROZEN), Live, 0),
        (
            "delete in progress",
            tup(OLD, RUNNING, 0, XMIN_C),
            DeleteInProgress,
            0,
        ),
        (
            "deleted before oldest xmin",
            tup(OLD, OLD, 0, XMIN_C),
            Dead,
            XMAX_C,
        ),
        (
            "deleted, commit not flushed",
            tup(OLD, NOT_DURABLE, 0, XMIN_C),
            Dead,
            0,
        ),
        (
            "deleted at/after oldest xmin",
            tup(OLD, LATE_COMMIT, 0, XMIN_C),
            RecentlyDead,
            XMAX_C,
        ),
        (
            "deleter aborted",
            tup(OLD, ABORTED, 0, XMIN_C),
            Live,
            XMAX_I,
        ),
        (
            "locker committed",
            tup(OLD, OLD, 0, XMIN_C | LOCK),
            Live,
            XMAX_I,
        ),
        (
            "locker running",
            tup(OLD, RUNNING, 0, XMIN_C | LOCK),
            Live,
            0,
        ),
    ];
    let clog = clog();
    for (case, t, result, hints) in cases {
        let got = satisfies_vacuum(t, oldest_xmin, &clog);
        assert_eq!(got, (*result, HintBits(*hints)), "{case}");
    }
}
