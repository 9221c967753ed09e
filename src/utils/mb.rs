//! Character encodings (PostgreSQL's `utils/mb`: `mbutils.c`, `wchar.c`,
//! `encnames.c` and the single-byte conversion procedures under
//! `conversion_procs/`).
//!
//! # Model
//!
//! The server encoding is always UTF8: every `String` inside the backend
//! is valid UTF-8, and that is what is stored. The *client* encoding
//! (`client_encoding`) is per session, as in PostgreSQL, and applies at the
//! edge of the wire protocol only:
//!
//! ```text
//!   client bytes ──client_to_server──▶ String (UTF-8) ──…executor…──▶
//!   String ──server_to_client──▶ client bytes
//! ```
//!
//! - **Input** (`pg_client_to_server`): query strings (Query, Parse), the
//!   names in Bind/Describe/Close/Execute, and text parameter values of
//!   Bind (text and binary format of text types, as `textrecv` does) are
//!   converted and checked before anything else sees them. Bytes that are
//!   not valid in the client encoding fail with 22021 `invalid byte
//!   sequence for encoding "UTF8": 0xe9 0x27`; a character the conversion
//!   cannot map fails with 22P05 `character with byte sequence 0x81 in
//!   encoding "WIN1252" has no equivalent in encoding "UTF8"`. With client
//!   encoding UTF8 or SQL_ASCII the bytes are only verified as UTF-8 (the
//!   server encoding), as PostgreSQL's `pg_any_to_server` does.
//! - **Output** (`pg_server_to_client`): row values in text format,
//!   column names in RowDescription, ParameterStatus values and the text
//!   fields of ErrorResponse/NoticeResponse are converted. A row value or
//!   column name that cannot be represented fails the statement with
//!   22P05. An error or notice whose text cannot be represented is
//!   replaced by the 22P05 report about it (PostgreSQL reports the
//!   conversion failure instead of the original error, which stays in the
//!   server log). SQL_ASCII clients get the server's bytes unchanged.
//!
//! # Encodings
//!
//! Names and numbers are PostgreSQL's (`pg_enc`, `pg_enc2name_tbl`), and
//! [`char_to_encoding`] accepts PostgreSQL's aliases (`pg_encname_tbl`:
//! `latin1`, `ISO-8859-1`, `iso_8859_1`, `unicode`, `win`, …) after the
//! same clean-up (lower case, letters and digits only). Conversions exist
//! for SQL_ASCII, UTF8 and every single-byte encoding PostgreSQL has
//! (LATIN1–LATIN10, ISO_8859_5–8, WIN866, WIN874, WIN1250–WIN1258, KOI8R,
//! KOI8U): each is one 128-entry table of code points for bytes
//! 0x80..=0xFF, generated from PostgreSQL 15 itself
//! (`scripts/gen-encoding-tables.sh`, see `mb/tables.rs`), so unmapped
//! bytes (WIN1252 0x81, ISO_8859_6 0xA1, …) are exactly PostgreSQL's. The
//! reverse direction is the inverse of the table (the script checks that
//! PostgreSQL's own maps are inverses over the BMP).
//!
//! The multi-byte client encodings (EUC_*, SJIS, BIG5, GBK, UHC, GB18030,
//! JOHAB, SHIFT_JIS_2004) and MULE_INTERNAL are known by name but not
//! converted: choosing one fails with 0A000, never silently as UTF8.
//!
//! # Invariants
//!
//! - Strings handed to the backend are valid UTF-8 without NUL bytes.
//! - The client encoding is per process (a backend serves one session),
//!   kept in [`CLIENT_ENCODING`]; the session updates it whenever the
//!   `client_encoding` setting changes (SET, RESET, ROLLBACK, startup).
//! - Nothing here panics on client bytes.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::utils::elog::{PgError, PgResult, sqlstate};

mod tables;

/// SQLSTATE 22021 (`ERRCODE_CHARACTER_NOT_IN_REPERTOIRE`).
pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
/// SQLSTATE 22P05 (`ERRCODE_UNTRANSLATABLE_CHARACTER`).
pub const UNTRANSLATABLE_CHARACTER: &str = "22P05";

/// `NAMEDATALEN`: encoding names this long or longer are never valid.
const NAMEDATALEN: usize = 64;

/// A PostgreSQL encoding, by its `pg_enc` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding(u8);

