//! TLS for client connections: PostgreSQL's `be-secure.c` and
//! `be-secure-openssl.c`, on rustls (with the `ring` provider) instead of
//! OpenSSL.
//!
//! ## Design
//!
//! ```text
//!   postmaster                                backend (after fork)
//!   ──────────                                ────────────────────
//!   start:  load(settings) ─ error: FATAL     read SSLRequest (plaintext)
//!   SIGHUP: load(settings) ─ error: LOG,      buffered bytes after it? FATAL 08P01
//!           keep the old config               send 'S' (or 'N' when ssl = off)
//!   fork ──> the child inherits the           accept(): handshake under
//!            Arc<TlsConfig> of that moment      authentication_timeout
//!                                             read the startup packet over TLS
//! ```
//!
//! - **Configuration is loaded in the postmaster** ([`load`]), once at start
//!   (an error is FATAL there, with PostgreSQL's message) and again at every
//!   SIGHUP (an error is logged and the previous configuration stays, as
//!   `be_tls_init(isServerStart = false)` does). The postmaster never touches
//!   a client's bytes: it only holds the parsed `rustls::ServerConfig`.
//! - **The handshake runs in the backend, after fork** ([`accept`]), never in
//!   the postmaster: a client that stalls or sends garbage costs one backend
//!   process until `authentication_timeout`, never the accept loop. The
//!   child inherits the configuration by fork (no re-reading of files).
//! - **One socket type.** After the handshake the backend's
//!   [`super::Socket`] becomes `Socket::Tls`; the protocol code reads and
//!   writes through it unchanged. [`TlsStream::read`] does at most one
//!   `read(2)` per call and returns `WouldBlock` when a partial record left
//!   no plaintext, so the connection's `poll` over the socket and the
//!   self-pipe stays the only place that waits (interrupts and timeouts keep
//!   working on TLS connections). Plaintext rustls already decrypted is
//!   reported by [`TlsStream::has_pending_plaintext`], so nobody polls a
//!   socket for bytes that already arrived.
//! - **No session resumption**, as PostgreSQL (`SSL_OP_NO_TICKET`,
//!   `SSL_SESS_CACHE_OFF`): each backend is a new process, a cache would
//!   not survive it anyway.
//!
//! ## Settings
//!
//! `ssl_cert_file` (a chain: the server certificate first), `ssl_key_file`
//! (checked for owner and mode as PostgreSQL does before it is read),
//! `ssl_ca_file` (when set, client certificates are requested, and verified
//! if presented: pg_hba.conf decides later whether one is required),
//! `ssl_crl_file` and `ssl_crl_dir` (every CRL in the files of the
//! directory), `ssl_min_protocol_version` / `ssl_max_protocol_version`
//! (rustls speaks TLSv1.2 and TLSv1.3: a maximum below TLSv1.2 is PostgreSQL's
//! `"..." setting "..." not supported by this build`), `ssl_ecdh_curve` (the
//! one key-exchange group offered, as OpenSSL's `SSL_CTX_set_tmp_ecdh` makes
//! it: `prime256v1`, `secp384r1` or `X25519`), `ssl_prefer_server_ciphers`
//! (rustls's `ignore_client_order`).
//!
//! What rustls cannot do: `ssl_ciphers` is an OpenSSL cipher-list string and
//! rustls offers a fixed set of AEAD suites (AES-GCM, ChaCha20-Poly1305, with
//! ECDHE), so a non-default value is logged as a WARNING and not applied;
//! likewise `ssl_dh_params_file` (rustls has no finite-field DHE).
//! `ssl_passphrase_command` is refused (0A000): encrypted keys cannot be read.
//!
//! ## Invariants
//!
//! - Nothing a client sends reaches a panic: handshake and record errors are
//!   `Err`, logged as PostgreSQL's COMMERROR lines, and end the backend.
//! - A process serves at most one TLS connection, so what the handshake
//!   learned (version, cipher, client certificate) is kept once per process
//!   ([`set_my_status`]) for `ssl_is_used()` and friends; `pg_stat_ssl`
//!   reads the copy in the process's shared-memory slot.

pub mod x509;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use super::ReadError;
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};
use crate::utils::guc::Settings;

