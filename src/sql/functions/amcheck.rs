//! `bt_index_check(index)`, PostgreSQL's amcheck extension function,
//! built in: verifies a B-tree's structure (levels, sibling links, key
//! order, downlinks) and that each entry's key is its heap tuple's.
//! Returns void, as amcheck's does; XX002 names the first violation.
//! The index is named as the size functions name relations (text or oid,
//! until `regclass` exists).

use super::super::exec::EvalContext;
use super::super::tables::RelationRef;
use super::super::types::{Datum, Type};
use super::Builder;
use crate::utils::elog::{PgError, PgResult, sqlstate};

fn bt_index_check(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> PgResult<Datum> {
    let oid = match super::dbsize::relation_arg(&a[0])? {
        RelationRef::Oid(o) => o,
        RelationRef::Name(schema, name) => {
            let Some(t) = cx.server.lookup_table(schema.as_deref(), &name)? else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{name}\" does not exist"),
                ));
            };
            if t.relkind != 'i' {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "only B-Tree indexes are supported as targets for verification",
                )
                .with_detail(format!("Relation \"{name}\" is not a B-Tree index.")));
            }
            t.oid
        }
    };
    cx.server.check_index(oid)?;
    Ok(Datum::Void)
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    for t in [Text, Oid] {
        b.func("bt_index_check", &[t], Void, bt_index_check);
    }
}
