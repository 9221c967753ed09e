//! Raw parsing: pg_query (PostgreSQL's own grammar) turns a query string
//! into raw parse trees; this module splits them into [`Statement`]s and
//! turns pg_query's errors into PostgreSQL's, including the cursor
//! position.
//!
//! pg_query does not expose the error's cursor position, so it is
//! recomputed here:
//! - `syntax error at end of input` points one past the end of the string;
//! - `... at or near "X"` points at the first token `X` that the grammar
//!   cannot accept: the first token spelled `X` such that the string cut
//!   right after it fails with a non-end-of-input error (a viable prefix
//!   parses, or fails only "at end of input");
//! - lexer errors (`unterminated quoted string at or near "'abc"`) point at
//!   the last occurrence of the quoted text.

use std::sync::Arc;

use super::Statement;
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Statements of one query string kept parsed at once; past this a
/// [`QueryStatements`] keeps only where each statement is and parses it
/// again when it runs.
const MAX_KEPT_TREES: usize = 64;

/// Statements shorter than this cannot nest deep enough to fail in
/// pg_query's tree output (each level of nesting takes at least one byte,
/// and its limits are at about a thousand levels).
const MIN_CHECKED_LEN: usize = 256;

/// The statements of one query string (a simple Query message).
///
/// PostgreSQL parses the whole string before running any of it, so a
/// syntax error anywhere means nothing runs. The same holds here, but the
/// parse trees are not all kept: a message of a million statements would
/// hold a million Rust trees (several kB each) at once. Up to
/// [`MAX_KEPT_TREES`] statements are kept parsed; beyond that only where
/// each statement is, and it is parsed when it runs, so memory stays
/// proportional to the string, not to its trees.
pub struct QueryStatements {
    source: Arc<str>,
    /// Byte ranges of the statements in `source`.
    bounds: Vec<(usize, usize)>,
    /// The parsed statements, when there are few.
    kept: Vec<Option<Statement>>,
    /// NOTICEs the scanner raises (identifiers truncated to 63 bytes), to
    /// send before any statement runs: PostgreSQL raises them while it
    /// parses the whole string.
    notices: Vec<PgError>,
}

impl QueryStatements {
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The parser's NOTICEs, in the order PostgreSQL raises them.
    pub fn notices(&self) -> &[PgError] {
        &self.notices
    }

    /// Statement `i`, parsed. Parsing again can fail only on the limits of
    /// pg_query's protobuf output (54001), which a statement shorter than
    /// [`MIN_CHECKED_LEN`] cannot reach and a longer one was checked for.
    pub fn statement(&self, i: usize) -> PgResult<Statement> {
        self.with_statement(i, Statement::clone)
    }

    /// Statement `i`, taken out (the next call parses it again).
    pub fn take_statement(&mut self, i: usize) -> PgResult<Statement> {
        match self.kept.get_mut(i).and_then(Option::take) {
            Some(s) => Ok(s),
            None => self.parse_again(i),
        }
    }

    /// `f` of statement `i`, without copying a kept tree.
    pub fn with_statement<T>(&self, i: usize, f: impl FnOnce(&Statement) -> T) -> PgResult<T> {
        match self.kept.get(i) {
            Some(Some(s)) => Ok(f(s)),
            _ => Ok(f(&self.parse_again(i)?)),
        }
    }

    fn parse_again(&self, i: usize) -> PgResult<Statement> {
        let (start, end) = self.bounds[i];
        let stmt = parse_one(&self.source, start, end)?;
        Ok(stmt.expect("a statement libpg_query split out is not empty"))
    }
}

/// Splits a query string into statements and checks that every one parses.
pub fn split(sql: &str) -> PgResult<QueryStatements> {
    if sql.as_bytes().contains(&0) {
        return Err(zero_byte_error());
    }
    match parse_single(sql)? {
        Some(q) => Ok(q),
        None => split_statements(sql),
    }
}

