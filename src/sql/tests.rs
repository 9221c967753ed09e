//! End-to-end tests of the pipeline (parse → analyse → plan → execute)
//! against a test double of the backend. Expected outputs were taken from
//! PostgreSQL 15.

use super::types::{Datum, Type};
use super::*;
use crate::utils::guc::Settings;

/// A backend stand-in: fixed identity, a fake `pg_stat_activity`, and a
/// record of signals and sleeps.
pub(crate) struct TestBackend {
    pub settings: Settings,
    pub superuser: bool,
    pub signals: Vec<(i32, bool)>,
    pub slept: f64,
    pub cancel_after_rows: Option<usize>,
    pub rows_checked: usize,
    pub alter_system_calls: Vec<(String, Option<String>)>,
    pub transactions: Vec<TransactionRequest>,
    pub in_transaction: bool,
    pub notices: Vec<PgError>,
    /// In-memory tables (`tests_tables.rs`).
    pub tables: super::tests_tables::MemTables,
}

impl TestBackend {
    pub fn new() -> TestBackend {
        TestBackend {
            settings: Settings::new(),
            superuser: true,
            signals: Vec::new(),
            slept: 0.0,
            cancel_after_rows: None,
            rows_checked: 0,
            alter_system_calls: Vec::new(),
            transactions: Vec::new(),
            in_transaction: false,
            notices: Vec::new(),
            tables: Default::default(),
        }
    }
}

/// 2024-01-02 03:04:05 UTC.
const T0: TimestampTz = 757_479_845_000_000;

impl ServerContext for TestBackend {
    fn backend_pid(&self) -> i32 {
        100
    }
    fn current_user(&self) -> &str {
        "alice"
    }
    fn session_user(&self) -> &str {
        "alice"
    }
    fn current_database(&self) -> &str {
        "db1"
    }
    fn is_superuser(&self) -> bool {
        self.superuser
    }
    fn transaction_timestamp(&self) -> TimestampTz {
        T0
    }
    fn statement_timestamp(&self) -> TimestampTz {
        T0 + 1
    }
    fn postmaster_start_time(&self) -> TimestampTz {
        T0 - 1_000_000
    }
    fn settings(&mut self) -> &mut Settings {
        &mut self.settings
    }
    fn alter_system(&mut self, name: &str, value: Option<&str>) -> PgResult<()> {
        self.alter_system_calls
            .push((name.to_string(), value.map(|v| v.to_string())));
        Ok(())
    }
    fn deallocate(&mut self, _name: Option<&str>) -> PgResult<()> {
        Ok(())
    }
    fn reload_conf(&mut self) -> PgResult<bool> {
        Ok(true)
    }
    fn check_for_interrupts(&mut self) -> PgResult<()> {
        self.rows_checked += 1;
        if self
            .cancel_after_rows
            .is_some_and(|n| self.rows_checked > n)
        {
            return Err(PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to user request",
            ));
        }
        Ok(())
    }
    fn sleep(&mut self, seconds: f64) -> PgResult<()> {
        self.slept += seconds;
        Ok(())
    }
    fn signal_backend(&mut self, pid: i32, terminate: bool) -> PgResult<bool> {
        self.signals.push((pid, terminate));
        Ok([50, 100, 101, 102, 103].contains(&pid))
    }
    fn notice(&mut self, notice: PgError) {
        self.notices.push(notice);
    }
    fn system_relation(&mut self, name: &str) -> PgResult<Option<VirtualRelation>> {
        if name != "pg_stat_activity" {
            return Ok(None);
        }
        use crate::sql::types::consts::*;
        let columns: Vec<(String, Type)> = [
            ("datid", Oid),
            ("datname", Name),
            ("pid", Int4),
            ("leader_pid", Int4),
            ("usesysid", Oid),
            ("usename", Name),
            ("application_name", Text),
            ("client_addr", Inet),
            ("client_hostname", Text),
            ("client_port", Int4),
            ("backend_start", Timestamptz),
            ("xact_start", Timestamptz),
            ("query_start", Timestamptz),
            ("state_change", Timestamptz),
            ("wait_event_type", Text),
            ("wait_event", Text),
            ("state", Text),
            ("backend_xid", Xid),
            ("backend_xmin", Xid),
            ("query_id", Int8),
            ("query", Text),
            ("backend_type", Text),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
        let row = |pid: i32,
                   db: Option<&str>,
                   state: Option<&str>,
                   query: &str,
                   btype: &str|
         -> Vec<Datum> {
            let text = |s: Option<&str>| s.map(|v| Datum::Text(v.into())).unwrap_or(Datum::Null);
            vec![
                if db.is_some() {
                    Datum::Oid(5)
                } else {
                    Datum::Null
                },
                text(db),
                Datum::Int4(pid),
                Datum::Null,
                if db.is_some() {
                    Datum::Oid(10)
                } else {
                    Datum::Null
                },
                text(db.map(|_| "alice")),
                Datum::Text(String::new()),
                if db.is_some() {
                    Datum::Text("127.0.0.1".into())
                } else {
                    Datum::Null
                },
                Datum::Null,
                if db.is_some() {
                    Datum::Int4(5000 + pid)
                } else {
                    Datum::Null
                },
                Datum::Timestamptz(T0 - 60_000_000),
                Datum::Null,
                if db.is_some() {
                    Datum::Timestamptz(T0)
                } else {
                    Datum::Null
                },
                Datum::Null,
                Datum::Null,
                Datum::Null,
                text(state),
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Text(query.into()),
                Datum::Text(btype.into()),
            ]
        };
        Ok(Some(VirtualRelation {
            columns,
            rows: vec![
                row(
                    100,
                    Some("db1"),
                    Some("active"),
                    "SELECT * FROM pg_stat_activity",
                    "client backend",
                ),
                row(101, Some("db1"), Some("idle"), "SELECT 1", "client backend"),
                row(102, Some("x"), Some("idle"), "COMMIT", "client backend"),
                row(
                    103,
                    Some("x"),
                    Some("active"),
                    "autovacuum: VACUUM t",
                    "autovacuum worker",
                ),
                row(50, None, None, "", "checkpointer"),
            ],
        }))
    }
    fn in_transaction_block(&self) -> bool {
        self.in_transaction
    }
    fn transaction(&mut self, request: TransactionRequest) -> PgResult<String> {
        self.transactions.push(request);
        match (request, self.in_transaction) {
            (TransactionRequest::Begin, false) => self.settings.at_transaction_start(),
            (TransactionRequest::Commit, true) => self.settings.at_transaction_end(true),
            (TransactionRequest::Rollback, true) => self.settings.at_transaction_end(false),
            _ => {}
        }
        self.in_transaction = request == TransactionRequest::Begin;
        Ok(match request {
            TransactionRequest::Begin => "BEGIN",
            TransactionRequest::Commit => "COMMIT",
            TransactionRequest::Rollback => "ROLLBACK",
        }
        .into())
    }
}