/// How ferrogres converts an encoding to and from UTF8.
#[derive(Clone, Copy)]
enum Conversion {
    /// SQL_ASCII: no conversion; input is verified as the server encoding.
    SqlAscii,
    /// UTF8, the server encoding: input verified, output unchanged.
    Utf8,
    /// A single-byte encoding: code points of bytes 0x80..=0xFF.
    Table(&'static [u16; 128]),
    /// Known to PostgreSQL, not converted by ferrogres.
    NotImplemented,
}

/// `pg_enc2name_tbl`, indexed by `pg_enc` number, with the conversion.
static ENCODINGS: [(&str, Conversion); 42] = [
    ("SQL_ASCII", Conversion::SqlAscii),
    ("EUC_JP", Conversion::NotImplemented),
    ("EUC_CN", Conversion::NotImplemented),
    ("EUC_KR", Conversion::NotImplemented),
    ("EUC_TW", Conversion::NotImplemented),
    ("EUC_JIS_2004", Conversion::NotImplemented),
    ("UTF8", Conversion::Utf8),
    ("MULE_INTERNAL", Conversion::NotImplemented),
    ("LATIN1", Conversion::Table(&tables::LATIN1)),
    ("LATIN2", Conversion::Table(&tables::LATIN2)),
    ("LATIN3", Conversion::Table(&tables::LATIN3)),
    ("LATIN4", Conversion::Table(&tables::LATIN4)),
    ("LATIN5", Conversion::Table(&tables::LATIN5)),
    ("LATIN6", Conversion::Table(&tables::LATIN6)),
    ("LATIN7", Conversion::Table(&tables::LATIN7)),
    ("LATIN8", Conversion::Table(&tables::LATIN8)),
    ("LATIN9", Conversion::Table(&tables::LATIN9)),
    ("LATIN10", Conversion::Table(&tables::LATIN10)),
    ("WIN1256", Conversion::Table(&tables::WIN1256)),
    ("WIN1258", Conversion::Table(&tables::WIN1258)),
    ("WIN866", Conversion::Table(&tables::WIN866)),
    ("WIN874", Conversion::Table(&tables::WIN874)),
    ("KOI8R", Conversion::Table(&tables::KOI8R)),
    ("WIN1251", Conversion::Table(&tables::WIN1251)),
    ("WIN1252", Conversion::Table(&tables::WIN1252)),
    ("ISO_8859_5", Conversion::Table(&tables::ISO_8859_5)),
    ("ISO_8859_6", Conversion::Table(&tables::ISO_8859_6)),
    ("ISO_8859_7", Conversion::Table(&tables::ISO_8859_7)),
    ("ISO_8859_8", Conversion::Table(&tables::ISO_8859_8)),
    ("WIN1250", Conversion::Table(&tables::WIN1250)),
    ("WIN1253", Conversion::Table(&tables::WIN1253)),
    ("WIN1254", Conversion::Table(&tables::WIN1254)),
    ("WIN1255", Conversion::Table(&tables::WIN1255)),
    ("WIN1257", Conversion::Table(&tables::WIN1257)),
    ("KOI8U", Conversion::Table(&tables::KOI8U)),
    ("SJIS", Conversion::NotImplemented),
    ("BIG5", Conversion::NotImplemented),
    ("GBK", Conversion::NotImplemented),
    ("UHC", Conversion::NotImplemented),
    ("GB18030", Conversion::NotImplemented),
    ("JOHAB", Conversion::NotImplemented),
    ("SHIFT_JIS_2004", Conversion::NotImplemented),
];

/// `PG_ENCODING_BE_LAST`: encodings up to KOI8U may be server encodings.
const ENCODING_BE_LAST: u8 = 34;

/// `pg_encname_tbl`: the names `pg_char_to_encoding` accepts after
/// [`clean_encoding_name`], sorted, with their `pg_enc` numbers.
static ENCODING_ALIASES: &[(&str, u8)] = &[
    ("abc", 19),
    ("alt", 20),
    ("big5", 36),
    ("euccn", 2),
    ("eucjis2004", 5),
    ("eucjp", 1),
    ("euckr", 3),
    ("euctw", 4),
    ("gb18030", 39),
    ("gbk", 37),
    ("iso88591", 8),
    ("iso885910", 13),
    ("iso885913", 14),
    ("iso885914", 15),
    ("iso885915", 16),
    ("iso885916", 17),
    ("iso88592", 9),
    ("iso88593", 10),
    ("iso88594", 11),
    ("iso88595", 25),
    ("iso88596", 26),
    ("iso88597", 27),
    ("iso88598", 28),
    ("iso88599", 12),
    ("johab", 40),
    ("koi8", 22),
    ("koi8r", 22),
    ("koi8u", 34),
    ("latin1", 8),
    ("latin10", 17),
    ("latin2", 9),
    ("latin3", 10),
    ("latin4", 11),
    ("latin5", 12),
    ("latin6", 13),
    ("latin7", 14),
    ("latin8", 15),
    ("latin9", 16),
    ("mskanji", 35),
    ("muleinternal", 7),
    ("shiftjis", 35),
    ("shiftjis2004", 41),
    ("sjis", 35),
    ("sqlascii", 0),
    ("tcvn", 19),
    ("tcvn5712", 19),
    ("uhc", 38),
    ("unicode", 6),
    ("utf8", 6),
    ("vscii", 19),
    ("win", 23),
    ("win1250", 29),
    ("win1251", 23),
    ("win1252", 24),
    ("win1253", 30),
    ("win1254", 31),
    ("win1255", 32),
    ("win1256", 18),
    ("win1257", 33),
    ("win1258", 19),
    ("win866", 20),
    ("win874", 21),
    ("win932", 35),
    ("win936", 37),
    ("win949", 38),
    ("win950", 36),
    ("windows1250", 29),
    ("windows1251", 23),
    ("windows1252", 24),
    ("windows1253", 30),
    ("windows1254", 31),
    ("windows1255", 32),
    ("windows1256", 18),
    ("windows1257", 33),
    ("windows1258", 19),
    ("windows866", 20),
    ("windows874", 21),
    ("windows932", 35),
    ("windows936", 37),
    ("windows949", 38),
    ("windows950", 36),
];

impl Encoding {
    pub const SQL_ASCII: Encoding = Encoding(0);
    pub const UTF8: Encoding = Encoding(6);
    pub const LATIN1: Encoding = Encoding(8);

