//! Date/time field functions (PostgreSQL's `timestamp.c` and `date.c`):
//! `extract` / `date_part`, `date_trunc`, `make_date`, `make_timestamp(tz)`,
//! `make_interval`, `age`, `justify_*`, `isfinite` and `timezone` (what
//! `AT TIME ZONE` calls).
//!
//! Everything works on broken-down fields ([`Fields`]) of a wall-clock
//! value, as PostgreSQL's `pg_tm`: a `timestamp` is its own wall clock, a
//! `timestamptz` is read in the session's `TimeZone` (or the zone
//! `date_trunc` is given), a `date` is midnight. Years are astronomical
//! inside (1 BC is year 0), as `j2date` gives them; the fields a user sees
//! (`year`, `century`, ...) follow PostgreSQL's BC rules.
//!
//! Units are looked up as PostgreSQL's `DecodeUnits` / `DecodeSpecial`
//! do: lower-cased and truncated to `TOKMAXLEN` (10) characters, so
//! `'microseconds'` and `'millenniums'` both work. An unknown unit is
//! 22023 `unit "x" not recognized for type T`; a known unit the type has
//! no such field for is 0A000 `unit "x" not supported for type T`.

use super::super::adt::datetime::{self, Interval, TimeZone};
use super::super::adt::formatting;
use super::super::adt::numeric::Numeric;
use super::super::adt::{as_f64, as_i128, as_interval, interval_datum};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::Builder;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::time::{
    POSTGRES_EPOCH_UNIX_S, USECS_PER_DAY, USECS_PER_SEC, civil_from_days, days_from_civil,
};

type R = PgResult<Datum>;

const USECS_PER_HOUR: i64 = 3_600 * USECS_PER_SEC;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
/// Days from 1970-01-01 to 2000-01-01.
const EPOCH_DAYS: i64 = POSTGRES_EPOCH_UNIX_S / 86_400;
/// `date2j(2000, 1, 1)`: the Julian day of the PostgreSQL epoch.
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
const DAYS_PER_MONTH: i64 = 30;
/// `DATETIME_MIN_JULIAN`: 4714-11-24 BC.
const DATETIME_MIN_JULIAN: i64 = 0;
/// `TIMESTAMP_END_JULIAN`: 294277-01-01.
const TIMESTAMP_END_JULIAN: i64 = 109_203_528;
/// `DATE_END_JULIAN`: 5874898-01-01.
const DATE_END_JULIAN: i64 = 2_147_483_494;

/// A unit of `extract` / `date_trunc` (PostgreSQL's `DTK_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
    Epoch,
    Julian,
    Dow,
    IsoDow,
    Doy,
    IsoYear,
}

/// `DecodeUnits` then `DecodeSpecial`: None if the word is no unit.
fn decode_unit(word: &str) -> Option<Unit> {
    let lower = word.to_lowercase();
    // TOKMAXLEN: tokens compare on their first 10 characters.
    let key: String = lower.chars().take(10).collect();
    Some(match key.as_str() {
        "microsecon" | "us" | "usec" | "usecond" | "useconds" | "usecs" => Unit::Microseconds,
        "millisecon" | "ms" | "msec" | "msecond" | "mseconds" | "msecs" => Unit::Milliseconds,
        "s" | "sec" | "second" | "seconds" | "secs" => Unit::Second,
        "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
        "h" | "hour" | "hours" | "hr" | "hrs" => Unit::Hour,
        "d" | "day" | "days" => Unit::Day,
        "w" | "week" | "weeks" => Unit::Week,
        "mon" | "mons" | "month" | "months" => Unit::Month,
        "qtr" | "quarter" => Unit::Quarter,
        "y" | "year" | "years" | "yr" | "yrs" => Unit::Year,
        "dec" | "decade" | "decades" | "decs" => Unit::Decade,
        "c" | "cent" | "centuries" | "century" => Unit::Century,
        "mil" | "millennia" | "millennium" | "mils" => Unit::Millennium,
        "timezone" => Unit::Timezone,
        "timezone_h" => Unit::TimezoneHour,
        "timezone_m" => Unit::TimezoneMinute,
        "epoch" => Unit::Epoch,
        "j" | "jd" | "julian" => Unit::Julian,
        "dow" => Unit::Dow,
        "isodow" => Unit::IsoDow,
        "doy" => Unit::Doy,
        "isoyear" => Unit::IsoYear,
        _ => return None,
    })
}

fn unit_for(word: &str, ty: Type) -> PgResult<Unit> {
    decode_unit(word).ok_or_else(|| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "unit \"{}\" not recognized for type {}",
                word.to_lowercase(),
                ty.name()
            ),
        )
    })
}

fn not_supported(word: &str, ty: Type) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "unit \"{}\" not supported for type {}",
            word.to_lowercase(),
            ty.name()
        ),
    )
}

fn timestamp_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

fn interval_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

// ---------------------------------------------------------------------------
// Broken-down time
// ---------------------------------------------------------------------------

/// A wall-clock value's fields (`pg_tm` plus `fsec`).
#[derive(Clone, Copy, Debug)]
struct Fields {
    /// Astronomical year (0 is 1 BC).
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    /// Microseconds within the second.
    usec: i64,
    /// Seconds east of UTC the value was read at (0 for `timestamp`).
    gmtoff: i64,
}

impl Fields {
    /// Fields of wall-clock microseconds since 2000-01-01 00:00.
    fn from_local(local: i64, gmtoff: i64) -> Fields {
        let days = local.div_euclid(USECS_PER_DAY);
        let mut t = local.rem_euclid(USECS_PER_DAY);
        let (year, month, day) = civil_from_days(days + EPOCH_DAYS);
        let hour = t / USECS_PER_HOUR;
        t -= hour * USECS_PER_HOUR;
        let min = t / USECS_PER_MINUTE;
        t -= min * USECS_PER_MINUTE;
        Fields {
            year,
            month: month as i64,
            day: day as i64,
            hour,
            min,
            sec: t / USECS_PER_SEC,
            usec: t % USECS_PER_SEC,
            gmtoff,
        }
    }

    /// Days since 2000-01-01 of the date part.
    fn days(&self) -> i64 {
        days_from_civil(self.year, self.month as u32, self.day as u32) - EPOCH_DAYS
    }

    /// Microseconds since midnight.
    fn time(&self) -> i64 {
        ((self.hour * 60 + self.min) * 60 + self.sec) * USECS_PER_SEC + self.usec
    }

    /// Wall-clock microseconds since 2000-01-01, None on overflow.
    fn to_local(&self) -> Option<i64> {
        self.days()
            .checked_mul(USECS_PER_DAY)?
            .checked_add(self.time())
    }

    fn julian(&self) -> i64 {
        self.days() + POSTGRES_EPOCH_JDATE
    }

    /// 0 = Sunday (`j2day`).
    fn dow(&self) -> i64 {
        (self.days() + 6).rem_euclid(7)
    }

    fn doy(&self) -> i64 {
        self.days() - (days_from_civil(self.year, 1, 1) - EPOCH_DAYS) + 1
    }

