//! WAL archiving, base backups and point-in-time recovery, black-box:
//! real servers from the built binary, `ferrogres basebackup`, psql.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{BIN, Server, TempDir, wait_until};

fn archiving_server(command: &str) -> Server {
    Server::builder()
        .conf("archive_mode = on")
        .conf(&format!("archive_command = '{command}'"))
        .start()
}

fn cp_command(archive: &Path) -> String {
    format!("cp %p {}/%f", archive.display())
}

/// Writes a little WAL and switches segment; returns the completed segment's name.
fn fill_and_switch(s: &Server) -> String {
    s.psql("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50) g");
    s.psql("SELECT pg_walfile_name(pg_switch_wal())")
}

fn status_file(s: &Server, name: &str, ext: &str) -> std::path::PathBuf {
    s.data
        .join("pg_wal/archive_status")
        .join(format!("{name}.{ext}"))
}

#[test]
fn switched_segment_is_archived_marked_done_and_named_in_the_title() {
    let archive = TempDir::new("arch");
    let s = archiving_server(&cp_command(&archive.0));
    assert_eq!(
        s.psql("SELECT pg_walfile_name('0/1000000'), pg_walfile_name('0/1000001')"),
        "000000010000000000000000|000000010000000000000001"
    );
    s.psql("CREATE TABLE t (id int, v text)");
    let name = fill_and_switch(&s);
    assert_eq!(name.len(), 24, "{name}");
    assert!(
        wait_until(Duration::from_secs(20), || archive.0.join(&name).exists()
            && status_file(&s, &name, "done").exists()),
        "segment {name} was not archived; log:\n{}",
        s.log()
    );
    assert!(!status_file(&s, &name, "ready").exists());
    assert_eq!(
        std::fs::metadata(archive.0.join(&name)).unwrap().len(),
        16 * 1024 * 1024
    );
    assert!(
        s.wait_for_child(
            &format!("ferrogres: archiver last was {name}"),
            None,
            Duration::from_secs(10)
        )
        .is_some(),
        "{:?}",
        s.children()
    );
    assert!(
        wait_until(Duration::from_secs(10), || s.psql(
            "SELECT archived_count >= 1, last_archived_wal FROM pg_stat_archiver"
        ) == format!("t|{name}")),
        "{}",
        s.psql("SELECT * FROM pg_stat_archiver")
    );
    // The switch LSN is a pg_lsn, and a second switch right away is a no-op
    // that still answers.
    let lsn = s.psql("SELECT pg_switch_wal()");
    assert!(lsn.contains('/'), "{lsn}");
}