    /// The encoding numbered `id` (`pg_enc`), if there is one.
    pub fn from_id(id: i32) -> Option<Encoding> {
        u8::try_from(id)
            .ok()
            .filter(|&i| (i as usize) < ENCODINGS.len())
            .map(Encoding)
    }

    /// `pg_enc` number, as stored in `pg_database.encoding`.
    pub fn id(self) -> i32 {
        self.0 as i32
    }

    /// The canonical name (`pg_encoding_to_char`).
    pub fn name(self) -> &'static str {
        ENCODINGS[self.0 as usize].0
    }

    fn conversion(self) -> Conversion {
        ENCODINGS[self.0 as usize].1
    }

    /// Whether ferrogres converts between this encoding and UTF8.
    pub fn is_implemented(self) -> bool {
        !matches!(self.conversion(), Conversion::NotImplemented)
    }

    /// `PG_VALID_BE_ENCODING`: whether a database could use it.
    pub fn is_server_encoding(self) -> bool {
        self.0 <= ENCODING_BE_LAST
    }
}

/// `clean_encoding_name`: lower case, letters and digits only.
fn clean_encoding_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `pg_char_to_encoding`: the encoding a name or alias denotes.
pub fn char_to_encoding(name: &str) -> Option<Encoding> {
    if name.is_empty() || name.len() >= NAMEDATALEN {
        return None;
    }
    let key = clean_encoding_name(name);
    ENCODING_ALIASES
        .binary_search_by(|(alias, _)| (*alias).cmp(key.as_str()))
        .ok()
        .map(|i| Encoding(ENCODING_ALIASES[i].1))
}

/// The names of the encodings ferrogres converts, for hints.
pub fn implemented_encoding_names() -> String {
    ENCODINGS
        .iter()
        .filter(|(_, c)| !matches!(c, Conversion::NotImplemented))
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why an encoding cannot be a session's client encoding, as the
/// `client_encoding` check hook reports it: `None` when it can.
pub fn client_encoding_unsupported(enc: Encoding) -> Option<PgError> {
    if enc.is_implemented() {
        return None;
    }
    let mut e = PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "conversion between {} and UTF8 is not supported",
            enc.name()
        ),
    );
    if enc != Encoding(7) {
        // MULE_INTERNAL has no conversion in PostgreSQL either; the others
        // do, and ferrogres says that it is the one lacking.
        e = e.with_hint(format!(
            "ferrogres converts only these client encodings: {}.",
            implemented_encoding_names()
        ));
    }
    Some(e)
}

