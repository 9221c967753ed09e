//! WAL files and pages (PostgreSQL's `xlog_internal.h` naming and page
//! headers, `XLogFileInit`, `RemoveOldXlogFiles`).
//!
//! A segment is `seg_size` bytes of 8 KiB pages. Every page starts with a
//! header; the first page of a segment has the long form:
//!
//! ```text
//! short (24 B)  xlp_magic u16 | xlp_info u16 | xlp_tli u32 | xlp_pageaddr u64 | xlp_rem_len u32 | pad u32
//! long  (40 B)  short | xlp_sysid u64 | xlp_seg_size u32 | xlp_xlog_blcksz u32
//! ```

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::storage::types::{BLCKSZ, Lsn, WAL_SEGMENT_SIZE};
use crate::utils::elog::{self, PgResult};

/// PostgreSQL 15's `XLOG_PAGE_MAGIC`.
pub const XLOG_PAGE_MAGIC: u16 = 0xD110;
pub const SIZE_OF_SHORT_PHD: usize = 24;
pub const SIZE_OF_LONG_PHD: usize = 40;
/// The first record on this page continues one from the previous page.
pub const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
/// This page has the long header (first page of a segment).
pub const XLP_LONG_HEADER: u16 = 0x0002;
const XLP_ALL_FLAGS: u16 = 0x000F;
/// The only timeline ferrogres writes (no archive recovery / promotion yet).
pub const TIMELINE: u32 = 1;

/// Records start on 8-byte boundaries (PostgreSQL's MAXALIGN).
pub const fn maxalign(n: u64) -> u64 {
    (n + 7) & !7
}

pub const fn page_floor(lsn: u64) -> u64 {
    lsn & !(BLCKSZ as u64 - 1)
}

/// Header size of the page starting at `page`.
pub const fn page_header_size(page: u64, seg_size: u64) -> usize {
    if page % seg_size == 0 {
        SIZE_OF_LONG_PHD
    } else {
        SIZE_OF_SHORT_PHD
    }
}

/// The file name of the segment holding `lsn` (PostgreSQL's `XLogFileName`
/// after `XLByteToSeg`), e.g. `000000010000000000000001` for `0/1000000`.
pub fn segment_name(lsn: Lsn) -> String {
    segment_file_name(TIMELINE, lsn.0 / WAL_SEGMENT_SIZE, WAL_SEGMENT_SIZE)
}

pub fn segment_file_name(tli: u32, segno: u64, seg_size: u64) -> String {
    let per_id = 0x1_0000_0000u64 / seg_size;
    // Truncating casts, as XLogFileName's (uint32) casts.
    format!(
        "{:08X}{:08X}{:08X}",
        tli,
        (segno / per_id) as u32,
        (segno % per_id) as u32
    )
}

/// `pg_walfile_name(lsn)` exactly as PostgreSQL 15 computes it: with
/// `XLByteToPrevSeg`, so an LSN on a segment boundary names the segment
/// that *ends* there (`pg_walfile_name('0/1000000')` is
/// `000000010000000000000000`). For the file holding a byte, use [`segment_name`].
pub fn walfile_name(lsn: Lsn) -> String {
    segment_file_name(
        TIMELINE,
        lsn.0.wrapping_sub(1) / WAL_SEGMENT_SIZE,
        WAL_SEGMENT_SIZE,
    )
}

/// `pg_walfile_name_offset(lsn)` as PostgreSQL 15: the name from
/// [`walfile_name`], the offset of `lsn` within its own segment.
pub fn walfile_name_offset(lsn: Lsn) -> (String, u32) {
    (walfile_name(lsn), (lsn.0 % WAL_SEGMENT_SIZE) as u32)
}

/// Parses a segment file name back to (timeline, segment number).
pub fn parse_segment_name(name: &str, seg_size: u64) -> Option<(u32, u64)> {
    if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tli = u32::from_str_radix(&name[0..8], 16).ok()?;
    let log = u64::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u64::from_str_radix(&name[16..24], 16).ok()?;
    let per_id = 0x1_0000_0000u64 / seg_size;
    if seg >= per_id {
        return None;
    }
    Some((tli, log * per_id + seg))
}

