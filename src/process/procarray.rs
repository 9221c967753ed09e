//! The process array: one slot per process that attaches to shared memory
//! (PostgreSQL's PGPROC array and `PgBackendStatus` array in one).
//!
//! A slot holds who owns it (pid, kind, cancel key), its latch, the
//! bookkeeping the crash rules need (LWLocks held, critical section), and
//! the activity status that `pg_stat_activity` shows.
//!
//! Rules:
//! 1. A process claims a free slot with a compare-and-swap of `pid` from 0
//!    to its own pid, and frees it by storing 0 on its way out
//!    ([`crate::process::proc_exit`]). Nobody else writes `pid`.
//! 2. Client backends take slots from `[0, max_connections)`; every other
//!    kind from the auxiliary range after it. So `max_connections` is
//!    enforced here, by the backend itself, with PostgreSQL's 53300 errors.
//! 3. The status is written only by the owner, inside the `changecount`
//!    protocol (PostgreSQL's `st_changecount`): increment to odd, write,
//!    increment to even. Readers copy the status and retry until they saw
//!    the same even count before and after.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU8, AtomicU32, Ordering};

use super::ProcessKind;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::Settings;

/// Slots reserved for processes other than client backends.
const AUX_SLOTS: usize = 16;

/// Length of `query` kept, as `track_activity_query_size` (1024) in PostgreSQL.
pub const QUERY_BYTES: usize = 1024;
const NAME_BYTES: usize = 64;

/// A process's latch: a flag plus a futex to sleep on (PostgreSQL's `Latch`).
#[repr(C)]
pub struct Latch {
    /// 1 when set. Set by anyone; reset only by the owner (in `wait`).
    is_set: AtomicU32,
}

impl Latch {
    pub const fn new() -> Latch {
        Latch {
            is_set: AtomicU32::new(0),
        }
    }

    /// Sets the latch, waking its owner. Async-signal-safe.
    pub fn set(&self) {
        if self.is_set.swap(1, Ordering::AcqRel) == 0 {
            crate::storage::lock::futex_wake(&self.is_set, 1);
        }
    }

    /// Waits until the latch is set or the timeout passes, and resets it.
    /// Returns true if it was set. Owner only.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        if self.is_set.swap(0, Ordering::AcqRel) == 1 {
            return true;
        }
        crate::storage::lock::futex_wait(&self.is_set, 0, Some(timeout));
        self.is_set.swap(0, Ordering::AcqRel) == 1
    }
}

/// What a backend is doing, as `pg_stat_activity.state` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BackendState {
    Undefined = 0,
    Idle,
    Running,
    IdleInTransaction,
    IdleInTransactionAborted,
    FastPath,
    Disabled,
}

impl BackendState {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            BackendState::Undefined => None,
            BackendState::Idle => Some("idle"),
            BackendState::Running => Some("active"),
            BackendState::IdleInTransaction => Some("idle in transaction"),
            BackendState::IdleInTransactionAborted => Some("idle in transaction (aborted)"),
            BackendState::FastPath => Some("fastpath function call"),
            BackendState::Disabled => Some("disabled"),
        }
    }
    fn from_u8(v: u8) -> BackendState {
        match v {
            1 => BackendState::Idle,
            2 => BackendState::Running,
            3 => BackendState::IdleInTransaction,
            4 => BackendState::IdleInTransactionAborted,
            5 => BackendState::FastPath,
            6 => BackendState::Disabled,
            _ => BackendState::Undefined,
        }
    }
}

/// The activity status of one process. Plain data, copied in and out under
/// the slot's changecount protocol.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct BackendStatus {
    pub state: u8,
    pub datid: u32,
    pub usesysid: u32,
    pub client_port: i32,
    pub backend_start: i64,
    pub xact_start: i64,
    pub query_start: i64,
    pub state_change: i64,
    pub datname: [u8; NAME_BYTES],
    pub usename: [u8; NAME_BYTES],
    pub application_name: [u8; NAME_BYTES],
    /// Empty for local (Unix-socket) connections and background processes.
    pub client_addr: [u8; NAME_BYTES],
    pub wait_event_type: [u8; 32],
    pub wait_event: [u8; 32],
    pub query: [u8; QUERY_BYTES],
    /// The connection is TLS (`pg_stat_ssl`, PostgreSQL's `PgBackendSSLStatus`);
    /// the strings below are empty otherwise, and cut at NAMEDATALEN - 1
    /// bytes as PostgreSQL's are.
    pub ssl: u8,
    pub ssl_bits: i32,
    pub ssl_version: [u8; NAME_BYTES],
    pub ssl_cipher: [u8; NAME_BYTES],
    pub ssl_client_dn: [u8; NAME_BYTES],
    pub ssl_client_serial: [u8; NAME_BYTES],
    pub ssl_issuer_dn: [u8; NAME_BYTES],
}

