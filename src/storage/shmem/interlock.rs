//! The data directory's interlock (PostgreSQL's `sysv_shmem.c`:
//! `PGSharedMemoryCreate` and `PGSharedMemoryIsInUse`).
//!
//! The main segment is an anonymous `MAP_SHARED` mapping: nothing outside
//! the process family can find it, so nothing can tell whether processes of
//! an earlier postmaster still use the data directory. A new postmaster that
//! started while such orphans lived would share the files with them: an old
//! checkpointer finishing its checkpoint writes stale buffers, rewrites
//! `pg_control` and recycles WAL under the new server. That loses committed
//! data.
//!
//! PostgreSQL's answer, and ours: a small System V shared-memory segment
//! whose only job is to be attached. The postmaster creates it before its
//! first fork and attaches it; `fork()` gives every child the attachment,
//! and the kernel keeps `shm_nattch` exact — an attachment ends only when
//! its process exits or execs, however it dies. `postmaster.pid` records the
//! segment's key and id (line 7, as PostgreSQL does). A new postmaster looks
//! the segment up, and refuses to start while `shm_nattch > 0`:
//!
//! ```text
//! FATAL:  pre-existing shared memory block (key 1234, ID 5678) is still in use
//! HINT:  Terminate any old server processes associated with data directory "…".
//! ```
//!
//! The segment holds a header naming the data directory (device and inode),
//! so a segment of another directory or program with the same key is never
//! mistaken for ours. The key is derived from the directory's inode (as in
//! PostgreSQL), so the interlock holds even if `postmaster.pid` was removed.
//!
//! Invariants:
//! 1. Every process forked by the postmaster holds the attachment until it
//!    exits; none detaches. (`exec` detaches, which is right: a shell run by
//!    `archive_command` does not touch the data directory's files.)
//! 2. The segment lives across crash-restarts (only the main segment is
//!    re-created) and is removed when the postmaster exits in order.
//! 3. An unattached segment of ours is stale: the next postmaster removes it.
//!
//! Failure modes are listed in `src/postmaster/README.md`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::utils::elog::{PgError, PgResult, sqlstate};

const INTERLOCK_MAGIC: u64 = 0x6665_7272_6f6c_6f63; // "ferroloc"

/// What the segment holds: whose it is.
#[repr(C)]
#[derive(Clone, Copy)]
struct Header {
    magic: u64,
    data_dir_dev: u64,
    data_dir_ino: u64,
    creator_pid: i32,
}

const _: () = assert!(std::mem::size_of::<Header>() == 32);

/// How many keys after the inode-derived one are tried when others are taken.
const MAX_KEY_TRIES: i32 = 1000;

/// This postmaster's interlock segment, attached.
pub struct Interlock {
    pub key: i32,
    pub id: i32,
    addr: *mut libc::c_void,
}

/// What an existing segment is, as seen from a postmaster about to start.
#[derive(Debug, PartialEq, Eq)]
enum Existing {
    /// No such segment (or one we may not look at: not ours).
    Gone,
    /// Someone else's segment under this key.
    Foreign,
    /// Ours, and no process is attached: stale, may be removed.
    OursUnused,
    /// Ours, with this many processes still attached.
    OursInUse(u64),
}

fn dir_identity(data_dir: &Path) -> PgResult<(u64, u64)> {
    let md = std::fs::metadata(data_dir).map_err(|e| {
        PgError::fatal(
            sqlstate::IO_ERROR,
            format!(
                "could not stat data directory \"{}\": {e}",
                data_dir.display()
            ),
        )
    })?;
    Ok((md.dev(), md.ino()))
}

fn in_use_error(data_dir: &Path, key: i32, id: i32) -> PgError {
    PgError::fatal(
        sqlstate::LOCK_FILE_EXISTS,
        format!("pre-existing shared memory block (key {key}, ID {id}) is still in use"),
    )
    .with_hint(format!(
        "Terminate any old server processes associated with data directory \"{}\".",
        data_dir.display()
    ))
}