/// Runs a query string; returns psql-like text: `name|name` header, rows,
/// or `ERROR sqlstate: message @position`.
pub(crate) fn run(b: &mut TestBackend, sql: &str) -> String {
    let stmts = match parse(sql) {
        Ok(s) => s,
        Err(e) => return format_error(&e),
    };
    let mut out = Vec::new();
    for s in &stmts {
        match execute(b, s) {
            Ok(Outcome::Rows { fields, rows, .. }) => {
                out.push(
                    fields
                        .iter()
                        .map(|f| f.name.clone())
                        .collect::<Vec<_>>()
                        .join("|"),
                );
                for r in rows {
                    out.push(
                        r.into_iter()
                            .map(|v| v.unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join("|"),
                    );
                }
            }
            Ok(Outcome::Command { tag }) => out.push(tag),
            Ok(Outcome::Empty) => out.push("EMPTY".into()),
            Err(e) => {
                out.push(format_error(&e));
                break;
            }
        }
    }
    out.join("\n")
}

fn format_error(e: &PgError) -> String {
    let mut s = format!("ERROR {}: {}", e.sqlstate, e.message);
    if let Some(p) = e.position {
        s.push_str(&format!(" @{p}"));
    }
    s
}

fn q(sql: &str) -> String {
    run(&mut TestBackend::new(), sql)
}

/// Value of a single-row, single-column query.
fn v(sql: &str) -> String {
    let out = q(sql);
    let mut lines = out.lines();
    lines.next();
    lines.next().unwrap_or(&out).to_string()
}

#[test]
fn arithmetic_and_operators_match_postgres() {
    assert_eq!(v("SELECT 1 + '2'"), "3");
    assert_eq!(v("SELECT 7 / 2, 7 % 3, -7 / 2"), "3|1|-3");
    assert_eq!(v("SELECT 10::numeric / 3"), "3.3333333333333333");
    assert_eq!(v("SELECT 1.50::numeric, 0.1 + 0.2"), "1.50|0.3");
    assert_eq!(
        v("SELECT 1/3::float8, 1e100::float8, 'inf'::float8"),
        "0.3333333333333333|1e+100|Infinity"
    );
    assert_eq!(v("SELECT 2 ^ 10, 5 / 2.0"), "1024|2.5000000000000000");
    assert_eq!(v("SELECT 'a' || 'b' || 1, 1 || 'x'"), "ab1|1x");
    assert_eq!(
        v("SELECT 2147483647::int8 + 1, -(-32768)::int8"),
        "2147483648|32768"
    );
}

#[test]
fn errors_carry_sqlstate_message_and_position() {
    assert_eq!(
        q("SELECT 'a' + 1"),
        "ERROR 22P02: invalid input syntax for type integer: \"a\" @8"
    );
    // Each statement is parsed on its own; positions still count from the
    // start of the whole string, in characters.
    assert_eq!(
        q("SELECT 'é'; SELECT 'a' + 1"),
        "?column?\né\nERROR 22P02: invalid input syntax for type integer: \"a\" @20"
    );
    assert_eq!(
        q("SELECT 2147483647 + 1"),
        "ERROR 22003: integer out of range"
    );
    assert_eq!(
        q("SELECT 9223372036854775807 + 1"),
        "ERROR 22003: bigint out of range"
    );
    assert_eq!(q("SELECT 1 / 0"), "ERROR 22012: division by zero");
    assert_eq!(
        q("SELECT 'abc'::int"),
        "ERROR 22P02: invalid input syntax for type integer: \"abc\" @8"
    );
    assert_eq!(
        q("SELECT '1' + '2'"),
        "ERROR 42725: operator is not unique: unknown + unknown @12"
    );
    assert_eq!(
        q("SELECT nosuch"),
        "ERROR 42703: column \"nosuch\" does not exist @8"
    );
    assert_eq!(
        q("SELECT nosuch(1)"),
        "ERROR 42883: function nosuch(integer) does not exist @8"
    );
    assert_eq!(
        q("SELECT * FROM nosuch"),
        "ERROR 42P01: relation \"nosuch\" does not exist @15"
    );
    assert_eq!(
        q("SELECT 1 FROM"),
        "ERROR 42601: syntax error at end of input @14"
    );
    assert_eq!(
        q("SELECT 12345.678::numeric(5,2)"),
        "ERROR 22003: numeric field overflow"
    );
    assert_eq!(
        q("SELECT true::int8"),
        "ERROR 42846: cannot cast type boolean to bigint @12"
    );
    assert_eq!(
        q("SELECT 1 WHERE 1"),
        "ERROR 42804: argument of WHERE must be type boolean, not type integer @16"
    );
}

#[test]
fn three_valued_logic_and_null_tests() {
    assert_eq!(
        v("SELECT NULL AND false, NULL OR true, NULL AND true, NOT NULL::bool"),
        "f|t||"
    );
    assert_eq!(
        v("SELECT NULL IS NULL, 1 IS NOT NULL, NULL::bool IS UNKNOWN, true IS NOT FALSE"),
        "t|t|t|t"
    );
    assert_eq!(
        v("SELECT 1 IN (1, NULL), 2 IN (1, NULL), 2 NOT IN (1, 3)"),
        "t||t"
    );
    assert_eq!(
        v("SELECT 2 BETWEEN 1 AND 3, 5 NOT BETWEEN 1 AND 3, 2 BETWEEN SYMMETRIC 3 AND 1"),
        "t|t|t"
    );
    assert_eq!(
        v("SELECT NULL IS DISTINCT FROM 1, 1 IS NOT DISTINCT FROM 1"),
        "t|t"
    );
}

#[test]
fn case_coalesce_and_friends() {
    assert_eq!(
        v("SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' END"),
        "b"
    );
    assert_eq!(
        v("SELECT CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END"),
        "two"
    );
    assert_eq!(
        v("SELECT COALESCE(NULL, 2, 3), NULLIF(1, 1), NULLIF(1, 2)"),
        "2||1"
    );
    assert_eq!(v("SELECT GREATEST(1, 2.5, 2), LEAST('b', 'a')"), "2.5|a");
    assert_eq!(
        q("SELECT CASE WHEN true THEN 1 ELSE 'x'::text END"),
        "ERROR 42804: CASE types text and integer cannot be matched @28"
    );
}

#[test]
fn like_and_string_functions() {
    assert_eq!(
        v(
            "SELECT 'abc' LIKE 'a%', 'abc' NOT LIKE '_b_', 'ABC' ILIKE 'a%', '50%' LIKE '50!%' ESCAPE '!'"
        ),
        "t|f|t|t"
    );
    assert_eq!(
        v("SELECT length('héllo'), upper('abc'), substr('hello', 2, 3), position('l' in 'hello')"),
        "5|ABC|ell|3"
    );
    // One character maps to one character, as PostgreSQL's towupper does.
    assert_eq!(
        v("SELECT upper('straße'), lower('STRASSE'), initcap('ßa'), upper('ŉ'), lower('ΌΣ')"),
        "STRAßE|strasse|ßa|ŉ|όσ"
    );
    assert_eq!(
        v("SELECT trim('  x  '), replace('aaa', 'a', 'b'), concat('a', NULL, 1)"),
        "x|bbb|a1"
    );
}

#[test]
fn output_column_names_follow_figure_colname() {
    let out = q(
        "SELECT 1::int, count(*), now() IS NOT NULL AS n, current_setting('TimeZone'), 1 + 1, CASE WHEN true THEN 1 END",
    );
    assert_eq!(
        out.lines().next().unwrap(),
        "int4|count|n|current_setting|?column?|case"
    );
    assert_eq!(
        q("SELECT user, current_user, current_catalog")
            .lines()
            .next()
            .unwrap(),
        "user|current_user|current_catalog"
    );
}

#[test]
fn timestamps_and_intervals() {
    assert_eq!(
        v("SELECT '2024-01-02 03:04:05+02'::timestamptz"),
        "2024-01-02 01:04:05+00"
    );
    assert_eq!(
        v("SELECT '2024-01-31'::timestamptz + interval '1 month'"),
        "2024-02-29 00:00:00+00"
    );
    assert_eq!(
        v("SELECT '2024-01-02'::timestamptz - '2024-01-01 22:00'::timestamptz"),
        "02:00:00"
    );
    assert_eq!(
        v("SELECT interval '1 day' + interval '2 hours', interval '1.5 seconds'"),
        "1 day 02:00:00|00:00:01.5"
    );
    assert_eq!(v("SELECT now()"), "2024-01-02 03:04:05+00");
}

#[test]
fn pg_stat_activity_example_queries() {
    let mut b = TestBackend::new();
    let out = run(
        &mut b,
        "SELECT pid, usename, datname, state, query, query_start, backend_start FROM pg_stat_activity;",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "pid|usename|datname|state|query|query_start|backend_start"
    );
    assert_eq!(
        lines[1],
        "100|alice|db1|active|SELECT * FROM pg_stat_activity|2024-01-02 03:04:05+00|2024-01-02 03:03:05+00"
    );
    assert_eq!(lines.len(), 6);

    let out = run(
        &mut b,
        "SELECT CASE WHEN query LIKE 'autovacuum%' THEN 'autovacuum' WHEN state = 'idle' THEN 'idle' ELSE 'active' END AS process_type, count(*) FROM pg_stat_activity WHERE pid != pg_backend_pid() GROUP BY process_type ORDER BY 1;",
    );
    assert_eq!(out, "process_type|count\nactive|1\nautovacuum|1\nidle|2");

    let out = run(
        &mut b,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'x' AND pid != pg_backend_pid();",
    );
    assert_eq!(out, "pg_terminate_backend\nt\nt");
    assert_eq!(b.signals, vec![(102, true), (103, true)]);
}

#[test]
fn grouping_ordering_and_limits() {
    let mut b = TestBackend::new();
    let out = run(
        &mut b,
        "SELECT datname, count(*) AS n FROM pg_stat_activity GROUP BY datname ORDER BY n DESC, datname NULLS FIRST",
    );
    assert_eq!(out, "datname|n\ndb1|2\nx|2\n|1");
    let out = run(
        &mut b,
        "SELECT pid FROM pg_stat_activity ORDER BY pid DESC LIMIT 2 OFFSET 1",
    );
    assert_eq!(out, "pid\n102\n101");
    let out = run(
        &mut b,
        "SELECT DISTINCT state FROM pg_stat_activity ORDER BY state",
    );
    assert_eq!(out, "state\nactive\nidle\n");
    let out = run(
        &mut b,
        "SELECT state FROM pg_stat_activity GROUP BY 1 HAVING count(*) > 1 ORDER BY 1",
    );
    assert_eq!(out, "state\nactive\nidle");
    let out = run(&mut b, "SELECT pid, count(*) FROM pg_stat_activity");
    assert_eq!(
        out,
        "ERROR 42803: column \"pg_stat_activity.pid\" must appear in the GROUP BY clause or be used in an aggregate function @8"
    );
    let out = run(
        &mut b,
        "SELECT sum(pid), avg(pid), min(datname), max(query_start), bool_and(pid > 0) FROM pg_stat_activity",
    );
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "456|91.2000000000000000|db1|2024-01-02 03:04:05+00|t"
    );
    let out = run(
        &mut b,
        "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE pid > 100",
    );
    assert_eq!(out.lines().nth(1).unwrap(), "101,102,103");
    let out = run(&mut b, "SELECT count(*) FROM pg_stat_activity WHERE false");
    assert_eq!(out, "count\n0");
    let out = run(
        &mut b,
        "SELECT a.pid FROM (SELECT pid FROM pg_stat_activity WHERE pid < 101) AS a",
    );
    assert_eq!(out, "pid\n100\n50");
}

