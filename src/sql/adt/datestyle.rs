//! `DateStyle` and `IntervalStyle` output (PostgreSQL's `EncodeDateOnly`,
//! `EncodeDateTime` and `EncodeInterval` in `datetime.c`).
//!
//! The ISO style keeps its own fast formatters in `date.rs` /
//! `datetime.rs`; this module prints the others:
//!
//! | style | date | timestamp with time zone |
//! |---|---|---|
//! | SQL, MDY | `02/16/2001` | `02/16/2001 20:38:40.5 EST` |
//! | SQL, DMY | `16/02/2001` | `16/02/2001 20:38:40.5 EST` |
//! | Postgres, MDY | `02-16-2001` | `Fri Feb 16 20:38:40.5 2001 EST` |
//! | Postgres, DMY | `16-02-2001` | `Fri 16 Feb 20:38:40.5 2001 EST` |
//! | German | `16.02.2001` | `16.02.2001 20:38:40.5 EST` |
//!
//! The field order (`YMD`, `DMY`, `MDY`) also decides how ambiguous
//! numeric dates are read (`datetime::decode`).

use super::datetime::{Interval, TimeZone};
use crate::utils::time::{POSTGRES_EPOCH_UNIX_S, USECS_PER_DAY, USECS_PER_SEC, civil_from_days};

/// The output style of `DateStyle`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    #[default]
    Iso,
    Sql,
    Postgres,
    German,
}

/// The field order of `DateStyle`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    Ymd,
    Dmy,
    #[default]
    Mdy,
}

/// A parsed `DateStyle` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateStyle {
    pub style: Style,
    pub order: Order,
}

impl DateStyle {
    /// Reads the canonical setting (`SHOW datestyle`: `"SQL, DMY"`).
    pub fn parse(shown: &str) -> DateStyle {
        let mut ds = DateStyle::default();
        for part in shown.split(',').map(|p| p.trim().to_ascii_lowercase()) {
            match part.as_str() {
                "iso" => ds.style = Style::Iso,
                "sql" => ds.style = Style::Sql,
                "postgres" => ds.style = Style::Postgres,
                "german" => ds.style = Style::German,
                "ymd" => ds.order = Order::Ymd,
                "dmy" => ds.order = Order::Dmy,
                "mdy" => ds.order = Order::Mdy,
                _ => {}
            }
        }
        ds
    }
}

/// The `IntervalStyle` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IntervalStyle {
    #[default]
    Postgres,
    PostgresVerbose,
    SqlStandard,
    Iso8601,
}

