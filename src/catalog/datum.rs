//! Stored values and SQL values of a table's columns: a [`Datum`] becomes
//! the [`HeapValue`] the heap stores for a column of a given type, and
//! back. The heap knows only storage shapes (fixed-width integers and
//! floats, byte strings); the type oid of the column says which SQL type a
//! shape carries. Index keys are made of the same stored values
//! ([`super::index`]).

use super::TableDef;
use super::defs::FIRST_NORMAL_OBJECT_ID;
use super::relcache::as_str;
use crate::sql::types::Datum;
use crate::storage::heap::HeapValue;
use crate::storage::heap::tuple::{oidvector_pack, oidvector_unpack};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// SQL value → stored value for a column of type `type_oid`.
pub fn to_heap(type_oid: u32, d: &Datum) -> PgResult<HeapValue> {
    Ok(match (type_oid, d) {
        (_, Datum::Null) => HeapValue::Null,
        (16, Datum::Bool(b)) => HeapValue::Bool(*b),
        (21, Datum::Int2(v)) => HeapValue::I16(*v),
        (23, Datum::Int4(v)) => HeapValue::I32(*v),
        (20, Datum::Int8(v)) => HeapValue::I64(*v),
        (t, Datum::Oid(v)) if crate::storage::heap::tuple::is_oid_type(t) => HeapValue::Oid(*v),
        (18, Datum::Text(s)) => HeapValue::Bytes(vec![crate::sql::adt::systypes::char_byte(s)]),
        (30, Datum::Text(s)) => {
            HeapValue::Bytes(oidvector_pack(&crate::sql::adt::systypes::oidvector_in(s)?))
        }
        (700, Datum::Float4(v)) => HeapValue::F32(*v),
        (701, Datum::Float8(v)) => HeapValue::F64(*v),
        (1700, Datum::Numeric(n)) => HeapValue::Bytes(n.to_string_pg().into_bytes()),
        (25 | 1043 | 1042, Datum::Text(s)) => HeapValue::Bytes(s.as_bytes().to_vec()),
        // `name` is fixed-width: NUL-padded to NAMEDATALEN (the SQL layer truncated it to 63 bytes).
        (19, Datum::Text(s)) => {
            let mut b = crate::sql::adt::truncate_name(s).into_bytes();
            b.resize(crate::storage::heap::tuple::NAMEDATALEN, 0);
            HeapValue::Bytes(b)
        }
        (17, Datum::Bytea(b)) => HeapValue::Bytes(b.clone()),
        (1184, Datum::Timestamptz(v)) => HeapValue::I64(*v),
        (1082, Datum::Date(v)) => HeapValue::I32(*v),
        (1114, Datum::Timestamp(v)) => HeapValue::I64(*v),
        (2950, Datum::Uuid(u)) => HeapValue::Bytes(u.to_vec()),
        (1083, Datum::Time(t)) => HeapValue::I64(*t),
        (
            1186,
            Datum::Interval {
                months,
                days,
                micros,
            },
        ) => {
            let mut b = micros.to_le_bytes().to_vec();
            b.extend_from_slice(&days.to_le_bytes());
            b.extend_from_slice(&months.to_le_bytes());
            HeapValue::Bytes(b)
        }
        (114, Datum::Json(s)) => HeapValue::Bytes(s.as_bytes().to_vec()),
        (3802, Datum::Jsonb(j)) => HeapValue::Bytes(j.to_text().into_bytes()),
        (_, Datum::Array(a)) => HeapValue::Bytes(crate::sql::adt::array::serialize(a)),
        // An enum column stores the label's pg_enum oid (4 bytes, by value).
        (_, Datum::Enum(e)) => HeapValue::I32(e.oid as i32),
        (_, other) => {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!("cannot store {other:?} in a column of type oid {type_oid}"),
            ));
        }
    })
}

