//! Built-ins over `date`, `timestamp`, `char(n)` and `pg_lsn`, and the
//! transaction/WAL functions the backend answers (`txid_current`,
//! `pg_current_wal_lsn`), following `date.c`, `timestamp.c`, `varchar.c`
//! (`bpchareq` and friends ignore trailing blanks) and `pg_lsn.c`.

use std::cmp::Ordering;

use super::super::adt::date::{self, date_mi, date_pl_days};
use super::super::adt::datetime::{self, TimeZone};
use super::super::adt::numeric::Numeric;
use super::super::adt::{as_i128, as_interval, interval_datum};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::{Builder, CmpOp, Impl};
use crate::utils::elog::PgResult;

type R = PgResult<Datum>;

fn day(d: &Datum) -> i32 {
    match d {
        Datum::Date(v) => *v,
        other => panic!("date argument expected, got {other:?}"),
    }
}

fn tsw(d: &Datum) -> i64 {
    match d {
        Datum::Timestamp(v) => *v,
        other => panic!("timestamp argument expected, got {other:?}"),
    }
}

fn lsn(d: &Datum) -> u64 {
    match d {
        Datum::Lsn(v) => *v,
        other => panic!("pg_lsn argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i64 {
    as_i128(d).expect("integer argument") as i64
}

fn date_pli(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Date(date_pl_days(day(&a[0]), int(&a[1]))?))
}

fn integer_pl_date(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Date(date_pl_days(day(&a[1]), int(&a[0]))?))
}

fn date_mii(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Date(date_pl_days(day(&a[0]), -int(&a[1]))?))
}

fn date_mi_date(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(date_mi(day(&a[0]), day(&a[1]))?))
}

/// Timestamps without zone move by an interval as UTC wall clocks do.
fn shift(ts: i64, iv: &datetime::Interval) -> PgResult<i64> {
    datetime::timestamptz_pl_interval(ts, iv, &TimeZone::default())
}

fn timestamp_pl_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let iv = as_interval(&a[1]).expect("interval argument");
    Ok(Datum::Timestamp(shift(tsw(&a[0]), &iv)?))
}

fn interval_pl_timestamp(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let iv = as_interval(&a[0]).expect("interval argument");
    Ok(Datum::Timestamp(shift(tsw(&a[1]), &iv)?))
}

fn timestamp_mi_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let iv = as_interval(&a[1]).expect("interval argument").neg()?;
    Ok(Datum::Timestamp(shift(tsw(&a[0]), &iv)?))
}

fn date_pl_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let iv = as_interval(&a[1]).expect("interval argument");
    Ok(Datum::Timestamp(shift(
        date::date_to_timestamp(day(&a[0]))?,
        &iv,
    )?))
}

fn date_mi_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let iv = as_interval(&a[1]).expect("interval argument").neg()?;
    Ok(Datum::Timestamp(shift(
        date::date_to_timestamp(day(&a[0]))?,
        &iv,
    )?))
}

fn timestamp_mi(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(datetime::timestamptz_mi(
        tsw(&a[0]),
        tsw(&a[1]),
    )?))
}

/// `bpcharcmp`: trailing blanks do not count.
fn bpchar_cmp(a: &Datum, b: &Datum) -> Ordering {
    let (Datum::Text(x), Datum::Text(y)) = (a, b) else {
        panic!("bpchar arguments expected, got {a:?} and {b:?}");
    };
    x.trim_end_matches(' ')
        .as_bytes()
        .cmp(y.trim_end_matches(' ').as_bytes())
}

fn cmp_result(o: Ordering, op: CmpOp) -> Datum {
    Datum::Bool(match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    })
}

macro_rules! bpchar_op {
    ($name:ident, $op:expr) => {
        fn $name(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
            Ok(cmp_result(bpchar_cmp(&a[0], &a[1]), $op))
        }
    };
}
bpchar_op!(bpchar_eq, CmpOp::Eq);
bpchar_op!(bpchar_ne, CmpOp::Ne);
bpchar_op!(bpchar_lt, CmpOp::Lt);
bpchar_op!(bpchar_le, CmpOp::Le);
bpchar_op!(bpchar_gt, CmpOp::Gt);
bpchar_op!(bpchar_ge, CmpOp::Ge);

fn lsn_mi(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let diff = lsn(&a[0]) as i128 - lsn(&a[1]) as i128;
    Ok(Datum::Numeric(Numeric::from_i128(diff)))
}

fn txid_current(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int8(cx.server.txid_current()?))
}

fn pg_current_wal_lsn(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let text = cx.server.current_wal_lsn()?;
    Ok(Datum::Lsn(date::lsn_in(&text)?))
}

fn pg_switch_wal(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Lsn(cx.server.switch_wal()?))
}

fn pg_walfile_name(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(crate::storage::wal::walfile_name(
        crate::storage::types::Lsn(lsn(&a[0])),
    )))
}

