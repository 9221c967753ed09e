//! Client authentication: PostgreSQL's `hba.c`, `auth.c`, `crypt.c` and
//! `auth-scram.c`, in our terms.
//!
//! ## Where it sits
//!
//! A backend, after reading the startup packet, asks [`HbaFile::find`] which
//! pg_hba.conf line governs `(connection kind, database, user)`, looks the
//! user up with [`roles::load_roles`] / [`roles::find_role`], and calls
//! [`authenticate`] with that line. `authenticate` talks to the client only
//! through [`AuthChannel`] — it sends `AuthenticationXxx` requests and reads
//! `'p'` messages — so the protocol layer owns framing and sockets and this
//! module owns the decisions. `Ok(())` means authenticated: the caller then
//! sends AuthenticationOk and goes on with session start-up, where (as in
//! PostgreSQL's `InitializeSessionUserId`) it must still check that the role
//! exists and has `can_login` — `trust` lets a nonexistent role through here.
//!
//! ```text
//!   startup packet ──> HbaFile::find ──> authenticate(line) ──> AuthenticationOk
//!                        │ no line: FATAL 28000     │ trust: nothing sent
//!                        │ "no pg_hba.conf entry"   │ reject: FATAL 28000
//!                                                   │ password: 'R'3, 'p' cleartext
//!                                                   │ md5: 'R'5+salt, 'p' md5 hash
//!                                                   │ scram-sha-256: 'R'10/11/12, 'p'...
//! ```
//!
//! ## Invariants
//!
//! - The first matching hba line decides; a failure under that line ends the
//!   connection, there is no fall-through to later lines.
//! - Every password failure looks the same to the client: FATAL 28P01
//!   `password authentication failed for user "..."` whether the role is
//!   missing, has no password, or the password is wrong. The real reason is
//!   in `detail`, which the caller must only log (PostgreSQL's
//!   `errdetail_log`), followed by `Connection matched pg_hba.conf line N`.
//! - `md5` and `scram-sha-256` run a full challenge even for a role that
//!   cannot succeed, against a mock secret; see [`scram`].
//! - Client input never reaches a panic: malformed messages are FATAL 08P01.
//! - Errors from the channel (a vanished client, a wrong message type) are
//!   returned unchanged, so the caller can stay silent on a plain disconnect
//!   as PostgreSQL does (`STATUS_EOF`).
//!
//! ## Method rules (PostgreSQL 15)
//!
//! | line method     | stored SCRAM secret | stored MD5 hash | no role / no password |
//! |-----------------|---------------------|-----------------|-----------------------|
//! | `password`      | cleartext, checked against the secret | cleartext, hashed and compared | cleartext asked, then fail |
//! | `md5`           | SCRAM exchange      | MD5 challenge   | mock SCRAM exchange, fail |
//! | `scram-sha-256` | SCRAM exchange      | mock SCRAM, fail| mock SCRAM exchange, fail |
//!
//! `peer` and `ident` are parsed but refused at connect time with FATAL 28000
//! `Peer authentication failed ...` / `Ident authentication failed ...`, the
//! log detail saying ferrogres does not support them.
//!
//! ## Client certificates (PostgreSQL's `CheckCertAuth()`)
//!
//! On a line with `clientcert=verify-ca|verify-full`, or with the `cert`
//! method (which implies `verify-full`), the connection must have presented
//! a client certificate; the TLS handshake already verified it against
//! `ssl_ca_file` (and the CRLs), so here only its presence counts (FATAL 08P01
//! `connection requires a valid client certificate`, or F0000 when no CA file
//! is loaded). Then the method runs (`cert` is `trust` at this step), and for
//! `cert` and `verify-full` the certificate's CN (or RFC 2253 DN with
//! `clientname=DN`) must equal the user name. A mismatch fails with the
//! method's usual message (`certificate authentication failed for user`,
//! `password authentication failed for user` on an scram line with
//! verify-full), the reason in the log-only detail. With `map=NAME` the
//! pair (certificate name, user) must be a line of map NAME in
//! pg_ident.conf instead ([`ident`]).
//!
//! ## Channel binding
//!
//! On a TLS connection SCRAM offers `SCRAM-SHA-256-PLUS` first, with
//! `tls-server-end-point` binding to the server certificate's hash; see
//! [`scram`].
//!
//! ## Where passwords live
//!
//! In `rolpassword` of the role, in PostgreSQL's formats, in the stand-in
//! file `DATA_DIR/global/pg_authid` (see [`roles`]). Cleartext is never stored.
//!
//! ## Crash behaviour
//!
//! Authentication keeps no shared state. The only file it writes is the roles
//! file, replaced atomically (see [`roles::write_roles`]).

pub mod hba;
pub mod ident;
pub mod roles;
pub mod scram;

pub use hba::{AuthMethod, ClientCert, ClientName, ConnKind, ConnType, HbaFile, HbaLine};
pub use ident::IdentFile;
pub use roles::{Role, find_role, load_roles, md5_password, scram_verifier, write_roles};
pub use scram::set_mock_auth_nonce;

use crate::protocol::tls::SslStatus;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use scram::{SaslOutcome, ScramSecret, check_sasl_auth, constant_time_eq, strong_random};

/// AuthenticationCleartextPassword.
pub const AUTH_REQ_PASSWORD: i32 = 3;
/// AuthenticationMD5Password; data is the 4-byte salt.
pub const AUTH_REQ_MD5: i32 = 5;
/// AuthenticationSASL; data is the mechanism list.
pub const AUTH_REQ_SASL: i32 = 10;
/// AuthenticationSASLContinue.
pub const AUTH_REQ_SASL_CONT: i32 = 11;
/// AuthenticationSASLFinal.
pub const AUTH_REQ_SASL_FIN: i32 = 12;

/// `PG_MAX_AUTH_TOKEN_LENGTH`: the longest password or SASL message accepted,
/// counting the 4-byte length word as the wire does. Channels should refuse
/// longer messages before reading them; [`authenticate`] checks again.
pub const PG_MAX_AUTH_TOKEN_LENGTH: usize = 65535;

