//! The postmaster (PostgreSQL's `postmaster.c`): the supervisor.
//!
//! It is single-threaded. It reads the configuration, takes the data
//! directory's lock file, opens the listening sockets, creates the shared
//! memory segment, and then loops in `poll` over the listening sockets and a
//! signalfd. It forks one backend per accepted connection and one process
//! per background kind, reaps children with `waitpid(WNOHANG)` in a loop
//! (SIGCHLDs coalesce), and decides from an exit status alone what a death
//! means, using the table in `crate::process::ProcessKind::info`.
//!
//! It never reads or writes shared memory after creating it: the cancel
//! keys it hands out live in its private child list (as in PostgreSQL 15,
//! a freshly forked child that receives a CancelRequest answers it from its
//! inherited copy of that list).
//!
//! States: `Startup` (startup process running) → `Run` → one of the
//! shutdown paths; or `CrashWait` (every child told to quit) → re-create
//! shared memory → `Startup`. See README.md for the rules.

pub mod listen;
pub mod pidfile;

use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use crate::backend::auth::hba::HbaFile;
use crate::backend::auth::ident::IdentFile;
use crate::process::{ExitRule, ProcessKind, signals};
use crate::storage::shmem;
use crate::utils::elog::{self, PgError, Severity};
use crate::utils::guc::Settings;

/// How long the postmaster waits after SIGQUIT before SIGKILL (PostgreSQL's
/// `SIGKILL_CHILDREN_AFTER_SECS`).
const SIGKILL_CHILDREN_AFTER: Duration = Duration::from_secs(5);
/// `bgw_restart_time` of the logical replication launcher.
const LOGICAL_LAUNCHER_RESTART_DELAY: Duration = Duration::from_secs(5);

/// What the postmaster tells a new backend about whether it may serve
/// (PostgreSQL's `CAC_state`); the backend reports it after reading the
/// startup packet so that cancel requests still work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanAccept {
    Ok,
    Startup,
    Recovery,
    Shutdown,
    TooMany,
}

impl CanAccept {
    pub fn error(self) -> Option<PgError> {
        use crate::utils::elog::sqlstate::*;
        match self {
            CanAccept::Ok => None,
            CanAccept::Startup => Some(PgError::fatal(
                CANNOT_CONNECT_NOW,
                "the database system is starting up",
            )),
            CanAccept::Recovery => Some(PgError::fatal(
                CANNOT_CONNECT_NOW,
                "the database system is in recovery mode",
            )),
            CanAccept::Shutdown => Some(PgError::fatal(
                CANNOT_CONNECT_NOW,
                "the database system is shutting down",
            )),
            CanAccept::TooMany => Some(PgError::fatal(
                TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
            )),
        }
    }
}

/// What every child inherits from the postmaster (by fork, not by copying
/// through shared memory).
#[derive(Clone)]
pub struct ServerEnv {
    pub data_dir: PathBuf,
    pub settings: Settings,
    pub hba: std::sync::Arc<HbaFile>,
    /// pg_ident.conf's user name maps, loaded and reloaded with pg_hba.conf.
    pub ident: std::sync::Arc<IdentFile>,
    /// The TLS configuration when `ssl = on` (loaded by the postmaster at
    /// start and at SIGHUP, inherited by backends; see `protocol::tls`).
    pub tls: Option<std::sync::Arc<crate::protocol::tls::TlsConfig>>,
    pub postmaster_pid: i32,
    /// `pg_postmaster_start_time()`.
    pub start_time: crate::utils::time::TimestampTz,
}

impl ServerEnv {
    /// Re-reads postgresql.conf and postgresql.auto.conf (SIGHUP in any
    /// process), logging what changed.
    pub fn reload_settings(&mut self) {
        match self.settings.load_config_files(&self.data_dir, true) {
            Ok(lines) => {
                for (sev, msg) in lines {
                    if std::process::id() as i32 == self.postmaster_pid {
                        elog::log(sev, &msg);
                    }
                }
            }
            Err(e) => {
                if std::process::id() as i32 == self.postmaster_pid {
                    elog::log_error(&e, None);
                    elog::log(
                        Severity::Log,
                        &format!(
                            "configuration file \"{}\" contains errors; no changes were applied",
                            self.data_dir.join("postgresql.conf").display()
                        ),
                    );
                }
            }
        }
        let is_postmaster = std::process::id() as i32 == self.postmaster_pid;
        for w in self.settings.take_notices() {
            if is_postmaster {
                elog::log_error(&w, None);
            }
        }
        apply_log_settings(&self.settings);
    }
}

