//! Bad input on the wire never takes the server down: each case gets a clean
//! error or disconnect, is logged, and the server goes on without a
//! crash-restart.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;

fn connect(s: &Server) -> TcpStream {
    let t = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    t
}

/// Reads until EOF; returns everything the server sent.
fn read_all(mut t: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out);
    out
}

/// Connects, authenticates (trust) and reads up to ReadyForQuery.
fn session(s: &Server) -> TcpStream {
    let mut t = connect(s);
    t.write_all(&startup_packet(&[
        ("user", "postgres"),
        ("database", "postgres"),
    ]))
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(6).any(|w| w == [b'Z', 0, 0, 0, 5, b'I']) {
        let n = t.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed during startup");
        buf.extend_from_slice(&chunk[..n]);
    }
    t
}

fn assert_server_healthy(s: &Server) {
    assert_eq!(s.psql("SELECT 1"), "1");
    let log = s.log();
    assert!(
        !log.contains("terminating any other active server processes"),
        "a bad client caused a crash-restart:\n{log}"
    );
    assert!(!log.contains("was terminated by signal"), "{log}");
}

#[test]
fn garbage_instead_of_a_startup_packet() {
    let s = Server::start();
    let mut t = connect(&s);
    t.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let reply = read_all(t);
    assert!(reply.is_empty() || reply[0] == b'E', "{reply:?}");
    assert!(
        s.wait_for_log("invalid length of startup packet", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    assert_server_healthy(&s);
}

#[test]
fn ssl_and_gssenc_requests_are_answered_n() {
    let s = Server::start();
    for code in [80877103u32, 80877104u32] {
        let mut t = connect(&s);
        let mut pkt = 8u32.to_be_bytes().to_vec();
        pkt.extend_from_slice(&code.to_be_bytes());
        t.write_all(&pkt).unwrap();
        let mut b = [0u8; 1];
        t.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"N");
    }
    assert_server_healthy(&s);
}

#[test]
fn unknown_protocol_version_is_refused() {
    let s = Server::start();
    let mut t = connect(&s);
    let mut pkt = 8u32.to_be_bytes().to_vec();
    pkt.extend_from_slice(&(2u32 << 16).to_be_bytes());
    t.write_all(&pkt).unwrap();
    let reply = read_all(t);
    assert_eq!(reply.first(), Some(&b'E'));
    assert!(String::from_utf8_lossy(&reply).contains("unsupported frontend protocol 2.0"));
    assert_server_healthy(&s);
}

#[test]
fn unknown_message_type_gets_fatal_08p01() {
    let s = Server::start();
    let mut t = session(&s);
    t.write_all(&[b'x', 0, 0, 0, 4]).unwrap();
    let reply = read_all(t);
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains("08P01") && text.contains("invalid frontend message type 120"),
        "{text}"
    );
    assert_server_healthy(&s);
}

#[test]
fn oversized_and_undersized_lengths_are_refused() {
    let s = Server::start();
    // A Sync claiming a gigabyte.
    let mut t = session(&s);
    t.write_all(&[b'S', 0x3f, 0xff, 0xff, 0xff]).unwrap();
    let text = String::from_utf8_lossy(&read_all(t)).to_string();
    assert!(text.contains("invalid message length"), "{text}");
    // A Query whose length is below the minimum.
    let mut t = session(&s);
    t.write_all(&[b'Q', 0, 0, 0, 2]).unwrap();
    let text = String::from_utf8_lossy(&read_all(t)).to_string();
    assert!(text.contains("invalid message length"), "{text}");
    // A startup packet claiming 2 GB.
    let mut t = connect(&s);
    t.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]).unwrap();
    let _ = read_all(t);
    assert_server_healthy(&s);
}

