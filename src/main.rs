//! The `ferrogres` command: `initdb`, `server` (the postmaster), `ctl` and
//! `basebackup`, with PostgreSQL's option letters.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferrogres::{ctl, initdb, postmaster, utils::guc::Settings};

#[derive(Parser)]
#[command(
    name = "ferrogres",
    version,
    about = "A PostgreSQL-compatible server built the way PostgreSQL is built"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new data directory (like initdb).
    Initdb {
        #[arg(short = 'D', long = "pgdata")]
        data_dir: PathBuf,
        /// Database superuser name (default: the OS user).
        #[arg(short = 'U', long = "username")]
        user: Option<String>,
        /// Authentication method for local and host connections.
        #[arg(short = 'A', long = "auth")]
        auth: Option<String>,
        #[arg(long = "auth-local")]
        auth_local: Option<String>,
        #[arg(long = "auth-host")]
        auth_host: Option<String>,
        /// File holding the superuser's password.
        #[arg(long = "pwfile")]
        pwfile: Option<PathBuf>,
    },
    /// Run the postmaster in the foreground.
    #[command(disable_help_flag = true)]
    Server {
        #[arg(long = "help", action = clap::ArgAction::Help)]
        help: Option<bool>,
        #[arg(short = 'D')]
        data_dir: Option<PathBuf>,
        #[arg(short = 'p')]
        port: Option<u16>,
        /// Unix-socket directory.
        #[arg(short = 'k')]
        socket_dir: Option<String>,
        /// Listen addresses.
        #[arg(short = 'h')]
        listen: Option<String>,
        /// Set a parameter: -c name=value.
        #[arg(short = 'c', value_name = "NAME=VALUE")]
        settings: Vec<String>,
    },
    /// Start, stop, restart, reload or query a server (like pg_ctl).
    Ctl {
        /// start | stop | restart | reload | status | kill
        action: String,
        /// For `kill`: SIGNAL PID.
        args: Vec<String>,
        #[arg(short = 'D')]
        data_dir: Option<PathBuf>,
        #[arg(short = 'm', default_value = "fast")]
        mode: String,
        #[arg(short = 'l')]
        log_file: Option<PathBuf>,
        #[arg(short = 'o')]
        options: Option<String>,
        /// Wait for the operation to complete (the default).
        #[arg(short = 'w')]
        wait: bool,
        /// Do not wait.
        #[arg(short = 'W')]
        no_wait: bool,
        #[arg(short = 't', default_value_t = 60)]
        timeout: u64,
    },
    /// Take an online base backup of a running server (like pg_basebackup,
    /// plain format, WAL included).
    #[command(disable_help_flag = true)]
    Basebackup {
        #[arg(long = "help", action = clap::ArgAction::Help)]
        help: Option<bool>,
        /// Target directory (must not exist or be empty).
        #[arg(short = 'D', long = "pgdata")]
        target: PathBuf,
        /// Server host or Unix-socket directory.
        #[arg(short = 'h', long = "host")]
        host: Option<String>,
        #[arg(short = 'p', long = "port")]
        port: Option<u16>,
        #[arg(short = 'U', long = "username")]
        user: Option<String>,
        /// Backup label.
        #[arg(short = 'l', long = "label", default_value = "ferrogres basebackup")]
        label: String,
        /// Checkpoint mode (fast|spread): every checkpoint is immediate.
        #[arg(short = 'c', long = "checkpoint")]
        checkpoint: Option<String>,
        /// WAL method: WAL is always fetched into the backup.
        #[arg(short = 'X', long = "wal-method")]
        wal_method: Option<String>,
        /// Output format: only plain.
        #[arg(short = 'F', long = "format")]
        format: Option<String>,
        #[arg(short = 'P', long = "progress")]
        progress: bool,
        #[arg(short = 'v', long = "verbose")]
        verbose: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    // argv has been copied by now: the title area may be reused.
    ferrogres::process::title::init();
    let code = match cli.command {
        Cmd::Initdb {
            data_dir,
            user,
            auth,
            auth_local,
            auth_host,
            pwfile,
        } => {
            let password = match pwfile
                .map(|p| std::fs::read_to_string(&p).map_err(|e| (p, e)))
                .transpose()
            {
                Ok(p) => p.map(|s| s.lines().next().unwrap_or("").to_string()),
                Err((p, e)) => {
                    eprintln!(
                        "ferrogres initdb: error: could not open file \"{}\" for reading: {e}",
                        p.display()
                    );
                    std::process::exit(1);
                }
            };
            let auth = auth.unwrap_or_else(|| "trust".into());
            let opts = initdb::InitdbOptions {
                data_dir: data_dir.clone(),
                superuser: user.unwrap_or_else(initdb::os_user_name),
                auth_local: auth_local.unwrap_or_else(|| auth.clone()),
                auth_host: auth_host.unwrap_or(auth),
                password,
                port: 5432,
                socket_dir: None,
            };
            match initdb::initdb(&opts) {
                Ok(()) => {
                    println!(
                        "Success. You can now start the database server using:\n\n    ferrogres ctl -D {} -l logfile start\n",
                        data_dir.display()
                    );
                    0
                }
                Err(e) => {
                    eprintln!("ferrogres initdb: error: {e}");
                    1
                }
            }
        }
        Cmd::Basebackup {
            target,
            host,
            port,
            user,
            label,
            format,
            verbose,
            ..
        } => {
            if format.as_deref().is_some_and(|f| f != "p" && f != "plain") {
                eprintln!("ferrogres basebackup: error: only the plain format is supported");
                std::process::exit(1);
            }
            let env_or = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
            let opts = ferrogres::backup::client::Options {
                target,
                host: host.unwrap_or_else(|| env_or("PGHOST", "/tmp")),
                port: port.unwrap_or_else(|| env_or("PGPORT", "5432").parse().unwrap_or(5432)),
                user: user.unwrap_or_else(|| {
                    std::env::var("PGUSER").unwrap_or_else(|_| initdb::os_user_name())
                }),
                label,
                verbose,
            };
            ferrogres::backup::client::run(&opts)
        }
        Cmd::Server {
            data_dir,
            port,
            socket_dir,
            listen,
            settings,
            ..
        } => run_server(data_dir, port, socket_dir, listen, settings),
        Cmd::Ctl {
            action,
            args,
            data_dir,
            mode,
            log_file,
            options,
            wait: _,
            no_wait,
            timeout,
        } => {
            let data_dir = data_dir.unwrap_or_else(ferrogres::default_data_dir);
            let opts = ctl::CtlOptions {
                data_dir,
                mode,
                log_file,
                options,
                wait: !no_wait,
                timeout_s: timeout,
            };
            match action.as_str() {
                "start" => ctl::start(&opts),
                "stop" => ctl::stop(&opts),
                "restart" => ctl::restart(&opts),
                "reload" => ctl::reload(&opts),
                "status" => ctl::status(&opts),
                "kill" => match (args.first(), args.get(1).and_then(|p| p.parse().ok())) {
                    (Some(sig), Some(pid)) => ctl::kill_cmd(sig, pid),
                    _ => {
                        eprintln!("ferrogres ctl: usage: ferrogres ctl kill SIGNALNAME PID");
                        1
                    }
                },
                other => {
                    eprintln!("ferrogres ctl: unrecognized operation mode \"{other}\"");
                    1
                }
            }
        }
    };
    std::process::exit(code);
}