#[test]
fn names_resolve_with_postgres_errors() {
    let mut b = TestBackend::new();
    assert_eq!(
        run(&mut b, "SELECT pidd FROM pg_stat_activity"),
        "ERROR 42703: column \"pidd\" does not exist @8"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT a.pid FROM pg_catalog.pg_stat_activity a WHERE a.pid = 50"
        ),
        "pid\n50"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT pg_stat_activity.pid FROM pg_stat_activity a"
        ),
        "ERROR 42P01: invalid reference to FROM-clause entry for table \"pg_stat_activity\" @8"
    );
}

#[test]
fn scans_check_for_interrupts() {
    let mut b = TestBackend::new();
    b.cancel_after_rows = Some(2);
    assert_eq!(
        run(&mut b, "SELECT count(*) FROM pg_stat_activity"),
        "ERROR 57014: canceling statement due to user request"
    );
}

#[test]
fn utility_statements() {
    let mut b = TestBackend::new();
    assert_eq!(run(&mut b, "SET TIME ZONE 'UTC+3'"), "SET");
    assert_eq!(run(&mut b, "SHOW timezone"), "TimeZone\nUTC+3");
    assert_eq!(
        run(&mut b, "SELECT '2024-01-01 00:00:00+00'::timestamptz"),
        "timestamptz\n2023-12-31 21:00:00-03"
    );
    assert_eq!(run(&mut b, "RESET TimeZone"), "RESET");
    assert_eq!(run(&mut b, "SET search_path = a, \"B\", public"), "SET");
    assert_eq!(
        run(&mut b, "SHOW search_path"),
        "search_path\na, \"B\", public"
    );
    assert_eq!(
        run(&mut b, "SET work_mem = 1, 2"),
        "ERROR 22023: SET work_mem takes only one argument"
    );
    assert_eq!(
        run(&mut b, "BEGIN; COMMIT; START TRANSACTION; ROLLBACK"),
        "BEGIN\nCOMMIT\nSTART TRANSACTION\nROLLBACK"
    );
    assert_eq!(
        run(&mut b, "ALTER SYSTEM SET work_mem = '8MB'"),
        "ALTER SYSTEM"
    );
    assert_eq!(
        b.alter_system_calls,
        vec![("work_mem".to_string(), Some("8MB".to_string()))]
    );
    b.superuser = false;
    assert_eq!(
        run(&mut b, "ALTER SYSTEM RESET ALL"),
        "ERROR 42501: permission denied to perform ALTER SYSTEM RESET ALL"
    );
    assert_eq!(
        run(
            &mut b,
            "SELECT set_config('work_mem', '2MB', false), current_setting('work_mem')"
        ),
        "set_config|current_setting\n2MB|2MB"
    );
    assert_eq!(
        run(&mut b, "SELECT current_setting('nosuch', true) IS NULL"),
        "?column?\nt"
    );
    assert!(run(&mut b, "CREATE TABLE t (a int) INHERITS (u)").starts_with("ERROR 0A000"));
    assert_eq!(run(&mut b, "SELECT pg_sleep(0.5)"), "pg_sleep\n");
    assert_eq!(b.slept, 0.5);
}

