//! pg_hba.conf: parsing and matching, PostgreSQL 15's `hba.c`.
//!
//! The file is a list of records, one per line:
//!
//! ```text
//! local         DATABASE  USER  METHOD  [OPTIONS]
//! host          DATABASE  USER  ADDRESS  METHOD  [OPTIONS]
//! host          DATABASE  USER  IP-ADDRESS  IP-MASK  METHOD  [OPTIONS]
//! hostssl | hostnossl | hostgssenc | hostnogssenc   (same fields as host)
//! ```
//!
//! Tokenizing follows `next_token()`: fields are separated by blanks; a field
//! may be a comma list (`db1,db2` and `db1, db2` are one field; `db1 ,db2`
//! are two); `#` outside quotes starts a comment; double quotes protect
//! blanks, commas and `#`, and `""` inside quotes is a literal quote. A quoted
//! token is never a keyword (`"all"` is a database named all). `@file`
//! includes the tokens of another file, relative to this file's directory.
//!
//! Matching ([`HbaFile::find`]) takes the first line whose connection type,
//! address, database and user all match; there is no fall-through to later
//! lines once a line matched, whatever its method's outcome.
//!
//! `hostssl` lines match only TLS connections and `hostnossl` lines only
//! plaintext TCP ones; with `ssl = off` a `hostssl` line still loads, with
//! PostgreSQL's warning that it cannot match. The `cert` method and the
//! `clientcert=verify-ca|verify-full` and `clientname=CN|DN` options are
//! parsed here and enforced by [`super::authenticate`].
//!
//! Differences from PostgreSQL, all because ferrogres has no GSSAPI,
//! replication or role membership yet:
//! - `hostgssenc` lines parse (with a warning) but never match;
//!   `hostnogssenc` lines match every TCP connection.
//! - `replication` in the database field never matches (no walsenders).
//! - `+role` and `samerole` use membership, and for now a role is a member
//!   only of itself, so `+bob` matches user bob and `samerole` is `sameuser`.
//!   PostgreSQL also requires the role to exist; here a missing role fails
//!   later, at authentication or at session start.
//! - `samehost` matches a client address that can be bound on this machine
//!   (a local interface address; IPv6 link-local addresses, which need a
//!   scope, never match); `samenet` is treated as `samehost`.
//! - A host name in the address field is matched by resolving it forward and
//!   comparing with the client address; PostgreSQL first reverse-resolves the
//!   client and compares names. `.domain` suffix entries never match.
//! - Methods `gss`, `sspi`, `pam`, `bsd`, `ldap`, `radius`, `cert` are
//!   rejected as `not supported by this build`, as PostgreSQL does when built
//!   without them. `peer` and `ident` parse but fail at connect time.
//!
//! Errors are `F0000` (`CONFIG_FILE_ERROR`) with PostgreSQL's message; the
//! `line N of configuration file "PATH"` context goes in `detail` (PgError has
//! no context field). Only the first error is returned.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};

use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// How the client reached us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnKind {
    /// Unix-domain socket.
    Local,
    /// TCP, with TLS (`ssl`) or without; never with GSS encryption.
    Host { addr: IpAddr, ssl: bool },
}

impl ConnKind {
    /// The host as PostgreSQL prints it in messages: `[local]` or the numeric address.
    pub fn remote_host(&self) -> String {
        match self {
            ConnKind::Local => "[local]".to_string(),
            ConnKind::Host { addr, .. } => addr.to_string(),
        }
    }

    /// The end of PostgreSQL's "no pg_hba.conf entry ..." messages.
    pub fn encryption_state(&self) -> &'static str {
        match self {
            ConnKind::Host { ssl: true, .. } => "SSL encryption",
            _ => "no encryption",
        }
    }
}

/// Authentication methods ferrogres knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Trust,
    Reject,
    Password,
    Md5,
    ScramSha256,
    /// Parsed (local lines only), refused at connect time.
    Peer,
    /// Parsed (host lines), refused at connect time. On a local line it becomes Peer.
    Ident,
    /// The client certificate's name must be the user (hostssl lines only).
    Cert,
}

/// `clientcert=`: whether a client certificate is required, and how far it
/// must match (`cert` lines are always `VerifyFull`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCert {
    Off,
    /// A certificate that verifies against `ssl_ca_file`.
    VerifyCa,
    /// That, and its name (`clientname`) is the user.
    VerifyFull,
}

/// `clientname=`: which name of the certificate is compared with the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientName {
    Cn,
    Dn,
}

impl AuthMethod {
    /// The keyword used in pg_hba.conf.
    pub fn keyword(self) -> &'static str {
        match self {
            AuthMethod::Trust => "trust",
            AuthMethod::Reject => "reject",
            AuthMethod::Password => "password",
            AuthMethod::Md5 => "md5",
            AuthMethod::ScramSha256 => "scram-sha-256",
            AuthMethod::Peer => "peer",
            AuthMethod::Ident => "ident",
            AuthMethod::Cert => "cert",
        }
    }
}

/// The first field of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnType {
    Local,
    Host,
    HostSsl,
    HostNoSsl,
    HostGssEnc,
    HostNoGssEnc,
}

/// One token of a field, and whether it started with a double quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AuthToken {
    pub(super) string: String,
    pub(super) quoted: bool,
}

impl AuthToken {
    /// `token_is_keyword()`: unquoted and equal.
    fn is_keyword(&self, keyword: &str) -> bool {
        !self.quoted && self.string == keyword
    }
}

/// The address field of a host record.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AddressMatch {
    All,
    SameHost,
    SameNet,
    /// Client matches when `(client ^ addr) & mask == 0`, same family only.
    Mask {
        addr: IpAddr,
        mask: IpAddr,
    },
    Hostname(String),
}