/// [`split`] for any string: one parse to find the statements, then one
/// per statement for its tree.
fn split_statements(sql: &str) -> PgResult<QueryStatements> {
    // libpg_query parses the whole string once to find the statements (its
    // C tree is freed on return); syntax errors are reported against it.
    let slices = match pg_query::split_with_parser(sql) {
        Ok(s) => s,
        Err(e) => return Err(parse_error(sql, e)),
    };
    let source: Arc<str> = Arc::from(sql);
    let base = sql.as_ptr() as usize;
    let mut bounds = Vec::with_capacity(slices.len());
    let mut kept = Vec::new();
    let mut notices = Vec::new();
    let keep = slices.len() <= MAX_KEPT_TREES;
    for slice in slices {
        let start = slice.as_ptr() as usize - base;
        let end = start + slice.len();
        // Scanned one statement at a time: the tokens of a huge string are
        // never all held at once.
        truncated_identifiers(slice, &mut notices);
        // Producing the tree has limits the split does not check (the C
        // stack while serializing, protobuf nesting): a statement long
        // enough to nest that deep is parsed now, so it fails before any
        // statement runs, as in PostgreSQL.
        if keep || slice.len() >= MIN_CHECKED_LEN {
            let Some(stmt) = parse_one(&source, start, end)? else {
                continue;
            };
            if keep {
                kept.push(Some(stmt));
            }
        }
        bounds.push((start, end));
    }
    Ok(QueryStatements {
        source,
        bounds,
        kept,
        notices,
    })
}

/// Query strings up to this long that hold at most one statement are
/// parsed once into their tree ([`parse_single`]).
const MAX_SINGLE_PARSE_LEN: usize = 64 * 1024;

/// The common case of [`split`]: a string whose only `;` (if any) ends it
/// holds at most one statement, so one parse gives both its bounds and its
/// tree, instead of a parse to split it and another for the tree (the
/// grammar runs once per Query message, as in PostgreSQL). None when the
/// string may hold more statements (a `;` inside a literal or comment
/// only sends it the general way).
fn parse_single(sql: &str) -> PgResult<Option<QueryStatements>> {
    let body = sql.trim_end();
    let body = body.strip_suffix(';').unwrap_or(body);
    if sql.len() > MAX_SINGLE_PARSE_LEN || body.contains(';') {
        return Ok(None);
    }
    let result = pg_query::parse(sql, 0).map_err(|e| parse_error(sql, e))?;
    let mut raws = result.protobuf.stmts;
    let source: Arc<str> = Arc::from(sql);
    let mut notices = Vec::new();
    match raws.len() {
        0 => {
            return Ok(Some(QueryStatements {
                source,
                bounds: Vec::new(),
                kept: Vec::new(),
                notices,
            }));
        }
        1 if raws[0].stmt_location == 0 => {}
        // Tree locations count from the string's start, a Statement's from
        // its own: leave anything else to the general path.
        _ => return Ok(None),
    }
    let raw = raws.pop().expect("one statement");
    let end = match usize::try_from(raw.stmt_len) {
        Ok(0) | Err(_) => sql.len(),
        Ok(n) => n.min(sql.len()),
    };
    let Some(text) = sql.get(..end) else {
        return Ok(None);
    };
    truncated_identifiers(text, &mut notices);
    let Some(node) = raw.stmt.and_then(|n| n.node) else {
        return Ok(None);
    };
    let stmt = Statement {
        text: text.trim().to_string(),
        node,
        source: source.clone(),
        location: 0,
    };
    Ok(Some(QueryStatements {
        source,
        bounds: vec![(0, end)],
        kept: vec![Some(stmt)],
        notices,
    }))
}