    /// (ISO year, ISO week) of the date (`date2isoweek`, `date2isoyear`).
    fn iso_week(&self) -> (i64, i64) {
        let isodow = match self.dow() {
            0 => 7,
            d => d,
        };
        let thursday = self.days() + (4 - isodow);
        let (ty, _, _) = civil_from_days(thursday + EPOCH_DAYS);
        let jan1 = days_from_civil(ty, 1, 1) - EPOCH_DAYS;
        (ty, (thursday - jan1) / 7 + 1)
    }
}

fn tz_fields(ts: i64, tz: &TimeZone) -> PgResult<Fields> {
    if is_infinite_ts(ts) {
        return Err(timestamp_out_of_range());
    }
    let off = tz.offset_at(ts);
    Ok(Fields::from_local(ts + off * USECS_PER_SEC, off))
}

fn is_infinite_ts(ts: i64) -> bool {
    ts == i64::MIN || ts == i64::MAX
}

fn check_timestamp(ts: i64) -> PgResult<i64> {
    let days = ts.div_euclid(USECS_PER_DAY) + POSTGRES_EPOCH_JDATE;
    if !(DATETIME_MIN_JULIAN..TIMESTAMP_END_JULIAN).contains(&days) {
        return Err(timestamp_out_of_range());
    }
    Ok(ts)
}