/// Applies the logging settings to this process's `elog`.
pub fn apply_log_settings(settings: &Settings) {
    if let Some(level) = Severity::from_setting(&settings.get_str("log_min_messages")) {
        elog::set_log_min_messages(level);
    }
    elog::set_log_line_prefix(&settings.get_str("log_line_prefix"));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShutdownMode {
    Smart,
    Fast,
    Immediate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PmState {
    /// The startup process runs; `after_crash` picks the 57P03 message.
    Startup {
        after_crash: bool,
    },
    Run,
    /// Every child was told to quit after a crash; waiting for them to go.
    CrashWait,
    Shutdown(ShutdownMode),
}

struct Child {
    kind: ProcessKind,
    cancel_key: i32,
    /// Signals already sent during shutdown, so each is sent once.
    sent_shutdown_signal: bool,
}

pub struct Postmaster {
    env: ServerEnv,
    listeners: Vec<listen::Listener>,
    signal_fd: SignalFd,
    children: HashMap<i32, Child>,
    state: PmState,
    pidfile: pidfile::PidFile,
    /// Attached for the postmaster's life and inherited by every child; see
    /// `storage::shmem::interlock`.
    interlock: shmem::interlock::Interlock,
    /// Read end of the logger pipe (kept open so a new logger can inherit it).
    logger_pipe_read: Option<RawFd>,
    /// The pipe's write end, only while the first logger is forked.
    logger_pipe_write: Option<RawFd>,
    /// When to SIGKILL children that ignored SIGQUIT.
    kill_deadline: Option<Instant>,
    /// Delayed (re)starts: the logical replication launcher after exit code 1.
    delayed_starts: Vec<(Instant, ProcessKind)>,
    /// Exit code once shut down (1 after a startup failure).
    exit_code: i32,
    /// A child crashed during an orderly shutdown: the end is reported as
    /// PostgreSQL's "abnormal database system shutdown", exit code 1.
    abnormal_shutdown: bool,
}

/// Runs the postmaster in the foreground until shutdown. Returns the exit code.
pub fn run(data_dir: &Path, mut settings: Settings) -> i32 {
    match start(data_dir, &mut settings) {
        Ok(mut pm) => pm.server_loop(),
        Err(e) => {
            elog::log_error(&e, None);
            1
        }
    }
}

fn start(data_dir: &Path, settings: &mut Settings) -> Result<Postmaster, PgError> {
    use crate::utils::elog::sqlstate;
    apply_log_settings(settings);
    elog::set_log_context(elog::LogContext {
        backend_type: "postmaster".into(),
        ..Default::default()
    });
    crate::process::title::set_cluster_name(&settings.get_str("cluster_name"));
    // Parameters from the files and `-c` that ferrogres accepts without
    // implementing them (utils/guc/unimplemented.rs).
    for w in settings.take_notices() {
        elog::log_error(&w, None);
    }
    if nix::unistd::geteuid().is_root() {
        elog::log(
            Severity::Warning,
            "running as root: PostgreSQL refuses this, ferrogres allows it; use an unprivileged user outside tests",
        );
    }
    // TLS first: a server that was asked for it does not start without it
    // (be_tls_init with isServerStart, FATAL with PostgreSQL's message).
    let tls = if settings.get_bool("ssl") {
        let config = crate::protocol::tls::load(settings, data_dir)?;
        for w in &config.warnings {
            elog::log_error(w, None);
        }
        Some(std::sync::Arc::new(config))
    } else {
        None
    };
    let hba_path = PathBuf::from(settings.get_str("hba_file"));
    let hba = HbaFile::load(&hba_path, settings.get_bool("ssl")).map_err(|e| {
        elog::log_error(&e, None);
        PgError::fatal(sqlstate::CONFIG_FILE_ERROR, "could not load pg_hba.conf")
    })?;
    for w in hba.warnings() {
        elog::log_error(w, None);
    }
    // As PostgreSQL, the server starts without usermaps if pg_ident.conf is bad.
    let ident = match IdentFile::load(Path::new(&settings.get_str("ident_file"))) {
        Ok(i) => {
            for w in i.warnings() {
                elog::log_error(w, None);
            }
            i
        }
        Err(e) => {
            elog::log_error(&e, None);
            elog::log(Severity::Log, "could not load pg_ident.conf");
            IdentFile::default()
        }
    };
    // The mock SCRAM nonce makes failed logins for missing roles look like
    // real ones. PostgreSQL keeps it in pg_control; ferrogres draws a new one
    // at each postmaster start (documented difference).
    let mut nonce = [0u8; 32];
    if getrandom::fill(&mut nonce).is_ok() {
        crate::backend::auth::set_mock_auth_nonce(nonce);
    }
    let port = settings.get_int("port") as u16;
    let socket_dirs = settings.get_str("unix_socket_directories");
    let listen_addresses = settings.get_str("listen_addresses");
    let (now_s, _) = crate::utils::time::now_unix();
    let mut pidfile = pidfile::PidFile::create(
        data_dir,
        port,
        socket_dirs.split(',').next().unwrap_or("").trim(),
        listen_addresses.split(',').next().unwrap_or("").trim(),
        now_s,
    )?;
    // Before the first fork: every child inherits the attachment, so a
    // later postmaster can tell whether any of them still lives.
    let mut interlock = match shmem::interlock::Interlock::create(data_dir) {
        Ok(i) => i,
        Err(e) => {
            pidfile.remove();
            return Err(e);
        }
    };
    pidfile.set_shmem_key(interlock.key, interlock.id);

    // The statistics collector's socket, before the first fork, so that
    // every child inherits it (PostgreSQL's pgstat_init).
    crate::utils::pgstat::postmaster_init(data_dir);

    // The logger comes first, so that everything after goes to its files.
    let logger_pipe_read = if settings.get_bool("logging_collector") {
        let (r, w) = nix::unistd::pipe().map_err(|e| {
            PgError::fatal(
                sqlstate::IO_ERROR,
                format!("could not create pipe for syslog: {e}"),
            )
        })?;
        use std::os::fd::IntoRawFd;
        let (r, w) = (r.into_raw_fd(), w.into_raw_fd());
        elog::log_error(
            &PgError::new(
                Severity::Log,
                sqlstate::SUCCESSFUL_COMPLETION,
                "redirecting log output to logging collector process",
            )
            .with_hint(format!(
                "Future log output will appear in directory \"{}\".",
                settings.get_str("log_directory")
            )),
            None,
        );
        Some((r, w))
    } else {
        None
    };

    let listeners = match listen::open(
        &listen_addresses,
        port,
        &socket_dirs,
        settings.get_int("unix_socket_permissions") as u32,
        &settings.get_str("unix_socket_group"),
    ) {
        Ok(l) => l,
        Err(e) => {
            pidfile.remove();
            interlock.release();
            return Err(e);
        }
    };

    // Every child finds pg_wal/, pg_xact/ and base/ through this (PostgreSQL
    // chdirs into the data directory; we keep the cwd and pass the path).
    crate::storage::wal::set_data_dir(data_dir);
    // No backend runs yet: no temporary file is anyone's (storage/file rule 2).
    crate::storage::file::temp::remove_all(data_dir);
    let segment = shmem::Segment::create(settings).map_err(|e| {
        pidfile.remove();
        interlock.release();
        PgError::fatal(
            sqlstate::OUT_OF_MEMORY,
            format!("could not create shared memory segment: {e}"),
        )
    })?;
    shmem::install(segment);

    let mut mask = SigSet::empty();
    for sig in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        mask.add(sig);
    }
    mask.thread_block()
        .map_err(|e| PgError::fatal(sqlstate::INTERNAL_ERROR, e.to_string()))?;
    let signal_fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| {
            PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!("could not create signalfd: {e}"),
            )
        })?;
    // SIGPIPE: a vanished client must not kill the postmaster.
    signals::ignore(Signal::SIGPIPE);

    let env = ServerEnv {
        data_dir: data_dir.to_path_buf(),
        settings: settings.clone(),
        hba: std::sync::Arc::new(hba),
        ident: std::sync::Arc::new(ident),
        tls,
        postmaster_pid: std::process::id() as i32,
        start_time: crate::utils::time::now_timestamptz(),
    };
    let mut pm = Postmaster {
        env,
        listeners,
        signal_fd,
        children: HashMap::new(),
        state: PmState::Startup { after_crash: false },
        pidfile: {
            pidfile.set_status(pidfile::PM_STATUS_STARTING);
            pidfile
        },
        interlock,
        logger_pipe_read: None,
        logger_pipe_write: None,
        kill_deadline: None,
        delayed_starts: Vec::new(),
        exit_code: 0,
        abnormal_shutdown: false,
    };
    if let Some((r, w)) = logger_pipe_read {
        pm.logger_pipe_read = Some(r);
        // The logger must not hold a write end of its own pipe, or it would
        // never see EOF when everyone else has exited.
        pm.logger_pipe_write = Some(w);
        pm.start_child(ProcessKind::Logger);
        pm.logger_pipe_write = None;
        // From now on our stderr (and every child's) is the logger's pipe.
        // SAFETY: dup2 onto fd 2 with a valid pipe fd; we own both.
        unsafe {
            libc::dup2(w, 2);
            libc::close(w);
        }
    }
    elog::log(
        Severity::Log,
        &format!("starting {}", crate::version_string()),
    );
    pm.start_startup_sequence();
    Ok(pm)
}

