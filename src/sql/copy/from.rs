//! COPY FROM (PostgreSQL's `copyfrom.c` and `copyfromparse.c`): bytes
//! from the client, a file or a program, cut into lines, lines into
//! fields, fields into rows written as INSERT writes them.
//!
//! # Reading
//!
//! [`CopyReader`] keeps the raw input (in the data's encoding) in one
//! buffer and cuts one line at a time, as `CopyReadLineText` does: the
//! first line end decides the newline style (`\n`, `\r` or `\r\n`) and a
//! line end of another style is 22P04 (`literal carriage return found in
//! data`); in text format a backslash quotes the next byte, line ends
//! included, and `\.` followed by a line end ends the data; in CSV a line
//! end inside quotes belongs to the field and `\.` ends the data only
//! alone at the start of a line. The line is then converted to the server
//! encoding and split into fields (`CopyReadAttributesText` / `...CSV`).
//! The NULL string is compared with the field's raw text in text format,
//! and with the unquoted text in CSV (a quoted value is never NULL unless
//! FORCE_NULL). No line may grow past PostgreSQL's 1 GB string limit.
//!
//! # Rows
//!
//! Each field goes through its column's input function with the column's
//! typmod by assignment rules (so `varchar(3)` input `abcd` is 22001, as
//! `varchar_in` with a typmod reports it); the other columns get their
//! DEFAULT; WHERE filters; NOT NULL and CHECK constraints are checked by
//! [`crate::sql::dml::finish_row`] and the row goes to `insert_row`.
//! Every error carries PostgreSQL's CONTEXT line: `COPY t, line 3, column
//! b: "x"` for a field, `COPY t, line 3: "<line>"` for the row, `COPY t,
//! line 3` for a line that could not be cut. An error ends the statement,
//! and the transaction's abort leaves nothing of the COPY visible; the
//! rest of the client's CopyData is discarded by the backend's main loop.

use std::io::Read;
use std::process::{Child, ChildStdout};

use pg_query::protobuf as pb;

use super::options::{CopyOptions, Header};
use super::{CopyProgress, copy_context, limit_printout, program_failed};
use crate::sql::adt::{self, binary};
use crate::sql::analyze::{self, CopyFromQuery};
use crate::sql::catalog::column_type;
use crate::sql::exec::{EvalContext, eval, eval_qual};
use crate::sql::types::Datum;
use crate::sql::{Outcome, ServerContext, Statement, dml};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::mb;
use crate::utils::pgstat::progress as pp;

/// PostgreSQL's `MaxAllocSize`: no line (or binary field) may be larger.
const MAX_LINE_BYTES: usize = (1 << 30) - 1;

/// How much a file or program read asks for at once.
const READ_CHUNK: usize = 64 * 1024;

/// The binary format's signature (`PGCOPY\n\377\r\n\0`).
pub(super) const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Where COPY FROM's bytes come from.
pub(super) enum Source {
    /// CopyData messages (`FROM STDIN`).
    Stdin,
    /// A server file (`FROM 'path'`).
    File(std::fs::File),
    /// A program's standard output (`FROM PROGRAM 'cmd'`).
    Program {
        child: Child,
        /// Closed by `finish`, before the wait.
        stdout: Option<ChildStdout>,
        command: String,
    },
}

impl Source {
    /// The next bytes; None at the end of the data.
    fn read(&mut self, server: &mut dyn ServerContext) -> PgResult<Option<Vec<u8>>> {
        match self {
            Source::Stdin => server.copy_in_next(),
            Source::File(f) => read_chunk(f, "could not read from COPY file"),
            Source::Program { stdout, .. } => read_chunk(
                stdout.as_mut().expect("open until finish"),
                "could not read from COPY program",
            ),
        }
    }

