//! ferrogres: a PostgreSQL-compatible server built the way PostgreSQL is
//! built. See `../shared/DESIGN.md` for the map; each subsystem's module doc
//! and README give its rules.

// Built-in types are constants named as PostgreSQL's docs name them
// (`Type::Int4`, and `Int4` under `sql::types::consts::*`), used in
// patterns too.
#![allow(non_upper_case_globals)]

pub mod backend;
pub mod backup;
pub mod bgproc;
pub mod catalog;
pub mod ctl;
pub mod initdb;
pub mod postmaster;
pub mod process;
pub mod protocol;
pub mod sql;
pub mod storage;
pub mod utils;

/// What `version()` and the start-up log line say. Clients parse the
/// leading "PostgreSQL 15.0".
pub fn version_string() -> String {
    format!(
        "PostgreSQL 15.0 (ferrogres {}) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION")
    )
}

/// The data directory used when none is given: `$PGDATA`, else
/// `$HOME/.local/share/ferrogres/data`.
pub fn default_data_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("PGDATA").filter(|d| !d.is_empty()) {
        return d.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    std::path::PathBuf::from(home).join(".local/share/ferrogres/data")
}
