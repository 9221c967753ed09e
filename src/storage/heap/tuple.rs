//! Forming and deforming heap tuples: PostgreSQL's `heaptuple.c`
//! (`heap_form_tuple`, `heap_deform_tuple`) and the storage half of
//! `tupdesc.h`.
//!
//! A tuple is the 31-byte [`HeapTupleHeader`], the null bitmap (one bit per
//! attribute, 1 = not null, present only if some attribute is null), padding
//! to `t_hoff` = MAXALIGN(31 + bitmap), then each non-null attribute aligned
//! by its `typalign` relative to the tuple start (tuples start MAXALIGNed
//! on the page, so this is also alignment in memory):
//!
//! - pass-by-value types (`typbyval`, `typlen` 1, 2, 4 or 8) are stored
//!   as little-endian integers / IEEE floats;
//! - fixed-length pass-by-reference types (`name`, 64 bytes) as their bytes;
//! - varlena types (`typlen = -1`: text, varchar, numeric, bytea) as a
//!   4-byte header `total_length << 2` (PostgreSQL's uncompressed 4-byte
//!   header on little-endian, low two bits 00) followed by the payload.
//!
//! No TOAST: there are no 1-byte short headers, no compression and no
//! out-of-line values, so a whole row must fit on one page
//! ([`MAX_HEAP_TUPLE_SIZE`] = 8152 bytes including the header); a bigger
//! row is `54000 row is too big: size N, maximum size 8152`.

use crate::storage::page::{ItemPointer, maxalign, typealign};
use crate::storage::types::{Oid, Xid};
use crate::utils::elog::{PgError, sqlstate};

use super::htup::{
    HEAP_HASNULL, HEAP_HASVARWIDTH, HEAP_NATTS_MASK, HEAP_XMAX_INVALID, HeapTupleHeader,
    MAX_HEAP_ATTRIBUTE_NUMBER, MAX_HEAP_TUPLE_SIZE, SIZEOF_HEAP_TUPLE_HEADER, bitmap_len,
};

// pg_type OIDs of the types the heap knows how to store.
pub const BOOLOID: Oid = 16;
pub const BYTEAOID: Oid = 17;
pub const CHAROID: Oid = 18;
pub const NAMEOID: Oid = 19;
pub const INT8OID: Oid = 20;
pub const INT2OID: Oid = 21;
pub const INT4OID: Oid = 23;
pub const REGPROCOID: Oid = 24;
pub const TEXTOID: Oid = 25;
pub const OIDOID: Oid = 26;
pub const OIDVECTOROID: Oid = 30;
pub const FLOAT4OID: Oid = 700;
pub const FLOAT8OID: Oid = 701;
pub const BPCHAROID: Oid = 1042;
pub const VARCHAROID: Oid = 1043;
pub const DATEOID: Oid = 1082;
pub const TIMESTAMPOID: Oid = 1114;
pub const TIMESTAMPTZOID: Oid = 1184;
pub const NUMERICOID: Oid = 1700;
pub const REGCLASSOID: Oid = 2205;
pub const REGTYPEOID: Oid = 2206;
pub const UUIDOID: Oid = 2950;
pub const JSONOID: Oid = 114;
pub const JSONBOID: Oid = 3802;

/// PostgreSQL's `NAMEDATALEN`: `name` values are this many bytes,
/// NUL-padded.
pub const NAMEDATALEN: usize = 64;

/// `pg_type.typalign`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypAlign {
    /// `'c'`: 1 byte.
    Char,
    /// `'s'`: 2 bytes.
    Short,
    /// `'i'`: 4 bytes.
    Int,
    /// `'d'`: 8 bytes.
    Double,
}

impl TypAlign {
    pub fn bytes(self) -> usize {
        match self {
            TypAlign::Char => 1,
            TypAlign::Short => 2,
            TypAlign::Int => 4,
            TypAlign::Double => 8,
        }
    }

    /// The `pg_type.typalign` character.
    pub fn as_char(self) -> char {
        match self {
            TypAlign::Char => 'c',
            TypAlign::Short => 's',
            TypAlign::Int => 'i',
            TypAlign::Double => 'd',
        }
    }

