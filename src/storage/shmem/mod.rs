//! The shared-memory segment (PostgreSQL's `ipci.c` / `shmem.c`).
//!
//! The postmaster creates one anonymous `MAP_SHARED` mapping before its
//! first fork, sized once from the configuration. Children inherit it at the
//! same address through `fork()`, so a pointer into it means the same thing
//! in every process. Nothing is allocated in it after creation: the
//! [`Layout`] carves it into fixed regions, each owned by one subsystem that
//! exports `size(settings)` and `init(region)`.
//!
//! Invariants:
//! 1. The segment is created and re-initialised only by the postmaster, and
//!    only while it has no live child attached to it (at start and during a
//!    crash-restart, after every child is gone).
//! 2. The postmaster never reads or writes the regions' contents after
//!    `init`: a child that corrupts the segment cannot take the postmaster down.
//! 3. Every region is `#[repr(C)]`, made of atomics or fields guarded by a
//!    named lock, and starts on a cache-line boundary.
//!
//! See README.md beside this file for the cross-process rules.

pub mod interlock;

use std::ptr::NonNull;
use std::sync::OnceLock;

use crate::process::procarray::ProcArray;
use crate::utils::guc::Settings;

const CACHE_LINE: usize = 64;

/// One region of the segment: its owner says how big it is for the given
/// settings and how to initialise it (PostgreSQL's `XxxShmemSize` /
/// `XxxShmemInit` pairs).
pub struct Region {
    pub name: &'static str,
    pub size: fn(&Settings) -> usize,
    /// # Safety
    /// Called once, by the postmaster, on `size(settings)` zeroed bytes
    /// aligned to a cache line, before any child exists.
    pub init: unsafe fn(*mut u8, &Settings),
}

/// Which region is which: the index into [`REGIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum RegionId {
    ProcArray = 0,
    Wal = 1,
    BufferPool = 2,
    /// Xid counter, ProcArrayLock, subxid caches (storage::xact).
    Transam = 3,
    /// pg_xact page cache (storage::xact).
    Clog = 4,
    /// Heavyweight lock table (storage::lock::lmgr).
    LockTable = 5,
    /// Checkpoint requests and pg_stat_bgwriter's checkpoint counters (bgproc::checkpointer).
    Checkpointer = 6,
    /// The oid counter and the catalog generation (catalog::oid).
    Catalog = 7,
    /// Launcher → worker requests (bgproc::autovacuum).
    Autovacuum = 8,
    /// VACUUM progress per process (utils::pgstat::progress).
    VacuumProgress = 9,
}

/// Every region, in layout order. Adding a subsystem to shared memory means
/// adding a [`RegionId`] and a row here.
pub const REGIONS: &[Region] = &[
    ProcArray::REGION,
    crate::storage::wal::REGION,
    crate::storage::buffer::BufferPool::REGION,
    crate::storage::xact::TRANSAM_REGION,
    crate::storage::xact::CLOG_REGION,
    crate::storage::lock::lmgr::LockTable::REGION,
    crate::bgproc::checkpointer::REGION,
    crate::catalog::oid::REGION,
    crate::bgproc::autovacuum::REGION,
    crate::utils::pgstat::progress::REGION,
];

/// Where each region lives. Computed once by the postmaster from the
/// settings; children inherit it with the segment.
#[derive(Clone, Debug)]
pub struct Layout {
    pub total_bytes: usize,
    pub offsets: Vec<usize>,
}

impl Layout {
    pub fn compute(settings: &Settings) -> Layout {
        let mut offset = align(std::mem::size_of::<SegmentHeader>());
        let mut offsets = Vec::with_capacity(REGIONS.len());
        for region in REGIONS {
            offsets.push(offset);
            offset = align(offset + (region.size)(settings));
        }
        Layout {
            total_bytes: offset,
            offsets,
        }
    }
}

fn align(n: usize) -> usize {
    n.div_ceil(CACHE_LINE) * CACHE_LINE
}

/// Start of the segment: lets a child check it is looking at what it expects.
#[repr(C)]
struct SegmentHeader {
    magic: u64,
    total_bytes: usize,
}

const SEGMENT_MAGIC: u64 = 0x6665_7272_6f67_7265; // "ferrogre"

/// The mapping as seen by this process.
pub struct Segment {
    base: NonNull<u8>,
    layout: Layout,
    /// The settings the regions were sized with (children read fixed sizes,
    /// such as `shared_buffers`, from here rather than from reloaded files).
    settings: Settings,
    /// This process's views of the process array and the transaction
    /// regions, built at first use: building one reads several settings by
    /// name, and a statement asks for them dozens of times. A view is only
    /// pointers into this mapping and sizes from `settings`, so a forked
    /// child inherits a valid one; a re-created segment starts empty.
    procarray_view: OnceLock<ProcArray>,
    transam_view: OnceLock<crate::storage::xact::Transam>,
}

