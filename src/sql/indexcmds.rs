//! CREATE INDEX, DROP INDEX and the PRIMARY KEY / UNIQUE constraints
//! (PostgreSQL's `indexcmds.c` `DefineIndex`, `parse_utilcmd.c`'s
//! `transformIndexConstraints`, `tablecmds.c`'s constraint subcommands).
//!
//! The statement is checked here, with PostgreSQL's messages: the
//! table, the access method (B-tree only; `hash`, `gist`, `gin`,
//! `spgist` and `brin` are 0A000), the columns and whether their types
//! have a B-tree operator class, and the name (`ChooseIndexName`:
//! `t_a_idx`, `t_a_key`, `t_pkey`, then `t_a_idx1`, ...). The backend
//! writes the catalog rows and builds the index
//! (`TableContext::create_index`). What ferrogres does not build yet —
//! expression and partial indexes, INCLUDE, operator classes and
//! collations, CONCURRENTLY, storage parameters, DEFERRABLE constraints
//! — is refused with 0A000 naming it, never ignored.

use std::sync::Arc;

use pg_query::NodeEnum;
use pg_query::protobuf::{self as pb, ConstrType, SortByDir, SortByNulls};

use super::ddl::unsupported;
use super::tables::TableDef;
use super::{Outcome, ServerContext, Statement};
use crate::catalog::index::{INDOPTION_DESC, INDOPTION_NULLS_FIRST, NewIndex, btree_indexable};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// PostgreSQL's `INDEX_MAX_KEYS`.
pub const INDEX_MAX_KEYS: usize = 32;

/// One key column as written: name, ordering, nulls ordering.
struct KeyElem<'a> {
    name: &'a str,
    desc: bool,
    nulls_first: Option<bool>,
}

fn error_at(stmt: &Statement, code: &'static str, msg: String, location: i32) -> PgError {
    let e = PgError::error(code, msg);
    if location >= 0 {
        e.with_position(super::parser::char_position(
            stmt.parsed_text(),
            location as usize,
        ))
    } else {
        e
    }
}

/// The attnums and `indoption`s of the key columns; 42703 for a column
/// the table lacks, 42704 for a type without a B-tree operator class.
fn resolve_keys(
    table: &TableDef,
    elems: &[KeyElem<'_>],
    constraint: Option<&str>,
) -> PgResult<(Vec<i16>, Vec<i16>)> {
    if elems.len() > INDEX_MAX_KEYS {
        return Err(PgError::error(
            sqlstate::TOO_MANY_COLUMNS,
            format!("cannot use more than {INDEX_MAX_KEYS} columns in an index"),
        ));
    }
    let mut keys = Vec::new();
    let mut options = Vec::new();
    for e in elems {
        let Some(i) = table.columns.iter().position(|c| c.name == e.name) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                match constraint {
                    Some(_) => format!("column \"{}\" named in key does not exist", e.name),
                    None => format!("column \"{}\" does not exist", e.name),
                },
            ));
        };
        let attnum = i as i16 + 1;
        if let Some(kind) = constraint
            && keys.contains(&attnum)
        {
            return Err(PgError::error(
                sqlstate::DUPLICATE_COLUMN,
                format!("column \"{}\" appears twice in {kind} constraint", e.name),
            ));
        }
        let ty = table.columns[i].type_oid;
        if !btree_indexable(ty) {
            let name = crate::sql::types::Type::from_oid(ty)
                .map_or_else(|| ty.to_string(), |t| t.name().to_string());
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("data type {name} has no default operator class for access method \"btree\""),
            )
            .with_hint("You must specify an operator class for the index or define a default operator class for the data type."));
        }
        let mut opt = 0;
        if e.desc {
            opt |= INDOPTION_DESC;
        }
        if e.nulls_first.unwrap_or(e.desc) {
            opt |= INDOPTION_NULLS_FIRST;
        }
        keys.push(attnum);
        options.push(opt);
    }
    Ok((keys, options))
}