    pub fn from_char(c: char) -> Option<TypAlign> {
        Some(match c {
            'c' => TypAlign::Char,
            's' => TypAlign::Short,
            'i' => TypAlign::Int,
            'd' => TypAlign::Double,
            _ => return None,
        })
    }
}

/// The types the SQL layer stores, with their `pg_type` storage properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    /// i32 days since 2000-01-01.
    Date,
    /// i64 µs since 2000-01-01 00:00.
    Timestamp,
    /// i64 µs since 2000-01-01 00:00 UTC.
    Timestamptz,
    Numeric,
    Text,
    Varchar,
    Bpchar,
    Bytea,
    /// 64 bytes, NUL-padded; the catalogs' identifier type.
    Name,
    /// `"char"`: one byte, by value, the catalogs' one-letter codes
    /// (`typtype`, `prokind`). Stored as [`HeapValue::Bytes`] of length 1.
    Char,
    /// `regproc`: a `pg_proc` oid, stored exactly as `oid`.
    Regproc,
    /// Another object-identifier alias type (`regclass`, `regtype`...; its
    /// `pg_type` oid), stored exactly as `oid`.
    OidAlias(Oid),
    /// `oidvector`: PostgreSQL's one-dimensional oid array with lower bound
    /// 0 (`pg_proc.proargtypes`), a varlena whose payload is PostgreSQL's
    /// array layout ([`oidvector_pack`]).
    Oidvector,
    /// `time`: i64 µs since midnight, by value.
    Time,
    /// `interval`: 16 bytes as PostgreSQL lays it out (i64 µs, i32 days,
    /// i32 months, little-endian), by reference, double-aligned.
    Interval,
    /// `uuid`: 16 bytes, by reference, unaligned (`typalign 'c'`), as
    /// PostgreSQL stores it. Stored as [`HeapValue::Bytes`] of length 16.
    Uuid,
    /// `json`: its text, a varlena.
    Json,
    /// `jsonb`: a varlena holding the value's canonical text output
    /// (`sql::adt::jsonb`), parsed again when read.
    Jsonb,
    /// An array type (its `pg_type` oid): a varlena holding
    /// `sql::adt::array::serialize`'s form.
    Array(Oid),
    /// An enum type (its `pg_type` oid): the label's `pg_enum` oid, 4
    /// bytes by value, as PostgreSQL stores it.
    Enum(Oid),
}

impl AttrType {
    pub fn type_oid(self) -> Oid {
        match self {
            AttrType::Bool => BOOLOID,
            AttrType::Int2 => INT2OID,
            AttrType::Int4 => INT4OID,
            AttrType::Int8 => INT8OID,
            AttrType::Oid => OIDOID,
            AttrType::Float4 => FLOAT4OID,
            AttrType::Float8 => FLOAT8OID,
            AttrType::Date => DATEOID,
            AttrType::Timestamp => TIMESTAMPOID,
            AttrType::Timestamptz => TIMESTAMPTZOID,
            AttrType::Numeric => NUMERICOID,
            AttrType::Text => TEXTOID,
            AttrType::Varchar => VARCHAROID,
            AttrType::Bpchar => BPCHAROID,
            AttrType::Bytea => BYTEAOID,
            AttrType::Name => NAMEOID,
            AttrType::Char => CHAROID,
            AttrType::Regproc => REGPROCOID,
            AttrType::OidAlias(oid) | AttrType::Enum(oid) => oid,
            AttrType::Oidvector => OIDVECTOROID,
            AttrType::Uuid => UUIDOID,
            AttrType::Time => 1083,
            AttrType::Interval => 1186,
            AttrType::Json => JSONOID,
            AttrType::Jsonb => JSONBOID,
            AttrType::Array(oid) => oid,
        }
    }

