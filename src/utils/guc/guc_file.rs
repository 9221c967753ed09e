//! Reading configuration files: PostgreSQL's `guc-file.l` (the lexer and
//! `ParseConfigFp`, `ParseConfigFile`, `ParseConfigDirectory`) and the
//! writer of postgresql.auto.conf used by ALTER SYSTEM.
//!
//! A file is a sequence of lines `name [=] value [# comment]`. Names are
//! identifiers, optionally qualified once (`myapp.foo`). Values are an
//! identifier, a number (with unit letters: `128MB`, `-1`, `0x10`), a real
//! (`0.9`), an unquoted string (letters, digits and `-._:/`, starting with a
//! letter) or a single-quoted string in which `''` and backslash escapes
//! (`\n`, `\t`, `\b`, `\f`, `\r`, octal `\123`, any other char verbatim)
//! work. `include`, `include_if_exists` and `include_dir` read other files
//! at that point (relative paths are relative to the including file).
//!
//! The lexer follows flex's rule: the longest match wins, ties go to the
//! earlier rule. So `1.5GB` is a real followed by an identifier (a syntax
//! error, as in PostgreSQL) and `/tmp` must be quoted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// One `name = value` line (`ConfigVariable`).
#[derive(Clone, Debug)]
pub(super) struct ConfigItem {
    pub name: String,
    pub value: String,
    pub filename: String,
    pub sourceline: u32,
    /// A later line sets the same parameter.
    pub ignore: bool,
}

/// What parsing produced: the items, and the lines to log.
#[derive(Debug)]
pub(super) struct ParseState {
    pub items: Vec<ConfigItem>,
    pub log: Vec<(Severity, String)>,
    /// The first error, as returned to the caller.
    pub first_error: Option<PgError>,
    /// Level at which errors are logged (LOG in the postmaster, DEBUG2 in
    /// its children).
    pub elevel: Severity,
    /// The data directory: base of relative paths in top-level files.
    pub data_dir: PathBuf,
}

impl ParseState {
    pub(super) fn new(data_dir: &Path, elevel: Severity) -> ParseState {
        ParseState {
            items: Vec::new(),
            log: Vec::new(),
            first_error: None,
            elevel,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Logs an error at the configured level and remembers the first.
    pub(super) fn error(&mut self, message: String) {
        self.log.push((self.elevel, message.clone()));
        if self.first_error.is_none() {
            self.first_error = Some(PgError::new(
                Severity::Log,
                sqlstate::CONFIG_FILE_ERROR,
                message,
            ));
        }
    }
}

/// Include files nest at most this deep.
const MAX_INCLUDE_DEPTH: u32 = 10;
/// Give up on a file after this many syntax errors.
const MAX_SYNTAX_ERRORS: u32 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Eof,
    Eol,
    Id,
    QualifiedId,
    Str,
    UnquotedStr,
    Integer,
    Real,
    Equals,
    Error,
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_letter_or_digit(b: u8) -> bool {
    is_letter(b) || b.is_ascii_digit()
}

/// The lexer of guc-file.l.
struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    /// `ConfigFileLineno`: incremented by every newline token.
    lineno: u32,
    /// Text of the last token.
    text: &'a [u8],
}

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8]) -> Lexer<'a> {
        Lexer {
            input,
            pos: 0,
            lineno: 1,
            text: b"",
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(self.text).into_owned()
    }

    fn next(&mut self) -> Token {
        loop {
            let s = &self.input[self.pos..];
            let Some(&c) = s.first() else {
                self.text = b"";
                return Token::Eof;
            };
            if c == b'\n' {
                self.lineno += 1;
                self.text = &s[..1];
                self.pos += 1;
                return Token::Eol;
            }
            if matches!(c, b' ' | b'\t' | b'\r') {
                self.pos += 1;
                continue;
            }
            if c == b'#' {
                // A comment runs to the end of the line.
                while self.pos < self.input.len() && self.input[self.pos] != b'\n' {
                    self.pos += 1;
                }
                continue;
            }
            // Longest match among the rules, earlier rule on ties.
            let candidates = [
                (Token::Id, match_id(s)),
                (Token::QualifiedId, match_qualified_id(s)),
                (Token::Str, match_string(s)),
                (Token::UnquotedStr, match_unquoted_string(s)),
                (Token::Integer, match_integer(s)),
                (Token::Real, match_real(s)),
                (Token::Equals, usize::from(c == b'=')),
            ];
            let (mut token, mut len) = (Token::Error, 1);
            let mut best = 0;
            for (t, l) in candidates {
                if l > best {
                    best = l;
                    token = t;
                    len = l;
                }
            }
            if token == Token::Error {
                // Any other single character; keep UTF-8 sequences whole for
                // the message (they are letters, so this is only control bytes).
                len = 1;
            }
            self.text = &s[..len];
            self.pos += len;
            return token;
        }
    }
}

