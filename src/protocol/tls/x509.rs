//! The few facts about an X.509 certificate that PostgreSQL reads through
//! OpenSSL, taken from the DER bytes: the subject and issuer names (in
//! OpenSSL's `/CN=...` one-line form that `pg_stat_ssl` and sslinfo show, and
//! in the RFC 2253 form `clientname=DN` compares), the common name, the serial
//! number in decimal, and the signature algorithm (which picks the hash of
//! `tls-server-end-point` channel binding).
//!
//! rustls verifies certificates (through webpki) but exposes none of this,
//! and a full X.509 crate would be much more than these five fields need, so
//! this is a small DER walker over `Certificate ::= SEQUENCE { tbsCertificate,
//! signatureAlgorithm, signature }`. It never panics on malformed input: every
//! length is checked and a bad certificate is an `Err` (a certificate that
//! reached us passed webpki's parser already, so that is belt and braces).

/// What was wrong with a certificate (for the log only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCert(pub &'static str);

type R<T> = Result<T, BadCert>;

/// One DER TLV: tag byte and contents.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Reads TLVs one after another from a byte slice.
struct Der<'a> {
    s: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(s: &'a [u8]) -> Der<'a> {
        Der { s }
    }

    fn is_empty(&self) -> bool {
        self.s.is_empty()
    }

    fn next(&mut self) -> R<Tlv<'a>> {
        let (&tag, rest) = self.s.split_first().ok_or(BadCert("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(BadCert("multi-byte tags are not used in certificates"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(BadCert("truncated"))?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return Err(BadCert("bad length"));
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | b as usize;
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(BadCert("truncated"));
        }
        let (body, after) = rest.split_at(len);
        self.s = after;
        Ok(Tlv { tag, body })
    }

    fn expect(&mut self, tag: u8) -> R<&'a [u8]> {
        let t = self.next()?;
        if t.tag != tag {
            return Err(BadCert("unexpected tag"));
        }
        Ok(t.body)
    }
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;

/// The parts of a certificate this crate needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject, `/CN=alice/O=Example` (PostgreSQL's `X509_NAME_to_cstring`).
    pub subject: String,
    /// The issuer in the same form.
    pub issuer: String,
    /// The subject in RFC 2253 form, `O=Example,CN=alice` (`XN_FLAG_RFC2253`).
    pub subject_rfc2253: String,
    /// The first commonName of the subject, if any.
    pub common_name: Option<String>,
    /// The serial number in decimal (`BN_bn2dec`).
    pub serial: String,
    /// The dotted OID of `signatureAlgorithm`.
    pub signature_algorithm: String,
}

/// Parses the fields of [`CertInfo`] out of a DER certificate.
pub fn parse(der: &[u8]) -> R<CertInfo> {
    let mut outer = Der::new(der);
    let cert = outer.expect(SEQUENCE)?;
    let mut cert = Der::new(cert);
    let tbs = cert.expect(SEQUENCE)?;
    let sig_alg = cert.expect(SEQUENCE)?;
    let signature_algorithm = oid_to_string(Der::new(sig_alg).expect(OID)?)?;

    let mut tbs = Der::new(tbs);
    let mut first = tbs.next()?;
    // version [0] EXPLICIT, absent for v1 certificates.
    if first.tag == 0xa0 {
        first = tbs.next()?;
    }
    if first.tag != INTEGER {
        return Err(BadCert("no serial number"));
    }
    let serial = integer_to_decimal(first.body);
    let _signature = tbs.expect(SEQUENCE)?;
    let issuer = parse_name(tbs.expect(SEQUENCE)?)?;
    let _validity = tbs.expect(SEQUENCE)?;
    let subject = parse_name(tbs.expect(SEQUENCE)?)?;

    let common_name = subject
        .iter()
        .flatten()
        .find(|a| a.oid == "2.5.4.3")
        .map(|a| a.text.clone());
    Ok(CertInfo {
        subject: oneline(&subject),
        issuer: oneline(&issuer),
        subject_rfc2253: rfc2253(&subject),
        common_name,
        serial,
        signature_algorithm,
    })
}

