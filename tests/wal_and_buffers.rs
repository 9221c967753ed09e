//! What the documentation teaches about WAL, checkpoints and the background
//! writer, watched through the statistics views.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn wal_grows_between_checkpoints_and_is_recycled_after_one() {
    let s = Server::builder()
        .conf("max_wal_size = 1GB")
        .conf("min_wal_size = 32MB")
        .conf("checkpoint_timeout = 1h")
        .start();
    s.psql("CREATE TABLE big (id int, pad text)");
    let first = s.psql("SELECT min(name) FROM pg_ls_waldir()");
    let lsn0 = s.psql("SELECT pg_current_wal_lsn()");
    // About 40 MB of WAL: several segments.
    for _ in 0..8 {
        s.psql("INSERT INTO big SELECT g, repeat('x', 1000) FROM generate_series(1, 5000) g");
    }
    let lsn1 = s.psql("SELECT pg_current_wal_lsn()");
    assert_ne!(lsn0, lsn1);
    let segments: usize = s
        .psql("SELECT count(*) FROM pg_ls_waldir()")
        .parse()
        .unwrap();
    assert!(segments >= 3, "WAL did not grow: {segments} segments");
    s.psql("CHECKPOINT");
    s.psql("CHECKPOINT");
    let after = s.psql("SELECT min(name) FROM pg_ls_waldir()");
    assert!(
        after > first,
        "the oldest segment {first} was neither removed nor recycled"
    );
    let redo = s.psql("SELECT redo_wal_file FROM pg_control_checkpoint()");
    assert!(
        redo >= after,
        "segments before the redo point {redo} must go"
    );
    assert!(
        s.psql("SELECT checkpoints_req FROM pg_stat_bgwriter")
            .parse::<i64>()
            .unwrap()
            >= 2
    );
}

fn write_heavy_load(s: &Server) {
    s.psql("CREATE TABLE churn (id int, pad text)");
    s.psql("INSERT INTO churn SELECT g, repeat('y', 500) FROM generate_series(1, 4000) g");
    for round in 0..6 {
        s.psql(&format!(
            "UPDATE churn SET pad = repeat('{}', 500)",
            (b'a' + round) as char
        ));
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn background_writer_cleans_buffers_and_spares_the_checkpoint() {
    let with = Server::builder()
        .conf("shared_buffers = 2MB")
        .conf("bgwriter_delay = 10ms")
        .conf("bgwriter_lru_maxpages = 1000")
        .start();
    write_heavy_load(&with);
    let clean: i64 = with
        .psql("SELECT buffers_clean FROM pg_stat_bgwriter")
        .parse()
        .unwrap();
    assert!(
        clean > 0,
        "buffers_clean = 0 with the background writer running"
    );
    with.psql("CHECKPOINT");
    let ckpt_with: i64 = with
        .psql("SELECT buffers_checkpoint FROM pg_stat_bgwriter")
        .parse()
        .unwrap();

    let without = Server::builder()
        .conf("shared_buffers = 2MB")
        .conf("bgwriter_lru_maxpages = 0")
        .start();
    write_heavy_load(&without);
    assert_eq!(
        without.psql("SELECT buffers_clean FROM pg_stat_bgwriter"),
        "0"
    );
    without.psql("CHECKPOINT");
    let ckpt_without: i64 = without
        .psql("SELECT buffers_checkpoint FROM pg_stat_bgwriter")
        .parse()
        .unwrap();
    assert!(
        ckpt_without > ckpt_with,
        "checkpoint wrote {ckpt_without} without the bgwriter, {ckpt_with} with it"
    );
}

#[test]
fn checkpoint_views_and_functions_answer() {
    let s = Server::start();
    s.psql("CREATE TABLE v (id int)");
    s.psql("INSERT INTO v VALUES (1)");
    let before = s.psql("SELECT checkpoint_lsn FROM pg_control_checkpoint()");
    s.psql("CHECKPOINT");
    let after = s.psql("SELECT checkpoint_lsn FROM pg_control_checkpoint()");
    assert_ne!(before, after);
    assert!(
        s.psql("SELECT wal_records FROM pg_stat_wal")
            .parse::<i64>()
            .unwrap()
            > 0
    );
    let xid: i64 = s.psql("SELECT txid_current()").parse().unwrap();
    let xid2: i64 = s.psql("SELECT txid_current()").parse().unwrap();
    assert!(xid2 > xid);
}
