//! SQL values and types (PostgreSQL's `Datum` and `pg_type`), in memory.
//!
//! A [`Datum`] is an owned value; [`Type`] names its PostgreSQL type and
//! knows its OID, `typlen`, `typcategory` and whether it is the preferred
//! type of its category (what operator and function resolution need). Text
//! input/output live in [`super::adt`] and follow PostgreSQL's formats
//! (`boolin`/`boolout`, `int4in`, `numeric_out`, `timestamptz_out` in ISO
//! DateStyle).
//!
//! CONTRACT (used by the backend, which builds system-view rows): the
//! variants below exist with these payloads. More may be added.

use crate::utils::time::TimestampTz;

pub use super::adt::numeric::Numeric;

/// A PostgreSQL type, as far as ferrogres knows types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    Int2,
    Int4,
    Int8,
    Float8,
    Numeric,
    Text,
    /// `name`: text limited to 63 bytes, OID 19.
    Name,
    Oid,
    Xid,
    /// `inet`: kept as its text form.
    Inet,
    Timestamptz,
    Interval,
    /// A literal whose type is not yet decided (`'abc'` before coercion).
    Unknown,
    Float4,
    /// `varchar` (`character varying`); values are `Datum::Text`.
    Varchar,
    /// `regtype`: an OID printed as a type name (`pg_typeof`).
    Regtype,
    /// `void`, what `pg_sleep` returns; printed as an empty string.
    Void,
    /// `text[]` (only produced, e.g. `pg_settings.enumvals`).
    TextArray,
    /// `date`: days since 2000-01-01 ([`Datum::Date`]).
    Date,
    /// `timestamp [without time zone]`: wall-clock microseconds since
    /// 2000-01-01 00:00 ([`Datum::Timestamp`]).
    Timestamp,
    /// `character(n)` / `bpchar`: blank-padded; values are `Datum::Text`.
    Bpchar,
    /// `pg_lsn`: a WAL position ([`Datum::Lsn`]).
    PgLsn,
    /// `"char"`: one byte, the catalogs' codes (`typtype`, `prokind`);
    /// values are `Datum::Text` of that character (`\ooo` for a byte past
    /// ASCII, as `charout` prints it; empty for the zero byte).
    Char,
    /// `regproc`: a `pg_proc` oid printed as the function's name
    /// ([`Datum::Oid`]).
    Regproc,
    /// `oidvector`: space-separated oids (`pg_proc.proargtypes`); values are
    /// `Datum::Text` in `oidvectorout` form.
    Oidvector,
    /// `uuid`: 16 bytes, compared as bytes ([`Datum::Uuid`]).
    Uuid,
    /// `bytea`: a byte string ([`Datum::Bytea`]), OID 17.
    Bytea,
}

/// `pg_type.typcategory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeCategory {
    Boolean,
    Numeric,
    String,
    DateTime,
    Timespan,
    Network,
    User,
    Array,
    Pseudo,
    Unknown,
    /// `'Z'`: internal-use types (`"char"`).
    Internal,
}

impl TypeCategory {
    /// The `pg_type.typcategory` letter.
    pub fn as_char(self) -> char {
        match self {
            TypeCategory::Boolean => 'B',
            TypeCategory::Numeric => 'N',
            TypeCategory::String => 'S',
            TypeCategory::DateTime => 'D',
            TypeCategory::Timespan => 'T',
            TypeCategory::Network => 'I',
            TypeCategory::User => 'U',
            TypeCategory::Array => 'A',
            TypeCategory::Pseudo => 'P',
            TypeCategory::Unknown => 'X',
            TypeCategory::Internal => 'Z',
        }
    }
}

impl Type {
    /// `pg_type.oid`.
    pub fn oid(self) -> u32 {
        match self {
            Type::Bool => 16,
            Type::Int2 => 21,
            Type::Int4 => 23,
            Type::Int8 => 20,
            Type::Float8 => 701,
            Type::Numeric => 1700,
            Type::Text => 25,
            Type::Name => 19,
            Type::Oid => 26,
            Type::Xid => 28,
            Type::Inet => 869,
            Type::Timestamptz => 1184,
            Type::Interval => 1186,
            Type::Unknown => 705,
            Type::Float4 => 700,
            Type::Varchar => 1043,
            Type::Regtype => 2206,
            Type::Void => 2278,
            Type::TextArray => 1009,
            Type::Date => 1082,
            Type::Timestamp => 1114,
            Type::Bpchar => 1042,
            Type::PgLsn => 3220,
            Type::Char => 18,
            Type::Regproc => 24,
            Type::Oidvector => 30,
            Type::Uuid => 2950,
            Type::Bytea => 17,
        }
    }

