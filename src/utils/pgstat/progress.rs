//! Command progress in shared memory (PostgreSQL's `st_progress_command`
//! and `st_progress_param` of `PgBackendStatus`, `backend_progress.c`):
//! VACUUM and COPY report through [`ProgressReporter`], and
//! `pg_stat_progress_vacuum` / `pg_stat_progress_copy` read the slots.
//!
//! One [`ProgressSlot`] per process-array slot, in a region of its own
//! ("VacuumProgress", named for its first user). The owner of the process-array slot is the only
//! writer of the progress slot with the same index; readers copy the
//! fields under the slot's `changecount` (even when stable, odd while the
//! owner writes), retrying a torn copy, as PostgreSQL's
//! `pgstat_begin_write_activity` protocol does.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use crate::storage::types::Oid;
use crate::utils::guc::Settings;

/// Phases of `pg_stat_progress_vacuum.phase`, PostgreSQL 15's numbers.
pub const PHASE_SCAN_HEAP: i64 = 1;
pub const PHASE_VACUUM_INDEX: i64 = 2;
pub const PHASE_VACUUM_HEAP: i64 = 3;
pub const PHASE_INDEX_CLEANUP: i64 = 4;
pub const PHASE_TRUNCATE: i64 = 5;
pub const PHASE_FINAL_CLEANUP: i64 = 6;

/// The command a slot reports (`ProgressCommandType`, PostgreSQL's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressCommand {
    Vacuum = 1,
    Copy = 6,
}

/// COPY's parameters, PostgreSQL's `PROGRESS_COPY_*` indexes and values.
pub const COPY_BYTES_PROCESSED: usize = 0;
pub const COPY_BYTES_TOTAL: usize = 1;
pub const COPY_TUPLES_PROCESSED: usize = 2;
pub const COPY_TUPLES_EXCLUDED: usize = 3;
pub const COPY_COMMAND: usize = 4;
pub const COPY_TYPE: usize = 5;
pub const COPY_COMMAND_FROM: i64 = 1;
pub const COPY_COMMAND_TO: i64 = 2;
pub const COPY_TYPE_FILE: i64 = 1;
pub const COPY_TYPE_PROGRAM: i64 = 2;
pub const COPY_TYPE_PIPE: i64 = 3;

/// The parameters, PostgreSQL's `PROGRESS_VACUUM_*` indexes.
pub const PARAM_PHASE: usize = 0;
pub const PARAM_TOTAL_HEAP_BLKS: usize = 1;
pub const PARAM_HEAP_BLKS_SCANNED: usize = 2;
pub const PARAM_HEAP_BLKS_VACUUMED: usize = 3;
pub const PARAM_NUM_INDEX_VACUUMS: usize = 4;
pub const PARAM_MAX_DEAD_TUPLES: usize = 5;
pub const PARAM_NUM_DEAD_TUPLES: usize = 6;
pub const NPARAMS: usize = 7;

/// The name PostgreSQL's `pg_stat_progress_vacuum` shows for a phase.
pub fn phase_name(phase: i64) -> &'static str {
    match phase {
        PHASE_SCAN_HEAP => "scanning heap",
        PHASE_VACUUM_INDEX => "vacuuming indexes",
        PHASE_VACUUM_HEAP => "vacuuming heap",
        PHASE_INDEX_CLEANUP => "cleaning up indexes",
        PHASE_TRUNCATE => "truncating heap",
        PHASE_FINAL_CLEANUP => "performing final cleanup",
        _ => "initializing",
    }
}

/// One process's progress. All fields written by the owner only.
#[repr(C)]
pub struct ProgressSlot {
    /// Even when stable; odd while the owner writes.
    changecount: AtomicU32,
    /// The [`ProgressCommand`] running in this process, 0 for none.
    command: AtomicU32,
    datid: AtomicU32,
    relid: AtomicU32,
    params: [AtomicI64; NPARAMS],
}

/// A consistent copy of a slot that has a command running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub command: u32,
    pub datid: Oid,
    pub relid: Oid,
    pub params: [i64; NPARAMS],
}

fn region_size(settings: &Settings) -> usize {
    crate::process::procarray::ProcArray::slot_count(settings) * size_of::<ProgressSlot>()
}