/// Looks at the segment `id` without disturbing it.
fn inspect(id: i32, dev: u64, ino: u64) -> Existing {
    // SAFETY: shmid_ds is plain data; IPC_STAT fills it or fails.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT on an id only reads the kernel's record of it.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) } != 0 {
        return Existing::Gone;
    }
    if (ds.shm_segsz as usize) < std::mem::size_of::<Header>() {
        return Existing::Foreign;
    }
    // Read the header through a read-only attachment, dropped at once
    // (it would otherwise count as a user of the segment itself).
    // SAFETY: attaching an existing segment read-only at an address the
    // kernel picks affects no memory of ours.
    let addr = unsafe { libc::shmat(id, std::ptr::null(), libc::SHM_RDONLY) };
    if addr as isize == -1 {
        return Existing::Foreign;
    }
    // SAFETY: the segment is at least a header long (checked above) and
    // mapped readable; the read is unaligned-safe.
    let header = unsafe { std::ptr::read_unaligned(addr.cast::<Header>()) };
    // SAFETY: detaching the attachment made just above.
    unsafe { libc::shmdt(addr) };
    if header.magic != INTERLOCK_MAGIC || header.data_dir_dev != dev || header.data_dir_ino != ino {
        return Existing::Foreign;
    }
    if ds.shm_nattch == 0 {
        Existing::OursUnused
    } else {
        Existing::OursInUse(ds.shm_nattch as u64)
    }
}

fn remove(id: i32) {
    // SAFETY: IPC_RMID on a segment id; at worst it fails.
    unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
}

/// The key a data directory's segment is tried under first.
fn first_key(ino: u64) -> i32 {
    // Positive and never IPC_PRIVATE (0).
    ((ino & 0x3fff_ffff) as i32).max(1)
}

/// Refuses when the segment a dead postmaster recorded in its
/// `postmaster.pid` still has processes attached; removes it when stale.
/// Called before the old lock file is replaced.
pub fn check_recorded(data_dir: &Path, key: i32, id: i32) -> PgResult<()> {
    let (dev, ino) = dir_identity(data_dir)?;
    match inspect(id, dev, ino) {
        Existing::OursInUse(_) => Err(in_use_error(data_dir, key, id)),
        Existing::OursUnused => {
            remove(id);
            Ok(())
        }
        Existing::Gone | Existing::Foreign => Ok(()),
    }
}

impl Interlock {
    /// Creates and attaches the data directory's segment, refusing while an
    /// earlier one of the same directory is still attached by anyone.
    pub fn create(data_dir: &Path) -> PgResult<Interlock> {
        let (dev, ino) = dir_identity(data_dir)?;
        let mut key = first_key(ino);
        for _ in 0..MAX_KEY_TRIES {
            // SAFETY: plain system call creating a new segment.
            let id = unsafe {
                libc::shmget(
                    key,
                    std::mem::size_of::<Header>(),
                    libc::IPC_CREAT | libc::IPC_EXCL | 0o600,
                )
            };
            if id >= 0 {
                return Self::attach_new(key, id, dev, ino);
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EEXIST) {
                return Err(PgError::fatal(
                    sqlstate::OUT_OF_MEMORY,
                    format!("could not create shared memory segment: {err}"),
                )
                .with_detail(format!(
                    "Failed system call was shmget(key={key}, size={}, 03600).",
                    std::mem::size_of::<Header>()
                )));
            }
            // The key is taken: by an older segment of ours, or by someone else.
            // SAFETY: looking up an existing key.
            let old = unsafe { libc::shmget(key, 0, 0) };
            if old < 0 {
                // Removed meanwhile, or not ours to see: try it again / the next.
                if std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOENT) {
                    key = key.wrapping_add(1).max(1);
                }
                continue;
            }
            match inspect(old, dev, ino) {
                Existing::OursInUse(_) => return Err(in_use_error(data_dir, key, old)),
                Existing::OursUnused => remove(old),
                Existing::Gone => {}
                Existing::Foreign => key = key.wrapping_add(1).max(1),
            }
        }
        Err(PgError::fatal(
            sqlstate::OUT_OF_MEMORY,
            "could not create shared memory segment: no free key",
        ))
    }

    fn attach_new(key: i32, id: i32, dev: u64, ino: u64) -> PgResult<Interlock> {
        // SAFETY: attaching the segment we just created, read-write.
        let addr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if addr as isize == -1 {
            let err = std::io::Error::last_os_error();
            remove(id);
            return Err(PgError::fatal(
                sqlstate::OUT_OF_MEMORY,
                format!("could not attach shared memory segment: {err}"),
            ));
        }
        // SAFETY: the new segment is zeroed, page-aligned and at least a
        // header long; nobody else has attached it yet.
        unsafe {
            addr.cast::<Header>().write(Header {
                magic: INTERLOCK_MAGIC,
                data_dir_dev: dev,
                data_dir_ino: ino,
                creator_pid: std::process::id() as i32,
            });
        }
        Ok(Interlock { key, id, addr })
    }

    /// Detaches and removes the segment: the postmaster's orderly exit. A
    /// process still attached (the logger draining its pipe) keeps it alive
    /// until it exits, but no longer under the key, so it blocks nobody.
    pub fn release(&mut self) {
        if self.addr.is_null() {
            return;
        }
        remove(self.id);
        // SAFETY: detaching our own attachment made in `attach_new`; no
        // reference into it exists (only the header was written).
        unsafe { libc::shmdt(self.addr) };
        self.addr = std::ptr::null_mut();
    }
}

