//! Rows as bytes, for the executor's temporary files (PostgreSQL writes
//! MinimalTuples to its tapes; ferrogres writes this).
//!
//! A row is its column count and then each [`Datum`] as a tag byte and
//! its value, fixed-width values little-endian, variable-width ones
//! length-prefixed; arrays, records and jsonb recursively. The encoding is
//! private to one process and one statement (never stored, never sent),
//! so it has no version and no alignment. Decoding trusts what this
//! process wrote; a short or unknown input is an internal error, not a
//! panic.

use crate::sql::adt::array::ArrayValue;
use crate::sql::adt::jsonb::Jsonb;
use crate::sql::adt::numeric::Numeric;
use crate::sql::adt::rowtypes::RecordValue;
use crate::sql::types::{Datum, Type};
use crate::utils::elog::{PgError, PgResult, sqlstate};

pub fn encode_row(row: &[Datum], out: &mut Vec<u8>) {
    put_u32(out, row.len() as u32);
    for d in row {
        encode(d, out);
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

fn encode_numeric(n: &Numeric, out: &mut Vec<u8>) {
    match n {
        Numeric::NaN => out.push(0),
        Numeric::PosInf => out.push(1),
        Numeric::NegInf => out.push(2),
        Numeric::Finite { neg, mag, scale } => {
            out.push(3);
            out.push(*neg as u8);
            put_u32(out, *scale);
            put_bytes(out, mag);
        }
    }
}

fn encode_jsonb(j: &Jsonb, out: &mut Vec<u8>) {
    match j {
        Jsonb::Null => out.push(0),
        Jsonb::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
        Jsonb::Number(n) => {
            out.push(2);
            encode_numeric(n, out);
        }
        Jsonb::String(s) => {
            out.push(3);
            put_bytes(out, s.as_bytes());
        }
        Jsonb::Array(items) => {
            out.push(4);
            put_u32(out, items.len() as u32);
            items.iter().for_each(|i| encode_jsonb(i, out));
        }
        Jsonb::Object(pairs) => {
            out.push(5);
            put_u32(out, pairs.len() as u32);
            for (k, v) in pairs {
                put_bytes(out, k.as_bytes());
                encode_jsonb(v, out);
            }
        }
    }
}

fn encode(d: &Datum, out: &mut Vec<u8>) {
    match d {
        Datum::Null => out.push(0),
        Datum::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
        Datum::Int2(v) => {
            out.push(2);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Int4(v) => {
            out.push(3);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Int8(v) => {
            out.push(4);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Float8(v) => {
            out.push(5);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Datum::Numeric(n) => {
            out.push(6);
            encode_numeric(n, out);
        }
        Datum::Text(s) => {
            out.push(7);
            put_bytes(out, s.as_bytes());
        }
        Datum::Oid(v) => {
            out.push(8);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Xid(v) => {
            out.push(9);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Timestamptz(v) => {
            out.push(10);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Interval {
            months,
            days,
            micros,
        } => {
            out.push(11);
            out.extend_from_slice(&months.to_le_bytes());
            out.extend_from_slice(&days.to_le_bytes());
            out.extend_from_slice(&micros.to_le_bytes());
        }
        Datum::Float4(v) => {
            out.push(12);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Datum::Void => out.push(13),
        Datum::Array(a) => {
            out.push(14);
            put_u32(out, a.elem.oid());
            put_u32(out, a.dims.len() as u32);
            for (d, l) in a.dims.iter().zip(&a.lbounds) {
                out.extend_from_slice(&d.to_le_bytes());
                out.extend_from_slice(&l.to_le_bytes());
            }
            encode_row(&a.items, out);
        }
        Datum::Date(v) => {
            out.push(15);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Timestamp(v) => {
            out.push(16);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Lsn(v) => {
            out.push(17);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Uuid(u) => {
            out.push(18);
            out.extend_from_slice(u);
        }
        Datum::Bytea(b) => {
            out.push(19);
            put_bytes(out, b);
        }
        Datum::Time(v) => {
            out.push(20);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Datum::Json(s) => {
            out.push(21);
            put_bytes(out, s.as_bytes());
        }
        Datum::Jsonb(j) => {
            out.push(22);
            encode_jsonb(j, out);
        }
        Datum::Record(r) => {
            out.push(23);
            put_u32(out, r.types.len() as u32);
            for t in &r.types {
                put_u32(out, t.oid());
            }
            encode_row(&r.fields, out);
        }
        Datum::Enum(e) => {
            out.push(24);
            out.extend_from_slice(&e.oid.to_le_bytes());
            out.extend_from_slice(&e.sortorder.to_bits().to_le_bytes());
            put_bytes(out, e.label.as_bytes());
        }
    }
}

/// Reads what [`encode_row`] wrote, from the front of `input`.
pub struct Decoder<'a> {
    input: &'a [u8],
}

fn corrupt() -> PgError {
    PgError::error(
        sqlstate::INTERNAL_ERROR,
        "unexpected end of data in a temporary file",
    )
}

impl<'a> Decoder<'a> {
    pub fn new(input: &'a [u8]) -> Decoder<'a> {
        Decoder { input }
    }

    /// Bytes read so far are gone from the front; what is left.
    #[cfg(test)]
    pub fn rest(&self) -> &'a [u8] {
        self.input
    }

    fn take(&mut self, n: usize) -> PgResult<&'a [u8]> {
        if self.input.len() < n {
            return Err(corrupt());
        }
        let (a, b) = self.input.split_at(n);
        self.input = b;
        Ok(a)
    }

    fn arr<const N: usize>(&mut self) -> PgResult<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> PgResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> PgResult<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }

    fn i32(&mut self) -> PgResult<i32> {
        Ok(i32::from_le_bytes(self.arr()?))
    }

    fn i64(&mut self) -> PgResult<i64> {
        Ok(i64::from_le_bytes(self.arr()?))
    }

    fn bytes(&mut self) -> PgResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> PgResult<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| corrupt())
    }

    fn ty(&mut self) -> PgResult<Type> {
        Type::from_oid(self.u32()?).ok_or_else(corrupt)
    }

    pub fn row(&mut self) -> PgResult<Vec<crate::sql::types::Datum>> {
        let n = self.u32()? as usize;
        let mut row = Vec::with_capacity(n.min(self.input.len()));
        for _ in 0..n {
            row.push(self.datum()?);
        }
        Ok(row)
    }

    fn numeric(&mut self) -> PgResult<Numeric> {
        Ok(match self.u8()? {
            0 => Numeric::NaN,
            1 => Numeric::PosInf,
            2 => Numeric::NegInf,
            3 => {
                let neg = self.u8()? != 0;
                let scale = self.u32()?;
                let mag = self.bytes()?.to_vec();
                Numeric::Finite { neg, mag, scale }
            }
            _ => return Err(corrupt()),
        })
    }

    fn jsonb(&mut self) -> PgResult<Jsonb> {
        Ok(match self.u8()? {
            0 => Jsonb::Null,
            1 => Jsonb::Bool(self.u8()? != 0),
            2 => Jsonb::Number(self.numeric()?),
            3 => Jsonb::String(self.string()?),
            4 => {
                let n = self.u32()? as usize;
                let mut items = Vec::with_capacity(n.min(self.input.len()));
                for _ in 0..n {
                    items.push(self.jsonb()?);
                }
                Jsonb::Array(items)
            }
            5 => {
                let n = self.u32()? as usize;
                let mut pairs = Vec::with_capacity(n.min(self.input.len()));
                for _ in 0..n {
                    let k = self.string()?;
                    pairs.push((k, self.jsonb()?));
                }
                Jsonb::Object(pairs)
            }
            _ => return Err(corrupt()),
        })
    }

    fn datum(&mut self) -> PgResult<Datum> {
        Ok(match self.u8()? {
            0 => Datum::Null,
            1 => Datum::Bool(self.u8()? != 0),
            2 => Datum::Int2(i16::from_le_bytes(self.arr()?)),
            3 => Datum::Int4(self.i32()?),
            4 => Datum::Int8(self.i64()?),
            5 => Datum::Float8(f64::from_bits(u64::from_le_bytes(self.arr()?))),
            6 => Datum::Numeric(self.numeric()?),
            7 => Datum::Text(self.string()?),
            8 => Datum::Oid(self.u32()?),
            9 => Datum::Xid(self.u32()?),
            10 => Datum::Timestamptz(self.i64()?),
            11 => Datum::Interval {
                months: self.i32()?,
                days: self.i32()?,
                micros: self.i64()?,
            },
            12 => Datum::Float4(f32::from_bits(self.u32()?)),
            13 => Datum::Void,
            14 => {
                let elem = self.ty()?;
                let nd = self.u32()? as usize;
                let (mut dims, mut lbounds) = (Vec::new(), Vec::new());
                for _ in 0..nd {
                    dims.push(self.i32()?);
                    lbounds.push(self.i32()?);
                }
                let items = self.row()?;
                Datum::Array(Box::new(ArrayValue {
                    elem,
                    dims,
                    lbounds,
                    items,
                }))
            }
            15 => Datum::Date(self.i32()?),
            16 => Datum::Timestamp(self.i64()?),
            17 => Datum::Lsn(u64::from_le_bytes(self.arr()?)),
            18 => Datum::Uuid(self.arr()?),
            19 => Datum::Bytea(self.bytes()?.to_vec()),
            20 => Datum::Time(self.i64()?),
            21 => Datum::Json(self.string()?),
            22 => Datum::Jsonb(Box::new(self.jsonb()?)),
            23 => {
                let n = self.u32()? as usize;
                let mut types = Vec::with_capacity(n.min(self.input.len()));
                for _ in 0..n {
                    types.push(self.ty()?);
                }
                let fields = self.row()?;
                Datum::Record(Box::new(RecordValue { fields, types }))
            }
            24 => {
                let oid = self.u32()?;
                let sortorder = f32::from_bits(self.u32()?);
                let label = self.string()?.into();
                Datum::Enum(crate::sql::adt::enums::EnumValue {
                    oid,
                    sortorder,
                    label,
                })
            }
            _ => return Err(corrupt()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_comes_back() {
        let row = vec![
            Datum::Null,
            Datum::Bool(true),
            Datum::Int2(-7),
            Datum::Int4(42),
            Datum::Int8(i64::MIN),
            Datum::Float8(-0.5),
            Datum::Numeric(Numeric::parse("-123.4500").unwrap()),
            Datum::Text("héllo".into()),
            Datum::Oid(16384),
            Datum::Interval {
                months: 1,
                days: -2,
                micros: 3,
            },
            Datum::Float4(f32::NAN),
            Datum::Void,
            Datum::Array(Box::new(ArrayValue {
                elem: Type::Int4,
                dims: vec![2],
                lbounds: vec![1],
                items: vec![Datum::Int4(1), Datum::Null],
            })),
            Datum::Date(-1),
            Datum::Uuid([9; 16]),
            Datum::Bytea(vec![0, 255]),
            Datum::Json("{\"a\": 1}".into()),
            Datum::Jsonb(Box::new(Jsonb::parse("{\"a\": [1, \"x\", null]}").unwrap())),
            Datum::Record(Box::new(RecordValue {
                fields: vec![Datum::Int4(1), Datum::Text("t".into())],
                types: vec![Type::Int4, Type::Text],
            })),
        ];
        let mut bytes = Vec::new();
        encode_row(&row, &mut bytes);
        encode_row(&row[..2], &mut bytes);
        let mut d = Decoder::new(&bytes);
        let back = d.row().unwrap();
        // NaN is not equal to itself: compare its bits.
        assert!(matches!(back[10], Datum::Float4(f) if f.is_nan()));
        let strip = |r: &[Datum]| -> Vec<Datum> {
            r.iter()
                .enumerate()
                .filter(|(i, _)| *i != 10)
                .map(|(_, d)| d.clone())
                .collect()
        };
        assert_eq!(strip(&back), strip(&row));
        assert_eq!(d.row().unwrap(), row[..2].to_vec());
        assert!(d.rest().is_empty());
        assert!(Decoder::new(&bytes[..5]).row().is_err());
    }
}
