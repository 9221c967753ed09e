//! Tables for the unit tests: an in-memory [`TableContext`] with the
//! contract's semantics (scans see the rows present when they opened,
//! updates write a new version), and a way to simulate one concurrent
//! update or delete so the executor's Moved/Gone handling is exercised.
//! Expected outputs in the tests were taken from PostgreSQL 15.

use std::collections::HashMap;
use std::sync::Arc;

use super::tables::*;
use super::tests::{TestBackend, run};
use super::types::Datum;
use crate::storage::page::ItemPointer;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// What another transaction does to the next row the executor writes or locks.
#[derive(Clone, Debug)]
pub(crate) enum Concurrent {
    /// Commits an update setting column `.0` to `.1`.
    Update(usize, Datum),
    Delete,
}

#[derive(Default)]
pub(crate) struct MemTables {
    tables: Vec<(Arc<TableDef>, Vec<Option<Vec<Datum>>>)>,
    scans: HashMap<u32, (usize, std::vec::IntoIter<(RowId, Vec<Datum>)>)>,
    next_scan: u32,
    pub concurrent: Option<Concurrent>,
    pub locked: Vec<RowId>,
    pub savepoints: Vec<(SavepointRequest, String)>,
    pub checkpoints: u32,
}

fn rid(i: usize) -> RowId {
    ItemPointer::new((i / 100) as u32, (i % 100 + 1) as u16)
}

fn slot(r: RowId) -> usize {
    r.block() as usize * 100 + r.offset() as usize - 1
}

impl MemTables {
    fn find(&self, def: &TableDef) -> usize {
        self.tables
            .iter()
            .position(|(t, _)| t.oid == def.oid)
            .expect("table exists")
    }

    /// Applies the pending concurrent change to row `r`, if any.
    fn interfere(&mut self, t: usize, r: RowId) -> Option<RowChange> {
        let change = self.concurrent.take()?;
        let rows = &mut self.tables[t].1;
        let old = rows[slot(r)].take().expect("live row");
        Some(match change {
            Concurrent::Delete => RowChange::Gone,
            Concurrent::Update(col, v) => {
                let mut new = old;
                new[col] = v;
                rows.push(Some(new.clone()));
                RowChange::Moved {
                    row_id: rid(rows.len() - 1),
                    row: new,
                }
            }
        })
    }
}