/// The client side of the connection, as authentication needs it.
pub trait AuthChannel {
    /// Sends AuthenticationXxx: code 3 (cleartext), 5 (MD5, data = 4-byte
    /// salt), 10 (SASL, data = mechanism list "SCRAM-SHA-256\0\0"), 11
    /// (SASLContinue), 12 (SASLFinal). The caller frames the 'R' message.
    fn send_auth_request(&mut self, code: i32, data: &[u8]) -> std::io::Result<()>;
    /// Reads the next client message, which must be a 'p' message; returns
    /// its body. Err(PgError FATAL 08P01) for anything else; a vanished
    /// client is Err too.
    fn read_password_message(&mut self) -> PgResult<Vec<u8>>;
}

/// Sends one request, turning a socket failure into FATAL 08006.
pub(crate) fn send_auth(chan: &mut dyn AuthChannel, code: i32, data: &[u8]) -> PgResult<()> {
    chan.send_auth_request(code, data).map_err(|e| {
        PgError::fatal(
            sqlstate::CONNECTION_FAILURE,
            format!("could not send data to client: {e}"),
        )
    })
}

/// Reads one 'p' message body, bounded by [`PG_MAX_AUTH_TOKEN_LENGTH`].
pub(crate) fn read_auth_message(chan: &mut dyn AuthChannel) -> PgResult<Vec<u8>> {
    let body = chan.read_password_message()?;
    if body.len() + 4 > PG_MAX_AUTH_TOKEN_LENGTH {
        return Err(PgError::fatal(
            sqlstate::PROTOCOL_VIOLATION,
            "invalid message length",
        ));
    }
    Ok(body)
}

/// Runs the method of `line` for `user` (`ClientAuthentication()`).
///
/// `role` is the `pg_authid` row of `user`, if there is one; `ssl` the
/// connection's TLS state (None on plaintext); `ident` the user name maps.
/// `Ok(())` means authenticated;
/// the caller sends AuthenticationOk. On failure the error is FATAL and its
/// `detail`, when present, is for the server log only.
pub fn authenticate(
    chan: &mut dyn AuthChannel,
    line: &HbaLine,
    conn: &ConnKind,
    database: &str,
    role: Option<&Role>,
    user: &str,
    ssl: Option<&SslStatus>,
    ident: &IdentFile,
) -> PgResult<()> {
    if line.clientcert != ClientCert::Off {
        // Only hostssl lines have clientcert, and they match only TLS.
        let loaded = ssl.is_some_and(|s| s.ca_loaded);
        if !loaded {
            return Err(PgError::fatal(
                sqlstate::CONFIG_FILE_ERROR,
                "client certificates can only be checked if a root certificate store is available",
            ));
        }
        if ssl.and_then(|s| s.peer.as_ref()).is_none() {
            return Err(PgError::fatal(
                sqlstate::PROTOCOL_VIOLATION,
                "connection requires a valid client certificate",
            ));
        }
    }
    match line.method {
        AuthMethod::Trust | AuthMethod::Cert => Ok(()),
        AuthMethod::Reject => Err(PgError::fatal(
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!("pg_hba.conf rejects connection for host \"{}\", user \"{user}\", database \"{database}\", {}", conn.remote_host(), conn.encryption_state()),
        )
        .with_detail(matched_line_detail(line))),
        AuthMethod::Peer => Err(auth_failed(line, user, Some("Peer authentication is not supported by ferrogres.".to_string()))),
        AuthMethod::Ident => Err(auth_failed(line, user, Some("Ident authentication is not supported by ferrogres.".to_string()))),
        AuthMethod::Password => check_password_auth(chan, line, role, user),
        AuthMethod::Md5 | AuthMethod::ScramSha256 => {
            let binding = ssl.and_then(|s| s.server_cert_hash.as_deref());
            check_pw_challenge_auth(chan, line, role, user, binding)
        }
    }?;
    if line.method == AuthMethod::Cert || line.clientcert == ClientCert::VerifyFull {
        check_cert_auth(line, user, ssl, ident)?;
    }
    Ok(())
}

/// `CheckCertAuth()`: the certificate's CN (or DN) must be the user name.
fn check_cert_auth(
    line: &HbaLine,
    user: &str,
    ssl: Option<&SslStatus>,
    ident: &IdentFile,
) -> PgResult<()> {
    let peer = ssl.and_then(|s| s.peer.as_ref());
    let name = match line.clientname {
        ClientName::Cn => peer.and_then(|p| p.cn.clone()),
        ClientName::Dn => peer.map(|p| p.dn.clone()),
    };
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(auth_failed(
            line,
            user,
            Some(format!(
                "certificate authentication failed for user \"{user}\": client certificate contains no user name"
            )),
        ));
    };
    let map = line
        .options
        .iter()
        .find(|(k, _)| k == "map")
        .map(|(_, v)| v.as_str());
    let Err(mut detail) = ident.check_usermap(map, user, &name) else {
        return Ok(());
    };
    if line.method != AuthMethod::Cert {
        let which = match line.clientname {
            ClientName::Cn => "CN",
            ClientName::Dn => "DN",
        };
        detail.push_str(&format!(
            "\ncertificate validation (clientcert=verify-full) failed for user \"{user}\": {which} mismatch"
        ));
    }
    Err(auth_failed(line, user, Some(detail)))
}

fn matched_line_detail(line: &HbaLine) -> String {
    format!(
        "Connection matched pg_hba.conf line {}: \"{}\"",
        line.line_number, line.raw
    )
}

/// `auth_failed()`: the client-visible message depends only on the method.
fn auth_failed(line: &HbaLine, user: &str, logdetail: Option<String>) -> PgError {
    let (code, message) = match line.method {
        AuthMethod::Reject => (
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!("authentication failed for user \"{user}\": host rejected"),
        ),
        AuthMethod::Trust => (
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!("\"trust\" authentication failed for user \"{user}\""),
        ),
        AuthMethod::Ident => (
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!("Ident authentication failed for user \"{user}\""),
        ),
        AuthMethod::Peer => (
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!("Peer authentication failed for user \"{user}\""),
        ),
        AuthMethod::Cert => (
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!("certificate authentication failed for user \"{user}\""),
        ),
        AuthMethod::Password | AuthMethod::Md5 | AuthMethod::ScramSha256 => (
            sqlstate::INVALID_PASSWORD,
            format!("password authentication failed for user \"{user}\""),
        ),
    };
    let detail = match logdetail {
        Some(d) => format!("{d}\n{}", matched_line_detail(line)),
        None => matched_line_detail(line),
    };
    PgError::fatal(code, message).with_detail(detail)
}