/// `{LETTER}{LETTER_OR_DIGIT}*`
fn match_id(s: &[u8]) -> usize {
    if s.first().is_some_and(|&b| is_letter(b)) {
        1 + s[1..]
            .iter()
            .take_while(|&&b| is_letter_or_digit(b))
            .count()
    } else {
        0
    }
}

/// `{ID}"."{ID}`
fn match_qualified_id(s: &[u8]) -> usize {
    let first = match_id(s);
    if first == 0 || s.get(first) != Some(&b'.') {
        return 0;
    }
    let second = match_id(&s[first + 1..]);
    if second == 0 { 0 } else { first + 1 + second }
}

/// `\'([^'\\\n]|\\.|\'\')*\'` — the longest match.
fn match_string(s: &[u8]) -> usize {
    if s.first() != Some(&b'\'') {
        return 0;
    }
    let mut i = 1;
    let mut longest = 0;
    loop {
        match s.get(i) {
            None | Some(b'\n') => return longest,
            Some(b'\'') => {
                longest = i + 1; // the string may end here...
                if s.get(i + 1) == Some(&b'\'') {
                    i += 2; // ...or continue with a doubled quote
                } else {
                    return longest;
                }
            }
            Some(b'\\') => match s.get(i + 1) {
                None | Some(b'\n') => return longest,
                Some(_) => i += 2,
            },
            Some(_) => i += 1,
        }
    }
}

/// `{LETTER}({LETTER_OR_DIGIT}|[-._:/])*`
fn match_unquoted_string(s: &[u8]) -> usize {
    if s.first().is_some_and(|&b| is_letter(b)) {
        1 + s[1..]
            .iter()
            .take_while(|&&b| {
                is_letter_or_digit(b) || matches!(b, b'-' | b'.' | b'_' | b':' | b'/')
            })
            .count()
    } else {
        0
    }
}