impl TableContext for TestBackend {
    fn lookup_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> PgResult<Option<Arc<TableDef>>> {
        Ok(self
            .tables
            .tables
            .iter()
            .find(|(t, _)| t.name == name && schema.is_none_or(|s| s == t.namespace))
            .map(|(t, _)| t.clone()))
    }
    fn create_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        columns: Vec<ColumnDef>,
        if_not_exists: bool,
    ) -> PgResult<bool> {
        if self.lookup_table(schema, name)?.is_some() {
            if if_not_exists {
                return Ok(false);
            }
            return Err(PgError::error(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let oid = 16384 + self.tables.tables.len() as u32;
        let def = TableDef {
            oid,
            name: name.to_string(),
            namespace_oid: 2200,
            namespace: schema.unwrap_or("public").to_string(),
            db_oid: 5,
            relfilenode: oid,
            relkind: 'r',
            columns,
            checks: Vec::new(),
            indexes: Vec::new(),
        };
        self.tables.tables.push((Arc::new(def), Vec::new()));
        Ok(true)
    }
    fn drop_table(&mut self, schema: Option<&str>, name: &str, if_exists: bool) -> PgResult<bool> {
        match self.lookup_table(schema, name)? {
            Some(t) => {
                self.tables.tables.retain(|(x, _)| x.oid != t.oid);
                Ok(true)
            }
            None if if_exists => Ok(false),
            None => Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("table \"{name}\" does not exist"),
            )),
        }
    }
    fn open_scan(&mut self, table: &Arc<TableDef>) -> PgResult<ScanId> {
        let t = self.tables.find(table);
        let rows: Vec<(RowId, Vec<Datum>)> = self.tables.tables[t]
            .1
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.clone().map(|r| (rid(i), r)))
            .collect();
        let id = self.tables.next_scan;
        self.tables.next_scan += 1;
        self.tables.scans.insert(id, (t, rows.into_iter()));
        Ok(ScanId(id))
    }
    fn scan_next(&mut self, scan: ScanId) -> PgResult<Option<(RowId, Vec<Datum>)>> {
        let Some((_, it)) = self.tables.scans.get_mut(&scan.0) else {
            return Ok(None);
        };
        let r = it.next();
        if r.is_none() {
            self.tables.scans.remove(&scan.0);
        }
        Ok(r)
    }
    fn close_scan(&mut self, scan: ScanId) {
        self.tables.scans.remove(&scan.0);
    }
    fn insert_row(&mut self, table: &TableDef, row: Vec<Datum>) -> PgResult<RowId> {
        assert_eq!(row.len(), table.columns.len(), "rows match the table");
        let t = self.tables.find(table);
        let rows = &mut self.tables.tables[t].1;
        rows.push(Some(row));
        Ok(rid(rows.len() - 1))
    }
    fn update_row(
        &mut self,
        table: &TableDef,
        row_id: RowId,
        row: Vec<Datum>,
    ) -> PgResult<RowChange> {
        let t = self.tables.find(table);
        if let Some(c) = self.tables.interfere(t, row_id) {
            return Ok(c);
        }
        let rows = &mut self.tables.tables[t].1;
        if rows[slot(row_id)].take().is_none() {
            return Ok(RowChange::Gone);
        }
        rows.push(Some(row));
        Ok(RowChange::Done)
    }
    fn delete_row(&mut self, table: &TableDef, row_id: RowId) -> PgResult<RowChange> {
        let t = self.tables.find(table);
        if let Some(c) = self.tables.interfere(t, row_id) {
            return Ok(c);
        }
        match self.tables.tables[t].1[slot(row_id)].take() {
            Some(_) => Ok(RowChange::Done),
            None => Ok(RowChange::Gone),
        }
    }
    fn lock_row(
        &mut self,
        table: &TableDef,
        row_id: RowId,
        _mode: RowLockMode,
    ) -> PgResult<RowChange> {
        let t = self.tables.find(table);
        if let Some(c) = self.tables.interfere(t, row_id) {
            return Ok(c);
        }
        self.tables.locked.push(row_id);
        Ok(RowChange::Done)
    }
    fn txid_current(&mut self) -> PgResult<i64> {
        Ok(742)
    }
    fn current_wal_lsn(&mut self) -> PgResult<String> {
        Ok("0/16B3748".into())
    }
    fn checkpoint(&mut self) -> PgResult<()> {
        self.tables.checkpoints += 1;
        Ok(())
    }
    fn savepoint(&mut self, request: SavepointRequest, name: &str) -> PgResult<()> {
        self.tables.savepoints.push((request, name.to_string()));
        Ok(())
    }
}

fn with_employees() -> TestBackend {
    let mut b = TestBackend::new();
    let out = run(
        &mut b,
        "CREATE TABLE employees (id int, name text, dept text, salary numeric(10,2), hired date);\
         INSERT INTO employees VALUES (1,'Meena','Sales',10000,'2021-03-01'), \
         (2,'Yasoda','HR',25000,'2019-07-15'), (3,'Devi','IT',30000,'2020-01-20')",
    );
    assert_eq!(out, "CREATE TABLE\nINSERT 0 3");
    b
}

#[test]
fn employees_example_matches_postgres() {
    let mut b = with_employees();
    assert_eq!(
        run(
            &mut b,
            "UPDATE employees SET salary = 12000 WHERE name = 'Meena'"
        ),
        "UPDATE 1"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT * FROM employees WHERE salary > 20000 ORDER BY id"
        ),
        "id|name|dept|salary|hired\n2|Yasoda|HR|25000.00|2019-07-15\n3|Devi|IT|30000.00|2020-01-20"
    );
    assert_eq!(
        run(&mut b, "SELECT name, salary FROM employees WHERE id = 1"),
        "name|salary\nMeena|12000.00"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT dept, count(*), sum(salary) FROM public.employees e GROUP BY dept ORDER BY 3 DESC LIMIT 2"
        ),
        "dept|count|sum\nIT|1|30000.00\nHR|1|25000.00"
    );
    assert_eq!(
        run(
            &mut b,
            "DELETE FROM employees WHERE hired < '2020-06-01' RETURNING id, hired + 1 AS next"
        ),
        "id|next\n2|2019-07-16\n3|2020-01-21"
    );
    assert_eq!(run(&mut b, "DROP TABLE employees"), "DROP TABLE");
    assert_eq!(
        run(&mut b, "SELECT * FROM employees"),
        "ERROR 42P01: relation \"employees\" does not exist @15"
    );
}

