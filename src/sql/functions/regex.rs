//! Regular expressions: `~ ~* !~ !~*`, `SIMILAR TO`, `substring(... from
//! pattern)` and the `regexp_*` functions (PostgreSQL's `regexp.c`).
//!
//! PostgreSQL runs Henry Spencer's ARE engine; ferrogres runs the `regex`
//! crate. [`translate`] rewrites an ARE into the crate's syntax token by
//! token, so that what PostgreSQL accepts means the same here:
//!
//! - `.` and `[^...]` match a newline unless a newline-sensitive flag
//!   (`n`/`m`, `p`) is given; `^`/`$` match at lines only with `n`/`w`.
//! - constraint escapes `\m \M \y \Y \A \Z` and `[[:<:]]`/`[[:>:]]` become
//!   the crate's `\b{start} \b{end} \b \B \A \z`; `\b` is backspace, `\B`
//!   a backslash, `\e`, `\cX`, `\uXXXX`, `\UXXXXXXXX`, `\xHH`, `\0oo`
//!   character entries.
//! - bracket expressions are re-emitted with every literal escaped (the
//!   crate treats `[`, `&&`, `--`, `~~` inside a class as set syntax);
//!   POSIX classes and `\w \s` take the cluster's (C.UTF-8 glibc) meaning,
//!   from tables taken from PostgreSQL 15 (`regex_classes.rs`): `[:digit:]`
//!   and `\d` are only `0-9`, `[:punct:]` has most symbols, and so on.
//! - case-insensitive matching (`~*`, flag `i`) is expanded here with
//!   PostgreSQL's case pairs (`allcases`: a character's lower and upper
//!   case, for ranges each member's too), not the crate's case folding:
//!   `ſ` is not `s`, and `[[:upper:]]` means `[[:alpha:]]`, as there.
//! - embedded options `(?bcegimnpqstwx)` at the start, the `***:` and
//!   `***=` directors and the `x` (expanded) flag are handled here.
//! - PostgreSQL's syntax errors get PostgreSQL's messages
//!   (`invalid regular expression: parentheses () not balanced`, ...),
//!   all 2201B.
//!
//! What the crate cannot do fails instead of being approximated silently:
//! back references (`\1`) and lookahead/lookbehind constraints are 0A000.
//!
//! Match preference: the crate picks the first alternative that matches
//! (Perl's rule); PostgreSQL takes the longest match at the leftmost start
//! when the RE is greedy (its first quantifier is greedy, or it has a `|`).
//! For such an RE a lazy DFA of the `regex-automata` crate (the `regex`
//! crate's own engine) with `MatchKind::All` finds the longest end, and the
//! pattern anchored at that end (`(?:re)\z` on the haystack cut there)
//! gives the groups; so `substring('ab' from 'a|ab')` is `ab` as in
//! PostgreSQL. Which text each group takes within that match still follows
//! the crate's rule (`(a|ab)(c|bcd)` on `abcd` gives `a`/`bcd`, PostgreSQL
//! `ab`/`c`); README's "where ferrogres differs" says so.
//!
//! Compiled regexes are cached per backend (32 entries, least recently
//! used evicted, as PostgreSQL's `MAX_CACHED_RES`), and the crate's program
//! and lazy-DFA sizes are bounded, so a hostile pattern ends in 2201B
//! ("regular expression is too complex"), not in an exhausted backend.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use regex::{Regex, RegexBuilder};
use regex_automata::{Anchored, Input, MatchKind, hybrid};

use super::super::exec::EvalContext;
use super::super::types::{Datum, Type};
use super::{ArgType, Builder, Impl};
use crate::utils::elog::{PgError, PgResult, sqlstate};

type R = PgResult<Datum>;

const INVALID_REGULAR_EXPRESSION: &str = "2201B";
/// PostgreSQL's `MAX_CACHED_RES`.
const CACHE_SIZE: usize = 32;
/// Bound on the crate's compiled program and lazy DFA, per regex.
const SIZE_LIMIT_BYTES: usize = 8 << 20;
/// PostgreSQL's `DUPMAX`: the largest repetition count.
const DUPMAX: u32 = 255;

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        other => panic!("text argument expected, got {other:?}"),
    }
}

fn int(d: &Datum) -> i64 {
    super::super::adt::as_i128(d).expect("integer argument") as i64
}

fn bad_re(msg: &str) -> PgError {
    PgError::error(
        INVALID_REGULAR_EXPRESSION,
        format!("invalid regular expression: {msg}"),
    )
}

fn unsupported(what: &str) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("not supported by ferrogres yet: {what} in regular expressions"),
    )
}

/// Builds a `text[]` result. The only place this module makes an array,
/// so that the array representation can change in one spot.
pub(crate) fn text_array(items: Vec<Option<String>>) -> Datum {
    crate::sql::adt::array::ArrayValue::from_texts(items).into_datum()
}

// --- flags -------------------------------------------------------------------

/// PostgreSQL's `pg_re_flags`: compile options plus `g`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ReFlags {
    pub icase: bool,
    /// `REG_NLSTOP`: `.` and `[^...]` do not match a newline.
    pub nlstop: bool,
    /// `REG_NLANCH`: `^` and `$` match at line boundaries.
    pub nlanch: bool,
    pub expanded: bool,
    pub quote: bool,
    pub glob: bool,
}

impl ReFlags {
    fn apply(&mut self, c: char) -> bool {
        match c {
            'c' => self.icase = false,
            'i' => self.icase = true,
            'm' | 'n' => {
                self.nlstop = true;
                self.nlanch = true;
            }
            'p' => {
                self.nlstop = true;
                self.nlanch = false;
            }
            'w' => {
                self.nlstop = false;
                self.nlanch = true;
            }
            's' => {
                self.nlstop = false;
                self.nlanch = false;
            }
            'x' => self.expanded = true,
            't' => self.expanded = false,
            'q' => self.quote = true,
            _ => return false,
        }
        true
    }
}

/// `parse_re_flags`: the option string of the regexp functions.
pub fn parse_flags(opts: Option<&str>) -> PgResult<ReFlags> {
    let mut f = ReFlags::default();
    for c in opts.unwrap_or("").chars() {
        match c {
            'g' => f.glob = true,
            'b' | 'e' => return Err(unsupported("basic and extended (flags b, e) syntax")),
            c if f.apply(c) => {}
            c => {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid regular expression option: \"{c}\""),
                ));
            }
        }
    }
    Ok(f)
}

