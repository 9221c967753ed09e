//! `to_char` for dates, times and intervals (PostgreSQL's `formatting.c`,
//! the `DCH_*` half).
//!
//! A format string is parsed once into [`Node`]s: keywords (`YYYY`,
//! `Month`, `HH24`, ...), each with its prefix modifiers (`FM` fill mode,
//! `TM` translation mode) and suffixes (`TH`/`th` ordinals, `SP`), and
//! literal text (double-quoted strings, backslash escapes, any other
//! character). Keywords match case-sensitively, longest first, as
//! PostgreSQL's `index_seq_search` does over its sorted keyword table:
//! `HH24` before `HH`, `Month` and `MONTH` and `month` are three keywords
//! whose case is the output's case, and a numeric keyword has an
//! all-lowercase twin (`yyyy`) that prints the same.
//!
//! The formatter works on broken-down fields ([`Tm`]); interval values
//! have no calendar, so the keywords that need one (day and month names,
//! era, time zone) fail as in PostgreSQL with 22007, and the ones whose
//! interval meaning PostgreSQL derives from fields that do not exist for an
//! interval (`W`, `WW`, `IW`, `DDD`, `IDDD`, `J`, `Q`, `RM`, `I*`) fail
//! with 0A000 in ferrogres (README: where ferrogres differs).
//! `TM` prints the English names: the cluster's `lc_time` is C.

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// The fields `to_char` prints (`pg_tm` with `fsec`, plus the zone).
#[derive(Clone, Debug, Default)]
pub struct Tm {
    /// Astronomical year (0 is 1 BC) for timestamps; years for intervals.
    pub year: i64,
    /// 1..12 (0..11 for an interval's leftover months).
    pub month: i64,
    pub mday: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    /// Microseconds.
    pub usec: i64,
    /// 0 = Sunday.
    pub wday: i64,
    /// 1-based day of the year.
    pub yday: i64,
    pub julian: i64,
    pub iso_year: i64,
    pub iso_week: i64,
    /// ISO day of the year (1 = Monday of ISO week 1).
    pub iso_yday: i64,
    /// Seconds east of UTC.
    pub gmtoff: i64,
    /// The zone abbreviation, None for `timestamp` and `date`.
    pub tzn: Option<String>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// A keyword (PostgreSQL's `DCH_poz`), named by its canonical spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    ADdots,
    AD,
    AMdots,
    AM,
    BCdots,
    BC,
    CC,
    Day(Case),
    DDD,
    DD,
    Dy(Case),
    D,
    FF(u8),
    FX,
    HH24,
    HH12,
    HH,
    IDDD,
    ID,
    IW,
    IYYY,
    IYY,
    IY,
    I,
    J,
    MI,
    MM,
    Month(Case),
    Mon(Case),
    MS,
    OF,
    PMdots,
    PM,
    Q,
    RM(bool),
    SSSSS,
    SSSS,
    SS,
    TZH,
    TZM,
    TZ(bool),
    US,
    WW,
    W,
    YComma,
    YYYY,
    YYY,
    YY,
    Y,
}

/// How a name keyword is spelled: `MONTH`, `Month` or `month`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Upper,
    Capital,
    Lower,
}

