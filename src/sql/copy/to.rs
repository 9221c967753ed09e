//! COPY TO (PostgreSQL's `copyto.c`): a table's columns or a query's
//! rows, one line (binary: one tuple) per row, to the client, a file or a
//! program.
//!
//! `COPY t (cols) TO` runs as `SELECT cols FROM ONLY t` through the
//! ordinary planner and executor, so it reads what the statement's
//! snapshot sees, under AccessShareLock, as PostgreSQL's table scan does;
//! `COPY (query) TO` plans the query itself. Each row is streamed: the
//! client gets one CopyData message per row as the executor makes it.
//!
//! Text format escapes backslash, the delimiter and the control
//! characters `\b \f \n \r \t \v` (`CopyAttributeOutText`); CSV quotes a
//! value that holds the delimiter, the quote, a line end, equals the NULL
//! string or is `\.` alone, doubling quote and escape bytes inside
//! (`CopyAttributeOutCSV`); FORCE_QUOTE quotes every non-NULL value of its
//! columns. Lines end with `\n`. Binary writes the signature, the flags and
//! the header extension length, then per row the field count and each
//! field's length and `*_send` bytes, then the -1 trailer.

use std::io::Write;
use std::process::{Child, ChildStdin};
use std::sync::Arc;

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::from::BINARY_SIGNATURE;
use super::options::{CopyOptions, ForceQuote, Header};
use super::program_failed;
use crate::sql::adt::{self, binary};
use crate::sql::analyze;
use crate::sql::exec::{self, EvalContext};
use crate::sql::explain::tree::quote_ident;
use crate::sql::tables::TableDef;
use crate::sql::types::Type;
use crate::sql::{Outcome, ServerContext, Statement, dml, plan};
use crate::utils::elog::{PgError, PgResult, file_error, sqlstate};
use crate::utils::mb::{self, Encoding};

/// Where COPY TO's bytes go.
enum Sink {
    /// CopyData messages (`TO STDOUT`).
    Stdout,
    /// A server file (`TO 'path'`).
    File {
        file: std::io::BufWriter<std::fs::File>,
        path: String,
    },
    /// A program's standard input (`TO PROGRAM 'cmd'`).
    Program {
        child: Child,
        stdin: Option<ChildStdin>,
        command: String,
    },
}

impl Sink {
    fn write(&mut self, server: &mut dyn ServerContext, data: &[u8]) -> PgResult<()> {
        match self {
            Sink::Stdout => server.copy_out_data(data),
            Sink::File { file, .. } => file
                .write_all(data)
                .map_err(|e| file_error(&e, "could not write to COPY file")),
            Sink::Program { stdin, .. } => stdin
                .as_mut()
                .expect("stdin is open until finish")
                .write_all(data)
                .map_err(|e| file_error(&e, "could not write to COPY program")),
        }
    }

