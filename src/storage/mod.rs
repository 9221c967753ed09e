//! Storage: the shared-memory segment and its locks, relation files
//! (smgr), pages, the buffer pool, the heap, the write-ahead log and
//! transaction status. See DESIGN.md §2–4 and each module's README.

pub mod buffer;
pub mod control;
pub mod file;
pub mod fsm;
pub mod heap;
pub mod lock;
pub mod nbtree;
pub mod page;
pub mod sequence;
pub mod shmem;
pub mod smgr;
pub mod types;
pub mod wal;
pub mod xact;