/// One parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HbaLine {
    /// 1-based line number in the file.
    pub line_number: usize,
    /// The line as written (comments included, line break removed), for
    /// `Connection matched pg_hba.conf line N: "..."`.
    pub raw: String,
    pub method: AuthMethod,
    pub conn_type: ConnType,
    /// `name=value` options in order.
    pub options: Vec<(String, String)>,
    /// `clientcert`, `VerifyFull` for the `cert` method.
    pub clientcert: ClientCert,
    /// `clientname`, CN unless given.
    pub clientname: ClientName,
    databases: Vec<AuthToken>,
    roles: Vec<AuthToken>,
    /// `None` for local lines.
    address: Option<AddressMatch>,
}

/// A parsed pg_hba.conf.
#[derive(Clone, Debug)]
pub struct HbaFile {
    path: String,
    lines: Vec<HbaLine>,
    warnings: Vec<PgError>,
}

/// `CONF_FILE_MAX_DEPTH`: bound on `@file` nesting.
const MAX_INCLUDE_DEPTH: usize = 10;

pub(super) fn config_error(message: impl Into<String>, line: usize, path: &str) -> PgError {
    PgError::new(Severity::Log, sqlstate::CONFIG_FILE_ERROR, message)
        .with_detail(format!("line {line} of configuration file \"{path}\""))
}

/// `%m`: the OS error text without Rust's "(os error N)" suffix.
pub(super) fn os_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Tokenizing
// ---------------------------------------------------------------------------

/// `pg_isblank()`.
fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

struct RawToken {
    text: Vec<u8>,
    initial_quote: bool,
    terminating_comma: bool,
}

/// `next_token()`: the next token of `line` from `*pos`, or `None` at the end
/// of the line or at a comment.
fn next_token(line: &[u8], pos: &mut usize) -> Option<RawToken> {
    let mut in_quote = false;
    let mut was_quote = false;
    let mut saw_quote = false;
    let mut initial_quote = false;
    let mut terminating_comma = false;
    let mut buf = Vec::new();

    while *pos < line.len() && (is_blank(line[*pos]) || line[*pos] == b',') {
        *pos += 1;
    }
    while *pos < line.len() && (!is_blank(line[*pos]) || in_quote) {
        let c = line[*pos];
        if c == b'#' && !in_quote {
            *pos = line.len();
            break;
        }
        if c == b',' && !in_quote {
            // Left in place: the next call skips it as a separator.
            terminating_comma = true;
            break;
        }
        if c != b'"' || was_quote {
            buf.push(c);
        }
        // A literal double quote is two double quotes.
        was_quote = in_quote && c == b'"' && !was_quote;
        if c == b'"' {
            in_quote = !in_quote;
            saw_quote = true;
            if buf.is_empty() {
                initial_quote = true;
            }
        }
        *pos += 1;
    }
    if saw_quote || !buf.is_empty() {
        Some(RawToken {
            text: buf,
            initial_quote,
            terminating_comma,
        })
    } else {
        None
    }
}

/// Splits text into `(line number, raw line, fields)`, expanding `@file`.
pub(super) struct Tokenizer {
    /// Directory that relative `@file` names are resolved against.
    pub(super) base_dir: Option<PathBuf>,
}

pub(super) type TokenizedLine = (usize, String, Vec<Vec<AuthToken>>);

impl Tokenizer {
    pub(super) fn tokenize(
        &self,
        text: &str,
        path: &str,
        depth: usize,
    ) -> PgResult<Vec<TokenizedLine>> {
        let mut out = Vec::new();
        for (idx, raw) in text.split('\n').enumerate() {
            let line_number = idx + 1;
            let raw = raw.trim_end_matches(['\r', '\n']);
            let bytes = raw.as_bytes();
            let mut pos = 0;
            let mut fields = Vec::new();
            while pos < bytes.len() {
                let field = self.next_field_expand(bytes, &mut pos, line_number, path, depth)?;
                if !field.is_empty() {
                    fields.push(field);
                }
            }
            if !fields.is_empty() {
                out.push((line_number, raw.to_string(), fields));
            }
        }
        Ok(out)
    }

    /// `next_field_expand()`: one field, a comma list of tokens.
    fn next_field_expand(
        &self,
        line: &[u8],
        pos: &mut usize,
        line_number: usize,
        path: &str,
        depth: usize,
    ) -> PgResult<Vec<AuthToken>> {
        let mut tokens = Vec::new();
        while let Some(tok) = next_token(line, pos) {
            let text = String::from_utf8_lossy(&tok.text).into_owned();
            if !tok.initial_quote && text.len() > 1 && text.starts_with('@') {
                tokens.extend(self.expand_file(&text[1..], line_number, path, depth)?);
            } else {
                tokens.push(AuthToken {
                    string: text,
                    quoted: tok.initial_quote,
                });
            }
            if !tok.terminating_comma {
                break;
            }
        }
        Ok(tokens)
    }

    /// `tokenize_expand_file()`: every token of every line of the file.
    fn expand_file(
        &self,
        name: &str,
        line_number: usize,
        path: &str,
        depth: usize,
    ) -> PgResult<Vec<AuthToken>> {
        let full: PathBuf = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            match &self.base_dir {
                Some(dir) => dir.join(name),
                None => PathBuf::from(name),
            }
        };
        let full_str = full.display().to_string();
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(config_error(
                format!("could not open file \"{full_str}\": maximum nesting depth exceeded"),
                line_number,
                path,
            ));
        }
        let bytes = std::fs::read(&full).map_err(|e| {
            config_error(
                format!("could not open secondary authentication file \"@{name}\" as \"{full_str}\": {}", os_error_text(&e)),
                line_number,
                path,
            )
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let nested = Tokenizer {
            base_dir: full.parent().map(Path::to_path_buf),
        };
        let lines = nested.tokenize(&text, &full_str, depth + 1)?;
        Ok(lines
            .into_iter()
            .flat_map(|(_, _, fields)| fields.into_iter().flatten())
            .collect())
    }
}