/// A page header as read from disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageHeader {
    pub magic: u16,
    pub info: u16,
    pub tli: u32,
    pub pageaddr: Lsn,
    pub rem_len: u32,
    /// Long header fields, zero on short headers.
    pub sysid: u64,
    pub seg_size: u32,
    pub blcksz: u32,
}

/// Writes a page header into the start of `page`.
pub fn write_page_header(
    page: &mut [u8],
    addr: u64,
    seg_size: u64,
    sysid: u64,
    info: u16,
    rem_len: u32,
) {
    let long = addr % seg_size == 0;
    let info = info | if long { XLP_LONG_HEADER } else { 0 };
    page[0..2].copy_from_slice(&XLOG_PAGE_MAGIC.to_le_bytes());
    page[2..4].copy_from_slice(&info.to_le_bytes());
    page[4..8].copy_from_slice(&TIMELINE.to_le_bytes());
    page[8..16].copy_from_slice(&addr.to_le_bytes());
    page[16..20].copy_from_slice(&rem_len.to_le_bytes());
    page[20..24].fill(0);
    if long {
        page[24..32].copy_from_slice(&sysid.to_le_bytes());
        page[32..36].copy_from_slice(&(seg_size as u32).to_le_bytes());
        page[36..40].copy_from_slice(&(BLCKSZ as u32).to_le_bytes());
    }
}

pub fn parse_page_header(page: &[u8]) -> PageHeader {
    let u16_at = |o: usize| u16::from_le_bytes(page[o..o + 2].try_into().expect("2 bytes"));
    let u32_at = |o: usize| u32::from_le_bytes(page[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(page[o..o + 8].try_into().expect("8 bytes"));
    let info = u16_at(2);
    let long = info & XLP_LONG_HEADER != 0;
    PageHeader {
        magic: u16_at(0),
        info,
        tli: u32_at(4),
        pageaddr: Lsn(u64_at(8)),
        rem_len: u32_at(16),
        sysid: if long { u64_at(24) } else { 0 },
        seg_size: if long { u32_at(32) } else { 0 },
        blcksz: if long { u32_at(36) } else { 0 },
    }
}

/// Checks a page header read at `addr` (PostgreSQL's
/// `XLogReaderValidatePageHeader`). Err is the reason, worded like PostgreSQL's.
pub fn validate_page_header(
    h: &PageHeader,
    addr: u64,
    seg_size: u64,
    sysid: Option<u64>,
) -> Result<(), String> {
    let seg_name = segment_file_name(TIMELINE, addr / seg_size, seg_size);
    let off = addr % seg_size;
    if h.magic != XLOG_PAGE_MAGIC {
        return Err(format!(
            "invalid magic number {:04X} in log segment {seg_name}, offset {off}",
            h.magic
        ));
    }
    if h.info & !XLP_ALL_FLAGS != 0 {
        return Err(format!(
            "invalid info bits {:04X} in log segment {seg_name}, offset {off}",
            h.info
        ));
    }
    let long = h.info & XLP_LONG_HEADER != 0;
    if long != (off == 0) {
        return Err(format!(
            "invalid info bits {:04X} in log segment {seg_name}, offset {off}",
            h.info
        ));
    }
    if long {
        if let Some(expected) = sysid {
            if h.sysid != expected {
                return Err(format!(
                    "WAL file is from different database system: WAL file database system identifier is {}, pg_control database system identifier is {expected}",
                    h.sysid
                ));
            }
        }
        if h.seg_size as u64 != seg_size {
            return Err(
                "WAL file is from different database system: incorrect segment size in page header"
                    .into(),
            );
        }
        if h.blcksz as usize != BLCKSZ {
            return Err(
                "WAL file is from different database system: incorrect XLOG_BLCKSZ in page header"
                    .into(),
            );
        }
    }
    if h.pageaddr.0 != addr {
        return Err(format!(
            "unexpected pageaddr {} in log segment {seg_name}, offset {off}",
            h.pageaddr
        ));
    }
    if h.tli != TIMELINE {
        return Err(format!(
            "out-of-sequence timeline ID {} in log segment {seg_name}, offset {off}",
            h.tli
        ));
    }
    Ok(())
}

pub fn wal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pg_wal")
}

/// fsyncs a directory so a rename or creation in it is durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens segment `segno` for writing, creating it full of zeros (through a
/// temporary file, fsync, rename, directory fsync: PostgreSQL's
/// `XLogFileInit`) when it does not exist yet.
pub fn open_segment_for_write(data_dir: &Path, segno: u64, seg_size: u64) -> PgResult<File> {
    let name = segment_file_name(TIMELINE, segno, seg_size);
    let path = wal_dir(data_dir).join(&name);
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
    };
    match open() {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(elog::file_error(
                &e,
                format_args!("could not open file \"pg_wal/{name}\""),
            ));
        }
    }
    create_segment(data_dir, segno, seg_size)?;
    open().map_err(|e| elog::file_error(&e, format_args!("could not open file \"pg_wal/{name}\"")))
}

