//! Lock manager tests with real processes sharing a private segment.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::testshm::{
    TestShmem, fork_child, shared_counters, small_settings, wait_child, wait_until,
};
use super::*;
use crate::utils::elog::{PgError, PgResult, sqlstate};

fn setup() -> (TestShmem, LockTable) {
    let shm = TestShmem::new(small_settings(), &[LockTable::REGION]);
    // SAFETY: region 1 was initialised as the lock table for these settings.
    let table = unsafe { LockTable::from_raw(shm.region(1), &shm.settings, shm.procarray()) };
    (shm, table)
}

fn no_interrupts() -> impl FnMut() -> PgResult<()> {
    || Ok(())
}

const REL1: LockTag = LockTag::Relation { db: 5, rel: 16384 };
const REL2: LockTag = LockTag::Relation { db: 5, rel: 16385 };

#[test]
fn conflicting_lock_blocks_until_the_holder_releases_and_release_wakes_the_waiter() {
    let (shm, table) = setup();
    let mut holder = LockManager::new(table, shm.claim());
    assert_eq!(
        holder
            .lock_acquire(REL1, LockMode::AccessExclusive, false, &mut no_interrupts())
            .unwrap(),
        LockResult::Granted
    );
    let child = fork_child(|| {
        let mut lm = LockManager::new(table, shm.claim());
        if lm.lock_acquire(REL1, LockMode::AccessShare, true, &mut no_interrupts())
            != Ok(LockResult::NotAvailable)
        {
            return 2;
        }
        let start = Instant::now();
        match lm.lock_acquire(REL1, LockMode::AccessShare, false, &mut no_interrupts()) {
            Ok(LockResult::Granted) if start.elapsed() >= Duration::from_millis(150) => 0,
            Ok(_) => 3,
            Err(_) => 4,
        }
    });
    // The child shows up in pg_locks as a waiter before we release.
    assert!(wait_until(Duration::from_secs(5), || {
        table
            .pg_locks()
            .iter()
            .any(|r| !r.granted && r.mode == "AccessShareLock" && r.relation == Some(16384))
    }));
    std::thread::sleep(Duration::from_millis(200));
    let rows = table.pg_locks();
    let held = rows.iter().find(|r| r.granted).expect("holder row");
    assert_eq!(
        (held.locktype, held.database, held.relation),
        ("relation", Some(5), Some(16384))
    );
    assert_eq!(held.mode, "AccessExclusiveLock");
    assert_eq!(held.pid, std::process::id() as i32);
    let waiting = rows.iter().find(|r| !r.granted).expect("waiter row");
    assert!(waiting.waitstart.is_some());
    assert!(holder.lock_release(REL1, LockMode::AccessExclusive));
    assert_eq!(wait_child(child), 0);
    assert!(
        table.pg_locks().is_empty(),
        "everything released: {:?}",
        table.pg_locks()
    );
}

#[test]
fn compatible_modes_share_and_a_queued_exclusive_request_blocks_later_sharers() {
    let (shm, table) = setup();
    let mut a = LockManager::new(table, shm.claim());
    let mut b = LockManager::new(table, shm.claim());
    let mut ni = no_interrupts();
    assert_eq!(
        a.lock_acquire(REL1, LockMode::RowExclusive, false, &mut ni)
            .unwrap(),
        LockResult::Granted
    );
    assert_eq!(
        b.lock_acquire(REL1, LockMode::RowExclusive, false, &mut ni)
            .unwrap(),
        LockResult::Granted
    );
    assert_eq!(
        a.lock_acquire(REL1, LockMode::RowExclusive, false, &mut ni)
            .unwrap(),
        LockResult::AlreadyHeld
    );
    assert_eq!(
        b.lock_acquire(REL1, LockMode::Share, true, &mut ni)
            .unwrap(),
        LockResult::NotAvailable
    );
    b.release_all();
    // A child queues for AccessExclusive behind `a`.
    let child = fork_child(|| {
        let mut c = LockManager::new(table, shm.claim());
        match c.lock_acquire(REL1, LockMode::AccessExclusive, false, &mut no_interrupts()) {
            Ok(LockResult::Granted) => 0,
            _ => 1,
        }
    });
    assert!(wait_until(Duration::from_secs(5), || table
        .pg_locks()
        .iter()
        .any(|r| !r.granted)));
    // AccessShare does not conflict with RowExclusive, but it does with the
    // queued AccessExclusive: FIFO order makes `b` wait rather than jump the queue.
    assert_eq!(
        b.lock_acquire(REL1, LockMode::AccessShare, true, &mut ni)
            .unwrap(),
        LockResult::NotAvailable
    );
    // One release of a lock acquired twice keeps it.
    assert!(a.lock_release(REL1, LockMode::RowExclusive));
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        table.pg_locks().iter().any(|r| !r.granted),
        "still held once, the child still waits"
    );
    assert!(a.lock_release(REL1, LockMode::RowExclusive));
    assert!(
        !a.lock_release(REL1, LockMode::RowExclusive),
        "not held any more"
    );
    assert_eq!(wait_child(child), 0);
}

