//! SCRAM-SHA-256, server side: PostgreSQL's `auth-scram.c` and `auth-sasl.c`.
//!
//! The exchange (RFC 5802 with RFC 7677's hash), as PostgreSQL runs it:
//!
//! ```text
//!   server                                     client
//!   AuthenticationSASL "SCRAM-SHA-256\0\0"  ->
//!                                           <- SASLInitialResponse: mechanism, client-first
//!                                              "n,,n=,r=<c-nonce>"
//!   AuthenticationSASLContinue              ->
//!     "r=<c-nonce><s-nonce>,s=<salt>,i=4096"
//!                                           <- SASLResponse: client-final
//!                                              "c=biws,r=<c-nonce><s-nonce>,p=<proof>"
//!   AuthenticationSASLFinal "v=<ServerSignature>" ->
//! ```
//!
//! PostgreSQL's specifics kept here:
//! - The user name inside the SCRAM messages is ignored; the startup packet's
//!   user is the one authenticated (libpq sends `n=` empty).
//! - Channel binding: on a TLS connection `SCRAM-SHA-256-PLUS` is offered
//!   first, then `SCRAM-SHA-256`. With `-PLUS` the client sends the gs2 flag
//!   `p=tls-server-end-point` and, in client-final-message,
//!   `c=base64("p=tls-server-end-point,," + hash of the server certificate)`
//!   (RFC 5929; the hash is computed once per configuration in
//!   `crate::protocol::tls`); a different value is FATAL 28000 `SCRAM channel
//!   binding check failed`. A client that sends `y` (it could bind but thinks
//!   we cannot) on a TLS connection is refused as a downgrade. Without TLS
//!   only `SCRAM-SHA-256` is offered and a `p=` flag is a protocol violation.
//! - A role that does not exist, has no password, or has a password that is
//!   not a SCRAM secret still gets a full exchange against a *mock* secret
//!   (salt derived from the user name and the cluster's mock nonce), and the
//!   failure is reported only at the end, with the same client-visible text
//!   as a wrong password. The proof is computed in that case too, so timing
//!   does not tell whether the role exists.
//! - The SASL framing (`SASLInitialResponse` = mechanism C string, int32
//!   length or -1, data) is checked like `pqformat.c` does, and every SCRAM
//!   attribute like `read_client_first_message()` does; anything malformed is
//!   FATAL 08P01, never a panic.
//!
//! Stored secrets have PostgreSQL's `rolpassword` format,
//! `SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>`.
//!
//! Passwords are normalized with SASLprep (RFC 4013) like `pg_saslprep()`,
//! with one gap: NFKC normalization, the unassigned-code-point check and the
//! bidirectional check are not done (no Unicode tables in this crate). ASCII
//! passwords — the common case — are unaffected; a non-ASCII password that is
//! not already in NFKC form may differ from what libpq computes.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::{
    AUTH_REQ_SASL, AUTH_REQ_SASL_CONT, AUTH_REQ_SASL_FIN, AuthChannel, read_auth_message, send_auth,
};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The mechanism without channel binding.
pub const SCRAM_SHA_256_NAME: &str = "SCRAM-SHA-256";
/// The mechanism with channel binding, offered on TLS connections.
pub const SCRAM_SHA_256_PLUS_NAME: &str = "SCRAM-SHA-256-PLUS";
/// The one channel-binding type PostgreSQL supports.
const CBIND_TYPE: &str = "tls-server-end-point";
/// Length of StoredKey, ServerKey, proofs and signatures (SHA-256 output).
pub const SCRAM_KEY_LEN: usize = 32;
/// Salt length used for new secrets, as PostgreSQL's `SCRAM_DEFAULT_SALT_LEN`.
pub const SCRAM_DEFAULT_SALT_LEN: usize = 16;
/// Iteration count used for new secrets (`scram_iterations` default in PG 16+, fixed in 15).
pub const SCRAM_DEFAULT_ITERATIONS: u32 = 4096;
/// Raw server nonce length before base64, as PostgreSQL's `SCRAM_RAW_NONCE_LEN`.
const SCRAM_RAW_NONCE_LEN: usize = 18;
/// Length of the per-cluster mock authentication nonce (`MOCK_AUTH_NONCE_LEN`).
pub const MOCK_AUTH_NONCE_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; SCRAM_KEY_LEN] {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    let mut out = [0u8; SCRAM_KEY_LEN];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn sha256(data: &[u8]) -> [u8; SCRAM_KEY_LEN] {
    let mut out = [0u8; SCRAM_KEY_LEN];
    out.copy_from_slice(&Sha256::digest(data));
    out
}

/// `Hi()` of RFC 5802: PBKDF2-HMAC-SHA-256 with one output block.
pub fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; SCRAM_KEY_LEN] {
    assert!(iterations >= 1, "SCRAM iteration count must be positive");
    let keyed =
        <HmacSha256 as KeyInit>::new_from_slice(password).expect("HMAC accepts keys of any length");
    let mut mac = keyed.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u = [0u8; SCRAM_KEY_LEN];
    u.copy_from_slice(&mac.finalize().into_bytes());
    let mut result = u;
    for _ in 1..iterations {
        let mut mac = keyed.clone();
        mac.update(&u);
        u.copy_from_slice(&mac.finalize().into_bytes());
        for (r, x) in result.iter_mut().zip(u.iter()) {
            *r ^= x;
        }
    }
    result
}

