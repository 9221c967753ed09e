//! The built-in catalog rows match PostgreSQL 15's: for every row of
//! `pg_type`, `pg_proc`, `pg_operator`, `pg_cast`, `pg_language` and
//! `pg_description` that ferrogres has, the row with the same oid (or key)
//! in PostgreSQL 15 has the same value in every column, in text form.
//!
//! Where ferrogres's catalog says what ferrogres does rather than what
//! PostgreSQL does (src/catalog/README.md, rule 3), the difference is listed
//! in [`KNOWN`] with its reason; the test prints every difference and fails
//! on any other.

mod common;

use std::collections::HashMap;

use common::*;

/// (catalog, column, ferrogres's value, why it differs from PostgreSQL 15).
/// A listed column may differ only by holding the listed value (`NULL`
/// for NULL, `<proname>` for the row's own proname).
const KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "pg_type",
        "typarray",
        "0",
        "the array type is not listed (json/jsonb arrays are not added yet)",
    ),
    (
        "pg_type",
        "typreceive",
        "-",
        "binary I/O lives in backend/extended.rs, not in *_recv/*_send functions",
    ),
    (
        "pg_type",
        "typsend",
        "-",
        "binary I/O lives in backend/extended.rs, not in *_recv/*_send functions",
    ),
    ("pg_type", "typsubscript", "-", "no subscripting yet"),
    (
        "pg_type",
        "typanalyze",
        "-",
        "no per-type ANALYZE functions",
    ),
    ("pg_proc", "prosupport", "-", "no planner support functions"),
    ("pg_operator", "oprrest", "-", "no selectivity estimators"),
    ("pg_operator", "oprjoin", "-", "no selectivity estimators"),
    (
        "pg_operator",
        "oprcom",
        "0",
        "the commutator is not implemented",
    ),
    (
        "pg_operator",
        "oprnegate",
        "0",
        "the negator is not implemented",
    ),
    (
        "pg_proc",
        "prolang",
        "12",
        "PostgreSQL writes it in SQL; ferrogres implements it in Rust",
    ),
    (
        "pg_proc",
        "prosrc",
        "<proname>",
        "PostgreSQL writes it in SQL; ferrogres implements it in Rust",
    ),
    (
        "pg_proc",
        "prosqlbody",
        "NULL",
        "PostgreSQL writes it in SQL; ferrogres implements it in Rust",
    ),
    (
        "pg_proc",
        "proacl",
        "NULL",
        "no function privileges (GRANT/REVOKE ON FUNCTION) yet",
    ),
    (
        "pg_language",
        "lanvalidator",
        "0",
        "no CREATE FUNCTION ... LANGUAGE internal yet",
    ),
];

type Row = HashMap<String, Option<String>>;

fn rows(client: &mut postgres::Client, sql: &str) -> Vec<Row> {
    client
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                r.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_string(), r.get(i).map(str::to_string)))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

fn columns(client: &mut postgres::Client, catalog: &str) -> Vec<String> {
    rows(
        client,
        &format!(
            "SELECT attname FROM pg_attribute WHERE attrelid = \
             (SELECT oid FROM pg_class WHERE relname = '{catalog}') AND attnum > 0 ORDER BY attnum"
        ),
    )
    .into_iter()
    .map(|r| r["attname"].clone().expect("attname"))
    .collect()
}

struct Comparison {
    rows: usize,
    matching: usize,
    known: usize,
    failures: Vec<String>,
}