/// What `ctl status` says about a data directory whose postmaster is gone:
/// the pids of processes still attached to its interlock segment.
pub fn attached_pids(key: i32) -> Vec<i32> {
    // /proc/PID/maps names a System V segment "/SYSV<key in 8 hex digits>".
    let needle = format!("/SYSV{:08x}", key as u32);
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) {
            if maps.contains(&needle) {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids
}

/// The interlock segment recorded in a data directory's `postmaster.pid`
/// (line 7, `key id`), if one is recorded.
pub fn recorded(data_dir: &Path) -> Option<(i32, i32)> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let mut fields = text.lines().nth(6)?.split_whitespace();
    let key = fields.next()?.parse().ok()?;
    let id = fields.next()?.parse().ok()?;
    (key != 0).then_some((key, id))
}

/// Whether processes of an earlier postmaster are still attached to the
/// segment recorded in `postmaster.pid` (for `ctl`).
pub fn recorded_in_use(data_dir: &Path) -> Option<(i32, i32)> {
    let (key, id) = recorded(data_dir)?;
    let (dev, ino) = dir_identity(data_dir).ok()?;
    matches!(inspect(id, dev, ino), Existing::OursInUse(_)).then_some((key, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let p =
            std::env::temp_dir().join(format!("ferrogres-interlock-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn a_second_interlock_on_the_same_directory_is_refused_while_attached() {
        let dir = temp_dir("second");
        let mut first = Interlock::create(&dir).expect("first interlock");
        let err = match Interlock::create(&dir) {
            Err(e) => e,
            Ok(_) => panic!("a second interlock was granted while the first is attached"),
        };
        assert_eq!(err.sqlstate, sqlstate::LOCK_FILE_EXISTS);
        assert!(err.message.contains("is still in use"), "{}", err.message);
        assert!(check_recorded(&dir, first.key, first.id).is_err());
        first.release();
        let mut again = Interlock::create(&dir).expect("released interlock is free again");
        again.release();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stale_unattached_segment_is_removed_and_replaced() {
        let dir = temp_dir("stale");
        let first = Interlock::create(&dir).expect("first interlock");
        let (key, id) = (first.key, first.id);
        // Detach without removing: what a postmaster killed by SIGKILL leaves.
        // SAFETY: detaching the attachment `first` made; it is not used again.
        unsafe { libc::shmdt(first.addr) };
        std::mem::forget(first);
        check_recorded(&dir, key, id).expect("an unattached segment is stale");
        let mut second = Interlock::create(&dir).expect("stale segment replaced");
        second.release();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_directory_gets_its_own_segment() {
        let (a, b) = (temp_dir("a"), temp_dir("b"));
        let mut la = Interlock::create(&a).unwrap();
        let mut lb = Interlock::create(&b).expect("an unrelated directory is not blocked");
        assert_ne!(la.id, lb.id);
        la.release();
        lb.release();
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }
}