/// ClientKey = HMAC(SaltedPassword, "Client Key").
pub fn client_key(salted: &[u8; SCRAM_KEY_LEN]) -> [u8; SCRAM_KEY_LEN] {
    hmac_sha256(salted, &[b"Client Key"])
}

/// ServerKey = HMAC(SaltedPassword, "Server Key").
pub fn server_key(salted: &[u8; SCRAM_KEY_LEN]) -> [u8; SCRAM_KEY_LEN] {
    hmac_sha256(salted, &[b"Server Key"])
}

/// StoredKey = H(ClientKey).
pub fn stored_key(client_key: &[u8; SCRAM_KEY_LEN]) -> [u8; SCRAM_KEY_LEN] {
    sha256(client_key)
}

/// Compares without an early exit, so timing does not reveal the prefix that matched.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Fills `buf` from the OS random source (`pg_strong_random`).
pub(super) fn strong_random(buf: &mut [u8]) {
    // getrandom only fails when the kernel has no entropy source at all; a
    // server on such a system cannot authenticate anyone safely.
    getrandom::fill(buf).expect("the OS random number generator failed");
}

// ---------------------------------------------------------------------------
// SASLprep (RFC 4013), as pg_saslprep() minus NFKC (see the module doc)
// ---------------------------------------------------------------------------

/// RFC 3454 table C.1.2, non-ASCII space characters: mapped to U+0020.
const NON_ASCII_SPACE: &[(u32, u32)] = &[
    (0x00A0, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200B),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
];

/// RFC 3454 table B.1, commonly mapped to nothing.
const MAPPED_TO_NOTHING: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x1806, 0x1806),
    (0x180B, 0x180D),
    (0x200B, 0x200D),
    (0x2060, 0x2060),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
];

/// RFC 3454 tables C.2.1 through C.9 (C.4's non-characters are tested apart).
const PROHIBITED: &[(u32, u32)] = &[
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x0340, 0x0341),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x180E, 0x180E),
    (0x200C, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2063),
    (0x206A, 0x206F),
    (0x2FF0, 0x2FFB),
    (0xD800, 0xDFFF),
    (0xE000, 0xF8FF),
    (0xFDD0, 0xFDEF),
    (0xFFF9, 0xFFFD),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
    (0xF0000, 0xFFFFD),
    (0x100000, 0x10FFFD),
];

fn in_table(c: u32, table: &[(u32, u32)]) -> bool {
    table.iter().any(|&(lo, hi)| c >= lo && c <= hi)
}

/// Normalizes a password as `pg_saslprep()` does, falling back to the raw
/// bytes where PostgreSQL does (invalid UTF-8, prohibited characters, empty
/// result): PostgreSQL then uses the password as given.
pub fn saslprep(password: &[u8]) -> Vec<u8> {
    if password.is_ascii() {
        return password.to_vec();
    }
    let Ok(text) = std::str::from_utf8(password) else {
        return password.to_vec();
    };
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let c = ch as u32;
        if in_table(c, NON_ASCII_SPACE) {
            out.push(' ');
        } else if in_table(c, MAPPED_TO_NOTHING) {
            // mapped to nothing
        } else {
            out.push(ch);
        }
    }
    if out.is_empty() {
        return password.to_vec();
    }
    let prohibited = out.chars().any(|ch| {
        let c = ch as u32;
        in_table(c, PROHIBITED) || (c & 0xFFFE) == 0xFFFE
    });
    if prohibited {
        return password.to_vec();
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------
// Stored secrets
// ---------------------------------------------------------------------------

/// A parsed `rolpassword` SCRAM secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramSecret {
    pub iterations: u32,
    /// The salt exactly as stored (base64); it is sent to the client as is.
    pub salt_base64: String,
    pub stored_key: [u8; SCRAM_KEY_LEN],
    pub server_key: [u8; SCRAM_KEY_LEN],
}