fn run_server(
    data_dir: Option<PathBuf>,
    port: Option<u16>,
    socket_dir: Option<String>,
    listen: Option<String>,
    settings: Vec<String>,
) -> i32 {
    let explicit = data_dir.is_some();
    let data_dir = data_dir.unwrap_or_else(ferrogres::default_data_dir);
    if !initdb::is_data_dir(&data_dir) {
        if explicit {
            eprintln!(
                "ferrogres: could not access directory \"{}\": not a data directory (no PG_VERSION)\nRun \"ferrogres initdb -D {}\" first.",
                data_dir.display(),
                data_dir.display()
            );
            return 1;
        }
        let opts = initdb::InitdbOptions {
            data_dir: data_dir.clone(),
            superuser: initdb::os_user_name(),
            auth_local: "trust".into(),
            auth_host: "trust".into(),
            password: None,
            port: 5432,
            socket_dir: None,
        };
        if let Err(e) = initdb::initdb(&opts) {
            eprintln!("ferrogres initdb: error: {e}");
            return 1;
        }
        println!("initialised a new data directory at {}", data_dir.display());
    }
    let data_dir = std::fs::canonicalize(&data_dir).unwrap_or(data_dir);
    let mut gucs = Settings::new();
    // The command line first, then the files (guc README rule 2, as
    // PostgreSQL's SelectConfigFiles): `-c hba_file=...` must be in place
    // before the defaults for unset file locations are chosen.
    let mut command_line: Vec<(String, String)> = Vec::new();
    if let Some(p) = port {
        command_line.push(("port".into(), p.to_string()));
    }
    if let Some(k) = socket_dir {
        command_line.push(("unix_socket_directories".into(), k));
    }
    if let Some(h) = listen {
        command_line.push(("listen_addresses".into(), h));
    }
    for s in settings {
        let Some((k, v)) = s.split_once('=') else {
            eprintln!("ferrogres: -c {s} requires a value");
            return 1;
        };
        command_line.push((k.trim().replace('-', "_"), v.to_string()));
    }
    for (k, v) in &command_line {
        if let Err(e) = gucs.set_command_line(k, v) {
            eprintln!("ferrogres: {}", e.message);
            return 1;
        }
    }
    if let Err(e) = gucs.load_config_files(&data_dir, false) {
        eprintln!("ferrogres: {}", e.message);
        return 1;
    }
    gucs.set_internal("data_directory", &data_dir.display().to_string());
    if !explicit {
        let socket = gucs.get_str("unix_socket_directories");
        let socket = socket
            .split(',')
            .next()
            .unwrap_or("/tmp")
            .trim()
            .to_string();
        println!(
            "ferrogres: data directory {}; connect with:\n    psql -h {} -p {} -U {} -d postgres",
            data_dir.display(),
            socket,
            gucs.get_int("port"),
            initdb::os_user_name()
        );
    }
    postmaster::run(&data_dir, gucs)
}