/// `NAMEDATALEN - 1`: identifiers are truncated to this many bytes.
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// Whether `sql` can hold an identifier longer than [`MAX_IDENTIFIER_LEN`]:
/// a run of identifier bytes that long, or a double quote. Saves scanning
/// the ordinary statement twice.
fn may_have_long_identifier(sql: &str) -> bool {
    if sql.len() <= MAX_IDENTIFIER_LEN {
        return false;
    }
    let mut run = 0;
    for &b in sql.as_bytes() {
        if b == b'"' {
            return true;
        }
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            run += 1;
            if run > MAX_IDENTIFIER_LEN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// `truncate_identifier(..., warn = true)` as PostgreSQL's scanner calls it:
/// pg_query truncates identifiers (on a character boundary) but raises no
/// NOTICE, so the statement's tokens are scanned here for identifiers
/// longer than 63 bytes, each giving 42622 `identifier "…" will be
/// truncated to "…"`.
fn truncated_identifiers(sql: &str, notices: &mut Vec<PgError>) {
    if !may_have_long_identifier(sql) {
        return;
    }
    // A scan error is the parser's to report; here it only means no notice.
    let Ok(tokens) = pg_query::scan_tokens(sql) else {
        return;
    };
    for t in tokens {
        if t.token != pg_query::protobuf::Token::Ident as i32 {
            continue;
        }
        let Some(raw) = sql.get(t.start as usize..t.end as usize) else {
            continue;
        };
        let ident = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            // downcase_identifier: ASCII letters only, as for UTF8.
            None => raw.to_ascii_lowercase(),
        };
        if ident.len() > MAX_IDENTIFIER_LEN {
            let n = crate::utils::mb::clip_len(&ident, MAX_IDENTIFIER_LEN);
            notices.push(PgError::new(
                crate::utils::elog::Severity::Notice,
                sqlstate::NAME_TOO_LONG,
                format!(
                    "identifier \"{ident}\" will be truncated to \"{}\"",
                    &ident[..n]
                ),
            ));
        }
    }
}

/// Splits and parses a query string.
pub fn parse(sql: &str) -> PgResult<Vec<Statement>> {
    let q = split(sql)?;
    (0..q.len()).map(|i| q.statement(i)).collect()
}

/// Parses the statement at `start..end` of `source` on its own: its tree's
/// locations are offsets from `start`.
fn parse_one(source: &Arc<str>, start: usize, end: usize) -> PgResult<Option<Statement>> {
    let text = &source[start..end];
    let result = pg_query::parse(text, 0).map_err(|e| parse_error(text, e))?;
    let Some(node) = result
        .protobuf
        .stmts
        .into_iter()
        .next()
        .and_then(|raw| raw.stmt)
        .and_then(|n| n.node)
    else {
        return Ok(None);
    };
    Ok(Some(Statement {
        text: text.trim().to_string(),
        node,
        source: source.clone(),
        location: start,
    }))
}

fn zero_byte_error() -> PgError {
    PgError::error(
        sqlstate::SYNTAX_ERROR,
        "invalid byte sequence: query string contains a zero byte",
    )
}

/// 1-based character position of byte offset `byte` in `sql` (PostgreSQL's
/// `position` field counts characters).
pub fn char_position(sql: &str, byte: usize) -> u32 {
    let mut b = byte.min(sql.len());
    while !sql.is_char_boundary(b) {
        b -= 1;
    }
    sql[..b].chars().count() as u32 + 1
}

fn parse_error(sql: &str, e: pg_query::Error) -> PgError {
    let message = match e {
        pg_query::Error::Parse(m) | pg_query::Error::Split(m) => m,
        pg_query::Error::Conversion(_) => return zero_byte_error(),
        other => other.to_string(),
    };
    // libpg_query's own limits on nesting: its C stack budget, and the
    // protobuf serializer's depth limit (PostgreSQL has only the first).
    if message == "stack depth limit exceeded" || message.contains("nested too deeply to serialize")
    {
        return crate::utils::stack::stack_depth_error();
    }
    let code = if message.contains("not supported") || message.contains("not implemented") {
        sqlstate::FEATURE_NOT_SUPPORTED
    } else {
        sqlstate::SYNTAX_ERROR
    };
    let mut err = PgError::error(code, message.clone());
    if message.starts_with("frame ") {
        // The grammar's checks of a window frame's bounds (42P20).
        err = PgError::error(sqlstate::WINDOWING_ERROR, message.clone());
        if let Some(byte) = locate_frame_bound(sql, &message) {
            err = err.with_position(char_position(sql, byte));
        }
    } else if message.starts_with("cannot use ") && message.ends_with(" with WITHIN GROUP") {
        // The grammar points at the WITHIN GROUP clause.
        if let Some(byte) = locate_keywords(sql, &["WITHIN", "GROUP"]) {
            err = err.with_position(char_position(sql, byte));
        }
    } else if message == "WHERE clause not allowed with COPY TO" {
        if let Some(byte) = locate_keywords(sql, &["WHERE"]) {
            err = err.with_position(char_position(sql, byte));
        }
    } else if message.ends_with("at end of input") {
        err = err.with_position(sql.chars().count() as u32 + 1);
    } else if let Some(near) = quoted_near(&message)
        && let Some(byte) = locate_token(sql, &near, &message)
    {
        err = err.with_position(char_position(sql, byte));
    }
    err
}

/// The byte offset of the first run of tokens spelling `words` (upper
/// case keywords, e.g. `WITHIN GROUP`).
fn locate_keywords(sql: &str, words: &[&str]) -> Option<usize> {
    let scan = pg_query::scan(sql).ok()?;
    let word = |i: usize| {
        scan.tokens.get(i).map(|t| {
            sql.get(t.start as usize..t.end as usize)
                .unwrap_or("")
                .to_ascii_uppercase()
        })
    };
    (0..scan.tokens.len())
        .find(|&i| {
            words
                .iter()
                .enumerate()
                .all(|(k, w)| word(i + k).as_deref() == Some(*w))
        })
        .map(|i| scan.tokens[i].start as usize)
}

/// Where the grammar's window frame error points: the offending bound
/// (the start bound for `frame start ...` and a lone bound, else the end
/// bound) of the first frame clause whose bounds fit the message.
fn locate_frame_bound(sql: &str, message: &str) -> Option<usize> {
    let scan = pg_query::scan(sql).ok()?;
    let words: Vec<(usize, String)> = scan
        .tokens
        .iter()
        .map(|t| {
            let (s, e) = (t.start as usize, t.end as usize);
            (s, sql.get(s..e).unwrap_or("").to_ascii_uppercase())
        })
        .collect();
    // The words of a bound from token `i`: up to PRECEDING, FOLLOWING or ROW.
    let bound_end = |i: usize| {
        (i..words.len()).find(|&j| matches!(words[j].1.as_str(), "PRECEDING" | "FOLLOWING" | "ROW"))
    };
    let mut first = None;
    for (k, (_, w)) in words.iter().enumerate() {
        if !matches!(w.as_str(), "ROWS" | "RANGE" | "GROUPS") || k + 1 >= words.len() {
            continue;
        }
        let (start, end) = if words[k + 1].1 == "BETWEEN" {
            let s = k + 2;
            let se = bound_end(s)?;
            let and = se + 1;
            if words.get(and).map(|w| w.1.as_str()) != Some("AND") {
                continue;
            }
            (s, Some((and + 1, bound_end(and + 1)?)))
        } else {
            (k + 1, None)
        };
        let se = bound_end(start)?;
        let text = |a: usize, b: usize| {
            words[a..=b]
                .iter()
                .map(|w| w.1.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let start_text = text(start, se);
        let end_text = end.map(|(a, b)| text(a, b)).unwrap_or_default();
        // (whether this frame is the one, whether the error is at its end bound)
        let (fits, at_end) = match message {
            "frame start cannot be UNBOUNDED FOLLOWING" => {
                (start_text == "UNBOUNDED FOLLOWING", false)
            }
            "frame starting from following row cannot end with current row" => {
                (end.is_none() && start_text.ends_with("FOLLOWING"), false)
            }
            "frame end cannot be UNBOUNDED PRECEDING" => (end_text == "UNBOUNDED PRECEDING", true),
            "frame starting from current row cannot have preceding rows" => (
                start_text == "CURRENT ROW" && end_text.ends_with("PRECEDING"),
                true,
            ),
            _ => (start_text.ends_with("FOLLOWING"), true),
        };
        let at = match end {
            Some((e, _)) if at_end => e,
            _ => start,
        };
        first.get_or_insert(at);
        if fits {
            return Some(words[at].0);
        }
    }
    first.map(|i| words[i].0)
}

/// The `X` of `... at or near "X"`.
fn quoted_near(message: &str) -> Option<String> {
    let idx = message.find(" at or near \"")?;
    let rest = &message[idx + " at or near \"".len()..];
    let end = rest.rfind('"')?;
    Some(rest[..end].to_string())
}

fn is_viable_prefix(prefix: &str) -> bool {
    match pg_query::split_with_parser(prefix) {
        Ok(_) => true,
        Err(pg_query::Error::Split(m)) => m.ends_with("at end of input"),
        Err(_) => false,
    }
}

fn locate_token(sql: &str, near: &str, message: &str) -> Option<usize> {
    if message.starts_with("syntax error")
        && let Ok(scan) = pg_query::scan(sql)
    {
        let candidates: Vec<(usize, usize)> = scan
            .tokens
            .iter()
            .map(|t| (t.start as usize, t.end as usize))
            .filter(|&(s, e)| sql.get(s..e) == Some(near))
            .collect();
        for &(s, e) in &candidates {
            if !is_viable_prefix(&sql[..e]) {
                return Some(s);
            }
        }
        if let Some(&(s, _)) = candidates.last() {
            return Some(s);
        }
    }
    sql.rfind(near)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(sql: &str) -> PgError {
        match parse(sql) {
            Err(e) => e,
            Ok(_) => panic!("{sql} parsed"),
        }
    }

    #[test]
    fn statements_are_split_with_their_text() {
        let stmts = parse("SELECT 1; SELECT 2;;").unwrap();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].text, "SELECT 1");
        assert_eq!(stmts[1].text, "SELECT 2");
        assert_eq!(stmts[1].location, 10);
        assert!(parse("").unwrap().is_empty());
        assert!(parse(" ;; ").unwrap().is_empty());
    }

    /// The one-parse path gives what the general path gives: the same
    /// bounds, texts, trees, notices and errors.
    #[test]
    fn one_statement_parsed_once_matches_the_general_path() {
        let long = format!("SELECT {} FROM t", "a".repeat(70));
        let cases = [
            "SELECT 1",
            "SELECT 1;",
            "  /* c */ SELECT abalance FROM pgbench_accounts WHERE aid = -42 ;  ",
            "UPDATE t SET x = x + 1 WHERE id = 3",
            "SELECT abalance FROM pgbench_accounts WHERE aid = -42 ;  ",
            "INSERT INTO t VALUES (1, 'a;b')",
            "-- only a comment",
            ";",
            "",
            "selec 1",
            "SELECT 'abc",
            "SELECT 1 +",
            long.as_str(),
        ];
        for sql in cases {
            let summary = |q: PgResult<QueryStatements>| match q {
                Ok(q) => {
                    let stmts: Vec<_> = (0..q.len())
                        .map(|i| {
                            let s = q.statement(i).unwrap();
                            (s.text, s.location, format!("{:?}", s.node))
                        })
                        .collect();
                    let notices: Vec<_> = q.notices.iter().map(|n| n.message.clone()).collect();
                    Ok((q.bounds, stmts, notices))
                }
                Err(e) => Err((e.sqlstate, e.message, e.position)),
            };
            let single = match parse_single(sql) {
                Ok(Some(q)) => summary(Ok(q)),
                // A statement that does not start the string (PostgreSQL
                // 18's grammar starts it past leading comments), or a `;`
                // inside it, goes the general way.
                Ok(None)
                    if sql.trim_start() != sql
                        || sql.trim_end().trim_end_matches(';').contains(';') =>
                {
                    continue;
                }
                Ok(None) => panic!("{sql:?} should take the one-parse path"),
                Err(e) => summary(Err(e)),
            };
            assert_eq!(single, summary(split_statements(sql)), "{sql:?}");
        }
        // A second `;` sends a string the general way.
        assert!(parse_single("SELECT 1; SELECT 2").unwrap().is_none());
    }

    #[test]
    fn many_statements_keep_only_their_places() {
        let sql = "SELECT 1;".repeat(MAX_KEPT_TREES + 1);
        let q = split(&sql).unwrap();
        assert_eq!(q.len(), MAX_KEPT_TREES + 1);
        assert!(q.kept.is_empty());
        let last = q.statement(MAX_KEPT_TREES).unwrap();
        assert_eq!(last.text, "SELECT 1");
        assert_eq!(last.location, 9 * MAX_KEPT_TREES);
        // A syntax error anywhere fails the whole string before anything runs.
        let bad = format!("{sql} SELEC 2;");
        assert_eq!(
            split(&bad).err().map(|e| e.position),
            Some(Some(9 * (MAX_KEPT_TREES as u32 + 1) + 2))
        );
    }

    #[test]
    fn window_frame_errors_point_at_the_bound() {
        let e = err("select sum(x) over (order by x rows between current row and 1 preceding)");
        assert_eq!(e.sqlstate, sqlstate::WINDOWING_ERROR);
        assert_eq!(e.position, Some(61));
        let e =
            err("select sum(x) over (rows 1 preceding), sum(x) over (rows unbounded following)");
        assert_eq!(e.position, Some(58));
    }

    #[test]
    fn syntax_errors_carry_postgres_positions() {
        let e = err("selec 1");
        assert_eq!(e.sqlstate, sqlstate::SYNTAX_ERROR);
        assert_eq!(e.message, "syntax error at or near \"selec\"");
        assert_eq!(e.position, Some(1));
        assert_eq!(err("select 1 +").position, Some(11));
        assert_eq!(err("select 1; select 1 +").position, Some(21));
        assert_eq!(err("select 1, 2 3").position, Some(13));
        assert_eq!(err("select 3, 2 3").position, Some(13));
        let e = err("select 'abc");
        assert_eq!(e.message, "unterminated quoted string at or near \"'abc\"");
        assert_eq!(e.position, Some(8));
        assert_eq!(err("select 'é', 2 3").position, Some(15));
    }
}
