//! CREATE SEQUENCE, ALTER SEQUENCE and the sequences of SERIAL columns
//! (the option half of PostgreSQL's `commands/sequence.c`: `init_params`
//! and `process_owned_by`).
//!
//! [`init_params`] applies a statement's options to a [`SeqForm`] (a new
//! one's defaults, or the sequence's current row for ALTER) in
//! PostgreSQL's order, with its messages: the type first, then INCREMENT,
//! MAXVALUE, MINVALUE, their cross-check, START, RESTART (or the current
//! value) against the bounds, then CACHE. The backend writes the result
//! (`TableContext::create_sequence` / `alter_sequence`).

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use super::analyze::Analyzer;
use super::tables::{SeqForm, TableDef};
use super::types::Type;
use super::{Outcome, ServerContext, Statement};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// What the options asked for besides the `pg_sequence` row.
#[derive(Default)]
pub(crate) struct SeqOptions {
    /// `RESTART [WITH n]`: the value to restart at.
    pub restart: Option<i64>,
    /// `OWNED BY`: the qualified column name, or an empty list for NONE.
    pub owned_by: Option<Vec<String>>,
}

fn invalid(msg: String) -> PgError {
    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
}

fn type_bounds(t: u32) -> (i64, i64) {
    match t {
        21 => (i16::MIN as i64, i16::MAX as i64),
        23 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// `defGetInt64`.
fn int64_of(def: &pb::DefElem) -> PgResult<i64> {
    match def.arg.as_ref().and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::Integer(i)) => Ok(i.ival as i64),
        Some(NodeEnum::Float(f)) => f.fval.parse::<i64>().map_err(|_| {
            PgError::error(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type bigint: \"{}\"", f.fval),
            )
        }),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("{} requires a numeric value", def.defname),
        )),
    }
}

fn has_value(def: &pb::DefElem) -> bool {
    def.arg.as_ref().and_then(|n| n.node.as_ref()).is_some()
}