fn no_global(f: &ReFlags, func: &str) -> PgResult<()> {
    if f.glob {
        let e = PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("{func}() does not support the \"global\" option"),
        );
        return Err(if func == "regexp_match" {
            e.with_hint("Use the regexp_matches function instead.")
        } else {
            e
        });
    }
    Ok(())
}

// --- translation ARE -> regex crate ----------------------------------------------

/// Appends `c` as a literal to a crate pattern (outside or inside a class).
fn push_literal(out: &mut String, c: char) {
    if c == '<' || c == '>' {
        // `\<` and `\>` are word boundaries in the crate; unescaped, literal.
        out.push(c);
    } else if c.is_ascii_punctuation() || c == ' ' {
        // Escaping other ASCII punctuation is allowed by the crate; a space
        // is escaped in case the crate's verbose mode is ever used.
        if c == ' ' {
            out.push_str("\\x20");
        } else {
            out.push('\\');
            out.push(c);
        }
    } else if c.is_control() || c.is_whitespace() {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// The characters a pattern character matches case-insensitively: its
/// `towlower` and its `towupper` (PostgreSQL's `allcases`; so a title-case
/// `ǅ` matches `ǆ` and `Ǆ` but not itself, as there).
fn cases(c: char) -> [char; 2] {
    [
        super::scalar::simple_lower(c),
        super::scalar::simple_upper(c),
    ]
}

/// A literal outside brackets, expanded to its cases under `icase`.
fn push_char(out: &mut String, c: char, icase: bool) {
    let [l, u] = cases(c);
    if !icase || (l == c && u == c) {
        push_literal(out, c);
        return;
    }
    if l == u {
        push_literal(out, l);
        return;
    }
    out.push('[');
    push_literal(out, l);
    push_literal(out, u);
    out.push(']');
}

/// Ranges up to this size get their characters' cases added under `icase`.
const MAX_CASED_RANGE: u32 = 20_000;

struct Translator<'a> {
    p: &'a [char],
    i: usize,
    flags: ReFlags,
    out: String,
    /// The greediness of the first quantifier or `|` met (PostgreSQL's
    /// rule for the whole RE's preference), and whether a `|` is at top level.
    first_greedy: Option<bool>,
    top_level_alternation: bool,
}

impl Translator<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.p.get(self.i + k).copied()
    }

    /// `[[:<:]]` / `[[:>:]]` at the cursor (which is on the first `[`).
    fn word_boundary_bracket(&self) -> Option<&'static str> {
        let rest: String = self.p[self.i..].iter().take(7).collect();
        match rest.as_str() {
            "[[:<:]]" => Some("\\b{start}"),
            "[[:>:]]" => Some("\\b{end}"),
            _ => None,
        }
    }

    /// A character-entry escape after `\` (cursor on the letter), as a char.
    fn char_entry(&mut self, c: char) -> PgResult<Option<char>> {
        let hex = |t: &mut Self, max: usize, exact: bool| -> PgResult<char> {
            let mut v: u32 = 0;
            let mut n = 0;
            while n < max {
                match t.peek(1).and_then(|c| c.to_digit(16)) {
                    Some(d) => {
                        v = v.saturating_mul(16).saturating_add(d);
                        t.i += 1;
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 || (exact && n != max) {
                return Err(bad_re("invalid escape \\ sequence"));
            }
            char::from_u32(v)
                .filter(|&c| c != '\0' || max == 0)
                .ok_or_else(|| bad_re("invalid escape \\ sequence"))
        };
        Ok(Some(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'B' => '\\',
            'e' => '\u{1B}',
            'f' => '\u{C}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{B}',
            'c' => match self.peek(1) {
                Some(x) => {
                    self.i += 1;
                    char::from_u32(x as u32 & 0x1F).expect("a control character")
                }
                None => return Err(bad_re("invalid escape \\ sequence")),
            },
            'u' => hex(self, 4, true)?,
            'U' => hex(self, 8, true)?,
            'x' => hex(self, 8, false)?,
            '0' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match self.peek(1).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if v == 0 {
                    return Err(bad_re("invalid escape \\ sequence"));
                }
                char::from_u32(v).expect("an octal escape below 64")
            }
            _ => return Ok(None),
        }))
    }

    /// A bracket expression; the cursor is on `[`, and ends after `]`.
    fn bracket(&mut self) -> PgResult<()> {
        self.i += 1;
        let mut out = String::from("[");
        if self.peek(0) == Some('^') {
            out.push('^');
            self.i += 1;
            if self.flags.nlstop {
                out.push_str("\\n");
            }
        }
        let mut first = true;
        // The previous item, when it was a single character that may start a range.
        loop {
            let Some(c) = self.peek(0) else {
                return Err(bad_re("brackets [] not balanced"));
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            // One element: a class, a collating element or a character.
            let start: char = if c == '[' && matches!(self.peek(1), Some(':' | '.' | '=')) {
                let kind = self.peek(1).expect("checked");
                let body_start = self.i + 2;
                let mut j = body_start;
                while j + 1 < self.p.len() && !(self.p[j] == kind && self.p[j + 1] == ']') {
                    j += 1;
                }
                if j + 1 >= self.p.len() {
                    return Err(bad_re("brackets [] not balanced"));
                }
                let name: String = self.p[body_start..j].iter().collect();
                self.i = j + 2;
                if kind == ':' {
                    // Under icase, PostgreSQL takes upper and lower as alpha.
                    let name = if self.flags.icase && (name == "upper" || name == "lower") {
                        "alpha"
                    } else {
                        name.as_str()
                    };
                    out.push_str(posix_class(name)?);
                    continue;
                }
                let mut chars = name.chars();
                match (chars.next(), chars.next()) {
                    (Some(ch), None) => ch,
                    _ => return Err(bad_re("invalid collating element")),
                }
            } else if c == '\\' {
                let Some(e) = self.peek(1) else {
                    return Err(bad_re("invalid escape \\ sequence"));
                };
                self.i += 1;
                match e {
                    'd' => {
                        self.i += 1;
                        out.push_str("0-9");
                        continue;
                    }
                    's' | 'w' => {
                        self.i += 1;
                        out.push_str(posix_class(if e == 's' { "space" } else { "word" })?);
                        continue;
                    }
                    'D' | 'S' | 'W' => return Err(bad_re("invalid escape \\ sequence")),
                    _ => {}
                }
                let ch = match self.char_entry(e)? {
                    Some(ch) => ch,
                    None if e.is_alphanumeric() => {
                        return Err(bad_re("invalid escape \\ sequence"));
                    }
                    None => e,
                };
                self.i += 1;
                ch
            } else {
                self.i += 1;
                c
            };
            // A range `start-end`?
            if self.peek(0) == Some('-') && self.peek(1).is_some_and(|n| n != ']') {
                self.i += 1;
                let end = match self.peek(0) {
                    Some('\\') => {
                        let e = self
                            .peek(1)
                            .ok_or_else(|| bad_re("invalid escape \\ sequence"))?;
                        self.i += 1;
                        let ch = match self.char_entry(e)? {
                            Some(ch) => ch,
                            None if e.is_alphanumeric() => {
                                return Err(bad_re("invalid escape \\ sequence"));
                            }
                            None => e,
                        };
                        self.i += 1;
                        ch
                    }
                    Some('[') if matches!(self.peek(1), Some('.' | '=')) => {
                        let kind = self.peek(1).expect("checked");
                        match (self.peek(2), self.peek(3), self.peek(4)) {
                            (Some(ch), Some(k), Some(']')) if k == kind => {
                                self.i += 5;
                                ch
                            }
                            _ => return Err(bad_re("invalid collating element")),
                        }
                    }
                    Some(ch) => {
                        self.i += 1;
                        ch
                    }
                    None => return Err(bad_re("brackets [] not balanced")),
                };
                if end < start {
                    return Err(bad_re("invalid character range"));
                }
                push_literal(&mut out, start);
                out.push('-');
                push_literal(&mut out, end);
                if self.flags.icase && (end as u32 - start as u32) < MAX_CASED_RANGE {
                    for c in start..=end {
                        for x in &cases(c) {
                            if !(start..=end).contains(x) {
                                push_literal(&mut out, *x);
                            }
                        }
                    }
                }
            } else if self.flags.icase {
                for x in cases(start) {
                    push_literal(&mut out, x);
                }
            } else {
                push_literal(&mut out, start);
            }
        }
        out.push(']');
        self.out.push_str(&out);
        Ok(())
    }

    fn run(mut self) -> PgResult<(String, bool)> {
        // Directors and embedded options.
        let mut flags = self.flags;
        if self.p.starts_with(&['*', '*', '*', '=']) {
            self.i = 4;
            flags.quote = true;
        } else if self.p.starts_with(&['*', '*', '*', ':']) {
            self.i = 4;
        }
        if !flags.quote && self.peek(0) == Some('(') && self.peek(1) == Some('?') {
            let mut j = self.i + 2;
            let mut f = flags;
            let mut ok = true;
            while j < self.p.len() && self.p[j] != ')' {
                let c = self.p[j];
                if c == 'b' || c == 'e' {
                    return Err(unsupported("basic and extended (options b, e) syntax"));
                }
                if !f.apply(c) {
                    ok = false;
                    break;
                }
                j += 1;
            }
            if ok && j < self.p.len() && j > self.i + 2 {
                flags = f;
                self.i = j + 1;
            } else if !ok && matches!(self.peek(2), Some('=' | '!' | '<')) {
                // A lookaround, reported below.
            } else if !ok && self.peek(2) != Some(':') {
                return Err(bad_re("invalid embedded option"));
            }
        }
        self.flags = flags;
        // Case-insensitivity is done here, character by character, with
        // PostgreSQL's case pairs rather than the crate's case folding.
        let mut prefix = String::new();
        if flags.nlanch {
            prefix.push('m');
        }
        if !flags.nlstop {
            prefix.push('s');
        }
        if !prefix.is_empty() {
            self.out = format!("(?{prefix})");
        }
        if flags.quote {
            for &c in &self.p[self.i..] {
                push_char(&mut self.out, c, flags.icase);
            }
            return Ok((self.out, true));
        }
        let mut depth = 0usize;
        // Whether the last item can take a quantifier.
        let mut atom = false;
        while let Some(c) = self.peek(0) {
            if flags.expanded && c.is_whitespace() {
                self.i += 1;
                continue;
            }
            if flags.expanded && c == '#' {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
                continue;
            }
            match c {
                '*' | '+' | '?' => {
                    if !atom {
                        return Err(bad_re("quantifier operand invalid"));
                    }
                    self.out.push(c);
                    self.i += 1;
                    let lazy = self.peek(0) == Some('?');
                    if lazy {
                        self.out.push('?');
                        self.i += 1;
                    }
                    self.first_greedy.get_or_insert(!lazy);
                    atom = false;
                }
                '{' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => {
                    if !atom {
                        return Err(bad_re("quantifier operand invalid"));
                    }
                    self.i += 1;
                    let num = |t: &mut Self| -> Option<u32> {
                        let mut v: Option<u32> = None;
                        while let Some(d) = t.peek(0).and_then(|c| c.to_digit(10)) {
                            v = Some(v.unwrap_or(0).saturating_mul(10).saturating_add(d));
                            t.i += 1;
                        }
                        v
                    };
                    let m = num(&mut self).expect("a digit follows");
                    let mut n = Some(m);
                    let mut comma = false;
                    if self.peek(0) == Some(',') {
                        comma = true;
                        self.i += 1;
                        n = num(&mut self);
                    }
                    if self.peek(0) != Some('}') {
                        return Err(bad_re(
                            if self.peek(0).is_none()
                                || self.peek(0).is_some_and(|c| c.is_ascii_digit())
                            {
                                "braces {} not balanced"
                            } else {
                                "invalid repetition count(s)"
                            },
                        ));
                    }
                    self.i += 1;
                    if m > DUPMAX || n.is_some_and(|n| n > DUPMAX || n < m) {
                        return Err(bad_re("invalid repetition count(s)"));
                    }
                    match (comma, n) {
                        (false, _) => self.out.push_str(&format!("{{{m}}}")),
                        (true, Some(n)) => self.out.push_str(&format!("{{{m},{n}}}")),
                        (true, None) => self.out.push_str(&format!("{{{m},}}")),
                    }
                    let lazy = self.peek(0) == Some('?');
                    if lazy {
                        self.out.push('?');
                        self.i += 1;
                    }
                    // `{m}` has no greediness of its own.
                    if comma {
                        self.first_greedy.get_or_insert(!lazy);
                    }
                    atom = false;
                }
                '(' => {
                    self.i += 1;
                    if self.peek(0) == Some('?') {
                        match self.peek(1) {
                            Some(':') => {
                                self.i += 2;
                                self.out.push_str("(?:");
                            }
                            Some('=' | '!') => return Err(unsupported("lookahead constraints")),
                            Some('<') if matches!(self.peek(2), Some('=' | '!')) => {
                                return Err(unsupported("lookbehind constraints"));
                            }
                            _ => return Err(bad_re("quantifier operand invalid")),
                        }
                    } else {
                        self.out.push('(');
                    }
                    depth += 1;
                    atom = false;
                }
                ')' => {
                    if depth == 0 {
                        return Err(bad_re("parentheses () not balanced"));
                    }
                    depth -= 1;
                    self.i += 1;
                    self.out.push(')');
                    atom = true;
                }
                '|' => {
                    self.first_greedy.get_or_insert(true);
                    if depth == 0 {
                        self.top_level_alternation = true;
                    }
                    self.i += 1;
                    self.out.push('|');
                    atom = false;
                }
                '^' | '$' => {
                    self.i += 1;
                    self.out.push(c);
                    atom = false;
                }
                '.' => {
                    self.i += 1;
                    self.out.push('.');
                    atom = true;
                }
                '[' => {
                    if let Some(b) = self.word_boundary_bracket() {
                        self.i += 7;
                        self.out.push_str(b);
                        atom = false;
                    } else {
                        self.bracket()?;
                        atom = true;
                    }
                }
                '\\' => {
                    let Some(e) = self.peek(1) else {
                        return Err(bad_re("invalid escape \\ sequence"));
                    };
                    self.i += 1;
                    atom = true;
                    match e {
                        'd' => self.out.push_str("[0-9]"),
                        'D' => self
                            .out
                            .push_str(if flags.nlstop { "[^0-9\\n]" } else { "[^0-9]" }),
                        's' | 'S' | 'w' | 'W' => {
                            let class = if e.eq_ignore_ascii_case(&'s') {
                                "space"
                            } else {
                                "word"
                            };
                            self.out
                                .push_str(if e.is_ascii_lowercase() { "[" } else { "[^" });
                            self.out.push_str(posix_class(class)?);
                            self.out.push(']');
                        }
                        'm' | 'M' | 'y' | 'Y' | 'A' | 'Z' => {
                            self.out.push_str(match e {
                                'm' => "\\b{start}",
                                'M' => "\\b{end}",
                                'y' => "\\b",
                                'Y' => "\\B",
                                'A' => "\\A",
                                _ => "\\z",
                            });
                            atom = false;
                        }
                        '1'..='9' => return Err(unsupported("back references")),
                        _ => match self.char_entry(e)? {
                            Some(ch) => push_char(&mut self.out, ch, flags.icase),
                            None if e.is_alphanumeric() => {
                                return Err(bad_re("invalid escape \\ sequence"));
                            }
                            None => push_char(&mut self.out, e, flags.icase),
                        },
                    }
                    self.i += 1;
                }
                c => {
                    self.i += 1;
                    push_char(&mut self.out, c, flags.icase);
                    atom = true;
                }
            }
        }
        if depth > 0 {
            return Err(bad_re("parentheses () not balanced"));
        }
        let greedy = self.top_level_alternation || self.first_greedy.unwrap_or(true);
        Ok((self.out, greedy))
    }
}

/// A class's ranges as items of a crate bracket expression.
fn class_items(ranges: &[(u32, u32)]) -> String {
    let mut out = String::with_capacity(ranges.len() * 16);
    for &(a, b) in ranges {
        if a == b {
            out.push_str(&format!("\\x{{{a:X}}}"));
        } else {
            out.push_str(&format!("\\x{{{a:X}}}-\\x{{{b:X}}}"));
        }
    }
    out
}

/// A POSIX class name inside brackets, as the crate's class items, with the
/// meaning of PostgreSQL's `pg_wc_isX` in the cluster's locale
/// (`regex_classes.rs`).
fn posix_class(name: &str) -> PgResult<&'static str> {
    use super::regex_classes as c;
    use std::sync::OnceLock;
    static ALPHA: OnceLock<String> = OnceLock::new();
    static ALNUM: OnceLock<String> = OnceLock::new();
    static WORD: OnceLock<String> = OnceLock::new();
    static UPPER: OnceLock<String> = OnceLock::new();
    static LOWER: OnceLock<String> = OnceLock::new();
    static SPACE: OnceLock<String> = OnceLock::new();
    static PUNCT: OnceLock<String> = OnceLock::new();
    static GRAPH: OnceLock<String> = OnceLock::new();
    static PRINT: OnceLock<String> = OnceLock::new();
    Ok(match name {
        "alpha" => ALPHA.get_or_init(|| class_items(c::ALPHA)),
        "alnum" => ALNUM.get_or_init(|| class_items(c::ALPHA) + "0-9"),
        "word" => WORD.get_or_init(|| class_items(c::ALPHA) + "0-9_"),
        "digit" => "0-9",
        "xdigit" => "0-9A-Fa-f",
        "upper" => UPPER.get_or_init(|| class_items(c::UPPER)),
        "lower" => LOWER.get_or_init(|| class_items(c::LOWER)),
        "space" => SPACE.get_or_init(|| class_items(c::SPACE)),
        "blank" => " \\t",
        "cntrl" => "\\x00-\\x1F\\x7F-\\x9F",
        "punct" => PUNCT.get_or_init(|| class_items(c::PUNCT)),
        "graph" => GRAPH.get_or_init(|| class_items(c::GRAPH)),
        "print" => PRINT.get_or_init(|| class_items(c::PRINT)),
        _ => return Err(bad_re("invalid character class")),
    })
}

