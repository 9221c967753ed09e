//! Sessions as clients see them: settings, functions, pg_stat_activity,
//! cancel, terminate, max_connections, and a client that vanishes.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn psql_connects_over_unix_socket_and_tcp() {
    let s = Server::start();
    assert!(
        s.psql("SELECT version()")
            .starts_with("PostgreSQL 15.0 (ferrogres")
    );
    let out = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-c", "SELECT current_user, current_database(), 1 + 2 * 3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "postgres|postgres|7"
    );
}

#[test]
fn several_statements_in_one_query_message() {
    let s = Server::start();
    let mut c = s.connect();
    let msgs = c.simple_query("SELECT 1; SELECT 'two'; SHOW port").unwrap();
    let rows: Vec<String> = msgs
        .iter()
        .filter_map(|m| {
            if let postgres::SimpleQueryMessage::Row(r) = m {
                Some(r.get(0).unwrap().to_string())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        rows,
        vec!["1".to_string(), "two".to_string(), s.port.to_string()]
    );
    // An error stops the rest of the string.
    let err = c
        .simple_query("SELECT 1; SELECT 1/0; SELECT 3")
        .unwrap_err();
    assert_eq!(code(&err), "22012");
}

#[test]
fn set_show_reset_current_setting_and_set_config() {
    let s = Server::start();
    let mut c = s.connect();
    let q = |c: &mut postgres::Client, sql: &str| Server::query_one(c, sql).unwrap_or_default();
    assert_eq!(q(&mut c, "SHOW work_mem"), "4MB");
    c.batch_execute("SET work_mem = '64MB'").unwrap();
    assert_eq!(q(&mut c, "SHOW work_mem"), "64MB");
    assert_eq!(q(&mut c, "SELECT current_setting('work_mem')"), "64MB");
    c.batch_execute("RESET work_mem").unwrap();
    assert_eq!(q(&mut c, "SHOW work_mem"), "4MB");
    assert_eq!(
        q(
            &mut c,
            "SELECT set_config('application_name', 'tester', false)"
        ),
        "tester"
    );
    assert_eq!(
        q(
            &mut c,
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ),
        "tester"
    );
    // SET LOCAL lasts until the end of the transaction; SET is undone by ROLLBACK.
    c.batch_execute("BEGIN; SET LOCAL work_mem = '1MB'")
        .unwrap();
    assert_eq!(q(&mut c, "SHOW work_mem"), "1MB");
    c.batch_execute("COMMIT").unwrap();
    assert_eq!(q(&mut c, "SHOW work_mem"), "4MB");
    c.batch_execute("BEGIN; SET work_mem = '2MB'; ROLLBACK")
        .unwrap();
    assert_eq!(q(&mut c, "SHOW work_mem"), "4MB");
    let err = c.simple_query("SET port = 1").unwrap_err();
    assert_eq!(code(&err), "55P02");
    let err = c.simple_query("SHOW no_such_thing").unwrap_err();
    assert_eq!(code(&err), "42704");
    let all = c.simple_query("SHOW ALL").unwrap();
    let n = all
        .iter()
        .filter(|m| matches!(m, postgres::SimpleQueryMessage::Row(_)))
        .count();
    assert!(n > 100, "SHOW ALL returned only {n} rows");
}

#[test]
fn functions_of_the_first_slice() {
    let s = Server::start();
    let mut c = s.connect();
    let pid = Server::query_one(&mut c, "SELECT pg_backend_pid()").unwrap();
    let real: Vec<i32> = s
        .children()
        .iter()
        .filter(|(_, t)| t.contains("127.0.0.1("))
        .map(|(p, _)| *p)
        .collect();
    assert!(
        real.contains(&pid.parse().unwrap()),
        "pg_backend_pid() {pid} is not a real backend pid: {real:?}"
    );
    let start = Server::query_one(&mut c, "SELECT pg_postmaster_start_time() <= now()").unwrap();
    assert_eq!(start, "t");
    assert_eq!(
        Server::query_one(&mut c, "SELECT current_user = session_user").unwrap(),
        "t"
    );
    let t0 = std::time::Instant::now();
    c.batch_execute("SELECT pg_sleep(0.3)").unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(300));
}

#[test]
fn pg_stat_activity_answers_the_documented_queries() {
    let s = Server::start();
    let mut idle = s.connect();
    Server::query_one(&mut idle, "SELECT 1");
    let out = s.psql("SELECT pid, usename, datname, state, query, query_start, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()");
    let cols: Vec<&str> = out.split('|').collect();
    assert_eq!(cols[1], "postgres");
    assert_eq!(cols[2], "postgres");
    assert_eq!(cols[3], "active");
    assert!(cols[4].starts_with("SELECT pid, usename"));
    let grouped = s.psql(
        "SELECT CASE WHEN query LIKE 'autovacuum%' THEN 'autovacuum' WHEN state = 'idle' THEN 'idle' ELSE 'active' END AS process_type, count(*) FROM pg_stat_activity WHERE pid != pg_backend_pid() GROUP BY process_type ORDER BY 1",
    );
    // The idle session, and the background processes (state NULL: "active" in this query).
    assert!(grouped.lines().any(|l| l == "idle|1"), "{grouped}");
    assert!(
        grouped.lines().any(|l| l.starts_with("active|")),
        "{grouped}"
    );
    let none = s.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'x' AND pid != pg_backend_pid()");
    assert_eq!(none, "");
}

#[test]
fn cancel_request_interrupts_pg_sleep_with_57014() {
    let s = Server::start();
    let mut c = s.connect();
    let token = c.cancel_token();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        token.cancel_query(postgres::NoTls).unwrap();
    });
    let t0 = std::time::Instant::now();
    let err = c.simple_query("SELECT pg_sleep(30)").unwrap_err();
    canceller.join().unwrap();
    assert_eq!(code(&err), "57014");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "canceling statement due to user request"
    );
    assert!(t0.elapsed() < Duration::from_secs(10));
    // The session goes on.
    assert_eq!(Server::query_one(&mut c, "SELECT 5").as_deref(), Some("5"));
}

