//! The 1 GB limit on a value, as PostgreSQL enforces it while building
//! strings (`lib/stringinfo.c`, `palloc`'s `AllocSizeIsValid`).
//!
//! A text value in PostgreSQL is a varlena of at most `MaxAllocSize`
//! (1 GB - 1) bytes; anything that would build a larger one fails before it
//! allocates, with the error of the place that noticed:
//! - a StringInfo being appended to (`concat`, `replace`, `string_agg`, …):
//!   54000 `out of memory`, `Cannot enlarge string buffer containing N
//!   bytes by M more bytes.` — [`StringInfo`] reproduces its arithmetic so
//!   the detail is PostgreSQL's;
//! - a direct allocation (`||`): XX000 `invalid memory alloc request size N`
//!   — [`check_alloc`];
//! - functions that size their result up front (`repeat`, `lpad`, `rpad`):
//!   54000 `requested length too large` — [`check_result_len`].
//!
//! The checks come before the allocation, so a client cannot make a
//! backend reserve gigabytes by asking for them.

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// `MaxAllocSize`: the largest allocation (and so value) PostgreSQL makes.
pub const MAX_ALLOC_SIZE: usize = 0x3fff_ffff;

/// `VARHDRSZ`: the length word in front of every varlena.
pub const VARHDRSZ: usize = 4;

/// A string being built under `enlargeStringInfo`'s limit.
#[derive(Default)]
pub struct StringInfo(pub String);

impl StringInfo {
    pub fn new() -> StringInfo {
        StringInfo(String::new())
    }

    /// `appendStringInfoString`: fails as `enlargeStringInfo` does when the
    /// buffer (with its terminating NUL) would exceed `MaxAllocSize`.
    pub fn append(&mut self, s: &str) -> PgResult<()> {
        check_enlarge(self.0.len(), s.len())?;
        self.0.push_str(s);
        Ok(())
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `enlargeStringInfo(str, needed)` with `str->len == len`.
pub fn check_enlarge(len: usize, needed: usize) -> PgResult<()> {
    if needed >= MAX_ALLOC_SIZE.saturating_sub(len) {
        return Err(
            PgError::error(sqlstate::PROGRAM_LIMIT_EXCEEDED, "out of memory").with_detail(format!(
                "Cannot enlarge string buffer containing {len} bytes by {needed} more bytes."
            )),
        );
    }
    Ok(())
}

/// `palloc(size)`'s check: XX000 beyond `MaxAllocSize`.
pub fn check_alloc(size: usize) -> PgResult<()> {
    if size > MAX_ALLOC_SIZE {
        return Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("invalid memory alloc request size {size}"),
        ));
    }
    Ok(())
}

/// A result of `bytes` bytes (plus its varlena header) computed before
/// building it: 54000 `requested length too large` when it cannot exist.
pub fn check_result_len(bytes: Option<usize>) -> PgResult<()> {
    match bytes.and_then(|b| b.checked_add(VARHDRSZ)) {
        Some(total) if total <= MAX_ALLOC_SIZE => Ok(()),
        _ => Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            "requested length too large",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enlarge_fails_where_postgresql_does() {
        let e = check_enlarge(600_000_000, 600_000_000).unwrap_err();
        assert_eq!(e.sqlstate, "54000");
        assert_eq!(
            e.detail.as_deref(),
            Some(
                "Cannot enlarge string buffer containing 600000000 bytes by 600000000 more bytes."
            )
        );
        assert!(check_enlarge(0, MAX_ALLOC_SIZE - 1).is_ok());
        assert!(check_enlarge(0, MAX_ALLOC_SIZE).is_err());
        assert!(check_enlarge(usize::MAX, 1).is_err());
    }

    #[test]
    fn result_len_counts_the_header() {
        assert!(check_result_len(Some(1_073_741_819)).is_ok());
        assert!(check_result_len(Some(1_073_741_820)).is_err());
        assert!(check_result_len(None).is_err());
        assert_eq!(
            check_alloc(1_200_000_004).unwrap_err().message,
            "invalid memory alloc request size 1200000004"
        );
    }
}