/// `ChooseRelationName`: `name1_name2_label`, then `label1`, `label2`,
/// ... until no relation of the schema (nor one chosen earlier in this
/// statement, in `taken`) has it.
fn choose_relation_name(
    ctx: &mut dyn ServerContext,
    table: &TableDef,
    name2: Option<&str>,
    label: &str,
    taken: &[String],
) -> PgResult<String> {
    super::constraint::choose_constraint_name(&table.name, name2, label, |name| {
        Ok(taken.iter().any(|t| t == name)
            || ctx.lookup_table(Some(&table.namespace), name)?.is_some())
    })
}

/// The table an index or constraint is defined on, checked as
/// `DefineIndex` checks it.
fn index_target(ctx: &mut dyn ServerContext, rv: &pb::RangeVar) -> PgResult<Arc<TableDef>> {
    let schema = (!rv.schemaname.is_empty()).then_some(rv.schemaname.as_str());
    let Some(table) = ctx.lookup_table(schema, &rv.relname)? else {
        let shown = match schema {
            Some(s) => format!("{s}.{}", rv.relname),
            None => rv.relname.clone(),
        };
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{shown}\" does not exist"),
        ));
    };
    if table.relkind == 'i' {
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("\"{}\" is an index", table.name),
        ));
    }
    if table.relkind != 'r' {
        let what = match table.relkind {
            'S' => "sequences",
            _ => "this relation kind",
        };
        return Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("cannot create index on relation \"{}\"", table.name),
        )
        .with_detail(format!("This operation is not supported for {what}.")));
    }
    if table.namespace_oid == crate::catalog::defs::PG_CATALOG_NAMESPACE {
        if !ctx.is_superuser() {
            return Err(super::ddl::not_owner(&table.name));
        }
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied: \"{}\" is a system catalog", table.name),
        ));
    }
    Ok(table)
}

