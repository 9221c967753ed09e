//! Scalar built-ins: operators with bespoke semantics and named functions.
//! Each follows the PostgreSQL function of the same name (`textcat`,
//! `text_substr`, `float8pow`, ...), including its error messages.

use std::cell::Cell;

use super::super::adt::datetime::{self, Interval};
use super::super::adt::numeric::Numeric;
use super::super::adt::stringinfo;
use super::super::adt::{
    self, as_f64, as_i128, as_interval, interval_datum, like as likem, make_int,
};
use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::{ArgType, Builder, Impl};
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::mb;

type R = PgResult<Datum>;

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i64 {
    as_i128(d).expect("integer argument") as i64
}

fn f64_arg(d: &Datum) -> f64 {
    as_f64(d).expect("float argument")
}

fn numeric(d: &Datum) -> &Numeric {
    match d {
        Datum::Numeric(n) => n,
        other => panic!("numeric argument expected, got {other:?}"),
    }
}

fn ts(d: &Datum) -> i64 {
    match d {
        Datum::Timestamptz(t) => *t,
        other => panic!("timestamptz argument expected, got {other:?}"),
    }
}

fn iv(d: &Datum) -> Interval {
    as_interval(d).expect("interval argument")
}

fn float_result(v: f64, ret: Type) -> R {
    Ok(if ret == Type::Float4 {
        Datum::Float4(v as f32)
    } else {
        Datum::Float8(v)
    })
}

fn err(code: &'static str, msg: &str) -> PgError {
    PgError::error(code, msg)
}

// --- operators ---------------------------------------------------------------

pub fn float8_pow(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (x, y) = (f64_arg(&a[0]), f64_arg(&a[1]));
    if x == 0.0 && y < 0.0 {
        return Err(err("2201F", "zero raised to a negative power is undefined"));
    }
    if x < 0.0 && y.floor() != y {
        return Err(err(
            "2201F",
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    let r = x.powf(y);
    Ok(Datum::Float8(adt::float::check_float8(
        r,
        x.is_infinite() || y.is_infinite(),
        x == 0.0 || r != 0.0 || y.is_infinite(),
    )?))
}

pub fn xid_eq_int4(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Xid(x) = a[0] else {
        unreachable!("xid argument")
    };
    Ok(Datum::Bool(x == int(&a[1]) as i32 as u32))
}

pub fn xid_ne_int4(cx: &mut EvalContext, a: &[Datum], t: &[Type], r: Type) -> R {
    let Datum::Bool(eq) = xid_eq_int4(cx, a, t, r)? else {
        unreachable!("bool")
    };
    Ok(Datum::Bool(!eq))
}

pub fn timestamptz_pl_interval(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(datetime::timestamptz_pl_interval(
        ts(&a[0]),
        &iv(&a[1]),
        &cx.fmt.tz,
    )?))
}

pub fn interval_pl_timestamptz(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(datetime::timestamptz_pl_interval(
        ts(&a[1]),
        &iv(&a[0]),
        &cx.fmt.tz,
    )?))
}

pub fn timestamptz_mi_interval(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(datetime::timestamptz_pl_interval(
        ts(&a[0]),
        &iv(&a[1]).neg()?,
        &cx.fmt.tz,
    )?))
}

pub fn timestamptz_mi(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(datetime::timestamptz_mi(
        ts(&a[0]),
        ts(&a[1]),
    )?))
}

pub fn interval_pl(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(iv(&a[0]).add(&iv(&a[1]))?))
}

pub fn interval_mi(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(iv(&a[0]).sub(&iv(&a[1]))?))
}

pub fn interval_mul(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(iv(&a[0]).mul(f64_arg(&a[1]))?))
}

pub fn mul_interval(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(iv(&a[1]).mul(f64_arg(&a[0]))?))
}

pub fn interval_div(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(interval_datum(iv(&a[0]).div(f64_arg(&a[1]))?))
}

/// `textcat`, `textanycat`, `anytextcat`: non-text arguments through
/// their cast to text (`$1::text || $2`, so `true` becomes `true`).
pub fn textcat(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let as_text = |d: &Datum, ty: Type, cx: &mut EvalContext| -> PgResult<String> {
        match adt::cast(d.clone(), ty, Type::Text, -1, &cx.fmt)? {
            Datum::Text(s) => Ok(s),
            _ => Ok(String::new()),
        }
    };
    let l = as_text(&a[0], t[0], cx)?;
    let r = as_text(&a[1], t[1], cx)?;
    // text_catenate pallocs the result: XX000 past 1 GB.
    stringinfo::check_alloc(l.len() + r.len() + stringinfo::VARHDRSZ)?;
    Ok(Datum::Text(l + &r))
}

pub fn like(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(likem::like(text(&a[0]), text(&a[1]))?))
}

pub fn not_like(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(!likem::like(text(&a[0]), text(&a[1]))?))
}

pub fn ilike(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(likem::ilike(text(&a[0]), text(&a[1]))?))
}

pub fn not_ilike(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(!likem::ilike(text(&a[0]), text(&a[1]))?))
}

pub fn like_escape(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(likem::like_escape(text(&a[0]), text(&a[1]))?))
}

// --- session and server ------------------------------------------------------

fn version(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(format!(
        "PostgreSQL 15.0 (ferrogres {}) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION")
    )))
}

fn current_user(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(cx.server.current_user().to_string()))
}

fn session_user(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(cx.server.session_user().to_string()))
}

fn current_database(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(cx.server.current_database().to_string()))
}

/// `pg_client_encoding()`: the session's client encoding, from the setting
/// (so that a `set_config` earlier in the statement counts, as PostgreSQL's
/// assign hook makes it).
fn pg_client_encoding(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(cx.server.settings().get_str("client_encoding")))
}

/// `getdatabaseencoding()`: always UTF8 (see `crate::utils::mb`).
fn getdatabaseencoding(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(mb::Encoding::UTF8.name().to_string()))
}

/// `pg_encoding_to_char(int)`: an encoding's name, '' for no encoding.
fn pg_encoding_to_char(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let id = i32::try_from(int(&a[0])).unwrap_or(-1);
    Ok(Datum::Text(
        mb::Encoding::from_id(id)
            .map(|e| e.name())
            .unwrap_or("")
            .to_string(),
    ))
}

/// `pg_char_to_encoding(name)`: an encoding's number, -1 for no encoding.
fn pg_char_to_encoding(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(
        mb::char_to_encoding(text(&a[0])).map_or(-1, |e| e.id()),
    ))
}

/// `current_schemas(include_implicit)`: the existing schemas of the
/// search path, as `name[]`.
fn current_schemas(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Bool(implicit) = a[0] else {
        unreachable!("boolean argument")
    };
    let items = crate::catalog::syscache::current_schemas(implicit)?
        .into_iter()
        .map(Datum::Text)
        .collect();
    Ok(Datum::Array(Box::new(
        crate::sql::adt::array::ArrayValue::from_items(Type::Name, items)?,
    )))
}

/// The first schema of `search_path` that exists; only `pg_catalog` and
/// `public` exist so far (and `$user` names no schema).
fn current_schema(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let path = cx.server.settings().show("search_path").unwrap_or_default();
    for item in path.split(',') {
        let name = item.trim().trim_matches('"');
        if name == "public" || name == "pg_catalog" {
            return Ok(Datum::Text(name.to_string()));
        }
    }
    Ok(Datum::Null)
}

fn pg_backend_pid(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(cx.server.backend_pid()))
}

