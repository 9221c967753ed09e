//! The backend's startup and query cycle. See the module doc in `mod.rs`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::auth::{self, AuthChannel, hba::ConnKind};
use crate::postmaster::{CanAccept, ServerEnv};
use crate::process::procarray::{self, BackendState, ProcSlot};
use crate::process::timeout::{self, TimeoutId};
use crate::process::{ProcessKind, proc_exit, signals, title};
use crate::protocol::{Body, Connection, ReadError, Socket, StartupPacket};
use crate::sql::types::{Datum, Type};
use crate::sql::{self, Outcome, ServerContext, TransactionRequest, VirtualRelation};
use crate::utils::elog::{self, LogContext, PgError, PgResult, Severity, sqlstate};
use crate::utils::guc::Settings;
use crate::utils::time::{self, TimestampTz};

#[path = "extended.rs"]
mod extended;

/// Where the session is with respect to transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Xact {
    /// Between transactions.
    None,
    /// A single statement's implicit transaction.
    Implicit,
    /// Inside BEGIN ... COMMIT.
    Block,
    /// Inside a block that hit an error: only ROLLBACK/COMMIT are accepted.
    Failed,
}

pub(super) struct Session {
    env: ServerEnv,
    conn: Connection,
    slot: &'static ProcSlot,
    /// The authenticated role (the title, the log, SET SESSION
    /// AUTHORIZATION's right); `current` is whom the session acts as.
    user: String,
    database: String,
    is_superuser: bool,
    current: CurrentRoles,
    /// The roles file as last read (SET ROLE checks and refreshes it).
    pub(super) roles: Vec<auth::roles::Role>,
    /// `[local]` or the client address, for the title.
    remote_display: String,
    xact: Xact,
    xact_start: TimestampTz,
    stmt_start: TimestampTz,
    session_start: Instant,
    /// The storage side of the current transaction.
    pub(super) txn: super::txn::Txn,
    /// The current Query message holds several statements (one implicit block).
    multi_statement: bool,
    /// Open table scans (rows already read, PostgreSQL's portals in miniature).
    pub(super) scans: std::collections::HashMap<u32, super::tables::ScanState>,
    pub(super) next_scan: u32,
    /// Prepared statements of the extended protocol ("" is the unnamed one).
    prepared: std::collections::HashMap<String, extended::Prepared>,
    /// Portals; dropped at transaction end.
    portals: std::collections::HashMap<String, extended::Portal>,
    /// After an error in extended mode: skip messages until Sync.
    ignore_till_sync: bool,
    /// ReadyForQuery was sent and no message arrived since: the idle
    /// timeouts run only then, not between extended-protocol messages.
    ready_sent: bool,
    /// The current Query message was logged by `log_statement`, so a
    /// duration line need not repeat it.
    statement_logged: bool,
    /// An ERROR went to the client for the current Query message (then no
    /// duration is logged, as in PostgreSQL).
    error_sent: bool,
    /// Whether the running simple-query statement may stream its SELECT
    /// rows (`ServerContext::begin_rows`); cleared once one does.
    stream_rows: bool,
    /// Sequence values fetched ahead, `currval` and `lastval` state.
    pub(super) sequences: super::sequence::SessionSequences,
}

/// Whom a session acts as: `session_user` (SET SESSION AUTHORIZATION) and
/// `current_user` (SET ROLE), from the `session_authorization` and `role`
/// settings, so that ROLLBACK undoes them as it undoes any SET.
#[derive(Clone, Debug, PartialEq)]
struct CurrentRoles {
    session_user: String,
    session_superuser: bool,
    user: String,
    superuser: bool,
    oid: u32,
}

