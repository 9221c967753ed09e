//! The postmaster's listening sockets: TCP on `listen_addresses`:`port`
//! and the Unix socket `.s.PGSQL.PORT` in each `unix_socket_directories`
//! entry, with its `.lock` file as PostgreSQL keeps it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::utils::elog::{self, PgError, PgResult, Severity, sqlstate};

pub enum Listener {
    Tcp(TcpListener),
    Unix {
        listener: UnixListener,
        path: PathBuf,
        lock_path: PathBuf,
    },
}

impl Listener {
    pub fn fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix { listener, .. } => listener.as_raw_fd(),
        }
    }
}

fn addresses(listen_addresses: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for item in listen_addresses
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match item {
            "*" => {
                out.push(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                out.push(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
            }
            "localhost" => {
                out.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
                out.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
            }
            other => match other.parse::<IpAddr>() {
                Ok(a) => out.push(a),
                Err(_) => elog::log(
                    Severity::Warning,
                    &format!("could not translate host name \"{other}\" to address"),
                ),
            },
        }
    }
    out
}

/// `unix_socket_group` and `unix_socket_permissions` on a new socket file.
fn set_socket_owner_and_mode(path: &Path, mode: u32, group: &str) -> PgResult<()> {
    if !group.is_empty() {
        let gid = match group.parse::<u32>() {
            Ok(n) => nix::unistd::Gid::from_raw(n),
            Err(_) => match nix::unistd::Group::from_name(group) {
                Ok(Some(g)) => g.gid,
                _ => {
                    return Err(PgError::fatal(
                        sqlstate::CONFIG_FILE_ERROR,
                        format!("group \"{group}\" does not exist"),
                    ));
                }
            },
        };
        nix::unistd::chown(path, None, Some(gid)).map_err(|e| {
            PgError::fatal(
                sqlstate::IO_ERROR,
                format!(
                    "could not set group of file \"{}\": {}",
                    path.display(),
                    e.desc()
                ),
            )
        })?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        PgError::fatal(
            sqlstate::IO_ERROR,
            format!(
                "could not set permissions of file \"{}\": {e}",
                path.display()
            ),
        )
    })
}

/// Opens every listening socket; FATAL if none could be opened while some were asked for.
/// Each Unix socket gets `socket_permissions` and, when `socket_group` is
/// not empty, that group (a name or a number), as `Setup_AF_UNIX` does.
pub fn open(
    listen_addresses: &str,
    port: u16,
    socket_dirs: &str,
    socket_permissions: u32,
    socket_group: &str,
) -> PgResult<Vec<Listener>> {
    let mut listeners = Vec::new();
    let addrs = addresses(listen_addresses);
    let wanted_tcp = !addrs.is_empty();
    for addr in addrs {
        let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
        match TcpListener::bind(SocketAddr::new(addr, port)) {
            Ok(l) => {
                l.set_nonblocking(true)
                    .map_err(|e| PgError::fatal(sqlstate::IO_ERROR, e.to_string()))?;
                elog::log(
                    Severity::Log,
                    &format!("listening on {family} address \"{addr}\", port {port}"),
                );
                listeners.push(Listener::Tcp(l));
            }
            Err(e) => {
                // '*' binds both families; on dual-stack hosts the IPv6 bind
                // may collide with the IPv4 one, as PostgreSQL also tolerates.
                elog::log(
                    Severity::Log,
                    &format!("could not bind {family} address \"{addr}\": {e}"),
                );
                if e.kind() == std::io::ErrorKind::AddrInUse && addr.is_ipv4() {
                    return Err(PgError::fatal(sqlstate::IO_ERROR, format!("could not bind {family} address \"{addr}\": {e}"))
                        .with_hint(format!("Is another postmaster already running on port {port}? If not, wait a few seconds and retry.")));
                }
            }
        }
    }
    if wanted_tcp && listeners.is_empty() {
        return Err(PgError::fatal(
            sqlstate::IO_ERROR,
            "could not create any TCP/IP sockets",
        ));
    }
    for dir in socket_dirs
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let path = PathBuf::from(dir).join(format!(".s.PGSQL.{port}"));
        let lock_path = PathBuf::from(dir).join(format!(".s.PGSQL.{port}.lock"));
        if let Some(pid) = std::fs::read_to_string(&lock_path)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
        {
            if pid != std::process::id() as i32 && super::pidfile::is_live_ferrogres(pid) {
                return Err(PgError::fatal(
                    sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("lock file \"{}\" already exists", lock_path.display()),
                )
                .with_hint(format!(
                    "Is another postmaster (PID {pid}) using socket file \"{}\"?",
                    path.display()
                )));
            }
        }
        let _ = std::fs::remove_file(&path);
        std::fs::write(&lock_path, format!("{}\n", std::process::id())).map_err(|e| {
            PgError::fatal(
                sqlstate::IO_ERROR,
                format!(
                    "could not create lock file \"{}\": {e}",
                    lock_path.display()
                ),
            )
        })?;
        let listener = UnixListener::bind(&path).map_err(|e| {
            PgError::fatal(
                sqlstate::IO_ERROR,
                format!("could not bind Unix address \"{}\": {e}", path.display()),
            )
        })?;
        set_socket_owner_and_mode(&path, socket_permissions, socket_group)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| PgError::fatal(sqlstate::IO_ERROR, e.to_string()))?;
        elog::log(
            Severity::Log,
            &format!("listening on Unix socket \"{}\"", path.display()),
        );
        listeners.push(Listener::Unix {
            listener,
            path,
            lock_path,
        });
    }
    if listeners.is_empty() {
        return Err(PgError::fatal(
            sqlstate::IO_ERROR,
            "no socket created for listening",
        ));
    }
    Ok(listeners)
}

/// Removes socket files and their lock files (at postmaster exit).
pub fn remove_files(listeners: &[Listener]) {
    for l in listeners {
        if let Listener::Unix {
            path, lock_path, ..
        } = l
        {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(lock_path);
        }
    }
}