    /// After the data: a program must have exited successfully; CopyData
    /// after the end marker is read and dropped up to CopyDone.
    fn finish(&mut self, server: &mut dyn ServerContext, reached_eof: bool) -> PgResult<()> {
        match self {
            Source::Stdin => {
                // After `\.` (or the binary trailer), CopyData up to
                // CopyDone is read and dropped.
                if !reached_eof {
                    while server.copy_in_next()?.is_some() {}
                }
                Ok(())
            }
            Source::File(_) => Ok(()),
            Source::Program {
                child,
                stdout,
                command,
            } => {
                // Closing our end first ends a program still writing after
                // `\.` with SIGPIPE, which is then no failure
                // (ClosePipeFromProgram).
                drop(stdout.take());
                let status = child.wait().map_err(|e| {
                    PgError::error(
                        sqlstate::EXTERNAL_ROUTINE_EXCEPTION,
                        format!("could not close pipe to external command: {e}"),
                    )
                })?;
                use std::os::unix::process::ExitStatusExt;
                if status.success() || (!reached_eof && status.signal() == Some(libc::SIGPIPE)) {
                    Ok(())
                } else {
                    Err(program_failed(command, status))
                }
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // A COPY that failed part way leaves no program behind.
        if let Source::Program { child, .. } = self
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_chunk(r: &mut impl Read, what: &str) -> PgResult<Option<Vec<u8>>> {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(crate::utils::elog::file_error(&e, what)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Eol {
    Unknown,
    Nl,
    Cr,
    CrNl,
}

/// The input, cut into lines (text, CSV) or read by length (binary).
pub(super) struct CopyReader {
    source: Option<Source>,
    /// Raw bytes not yet consumed start at `pos`.
    buf: Vec<u8>,
    pos: usize,
    /// The source has no more bytes.
    eof: bool,
    /// The data ended (`\.`, the binary trailer, or the end of input).
    done: bool,
    eol: Eol,
    csv: bool,
    quote: u8,
    /// The CSV escape byte when it differs from the quote.
    escape: Option<u8>,
    /// The number of the line (binary: tuple) being read, from 1.
    pub line_no: u64,
    /// Bytes read from the source so far (`bytes_processed`).
    pub bytes_read: u64,
}

impl CopyReader {
    pub(super) fn new(source: Source, opts: &CopyOptions) -> CopyReader {
        CopyReader {
            source: Some(source),
            buf: Vec::new(),
            pos: 0,
            eof: false,
            done: false,
            eol: Eol::Unknown,
            csv: opts.is_csv(),
            quote: opts.quote,
            // An escape equal to the quote is the quote's own toggle.
            escape: if opts.escape == opts.quote {
                None
            } else {
                Some(opts.escape)
            },
            line_no: 0,
            bytes_read: 0,
        }
    }

    /// Reads more input; false at its end. Consumed bytes are dropped.
    fn fill(&mut self, server: &mut dyn ServerContext) -> PgResult<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        loop {
            let source = self
                .source
                .as_mut()
                .expect("reader has its source until finish");
            match source.read(server)? {
                Some(chunk) if chunk.is_empty() => continue,
                Some(chunk) => {
                    if self.buf.len() + chunk.len() > MAX_LINE_BYTES {
                        return Err(PgError::error(
                            sqlstate::PROGRAM_LIMIT_EXCEEDED,
                            "out of memory",
                        )
                        .with_detail(format!(
                            "Cannot enlarge string buffer containing {} bytes by {} more bytes.",
                            self.buf.len(),
                            chunk.len()
                        )));
                    }
                    self.buf.extend_from_slice(&chunk);
                    self.bytes_read += chunk.len() as u64;
                    return Ok(true);
                }
                None => {
                    self.eof = true;
                    return Ok(false);
                }
            }
        }
    }

    /// The byte at `i` (an absolute index into `buf`), reading more input
    /// if needed; None at the end of input. `i` is re-based when consumed
    /// bytes are dropped, so callers pass and get back offsets from `pos`.
    fn byte_at(&mut self, server: &mut dyn ServerContext, off: usize) -> PgResult<Option<u8>> {
        while self.pos + off >= self.buf.len() {
            if !self.fill(server)? {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos + off]))
    }

    /// The next line's raw bytes, without its line end; None after the
    /// last line. `CopyReadLineText`.
    pub(super) fn next_line(
        &mut self,
        server: &mut dyn ServerContext,
    ) -> PgResult<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        self.line_no += 1;
        let mut off = 0usize; // from self.pos
        let mut in_quote = false;
        let mut last_was_esc = false;
        loop {
            let Some(c) = self.byte_at(server, off)? else {
                // End of input: what is left is the last line.
                self.done = true;
                if off == 0 {
                    return Ok(None);
                }
                return Ok(Some(self.take(off, 0)));
            };
            if self.csv {
                let is_escape = Some(c) == self.escape;
                if in_quote && is_escape {
                    last_was_esc = !last_was_esc;
                }
                if c == self.quote && !last_was_esc {
                    in_quote = !in_quote;
                }
                if !is_escape {
                    last_was_esc = false;
                }
                if in_quote {
                    off += 1;
                    continue;
                }
            }
            match c {
                b'\r' => {
                    let next = self.byte_at(server, off + 1)?;
                    let crnl = next == Some(b'\n');
                    match (self.eol, crnl) {
                        (Eol::Unknown, true) => self.eol = Eol::CrNl,
                        (Eol::Unknown, false) => self.eol = Eol::Cr,
                        (Eol::CrNl, true) | (Eol::Cr, false) => {}
                        _ => return Err(self.bad_cr()),
                    }
                    return Ok(Some(self.take(off, if crnl { 2 } else { 1 })));
                }
                b'\n' => {
                    match self.eol {
                        Eol::Unknown => self.eol = Eol::Nl,
                        Eol::Nl => {}
                        Eol::Cr | Eol::CrNl => return Err(self.bad_nl()),
                    }
                    return Ok(Some(self.take(off, 1)));
                }
                b'\\' if !self.csv || off == 0 => {
                    let next = self.byte_at(server, off + 1)?;
                    if next == Some(b'.') {
                        if let Some(skip) = self.end_marker(server, off + 2)? {
                            // The data ends; what preceded `\.` on its line
                            // is a last line of its own.
                            self.done = true;
                            let line = self.take(off, skip + 2);
                            return Ok((!line.is_empty()).then_some(line));
                        }
                    }
                    // Text: the backslash quotes the next byte, even a
                    // line end. (CSV: an ordinary byte.)
                    off += if self.csv || next.is_none() { 1 } else { 2 };
                }
                _ => off += 1,
            }
        }
    }

    /// After `\.` at `off`: the number of line-end bytes that follow it if
    /// it ends the data, None if it is data (CSV only).
    fn end_marker(
        &mut self,
        server: &mut dyn ServerContext,
        off: usize,
    ) -> PgResult<Option<usize>> {
        let corrupt =
            || PgError::error(sqlstate::BAD_COPY_FILE_FORMAT, "end-of-copy marker corrupt");
        let mismatch = || {
            PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                "end-of-copy marker does not match previous newline style",
            )
        };
        let c = self.byte_at(server, off)?;
        let n = match c {
            None => return Ok(Some(0)),
            Some(b'\r') => {
                let crnl = self.byte_at(server, off + 1)? == Some(b'\n');
                match (self.eol, crnl) {
                    (Eol::Nl, _) => return Err(mismatch()),
                    (Eol::CrNl, false) => return Err(corrupt()),
                    (Eol::Cr, true) => return Err(mismatch()),
                    _ => {}
                }
                if crnl { 2 } else { 1 }
            }
            Some(b'\n') => {
                if matches!(self.eol, Eol::Cr | Eol::CrNl) {
                    return Err(mismatch());
                }
                1
            }
            Some(_) if self.csv => return Ok(None),
            Some(_) => return Err(corrupt()),
        };
        Ok(Some(n))
    }

    /// The `len` bytes at `pos`, then `skip` more consumed.
    fn take(&mut self, len: usize, skip: usize) -> Vec<u8> {
        let line = self.buf[self.pos..self.pos + len].to_vec();
        self.pos = (self.pos + len + skip).min(self.buf.len());
        line
    }

    fn bad_cr(&self) -> PgError {
        if self.csv {
            PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                "unquoted carriage return found in data",
            )
            .with_hint("Use quoted CSV field to represent carriage return.")
        } else {
            PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                "literal carriage return found in data",
            )
            .with_hint("Use \"\\r\" to represent carriage return.")
        }
    }

