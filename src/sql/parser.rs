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

/// Splits and parses a simple-query string.
pub fn parse(sql: &str) -> PgResult<Vec<Statement>> {
    let result = match pg_query::parse(sql, 0) {
        Ok(r) => r,
        Err(e) => return Err(parse_error(sql, e)),
    };
    let source: Arc<str> = Arc::from(sql);
    let mut out = Vec::new();
    for raw in result.protobuf.stmts {
        let Some(node) = raw.stmt.and_then(|n| n.node) else {
            continue;
        };
        let start = (raw.stmt_location.max(0) as usize).min(sql.len());
        let end = if raw.stmt_len <= 0 {
            sql.len()
        } else {
            (start + raw.stmt_len as usize).min(sql.len())
        };
        let text = sql.get(start..end).unwrap_or(sql);
        out.push(Statement {
            text: text.trim().to_string(),
            node,
            source: source.clone(),
            location: start,
        });
    }
    Ok(out)
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
        pg_query::Error::Parse(m) => m,
        pg_query::Error::Conversion(_) => {
            return PgError::error(
                sqlstate::SYNTAX_ERROR,
                "invalid byte sequence: query string contains a zero byte",
            );
        }
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
    if message.ends_with("at end of input") {
        err = err.with_position(sql.chars().count() as u32 + 1);
    } else if let Some(near) = quoted_near(&message)
        && let Some(byte) = locate_token(sql, &near, &message)
    {
        err = err.with_position(char_position(sql, byte));
    }
    err
}

/// The `X` of `... at or near "X"`.
fn quoted_near(message: &str) -> Option<String> {
    let idx = message.find(" at or near \"")?;
    let rest = &message[idx + " at or near \"".len()..];
    let end = rest.rfind('"')?;
    Some(rest[..end].to_string())
}

fn is_viable_prefix(prefix: &str) -> bool {
    match pg_query::parse(prefix, 0) {
        Ok(_) => true,
        Err(pg_query::Error::Parse(m)) => m.ends_with("at end of input"),
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