/// Local fields in `tz` → timestamptz (`tm2timestamp` with
/// `DetermineTimeZoneOffset`).
fn fields_to_tstz(f: &Fields, tz: &TimeZone) -> PgResult<i64> {
    let local = f.to_local().ok_or_else(timestamp_out_of_range)?;
    let off = tz.offset_for_local(local);
    check_timestamp(local - off * USECS_PER_SEC)
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// `int64_div_fast_to_numeric(v, scale)`: v / 10^scale with that scale.
fn scaled_numeric(v: i64, scale: u32) -> Numeric {
    let p = 10i64.pow(scale);
    let neg = v < 0;
    let a = v.unsigned_abs();
    let (i, f) = (a / p as u64, a % p as u64);
    let s = if scale == 0 {
        format!("{}{}", if neg { "-" } else { "" }, i)
    } else {
        format!(
            "{}{}.{:0w$}",
            if neg { "-" } else { "" },
            i,
            f,
            w = scale as usize
        )
    };
    Numeric::parse(&s).expect("formatted numeric parses")
}

/// The result of a field: extract's numeric or date_part's float8.
enum Part {
    Int(i64),
    /// v / 10^scale.
    Scaled(i64, u32),
    /// extract's exact numeric, date_part's float.
    Exact(Numeric, f64),
    Infinite(bool),
    Null,
}

impl Part {
    fn numeric(self) -> Datum {
        match self {
            Part::Int(v) => Datum::Numeric(Numeric::from_i64(v)),
            Part::Scaled(v, s) => Datum::Numeric(scaled_numeric(v, s)),
            Part::Exact(n, _) => Datum::Numeric(n),
            Part::Infinite(neg) => Datum::Numeric(if neg {
                Numeric::NegInf
            } else {
                Numeric::PosInf
            }),
            Part::Null => Datum::Null,
        }
    }

    fn float(self) -> Datum {
        match self {
            Part::Int(v) => Datum::Float8(v as f64),
            Part::Scaled(v, s) => Datum::Float8(v as f64 / 10f64.powi(s as i32)),
            Part::Exact(_, f) => Datum::Float8(f),
            Part::Infinite(neg) => Datum::Float8(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            Part::Null => Datum::Null,
        }
    }
}

fn bc_year(y: i64) -> i64 {
    if y > 0 { y } else { y - 1 }
}

fn decade(y: i64) -> i64 {
    if y >= 0 {
        y / 10
    } else {
        -((8 - (y - 1)) / 10)
    }
}

fn century(y: i64) -> i64 {
    if y > 0 {
        (y + 99) / 100
    } else {
        -((99 - (y - 1)) / 100)
    }
}

fn millennium(y: i64) -> i64 {
    if y > 0 {
        (y + 999) / 1000
    } else {
        -((999 - (y - 1)) / 1000)
    }
}

/// `timestamp_part_common` / `timestamptz_part_common`: `with_tz` says
/// whether the timezone fields exist, `epoch_us` is the value's
/// microseconds since 1970-01-01 UTC.
fn timestamp_part(
    unit: Unit,
    word: &str,
    ty: Type,
    f: &Fields,
    epoch_us: i64,
    with_tz: bool,
) -> PgResult<Part> {
    let sec_us = f.sec * USECS_PER_SEC + f.usec;
    Ok(match unit {
        Unit::Microseconds => Part::Int(sec_us),
        Unit::Milliseconds => Part::Scaled(sec_us, 3),
        Unit::Second => Part::Scaled(sec_us, 6),
        Unit::Minute => Part::Int(f.min),
        Unit::Hour => Part::Int(f.hour),
        Unit::Day => Part::Int(f.day),
        Unit::Month => Part::Int(f.month),
        Unit::Quarter => Part::Int((f.month - 1) / 3 + 1),
        Unit::Week => Part::Int(f.iso_week().1),
        Unit::Year => Part::Int(bc_year(f.year)),
        Unit::Decade => Part::Int(decade(f.year)),
        Unit::Century => Part::Int(century(f.year)),
        Unit::Millennium => Part::Int(millennium(f.year)),
        Unit::Julian => {
            let j = f.julian();
            let t = f.time();
            let exact = Numeric::from_i64(j)
                .add(&Numeric::from_i64(t).div(&Numeric::from_i64(USECS_PER_DAY))?)?;
            let float = j as f64
                + ((f.hour * 60 + f.min) * 60 + f.sec) as f64 / 86_400.0
                + (f.usec as f64 / 1_000_000.0) / 86_400.0;
            Part::Exact(exact, float)
        }
        Unit::IsoYear => {
            let y = f.iso_week().0;
            // The ISO year has no year zero either.
            Part::Int(if y <= 0 { y - 1 } else { y })
        }
        Unit::Dow => Part::Int(f.dow()),
        Unit::IsoDow => Part::Int(match f.dow() {
            0 => 7,
            d => d,
        }),
        Unit::Doy => Part::Int(f.doy()),
        Unit::Epoch => Part::Scaled(epoch_us, 6),
        Unit::Timezone if with_tz => Part::Int(f.gmtoff),
        Unit::TimezoneHour if with_tz => Part::Int(f.gmtoff / 3600),
        Unit::TimezoneMinute if with_tz => Part::Int((f.gmtoff / 60) % 60),
        Unit::Timezone | Unit::TimezoneHour | Unit::TimezoneMinute => {
            return Err(not_supported(word, ty));
        }
    })
}

/// `NonFiniteTimestampTzPart`: the fields of an infinite timestamp.
fn infinite_part(unit: Unit, word: &str, ty: Type, negative: bool) -> PgResult<Part> {
    Ok(match unit {
        Unit::Microseconds
        | Unit::Milliseconds
        | Unit::Second
        | Unit::Minute
        | Unit::Hour
        | Unit::Day
        | Unit::Month
        | Unit::Quarter
        | Unit::Week
        | Unit::Dow
        | Unit::IsoDow
        | Unit::Doy
        | Unit::Timezone
        | Unit::TimezoneHour
        | Unit::TimezoneMinute => Part::Null,
        Unit::Year
        | Unit::Decade
        | Unit::Century
        | Unit::Millennium
        | Unit::Julian
        | Unit::IsoYear
        | Unit::Epoch => Part::Infinite(negative),
    })
    .and_then(|p| match (unit, ty) {
        (Unit::Timezone | Unit::TimezoneHour | Unit::TimezoneMinute, Type::Timestamp) => {
            Err(not_supported(word, ty))
        }
        _ => Ok(p),
    })
}

fn text_arg(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn ts_arg(d: &Datum) -> i64 {
    match d {
        Datum::Timestamp(v) | Datum::Timestamptz(v) => *v,
        other => panic!("timestamp argument expected, got {other:?}"),
    }
}

fn date_arg(d: &Datum) -> i32 {
    match d {
        Datum::Date(v) => *v,
        other => panic!("date argument expected, got {other:?}"),
    }
}

fn iv_arg(d: &Datum) -> Interval {
    as_interval(d).expect("interval argument")
}

fn int_arg(d: &Datum) -> i64 {
    as_i128(d).expect("integer argument") as i64
}

/// The part of a timestamp, timestamptz or date argument.
fn part_of(cx: &EvalContext, word: &str, v: &Datum, ty: Type) -> PgResult<Part> {
    let unit = unit_for(word, ty)?;
    match ty {
        Type::Date => {
            let d = date_arg(v);
            if d == i32::MIN || d == i32::MAX {
                return match unit {
                    Unit::Year
                    | Unit::Decade
                    | Unit::Century
                    | Unit::Millennium
                    | Unit::Julian
                    | Unit::IsoYear
                    | Unit::Epoch => Ok(Part::Infinite(d == i32::MIN)),
                    Unit::Day
                    | Unit::Month
                    | Unit::Quarter
                    | Unit::Week
                    | Unit::Dow
                    | Unit::IsoDow
                    | Unit::Doy => Ok(Part::Null),
                    _ => Err(not_supported(word, ty)),
                };
            }
            let f = Fields::from_local(d as i64 * USECS_PER_DAY, 0);
            match unit {
                Unit::Microseconds
                | Unit::Milliseconds
                | Unit::Second
                | Unit::Minute
                | Unit::Hour
                | Unit::Timezone
                | Unit::TimezoneHour
                | Unit::TimezoneMinute => Err(not_supported(word, ty)),
                Unit::Julian => Ok(Part::Int(f.julian())),
                Unit::Epoch => Ok(Part::Int((d as i64 + EPOCH_DAYS) * 86_400)),
                _ => timestamp_part(unit, word, ty, &f, 0, false),
            }
        }
        _ => {
            let ts = ts_arg(v);
            if is_infinite_ts(ts) {
                return infinite_part(unit, word, ty, ts == i64::MIN);
            }
            let with_tz = ty == Type::Timestamptz;
            let f = if with_tz {
                tz_fields(ts, &cx.fmt.tz)?
            } else {
                Fields::from_local(ts, 0)
            };
            let epoch_us = ts + POSTGRES_EPOCH_UNIX_S * USECS_PER_SEC;
            timestamp_part(unit, word, ty, &f, epoch_us, with_tz)
        }
    }
}

/// Interval fields (`interval2itm`): years, months, days, hours, minutes,
/// seconds and microseconds, each with the sign of its source.
fn interval_part(word: &str, iv: &Interval) -> PgResult<Part> {
    let unit = unit_for(word, Type::Interval)?;
    let years = iv.months as i64 / 12;
    let months = iv.months as i64 % 12;
    let mut t = iv.micros;
    let hours = t / USECS_PER_HOUR;
    t -= hours * USECS_PER_HOUR;
    let mins = t / USECS_PER_MINUTE;
    t -= mins * USECS_PER_MINUTE;
    let sec_us = t;
    Ok(match unit {
        Unit::Microseconds => Part::Int(sec_us),
        Unit::Milliseconds => Part::Scaled(sec_us, 3),
        Unit::Second => Part::Scaled(sec_us, 6),
        Unit::Minute => Part::Int(mins),
        Unit::Hour => Part::Int(hours),
        Unit::Day => Part::Int(iv.days as i64),
        Unit::Month => Part::Int(months),
        Unit::Quarter => Part::Int(months / 3 + 1),
        Unit::Year => Part::Int(years),
        Unit::Decade => Part::Int(years / 10),
        Unit::Century => Part::Int(years / 100),
        Unit::Millennium => Part::Int(years / 1000),
        Unit::Epoch => {
            // DAYS_PER_YEAR is 365.25: compute in quarter days.
            let secs = ((1461 * years) + (4 * DAYS_PER_MONTH) * months + 4 * iv.days as i64)
                as i128
                * (86_400 / 4);
            let v = secs * USECS_PER_SEC as i128 + iv.micros as i128;
            let float = iv.micros as f64 / 1_000_000.0
                + 365.25 * 86_400.0 * years as f64
                + 30.0 * 86_400.0 * months as f64
                + 86_400.0 * iv.days as f64;
            let exact = Numeric::from_i128(v).div_round(&Numeric::from_i64(USECS_PER_SEC), 6)?;
            Part::Exact(exact, float)
        }
        _ => return Err(not_supported(word, Type::Interval)),
    })
}

fn extract(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let word = text_arg(&a[0]);
    Ok(match t[1] {
        Type::Interval => interval_part(word, &iv_arg(&a[1]))?.numeric(),
        ty => part_of(cx, word, &a[1], ty)?.numeric(),
    })
}

fn date_part(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let word = text_arg(&a[0]);
    Ok(match t[1] {
        Type::Interval => interval_part(word, &iv_arg(&a[1]))?.float(),
        Type::Date => {
            // PostgreSQL's date_part(text, date) is the timestamp one.
            let d = date_arg(&a[1]);
            let ts = match d {
                i32::MIN => i64::MIN,
                i32::MAX => i64::MAX,
                d => d as i64 * USECS_PER_DAY,
            };
            part_of(cx, word, &Datum::Timestamp(ts), Type::Timestamp)?.float()
        }
        ty => part_of(cx, word, &a[1], ty)?.float(),
    })
}

// ---------------------------------------------------------------------------
// date_trunc
// ---------------------------------------------------------------------------

/// Truncates the fields to `unit`; false if the unit cannot truncate.
fn trunc_fields(f: &mut Fields, unit: Unit) -> bool {
    match unit {
        Unit::Week => {
            let (_, _) = f.iso_week();
            let isodow = match f.dow() {
                0 => 7,
                d => d,
            };
            let monday = f.days() - (isodow - 1);
            let (y, m, d) = civil_from_days(monday + EPOCH_DAYS);
            f.year = y;
            f.month = m as i64;
            f.day = d as i64;
            f.hour = 0;
            f.min = 0;
            f.sec = 0;
            f.usec = 0;
            return true;
        }
        Unit::Millennium => {
            f.year = if f.year > 0 {
                ((f.year + 999) / 1000) * 1000 - 999
            } else {
                -((999 - (f.year - 1)) / 1000) * 1000 + 1
            };
        }
        Unit::Century => {
            f.year = if f.year > 0 {
                ((f.year + 99) / 100) * 100 - 99
            } else {
                -((99 - (f.year - 1)) / 100) * 100 + 1
            };
        }
        Unit::Decade => {
            f.year = if f.year > 0 {
                (f.year / 10) * 10
            } else {
                -((8 - (f.year - 1)) / 10) * 10
            };
        }
        Unit::Year
        | Unit::Quarter
        | Unit::Month
        | Unit::Day
        | Unit::Hour
        | Unit::Minute
        | Unit::Second => {}
        Unit::Milliseconds => {
            f.usec = (f.usec / 1000) * 1000;
            return true;
        }
        Unit::Microseconds => return true,
        _ => return false,
    }
    // Fall through, as timestamp_trunc's switch does.
    let rank = match unit {
        Unit::Millennium | Unit::Century | Unit::Decade | Unit::Year => 0,
        Unit::Quarter => 1,
        Unit::Month => 2,
        Unit::Day => 3,
        Unit::Hour => 4,
        Unit::Minute => 5,
        _ => 6,
    };
    if rank <= 0 {
        f.month = 1;
    }
    if rank == 1 {
        f.month = 3 * ((f.month - 1) / 3) + 1;
    }
    if rank <= 2 {
        f.day = 1;
    }
    if rank <= 3 {
        f.hour = 0;
    }
    if rank <= 4 {
        f.min = 0;
    }
    if rank <= 5 {
        f.sec = 0;
    }
    f.usec = 0;
    true
}

/// `date_trunc` looks its unit up with `DecodeUnits` alone: the special
/// words (`epoch`, `julian`, `dow`, ...) are not units there.
fn trunc_unit(word: &str, ty: Type) -> PgResult<Unit> {
    match unit_for(word, ty)? {
        Unit::Epoch | Unit::Julian | Unit::Dow | Unit::IsoDow | Unit::Doy | Unit::IsoYear => {
            Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!(
                    "unit \"{}\" not recognized for type {}",
                    word.to_lowercase(),
                    ty.name()
                ),
            ))
        }
        u => Ok(u),
    }
}

fn date_trunc_ts(word: &str, ts: i64) -> R {
    let unit = trunc_unit(word, Type::Timestamp)?;
    if is_infinite_ts(ts) {
        return Ok(Datum::Timestamp(ts));
    }
    let mut f = Fields::from_local(ts, 0);
    if !trunc_fields(&mut f, unit) {
        return Err(not_supported(word, Type::Timestamp));
    }
    Ok(Datum::Timestamp(check_timestamp(
        f.to_local().ok_or_else(timestamp_out_of_range)?,
    )?))
}

fn date_trunc_tstz(word: &str, ts: i64, tz: &TimeZone) -> R {
    let unit = trunc_unit(word, Type::Timestamptz)?;
    if is_infinite_ts(ts) {
        return Ok(Datum::Timestamptz(ts));
    }
    let mut f = tz_fields(ts, tz)?;
    if !trunc_fields(&mut f, unit) {
        return Err(not_supported(word, Type::Timestamptz));
    }
    // Units of a day or more find the zone offset of the truncated
    // wall clock again; smaller ones keep the original offset.
    let redo = matches!(
        unit,
        Unit::Week
            | Unit::Millennium
            | Unit::Century
            | Unit::Decade
            | Unit::Year
            | Unit::Quarter
            | Unit::Month
            | Unit::Day
    );
    let local = f.to_local().ok_or_else(timestamp_out_of_range)?;
    let result = if redo {
        fields_to_tstz(&f, tz)?
    } else {
        check_timestamp(local - f.gmtoff * USECS_PER_SEC)?
    };
    Ok(Datum::Timestamptz(result))
}

fn date_trunc_interval(word: &str, iv: &Interval) -> R {
    let unit = trunc_unit(word, Type::Interval)?;
    let mut years = iv.months as i64 / 12;
    let mut months = iv.months as i64 % 12;
    let mut days = iv.days as i64;
    let mut t = iv.micros;
    let mut hours = t / USECS_PER_HOUR;
    t -= hours * USECS_PER_HOUR;
    let mut mins = t / USECS_PER_MINUTE;
    t -= mins * USECS_PER_MINUTE;
    let mut secs = t / USECS_PER_SEC;
    let mut usec = t % USECS_PER_SEC;
    let rank = match unit {
        Unit::Millennium => {
            years = (years / 1000) * 1000;
            0
        }
        Unit::Century => {
            years = (years / 100) * 100;
            0
        }
        Unit::Decade => {
            years = (years / 10) * 10;
            0
        }
        Unit::Year => 0,
        Unit::Quarter => {
            months = 3 * (months / 3);
            1
        }
        Unit::Month => 2,
        Unit::Day => 3,
        Unit::Hour => 4,
        Unit::Minute => 5,
        Unit::Second => 6,
        Unit::Milliseconds => {
            usec = (usec / 1000) * 1000;
            7
        }
        Unit::Microseconds => 8,
        Unit::Week => {
            return Err(not_supported(word, Type::Interval)
                .with_detail("Months usually have fractional weeks."));
        }
        _ => return Err(not_supported(word, Type::Interval)),
    };
    if rank == 0 {
        months = 0;
    }
    if rank <= 2 {
        days = 0;
    }
    if rank <= 3 {
        hours = 0;
    }
    if rank <= 4 {
        mins = 0;
    }
    if rank <= 5 {
        secs = 0;
    }
    if rank <= 6 {
        usec = 0;
    }
    // tm2itm: the months field before the day field is folded back.
    let _ = rank;
    let months_total = years * 12 + months;
    Ok(interval_datum(Interval {
        months: i32::try_from(months_total).map_err(|_| interval_out_of_range())?,
        days: days as i32,
        micros: ((hours * 60 + mins) * 60 + secs) * USECS_PER_SEC + usec,
    }))
}

fn date_trunc(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let word = text_arg(&a[0]);
    match t[1] {
        Type::Timestamp => date_trunc_ts(word, ts_arg(&a[1])),
        Type::Interval => date_trunc_interval(word, &iv_arg(&a[1])),
        _ => {
            if a.len() == 3 {
                let tz = zone_by_name(text_arg(&a[2]))?;
                date_trunc_tstz(word, ts_arg(&a[1]), &tz)
            } else {
                let tz = cx.fmt.tz.clone();
                date_trunc_tstz(word, ts_arg(&a[1]), &tz)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// make_*
// ---------------------------------------------------------------------------

fn field_overflow(msg: String) -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, msg)
}

/// C's `%02g` for the seconds of an error message.
fn secs_g(sec: f64) -> String {
    let s = format!("{sec}");
    if s.len() < 2 { format!("0{s}") } else { s }
}

fn valid_ymd(y: i64, m: i64, d: i64) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= datetime::days_in_month(y, m as u32) as i64
}

fn make_date(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (y, m, d) = (int_arg(&a[0]), int_arg(&a[1]), int_arg(&a[2]));
    let msg = || format!("date field value out of range: {y}-{m:02}-{d:02}");
    if y == 0 {
        return Err(field_overflow(msg()));
    }
    // A negative year is BC: -1 is 1 BC, astronomical year 0.
    let astro = if y < 0 { y + 1 } else { y };
    if !valid_ymd(astro, m, d) {
        return Err(field_overflow(msg()));
    }
    let days = days_from_civil(astro, m as u32, d as u32) - EPOCH_DAYS;
    let j = days + POSTGRES_EPOCH_JDATE;
    if !(DATETIME_MIN_JULIAN..DATE_END_JULIAN).contains(&j) {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date out of range: {y}-{m:02}-{d:02}"),
        ));
    }
    Ok(Datum::Date(days as i32))
}