/// Entry point of a forked backend. Never returns.
pub fn backend_main(
    env: ServerEnv,
    socket: Socket,
    addr: Option<SocketAddr>,
    cac: CanAccept,
    cancel_key: i32,
    cancel_table: Vec<(i32, i32)>,
) -> ! {
    let (remote_host, remote_port) = match addr {
        Some(a) => (a.ip().to_string(), a.port().to_string()),
        None => ("[local]".to_string(), String::new()),
    };
    let remote_display = if remote_port.is_empty() {
        remote_host.clone()
    } else {
        format!("{remote_host}({remote_port})")
    };
    title::set_title(&format!("ferrogres: {remote_display} startup"));
    elog::set_log_context(LogContext {
        remote_host: remote_host.clone(),
        remote_port: remote_port.clone(),
        backend_type: "client backend".into(),
        session_start_s: time::now_unix().0,
        is_session: true,
        ..Default::default()
    });
    crate::postmaster::apply_log_settings(&env.settings);
    if env.settings.get_bool("log_connections") {
        let port = if remote_port.is_empty() {
            String::new()
        } else {
            format!(" port={remote_port}")
        };
        elog::log(
            Severity::Log,
            &format!("connection received: host={remote_host}{port}"),
        );
    }
    let mut conn = Connection::new(socket);
    let auth_timeout =
        Duration::from_secs(env.settings.get_int("authentication_timeout").max(1) as u64);
    let deadline = Instant::now() + auth_timeout;
    let startup_bits = signals::SIGTERM_PENDING | signals::POSTMASTER_DEATH_PENDING;

    // ProcessStartupPacket(): at most one SSLRequest, and a GSSENCRequest
    // only while no TLS was negotiated; a repeated one is an unsupported
    // protocol version as in PostgreSQL.
    let mut ssl_done = false;
    let mut gss_done = false;
    let mut ssl_status: Option<crate::protocol::tls::SslStatus> = None;
    let params = loop {
        match conn.read_startup_packet(startup_bits, Some(deadline)) {
            Ok(StartupPacket::SslRequest) if !ssl_done => {
                ssl_done = true;
                // No TLS when disabled or on a Unix socket.
                let tls = env.tls.clone().filter(|_| addr.is_some());
                conn.send_raw(if tls.is_some() { b"S" } else { b"N" });
                if conn.flush().is_err() {
                    proc_exit(0);
                }
                refuse_buffered_plaintext(&mut conn, "received unencrypted data after SSL request");
                if let Some(config) = tls {
                    gss_done = true;
                    match conn.start_tls(&config, startup_bits, Some(deadline)) {
                        Ok(()) => {
                            let status = conn.tls().expect("start_tls succeeded").status(&config);
                            crate::protocol::tls::set_my_status(status.clone());
                            ssl_status = Some(status);
                        }
                        // COMMERROR: the log only, nothing can reach the client.
                        Err(ReadError::Protocol(e)) => {
                            elog::log_error(&e, None);
                            proc_exit(0);
                        }
                        Err(ReadError::Eof) => proc_exit(0),
                        Err(ReadError::TimedOut) | Err(ReadError::Interrupted) => proc_exit(1),
                    }
                }
            }
            Ok(StartupPacket::GssEncRequest) if !gss_done => {
                gss_done = true;
                conn.send_raw(b"N");
                if conn.flush().is_err() {
                    proc_exit(0);
                }
                refuse_buffered_plaintext(
                    &mut conn,
                    "received unencrypted data after GSSAPI encryption request",
                );
            }
            Ok(p @ (StartupPacket::SslRequest | StartupPacket::GssEncRequest)) => {
                let code = if p == StartupPacket::SslRequest {
                    crate::protocol::SSL_REQUEST_CODE
                } else {
                    crate::protocol::GSSENC_REQUEST_CODE
                };
                fatal(
                    &mut conn,
                    PgError::fatal(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
                            code >> 16,
                            code & 0xffff
                        ),
                    ),
                    None,
                )
            }
            Ok(StartupPacket::Cancel { pid, key }) => {
                process_cancel_request(&cancel_table, pid, key);
                proc_exit(0);
            }
            Ok(StartupPacket::Startup { params, .. }) => break params,
            Err(ReadError::Eof) => proc_exit(0),
            Err(ReadError::TimedOut) | Err(ReadError::Interrupted) => proc_exit(1),
            Err(ReadError::Protocol(e)) => fatal(&mut conn, e, None),
        }
    };
    if let Some(e) = cac.error() {
        fatal(&mut conn, e, None);
    }

    let mut env = env;
    let mut user = None;
    let mut database = None;
    let mut application_name = String::new();
    // Settings from the packet are applied once the role is known, so that
    // superuser-only ones are checked against the right role.
    let mut client_settings: Vec<(String, String)> = Vec::new();
    let mut options = String::new();
    // A physical replication connection (pg_basebackup's): served by the
    // walsender command loop of `crate::backup::walsender` once authenticated.
    let mut replication = false;
    for (k, v) in &params {
        match k.as_str() {
            "user" => user = Some(v.clone()),
            "database" => database = Some(v.clone()),
            "replication" => match v.to_ascii_lowercase().as_str() {
                "false" | "off" | "0" | "no" => {}
                "true" | "on" | "1" | "yes" => replication = true,
                "database" => fatal(
                    &mut conn,
                    PgError::fatal(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "logical replication connections are not supported",
                    ),
                    None,
                ),
                _ => fatal(
                    &mut conn,
                    PgError::fatal(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("invalid value for parameter \"replication\": \"{v}\""),
                    )
                    .with_hint("Valid values are: \"false\", 0, \"true\", 1, \"database\"."),
                    None,
                ),
            },
            "options" => options = v.clone(),
            _ if k.starts_with("_pq_.") => {}
            other => {
                if other == "application_name" {
                    application_name = v.clone();
                }
                client_settings.push((other.to_string(), v.clone()));
            }
        }
    }
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        fatal(
            &mut conn,
            PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                "no PostgreSQL user name specified in startup packet",
            ),
            None,
        );
    };
    let database = database
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    elog::update_log_context(|c| {
        c.user = user.clone();
        c.database = database.clone();
        c.application_name = application_name.clone();
    });
    title::set_title(&format!(
        "ferrogres: {user} {database} {remote_display} authentication"
    ));

    // Authentication against the first matching pg_hba.conf line.
    let conn_kind = match addr {
        Some(a) => ConnKind::Host {
            addr: a.ip(),
            ssl: ssl_status.is_some(),
        },
        None => ConnKind::Local,
    };
    let roles = auth::roles::load_roles(&env.data_dir).unwrap_or_default();
    let role = auth::roles::find_role(&roles, &user).cloned();
    publish_roles(&roles);
    let hba_database = if replication {
        auth::hba::PHYSICAL_REPLICATION
    } else {
        database.as_str()
    };
    let line = match env.hba.find(&conn_kind, hba_database, &user) {
        Ok(l) => l.clone(),
        Err(e) => fatal(&mut conn, e, None),
    };
    {
        let mut chan = ConnAuthChannel {
            conn: &mut conn,
            deadline,
        };
        if let Err(e) = auth::authenticate(
            &mut chan,
            &line,
            &conn_kind,
            &database,
            role.as_ref(),
            &user,
            ssl_status.as_ref(),
            &env.ident,
        ) {
            if e.sqlstate == sqlstate::CONNECTION_FAILURE {
                // The client hung up during authentication (psql does this
                // before prompting for a password): PostgreSQL logs nothing.
                proc_exit(0);
            }
            let delay = env.settings.get_int("auth_delay.milliseconds");
            fatal_auth_failure(&mut conn, e, Duration::from_millis(delay as u64));
        }
    }
    let Some(role) = role else {
        fatal(
            &mut conn,
            PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{user}\" does not exist"),
            ),
            None,
        );
    };
    if !role.can_login {
        fatal(
            &mut conn,
            PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{user}\" is not permitted to log in"),
            ),
            None,
        );
    }
    // A slot in the process array: max_connections is enforced here.
    let seg = crate::storage::shmem::get();
    let slot = match seg.procarray().claim(ProcessKind::Backend, role.superuser) {
        Ok(s) => s,
        Err(e) => fatal(&mut conn, e, None),
    };
    crate::process::set_my_slot(slot);
    signals::set_latch_target(&slot.latch);
    crate::process::attach_storage(&env.data_dir);
    slot.cancel_key.store(cancel_key, Ordering::Relaxed);
    slot.role_oid.store(role.oid, Ordering::Relaxed);

    if replication {
        // PostgreSQL also accepts roles with the REPLICATION attribute;
        // ferrogres roles have no such attribute yet.
        if !role.superuser {
            fatal(
                &mut conn,
                PgError::fatal(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "must be superuser or replication role to start walsender",
                ),
                None,
            );
        }
        title::set_title(&format!("ferrogres: walsender {user} {remote_display}"));
        conn.send(b'R', &Body::new().i32(0).0);
        for (name, value) in env.settings.reported_parameters() {
            conn.send(b'S', &Body::new().cstr(&name).cstr(&value).0);
        }
        conn.send(
            b'K',
            &Body::new().i32(std::process::id() as i32).i32(cancel_key).0,
        );
        prepare_quit_messages(&conn);
        crate::backup::walsender::run(env, conn);
    }

    // The database, from the shared pg_database catalog.
    let transam = crate::storage::xact::Transam::get();
    let snapshot = transam.get_snapshot(slot, crate::storage::types::Xid::INVALID, 0);
    let db = crate::catalog::relcache::lookup_database(&database, &snapshot, &transam);
    transam.clear_xmin(slot);
    let db_oid = match db {
        Ok(Some((oid, true))) => oid,
        Ok(Some((_, false))) => fatal(
            &mut conn,
            PgError::fatal(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("database \"{database}\" is not currently accepting connections"),
            ),
            None,
        ),
        Ok(None) => fatal(
            &mut conn,
            PgError::fatal(
                sqlstate::INVALID_CATALOG_NAME,
                format!("database \"{database}\" does not exist"),
            ),
            None,
        ),
        Err(e) => fatal(&mut conn, e, None),
    };
    let now = time::now_timestamptz();
    slot.update_status(|st| {
        st.datid = db_oid;
        st.usesysid = role.oid;
        st.client_port = remote_port.parse().unwrap_or(-1);
        st.backend_start = now;
        st.state_change = now;
        procarray::put_str(&mut st.datname, &database);
        procarray::put_str(&mut st.usename, &user);
        procarray::put_str(&mut st.application_name, &application_name);
        procarray::put_str(
            &mut st.client_addr,
            if addr.is_some() { &remote_host } else { "" },
        );
        if let Some(ssl) = &ssl_status {
            st.ssl = 1;
            st.ssl_bits = ssl.bits;
            procarray::put_str(&mut st.ssl_version, ssl.version);
            procarray::put_str(&mut st.ssl_cipher, &ssl.cipher);
            if let Some(peer) = &ssl.peer {
                procarray::put_str(&mut st.ssl_client_dn, &peer.subject);
                procarray::put_str(&mut st.ssl_client_serial, &peer.serial);
                procarray::put_str(&mut st.ssl_issuer_dn, &peer.issuer);
            }
        }
    });

    env.settings
        .set_internal("is_superuser", if role.superuser { "on" } else { "off" });
    env.settings.set_internal("session_authorization", &user);
    if let Err(e) = apply_options(&mut env.settings, &options) {
        fatal(&mut conn, e, None);
    }
    for (name, value) in &client_settings {
        // A client encoding without a conversion ends the connection as
        // PostgreSQL's InitializeClientEncoding does (FATAL 0A000).
        if env.settings.canonical_name(name).as_deref() == Some("client_encoding")
            && let Some(mut e) = crate::utils::mb::char_to_encoding(value)
                .and_then(crate::utils::mb::client_encoding_unsupported)
        {
            e.severity = Severity::Fatal;
            fatal(&mut conn, e, None);
        }
        if let Err(mut e) = env.settings.set_from_client(name, value) {
            // A bad setting in the startup packet ends the connection.
            e.severity = e.severity.max(Severity::Fatal);
            fatal(&mut conn, e, None);
        }
    }
    crate::utils::mb::set_client_encoding_name(&env.settings.get_str("client_encoding"));
    conn.send(b'R', &Body::new().i32(0).0);
    // WARNINGs for startup options ferrogres does not implement.
    for w in env.settings.take_notices() {
        elog::log_error(&w, None);
        conn.send_raw(&crate::protocol::framed_report(&w));
    }
    for (name, value) in env.settings.reported_parameters() {
        conn.send(b'S', &Body::new().cstr(&name).text(&value).0);
    }
    let _ = env.settings.take_reported_changes();
    conn.send(
        b'K',
        &Body::new().i32(std::process::id() as i32).i32(cancel_key).0,
    );
    prepare_quit_messages(&conn);
    if env.settings.get_bool("log_connections") {
        let app = if application_name.is_empty() {
            String::new()
        } else {
            format!(" application_name={application_name}")
        };
        let ssl = match &ssl_status {
            Some(s) => format!(
                " SSL enabled (protocol={}, cipher={}, bits={})",
                s.version, s.cipher, s.bits
            ),
            None => String::new(),
        };
        elog::log(
            Severity::Log,
            &format!("connection authorized: user={user} database={database}{app}{ssl}"),
        );
    }

    let mut session = Session {
        env,
        conn,
        slot,
        user: user.clone(),
        database,
        is_superuser: role.superuser,
        current: CurrentRoles {
            session_user: user.clone(),
            session_superuser: role.superuser,
            user: user.clone(),
            superuser: role.superuser,
            oid: role.oid,
        },
        roles,
        remote_display,
        xact: Xact::None,
        xact_start: 0,
        stmt_start: 0,
        session_start: Instant::now(),
        txn: super::txn::Txn::new(db_oid),
        multi_statement: false,
        scans: std::collections::HashMap::new(),
        next_scan: 0,
        prepared: std::collections::HashMap::new(),
        portals: std::collections::HashMap::new(),
        ignore_till_sync: false,
        ready_sent: false,
        statement_logged: false,
        error_sent: false,
        stream_rows: false,
        sequences: Default::default(),
    };
    crate::utils::pgstat::init_backend(db_oid);
    session.run()
}

