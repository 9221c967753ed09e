//! The object-identifier alias types (PostgreSQL's `regproc.c`): `regproc`,
//! `regprocedure`, `regoper`, `regoperator`, `regclass`, `regtype`,
//! `regnamespace`, `regrole` and `regcollation`.
//!
//! Each is an `oid` on disk and on the wire ([`Datum::Oid`]); only its text
//! input and output differ: they turn a name into the object's oid and
//! back, reading the catalogs through [`crate::catalog::syscache`] (tables
//! and schemas, which change) or the built-in tables (functions, operators,
//! types and collations, which cannot be created yet). As in PostgreSQL:
//! - output of an oid with no object is the number, and of 0 is `-` (`0`
//!   for the two operator types);
//! - input takes a number as the oid itself, `-` as 0, otherwise a name in
//!   identifier syntax (quoted or downcased, dotted where a schema may
//!   qualify it); a name that matches nothing is an error (the `to_reg*`
//!   functions make it NULL instead, see [`reg_lookup`]);
//! - a name is printed qualified only where reading it back unqualified
//!   would not find the same object (`regclass` of a table outside the
//!   search path, an overloaded operator's `regoper`).

use super::Datum;
use crate::catalog::builtin::{self, pg_collation};
use crate::catalog::syscache;
use crate::sql::types::Type;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::guc::hooks::split_identifier_string;

/// `quote_identifier`.
fn quote(s: &str) -> String {
    crate::sql::explain::tree::quote_ident(s)
}

/// Text output of an oid of the alias type `ty`.
pub fn reg_out(oid: u32, ty: Type) -> String {
    if oid == 0 {
        return if matches!(ty, Type::Regoper | Type::Regoperator) {
            "0"
        } else {
            "-"
        }
        .to_string();
    }
    let name = match ty {
        Type::Regproc => Some(builtin::regproc_name(oid)),
        Type::Regtype => Type::from_oid(oid).map(|t| t.name().to_string()),
        Type::Regprocedure => format_procedure(oid),
        Type::Regoper => builtin::builtins()
            .operators
            .iter()
            .find(|o| o.oid == oid)
            .map(|o| {
                let overloaded = builtin::builtins()
                    .operators
                    .iter()
                    .filter(|x| x.oprname == o.oprname)
                    .count()
                    > 1;
                if overloaded {
                    format!("pg_catalog.{}", o.oprname)
                } else {
                    o.oprname.to_string()
                }
            }),
        Type::Regoperator => format_operator(oid),
        Type::Regclass => regclass_out(oid),
        Type::Regnamespace => syscache::namespace_name(oid)
            .ok()
            .flatten()
            .map(|n| quote(&n)),
        Type::Regrole => syscache::role_name(oid).map(|n| quote(&n)),
        Type::Regcollation => pg_collation::by_oid(oid).map(|c| quote(c.collname)),
        _ => unreachable!("reg_out of {ty:?}"),
    };
    name.unwrap_or_else(|| oid.to_string())
}

fn type_name(oid: u32) -> String {
    match Type::from_oid(oid) {
        Some(t) => t.name().to_string(),
        None => "???".to_string(),
    }
}

/// `format_procedure`: `name(argtype,...)`.
fn format_procedure(oid: u32) -> Option<String> {
    let p = builtin::builtins().procs.iter().find(|p| p.oid == oid)?;
    let args: Vec<String> = p.proargtypes.iter().map(|a| type_name(*a)).collect();
    Some(format!("{}({})", quote(p.proname), args.join(",")))
}

/// `format_operator`: `op(lefttype,righttype)`, `NONE` for a prefix
/// operator's missing left operand.
fn format_operator(oid: u32) -> Option<String> {
    let o = builtin::builtins()
        .operators
        .iter()
        .find(|o| o.oid == oid)?;
    let left = if o.oprleft == 0 {
        "NONE".to_string()
    } else {
        type_name(o.oprleft)
    };
    Some(format!("{}({},{})", o.oprname, left, type_name(o.oprright)))
}

fn regclass_out(oid: u32) -> Option<String> {
    let rel = syscache::relation(oid).ok().flatten()?;
    if syscache::relation_is_visible(oid).unwrap_or(false) {
        return Some(quote(&rel.name));
    }
    let nsp = syscache::namespace_name(rel.namespace)
        .ok()
        .flatten()
        .unwrap_or_default();
    Some(format!("{}.{}", quote(&nsp), quote(&rel.name)))
}