// SAFETY: the segment is process-shared memory made only of atomics and
// lock-guarded fields; references handed out are to `Sync` region types.
unsafe impl Send for Segment {}
unsafe impl Sync for Segment {}

impl Segment {
    /// Creates and initialises a new segment. Postmaster only, with no child attached.
    pub fn create(settings: &Settings) -> std::io::Result<Segment> {
        let layout = Layout::compute(settings);
        // SAFETY: a fresh anonymous mapping at an address the kernel picks;
        // no existing memory is affected.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                layout.total_bytes,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
            )
        }
        .map_err(std::io::Error::from)?;
        let base = NonNull::new(ptr.cast::<u8>()).expect("mmap returned null");
        // SAFETY: the mapping is zero-filled, `total_bytes` long, and not yet
        // visible to any other process; the header fits at offset 0.
        unsafe {
            base.as_ptr().cast::<SegmentHeader>().write(SegmentHeader {
                magic: SEGMENT_MAGIC,
                total_bytes: layout.total_bytes,
            });
        }
        for (region, offset) in REGIONS.iter().zip(&layout.offsets) {
            // SAFETY: Layout::compute gave each region `size` bytes at a
            // cache-line-aligned offset inside the zeroed mapping.
            unsafe { (region.init)(base.as_ptr().add(*offset), settings) };
        }
        Ok(Segment {
            base,
            layout,
            settings: settings.clone(),
            procarray_view: OnceLock::new(),
            transam_view: OnceLock::new(),
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The settings the segment was sized with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Start of a region. Its owner casts it to its own `#[repr(C)]` type.
    pub fn region(&self, id: RegionId) -> *mut u8 {
        // SAFETY: the offset lies inside the mapping (Layout::compute).
        unsafe { self.base.as_ptr().add(self.layout.offsets[id as usize]) }
    }

    /// The process array (PGPROC slots and backend status).
    pub fn procarray(&self) -> ProcArray {
        *self.procarray_view.get_or_init(|| {
            // SAFETY: the region was initialised by ProcArray::init in
            // `create` with the slot count the same settings give.
            unsafe { ProcArray::from_raw(self.region(RegionId::ProcArray), &self.settings) }
        })
    }

    /// The transaction machinery's view of this segment, built once by
    /// `build` (`Transam::get`).
    pub fn transam(
        &self,
        build: impl FnOnce() -> crate::storage::xact::Transam,
    ) -> crate::storage::xact::Transam {
        *self.transam_view.get_or_init(build)
    }

    /// Checks the header a child inherited.
    pub fn assert_valid(&self) {
        // SAFETY: offset 0 holds the header written in `create`.
        let header = unsafe { &*self.base.as_ptr().cast::<SegmentHeader>() };
        assert_eq!(
            header.magic, SEGMENT_MAGIC,
            "shared memory segment header is corrupt"
        );
        assert_eq!(
            header.total_bytes, self.layout.total_bytes,
            "shared memory segment size mismatch"
        );
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `create` with this length and no
        // reference into it outlives the Segment (references borrow `self`).
        unsafe {
            let _ = rustix::mm::munmap(self.base.as_ptr().cast(), self.layout.total_bytes);
        }
    }
}

// ---------------------------------------------------------------------------
// This process's view of the segment.
// ---------------------------------------------------------------------------

static mut SEGMENT: Option<Segment> = None;

/// Installs the segment as this process's. Called by the postmaster (single
/// threaded) at creation and re-creation.
pub fn install(seg: Segment) {
    // SAFETY: only the single-threaded postmaster calls this, and never while
    // a reference obtained from `get` is alive (it calls it between fork loops).
    unsafe {
        let slot = &mut *std::ptr::addr_of_mut!(SEGMENT);
        *slot = Some(seg);
    }
}

/// Unmaps the segment (crash-restart, before re-creating it).
pub fn uninstall() {
    // SAFETY: as for `install`.
    unsafe {
        let slot = &mut *std::ptr::addr_of_mut!(SEGMENT);
        *slot = None;
    }
}

/// The segment if this process has one (None in unit tests and in the
/// processes that never attach).
pub fn try_get() -> Option<&'static Segment> {
    // SAFETY: as for `get`.
    unsafe { (*std::ptr::addr_of!(SEGMENT)).as_ref() }
}

/// The segment, in a process that has one (everything but the logger and
/// the stats collector, which never touch it).
pub fn get() -> &'static Segment {
    // SAFETY: `install` ran before any fork and is not called again in a
    // child; in the postmaster, callers do not hold the reference across a
    // re-creation.
    unsafe {
        (*std::ptr::addr_of!(SEGMENT))
            .as_ref()
            .expect("shared memory is not attached in this process")
    }
}
