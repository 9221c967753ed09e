//! Autovacuum as the documentation teaches it: with it on, a steady UPDATE
//! load levels off; with it off (globally or per table), dead tuples and the
//! table keep growing. Workers show in ps and pg_stat_activity, and give way
//! to a user's DDL.

mod common;

use std::time::Duration;

use common::*;

fn fast_autovacuum(b: common::ServerBuilder) -> common::ServerBuilder {
    b.conf("autovacuum_naptime = 1s")
        .conf("autovacuum_vacuum_threshold = 50")
        .conf("autovacuum_vacuum_scale_factor = 0.1")
        .conf("autovacuum_analyze_threshold = 50")
        .conf("autovacuum_vacuum_cost_delay = 0")
}

/// Updates every row of a 200-row table `rounds` times, pausing so that
/// autovacuum gets its turn; returns (relation size, n_dead_tup) after each round.
fn steady_update_load(s: &Server, rounds: usize) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for round in 0..rounds {
        s.psql(&format!(
            "UPDATE av SET v = v + 1, pad = repeat('{}', 200)",
            (b'a' + (round % 26) as u8) as char
        ));
        std::thread::sleep(Duration::from_millis(1500));
        let size: i64 = s.psql("SELECT pg_relation_size('av')").parse().unwrap();
        let dead: i64 = s
            .psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'av'")
            .parse()
            .unwrap_or(0);
        out.push((size, dead));
    }
    out
}

fn create_table(s: &Server) {
    s.psql("CREATE TABLE av (id int, v int, pad text)");
    s.psql("INSERT INTO av SELECT g, 0, repeat('x', 200) FROM generate_series(1, 200) g");
}

#[test]
fn with_autovacuum_a_steady_update_load_levels_off() {
    let s = fast_autovacuum(Server::builder()).start();
    create_table(&s);
    let samples = steady_update_load(&s, 12);
    let (last_size, last_dead) = *samples.last().unwrap();
    let (mid_size, _) = samples[5];
    assert!(
        last_size <= mid_size * 2,
        "table kept growing with autovacuum on: {samples:?}"
    );
    assert!(
        last_dead < 12 * 200 / 2,
        "dead tuples kept piling up: {samples:?}"
    );
    let count: i64 = s
        .psql("SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'av'")
        .parse()
        .unwrap();
    assert!(count > 0, "autovacuum never ran: {samples:?}\n{}", s.log());
    assert!(
        s.psql("SELECT last_autovacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'av'")
            == "t"
    );
}

#[test]
fn without_autovacuum_dead_tuples_and_size_keep_growing() {
    let s = fast_autovacuum(Server::builder())
        .conf("autovacuum = off")
        .start();
    create_table(&s);
    let samples = steady_update_load(&s, 6);
    let sizes: Vec<i64> = samples.iter().map(|x| x.0).collect();
    let deads: Vec<i64> = samples.iter().map(|x| x.1).collect();
    assert!(
        sizes.windows(2).all(|w| w[1] >= w[0]) && sizes[5] > sizes[0],
        "size should grow: {sizes:?}"
    );
    assert!(
        deads.windows(2).all(|w| w[1] > w[0]),
        "n_dead_tup should grow: {deads:?}"
    );
    assert_eq!(
        s.psql("SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'av'"),
        "0"
    );
}

#[test]
fn per_table_autovacuum_enabled_off_is_respected() {
    let s = fast_autovacuum(Server::builder()).start();
    create_table(&s);
    s.psql("ALTER TABLE av SET (autovacuum_enabled = off)");
    let samples = steady_update_load(&s, 5);
    let deads: Vec<i64> = samples.iter().map(|x| x.1).collect();
    assert!(
        deads.windows(2).all(|w| w[1] > w[0]),
        "n_dead_tup should grow: {deads:?}"
    );
    assert_eq!(
        s.psql("SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'av'"),
        "0"
    );
}

#[test]
fn a_worker_shows_itself_and_gives_way_to_a_users_ddl() {
    // A slow worker: cost-based delay with a tiny limit.
    let s = fast_autovacuum(Server::builder())
        .conf("autovacuum_vacuum_cost_delay = 20ms")
        .conf("autovacuum_vacuum_cost_limit = 1")
        .conf("deadlock_timeout = 100ms")
        .start();
    s.psql("CREATE TABLE slow (id int, pad text)");
    s.psql("INSERT INTO slow SELECT g, repeat('z', 500) FROM generate_series(1, 3000) g");
    s.psql("DELETE FROM slow WHERE id % 2 = 0");
    let worker = s.wait_for_child(
        "ferrogres: autovacuum worker postgres",
        None,
        Duration::from_secs(20),
    );
    assert!(
        worker.is_some(),
        "no autovacuum worker in ps: {:?}",
        s.children()
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            s.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND query LIKE 'autovacuum: VACUUM% public.slow'") == "1"
        }),
        "{}",
        s.psql("SELECT backend_type, query FROM pg_stat_activity")
    );
    // The user's DROP TABLE must not wait for the worker.
    let t0 = std::time::Instant::now();
    s.psql("DROP TABLE slow");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "DROP TABLE waited {:?} for autovacuum",
        t0.elapsed()
    );
    assert!(
        s.wait_for_log(
            "sending cancel to blocking autovacuum PID",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    assert!(
        s.wait_for_log("canceling autovacuum task", Duration::from_secs(5)),
        "{}",
        s.log()
    );
}