    fn bad_nl(&self) -> PgError {
        if self.csv {
            PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                "unquoted newline found in data",
            )
            .with_hint("Use quoted CSV field to represent newline.")
        } else {
            PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                "literal newline found in data",
            )
            .with_hint("Use \"\\n\" to represent newline.")
        }
    }

    /// Binary: exactly `n` bytes, or None at a clean end of input before
    /// the first; `unexpected EOF in COPY data` when input ends inside.
    fn read_exact(
        &mut self,
        server: &mut dyn ServerContext,
        n: usize,
    ) -> PgResult<Option<Vec<u8>>> {
        if n > MAX_LINE_BYTES {
            return Err(PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                "invalid field size",
            ));
        }
        while self.buf.len() - self.pos < n {
            if !self.fill(server)? {
                if self.buf.len() == self.pos {
                    return Ok(None);
                }
                return Err(unexpected_eof());
            }
        }
        Ok(Some(self.take(n, 0)))
    }

    /// The source, for its final checks.
    fn finish(mut self, server: &mut dyn ServerContext) -> PgResult<()> {
        let eof = self.eof;
        self.source
            .as_mut()
            .expect("reader has its source until finish")
            .finish(server, eof)
    }
}

fn unexpected_eof() -> PgError {
    PgError::error(
        sqlstate::BAD_COPY_FILE_FORMAT,
        "unexpected EOF in COPY data",
    )
}

