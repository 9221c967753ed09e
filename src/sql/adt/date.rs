//! `date`, `timestamp without time zone` and `pg_lsn` (PostgreSQL's
//! `utils/adt/date.c`, `timestamp.c`, `pg_lsn.c`).
//!
//! A date is days since 2000-01-01; a timestamp is wall-clock microseconds
//! since 2000-01-01 00:00, with no zone: conversions to and from
//! `timestamptz` go through the session's `TimeZone`, as in PostgreSQL.
//! Input reuses the `timestamptz` parser read in UTC (an explicit zone in a
//! `timestamp` literal is ignored, as PostgreSQL ignores it); output is ISO.

use super::datetime::{
    TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, TimeZone, timestamptz_in, to_tm,
};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::time::{TimestampTz, USECS_PER_DAY};

pub const DATE_NEG_INFINITY: i32 = i32::MIN;
pub const DATE_INFINITY: i32 = i32::MAX;

/// Days between 4714-11-24 BC and 2000-01-01 bound PostgreSQL's date range.
const DATE_MIN_DAYS: i64 = -2_451_545;
/// 5874897-12-31.
const DATE_END_DAYS: i64 = 2_145_031_948;

fn date_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "date out of range")
}

fn timestamp_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

/// Retypes an input error of the timestamptz parser for `type_name`.
fn retype(e: PgError, type_name: &str) -> PgError {
    let mut e = e;
    e.message = e.message.replace(
        "type timestamp with time zone",
        &format!("type {type_name}"),
    );
    e
}

/// The local wall clock at `now` in `tz`, for `now`/`today` in input.
fn local_now(now: TimestampTz, tz: &TimeZone) -> i64 {
    if now == TIMESTAMP_INFINITY || now == TIMESTAMP_NEG_INFINITY {
        return now;
    }
    now + tz.offset_at(now) * 1_000_000
}

/// Days between 1970-01-01 and 2000-01-01.
const UNIX_EPOCH_DAYS: i64 = 10_957;

/// `input` without a trailing ` BC`, and whether it had one.
fn strip_bc(input: &str) -> (&str, bool) {
    let t = input.trim_end();
    if t.len() > 3
        && t[t.len() - 2..].eq_ignore_ascii_case("bc")
        && t.as_bytes()[t.len() - 3] == b' '
    {
        (&t[..t.len() - 3], true)
    } else {
        (input, false)
    }
}

/// Moves a wall-clock timestamp read as year Y AD to year Y BC (1 - Y).
fn to_bc(ts: i64) -> PgResult<i64> {
    let tm = to_tm(ts, 0);
    let days = crate::utils::time::days_from_civil(1 - tm.year, tm.month, tm.day) - UNIX_EPOCH_DAYS;
    days.checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(tm.time_us))
        .ok_or_else(timestamp_out_of_range)
}

/// Reports the whole input, ` BC` included.
fn with_input(mut e: PgError, body: &str, input: &str) -> PgError {
    if body.len() != input.len() {
        e.message = e
            .message
            .replace(&format!("\"{body}\""), &format!("\"{input}\""));
    }
    e
}

/// `timestamp_in`.
pub fn timestamp_in(input: &str, tz: &TimeZone, now: TimestampTz) -> PgResult<i64> {
    let local_now = local_now(now, tz);
    let (body, bc) = strip_bc(input);
    let ts = timestamptz_in(body, &TimeZone::default(), local_now)
        .map_err(|e| with_input(retype(e, "timestamp"), body, input))?;
    if bc { to_bc(ts) } else { Ok(ts) }
}

/// `date_in`: a date, or a timestamp whose time part is dropped.
pub fn date_in(input: &str, tz: &TimeZone, now: TimestampTz) -> PgResult<i32> {
    let lower = input.trim().to_ascii_lowercase();
    match lower.as_str() {
        "infinity" | "+infinity" => return Ok(DATE_INFINITY),
        "-infinity" => return Ok(DATE_NEG_INFINITY),
        _ => {}
    }
    let local_now = local_now(now, tz);
    let (body, bc) = strip_bc(input);
    let ts = timestamptz_in(body, &TimeZone::default(), local_now)
        .map_err(|e| with_input(retype(e, "date"), body, input))?;
    let ts = if bc { to_bc(ts)? } else { ts };
    let days = ts.div_euclid(USECS_PER_DAY);
    if !(DATE_MIN_DAYS..DATE_END_DAYS).contains(&days) {
        return Err(date_out_of_range());
    }
    Ok(days as i32)
}

fn ymd(days: i64) -> (i64, u32, u32) {
    let tm = to_tm(days * USECS_PER_DAY, 0);
    (tm.year, tm.month, tm.day)
}

/// `date_out` in ISO DateStyle.
pub fn date_out(days: i32) -> String {
    match days {
        DATE_INFINITY => "infinity".into(),
        DATE_NEG_INFINITY => "-infinity".into(),
        _ => {
            let (y, m, d) = ymd(days as i64);
            if y > 0 {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!("{:04}-{m:02}-{d:02} BC", 1 - y)
            }
        }
    }
}

/// `timestamp_out` in ISO DateStyle.
pub fn timestamp_out(ts: i64) -> String {
    match ts {
        TIMESTAMP_INFINITY => "infinity".into(),
        TIMESTAMP_NEG_INFINITY => "-infinity".into(),
        _ => {
            // The timestamptz formatter at offset 0, without the zone suffix.
            let s = crate::utils::time::format_timestamptz(ts, 0);
            match s.strip_suffix(" BC") {
                Some(head) => format!("{} BC", head.trim_end_matches("+00")),
                None => s.trim_end_matches("+00").to_string(),
            }
        }
    }
}