    /// `(typlen, typalign, typbyval)` as in PostgreSQL's `pg_type`.
    pub fn storage(self) -> (i16, TypAlign, bool) {
        match self {
            AttrType::Bool | AttrType::Char => (1, TypAlign::Char, true),
            AttrType::Int2 => (2, TypAlign::Short, true),
            AttrType::Int4
            | AttrType::Oid
            | AttrType::Regproc
            | AttrType::OidAlias(_)
            | AttrType::Enum(_)
            | AttrType::Date
            | AttrType::Float4 => (4, TypAlign::Int, true),
            AttrType::Int8
            | AttrType::Float8
            | AttrType::Timestamp
            | AttrType::Timestamptz
            | AttrType::Time => (8, TypAlign::Double, true),
            AttrType::Numeric
            | AttrType::Text
            | AttrType::Varchar
            | AttrType::Bpchar
            | AttrType::Bytea
            | AttrType::Json
            | AttrType::Jsonb
            | AttrType::Oidvector
            | AttrType::Array(_) => (-1, TypAlign::Int, false),
            AttrType::Name => (NAMEDATALEN as i16, TypAlign::Char, false),
            AttrType::Uuid => (16, TypAlign::Char, false),
            AttrType::Interval => (16, TypAlign::Double, false),
        }
    }
}

/// One column as the heap sees it (the storage half of `pg_attribute`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub type_oid: Oid,
    /// Bytes for fixed-length types, -1 for varlena.
    pub typlen: i16,
    pub typalign: TypAlign,
    pub typbyval: bool,
    /// `attnotnull`. Informational here: the executor enforces it
    /// (`23502`) before forming a tuple, because only it knows the
    /// relation's name for the message.
    pub not_null: bool,
}

impl Attribute {
    pub fn new(name: impl Into<String>, ty: AttrType) -> Attribute {
        let (typlen, typalign, typbyval) = ty.storage();
        Attribute::raw(name, ty.type_oid(), typlen, typalign, typbyval)
    }

    /// A column of a type not in [`AttrType`], described by its `pg_type`
    /// storage properties.
    pub fn raw(
        name: impl Into<String>,
        type_oid: Oid,
        typlen: i16,
        typalign: TypAlign,
        typbyval: bool,
    ) -> Attribute {
        let attr = Attribute {
            name: name.into(),
            type_oid,
            typlen,
            typalign,
            typbyval,
            not_null: false,
        };
        attr.kind(); // panics on an unsupported combination
        attr
    }

    pub fn not_null(mut self) -> Attribute {
        self.not_null = true;
        self
    }

    fn kind(&self) -> Kind {
        match (self.typbyval, self.typlen) {
            (true, 1) if self.type_oid == CHAROID => Kind::Fixed(1),
            (true, 1) => Kind::Bool,
            (true, 2) => Kind::I16,
            (true, 4) if self.type_oid == FLOAT4OID => Kind::F32,
            (true, 4) if is_oid_type(self.type_oid) => Kind::Oid,
            (true, 4) => Kind::I32,
            (true, 8) if self.type_oid == FLOAT8OID => Kind::F64,
            (true, 8) => Kind::I64,
            (false, -1) => Kind::Varlena,
            (false, n) if n > 0 => Kind::Fixed(n as usize),
            (byval, len) => panic!(
                "attribute \"{}\": unsupported storage typlen {len} typbyval {byval}",
                self.name
            ),
        }
    }
}

/// `oid` and its alias types (`regproc`, `regprocedure`, `regoper`,
/// `regoperator`, `regclass`, `regtype`, `regnamespace`, `regrole`,
/// `regcollation`), all stored as an unsigned 4-byte oid. The one list of
/// them: `sql::types::Type::is_oid_like` and the backend's value mapping
/// ask here.
pub fn is_oid_type(type_oid: Oid) -> bool {
    matches!(
        type_oid,
        OIDOID | REGPROCOID | 2202..=2206 | 4089 | 4096 | 4191
    )
}

/// How an attribute's value is stored and which [`HeapValue`] carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Fixed(usize),
    Varlena,
}

/// A tuple descriptor: the relation's attributes in order (`TupleDesc`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TupleDesc {
    pub attrs: Vec<Attribute>,
}

impl TupleDesc {
    pub fn new(attrs: Vec<Attribute>) -> TupleDesc {
        assert!(
            attrs.len() <= MAX_HEAP_ATTRIBUTE_NUMBER,
            "tuple descriptor with {} attributes",
            attrs.len()
        );
        TupleDesc { attrs }
    }

    pub fn natts(&self) -> usize {
        self.attrs.len()
    }
}

