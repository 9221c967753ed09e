//! Heavyweight locks (PostgreSQL's `lock.c`, the waiting part of `proc.c`,
//! and `deadlock.c`).
//!
//! A heavyweight lock protects a database object — a relation, a tuple, a
//! transaction id, an advisory key — for the rest of a transaction, in one
//! of PostgreSQL's eight modes (`AccessShareLock` … `AccessExclusiveLock`)
//! with PostgreSQL's conflict table. Unlike LWLocks they are held across
//! statements, are waited for in FIFO order, take part in deadlock
//! detection, and show in `pg_locks`.
//!
//! ```text
//!   shared (region LockTable)                   per process (LockManager)
//!   ┌────────────────────────────┐              ┌──────────────────────────┐
//!   │ 16 partition LWLocks       │              │ local table:             │
//!   │ buckets → LOCK entries     │◄── tag hash ─│ (tag, mode) → count,     │
//!   │   granted/requested/mode   │              │   subxact level,         │
//!   │   PROCLOCK list (holders)  │              │   LOCK/PROCLOCK index    │
//!   │   wait queue (proc links)  │              └──────────────────────────┘
//!   │ LockProc[slot]: wait state │  waiters sleep on their ProcSlot latch
//!   └────────────────────────────┘
//! ```
//!
//! Transaction-id locks: every transaction takes ExclusiveLock on
//! `LockTag::TransactionId(its xid)` when the xid is assigned (and each
//! subtransaction on its subxid); a writer that meets a row being changed
//! waits for the other transaction with ShareLock on the same tag
//! (`XactLockTableWait`, in `storage::xact`).
//!
//! Only transaction-scope locks exist: everything is released at
//! transaction end by [`LockManager::release_all`] (session locks, which
//! PostgreSQL uses for VACUUM and advisory locks, are not provided).
//! The numbered rules are in README.md beside this file.

mod deadlock;
mod manager;
mod table;
mod tag;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testshm;

pub use manager::{LOCK_NOT_AVAILABLE, LockManager, LockResult};
pub use table::{LockTable, NUM_LOCK_PARTITIONS, PgLocksRow};
pub use tag::{LockMode, LockTag, MAX_LOCKMODES};