/// The keyword table, longest spelling first within a first letter so a
/// linear scan finds what PostgreSQL's sorted search finds. The flag says
/// whether the spelling is lowercase (`a.m.` prints `a.m.`).
const KEYWORDS: &[(&str, Key, bool)] = {
    use Case::*;
    use Key::*;
    &[
        ("A.D.", ADdots, false),
        ("A.M.", AMdots, false),
        ("AD", AD, false),
        ("AM", AM, false),
        ("B.C.", BCdots, false),
        ("BC", BC, false),
        ("CC", CC, false),
        ("DAY", Day(Upper), false),
        ("DDD", DDD, false),
        ("DD", DD, false),
        ("DY", Dy(Upper), false),
        ("Day", Day(Capital), false),
        ("Dy", Dy(Capital), false),
        ("D", D, false),
        ("FF1", FF(1), false),
        ("FF2", FF(2), false),
        ("FF3", FF(3), false),
        ("FF4", FF(4), false),
        ("FF5", FF(5), false),
        ("FF6", FF(6), false),
        ("FX", FX, false),
        ("HH24", HH24, false),
        ("HH12", HH12, false),
        ("HH", HH, false),
        ("IDDD", IDDD, false),
        ("ID", ID, false),
        ("IW", IW, false),
        ("IYYY", IYYY, false),
        ("IYY", IYY, false),
        ("IY", IY, false),
        ("I", I, false),
        ("J", J, false),
        ("MI", MI, false),
        ("MM", MM, false),
        ("MONTH", Month(Upper), false),
        ("MON", Mon(Upper), false),
        ("MS", MS, false),
        ("Month", Month(Capital), false),
        ("Mon", Mon(Capital), false),
        ("OF", OF, false),
        ("P.M.", PMdots, false),
        ("PM", PM, false),
        ("Q", Q, false),
        ("RM", RM(false), false),
        ("SSSSS", SSSSS, false),
        ("SSSS", SSSS, false),
        ("SS", SS, false),
        ("TZH", TZH, false),
        ("TZM", TZM, false),
        ("TZ", TZ(false), false),
        ("US", US, false),
        ("WW", WW, false),
        ("W", W, false),
        ("Y,YYY", YComma, false),
        ("YYYY", YYYY, false),
        ("YYY", YYY, false),
        ("YY", YY, false),
        ("Y", Y, false),
        ("a.d.", ADdots, true),
        ("a.m.", AMdots, true),
        ("ad", AD, true),
        ("am", AM, true),
        ("b.c.", BCdots, true),
        ("bc", BC, true),
        ("cc", CC, true),
        ("day", Day(Lower), true),
        ("ddd", DDD, true),
        ("dd", DD, true),
        ("dy", Dy(Lower), true),
        ("d", D, true),
        ("ff1", FF(1), true),
        ("ff2", FF(2), true),
        ("ff3", FF(3), true),
        ("ff4", FF(4), true),
        ("ff5", FF(5), true),
        ("ff6", FF(6), true),
        ("fx", FX, true),
        ("hh24", HH24, true),
        ("hh12", HH12, true),
        ("hh", HH, true),
        ("iddd", IDDD, true),
        ("id", ID, true),
        ("iw", IW, true),
        ("iyyy", IYYY, true),
        ("iyy", IYY, true),
        ("iy", IY, true),
        ("i", I, true),
        ("j", J, true),
        ("mi", MI, true),
        ("mm", MM, true),
        ("month", Month(Lower), true),
        ("mon", Mon(Lower), true),
        ("ms", MS, true),
        ("of", OF, true),
        ("p.m.", PMdots, true),
        ("pm", PM, true),
        ("q", Q, true),
        ("rm", RM(true), true),
        ("sssss", SSSSS, true),
        ("ssss", SSSS, true),
        ("ss", SS, true),
        ("tzh", TZH, true),
        ("tzm", TZM, true),
        ("tz", TZ(true), true),
        ("us", US, true),
        ("ww", WW, true),
        ("w", W, true),
        ("y,yyy", YComma, true),
        ("yyyy", YYYY, true),
        ("yyy", YYY, true),
        ("yy", YY, true),
        ("y", Y, true),
    ]
};

#[derive(Clone, Debug, Default)]
struct Suffix {
    fill: bool,
    /// `TH` (upper) or `th` (lower) ordinal suffix.
    th: Option<bool>,
}

#[derive(Clone, Debug)]
enum Node {
    Key(Key, bool, Suffix),
    Text(String),
}

