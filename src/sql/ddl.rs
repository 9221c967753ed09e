//! CREATE TABLE and DROP TABLE (PostgreSQL's `tablecmds.c`, as far as
//! ferrogres has tables).
//!
//! Column types are resolved as casts resolve them (`int` → int4,
//! `varchar(10)` → varchar with typmod 14, `numeric(10,2)` → typmod
//! `(10 << 16 | 2) + 4`, `char` → char(1)). A DEFAULT is checked now
//! (`cookDefault`: no column references, a type that assigns to the
//! column) and stored as SQL text, deparsed from the parse tree; INSERT
//! parses it again. CHECK constraints are `constraint.rs`'s; other
//! constraints (PRIMARY KEY, UNIQUE, FOREIGN KEY, EXCLUDE) are refused
//! with 0A000 rather than ignored: nothing would enforce them.

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ConstrType, ObjectType};

use super::analyze::Analyzer;
use super::tables::{ColumnDef, SeqForm};
use super::{Outcome, ServerContext, Statement};
use crate::utils::elog::{PgError, PgResult, sqlstate};

pub(super) fn unsupported(what: &str) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("not supported by ferrogres yet: {what}"),
    )
}

pub(super) fn constraint_name(t: ConstrType) -> &'static str {
    match t {
        ConstrType::ConstrCheck => "CHECK constraints",
        ConstrType::ConstrPrimary => "PRIMARY KEY constraints",
        ConstrType::ConstrUnique => "UNIQUE constraints",
        ConstrType::ConstrExclusion => "EXCLUDE constraints",
        ConstrType::ConstrForeign => "FOREIGN KEY constraints",
        ConstrType::ConstrIdentity => "identity columns",
        ConstrType::ConstrGenerated => "generated columns",
        _ => "constraint attributes (DEFERRABLE, ...)",
    }
}

/// SQL text of an expression node, for `pg_attrdef` and `pg_constraint`.
pub(super) fn deparse_expr(node: &NodeEnum) -> PgResult<String> {
    let sel = pb::SelectStmt {
        target_list: vec![pb::Node {
            node: Some(NodeEnum::ResTarget(Box::new(pb::ResTarget {
                val: Some(Box::new(pb::Node {
                    node: Some(node.clone()),
                })),
                location: -1,
                ..Default::default()
            }))),
        }],
        limit_option: pb::LimitOption::Default as i32,
        op: pb::SetOperation::SetopNone as i32,
        ..Default::default()
    };
    let text = NodeEnum::SelectStmt(Box::new(sel))
        .deparse(pg_query::DeparseOptions::default())
        .map_err(|e| {
            PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("could not deparse expression: {e}"),
            )
        })?;
    Ok(text
        .strip_prefix("SELECT ")
        .unwrap_or(&text)
        .trim()
        .to_string())
}