/// Translates an ARE with flags into the crate's syntax (see the module
/// doc), and says whether the RE prefers the longest match.
pub fn translate_with_preference(pattern: &str, flags: ReFlags) -> PgResult<(String, bool)> {
    let chars: Vec<char> = pattern.chars().collect();
    let t = Translator {
        p: &chars,
        i: 0,
        flags,
        out: String::new(),
        first_greedy: None,
        top_level_alternation: false,
    };
    t.run()
}

#[cfg(test)]
fn translate(pattern: &str, flags: ReFlags) -> PgResult<String> {
    Ok(translate_with_preference(pattern, flags)?.0)
}

// --- the compiled-regex cache ----------------------------------------------------

/// A compiled regex: the crate's `Regex` (captures, leftmost-first), and
/// for an RE that prefers the longest match a lazy DFA reporting every
/// match end (`MatchKind::All`), from which the longest end at the
/// leftmost start is taken; `ended` is the pattern anchored at its end
/// (`(?:re)\z`), compiled on first need, to find the groups of that match.
pub struct Compiled {
    pub re: Regex,
    translated: String,
    longest: Option<hybrid::dfa::DFA>,
    dfa_cache: RefCell<Option<hybrid::dfa::Cache>>,
    ended: OnceCell<Option<Regex>>,
}

