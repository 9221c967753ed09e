//! Function and operator resolution (`parse_func.c`, `parse_oper.c`) and
//! common-type selection (`parse_coerce.c`), following PostgreSQL's rules:
//!
//! 1. an exact match wins (for a binary operator with one unknown-type
//!    argument, the unknown is first assumed to have the other's type);
//! 2. otherwise keep the candidates every argument can be implicitly
//!    coerced to; one left wins;
//! 3. otherwise `func_select_candidate`: most exact matches, then most
//!    preferred types, then resolve unknown literals by type category
//!    (preferring the string category), then the "all known inputs have
//!    the same type" last gasp. Anything else is ambiguous.

use super::super::adt::{CoercionContext, can_coerce};
use super::super::functions::{ArgType, FuncId, registry};
use super::super::types::{Type, TypeCategory};

pub enum Resolution {
    Found(FuncId),
    NotFound,
    Ambiguous,
}

/// The declared argument types of `id` expanded to `nargs` (variadic).
pub fn declared_args(id: FuncId, nargs: usize) -> Option<Vec<ArgType>> {
    let f = registry().get(id);
    if f.variadic {
        if nargs < f.args.len() {
            return None;
        }
        let mut v = f.args.clone();
        let last = *v.last().expect("variadic function has arguments");
        while v.len() < nargs {
            v.push(last);
        }
        Some(v)
    } else if f.args.len() == nargs {
        Some(f.args.clone())
    } else {
        None
    }
}

fn arg_can_coerce(input: Type, declared: ArgType) -> bool {
    match declared {
        ArgType::T(t) => can_coerce(input, t, CoercionContext::Implicit),
        ArgType::Any => true,
        ArgType::AnyNonArray => input.category() != TypeCategory::Array,
        ArgType::AnyArray | ArgType::AnyCompatibleArray => {
            input == Type::Unknown || input.elem().is_some()
        }
        ArgType::AnyElement | ArgType::AnyCompatible => true,
        ArgType::AnyEnum => input == Type::Unknown || input.is_enum(),
    }
}

/// What a call's polymorphic arguments resolve to
/// (`enforce_generic_type_consistency`): the `anyelement` family's element
/// type and the `anycompatible` family's common type, None where every
/// such argument is an unknown literal (or there is none).
#[derive(Clone, Copy, Debug, Default)]
pub struct Polymorphic {
    pub elem: Option<Type>,
    pub compat: Option<Type>,
}

impl Polymorphic {
    /// The concrete type of a declared polymorphic type (argument or
    /// result); Err names the family that could not be determined.
    pub fn concrete(&self, declared: Type) -> Result<Type, &'static str> {
        let unknown = "could not determine polymorphic type because input has type unknown";
        match declared {
            Type::AnyElement | Type::AnyEnum => self.elem.ok_or(unknown),
            Type::AnyArray => self
                .elem
                .ok_or(unknown)
                .and_then(|e| e.array().ok_or("could not find array type for data type")),
            Type::AnyCompatible => Ok(self.compat.unwrap_or(Type::Text)),
            Type::AnyCompatibleArray => self
                .compat
                .unwrap_or(Type::Text)
                .array()
                .ok_or("could not find array type for data type"),
            t => Ok(t),
        }
    }
}

/// As a declared [`Type`] (the pseudo-type of a polymorphic argument).
pub fn declared_type(d: ArgType) -> Option<Type> {
    Some(match d {
        ArgType::T(t) => t,
        ArgType::AnyArray => Type::AnyArray,
        ArgType::AnyElement => Type::AnyElement,
        ArgType::AnyEnum => Type::AnyEnum,
        ArgType::AnyCompatible => Type::AnyCompatible,
        ArgType::AnyCompatibleArray => Type::AnyCompatibleArray,
        _ => return None,
    })
}

/// Checks that the polymorphic arguments agree and resolves them.
pub fn resolve_polymorphic(declared: &[ArgType], input: &[Type]) -> Option<Polymorphic> {
    let mut elem: Option<Type> = None;
    let mut compat: Vec<Type> = Vec::new();
    let mut wants_compat_array = false;
    for (d, &t) in declared.iter().zip(input) {
        if *d == ArgType::AnyCompatibleArray {
            wants_compat_array = true;
        }
        if t == Type::Unknown {
            continue;
        }
        match d {
            ArgType::AnyEnum if !t.is_enum() => return None,
            ArgType::AnyElement | ArgType::AnyArray | ArgType::AnyNonArray | ArgType::AnyEnum => {
                let e = if *d == ArgType::AnyArray {
                    t.elem()?
                } else {
                    t
                };
                match elem {
                    Some(x) if x != e => return None,
                    _ => elem = Some(e),
                }
            }
            ArgType::AnyCompatible => compat.push(t),
            ArgType::AnyCompatibleArray => compat.push(t.elem()?),
            _ => {}
        }
    }
    let compat = if compat.is_empty() {
        None
    } else {
        let c = select_common_type(&compat).ok()?;
        if !compat
            .iter()
            .all(|t| *t == c || can_coerce(*t, c, CoercionContext::Implicit))
        {
            return None;
        }
        if wants_compat_array && c.array().is_none() {
            return None;
        }
        Some(c)
    };
    Some(Polymorphic { elem, compat })
}

