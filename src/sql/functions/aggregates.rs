//! Aggregates: transition state, transition and final functions
//! (`int4_sum`, `numeric_avg`, `float8_accum`, ...), with PostgreSQL's result
//! types: `sum(int4)` is `bigint`, `sum(int8)` and `avg(int)` are `numeric`,
//! `avg(float8)` is `double precision`. Strict aggregates skip NULL inputs;
//! with no input rows every aggregate but `count` yields NULL.

use std::cmp::Ordering;

use super::super::adt::datetime::Interval;
use super::super::adt::numeric::Numeric;
use super::super::adt::{
    as_f64, as_i128, as_interval, datum_cmp, float::check_float8, interval_datum,
};
use super::super::types::{Datum, Type};
use super::{ArgType, Builder};
use crate::utils::elog::{PgError, PgResult, sqlstate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggKind {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    StringAgg,
    /// `array_agg(anynonarray)` / `array_agg(anyarray)` (PostgreSQL 15:
    /// arrays of equal dimensions stack into one more dimension).
    ArrayAgg,
    /// `json_agg`, `jsonb_agg`, `json_object_agg`, `jsonb_object_agg`.
    JsonAgg,
    JsonbAgg,
    JsonObjectAgg,
    JsonbObjectAgg,
    /// The variances and standard deviations (`stataggs`).
    Var(super::stataggs::VarKind),
    /// `regr_*`, `covar_*`, `corr` over (Y, X).
    Regr(super::stataggs::RegrKind),
    Bit(super::stataggs::BitKind),
    /// `WITHIN GROUP (ORDER BY ...)` aggregates (`ordered_set`).
    OrderedSet(super::ordered_set::OsKind),
    /// `GROUPING(...)`: no transition; the aggregation computes its value
    /// from the grouping set of each output row.
    Grouping,
}

impl AggKind {
    /// Whether NULL inputs reach the transition function (the aggregate is
    /// not strict: `json_agg` collects them), with DISTINCT too.
    pub fn takes_nulls(self) -> bool {
        matches!(
            self,
            AggKind::JsonAgg | AggKind::JsonbAgg | AggKind::JsonObjectAgg | AggKind::JsonbObjectAgg
        )
    }
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.agg("count", &[], Int8, AggKind::CountStar);
    b.agg("count", &[ArgType::Any], Int8, AggKind::Count);
    for (arg, ret) in [
        (Int2, Int8),
        (Int4, Int8),
        (Int8, Numeric),
        (Numeric, Numeric),
        (Float4, Float4),
        (Float8, Float8),
        (Interval, Interval),
    ] {
        b.agg("sum", &[ArgType::T(arg)], ret, AggKind::Sum);
    }
    for (arg, ret) in [
        (Int2, Numeric),
        (Int4, Numeric),
        (Int8, Numeric),
        (Numeric, Numeric),
        (Float4, Float8),
        (Float8, Float8),
        (Interval, Interval),
    ] {
        b.agg("avg", &[ArgType::T(arg)], ret, AggKind::Avg);
    }
    for t in [
        Int2,
        Int4,
        Int8,
        Float4,
        Float8,
        Numeric,
        Text,
        Timestamptz,
        Interval,
        Oid,
        Inet,
    ] {
        b.agg("min", &[ArgType::T(t)], t, AggKind::Min);
        b.agg("max", &[ArgType::T(t)], t, AggKind::Max);
    }
    b.agg("min", &[ArgType::AnyArray], Type::AnyArray, AggKind::Min);
    b.agg("max", &[ArgType::AnyArray], Type::AnyArray, AggKind::Max);
    {
        use super::stataggs::{BitKind, RegrKind, VarKind};
        for (name, stddev, sample) in [
            ("variance", false, true),
            ("var_samp", false, true),
            ("var_pop", false, false),
            ("stddev", true, true),
            ("stddev_samp", true, true),
            ("stddev_pop", true, false),
        ] {
            let kind = AggKind::Var(VarKind { stddev, sample });
            for (arg, ret) in [
                (Int2, Numeric),
                (Int4, Numeric),
                (Int8, Numeric),
                (Float4, Float8),
                (Float8, Float8),
                (Numeric, Numeric),
            ] {
                b.agg(name, &[ArgType::T(arg)], ret, kind);
            }
        }
        for (name, kind) in [
            ("regr_count", RegrKind::Count),
            ("regr_sxx", RegrKind::Sxx),
            ("regr_syy", RegrKind::Syy),
            ("regr_sxy", RegrKind::Sxy),
            ("regr_avgx", RegrKind::AvgX),
            ("regr_avgy", RegrKind::AvgY),
            ("regr_r2", RegrKind::R2),
            ("regr_slope", RegrKind::Slope),
            ("regr_intercept", RegrKind::Intercept),
            ("covar_pop", RegrKind::CovarPop),
            ("covar_samp", RegrKind::CovarSamp),
            ("corr", RegrKind::Corr),
        ] {
            let ret = if kind == RegrKind::Count {
                Int8
            } else {
                Float8
            };
            b.agg(
                name,
                &[ArgType::T(Float8), ArgType::T(Float8)],
                ret,
                AggKind::Regr(kind),
            );
        }
        for (name, kind) in [
            ("bit_and", BitKind::And),
            ("bit_or", BitKind::Or),
            ("bit_xor", BitKind::Xor),
        ] {
            for t in [Int2, Int4, Int8] {
                b.agg(name, &[ArgType::T(t)], t, AggKind::Bit(kind));
            }
        }
    }
    {
        use super::ordered_set::OsKind;
        let f8arr = Float8.array().expect("float8[]");
        let ivarr = Interval.array().expect("interval[]");
        let os = |k| AggKind::OrderedSet(k);
        let pc = os(OsKind::PercentileCont);
        let pcm = os(OsKind::PercentileContMulti);
        b.agg(
            "percentile_cont",
            &[ArgType::T(Float8), ArgType::T(Float8)],
            Float8,
            pc,
        );
        b.agg(
            "percentile_cont",
            &[ArgType::T(Float8), ArgType::T(Interval)],
            Interval,
            pc,
        );
        b.agg(
            "percentile_cont",
            &[ArgType::T(f8arr), ArgType::T(Float8)],
            f8arr,
            pcm,
        );
        b.agg(
            "percentile_cont",
            &[ArgType::T(f8arr), ArgType::T(Interval)],
            ivarr,
            pcm,
        );
        b.agg(
            "percentile_disc",
            &[ArgType::T(Float8), ArgType::AnyElement],
            Type::AnyElement,
            os(OsKind::PercentileDisc),
        );
        b.agg(
            "percentile_disc",
            &[ArgType::T(f8arr), ArgType::AnyElement],
            Type::AnyArray,
            os(OsKind::PercentileDiscMulti),
        );
        b.agg(
            "mode",
            &[ArgType::AnyElement],
            Type::AnyElement,
            os(OsKind::Mode),
        );
        for (name, ret, k) in [
            ("rank", Int8, OsKind::Rank),
            ("dense_rank", Int8, OsKind::DenseRank),
            ("percent_rank", Float8, OsKind::PercentRank),
            ("cume_dist", Float8, OsKind::CumeDist),
        ] {
            b.agg(name, &[ArgType::Any], ret, os(k));
            b.funcs.last_mut().expect("just pushed").variadic = true;
        }
    }
    b.agg("bool_and", &[ArgType::T(Bool)], Bool, AggKind::BoolAnd);
    b.agg("every", &[ArgType::T(Bool)], Bool, AggKind::BoolAnd);
    b.agg("bool_or", &[ArgType::T(Bool)], Bool, AggKind::BoolOr);
    b.agg(
        "string_agg",
        &[ArgType::T(Text), ArgType::T(Text)],
        Text,
        AggKind::StringAgg,
    );
    b.agg(
        "string_agg",
        &[ArgType::T(Bytea), ArgType::T(Bytea)],
        Bytea,
        AggKind::StringAgg,
    );
    b.agg("json_agg", &[ArgType::AnyElement], Json, AggKind::JsonAgg);
    b.agg(
        "jsonb_agg",
        &[ArgType::AnyElement],
        Jsonb,
        AggKind::JsonbAgg,
    );
    b.agg(
        "json_object_agg",
        &[ArgType::Any, ArgType::Any],
        Json,
        AggKind::JsonObjectAgg,
    );
    b.agg(
        "jsonb_object_agg",
        &[ArgType::Any, ArgType::Any],
        Jsonb,
        AggKind::JsonbObjectAgg,
    );
    b.agg(
        "array_agg",
        &[ArgType::AnyNonArray],
        Type::AnyArray,
        AggKind::ArrayAgg,
    );
    b.agg(
        "array_agg",
        &[ArgType::AnyArray],
        Type::AnyArray,
        AggKind::ArrayAgg,
    );
}

/// At most this many rows in one group of an ordered-set aggregate (the
/// rows are held in memory; PostgreSQL's tuplesort would spill them).
const MAX_ORDERED_SET_ROWS: usize = crate::sql::adt::array::MAX_ARRAY_SIZE;

#[derive(Clone, Debug)]
enum State {
    Count(i64),
    SumInt(Option<i128>),
    SumNumeric(Option<Numeric>),
    SumFloat(Option<f64>),
    SumInterval(Option<Interval>),
    AvgNumeric {
        sum: Numeric,
        count: i64,
    },
    AvgFloat {
        sum: f64,
        count: i64,
    },
    AvgInterval {
        sum: Interval,
        count: i64,
    },
    MinMax(Option<Datum>),
    Bool(Option<bool>),
    StringAgg(Option<String>),
    /// `string_agg(bytea, bytea)`.
    ByteaAgg(Option<Vec<u8>>),
    /// The JSON aggregates: the text so far (json), the members (jsonb).
    Json(Option<String>),
    Jsonb(Option<Vec<(String, crate::sql::adt::jsonb::Jsonb)>>),
    /// `array_agg`: the inputs so far (NULLs included), and whether they
    /// are arrays (`array_agg(anyarray)`).
    ArrayAgg(Vec<Datum>, bool),
    NumericMoments(super::stataggs::NumericMoments),
    FloatMoments(super::stataggs::FloatMoments),
    Regression(super::stataggs::Regression),
    Bit(Option<i64>),
    /// The aggregated argument rows, in ORDER BY order.
    OrderedSet(Vec<Vec<Datum>>),
}

/// One group's running aggregate.
#[derive(Clone, Debug)]
pub struct Accumulator {
    kind: AggKind,
    ret: Type,
    state: State,
    /// The argument types (the JSON aggregates convert by type).
    arg_types: Vec<Type>,
}

fn bigint_out_of_range() -> PgError {
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range")
}

impl Accumulator {
    pub fn new(kind: AggKind, arg_types: &[Type], ret: Type) -> Accumulator {
        let input = arg_types.first().copied().unwrap_or(Type::Int8);
        let state = match kind {
            AggKind::CountStar | AggKind::Count | AggKind::Grouping => State::Count(0),
            AggKind::Sum => match (input, ret) {
                (Type::Int2 | Type::Int4, _) => State::SumInt(None),
                (_, Type::Numeric) => State::SumNumeric(None),
                (_, Type::Interval) => State::SumInterval(None),
                _ => State::SumFloat(None),
            },
            AggKind::Avg => match ret {
                Type::Numeric => State::AvgNumeric {
                    sum: Numeric::zero(),
                    count: 0,
                },
                Type::Interval => State::AvgInterval {
                    sum: Interval {
                        months: 0,
                        days: 0,
                        micros: 0,
                    },
                    count: 0,
                },
                _ => State::AvgFloat { sum: 0.0, count: 0 },
            },
            AggKind::Min | AggKind::Max => State::MinMax(None),
            AggKind::BoolAnd | AggKind::BoolOr => State::Bool(None),
            AggKind::StringAgg if ret == Type::Bytea => State::ByteaAgg(None),
            AggKind::StringAgg => State::StringAgg(None),
            AggKind::JsonAgg | AggKind::JsonObjectAgg => State::Json(None),
            AggKind::JsonbAgg | AggKind::JsonbObjectAgg => State::Jsonb(None),
            AggKind::ArrayAgg => State::ArrayAgg(Vec::new(), input.elem().is_some()),
            AggKind::Var(_) if ret == Type::Numeric => {
                State::NumericMoments(super::stataggs::NumericMoments::new())
            }
            AggKind::Var(_) => State::FloatMoments(Default::default()),
            AggKind::Regr(_) => State::Regression(Default::default()),
            AggKind::Bit(_) => State::Bit(None),
            AggKind::OrderedSet(_) => State::OrderedSet(Vec::new()),
        };
        Accumulator {
            kind,
            ret,
            state,
            arg_types: arg_types.to_vec(),
        }
    }

    /// The transition function for one input row, with the session's
    /// formats (the JSON aggregates print timestamps in its time zone).
    pub fn advance_fmt(
        &mut self,
        args: &[Datum],
        fmt: &crate::sql::adt::SessionFormat,
    ) -> PgResult<()> {
        use crate::sql::adt::jsonb::Jsonb;
        use crate::sql::functions::json::{datum_to_json, datum_to_jsonb};
        let ty = |i: usize| self.arg_types.get(i).copied().unwrap_or(Type::Text);
        let null_key = || {
            PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "field name must not be null",
            )
        };
        let (t0, t1) = (ty(0), ty(1));
        match (&mut self.state, self.kind) {
            (State::Json(acc), AggKind::JsonAgg) => {
                let s = acc.get_or_insert_with(|| "[".to_string());
                if s.len() > 1 {
                    s.push_str(", ");
                }
                datum_to_json(s, &args[0], t0, fmt, false)?;
                crate::sql::adt::stringinfo::check_enlarge(s.len(), 0)?;
            }
            (State::Json(acc), _) => {
                if args[0].is_null() {
                    return Err(null_key());
                }
                let s = acc.get_or_insert_with(|| "{ ".to_string());
                if s.len() > 2 {
                    s.push_str(", ");
                }
                let mut k = String::new();
                datum_to_json(&mut k, &args[0], t0, fmt, true)?;
                if !k.starts_with('"') {
                    crate::sql::adt::json::escape_json(s, &k);
                } else {
                    s.push_str(&k);
                }
                s.push_str(" : ");
                datum_to_json(s, &args[1], t1, fmt, false)?;
                crate::sql::adt::stringinfo::check_enlarge(s.len(), 0)?;
            }
            (State::Jsonb(acc), AggKind::JsonbAgg) => {
                let v = datum_to_jsonb(&args[0], t0, fmt)?;
                acc.get_or_insert_with(Vec::new).push((String::new(), v));
            }
            (State::Jsonb(acc), _) => {
                if args[0].is_null() {
                    return Err(null_key());
                }
                let k = match datum_to_jsonb(&args[0], t0, fmt)? {
                    Jsonb::String(s) => s,
                    Jsonb::Null => return Err(null_key()),
                    Jsonb::Array(_) | Jsonb::Object(_) => {
                        return Err(PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "key value must be scalar, not array, composite, or json",
                        ));
                    }
                    other => other.to_text(),
                };
                let v = datum_to_jsonb(&args[1], t1, fmt)?;
                acc.get_or_insert_with(Vec::new).push((k, v));
            }
            _ => return self.advance(args),
        }
        Ok(())
    }

    /// The transition function for one input row.
    pub fn advance(&mut self, args: &[Datum]) -> PgResult<()> {
        if self.kind == AggKind::CountStar {
            if let State::Count(n) = &mut self.state {
                *n += 1;
            }
            return Ok(());
        }
        if let (State::OrderedSet(rows), AggKind::OrderedSet(k)) = (&mut self.state, self.kind) {
            if k.keeps_nulls() || args.first().is_some_and(|d| !d.is_null()) {
                if rows.len() >= MAX_ORDERED_SET_ROWS {
                    return Err(crate::sql::adt::array::too_large());
                }
                rows.push(args.to_vec());
            }
            return Ok(());
        }
        let Some(v) = args.first() else { return Ok(()) };
        if let State::ArrayAgg(items, _) = &mut self.state {
            // Not strict: NULLs are elements (NULL arrays are an error at the end).
            if items.len() >= crate::sql::adt::array::MAX_ARRAY_SIZE {
                return Err(crate::sql::adt::array::too_large());
            }
            items.push(v.clone());
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        match &mut self.state {
            State::NumericMoments(m) => {
                m.accum(&super::super::adt::as_numeric(v).expect("numeric input"))?;
            }
            State::FloatMoments(m) => m.accum(as_f64(v).expect("float input"))?,
            State::Regression(r) => {
                // Strict in both arguments.
                let Some(x) = args.get(1).and_then(as_f64) else {
                    return Ok(());
                };
                r.accum(as_f64(v).expect("float input"), x)?;
            }
            State::Bit(acc) => {
                let AggKind::Bit(kind) = self.kind else {
                    unreachable!("bit state of a bit aggregate")
                };
                let x = as_i128(v).expect("integer input") as i64;
                *acc = Some(super::stataggs::bit_accum(kind, *acc, x));
            }
            State::ArrayAgg(..) => unreachable!("array_agg returned above"),
            State::OrderedSet(_) => unreachable!("ordered-set aggregates returned above"),
            State::Count(n) => *n += 1,
            State::SumInt(s) => {
                let x = as_i128(v).expect("integer input");
                *s = Some(s.unwrap_or(0) + x);
            }
            State::SumNumeric(s) => {
                let x = super::super::adt::as_numeric(v).expect("numeric input");
                *s = Some(match s.take() {
                    None => x,
                    Some(acc) => acc.add(&x)?,
                });
            }
            State::SumFloat(s) => {
                let x = as_f64(v).expect("float input");
                let acc = s.unwrap_or(0.0);
                let r = acc + x;
                *s = Some(check_float8(r, acc.is_infinite() || x.is_infinite(), true)?);
            }
            State::SumInterval(s) => {
                let x = as_interval(v).expect("interval input");
                *s = Some(match s.take() {
                    None => x,
                    Some(acc) => acc.add(&x)?,
                });
            }
            State::AvgNumeric { sum, count } => {
                let x = super::super::adt::as_numeric(v).expect("numeric input");
                *sum = sum.add(&x)?;
                *count += 1;
            }
            State::AvgFloat { sum, count } => {
                let x = as_f64(v).expect("float input");
                let r = *sum + x;
                *sum = check_float8(r, sum.is_infinite() || x.is_infinite(), true)?;
                *count += 1;
            }
            State::AvgInterval { sum, count } => {
                *sum = sum.add(&as_interval(v).expect("interval input"))?;
                *count += 1;
            }
            State::MinMax(cur) => {
                let replace = match cur {
                    None => true,
                    Some(c) => {
                        let o = datum_cmp(v, c);
                        if self.kind == AggKind::Min {
                            o == Ordering::Less
                        } else {
                            o == Ordering::Greater
                        }
                    }
                };
                if replace {
                    *cur = Some(v.clone());
                }
            }
            State::Bool(cur) => {
                let Datum::Bool(b) = v else {
                    unreachable!("bool input")
                };
                *cur = Some(match (self.kind, *cur) {
                    (_, None) => *b,
                    (AggKind::BoolAnd, Some(c)) => c && *b,
                    (_, Some(c)) => c || *b,
                });
            }
            State::StringAgg(cur) => {
                let Datum::Text(s) = v else {
                    unreachable!("text input")
                };
                match cur {
                    None => *cur = Some(s.clone()),
                    Some(acc) => {
                        // appendStringInfoText twice, each under the 1 GB limit.
                        use crate::sql::adt::stringinfo::check_enlarge;
                        if let Some(Datum::Text(d)) = args.get(1) {
                            check_enlarge(acc.len(), d.len())?;
                            acc.push_str(d);
                        }
                        check_enlarge(acc.len(), s.len())?;
                        acc.push_str(s);
                    }
                }
            }
            // Fed by advance_fmt.
            State::Json(_) | State::Jsonb(_) => {}
            State::ByteaAgg(cur) => {
                let Datum::Bytea(b) = v else {
                    unreachable!("bytea input")
                };
                match cur {
                    None => *cur = Some(b.clone()),
                    Some(acc) => {
                        // bytea_string_agg_transfn appends to a StringInfo.
                        use crate::sql::adt::stringinfo::check_enlarge;
                        if let Some(Datum::Bytea(d)) = args.get(1) {
                            check_enlarge(acc.len(), d.len())?;
                            acc.extend_from_slice(d);
                        }
                        check_enlarge(acc.len(), b.len())?;
                        acc.extend_from_slice(b);
                    }
                }
            }
        }
        Ok(())
    }

    /// The final function of an ordered-set aggregate, with its direct
    /// arguments and each ordering column's (descending, nulls first).
    pub fn finish_ordered(&self, direct: &[Datum], order: &[(bool, bool)]) -> PgResult<Datum> {
        let (State::OrderedSet(rows), AggKind::OrderedSet(k)) = (&self.state, self.kind) else {
            unreachable!("finish_ordered of an ordered-set aggregate")
        };
        super::ordered_set::finish(k, self.ret, rows, direct, order)
    }

    /// The final function.
    pub fn finish(&self) -> PgResult<Datum> {
        Ok(match &self.state {
            State::Count(n) => Datum::Int8(*n),
            State::SumInt(s) => match s {
                None => Datum::Null,
                Some(v) => Datum::Int8(i64::try_from(*v).map_err(|_| bigint_out_of_range())?),
            },
            State::SumNumeric(s) => s.clone().map(Datum::Numeric).unwrap_or(Datum::Null),
            State::SumFloat(s) => match s {
                None => Datum::Null,
                Some(v) if self.ret == Type::Float4 => Datum::Float4(*v as f32),
                Some(v) => Datum::Float8(*v),
            },
            State::SumInterval(s) => s.map(interval_datum).unwrap_or(Datum::Null),
            State::AvgNumeric { sum, count } => {
                if *count == 0 {
                    Datum::Null
                } else {
                    Datum::Numeric(sum.div(&Numeric::from_i64(*count))?)
                }
            }
            State::AvgFloat { sum, count } => {
                if *count == 0 {
                    Datum::Null
                } else {
                    Datum::Float8(*sum / *count as f64)
                }
            }
            State::AvgInterval { sum, count } => {
                if *count == 0 {
                    Datum::Null
                } else {
                    interval_datum(sum.div(*count as f64)?)
                }
            }
            State::MinMax(v) => v.clone().unwrap_or(Datum::Null),
            State::Bool(b) => b.map(Datum::Bool).unwrap_or(Datum::Null),
            State::StringAgg(s) => s.clone().map(Datum::Text).unwrap_or(Datum::Null),
            State::ByteaAgg(s) => s.clone().map(Datum::Bytea).unwrap_or(Datum::Null),
            State::Json(s) => match s {
                None => Datum::Null,
                Some(s) if self.kind == AggKind::JsonAgg => Datum::Json(format!("{s}]")),
                Some(s) => Datum::Json(format!("{s} }}")),
            },
            State::Jsonb(v) => match v {
                None => Datum::Null,
                Some(v) if self.kind == AggKind::JsonbAgg => Datum::Jsonb(Box::new(
                    crate::sql::adt::jsonb::Jsonb::Array(v.iter().map(|p| p.1.clone()).collect()),
                )),
                Some(v) => Datum::Jsonb(Box::new(crate::sql::adt::jsonb::make_object(v.clone()))),
            },
            State::NumericMoments(m) => match self.kind {
                AggKind::Var(k) => m.finish(k)?,
                _ => unreachable!("moments of a variance"),
            },
            State::FloatMoments(m) => match self.kind {
                AggKind::Var(k) => m.finish(k),
                _ => unreachable!("moments of a variance"),
            },
            State::Regression(r) => match self.kind {
                AggKind::Regr(k) => r.finish(k),
                _ => unreachable!("regression state"),
            },
            State::OrderedSet(_) => {
                unreachable!("ordered-set aggregates finish with their direct arguments")
            }
            State::Bit(acc) => match acc {
                None => Datum::Null,
                Some(v) => super::stataggs::bit_datum(*v, self.ret),
            },
            State::ArrayAgg(items, of_arrays) => {
                if items.is_empty() {
                    return Ok(Datum::Null);
                }
                super::array::aggregate(items.clone(), self.ret, *of_arrays)?
            }
        })
    }
}
