//! Stack depth checking (PostgreSQL's `check_stack_depth` in `tcop/postgres.c`).
//!
//! Parse trees, expressions and plans are walked recursively, and a client
//! controls how deep they nest (`NOT NOT ... true`, `coalesce(coalesce(...))`,
//! `SELECT 1 UNION SELECT 2 UNION ...`). A stack overflow kills the backend
//! with SIGSEGV/SIGABRT, and the postmaster then restarts the whole server,
//! so every recursive walk that input can drive calls [`check_stack_depth`]
//! and fails with 54001 `stack depth limit exceeded` before the stack runs out.
//!
//! How the limit is chosen:
//! - A backend raises its soft `RLIMIT_STACK` to [`BACKEND_STACK_BYTES`]
//!   (64 MB, or the hard limit if lower) right after fork. The main
//!   thread's stack grows on demand up to the soft limit; the kernel keeps
//!   at least 128 MB free below the stack of a process for that
//!   (`mmap_base`'s gap), so raising it after exec is safe up to there.
//!   Only touched pages become resident.
//! - The limit is that stack less [`STACK_DEPTH_SLOP`], measured from the
//!   frame that called [`init_backend_stack`].
//! - PostgreSQL compares against `max_stack_depth` (2 MB by default). A Rust
//!   frame, above all in a debug build, is several times larger than the C
//!   frame it stands for, so counting bytes against 2 MB would refuse
//!   queries PostgreSQL runs. ferrogres counts against the stack it really
//!   has; the message and hint are PostgreSQL's.
//! - pg_query's C parser checks its own 2 MB budget; the Rust decoding of
//!   its protobuf output recurses once per tree level and is bounded by the
//!   depth the C side accepts (about a thousand expression levels), which
//!   fits the 64 MB stack even in a debug build.
//!
//! Processes that never call [`init_backend_stack`] (unit tests, background
//! processes) do no checking.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The stack a backend asks for.
pub const BACKEND_STACK_BYTES: u64 = 64 << 20;

/// Stack kept in reserve beyond the limit, for error handling and code that
/// does not check (PostgreSQL's `STACK_DEPTH_SLOP` is 512 kB; Rust's error
/// paths, formatting and unwinding take more).
pub const STACK_DEPTH_SLOP: usize = 4 << 20;

/// Address of the frame the depth is measured from; 0 when unchecked.
static STACK_BASE: AtomicUsize = AtomicUsize::new(0);
/// Bytes of stack usable from `STACK_BASE`.
static STACK_LIMIT: AtomicUsize = AtomicUsize::new(0);

fn stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Raises the soft stack limit and starts measuring from the caller's frame.
/// Called once in a backend, right after fork.
pub fn init_backend_stack() {
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_STACK).unwrap_or((8 << 20, 8 << 20));
    let wanted = if hard == RLIM_INFINITY {
        BACKEND_STACK_BYTES
    } else {
        BACKEND_STACK_BYTES.min(hard)
    };
    let soft = if soft != RLIM_INFINITY
        && soft < wanted
        && setrlimit(Resource::RLIMIT_STACK, wanted, hard).is_ok()
    {
        wanted
    } else if soft == RLIM_INFINITY {
        BACKEND_STACK_BYTES
    } else {
        soft
    };
    let usable = (soft as usize).saturating_sub(STACK_DEPTH_SLOP);
    STACK_LIMIT.store(usable, Ordering::Relaxed);
    STACK_BASE.store(stack_pointer(), Ordering::Relaxed);
}

/// Stack in use below the base, in bytes (the stack grows down).
pub fn stack_depth_bytes() -> usize {
    let base = STACK_BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    base.saturating_sub(stack_pointer())
}

/// 54001 when the stack is nearly exhausted.
pub fn check_stack_depth() -> PgResult<()> {
    let limit = STACK_LIMIT.load(Ordering::Relaxed);
    if limit == 0 || stack_depth_bytes() <= limit {
        return Ok(());
    }
    Err(stack_depth_error())
}

/// PostgreSQL's error for a too-deep recursion.
pub fn stack_depth_error() -> PgError {
    PgError::error(sqlstate::STATEMENT_TOO_COMPLEX, "stack depth limit exceeded").with_hint(
        "Increase the configuration parameter \"max_stack_depth\" (currently 2048kB), after ensuring the platform's stack depth limit is adequate.",
    )
}
