//! Roles and their passwords, until the heap catalog exists.
//!
//! **Stand-in.** PostgreSQL keeps roles in the shared catalog `pg_authid`
//! (`global/1260`). Until ferrogres has real catalogs, the roles live in a
//! small text file, `DATA_DIR/global/pg_authid`, which this module reads and
//! rewrites whole. It will be replaced by the heap catalog; callers should
//! only go through [`load_roles`] / [`write_roles`] so the swap stays local.
//!
//! ## Format
//!
//! One role per line, in COPY text format (what `COPY pg_authid (oid,
//! rolname, rolsuper, rolcanlogin, rolpassword) TO STDOUT` would print):
//! five tab-separated columns, booleans as `t`/`f`, `\N` for a NULL password,
//! and backslash escapes (`\\`, `\t`, `\n`, `\r`) inside values. Lines that
//! start with `#` and empty lines are ignored; the writer puts one `#` header
//! line first.
//!
//! (columns shown aligned; in the file each separator is one tab)
//!
//! ```text
//! # ferrogres pg_authid stand-in: oid rolname rolsuper rolcanlogin rolpassword (COPY text format)
//! 10      postgres    t   t   \N
//! 16384   bob         f   t   SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$...:...
//! ```
//!
//! `rolpassword` holds what PostgreSQL stores there: a SCRAM secret
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` or an MD5 hash
//! `md5<32 hex digits>`, never a cleartext password.
//!
//! ## Crash safety and concurrency
//!
//! [`write_roles`] writes a temporary file in `global/`, fsyncs it, renames it
//! over `pg_authid` and fsyncs the directory: after a crash the file is
//! either the old or the new version, never a mix. The file has no lock:
//! writers (CREATE/ALTER/DROP ROLE) must be serialized by the caller, or the
//! last writer wins. Readers see a whole version because rename is atomic.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::scram::{SCRAM_DEFAULT_ITERATIONS, SCRAM_DEFAULT_SALT_LEN, ScramSecret, strong_random};

/// File name under `DATA_DIR/global/`.
pub const ROLES_FILE: &str = "pg_authid";

/// Roles file size bound: far above any real role list, small enough that a
/// corrupt or hostile file cannot exhaust a backend's memory.
const MAX_ROLES_FILE_BYTES: u64 = 64 * 1024 * 1024;

const HEADER: &str = "# ferrogres pg_authid stand-in: oid rolname rolsuper rolcanlogin rolpassword (COPY text format)";

/// One `pg_authid` row, the columns authentication needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub can_login: bool,
    /// `rolpassword`: `SCRAM-SHA-256$4096:salt$StoredKey:ServerKey` or `md5<hex>`.
    pub password: Option<String>,
}

/// Path of the roles file in a data directory.
pub fn roles_path(data_dir: &Path) -> PathBuf {
    data_dir.join("global").join(ROLES_FILE)
}

/// The role named `name`, if any (role names are case-sensitive, as in PostgreSQL).
pub fn find_role<'a>(roles: &'a [Role], name: &str) -> Option<&'a Role> {
    roles.iter().find(|r| r.name == name)
}

fn invalid_data(path: &Path, line: usize, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("line {line} of \"{}\": {what}", path.display()),
    )
}

/// Reads `DATA_DIR/global/pg_authid`. A missing file is an `io::ErrorKind::NotFound`
/// error (initdb creates it); a malformed one is `InvalidData` naming the line.
pub fn load_roles(data_dir: &Path) -> io::Result<Vec<Role>> {
    let path = roles_path(data_dir);
    let meta = fs::metadata(&path)?;
    if meta.len() > MAX_ROLES_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "\"{}\" is larger than {MAX_ROLES_FILE_BYTES} bytes",
                path.display()
            ),
        ));
    }
    let bytes = fs::read(&path)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("\"{}\" is not valid UTF-8", path.display()),
        )
    })?;
    parse_roles(&text, &path)
}

fn parse_roles(text: &str, path: &Path) -> io::Result<Vec<Role>> {
    let mut roles: Vec<Role> = Vec::new();
    for (idx, line) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 5 {
            return Err(invalid_data(
                path,
                line_no,
                format!("expected 5 tab-separated columns, found {}", fields.len()),
            ));
        }
        let oid: u32 = fields[0]
            .parse()
            .map_err(|_| invalid_data(path, line_no, format!("invalid oid \"{}\"", fields[0])))?;
        if oid == 0 {
            return Err(invalid_data(path, line_no, "oid 0 is InvalidOid"));
        }
        let name = unescape(fields[1])
            .ok_or_else(|| invalid_data(path, line_no, "invalid escape or NULL in rolname"))?;
        if name.is_empty() {
            return Err(invalid_data(path, line_no, "empty rolname"));
        }
        let superuser = parse_bool(fields[2]).ok_or_else(|| {
            invalid_data(path, line_no, format!("invalid rolsuper \"{}\"", fields[2]))
        })?;
        let can_login = parse_bool(fields[3]).ok_or_else(|| {
            invalid_data(
                path,
                line_no,
                format!("invalid rolcanlogin \"{}\"", fields[3]),
            )
        })?;
        let password = if fields[4] == "\\N" {
            None
        } else {
            Some(
                unescape(fields[4])
                    .ok_or_else(|| invalid_data(path, line_no, "invalid escape in rolpassword"))?,
            )
        };
        if roles.iter().any(|r| r.oid == oid) {
            return Err(invalid_data(path, line_no, format!("duplicate oid {oid}")));
        }
        if roles.iter().any(|r| r.name == name) {
            return Err(invalid_data(
                path,
                line_no,
                format!("duplicate rolname \"{name}\""),
            ));
        }
        roles.push(Role {
            oid,
            name,
            superuser,
            can_login,
            password,
        });
    }
    Ok(roles)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "t" => Some(true),
        "f" => Some(false),
        _ => None,
    }
}

/// COPY text escaping of one value.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

/// Inverse of [`escape`]; `None` for an unknown escape or a bare `\N`.
fn unescape(s: &str) -> Option<String> {
    if s == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            _ => return None,
        }
    }
    Some(out)
}

/// Replaces `DATA_DIR/global/pg_authid` with `roles`, atomically (temporary
/// file, fsync, rename, fsync of `global/`). Rejects, as `InvalidInput`, a
/// list that [`load_roles`] could not read back: oid 0, an empty name, a
/// NUL byte, duplicate oids or names.
pub fn write_roles(data_dir: &Path, roles: &[Role]) -> io::Result<()> {
    for (i, role) in roles.iter().enumerate() {
        let bad = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if role.oid == 0 {
            return bad(format!("role \"{}\" has oid 0", role.name));
        }
        if role.name.is_empty() {
            return bad("empty role name".to_string());
        }
        if role.name.contains('\0') || role.password.as_deref().is_some_and(|p| p.contains('\0')) {
            return bad(format!(
                "role \"{}\" contains a NUL byte",
                role.name.replace('\0', "\\0")
            ));
        }
        if roles[..i].iter().any(|r| r.oid == role.oid) {
            return bad(format!("duplicate oid {}", role.oid));
        }
        if roles[..i].iter().any(|r| r.name == role.name) {
            return bad(format!("duplicate role name \"{}\"", role.name));
        }
    }

    let mut text = String::with_capacity(64 + roles.len() * 160);
    text.push_str(HEADER);
    text.push('\n');
    for role in roles {
        let password = match &role.password {
            Some(p) => escape(p),
            None => "\\N".to_string(),
        };
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            role.oid,
            escape(&role.name),
            if role.superuser { 't' } else { 'f' },
            if role.can_login { 't' } else { 'f' },
            password
        ));
    }

    let global = data_dir.join("global");
    let final_path = global.join(ROLES_FILE);
    // The pid keeps two processes' temporary files apart.
    let tmp_path = global.join(format!("{ROLES_FILE}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp_path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp_path, &final_path)?;
        File::open(&global)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// A new SCRAM secret for `password` in PostgreSQL's `rolpassword` format:
/// random 16-byte salt, 4096 iterations, SASLprep applied
/// (`pg_be_scram_build_secret()`).
pub fn scram_verifier(password: &str) -> String {
    let mut salt = [0u8; SCRAM_DEFAULT_SALT_LEN];
    strong_random(&mut salt);
    ScramSecret::from_password(password.as_bytes(), &salt, SCRAM_DEFAULT_ITERATIONS).to_string()
}

/// `"md5" + hex(md5(password || user))`, PostgreSQL's MD5 `rolpassword`.
pub fn md5_password(password: &str, user: &str) -> String {
    md5_hex_with_prefix(password.as_bytes(), user.as_bytes())
}

/// `pg_md5_encrypt()`: `"md5" + hex(md5(data || salt))`.
pub(super) fn md5_hex_with_prefix(data: &[u8], salt: &[u8]) -> String {
    let mut h = Md5::new();
    h.update(data);
    h.update(salt);
    let digest = h.finalize();
    let mut out = String::with_capacity(35);
    out.push_str("md5");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether `shadow` is an MD5 `rolpassword` ("md5" + 32 lowercase hex digits),
/// the test of `get_password_type()`.
pub(super) fn is_md5_password(shadow: &str) -> bool {
    shadow.len() == 35
        && shadow.starts_with("md5")
        && shadow[3..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_data_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ferrogres-auth-roles-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("global")).unwrap();
        dir
    }

    #[test]
    fn roles_survive_a_write_and_reload_including_awkward_names() {
        let dir = temp_data_dir("roundtrip");
        let roles = vec![
            Role {
                oid: 10,
                name: "postgres".into(),
                superuser: true,
                can_login: true,
                password: None,
            },
            Role {
                oid: 16384,
                name: "tab\there\nnew\\line".into(),
                superuser: false,
                can_login: true,
                password: Some(md5_password("pw", "x")),
            },
            Role {
                oid: 16385,
                name: "#hash".into(),
                superuser: false,
                can_login: false,
                password: Some(scram_verifier("pw")),
            },
        ];
        write_roles(&dir, &roles).unwrap();
        assert_eq!(load_roles(&dir).unwrap(), roles);
        assert_eq!(find_role(&roles, "#hash").map(|r| r.oid), Some(16385));
        assert!(find_role(&roles, "POSTGRES").is_none());
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.join("global"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(ROLES_FILE)]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_roles_file_is_not_found_and_corrupt_lines_are_named() {
        let dir = temp_data_dir("corrupt");
        assert_eq!(
            load_roles(&dir).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        fs::write(
            roles_path(&dir),
            "# header\n10\tpostgres\tt\tt\t\\N\n11\tbob\tx\tt\t\\N\n",
        )
        .unwrap();
        let err = load_roles(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("line 3 of"), "{err}");
        fs::write(roles_path(&dir), "10\ta\tt\tt\t\\N\n10\tb\tt\tt\t\\N\n").unwrap();
        assert!(
            load_roles(&dir)
                .unwrap_err()
                .to_string()
                .contains("duplicate oid 10")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_refuses_rows_it_could_not_read_back() {
        let dir = temp_data_dir("refuse");
        let r = |oid, name: &str| Role {
            oid,
            name: name.into(),
            superuser: false,
            can_login: true,
            password: None,
        };
        assert_eq!(
            write_roles(&dir, &[r(0, "a")]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            write_roles(&dir, &[r(1, "")]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            write_roles(&dir, &[r(1, "a"), r(2, "a")])
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            write_roles(&dir, &[r(1, "a\0b")]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(!roles_path(&dir).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn md5_password_matches_postgres() {
        // The widely published hash of user postgres, password postgres.
        assert_eq!(
            md5_password("postgres", "postgres"),
            "md53175bce1d3201d16594cebf9d7eb3f9d"
        );
        // Known value: md5("") = d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(md5_password("", ""), "md5d41d8cd98f00b204e9800998ecf8427e");
        // Known value: md5("abc") = 900150983cd24fb0d6963f7d28e17f72.
        assert_eq!(
            md5_password("ab", "c"),
            "md5900150983cd24fb0d6963f7d28e17f72"
        );
        assert!(is_md5_password(&md5_password("x", "y")));
        assert!(!is_md5_password("md5XYZ"));
        assert!(!is_md5_password(&md5_password("x", "y").to_uppercase()));
    }

    #[test]
    fn scram_verifier_has_postgres_rolpassword_shape() {
        let v = scram_verifier("pencil");
        let (scheme, rest) = v.split_once('$').unwrap();
        assert_eq!(scheme, "SCRAM-SHA-256");
        let (iters, rest) = rest.split_once(':').unwrap();
        assert_eq!(iters, "4096");
        let (salt, keys) = rest.split_once('$').unwrap();
        assert_eq!(salt.len(), 24, "16-byte salt is 24 base64 characters");
        let (stored, server) = keys.split_once(':').unwrap();
        assert_eq!(stored.len(), 44);
        assert_eq!(server.len(), 44);
        let parsed = ScramSecret::parse(&v).unwrap();
        assert!(parsed.verify_plain_password(b"pencil"));
        assert_ne!(scram_verifier("pencil"), v, "salt is random");
    }
}