/// # Safety
/// Zeroed memory is the initial state (no command running).
unsafe fn init(_base: *mut u8, _settings: &Settings) {}

/// The registry entry (`crate::storage::shmem::REGIONS`).
pub const REGION: crate::storage::shmem::Region = crate::storage::shmem::Region {
    name: "VacuumProgress",
    size: region_size,
    init,
};

/// The progress slots of the server's segment.
fn slots() -> Option<&'static [ProgressSlot]> {
    let seg = crate::storage::shmem::try_get()?;
    let n = seg.procarray().slots().len();
    let base = seg.region(crate::storage::shmem::RegionId::VacuumProgress);
    // SAFETY: the region holds one zero-initialised ProgressSlot per
    // process-array slot (region_size) and lives as long as the process.
    Some(unsafe { std::slice::from_raw_parts(base as *const ProgressSlot, n) })
}

/// This process's slot, if it has a process-array slot.
fn my_progress_slot() -> Option<&'static ProgressSlot> {
    let me = crate::process::my_slot()?;
    let seg = crate::storage::shmem::try_get()?;
    let idx = seg
        .procarray()
        .slots()
        .iter()
        .position(|s| std::ptr::eq(s, me))?;
    slots()?.get(idx)
}

impl ProgressSlot {
    fn write(&self, f: impl FnOnce(&ProgressSlot)) {
        let before = self.changecount.fetch_add(1, Ordering::AcqRel);
        assert!(before.is_multiple_of(2), "nested progress update");
        f(self);
        self.changecount.fetch_add(1, Ordering::AcqRel);
    }

    fn read(&self) -> Option<Progress> {
        for _ in 0..1000 {
            let before = self.changecount.load(Ordering::Acquire);
            if !before.is_multiple_of(2) {
                std::hint::spin_loop();
                continue;
            }
            let p = Progress {
                command: self.command.load(Ordering::Relaxed),
                datid: self.datid.load(Ordering::Relaxed),
                relid: self.relid.load(Ordering::Relaxed),
                params: std::array::from_fn(|i| self.params[i].load(Ordering::Relaxed)),
            };
            let running = self.command.load(Ordering::Relaxed) != 0;
            if self.changecount.load(Ordering::Acquire) == before {
                return running.then_some(p);
            }
        }
        None
    }
}

/// Handle the VACUUM code reports through; a no-op outside a server
/// process (unit tests).
#[derive(Clone, Copy)]
pub struct ProgressReporter(Option<&'static ProgressSlot>);

impl ProgressReporter {
    /// `pgstat_progress_start_command(command, relid)`.
    pub fn start(command: ProgressCommand, datid: Oid, relid: Oid) -> ProgressReporter {
        let slot = my_progress_slot();
        if let Some(s) = slot {
            s.write(|s| {
                s.datid.store(datid, Ordering::Relaxed);
                s.relid.store(relid, Ordering::Relaxed);
                for p in &s.params {
                    p.store(0, Ordering::Relaxed);
                }
                s.command.store(command as u32, Ordering::Relaxed);
            });
        }
        ProgressReporter(slot)
    }

    /// A reporter that reports nothing.
    pub fn none() -> ProgressReporter {
        ProgressReporter(None)
    }

    /// `pgstat_progress_update_param`.
    pub fn update(&self, param: usize, value: i64) {
        if let Some(s) = self.0 {
            s.write(|s| s.params[param].store(value, Ordering::Relaxed));
        }
    }

    /// `pgstat_progress_end_command`.
    pub fn end(&self) {
        if let Some(s) = self.0 {
            s.write(|s| s.command.store(0, Ordering::Relaxed));
        }
    }
}

/// Every process running `command`: (pid, progress), for the
/// `pg_stat_progress_*` views.
pub fn running(command: ProgressCommand) -> Vec<(i32, Progress)> {
    let (Some(seg), Some(slots)) = (crate::storage::shmem::try_get(), slots()) else {
        return Vec::new();
    };
    seg.procarray()
        .slots()
        .iter()
        .zip(slots)
        .filter_map(|(proc, prog)| {
            let pid = proc.pid.load(Ordering::Acquire);
            if pid == 0 {
                return None;
            }
            prog.read()
                .filter(|p| p.command == command as u32)
                .map(|p| (pid, p))
        })
        .collect()
}