impl Compiled {
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// The end of the longest match starting at `start`, if the DFA can
    /// tell (it gives up on a non-ASCII word boundary or a full cache).
    fn longest_end(&self, s: &str, start: usize) -> Option<usize> {
        let dfa = self.longest.as_ref()?;
        let mut cache = self.dfa_cache.borrow_mut();
        let cache = cache.get_or_insert_with(|| dfa.create_cache());
        let input = Input::new(s).range(start..).anchored(Anchored::Yes);
        dfa.try_search_fwd(cache, &input)
            .ok()
            .flatten()
            .map(|h| h.offset())
    }

    fn ended(&self) -> Option<&Regex> {
        self.ended
            .get_or_init(|| {
                RegexBuilder::new(&format!("(?:{})\\z", self.translated))
                    .size_limit(SIZE_LIMIT_BYTES)
                    .dfa_size_limit(SIZE_LIMIT_BYTES)
                    .nest_limit(1000)
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

thread_local! {
    /// Most recently used first.
    static CACHE: RefCell<Vec<(String, ReFlags, Rc<Compiled>)>> = const { RefCell::new(Vec::new()) };
}

fn compile_error(e: regex::Error) -> PgError {
    match e {
        regex::Error::CompiledTooBig(_) => bad_re("regular expression is too complex"),
        regex::Error::Syntax(s) => {
            let last = s.lines().rev().find(|l| l.starts_with("error:"));
            bad_re(
                last.map(|l| l.trim_start_matches("error: "))
                    .unwrap_or("syntax error"),
            )
        }
        _ => bad_re("syntax error"),
    }
}

/// `RE_compile_and_cache`: the compiled regex of `pattern` under `flags`
/// (the `g` flag does not change compilation).
pub fn compile(pattern: &str, flags: ReFlags) -> PgResult<Rc<Compiled>> {
    let key = ReFlags {
        glob: false,
        ..flags
    };
    if let Some(re) = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let pos = c.iter().position(|(p, f, _)| *f == key && p == pattern)?;
        let entry = c.remove(pos);
        let re = entry.2.clone();
        c.insert(0, entry);
        Some(re)
    }) {
        return Ok(re);
    }
    let (translated, greedy) = translate_with_preference(pattern, key)?;
    let re = RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT_BYTES)
        .dfa_size_limit(SIZE_LIMIT_BYTES)
        .nest_limit(1000)
        .build()
        .map_err(compile_error)?;
    // Only an RE with alternatives or quantifiers can match in several
    // lengths at one start; the others need no second engine.
    let longest = if greedy && re.captures_len() > 0 && may_vary(&translated) {
        hybrid::dfa::DFA::builder()
            .configure(
                hybrid::dfa::DFA::config()
                    .match_kind(MatchKind::All)
                    .unicode_word_boundary(true)
                    .cache_capacity(2 << 20),
            )
            .syntax(regex_automata::util::syntax::Config::new().nest_limit(1000))
            .thompson(
                regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(SIZE_LIMIT_BYTES)),
            )
            .build(&translated)
            .ok()
    } else {
        None
    };
    let compiled = Rc::new(Compiled {
        re,
        translated,
        longest,
        dfa_cache: RefCell::new(None),
        ended: OnceCell::new(),
    });
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.insert(0, (pattern.to_string(), key, compiled.clone()));
        c.truncate(CACHE_SIZE);
    });
    Ok(compiled)
}