#[test]
fn command_tags_name_statements() {
    let tag = |s: &str| command_tag(&parse(s).unwrap()[0]);
    assert_eq!(tag("SELECT 1"), "SELECT");
    assert_eq!(tag("SET x = 1"), "SET");
    assert_eq!(tag("RESET ALL"), "RESET");
    assert_eq!(tag("SHOW ALL"), "SHOW");
    assert_eq!(tag("END"), "COMMIT");
    assert_eq!(tag("ABORT"), "ROLLBACK");
    assert_eq!(tag("ALTER SYSTEM SET x = 1"), "ALTER SYSTEM");
    assert_eq!(tag("CREATE TABLE t (a int)"), "CREATE TABLE");
    assert_eq!(tag("INSERT INTO t VALUES (1)"), "INSERT");
    // Statement kinds ferrogres does not run still get PostgreSQL's tag,
    // which names them in "... is not supported by ferrogres yet".
    assert_eq!(tag("ALTER PUBLICATION p ADD TABLE t"), "ALTER PUBLICATION");
    assert_eq!(tag("ALTER TYPE e ADD VALUE 'x'"), "ALTER TYPE");
    assert_eq!(
        tag("CREATE OPERATOR CLASS c FOR TYPE int4 USING btree AS OPERATOR 1 <"),
        "CREATE OPERATOR CLASS"
    );
    assert_eq!(
        tag("CREATE RULE r AS ON INSERT TO t DO NOTHING"),
        "CREATE RULE"
    );
    assert_eq!(
        tag("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC"),
        "ALTER DEFAULT PRIVILEGES"
    );
    assert_eq!(tag("ALTER TABLE t RENAME TO u"), "ALTER TABLE");
    assert_eq!(tag("ALTER FUNCTION f() OWNER TO x"), "ALTER FUNCTION");
    assert_eq!(
        tag("DROP OPERATOR CLASS c USING btree"),
        "DROP OPERATOR CLASS"
    );
    assert_eq!(
        tag("CREATE AGGREGATE a (sfunc = f, stype = int)"),
        "CREATE AGGREGATE"
    );
    assert_eq!(tag("DISCARD ALL"), "DISCARD ALL");
    assert_eq!(tag("CLOSE ALL"), "CLOSE CURSOR ALL");
    assert_eq!(tag("SECURITY LABEL ON TABLE t IS 'x'"), "SECURITY LABEL");
    let unsupported = q("ALTER PUBLICATION p ADD TABLE t");
    assert_eq!(
        unsupported,
        "ERROR 0A000: ALTER PUBLICATION is not supported by ferrogres yet"
    );
}