pub fn create_table(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    cs: &pb::CreateStmt,
) -> PgResult<Outcome> {
    let rv = cs.relation.as_ref().expect("CREATE TABLE names a table");
    if rv.relpersistence == "t" {
        return Err(unsupported("temporary tables"));
    }
    if !cs.inh_relations.is_empty() {
        return Err(unsupported("INHERITS"));
    }
    if cs.partspec.is_some() || cs.partbound.is_some() {
        return Err(unsupported("partitioned tables"));
    }
    if cs.of_typename.is_some() {
        return Err(unsupported("typed tables (OF type)"));
    }
    if !cs.tablespacename.is_empty() {
        return Err(unsupported("TABLESPACE"));
    }
    // CHECK constraints, column and table ones in the order written.
    let mut checks: Vec<&pb::Constraint> = Vec::new();
    let mut index_constraints: Vec<super::indexcmds::IndexConstraint> = Vec::new();
    for c in cs.constraints.iter().chain(&cs.nnconstraints) {
        if let Some(NodeEnum::Constraint(con)) = c.node.as_ref() {
            let t = ConstrType::try_from(con.contype).unwrap_or(ConstrType::Undefined);
            if super::indexcmds::is_index_constraint(con) {
                index_constraints.push(super::indexcmds::IndexConstraint { con, column: None });
                continue;
            }
            if t != ConstrType::ConstrCheck {
                return Err(unsupported(constraint_name(t)));
            }
            checks.push(con);
        }
    }
    for o in &cs.options {
        if let Some(NodeEnum::DefElem(d)) = o.node.as_ref() {
            // fillfactor only shapes page usage; accepting it changes no result.
            if d.defname != "fillfactor" {
                return Err(unsupported(&format!("storage parameter \"{}\"", d.defname)));
            }
        }
    }
    let schema = if rv.schemaname.is_empty() {
        None
    } else {
        Some(rv.schemaname.clone())
    };
    check_creatable(ctx, schema.as_deref(), &rv.relname)?;
    ctx.take_snapshot();
    let mut columns: Vec<ColumnDef> = Vec::new();
    // SERIAL and identity columns' sequences: (column index, schema,
    // name, parameters, pg_depend type: 'a' for SERIAL, 'i' for identity).
    let mut serials: Vec<(usize, Option<String>, String, SeqForm, u8)> = Vec::new();
    let search_path = {
        let user = ctx.current_user().to_string();
        ctx.settings().search_path(&user)
    };
    {
        let mut analyzer = Analyzer::new(&mut *ctx, stmt.parsed_text());
        for elt in &cs.table_elts {
            let cd = match elt.node.as_ref() {
                Some(NodeEnum::ColumnDef(cd)) => cd,
                Some(NodeEnum::Constraint(con)) => {
                    let t = ConstrType::try_from(con.contype).unwrap_or(ConstrType::Undefined);
                    if super::indexcmds::is_index_constraint(con) {
                        index_constraints
                            .push(super::indexcmds::IndexConstraint { con, column: None });
                        continue;
                    }
                    if t != ConstrType::ConstrCheck {
                        return Err(unsupported(constraint_name(t)));
                    }
                    checks.push(con);
                    continue;
                }
                Some(NodeEnum::TableLikeClause(_)) => {
                    return Err(unsupported("LIKE in CREATE TABLE"));
                }
                _ => return Err(unsupported("this CREATE TABLE element")),
            };
            if columns.iter().any(|c| c.name == cd.colname) {
                return Err(PgError::error(
                    "42701",
                    format!("column \"{}\" specified more than once", cd.colname),
                ));
            }
            if cd.coll_clause.is_some() {
                return Err(unsupported("COLLATE"));
            }
            let tn = cd.type_name.as_ref().expect("a column has a type");
            let serial = super::sequence::serial_type(tn);
            let (ty, typmod) = match serial {
                Some(t) => (t, -1),
                None => analyzer.type_from_name(tn)?,
            };
            if crate::catalog::defs::attr_type_for(ty.oid()).is_none() {
                return Err(unsupported(&format!("columns of type {}", ty.name())));
            }
            let mut not_null = cd.is_not_null || serial.is_some();
            let mut saw_null = false;
            let mut default_expr = None;
            if serial.is_some() {
                // transformColumnDefinition: the sequence is named now and
                // created with the table; the column gets its nextval.
                let taken: Vec<String> = serials.iter().map(|s| s.2.clone()).collect();
                let seq = super::sequence::choose_sequence_name(
                    &mut *analyzer.ctx,
                    schema.as_deref(),
                    &rv.relname,
                    &cd.colname,
                    &taken,
                )?;
                let visible = schema
                    .as_deref()
                    .is_none_or(|s| search_path.iter().any(|p| p == s));
                default_expr = Some(super::sequence::serial_default(
                    schema.as_deref(),
                    visible,
                    &seq,
                ));
                serials.push((
                    columns.len(),
                    schema.clone(),
                    seq,
                    super::sequence::serial_form(ty),
                    b'a',
                ));
            }
            let mut identity = 0u8;
            for c in &cd.constraints {
                let Some(NodeEnum::Constraint(con)) = c.node.as_ref() else {
                    continue;
                };
                let t = ConstrType::try_from(con.contype).unwrap_or(ConstrType::Undefined);
                // PostgreSQL reports a SERIAL column's conflicts without a
                // position (they surface once SERIAL is expanded).
                let con_loc = if con.location >= 0 && serial.is_none() {
                    Some(con.location as usize)
                } else {
                    None
                };
                let conflict = || {
                    analyzer.error(
                        sqlstate::SYNTAX_ERROR,
                        format!(
                            "conflicting NULL/NOT NULL declarations for column \"{}\" of table \"{}\"",
                            cd.colname, rv.relname
                        ),
                        con_loc,
                    )
                };
                match t {
                    ConstrType::ConstrNotnull => {
                        if saw_null {
                            return Err(conflict());
                        }
                        not_null = true;
                    }
                    ConstrType::ConstrNull => {
                        if not_null || identity != 0 {
                            return Err(conflict());
                        }
                        saw_null = true;
                    }
                    ConstrType::ConstrIdentity => {
                        if identity != 0 {
                            return Err(analyzer.error(
                                sqlstate::SYNTAX_ERROR,
                                format!(
                                    "multiple identity specifications for column \"{}\" of table \"{}\"",
                                    cd.colname, rv.relname
                                ),
                                con_loc,
                            ));
                        }
                        if default_expr.is_some() {
                            return Err(both_default_and_identity(
                                &analyzer,
                                &cd.colname,
                                &rv.relname,
                                con_loc,
                            ));
                        }
                        if saw_null {
                            return Err(conflict());
                        }
                        let (form, _) = super::sequence::init_params(
                            &mut analyzer,
                            &con.options,
                            None,
                            None,
                            Some(ty),
                        )?;
                        let (seq_schema, seq) =
                            match super::sequence::identity_sequence_name(&con.options) {
                                Some((s, n)) => (s.or_else(|| schema.clone()), n),
                                None => {
                                    let taken: Vec<String> =
                                        serials.iter().map(|s| s.2.clone()).collect();
                                    let n = super::sequence::choose_sequence_name(
                                        &mut *analyzer.ctx,
                                        schema.as_deref(),
                                        &rv.relname,
                                        &cd.colname,
                                        &taken,
                                    )?;
                                    (schema.clone(), n)
                                }
                            };
                        identity = if con.generated_when == "a" {
                            b'a'
                        } else {
                            b'd'
                        };
                        not_null = true;
                        serials.push((columns.len(), seq_schema, seq, form, b'i'));
                    }
                    ConstrType::ConstrDefault => {
                        if identity != 0 {
                            return Err(both_default_and_identity(
                                &analyzer,
                                &cd.colname,
                                &rv.relname,
                                con_loc,
                            ));
                        }
                        if default_expr.is_some() {
                            return Err(analyzer.error(
                                sqlstate::SYNTAX_ERROR,
                                format!(
                                    "multiple default values specified for column \"{}\" of table \"{}\"",
                                    cd.colname, rv.relname
                                ),
                                con_loc,
                            ));
                        }
                        let raw = con
                            .raw_expr
                            .as_ref()
                            .and_then(|n| n.node.as_ref())
                            .expect("DEFAULT has an expression");
                        analyzer.analyze_default_node(raw, ty, &cd.colname)?;
                        let sql = deparse_expr(raw)?;
                        default_expr = Some(sql);
                    }
                    ConstrType::ConstrCheck => checks.push(con),
                    ConstrType::ConstrPrimary | ConstrType::ConstrUnique => {
                        if t == ConstrType::ConstrPrimary {
                            not_null = true;
                        }
                        index_constraints.push(super::indexcmds::IndexConstraint {
                            con,
                            column: Some(&cd.colname),
                        });
                    }
                    other => return Err(unsupported(constraint_name(other))),
                }
            }
            columns.push(ColumnDef {
                name: cd.colname.clone(),
                type_oid: ty.oid(),
                typmod,
                not_null,
                default_expr,
                identity,
            });
        }
    }
    // transformIndexConstraint: a PRIMARY KEY's columns are NOT NULL.
    for ic in index_constraints
        .iter()
        .filter(|c| c.con.contype == ConstrType::ConstrPrimary as i32)
    {
        for name in ic.columns() {
            if let Some(c) = columns.iter_mut().find(|c| c.name == name) {
                c.not_null = true;
            }
        }
    }
    for ic in &index_constraints {
        ic.check_supported()?;
    }
    let created = ctx
        .create_table(schema.as_deref(), &rv.relname, columns, cs.if_not_exists)
        .map_err(|e| {
            // An empty search_path is found out only here; PostgreSQL points
            // at the table name.
            if e.sqlstate == sqlstate::INVALID_SCHEMA_NAME
                && e.position.is_none()
                && rv.location >= 0
            {
                let at =
                    crate::sql::parser::char_position(stmt.parsed_text(), rv.location as usize);
                e.with_position(at)
            } else {
                e
            }
        })?;
    if created && (!serials.is_empty() || !checks.is_empty() || !index_constraints.is_empty()) {
        // The sequences' OWNED BY rows and the constraints name the new
        // table: see it.
        ctx.command_counter_increment()?;
        let table = ctx
            .lookup_table(schema.as_deref(), &rv.relname)?
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!("table \"{}\" vanished while it was created", rv.relname),
                )
            })?;
        for (i, seq_schema, seq, form, deptype) in serials {
            ctx.create_sequence(
                seq_schema.as_deref(),
                &seq,
                form,
                Some((table.oid, i as i16 + 1, deptype)),
                false,
            )?;
        }
        if !checks.is_empty() {
            let raws: Vec<_> = checks
                .iter()
                .map(|c| super::constraint::RawCheck::of(c))
                .collect();
            super::constraint::add_checks(ctx, stmt.parsed_text(), &table, &raws, false)?;
        }
        if !index_constraints.is_empty() {
            ctx.command_counter_increment()?;
            let table = ctx.lookup_relation(table.oid)?.unwrap_or(table);
            super::indexcmds::add_index_constraints(ctx, stmt, &table, &index_constraints)?;
        }
    }
    Ok(Outcome::Command {
        tag: "CREATE TABLE".into(),
    })
}