#[test]
fn cancel_with_a_wrong_key_does_nothing() {
    let s = Server::start();
    let mut c = s.connect();
    let pid: i32 = Server::query_one(&mut c, "SELECT pg_backend_pid()")
        .unwrap()
        .parse()
        .unwrap();
    // A CancelRequest with the right pid and a wrong key, by hand.
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&16u32.to_be_bytes());
    pkt.extend_from_slice(&((1234u32 << 16) | 5678).to_be_bytes());
    pkt.extend_from_slice(&pid.to_be_bytes());
    pkt.extend_from_slice(&12345i32.to_be_bytes());
    std::io::Write::write_all(&mut sock, &pkt).unwrap();
    drop(sock);
    assert!(
        s.wait_for_log(
            &format!("wrong key in cancel request for process {pid}"),
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    let t0 = std::time::Instant::now();
    c.batch_execute("SELECT pg_sleep(0.5)").unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(500));
}

#[test]
fn pg_terminate_backend_ends_the_other_session_with_57p01() {
    let s = Server::start();
    let mut victim = s.connect();
    let pid = Server::query_one(&mut victim, "SELECT pg_backend_pid()").unwrap();
    let mut killer = s.connect();
    assert_eq!(
        Server::query_one(&mut killer, &format!("SELECT pg_terminate_backend({pid})")).as_deref(),
        Some("t")
    );
    // The very next statement fails: the signal wins over input that
    // arrives with it.
    let err = victim.simple_query("SELECT 1").unwrap_err();
    let c = code(&err);
    assert!(c == "57P01" || c.starts_with("no SQLSTATE"), "{err}");
    assert!(wait_until(Duration::from_secs(5), || !pid_alive(
        pid.parse().unwrap()
    )));
    assert!(
        s.log()
            .contains("FATAL:  terminating connection due to administrator command")
    );
    // A pid that is not a backend: WARNING and false.
    let msgs = Server::query_one(&mut killer, "SELECT pg_cancel_backend(1)");
    assert_eq!(msgs.as_deref(), Some("f"));
    let ckpt = s.child_pid("ferrogres: checkpointer").unwrap();
    assert_eq!(
        Server::query_one(&mut killer, &format!("SELECT pg_terminate_backend({ckpt})")).as_deref(),
        Some("f")
    );
    assert!(pid_alive(ckpt));
    // Terminating a backend is not a crash.
    assert!(
        !s.log()
            .contains("terminating any other active server processes")
    );
}

