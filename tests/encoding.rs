//! client_encoding, end to end: real clients (psql with PGCLIENTENCODING,
//! the `postgres` crate, raw protocol messages) send bytes in an encoding,
//! and what is stored is checked through a UTF8 session. Expected messages
//! are PostgreSQL 15's, taken from the real server (the differential corpus
//! `tests/differential/encoding.sql` compares the UTF-8-only cases live).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

// ---------------------------------------------------------------------------
// psql with raw bytes
// ---------------------------------------------------------------------------

/// Runs the bytes `sql` as a psql script file with PGCLIENTENCODING=`enc`.
fn psql_file(s: &Server, enc: &str, sql: &[u8]) -> Output {
    let path = s.dir.0.join(format!("script-{enc}.sql"));
    std::fs::write(&path, sql).unwrap();
    Command::new(PSQL)
        .args(["-X", "-A", "-t", "-q", "-h"])
        .arg(&s.socket_dir)
        .args([
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-f",
        ])
        .arg(&path)
        .env("PGCLIENTENCODING", enc)
        .output()
        .expect("run psql")
}

/// The ERROR/FATAL/NOTICE lines psql printed, without its
/// `psql:FILE:LINE: ` prefix (LINE and caret lines are left out).
fn errors(out: &Output) -> Vec<Vec<u8>> {
    out.stderr
        .split(|&b| b == b'\n')
        .map(|l| match l.windows(2).position(|w| w == b": ") {
            Some(p) if l.starts_with(b"psql:") => &l[p + 2..],
            _ => l,
        })
        .filter(|l| {
            [&b"ERROR:"[..], b"FATAL:", b"NOTICE:"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| l.to_vec())
        .collect()
}

/// psql printed nothing on stderr: no error, warning or notice.
fn assert_quiet(out: &Output) {
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn latin1_bytes_from_psql_are_stored_as_utf8_and_sent_back_as_latin1() {
    let s = Server::start();
    let out = psql_file(
        &s,
        "LATIN1",
        b"CREATE TABLE t (v text);\n\
          INSERT INTO t VALUES ('caf\xe9'), ('\xc0 la mode');\n\
          SELECT v FROM t ORDER BY v;\n\
          SELECT pg_client_encoding();\n",
    );
    assert_quiet(&out);
    // psql printed what the server sent: LATIN1 bytes.
    assert_eq!(out.stdout, b"caf\xe9\n\xc0 la mode\nLATIN1\n");
    // A UTF8 session sees UTF-8 text: four characters, five bytes.
    assert_eq!(
        s.psql("SELECT v || ':' || length(v) || ':' || octet_length(v) FROM t ORDER BY v"),
        "café:4:5\nÀ la mode:9:10"
    );
    let mut c = s.connect();
    let v: String = c
        .query_one("SELECT v FROM t WHERE v LIKE 'caf%'", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, "café");
    assert_no_crash(&s);
}

#[test]
fn invalid_utf8_in_a_query_is_22021_and_the_session_goes_on() {
    let s = Server::start();
    let out = psql_file(
        &s,
        "UTF8",
        b"\\set VERBOSITY verbose\n\
          SELECT 'caf\xe9';\n\
          SELECT 'ok\xe2\x82';\n\
          SELECT '\xff';\n\
          SELECT 'still here';\n\
          BEGIN;\n\
          SELECT '\xe9x';\n\
          SELECT 1;\n\
          ROLLBACK;\n",
    );
    let errs: Vec<String> = errors(&out)
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(
        errs,
        [
            "ERROR:  22021: invalid byte sequence for encoding \"UTF8\": 0xe9 0x27 0x3b",
            "ERROR:  22021: invalid byte sequence for encoding \"UTF8\": 0xe2 0x82 0x27",
            "ERROR:  22021: invalid byte sequence for encoding \"UTF8\": 0xff",
            "ERROR:  22021: invalid byte sequence for encoding \"UTF8\": 0xe9 0x78 0x27",
            "ERROR:  25P02: current transaction is aborted, commands ignored until end of transaction block",
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "still here\n");
    assert_no_crash(&s);
}

#[test]
fn characters_the_client_encoding_lacks_fail_with_22p05() {
    let s = Server::start();
    s.psql("CREATE TABLE t (v text); INSERT INTO t VALUES ('ok'), ('price 5 €')");
    let out = psql_file(
        &s,
        "LATIN1",
        b"SELECT chr(8364);\n\
          SELECT v FROM t ORDER BY v;\n\
          SELECT 1 AS U&\"\\20AC\";\n\
          SELECT ('x' || chr(8364))::int;\n\
          SELECT chr(233);\n\
          SELECT convert_me;\n",
    );
    let untranslatable: &[u8] = b"ERROR:  character with byte sequence 0xe2 0x82 0xac in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\"";
    let errs = errors(&out);
    assert_eq!(errs.len(), 5, "{}", String::from_utf8_lossy(&out.stderr));
    // A value, a column name, and an error message that cannot be shown:
    // each is reported as the conversion failure, as PostgreSQL does.
    for e in &errs[..4] {
        assert_eq!(e, untranslatable, "{}", String::from_utf8_lossy(e));
    }
    assert_eq!(errs[4], b"ERROR:  column \"convert_me\" does not exist");
    // é is one LATIN1 byte (psql drops the rows sent before an error).
    assert_eq!(out.stdout, b"\xe9\n");
    // Nothing was lost: the stored value is intact for a UTF8 client.
    assert_eq!(s.psql("SELECT v FROM t WHERE v <> 'ok'"), "price 5 €");
    assert_no_crash(&s);
}

#[test]
fn win1252_and_koi8r_clients_convert_through_their_tables() {
    let s = Server::start();
    s.psql("CREATE TABLE t (enc text, v text)");
    let out = psql_file(
        &s,
        "WIN1252",
        b"INSERT INTO t VALUES ('win1252', '\x80 \x93q\x94');\nSELECT '\x81';\n",
    );
    assert_eq!(
        errors(&out),
        [b"ERROR:  character with byte sequence 0x81 in encoding \"WIN1252\" has no equivalent in encoding \"UTF8\"".to_vec()]
    );
    let out = psql_file(&s, "KOI8R", b"INSERT INTO t VALUES ('koi8r', '\xf0\xd2\xc9\xd7\xc5\xd4');\nSELECT v FROM t WHERE enc = 'koi8r';\n");
    assert_quiet(&out);
    assert_eq!(out.stdout, b"\xf0\xd2\xc9\xd7\xc5\xd4\n");
    assert_eq!(
        s.psql("SELECT enc || '=' || v FROM t ORDER BY enc"),
        "koi8r=Привет\nwin1252=€ “q”"
    );
}

#[test]
fn client_encoding_names_aliases_and_unsupported_encodings() {
    let s = Server::start();
    let mut c = s.connect();
    for (given, shown) in [
        ("latin1", "LATIN1"),
        ("ISO_8859_1", "LATIN1"),
        ("iso-8859-15", "LATIN9"),
        ("win", "WIN1251"),
        ("Windows-1250", "WIN1250"),
        ("koi8", "KOI8R"),
        ("unicode", "UTF8"),
        ("sql_ascii", "SQL_ASCII"),
    ] {
        c.batch_execute(&format!("SET client_encoding = '{given}'"))
            .unwrap();
        assert_eq!(
            Server::query_one(&mut c, "SHOW client_encoding").as_deref(),
            Some(shown),
            "{given}"
        );
        assert_eq!(
            Server::query_one(&mut c, "SELECT pg_client_encoding()").as_deref(),
            Some(shown)
        );
    }
    c.batch_execute("RESET client_encoding").unwrap();
    let err = |c: &mut postgres::Client, sql: &str| {
        let e = c.batch_execute(sql).unwrap_err();
        let db = e.as_db_error().expect("a server error").clone();
        (
            db.code().code().to_string(),
            db.message().to_string(),
            db.detail().map(str::to_string),
        )
    };
    assert_eq!(
        err(&mut c, "SET client_encoding = 'xyz'"),
        (
            "22023".into(),
            "invalid value for parameter \"client_encoding\": \"xyz\"".into(),
            None
        )
    );
    assert_eq!(
        err(&mut c, "SET client_encoding = 'MULE_INTERNAL'"),
        (
            "0A000".into(),
            "invalid value for parameter \"client_encoding\": \"MULE_INTERNAL\"".into(),
            Some("Conversion between MULE_INTERNAL and UTF8 is not supported.".into())
        )
    );
    // PostgreSQL converts EUC_JP; ferrogres does not, and says so instead
    // of accepting the name and sending UTF-8.
    assert_eq!(
        err(&mut c, "SET client_encoding = 'euc_jp'"),
        (
            "0A000".into(),
            "invalid value for parameter \"client_encoding\": \"euc_jp\"".into(),
            Some("Conversion between EUC_JP and UTF8 is not supported.".into())
        )
    );
    assert_eq!(
        Server::query_one(
            &mut c,
            "SELECT getdatabaseencoding() || ' ' || pg_client_encoding()"
        )
        .as_deref(),
        Some("UTF8 UTF8")
    );
    // In the startup packet: FATAL, as PostgreSQL's InitializeClientEncoding.
    let out = psql_file(&s, "EUC_JP", b"SELECT 1;\n");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("FATAL:  conversion between EUC_JP and UTF8 is not supported"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = psql_file(&s, "bogus", b"SELECT 1;\n");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("FATAL:  invalid value for parameter \"client_encoding\": \"bogus\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_crash(&s);
}

// ---------------------------------------------------------------------------
// The protocol itself
// ---------------------------------------------------------------------------

/// A raw session whose startup packet carries `client_encoding`; returns
/// the socket and the startup messages.
fn raw_session(s: &Server, client_encoding: &str) -> (TcpStream, Vec<(u8, Vec<u8>)>) {
    let mut t = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let pkt = startup_packet(&[
        ("user", "postgres"),
        ("database", "postgres"),
        ("client_encoding", client_encoding),
    ]);
    t.write_all(&pkt).unwrap();
    let msgs = read_until_ready(&mut t);
    (t, msgs)
}

/// Sends one simple Query with the raw bytes `sql`.
fn query(t: &mut TcpStream, sql: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut body = sql.to_vec();
    body.push(0);
    t.write_all(&frame(b'Q', &body)).unwrap();
    read_until_ready(t)
}

/// The ParameterStatus messages among `msgs`, as (name, value).
fn parameter_status(msgs: &[(u8, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    msgs.iter()
        .filter(|m| m.0 == b'S')
        .map(|m| {
            let mut parts = m.1.split(|&b| b == 0);
            let name = String::from_utf8_lossy(parts.next().unwrap()).into_owned();
            (name, parts.next().unwrap().to_vec())
        })
        .collect()
}

/// The first column of each DataRow among `msgs`.
fn first_column(msgs: &[(u8, Vec<u8>)]) -> Vec<Vec<u8>> {
    msgs.iter()
        .filter(|m| m.0 == b'D')
        .map(|m| {
            let len = i32::from_be_bytes(m.1[2..6].try_into().unwrap()) as usize;
            m.1[6..6 + len].to_vec()
        })
        .collect()
}

/// The SQLSTATE and message of each ErrorResponse among `msgs`.
fn error_fields(msgs: &[(u8, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    msgs.iter()
        .filter(|m| m.0 == b'E')
        .map(|m| {
            let mut code = String::new();
            let mut message = Vec::new();
            for f in m.1.split(|&b| b == 0).filter(|f| !f.is_empty()) {
                match f[0] {
                    b'C' => code = String::from_utf8_lossy(&f[1..]).into_owned(),
                    b'M' => message = f[1..].to_vec(),
                    _ => {}
                }
            }
            (code, message)
        })
        .collect()
}

#[test]
fn parameter_status_reports_each_client_encoding_change() {
    let s = Server::start();
    let (mut t, startup) = raw_session(&s, "latin-1");
    assert!(
        parameter_status(&startup).contains(&("client_encoding".into(), b"LATIN1".to_vec())),
        "{startup:?}"
    );
    let msgs = query(&mut t, b"SET client_encoding = 'win1252'");
    assert_eq!(
        parameter_status(&msgs),
        [("client_encoding".into(), b"WIN1252".to_vec())]
    );
    // SET inside a block that rolls back: reported on SET and on ROLLBACK,
    // and the conversion follows.
    query(&mut t, b"BEGIN");
    let msgs = query(&mut t, b"SET client_encoding = 'LATIN2'");
    assert_eq!(
        parameter_status(&msgs),
        [("client_encoding".into(), b"LATIN2".to_vec())]
    );
    let msgs = query(&mut t, b"SELECT ascii('\xb3')");
    assert_eq!(
        first_column(&msgs),
        [b"322".to_vec()],
        "LATIN2 0xb3 is U+0142"
    );
    let msgs = query(&mut t, b"SELECT '\xb3'");
    assert_eq!(first_column(&msgs), [b"\xb3".to_vec()]);
    let msgs = query(&mut t, b"ROLLBACK");
    assert_eq!(
        parameter_status(&msgs),
        [("client_encoding".into(), b"WIN1252".to_vec())]
    );
    // The conversion follows the setting: WIN1252 0x80 is the euro sign.
    let msgs = query(&mut t, b"SELECT '\x80', ascii('\x80')");
    assert_eq!(first_column(&msgs), [b"\x80".to_vec()]);
    let msgs = query(&mut t, b"SET client_encoding = 'UTF8'; SELECT 'x'");
    assert_eq!(
        parameter_status(&msgs),
        [("client_encoding".into(), b"UTF8".to_vec())]
    );
}

#[test]
fn extended_protocol_converts_names_parameters_and_results() {
    let s = Server::start();
    s.psql("CREATE TABLE t (id int, v text)");
    let (mut t, _) = raw_session(&s, "LATIN1");
    // Parse with a LATIN1 literal, Bind a LATIN1 text-format parameter,
    // Describe and Execute; then Sync.
    let mut batch = frame(
        b'P',
        b"ins\0INSERT INTO t VALUES (1, $1), (2, 'na\xefve') RETURNING v AS \"r\xe9sultat\"\0\0\0",
    );
    let mut bind = b"\0ins\0\0\0\0\x01".to_vec();
    bind.extend_from_slice(&5i32.to_be_bytes());
    bind.extend_from_slice(b"cr\xe8me");
    bind.extend_from_slice(b"\0\0");
    batch.extend(frame(b'B', &bind));
    batch.extend(frame(b'D', b"P\0"));
    batch.extend(frame(b'E', b"\0\0\0\0\0"));
    batch.extend(frame(b'S', b""));
    t.write_all(&batch).unwrap();
    let msgs = read_until_ready(&mut t);
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(kinds, b"12TDDCZ", "{msgs:?}");
    // The column name and the rows come back in LATIN1.
    assert!(
        msgs[2].1.windows(9).any(|w| w == b"r\xe9sultat\0"),
        "{:?}",
        msgs[2]
    );
    assert_eq!(
        first_column(&msgs),
        [b"cr\xe8me".to_vec(), b"na\xefve".to_vec()]
    );
    assert_eq!(
        s.psql("SELECT string_agg(v, ',' ORDER BY id) FROM t"),
        "crème,naïve"
    );

    // Invalid UTF-8 in a UTF8 session's Bind parameter: 22021, then Sync.
    let (mut u, _) = raw_session(&s, "UTF8");
    let mut batch = frame(b'P', b"\0SELECT $1::text\0\0\0");
    let mut bind = b"\0\0\0\0\0\x01".to_vec();
    bind.extend_from_slice(&4i32.to_be_bytes());
    bind.extend_from_slice(b"ab\xe9c");
    bind.extend_from_slice(b"\0\0");
    batch.extend(frame(b'B', &bind));
    batch.extend(frame(b'E', b"\0\0\0\0\0"));
    batch.extend(frame(b'S', b""));
    u.write_all(&batch).unwrap();
    let msgs = read_until_ready(&mut u);
    assert_eq!(
        error_fields(&msgs),
        [(
            "22021".into(),
            b"invalid byte sequence for encoding \"UTF8\": 0xe9 0x63".to_vec()
        )]
    );
    // ...and in a Parse.
    let mut batch = frame(b'P', b"\0SELECT '\xc3'\0\0\0");
    batch.extend(frame(b'S', b""));
    u.write_all(&batch).unwrap();
    let msgs = read_until_ready(&mut u);
    assert_eq!(
        error_fields(&msgs),
        [(
            "22021".into(),
            b"invalid byte sequence for encoding \"UTF8\": 0xc3 0x27".to_vec()
        )]
    );
    assert_no_crash(&s);
}

#[test]
fn sql_ascii_client_gets_server_bytes_and_must_send_utf8() {
    let s = Server::start();
    let (mut t, _) = raw_session(&s, "SQL_ASCII");
    let msgs = query(&mut t, "SELECT 'é€'".as_bytes());
    assert_eq!(first_column(&msgs), ["é€".as_bytes().to_vec()]);
    // With a UTF8 server, PostgreSQL checks SQL_ASCII input as UTF-8.
    let msgs = query(&mut t, b"SELECT '\xe9'");
    assert_eq!(
        error_fields(&msgs),
        [(
            "22021".into(),
            b"invalid byte sequence for encoding \"UTF8\": 0xe9 0x27".to_vec()
        )]
    );
}

/// Text in binary format, as the `postgres` crate asks for it: the raw
/// bytes of a value, whatever its type.
struct Raw(Vec<u8>);

impl<'a> postgres::types::FromSql<'a> for Raw {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
}

/// A text parameter sent as raw bytes in binary format (`textrecv`).
#[derive(Debug)]
struct RawParam(&'static [u8]);

impl postgres::types::ToSql for RawParam {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(postgres::types::IsNull::No)
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

#[test]
fn binary_text_values_of_the_postgres_crate_are_converted_too() {
    let s = Server::start();
    let mut c = s.connect();
    c.batch_execute("CREATE TABLE t (v text); SET client_encoding = 'LATIN1'")
        .unwrap();
    c.execute("INSERT INTO t VALUES ($1)", &[&RawParam(b"\xbfqu\xe9?")])
        .unwrap();
    let row = c.query_one("SELECT v, v || chr(252) FROM t", &[]).unwrap();
    assert_eq!(row.get::<_, Raw>(0).0, b"\xbfqu\xe9?");
    assert_eq!(row.get::<_, Raw>(1).0, b"\xbfqu\xe9?\xfc");
    let e = c.query_one("SELECT chr(8364)", &[]).unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("22P05"), "{e}");
    c.batch_execute("SET client_encoding = 'UTF8'").unwrap();
    let v: String = c.query_one("SELECT v FROM t", &[]).unwrap().get(0);
    assert_eq!(v, "¿qué?");
    let e = c
        .execute("INSERT INTO t VALUES ($1)", &[&RawParam(b"\xbfqu\xe9?")])
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("22021"), "{e}");
    assert_no_crash(&s);
}

#[test]
fn long_identifiers_are_truncated_with_postgresql_notice() {
    let s = Server::start();
    let long = "abcdefghij".repeat(7);
    let accented = "é".repeat(35);
    let out = s.psql_output(
        &format!("CREATE TABLE {long} (x int); SELECT 1 AS \"{accented}\" FROM {long}"),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let short = &long[..63];
    let clipped = "é".repeat(31);
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            format!("NOTICE:  identifier \"{long}\" will be truncated to \"{short}\""),
            format!("NOTICE:  identifier \"{accented}\" will be truncated to \"{clipped}\""),
            format!("NOTICE:  identifier \"{long}\" will be truncated to \"{short}\""),
        ]
    );
    assert_eq!(
        s.psql("SELECT relname FROM pg_class WHERE relname LIKE 'abcdefghij%'"),
        short
    );
}