// ---------------------------------------------------------------------------
// Parsing records
// ---------------------------------------------------------------------------

/// Parses a numeric address as `getaddrinfo(AI_NUMERICHOST)` would.
fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok()
}

/// `pg_sockaddr_cidr_mask()`: a mask of `bits` leading ones for the family.
fn cidr_mask(bits: &str, family_v4: bool) -> Option<IpAddr> {
    if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) || bits.len() > 3 {
        return None;
    }
    let n: u32 = bits.parse().ok()?;
    if family_v4 {
        if n > 32 {
            return None;
        }
        let m = if n == 0 { 0 } else { u32::MAX << (32 - n) };
        Some(IpAddr::V4(Ipv4Addr::from(m)))
    } else {
        if n > 128 {
            return None;
        }
        let m = if n == 0 { 0 } else { u128::MAX << (128 - n) };
        Some(IpAddr::V6(Ipv6Addr::from(m)))
    }
}

/// Which methods an option is valid for, as `parse_hba_auth_opt()` reports it.
fn option_valid_methods(name: &str) -> Option<&'static str> {
    Some(match name {
        "map" => "ident, peer, gssapi, sspi, and cert",
        "pamservice" | "pam_use_hostname" => "pam",
        "ldapurl"
        | "ldaptls"
        | "ldapscheme"
        | "ldapserver"
        | "ldapport"
        | "ldapbinddn"
        | "ldapbindpasswd"
        | "ldapsearchattribute"
        | "ldapsearchfilter"
        | "ldapbasedn"
        | "ldapprefix"
        | "ldapsuffix" => "ldap",
        "krb_realm" | "include_realm" => "gssapi and sspi",
        "compat_realm" | "upn_username" => "sspi",
        "radiusservers" | "radiussecrets" | "radiusidentifiers" | "radiusports" => "radius",
        _ => return None,
    })
}

struct LineParser<'a> {
    line_number: usize,
    path: &'a str,
    warnings: &'a mut Vec<PgError>,
    /// `ssl` is on (else hostssl lines get a warning).
    ssl_enabled: bool,
}