/// The loaded TLS configuration, shared by every backend forked after it.
pub struct TlsConfig {
    pub server_config: Arc<rustls::ServerConfig>,
    /// `ssl_ca_file` was loaded: client certificates are verified
    /// (`secure_loaded_verify_locations()`).
    pub verify_locations_loaded: bool,
    /// The `tls-server-end-point` channel-binding data (the server
    /// certificate's hash), None when its signature algorithm has no single
    /// hash (RSASSA-PSS, Ed25519): then `SCRAM-SHA-256-PLUS` is not offered.
    pub server_cert_hash: Option<Vec<u8>>,
    /// Settings that rustls cannot apply, as warnings for the postmaster's log.
    pub warnings: Vec<PgError>,
}

/// What a backend knows about its TLS connection (`Port->ssl`, `peer_*`).
#[derive(Clone, Debug)]
pub struct SslStatus {
    /// `TLSv1.2` or `TLSv1.3`, as `SSL_get_version`.
    pub version: &'static str,
    /// The cipher suite under OpenSSL's name (`SSL_get_cipher`).
    pub cipher: String,
    /// The cipher's key size (`SSL_get_cipher_bits`).
    pub bits: i32,
    /// The client certificate, if one was presented (and so verified).
    pub peer: Option<PeerCert>,
    /// Channel-binding data of this connection's server certificate.
    pub server_cert_hash: Option<Vec<u8>>,
    /// `ssl_ca_file` was loaded, so a presented certificate was verified.
    pub ca_loaded: bool,
}

/// The client certificate's names (`peer_cn`, `peer_dn` and the one-line forms).
#[derive(Clone, Debug)]
pub struct PeerCert {
    /// The subject's commonName (`peer_cn`), for `cert` authentication.
    pub cn: Option<String>,
    /// The subject in RFC 2253 form (`peer_dn`), for `clientname=DN`.
    pub dn: String,
    /// `/CN=...` form of the subject (`pg_stat_ssl.client_dn`, `ssl_client_dn()`).
    pub subject: String,
    /// `/CN=...` form of the issuer (`pg_stat_ssl.issuer_dn`).
    pub issuer: String,
    /// Serial number in decimal (`pg_stat_ssl.client_serial`).
    pub serial: String,
}

static MY_STATUS: OnceLock<SslStatus> = OnceLock::new();

/// Records this process's TLS connection (once, after the handshake).
pub fn set_my_status(status: SslStatus) {
    let _ = MY_STATUS.set(status);
}

/// This backend's TLS connection, None on a plaintext connection.
pub fn my_status() -> Option<&'static SslStatus> {
    MY_STATUS.get()
}

// ---------------------------------------------------------------------------
// Loading the configuration (the postmaster)
// ---------------------------------------------------------------------------

/// `%m`: the OS error text without Rust's "(os error N)" suffix.
fn os_error_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

/// `errcode_for_file_access()`.
fn file_access_code(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => sqlstate::UNDEFINED_FILE,
        io::ErrorKind::PermissionDenied => sqlstate::INSUFFICIENT_PRIVILEGE,
        _ => sqlstate::IO_ERROR,
    }
}

fn config_error(message: impl Into<String>) -> PgError {
    PgError::fatal(sqlstate::CONFIG_FILE_ERROR, message)
}

/// A file named by a setting: relative paths are relative to the data
/// directory, as in PostgreSQL (which runs in it).
fn resolve(data_dir: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

/// `check_ssl_key_file_permissions()`: a regular file, owned by us or root,
/// no group or world access (0640 allowed when owned by root).
pub fn check_key_file_permissions(path: &Path, shown: &str) -> PgResult<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).map_err(|e| {
        PgError::fatal(
            file_access_code(&e),
            format!(
                "could not access private key file \"{shown}\": {}",
                os_error_text(&e)
            ),
        )
    })?;
    let ft = meta.file_type();
    if !ft.is_file() || ft.is_fifo() {
        return Err(config_error(format!(
            "private key file \"{shown}\" is not a regular file"
        )));
    }
    let euid = nix::unistd::geteuid().as_raw();
    let (uid, mode) = (meta.uid(), meta.mode());
    if uid != euid && uid != 0 {
        return Err(config_error(format!(
            "private key file \"{shown}\" must be owned by the database user or root"
        )));
    }
    if (uid == euid && mode & 0o077 != 0) || (uid == 0 && mode & 0o037 != 0) {
        return Err(config_error(format!(
            "private key file \"{shown}\" has group or world access"
        ))
        .with_detail("File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root."));
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| os_error_text(&e))
}

