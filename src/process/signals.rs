//! Signals in child processes (PostgreSQL's `pqsignal`, `procsignal` and
//! `quickdie`).
//!
//! The postmaster blocks its signals and reads them from a signalfd; a
//! child unblocks them right after fork and installs these handlers. A
//! handler only does async-signal-safe things: it sets a bit in
//! [`PENDING`], sets the process's latch, and writes one byte to the
//! process's self-pipe (so a backend waiting in `poll` on its client socket
//! wakes up too). The process's main loop then acts on the bits.
//!
//! SIGQUIT is different: it means "exit now" (crash of a sibling or
//! immediate shutdown). The handler writes a prepared NoticeResponse to the
//! client, if there is one, and `_exit(2)`s. The postmaster says which of the
//! two it is through the signal's `sigqueue` value, so that it never has to
//! write to shared memory.
//!
//! Postmaster death reaches a child as [`SIG_POSTMASTER_DEATH`] through
//! `PR_SET_PDEATHSIG`. Every child but the logger exits from the handler
//! itself, as for SIGQUIT (a backend first writes `FATAL: terminating
//! connection due to unexpected postmaster exit` to its client): a process
//! never has to reach a check to notice, whatever loop or wait it is in —
//! a checkpoint's pacing sleep, a long query, a lock wait. Dying there is as
//! safe as `kill -9`, which recovery already covers. (PostgreSQL notices
//! only where a process waits; the interlock, `storage::shmem::interlock`,
//! is what keeps a new postmaster off the files meanwhile, and ending every
//! orphan at once lets that new postmaster start within a moment.) The
//! logger instead drains its pipe for up to a second, so the last lines of
//! the dying processes reach the log.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use super::procarray::Latch;

pub const SIGHUP_PENDING: u32 = 1 << 0;
pub const SIGTERM_PENDING: u32 = 1 << 1;
pub const SIGINT_PENDING: u32 = 1 << 2;
pub const SIGUSR1_PENDING: u32 = 1 << 3;
pub const SIGUSR2_PENDING: u32 = 1 << 4;
pub const POSTMASTER_DEATH_PENDING: u32 = 1 << 5;
/// A timeout of `super::timeout` fired (its SIGALRM handler sets this).
pub const TIMEOUT_PENDING: u32 = 1 << 6;

/// Signal the kernel sends a child when the postmaster dies.
pub const SIG_POSTMASTER_DEATH: Signal = Signal::SIGPWR;

/// `sigqueue` values the postmaster attaches to SIGQUIT.
pub const QUIT_FOR_CRASH: i32 = 1;
pub const QUIT_FOR_IMMEDIATE_SHUTDOWN: i32 = 2;

/// Pending-interrupt bits set by the handlers.
pub static PENDING: AtomicU32 = AtomicU32::new(0);

static LATCH: AtomicPtr<Latch> = AtomicPtr::new(std::ptr::null_mut());
static SELF_PIPE_READ: AtomicI32 = AtomicI32::new(-1);
static SELF_PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Client socket and prepared messages for the SIGQUIT handler.
static QUIT_FD: AtomicI32 = AtomicI32::new(-1);
static QUIT_MSG_CRASH: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());
static QUIT_MSG_SHUTDOWN: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());
static QUIT_MSG_POSTMASTER_DEATH: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());

/// A latch for processes without a process-array slot (logger, stats collector).
static LOCAL_LATCH: Latch = Latch::new();

/// Takes (and clears) the given pending bits; returns which were set.
pub fn take(bits: u32) -> u32 {
    PENDING.fetch_and(!bits, Ordering::AcqRel) & bits
}

/// Looks at pending bits without clearing them.
pub fn peek(bits: u32) -> u32 {
    PENDING.load(Ordering::Acquire) & bits
}

/// The latch this process waits on.
pub fn my_latch() -> &'static Latch {
    let p = LATCH.load(Ordering::Acquire);
    if p.is_null() {
        &LOCAL_LATCH
    } else {
        // SAFETY: only set from `&'static Latch` values.
        unsafe { &*p }
    }
}

/// Makes the handlers set `latch` (the slot's latch, once the process has a slot).
pub fn set_latch_target(latch: &'static Latch) {
    LATCH.store(latch as *const Latch as *mut Latch, Ordering::Release);
}

/// The read end of the self-pipe, for `poll`.
pub fn self_pipe_fd() -> i32 {
    SELF_PIPE_READ.load(Ordering::Relaxed)
}

