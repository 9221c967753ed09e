//! Process titles as `ps` shows them (PostgreSQL's `ps_status.c`).
//!
//! Linux's `ps` reads `/proc/PID/cmdline`, which is the memory between the
//! process's `arg_start` and `arg_end` (and beyond, up to `env_end`, once the
//! last argv byte is no longer NUL). So, as PostgreSQL does, the postmaster
//! moves the environment strings to the heap at start, and every process
//! then writes its title over the contiguous argv+environ area. Children
//! inherit the prepared area through fork.
//!
//! `std::env::args()` reads the original argv on Linux, so it must be called
//! before the first `set_title` (main parses the command line first).

use std::ffi::{CString, c_char};
use std::sync::atomic::{AtomicUsize, Ordering};

static AREA_START: AtomicUsize = AtomicUsize::new(0);
static AREA_LEN: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    static mut environ: *mut *mut c_char;
}

/// Prepares the title area. Call once, early, in the single-threaded postmaster.
pub fn init() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the parenthesised command name; field 1 is the pid.
    let Some(close) = stat.rfind(')') else { return };
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    // In `fields`, index 0 is field 3 (state); arg_start is field 48.
    let get = |n: usize| fields.get(n - 3).and_then(|s| s.parse::<usize>().ok());
    let (Some(arg_start), Some(_arg_end), Some(env_start), Some(env_end)) =
        (get(48), get(49), get(50), get(51))
    else {
        return;
    };
    if env_start < arg_start || env_end <= env_start {
        return;
    }
    // Copy the environment to the heap and point `environ` at the copy, so
    // that overwriting the original strings leaves getenv() working.
    let vars: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut s = k.into_encoded_bytes();
            s.push(b'=');
            s.extend_from_slice(&v.into_encoded_bytes());
            CString::new(s).ok()
        })
        .collect();
    let mut ptrs: Vec<*mut c_char> = vars.into_iter().map(|c| c.into_raw()).collect();
    ptrs.push(std::ptr::null_mut());
    let leaked = Box::leak(ptrs.into_boxed_slice());
    // SAFETY: single-threaded at this point (called first thing by main); the
    // new array and strings are leaked, so they live as long as the process.
    unsafe {
        environ = leaked.as_mut_ptr();
    }
    AREA_START.store(arg_start, Ordering::Relaxed);
    AREA_LEN.store(env_end - arg_start, Ordering::Relaxed);
}

/// `cluster_name`, set once by the postmaster before it forks anything.
static CLUSTER_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every later title read `ferrogres: NAME: ...`, as PostgreSQL's
/// `postgres: NAME: ...` (`cluster_name` is a postmaster-context parameter,
/// so it never changes after start).
pub fn set_cluster_name(name: &str) {
    if !name.is_empty() {
        let _ = CLUSTER_NAME.set(name.to_string());
    }
}

/// Sets this process's title. Titles longer than the area are cut. A title
/// `ferrogres: rest` becomes `ferrogres: CLUSTER: rest` when `cluster_name`
/// is set.
pub fn set_title(title: &str) {
    if let (Some(cluster), Some(rest)) = (CLUSTER_NAME.get(), title.strip_prefix("ferrogres: ")) {
        return write_title(&format!("ferrogres: {cluster}: {rest}"));
    }
    write_title(title)
}

fn write_title(title: &str) {
    let start = AREA_START.load(Ordering::Relaxed);
    let len = AREA_LEN.load(Ordering::Relaxed);
    if start == 0 || len < 2 {
        return;
    }
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [start, start+len) is this process's own argv+environ string
    // area (read from /proc/self/stat by `init`), which nothing references
    // any more: argv was parsed before and environ was moved to the heap.
    unsafe {
        let dst = start as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, n);
        std::ptr::write_bytes(dst.add(n), 0, len - n);
    }
}