/// What kind of `rolpassword` a role has (`get_password_type()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PasswordType {
    Md5,
    ScramSha256,
    /// Neither form; PostgreSQL never stores these, but a hand-edited file could.
    Plaintext,
}

fn password_type(shadow: &str) -> PasswordType {
    if roles::is_md5_password(shadow) {
        PasswordType::Md5
    } else if ScramSecret::parse(shadow).is_some() {
        PasswordType::ScramSha256
    } else {
        PasswordType::Plaintext
    }
}

/// `get_role_password()`: the stored password, or the log-only reason there is none.
fn role_password<'r>(role: Option<&'r Role>, user: &str) -> Result<&'r str, String> {
    let Some(role) = role else {
        return Err(format!("Role \"{user}\" does not exist."));
    };
    match role.password.as_deref() {
        Some(p) => Ok(p),
        None => Err(format!("User \"{user}\" has no password assigned.")),
    }
}

/// `recv_password_packet()`: a 'p' message holding one C string, not empty.
fn recv_password_packet(chan: &mut dyn AuthChannel) -> PgResult<Vec<u8>> {
    let mut body = read_auth_message(chan)?;
    // The body must be exactly one NUL-terminated string.
    let nul = body.iter().position(|&b| b == 0);
    if nul != Some(body.len().wrapping_sub(1)) {
        return Err(PgError::fatal(
            sqlstate::PROTOCOL_VIOLATION,
            "invalid password packet size",
        ));
    }
    body.pop();
    if body.is_empty() {
        return Err(PgError::fatal(
            sqlstate::INVALID_PASSWORD,
            "empty password returned by client",
        ));
    }
    Ok(body)
}