/// Creates segment `segno` filled with zeros unless it exists. Returns
/// whether it created it. Every block of the segment is allocated here
/// (fallocate, or written zeros), so that a full disk fails the creation
/// of a segment, never a WAL write into one. On failure the temporary
/// file is removed, giving its space back (PostgreSQL's
/// `XLogFileInitInternal`); errors carry its messages:
/// `could not write to file "pg_wal/xlogtemp.123": No space left on device`.
pub fn create_segment(data_dir: &Path, segno: u64, seg_size: u64) -> PgResult<bool> {
    let dir = wal_dir(data_dir);
    let path = dir.join(segment_file_name(TIMELINE, segno, seg_size));
    if path.exists() {
        return Ok(false);
    }
    let tmp_name = format!("pg_wal/xlogtemp.{}", std::process::id());
    let tmp = data_dir.join(&tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| elog::file_error(&e, format_args!("could not create file \"{tmp_name}\"")))?;
    let filled = fill_with_zeros(&f, seg_size)
        .map_err(|e| elog::file_error(&e, format_args!("could not write to file \"{tmp_name}\"")))
        .and_then(|()| {
            f.sync_all().map_err(|e| {
                elog::file_error(&e, format_args!("could not fsync file \"{tmp_name}\""))
            })
        });
    drop(f);
    if let Err(e) = filled {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // link() never replaces an existing file: if another process created or
    // recycled this segment meanwhile, keep theirs (it may already hold WAL).
    let created = install_exclusive(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        elog::file_error(
            &e,
            format_args!(
                "could not link file \"{tmp_name}\" to \"pg_wal/{}\"",
                segment_file_name(TIMELINE, segno, seg_size)
            ),
        )
    })?;
    fsync_dir(&dir)
        .map_err(|e| elog::file_error(&e, format_args!("could not fsync file \"pg_wal\"")))?;
    Ok(created)
}