    pub const ALL: [Type; 28] = [
        Type::Bool,
        Type::Int2,
        Type::Int4,
        Type::Int8,
        Type::Float8,
        Type::Numeric,
        Type::Text,
        Type::Name,
        Type::Oid,
        Type::Xid,
        Type::Inet,
        Type::Timestamptz,
        Type::Interval,
        Type::Unknown,
        Type::Float4,
        Type::Varchar,
        Type::Regtype,
        Type::Void,
        Type::TextArray,
        Type::Date,
        Type::Timestamp,
        Type::Bpchar,
        Type::PgLsn,
        Type::Char,
        Type::Regproc,
        Type::Oidvector,
        Type::Uuid,
        Type::Bytea,
    ];

    pub fn from_oid(oid: u32) -> Option<Type> {
        Type::ALL.into_iter().find(|t| t.oid() == oid)
    }

    /// `pg_type.typlen` (-1 for varlena, -2 for cstring-like unknown).
    pub fn typlen(self) -> i16 {
        match self {
            Type::Bool | Type::Char => 1,
            Type::Int2 => 2,
            Type::Int4
            | Type::Oid
            | Type::Xid
            | Type::Float4
            | Type::Regtype
            | Type::Regproc
            | Type::Void
            | Type::Date => 4,
            Type::Int8 | Type::Float8 | Type::Timestamptz | Type::Timestamp | Type::PgLsn => 8,
            Type::Interval | Type::Uuid => 16,
            Type::Name => 64,
            Type::Numeric
            | Type::Text
            | Type::Inet
            | Type::Varchar
            | Type::TextArray
            | Type::Oidvector
            | Type::Bpchar
            | Type::Bytea => -1,
            Type::Unknown => -2,
        }
    }

