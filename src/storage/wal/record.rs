//! WAL record format (PostgreSQL's `xlogrecord.h`, the assembly half of
//! `xloginsert.c` and the decoding half of `xlogreader.c`).
//!
//! A record is a fixed 28-byte header followed by block headers, the main
//! data header, then the payloads in the same order:
//!
//! ```text
//! header     xl_tot_len u32 | xl_xid u64 | xl_prev u64 | xl_info u8 | xl_rmid u8 | pad u16 | xl_crc u32
//! per block  block_id u8 | fork_and_flags u8 | data_len u32
//!            [hole_offset u16 | hole_length u16]        if HAS_IMAGE
//!            [RelFileLocator: spc u32 | db u32 | rel u32] unless SAME_REL
//!            block number u32
//! main data  255 u8 | len u8      (DATA_SHORT, len < 256)
//!          | 254 u8 | len u32     (DATA_LONG)
//! payloads   block 0 image (BLCKSZ - hole_length bytes), block 0 data,
//!            block 1 ..., main data
//! ```
//!
//! All integers are little-endian. `xl_crc` is CRC-32C over the body
//! followed by the header with the `xl_crc` field zeroed — PostgreSQL's
//! order, which lets the body's CRC be computed outside any lock and the
//! header (whose `xl_prev` is known once space is reserved) be appended
//! under the insert lock without a CRC combine.
//!
//! Full-page images skip the "hole" between `pd_lower` and `pd_upper` when
//! those bytes are all zero (checked, so a page whose header is not laid out
//! like PostgreSQL's is still stored exactly: its image simply has no hole).

use crate::storage::types::{BLCKSZ, BlockNumber, BufferTag, ForkNumber, Lsn, RelFileLocator, Xid};

/// Size of the fixed record header.
pub const SIZE_OF_XLOG_RECORD: usize = 28;
/// Offset of `xl_crc` in the header.
const CRC_OFFSET: usize = 24;
/// Largest record accepted (PostgreSQL's `XLogRecordMaxSize`, 1020 MB).
pub const MAX_RECORD_SIZE: usize = 1020 * 1024 * 1024;
/// Most block references in one record (PostgreSQL's `XLR_MAX_BLOCK_ID` + 1).
pub const MAX_BLOCKS: usize = 33;

const BKPBLOCK_FORK_MASK: u8 = 0x0F;
const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
const BKPBLOCK_HAS_DATA: u8 = 0x20;
const BKPBLOCK_SAME_REL: u8 = 0x80;
const XLR_BLOCK_ID_DATA_SHORT: u8 = 255;
const XLR_BLOCK_ID_DATA_LONG: u8 = 254;

/// `xl_info` values of [`RmgrId::Xlog`] records (PostgreSQL's `pg_control.h`).
pub const XLOG_CHECKPOINT_SHUTDOWN: u8 = 0x00;
pub const XLOG_CHECKPOINT_ONLINE: u8 = 0x10;
pub const XLOG_NOOP: u8 = 0x20;
pub const XLOG_NEXTOID: u8 = 0x30;
pub const XLOG_SWITCH: u8 = 0x40;
/// End of an online base backup; main data: the backup's start LSN (u64).
pub const XLOG_BACKUP_END: u8 = 0x50;
pub const XLOG_FPI: u8 = 0xB0;

/// Resource managers: who can redo a record (PostgreSQL's `RmgrId`, same numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RmgrId {
    Xlog = 0,
    Xact = 1,
    Storage = 2,
    Clog = 3,
    Database = 4,
    Standby = 8,
    Heap2 = 9,
    Heap = 10,
    Btree = 11,
    Sequence = 15,
}

impl RmgrId {
    pub fn from_u8(v: u8) -> Option<RmgrId> {
        Some(match v {
            0 => RmgrId::Xlog,
            1 => RmgrId::Xact,
            2 => RmgrId::Storage,
            3 => RmgrId::Clog,
            4 => RmgrId::Database,
            8 => RmgrId::Standby,
            9 => RmgrId::Heap2,
            10 => RmgrId::Heap,
            11 => RmgrId::Btree,
            15 => RmgrId::Sequence,
            _ => return None,
        })
    }