    fn finish(&mut self, server: &mut dyn ServerContext) -> PgResult<()> {
        match self {
            Sink::Stdout => server.copy_out_end(),
            Sink::File { file, path } => file
                .flush()
                .and_then(|_| file.get_ref().sync_all())
                .map_err(|e| file_error(&e, format!("could not close file \"{path}\""))),
            Sink::Program {
                child,
                stdin,
                command,
            } => {
                drop(stdin.take());
                let status = child.wait().map_err(|e| {
                    PgError::error(
                        sqlstate::EXTERNAL_ROUTINE_EXCEPTION,
                        format!("could not close pipe to external command: {e}"),
                    )
                })?;
                if status.success() {
                    Ok(())
                } else {
                    Err(program_failed(command, status))
                }
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // A COPY that failed part way leaves no program behind.
        if let Sink::Program { child, stdin, .. } = self {
            drop(stdin.take());
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// `COPY table [(columns)] | (query) TO STDOUT | 'file' | PROGRAM 'cmd'`.
pub(super) fn copy_to(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    c: &pb::CopyStmt,
) -> PgResult<Outcome> {
    // What to read: a SELECT over the table's columns, or the query.
    let (select, table) = match &c.relation {
        Some(rv) => {
            let (select, table) = table_select(ctx, rv, &c.attlist)?;
            (select, Some(table))
        }
        None => {
            let query = c.query.as_deref().and_then(|n| n.node.as_ref());
            match query {
                Some(NodeEnum::SelectStmt(s)) if s.into_clause.is_some() => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "COPY (SELECT INTO) is not supported",
                    ));
                }
                Some(NodeEnum::SelectStmt(_)) => {}
                Some(
                    q @ (NodeEnum::InsertStmt(_)
                    | NodeEnum::UpdateStmt(_)
                    | NodeEnum::DeleteStmt(_)),
                ) => {
                    return copy_dml_to(ctx, stmt, c, q);
                }
                _ => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "this COPY query is not supported by ferrogres yet",
                    ));
                }
            }
            let select = Statement {
                text: stmt.text.clone(),
                node: query.expect("checked").clone(),
                source: stmt.source.clone(),
                location: stmt.location,
            };
            (select, None)
        }
    };
    let opts = CopyOptions::parse(&c.options, false, stmt.parsed_text())?;
    let NodeEnum::SelectStmt(sel) = &select.node else {
        unreachable!("COPY TO reads a SELECT");
    };
    let (mut planned, subplans, modify_ctes) = crate::sql::plan_select(ctx, &select, sel)?;
    let names: Vec<String> = planned.columns.iter().map(|c| c.name.clone()).collect();
    let types: Vec<Type> = planned.columns.iter().map(|c| c.ty).collect();
    let force_quote = force_quote_flags(&opts, &names, table.as_deref())?;

    let mut cx = EvalContext::new(ctx);
    cx.set_subplans(subplans);
    dml::run_modifying_ctes(modify_ctes, &mut cx)?;
    plan::clauses::eval_const_expressions(&mut planned.plan, &mut cx)?;
    let fmt = cx.fmt.clone();
    let oids = types.iter().map(|t| t.oid()).collect();
    let sink = open_sink(&mut *cx.server, c, &opts, names.len())?;
    let progress = super::CopyProgress::start(
        table.as_ref().map_or(0, |t| t.db_oid),
        table.as_ref().map_or(0, |t| t.oid),
        false,
        c,
    );
    let mut w = Writer::new(&opts, sink, force_quote, oids, fmt.clone(), progress);
    w.begin(&mut *cx.server, &names)?;
    exec::run_each(planned.plan, &mut cx, &mut |cx, row| {
        let texts: Vec<Option<String>> = row
            .iter()
            .zip(&types)
            .map(|(d, ty)| adt::output(d, *ty, &fmt))
            .collect();
        w.row(&mut *cx.server, &texts)
    })?;
    let count = w.finish(&mut *cx.server)?;
    Ok(Outcome::Command {
        tag: format!("COPY {count}"),
    })
}

/// `COPY (INSERT | UPDATE | DELETE ... RETURNING ...) TO`: the statement
/// runs to completion, then its RETURNING rows are copied.
fn copy_dml_to(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    c: &pb::CopyStmt,
    query: &NodeEnum,
) -> PgResult<Outcome> {
    let returning = match query {
        NodeEnum::InsertStmt(s) => &s.returning_clause,
        NodeEnum::UpdateStmt(s) => &s.returning_clause,
        NodeEnum::DeleteStmt(s) => &s.returning_clause,
        _ => unreachable!("copy_dml_to takes INSERT, UPDATE or DELETE"),
    };
    if returning.as_ref().is_none_or(|r| r.exprs.is_empty()) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY query must have a RETURNING clause",
        ));
    }
    let opts = CopyOptions::parse(&c.options, false, stmt.parsed_text())?;
    let inner = Statement {
        text: stmt.text.clone(),
        node: query.clone(),
        source: stmt.source.clone(),
        location: stmt.location,
    };
    crate::sql::prevent_command_if_read_only(ctx, &inner.node)?;
    let outcome = match query {
        NodeEnum::InsertStmt(s) => dml::insert(ctx, &inner, s)?,
        NodeEnum::UpdateStmt(s) => dml::update(ctx, &inner, s)?,
        NodeEnum::DeleteStmt(s) => dml::delete(ctx, &inner, s)?,
        _ => unreachable!("checked above"),
    };
    let Outcome::Rows { fields, rows, .. } = outcome else {
        unreachable!("a statement with RETURNING returns rows");
    };
    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let force_quote = force_quote_flags(&opts, &names, None)?;
    let fmt = crate::sql::exec::session_format(ctx);
    let sink = open_sink(ctx, c, &opts, names.len())?;
    let oids = fields.iter().map(|f| f.type_oid).collect();
    let progress = super::CopyProgress::start(0, 0, false, c);
    let mut w = Writer::new(&opts, sink, force_quote, oids, fmt, progress);
    w.begin(ctx, &names)?;
    for r in &rows {
        w.row(ctx, r)?;
    }
    let count = w.finish(ctx)?;
    Ok(Outcome::Command {
        tag: format!("COPY {count}"),
    })
}

