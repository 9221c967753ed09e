//! The PostgreSQL v3 wire protocol, backend side (PostgreSQL's `pqcomm.c`,
//! `pqformat.c` and the message-level parts of `postgres.c`).
//!
//! ferrogres keeps its own small codec here rather than the `pgwire` crate
//! named in DESIGN.md §6: the backend loop is blocking and must (a) check
//! a message's length against PostgreSQL's limits *before* allocating for
//! it, (b) read the startup packet, SSLRequest, GSSENCRequest and
//! CancelRequest in their own framing, and (c) wait for input and for
//! interrupts (the self-pipe) in one `poll`. The whole codec is this file.
//!
//! Reading is buffered; writing is buffered and flushed before the backend
//! waits for the client (ReadyForQuery) or when the buffer grows large.
//!
//! The socket is one type, [`Socket`], plain (TCP or Unix) or TLS
//! ([`tls`]): after an SSLRequest the backend upgrades it in place with
//! [`Connection::start_tls`] and everything above reads and writes as before.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use crate::utils::elog::{PgError, Severity, sqlstate};

pub mod tls;

/// Largest startup packet PostgreSQL accepts (`MAX_STARTUP_PACKET_LENGTH`).
pub const MAX_STARTUP_PACKET_LENGTH: usize = 10_000;
/// Limit for messages that may be large (Query, Parse, Bind, CopyData...).
pub const LARGE_MESSAGE_LIMIT: usize = (1 << 30) - 1;
/// The smallest and largest single read into the receive buffer: the
/// buffer grows by at most `READ_CHUNK_MAX` beyond the bytes received.
const READ_CHUNK_MIN: usize = 8192;
const READ_CHUNK_MAX: usize = 256 << 10;
/// Limit for every other message (`PQ_SMALL_MESSAGE_LIMIT`).
pub const SMALL_MESSAGE_LIMIT: usize = 10_000;

pub const PROTOCOL_V3: u32 = 3 << 16;
pub const CANCEL_REQUEST_CODE: u32 = (1234 << 16) | 5678;
pub const SSL_REQUEST_CODE: u32 = (1234 << 16) | 5679;
pub const GSSENC_REQUEST_CODE: u32 = (1234 << 16) | 5680;

/// The first packet of a connection.
#[derive(Debug, PartialEq)]
pub enum StartupPacket {
    SslRequest,
    GssEncRequest,
    Cancel {
        pid: i32,
        key: i32,
    },
    Startup {
        version: u32,
        params: Vec<(String, String)>,
    },
}

/// A client socket: plain TCP, Unix-domain, or TLS over TCP.
pub enum Socket {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
    Tls(Box<tls::TlsStream>),
    /// Only while [`Connection::start_tls`] swaps the TCP stream for TLS.
    Closed,
}

