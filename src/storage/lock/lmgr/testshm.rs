//! A private shared segment for tests: the regions a test needs, laid out
//! on a fresh anonymous `MAP_SHARED` mapping (tests run as threads of one
//! process, so they must never touch the global segment), inherited by the
//! children the test forks.

use crate::process::ProcessKind;
use crate::process::procarray::{ProcArray, ProcSlot};
use crate::storage::shmem::Region;
use crate::utils::guc::Settings;

pub(crate) struct TestShmem {
    base: *mut u8,
    offsets: Vec<usize>,
    pub settings: Settings,
}

// SAFETY: the mapping is process-shared memory made of atomics and
// lock-guarded fields; it is never unmapped (leaked for the test's life).
unsafe impl Send for TestShmem {}
unsafe impl Sync for TestShmem {}

/// Settings small enough for quick tests: 8 connection slots.
pub(crate) fn small_settings() -> Settings {
    let mut s = Settings::new();
    s.set_internal("max_connections", "8");
    s.set_internal("superuser_reserved_connections", "0");
    s.set_internal("max_locks_per_transaction", "16");
    s
}

impl TestShmem {
    /// Maps and initialises the process array followed by `regions`.
    /// Region `i` of `regions` is `self.region(i + 1)`.
    pub fn new(settings: Settings, regions: &[Region]) -> TestShmem {
        let mut offsets = Vec::new();
        let mut offset = 0usize;
        for r in std::iter::once(&ProcArray::REGION).chain(regions) {
            offsets.push(offset);
            offset = (offset + (r.size)(&settings)).div_ceil(64) * 64;
        }
        // SAFETY: a fresh anonymous shared mapping; nothing else is affected.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                offset.max(4096),
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
            )
        }
        .expect("mmap for a test segment");
        let base = ptr.cast::<u8>();
        for (r, off) in std::iter::once(&ProcArray::REGION)
            .chain(regions)
            .zip(&offsets)
        {
            // SAFETY: each region gets `size` zeroed, 64-aligned bytes of the
            // mapping, before any child exists.
            unsafe { (r.init)(base.add(*off), &settings) };
        }
        TestShmem {
            base,
            offsets,
            settings,
        }
    }

    pub fn region(&self, i: usize) -> *mut u8 {
        // SAFETY: the offset is inside the mapping.
        unsafe { self.base.add(self.offsets[i]) }
    }

    pub fn procarray(&self) -> ProcArray {
        // SAFETY: region 0 is the process array, initialised in `new`.
        unsafe { ProcArray::from_raw(self.region(0), &self.settings) }
    }

    /// Claims a slot for the calling process (parent or forked child).
    pub fn claim(&self) -> &'static ProcSlot {
        self.procarray()
            .claim(ProcessKind::Backend, true)
            .expect("a free test slot")
    }
}

/// Forks a child running `f`; the child `_exit`s with `f`'s return value.
pub(crate) fn fork_child(f: impl FnOnce() -> i32) -> nix::unistd::Pid {
    // SAFETY: the child only runs `f` (no harness code) and then `_exit`s.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let code = f();
            // SAFETY: leave the forked test child without running the harness.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    }
}

/// Waits for a child and returns its exit code (panics if it was killed).
pub(crate) fn wait_child(pid: nix::unistd::Pid) -> i32 {
    match nix::sys::wait::waitpid(pid, None).expect("waitpid") {
        nix::sys::wait::WaitStatus::Exited(_, code) => code,
        other => panic!("test child ended abnormally: {other:?}"),
    }
}

/// `n` zeroed atomics in their own shared mapping, for tests to signal
/// between the processes they fork.
pub(crate) fn shared_counters(n: usize) -> &'static [std::sync::atomic::AtomicU32] {
    // SAFETY: a fresh anonymous shared mapping, zeroed, never unmapped.
    unsafe {
        let ptr = rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            (n * 4).max(4096),
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
        .expect("mmap for test counters");
        std::slice::from_raw_parts(ptr as *const std::sync::atomic::AtomicU32, n)
    }
}

/// Spins (sleeping 1 ms) until `cond` holds, for at most `limit`.
pub(crate) fn wait_until(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    true
}
