//! The audit of `pg_settings` (issue 13, part 3): every parameter either has
//! its PostgreSQL effect or, set to a non-default value, raises a WARNING
//! naming it as not implemented — and the README lists exactly those.
//!
//! The walk sets every settable parameter of a real server's `pg_settings`
//! to a value other than its default, through psql: `SET` for parameters a
//! session may change, `ALTER SYSTEM SET` (validated like SET, applied only
//! at a reload the test never sends) for the others.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

/// Values for string parameters (whose valid values the test cannot guess)
/// and for parameters whose generic non-default value would not do.
fn chosen_value(name: &str) -> Option<&'static str> {
    Some(match name {
        "application_name" => "audit",
        "client_encoding" => "LATIN1",
        "cluster_name" => "audit",
        "DateStyle" => "ISO, DMY",
        "default_table_access_method" => "heap",
        "default_text_search_config" => "pg_catalog.english",
        "listen_addresses" => "127.0.0.1",
        "log_destination" => "csvlog",
        "log_line_prefix" => "%m [%p] audit ",
        "log_timezone" | "TimeZone" => "Europe/Paris",
        "recovery_target" => "immediate",
        "recovery_target_lsn" => "0/1000000",
        "recovery_target_time" => "2026-01-01 00:00:00+00",
        "recovery_target_timeline" => "1",
        "recovery_target_xid" => "1000",
        "restrict_nonsystem_relation_kind" => "view",
        "role" | "session_authorization" => "postgres",
        "search_path" => "public",
        "seed" => "0.5",
        "wal_level" => "logical",
        "timezone_abbreviations" => "India",
        "unix_socket_directories" => "/tmp",
        "unix_socket_group" => "0",
        "wal_consistency_checking" => "heap",
        "ssl_min_protocol_version" => "TLSv1.3",
        "ssl_max_protocol_version" => "TLSv1.3",
        "ssl_ecdh_curve" => "secp384r1",
        "ssl_ciphers" => "HIGH",
        "synchronous_standby_names" => "s1",
        // -1 and 0 mean "off" for these; pick a real size.
        "log_rotation_size" => "1000",
        _ => return None,
    })
}

struct Row {
    name: String,
    context: String,
    vartype: String,
    boot: String,
    min: Option<String>,
    max: Option<String>,
    enumvals: Vec<String>,
}

/// A locale of this machine other than C and POSIX, if it has one.
fn other_locale() -> Option<String> {
    let out = Command::new("locale").arg("-a").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("C") && *l != "POSIX")
        .map(String::from)
}

/// A value other than the boot value, valid for the parameter; None if
/// there is none: a range of one value (`debug_discard_caches` in a build
/// without cache-clobbering support, as in PostgreSQL), or a locale
/// parameter on a machine with only the C locales.
fn non_default(r: &Row) -> Option<String> {
    if let Some(v) = chosen_value(&r.name) {
        return Some(v.to_string());
    }
    if r.name.starts_with("lc_") {
        return other_locale();
    }
    Some(match r.vartype.as_str() {
        "bool" => if r.boot == "on" { "off" } else { "on" }.to_string(),
        "integer" => {
            let boot: i64 = r.boot.parse().unwrap();
            let min: i64 = r.min.as_ref().unwrap().parse().unwrap();
            let max: i64 = r.max.as_ref().unwrap().parse().unwrap();
            [boot * 2, boot + 1000, boot + 1, boot - 1, max, min]
                .into_iter()
                .find(|v| *v != boot && *v >= min && *v <= max)?
                .to_string()
        }
        "real" => {
            let boot: f64 = r.boot.parse().unwrap();
            let min: f64 = r.min.as_ref().unwrap().parse().unwrap();
            let max: f64 = r.max.as_ref().unwrap().parse().unwrap();
            [boot * 0.5, boot + 0.25, boot * 2.0, max, min]
                .into_iter()
                .find(|v| *v != boot && *v >= min && *v <= max)
                .unwrap_or_else(|| panic!("no non-default value for {}", r.name))
                .to_string()
        }
        "enum" => r
            .enumvals
            .iter()
            .find(|v| **v != r.boot)
            .unwrap_or_else(|| panic!("no non-default value for {}", r.name))
            .clone(),
        // Commands, file names and the like accept any string.
        _ => "audit_value".to_string(),
    })
}

