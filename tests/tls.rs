//! TLS as PostgreSQL does it: `ssl = on`, SSLRequest, hostssl/hostnossl,
//! client certificates (`cert`, `clientcert=`), SCRAM channel binding,
//! `pg_stat_ssl` and the sslinfo functions, the handshake in the backend
//! (hostile clients), PostgreSQL's FATALs for a bad key or certificate, and
//! three drivers (psycopg, node-postgres, pgjdbc) connecting with TLS.
//!
//! Certificates are made at test time with the `openssl` command: a CA, a
//! server certificate for `localhost` and `127.0.0.1`, client certificates
//! (one of them revoked in a CRL), and a second CA nobody trusts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command must be installed (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small PKI in a temporary directory.
struct Pki {
    dir: TempDir,
}

const CA_CONF: &str = "[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
";

impl Pki {
    fn new() -> Pki {
        let dir = TempDir::new("pki");
        let d = dir.0.clone();
        std::fs::write(d.join("ca.cnf"), CA_CONF).unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(
            d.join("client.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        for ca in ["ca", "rogue_ca"] {
            openssl(
                &d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-sha256",
                    "-days",
                    "30",
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.crt"),
                    "-subj",
                    &format!("/CN=ferrogres test {ca}"),
                ],
            );
        }
        let pki = Pki { dir };
        pki.issue("server", "/CN=localhost", "ca", "server.ext");
        for user in ["alice", "postgres", "revoked"] {
            pki.issue(
                user,
                &format!("/O=ferrogres tests/CN={user}"),
                "ca",
                "client.ext",
            );
        }
        pki.issue("rogue_alice", "/CN=alice", "rogue_ca", "client.ext");
        openssl(
            &d,
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-keyfile",
                "ca.key",
                "-cert",
                "ca.crt",
                "-revoke",
                "revoked.crt",
            ],
        );
        openssl(
            &d,
            &[
                "ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-gencrl",
                "-out", "ca.crl",
            ],
        );
        pki
    }

    fn issue(&self, name: &str, subject: &str, ca: &str, ext: &str) {
        let d = &self.dir.0;
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                subject,
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-sha256",
                "-days",
                "30",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-extfile",
                ext,
                "-out",
                &format!("{name}.crt"),
            ],
        );
        set_mode(&d.join(format!("{name}.key")), 0o600);
    }

    fn path(&self, file: &str) -> String {
        self.dir.0.join(file).display().to_string()
    }

    /// postgresql.conf lines for ssl = on with this PKI (absolute paths).
    fn conf(&self) -> Vec<String> {
        vec![
            "ssl = on".to_string(),
            format!("ssl_cert_file = '{}'", self.path("server.crt")),
            format!("ssl_key_file = '{}'", self.path("server.key")),
            format!("ssl_ca_file = '{}'", self.path("ca.crt")),
            format!("ssl_crl_file = '{}'", self.path("ca.crl")),
        ]
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// ---------------------------------------------------------------------------
// Servers and clients
// ---------------------------------------------------------------------------

const PASSWORD: &str = "s3cret";

fn tls_server(pki: &Pki, hba: &str, extra: &[&str]) -> Server {
    tls_server_with(pki.conf(), hba, extra)
}

fn tls_server_with(conf: Vec<String>, hba: &str, extra: &[&str]) -> Server {
    let mut b = Server::builder().password(PASSWORD).hba(hba);
    for line in conf {
        b = b.conf(&line);
    }
    for line in extra {
        b = b.conf(line);
    }
    b.start()
}

/// Adds login roles (no password) to the stand-in pg_authid.
fn add_roles(s: &Server, names: &[&str]) {
    use ferrogres::backend::auth::roles;
    let mut list = roles::load_roles(&s.data).unwrap();
    for (i, name) in names.iter().enumerate() {
        list.push(roles::Role {
            oid: 16384 + i as u32,
            name: name.to_string(),
            superuser: false,
            can_login: true,
            password: None,
        });
    }
    roles::write_roles(&s.data, &list).unwrap();
}

struct PsqlResult {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// psql with a conninfo string (PG* environment cleared).
fn psql(conninfo: &str, sql: &str, password: Option<&str>) -> PsqlResult {
    let mut cmd = Command::new(PSQL);
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-w",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
        conninfo,
    ]);
    for var in [
        "PGPASSWORD",
        "PGSSLMODE",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGSSLROOTCERT",
        "PGCHANNELBINDING",
    ] {
        cmd.env_remove(var);
    }
    // No ~/.postgresql/postgresql.crt or root.crt of the machine's user.
    cmd.env("HOME", "/nonexistent");
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().expect("run psql");
    PsqlResult {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

fn tcp(s: &Server, user: &str, extra: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={user} dbname=postgres connect_timeout=10 {extra}",
        s.port
    )
}

fn ok(r: PsqlResult, what: &str, s: &Server) -> String {
    assert!(
        r.ok,
        "{what} failed: {}\n--- log ---\n{}",
        r.stderr,
        s.log()
    );
    r.stdout
}

fn fails_with(r: PsqlResult, needle: &str, what: &str) {
    assert!(
        !r.ok,
        "{what} should have failed but printed {:?}",
        r.stdout
    );
    assert!(
        r.stderr.contains(needle),
        "{what}: expected {needle:?} in {:?}",
        r.stderr
    );
}

fn client_cert(pki: &Pki, name: &str) -> String {
    format!(
        "sslcert={} sslkey={}",
        pki.path(&format!("{name}.crt")),
        pki.path(&format!("{name}.key"))
    )
}

// ---------------------------------------------------------------------------
// sslmode, pg_stat_ssl, sslinfo
// ---------------------------------------------------------------------------

#[test]
fn psql_connects_with_every_sslmode_and_pg_stat_ssl_shows_the_session() {
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        &["log_connections = on"],
    );
    let sql = "SELECT ssl_is_used(), ssl_version() IS NOT NULL, ssl_client_cert_present()";
    let out = ok(
        psql(&tcp(&s, "postgres", "sslmode=disable"), sql, None),
        "disable",
        &s,
    );
    assert_eq!(out, "f|f|f");
    let out = ok(
        psql(&tcp(&s, "postgres", "sslmode=require"), sql, None),
        "require",
        &s,
    );
    assert_eq!(out, "t|t|f");
    assert!(
        s.log().contains("connection authorized: user=postgres database=postgres application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_"),
        "{}",
        s.log()
    );
    let root = format!("sslrootcert={}", pki.path("ca.crt"));
    let out = ok(
        psql(
            &tcp(&s, "postgres", &format!("sslmode=verify-ca {root}")),
            sql,
            None,
        ),
        "verify-ca",
        &s,
    );
    assert_eq!(out, "t|t|f");
    // verify-full by name and by address (the certificate has both).
    let by_name = format!(
        "host=localhost port={} user=postgres dbname=postgres sslmode=verify-full {root}",
        s.port
    );
    assert_eq!(
        ok(psql(&by_name, sql, None), "verify-full localhost", &s),
        "t|t|f"
    );
    let out = ok(
        psql(
            &tcp(&s, "postgres", &format!("sslmode=verify-full {root}")),
            sql,
            None,
        ),
        "verify-full 127.0.0.1",
        &s,
    );
    assert_eq!(out, "t|t|f");
    // A client that trusts another CA refuses the server.
    let rogue = format!("sslmode=verify-ca sslrootcert={}", pki.path("rogue_ca.crt"));
    fails_with(
        psql(&tcp(&s, "postgres", &rogue), sql, None),
        "certificate verify failed",
        "verify-ca against the wrong root",
    );

    // pg_stat_ssl: this session over TLS, another one over the Unix socket.
    let out = ok(
        psql(
            &tcp(&s, "postgres", "sslmode=require"),
            "SELECT ssl, version, cipher = ssl_cipher(), bits > 0, client_dn IS NULL, \
             client_serial IS NULL, issuer_dn IS NULL \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            None,
        ),
        "pg_stat_ssl",
        &s,
    );
    assert_eq!(out, "t|TLSv1.3|t|t|t|t|t");
    let out = s.psql(
        "SELECT ssl, version IS NULL, cipher IS NULL FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    assert_eq!(out, "f|t|t");
    assert_eq!(s.psql("SHOW ssl_library"), "rustls");
    assert_eq!(s.psql("SHOW ssl"), "on");
    // pg_stat_activity has no TLS columns and is unchanged.
    assert_eq!(
        s.psql("SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid()"),
        "1"
    );
    // Messages larger than a TLS record, both ways: a 100 kB query text
    // arrives in several records, 5 MB of rows go out in hundreds.
    let big = "x".repeat(100_000);
    let out = ok(
        psql(
            &tcp(&s, "postgres", "sslmode=require"),
            &format!(
                "SELECT length('{big}'); SELECT repeat('y', 100000) FROM generate_series(1, 50)"
            ),
            None,
        ),
        "large messages",
        &s,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "100000");
    assert_eq!(lines.len(), 51);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.len() == 100_000 && l.bytes().all(|b| b == b'y'))
    );
    // TLSv1.2 when the client asks for it, with OpenSSL's cipher name.
    let out = ok(
        psql(
            &tcp(
                &s,
                "postgres",
                "sslmode=require ssl_max_protocol_version=TLSv1.2",
            ),
            "SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            None,
        ),
        "TLSv1.2",
        &s,
    );
    assert!(out.starts_with("TLSv1.2|ECDHE-RSA-AES"), "{out}");
}