/// A process-array xid as pg_stat_activity shows it (NULL when none).
fn xid_datum(xid: u64) -> Datum {
    if xid == 0 {
        Datum::Null
    } else {
        Datum::Xid(xid as u32)
    }
}

fn isolation_from(level: &str) -> super::txn::Isolation {
    match level {
        "repeatable read" | "serializable" => super::txn::Isolation::RepeatableRead,
        _ => super::txn::Isolation::ReadCommitted,
    }
}

pub(super) use crate::process::signals::check_interrupts;

/// PostgreSQL 15's `processCancelRequest`: the postmaster's child list, as
/// inherited at fork, says which backend the key belongs to.
fn process_cancel_request(cancel_table: &[(i32, i32)], pid: i32, key: i32) {
    match cancel_table.iter().find(|(p, _)| *p == pid) {
        Some((_, k)) if *k == key => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        Some(_) => elog::log(
            Severity::Log,
            &format!("wrong key in cancel request for process {pid}"),
        ),
        None => elog::log(
            Severity::Log,
            &format!("PID {pid} in cancel request did not match any process"),
        ),
    }
}

/// `-c name=value` and `--name=value` in the startup packet's `options`.
fn apply_options(settings: &mut Settings, options: &str) -> PgResult<()> {
    let mut words = options.split_whitespace();
    while let Some(w) = words.next() {
        let assignment = if w == "-c" {
            words.next().unwrap_or("").to_string()
        } else if let Some(rest) = w.strip_prefix("-c") {
            rest.to_string()
        } else if let Some(rest) = w.strip_prefix("--") {
            rest.to_string()
        } else {
            return Err(PgError::fatal(
                sqlstate::PROTOCOL_VIOLATION,
                format!("invalid command-line argument for server process: {w}"),
            )
            .with_hint("Try \"ferrogres --help\" for more information."));
        };
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(PgError::fatal(
                sqlstate::SYNTAX_ERROR,
                format!("--{assignment} requires a value"),
            ));
        };
        settings.set_from_client(&name.replace('-', "_"), value)?;
    }
    Ok(())
}

/// After answering an SSLRequest or GSSENCRequest, nothing may be buffered
/// yet: bytes that came with the request were sent before any encryption
/// and may have been injected by a man in the middle (CVE-2021-23214).
/// PostgreSQL checks after the handshake; ferrogres before it, in plaintext,
/// since those bytes could never be part of the handshake.
fn refuse_buffered_plaintext(conn: &mut Connection, message: &str) {
    if conn.buffered_input() > 0 {
        fatal(
            conn,
            PgError::fatal(sqlstate::PROTOCOL_VIOLATION, message)
            .with_detail("This could be either a client-software bug or evidence of an attempted man-in-the-middle attack."),
            None,
        );
    }
}

/// Sends a FATAL report (if the client still listens), logs it, and exits 1.
fn fatal(conn: &mut Connection, err: PgError, statement: Option<&str>) -> ! {
    elog::log_error(&err, statement);
    conn.send_raw(&crate::protocol::framed_report(&err));
    let _ = conn.flush();
    proc_exit(1)
}

/// A failed authentication (auth README rule 7): the server log gets the
/// reason and the matched pg_hba.conf line in DETAIL, the client only the
/// message (PostgreSQL's `errdetail_log`). Other errors of the exchange
/// (a malformed SCRAM message) keep their client-visible detail.
///
/// A failed password or certificate check first waits `delay`
/// (`auth_delay.milliseconds`, as PostgreSQL's auth_delay module does), so
/// that guessing passwords costs time; the postmaster is not held up, only
/// this backend, which still counts against `max_connections` meanwhile.
fn fatal_auth_failure(conn: &mut Connection, err: PgError, delay: Duration) -> ! {
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    if !matches!(
        err.sqlstate,
        sqlstate::INVALID_PASSWORD | sqlstate::INVALID_AUTHORIZATION_SPECIFICATION
    ) {
        fatal(conn, err, None);
    }
    elog::log_error(&err, None);
    let client = PgError {
        detail: None,
        ..err
    };
    conn.send_raw(&crate::protocol::framed_report(&client));
    let _ = conn.flush();
    proc_exit(1)
}

/// The reports the SIGQUIT and postmaster-death handlers write to the
/// client before `_exit`.
fn prepare_quit_messages(conn: &Connection) {
    let crash = PgError::new(Severity::Warning, sqlstate::CRASH_SHUTDOWN, "terminating connection because of crash of another server process")
        .with_detail("The postmaster has commanded this server process to roll back the current transaction and exit, because another server process exited abnormally and possibly corrupted shared memory.")
        .with_hint("In a moment you should be able to reconnect to the database and repeat your command.");
    let shutdown = PgError::new(
        Severity::Warning,
        sqlstate::ADMIN_SHUTDOWN,
        "terminating connection due to immediate shutdown command",
    );
    let postmaster_death = PgError::fatal(
        sqlstate::ADMIN_SHUTDOWN,
        "terminating connection due to unexpected postmaster exit",
    );
    // On TLS the reports cannot be written from a signal handler (they would
    // have to be encrypted): the client sees the connection close.
    if conn.socket.is_tls() {
        return;
    }
    signals::prepare_quit_messages(
        conn.socket.fd(),
        crate::protocol::framed_report(&crash),
        crate::protocol::framed_report(&shutdown),
        crate::protocol::framed_report(&postmaster_death),
    );
}

struct ConnAuthChannel<'a> {
    conn: &'a mut Connection,
    deadline: Instant,
}

impl AuthChannel for ConnAuthChannel<'_> {
    fn send_auth_request(&mut self, code: i32, data: &[u8]) -> std::io::Result<()> {
        self.conn.send(b'R', &Body::new().i32(code).bytes(data).0);
        self.conn.flush()
    }

    fn read_password_message(&mut self) -> PgResult<Vec<u8>> {
        let bits = signals::SIGTERM_PENDING | signals::POSTMASTER_DEATH_PENDING;
        match self.conn.read_message(bits, Some(self.deadline)) {
            Ok((b'p', body)) => Ok(body),
            Ok((kind, _)) => Err(PgError::fatal(
                sqlstate::PROTOCOL_VIOLATION,
                format!("expected password response, got message type {kind}"),
            )),
            Err(ReadError::Protocol(e)) => Err(e),
            Err(ReadError::TimedOut) => Err(PgError::fatal(
                sqlstate::QUERY_CANCELED,
                "canceling authentication due to timeout",
            )),
            Err(ReadError::Eof) | Err(ReadError::Interrupted) => Err(PgError::fatal(
                sqlstate::CONNECTION_FAILURE,
                "connection to client lost",
            )),
        }
    }
}

