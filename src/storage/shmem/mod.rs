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

use std::ptr::NonNull;

use crate::process::procarray::ProcArray;
use crate::utils::guc::Settings;

const CACHE_LINE: usize = 64;

/// Which region lives where. Computed identically by whoever needs it from
/// the same settings; only the postmaster computes it, children inherit it.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub total_bytes: usize,
    pub procarray_offset: usize,
    pub procarray_slots: usize,
}

impl Layout {
    pub fn compute(settings: &Settings) -> Layout {
        let mut offset = align(std::mem::size_of::<SegmentHeader>());
        let procarray_slots = ProcArray::slot_count(settings);
        let procarray_offset = offset;
        offset = align(offset + ProcArray::size(procarray_slots));
        Layout {
            total_bytes: offset,
            procarray_offset,
            procarray_slots,
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
        let seg = Segment { base, layout };
        // SAFETY: the region lies inside the mapping (Layout::compute) and is
        // zeroed, which is a valid initial bit pattern for ProcArray's atomics.
        unsafe {
            ProcArray::init(
                seg.base.as_ptr().add(layout.procarray_offset),
                layout.procarray_slots,
            )
        };
        Ok(seg)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The process array (PGPROC slots and backend status).
    pub fn procarray(&self) -> ProcArray {
        // SAFETY: initialised in `create`; the region outlives `self`.
        unsafe {
            ProcArray::from_raw(
                self.base.as_ptr().add(self.layout.procarray_offset),
                self.layout.procarray_slots,
            )
        }
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
