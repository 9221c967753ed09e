//! `postmaster.pid`: the data directory's lock file, in PostgreSQL's format
//! (pid, data directory, start time, port, socket directory, listen
//! address, shared-memory key, status), which `ctl` reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::utils::elog::{PgError, PgResult, sqlstate};

pub const PM_STATUS_STARTING: &str = "starting";
pub const PM_STATUS_READY: &str = "ready";
pub const PM_STATUS_STOPPING: &str = "stopping";

pub struct PidFile {
    path: PathBuf,
    lines: Vec<String>,
}

/// Whether `pid` is a live ferrogres process (a stale file may name a pid
/// that was reused by something else).
pub fn is_live_ferrogres(pid: i32) -> bool {
    if pid <= 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    // A zombie, or another program that reused the pid, does not count.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat.get(i + 2..))
        .and_then(|s| s.chars().next());
    state != Some('Z')
        && std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.to_string_lossy().contains("ferrogres"))
            .unwrap_or(false)
}

/// Reads the pid in a data directory's `postmaster.pid`, if any.
pub fn read_pid(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Reads the status line (line 8) of `postmaster.pid`.
pub fn read_status(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    text.lines().nth(7).map(|s| s.trim().to_string())
}

impl PidFile {
    /// Creates the lock file, refusing when a live postmaster owns the
    /// directory and replacing a stale one.
    pub fn create(
        data_dir: &Path,
        port: u16,
        socket_dir: &str,
        listen: &str,
        start_time_s: i64,
    ) -> PgResult<PidFile> {
        let path = data_dir.join("postmaster.pid");
        if let Some(pid) = read_pid(data_dir) {
            if pid != std::process::id() as i32 && is_live_ferrogres(pid) {
                return Err(PgError::fatal(
                    sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "lock file \"postmaster.pid\" already exists",
                )
                .with_hint(format!(
                    "Is another postmaster (PID {pid}) running in data directory \"{}\"?",
                    data_dir.display()
                )));
            }
            // The postmaster is gone, but its children may not be: refuse
            // while any process is attached to the interlock segment it
            // recorded (PostgreSQL's CreateLockFile / PGSharedMemoryIsInUse).
            if let Some((key, id)) = crate::storage::shmem::interlock::recorded(data_dir) {
                crate::storage::shmem::interlock::check_recorded(data_dir, key, id)?;
            }
            let _ = std::fs::remove_file(&path);
        }
        let lines = vec![
            std::process::id().to_string(),
            data_dir.display().to_string(),
            start_time_s.to_string(),
            port.to_string(),
            socket_dir.to_string(),
            listen.to_string(),
            "       0         0".to_string(),
            format!("{PM_STATUS_STARTING:<8}"),
        ];
        let file = PidFile { path, lines };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file.path)
            .map_err(|e| {
                PgError::fatal(
                    sqlstate::IO_ERROR,
                    format!(
                        "could not create lock file \"{}\": {e}",
                        file.path.display()
                    ),
                )
            })?;
        f.write_all(file.contents().as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| {
                PgError::fatal(
                    sqlstate::IO_ERROR,
                    format!("could not write lock file \"{}\": {e}", file.path.display()),
                )
            })?;
        Ok(file)
    }

    fn contents(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    /// Records the interlock segment's key and id (line 7, PostgreSQL's
    /// `%9lu %9lu`), for the next postmaster's check.
    pub fn set_shmem_key(&mut self, key: i32, id: i32) {
        self.lines[6] = format!("{key:9} {id:9}");
        self.rewrite();
    }

    /// Rewrites the status line ("starting", "ready", "stopping"), padded to
    /// 8 characters as PostgreSQL's `PM_STATUS_*` are (readers trim it).
    pub fn set_status(&mut self, status: &str) {
        self.lines[7] = format!("{status:<8}");
        self.rewrite();
    }

    /// Rewrites the file in place (PostgreSQL's `AddToDataDirLockFile`):
    /// every line keeps its width, so the file keeps its size and blocks,
    /// and a full disk cannot refuse the update (a temporary file and a
    /// rename would need a new block: `ctl` would never see "ready").
    fn rewrite(&self) {
        use std::os::unix::fs::FileExt;
        let contents = self.contents();
        let written = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .and_then(|f| {
                f.write_all_at(contents.as_bytes(), 0)?;
                f.set_len(contents.len() as u64)?;
                f.sync_data()
            });
        if let Err(e) = written {
            crate::utils::elog::log(
                crate::utils::elog::Severity::Log,
                &format!(
                    "could not write lock file \"postmaster.pid\": {}",
                    crate::utils::elog::strerror(&e)
                ),
            );
        }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
