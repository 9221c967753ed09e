//! `timestamptz` and `interval`: input, output (ISO DateStyle, `postgres`
//! IntervalStyle) and arithmetic, with PostgreSQL's rules (`timestamp.c`,
//! `datetime.c`).
//!
//! Time zones ([`TimeZone`]) come from the session's `TimeZone` setting:
//! - `UTC`, `GMT`, `Etc/UTC`, `Z` and friends;
//! - a number of hours east of Greenwich (`2`, `+02`, `-3.5`), as
//!   `SET TIME ZONE 2` stores it;
//! - POSIX strings (`UTC+3` is three hours *west*, `<+02>-02`,
//!   `EST5EDT,M3.2.0,M11.1.0`);
//! - named zones read from the system tz database (`/usr/share/zoneinfo`,
//!   TZif v2 files: transitions, then the POSIX footer for later years).
//!
//! Out of scope for now: `timestamp` without time zone, `date`, `time`,
//! DateStyles other than ISO, IntervalStyles other than `postgres`, input
//! forms other than ISO-8601-like `YYYY-MM-DD[ T]HH:MM:SS[.f][zone]`.

use std::sync::Arc;

use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::time::{
    POSTGRES_EPOCH_UNIX_S, TimestampTz, USECS_PER_DAY, USECS_PER_SEC, civil_from_days,
    days_from_civil,
};

pub const USECS_PER_HOUR: i64 = 3_600_000_000;
pub const USECS_PER_MINUTE: i64 = 60_000_000;
const DAYS_PER_MONTH: i64 = 30;
const SECS_PER_DAY: i64 = 86_400;
/// `DT_NOBEGIN` / `DT_NOEND`.
pub const TIMESTAMP_NEG_INFINITY: TimestampTz = i64::MIN;
pub const TIMESTAMP_INFINITY: TimestampTz = i64::MAX;
/// Julian-day bounds of valid timestamps (4714-11-24 BC .. 294276-12-31 AD).
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;

fn out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

fn interval_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

/// A POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`); offsets are seconds east.
#[derive(Clone, Debug, PartialEq)]
pub struct PosixTz {
    std_offset: i64,
    dst: Option<(i64, Rule, Rule)>,
    /// The standard and daylight abbreviations (`CET`, `CEST`; `+03` for
    /// a quoted `<+03>`).
    names: (String, String),
}

/// `Mm.w.d/time`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`,
/// at `time` seconds of local time.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rule {
    month: u32,
    week: u32,
    weekday: u32,
    time_s: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tzif {
    /// Transition instants, Unix seconds, ascending.
    transitions: Vec<i64>,
    /// Offset (seconds east) in effect from each transition on.
    offsets: Vec<i64>,
    /// Offset before the first transition.
    initial: i64,
    /// Abbreviation in effect from each transition on (`EST`, `EDT`).
    abbrevs: Vec<String>,
    initial_abbrev: String,
    footer: Option<PosixTz>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TimeZone {
    Fixed(i64),
    Posix(PosixTz),
    Named(Arc<Tzif>),
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::Fixed(0)
    }
}

impl TimeZone {
    /// Interprets a `TimeZone` setting; None if it names no zone we know.
    pub fn parse(name: &str) -> Option<TimeZone> {
        let n = name.trim();
        let lower = n.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "utc"
                | "gmt"
                | "z"
                | "zulu"
                | "uct"
                | "universal"
                | "greenwich"
                | "gmt0"
                | "etc/utc"
                | "etc/gmt"
                | "etc/uct"
                | "etc/universal"
                | "etc/zulu"
                | "etc/greenwich"
                | "etc/gmt0"
                | "etc/gmt+0"
                | "etc/gmt-0"
        ) {
            return Some(TimeZone::Fixed(0));
        }
        if let Some(rest) = lower.strip_prefix("etc/gmt")
            && let Ok(h) = rest.parse::<i64>()
            && (-14..=12).contains(&h)
        {
            return Some(TimeZone::Fixed(-h * 3600));
        }
        // A bare number: hours east of Greenwich.
        if let Ok(h) = n.parse::<f64>() {
            if (-15.0..=15.0).contains(&h) {
                return Some(TimeZone::Fixed((h * 3600.0).round() as i64));
            }
            return None;
        }
        if let Some(tz) = read_tzif(n) {
            return Some(TimeZone::Named(Arc::new(tz)));
        }
        parse_posix(n).map(|p| match p.dst {
            None => TimeZone::Fixed(p.std_offset),
            Some(_) => TimeZone::Posix(p),
        })
    }

    /// The zone abbreviation in effect at a UTC instant (what `to_char`'s
    /// `TZ` and the non-ISO DateStyles print): the tz database's, `UTC`
    /// for UTC, else the offset as PostgreSQL spells a fixed zone (`+05`,
    /// `-03:30`).
    pub fn abbrev_at(&self, ts: TimestampTz) -> String {
        let unix_s = ts.div_euclid(USECS_PER_SEC) + POSTGRES_EPOCH_UNIX_S;
        match self {
            TimeZone::Fixed(0) => "UTC".to_string(),
            TimeZone::Fixed(o) => {
                let a = o.abs();
                let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
                let sign = if *o < 0 { '-' } else { '+' };
                match (m, s) {
                    (0, 0) => format!("{sign}{h:02}"),
                    (_, 0) => format!("{sign}{h:02}:{m:02}"),
                    _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
                }
            }
            TimeZone::Posix(p) => p.abbrev_at_unix(unix_s).to_string(),
            TimeZone::Named(t) => t.abbrev_at_unix(unix_s).to_string(),
        }
    }

    /// Offset (seconds east) in effect at a UTC instant.
    pub fn offset_at(&self, ts: TimestampTz) -> i64 {
        let unix_s = ts.div_euclid(USECS_PER_SEC) + POSTGRES_EPOCH_UNIX_S;
        match self {
            TimeZone::Fixed(o) => *o,
            TimeZone::Posix(p) => p.offset_at_unix(unix_s),
            TimeZone::Named(t) => t.offset_at_unix(unix_s),
        }
    }

    /// Offset for a local wall-clock time (`DetermineTimeZoneOffset`): in a
    /// spring-forward gap or a fall-back overlap, the smaller offset wins.
    pub fn offset_for_local(&self, local: TimestampTz) -> i64 {
        if let TimeZone::Fixed(o) = self {
            return *o;
        }
        let before = self.offset_at(local.saturating_sub(USECS_PER_DAY));
        let after = self.offset_at(local.saturating_add(USECS_PER_DAY));
        let valid = |o: i64| self.offset_at(local - o * USECS_PER_SEC) == o;
        match (valid(before), valid(after)) {
            (true, false) => before,
            (false, true) => after,
            _ => before.min(after),
        }
    }
}

