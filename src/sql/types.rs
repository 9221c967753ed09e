//! SQL values and types (PostgreSQL's `Datum` and `pg_type`), in memory.
//!
//! A [`Type`] is a `pg_type` oid; what the analyser and executor need to
//! know of it (`typlen`, `typcategory`, `typispreferred`, `typelem` and
//! `typarray`, its name) is read from its `pg_type` row, so adding a type
//! is adding a row plus its input/output in [`super::adt`], not a case in
//! every `match`. A [`Datum`] is an owned value; text input/output live in
//! [`super::adt`] and follow PostgreSQL's formats (`boolin`/`boolout`,
//! `int4in`, `numeric_out`, `timestamptz_out` in ISO DateStyle).
//!
//! Invariant: a `Type` always names a `pg_type` row (it is made only from
//! the constants below, which the catalog tests check, or by
//! [`Type::from_oid`] / [`Type::from_name`], which look the row up).

use crate::utils::time::TimestampTz;

pub use super::adt::numeric::Numeric;

/// A PostgreSQL type: its `pg_type` oid (PostgreSQL's `Oid` of a type).
///
/// Everything else about a type — `typlen`, `typcategory`, whether it is
/// preferred, its element and array types, its name — comes from its
/// `pg_type` row ([`crate::catalog::builtin::pg_type::PG_TYPE`] for the
/// built-in types), never from a list of cases here. The associated
/// constants name the built-in types the server's own code refers to
/// (`Type::Int4` is oid 23); they work in expressions and in `match`
/// patterns alike, and a `match` over `Type` always has a `_` arm, since
/// the set of types is open.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Type(u32);

#[allow(non_upper_case_globals)]
impl Type {
    pub const Bool: Type = Type(16);
    /// `bytea`: a byte string ([`Datum::Bytea`]).
    pub const Bytea: Type = Type(17);
    /// `"char"`: one byte, the catalogs' codes (`typtype`, `prokind`);
    /// values are `Datum::Text` of that character (`\ooo` for a byte past
    /// ASCII, as `charout` prints it; empty for the zero byte).
    pub const Char: Type = Type(18);
    /// `name`: text limited to 63 bytes.
    pub const Name: Type = Type(19);
    pub const Int8: Type = Type(20);
    pub const Int2: Type = Type(21);
    pub const Int4: Type = Type(23);
    /// `regproc`: a `pg_proc` oid printed as the function's name
    /// ([`Datum::Oid`]).
    pub const Regproc: Type = Type(24);
    pub const Text: Type = Type(25);
    pub const Oid: Type = Type(26);
    pub const Xid: Type = Type(28);
    /// `json`: the validated input text ([`Datum::Json`]).
    pub const Json: Type = Type(114);
    /// `oidvector`: space-separated oids (`pg_proc.proargtypes`); values are
    /// `Datum::Text` in `oidvectorout` form.
    pub const Oidvector: Type = Type(30);
    pub const Float4: Type = Type(700);
    pub const Float8: Type = Type(701);
    /// A literal whose type is not yet decided (`'abc'` before coercion).
    pub const Unknown: Type = Type(705);
    /// `inet`: kept as its text form.
    pub const Inet: Type = Type(869);
    /// `text[]` (a [`Datum::Array`] of text).
    pub const TextArray: Type = Type(1009);
    /// `character(n)` / `bpchar`: blank-padded; values are `Datum::Text`.
    pub const Bpchar: Type = Type(1042);
    /// `varchar` (`character varying`); values are `Datum::Text`.
    pub const Varchar: Type = Type(1043);
    /// `date`: days since 2000-01-01 ([`Datum::Date`]).
    pub const Date: Type = Type(1082);
    /// `time [without time zone]`: microseconds since midnight ([`Datum::Time`]).
    pub const Time: Type = Type(1083);
    /// `timestamp [without time zone]`: wall-clock microseconds since
    /// 2000-01-01 00:00 ([`Datum::Timestamp`]).
    pub const Timestamp: Type = Type(1114);
    pub const Timestamptz: Type = Type(1184);
    pub const Interval: Type = Type(1186);
    pub const Numeric: Type = Type(1700);
    /// `regtype`: an oid printed as a type name (`pg_typeof`).
    pub const Regtype: Type = Type(2206);
    /// `regprocedure`: a `pg_proc` oid printed with its argument types.
    pub const Regprocedure: Type = Type(2202);
    /// `regoper`: a `pg_operator` oid printed as the operator's name.
    pub const Regoper: Type = Type(2203);
    /// `regoperator`: a `pg_operator` oid printed with its operand types.
    pub const Regoperator: Type = Type(2204);
    /// `regclass`: a `pg_class` oid printed as the relation's name.
    pub const Regclass: Type = Type(2205);
    /// `regnamespace`: a `pg_namespace` oid printed as the schema's name.
    pub const Regnamespace: Type = Type(4089);
    /// `regrole`: a role's oid printed as its name.
    pub const Regrole: Type = Type(4096);
    /// `regcollation`: a `pg_collation` oid printed as the collation's name.
    pub const Regcollation: Type = Type(4191);
    /// `void`, what `pg_sleep` returns; printed as an empty string.
    pub const Void: Type = Type(2278);
    /// `uuid`: 16 bytes, compared as bytes ([`Datum::Uuid`]).
    pub const Uuid: Type = Type(2950);
    /// `pg_lsn`: a WAL position ([`Datum::Lsn`]).
    pub const PgLsn: Type = Type(3220);
    /// `jsonb`: parsed JSON ([`Datum::Jsonb`], `adt::jsonb`).
    pub const Jsonb: Type = Type(3802);
    /// `record`: an anonymous row value ([`Datum::Record`], `adt::rowtypes`).
    pub const Record: Type = Type(2249);
    /// Polymorphic pseudo-types, as declared result types of array
    /// functions; the analyser replaces them by the resolved type.
    pub const AnyArray: Type = Type(2277);
    pub const AnyElement: Type = Type(2283);
    pub const AnyCompatible: Type = Type(5077);
    /// `anyenum`: any enum type (the `anyelement` family, restricted).
    pub const AnyEnum: Type = Type(3500);
    pub const AnyCompatibleArray: Type = Type(5078);
}

