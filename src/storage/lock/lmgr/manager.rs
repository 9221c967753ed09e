//! The per-process side of the lock manager (PostgreSQL's `LOCALLOCK`
//! table, `LockAcquire` / `LockRelease` / `LockReleaseAll`, and the waiting
//! half of `proc.c`: `ProcSleep`, `CheckDeadLock`, `LockErrorCleanup`).

use std::collections::HashMap;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::{Duration, Instant};

use super::deadlock::{WaitEdge, deadlock_error, find_cycle, holders_and_waiters};
use super::table::{LockTable, WAIT_OK};
use super::tag::{LockMode, LockTag};
use crate::process::procarray::ProcSlot;
use crate::storage::lock::LWLockMode;
use crate::utils::elog::{PgError, PgResult};

/// SQLSTATE `lock_not_available`.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";

/// How a `lock_acquire` ended when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockResult {
    /// Newly granted in shared memory.
    Granted,
    /// This process already held the same tag in the same mode; only the
    /// local count went up (release as many times as acquired).
    AlreadyHeld,
    /// `dont_wait` was set and the lock is not free.
    NotAvailable,
}

/// A lock this process holds (PostgreSQL's `LOCALLOCK`).
#[derive(Clone, Copy, Debug)]
struct LocalLock {
    /// Times acquired and not yet released.
    count: u32,
    /// Subtransaction nesting level that took it first (0 = top level).
    level: u32,
    /// Where it lives in the shared table; stable while held.
    lock: usize,
    proclock: usize,
    hash: u32,
}

/// The lock manager as one process uses it: the shared table plus this
/// process's record of what it holds. One per process; not shared.
pub struct LockManager {
    table: LockTable,
    slot: &'static ProcSlot,
    me: usize,
    local: HashMap<(LockTag, LockMode), LocalLock>,
    nest_level: u32,
    /// `deadlock_timeout` in ms: how long a wait lasts before the deadlock check.
    pub deadlock_timeout_ms: u64,
    /// `lock_timeout` in ms, 0 = wait forever.
    pub lock_timeout_ms: u64,
    /// `log_lock_waits`: log a wait that outlasts `deadlock_timeout`, and
    /// its end.
    pub log_lock_waits: bool,
}

impl LockManager {
    /// The lock manager for the process owning `slot` (a slot of the same
    /// segment's process array as `table`).
    pub fn new(table: LockTable, slot: &'static ProcSlot) -> LockManager {
        let me = table.proc_index(slot);
        LockManager {
            table,
            slot,
            me,
            local: HashMap::new(),
            nest_level: 0,
            deadlock_timeout_ms: 1000,
            lock_timeout_ms: 0,
            log_lock_waits: false,
        }
    }

    /// The lock manager of this server process (its own slot, the global segment).
    pub fn for_this_process() -> LockManager {
        let slot = crate::process::my_slot()
            .expect("lock manager used before attaching to the process array");
        LockManager::new(LockTable::get(), slot)
    }

    /// Picks up `deadlock_timeout`, `lock_timeout` and `log_lock_waits`. The backend calls it
    /// before every statement (`Session::run_statement`), so a SET counts
    /// from the next statement on.
    pub fn set_timeouts(&mut self, settings: &crate::utils::guc::Settings) {
        self.deadlock_timeout_ms = settings.get_int("deadlock_timeout").max(1) as u64;
        self.lock_timeout_ms = settings.get_int("lock_timeout").max(0) as u64;
        self.log_lock_waits = settings.get_bool("log_lock_waits");
    }

    pub fn table(&self) -> &LockTable {
        &self.table
    }

    /// Subtransaction nesting level new locks are recorded under.
    pub fn set_nest_level(&mut self, level: u32) {
        self.nest_level = level;
    }

    /// Whether this process holds `tag` in `mode`.
    pub fn holds(&self, tag: LockTag, mode: LockMode) -> bool {
        self.local.contains_key(&(tag, mode))
    }

    /// Number of distinct (tag, mode) locks held.
    pub fn held_count(&self) -> usize {
        self.local.len()
    }