#[test]
fn truncated_message_then_hangup_ends_the_backend_quietly() {
    let s = Server::start();
    let mut t = session(&s);
    // Query of 100 bytes announced, 10 sent, then the client goes away.
    t.write_all(&[b'Q', 0, 0, 0, 104]).unwrap();
    t.write_all(b"SELECT 1; ").unwrap();
    drop(t);
    std::thread::sleep(Duration::from_millis(300));
    assert!(wait_until(Duration::from_secs(5), || s
        .children()
        .iter()
        .filter(|(_, t)| t.contains("127.0.0.1("))
        .count()
        == 0));
    assert_server_healthy(&s);
}

#[test]
fn query_without_terminator_and_random_bytes_do_not_panic() {
    let s = Server::start();
    let mut t = session(&s);
    t.write_all(&[b'Q', 0, 0, 0, 8, b'a', b'b', b'c', b'd'])
        .unwrap();
    let text = String::from_utf8_lossy(&read_all(t)).to_string();
    assert!(text.contains("08P01"), "{text}");
    // Deterministic pseudo-random byte streams after a good startup.
    let mut x: u32 = 12345;
    for _ in 0..20 {
        let mut t = session(&s);
        let mut junk = Vec::new();
        for _ in 0..200 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            junk.push((x >> 16) as u8);
        }
        let _ = t.write_all(&junk);
        drop(t);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_server_healthy(&s);
}

#[test]
fn extended_protocol_error_skips_messages_until_sync() {
    let s = Server::start();
    let mut t = session(&s);
    // Parse of bad SQL, then Bind/Describe/Execute (to be skipped), then Sync.
    let mut batch = frame(b'P', b"\0SELEC 1\0\0\0");
    batch.extend(frame(b'B', b"\0\0\0\0\0\0\0\0"));
    batch.extend(frame(b'D', b"P\0"));
    batch.extend(frame(b'E', b"\0\0\0\0\0"));
    batch.extend(frame(b'S', b""));
    t.write_all(&batch).unwrap();
    let msgs = read_until_ready(&mut t);
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(kinds, vec![b'E', b'Z'], "{msgs:?}");
    assert!(String::from_utf8_lossy(&msgs[0].1).contains("42601"));
    assert_eq!(msgs[1].1, vec![b'I']);

    // The same connection then runs a good statement through the protocol.
    let mut batch = frame(b'P', b"\0SELECT 1\0\0\0");
    batch.extend(frame(b'B', b"\0\0\0\0\0\0\0\0"));
    batch.extend(frame(b'E', b"\0\0\0\0\0"));
    batch.extend(frame(b'S', b""));
    t.write_all(&batch).unwrap();
    let msgs = read_until_ready(&mut t);
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(kinds, vec![b'1', b'2', b'D', b'C', b'Z'], "{msgs:?}");

    // A named statement cannot be prepared twice: 42P05.
    let mut batch = frame(b'P', b"s1\0SELECT 1\0\0\0");
    batch.extend(frame(b'P', b"s1\0SELECT 2\0\0\0"));
    batch.extend(frame(b'S', b""));
    t.write_all(&batch).unwrap();
    let msgs = read_until_ready(&mut t);
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(kinds, vec![b'1', b'E', b'Z'], "{msgs:?}");
    assert!(String::from_utf8_lossy(&msgs[1].1).contains("42P05"));
    assert_server_healthy(&s);
}

/// The SQLSTATE and message of each ErrorResponse among `msgs`.
fn errors_of(msgs: &[(u8, Vec<u8>)]) -> Vec<(String, String)> {
    msgs.iter()
        .filter(|m| m.0 == b'E')
        .map(|m| {
            let field = |k: u8| {
                m.1.split(|&b| b == 0)
                    .find(|f| f.first() == Some(&k))
                    .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
                    .unwrap_or_default()
            };
            (field(b'C'), field(b'M'))
        })
        .collect()
}