/// Hours, minutes and float seconds as microseconds since midnight,
/// 24:00:00 at most (`float_time_overflows` and `tm2time`).
fn time_of_day(h: i64, m: i64, sec: f64) -> PgResult<i64> {
    let overflow = || {
        field_overflow(format!(
            "time field value out of range: {h}:{m:02}:{}",
            secs_g(sec)
        ))
    };
    if !(0..=24).contains(&h)
        || !(0..=59).contains(&m)
        || sec.is_nan()
        || !(0.0..=60.0).contains(&sec)
    {
        return Err(overflow());
    }
    let t = (h * 60 + m) * USECS_PER_MINUTE + (sec * 1_000_000.0).round_ties_even() as i64;
    if t > USECS_PER_DAY {
        return Err(overflow());
    }
    Ok(t)
}

/// `make_timestamp_internal`: wall-clock microseconds.
fn make_local(a: &[Datum]) -> PgResult<i64> {
    let (y, m, d, h, mi) = (
        int_arg(&a[0]),
        int_arg(&a[1]),
        int_arg(&a[2]),
        int_arg(&a[3]),
        int_arg(&a[4]),
    );
    let sec = as_f64(&a[5]).expect("float8 seconds");
    // A negative year is BC, as in make_date.
    let astro = if y < 0 { y + 1 } else { y };
    if y == 0 || !valid_ymd(astro, m, d) {
        return Err(field_overflow(format!(
            "date field value out of range: {y}-{m:02}-{d:02}"
        )));
    }
    let days = days_from_civil(astro, m as u32, d as u32) - EPOCH_DAYS;
    if !(DATETIME_MIN_JULIAN..DATE_END_JULIAN).contains(&(days + POSTGRES_EPOCH_JDATE)) {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date out of range: {y}-{m:02}-{d:02}"),
        ));
    }
    let time = time_of_day(h, mi, sec)?;
    let ts = days
        .checked_mul(USECS_PER_DAY)
        .and_then(|v| v.checked_add(time))
        .filter(|v| {
            let j = v.div_euclid(USECS_PER_DAY) + POSTGRES_EPOCH_JDATE;
            (DATETIME_MIN_JULIAN..TIMESTAMP_END_JULIAN).contains(&j)
        });
    ts.ok_or_else(|| {
        PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!(
                "timestamp out of range: {y}-{m:02}-{d:02} {h}:{mi:02}:{}",
                secs_g(sec)
            ),
        )
    })
}