impl BackendStatus {
    pub fn zeroed() -> BackendStatus {
        // SAFETY: every field is an integer or byte array; all-zero is valid.
        unsafe { std::mem::zeroed() }
    }
    pub fn backend_state(&self) -> BackendState {
        BackendState::from_u8(self.state)
    }
}

/// Copies `s` into a fixed NUL-padded buffer, cutting at a char boundary.
pub fn put_str<const N: usize>(dst: &mut [u8; N], s: &str) {
    let mut n = s.len().min(N - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
    dst[n..].fill(0);
}

/// Reads a NUL-padded buffer back as a string.
pub fn get_str(src: &[u8]) -> String {
    let end = src.iter().position(|&b| b == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}

#[repr(C)]
pub struct ProcSlot {
    /// Owner's pid, 0 when free. Rule 1.
    pub pid: AtomicI32,
    /// `ProcessKind as u8`. Written by the owner right after claiming.
    pub kind: AtomicU8,
    /// Secret key for CancelRequest. Written by the owner after claiming.
    pub cancel_key: AtomicI32,
    /// Whether the owner is a superuser (for pg_signal_backend checks).
    pub is_superuser: AtomicU8,
    /// Role OID of the owner (0 for background processes).
    pub role_oid: AtomicU32,
    pub latch: Latch,
    /// Number of LWLocks the owner holds (DESIGN §2).
    pub held_lwlocks: AtomicU32,
    /// Nesting depth of critical sections the owner is in.
    pub crit_section_depth: AtomicU32,
    /// Unix time (µs since the PostgreSQL epoch) the owner started.
    pub backend_start: AtomicI64,
    /// Top-level transaction id the owner has assigned, 0 if none
    /// (PostgreSQL's `PGPROC.xid`). Written by the owner; read by snapshots.
    pub xid: std::sync::atomic::AtomicU64,
    /// Oldest xid the owner's snapshots may still need, 0 if none
    /// (PostgreSQL's `PGPROC.xmin`). Written by the owner.
    pub xmin: std::sync::atomic::AtomicU64,
    /// Even when the status is stable. Rule 3.
    changecount: AtomicU32,
    /// Written only by the owner, under `changecount`.
    status: UnsafeCell<BackendStatus>,
}

// SAFETY: `status` is only written by the owning process under the
// changecount protocol and read by copying with retry; every other field is atomic.
unsafe impl Sync for ProcSlot {}

impl ProcSlot {
    /// Frees the slot (owner only).
    pub fn release(&self) {
        self.update_status(|st| *st = BackendStatus::zeroed());
        self.cancel_key.store(0, Ordering::Relaxed);
        self.xid.store(0, Ordering::Relaxed);
        self.xmin.store(0, Ordering::Relaxed);
        self.pid.store(0, Ordering::Release);
    }

    pub fn kind(&self) -> Option<ProcessKind> {
        ProcessKind::from_u8(self.kind.load(Ordering::Acquire))
    }

    /// Changes the status (owner only), following the changecount protocol.
    pub fn update_status(&self, f: impl FnOnce(&mut BackendStatus)) {
        let before = self.changecount.fetch_add(1, Ordering::AcqRel);
        assert!(before % 2 == 0, "nested status update");
        // SAFETY: only the owner writes `status`, and it is between the two
        // increments, so readers will discard anything torn they copy now.
        unsafe { f(&mut *self.status.get()) };
        self.changecount.fetch_add(1, Ordering::AcqRel);
    }

    /// Copies a consistent status, or None if the slot is free.
    pub fn read_status(&self) -> Option<BackendStatus> {
        for _ in 0..1000 {
            let before = self.changecount.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            // SAFETY: a volatile copy of plain data; a torn copy is detected
            // by the changecount check below and thrown away.
            let copy = unsafe { std::ptr::read_volatile(self.status.get()) };
            std::sync::atomic::fence(Ordering::Acquire);
            if self.changecount.load(Ordering::Acquire) == before {
                return Some(copy);
            }
        }
        None
    }
}

/// A view of the array laid out in the shared segment.
#[derive(Clone, Copy)]
pub struct ProcArray {
    slots: &'static [ProcSlot],
    max_connections: usize,
    reserved_connections: usize,
}

impl ProcArray {
    pub fn slot_count(settings: &Settings) -> usize {
        settings.get_int("max_connections") as usize
            + AUX_SLOTS
            + settings.get_int("autovacuum_max_workers") as usize
            + settings.get_int("max_worker_processes") as usize
    }

    /// The process array's place in the shared-memory registry.
    pub const REGION: crate::storage::shmem::Region = crate::storage::shmem::Region {
        name: "ProcArray",
        size: ProcArray::region_size,
        init: ProcArray::init,
    };

    fn region_size(settings: &Settings) -> usize {
        std::mem::size_of::<ProcArrayHeader>()
            + ProcArray::slot_count(settings) * std::mem::size_of::<ProcSlot>()
    }

    /// # Safety
    /// `base` points at `region_size(settings)` zeroed bytes of the shared segment.
    unsafe fn init(base: *mut u8, _settings: &Settings) {
        // All-zero is the initial state of every field (free slots, unset
        // latches); only the header needs a mark.
        // SAFETY: caller guarantees `base` is valid for the header.
        unsafe {
            let header = &*(base as *const ProcArrayHeader);
            header.initialised.store(1, Ordering::Release);
        }
    }

    /// # Safety
    /// `base` was initialised by `init` with the same settings, and lives as
    /// long as the process (the segment is never unmapped under a child).
    pub unsafe fn from_raw(base: *mut u8, settings: &Settings) -> ProcArray {
        // SAFETY: caller guarantees the layout; the slots follow the header.
        let slots = unsafe {
            let first = base.add(std::mem::size_of::<ProcArrayHeader>()) as *const ProcSlot;
            std::slice::from_raw_parts(first, ProcArray::slot_count(settings))
        };
        ProcArray {
            slots,
            max_connections: settings.get_int("max_connections") as usize,
            reserved_connections: settings.get_int("superuser_reserved_connections") as usize,
        }
    }

    pub fn slots(&self) -> &'static [ProcSlot] {
        self.slots
    }

    /// Claims a slot for this process. Client backends get PostgreSQL's
    /// 53300 errors when none is left for them.
    pub fn claim(&self, kind: ProcessKind, is_superuser: bool) -> PgResult<&'static ProcSlot> {
        let pid = std::process::id() as i32;
        let range = if kind == ProcessKind::Backend {
            0..self.max_connections.min(self.slots.len())
        } else {
            self.max_connections.min(self.slots.len())..self.slots.len()
        };
        if kind == ProcessKind::Backend && !is_superuser {
            let free = self.slots[range.clone()]
                .iter()
                .filter(|s| s.pid.load(Ordering::Acquire) == 0)
                .count();
            if free > 0 && free <= self.reserved_connections {
                return Err(PgError::fatal(
                    sqlstate::TOO_MANY_CONNECTIONS,
                    "remaining connection slots are reserved for non-replication superuser connections",
                ));
            }
        }
        for slot in &self.slots[range] {
            if slot
                .pid
                .compare_exchange(0, pid, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.kind.store(kind as u8, Ordering::Release);
                slot.is_superuser
                    .store(is_superuser as u8, Ordering::Relaxed);
                slot.held_lwlocks.store(0, Ordering::Relaxed);
                slot.crit_section_depth.store(0, Ordering::Relaxed);
                slot.backend_start
                    .store(crate::utils::time::now_timestamptz(), Ordering::Relaxed);
                return Ok(slot);
            }
        }
        Err(PgError::fatal(
            sqlstate::TOO_MANY_CONNECTIONS,
            "sorry, too many clients already",
        ))
    }

    /// The slot owned by `pid`, if any.
    pub fn find(&self, pid: i32) -> Option<&'static ProcSlot> {
        if pid == 0 {
            return None;
        }
        self.slots
            .iter()
            .find(|s| s.pid.load(Ordering::Acquire) == pid)
    }

    /// Slots of a kind (for the checkpointer's latch, and so on).
    pub fn find_kind(&self, kind: ProcessKind) -> Option<&'static ProcSlot> {
        self.slots
            .iter()
            .find(|s| s.pid.load(Ordering::Acquire) != 0 && s.kind() == Some(kind))
    }
}

#[repr(C)]
struct ProcArrayHeader {
    initialised: AtomicU32,
    _pad: [u8; 60],
}
