//! COPY: moving rows between a table (or a query) and the client, a
//! server file or a program, in text, CSV or binary format (PostgreSQL's
//! `commands/copy.c`; the directions are [`from`] and [`to`], the options
//! [`options`]).
//!
//! ```text
//!  COPY t FROM STDIN ─► CopyInResponse ─► CopyData* ─► CopyDone ─► COPY n
//!        (ServerContext::copy_in_begin / copy_in_next)     └ CopyFail: 57014
//!  COPY t TO STDOUT ──► CopyOutResponse ─► CopyData per row ─► CopyDone ─► COPY n
//!        (ServerContext::copy_out_begin / copy_out_data / copy_out_end)
//! ```
//!
//! The order of checks is PostgreSQL's `DoCopy`: a server file or program
//! needs a superuser (42501, with the hint about psql's `\copy`); then the
//! relation, the WHERE clause (COPY FROM), the options, the column list;
//! then the copy begins (CopyInResponse / CopyOutResponse, or the file or
//! program is opened) and only then does COPY FROM refuse a sequence or a
//! FREEZE on a table this subtransaction did not create, as `CopyFrom`
//! does.
//!
//! COPY FROM writes through the same path as INSERT (`dml::finish_row`,
//! `insert_row`): typmods, NOT NULL and CHECK constraints hold, defaults
//! (sequences included) are evaluated per row, and GENERATED ALWAYS
//! identity columns take the value given, as PostgreSQL's COPY does.
//! `FREEZE` stores rows frozen, which is safe only because the table's
//! file is new in this subtransaction: nobody else can read it before
//! commit, and an abort discards it whole.
//!
//! Not here (0A000): `COPY (INSERT/UPDATE/DELETE ... RETURNING) TO`, the
//! internal `convert_selectively` option; `pg_stat_progress_copy` is not
//! kept.

mod from;
mod options;
mod to;

use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

use pg_query::protobuf as pb;

use super::{Outcome, ServerContext, Statement};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::pgstat::progress::{self, ProgressCommand, ProgressReporter};

/// Runs a COPY statement.
pub fn copy(ctx: &mut dyn ServerContext, stmt: &Statement, c: &pb::CopyStmt) -> PgResult<Outcome> {
    if !c.filename.is_empty() && !ctx.is_superuser() {
        let what = if c.is_program {
            "the pg_execute_server_program role to COPY to or from an external program"
        } else if c.is_from {
            "the pg_read_server_files role to COPY from a file"
        } else {
            "the pg_write_server_files role to COPY to a file"
        };
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("must be superuser or have privileges of {what}"),
        )
        .with_hint(
            "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.",
        ));
    }
    if c.is_from {
        from::copy_from(ctx, stmt, c)
    } else {
        to::copy_to(ctx, stmt, c)
    }
}

/// This COPY's row in `pg_stat_progress_copy`, ended when dropped (at the
/// end of the statement, or when an error ends it).
struct CopyProgress(ProgressReporter);

impl CopyProgress {
    fn start(db_oid: u32, rel_oid: u32, from: bool, c: &pb::CopyStmt) -> CopyProgress {
        let r = ProgressReporter::start(ProgressCommand::Copy, db_oid, rel_oid);
        r.update(
            progress::COPY_COMMAND,
            if from {
                progress::COPY_COMMAND_FROM
            } else {
                progress::COPY_COMMAND_TO
            },
        );
        let kind = if c.filename.is_empty() {
            progress::COPY_TYPE_PIPE
        } else if c.is_program {
            progress::COPY_TYPE_PROGRAM
        } else {
            progress::COPY_TYPE_FILE
        };
        r.update(progress::COPY_TYPE, kind);
        CopyProgress(r)
    }

    fn set(&self, param: usize, value: u64) {
        self.0.update(param, value.min(i64::MAX as u64) as i64);
    }
}

impl Drop for CopyProgress {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Adds a CONTEXT line (`errcontext`), below any the error has already.
fn copy_context(mut e: PgError, context: String) -> PgError {
    e.context = Some(match e.context.take() {
        Some(inner) => format!("{inner}\n{context}"),
        None => context,
    });
    e
}

/// `limit_printout_length`: data in CONTEXT lines is cut to 100 bytes
/// (at a character boundary) and marked with `...`.
fn limit_printout(s: &str) -> String {
    const MAX_COPY_DATA_DISPLAY: usize = 100;
    if s.len() <= MAX_COPY_DATA_DISPLAY {
        return s.to_string();
    }
    let mut end = MAX_COPY_DATA_DISPLAY;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// `COPY ... PROGRAM 'cmd'`: runs `cmd` with `/bin/sh -c`, its standard
/// output piped to us (`reading`) or its standard input from us.
fn spawn_program(
    command: &str,
    reading: bool,
) -> PgResult<(Child, Option<ChildStdin>, Option<ChildStdout>)> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    if reading {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    } else {
        cmd.stdin(Stdio::piped()).stdout(Stdio::null());
    }
    let mut child = cmd.spawn().map_err(|e| {
        PgError::error(
            crate::utils::elog::errcode_for_file_access(&e),
            format!("could not execute command \"{command}\": {e}"),
        )
    })?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    Ok((child, stdin, stdout))
}

/// `ClosePipeFromProgram`'s report of a program that did not exit 0.
fn program_failed(command: &str, status: ExitStatus) -> PgError {
    use std::os::unix::process::ExitStatusExt;
    let detail = match (status.code(), status.signal()) {
        (Some(code), _) => format!("child process exited with exit code {code}"),
        (None, Some(sig)) => format!(
            "child process was terminated by signal {sig}: {}",
            nix::sys::signal::Signal::try_from(sig)
                .map(crate::process::signals::signal_description)
                .unwrap_or("Unknown signal")
        ),
        _ => format!("child process exited with unrecognized status {status}"),
    };
    PgError::error(
        sqlstate::EXTERNAL_ROUTINE_EXCEPTION,
        format!("program \"{command}\" failed"),
    )
    .with_detail(detail)
}
