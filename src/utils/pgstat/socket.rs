//! The collector's socket (PostgreSQL's `pgStatSock`): a pair of
//! non-blocking UDP sockets on 127.0.0.1, created by the postmaster before
//! its first fork and inherited by every child. Everyone sends on one; the
//! collector receives on the other, which is connected to the sender's
//! address so that nothing else can talk to it.
//!
//! UDP rather than a Unix datagram socketpair: Linux queues at most
//! `net.unix.max_dgram_qlen` (often 10) datagrams on the latter, whereas a
//! UDP socket queues up to its receive buffer. A full buffer makes `send`
//! fail with EAGAIN and the message is dropped: statistics are best effort
//! and never block a backend, as in PostgreSQL.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::time::Duration;

use super::msg::Msg;

struct StatSocket {
    send: UdpSocket,
    recv: UdpSocket,
}

static SOCKET: OnceLock<StatSocket> = OnceLock::new();

/// Receive buffer asked for (PostgreSQL's `PGSTAT_MIN_RCVBUF` is 100 kB).
const RCVBUF_BYTES: libc::c_int = 1024 * 1024;

/// Creates the socket pair (postmaster, once, before any fork). On failure
/// the server runs without statistics, as PostgreSQL does.
pub fn init() -> std::io::Result<()> {
    if SOCKET.get().is_some() {
        return Ok(());
    }
    let recv = UdpSocket::bind("127.0.0.1:0")?;
    let send = UdpSocket::bind("127.0.0.1:0")?;
    send.connect(recv.local_addr()?)?;
    recv.connect(send.local_addr()?)?;
    // A test message, as pgstat_init sends one.
    send.send(b"ferrogres stats test")?;
    recv.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut buf = [0u8; 64];
    let n = recv.recv(&mut buf)?;
    if &buf[..n] != b"ferrogres stats test" {
        return Err(std::io::Error::other("test message did not arrive intact"));
    }
    recv.set_nonblocking(true)?;
    send.set_nonblocking(true)?;
    let size = RCVBUF_BYTES;
    // SAFETY: setsockopt on a socket we own with a valid c_int option value.
    unsafe {
        libc::setsockopt(
            recv.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    let _ = SOCKET.set(StatSocket { send, recv });
    Ok(())
}

/// Whether statistics can be sent at all.
pub fn available() -> bool {
    SOCKET.get().is_some()
}

/// Sends one message without blocking; drops it when the socket is full or
/// missing (PostgreSQL's `pgstat_send`).
pub fn send(msg: &Msg) {
    if let Some(s) = SOCKET.get() {
        let _ = s.send.send(&msg.encode());
    }
}

/// The collector's end, for `poll` and [`recv`].
pub fn recv_fd() -> Option<i32> {
    SOCKET.get().map(|s| s.recv.as_raw_fd())
}

/// The next datagram, if one is queued (non-blocking).
pub fn recv(buf: &mut [u8]) -> Option<usize> {
    let s = SOCKET.get()?;
    loop {
        match s.recv.recv(buf) {
            Ok(n) => return Some(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}

/// Throws away whatever is queued (the postmaster after a crash: messages
/// from processes of the failed generation must not reach the new
/// collector, whose statistics start from zero).
pub fn discard_queued() {
    let mut buf = [0u8; super::msg::MAX_MSG_BYTES];
    // Bounded: the queue holds at most the receive buffer.
    for _ in 0..100_000 {
        if recv(&mut buf).is_none() {
            break;
        }
    }
}