// ---------------------------------------------------------------------------
// The session's client encoding
// ---------------------------------------------------------------------------

/// The client encoding of this process's session (`ClientEncoding`).
static CLIENT_ENCODING: AtomicU8 = AtomicU8::new(Encoding::UTF8.0);

/// `SetClientEncoding`: from now on, convert for `enc`.
pub fn set_client_encoding(enc: Encoding) {
    assert!(
        enc.is_implemented(),
        "check hook lets only converted encodings through"
    );
    CLIENT_ENCODING.store(enc.0, Ordering::Relaxed);
}

/// Sets the client encoding from the canonical name the setting holds;
/// a name without a conversion leaves the encoding as it was.
pub fn set_client_encoding_name(name: &str) {
    if let Some(enc) = char_to_encoding(name).filter(|e| e.is_implemented()) {
        set_client_encoding(enc);
    }
}

/// `pg_get_client_encoding`.
pub fn client_encoding() -> Encoding {
    Encoding(CLIENT_ENCODING.load(Ordering::Relaxed))
}

// ---------------------------------------------------------------------------
// Verification and error reports
// ---------------------------------------------------------------------------

/// `pg_utf_mblen`: the length a UTF-8 lead byte announces (1 for bytes
/// that cannot start a character).
fn utf8_mblen(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xe0 == 0xc0 {
        2
    } else if b & 0xf0 == 0xe0 {
        3
    } else if b & 0xf8 == 0xf0 {
        4
    } else {
        1
    }
}

/// `0xe9 0x27 0x3b`: the bytes of the character at the start of `bytes`
/// (as many as its encoding says, at most what is there, at most 8).
fn byte_sequence(bytes: &[u8], mblen: usize) -> String {
    bytes
        .iter()
        .take(mblen.min(8))
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `report_invalid_encoding`: 22021 for the bad character at `bytes[0]`.
fn invalid_encoding(enc: Encoding, bytes: &[u8]) -> PgError {
    let mblen = if enc == Encoding::UTF8 {
        utf8_mblen(bytes[0])
    } else {
        1
    };
    PgError::error(
        CHARACTER_NOT_IN_REPERTOIRE,
        format!(
            "invalid byte sequence for encoding \"{}\": {}",
            enc.name(),
            byte_sequence(bytes, mblen)
        ),
    )
}

/// `report_untranslatable_char`: 22P05 for the character at `bytes[0]`.
fn untranslatable(from: Encoding, to: Encoding, bytes: &[u8]) -> PgError {
    let mblen = if from == Encoding::UTF8 {
        utf8_mblen(bytes[0])
    } else {
        1
    };
    PgError::error(
        UNTRANSLATABLE_CHARACTER,
        format!(
            "character with byte sequence {} in encoding \"{}\" has no equivalent in encoding \"{}\"",
            byte_sequence(bytes, mblen),
            from.name(),
            to.name()
        ),
    )
}

/// `pg_verify_mbstr(PG_UTF8, ...)`: `bytes` as a string, or 22021 for the
/// first byte sequence that is not UTF-8 (a NUL byte included).
pub fn verify_utf8(bytes: &[u8]) -> PgResult<&str> {
    let valid = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let upto = e.valid_up_to();
            // A NUL before the bad sequence is reported first.
            if let Some(z) = bytes[..upto].iter().position(|&b| b == 0) {
                return Err(invalid_encoding(Encoding::UTF8, &bytes[z..]));
            }
            return Err(invalid_encoding(Encoding::UTF8, &bytes[upto..]));
        }
    };
    if let Some(z) = bytes.iter().position(|&b| b == 0) {
        return Err(invalid_encoding(Encoding::UTF8, &bytes[z..]));
    }
    Ok(valid)
}

// ---------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------