impl Socket {
    pub fn fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
            Socket::Tls(s) => s.fd(),
            Socket::Closed => -1,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Socket::Tls(_))
    }

    /// Input that arrived already and that a `poll` on the socket would not
    /// show (plaintext rustls decrypted with an earlier record).
    fn has_pending_input(&mut self) -> bool {
        match self {
            Socket::Tls(s) => s.has_pending_plaintext(),
            _ => false,
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
            Socket::Tls(s) => s.read(buf),
            Socket::Closed => Ok(0),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
            Socket::Tls(s) => s.write(buf),
            Socket::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

/// Waits until `fd` is readable, or the self-pipe says a signal arrived (and
/// `wake_bits` are pending), or the deadline passes.
pub(crate) fn poll_readable(
    fd: RawFd,
    wake_bits: u32,
    deadline: Option<std::time::Instant>,
) -> Result<(), ReadError> {
    loop {
        if crate::process::signals::peek(wake_bits) != 0 {
            return Err(ReadError::Interrupted);
        }
        let timeout_ms = match deadline {
            Some(d) => {
                let now = std::time::Instant::now();
                if now >= d {
                    return Err(ReadError::TimedOut);
                }
                (d - now).as_millis().min(i32::MAX as u128) as i32
            }
            None => -1,
        };
        let mut fds = [
            libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: crate::process::signals::self_pipe_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let nfds = if fds[1].fd >= 0 { 2 } else { 1 };
        // SAFETY: poll on a local array of valid pollfd structs.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(ReadError::Eof);
        }
        if nfds == 2 && fds[1].revents != 0 {
            crate::process::signals::drain_self_pipe();
        }
        // Interrupts come before input: a terminated session must not run
        // the statement that arrived with the signal. The flags are read
        // after poll, because a signal delivered while poll returns runs
        // its handler after `revents` were filled in (the self-pipe then
        // looks empty although the flag is set).
        if crate::process::signals::peek(wake_bits) != 0 {
            return Err(ReadError::Interrupted);
        }
        if fds[0].revents != 0 {
            return Ok(());
        }
    }
}

/// Why reading from the client stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection (or it broke).
    Eof,
    /// The wait was interrupted by a signal bit the caller must handle.
    Interrupted,
    /// A timeout passed (authentication_timeout).
    TimedOut,
    /// A protocol violation: the caller sends it as FATAL and exits.
    Protocol(PgError),
}

/// A client connection: socket plus buffers.
pub struct Connection {
    pub socket: Socket,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
}

impl Connection {
    pub fn new(socket: Socket) -> Connection {
        Connection {
            socket,
            rbuf: Vec::with_capacity(8192),
            rpos: 0,
            wbuf: Vec::with_capacity(8192),
        }
    }

    fn buffered(&self) -> usize {
        self.rbuf.len() - self.rpos
    }

    /// Waits until the socket has input (see [`poll_readable`]).
    fn wait_readable(
        &mut self,
        wake_bits: u32,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), ReadError> {
        if crate::process::signals::peek(wake_bits) != 0 {
            return Err(ReadError::Interrupted);
        }
        if self.socket.has_pending_input() {
            return Ok(());
        }
        poll_readable(self.socket.fd(), wake_bits, deadline)
    }

    /// Ensures at least `n` bytes are buffered.
    fn fill(
        &mut self,
        n: usize,
        wake_bits: u32,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), ReadError> {
        if self.rpos > 0 && self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
        while self.buffered() < n {
            self.wait_readable(wake_bits, deadline)?;
            if self.rpos > 0 {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            // Grow with what arrives, not with what a header claims: a
            // length word promising a gigabyte must not allocate one.
            let old = self.rbuf.len();
            let want = (n - self.buffered()).clamp(READ_CHUNK_MIN, READ_CHUNK_MAX);
            self.rbuf.resize(old + want, 0);
            match self.socket.read(&mut self.rbuf[old..]) {
                Ok(0) => {
                    self.rbuf.truncate(old);
                    return Err(ReadError::Eof);
                }
                Ok(k) => self.rbuf.truncate(old + k),
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        || e.kind() == io::ErrorKind::WouldBlock =>
                {
                    self.rbuf.truncate(old);
                }
                Err(_) => {
                    self.rbuf.truncate(old);
                    return Err(ReadError::Eof);
                }
            }
        }
        Ok(())
    }

    /// Bytes received and not yet consumed (PostgreSQL's
    /// `pq_buffer_remaining_data()`).
    pub fn buffered_input(&self) -> usize {
        self.buffered()
    }

    /// Runs the TLS handshake on this connection's TCP socket and, once it
    /// succeeded, reads and writes through TLS. The caller has made sure no
    /// plaintext is buffered. On error the connection is unusable.
    pub fn start_tls(
        &mut self,
        config: &tls::TlsConfig,
        wake_bits: u32,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), ReadError> {
        assert_eq!(
            self.buffered(),
            0,
            "plaintext received before the handshake must have been refused"
        );
        assert!(self.wbuf.is_empty(), "the 'S' answer must be flushed first");
        let tcp = match std::mem::replace(&mut self.socket, Socket::Closed) {
            Socket::Tcp(t) => t,
            other => {
                self.socket = other;
                panic!("TLS is only negotiated on TCP connections");
            }
        };
        let stream = tls::accept(tcp, config, wake_bits, deadline)?;
        self.socket = Socket::Tls(Box::new(stream));
        Ok(())
    }

    /// The TLS stream, once [`Connection::start_tls`] succeeded.
    pub fn tls(&self) -> Option<&tls::TlsStream> {
        match &self.socket {
            Socket::Tls(s) => Some(s),
            _ => None,
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let v = self.rbuf[self.rpos..self.rpos + n].to_vec();
        self.rpos += n;
        v
    }

    /// Reads the startup packet (or SSL/GSS/cancel request).
    pub fn read_startup_packet(
        &mut self,
        wake_bits: u32,
        deadline: Option<std::time::Instant>,
    ) -> Result<StartupPacket, ReadError> {
        self.fill(4, wake_bits, deadline)?;
        let len = u32::from_be_bytes(
            self.rbuf[self.rpos..self.rpos + 4]
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        if !(8..=MAX_STARTUP_PACKET_LENGTH).contains(&len) {
            return Err(ReadError::Protocol(PgError::fatal(
                sqlstate::PROTOCOL_VIOLATION,
                "invalid length of startup packet",
            )));
        }
        self.fill(len, wake_bits, deadline)?;
        let packet = self.take(len);
        let code = u32::from_be_bytes(packet[4..8].try_into().expect("4 bytes"));
        let body = &packet[8..];
        match code {
            SSL_REQUEST_CODE => Ok(StartupPacket::SslRequest),
            GSSENC_REQUEST_CODE => Ok(StartupPacket::GssEncRequest),
            CANCEL_REQUEST_CODE => {
                if body.len() != 8 {
                    return Err(ReadError::Protocol(PgError::fatal(
                        sqlstate::PROTOCOL_VIOLATION,
                        "invalid length of startup packet",
                    )));
                }
                let pid = i32::from_be_bytes(body[0..4].try_into().expect("4 bytes"));
                let key = i32::from_be_bytes(body[4..8].try_into().expect("4 bytes"));
                Ok(StartupPacket::Cancel { pid, key })
            }
            version => {
                if version >> 16 != 3 {
                    return Err(ReadError::Protocol(PgError::fatal(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
                            version >> 16,
                            version & 0xffff
                        ),
                    )));
                }
                let mut params = Vec::new();
                let mut rest = body;
                loop {
                    let Some(nul) = rest.iter().position(|&b| b == 0) else {
                        return Err(ReadError::Protocol(PgError::fatal(
                            sqlstate::PROTOCOL_VIOLATION,
                            "invalid startup packet layout: expected terminator as last byte",
                        )));
                    };
                    if nul == 0 {
                        break;
                    }
                    let name = String::from_utf8_lossy(&rest[..nul]).into_owned();
                    rest = &rest[nul + 1..];
                    let Some(vnul) = rest.iter().position(|&b| b == 0) else {
                        return Err(ReadError::Protocol(PgError::fatal(
                            sqlstate::PROTOCOL_VIOLATION,
                            "invalid startup packet layout: expected terminator as last byte",
                        )));
                    };
                    let value = String::from_utf8_lossy(&rest[..vnul]).into_owned();
                    rest = &rest[vnul + 1..];
                    params.push((name, value));
                }
                Ok(StartupPacket::Startup { version, params })
            }
        }
    }

    /// Reads one typed message: (type byte, body). Lengths are checked
    /// against PostgreSQL's limits before anything is allocated.
    pub fn read_message(
        &mut self,
        wake_bits: u32,
        deadline: Option<std::time::Instant>,
    ) -> Result<(u8, Vec<u8>), ReadError> {
        self.fill(5, wake_bits, deadline)?;
        let kind = self.rbuf[self.rpos];
        let len = u32::from_be_bytes(
            self.rbuf[self.rpos + 1..self.rpos + 5]
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        let limit = match kind {
            b'Q' | b'P' | b'B' | b'd' | b'F' | b'p' => LARGE_MESSAGE_LIMIT,
            b'S' | b'X' | b'H' | b'D' | b'E' | b'C' | b'c' | b'f' => SMALL_MESSAGE_LIMIT,
            _ => {
                return Err(ReadError::Protocol(PgError::fatal(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("invalid frontend message type {kind}"),
                )));
            }
        };
        if len < 4 || len > limit {
            return Err(ReadError::Protocol(PgError::fatal(
                sqlstate::PROTOCOL_VIOLATION,
                "invalid message length",
            )));
        }
        // Read past a non-idle wait only for EOF: once a message started,
        // interrupts are handled after it is complete.
        self.fill(1 + len, 0, deadline)?;
        self.rpos += 5;
        Ok((kind, self.take(len - 4)))
    }

    // ----- writing ---------------------------------------------------------

    /// Appends a framed message to the write buffer.
    pub fn send(&mut self, kind: u8, body: &[u8]) {
        self.wbuf.push(kind);
        self.wbuf
            .extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        self.wbuf.extend_from_slice(body);
    }

    /// Appends raw bytes (the one-byte answer to SSLRequest).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.wbuf.extend_from_slice(bytes);
    }

    /// Writes out the buffer. An error means the client is gone.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let r = self
            .socket
            .write_all(&self.wbuf)
            .and_then(|()| self.socket.flush());
        self.wbuf.clear();
        r
    }

    /// Flushes when the buffer is large (while streaming rows).
    pub fn maybe_flush(&mut self) -> io::Result<()> {
        if self.wbuf.len() >= 64 * 1024 {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Whether the peer has hung up (checked while a query runs).
    pub fn peer_gone(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.socket.fd(),
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: poll with zero timeout on one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
        rc > 0 && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
    }
}

/// Builds message bodies (PostgreSQL's `pq_sendint32` and friends).
#[derive(Default)]
pub struct Body(pub Vec<u8>);

impl Body {
    pub fn new() -> Body {
        Body(Vec::with_capacity(64))
    }
    pub fn i16(mut self, v: i16) -> Body {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i32(mut self, v: i32) -> Body {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u8(mut self, v: u8) -> Body {
        self.0.push(v);
        self
    }
    pub fn cstr(mut self, s: &str) -> Body {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Body {
        self.0.extend_from_slice(b);
        self
    }
    /// A server string as a C string in the client encoding
    /// (`pq_sendstring`). Characters the client encoding lacks become `?`:
    /// callers for which that must be an error convert first with
    /// [`crate::utils::mb::server_to_client`] and use [`Body::bytes`].
    pub fn text(mut self, s: &str) -> Body {
        self.0
            .extend_from_slice(&crate::utils::mb::server_to_client_lossy(s));
        self.0.push(0);
        self
    }
}

/// ErrorResponse ('E') or NoticeResponse ('N') body for a report, its
/// text in the client encoding. A report whose text the client encoding
/// cannot represent is replaced by the report of that (22P05), as in
/// PostgreSQL; the original stays in the server log.
pub fn error_body(err: &PgError) -> Vec<u8> {
    if let Some(e) = crate::utils::mb::unconvertible_report(err) {
        return error_body(&e);
    }
    let sev = err.severity.as_str();
    let mut b = Body::new()
        .u8(b'S')
        .cstr(sev)
        .u8(b'V')
        .cstr(sev)
        .u8(b'C')
        .cstr(err.sqlstate)
        .u8(b'M')
        .text(&err.message);
    if let Some(d) = &err.detail {
        b = b.u8(b'D').text(d);
    }
    if let Some(h) = &err.hint {
        b = b.u8(b'H').text(h);
    }
    if let Some(p) = err.position {
        b = b.u8(b'P').cstr(&p.to_string());
    }
    if let Some(c) = &err.context {
        b = b.u8(b'W').text(c);
    }
    b.u8(0).0
}

/// A complete framed ErrorResponse/NoticeResponse message.
pub fn framed_report(err: &PgError) -> Vec<u8> {
    let body = error_body(err);
    let kind = if err.severity >= Severity::Error && err.severity != Severity::Log {
        b'E'
    } else {
        b'N'
    };
    let mut v = Vec::with_capacity(body.len() + 5);
    v.push(kind);
    v.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    v.extend_from_slice(&body);
    v
}

/// Reads a C string from a message body at `*pos`.
pub fn get_cstr(body: &[u8], pos: &mut usize) -> Option<String> {
    let rest = body.get(*pos..)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    let s = String::from_utf8_lossy(&rest[..nul]).into_owned();
    *pos += nul + 1;
    Some(s)
}

/// Reads a C string's bytes from a message body at `*pos`, unconverted
/// (the caller converts them from the client encoding).
pub fn get_cstr_bytes<'a>(body: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = body.get(*pos..)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    *pos += nul + 1;
    Some(&rest[..nul])
}

/// Reads a big-endian i32 from a message body at `*pos`.
pub fn get_i32(body: &[u8], pos: &mut usize) -> Option<i32> {
    let v = i32::from_be_bytes(body.get(*pos..*pos + 4)?.try_into().ok()?);
    *pos += 4;
    Some(v)
}

/// Reads a big-endian i16 from a message body at `*pos`.
pub fn get_i16(body: &[u8], pos: &mut usize) -> Option<i16> {
    let v = i16::from_be_bytes(body.get(*pos..*pos + 2)?.try_into().ok()?);
    *pos += 2;
    Some(v)
}
