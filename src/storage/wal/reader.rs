//! Reading WAL back for recovery (PostgreSQL's `xlogreader.c`): straight
//! from the segment files, no shared memory.
//!
//! The reader validates every page header (magic, page address, timeline,
//! long header on a segment's first page, continuation flag and remaining
//! length), the `xl_prev` chain and each record's CRC. The first failure is
//! the end of WAL: after a crash the tail of the last segment is zeroed,
//! torn, or left over from a recycled segment, and that is normal.
//! `next_record` then returns `Ok(None)` and [`WalReader::end_reason`] says
//! why, worded as PostgreSQL's LOG line ("invalid record length at 0/1234:
//! wanted 28, got 0"). `Err` is kept for I/O errors other than a missing or
//! short file.

use std::io;
use std::path::{Path, PathBuf};

use super::file::{self, XLP_FIRST_IS_CONTRECORD, maxalign, page_floor, page_header_size};
use super::record::{
    self, DecodedRecord, MAX_RECORD_SIZE, RmgrId, SIZE_OF_XLOG_RECORD, XLOG_SWITCH,
};
use crate::storage::types::{BLCKSZ, Lsn, WAL_SEGMENT_SIZE};

const PAGE: u64 = BLCKSZ as u64;

pub struct WalReader {
    data_dir: PathBuf,
    seg_size: u64,
    /// Where the next record starts (or the page boundary before it).
    next: u64,
    /// Start of the last record returned: the next one's expected xl_prev.
    /// Invalid before the first record (nothing to check against).
    prev: Lsn,
    /// System identifier from the first long page header seen.
    sysid: Option<u64>,
    /// The page last read, and its address.
    page: Vec<u8>,
    page_addr: Option<u64>,
    end_reason: Option<String>,
    /// Archive recovery: called once per segment, before its first page is
    /// read, with the segment's file name; it may put a copy fetched from
    /// the archive into `pg_wal` (PostgreSQL's `XLogFileRead` from
    /// `XLOG_FROM_ARCHIVE`, tried before `pg_wal`).
    restore: Option<Box<dyn FnMut(&str)>>,
    restored_segno: Option<u64>,
}

/// Why reading stopped at a position.
type End = String;

impl WalReader {
    /// A reader whose first record starts at `start` (a record start such
    /// as the checkpoint record's LSN or the redo point).
    pub fn new(data_dir: &Path, start: Lsn) -> WalReader {
        WalReader::with_segment_size(data_dir, start, WAL_SEGMENT_SIZE)
    }

    pub fn with_segment_size(data_dir: &Path, start: Lsn, seg_size: u64) -> WalReader {
        WalReader {
            data_dir: data_dir.to_path_buf(),
            seg_size,
            next: start.0,
            prev: Lsn::INVALID,
            sysid: None,
            page: vec![0; BLCKSZ],
            page_addr: None,
            end_reason: None,
            restore: None,
            restored_segno: None,
        }
    }

    /// Archive recovery: `fetch(name)` runs before the first read of each
    /// segment (see the `restore` field).
    pub fn set_restore(&mut self, fetch: Box<dyn FnMut(&str)>) {
        self.restore = Some(fetch);
    }

    /// Checks long page headers against this system identifier (pg_control's).
    pub fn expect_system_identifier(&mut self, sysid: u64) {
        self.sysid = Some(sysid);
    }

    /// Why the last `next_record` returned None.
    pub fn end_reason(&self) -> Option<&str> {
        self.end_reason.as_deref()
    }

    /// Where the next record would start: after the end of WAL, the
    /// position `init_insert_position` continues from.
    pub fn end_of_wal(&self) -> Lsn {
        Lsn(self.next)
    }

    /// Start of the last valid record read (the next insert's xl_prev).
    pub fn last_record(&self) -> Lsn {
        self.prev
    }

    /// The next record, or None at the end of valid WAL.
    pub fn next_record(&mut self) -> io::Result<Option<DecodedRecord>> {
        if self.end_reason.is_some() {
            return Ok(None);
        }
        match self.read_record()? {
            Ok(rec) => {
                self.prev = rec.lsn;
                self.next = rec.end_lsn.0;
                Ok(Some(rec))
            }
            Err(reason) => {
                self.end_reason = Some(reason);
                Ok(None)
            }
        }
    }

    /// Loads and validates page `addr`. Ok(Err) is an end of WAL.
    fn load_page(&mut self, addr: u64) -> io::Result<Result<file::PageHeader, End>> {
        if self.page_addr != Some(addr) {
            self.page_addr = None;
            let segno = addr / self.seg_size;
            if self.restored_segno != Some(segno) {
                self.restored_segno = Some(segno);
                if let Some(fetch) = self.restore.as_mut() {
                    fetch(&file::segment_file_name(
                        file::TIMELINE,
                        segno,
                        self.seg_size,
                    ));
                }
            }
            if !file::read_page(&self.data_dir, addr, self.seg_size, &mut self.page)? {
                let name =
                    file::segment_file_name(file::TIMELINE, addr / self.seg_size, self.seg_size);
                return Ok(Err(format!(
                    "could not read WAL page at {} (file \"pg_wal/{name}\" missing or too short)",
                    Lsn(addr)
                )));
            }
            self.page_addr = Some(addr);
        }
        let hdr = file::parse_page_header(&self.page);
        if let Err(e) = file::validate_page_header(&hdr, addr, self.seg_size, self.sysid) {
            self.page_addr = None;
            return Ok(Err(e));
        }
        if hdr.sysid != 0 && self.sysid.is_none() {
            self.sysid = Some(hdr.sysid);
        }
        Ok(Ok(hdr))
    }