/// Two processes each hold one lock and ask for the other's. Exactly one
/// gets 40P01, soon after deadlock_timeout; the other then gets its lock.
#[test]
fn two_process_deadlock_is_detected_and_exactly_one_gets_40p01() {
    let (shm, table) = setup();
    let ready = &shared_counters(1)[0];
    let spawn = |first: LockTag, second: LockTag| {
        let shm = &shm;
        fork_child(move || {
            let mut lm = LockManager::new(table, shm.claim());
            lm.deadlock_timeout_ms = 200;
            let mut ni = || Ok(());
            if lm
                .lock_acquire(first, LockMode::Exclusive, false, &mut ni)
                .is_err()
            {
                return 10;
            }
            ready.fetch_add(1, Ordering::SeqCst);
            if !wait_until(Duration::from_secs(5), || ready.load(Ordering::SeqCst) == 2) {
                return 11;
            }
            let start = Instant::now();
            let r = lm.lock_acquire(second, LockMode::Exclusive, false, &mut ni);
            let elapsed = start.elapsed();
            lm.release_all();
            match r {
                Ok(LockResult::Granted) => 0,
                Err(e) if e.sqlstate == sqlstate::DEADLOCK_DETECTED => {
                    let detail = e.detail.unwrap_or_default();
                    let lines: Vec<&str> = detail.lines().collect();
                    let well_formed = lines.len() == 2
                        && lines.iter().all(|l| {
                            l.starts_with("Process ")
                                && l.contains(" waits for ExclusiveLock on relation 1638")
                                && l.contains(" of database 5; blocked by process ")
                        })
                        && e.message == "deadlock detected"
                        && e.hint.as_deref() == Some("See server log for query details.");
                    if !well_formed {
                        20
                    } else if elapsed < Duration::from_millis(190)
                        || elapsed > Duration::from_millis(1500)
                    {
                        21
                    } else {
                        1
                    }
                }
                Err(_) => 12,
                Ok(_) => 13,
            }
        })
    };
    let a = spawn(REL1, REL2);
    let b = spawn(REL2, REL1);
    let mut codes = [wait_child(a), wait_child(b)];
    codes.sort();
    assert_eq!(codes, [0, 1], "one winner, one deadlock victim");
    assert!(table.pg_locks().is_empty());
}

#[test]
fn lock_timeout_ends_the_wait_with_55p03_and_leaves_the_queue() {
    let (shm, table) = setup();
    let mut holder = LockManager::new(table, shm.claim());
    holder
        .lock_acquire(REL1, LockMode::Exclusive, false, &mut no_interrupts())
        .unwrap();
    let child = fork_child(|| {
        let mut lm = LockManager::new(table, shm.claim());
        lm.lock_timeout_ms = 200;
        let start = Instant::now();
        match lm.lock_acquire(REL1, LockMode::Share, false, &mut no_interrupts()) {
            Err(e)
                if e.sqlstate == "55P03"
                    && e.message == "canceling statement due to lock timeout" =>
            {
                let t = start.elapsed();
                if t >= Duration::from_millis(190) && t < Duration::from_millis(1500) {
                    0
                } else {
                    2
                }
            }
            _ => 1,
        }
    });
    assert_eq!(wait_child(child), 0);
    let rows = table.pg_locks();
    assert_eq!(rows.len(), 1, "only the holder is left: {rows:?}");
    holder.release_all();
    assert!(table.pg_locks().is_empty());
}

#[test]
fn cancel_interrupt_ends_a_lock_wait() {
    let (shm, table) = setup();
    let mut holder = LockManager::new(table, shm.claim());
    holder
        .lock_acquire(REL1, LockMode::AccessExclusive, false, &mut no_interrupts())
        .unwrap();
    let cancel = shared_counters(1);
    let child = fork_child(|| {
        let mut lm = LockManager::new(table, shm.claim());
        let mut check = || -> PgResult<()> {
            if cancel[0].load(Ordering::SeqCst) == 1 {
                Err(PgError::error(
                    sqlstate::QUERY_CANCELED,
                    "canceling statement due to user request",
                ))
            } else {
                Ok(())
            }
        };
        match lm.lock_acquire(REL1, LockMode::AccessShare, false, &mut check) {
            Err(e) if e.sqlstate == sqlstate::QUERY_CANCELED => 0,
            _ => 1,
        }
    });
    assert!(wait_until(Duration::from_secs(5), || table
        .pg_locks()
        .iter()
        .any(|r| !r.granted)));
    let waiter_pid = table.pg_locks().iter().find(|r| !r.granted).unwrap().pid;
    // What a SIGINT handler does: set the flag, then the latch.
    cancel[0].store(1, Ordering::SeqCst);
    let start = Instant::now();
    shm.procarray()
        .find(waiter_pid)
        .expect("waiter slot")
        .latch
        .set();
    assert_eq!(wait_child(child), 0);
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "woken by the latch, not the 1 s poll"
    );
    assert_eq!(table.pg_locks().len(), 1);
}