/// Empties the self-pipe after poll reported it readable.
pub fn drain_self_pipe() {
    let fd = SELF_PIPE_READ.load(Ordering::Relaxed);
    let mut buf = [0u8; 64];
    // SAFETY: reading into a local buffer from our own non-blocking pipe.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

extern "C" fn on_signal(signo: libc::c_int) {
    let bit = match signo {
        libc::SIGHUP => SIGHUP_PENDING,
        libc::SIGTERM => SIGTERM_PENDING,
        libc::SIGINT => SIGINT_PENDING,
        libc::SIGUSR1 => SIGUSR1_PENDING,
        libc::SIGUSR2 => SIGUSR2_PENDING,
        _ => 0,
    };
    // Keep errno: the interrupted code may be about to read it.
    // SAFETY: __errno_location returns this thread's errno slot.
    let saved = unsafe { *libc::__errno_location() };
    PENDING.fetch_or(bit, Ordering::AcqRel);
    my_latch().set();
    let fd = SELF_PIPE_WRITE.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe just fails (EAGAIN).
        unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Postmaster death for every child but the logger: tell the client, if
/// any, and exit at once (the process may be anywhere: a sleep, a scan, a
/// lock wait).
extern "C" fn on_postmaster_death(_signo: libc::c_int) {
    write_prepared(&QUIT_MSG_POSTMASTER_DEATH);
    // SAFETY: _exit is async-signal-safe. Nobody reaps the code: the
    // postmaster is gone.
    unsafe { libc::_exit(1) };
}

/// Postmaster death for the logger: a bit its loop acts on.
extern "C" fn on_postmaster_death_flag(_signo: libc::c_int) {
    interrupt_from_handler(POSTMASTER_DEATH_PENDING);
}

/// What a signal handler does to wake its process: set `bit` in
/// [`PENDING`], set the latch, write a byte to the self-pipe. Only
/// async-signal-safe calls; for handlers outside this module (timeouts).
pub(crate) fn interrupt_from_handler(bit: u32) {
    PENDING.fetch_or(bit, Ordering::AcqRel);
    my_latch().set();
    let fd = SELF_PIPE_WRITE.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe just fails (EAGAIN).
        unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
}

/// Writes a message prepared by `prepare_quit_messages` to the client
/// socket, if this process has one. Async-signal-safe.
fn write_prepared(msg: &AtomicPtr<Vec<u8>>) {
    let fd = QUIT_FD.load(Ordering::Relaxed);
    let p = msg.load(Ordering::Acquire);
    if fd >= 0 && !p.is_null() {
        // SAFETY: the message Vec was leaked by `prepare_quit_messages` and is
        // never freed; write(2) is async-signal-safe.
        unsafe {
            let v = &*p;
            libc::write(fd, v.as_ptr().cast(), v.len());
        }
    }
}

extern "C" fn on_sigquit(_signo: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let value = unsafe { (*info).si_value().sival_ptr as usize as i32 };
    write_prepared(if value == QUIT_FOR_IMMEDIATE_SHUTDOWN {
        &QUIT_MSG_SHUTDOWN
    } else {
        &QUIT_MSG_CRASH
    });
    // SAFETY: _exit is async-signal-safe. Exit code 2 tells the postmaster
    // this child did not exit cleanly, as in PostgreSQL.
    unsafe { libc::_exit(2) };
}

/// Resets signals after fork: unblocks everything the postmaster blocked,
/// installs the handlers, makes the self-pipe, and asks for a signal when
/// the postmaster dies. `postmaster_pid` guards the fork/prctl race.
/// `drain_on_postmaster_death` is for the logger alone: it gets a pending
/// bit instead of exiting in the handler.
pub fn setup_child(postmaster_pid: i32, drain_on_postmaster_death: bool) {
    let death = SigAction::new(
        SigHandler::Handler(if drain_on_postmaster_death {
            on_postmaster_death_flag
        } else {
            on_postmaster_death
        }),
        SaFlags::empty(),
        SigSet::all(),
    );
    let handler = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let quit = SigAction::new(
        SigHandler::SigAction(on_sigquit),
        SaFlags::SA_SIGINFO,
        SigSet::all(),
    );
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: the handlers only touch atomics and call async-signal-safe
    // functions; we are single-threaded right after fork.
    unsafe {
        for sig in [
            Signal::SIGHUP,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
        ] {
            sigaction(sig, &handler).expect("sigaction");
        }
        sigaction(SIG_POSTMASTER_DEATH, &death).expect("sigaction");
        sigaction(Signal::SIGQUIT, &quit).expect("sigaction");
        sigaction(Signal::SIGPIPE, &ignore).expect("sigaction");
        sigaction(Signal::SIGCHLD, &default).expect("sigaction");
    }
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the local array.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "could not create self-pipe");
    SELF_PIPE_READ.store(fds[0], Ordering::Relaxed);
    SELF_PIPE_WRITE.store(fds[1], Ordering::Relaxed);
    PENDING.store(0, Ordering::Relaxed);
    // SAFETY: plain prctl; the signal number is valid.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            SIG_POSTMASTER_DEATH as libc::c_int as libc::c_ulong,
        )
    };
    SigSet::all().thread_unblock().expect("sigprocmask");
    if nix::unistd::getppid().as_raw() != postmaster_pid {
        // The postmaster died between fork and prctl: act as the signal would.
        if !drain_on_postmaster_death {
            // SAFETY: _exit ends this freshly forked child before it did anything.
            unsafe { libc::_exit(1) };
        }
        PENDING.fetch_or(POSTMASTER_DEATH_PENDING, Ordering::AcqRel);
    }
}