/// One line cut into fields (None: NULL), in the server encoding.
type Fields = Vec<Option<String>>;

/// `CopyReadAttributesText`: fields split at the delimiter, backslash
/// sequences decoded; a field whose raw text is the NULL string is NULL.
fn split_text(line: &str, opts: &CopyOptions) -> PgResult<Fields> {
    let bytes = line.as_bytes();
    let delim = opts.delimiter;
    let null = opts.null.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut out: Vec<u8> = Vec::new();
        let mut decoded_high = false;
        let mut found_delim = false;
        while i < bytes.len() {
            let c = bytes[i];
            i += 1;
            if c == delim {
                found_delim = true;
                break;
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(&e) = bytes.get(i) else {
                break;
            };
            i += 1;
            let v = match e {
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match bytes.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = (v << 3) + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    decoded_high = true;
                    (v & 0xff) as u8
                }
                b'x' if bytes.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                    let mut v = hex_value(bytes[i]);
                    i += 1;
                    if let Some(&d) = bytes.get(i).filter(|d| d.is_ascii_hexdigit()) {
                        v = (v << 4) + hex_value(d);
                        i += 1;
                    }
                    decoded_high = true;
                    v
                }
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            };
            out.push(v);
        }
        let raw_end = if found_delim { i - 1 } else { i };
        if &bytes[start..raw_end] == null {
            fields.push(None);
        } else if decoded_high {
            // Octal and hex escapes may spell bytes that are not UTF-8.
            fields.push(Some(mb::verify_utf8(&out)?.to_string()));
        } else {
            fields.push(Some(
                String::from_utf8(out).expect("UTF-8 input cut at ASCII bytes stays UTF-8"),
            ));
        }
        if !found_delim {
            return Ok(fields);
        }
    }
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// `CopyReadAttributesCSV`: fields split at the delimiter outside quotes;
/// inside quotes the escape byte quotes a quote or itself. An unquoted
/// field equal to the NULL string is NULL; FORCE_NOT_NULL and FORCE_NULL
/// (by input position) adjust that, as `NextCopyFrom` does.
fn split_csv(
    line: &str,
    opts: &CopyOptions,
    force_not_null: &[bool],
    force_null: &[bool],
) -> PgResult<Fields> {
    let bytes = line.as_bytes();
    let (delim, quote, escape) = (opts.delimiter, opts.quote, opts.escape);
    let null = opts.null.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut out: Vec<u8> = Vec::new();
        let mut saw_quote = false;
        let mut found_delim = false;
        'field: loop {
            // Outside quotes.
            loop {
                let Some(&c) = bytes.get(i) else {
                    break 'field;
                };
                i += 1;
                if c == delim {
                    found_delim = true;
                    break 'field;
                }
                if c == quote {
                    saw_quote = true;
                    break;
                }
                out.push(c);
            }
            // Inside quotes.
            loop {
                let Some(&c) = bytes.get(i) else {
                    return Err(PgError::error(
                        sqlstate::BAD_COPY_FILE_FORMAT,
                        "unterminated CSV quoted field",
                    ));
                };
                i += 1;
                if c == escape
                    && let Some(&n) = bytes.get(i)
                    && (n == escape || n == quote)
                {
                    out.push(n);
                    i += 1;
                    continue;
                }
                if c == quote {
                    break;
                }
                out.push(c);
            }
        }
        let raw_end = if found_delim { i - 1 } else { i };
        let k = fields.len();
        let mut value = if !saw_quote && &bytes[start..raw_end] == null {
            None
        } else {
            Some(String::from_utf8(out).expect("UTF-8 input cut at ASCII bytes stays UTF-8"))
        };
        if value.is_none() && force_not_null.get(k).copied().unwrap_or(false) {
            value = Some(opts.null.clone());
        } else if force_null.get(k).copied().unwrap_or(false)
            && value.as_deref() == Some(opts.null.as_str())
        {
            value = None;
        }
        fields.push(value);
        if !found_delim {
            return Ok(fields);
        }
    }
}