impl PosixTz {
    fn offset_at_unix(&self, unix_s: i64) -> i64 {
        self.at_unix(unix_s).0
    }

    /// (offset, is daylight time) at a Unix instant.
    fn at_unix(&self, unix_s: i64) -> (i64, bool) {
        let Some((dst_offset, start, end)) = &self.dst else {
            return (self.std_offset, false);
        };
        let (year, _, _) = civil_from_days((unix_s + self.std_offset).div_euclid(SECS_PER_DAY));
        let start_utc = start.local_seconds(year) - self.std_offset;
        let end_utc = end.local_seconds(year) - dst_offset;
        let in_dst = if start_utc < end_utc {
            unix_s >= start_utc && unix_s < end_utc
        } else {
            !(unix_s >= end_utc && unix_s < start_utc)
        };
        if in_dst {
            (*dst_offset, true)
        } else {
            (self.std_offset, false)
        }
    }

    fn abbrev_at_unix(&self, unix_s: i64) -> &str {
        if self.at_unix(unix_s).1 {
            &self.names.1
        } else {
            &self.names.0
        }
    }
}

impl Rule {
    /// Unix seconds (of local time) at which the rule fires in `year`.
    fn local_seconds(&self, year: i64) -> i64 {
        let first = days_from_civil(year, self.month, 1);
        // 1970-01-01 was a Thursday (weekday 4).
        let first_wd = (first + 4).rem_euclid(7) as u32;
        let mut day = 1 + (self.weekday + 7 - first_wd) % 7 + 7 * (self.week - 1);
        let dim = days_in_month(year, self.month);
        while day > dim {
            day -= 7;
        }
        (days_from_civil(year, self.month, day)) * SECS_PER_DAY + self.time_s
    }
}

impl Tzif {
    fn offset_at_unix(&self, unix_s: i64) -> i64 {
        match self.transitions.partition_point(|&t| t <= unix_s) {
            0 => self.initial,
            i if i == self.transitions.len() => match &self.footer {
                Some(f) => f.offset_at_unix(unix_s),
                None => self.offsets[i - 1],
            },
            i => self.offsets[i - 1],
        }
    }

    fn abbrev_at_unix(&self, unix_s: i64) -> &str {
        match self.transitions.partition_point(|&t| t <= unix_s) {
            0 => &self.initial_abbrev,
            i if i == self.transitions.len() => match &self.footer {
                Some(f) => f.abbrev_at_unix(unix_s),
                None => &self.abbrevs[i - 1],
            },
            i => &self.abbrevs[i - 1],
        }
    }
}