fn both_default_and_identity(
    analyzer: &Analyzer<'_>,
    column: &str,
    table: &str,
    l: Option<usize>,
) -> PgError {
    analyzer.error(
        sqlstate::SYNTAX_ERROR,
        format!("both default and identity specified for column \"{column}\" of table \"{table}\""),
        l,
    )
}

/// `aclcheck_error(ACLCHECK_NOT_OWNER)` for a table. Every table but the
/// catalogs' is open to everyone until ferrogres records owners, so only
/// the catalogs (owned by the bootstrap superuser) get it.
pub(super) fn not_owner(table: &str) -> PgError {
    PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("must be owner of table {table}"),
    )
}

pub fn drop(ctx: &mut dyn ServerContext, ds: &pb::DropStmt) -> PgResult<Outcome> {
    let kind = ObjectType::try_from(ds.remove_type).unwrap_or(ObjectType::Undefined);
    if matches!(kind, ObjectType::ObjectType | ObjectType::ObjectDomain) {
        return super::typecmds::drop_types(ctx, ds, kind);
    }
    if kind == ObjectType::ObjectIndex {
        return super::indexcmds::drop_indexes(ctx, ds);
    }
    if kind != ObjectType::ObjectTable && kind != ObjectType::ObjectSequence {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "{} is not supported by ferrogres yet",
                super::drop_tag(ds.remove_type)
            ),
        ));
    }
    if ds.concurrent {
        return Err(unsupported("DROP ... CONCURRENTLY"));
    }
    for obj in &ds.objects {
        let Some(NodeEnum::List(l)) = obj.node.as_ref() else {
            continue;
        };
        let names: Vec<&str> = l
            .items
            .iter()
            .filter_map(|n| match n.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
                _ => None,
            })
            .collect();
        let (schema, name) = match names.as_slice() {
            [n] => (None, *n),
            [s, n] => (Some(*s), *n),
            [_, s, n] => (Some(*s), *n),
            _ => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "improper qualified name (too many dotted names): {}",
                        names.join(".")
                    ),
                ));
            }
        };
        let found = ctx.lookup_table(schema, name)?;
        let (want, what) = match kind {
            ObjectType::ObjectSequence => ('S', "sequence"),
            _ => ('r', "table"),
        };
        match &found {
            None if want == 'S' => {
                if ds.missing_ok {
                    ctx.notice(PgError::notice(format!(
                        "sequence \"{name}\" does not exist, skipping"
                    )));
                    continue;
                }
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("sequence \"{name}\" does not exist"),
                ));
            }
            Some(t) if t.relkind != want => {
                // DropErrorMsgWrongType.
                let hint = match t.relkind {
                    'S' => "Use DROP SEQUENCE to remove a sequence.",
                    'i' => "Use DROP INDEX to remove an index.",
                    _ => "Use DROP TABLE to remove a table.",
                };
                return Err(PgError::error(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not a {what}"),
                )
                .with_hint(hint));
            }
            _ => {}
        }
        if let Some(t) = &found
            && t.relkind == 'S'
        {
            check_sequence_droppable(ctx, t, ds)?;
        }
        if let Some(t) = found
            && t.namespace_oid == crate::catalog::defs::PG_CATALOG_NAMESPACE
        {
            // The owner check comes first, as in PostgreSQL's RemoveRelations.
            if !ctx.is_superuser() {
                return Err(not_owner(name));
            }
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{name}\" is a system catalog"),
            ));
        }
        ctx.drop_table(schema, name, ds.missing_ok)?;
    }
    Ok(Outcome::Command {
        tag: super::drop_tag(ds.remove_type).into(),
    })
}