/// A column value in storage form. The SQL layer converts its datums to
/// and from these:
///
/// | type                                  | value               |
/// |---------------------------------------|---------------------|
/// | bool                                  | `Bool`              |
/// | int2                                  | `I16`               |
/// | int4, date (days since 2000-01-01)    | `I32`               |
/// | int8, timestamp, timestamptz (µs)     | `I64`               |
/// | oid, regproc, regclass, regtype       | `Oid`               |
/// | float4 / float8                       | `F32` / `F64`       |
/// | text, varchar, bpchar, numeric, bytea | `Bytes` (payload)   |
/// | name                                  | `Bytes` (64 bytes)  |
/// | "char"                                | `Bytes` (1 byte)    |
/// | oidvector                             | `Bytes` ([`oidvector_pack`]) |
/// | uuid                                  | `Bytes` (16 bytes)  |
/// | time (µs since midnight)              | `I64`               |
/// | interval (µs, days, months; LE)       | `Bytes` (16 bytes)  |
#[derive(Clone, Debug, PartialEq)]
pub enum HeapValue {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    Oid(Oid),
    F32(f32),
    F64(f64),
    Bytes(Vec<u8>),
}

impl HeapValue {
    /// A `name` value: at most NAMEDATALEN-1 bytes (cut at a character
    /// boundary, as PostgreSQL truncates identifiers), NUL-padded.
    pub fn name(s: &str) -> HeapValue {
        let mut n = s.len().min(NAMEDATALEN - 1);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let mut b = s.as_bytes()[..n].to_vec();
        b.resize(NAMEDATALEN, 0);
        HeapValue::Bytes(b)
    }
}

impl HeapValue {
    pub fn is_null(&self) -> bool {
        matches!(self, HeapValue::Null)
    }
}

const VARHDRSZ: usize = 4;

/// Bytes of PostgreSQL's array header for a one-dimensional array without
/// nulls: ndim, dataoffset, elemtype, dim[0], lbound[0].
const OIDVECTOR_HEADER: usize = 20;

/// An `oidvector` payload in PostgreSQL's layout (`buildoidvector`): ndim 1
/// (even when empty), dataoffset 0, elemtype oid, the length, lower bound 0,
/// then the oids. Little-endian, as PostgreSQL on this machine.
pub fn oidvector_pack(oids: &[Oid]) -> Vec<u8> {
    let mut b = Vec::with_capacity(OIDVECTOR_HEADER + 4 * oids.len());
    b.extend_from_slice(&1i32.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&OIDOID.to_le_bytes());
    b.extend_from_slice(&(oids.len() as i32).to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    for o in oids {
        b.extend_from_slice(&o.to_le_bytes());
    }
    b
}

/// The oids of an `oidvector` payload; None if it is not one.
pub fn oidvector_unpack(b: &[u8]) -> Option<Vec<Oid>> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            b.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    if b.len() < OIDVECTOR_HEADER || word(2)? != OIDOID {
        return None;
    }
    let n = word(3)? as usize;
    if b.len() != OIDVECTOR_HEADER + 4 * n {
        return None;
    }
    (0..n).map(|i| word(5 + i)).collect()
}

/// The bytes a non-null `value` takes for `attr`, checking that they match.
fn value_len(attr: &Attribute, value: &HeapValue) -> usize {
    match (attr.kind(), value) {
        (Kind::Bool, HeapValue::Bool(_)) => 1,
        (Kind::I16, HeapValue::I16(_)) => 2,
        (Kind::I32, HeapValue::I32(_)) | (Kind::Oid, HeapValue::Oid(_)) => 4,
        (Kind::F32, HeapValue::F32(_)) => 4,
        (Kind::I64, HeapValue::I64(_)) | (Kind::F64, HeapValue::F64(_)) => 8,
        (Kind::Fixed(n), HeapValue::Bytes(b)) if b.len() == n => n,
        (Kind::Varlena, HeapValue::Bytes(b)) => VARHDRSZ.saturating_add(b.len()),
        (kind, value) => panic!(
            "form_tuple: value {value:?} does not fit attribute \"{}\" ({kind:?})",
            attr.name
        ),
    }
}

