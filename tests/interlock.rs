//! The data directory's interlock and postmaster death: a new postmaster
//! never shares the files with processes of a dead one, and those processes
//! end on their own at once, wherever they are.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Starts a postmaster in the foreground on `s`'s data directory and
/// returns its exit code and what it printed (it is expected to refuse).
fn try_server(s: &Server) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["server", "-D"])
        .arg(&s.data)
        .output()
        .expect("run ferrogres server");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_new_postmaster_refuses_while_an_orphan_of_the_old_one_lives() {
    let mut s = Server::start();
    s.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3)");
    // A stopped process cannot act on the death signal: it stays attached,
    // as the old checkpointer of the lost-commits report did.
    let checkpointer = s
        .child_pid("ferrogres: checkpointer")
        .expect("checkpointer");
    kill(checkpointer, libc::SIGSTOP);
    kill(s.postmaster_pid(), libc::SIGKILL);
    s.reap();

    let (code, stderr) = try_server(&s);
    assert_eq!(code, Some(1), "a second postmaster started:\n{stderr}");
    assert!(
        stderr.contains("FATAL:  pre-existing shared memory block (key ")
            && stderr.contains(") is still in use"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "HINT:  Terminate any old server processes associated with data directory \"{}\".",
            s.data.display()
        )),
        "{stderr}"
    );
    // ctl says the same, and names the process.
    let status = s.ctl(&["status"]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(3), "{out}");
    assert!(
        out.contains("old server processes are still attached")
            && out.contains(&checkpointer.to_string()),
        "{out}"
    );
    let start = s.ctl(&["start"]);
    assert_eq!(start.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&start.stderr).contains("is still in use"),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    // The old postmaster.pid is kept: it names the segment to check.
    assert!(s.data.join("postmaster.pid").exists());

    // Once resumed, the orphan sees its postmaster is gone and exits.
    kill(checkpointer, libc::SIGCONT);
    assert!(
        wait_until(Duration::from_secs(1), || !pid_alive(checkpointer)),
        "the orphaned checkpointer lived on after SIGCONT"
    );
    s.relaunch_after_postmaster_death(Duration::from_secs(30));
    assert_eq!(s.psql("SELECT count(*) FROM t"), "3");
}

#[test]
fn every_child_exits_within_a_second_of_postmaster_death() {
    let mut s = Server::builder()
        .conf("logging_collector = on")
        .conf("archive_mode = on")
        .conf("archive_command = '/bin/true'")
        .start();
    s.psql("CREATE TABLE t (id int, v int); INSERT INTO t VALUES (1, 0)");
    // A backend holding a row lock, one blocked behind it, one sleeping and
    // one in a long scan: none of them is at a place where it checks.
    let mut holder = s.connect();
    holder
        .batch_execute("BEGIN; UPDATE t SET v = v + 1 WHERE id = 1")
        .unwrap();
    let mut waiter = s.psql_background("UPDATE t SET v = v + 1 WHERE id = 1");
    let sleeper = s.psql_background("SELECT pg_sleep(60)");
    let mut scanner = s.psql_background("SELECT count(*) FROM generate_series(1, 1000000000)");
    assert!(wait_until(Duration::from_secs(5), || {
        s.children()
            .iter()
            .filter(|(_, t)| t.starts_with("ferrogres: postgres postgres [local]"))
            .count()
            >= 3
    }));
    let children = s.children();
    for kind in [
        "checkpointer",
        "background writer",
        "walwriter",
        "autovacuum launcher",
        "stats collector",
        "archiver",
        "logger",
        "logical replication launcher",
    ] {
        assert!(
            children.iter().any(|(_, t)| t.contains(kind)),
            "no {kind} among {children:?}"
        );
    }
    kill(s.postmaster_pid(), libc::SIGKILL);
    let died = Instant::now();
    s.reap();
    let (logger, others): (Vec<_>, Vec<_>) =
        children.iter().partition(|(_, t)| t.contains("logger"));
    assert!(
        wait_until(Duration::from_secs(1), || others
            .iter()
            .all(|(p, _)| !pid_alive(*p))),
        "alive a second after postmaster death: {:?}",
        others
            .iter()
            .filter(|(p, _)| pid_alive(*p))
            .collect::<Vec<_>>()
    );
    // The logger drains its pipe for at most a second after the others are gone.
    assert!(
        wait_until(Duration::from_secs(2), || logger
            .iter()
            .all(|(p, _)| !pid_alive(*p))),
        "the logger outlived its postmaster by {:?}",
        died.elapsed()
    );
    // The sleeping client was told why.
    let out = sleeper.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("terminating connection due to unexpected postmaster exit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = waiter.wait();
    let _ = scanner.wait();
    drop(holder);
    // Nothing is left attached: an immediate restart works at once.
    assert_eq!(
        s.relaunch_after_postmaster_death(Duration::from_secs(30)),
        0
    );
    assert_eq!(s.psql("SELECT v FROM t"), "0");
}

#[test]
fn a_data_directory_of_another_catalog_version_is_refused_untouched() {
    use ferrogres::storage::control::ControlFile;
    let mut s = Server::start();
    s.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    let stop = s.ctl(&["stop"]);
    assert!(stop.status.success());
    s.reap();
    // As a data directory written by a build whose catalogs had another
    // layout: the server must refuse it rather than misread its catalogs.
    let mut cf = ControlFile::read(&s.data).unwrap();
    let ours = cf.catalog_version_no;
    assert_eq!(ours, ferrogres::catalog::CATALOG_VERSION_NO);
    cf.catalog_version_no = ours - 1;
    cf.write(&s.data).unwrap();
    let (code, stderr) = try_server(&s);
    assert_eq!(code, Some(1), "the server started:\n{stderr}");
    assert!(
        stderr.contains("FATAL:  database files are incompatible with server")
            && stderr.contains(&format!(
                "DETAIL:  The database cluster was initialized with CATALOG_VERSION_NO {}, \
                 but the server was compiled with CATALOG_VERSION_NO {ours}.",
                ours - 1
            ))
            && stderr.contains("HINT:  It looks like you need to initdb."),
        "{stderr}"
    );
    // Nothing was changed: with the version put back the data is all there.
    let mut cf = ControlFile::read(&s.data).unwrap();
    assert_eq!(cf.catalog_version_no, ours - 1);
    cf.catalog_version_no = ours;
    cf.write(&s.data).unwrap();
    s.launch();
    assert_eq!(s.psql("SELECT count(*) FROM t"), "1");
}