fn rows(server: &Server) -> Vec<Row> {
    let out = server.psql(
        "SELECT name, context, vartype, coalesce(boot_val, ''), coalesce(min_val, ''), \
         coalesce(max_val, ''), coalesce(enumvals::text, '') \
         FROM pg_settings WHERE context <> 'internal' ORDER BY name",
    );
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
            Row {
                name: f[0].into(),
                context: f[1].into(),
                vartype: f[2].into(),
                boot: f[3].into(),
                min: opt(f[4]),
                max: opt(f[5]),
                enumvals: f[6]
                    .trim_matches(|c| c == '{' || c == '}')
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim_matches('"').to_string())
                    .collect(),
            }
        })
        .collect()
}

/// The names listed in the README between the audit markers.
fn readme_list() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let start = readme
        .find("<!-- settings-audit:begin -->")
        .expect("README has the settings-audit list");
    let end = readme
        .find("<!-- settings-audit:end -->")
        .expect("README closes the settings-audit list");
    readme[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .map(|l| l.split('`').next().unwrap().to_string())
        .collect()
}

/// Parameters that cannot be written with ALTER SYSTEM at all, as in
/// PostgreSQL (`parameter "x" cannot be changed`), and `bonjour`, whose
/// `on` is refused as by a PostgreSQL built without Bonjour.
const NOT_ALTERABLE: &[&str] = &["bonjour", "config_file", "data_directory"];

#[test]
fn every_parameter_either_works_or_warns_and_the_readme_lists_the_warnings() {
    let server = Server::start();
    let mut rows = rows(&server);
    assert!(
        rows.len() > 300,
        "pg_settings has only {} settable rows",
        rows.len()
    );
    // `seed` is hidden from pg_settings (GUC_NO_SHOW_ALL), as in PostgreSQL.
    rows.push(Row {
        name: "seed".into(),
        context: "user".into(),
        vartype: "real".into(),
        boot: "0".into(),
        min: Some("-1".into()),
        max: Some("1".into()),
        enumvals: Vec::new(),
    });

    // One statement per line, so psql's "psql:FILE:LINE:" names the parameter.
    let mut script = String::new();
    let mut by_line = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let Some(value) = non_default(r) else {
            script.push_str("SELECT 1;\n");
            continue;
        };
        let value = value.replace('\'', "''");
        let stmt = if matches!(r.context.as_str(), "user" | "superuser") {
            format!(
                "SET {} = '{value}'; RESET {};",
                quoted(&r.name),
                quoted(&r.name)
            )
        } else {
            format!("ALTER SYSTEM SET {} = '{value}';", quoted(&r.name))
        };
        script.push_str(&stmt);
        script.push('\n');
        by_line.insert(i + 1, r.name.clone());
    }
    let file = server.dir.0.join("audit.sql");
    std::fs::write(&file, &script).unwrap();
    let out = Command::new(PSQL)
        .args(["-X", "-q", "-h"])
        .arg(&server.socket_dir)
        .args([
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-f",
        ])
        .arg(&file)
        .output()
        .expect("run psql");
    let stderr = String::from_utf8_lossy(&out.stderr);

    let mut warned = BTreeSet::new();
    let mut failed = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix(&format!("psql:{}:", file.display())) else {
            continue;
        };
        let (num, msg) = rest.split_once(':').unwrap();
        let name = &by_line[&num.parse::<usize>().unwrap()];
        let msg = msg.trim();
        if let Some(w) = msg.strip_prefix("WARNING:") {
            // Other warnings (SET TRANSACTION outside a block) are PostgreSQL's.
            if w.contains("is not implemented by ferrogres") {
                let expected = format!("parameter \"{name}\" is not implemented by ferrogres");
                assert!(
                    w.contains(&expected),
                    "line {num}: unexpected warning {w:?}"
                );
                warned.insert(name.to_lowercase());
            }
        } else if msg.starts_with("ERROR:") {
            failed.push(format!("{name}: {msg}"));
        }
    }
    let unexpected: Vec<&String> = failed
        .iter()
        .filter(|f| {
            !NOT_ALTERABLE
                .iter()
                .any(|n| f.starts_with(&format!("{n}: ")))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "setting these to a non-default value failed:\n{unexpected:#?}\n--- script ---\n{script}"
    );

    // What cannot be set at all cannot warn: those the README lists are
    // checked by the unit tests of utils/guc/unimplemented.rs instead.
    let mut listed = readme_list();
    listed.retain(|n| !NOT_ALTERABLE.contains(&n.as_str()));
    if other_locale().is_none() {
        listed.retain(|n| !n.starts_with("lc_"));
    }
    let missing: Vec<_> = listed.difference(&warned).collect();
    let extra: Vec<_> = warned.difference(&listed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README lists these but they did not warn: {missing:?}\n\
         these warned but the README does not list them: {extra:?}"
    );
    // The server is still fine: nothing of the walk took it down.
    assert_eq!(server.psql("SELECT 1"), "1");
}