/// Whether a translated pattern has an alternation or a quantifier.
fn may_vary(translated: &str) -> bool {
    translated.contains(['|', '*', '+', '?', '{'])
}

// --- matching ------------------------------------------------------------------

/// One match: byte ranges of the whole match and of each group.
struct Match {
    whole: (usize, usize),
    groups: Vec<Option<(usize, usize)>>,
}

/// Byte offset of character `n` (0-based) of `s`, or `None` past the end.
fn char_offset(s: &str, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(0);
    }
    match s.char_indices().nth(n) {
        Some((b, _)) => Some(b),
        None if s.chars().count() == n => Some(s.len()),
        None => None,
    }
}

fn char_pos(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

/// `setup_regexp_matches`: the matches of `re` in `s` from character
/// `start` (0-based), all of them when `glob`; `ignore_degenerate` drops
/// empty matches at the end or right after the previous match (for the
/// split functions).
fn find_matches(
    cx: &mut EvalContext,
    re: &Compiled,
    s: &str,
    start: usize,
    glob: bool,
    ignore_degenerate: bool,
) -> PgResult<Vec<Match>> {
    let mut out = Vec::new();
    let Some(mut search) = char_offset(s, start) else {
        return Ok(out);
    };
    let mut prev_end = 0usize;
    let mut locs = re.re.capture_locations();
    while search <= s.len() {
        cx.server.check_for_interrupts()?;
        let Some(m) = re.re.captures_read_at(&mut locs, s, search) else {
            break;
        };
        let (so, mut eo) = (m.start(), m.end());
        let mut groups: Vec<Option<(usize, usize)>> =
            (1..locs.len()).map(|g| locs.get(g)).collect();
        // PostgreSQL's preference: the longest match at the leftmost start.
        if let Some(l) = re.longest_end(s, so).filter(|&l| l > eo)
            && let Some(ended) = re.ended()
        {
            let mut l_locs = ended.capture_locations();
            if ended
                .captures_read_at(&mut l_locs, &s[..l], so)
                .is_some_and(|m| m.start() == so)
            {
                eo = l;
                groups = (1..l_locs.len()).map(|g| l_locs.get(g)).collect();
            }
        }
        if !ignore_degenerate || (so < s.len() && eo > prev_end) {
            out.push(Match {
                whole: (so, eo),
                groups,
            });
        }
        prev_end = eo;
        if !glob {
            break;
        }
        search = eo;
        if so == eo {
            match s[eo..].chars().next() {
                Some(c) => search += c.len_utf8(),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The array `regexp_match(es)` returns for one match: the groups, or the
/// whole match when there are none.
fn match_array(s: &str, m: &Match) -> Datum {
    if m.groups.is_empty() {
        return text_array(vec![Some(s[m.whole.0..m.whole.1].to_string())]);
    }
    text_array(
        m.groups
            .iter()
            .map(|g| g.map(|(a, b)| s[a..b].to_string()))
            .collect(),
    )
}

fn flags_arg(a: &[Datum], i: usize) -> Option<&str> {
    a.get(i).map(text)
}

fn positive(d: Option<&Datum>, name: &str, min: i64) -> PgResult<i64> {
    let Some(d) = d else { return Ok(1) };
    let v = int(d);
    if v < min {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"{name}\": {v}"),
        ));
    }
    Ok(v)
}

// --- operators -------------------------------------------------------------------

fn re_match(a: &[Datum], icase: bool) -> PgResult<bool> {
    let flags = ReFlags {
        icase,
        ..ReFlags::default()
    };
    Ok(compile(text(&a[1]), flags)?.is_match(text(&a[0])))
}

fn textregexeq(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(re_match(a, false)?))
}

fn textregexne(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(!re_match(a, false)?))
}

