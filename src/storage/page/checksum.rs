//! Page checksums (PostgreSQL's `checksum_impl.h`, with a different
//! algorithm).
//!
//! PostgreSQL computes a 32-lane FNV-1a variant over the page and folds it
//! to 16 bits. ferrogres uses CRC-32C instead (hardware-accelerated, and the
//! WAL already depends on it), so a checksum written by PostgreSQL does not
//! verify here and vice versa — the page layout differs anyway. What is kept
//! from PostgreSQL:
//!
//! 1. The checksum covers the whole page with `pd_checksum` taken as zero.
//! 2. The block number is mixed in, so a page written to the wrong place
//!    (a misdirected write) fails verification.
//! 3. The result is folded to 16 bits as `(crc % 65535) + 1`: it is never
//!    zero, so zero means "no checksum was ever set".

use crate::storage::types::{BLCKSZ, BlockNumber};

use super::bufpage::PD_CHECKSUM_OFFSET;

/// The checksum of `page` as block `blkno`, ignoring the stored
/// `pd_checksum`.
pub fn page_checksum(page: &[u8; BLCKSZ], blkno: BlockNumber) -> u16 {
    let mut crc = crc32c::crc32c(&page[..PD_CHECKSUM_OFFSET]);
    crc = crc32c::crc32c_append(crc, &[0, 0]);
    crc = crc32c::crc32c_append(crc, &page[PD_CHECKSUM_OFFSET + 2..]);
    crc = crc32c::crc32c_append(crc, &blkno.to_le_bytes());
    ((crc % 65535) + 1) as u16
}