    /// The name `pg_waldump` prints.
    pub fn name(self) -> &'static str {
        match self {
            RmgrId::Xlog => "XLOG",
            RmgrId::Xact => "Transaction",
            RmgrId::Storage => "Storage",
            RmgrId::Clog => "CLOG",
            RmgrId::Database => "Database",
            RmgrId::Standby => "Standby",
            RmgrId::Heap2 => "Heap2",
            RmgrId::Heap => "Heap",
            RmgrId::Btree => "Btree",
            RmgrId::Sequence => "Sequence",
        }
    }
}

/// A block a record touches: the page image (when a full-page write is
/// needed) and the block-specific data the redo routine uses.
pub struct BlockRef<'a> {
    pub tag: BufferTag,
    pub image: Option<&'a [u8; BLCKSZ]>,
    pub data: &'a [u8],
}

/// One block reference of a decoded record.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedBlock {
    pub tag: BufferTag,
    /// The full page, hole restored as zeros.
    pub image: Option<Box<[u8; BLCKSZ]>>,
    pub data: Vec<u8>,
}

/// A record as the reader returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedRecord {
    /// Where the record starts.
    pub lsn: Lsn,
    /// Just past the record, MAXALIGNed: where the next record starts (or
    /// the page boundary before its page header).
    pub end_lsn: Lsn,
    /// `xl_prev`: the start of the previous record.
    pub prev: Lsn,
    pub xid: Xid,
    pub rmgr: RmgrId,
    pub info: u8,
    pub blocks: Vec<DecodedBlock>,
    pub main_data: Vec<u8>,
}

/// A record assembled outside the insert lock: everything but `xl_prev`
/// and the CRC.
pub(crate) struct Assembled {
    /// The whole record, header included (prev and crc still zero).
    pub bytes: Vec<u8>,
    /// CRC-32C of `bytes[SIZE_OF_XLOG_RECORD..]`.
    pub body_crc: u32,
    /// Number of full-page images (for pg_stat_wal.wal_fpi).
    pub fpi_count: u32,
}

fn fork_from_u8(v: u8) -> Option<ForkNumber> {
    Some(match v {
        0 => ForkNumber::Main,
        1 => ForkNumber::Fsm,
        2 => ForkNumber::VisibilityMap,
        3 => ForkNumber::Init,
        _ => return None,
    })
}

/// The zero "hole" of a page image: `[pd_lower, pd_upper)` when the page
/// header says so *and* the bytes there are zero, else empty.
fn page_hole(page: &[u8; BLCKSZ]) -> (u16, u16) {
    let lower = u16::from_le_bytes([page[12], page[13]]) as usize;
    let upper = u16::from_le_bytes([page[14], page[15]]) as usize;
    if lower >= 24 && lower < upper && upper <= BLCKSZ && page[lower..upper].iter().all(|&b| b == 0)
    {
        (lower as u16, (upper - lower) as u16)
    } else {
        (0, 0)
    }
}