impl ScramSecret {
    /// Builds a secret for `password` (SASLprep applied here) as
    /// `pg_be_scram_build_secret()` does.
    pub fn from_password(password: &[u8], salt: &[u8], iterations: u32) -> ScramSecret {
        let prepared = saslprep(password);
        let salted = salted_password(&prepared, salt, iterations);
        ScramSecret {
            iterations,
            salt_base64: BASE64.encode(salt),
            stored_key: stored_key(&client_key(&salted)),
            server_key: server_key(&salted),
        }
    }

    /// Parses `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
    /// (`parse_scram_secret()`); `None` if it is anything else.
    pub fn parse(secret: &str) -> Option<ScramSecret> {
        let (scheme, rest) = secret.split_once('$')?;
        let (iterations, rest) = rest.split_once(':')?;
        let (salt, rest) = rest.split_once('$')?;
        let (stored, server) = rest.split_once(':')?;
        if scheme != SCRAM_SHA_256_NAME {
            return None;
        }
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let iterations: u32 = iterations.parse().ok()?;
        if iterations == 0 || iterations > i32::MAX as u32 {
            return None;
        }
        if salt.is_empty() || BASE64.decode(salt).is_err() {
            return None;
        }
        let stored = BASE64.decode(stored).ok()?;
        let server = BASE64.decode(server).ok()?;
        Some(ScramSecret {
            iterations,
            salt_base64: salt.to_string(),
            stored_key: stored.try_into().ok()?,
            server_key: server.try_into().ok()?,
        })
    }

    /// Checks a cleartext password against the secret
    /// (`scram_verify_plain_password()`), for the `password` method.
    pub fn verify_plain_password(&self, password: &[u8]) -> bool {
        let Ok(salt) = BASE64.decode(&self.salt_base64) else {
            return false;
        };
        let prepared = saslprep(password);
        let salted = salted_password(&prepared, &salt, self.iterations);
        constant_time_eq(&server_key(&salted), &self.server_key)
    }
}

impl std::fmt::Display for ScramSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}${}:{}${}:{}",
            SCRAM_SHA_256_NAME,
            self.iterations,
            self.salt_base64,
            BASE64.encode(self.stored_key),
            BASE64.encode(self.server_key)
        )
    }
}

// ---------------------------------------------------------------------------
// Mock secrets for roles that cannot succeed
// ---------------------------------------------------------------------------

static MOCK_AUTH_NONCE: OnceLock<[u8; MOCK_AUTH_NONCE_LEN]> = OnceLock::new();

/// Installs the cluster's mock authentication nonce (PostgreSQL keeps it in
/// pg_control). Call once in the postmaster before forking backends; returns
/// false if a nonce was already set. Without it an all-zero nonce is used,
/// which lets an attacker who knows ferrogres predict the mock salt and so
/// tell a missing role from an existing one.
pub fn set_mock_auth_nonce(nonce: [u8; MOCK_AUTH_NONCE_LEN]) -> bool {
    MOCK_AUTH_NONCE.set(nonce).is_ok()
}

/// `scram_mock_salt()`: SHA-256(user name || mock nonce), first 16 bytes.
fn mock_salt(user: &str) -> [u8; SCRAM_DEFAULT_SALT_LEN] {
    let nonce = MOCK_AUTH_NONCE
        .get()
        .copied()
        .unwrap_or([0u8; MOCK_AUTH_NONCE_LEN]);
    let mut hasher = Sha256::new();
    hasher.update(user.as_bytes());
    hasher.update(nonce);
    let digest = hasher.finalize();
    let mut salt = [0u8; SCRAM_DEFAULT_SALT_LEN];
    salt.copy_from_slice(&digest[..SCRAM_DEFAULT_SALT_LEN]);
    salt
}

fn mock_secret(user: &str) -> ScramSecret {
    ScramSecret {
        iterations: SCRAM_DEFAULT_ITERATIONS,
        salt_base64: BASE64.encode(mock_salt(user)),
        stored_key: [0u8; SCRAM_KEY_LEN],
        server_key: [0u8; SCRAM_KEY_LEN],
    }
}

// ---------------------------------------------------------------------------
// The exchange
// ---------------------------------------------------------------------------

