//! `ferrogres basebackup` (PostgreSQL's `pg_basebackup`, plain format,
//! WAL fetched): connects in replication mode, runs `BASE_BACKUP` and
//! unpacks the tar stream into the target directory.
//!
//! Authentication: trust, password and md5 (the password from `PGPASSWORD`).
//! SCRAM is not implemented in this client: use md5 or trust for the
//! replication line of `pg_hba.conf`. Connections are not encrypted.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::tar;

/// What the command line gives.
pub struct Options {
    pub target: PathBuf,
    /// A host name, an address, or a Unix-socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub label: String,
    pub verbose: bool,
}

enum Stream {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

struct Conn {
    s: io::BufReader<Stream>,
}

impl Conn {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.s
            .get_mut()
            .write_all(bytes)
            .map_err(|e| format!("could not send data to server: {e}"))
    }

    fn send(&mut self, kind: u8, body: &[u8]) -> Result<(), String> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        self.write(&m)
    }

    fn read(&mut self) -> Result<(u8, Vec<u8>), String> {
        let lost = |e: io::Error| format!("server closed the connection unexpectedly: {e}");
        let mut head = [0u8; 5];
        self.s.read_exact(&mut head).map_err(lost)?;
        let len = u32::from_be_bytes(head[1..5].try_into().expect("4 bytes")) as usize;
        if len < 4 {
            return Err("invalid message length from server".into());
        }
        let mut body = vec![0u8; len - 4];
        self.s.read_exact(&mut body).map_err(lost)?;
        Ok((head[0], body))
    }
}

/// The message of an ErrorResponse / NoticeResponse: "SEVERITY:  text".
fn report_text(body: &[u8]) -> String {
    let mut sev = String::new();
    let mut msg = String::new();
    let mut detail = String::new();
    for field in body.split(|&b| b == 0) {
        if field.is_empty() {
            continue;
        }
        let v = String::from_utf8_lossy(&field[1..]).into_owned();
        match field[0] {
            b'S' => sev = v,
            b'M' => msg = v,
            b'D' => detail = format!("\nDETAIL:  {v}"),
            _ => {}
        }
    }
    format!("{sev}:  {msg}{detail}")
}

fn connect(opts: &Options) -> Result<Conn, String> {
    let stream = if opts.host.starts_with('/') {
        let path = Path::new(&opts.host).join(format!(".s.PGSQL.{}", opts.port));
        Stream::Unix(std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
            format!(
                "connection to server on socket \"{}\" failed: {e}",
                path.display()
            )
        })?)
    } else {
        Stream::Tcp(
            std::net::TcpStream::connect((opts.host.as_str(), opts.port)).map_err(|e| {
                format!(
                    "connection to server at \"{}\", port {} failed: {e}",
                    opts.host, opts.port
                )
            })?,
        )
    };
    let mut c = Conn {
        s: io::BufReader::with_capacity(256 * 1024, stream),
    };
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for (k, v) in [
        ("user", opts.user.as_str()),
        ("database", "replication"),
        ("replication", "true"),
        ("application_name", "ferrogres basebackup"),
    ] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    c.write(&m)?;
    loop {
        let (kind, body) = c.read()?;
        match kind {
            b'R' => {
                let code = i32::from_be_bytes(body[0..4].try_into().map_err(|_| "bad auth")?);
                match code {
                    0 => {}
                    3 | 5 => {
                        let pw = std::env::var("PGPASSWORD")
                            .map_err(|_| "fe_sendauth: no password supplied".to_string())?;
                        let text = if code == 3 {
                            pw
                        } else {
                            md5_password(&opts.user, &pw, &body[4..8])
                        };
                        let mut b = text.into_bytes();
                        b.push(0);
                        c.send(b'p', &b)?;
                    }
                    other => {
                        return Err(format!(
                            "authentication method {other} not supported by ferrogres basebackup (use trust, password or md5)"
                        ));
                    }
                }
            }
            b'E' => return Err(report_text(&body)),
            b'Z' => return Ok(c),
            _ => {} // ParameterStatus, BackendKeyData, notices
        }
    }
}