#[test]
fn inserts_coerce_apply_typmods_defaults_and_not_null() {
    let mut b = TestBackend::new();
    let out = run(
        &mut b,
        "CREATE TABLE t (a int NOT NULL, v varchar(5), n numeric(5,2), d date DEFAULT '2021-01-01', \
         c char(3), ts timestamp DEFAULT '2021-03-01 12:34:56.5', k int DEFAULT 40 + 2)",
    );
    assert_eq!(out, "CREATE TABLE");
    assert_eq!(
        run(
            &mut b,
            "INSERT INTO t (a, v, n, c) VALUES (1.5, 'abc  ', 1.005, 'x') RETURNING *"
        ),
        "a|v|n|d|c|ts|k\n2|abc  |1.01|2021-01-01|x  |2021-03-01 12:34:56.5|42"
    );
    assert_eq!(
        run(&mut b, "INSERT INTO t VALUES (2, 'abcdefg ')"),
        "ERROR 22001: value too long for type character varying(5)"
    );
    assert_eq!(
        run(&mut b, "INSERT INTO t (a, v) VALUES (2, 'abcde   ')"),
        "INSERT 0 1"
    );
    assert_eq!(
        run(&mut b, "INSERT INTO t (a, n) VALUES (3, 1000)"),
        "ERROR 22003: numeric field overflow"
    );
    assert_eq!(
        run(&mut b, "INSERT INTO t (v) VALUES ('z')"),
        "ERROR 23502: null value in column \"a\" of relation \"t\" violates not-null constraint"
    );
    assert_eq!(
        run(
            &mut b,
            "INSERT INTO t VALUES (1, 'a', 1, '2020-01-01', 'c', now(), 1, 9)"
        ),
        "ERROR 42601: INSERT has more expressions than target columns @63"
    );
    assert_eq!(
        run(&mut b, "INSERT INTO t (a, d) VALUES (4, 5)"),
        "ERROR 42804: column \"d\" is of type date but expression is of type integer @33"
    );
    assert_eq!(
        run(
            &mut b,
            "INSERT INTO t (a, d, k) VALUES (5, DEFAULT, DEFAULT), (6, NULL, 7) RETURNING a, d, k"
        ),
        "a|d|k\n5|2021-01-01|42\n6||7"
    );
    assert_eq!(
        run(&mut b, "INSERT INTO t (a, nope) VALUES (1, 2)"),
        "ERROR 42703: column \"nope\" of relation \"t\" does not exist @19"
    );
    assert_eq!(
        run(
            &mut b,
            "INSERT INTO t (a) SELECT g FROM generate_series(10, 12) g"
        ),
        "INSERT 0 3"
    );
    assert_eq!(
        run(&mut b, "SELECT count(*), min(a), max(a) FROM t"),
        "count|min|max\n7|2|12"
    );
    assert_eq!(
        run(&mut b, "SELECT c = 'x', c FROM t WHERE c IS NOT NULL"),
        "?column?|c\nt|x  "
    );
}

#[test]
fn create_table_refuses_what_it_cannot_enforce() {
    let mut b = TestBackend::new();
    assert_eq!(
        run(&mut b, "CREATE TABLE t (a int REFERENCES u)"),
        "ERROR 0A000: not supported by ferrogres yet: FOREIGN KEY constraints"
    );
    assert_eq!(
        run(&mut b, "CREATE TABLE t (a int, EXCLUDE (a WITH =))"),
        "ERROR 0A000: not supported by ferrogres yet: EXCLUDE constraints"
    );
    assert_eq!(
        run(&mut b, "CREATE TABLE t (a int, a text)"),
        "ERROR 42701: column \"a\" specified more than once"
    );
    assert_eq!(
        run(&mut b, "CREATE TABLE t (a int DEFAULT b)"),
        "ERROR 0A000: cannot use column reference in DEFAULT expression @31"
    );
    assert_eq!(
        run(&mut b, "CREATE TABLE t (a nosuchtype)"),
        "ERROR 42704: type \"nosuchtype\" does not exist @19"
    );
    assert_eq!(
        run(&mut b, "CREATE TABLE IF NOT EXISTS t (a int)"),
        "CREATE TABLE"
    );
    assert_eq!(
        run(&mut b, "CREATE TABLE IF NOT EXISTS t (a int)"),
        "CREATE TABLE"
    );
    assert_eq!(run(&mut b, "DROP TABLE IF EXISTS t, u"), "DROP TABLE");
    assert_eq!(
        run(&mut b, "DROP TABLE t"),
        "ERROR 42P01: table \"t\" does not exist"
    );
}