/// How a SASL exchange ended when it did not end in a protocol error.
#[derive(Debug, PartialEq)]
pub(super) enum SaslOutcome {
    Success,
    /// Authentication failed; `logdetail` is the server-log-only reason.
    Failure {
        logdetail: Option<String>,
    },
}

fn protocol_violation(message: &str) -> PgError {
    PgError::fatal(sqlstate::PROTOCOL_VIOLATION, message)
}

fn malformed(detail: impl Into<String>) -> PgError {
    PgError::fatal(sqlstate::PROTOCOL_VIOLATION, "malformed SCRAM message").with_detail(detail)
}

/// `sanitize_char()`: a byte as PostgreSQL quotes it in SCRAM error details.
fn sanitize_char(c: u8) -> String {
    if (0x21..=0x7E).contains(&c) {
        format!("'{}'", c as char)
    } else {
        format!("0x{c:02x}")
    }
}

/// RFC 5802 `printable`: %x21-2B / %x2D-7E (no comma).
fn is_scram_printable(s: &[u8]) -> bool {
    s.iter().all(|&c| (0x21..=0x7E).contains(&c) && c != b',')
}

/// Reads the body of a protocol message field by field, as `pqformat.c`.
struct MsgCursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> MsgCursor<'a> {
    fn get_cstring(&mut self) -> PgResult<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(protocol_violation("invalid string in message"));
        };
        self.pos += nul + 1;
        Ok(&rest[..nul])
    }

    fn get_i32(&mut self) -> PgResult<i32> {
        let bytes = self.get_bytes(4)?;
        Ok(i32::from_be_bytes(
            bytes.try_into().expect("get_bytes(4) returns 4 bytes"),
        ))
    }

    fn get_bytes(&mut self, len: usize) -> PgResult<&'a [u8]> {
        if len > self.data.len() - self.pos {
            return Err(protocol_violation("insufficient data left in message"));
        }
        let out = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn end(&self) -> PgResult<()> {
        if self.pos != self.data.len() {
            return Err(protocol_violation("invalid message format"));
        }
        Ok(())
    }
}