/// Stored value → SQL value.
pub fn to_datum(type_oid: u32, v: HeapValue) -> PgResult<Datum> {
    Ok(match (type_oid, v) {
        (_, HeapValue::Null) => Datum::Null,
        (_, HeapValue::Bool(b)) => Datum::Bool(b),
        (_, HeapValue::I16(v)) => Datum::Int2(v),
        (1184, HeapValue::I64(v)) => Datum::Timestamptz(v),
        (1114, HeapValue::I64(v)) => Datum::Timestamp(v),
        (1082, HeapValue::I32(v)) => Datum::Date(v),
        (1083, HeapValue::I64(v)) => Datum::Time(v),
        (1186, HeapValue::Bytes(b)) if b.len() == 16 => Datum::Interval {
            micros: i64::from_le_bytes(b[0..8].try_into().expect("8 bytes")),
            days: i32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            months: i32::from_le_bytes(b[12..16].try_into().expect("4 bytes")),
        },
        (_, HeapValue::I64(v)) => Datum::Int8(v),
        (t, HeapValue::I32(v)) if t == 23 || t < FIRST_NORMAL_OBJECT_ID => Datum::Int4(v),
        // The only user-defined types with a 4-byte value are enums.
        (_, HeapValue::I32(v)) => crate::sql::adt::enums::from_oid(v as u32)?,
        (_, HeapValue::Oid(v)) => Datum::Oid(v),
        (_, HeapValue::F32(v)) => Datum::Float4(v),
        (_, HeapValue::F64(v)) => Datum::Float8(v),
        (18, HeapValue::Bytes(b)) => Datum::Text(crate::sql::adt::systypes::char_text(
            b.first().copied().unwrap_or(0),
        )),
        (30, HeapValue::Bytes(b)) => match oidvector_unpack(&b) {
            Some(oids) => Datum::Text(crate::sql::adt::systypes::oidvector_out(&oids)),
            None => {
                return Err(PgError::error(
                    sqlstate::DATA_CORRUPTED,
                    "invalid oidvector value on disk",
                ));
            }
        },
        (1700, HeapValue::Bytes(b)) => Datum::Numeric(crate::sql::adt::numeric::Numeric::parse(
            &String::from_utf8_lossy(&b),
        )?),
        (2950, HeapValue::Bytes(b)) => {
            Datum::Uuid(b.try_into().map_err(|_| {
                PgError::error(sqlstate::DATA_CORRUPTED, "invalid uuid value on disk")
            })?)
        }
        (17, HeapValue::Bytes(b)) => Datum::Bytea(b),
        (114, HeapValue::Bytes(b)) => Datum::Json(as_str(&HeapValue::Bytes(b))),
        (3802, HeapValue::Bytes(b)) => Datum::Jsonb(Box::new(
            crate::sql::adt::jsonb::Jsonb::parse(&String::from_utf8_lossy(&b))?,
        )),
        // The string types first: they are most columns, and the array
        // test below looks the type up.
        (25 | 1043 | 1042 | 19, v @ HeapValue::Bytes(_)) => Datum::Text(as_str(&v)),
        (t, HeapValue::Bytes(b))
            if crate::sql::types::Type::from_oid(t).is_some_and(|t| t.elem().is_some()) =>
        {
            Datum::Array(Box::new(crate::sql::adt::array::deserialize(&b)?))
        }
        (_, v @ HeapValue::Bytes(_)) => Datum::Text(as_str(&v)),
    })
}

pub fn row_to_heap(table: &TableDef, row: &[Datum]) -> PgResult<Vec<HeapValue>> {
    if row.len() != table.columns.len() {
        return Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            "row does not match the table's columns",
        ));
    }
    table
        .columns
        .iter()
        .zip(row)
        .map(|(c, d)| to_heap(c.type_oid, d))
        .collect()
}

pub fn row_to_datums(table: &TableDef, row: Vec<HeapValue>) -> PgResult<Vec<Datum>> {
    table
        .columns
        .iter()
        .zip(row)
        .map(|(c, v)| to_datum(c.type_oid, v))
        .collect()
}