/// `pg_any_to_server`: `bytes` in encoding `enc` as a server string.
pub fn to_server(bytes: &[u8], enc: Encoding) -> PgResult<Cow<'_, str>> {
    match enc.conversion() {
        Conversion::SqlAscii | Conversion::Utf8 => verify_utf8(bytes).map(Cow::Borrowed),
        Conversion::Table(map) => {
            if bytes.is_ascii() && !bytes.contains(&0) {
                return Ok(Cow::Borrowed(
                    std::str::from_utf8(bytes).expect("ASCII is UTF-8"),
                ));
            }
            let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
            for (i, &b) in bytes.iter().enumerate() {
                if b == 0 {
                    return Err(invalid_encoding(enc, &bytes[i..]));
                }
                if b < 0x80 {
                    out.push(b as char);
                    continue;
                }
                match char::from_u32(map[(b - 0x80) as usize] as u32).filter(|&c| c != '\0') {
                    Some(c) => out.push(c),
                    None => return Err(untranslatable(enc, Encoding::UTF8, &bytes[i..])),
                }
            }
            Ok(Cow::Owned(out))
        }
        Conversion::NotImplemented => {
            Err(client_encoding_unsupported(enc).expect("a not-implemented encoding has an error"))
        }
    }
}

/// `pg_server_to_any`: server string `s` in encoding `enc`.
pub fn from_server(s: &str, enc: Encoding) -> PgResult<Cow<'_, [u8]>> {
    match enc.conversion() {
        Conversion::SqlAscii | Conversion::Utf8 => Ok(Cow::Borrowed(s.as_bytes())),
        Conversion::Table(map) => {
            if s.is_ascii() {
                return Ok(Cow::Borrowed(s.as_bytes()));
            }
            let mut out = Vec::with_capacity(s.len());
            for (i, c) in s.char_indices() {
                match encode_char(map, c) {
                    Some(b) => out.push(b),
                    None => return Err(untranslatable(Encoding::UTF8, enc, &s.as_bytes()[i..])),
                }
            }
            Ok(Cow::Owned(out))
        }
        Conversion::NotImplemented => {
            Err(client_encoding_unsupported(enc).expect("a not-implemented encoding has an error"))
        }
    }
}

/// The byte for `c` in a single-byte encoding, if it has one.
fn encode_char(map: &[u16; 128], c: char) -> Option<u8> {
    let cp = c as u32;
    if cp < 0x80 {
        return Some(cp as u8);
    }
    if cp > 0xffff {
        return None;
    }
    // 128 entries: a linear scan is as fast as a lookup structure here and
    // keeps the table the single source of truth.
    map.iter()
        .position(|&m| m as u32 == cp)
        .map(|i| 0x80 + i as u8)
}

/// `pg_verify_mbstr(enc, ...)` for the encodings ferrogres knows: UTF-8
/// validity for UTF8, no NUL byte for SQL_ASCII and the single-byte
/// encodings (every other byte is a character of theirs).
pub fn verify(bytes: &[u8], enc: Encoding) -> PgResult<()> {
    match enc.conversion() {
        Conversion::Utf8 => verify_utf8(bytes).map(|_| ()),
        Conversion::SqlAscii | Conversion::Table(_) => match bytes.iter().position(|&b| b == 0) {
            Some(z) => Err(invalid_encoding(enc, &bytes[z..])),
            None => Ok(()),
        },
        Conversion::NotImplemented => Err(conversion_not_implemented(enc)),
    }
}

fn conversion_not_implemented(enc: Encoding) -> PgError {
    PgError::error(
        crate::utils::elog::sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "conversion of encoding \"{}\" is not implemented",
            enc.name()
        ),
    )
}

/// `pg_convert` (`convert`, `convert_to`, `convert_from`): `bytes`, valid
/// in `src`, as `dst`, with `pg_do_encoding_conversion`'s shortcuts (same
/// encoding, or SQL_ASCII on either side: no conversion). Conversions go
/// through UTF8, so one side must be UTF8: PostgreSQL's direct conversions
/// between two other encodings (KOI8R ↔ WIN1251, LATIN2 ↔ WIN1250, ...)
/// fail here as the pairs PostgreSQL lacks fail there, with 42883.
pub fn convert(bytes: &[u8], src: Encoding, dst: Encoding) -> PgResult<Cow<'_, [u8]>> {
    verify(bytes, src)?;
    if src == dst || dst == Encoding::SQL_ASCII {
        return Ok(Cow::Borrowed(bytes));
    }
    if src == Encoding::SQL_ASCII {
        verify(bytes, dst)?;
        return Ok(Cow::Borrowed(bytes));
    }
    if src == Encoding::UTF8 {
        let s = std::str::from_utf8(bytes).expect("verified as UTF-8");
        return Ok(Cow::Owned(from_server(s, dst)?.into_owned()));
    }
    if dst == Encoding::UTF8 {
        return Ok(Cow::Owned(to_server(bytes, src)?.into_owned().into_bytes()));
    }
    Err(PgError::error(
        crate::utils::elog::sqlstate::UNDEFINED_FUNCTION,
        format!(
            "default conversion function for encoding \"{}\" to \"{}\" does not exist",
            src.name(),
            dst.name()
        ),
    ))
}

