//! Storage: the shared-memory segment and the locks that live in it. Later
//! issues add the buffer pool, pages, WAL and transaction status here.

pub mod control;
pub mod lock;
pub mod shmem;
pub mod types;