/// `TRUNCATE [TABLE] [ONLY] t, ... [RESTART | CONTINUE IDENTITY] [CASCADE |
/// RESTRICT]`: every table named must exist and be an ordinary table
/// outside `pg_catalog`; a table named twice is truncated once. Without
/// foreign keys or inheritance, CASCADE and ONLY change nothing.
pub fn truncate(ctx: &mut dyn ServerContext, ts: &pb::TruncateStmt) -> PgResult<Outcome> {
    ctx.take_snapshot();
    let mut tables: Vec<std::sync::Arc<super::tables::TableDef>> = Vec::new();
    for r in &ts.relations {
        let Some(NodeEnum::RangeVar(rv)) = r.node.as_ref() else {
            continue;
        };
        let schema = (!rv.schemaname.is_empty()).then_some(rv.schemaname.as_str());
        let shown = match schema {
            Some(s) => format!("{s}.{}", rv.relname),
            None => rv.relname.clone(),
        };
        let Some(t) = ctx.lookup_table(schema, &rv.relname)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{shown}\" does not exist"),
            ));
        };
        if t.relkind != 'r' {
            return Err(PgError::error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!("\"{}\" is not a table", t.name),
            ));
        }
        if t.namespace_oid == crate::catalog::defs::PG_CATALOG_NAMESPACE {
            if !ctx.is_superuser() {
                return Err(not_owner(&t.name));
            }
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", t.name),
            ));
        }
        if !tables.iter().any(|x| x.oid == t.oid) {
            tables.push(t);
        }
    }
    ctx.truncate(&tables, ts.restart_seqs)?;
    Ok(Outcome::Command {
        tag: "TRUNCATE TABLE".into(),
    })
}

