//! System catalogs. Until the storage issue makes them heap tables, the
//! list of databases is kept in `global/pg_database` as text lines
//! `oid name allow_connections`, written by initdb; roles live in
//! `global/pg_authid` (see `crate::backend::auth::roles`). Both stand-ins
//! are read at connection time, never cached across connections.

use std::path::Path;

/// One row of the stand-in `pg_database`.
#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    pub oid: u32,
    pub name: String,
    pub allow_connections: bool,
}

/// The databases initdb creates, with PostgreSQL's OIDs.
pub fn initial_databases() -> Vec<Database> {
    vec![
        Database {
            oid: 1,
            name: "template1".into(),
            allow_connections: true,
        },
        Database {
            oid: 4,
            name: "template0".into(),
            allow_connections: false,
        },
        Database {
            oid: 5,
            name: "postgres".into(),
            allow_connections: true,
        },
    ]
}

pub fn load_databases(data_dir: &Path) -> std::io::Result<Vec<Database>> {
    let text = std::fs::read_to_string(data_dir.join("global/pg_database"))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let oid = parts.next()?.parse().ok()?;
            let name = parts.next()?.to_string();
            let allow_connections = parts.next() != Some("f");
            Some(Database {
                oid,
                name,
                allow_connections,
            })
        })
        .collect())
}

pub fn write_databases(data_dir: &Path, dbs: &[Database]) -> std::io::Result<()> {
    let mut text = String::from(
        "# oid name allow_connections (stand-in for pg_database until the heap catalogs exist)\n",
    );
    for d in dbs {
        text.push_str(&format!(
            "{} {} {}\n",
            d.oid,
            d.name,
            if d.allow_connections { "t" } else { "f" }
        ));
    }
    std::fs::write(data_dir.join("global/pg_database"), text)
}
