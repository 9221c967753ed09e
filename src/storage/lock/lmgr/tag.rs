//! Lock tags and lock modes (PostgreSQL's `LOCKTAG`, `LOCKMODE` and the
//! default lock method's conflict table, `lock.c`'s `LockConflicts`).

use crate::storage::types::{BlockNumber, Oid, Xid};

/// The eight table-level lock modes, numbered as PostgreSQL numbers them
/// (1..=8), so a mode is also a bit position in the masks kept in shared memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum LockMode {
    AccessShare = 1,
    RowShare = 2,
    RowExclusive = 3,
    ShareUpdateExclusive = 4,
    Share = 5,
    ShareRowExclusive = 6,
    Exclusive = 7,
    AccessExclusive = 8,
}

/// Highest mode number; arrays indexed by mode have `MAX_LOCKMODES + 1` entries.
pub const MAX_LOCKMODES: usize = 8;

const fn bit(m: LockMode) -> u32 {
    1 << (m as u32)
}

/// PostgreSQL's `LockConflicts[]`, indexed by mode number.
const CONFLICTS: [u32; MAX_LOCKMODES + 1] = {
    use LockMode::*;
    [
        0,
        // AccessShare
        bit(AccessExclusive),
        // RowShare
        bit(Exclusive) | bit(AccessExclusive),
        // RowExclusive
        bit(Share) | bit(ShareRowExclusive) | bit(Exclusive) | bit(AccessExclusive),
        // ShareUpdateExclusive
        bit(ShareUpdateExclusive)
            | bit(Share)
            | bit(ShareRowExclusive)
            | bit(Exclusive)
            | bit(AccessExclusive),
        // Share
        bit(RowExclusive)
            | bit(ShareUpdateExclusive)
            | bit(ShareRowExclusive)
            | bit(Exclusive)
            | bit(AccessExclusive),
        // ShareRowExclusive
        bit(RowExclusive)
            | bit(ShareUpdateExclusive)
            | bit(Share)
            | bit(ShareRowExclusive)
            | bit(Exclusive)
            | bit(AccessExclusive),
        // Exclusive
        bit(RowShare)
            | bit(RowExclusive)
            | bit(ShareUpdateExclusive)
            | bit(Share)
            | bit(ShareRowExclusive)
            | bit(Exclusive)
            | bit(AccessExclusive),
        // AccessExclusive
        bit(AccessShare)
            | bit(RowShare)
            | bit(RowExclusive)
            | bit(ShareUpdateExclusive)
            | bit(Share)
            | bit(ShareRowExclusive)
            | bit(Exclusive)
            | bit(AccessExclusive),
    ]
};

impl LockMode {
    pub const ALL: [LockMode; MAX_LOCKMODES] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// This mode's bit in a mode mask (`LOCKBIT_ON`).
    pub const fn bit(self) -> u32 {
        bit(self)
    }

    /// The modes this one conflicts with, as a mask.
    pub const fn conflicts(self) -> u32 {
        CONFLICTS[self as usize]
    }

    pub fn conflicts_with(self, other: LockMode) -> bool {
        self.conflicts() & other.bit() != 0
    }

    /// The name `pg_locks.mode` and error messages use.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    pub fn from_u32(v: u32) -> Option<LockMode> {
        LockMode::ALL.get((v as usize).wrapping_sub(1)).copied()
    }
}

/// What a heavyweight lock is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockTag {
    /// A whole relation (`LOCKTAG_RELATION`).
    Relation { db: Oid, rel: Oid },
    /// One tuple slot of a relation (`LOCKTAG_TUPLE`): taken briefly by a
    /// writer queueing for a row, so waiters on a busy row stay in order.
    Tuple {
        db: Oid,
        rel: Oid,
        block: BlockNumber,
        offset: u16,
    },
    /// A transaction id (`LOCKTAG_TRANSACTION`): its owner holds it
    /// ExclusiveLock from assignment to the end; `XactLockTableWait` takes
    /// it ShareLock to wait for the end.
    TransactionId(Xid),
    /// A database object other than a relation (`LOCKTAG_OBJECT`).
    Object {
        db: Oid,
        class_id: Oid,
        obj_id: Oid,
        obj_sub_id: u32,
    },
    /// `pg_advisory_lock` (`LOCKTAG_ADVISORY`); `field4` is 1 for one int8
    /// key, 2 for two int4 keys, as PostgreSQL encodes it.
    Advisory {
        db: Oid,
        key1: u32,
        key2: u32,
        field4: u16,
    },
}

/// Fixed encoding of a tag in shared memory: kind then five fields.
pub(crate) type RawTag = [u32; 6];

const KIND_RELATION: u32 = 1;
const KIND_TUPLE: u32 = 2;
const KIND_TRANSACTION: u32 = 3;
const KIND_OBJECT: u32 = 4;
const KIND_ADVISORY: u32 = 5;

