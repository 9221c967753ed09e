//! Timeouts of a backend (PostgreSQL's `utils/misc/timeout.c`).
//!
//! One POSIX timer per process (`timer_create` on `CLOCK_MONOTONIC`,
//! delivering SIGALRM) multiplexes every timeout in [`TimeoutId`]: the
//! timer is always armed for the earliest enabled deadline. When it
//! fires, the SIGALRM handler marks each timeout whose deadline has passed
//! as fired, re-arms the timer for the next one, and wakes the process the
//! way every other handler does ([`signals::interrupt_from_handler`] with
//! [`signals::TIMEOUT_PENDING`]: the pending bit, the latch, the
//! self-pipe). The process acts on it at its next
//! [`signals::check_interrupts`], which turns a fired timeout into
//! PostgreSQL's error for it (see [`TimeoutId::error`]).
//!
//! Who enables what (the backend's query cycle, `src/backend/session.rs`):
//! - `statement_timeout`: enabled right before a statement runs, disabled
//!   right after. The executor checks interrupts per row, `pg_sleep` and
//!   lock waits wake on the latch, so a fired timeout ends them promptly.
//! - `idle_in_transaction_session_timeout` / `idle_session_timeout`:
//!   enabled while the backend waits for the client's next message inside
//!   / outside a transaction block, disabled when a message arrives.
//!
//! `lock_timeout` and `deadlock_timeout` are not timers here: a lock wait
//! already sleeps on its latch with a deadline (`storage::lock::lmgr`), so
//! the lock manager measures both itself.
//!
//! Invariants:
//! 1. The timer is armed no later than the earliest enabled deadline. The
//!    handler only ever removes deadlines and then re-arms for the earliest
//!    one left; the main code stores a deadline first and re-arms after, so
//!    if the handler runs in between, the main code arms for a time no
//!    later than the true earliest deadline. An early expiry finds nothing
//!    due and just re-arms: spurious wakeups are harmless.
//! 2. Disabling a timeout also clears its fired mark, so a timeout that
//!    fired just as its statement finished does not cancel the next one.
//! 3. The handler only loads and stores atomics and calls
//!    `clock_gettime` and `timer_settime` (both async-signal-safe).
//!
//! The timer is per process and not inherited across fork; it is created
//! on first use in each process (the creating pid is recorded, so a child
//! forked from a process that had one makes its own).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use super::signals;
use crate::utils::elog::{PgError, sqlstate};

/// The timeouts a backend multiplexes on its timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum TimeoutId {
    StatementTimeout = 0,
    IdleInTransactionSessionTimeout,
    IdleSessionTimeout,
}

const N_TIMEOUTS: usize = 3;

impl TimeoutId {
    const ALL: [TimeoutId; N_TIMEOUTS] = [
        TimeoutId::StatementTimeout,
        TimeoutId::IdleInTransactionSessionTimeout,
        TimeoutId::IdleSessionTimeout,
    ];

    /// What the process reports when this timeout fires
    /// (PostgreSQL's `ProcessInterrupts`).
    pub fn error(self) -> PgError {
        match self {
            TimeoutId::StatementTimeout => PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            ),
            TimeoutId::IdleInTransactionSessionTimeout => PgError::fatal(
                sqlstate::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                "terminating connection due to idle-in-transaction timeout",
            ),
            TimeoutId::IdleSessionTimeout => PgError::fatal(
                sqlstate::IDLE_SESSION_TIMEOUT,
                "terminating connection due to idle-session timeout",
            ),
        }
    }
}