#[test]
fn max_connections_refuses_the_extra_client_with_53300() {
    let s = Server::builder()
        .conf("max_connections = 4")
        .conf("superuser_reserved_connections = 0")
        .start();
    let clients: Vec<postgres::Client> = (0..4).map(|_| s.connect()).collect();
    let err = postgres::Client::connect(&s.conninfo(), postgres::NoTls)
        .err()
        .expect("fifth connection must fail");
    assert_eq!(code(&err), "53300");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "sorry, too many clients already"
    );
    drop(clients);
    assert!(wait_until(Duration::from_secs(5), || {
        postgres::Client::connect(&s.conninfo(), postgres::NoTls).is_ok()
    }));
}

#[test]
fn superuser_reserved_connections_keep_slots_for_superusers() {
    let s = Server::builder()
        .conf("max_connections = 3")
        .conf("superuser_reserved_connections = 2")
        .start();
    // Add a non-superuser role to the roles stand-in.
    add_login_role(&s, "alice", 16384);
    let alice = format!("host=127.0.0.1 port={} user=alice dbname=postgres", s.port);
    // The readiness probe's backend may still be exiting, holding the one
    // slot non-superusers have: retry until it is free.
    let mut first = None;
    assert!(wait_until(Duration::from_secs(5), || {
        first = postgres::Client::connect(&alice, postgres::NoTls).ok();
        first.is_some()
    }));
    let _a = first;
    let err = postgres::Client::connect(&alice, postgres::NoTls)
        .err()
        .expect("no slot left for non-superusers");
    assert_eq!(code(&err), "53300");
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("reserved for non-replication superuser connections")
    );
    let _su = s.connect();
}

#[test]
fn non_superuser_cannot_terminate_a_superuser_session() {
    let s = Server::start();
    add_login_role(&s, "alice", 16384);
    let mut su = s.connect();
    let su_pid = Server::query_one(&mut su, "SELECT pg_backend_pid()").unwrap();
    let mut alice = postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user=alice dbname=postgres", s.port),
        postgres::NoTls,
    )
    .unwrap();
    let err = alice
        .simple_query(&format!("SELECT pg_terminate_backend({su_pid})"))
        .unwrap_err();
    assert_eq!(code(&err), "42501");
    assert_eq!(Server::query_one(&mut su, "SELECT 1").as_deref(), Some("1"));
    // Other roles' queries are hidden from her.
    let q = Server::query_one(
        &mut alice,
        &format!("SELECT query FROM pg_stat_activity WHERE pid = {su_pid}"),
    )
    .unwrap();
    assert_eq!(q, "<insufficient privilege>");
}

#[test]
fn a_client_that_vanishes_mid_query_is_noticed_and_its_backend_exits() {
    let s = Server::start();
    let mut psql = s.psql_background("SELECT pg_sleep(60)");
    let backend = s
        .children()
        .into_iter()
        .find(|(_, t)| t.ends_with("[local] SELECT"))
        .unwrap()
        .0;
    psql.kill().unwrap();
    psql.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || !pid_alive(backend)),
        "backend {backend} outlived its client"
    );
    assert!(s.wait_for_log("connection to client lost", Duration::from_secs(5)));
    assert!(
        !s.log()
            .contains("terminating any other active server processes")
    );
    assert_eq!(s.psql("SELECT 1"), "1");
}