// --- sslinfo (PostgreSQL's contrib/sslinfo, built in) ----------------------
// They read the backend's own TLS connection (`Port->ssl` in PostgreSQL); on
// a plaintext connection the text ones are NULL and the booleans false.

fn ssl_text(f: impl FnOnce(&crate::protocol::tls::SslStatus) -> Option<String>) -> R {
    Ok(crate::protocol::tls::my_status()
        .and_then(f)
        .map(Datum::Text)
        .unwrap_or(Datum::Null))
}

fn ssl_is_used(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(crate::protocol::tls::my_status().is_some()))
}

fn ssl_version(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    ssl_text(|s| Some(s.version.to_string()))
}

fn ssl_cipher(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    ssl_text(|s| Some(s.cipher.clone()))
}

fn ssl_client_cert_present(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(
        crate::protocol::tls::my_status().is_some_and(|s| s.peer.is_some()),
    ))
}

fn ssl_client_dn(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    ssl_text(|s| s.peer.as_ref().map(|p| p.subject.clone()))
}

fn ssl_issuer_dn(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    ssl_text(|s| s.peer.as_ref().map(|p| p.issuer.clone()))
}

fn ssl_client_serial(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let serial =
        crate::protocol::tls::my_status().and_then(|s| s.peer.as_ref().map(|p| p.serial.clone()));
    Ok(match serial {
        Some(s) => Datum::Numeric(Numeric::parse(&s)?),
        None => Datum::Null,
    })
}

fn pg_sleep(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let secs = f64_arg(&a[0]);
    if secs > 0.0 {
        cx.server.sleep(secs)?;
    }
    Ok(Datum::Void)
}

fn pg_cancel_backend(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(
        cx.server.signal_backend(int(&a[0]) as i32, false)?,
    ))
}

fn pg_terminate_backend(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    if a.len() > 1 && int(&a[1]) < 0 {
        return Err(err(
            sqlstate::INVALID_PARAMETER_VALUE,
            "\"timeout\" must not be negative",
        ));
    }
    Ok(Datum::Bool(
        cx.server.signal_backend(int(&a[0]) as i32, true)?,
    ))
}

/// The functions PostgreSQL 15 revokes from PUBLIC (`system_functions.sql`):
/// without GRANT, only a superuser may run them.
fn superuser_only(cx: &EvalContext, function: &str) -> PgResult<()> {
    if cx.server.is_superuser() {
        Ok(())
    } else {
        Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            &format!("permission denied for function {function}"),
        ))
    }
}

fn pg_reload_conf(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    superuser_only(cx, "pg_reload_conf")?;
    Ok(Datum::Bool(cx.server.reload_conf()?))
}

fn pg_stat_reset(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    superuser_only(cx, "pg_stat_reset")?;
    cx.server.stats_reset("reset", None, None)?;
    Ok(Datum::Void)
}

fn pg_stat_reset_shared(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    superuser_only(cx, "pg_stat_reset_shared")?;
    cx.server
        .stats_reset("reset_shared", Some(text(&a[0])), None)?;
    Ok(Datum::Void)
}

/// `pg_stat_reset_single_table_counters(oid)`; a text argument names the
/// table, as PostgreSQL's regclass input would.
fn pg_stat_reset_single_table_counters(
    cx: &mut EvalContext,
    a: &[Datum],
    _: &[Type],
    _: Type,
) -> R {
    superuser_only(cx, "pg_stat_reset_single_table_counters")?;
    let rel = match &a[0] {
        Datum::Text(name) => {
            let (schema, table) = match name.split_once('.') {
                Some((s, t)) => (Some(s), t),
                None => (None, name.as_str()),
            };
            match cx.server.lookup_table(schema, table)? {
                Some(t) => t.oid,
                None => {
                    return Err(err(
                        sqlstate::UNDEFINED_TABLE,
                        &format!("relation \"{name}\" does not exist"),
                    ));
                }
            }
        }
        d => int(d) as u32,
    };
    cx.server
        .stats_reset("reset_single_table", None, Some(rel))?;
    Ok(Datum::Void)
}

fn pg_stat_clear_snapshot(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    cx.server.stats_reset("clear_snapshot", None, None)?;
    Ok(Datum::Void)
}

fn pg_postmaster_start_time(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(cx.server.postmaster_start_time()))
}

fn now(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(cx.server.transaction_timestamp()))
}

fn statement_timestamp(cx: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(cx.server.statement_timestamp()))
}

fn clock_timestamp(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Timestamptz(crate::utils::time::now_timestamptz()))
}

fn current_setting(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let missing_ok = matches!(a.get(1), Some(Datum::Bool(true)));
    Ok(cx
        .server
        .settings()
        .current_setting(text(&a[0]), missing_ok)?
        .map(Datum::Text)
        .unwrap_or(Datum::Null))
}

fn set_config(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Text(name) = &a[0] else {
        return Err(err(
            sqlstate::NULL_VALUE_NOT_ALLOWED,
            "SET requires parameter name",
        ));
    };
    let value = match &a[1] {
        Datum::Text(v) => Some(v.as_str()),
        _ => None,
    };
    let local = matches!(a[2], Datum::Bool(true));
    let su = cx.server.is_superuser();
    cx.server.settings().set(name, value, local, su)?;
    for n in cx.server.settings().take_notices() {
        cx.server.notice(n);
    }
    cx.refresh_format();
    Ok(Datum::Text(cx.server.settings().show(name)?))
}

fn pg_typeof(_: &mut EvalContext, _: &[Datum], t: &[Type], _: Type) -> R {
    Ok(Datum::Oid(t[0].oid()))
}

/// `format_type(oid, typmod)`: NULL for a NULL oid, `-` for 0, `???` for
/// an oid that names no type (PostgreSQL's FORMAT_TYPE_ALLOW_INVALID).
fn format_type(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Oid(oid) = a[0] else {
        return Ok(Datum::Null);
    };
    let (typmod, given) = match a[1] {
        Datum::Int4(m) => (m, true),
        _ => (-1, false),
    };
    Ok(Datum::Text(match Type::from_oid(oid) {
        _ if oid == 0 => "-".to_string(),
        Some(t) => t.format_with_typmod(typmod, given),
        None => "???".to_string(),
    }))
}

/// `to_regtype(text)`: the type's oid, or NULL where `::regtype` would
/// fail with 42704.
fn to_regtype(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    match super::super::adt::input(text(&a[0]), Type::Regtype, -1, &cx.fmt) {
        Ok(d) => Ok(d),
        Err(e) if e.sqlstate == sqlstate::UNDEFINED_OBJECT => Ok(Datum::Null),
        Err(e) => Err(e),
    }
}

/// `to_regclass(text)`, `to_regrole(text)`, ...: the object's oid, or
/// NULL where the input function would say it does not exist (the result
/// type says which kind of object).
fn to_reg(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    super::super::adt::regtypes::to_reg(text(&a[0]), ret)
}

fn oid_arg(d: &Datum) -> u32 {
    match d {
        Datum::Oid(o) => *o,
        _ => unreachable!("oid argument"),
    }
}

/// `pg_get_userbyid(oid)`: the role's name, or `unknown (OID=n)`.
fn pg_get_userbyid(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let oid = oid_arg(&a[0]);
    Ok(Datum::Text(
        crate::catalog::syscache::role_name(oid).unwrap_or_else(|| format!("unknown (OID={oid})")),
    ))
}