fn arg_equals(input: Type, declared: ArgType) -> bool {
    declared == ArgType::T(input)
}

fn category_preferred(declared: ArgType) -> (TypeCategory, bool) {
    match declared {
        ArgType::T(t) => (t.category(), t.is_preferred()),
        _ => (TypeCategory::Pseudo, false),
    }
}

/// Resolves a call of one of `candidates` with `input` argument types.
pub fn resolve(candidates: &[FuncId], input: &[Type], binary_operator: bool) -> Resolution {
    let cands: Vec<(FuncId, Vec<ArgType>)> = candidates
        .iter()
        .filter_map(|&id| declared_args(id, input.len()).map(|a| (id, a)))
        .collect();
    // 1. Exact match.
    let mut exact_input = input.to_vec();
    if binary_operator && input.len() == 2 {
        if input[0] == Type::Unknown && input[1] != Type::Unknown {
            exact_input[0] = input[1];
        } else if input[1] == Type::Unknown && input[0] != Type::Unknown {
            exact_input[1] = input[0];
        }
    }
    if let Some((id, _)) = cands
        .iter()
        .find(|(_, a)| a.iter().zip(&exact_input).all(|(d, i)| arg_equals(*i, *d)))
    {
        return Resolution::Found(*id);
    }
    // 2. Implicitly coercible candidates.
    let coercible: Vec<&(FuncId, Vec<ArgType>)> = cands
        .iter()
        .filter(|(_, a)| a.iter().zip(input).all(|(d, i)| arg_can_coerce(*i, *d)))
        .filter(|(_, a)| resolve_polymorphic(a, input).is_some())
        .collect();
    match coercible.len() {
        0 => return Resolution::NotFound,
        1 => return Resolution::Found(coercible[0].0),
        _ => {}
    }
    // 3. func_select_candidate.
    match select_candidate(input, coercible) {
        Some(id) => Resolution::Found(id),
        None => Resolution::Ambiguous,
    }
}

fn keep_best(
    cands: Vec<&(FuncId, Vec<ArgType>)>,
    score: impl Fn(&[ArgType]) -> usize,
) -> Vec<&(FuncId, Vec<ArgType>)> {
    let best = cands.iter().map(|(_, a)| score(a)).max().unwrap_or(0);
    cands
        .into_iter()
        .filter(|(_, a)| score(a) == best)
        .collect()
}

fn select_candidate(input: &[Type], cands: Vec<&(FuncId, Vec<ArgType>)>) -> Option<FuncId> {
    let nunknowns = input.iter().filter(|t| **t == Type::Unknown).count();
    // Most exact matches.
    let cands = keep_best(cands, |a| {
        input
            .iter()
            .zip(a)
            .filter(|(i, d)| **i != Type::Unknown && arg_equals(**i, **d))
            .count()
    });
    if cands.len() == 1 {
        return Some(cands[0].0);
    }
    // Most exact-or-preferred (within the input's category) matches.
    let cands = keep_best(cands, |a| {
        input
            .iter()
            .zip(a)
            .filter(|(i, d)| {
                **i != Type::Unknown && {
                    let (cat, pref) = category_preferred(**d);
                    arg_equals(**i, **d) || (pref && cat == i.category())
                }
            })
            .count()
    });
    if cands.len() == 1 {
        return Some(cands[0].0);
    }
    if nunknowns == 0 {
        return None;
    }
    // Resolve unknown positions by category.
    let mut slot: Vec<Option<(TypeCategory, bool)>> = vec![None; input.len()];
    let mut resolved = true;
    for (i, t) in input.iter().enumerate() {
        if *t != Type::Unknown {
            continue;
        }
        let mut cat: Option<(TypeCategory, bool)> = None;
        let mut conflict = false;
        for (_, a) in &cands {
            let (c, p) = category_preferred(a[i]);
            match cat {
                None => cat = Some((c, p)),
                Some((sc, sp)) if sc == c => cat = Some((sc, sp || p)),
                Some(_) => {
                    if c == TypeCategory::String {
                        cat = Some((c, p));
                    } else {
                        conflict = true;
                    }
                }
            }
        }
        if conflict && cat.map(|c| c.0) != Some(TypeCategory::String) {
            resolved = false;
            break;
        }
        slot[i] = cat;
    }
    let mut cands = cands;
    if resolved {
        let kept: Vec<_> = cands
            .iter()
            .copied()
            .filter(|(_, a)| {
                input.iter().enumerate().all(|(i, t)| {
                    if *t != Type::Unknown {
                        return true;
                    }
                    let (c, p) = category_preferred(a[i]);
                    let (sc, sp) = slot[i].expect("resolved slot");
                    c == sc && (!sp || p)
                })
            })
            .collect();
        if !kept.is_empty() {
            cands = kept;
        }
        if cands.len() == 1 {
            return Some(cands[0].0);
        }
    }
    // Last gasp: all known inputs share one type; assume the unknowns have it too.
    if nunknowns < input.len() {
        let known: Vec<Type> = input
            .iter()
            .copied()
            .filter(|t| *t != Type::Unknown)
            .collect();
        if known.iter().all(|t| *t == known[0]) {
            let k = known[0];
            let matching: Vec<_> = cands
                .iter()
                .filter(|(_, a)| a.iter().all(|d| arg_can_coerce(k, *d)))
                .filter(|(_, a)| resolve_polymorphic(a, &vec![k; a.len()]).is_some())
                .collect();
            if matching.len() == 1 {
                return Some(matching[0].0);
            }
        }
    }
    None
}