#[test]
fn row_description_types() {
    let mut b = TestBackend::new();
    let s = parse("SELECT 1, 1.5, 'a', 1::int8, now(), 2.5::numeric(10,2), pg_backend_pid(), datname FROM pg_stat_activity LIMIT 1")
        .unwrap();
    let Ok(Outcome::Rows { fields, .. }) = execute(&mut b, &s[0]) else {
        panic!("rows")
    };
    let oids: Vec<u32> = fields.iter().map(|f| f.type_oid).collect();
    assert_eq!(oids, vec![23, 1700, 25, 20, 1184, 1700, 23, 19]);
    assert_eq!(fields[5].typmod, (10 << 16 | 2) + 4);
}

#[test]
fn values_set_operations_and_subqueries() {
    assert_eq!(q("VALUES (1, 'a'), (2, 'b')"), "column1|column2\n1|a\n2|b");
    assert_eq!(
        q("VALUES (1), ('a')"),
        "ERROR 22P02: invalid input syntax for type integer: \"a\" @14"
    );
    assert_eq!(
        q("VALUES (1, 2), (3)"),
        "ERROR 42601: VALUES lists must all be the same length @17"
    );
    assert_eq!(
        q("SELECT x, count(*) FROM (VALUES (1), (2), (1)) v(x) GROUP BY x ORDER BY x"),
        "x|count\n1|2\n2|1"
    );
    assert_eq!(
        q("SELECT 1 AS a UNION SELECT 2 UNION SELECT 1 ORDER BY a DESC"),
        "a\n2\n1"
    );
    assert_eq!(q("SELECT 1 UNION ALL SELECT 1"), "?column?\n1\n1");
    assert_eq!(
        q("SELECT 1 UNION SELECT 2.5 ORDER BY 1"),
        "?column?\n1\n2.5"
    );
    assert_eq!(
        q("SELECT x FROM (VALUES (1), (1), (2)) v(x) EXCEPT ALL SELECT 1"),
        "x\n1\n2"
    );
    assert_eq!(
        q("SELECT 1 UNION SELECT true"),
        "ERROR 42804: UNION types integer and boolean cannot be matched @23"
    );
    assert_eq!(
        q("SELECT (SELECT 1), EXISTS (SELECT 1 WHERE false), 2 IN (SELECT 1 UNION SELECT 2)"),
        "?column?|exists|?column?\n1|f|t"
    );
    assert_eq!(
        q("SELECT (SELECT x FROM (VALUES (1), (2)) v(x))"),
        "ERROR 21000: more than one row returned by a subquery used as an expression"
    );
    // Correlated: re-run for each outer row.
    assert_eq!(
        q("SELECT x FROM (VALUES (1), (2)) v(x) WHERE EXISTS (SELECT 1 WHERE x = 1)"),
        "x\n1"
    );
}