/// `pg_client_to_server`: bytes from the client as a server string.
pub fn client_to_server(bytes: &[u8]) -> PgResult<String> {
    to_server(bytes, client_encoding()).map(Cow::into_owned)
}

/// `pg_server_to_client`: a server string in the client's encoding.
pub fn server_to_client(s: &str) -> PgResult<Cow<'_, [u8]>> {
    from_server(s, client_encoding())
}

/// [`server_to_client`] that cannot fail: characters the client encoding
/// lacks become `?` (PostgreSQL's `pq_send_ascii_string` fallback while
/// reporting an error). Callers that must fail use [`server_to_client`].
pub fn server_to_client_lossy(s: &str) -> Cow<'_, [u8]> {
    match server_to_client(s) {
        Ok(b) => b,
        Err(_) => {
            let enc = client_encoding();
            let Conversion::Table(map) = enc.conversion() else {
                return Cow::Borrowed(s.as_bytes());
            };
            Cow::Owned(
                s.chars()
                    .map(|c| encode_char(map, c).unwrap_or(b'?'))
                    .collect(),
            )
        }
    }
}

/// An error or notice as the client can be sent it: `None` when every text
/// field converts to the client encoding, otherwise the 22P05 report about
/// the first character that does not, with the same severity (PostgreSQL
/// reports the conversion failure in place of the original message).
pub fn unconvertible_report(err: &PgError) -> Option<PgError> {
    let fields = [Some(&err.message), err.detail.as_ref(), err.hint.as_ref()];
    for f in fields.into_iter().flatten() {
        if let Err(mut e) = server_to_client(f) {
            e.severity = err.severity;
            return Some(e);
        }
    }
    None
}

