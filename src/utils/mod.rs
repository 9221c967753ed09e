//! Support code shared by every process: settings (GUC), error reporting,
//! time.

pub mod elog;
pub mod guc;
pub mod time;