/// INCLUDE, WITH (...) and a tablespace, of an index or a constraint's
/// index: 0A000 naming the first one given.
fn refuse_index_options(include: bool, with: bool, tablespace: bool) -> PgResult<()> {
    if include {
        return Err(unsupported("INCLUDE columns"));
    }
    if with {
        return Err(unsupported("index storage parameters (WITH ...)"));
    }
    if tablespace {
        return Err(unsupported("index tablespaces"));
    }
    Ok(())
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON t [USING btree] (cols)`.
pub fn create_index(ctx: &mut dyn ServerContext, is: &pb::IndexStmt) -> PgResult<Outcome> {
    let done = || {
        Ok(Outcome::Command {
            tag: "CREATE INDEX".into(),
        })
    };
    if is.concurrent {
        return Err(unsupported("CREATE INDEX CONCURRENTLY"));
    }
    match is.access_method.as_str() {
        "" | "btree" => {}
        am @ ("hash" | "gist" | "gin" | "spgist" | "brin") => {
            return Err(unsupported(&format!("access method \"{am}\"")));
        }
        am => {
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("access method \"{am}\" does not exist"),
            ));
        }
    }
    if is.where_clause.is_some() {
        return Err(unsupported("partial indexes (CREATE INDEX ... WHERE)"));
    }
    refuse_index_options(
        !is.index_including_params.is_empty(),
        !is.options.is_empty(),
        !is.table_space.is_empty(),
    )?;
    let rv = is.relation.as_ref().expect("CREATE INDEX names a table");
    ctx.take_snapshot();
    let table = index_target(ctx, rv)?;
    let mut elems = Vec::new();
    for p in &is.index_params {
        let Some(NodeEnum::IndexElem(e)) = p.node.as_ref() else {
            continue;
        };
        if e.expr.is_some() || e.name.is_empty() {
            return Err(unsupported("expression indexes"));
        }
        if !e.collation.is_empty() {
            return Err(unsupported("COLLATE in an index"));
        }
        if !e.opclass.is_empty() || !e.opclassopts.is_empty() {
            return Err(unsupported("operator classes in an index"));
        }
        elems.push(KeyElem {
            name: &e.name,
            desc: e.ordering == SortByDir::SortbyDesc as i32,
            nulls_first: match SortByNulls::try_from(e.nulls_ordering) {
                Ok(SortByNulls::SortbyNullsFirst) => Some(true),
                Ok(SortByNulls::SortbyNullsLast) => Some(false),
                _ => None,
            },
        });
    }
    let (keys, options) = resolve_keys(&table, &elems, None)?;
    let name = if is.idxname.is_empty() {
        let cols: Vec<&str> = elems.iter().map(|e| e.name).collect();
        choose_relation_name(ctx, &table, Some(&cols.join("_")), "idx", &[])?
    } else {
        if ctx
            .lookup_table(Some(&table.namespace), &is.idxname)?
            .is_some()
        {
            let text = format!("relation \"{}\" already exists", is.idxname);
            if is.if_not_exists {
                ctx.notice(PgError::notice(format!("{text}, skipping")));
                return done();
            }
            return Err(PgError::error(sqlstate::DUPLICATE_TABLE, text));
        }
        is.idxname.clone()
    };
    ctx.create_index(
        &table,
        &NewIndex {
            name,
            keys,
            options,
            unique: is.unique,
            primary: false,
            nulls_not_distinct: is.nulls_not_distinct,
            constraint: None,
        },
    )?;
    done()
}

/// Whether a constraint node is a PRIMARY KEY or UNIQUE constraint.
pub(super) fn is_index_constraint(con: &pb::Constraint) -> bool {
    matches!(
        ConstrType::try_from(con.contype),
        Ok(ConstrType::ConstrPrimary | ConstrType::ConstrUnique)
    )
}

/// A PRIMARY KEY / UNIQUE constraint to add: its node and, for a column
/// constraint, the column.
pub(super) struct IndexConstraint<'n> {
    pub con: &'n pb::Constraint,
    pub column: Option<&'n str>,
}

impl IndexConstraint<'_> {
    fn primary(&self) -> bool {
        self.con.contype == ConstrType::ConstrPrimary as i32
    }

    /// The key column names.
    pub fn columns(&self) -> Vec<&str> {
        match self.column {
            Some(c) => vec![c],
            None => super::typecmds::name_parts(&self.con.keys),
        }
    }

    /// What the constraint asks that ferrogres cannot do yet (0A000).
    pub fn check_supported(&self) -> PgResult<()> {
        let c = self.con;
        if c.deferrable || c.initdeferred {
            return Err(unsupported("DEFERRABLE PRIMARY KEY and UNIQUE constraints"));
        }
        refuse_index_options(
            !c.including.is_empty(),
            !c.options.is_empty(),
            !c.indexspace.is_empty(),
        )?;
        if !c.indexname.is_empty() {
            return Err(unsupported("constraints USING INDEX"));
        }
        Ok(())
    }
}

/// `transformIndexConstraints` + `DefineIndex` for each constraint of a
/// table just created or altered (locked by the caller): the primary
/// key first, then the others in order. The PRIMARY KEY's columns are
/// NOT NULL already (CREATE TABLE) or are made so (ALTER TABLE: 23502 if
/// a row has a NULL there). Each index sees the ones before it.
pub(super) fn add_index_constraints(
    ctx: &mut dyn ServerContext,
    stmt: &Statement,
    table: &Arc<TableDef>,
    constraints: &[IndexConstraint<'_>],
) -> PgResult<()> {
    let mut ordered: Vec<&IndexConstraint> = constraints.iter().filter(|c| c.primary()).collect();
    if ordered.len() > 1 || (!ordered.is_empty() && table.indexes.iter().any(|i| i.primary)) {
        // CREATE TABLE points at the second one; ALTER TABLE at nothing.
        let location = ordered.get(1).map_or(-1, |c| c.con.location);
        return Err(error_at(
            stmt,
            sqlstate::INVALID_TABLE_DEFINITION,
            format!(
                "multiple primary keys for table \"{}\" are not allowed",
                table.name
            ),
            location,
        ));
    }
    // transformIndexConstraints: a UNIQUE constraint over the same
    // columns as the primary key or an earlier one (and without a name
    // of its own that differs) adds nothing.
    for c in constraints.iter().filter(|c| !c.primary()) {
        let dup = ordered.iter().any(|o| {
            o.columns() == c.columns()
                && o.con.nulls_not_distinct == c.con.nulls_not_distinct
                && (c.con.conname.is_empty() || c.con.conname == o.con.conname)
        });
        if !dup {
            ordered.push(c);
        }
    }
    let mut table = table.clone();
    let mut taken: Vec<String> = Vec::new();
    for c in ordered {
        c.check_supported()?;
        let kind = if c.primary() { "primary key" } else { "unique" };
        let cols = c.columns();
        let elems: Vec<KeyElem> = cols
            .iter()
            .map(|n| KeyElem {
                name: n,
                desc: false,
                nulls_first: None,
            })
            .collect();
        let (keys, options) = resolve_keys(&table, &elems, Some(kind))?;
        let name = if !c.con.conname.is_empty() {
            if ctx
                .lookup_table(Some(&table.namespace), &c.con.conname)?
                .is_some()
                || taken.contains(&c.con.conname)
            {
                return Err(PgError::error(
                    sqlstate::DUPLICATE_TABLE,
                    format!("relation \"{}\" already exists", c.con.conname),
                ));
            }
            c.con.conname.clone()
        } else if c.primary() {
            choose_relation_name(ctx, &table, None, "pkey", &taken)?
        } else {
            choose_relation_name(ctx, &table, Some(&cols.join("_")), "key", &taken)?
        };
        taken.push(name.clone());
        let primary = c.primary();
        let not_null_keys = keys.clone();
        ctx.create_index(
            &table,
            &NewIndex {
                name,
                keys,
                options,
                unique: true,
                primary: c.primary(),
                nulls_not_distinct: c.con.nulls_not_distinct,
                constraint: Some(if c.primary() { b'p' } else { b'u' }),
            },
        )?;
        // After the build, as PostgreSQL's index_check_primary_key: a
        // duplicate is reported before a NULL.
        if primary {
            ctx.set_not_null(&table, &not_null_keys)?;
        }
        ctx.command_counter_increment()?;
        table = ctx.lookup_relation(table.oid)?.ok_or_else(|| {
            PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("table \"{}\" vanished while it was altered", table.name),
            )
        })?;
    }
    Ok(())
}

/// `ALTER TABLE ... DROP CONSTRAINT name` of a PRIMARY KEY or UNIQUE
/// constraint: drops its index. False if `name` is no such constraint.
pub(super) fn drop_index_constraint(
    ctx: &mut dyn ServerContext,
    table: &TableDef,
    name: &str,
) -> PgResult<bool> {
    let Some(index) = table.indexes.iter().find(|i| i.name == name) else {
        return Ok(false);
    };
    match ctx.index_constraint(index.oid)? {
        Some((_, con, _)) if con == name => {
            ctx.drop_index(table, index.oid)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `DROP INDEX [IF EXISTS] name [, ...]`.
pub fn drop_indexes(ctx: &mut dyn ServerContext, ds: &pb::DropStmt) -> PgResult<Outcome> {
    if ds.concurrent {
        return Err(unsupported("DROP INDEX CONCURRENTLY"));
    }
    if ds.behavior == pb::DropBehavior::DropCascade as i32 {
        return Err(unsupported("DROP INDEX ... CASCADE"));
    }
    ctx.take_snapshot();
    for obj in &ds.objects {
        let Some(NodeEnum::List(l)) = obj.node.as_ref() else {
            continue;
        };
        let names = super::typecmds::name_parts(&l.items);
        let (schema, name) = super::typecmds::split_name(&names)?;
        let Some(found) = ctx.lookup_table(schema, name)? else {
            if ds.missing_ok {
                ctx.notice(PgError::notice(format!(
                    "index \"{name}\" does not exist, skipping"
                )));
                continue;
            }
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("index \"{name}\" does not exist"),
            ));
        };
        if found.relkind != 'i' {
            let hint = match found.relkind {
                'S' => "Use DROP SEQUENCE to remove a sequence.",
                _ => "Use DROP TABLE to remove a table.",
            };
            return Err(PgError::error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not an index"),
            )
            .with_hint(hint));
        }
        let Some(table) = ctx.lock_index_table(found.oid)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("index \"{name}\" does not exist"),
            ));
        };
        if let Some((_, con, _)) = ctx.index_constraint(found.oid)? {
            return Err(PgError::error(
                sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop index {name} because constraint {con} on table {} requires it",
                    table.name
                ),
            )
            .with_hint(format!(
                "You can drop constraint {con} on table {} instead.",
                table.name
            )));
        }
        ctx.drop_index(&table, found.oid)?;
    }
    Ok(Outcome::Command {
        tag: "DROP INDEX".into(),
    })
}