fn parse_posix(s: &str) -> Option<PosixTz> {
    let b = s.as_bytes();
    let mut i = 0;
    let name = |i: &mut usize| -> Option<String> {
        if *i < b.len() && b[*i] == b'<' {
            let end = s[*i..].find('>')? + *i;
            let n = s[*i + 1..end].to_string();
            *i = end + 1;
            return Some(n);
        }
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_alphabetic() {
            *i += 1;
        }
        if *i - start >= 3 {
            Some(s[start..*i].to_string())
        } else {
            None
        }
    };
    // hh[:mm[:ss]] with optional sign; POSIX offsets are west-positive.
    let offset = |i: &mut usize| -> Option<i64> {
        let mut sign = 1;
        if *i < b.len() && (b[*i] == b'+' || b[*i] == b'-') {
            if b[*i] == b'-' {
                sign = -1;
            }
            *i += 1;
        }
        let mut parts = [0i64; 3];
        for (k, part) in parts.iter_mut().enumerate() {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            if *i == start {
                if k == 0 {
                    return None;
                }
                break;
            }
            *part = s[start..*i].parse().ok()?;
            if *i < b.len() && b[*i] == b':' && k < 2 {
                *i += 1;
            } else {
                break;
            }
        }
        Some(sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]))
    };
    let std_name = name(&mut i)?;
    let std_west = offset(&mut i)?;
    if i == b.len() {
        return Some(PosixTz {
            std_offset: -std_west,
            dst: None,
            names: (std_name.clone(), std_name),
        });
    }
    let dst_name = name(&mut i)?;
    let names = (std_name, dst_name);
    let mut dst_west = std_west - 3600;
    if i < b.len() && b[i] != b',' {
        dst_west = offset(&mut i)?;
    }
    let rule = |i: &mut usize| -> Option<Rule> {
        if *i >= b.len() || b[*i] != b',' {
            return None;
        }
        *i += 1;
        if *i >= b.len() || b[*i] != b'M' {
            return None;
        }
        *i += 1;
        let mut nums = [0u32; 3];
        for (k, n) in nums.iter_mut().enumerate() {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *n = s[start..*i].parse().ok()?;
            if k < 2 {
                if *i >= b.len() || b[*i] != b'.' {
                    return None;
                }
                *i += 1;
            }
        }
        let mut time_s = 7200;
        if *i < b.len() && b[*i] == b'/' {
            *i += 1;
            time_s = offset(i)?;
        }
        if !(1..=12).contains(&nums[0]) || !(1..=5).contains(&nums[1]) || nums[2] > 6 {
            return None;
        }
        Some(Rule {
            month: nums[0],
            week: nums[1],
            weekday: nums[2],
            time_s,
        })
    };
    if i == b.len() {
        // US rules are the POSIX default.
        let start = Rule {
            month: 3,
            week: 2,
            weekday: 0,
            time_s: 7200,
        };
        let end = Rule {
            month: 11,
            week: 1,
            weekday: 0,
            time_s: 7200,
        };
        return Some(PosixTz {
            std_offset: -std_west,
            dst: Some((-dst_west, start, end)),
            names,
        });
    }
    let start = rule(&mut i)?;
    let end = rule(&mut i)?;
    if i != b.len() {
        return None;
    }
    Some(PosixTz {
        std_offset: -std_west,
        dst: Some((-dst_west, start, end)),
        names,
    })
}

/// Reads a zone from the system tz database (TZif version 2+, 64-bit data).
fn read_tzif(name: &str) -> Option<Tzif> {
    if name.is_empty()
        || name.starts_with('/')
        || name.contains("..")
        || !name.bytes().all(|c| c.is_ascii_graphic())
    {
        return None;
    }
    let base = std::path::Path::new("/usr/share/zoneinfo");
    let data = std::fs::read(base.join(name))
        .ok()
        .or_else(|| find_case_insensitive(base, name))?;
    parse_tzif(&data)
}

fn find_case_insensitive(base: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut dir = base.to_path_buf();
    for part in name.split('/') {
        let entry = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(part))?;
        dir = entry.path();
    }
    std::fs::read(dir).ok()
}