#[test]
fn errors_carry_sqlstate_and_position() {
    let s = Server::start();
    let mut c = s.connect();
    let err = c.simple_query("SELEC 1").unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "42601");
    assert_eq!(db.message(), "syntax error at or near \"SELEC\"");
    let err = c
        .simple_query("SELECT nope FROM pg_stat_activity")
        .unwrap_err();
    assert_eq!(code(&err), "42703");
    let err = c.simple_query("SELECT * FROM no_such_table").unwrap_err();
    assert_eq!(code(&err), "42P01");
    // A failed transaction block: 25P02 until ROLLBACK.
    c.batch_execute("BEGIN").unwrap();
    assert!(c.simple_query("SELECT 1/0").is_err());
    let err = c.simple_query("SELECT 1").unwrap_err();
    assert_eq!(code(&err), "25P02");
    c.batch_execute("ROLLBACK").unwrap();
    assert_eq!(Server::query_one(&mut c, "SELECT 1").as_deref(), Some("1"));
}

#[test]
fn unknown_database_and_role_are_refused() {
    let s = Server::start();
    let err = postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user=postgres dbname=nodb", s.port),
        postgres::NoTls,
    )
    .err()
    .unwrap();
    assert_eq!(code(&err), "3D000");
    let err = postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user=nobody dbname=postgres", s.port),
        postgres::NoTls,
    )
    .err()
    .unwrap();
    assert_eq!(code(&err), "28000");
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "role \"nobody\" does not exist"
    );
}

#[test]
fn extended_protocol_parameters_and_binary_results() {
    let s = Server::start();
    let mut c = s.connect();
    let row = c.query_one("SELECT $1::int + 1", &[&41i32]).unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);

    // Types inferred from context and declared by casts, in binary.
    let st = c
        .prepare("SELECT $1::text || 'x', $2::int8 * 2, NOT $3::bool, $4::float8 / 2, ($5::numeric + 1)::text, 1.50::numeric::text")
        .unwrap();
    let row = c
        .query_one(&st, &[&"a", &21i64, &false, &5.0f64, &"1.25"])
        .unwrap_err();
    // A &str cannot be sent as numeric by the postgres crate: its own error.
    assert!(row.as_db_error().is_none());
    let st = c
        .prepare("SELECT $1::text || 'x', $2::int8 * 2, NOT $3::bool, $4::float8 / 2, ($5::text::numeric + 1)::text")
        .unwrap();
    let row = c
        .query_one(&st, &[&"a", &21i64, &false, &5.0f64, &"1.25"])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "ax");
    assert_eq!(row.get::<_, i64>(1), 42);
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, f64>(3), 2.5);
    assert_eq!(row.get::<_, String>(4), "2.25");

    // NULL parameters.
    let row = c
        .query_one(
            "SELECT $1::int IS NULL, coalesce($2::text, 'none')",
            &[&None::<i32>, &None::<String>],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, String>(1), "none");

    // INSERT with parameters (types from the table's columns), SELECT with them.
    c.batch_execute("CREATE TABLE items (id int4, name text, price float8, ok bool)")
        .unwrap();
    let ins = c
        .prepare("INSERT INTO items VALUES ($1, $2, $3, $4)")
        .unwrap();
    assert_eq!(ins.params()[0], postgres::types::Type::INT4);
    for i in 1..=5i32 {
        let n = c
            .execute(
                &ins,
                &[&i, &format!("item{i}"), &(i as f64 * 1.5), &(i % 2 == 0)],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let sel = c
        .prepare("SELECT id, name, price FROM items WHERE id >= $1 AND ok = $2 ORDER BY id")
        .unwrap();
    // The named statement, executed twice.
    let rows = c.query(&sel, &[&1i32, &true]).unwrap();
    let got: Vec<(i32, String, f64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![(2, "item2".into(), 3.0), (4, "item4".into(), 6.0)]
    );
    let rows = c.query(&sel, &[&3i32, &false]).unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec![3, 5]);

    // An error, then the connection still works.
    let err = c.query("SELECT 1 / $1::int", &[&0i32]).unwrap_err();
    assert_eq!(code(&err), "22012");
    let row = c.query_one("SELECT count(*) FROM items", &[]).unwrap();
    assert_eq!(row.get::<_, i64>(0), 5);

    // Transactions through the extended protocol.
    {
        let mut t = c.transaction().unwrap();
        t.execute(
            "INSERT INTO items VALUES ($1, $2, 0, true)",
            &[&10i32, &"ten"],
        )
        .unwrap();
        t.commit().unwrap();
    }
    {
        let mut t = c.transaction().unwrap();
        t.execute(
            "INSERT INTO items VALUES ($1, $2, 0, true)",
            &[&11i32, &"eleven"],
        )
        .unwrap();
        t.rollback().unwrap();
    }
    let ids: Vec<i32> = c
        .query("SELECT id FROM items WHERE id > $1 ORDER BY id", &[&5i32])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![10]);

    // A portal read two rows at a time.
    {
        let mut t = c.transaction().unwrap();
        let portal = t
            .bind("SELECT id FROM items WHERE id < $1 ORDER BY id", &[&100i32])
            .unwrap();
        let mut all = Vec::new();
        loop {
            let rows = t.query_portal(&portal, 2).unwrap();
            assert!(rows.len() <= 2);
            if rows.is_empty() {
                break;
            }
            all.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
        }
        assert_eq!(all, vec![1, 2, 3, 4, 5, 10]);
        t.commit().unwrap();
    }

    // Binary results of other types.
    let row = c
        .query_one(
            "SELECT 7::int2, 'nm'::name, 3::oid, 1.5::float4, now() > $1, 12345.678::numeric::text",
            &[&std::time::SystemTime::UNIX_EPOCH],
        )
        .unwrap();
    assert_eq!(row.get::<_, i16>(0), 7);
    assert_eq!(row.get::<_, String>(1), "nm");
    assert_eq!(row.get::<_, u32>(2), 3);
    assert_eq!(row.get::<_, f32>(3), 1.5);
    assert!(row.get::<_, bool>(4));
    let ts: std::time::SystemTime = c.query_one("SELECT now()", &[]).unwrap().get(0);
    assert!(ts > std::time::SystemTime::UNIX_EPOCH);

    // Re-using a named statement name is 42P05 (checked through raw SQL-less Parse
    // is not reachable from the postgres crate; covered in bad_input).
    assert_eq!(Server::query_one(&mut c, "SELECT 1").as_deref(), Some("1"));
}