/// `CheckPasswordAuth()`: cleartext password, checked against either stored form.
fn check_password_auth(
    chan: &mut dyn AuthChannel,
    line: &HbaLine,
    role: Option<&Role>,
    user: &str,
) -> PgResult<()> {
    send_auth(chan, AUTH_REQ_PASSWORD, &[])?;
    let password = recv_password_packet(chan)?;
    let shadow =
        role_password(role, user).map_err(|detail| auth_failed(line, user, Some(detail)))?;
    // `plain_crypt_verify()`.
    let ok = match password_type(shadow) {
        PasswordType::ScramSha256 => ScramSecret::parse(shadow)
            .expect("password_type checked the secret parses")
            .verify_plain_password(&password),
        PasswordType::Md5 => constant_time_eq(
            roles::md5_hex_with_prefix(&password, user.as_bytes()).as_bytes(),
            shadow.as_bytes(),
        ),
        PasswordType::Plaintext => {
            return Err(auth_failed(
                line,
                user,
                Some(format!(
                    "Password of user \"{user}\" is in unrecognized format."
                )),
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(auth_failed(
            line,
            user,
            Some(format!("Password does not match for user \"{user}\".")),
        ))
    }
}

/// `CheckPWChallengeAuth()`: MD5 challenge or SCRAM, chosen by the stored password.
fn check_pw_challenge_auth(
    chan: &mut dyn AuthChannel,
    line: &HbaLine,
    role: Option<&Role>,
    user: &str,
    channel_binding: Option<&[u8]>,
) -> PgResult<()> {
    let shadow = role_password(role, user);
    // Without a password, pretend it has the kind password_encryption makes
    // (scram-sha-256, PostgreSQL's default), so the exchange blends in.
    let pwtype = match &shadow {
        Ok(s) => password_type(s),
        Err(_) => PasswordType::ScramSha256,
    };
    if line.method == AuthMethod::Md5 && pwtype == PasswordType::Md5 {
        let stored = shadow.expect("an MD5 type comes from a stored password");
        return check_md5_auth(chan, line, stored, user);
    }
    let outcome = check_sasl_auth(chan, user, shadow.as_deref().ok(), channel_binding)?;
    match (outcome, shadow) {
        (SaslOutcome::Success, Ok(_)) => Ok(()),
        (SaslOutcome::Success, Err(_)) => {
            unreachable!("a SCRAM exchange against a mock secret always fails")
        }
        (SaslOutcome::Failure { logdetail }, Ok(_)) => Err(auth_failed(line, user, logdetail)),
        // get_role_password's reason wins: the mock exchange has none.
        (SaslOutcome::Failure { .. }, Err(detail)) => Err(auth_failed(line, user, Some(detail))),
    }
}

/// `CheckMD5Auth()` for a role whose stored password is an MD5 hash.
fn check_md5_auth(
    chan: &mut dyn AuthChannel,
    line: &HbaLine,
    shadow: &str,
    user: &str,
) -> PgResult<()> {
    let mut salt = [0u8; 4];
    strong_random(&mut salt);
    send_auth(chan, AUTH_REQ_MD5, &salt)?;
    let response = recv_password_packet(chan)?;
    // The client sends "md5" + hex(md5(hex(md5(password || user)) || salt)).
    let expected = roles::md5_hex_with_prefix(&shadow.as_bytes()[3..], &salt);
    if constant_time_eq(expected.as_bytes(), &response) {
        Ok(())
    } else {
        Err(auth_failed(
            line,
            user,
            Some(format!("Password does not match for user \"{user}\".")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::utils::elog::Severity;

    // -----------------------------------------------------------------------
    // A client on the other end of the channel
    // -----------------------------------------------------------------------

    /// What the simulated client does when the server asks for something.
    enum Client {
        /// Answers cleartext and MD5 requests with this password; SCRAM with `scram`.
        Password {
            password: Vec<u8>,
            user: String,
            scram: Option<ScramClient>,
        },
        /// Sends these bodies in order, whatever is asked; then vanishes.
        Raw(VecDeque<Vec<u8>>),
    }

    struct TestChannel {
        client: Client,
        /// Every request the server sent: (code, data).
        sent: Vec<(i32, Vec<u8>)>,
        pending: VecDeque<Vec<u8>>,
    }

    impl TestChannel {
        fn with_password(password: &str, user: &str) -> TestChannel {
            TestChannel {
                client: Client::Password {
                    password: password.as_bytes().to_vec(),
                    user: user.to_string(),
                    scram: None,
                },
                sent: Vec::new(),
                pending: VecDeque::new(),
            }
        }

        fn raw(messages: Vec<Vec<u8>>) -> TestChannel {
            TestChannel {
                client: Client::Raw(messages.into()),
                sent: Vec::new(),
                pending: VecDeque::new(),
            }
        }

        fn codes(&self) -> Vec<i32> {
            self.sent.iter().map(|(c, _)| *c).collect()
        }

        fn scram(&self) -> &ScramClient {
            match &self.client {
                Client::Password { scram: Some(s), .. } => s,
                _ => panic!("no SCRAM exchange happened"),
            }
        }
    }

    impl AuthChannel for TestChannel {
        fn send_auth_request(&mut self, code: i32, data: &[u8]) -> std::io::Result<()> {
            self.sent.push((code, data.to_vec()));
            let reply = match &mut self.client {
                Client::Raw(queue) => queue.pop_front(),
                Client::Password {
                    password,
                    user,
                    scram,
                } => match code {
                    AUTH_REQ_PASSWORD => Some(c_string(password)),
                    AUTH_REQ_MD5 => {
                        let inner = md5_password(std::str::from_utf8(password).unwrap(), user);
                        Some(c_string(
                            roles::md5_hex_with_prefix(&inner.as_bytes()[3..], data).as_bytes(),
                        ))
                    }
                    AUTH_REQ_SASL => {
                        assert_eq!(data, b"SCRAM-SHA-256\0\0", "mechanism list");
                        let client = ScramClient::new(password.clone());
                        let reply = client.initial_response();
                        *scram = Some(client);
                        Some(reply)
                    }
                    AUTH_REQ_SASL_CONT => {
                        Some(scram.as_mut().expect("SASL started").client_final(data))
                    }
                    AUTH_REQ_SASL_FIN => {
                        scram
                            .as_mut()
                            .expect("SASL started")
                            .check_server_final(data);
                        None
                    }
                    other => panic!("unexpected auth request {other}"),
                },
            };
            if let Some(r) = reply {
                self.pending.push_back(r);
            }
            Ok(())
        }

        fn read_password_message(&mut self) -> PgResult<Vec<u8>> {
            self.pending
                .pop_front()
                .ok_or_else(|| PgError::fatal(sqlstate::CONNECTION_FAILURE, "test client vanished"))
        }
    }

    fn c_string(s: &[u8]) -> Vec<u8> {
        let mut v = s.to_vec();
        v.push(0);
        v
    }

    fn sasl_initial(mechanism: &str, data: Option<&[u8]>) -> Vec<u8> {
        let mut v = c_string(mechanism.as_bytes());
        match data {
            Some(d) => {
                v.extend_from_slice(&(d.len() as i32).to_be_bytes());
                v.extend_from_slice(d);
            }
            None => v.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        v
    }

    fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// The client steps of RFC 5802 section 3, written independently of the
    /// server code except for `Hi()`, which the RFC 7677 vector checks.
    struct ScramClient {
        password: Vec<u8>,
        client_nonce: String,
        client_first_bare: String,
        expected_server_signature: Option<[u8; 32]>,
        server_verified: bool,
        /// Salt and iterations the server announced.
        announced: Option<(String, u32)>,
    }

    impl ScramClient {
        fn new(password: Vec<u8>) -> ScramClient {
            ScramClient {
                password,
                client_nonce: "fyko+d2lbbFgONRv9qkxdawL".to_string(),
                client_first_bare: "n=,r=fyko+d2lbbFgONRv9qkxdawL".to_string(),
                expected_server_signature: None,
                server_verified: false,
                announced: None,
            }
        }

        fn initial_response(&self) -> Vec<u8> {
            sasl_initial(
                "SCRAM-SHA-256",
                Some(format!("n,,{}", self.client_first_bare).as_bytes()),
            )
        }

        fn client_final(&mut self, server_first: &[u8]) -> Vec<u8> {
            let server_first = std::str::from_utf8(server_first).unwrap();
            let mut nonce = None;
            let mut salt = None;
            let mut iterations = None;
            for attr in server_first.split(',') {
                let (k, v) = attr.split_once('=').unwrap();
                match k {
                    "r" => nonce = Some(v.to_string()),
                    "s" => salt = Some(v.to_string()),
                    "i" => iterations = Some(v.parse::<u32>().unwrap()),
                    _ => panic!("unexpected attribute {k}"),
                }
            }
            let (nonce, salt_b64, iterations) =
                (nonce.unwrap(), salt.unwrap(), iterations.unwrap());
            assert!(
                nonce.starts_with(&self.client_nonce),
                "server nonce extends ours"
            );
            assert_eq!(
                BASE64
                    .decode(&nonce[self.client_nonce.len()..])
                    .unwrap()
                    .len(),
                18,
                "18 random bytes"
            );
            let salt = BASE64.decode(&salt_b64).unwrap();
            self.announced = Some((salt_b64, iterations));

            let salted = scram::salted_password(&self.password, &salt, iterations);
            let client_key = hmac(&salted, b"Client Key");
            let stored_key: [u8; 32] = Sha256::digest(client_key).into();
            let without_proof = format!("c=biws,r={nonce}");
            let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
            let client_signature = hmac(&stored_key, auth_message.as_bytes());
            let proof: Vec<u8> = client_key
                .iter()
                .zip(client_signature)
                .map(|(a, b)| a ^ b)
                .collect();
            let server_key = hmac(&salted, b"Server Key");
            self.expected_server_signature = Some(hmac(&server_key, auth_message.as_bytes()));
            format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes()
        }

        fn check_server_final(&mut self, data: &[u8]) {
            let expected = format!(
                "v={}",
                BASE64.encode(self.expected_server_signature.unwrap())
            );
            assert_eq!(
                std::str::from_utf8(data).unwrap(),
                expected,
                "server signature"
            );
            self.server_verified = true;
        }
    }

    // -----------------------------------------------------------------------
    // Fixtures
    // -----------------------------------------------------------------------

    fn line(method: &str) -> HbaLine {
        let f = HbaFile::parse(
            &format!("host all all 127.0.0.1/32 {method}\n"),
            "/data/pg_hba.conf",
        )
        .unwrap();
        f.lines()[0].clone()
    }

    fn tcp() -> ConnKind {
        ConnKind::Host {
            addr: "127.0.0.1".parse().unwrap(),
            ssl: false,
        }
    }

    fn role(name: &str, password: Option<String>) -> Role {
        Role {
            oid: 16384,
            name: name.to_string(),
            superuser: false,
            can_login: true,
            password,
        }
    }

    fn scram_role(name: &str, password: &str) -> Role {
        role(name, Some(scram_verifier(password)))
    }

    fn run(chan: &mut TestChannel, method: &str, role: Option<&Role>, user: &str) -> PgResult<()> {
        authenticate(
            chan,
            &line(method),
            &tcp(),
            "db",
            role,
            user,
            None,
            &IdentFile::default(),
        )
    }

    fn assert_password_failure(err: &PgError, user: &str) {
        assert_eq!(err.severity, Severity::Fatal);
        assert_eq!(err.sqlstate, "28P01");
        assert_eq!(
            err.message,
            format!("password authentication failed for user \"{user}\"")
        );
    }

    // -----------------------------------------------------------------------
    // SCRAM
    // -----------------------------------------------------------------------

    #[test]
    fn scram_with_the_right_password_authenticates_and_proves_the_server() {
        let bob = scram_role("bob", "s3cret");
        let mut chan = TestChannel::with_password("s3cret", "bob");
        run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap();
        assert_eq!(
            chan.codes(),
            vec![AUTH_REQ_SASL, AUTH_REQ_SASL_CONT, AUTH_REQ_SASL_FIN]
        );
        assert!(chan.scram().server_verified);
        let secret = scram::ScramSecret::parse(bob.password.as_deref().unwrap()).unwrap();
        assert_eq!(
            chan.scram().announced,
            Some((secret.salt_base64.clone(), 4096))
        );
    }

    #[test]
    fn scram_with_a_wrong_password_fails_with_the_generic_message() {
        let bob = scram_role("bob", "s3cret");
        let mut chan = TestChannel::with_password("wrong", "bob");
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_password_failure(&err, "bob");
        assert_eq!(
            err.detail.as_deref(),
            Some(
                "Password does not match for user \"bob\".\nConnection matched pg_hba.conf line 1: \"host all all 127.0.0.1/32 scram-sha-256\""
            )
        );
        assert_eq!(
            chan.codes(),
            vec![AUTH_REQ_SASL, AUTH_REQ_SASL_CONT],
            "no SASLFinal after a bad proof"
        );
    }

    #[test]
    fn nonexistent_role_runs_a_mock_exchange_and_fails_like_a_wrong_password() {
        let bob = scram_role("bob", "s3cret");
        let mut wrong = TestChannel::with_password("guess", "bob");
        let wrong_err = run(&mut wrong, "scram-sha-256", Some(&bob), "bob").unwrap_err();

        let mut ghost = TestChannel::with_password("guess", "ghost");
        let ghost_err = run(&mut ghost, "scram-sha-256", None, "ghost").unwrap_err();
        assert_password_failure(&ghost_err, "ghost");
        assert_eq!(ghost.codes(), wrong.codes(), "same messages on the wire");
        assert_eq!(
            (
                ghost_err.sqlstate,
                ghost_err.severity,
                ghost_err.hint.clone()
            ),
            (
                wrong_err.sqlstate,
                wrong_err.severity,
                wrong_err.hint.clone()
            )
        );
        assert!(
            ghost_err.detail.as_deref().unwrap().starts_with(
                "Role \"ghost\" does not exist.\nConnection matched pg_hba.conf line 1"
            )
        );

        // The mock salt is stable per user (a changing salt would give the game away).
        let mut again = TestChannel::with_password("other", "ghost");
        run(&mut again, "scram-sha-256", None, "ghost").unwrap_err();
        assert_eq!(again.scram().announced, ghost.scram().announced);
        let mut other = TestChannel::with_password("x", "casper");
        run(&mut other, "scram-sha-256", None, "casper").unwrap_err();
        assert_ne!(other.scram().announced, ghost.scram().announced);
        assert_eq!(ghost.scram().announced.as_ref().unwrap().1, 4096);
    }

    #[test]
    fn role_without_password_fails_after_a_mock_exchange() {
        let bob = role("bob", None);
        let mut chan = TestChannel::with_password("anything", "bob");
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_password_failure(&err, "bob");
        assert!(
            err.detail
                .as_deref()
                .unwrap()
                .starts_with("User \"bob\" has no password assigned.\n")
        );
        assert_eq!(chan.codes(), vec![AUTH_REQ_SASL, AUTH_REQ_SASL_CONT]);
    }

    #[test]
    fn scram_method_with_an_md5_password_fails() {
        let bob = role("bob", Some(md5_password("s3cret", "bob")));
        let mut chan = TestChannel::with_password("s3cret", "bob");
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_password_failure(&err, "bob");
        assert!(
            err.detail
                .as_deref()
                .unwrap()
                .starts_with("User \"bob\" does not have a valid SCRAM secret.\n")
        );
    }

    #[test]
    fn scram_without_initial_response_gets_an_empty_challenge_first() {
        let bob = scram_role("bob", "pw");
        let client = ScramClient::new(b"pw".to_vec());
        let first = format!("n,,{}", client.client_first_bare);
        // Script: SASLInitialResponse without data, then client-first as SASLResponse.
        let mut chan = TestChannel::raw(vec![
            sasl_initial("SCRAM-SHA-256", None),
            first.into_bytes(),
        ]);
        // The raw client cannot compute the proof; the server must get as far
        // as sending server-first, then see the client vanish.
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_eq!(err.message, "test client vanished");
        assert_eq!(
            chan.codes(),
            vec![AUTH_REQ_SASL, AUTH_REQ_SASL_CONT, AUTH_REQ_SASL_CONT]
        );
        assert!(chan.sent[1].1.is_empty(), "the first SASLContinue is empty");
        assert!(chan.sent[2].1.starts_with(b"r=fyko+d2lbbFgONRv9qkxdawL"));
    }

    #[test]
    fn y_flag_is_accepted_and_must_be_repeated_in_client_final() {
        let bob = scram_role("bob", "pw");
        let mut chan = TestChannel::raw(vec![
            sasl_initial("SCRAM-SHA-256", Some(b"y,,n=,r=abc")),
            b"c=biws,r=abcXXXX,p=AAAA".to_vec(),
        ]);
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_eq!(
            err.message,
            "unexpected SCRAM channel-binding attribute in client-final-message"
        );
        assert_eq!(err.sqlstate, "08P01");
    }

    /// One malformed exchange: the initial message, and an optional final one.
    fn garbage_case(initial: Vec<u8>, final_msg: Option<&[u8]>) -> PgError {
        let bob = scram_role("bob", "pw");
        let mut msgs = vec![initial];
        if let Some(f) = final_msg {
            msgs.push(f.to_vec());
        }
        let mut chan = TestChannel::raw(msgs);
        run(&mut chan, "scram-sha-256", Some(&bob), "bob")
            .expect_err("garbage must not authenticate")
    }

    #[test]
    fn malformed_sasl_messages_are_protocol_violations() {
        // (SASLInitialResponse body, SASLResponse body, SQLSTATE, message)
        type Case<'a> = (Vec<u8>, Option<&'a [u8]>, &'a str, &'a str);
        let cases: Vec<Case> = vec![
            (
                b"SCRAM-SHA-256".to_vec(),
                None,
                "08P01",
                "invalid string in message",
            ),
            (
                c_string(b"SCRAM-SHA-256"),
                None,
                "08P01",
                "insufficient data left in message",
            ),
            (
                sasl_initial(
                    "SCRAM-SHA-256-PLUS",
                    Some(b"p=tls-server-end-point,,n=,r=x"),
                ),
                None,
                "08P01",
                "client selected an invalid SASL authentication mechanism",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"p=tls-server-end-point,,n=,r=x")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=\0,r=x")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"x,,n=,r=x")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,a=bob,n=,r=x")),
                None,
                "0A000",
                "client uses authorization identity, but it is not supported",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,m=ext,n=,r=x")),
                None,
                "0A000",
                "client requires an unsupported SCRAM extension",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,r=x")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=a b")),
                None,
                "08P01",
                "non-printable characters in SCRAM nonce",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x,1=2")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x,q")),
                None,
                "08P01",
                "malformed SCRAM message",
            ),
            (
                {
                    let mut v = sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x"));
                    v.push(b'!');
                    v
                },
                None,
                "08P01",
                "invalid message format",
            ),
            (
                {
                    let mut v = c_string(b"SCRAM-SHA-256");
                    v.extend_from_slice(&(-2i32).to_be_bytes());
                    v
                },
                None,
                "08P01",
                "insufficient data left in message",
            ),
            (
                {
                    let mut v = c_string(b"SCRAM-SHA-256");
                    v.extend_from_slice(&100i32.to_be_bytes());
                    v.extend_from_slice(b"n,,");
                    v
                },
                None,
                "08P01",
                "insufficient data left in message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b""),
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b"r=x"),
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b"c=eSws,r=x,p=AAAA"),
                "08P01",
                "unexpected SCRAM channel-binding attribute in client-final-message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b"c=biws,r=x"),
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b"c=biws,r=x,p=notbase64!"),
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b"c=biws,r=x,p=AAAA"),
                "08P01",
                "malformed SCRAM message",
            ),
            (
                sasl_initial("SCRAM-SHA-256", Some(b"n,,n=,r=x")),
                Some(b"c=biws,r=wrongnonce,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                "08P01",
                "invalid SCRAM response",
            ),
        ];
        for (initial, final_msg, code, message) in cases {
            let err = garbage_case(initial.clone(), final_msg);
            assert_eq!(
                (err.sqlstate, err.message.as_str()),
                (code, message),
                "for {:?} / {:?}",
                String::from_utf8_lossy(&initial),
                final_msg.map(String::from_utf8_lossy)
            );
            assert_eq!(err.severity, Severity::Fatal);
        }
    }

    #[test]
    fn random_client_bytes_never_panic_or_authenticate() {
        // xorshift: deterministic, so a failure reproduces.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"nyp,=arcsimv0123456789+/ABCxyz\0\x01\xff-SCRAMH";
        let bob = scram_role("bob", "pw");
        for i in 0..400 {
            let mut random_msg = |max: u64| -> Vec<u8> {
                (0..next() % max)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            };
            let first = random_msg(40);
            let second = random_msg(80);
            let initial = if i % 2 == 0 {
                sasl_initial(
                    "SCRAM-SHA-256",
                    Some(&[b"n,,n=,r=", first.as_slice()].concat()),
                )
            } else {
                first
            };
            let final_msg = if i % 3 == 0 {
                [b"c=biws,r=".as_slice(), &second].concat()
            } else {
                second
            };
            let mut chan = TestChannel::raw(vec![initial, final_msg]);
            let result = authenticate(
                &mut chan,
                &line("scram-sha-256"),
                &tcp(),
                "db",
                Some(&bob),
                "bob",
                None,
                &IdentFile::default(),
            );
            assert!(result.is_err(), "random bytes authenticated");
        }
    }

    // -----------------------------------------------------------------------
    // md5 and password
    // -----------------------------------------------------------------------

    #[test]
    fn md5_method_with_md5_password_runs_the_md5_challenge() {
        let bob = role("bob", Some(md5_password("s3cret", "bob")));
        let mut chan = TestChannel::with_password("s3cret", "bob");
        run(&mut chan, "md5", Some(&bob), "bob").unwrap();
        assert_eq!(chan.codes(), vec![AUTH_REQ_MD5]);
        assert_eq!(chan.sent[0].1.len(), 4, "4-byte salt");

        let mut chan = TestChannel::with_password("wrong", "bob");
        let err = run(&mut chan, "md5", Some(&bob), "bob").unwrap_err();
        assert_password_failure(&err, "bob");
        assert!(
            err.detail
                .as_deref()
                .unwrap()
                .starts_with("Password does not match for user \"bob\".\n")
        );
    }

    #[test]
    fn md5_method_with_scram_password_performs_scram() {
        let bob = scram_role("bob", "s3cret");
        let mut chan = TestChannel::with_password("s3cret", "bob");
        run(&mut chan, "md5", Some(&bob), "bob").unwrap();
        assert_eq!(
            chan.codes(),
            vec![AUTH_REQ_SASL, AUTH_REQ_SASL_CONT, AUTH_REQ_SASL_FIN]
        );
    }

    #[test]
    fn md5_method_for_a_nonexistent_role_uses_mock_scram() {
        let mut chan = TestChannel::with_password("x", "ghost");
        let err = run(&mut chan, "md5", None, "ghost").unwrap_err();
        assert_password_failure(&err, "ghost");
        assert_eq!(chan.codes(), vec![AUTH_REQ_SASL, AUTH_REQ_SASL_CONT]);
    }

    #[test]
    fn password_method_checks_cleartext_against_either_stored_form() {
        for stored in [scram_verifier("s3cret"), md5_password("s3cret", "bob")] {
            let bob = role("bob", Some(stored.clone()));
            let mut chan = TestChannel::with_password("s3cret", "bob");
            run(&mut chan, "password", Some(&bob), "bob")
                .unwrap_or_else(|e| panic!("{stored}: {e:?}"));
            assert_eq!(chan.codes(), vec![AUTH_REQ_PASSWORD]);

            let mut chan = TestChannel::with_password("S3cret", "bob");
            let err = run(&mut chan, "password", Some(&bob), "bob").unwrap_err();
            assert_password_failure(&err, "bob");
            assert!(
                err.detail
                    .as_deref()
                    .unwrap()
                    .starts_with("Password does not match for user \"bob\".\n")
            );
        }
        let mut chan = TestChannel::with_password("s3cret", "ghost");
        let err = run(&mut chan, "password", None, "ghost").unwrap_err();
        assert_password_failure(&err, "ghost");
        assert_eq!(
            chan.codes(),
            vec![AUTH_REQ_PASSWORD],
            "the password is asked for even for a missing role"
        );
    }

    #[test]
    fn bad_password_packets_are_rejected() {
        let bob = scram_role("bob", "pw");
        let cases: &[(&[u8], &str, &str)] = &[
            (b"pw", "08P01", "invalid password packet size"),
            (b"", "08P01", "invalid password packet size"),
            (b"p\0w\0", "08P01", "invalid password packet size"),
            (b"\0", "28P01", "empty password returned by client"),
        ];
        for (body, code, message) in cases {
            let mut chan = TestChannel::raw(vec![body.to_vec()]);
            let err = run(&mut chan, "password", Some(&bob), "bob").unwrap_err();
            assert_eq!(
                (err.sqlstate, err.message.as_str()),
                (*code, *message),
                "for {body:?}"
            );
        }
        let mut chan = TestChannel::raw(vec![vec![b'a'; PG_MAX_AUTH_TOKEN_LENGTH]]);
        assert_eq!(
            run(&mut chan, "password", Some(&bob), "bob")
                .unwrap_err()
                .message,
            "invalid message length"
        );
    }

    // -----------------------------------------------------------------------
    // Methods without a password
    // -----------------------------------------------------------------------

    #[test]
    fn trust_authenticates_without_talking_to_the_client() {
        let mut chan = TestChannel::raw(vec![]);
        run(&mut chan, "trust", None, "anyone").unwrap();
        assert!(chan.sent.is_empty());
    }

    #[test]
    fn reject_line_gives_postgres_rejects_message() {
        let mut chan = TestChannel::raw(vec![]);
        let err = run(&mut chan, "reject", None, "bob").unwrap_err();
        assert_eq!(err.sqlstate, "28000");
        assert_eq!(err.severity, Severity::Fatal);
        assert_eq!(
            err.message,
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"bob\", database \"db\", no encryption"
        );
        let local = HbaFile::parse("local all all reject\n", "/x").unwrap();
        let err = authenticate(
            &mut chan,
            &local.lines()[0],
            &ConnKind::Local,
            "db",
            None,
            "bob",
            None,
            &IdentFile::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "pg_hba.conf rejects connection for host \"[local]\", user \"bob\", database \"db\", no encryption"
        );
    }

    #[test]
    fn peer_and_ident_are_refused_at_connect_time() {
        let f = HbaFile::parse("local all all peer\nhost all all all ident\n", "/x").unwrap();
        let mut chan = TestChannel::raw(vec![]);
        let err = authenticate(
            &mut chan,
            &f.lines()[0],
            &ConnKind::Local,
            "db",
            None,
            "bob",
            None,
            &IdentFile::default(),
        )
        .unwrap_err();
        assert_eq!(
            (err.sqlstate, err.message.as_str()),
            ("28000", "Peer authentication failed for user \"bob\"")
        );
        assert!(
            err.detail
                .as_deref()
                .unwrap()
                .starts_with("Peer authentication is not supported by ferrogres.")
        );
        let err = authenticate(
            &mut chan,
            &f.lines()[1],
            &tcp(),
            "db",
            None,
            "bob",
            None,
            &IdentFile::default(),
        )
        .unwrap_err();
        assert_eq!(
            (err.sqlstate, err.message.as_str()),
            ("28000", "Ident authentication failed for user \"bob\"")
        );
        assert!(chan.sent.is_empty());
    }

    #[test]
    fn a_vanished_client_error_is_passed_through_unchanged() {
        let bob = scram_role("bob", "pw");
        let mut chan = TestChannel::raw(vec![]);
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_eq!(
            (err.sqlstate, err.message.as_str()),
            ("08006", "test client vanished")
        );
    }

    // -----------------------------------------------------------------------
    // TLS: channel binding and client certificates
    // -----------------------------------------------------------------------

    fn tls_status(peer: Option<crate::protocol::tls::PeerCert>) -> SslStatus {
        SslStatus {
            version: "TLSv1.3",
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            bits: 256,
            peer,
            server_cert_hash: Some(vec![0xab; 32]),
            ca_loaded: true,
        }
    }

    fn peer(cn: &str) -> crate::protocol::tls::PeerCert {
        crate::protocol::tls::PeerCert {
            cn: Some(cn.to_string()),
            dn: format!("CN={cn},O=Example"),
            subject: format!("/O=Example/CN={cn}"),
            issuer: "/CN=CA".into(),
            serial: "1".into(),
        }
    }

    fn hostssl_line(rest: &str) -> HbaLine {
        HbaFile::parse(
            &format!("hostssl all all 127.0.0.1/32 {rest}\n"),
            "/data/pg_hba.conf",
        )
        .unwrap()
        .lines()[0]
            .clone()
    }

    fn tls_conn() -> ConnKind {
        ConnKind::Host {
            addr: "127.0.0.1".parse().unwrap(),
            ssl: true,
        }
    }

    /// Runs scram-sha-256 over a "TLS" connection with raw client messages.
    fn scram_over_tls(messages: Vec<Vec<u8>>) -> (PgError, TestChannel) {
        let bob = scram_role("bob", "pw");
        let mut chan = TestChannel::raw(messages);
        let status = tls_status(None);
        let err = authenticate(
            &mut chan,
            &hostssl_line("scram-sha-256"),
            &tls_conn(),
            "db",
            Some(&bob),
            "bob",
            Some(&status),
            &IdentFile::default(),
        )
        .unwrap_err();
        (err, chan)
    }

    #[test]
    fn tls_connections_offer_scram_plus_first_and_check_the_binding() {
        // The expected binding: base64("p=tls-server-end-point,," + hash).
        let mut input = b"p=tls-server-end-point,,".to_vec();
        input.extend_from_slice(&[0xab; 32]);
        let good = BASE64.encode(&input);
        let first = sasl_initial(
            "SCRAM-SHA-256-PLUS",
            Some(b"p=tls-server-end-point,,n=,r=abc"),
        );

        let (err, chan) = scram_over_tls(vec![
            first.clone(),
            b"c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws,r=abc,p=AAAA".to_vec(),
        ]);
        assert_eq!(
            chan.sent[0],
            (
                AUTH_REQ_SASL,
                b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0".to_vec()
            )
        );
        assert_eq!(
            (err.sqlstate, err.message.as_str()),
            ("28000", "SCRAM channel binding check failed")
        );

        // The right binding passes that check (and fails later, on the nonce).
        let (err, _) = scram_over_tls(vec![
            first,
            format!("c={good},r=abc,p={}", BASE64.encode([0u8; 32])).into_bytes(),
        ]);
        assert_eq!(err.message, "invalid SCRAM response");
        assert_eq!(err.detail.as_deref(), Some("Nonce does not match."));

        let cases: &[(Vec<u8>, &str, &str, Option<&str>)] = &[
            (
                sasl_initial("SCRAM-SHA-256", Some(b"y,,n=,r=abc")),
                "28000",
                "SCRAM channel binding negotiation error",
                Some(
                    "The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.",
                ),
            ),
            (
                sasl_initial("SCRAM-SHA-256-PLUS", Some(b"n,,n=,r=abc")),
                "08P01",
                "malformed SCRAM message",
                Some(
                    "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.",
                ),
            ),
            (
                sasl_initial("SCRAM-SHA-256-PLUS", Some(b"p=tls-unique,,n=,r=abc")),
                "08P01",
                "unsupported SCRAM channel-binding type \"tls-unique\"",
                None,
            ),
        ];
        for (msg, code, message, detail) in cases {
            let (err, _) = scram_over_tls(vec![msg.clone()]);
            assert_eq!((err.sqlstate, err.message.as_str()), (*code, *message));
            assert_eq!(err.detail.as_deref(), *detail);
        }
    }

    #[test]
    fn plaintext_connections_do_not_offer_scram_plus() {
        let bob = scram_role("bob", "pw");
        let mut chan = TestChannel::raw(vec![sasl_initial(
            "SCRAM-SHA-256-PLUS",
            Some(b"p=tls-server-end-point,,n=,r=abc"),
        )]);
        let err = run(&mut chan, "scram-sha-256", Some(&bob), "bob").unwrap_err();
        assert_eq!(chan.sent[0], (AUTH_REQ_SASL, b"SCRAM-SHA-256\0\0".to_vec()));
        assert_eq!(
            err.message,
            "client selected an invalid SASL authentication mechanism"
        );
    }

    #[test]
    fn cert_method_compares_the_cn_or_dn_with_the_user() {
        let mut chan = TestChannel::raw(vec![]);
        let alice = tls_status(Some(peer("alice")));
        let auth = |chan: &mut TestChannel, line: &HbaLine, user: &str, ssl: &SslStatus| {
            authenticate(
                chan,
                line,
                &tls_conn(),
                "db",
                None,
                user,
                Some(ssl),
                &IdentFile::default(),
            )
        };
        auth(&mut chan, &hostssl_line("cert"), "alice", &alice).unwrap();
        let err = auth(&mut chan, &hostssl_line("cert"), "bob", &alice).unwrap_err();
        assert_eq!(
            (err.sqlstate, err.message.as_str()),
            (
                "28000",
                "certificate authentication failed for user \"bob\""
            )
        );
        assert!(err.detail.unwrap().starts_with(
            "provided user name (bob) and authenticated user name (alice) do not match"
        ));
        auth(
            &mut chan,
            &hostssl_line("cert clientname=DN"),
            "CN=alice,O=Example",
            &alice,
        )
        .unwrap();
        // No certificate, or no CA to have checked it.
        let err = auth(&mut chan, &hostssl_line("cert"), "alice", &tls_status(None)).unwrap_err();
        assert_eq!(
            (err.sqlstate, err.message.as_str()),
            ("08P01", "connection requires a valid client certificate")
        );
        let no_ca = SslStatus {
            ca_loaded: false,
            ..tls_status(None)
        };
        let err = auth(
            &mut chan,
            &hostssl_line("trust clientcert=verify-ca"),
            "alice",
            &no_ca,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "client certificates can only be checked if a root certificate store is available"
        );
        assert!(chan.sent.is_empty());
    }
}