/// The client (CopyOutResponse sent here), a file or a program.
fn open_sink(
    server: &mut dyn ServerContext,
    c: &pb::CopyStmt,
    opts: &CopyOptions,
    ncols: usize,
) -> PgResult<Sink> {
    if c.filename.is_empty() {
        server.copy_out_begin(opts.is_binary(), ncols)?;
        Ok(Sink::Stdout)
    } else if c.is_program {
        let (child, stdin, _) = super::spawn_program(&c.filename, false)?;
        Ok(Sink::Program {
            child,
            stdin,
            command: c.filename.clone(),
        })
    } else {
        open_file(&c.filename)
    }
}

/// Formats rows (text values, None = NULL) into the sink.
struct Writer<'o> {
    opts: &'o CopyOptions,
    sink: Sink,
    force_quote: Vec<bool>,
    oids: Vec<u32>,
    fmt: adt::SessionFormat,
    /// Bytes waiting for the next message: the binary header goes out with
    /// the first row (or the trailer), in one CopyData message, as
    /// PostgreSQL sends it (psycopg expects that).
    pending: Vec<u8>,
    count: u64,
    bytes: u64,
    progress: super::CopyProgress,
}

impl<'o> Writer<'o> {
    fn new(
        opts: &'o CopyOptions,
        sink: Sink,
        force_quote: Vec<bool>,
        oids: Vec<u32>,
        fmt: adt::SessionFormat,
        progress: super::CopyProgress,
    ) -> Writer<'o> {
        Writer {
            opts,
            sink,
            force_quote,
            oids,
            fmt,
            pending: Vec::new(),
            count: 0,
            bytes: 0,
            progress,
        }
    }

    /// The binary header, or the HEADER line of column names.
    fn begin(&mut self, server: &mut dyn ServerContext, names: &[String]) -> PgResult<()> {
        let opts = self.opts;
        if opts.is_binary() {
            self.pending.extend_from_slice(BINARY_SIGNATURE);
            self.pending.extend_from_slice(&0i32.to_be_bytes());
            self.pending.extend_from_slice(&0i32.to_be_bytes());
        } else if opts.header == Header::Yes {
            let mut line = Vec::new();
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    line.push(opts.delimiter);
                }
                if opts.is_csv() {
                    csv_out(&mut line, n, opts, false, names.len() == 1);
                } else {
                    text_out(&mut line, n, opts.delimiter);
                }
            }
            line.push(b'\n');
            let line = encode_line(line, opts.data_encoding())?;
            self.sink.write(server, &line)?;
        }
        Ok(())
    }

    fn row(&mut self, server: &mut dyn ServerContext, values: &[Option<String>]) -> PgResult<()> {
        let opts = self.opts;
        let mut line = std::mem::take(&mut self.pending);
        if opts.is_binary() {
            line.extend_from_slice(&(values.len() as i16).to_be_bytes());
            for (v, oid) in values.iter().zip(&self.oids) {
                match v {
                    None => line.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(text) => {
                        let b = binary::send(text, *oid, &self.fmt)?;
                        line.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        line.extend_from_slice(&b);
                    }
                }
            }
        } else {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    line.push(opts.delimiter);
                }
                match v {
                    None => line.extend_from_slice(opts.null.as_bytes()),
                    Some(text) if opts.is_csv() => csv_out(
                        &mut line,
                        text,
                        opts,
                        self.force_quote[i],
                        values.len() == 1,
                    ),
                    Some(text) => text_out(&mut line, text, opts.delimiter),
                }
            }
            line.push(b'\n');
            line = encode_line(line, opts.data_encoding())?;
        }
        self.count += 1;
        self.bytes += line.len() as u64;
        self.sink.write(server, &line)?;
        self.progress.set(
            crate::utils::pgstat::progress::COPY_TUPLES_PROCESSED,
            self.count,
        );
        self.progress.set(
            crate::utils::pgstat::progress::COPY_BYTES_PROCESSED,
            self.bytes,
        );
        Ok(())
    }

    /// The binary trailer, then the sink's end; the number of rows.
    fn finish(mut self, server: &mut dyn ServerContext) -> PgResult<u64> {
        if self.opts.is_binary() {
            let mut last = std::mem::take(&mut self.pending);
            last.extend_from_slice(&(-1i16).to_be_bytes());
            self.sink.write(server, &last)?;
        }
        self.sink.finish(server)?;
        Ok(self.count)
    }
}