    /// Acquires `tag` in `mode` for the current transaction
    /// (PostgreSQL's `LockAcquire`). Waits unless `dont_wait`; while waiting,
    /// `check_interrupts` runs whenever the latch is set (and at least every
    /// second) and ends the wait with its error. Errors: 53200 when the
    /// table is full, 40P01 on deadlock, 55P03 on `lock_timeout`.
    pub fn lock_acquire(
        &mut self,
        tag: LockTag,
        mode: LockMode,
        dont_wait: bool,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<LockResult> {
        if let Some(l) = self.local.get_mut(&(tag, mode)) {
            l.count += 1;
            return Ok(LockResult::AlreadyHeld);
        }
        let t = self.table;
        let me = self.me;
        let hash = tag.hash();
        let guard = t
            .partition_lock(LockTable::partition_of(hash))
            .acquire(LWLockMode::Exclusive);
        let lock = t.find_or_create_lock(tag, hash)?;
        let proclock = match t.find_or_create_proclock(lock, me) {
            Ok(p) => p,
            Err(e) => {
                if t.locks[lock].n_requested.load(Relaxed) == 0 {
                    t.remove_lock(lock, hash);
                }
                return Err(e);
            }
        };
        t.add_request(lock, mode);
        let my_held = t.proclocks[proclock].hold_mask.load(Relaxed);
        let e = &t.locks[lock];
        let must_wait = mode.conflicts() & e.wait_mask.load(Relaxed) != 0
            || t.conflicts_with_holders(lock, mode, my_held);
        if !must_wait {
            t.grant(lock, proclock, mode);
            drop(guard);
            self.remember(tag, mode, lock, proclock, hash);
            return Ok(LockResult::Granted);
        }
        if dont_wait {
            t.remove_request(lock, mode);
            t.clean_up_lock(lock, proclock, hash);
            return Ok(LockResult::NotAvailable);
        }

        // ProcSleep's queue placement: if someone queued already waits for a
        // lock we hold here, go in front of them (or grant at once if that
        // leaves no conflict); if we would also wait for them, it is a
        // deadlock right away.
        let mut before = None;
        if my_held != 0 {
            let mut ahead_requests = 0u32;
            for q in t.queue(lock) {
                let q_mode = t.wait_mode_of(q);
                if q_mode.conflicts() & my_held != 0 {
                    if mode.conflicts() & t.hold_mask_of(q) != 0 {
                        let cycle = [
                            WaitEdge {
                                waiter_pid: t.pid_of(me),
                                mode,
                                tag,
                                blocker_pid: t.pid_of(q),
                            },
                            WaitEdge {
                                waiter_pid: t.pid_of(q),
                                mode: q_mode,
                                tag,
                                blocker_pid: t.pid_of(me),
                            },
                        ];
                        t.remove_request(lock, mode);
                        t.clean_up_lock(lock, proclock, hash);
                        return Err(deadlock_error(&cycle));
                    }
                    if mode.conflicts() & ahead_requests == 0
                        && !t.conflicts_with_holders(lock, mode, my_held)
                    {
                        t.grant(lock, proclock, mode);
                        drop(guard);
                        self.remember(tag, mode, lock, proclock, hash);
                        return Ok(LockResult::Granted);
                    }
                    before = Some(q);
                    break;
                }
                ahead_requests |= q_mode.bit();
            }
        }
        t.enqueue(lock, proclock, me, mode, before);
        drop(guard);
        self.sleep(tag, mode, lock, proclock, hash, check_interrupts)
    }

    /// Waits on the latch until granted, interrupted, timed out or found in
    /// a deadlock (the loop of PostgreSQL's `ProcSleep`).
    fn sleep(
        &mut self,
        tag: LockTag,
        mode: LockMode,
        lock: usize,
        proclock: usize,
        hash: u32,
        check_interrupts: &mut dyn FnMut() -> PgResult<()>,
    ) -> PgResult<LockResult> {
        let p = &self.table.procs[self.me];
        let start = Instant::now();
        let deadlock_at = start + Duration::from_millis(self.deadlock_timeout_ms);
        let timeout_at =
            (self.lock_timeout_ms > 0).then(|| start + Duration::from_millis(self.lock_timeout_ms));
        let mut deadlock_checked = false;
        let mut wait_logged = false;
        loop {
            if p.wait_status.load(Acquire) == WAIT_OK {
                if wait_logged {
                    log_wait("acquired", tag, mode, start, None);
                }
                self.remember(tag, mode, lock, proclock, hash);
                return Ok(LockResult::Granted);
            }
            if let Err(e) = check_interrupts() {
                return Err(self.abandon_wait(tag, mode, lock, proclock, hash, e));
            }
            let now = Instant::now();
            if timeout_at.is_some_and(|at| now >= at) {
                let e = PgError::error(
                    LOCK_NOT_AVAILABLE,
                    "canceling statement due to lock timeout",
                );
                return Err(self.abandon_wait(tag, mode, lock, proclock, hash, e));
            }
            if !deadlock_checked && now >= deadlock_at {
                deadlock_checked = true;
                if let Some(e) = self.check_deadlock(hash) {
                    if self.log_lock_waits {
                        log_wait(
                            "detected deadlock while waiting for",
                            tag,
                            mode,
                            start,
                            None,
                        );
                    }
                    return Err(e);
                }
                if self.log_lock_waits {
                    let (holders, waiters) = {
                        let _g = self
                            .table
                            .partition_lock(LockTable::partition_of(hash))
                            .acquire(LWLockMode::Shared);
                        holders_and_waiters(&self.table, lock)
                    };
                    log_wait(
                        "still waiting for",
                        tag,
                        mode,
                        start,
                        Some((holders, waiters)),
                    );
                    wait_logged = true;
                }
                continue;
            }
            let mut wake_at = if deadlock_checked {
                now + Duration::from_secs(1)
            } else {
                deadlock_at
            };
            if let Some(at) = timeout_at {
                wake_at = wake_at.min(at);
            }
            self.slot.latch.wait(
                wake_at
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1)),
            );
        }
    }

    /// PostgreSQL's `CheckDeadLock`: with every partition locked, look for a
    /// cycle through us; if there is one, leave the queue and report it.
    fn check_deadlock(&mut self, hash: u32) -> Option<PgError> {
        let t = self.table;
        let guards = t.lock_all(LWLockMode::Exclusive);
        if t.procs[self.me].wait_status.load(Acquire) == WAIT_OK {
            return None; // granted meanwhile; the caller's loop sees it
        }
        let Some(cycle) = find_cycle(&t, self.me) else {
            // PostgreSQL's DS_BLOCKED_BY_AUTOVACUUM: an autovacuum worker
            // must not hold up a user's lock request; cancel its task.
            let blockers = super::deadlock::direct_blockers(&t, self.me);
            drop(guards);
            cancel_blocking_autovacuum(&blockers);
            return None;
        };
        t.remove_from_wait_queue(self.me, hash);
        drop(guards);
        let err = deadlock_error(&cycle);
        Some(err)
    }

    /// PostgreSQL's `LockErrorCleanup`: leave the wait queue after an error.
    /// If the lock was granted in the meantime it is ours and recorded, to be
    /// released with the rest at transaction end.
    fn abandon_wait(
        &mut self,
        tag: LockTag,
        mode: LockMode,
        lock: usize,
        proclock: usize,
        hash: u32,
        err: PgError,
    ) -> PgError {
        let t = self.table;
        let guard = t
            .partition_lock(LockTable::partition_of(hash))
            .acquire(LWLockMode::Exclusive);
        if t.procs[self.me].wait_status.load(Acquire) == WAIT_OK {
            drop(guard);
            self.remember(tag, mode, lock, proclock, hash);
        } else {
            t.remove_from_wait_queue(self.me, hash);
        }
        err
    }

    fn remember(&mut self, tag: LockTag, mode: LockMode, lock: usize, proclock: usize, hash: u32) {
        let prev = self.local.insert(
            (tag, mode),
            LocalLock {
                count: 1,
                level: self.nest_level,
                lock,
                proclock,
                hash,
            },
        );
        assert!(
            prev.is_none(),
            "lock recorded twice in the local lock table"
        );
    }

    /// Releases one acquisition of `tag` in `mode` (PostgreSQL's
    /// `LockRelease`). Returns false, changing nothing, if it is not held.
    pub fn lock_release(&mut self, tag: LockTag, mode: LockMode) -> bool {
        let Some(l) = self.local.get_mut(&(tag, mode)) else {
            return false;
        };
        l.count -= 1;
        if l.count == 0 {
            let l = self.local.remove(&(tag, mode)).expect("entry just seen");
            self.release_shared(&l, mode);
        }
        true
    }

    fn release_shared(&self, l: &LocalLock, mode: LockMode) {
        let t = self.table;
        let _g = t
            .partition_lock(LockTable::partition_of(l.hash))
            .acquire(LWLockMode::Exclusive);
        t.ungrant(l.lock, l.proclock, mode);
        t.clean_up_lock(l.lock, l.proclock, l.hash);
    }

    /// Releases every lock this process holds (`LockReleaseAll`): at
    /// transaction end, commit or abort, after the process array no longer
    /// shows the transaction as running.
    pub fn release_all(&mut self) {
        let all: Vec<_> = self.local.drain().collect();
        for ((_, mode), l) in all {
            self.release_shared(&l, mode);
        }
        self.nest_level = 0;
    }

    /// Releases the locks first taken at subtransaction level `level` or
    /// deeper (ROLLBACK TO SAVEPOINT).
    pub fn release_subxact(&mut self, level: u32) {
        let doomed: Vec<_> = self
            .local
            .iter()
            .filter(|(_, l)| l.level >= level)
            .map(|(k, _)| *k)
            .collect();
        for key in doomed {
            let l = self.local.remove(&key).expect("entry just listed");
            self.release_shared(&l, key.1);
        }
    }

    /// Hands the locks of level `level` and deeper to level `level - 1`
    /// (RELEASE SAVEPOINT: the parent now owns them).
    pub fn reassign_to_parent(&mut self, level: u32) {
        assert!(level > 0, "the top level has no parent");
        for l in self.local.values_mut() {
            if l.level >= level {
                l.level = level - 1;
            }
        }
    }
}