#[test]
fn transaction_block_rules_follow_postgres() {
    let mut b = TestBackend::new();
    assert_eq!(run(&mut b, "SET LOCAL work_mem = '1MB'"), "SET");
    assert_eq!(b.notices.len(), 1);
    assert_eq!(
        b.notices[0].message,
        "SET LOCAL can only be used in transaction blocks"
    );
    assert_eq!(
        run(&mut b, "SAVEPOINT a"),
        "ERROR 25P01: SAVEPOINT can only be used in transaction blocks"
    );
    assert_eq!(
        run(&mut b, "COMMIT AND CHAIN"),
        "ERROR 25P01: COMMIT AND CHAIN can only be used in transaction blocks"
    );
    assert_eq!(
        run(&mut b, "BEGIN; SET LOCAL work_mem = '2MB'; SHOW work_mem"),
        "BEGIN\nSET\nwork_mem\n2MB"
    );
    assert_eq!(b.notices.len(), 1);
    assert_eq!(
        run(&mut b, "COMMIT; SHOW work_mem"),
        "COMMIT\nwork_mem\n4MB"
    );
}

#[test]
fn joins_and_correlated_subqueries() {
    let l = "(VALUES (1, 'a'), (2, 'b'), (NULL, 'n')) l(k, x)";
    let r = "(VALUES (2, 'B'), (3, 'C'), (NULL, 'N')) r(k, y)";
    // Hash join (equality) and nested loop (inequality), all join kinds.
    assert_eq!(
        q(&format!("SELECT * FROM {l} JOIN {r} USING (k)")),
        "k|x|y\n2|b|B"
    );
    assert_eq!(
        q(&format!(
            "SELECT * FROM {l} FULL JOIN {r} USING (k) ORDER BY k, x, y"
        )),
        "k|x|y\n1|a|\n2|b|B\n3||C\n|n|\n||N"
    );
    assert_eq!(
        q(&format!(
            "SELECT x, y FROM {l} LEFT JOIN {r} ON l.k < r.k ORDER BY x, y"
        )),
        "x|y\na|B\na|C\nb|C\nn|"
    );
    assert_eq!(
        q(&format!(
            "SELECT x, y FROM {l} RIGHT JOIN {r} ON l.k = r.k AND x = 'z' ORDER BY y"
        )),
        "x|y\n|B\n|C\n|N"
    );
    // WHERE over the nullable side filters after the join.
    assert_eq!(
        q(&format!(
            "SELECT x FROM {l} LEFT JOIN {r} ON l.k = r.k WHERE y IS NULL ORDER BY x"
        )),
        "x\na\nn"
    );
    assert!(q(&format!("SELECT k FROM {l}, {r}")).starts_with("ERROR 42702"));
    assert!(q(&format!("SELECT * FROM {l}, {l}")).starts_with("ERROR 42712"));
    assert!(q(&format!("SELECT z.k FROM {l}")).starts_with("ERROR 42P01"));
    // Correlated subqueries, two levels deep.
    assert_eq!(
        q(&format!(
            "SELECT x, (SELECT count(*) FROM {r} WHERE r.k >= l.k) FROM {l} ORDER BY x"
        )),
        "x|count\na|2\nb|2\nn|0"
    );
    assert_eq!(
        q(&format!(
            "SELECT x FROM {l} WHERE EXISTS (SELECT 1 FROM {r} WHERE EXISTS (SELECT 1 WHERE r.k = l.k + 1)) ORDER BY x"
        )),
        "x\na\nb"
    );
    assert_eq!(
        q(&format!(
            "SELECT x, k NOT IN (SELECT k FROM {r} WHERE r.k > l.k OR r.k IS NULL) FROM {l} ORDER BY x"
        )),
        "x|?column?\na|\nb|\nn|"
    );
}

