//! The JSON parser shared by `json` and `jsonb` (PostgreSQL's
//! `common/jsonapi.c`), and the `json` type itself (`utils/adt/json.c`).
//!
//! - The lexer and the grammar are PostgreSQL's, token for token, so errors
//!   are its errors: 22P02 `invalid input syntax for type json` with the
//!   DETAIL of `json_errdetail` ("Expected \":\", but found \"}\".") and the
//!   CONTEXT of `report_json_context` (`JSON data, line 1: {"a"...`);
//!   `\u0000` and broken surrogate pairs are 22P05 / 22P02 only where
//!   escapes are de-escaped (jsonb input, json operators), as in
//!   PostgreSQL, whose `json_in` only validates.
//! - The parser is iterative (an explicit stack of open containers), so no
//!   input can overflow the Rust stack; nesting deeper than
//!   [`MAX_DEPTH`] fails with PostgreSQL's 54001 `stack depth limit
//!   exceeded` (PostgreSQL's own limit is its 2 MB stack: about 14500
//!   levels).
//! - [`parse`] builds a [`Node`] tree whose nodes keep their byte span in
//!   the input, so the `json` operators return sub-values verbatim (`json`
//!   keeps the input text: whitespace, key order, duplicate keys).
//!
//! A `json` value is `Datum::Json(String)`: the validated input text.

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 14000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    ObjectStart,
    ObjectEnd,
    ArrayStart,
    ArrayEnd,
    Comma,
    Colon,
    String,
    Number,
    True,
    False,
    Null,
    End,
    /// Before the first token (PostgreSQL's zeroed `JSON_TOKEN_INVALID`).
    Invalid,
}

/// `JsonParseErrorType`, the cases ferrogres can produce.
#[derive(Clone, Debug)]
enum ErrKind {
    EscapingInvalid,
    EscapingRequired(u8),
    ExpectedArrayNext,
    ExpectedColon,
    ExpectedEnd,
    ExpectedJson,
    ExpectedMore,
    ExpectedObjectFirst,
    ExpectedObjectNext,
    ExpectedString,
    InvalidToken,
    CodePointZero,
    UnicodeEscapeFormat,
    HighSurrogate,
    LowSurrogate,
}

/// A parsed JSON value with its byte span in the input.
#[derive(Clone, Debug)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: NodeKind,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Null,
    Bool(bool),
    /// The number's text, as written.
    Number,
    /// The de-escaped string (empty when not de-escaping).
    String(String),
    Array(Vec<Node>),
    /// Keys in input order, duplicates kept.
    Object(Vec<(String, Node)>),
}

struct Lexer<'a> {
    input: &'a [u8],
    text: &'a str,
    pos: usize,
    token_start: Option<usize>,
    token_terminator: usize,
    tok: Tok,
    line_number: usize,
    line_start: usize,
    de_escape: bool,
    strval: String,
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

impl<'a> Lexer<'a> {
    fn err(&self, kind: ErrKind) -> PgError {
        let token = || {
            let s = self.token_start.unwrap_or(self.token_terminator);
            let e = self.token_terminator.max(s);
            String::from_utf8_lossy(&self.input[s..e]).into_owned()
        };
        let detail = match &kind {
            ErrKind::EscapingInvalid => format!("Escape sequence \"\\{}\" is invalid.", token()),
            ErrKind::EscapingRequired(c) => {
                format!("Character with value 0x{c:02x} must be escaped.")
            }
            ErrKind::ExpectedArrayNext => {
                format!("Expected \",\" or \"]\", but found \"{}\".", token())
            }
            ErrKind::ExpectedColon => format!("Expected \":\", but found \"{}\".", token()),
            ErrKind::ExpectedEnd => format!("Expected end of input, but found \"{}\".", token()),
            ErrKind::ExpectedJson => format!("Expected JSON value, but found \"{}\".", token()),
            ErrKind::ExpectedMore => "The input string ended unexpectedly.".to_string(),
            ErrKind::ExpectedObjectFirst => {
                format!("Expected string or \"}}\", but found \"{}\".", token())
            }
            ErrKind::ExpectedObjectNext => {
                format!("Expected \",\" or \"}}\", but found \"{}\".", token())
            }
            ErrKind::ExpectedString => format!("Expected string, but found \"{}\".", token()),
            ErrKind::InvalidToken => format!("Token \"{}\" is invalid.", token()),
            ErrKind::CodePointZero => "\\u0000 cannot be converted to text.".to_string(),
            ErrKind::UnicodeEscapeFormat => {
                "\"\\u\" must be followed by four hexadecimal digits.".to_string()
            }
            ErrKind::HighSurrogate => {
                "Unicode high surrogate must not follow a high surrogate.".to_string()
            }
            ErrKind::LowSurrogate => {
                "Unicode low surrogate must follow a high surrogate.".to_string()
            }
        };
        let (code, msg) = match kind {
            ErrKind::CodePointZero => ("22P05", "unsupported Unicode escape sequence".to_string()),
            _ => (
                sqlstate::INVALID_TEXT_REPRESENTATION,
                "invalid input syntax for type json".to_string(),
            ),
        };
        PgError::error(code, msg)
            .with_detail(detail)
            .with_context(self.context())
    }