/// `date` → `timestamp` (midnight).
pub fn date_to_timestamp(days: i32) -> PgResult<i64> {
    match days {
        DATE_INFINITY => Ok(TIMESTAMP_INFINITY),
        DATE_NEG_INFINITY => Ok(TIMESTAMP_NEG_INFINITY),
        _ => (days as i64)
            .checked_mul(USECS_PER_DAY)
            .ok_or_else(timestamp_out_of_range),
    }
}

/// `timestamp` → `date` (the day it falls on).
pub fn timestamp_to_date(ts: i64) -> PgResult<i32> {
    match ts {
        TIMESTAMP_INFINITY => Ok(DATE_INFINITY),
        TIMESTAMP_NEG_INFINITY => Ok(DATE_NEG_INFINITY),
        _ => i32::try_from(ts.div_euclid(USECS_PER_DAY)).map_err(|_| date_out_of_range()),
    }
}

/// `timestamp` → `timestamptz`: the wall clock read in `tz`.
pub fn timestamp_to_timestamptz(ts: i64, tz: &TimeZone) -> TimestampTz {
    if ts == TIMESTAMP_INFINITY || ts == TIMESTAMP_NEG_INFINITY {
        return ts;
    }
    ts - tz.offset_for_local(ts) * 1_000_000
}

/// `timestamptz` → `timestamp`: the wall clock in `tz`.
pub fn timestamptz_to_timestamp(ts: TimestampTz, tz: &TimeZone) -> i64 {
    if ts == TIMESTAMP_INFINITY || ts == TIMESTAMP_NEG_INFINITY {
        return ts;
    }
    ts + tz.offset_at(ts) * 1_000_000
}

/// `date + integer` / `date - integer`.
pub fn date_pl_days(days: i32, n: i64) -> PgResult<i32> {
    if days == DATE_INFINITY || days == DATE_NEG_INFINITY {
        return Ok(days);
    }
    let r = days as i64 + n;
    if !(DATE_MIN_DAYS..DATE_END_DAYS).contains(&r) {
        return Err(date_out_of_range());
    }
    Ok(r as i32)
}

/// `date - date`: days between.
pub fn date_mi(a: i32, b: i32) -> PgResult<i32> {
    if [a, b]
        .iter()
        .any(|d| *d == DATE_INFINITY || *d == DATE_NEG_INFINITY)
    {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            "cannot subtract infinite dates",
        ));
    }
    Ok(a.wrapping_sub(b))
}

/// `pg_lsn_in`: `XXXXXXXX/XXXXXXXX`.
pub fn lsn_in(input: &str) -> PgResult<u64> {
    let bad = || {
        PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type pg_lsn: \"{input}\""),
        )
    };
    let (hi, lo) = input.split_once('/').ok_or_else(bad)?;
    let ok = |s: &str| !s.is_empty() && s.len() <= 8 && s.bytes().all(|c| c.is_ascii_hexdigit());
    if !ok(hi) || !ok(lo) {
        return Err(bad());
    }
    let hi = u64::from_str_radix(hi, 16).map_err(|_| bad())?;
    let lo = u64::from_str_radix(lo, 16).map_err(|_| bad())?;
    Ok((hi << 32) | lo)
}

/// `pg_lsn_out`.
pub fn lsn_out(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_and_print_in_iso() {
        let tz = TimeZone::default();
        assert_eq!(date_in("2000-01-01", &tz, 0).unwrap(), 0);
        assert_eq!(date_in("2021-03-01", &tz, 0).unwrap(), 7730);
        assert_eq!(date_out(7730), "2021-03-01");
        assert_eq!(date_in("2021-03-01 12:34", &tz, 0).unwrap(), 7730);
        assert_eq!(date_out(-1), "1999-12-31");
        assert_eq!(
            date_in("2021-02-30", &tz, 0).unwrap_err().message,
            "date/time field value out of range: \"2021-02-30\""
        );
        assert_eq!(
            date_in("abc", &tz, 0).unwrap_err().message,
            "invalid input syntax for type date: \"abc\""
        );
        assert_eq!(date_out(DATE_INFINITY), "infinity");
        assert_eq!(
            date_out(date_in("0044-03-15 BC", &tz, 0).unwrap()),
            "0044-03-15 BC"
        );
        assert_eq!(
            timestamp_out(timestamp_in("0001-01-01 10:00 BC", &tz, 0).unwrap()),
            "0001-01-01 10:00:00 BC"
        );
    }

    #[test]
    fn timestamps_read_and_print_without_zone() {
        let tz = TimeZone::default();
        let ts = timestamp_in("2021-03-01 12:34:56.5", &tz, 0).unwrap();
        assert_eq!(timestamp_out(ts), "2021-03-01 12:34:56.5");
        assert_eq!(
            timestamp_out(date_to_timestamp(7730).unwrap()),
            "2021-03-01 00:00:00"
        );
        assert_eq!(timestamp_to_date(ts).unwrap(), 7730);
        assert_eq!(
            timestamp_in("nope", &tz, 0).unwrap_err().message,
            "invalid input syntax for type timestamp: \"nope\""
        );
    }

    #[test]
    fn date_arithmetic_counts_days() {
        assert_eq!(date_pl_days(7730, 30).unwrap(), 7760);
        assert_eq!(date_out(date_pl_days(7730, -1).unwrap()), "2021-02-28");
        assert_eq!(date_mi(7760, 7730).unwrap(), 30);
    }

    #[test]
    fn lsn_round_trips() {
        assert_eq!(lsn_in("0/16B3748").unwrap(), 0x16B3748);
        assert_eq!(lsn_out(0x1_0000_0010), "1/10");
        assert!(lsn_in("16B3748").is_err());
    }
}