fn parse_tzif(data: &[u8]) -> Option<Tzif> {
    let be32 = |d: &[u8], o: usize| -> Option<i64> {
        Some(i32::from_be_bytes(d.get(o..o + 4)?.try_into().ok()?) as i64)
    };
    let header = |d: &[u8]| -> Option<[usize; 6]> {
        if d.get(0..4)? != b"TZif" {
            return None;
        }
        let mut c = [0usize; 6];
        for (k, v) in c.iter_mut().enumerate() {
            *v = be32(d, 20 + 4 * k)? as usize;
        }
        Some(c) // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    };
    let [isut, isstd, leap, time, typ, chars] = header(data)?;
    if data[4] < b'2' {
        return None;
    }
    let v1_len = 44 + time * 5 + typ * 6 + chars + leap * 8 + isstd + isut;
    let d = data.get(v1_len..)?;
    let [isut, isstd, leap, time, typ, chars] = header(d)?;
    let mut o = 44;
    let mut transitions = Vec::with_capacity(time);
    for k in 0..time {
        transitions.push(i64::from_be_bytes(
            d.get(o + 8 * k..o + 8 * k + 8)?.try_into().ok()?,
        ));
    }
    o += time * 8;
    let idx: Vec<usize> = d.get(o..o + time)?.iter().map(|&x| x as usize).collect();
    o += time;
    let mut types = Vec::with_capacity(typ);
    for k in 0..typ {
        types.push((
            be32(d, o + 6 * k)?,
            d[o + 6 * k + 4],
            d[o + 6 * k + 5] as usize,
        ));
    }
    o += typ * 6;
    let chartab = d.get(o..o + chars)?;
    let abbrev_of = |k: usize| -> String {
        let start = k.min(chartab.len());
        let end = chartab[start..]
            .iter()
            .position(|&c| c == 0)
            .map_or(chartab.len(), |p| start + p);
        String::from_utf8_lossy(&chartab[start..end]).into_owned()
    };
    o += chars + leap * 12 + isstd + isut;
    let footer = d.get(o..).and_then(|f| {
        let f = std::str::from_utf8(f).ok()?;
        let line = f.trim_matches('\n');
        if line.is_empty() {
            None
        } else {
            parse_posix(line)
        }
    });
    let offsets = idx
        .iter()
        .map(|&k| types.get(k).map(|t| t.0))
        .collect::<Option<Vec<_>>>()?;
    let abbrevs = idx
        .iter()
        .map(|&k| types.get(k).map(|t| abbrev_of(t.2)))
        .collect::<Option<Vec<_>>>()?;
    // Before the first transition: the first standard-time type.
    let first = types.iter().find(|t| t.1 == 0).or(types.first());
    let initial = first.map(|t| t.0).unwrap_or(0);
    let initial_abbrev = first.map(|t| abbrev_of(t.2)).unwrap_or_default();
    Some(Tzif {
        transitions,
        offsets,
        initial,
        abbrevs,
        initial_abbrev,
        footer,
    })
}

/// Fixed-offset abbreviations of PostgreSQL's `Default` abbreviation set
/// that ferrogres knows (seconds east). Abbreviations whose meaning
/// changed over time (`MSK`, ...) are looked up as zone names instead.
pub const ABBREVIATIONS: &[(&str, i64)] = &[
    ("acdt", 37_800),
    ("acst", 34_200),
    ("aedt", 39_600),
    ("aest", 36_000),
    ("akdt", -28_800),
    ("akst", -32_400),
    ("awst", 28_800),
    ("bst", 3_600),
    ("cdt", -18_000),
    ("cest", 7_200),
    ("cet", 3_600),
    ("cst", -21_600),
    ("edt", -14_400),
    ("eest", 10_800),
    ("eet", 7_200),
    ("est", -18_000),
    ("gmt", 0),
    ("hst", -36_000),
    ("jst", 32_400),
    ("mdt", -21_600),
    ("mst", -25_200),
    ("nzdt", 46_800),
    ("nzst", 43_200),
    ("pdt", -25_200),
    ("pst", -28_800),
    ("ut", 0),
    ("utc", 0),
    ("wet", 0),
    ("west", 3_600),
    ("z", 0),
    ("zulu", 0),
];

// ---------------------------------------------------------------------------
// Calendar helpers
// ---------------------------------------------------------------------------

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

/// Local broken-down time.
#[derive(Clone, Copy, Debug)]
pub struct Tm {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    /// Microseconds since local midnight.
    pub time_us: i64,
}

/// Timestamp → local fields at `offset` seconds east.
pub fn to_tm(ts: TimestampTz, offset: i64) -> Tm {
    let local = ts + offset * USECS_PER_SEC;
    let days = local.div_euclid(USECS_PER_DAY) + POSTGRES_EPOCH_UNIX_S / SECS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    Tm {
        year,
        month,
        day,
        time_us: local.rem_euclid(USECS_PER_DAY),
    }
}

/// Local fields → wall-clock microseconds since 2000-01-01 (no zone applied).
fn tm_to_local(tm: &Tm) -> Option<i64> {
    let days = days_from_civil(tm.year, tm.month, tm.day) - POSTGRES_EPOCH_UNIX_S / SECS_PER_DAY;
    days.checked_mul(USECS_PER_DAY)?.checked_add(tm.time_us)
}

/// Local fields in `tz` → timestamp.
fn tm_to_timestamp(tm: &Tm, tz: &TimeZone) -> PgResult<TimestampTz> {
    let local = tm_to_local(tm).ok_or_else(out_of_range)?;
    let ts = local - tz.offset_for_local(local) * USECS_PER_SEC;
    check_timestamp(ts)
}

fn check_timestamp(ts: i64) -> PgResult<TimestampTz> {
    if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
        return Err(out_of_range());
    }
    Ok(ts)
}

// ---------------------------------------------------------------------------
// timestamptz
// ---------------------------------------------------------------------------

/// `timestamptz_out` in ISO DateStyle.
pub fn timestamptz_out(ts: TimestampTz, tz: &TimeZone) -> String {
    match ts {
        TIMESTAMP_INFINITY => "infinity".into(),
        TIMESTAMP_NEG_INFINITY => "-infinity".into(),
        _ => crate::utils::time::format_timestamptz(ts, tz.offset_at(ts)),
    }
}

