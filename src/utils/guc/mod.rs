//! Settings: PostgreSQL's Grand Unified Configuration (`guc.c`,
//! `guc-file.l`, `guc_tables.c`) in our terms.
//!
//! # Design
//!
//! Every process keeps its own [`Settings`]: the postmaster builds one at
//! start (boot values, then `-c` options, then the configuration files), and
//! each forked child inherits a copy with `fork()` and goes its own way —
//! nothing here lives in shared memory. A SIGHUP makes every process re-read
//! the files into its own copy; a session's SET touches only its own copy.
//!
//! ```text
//!   boot value ──► -c name=value ──► postgresql.conf ──► postgresql.auto.conf
//!   (Settings::new)  (set_command_line)  (load_config_files, in that order)
//!                                  │ fork()
//!                                  ▼
//!   backend: startup packet (set_from_client) ──► SET / RESET / SET LOCAL
//!            server facts (set_internal)          undone at ROLLBACK / commit
//! ```
//!
//! Each parameter is described once, in the static table in `params.rs`
//! (name, type, context, boot value, unit, range, enum options, category,
//! descriptions, flags such as `GUC_REPORT`), taken from PostgreSQL 15.
//! The per-process state of a parameter (`Var` in `settings.rs`) is its
//! current value and *source*, its *reset value* and source (what RESET
//! returns to), the file and line it came from, and a stack of values to
//! restore at the end of (sub)transactions.
//!
//! # Contexts and sources
//!
//! A parameter's *context* says who may change it and when: `internal`
//! (never; only the server, via [`Settings::set_internal`]), `postmaster`
//! (at server start), `sighup` (in the files, effective on reload),
//! `superuser-backend` / `backend` (at connection start), `superuser` (SET by
//! superusers) and `user` (SET by anyone). A value's *source* ranks it:
//! default < file < command line < database/role settings < client <
//! override < session. A lower-ranked source never replaces a value set by a
//! higher-ranked one, though it may still become the reset value; that is
//! how `-c` outlives reloads and how SET outlives a reload while RESET then
//! picks up the new file value.
//!
//! # Transactions
//!
//! Call [`Settings::at_transaction_start`] when a transaction (explicit or
//! implicit) starts and [`Settings::at_transaction_end`] when it ends. SET
//! pushes the previous value on the parameter's stack the first time it is
//! changed at the current nest level; at commit SET values stay and SET LOCAL
//! values revert, at rollback everything reverts. Subtransactions
//! (savepoints) nest with [`Settings::at_subtransaction_start`] /
//! [`Settings::at_subtransaction_end`]; the stack logic is PostgreSQL's
//! `push_old_value` / `AtEOXact_GUC`, states SET, LOCAL and SET+LOCAL.
//! Values from files, the command line, the client and the server itself
//! are not transactional: they change the reset value (and any stacked
//! prior value of lower rank) in place.
//!
//! # Files
//!
//! `guc_file.rs` is the lexer and parser of guc-file.l (quoting, escapes,
//! includes, PostgreSQL's exact syntax error messages); `reload.rs` applies
//! the result as `ProcessConfigFileInternal` does and writes
//! postgresql.auto.conf for ALTER SYSTEM (temporary file, fsync, rename,
//! fsync of the directory, under an exclusive flock of the data directory).
//!
//! # What is left out
//!
//! `GUC_SUPERUSER_ONLY` visibility (SHOW of `data_directory` and friends is
//! allowed to everyone), `pg_parameter_acl` grants, `SET TIME ZONE INTERVAL
//! '...'`, reserved extension prefixes, `GUC_NOT_WHILE_SEC_REST`,
//! `pg_file_settings`. Check hooks that need the catalogs or the session's
//! snapshot state are the SQL layer's (see `hooks.rs`).
//!
//! The rules the rest of the server relies on are in `README.md` here.

mod guc_file;
pub mod hooks;
pub(crate) use hooks::quote_identifier;
mod params;
mod reload;
mod sample;
mod settings;
mod show;
mod unimplemented;
mod value;

#[cfg(test)]
mod tests;

pub use reload::ConfigFileReport;
pub use sample::sample_config;
pub use settings::{GucContext, GucSource, SetArg, Settings, ValuesKey};
pub use show::PgSettingsRow;
pub(crate) use value::parse_bool;

/// The schema names of a `search_path` value, `$user` replaced by `user`
/// (`recomputeNamespacePath`'s parse; schemas that do not exist are kept,
/// the lookup skips them). A value that does not parse searches nothing
/// but pg_catalog, as the check hook never lets one be set.
pub fn search_path_names(setting: &str, user: &str) -> Vec<String> {
    hooks::split_identifier_string(setting, b',')
        .unwrap_or_default()
        .into_iter()
        .map(|n| if n == "$user" { user.to_string() } else { n })
        .collect()
}
