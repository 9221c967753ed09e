//! Black-box test harness: starts real ferrogres servers from the built
//! binary in temporary data directories on free ports, talks to them with
//! real clients (psql, the `postgres` crate), and stops what it started by
//! its pid when dropped.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ferrogres");
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// psql itself: Debian's `/usr/bin/psql` is a Perl wrapper that costs about
/// 80 ms of CPU per start, which the harness's polling pays many times.
pub const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    // Bind to port 0 and let the kernel choose; also check the Unix-socket
    // name is free so concurrently running tests do not collide.
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = l.local_addr().unwrap().port();
        drop(l);
        if port > 10_000 {
            return port;
        }
    }
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("ferrogres-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct ServerBuilder {
    conf: Vec<String>,
    initdb_args: Vec<String>,
    hba: Option<String>,
    password: Option<String>,
    data_parent: Option<PathBuf>,
}

impl ServerBuilder {
    /// Adds a line to postgresql.conf.
    pub fn conf(mut self, line: &str) -> Self {
        self.conf.push(line.to_string());
        self
    }
    pub fn initdb_arg(mut self, a: &str) -> Self {
        self.initdb_args.push(a.to_string());
        self
    }
    /// Replaces pg_hba.conf.
    pub fn hba(mut self, text: &str) -> Self {
        self.hba = Some(text.to_string());
        self
    }
    /// Puts the data directory (`data`, pg_wal included) under `dir`, e.g. a
    /// small file system, instead of the server's temporary directory; the
    /// log and the socket stay there. The caller removes `dir`.
    pub fn data_dir_under(mut self, dir: &Path) -> Self {
        self.data_parent = Some(dir.to_path_buf());
        self
    }
    /// The superuser's password (written to a --pwfile for initdb).
    pub fn password(mut self, pw: &str) -> Self {
        self.password = Some(pw.to_string());
        self
    }

    pub fn start(self) -> Server {
        let dir = TempDir::new("srv");
        let data = self.data_parent.as_ref().unwrap_or(&dir.0).join("data");
        let socket_dir = dir.0.join("sock");
        std::fs::create_dir_all(&socket_dir).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("initdb")
            .arg("-D")
            .arg(&data)
            .arg("-U")
            .arg("postgres");
        if let Some(pw) = &self.password {
            let pwfile = dir.0.join("pwfile");
            std::fs::write(&pwfile, pw).unwrap();
            cmd.arg("--pwfile").arg(&pwfile);
        }
        cmd.args(&self.initdb_args);
        let out = cmd.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str(&format!(
            "\n# test harness\nport = {port}\nunix_socket_directories = '{}'\nlisten_addresses = '127.0.0.1'\n",
            socket_dir.display()
        ));
        for l in &self.conf {
            conf.push_str(l);
            conf.push('\n');
        }
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        if let Some(h) = &self.hba {
            std::fs::write(data.join("pg_hba.conf"), h).unwrap();
        }
        let mut server = Server {
            dir,
            data,
            socket_dir,
            port,
            child: None,
            log_path: PathBuf::new(),
        };
        server.log_path = server.dir.0.join("server.log");
        server.launch();
        server
    }
}