/// Allocates `size` bytes of zeros in the (empty) file `f`: fallocate where
/// the file system has it, else written zeros (PostgreSQL's
/// `wal_init_zero`). A full disk is ENOSPC from either.
fn fill_with_zeros(f: &File, size: u64) -> io::Result<()> {
    match rustix::fs::fallocate(f, rustix::fs::FallocateFlags::empty(), 0, size) {
        Ok(()) => return Ok(()),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {}
        Err(e) => return Err(e.into()),
    }
    let zeros = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < size {
        let n = (size - done).min(zeros.len() as u64) as usize;
        match f.write_at(&zeros[..n], done) {
            Ok(0) => return Err(elog::short_write()),
            Ok(w) => done += w as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Renames `from` to `to` unless `to` exists (PostgreSQL's
/// `durable_rename_excl`): link, then unlink. Returns whether it did; when
/// it did not, `from` is removed.
fn install_exclusive(from: &Path, to: &Path) -> io::Result<bool> {
    let done = match std::fs::hard_link(from, to) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e),
    };
    std::fs::remove_file(from)?;
    Ok(done)
}

/// Reads page `addr` into `buf`. Ok(false) when the segment is missing or too short.
pub fn read_page(data_dir: &Path, addr: u64, seg_size: u64, buf: &mut [u8]) -> io::Result<bool> {
    let path = wal_dir(data_dir).join(segment_file_name(TIMELINE, addr / seg_size, seg_size));
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match f.read_exact_at(&mut buf[..BLCKSZ], addr % seg_size) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// One file of `pg_wal`, as `pg_ls_waldir()` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalFileInfo {
    pub name: String,
    pub size: u64,
    pub modification: SystemTime,
}

/// The regular files in `pg_wal` (not `archive_status/`), by name.
pub fn list_segments(data_dir: &Path) -> io::Result<Vec<WalFileInfo>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(wal_dir(data_dir))? {
        let entry = entry?;
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // removed meanwhile
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            continue;
        }
        out.push(WalFileInfo {
            name: entry.file_name().to_string_lossy().into_owned(),
            size: meta.len(),
            modification: meta.modified()?,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes or recycles the segments no longer needed once the checkpoint
/// whose redo point is `redo` is complete (PostgreSQL's
/// `RemoveOldXlogFiles`): every segment before the one holding `redo`,
/// except those `keep(name)` says to keep (the archiver's `.ready` ones).
/// A removable segment is renamed to a future segment name while fewer than
/// `min_wal_size_mb` worth of segments lie ahead of `redo` (PostgreSQL's
/// recycling; bounded by `max_wal_size_mb`), else deleted.
/// Returns (removed, recycled).
pub fn remove_old_segments(
    data_dir: &Path,
    redo: Lsn,
    keep: impl Fn(&str) -> bool,
    min_wal_size_mb: u64,
    max_wal_size_mb: u64,
) -> io::Result<(usize, usize)> {
    remove_old_segments_sized(
        data_dir,
        redo,
        keep,
        min_wal_size_mb,
        max_wal_size_mb,
        WAL_SEGMENT_SIZE,
    )
}

pub(crate) fn remove_old_segments_sized(
    data_dir: &Path,
    redo: Lsn,
    keep: impl Fn(&str) -> bool,
    min_wal_size_mb: u64,
    max_wal_size_mb: u64,
    seg_size: u64,
) -> io::Result<(usize, usize)> {
    let dir = wal_dir(data_dir);
    let redo_segno = redo.0 / seg_size;
    let segs_for = |mb: u64| ((mb * 1024 * 1024) / seg_size).max(2);
    let max_segno = redo_segno + segs_for(max_wal_size_mb) - 1;
    let recycle_upto = (redo_segno + segs_for(min_wal_size_mb) - 1).min(max_segno);
    let mut segnos: Vec<u64> = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some((tli, segno)) = parse_segment_name(&name, seg_size) {
            if tli == TIMELINE {
                segnos.push(segno);
            }
        }
    }
    segnos.sort_unstable();
    let mut next_future = segnos
        .last()
        .map_or(redo_segno + 1, |&s| s.max(redo_segno) + 1);
    let (mut removed, mut recycled) = (0, 0);
    for &segno in segnos.iter().filter(|&&s| s < redo_segno) {
        let name = segment_file_name(TIMELINE, segno, seg_size);
        if keep(&name) {
            continue;
        }
        let path = dir.join(&name);
        // Recycle into the first free future name (a writer may create
        // segments meanwhile: never replace one), else remove.
        let mut done = false;
        while !done && next_future <= recycle_upto {
            let target = dir.join(segment_file_name(TIMELINE, next_future, seg_size));
            next_future += 1;
            if std::fs::hard_link(&path, &target).is_ok() {
                done = true;
            }
        }
        std::fs::remove_file(&path)?;
        if done {
            recycled += 1;
        } else {
            removed += 1;
        }
        let _ = std::fs::remove_file(dir.join("archive_status").join(format!("{name}.done")));
    }
    if removed + recycled > 0 {
        fsync_dir(&dir)?;
    }
    Ok((removed, recycled))
}