#[test]
fn parameter_counts_are_16_bit_unsigned_and_checked_as_postgresql_does() {
    let s = Server::start();
    let mut t = session(&s);
    let run = |t: &mut TcpStream, batch: Vec<u8>| {
        let mut batch = batch;
        batch.extend(frame(b'S', b""));
        t.write_all(&batch).unwrap();
        errors_of(&read_until_ready(t))
    };
    let err = |msg: &str| vec![("08P01".to_string(), msg.to_string())];
    // 40000 parameters (a count above i16::MAX) for a statement with none.
    let mut bind = b"\0\0\0\0".to_vec();
    bind.extend_from_slice(&40000u16.to_be_bytes());
    for _ in 0..40000 {
        bind.extend_from_slice(&(-1i32).to_be_bytes());
    }
    bind.extend_from_slice(b"\0\0");
    let mut batch = frame(b'P', b"\0SELECT 1\0\0\0");
    batch.extend(frame(b'B', &bind));
    assert_eq!(
        run(&mut t, batch),
        err("bind message supplies 40000 parameters, but prepared statement \"\" requires 0")
    );
    // 65535 declared parameter types, bound with none.
    let mut parse = b"\0SELECT 1\0".to_vec();
    parse.extend_from_slice(&65535u16.to_be_bytes());
    for _ in 0..65535 {
        parse.extend_from_slice(&23u32.to_be_bytes());
    }
    let mut batch = frame(b'P', &parse);
    batch.extend(frame(b'B', b"\0\0\0\0\0\0\0\0"));
    assert_eq!(
        run(&mut t, batch),
        err("bind message supplies 0 parameters, but prepared statement \"\" requires 65535")
    );
    // Two format codes for three parameters.
    let mut bind = b"\0\0\0\x02\0\0\0\0\0\x03".to_vec();
    for v in [b"1", b"2", b"3"] {
        bind.extend_from_slice(&1i32.to_be_bytes());
        bind.extend_from_slice(v);
    }
    bind.extend_from_slice(b"\0\0");
    let mut batch = frame(b'P', b"\0SELECT $1::int + $2::int + $3::int\0\0\0");
    batch.extend(frame(b'B', &bind));
    assert_eq!(
        run(&mut t, batch),
        err("bind message has 2 parameter formats but 3 parameters")
    );
    // A parameter number beyond what the protocol can count.
    assert_eq!(
        run(&mut t, frame(b'P', b"\0SELECT $70000::int\0\0\0")),
        vec![(
            "42P18".to_string(),
            "could not determine data type of parameter $1".to_string()
        )]
    );
    // A parameter length running past the message.
    let mut bind = b"\0\0\0\0\0\x01".to_vec();
    bind.extend_from_slice(&1000i32.to_be_bytes());
    bind.extend_from_slice(b"abc");
    let mut batch = frame(b'P', b"\0SELECT $1::text\0\0\0");
    batch.extend(frame(b'B', &bind));
    assert_eq!(run(&mut t, batch)[0].0, "08P01");
    assert_server_healthy(&s);
}

/// One entry of `tests/bad_input/statements.txt`.
struct Case {
    line: usize,
    expected: String,
    sql: String,
}

/// Expands `{{N|SEP|TEXT}}`: TEXT repeated N times joined by SEP, `{i}` in
/// TEXT replaced by the 1-based repetition number.
fn expand_repeats(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let body = &rest[open + 2..];
        let mut parts = body.splitn(3, '|');
        let n: usize = parts.next().unwrap().parse().expect("{{N|...}}: N");
        let sep = parts.next().expect("{{N|SEP|TEXT}}");
        let tail = parts.next().expect("{{N|SEP|TEXT}}");
        // The closing `}}` is the first one not followed by another `}`.
        let mut close = tail.find("}}").expect("unclosed {{");
        while tail[close + 2..].starts_with('}') {
            close += 1;
        }
        let text = &tail[..close];
        let items: Vec<String> = (1..=n)
            .map(|i| text.replace("{i}", &i.to_string()))
            .collect();
        out.push_str(&items.join(sep));
        rest = &tail[close + 2..];
    }
    out.push_str(rest);
    out
}