/// Text input of the alias type `ty`: an oid, `-`, or a name that must
/// match an object.
pub fn reg_in(input: &str, ty: Type) -> PgResult<u32> {
    match reg_lookup(input, ty)? {
        Lookup::Found(oid) => Ok(oid),
        Lookup::Missing(e) => Err(e),
    }
}

/// What a name lookup found: the oid, or the error `reg_in` raises
/// (`to_reg*` returns NULL for it; syntax errors are raised by both).
pub enum Lookup {
    Found(u32),
    Missing(PgError),
}

fn undefined(code: &'static str, msg: String) -> PgResult<Lookup> {
    Ok(Lookup::Missing(PgError::error(code, msg)))
}

/// Reads `input` as a value of the alias type `ty`.
pub fn reg_lookup(input: &str, ty: Type) -> PgResult<Lookup> {
    let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        return super::oid_in(s).map(Lookup::Found);
    }
    if s == "-" && !matches!(ty, Type::Regoper | Type::Regoperator) {
        return Ok(Lookup::Found(0));
    }
    match ty {
        Type::Regproc => match builtin::procs_named(unqualified(&names(input)?)?).as_slice() {
            [oid] => Ok(Lookup::Found(*oid)),
            [] => undefined(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function \"{input}\" does not exist"),
            ),
            _ => Err(PgError::error(
                sqlstate::AMBIGUOUS_FUNCTION,
                format!("more than one function named \"{input}\""),
            )),
        },
        Type::Regtype => match super::regtype_in(input) {
            Ok(oid) => Ok(Lookup::Found(oid)),
            Err(e) if e.sqlstate == sqlstate::UNDEFINED_OBJECT => Ok(Lookup::Missing(e)),
            Err(e) => Err(e),
        },
        Type::Regprocedure => {
            let (name, args) = name_and_arg_types(input, false)?;
            let name = unqualified(&names(name)?)?.to_string();
            let found = builtin::builtins()
                .procs
                .iter()
                .find(|p| p.proname == name && p.proargtypes == args.as_slice());
            match found {
                Some(p) => Ok(Lookup::Found(p.oid)),
                None => undefined(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function \"{input}\" does not exist"),
                ),
            }
        }
        Type::Regoper => {
            let n = names(input)?;
            let name = unqualified(&n)?;
            let ops: Vec<_> = builtin::builtins()
                .operators
                .iter()
                .filter(|o| o.oprname == name)
                .collect();
            match ops.as_slice() {
                [o] => Ok(Lookup::Found(o.oid)),
                [] => undefined(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("operator does not exist: {input}"),
                ),
                _ => Err(PgError::error(
                    sqlstate::AMBIGUOUS_FUNCTION,
                    format!("more than one operator named {input}"),
                )),
            }
        }
        Type::Regoperator => {
            let (name, args) = name_and_arg_types(input, true)?;
            match args.len() {
                1 => {
                    return Err(
                        PgError::error(sqlstate::UNDEFINED_PARAMETER, "missing argument")
                            .with_hint(
                                "Use NONE to denote the missing argument of a unary operator.",
                            ),
                    );
                }
                2 => {}
                _ => {
                    return Err(
                        PgError::error(sqlstate::TOO_MANY_ARGUMENTS, "too many arguments")
                            .with_hint("Provide two argument types for operator."),
                    );
                }
            }
            let n = names(name)?;
            let name = unqualified(&n)?;
            let found = builtin::builtins()
                .operators
                .iter()
                .find(|o| o.oprname == name && o.oprleft == args[0] && o.oprright == args[1]);
            match found {
                Some(o) => Ok(Lookup::Found(o.oid)),
                None => undefined(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("operator does not exist: {input}"),
                ),
            }
        }
        Type::Regclass => regclass_in(input),
        Type::Regnamespace => {
            let n = names(input)?;
            if n.len() != 1 {
                return Err(invalid_name());
            }
            match syscache::namespace_oid(&n[0])? {
                Some(oid) => Ok(Lookup::Found(oid)),
                None => undefined(
                    sqlstate::INVALID_SCHEMA_NAME,
                    format!("schema \"{}\" does not exist", n[0]),
                ),
            }
        }
        Type::Regrole => {
            let n = names(input)?;
            if n.len() != 1 {
                return Err(invalid_name());
            }
            match syscache::role_oid(&n[0]) {
                Some(oid) => Ok(Lookup::Found(oid)),
                None => undefined(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("role \"{}\" does not exist", n[0]),
                ),
            }
        }
        Type::Regcollation => {
            let n = names(input)?;
            let (schema, name) = match n.as_slice() {
                [name] => (None, name),
                [schema, name] => (Some(schema), name),
                [_, schema, name] => (Some(schema), name),
                _ => return Err(too_many_dots("qualified name", &n)),
            };
            if let Some(missing) = missing_schema(schema)? {
                return Ok(missing);
            }
            let found =
                pg_collation::by_name(name).filter(|_| schema.is_none_or(|s| s == "pg_catalog"));
            match found {
                Some(c) => Ok(Lookup::Found(c.oid)),
                None => undefined(
                    sqlstate::UNDEFINED_OBJECT,
                    format!(
                        "collation \"{}\" for encoding \"UTF8\" does not exist",
                        n.join(".")
                    ),
                ),
            }
        }
        _ => unreachable!("reg_lookup of {ty:?}"),
    }
}

