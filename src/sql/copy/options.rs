//! COPY's `WITH (...)` options (PostgreSQL's `ProcessCopyOptions`): each
//! option once, then the cross-checks in PostgreSQL 15's order, with its
//! SQLSTATEs and messages.

use pg_query::NodeEnum;
use pg_query::protobuf as pb;

use crate::sql::maintenance::def_arg_string;
use crate::sql::parser::char_position;
use crate::utils::elog::{PgError, PgResult, sqlstate};
use crate::utils::mb::{self, Encoding};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

/// `HEADER`: none, a header line (skipped on input), or `MATCH` (input
/// only: the header's names must equal the columns').
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    No,
    Yes,
    Match,
}

/// `FORCE_QUOTE`: the listed columns, or `*` for all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForceQuote {
    Cols(Vec<String>),
    All,
}

/// The options of one COPY, defaults filled in.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    pub format: CopyFormat,
    pub freeze: bool,
    pub delimiter: u8,
    /// The NULL string, in the server encoding.
    pub null: String,
    pub header: Header,
    pub quote: u8,
    pub escape: u8,
    pub force_quote: ForceQuote,
    pub force_not_null: Vec<String>,
    pub force_null: Vec<String>,
    /// The data's encoding (`ENCODING`); None: the client encoding.
    pub encoding: Option<Encoding>,
}

impl CopyOptions {
    pub fn is_csv(&self) -> bool {
        self.format == CopyFormat::Csv
    }

    pub fn is_binary(&self) -> bool {
        self.format == CopyFormat::Binary
    }

    /// The encoding the data is in.
    pub fn data_encoding(&self) -> Encoding {
        self.encoding.unwrap_or_else(mb::client_encoding)
    }

    /// `ProcessCopyOptions`. `text` is the statement's parsed text (error
    /// positions).
    pub fn parse(options: &[pb::Node], is_from: bool, text: &str) -> PgResult<CopyOptions> {
        let at = |d: &pb::DefElem, e: PgError| {
            if d.location >= 0 {
                e.with_position(char_position(text, d.location as usize))
            } else {
                e
            }
        };
        let redundant = |d: &pb::DefElem| {
            at(
                d,
                PgError::error(sqlstate::SYNTAX_ERROR, "conflicting or redundant options"),
            )
        };
        let mut format: Option<CopyFormat> = None;
        let mut freeze: Option<bool> = None;
        let mut delimiter: Option<String> = None;
        let mut null: Option<String> = None;
        let mut header: Option<Header> = None;
        let mut quote: Option<String> = None;
        let mut escape: Option<String> = None;
        let mut force_quote: Option<ForceQuote> = None;
        let mut force_not_null: Option<Vec<String>> = None;
        let mut force_null: Option<Vec<String>> = None;
        let mut encoding: Option<Encoding> = None;

        for o in options {
            let Some(NodeEnum::DefElem(d)) = o.node.as_ref() else {
                continue;
            };
            let name = d.defname.as_str();
            match name {
                "format" => {
                    if format.is_some() {
                        return Err(redundant(d));
                    }
                    let f = def_string(d)?;
                    format = Some(match f.as_str() {
                        "text" => CopyFormat::Text,
                        "csv" => CopyFormat::Csv,
                        "binary" => CopyFormat::Binary,
                        _ => {
                            return Err(at(
                                d,
                                PgError::error(
                                    sqlstate::INVALID_PARAMETER_VALUE,
                                    format!("COPY format \"{f}\" not recognized"),
                                ),
                            ));
                        }
                    });
                }
                "freeze" => set_once(&mut freeze, def_boolean(d)?, || redundant(d))?,
                "delimiter" => set_once(&mut delimiter, def_string(d)?, || redundant(d))?,
                "null" => set_once(&mut null, def_string(d)?, || redundant(d))?,
                "header" => set_once(&mut header, def_header(d, is_from)?, || redundant(d))?,
                "quote" => set_once(&mut quote, def_string(d)?, || redundant(d))?,
                "escape" => set_once(&mut escape, def_string(d)?, || redundant(d))?,
                "force_quote" => {
                    let v = match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                        Some(NodeEnum::AStar(_)) => ForceQuote::All,
                        _ => ForceQuote::Cols(def_column_list(d, text)?),
                    };
                    set_once(&mut force_quote, v, || redundant(d))?
                }
                "force_not_null" => {
                    set_once(&mut force_not_null, def_column_list(d, text)?, || {
                        redundant(d)
                    })?
                }
                "force_null" => {
                    set_once(&mut force_null, def_column_list(d, text)?, || redundant(d))?
                }
                "encoding" => {
                    let n = def_string(d)?;
                    let Some(enc) = mb::char_to_encoding(&n) else {
                        return Err(at(
                            d,
                            PgError::error(
                                sqlstate::INVALID_PARAMETER_VALUE,
                                "argument to option \"encoding\" must be a valid encoding name",
                            ),
                        ));
                    };
                    set_once(&mut encoding, enc, || redundant(d))?
                }
                // file_fdw's internal option: it skips converting columns,
                // which a COPY statement has no use for.
                "convert_selectively" => {
                    return Err(at(
                        d,
                        PgError::error(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "COPY option \"convert_selectively\" is not supported by ferrogres",
                        ),
                    ));
                }
                _ => {
                    return Err(at(
                        d,
                        PgError::error(
                            sqlstate::SYNTAX_ERROR,
                            format!("option \"{name}\" not recognized"),
                        ),
                    ));
                }
            }
        }