impl Postmaster {
    /// Starts what runs during recovery: checkpointer, background writer,
    /// stats collector and the startup process.
    fn start_startup_sequence(&mut self) {
        for kind in [
            ProcessKind::StatsCollector,
            ProcessKind::Checkpointer,
            ProcessKind::BgWriter,
            ProcessKind::Startup,
        ] {
            if !self.has_kind(kind) {
                self.start_child(kind);
            }
        }
    }

    /// What runs once the server is open.
    fn start_run_processes(&mut self) {
        let mut kinds = vec![
            ProcessKind::WalWriter,
            ProcessKind::AutovacLauncher,
            ProcessKind::LogicalRepLauncher,
        ];
        if self.archiving() {
            kinds.push(ProcessKind::Archiver);
        }
        for kind in kinds {
            if !self.has_kind(kind) {
                self.start_child(kind);
            }
        }
    }

    /// Forks an autovacuum worker for the launcher's pending request (the
    /// worker reads which database from shared memory itself).
    fn start_autovacuum_worker(&mut self) {
        let max = self.env.settings.get_int("autovacuum_max_workers").max(1) as usize;
        if self.state == PmState::Run && self.count_kind(ProcessKind::AutovacWorker) < max {
            self.start_child(ProcessKind::AutovacWorker);
        }
    }