/// The plan of a SELECT, for tests of the planner's choices.
fn plan_of(sql: &str) -> plan::Plan {
    let mut b = TestBackend::new();
    let s = parser::parse(sql).expect("parses");
    let pg_query::NodeEnum::SelectStmt(sel) = &s[0].node else {
        panic!("a SELECT")
    };
    let fmt = exec::session_format(&mut b);
    let mut a = analyze::Analyzer {
        ctx: &mut b,
        source: s[0].parsed_text(),
        fmt,
        subqueries: Vec::new(),
        outer: Default::default(),
        modify_ctes: Vec::new(),
        query_depth: 0,
    };
    let q = a.analyze_select(sel).expect("analyses");
    plan::plan_query(q).plan
}

/// The plan's node names, depth first (for shape assertions).
fn plan_shape(p: &plan::Plan) -> String {
    use plan::Plan;
    let (name, kids): (&str, Vec<&Plan>) = match p {
        Plan::Labeled { input, .. } => return plan_shape(input),
        Plan::NestLoop { left, right, .. } => ("NestLoop", vec![left, right]),
        Plan::HashJoin { left, right, .. } => ("HashJoin", vec![left, right]),
        Plan::LateralLoop { left, right, .. } => ("LateralLoop", vec![left, right]),
        Plan::Filter { input, .. } => ("Filter", vec![input]),
        Plan::Project { input, .. } => ("Project", vec![input]),
        Plan::Sort { input, .. } => ("Sort", vec![input]),
        Plan::ValuesScan { .. } | Plan::SubqueryScan { .. } => ("Values", vec![]),
        Plan::FunctionScan { .. } => ("Function", vec![]),
        _ => ("Other", vec![]),
    };
    if kids.is_empty() {
        return name.to_string();
    }
    let inner: Vec<String> = kids.into_iter().map(plan_shape).collect();
    format!("{name}({})", inner.join(", "))
}