/// `COPY t (cols) TO`'s query, `SELECT cols FROM ONLY schema.t`, and the
/// table. Views and sequences are refused as `BeginCopyTo` refuses them.
fn table_select(
    ctx: &mut dyn ServerContext,
    rv: &pb::RangeVar,
    attlist: &[pb::Node],
) -> PgResult<(Statement, Arc<TableDef>)> {
    let table = analyze::copy_relation(ctx, rv, false)?;
    if table.relkind == 'S' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("cannot copy from sequence \"{}\"", table.name),
        ));
    }
    let attnums = analyze::copy_attnums(&table, attlist)?;
    let cols: Vec<String> = attnums
        .iter()
        .map(|&i| table.columns[i].name.clone())
        .collect();
    let list = if cols.is_empty() {
        // A table without columns still has rows to count.
        "".to_string()
    } else {
        cols.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT {list} FROM ONLY {}.{}",
        quote_ident(&table.namespace),
        quote_ident(&table.name)
    );
    let parsed = pg_query::parse(&sql, 0).map_err(|e| {
        PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("COPY could not read its own query {sql:?}: {e}"),
        )
    })?;
    let node = parsed
        .protobuf
        .stmts
        .into_iter()
        .next()
        .and_then(|s| s.stmt)
        .and_then(|s| s.node)
        .expect("a parsed SELECT has one statement");
    let source: Arc<str> = Arc::from(sql.as_str());
    Ok((
        Statement {
            text: sql,
            node,
            source,
            location: 0,
        },
        table,
    ))
}

/// FORCE_QUOTE as a flag per output column. For a table its names are
/// table columns (42703 otherwise) that must be among those copied (42P10).
fn force_quote_flags(
    opts: &CopyOptions,
    names: &[String],
    table: Option<&TableDef>,
) -> PgResult<Vec<bool>> {
    let wanted = match &opts.force_quote {
        ForceQuote::All => return Ok(vec![true; names.len()]),
        ForceQuote::Cols(c) => c,
    };
    let mut flags = vec![false; names.len()];
    for w in wanted {
        match (names.iter().position(|n| n == w), table) {
            (Some(i), _) => flags[i] = true,
            (None, Some(t)) if t.columns.iter().any(|c| &c.name == w) => {
                return Err(PgError::error(
                    sqlstate::INVALID_COLUMN_REFERENCE,
                    format!("FORCE_QUOTE column \"{w}\" not referenced by COPY"),
                ));
            }
            (None, Some(t)) => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{w}\" of relation \"{}\" does not exist", t.name),
                ));
            }
            (None, None) => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{w}\" does not exist"),
                ));
            }
        }
    }
    Ok(flags)
}

/// `COPY ... TO 'file'`: an absolute path, created or truncated.
fn open_file(path: &str) -> PgResult<Sink> {
    if !path.starts_with('/') {
        return Err(PgError::error(
            sqlstate::INVALID_NAME,
            "relative path not allowed for COPY to file",
        ));
    }
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::EISDIR) {
                return PgError::error(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("\"{path}\" is a directory"),
                );
            }
            let err = file_error(&e, format!("could not open file \"{path}\" for writing"));
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                err.with_hint("COPY TO instructs the PostgreSQL server process to write a file. You may want a client-side facility such as psql's \\copy.")
            } else {
                err
            }
        })?;
    Ok(Sink::File {
        file: std::io::BufWriter::new(file),
        path: path.to_string(),
    })
}

/// A line in the data's encoding.
fn encode_line(line: Vec<u8>, encoding: Encoding) -> PgResult<Vec<u8>> {
    if encoding == Encoding::UTF8 || line.is_ascii() {
        return Ok(line);
    }
    let s = String::from_utf8(line).expect("lines are built from server strings");
    Ok(mb::from_server(&s, encoding)?.into_owned())
}

/// `CopyAttributeOutText`.
fn text_out(out: &mut Vec<u8>, s: &str, delim: u8) {
    for &c in s.as_bytes() {
        match c {
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x0b => out.extend_from_slice(b"\\v"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            c if c == delim => {
                out.push(b'\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// `CopyAttributeOutCSV`.
fn csv_out(out: &mut Vec<u8>, s: &str, opts: &CopyOptions, force: bool, single_column: bool) {
    let b = s.as_bytes();
    let quote = force
        || s == opts.null
        || (single_column && s == "\\.")
        || b.iter()
            .any(|&c| c == opts.delimiter || c == opts.quote || c == b'\n' || c == b'\r');
    if !quote {
        out.extend_from_slice(b);
        return;
    }
    out.push(opts.quote);
    for &c in b {
        if c == opts.quote || c == opts.escape {
            out.push(opts.escape);
        }
        out.push(c);
    }
    out.push(opts.quote);
}