/// DROP SEQUENCE of a sequence a column needs: an identity column's
/// (2BP01, the column requires it) or one a column's DEFAULT calls
/// (2BP01, dependent objects; CASCADE would drop the default: 0A000).
fn check_sequence_droppable(
    ctx: &mut dyn ServerContext,
    seq: &super::tables::TableDef,
    ds: &pb::DropStmt,
) -> PgResult<()> {
    let Some((table, attnum, deptype)) = ctx.sequence_owner(seq.oid)? else {
        return Ok(());
    };
    let Some(t) = ctx.lookup_relation(table)? else {
        return Ok(());
    };
    let Some(col) = usize::try_from(attnum - 1)
        .ok()
        .and_then(|i| t.columns.get(i))
    else {
        return Ok(());
    };
    if deptype == b'i' {
        return Err(PgError::error(
            sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
            format!(
                "cannot drop sequence {} because column {} of table {} requires it",
                seq.name, col.name, t.name
            ),
        )
        .with_hint(format!(
            "You can drop column {} of table {} instead.",
            col.name, t.name
        )));
    }
    // The default SERIAL wrote names the sequence (PostgreSQL records the
    // dependency of any default on it; ferrogres keeps defaults as text).
    let uses = col.default_expr.as_deref().is_some_and(|d| {
        d.contains(&format!("'{}'", seq.name))
            || d.contains(&format!(".{}'", seq.name))
            || d.contains(&format!("\"{}\"'", seq.name))
    });
    if !uses {
        return Ok(());
    }
    if pb::DropBehavior::try_from(ds.behavior) == Ok(pb::DropBehavior::DropCascade) {
        return Err(unsupported(
            "DROP SEQUENCE ... CASCADE of a sequence a default uses",
        ));
    }
    Err(PgError::error(
        sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
        format!(
            "cannot drop sequence {} because other objects depend on it",
            seq.name
        ),
    )
    .with_detail(format!(
        "default value for column {} of table {} depends on sequence {}",
        col.name, t.name, seq.name
    ))
    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."))
}

/// A new table may not go into `pg_catalog`: 42501 without CREATE on it,
/// and even for a superuser (`allow_system_table_mods` is off).
pub(super) fn check_creatable(
    ctx: &mut dyn ServerContext,
    schema: Option<&str>,
    relname: &str,
) -> PgResult<()> {
    if schema != Some("pg_catalog") {
        return Ok(());
    }
    if !ctx.is_superuser() {
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            "permission denied for schema pg_catalog",
        ));
    }
    Err(PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("permission denied to create \"pg_catalog.{relname}\""),
    )
    .with_detail("System catalog modifications are currently disallowed."))
}