#[test]
fn update_rechecks_rows_moved_by_concurrent_writers() {
    let mut b = TestBackend::new();
    run(
        &mut b,
        "CREATE TABLE acc (id int, bal int); INSERT INTO acc VALUES (1, 100), (2, 200)",
    );
    // Another transaction commits bal = 150 for row 1 first: WHERE still
    // holds, so the SET is recomputed from the new version.
    b.tables.concurrent = Some(Concurrent::Update(1, Datum::Int4(150)));
    assert_eq!(
        run(
            &mut b,
            "UPDATE acc SET bal = bal + 1 WHERE id = 1 RETURNING bal"
        ),
        "bal\n151"
    );
    // The new version no longer matches: skipped.
    b.tables.concurrent = Some(Concurrent::Update(0, Datum::Int4(9)));
    assert_eq!(
        run(&mut b, "UPDATE acc SET bal = 0 WHERE id = 1"),
        "UPDATE 0"
    );
    // Deleted concurrently: skipped.
    b.tables.concurrent = Some(Concurrent::Delete);
    assert_eq!(run(&mut b, "DELETE FROM acc WHERE id = 2"), "DELETE 0");
    assert_eq!(
        run(&mut b, "SELECT id, bal FROM acc ORDER BY id"),
        "id|bal\n9|151"
    );
    // FOR UPDATE returns the moved row's values when it still matches.
    b.tables.concurrent = Some(Concurrent::Update(1, Datum::Int4(7)));
    assert_eq!(
        run(&mut b, "SELECT id, bal FROM acc WHERE id = 9 FOR UPDATE"),
        "id|bal\n9|7"
    );
    assert_eq!(b.tables.locked.len(), 1);
    assert_eq!(
        run(&mut b, "SELECT count(*) FROM acc FOR UPDATE"),
        "ERROR 0A000: FOR UPDATE is not allowed with aggregate functions"
    );
}

#[test]
fn series_lsn_and_transaction_statements() {
    let mut b = TestBackend::new();
    assert_eq!(
        run(&mut b, "SELECT * FROM generate_series(1, 10, 4)"),
        "generate_series\n1\n5\n9"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT x * 2 AS y FROM generate_series(3, 1, -1) AS g(x)"
        ),
        "y\n6\n4\n2"
    );
    assert_eq!(
        run(&mut b, "SELECT g FROM generate_series(1.5, 3) g"),
        "g\n1.5\n2.5"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT * FROM generate_series('2021-01-30'::timestamp, '2021-03-01', '1 month')"
        ),
        "generate_series\n2021-01-30 00:00:00\n2021-02-28 00:00:00"
    );
    assert_eq!(
        run(&mut b, "SELECT * FROM generate_series(1, 2, 0)"),
        "ERROR 22023: step size cannot equal zero"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT txid_current(), pg_current_wal_lsn(), pg_wal_lsn_diff('0/16B3748', '0/16B3700')"
        ),
        "txid_current|pg_current_wal_lsn|pg_wal_lsn_diff\n742|0/16B3748|72"
    );
    b.in_transaction = true;
    assert_eq!(
        run(
            &mut b,
            "SAVEPOINT s1; RELEASE SAVEPOINT s1; ROLLBACK TO s2; CHECKPOINT"
        ),
        "SAVEPOINT\nRELEASE\nROLLBACK\nCHECKPOINT"
    );
    assert_eq!(
        b.tables.savepoints,
        vec![
            (SavepointRequest::Define, "s1".to_string()),
            (SavepointRequest::Release, "s1".to_string()),
            (SavepointRequest::RollbackTo, "s2".to_string()),
        ]
    );
}