#[test]
fn failing_archive_command_keeps_wal_until_fixed_then_checkpoint_removes_it() {
    let archive = TempDir::new("arch-fail");
    let s = archiving_server("exit 1");
    s.psql("CREATE TABLE t (id int, v text)");
    let names: Vec<String> = (0..3).map(|_| fill_and_switch(&s)).collect();
    assert!(
        s.wait_for_log(
            "archive command failed with exit code 1",
            Duration::from_secs(20)
        ),
        "{}",
        s.log()
    );
    assert!(s.log().contains("The failed archive command was: exit 1"));
    assert!(
        wait_until(Duration::from_secs(10), || s.psql(&format!(
            "SELECT failed_count >= 1, last_failed_wal = '{}' FROM pg_stat_archiver",
            names[0]
        )) == "t|t"),
        "{}",
        s.psql("SELECT * FROM pg_stat_archiver")
    );
    // A checkpoint must not remove or recycle segments still to archive.
    s.psql("CHECKPOINT");
    for n in &names {
        assert!(s.data.join("pg_wal").join(n).exists(), "{n} was removed");
        assert!(status_file(&s, n, "ready").exists(), "{n} not .ready");
    }
    // Fix the command: the archiver drains the backlog in order.
    s.psql(&format!(
        "ALTER SYSTEM SET archive_command = '{}'",
        cp_command(&archive.0)
    ));
    s.psql("SELECT pg_reload_conf()");
    assert!(
        wait_until(Duration::from_secs(90), || names
            .iter()
            .all(|n| status_file(&s, n, "done").exists())),
        "backlog not archived; log:\n{}",
        s.log()
    );
    for n in &names {
        assert!(archive.0.join(n).exists(), "{n} missing from the archive");
    }
    // Now a checkpoint may remove them.
    s.psql("INSERT INTO t VALUES (0, 'after')");
    s.psql("CHECKPOINT");
    assert!(
        wait_until(Duration::from_secs(10), || names.iter().all(|n| !s
            .data
            .join("pg_wal")
            .join(n)
            .exists())),
        "old segments still in pg_wal: {:?}",
        std::fs::read_dir(s.data.join("pg_wal"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
}

#[test]
fn sql_backup_functions_return_a_postgresql_backup_label() {
    let s = Server::start();
    let mut c = s.connect();
    let start = Server::query_one(&mut c, "SELECT pg_backup_start('sql label', true)").unwrap();
    assert!(start.contains('/'), "{start}");
    let again = c
        .simple_query("SELECT pg_backup_start('twice')")
        .unwrap_err();
    assert_eq!(
        again.as_db_error().map(|e| e.message()),
        Some("a backup is already in progress in this session")
    );
    let mut label = String::new();
    for m in c
        .simple_query("SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop()")
        .unwrap()
    {
        if let postgres::SimpleQueryMessage::Row(r) = m {
            label = r.get(1).unwrap().to_string();
        }
    }
    assert!(
        label.starts_with(&format!(
            "START WAL LOCATION: {start} (file 0000000100000000000000"
        )),
        "{label}"
    );
    for field in [
        "CHECKPOINT LOCATION: ",
        "BACKUP METHOD: streamed\n",
        "BACKUP FROM: primary\n",
        "START TIME: ",
        "LABEL: sql label\n",
        "START TIMELINE: 1\n",
    ] {
        assert!(label.contains(field), "{field:?} missing in {label}");
    }
    let err = c.simple_query("SELECT pg_backup_stop()").unwrap_err();
    assert_eq!(
        err.as_db_error().map(|e| e.message()),
        Some("backup is not in progress")
    );
}

fn run_basebackup(s: &Server, target: &Path) {
    let out = Command::new(BIN)
        .args(["basebackup", "-D"])
        .arg(target)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
        ])
        .output()
        .expect("run basebackup");
    assert!(
        out.status.success(),
        "basebackup failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
}

#[test]
fn basebackup_plus_archive_recovers_to_a_point_in_time_and_opens_for_writes() {
    let archive = TempDir::new("arch-pitr");
    let s = archiving_server(&cp_command(&archive.0));
    s.psql("CREATE TABLE t (id int, v text)");
    s.psql("INSERT INTO t VALUES (0, 'before backup')");

    let copy = TempDir::new("copy");
    let copy_data = copy.0.join("data");
    run_basebackup(&s, &copy_data);
    let label = std::fs::read_to_string(copy_data.join("backup_label")).unwrap();
    assert!(label.starts_with("START WAL LOCATION: "), "{label}");
    assert!(label.contains("BACKUP METHOD: streamed"), "{label}");
    assert!(!copy_data.join("postmaster.pid").exists());
    assert!(copy_data.join("global/pg_control").exists());

    s.psql("INSERT INTO t VALUES (1, 'A')");
    let target = s.psql("SELECT now()");
    std::thread::sleep(Duration::from_millis(1500));
    s.psql("INSERT INTO t VALUES (2, 'B')");
    let last = s.psql("SELECT pg_walfile_name(pg_switch_wal())");
    assert!(
        wait_until(Duration::from_secs(30), || archive.0.join(&last).exists()
            && status_file(&s, &last, "done").exists()),
        "{last} not archived; log:\n{}",
        s.log()
    );

    std::fs::write(copy_data.join("recovery.signal"), "").unwrap();
    let restore = format!("restore_command = 'cp {}/%f %p'", archive.0.display());
    let target_line = format!("recovery_target_time = '{target}'");
    let c = Server::start_on(
        copy,
        copy_data.clone(),
        &[
            "archive_mode = off",
            &restore,
            &target_line,
            "recovery_target_action = 'promote'",
        ],
    );
    assert_eq!(c.psql("SELECT v FROM t ORDER BY id"), "before backup\nA");
    let log = c.log();
    for line in [
        "starting point-in-time recovery to ",
        "restored log file \"",
        "\" from archive",
        "consistent recovery state reached at ",
        "recovery stopping before commit of transaction ",
        "redo done at ",
        "archive recovery complete",
        "database system is ready to accept connections",
    ] {
        assert!(log.contains(line), "{line:?} missing in log:\n{log}");
    }
    if std::env::var_os("SHOW_PITR_LOG").is_some() {
        eprintln!("{log}");
    }
    assert!(!copy_data.join("recovery.signal").exists());
    assert!(copy_data.join("backup_label.old").exists());
    assert!(!copy_data.join("backup_label").exists());

    // The promoted copy takes writes, and they survive a crash: the
    // abandoned WAL after the stop point is never replayed.
    c.psql("INSERT INTO t VALUES (3, 'C')");
    let mut c = c;
    c.signal(libc::SIGQUIT);
    assert!(c.wait_exit(Duration::from_secs(20)).is_some());
    c.launch();
    assert_eq!(c.psql("SELECT v FROM t ORDER BY id"), "before backup\nA\nC");
    // The original server is untouched.
    assert_eq!(s.psql("SELECT count(*) FROM t"), "3");
}

#[test]
fn archive_timeout_switches_a_segment_holding_wal() {
    let archive = TempDir::new("arch-timeout");
    let s = Server::builder()
        .conf("archive_mode = on")
        .conf(&format!("archive_command = '{}'", cp_command(&archive.0)))
        .conf("archive_timeout = 1")
        .start();
    s.psql("CREATE TABLE t (id int)");
    s.psql("INSERT INTO t VALUES (1)");
    // No pg_switch_wal(): the checkpointer switches within about a second.
    assert!(
        wait_until(Duration::from_secs(20), || std::fs::read_dir(&archive.0)
            .unwrap()
            .count()
            > 0),
        "nothing archived; log:\n{}",
        s.log()
    );
    // An idle server does not switch again and again.
    std::thread::sleep(Duration::from_millis(2500));
    let n = std::fs::read_dir(&archive.0).unwrap().count();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(std::fs::read_dir(&archive.0).unwrap().count(), n);
}

#[test]
fn archiver_archives_what_is_ready_at_shutdown() {
    let archive = TempDir::new("arch-shutdown");
    let mut s = Server::builder()
        .conf("archive_mode = on")
        .conf(&format!(
            "archive_command = 'sleep 0.3; {}'",
            cp_command(&archive.0)
        ))
        .start();
    s.psql("CREATE TABLE t (id int, v text)");
    let names: Vec<String> = (0..3).map(|_| fill_and_switch(&s)).collect();
    s.signal(libc::SIGINT);
    assert_eq!(s.wait_exit(Duration::from_secs(30)), Some(0));
    for n in &names {
        assert!(archive.0.join(n).exists(), "{n} not archived at shutdown");
    }
}
