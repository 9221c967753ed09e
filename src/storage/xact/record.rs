//! WAL records of the Xact and Clog resource managers, their encoding, and
//! the seam through which this module writes WAL ([`XactWal`]).
//!
//! Xact main data (little-endian), for both COMMIT and ABORT:
//!
//! ```text
//! xid u64 | timestamp i64 (TimestampTz) | nsubxacts u32 | subxids u64 × nsubxacts
//! ```
//!
//! Clog ZEROPAGE main data: `pageno u64`.

use crate::storage::types::{Lsn, Xid};
use crate::storage::wal::RmgrId;
use crate::utils::time::TimestampTz;

/// Xact record kinds (`info`), PostgreSQL's values.
pub const XLOG_XACT_COMMIT: u8 = 0x00;
pub const XLOG_XACT_ABORT: u8 = 0x20;
/// Clog record kinds (`info`), PostgreSQL's values.
pub const CLOG_ZEROPAGE: u8 = 0x00;
pub const CLOG_TRUNCATE: u8 = 0x10;

/// How this module writes WAL. The server uses [`ServerWal`]; unit tests
/// pass their own so they do not need a WAL.
pub trait XactWal: Sync {
    /// Appends a record with no block references; returns the LSN past it.
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn;
    /// Makes the WAL durable up to `upto`.
    fn flush(&self, upto: Lsn) -> std::io::Result<()>;
    /// Asks the walwriter to flush soon (asynchronous commit).
    fn wake_writer(&self);
    /// How far WAL is durable (for the hint-bit rule of asynchronous commits).
    fn flushed_lsn(&self) -> Lsn;
}

/// The real WAL of this server process.
pub struct ServerWal;

impl XactWal for ServerWal {
    fn insert(&self, rmgr: RmgrId, info: u8, xid: Xid, main_data: &[u8]) -> Lsn {
        crate::storage::wal::insert(rmgr, info, xid, main_data, &[])
    }
    fn flush(&self, upto: Lsn) -> std::io::Result<()> {
        crate::storage::wal::flush(upto)
    }
    fn wake_writer(&self) {
        let procarray = crate::storage::shmem::get().procarray();
        if let Some(slot) = procarray.find_kind(crate::process::ProcessKind::WalWriter) {
            slot.latch.set();
        }
    }
    fn flushed_lsn(&self) -> Lsn {
        crate::storage::wal::flushed_lsn()
    }
}

/// A commit or abort record's main data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XactRecord {
    pub xid: Xid,
    pub timestamp: TimestampTz,
    /// Subtransactions ending with it (committed children at commit; the
    /// rolled-back ones at abort).
    pub subxids: Vec<Xid>,
}

impl XactRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + 8 * self.subxids.len());
        out.extend_from_slice(&self.xid.0.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&(self.subxids.len() as u32).to_le_bytes());
        for s in &self.subxids {
            out.extend_from_slice(&s.0.to_le_bytes());
        }
        out
    }

    /// Decodes main data written by [`encode`](Self::encode); None if malformed.
    pub fn decode(data: &[u8]) -> Option<XactRecord> {
        let u64_at = |o: usize| {
            data.get(o..o + 8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        };
        let xid = Xid(u64_at(0)?);
        let timestamp = u64_at(8)? as i64;
        let n = u32::from_le_bytes(data.get(16..20)?.try_into().expect("4 bytes")) as usize;
        if data.len() != 20 + 8 * n {
            return None;
        }
        let subxids = (0..n)
            .map(|i| Xid(u64_at(20 + 8 * i).expect("length checked")))
            .collect();
        Some(XactRecord {
            xid,
            timestamp,
            subxids,
        })
    }
}

pub(crate) fn encode_zeropage(pageno: u64) -> [u8; 8] {
    pageno.to_le_bytes()
}

pub(crate) fn decode_zeropage(data: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(data.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xact_record_round_trips_and_rejects_truncation() {
        let r = XactRecord {
            xid: Xid(1 << 40),
            timestamp: -5,
            subxids: vec![Xid(7), Xid(9)],
        };
        let bytes = r.encode();
        assert_eq!(bytes.len(), 36);
        assert_eq!(XactRecord::decode(&bytes), Some(r));
        assert_eq!(XactRecord::decode(&bytes[..35]), None);
        assert_eq!(decode_zeropage(&encode_zeropage(77)), Some(77));
    }
}