/// The built-in type constants as free names, for tables that list many
/// signatures (`use crate::sql::types::consts::*;` in place of naming
/// `Type::Int4` each time).
#[allow(non_upper_case_globals)]
pub mod consts {
    use super::Type;
    pub const Bool: Type = Type::Bool;
    pub const Bytea: Type = Type::Bytea;
    pub const Char: Type = Type::Char;
    pub const Name: Type = Type::Name;
    pub const Int8: Type = Type::Int8;
    pub const Int2: Type = Type::Int2;
    pub const Int4: Type = Type::Int4;
    pub const Regproc: Type = Type::Regproc;
    pub const Text: Type = Type::Text;
    pub const Oid: Type = Type::Oid;
    pub const Xid: Type = Type::Xid;
    pub const Oidvector: Type = Type::Oidvector;
    pub const Float4: Type = Type::Float4;
    pub const Float8: Type = Type::Float8;
    pub const Unknown: Type = Type::Unknown;
    pub const Inet: Type = Type::Inet;
    pub const TextArray: Type = Type::TextArray;
    pub const Bpchar: Type = Type::Bpchar;
    pub const Varchar: Type = Type::Varchar;
    pub const Date: Type = Type::Date;
    pub const Time: Type = Type::Time;
    pub const Timestamp: Type = Type::Timestamp;
    pub const Timestamptz: Type = Type::Timestamptz;
    pub const Interval: Type = Type::Interval;
    pub const Numeric: Type = Type::Numeric;
    pub const Regtype: Type = Type::Regtype;
    pub const Regprocedure: Type = Type::Regprocedure;
    pub const Regoper: Type = Type::Regoper;
    pub const Regoperator: Type = Type::Regoperator;
    pub const Regclass: Type = Type::Regclass;
    pub const Regnamespace: Type = Type::Regnamespace;
    pub const Regrole: Type = Type::Regrole;
    pub const Regcollation: Type = Type::Regcollation;
    pub const Void: Type = Type::Void;
    pub const Uuid: Type = Type::Uuid;
    pub const PgLsn: Type = Type::PgLsn;
    pub const Json: Type = Type::Json;
    pub const Jsonb: Type = Type::Jsonb;
}

impl std::fmt::Debug for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.entry() {
            Some(e) => write!(f, "Type({} {})", self.0, e.typname),
            None => write!(f, "Type({})", self.0),
        }
    }
}

/// A user-defined type as `format_type` names it: schema-qualified
/// unless the search path finds it by its bare name (`TypeIsVisible`),
/// each part quoted where it must be.
fn user_type_name(oid: u32, typname: &str) -> String {
    let quote = crate::sql::functions::string::quote_identifier;
    match crate::catalog::syscache::user_type_row(oid) {
        Some(u) if !crate::catalog::syscache::user_type_is_visible(oid) => {
            let nsp = crate::catalog::syscache::namespace_name(u.namespace)
                .ok()
                .flatten()
                .unwrap_or_default();
            format!("{}.{}", quote(&nsp), quote(typname))
        }
        _ => quote(typname),
    }
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
    /// `'E'`: enum types (`CREATE TYPE ... AS ENUM`).
    Enum,
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
            TypeCategory::Enum => 'E',
            TypeCategory::Internal => 'Z',
        }
    }
}