fn text_arg(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn bool_arg(d: Option<&Datum>, default: bool) -> bool {
    match d {
        Some(Datum::Bool(b)) => *b,
        _ => default,
    }
}

/// `pg_backup_start(label text, fast boolean DEFAULT false)`.
fn pg_backup_start(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let fast = bool_arg(a.get(1), false);
    Ok(Datum::Lsn(cx.server.backup_start(text_arg(&a[0]), fast)?))
}

/// `pg_backup_stop(wait_for_archive boolean DEFAULT true)` as a scalar: the
/// record (lsn, labelfile, spcmapfile) in record_out's text form
/// (ferrogres has no composite type; `SELECT * FROM pg_backup_stop()` gives
/// the three columns).
fn pg_backup_stop(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (stop, label, spcmap) = cx.server.backup_stop(bool_arg(a.first(), true))?;
    let quote = |s: &str| {
        if !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || "\"\\(),".contains(c))
        {
            return s.to_string();
        }
        let mut out = String::from('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('"');
        out
    };
    Ok(Datum::Text(format!(
        "({},{},{})",
        crate::storage::types::Lsn(stop),
        quote(&label),
        quote(&spcmap)
    )))
}

fn current_date(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let now = cx.server.transaction_timestamp();
    let local = date::timestamptz_to_timestamp(now, &cx.fmt.tz);
    Ok(Datum::Date(date::timestamp_to_date(local)?))
}

fn localtimestamp(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let now = cx.server.transaction_timestamp();
    Ok(Datum::Timestamp(date::timestamptz_to_timestamp(
        now, &cx.fmt.tz,
    )))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    for t in [Date, Timestamp, PgLsn] {
        b.comparison_ops(t);
    }
    let bpchar_fns: [(&'static str, super::ScalarFn); 6] = [
        ("=", bpchar_eq),
        ("<>", bpchar_ne),
        ("<", bpchar_lt),
        ("<=", bpchar_le),
        (">", bpchar_gt),
        (">=", bpchar_ge),
    ];
    for (sym, f) in bpchar_fns {
        b.op(sym, Bpchar, Bpchar, Bool, Impl::Scalar(f));
    }
    for t in [Date, Timestamp, Bpchar, PgLsn] {
        b.agg("min", &[super::ArgType::T(t)], t, super::AggKind::Min);
        b.agg("max", &[super::ArgType::T(t)], t, super::AggKind::Max);
    }
    b.op("+", Date, Int4, Date, Impl::Scalar(date_pli));
    b.op("+", Int4, Date, Date, Impl::Scalar(integer_pl_date));
    b.op("-", Date, Int4, Date, Impl::Scalar(date_mii));
    b.op("-", Date, Date, Int4, Impl::Scalar(date_mi_date));
    b.op(
        "+",
        Date,
        Interval,
        Timestamp,
        Impl::Scalar(date_pl_interval),
    );
    b.op(
        "-",
        Date,
        Interval,
        Timestamp,
        Impl::Scalar(date_mi_interval),
    );
    b.op(
        "+",
        Timestamp,
        Interval,
        Timestamp,
        Impl::Scalar(timestamp_pl_interval),
    );
    b.op(
        "+",
        Interval,
        Timestamp,
        Timestamp,
        Impl::Scalar(interval_pl_timestamp),
    );
    b.op(
        "-",
        Timestamp,
        Interval,
        Timestamp,
        Impl::Scalar(timestamp_mi_interval),
    );
    b.op(
        "-",
        Timestamp,
        Timestamp,
        Interval,
        Impl::Scalar(timestamp_mi),
    );
    b.op("-", PgLsn, PgLsn, Numeric, Impl::Scalar(lsn_mi));
    b.func("pg_wal_lsn_diff", &[PgLsn, PgLsn], Numeric, lsn_mi);
    b.func("txid_current", &[], Int8, txid_current);
    b.func("pg_current_wal_lsn", &[], PgLsn, pg_current_wal_lsn);
    b.func("pg_current_wal_insert_lsn", &[], PgLsn, pg_current_wal_lsn);
    b.func("pg_switch_wal", &[], PgLsn, pg_switch_wal);
    b.func("pg_walfile_name", &[PgLsn], Text, pg_walfile_name);
    b.func("pg_backup_start", &[Text], PgLsn, pg_backup_start);
    b.func("pg_backup_start", &[Text, Bool], PgLsn, pg_backup_start);
    b.func("pg_backup_stop", &[], Text, pg_backup_stop);
    b.func("pg_backup_stop", &[Bool], Text, pg_backup_stop);
    b.func("current_date", &[], Date, current_date);
    b.func("localtimestamp", &[], Timestamp, localtimestamp);
}

/// `generate_series`, produced one value at a time (`exec::srf::Series`).
pub(super) fn register_srfs(b: &mut Builder) {
    use super::{ArgType::T, SetImpl};
    use crate::sql::types::consts::*;
    for t in [Int4, Int8, Numeric] {
        b.set_func("generate_series", &[T(t), T(t)], t, SetImpl::Series);
        b.set_func("generate_series", &[T(t), T(t), T(t)], t, SetImpl::Series);
    }
    for t in [Timestamp, Timestamptz] {
        b.set_func(
            "generate_series",
            &[T(t), T(t), T(Interval)],
            t,
            SetImpl::Series,
        );
    }
}
