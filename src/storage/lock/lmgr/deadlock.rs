//! Deadlock detection (PostgreSQL's `deadlock.c`, without queue rearrangement).
//!
//! A process that has waited `deadlock_timeout` takes every partition lock
//! (in partition order) and searches the wait-for graph for a cycle through
//! itself. Edges from a waiting process P (waiting for mode M on lock L):
//!
//! - **hard**: to every other process holding on L a mode that conflicts with M;
//! - **soft**: to every process ahead of P in L's wait queue whose requested
//!   mode conflicts with M (it will be granted first, so P waits for it too).
//!
//! PostgreSQL tries to break a cycle made of soft edges by reordering the
//! wait queue; ferrogres treats soft edges as hard and reports the deadlock.
//! That can report a deadlock PostgreSQL would have resolved by reordering
//! (only with three or more waiters mixing lock upgrades on one lock); it
//! never misses one.

use super::table::LockTable;
use super::tag::{LockMode, LockTag};
use crate::utils::elog::{PgError, sqlstate};

/// One wait-for edge: `waiter` waits for `mode` on `tag`, blocked by `blocker`.
#[derive(Clone, Debug)]
pub(crate) struct WaitEdge {
    pub waiter_pid: i32,
    pub mode: LockMode,
    pub tag: LockTag,
    pub blocker_pid: i32,
}

/// The processes `proc` waits for (caller holds every partition lock).
fn blockers(t: &LockTable, proc: usize) -> Vec<(usize, usize, LockMode)> {
    let wait_lock = t.procs[proc]
        .wait_lock
        .load(std::sync::atomic::Ordering::Relaxed);
    if wait_lock == 0 {
        return Vec::new();
    }
    let lock = wait_lock as usize - 1;
    let mode = t.wait_mode_of(proc);
    let mut out = Vec::new();
    let mut cur = t.locks[lock]
        .proclocks
        .load(std::sync::atomic::Ordering::Relaxed);
    while cur != 0 {
        let pl = &t.proclocks[cur as usize - 1];
        let q = pl.proc.load(std::sync::atomic::Ordering::Relaxed) as usize;
        if q != proc
            && pl.hold_mask.load(std::sync::atomic::Ordering::Relaxed) & mode.conflicts() != 0
        {
            out.push((q, lock, mode));
        }
        cur = pl.next.load(std::sync::atomic::Ordering::Relaxed);
    }
    for q in t.queue(lock) {
        if q == proc {
            break;
        }
        if t.wait_mode_of(q).conflicts_with(mode) && !out.iter().any(|&(b, _, _)| b == q) {
            out.push((q, lock, mode));
        }
    }
    out
}

fn search(
    t: &LockTable,
    node: usize,
    me: usize,
    path: &mut Vec<(usize, usize, usize, LockMode)>,
    dead_end: &mut [bool],
) -> bool {
    for (blocker, lock, mode) in blockers(t, node) {
        path.push((node, blocker, lock, mode));
        if blocker == me {
            return true;
        }
        if !dead_end[blocker] {
            dead_end[blocker] = true;
            if search(t, blocker, me, path, dead_end) {
                return true;
            }
        }
        path.pop();
    }
    false
}

/// Finds a wait-for cycle through `me`, listing its edges starting with
/// `me`'s own wait. Caller holds every partition lock.
pub(crate) fn find_cycle(t: &LockTable, me: usize) -> Option<Vec<WaitEdge>> {
    let mut path = Vec::new();
    let mut dead_end = vec![false; t.procs.len()];
    dead_end[me] = true;
    if !search(t, me, me, &mut path, &mut dead_end) {
        return None;
    }
    Some(
        path.into_iter()
            .map(|(waiter, blocker, lock, mode)| WaitEdge {
                waiter_pid: t.pid_of(waiter),
                mode,
                tag: t.tag_of(lock),
                blocker_pid: t.pid_of(blocker),
            })
            .collect(),
    )
}

/// The pids of the processes `me` waits for directly (caller holds every
/// partition lock): what the waiter checks for a blocking autovacuum worker.
pub(crate) fn direct_blockers(t: &LockTable, me: usize) -> Vec<(i32, LockMode, LockTag)> {
    blockers(t, me)
        .into_iter()
        .map(|(b, lock, mode)| (t.pid_of(b), mode, t.tag_of(lock)))
        .collect()
}

/// The pids holding and the pids waiting for `lock`, for `log_lock_waits`'s
/// DETAIL (caller holds the lock's partition lock). As in PostgreSQL's
/// ProcSleep, a process counts as a waiter if it is queued, else as a holder.
pub(crate) fn holders_and_waiters(t: &LockTable, lock: usize) -> (Vec<i32>, Vec<i32>) {
    let queue = t.queue(lock);
    let waiters = queue.iter().map(|&q| t.pid_of(q)).collect();
    let mut holders = Vec::new();
    let mut cur = t.locks[lock]
        .proclocks
        .load(std::sync::atomic::Ordering::Relaxed);
    while cur != 0 {
        let pl = &t.proclocks[cur as usize - 1];
        let q = pl.proc.load(std::sync::atomic::Ordering::Relaxed) as usize;
        if !queue.contains(&q) && pl.hold_mask.load(std::sync::atomic::Ordering::Relaxed) != 0 {
            holders.push(t.pid_of(q));
        }
        cur = pl.next.load(std::sync::atomic::Ordering::Relaxed);
    }
    (holders, waiters)
}

/// ERROR 40P01 as PostgreSQL's `DeadLockReport` words it.
pub(crate) fn deadlock_error(cycle: &[WaitEdge]) -> PgError {
    let detail = cycle
        .iter()
        .map(|e| {
            format!(
                "Process {} waits for {} on {}; blocked by process {}.",
                e.waiter_pid,
                e.mode.name(),
                e.tag.describe(),
                e.blocker_pid
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    PgError::error(sqlstate::DEADLOCK_DETECTED, "deadlock detected")
        .with_detail(detail)
        .with_hint("See server log for query details.")
}
