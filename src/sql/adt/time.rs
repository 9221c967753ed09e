//! `time [without time zone]` (PostgreSQL's `date.c`, `time_in` /
//! `time_out`): microseconds since midnight, 0 ..= 24:00:00 inclusive.
//!
//! Input takes what PostgreSQL's `DecodeTimeOnly` takes for the common
//! forms: `hh:mm[:ss[.fraction]]`, the compact `hhmmss[.fraction]`, an
//! `am`/`pm` suffix, a date before the time and a zone after it (both
//! read and ignored, as for `time`), and the specials `allballs` and
//! `now`. Output is `hh:mm:ss` with the fraction's trailing zeros dropped.

use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::time::USECS_PER_SEC;

pub const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;

fn bad(input: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type time: \"{input}\""),
    )
}

fn out_of_range(input: &str) -> PgError {
    PgError::error(
        sqlstate::DATETIME_FIELD_OVERFLOW,
        format!("date/time field value out of range: \"{input}\""),
    )
}

/// Seconds and fraction: `ss[.ffffff]` → microseconds (rounded to 6 digits
/// as PostgreSQL rounds `fsec`).
fn seconds(s: &str, input: &str) -> PgResult<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || int.len() > 2 || !int.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(input));
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(input));
    }
    let sec: i64 = int.parse().map_err(|_| bad(input))?;
    // Seven digits, rounded half up to six.
    let mut digits: String = frac.chars().take(7).collect();
    while digits.len() < 7 {
        digits.push('0');
    }
    let us = (digits.parse::<i64>().map_err(|_| bad(input))? + 5) / 10;
    Ok(sec * USECS_PER_SEC + us)
}

/// `time_in`; `now_local` is the current local time of day (for `now`).
pub fn time_in(input: &str, now_local: i64) -> PgResult<i64> {
    let lower = input.trim().to_ascii_lowercase();
    match lower.as_str() {
        "allballs" => return Ok(0),
        "now" => return Ok(now_local),
        "" => return Err(bad(input)),
        _ => {}
    }
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    // A leading date (`2003-04-12 04:05:06`) is read and ignored.
    if words.len() > 1
        && words[0].contains(['-', '/'])
        && words[0].starts_with(|c: char| c.is_ascii_digit())
    {
        words.remove(0);
    }
    let mut pm = None;
    if let Some(last) = words.last().copied() {
        if last == "am" || last == "pm" {
            pm = Some(last == "pm");
            words.pop();
        }
    }
    let Some(&first) = words.first() else {
        return Err(bad(input));
    };
    // A zone after the time (`04:05:06 PST`, `04:05-08`) is ignored.
    if words.len() > 2
        || (words.len() == 2
            && !words[1].starts_with(|c: char| c.is_ascii_alphabetic() || c == '+' || c == '-'))
    {
        return Err(bad(input));
    }
    let mut core = first.trim_end_matches('z');
    if let Some(p) = core.find(['+', '-']) {
        core = &core[..p];
    }
    let (h, m, sec_us) = if core.contains(':') {
        let parts: Vec<&str> = core.split(':').collect();
        let num = |p: &str| -> PgResult<i64> {
            if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad(input));
            }
            p.parse().map_err(|_| bad(input))
        };
        match parts.as_slice() {
            [h, m] => {
                // `mm:ss.f` is minutes and seconds when there is a fraction.
                if m.contains('.') {
                    (0, num(h)?, seconds(m, input)?)
                } else {
                    (num(h)?, num(m)?, 0)
                }
            }
            [h, m, s] => (num(h)?, num(m)?, seconds(s, input)?),
            _ => return Err(bad(input)),
        }
    } else {
        let (int, frac) = core.split_once('.').unwrap_or((core, ""));
        if !int.bytes().all(|c| c.is_ascii_digit()) || !matches!(int.len(), 4 | 6) {
            return Err(bad(input));
        }
        let h: i64 = int[0..2].parse().map_err(|_| bad(input))?;
        let m: i64 = int[2..4].parse().map_err(|_| bad(input))?;
        let s = if int.len() == 6 { &int[4..6] } else { "0" };
        let sec = if frac.is_empty() {
            s.to_string()
        } else {
            format!("{s}.{frac}")
        };
        (h, m, seconds(&sec, input)?)
    };
    let h = match pm {
        Some(_) if h > 12 || h < 1 => return Err(out_of_range(input)),
        Some(true) if h < 12 => h + 12,
        Some(false) if h == 12 => 0,
        _ => h,
    };
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || sec_us < 0 || sec_us > 60 * USECS_PER_SEC
    {
        return Err(out_of_range(input));
    }
    let t = (h * 60 + m) * 60 * USECS_PER_SEC + sec_us;
    if t > USECS_PER_DAY {
        return Err(out_of_range(input));
    }
    Ok(t)
}

/// `time_out`.
pub fn time_out(t: i64) -> String {
    let us = t % USECS_PER_SEC;
    let s = t / USECS_PER_SEC;
    let mut out = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if us != 0 {
        let frac = format!("{us:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

/// `AdjustTimeForTypmod`: rounds to `typmod` fractional digits.
pub fn round_time(t: i64, typmod: i32) -> i64 {
    if !(0..6).contains(&typmod) {
        return t;
    }
    let scale = 10i64.pow(6 - typmod as u32);
    (t + scale / 2) / scale * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = |s| time_in(s, 0).map(time_out);
        assert_eq!(t("04:05:06.789").unwrap(), "04:05:06.789");
        assert_eq!(t("04:05").unwrap(), "04:05:00");
        assert_eq!(t("040506").unwrap(), "04:05:06");
        assert_eq!(t("04:05 PM").unwrap(), "16:05:00");
        assert_eq!(t("12:00 am").unwrap(), "00:00:00");
        assert_eq!(t("04:05:06 PST").unwrap(), "04:05:06");
        assert_eq!(t("04:05:06-08:00").unwrap(), "04:05:06");
        assert_eq!(t("2003-04-12 04:05:06").unwrap(), "04:05:06");
        assert_eq!(t("24:00:00").unwrap(), "24:00:00");
        assert_eq!(t("allballs").unwrap(), "00:00:00");
        assert_eq!(t("01:02:03.1234567").unwrap(), "01:02:03.123457");
        assert!(t("24:00:01").is_err());
        assert!(t("25:00").is_err());
        assert!(t("abc").is_err());
    }
}