fn make_timestamp(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamp(make_local(a)?))
}

fn make_timestamptz(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let local = make_local(a)?;
    let tz = if a.len() == 7 {
        sane_zone(text_arg(&a[6]))?
    } else {
        cx.fmt.tz.clone()
    };
    let off = tz.offset_for_local(local);
    Ok(Datum::Timestamptz(check_timestamp(
        local - off * USECS_PER_SEC,
    )?))
}

fn make_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (years, months, weeks, days, hours, mins) = (
        int_arg(&a[0]),
        int_arg(&a[1]),
        int_arg(&a[2]),
        int_arg(&a[3]),
        int_arg(&a[4]),
        int_arg(&a[5]),
    );
    let secs = as_f64(&a[6]).expect("float8 seconds");
    if secs.is_infinite() || secs.is_nan() {
        return Err(interval_out_of_range());
    }
    let m = years
        .checked_mul(12)
        .and_then(|v| v.checked_add(months))
        .and_then(|v| i32::try_from(v).ok());
    let d = weeks
        .checked_mul(7)
        .and_then(|v| v.checked_add(days))
        .and_then(|v| i32::try_from(v).ok());
    let micros = (secs * 1_000_000.0).round_ties_even();
    let t = (hours as i128 * USECS_PER_HOUR as i128)
        + (mins as i128 * USECS_PER_MINUTE as i128)
        + micros as i128;
    match (m, d, i64::try_from(t)) {
        (Some(months), Some(days), Ok(micros)) if micros.abs() < i64::MAX => {
            Ok(interval_datum(Interval {
                months,
                days,
                micros,
            }))
        }
        _ => Err(interval_out_of_range()),
    }
}

// ---------------------------------------------------------------------------
// age, justify_*, isfinite
// ---------------------------------------------------------------------------

/// `timestamp_age` / `timestamptz_age`: the symbolic difference of the
/// fields, borrowing from the next larger field.
fn age_fields(dt1: i64, f1: &Fields, dt2: i64, f2: &Fields) -> PgResult<Interval> {
    let mut usec = f1.usec - f2.usec;
    let mut sec = f1.sec - f2.sec;
    let mut min = f1.min - f2.min;
    let mut hour = f1.hour - f2.hour;
    let mut mday = f1.day - f2.day;
    let mut mon = f1.month - f2.month;
    let mut year = f1.year - f2.year;
    let flip = dt1 < dt2;
    if flip {
        usec = -usec;
        sec = -sec;
        min = -min;
        hour = -hour;
        mday = -mday;
        mon = -mon;
        year = -year;
    }
    while usec < 0 {
        usec += USECS_PER_SEC;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        mday -= 1;
    }
    while mday < 0 {
        let f = if flip { f1 } else { f2 };
        mday += datetime::days_in_month(f.year, f.month as u32) as i64;
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    if flip {
        usec = -usec;
        sec = -sec;
        min = -min;
        hour = -hour;
        mday = -mday;
        mon = -mon;
        year = -year;
    }
    let months = year.checked_mul(12).and_then(|v| v.checked_add(mon));
    let months = months
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(interval_out_of_range)?;
    Ok(Interval {
        months,
        days: mday as i32,
        micros: ((hour * 60 + min) * 60 + sec) * USECS_PER_SEC + usec,
    })
}

fn age(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let with_tz = t[0] == Type::Timestamptz;
    let fields = |ts: i64| -> PgResult<Fields> {
        if is_infinite_ts(ts) {
            return Err(timestamp_out_of_range());
        }
        if with_tz {
            tz_fields(ts, &cx.fmt.tz)
        } else {
            Ok(Fields::from_local(ts, 0))
        }
    };
    let (dt1, dt2) = if a.len() == 1 {
        // age(x) is age(current_date, x): midnight of today.
        let now = cx.fmt.now;
        let off = cx.fmt.tz.offset_at(now);
        let today = (now + off * USECS_PER_SEC).div_euclid(USECS_PER_DAY) * USECS_PER_DAY;
        let start = if with_tz {
            today - cx.fmt.tz.offset_for_local(today) * USECS_PER_SEC
        } else {
            today
        };
        (start, ts_arg(&a[0]))
    } else {
        (ts_arg(&a[0]), ts_arg(&a[1]))
    };
    let (f1, f2) = (fields(dt1)?, fields(dt2)?);
    Ok(interval_datum(age_fields(dt1, &f1, dt2, &f2)?))
}

fn justify_days_of(mut iv: Interval) -> PgResult<Interval> {
    let wholemonth = iv.days / DAYS_PER_MONTH as i32;
    iv.days -= wholemonth * DAYS_PER_MONTH as i32;
    iv.months = iv
        .months
        .checked_add(wholemonth)
        .ok_or_else(interval_out_of_range)?;
    if iv.months > 0 && iv.days < 0 {
        iv.days += DAYS_PER_MONTH as i32;
        iv.months -= 1;
    } else if iv.months < 0 && iv.days > 0 {
        iv.days -= DAYS_PER_MONTH as i32;
        iv.months += 1;
    }
    Ok(iv)
}

fn justify_days(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(justify_days_of(iv_arg(&a[0]))?))
}