fn quoted(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

#[test]
fn files_command_line_and_startup_options_warn_too() {
    let server = Server::builder()
        .conf("enable_seqscan = off")
        .conf("wal_compression = on")
        .start();
    assert!(
        server.wait_for_log(
            "WARNING:  parameter \"enable_seqscan\" is not implemented by ferrogres",
            Duration::from_secs(5)
        ),
        "no warning for a file setting:\n{}",
        server.log()
    );
    assert!(
        server
            .log()
            .contains("parameter \"wal_compression\" is not implemented")
    );
    // Implemented parameters are silent.
    assert!(!server.log().contains("\"port\" is not implemented"));

    // A startup option: the client sees the WARNING before its first query.
    let out = Command::new(PSQL)
        .args(["-X", "-A", "-t", "-h"])
        .arg(&server.socket_dir)
        .args([
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-c", "SHOW enable_hashjoin"])
        .env("PGOPTIONS", "-c enable_hashjoin=off -c work_mem=8MB")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "off");
    assert!(
        stderr.contains("WARNING:  parameter \"enable_hashjoin\" is not implemented by ferrogres")
            && stderr.contains("DETAIL:  ferrogres has no cost-based planner yet"),
        "{stderr}"
    );
    assert!(!stderr.contains("work_mem"), "{stderr}");

    // SET to the default value is silent; to another value warns each time.
    let out = server.psql_output(
        "SET enable_sort = on; SET jit = off; SET enable_sort = off",
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("is not implemented").count(), 1, "{stderr}");
    assert!(stderr.contains("\"enable_sort\""), "{stderr}");
}

#[test]
fn unix_socket_permissions_and_cluster_name_take_effect() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::builder()
        .conf("unix_socket_permissions = 0700")
        .conf("cluster_name = 'audit'")
        .start();
    let sock = server.socket_dir.join(format!(".s.PGSQL.{}", server.port));
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(
        server
            .children()
            .iter()
            .any(|(_, t)| t == "ferrogres: audit: checkpointer"),
        "{:?}",
        server.children()
    );
}

#[test]
fn hba_file_on_the_command_line_is_the_one_read() {
    // `-c` is applied before the files, as PostgreSQL's SelectConfigFiles
    // does, so the default location no longer hides it.
    let dir = TempDir::new("hbafile");
    let data = dir.0.join("data");
    let init = Command::new(BIN)
        .args(["initdb", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let sock = dir.0.join("sock");
    std::fs::create_dir_all(&sock).unwrap();
    let alt = dir.0.join("alt_hba.conf");
    std::fs::write(&alt, "local all all reject\n").unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["server", "-D"])
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&sock)
        .arg("-c")
        .arg(format!("hba_file={}", alt.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let try_connect = || {
        Command::new(PSQL)
            .args(["-X", "-A", "-t", "-h"])
            .arg(&sock)
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                "SELECT 1",
            ])
            .output()
            .unwrap()
    };
    let mut stderr = String::new();
    let refused = wait_until(Duration::from_secs(30), || {
        stderr = String::from_utf8_lossy(&try_connect().stderr).into_owned();
        stderr.contains("pg_hba.conf rejects connection")
    });
    kill(child.id() as i32, 15);
    let _ = child.wait();
    assert!(
        refused,
        "the alternative pg_hba.conf was not used: {stderr}"
    );
}