/// One AttributeTypeAndValue of a name.
#[derive(Debug, Clone)]
struct Attr {
    oid: String,
    /// The value as text (UTF-8), when it is a string type.
    text: String,
    /// The value is a known string type (else it is dumped as `#hex`).
    is_string: bool,
    /// The value's whole DER encoding, for `#hex` dumps.
    der: Vec<u8>,
}

/// `Name ::= SEQUENCE OF RelativeDistinguishedName`, each a SET of attributes.
fn parse_name(body: &[u8]) -> R<Vec<Vec<Attr>>> {
    let mut rdns = Vec::new();
    let mut seq = Der::new(body);
    // A bound on the work a hostile certificate can cause.
    let mut count = 0;
    while !seq.is_empty() {
        let set = seq.expect(SET)?;
        let mut attrs = Vec::new();
        let mut set = Der::new(set);
        while !set.is_empty() {
            count += 1;
            if count > 256 {
                return Err(BadCert("too many name attributes"));
            }
            let atv = set.expect(SEQUENCE)?;
            let mut atv = Der::new(atv);
            let oid = oid_to_string(atv.expect(OID)?)?;
            let before = atv.s;
            let value = atv.next()?;
            let der = before[..before.len() - atv.s.len()].to_vec();
            let (text, is_string) = match string_value(value) {
                Some(t) => (t, true),
                None => (String::new(), false),
            };
            attrs.push(Attr {
                oid,
                text,
                is_string,
                der,
            });
        }
        rdns.push(attrs);
    }
    Ok(rdns)
}

