//! Every kind of process ferrogres runs, in one table (PostgreSQL's
//! `proctypelist.h`), plus what every child has in common: its title, its
//! signals, its latch and its slot in the process array.
//!
//! Adding a background process means adding one [`ProcessKind`] variant, one
//! row in [`ProcessKind::info`], and one file under `src/bgproc/`.
//!
//! The restart rules in the table are what the postmaster applies when a
//! child exits (see `src/postmaster/README.md`).

pub mod procarray;
pub mod signals;
pub mod timeout;
pub mod title;

use std::sync::atomic::{AtomicPtr, Ordering};

use procarray::ProcSlot;

/// The kinds of process, as in DESIGN.md's process table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ProcessKind {
    Postmaster = 0,
    Backend,
    Startup,
    Checkpointer,
    BgWriter,
    WalWriter,
    AutovacLauncher,
    AutovacWorker,
    StatsCollector,
    Archiver,
    Logger,
    LogicalRepLauncher,
    ParallelWorker,
}

/// What the postmaster does when a child of this kind exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitRule {
    /// Any death other than a clean exit (code 0, or 1 for processes whose
    /// FATAL exit is normal) restarts the whole server.
    CrashRestart,
    /// Any death: start a new one alone; nothing else is touched.
    RestartAlone,
}

/// One row of the process table.
pub struct KindInfo {
    /// How the postmaster names it in log lines (`checkpointer process`).
    pub log_name: &'static str,
    /// `backend_type` in pg_stat_activity; None for the processes that do
    /// not appear there (logger, stats collector, postmaster).
    pub backend_type: Option<&'static str>,
    /// Whether it uses the shared-memory segment.
    pub attaches_shm: bool,
    pub on_abnormal_exit: ExitRule,
    /// Exit codes that count as a normal exit.
    pub clean_exit_codes: &'static [i32],
    /// Restarted by the postmaster after a clean exit while the server runs.
    pub restart_after_clean_exit: bool,
}

impl ProcessKind {
    pub const ALL: [ProcessKind; 13] = [
        ProcessKind::Postmaster,
        ProcessKind::Backend,
        ProcessKind::Startup,
        ProcessKind::Checkpointer,
        ProcessKind::BgWriter,
        ProcessKind::WalWriter,
        ProcessKind::AutovacLauncher,
        ProcessKind::AutovacWorker,
        ProcessKind::StatsCollector,
        ProcessKind::Archiver,
        ProcessKind::Logger,
        ProcessKind::LogicalRepLauncher,
        ProcessKind::ParallelWorker,
    ];

    pub fn from_u8(v: u8) -> Option<ProcessKind> {
        ProcessKind::ALL.get(v as usize).copied()
    }

    /// The process table of DESIGN.md §1.
    pub fn info(self) -> KindInfo {
        use ExitRule::*;
        let (log_name, backend_type, attaches_shm, on_abnormal_exit, clean, restart) = match self {
            ProcessKind::Postmaster => ("postmaster", None, true, CrashRestart, &[0][..], false),
            ProcessKind::Backend => (
                "server process",
                Some("client backend"),
                true,
                CrashRestart,
                &[0, 1][..],
                false,
            ),
            ProcessKind::Startup => (
                "startup process",
                Some("startup"),
                true,
                CrashRestart,
                &[0][..],
                false,
            ),
            ProcessKind::Checkpointer => (
                "checkpointer process",
                Some("checkpointer"),
                true,
                CrashRestart,
                &[0][..],
                false,
            ),
            ProcessKind::BgWriter => (
                "background writer process",
                Some("background writer"),
                true,
                CrashRestart,
                &[0][..],
                true,
            ),
            ProcessKind::WalWriter => (
                "WAL writer process",
                Some("walwriter"),
                true,
                CrashRestart,
                &[0][..],
                true,
            ),
            ProcessKind::AutovacLauncher => (
                "autovacuum launcher process",
                Some("autovacuum launcher"),
                true,
                CrashRestart,
                &[0][..],
                true,
            ),
            ProcessKind::AutovacWorker => (
                "autovacuum worker process",
                Some("autovacuum worker"),
                true,
                CrashRestart,
                &[0, 1][..],
                false,
            ),
            ProcessKind::StatsCollector => (
                "statistics collector process",
                None,
                false,
                RestartAlone,
                &[0][..],
                true,
            ),
            ProcessKind::Archiver => (
                "archiver process",
                Some("archiver"),
                true,
                CrashRestart,
                &[0][..],
                true,
            ),
            ProcessKind::Logger => (
                "system logger process",
                None,
                false,
                RestartAlone,
                &[0][..],
                true,
            ),
            ProcessKind::LogicalRepLauncher => (
                "background worker \"logical replication launcher\"",
                Some("logical replication launcher"),
                true,
                CrashRestart,
                &[0, 1][..],
                true,
            ),
            ProcessKind::ParallelWorker => (
                "background worker \"parallel worker\"",
                Some("parallel worker"),
                true,
                CrashRestart,
                &[0, 1][..],
                false,
            ),
        };
        KindInfo {
            log_name,
            backend_type,
            attaches_shm,
            on_abnormal_exit,
            clean_exit_codes: clean,
            restart_after_clean_exit: restart,
        }
    }

