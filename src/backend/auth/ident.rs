//! pg_ident.conf: user name maps, PostgreSQL 15's `check_usermap()`.
//!
//! ```text
//! # MAPNAME   SYSTEM-USERNAME          PG-USERNAME
//! certmap     "CN=alice,O=Example"     alice
//! certmap     bob                      robert
//! ```
//!
//! A `map=NAME` option on a pg_hba.conf line (the `cert` method, or
//! `clientcert=verify-full`) lets the authenticated name (the certificate's
//! CN or DN) log in as the database user when a line of map NAME pairs the
//! two exactly. Without `map`, the two names must be equal.
//!
//! The file is tokenized like pg_hba.conf (quotes, `#` comments, `@file`).
//! It is read by the postmaster at start and at SIGHUP with pg_hba.conf, and
//! inherited by backends. A missing file is an empty map (PostgreSQL starts
//! without one too), a malformed one keeps the previous maps.
//!
//! Difference from PostgreSQL: a system user name starting with `/` is a
//! regular expression there; ferrogres has no regular-expression engine yet,
//! so such a line is reported at load (a warning) and never matches.

use std::path::Path;

use super::hba::{Tokenizer, config_error, os_error_text};
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// One `MAPNAME SYSTEM-USERNAME PG-USERNAME` line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct IdentLine {
    map: String,
    system_user: String,
    pg_user: String,
}

/// The parsed pg_ident.conf.
#[derive(Clone, Debug, Default)]
pub struct IdentFile {
    lines: Vec<IdentLine>,
    warnings: Vec<PgError>,
}

impl IdentFile {
    /// Reads the file; a file that does not exist is an empty map.
    pub fn load(path: &Path) -> PgResult<IdentFile> {
        let shown = path.display().to_string();
        let text = match std::fs::read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IdentFile::default()),
            Err(e) => {
                return Err(PgError::new(
                    Severity::Log,
                    sqlstate::CONFIG_FILE_ERROR,
                    format!(
                        "could not open usermap file \"{shown}\": {}",
                        os_error_text(&e)
                    ),
                ));
            }
        };
        IdentFile::parse(&text, &shown)
    }

    /// `parse_ident_line()` for every line; the first error fails the file.
    pub fn parse(text: &str, path_for_messages: &str) -> PgResult<IdentFile> {
        let tokenizer = Tokenizer {
            base_dir: Path::new(path_for_messages).parent().map(Path::to_path_buf),
        };
        let mut file = IdentFile::default();
        for (line_number, _raw, fields) in tokenizer.tokenize(text, path_for_messages, 0)? {
            let err = |m: &str| config_error(m, line_number, path_for_messages);
            let mut values = Vec::with_capacity(3);
            for field in fields.iter().take(3) {
                if field.len() != 1 {
                    return Err(err("multiple values in ident field"));
                }
                values.push(field[0].string.clone());
            }
            if values.len() < 3 {
                return Err(err("missing entry at end of line"));
            }
            let [map, system_user, pg_user] =
                <[String; 3]>::try_from(values).expect("three values checked above");
            if system_user.starts_with('/') {
                file.warnings.push(err(
                    "regular expressions in pg_ident.conf are not supported by ferrogres; this line never matches",
                ));
            }
            file.lines.push(IdentLine {
                map,
                system_user,
                pg_user,
            });
        }
        Ok(file)
    }

    /// Complaints for the log at load.
    pub fn warnings(&self) -> &[PgError] {
        &self.warnings
    }

    /// `check_usermap()`: may `auth_user` (the authenticated name) log in as
    /// `pg_role`? `Err` is the log-only reason.
    pub fn check_usermap(
        &self,
        map: Option<&str>,
        pg_role: &str,
        auth_user: &str,
    ) -> Result<(), String> {
        match map.filter(|m| !m.is_empty()) {
            None if pg_role == auth_user => Ok(()),
            None => Err(format!(
                "provided user name ({pg_role}) and authenticated user name ({auth_user}) do not match"
            )),
            Some(map) => {
                let found = self.lines.iter().any(|l| {
                    l.map == map
                        && !l.system_user.starts_with('/')
                        && l.system_user == auth_user
                        && l.pg_user == pg_role
                });
                if found {
                    Ok(())
                } else {
                    Err(format!(
                        "no match in usermap \"{map}\" for user \"{pg_role}\" authenticated as \"{auth_user}\""
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pair_exact_names_and_report_failures_as_postgresql() {
        let f = IdentFile::parse(
            "# comment\ncertmap \"CN=alice,O=Example\" alice\ncertmap bob robert\nother /^(.*)$ \\1\n",
            "/data/pg_ident.conf",
        )
        .unwrap();
        assert_eq!(f.warnings().len(), 1);
        assert!(f.check_usermap(Some("certmap"), "robert", "bob").is_ok());
        assert!(
            f.check_usermap(Some("certmap"), "alice", "CN=alice,O=Example")
                .is_ok()
        );
        assert_eq!(
            f.check_usermap(Some("certmap"), "alice", "bob")
                .unwrap_err(),
            "no match in usermap \"certmap\" for user \"alice\" authenticated as \"bob\""
        );
        assert!(
            f.check_usermap(Some("other"), "x", "x").is_err(),
            "regex lines never match"
        );
        assert!(f.check_usermap(None, "x", "x").is_ok());
        assert_eq!(
            f.check_usermap(None, "x", "y").unwrap_err(),
            "provided user name (x) and authenticated user name (y) do not match"
        );
    }

    #[test]
    fn malformed_lines_fail_the_file() {
        let e = IdentFile::parse("certmap bob\n", "/data/pg_ident.conf").unwrap_err();
        assert_eq!(e.message, "missing entry at end of line");
        assert_eq!(
            e.detail.as_deref(),
            Some("line 1 of configuration file \"/data/pg_ident.conf\"")
        );
        let e = IdentFile::parse("certmap a,b c\n", "/data/pg_ident.conf").unwrap_err();
        assert_eq!(e.message, "multiple values in ident field");
        assert!(
            IdentFile::load(Path::new("/nonexistent/pg_ident.conf"))
                .unwrap()
                .lines
                .is_empty()
        );
    }
}
