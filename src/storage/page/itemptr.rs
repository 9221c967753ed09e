//! Tuple identifiers: PostgreSQL's `itemptr.h` and `off.h`.

use std::fmt;

use crate::storage::types::BlockNumber;

/// A 1-based index into a page's line pointer array (PostgreSQL's
/// `OffsetNumber`). 0 is invalid.
pub type OffsetNumber = u16;

pub const INVALID_OFFSET_NUMBER: OffsetNumber = 0;
pub const FIRST_OFFSET_NUMBER: OffsetNumber = 1;

/// A tuple's address: block number and line pointer offset (PostgreSQL's
/// `ItemPointerData`, the `ctid`).
///
/// On disk it is 6 bytes with 2-byte alignment, exactly as in PostgreSQL:
/// the block number is split into two 16-bit halves (`BlockIdData`) so
/// that the struct needs no 4-byte alignment inside a tuple header.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemPointer {
    /// Block number, high half then low half.
    ip_blkid: [u16; 2],
    ip_posid: OffsetNumber,
}

const _: () = assert!(size_of::<ItemPointer>() == 6);
const _: () = assert!(align_of::<ItemPointer>() == 2);

impl ItemPointer {
    /// `(InvalidBlockNumber, 0)`, as PostgreSQL's `ItemPointerSetInvalid`.
    pub const INVALID: ItemPointer = ItemPointer::new(BlockNumber::MAX, INVALID_OFFSET_NUMBER);

    pub const fn new(block: BlockNumber, offset: OffsetNumber) -> ItemPointer {
        ItemPointer {
            ip_blkid: [(block >> 16) as u16, block as u16],
            ip_posid: offset,
        }
    }

    pub const fn block(self) -> BlockNumber {
        ((self.ip_blkid[0] as u32) << 16) | self.ip_blkid[1] as u32
    }

    pub const fn offset(self) -> OffsetNumber {
        self.ip_posid
    }

    pub const fn is_valid(self) -> bool {
        self.ip_posid != INVALID_OFFSET_NUMBER
    }

    /// The on-disk form (little-endian halves).
    pub fn to_bytes(self) -> [u8; 6] {
        let mut b = [0u8; 6];
        b[0..2].copy_from_slice(&self.ip_blkid[0].to_le_bytes());
        b[2..4].copy_from_slice(&self.ip_blkid[1].to_le_bytes());
        b[4..6].copy_from_slice(&self.ip_posid.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; 6]) -> ItemPointer {
        ItemPointer {
            ip_blkid: [
                u16::from_le_bytes([b[0], b[1]]),
                u16::from_le_bytes([b[2], b[3]]),
            ],
            ip_posid: u16::from_le_bytes([b[4], b[5]]),
        }
    }
}

/// Printed as PostgreSQL prints a `tid`: `(0,1)`.
impl fmt::Display for ItemPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.block(), self.offset())
    }
}

impl fmt::Debug for ItemPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_pointer_round_trips_and_orders_by_block_then_offset() {
        let a = ItemPointer::new(0x0001_0002, 7);
        assert_eq!(a.block(), 0x0001_0002);
        assert_eq!(a.offset(), 7);
        assert_eq!(ItemPointer::from_bytes(&a.to_bytes()), a);
        assert_eq!(a.to_string(), "(65538,7)");
        assert!(ItemPointer::new(0xffff, 9) < ItemPointer::new(0x1_0000, 1));
        assert!(ItemPointer::new(3, 1) < ItemPointer::new(3, 2));
        assert!(!ItemPointer::INVALID.is_valid());
    }
}