    /// The fixed part of the `ps` title (backends and workers add to it).
    pub fn title(self) -> &'static str {
        match self {
            ProcessKind::Postmaster => "",
            ProcessKind::Backend => "",
            ProcessKind::Startup => "startup",
            ProcessKind::Checkpointer => "checkpointer",
            ProcessKind::BgWriter => "background writer",
            ProcessKind::WalWriter => "walwriter",
            ProcessKind::AutovacLauncher => "autovacuum launcher",
            ProcessKind::AutovacWorker => "autovacuum worker",
            ProcessKind::StatsCollector => "stats collector",
            ProcessKind::Archiver => "archiver",
            ProcessKind::Logger => "logger",
            ProcessKind::LogicalRepLauncher => "logical replication launcher",
            ProcessKind::ParallelWorker => "parallel worker",
        }
    }
}

// ---------------------------------------------------------------------------
// This process's identity (PostgreSQL's MyProc / MyBackendType).
// ---------------------------------------------------------------------------

static MY_SLOT: AtomicPtr<ProcSlot> = AtomicPtr::new(std::ptr::null_mut());

/// Records the slot this process owns.
pub fn set_my_slot(slot: &'static ProcSlot) {
    MY_SLOT.store(slot as *const ProcSlot as *mut ProcSlot, Ordering::Release);
}

/// The slot this process owns, if it attached to shared memory.
pub fn my_slot() -> Option<&'static ProcSlot> {
    let p = MY_SLOT.load(Ordering::Acquire);
    if p.is_null() {
        None
    } else {
        // SAFETY: only ever set from a `&'static ProcSlot` by `set_my_slot`.
        Some(unsafe { &*p })
    }
}

/// Keeps the per-process LWLock count in the slot (DESIGN §2: what a process
/// holds at death decides whether its death can be cleaned up).
pub fn held_lwlocks_changed(delta: i32) {
    if let Some(slot) = my_slot() {
        if delta > 0 {
            slot.held_lwlocks.fetch_add(delta as u32, Ordering::Relaxed);
        } else {
            slot.held_lwlocks
                .fetch_sub((-delta) as u32, Ordering::Relaxed);
        }
    }
}

/// Attaches a child that uses shared memory to the storage subsystems
/// living there: its relation-file manager and the shared buffer pool (whose
/// writes must first flush WAL up to the page's LSN).
pub fn attach_storage(data_dir: &std::path::Path) {
    crate::storage::smgr::init_process(data_dir);
    crate::storage::buffer::attach_process(
        crate::storage::shmem::get(),
        crate::storage::wal::flush,
    );
}

/// Leaves the process: drops buffer pins, releases the process-array slot,
/// then `_exit`s. Every child ends here; none returns into the postmaster's code.
pub fn proc_exit(code: i32) -> ! {
    if let Some(slot) = my_slot() {
        crate::storage::buffer::at_proc_exit();
        slot.release();
    }
    let _ = std::io::Write::flush(&mut std::io::stderr());
    // SAFETY: _exit never returns; we deliberately skip atexit handlers and
    // destructors that belong to the postmaster's state inherited by fork.
    unsafe { libc::_exit(code) }
}