impl Session {
    fn run(&mut self) -> ! {
        self.ready_for_query();
        loop {
            self.report_idle();
            if self.conn.flush().is_err() {
                self.client_lost();
            }
            self.enable_idle_timeout();
            let bits = signals::SIGTERM_PENDING
                | signals::POSTMASTER_DEATH_PENDING
                | signals::SIGHUP_PENDING
                | signals::TIMEOUT_PENDING;
            // An idle backend still sends the statistics it held back
            // (PostgreSQL's IdleStatsUpdateTimeout).
            let stats_deadline = crate::utils::pgstat::idle_flush_deadline();
            let message = self.conn.read_message(bits, stats_deadline);
            if message.is_ok() {
                self.ready_sent = false;
                timeout::disable(TimeoutId::IdleInTransactionSessionTimeout);
                timeout::disable(TimeoutId::IdleSessionTimeout);
            }
            match message {
                Err(ReadError::TimedOut) if stats_deadline.is_some() => {
                    crate::utils::pgstat::report_stat(false);
                }
                Err(ReadError::Interrupted) => {
                    if signals::take(signals::SIGHUP_PENDING) != 0 {
                        self.env.reload_settings();
                    }
                    // A cancel that arrives while idle cancels nothing.
                    signals::take(signals::SIGINT_PENDING);
                    if let Err(e) = self.check_for_interrupts() {
                        self.fatal(e);
                    }
                }
                Err(ReadError::Eof) | Err(ReadError::TimedOut) => self.disconnect(0),
                Err(ReadError::Protocol(e)) => self.fatal(e),
                Ok((b'X', _)) => self.disconnect(0),
                Ok((b'S', _)) => {
                    self.ignore_till_sync = false;
                    self.exec_sync();
                }
                Ok(_) if self.ignore_till_sync => {}
                Ok((b'Q', body)) => {
                    let mut pos = 0;
                    let Some(bytes) = crate::protocol::get_cstr_bytes(&body, &mut pos) else {
                        self.fatal(PgError::fatal(
                            sqlstate::PROTOCOL_VIOLATION,
                            "invalid string in message",
                        ));
                    };
                    // A simple query ends an implicit transaction left open
                    // by extended-protocol messages without Sync.
                    self.finish_implicit();
                    self.statement_logged = false;
                    self.error_sent = false;
                    // The query string in the client encoding: bytes that do
                    // not convert are an ERROR before any statement runs.
                    let text = match crate::utils::mb::client_to_server(bytes) {
                        Ok(t) => t,
                        Err(e) => {
                            self.send_error(&e, None);
                            if self.xact == Xact::Block {
                                self.fail_block();
                            }
                            self.ready_for_query();
                            continue;
                        }
                    };
                    let started = Instant::now();
                    self.exec_simple_query(&text);
                    self.log_duration(started, &text);
                    self.ready_for_query();
                }
                Ok((b'H', _)) => {}
                Ok((kind @ (b'P' | b'B' | b'D' | b'E' | b'C' | b'F'), body)) => {
                    signals::take(signals::SIGINT_PENDING);
                    if let Err(e) = self.extended_message(kind, &body) {
                        self.extended_error(e);
                    }
                }
                Ok((b'd' | b'c' | b'f', _)) => {
                    // COPY data outside COPY: PostgreSQL ignores it.
                }
                Ok((kind, _)) => self.fatal(PgError::fatal(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("invalid frontend message type {kind}"),
                )),
            }
        }
    }

    /// An error in extended mode: report it, abort as a simple query's
    /// error does, and skip messages until Sync.
    fn extended_error(&mut self, e: PgError) {
        sql::params::clear();
        self.scans.clear();
        let statement = procarray_query(self.slot);
        if e.severity >= Severity::Fatal && e.severity != Severity::Log {
            self.fatal_with_statement(e, &statement);
        }
        if e.sqlstate == sqlstate::DEADLOCK_DETECTED {
            crate::utils::pgstat::count_deadlock();
        }
        self.send_error(&e, Some(&statement));
        match self.xact {
            Xact::Implicit => self.end_transaction(false),
            Xact::Block => {
                if !self.txn.has_savepoints() {
                    self.txn.abort();
                }
                self.xact = Xact::Failed;
            }
            _ => {}
        }
        self.send_reported_changes();
        self.ignore_till_sync = true;
    }

    /// While waiting for the client: `idle_in_transaction_session_timeout`
    /// inside a transaction block, `idle_session_timeout` outside one
    /// (PostgreSQL's PostgresMain before ReadCommand). Enabled once per idle
    /// period: waking for statistics or a signal does not restart it.
    fn enable_idle_timeout(&mut self) {
        if !self.ready_sent {
            return;
        }
        let (id, name) = match self.xact {
            Xact::Block | Xact::Failed => (
                TimeoutId::IdleInTransactionSessionTimeout,
                "idle_in_transaction_session_timeout",
            ),
            Xact::None | Xact::Implicit => (TimeoutId::IdleSessionTimeout, "idle_session_timeout"),
        };
        if !timeout::is_active(id) {
            let ms = self.env.settings.get_int(name).max(0) as u64;
            timeout::enable_after(id, ms);
        }
    }

    /// `log_statement`: logs `text` once if any of its statements is of a
    /// logged kind (PostgreSQL's `check_log_statement`). Returns whether it did.
    /// `levels` is lazy: only a non-default setting classifies the statements.
    pub(super) fn log_statement(
        &self,
        text: &str,
        mut levels: impl Iterator<Item = sql::LogStmtLevel>,
    ) -> bool {
        let setting = sql::LogStmtLevel::from_setting(&self.env.settings.get_str("log_statement"));
        if setting == sql::LogStmtLevel::None || !levels.any(|l| l <= setting) {
            return false;
        }
        elog::log(Severity::Log, &format!("statement: {text}"));
        true
    }

    /// `log_min_duration_statement` and `log_duration` after a Query
    /// message that raised no error (PostgreSQL's `check_log_duration`):
    /// `duration: 1.234 ms`, followed by the statement unless
    /// `log_statement` logged it already.
    fn log_duration(&self, started: Instant, text: &str) {
        if self.error_sent {
            return;
        }
        let min_ms = self.env.settings.get_int("log_min_duration_statement");
        let log_duration = self.env.settings.get_bool("log_duration");
        if min_ms < 0 && !log_duration {
            return;
        }
        let elapsed = started.elapsed();
        let exceeded = min_ms == 0 || (min_ms > 0 && elapsed.as_millis() >= min_ms as u128);
        if !exceeded && !log_duration {
            return;
        }
        let us = elapsed.as_micros();
        let duration = format!("duration: {}.{:03} ms", us / 1000, us % 1000);
        if exceeded && !self.statement_logged {
            elog::log(Severity::Log, &format!("{duration}  statement: {text}"));
        } else {
            elog::log(Severity::Log, &duration);
        }
    }

    /// Commits the implicit transaction of extended-protocol messages.
    fn finish_implicit(&mut self) {
        if self.xact == Xact::Implicit {
            self.end_transaction(true);
        }
    }

    /// Shows `text` as the running statement (pg_stat_activity, title).
    fn report_running(&mut self, text: &str) {
        let now = time::now_timestamptz();
        let track = self.env.settings.get_bool("track_activities");
        self.slot.update_status(|st| {
            st.state = BackendState::Running as u8;
            st.state_change = now;
            st.query_start = now;
            procarray::put_str(&mut st.query, if track { text } else { "" });
        });
    }