/// 42601 for a name of more parts than `what` may have.
fn too_many_dots(what: &str, n: &[String]) -> PgError {
    PgError::error(
        sqlstate::SYNTAX_ERROR,
        format!("improper {what} (too many dotted names): {}", n.join(".")),
    )
}

/// The lookup's answer when the name's schema does not exist (3F000).
fn missing_schema(schema: Option<&String>) -> PgResult<Option<Lookup>> {
    match schema {
        Some(s) if syscache::namespace_oid(s)?.is_none() => {
            Ok(Some(Lookup::Missing(PgError::error(
                sqlstate::INVALID_SCHEMA_NAME,
                format!("schema \"{s}\" does not exist"),
            ))))
        }
        _ => Ok(None),
    }
}

fn invalid_name() -> PgError {
    PgError::error(sqlstate::INVALID_NAME, "invalid name syntax")
}

/// `stringToQualifiedNameList`: dotted identifiers, quoted or downcased.
fn names(s: &str) -> PgResult<Vec<String>> {
    match split_identifier_string(s, b'.') {
        Some(n) if !n.is_empty() => Ok(n),
        _ => Err(invalid_name()),
    }
}

/// The object name of a possibly qualified built-in's name: its schema, if
/// given, must be `pg_catalog`, where every built-in lives.
fn unqualified(n: &[String]) -> PgResult<&str> {
    match n {
        [name] => Ok(name),
        [schema, name] if schema == "pg_catalog" => Ok(name),
        [schema, _] => match syscache::namespace_oid(schema)? {
            // An existing schema holds no built-in: nothing matches.
            Some(_) => Ok(""),
            None => Err(PgError::error(
                sqlstate::INVALID_SCHEMA_NAME,
                format!("schema \"{schema}\" does not exist"),
            )),
        },
        _ => Err(too_many_dots("qualified name", n)),
    }
}

/// `parseNameAndArgTypes`: `name(type, ...)`; with `allow_none`, `NONE`
/// is an argument of oid 0 (an operator's missing operand).
fn name_and_arg_types(s: &str, allow_none: bool) -> PgResult<(&str, Vec<u32>)> {
    let syntax = |m: &str| PgError::error(sqlstate::INVALID_TEXT_REPRESENTATION, m.to_string());
    let open = s
        .find('(')
        .ok_or_else(|| syntax("expected a left parenthesis"))?;
    let name = s[..open].trim_end_matches(|c: char| c.is_ascii_whitespace());
    let rest = s[open + 1..].trim_end_matches(|c: char| c.is_ascii_whitespace());
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| syntax("expected a right parenthesis"))?;
    // Split at commas outside quotes and parentheses (`numeric(10,2)`).
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return Err(syntax("expected a right parenthesis"));
                }
            }
            ',' if !quoted && depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || quoted {
        return Err(syntax("expected a right parenthesis"));
    }
    if !inner.trim().is_empty() || start > 0 {
        parts.push(&inner[start..]);
    }
    let mut args = Vec::with_capacity(parts.len());
    for p in parts {
        let p = p.trim_matches(|c: char| c.is_ascii_whitespace());
        if allow_none && p.eq_ignore_ascii_case("none") {
            args.push(0);
        } else if p.is_empty() {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "invalid type name \"\"".to_string(),
            ));
        } else {
            args.push(super::regtype_in(p)?);
        }
    }
    Ok((name, args))
}