    fn archiving(&self) -> bool {
        self.env.settings.get_str("archive_mode") != "off"
    }

    fn has_kind(&self, kind: ProcessKind) -> bool {
        self.children.values().any(|c| c.kind == kind)
    }

    fn count_kind(&self, kind: ProcessKind) -> usize {
        self.children.values().filter(|c| c.kind == kind).count()
    }

    fn server_loop(&mut self) -> i32 {
        loop {
            let mut fds: Vec<libc::pollfd> = vec![libc::pollfd {
                fd: self.signal_fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            for l in &self.listeners {
                fds.push(libc::pollfd {
                    fd: l.fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let timeout = self.next_timeout();
            // SAFETY: poll over a local vector of valid pollfds.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if rc < 0 {
                continue;
            }
            if fds[0].revents != 0 {
                if let Some(code) = self.handle_signals() {
                    return code;
                }
            }
            for (i, pfd) in fds.iter().enumerate().skip(1) {
                if pfd.revents != 0 {
                    self.accept_connection(i - 1);
                }
            }
            if let Some(code) = self.handle_timers() {
                return code;
            }
        }
    }

    fn next_timeout(&self) -> i32 {
        let mut next: Option<Instant> = self.kill_deadline;
        for (at, _) in &self.delayed_starts {
            next = Some(next.map_or(*at, |n| n.min(*at)));
        }
        match next {
            Some(at) => {
                at.saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(60_000) as i32
                    + 1
            }
            None => 60_000,
        }
    }

    fn handle_timers(&mut self) -> Option<i32> {
        let now = Instant::now();
        if let Some(deadline) = self.kill_deadline {
            if now >= deadline {
                elog::log(Severity::Log, "issuing SIGKILL to recalcitrant children");
                for (pid, child) in &self.children {
                    if child.kind != ProcessKind::Logger {
                        let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
                    }
                }
                self.kill_deadline = None;
            }
        }
        let due: Vec<ProcessKind> = self
            .delayed_starts
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, k)| *k)
            .collect();
        self.delayed_starts.retain(|(at, _)| *at > now);
        for kind in due {
            if self.state == PmState::Run && !self.has_kind(kind) {
                self.start_child(kind);
            }
        }
        self.advance_state()
    }

    fn handle_signals(&mut self) -> Option<i32> {
        while let Ok(Some(info)) = self.signal_fd.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            match sig {
                Signal::SIGCHLD => {
                    if let Some(code) = self.reap_children() {
                        return Some(code);
                    }
                }
                Signal::SIGHUP => self.reload(),
                Signal::SIGTERM => self.request_shutdown(ShutdownMode::Smart),
                Signal::SIGINT => self.request_shutdown(ShutdownMode::Fast),
                Signal::SIGQUIT => self.request_shutdown(ShutdownMode::Immediate),
                // The autovacuum launcher queued a worker request.
                Signal::SIGUSR1 => self.start_autovacuum_worker(),
                _ => {}
            }
        }
        self.advance_state()
    }

    fn reload(&mut self) {
        elog::log(
            Severity::Log,
            "received SIGHUP, reloading configuration files",
        );
        self.env.reload_settings();
        // be_tls_init(isServerStart = false): an error keeps the old context.
        if self.env.settings.get_bool("ssl") {
            match crate::protocol::tls::load(&self.env.settings, &self.env.data_dir) {
                Ok(config) => {
                    for w in &config.warnings {
                        elog::log_error(w, None);
                    }
                    self.env.tls = Some(std::sync::Arc::new(config));
                }
                Err(e) => {
                    elog::log_error(
                        &PgError {
                            severity: Severity::Log,
                            ..e
                        },
                        None,
                    );
                    elog::log(Severity::Log, "SSL configuration was not reloaded");
                }
            }
        } else {
            self.env.tls = None;
        }
        match HbaFile::load(
            Path::new(&self.env.settings.get_str("hba_file")),
            self.env.settings.get_bool("ssl"),
        ) {
            Ok(hba) => {
                for w in hba.warnings() {
                    elog::log_error(w, None);
                }
                self.env.hba = std::sync::Arc::new(hba)
            }
            Err(e) => {
                elog::log_error(&e, None);
                elog::log(Severity::Log, "pg_hba.conf was not reloaded");
            }
        }
        match IdentFile::load(Path::new(&self.env.settings.get_str("ident_file"))) {
            Ok(ident) => {
                for w in ident.warnings() {
                    elog::log_error(w, None);
                }
                self.env.ident = std::sync::Arc::new(ident);
            }
            Err(e) => {
                elog::log_error(&e, None);
                elog::log(Severity::Log, "pg_ident.conf was not reloaded");
            }
        }
        for pid in self.children.keys() {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGHUP);
        }
    }