        let format = format.unwrap_or(CopyFormat::Text);
        let csv = format == CopyFormat::Csv;
        let binary = format == CopyFormat::Binary;
        let unsupported = |m: &str| PgError::error(sqlstate::FEATURE_NOT_SUPPORTED, m.to_string());
        let invalid = |m: String| PgError::error(sqlstate::INVALID_PARAMETER_VALUE, m);
        if binary && delimiter.is_some() {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "cannot specify DELIMITER in BINARY mode",
            ));
        }
        if binary && null.is_some() {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "cannot specify NULL in BINARY mode",
            ));
        }
        let delimiter = delimiter.unwrap_or_else(|| if csv { "," } else { "\t" }.into());
        let null = null.unwrap_or_else(|| if csv { "" } else { "\\N" }.into());
        if delimiter.len() != 1 {
            return Err(unsupported(
                "COPY delimiter must be a single one-byte character",
            ));
        }
        let delim = delimiter.as_bytes()[0];
        if delim == b'\n' || delim == b'\r' {
            return Err(invalid(
                "COPY delimiter cannot be newline or carriage return".into(),
            ));
        }
        if null.contains(['\r', '\n']) {
            return Err(invalid(
                "COPY null representation cannot use newline or carriage return".into(),
            ));
        }
        // Text format: a delimiter that backslash escapes could produce is
        // ambiguous.
        if !csv && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&delim) {
            return Err(invalid(format!("COPY delimiter cannot be \"{delimiter}\"")));
        }
        let header = header.unwrap_or(Header::No);
        if binary && header != Header::No {
            return Err(unsupported("cannot specify HEADER in BINARY mode"));
        }
        if !csv && quote.is_some() {
            return Err(unsupported("COPY quote available only in CSV mode"));
        }
        let quote = quote.unwrap_or_else(|| "\"".into());
        if csv && quote.len() != 1 {
            return Err(unsupported(
                "COPY quote must be a single one-byte character",
            ));
        }
        let quote_byte = quote.as_bytes().first().copied().unwrap_or(b'"');
        if csv && delim == quote_byte {
            return Err(invalid("COPY delimiter and quote must be different".into()));
        }
        if !csv && escape.is_some() {
            return Err(unsupported("COPY escape available only in CSV mode"));
        }
        let escape = escape.unwrap_or_else(|| quote.clone());
        if csv && escape.len() != 1 {
            return Err(unsupported(
                "COPY escape must be a single one-byte character",
            ));
        }
        let escape_byte = escape.as_bytes().first().copied().unwrap_or(b'"');
        if force_quote.is_some() {
            if !csv {
                return Err(unsupported("COPY force quote available only in CSV mode"));
            }
            if is_from {
                return Err(unsupported("COPY force quote only available using COPY TO"));
            }
        }
        if force_not_null.is_some() {
            if !csv {
                return Err(unsupported(
                    "COPY force not null available only in CSV mode",
                ));
            }
            if !is_from {
                return Err(unsupported(
                    "COPY force not null only available using COPY FROM",
                ));
            }
        }
        if force_null.is_some() {
            if !csv {
                return Err(unsupported("COPY force null available only in CSV mode"));
            }
            if !is_from {
                return Err(unsupported(
                    "COPY force null only available using COPY FROM",
                ));
            }
        }
        if !binary && null.as_bytes().contains(&delim) {
            return Err(unsupported(
                "COPY delimiter must not appear in the NULL specification",
            ));
        }
        if csv && null.as_bytes().contains(&quote_byte) {
            return Err(unsupported(
                "CSV quote character must not appear in the NULL specification",
            ));
        }
        Ok(CopyOptions {
            format,
            freeze: freeze.unwrap_or(false),
            delimiter: delim,
            null,
            header,
            quote: quote_byte,
            escape: escape_byte,
            force_quote: force_quote.unwrap_or(ForceQuote::Cols(Vec::new())),
            force_not_null: force_not_null.unwrap_or_default(),
            force_null: force_null.unwrap_or_default(),
            encoding,
        })
    }
}