fn justify_hours_of(mut iv: Interval) -> PgResult<Interval> {
    let wholeday = iv.micros / USECS_PER_DAY;
    iv.micros -= wholeday * USECS_PER_DAY;
    iv.days = i32::try_from(iv.days as i64 + wholeday).map_err(|_| interval_out_of_range())?;
    if iv.days > 0 && iv.micros < 0 {
        iv.micros += USECS_PER_DAY;
        iv.days -= 1;
    } else if iv.days < 0 && iv.micros > 0 {
        iv.micros -= USECS_PER_DAY;
        iv.days += 1;
    }
    Ok(iv)
}

fn justify_hours(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(justify_hours_of(iv_arg(&a[0]))?))
}

fn justify_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut iv = iv_arg(&a[0]);
    let wholeday = iv.micros / USECS_PER_DAY;
    iv.micros -= wholeday * USECS_PER_DAY;
    iv.days = i32::try_from(iv.days as i64 + wholeday).map_err(|_| interval_out_of_range())?;
    let wholemonth = iv.days / DAYS_PER_MONTH as i32;
    iv.days -= wholemonth * DAYS_PER_MONTH as i32;
    iv.months = iv
        .months
        .checked_add(wholemonth)
        .ok_or_else(interval_out_of_range)?;
    if iv.months > 0 && (iv.days < 0 || (iv.days == 0 && iv.micros < 0)) {
        iv.days += DAYS_PER_MONTH as i32;
        iv.months -= 1;
    } else if iv.months < 0 && (iv.days > 0 || (iv.days == 0 && iv.micros > 0)) {
        iv.days -= DAYS_PER_MONTH as i32;
        iv.months += 1;
    }
    if iv.days > 0 && iv.micros < 0 {
        iv.micros += USECS_PER_DAY;
        iv.days -= 1;
    } else if iv.days < 0 && iv.micros > 0 {
        iv.micros -= USECS_PER_DAY;
        iv.days += 1;
    }
    Ok(interval_datum(iv))
}

fn isfinite(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(match &a[0] {
        Datum::Date(d) => *d != i32::MIN && *d != i32::MAX,
        Datum::Timestamp(t) | Datum::Timestamptz(t) => !is_infinite_ts(*t),
        _ => true,
    }))
}

// ---------------------------------------------------------------------------
// timezone(zone, value): AT TIME ZONE
// ---------------------------------------------------------------------------

/// The zone of `timezone(text, ...)` and `date_trunc(..., zone)`: an
/// abbreviation, else a zone name or POSIX spec (where a bare number is
/// hours *west*, as POSIX says), else 22023.
fn zone_by_name(name: &str) -> PgResult<TimeZone> {
    let lower = name.to_lowercase();
    if let Some((_, off)) = datetime::ABBREVIATIONS.iter().find(|(a, _)| *a == lower) {
        return Ok(TimeZone::Fixed(*off));
    }
    let t = name.trim();
    let numeric = !t.is_empty()
        && t.trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
        && t.chars().any(|c| c.is_ascii_digit());
    if numeric {
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t.trim_start_matches('+')),
        };
        let mut parts = body.split(':');
        let h: i64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(-1);
        let m: i64 = parts.next().map(|p| p.parse().unwrap_or(-1)).unwrap_or(0);
        if (0..=24).contains(&h) && (0..60).contains(&m) && parts.next().is_none() {
            let west = h * 3600 + m * 60;
            return Ok(TimeZone::Fixed(if neg { west } else { -west }));
        }
    }
    TimeZone::parse(name).filter(|_| !numeric).ok_or_else(|| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("time zone \"{name}\" not recognized"),
        )
    })
}

/// `parse_sane_timezone` (make_timestamptz): a zone starting with a digit
/// or sign is an ISO offset, hours *east* (`+2`, `-03:30`); anything else
/// is looked up as `timezone()` does.
fn sane_zone(name: &str) -> PgResult<TimeZone> {
    let t = name.trim();
    if !t.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
        return zone_by_name(name);
    }
    let bad = || {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid input syntax for type numeric time zone: \"{name}\""),
        )
    };
    let (neg, body) = match t.as_bytes()[0] {
        b'+' => (false, &t[1..]),
        b'-' => (true, &t[1..]),
        _ => {
            return Err(
                bad().with_hint("Numeric time zones must have \"-\" or \"+\" as first character.")
            );
        }
    };
    // DecodeTimezone: hh, hhmm, hh:mm, hh:mm:ss.
    let parts: Vec<&str> = body.split(':').collect();
    let num = |p: &str| -> PgResult<i64> {
        if p.is_empty() || p.len() > 9 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse().map_err(|_| bad())
    };
    let (h, m, sec) = match parts.as_slice() {
        [hh] if hh.len() > 2 => {
            let v = num(hh)?;
            (v / 100, v % 100, 0)
        }
        [hh] => (num(hh)?, 0, 0),
        [hh, mm] => (num(hh)?, num(mm)?, 0),
        [hh, mm, ss] => (num(hh)?, num(mm)?, num(ss)?),
        _ => return Err(bad()),
    };
    if h > 15 || m >= 60 || sec >= 60 {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("numeric time zone \"{name}\" out of range"),
        ));
    }
    let east = h * 3600 + m * 60 + sec;
    Ok(TimeZone::Fixed(if neg { -east } else { east }))
}

/// An interval zone: its time part, no months or days (`timestamptz_izone`).
fn interval_zone(iv: &Interval) -> PgResult<i64> {
    if iv.months != 0 || iv.days != 0 {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "interval time zone \"{}\" must not include months or days",
                datetime::interval_out(iv)
            ),
        ));
    }
    Ok(iv.micros / USECS_PER_SEC)
}