    fn request_shutdown(&mut self, mode: ShutdownMode) {
        // A stronger request overrides a weaker one; a weaker one is ignored.
        if let PmState::Shutdown(current) = self.state {
            if mode as u8 <= current as u8 {
                return;
            }
        }
        let word = match mode {
            ShutdownMode::Smart => "smart",
            ShutdownMode::Fast => "fast",
            ShutdownMode::Immediate => "immediate",
        };
        elog::log(Severity::Log, &format!("received {word} shutdown request"));
        self.pidfile.set_status(pidfile::PM_STATUS_STOPPING);
        self.delayed_starts.clear();
        let crashed = self.state == PmState::CrashWait;
        self.state = PmState::Shutdown(mode);
        match mode {
            ShutdownMode::Smart => {}
            ShutdownMode::Fast => {
                if self.count_kind(ProcessKind::Backend) > 0 {
                    elog::log(Severity::Log, "aborting any active transactions");
                }
                self.signal_kinds(
                    &[
                        ProcessKind::Backend,
                        ProcessKind::AutovacWorker,
                        ProcessKind::ParallelWorker,
                    ],
                    Signal::SIGTERM,
                );
            }
            ShutdownMode::Immediate => {
                self.quit_all(signals::QUIT_FOR_IMMEDIATE_SHUTDOWN);
            }
        }
        if crashed {
            self.quit_all(signals::QUIT_FOR_IMMEDIATE_SHUTDOWN);
        }
    }

    fn signal_kinds(&mut self, kinds: &[ProcessKind], sig: Signal) {
        for (pid, child) in &self.children {
            if kinds.contains(&child.kind) {
                let _ = nix::sys::signal::kill(Pid::from_raw(*pid), sig);
            }
        }
    }

    /// SIGQUIT to every child but the logger, SIGKILL later for stragglers.
    fn quit_all(&mut self, reason: i32) {
        for (pid, child) in &self.children {
            if child.kind != ProcessKind::Logger {
                let _ = signals::send_quit(*pid, reason);
            }
        }
        self.kill_deadline = Some(Instant::now() + SIGKILL_CHILDREN_AFTER);
    }