impl LineParser<'_> {
    fn err(&self, message: impl Into<String>) -> PgError {
        config_error(message, self.line_number, self.path)
    }

    fn warn(&mut self, message: impl Into<String>) {
        let w = config_error(message, self.line_number, self.path);
        self.warnings.push(w);
    }

    /// `parse_hba_line()`.
    fn parse(&mut self, raw: String, fields: Vec<Vec<AuthToken>>) -> PgResult<HbaLine> {
        let mut fields = fields.into_iter();

        let conn_tokens = fields.next().expect("tokenizer drops lines without fields");
        if conn_tokens.len() > 1 {
            return Err(self
                .err("multiple values specified for connection type")
                .with_hint("Specify exactly one connection type per line."));
        }
        let conn_type = match conn_tokens[0].string.as_str() {
            "local" => ConnType::Local,
            "host" => ConnType::Host,
            "hostssl" => {
                if !self.ssl_enabled {
                    let w = self
                        .err("hostssl record cannot match because SSL is disabled")
                        .with_hint("Set ssl = on in postgresql.conf.");
                    self.warnings.push(w);
                }
                ConnType::HostSsl
            }
            "hostnossl" => ConnType::HostNoSsl,
            "hostgssenc" => {
                self.warn(
                    "hostgssenc record cannot match because GSSAPI is not supported by this build",
                );
                ConnType::HostGssEnc
            }
            "hostnogssenc" => ConnType::HostNoGssEnc,
            other => return Err(self.err(format!("invalid connection type \"{other}\""))),
        };

        let Some(databases) = fields.next() else {
            return Err(self.err("end-of-line before database specification"));
        };
        let Some(roles) = fields.next() else {
            return Err(self.err("end-of-line before role specification"));
        };

        let address = if conn_type == ConnType::Local {
            None
        } else {
            Some(self.parse_address(&mut fields)?)
        };

        let Some(method_tokens) = fields.next() else {
            return Err(self.err("end-of-line before authentication method"));
        };
        if method_tokens.len() > 1 {
            return Err(self
                .err("multiple values specified for authentication type")
                .with_hint("Specify exactly one authentication type per line."));
        }
        let mut method = match method_tokens[0].string.as_str() {
            "trust" => AuthMethod::Trust,
            "reject" => AuthMethod::Reject,
            "password" => AuthMethod::Password,
            "md5" => AuthMethod::Md5,
            "scram-sha-256" => AuthMethod::ScramSha256,
            "peer" => AuthMethod::Peer,
            "ident" => AuthMethod::Ident,
            "cert" => AuthMethod::Cert,
            unsupported @ ("gss" | "sspi" | "pam" | "bsd" | "ldap" | "radius") => {
                return Err(self.err(format!(
                    "invalid authentication method \"{unsupported}\": not supported by this build"
                )));
            }
            other => return Err(self.err(format!("invalid authentication method \"{other}\""))),
        };
        // As PostgreSQL: ident on a local socket means peer.
        if conn_type == ConnType::Local && method == AuthMethod::Ident {
            method = AuthMethod::Peer;
        }
        if conn_type != ConnType::Local && method == AuthMethod::Peer {
            return Err(self.err("peer authentication is only supported on local sockets"));
        }
        if conn_type != ConnType::HostSsl && method == AuthMethod::Cert {
            return Err(self.err("cert authentication is only supported on hostssl connections"));
        }

        let mut options = Vec::new();
        let mut clientcert = ClientCert::Off;
        let mut clientname = ClientName::Cn;
        for field in fields {
            for token in field {
                let Some((name, value)) = token.string.split_once('=') else {
                    return Err(self.err(format!(
                        "authentication option not in name=value format: {}",
                        token.string
                    )));
                };
                self.check_option(conn_type, method, name, value)?;
                match name {
                    "clientcert" if value == "verify-ca" => clientcert = ClientCert::VerifyCa,
                    "clientcert" => clientcert = ClientCert::VerifyFull,
                    "clientname" if value == "DN" => clientname = ClientName::Dn,
                    "clientname" => clientname = ClientName::Cn,
                    _ => {}
                }
                options.push((name.to_string(), value.to_string()));
            }
        }

        // The cert method always verifies the certificate and its name.
        if method == AuthMethod::Cert {
            clientcert = ClientCert::VerifyFull;
        }
        Ok(HbaLine {
            line_number: self.line_number,
            raw,
            method,
            conn_type,
            options,
            clientcert,
            clientname,
            databases,
            roles,
            address,
        })
    }

    /// The address field, and the mask field after it when the address has no CIDR suffix.
    fn parse_address(
        &mut self,
        fields: &mut impl Iterator<Item = Vec<AuthToken>>,
    ) -> PgResult<AddressMatch> {
        let Some(tokens) = fields.next() else {
            return Err(self.err("end-of-line before IP address specification"));
        };
        if tokens.len() > 1 {
            return Err(self
                .err("multiple values specified for host address")
                .with_hint("Specify one address range per line."));
        }
        let token = &tokens[0];
        if token.is_keyword("all") {
            return Ok(AddressMatch::All);
        }
        if token.is_keyword("samehost") {
            return Ok(AddressMatch::SameHost);
        }
        if token.is_keyword("samenet") {
            self.warn("samenet is treated as samehost by ferrogres");
            return Ok(AddressMatch::SameNet);
        }
        let (addr_str, cidr) = match token.string.split_once('/') {
            Some((a, bits)) => (a, Some(bits)),
            None => (token.string.as_str(), None),
        };
        let Some(addr) = parse_ip(addr_str) else {
            // getaddrinfo(AI_NUMERICHOST) fails with EAI_NONAME: a host name.
            if addr_str.is_empty() {
                return Err(self.err(format!(
                    "invalid IP address \"{addr_str}\": Name or service not known"
                )));
            }
            if cidr.is_some() {
                return Err(self.err(format!(
                    "specifying both host name and CIDR mask is invalid: \"{}\"",
                    token.string
                )));
            }
            if addr_str.starts_with('.') {
                self.warn(format!("host name suffix \"{addr_str}\" needs reverse DNS, which ferrogres does not do; this record never matches"));
            }
            return Ok(AddressMatch::Hostname(addr_str.to_string()));
        };
        let mask = match cidr {
            Some(bits) => match cidr_mask(bits, addr.is_ipv4()) {
                Some(m) => m,
                None => {
                    return Err(
                        self.err(format!("invalid CIDR mask in address \"{}\"", token.string))
                    );
                }
            },
            None => {
                let Some(mask_tokens) = fields.next() else {
                    return Err(self
                        .err("end-of-line before netmask specification")
                        .with_hint("Specify an address range in CIDR notation, or provide a separate netmask."));
                };
                if mask_tokens.len() > 1 {
                    return Err(self.err("multiple values specified for netmask"));
                }
                let Some(mask) = parse_ip(&mask_tokens[0].string) else {
                    return Err(self.err(format!(
                        "invalid IP mask \"{}\": Name or service not known",
                        mask_tokens[0].string
                    )));
                };
                if mask.is_ipv4() != addr.is_ipv4() {
                    return Err(self.err("IP address and mask do not match"));
                }
                mask
            }
        };
        Ok(AddressMatch::Mask { addr, mask })
    }

    /// `parse_hba_auth_opt()`, for the options that can appear with our methods.
    fn check_option(
        &self,
        conn_type: ConnType,
        method: AuthMethod,
        name: &str,
        value: &str,
    ) -> PgResult<()> {
        match name {
            "map" => {
                if !matches!(method, AuthMethod::Peer | AuthMethod::Ident | AuthMethod::Cert) {
                    return Err(self.err(format!(
                        "authentication option \"map\" is only valid for authentication methods {}",
                        option_valid_methods("map").expect("map is listed")
                    )));
                }
                Ok(())
            }
            "clientcert" => {
                if conn_type != ConnType::HostSsl {
                    return Err(self.err("clientcert can only be configured for \"hostssl\" rows"));
                }
                if value == "verify-ca" && method == AuthMethod::Cert {
                    return Err(self.err(
                        "clientcert only accepts \"verify-full\" when using \"cert\" authentication",
                    ));
                }
                if value != "verify-full" && value != "verify-ca" {
                    return Err(self.err(format!("invalid value for clientcert: \"{value}\"")));
                }
                Ok(())
            }
            "clientname" => {
                if conn_type != ConnType::HostSsl {
                    return Err(self.err("clientname can only be configured for \"hostssl\" rows"));
                }
                if value != "CN" && value != "DN" {
                    return Err(self.err(format!("invalid value for clientname: \"{value}\"")));
                }
                Ok(())
            }
            other => match option_valid_methods(other) {
                Some(methods) => Err(self.err(format!("authentication option \"{other}\" is only valid for authentication methods {methods}"))),
                None => Err(self.err(format!("unrecognized authentication option name: \"{other}\""))),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------

impl HbaFile {
    /// Reads and parses the file. On error (LOG severity, F0000) the caller
    /// logs it; at startup that is fatal (`could not load pg_hba.conf`), at
    /// reload the previous file stays in force (`pg_hba.conf was not reloaded`).
    pub fn load(path: &Path, ssl_enabled: bool) -> PgResult<HbaFile> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| {
            PgError::new(
                Severity::Log,
                sqlstate::CONFIG_FILE_ERROR,
                format!(
                    "could not open configuration file \"{shown}\": {}",
                    os_error_text(&e)
                ),
            )
        })?;
        let text = String::from_utf8_lossy(&bytes);
        HbaFile::parse_with_ssl(&text, &shown, ssl_enabled)
    }

    /// Parses file contents; `path_for_messages` names the file in errors and
    /// is the directory `@file` includes are resolved against.
    pub fn parse(text: &str, path_for_messages: &str) -> PgResult<HbaFile> {
        HbaFile::parse_with_ssl(text, path_for_messages, true)
    }

    /// [`HbaFile::parse`], knowing whether `ssl` is on (hostssl warnings).
    pub fn parse_with_ssl(
        text: &str,
        path_for_messages: &str,
        ssl_enabled: bool,
    ) -> PgResult<HbaFile> {
        let tokenizer = Tokenizer {
            base_dir: Path::new(path_for_messages).parent().map(Path::to_path_buf),
        };
        let tokenized = tokenizer.tokenize(text, path_for_messages, 0)?;
        let mut warnings = Vec::new();
        let mut lines = Vec::with_capacity(tokenized.len());
        for (line_number, raw, fields) in tokenized {
            let mut parser = LineParser {
                line_number,
                path: path_for_messages,
                warnings: &mut warnings,
                ssl_enabled,
            };
            lines.push(parser.parse(raw, fields)?);
        }
        if lines.is_empty() {
            return Err(PgError::new(
                Severity::Log,
                sqlstate::CONFIG_FILE_ERROR,
                format!("configuration file \"{path_for_messages}\" contains no entries"),
            ));
        }
        Ok(HbaFile {
            path: path_for_messages.to_string(),
            lines,
            warnings,
        })
    }

    /// The records in file order.
    pub fn lines(&self) -> &[HbaLine] {
        &self.lines
    }

    /// Non-fatal complaints found while parsing (hostssl lines that cannot
    /// match, ...), for the caller to log at LOG level.
    pub fn warnings(&self) -> &[PgError] {
        &self.warnings
    }

    /// The path the file was parsed under.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `check_hba()`: the first matching line, or FATAL 28000 as PostgreSQL's
    /// `uaImplicitReject`.
    pub fn find(&self, conn: &ConnKind, database: &str, user: &str) -> PgResult<&HbaLine> {
        let conn = match conn {
            // A v4-mapped address from a dual-stack socket is an IPv4 client.
            ConnKind::Host { addr, ssl } => ConnKind::Host {
                addr: addr.to_canonical(),
                ssl: *ssl,
            },
            ConnKind::Local => ConnKind::Local,
        };
        for line in &self.lines {
            if line.matches(&conn, database, user) {
                return Ok(line);
            }
        }
        Err(PgError::fatal(
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            format!(
                "no pg_hba.conf entry for host \"{}\", user \"{user}\", database \"{database}\", {}",
                conn.remote_host(),
                conn.encryption_state()
            ),
        ))
    }
}

impl HbaLine {
    fn matches(&self, conn: &ConnKind, database: &str, user: &str) -> bool {
        match (self.conn_type, conn) {
            (ConnType::Local, ConnKind::Local) => {}
            (ConnType::Local, ConnKind::Host { .. }) => return false,
            (_, ConnKind::Local) => return false,
            // No GSS encryption, ever.
            (ConnType::HostGssEnc, ConnKind::Host { .. }) => return false,
            (ConnType::HostSsl, ConnKind::Host { ssl: false, .. }) => return false,
            (ConnType::HostNoSsl, ConnKind::Host { ssl: true, .. }) => return false,
            (
                ConnType::Host | ConnType::HostSsl | ConnType::HostNoSsl | ConnType::HostNoGssEnc,
                ConnKind::Host { addr, .. },
            ) => {
                let address = self.address.as_ref().expect("host records have an address");
                if !address_matches(address, *addr) {
                    return false;
                }
            }
        }
        check_db(database, user, &self.databases) && check_role(user, &self.roles)
    }
}

/// Role membership until pg_auth_members exists: a role is a member of itself only.
fn is_member(user: &str, role: &str) -> bool {
    user == role
}

/// The `database` to pass to [`HbaFile::find`] for a physical replication
/// connection (`replication=true`): it matches only the `replication`
/// keyword, as in PostgreSQL (`all` does not cover replication). A NUL
/// cannot occur in a real database name.
pub const PHYSICAL_REPLICATION: &str = "\0replication";

/// `check_db()`.
fn check_db(database: &str, user: &str, tokens: &[AuthToken]) -> bool {
    if database == PHYSICAL_REPLICATION {
        return tokens.iter().any(|tok| tok.is_keyword("replication"));
    }
    tokens.iter().any(|tok| {
        if tok.is_keyword("all") {
            true
        } else if tok.is_keyword("sameuser") {
            database == user
        } else if tok.is_keyword("samegroup") || tok.is_keyword("samerole") {
            is_member(user, database)
        } else if tok.is_keyword("replication") {
            // Only physical replication connections match it (above).
            false
        } else {
            tok.string == database
        }
    })
}

/// `check_role()`.
fn check_role(user: &str, tokens: &[AuthToken]) -> bool {
    tokens.iter().any(|tok| {
        if !tok.quoted && tok.string.starts_with('+') {
            is_member(user, &tok.string[1..])
        } else {
            tok.string == user || tok.is_keyword("all")
        }
    })
}

fn address_matches(spec: &AddressMatch, client: IpAddr) -> bool {
    match spec {
        AddressMatch::All => true,
        AddressMatch::SameHost | AddressMatch::SameNet => is_local_address(client),
        AddressMatch::Mask { addr, mask } => in_range(client, *addr, *mask),
        AddressMatch::Hostname(name) => {
            if name.starts_with('.') {
                return false;
            }
            match (name.as_str(), 0u16).to_socket_addrs() {
                Ok(mut addrs) => addrs.any(|sa| sa.ip().to_canonical() == client),
                Err(_) => false,
            }
        }
    }
}

/// `pg_range_sockaddr()`: same family and `(client ^ addr) & mask == 0`.
fn in_range(client: IpAddr, addr: IpAddr, mask: IpAddr) -> bool {
    match (client, addr, mask) {
        (IpAddr::V4(c), IpAddr::V4(a), IpAddr::V4(m)) => {
            (u32::from(c) ^ u32::from(a)) & u32::from(m) == 0
        }
        (IpAddr::V6(c), IpAddr::V6(a), IpAddr::V6(m)) => {
            (u128::from(c) ^ u128::from(a)) & u128::from(m) == 0
        }
        _ => false,
    }
}

/// Whether `addr` belongs to this machine: binding a socket to it succeeds
/// exactly for local addresses (no interface enumeration needed).
fn is_local_address(addr: IpAddr) -> bool {
    if addr.is_unspecified() || addr.is_multicast() {
        return false;
    }
    UdpSocket::bind((addr, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/data/pg_hba.conf";

    fn parse(text: &str) -> HbaFile {
        HbaFile::parse(text, PATH).unwrap_or_else(|e| panic!("parse failed: {e:?}"))
    }

    fn parse_err(text: &str) -> PgError {
        HbaFile::parse(text, PATH).expect_err("parse should fail")
    }

    fn host(s: &str) -> ConnKind {
        ConnKind::Host {
            addr: s.parse().unwrap(),
            ssl: false,
        }
    }

    fn host_ssl(s: &str) -> ConnKind {
        ConnKind::Host {
            addr: s.parse().unwrap(),
            ssl: true,
        }
    }

    /// Line number of the matching record, or None.
    fn matched(f: &HbaFile, conn: &ConnKind, db: &str, user: &str) -> Option<usize> {
        f.find(conn, db, user).ok().map(|l| l.line_number)
    }

    #[test]
    fn first_matching_line_wins_and_local_is_separate_from_tcp() {
        let f = parse(
            "# comment\n\
             local   all   all                 peer\n\
             host    all   bob  127.0.0.1/32    reject\n\
             host    all   all  127.0.0.1/32    scram-sha-256   # trailing comment\n\
             host    all   all  ::1/128         md5\n",
        );
        assert_eq!(matched(&f, &ConnKind::Local, "db", "bob"), Some(2));
        assert_eq!(matched(&f, &host("127.0.0.1"), "db", "bob"), Some(3));
        assert_eq!(matched(&f, &host("127.0.0.1"), "db", "alice"), Some(4));
        assert_eq!(
            f.find(&host("127.0.0.1"), "db", "alice").unwrap().method,
            AuthMethod::ScramSha256
        );
        assert_eq!(
            f.find(&host("127.0.0.1"), "db", "alice").unwrap().raw,
            "host    all   all  127.0.0.1/32    scram-sha-256   # trailing comment"
        );
        assert_eq!(matched(&f, &host("::1"), "db", "alice"), Some(5));
        assert_eq!(
            f.find(&ConnKind::Local, "db", "bob").unwrap().method,
            AuthMethod::Peer
        );
    }

    #[test]
    fn no_entry_error_has_postgres_text() {
        let f = parse("host all all 10.0.0.0/8 trust\n");
        let e = f.find(&host("127.0.0.1"), "db", "bob").unwrap_err();
        assert_eq!(e.severity, Severity::Fatal);
        assert_eq!(e.sqlstate, "28000");
        assert_eq!(
            e.message,
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"bob\", database \"db\", no encryption"
        );
        let e = f.find(&ConnKind::Local, "db", "bob").unwrap_err();
        assert_eq!(
            e.message,
            "no pg_hba.conf entry for host \"[local]\", user \"bob\", database \"db\", no encryption"
        );
    }

    #[test]
    fn cidr_and_separate_masks_match_ipv4_and_ipv6_ranges() {
        let f = parse(
            "host all all 192.168.1.0/24 trust\n\
             host all all 10.0.0.0 255.0.0.0 md5\n\
             host all all 2001:db8::/32 password\n\
             host all all fe80:: ffff:ffff:ffff:ffff:: reject\n\
             host all all 0.0.0.0/0 scram-sha-256\n",
        );
        assert_eq!(matched(&f, &host("192.168.1.77"), "d", "u"), Some(1));
        assert_eq!(matched(&f, &host("192.168.2.1"), "d", "u"), Some(5));
        assert_eq!(matched(&f, &host("10.200.3.4"), "d", "u"), Some(2));
        assert_eq!(matched(&f, &host("11.0.0.1"), "d", "u"), Some(5));
        assert_eq!(matched(&f, &host("2001:db8:1234::5"), "d", "u"), Some(3));
        assert_eq!(matched(&f, &host("fe80::1"), "d", "u"), Some(4));
        assert_eq!(
            matched(&f, &host("2001:db9::1"), "d", "u"),
            None,
            "IPv6 never matches an IPv4 range"
        );
        // A v4-mapped client is treated as its IPv4 address.
        assert_eq!(matched(&f, &host("::ffff:192.168.1.5"), "d", "u"), Some(1));
    }

    #[test]
    fn host_bits_and_zero_length_prefixes_behave_like_postgres() {
        let f = parse("host all all 10.1.2.3/8 trust\nhost all all ::/0 md5\n");
        assert_eq!(matched(&f, &host("10.9.9.9"), "d", "u"), Some(1));
        assert_eq!(matched(&f, &host("1234::1"), "d", "u"), Some(2));
        let f = parse("host all all 127.0.0.1/32 trust\n");
        assert_eq!(matched(&f, &host("127.0.0.2"), "d", "u"), None);
    }

    #[test]
    fn keyword_lists_and_quoting() {
        let f = parse(
            "local db1,db2 alice,bob trust\n\
             local \"all\" all md5\n\
             local sameuser all password\n\
             local samerole +carol scram-sha-256\n\
             local replication all trust\n\
             local \"with space\",\"a,b\" \"all\" reject\n\
             local all \"all\" md5\n",
        );
        assert_eq!(matched(&f, &ConnKind::Local, "db2", "bob"), Some(1));
        assert_eq!(
            matched(&f, &ConnKind::Local, "db3", "bob"),
            None,
            "quoted all is only the user named all; line 7 too"
        );
        assert_eq!(
            matched(&f, &ConnKind::Local, "all", "x"),
            Some(2),
            "a quoted keyword is a plain name"
        );
        assert_eq!(matched(&f, &ConnKind::Local, "dave", "dave"), Some(3));
        assert_eq!(matched(&f, &ConnKind::Local, "carol", "carol"), Some(3));
        assert_eq!(matched(&f, &ConnKind::Local, "with space", "all"), Some(6));
        assert_eq!(matched(&f, &ConnKind::Local, "a,b", "all"), Some(6));
        assert_eq!(
            matched(&f, &ConnKind::Local, "replication", "bob"),
            None,
            "replication never names a database"
        );
        assert_eq!(matched(&f, &ConnKind::Local, "zzz", "all"), Some(7));
    }

    #[test]
    fn plus_role_is_membership_and_a_role_is_its_own_member() {
        let f = parse(
            "local all +admins trust\nlocal samerole all md5\nlocal all \"+admins\" password\n",
        );
        assert_eq!(matched(&f, &ConnKind::Local, "db", "admins"), Some(1));
        assert_eq!(matched(&f, &ConnKind::Local, "db", "bob"), None);
        assert_eq!(matched(&f, &ConnKind::Local, "bob", "bob"), Some(2));
        assert_eq!(
            matched(&f, &ConnKind::Local, "db", "+admins"),
            Some(3),
            "quoted +name is a literal user name"
        );
    }

    #[test]
    fn comma_spacing_follows_next_token() {
        // "a, b" is one field; "a ,b" is two (so the method lands on "b").
        let f = parse("local a, b all trust\n");
        assert_eq!(matched(&f, &ConnKind::Local, "b", "x"), Some(1));
        let e = parse_err("local a ,b all trust\n");
        assert_eq!(e.message, "invalid authentication method \"all\"");
    }

    #[test]
    fn quotes_protect_hash_and_double_quotes() {
        let f = parse("local \"db#1\" \"a\"\"b\" trust # real comment\n");
        assert_eq!(matched(&f, &ConnKind::Local, "db#1", "a\"b"), Some(1));
    }

    #[test]
    fn hostssl_matches_only_tls_and_hostnossl_only_plaintext() {
        let text = "hostssl all all all trust\nhostgssenc all all all trust\nhostnossl all all all md5\nhostnogssenc all all all reject\n";
        let f = parse(text);
        assert_eq!(matched(&f, &host("127.0.0.1"), "d", "u"), Some(3));
        assert_eq!(matched(&f, &host_ssl("127.0.0.1"), "d", "u"), Some(1));
        assert_eq!(f.warnings().len(), 1, "hostgssenc cannot match");
        assert_eq!(matched(&f, &ConnKind::Local, "d", "u"), None);

        let f = HbaFile::parse_with_ssl(text, PATH, false).unwrap();
        assert_eq!(f.warnings().len(), 2);
        assert_eq!(
            f.warnings()[0].message,
            "hostssl record cannot match because SSL is disabled"
        );
        assert_eq!(
            f.warnings()[0].hint.as_deref(),
            Some("Set ssl = on in postgresql.conf.")
        );
        assert_eq!(
            f.warnings()[0].detail.as_deref(),
            Some("line 1 of configuration file \"/data/pg_hba.conf\"")
        );

        let f = parse("hostnossl all all all trust\n");
        assert_eq!(
            f.find(&host_ssl("127.0.0.1"), "d", "u")
                .unwrap_err()
                .message,
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"u\", database \"d\", SSL encryption"
        );
    }

    #[test]
    fn cert_method_and_clientcert_options_parse_as_postgresql() {
        let f = parse(
            "hostssl all all all cert\nhostssl all all all scram-sha-256 clientcert=verify-ca\nhostssl all all all trust clientcert=verify-full clientname=DN\nhostssl all all all cert map=m\n",
        );
        assert_eq!(f.lines()[0].clientcert, ClientCert::VerifyFull);
        assert_eq!(f.lines()[1].clientcert, ClientCert::VerifyCa);
        assert_eq!(f.lines()[2].clientcert, ClientCert::VerifyFull);
        assert_eq!(f.lines()[2].clientname, ClientName::Dn);
        assert_eq!(f.lines()[0].clientname, ClientName::Cn);
        assert_eq!(
            parse_err("host all all all cert").message,
            "cert authentication is only supported on hostssl connections"
        );
        assert_eq!(
            parse_err("hostssl all all all cert clientcert=verify-ca").message,
            "clientcert only accepts \"verify-full\" when using \"cert\" authentication"
        );
    }

    #[test]
    fn samehost_matches_loopback_but_not_foreign_addresses() {
        let f = parse("host all all samehost trust\nhost all all samenet md5\n");
        assert_eq!(matched(&f, &host("127.0.0.1"), "d", "u"), Some(1));
        assert_eq!(
            matched(&f, &host("192.0.2.1"), "d", "u"),
            None,
            "TEST-NET-1 is never local"
        );
    }

    #[test]
    fn options_are_checked_like_postgres() {
        let f = parse(
            "local all all peer map=omicron\nhostssl all all all md5 clientcert=verify-full\n",
        );
        assert_eq!(
            f.lines()[0].options,
            vec![("map".to_string(), "omicron".to_string())]
        );
        assert_eq!(
            parse_err("local all all md5 map=x").message,
            "authentication option \"map\" is only valid for authentication methods ident, peer, gssapi, sspi, and cert"
        );
        assert_eq!(
            parse_err("local all all md5 bogus=x").message,
            "unrecognized authentication option name: \"bogus\""
        );
        assert_eq!(
            parse_err("local all all md5 novalue").message,
            "authentication option not in name=value format: novalue"
        );
        assert_eq!(
            parse_err("host all all all md5 clientcert=verify-ca").message,
            "clientcert can only be configured for \"hostssl\" rows"
        );
        assert_eq!(
            parse_err("host all all all md5 ldapserver=x").message,
            "authentication option \"ldapserver\" is only valid for authentication methods ldap"
        );
    }

    #[test]
    fn ident_on_local_is_peer_and_peer_on_host_is_an_error() {
        let f = parse("local all all ident\nhost all all all ident\n");
        assert_eq!(f.lines()[0].method, AuthMethod::Peer);
        assert_eq!(f.lines()[1].method, AuthMethod::Ident);
        assert_eq!(
            parse_err("host all all all peer").message,
            "peer authentication is only supported on local sockets"
        );
    }

    #[test]
    fn errors_carry_postgres_text_and_line_number() {
        let cases: &[(&str, &str)] = &[
            (
                "# c\n\nfoo all all trust\n",
                "invalid connection type \"foo\"",
            ),
            (
                "local all all\n",
                "end-of-line before authentication method",
            ),
            ("local\n", "end-of-line before database specification"),
            ("local all\n", "end-of-line before role specification"),
            (
                "host all all\n",
                "end-of-line before IP address specification",
            ),
            (
                "host all all 127.0.0.1/32\n",
                "end-of-line before authentication method",
            ),
            (
                "host all all 10.0.0.0\n",
                "end-of-line before netmask specification",
            ),
            (
                "host all all 10.0.0.0 ffff::\n",
                "IP address and mask do not match",
            ),
            (
                "host all all 10.0.0.0 nonsense trust\n",
                "invalid IP mask \"nonsense\": Name or service not known",
            ),
            (
                "host all all 10.0.0.0/33 trust\n",
                "invalid CIDR mask in address \"10.0.0.0/33\"",
            ),
            (
                "host all all ::/129 trust\n",
                "invalid CIDR mask in address \"::/129\"",
            ),
            (
                "host all all 10.0.0.0/x trust\n",
                "invalid CIDR mask in address \"10.0.0.0/x\"",
            ),
            (
                "host all all example.com/24 trust\n",
                "specifying both host name and CIDR mask is invalid: \"example.com/24\"",
            ),
            (
                "host all all 1.2.3.4/32,5.6.7.8/32 trust\n",
                "multiple values specified for host address",
            ),
            (
                "local,host all all trust\n",
                "multiple values specified for connection type",
            ),
            (
                "local all all trust,md5\n",
                "multiple values specified for authentication type",
            ),
            (
                "local all all bogus\n",
                "invalid authentication method \"bogus\"",
            ),
            (
                "local all all ldap\n",
                "invalid authentication method \"ldap\": not supported by this build",
            ),
            (
                "# only comments\n   \n",
                "configuration file \"/data/pg_hba.conf\" contains no entries",
            ),
        ];
        for (text, message) in cases {
            let e = parse_err(text);
            assert_eq!(&e.message, message, "for {text:?}");
            assert_eq!(e.sqlstate, "F0000");
        }
        let e = parse_err("local all all trust\n\n# x\nfoo all all trust\n");
        assert_eq!(
            e.detail.as_deref(),
            Some("line 4 of configuration file \"/data/pg_hba.conf\"")
        );
        let e = parse_err("local all all trust\nlocal all all\n");
        assert_eq!(
            e.detail.as_deref(),
            Some("line 2 of configuration file \"/data/pg_hba.conf\"")
        );
    }

    #[test]
    fn at_file_includes_tokens_relative_to_the_hba_file() {
        let dir =
            std::env::temp_dir().join(format!("ferrogres-hba-include-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("admins.txt"), "alice bob # admins\ncarol\n").unwrap();
        let hba_path = dir.join("pg_hba.conf");
        std::fs::write(
            &hba_path,
            "local all @admins.txt trust\nlocal all @missing.txt md5\n",
        )
        .unwrap();
        let e = HbaFile::load(&hba_path, true).unwrap_err();
        assert!(
            e.message
                .starts_with("could not open secondary authentication file \"@missing.txt\" as \""),
            "{}",
            e.message
        );
        assert!(e.detail.as_deref().unwrap().starts_with("line 2 of"));
        std::fs::write(&hba_path, "local all @admins.txt trust\n").unwrap();
        let f = HbaFile::load(&hba_path, true).unwrap();
        assert_eq!(matched(&f, &ConnKind::Local, "d", "carol"), Some(1));
        assert_eq!(matched(&f, &ConnKind::Local, "d", "bob"), Some(1));
        assert_eq!(matched(&f, &ConnKind::Local, "d", "dave"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_reports_the_os_error() {
        let e = HbaFile::load(Path::new("/nonexistent/ferrogres/pg_hba.conf"), true).unwrap_err();
        assert_eq!(
            e.message,
            "could not open configuration file \"/nonexistent/ferrogres/pg_hba.conf\": No such file or directory"
        );
    }

    #[test]
    fn hostnames_resolve_forward() {
        let f = parse("host all all localhost trust\n");
        assert_eq!(matched(&f, &host("127.0.0.1"), "d", "u"), Some(1));
        assert_eq!(matched(&f, &host("192.0.2.1"), "d", "u"), None);
    }
}