    /// In a failed block only COMMIT/ROLLBACK run (25P02 otherwise).
    fn check_not_failed(&self, stmt: &sql::Statement) -> PgResult<()> {
        if self.xact == Xact::Failed && !matches!(sql::command_tag(stmt), "COMMIT" | "ROLLBACK") {
            return Err(PgError::error(
                sqlstate::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        Ok(())
    }

    /// Starts the implicit transaction if none is open, and a statement in it.
    fn begin_statement(&mut self) {
        self.stmt_start = time::now_timestamptz();
        if self.xact == Xact::None {
            self.xact = Xact::Implicit;
            self.xact_start = self.stmt_start;
            self.env.settings.at_transaction_start();
            self.txn.begin(self.default_isolation());
            let xs = self.xact_start;
            self.slot.update_status(|st| st.xact_start = xs);
        }
        if self.xact != Xact::Failed {
            self.txn.start_statement();
            // A SET earlier in the same transaction counts from the next statement.
            crate::utils::pgstat::set_track_counts(self.env.settings.get_bool("track_counts"));
            crate::catalog::syscache::begin_statement(
                self.txn.relcache.db_oid(),
                self.env.settings.str_ref("search_path"),
                self.current_user(),
                self.txn.state.snapshot_source(),
            );
            if !self.txn.has_snapshot() {
                let isolation = self.current_isolation();
                self.txn.set_isolation(isolation);
            }
        }
    }

    /// Runs one statement under the settings that bound it: the lock
    /// manager's `lock_timeout` / `deadlock_timeout` and the
    /// `statement_timeout` timer (each statement of a Query message
    /// separately, as in PostgreSQL 13 and later).
    fn run_statement(&mut self, stmt: &sql::Statement) -> PgResult<Outcome> {
        self.txn.state.locks.set_timeouts(&self.env.settings);
        let statement_timeout_ms = self.env.settings.get_int("statement_timeout").max(0) as u64;
        timeout::enable_after(TimeoutId::StatementTimeout, statement_timeout_ms);
        let result = sql::execute(self, stmt);
        timeout::disable(TimeoutId::StatementTimeout);
        self.refresh_current_roles();
        result
    }

    /// Follows `session_authorization` and `role` after SET, RESET or a
    /// rollback changed them; `is_superuser` follows the current role.
    fn refresh_current_roles(&mut self) {
        let lookup = |roles: &[auth::roles::Role], name: &str| {
            auth::roles::find_role(roles, name).map(|r| (r.name.clone(), r.superuser, r.oid))
        };
        let session = lookup(
            &self.roles,
            &self.env.settings.get_str("session_authorization"),
        )
        .unwrap_or((self.user.clone(), self.is_superuser, self.current.oid));
        let role = self.env.settings.get_str("role");
        let current = if role.is_empty() || role.eq_ignore_ascii_case("none") {
            None
        } else {
            lookup(&self.roles, &role)
        };
        let (user, superuser, oid) = current.unwrap_or_else(|| session.clone());
        let next = CurrentRoles {
            session_user: session.0,
            session_superuser: session.1,
            user,
            superuser,
            oid,
        };
        if next != self.current {
            if next.superuser != self.current.superuser {
                self.env
                    .settings
                    .set_internal("is_superuser", if next.superuser { "on" } else { "off" });
            }
            self.current = next;
        }
    }

    /// Runs a statement after [`Self::begin_statement`], ending the statement.
    fn execute_in_transaction(&mut self, stmt: &sql::Statement) -> PgResult<Outcome> {
        let result = self.run_statement(stmt).and_then(|outcome| {
            if matches!(self.xact, Xact::Implicit | Xact::Block) {
                self.txn.end_statement()?;
            }
            Ok(outcome)
        });
        self.scans.clear();
        result
    }

    fn ready_for_query(&mut self) {
        let status = match self.xact {
            Xact::None | Xact::Implicit => b'I',
            Xact::Block => b'T',
            Xact::Failed => b'E',
        };
        self.conn.send(b'Z', &[status]);
        self.ready_sent = true;
    }

    fn report_idle(&mut self) {
        let (state, word) = match self.xact {
            Xact::None | Xact::Implicit => (BackendState::Idle, "idle"),
            Xact::Block => (BackendState::IdleInTransaction, "idle in transaction"),
            Xact::Failed => (
                BackendState::IdleInTransactionAborted,
                "idle in transaction (aborted)",
            ),
        };
        let now = time::now_timestamptz();
        self.slot.update_status(|st| {
            if st.state != state as u8 {
                st.state_change = now;
            }
            st.state = state as u8;
        });
        self.set_title(word);
    }

    fn set_title(&self, what: &str) {
        title::set_title(&format!(
            "ferrogres: {} {} {} {}",
            self.user, self.database, self.remote_display, what
        ));
    }

    fn exec_simple_query(&mut self, text: &str) {
        // The simple protocol destroys the unnamed statement and portal.
        self.prepared.remove("");
        self.portals.remove("");
        // A cancel that arrived while idle is ignored, as in PostgreSQL.
        signals::take(signals::SIGINT_PENDING);
        self.report_running(text);
        let mut statements = match sql::split(text) {
            Ok(s) => s,
            Err(e) => {
                self.send_error(&e, Some(text));
                if self.xact == Xact::Block {
                    self.fail_block();
                }
                return;
            }
        };
        for n in statements.notices() {
            self.notice(n.clone());
        }
        self.statement_logged = self.log_statement(
            text,
            (0..statements.len()).filter_map(|i| statements.with_statement(i, sql::log_level).ok()),
        );
        if statements.is_empty() {
            self.conn.send(b'I', &[]);
            return;
        }
        // All statements of one Query message share one implicit
        // transaction, as in PostgreSQL: an error rolls back the earlier ones
        // too. BEGIN inside the string turns it into an explicit block.
        let last = statements.len() - 1;
        self.multi_statement = statements.len() > 1;
        for i in 0..statements.len() {
            let stmt = match statements.take_statement(i) {
                Ok(s) => s,
                Err(e) => {
                    self.send_error(&e, Some(text));
                    match self.xact {
                        Xact::Implicit => self.end_transaction(false),
                        Xact::Block => self.fail_block(),
                        _ => {}
                    }
                    return;
                }
            };
            let stmt = &stmt;
            let tag = sql::command_tag(stmt);
            self.set_title(tag);
            if self.xact == Xact::Failed && !matches!(tag, "COMMIT" | "ROLLBACK") {
                let e = PgError::error(
                    sqlstate::IN_FAILED_SQL_TRANSACTION,
                    "current transaction is aborted, commands ignored until end of transaction block",
                );
                self.send_error(&e, Some(&stmt.text));
                return;
            }
            self.begin_statement();
            // This statement's SELECT rows stream to the client (`begin_rows`).
            self.stream_rows = true;
            let result = self.run_statement(stmt);
            self.stream_rows = false;
            let result = result
                .and_then(|outcome| {
                    if matches!(self.xact, Xact::Implicit | Xact::Block) {
                        self.txn.end_statement()?;
                    }
                    Ok(outcome)
                })
                .and_then(|outcome| self.send_outcome(outcome));
            self.scans.clear();
            match result {
                Ok(()) => {
                    if self.xact == Xact::Implicit && i == last {
                        self.end_transaction(true);
                    }
                    self.send_reported_changes();
                }
                Err(e) => {
                    if e.severity >= Severity::Fatal && e.severity != Severity::Log {
                        self.fatal_with_statement(e, &stmt.text);
                    }
                    if e.sqlstate == sqlstate::DEADLOCK_DETECTED {
                        crate::utils::pgstat::count_deadlock();
                    }
                    self.send_error(&e, Some(&stmt.text));
                    match self.xact {
                        Xact::Implicit => self.end_transaction(false),
                        Xact::Block => self.fail_block(),
                        _ => {}
                    }
                    self.send_reported_changes();
                    return;
                }
            }
            if self.conn.maybe_flush().is_err() {
                self.client_lost();
            }
        }
    }

    /// Ends the transaction: COMMIT records it (flushing WAL unless
    /// `synchronous_commit = off`), anything else rolls it back.
    fn end_transaction(&mut self, commit: bool) {
        // A failed block was rolled back already (fail_block) unless a
        // savepoint kept it open; COMMIT of it is a rollback.
        let storage_open = self.txn.state.in_transaction();
        let commit = commit && self.xact != Xact::Failed;
        if storage_open {
            if commit {
                let synchronous = self.env.settings.get_str("synchronous_commit") != "off";
                self.txn.commit(synchronous);
            } else {
                self.txn.abort();
            }
        }
        self.env.settings.at_transaction_end(commit);
        self.refresh_current_roles();
        self.xact = Xact::None;
        self.portals.clear();
        self.slot.update_status(|st| st.xact_start = 0);
        // A failed block ends as a rollback even when COMMIT was typed.
        crate::utils::pgstat::end_transaction(commit && storage_open);
    }

    /// ROLLBACK TO SAVEPOINT makes a failed block usable again.
    pub(super) fn recover_from_failed_block(&mut self) {
        if self.xact == Xact::Failed {
            self.xact = Xact::Block;
        }
    }

    /// `default_transaction_isolation`; SERIALIZABLE runs as REPEATABLE READ.
    fn default_isolation(&self) -> super::txn::Isolation {
        isolation_from(&self.env.settings.get_str("default_transaction_isolation"))
    }

    /// `transaction_isolation` as `BEGIN ISOLATION LEVEL` / `SET TRANSACTION`
    /// left it, read until the transaction's first snapshot.
    fn current_isolation(&self) -> super::txn::Isolation {
        isolation_from(&self.env.settings.get_str("transaction_isolation"))
    }

    /// Rolls back whatever is open before the process exits, so that locks
    /// and the process-array entry do not outlive the session.
    fn end_session(&mut self) {
        crate::backup::abort_session_backup();
        if self.txn.state.in_transaction() {
            self.txn.abort();
        }
        let in_transaction = self.xact != Xact::None;
        self.xact = Xact::None;
        crate::utils::pgstat::end_session(in_transaction, self.session_start.elapsed());
    }

    /// An error inside BEGIN ... COMMIT. Without a savepoint to return to,
    /// the transaction is over: its locks are released now (PostgreSQL's
    /// AbortCurrentTransaction) and only ROLLBACK/COMMIT are accepted until
    /// the block ends. With savepoints, ROLLBACK TO can still recover it.
    fn fail_block(&mut self) {
        if !self.txn.has_savepoints() && self.txn.state.in_transaction() {
            self.txn.abort();
        }
        self.xact = Xact::Failed;
    }

    /// Sends ParameterStatus for GUC_REPORT settings that changed; a new
    /// `application_name` also goes to pg_stat_activity and the log prefix.
    fn send_reported_changes(&mut self) {
        // assign_client_encoding: convert for the current setting from the
        // next statement on, whether or not the change is reported yet (the
        // check hook lets only encodings with a conversion in).
        crate::utils::mb::set_client_encoding_name(&self.env.settings.get_str("client_encoding"));
        for (name, value) in self.env.settings.take_reported_changes() {
            if name == "application_name" {
                self.slot
                    .update_status(|st| procarray::put_str(&mut st.application_name, &value));
                elog::update_log_context(|c| c.application_name = value.clone());
            }
            self.conn
                .send(b'S', &Body::new().cstr(&name).text(&value).0);
        }
    }

    /// Sends a statement's result. Column names and values are converted
    /// to the client encoding; one that cannot be is the statement's error
    /// (22P05), possibly after some rows were sent, as in PostgreSQL.
    fn send_outcome(&mut self, outcome: Outcome) -> PgResult<()> {
        match outcome {
            Outcome::Rows { fields, rows, tag } => {
                self.send_row_description(Some(&fields), &[])?;
                for row in rows {
                    self.send_data_row(&row)?;
                }
                self.conn.send(b'C', &Body::new().cstr(&tag).0);
            }
            Outcome::Command { tag } => self.conn.send(b'C', &Body::new().cstr(&tag).0),
            Outcome::Empty => self.conn.send(b'I', &[]),
        }
        Ok(())
    }

    /// One DataRow in text format, flushed when the output buffer is full.
    fn send_data_row(&mut self, row: &[Option<String>]) -> PgResult<()> {
        let mut b = Body::new().i16(row.len() as i16);
        for v in row {
            b = match v {
                Some(s) => {
                    let s = crate::utils::mb::server_to_client(s)?;
                    b.i32(s.len() as i32).bytes(&s)
                }
                None => b.i32(-1),
            };
        }
        self.conn.send(b'D', &b.0);
        if self.conn.maybe_flush().is_err() {
            self.client_lost();
        }
        Ok(())
    }

    /// Sends an ERROR to the client and, per `log_min_error_statement`, logs it.
    fn send_error(&mut self, err: &PgError, statement: Option<&str>) {
        self.error_sent = true;
        let min_stmt =
            Severity::from_setting(&self.env.settings.get_str("log_min_error_statement"))
                .unwrap_or(Severity::Error);
        elog::log_error(
            err,
            if err.severity >= min_stmt {
                statement
            } else {
                None
            },
        );
        self.conn.send_raw(&crate::protocol::framed_report(err));
    }

    fn fatal(&mut self, err: PgError) -> ! {
        self.end_session();
        self.log_disconnection();
        fatal(&mut self.conn, err, None)
    }

    fn fatal_with_statement(&mut self, err: PgError, statement: &str) -> ! {
        self.end_session();
        self.log_disconnection();
        fatal(&mut self.conn, err, Some(statement))
    }

    fn client_lost(&mut self) -> ! {
        elog::log(Severity::Log, "could not send data to client: Broken pipe");
        elog::log_error(
            &PgError::fatal(sqlstate::CONNECTION_FAILURE, "connection to client lost"),
            None,
        );
        self.end_session();
        self.log_disconnection();
        proc_exit(1)
    }

    fn disconnect(&mut self, code: i32) -> ! {
        self.end_session();
        self.log_disconnection();
        proc_exit(code)
    }

    fn log_disconnection(&self) {
        if !self.env.settings.get_bool("log_disconnections") {
            return;
        }
        let e = self.session_start.elapsed();
        let total_ms = e.as_millis() as u64;
        let (h, m, s, ms) = (
            total_ms / 3_600_000,
            (total_ms / 60_000) % 60,
            (total_ms / 1000) % 60,
            total_ms % 1000,
        );
        let host = self.remote_display.split('(').next().unwrap_or("");
        let port = self
            .remote_display
            .split_once('(')
            .map(|(_, p)| format!(" port={}", p.trim_end_matches(')')))
            .unwrap_or_default();
        elog::log(
            Severity::Log,
            &format!(
                "disconnection: session time: {h}:{m:02}:{s:02}.{ms:03} user={} database={} host={host}{port}",
                self.user, self.database
            ),
        );
    }

    /// Rows of `pg_stat_activity`, read from the process array.
    /// `pg_stat_ssl`: one row per client backend, from the TLS facts each
    /// backend copied into its slot after the handshake. As in PostgreSQL,
    /// a role sees the details of its own sessions only (superusers all).
    fn pg_stat_ssl(&self) -> VirtualRelation {
        let columns: Vec<(String, Type)> = [
            ("pid", Type::Int4),
            ("ssl", Type::Bool),
            ("version", Type::Text),
            ("cipher", Type::Text),
            ("bits", Type::Int4),
            ("client_dn", Type::Text),
            ("client_serial", Type::Numeric),
            ("issuer_dn", Type::Text),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
        let text_or_null = |b: &[u8]| {
            let s = procarray::get_str(b);
            if s.is_empty() {
                Datum::Null
            } else {
                Datum::Text(s)
            }
        };
        let mut rows = Vec::new();
        for slot in crate::storage::shmem::get().procarray().slots() {
            let pid = slot.pid.load(Ordering::Acquire);
            if pid == 0 || slot.kind() != Some(ProcessKind::Backend) {
                continue;
            }
            let Some(st) = slot.read_status() else {
                continue;
            };
            if st.backend_start == 0 {
                continue;
            }
            let own_role = slot.role_oid.load(Ordering::Relaxed) == self.current.oid;
            if !(self.current.superuser || own_role) {
                rows.push(vec![
                    Datum::Int4(pid),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]);
                continue;
            }
            if st.ssl == 0 {
                let mut row = vec![Datum::Int4(pid), Datum::Bool(false)];
                row.extend(std::iter::repeat_n(Datum::Null, 6));
                rows.push(row);
                continue;
            }
            let serial = procarray::get_str(&st.ssl_client_serial);
            rows.push(vec![
                Datum::Int4(pid),
                Datum::Bool(true),
                text_or_null(&st.ssl_version),
                text_or_null(&st.ssl_cipher),
                Datum::Int4(st.ssl_bits),
                text_or_null(&st.ssl_client_dn),
                match crate::sql::adt::numeric::Numeric::parse(&serial) {
                    Ok(n) if !serial.is_empty() => Datum::Numeric(n),
                    _ => Datum::Null,
                },
                text_or_null(&st.ssl_issuer_dn),
            ]);
        }
        VirtualRelation { columns, rows }
    }

    fn pg_stat_activity(&self) -> VirtualRelation {
        let columns: Vec<(String, Type)> = [
            ("datid", Type::Oid),
            ("datname", Type::Name),
            ("pid", Type::Int4),
            ("leader_pid", Type::Int4),
            ("usesysid", Type::Oid),
            ("usename", Type::Name),
            ("application_name", Type::Text),
            ("client_addr", Type::Inet),
            ("client_hostname", Type::Text),
            ("client_port", Type::Int4),
            ("backend_start", Type::Timestamptz),
            ("xact_start", Type::Timestamptz),
            ("query_start", Type::Timestamptz),
            ("state_change", Type::Timestamptz),
            ("wait_event_type", Type::Text),
            ("wait_event", Type::Text),
            ("state", Type::Text),
            ("backend_xid", Type::Xid),
            ("backend_xmin", Type::Xid),
            ("query_id", Type::Int8),
            ("query", Type::Text),
            ("backend_type", Type::Text),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
        let mut rows = Vec::new();
        let ts = |v: i64| {
            if v == 0 {
                Datum::Null
            } else {
                Datum::Timestamptz(v)
            }
        };
        let text_or_null = |s: String| {
            if s.is_empty() {
                Datum::Null
            } else {
                Datum::Text(s)
            }
        };
        for slot in crate::storage::shmem::get().procarray().slots() {
            let pid = slot.pid.load(Ordering::Acquire);
            if pid == 0 {
                continue;
            }
            let Some(kind) = slot.kind() else { continue };
            let Some(st) = slot.read_status() else {
                continue;
            };
            let Some(backend_type) = kind.info().backend_type else {
                continue;
            };
            let is_client = kind == ProcessKind::Backend;
            // A backend that has claimed its slot but not yet filled it in.
            if is_client && st.backend_start == 0 {
                continue;
            }
            let own_role = slot.role_oid.load(Ordering::Relaxed) == self.current.oid;
            let visible = self.current.superuser || own_role;
            let backend_start = if is_client {
                st.backend_start
            } else {
                slot.backend_start.load(Ordering::Relaxed)
            };
            let client_addr = procarray::get_str(&st.client_addr);
            rows.push(vec![
                if is_client {
                    Datum::Oid(st.datid)
                } else {
                    Datum::Null
                },
                if is_client {
                    text_or_null(procarray::get_str(&st.datname))
                } else {
                    Datum::Null
                },
                Datum::Int4(pid),
                Datum::Null,
                if is_client {
                    Datum::Oid(st.usesysid)
                } else {
                    Datum::Null
                },
                if is_client {
                    text_or_null(procarray::get_str(&st.usename))
                } else {
                    Datum::Null
                },
                Datum::Text(procarray::get_str(&st.application_name)),
                if !is_client || client_addr.is_empty() {
                    Datum::Null
                } else {
                    Datum::Text(client_addr)
                },
                Datum::Null,
                if is_client {
                    Datum::Int4(st.client_port)
                } else {
                    Datum::Null
                },
                ts(backend_start),
                if visible {
                    ts(st.xact_start)
                } else {
                    Datum::Null
                },
                if visible {
                    ts(st.query_start)
                } else {
                    Datum::Null
                },
                if visible {
                    ts(st.state_change)
                } else {
                    Datum::Null
                },
                Datum::Null,
                Datum::Null,
                match st.backend_state().as_str() {
                    Some(s) if visible => Datum::Text(s.to_string()),
                    _ => Datum::Null,
                },
                // xid columns show the 32-bit xid, as PostgreSQL's `xid` type
                // does; txid_current() returns the full 64-bit value.
                xid_datum(slot.xid.load(Ordering::Acquire)),
                xid_datum(slot.xmin.load(Ordering::Acquire)),
                Datum::Null,
                if visible {
                    Datum::Text(procarray::get_str(&st.query))
                } else {
                    Datum::Text("<insufficient privilege>".into())
                },
                Datum::Text(backend_type.to_string()),
            ]);
        }
        VirtualRelation { columns, rows }
    }
}

impl ServerContext for Session {
    fn backend_pid(&self) -> i32 {
        std::process::id() as i32
    }
    fn current_user(&self) -> &str {
        &self.current.user
    }
    fn session_user(&self) -> &str {
        &self.current.session_user
    }
    fn current_database(&self) -> &str {
        &self.database
    }
    fn is_superuser(&self) -> bool {
        self.current.superuser
    }

    /// PostgreSQL's `check_role` / `check_session_authorization` hooks.
    fn check_role_setting(&mut self, name: &str, value: &str) -> PgResult<()> {
        let is_role = name.eq_ignore_ascii_case("role");
        if is_role && value.eq_ignore_ascii_case("none") {
            return Ok(());
        }
        self.roles = auth::roles::load_roles(&self.env.data_dir).unwrap_or_default();
        publish_roles(&self.roles);
        if auth::roles::find_role(&self.roles, value).is_none() {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("role \"{value}\" does not exist"),
            ));
        }
        // Without role membership, a non-superuser may only be herself.
        let (allowed, what) = if is_role {
            (
                self.current.session_superuser || value == self.current.session_user,
                "role",
            )
        } else {
            (
                self.is_superuser || value == self.user,
                "session authorization",
            )
        };
        if !allowed {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied to set {what} \"{value}\""),
            ));
        }
        Ok(())
    }
    fn transaction_timestamp(&self) -> TimestampTz {
        self.xact_start
    }
    fn statement_timestamp(&self) -> TimestampTz {
        self.stmt_start
    }
    fn postmaster_start_time(&self) -> TimestampTz {
        self.env.start_time
    }
    fn settings(&mut self) -> &mut Settings {
        &mut self.env.settings
    }