/// The text of a directory string, or None for other types.
fn string_value(v: Tlv<'_>) -> Option<String> {
    match v.tag {
        // UTF8String, PrintableString, T61String (taken as Latin-1 by
        // OpenSSL's UTF8 conversion), IA5String, VisibleString, NumericString.
        0x0c | 0x13 | 0x16 | 0x1a | 0x12 => Some(String::from_utf8_lossy(v.body).into_owned()),
        0x14 => Some(v.body.iter().map(|&b| b as char).collect()),
        // BMPString: UCS-2 big-endian.
        0x1e => {
            if !v.body.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = v
                .body
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        // UniversalString: UCS-4 big-endian.
        0x1c => {
            if !v.body.len().is_multiple_of(4) {
                return None;
            }
            Some(
                v.body
                    .chunks_exact(4)
                    .map(|c| {
                        char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                            .unwrap_or('\u{fffd}')
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

fn oid_to_string(body: &[u8]) -> R<String> {
    if body.is_empty() || body.len() > 64 {
        return Err(BadCert("bad object identifier"));
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in body.iter().enumerate() {
        if v > (u64::MAX >> 8) {
            return Err(BadCert("object identifier arc too large"));
        }
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        } else if i == body.len() - 1 {
            return Err(BadCert("bad object identifier"));
        }
    }
    Ok(arcs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join("."))
}

/// OpenSSL's short name for an attribute type (`OBJ_nid2sn`).
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    })
}

/// `ASN1_STRING_print_ex` with RFC 2253 escaping; `escape_msb` escapes
/// non-ASCII bytes of the UTF-8 form as `\XX` (XN_FLAG_RFC2253 does,
/// PostgreSQL's one-line form does not).
fn escape_value(a: &Attr, escape_msb: bool) -> String {
    if !a.is_string {
        let mut s = String::from("#");
        for b in &a.der {
            s.push_str(&format!("{b:02X}"));
        }
        return s;
    }
    let bytes = a.text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let first = i == 0;
        let last = i == bytes.len() - 1;
        if b >= 0x80 {
            // A whole UTF-8 sequence.
            let len = match b {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            }
            .min(bytes.len() - i);
            if escape_msb {
                for &c in &bytes[i..i + len] {
                    out.push_str(&format!("\\{c:02X}"));
                }
            } else {
                out.push_str(&String::from_utf8_lossy(&bytes[i..i + len]));
            }
            i += len;
            continue;
        }
        match b {
            b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' => {
                out.push('\\');
                out.push(b as char);
            }
            b'#' if first => out.push_str("\\#"),
            b' ' if first || last => out.push_str("\\ "),
            0..=0x1f | 0x7f => out.push_str(&format!("\\{b:02X}")),
            _ => out.push(b as char),
        }
        i += 1;
    }
    out
}

fn field_name(a: &Attr) -> String {
    short_name(&a.oid)
        .map(str::to_string)
        .unwrap_or_else(|| a.oid.clone())
}

/// PostgreSQL's `X509_NAME_to_cstring`: `/SN=value` for each attribute in order.
fn oneline(rdns: &[Vec<Attr>]) -> String {
    let mut s = String::new();
    for a in rdns.iter().flatten() {
        s.push('/');
        s.push_str(&field_name(a));
        s.push('=');
        s.push_str(&escape_value(a, false));
    }
    s
}

/// `X509_NAME_print_ex(..., XN_FLAG_RFC2253)`: RDNs in reverse order joined
/// by `,`, multi-valued RDNs by `+`.
fn rfc2253(rdns: &[Vec<Attr>]) -> String {
    rdns.iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|a| format!("{}={}", field_name(a), escape_value(a, true)))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `BN_bn2dec(ASN1_INTEGER_to_BN(serial))`: a two's-complement big-endian
/// integer in decimal.
fn integer_to_decimal(body: &[u8]) -> String {
    if body.is_empty() {
        return "0".to_string();
    }
    let negative = body[0] & 0x80 != 0;
    let mut mag: Vec<u8> = if negative {
        // Two's complement: invert and add one.
        let mut v: Vec<u8> = body.iter().map(|b| !b).collect();
        for b in v.iter_mut().rev() {
            let (s, carry) = b.overflowing_add(1);
            *b = s;
            if !carry {
                break;
            }
        }
        v
    } else {
        body.to_vec()
    };
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in mag.iter_mut() {
            let cur = (rem << 8) | *b as u32;
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// The hash `tls-server-end-point` uses for a certificate signed with
/// `signature_algorithm` (RFC 5929 section 4.1: MD5 and SHA-1 become
/// SHA-256, others keep their own hash). None for algorithms without one
/// hash (RSASSA-PSS, Ed25519), where PostgreSQL's OpenSSL build errors out.
pub fn end_point_hash(signature_algorithm: &str, der: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    match signature_algorithm {
        // md5WithRSA, sha1WithRSA, ecdsa-with-SHA1, dsa-with-sha1,
        // sha256WithRSA, ecdsa-with-SHA256, dsa-with-sha256.
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.10045.4.1"
        | "1.2.840.10040.4.3"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.3.2"
        | "2.16.840.1.101.3.4.3.2" => Some(sha2::Sha256::digest(der).to_vec()),
        "1.2.840.113549.1.1.14" | "1.2.840.10045.4.3.1" | "2.16.840.1.101.3.4.3.1" => {
            Some(sha2::Sha224::digest(der).to_vec())
        }
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => Some(sha2::Sha384::digest(der).to_vec()),
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => Some(sha2::Sha512::digest(der).to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_print_in_decimal() {
        assert_eq!(integer_to_decimal(&[0x01]), "1");
        assert_eq!(integer_to_decimal(&[0x00, 0xff]), "255");
        assert_eq!(integer_to_decimal(&[0x01, 0x00]), "256");
        assert_eq!(integer_to_decimal(&[0xff]), "-1");
        assert_eq!(integer_to_decimal(&[0x00]), "0");
        // 2^64 + 1
        assert_eq!(
            integer_to_decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0x01]),
            "18446744073709551617"
        );
    }

    #[test]
    fn object_identifiers_decode() {
        assert_eq!(oid_to_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]).unwrap(),
            "1.2.840.113549.1.1.11"
        );
        assert!(oid_to_string(&[0x86]).is_err());
    }

    fn attr(oid: &str, text: &str) -> Attr {
        Attr {
            oid: oid.into(),
            text: text.into(),
            is_string: true,
            der: Vec::new(),
        }
    }

    #[test]
    fn names_print_as_openssl_does() {
        let rdns = vec![
            vec![attr("2.5.4.6", "FR")],
            vec![attr("2.5.4.10", "A, B")],
            vec![attr("2.5.4.3", " café")],
        ];
        assert_eq!(oneline(&rdns), "/C=FR/O=A\\, B/CN=\\ café");
        assert_eq!(rfc2253(&rdns), "CN=\\ caf\\C3\\A9,O=A\\, B,C=FR");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x03, 0x30, 0x01],
            &[0x30, 0x02, 0x30, 0x00],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