#[test]
fn pgbench_extended_mode_runs_without_failures() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE bench (aid int4, delta int4)")
        .unwrap();
    let dir = TempDir::new("pgbench_ext");
    let script = dir.0.join("script.sql");
    std::fs::write(
        &script,
        "\\set aid random(1, 1000)\n\\set delta random(-5000, 5000)\nBEGIN;\nINSERT INTO bench VALUES (:aid, :delta);\nSELECT sum(delta) FROM bench WHERE aid = :aid;\nEND;\nSELECT :aid + 1;\n",
    )
    .unwrap();
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "extended",
            "-T",
            "3",
            "-c",
            "2",
            "-h",
            "127.0.0.1",
            "-p",
        ])
        .arg(s.port.to_string())
        .args(["-U", "postgres", "-f"])
        .arg(&script)
        .arg("postgres")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}\n{}", s.log());
    assert!(
        stdout.contains("number of failed transactions: 0"),
        "{stdout}\n{stderr}"
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM bench", &[])
        .unwrap()
        .get(0);
    assert!(n > 0);
}

#[test]
fn the_statements_of_one_query_message_form_one_implicit_transaction() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE multi (x int)").unwrap();
    // The error in the second statement rolls back the first, as in PostgreSQL.
    assert!(
        c.simple_query("INSERT INTO multi VALUES (1); SELECT 1/0")
            .is_err()
    );
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM multi").as_deref(),
        Some("0")
    );
    // Later statements see earlier ones, and now() is the same for all.
    let rows: Vec<String> = c
        .simple_query("INSERT INTO multi VALUES (2); SELECT count(*)::text || ' ' || (now() = statement_timestamp())::text FROM multi")
        .unwrap()
        .into_iter()
        .filter_map(|m| if let postgres::SimpleQueryMessage::Row(r) = m { r.get(0).map(str::to_string) } else { None })
        .collect();
    assert_eq!(rows, vec!["1 false".to_string()]);
    // COMMIT inside the string ends the block; what follows commits on its own.
    c.batch_execute("BEGIN; INSERT INTO multi VALUES (3); COMMIT; INSERT INTO multi VALUES (4)")
        .unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SELECT count(*) FROM multi").as_deref(),
        Some("3")
    );
}