    /// The name `format_type` prints (what error messages and `pg_typeof` show).
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Int2 => "smallint",
            Type::Int4 => "integer",
            Type::Int8 => "bigint",
            Type::Float8 => "double precision",
            Type::Numeric => "numeric",
            Type::Text => "text",
            Type::Name => "name",
            Type::Oid => "oid",
            Type::Xid => "xid",
            Type::Inet => "inet",
            Type::Timestamptz => "timestamp with time zone",
            Type::Interval => "interval",
            Type::Unknown => "unknown",
            Type::Float4 => "real",
            Type::Varchar => "character varying",
            Type::Regtype => "regtype",
            Type::Void => "void",
            Type::TextArray => "text[]",
            Type::Date => "date",
            Type::Timestamp => "timestamp without time zone",
            Type::Bpchar => "character",
            Type::PgLsn => "pg_lsn",
            Type::Char => "\"char\"",
            Type::Regproc => "regproc",
            Type::Oidvector => "oidvector",
            Type::Uuid => "uuid",
            Type::Bytea => "bytea",
        }
    }

    /// `format_type(oid, typmod)` (PostgreSQL's `format_type_extended`):
    /// the SQL name with the typmod spelled out (`character varying(10)`,
    /// `numeric(10,2)`, `timestamp(3) with time zone`). `typmod_given` is
    /// false when the caller passed no typmod at all (NULL); a given -1
    /// prints `bpchar` by its catalog name, as PostgreSQL does.
    pub fn format_with_typmod(self, typmod: i32, typmod_given: bool) -> String {
        const VARHDRSZ: i32 = 4;
        match self {
            Type::Varchar | Type::Bpchar if typmod >= VARHDRSZ => {
                format!("{}({})", self.name(), typmod - VARHDRSZ)
            }
            // bpchar with typmod -1 is not CHARACTER, which means
            // CHARACTER(1): PostgreSQL reports it as bpchar.
            Type::Bpchar if typmod_given => "bpchar".to_string(),
            Type::Numeric if typmod >= VARHDRSZ => {
                let t = typmod - VARHDRSZ;
                // The scale is a signed 11-bit field (PostgreSQL 15 allows
                // negative scales).
                let scale = ((t & 0x7ff) ^ 1024) - 1024;
                format!("numeric({},{})", (t >> 16) & 0xffff, scale)
            }
            Type::Timestamp if typmod >= 0 => format!("timestamp({typmod}) without time zone"),
            Type::Timestamptz if typmod >= 0 => format!("timestamp({typmod}) with time zone"),
            _ => self.name().to_string(),
        }
    }

    /// `pg_type.typname`.
    pub fn typname(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int2 => "int2",
            Type::Int4 => "int4",
            Type::Int8 => "int8",
            Type::Float8 => "float8",
            Type::Numeric => "numeric",
            Type::Text => "text",
            Type::Name => "name",
            Type::Oid => "oid",
            Type::Xid => "xid",
            Type::Inet => "inet",
            Type::Timestamptz => "timestamptz",
            Type::Interval => "interval",
            Type::Unknown => "unknown",
            Type::Float4 => "float4",
            Type::Varchar => "varchar",
            Type::Regtype => "regtype",
            Type::Void => "void",
            Type::TextArray => "_text",
            Type::Date => "date",
            Type::Timestamp => "timestamp",
            Type::Bpchar => "bpchar",
            Type::PgLsn => "pg_lsn",
            Type::Char => "char",
            Type::Regproc => "regproc",
            Type::Oidvector => "oidvector",
            Type::Uuid => "uuid",
            Type::Bytea => "bytea",
        }
    }

    /// Looks up a type by `typname` or one of the SQL spellings the grammar
    /// does not already translate.
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "bool" | "boolean" => Type::Bool,
            "int2" | "smallint" => Type::Int2,
            "int4" | "integer" | "int" => Type::Int4,
            "int8" | "bigint" => Type::Int8,
            "float8" | "double precision" => Type::Float8,
            "float4" | "real" => Type::Float4,
            "numeric" | "decimal" => Type::Numeric,
            "text" => Type::Text,
            "name" => Type::Name,
            "oid" => Type::Oid,
            "xid" => Type::Xid,
            "inet" => Type::Inet,
            "timestamptz" => Type::Timestamptz,
            "interval" => Type::Interval,
            "unknown" => Type::Unknown,
            "varchar" => Type::Varchar,
            "regtype" => Type::Regtype,
            "void" => Type::Void,
            "_text" => Type::TextArray,
            "date" => Type::Date,
            "timestamp" => Type::Timestamp,
            "bpchar" => Type::Bpchar,
            "pg_lsn" => Type::PgLsn,
            // `char` without quotes is character(1), which the grammar
            // spells bpchar; only the quoted "char" arrives here as "char".
            "char" => Type::Char,
            "regproc" => Type::Regproc,
            "oidvector" => Type::Oidvector,
            "uuid" => Type::Uuid,
            "bytea" => Type::Bytea,
            _ => return None,
        })
    }

    /// `pg_type.typcategory`.
    pub fn category(self) -> TypeCategory {
        match self {
            Type::Bool => TypeCategory::Boolean,
            Type::Int2
            | Type::Int4
            | Type::Int8
            | Type::Float4
            | Type::Float8
            | Type::Numeric
            | Type::Oid
            | Type::Regtype
            | Type::Regproc => TypeCategory::Numeric,
            Type::Text | Type::Name | Type::Varchar | Type::Bpchar => TypeCategory::String,
            Type::Timestamptz | Type::Date | Type::Timestamp => TypeCategory::DateTime,
            Type::Interval => TypeCategory::Timespan,
            Type::Inet => TypeCategory::Network,
            Type::Xid | Type::PgLsn | Type::Uuid | Type::Bytea => TypeCategory::User,
            Type::TextArray | Type::Oidvector => TypeCategory::Array,
            Type::Char => TypeCategory::Internal,
            Type::Void => TypeCategory::Pseudo,
            Type::Unknown => TypeCategory::Unknown,
        }
    }

    /// `pg_type.typispreferred`.
    pub fn is_preferred(self) -> bool {
        matches!(
            self,
            Type::Bool
                | Type::Float8
                | Type::Oid
                | Type::Text
                | Type::Timestamptz
                | Type::Interval
                | Type::Inet
        )
    }

    /// Whether values of this type compare with `<` (have a btree opclass here).
    pub fn is_sortable(self) -> bool {
        !matches!(
            self,
            Type::Void | Type::Unknown | Type::TextArray | Type::Xid | Type::Oidvector
        )
    }
}

/// An owned SQL value. `Null` is untyped; the column or expression carries the type.
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float8(f64),
    /// Arbitrary-precision decimal ([`super::adt::numeric`]).
    Numeric(Numeric),
    /// text, varchar, name, inet and unknown literals.
    Text(String),
    /// oid and regtype.
    Oid(u32),
    Xid(u32),
    Timestamptz(TimestampTz),
    /// Interval: months, days, microseconds (PostgreSQL's `Interval`).
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    Float4(f32),
    /// `void`: not NULL, prints as nothing.
    Void,
    /// A one-dimensional `text[]`.
    TextArray(Vec<Option<String>>),
    /// `date`: days since 2000-01-01 (`i32::MIN`/`i32::MAX` are -infinity/infinity).
    Date(i32),
    /// `timestamp without time zone`: microseconds since 2000-01-01 00:00.
    Timestamp(i64),
    /// `pg_lsn`.
    Lsn(u64),
    /// `uuid`, in PostgreSQL's byte order (as printed, as compared).
    Uuid([u8; 16]),
    /// `bytea`: at most 1 GB (`MaxAllocSize`), as any varlena.
    Bytea(Vec<u8>),
}

impl Datum {
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }
}