/// Builds the record bytes (PostgreSQL's `XLogRecordAssemble`).
pub(crate) fn assemble(
    rmgr: RmgrId,
    info: u8,
    xid: Xid,
    main_data: &[u8],
    blocks: &[BlockRef<'_>],
) -> Assembled {
    assert!(
        blocks.len() <= MAX_BLOCKS,
        "a WAL record references at most {MAX_BLOCKS} blocks"
    );
    let mut hdrs: Vec<u8> = Vec::with_capacity(32 * blocks.len() + 8);
    let mut payload_len = 0usize;
    let mut holes = Vec::with_capacity(blocks.len());
    let mut fpi_count = 0;
    let mut prev_rel: Option<RelFileLocator> = None;
    for (id, b) in blocks.iter().enumerate() {
        let mut flags = b.tag.fork as u8;
        if b.image.is_some() {
            flags |= BKPBLOCK_HAS_IMAGE;
        }
        if !b.data.is_empty() {
            flags |= BKPBLOCK_HAS_DATA;
        }
        if prev_rel == Some(b.tag.rel) {
            flags |= BKPBLOCK_SAME_REL;
        }
        hdrs.push(id as u8);
        hdrs.push(flags);
        assert!(b.data.len() <= u32::MAX as usize, "block data too long");
        hdrs.extend_from_slice(&(b.data.len() as u32).to_le_bytes());
        let hole = match b.image {
            Some(page) => {
                fpi_count += 1;
                let (off, len) = page_hole(page);
                hdrs.extend_from_slice(&off.to_le_bytes());
                hdrs.extend_from_slice(&len.to_le_bytes());
                payload_len += BLCKSZ - len as usize;
                (off as usize, len as usize)
            }
            None => (0, 0),
        };
        holes.push(hole);
        if flags & BKPBLOCK_SAME_REL == 0 {
            hdrs.extend_from_slice(&b.tag.rel.spc_oid.to_le_bytes());
            hdrs.extend_from_slice(&b.tag.rel.db_oid.to_le_bytes());
            hdrs.extend_from_slice(&b.tag.rel.rel_number.to_le_bytes());
        }
        hdrs.extend_from_slice(&b.tag.block.to_le_bytes());
        payload_len += b.data.len();
        prev_rel = Some(b.tag.rel);
    }
    if !main_data.is_empty() {
        if main_data.len() < 256 {
            hdrs.push(XLR_BLOCK_ID_DATA_SHORT);
            hdrs.push(main_data.len() as u8);
        } else {
            hdrs.push(XLR_BLOCK_ID_DATA_LONG);
            hdrs.extend_from_slice(&(main_data.len() as u32).to_le_bytes());
        }
        payload_len += main_data.len();
    }
    let tot_len = SIZE_OF_XLOG_RECORD + hdrs.len() + payload_len;
    assert!(
        tot_len <= MAX_RECORD_SIZE,
        "WAL record of {tot_len} bytes is too large"
    );
    let mut bytes = Vec::with_capacity(tot_len);
    bytes.extend_from_slice(&(tot_len as u32).to_le_bytes());
    bytes.extend_from_slice(&xid.0.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes()); // xl_prev, set under the insert lock
    bytes.push(info);
    bytes.push(rmgr as u8);
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&0u32.to_le_bytes()); // xl_crc
    debug_assert_eq!(bytes.len(), SIZE_OF_XLOG_RECORD);
    bytes.extend_from_slice(&hdrs);
    for (b, &(hole_off, hole_len)) in blocks.iter().zip(&holes) {
        if let Some(page) = b.image {
            bytes.extend_from_slice(&page[..hole_off]);
            bytes.extend_from_slice(&page[hole_off + hole_len..]);
        }
        bytes.extend_from_slice(b.data);
    }
    bytes.extend_from_slice(main_data);
    assert_eq!(bytes.len(), tot_len, "assembled record length");
    let body_crc = crc32c::crc32c(&bytes[SIZE_OF_XLOG_RECORD..]);
    Assembled {
        bytes,
        body_crc,
        fpi_count,
    }
}

/// Sets `xl_prev` and `xl_crc` of an assembled record.
pub(crate) fn finish_header(bytes: &mut [u8], prev: Lsn, body_crc: u32) {
    bytes[12..20].copy_from_slice(&prev.0.to_le_bytes());
    bytes[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&[0; 4]);
    let crc = record_crc(&bytes[..SIZE_OF_XLOG_RECORD], body_crc);
    bytes[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
}

/// CRC of a record: its body's CRC continued over its header with the crc
/// field as zero.
fn record_crc(header: &[u8], body_crc: u32) -> u32 {
    let mut h = [0u8; SIZE_OF_XLOG_RECORD];
    h.copy_from_slice(header);
    h[CRC_OFFSET..CRC_OFFSET + 4].fill(0);
    crc32c::crc32c_append(body_crc, &h)
}

/// The header fields, parsed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordHeader {
    pub tot_len: u32,
    pub xid: Xid,
    pub prev: Lsn,
    pub info: u8,
    pub rmid: u8,
    pub crc: u32,
}