/// `COPY table [(columns)] FROM STDIN | 'file' | PROGRAM 'cmd'`.
pub(super) fn copy_from(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    c: &pb::CopyStmt,
) -> PgResult<Outcome> {
    let rv = c
        .relation
        .as_ref()
        .expect("the grammar gives COPY FROM a table");
    let (q, subplans, _) = dml::analyze_with(ctx, stmt, |a| {
        a.analyze_copy_from(rv, &c.attlist, &c.where_clause)
    })?;
    dml::check_write_privilege(ctx, &q.table)?;
    let opts = CopyOptions::parse(&c.options, true, stmt.parsed_text())?;
    let flags = |names: &[String], option: &str| -> PgResult<Vec<bool>> {
        let cols = analyze::copy_attnums(&q.table, &string_nodes(names))?;
        let mut flags = vec![false; q.attnums.len()];
        for (col, name) in cols.iter().zip(names) {
            match q.attnums.iter().position(|a| a == col) {
                Some(k) => flags[k] = true,
                None => {
                    return Err(PgError::error(
                        sqlstate::INVALID_COLUMN_REFERENCE,
                        format!("{option} column \"{name}\" not referenced by COPY"),
                    ));
                }
            }
        }
        Ok(flags)
    };
    let force_not_null = flags(&opts.force_not_null, "FORCE_NOT_NULL")?;
    let force_null = flags(&opts.force_null, "FORCE_NULL")?;

    let source = if c.filename.is_empty() {
        ctx.copy_in_begin(opts.is_binary(), q.attnums.len())?;
        Source::Stdin
    } else if c.is_program {
        let (child, _, stdout) = super::spawn_program(&c.filename, true)?;
        Source::Program {
            child,
            stdout: Some(stdout.expect("spawned with a piped stdout")),
            command: c.filename.clone(),
        }
    } else {
        Source::File(std::fs::File::open(&c.filename).map_err(|e| {
            let err = crate::utils::elog::file_error(
                &e,
                format!("could not open file \"{}\" for reading", c.filename),
            );
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ) {
                err.with_hint("COPY FROM instructs the PostgreSQL server process to read a file. You may want a client-side facility such as psql's \\copy.")
            } else {
                err
            }
        })?)
    };
    let progress = CopyProgress::start(q.table.db_oid, q.table.oid, true, c);
    if let Source::File(f) = &source
        && let Ok(m) = f.metadata()
    {
        progress.set(pp::COPY_BYTES_TOTAL, m.len());
    }
    let mut reader = CopyReader::new(source, &opts);

    // CopyFrom's checks, made once the copy has begun.
    if q.table.relkind == 'S' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("cannot copy to sequence \"{}\"", q.table.name),
        ));
    }
    if opts.freeze && !ctx.created_in_subtransaction(&q.table) {
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "cannot perform COPY FREEZE because the table was not created or truncated in the current subtransaction",
        ));
    }

    let mut cx = EvalContext::new(ctx);
    cx.set_subplans(subplans);
    let n = if opts.is_binary() {
        copy_binary_rows(&q, &opts, &mut reader, &progress, &mut cx)?
    } else {
        copy_text_rows(
            &q,
            &opts,
            &force_not_null,
            &force_null,
            &mut reader,
            &progress,
            &mut cx,
        )?
    };
    reader.finish(&mut *cx.server)?;
    Ok(Outcome::Command {
        tag: format!("COPY {n}"),
    })
}

