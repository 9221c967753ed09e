//! A client backend: one forked process per connection (PostgreSQL's
//! `postgres.c` `PostgresMain` and `postinit.c` `InitPostgres`).
//!
//! Life of a backend:
//! 1. The postmaster accepts the connection and forks; the child starts in
//!    [`backend_main`] with the socket, the peer address, and the
//!    postmaster's verdict on whether it may serve ([`CanAccept`]).
//! 2. Startup: read the startup packet (answering SSLRequest and
//!    GSSENCRequest with 'N'; a CancelRequest is matched against the
//!    postmaster's child list inherited through fork, and the target gets
//!    SIGINT), then report the postmaster's verdict, then authenticate with
//!    the first matching `pg_hba.conf` line (`session.rs`).
//! 3. Claim a process-array slot (this is where `max_connections` bites:
//!    53300), send AuthenticationOk, ParameterStatus, BackendKeyData and
//!    ReadyForQuery.
//! 4. The query cycle (`session.rs`): wait for a message while idle; run
//!    each statement of a simple Query through the SQL pipeline; report
//!    results, errors and notices; keep the status in the slot current so
//!    `pg_stat_activity` and the process title show what runs.
//!
//! Interrupts: SIGINT (cancel) raises 57014 at the next
//! `check_for_interrupts`; SIGTERM ends the session with FATAL 57P01;
//! SIGQUIT writes a prepared WARNING to the client and `_exit(2)`s
//! (see `crate::process::signals`). A client that vanishes is noticed when
//! a write fails, or while a query sleeps, and the backend exits.
//!
//! Timeouts (`crate::process::timeout`, one SIGALRM timer): each statement
//! runs under `statement_timeout` (57014); while waiting for the client
//! after ReadyForQuery, `idle_in_transaction_session_timeout` (FATAL 25P03)
//! or `idle_session_timeout` (FATAL 57P05) runs, by whether a transaction
//! block is open.

pub mod auth;
mod indexes;
mod sequence;
mod session;
mod tables;
pub mod txn;
mod vacuum;
mod views;

pub use crate::postmaster::CanAccept;
pub use session::backend_main;