pub struct Server {
    pub dir: TempDir,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    pub log_path: PathBuf,
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            conf: Vec::new(),
            initdb_args: Vec::new(),
            hba: None,
            password: None,
            data_parent: None,
        }
    }

    /// A server with default settings, ready for connections.
    pub fn start() -> Server {
        Server::builder().start()
    }

    /// Starts a server on an existing data directory `data` inside `dir`
    /// (a base backup copy): appends a free port, a socket directory and
    /// `conf` to its postgresql.conf, then launches it and waits until it
    /// accepts connections (recovery included).
    pub fn start_on(dir: TempDir, data: PathBuf, conf: &[&str]) -> Server {
        let socket_dir = dir.0.join("sock");
        std::fs::create_dir_all(&socket_dir).unwrap();
        let port = free_port();
        let mut text = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        text.push_str(&format!(
            "\n# test harness (copy)\nport = {port}\nunix_socket_directories = '{}'\nlisten_addresses = '127.0.0.1'\n",
            socket_dir.display()
        ));
        for l in conf {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(data.join("postgresql.conf"), text).unwrap();
        let log_path = dir.0.join("server.log");
        let mut server = Server {
            dir,
            data,
            socket_dir,
            port,
            child: None,
            log_path,
        };
        server.launch();
        server
    }

    /// Starts the postmaster (again) on the same data directory and waits
    /// until it accepts connections.
    pub fn launch(&mut self) {
        self.child = Some(self.spawn_postmaster());
        self.wait_ready(Duration::from_secs(30));
    }

    /// `ferrogres server -D` on this data directory, logging to server.log.
    fn spawn_postmaster(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap();
        Command::new(BIN)
            .arg("server")
            .arg("-D")
            .arg(&self.data)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn ferrogres server")
    }

    /// Starts the postmaster again right after the old one was killed. A new
    /// postmaster refuses to start while processes of the old one are still
    /// attached to the data directory's interlock (`pre-existing shared
    /// memory block ... is still in use`), so this retries until one starts
    /// and accepts connections. Returns how many starts were refused.
    pub fn relaunch_after_postmaster_death(&mut self, timeout: Duration) -> u32 {
        const REFUSAL: &str = "is still in use";
        let deadline = Instant::now() + timeout;
        let mut refusals = 0;
        loop {
            let seen = self.log().matches(REFUSAL).count();
            let mut child = self.spawn_postmaster();
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = self.log();
                    assert!(
                        log.matches(REFUSAL).count() > seen,
                        "the new postmaster exited ({status}) for another reason than the interlock:\n{log}"
                    );
                    refusals += 1;
                    break;
                }
                if self.psql_output("SELECT 1", &[]).status.success() {
                    self.child = Some(child);
                    return refusals;
                }
                assert!(
                    Instant::now() < deadline,
                    "no postmaster could start within {timeout:?}:\n{}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(
                Instant::now() < deadline,
                "orphans of the old postmaster lived on for {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until a query succeeds.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.psql_output("SELECT 1", &[]);
            if out.status.success() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "server did not become ready: {}\n--- log ---\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn postmaster_pid(&self) -> i32 {
        self.child.as_ref().expect("server running").id() as i32
    }

    /// psql over the Unix socket as postgres: `-X -A -t -q`, returns Output.
    pub fn psql_output(&self, sql: &str, extra: &[&str]) -> Output {
        Command::new(PSQL)
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", "postgres"])
            .args(extra)
            .arg("-c")
            .arg(sql)
            .env_remove("PGPASSWORD")
            .output()
            .expect("run psql")
    }

    /// A psql session over the Unix socket running `sql` in the background,
    /// returned once the statement shows in the backend's title. Its stderr
    /// is piped: it tells what the client saw.
    pub fn psql_background(&self, sql: &str) -> std::process::Child {
        self.psql_background_commands(&[sql])
    }

    /// As [`Server::psql_background`], with several `-c` commands, each its
    /// own Query message (and so its own transaction).
    pub fn psql_background_commands(&self, commands: &[&str]) -> std::process::Child {
        let mut cmd = Command::new(PSQL);
        cmd.args(["-X", "-h"]).arg(&self.socket_dir).args([
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn psql");
        let running = |c: &[(i32, String)]| {
            c.iter().any(|(_, t)| {
                t.starts_with("ferrogres: postgres postgres [local] ") && !t.ends_with(" idle")
            })
        };
        assert!(
            wait_until(Duration::from_secs(5), || running(&self.children())),
            "psql's statement did not start: {:?}",
            self.children()
        );
        child
    }

    /// Runs SQL through psql and returns trimmed stdout; panics on failure.
    pub fn psql(&self, sql: &str) -> String {
        let out = self.psql_output(sql, &[]);
        assert!(
            out.status.success(),
            "psql failed for {sql:?}: {}\n--- log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Connection string for the `postgres` crate over TCP.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=10",
            self.port
        )
    }

    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.conninfo(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect: {e}\n{}", self.log()))
    }

    /// One value from a simple query.
    pub fn query_one(client: &mut postgres::Client, sql: &str) -> Option<String> {
        for m in client.simple_query(sql).expect("simple_query") {
            if let postgres::SimpleQueryMessage::Row(r) = m {
                return r.get(0).map(str::to_string);
            }
        }
        None
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits until the server log contains `needle` (returns false on timeout).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Children of the postmaster, as (pid, title).
    pub fn children(&self) -> Vec<(i32, String)> {
        children_of(self.postmaster_pid())
    }

    /// The pid of the child whose title contains `needle`.
    pub fn child_pid(&self, needle: &str) -> Option<i32> {
        self.children()
            .into_iter()
            .find(|(_, t)| t.contains(needle))
            .map(|(p, _)| p)
    }

    /// Waits for a child whose title contains `needle` and whose pid is not `old`.
    pub fn wait_for_child(&self, needle: &str, old: Option<i32>, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(p) = self
                .children()
                .into_iter()
                .find(|(p, t)| t.contains(needle) && Some(*p) != old)
                .map(|(p, _)| p)
            {
                return Some(p);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Waits for the postmaster to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Sends a signal to the postmaster.
    pub fn signal(&self, sig: i32) {
        kill(self.postmaster_pid(), sig);
    }

    /// Forgets the child handle (after the postmaster was killed by the test),
    /// reaping it.
    pub fn reap(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("ctl")
            .args(args)
            .arg("-D")
            .arg(&self.data)
            .output()
            .expect("run ctl")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            let kids = children_of(pid);
            kill(pid, libc::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    kill(pid, libc::SIGKILL);
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            for (k, _) in kids {
                kill(k, libc::SIGKILL);
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "--- server log ({}) ---\n{}",
                self.log_path.display(),
                self.log()
            );
        }
    }
}

/// Processes whose parent is `ppid`, with their titles from /proc.
/// kill -9 of the postmaster and every child it has, as a power loss
/// would end them; returns once all are gone (the server is down).
pub fn kill9_server(s: &mut Server) {
    let pm = s.postmaster_pid();
    let kids: Vec<i32> = s.children().into_iter().map(|(p, _)| p).collect();
    kill(pm, libc::SIGKILL);
    for k in &kids {
        kill(*k, libc::SIGKILL);
    }
    s.reap();
    assert!(wait_until(Duration::from_secs(10), || kids
        .iter()
        .all(|p| !pid_alive(*p))));
}

pub fn children_of(ppid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        if fields.get(1).and_then(|p| p.parse::<i32>().ok()) != Some(ppid)
            || fields.first() == Some(&"Z")
        {
            continue;
        }
        let title = title_of(pid);
        out.push((pid, title));
    }
    out
}

/// What `ps` shows for a pid.
pub fn title_of(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .replace('\0', " ")
        .trim()
        .to_string()
}

/// Sends `sig` to `pid` (the tests' kill -9, SIGTERM, SIGSTOP...).
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) with plain integers; it touches no memory of ours.
    unsafe { libc::kill(pid, sig) };
}

pub fn pid_alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rfind(')').and_then(|i| stat.get(i + 2..i + 3));
    state != Some("Z")
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

pub fn data_path(s: &Server, rel: &str) -> PathBuf {
    s.data.join(rel)
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// The SQLSTATE of a server error, or a note saying there was none.
pub fn code(e: &postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// The primary message of a server error, or a note saying there was none.
pub fn message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| format!("no message: {e}"))
}

/// Adds a login role `name` without superuser (and without a password) to
/// the server's roles file (`global/pg_authid`, read at each connection).
pub fn add_login_role(s: &Server, name: &str, oid: u32) {
    let mut roles = ferrogres::backend::auth::roles::load_roles(&s.data).unwrap();
    roles.push(ferrogres::backend::auth::roles::Role {
        oid,
        name: name.into(),
        superuser: false,
        can_login: true,
        password: None,
    });
    ferrogres::backend::auth::roles::write_roles(&s.data, &roles).unwrap();
}

/// PostgreSQL 15 on a free port in a temporary directory, run as the
/// `postgres` OS user when the tests run as root: the differential oracle.
pub struct Oracle {
    pub dir: TempDir,
    pub port: u16,
}

impl Oracle {
    /// A client connection as the superuser.
    pub fn connect(&self) -> postgres::Client {
        postgres::Config::new()
            .host_path(&self.dir.0)
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .connect(postgres::NoTls)
            .expect("connect to the PostgreSQL 15 oracle")
    }

    pub fn start() -> Oracle {
        let dir = TempDir::new("pg15");
        let postgres_bin = format!("{PG_BIN}/postgres");
        assert!(
            Path::new(&postgres_bin).exists(),
            "PostgreSQL 15 is not installed at {PG_BIN} (scripts/deps.sh installs it)"
        );
        let run_as_postgres = |args: &[&str]| {
            let mut cmd = if nix_is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]);
                c
            } else {
                Command::new(args[0])
            };
            if nix_is_root() {
                cmd.args(args);
            } else {
                cmd.args(&args[1..]);
            }
            cmd
        };
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir.0)
            .status()
            .unwrap();
        Command::new("chmod")
            .args(["755"])
            .arg(&dir.0)
            .status()
            .unwrap();
        let data = dir.0.join("data");
        let out = run_as_postgres(&[
            &format!("{PG_BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "oracle initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = dir.0.join("pg.log");
        let opts = format!(
            "-p {port} -k {} -c listen_addresses='' -c fsync=off -c timezone=UTC",
            dir.0.display()
        );
        let out = run_as_postgres(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "oracle did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Oracle { dir, port }
    }

    pub fn psql(&self, sql: &str) -> String {
        run_psql(&self.dir.0, self.port, sql)
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let pidfile = self.dir.0.join("data/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
        {
            kill(pid, libc::SIGQUIT);
            wait_until(Duration::from_secs(10), || !pid_alive(pid));
        }
    }
}

pub fn nix_is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `sql` through psql (unaligned, quiet) and returns stdout followed by
/// stderr, as the differential tests compare them.
pub fn run_psql(socket_dir: &Path, port: u16, sql: &str) -> String {
    let out = Command::new(PSQL)
        .args(["-X", "-A", "-q", "-h"])
        .arg(socket_dir)
        .args([
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .env("PGTZ", "UTC")
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr).replace("psql:", "")
    )
}

/// Frames one frontend message: type byte, length, body.
pub fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Reads backend messages up to and including ReadyForQuery.
pub fn read_until_ready(t: &mut impl Read) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let mut head = [0u8; 5];
        t.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        t.read_exact(&mut body).unwrap();
        let done = head[0] == b'Z';
        out.push((head[0], body));
        if done {
            return out;
        }
    }
}

/// A protocol 3.0 startup packet with the given parameters.
pub fn startup_packet(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196608u32.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut pkt = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    pkt.extend_from_slice(&body);
    pkt
}

/// The server log shows no panic and no crash-restart.
pub fn assert_no_crash(s: &Server) {
    let log = s.log();
    for bad in [
        "PANIC",
        "panicked",
        "terminating any other active server processes",
    ] {
        assert!(!log.contains(bad), "server log contains {bad:?}:\n{log}");
    }
}

/// Runs the driver script `tests/drivers/NAME` with python3 (psycopg 3,
/// installed by scripts/deps.sh) as `python3 NAME SOCKET_DIR PORT` against
/// `s`, fails the test with its output and the server log unless it exits
/// 0, and returns its stdout.
#[allow(dead_code)]
pub fn run_psycopg_script(s: &Server, name: &str) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/drivers")
        .join(name);
    let out = Command::new("python3")
        .arg(script)
        .arg(&s.socket_dir)
        .arg(s.port.to_string())
        .env("HOME", "/nonexistent")
        .output()
        .expect("python3 with psycopg 3 (scripts/deps.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}{}\n--- log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    stdout
}