fn string_nodes(names: &[String]) -> Vec<pg_query::Node> {
    names
        .iter()
        .map(|n| pg_query::Node {
            node: Some(pg_query::NodeEnum::String(pb::String { sval: n.clone() })),
        })
        .collect()
}

/// Text and CSV rows; the number written.
fn copy_text_rows(
    q: &CopyFromQuery,
    opts: &CopyOptions,
    force_not_null: &[bool],
    force_null: &[bool],
    reader: &mut CopyReader,
    progress: &CopyProgress,
    cx: &mut EvalContext,
) -> PgResult<u64> {
    let table = &q.table.name;
    let encoding = opts.data_encoding();
    let mut batch = Batch::new(opts.freeze);
    let mut first = true;
    loop {
        cx.server.check_for_interrupts()?;
        let raw = reader
            .next_line(&mut *cx.server)
            .map_err(|e| copy_context(e, format!("COPY {table}, line {}", reader.line_no)))?;
        let Some(raw) = raw else {
            break;
        };
        let line_no = reader.line_no;
        let line = mb::to_server(&raw, encoding)
            .map_err(|e| copy_context(e, format!("COPY {table}, line {line_no}")))?;
        let line_context = || {
            format!(
                "COPY {table}, line {line_no}: \"{}\"",
                limit_printout(&line)
            )
        };
        let fields = if opts.is_csv() {
            split_csv(&line, opts, force_not_null, force_null)
        } else {
            split_text(&line, opts)
        }
        .map_err(|e| copy_context(e, line_context()))?;
        if std::mem::take(&mut first) && opts.header != Header::No {
            if opts.header == Header::Match {
                check_header(q, opts, &fields).map_err(|e| copy_context(e, line_context()))?;
            }
            continue;
        }
        if fields.len() > q.attnums.len() && !q.attnums.is_empty() {
            return Err(copy_context(
                PgError::error(
                    sqlstate::BAD_COPY_FILE_FORMAT,
                    "extra data after last expected column",
                ),
                line_context(),
            ));
        }
        let mut row = vec![Datum::Null; q.table.columns.len()];
        for (k, &col) in q.attnums.iter().enumerate() {
            let column = &q.table.columns[col];
            let Some(field) = fields.get(k) else {
                return Err(copy_context(
                    PgError::error(
                        sqlstate::BAD_COPY_FILE_FORMAT,
                        format!("missing data for column \"{}\"", column.name),
                    ),
                    line_context(),
                ));
            };
            if let Some(text) = field {
                row[col] = input_field(text, col, q, cx).map_err(|e| {
                    copy_context(
                        e,
                        format!(
                            "COPY {table}, line {line_no}, column {}: \"{}\"",
                            column.name,
                            limit_printout(text)
                        ),
                    )
                })?;
            }
        }
        let taken = batch
            .add(q, row, raw.len() + 1, line_no, cx)
            .map_err(|e| copy_context(e, line_context()))?;
        batch.counted(taken, progress, reader.bytes_read);
        batch.flush_if_full(q, cx)?;
    }
    batch.finish(q, cx)
}

