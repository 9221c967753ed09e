//! Identifiers shared by the storage subsystems, as newtypes with
//! PostgreSQL's names (STYLE.md: `Xid`, `Lsn`, `BlockNumber`, `Oid`).

use std::fmt;

/// An object identifier.
pub type Oid = u32;

/// A block number within one fork of a relation.
pub type BlockNumber = u32;

/// A position in the WAL: a byte offset since the start of WAL.
/// Printed as PostgreSQL prints `pg_lsn`: `16/B374D848`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Lsn(pub u64);

impl Lsn {
    pub const INVALID: Lsn = Lsn(0);

    pub fn is_valid(self) -> bool {
        self.0 != 0
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// A transaction id. ferrogres uses 64-bit ids everywhere (on disk too), so
/// there is no wraparound; `txid_current()` shows the full value and
/// `age()` is a plain difference. Ids below [`Xid::FIRST_NORMAL`] are
/// special, as in PostgreSQL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Xid(pub u64);

impl Xid {
    pub const INVALID: Xid = Xid(0);
    pub const BOOTSTRAP: Xid = Xid(1);
    pub const FROZEN: Xid = Xid(2);
    pub const FIRST_NORMAL: Xid = Xid(3);

    pub fn is_valid(self) -> bool {
        self.0 != 0
    }
    pub fn is_normal(self) -> bool {
        self.0 >= Xid::FIRST_NORMAL.0
    }
}

impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which file of a relation (PostgreSQL's `ForkNumber`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ForkNumber {
    Main = 0,
    Fsm = 1,
    VisibilityMap = 2,
    Init = 3,
}

impl ForkNumber {
    /// File-name suffix: `""`, `"_fsm"`, `"_vm"`, `"_init"`.
    pub fn suffix(self) -> &'static str {
        match self {
            ForkNumber::Main => "",
            ForkNumber::Fsm => "_fsm",
            ForkNumber::VisibilityMap => "_vm",
            ForkNumber::Init => "_init",
        }
    }
}

/// Where a relation's files live (PostgreSQL's `RelFileLocator`):
/// `base/<db_oid>/<relfilenode>`, or `global/<relfilenode>` for shared
/// catalogs (db_oid 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct RelFileLocator {
    pub spc_oid: Oid,
    pub db_oid: Oid,
    pub rel_number: Oid,
}

/// One block of one fork of one relation: the buffer pool's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct BufferTag {
    pub rel: RelFileLocator,
    pub fork: ForkNumber,
    pub block: BlockNumber,
}

/// Size of a page and of a WAL page.
pub const BLCKSZ: usize = 8192;
/// Blocks per 1 GiB relation segment file.
pub const RELSEG_SIZE: u32 = (1 << 30) / BLCKSZ as u32;
/// Size of a WAL segment file.
pub const WAL_SEGMENT_SIZE: u64 = 16 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_prints_like_pg_lsn() {
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!(Lsn(0x100_0028).to_string(), "0/1000028");
    }
}