#[test]
fn hostssl_and_hostnossl_lines_match_only_their_kind_of_connection() {
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        &[],
    );
    ok(
        psql(&tcp(&s, "postgres", "sslmode=require"), "SELECT 1", None),
        "hostssl",
        &s,
    );
    fails_with(
        psql(&tcp(&s, "postgres", "sslmode=disable"), "SELECT 1", None),
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption",
        "plaintext on a hostssl-only server",
    );
    std::fs::write(
        s.data.join("pg_hba.conf"),
        "local all all trust\nhostnossl all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    s.psql("SELECT pg_reload_conf()");
    assert!(wait_until(Duration::from_secs(5), || {
        psql(&tcp(&s, "postgres", "sslmode=disable"), "SELECT 1", None).ok
    }));
    fails_with(
        psql(&tcp(&s, "postgres", "sslmode=require"), "SELECT 1", None),
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"postgres\", SSL encryption",
        "TLS on a hostnossl-only server",
    );
}

#[test]
fn ssl_off_answers_n_and_warns_about_hostssl_lines() {
    let s = Server::builder()
        .hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n")
        .start();
    let out = ok(
        psql(
            &tcp(&s, "postgres", "sslmode=prefer"),
            "SELECT ssl_is_used()",
            None,
        ),
        "prefer",
        &s,
    );
    assert_eq!(out, "f");
    fails_with(
        psql(&tcp(&s, "postgres", "sslmode=require"), "SELECT 1", None),
        "server does not support SSL, but SSL was required",
        "require against ssl = off",
    );
    let log = s.log();
    assert!(
        log.contains("hostssl record cannot match because SSL is disabled")
            && log.contains("HINT:  Set ssl = on in postgresql.conf."),
        "{log}"
    );
}