/// Walks a SCRAM message attribute by attribute (`read_attr_value()`,
/// `read_any_attr()`). The end of input reads as a 0 byte, as in PostgreSQL's
/// NUL-terminated parsing.
struct AttrReader<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> AttrReader<'a> {
    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Takes the value up to the next comma, and the comma.
    fn take_value(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != b',' {
            self.pos += 1;
        }
        let value = &self.s[start..self.pos];
        if self.pos < self.s.len() {
            self.pos += 1;
        }
        value
    }

    fn read_attr_value(&mut self, attr: u8) -> PgResult<&'a [u8]> {
        if self.peek() != attr {
            return Err(malformed(format!(
                "Expected attribute \"{}\" but found \"{}\".",
                attr as char,
                sanitize_char(self.peek())
            )));
        }
        self.pos += 1;
        if self.peek() != b'=' {
            return Err(malformed(format!(
                "Expected character \"=\" for attribute \"{}\".",
                attr as char
            )));
        }
        self.pos += 1;
        Ok(self.take_value())
    }

    fn read_any_attr(&mut self) -> PgResult<(u8, &'a [u8])> {
        let attr = self.peek();
        if !attr.is_ascii_alphabetic() {
            return Err(malformed(format!(
                "Attribute expected, but found invalid character \"{}\".",
                sanitize_char(attr)
            )));
        }
        self.pos += 1;
        if self.peek() != b'=' {
            return Err(malformed(format!(
                "Expected character \"=\" for attribute \"{}\".",
                attr as char
            )));
        }
        self.pos += 1;
        Ok((attr, self.take_value()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScramStep {
    /// Waiting for client-first-message.
    Init,
    /// server-first-message sent, waiting for client-final-message.
    SaltSent,
    Finished,
}

enum ExchangeResult {
    Continue(Vec<u8>),
    Success(Vec<u8>),
    Failure,
}

/// `scram_state`: one exchange for one user.
struct ScramExchange<'a> {
    user: &'a str,
    step: ScramStep,
    secret: ScramSecret,
    /// The exchange runs against a mock secret and must fail at the end.
    doomed: bool,
    logdetail: Option<String>,
    cbind_flag: u8,
    /// The server certificate's hash when the connection is TLS.
    cbind_data: Option<&'a [u8]>,
    /// The client picked SCRAM-SHA-256-PLUS.
    channel_binding_in_use: bool,
    client_first_message_bare: Vec<u8>,
    client_nonce: Vec<u8>,
    server_nonce: String,
    server_first_message: Vec<u8>,
}

impl<'a> ScramExchange<'a> {
    /// `scram_init()`: checks the mechanism the client picked and chooses the
    /// secret, or a mock one.
    fn init(
        mechanism: &[u8],
        shadow_pass: Option<&str>,
        user: &'a str,
        cbind_data: Option<&'a [u8]>,
    ) -> PgResult<ScramExchange<'a>> {
        let channel_binding_in_use =
            if mechanism == SCRAM_SHA_256_PLUS_NAME.as_bytes() && cbind_data.is_some() {
                true
            } else if mechanism == SCRAM_SHA_256_NAME.as_bytes() {
                false
            } else {
                return Err(protocol_violation(
                    "client selected an invalid SASL authentication mechanism",
                ));
            };
        let mut logdetail = None;
        let parsed = match shadow_pass {
            Some(pass) => match ScramSecret::parse(pass) {
                Some(secret) => Some(secret),
                None => {
                    logdetail = Some(format!(
                        "User \"{user}\" does not have a valid SCRAM secret."
                    ));
                    None
                }
            },
            // A dummy exchange the caller asked for: the caller has the detail.
            None => None,
        };
        let doomed = parsed.is_none();
        let secret = parsed.unwrap_or_else(|| mock_secret(user));
        Ok(ScramExchange {
            user,
            step: ScramStep::Init,
            secret,
            doomed,
            logdetail,
            cbind_flag: 0,
            cbind_data,
            channel_binding_in_use,
            client_first_message_bare: Vec::new(),
            client_nonce: Vec::new(),
            server_nonce: String::new(),
            server_first_message: Vec::new(),
        })
    }

    /// `scram_exchange()`: consumes one client message, says what to send.
    fn exchange(&mut self, input: Option<&[u8]>) -> PgResult<ExchangeResult> {
        // No initial response in SASLInitialResponse: send an empty
        // challenge; the client answers with client-first-message.
        let Some(input) = input else {
            assert_eq!(
                self.step,
                ScramStep::Init,
                "only SASLInitialResponse may omit its data"
            );
            return Ok(ExchangeResult::Continue(Vec::new()));
        };
        if input.is_empty() {
            return Err(malformed("The message is empty."));
        }
        if input.contains(&0) {
            return Err(malformed("Message length does not match input length."));
        }
        match self.step {
            ScramStep::Init => {
                self.read_client_first_message(input)?;
                let out = self.build_server_first_message();
                self.step = ScramStep::SaltSent;
                Ok(ExchangeResult::Continue(out))
            }
            ScramStep::SaltSent => {
                let (final_nonce, proof, without_proof) = self.read_client_final_message(input)?;
                if !self.verify_final_nonce(final_nonce) {
                    return Err(PgError::fatal(
                        sqlstate::PROTOCOL_VIOLATION,
                        "invalid SCRAM response",
                    )
                    .with_detail("Nonce does not match."));
                }
                // Compute the proof even when doomed, so a mock exchange takes
                // as long as a real one.
                let auth_message = self.auth_message(without_proof);
                let proof_ok = self.verify_client_proof(&proof, &auth_message);
                if !proof_ok || self.doomed {
                    if !self.doomed {
                        self.logdetail = Some(format!(
                            "Password does not match for user \"{}\".",
                            self.user
                        ));
                    }
                    self.step = ScramStep::Finished;
                    return Ok(ExchangeResult::Failure);
                }
                let signature = hmac_sha256(&self.secret.server_key, &[&auth_message]);
                let out = format!("v={}", BASE64.encode(signature)).into_bytes();
                self.step = ScramStep::Finished;
                Ok(ExchangeResult::Success(out))
            }
            ScramStep::Finished => {
                unreachable!("the SASL loop stops once the exchange has finished")
            }
        }
    }

    fn read_client_first_message(&mut self, input: &[u8]) -> PgResult<()> {
        let mut r = AttrReader { s: input, pos: 0 };
        let flag = r.peek();
        match flag {
            b'n' | b'y' => {
                if self.channel_binding_in_use {
                    return Err(malformed(
                        "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.",
                    ));
                }
                // 'y': the client could bind but thinks we cannot. On TLS we
                // can, so that is a downgrade by someone in the middle.
                if flag == b'y' && self.cbind_data.is_some() {
                    return Err(PgError::fatal(
                        sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                        "SCRAM channel binding negotiation error",
                    )
                    .with_detail("The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding."));
                }
                r.pos += 1;
                if r.peek() != b',' {
                    return Err(malformed(format!(
                        "Comma expected, but found character \"{}\".",
                        sanitize_char(r.peek())
                    )));
                }
                r.pos += 1;
            }
            b'p' => {
                if !self.channel_binding_in_use {
                    return Err(malformed(
                        "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.",
                    ));
                }
                let cbind_type = r.read_attr_value(b'p')?;
                if cbind_type != CBIND_TYPE.as_bytes() {
                    return Err(protocol_violation(&format!(
                        "unsupported SCRAM channel-binding type \"{}\"",
                        String::from_utf8_lossy(cbind_type)
                            .chars()
                            .map(|c| if c.is_ascii_graphic() || c == ' ' {
                                c
                            } else {
                                '?'
                            })
                            .collect::<String>()
                    )));
                }
            }
            other => {
                return Err(malformed(format!(
                    "Unexpected channel-binding flag \"{}\".",
                    sanitize_char(other)
                )));
            }
        }
        self.cbind_flag = flag;

        if r.peek() == b'a' {
            return Err(PgError::fatal(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "client uses authorization identity, but it is not supported",
            ));
        }
        if r.peek() != b',' {
            return Err(malformed(format!(
                "Unexpected attribute \"{}\" in client-first-message.",
                sanitize_char(r.peek())
            )));
        }
        r.pos += 1;
        self.client_first_message_bare = input[r.pos..].to_vec();

        if r.peek() == b'm' {
            return Err(PgError::fatal(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "client requires an unsupported SCRAM extension",
            ));
        }
        // The user name is ignored: the startup packet's user is authenticated.
        let _client_username = r.read_attr_value(b'n')?;
        let nonce = r.read_attr_value(b'r')?;
        if !is_scram_printable(nonce) {
            return Err(protocol_violation(
                "non-printable characters in SCRAM nonce",
            ));
        }
        self.client_nonce = nonce.to_vec();
        // Optional extensions: none supported, skipped.
        while !r.at_end() {
            r.read_any_attr()?;
        }
        Ok(())
    }

    fn build_server_first_message(&mut self) -> Vec<u8> {
        let mut raw_nonce = [0u8; SCRAM_RAW_NONCE_LEN];
        strong_random(&mut raw_nonce);
        self.server_nonce = BASE64.encode(raw_nonce);
        let mut msg = Vec::with_capacity(64 + self.client_nonce.len());
        msg.extend_from_slice(b"r=");
        msg.extend_from_slice(&self.client_nonce);
        msg.extend_from_slice(self.server_nonce.as_bytes());
        msg.extend_from_slice(
            format!(
                ",s={},i={}",
                self.secret.salt_base64, self.secret.iterations
            )
            .as_bytes(),
        );
        self.server_first_message = msg.clone();
        msg
    }

    /// Returns (nonce, proof, client-final-message-without-proof).
    fn read_client_final_message<'i>(
        &self,
        input: &'i [u8],
    ) -> PgResult<(&'i [u8], [u8; SCRAM_KEY_LEN], &'i [u8])> {
        let mut r = AttrReader { s: input, pos: 0 };
        let channel_binding = r.read_attr_value(b'c')?;
        if self.channel_binding_in_use {
            // base64 of the gs2 header followed by the certificate's hash.
            let data = self
                .cbind_data
                .expect("channel binding is only in use with certificate data");
            let mut input = format!("p={CBIND_TYPE},,").into_bytes();
            input.extend_from_slice(data);
            let expected = BASE64.encode(&input);
            if !constant_time_eq(channel_binding, expected.as_bytes()) {
                return Err(PgError::fatal(
                    sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                    "SCRAM channel binding check failed",
                ));
            }
        } else {
            // Without channel binding the data is the gs2 header again: "n,,"
            // is "biws", "y,," is "eSws", and it must repeat the client's flag.
            let matches_flag = (channel_binding == b"biws" && self.cbind_flag == b'n')
                || (channel_binding == b"eSws" && self.cbind_flag == b'y');
            if !matches_flag {
                return Err(protocol_violation(
                    "unexpected SCRAM channel-binding attribute in client-final-message",
                ));
            }
        }
        let nonce = r.read_attr_value(b'r')?;
        // Extensions are skipped up to the proof, which comes last.
        let (proof_start, proof_value) = loop {
            let start = r.pos;
            let (attr, value) = r.read_any_attr()?;
            if attr == b'p' {
                break (start, value);
            }
        };
        let decoded = BASE64
            .decode(proof_value)
            .ok()
            .filter(|p| p.len() == SCRAM_KEY_LEN);
        let Some(decoded) = decoded else {
            return Err(malformed("Malformed proof in client-final-message."));
        };
        if !r.at_end() {
            return Err(malformed(
                "Garbage found at the end of client-final-message.",
            ));
        }
        // `proof_start` points at 'p'; the message without proof stops before its comma.
        assert!(
            proof_start >= 1,
            "the proof follows at least the c= and r= attributes"
        );
        let without_proof = &input[..proof_start - 1];
        let mut proof = [0u8; SCRAM_KEY_LEN];
        proof.copy_from_slice(&decoded);
        Ok((nonce, proof, without_proof))
    }

    fn verify_final_nonce(&self, final_nonce: &[u8]) -> bool {
        let expected_len = self.client_nonce.len() + self.server_nonce.len();
        final_nonce.len() == expected_len
            && final_nonce[..self.client_nonce.len()] == self.client_nonce[..]
            && final_nonce[self.client_nonce.len()..] == *self.server_nonce.as_bytes()
    }

    /// AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof.
    fn auth_message(&self, without_proof: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(
            self.client_first_message_bare.len()
                + self.server_first_message.len()
                + without_proof.len()
                + 2,
        );
        m.extend_from_slice(&self.client_first_message_bare);
        m.push(b',');
        m.extend_from_slice(&self.server_first_message);
        m.push(b',');
        m.extend_from_slice(without_proof);
        m
    }

    fn verify_client_proof(&self, proof: &[u8; SCRAM_KEY_LEN], auth_message: &[u8]) -> bool {
        let client_signature = hmac_sha256(&self.secret.stored_key, &[auth_message]);
        let mut client_key = [0u8; SCRAM_KEY_LEN];
        for i in 0..SCRAM_KEY_LEN {
            client_key[i] = proof[i] ^ client_signature[i];
        }
        constant_time_eq(&sha256(&client_key), &self.secret.stored_key)
    }
}