/// `pg_table_is_visible(oid)`: whether the relation is the one its bare
/// name finds along the search path; NULL for no relation.
fn pg_table_is_visible(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let oid = oid_arg(&a[0]);
    if crate::catalog::syscache::relation(oid)?.is_none() {
        return Ok(Datum::Null);
    }
    Ok(Datum::Bool(crate::catalog::syscache::relation_is_visible(
        oid,
    )?))
}

/// `pg_type_is_visible`, `pg_function_is_visible`, ...: every object of
/// these kinds is a built-in in `pg_catalog`, which is always searched, so
/// each is visible; NULL for an oid with no object.
/// `obj_description(oid, name)`: the comment on an object of the catalog
/// `name` (a `pg_catalog` table); `obj_description(oid)` of any catalog.
fn obj_description(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    use crate::catalog::syscache;
    let classoid = match a.get(1) {
        Some(d) => match syscache::relation_oid(Some("pg_catalog"), text(d))? {
            Some(c) => Some(c),
            None => return Ok(Datum::Null),
        },
        None => None,
    };
    Ok(syscache::description(oid_arg(&a[0]), classoid, 0)?.map_or(Datum::Null, Datum::Text))
}

/// `col_description(table oid, column number)`.
fn col_description(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Int4(col) = a[1] else {
        unreachable!("int4 argument")
    };
    let pg_class = crate::catalog::defs::PG_CLASS;
    Ok(
        crate::catalog::syscache::description(oid_arg(&a[0]), Some(pg_class), col)?
            .map_or(Datum::Null, Datum::Text),
    )
}

/// `pg_get_expr(expr, relation [, pretty])`: the SQL text of a stored
/// expression. ferrogres keeps expressions (`pg_attrdef.adbin`) as SQL
/// text, not as node trees, so the text is the expression as written.
fn pg_get_expr(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(text(&a[0]).to_string()))
}

/// `pg_relation_is_publishable(regclass)`: an ordinary table outside the
/// system schemas, created by a user (`is_publishable_class`).
fn pg_relation_is_publishable(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let oid = oid_arg(&a[0]);
    Ok(match crate::catalog::syscache::relation(oid)? {
        None => Datum::Null,
        Some(rel) => Datum::Bool(
            matches!(rel.kind.as_str(), "r" | "p")
                && rel.namespace != crate::catalog::defs::PG_CATALOG_NAMESPACE
                && oid >= crate::catalog::defs::FIRST_NORMAL_OBJECT_ID,
        ),
    })
}

/// `pg_get_statisticsobjdef_columns(oid)`: NULL, as for every oid that is
/// no extended-statistics object (CREATE STATISTICS is not implemented).
fn pg_get_statisticsobjdef_columns(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Null)
}

/// `format_type_be` of an argument or result type (`"any"` quoted, as
/// the keyword it is).
fn arg_type_name(oid: u32) -> String {
    match Type::from_oid(oid) {
        Some(t) if t.name() == "any" => "\"any\"".to_string(),
        Some(t) => t.name().to_string(),
        None => "???".to_string(),
    }
}

/// The items of a one-dimensional array's text form (`{a,"b c"}`).
fn array_text_items(s: &str) -> Vec<String> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    if inner.is_empty() {
        return Vec::new();
    }
    inner
        .split(',')
        .map(|i| i.trim_matches('"').to_string())
        .collect()
}

/// The SQL text of each default in `proargdefaults` (a list of node
/// trees), where every one is a boolean or integer constant; None if any
/// is something else, whose text ferrogres cannot rebuild.
fn default_texts(tree: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for item in tree.split("{CONST").skip(1) {
        let field = |name: &str| {
            let at = item.find(name)? + name.len();
            item[at..].split_whitespace().next()
        };
        let ty = field(":consttype ")?;
        if field(":constisnull ")? == "true" {
            out.push("NULL".to_string());
            continue;
        }
        let bytes: Vec<u8> = item[item.find('[')? + 1..item.find(']')?]
            .split_whitespace()
            .map(|b| b.parse::<i64>().map(|v| v as u8))
            .collect::<Result<_, _>>()
            .ok()?;
        out.push(match ty {
            "16" => (if bytes.first()? != &0 {
                "true"
            } else {
                "false"
            })
            .to_string(),
            "23" => i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?).to_string(),
            _ => return None,
        });
    }
    (out.len() == tree.matches("{CONST").count() && !tree.contains("{FUNCEXPR")).then_some(out)
}

/// `pg_get_function_arguments` (`with_defaults`) and
/// `pg_get_function_identity_arguments` of a built-in.
fn function_arguments(p: &crate::catalog::builtin::ProcEntry, with_defaults: bool) -> String {
    let all: Vec<u32> = match p.proallargtypes {
        Some(s) => array_text_items(s)
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect(),
        None => p.proargtypes.to_vec(),
    };
    let modes = p.proargmodes.map(array_text_items).unwrap_or_default();
    let names = p.proargnames.map(array_text_items).unwrap_or_default();
    let defaults = match (with_defaults, p.proargdefaults) {
        (true, Some(t)) => default_texts(t).unwrap_or_default(),
        _ => Vec::new(),
    };
    let nin = p.proargtypes.len();
    let first_default = nin.saturating_sub(defaults.len());
    let mut in_index = 0;
    let mut parts = Vec::new();
    for (i, ty) in all.iter().enumerate() {
        let mode = modes.get(i).map(String::as_str).unwrap_or("i");
        if mode == "t" {
            continue;
        }
        let mut s = match mode {
            "o" => "OUT ".to_string(),
            "b" => "INOUT ".to_string(),
            "v" => "VARIADIC ".to_string(),
            _ => String::new(),
        };
        if let Some(n) = names.get(i).filter(|n| !n.is_empty()) {
            s.push_str(n);
            s.push(' ');
        }
        s.push_str(&arg_type_name(*ty));
        if mode != "o" {
            if with_defaults && in_index >= first_default && !defaults.is_empty() {
                s.push_str(" DEFAULT ");
                s.push_str(&defaults[in_index - first_default]);
            }
            in_index += 1;
        }
        parts.push(s);
    }
    if p.proallargtypes.is_none() && p.provariadic != 0 {
        if let Some(last) = parts.last_mut() {
            *last = format!("VARIADIC {last}");
        }
    }
    parts.join(", ")
}

fn builtin_proc(oid: u32) -> Option<&'static crate::catalog::builtin::ProcEntry> {
    crate::catalog::builtin::builtins()
        .procs
        .iter()
        .copied()
        .find(|p| p.oid == oid)
}

fn pg_get_function_arguments(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(builtin_proc(oid_arg(&a[0]))
        .map_or(Datum::Null, |p| Datum::Text(function_arguments(p, true))))
}

fn pg_get_function_identity_arguments(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(builtin_proc(oid_arg(&a[0]))
        .map_or(Datum::Null, |p| Datum::Text(function_arguments(p, false))))
}

/// `pg_get_function_result`: `SETOF t`, `TABLE(...)` or the type.
fn pg_get_function_result(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Some(p) = builtin_proc(oid_arg(&a[0])) else {
        return Ok(Datum::Null);
    };
    let modes = p.proargmodes.map(array_text_items).unwrap_or_default();
    if modes.iter().any(|m| m == "t") {
        let all: Vec<String> = p.proallargtypes.map(array_text_items).unwrap_or_default();
        let names = p.proargnames.map(array_text_items).unwrap_or_default();
        let cols: Vec<String> = modes
            .iter()
            .enumerate()
            .filter(|(_, m)| *m == "t")
            .map(|(i, _)| {
                let ty = all.get(i).and_then(|o| o.parse().ok()).unwrap_or(0);
                format!(
                    "{} {}",
                    names.get(i).cloned().unwrap_or_default(),
                    arg_type_name(ty)
                )
            })
            .collect();
        return Ok(Datum::Text(format!("TABLE({})", cols.join(", "))));
    }
    let ty = arg_type_name(p.prorettype);
    Ok(Datum::Text(if p.proretset {
        format!("SETOF {ty}")
    } else {
        ty
    }))
}