/// `timestamptz_in` for ISO-8601-like input. `now` resolves `now`/`today`/...
pub fn timestamptz_in(input: &str, tz: &TimeZone, now: TimestampTz) -> PgResult<TimestampTz> {
    let bad = || {
        PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type timestamp with time zone: \"{input}\""),
        )
    };
    let range = || {
        PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{input}\""),
        )
    };
    let s = input.trim();
    let lower = s.to_ascii_lowercase();
    let midnight = |shift_days: i64| -> PgResult<TimestampTz> {
        let mut tm = to_tm(now, tz.offset_at(now));
        tm.time_us = 0;
        let local = tm_to_local(&tm).ok_or_else(out_of_range)? + shift_days * USECS_PER_DAY;
        Ok(local - tz.offset_for_local(local) * USECS_PER_SEC)
    };
    match lower.as_str() {
        "epoch" => return Ok(-POSTGRES_EPOCH_UNIX_S * USECS_PER_SEC),
        "infinity" | "+infinity" => return Ok(TIMESTAMP_INFINITY),
        "-infinity" => return Ok(TIMESTAMP_NEG_INFINITY),
        "now" => return Ok(now),
        "today" => return midnight(0),
        "tomorrow" => return midnight(1),
        "yesterday" => return midnight(-1),
        _ => {}
    }
    let b = s.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, min: usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        s[start..*i].parse().ok()
    };
    let year = num(&mut i, 1, 9).ok_or_else(bad)?;
    if i >= b.len() || b[i] != b'-' {
        return Err(bad());
    }
    i += 1;
    let month = num(&mut i, 1, 2).ok_or_else(bad)?;
    if i >= b.len() || b[i] != b'-' {
        return Err(bad());
    }
    i += 1;
    let day = num(&mut i, 1, 2).ok_or_else(bad)?;
    let (mut hour, mut minute, mut second, mut usec) = (0i64, 0i64, 0i64, 0i64);
    // Time part.
    let mut j = i;
    if j < b.len() && (b[j] == b'T' || b[j] == b't' || b[j] == b' ') {
        j += 1;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            hour = num(&mut i, 1, 2).ok_or_else(bad)?;
            if i >= b.len() || b[i] != b':' {
                return Err(bad());
            }
            i += 1;
            minute = num(&mut i, 2, 2).ok_or_else(bad)?;
            if i < b.len() && b[i] == b':' {
                i += 1;
                second = num(&mut i, 2, 2).ok_or_else(bad)?;
                if i < b.len() && b[i] == b'.' {
                    i += 1;
                    let start = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    let frac = &s[start..i];
                    // Round to microseconds, as PostgreSQL does.
                    let f: f64 = format!("0.{}", if frac.is_empty() { "0" } else { frac })
                        .parse()
                        .map_err(|_| bad())?;
                    usec = (f * 1_000_000.0).round() as i64;
                }
            }
        }
    }
    // Zone part.
    let rest = s[i..].trim_start();
    let mut explicit_offset: Option<i64> = None;
    let mut zone: Option<TimeZone> = None;
    if !rest.is_empty() {
        let rb = rest.as_bytes();
        if rb[0] == b'+' || rb[0] == b'-' {
            let sign = if rb[0] == b'-' { -1 } else { 1 };
            let body = &rest[1..];
            let digits: Vec<&str> = body.split(':').collect();
            let (h, m, sec) = match digits.as_slice() {
                [hm] if hm.len() == 4 && hm.bytes().all(|c| c.is_ascii_digit()) => {
                    (&hm[..2], &hm[2..], "0")
                }
                [h] if !h.is_empty() && h.len() <= 2 && h.bytes().all(|c| c.is_ascii_digit()) => {
                    (*h, "0", "0")
                }
                [h, m] => (*h, *m, "0"),
                [h, m, sec] => (*h, *m, *sec),
                _ => return Err(bad()),
            };
            let parse = |x: &str| -> PgResult<i64> {
                if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(bad());
                }
                x.parse().map_err(|_| bad())
            };
            let (h, m, sec) = (parse(h)?, parse(m)?, parse(sec)?);
            if h > 15 || m > 59 || sec > 59 {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    format!("time zone displacement out of range: \"{input}\""),
                ));
            }
            explicit_offset = Some(sign * (h * 3600 + m * 60 + sec));
        } else if rest.eq_ignore_ascii_case("z") {
            explicit_offset = Some(0);
        } else if let Some((_, off)) = ABBREVIATIONS
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(rest))
        {
            explicit_offset = Some(*off);
        } else {
            zone = Some(TimeZone::parse(rest).ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("time zone \"{rest}\" not recognized"),
                )
            })?);
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(range().with_hint("Perhaps you need a different \"datestyle\" setting."));
    }
    if day > days_in_month(year, month as u32) as i64 || year == 0 {
        return Err(range());
    }
    if hour > 24
        || minute > 59
        || second > 60
        || (hour == 24 && (minute > 0 || second > 0 || usec > 0))
    {
        return Err(range());
    }
    let tm = Tm {
        year,
        month: month as u32,
        day: day as u32,
        time_us: hour * USECS_PER_HOUR + minute * USECS_PER_MINUTE + second * USECS_PER_SEC + usec,
    };
    let local = tm_to_local(&tm).ok_or_else(out_of_range)?;
    let offset = match (explicit_offset, &zone) {
        (Some(o), _) => o,
        (None, Some(z)) => z.offset_for_local(local),
        (None, None) => tz.offset_for_local(local),
    };
    check_timestamp(local - offset * USECS_PER_SEC)
}