pub(crate) fn parse_header(h: &[u8]) -> RecordHeader {
    RecordHeader {
        tot_len: u32::from_le_bytes(h[0..4].try_into().expect("4 bytes")),
        xid: Xid(u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"))),
        prev: Lsn(u64::from_le_bytes(h[12..20].try_into().expect("8 bytes"))),
        info: h[20],
        rmid: h[21],
        crc: u32::from_le_bytes(h[24..28].try_into().expect("4 bytes")),
    }
}

/// Whether a whole record's stored CRC matches its bytes.
pub(crate) fn crc_ok(bytes: &[u8]) -> bool {
    let hdr = parse_header(bytes);
    let body = &bytes[SIZE_OF_XLOG_RECORD..];
    record_crc(&bytes[..SIZE_OF_XLOG_RECORD], crc32c::crc32c(body)) == hdr.crc
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() - self.pos < n {
            return Err(format!(
                "record too short: needs {} more bytes at offset {}",
                n, self.pos
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}

/// Decodes a complete record whose CRC has been checked (PostgreSQL's
/// `DecodeXLogRecord`). Errors describe the corruption, as PostgreSQL's
/// reader messages do.
pub(crate) fn decode(lsn: Lsn, end_lsn: Lsn, bytes: &[u8]) -> Result<DecodedRecord, String> {
    let hdr = parse_header(bytes);
    if hdr.tot_len as usize != bytes.len() {
        return Err(format!(
            "record at {lsn} claims {} bytes but has {}",
            hdr.tot_len,
            bytes.len()
        ));
    }
    let rmgr = RmgrId::from_u8(hdr.rmid)
        .ok_or_else(|| format!("invalid resource manager ID {} at {lsn}", hdr.rmid))?;
    let mut c = Cursor {
        buf: bytes,
        pos: SIZE_OF_XLOG_RECORD,
    };
    struct BlockHdr {
        tag: BufferTag,
        data_len: usize,
        image: Option<(usize, usize)>,
    }
    let mut hdrs: Vec<BlockHdr> = Vec::new();
    let mut main_len = 0usize;
    let mut prev_rel: Option<RelFileLocator> = None;
    // Headers come first; they end where the remaining bytes are exactly
    // the payloads they announced (PostgreSQL's `remaining > datatotal`).
    let mut datatotal = 0usize;
    while bytes.len() - c.pos > datatotal {
        let id = c.u8()?;
        if id == XLR_BLOCK_ID_DATA_SHORT {
            main_len = c.u8()? as usize;
            datatotal += main_len;
            break;
        }
        if id == XLR_BLOCK_ID_DATA_LONG {
            main_len = c.u32()? as usize;
            datatotal += main_len;
            break;
        }
        if id as usize != hdrs.len() || hdrs.len() >= MAX_BLOCKS {
            return Err(format!("out-of-order block_id {id} at {lsn}"));
        }
        let flags = c.u8()?;
        let fork = fork_from_u8(flags & BKPBLOCK_FORK_MASK)
            .ok_or_else(|| format!("invalid fork number at {lsn}"))?;
        let data_len = c.u32()? as usize;
        if (flags & BKPBLOCK_HAS_DATA != 0) != (data_len > 0) {
            return Err(format!(
                "BKPBLOCK_HAS_DATA inconsistent with data length {data_len} at {lsn}"
            ));
        }
        let image = if flags & BKPBLOCK_HAS_IMAGE != 0 {
            let off = c.u16()? as usize;
            let len = c.u16()? as usize;
            if off + len > BLCKSZ || (len == 0 && off != 0) {
                return Err(format!(
                    "invalid hole offset {off} length {len} in block image at {lsn}"
                ));
            }
            Some((off, len))
        } else {
            None
        };
        let rel = if flags & BKPBLOCK_SAME_REL != 0 {
            prev_rel.ok_or_else(|| format!("BKPBLOCK_SAME_REL set but no previous rel at {lsn}"))?
        } else {
            RelFileLocator {
                spc_oid: c.u32()?,
                db_oid: c.u32()?,
                rel_number: c.u32()?,
            }
        };
        let block: BlockNumber = c.u32()?;
        prev_rel = Some(rel);
        datatotal += data_len + image.map(|(_, len)| BLCKSZ - len).unwrap_or(0);
        hdrs.push(BlockHdr {
            tag: BufferTag { rel, fork, block },
            data_len,
            image,
        });
    }
    if bytes.len() - c.pos != datatotal {
        return Err(format!(
            "record at {lsn}: headers announce {datatotal} payload bytes, {} remain",
            bytes.len() - c.pos
        ));
    }
    let mut blocks = Vec::with_capacity(hdrs.len());
    for h in &hdrs {
        let image = match h.image {
            Some((off, len)) => {
                let stored = c.take(BLCKSZ - len)?;
                let mut page = Box::new([0u8; BLCKSZ]);
                page[..off].copy_from_slice(&stored[..off]);
                page[off + len..].copy_from_slice(&stored[off..]);
                Some(page)
            }
            None => None,
        };
        let data = c.take(h.data_len)?.to_vec();
        blocks.push(DecodedBlock {
            tag: h.tag,
            image,
            data,
        });
    }
    let main_data = c.take(main_len)?.to_vec();
    if c.pos != bytes.len() {
        return Err(format!(
            "record at {lsn} has {} unexpected trailing bytes",
            bytes.len() - c.pos
        ));
    }
    Ok(DecodedRecord {
        lsn,
        end_lsn,
        prev: hdr.prev,
        xid: hdr.xid,
        rmgr,
        info: hdr.info,
        blocks,
        main_data,
    })
}

/// Contents of a checkpoint record (PostgreSQL's `CheckPoint`), also kept
/// in pg_control as `checkPointCopy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckPoint {
    /// Where replay starts: the insert position when the checkpoint began.
    pub redo: Lsn,
    pub timeline: u32,
    pub prev_timeline: u32,
    pub full_page_writes: bool,
    pub next_xid: Xid,
    pub next_oid: u32,
    pub next_multi: u32,
    pub next_multi_offset: u32,
    pub oldest_xid: Xid,
    pub oldest_xid_db: u32,
    pub oldest_multi: u32,
    pub oldest_multi_db: u32,
    pub oldest_active_xid: Xid,
    /// Unix seconds.
    pub time: i64,
}

impl CheckPoint {
    pub const ENCODED_SIZE: usize = 80;

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(Self::ENCODED_SIZE);
        b.extend_from_slice(&self.redo.0.to_le_bytes());
        b.extend_from_slice(&self.timeline.to_le_bytes());
        b.extend_from_slice(&self.prev_timeline.to_le_bytes());
        b.extend_from_slice(&(self.full_page_writes as u32).to_le_bytes());
        b.extend_from_slice(&self.next_oid.to_le_bytes());
        b.extend_from_slice(&self.next_xid.0.to_le_bytes());
        b.extend_from_slice(&self.next_multi.to_le_bytes());
        b.extend_from_slice(&self.next_multi_offset.to_le_bytes());
        b.extend_from_slice(&self.oldest_xid.0.to_le_bytes());
        b.extend_from_slice(&self.oldest_xid_db.to_le_bytes());
        b.extend_from_slice(&self.oldest_multi.to_le_bytes());
        b.extend_from_slice(&self.oldest_multi_db.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&self.oldest_active_xid.0.to_le_bytes());
        b.extend_from_slice(&self.time.to_le_bytes());
        assert_eq!(b.len(), Self::ENCODED_SIZE);
        b
    }

    pub fn decode(b: &[u8]) -> Option<CheckPoint> {
        if b.len() != Self::ENCODED_SIZE {
            return None;
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        Some(CheckPoint {
            redo: Lsn(u64_at(0)),
            timeline: u32_at(8),
            prev_timeline: u32_at(12),
            full_page_writes: u32_at(16) != 0,
            next_oid: u32_at(20),
            next_xid: Xid(u64_at(24)),
            next_multi: u32_at(32),
            next_multi_offset: u32_at(36),
            oldest_xid: Xid(u64_at(40)),
            oldest_xid_db: u32_at(48),
            oldest_multi: u32_at(52),
            oldest_multi_db: u32_at(56),
            oldest_active_xid: Xid(u64_at(64)),
            time: u64_at(72) as i64,
        })
    }
}