/// `pg_get_constraintdef(oid [, pretty])`: a CHECK constraint's
/// definition; NULL for an oid that is no constraint.
fn pg_get_constraintdef(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let pretty = matches!(a.get(1), Some(Datum::Bool(true)));
    Ok(
        match crate::catalog::syscache::constraint_def(oid_arg(&a[0]), pretty)? {
            Some(text) => Datum::Text(text),
            None => Datum::Null,
        },
    )
}

/// `pg_get_indexdef(index [, column, pretty])`: the index's CREATE INDEX
/// statement, or (column > 0) that key column's name; NULL for an oid
/// that is no index. Pretty: the table unqualified when visible.
fn pg_get_indexdef(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let column = match a.get(1) {
        Some(Datum::Int4(c)) => *c,
        _ => 0,
    };
    let pretty = matches!(a.get(2), Some(Datum::Bool(true)));
    Ok(
        match crate::catalog::syscache::index_def(oid_arg(&a[0]), column, pretty)? {
            Some(text) => Datum::Text(text),
            None => Datum::Null,
        },
    )
}

/// `pg_tablespace_location(oid)`: empty for the two built-in tablespaces
/// (they live in the data directory), NULL otherwise.
fn pg_tablespace_location(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    use crate::catalog::defs::{DEFAULTTABLESPACE_OID, GLOBALTABLESPACE_OID};
    let oid = oid_arg(&a[0]);
    Ok(
        if oid == DEFAULTTABLESPACE_OID || oid == GLOBALTABLESPACE_OID {
            Datum::Text(String::new())
        } else {
            Datum::Null
        },
    )
}

/// `pg_get_function_sqlbody(oid)`: NULL; no function has a SQL-standard
/// body (`BEGIN ATOMIC`) until CREATE FUNCTION exists.
fn pg_get_function_sqlbody(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Null)
}

fn visible_if(exists: bool) -> R {
    Ok(if exists {
        Datum::Bool(true)
    } else {
        Datum::Null
    })
}

fn pg_type_is_visible(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    visible_if(Type::from_oid(oid_arg(&a[0])).is_some())
}

fn pg_function_is_visible(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let oid = oid_arg(&a[0]);
    visible_if(
        crate::catalog::builtin::builtins()
            .procs
            .iter()
            .any(|p| p.oid == oid),
    )
}

fn pg_operator_is_visible(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let oid = oid_arg(&a[0]);
    visible_if(
        crate::catalog::builtin::builtins()
            .operators
            .iter()
            .any(|o| o.oid == oid),
    )
}

fn pg_collation_is_visible(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    visible_if(crate::catalog::builtin::pg_collation::by_oid(oid_arg(&a[0])).is_some())
}

// --- strings -------------------------------------------------------------------

fn length(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(text(&a[0]).chars().count() as i32))
}

fn octet_length(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(text(&a[0]).len() as i32))
}