fn parse_format(fmt: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut text = String::new();
    let mut rest = fmt;
    while !rest.is_empty() {
        // At most one prefix modifier, as PostgreSQL's suff_search finds:
        // `FMTMMonth` is FM, then the text "T" and the keyword MM.
        let mut suffix = Suffix::default();
        let mut translate = false;
        let mut body = rest;
        if let Some(r) = body.strip_prefix("FM").or_else(|| body.strip_prefix("fm")) {
            suffix.fill = true;
            body = r;
        } else if let Some(r) = body.strip_prefix("TM").or_else(|| body.strip_prefix("tm")) {
            translate = true;
            body = r;
        }
        if let Some((spelling, key, lower)) = KEYWORDS.iter().find(|(k, _, _)| body.starts_with(k))
        {
            let mut after = &body[spelling.len()..];
            if let Some(r) = after.strip_prefix("TH") {
                suffix.th = Some(true);
                after = r;
            } else if let Some(r) = after.strip_prefix("th") {
                suffix.th = Some(false);
                after = r;
            }
            if let Some(r) = after
                .strip_prefix("SP")
                .or_else(|| after.strip_prefix("sp"))
            {
                after = r;
            }
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(&mut text)));
            }
            // TM names are printed unpadded, as the localized names are.
            suffix.fill |= translate && matches!(key, Key::Month(_) | Key::Day(_));
            nodes.push(Node::Key(*key, *lower, suffix));
            rest = after;
            continue;
        }
        // A prefix with no keyword after it is dropped, and what follows is
        // read as text, one character at a time.
        let prefixed = body.len() != rest.len();
        rest = body;
        if rest.is_empty() {
            break;
        }
        let c = rest.chars().next().expect("non-empty");
        if prefixed {
            text.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            let mut chars = rest[1..].char_indices();
            let mut end = rest.len();
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '\\' => {
                        if let Some((_, esc)) = chars.next() {
                            text.push(esc);
                        }
                    }
                    '"' => {
                        end = i + 2;
                        break;
                    }
                    other => text.push(other),
                }
            }
            rest = &rest[end.min(rest.len())..];
            continue;
        }
        if c == '\\' && rest[1..].starts_with('"') {
            text.push('"');
            rest = &rest[2..];
            continue;
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !text.is_empty() {
        nodes.push(Node::Text(text));
    }
    nodes
}

/// The ordinal suffix of a printed number (`get_th`).
fn ordinal(s: &str, upper: bool) -> &'static str {
    let b = s.as_bytes();
    let last = b.last().copied().unwrap_or(b'0');
    let teen = b.len() >= 2 && b[b.len() - 2] == b'1';
    let th = match last {
        b'1' if !teen => "st",
        b'2' if !teen => "nd",
        b'3' if !teen => "rd",
        _ => "th",
    };
    if upper {
        match th {
            "st" => "ST",
            "nd" => "ND",
            "rd" => "RD",
            _ => "TH",
        }
    } else {
        th
    }
}

/// C's `%0*d`: zero-padded to `width` (the sign counts), no padding in
/// fill mode.
fn padded(v: i64, width: usize, fill: bool) -> String {
    if fill {
        v.to_string()
    } else {
        format!("{v:0width$}")
    }
}

fn invalid_for_interval() -> PgError {
    PgError::error(
        sqlstate::INVALID_DATETIME_FORMAT,
        "invalid format specification for an interval value",
    )
    .with_hint("Intervals are not tied to specific calendar dates.")
}

fn cased(name: &str, case: Case) -> String {
    match case {
        Case::Upper => name.to_uppercase(),
        Case::Capital => name.to_string(),
        Case::Lower => name.to_lowercase(),
    }
}

