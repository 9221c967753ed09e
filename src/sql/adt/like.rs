//! LIKE / ILIKE matching (`like_match.c`): `%` matches any run of
//! characters, `_` one character, and a backslash makes the next pattern
//! character literal. `LIKE ... ESCAPE 'c'` is rewritten to the backslash
//! form by [`like_escape`], as PostgreSQL's `like_escape()` does.

use crate::utils::elog::{PgError, PgResult, sqlstate};

#[derive(PartialEq)]
enum Match {
    True,
    False,
    Abort,
}

fn ends_with_escape() -> PgError {
    PgError::error(
        sqlstate::INVALID_ESCAPE_SEQUENCE,
        "LIKE pattern must not end with escape character",
    )
}

/// `text LIKE pattern`.
pub fn like(text: &str, pattern: &str) -> PgResult<bool> {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    Ok(match_text(&t, &p)? == Match::True)
}

/// `text ILIKE pattern`: both sides lower-cased first.
pub fn ilike(text: &str, pattern: &str) -> PgResult<bool> {
    like(&text.to_lowercase(), &pattern.to_lowercase())
}

fn match_text(mut t: &[char], mut p: &[char]) -> PgResult<Match> {
    if p.len() == 1 && p[0] == '%' {
        return Ok(Match::True);
    }
    while !t.is_empty() && !p.is_empty() {
        if p[0] == '\\' {
            p = &p[1..];
            if p.is_empty() {
                return Err(ends_with_escape());
            }
            if p[0] != t[0] {
                return Ok(Match::False);
            }
        } else if p[0] == '%' {
            p = &p[1..];
            while let Some(&c) = p.first() {
                if c == '%' {
                    p = &p[1..];
                } else if c == '_' {
                    if t.is_empty() {
                        return Ok(Match::Abort);
                    }
                    t = &t[1..];
                    p = &p[1..];
                } else {
                    break;
                }
            }
            if p.is_empty() {
                return Ok(Match::True);
            }
            let firstpat = if p[0] == '\\' {
                if p.len() < 2 {
                    return Err(ends_with_escape());
                }
                p[1]
            } else {
                p[0]
            };
            while !t.is_empty() {
                if t[0] == firstpat {
                    let m = match_text(t, p)?;
                    if m != Match::False {
                        return Ok(m);
                    }
                }
                t = &t[1..];
            }
            return Ok(Match::Abort);
        } else if p[0] == '_' {
            t = &t[1..];
            p = &p[1..];
            continue;
        } else if p[0] != t[0] {
            return Ok(Match::False);
        }
        t = &t[1..];
        p = &p[1..];
    }
    if !t.is_empty() {
        return Ok(Match::False);
    }
    while p.first() == Some(&'%') {
        p = &p[1..];
    }
    Ok(if p.is_empty() {
        Match::True
    } else {
        Match::Abort
    })
}

/// `like_escape(pattern, escape)`: rewrites `pattern` so that `escape`
/// becomes the backslash; an empty escape disables escaping.
pub fn like_escape(pattern: &str, escape: &str) -> PgResult<String> {
    let mut esc = escape.chars();
    let e = match (esc.next(), esc.next()) {
        (None, _) => None,
        (Some(c), None) => Some(c),
        _ => {
            return Err(
                PgError::error(sqlstate::INVALID_ESCAPE_SEQUENCE, "invalid escape string")
                    .with_hint("Escape string must be empty or one character."),
            );
        }
    };
    let mut out = String::with_capacity(pattern.len());
    match e {
        None => {
            for c in pattern.chars() {
                if c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        Some('\\') => out.push_str(pattern),
        Some(e) => {
            let mut after_escape = false;
            for c in pattern.chars() {
                if after_escape {
                    if c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                    after_escape = false;
                } else if c == e {
                    out.push('\\');
                    after_escape = true;
                } else if c == '\\' {
                    out.push_str("\\\\");
                } else {
                    out.push(c);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes() {
        assert!(like("autovacuum launcher", "autovacuum%").unwrap());
        assert!(like("abc", "a_c").unwrap());
        assert!(!like("abc", "a_").unwrap());
        assert!(like("", "%").unwrap());
        assert!(like("a%b", "a\\%b").unwrap());
        assert!(!like("axb", "a\\%b").unwrap());
        assert!(like("50%", "50!%").is_ok_and(|m| !m));
        assert!(like("50%", &like_escape("50!%", "!").unwrap()).unwrap());
        assert!(ilike("ABC", "a%").unwrap());
        assert!(like("ab", "a\\").is_err());
        assert!(!like("abc", "abc\\").unwrap());
        assert!(like_escape("x", "ab").is_err());
    }
}