/// PostgreSQL maps case one character at a time (`towupper`/`towlower`):
/// a character whose full mapping is several characters (`ß` → `SS`,
/// `ŉ` → `ʼN`) or that changes length by context stays as it is.
/// Characters whose case mapping under the cluster's libc (glibc's
/// C.UTF-8 `towupper`/`towlower`, which PostgreSQL 15 uses) differs from
/// Rust's single-character mapping: (char, upper, lower), sorted.
/// Generated by comparing `upper(chr(i))`/`lower(chr(i))` for every code
/// point with PostgreSQL 15's.
#[rustfmt::skip]
const CASE_EXCEPTIONS: &[(u32, u32, u32)] = &[
    (0x19B, 0x19B, 0x19B), (0x264, 0x264, 0x264), (0x1C89, 0x1C89, 0x1C89),
    (0x1C8A, 0x1C8A, 0x1C8A), (0x1F80, 0x1F88, 0x1F80), (0x1F81, 0x1F89, 0x1F81),
    (0x1F82, 0x1F8A, 0x1F82), (0x1F83, 0x1F8B, 0x1F83), (0x1F84, 0x1F8C, 0x1F84),
    (0x1F85, 0x1F8D, 0x1F85), (0x1F86, 0x1F8E, 0x1F86), (0x1F87, 0x1F8F, 0x1F87),
    (0x1F90, 0x1F98, 0x1F90), (0x1F91, 0x1F99, 0x1F91), (0x1F92, 0x1F9A, 0x1F92),
    (0x1F93, 0x1F9B, 0x1F93), (0x1F94, 0x1F9C, 0x1F94), (0x1F95, 0x1F9D, 0x1F95),
    (0x1F96, 0x1F9E, 0x1F96), (0x1F97, 0x1F9F, 0x1F97), (0x1FA0, 0x1FA8, 0x1FA0),
    (0x1FA1, 0x1FA9, 0x1FA1), (0x1FA2, 0x1FAA, 0x1FA2), (0x1FA3, 0x1FAB, 0x1FA3),
    (0x1FA4, 0x1FAC, 0x1FA4), (0x1FA5, 0x1FAD, 0x1FA5), (0x1FA6, 0x1FAE, 0x1FA6),
    (0x1FA7, 0x1FAF, 0x1FA7), (0x1FB3, 0x1FBC, 0x1FB3), (0x1FC3, 0x1FCC, 0x1FC3),
    (0x1FF3, 0x1FFC, 0x1FF3), (0xA7CB, 0xA7CB, 0xA7CB), (0xA7CC, 0xA7CC, 0xA7CC),
    (0xA7CD, 0xA7CD, 0xA7CD), (0xA7CE, 0xA7CE, 0xA7CE), (0xA7CF, 0xA7CF, 0xA7CF),
    (0xA7D2, 0xA7D2, 0xA7D2), (0xA7D3, 0xA7D3, 0xA7D3), (0xA7D4, 0xA7D4, 0xA7D4),
    (0xA7D5, 0xA7D5, 0xA7D5), (0xA7DA, 0xA7DA, 0xA7DA), (0xA7DB, 0xA7DB, 0xA7DB),
    (0xA7DC, 0xA7DC, 0xA7DC), (0x10D50, 0x10D50, 0x10D50), (0x10D51, 0x10D51, 0x10D51),
    (0x10D52, 0x10D52, 0x10D52), (0x10D53, 0x10D53, 0x10D53), (0x10D54, 0x10D54, 0x10D54),
    (0x10D55, 0x10D55, 0x10D55), (0x10D56, 0x10D56, 0x10D56), (0x10D57, 0x10D57, 0x10D57),
    (0x10D58, 0x10D58, 0x10D58), (0x10D59, 0x10D59, 0x10D59), (0x10D5A, 0x10D5A, 0x10D5A),
    (0x10D5B, 0x10D5B, 0x10D5B), (0x10D5C, 0x10D5C, 0x10D5C), (0x10D5D, 0x10D5D, 0x10D5D),
    (0x10D5E, 0x10D5E, 0x10D5E), (0x10D5F, 0x10D5F, 0x10D5F), (0x10D60, 0x10D60, 0x10D60),
    (0x10D61, 0x10D61, 0x10D61), (0x10D62, 0x10D62, 0x10D62), (0x10D63, 0x10D63, 0x10D63),
    (0x10D64, 0x10D64, 0x10D64), (0x10D65, 0x10D65, 0x10D65), (0x10D70, 0x10D70, 0x10D70),
    (0x10D71, 0x10D71, 0x10D71), (0x10D72, 0x10D72, 0x10D72), (0x10D73, 0x10D73, 0x10D73),
    (0x10D74, 0x10D74, 0x10D74), (0x10D75, 0x10D75, 0x10D75), (0x10D76, 0x10D76, 0x10D76),
    (0x10D77, 0x10D77, 0x10D77), (0x10D78, 0x10D78, 0x10D78), (0x10D79, 0x10D79, 0x10D79),
    (0x10D7A, 0x10D7A, 0x10D7A), (0x10D7B, 0x10D7B, 0x10D7B), (0x10D7C, 0x10D7C, 0x10D7C),
    (0x10D7D, 0x10D7D, 0x10D7D), (0x10D7E, 0x10D7E, 0x10D7E), (0x10D7F, 0x10D7F, 0x10D7F),
    (0x10D80, 0x10D80, 0x10D80), (0x10D81, 0x10D81, 0x10D81), (0x10D82, 0x10D82, 0x10D82),
    (0x10D83, 0x10D83, 0x10D83), (0x10D84, 0x10D84, 0x10D84), (0x10D85, 0x10D85, 0x10D85),
    (0x16EA0, 0x16EA0, 0x16EA0), (0x16EA1, 0x16EA1, 0x16EA1), (0x16EA2, 0x16EA2, 0x16EA2),
    (0x16EA3, 0x16EA3, 0x16EA3), (0x16EA4, 0x16EA4, 0x16EA4), (0x16EA5, 0x16EA5, 0x16EA5),
    (0x16EA6, 0x16EA6, 0x16EA6), (0x16EA7, 0x16EA7, 0x16EA7), (0x16EA8, 0x16EA8, 0x16EA8),
    (0x16EA9, 0x16EA9, 0x16EA9), (0x16EAA, 0x16EAA, 0x16EAA), (0x16EAB, 0x16EAB, 0x16EAB),
    (0x16EAC, 0x16EAC, 0x16EAC), (0x16EAD, 0x16EAD, 0x16EAD), (0x16EAE, 0x16EAE, 0x16EAE),
    (0x16EAF, 0x16EAF, 0x16EAF), (0x16EB0, 0x16EB0, 0x16EB0), (0x16EB1, 0x16EB1, 0x16EB1),
    (0x16EB2, 0x16EB2, 0x16EB2), (0x16EB3, 0x16EB3, 0x16EB3), (0x16EB4, 0x16EB4, 0x16EB4),
    (0x16EB5, 0x16EB5, 0x16EB5), (0x16EB6, 0x16EB6, 0x16EB6), (0x16EB7, 0x16EB7, 0x16EB7),
    (0x16EB8, 0x16EB8, 0x16EB8), (0x16EBB, 0x16EBB, 0x16EBB), (0x16EBC, 0x16EBC, 0x16EBC),
    (0x16EBD, 0x16EBD, 0x16EBD), (0x16EBE, 0x16EBE, 0x16EBE), (0x16EBF, 0x16EBF, 0x16EBF),
    (0x16EC0, 0x16EC0, 0x16EC0), (0x16EC1, 0x16EC1, 0x16EC1), (0x16EC2, 0x16EC2, 0x16EC2),
    (0x16EC3, 0x16EC3, 0x16EC3), (0x16EC4, 0x16EC4, 0x16EC4), (0x16EC5, 0x16EC5, 0x16EC5),
    (0x16EC6, 0x16EC6, 0x16EC6), (0x16EC7, 0x16EC7, 0x16EC7), (0x16EC8, 0x16EC8, 0x16EC8),
    (0x16EC9, 0x16EC9, 0x16EC9), (0x16ECA, 0x16ECA, 0x16ECA), (0x16ECB, 0x16ECB, 0x16ECB),
    (0x16ECC, 0x16ECC, 0x16ECC), (0x16ECD, 0x16ECD, 0x16ECD), (0x16ECE, 0x16ECE, 0x16ECE),
    (0x16ECF, 0x16ECF, 0x16ECF), (0x16ED0, 0x16ED0, 0x16ED0), (0x16ED1, 0x16ED1, 0x16ED1),
    (0x16ED2, 0x16ED2, 0x16ED2), (0x16ED3, 0x16ED3, 0x16ED3),
];

fn case_exception(c: char) -> Option<(char, char)> {
    let i = CASE_EXCEPTIONS
        .binary_search_by_key(&(c as u32), |e| e.0)
        .ok()?;
    let (_, u, l) = CASE_EXCEPTIONS[i];
    Some((
        char::from_u32(u).expect("a table of characters"),
        char::from_u32(l).expect("a table of characters"),
    ))
}