fn corpus(path: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let (expected, sql) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{path}:{}: no tab", i + 1));
            Case {
                line: i + 1,
                expected: expected.to_string(),
                sql: expand_repeats(sql),
            }
        })
        .collect()
}

#[test]
fn repeat_expansion_in_the_corpus() {
    assert_eq!(
        expand_repeats("a {{3|, |c{i} int}} b"),
        "a c1 int, c2 int, c3 int b"
    );
    assert_eq!(expand_repeats("SELECT {{2|, |{i}}}"), "SELECT 1, 2");
}

#[test]
fn hostile_statements_get_their_sqlstate_without_a_crash() {
    let s = Server::start();
    let mut client = s.connect();
    let mut failures = Vec::new();
    for case in corpus("tests/bad_input/statements.txt") {
        let got = match client.batch_execute(&case.sql) {
            Ok(()) => "ok".to_string(),
            Err(e) => match e.code() {
                Some(code) => code.code().to_string(),
                None => format!("no SQLSTATE ({e})"),
            },
        };
        if got != case.expected {
            let shown: String = case.sql.chars().take(120).collect();
            failures.push(format!(
                "line {}: expected {}, got {got}: {shown}",
                case.line, case.expected
            ));
        }
        if client.is_closed() {
            failures.push(format!("line {}: the connection was lost", case.line));
            client = s.connect();
        }
    }
    assert_no_crash(&s);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_server_healthy(&s);
}

/// Resident memory of a process in kB (from /proc).
fn rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_header_claiming_a_gigabyte_allocates_only_what_arrives() {
    let s = Server::start();
    let mut t = session(&s);
    let pid = wait_for_backend(&s);
    let before = rss_kb(pid);
    // A Query announcing 1 GiB - 1, then a few bytes of it.
    let len = (1u32 << 30) - 1;
    let mut head = vec![b'Q'];
    head.extend_from_slice(&len.to_be_bytes());
    head.extend_from_slice(b"SELECT 1");
    t.write_all(&head).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // More of the body trickles in: the buffer grows by what arrives.
    t.write_all(b" + 1, 2;").unwrap();
    let mut after = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        after = after.max(rss_kb(pid));
    }
    assert!(
        after < before + 16 * 1024,
        "the backend grew from {before} kB to {after} kB on 21 bytes of a message"
    );
    drop(t);
    assert_server_healthy(&s);
}

/// The pid of the one client backend (connected over TCP).
fn wait_for_backend(s: &Server) -> i32 {
    let mut pid = None;
    assert!(wait_until(Duration::from_secs(5), || {
        pid = s.child_pid("127.0.0.1(");
        pid.is_some()
    }));
    pid.unwrap()
}

/// A simple Query message of `n` copies of `stmt`.
fn many_statements(stmt: &str, n: usize) -> Vec<u8> {
    let mut body = stmt.repeat(n).into_bytes();
    body.push(0);
    frame(b'Q', &body)
}

/// Reads backend messages until an ErrorResponse or ReadyForQuery (or
/// EOF), returning the error's text if one came.
fn read_until_error_or_ready(t: &mut impl Read) -> Option<String> {
    let mut head = [0u8; 5];
    loop {
        if t.read_exact(&mut head).is_err() {
            return None;
        }
        let len = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        if t.read_exact(&mut body).is_err() {
            return None;
        }
        match head[0] {
            b'E' => return Some(String::from_utf8_lossy(&body).into_owned()),
            b'Z' => return None,
            _ => {}
        }
    }
}