/// `CREATE TABLE ... AS query` and `SELECT ... INTO table` (`createas.c`):
/// a table with the query's output columns (an unknown literal becomes
/// text, as in PostgreSQL 10+), then `INSERT INTO table query` unless
/// `WITH NO DATA`. The tag is `SELECT n`, or `CREATE TABLE AS` without rows.
pub fn create_table_as(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    query: &pb::SelectStmt,
    into: &pb::IntoClause,
    if_not_exists: bool,
) -> PgResult<Outcome> {
    let rv = into.rel.as_ref().expect("INTO names a table");
    if rv.relpersistence == "t" {
        return Err(unsupported("temporary tables"));
    }
    if rv.relpersistence == "u" {
        return Err(unsupported("unlogged tables"));
    }
    if !into.table_space_name.is_empty() {
        return Err(unsupported("TABLESPACE"));
    }
    if !into.access_method.is_empty() && into.access_method != "heap" {
        return Err(unsupported(&format!(
            "table access method \"{}\"",
            into.access_method
        )));
    }
    if into.on_commit != pb::OnCommitAction::OncommitNoop as i32
        && into.on_commit != pb::OnCommitAction::Undefined as i32
    {
        return Err(unsupported("ON COMMIT"));
    }
    if let Some(NodeEnum::DefElem(d)) = into.options.first().and_then(|o| o.node.as_ref()) {
        return Err(unsupported(&format!("storage parameter \"{}\"", d.defname)));
    }
    let schema = (!rv.schemaname.is_empty()).then(|| rv.schemaname.clone());
    check_creatable(ctx, schema.as_deref(), &rv.relname)?;
    // The query's output columns, renamed by the column list.
    ctx.take_snapshot();
    let q = {
        let mut analyzer = Analyzer::new(&mut *ctx, stmt.parsed_text());
        let q = analyzer.analyze_select(query)?;
        if !analyzer.modify_ctes.is_empty() {
            return Err(unsupported("data-modifying WITH in CREATE TABLE AS"));
        }
        q
    };
    let outputs: Vec<_> = q.targets.iter().filter(|t| !t.resjunk).collect();
    if into.col_names.len() > outputs.len() {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            "too many column names were specified",
        ));
    }
    let mut columns: Vec<ColumnDef> = Vec::with_capacity(outputs.len());
    for (i, t) in outputs.iter().enumerate() {
        let name = match into.col_names.get(i).and_then(|n| n.node.as_ref()) {
            Some(NodeEnum::String(s)) => s.sval.clone(),
            _ => t.name.clone(),
        };
        if columns.iter().any(|c| c.name == name) {
            return Err(PgError::error(
                "42701",
                format!("column \"{name}\" specified more than once"),
            ));
        }
        let (ty, typmod) = match t.expr.ty() {
            super::types::Type::Unknown => (super::types::Type::Text, -1),
            ty => (ty, t.expr.typmod()),
        };
        if crate::catalog::defs::attr_type_for(ty.oid()).is_none() {
            return Err(unsupported(&format!("columns of type {}", ty.name())));
        }
        columns.push(ColumnDef {
            name,
            type_oid: ty.oid(),
            typmod,
            not_null: false,
            default_expr: None,
            identity: 0,
        });
    }
    if !ctx.create_table(schema.as_deref(), &rv.relname, columns, if_not_exists)? {
        return Ok(Outcome::Command {
            tag: "CREATE TABLE AS".into(),
        });
    }
    if into.skip_data {
        return Ok(Outcome::Command {
            tag: "CREATE TABLE AS".into(),
        });
    }
    ctx.command_counter_increment()?;
    let ins = pb::InsertStmt {
        relation: Some(rv.clone()),
        select_stmt: Some(Box::new(pg_query::Node {
            node: Some(NodeEnum::SelectStmt(Box::new(query.clone()))),
        })),
        r#override: pb::OverridingKind::OverridingNotSet as i32,
        ..Default::default()
    };
    let tag = match super::dml::insert(ctx, stmt, &ins)? {
        Outcome::Command { tag } => tag,
        other => unreachable!("INSERT without RETURNING reports a count: {other:?}"),
    };
    let n = tag.rsplit(' ').next().unwrap_or("0");
    Ok(Outcome::Command {
        tag: format!("SELECT {n}"),
    })
}