fn set_once<T>(slot: &mut Option<T>, v: T, redundant: impl FnOnce() -> PgError) -> PgResult<()> {
    if slot.is_some() {
        return Err(redundant());
    }
    *slot = Some(v);
    Ok(())
}

/// `defGetString`: 42601 `X requires a parameter` without an argument.
fn def_string(d: &pb::DefElem) -> PgResult<String> {
    def_arg_string(d.arg.as_deref()).ok_or_else(|| {
        PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("{} requires a parameter", d.defname),
        )
    })
}

/// `defGetBoolean`: no argument is true; the integers 0 and 1, and
/// `true`/`false`/`on`/`off` in any case.
fn def_boolean(d: &pb::DefElem) -> PgResult<bool> {
    let bad = || {
        PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("{} requires a Boolean value", d.defname),
        )
    };
    match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
        None => Ok(true),
        Some(NodeEnum::Integer(i)) => match i.ival {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad()),
        },
        Some(_) => def_arg_string(d.arg.as_deref())
            .as_deref()
            .and_then(boolean_word)
            .ok_or_else(bad),
    }
}

fn boolean_word(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "on" => Some(true),
        "false" | "off" => Some(false),
        _ => None,
    }
}

/// `defGetCopyHeaderChoice`: a Boolean or `match` (COPY FROM only).
fn def_header(d: &pb::DefElem, is_from: bool) -> PgResult<Header> {
    let bad = || {
        PgError::error(
            sqlstate::SYNTAX_ERROR,
            "header requires a Boolean value or \"match\"",
        )
    };
    let Some(node) = d.arg.as_deref().and_then(|a| a.node.as_ref()) else {
        return Ok(Header::Yes);
    };
    if let NodeEnum::Integer(i) = node {
        return match i.ival {
            0 => Ok(Header::No),
            1 => Ok(Header::Yes),
            _ => Err(bad()),
        };
    }
    let v = def_arg_string(d.arg.as_deref()).ok_or_else(bad)?;
    if v.eq_ignore_ascii_case("match") {
        if !is_from {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot use \"match\" with HEADER in COPY TO",
            ));
        }
        return Ok(Header::Match);
    }
    match boolean_word(&v) {
        Some(true) => Ok(Header::Yes),
        Some(false) => Ok(Header::No),
        None => Err(bad()),
    }
}

/// A `FORCE_*` option's column list; anything else is PostgreSQL's 22023.
fn def_column_list(d: &pb::DefElem, text: &str) -> PgResult<Vec<String>> {
    if let Some(NodeEnum::List(l)) = d.arg.as_deref().and_then(|a| a.node.as_ref()) {
        return Ok(l
            .items
            .iter()
            .filter_map(|n| match n.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            })
            .collect());
    }
    let e = PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!(
            "argument to option \"{}\" must be a list of column names",
            d.defname
        ),
    );
    Err(if d.location >= 0 {
        e.with_position(char_position(text, d.location as usize))
    } else {
        e
    })
}