/// `HEADER MATCH`: the header line names the input columns, in order.
fn check_header(q: &CopyFromQuery, opts: &CopyOptions, fields: &Fields) -> PgResult<()> {
    if fields.len() != q.attnums.len() {
        return Err(PgError::error(
            sqlstate::BAD_COPY_FILE_FORMAT,
            format!(
                "wrong number of fields in header line: got {}, expected {}",
                fields.len(),
                q.attnums.len()
            ),
        ));
    }
    for (k, (field, &col)) in fields.iter().zip(&q.attnums).enumerate() {
        let expected = &q.table.columns[col].name;
        match field {
            None => {
                return Err(PgError::error(
                    sqlstate::BAD_COPY_FILE_FORMAT,
                    format!(
                        "column name mismatch in header line field {}: got null value (\"{}\"), expected \"{expected}\"",
                        k + 1,
                        opts.null
                    ),
                ));
            }
            Some(name) if name != expected => {
                return Err(PgError::error(
                    sqlstate::BAD_COPY_FILE_FORMAT,
                    format!(
                        "column name mismatch in header line field {}: got \"{name}\", expected \"{expected}\"",
                        k + 1
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A field through its column's input function, the typmod applied by
/// assignment rules (`varchar_in` with a typmod: too long is 22001).
fn input_field(text: &str, col: usize, q: &CopyFromQuery, cx: &EvalContext) -> PgResult<Datum> {
    let c = &q.table.columns[col];
    let ty = column_type(c.type_oid);
    let d = adt::input(text, ty, -1, &cx.fmt)?;
    adt::apply_typmod(d, ty, c.typmod, false)
}

/// Rows finished and waiting to be inserted together (PostgreSQL's
/// `CopyMultiInsertBuffer`): at most [`BATCH_ROWS`] rows or
/// [`BATCH_BYTES`] of input.
struct Batch {
    rows: Vec<Vec<Datum>>,
    /// The input line (binary: tuple) of each row, for errors of the insert.
    lines: Vec<u64>,
    bytes: usize,
    freeze: bool,
    /// Rows taken and rows WHERE excluded so far.
    count: u64,
    excluded: u64,
}

const BATCH_ROWS: usize = 1000;
const BATCH_BYTES: usize = 64 * 1024;

impl Batch {
    fn new(freeze: bool) -> Batch {
        Batch {
            rows: Vec::new(),
            lines: Vec::new(),
            bytes: 0,
            freeze,
            count: 0,
            excluded: 0,
        }
    }

    /// Counts a row `add` took (or WHERE excluded) and reports progress.
    fn counted(&mut self, taken: bool, progress: &CopyProgress, bytes_read: u64) {
        if taken {
            self.count += 1;
            progress.set(pp::COPY_TUPLES_PROCESSED, self.count);
        } else {
            self.excluded += 1;
            progress.set(pp::COPY_TUPLES_EXCLUDED, self.excluded);
        }
        progress.set(pp::COPY_BYTES_PROCESSED, bytes_read);
    }

    /// Inserts what is left; the number of rows copied.
    fn finish(mut self, q: &CopyFromQuery, cx: &mut EvalContext) -> PgResult<u64> {
        self.flush(q, cx)?;
        Ok(self.count)
    }

    /// Inserts the batch once it is full.
    fn flush_if_full(&mut self, q: &CopyFromQuery, cx: &mut EvalContext) -> PgResult<()> {
        if self.rows.len() >= BATCH_ROWS || self.bytes >= BATCH_BYTES {
            self.flush(q, cx)?;
        }
        Ok(())
    }

    /// Defaults, WHERE, constraints, then into the batch (inserted when
    /// full). Ok(false): WHERE skipped the row. `bytes`: its input size.
    fn add(
        &mut self,
        q: &CopyFromQuery,
        mut row: Vec<Datum>,
        bytes: usize,
        line_no: u64,
        cx: &mut EvalContext,
    ) -> PgResult<bool> {
        for (col, e) in q.defaults.iter().enumerate() {
            if let Some(e) = e {
                row[col] = eval(e, &[], cx)?;
            }
        }
        if let Some(w) = &q.where_qual
            && !eval_qual(w, &row, cx)?
        {
            return Ok(false);
        }
        let row = dml::finish_row(&q.table, &q.checks, row, cx)?;
        self.rows.push(row);
        self.lines.push(line_no);
        self.bytes += bytes;
        Ok(true)
    }

    /// Inserts the batch; an error names the line of the row it is about
    /// (PostgreSQL's `CopyMultiInsertBufferFlush` sets `cur_lineno` so).
    fn flush(&mut self, q: &CopyFromQuery, cx: &mut EvalContext) -> PgResult<()> {
        self.bytes = 0;
        let rows = std::mem::take(&mut self.rows);
        let lines = std::mem::take(&mut self.lines);
        cx.server
            .insert_rows(&q.table, rows, self.freeze)
            .map_err(|(i, e)| {
                let line = lines.get(i).copied().unwrap_or(0);
                copy_context(e, format!("COPY {}, line {line}", q.table.name))
            })
    }
}

/// Binary rows (`CopyReadBinaryTuple`): the header, then per tuple a
/// field count and length-prefixed fields, up to the -1 trailer.
fn copy_binary_rows(
    q: &CopyFromQuery,
    opts: &CopyOptions,
    reader: &mut CopyReader,
    progress: &CopyProgress,
    cx: &mut EvalContext,
) -> PgResult<u64> {
    let table = &q.table.name;
    // The header is read before PostgreSQL installs its error context.
    let bad_header = |m: &str| PgError::error(sqlstate::BAD_COPY_FILE_FORMAT, m.to_string());
    let server = &mut *cx.server;
    match reader.read_exact(server, BINARY_SIGNATURE.len()) {
        Ok(Some(sig)) if sig == BINARY_SIGNATURE => {}
        Ok(_) => return Err(bad_header("COPY file signature not recognized")),
        Err(e) if e.message == "unexpected EOF in COPY data" => {
            return Err(bad_header("COPY file signature not recognized"));
        }
        Err(e) => return Err(e),
    }
    let flags = reader
        .read_exact(server, 4)?
        .map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")))
        .ok_or_else(|| bad_header("invalid COPY file header (missing flags)"))?;
    if flags & (1 << 16) != 0 {
        return Err(bad_header("invalid COPY file header (WITH OIDS)"));
    }
    if (flags & !(1 << 16)) >> 16 != 0 {
        return Err(bad_header(
            "unrecognized critical flags in COPY file header",
        ));
    }
    let ext = reader
        .read_exact(server, 4)?
        .map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")))
        .ok_or_else(|| bad_header("invalid COPY file header (missing length)"))?;
    if ext < 0 {
        return Err(bad_header("invalid COPY file header (wrong length)"));
    }
    if ext > 0 && reader.read_exact(server, ext as usize)?.is_none() {
        return Err(bad_header("invalid COPY file header (wrong length)"));
    }

    let mut batch = Batch::new(opts.freeze);
    loop {
        cx.server.check_for_interrupts()?;
        reader.line_no += 1;
        let line_no = reader.line_no;
        let context = |e: PgError| copy_context(e, format!("COPY {table}, line {line_no}"));
        let Some(n) = reader.read_exact(&mut *cx.server, 2).map_err(context)? else {
            break;
        };
        let fld_count = i16::from_be_bytes(n.try_into().expect("2 bytes"));
        if fld_count == -1 {
            // The trailer: nothing may follow it but the end of input.
            reader.done = true;
            if reader
                .read_exact(&mut *cx.server, 1)
                .map_err(context)?
                .is_some()
            {
                return Err(context(PgError::error(
                    sqlstate::BAD_COPY_FILE_FORMAT,
                    "received copy data after EOF marker",
                )));
            }
            break;
        }
        if fld_count as usize != q.attnums.len() || fld_count < 0 {
            return Err(context(PgError::error(
                sqlstate::BAD_COPY_FILE_FORMAT,
                format!(
                    "row field count is {fld_count}, expected {}",
                    q.attnums.len()
                ),
            )));
        }
        let mut row = vec![Datum::Null; q.table.columns.len()];
        let mut row_bytes = 2usize;
        for &col in &q.attnums {
            let column = &q.table.columns[col];
            let field_context = |e: PgError| {
                copy_context(
                    e,
                    format!("COPY {table}, line {line_no}, column {}", column.name),
                )
            };
            let len = reader
                .read_exact(&mut *cx.server, 4)
                .map_err(field_context)?
                .map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")))
                .ok_or_else(|| field_context(unexpected_eof()))?;
            row_bytes += 4 + len.max(0) as usize;
            if len == -1 {
                continue;
            }
            if len < -1 {
                return Err(field_context(PgError::error(
                    sqlstate::BAD_COPY_FILE_FORMAT,
                    "invalid field size",
                )));
            }
            let bytes = reader
                .read_exact(&mut *cx.server, len as usize)
                .map_err(field_context)?
                .ok_or_else(|| field_context(unexpected_eof()))?;
            let ty = column_type(column.type_oid);
            let d = binary::recv(&bytes, ty, &cx.fmt)
                .and_then(|d| adt::apply_typmod(d, ty, column.typmod, false))
                .map_err(field_context)?;
            row[col] = d;
        }
        let taken = batch
            .add(q, row, row_bytes, reader.line_no, cx)
            .map_err(context)?;
        batch.counted(taken, progress, reader.bytes_read);
        batch.flush_if_full(q, cx)?;
    }
    batch.finish(q, cx)
}
