//! PostgreSQL 15's collations as ferrogres has them (`pg_collation.dat` plus
//! what initdb adds): every one compares text byte by byte, which is also
//! what the cluster's `C.UTF-8` default does (code point order), so they
//! all sort alike. ICU collations (`und-x-icu`...) are not listed: ferrogres
//! has no ICU.

use super::CollationEntry;

#[rustfmt::skip]
pub const PG_COLLATION: &[CollationEntry] = &[
    CollationEntry { oid: 100, collname: "default", collprovider: b'd', collencoding: -1, collcollate: None, descr: Some("database's default collation") },
    CollationEntry { oid: 950, collname: "C", collprovider: b'c', collencoding: -1, collcollate: Some("C"), descr: Some("standard C collation") },
    CollationEntry { oid: 951, collname: "POSIX", collprovider: b'c', collencoding: -1, collcollate: Some("POSIX"), descr: Some("standard POSIX collation") },
    CollationEntry { oid: 12340, collname: "ucs_basic", collprovider: b'c', collencoding: 6, collcollate: Some("C"), descr: None },
    CollationEntry { oid: 12341, collname: "C.utf8", collprovider: b'c', collencoding: 6, collcollate: Some("C.utf8"), descr: None },
];

/// `DEFAULT_COLLATION_OID`.
pub const DEFAULT_COLLATION_OID: u32 = 100;

/// A collation by oid.
pub fn by_oid(oid: u32) -> Option<&'static CollationEntry> {
    PG_COLLATION.iter().find(|c| c.oid == oid)
}

/// A collation by name (exact, as identifiers compare), usable with the
/// database's encoding (UTF8) or any encoding (-1).
pub fn by_name(name: &str) -> Option<&'static CollationEntry> {
    PG_COLLATION.iter().find(|c| c.collname == name)
}