// ---------------------------------------------------------------------------
// Client certificates
// ---------------------------------------------------------------------------

#[test]
fn cert_authentication_accepts_the_certificate_of_the_user_only() {
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhostssl all all 127.0.0.1/32 cert\n",
        &[],
    );
    add_roles(&s, &["alice", "mallory", "revoked", "carol"]);
    // carol logs in with alice's certificate, through a user name map.
    std::fs::write(s.data.join("pg_ident.conf"), "certmap alice carol\n").unwrap();
    std::fs::write(
        s.data.join("pg_hba.conf"),
        "local all all trust\nhostssl all carol 127.0.0.1/32 cert map=certmap\nhostssl all all 127.0.0.1/32 cert\n",
    )
    .unwrap();
    s.psql("SELECT pg_reload_conf()");
    let carol = tcp(
        &s,
        "carol",
        &format!("sslmode=require {}", client_cert(&pki, "alice")),
    );
    assert!(
        wait_until(Duration::from_secs(5), || psql(&carol, "SELECT 1", None).ok),
        "carol with alice's certificate through certmap: {}",
        s.log()
    );
    assert_eq!(
        ok(psql(&carol, "SELECT current_user", None), "carol", &s),
        "carol"
    );
    fails_with(
        psql(
            &tcp(
                &s,
                "carol",
                &format!("sslmode=require {}", client_cert(&pki, "postgres")),
            ),
            "SELECT 1",
            None,
        ),
        "FATAL:  certificate authentication failed for user \"carol\"",
        "carol with a certificate the map does not pair with her",
    );
    assert!(s.wait_for_log(
        "no match in usermap \"certmap\" for user \"carol\" authenticated as \"postgres\"",
        Duration::from_secs(5)
    ));
    let out = ok(
        psql(
            &tcp(
                &s,
                "alice",
                &format!("sslmode=require {}", client_cert(&pki, "alice")),
            ),
            "SELECT current_user, ssl_client_cert_present(), ssl_client_dn(), ssl_issuer_dn(), \
             ssl_client_serial() > 0; \
             SELECT client_dn, issuer_dn, client_serial = ssl_client_serial() \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            None,
        ),
        "alice with her certificate",
        &s,
    );
    assert_eq!(
        out,
        "alice|t|/O=ferrogres tests/CN=alice|/CN=ferrogres test ca|t\n\
         /O=ferrogres tests/CN=alice|/CN=ferrogres test ca|t"
    );
    fails_with(
        psql(&tcp(&s, "alice", "sslmode=require"), "SELECT 1", None),
        "FATAL:  connection requires a valid client certificate",
        "alice without a certificate",
    );
    fails_with(
        psql(
            &tcp(
                &s,
                "mallory",
                &format!("sslmode=require {}", client_cert(&pki, "alice")),
            ),
            "SELECT 1",
            None,
        ),
        "FATAL:  certificate authentication failed for user \"mallory\"",
        "mallory with alice's certificate",
    );
    assert!(
        s.wait_for_log(
            "provided user name (mallory) and authenticated user name (alice) do not match",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    // Certificates the handshake refuses: another CA's, and a revoked one.
    for (user, cert) in [("alice", "rogue_alice"), ("revoked", "revoked")] {
        let r = psql(
            &tcp(
                &s,
                user,
                &format!("sslmode=require {}", client_cert(&pki, cert)),
            ),
            "SELECT 1",
            None,
        );
        assert!(!r.ok, "{cert} was accepted");
        assert!(!r.stderr.contains("FATAL"), "{cert}: {}", r.stderr);
    }
    assert!(
        s.wait_for_log(
            "could not accept SSL connection: invalid peer certificate: UnknownIssuer",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    assert!(
        s.wait_for_log(
            "could not accept SSL connection: invalid peer certificate: Revoked",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
}

#[test]
fn clientcert_options_require_a_certificate_on_password_lines() {
    let pki = Pki::new();
    // The CRL from a directory this time.
    let crl_dir = pki.dir.0.join("crls");
    std::fs::create_dir_all(&crl_dir).unwrap();
    std::fs::copy(pki.dir.0.join("ca.crl"), crl_dir.join("ca.r0")).unwrap();
    let mut conf = pki.conf();
    conf.retain(|l| !l.starts_with("ssl_crl_file"));
    conf.push(format!("ssl_crl_dir = '{}'", crl_dir.display()));
    let s = tls_server_with(
        conf,
        "local all all trust\n\
         hostssl all postgres 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n\
         hostssl all alice 127.0.0.1/32 trust clientcert=verify-ca\n",
        &[],
    );
    add_roles(&s, &["alice"]);
    // verify-full: the password and a certificate whose CN is the user.
    let out = ok(
        psql(
            &tcp(
                &s,
                "postgres",
                &format!("sslmode=require {}", client_cert(&pki, "postgres")),
            ),
            "SELECT current_user",
            Some(PASSWORD),
        ),
        "postgres with its certificate and password",
        &s,
    );
    assert_eq!(out, "postgres");
    fails_with(
        psql(
            &tcp(
                &s,
                "postgres",
                &format!("sslmode=require {}", client_cert(&pki, "alice")),
            ),
            "SELECT 1",
            Some(PASSWORD),
        ),
        "FATAL:  password authentication failed for user \"postgres\"",
        "postgres with alice's certificate",
    );
    assert!(s.wait_for_log(
        "certificate validation (clientcert=verify-full) failed for user \"postgres\": CN mismatch",
        Duration::from_secs(5)
    ));
    fails_with(
        psql(
            &tcp(&s, "postgres", "sslmode=require"),
            "SELECT 1",
            Some(PASSWORD),
        ),
        "connection requires a valid client certificate",
        "postgres without a certificate",
    );
    // verify-ca: any certificate of the CA will do, none will not.
    let out = ok(
        psql(
            &tcp(
                &s,
                "alice",
                &format!("sslmode=require {}", client_cert(&pki, "postgres")),
            ),
            "SELECT current_user",
            None,
        ),
        "alice with another valid certificate",
        &s,
    );
    assert_eq!(out, "alice");
    fails_with(
        psql(&tcp(&s, "alice", "sslmode=require"), "SELECT 1", None),
        "connection requires a valid client certificate",
        "alice without a certificate",
    );
    let r = psql(
        &tcp(
            &s,
            "alice",
            &format!("sslmode=require {}", client_cert(&pki, "revoked")),
        ),
        "SELECT 1",
        None,
    );
    assert!(!r.ok, "a certificate revoked in ssl_crl_dir was accepted");
    assert!(s.wait_for_log(
        "could not accept SSL connection: invalid peer certificate: Revoked",
        Duration::from_secs(5)
    ));
}

// ---------------------------------------------------------------------------
// SCRAM channel binding
// ---------------------------------------------------------------------------

#[test]
fn scram_channel_binding_works_over_tls_and_is_refused_without_it() {
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        &[],
    );
    let out = ok(
        psql(
            &tcp(&s, "postgres", "sslmode=require channel_binding=require"),
            "SELECT ssl_is_used()",
            Some(PASSWORD),
        ),
        "channel_binding=require",
        &s,
    );
    assert_eq!(out, "t");
    fails_with(
        psql(
            &tcp(&s, "postgres", "sslmode=require channel_binding=require"),
            "SELECT 1",
            Some("wrong"),
        ),
        "password authentication failed for user \"postgres\"",
        "channel binding with a wrong password",
    );
    // Without TLS there is nothing to bind to: libpq refuses.
    fails_with(
        psql(
            &tcp(&s, "postgres", "sslmode=disable channel_binding=require"),
            "SELECT 1",
            Some(PASSWORD),
        ),
        "channel binding required, but SSL not in use",
        "channel_binding=require without TLS",
    );
}

// ---------------------------------------------------------------------------
// Hostile clients: the handshake runs in the backend
// ---------------------------------------------------------------------------

fn ssl_request() -> Vec<u8> {
    let mut v = 8u32.to_be_bytes().to_vec();
    v.extend_from_slice(&80877103u32.to_be_bytes());
    v
}

fn read_all(sock: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    sock.set_read_timeout(Some(timeout)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no end of connection within {timeout:?}: {e} (got {out:?})"),
        }
    }
}

#[test]
fn hostile_clients_never_block_the_postmaster_and_time_out_in_their_backend() {
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        &["authentication_timeout = 2s"],
    );
    let addr = format!("127.0.0.1:{}", s.port);

    // Plaintext sent together with the SSLRequest: refused before any handshake.
    let mut sock = TcpStream::connect(&addr).unwrap();
    let mut packet = ssl_request();
    packet.extend_from_slice(b"\0\0\0\x08\0\x03\0\0injected");
    sock.write_all(&packet).unwrap();
    let reply = read_all(&mut sock, Duration::from_secs(10));
    assert_eq!(reply.first(), Some(&b'S'), "{reply:?}");
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains("C08P01") && text.contains("received unencrypted data after SSL request"),
        "{text:?}"
    );

    // Garbage instead of a ClientHello: the backend gives up, the log says why.
    let mut sock = TcpStream::connect(&addr).unwrap();
    sock.write_all(&ssl_request()).unwrap();
    let mut s_byte = [0u8; 1];
    sock.read_exact(&mut s_byte).unwrap();
    assert_eq!(&s_byte, b"S");
    sock.write_all(b"\x16\x03\x01\x00\x05hello, this is no handshake")
        .unwrap();
    read_all(&mut sock, Duration::from_secs(10));
    assert!(s.wait_for_log("could not accept SSL connection:", Duration::from_secs(5)));

    // Clients that stall: after 'S', and halfway through a record.
    let mut stalled = Vec::new();
    for partial in [&b""[..], &b"\x16\x03\x01\x02\x00\x01"[..]] {
        let mut sock = TcpStream::connect(&addr).unwrap();
        sock.write_all(&ssl_request()).unwrap();
        sock.read_exact(&mut s_byte).unwrap();
        sock.write_all(partial).unwrap();
        stalled.push(sock);
    }
    let start = Instant::now();
    // Meanwhile the postmaster accepts and serves others, over TLS and not.
    for mode in ["require", "disable", "require"] {
        ok(
            psql(
                &tcp(&s, "postgres", &format!("sslmode={mode}")),
                "SELECT 1",
                None,
            ),
            mode,
            &s,
        );
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "served while stalled ones wait"
    );
    // The stalled backends end at authentication_timeout.
    for mut sock in stalled {
        read_all(&mut sock, Duration::from_secs(10));
    }
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
        "stalled handshakes ended after {waited:?}"
    );
    assert_eq!(s.psql("SELECT 1"), "1");
}