// ---------------------------------------------------------------------------
// interval
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Interval {
    /// The linear value PostgreSQL compares and hashes (`interval_cmp_value`).
    pub fn span(&self) -> i128 {
        (self.months as i128 * DAYS_PER_MONTH as i128 + self.days as i128) * USECS_PER_DAY as i128
            + self.micros as i128
    }

    pub fn neg(&self) -> PgResult<Interval> {
        Ok(Interval {
            months: self
                .months
                .checked_neg()
                .ok_or_else(interval_out_of_range)?,
            days: self.days.checked_neg().ok_or_else(interval_out_of_range)?,
            micros: self
                .micros
                .checked_neg()
                .ok_or_else(interval_out_of_range)?,
        })
    }

    pub fn add(&self, o: &Interval) -> PgResult<Interval> {
        Ok(Interval {
            months: self
                .months
                .checked_add(o.months)
                .ok_or_else(interval_out_of_range)?,
            days: self
                .days
                .checked_add(o.days)
                .ok_or_else(interval_out_of_range)?,
            micros: self
                .micros
                .checked_add(o.micros)
                .ok_or_else(interval_out_of_range)?,
        })
    }

    pub fn sub(&self, o: &Interval) -> PgResult<Interval> {
        self.add(&o.neg()?)
    }

    /// `interval_mul`.
    pub fn mul(&self, factor: f64) -> PgResult<Interval> {
        if factor.is_nan() {
            return Err(interval_out_of_range());
        }
        let tsround = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        let month_f = self.months as f64 * factor;
        let day_f = self.days as f64 * factor;
        if !(i32::MIN as f64..=i32::MAX as f64).contains(&month_f)
            || !(i32::MIN as f64..=i32::MAX as f64).contains(&day_f)
        {
            return Err(interval_out_of_range());
        }
        let mut months = month_f as i32;
        let mut days = day_f as i32;
        let month_remainder_days = tsround((month_f - months as f64) * DAYS_PER_MONTH as f64);
        let mut sec_remainder = tsround(
            (day_f - days as f64 + month_remainder_days - month_remainder_days.trunc())
                * SECS_PER_DAY as f64,
        );
        if sec_remainder.abs() >= SECS_PER_DAY as f64 {
            days += (sec_remainder / SECS_PER_DAY as f64) as i32;
            sec_remainder -=
                ((sec_remainder / SECS_PER_DAY as f64) as i32) as f64 * SECS_PER_DAY as f64;
        }
        days += month_remainder_days as i32;
        let micros_f =
            (self.micros as f64 * factor + sec_remainder * USECS_PER_SEC as f64).round_ties_even();
        if !(i64::MIN as f64..i64::MAX as f64).contains(&micros_f) {
            return Err(interval_out_of_range());
        }
        months = months.clamp(i32::MIN, i32::MAX);
        Ok(Interval {
            months,
            days,
            micros: micros_f as i64,
        })
    }

    /// `interval_div`.
    pub fn div(&self, factor: f64) -> PgResult<Interval> {
        if factor == 0.0 {
            return Err(PgError::error(
                sqlstate::DIVISION_BY_ZERO,
                "division by zero",
            ));
        }
        let tsround = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        let month_f = self.months as f64 / factor;
        let day_f = self.days as f64 / factor;
        let mut months = month_f as i32;
        let mut days = day_f as i32;
        let month_remainder_days = tsround((month_f - months as f64) * DAYS_PER_MONTH as f64);
        let mut sec_remainder = tsround(
            (day_f - days as f64 + month_remainder_days - month_remainder_days.trunc())
                * SECS_PER_DAY as f64,
        );
        if sec_remainder.abs() >= SECS_PER_DAY as f64 {
            days += (sec_remainder / SECS_PER_DAY as f64) as i32;
            sec_remainder -=
                ((sec_remainder / SECS_PER_DAY as f64) as i32) as f64 * SECS_PER_DAY as f64;
        }
        days += month_remainder_days as i32;
        let micros =
            (self.micros as f64 / factor + sec_remainder * USECS_PER_SEC as f64).round_ties_even();
        months = months.clamp(i32::MIN, i32::MAX);
        Ok(Interval {
            months,
            days,
            micros: micros as i64,
        })
    }

    /// `interval_justify_hours`: whole days out of the time part.
    pub fn justify_hours(mut self) -> Interval {
        let wholeday = self.micros / USECS_PER_DAY;
        self.micros -= wholeday * USECS_PER_DAY;
        self.days += wholeday as i32;
        if self.days > 0 && self.micros < 0 {
            self.micros += USECS_PER_DAY;
            self.days -= 1;
        } else if self.days < 0 && self.micros > 0 {
            self.micros -= USECS_PER_DAY;
            self.days += 1;
        }
        self
    }
}

/// `interval_out` with IntervalStyle `postgres`.
pub fn interval_out(iv: &Interval) -> String {
    let mut out = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |out: &mut String, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        if !is_zero {
            out.push(' ');
        }
        if is_before && value > 0 {
            out.push('+');
        }
        out.push_str(&format!(
            "{value} {unit}{}",
            if value != 1 { "s" } else { "" }
        ));
        is_before = value < 0;
        is_zero = false;
    };
    let year = iv.months as i64 / 12;
    let mon = iv.months as i64 % 12;
    part(&mut out, year, "year");
    part(&mut out, mon, "mon");
    part(&mut out, iv.days as i64, "day");
    let t = iv.micros;
    let hour = t / USECS_PER_HOUR;
    let min = (t % USECS_PER_HOUR) / USECS_PER_MINUTE;
    let sec = (t % USECS_PER_MINUTE) / USECS_PER_SEC;
    let fsec = t % USECS_PER_SEC;
    if is_zero || t != 0 {
        let minus = t < 0;
        if !is_zero {
            out.push(' ');
        }
        out.push_str(if minus {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        });
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            hour.abs(),
            min.abs(),
            sec.abs()
        ));
        if fsec != 0 {
            let frac = format!("{:06}", fsec.abs());
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
    }
    out
}