/// `heap_compute_data_size`: bytes of data after `t_hoff`.
fn data_size(desc: &TupleDesc, values: &[HeapValue]) -> usize {
    let mut off = 0usize;
    for (attr, value) in desc.attrs.iter().zip(values) {
        if value.is_null() {
            continue;
        }
        off = typealign(attr.typalign.bytes(), off).saturating_add(value_len(attr, value));
    }
    off
}

/// The `54000` error for a row that does not fit on a page.
pub fn row_too_big(size: usize) -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("row is too big: size {size}, maximum size {MAX_HEAP_TUPLE_SIZE}"),
    )
}

/// Forms a tuple from `values`, one per attribute of `desc`
/// (`heap_form_tuple`). The header has no xmin yet (`heap_prepare_insert`
/// in [`super::page`] sets it), an invalid xmax and an invalid ctid.
///
/// Errors: `54000` if the tuple would exceed [`MAX_HEAP_TUPLE_SIZE`].
/// A value whose variant does not match its attribute is the caller's bug
/// and panics.
pub fn form_tuple(desc: &TupleDesc, values: &[HeapValue]) -> Result<Vec<u8>, PgError> {
    let natts = desc.natts();
    assert_eq!(
        values.len(),
        natts,
        "form_tuple: {} values for {natts} attributes",
        values.len()
    );
    let has_nulls = values.iter().any(HeapValue::is_null);
    let has_varwidth = desc
        .attrs
        .iter()
        .zip(values)
        .any(|(a, v)| a.typlen == -1 && !v.is_null());
    let bitmap = if has_nulls { bitmap_len(natts) } else { 0 };
    let hoff = maxalign(SIZEOF_HEAP_TUPLE_HEADER + bitmap);
    let size = hoff.saturating_add(data_size(desc, values));
    if size > MAX_HEAP_TUPLE_SIZE {
        return Err(row_too_big(size));
    }

    let mut tuple = vec![0u8; size];
    let mut infomask = HEAP_XMAX_INVALID;
    if has_nulls {
        infomask |= HEAP_HASNULL;
    }
    if has_varwidth {
        infomask |= HEAP_HASVARWIDTH;
    }
    HeapTupleHeader {
        t_xmin: Xid::INVALID,
        t_xmax: Xid::INVALID,
        t_cid: 0,
        t_ctid: ItemPointer::INVALID,
        t_infomask2: natts as u16 & HEAP_NATTS_MASK,
        t_infomask: infomask,
        t_hoff: hoff as u8,
    }
    .write(&mut tuple);

    let mut off = hoff;
    for (i, (attr, value)) in desc.attrs.iter().zip(values).enumerate() {
        if value.is_null() {
            continue;
        }
        if has_nulls {
            tuple[SIZEOF_HEAP_TUPLE_HEADER + i / 8] |= 1 << (i % 8);
        }
        off = typealign(attr.typalign.bytes(), off);
        let len = value_len(attr, value);
        let dst = &mut tuple[off..off + len];
        match value {
            HeapValue::Null => unreachable!("nulls skipped above"),
            HeapValue::Bool(b) => dst[0] = *b as u8,
            HeapValue::I16(v) => dst.copy_from_slice(&v.to_le_bytes()),
            HeapValue::I32(v) => dst.copy_from_slice(&v.to_le_bytes()),
            HeapValue::I64(v) => dst.copy_from_slice(&v.to_le_bytes()),
            HeapValue::Oid(v) => dst.copy_from_slice(&v.to_le_bytes()),
            HeapValue::F32(v) => dst.copy_from_slice(&v.to_le_bytes()),
            HeapValue::F64(v) => dst.copy_from_slice(&v.to_le_bytes()),
            HeapValue::Bytes(b) if attr.typlen == -1 => {
                dst[..VARHDRSZ].copy_from_slice(&((len as u32) << 2).to_le_bytes());
                dst[VARHDRSZ..].copy_from_slice(b);
            }
            HeapValue::Bytes(b) => dst.copy_from_slice(b),
        }
        off += len;
    }
    assert_eq!(off, size, "form_tuple: data size mismatch");
    Ok(tuple)
}