#[test]
fn a_million_statement_message_is_parsed_in_bounded_memory() {
    let s = Server::start();
    let mut t = session(&s);
    let pid = wait_for_backend(&s);
    // 100,000 statements held about 490 MB of parse trees at once before.
    t.write_all(&many_statements("SELECT 1;", 100_000)).unwrap();
    let mut reader = t.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let done = std::thread::spawn(move || read_until_error_or_ready(&mut reader));
    let mut peak = 0;
    while !done.is_finished() {
        peak = peak.max(rss_kb(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(done.join().unwrap(), None, "the statements should all run");
    assert!(
        peak < 200 * 1024,
        "the backend peaked at {peak} kB for a 900 kB message"
    );
    assert_server_healthy(&s);
}

#[test]
fn cancel_and_terminate_take_effect_between_statements_of_one_message() {
    let s = Server::start();
    for (call, code) in [
        ("pg_cancel_backend", "57014"),
        ("pg_terminate_backend", "57P01"),
    ] {
        let mut t = session(&s);
        let pid = wait_for_backend(&s);
        // About a minute of work in a debug build, none of which sleeps or
        // scans (the places that check for interrupts within a statement).
        t.write_all(&many_statements("SELECT 1;", 500_000)).unwrap();
        let mut reader = t.try_clone().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let done = std::thread::spawn(move || read_until_error_or_ready(&mut reader));
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(s.psql(&format!("SELECT {call}({pid})")), "t");
        let sent = std::time::Instant::now();
        // Well under the minute the work takes, with room for a loaded
        // 2-core machine.
        assert!(
            wait_until(Duration::from_secs(30), || done.is_finished()),
            "{call} was not noticed within 30 s"
        );
        let error = done.join().unwrap().unwrap_or_default();
        assert!(error.contains(code), "{call}: {error:?}");
        assert!(sent.elapsed() < Duration::from_secs(30));
        drop(t);
    }
    assert_server_healthy(&s);
}

#[test]
fn a_query_holding_more_than_1_gb_of_rows_fails_with_53200_not_the_server() {
    let s = Server::start();
    let mut c = s.connect();
    // The DISTINCT values of an aggregate, about 1 MB each (sorts and
    // hash aggregation spill to temporary files instead:
    // tests/sort_spill.rs).
    for sql in ["SELECT count(DISTINCT repeat('z', 1000000) || g) FROM generate_series(1, 2000) g"]
    {
        let e = c.simple_query(sql).unwrap_err();
        assert_eq!(code(&e), "53200", "{sql}: {e}");
        assert_eq!(message(&e), "out of memory");
    }
    // A portal of the extended protocol still holds its rows (it returns
    // them in batches); the simple protocol streams them (next test).
    let e = c
        .query(
            "SELECT repeat('w', 1000000) || g FROM generate_series(1, 2000) g",
            &[],
        )
        .unwrap_err();
    assert_eq!(code(&e), "53200", "{e}");
    // The session and the server go on; the memory was given back.
    assert_eq!(
        Server::query_one(&mut c, "SELECT 42").as_deref(),
        Some("42")
    );
    assert_server_healthy(&s);
}

#[test]
fn a_simple_query_streams_a_result_larger_than_the_backend_may_hold() {
    let s = Server::start();
    let mut t = session(&s);
    let pid = wait_for_backend(&s);
    let before = rss_kb(pid);
    // About 1.5 GB of rows: past the 1 GB a statement may hold, so it
    // completes only if rows go out as they are made.
    let mut body = b"SELECT repeat('s', 1000000) || g FROM generate_series(1, 1500) g".to_vec();
    body.push(0);
    t.write_all(&frame(b'Q', &body)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let (mut rows, mut tag, mut peak) = (0, String::new(), 0);
    let mut head = [0u8; 5];
    loop {
        t.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        t.read_exact(&mut body).unwrap();
        match head[0] {
            b'D' => {
                rows += 1;
                if rows % 100 == 0 {
                    peak = peak.max(rss_kb(pid));
                }
            }
            b'C' => {
                tag = String::from_utf8_lossy(&body)
                    .trim_end_matches('\0')
                    .to_string()
            }
            b'E' => panic!("error: {}", String::from_utf8_lossy(&body)),
            b'Z' => break,
            _ => {}
        }
    }
    assert_eq!((rows, tag.as_str()), (1500, "SELECT 1500"));
    assert!(
        peak < before + 256 * 1024,
        "the backend grew from {before} kB to {peak} kB while streaming"
    );
    assert_server_healthy(&s);
}