fn timezone(_: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let tz = match t[0] {
        Type::Interval => TimeZone::Fixed(interval_zone(&iv_arg(&a[0]))?),
        _ => zone_by_name(text_arg(&a[0]))?,
    };
    let v = ts_arg(&a[1]);
    if is_infinite_ts(v) {
        return Ok(match t[1] {
            Type::Timestamptz => Datum::Timestamp(v),
            _ => Datum::Timestamptz(v),
        });
    }
    match t[1] {
        // timestamptz AT TIME ZONE z: the wall clock in z.
        Type::Timestamptz => {
            let off = tz.offset_at(v);
            Ok(Datum::Timestamp(check_timestamp(v + off * USECS_PER_SEC)?))
        }
        // timestamp AT TIME ZONE z: that wall clock read in z.
        _ => {
            let off = tz.offset_for_local(v);
            Ok(Datum::Timestamptz(check_timestamp(
                v - off * USECS_PER_SEC,
            )?))
        }
    }
}

// ---------------------------------------------------------------------------
// to_char
// ---------------------------------------------------------------------------

/// The fields `to_char` prints for a calendar value.
fn formatting_tm(f: &Fields, tzn: Option<String>) -> formatting::Tm {
    let (iso_year, iso_week) = f.iso_week();
    let isodow = match f.dow() {
        0 => 7,
        d => d,
    };
    formatting::Tm {
        year: f.year,
        month: f.month,
        mday: f.day,
        hour: f.hour,
        min: f.min,
        sec: f.sec,
        usec: f.usec,
        wday: f.dow(),
        yday: f.doy(),
        julian: f.julian(),
        iso_year,
        iso_week,
        iso_yday: (iso_week - 1) * 7 + isodow,
        gmtoff: f.gmtoff,
        tzn,
    }
}

fn to_char(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let fmt = text_arg(&a[1]);
    if fmt.is_empty() {
        return Ok(Datum::Null);
    }
    let out = match t[0] {
        Type::Interval => {
            let iv = iv_arg(&a[0]);
            let mut rest = iv.micros;
            let hour = rest / USECS_PER_HOUR;
            rest -= hour * USECS_PER_HOUR;
            let min = rest / USECS_PER_MINUTE;
            rest -= min * USECS_PER_MINUTE;
            let tm = formatting::Tm {
                year: iv.months as i64 / 12,
                month: iv.months as i64 % 12,
                mday: iv.days as i64,
                hour,
                min,
                sec: rest / USECS_PER_SEC,
                usec: rest % USECS_PER_SEC,
                ..Default::default()
            };
            formatting::to_char(&tm, fmt, true)?
        }
        ty => {
            let ts = ts_arg(&a[0]);
            // Infinite timestamps have no fields: to_char gives NULL.
            if is_infinite_ts(ts) {
                return Ok(Datum::Null);
            }
            let tm = if ty == Type::Timestamptz {
                let f = tz_fields(ts, &cx.fmt.tz)?;
                formatting_tm(&f, Some(cx.fmt.tz.abbrev_at(ts)))
            } else {
                formatting_tm(&Fields::from_local(ts, 0), None)
            };
            formatting::to_char(&tm, fmt, false)?
        }
    };
    Ok(Datum::Text(out))
}

// ---------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------

fn time_arg(d: &Datum) -> i64 {
    match d {
        Datum::Time(t) => *t,
        other => panic!("time argument expected, got {other:?}"),
    }
}

/// `time_part_common`: the fields of a time of day.
fn time_part(word: &str, t: i64) -> PgResult<Part> {
    let unit = unit_for(word, Type::Time)?;
    let sec_us = t % USECS_PER_MINUTE;
    Ok(match unit {
        Unit::Microseconds => Part::Int(sec_us),
        Unit::Milliseconds => Part::Scaled(sec_us, 3),
        Unit::Second => Part::Scaled(sec_us, 6),
        Unit::Minute => Part::Int(t / USECS_PER_MINUTE % 60),
        Unit::Hour => Part::Int(t / USECS_PER_HOUR),
        Unit::Epoch => Part::Scaled(t, 6),
        _ => return Err(not_supported(word, Type::Time)),
    })
}

fn extract_time(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(time_part(text_arg(&a[0]), time_arg(&a[1]))?.numeric())
}

fn date_part_time(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(time_part(text_arg(&a[0]), time_arg(&a[1]))?.float())
}

fn time_mi_time(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(Interval {
        months: 0,
        days: 0,
        micros: time_arg(&a[0]) - time_arg(&a[1]),
    }))
}

/// time ± interval wraps around midnight (`time_pl_interval`).
fn time_pl_interval(_: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let (time, iv) = if t[0] == Type::Time {
        (time_arg(&a[0]), iv_arg(&a[1]))
    } else {
        (time_arg(&a[1]), iv_arg(&a[0]))
    };
    Ok(Datum::Time(
        (time + iv.micros % USECS_PER_DAY).rem_euclid(USECS_PER_DAY),
    ))
}

fn time_mi_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let iv = iv_arg(&a[1]);
    Ok(Datum::Time(
        (time_arg(&a[0]) - iv.micros % USECS_PER_DAY).rem_euclid(USECS_PER_DAY),
    ))
}

/// date + time → timestamp (`datetime_timestamp`).
fn date_pl_time(_: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let (d, time) = if t[0] == Type::Date {
        (date_arg(&a[0]), time_arg(&a[1]))
    } else {
        (date_arg(&a[1]), time_arg(&a[0]))
    };
    let ts = match d {
        i32::MIN => i64::MIN,
        i32::MAX => i64::MAX,
        d => check_timestamp(d as i64 * USECS_PER_DAY + time)?,
    };
    Ok(Datum::Timestamp(ts))
}

fn make_time(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (h, m) = (int_arg(&a[0]), int_arg(&a[1]));
    let sec = as_f64(&a[2]).expect("float8 seconds");
    Ok(Datum::Time(time_of_day(h, m, sec)?))
}

fn localtime(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let now = cx.server.transaction_timestamp();
    let off = cx.fmt.tz.offset_at(now);
    Ok(Datum::Time(
        (now + off * USECS_PER_SEC).rem_euclid(USECS_PER_DAY),
    ))
}

// ---------------------------------------------------------------------------
// to_timestamp(text, text), to_date(text, text)
// ---------------------------------------------------------------------------