#[test]
fn dates_and_timestamps_behave_like_postgres() {
    let mut b = TestBackend::new();
    let cases = [
        ("SELECT '2021-03-01'::date + 30", "2021-03-31"),
        ("SELECT '2021-03-01'::date - '2021-01-01'::date", "59"),
        ("SELECT '2021-03-01'::date - 1", "2021-02-28"),
        (
            "SELECT '2021-03-01 12:34:56.5'::timestamp",
            "2021-03-01 12:34:56.5",
        ),
        (
            "SELECT '2021-03-01'::date::timestamp",
            "2021-03-01 00:00:00",
        ),
        ("SELECT '2021-03-01 23:59'::timestamp::date", "2021-03-01"),
        (
            "SELECT '2021-03-01'::date < '2021-03-01 00:00:01'::timestamp",
            "t",
        ),
        (
            "SELECT '2021-03-01'::date::timestamptz",
            "2021-03-01 00:00:00+00",
        ),
        (
            "SELECT '2021-03-01 10:00+02'::timestamptz::timestamp",
            "2021-03-01 08:00:00",
        ),
        (
            "SELECT '2021-03-01'::date + interval '1 day 2 hours'",
            "2021-03-02 02:00:00",
        ),
        ("SELECT '2021-03-01'::date::text || 'x'", "2021-03-01x"),
        ("SELECT pg_typeof(current_date)", "date"),
        ("SELECT current_date = now()::date", "t"),
        (
            "SELECT pg_typeof(localtimestamp)",
            "timestamp without time zone",
        ),
        (
            "SELECT '2021-03-01 12:34:56.789'::timestamp(1)",
            "2021-03-01 12:34:56.8",
        ),
        ("SELECT 'abcdef'::varchar(3)", "abc"),
        ("SELECT 'ab'::char(4) || '|'", "ab|"),
        ("SELECT 'ab '::char(3) = 'ab'::char(5)", "t"),
        ("SELECT 12.345::numeric(4,2)", "12.35"),
        ("SELECT 1.5::real + 1::double precision", "2.5"),
        ("SELECT '0/16B3748'::pg_lsn > '0/16B3700'", "t"),
    ];
    for (sql, want) in cases {
        let out = run(&mut b, sql);
        assert_eq!(out.lines().nth(1).unwrap_or(&out), want, "{sql}");
    }
    assert_eq!(
        run(&mut b, "SELECT '2021-02-30'::date"),
        "ERROR 22008: date/time field value out of range: \"2021-02-30\" @8"
    );
    assert_eq!(
        run(&mut b, "SELECT 123.45::numeric(4,2)"),
        "ERROR 22003: numeric field overflow"
    );
}

#[test]
fn typmods_apply_by_assignment_and_explicit_rules() {
    use super::adt::apply_typmod;
    use super::types::{Numeric, Type};
    let s = |x: &str| Datum::Text(x.into());
    // varchar(3): explicit casts truncate; assignment only drops blanks.
    assert_eq!(
        apply_typmod(s("abcdef"), Type::Varchar, 7, true).unwrap(),
        s("abc")
    );
    assert_eq!(
        apply_typmod(s("abc   "), Type::Varchar, 7, false).unwrap(),
        s("abc")
    );
    assert_eq!(
        apply_typmod(s("abcd"), Type::Varchar, 7, false)
            .unwrap_err()
            .message,
        "value too long for type character varying(3)"
    );
    // char(4) pads.
    assert_eq!(
        apply_typmod(s("ab"), Type::Bpchar, 8, false).unwrap(),
        s("ab  ")
    );
    assert_eq!(
        apply_typmod(s("abcde"), Type::Bpchar, 8, false)
            .unwrap_err()
            .message,
        "value too long for type character(4)"
    );
    // numeric(5,2) rounds half away from zero, then checks the precision.
    let typmod = ((5 << 16) | 2) + 4;
    let n = |x: &str| Datum::Numeric(Numeric::parse(x).unwrap());
    assert_eq!(
        apply_typmod(n("1.005"), Type::Numeric, typmod, false).unwrap(),
        n("1.01")
    );
    let e = apply_typmod(n("999.995"), Type::Numeric, typmod, false).unwrap_err();
    assert_eq!(e.sqlstate, "22003");
    assert_eq!(
        e.detail.as_deref(),
        Some("A field with precision 5, scale 2 must round to an absolute value less than 10^3.")
    );
    // timestamp(1) rounds to tenths of a second.
    assert_eq!(
        apply_typmod(Datum::Timestamp(1_250_000), Type::Timestamp, 1, false).unwrap(),
        Datum::Timestamp(1_300_000)
    );
}