/// `{SIGN}?({DIGIT}+|0x{HEXDIGIT}+){UNIT_LETTER}*`
fn match_integer(s: &[u8]) -> usize {
    let sign = usize::from(matches!(s.first(), Some(b'+') | Some(b'-')));
    let rest = &s[sign..];
    let decimal = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let hex = if rest.len() > 2 && rest[0] == b'0' && rest[1] == b'x' {
        let n = rest[2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if n > 0 { 2 + n } else { 0 }
    } else {
        0
    };
    let with_units = |n: usize| {
        if n == 0 {
            0
        } else {
            n + rest[n..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count()
        }
    };
    let best = with_units(decimal).max(with_units(hex));
    if best == 0 { 0 } else { sign + best }
}

/// `{SIGN}?{DIGIT}*"."{DIGIT}*{EXPONENT}?` with `{EXPONENT}` = `[Ee]{SIGN}?{DIGIT}+`
fn match_real(s: &[u8]) -> usize {
    let mut i = usize::from(matches!(s.first(), Some(b'+') | Some(b'-')));
    i += s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if s.get(i) != Some(&b'.') {
        return 0;
    }
    i += 1;
    i += s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if matches!(s.get(i), Some(b'e') | Some(b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        let digits = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 {
            i = j + digits;
        }
    }
    i
}

/// `DeescapeQuotedString`: strips the quotes and resolves escapes.
fn deescape_quoted_string(s: &[u8]) -> String {
    assert!(
        s.len() >= 2 && s[0] == b'\'' && s[s.len() - 1] == b'\'',
        "quoted string token"
    );
    let body = &s[1..s.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' && i + 1 < body.len() {
            i += 1;
            match body[i] {
                b'b' => out.push(0x08),
                b'f' => out.push(0x0c),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'0'..=b'7' => {
                    let mut value: u32 = 0;
                    let mut k = 0;
                    while k < 3 && i + k < body.len() && (b'0'..=b'7').contains(&body[i + k]) {
                        value = (value << 3) + (body[i + k] - b'0') as u32;
                        k += 1;
                    }
                    i += k - 1;
                    out.push(value as u8);
                }
                other => out.push(other),
            }
        } else if c == b'\'' && body.get(i + 1) == Some(&b'\'') {
            out.push(b'\'');
            i += 1;
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `canonicalize_path`: collapses `//`, `/./` and `dir/..`, drops a trailing slash.
pub(super) fn canonicalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// `AbsoluteConfigLocation`: relative paths are relative to the directory of
/// the including file, or to the data directory for top-level files.
fn absolute_config_location(location: &str, calling_file: Option<&str>, data_dir: &Path) -> String {
    if location.starts_with('/') {
        return location.to_string();
    }
    let base = match calling_file {
        Some(file) => Path::new(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        None => data_dir.to_path_buf(),
    };
    canonicalize_path(&base.join(location).to_string_lossy())
}

/// `ParseConfigFile`: reads `config_file` (`strict`: a missing file is an
/// error; otherwise it is skipped with a LOG line). False on any error.
pub(super) fn parse_config_file(
    config_file: &str,
    strict: bool,
    calling_file: Option<&str>,
    depth: u32,
    state: &mut ParseState,
) -> bool {
    if config_file.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
        state.error(format!("empty configuration file name: \"{config_file}\""));
        return false;
    }
    if depth > MAX_INCLUDE_DEPTH {
        state.error(format!(
            "could not open configuration file \"{config_file}\": maximum nesting depth exceeded"
        ));
        return false;
    }
    let abs_path = absolute_config_location(config_file, calling_file, &state.data_dir);
    if calling_file == Some(abs_path.as_str()) {
        state.error(format!("configuration file recursion in \"{abs_path}\""));
        return false;
    }
    match fs::read(&abs_path) {
        Ok(content) => parse_config_fp(&content, &abs_path, depth, state),
        Err(e) if !strict && e.kind() == std::io::ErrorKind::NotFound => {
            state.log.push((
                Severity::Log,
                format!("skipping missing configuration file \"{abs_path}\""),
            ));
            true
        }
        Err(e) => {
            state.error(format!(
                "could not open configuration file \"{abs_path}\": {}",
                io_error_text(&e)
            ));
            false
        }
    }
}

/// The strerror text of an I/O error ("No such file or directory").
pub(super) fn io_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_string(),
        None => e.to_string(),
    }
}

/// `ParseConfigDirectory`: every `*.conf` file (not starting with `.`) in
/// the directory, in byte order of their names.
fn parse_config_directory(
    dir: &str,
    calling_file: &str,
    depth: u32,
    state: &mut ParseState,
) -> bool {
    let directory = absolute_config_location(dir, Some(calling_file), &state.data_dir);
    let entries = match fs::read_dir(&directory) {
        Ok(entries) => entries,
        Err(e) => {
            state.error(format!(
                "could not open configuration directory \"{directory}\": {}",
                io_error_text(&e)
            ));
            return false;
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.len() < 6 || name.starts_with('.') || !name.ends_with(".conf") {
            continue;
        }
        let path = canonicalize_path(&format!("{directory}/{name}"));
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => files.push(path),
            Err(e) => {
                state.error(format!(
                    "could not stat file \"{path}\": {}",
                    io_error_text(&e)
                ));
                return false;
            }
        }
    }
    files.sort();
    files
        .iter()
        .all(|file| parse_config_file(file, true, Some(calling_file), depth, state))
}

/// `ParseConfigFp`: parses one file's contents, appending its items (and
/// those of its includes) to `state`. False on any error.
pub(super) fn parse_config_fp(
    content: &[u8],
    config_file: &str,
    depth: u32,
    state: &mut ParseState,
) -> bool {
    let mut lexer = Lexer::new(content);
    let mut ok = true;
    let mut error_count = 0;
    loop {
        let mut token = lexer.next();
        if token == Token::Eof {
            break;
        }
        if token == Token::Eol {
            continue;
        }
        // One line: name [=] value EOL.
        let parsed = (|| {
            if token != Token::Id && token != Token::QualifiedId {
                return Err(token);
            }
            let name = lexer.text();
            token = lexer.next();
            if token == Token::Equals {
                token = lexer.next();
            }
            let value = match token {
                Token::Str => deescape_quoted_string(lexer.text),
                Token::Id | Token::Integer | Token::Real | Token::UnquotedStr => lexer.text(),
                _ => return Err(token),
            };
            token = lexer.next();
            match token {
                Token::Eol => {}
                // EOF counts as a newline for line numbering.
                Token::Eof => lexer.lineno += 1,
                _ => return Err(token),
            }
            Ok((name, value))
        })();
        match parsed {
            Ok((name, value)) => {
                let line = lexer.lineno - 1;
                if name.eq_ignore_ascii_case("include_dir") {
                    ok &= parse_config_directory(&value, config_file, depth + 1, state);
                } else if name.eq_ignore_ascii_case("include_if_exists") {
                    ok &= parse_config_file(&value, false, Some(config_file), depth + 1, state);
                } else if name.eq_ignore_ascii_case("include") {
                    ok &= parse_config_file(&value, true, Some(config_file), depth + 1, state);
                } else {
                    state.items.push(ConfigItem {
                        name,
                        value,
                        filename: config_file.to_string(),
                        sourceline: line,
                        ignore: false,
                    });
                }
                if token == Token::Eof {
                    break;
                }
            }
            Err(bad) => {
                if bad == Token::Eol || bad == Token::Eof {
                    state.error(format!(
                        "syntax error in file \"{config_file}\" line {}, near end of line",
                        lexer.lineno.saturating_sub(1)
                    ));
                } else {
                    state.error(format!(
                        "syntax error in file \"{config_file}\" line {}, near token \"{}\"",
                        lexer.lineno,
                        lexer.text()
                    ));
                }
                ok = false;
                error_count += 1;
                if error_count >= MAX_SYNTAX_ERRORS {
                    state.error(format!(
                        "too many syntax errors found, abandoning file \"{config_file}\""
                    ));
                    break;
                }
                // Resynchronise at the next end of line.
                let mut t = bad;
                while t != Token::Eol && t != Token::Eof {
                    t = lexer.next();
                }
                if t == Token::Eof {
                    break;
                }
            }
        }
    }
    ok
}

/// The header ALTER SYSTEM writes at the top of postgresql.auto.conf.
pub(super) const AUTO_CONF_HEADER: &str =
    "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n";

/// The name of the file ALTER SYSTEM maintains (`PG_AUTOCONF_FILENAME`).
pub(super) const AUTO_CONF_FILENAME: &str = "postgresql.auto.conf";

/// `write_auto_conf_file` + `durable_rename`: writes `items` to
/// `postgresql.auto.conf.tmp`, fsyncs it, renames it over
/// postgresql.auto.conf and fsyncs the directory, so a crash leaves either
/// the old or the new file.
pub(super) fn write_auto_conf(data_dir: &Path, items: &[(String, String)]) -> PgResult<()> {
    let mut text = String::from(AUTO_CONF_HEADER);
    for (name, value) in items {
        // escape_single_quotes_ascii: double quotes and backslashes.
        let escaped = value.replace('\\', "\\\\").replace('\'', "''");
        text.push_str(&format!("{name} = '{escaped}'\n"));
    }
    let tmp_name = format!("{AUTO_CONF_FILENAME}.tmp");
    let tmp_path = data_dir.join(&tmp_name);
    let final_path = data_dir.join(AUTO_CONF_FILENAME);
    let io_error = |what: &str, file: &str, e: std::io::Error| {
        // PostgreSQL unlinks the temporary file on failure: a full disk
        // keeps no partial copy. (After the rename there is none left.)
        let _ = fs::remove_file(&tmp_path);
        crate::utils::elog::file_error(&e, format_args!("could not {what} file \"{file}\""))
    };
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp_path)
            .map_err(|e| io_error("open", &tmp_name, e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| io_error("write", &tmp_name, e))?;
        file.sync_all()
            .map_err(|e| io_error("fsync", &tmp_name, e))?;
    }
    fs::rename(&tmp_path, &final_path).map_err(|e| {
        let _ = fs::remove_file(&tmp_path);
        crate::utils::elog::file_error(
            &e,
            format_args!("could not rename file \"{tmp_name}\" to \"{AUTO_CONF_FILENAME}\""),
        )
    })?;
    let dir =
        fs::File::open(data_dir).map_err(|e| io_error("open", &data_dir.to_string_lossy(), e))?;
    dir.sync_all()
        .map_err(|e| io_error("fsync", &data_dir.to_string_lossy(), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParseState {
        let mut state = ParseState::new(Path::new("/nonexistent"), Severity::Log);
        parse_config_fp(text.as_bytes(), "/d/postgresql.conf", 0, &mut state);
        state
    }

    fn pairs(state: &ParseState) -> Vec<(String, String, u32)> {
        state
            .items
            .iter()
            .map(|i| (i.name.clone(), i.value.clone(), i.sourceline))
            .collect()
    }

    fn p(name: &str, value: &str, line: u32) -> (String, String, u32) {
        (name.to_string(), value.to_string(), line)
    }

    #[test]
    fn lines_with_and_without_equals_comments_and_units() {
        let state = parse(
            "# comment\n\nwork_mem 3MB # trailing\nwork_mem=4MB#c\nshared_buffers = 128MB\ncheckpoint_completion_target = 0.9\nport = 5433\nlisten_addresses = '*'\nmyapp.foo = bar\nlog_line_prefix = '%m [%p] '\nunix_socket_permissions = 0777\ncommit_delay = -1\nx_y = on",
        );
        assert!(state.first_error.is_none(), "{:?}", state.log);
        assert_eq!(
            pairs(&state),
            vec![
                p("work_mem", "3MB", 3),
                p("work_mem", "4MB", 4),
                p("shared_buffers", "128MB", 5),
                p("checkpoint_completion_target", "0.9", 6),
                p("port", "5433", 7),
                p("listen_addresses", "*", 8),
                p("myapp.foo", "bar", 9),
                p("log_line_prefix", "%m [%p] ", 10),
                p("unix_socket_permissions", "0777", 11),
                p("commit_delay", "-1", 12),
                p("x_y", "on", 13),
            ]
        );
    }

    #[test]
    fn quoted_strings_resolve_doubled_quotes_and_backslash_escapes() {
        // PostgreSQL 15 reads this line as: a\b'cA<newline>
        let state =
            parse("search_path = 'a\\\\b''c\\101\\n'\nx = 'it''s'\ny = '' \nz = 'tab\\there'\n");
        assert!(state.first_error.is_none(), "{:?}", state.log);
        assert_eq!(
            pairs(&state),
            vec![
                p("search_path", "a\\b'cA\n", 1),
                p("x", "it's", 2),
                p("y", "", 3),
                p("z", "tab\there", 4)
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_file_line_and_token_like_postgres() {
        // Messages checked against PostgreSQL 15's log for the same lines.
        let cases = [
            (
                "work_mem = 1 2\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"2\"",
            ),
            (
                "a = 1\nwork_mem = '5' 'MB'\n",
                "syntax error in file \"/d/postgresql.conf\" line 2, near token \"'MB'\"",
            ),
            (
                "work_mem = 1.5MB\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"MB\"",
            ),
            (
                "work_mem = \n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near end of line",
            ),
            (
                "search_path = /tmp\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"/\"",
            ),
            (
                "log_line_prefix = %m\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"%\"",
            ),
            (
                "a.b.c = 1\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"a.b.c\"",
            ),
            (
                "foo bar baz\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"baz\"",
            ),
            (
                "x = 'unterminated\n",
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"'\"",
            ),
        ];
        for (text, message) in cases {
            let state = parse(text);
            let err = state.first_error.expect(text);
            assert_eq!(err.message, message, "for {text:?}");
            assert_eq!(err.sqlstate, sqlstate::CONFIG_FILE_ERROR);
        }
        // Lines after an error are still read (and every error is logged).
        let state = parse("a = 1 2\nb = 3\nc = = 4\n");
        assert_eq!(pairs(&state), vec![p("b", "3", 2)]);
        assert_eq!(state.log.len(), 2);
    }

    #[test]
    fn includes_are_read_relative_to_the_including_file() {
        let dir = std::env::temp_dir().join(format!("guc_include_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        fs::write(dir.join("main.conf"), "a = 1\ninclude 'sub.conf'\ninclude_if_exists 'missing.conf'\ninclude_dir 'conf.d'\nz = 26\n")
            .unwrap();
        fs::write(dir.join("sub.conf"), "b = 2\n").unwrap();
        fs::write(dir.join("conf.d/20-second.conf"), "d = 4\n").unwrap();
        fs::write(dir.join("conf.d/10-first.conf"), "c = 3\n").unwrap();
        fs::write(dir.join("conf.d/.hidden.conf"), "hidden = 1\n").unwrap();
        fs::write(dir.join("conf.d/notes.txt"), "ignored = 1\n").unwrap();
        let main = dir.join("main.conf").to_string_lossy().into_owned();
        let mut state = ParseState::new(&dir, Severity::Log);
        assert!(
            parse_config_file(&main, true, None, 0, &mut state),
            "{:?}",
            state.log
        );
        let names: Vec<&str> = state.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "z"]);
        assert_eq!(
            state.items[1].filename,
            dir.join("sub.conf").to_string_lossy()
        );
        assert_eq!(
            state.items[2].filename,
            dir.join("conf.d/10-first.conf").to_string_lossy()
        );
        let missing = dir.join("missing.conf").to_string_lossy().into_owned();
        assert_eq!(
            state.log,
            vec![(
                Severity::Log,
                format!("skipping missing configuration file \"{missing}\"")
            )]
        );

        // A strict include of a missing file is an error.
        fs::write(dir.join("main.conf"), "include 'nonexist.conf'\n").unwrap();
        let mut state = ParseState::new(&dir, Severity::Log);
        assert!(!parse_config_file(&main, true, None, 0, &mut state));
        let nonexist = dir.join("nonexist.conf").to_string_lossy().into_owned();
        assert_eq!(
            state.first_error.unwrap().message,
            format!("could not open configuration file \"{nonexist}\": No such file or directory")
        );

        // A file including itself is stopped.
        fs::write(dir.join("main.conf"), "include 'main.conf'\n").unwrap();
        let mut state = ParseState::new(&dir, Severity::Log);
        assert!(!parse_config_file(&main, true, None, 0, &mut state));
        assert_eq!(
            state.first_error.unwrap().message,
            format!("configuration file recursion in \"{main}\"")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_are_canonicalised() {
        assert_eq!(canonicalize_path("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(canonicalize_path("/../a"), "/a");
        assert_eq!(canonicalize_path("a/../.."), "..");
    }
}