impl Drop for LockManager {
    fn drop(&mut self) {
        // A process leaving without ending its transaction still must not
        // leave locks behind for others to wait on forever.
        self.release_all();
    }
}

/// `log_lock_waits`'s lines (PostgreSQL's ProcSleep): `process 123 still
/// waiting for ShareLock on transaction 456 after 1000.123 ms`, with the
/// holders and the wait queue as DETAIL.
fn log_wait(
    what: &str,
    tag: LockTag,
    mode: LockMode,
    start: Instant,
    who: Option<(Vec<i32>, Vec<i32>)>,
) {
    let us = start.elapsed().as_micros();
    let mut e = PgError::new(
        crate::utils::elog::Severity::Log,
        crate::utils::elog::sqlstate::SUCCESSFUL_COMPLETION,
        format!(
            "process {} {what} {} on {} after {}.{:03} ms",
            std::process::id(),
            mode.name(),
            tag.describe(),
            us / 1000,
            us % 1000
        ),
    );
    if let Some((holders, waiters)) = who {
        let list = |v: &[i32]| {
            v.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let holding = if holders.len() == 1 {
            "Process holding the lock"
        } else {
            "Processes holding the lock"
        };
        e = e.with_detail(format!(
            "{holding}: {}. Wait queue: {}.",
            list(&holders),
            list(&waiters)
        ));
    }
    crate::utils::elog::log_error(&e, None);
}

/// Sends SIGINT to every autovacuum worker among `blockers`, logging
/// PostgreSQL's line (ProcSleep's "sending cancel to blocking autovacuum").
fn cancel_blocking_autovacuum(blockers: &[(i32, LockMode, LockTag)]) {
    let Some(procarray) =
        crate::process::my_slot().map(|_| crate::storage::shmem::get().procarray())
    else {
        return;
    };
    for (pid, mode, tag) in blockers {
        let is_autovacuum = procarray.find(*pid).and_then(|s| s.kind())
            == Some(crate::process::ProcessKind::AutovacWorker);
        if is_autovacuum {
            crate::utils::elog::log_error(
                &PgError::new(
                    crate::utils::elog::Severity::Log,
                    crate::utils::elog::sqlstate::SUCCESSFUL_COMPLETION,
                    format!("sending cancel to blocking autovacuum PID {pid}"),
                )
                .with_detail(format!(
                    "Process {} waits for {} on {}.",
                    std::process::id(),
                    mode.name(),
                    tag.describe()
                )),
                None,
            );
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
    }
}
