//! Time as PostgreSQL keeps it: `TimestampTz` is microseconds since
//! 2000-01-01 00:00:00 UTC (`POSTGRES_EPOCH_JDATE`). Civil-date conversion uses
//! the proleptic Gregorian calendar (days-from-civil), so no time-zone
//! database is needed; ferrogres supports `UTC` and fixed offsets as
//! `TimeZone` values (documented in the README).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds between 1970-01-01 and 2000-01-01.
pub const POSTGRES_EPOCH_UNIX_S: i64 = 946_684_800;
pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;

/// Microseconds since the PostgreSQL epoch, UTC.
pub type TimestampTz = i64;

/// (seconds, microseconds) since the Unix epoch.
pub fn now_unix() -> (i64, i64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970");
    (d.as_secs() as i64, d.subsec_micros() as i64)
}

/// The current time as a `TimestampTz`.
pub fn now_timestamptz() -> TimestampTz {
    let (s, us) = now_unix();
    (s - POSTGRES_EPOCH_UNIX_S) * USECS_PER_SEC + us
}

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date for days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Broken-down fields of a timestamp shifted by `offset_s` seconds east of UTC.
pub struct Fields {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub usec: u32,
}

pub fn to_fields(ts: TimestampTz, offset_s: i64) -> Fields {
    let local = ts + offset_s * USECS_PER_SEC;
    let unix_us = local + POSTGRES_EPOCH_UNIX_S * USECS_PER_SEC;
    let days = unix_us.div_euclid(USECS_PER_DAY);
    let rem = unix_us.rem_euclid(USECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let secs = rem / USECS_PER_SEC;
    Fields {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: ((secs / 60) % 60) as u32,
        second: (secs % 60) as u32,
        usec: (rem % USECS_PER_SEC) as u32,
    }
}

/// Log timestamp as `%m` (with milliseconds) or `%t` prints it, in UTC.
pub fn format_log_time(with_ms: bool) -> String {
    let (s, us) = now_unix();
    let f = to_fields((s - POSTGRES_EPOCH_UNIX_S) * USECS_PER_SEC + us, 0);
    if with_ms {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} UTC",
            f.year,
            f.month,
            f.day,
            f.hour,
            f.minute,
            f.second,
            f.usec / 1000
        )
    } else {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            f.year, f.month, f.day, f.hour, f.minute, f.second
        )
    }
}

/// A Unix time in seconds as a log timestamp (for `%s`).
pub fn format_unix_seconds(s: i64) -> String {
    let f = to_fields((s - POSTGRES_EPOCH_UNIX_S) * USECS_PER_SEC, 0);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        f.year, f.month, f.day, f.hour, f.minute, f.second
    )
}

/// Formats a `TimestampTz` the way PostgreSQL's ISO DateStyle prints it at
/// the given UTC offset: `2026-11-21 13:38:57.123456+00`.
pub fn format_timestamptz(ts: TimestampTz, offset_s: i64) -> String {
    let f = to_fields(ts, offset_s);
    let mut out = if f.year > 0 {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            f.year, f.month, f.day, f.hour, f.minute, f.second
        )
    } else {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            1 - f.year,
            f.month,
            f.day,
            f.hour,
            f.minute,
            f.second
        )
    };
    if f.usec != 0 {
        let frac = format!("{:06}", f.usec);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let sign = if offset_s < 0 { '-' } else { '+' };
    let a = offset_s.abs();
    out.push(sign);
    out.push_str(&format!("{:02}", a / 3600));
    if a % 3600 != 0 {
        out.push_str(&format!(":{:02}", (a / 60) % 60));
        if a % 60 != 0 {
            out.push_str(&format!(":{:02}", a % 60));
        }
    }
    if f.year <= 0 {
        out.push_str(" BC");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 10_957, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2000, 1, 1), POSTGRES_EPOCH_UNIX_S / 86_400);
    }

    #[test]
    fn timestamptz_prints_like_postgres() {
        assert_eq!(format_timestamptz(0, 0), "2000-01-01 00:00:00+00");
        assert_eq!(format_timestamptz(1_500_000, 0), "2000-01-01 00:00:01.5+00");
        assert_eq!(
            format_timestamptz(0, -5 * 3600 - 1800),
            "1999-12-31 18:30:00-05:30"
        );
    }
}