pub(crate) fn simple_upper(c: char) -> char {
    if let Some((u, _)) = case_exception(c) {
        return u;
    }
    let mut m = c.to_uppercase();
    match (m.next(), m.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub(crate) fn simple_lower(c: char) -> char {
    // The one character whose full lower-case mapping is longer than its
    // simple one (UnicodeData's `İ` → `i`, as towlower maps it).
    if c == '\u{130}' {
        return 'i';
    }
    if let Some((_, l)) = case_exception(c) {
        return l;
    }
    let mut m = c.to_lowercase();
    match (m.next(), m.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn lower(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(text(&a[0]).chars().map(simple_lower).collect()))
}

fn upper(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(text(&a[0]).chars().map(simple_upper).collect()))
}

fn initcap(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let mut out = String::new();
    let mut prev_alnum = false;
    for c in text(&a[0]).chars() {
        if prev_alnum {
            out.push(simple_lower(c));
        } else {
            out.push(simple_upper(c));
        }
        prev_alnum = c.is_alphanumeric();
    }
    Ok(Datum::Text(out))
}

/// `text_substring`: characters `start .. start + len` clipped to the string.
fn substr(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = text(&a[0]);
    let start = int(&a[1]);
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let s1 = start.max(1);
    let e = if let Some(l) = a.get(2) {
        let len = int(l);
        if len < 0 {
            return Err(err("22011", "negative substring length not allowed"));
        }
        start.saturating_add(len)
    } else {
        i64::MAX
    };
    if e <= s1 || s1 > n {
        return Ok(Datum::Text(String::new()));
    }
    let from = (s1 - 1) as usize;
    let to = (e - 1).min(n) as usize;
    Ok(Datum::Text(chars[from..to].iter().collect()))
}

/// `position(substring in string)` / `strpos(string, substring)`.
fn strpos(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (s, sub) = (text(&a[0]), text(&a[1]));
    Ok(Datum::Int4(match s.find(sub) {
        Some(b) => s[..b].chars().count() as i32 + 1,
        None => 0,
    }))
}

fn trim_impl(a: &[Datum], left: bool, right: bool) -> R {
    let s = text(&a[0]);
    let set: Vec<char> = match a.get(1) {
        Some(d) => text(d).chars().collect(),
        None => vec![' '],
    };
    let mut out: &str = s;
    if left {
        out = out.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        out = out.trim_end_matches(|c| set.contains(&c));
    }
    Ok(Datum::Text(out.to_string()))
}

fn btrim(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    trim_impl(a, true, true)
}

fn ltrim(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    trim_impl(a, true, false)
}

fn rtrim(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    trim_impl(a, false, true)
}

fn replace(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (s, from, to) = (text(&a[0]), text(&a[1]), text(&a[2]));
    if from.is_empty() {
        return Ok(Datum::Text(s.to_string()));
    }
    // replace_text appends each piece to a StringInfo: the same checks,
    // before the result is built.
    let mut len = 0usize;
    let mut start = 0;
    for (i, _) in s.match_indices(from) {
        stringinfo::check_enlarge(len, i - start)?;
        len += i - start;
        stringinfo::check_enlarge(len, to.len())?;
        len += to.len();
        start = i + from.len();
    }
    stringinfo::check_enlarge(len, s.len() - start)?;
    Ok(Datum::Text(s.replace(from, to)))
}

fn concat(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let mut out = stringinfo::StringInfo::new();
    for (d, ty) in a.iter().zip(t) {
        if let Some(s) = adt::output(d, *ty, &cx.fmt) {
            out.append(&s)?;
        }
    }
    Ok(Datum::Text(out.into_string()))
}

fn concat_ws(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let Datum::Text(sep) = &a[0] else {
        return Ok(Datum::Null);
    };
    let mut out = stringinfo::StringInfo::new();
    let mut first = true;
    for (d, ty) in a[1..].iter().zip(&t[1..]) {
        if let Some(s) = adt::output(d, *ty, &cx.fmt) {
            if !first {
                out.append(sep)?;
            }
            first = false;
            out.append(&s)?;
        }
    }
    Ok(Datum::Text(out.into_string()))
}

fn left(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let chars: Vec<char> = text(&a[0]).chars().collect();
    let n = int(&a[1]);
    let k = if n >= 0 {
        (n as usize).min(chars.len())
    } else {
        chars.len().saturating_sub(n.unsigned_abs() as usize)
    };
    Ok(Datum::Text(chars[..k].iter().collect()))
}

fn right(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let chars: Vec<char> = text(&a[0]).chars().collect();
    let n = int(&a[1]);
    let k = if n >= 0 {
        (n as usize).min(chars.len())
    } else {
        chars.len().saturating_sub(n.unsigned_abs() as usize)
    };
    Ok(Datum::Text(chars[chars.len() - k..].iter().collect()))
}

fn repeat(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let n = int(&a[1]).max(0) as usize;
    let s = text(&a[0]);
    stringinfo::check_result_len(s.len().checked_mul(n))?;
    Ok(Datum::Text(s.repeat(n)))
}

fn reverse(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Text(text(&a[0]).chars().rev().collect()))
}

/// `lpad`/`rpad` (oracle_compat.c): the worst-case size (4 bytes a
/// character in UTF8) is checked before anything is built.
fn pad(a: &[Datum], left: bool) -> R {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let mut len = int(&a[1]).max(0) as usize;
    let fill: Vec<char> = match a.get(2) {
        Some(d) => text(d).chars().collect(),
        None => vec![' '],
    };
    if fill.is_empty() {
        len = len.min(s.len());
    }
    stringinfo::check_result_len(len.checked_mul(4))?;
    if s.len() >= len || fill.is_empty() {
        return Ok(Datum::Text(s.iter().take(len).collect()));
    }
    let padding: String = fill.iter().cycle().take(len - s.len()).collect();
    let body: String = s.iter().collect();
    Ok(Datum::Text(if left {
        padding + &body
    } else {
        body + &padding
    }))
}

fn lpad(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    pad(a, true)
}

fn rpad(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    pad(a, false)
}

fn split_part(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let (s, delim, n) = (text(&a[0]), text(&a[1]), int(&a[2]));
    if n == 0 {
        return Err(err(
            sqlstate::INVALID_PARAMETER_VALUE,
            "field position must not be zero",
        ));
    }
    if s.is_empty() {
        return Ok(Datum::Text(String::new()));
    }
    let parts: Vec<&str> = if delim.is_empty() {
        vec![s]
    } else {
        s.split(delim).collect()
    };
    let idx = if n > 0 { n - 1 } else { parts.len() as i64 + n };
    Ok(Datum::Text(if idx >= 0 {
        parts.get(idx as usize).copied().unwrap_or("").to_string()
    } else {
        String::new()
    }))
}

fn starts_with(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(text(&a[0]).starts_with(text(&a[1]))))
}

fn chr(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let c = int(&a[0]);
    if c == 0 {
        return Err(err(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            "null character not permitted",
        ));
    }
    if c < 0 {
        return Err(err(
            sqlstate::INVALID_PARAMETER_VALUE,
            "character number must be positive",
        ));
    }
    if c > 0x10FFFF {
        return Err(err(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            &format!("requested character too large for encoding: {c}"),
        ));
    }
    match u32::try_from(c).ok().and_then(char::from_u32) {
        Some(ch) => Ok(Datum::Text(ch.to_string())),
        None => Err(err(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            &format!("requested character not valid for encoding: {c}"),
        )),
    }
}

fn ascii(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Int4(
        text(&a[0]).chars().next().map(|c| c as i32).unwrap_or(0),
    ))
}

// --- numbers -------------------------------------------------------------------

fn abs(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    match &a[0] {
        Datum::Numeric(n) => Ok(Datum::Numeric(n.abs())),
        Datum::Float8(v) => Ok(Datum::Float8(v.abs())),
        Datum::Float4(v) => Ok(Datum::Float4(v.abs())),
        d => make_int(as_i128(d).expect("integer").abs(), ret),
    }
}

fn round_float(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    float_result(f64_arg(&a[0]).round_ties_even(), ret)
}

fn trunc_float(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    float_result(f64_arg(&a[0]).trunc(), ret)
}

fn floor_float(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    float_result(f64_arg(&a[0]).floor(), ret)
}

fn ceil_float(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    float_result(f64_arg(&a[0]).ceil(), ret)
}

fn sign_float(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    let v = f64_arg(&a[0]);
    float_result(
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        },
        ret,
    )
}

fn round_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = a
        .get(1)
        .map(int)
        .unwrap_or(0)
        .clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    Ok(Datum::Numeric(numeric(&a[0]).round(s)))
}

fn trunc_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let s = a
        .get(1)
        .map(int)
        .unwrap_or(0)
        .clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    Ok(Datum::Numeric(numeric(&a[0]).trunc(s)))
}

fn floor_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).floor()))
}

fn ceil_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).ceil()))
}

fn sign_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).sign()))
}

fn mod_int(_: &mut EvalContext, a: &[Datum], _: &[Type], ret: Type) -> R {
    let (x, y) = (
        as_i128(&a[0]).expect("integer"),
        as_i128(&a[1]).expect("integer"),
    );
    if y == 0 {
        return Err(err(sqlstate::DIVISION_BY_ZERO, "division by zero"));
    }
    make_int(x % y, ret)
}

fn mod_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).rem(numeric(&a[1]))?))
}

fn sqrt(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let v = f64_arg(&a[0]);
    if v < 0.0 {
        return Err(err("2201F", "cannot take square root of a negative number"));
    }
    Ok(Datum::Float8(v.sqrt()))
}

fn cbrt(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Float8(glibc_cbrt(f64_arg(&a[0]))))
}