impl LockTag {
    pub(crate) fn to_raw(self) -> RawTag {
        match self {
            LockTag::Relation { db, rel } => [KIND_RELATION, db, rel, 0, 0, 0],
            LockTag::Tuple {
                db,
                rel,
                block,
                offset,
            } => [KIND_TUPLE, db, rel, block, offset as u32, 0],
            LockTag::TransactionId(xid) => [
                KIND_TRANSACTION,
                xid.0 as u32,
                (xid.0 >> 32) as u32,
                0,
                0,
                0,
            ],
            LockTag::Object {
                db,
                class_id,
                obj_id,
                obj_sub_id,
            } => [KIND_OBJECT, db, class_id, obj_id, obj_sub_id, 0],
            LockTag::Advisory {
                db,
                key1,
                key2,
                field4,
            } => [KIND_ADVISORY, db, key1, key2, field4 as u32, 0],
        }
    }

    pub(crate) fn from_raw(raw: RawTag) -> LockTag {
        match raw[0] {
            KIND_RELATION => LockTag::Relation {
                db: raw[1],
                rel: raw[2],
            },
            KIND_TUPLE => LockTag::Tuple {
                db: raw[1],
                rel: raw[2],
                block: raw[3],
                offset: raw[4] as u16,
            },
            KIND_TRANSACTION => LockTag::TransactionId(Xid(raw[1] as u64 | (raw[2] as u64) << 32)),
            KIND_OBJECT => LockTag::Object {
                db: raw[1],
                class_id: raw[2],
                obj_id: raw[3],
                obj_sub_id: raw[4],
            },
            KIND_ADVISORY => LockTag::Advisory {
                db: raw[1],
                key1: raw[2],
                key2: raw[3],
                field4: raw[4] as u16,
            },
            other => panic!("corrupt lock tag kind {other} in the shared lock table"),
        }
    }

    /// FNV-1a over the raw tag: the same in every process (no per-process
    /// random seed), which the shared hash table needs.
    pub(crate) fn hash(self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for word in self.to_raw() {
            for b in word.to_le_bytes() {
                h ^= b as u32;
                h = h.wrapping_mul(0x0100_0193);
            }
        }
        h
    }

    /// `pg_locks.locktype`.
    pub fn locktype(self) -> &'static str {
        match self {
            LockTag::Relation { .. } => "relation",
            LockTag::Tuple { .. } => "tuple",
            LockTag::TransactionId(_) => "transactionid",
            LockTag::Object { .. } => "object",
            LockTag::Advisory { .. } => "advisory",
        }
    }

    /// The object as PostgreSQL's `DescribeLockTag` words it in deadlock reports.
    pub fn describe(self) -> String {
        match self {
            LockTag::Relation { db, rel } => format!("relation {rel} of database {db}"),
            LockTag::Tuple {
                db,
                rel,
                block,
                offset,
            } => {
                format!("tuple ({block},{offset}) of relation {rel} of database {db}")
            }
            LockTag::TransactionId(xid) => format!("transaction {xid}"),
            LockTag::Object {
                db,
                class_id,
                obj_id,
                ..
            } => {
                format!("object {obj_id} of class {class_id} of database {db}")
            }
            LockTag::Advisory {
                db,
                key1,
                key2,
                field4,
            } => format!("advisory lock [{db},{key1},{key2},{field4}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_table_is_symmetric_and_matches_postgres_examples() {
        for a in LockMode::ALL {
            for b in LockMode::ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a:?} vs {b:?}");
            }
        }
        use LockMode::*;
        assert!(
            !RowExclusive.conflicts_with(RowExclusive),
            "concurrent writers share a table"
        );
        assert!(
            Share.conflicts_with(RowExclusive),
            "CREATE INDEX blocks writers"
        );
        assert!(!Share.conflicts_with(Share));
        assert!(
            ShareUpdateExclusive.conflicts_with(ShareUpdateExclusive),
            "one VACUUM per table"
        );
        assert!(
            AccessExclusive.conflicts_with(AccessShare),
            "DROP blocks readers"
        );
        assert!(
            !Exclusive.conflicts_with(AccessShare),
            "REFRESH CONCURRENTLY lets readers in"
        );
    }

    #[test]
    fn tags_round_trip_through_the_shared_encoding() {
        let tags = [
            LockTag::Relation { db: 5, rel: 16384 },
            LockTag::Tuple {
                db: 5,
                rel: 16384,
                block: 7,
                offset: 3,
            },
            LockTag::TransactionId(Xid(0x1_2345_6789)),
            LockTag::Object {
                db: 0,
                class_id: 1262,
                obj_id: 5,
                obj_sub_id: 0,
            },
            LockTag::Advisory {
                db: 5,
                key1: 1,
                key2: 2,
                field4: 2,
            },
        ];
        for t in tags {
            assert_eq!(LockTag::from_raw(t.to_raw()), t);
        }
        assert_eq!(
            LockTag::TransactionId(Xid(456)).describe(),
            "transaction 456"
        );
    }
}