/// Makes SIGTERM ignored (checkpointer, logger).
pub fn ignore(sig: Signal) {
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_IGN is always sound.
    unsafe { sigaction(sig, &ignore).expect("sigaction") };
}

/// Gives the SIGQUIT and postmaster-death handlers the client socket and
/// the three reports they may send (crash of another process; immediate
/// shutdown; postmaster death).
pub fn prepare_quit_messages(
    fd: i32,
    crash: Vec<u8>,
    shutdown: Vec<u8>,
    postmaster_death: Vec<u8>,
) {
    QUIT_MSG_CRASH.store(Box::into_raw(Box::new(crash)), Ordering::Release);
    QUIT_MSG_SHUTDOWN.store(Box::into_raw(Box::new(shutdown)), Ordering::Release);
    QUIT_MSG_POSTMASTER_DEATH.store(Box::into_raw(Box::new(postmaster_death)), Ordering::Release);
    QUIT_FD.store(fd, Ordering::Release);
}

/// Sends SIGQUIT with a reason, as the postmaster does.
pub fn send_quit(pid: i32, reason: i32) -> std::io::Result<()> {
    let value = libc::sigval {
        sival_ptr: reason as usize as *mut libc::c_void,
    };
    // SAFETY: sigqueue with a valid signal number and a plain value.
    let rc = unsafe { libc::sigqueue(pid, libc::SIGQUIT, value) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// PostgreSQL's CHECK_FOR_INTERRUPTS for processes that run statements
/// (backends, autovacuum workers): turns pending signals into errors.
/// Postmaster death and SIGTERM end the process (FATAL 57P01); a fired
/// timeout gives its error (`super::timeout`); SIGINT cancels the current
/// statement or task (57014).
pub fn check_interrupts() -> crate::utils::elog::PgResult<()> {
    use crate::utils::elog::{PgError, sqlstate};
    if peek(SIGTERM_PENDING | SIGINT_PENDING | POSTMASTER_DEATH_PENDING | TIMEOUT_PENDING) == 0 {
        return Ok(());
    }
    if take(POSTMASTER_DEATH_PENDING) != 0 {
        return Err(PgError::fatal(
            sqlstate::ADMIN_SHUTDOWN,
            "terminating connection due to unexpected postmaster exit",
        ));
    }
    if take(SIGTERM_PENDING) != 0 {
        return Err(PgError::fatal(
            sqlstate::ADMIN_SHUTDOWN,
            "terminating connection due to administrator command",
        ));
    }
    // A fired timeout (statement, idle) before a plain cancel, as in
    // PostgreSQL's ProcessInterrupts.
    if take(TIMEOUT_PENDING) != 0
        && let Some(e) = super::timeout::take_fired_error()
    {
        return Err(e);
    }
    if take(SIGINT_PENDING) != 0 {
        return Err(PgError::error(
            sqlstate::QUERY_CANCELED,
            "canceling statement due to user request",
        ));
    }
    Ok(())
}

/// `pg_strsignal`: the description PostgreSQL's messages give a signal
/// (`terminated by signal 9: Killed`).
pub fn signal_description(sig: Signal) -> &'static str {
    match sig {
        Signal::SIGKILL => "Killed",
        Signal::SIGABRT => "Aborted",
        Signal::SIGSEGV => "Segmentation fault",
        Signal::SIGQUIT => "Quit",
        Signal::SIGTERM => "Terminated",
        Signal::SIGINT => "Interrupt",
        Signal::SIGBUS => "Bus error",
        Signal::SIGFPE => "Floating point exception",
        Signal::SIGILL => "Illegal instruction",
        Signal::SIGHUP => "Hangup",
        Signal::SIGUSR1 => "User defined signal 1",
        Signal::SIGUSR2 => "User defined signal 2",
        _ => "Unknown signal",
    }
}
