//! Support code shared by every process: settings (GUC), error reporting,
//! character encodings (mb), cumulative statistics (pgstat), stack depth
//! checking, time.

pub mod elog;
pub mod guc;
pub mod hash;
pub mod mb;
pub mod pgstat;
pub mod stack;
pub mod time;