/// `init_params`: `form` is the sequence's row (ALTER) or None (CREATE);
/// `last_value` the page's current value for ALTER's cross-check;
/// `identity` the column type of an identity column's new sequence.
pub(crate) fn init_params(
    analyzer: &mut Analyzer<'_>,
    options: &[pg_query::Node],
    form: Option<SeqForm>,
    last_value: Option<i64>,
    identity: Option<Type>,
) -> PgResult<(SeqForm, SeqOptions)> {
    let for_identity = identity.is_some();
    let is_init = form.is_none();
    let mut f = form.unwrap_or(SeqForm {
        type_oid: 20,
        start: 0,
        increment: 1,
        max: 0,
        min: 0,
        cache: 1,
        cycle: false,
    });
    let mut opts = SeqOptions::default();
    let mut seen: Vec<(&str, &pb::DefElem)> = Vec::new();
    for o in options {
        let Some(NodeEnum::DefElem(d)) = o.node.as_ref() else {
            continue;
        };
        let name = d.defname.as_str();
        match name {
            "as" | "increment" | "start" | "restart" | "maxvalue" | "minvalue" | "cache"
            | "cycle" | "owned_by" => {}
            "sequence_name" if for_identity => continue,
            "sequence_name" => {
                return Err(analyzer.error(
                    sqlstate::SYNTAX_ERROR,
                    "invalid sequence option SEQUENCE NAME".to_string(),
                    (d.location >= 0).then_some(d.location as usize),
                ));
            }
            "log" => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "not supported by ferrogres yet: UNLOGGED sequences",
                ));
            }
            other => {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!("option \"{other}\" not recognized"),
                ));
            }
        }
        if seen.iter().any(|(n, _)| *n == name) {
            return Err(analyzer.error(
                sqlstate::SYNTAX_ERROR,
                "conflicting or redundant options".to_string(),
                (d.location >= 0).then_some(d.location as usize),
            ));
        }
        seen.push((name, d));
    }
    let get = |n: &str| seen.iter().find(|(k, _)| *k == n).map(|(_, d)| *d);

    let mut reset_max = false;
    let mut reset_min = false;
    let type_error = || {
        invalid(if for_identity {
            "identity column type must be smallint, integer, or bigint".into()
        } else {
            "sequence type must be smallint, integer, or bigint".into()
        })
    };
    if let Some(t) = identity
        && get("as").is_none()
    {
        // An identity column's sequence is of the column's type.
        if !matches!(t, Type::Int2 | Type::Int4 | Type::Int8) {
            return Err(type_error());
        }
        f.type_oid = t.oid();
    }
    if let Some(d) = get("as") {
        let Some(NodeEnum::TypeName(tn)) = d.arg.as_ref().and_then(|n| n.node.as_ref()) else {
            return Err(type_error());
        };
        let (ty, _) = analyzer.type_from_name(tn)?;
        if !matches!(ty, Type::Int2 | Type::Int4 | Type::Int8) {
            return Err(type_error());
        }
        if !is_init {
            // Bounds that were the old type's own follow the new type.
            let (lo, hi) = type_bounds(f.type_oid);
            reset_max = f.max == hi;
            reset_min = f.min == lo;
        }
        f.type_oid = ty.oid();
    }
    if let Some(d) = get("increment") {
        f.increment = int64_of(d)?;
        if f.increment == 0 {
            return Err(invalid("INCREMENT must not be zero".into()));
        }
    }
    if let Some(d) = get("cycle") {
        f.cycle = matches!(
            d.arg.as_ref().and_then(|n| n.node.as_ref()),
            Some(NodeEnum::Boolean(b)) if b.boolval
        );
    }
    let (type_min, type_max) = type_bounds(f.type_oid);
    let type_name = Type::from_oid(f.type_oid).map_or_else(String::new, |t| t.name().into_owned());
    match get("maxvalue") {
        Some(d) if has_value(d) => f.max = int64_of(d)?,
        Some(_) => f.max = if f.increment > 0 { type_max } else { -1 },
        None if is_init || reset_max => f.max = if f.increment > 0 { type_max } else { -1 },
        None => {}
    }
    if f.max < type_min || f.max > type_max {
        return Err(invalid(format!(
            "MAXVALUE ({}) is out of range for sequence data type {type_name}",
            f.max
        )));
    }
    match get("minvalue") {
        Some(d) if has_value(d) => f.min = int64_of(d)?,
        Some(_) => f.min = if f.increment > 0 { 1 } else { type_min },
        None if is_init || reset_min => f.min = if f.increment > 0 { 1 } else { type_min },
        None => {}
    }
    if f.min < type_min || f.min > type_max {
        return Err(invalid(format!(
            "MINVALUE ({}) is out of range for sequence data type {type_name}",
            f.min
        )));
    }
    if f.min >= f.max {
        return Err(invalid(format!(
            "MINVALUE ({}) must be less than MAXVALUE ({})",
            f.min, f.max
        )));
    }
    match get("start") {
        Some(d) => f.start = int64_of(d)?,
        None if is_init => f.start = if f.increment > 0 { f.min } else { f.max },
        None => {}
    }
    if f.start < f.min {
        return Err(invalid(format!(
            "START value ({}) cannot be less than MINVALUE ({})",
            f.start, f.min
        )));
    }
    if f.start > f.max {
        return Err(invalid(format!(
            "START value ({}) cannot be greater than MAXVALUE ({})",
            f.start, f.max
        )));
    }
    let mut last = last_value.unwrap_or(f.start);
    if let Some(d) = get("restart") {
        let v = if has_value(d) { int64_of(d)? } else { f.start };
        opts.restart = Some(v);
        last = v;
    }
    if last < f.min {
        return Err(invalid(format!(
            "RESTART value ({last}) cannot be less than MINVALUE ({})",
            f.min
        )));
    }
    if last > f.max {
        return Err(invalid(format!(
            "RESTART value ({last}) cannot be greater than MAXVALUE ({})",
            f.max
        )));
    }
    if let Some(d) = get("cache") {
        f.cache = int64_of(d)?;
        if f.cache <= 0 {
            return Err(invalid(format!(
                "CACHE ({}) must be greater than zero",
                f.cache
            )));
        }
    }
    if let Some(d) = get("owned_by") {
        let names = match d.arg.as_ref().and_then(|n| n.node.as_ref()) {
            Some(NodeEnum::List(l)) => l
                .items
                .iter()
                .filter_map(|n| match n.node.as_ref() {
                    Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        opts.owned_by = Some(names);
    }
    Ok((f, opts))
}

/// An identity column's `SEQUENCE NAME [schema.]name` option.
pub(crate) fn identity_sequence_name(
    options: &[pg_query::Node],
) -> Option<(Option<String>, String)> {
    options.iter().find_map(|o| match o.node.as_ref() {
        Some(NodeEnum::DefElem(d)) if d.defname == "sequence_name" => {
            let names: Vec<String> = match d.arg.as_ref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::List(l)) => l
                    .items
                    .iter()
                    .filter_map(|n| match n.node.as_ref() {
                        Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            match names.as_slice() {
                [n] => Some((None, n.clone())),
                [.., s, n] => Some((Some(s.clone()), n.clone())),
                [] => None,
            }
        }
        _ => None,
    })
}

/// `process_owned_by`: the (table oid, attnum) `OWNED BY` names, None for
/// `OWNED BY NONE`. The table must be in the sequence's schema.
pub(crate) fn resolve_owned_by(
    ctx: &mut dyn ServerContext,
    names: &[String],
    seq_namespace: Option<u32>,
) -> PgResult<Option<(u32, i16)>> {
    if names.len() == 1 && names[0] == "none" {
        return Ok(None);
    }
    if names.len() < 2 {
        return Err(
            PgError::error(sqlstate::SYNTAX_ERROR, "invalid OWNED BY option")
                .with_hint("Specify OWNED BY table.column or OWNED BY NONE."),
        );
    }
    let (rel, column) = names.split_at(names.len() - 1);
    let (schema, table) = match rel {
        [t] => (None, t.as_str()),
        [.., s, t] => (Some(s.as_str()), t.as_str()),
        [] => unreachable!("two names at least"),
    };
    let Some(def) = ctx.lookup_table(schema, table)? else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", rel.join(".")),
        ));
    };
    if def.relkind != 'r' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("sequence cannot be owned by relation \"{}\"", def.name),
        )
        .with_detail(format!(
            "This operation is not supported for {}.",
            kind_plural(def.relkind)
        )));
    }
    if let Some(ns) = seq_namespace
        && ns != def.namespace_oid
    {
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "sequence must be in same schema as table it is linked to",
        ));
    }
    let col = &column[0];
    let Some(i) = def.columns.iter().position(|c| &c.name == col) else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_COLUMN,
            format!(
                "column \"{col}\" of relation \"{}\" does not exist",
                def.name
            ),
        ));
    };
    Ok(Some((def.oid, i as i16 + 1)))
}

