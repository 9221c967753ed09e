//! The catalogs as the tools read them: pgjdbc's `DatabaseMetaData`
//! (getTables, getColumns, getSchemas, getTableTypes) against ferrogres,
//! compared with what it prints against PostgreSQL 15. psql's describe
//! commands are compared statement by statement in
//! `tests/differential/psql_describe.sql`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// What `tests/drivers/jdbc/MetaCheck.java` prints against PostgreSQL 15,
/// except `getSchemas`: ferrogres has no `information_schema` yet.
const EXPECTED: &str = "\
table|public|jmeta_a|TABLE|null
table|public|jmeta_b|TABLE|null
column|jmeta_a|id|4|int4|10|0|0|null|1|NO
column|jmeta_a|name|12|text|2147483647|0|1|null|2|YES
column|jmeta_a|price|2|numeric|10|2|1|null|3|YES
column|jmeta_a|at|93|timestamptz|35|6|1|null|4|YES
column|jmeta_a|tags|2003|_text|2147483647|0|1|null|5|YES
column|jmeta_b|x|-5|int8|19|0|1|7|1|YES
column|jmeta_b|y|12|varchar|20|0|1|null|2|YES
schema|pg_catalog
schema|public
tabletype|FOREIGN TABLE
tabletype|INDEX
tabletype|MATERIALIZED VIEW
tabletype|PARTITIONED INDEX
tabletype|PARTITIONED TABLE
tabletype|SEQUENCE
tabletype|SYSTEM INDEX
tabletype|SYSTEM TABLE
tabletype|SYSTEM TOAST INDEX
tabletype|SYSTEM TOAST TABLE
tabletype|SYSTEM VIEW
tabletype|TABLE
tabletype|TEMPORARY INDEX
tabletype|TEMPORARY SEQUENCE
tabletype|TEMPORARY TABLE
tabletype|TEMPORARY VIEW
tabletype|TYPE
tabletype|VIEW";

#[test]
fn pgjdbc_database_metadata_lists_tables_and_columns() {
    const JAR: &str = "/usr/share/java/postgresql.jar";
    assert!(
        Path::new(JAR).exists(),
        "pgjdbc is not installed: run scripts/deps.sh (Debian libpostgresql-jdbc-java)"
    );
    let s = Server::builder()
        .hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        .start();
    let classes = TempDir::new("jdbc-meta");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers/jdbc/MetaCheck.java");
    let out = Command::new("javac")
        .arg("-d")
        .arg(&classes.0)
        .arg(&src)
        .output()
        .expect("javac is not installed (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{JAR}:{}", classes.0.display()))
        .arg("MetaCheck")
        .arg(s.port.to_string())
        .output()
        .expect("java is not installed (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "MetaCheck failed: {}{}\n--- log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), EXPECTED);
}