/// The protocol versions allowed by `ssl_min/max_protocol_version`.
fn protocol_versions(
    settings: &Settings,
) -> PgResult<Vec<&'static rustls::SupportedProtocolVersion>> {
    // Rank of each setting value; "" (any) is 0.
    let rank = |v: &str| match v {
        "TLSv1" => 1,
        "TLSv1.1" => 2,
        "TLSv1.2" => 3,
        "TLSv1.3" => 4,
        _ => 0,
    };
    let min_s = settings.get_str("ssl_min_protocol_version");
    let max_s = settings.get_str("ssl_max_protocol_version");
    let (min, max) = (rank(&min_s), rank(&max_s));
    // rustls has no TLSv1.0/1.1: as an OpenSSL build without them, a
    // maximum that only allows those is "not supported by this build". A
    // minimum below TLSv1.2 allows TLSv1.2 and up, which is what we offer.
    if max != 0 && max < 3 {
        return Err(PgError::fatal(
            sqlstate::CONFIG_FILE_ERROR,
            format!("\"ssl_max_protocol_version\" setting \"{max_s}\" not supported by this build"),
        ));
    }
    if min != 0 && max != 0 && min > max {
        return Err(PgError::fatal(
            sqlstate::CONFIG_FILE_ERROR,
            "could not set SSL protocol version range",
        )
        .with_detail(
            "\"ssl_min_protocol_version\" cannot be higher than \"ssl_max_protocol_version\"",
        ));
    }
    let mut v = Vec::new();
    if min <= 3 && (max == 0 || max >= 3) {
        v.push(&rustls::version::TLS12);
    }
    if max == 0 || max >= 4 {
        v.push(&rustls::version::TLS13);
    }
    Ok(v)
}

/// `initialize_ecdh()`: the key-exchange group named by `ssl_ecdh_curve`.
fn ecdh_group(curve: &str) -> PgResult<&'static dyn rustls::crypto::SupportedKxGroup> {
    use rustls::crypto::ring::kx_group;
    match curve {
        "prime256v1" | "P-256" | "secp256r1" => Ok(kx_group::SECP256R1),
        "secp384r1" | "P-384" => Ok(kx_group::SECP384R1),
        "X25519" | "x25519" => Ok(kx_group::X25519),
        other => Err(config_error(format!(
            "ECDH: unrecognized curve name: {other}"
        ))),
    }
}

/// Reads every CRL of a PEM file.
fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let bytes = read_file(path)?;
    let mut out = Vec::new();
    for crl in CertificateRevocationListDer::pem_slice_iter(&bytes) {
        out.push(crl.map_err(|e| e.to_string())?);
    }
    if out.is_empty() {
        return Err("no CRL found in the file".to_string());
    }
    Ok(out)
}

