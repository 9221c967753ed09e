//! The declarative tables agree with the registry, with `sql::types`, and
//! with themselves (the invariants of the module doc).

use std::collections::HashSet;

use super::*;
use crate::catalog::defs::FIRST_NORMAL_OBJECT_ID;

fn describe(f: &FuncDef) -> String {
    format!("{}({:?}) kind {:?}", f.name, arg_oids(f), f.kind)
}

#[test]
fn every_registry_function_has_a_pg_proc_row_or_a_reason() {
    let missing: Vec<String> = registry()
        .funcs
        .iter()
        .filter(|f| !matches!(f.kind, FuncKind::Infix | FuncKind::Prefix))
        .filter(|f| proc_for(f).is_none() && !listed(NOT_IN_PG_PROC, f))
        .map(describe)
        .collect();
    assert!(
        missing.is_empty(),
        "registry functions without a PG_PROC row (add PostgreSQL 15's row to \
         src/catalog/builtin/pg_proc.rs, see README.md):\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_registry_operator_has_a_pg_operator_row_or_a_reason() {
    let missing: Vec<String> = registry()
        .funcs
        .iter()
        .filter(|f| matches!(f.kind, FuncKind::Infix | FuncKind::Prefix))
        .filter(|f| operator_for(f).is_none() && !listed(NOT_IN_PG_OPERATOR, f))
        .map(describe)
        .collect();
    assert!(
        missing.is_empty(),
        "registry operators without a PG_OPERATOR row:\n{}",
        missing.join("\n")
    );
}

#[test]
fn exceptions_name_registry_entries_that_really_lack_a_row() {
    for (list, what) in [
        (NOT_IN_PG_PROC, "NOT_IN_PG_PROC"),
        (NOT_IN_PG_OPERATOR, "NOT_IN_PG_OPERATOR"),
    ] {
        for (name, args, _) in list {
            let f = registry()
                .funcs
                .iter()
                .find(|f| f.name == *name && arg_oids(f) == *args)
                .unwrap_or_else(|| panic!("{what}: {name}{args:?} is not in the registry"));
            assert!(
                proc_for(f).is_none() && operator_for(f).is_none(),
                "{what}: {name}{args:?} has a row after all"
            );
        }
    }
}

#[test]
fn every_callable_row_is_implemented_and_agrees_with_the_registry() {
    let reg = registry();
    for p in pg_proc::PG_PROC
        .iter()
        .filter(|p| p.role == ProcRole::Callable)
    {
        let impls: Vec<&FuncDef> = reg
            .funcs
            .iter()
            .filter(|f| proc_for(f).is_some_and(|x| x.oid == p.oid))
            .collect();
        assert!(
            !impls.is_empty(),
            "PG_PROC {} {} is Callable but nothing in the registry implements it",
            p.oid,
            p.proname
        );
        for f in impls {
            assert_eq!(f.ret.oid(), p.prorettype, "{}: result type", describe(f));
            assert_eq!(f.variadic, p.provariadic != 0, "{}: variadic", describe(f));
            let aggregate = matches!(f.kind, FuncKind::Aggregate(_));
            assert_eq!(aggregate, p.prokind == b'a', "{}: prokind", describe(f));
            let window = matches!(f.kind, FuncKind::Window(_));
            assert_eq!(window, p.prokind == b'w', "{}: prokind", describe(f));
            // Strictness of a function without arguments means nothing;
            // aggregates' strictness is their transition function's.
            if !f.args.is_empty() && !aggregate {
                assert_eq!(f.strict, p.proisstrict, "{}: strict", describe(f));
            }
        }
    }
}

#[test]
fn every_operator_row_agrees_with_the_registry() {
    for f in registry().funcs.iter() {
        if let Some(o) = operator_for(f) {
            assert_eq!(f.ret.oid(), o.oprresult, "{}: result type", describe(f));
        }
    }
}

#[test]
fn builtin_oids_are_postgresqls_range_and_unique() {
    let b = builtins();
    let mut seen = HashSet::new();
    let all = b
        .types
        .iter()
        .map(|t| ("pg_type", t.oid))
        .chain(b.procs.iter().map(|p| ("pg_proc", p.oid)))
        .chain(b.operators.iter().map(|o| ("pg_operator", o.oid)))
        .chain(b.casts.iter().map(|c| ("pg_cast", c.oid)));
    for (cat, oid) in all {
        assert!(oid > 0 && oid < FIRST_NORMAL_OBJECT_ID, "{cat} oid {oid}");
        assert!(seen.insert((cat, oid)), "{cat} oid {oid} twice");
    }
}

#[test]
fn the_catalogs_are_closed_under_their_references() {
    let b = builtins();
    let types: HashSet<Oid> = b.types.iter().map(|t| t.oid).collect();
    let procs: HashSet<Oid> = b.procs.iter().map(|p| p.oid).collect();
    let ty = |o: Oid, what: &str| {
        assert!(
            o == 0 || types.contains(&o),
            "{what}: type {o} has no pg_type row"
        )
    };
    let pr = |o: Oid, what: &str| {
        assert!(
            o == 0 || procs.contains(&o),
            "{what}: function {o} has no pg_proc row"
        )
    };
    for t in &b.types {
        let w = format!("pg_type {}", t.typname);
        for o in [t.typelem, t.typarray] {
            ty(o, &w);
        }
        for o in [
            t.typinput,
            t.typoutput,
            t.typreceive,
            t.typsend,
            t.typmodin,
            t.typmodout,
        ] {
            pr(o, &w);
        }
        assert_ne!(t.typinput, 0, "{w}: no input function");
        assert_ne!(t.typoutput, 0, "{w}: no output function");
    }
    for p in &b.procs {
        let w = format!("pg_proc {} {}", p.oid, p.proname);
        ty(p.prorettype, &w);
        ty(p.provariadic, &w);
        for &a in p.proargtypes {
            ty(a, &w);
        }
    }
    for o in &b.operators {
        let w = format!("pg_operator {} {}", o.oid, o.oprname);
        for t in [o.oprleft, o.oprright, o.oprresult] {
            ty(t, &w);
        }
        pr(o.oprcode, &w);
    }
    for c in &b.casts {
        let w = format!("pg_cast {}", c.oid);
        ty(c.castsource, &w);
        ty(c.casttarget, &w);
        pr(c.castfunc, &w);
    }
}

#[test]
fn pg_type_is_sorted_by_oid_and_names_resolve() {
    // sql::types::Type looks rows up by binary search.
    for w in pg_type::PG_TYPE.windows(2) {
        assert!(
            w[0].oid < w[1].oid,
            "PG_TYPE not sorted at {}",
            w[1].typname
        );
    }
    for t in Type::all() {
        assert_eq!(Type::from_oid(t.oid()), Some(t));
        let usable = t.entry().unwrap().typtype != b'p' || matches!(t, Type::Void | Type::Unknown);
        if usable && t.typname() != "_cstring" {
            assert_eq!(Type::from_name(t.typname()), Some(t), "{t:?}");
        } else {
            assert_eq!(Type::from_name(t.typname()), None, "{t:?}");
        }
    }
    for (name, t) in [
        ("integer", Type::Int4),
        ("double precision", Type::Float8),
        ("boolean", Type::Bool),
    ] {
        assert_eq!(Type::from_name(name), Some(t));
    }
    assert_eq!(Type::TextArray.elem(), Some(Type::Text));
    assert_eq!(Type::Text.array(), Some(Type::TextArray));
    assert_eq!(Type::TextArray.name(), "text[]");
    let int4_array = Type::from_oid(1007).expect("_int4");
    assert_eq!(Type::Int4.array(), Some(int4_array));
    assert_eq!(int4_array.name(), "integer[]");
    assert_eq!(int4_array.format_with_typmod(-1, false), "integer[]");
    assert_eq!(Type::Oidvector.name(), "oidvector");
}

#[test]
fn every_storable_column_type_matches_its_pg_type_row() {
    for (n, a) in crate::catalog::defs::TYPES {
        let row = pg_type::PG_TYPE
            .iter()
            .find(|r| r.oid == a.type_oid())
            .unwrap_or_else(|| panic!("{n} is stored but has no pg_type row"));
        let (len, align, byval) = a.storage();
        assert_eq!(
            (row.typlen, row.typalign as char, row.typbyval),
            (len, align.as_char(), byval),
            "{n}"
        );
    }
}

#[test]
fn casts_listed_are_those_sql_adt_implements() {
    let b = builtins();
    assert!(
        b.casts
            .iter()
            .any(|c| (c.castsource, c.casttarget) == (23, 20)),
        "int4 -> int8"
    );
    assert!(
        b.casts
            .iter()
            .any(|c| (c.castsource, c.casttarget) == (18, 25)),
        "\"char\" -> text"
    );
    for c in &b.casts {
        assert!(cast_implemented(c));
    }
}

#[test]
fn regproc_names_builtins() {
    assert_eq!(regproc_name(0), "-");
    assert_eq!(regproc_name(1242), "boolin");
    assert_eq!(regproc_name(4_000_000_000), "4000000000");
    assert_eq!(procs_named("boolin"), vec![1242]);
    assert!(procs_named("lower").len() == 1);
    assert!(procs_named("abs").len() > 1);
}

#[test]
fn descriptions_are_postgresqls() {
    let rows = pg_description_rows();
    let has = |o: Oid, d: &str| {
        rows.iter()
            .any(|r| r[0] == HeapValue::Oid(o) && r[3] == HeapValue::Bytes(d.as_bytes().to_vec()))
    };
    assert!(has(23, "-2 billion to 2 billion integer, 4-byte storage"));
    assert!(has(870, "lowercase"), "lower(text)");
}