/// `do_to_timestamp`: the fields read by `formatting::from_char`, as a
/// wall clock (microseconds since 2000-01-01) and the zone offset given.
fn from_char_local(input: &str, fmt: &str) -> PgResult<(i64, Option<i64>)> {
    let fc = formatting::from_char(input, fmt)?;
    let range = || field_overflow(format!("date/time field value out of range: \"{input}\""));
    // The year: 2- and 3-digit years toward 2020, CC without a year, BC.
    let mut year = match (fc.year, fc.cc) {
        (Some(y), _) => {
            // adjust_partial_year_to_2020, for the Y, YY and YYY fields.
            let y = match fc.year_digits {
                1..=3 if (0..70).contains(&y) => 2000 + y,
                1..=3 if (70..100).contains(&y) => 1900 + y,
                1..=3 if (100..520).contains(&y) => 2000 + y,
                1..=3 if (520..1000).contains(&y) => 1000 + y,
                _ => y,
            };
            Some(y)
        }
        (None, Some(cc)) => Some(if cc >= 0 {
            (cc - 1) * 100 + 1
        } else {
            cc * 100 + 1
        }),
        (None, None) => None,
    };
    if fc.bc {
        if let Some(y) = year {
            year = Some(if y > 0 { -(y - 1) } else { y });
        }
    }
    let days = if let Some(j) = fc.julian {
        j - POSTGRES_EPOCH_JDATE
    } else {
        let y = year.unwrap_or(0);
        let (m, d) = match (fc.month, fc.mday, fc.ddd, fc.w, fc.ww) {
            (_, _, Some(ddd), _, _) if fc.month.is_none() && fc.mday.is_none() => {
                if !(1..=366).contains(&ddd) {
                    return Err(range());
                }
                let jan1 = days_from_civil(y, 1, 1);
                let (_, m, d) = civil_from_days(jan1 + ddd - 1);
                (m as i64, d as i64)
            }
            (m, None, _, Some(w), _) => (m.unwrap_or(1), (w - 1) * 7 + 1),
            (None, None, _, _, Some(ww)) => {
                let jan1 = days_from_civil(y, 1, 1);
                let (_, m, d) = civil_from_days(jan1 + (ww - 1) * 7);
                (m as i64, d as i64)
            }
            (m, d, _, _, _) => (m.unwrap_or(1), d.unwrap_or(1)),
        };
        if !valid_ymd(y, m, d) {
            return Err(range());
        }
        days_from_civil(y, m as u32, d as u32) - EPOCH_DAYS
    };
    if !(0..24).contains(&fc.hour) || !(0..60).contains(&fc.min) || !(0..=60).contains(&fc.sec) {
        return Err(range());
    }
    let time = ((fc.hour * 60 + fc.min) * 60 + fc.sec) * USECS_PER_SEC + fc.usec;
    let local = days
        .checked_mul(USECS_PER_DAY)
        .and_then(|v| v.checked_add(time))
        .ok_or_else(timestamp_out_of_range)?;
    Ok((local, fc.tz_offset))
}

fn to_timestamp_fmt(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (local, off) = from_char_local(text_arg(&a[0]), text_arg(&a[1]))?;
    let off = off.unwrap_or_else(|| cx.fmt.tz.offset_for_local(local));
    Ok(Datum::Timestamptz(check_timestamp(
        local - off * USECS_PER_SEC,
    )?))
}

fn to_date_fmt(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let input = text_arg(&a[0]);
    let (local, _) = from_char_local(input, text_arg(&a[1]))?;
    let days = local.div_euclid(USECS_PER_DAY);
    if !(DATETIME_MIN_JULIAN..DATE_END_JULIAN).contains(&(days + POSTGRES_EPOCH_JDATE)) {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date out of range: \"{input}\""),
        ));
    }
    Ok(Datum::Date(days as i32))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    for ty in [Date, Timestamp, Timestamptz, Interval] {
        b.func("extract", &[Text, ty], Numeric, extract);
        b.func("date_part", &[Text, ty], Float8, date_part);
    }
    for ty in [Timestamp, Timestamptz, Interval] {
        b.func("date_trunc", &[Text, ty], ty, date_trunc);
    }
    b.func(
        "date_trunc",
        &[Text, Timestamptz, Text],
        Timestamptz,
        date_trunc,
    );
    b.func("make_date", &[Int4, Int4, Int4], Date, make_date);
    b.func(
        "make_timestamp",
        &[Int4, Int4, Int4, Int4, Int4, Float8],
        Timestamp,
        make_timestamp,
    );
    b.func(
        "make_timestamptz",
        &[Int4, Int4, Int4, Int4, Int4, Float8],
        Timestamptz,
        make_timestamptz,
    );
    b.func(
        "make_timestamptz",
        &[Int4, Int4, Int4, Int4, Int4, Float8, Text],
        Timestamptz,
        make_timestamptz,
    );
    b.func(
        "make_interval",
        &[Int4, Int4, Int4, Int4, Int4, Int4, Float8],
        Interval,
        make_interval,
    );
    for ty in [Timestamp, Timestamptz] {
        b.func("age", &[ty, ty], Interval, age);
        b.func("age", &[ty], Interval, age);
    }
    for ty in [Timestamp, Timestamptz, Interval] {
        b.func("to_char", &[ty, Text], Text, to_char);
    }
    b.comparison_ops(Time);
    b.agg("min", &[super::ArgType::T(Time)], Time, super::AggKind::Min);
    b.agg("max", &[super::ArgType::T(Time)], Time, super::AggKind::Max);
    b.func("extract", &[Text, Time], Numeric, extract_time);
    b.func("date_part", &[Text, Time], Float8, date_part_time);
    b.op("-", Time, Time, Interval, super::Impl::Scalar(time_mi_time));
    b.op(
        "+",
        Time,
        Interval,
        Time,
        super::Impl::Scalar(time_pl_interval),
    );
    b.op(
        "+",
        Interval,
        Time,
        Time,
        super::Impl::Scalar(time_pl_interval),
    );
    b.op(
        "-",
        Time,
        Interval,
        Time,
        super::Impl::Scalar(time_mi_interval),
    );
    b.op(
        "+",
        Date,
        Time,
        Timestamp,
        super::Impl::Scalar(date_pl_time),
    );
    b.op(
        "+",
        Time,
        Date,
        Timestamp,
        super::Impl::Scalar(date_pl_time),
    );
    b.func("make_time", &[Int4, Int4, Float8], Time, make_time);
    b.func("localtime", &[], Time, localtime);
    b.func("to_timestamp", &[Text, Text], Timestamptz, to_timestamp_fmt);
    b.func("to_date", &[Text, Text], Date, to_date_fmt);
    b.func("justify_days", &[Interval], Interval, justify_days);
    b.func("justify_hours", &[Interval], Interval, justify_hours);
    b.func("justify_interval", &[Interval], Interval, justify_interval);
    for ty in [Date, Timestamp, Timestamptz, Interval] {
        b.func("isfinite", &[ty], Bool, isfinite);
    }
    for zone in [Text, Interval] {
        b.func("timezone", &[zone, Timestamptz], Timestamp, timezone);
        b.func("timezone", &[zone, Timestamp], Timestamptz, timezone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_truncate_to_ten_characters() {
        assert_eq!(decode_unit("MicroSeconds"), Some(Unit::Microseconds));
        assert_eq!(decode_unit("millenniums"), Some(Unit::Millennium));
        assert_eq!(decode_unit("cents"), None);
        assert_eq!(decode_unit("tz"), None);
    }

    #[test]
    fn iso_weeks() {
        // 2005-01-01 is in ISO week 53 of 2004; 2008-12-29 in week 1 of 2009.
        let f = Fields::from_local(
            (days_from_civil(2005, 1, 1) - EPOCH_DAYS) * USECS_PER_DAY,
            0,
        );
        assert_eq!(f.iso_week(), (2004, 53));
        let f = Fields::from_local(
            (days_from_civil(2008, 12, 29) - EPOCH_DAYS) * USECS_PER_DAY,
            0,
        );
        assert_eq!(f.iso_week(), (2009, 1));
    }

    #[test]
    fn bc_fields() {
        assert_eq!(
            (bc_year(0), century(0), millennium(0), decade(0)),
            (-1, -1, -1, 0)
        );
        assert_eq!(
            (century(2000), century(2001), millennium(2001)),
            (20, 21, 3)
        );
    }
}