/// `interval_in` for PostgreSQL's own verbose syntax (`1 day 02:00:00`,
/// `@ 3 hours ago`, `1.5 months`, `-00:00:01.5`, a bare number of seconds).
pub fn interval_in(input: &str) -> PgResult<Interval> {
    let bad = || {
        PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type interval: \"{input}\""),
        )
    };
    let range = || {
        PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("interval field value out of range: \"{input}\""),
        )
    };
    // Split "1day" into "1 day" and separate tokens.
    let mut tokens: Vec<String> = Vec::new();
    for word in input.split_ascii_whitespace() {
        let wb = word.as_bytes();
        let numeric_prefix = wb
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.' || **c == b'-' || **c == b'+')
            .count();
        if numeric_prefix > 0
            && numeric_prefix < wb.len()
            && wb[numeric_prefix].is_ascii_alphabetic()
            && !word.contains(':')
        {
            tokens.push(word[..numeric_prefix].to_string());
            tokens.push(word[numeric_prefix..].to_string());
        } else {
            tokens.push(word.to_string());
        }
    }
    if tokens.first().map(|t| t.as_str()) == Some("@") {
        tokens.remove(0);
    }
    if tokens.is_empty() {
        return Err(bad());
    }
    let mut ago = false;
    if tokens.last().map(|t| t.eq_ignore_ascii_case("ago")) == Some(true) {
        ago = true;
        tokens.pop();
    }
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0f64);
    let mut k = 0;
    let mut seen_any = false;
    while k < tokens.len() {
        let t = &tokens[k];
        if t.contains(':') {
            let (neg, body) = match t.as_bytes()[0] {
                b'-' => (true, &t[1..]),
                b'+' => (false, &t[1..]),
                _ => (false, &t[..]),
            };
            let parts: Vec<&str> = body.split(':').collect();
            if parts.len() < 2 || parts.len() > 3 {
                return Err(bad());
            }
            let h: i64 = parts[0].parse().map_err(|_| bad())?;
            let m: i64 = parts[1].parse().map_err(|_| bad())?;
            let sec: f64 = if parts.len() == 3 {
                if parts[2].is_empty() || !parts[2].bytes().all(|c| c.is_ascii_digit() || c == b'.')
                {
                    return Err(bad());
                }
                parts[2].parse().map_err(|_| bad())?
            } else {
                0.0
            };
            if !(0..60).contains(&m) || !(0.0..60.0).contains(&sec) {
                return Err(range());
            }
            let v = (h * 3600 + m * 60) as f64 * 1e6 + sec * 1e6;
            micros += if neg { -v } else { v };
            seen_any = true;
            k += 1;
            continue;
        }
        let value: f64 = match t.parse::<f64>() {
            Ok(v)
                if t.bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+')) =>
            {
                v
            }
            _ => return Err(bad()),
        };
        let unit = tokens.get(k + 1).map(|u| u.to_ascii_lowercase());
        let unit_kind = unit.as_deref().and_then(|u| {
            Some(match u {
                "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds"
                | "microsecon" => "us",
                "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds"
                | "millisecon" => "ms",
                "second" | "seconds" | "s" | "sec" | "secs" => "s",
                "minute" | "minutes" | "m" | "min" | "mins" => "min",
                "hour" | "hours" | "h" | "hr" | "hrs" => "h",
                "day" | "days" | "d" => "d",
                "week" | "weeks" | "w" => "w",
                "month" | "months" | "mon" | "mons" => "mon",
                "year" | "years" | "y" | "yr" | "yrs" => "y",
                "decade" | "decades" | "dec" | "decs" => "dec",
                "century" | "centuries" | "c" | "cent" => "cent",
                "millennium" | "millennia" | "mil" | "mils" | "millenniums" => "mil",
                _ => return None,
            })
        });
        let Some(kind) = unit_kind else {
            if unit.is_none() {
                // A bare trailing number is seconds.
                micros += value * 1e6;
                seen_any = true;
                k += 1;
                continue;
            }
            return Err(bad());
        };
        let whole = value.trunc();
        let frac = value - whole;
        let add_days = |d: f64, months_frac_days: &mut i64, micros: &mut f64| {
            let wd = d.trunc();
            *months_frac_days += wd as i64;
            *micros += (d - wd) * SECS_PER_DAY as f64 * 1e6;
        };
        match kind {
            "us" => micros += value,
            "ms" => micros += value * 1e3,
            "s" => micros += value * 1e6,
            "min" => micros += value * 60e6,
            "h" => micros += value * 3600e6,
            "d" => add_days(value, &mut days, &mut micros),
            "w" => add_days(value * 7.0, &mut days, &mut micros),
            "mon" => {
                months += whole as i64;
                add_days(frac * DAYS_PER_MONTH as f64, &mut days, &mut micros);
            }
            "y" | "dec" | "cent" | "mil" => {
                let years = match kind {
                    "y" => 1.0,
                    "dec" => 10.0,
                    "cent" => 100.0,
                    _ => 1000.0,
                };
                months +=
                    (whole * years * 12.0) as i64 + (frac * years * 12.0).round_ties_even() as i64;
            }
            _ => unreachable!("unit kinds are listed above"),
        }
        seen_any = true;
        k += 2;
    }
    if !seen_any {
        return Err(bad());
    }
    let micros = micros.round_ties_even();
    let sign = if ago { -1 } else { 1 };
    let iv = Interval {
        months: i32::try_from(months * sign).map_err(|_| range())?,
        days: i32::try_from(days * sign).map_err(|_| range())?,
        micros: if micros.abs() < 9.2e18 {
            micros as i64 * sign
        } else {
            return Err(range());
        },
    };
    Ok(iv)
}

/// `timestamptz_pl_interval`: months and days move in local time.
pub fn timestamptz_pl_interval(
    ts: TimestampTz,
    iv: &Interval,
    tz: &TimeZone,
) -> PgResult<TimestampTz> {
    if ts == TIMESTAMP_INFINITY || ts == TIMESTAMP_NEG_INFINITY {
        return Ok(ts);
    }
    let mut ts = ts;
    if iv.months != 0 {
        let mut tm = to_tm(ts, tz.offset_at(ts));
        let total = tm.year * 12 + (tm.month as i64 - 1) + iv.months as i64;
        tm.year = total.div_euclid(12);
        tm.month = (total.rem_euclid(12) + 1) as u32;
        tm.day = tm.day.min(days_in_month(tm.year, tm.month));
        ts = tm_to_timestamp(&tm, tz)?;
    }
    if iv.days != 0 {
        let tm = to_tm(ts, tz.offset_at(ts));
        let d = days_from_civil(tm.year, tm.month, tm.day) + iv.days as i64;
        let (y, m, dd) = civil_from_days(d);
        ts = tm_to_timestamp(
            &Tm {
                year: y,
                month: m,
                day: dd,
                time_us: tm.time_us,
            },
            tz,
        )?;
    }
    check_timestamp(ts.checked_add(iv.micros).ok_or_else(out_of_range)?)
}