impl Type {
    /// `pg_type.oid`.
    pub fn oid(self) -> u32 {
        self.0
    }

    /// The type with this oid, if ferrogres has it (a `pg_type` row).
    pub fn from_oid(oid: u32) -> Option<Type> {
        Type(oid).entry().map(|_| Type(oid))
    }

    /// The object-identifier alias types (`regproc`, `regclass`, ...): an
    /// `oid` on disk and on the wire, read and printed as an object's name.
    pub fn is_reg(self) -> bool {
        self != Type::Oid && self.is_oid_like()
    }

    /// `oid` or one of its alias types (all held as [`Datum::Oid`]; the
    /// list is the heap's, which stores them all as an `oid`).
    pub fn is_oid_like(self) -> bool {
        crate::storage::heap::tuple::is_oid_type(self.0)
    }

    /// Every type ferrogres has, in oid order.
    pub fn all() -> impl Iterator<Item = Type> {
        crate::catalog::builtin::pg_type::PG_TYPE
            .iter()
            .map(|e| Type(e.oid))
    }

    /// This type's `pg_type` row: a built-in's from the declarative table,
    /// a user-defined type's (oid from 16384 on) from the catalog through
    /// the statement's catalog view (`catalog::syscache::user_type`).
    pub fn entry(self) -> Option<&'static crate::catalog::builtin::TypeEntry> {
        let table = crate::catalog::builtin::pg_type::PG_TYPE;
        match table.binary_search_by_key(&self.0, |e| e.oid) {
            Ok(i) => Some(&table[i]),
            Err(_) if self.0 >= crate::catalog::defs::FIRST_NORMAL_OBJECT_ID => {
                crate::catalog::syscache::user_type(self.0)
            }
            Err(_) => None,
        }
    }

    /// `pg_type.typtype`: `b` base, `e` enum, `p` pseudo, `c` composite,
    /// `d` domain, `r` range.
    pub fn typtype(self) -> u8 {
        self.row().typtype
    }

    /// Whether this is an enum type (`CREATE TYPE ... AS ENUM`).
    pub fn is_enum(self) -> bool {
        self.0 >= crate::catalog::defs::FIRST_NORMAL_OBJECT_ID
            && self.entry().is_some_and(|e| e.typtype == b'e')
    }

    fn row(self) -> &'static crate::catalog::builtin::TypeEntry {
        // A Type is only ever made from a constant above or by from_oid,
        // both of which name a row.
        self.entry()
            .unwrap_or_else(|| panic!("type oid {} has no pg_type row", self.0))
    }

    /// `pg_type.typcollation`: 100 (`default`) for collatable types, else 0.
    pub fn typcollation(self) -> u32 {
        self.row().typcollation
    }

    /// `pg_type.typlen` (-1 for varlena, -2 for cstring-like unknown).
    pub fn typlen(self) -> i16 {
        self.row().typlen
    }

    /// The element type of a true array type (`int4[]`, `_int4`): one
    /// with `typelem` whose subscripting is `array_subscript_handler`,
    /// which PostgreSQL names by a leading underscore. `name` and
    /// `oidvector` have a `typelem` too but are fixed-layout vectors.
    pub fn elem(self) -> Option<Type> {
        let e = self.row();
        (e.typelem != 0 && e.typlen == -1 && e.typname.starts_with('_')).then(|| Type(e.typelem))
    }

    /// `pg_type.typarray` as a type: the array type over this one.
    pub fn array(self) -> Option<Type> {
        let a = self.row().typarray;
        (a != 0).then_some(Type(a))
    }

    /// The name `format_type` prints (what error messages and `pg_typeof`
    /// show): the SQL standard's spelling where the grammar has one,
    /// `typname` otherwise, `element[]` for an array.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            Type::Bool => "boolean",
            Type::Int2 => "smallint",
            Type::Int4 => "integer",
            Type::Int8 => "bigint",
            Type::Float8 => "double precision",
            Type::Float4 => "real",
            Type::Timestamptz => "timestamp with time zone",
            Type::Time => "time without time zone",
            Type::Timestamp => "timestamp without time zone",
            Type::Varchar => "character varying",
            Type::Bpchar => "character",
            Type::Char => "\"char\"",
            _ => {
                if let Some(elem) = self.elem() {
                    return Cow::Owned(format!("{}[]", elem.name()));
                }
                if self.0 >= crate::catalog::defs::FIRST_NORMAL_OBJECT_ID {
                    return Cow::Owned(user_type_name(self.0, self.row().typname));
                }
                self.row().typname
            }
        })
    }

    /// `format_type(oid, typmod)` (PostgreSQL's `format_type_extended`):
    /// the SQL name with the typmod spelled out (`character varying(10)`,
    /// `numeric(10,2)`, `timestamp(3) with time zone`). `typmod_given` is
    /// false when the caller passed no typmod at all (NULL); a given -1
    /// prints `bpchar` by its catalog name, as PostgreSQL does.
    pub fn format_with_typmod(self, typmod: i32, typmod_given: bool) -> String {
        const VARHDRSZ: i32 = 4;
        if let Some(e) = self.elem() {
            return format!(
                "{}[]",
                e.format_with_typmod(typmod, typmod_given && typmod >= 0)
            );
        }
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
            Type::Time if typmod >= 0 => format!("time({typmod}) without time zone"),
            Type::Timestamptz if typmod >= 0 => format!("timestamp({typmod}) with time zone"),
            _ => self.name().to_string(),
        }
    }

    /// `pg_type.typname`.
    pub fn typname(self) -> &'static str {
        self.row().typname
    }

    /// Looks up a type by `typname` or one of the SQL spellings the grammar
    /// does not already translate.
    pub fn from_name(name: &str) -> Option<Type> {
        let typname = match name {
            "boolean" => "bool",
            "smallint" => "int2",
            "integer" | "int" => "int4",
            "bigint" => "int8",
            "double precision" => "float8",
            "real" => "float4",
            "decimal" => "numeric",
            // `char` without quotes is character(1), which the grammar
            // spells bpchar; only the quoted "char" arrives here as "char".
            other => other,
        };
        crate::catalog::builtin::pg_type::PG_TYPE
            .iter()
            .find(|e| e.typname == typname && Type(e.oid).is_usable_in_sql())
            .map(|e| Type(e.oid))
    }

    /// Whether a column, cast or literal may have this type: not a
    /// pseudo-type (`any`, `internal`, ...) other than `void` and `unknown`,
    /// nor an array of one.
    fn is_usable_in_sql(self) -> bool {
        let e = self.row();
        match e.typtype {
            b'p' => matches!(self, Type::Void | Type::Unknown),
            _ => e.typelem == 0 || Type(e.typelem).row().typtype != b'p',
        }
    }

    /// `pg_type.typcategory`.
    pub fn category(self) -> TypeCategory {
        match self.row().typcategory {
            b'B' => TypeCategory::Boolean,
            b'N' => TypeCategory::Numeric,
            b'S' => TypeCategory::String,
            b'D' => TypeCategory::DateTime,
            b'T' => TypeCategory::Timespan,
            b'I' => TypeCategory::Network,
            b'A' => TypeCategory::Array,
            b'P' => TypeCategory::Pseudo,
            b'X' => TypeCategory::Unknown,
            b'E' => TypeCategory::Enum,
            b'Z' => TypeCategory::Internal,
            _ => TypeCategory::User,
        }
    }

    /// `pg_type.typispreferred`.
    pub fn is_preferred(self) -> bool {
        self.row().typispreferred
    }

    /// Whether values of this type compare with `<` (have a btree opclass here).
    pub fn is_sortable(self) -> bool {
        if let Some(e) = self.elem() {
            return e.is_sortable();
        }
        // record: field by field (`adt::rowtypes::record_cmp`).
        self == Type::Record
            || !matches!(
                self,
                Type::Void | Type::Unknown | Type::Xid | Type::Oidvector | Type::Json
            ) && self.row().typtype != b'p'
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
    /// An array of any element type, any dimensions ([`super::adt::array`]).
    Array(Box<super::adt::array::ArrayValue>),
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
    /// `time`: microseconds since midnight, 0 ..= 24:00:00.
    Time(i64),
    /// `json`: the input text, validated.
    Json(String),
    /// `jsonb` ([`super::adt::jsonb`]).
    Jsonb(Box<super::adt::jsonb::Jsonb>),
    /// A row value (`ROW(...)`, a whole-row reference; `adt::rowtypes`).
    Record(Box<super::adt::rowtypes::RecordValue>),
    /// A value of an enum type: its `pg_enum` row (`adt::enums`).
    Enum(super::adt::enums::EnumValue),
}

impl Datum {
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }
}