impl IntervalStyle {
    pub fn parse(shown: &str) -> IntervalStyle {
        match shown.trim().to_ascii_lowercase().as_str() {
            "postgres_verbose" => IntervalStyle::PostgresVerbose,
            "sql_standard" => IntervalStyle::SqlStandard,
            "iso_8601" => IntervalStyle::Iso8601,
            _ => IntervalStyle::Postgres,
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

struct Fields {
    /// Astronomical year.
    year: i64,
    month: u32,
    day: u32,
    wday: usize,
    hour: i64,
    min: i64,
    sec: i64,
    usec: i64,
}

fn fields(local: i64) -> Fields {
    let days = local.div_euclid(USECS_PER_DAY);
    let t = local.rem_euclid(USECS_PER_DAY);
    let (year, month, day) = civil_from_days(days + POSTGRES_EPOCH_UNIX_S / 86_400);
    Fields {
        year,
        month,
        day,
        wday: (days + 6).rem_euclid(7) as usize,
        hour: t / 3_600_000_000,
        min: t / 60_000_000 % 60,
        sec: t / USECS_PER_SEC % 60,
        usec: t % USECS_PER_SEC,
    }
}

fn shown_year(y: i64) -> i64 {
    if y > 0 { y } else { 1 - y }
}

fn bc(y: i64) -> &'static str {
    if y > 0 { "" } else { " BC" }
}

/// `:SS[.ffffff]` with trailing zeros of the fraction dropped.
fn seconds(sec: i64, usec: i64) -> String {
    if usec == 0 {
        format!("{sec:02}")
    } else {
        let f = format!("{usec:06}");
        format!("{sec:02}.{}", f.trim_end_matches('0'))
    }
}

/// `EncodeTimezone`: `+hh[:mm[:ss]]` for an offset east of UTC.
fn numeric_zone(east: i64) -> String {
    let a = east.abs();
    let sign = if east >= 0 { '+' } else { '-' };
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    match (m, s) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// `date_out` in a non-ISO style.
pub fn date_out(days: i32, ds: DateStyle) -> String {
    let f = fields(days as i64 * USECS_PER_DAY);
    let y = shown_year(f.year);
    let dmy = ds.order == Order::Dmy;
    let body = match ds.style {
        Style::Iso => format!("{y:04}-{:02}-{:02}", f.month, f.day),
        Style::Sql if dmy => format!("{:02}/{:02}/{y:04}", f.day, f.month),
        Style::Sql => format!("{:02}/{:02}/{y:04}", f.month, f.day),
        Style::German => format!("{:02}.{:02}.{y:04}", f.day, f.month),
        Style::Postgres if dmy => format!("{:02}-{:02}-{y:04}", f.day, f.month),
        Style::Postgres => format!("{:02}-{:02}-{y:04}", f.month, f.day),
    };
    format!("{body}{}", bc(f.year))
}

/// `timestamp_out` / `timestamptz_out` in a non-ISO style: `local` is the
/// wall clock, `zone` the offset east and abbreviation to print (None for
/// `timestamp`).
pub fn timestamp_out(local: i64, zone: Option<(i64, String)>, ds: DateStyle) -> String {
    let f = fields(local);
    let y = shown_year(f.year);
    let dmy = ds.order == Order::Dmy;
    let time = format!("{:02}:{:02}:{}", f.hour, f.min, seconds(f.sec, f.usec));
    let zone_text = |space: bool| -> String {
        match &zone {
            None => String::new(),
            Some((east, abbrev)) if !abbrev.is_empty() => {
                let _ = east;
                format!(" {abbrev}")
            }
            Some((east, _)) => format!("{}{}", if space { " " } else { "" }, numeric_zone(*east)),
        }
    };
    let body = match ds.style {
        Style::Iso => {
            let z = zone
                .as_ref()
                .map(|(e, _)| numeric_zone(*e))
                .unwrap_or_default();
            format!("{y:04}-{:02}-{:02} {time}{z}", f.month, f.day)
        }
        Style::Sql => {
            let (a, b) = if dmy {
                (f.day, f.month)
            } else {
                (f.month, f.day)
            };
            format!("{a:02}/{b:02}/{y:04} {time}{}", zone_text(false))
        }
        Style::German => format!(
            "{:02}.{:02}.{y:04} {time}{}",
            f.day,
            f.month,
            zone_text(false)
        ),
        Style::Postgres => {
            let md = if dmy {
                format!("{:02} {}", f.day, MONTHS[f.month as usize - 1])
            } else {
                format!("{} {:02}", MONTHS[f.month as usize - 1], f.day)
            };
            format!("{} {md} {time} {y:04}{}", DAYS[f.wday], zone_text(true))
        }
    };
    format!("{body}{}", bc(f.year))
}

/// `timestamptz_out` in a non-ISO style.
pub fn timestamptz_out(ts: i64, tz: &TimeZone, ds: DateStyle) -> String {
    let east = tz.offset_at(ts);
    timestamp_out(
        ts + east * USECS_PER_SEC,
        Some((east, tz.abbrev_at(ts))),
        ds,
    )
}

// ---------------------------------------------------------------------------
// IntervalStyle
// ---------------------------------------------------------------------------

/// `AppendSeconds` for an interval: seconds with the fraction's trailing
/// zeros dropped, signed as the value.
fn interval_seconds(sec: i64, usec: i64, pad: bool) -> String {
    let neg = sec < 0 || usec < 0;
    let (s, u) = (sec.abs(), usec.abs());
    let int = if pad {
        format!("{s:02}")
    } else {
        s.to_string()
    };
    let body = if u == 0 {
        int
    } else {
        let f = format!("{u:06}");
        format!("{int}.{}", f.trim_end_matches('0'))
    };
    if neg { format!("-{body}") } else { body }
}

/// `EncodeInterval` for the styles other than `postgres`.
pub fn interval_out(iv: &Interval, style: IntervalStyle) -> String {
    let year = iv.months as i64 / 12;
    let mon = iv.months as i64 % 12;
    let mday = iv.days as i64;
    let mut t = iv.micros;
    let hour = t / 3_600_000_000;
    t -= hour * 3_600_000_000;
    let min = t / 60_000_000;
    t -= min * 60_000_000;
    let sec = t / USECS_PER_SEC;
    let usec = t % USECS_PER_SEC;
    match style {
        IntervalStyle::Postgres => super::datetime::interval_out(iv),
        IntervalStyle::Iso8601 => {
            if year == 0 && mon == 0 && mday == 0 && hour == 0 && min == 0 && sec == 0 && usec == 0
            {
                return "PT0S".to_string();
            }
            let mut s = String::from("P");
            for (v, u) in [(year, 'Y'), (mon, 'M'), (mday, 'D')] {
                if v != 0 {
                    s.push_str(&format!("{v}{u}"));
                }
            }
            if hour != 0 || min != 0 || sec != 0 || usec != 0 {
                s.push('T');
                for (v, u) in [(hour, 'H'), (min, 'M')] {
                    if v != 0 {
                        s.push_str(&format!("{v}{u}"));
                    }
                }
                if sec != 0 || usec != 0 {
                    s.push_str(&interval_seconds(sec, usec, false));
                    s.push('S');
                }
            }
            s
        }
        IntervalStyle::SqlStandard => {
            let all = [year, mon, mday, hour, min, sec, usec];
            let has_neg = all.iter().any(|v| *v < 0);
            let has_pos = all.iter().any(|v| *v > 0);
            let has_year_month = year != 0 || mon != 0;
            let has_day_time = mday != 0 || hour != 0 || min != 0 || sec != 0 || usec != 0;
            let standard = !(has_neg && has_pos) && !(has_year_month && has_day_time);
            if !has_neg && !has_pos {
                return "0".to_string();
            }
            if !standard {
                // Mixed signs or fields: every part carries its own sign.
                let ys = if year < 0 || mon < 0 { '-' } else { '+' };
                let ds = if mday < 0 { '-' } else { '+' };
                let ts = if hour < 0 || min < 0 || sec < 0 || usec < 0 {
                    '-'
                } else {
                    '+'
                };
                return format!(
                    "{ys}{}-{} {ds}{} {ts}{}:{:02}:{}",
                    year.abs(),
                    mon.abs(),
                    mday.abs(),
                    hour.abs(),
                    min.abs(),
                    interval_seconds(sec.abs(), usec.abs(), true)
                );
            }
            // One sign in front of the whole value.
            let sign = if has_neg { "-" } else { "" };
            let secs = interval_seconds(sec.abs(), usec.abs(), true);
            if has_year_month {
                format!("{sign}{}-{}", year.abs(), mon.abs())
            } else if mday != 0 {
                format!(
                    "{sign}{} {}:{:02}:{secs}",
                    mday.abs(),
                    hour.abs(),
                    min.abs()
                )
            } else {
                format!("{sign}{}:{:02}:{secs}", hour.abs(), min.abs())
            }
        }
        IntervalStyle::PostgresVerbose => {
            // AddVerboseIntPart: the first non-zero field's sign decides
            // "ago"; later fields print relative to it.
            let mut out = String::from("@");
            let mut is_zero = true;
            let mut is_before = false;
            for (v, unit) in [
                (year, "year"),
                (mon, "mon"),
                (mday, "day"),
                (hour, "hour"),
                (min, "min"),
            ] {
                if v == 0 {
                    continue;
                }
                let shown = if is_zero {
                    is_before = v < 0;
                    v.abs()
                } else if is_before {
                    -v
                } else {
                    v
                };
                out.push_str(&format!(
                    " {shown} {unit}{}",
                    if shown == 1 { "" } else { "s" }
                ));
                is_zero = false;
            }
            if sec != 0 || usec != 0 {
                out.push(' ');
                if sec < 0 || (sec == 0 && usec < 0) {
                    if is_zero {
                        is_before = true;
                    } else if !is_before {
                        out.push('-');
                    }
                } else if is_before {
                    out.push('-');
                }
                out.push_str(&interval_seconds(sec.abs(), usec.abs(), false));
                out.push_str(if sec.abs() != 1 || usec != 0 {
                    " secs"
                } else {
                    " sec"
                });
                is_zero = false;
            }
            if is_zero {
                out.push_str(" 0");
            }
            if is_before {
                out.push_str(" ago");
            }
            out
        }
    }
}

// ---------------------------------------------------------------------------
// Input in the non-ISO forms
// ---------------------------------------------------------------------------

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAY_NAMES: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// A month name or its abbreviation (`feb`, `sept`, `February`).
fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    if w == "sept" {
        return Some(9);
    }
    MONTH_NAMES
        .iter()
        .position(|m| *m == w || (w.len() == 3 && m.starts_with(w)))
        .map(|i| i as u32 + 1)
}

fn is_day_name(word: &str) -> bool {
    let w = word.trim_end_matches('.');
    w.len() >= 3
        && DAY_NAMES.iter().any(|d| {
            *d == w
                || (w.len() == 3 && d.starts_with(w))
                || (w == "tues" || w == "wednes" || w == "thur" || w == "thurs")
        })
}

/// A year field: two digits are 1970..2069, as PostgreSQL's `AdjustYears`.
fn year_of(digits: &str) -> Option<i64> {
    let y: i64 = digits.parse().ok()?;
    Some(if digits.len() <= 2 {
        if y < 70 { y + 2000 } else { y + 1900 }
    } else {
        y
    })
}

/// Rewrites a date or timestamp in one of the non-ISO input forms
/// PostgreSQL's `DecodeDateTime` reads (`02/16/2001`, `16.02.2001`,
/// `Feb 16 2001`, `16-Feb-2001`, `Fri Feb 16 20:38:40.5 2001 EST`,
/// `20010216`) to the ISO form the parser reads, with ambiguous numeric
/// dates in `order`. None when the input is not such a form (ISO input,
/// specials like `now`, garbage — left to the ISO parser and its errors).
pub fn normalize(input: &str, order: Order) -> Option<String> {
    let lower = input.trim().to_ascii_lowercase().replace(',', " ");
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    // ISO already (YYYY-MM-DD... with a four-digit-or-longer year).
    let first = words[0];
    if first.len() >= 6
        && first.as_bytes()[..4].iter().all(|c| c.is_ascii_digit())
        && first.as_bytes()[4] == b'-'
        && first.as_bytes()[5].is_ascii_digit()
    {
        return None;
    }
    if words.len() > 1 && is_day_name(words[0]) {
        words.remove(0);
    }
    let mut date: Option<(i64, u32, u32)> = None;
    let mut pending_month: Option<u32> = None;
    let mut pending_day: Option<u32> = None;
    let mut bare_numbers: Vec<&str> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    let mut bc = false;
    for w in words {
        if w == "bc" {
            bc = true;
            continue;
        }
        if w == "ad" {
            continue;
        }
        if w.contains(':') || w == "am" || w == "pm" || w.starts_with(['+']) {
            rest.push(w.to_string());
            continue;
        }
        if let Some(m) = month_of(w) {
            pending_month = Some(m);
            continue;
        }
        if date.is_none() && pending_month.is_none() {
            // A numeric date with separators.
            let sep = ['/', '-', '.'].into_iter().find(|c| w.contains(*c));
            if let Some(sep) = sep {
                let parts: Vec<&str> = w.split(sep).collect();
                if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
                    let alpha = parts
                        .iter()
                        .position(|p| p.bytes().all(|c| c.is_ascii_alphabetic()));
                    if let Some(k) = alpha {
                        // 16-feb-2001, feb-16-2001, 2001-feb-16.
                        let m = month_of(parts[k])?;
                        let nums: Vec<&str> = parts
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != k)
                            .map(|(_, p)| *p)
                            .collect();
                        let (y, d) = if nums[0].len() > 2 {
                            (nums[0], nums[1])
                        } else {
                            (nums[1], nums[0])
                        };
                        date = Some((year_of(y)?, m, d.parse().ok()?));
                        continue;
                    }
                    if !parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_digit())) {
                        return None;
                    }
                    let (y, m, d) = if parts[0].len() > 2 || order == Order::Ymd {
                        (parts[0], parts[1], parts[2])
                    } else if order == Order::Dmy {
                        (parts[2], parts[1], parts[0])
                    } else {
                        (parts[2], parts[0], parts[1])
                    };
                    date = Some((year_of(y)?, m.parse().ok()?, d.parse().ok()?));
                    continue;
                }
                if sep == '-' && w.starts_with('-') {
                    rest.push(w.to_string());
                    continue;
                }
                return None;
            }
            // YYYYMMDD.
            if w.len() == 8 && w.bytes().all(|c| c.is_ascii_digit()) && bare_numbers.is_empty() {
                date = Some((
                    w[0..4].parse().ok()?,
                    w[4..6].parse().ok()?,
                    w[6..8].parse().ok()?,
                ));
                continue;
            }
        }
        if w.bytes().all(|c| c.is_ascii_digit()) {
            bare_numbers.push(w);
            continue;
        }
        if w.starts_with('-') && w[1..].bytes().all(|c| c.is_ascii_digit() || c == b':') {
            rest.push(w.to_string());
            continue;
        }
        // A zone name or abbreviation, left to the ISO parser.
        if w.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'_')
        {
            rest.push(w.to_string());
            continue;
        }
        return None;
    }
    if let Some(m) = pending_month {
        if date.is_some() {
            return None;
        }
        // Month name with day and year numbers: `Feb 16 2001`, `16 Feb 2001`,
        // `Feb 16 20:38:40 2001`.
        let (d, y) = match bare_numbers.as_slice() {
            [a, b] => {
                if a.len() > 2 {
                    (*b, *a)
                } else {
                    (*a, *b)
                }
            }
            _ => return None,
        };
        pending_day = Some(d.parse().ok()?);
        date = Some((year_of(y)?, m, pending_day?));
        bare_numbers.clear();
    }
    let _ = pending_day;
    let (y, m, d) = date?;
    if !bare_numbers.is_empty() {
        return None;
    }
    // Put am/pm right after the time, as the ISO parser has no use for
    // them: apply them here.
    let mut time: Option<String> = None;
    let mut zone: Vec<String> = Vec::new();
    let mut meridian: Option<bool> = None;
    for r in rest {
        if r == "am" || r == "pm" {
            meridian = Some(r == "pm");
        } else if r.contains(':') && time.is_none() && r.starts_with(|c: char| c.is_ascii_digit()) {
            time = Some(r);
        } else {
            zone.push(r);
        }
    }
    if let (Some(pm), Some(t)) = (meridian, time.as_mut()) {
        let (h, tail) = t.split_once(':')?;
        let h: i64 = h.parse().ok()?;
        if !(1..=12).contains(&h) {
            return None;
        }
        let h = match (pm, h) {
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, 12) => 0,
            (false, h) => h,
        };
        *t = format!("{h:02}:{tail}");
    }
    let mut out = format!("{y:04}-{m:02}-{d:02}");
    if let Some(t) = time {
        out.push(' ');
        out.push_str(&t);
    }
    for z in zone {
        out.push(' ');
        out.push_str(&z);
    }
    if bc {
        out.push_str(" BC");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_iso_forms() {
        let n = |s: &str, o| normalize(s, o);
        assert_eq!(n("02/16/2001", Order::Mdy).as_deref(), Some("2001-02-16"));
        assert_eq!(n("16/02/2001", Order::Dmy).as_deref(), Some("2001-02-16"));
        assert_eq!(n("2001/02/16", Order::Mdy).as_deref(), Some("2001-02-16"));
        assert_eq!(n("Feb 16 2001", Order::Mdy).as_deref(), Some("2001-02-16"));
        assert_eq!(
            n("February 16, 2001", Order::Mdy).as_deref(),
            Some("2001-02-16")
        );
        assert_eq!(n("16-Feb-2001", Order::Mdy).as_deref(), Some("2001-02-16"));
        assert_eq!(
            n("Fri Feb 16 20:38:40.5 2001 EST", Order::Mdy).as_deref(),
            Some("2001-02-16 20:38:40.5 est")
        );
        assert_eq!(
            n("16.02.2001 20:38:40 CET", Order::Dmy).as_deref(),
            Some("2001-02-16 20:38:40 cet")
        );
        assert_eq!(n("20010216", Order::Mdy).as_deref(), Some("2001-02-16"));
        assert_eq!(
            n("02/16/01 8:05 pm", Order::Mdy).as_deref(),
            Some("2001-02-16 20:05")
        );
        assert_eq!(n("2001-02-16 20:38:40", Order::Mdy), None);
        assert_eq!(n("now", Order::Mdy), None);
    }
}