#[test]
fn deallocate_forgets_protocol_prepared_statements() {
    let s = Server::start();
    let mut c = s.connect();
    let st = c.prepare("SELECT 41 + 1").unwrap();
    let row = c.query_one(&st, &[]).unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    // psycopg sends DEALLOCATE ALL after DDL once it has prepared statements.
    c.batch_execute("DEALLOCATE ALL").unwrap();
    let e = c.query_one(&st, &[]).unwrap_err();
    assert_eq!(code(&e), "26000", "{e}");
    let st = c.prepare("SELECT 2").unwrap();
    let e = c.batch_execute("DEALLOCATE nosuch").unwrap_err();
    assert_eq!(message(&e), "prepared statement \"nosuch\" does not exist");
    assert_eq!(c.query_one(&st, &[]).unwrap().get::<_, i32>(0), 2);
}

#[test]
fn discard_all_resets_settings_and_forgets_prepared_statements() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("SET work_mem = '1MB'; SET application_name = 'before'")
        .unwrap();
    let st = c.prepare("SELECT $1::int + 1").unwrap();
    assert_eq!(c.query_one(&st, &[&1i32]).unwrap().get::<_, i32>(0), 2);
    c.batch_execute("DISCARD ALL").unwrap();
    assert_eq!(
        Server::query_one(&mut c, "SHOW work_mem").as_deref(),
        Some("4MB")
    );
    assert_eq!(
        Server::query_one(&mut c, "SHOW application_name").as_deref(),
        Some("")
    );
    // The statement prepared before is gone.
    let e = c.query_one(&st, &[&1i32]).unwrap_err();
    assert_eq!(code(&e), "26000", "{e}");
    // Not inside a transaction block.
    c.batch_execute("BEGIN").unwrap();
    let e = c.batch_execute("DISCARD ALL").unwrap_err();
    assert_eq!(code(&e), "25001");
    c.batch_execute("ROLLBACK").unwrap();
}

/// A name looked up and not found is remembered (an unqualified name misses
/// in pg_catalog first on every statement), but only until a table of that
/// name appears: created by another session, by this one, or rolled back.
#[test]
fn a_missing_table_is_found_once_created() {
    let s = Server::start();
    let mut a = s.connect();
    let mut b = s.connect();
    let missing = a.simple_query("SELECT * FROM late").unwrap_err();
    assert_eq!(code(&missing), "42P01");
    b.batch_execute("CREATE TABLE late (x int); INSERT INTO late VALUES (7)")
        .unwrap();
    let row = a.query_one("SELECT x FROM late", &[]).unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    // This session's own DDL, then its rollback.
    assert_eq!(
        code(&a.simple_query("SELECT * FROM mine").unwrap_err()),
        "42P01"
    );
    a.batch_execute("BEGIN; CREATE TABLE mine (y int)").unwrap();
    a.batch_execute("SELECT * FROM mine").unwrap();
    a.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        code(&a.simple_query("SELECT * FROM mine").unwrap_err()),
        "42P01"
    );
    // A prepared statement's table dropped and created again.
    let stmt = a.prepare("SELECT count(*) FROM late").unwrap();
    assert_eq!(a.query_one(&stmt, &[]).unwrap().get::<_, i64>(0), 1);
    b.batch_execute("DROP TABLE late; CREATE TABLE late (x int)")
        .unwrap();
    assert_eq!(a.query_one(&stmt, &[]).unwrap().get::<_, i64>(0), 0);
}