    /// Moves the shutdown and crash-restart sequences along after any event.
    /// Returns an exit code when the postmaster should exit.
    fn advance_state(&mut self) -> Option<i32> {
        match self.state {
            PmState::CrashWait => {
                if self
                    .children
                    .values()
                    .any(|c| c.kind != ProcessKind::Logger)
                {
                    return None;
                }
                self.kill_deadline = None;
                if !self.env.settings.get_bool("restart_after_crash") {
                    elog::log(
                        Severity::Log,
                        "shutting down because restart_after_crash is off",
                    );
                    return Some(self.exit_postmaster(1));
                }
                elog::log(
                    Severity::Log,
                    "all server processes terminated; reinitializing",
                );
                shmem::uninstall();
                match shmem::Segment::create(&self.env.settings) {
                    Ok(seg) => shmem::install(seg),
                    Err(e) => {
                        elog::log(
                            Severity::Fatal,
                            &format!("could not create shared memory segment: {e}"),
                        );
                        return Some(self.exit_postmaster(1));
                    }
                }
                // Statistics restart from zero after a crash, as in PostgreSQL.
                crate::utils::pgstat::postmaster_reset_after_crash(&self.env.data_dir);
                if self.env.settings.get_bool("remove_temp_files_after_crash") {
                    crate::storage::file::temp::remove_all(&self.env.data_dir);
                }
                self.state = PmState::Startup { after_crash: true };
                self.pidfile.set_status(pidfile::PM_STATUS_STARTING);
                self.start_startup_sequence();
                None
            }
            PmState::Shutdown(ShutdownMode::Immediate) => {
                if self
                    .children
                    .values()
                    .any(|c| c.kind != ProcessKind::Logger)
                {
                    return None;
                }
                elog::log(Severity::Log, "database system is shut down");
                Some(self.exit_postmaster(self.exit_code))
            }
            PmState::Shutdown(_) => self.advance_orderly_shutdown(),
            _ => None,
        }
    }

    /// Smart and fast shutdown, in PostgreSQL's order: sessions end; then
    /// the background processes; then the checkpointer writes the shutdown
    /// checkpoint; then the archiver and the stats collector finish.
    fn advance_orderly_shutdown(&mut self) -> Option<i32> {
        use ProcessKind::*;
        let phases: [(&[ProcessKind], Option<Signal>); 5] = [
            (&[Backend, AutovacWorker, ParallelWorker], None),
            (
                &[
                    Startup,
                    BgWriter,
                    WalWriter,
                    AutovacLauncher,
                    LogicalRepLauncher,
                ],
                Some(Signal::SIGTERM),
            ),
            (&[Checkpointer], Some(Signal::SIGUSR2)),
            (&[Archiver], Some(Signal::SIGUSR2)),
            (&[StatsCollector], Some(Signal::SIGUSR2)),
        ];
        for (kinds, sig) in phases {
            let alive: Vec<i32> = self
                .children
                .iter()
                .filter(|(_, c)| kinds.contains(&c.kind))
                .map(|(p, _)| *p)
                .collect();
            if alive.is_empty() {
                continue;
            }
            if let Some(sig) = sig {
                for pid in alive {
                    let child = self.children.get_mut(&pid).expect("child listed");
                    if !child.sent_shutdown_signal {
                        child.sent_shutdown_signal = true;
                        if child.kind == Checkpointer {
                            elog::log(Severity::Log, "shutting down");
                        }
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
                    }
                }
            }
            return None;
        }
        if self.abnormal_shutdown {
            elog::log(Severity::Log, "abnormal database system shutdown");
            return Some(self.exit_postmaster(1));
        }
        elog::log(Severity::Log, "database system is shut down");
        Some(self.exit_postmaster(0))
    }

    fn exit_postmaster(&mut self, code: i32) -> i32 {
        listen::remove_files(&self.listeners);
        self.interlock.release();
        self.pidfile.remove();
        code
    }