#[test]
fn a_forged_record_after_the_handshake_ends_the_session_with_an_ssl_error() {
    use rustls::pki_types::pem::PemObject;
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        &[],
    );
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(pki.path("ca.crt")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let mut sock = TcpStream::connect(format!("127.0.0.1:{}", s.port)).unwrap();
    sock.write_all(&ssl_request()).unwrap();
    let mut s_byte = [0u8; 1];
    sock.read_exact(&mut s_byte).unwrap();
    assert_eq!(&s_byte, b"S");
    let mut client =
        rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    while client.is_handshaking() {
        client.complete_io(&mut sock).unwrap();
    }
    // An application-data record that no key produced.
    let mut forged = b"\x17\x03\x03\x00\x20".to_vec();
    forged.extend_from_slice(&[0x42; 32]);
    sock.write_all(&forged).unwrap();
    read_all(&mut sock, Duration::from_secs(10));
    assert!(
        s.wait_for_log("LOG:  SSL error: ", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    assert_eq!(s.psql("SELECT 1"), "1");
}

// ---------------------------------------------------------------------------
// Configuration errors
// ---------------------------------------------------------------------------

/// initdb, then `ferrogres server` with `conf`, which must exit; returns its output.
fn start_must_fail(conf: &[String]) -> String {
    let dir = TempDir::new("tlsfatal");
    let data = dir.0.join("data");
    let out = Command::new(BIN)
        .args(["initdb", "-D"])
        .arg(&data)
        .args(["-U", "postgres"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let sock = dir.0.join("sock");
    std::fs::create_dir_all(&sock).unwrap();
    let mut text = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    text.push_str(&format!(
        "\nport = {}\nunix_socket_directories = '{}'\nlisten_addresses = '127.0.0.1'\n",
        free_port(),
        sock.display()
    ));
    for l in conf {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(data.join("postgresql.conf"), text).unwrap();
    let mut child = Command::new(BIN)
        .args(["server", "-D"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "the server exited 0");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started although it should have refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

#[test]
fn a_bad_key_or_certificate_is_fatal_at_start_with_postgresql_messages() {
    let pki = Pki::new();
    // A key file readable by the group.
    let key_copy = pki.dir.0.join("group_readable.key");
    std::fs::copy(pki.dir.0.join("server.key"), &key_copy).unwrap();
    set_mode(&key_copy, 0o640);
    let mut conf = pki.conf();
    conf[2] = format!("ssl_key_file = '{}'", key_copy.display());
    let log = start_must_fail(&conf);
    assert!(
        log.contains(&format!(
            "FATAL:  private key file \"{}\" has group or world access",
            key_copy.display()
        )) && log.contains("DETAIL:  File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root."),
        "{log}"
    );
    // The default names, relative to the data directory, which has none.
    let log = start_must_fail(&["ssl = on".to_string()]);
    assert!(
        log.contains("FATAL:  could not load server certificate file \"server.crt\": No such file or directory"),
        "{log}"
    );
    // A key that is not the certificate's.
    let mut conf = pki.conf();
    conf[2] = format!("ssl_key_file = '{}'", pki.path("alice.key"));
    let log = start_must_fail(&conf);
    assert!(
        log.contains("FATAL:  check of private key failed: key values mismatch"),
        "{log}"
    );
    // What rustls cannot do is refused, not ignored.
    let mut conf = pki.conf();
    conf.push("ssl_passphrase_command = 'echo x'".to_string());
    let log = start_must_fail(&conf);
    assert!(
        log.contains("FATAL:  ssl_passphrase_command is not supported by ferrogres"),
        "{log}"
    );
    let mut conf = pki.conf();
    conf.push("ssl_max_protocol_version = 'TLSv1.1'".to_string());
    let log = start_must_fail(&conf);
    assert!(
        log.contains(
            "\"ssl_max_protocol_version\" setting \"TLSv1.1\" not supported by this build"
        ),
        "{log}"
    );
    let mut conf = pki.conf();
    conf.push("ssl_ecdh_curve = 'nosuchcurve'".to_string());
    let log = start_must_fail(&conf);
    assert!(
        log.contains("FATAL:  ECDH: unrecognized curve name: nosuchcurve"),
        "{log}"
    );
}

#[test]
fn ssl_settings_reload_on_sighup_and_a_failed_reload_keeps_the_old_ones() {
    let pki = Pki::new();
    let s = tls_server(
        &pki,
        "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        &["ssl_ciphers = 'HIGH:!aNULL:!MD5'"],
    );
    // An OpenSSL cipher list cannot be applied: said, not silently ignored.
    assert!(
        s.log().contains("WARNING:  ssl_ciphers = 'HIGH:!aNULL:!MD5' is not applied: rustls offers its own fixed set of cipher suites"),
        "{}",
        s.log()
    );
    let tls12 = tcp(
        &s,
        "postgres",
        "sslmode=require ssl_max_protocol_version=TLSv1.2",
    );
    ok(psql(&tls12, "SELECT 1", None), "TLSv1.2 client", &s);
    // Only TLSv1.3 from now on: a TLSv1.2-only client is refused.
    let conf_path = s.data.join("postgresql.conf");
    let mut conf = std::fs::read_to_string(&conf_path).unwrap();
    conf.push_str("ssl_min_protocol_version = 'TLSv1.3'\n");
    std::fs::write(&conf_path, &conf).unwrap();
    s.psql("SELECT pg_reload_conf()");
    assert!(wait_until(Duration::from_secs(5), || !psql(
        &tls12, "SELECT 1", None
    )
    .ok));
    assert!(s.wait_for_log("could not accept SSL connection", Duration::from_secs(5)));
    // A reload with a missing certificate keeps the configuration that works.
    conf.push_str("ssl_cert_file = 'missing.crt'\n");
    std::fs::write(&conf_path, &conf).unwrap();
    s.psql("SELECT pg_reload_conf()");
    assert!(
        s.wait_for_log("SSL configuration was not reloaded", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    assert!(s.log().contains(
        "LOG:  could not load server certificate file \"missing.crt\": No such file or directory"
    ));
    let out = ok(
        psql(
            &tcp(&s, "postgres", "sslmode=require"),
            "SELECT ssl_version()",
            None,
        ),
        "after a failed reload",
        &s,
    );
    assert_eq!(out, "TLSv1.3");
}

// ---------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------

fn drivers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers")
}

fn run_driver(mut cmd: Command, what: &str, s: &Server) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} is not installed (scripts/deps.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}\n--- log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn driver_server(pki: &Pki) -> Server {
    tls_server(
        pki,
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        &[],
    )
}

#[test]
fn psycopg_connects_with_verify_full_and_channel_binding() {
    let pki = Pki::new();
    let s = driver_server(&pki);
    let mut cmd = Command::new("python3");
    cmd.arg(drivers_dir().join("psycopg_ssl.py"))
        .arg(s.port.to_string())
        .arg(PASSWORD)
        .arg(pki.path("ca.crt"))
        .env("HOME", "/nonexistent");
    assert_eq!(run_driver(cmd, "psycopg 3", &s), "True|TLSv1.3");
}

#[test]
fn node_postgres_connects_with_tls_and_channel_binding() {
    let pki = Pki::new();
    let s = driver_server(&pki);
    let dir = drivers_dir().join("node");
    assert!(
        dir.join("node_modules/pg").exists(),
        "node-postgres is not installed: run scripts/deps.sh (npm ci in tests/drivers/node)"
    );
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir)
        .arg("ssl_check.js")
        .arg(s.port.to_string())
        .arg(PASSWORD)
        .arg(pki.path("ca.crt"));
    assert_eq!(run_driver(cmd, "node-postgres", &s), "true|TLSv1.3");
}

#[test]
fn pgjdbc_connects_with_sslmode_require() {
    const JAR: &str = "/usr/share/java/postgresql.jar";
    assert!(
        Path::new(JAR).exists(),
        "pgjdbc is not installed: run scripts/deps.sh (Debian libpostgresql-jdbc-java)"
    );
    let pki = Pki::new();
    let s = driver_server(&pki);
    let classes = TempDir::new("jdbc");
    let out = Command::new("javac")
        .arg("-d")
        .arg(&classes.0)
        .arg(drivers_dir().join("jdbc/SslCheck.java"))
        .output()
        .expect("javac is not installed (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = Command::new("java");
    cmd.arg("-cp")
        .arg(format!("{JAR}:{}", classes.0.display()))
        .arg("SslCheck")
        .arg(s.port.to_string())
        .arg(PASSWORD);
    assert_eq!(run_driver(cmd, "pgjdbc", &s), "true|TLSv1.3");
}