/// `be_tls_init()`: builds the server configuration from the settings.
/// Errors carry PostgreSQL's messages with FATAL severity; at reload the
/// caller logs them at LOG and keeps the previous configuration.
pub fn load(settings: &Settings, data_dir: &Path) -> PgResult<TlsConfig> {
    let mut warnings = Vec::new();
    let passphrase_command = settings.get_str("ssl_passphrase_command");
    if !passphrase_command.is_empty() {
        return Err(PgError::fatal(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "ssl_passphrase_command is not supported by ferrogres",
        )
        .with_hint("Use a private key file without a passphrase, readable only by the server."));
    }

    // The certificate chain, server certificate first.
    let cert_name = settings.get_str("ssl_cert_file");
    let cert_bytes = read_file(&resolve(data_dir, &cert_name)).map_err(|e| {
        config_error(format!(
            "could not load server certificate file \"{cert_name}\": {e}"
        ))
    })?;
    let mut chain: Vec<CertificateDer<'static>> = Vec::new();
    for c in CertificateDer::pem_slice_iter(&cert_bytes) {
        chain.push(c.map_err(|e| {
            config_error(format!(
                "could not load server certificate file \"{cert_name}\": {e}"
            ))
        })?);
    }
    let Some(server_cert) = chain.first() else {
        return Err(config_error(format!(
            "could not load server certificate file \"{cert_name}\": no certificate found in the file"
        )));
    };
    let server_info = x509::parse(server_cert).map_err(|e| {
        config_error(format!(
            "could not load server certificate file \"{cert_name}\": {}",
            e.0
        ))
    })?;
    let server_cert_hash = x509::end_point_hash(&server_info.signature_algorithm, server_cert);

    // The private key, after the permission check.
    let key_name = settings.get_str("ssl_key_file");
    let key_path = resolve(data_dir, &key_name);
    check_key_file_permissions(&key_path, &key_name)?;
    let key_bytes = read_file(&key_path).map_err(|e| {
        config_error(format!(
            "could not load private key file \"{key_name}\": {e}"
        ))
    })?;
    if String::from_utf8_lossy(&key_bytes).contains("ENCRYPTED") {
        return Err(config_error(format!(
            "private key file \"{key_name}\" requires a passphrase, which ferrogres does not support"
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| {
        config_error(format!(
            "could not load private key file \"{key_name}\": {e}"
        ))
    })?;

    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![ecdh_group(&settings.get_str("ssl_ecdh_curve"))?];
    let provider = Arc::new(provider);

    let ciphers = settings.get_str("ssl_ciphers");
    if ciphers != "HIGH:MEDIUM:+3DES:!aNULL" {
        warnings.push(
            PgError::new(
                Severity::Warning,
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("ssl_ciphers = '{ciphers}' is not applied: rustls offers its own fixed set of cipher suites"),
            )
            .with_detail("ferrogres negotiates only AES-GCM and ChaCha20-Poly1305 suites with ECDHE key exchange."),
        );
    }
    let dh = settings.get_str("ssl_dh_params_file");
    if !dh.is_empty() {
        warnings.push(PgError::new(
            Severity::Warning,
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "ssl_dh_params_file = '{dh}' is not applied: rustls offers no DHE cipher suites"
            ),
        ));
    }

    let versions = protocol_versions(settings)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| {
            PgError::fatal(
                sqlstate::CONFIG_FILE_ERROR,
                format!("could not create SSL context: {e}"),
            )
        })?;

    // Client certificates: requested when ssl_ca_file is set, verified
    // against it and the CRLs when presented.
    let ca_name = settings.get_str("ssl_ca_file");
    let crl_name = settings.get_str("ssl_crl_file");
    let crl_dir = settings.get_str("ssl_crl_dir");
    let mut crls = Vec::new();
    if !crl_name.is_empty() {
        crls.extend(load_crls(&resolve(data_dir, &crl_name)).map_err(|e| {
            config_error(format!(
                "could not load SSL certificate revocation list file \"{crl_name}\": {e}"
            ))
        })?);
    }
    if !crl_dir.is_empty() {
        let dir_err = |e: String| {
            config_error(format!(
                "could not load SSL certificate revocation list directory \"{crl_dir}\": {e}"
            ))
        };
        let entries = std::fs::read_dir(resolve(data_dir, &crl_dir))
            .map_err(|e| dir_err(os_error_text(&e)))?;
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.is_file()).take(10_000) {
            // OpenSSL looks CRLs up by hashed name and skips what does not
            // parse; files that hold no CRL are skipped here too.
            if let Ok(list) = load_crls(&p) {
                crls.extend(list);
            }
        }
    }
    let builder = if ca_name.is_empty() {
        builder.with_no_client_auth()
    } else {
        let ca_err = |e: String| {
            config_error(format!(
                "could not load root certificate file \"{ca_name}\": {e}"
            ))
        };
        let bytes = read_file(&resolve(data_dir, &ca_name)).map_err(ca_err)?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&bytes) {
            let c = c.map_err(|e| ca_err(e.to_string()))?;
            roots.add(c).map_err(|e| ca_err(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(ca_err("no certificate found in the file".to_string()));
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .with_crls(crls)
                .allow_unauthenticated()
                .build()
                .map_err(|e| ca_err(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            config_error("check of private key failed: key values mismatch")
        }
        other => config_error(format!(
            "could not load private key file \"{key_name}\": {other}"
        )),
    })?;
    config.ignore_client_order = settings.get_bool("ssl_prefer_server_ciphers");
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(TlsConfig {
        server_config: Arc::new(config),
        verify_locations_loaded: !ca_name.is_empty(),
        server_cert_hash,
        warnings,
    })
}

// ---------------------------------------------------------------------------
// The connection (a backend)
// ---------------------------------------------------------------------------

/// A TLS connection over the client's TCP socket.
pub struct TlsStream {
    tcp: TcpStream,
    conn: rustls::ServerConnection,
    /// rustls reported a fatal error: every later read fails at once rather
    /// than waiting on the socket.
    broken: bool,
}

impl TlsStream {
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.tcp.as_raw_fd()
    }

    /// Decrypted bytes are waiting (polling the socket would miss them).
    pub fn has_pending_plaintext(&mut self) -> bool {
        match self.conn.process_new_packets() {
            Ok(state) => state.plaintext_bytes_to_read() > 0 || state.peer_has_closed(),
            // Let the next read report it.
            Err(_) => {
                self.broken = true;
                true
            }
        }
    }

    /// Sends every TLS record rustls has queued.
    fn write_tls_all(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read_plaintext(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        match self.conn.reader().read(buf) {
            Ok(n) => Some(Ok(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            // The peer closed without close_notify: an end of file all the same.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Some(Ok(0)),
            Err(e) => Some(Err(e)),
        }
    }

    /// What the handshake established, for `pg_stat_ssl` and sslinfo.
    pub fn status(&self, config: &TlsConfig) -> SslStatus {
        let version = match self.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let suite = self
            .conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default();
        let (cipher, bits) = openssl_cipher_name(&suite);
        let peer = self
            .conn
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|c| x509::parse(c).ok())
            .map(|info| PeerCert {
                cn: info.common_name,
                dn: info.subject_rfc2253,
                subject: info.subject,
                issuer: info.issuer,
                serial: info.serial,
            });
        SslStatus {
            version,
            cipher,
            bits,
            peer,
            server_cert_hash: config.server_cert_hash.clone(),
            ca_loaded: config.verify_locations_loaded,
        }
    }
}

impl Read for TlsStream {
    /// At most one `read(2)`: `WouldBlock` when the bytes that came made no
    /// plaintext yet (a partial record, a handshake message), so that the
    /// caller goes back to its `poll`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.broken {
            return Err(io::ErrorKind::InvalidData.into());
        }
        if let Some(r) = self.read_plaintext(buf) {
            return r;
        }
        if self.conn.read_tls(&mut self.tcp)? == 0 {
            return Ok(0);
        }
        let processed = self.conn.process_new_packets();
        // Alerts, key updates: whatever rustls has to say goes out now.
        let written = self.write_tls_all();
        if let Err(e) = processed {
            self.broken = true;
            // be_tls_read()'s COMMERROR: the log only, the record layer is gone.
            crate::utils::elog::log(Severity::Log, &format!("SSL error: {e}"));
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        written?;
        self.read_plaintext(buf)
            .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.write_tls_all()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_tls_all()
    }
}

/// OpenSSL's name and key bits of a rustls cipher suite.
fn openssl_cipher_name(rustls_name: &str) -> (String, i32) {
    let (name, bits) = match rustls_name {
        "TLS13_AES_256_GCM_SHA384" => ("TLS_AES_256_GCM_SHA384", 256),
        "TLS13_AES_128_GCM_SHA256" => ("TLS_AES_128_GCM_SHA256", 128),
        "TLS13_CHACHA20_POLY1305_SHA256" => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => ("ECDHE-ECDSA-AES256-GCM-SHA384", 256),
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => ("ECDHE-ECDSA-AES128-GCM-SHA256", 128),
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => ("ECDHE-ECDSA-CHACHA20-POLY1305", 256),
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => ("ECDHE-RSA-CHACHA20-POLY1305", 256),
        other => return (other.to_string(), 0),
    };
    (name.to_string(), bits)
}

/// `be_tls_open_server()`: runs the server side of the handshake on `tcp`,
/// waiting in `poll` (socket and self-pipe) until `deadline`.
/// `Err(ReadError::Protocol(e))` is a COMMERROR for the log only: the client
/// cannot be told anything once TLS failed.
pub fn accept(
    tcp: TcpStream,
    config: &TlsConfig,
    wake_bits: u32,
    deadline: Option<Instant>,
) -> Result<TlsStream, ReadError> {
    let conn = rustls::ServerConnection::new(config.server_config.clone()).map_err(|e| {
        ReadError::Protocol(PgError::new(
            Severity::Log,
            sqlstate::PROTOCOL_VIOLATION,
            format!("could not initialize SSL connection: {e}"),
        ))
    })?;
    let mut s = TlsStream {
        tcp,
        conn,
        broken: false,
    };
    let comm_error = |message: String| {
        ReadError::Protocol(PgError::new(
            Severity::Log,
            sqlstate::PROTOCOL_VIOLATION,
            message,
        ))
    };
    loop {
        if s.write_tls_all().is_err() {
            return Err(ReadError::Eof);
        }
        if !s.conn.is_handshaking() {
            return Ok(s);
        }
        super::poll_readable(s.fd(), wake_bits, deadline)?;
        match s.conn.read_tls(&mut s.tcp) {
            Ok(0) => {
                return Err(comm_error(
                    "could not accept SSL connection: EOF detected".to_string(),
                ));
            }
            Ok(_) => {}
            Err(e)
                if e.kind() == io::ErrorKind::Interrupted
                    || e.kind() == io::ErrorKind::WouldBlock =>
            {
                continue;
            }
            Err(e) => {
                return Err(comm_error(format!(
                    "could not accept SSL connection: {}",
                    os_error_text(&e)
                )));
            }
        }
        if let Err(e) = s.conn.process_new_packets() {
            // Tell the client why (the alert), then give up.
            let _ = s.write_tls_all();
            let hint = matches!(
                e,
                rustls::Error::PeerIncompatible(_)
                    | rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            );
            let mut err = PgError::new(
                Severity::Log,
                sqlstate::PROTOCOL_VIOLATION,
                format!("could not accept SSL connection: {e}"),
            );
            if hint {
                err = err.with_hint("This may indicate that the client does not support any SSL protocol version between TLSv1.2 and TLSv1.3.");
            }
            return Err(ReadError::Protocol(err));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_names_follow_openssl() {
        assert_eq!(
            openssl_cipher_name("TLS13_AES_256_GCM_SHA384"),
            ("TLS_AES_256_GCM_SHA384".to_string(), 256)
        );
        assert_eq!(
            openssl_cipher_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            ("ECDHE-RSA-AES128-GCM-SHA256".to_string(), 128)
        );
    }

    #[test]
    fn curves_map_to_groups_and_unknown_ones_fail_as_postgresql() {
        assert!(ecdh_group("prime256v1").is_ok());
        assert!(ecdh_group("X25519").is_ok());
        assert_eq!(
            ecdh_group("brainpoolP256r1").err().unwrap().message,
            "ECDH: unrecognized curve name: brainpoolP256r1"
        );
    }

    #[test]
    fn protocol_range_checks_use_postgresql_messages() {
        let mut s = Settings::new();
        assert_eq!(protocol_versions(&s).unwrap().len(), 2);
        s.set_internal("ssl_min_protocol_version", "TLSv1.3");
        assert_eq!(protocol_versions(&s).unwrap().len(), 1);
        s.set_internal("ssl_max_protocol_version", "TLSv1.2");
        let e = protocol_versions(&s).unwrap_err();
        assert_eq!(e.message, "could not set SSL protocol version range");
        s.set_internal("ssl_min_protocol_version", "TLSv1");
        s.set_internal("ssl_max_protocol_version", "TLSv1.1");
        assert_eq!(
            protocol_versions(&s).unwrap_err().message,
            "\"ssl_max_protocol_version\" setting \"TLSv1.1\" not supported by this build"
        );
    }
}