fn texticregexeq(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(re_match(a, true)?))
}

fn texticregexne(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(Datum::Bool(!re_match(a, true)?))
}

// --- SIMILAR TO and substring ------------------------------------------------------

/// `similar_escape_internal`: a SQL regular expression as an ARE.
/// `escape` None means no escape character.
pub fn similar_to_are(pat: &str, escape: Option<char>) -> PgResult<String> {
    let mut r = String::from("^(?:");
    let mut afterescape = false;
    let mut incharclass = false;
    let mut nquotes = 0;
    for pchar in pat.chars() {
        if afterescape {
            if pchar == '"' && !incharclass {
                match nquotes {
                    0 => r.push_str("){1,1}?("),
                    1 => r.push_str("){1,1}(?:"),
                    _ => {
                        return Err(PgError::error(
                            INVALID_REGULAR_EXPRESSION,
                            "SQL regular expression may not contain more than two escape-double-quote separators",
                        ));
                    }
                }
                nquotes += 1;
            } else {
                r.push('\\');
                r.push(pchar);
            }
            afterescape = false;
        } else if Some(pchar) == escape {
            afterescape = true;
        } else if incharclass {
            if pchar == '\\' {
                r.push('\\');
            }
            r.push(pchar);
            if pchar == ']' {
                incharclass = false;
            }
        } else if pchar == '[' {
            r.push('[');
            incharclass = true;
        } else if pchar == '%' {
            r.push_str(".*");
        } else if pchar == '_' {
            r.push('.');
        } else if pchar == '(' {
            r.push_str("(?:");
        } else if matches!(pchar, '\\' | '.' | '^' | '$') {
            r.push('\\');
            r.push(pchar);
        } else {
            r.push(pchar);
        }
    }
    r.push_str(")$");
    Ok(r)
}

fn escape_char(e: &str) -> PgResult<Option<char>> {
    let mut it = e.chars();
    match (it.next(), it.next()) {
        (None, _) => Ok(None),
        (Some(c), None) => Ok(Some(c)),
        _ => Err(
            PgError::error(sqlstate::INVALID_ESCAPE_SEQUENCE, "invalid escape string")
                .with_hint("Escape string must be empty or one character."),
        ),
    }
}

/// `similar_to_escape(pattern [, escape])`, and the older non-strict
/// `similar_escape`, where a NULL escape means none.
fn similar_to_escape(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let Datum::Text(pat) = &a[0] else {
        return Ok(Datum::Null);
    };
    let escape = match a.get(1) {
        None => Some('\\'),
        Some(Datum::Text(e)) => escape_char(e)?,
        Some(_) => return Ok(Datum::Null),
    };
    Ok(Datum::Text(similar_to_are(pat, escape)?))
}

/// `textregexsubstr`: the first group's text if the pattern has groups,
/// else the whole match; NULL without a match.
fn regex_substr_impl(cx: &mut EvalContext, s: &str, re: &Compiled) -> R {
    let ms = find_matches(cx, re, s, 0, false, false)?;
    let Some(m) = ms.first() else {
        return Ok(Datum::Null);
    };
    Ok(match m.groups.first() {
        None => Datum::Text(s[m.whole.0..m.whole.1].to_string()),
        Some(Some((a, b))) => Datum::Text(s[*a..*b].to_string()),
        Some(None) => Datum::Null,
    })
}

fn textregexsubstr(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let re = compile(text(&a[1]), ReFlags::default())?;
    regex_substr_impl(cx, text(&a[0]), &re)
}

/// `substring(text similar pattern escape e)`, PostgreSQL's SQL function
/// `substring($1, similar_escape($2, $3))`.
fn substring_similar(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let escape = escape_char(text(&a[2]))?;
    let are = similar_to_are(text(&a[1]), escape)?;
    let re = compile(&are, ReFlags::default())?;
    regex_substr_impl(cx, text(&a[0]), &re)
}

// --- the regexp_* functions --------------------------------------------------------

fn regexp_match(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let flags = parse_flags(flags_arg(a, 2))?;
    no_global(&flags, "regexp_match")?;
    let re = compile(text(&a[1]), flags)?;
    let s = text(&a[0]);
    let ms = find_matches(cx, &re, s, 0, false, false)?;
    Ok(match ms.first() {
        Some(m) => match_array(s, m),
        None => Datum::Null,
    })
}