/// `to_char(value, format)` over broken-down fields.
pub fn to_char(tm: &Tm, fmt: &str, is_interval: bool) -> PgResult<String> {
    let mut out = String::new();
    // ADJUST_YEAR: the year a user sees (no year zero) for timestamps.
    let year = if is_interval || tm.year > 0 {
        tm.year
    } else {
        -(tm.year - 1)
    };
    let iso_year = if is_interval || tm.iso_year > 0 {
        tm.iso_year
    } else {
        -(tm.iso_year - 1)
    };
    for node in parse_format(fmt) {
        let (key, lower, suffix) = match node {
            Node::Text(t) => {
                out.push_str(&t);
                continue;
            }
            Node::Key(k, lower, s) => (k, lower, s),
        };
        let fill = suffix.fill;
        let calendar_only = || -> PgResult<()> {
            if is_interval {
                Err(invalid_for_interval())
            } else {
                Ok(())
            }
        };
        let no_interval_meaning = |name: &str| -> PgResult<()> {
            if is_interval {
                Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "format pattern \"{name}\" of an interval is not supported by ferrogres"
                    ),
                ))
            } else {
                Ok(())
            }
        };
        let numeric: Option<String> = match key {
            Key::AM | Key::PM | Key::AMdots | Key::PMdots => {
                let pm = tm.hour % 24 >= 12;
                let dots = matches!(key, Key::AMdots | Key::PMdots);
                let s = match (pm, dots) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                out.push_str(&if lower {
                    s.to_lowercase()
                } else {
                    s.to_string()
                });
                None
            }
            Key::AD | Key::BC | Key::ADdots | Key::BCdots => {
                calendar_only()?;
                let bc = tm.year <= 0;
                let dots = matches!(key, Key::ADdots | Key::BCdots);
                let s = match (bc, dots) {
                    (false, false) => "AD",
                    (true, false) => "BC",
                    (false, true) => "A.D.",
                    (true, true) => "B.C.",
                };
                out.push_str(&if lower {
                    s.to_lowercase()
                } else {
                    s.to_string()
                });
                None
            }
            Key::HH | Key::HH12 => {
                let h = tm.hour % 12;
                let h = if h == 0 { 12 } else { h };
                Some(padded(h, if h >= 0 { 2 } else { 3 }, fill))
            }
            // A negative interval field is one wider, for its sign.
            Key::HH24 => Some(padded(tm.hour, if tm.hour >= 0 { 2 } else { 3 }, fill)),
            Key::MI => Some(padded(tm.min, if tm.min >= 0 { 2 } else { 3 }, fill)),
            Key::SS => Some(padded(tm.sec, if tm.sec >= 0 { 2 } else { 3 }, fill)),
            Key::FF(n) => {
                let div = 10i64.pow(6 - n as u32);
                Some(padded(tm.usec / div, n as usize, fill))
            }
            Key::MS => Some(padded(tm.usec / 1000, 3, fill)),
            Key::US => Some(padded(tm.usec, 6, fill)),
            Key::SSSS | Key::SSSSS => Some((tm.hour * 3600 + tm.min * 60 + tm.sec).to_string()),
            Key::TZ(lower_tz) => {
                calendar_only()?;
                if let Some(n) = &tm.tzn {
                    out.push_str(&if lower_tz {
                        n.to_lowercase()
                    } else {
                        n.clone()
                    });
                }
                None
            }
            Key::TZH => {
                calendar_only()?;
                let sign = if tm.gmtoff >= 0 { '+' } else { '-' };
                out.push_str(&format!("{sign}{:02}", tm.gmtoff.abs() / 3600));
                None
            }
            Key::TZM => {
                calendar_only()?;
                out.push_str(&format!("{:02}", (tm.gmtoff.abs() % 3600) / 60));
                None
            }
            Key::OF => {
                calendar_only()?;
                let sign = if tm.gmtoff >= 0 { '+' } else { '-' };
                let a = tm.gmtoff.abs();
                out.push_str(&format!("{sign}{}", padded(a / 3600, 2, fill)));
                if a % 3600 != 0 {
                    out.push_str(&format!(":{:02}", (a % 3600) / 60));
                }
                None
            }
            Key::Month(case) | Key::Mon(case) => {
                calendar_only()?;
                if tm.month >= 1 {
                    let full = MONTHS[(tm.month - 1) as usize];
                    if matches!(key, Key::Month(_)) {
                        let s = cased(full, case);
                        out.push_str(&if fill { s } else { format!("{s:<9}") });
                    } else {
                        out.push_str(&cased(&full[..3], case));
                    }
                }
                None
            }
            Key::Day(case) | Key::Dy(case) => {
                calendar_only()?;
                let full = DAYS[tm.wday.rem_euclid(7) as usize];
                if matches!(key, Key::Day(_)) {
                    let s = cased(full, case);
                    out.push_str(&if fill { s } else { format!("{s:<9}") });
                } else {
                    out.push_str(&cased(&full[..3], case));
                }
                None
            }
            Key::MM => Some(padded(tm.month, if tm.month >= 0 { 2 } else { 3 }, fill)),
            Key::DD => Some(padded(tm.mday, 2, fill)),
            Key::DDD => {
                no_interval_meaning("DDD")?;
                Some(padded(tm.yday, 3, fill))
            }
            Key::IDDD => {
                no_interval_meaning("IDDD")?;
                Some(padded(tm.iso_yday, 3, fill))
            }
            Key::D => {
                calendar_only()?;
                Some((tm.wday + 1).to_string())
            }
            Key::ID => {
                calendar_only()?;
                Some((if tm.wday == 0 { 7 } else { tm.wday }).to_string())
            }
            Key::WW => {
                no_interval_meaning("WW")?;
                Some(padded((tm.yday - 1) / 7 + 1, 2, fill))
            }
            Key::IW => {
                no_interval_meaning("IW")?;
                Some(padded(tm.iso_week, 2, fill))
            }
            Key::W => {
                no_interval_meaning("W")?;
                Some(((tm.mday - 1) / 7 + 1).to_string())
            }
            Key::Q => {
                no_interval_meaning("Q")?;
                if tm.month == 0 {
                    None
                } else {
                    Some(((tm.month - 1) / 3 + 1).to_string())
                }
            }
            Key::J => {
                no_interval_meaning("J")?;
                Some(tm.julian.to_string())
            }
            Key::RM(lower_rm) => {
                no_interval_meaning("RM")?;
                if tm.month >= 1 {
                    let r = ROMAN[(tm.month - 1) as usize];
                    let r = if lower_rm {
                        r.to_lowercase()
                    } else {
                        r.to_string()
                    };
                    out.push_str(&if fill { r } else { format!("{r:<4}") });
                }
                None
            }
            Key::CC => {
                let c = if is_interval {
                    tm.year / 100
                } else if tm.year > 0 {
                    (tm.year - 1) / 100 + 1
                } else {
                    tm.year / 100 - 1
                };
                Some(if (-99..=99).contains(&c) {
                    padded(c, if c >= 0 { 2 } else { 3 }, fill)
                } else {
                    c.to_string()
                })
            }
            Key::YComma => {
                let i = year / 1000;
                Some(format!("{},{:03}", i, year - i * 1000))
            }
            Key::YYYY | Key::IYYY => {
                if key == Key::IYYY {
                    no_interval_meaning("IYYY")?;
                }
                let y = if key == Key::IYYY { iso_year } else { year };
                Some(padded(y, if y >= 0 { 4 } else { 5 }, fill))
            }
            Key::YYY | Key::IYY => {
                if key == Key::IYY {
                    no_interval_meaning("IYY")?;
                }
                let y = if key == Key::IYY { iso_year } else { year };
                Some(padded(y % 1000, if y >= 0 { 3 } else { 4 }, fill))
            }
            Key::YY | Key::IY => {
                if key == Key::IY {
                    no_interval_meaning("IY")?;
                }
                let y = if key == Key::IY { iso_year } else { year };
                Some(padded(y % 100, if y >= 0 { 2 } else { 3 }, fill))
            }
            Key::Y | Key::I => {
                if key == Key::I {
                    no_interval_meaning("I")?;
                }
                let y = if key == Key::I { iso_year } else { year };
                Some(padded(y % 10, if y >= 0 { 1 } else { 2 }, fill))
            }
            Key::FX => None,
        };
        if let Some(s) = numeric {
            out.push_str(&s);
            if let Some(upper) = suffix.th {
                out.push_str(ordinal(&s, upper));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_longest_first_within_a_letter() {
        for (i, (a, _, _)) in KEYWORDS.iter().enumerate() {
            for (b, _, _) in &KEYWORDS[i + 1..] {
                assert!(!b.starts_with(a) || b == a, "{b} is shadowed by {a}");
            }
        }
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal("1", false), "st");
        assert_eq!(ordinal("11", false), "th");
        assert_eq!(ordinal("22", true), "ND");
        assert_eq!(ordinal("113", false), "th");
    }
}