/// `timestamptz_mi`.
pub fn timestamptz_mi(a: TimestampTz, b: TimestampTz) -> PgResult<Interval> {
    if [a, b]
        .iter()
        .any(|&t| t == TIMESTAMP_INFINITY || t == TIMESTAMP_NEG_INFINITY)
    {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            "cannot subtract infinite timestamps",
        ));
    }
    let micros = a.checked_sub(b).ok_or_else(interval_out_of_range)?;
    Ok(Interval {
        months: 0,
        days: 0,
        micros,
    }
    .justify_hours())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> TimestampTz {
        timestamptz_in(s, &TimeZone::Fixed(0), 0).unwrap()
    }

    #[test]
    fn timestamptz_input_forms() {
        let utc = TimeZone::Fixed(0);
        assert_eq!(
            timestamptz_out(ts("2024-01-02 03:04:05.5+02"), &utc),
            "2024-01-02 01:04:05.5+00"
        );
        assert_eq!(
            timestamptz_out(ts("2024-01-02"), &utc),
            "2024-01-02 00:00:00+00"
        );
        assert_eq!(
            timestamptz_out(ts("2024-01-02T03:04"), &utc),
            "2024-01-02 03:04:00+00"
        );
        assert_eq!(
            timestamptz_out(ts("2024-01-02 03:04:05 UTC"), &utc),
            "2024-01-02 03:04:05+00"
        );
        assert_eq!(
            timestamptz_out(ts("2024-01-02 03:04:05+0530"), &utc),
            "2024-01-01 21:34:05+00"
        );
        assert_eq!(
            timestamptz_out(ts("2024-01-02 03:04:05-03:30"), &utc),
            "2024-01-02 06:34:05+00"
        );
        assert_eq!(timestamptz_out(ts("epoch"), &utc), "1970-01-01 00:00:00+00");
        assert!(timestamptz_in("2024-13-01", &utc, 0).is_err());
        assert!(timestamptz_in("garbage", &utc, 0).is_err());
    }

    #[test]
    fn time_zones_follow_posix_and_tzdata() {
        let t = ts("2024-01-01 00:00:00+00");
        assert_eq!(
            timestamptz_out(t, &TimeZone::parse("+02").unwrap()),
            "2024-01-01 02:00:00+02"
        );
        assert_eq!(
            timestamptz_out(t, &TimeZone::parse("UTC+3").unwrap()),
            "2023-12-31 21:00:00-03"
        );
        assert_eq!(
            timestamptz_out(t, &TimeZone::parse("<+02>-02").unwrap()),
            "2024-01-01 02:00:00+02"
        );
        let est = TimeZone::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(
            timestamptz_out(ts("2024-07-01 12:00+00"), &est),
            "2024-07-01 08:00:00-04"
        );
        if let Some(paris) = TimeZone::parse("Europe/Paris") {
            assert_eq!(
                timestamptz_out(ts("2024-07-01 10:00+00"), &paris),
                "2024-07-01 12:00:00+02"
            );
            assert_eq!(
                timestamptz_out(ts("2050-07-01 10:00+00"), &paris),
                "2050-07-01 12:00:00+02"
            );
            let gap = timestamptz_in("2024-03-31 02:30", &paris, 0).unwrap();
            assert_eq!(timestamptz_out(gap, &paris), "2024-03-31 03:30:00+02");
        }
    }

    #[test]
    fn interval_round_trips_like_postgres() {
        for (i, o) in [
            ("1.5 days", "1 day 12:00:00"),
            ("-1 day -2 hours", "-1 days -02:00:00"),
            ("-1 day +2 hours", "-1 days +02:00:00"),
            (
                "1 year 2 months 3 days 04:05:06.5",
                "1 year 2 mons 3 days 04:05:06.5",
            ),
            ("-1.5 seconds", "-00:00:01.5"),
            ("25 hours", "25:00:00"),
            ("2 weeks", "14 days"),
            ("0", "00:00:00"),
            ("1 min", "00:01:00"),
            ("@ 1 hour ago", "-01:00:00"),
            ("1.5 months", "1 mon 15 days"),
        ] {
            assert_eq!(interval_out(&interval_in(i).unwrap()), o, "{i}");
        }
        assert!(interval_in("abc").is_err());
        let month = interval_in("1 mon").unwrap();
        assert_eq!(interval_out(&month.mul(1.5).unwrap()), "1 mon 15 days");
        assert_eq!(
            interval_out(&interval_in("1 day").unwrap().div(7.0).unwrap()),
            "03:25:42.857143"
        );
    }

    #[test]
    fn timestamp_arithmetic_uses_the_calendar() {
        let utc = TimeZone::Fixed(0);
        let t = timestamptz_pl_interval(
            ts("2024-01-31 10:00+00"),
            &interval_in("1 month").unwrap(),
            &utc,
        )
        .unwrap();
        assert_eq!(timestamptz_out(t, &utc), "2024-02-29 10:00:00+00");
        assert_eq!(
            interval_out(&timestamptz_mi(ts("2024-03-01"), ts("2024-01-01")).unwrap()),
            "60 days"
        );
    }
}
