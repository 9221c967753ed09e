//! The extended query protocol (PostgreSQL's `exec_parse_message`,
//! `exec_bind_message`, `exec_describe_*_message`, `exec_execute_message`):
//! prepared statements, portals, parameters and binary formats.
//!
//! A statement is analysed at Parse (parameter types are inferred there, as
//! `parse_analyze_varparams` does) and analysed again, with the parameter
//! types then fixed, at each Execute. A portal's rows are materialised at its
//! first Execute and handed out `max_rows` at a time. After an error,
//! messages are skipped until Sync; Sync commits an implicit transaction.

use super::Session;
use crate::protocol::{Body, get_cstr_bytes, get_i16, get_i32};
use crate::sql::adt::binary;
use crate::sql::types::{Datum, Type};
use crate::sql::{self, Field, Outcome, ServerContext, Statement};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::mb;

/// A prepared statement (Parse).
#[derive(Clone)]
pub(super) struct Prepared {
    /// None for an empty query string. Shared, not copied, by the portals
    /// bound to it (a parse tree is thousands of nodes' worth of clones).
    stmt: Option<std::sync::Arc<Statement>>,
    param_types: Vec<Type>,
    /// Result columns; None when the statement returns no rows.
    fields: Option<Vec<Field>>,
}

/// What an Execute of a portal has produced so far.
enum PortalState {
    NotRun,
    /// Rows not yet sent, then the command tag.
    Rows {
        rows: std::collections::VecDeque<Vec<Option<String>>>,
        tag: String,
        types: Vec<u32>,
    },
    Done,
}

/// A portal (Bind).
pub(super) struct Portal {
    prepared: Prepared,
    params: Vec<Datum>,
    result_formats: Vec<i16>,
    state: PortalState,
}

fn protocol_error(msg: &str) -> PgError {
    PgError::error(sqlstate::PROTOCOL_VIOLATION, msg.to_string())
}

fn malformed() -> PgError {
    protocol_error("insufficient data left in message")
}

/// A C string of the message, converted from the client encoding
/// (`pq_getmsgstring`).
fn get_cstr(body: &[u8], pos: &mut usize) -> PgResult<String> {
    mb::client_to_server(get_cstr_bytes(body, pos).ok_or_else(malformed)?)
}

/// A count of the message: an unsigned 16-bit integer, as PostgreSQL reads
/// it (`pq_getmsgint(msg, 2)`), so 40000 parameters are 40000, not negative.
fn get_count(body: &[u8], pos: &mut usize) -> PgResult<usize> {
    Ok(get_i16(body, pos).ok_or_else(malformed)? as u16 as usize)
}

/// The format of result column `i` under Bind's result format codes.
fn format_of(formats: &[i16], i: usize) -> i16 {
    match formats.len() {
        0 => 0,
        1 => formats[0],
        _ => formats.get(i).copied().unwrap_or(0),
    }
}