/// `pg_mbcliplen` for UTF-8: the longest prefix of `s` of at most `limit`
/// bytes that ends on a character boundary.
pub fn clip_len(s: &str, limit: usize) -> usize {
    if s.len() <= limit {
        return s.len();
    }
    let mut n = limit;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(name: &str) -> Encoding {
        char_to_encoding(name).unwrap()
    }

    #[test]
    fn aliases_are_sorted_for_binary_search() {
        for w in ENCODING_ALIASES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
    }

    #[test]
    fn names_resolve_through_postgresql_aliases() {
        assert_eq!(enc("latin1").name(), "LATIN1");
        assert_eq!(enc("ISO-8859-1").name(), "LATIN1");
        assert_eq!(enc("iso_8859_1").name(), "LATIN1");
        assert_eq!(enc("ISO88591").name(), "LATIN1");
        assert_eq!(enc("utf-8").name(), "UTF8");
        assert_eq!(enc("unicode").name(), "UTF8");
        assert_eq!(enc("win").name(), "WIN1251");
        assert_eq!(enc("Windows-1252").name(), "WIN1252");
        assert_eq!(enc("iso_8859_5").name(), "ISO_8859_5");
        assert_eq!(enc("koi8").name(), "KOI8R");
        assert_eq!(enc("sql_ascii").name(), "SQL_ASCII");
        assert_eq!(enc("sjis").name(), "SJIS");
        assert_eq!(char_to_encoding("xyz"), None);
        assert_eq!(char_to_encoding(""), None);
        assert_eq!(char_to_encoding(&"latin1".repeat(11)), None);
    }

    #[test]
    fn every_name_maps_back_to_its_number() {
        for (i, (name, _)) in ENCODINGS.iter().enumerate() {
            assert_eq!(enc(name).id(), i as i32, "{name}");
        }
        assert_eq!(Encoding::UTF8.name(), "UTF8");
        assert_eq!(Encoding::from_id(6), Some(Encoding::UTF8));
        assert_eq!(Encoding::from_id(42), None);
        assert_eq!(Encoding::from_id(-1), None);
    }

    #[test]
    fn invalid_utf8_is_reported_with_postgresql_byte_list() {
        let e = verify_utf8(b"SELECT 'caf\xe9';").unwrap_err();
        assert_eq!(e.sqlstate, "22021");
        assert_eq!(
            e.message,
            "invalid byte sequence for encoding \"UTF8\": 0xe9 0x27 0x3b"
        );
        let e = verify_utf8(b"'\xe2\x82'").unwrap_err();
        assert_eq!(
            e.message,
            "invalid byte sequence for encoding \"UTF8\": 0xe2 0x82 0x27"
        );
        let e = verify_utf8(b"x\xff").unwrap_err();
        assert_eq!(
            e.message,
            "invalid byte sequence for encoding \"UTF8\": 0xff"
        );
        // Surrogates and overlong forms are not UTF-8 either.
        assert!(verify_utf8(b"\xed\xa0\x80").is_err());
        assert!(verify_utf8(b"\xc0\xaf").is_err());
        let e = verify_utf8(b"a\0b").unwrap_err();
        assert_eq!(
            e.message,
            "invalid byte sequence for encoding \"UTF8\": 0x00"
        );
        assert_eq!(verify_utf8("café €".as_bytes()).unwrap(), "café €");
    }

    #[test]
    fn latin1_round_trips_every_byte() {
        let bytes: Vec<u8> = (1..=255).collect();
        let s = to_server(&bytes, Encoding::LATIN1).unwrap();
        assert_eq!(s.chars().count(), 255);
        assert_eq!(to_server(b"caf\xe9", Encoding::LATIN1).unwrap(), "café");
        assert_eq!(from_server(&s, Encoding::LATIN1).unwrap(), &bytes[..]);
    }

    #[test]
    fn unmapped_bytes_and_characters_fail_with_22p05() {
        let e = to_server(b"a\x81", enc("WIN1252")).unwrap_err();
        assert_eq!(e.sqlstate, "22P05");
        assert_eq!(
            e.message,
            "character with byte sequence 0x81 in encoding \"WIN1252\" has no equivalent in encoding \"UTF8\""
        );
        assert_eq!(to_server(b"\x80", enc("WIN1252")).unwrap(), "€");
        let e = from_server("a€b", Encoding::LATIN1).unwrap_err();
        assert_eq!(
            e.message,
            "character with byte sequence 0xe2 0x82 0xac in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\""
        );
        assert_eq!(from_server("€", enc("LATIN9")).unwrap(), &b"\xa4"[..]);
        assert_eq!(
            from_server("😀", enc("WIN1252")).unwrap_err().sqlstate,
            "22P05"
        );
        let e = to_server(b"a\0", Encoding::LATIN1).unwrap_err();
        assert_eq!(
            e.message,
            "invalid byte sequence for encoding \"LATIN1\": 0x00"
        );
    }

    #[test]
    fn sql_ascii_passes_output_and_verifies_input_as_utf8() {
        assert_eq!(
            from_server("é", Encoding::SQL_ASCII).unwrap(),
            "é".as_bytes()
        );
        assert_eq!(
            to_server(b"\xe9", Encoding::SQL_ASCII)
                .unwrap_err()
                .sqlstate,
            "22021"
        );
    }

    #[test]
    fn cyrillic_single_byte_encodings_convert() {
        assert_eq!(to_server(b"\xf0\xd2\xc9", enc("KOI8R")).unwrap(), "При");
        assert_eq!(
            from_server("При", enc("WIN1251")).unwrap(),
            &b"\xcf\xf0\xe8"[..]
        );
        assert_eq!(from_server("ł", enc("LATIN2")).unwrap(), &b"\xb3"[..]);
    }

    #[test]
    fn multibyte_encodings_are_refused_not_ignored() {
        let e = client_encoding_unsupported(enc("EUC_JP")).unwrap();
        assert_eq!(e.sqlstate, "0A000");
        assert!(e.message.contains("EUC_JP"));
        assert!(client_encoding_unsupported(Encoding::LATIN1).is_none());
        assert!(to_server(b"x", enc("SJIS")).is_err());
    }

    #[test]
    fn clip_len_stops_on_a_character_boundary() {
        let s = "é".repeat(35);
        assert_eq!(clip_len(&s, 63), 62);
        assert_eq!(clip_len("abc", 63), 3);
        assert_eq!(clip_len(&"a".repeat(70), 63), 63);
    }
}