    fn reap_children(&mut self) -> Option<i32> {
        loop {
            let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return None,
                Ok(s) => s,
            };
            let (pid, code, signal) = match status {
                WaitStatus::Exited(pid, code) => (pid.as_raw(), Some(code), None),
                WaitStatus::Signaled(pid, sig, _) => (pid.as_raw(), None, Some(sig)),
                _ => continue,
            };
            let Some(child) = self.children.remove(&pid) else {
                continue;
            };
            if let Some(code) = self.handle_child_exit(pid, child.kind, code, signal) {
                return Some(code);
            }
        }
    }

    fn handle_child_exit(
        &mut self,
        pid: i32,
        kind: ProcessKind,
        code: Option<i32>,
        signal: Option<Signal>,
    ) -> Option<i32> {
        let info = kind.info();
        let clean = code.is_some_and(|c| info.clean_exit_codes.contains(&c));
        let describe = || match (code, signal) {
            (Some(c), _) => format!("{} (PID {pid}) exited with exit code {c}", info.log_name),
            (_, Some(s)) => format!(
                "{} (PID {pid}) was terminated by signal {}: {}",
                info.log_name,
                s as i32,
                crate::process::signals::signal_description(s)
            ),
            _ => unreachable!("a reaped child either exited or was signalled"),
        };

        // The startup process: success opens the server; failure stops it.
        if kind == ProcessKind::Startup {
            if code == Some(0) {
                if let PmState::Startup { .. } = self.state {
                    self.state = PmState::Run;
                    self.pidfile.set_status(pidfile::PM_STATUS_READY);
                    elog::log(
                        Severity::Log,
                        "database system is ready to accept connections",
                    );
                    self.start_run_processes();
                }
                return None;
            }
            if code == Some(crate::bgproc::startup::EXIT_SHUTDOWN_AT_TARGET)
                && matches!(self.state, PmState::Startup { .. })
            {
                // recovery_target_action = 'shutdown': a clean stop at the
                // target (PostgreSQL's startup process exits with 3 too).
                self.request_shutdown(ShutdownMode::Fast);
                return None;
            }
            if !matches!(self.state, PmState::CrashWait | PmState::Shutdown(_)) {
                elog::log(Severity::Log, &describe());
                elog::log(
                    Severity::Log,
                    "aborting startup due to startup process failure",
                );
                self.state = PmState::Shutdown(ShutdownMode::Immediate);
                self.quit_all(signals::QUIT_FOR_IMMEDIATE_SHUTDOWN);
                if self
                    .children
                    .values()
                    .all(|c| c.kind == ProcessKind::Logger)
                {
                    return Some(self.exit_postmaster(1));
                }
                self.exit_code = 1;
                return None;
            }
        }

        // The logger is needed in every state: without it every process
        // would block once its pipe fills up.
        if kind == ProcessKind::Logger {
            if !clean {
                elog::log(Severity::Log, &describe());
            }
            self.start_child(kind);
            return None;
        }

        match self.state {
            PmState::CrashWait | PmState::Shutdown(ShutdownMode::Immediate) => return None,
            PmState::Shutdown(_) => {
                if !clean && info.on_abnormal_exit == ExitRule::CrashRestart {
                    elog::log(Severity::Log, &describe());
                    // Already quitting everyone: a second crash changes nothing.
                    if self.kill_deadline.is_none() {
                        self.crash(false);
                    }
                    self.abnormal_shutdown = true;
                }
                return None;
            }
            _ => {}
        }

        if info.on_abnormal_exit == ExitRule::RestartAlone {
            if !clean {
                elog::log(Severity::Log, &describe());
            }
            self.start_child(kind);
            return None;
        }
        if clean {
            if kind == ProcessKind::LogicalRepLauncher && code == Some(1) {
                elog::log(Severity::Log, &describe());
                self.delayed_starts
                    .push((Instant::now() + LOGICAL_LAUNCHER_RESTART_DELAY, kind));
            } else if info.restart_after_clean_exit
                && (self.state == PmState::Run
                    || (matches!(self.state, PmState::Startup { .. })
                        && kind == ProcessKind::BgWriter))
            {
                // The bgwriter also runs during recovery.
                self.start_child(kind);
            } else if kind == ProcessKind::Checkpointer || kind == ProcessKind::Archiver {
                // These must always run; an exit outside shutdown is restarted.
                self.start_child(kind);
            }
            return None;
        }
        elog::log(Severity::Log, &describe());
        self.crash(true);
        None
    }

    /// PostgreSQL's HandleChildCrash: tell everyone to quit, then restart.
    fn crash(&mut self, log: bool) {
        if log {
            elog::log(
                Severity::Log,
                "terminating any other active server processes",
            );
        }
        self.delayed_starts.clear();
        self.quit_all(signals::QUIT_FOR_CRASH);
        if !matches!(self.state, PmState::Shutdown(_)) {
            self.state = PmState::CrashWait;
            self.pidfile.set_status(pidfile::PM_STATUS_STARTING);
        }
    }

    fn can_accept(&self) -> CanAccept {
        match self.state {
            PmState::Run => {
                let max = self.env.settings.get_int("max_connections") as usize;
                if self.count_kind(ProcessKind::Backend) >= 2 * max + 10 {
                    CanAccept::TooMany
                } else {
                    CanAccept::Ok
                }
            }
            PmState::Startup { after_crash: false } => CanAccept::Startup,
            PmState::Startup { after_crash: true } | PmState::CrashWait => CanAccept::Recovery,
            PmState::Shutdown(_) => CanAccept::Shutdown,
        }
    }

    fn accept_connection(&mut self, index: usize) {
        let accepted = match &self.listeners[index] {
            listen::Listener::Tcp(l) => l.accept().map(|(s, addr)| {
                let _ = s.set_nonblocking(false);
                let _ = s.set_nodelay(true);
                (crate::protocol::Socket::Tcp(s), Some(addr))
            }),
            listen::Listener::Unix { listener, .. } => listener.accept().map(|(s, _)| {
                let _ = s.set_nonblocking(false);
                (crate::protocol::Socket::Unix(s), None)
            }),
        };
        let (socket, addr) = match accepted {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) => {
                elog::log(
                    Severity::Log,
                    &format!("could not accept new connection: {e}"),
                );
                return;
            }
        };
        let cac = self.can_accept();
        let cancel_key = random_i32();
        let cancel_table: Vec<(i32, i32)> = self
            .children
            .iter()
            .filter(|(_, c)| c.kind == ProcessKind::Backend)
            .map(|(p, c)| (*p, c.cancel_key))
            .collect();
        let env = self.env.clone();
        let pid = self.fork_child(ProcessKind::Backend, cancel_key, move || {
            crate::utils::stack::init_backend_stack();
            crate::backend::backend_main(env, socket, addr, cac, cancel_key, cancel_table)
        });
        if pid.is_none() {
            elog::log(Severity::Log, "could not fork new process for connection");
        }
    }

    fn start_child(&mut self, kind: ProcessKind) {
        let env = self.env.clone();
        let logger_fd = self.logger_pipe_read;
        let pid = self.fork_child(kind, 0, move || {
            crate::bgproc::child_main(kind, env, logger_fd)
        });
        if pid.is_none() {
            elog::log(
                Severity::Log,
                &format!("could not fork {}", kind.info().log_name),
            );
        }
    }

    /// Forks a child that runs `main` and never returns.
    #[allow(unreachable_code)]
    fn fork_child(
        &mut self,
        kind: ProcessKind,
        cancel_key: i32,
        main: impl FnOnce() -> std::convert::Infallible,
    ) -> Option<i32> {
        let _ = std::io::Write::flush(&mut std::io::stderr());
        // SAFETY: the postmaster is single-threaded, so the child gets a
        // consistent copy of its memory; the child only calls `main`, which
        // ends in `proc_exit` (never returning into the postmaster loop).
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                signals::setup_child(self.env.postmaster_pid, kind == ProcessKind::Logger);
                self.env.settings.set_under_postmaster(true);
                // Postmaster-only descriptors are closed in the child.
                // SAFETY: closing fds this process inherited and does not use.
                unsafe {
                    libc::close(self.signal_fd.as_raw_fd());
                    for l in &self.listeners {
                        libc::close(l.fd());
                    }
                    if kind != ProcessKind::Logger {
                        if let Some(fd) = self.logger_pipe_read {
                            libc::close(fd);
                        }
                    } else if let Some(fd) = self.logger_pipe_write {
                        libc::close(fd);
                    }
                }
                match main() {}
            }
            Ok(ForkResult::Parent { child }) => {
                self.children.insert(
                    child.as_raw(),
                    Child {
                        kind,
                        cancel_key,
                        sent_shutdown_signal: false,
                    },
                );
                Some(child.as_raw())
            }
            Err(_) => None,
        }
    }
}

/// A random non-zero 32-bit value (cancel keys).
pub fn random_i32() -> i32 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        let (s, us) = crate::utils::time::now_unix();
        return (s ^ (us << 12)) as i32 | 1;
    }
    i32::from_ne_bytes(b) | 1
}