impl Session {
    /// Dispatches one extended-protocol message; errors go to the caller,
    /// which reports them and skips to Sync.
    pub(super) fn extended_message(&mut self, kind: u8, body: &[u8]) -> PgResult<()> {
        match kind {
            b'P' => self.exec_parse(body),
            b'B' => self.exec_bind(body),
            b'D' => self.exec_describe(body),
            b'E' => self.exec_execute(body),
            b'C' => self.exec_close(body),
            _ => Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "the fastpath function call protocol is not supported",
            )),
        }
    }

    /// SQL `PREPARE`: the statement analysed with `types` (inferred where
    /// Unknown; 42P18 for one left undetermined), kept as a protocol
    /// Parse would keep it.
    pub(super) fn prepare_sql(
        &mut self,
        name: &str,
        stmt: Statement,
        types: Vec<Type>,
    ) -> PgResult<()> {
        if self.prepared.contains_key(name) {
            return Err(PgError::error(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let saved = sql::params::take();
        sql::params::set_types(types);
        let r = sql::describe(self, &stmt);
        let param_types = sql::params::types().unwrap_or_default();
        sql::params::restore(saved);
        let fields = r?;
        if let Some(i) = param_types.iter().position(|t| *t == Type::Unknown) {
            return Err(PgError::error(
                "42P18",
                format!("could not determine data type of parameter ${}", i + 1),
            ));
        }
        self.prepared.insert(
            name.to_string(),
            Prepared {
                stmt: Some(std::sync::Arc::new(stmt)),
                param_types,
                fields,
            },
        );
        Ok(())
    }

    /// A prepared statement for SQL `EXECUTE`.
    pub(super) fn prepared_sql(&self, name: &str) -> Option<(Statement, Vec<Type>)> {
        let p = self.prepared.get(name)?;
        Some(((**p.stmt.as_ref()?).clone(), p.param_types.clone()))
    }

    fn exec_parse(&mut self, body: &[u8]) -> PgResult<()> {
        let mut pos = 0;
        let name = get_cstr(body, &mut pos)?;
        let text = get_cstr(body, &mut pos)?;
        let n = get_count(body, &mut pos)?;
        let mut types = Vec::new();
        for _ in 0..n {
            let oid = get_i32(body, &mut pos).ok_or_else(malformed)? as u32;
            types.push(if oid == 0 {
                Type::Unknown
            } else {
                Type::from_oid(oid).ok_or_else(|| {
                    PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("parameters of type with OID {oid} are not supported"),
                    )
                })?
            });
        }
        if !name.is_empty() && self.prepared.contains_key(&name) {
            return Err(PgError::error(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        self.report_running(&text);
        let parsed = sql::split(&text)?;
        for n in parsed.notices() {
            self.notice(n.clone());
        }
        let mut statements = (0..parsed.len())
            .map(|i| parsed.statement(i))
            .collect::<PgResult<Vec<_>>>()?;
        self.log_statement(&text, statements.iter().map(sql::log_level));
        if statements.len() > 1 {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let stmt = statements.pop();
        let mut fields = None;
        let mut param_types = types.clone();
        if let Some(stmt) = &stmt {
            self.check_not_failed(stmt)?;
            self.begin_statement();
            sql::params::set_types(types);
            let r = sql::describe(self, stmt);
            param_types = sql::params::types().unwrap_or_default();
            sql::params::clear();
            self.scans.clear();
            fields = r?;
        }
        // The protocol counts parameters in 16 bits (ParameterDescription,
        // Bind): a statement referring to $70000 cannot be described or
        // bound. PostgreSQL fails it because the parameters before it have no
        // type; ferrogres does the same, and refuses the rest outright.
        if param_types.len() > u16::MAX as usize {
            if let Some(i) = param_types.iter().position(|t| *t == Type::Unknown) {
                return Err(PgError::error(
                    "42P18",
                    format!("could not determine data type of parameter ${}", i + 1),
                ));
            }
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "prepared statement has {} parameters, but the protocol allows at most {}",
                    param_types.len(),
                    u16::MAX
                ),
            ));
        }
        for t in &mut param_types {
            if *t == Type::Unknown {
                *t = Type::Text;
            }
        }
        self.prepared.insert(
            name,
            Prepared {
                stmt: stmt.map(std::sync::Arc::new),
                param_types,
                fields,
            },
        );
        self.conn.send(b'1', &[]);
        Ok(())
    }

    fn exec_bind(&mut self, body: &[u8]) -> PgResult<()> {
        let mut pos = 0;
        let portal = get_cstr(body, &mut pos)?;
        let stmt_name = get_cstr(body, &mut pos)?;
        let nfmt = get_count(body, &mut pos)?;
        let mut formats = Vec::new();
        for _ in 0..nfmt {
            formats.push(get_i16(body, &mut pos).ok_or_else(malformed)?);
        }
        let nvals = get_count(body, &mut pos)?;
        let mut raw: Vec<Option<Vec<u8>>> = Vec::with_capacity(nvals);
        for _ in 0..nvals {
            let len = get_i32(body, &mut pos).ok_or_else(malformed)?;
            if len < 0 {
                raw.push(None);
            } else {
                let end = pos
                    .checked_add(len as usize)
                    .filter(|e| *e <= body.len())
                    .ok_or_else(malformed)?;
                raw.push(Some(body[pos..end].to_vec()));
                pos = end;
            }
        }
        let nres = get_count(body, &mut pos)?;
        let mut result_formats = Vec::new();
        for _ in 0..nres {
            result_formats.push(get_i16(body, &mut pos).ok_or_else(malformed)?);
        }
        let Some(prepared) = self.prepared.get(&stmt_name).cloned() else {
            return Err(PgError::error(
                "26000",
                format!("prepared statement \"{stmt_name}\" does not exist"),
            ));
        };
        if raw.len() != prepared.param_types.len() {
            return Err(protocol_error(&format!(
                "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                raw.len(),
                stmt_name,
                prepared.param_types.len()
            )));
        }
        if formats.len() > 1 && formats.len() != raw.len() {
            return Err(protocol_error(&format!(
                "bind message has {} parameter formats but {} parameters",
                formats.len(),
                raw.len()
            )));
        }
        if let Some(stmt) = &prepared.stmt {
            self.check_not_failed(stmt)?;
            self.begin_statement();
        }
        let fmt = crate::sql::exec::session_format(self);
        let mut params = Vec::with_capacity(raw.len());
        for (i, (v, ty)) in raw.iter().zip(&prepared.param_types).enumerate() {
            let d = match v {
                None => Datum::Null,
                Some(bytes) => {
                    if format_of(&formats, i) == 1 {
                        // exec_bind_message names the parameter by number.
                        binary::recv(bytes, *ty, &fmt).map_err(|mut e| {
                            if e.message == binary::BAD_BINARY_FORMAT {
                                e.message = format!(
                                    "{} in bind parameter {}",
                                    binary::BAD_BINARY_FORMAT,
                                    i + 1
                                );
                            }
                            e
                        })
                    } else {
                        // Text parameters are in the client encoding.
                        let s = mb::client_to_server(bytes)?;
                        if *ty == Type::Unknown {
                            Ok(Datum::Text(s))
                        } else {
                            crate::sql::adt::input(&s, *ty, -1, &fmt)
                        }
                    }?
                }
            };
            params.push(d);
        }
        self.portals.insert(
            portal,
            Portal {
                prepared,
                params,
                result_formats,
                state: PortalState::NotRun,
            },
        );
        self.conn.send(b'2', &[]);
        Ok(())
    }

    fn exec_describe(&mut self, body: &[u8]) -> PgResult<()> {
        let mut pos = 0;
        let what = *body.first().ok_or_else(malformed)?;
        pos += 1;
        let name = get_cstr(body, &mut pos)?;
        match what {
            b'S' => {
                let Some(p) = self.prepared.get(&name) else {
                    return Err(PgError::error(
                        "26000",
                        format!("prepared statement \"{name}\" does not exist"),
                    ));
                };
                let mut b = Body::new().i16(p.param_types.len() as u16 as i16);
                for t in &p.param_types {
                    b = b.i32(t.oid() as i32);
                }
                let fields = p.fields.clone();
                self.conn.send(b't', &b.0);
                self.send_row_description(fields.as_deref(), &[])?;
            }
            b'P' => {
                let Some(p) = self.portals.get(&name) else {
                    return Err(PgError::error(
                        "34000",
                        format!("portal \"{name}\" does not exist"),
                    ));
                };
                let fields = p.prepared.fields.clone();
                let formats = p.result_formats.clone();
                self.send_row_description(fields.as_deref(), &formats)?;
            }
            _ => {
                return Err(protocol_error(&format!(
                    "invalid DESCRIBE message subtype {what}"
                )));
            }
        }
        Ok(())
    }

    /// RowDescription of `fields` (NoData for None), in `formats`.
    pub(super) fn send_row_description(
        &mut self,
        fields: Option<&[Field]>,
        formats: &[i16],
    ) -> PgResult<()> {
        let Some(fields) = fields else {
            self.conn.send(b'n', &[]);
            return Ok(());
        };
        let mut desc = Body::new().i16(fields.len() as i16);
        for (i, f) in fields.iter().enumerate() {
            desc = desc
                .bytes(&mb::server_to_client(&f.name)?)
                .u8(0)
                .i32(0)
                .i16(0)
                .i32(f.type_oid as i32)
                .i16(f.typlen)
                .i32(f.typmod)
                .i16(format_of(formats, i));
        }
        self.conn.send(b'T', &desc.0);
        Ok(())
    }

    fn exec_close(&mut self, body: &[u8]) -> PgResult<()> {
        let mut pos = 0;
        let what = *body.first().ok_or_else(malformed)?;
        pos += 1;
        let name = get_cstr(body, &mut pos)?;
        match what {
            b'S' => {
                self.prepared.remove(&name);
            }
            b'P' => {
                self.portals.remove(&name);
            }
            _ => {
                return Err(protocol_error(&format!(
                    "invalid CLOSE message subtype {what}"
                )));
            }
        }
        self.conn.send(b'3', &[]);
        Ok(())
    }

    fn exec_execute(&mut self, body: &[u8]) -> PgResult<()> {
        let mut pos = 0;
        let name = get_cstr(body, &mut pos)?;
        let max_rows = get_i32(body, &mut pos).ok_or_else(malformed)?;
        let Some(mut portal) = self.portals.remove(&name) else {
            return Err(PgError::error(
                "34000",
                format!("portal \"{name}\" does not exist"),
            ));
        };
        let result = self.run_portal(&mut portal, max_rows);
        // An unnamed portal is gone once run to completion or on error;
        // a suspended or named one stays.
        if result.is_ok() && (!name.is_empty() || !matches!(portal.state, PortalState::Done)) {
            self.portals.insert(name, portal);
        }
        result
    }

    fn run_portal(&mut self, portal: &mut Portal, max_rows: i32) -> PgResult<()> {
        if matches!(portal.state, PortalState::NotRun) {
            let Some(stmt) = portal.prepared.stmt.clone() else {
                self.conn.send(b'I', &[]);
                portal.state = PortalState::Done;
                return Ok(());
            };
            self.check_not_failed(&stmt)?;
            self.report_running(&stmt.text);
            self.set_title(sql::command_tag(&stmt));
            self.begin_statement();
            sql::params::set_types(portal.prepared.param_types.clone());
            sql::params::set_values(portal.params.clone());
            let result = self.execute_in_transaction(&stmt);
            sql::params::clear();
            match result? {
                Outcome::Rows { fields, rows, tag } => {
                    portal.state = PortalState::Rows {
                        rows: rows.into(),
                        tag,
                        types: fields.iter().map(|f| f.type_oid).collect(),
                    };
                }
                Outcome::Command { tag } => {
                    self.conn.send(b'C', &Body::new().cstr(&tag).0);
                    portal.state = PortalState::Done;
                    self.send_reported_changes();
                    return Ok(());
                }
                Outcome::Empty => {
                    self.conn.send(b'I', &[]);
                    portal.state = PortalState::Done;
                    return Ok(());
                }
            }
            self.send_reported_changes();
        }
        let fmt = crate::sql::exec::session_format(self);
        let formats = portal.result_formats.clone();
        match &mut portal.state {
            PortalState::Rows { rows, tag, types } => {
                let mut sent = 0i64;
                while max_rows <= 0 || sent < max_rows as i64 {
                    let Some(row) = rows.pop_front() else { break };
                    let mut b = Body::new().i16(row.len() as i16);
                    for (i, v) in row.iter().enumerate() {
                        b = match v {
                            None => b.i32(-1),
                            Some(s) if format_of(&formats, i) == 1 => {
                                let bytes =
                                    binary::send(s, types.get(i).copied().unwrap_or(25), &fmt)?;
                                b.i32(bytes.len() as i32).bytes(&bytes)
                            }
                            Some(s) => {
                                let s = mb::server_to_client(s)?;
                                b.i32(s.len() as i32).bytes(&s)
                            }
                        };
                    }
                    self.conn.send(b'D', &b.0);
                    if self.conn.maybe_flush().is_err() {
                        self.client_lost();
                    }
                    sent += 1;
                }
                if !rows.is_empty() {
                    self.conn.send(b's', &[]);
                } else {
                    let tag = tag.clone();
                    self.conn.send(b'C', &Body::new().cstr(&tag).0);
                    portal.state = PortalState::Done;
                }
                Ok(())
            }
            PortalState::Done => {
                // PostgreSQL reports the completed portal again with no rows.
                self.conn.send(b'C', &Body::new().cstr("SELECT 0").0);
                Ok(())
            }
            PortalState::NotRun => unreachable!("portal ran above"),
        }
    }

    /// Sync: commit an implicit transaction and report ReadyForQuery.
    pub(super) fn exec_sync(&mut self) {
        self.finish_implicit();
        self.send_reported_changes();
        self.ready_for_query();
    }
}