/// Deadline of each timeout in `CLOCK_MONOTONIC` nanoseconds; 0 = disabled.
static DEADLINES: [AtomicU64; N_TIMEOUTS] = [const { AtomicU64::new(0) }; N_TIMEOUTS];
/// Set by the handler when a timeout's deadline passed; cleared by
/// [`disable`] and [`take_fired_error`].
static FIRED: [AtomicBool; N_TIMEOUTS] = [const { AtomicBool::new(false) }; N_TIMEOUTS];
/// The process's timer (a `timer_t`), valid when `TIMER_PID` is our pid.
static TIMER: AtomicPtr<libc::c_void> = AtomicPtr::new(std::ptr::null_mut());
static TIMER_PID: AtomicI32 = AtomicI32::new(0);
/// Times the handler ran (for tests and debugging).
static EXPIRIES: AtomicU32 = AtomicU32::new(0);

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a local timespec; async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Arms the timer for the earliest enabled deadline, or disarms it.
fn schedule() {
    let timer = TIMER.load(Ordering::Acquire);
    let next = DEADLINES
        .iter()
        .map(|d| d.load(Ordering::Acquire))
        .filter(|&d| d != 0)
        .min();
    let value = match next {
        // An absolute time of 0 would disarm the timer; deadlines are
        // never 0 because the monotonic clock is far past it.
        Some(at) => libc::timespec {
            tv_sec: (at / 1_000_000_000) as libc::time_t,
            tv_nsec: (at % 1_000_000_000) as libc::c_long,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
    };
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: value,
    };
    // SAFETY: `timer` was returned by timer_create in this process;
    // timer_settime is async-signal-safe.
    unsafe { libc::timer_settime(timer, libc::TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
}

extern "C" fn on_sigalrm(_signo: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot.
    let saved = unsafe { *libc::__errno_location() };
    EXPIRIES.fetch_add(1, Ordering::Relaxed);
    let now = now_ns();
    let mut any = false;
    for (i, d) in DEADLINES.iter().enumerate() {
        let at = d.load(Ordering::Acquire);
        if at != 0
            && at <= now
            && d.compare_exchange(at, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            FIRED[i].store(true, Ordering::Release);
            any = true;
        }
    }
    schedule();
    if any {
        signals::interrupt_from_handler(signals::TIMEOUT_PENDING);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Creates this process's timer and installs the SIGALRM handler, once per
/// process.
fn ensure_timer() {
    let pid = std::process::id() as i32;
    if TIMER_PID.load(Ordering::Acquire) == pid {
        return;
    }
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let handler = SigAction::new(
        SigHandler::Handler(on_sigalrm),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only touches atomics and calls async-signal-safe
    // functions (rule 3).
    unsafe { sigaction(Signal::SIGALRM, &handler).expect("sigaction(SIGALRM)") };
    // SAFETY: a zeroed sigevent is a valid starting value; we fill in the
    // fields SIGEV_SIGNAL uses.
    let mut sev: libc::sigevent = unsafe { std::mem::zeroed() };
    sev.sigev_notify = libc::SIGEV_SIGNAL;
    sev.sigev_signo = libc::SIGALRM;
    let mut timer: libc::timer_t = std::ptr::null_mut();
    // SAFETY: timer_create writes the new timer's id into `timer`.
    let rc = unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer) };
    assert_eq!(
        rc,
        0,
        "could not create timer: {}",
        std::io::Error::last_os_error()
    );
    for (d, f) in DEADLINES.iter().zip(&FIRED) {
        d.store(0, Ordering::Release);
        f.store(false, Ordering::Release);
    }
    TIMER.store(timer, Ordering::Release);
    TIMER_PID.store(pid, Ordering::Release);
}

/// Makes `id` fire `ms` milliseconds from now (replacing an earlier
/// deadline for it). `ms == 0` disables it, as a setting of 0 does.
pub fn enable_after(id: TimeoutId, ms: u64) {
    if ms == 0 {
        disable(id);
        return;
    }
    ensure_timer();
    FIRED[id as usize].store(false, Ordering::Release);
    let at = now_ns().saturating_add(ms.saturating_mul(1_000_000));
    DEADLINES[id as usize].store(at, Ordering::Release);
    schedule();
}

/// Whether `id` is enabled and has not fired yet.
pub fn is_active(id: TimeoutId) -> bool {
    DEADLINES[id as usize].load(Ordering::Acquire) != 0
}

/// Disables `id` and forgets that it fired (rule 2).
pub fn disable(id: TimeoutId) {
    let was = DEADLINES[id as usize].swap(0, Ordering::AcqRel);
    FIRED[id as usize].store(false, Ordering::Release);
    if was != 0 {
        schedule();
    }
}

/// The error of a fired timeout, clearing its mark; None if none fired.
/// Statement timeout first (it is the one a running statement can see).
pub fn take_fired_error() -> Option<PgError> {
    TimeoutId::ALL
        .into_iter()
        .find(|id| FIRED[*id as usize].swap(false, Ordering::AcqRel))
        .map(TimeoutId::error)
}

/// How often the timer expired in this process.
pub fn expiries() -> u32 {
    EXPIRIES.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_earliest_of_several_timeouts_fires_first_and_disabling_forgets_it() {
        enable_after(TimeoutId::IdleSessionTimeout, 60_000);
        enable_after(TimeoutId::StatementTimeout, 50);
        let start = Instant::now();
        let fired = loop {
            if let Some(e) = take_fired_error() {
                break e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "statement timeout did not fire"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(
            fired.message,
            "canceling statement due to statement timeout"
        );
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert!(!is_active(TimeoutId::StatementTimeout));
        assert!(is_active(TimeoutId::IdleSessionTimeout));
        disable(TimeoutId::IdleSessionTimeout);
        enable_after(TimeoutId::StatementTimeout, 20);
        disable(TimeoutId::StatementTimeout);
        std::thread::sleep(Duration::from_millis(60));
        assert!(take_fired_error().is_none());
    }
}