fn regexp_matches(cx: &mut EvalContext, a: &[Datum], _: &[Type]) -> PgResult<Vec<Datum>> {
    let flags = parse_flags(flags_arg(a, 2))?;
    let re = compile(text(&a[1]), flags)?;
    let s = text(&a[0]);
    let ms = find_matches(cx, &re, s, 0, flags.glob, false)?;
    Ok(ms.iter().map(|m| match_array(s, m)).collect())
}

fn split(cx: &mut EvalContext, a: &[Datum], func: &str) -> PgResult<Vec<Option<String>>> {
    let flags = parse_flags(flags_arg(a, 2))?;
    no_global(&flags, func)?;
    let re = compile(text(&a[1]), flags)?;
    let s = text(&a[0]);
    let ms = find_matches(cx, &re, s, 0, true, true)?;
    let mut out = Vec::with_capacity(ms.len() + 1);
    let mut prev = 0;
    for m in &ms {
        out.push(Some(s[prev..m.whole.0].to_string()));
        prev = m.whole.1;
    }
    out.push(Some(s[prev..].to_string()));
    Ok(out)
}

fn regexp_split_to_array(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    Ok(text_array(split(cx, a, "regexp_split_to_array")?))
}

fn regexp_split_to_table(cx: &mut EvalContext, a: &[Datum], _: &[Type]) -> PgResult<Vec<Datum>> {
    Ok(split(cx, a, "regexp_split_to_table")?
        .into_iter()
        .map(|s| Datum::Text(s.unwrap_or_default()))
        .collect())
}

/// `regexp_replace(source, pattern, replacement [, start [, N]] [, flags])`.
fn regexp_replace(cx: &mut EvalContext, a: &[Datum], t: &[Type], _: Type) -> R {
    let (s, pat, rep) = (text(&a[0]), text(&a[1]), text(&a[2]));
    // The 4-argument form is (..., flags text) or (..., start int).
    let int_start = a.len() > 3 && t[3] != Type::Text;
    let (start, n, flags) = if int_start {
        let start = positive(a.get(3), "start", 1)?;
        let n = match a.get(4) {
            Some(d) => Some(positive(Some(d), "n", 0)?),
            None => None,
        };
        (start, n, parse_flags(flags_arg(a, 5))?)
    } else {
        (1, None, parse_flags(flags_arg(a, 3))?)
    };
    let n = n.unwrap_or(if flags.glob { 0 } else { 1 });
    let re = compile(pat, flags)?;
    let start = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let ms = find_matches(cx, &re, s, start, true, false)?;
    let mut out = super::super::adt::stringinfo::StringInfo::new();
    let mut prev = 0;
    for (k, m) in ms.iter().enumerate() {
        if n > 0 && k as i64 + 1 != n {
            continue;
        }
        out.append(&s[prev..m.whole.0])?;
        append_replacement(&mut out, s, rep, m)?;
        prev = m.whole.1;
        if n > 0 {
            break;
        }
    }
    out.append(&s[prev..])?;
    Ok(Datum::Text(out.into_string()))
}

/// `appendStringInfoRegexpSubstr`: `\1`..`\9` groups, `\&` the match, `\\`.
fn append_replacement(
    out: &mut super::super::adt::stringinfo::StringInfo,
    s: &str,
    rep: &str,
    m: &Match,
) -> PgResult<()> {
    let mut it = rep.char_indices().peekable();
    let mut lit_start = 0;
    while let Some((i, c)) = it.next() {
        if c != '\\' {
            continue;
        }
        let Some(&(_, n)) = it.peek() else { break };
        let span = match n {
            '1'..='9' => {
                let g = n.to_digit(10).expect("a digit") as usize;
                Some(m.groups.get(g - 1).copied().flatten())
            }
            '&' => Some(Some(m.whole)),
            '\\' => None,
            _ => continue,
        };
        out.append(&rep[lit_start..i])?;
        it.next();
        lit_start = i + 2;
        match span {
            Some(Some((a, b))) => out.append(&s[a..b])?,
            Some(None) => {}
            None => out.append("\\")?,
        }
    }
    out.append(&rep[lit_start..])
}

fn regexp_count(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let start = positive(a.get(2), "start", 1)?;
    let flags = parse_flags(flags_arg(a, 3))?;
    no_global(&flags, "regexp_count")?;
    let re = compile(text(&a[1]), flags)?;
    let start = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let ms = find_matches(cx, &re, text(&a[0]), start, true, false)?;
    Ok(Datum::Int4(ms.len() as i32))
}

/// The `n`th match's span of `subexpr` (0: the whole match).
fn nth_span(
    cx: &mut EvalContext,
    s: &str,
    re: &Compiled,
    start: i64,
    n: i64,
    subexpr: i64,
) -> PgResult<Option<(usize, usize)>> {
    let start = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let ms = find_matches(cx, re, s, start, true, false)?;
    let Some(m) = usize::try_from(n - 1).ok().and_then(|k| ms.get(k)) else {
        return Ok(None);
    };
    Ok(if subexpr == 0 {
        Some(m.whole)
    } else {
        usize::try_from(subexpr - 1)
            .ok()
            .and_then(|g| m.groups.get(g).copied().flatten())
    })
}

fn regexp_instr(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let start = positive(a.get(2), "start", 1)?;
    let n = positive(a.get(3), "n", 1)?;
    let endoption = match a.get(4) {
        Some(d) => {
            let v = int(d);
            if v != 0 && v != 1 {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid value for parameter \"endoption\": {v}"),
                ));
            }
            v
        }
        None => 0,
    };
    let flags = parse_flags(flags_arg(a, 5))?;
    no_global(&flags, "regexp_instr")?;
    let subexpr = match a.get(6) {
        Some(d) => positive(Some(d), "subexpr", 0)?,
        None => 0,
    };
    let re = compile(text(&a[1]), flags)?;
    let s = text(&a[0]);
    Ok(Datum::Int4(
        match nth_span(cx, s, &re, start, n, subexpr)? {
            Some((so, eo)) => {
                (if endoption == 1 {
                    char_pos(s, eo)
                } else {
                    char_pos(s, so)
                }) as i32
                    + 1
            }
            None => 0,
        },
    ))
}

fn regexp_like(_: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let flags = parse_flags(flags_arg(a, 2))?;
    no_global(&flags, "regexp_like")?;
    Ok(Datum::Bool(
        compile(text(&a[1]), flags)?.is_match(text(&a[0])),
    ))
}