/// `cbrt` as glibc computes it (PostgreSQL's `dcbrt` calls libm), so that
/// the last digit agrees: `cbrt(27)` is 3.0000000000000004 there.
fn glibc_cbrt(x: f64) -> f64 {
    const CBRT2: f64 = 1.259_921_049_894_873_164_8;
    const SQR_CBRT2: f64 = 1.587_401_051_968_199_474_8;
    const FACTOR: [f64; 5] = [1.0 / SQR_CBRT2, 1.0 / CBRT2, 1.0, CBRT2, SQR_CBRT2];
    if !x.is_finite() || x == 0.0 {
        return x + x;
    }
    // frexp: |x| = xm * 2^xe with xm in [0.5, 1).
    let (mut xm, mut xe) = (x.abs(), 0i32);
    if xm < f64::MIN_POSITIVE {
        xm *= 2f64.powi(54);
        xe -= 54;
    }
    let bits = xm.to_bits();
    xe += ((bits >> 52) & 0x7ff) as i32 - 1022;
    xm = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    let u = 0.354_895_765_043_919_86
        + (1.508_191_937_815_848_96
            + (-2.114_994_941_673_712_87
                + (2.446_931_225_635_344_3
                    + (-1.834_692_774_836_130_86
                        + (0.784_932_344_976_639_262 - 0.145_263_899_385_486_377 * xm) * xm)
                        * xm)
                    * xm)
                * xm)
            * xm;
    let t2 = u * u * u;
    let ym = u * (t2 + 2.0 * xm) / (2.0 * t2 + xm) * FACTOR[(2 + xe % 3) as usize];
    let r = if x > 0.0 { ym } else { -ym };
    // ldexp(r, xe / 3), in two steps so that no factor overflows.
    let e = xe / 3;
    r * 2f64.powi(e / 2) * 2f64.powi(e - e / 2)
}

fn exp(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let v = f64_arg(&a[0]);
    let r = v.exp();
    Ok(Datum::Float8(adt::float::check_float8(
        r,
        v.is_infinite(),
        v.is_infinite() || r != 0.0,
    )?))
}

fn log_impl(v: f64, base10: bool) -> R {
    if v == 0.0 {
        return Err(err("2201E", "cannot take logarithm of zero"));
    }
    if v < 0.0 {
        return Err(err("2201E", "cannot take logarithm of a negative number"));
    }
    Ok(Datum::Float8(if base10 { v.log10() } else { v.ln() }))
}

fn ln(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    log_impl(f64_arg(&a[0]), false)
}

fn log10(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    log_impl(f64_arg(&a[0]), true)
}

fn pi(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Float8(std::f64::consts::PI))
}

fn degrees(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Float8(f64_arg(&a[0]).to_degrees()))
}

fn radians(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Float8(f64_arg(&a[0]).to_radians()))
}

thread_local! {
    static RANDOM_STATE: Cell<u64> = const { Cell::new(0) };
}

/// `random()`: xorshift64* seeded from the clock and pid on first use.
fn random(_: &mut EvalContext, _: &[Datum], _: &[Type], _: Type) -> R {
    let v = RANDOM_STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            let (sec, us) = crate::utils::time::now_unix();
            x = (sec as u64).wrapping_mul(1_000_003)
                ^ (us as u64) << 20
                ^ (std::process::id() as u64) << 40
                | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    });
    Ok(Datum::Float8((v >> 11) as f64 / (1u64 << 53) as f64))
}

fn sqrt_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).sqrt()?))
}

fn power_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).power(numeric(&a[1]))?))
}

fn exp_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).exp()?))
}

fn ln_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(numeric(&a[0]).ln()?))
}

fn log10_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(Numeric::log(
        &Numeric::from_i64(10),
        numeric(&a[0]),
    )?))
}

