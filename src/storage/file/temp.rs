//! Temporary files (PostgreSQL's `OpenTemporaryFile` and `BufFile`, in
//! `fd.c` and `buffile.c`).
//!
//! A [`TempFile`] is an append-only file under `base/pgsql_tmp` that its
//! writer reads back at any offset (`read_at`), as the runs of an
//! external sort are. Writes go through a buffer; reads see everything
//! written once [`TempFile::flush`] has run. The file is unlinked on drop,
//! when its size is also reported to the statistics collector and, past
//! `log_temp_files`, to the server log. The bytes a process holds in
//! temporary files at once are bounded by `temp_file_limit`.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::utils::elog::{self, PgError, PgResult, Severity, errcode_for_file_access, sqlstate};

/// The directory, relative to the data directory (`PG_TEMP_FILES_DIR`).
pub const TEMP_DIR: &str = "base/pgsql_tmp";
/// The file name prefix (`PG_TEMP_FILE_PREFIX`).
const PREFIX: &str = "pgsql_tmp";
const WRITE_BUFFER: usize = 64 * 1024;

/// Files this process has created (the `.N` of their names).
static NEXT_FILE: AtomicU64 = AtomicU64::new(0);
/// Bytes this process holds in temporary files now (`temporary_files_size`).
static HELD_BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes this process has read from and written to temporary files, for
/// EXPLAIN (BUFFERS)'s `temp read/written` (PostgreSQL's `temp_blks_*`).
static READ_BYTES: AtomicU64 = AtomicU64::new(0);
static WRITTEN_BYTES: AtomicU64 = AtomicU64::new(0);

/// This process's temporary-file I/O so far, in 8 kB blocks: (read, written).
pub fn temp_usage() -> (u64, u64) {
    (
        READ_BYTES.load(Ordering::Relaxed) / 8192,
        WRITTEN_BYTES.load(Ordering::Relaxed) / 8192,
    )
}

/// What governs a process's temporary files, from its settings.
#[derive(Clone, Copy, Debug)]
pub struct TempFileSettings {
    /// `temp_file_limit` in kB; negative: no limit.
    pub limit_kb: i64,
    /// `log_temp_files` in kB; negative: off.
    pub log_min_kb: i64,
}

pub struct TempFile {
    /// Relative to the data directory, as messages show it.
    name: String,
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Bytes in the file plus the buffer.
    size: u64,
    settings: TempFileSettings,
}

fn file_error(what: &str, name: &str, e: &std::io::Error) -> PgError {
    PgError::error(
        errcode_for_file_access(e),
        format!("could not {what} temporary file \"{name}\": {e}"),
    )
}

impl TempFile {
    /// Creates `base/pgsql_tmp/pgsql_tmpPID.N` (the directory too, on
    /// first use).
    pub fn create(settings: TempFileSettings) -> PgResult<TempFile> {
        let base = crate::storage::wal::data_dir();
        let dir = base.join(TEMP_DIR);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Err(PgError::error(
                errcode_for_file_access(&e),
                format!("could not create directory \"{TEMP_DIR}\": {e}"),
            ));
        }
        let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
        let name = format!("{TEMP_DIR}/{PREFIX}{}.{n}", std::process::id());
        let path = base.join(&name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| file_error("create", &name, &e))?;
        Ok(TempFile {
            name,
            path,
            file,
            buf: Vec::with_capacity(WRITE_BUFFER),
            size: 0,
            settings,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `bytes`; 53400 once the process's temporary files would
    /// pass `temp_file_limit`.
    pub fn write(&mut self, bytes: &[u8]) -> PgResult<()> {
        let n = bytes.len() as u64;
        if self.settings.limit_kb >= 0 {
            let held = HELD_BYTES.load(Ordering::Relaxed);
            if held + n > self.settings.limit_kb as u64 * 1024 {
                return Err(PgError::error(
                    sqlstate::CONFIGURATION_LIMIT_EXCEEDED,
                    format!(
                        "temporary file size exceeds temp_file_limit ({}kB)",
                        self.settings.limit_kb
                    ),
                ));
            }
        }
        HELD_BYTES.fetch_add(n, Ordering::Relaxed);
        self.size += n;
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= WRITE_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffer out, so that `read_at` sees every byte.
    pub fn flush(&mut self) -> PgResult<()> {
        if !self.buf.is_empty() {
            self.file
                .write_all(&self.buf)
                .map_err(|e| file_error("write to", &self.name, &e))?;
            WRITTEN_BYTES.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
            self.buf.clear();
        }
        Ok(())
    }

    /// Fills `out` from `offset` (short at the end of the file); the
    /// buffer must have been flushed.
    pub fn read_at(&self, offset: u64, out: &mut [u8]) -> PgResult<usize> {
        debug_assert!(self.buf.is_empty(), "read of a temporary file not flushed");
        let mut done = 0;
        while done < out.len() {
            match self.file.read_at(&mut out[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(k) => done += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(file_error("read from", &self.name, &e)),
            }
        }
        READ_BYTES.fetch_add(done as u64, Ordering::Relaxed);
        Ok(done)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        HELD_BYTES.fetch_sub(self.size, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
        crate::utils::pgstat::count_temp_file(self.size);
        let min = self.settings.log_min_kb;
        if min >= 0 && self.size >= min as u64 * 1024 {
            elog::log(
                Severity::Log,
                &format!("temporary file: path \"{}\", size {}", self.name, self.size),
            );
        }
    }
}

/// Removes every file in `data_dir/base/pgsql_tmp` (the postmaster, before
/// any backend runs: rule 2 of README.md).
pub fn remove_all(data_dir: &Path) {
    let dir = data_dir.join(TEMP_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(PREFIX) {
            let path = e.path();
            if let Err(err) = std::fs::remove_file(&path) {
                elog::log(
                    Severity::Log,
                    &format!("could not remove file \"{}\": {err}", path.display()),
                );
            }
        }
    }
}
