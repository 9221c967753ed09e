//! `ferrogres ctl` (PostgreSQL's `pg_ctl`): start, stop, restart, reload,
//! status and kill, talking to the postmaster through its `postmaster.pid`
//! and signals, with pg_ctl's messages and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::postmaster::pidfile;
use crate::storage::shmem::interlock;

pub struct CtlOptions {
    pub data_dir: PathBuf,
    pub mode: String,
    pub log_file: Option<PathBuf>,
    pub options: Option<String>,
    pub wait: bool,
    pub timeout_s: u64,
}

fn running_pid(data_dir: &Path) -> Option<i32> {
    pidfile::read_pid(data_dir).filter(|p| pidfile::is_live_ferrogres(*p))
}

/// Processes of a dead postmaster still attached to the data directory's
/// interlock segment: their pids, and the segment's key and id.
fn orphans(data_dir: &Path) -> Option<(i32, i32, Vec<i32>)> {
    let (key, id) = interlock::recorded_in_use(data_dir)?;
    Some((key, id, interlock::attached_pids(key)))
}

fn pid_list(pids: &[i32]) -> String {
    pids.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn start(opts: &CtlOptions) -> i32 {
    if let Some(pid) = running_pid(&opts.data_dir) {
        eprintln!("ferrogres ctl: another server might be running; trying to start server anyway");
        eprintln!("ferrogres ctl: lock file \"postmaster.pid\" names PID {pid}");
    } else if let Some((key, id, pids)) = orphans(&opts.data_dir) {
        // The server would refuse too; say so here, with the processes.
        eprintln!("FATAL:  pre-existing shared memory block (key {key}, ID {id}) is still in use");
        eprintln!(
            "HINT:  Terminate any old server processes associated with data directory \"{}\".",
            opts.data_dir.display()
        );
        if !pids.is_empty() {
            eprintln!(
                "ferrogres ctl: old server processes still running: {}",
                pid_list(&pids)
            );
        }
        eprintln!("ferrogres ctl: could not start server");
        return 1;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut args: Vec<String> = vec![
        "server".into(),
        "-D".into(),
        opts.data_dir.display().to_string(),
    ];
    if let Some(o) = &opts.options {
        args.extend(shell_words(o));
    }
    // Remembered for `restart`, like postmaster.opts.
    let _ = std::fs::write(
        opts.data_dir.join("postmaster.opts"),
        format!(
            "{} {}\n",
            exe.display(),
            args.iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    let mut cmd = Command::new(&exe);
    cmd.args(&args).stdin(Stdio::null());
    match &opts.log_file {
        Some(path) => {
            let f = match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => f,
                Err(e) => {
                    eprintln!(
                        "ferrogres ctl: could not open log file \"{}\": {e}",
                        path.display()
                    );
                    return 1;
                }
            };
            let f2 = f.try_clone().expect("dup log file");
            cmd.stdout(f).stderr(f2);
        }
        None => {
            cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        }
    }
    // The server must outlive this command: its own session, no parent wait.
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and only affects the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrogres ctl: could not start server: {e}");
            return 1;
        }
    };
    if !opts.wait {
        println!("server starting");
        return 0;
    }
    print!("waiting for server to start....");
    let deadline = Instant::now() + Duration::from_secs(opts.timeout_s);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            println!(" stopped waiting");
            eprintln!("ferrogres ctl: could not start server\nExamine the log output.");
            return 1;
        }
        if pidfile::read_pid(&opts.data_dir) == Some(child.id() as i32)
            && pidfile::read_status(&opts.data_dir).as_deref() == Some(pidfile::PM_STATUS_READY)
        {
            println!(" done\nserver started");
            return 0;
        }
        if Instant::now() > deadline {
            println!(" stopped waiting");
            eprintln!("ferrogres ctl: server did not start in time");
            return 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn stop(opts: &CtlOptions) -> i32 {
    let Some(pid) = running_pid(&opts.data_dir) else {
        eprintln!(
            "ferrogres ctl: PID file \"{}\" does not exist",
            opts.data_dir.join("postmaster.pid").display()
        );
        eprintln!("Is server running?");
        return 1;
    };
    let sig = match opts.mode.as_str() {
        "smart" | "s" => Signal::SIGTERM,
        "fast" | "f" => Signal::SIGINT,
        "immediate" | "i" => Signal::SIGQUIT,
        other => {
            eprintln!("ferrogres ctl: unrecognized shutdown mode \"{other}\"");
            return 1;
        }
    };
    if let Err(e) = kill(Pid::from_raw(pid), sig) {
        eprintln!("ferrogres ctl: could not send stop signal (PID: {pid}): {e}");
        return 1;
    }
    if !opts.wait {
        println!("server shutting down");
        return 0;
    }
    print!("waiting for server to shut down....");
    let deadline = Instant::now() + Duration::from_secs(opts.timeout_s);
    while pidfile::is_live_ferrogres(pid) {
        if Instant::now() > deadline {
            println!(" failed");
            eprintln!("ferrogres ctl: server does not shut down");
            return 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(" done\nserver stopped");
    0
}

pub fn restart(opts: &CtlOptions) -> i32 {
    if running_pid(&opts.data_dir).is_some() {
        let code = stop(opts);
        if code != 0 {
            return code;
        }
    } else {
        eprintln!(
            "ferrogres ctl: PID file \"{}\" does not exist",
            opts.data_dir.join("postmaster.pid").display()
        );
        eprintln!("Is server running?");
        eprintln!("trying to start server anyway");
    }
    let mut o = CtlOptions {
        wait: true,
        ..opts.clone_opts()
    };
    if o.options.is_none() {
        o.options = saved_options(&opts.data_dir);
    }
    start(&o)
}

/// The extra server options of the last `ctl start`, from postmaster.opts.
fn saved_options(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.opts")).ok()?;
    let words: Vec<String> = text
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches('"').to_string())
        .collect();
    // Skip "server -D DIR".
    let rest: Vec<String> = words.into_iter().skip(3).collect();
    if rest.is_empty() {
        None
    } else {
        Some(rest.join(" "))
    }
}

impl CtlOptions {
    fn clone_opts(&self) -> CtlOptions {
        CtlOptions {
            data_dir: self.data_dir.clone(),
            mode: self.mode.clone(),
            log_file: self.log_file.clone(),
            options: self.options.clone(),
            wait: self.wait,
            timeout_s: self.timeout_s,
        }
    }
}

pub fn reload(opts: &CtlOptions) -> i32 {
    let Some(pid) = running_pid(&opts.data_dir) else {
        eprintln!(
            "ferrogres ctl: PID file \"{}\" does not exist",
            opts.data_dir.join("postmaster.pid").display()
        );
        eprintln!("Is server running?");
        return 1;
    };
    if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGHUP) {
        eprintln!("ferrogres ctl: could not send reload signal (PID: {pid}): {e}");
        return 1;
    }
    println!("server signaled");
    0
}

pub fn status(opts: &CtlOptions) -> i32 {
    match running_pid(&opts.data_dir) {
        Some(pid) => {
            println!("ferrogres ctl: server is running (PID: {pid})");
            if let Ok(cmd) = std::fs::read_to_string(opts.data_dir.join("postmaster.opts")) {
                print!("{cmd}");
            }
            0
        }
        None => {
            println!("ferrogres ctl: no server running");
            if let Some((key, id, pids)) = orphans(&opts.data_dir) {
                println!(
                    "ferrogres ctl: old server processes are still attached to shared memory block (key {key}, ID {id}): {}",
                    if pids.is_empty() {
                        "PIDs unknown".to_string()
                    } else {
                        format!("PIDs {}", pid_list(&pids))
                    }
                );
            }
            3
        }
    }
}

pub fn kill_cmd(signal: &str, pid: i32) -> i32 {
    let sig = match signal.to_ascii_uppercase().trim_start_matches("SIG") {
        "ABRT" => Signal::SIGABRT,
        "HUP" => Signal::SIGHUP,
        "INT" => Signal::SIGINT,
        "KILL" => Signal::SIGKILL,
        "QUIT" => Signal::SIGQUIT,
        "TERM" => Signal::SIGTERM,
        "USR1" => Signal::SIGUSR1,
        "USR2" => Signal::SIGUSR2,
        other => {
            eprintln!("ferrogres ctl: unrecognized signal name \"{other}\"");
            return 1;
        }
    };
    match kill(Pid::from_raw(pid), sig) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ferrogres ctl: could not send signal {signal} (PID: {pid}): {e}");
            1
        }
    }
}

/// Splits `-o` options on whitespace, honouring single and double quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}