fn regexp_substr(cx: &mut EvalContext, a: &[Datum], _: &[Type], _: Type) -> R {
    let start = positive(a.get(2), "start", 1)?;
    let n = positive(a.get(3), "n", 1)?;
    let flags = parse_flags(flags_arg(a, 4))?;
    no_global(&flags, "regexp_substr")?;
    let subexpr = match a.get(5) {
        Some(d) => positive(Some(d), "subexpr", 0)?,
        None => 0,
    };
    let re = compile(text(&a[1]), flags)?;
    let s = text(&a[0]);
    Ok(match nth_span(cx, s, &re, start, n, subexpr)? {
        Some((so, eo)) => Datum::Text(s[so..eo].to_string()),
        None => Datum::Null,
    })
}

pub(super) fn register(b: &mut Builder) {
    use crate::sql::types::consts::*;
    for t in [Text, Name] {
        b.op("~", t, Text, Bool, Impl::Scalar(textregexeq));
        b.op("!~", t, Text, Bool, Impl::Scalar(textregexne));
        b.op("~*", t, Text, Bool, Impl::Scalar(texticregexeq));
        b.op("!~*", t, Text, Bool, Impl::Scalar(texticregexne));
    }
    b.func("textregexeq", &[Text, Text], Bool, textregexeq);
    b.func("textregexne", &[Text, Text], Bool, textregexne);
    b.func("texticregexeq", &[Text, Text], Bool, texticregexeq);
    b.func("texticregexne", &[Text, Text], Bool, texticregexne);
    b.func("similar_to_escape", &[Text, Text], Text, similar_to_escape);
    b.func("similar_to_escape", &[Text], Text, similar_to_escape);
    b.func_nonstrict(
        "similar_escape",
        &[ArgType::T(Text), ArgType::T(Text)],
        Text,
        similar_to_escape,
        false,
    );
    b.func("substring", &[Text, Text], Text, textregexsubstr);
    b.func("substring", &[Text, Text, Text], Text, substring_similar);
    b.func("regexp_match", &[Text, Text], TextArray, regexp_match);
    b.func("regexp_match", &[Text, Text, Text], TextArray, regexp_match);
    b.srf("regexp_matches", &[Text, Text], TextArray, regexp_matches);
    b.srf(
        "regexp_matches",
        &[Text, Text, Text],
        TextArray,
        regexp_matches,
    );
    b.srf(
        "regexp_split_to_table",
        &[Text, Text],
        Text,
        regexp_split_to_table,
    );
    b.srf(
        "regexp_split_to_table",
        &[Text, Text, Text],
        Text,
        regexp_split_to_table,
    );
    b.func(
        "regexp_split_to_array",
        &[Text, Text],
        TextArray,
        regexp_split_to_array,
    );
    b.func(
        "regexp_split_to_array",
        &[Text, Text, Text],
        TextArray,
        regexp_split_to_array,
    );
    b.func("regexp_replace", &[Text, Text, Text], Text, regexp_replace);
    b.func(
        "regexp_replace",
        &[Text, Text, Text, Text],
        Text,
        regexp_replace,
    );
    b.func(
        "regexp_replace",
        &[Text, Text, Text, Int4],
        Text,
        regexp_replace,
    );
    b.func(
        "regexp_replace",
        &[Text, Text, Text, Int4, Int4],
        Text,
        regexp_replace,
    );
    b.func(
        "regexp_replace",
        &[Text, Text, Text, Int4, Int4, Text],
        Text,
        regexp_replace,
    );
    b.func("regexp_count", &[Text, Text], Int4, regexp_count);
    b.func("regexp_count", &[Text, Text, Int4], Int4, regexp_count);
    b.func(
        "regexp_count",
        &[Text, Text, Int4, Text],
        Int4,
        regexp_count,
    );
    let mut args = vec![Text, Text];
    for extra in [Int4, Int4, Int4, Text, Int4] {
        args.push(extra);
        b.func("regexp_instr", &args, Int4, regexp_instr);
    }
    b.func("regexp_instr", &[Text, Text], Int4, regexp_instr);
    b.func("regexp_like", &[Text, Text], Bool, regexp_like);
    b.func("regexp_like", &[Text, Text, Text], Bool, regexp_like);
    let mut args = vec![Text, Text];
    b.func("regexp_substr", &args, Text, regexp_substr);
    for extra in [Int4, Int4, Text, Int4] {
        args.push(extra);
        b.func("regexp_substr", &args, Text, regexp_substr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(p: &str) -> String {
        translate(p, ReFlags::default()).unwrap()
    }

    #[test]
    fn are_constructs_become_the_crates() {
        assert_eq!(tr("\\ma\\M"), "(?s)\\b{start}a\\b{end}");
        assert_eq!(tr("[[:<:]]x"), "(?s)\\b{start}x");
        assert_eq!(tr("[a[&]"), "(?s)[a\\[\\&]");
        assert_eq!(tr("\\d+"), "(?s)[0-9]+");
        assert_eq!(tr("<a>"), "(?s)<a>");
        assert_eq!(translate("(?i)a", ReFlags::default()).unwrap(), "(?s)[aA]");
    }

    #[test]
    fn bad_patterns_have_postgresqls_messages() {
        let e = |p: &str| translate(p, ReFlags::default()).unwrap_err();
        assert_eq!(
            e("(").message,
            "invalid regular expression: parentheses () not balanced"
        );
        assert_eq!(
            e("[a").message,
            "invalid regular expression: brackets [] not balanced"
        );
        assert_eq!(
            e("*").message,
            "invalid regular expression: quantifier operand invalid"
        );
        assert_eq!(
            e("a{3,2}").message,
            "invalid regular expression: invalid repetition count(s)"
        );
        assert_eq!(e("(a)\\1").sqlstate, "0A000");
        assert_eq!(e("a(?=b)").sqlstate, "0A000");
    }

    #[test]
    fn similar_to_translation_matches_postgresql() {
        assert_eq!(similar_to_are("a%b_c", Some('\\')).unwrap(), "^(?:a.*b.c)$");
        assert_eq!(
            similar_to_are("a#\"b#\"c", Some('#')).unwrap(),
            "^(?:a){1,1}?(b){1,1}(?:c)$"
        );
    }
}