fn kind_plural(relkind: char) -> &'static str {
    match relkind {
        'S' => "sequences",
        'v' => "views",
        _ => "this relation",
    }
}

fn range_var_names(rv: &pb::RangeVar) -> (Option<String>, String) {
    let schema = (!rv.schemaname.is_empty()).then(|| rv.schemaname.clone());
    (schema, rv.relname.clone())
}

pub fn create_sequence(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    cs: &pb::CreateSeqStmt,
) -> PgResult<Outcome> {
    let rv = cs
        .sequence
        .as_ref()
        .expect("CREATE SEQUENCE names a sequence");
    match rv.relpersistence.as_str() {
        "t" => return Err(super::ddl::unsupported("temporary sequences")),
        "u" => return Err(super::ddl::unsupported("UNLOGGED sequences")),
        _ => {}
    }
    let (schema, name) = range_var_names(rv);
    super::ddl::check_creatable(ctx, schema.as_deref(), &name)?;
    ctx.take_snapshot();
    let (form, opts) = {
        let mut analyzer = Analyzer::new(&mut *ctx, stmt.parsed_text());
        init_params(&mut analyzer, &cs.options, None, None, None)?
    };
    // The schema check of OWNED BY is the backend's, once it knows where
    // the sequence goes.
    let owned_by = match &opts.owned_by {
        Some(names) => resolve_owned_by(ctx, names, None)?,
        None => None,
    };
    ctx.create_sequence(
        schema.as_deref(),
        &name,
        form,
        owned_by.map(|(t, a)| (t, a, b'a')),
        cs.if_not_exists,
    )?;
    Ok(Outcome::Command {
        tag: "CREATE SEQUENCE".into(),
    })
}