#[test]
fn planner_picks_join_methods_and_pushes_quals() {
    let l = "(VALUES (1, 'a')) l(k, x)";
    let r = "(VALUES (2, 'B')) r(k, y)";
    // An equality between the sides: hash join; WHERE over one side goes below it.
    assert_eq!(
        plan_shape(&plan_of(&format!(
            "SELECT * FROM {l} JOIN {r} ON l.k = r.k WHERE x = 'a' AND y > 'A'"
        ))),
        "Project(HashJoin(Filter(Values), Filter(Values)))"
    );
    // No equality: nested loop, the cross-side qual inside the join.
    assert_eq!(
        plan_shape(&plan_of(&format!("SELECT * FROM {l}, {r} WHERE l.k < r.k"))),
        "Project(NestLoop(Values, Values))"
    );
    // WHERE over the nullable side of a LEFT JOIN stays above it; ON over it goes below.
    assert_eq!(
        plan_shape(&plan_of(&format!(
            "SELECT * FROM {l} LEFT JOIN {r} ON l.k = r.k AND y = 'B' WHERE y IS NULL AND x = 'a'"
        ))),
        "Project(Filter(HashJoin(Filter(Values), Filter(Values))))"
    );
    // FULL JOIN: nothing moves.
    assert_eq!(
        plan_shape(&plan_of(&format!(
            "SELECT * FROM {l} FULL JOIN {r} ON l.k = r.k AND x = 'a' WHERE y = 'B'"
        ))),
        "Project(Filter(HashJoin(Values, Values)))"
    );
    assert_eq!(
        plan_shape(&plan_of(&format!(
            "SELECT * FROM {l}, generate_series(1, l.k) g"
        ))),
        "Project(LateralLoop(Values, Function))"
    );
}

#[test]
fn drop_type_checks_the_owner_of_each_type_in_order() {
    let mut b = TestBackend::new();
    assert_eq!(
        run(&mut b, "DROP TYPE int4"),
        "ERROR 2BP01: cannot drop type integer because it is required by the database system"
    );
    b.superuser = false;
    assert_eq!(
        run(&mut b, "DROP TYPE int4, nosuch"),
        "ERROR 42501: must be owner of type integer"
    );
    assert_eq!(
        run(&mut b, "DROP TYPE IF EXISTS nosuch, text"),
        "ERROR 42501: must be owner of type text"
    );
    assert_eq!(
        run(&mut b, "DROP DOMAIN int4"),
        "ERROR 42809: \"int4\" is not a domain"
    );
}

#[test]
fn type_ddl_not_built_yet_names_the_kind_of_type() {
    let mut b = TestBackend::new();
    for (sql, what) in [
        (
            "CREATE TYPE c AS (a int, b text)",
            "CREATE TYPE ... AS (...) (composite types)",
        ),
        ("CREATE DOMAIN d AS int CHECK (VALUE > 0)", "CREATE DOMAIN"),
        ("ALTER DOMAIN d SET NOT NULL", "ALTER DOMAIN"),
        ("CREATE TYPE shell", "CREATE TYPE name (shell types)"),
        (
            "CREATE TYPE b (INPUT = b_in, OUTPUT = b_out)",
            "CREATE TYPE name (INPUT = ..., OUTPUT = ...) (base types)",
        ),
    ] {
        assert_eq!(
            run(&mut b, sql),
            format!("ERROR 0A000: {what} is not supported by ferrogres yet"),
            "{sql}"
        );
    }
}