/// `CheckSASLAuth()` with the SCRAM mechanism: offers SCRAM-SHA-256 (and
/// first SCRAM-SHA-256-PLUS when `channel_binding` holds the TLS server
/// certificate's hash) and runs the exchange against `shadow_pass` (a mock
/// secret when it is `None` or not a SCRAM secret, and then the exchange
/// fails at the end).
pub(super) fn check_sasl_auth(
    chan: &mut dyn AuthChannel,
    user: &str,
    shadow_pass: Option<&str>,
    channel_binding: Option<&[u8]>,
) -> PgResult<SaslOutcome> {
    let mut mechanisms = Vec::with_capacity(64);
    if channel_binding.is_some() {
        mechanisms.extend_from_slice(SCRAM_SHA_256_PLUS_NAME.as_bytes());
        mechanisms.push(0);
    }
    mechanisms.extend_from_slice(SCRAM_SHA_256_NAME.as_bytes());
    mechanisms.extend_from_slice(b"\0\0");
    send_auth(chan, AUTH_REQ_SASL, &mechanisms)?;

    // SASLInitialResponse: mechanism, int32 length (-1: no data), data.
    let body = read_auth_message(chan)?;
    let mut msg = MsgCursor {
        data: &body,
        pos: 0,
    };
    let mechanism = msg.get_cstring()?;
    let mut exchange = ScramExchange::init(mechanism, shadow_pass, user, channel_binding)?;
    let len = msg.get_i32()?;
    let initial = if len == -1 {
        None
    } else {
        let Ok(len) = usize::try_from(len) else {
            return Err(protocol_violation("insufficient data left in message"));
        };
        Some(msg.get_bytes(len)?.to_vec())
    };
    msg.end()?;

    let mut input = initial;
    // Init (maybe twice: once without data), SaltSent, then done: the loop is
    // bounded by the state machine, and the count makes that visible.
    for _round in 0..3 {
        match exchange.exchange(input.as_deref())? {
            ExchangeResult::Continue(out) => {
                send_auth(chan, AUTH_REQ_SASL_CONT, &out)?;
                // SASLResponse: the body is the data.
                input = Some(read_auth_message(chan)?);
            }
            ExchangeResult::Success(out) => {
                send_auth(chan, AUTH_REQ_SASL_FIN, &out)?;
                return Ok(SaslOutcome::Success);
            }
            ExchangeResult::Failure => {
                return Ok(SaslOutcome::Failure {
                    logdetail: exchange.logdetail.take(),
                });
            }
        }
    }
    // Only reachable by a client that answered an empty challenge with
    // another empty-data round, which `exchange` rejects as empty; still,
    // end it as a protocol error rather than trust that reasoning.
    Err(malformed("Too many messages in SCRAM exchange."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    const RFC7677_SALT_B64: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const RFC7677_CLIENT_FIRST_BARE: &str = "n=user,r=rOprNGfwEbeRWgbNEkqO";
    const RFC7677_SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const RFC7677_CLIENT_FINAL_WITHOUT_PROOF: &str =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const RFC7677_PROOF: &str = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const RFC7677_SERVER_SIGNATURE: &str = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    #[test]
    fn proof_and_server_signature_match_rfc7677_test_vector() {
        let salt = BASE64.decode(RFC7677_SALT_B64).unwrap();
        let secret = ScramSecret::from_password(b"pencil", &salt, 4096);
        let auth_message = format!(
            "{RFC7677_CLIENT_FIRST_BARE},{RFC7677_SERVER_FIRST},{RFC7677_CLIENT_FINAL_WITHOUT_PROOF}"
        );

        let salted = salted_password(b"pencil", &salt, 4096);
        let ck = client_key(&salted);
        let client_signature = hmac_sha256(&stored_key(&ck), &[auth_message.as_bytes()]);
        let proof: Vec<u8> = ck
            .iter()
            .zip(client_signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(BASE64.encode(&proof), RFC7677_PROOF);

        let server_signature = hmac_sha256(&secret.server_key, &[auth_message.as_bytes()]);
        assert_eq!(BASE64.encode(server_signature), RFC7677_SERVER_SIGNATURE);

        // And the server side accepts that proof.
        let mut ex =
            ScramExchange::init(b"SCRAM-SHA-256", Some(&secret.to_string()), "user", None).unwrap();
        ex.client_first_message_bare = RFC7677_CLIENT_FIRST_BARE.as_bytes().to_vec();
        ex.server_first_message = RFC7677_SERVER_FIRST.as_bytes().to_vec();
        let proof: [u8; 32] = proof.try_into().unwrap();
        assert!(ex.verify_client_proof(&proof, auth_message.as_bytes()));
    }

    #[test]
    fn secret_round_trips_through_rolpassword_text() {
        let secret = ScramSecret::from_password(b"secret", b"0123456789abcdef", 4096);
        let text = secret.to_string();
        assert!(
            text.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"),
            "{text}"
        );
        assert_eq!(ScramSecret::parse(&text), Some(secret.clone()));
        assert!(secret.verify_plain_password(b"secret"));
        assert!(!secret.verify_plain_password(b"Secret"));
    }

    #[test]
    fn malformed_secrets_are_not_scram_secrets() {
        let good = ScramSecret::from_password(b"x", b"salt", 4096).to_string();
        assert!(ScramSecret::parse(&good).is_some());
        for bad in [
            "",
            "md5c4ca4238a0b923820dcc509a6f75849b",
            "SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA",
            "SCRAM-SHA-1$4096:c2FsdA==$x:y",
            &good.replace("$4096:", "$0:"),
            &good.replace("$4096:", "$-1:"),
            &good.replace("$4096:", "$4096x:"),
            &good.replace("c2FsdA==", "!!!"),
            &format!("{good}:extra"),
        ] {
            assert_eq!(ScramSecret::parse(bad), None, "{bad:?} must not parse");
        }
    }

    #[test]
    fn saslprep_maps_spaces_and_drops_invisible_characters() {
        assert_eq!(saslprep(b"plain ascii\x01"), b"plain ascii\x01");
        assert_eq!(saslprep("a\u{00A0}b\u{00AD}c".as_bytes()), b"a bc");
        // Prohibited (private use) character: the raw password is used.
        assert_eq!(saslprep("a\u{E000}".as_bytes()), "a\u{E000}".as_bytes());
        // Invalid UTF-8: raw.
        assert_eq!(saslprep(b"\xff\xfe"), b"\xff\xfe");
        // Only mapped-to-nothing characters: raw, as PostgreSQL.
        assert_eq!(saslprep("\u{00AD}".as_bytes()), "\u{00AD}".as_bytes());
    }

    #[test]
    fn mock_salt_depends_on_user_name_only() {
        assert_eq!(mock_salt("alice"), mock_salt("alice"));
        assert_ne!(mock_salt("alice"), mock_salt("bob"));
    }
}