#[test]
fn a_full_lock_table_raises_53200_with_postgres_hint() {
    let (shm, table) = setup();
    let mut lm = LockManager::new(table, shm.claim());
    let capacity = table.locks.len();
    for rel in 0..capacity as u32 {
        lm.lock_acquire(
            LockTag::Relation { db: 1, rel },
            LockMode::AccessShare,
            false,
            &mut no_interrupts(),
        )
        .unwrap();
    }
    let err = lm
        .lock_acquire(
            LockTag::Relation {
                db: 1,
                rel: u32::MAX,
            },
            LockMode::AccessShare,
            false,
            &mut no_interrupts(),
        )
        .unwrap_err();
    assert_eq!(err.sqlstate, "53200");
    assert_eq!(err.message, "out of shared memory");
    assert_eq!(
        err.hint.as_deref(),
        Some("You might need to increase max_locks_per_transaction.")
    );
    lm.release_all();
    assert!(table.pg_locks().is_empty());
    // Everything went back to the free lists.
    lm.lock_acquire(
        LockTag::Relation {
            db: 1,
            rel: u32::MAX,
        },
        LockMode::AccessShare,
        false,
        &mut no_interrupts(),
    )
    .unwrap();
}

#[test]
fn subtransaction_locks_are_released_at_rollback_to_and_kept_at_release() {
    let (shm, table) = setup();
    let mut lm = LockManager::new(table, shm.claim());
    let mut ni = no_interrupts();
    lm.lock_acquire(REL1, LockMode::RowExclusive, false, &mut ni)
        .unwrap();
    lm.set_nest_level(1);
    lm.lock_acquire(REL2, LockMode::RowExclusive, false, &mut ni)
        .unwrap();
    lm.release_subxact(1);
    assert!(lm.holds(REL1, LockMode::RowExclusive));
    assert!(!lm.holds(REL2, LockMode::RowExclusive));
    lm.lock_acquire(REL2, LockMode::RowExclusive, false, &mut ni)
        .unwrap();
    lm.reassign_to_parent(1);
    lm.set_nest_level(0);
    lm.release_subxact(1);
    assert!(
        lm.holds(REL2, LockMode::RowExclusive),
        "owned by the parent after RELEASE SAVEPOINT"
    );
    lm.release_all();
    assert_eq!(lm.held_count(), 0);
}

#[test]
fn lock_upgrade_against_a_waiter_for_our_lock_is_an_immediate_deadlock() {
    // Both hold Share; the child queues for Exclusive (it waits for us).
    // Asking for Exclusive ourselves would wait for the child: PostgreSQL
    // reports this at once, without waiting for deadlock_timeout.
    let (shm, table) = setup();
    let mut lm = LockManager::new(table, shm.claim());
    let mut ni = no_interrupts();
    lm.lock_acquire(REL1, LockMode::Share, false, &mut ni)
        .unwrap();
    let child = fork_child(|| {
        let mut c = LockManager::new(table, shm.claim());
        c.lock_timeout_ms = 5000;
        let mut ni = || Ok(());
        if c.lock_acquire(REL1, LockMode::Share, false, &mut ni) != Ok(LockResult::Granted) {
            return 2;
        }
        match c.lock_acquire(REL1, LockMode::Exclusive, false, &mut ni) {
            Ok(LockResult::Granted) => 0,
            _ => 1,
        }
    });
    assert!(wait_until(Duration::from_secs(5), || table
        .pg_locks()
        .iter()
        .any(|r| !r.granted)));
    let start = Instant::now();
    let err = lm
        .lock_acquire(REL1, LockMode::Exclusive, false, &mut ni)
        .unwrap_err();
    assert_eq!(err.sqlstate, sqlstate::DEADLOCK_DETECTED);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "no deadlock_timeout wait"
    );
    assert!(
        err.detail
            .unwrap()
            .contains("waits for ExclusiveLock on relation 16384 of database 5")
    );
    lm.release_all();
    assert_eq!(wait_child(child), 0);
}
