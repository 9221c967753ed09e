//! A full disk, as a user meets it (issue 13, part 5): the data directory
//! (pg_wal included) on a small tmpfs, a write load whose acknowledged ids
//! are recorded, then a filler file takes the rest of the space.
//!
//! What must hold, as in PostgreSQL: inserts fail cleanly with 53100 naming
//! the file; CHECKPOINT fails and says why; a fast shutdown whose checkpoint
//! fails is not reported as a clean shutdown; once space is back the server
//! starts, recovers, and every acknowledged row is there. The log never
//! hides the cause (`could not access status of transaction 0`, `could not
//! write control file`).
//!
//! Needs root (mounting a tmpfs): the suite runs as root; if the mount is
//! refused the test fails and says so, it is never skipped.

mod common;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop (also
/// when the test panics: locals drop while unwinding).
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount(size_mb: u32) -> Tmpfs {
        let dir = TempDir::new("disk-full-mnt");
        let target = CString::new(dir.0.as_os_str().as_bytes()).unwrap();
        let fstype = CString::new("tmpfs").unwrap();
        let options = CString::new(format!("size={size_mb}m,mode=0700")).unwrap();
        // SAFETY: mount(2) with NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::mount(
                fstype.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        assert_eq!(
            rc,
            0,
            "this test mounts a {size_mb} MB tmpfs on {} and needs root (CAP_SYS_ADMIN): mount failed: {}",
            dir.0.display(),
            std::io::Error::last_os_error()
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        &self.dir.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.dir.0.as_os_str().as_bytes()).unwrap();
        // SAFETY: umount2(2) with a NUL-terminated path. MNT_DETACH: a
        // process of a killed server still holding a file must not keep
        // the mount alive.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Appends zeros to `path` until the file system refuses: every free block
/// is taken. Returns the bytes added.
fn fill_disk(path: &Path) -> u64 {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut added = 0u64;
    for chunk in [1 << 20, 4096, 512] {
        let zeros = vec![0u8; chunk];
        loop {
            match f.write(&zeros) {
                Ok(0) => break,
                Ok(n) => added += n as u64,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }
    let _ = f.sync_all();
    added
}

/// An INSERT that failed: its id, SQLSTATE, message and hint.
#[derive(Debug, Clone)]
struct Refused {
    id: i64,
    code: String,
    message: String,
    hint: Option<String>,
}

struct Load {
    acknowledged: Mutex<BTreeSet<i64>>,
    refused: Mutex<Vec<Refused>>,
    disk_filled: AtomicBool,
}

/// One client: single-row INSERTs, each its own transaction, ids
/// `first, first + stride, ...`. An id is recorded as acknowledged only
/// once the INSERT returned. Ends after three refusals once the disk is
/// full (or at `deadline`).
fn client(server_conninfo: String, load: Arc<Load>, first: i64, stride: i64, deadline: Instant) {
    let mut c = postgres::Client::connect(&server_conninfo, postgres::NoTls).unwrap();
    let mut id = first;
    let mut refusals = 0;
    while refusals < 3 && Instant::now() < deadline {
        match c.execute(
            "INSERT INTO acked (id, pad) VALUES ($1, repeat('x', 300))",
            &[&id],
        ) {
            Ok(1) => {
                load.acknowledged.lock().unwrap().insert(id);
            }
            Ok(n) => panic!("INSERT of one row reported {n}"),
            Err(e) => {
                let db = e
                    .as_db_error()
                    .unwrap_or_else(|| panic!("insert {id} failed without a server error: {e}"));
                assert!(
                    load.disk_filled.load(Ordering::Acquire),
                    "insert {id} failed before the disk was full: {}",
                    db.message()
                );
                load.refused.lock().unwrap().push(Refused {
                    id,
                    code: db.code().code().to_string(),
                    message: db.message().to_string(),
                    hint: db.hint().map(str::to_string),
                });
                refusals += 1;
            }
        }
        id += stride;
    }
}

/// The part of the log written after its first `from`.
fn log_after<'a>(log: &'a str, from: &str) -> &'a str {
    log.find(from).map_or("", |i| &log[i..])
}

#[test]
fn full_disk_fails_cleanly_says_why_and_loses_nothing_acknowledged() {
    // Declared first, dropped last: the server stops before the unmount.
    let disk = Tmpfs::mount(48);
    let filler: PathBuf = disk.path().join("filler");
    let mut s = Server::builder()
        .data_dir_under(disk.path())
        .conf("log_line_prefix = '%m [%p] %e '")
        .conf("log_checkpoints = on")
        .start();
    s.psql("CREATE TABLE acked (id bigint, pad text)");

    // The load: three clients, ids recorded as they are acknowledged.
    let load = Arc::new(Load {
        acknowledged: Mutex::new(BTreeSet::new()),
        refused: Mutex::new(Vec::new()),
        disk_filled: AtomicBool::new(false),
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let clients: Vec<_> = (0..3)
        .map(|n| {
            let (conninfo, load) = (s.conninfo(), load.clone());
            std::thread::spawn(move || client(conninfo, load, n + 1, 3, deadline))
        })
        .collect();
    assert!(
        wait_until(Duration::from_secs(60), || load
            .acknowledged
            .lock()
            .unwrap()
            .len()
            >= 1500),
        "the load did not get going:\n{}",
        s.log()
    );
    // The disk fills up under the running load.
    load.disk_filled.store(true, Ordering::Release);
    let filled = fill_disk(&filler);
    assert!(filled > 0, "the tmpfs was full before the filler");
    for c in clients {
        c.join().expect("a load client panicked");
    }
    let acknowledged = load.acknowledged.lock().unwrap().clone();
    let refused = load.refused.lock().unwrap().clone();
    assert_eq!(
        refused.len(),
        9,
        "every client ends after 3 refusals: {refused:?}"
    );

    // 1. Inserts fail cleanly: 53100, the file named, PostgreSQL's hint.
    for r in &refused {
        assert_eq!(r.code, "53100", "{r:?}");
        assert!(
            r.message.starts_with("could not extend file \"base/")
                && (r.message.contains("No space left on device")
                    || r.message.contains("wrote only")),
            "{r:?}"
        );
        assert_eq!(r.hint.as_deref(), Some("Check free disk space."), "{r:?}");
    }

    // 2. CHECKPOINT fails and says why: PostgreSQL's error, the cause as
    //    DETAIL; the checkpointer logs the cause with 53100 and the file.
    fill_disk(&filler); // whatever a failed write gave back is taken again
    let mut c = s.connect();
    let e = c
        .batch_execute("CHECKPOINT")
        .expect_err("CHECKPOINT succeeded on a full disk");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.message(), "checkpoint request failed");
    assert_eq!(
        db.hint(),
        Some("Consult recent messages in the server log for details.")
    );
    let detail = db.detail().unwrap_or_default();
    assert!(
        detail.contains("No space left on device") && detail.contains('"'),
        "the CHECKPOINT error does not give the cause: {detail:?}"
    );
    drop(c);
    let checkpointer = s.child_pid("checkpointer").expect("a checkpointer");
    let log = s.log();
    let tag = format!("[{checkpointer}] 53100 ERROR:");
    let cause = log
        .lines()
        .find(|l| l.contains(&tag))
        .unwrap_or_else(|| panic!("the checkpointer did not log its cause with 53100:\n{log}"));
    assert!(
        cause.contains("could not access status of transaction")
            || cause.contains("could not write block"),
        "{cause}"
    );

    // 3. A fast shutdown whose checkpoint fails is not a clean shutdown.
    fill_disk(&filler);
    s.signal(libc::SIGINT);
    let code = s.wait_exit(Duration::from_secs(60));
    let log = s.log();
    let shutdown = log_after(&log, "received fast shutdown request");
    assert!(
        shutdown.contains("checkpoint starting: shutdown"),
        "{shutdown}"
    );
    assert!(
        shutdown.contains(&format!("[{checkpointer}] 53100 FATAL:")),
        "the failed shutdown checkpoint does not say why:\n{shutdown}"
    );
    assert!(
        !shutdown.contains("database system is shut down"),
        "a failed shutdown checkpoint was logged as a clean shutdown:\n{shutdown}"
    );
    assert!(
        shutdown.contains("abnormal database system shutdown"),
        "{shutdown}"
    );
    assert_eq!(
        code,
        Some(1),
        "postmaster exit code after a failed shutdown"
    );

    // 4. Space is back: the server starts, recovers, and has every
    //    acknowledged row and none of the refused ones.
    std::fs::remove_file(&filler).unwrap();
    s.launch();
    let log = s.log();
    let start = log_after(&log, "abnormal database system shutdown");
    assert!(
        start.contains("database system shutdown was interrupted"),
        "{start}"
    );
    assert!(start.contains("automatic recovery in progress"), "{start}");
    let present: BTreeSet<i64> = s
        .psql("SELECT id FROM acked")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged rows lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    for r in &refused {
        assert!(
            !present.contains(&r.id),
            "refused insert {} is visible",
            r.id
        );
    }
    assert_eq!(
        s.psql("SELECT count(*) FROM acked"),
        acknowledged.len().to_string(),
        "duplicated or phantom rows"
    );
    // And it works as before: a checkpoint, a clean shutdown, a clean start.
    s.psql("CHECKPOINT");
    s.psql("INSERT INTO acked VALUES (0, 'after')");
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0));
    s.launch();
    assert_eq!(
        s.psql("SELECT count(*) FROM acked"),
        (acknowledged.len() + 1).to_string()
    );
    let log = s.log();
    let last_start = &log[log
        .rfind("database system is shut down")
        .expect("a clean shutdown")..];
    assert!(
        last_start.contains("database system was shut down at")
            && !last_start.contains("automatic recovery in progress"),
        "{last_start}"
    );

    // 5. The log never hid the cause.
    for hidden in [
        "could not access status of transaction 0",
        "could not write control file",
        "(os error",
    ] {
        assert!(!log.contains(hidden), "the log says {hidden:?}:\n{log}");
    }
}

#[test]
fn wal_segment_that_cannot_be_created_panics_and_acknowledges_nothing() {
    let disk = Tmpfs::mount(48);
    let filler: PathBuf = disk.path().join("filler");
    let mut s = Server::builder()
        .data_dir_under(disk.path())
        .conf("log_line_prefix = '%m [%p] %e '")
        .start();
    s.psql("CREATE TABLE acked (id bigint)");
    s.psql("INSERT INTO acked SELECT g FROM generate_series(1, 100) g");
    fill_disk(&filler);
    // The next record goes to a segment that does not exist yet, and there
    // is no room to create it.
    s.psql("SELECT pg_switch_wal()");
    fill_disk(&filler);
    let mut c = s.connect();
    let committed = c.batch_execute("INSERT INTO acked VALUES (101)");
    assert!(
        committed.is_err(),
        "a commit was acknowledged although its WAL segment could not be created"
    );
    drop(c);
    assert!(
        s.wait_for_log(
            "PANIC:  could not write to file \"pg_wal/xlogtemp.",
            Duration::from_secs(30)
        ),
        "{}",
        s.log()
    );
    let log = s.log();
    assert!(
        log.contains(" 53100 PANIC:  could not write to file \"pg_wal/xlogtemp.")
            && log.contains("No space left on device"),
        "{log}"
    );
    assert!(
        s.wait_for_log(
            "was terminated by signal 6: Aborted",
            Duration::from_secs(10)
        ),
        "{}",
        s.log()
    );
    // The half-made segment gave its space back.
    let wal = s.data.join("pg_wal");
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_dir(&wal)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("xlogtemp."))),
        "a temporary WAL file was left behind in {}",
        wal.display()
    );
    // Space is back: the server (restarted by the postmaster) takes writes
    // again, and every acknowledged row is there.
    std::fs::remove_file(&filler).unwrap();
    s.wait_ready(Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = s.psql_output("INSERT INTO acked VALUES (102)", &[]);
        if out.status.success() {
            break;
        }
        // A crash-restart triggered before the space came back may still be
        // under way.
        assert!(
            Instant::now() < deadline,
            "no insert succeeded after space came back: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let present: BTreeSet<i64> = s
        .psql("SELECT id FROM acked")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!((1..=100).all(|i| present.contains(&i)), "{present:?}");
    assert!(present.contains(&102));
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0), "{}", s.log());
}