// ---------------------------------------------------------------------------
// to_timestamp / to_date: DCH_from_char
// ---------------------------------------------------------------------------

/// The fields `to_timestamp` / `to_date` read (PostgreSQL's `TmFromChar`).
#[derive(Clone, Debug, Default)]
pub struct FromChar {
    pub year: Option<i64>,
    /// How many digits the year had (2- and 3-digit years are adjusted
    /// toward 2020).
    pub year_digits: usize,
    pub bc: bool,
    pub cc: Option<i64>,
    pub month: Option<i64>,
    pub mday: Option<i64>,
    pub ddd: Option<i64>,
    pub hour: i64,
    /// HH / HH12 was used: the hour is on the 12-hour clock.
    pub clock12: bool,
    pub pm: Option<bool>,
    pub min: i64,
    pub sec: i64,
    pub usec: i64,
    pub julian: Option<i64>,
    /// TZH/TZM: seconds east of UTC.
    pub tz_offset: Option<i64>,
    pub w: Option<i64>,
    pub ww: Option<i64>,
}

fn key_name(spelling: &str) -> &str {
    spelling
}

fn is_digit_key(k: Key) -> bool {
    !matches!(
        k,
        Key::ADdots
            | Key::AD
            | Key::AMdots
            | Key::AM
            | Key::BCdots
            | Key::BC
            | Key::PMdots
            | Key::PM
            | Key::Day(_)
            | Key::Dy(_)
            | Key::Month(_)
            | Key::Mon(_)
            | Key::RM(_)
            | Key::TZ(_)
            | Key::FX
    )
}