/// `select_common_type`'s choice among `types` (in order); Err((ptype,
/// ntype, index of the offending input)) when two categories clash.
pub fn select_common_type(types: &[Type]) -> Result<Type, (Type, Type, usize)> {
    let Some(first) = types.first() else {
        return Ok(Type::Text);
    };
    if types.iter().all(|t| t == first) {
        return Ok(if *first == Type::Unknown {
            Type::Text
        } else {
            *first
        });
    }
    let mut ptype = *first;
    for (i, &ntype) in types.iter().enumerate().skip(1) {
        if ntype == Type::Unknown || ntype == ptype {
            continue;
        }
        if ptype == Type::Unknown {
            ptype = ntype;
        } else if ntype.category() != ptype.category() {
            return Err((ptype, ntype, i));
        } else if !ptype.is_preferred()
            && can_coerce(ptype, ntype, CoercionContext::Implicit)
            && !can_coerce(ntype, ptype, CoercionContext::Implicit)
        {
            ptype = ntype;
        }
    }
    Ok(if ptype == Type::Unknown {
        Type::Text
    } else {
        ptype
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str, l: Type, r: Type) -> Option<(Type, Type, Type)> {
        let reg = registry();
        match resolve(reg.candidates(name, true), &[l, r], true) {
            Resolution::Found(id) => {
                let f = reg.get(id);
                let t = |a: ArgType| {
                    if let ArgType::T(t) = a {
                        t
                    } else {
                        Type::Unknown
                    }
                };
                Some((t(f.args[0]), t(f.args[1]), f.ret))
            }
            _ => None,
        }
    }

    #[test]
    fn operators_resolve_like_postgres() {
        use crate::sql::types::consts::*;
        assert_eq!(op("+", Int4, Unknown), Some((Int4, Int4, Int4)));
        assert_eq!(op("+", Unknown, Int4), Some((Int4, Int4, Int4)));
        assert_eq!(op("+", Int4, Int8), Some((Int4, Int8, Int8)));
        assert_eq!(op("+", Int4, Numeric), Some((Numeric, Numeric, Numeric)));
        assert_eq!(op("+", Numeric, Float8), Some((Float8, Float8, Float8)));
        assert_eq!(op("=", Name, Unknown), Some((Name, Name, Bool)));
        assert_eq!(op("=", Name, Text), Some((Name, Text, Bool)));
        assert_eq!(op("||", Unknown, Unknown), Some((Text, Text, Text)));
        assert_eq!(op("||", Unknown, Int4).map(|o| o.2), Some(Text));
        assert_eq!(op("~~", Text, Unknown), Some((Text, Text, Bool)));
        assert_eq!(
            op("-", Timestamptz, Unknown),
            Some((Timestamptz, Timestamptz, Interval))
        );
        assert!(op("+", Unknown, Unknown).is_none());
        assert!(op("+", Text, Int4).is_none());
    }

    #[test]
    fn functions_prefer_float8_for_integers() {
        let reg = registry();
        let Resolution::Found(id) = resolve(reg.candidates("round", false), &[Type::Int4], false)
        else {
            panic!("round(int)")
        };
        assert_eq!(reg.get(id).ret, Type::Float8);
        let Resolution::Found(id) = resolve(
            reg.candidates("round", false),
            &[Type::Numeric, Type::Int4],
            false,
        ) else {
            panic!("round(numeric, int)")
        };
        assert_eq!(reg.get(id).ret, Type::Numeric);
    }

    #[test]
    fn common_type_follows_categories() {
        use crate::sql::types::consts::*;
        assert_eq!(select_common_type(&[Int4, Numeric]), Ok(Numeric));
        assert_eq!(select_common_type(&[Int4, Float8, Numeric]), Ok(Float8));
        assert_eq!(select_common_type(&[Unknown, Unknown]), Ok(Text));
        assert_eq!(select_common_type(&[Unknown, Int4]), Ok(Int4));
        assert_eq!(select_common_type(&[Text, Int4]), Err((Text, Int4, 1)));
    }
}