pub fn alter_sequence(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    s: &pb::AlterSeqStmt,
) -> PgResult<Outcome> {
    let rv = s
        .sequence
        .as_ref()
        .expect("ALTER SEQUENCE names a sequence");
    let (schema, name) = range_var_names(rv);
    ctx.take_snapshot();
    let Some(seq) = ctx.lookup_table(schema.as_deref(), &name)? else {
        if s.missing_ok {
            ctx.notice(PgError::notice(format!(
                "relation \"{name}\" does not exist, skipping"
            )));
            return Ok(Outcome::Command {
                tag: "ALTER SEQUENCE".into(),
            });
        }
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{name}\" does not exist"),
        ));
    };
    if seq.relkind != 'S' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a sequence", seq.name),
        ));
    }
    let form = ctx.sequence_form(seq.oid)?;
    let last = ctx.sequence_state(seq.oid)?.map(|(v, _, _)| v);
    let (form, opts) = {
        let mut analyzer = Analyzer::new(&mut *ctx, stmt.parsed_text());
        init_params(&mut analyzer, &s.options, form, last, None)?
    };
    let owned_by = match &opts.owned_by {
        Some(names) => Some(resolve_owned_by(ctx, names, Some(seq.namespace_oid))?),
        None => None,
    };
    ctx.alter_sequence(&seq, form, opts.restart, owned_by)?;
    Ok(Outcome::Command {
        tag: "ALTER SEQUENCE".into(),
    })
}

/// PostgreSQL's `ChooseRelationName(table, column, "seq", namespace)`:
/// `table_column_seq`, the first two parts cut so the whole fits in 63
/// bytes, and a number appended until no relation has the name.
pub(crate) fn choose_sequence_name(
    ctx: &mut dyn ServerContext,
    schema: Option<&str>,
    table: &str,
    column: &str,
    taken: &[String],
) -> PgResult<String> {
    let mut pass = 0u32;
    loop {
        let label = if pass == 0 {
            "seq".to_string()
        } else {
            format!("seq{pass}")
        };
        let name = make_object_name(table, Some(column), &label);
        if !taken.contains(&name) && ctx.lookup_table(schema, &name)?.is_none() {
            return Ok(name);
        }
        pass += 1;
    }
}

/// `makeObjectName`: `name1[_name2]_label`, truncating the longer of the
/// two names first (at a character boundary) to fit NAMEDATALEN - 1.
pub(crate) fn make_object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    const MAX: usize = 63;
    let has_name2 = name2.is_some();
    let overhead = 1 + label.len() + usize::from(has_name2);
    let name2 = name2.unwrap_or("");
    let mut n1 = name1.len();
    let mut n2 = name2.len();
    while n1 + n2 + overhead > MAX {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let cut = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    if has_name2 {
        format!("{}_{}_{label}", cut(name1, n1), cut(name2, n2))
    } else {
        format!("{}_{label}", cut(name1, n1))
    }
}

/// A SERIAL column's type: `serial` → int4 and so on.
pub(crate) fn serial_type(tn: &pb::TypeName) -> Option<Type> {
    if !tn.array_bounds.is_empty() || !tn.typmods.is_empty() {
        return None;
    }
    let names: Vec<&str> = tn
        .names
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect();
    let last = match names.as_slice() {
        [n] | ["pg_catalog", n] => *n,
        _ => return None,
    };
    match last {
        "smallserial" | "serial2" => Some(Type::Int2),
        "serial" | "serial4" => Some(Type::Int4),
        "bigserial" | "serial8" => Some(Type::Int8),
        _ => None,
    }
}

/// The default SERIAL gives its column: `nextval('seq'::regclass)`, the
/// name as `regclassout` prints it (qualified only when not visible).
pub(crate) fn serial_default(schema: Option<&str>, visible: bool, seq: &str) -> String {
    let q = crate::sql::functions::string::quote_identifier;
    let name = match schema {
        Some(s) if !visible => format!("{}.{}", q(s), q(seq)),
        _ => q(seq),
    };
    format!("nextval('{}'::regclass)", name.replace('\'', "''"))
}

/// The `pg_sequence` row a SERIAL column's sequence gets: `AS` the
/// column's type, every other parameter the default.
pub(crate) fn serial_form(ty: Type) -> SeqForm {
    let (_, max) = type_bounds(ty.oid());
    SeqForm {
        type_oid: ty.oid(),
        start: 1,
        increment: 1,
        max,
        min: 1,
        cache: 1,
        cycle: false,
    }
}

/// DML on a sequence: PostgreSQL's `cannot change sequence "s"`.
pub(crate) fn check_not_sequence(t: &TableDef) -> PgResult<()> {
    if t.relkind == 'S' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("cannot change sequence \"{}\"", t.name),
        ));
    }
    Ok(())
}