    fn alter_system(&mut self, name: &str, value: Option<&str>) -> PgResult<()> {
        self.env
            .settings
            .alter_system(&self.env.data_dir, name, value)
    }

    fn deallocate(&mut self, name: Option<&str>) -> PgResult<()> {
        match name {
            None => self.prepared.clear(),
            Some(n) => {
                if self.prepared.remove(n).is_none() {
                    return Err(PgError::error(
                        sqlstate::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{n}\" does not exist"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn reload_conf(&mut self) -> PgResult<bool> {
        match nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.env.postmaster_pid),
            nix::sys::signal::Signal::SIGHUP,
        ) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.notice(PgError::warning(format!(
                    "failed to send signal to postmaster: {e}"
                )));
                Ok(false)
            }
        }
    }

    fn check_for_interrupts(&mut self) -> PgResult<()> {
        check_interrupts()
    }

    fn sleep(&mut self, seconds: f64) -> PgResult<()> {
        if !(seconds > 0.0) {
            return self.check_for_interrupts();
        }
        let deadline = Instant::now() + Duration::from_secs_f64(seconds.min(1e9));
        loop {
            self.check_for_interrupts()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let wait_ms = (deadline - now).as_millis().clamp(1, 1000) as i32;
            let mut fds = [
                libc::pollfd {
                    fd: self.conn.socket.fd(),
                    events: libc::POLLRDHUP,
                    revents: 0,
                },
                libc::pollfd {
                    fd: signals::self_pipe_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: poll over a local array of valid pollfds.
            unsafe { libc::poll(fds.as_mut_ptr(), 2, wait_ms) };
            if fds[1].revents != 0 {
                signals::drain_self_pipe();
            }
            if fds[0].revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0 {
                // The client went away while we slept.
                elog::log_error(
                    &PgError::fatal(sqlstate::CONNECTION_FAILURE, "connection to client lost"),
                    None,
                );
                self.end_session();
                self.log_disconnection();
                proc_exit(1);
            }
        }
    }

    fn signal_backend(&mut self, pid: i32, terminate: bool) -> PgResult<bool> {
        let procarray = crate::storage::shmem::get().procarray();
        let target = procarray.find(pid).filter(|s| {
            matches!(
                s.kind(),
                Some(
                    ProcessKind::Backend
                        | ProcessKind::AutovacLauncher
                        | ProcessKind::AutovacWorker
                        | ProcessKind::LogicalRepLauncher
                        | ProcessKind::ParallelWorker
                )
            )
        });
        let Some(target) = target else {
            self.notice(PgError::warning(format!(
                "PID {pid} is not a PostgreSQL backend process"
            )));
            return Ok(false);
        };
        let target_role = target.role_oid.load(Ordering::Relaxed);
        let target_super = target.is_superuser.load(Ordering::Relaxed) != 0 || target_role == 0;
        if !self.current.superuser {
            if target_super {
                let msg = if terminate {
                    "must be a superuser to terminate superuser process"
                } else {
                    "must be a superuser to cancel superuser query"
                };
                return Err(PgError::error(sqlstate::INSUFFICIENT_PRIVILEGE, msg));
            }
            if target_role != self.current.oid {
                let msg = if terminate {
                    "must be a member of the role whose process is being terminated or member of pg_signal_backend"
                } else {
                    "must be a member of the role whose query is being canceled or member of pg_signal_backend"
                };
                return Err(PgError::error(sqlstate::INSUFFICIENT_PRIVILEGE, msg));
            }
        }
        let sig = if terminate {
            nix::sys::signal::Signal::SIGTERM
        } else {
            nix::sys::signal::Signal::SIGINT
        };
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.notice(PgError::warning(format!(
                    "could not send signal to process {pid}: {e}"
                )));
                Ok(false)
            }
        }
    }

    fn notice(&mut self, notice: PgError) {
        let min = Severity::from_setting(&self.env.settings.get_str("client_min_messages"))
            .unwrap_or(Severity::Notice);
        if notice.severity == Severity::Warning {
            elog::log_error(&notice, None);
        }
        // INFO always reaches the client, whatever client_min_messages says
        // (PostgreSQL's rule: VACUUM VERBOSE, ANALYZE VERBOSE).
        if notice.severity >= min || notice.severity == Severity::Info {
            self.conn.send_raw(&crate::protocol::framed_report(&notice));
        }
    }

    fn system_relation(&mut self, name: &str) -> PgResult<Option<VirtualRelation>> {
        Ok(match name {
            "pg_stat_activity" => Some(self.pg_stat_activity()),
            "pg_stat_ssl" => Some(self.pg_stat_ssl()),
            name if super::views::STAT_VIEWS.contains(&name) => {
                let stats = crate::utils::pgstat::fetch_snapshot(&self.env.data_dir);
                let snapshot = self.txn.snapshot();
                let cx = super::views::StatViewContext {
                    db_oid: crate::utils::pgstat::my_database(),
                    snapshot: &snapshot,
                    stats: &stats,
                    data_checksums: crate::storage::buffer::pool().data_checksums(),
                };
                super::views::stat_view(name, &cx)?
            }
            "pg_stat_wal" => Some(super::views::pg_stat_wal()),
            "pg_stat_progress_vacuum" => {
                let snapshot = self.txn.snapshot();
                let transam = crate::storage::xact::Transam::get();
                let dbs = crate::catalog::vacuum::database_names(&snapshot, &transam)?;
                Some(super::views::pg_stat_progress_vacuum(&dbs))
            }
            "pg_stat_progress_copy" => {
                let snapshot = self.txn.snapshot();
                let transam = crate::storage::xact::Transam::get();
                let dbs = crate::catalog::vacuum::database_names(&snapshot, &transam)?;
                Some(super::views::pg_stat_progress_copy(&dbs))
            }
            "pg_locks" => Some(super::views::pg_locks()),
            "pg_roles" => Some(super::views::pg_roles(&self.roles)),
            "pg_sequences" => Some(self.pg_sequences()?),
            "pg_indexes" => {
                let snapshot = self.txn.snapshot();
                let rows = crate::catalog::index::pg_indexes_rows(
                    self.txn.relcache.db_oid(),
                    &snapshot,
                    &crate::storage::xact::Transam::get(),
                )?;
                Some(VirtualRelation {
                    columns: vec![
                        ("schemaname".into(), Type::Name),
                        ("tablename".into(), Type::Name),
                        ("indexname".into(), Type::Name),
                        ("tablespace".into(), Type::Name),
                        ("indexdef".into(), Type::Text),
                    ],
                    rows: rows
                        .into_iter()
                        .map(|[s, t, i, d]| {
                            vec![
                                Datum::Text(s),
                                Datum::Text(t),
                                Datum::Text(i),
                                Datum::Null,
                                Datum::Text(d),
                            ]
                        })
                        .collect(),
                })
            }
            "pg_control_checkpoint" => {
                Some(super::views::pg_control_checkpoint(&self.env.data_dir)?)
            }
            "pg_ls_waldir" if !self.is_superuser() => {
                return Err(PgError::error(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "permission denied for function pg_ls_waldir",
                ));
            }
            "pg_ls_waldir" => Some(super::views::pg_ls_waldir(&self.env.data_dir)?),
            // `SELECT * FROM pg_backup_stop()`: stops this session's backup
            // (waiting for the archive, the default) when the query is analysed.
            "pg_backup_stop" => {
                use crate::sql::tables::TableContext;
                let (lsn, label, map) = self.backup_stop(true)?;
                Some(VirtualRelation {
                    columns: vec![
                        ("lsn".into(), Type::PgLsn),
                        ("labelfile".into(), Type::Text),
                        ("spcmapfile".into(), Type::Text),
                    ],
                    rows: vec![vec![Datum::Lsn(lsn), Datum::Text(label), Datum::Text(map)]],
                })
            }
            _ => None,
        })
    }

    /// Explicit blocks, and the implicit block of a Query message holding
    /// several statements (PostgreSQL's IsInTransactionBlock rule, which is
    /// what makes `DELETE ...; VACUUM` fail with 25001).
    fn in_transaction_block(&self) -> bool {
        matches!(self.xact, Xact::Block | Xact::Failed)
            || (self.xact == Xact::Implicit && self.multi_statement)
    }

    fn in_subtransaction(&self) -> bool {
        self.txn.has_savepoints()
    }

    fn prepare(
        &mut self,
        name: &str,
        stmt: sql::Statement,
        types: Vec<crate::sql::types::Type>,
    ) -> PgResult<()> {
        self.prepare_sql(name, stmt, types)
    }

    fn prepared_statement(
        &self,
        name: &str,
    ) -> Option<(sql::Statement, Vec<crate::sql::types::Type>)> {
        self.prepared_sql(name)
    }

    fn copy_in_begin(&mut self, binary: bool, ncols: usize) -> PgResult<()> {
        self.conn.send(b'G', &copy_response(binary, ncols));
        if self.conn.flush().is_err() {
            self.client_lost();
        }
        Ok(())
    }

    fn copy_in_next(&mut self) -> PgResult<Option<Vec<u8>>> {
        let bits = signals::SIGTERM_PENDING
            | signals::SIGINT_PENDING
            | signals::POSTMASTER_DEATH_PENDING
            | signals::TIMEOUT_PENDING;
        loop {
            match self.conn.read_message(bits, None) {
                Ok((b'd', data)) => return Ok(Some(data)),
                Ok((b'c', _)) => return Ok(None),
                Ok((b'f', body)) => {
                    let mut pos = 0;
                    let msg = crate::protocol::get_cstr_bytes(&body, &mut pos)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default();
                    return Err(PgError::error(
                        sqlstate::QUERY_CANCELED,
                        format!("COPY from stdin failed: {msg}"),
                    ));
                }
                // The protocol lets Flush and Sync through during COPY IN.
                Ok((b'H' | b'S', _)) => {}
                Ok((kind, _)) => {
                    return Err(PgError::error(
                        sqlstate::PROTOCOL_VIOLATION,
                        format!("unexpected message type 0x{kind:02X} during COPY from stdin"),
                    ));
                }
                Err(ReadError::Interrupted) => {
                    if signals::take(signals::SIGHUP_PENDING) != 0 {
                        self.env.reload_settings();
                    }
                    self.check_for_interrupts()?;
                }
                Err(ReadError::Protocol(e)) => self.fatal(e),
                Err(ReadError::Eof) | Err(ReadError::TimedOut) => {
                    elog::log_error(
                        &PgError::error(
                            sqlstate::CONNECTION_FAILURE,
                            "unexpected EOF on client connection with an open transaction",
                        ),
                        None,
                    );
                    self.disconnect(1)
                }
            }
        }
    }

    fn copy_out_begin(&mut self, binary: bool, ncols: usize) -> PgResult<()> {
        self.conn.send(b'H', &copy_response(binary, ncols));
        Ok(())
    }

    fn copy_out_data(&mut self, data: &[u8]) -> PgResult<()> {
        self.conn.send(b'd', data);
        if self.conn.maybe_flush().is_err() {
            self.client_lost();
        }
        Ok(())
    }

    fn copy_out_end(&mut self) -> PgResult<()> {
        self.conn.send(b'c', &[]);
        Ok(())
    }

    fn begin_rows(&mut self, fields: &[sql::Field]) -> PgResult<bool> {
        if !std::mem::take(&mut self.stream_rows) {
            return Ok(false);
        }
        self.send_row_description(Some(fields), &[])?;
        Ok(true)
    }

    fn send_row(&mut self, row: &[Option<String>]) -> PgResult<()> {
        self.send_data_row(row)
    }

    fn transaction(&mut self, request: TransactionRequest) -> PgResult<String> {
        Ok(match request {
            TransactionRequest::Begin => {
                match self.xact {
                    Xact::Implicit => self.xact = Xact::Block,
                    _ => self.notice(PgError::new(
                        Severity::Warning,
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "there is already a transaction in progress",
                    )),
                }
                "BEGIN".to_string()
            }
            TransactionRequest::Commit => match self.xact {
                Xact::Block => {
                    self.end_transaction(true);
                    "COMMIT".to_string()
                }
                Xact::Failed => {
                    self.end_transaction(false);
                    "ROLLBACK".to_string()
                }
                _ => {
                    self.notice(PgError::new(
                        Severity::Warning,
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    ));
                    "COMMIT".to_string()
                }
            },
            TransactionRequest::Rollback => {
                match self.xact {
                    Xact::Block | Xact::Failed => self.end_transaction(false),
                    _ => self.notice(PgError::new(
                        Severity::Warning,
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    )),
                }
                "ROLLBACK".to_string()
            }
        })
    }
}

/// The statement the process array shows for this backend.
/// CopyInResponse / CopyOutResponse's body: the overall format, then one
/// format code per column (all the same, as PostgreSQL sends them).
fn copy_response(binary: bool, ncols: usize) -> Vec<u8> {
    let format = i16::from(binary);
    let mut b = Body::new().u8(format as u8).i16(ncols as i16);
    for _ in 0..ncols {
        b = b.i16(format);
    }
    b.0
}

fn procarray_query(slot: &ProcSlot) -> String {
    slot.read_status()
        .map(|st| procarray::get_str(&st.query))
        .unwrap_or_default()
}

/// Tells the catalog lookups of the reg* types which roles exist
/// (`catalog::syscache` rule 3).
fn publish_roles(roles: &[auth::roles::Role]) {
    crate::catalog::syscache::set_roles(roles.iter().map(|r| (r.oid, r.name.clone())).collect());
}