/// Splits a tuple into one value per attribute of `desc`
/// (`heap_deform_tuple`). Attributes beyond the tuple's own count — added
/// by ALTER TABLE ADD COLUMN after it was written — are NULL.
///
/// The tuple comes from a verified page; a tuple whose structure is broken
/// panics (slice bounds or the assertions below).
pub fn deform_tuple(desc: &TupleDesc, tuple: &[u8]) -> Vec<HeapValue> {
    let h = HeapTupleHeader::read(tuple);
    let natts = h.natts();
    assert!(
        natts <= desc.natts(),
        "tuple has {natts} attributes, descriptor only {}",
        desc.natts()
    );
    let hoff = h.t_hoff as usize;
    assert!(
        hoff >= SIZEOF_HEAP_TUPLE_HEADER && hoff <= tuple.len(),
        "bad t_hoff {hoff}"
    );
    let bitmap = if h.has_nulls() {
        assert!(
            SIZEOF_HEAP_TUPLE_HEADER + bitmap_len(natts) <= hoff,
            "null bitmap overlaps data"
        );
        Some(&tuple[SIZEOF_HEAP_TUPLE_HEADER..SIZEOF_HEAP_TUPLE_HEADER + bitmap_len(natts)])
    } else {
        None
    };

    let mut values = Vec::with_capacity(desc.natts());
    let mut off = hoff;
    for (i, attr) in desc.attrs.iter().enumerate() {
        if i >= natts {
            values.push(HeapValue::Null);
            continue;
        }
        if let Some(bits) = bitmap
            && bits[i / 8] & (1 << (i % 8)) == 0
        {
            values.push(HeapValue::Null);
            continue;
        }
        off = typealign(attr.typalign.bytes(), off);
        let fixed = |n: usize| &tuple[off..off + n];
        let (value, len) = match attr.kind() {
            Kind::Bool => (HeapValue::Bool(tuple[off] != 0), 1),
            Kind::I16 => (
                HeapValue::I16(i16::from_le_bytes(fixed(2).try_into().unwrap())),
                2,
            ),
            Kind::I32 => (
                HeapValue::I32(i32::from_le_bytes(fixed(4).try_into().unwrap())),
                4,
            ),
            Kind::Oid => (
                HeapValue::Oid(u32::from_le_bytes(fixed(4).try_into().unwrap())),
                4,
            ),
            Kind::F32 => (
                HeapValue::F32(f32::from_le_bytes(fixed(4).try_into().unwrap())),
                4,
            ),
            Kind::I64 => (
                HeapValue::I64(i64::from_le_bytes(fixed(8).try_into().unwrap())),
                8,
            ),
            Kind::F64 => (
                HeapValue::F64(f64::from_le_bytes(fixed(8).try_into().unwrap())),
                8,
            ),
            Kind::Fixed(n) => (HeapValue::Bytes(fixed(n).to_vec()), n),
            Kind::Varlena => {
                let header = u32::from_le_bytes(fixed(VARHDRSZ).try_into().unwrap());
                assert_eq!(header & 3, 0, "varlena at {off} has no 4-byte header");
                let total = (header >> 2) as usize;
                assert!(total >= VARHDRSZ, "varlena at {off} has length {total}");
                (
                    HeapValue::Bytes(tuple[off + VARHDRSZ..off + total].to_vec()),
                    total,
                )
            }
        };
        values.push(value);
        off += len;
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::page::MAXIMUM_ALIGNOF;

    fn all_types_desc() -> TupleDesc {
        TupleDesc::new(vec![
            Attribute::new("b", AttrType::Bool),
            Attribute::new("i2", AttrType::Int2),
            Attribute::new("i4", AttrType::Int4),
            Attribute::new("i8", AttrType::Int8),
            Attribute::new("f8", AttrType::Float8),
            Attribute::new("d", AttrType::Date),
            Attribute::new("ts", AttrType::Timestamp),
            Attribute::new("tstz", AttrType::Timestamptz),
            Attribute::new("n", AttrType::Numeric),
            Attribute::new("t", AttrType::Text),
            Attribute::new("vc", AttrType::Varchar),
            Attribute::new("o", AttrType::Oid),
            Attribute::new("f4", AttrType::Float4),
            Attribute::new("nm", AttrType::Name),
            Attribute::new("by", AttrType::Bytea),
            Attribute::new("ch", AttrType::Char),
            Attribute::new("rp", AttrType::Regproc),
            Attribute::new("ov", AttrType::Oidvector),
        ])
    }

    fn name(s: &str) -> HeapValue {
        let mut b = s.as_bytes().to_vec();
        b.resize(NAMEDATALEN, 0);
        HeapValue::Bytes(b)
    }

    fn all_types_values() -> Vec<HeapValue> {
        vec![
            HeapValue::Bool(true),
            HeapValue::I16(-12345),
            HeapValue::I32(i32::MIN),
            HeapValue::I64(i64::MAX),
            HeapValue::F64(-0.1),
            HeapValue::I32(-730_000),
            HeapValue::I64(789_012_345_678_901),
            HeapValue::I64(-1),
            HeapValue::Bytes(vec![0x00, 0x02, 0x80, 0x01]),
            HeapValue::Bytes("héllo, world".as_bytes().to_vec()),
            HeapValue::Bytes(vec![]),
            HeapValue::Oid(u32::MAX),
            HeapValue::F32(f32::INFINITY),
            name("pg_class"),
            HeapValue::Bytes(vec![0, 1, 2, 3, 255]),
            HeapValue::Bytes(b"b".to_vec()),
            HeapValue::Oid(1242),
            HeapValue::Bytes(oidvector_pack(&[25, 23])),
        ]
    }

    #[test]
    fn every_type_round_trips_without_nulls() {
        let desc = all_types_desc();
        let values = all_types_values();
        let t = form_tuple(&desc, &values).unwrap();
        let h = HeapTupleHeader::read(&t);
        assert_eq!(h.natts(), 18);
        assert!(!h.has_nulls() && h.has_varwidth());
        assert_eq!(h.t_hoff, 32, "no bitmap: header MAXALIGNs to 32");
        assert_eq!(deform_tuple(&desc, &t), values);
    }

    #[test]
    fn every_type_round_trips_with_each_column_null() {
        let desc = all_types_desc();
        for null_at in 0..desc.natts() {
            let mut values = all_types_values();
            values[null_at] = HeapValue::Null;
            let t = form_tuple(&desc, &values).unwrap();
            let h = HeapTupleHeader::read(&t);
            assert!(h.has_nulls());
            // 31 + 3 bitmap bytes -> 40
            assert_eq!(h.t_hoff, 40);
            assert_eq!(deform_tuple(&desc, &t), values, "null at {null_at}");
        }
        let all_null = vec![HeapValue::Null; desc.natts()];
        let t = form_tuple(&desc, &all_null).unwrap();
        assert_eq!(t.len(), 40);
        assert!(!HeapTupleHeader::read(&t).has_varwidth());
        assert_eq!(deform_tuple(&desc, &t), all_null);
    }

    #[test]
    fn char_is_one_byte_and_oidvector_has_postgresqls_array_layout() {
        let desc = TupleDesc::new(vec![
            Attribute::new("a", AttrType::Char),
            Attribute::new("b", AttrType::Char),
            Attribute::new("v", AttrType::Oidvector),
        ]);
        let values = vec![
            HeapValue::Bytes(b"b".to_vec()),
            HeapValue::Bytes(b"i".to_vec()),
            HeapValue::Bytes(oidvector_pack(&[23, 20])),
        ];
        let t = form_tuple(&desc, &values).unwrap();
        assert_eq!(&t[32..34], b"bi", "two \"char\" bytes, unaligned");
        // varlena aligned to 36: header 4 + 20 + 2 * 4.
        assert_eq!(&t[36..40], &(32u32 << 2).to_le_bytes());
        assert_eq!(&t[40..44], &1i32.to_le_bytes(), "ndim");
        assert_eq!(&t[48..52], &26u32.to_le_bytes(), "elemtype oid");
        assert_eq!(&t[60..68], &[23, 0, 0, 0, 20, 0, 0, 0]);
        assert_eq!(deform_tuple(&desc, &t), values);
        assert_eq!(oidvector_unpack(&oidvector_pack(&[])), Some(vec![]));
        assert_eq!(oidvector_unpack(b"short"), None);
    }

    #[test]
    fn uuid_is_sixteen_unaligned_bytes() {
        let desc = TupleDesc::new(vec![
            Attribute::new("c", AttrType::Char),
            Attribute::new("u", AttrType::Uuid),
            Attribute::new("n", AttrType::Uuid),
            Attribute::new("i", AttrType::Int4),
        ]);
        let u: Vec<u8> = (0xf0..=0xff).collect();
        let values = vec![
            HeapValue::Bytes(b"x".to_vec()),
            HeapValue::Bytes(u.clone()),
            HeapValue::Null,
            HeapValue::I32(7),
        ];
        let t = form_tuple(&desc, &values).unwrap();
        assert_eq!(t[32], b'x');
        assert_eq!(&t[33..49], &u[..], "uuid right after the char, no padding");
        assert_eq!(&t[52..56], &7i32.to_le_bytes(), "int4 aligned to 52");
        assert!(!HeapTupleHeader::read(&t).has_varwidth());
        assert_eq!(deform_tuple(&desc, &t), values);
    }

    #[test]
    fn attributes_are_aligned_as_postgresql_aligns_them() {
        // bool at 32, int8 aligned to 40, int2 at 48, text aligned to 52,
        // int4 after the 4+3-byte varlena at 59 -> 60.
        let desc = TupleDesc::new(vec![
            Attribute::new("a", AttrType::Bool),
            Attribute::new("b", AttrType::Int8),
            Attribute::new("c", AttrType::Int2),
            Attribute::new("d", AttrType::Text),
            Attribute::new("e", AttrType::Int4),
        ]);
        let values = vec![
            HeapValue::Bool(true),
            HeapValue::I64(0x0102_0304_0506_0708),
            HeapValue::I16(7),
            HeapValue::Bytes(b"abc".to_vec()),
            HeapValue::I32(-2),
        ];
        let t = form_tuple(&desc, &values).unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(t[32], 1);
        assert_eq!(&t[40..48], &0x0102_0304_0506_0708i64.to_le_bytes());
        assert_eq!(&t[48..50], &7i16.to_le_bytes());
        assert_eq!(
            &t[52..56],
            &(7u32 << 2).to_le_bytes(),
            "varlena header = total len << 2"
        );
        assert_eq!(&t[56..59], b"abc");
        assert_eq!(&t[60..64], &(-2i32).to_le_bytes());
        assert_eq!(deform_tuple(&desc, &t), values);
        assert_eq!(t.len() % MAXIMUM_ALIGNOF, 0);
    }

    #[test]
    fn tuples_written_before_add_column_read_the_new_columns_as_null() {
        let old = TupleDesc::new(vec![Attribute::new("a", AttrType::Int4)]);
        let t = form_tuple(&old, &[HeapValue::I32(5)]).unwrap();
        let mut new = old.clone();
        new.attrs.push(Attribute::new("b", AttrType::Text));
        new.attrs.push(Attribute::new("c", AttrType::Int8));
        assert_eq!(
            deform_tuple(&new, &t),
            vec![HeapValue::I32(5), HeapValue::Null, HeapValue::Null]
        );
    }

    #[test]
    fn a_row_larger_than_a_page_is_54000() {
        let desc = TupleDesc::new(vec![
            Attribute::new("id", AttrType::Int4),
            Attribute::new("t", AttrType::Text),
        ]);
        // 32 header + 4 int + 4 varlena header + payload
        let fits = vec![HeapValue::I32(1), HeapValue::Bytes(vec![b'x'; 8152 - 40])];
        assert_eq!(form_tuple(&desc, &fits).unwrap().len(), 8152);
        let too_big = vec![HeapValue::I32(1), HeapValue::Bytes(vec![b'x'; 8152 - 39])];
        let err = form_tuple(&desc, &too_big).unwrap_err();
        assert_eq!(err.sqlstate, "54000");
        assert_eq!(err.message, "row is too big: size 8153, maximum size 8152");
    }

    #[test]
    #[should_panic(expected = "does not fit attribute")]
    fn a_value_of_the_wrong_kind_is_a_caller_bug() {
        let desc = TupleDesc::new(vec![Attribute::new("a", AttrType::Int4)]);
        let _ = form_tuple(&desc, &[HeapValue::I64(1)]);
    }
}