/// `DCH_from_char` in PostgreSQL's non-FX mode: each keyword reads its
/// field from `input`, separators in the format match one separator in the
/// input (or none), other format characters skip one input character, and
/// spaces before a field are skipped.
pub fn from_char(input: &str, fmt: &str) -> PgResult<FromChar> {
    // Keywords with their spellings, to name them in messages.
    let mut nodes: Vec<(Option<(Key, &'static str, Suffix)>, Option<char>)> = Vec::new();
    {
        let mut rest = fmt;
        while !rest.is_empty() {
            let mut suffix = Suffix::default();
            let mut body = rest;
            if let Some(r) = body.strip_prefix("FM").or_else(|| body.strip_prefix("fm")) {
                suffix.fill = true;
                body = r;
            } else if let Some(r) = body.strip_prefix("TM").or_else(|| body.strip_prefix("tm")) {
                body = r;
            }
            if let Some((spelling, key, _)) = KEYWORDS.iter().find(|(k, _, _)| body.starts_with(k))
            {
                let mut after = &body[spelling.len()..];
                if let Some(r) = after
                    .strip_prefix("TH")
                    .or_else(|| after.strip_prefix("th"))
                {
                    suffix.th = Some(true);
                    after = r;
                }
                nodes.push((Some((*key, *spelling, suffix)), None));
                rest = after;
                continue;
            }
            let prefixed = body.len() != rest.len();
            rest = body;
            if rest.is_empty() {
                break;
            }
            let c = rest.chars().next().expect("non-empty");
            if c == '"' && !prefixed {
                let mut chars = rest[1..].char_indices();
                let mut end = rest.len();
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '\\' => {
                            if let Some((_, esc)) = chars.next() {
                                nodes.push((None, Some(esc)));
                            }
                        }
                        '"' => {
                            end = i + 2;
                            break;
                        }
                        // Quoted characters skip one input character each.
                        other => nodes.push((
                            None,
                            Some(if other.is_alphanumeric() { other } else { 'x' }),
                        )),
                    }
                }
                rest = &rest[end.min(rest.len())..];
                continue;
            }
            nodes.push((None, Some(c)));
            rest = &rest[c.len_utf8()..];
        }
    }
    if let Some((_, name, _)) = nodes
        .iter()
        .flat_map(|n| &n.0)
        .find(|(k, _, _)| matches!(k, Key::TZ(_) | Key::OF))
    {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "formatting field \"{}\" is only supported in to_char",
                key_name(name)
            ),
        ));
    }
    let mut out = FromChar::default();
    let b = input.as_bytes();
    let mut s = 0usize;
    let mut extra_skip: i64 = 0;
    let is_sep = |c: u8| !c.is_ascii_alphanumeric() && !c.is_ascii_whitespace() && c < 0x80;
    for (i, (key, ch)) in nodes.iter().enumerate() {
        if s >= b.len() {
            break;
        }
        if let Some(c) = ch {
            if c.is_whitespace() || (!c.is_alphanumeric()) {
                extra_skip -= 1;
                if b[s].is_ascii_whitespace() || is_sep(b[s]) {
                    s += 1;
                    extra_skip += 1;
                }
            } else if extra_skip > 0 {
                extra_skip -= 1;
            } else {
                s += input[s..].chars().next().map_or(1, |c| c.len_utf8());
            }
            continue;
        }
        let (k, name, suffix) = key.as_ref().expect("a keyword node");
        if *k == Key::FX {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "the FX modifier of to_timestamp and to_date is not supported by ferrogres",
            ));
        }
        while s < b.len() && b[s].is_ascii_whitespace() {
            s += 1;
            extra_skip += 1;
        }
        // is_next_separator: the field may take as many digits as there are.
        let next_sep = suffix.th.is_some()
            || match nodes.get(i + 1) {
                None => true,
                Some((Some((nk, _, _)), _)) => !is_digit_key(*nk),
                Some((None, Some(c))) => !c.is_ascii_digit(),
                Some((None, None)) => true,
            };
        let int = |len: usize, s: &mut usize| -> PgResult<(i64, usize)> {
            let rest = &input[*s..];
            let slurp = suffix.fill || next_sep;
            let field: &str = if slurp {
                rest
            } else {
                let avail = rest.chars().count();
                if avail < len {
                    return Err(PgError::error(
                        sqlstate::INVALID_DATETIME_FORMAT,
                        format!("source string too short for \"{name}\" formatting field"),
                    )
                    .with_detail(format!(
                        "Field requires {len} characters, but only {avail} remain."
                    ))
                    .with_hint(
                        "If your source string is not fixed-width, try using the \"FM\" modifier.",
                    ));
                }
                &rest[..rest.char_indices().nth(len).map_or(rest.len(), |(i, _)| i)]
            };
            // strtol: leading spaces, a sign, digits.
            let fb = field.as_bytes();
            let mut j = 0;
            while j < fb.len() && fb[j].is_ascii_whitespace() {
                j += 1;
            }
            let start = j;
            if j < fb.len() && (fb[j] == b'+' || fb[j] == b'-') {
                j += 1;
            }
            let digits_start = j;
            while j < fb.len() && fb[j].is_ascii_digit() {
                j += 1;
            }
            if j == digits_start {
                let shown: String = rest.chars().take(len.max(1)).collect();
                return Err(PgError::error(
                    sqlstate::INVALID_DATETIME_FORMAT,
                    format!("invalid value \"{shown}\" for \"{name}\""),
                )
                .with_detail("Value must be an integer."));
            }
            if !slurp && j != fb.len() {
                return Err(PgError::error(
                    sqlstate::INVALID_DATETIME_FORMAT,
                    format!("invalid value \"{field}\" for \"{name}\""),
                )
                .with_detail(format!(
                    "Field requires {len} characters, but only {j} could be parsed."
                ))
                .with_hint(
                    "If your source string is not fixed-width, try using the \"FM\" modifier.",
                ));
            }
            let v: i64 = field[start..j].parse().unwrap_or(i64::MAX);
            if v < i32::MIN as i64 || v > i32::MAX as i64 {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    format!("value for \"{name}\" in source string is out of range"),
                )
                .with_detail("Value must be in the range -2147483648 to 2147483647."));
            }
            *s += j;
            Ok((v, j - digits_start))
        };
        let seq = |names: &[&str], s: &mut usize| -> PgResult<usize> {
            let rest = &input[*s..];
            let mut best: Option<(usize, usize)> = None;
            for (idx, n) in names.iter().enumerate() {
                // ASCII case folding only: the names are ASCII, and the
                // match length must be a byte length of the input itself.
                let hit = rest
                    .as_bytes()
                    .get(..n.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(n.as_bytes()));
                if hit && best.is_none_or(|(_, l)| n.len() > l) {
                    best = Some((idx, n.len()));
                }
            }
            match best {
                Some((idx, l)) => {
                    *s += l;
                    Ok(idx)
                }
                None => {
                    let max = names.iter().map(|n| n.len()).max().unwrap_or(1);
                    let shown: String = rest
                        .chars()
                        .take(max)
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    Err(PgError::error(
                        sqlstate::INVALID_DATETIME_FORMAT,
                        format!("invalid value \"{shown}\" for \"{name}\""),
                    )
                    .with_detail(
                        "The given value did not match any of the allowed values for this field.",
                    ))
                }
            }
        };
        match k {
            Key::YYYY | Key::YComma => {
                let (v, n) = if *k == Key::YComma {
                    // Y,YYY: thousands, a comma, three digits.
                    let (th, _) = int(usize::MAX, &mut s)?;
                    if s < b.len() && b[s] == b',' {
                        s += 1;
                    }
                    let (rest, _) = int(3, &mut s)?;
                    (th * 1000 + rest, 4)
                } else {
                    int(4, &mut s)?
                };
                let _ = n;
                out.year = Some(v);
                out.year_digits = 4;
            }
            Key::YYY | Key::YY | Key::Y => {
                let len = match k {
                    Key::YYY => 3,
                    Key::YY => 2,
                    _ => 1,
                };
                let (v, _) = int(len, &mut s)?;
                out.year = Some(v);
                out.year_digits = len;
            }
            Key::IYYY | Key::IYY | Key::IY | Key::I | Key::IW | Key::ID | Key::IDDD => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "ISO week-date field \"{name}\" in to_timestamp and to_date is not supported by ferrogres"
                    ),
                ));
            }
            Key::CC => out.cc = Some(int(usize::MAX, &mut s)?.0),
            Key::MM => out.month = Some(int(2, &mut s)?.0),
            Key::DD => out.mday = Some(int(2, &mut s)?.0),
            Key::DDD => out.ddd = Some(int(3, &mut s)?.0),
            Key::D => {
                int(1, &mut s)?;
            }
            Key::Q => {
                int(1, &mut s)?;
            }
            Key::W => out.w = Some(int(1, &mut s)?.0),
            Key::WW => out.ww = Some(int(2, &mut s)?.0),
            Key::J => out.julian = Some(int(usize::MAX, &mut s)?.0),
            Key::HH | Key::HH12 => {
                out.hour = int(2, &mut s)?.0;
                out.clock12 = true;
            }
            Key::HH24 => out.hour = int(2, &mut s)?.0,
            Key::MI => out.min = int(2, &mut s)?.0,
            Key::SS => out.sec = int(2, &mut s)?.0,
            Key::SSSS | Key::SSSSS => {
                let v = int(usize::MAX, &mut s)?.0;
                out.hour = v / 3600;
                out.min = v / 60 % 60;
                out.sec = v % 60;
            }
            Key::MS | Key::US | Key::FF(_) => {
                let len = match k {
                    Key::MS => 3,
                    Key::US => 6,
                    Key::FF(n) => *n as usize,
                    _ => unreachable!("fraction key"),
                };
                let (v, n) = int(len, &mut s)?;
                // The digits read are a fraction: "5" for MS is 500 ms.
                let n = n.clamp(1, 6) as u32;
                out.usec += if *k == Key::MS {
                    v * 10i64.pow(3u32.saturating_sub(n)) * 1000
                } else {
                    v * 10i64.pow(6 - n)
                };
            }
            Key::TZH => {
                // The sign is read on its own, then two digits.
                let neg = s < b.len() && b[s] == b'-';
                if s < b.len() && matches!(b[s], b'+' | b'-' | b' ') {
                    s += 1;
                }
                let (v, _) = int(2, &mut s)?;
                let h = v.abs();
                let cur = out.tz_offset.unwrap_or(0).abs() % 3600;
                out.tz_offset = Some(if neg || v < 0 {
                    -(h * 3600 + cur)
                } else {
                    h * 3600 + cur
                });
            }
            Key::TZM => {
                let (v, _) = int(2, &mut s)?;
                let cur = out.tz_offset.unwrap_or(0);
                let m = v.abs() * 60;
                out.tz_offset = Some(if cur < 0 { cur - m } else { cur + m });
            }
            Key::AM | Key::PM | Key::AMdots | Key::PMdots => {
                let idx = seq(&["a.m.", "p.m.", "am", "pm"], &mut s)?;
                out.pm = Some(idx == 1 || idx == 3);
            }
            Key::AD | Key::BC | Key::ADdots | Key::BCdots => {
                let idx = seq(&["a.d.", "b.c.", "ad", "bc"], &mut s)?;
                out.bc = idx == 1 || idx == 3;
            }
            Key::Month(_) => out.month = Some(seq(&MONTHS, &mut s)? as i64 + 1),
            Key::Mon(_) => {
                let abbrevs: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
                out.month = Some(seq(&abbrevs, &mut s)? as i64 + 1);
            }
            Key::Day(_) => {
                seq(&DAYS, &mut s)?;
            }
            Key::Dy(_) => {
                let abbrevs: Vec<&str> = DAYS.iter().map(|d| &d[..3]).collect();
                seq(&abbrevs, &mut s)?;
            }
            Key::RM(_) => {
                let romans = [
                    "XII", "XI", "X", "IX", "VIII", "VII", "VI", "V", "IV", "III", "II", "I",
                ];
                let idx = seq(&romans, &mut s)?;
                out.month = Some(12 - idx as i64);
            }
            Key::TZ(_) | Key::OF | Key::FX => unreachable!("rejected above"),
        }
        // SKIP_THth: an ordinal suffix after a number ("1st").
        if suffix.th.is_some() && is_digit_key(*k) {
            for _ in 0..2 {
                if let Some(c) = input[s..].chars().next() {
                    s += c.len_utf8();
                }
            }
        }
    }
    if out.clock12 {
        if !(1..=12).contains(&out.hour) {
            return Err(PgError::error(
                sqlstate::INVALID_DATETIME_FORMAT,
                format!("hour \"{}\" is invalid for the 12-hour clock", out.hour),
            )
            .with_hint("Use the 24-hour clock, or give an hour between 1 and 12."));
        }
    }
    if let Some(pm) = out.pm {
        if pm && out.hour < 12 {
            out.hour += 12;
        } else if !pm && out.hour == 12 {
            out.hour = 0;
        }
    }
    Ok(out)
}