    fn read_record(&mut self) -> io::Result<Result<DecodedRecord, End>> {
        let mut pos = self.next;
        if pos < self.seg_size || pos % 8 != 0 {
            return Ok(Err(format!("invalid record offset at {}", Lsn(pos))));
        }
        // A record starting at a page boundary starts after the header,
        // which must not announce a continuation.
        let page = page_floor(pos);
        let hdr = match self.load_page(page)? {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let hsize = page_header_size(page, self.seg_size) as u64;
        if pos == page {
            if hdr.info & XLP_FIRST_IS_CONTRECORD != 0 {
                return Ok(Err(format!("contrecord is requested by {}", Lsn(pos))));
            }
            pos += hsize;
        } else if pos < page + hsize {
            return Ok(Err(format!("invalid record offset at {}", Lsn(pos))));
        }
        let start = pos;
        // xl_tot_len always fits on the first page (8-aligned start, 8-aligned page end).
        let off = (pos - page) as usize;
        let tot_len =
            u32::from_le_bytes(self.page[off..off + 4].try_into().expect("4 bytes")) as usize;
        if tot_len < SIZE_OF_XLOG_RECORD {
            return Ok(Err(format!(
                "invalid record length at {}: wanted {SIZE_OF_XLOG_RECORD}, got {tot_len}",
                Lsn(start)
            )));
        }
        if tot_len > MAX_RECORD_SIZE {
            return Ok(Err(format!(
                "record length {tot_len} at {} too long",
                Lsn(start)
            )));
        }
        // When the whole header is on this page, check it before reading on
        // (a garbage length must not make us read far).
        if off + SIZE_OF_XLOG_RECORD <= BLCKSZ {
            let h = record::parse_header(&self.page[off..off + SIZE_OF_XLOG_RECORD]);
            if let Some(e) = self.check_header(&h, start) {
                return Ok(Err(e));
            }
        }
        let mut bytes = Vec::with_capacity(tot_len);
        let first = (BLCKSZ - off).min(tot_len);
        bytes.extend_from_slice(&self.page[off..off + first]);
        pos += first as u64;
        while bytes.len() < tot_len {
            debug_assert_eq!(pos % PAGE, 0);
            let hdr = match self.load_page(pos)? {
                Ok(h) => h,
                Err(e) => return Ok(Err(e)),
            };
            let remaining = tot_len - bytes.len();
            if hdr.info & XLP_FIRST_IS_CONTRECORD == 0 {
                return Ok(Err(format!("there is no contrecord flag at {}", Lsn(pos))));
            }
            if hdr.rem_len as usize != remaining {
                return Ok(Err(format!(
                    "invalid contrecord length {} (expected {remaining}) at {}",
                    hdr.rem_len,
                    Lsn(pos)
                )));
            }
            let h = page_header_size(pos, self.seg_size);
            let n = (BLCKSZ - h).min(remaining);
            bytes.extend_from_slice(&self.page[h..h + n]);
            pos += (h + n) as u64;
            if bytes.len() >= SIZE_OF_XLOG_RECORD && bytes.len() - n < SIZE_OF_XLOG_RECORD {
                let hd = record::parse_header(&bytes[..SIZE_OF_XLOG_RECORD]);
                if let Some(e) = self.check_header(&hd, start) {
                    return Ok(Err(e));
                }
            }
        }
        if !record::crc_ok(&bytes) {
            return Ok(Err(format!(
                "incorrect resource manager data checksum in record at {}",
                Lsn(start)
            )));
        }
        let h = record::parse_header(&bytes);
        let mut end = maxalign(pos);
        if h.rmid == RmgrId::Xlog as u8 && h.info == XLOG_SWITCH {
            // The rest of the segment is padding (PostgreSQL: "pretend it extends to end of segment").
            end = end.div_ceil(self.seg_size) * self.seg_size;
        }
        match record::decode(Lsn(start), Lsn(end), &bytes) {
            Ok(rec) => Ok(Ok(rec)),
            Err(e) => Ok(Err(e)),
        }
    }

    fn check_header(&self, h: &record::RecordHeader, start: u64) -> Option<End> {
        if RmgrId::from_u8(h.rmid).is_none() {
            return Some(format!(
                "invalid resource manager ID {} at {}",
                h.rmid,
                Lsn(start)
            ));
        }
        if self.prev.is_valid() && h.prev != self.prev {
            return Some(format!(
                "record with incorrect prev-link {} at {}",
                h.prev,
                Lsn(start)
            ));
        }
        if !self.prev.is_valid() && h.prev.0 >= start {
            return Some(format!(
                "record with incorrect prev-link {} at {}",
                h.prev,
                Lsn(start)
            ));
        }
        None
    }
}