    /// An error of a de-escaped string, reported through byte `s`.
    fn err_at(&mut self, s: usize, kind: ErrKind) -> PgError {
        let mut t = (s + 1).min(self.input.len());
        while t < self.input.len() && !self.text.is_char_boundary(t) {
            t += 1;
        }
        self.token_terminator = t;
        self.err(kind)
    }

    /// `report_json_context`.
    fn context(&self) -> String {
        let line_start = self.line_start;
        let mut context_start = line_start;
        let context_end = self.token_terminator.max(line_start);
        while context_end - context_start >= 50 {
            context_start += 1;
            while context_start < context_end && !self.text.is_char_boundary(context_start) {
                context_start += 1;
            }
        }
        if context_start - line_start <= 3 {
            context_start = line_start;
        }
        let ctxt = String::from_utf8_lossy(&self.input[context_start..context_end]);
        let prefix = if context_start > line_start {
            "..."
        } else {
            ""
        };
        let suffix = if self.tok != Tok::End
            && context_end < self.input.len()
            && self.input[context_end] != b'\n'
            && self.input[context_end] != b'\r'
        {
            "..."
        } else {
            ""
        };
        format!(
            "JSON data, line {}: {prefix}{ctxt}{suffix}",
            self.line_number
        )
    }

    /// `json_lex`: the next token into `tok`.
    fn lex(&mut self) -> PgResult<()> {
        let input = self.input;
        let mut s = self.pos;
        while s < input.len() {
            match input[s] {
                b'\n' => {
                    s += 1;
                    self.line_number += 1;
                    self.line_start = s;
                }
                b' ' | b'\t' | b'\r' => s += 1,
                _ => break,
            }
        }
        if s >= input.len() {
            self.token_start = None;
            self.token_terminator = s;
            self.tok = Tok::End;
            self.pos = s;
            return Ok(());
        }
        self.token_start = Some(s);
        let c = input[s];
        let punct = match c {
            b'{' => Some(Tok::ObjectStart),
            b'}' => Some(Tok::ObjectEnd),
            b'[' => Some(Tok::ArrayStart),
            b']' => Some(Tok::ArrayEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = punct {
            self.token_terminator = s + 1;
            self.pos = s + 1;
            self.tok = t;
            return Ok(());
        }
        match c {
            b'"' => {
                self.lex_string(s)?;
                self.tok = Tok::String;
            }
            b'-' | b'0'..=b'9' => {
                self.lex_number(s)?;
                self.tok = Tok::Number;
            }
            _ => {
                let mut p = s;
                while p < input.len() && is_alnum(input[p]) {
                    p += 1;
                }
                if p == s {
                    // One (possibly multibyte) character.
                    let mut e = s + 1;
                    while e < input.len() && !self.text.is_char_boundary(e) {
                        e += 1;
                    }
                    self.token_terminator = e;
                    return Err(self.err(ErrKind::InvalidToken));
                }
                self.token_terminator = p;
                self.pos = p;
                self.tok = match &input[s..p] {
                    b"true" => Tok::True,
                    b"false" => Tok::False,
                    b"null" => Tok::Null,
                    _ => return Err(self.err(ErrKind::InvalidToken)),
                };
            }
        }
        Ok(())
    }

    fn lex_number(&mut self, start: usize) -> PgResult<()> {
        let input = self.input;
        let n = input.len();
        let mut s = start;
        let mut error = false;
        if s < n && input[s] == b'-' {
            s += 1;
        }
        if s < n && input[s] == b'0' {
            s += 1;
        } else if s < n && input[s].is_ascii_digit() {
            while s < n && input[s].is_ascii_digit() {
                s += 1;
            }
        } else {
            error = true;
        }
        if s < n && input[s] == b'.' {
            s += 1;
            if s == n || !input[s].is_ascii_digit() {
                error = true;
            } else {
                while s < n && input[s].is_ascii_digit() {
                    s += 1;
                }
            }
        }
        if s < n && (input[s] == b'e' || input[s] == b'E') {
            s += 1;
            if s < n && (input[s] == b'+' || input[s] == b'-') {
                s += 1;
            }
            if s == n || !input[s].is_ascii_digit() {
                error = true;
            } else {
                while s < n && input[s].is_ascii_digit() {
                    s += 1;
                }
            }
        }
        while s < n && is_alnum(input[s]) {
            s += 1;
            error = true;
        }
        self.token_terminator = s;
        self.pos = s;
        if error {
            return Err(self.err(ErrKind::InvalidToken));
        }
        Ok(())
    }

    fn lex_string(&mut self, start: usize) -> PgResult<()> {
        let input = self.input;
        let n = input.len();
        let mut s = start;
        let mut hi_surrogate: i32 = -1;
        self.strval.clear();
        let de = self.de_escape;
        // Start of the run of plain bytes not yet appended to strval.
        let mut run = start + 1;
        loop {
            s += 1;
            if s >= n {
                self.token_terminator = s;
                return Err(self.err(ErrKind::InvalidToken));
            }
            let c = input[s];
            if c == b'"' {
                break;
            } else if c < 32 {
                self.token_terminator = s;
                return Err(self.err(ErrKind::EscapingRequired(c)));
            } else if c == b'\\' {
                if de && run < s {
                    if hi_surrogate != -1 {
                        return Err(self.err_at(s, ErrKind::LowSurrogate));
                    }
                    self.strval.push_str(&self.text[run..s]);
                }
                s += 1;
                if s >= n {
                    self.token_terminator = s;
                    return Err(self.err(ErrKind::InvalidToken));
                } else if input[s] == b'u' {
                    let mut ch: u32 = 0;
                    for _ in 0..4 {
                        s += 1;
                        if s >= n {
                            self.token_terminator = s;
                            return Err(self.err(ErrKind::InvalidToken));
                        }
                        match (input[s] as char).to_digit(16) {
                            Some(d) => ch = ch * 16 + d,
                            None => {
                                let mut t = s + 1;
                                while t < n && !self.text.is_char_boundary(t) {
                                    t += 1;
                                }
                                self.token_terminator = t;
                                return Err(self.err(ErrKind::UnicodeEscapeFormat));
                            }
                        }
                    }
                    run = s + 1;
                    if de {
                        if (0xD800..=0xDBFF).contains(&ch) {
                            if hi_surrogate != -1 {
                                return Err(self.err_at(s, ErrKind::HighSurrogate));
                            }
                            hi_surrogate = ch as i32;
                            continue;
                        } else if (0xDC00..=0xDFFF).contains(&ch) {
                            if hi_surrogate == -1 {
                                return Err(self.err_at(s, ErrKind::LowSurrogate));
                            }
                            ch = (((hi_surrogate as u32) & 0x3FF) << 10) + (ch & 0x3FF) + 0x10000;
                            hi_surrogate = -1;
                        }
                        if hi_surrogate != -1 {
                            return Err(self.err_at(s, ErrKind::LowSurrogate));
                        }
                        if ch == 0 {
                            return Err(self.err_at(s, ErrKind::CodePointZero));
                        }
                        self.strval.push(char::from_u32(ch).unwrap_or('\u{FFFD}'));
                    }
                } else {
                    let e = input[s];
                    let rep = match e {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        _ => None,
                    };
                    if de && hi_surrogate != -1 {
                        return Err(self.err_at(s, ErrKind::LowSurrogate));
                    }
                    match rep {
                        Some(r) => {
                            if de {
                                self.strval.push(r);
                            }
                        }
                        None => {
                            self.token_start = Some(s);
                            let mut t = s + 1;
                            while t < n && !self.text.is_char_boundary(t) {
                                t += 1;
                            }
                            self.token_terminator = t;
                            return Err(self.err(ErrKind::EscapingInvalid));
                        }
                    }
                    run = s + 1;
                }
            } else if de && hi_surrogate != -1 {
                return Err(self.err_at(s, ErrKind::LowSurrogate));
            }
        }
        if de {
            if hi_surrogate != -1 {
                return Err(self.err_at(s, ErrKind::LowSurrogate));
            }
            if run < s {
                self.strval.push_str(&self.text[run..s]);
            }
        }
        self.token_terminator = s + 1;
        self.pos = s + 1;
        Ok(())
    }

    /// `report_parse_error` for the current token.
    fn parse_error(&self, kind: ErrKind) -> PgError {
        if self.token_start.is_none() || self.tok == Tok::End {
            return self.err(ErrKind::ExpectedMore);
        }
        self.err(kind)
    }
}

/// An open container during parsing.
enum Frame {
    Array(usize, Vec<Node>),
    /// Start, fields so far, the pending key.
    Object(usize, Vec<(String, Node)>, String),
}

/// Parses `text` as JSON. With `de_escape` strings and keys are de-escaped
/// (and `\u` escapes checked, as PostgreSQL does when it needs the value);
/// without, [`NodeKind::String`] holds an empty string.
pub fn parse(text: &str, de_escape: bool) -> PgResult<Node> {
    let mut lx = Lexer {
        input: text.as_bytes(),
        text,
        pos: 0,
        token_start: None,
        token_terminator: 0,
        tok: Tok::Invalid,
        line_number: 1,
        line_start: 0,
        de_escape,
        strval: String::new(),
    };
    lx.lex()?;
    let mut stack: Vec<Frame> = Vec::new();
    // Parse a value (the state "expecting a value").
    'value: loop {
        let start = lx.token_start.unwrap_or(lx.pos);
        let mut node = match lx.tok {
            Tok::ObjectStart => {
                if stack.len() >= MAX_DEPTH {
                    return Err(crate::utils::stack::stack_depth_error());
                }
                lx.lex()?;
                match lx.tok {
                    Tok::String => {
                        let key = std::mem::take(&mut lx.strval);
                        lx.lex()?;
                        if lx.tok != Tok::Colon {
                            return Err(lx.parse_error(ErrKind::ExpectedColon));
                        }
                        lx.lex()?;
                        stack.push(Frame::Object(start, Vec::new(), key));
                        continue 'value;
                    }
                    Tok::ObjectEnd => {
                        let end = lx.token_terminator;
                        lx.lex()?;
                        Node {
                            start,
                            end,
                            kind: NodeKind::Object(Vec::new()),
                        }
                    }
                    _ => return Err(lx.parse_error(ErrKind::ExpectedObjectFirst)),
                }
            }
            Tok::ArrayStart => {
                if stack.len() >= MAX_DEPTH {
                    return Err(crate::utils::stack::stack_depth_error());
                }
                lx.lex()?;
                if lx.tok == Tok::ArrayEnd {
                    let end = lx.token_terminator;
                    lx.lex()?;
                    Node {
                        start,
                        end,
                        kind: NodeKind::Array(Vec::new()),
                    }
                } else {
                    stack.push(Frame::Array(start, Vec::new()));
                    continue 'value;
                }
            }
            Tok::String | Tok::Number | Tok::True | Tok::False | Tok::Null => {
                let kind = match lx.tok {
                    Tok::String => NodeKind::String(std::mem::take(&mut lx.strval)),
                    Tok::Number => NodeKind::Number,
                    Tok::True => NodeKind::Bool(true),
                    Tok::False => NodeKind::Bool(false),
                    _ => NodeKind::Null,
                };
                let end = lx.token_terminator;
                lx.lex()?;
                Node { start, end, kind }
            }
            _ => return Err(lx.parse_error(ErrKind::ExpectedJson)),
        };
        // A value is complete: attach it to the innermost container.
        loop {
            match stack.last_mut() {
                None => {
                    if lx.tok != Tok::End {
                        return Err(lx.parse_error(ErrKind::ExpectedEnd));
                    }
                    return Ok(node);
                }
                Some(Frame::Array(_, items)) => {
                    items.push(node);
                    match lx.tok {
                        Tok::Comma => {
                            lx.lex()?;
                            continue 'value;
                        }
                        Tok::ArrayEnd => {
                            let end = lx.token_terminator;
                            lx.lex()?;
                            let Some(Frame::Array(start, items)) = stack.pop() else {
                                unreachable!("array frame")
                            };
                            node = Node {
                                start,
                                end,
                                kind: NodeKind::Array(items),
                            };
                        }
                        _ => return Err(lx.parse_error(ErrKind::ExpectedArrayNext)),
                    }
                }
                Some(Frame::Object(_, fields, key)) => {
                    fields.push((std::mem::take(key), node));
                    match lx.tok {
                        Tok::Comma => {
                            lx.lex()?;
                            if lx.tok != Tok::String {
                                return Err(lx.parse_error(ErrKind::ExpectedString));
                            }
                            *key = std::mem::take(&mut lx.strval);
                            lx.lex()?;
                            if lx.tok != Tok::Colon {
                                return Err(lx.parse_error(ErrKind::ExpectedColon));
                            }
                            lx.lex()?;
                            continue 'value;
                        }
                        Tok::ObjectEnd => {
                            let end = lx.token_terminator;
                            lx.lex()?;
                            let Some(Frame::Object(start, fields, _)) = stack.pop() else {
                                unreachable!("object frame")
                            };
                            node = Node {
                                start,
                                end,
                                kind: NodeKind::Object(fields),
                            };
                        }
                        _ => return Err(lx.parse_error(ErrKind::ExpectedObjectNext)),
                    }
                }
            }
        }
    }
}

/// `json_in`: validates and keeps the text.
pub fn json_in(s: &str) -> PgResult<String> {
    parse(s, false)?;
    Ok(s.to_string())
}

/// `escape_json`: `s` as a JSON string literal.
pub fn escape_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `json_typeof` of a parsed node.
pub fn node_typeof(n: &Node) -> &'static str {
    match n.kind {
        NodeKind::Null => "null",
        NodeKind::Bool(_) => "boolean",
        NodeKind::Number => "number",
        NodeKind::String(_) => "string",
        NodeKind::Array(_) => "array",
        NodeKind::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(s: &str) -> String {
        let e = parse(s, true).unwrap_err();
        format!(
            "{} | {} | {}",
            e.message,
            e.detail.unwrap_or_default(),
            e.context.unwrap_or_default()
        )
    }

    #[test]
    fn errors_are_postgres_errors() {
        assert_eq!(
            detail("{\"a\":1"),
            "invalid input syntax for type json | The input string ended unexpectedly. | JSON data, line 1: {\"a\":1"
        );
        assert_eq!(
            detail("[1,]"),
            "invalid input syntax for type json | Expected JSON value, but found \"]\". | JSON data, line 1: [1,]"
        );
        assert_eq!(
            detail("{\"a\" 1}"),
            "invalid input syntax for type json | Expected \":\", but found \"1\". | JSON data, line 1: {\"a\" 1..."
        );
        assert!(detail("\"\\u0000\"").starts_with("unsupported Unicode escape sequence"));
        assert!(parse("\"\\u0000\"", false).is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse(&deep, false).unwrap_err().sqlstate,
            sqlstate::STATEMENT_TOO_COMPLEX
        );
        let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse(&ok, false).is_ok());
    }

    #[test]
    fn strings_are_de_escaped() {
        let n = parse(r#""a\n\u00e9\ud83d\ude00b""#, true).unwrap();
        match n.kind {
            NodeKind::String(s) => assert_eq!(s, "a\né😀b"),
            other => panic!("{other:?}"),
        }
    }
}