fn log_numeric(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Numeric(Numeric::log(
        numeric(&a[0]),
        numeric(&a[1]),
    )?))
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    b.func("version", &[], Text, version);
    b.func("current_user", &[], Name, current_user);
    b.func("session_user", &[], Name, session_user);
    b.func("current_role", &[], Name, current_user);
    b.func("user", &[], Name, current_user);
    b.func("current_database", &[], Name, current_database);
    b.func("current_catalog", &[], Name, current_database);
    b.func("pg_client_encoding", &[], Name, pg_client_encoding);
    b.func("getdatabaseencoding", &[], Name, getdatabaseencoding);
    b.func("pg_encoding_to_char", &[Int4], Name, pg_encoding_to_char);
    b.func("pg_char_to_encoding", &[Name], Int4, pg_char_to_encoding);
    b.func("current_schema", &[], Name, current_schema);
    b.func(
        "current_schemas",
        &[Bool],
        Type::from_oid(1003).expect("_name has a pg_type row"),
        current_schemas,
    );
    b.func("pg_backend_pid", &[], Int4, pg_backend_pid);
    b.func("pg_sleep", &[Float8], Void, pg_sleep);
    b.func("ssl_is_used", &[], Bool, ssl_is_used);
    b.func("ssl_version", &[], Text, ssl_version);
    b.func("ssl_cipher", &[], Text, ssl_cipher);
    b.func(
        "ssl_client_cert_present",
        &[],
        Bool,
        ssl_client_cert_present,
    );
    b.func("ssl_client_serial", &[], Numeric, ssl_client_serial);
    b.func("ssl_client_dn", &[], Text, ssl_client_dn);
    b.func("ssl_issuer_dn", &[], Text, ssl_issuer_dn);
    b.func("pg_cancel_backend", &[Int4], Bool, pg_cancel_backend);
    b.func("pg_terminate_backend", &[Int4], Bool, pg_terminate_backend);
    b.func(
        "pg_terminate_backend",
        &[Int4, Int8],
        Bool,
        pg_terminate_backend,
    );
    b.func("pg_reload_conf", &[], Bool, pg_reload_conf);
    b.func("pg_stat_reset", &[], Void, pg_stat_reset);
    b.func("pg_stat_reset_shared", &[Text], Void, pg_stat_reset_shared);
    b.func(
        "pg_stat_reset_single_table_counters",
        &[Oid],
        Void,
        pg_stat_reset_single_table_counters,
    );
    b.func(
        "pg_stat_reset_single_table_counters",
        &[Text],
        Void,
        pg_stat_reset_single_table_counters,
    );
    b.func("pg_stat_clear_snapshot", &[], Void, pg_stat_clear_snapshot);
    b.func(
        "pg_postmaster_start_time",
        &[],
        Timestamptz,
        pg_postmaster_start_time,
    );
    b.func("now", &[], Timestamptz, now);
    b.func("transaction_timestamp", &[], Timestamptz, now);
    b.func("current_timestamp", &[], Timestamptz, now);
    b.func("statement_timestamp", &[], Timestamptz, statement_timestamp);
    b.func("clock_timestamp", &[], Timestamptz, clock_timestamp);
    b.func("current_setting", &[Text], Text, current_setting);
    b.func("current_setting", &[Text, Bool], Text, current_setting);
    b.func_nonstrict(
        "set_config",
        &[ArgType::T(Text), ArgType::T(Text), ArgType::T(Bool)],
        Text,
        set_config,
        false,
    );
    b.func_nonstrict("pg_typeof", &[ArgType::Any], Regtype, pg_typeof, false);
    b.func_nonstrict(
        "format_type",
        &[ArgType::T(Oid), ArgType::T(Int4)],
        Text,
        format_type,
        false,
    );
    b.func("to_regtype", &[Text], Regtype, to_regtype);
    for (name, ty) in [
        ("to_regclass", Regclass),
        ("to_regproc", Regproc),
        ("to_regprocedure", Regprocedure),
        ("to_regoper", Regoper),
        ("to_regoperator", Regoperator),
        ("to_regnamespace", Regnamespace),
        ("to_regrole", Regrole),
        ("to_regcollation", Regcollation),
    ] {
        b.func(name, &[Text], ty, to_reg);
    }
    b.func("pg_get_userbyid", &[Oid], Name, pg_get_userbyid);
    b.func("obj_description", &[Oid, Name], Text, obj_description);
    b.func("pg_get_expr", &[Text, Oid], Text, pg_get_expr);
    b.func(
        "pg_get_function_arguments",
        &[Oid],
        Text,
        pg_get_function_arguments,
    );
    b.func(
        "pg_get_function_identity_arguments",
        &[Oid],
        Text,
        pg_get_function_identity_arguments,
    );
    b.func(
        "pg_get_function_result",
        &[Oid],
        Text,
        pg_get_function_result,
    );
    b.func(
        "pg_get_function_sqlbody",
        &[Oid],
        Text,
        pg_get_function_sqlbody,
    );
    b.func("pg_get_constraintdef", &[Oid], Text, pg_get_constraintdef);
    b.func("pg_get_indexdef", &[Oid], Text, pg_get_indexdef);
    b.func("pg_get_indexdef", &[Oid, Int4, Bool], Text, pg_get_indexdef);
    b.func(
        "pg_get_constraintdef",
        &[Oid, Bool],
        Text,
        pg_get_constraintdef,
    );
    b.func(
        "pg_tablespace_location",
        &[Oid],
        Text,
        pg_tablespace_location,
    );
    b.func("pg_get_expr", &[Text, Oid, Bool], Text, pg_get_expr);
    b.func(
        "pg_relation_is_publishable",
        &[Regclass],
        Bool,
        pg_relation_is_publishable,
    );
    b.func(
        "pg_get_statisticsobjdef_columns",
        &[Oid],
        Text,
        pg_get_statisticsobjdef_columns,
    );
    b.func("obj_description", &[Oid], Text, obj_description);
    b.func("col_description", &[Oid, Int4], Text, col_description);
    b.func("pg_table_is_visible", &[Oid], Bool, pg_table_is_visible);
    b.func("pg_type_is_visible", &[Oid], Bool, pg_type_is_visible);
    b.func(
        "pg_function_is_visible",
        &[Oid],
        Bool,
        pg_function_is_visible,
    );
    b.func(
        "pg_operator_is_visible",
        &[Oid],
        Bool,
        pg_operator_is_visible,
    );
    b.func(
        "pg_collation_is_visible",
        &[Oid],
        Bool,
        pg_collation_is_visible,
    );

    for name in ["length", "char_length", "character_length"] {
        b.func(name, &[Text], Int4, length);
    }
    b.func("octet_length", &[Text], Int4, octet_length);
    b.func("lower", &[Text], Text, lower);
    b.func("upper", &[Text], Text, upper);
    b.func("initcap", &[Text], Text, initcap);
    for name in ["substr", "substring"] {
        b.func(name, &[Text, Int4], Text, substr);
        b.func(name, &[Text, Int4, Int4], Text, substr);
    }
    b.func("position", &[Text, Text], Int4, strpos);
    b.func("strpos", &[Text, Text], Int4, strpos);
    b.func("btrim", &[Text], Text, btrim);
    b.func("btrim", &[Text, Text], Text, btrim);
    b.func("ltrim", &[Text], Text, ltrim);
    b.func("ltrim", &[Text, Text], Text, ltrim);
    b.func("rtrim", &[Text], Text, rtrim);
    b.func("rtrim", &[Text, Text], Text, rtrim);
    b.func("replace", &[Text, Text, Text], Text, replace);
    b.func_nonstrict("concat", &[ArgType::Any], Text, concat, true);
    b.func_nonstrict(
        "concat_ws",
        &[ArgType::T(Text), ArgType::Any],
        Text,
        concat_ws,
        true,
    );
    b.func("left", &[Text, Int4], Text, left);
    b.func("right", &[Text, Int4], Text, right);
    b.func("repeat", &[Text, Int4], Text, repeat);
    b.func("reverse", &[Text], Text, reverse);
    b.func("lpad", &[Text, Int4], Text, lpad);
    b.func("lpad", &[Text, Int4, Text], Text, lpad);
    b.func("rpad", &[Text, Int4], Text, rpad);
    b.func("rpad", &[Text, Int4, Text], Text, rpad);
    b.func("split_part", &[Text, Text, Int4], Text, split_part);
    b.func("starts_with", &[Text, Text], Bool, starts_with);
    b.func("chr", &[Int4], Text, chr);
    b.func("ascii", &[Text], Int4, ascii);

    for t in [Int2, Int4, Int8, Float4, Float8, Numeric] {
        b.func("abs", &[t], t, abs);
    }
    for t in [Int2, Int4, Int8] {
        b.func("mod", &[t, t], t, mod_int);
    }
    b.func("mod", &[Numeric, Numeric], Numeric, mod_numeric);
    b.func("round", &[Float8], Float8, round_float);
    b.func("round", &[Numeric], Numeric, round_numeric);
    b.func("round", &[Numeric, Int4], Numeric, round_numeric);
    b.func("trunc", &[Float8], Float8, trunc_float);
    b.func("trunc", &[Numeric], Numeric, trunc_numeric);
    b.func("trunc", &[Numeric, Int4], Numeric, trunc_numeric);
    b.func("floor", &[Float8], Float8, floor_float);
    b.func("floor", &[Numeric], Numeric, floor_numeric);
    for name in ["ceil", "ceiling"] {
        b.func(name, &[Float8], Float8, ceil_float);
        b.func(name, &[Numeric], Numeric, ceil_numeric);
    }
    b.func("sign", &[Float8], Float8, sign_float);
    b.func("sign", &[Numeric], Numeric, sign_numeric);
    b.func("sqrt", &[Float8], Float8, sqrt);
    b.func("cbrt", &[Float8], Float8, cbrt);
    b.func("exp", &[Float8], Float8, exp);
    b.func("ln", &[Float8], Float8, ln);
    b.func("log", &[Float8], Float8, log10);
    b.func("log10", &[Float8], Float8, log10);
    b.func("power", &[Float8, Float8], Float8, float8_pow);
    b.func("pow", &[Float8, Float8], Float8, float8_pow);
    b.func("sqrt", &[Numeric], Numeric, sqrt_numeric);
    b.func("exp", &[Numeric], Numeric, exp_numeric);
    b.func("ln", &[Numeric], Numeric, ln_numeric);
    b.func("log", &[Numeric], Numeric, log10_numeric);
    b.func("log10", &[Numeric], Numeric, log10_numeric);
    b.func("log", &[Numeric, Numeric], Numeric, log_numeric);
    for name in ["power", "pow"] {
        b.func(name, &[Numeric, Numeric], Numeric, power_numeric);
    }
    b.op("^", Numeric, Numeric, Numeric, Impl::Scalar(power_numeric));
    for t in [Int2, Int4, Int8, Float4, Float8, Numeric] {
        b.prefix("@", t, t, Impl::Scalar(abs));
    }
    b.func("pi", &[], Float8, pi);
    b.func("degrees", &[Float8], Float8, degrees);
    b.func("radians", &[Float8], Float8, radians);
    b.func("random", &[], Float8, random);
}