fn md5_password(user: &str, password: &str, salt: &[u8]) -> String {
    use md5::{Digest, Md5};
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let inner = hex(&Md5::digest(format!("{password}{user}").as_bytes()));
    let mut h = Md5::new();
    h.update(inner.as_bytes());
    h.update(salt);
    format!("md5{}", hex(&h.finalize()))
}

/// The first column of a one-row result (DataRow body).
fn first_value(body: &[u8]) -> String {
    if body.len() < 6 {
        return String::new();
    }
    let len = i32::from_be_bytes(body[2..6].try_into().expect("4 bytes"));
    if len < 0 {
        return String::new();
    }
    String::from_utf8_lossy(&body[6..6 + len as usize]).into_owned()
}

/// Checks the target directory: it may not exist, or exist empty.
fn prepare_target(dir: &Path) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(format!(
                    "directory \"{}\" exists but is not empty",
                    dir.display()
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("could not create directory \"{}\": {e}", dir.display()))?;
        }
        Err(e) => {
            return Err(format!(
                "could not access directory \"{}\": {e}",
                dir.display()
            ));
        }
    }
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    Ok(())
}

/// A member path must stay inside the target directory.
fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!("invalid file name in backup: \"{rel}\""));
    }
    Ok(root.join(p))
}

/// Runs the whole backup. Returns the process exit code (0 on success),
/// printing errors as pg_basebackup does.
pub fn run(opts: &Options) -> i32 {
    match run_inner(opts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ferrogres basebackup: error: {e}");
            1
        }
    }
}

fn run_inner(opts: &Options) -> Result<(), String> {
    prepare_target(&opts.target)?;
    let mut c = connect(opts)?;
    let label = opts.label.replace('\'', "''");
    let mut q = format!("BASE_BACKUP LABEL '{label}' FAST WAL").into_bytes();
    q.push(0);
    c.send(b'Q', &q)?;
    let root = opts.target.clone();
    let mut current: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut unpack_error: Option<String> = None;
    let mut unpacker = tar::Unpacker::new(|ev| {
        use std::os::unix::fs::PermissionsExt;
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        match ev {
            tar::Event::Dir(h) => {
                let p = safe_join(&root, &h.path).map_err(invalid)?;
                std::fs::create_dir_all(&p)?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))?;
            }
            tar::Event::File(h) => {
                let p = safe_join(&root, &h.path).map_err(invalid)?;
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let f = std::fs::File::create(&p)?;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                current = Some(std::io::BufWriter::with_capacity(1 << 20, f));
            }
            tar::Event::Data(d) => {
                current
                    .as_mut()
                    .ok_or_else(|| invalid("data outside a file".into()))?
                    .write_all(d)?;
            }
            tar::Event::FileEnd => {
                if let Some(mut w) = current.take() {
                    w.flush()?;
                    w.get_ref().sync_all()?;
                }
            }
        }
        Ok(())
    });
    let mut positions = Vec::new();
    let mut error: Option<String> = None;
    loop {
        let (kind, body) = c.read()?;
        match kind {
            b'd' => {
                if unpack_error.is_none() {
                    if let Err(e) = unpacker.push(&body) {
                        unpack_error = Some(format!("could not write backup files: {e}"));
                    }
                }
            }
            b'D' => positions.push(first_value(&body)),
            b'E' => error = Some(report_text(&body)),
            b'N' => eprintln!("ferrogres basebackup: {}", report_text(&body)),
            b'Z' => break,
            _ => {} // RowDescription, CopyOutResponse, CopyDone, CommandComplete
        }
    }
    let _ = c.send(b'X', &[]);
    if let Some(e) = error {
        return Err(e);
    }
    if let Some(e) = unpack_error {
        return Err(e);
    }
    if !unpacker.finished {
        return Err("the backup stream ended early".into());
    }
    drop(unpacker);
    if let Ok(d) = std::fs::File::open(&opts.target) {
        let _ = d.sync_all();
    }
    if opts.verbose {
        if let Some(start) = positions.first() {
            eprintln!("ferrogres basebackup: initiating base backup, checkpoint at {start}");
        }
        if let Some(end) = positions.get(1) {
            eprintln!("ferrogres basebackup: write-ahead log end point: {end}");
        }
        eprintln!("ferrogres basebackup: base backup completed");
    }
    Ok(())
}