/// `regclassin`'s lookup (`RangeVarGetRelid` with a name list).
fn regclass_in(input: &str) -> PgResult<Lookup> {
    let n = names(input)?;
    let (schema, name) = match n.as_slice() {
        [name] => (None, name),
        [schema, name] => (Some(schema), name),
        [db, schema, name] => {
            if syscache::database_oid(db)? != Some(syscache::database()) {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "cross-database references are not implemented: \"{}\"",
                        n.join(".")
                    ),
                ));
            }
            (Some(schema), name)
        }
        _ => return Err(too_many_dots("relation name", &n)),
    };
    if let Some(missing) = missing_schema(schema)? {
        return Ok(missing);
    }
    match syscache::relation_oid(schema.map(String::as_str), name)? {
        Some(oid) => Ok(Lookup::Found(oid)),
        None => undefined(
            sqlstate::UNDEFINED_TABLE,
            match schema {
                Some(s) => format!("relation \"{s}.{name}\" does not exist"),
                None => format!("relation \"{name}\" does not exist"),
            },
        ),
    }
}

/// `to_regclass(text)` and the other `to_reg*` functions: NULL where the
/// input function would say the object does not exist.
pub fn to_reg(input: &str, ty: Type) -> PgResult<Datum> {
    // The to_reg* functions take names only: digits are a name too.
    if !input.is_empty() && input.trim().bytes().all(|c| c.is_ascii_digit()) && ty != Type::Regtype
    {
        return Ok(Datum::Null);
    }
    match reg_lookup(input, ty) {
        Ok(Lookup::Found(oid)) => Ok(Datum::Oid(oid)),
        Ok(Lookup::Missing(_)) => Ok(Datum::Null),
        // A name that matches several functions or operators is NULL too.
        Err(e) if e.sqlstate == sqlstate::AMBIGUOUS_FUNCTION => Ok(Datum::Null),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str, ty: Type) -> PgResult<u32> {
        reg_in(s, ty)
    }

    #[test]
    fn regproc_reads_names_and_numbers() {
        assert_eq!(reg("boolin", Type::Regproc).unwrap(), 1242);
        assert_eq!(reg("pg_catalog.boolin", Type::Regproc).unwrap(), 1242);
        assert_eq!(reg("-", Type::Regproc).unwrap(), 0);
        assert_eq!(reg("1242", Type::Regproc).unwrap(), 1242);
        assert_eq!(reg("no_such", Type::Regproc).unwrap_err().sqlstate, "42883");
        assert_eq!(reg("abs", Type::Regproc).unwrap_err().sqlstate, "42725");
        assert_eq!(reg_out(1242, Type::Regproc), "boolin");
    }

    #[test]
    fn procedures_and_operators_carry_their_argument_types() {
        assert_eq!(reg_out(177, Type::Regprocedure), "int4pl(integer,integer)");
        assert_eq!(reg("int4pl(int, int4)", Type::Regprocedure).unwrap(), 177);
        assert_eq!(reg_out(551, Type::Regoperator), "+(integer,integer)");
        assert_eq!(reg_out(558, Type::Regoperator), "-(NONE,integer)");
        assert_eq!(reg("-(none,integer)", Type::Regoperator).unwrap(), 558);
        assert_eq!(reg_out(551, Type::Regoper), "pg_catalog.+");
        assert_eq!(reg_out(0, Type::Regoper), "0");
        assert_eq!(reg_out(0, Type::Regprocedure), "-");
        let e = |s, t| reg(s, t).unwrap_err();
        assert_eq!(
            e("int4pl", Type::Regprocedure).message,
            "expected a left parenthesis"
        );
        assert_eq!(
            e("int4pl(int", Type::Regprocedure).message,
            "expected a right parenthesis"
        );
        assert_eq!(e("int4pl(,int)", Type::Regprocedure).sqlstate, "42601");
        assert_eq!(e("+(int)", Type::Regoperator).sqlstate, "42P02");
        assert_eq!(e("+(int,int,int)", Type::Regoperator).sqlstate, "54023");
        assert_eq!(e("+", Type::Regoper).sqlstate, "42725");
        assert_eq!(e("nosuch", Type::Regoper).sqlstate, "42883");
    }

    #[test]
    fn collations_are_quoted_identifiers() {
        assert_eq!(reg_out(100, Type::Regcollation), "\"default\"");
        assert_eq!(reg_out(950, Type::Regcollation), "\"C\"");
        assert_eq!(reg_out(12340, Type::Regcollation), "ucs_basic");
        assert_eq!(reg("\"C\"", Type::Regcollation).unwrap(), 950);
        assert_eq!(
            reg("POSIX", Type::Regcollation).unwrap_err().message,
            "collation \"posix\" for encoding \"UTF8\" does not exist"
        );
    }
}