/// Compares every row of `catalog` in ferrogres with PostgreSQL's row of the
/// same `key` (columns joined), column by column.
fn compare(
    fg: &mut postgres::Client,
    pg: &mut postgres::Client,
    catalog: &str,
    key: &[&str],
    out: &mut Comparison,
) {
    let fg_cols = columns(fg, catalog);
    let pg_cols = columns(pg, catalog);
    if fg_cols != pg_cols {
        out.failures.push(format!(
            "{catalog}: columns differ\n  postgres:  {pg_cols:?}\n  ferrogres: {fg_cols:?}"
        ));
        return;
    }
    let key_of = |r: &Row| -> String {
        key.iter()
            .map(|k| r[*k].clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("/")
    };
    let pg_rows: HashMap<String, Row> = rows(pg, &format!("SELECT * FROM {catalog}"))
        .into_iter()
        .map(|r| (key_of(&r), r))
        .collect();
    for f in rows(fg, &format!("SELECT * FROM {catalog}")) {
        out.rows += 1;
        let k = key_of(&f);
        let Some(p) = pg_rows.get(&k) else {
            out.failures
                .push(format!("{catalog} {k}: no such row in PostgreSQL 15"));
            continue;
        };
        let mut same = true;
        for c in &fg_cols {
            if f[c] == p[c] {
                continue;
            }
            same = false;
            let known = KNOWN.iter().find(|(cat, col, val, _)| {
                let expected = match *val {
                    "NULL" => None,
                    "<proname>" => f.get("proname").cloned().flatten(),
                    v => Some(v.to_string()),
                };
                *cat == catalog && col == c && f[c] == expected
            });
            let line = format!(
                "{catalog} {k} {c}: postgres {:?}, ferrogres {:?}",
                p[c], f[c]
            );
            match known {
                Some((_, _, _, why)) => {
                    out.known += 1;
                    println!("known: {line} ({why})");
                }
                None => out.failures.push(line),
            }
        }
        if same {
            out.matching += 1;
        }
    }
}

#[test]
fn builtin_catalog_rows_match_postgresql_15() {
    let oracle = Oracle::start();
    let server = Server::builder().start();
    let mut pg = oracle.connect();
    let mut fg = server.connect();
    let mut out = Comparison {
        rows: 0,
        matching: 0,
        known: 0,
        failures: Vec::new(),
    };
    for (catalog, key) in [
        ("pg_type", &["oid"][..]),
        ("pg_proc", &["oid"]),
        ("pg_operator", &["oid"]),
        ("pg_cast", &["oid"]),
        ("pg_language", &["oid"]),
        ("pg_description", &["objoid", "classoid", "objsubid"]),
    ] {
        let before = (out.rows, out.matching);
        compare(&mut fg, &mut pg, catalog, key, &mut out);
        println!(
            "{catalog}: {} of {} rows identical to PostgreSQL 15",
            out.matching - before.1,
            out.rows - before.0
        );
    }
    println!(
        "total: {} of {} rows identical, {} known differences",
        out.matching, out.rows, out.known
    );
    assert!(out.rows > 1000, "only {} catalog rows", out.rows);
    assert!(
        out.failures.is_empty(),
        "{} unexplained differences from PostgreSQL 15:\n{}",
        out.failures.len(),
        out.failures.join("\n")
    );
}

/// What drivers ask at connect time (psycopg's TypeInfo.fetch, pgjdbc's
/// type cache) finds PostgreSQL's oids; an array type ferrogres cannot use
/// is absent rather than present and broken.
#[test]
fn drivers_find_types_by_oid_and_name() {
    let server = Server::builder().start();
    let mut c = server.connect();
    let one = |c: &mut postgres::Client, sql: &str| -> Vec<String> {
        rows(c, sql)
            .into_iter()
            .map(|r| r.into_values().next().flatten().unwrap_or_default())
            .collect()
    };
    assert_eq!(
        one(&mut c, "SELECT typname FROM pg_type WHERE oid = 23"),
        ["int4"]
    );
    assert_eq!(
        one(&mut c, "SELECT typname FROM pg_type WHERE oid = 1009"),
        ["_text"]
    );
    assert_eq!(
        one(
            &mut c,
            "SELECT typarray FROM pg_type WHERE typname = 'text'"
        ),
        ["1009"]
    );
    assert_eq!(
        one(&mut c, "SELECT typname FROM pg_type WHERE oid = 1007"),
        ["_int4"]
    );
    assert_eq!(
        one(
            &mut c,
            "SELECT typname || ' ' || typarray FROM pg_type WHERE oid = 2950"
        ),
        ["uuid 2951"],
        "uuid with its array type _uuid"
    );
    assert_eq!(
        one(
            &mut c,
            "SELECT oid FROM pg_type WHERE typname = 'timestamptz' AND typnamespace = 11"
        ),
        ["1184"]
    );
    assert_eq!(
        one(&mut c, "SELECT typinput FROM pg_type WHERE oid = 1700"),
        ["numeric_in"]
    );
    assert_eq!(
        one(&mut c, "SELECT proargtypes FROM pg_proc WHERE oid = 2172"),
        ["25 16"],
        "pg_backup_start(text, boolean)"
    );
    assert_eq!(
        one(
            &mut c,
            "SELECT description FROM pg_description WHERE objoid = 870 AND classoid = 1255"
        ),
        ["lowercase"]
    );
}
