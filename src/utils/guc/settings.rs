//! The settings of one process: every parameter's current value, where it
//! came from, its reset value, and the stack that undoes SET at the end of a
//! transaction. This is guc.c's `set_config_option`, `push_old_value`,
//! `AtEOXact_GUC` and friends. Reading the configuration files lives in
//! `reload.rs`, formatting for SHOW and `pg_settings` in `show.rs`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::hooks::{self, CheckError};
use super::params::{
    EnumOption, IS_NAME, Kind, LIST_INPUT, LIST_QUOTE, NO_RESET_ALL, PARAMS, PLACEHOLDER, ParamDef,
};
use super::unimplemented;
use super::value;
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// Who may change a parameter and when (`GucContext`), from most to least
/// restricted. A setting request carries a context too: the one it is made
/// in (`Sighup` for a configuration reload, `Suset` for SET by a superuser,
/// `Userset` for SET by anyone else, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GucContext {
    /// Fixed at compile or initdb time; only the server sets it.
    Internal,
    /// Set at server start (files, command line); needs a restart to change.
    Postmaster,
    /// Set in the files; a reload (SIGHUP) changes it in every process.
    Sighup,
    /// Set at connection start by a superuser (startup packet `options`).
    SuBackend,
    /// Set at connection start by anyone.
    Backend,
    /// SET by superusers.
    Suset,
    /// SET by anyone.
    Userset,
}

impl GucContext {
    /// The word used in `pg_settings.context`.
    pub fn as_str(self) -> &'static str {
        match self {
            GucContext::Internal => "internal",
            GucContext::Postmaster => "postmaster",
            GucContext::Sighup => "sighup",
            GucContext::SuBackend => "superuser-backend",
            GucContext::Backend => "backend",
            GucContext::Suset => "superuser",
            GucContext::Userset => "user",
        }
    }
}

/// Where a value came from (`GucSource`), in increasing priority: a value
/// from a lower-priority source never replaces one from a higher-priority
/// source (so `-c` beats the files, and SET beats a reload).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GucSource {
    /// The boot value.
    Default,
    /// A default computed at start (`max_stack_depth`, `wal_buffers`, …).
    DynamicDefault,
    /// From an environment variable or the platform (`max_stack_depth` below 2MB).
    EnvVar,
    /// postgresql.conf or postgresql.auto.conf.
    File,
    /// `-c name=value` on the server command line.
    Argv,
    /// ALTER SYSTEM-like global catalog setting (unused by PostgreSQL 15 itself).
    Global,
    /// ALTER DATABASE ... SET.
    Database,
    /// ALTER ROLE ... SET.
    User,
    /// ALTER ROLE ... IN DATABASE ... SET.
    DatabaseUser,
    /// The client's startup packet.
    Client,
    /// Set by the server itself.
    Override,
    /// Interactive (unused: reserved by PostgreSQL).
    Interactive,
    /// Test (unused: reserved by PostgreSQL).
    Test,
    /// SET in this session.
    Session,
}

impl GucSource {
    /// The words used in `pg_settings.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            GucSource::Default | GucSource::DynamicDefault => "default",
            GucSource::EnvVar => "environment variable",
            GucSource::File => "configuration file",
            GucSource::Argv => "command line",
            GucSource::Global => "global",
            GucSource::Database => "database",
            GucSource::User => "user",
            GucSource::DatabaseUser => "database user",
            GucSource::Client => "client",
            GucSource::Override => "override",
            GucSource::Interactive => "interactive",
            GucSource::Test => "test",
            GucSource::Session => "session",
        }
    }
}

/// A parameter value in its base unit.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(String),
    /// An option's `val`; shown as the first option with that value.
    Enum(i32),
}

/// Parameters' values at one moment ([`Settings::values_key`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ValuesKey(Vec<Value>);

/// Whether a SET lasts past the transaction (`GucAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// SET / SET SESSION: kept at commit.
    Set,
    /// SET LOCAL: undone at the end of the transaction either way.
    Local,
}

/// What a stack entry remembers having been done at its nest level (`GucStackState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StackState {
    /// SET was done at this level.
    Set,
    /// SET LOCAL was done at this level.
    Local,
    /// SET, then SET LOCAL: `masked` holds the SET value.
    SetLocal,
}

/// One level of a parameter's undo stack (`GucStack`).
#[derive(Clone, Debug)]
struct StackEntry {
    /// Transaction nest level this entry belongs to (1 = top-level transaction).
    nest_level: u32,
    state: StackState,
    /// The value (and its source) before this level changed it.
    prior: Value,
    prior_source: GucSource,
    /// The SET value hidden by a later SET LOCAL at the same level.
    masked: Option<Value>,
}

/// One parameter's state (`struct config_generic` plus its typed part).
#[derive(Clone, Debug)]
pub(super) struct Var {
    /// Canonical spelling (a placeholder keeps the spelling it was created with).
    pub name: String,
    pub def: &'static ParamDef,
    pub value: Value,
    pub source: GucSource,
    /// What RESET goes back to, and where that came from.
    pub reset_value: Value,
    pub reset_source: GucSource,
    /// Undo entries, innermost last; empty outside transactions.
    stack: Vec<StackEntry>,
    /// Where the value was last read from a configuration file.
    pub sourcefile: Option<String>,
    pub sourceline: u32,
    /// Seen in the file during the reload being processed (`GUC_IS_IN_FILE`).
    pub in_file: bool,
    /// The file asks for a value that needs a restart (`GUC_PENDING_RESTART`).
    pub pending_restart: bool,
}

impl Var {
    fn new(name: String, def: &'static ParamDef, value: Value, source: GucSource) -> Var {
        Var {
            name,
            def,
            value: value.clone(),
            source,
            reset_value: value,
            reset_source: source,
            stack: Vec::new(),
            sourcefile: None,
            sourceline: 0,
            in_file: false,
            pending_restart: false,
        }
    }
}

impl Var {
    /// Stacked values that came from the file now count as defaults (the
    /// file no longer holds them).
    pub(super) fn demote_file_sources(&mut self) {
        for entry in self.stack.iter_mut() {
            if entry.prior_source == GucSource::File {
                entry.prior_source = GucSource::Default;
            }
        }
    }
}

/// What a process has reported to its client with ParameterStatus.
#[derive(Clone, Debug, Default)]
struct ReportState {
    /// False until the initial ParameterStatus burst after authentication.
    enabled: bool,
    last_reported: BTreeMap<&'static str, String>,
    /// The raw value behind each `last_reported` entry: an unchanged value
    /// is recognised without formatting it (this runs after every statement).
    last_values: BTreeMap<&'static str, Value>,
}

/// [`ReportState`] behind a Mutex rather than a RefCell, so that Settings
/// stays `Sync` (a process may share its settings with its own threads).
#[derive(Debug)]
struct ReportCell(Mutex<ReportState>);

impl Clone for ReportCell {
    fn clone(&self) -> Self {
        ReportCell(Mutex::new(
            self.0.lock().expect("report state lock").clone(),
        ))
    }
}

/// One constant or identifier in a SET statement's value list, as the
/// parser gives it (`A_Const`), for [`Settings::flatten_set_args`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SetArg<'a> {
    Integer(i64),
    /// A numeric constant, as written.
    Float(&'a str),
    /// A string literal or an identifier.
    Str(&'a str),
}

/// Every parameter of one process, with PostgreSQL's rules for changing
/// them. See the module documentation.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Keyed by the ASCII-lower-cased name; iteration order is SHOW ALL's.
    pub(super) vars: BTreeMap<String, Var>,
    /// Transaction nesting (`GUCNestLevel`): 0 outside a transaction, 1 in
    /// a top-level transaction, +1 per subtransaction.
    nest_level: u32,
    /// True in children of the postmaster: a reload then ignores
    /// backend-context parameters and logs at DEBUG2.
    pub(super) under_postmaster: bool,
    /// Behind a lock so that `reported_parameters(&self)` can remember
    /// what it reported.
    report: ReportCell,
    /// NOTICEs raised while setting values (identifier truncation).
    pub(super) notices: Vec<PgError>,
    /// Keys of the GUC_REPORT parameters (ParameterStatus).
    report_keys: Vec<String>,
    /// Whether any parameter may have a transaction stack entry; lets the
    /// end of a transaction that changed no setting skip the walk over all
    /// parameters.
    any_stacked: bool,
}

// Settings move into forked children and may be shared with a process's threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Settings>();
};

/// SQLSTATE of the NOTICE about a truncated name (NAME_TOO_LONG).
const NAME_TOO_LONG: &str = "42622";
/// SQLSTATE for a malformed custom parameter name (INVALID_NAME).
const INVALID_NAME: &str = "42602";

/// Parameters renamed long ago that PostgreSQL still accepts (`map_old_guc_names`).
const OLD_NAMES: &[(&str, &str)] = &[
    ("sort_mem", "work_mem"),
    ("vacuum_mem", "maintenance_work_mem"),
];

fn key_of(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The value a parameter has before anything sets it: its boot value, or
/// the default PostgreSQL computes at start (`PGC_S_DYNAMIC_DEFAULT`).
pub(super) fn default_value(def: &'static ParamDef) -> (Value, GucSource) {
    match def.name {
        "max_stack_depth" => match hooks::default_max_stack_depth_kb() {
            Some(kb) if kb < 2048 => (Value::Int(kb), GucSource::EnvVar),
            Some(kb) => (Value::Int(kb), GucSource::DynamicDefault),
            None => (boot_value(def), GucSource::Default),
        },
        "timezone_abbreviations" => (Value::Str("Default".into()), GucSource::DynamicDefault),
        // Every ferrogres database is UTF8, and a session's client encoding
        // defaults to the database's.
        "server_encoding" | "client_encoding" => {
            (Value::Str("UTF8".into()), GucSource::DynamicDefault)
        }
        _ => (boot_value(def), GucSource::Default),
    }
}

pub(super) fn boot_value(def: &ParamDef) -> Value {
    match &def.kind {
        Kind::Bool { boot } => Value::Bool(*boot),
        Kind::Int { boot, .. } => Value::Int(*boot),
        Kind::Real { boot, .. } => Value::Real(*boot),
        Kind::Str { boot } => Value::Str(boot.unwrap_or("").to_string()),
        Kind::Enum { boot, .. } => Value::Enum(*boot),
    }
}

/// The name shown for an enum value: the first option with that value.
pub(super) fn enum_name(options: &'static [EnumOption], val: i32) -> &'static str {
    options
        .iter()
        .find(|o| o.val == val)
        .map(|o| o.name)
        .expect("enum value has an option")
}

/// `valid_custom_variable_name`: two or more identifiers separated by dots.
pub(super) fn valid_custom_name(name: &str) -> bool {
    let mut saw_separator = false;
    let mut name_start = true;
    for b in name.bytes() {
        if b == b'.' {
            if name_start {
                return false; // empty name component
            }
            saw_separator = true;
            name_start = true;
        } else if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
            name_start = false;
        } else if !name_start && (b.is_ascii_digit() || b == b'$') {
            // fine as a non-first character
        } else {
            return false;
        }
    }
    !name_start && saw_separator
}

pub(super) fn unrecognized(name: &str) -> PgError {
    PgError::error(
        sqlstate::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

fn cant_change(message: String) -> PgError {
    PgError::error(sqlstate::CANT_CHANGE_RUNTIME_PARAM, message)
}

impl Default for Settings {
    fn default() -> Self {
        Settings::new()
    }
}

impl Settings {
    /// Every parameter at its boot default (plus the defaults PostgreSQL
    /// computes at start: `max_stack_depth` from the stack limit,
    /// `timezone_abbreviations = Default`, UTF8 encodings).
    pub fn new() -> Settings {
        let mut vars = BTreeMap::new();
        for def in PARAMS {
            let (value, source) = default_value(def);
            let previous = vars.insert(
                key_of(def.name),
                Var::new(def.name.to_string(), def, value, source),
            );
            assert!(previous.is_none(), "parameter {} listed twice", def.name);
        }
        // The transaction modes may only come from SET / BEGIN, never from
        // files or the client (InitializeGUCOptions).
        for name in [
            "transaction_isolation",
            "transaction_read_only",
            "transaction_deferrable",
        ] {
            let var = vars.get_mut(name).expect("transaction parameter in table");
            var.source = GucSource::Override;
            var.reset_source = GucSource::Override;
        }
        let report_keys = vars
            .iter()
            .filter(|(_, v)| v.def.flags & super::params::REPORT != 0)
            .map(|(k, _)| k.clone())
            .collect();
        Settings {
            vars,
            nest_level: 0,
            under_postmaster: false,
            report: ReportCell(Mutex::new(ReportState::default())),
            notices: Vec::new(),
            report_keys,
            any_stacked: false,
        }
    }

    /// Marks this copy as belonging to a child of the postmaster (call it in
    /// every forked process). On a reload such a process, like a PostgreSQL
    /// backend, keeps its backend-context parameters and reports problems at
    /// DEBUG2 only, leaving the LOG lines to the postmaster.
    pub fn set_under_postmaster(&mut self, under_postmaster: bool) {
        self.under_postmaster = under_postmaster;
    }

    // -----------------------------------------------------------------
    // Lookup
    // -----------------------------------------------------------------

    /// The key of an existing parameter, following the old aliases.
    pub(super) fn find_key(&self, name: &str) -> Option<String> {
        if self.vars.contains_key(name) {
            return Some(name.to_string());
        }
        let key = key_of(name);
        if self.vars.contains_key(&key) {
            return Some(key);
        }
        OLD_NAMES
            .iter()
            .find(|(old, _)| *old == key)
            .map(|(_, new)| new.to_string())
    }

    /// `find_option(name, create_placeholders = true)`.
    fn find_or_create(&mut self, name: &str) -> PgResult<String> {
        if let Some(key) = self.find_key(name) {
            return Ok(key);
        }
        if !name.contains('.') {
            return Err(unrecognized(name));
        }
        if !valid_custom_name(name) {
            return Err(PgError::error(
                INVALID_NAME,
                format!("invalid configuration parameter name \"{name}\""),
            )
            .with_detail(
                "Custom parameter names must be two or more simple identifiers separated by dots.",
            ));
        }
        let key = key_of(name);
        let (value, source) = default_value(&PLACEHOLDER);
        self.vars.insert(
            key.clone(),
            Var::new(name.to_string(), &PLACEHOLDER, value, source),
        );
        Ok(key)
    }

    pub(super) fn var(&self, name: &str) -> &Var {
        // Callers in the server pass the lower-case key itself: look it up
        // without building the key (a statement reads dozens of settings).
        if let Some(v) = self.vars.get(name) {
            return v;
        }
        let key = self.find_key(name).unwrap_or_else(|| {
            panic!("unknown configuration parameter \"{name}\" (a bug in the caller)")
        });
        &self.vars[&key]
    }

    /// The current values of the parameters `names`, as a token: two
    /// tokens are equal exactly when every value is, so a caller can keep
    /// something derived from them until one changes.
    pub fn values_key(&self, names: &[&str]) -> ValuesKey {
        ValuesKey(names.iter().map(|n| self.var(n).value.clone()).collect())
    }

    /// Whether `key` still holds the current values of `names`.
    pub fn values_match(&self, names: &[&str], key: &ValuesKey) -> bool {
        names.len() == key.0.len()
            && names
                .iter()
                .zip(&key.0)
                .all(|(n, v)| self.var(n).value == *v)
    }

    /// The canonical spelling of a parameter's name (`datestyle` →
    /// `DateStyle`), as SHOW uses for its column name; None if unknown.
    pub fn canonical_name(&self, name: &str) -> Option<String> {
        self.find_key(name).map(|key| self.vars[&key].name.clone())
    }

    // -----------------------------------------------------------------
    // Typed getters
    // -----------------------------------------------------------------

    /// A boolean parameter. Panics on an unknown name or another type.
    pub fn get_bool(&self, name: &str) -> bool {
        match self.var(name).value {
            Value::Bool(b) => b,
            ref other => panic!("parameter \"{name}\" is not a bool: {other:?}"),
        }
    }

    /// An integer parameter in its base unit (ms, s, min, B, kB, MB or 8kB
    /// pages, as `pg_settings.unit` says). Panics on an unknown name or
    /// another type.
    pub fn get_int(&self, name: &str) -> i64 {
        match self.var(name).value {
            Value::Int(i) => i,
            ref other => panic!("parameter \"{name}\" is not an integer: {other:?}"),
        }
    }

    /// A real parameter in its base unit. Panics on an unknown name or
    /// another type.
    pub fn get_real(&self, name: &str) -> f64 {
        match self.var(name).value {
            Value::Real(r) => r,
            ref other => panic!("parameter \"{name}\" is not a real: {other:?}"),
        }
    }

    /// A string parameter, or an enum parameter's canonical option name.
    /// Panics on an unknown name or another type.
    pub fn get_str(&self, name: &str) -> String {
        let var = self.var(name);
        match (&var.value, &var.def.kind) {
            (Value::Str(s), _) => s.clone(),
            (Value::Enum(v), Kind::Enum { options, .. }) => enum_name(options, *v).to_string(),
            (other, _) => panic!("parameter \"{name}\" is not a string: {other:?}"),
        }
    }

    /// `search_path` as a list of schema names, `$user` replaced by `user`
    /// (PostgreSQL's `recomputeNamespacePath`, without the existence
    /// checks, which are the catalog's).
    pub fn search_path(&self, user: &str) -> Vec<String> {
        super::search_path_names(&self.get_str("search_path"), user)
    }

    /// A string parameter's value, borrowed (for the per-statement hot
    /// path, which compares it with the last statement's).
    pub fn str_ref(&self, name: &str) -> &str {
        match &self.var(name).value {
            Value::Str(s) => s,
            other => panic!("parameter \"{name}\" is not a plain string: {other:?}"),
        }
    }

    /// The value as `GetConfigOption` returns it: no units, no show hook.
    pub(super) fn raw_string(var: &Var, value: &Value) -> String {
        match (value, &var.def.kind) {
            (Value::Bool(b), _) => if *b { "on" } else { "off" }.to_string(),
            (Value::Int(i), _) => i.to_string(),
            (Value::Real(r), _) => value::format_g(*r),
            (Value::Str(s), _) => s.clone(),
            (Value::Enum(v), Kind::Enum { options, .. }) => enum_name(options, *v).to_string(),
            (Value::Enum(_), kind) => unreachable!("enum value for a {kind:?} parameter"),
        }
    }

    /// The reset value as a string (`GetConfigOptionResetString`).
    pub(super) fn reset_value_string(&self, name: &str) -> String {
        let var = self.var(name);
        Self::raw_string(var, &var.reset_value)
    }

    /// NOTICEs and WARNINGs produced by the last settings changes (a name
    /// truncated to 63 bytes, a parameter ferrogres does not implement set
    /// to a non-default value), for the client or, for values from the
    /// files and the command line, the postmaster's log. Clears them.
    pub fn take_notices(&mut self) -> Vec<PgError> {
        std::mem::take(&mut self.notices)
    }

    // -----------------------------------------------------------------
    // Setting values
    // -----------------------------------------------------------------

    /// SET [SESSION | LOCAL] name = value, or SET name TO DEFAULT with
    /// `value == None`. `value` is the flattened argument list (see
    /// [`Settings::flatten_set_args`]).
    pub fn set(
        &mut self,
        name: &str,
        value: Option<&str>,
        local: bool,
        is_superuser: bool,
    ) -> PgResult<()> {
        let context = if is_superuser {
            GucContext::Suset
        } else {
            GucContext::Userset
        };
        let action = if local { Action::Local } else { Action::Set };
        self.set_config_option(name, value, context, GucSource::Session, action)
            .map(|_| ())
    }

    /// RESET name: back to the reset value (from the files, the command
    /// line or the client), transactionally like SET.
    pub fn reset(&mut self, name: &str, is_superuser: bool) -> PgResult<()> {
        self.set(name, None, false, is_superuser)
    }

    /// RESET ALL: every user- and superuser-settable parameter that was SET
    /// goes back to its reset value (`ResetAllOptions`). Undone by ROLLBACK.
    pub fn reset_all(&mut self) {
        let nest_level = self.nest_level;
        self.any_stacked = true;
        for var in self.vars.values_mut() {
            if !matches!(var.def.context, GucContext::Suset | GucContext::Userset) {
                continue;
            }
            if var.def.flags & NO_RESET_ALL != 0 || var.source <= GucSource::Override {
                continue;
            }
            push_old_value(var, nest_level, Action::Set);
            var.value = var.reset_value.clone();
            var.source = var.reset_source;
        }
    }

    /// `-c name=value` on the server command line: source "command line",
    /// which outranks the configuration files, so it survives reloads.
    pub fn set_command_line(&mut self, name: &str, value: &str) -> PgResult<()> {
        self.set_config_option(
            name,
            Some(value),
            GucContext::Postmaster,
            GucSource::Argv,
            Action::Set,
        )
        .map(|_| ())
    }

    /// A value the server itself decides (source "override"): `data_directory`,
    /// `is_superuser`, `session_authorization`, `in_hot_standby`,
    /// `shared_memory_size`, `data_checksums`, … Not undone by ROLLBACK (like
    /// PostgreSQL's `SetConfigOption(.., PGC_S_OVERRIDE)`), so after SET ROLE
    /// is rolled back the caller sets `is_superuser` again.
    /// Panics if the value is invalid: that is a bug in the server.
    pub fn set_internal(&mut self, name: &str, value: &str) {
        let context = match self.find_key(name) {
            Some(key) if self.vars[&key].def.context == GucContext::Internal => {
                GucContext::Internal
            }
            _ => GucContext::Postmaster,
        };
        if let Err(e) =
            self.set_config_option(name, Some(value), context, GucSource::Override, Action::Set)
        {
            panic!(
                "server set invalid value {value:?} for parameter \"{name}\": {}",
                e.message
            );
        }
    }

    /// A parameter from the client's startup packet (`application_name`,
    /// `client_encoding`, `DateStyle`, `-c` in `options`, …): source
    /// "client", context backend, or superuser-backend when the session's
    /// `is_superuser` is on (so set `is_superuser` first).
    pub fn set_from_client(&mut self, name: &str, value: &str) -> PgResult<()> {
        let context = if self.get_bool("is_superuser") {
            GucContext::SuBackend
        } else {
            GucContext::Backend
        };
        self.set_config_option(name, Some(value), context, GucSource::Client, Action::Set)
            .map(|_| ())
    }

    /// The general entry point (`set_config_option`), for callers the
    /// wrappers above do not cover, e.g. applying `ALTER ROLE ... SET`
    /// values at connection start (`GucSource::User`, `GucContext::Suset` or
    /// `Userset`) or `set_config(name, value, is_local)`. Returns whether the
    /// current value changed (false when a higher-priority source holds it).
    pub fn set_option(
        &mut self,
        name: &str,
        value: Option<&str>,
        context: GucContext,
        source: GucSource,
        local: bool,
    ) -> PgResult<bool> {
        let action = if local { Action::Local } else { Action::Set };
        self.set_config_option(name, value, context, source, action)
    }

    /// `set_config_option`: checks the context and the value and, if the
    /// source has the priority, installs it. Ok(true) if the current value
    /// was replaced, Ok(false) if not (a higher-priority source holds it, or
    /// a postmaster parameter met an unchanged value on reload).
    pub(super) fn set_config_option(
        &mut self,
        name: &str,
        value: Option<&str>,
        context: GucContext,
        source: GucSource,
        action: Action,
    ) -> PgResult<bool> {
        // Any change inside a transaction may push a stack entry that the
        // transaction's end must pop (conservative: set before knowing).
        if self.nest_level > 0 {
            self.any_stacked = true;
        }
        let key = self.find_or_create(name)?;
        let def = self.vars[&key].def;
        let mut prohibit_value_change = false;
        match def.context {
            GucContext::Internal => {
                if context != GucContext::Internal {
                    return Err(cant_change(format!(
                        "parameter \"{name}\" cannot be changed"
                    )));
                }
            }
            GucContext::Postmaster => {
                if context == GucContext::Sighup {
                    // Re-read from the file: fine if the value is unchanged.
                    prohibit_value_change = true;
                } else if context != GucContext::Postmaster {
                    return Err(cant_change(format!(
                        "parameter \"{name}\" cannot be changed without restarting the server"
                    )));
                }
            }
            GucContext::Sighup => {
                if context != GucContext::Sighup && context != GucContext::Postmaster {
                    return Err(cant_change(format!(
                        "parameter \"{name}\" cannot be changed now"
                    )));
                }
            }
            GucContext::SuBackend | GucContext::Backend => {
                if def.context == GucContext::SuBackend && context == GucContext::Backend {
                    return Err(PgError::error(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("permission denied to set parameter \"{name}\""),
                    ));
                }
                if context == GucContext::Sighup {
                    // A changed file value reaches new sessions through the
                    // postmaster; existing sessions keep what they started with.
                    if self.under_postmaster {
                        return Ok(false);
                    }
                } else if !matches!(
                    context,
                    GucContext::Postmaster | GucContext::Backend | GucContext::SuBackend
                ) && source != GucSource::Client
                {
                    return Err(cant_change(format!(
                        "parameter \"{name}\" cannot be set after connection start"
                    )));
                }
            }
            GucContext::Suset => {
                if context == GucContext::Userset || context == GucContext::Backend {
                    return Err(PgError::error(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("permission denied to set parameter \"{name}\""),
                    ));
                }
            }
            GucContext::Userset => {}
        }

        // Values from files, the command line, the client and the server
        // itself also become the reset value, non-transactionally.
        let make_default =
            source <= GucSource::Override && (value.is_some() || source == GucSource::Default);
        let mut change_val = true;
        if self.vars[&key].source > source {
            if !make_default {
                return Ok(false); // a higher-priority source holds the value
            }
            change_val = false;
        }

        let (new_value, new_source) = match value {
            Some(text) => {
                let (parsed, notice) = self.parse_and_validate(&key, name, text)?;
                self.notices.extend(notice);
                (parsed, source)
            }
            None if source == GucSource::Default => default_value(def),
            None => {
                let var = &self.vars[&key];
                (var.reset_value.clone(), var.reset_source)
            }
        };

        if value.is_some() && source != GucSource::Override {
            let var = &self.vars[&key];
            let changes = change_val && var.value != new_value;
            let interactive = source > GucSource::Argv;
            if (interactive || changes) && new_value != default_value(def).0 {
                let shown = Self::raw_string(var, &new_value);
                if let Some(warning) = unimplemented::warning(def.name, &shown) {
                    self.notices.push(warning);
                }
            }
        }

        let nest_level = self.nest_level;
        let var = self.vars.get_mut(&key).expect("key found above");
        if prohibit_value_change {
            if var.value != new_value {
                var.pending_restart = true;
                return Err(cant_change(format!(
                    "parameter \"{name}\" cannot be changed without restarting the server"
                )));
            }
            var.pending_restart = false;
            return Ok(false);
        }
        if action == Action::Local && nest_level == 0 && !make_default {
            // SET LOCAL outside a transaction would end with its implicit
            // transaction: it has no effect.
            return Ok(false);
        }
        if change_val {
            if !make_default {
                push_old_value(var, nest_level, action);
            }
            var.value = new_value.clone();
            var.source = new_source;
        }
        if make_default {
            if var.reset_source <= new_source {
                var.reset_value = new_value.clone();
                var.reset_source = new_source;
            }
            for entry in var.stack.iter_mut() {
                if entry.prior_source <= new_source {
                    entry.prior = new_value.clone();
                    entry.prior_source = new_source;
                }
            }
        }
        Ok(change_val)
    }

    /// `parse_and_validate_value`: the typed, checked value of `text` for the
    /// parameter at `key`, plus a NOTICE if a name was truncated. Errors
    /// name the parameter as the caller spelled it (`name`), except those
    /// from check hooks, which use the canonical name, as PostgreSQL does.
    pub(super) fn parse_and_validate(
        &self,
        key: &str,
        name: &str,
        text: &str,
    ) -> PgResult<(Value, Option<PgError>)> {
        let var = &self.vars[key];
        let def = var.def;
        let invalid = |hint: Option<&str>| {
            let e = PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"{name}\": \"{text}\""),
            );
            match hint {
                Some(h) => e.with_hint(h),
                None => e,
            }
        };
        let mut notice = None;
        let mut parsed = match &def.kind {
            Kind::Bool { .. } => Value::Bool(value::parse_bool(text).ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("parameter \"{name}\" requires a Boolean value"),
                )
            })?),
            Kind::Int { min, max, unit, .. } => {
                let v = value::parse_int(text, *unit).map_err(invalid)?;
                if v < *min || v > *max {
                    let unit = value::unit_name(*unit)
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default();
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!(
                            "{v}{unit} is outside the valid range for parameter \"{name}\" ({min} .. {max})"
                        ),
                    ));
                }
                Value::Int(v)
            }
            Kind::Real { min, max, unit, .. } => {
                let v = value::parse_real(text, *unit).map_err(invalid)?;
                if v < *min || v > *max || v.is_nan() {
                    let unit = value::unit_name(*unit)
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default();
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!(
                            "{}{unit} is outside the valid range for parameter \"{name}\" ({} .. {})",
                            value::format_g(v),
                            value::format_g(*min),
                            value::format_g(*max)
                        ),
                    ));
                }
                Value::Real(v)
            }
            Kind::Str { .. } => {
                let mut s = text.to_string();
                if def.flags & IS_NAME != 0 && s.len() > hooks::MAX_IDENTIFIER_LEN {
                    let cut = hooks::clip_to_bytes(&s, hooks::MAX_IDENTIFIER_LEN).to_string();
                    notice = Some(PgError::new(
                        Severity::Notice,
                        NAME_TOO_LONG,
                        format!("identifier \"{s}\" will be truncated to \"{cut}\""),
                    ));
                    s = cut;
                }
                Value::Str(s)
            }
            Kind::Enum { options, .. } => {
                match options.iter().find(|o| o.name.eq_ignore_ascii_case(text)) {
                    Some(o) => Value::Enum(o.val),
                    None => {
                        let listed: Vec<&str> = options
                            .iter()
                            .filter(|o| !o.hidden)
                            .map(|o| o.name)
                            .collect();
                        return Err(invalid(Some(&format!(
                            "Available values: {}.",
                            listed.join(", ")
                        ))));
                    }
                }
            }
        };
        if let Err(failure) = hooks::check(self, def.name, &mut parsed) {
            return Err(check_failure(failure, var, &parsed));
        }
        Ok((parsed, notice))
    }

    /// Turns a SET statement's argument list into the value string
    /// (`flatten_set_variable_args`): list parameters join their items with
    /// `, `, quoting identifiers where `GUC_LIST_QUOTE` says so
    /// (`SET search_path = "$user", public`). An empty list means DEFAULT.
    pub fn flatten_set_args(&self, name: &str, args: &[SetArg<'_>]) -> PgResult<Option<String>> {
        if args.is_empty() {
            return Ok(None);
        }
        let flags = self
            .find_key(name)
            .map(|key| self.vars[&key].def.flags)
            .unwrap_or(0);
        if flags & LIST_INPUT == 0 && args.len() != 1 {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("SET {name} takes only one argument"),
            ));
        }
        let items: Vec<String> = args
            .iter()
            .map(|arg| match arg {
                SetArg::Integer(i) => i.to_string(),
                SetArg::Float(f) => f.to_string(),
                SetArg::Str(s) if flags & LIST_QUOTE != 0 => hooks::quote_identifier(s),
                SetArg::Str(s) => s.to_string(),
            })
            .collect();
        Ok(Some(items.join(", ")))
    }

    /// Records where a parameter's value was read from (`set_config_sourcefile`).
    pub(super) fn set_sourcefile(&mut self, name: &str, file: &str, line: u32) {
        if let Some(key) = self.find_key(name) {
            let var = self.vars.get_mut(&key).expect("key exists");
            var.sourcefile = Some(file.to_string());
            var.sourceline = line;
        }
    }

    /// Installs a computed default: the current and reset values, if
    /// nothing of higher priority than `source` set them.
    pub(super) fn set_computed_default(&mut self, name: &str, value: Value, source: GucSource) {
        let key = self.find_key(name).expect("built-in parameter");
        let var = self.vars.get_mut(&key).expect("key exists");
        if var.source <= source {
            var.value = value.clone();
            var.source = source;
        }
        if var.reset_source <= source {
            var.reset_value = value;
            var.reset_source = source;
        }
    }

    // -----------------------------------------------------------------
    // Transactions
    // -----------------------------------------------------------------

    /// Start of a transaction, explicit (BEGIN) or implicit (a statement
    /// outside a transaction block): SETs from here on are undone by
    /// [`Settings::at_transaction_end`] with `commit == false`, and SET LOCALs
    /// either way. Also starts the transaction with the default isolation
    /// level, read-only and deferrable modes, as `StartTransaction` does.
    pub fn at_transaction_start(&mut self) {
        assert_eq!(
            self.nest_level, 0,
            "GUC nest level must be 0 at transaction start"
        );
        self.nest_level = 1;
        for (mode, default) in [
            ("transaction_isolation", "default_transaction_isolation"),
            ("transaction_read_only", "default_transaction_read_only"),
            ("transaction_deferrable", "default_transaction_deferrable"),
        ] {
            let value = self.vars[default].value.clone();
            self.vars
                .get_mut(mode)
                .expect("transaction mode parameter")
                .value = value;
        }
    }

    /// End of the top-level transaction (`AtEOXact_GUC(commit, 1)`): on
    /// commit SET values stay and SET LOCAL values revert; on rollback both
    /// revert.
    pub fn at_transaction_end(&mut self, commit: bool) {
        assert!(
            self.nest_level >= 1,
            "transaction end without transaction start"
        );
        self.at_eoxact(commit, 1);
    }

    /// Start of a subtransaction (SAVEPOINT): returns its nest level, to be
    /// passed to [`Settings::at_subtransaction_end`].
    pub fn at_subtransaction_start(&mut self) -> u32 {
        assert!(self.nest_level >= 1, "subtransaction outside a transaction");
        self.nest_level += 1;
        self.nest_level
    }

    /// End of a subtransaction: RELEASE (`commit == true`) hands its changes
    /// to the enclosing level; ROLLBACK TO undoes them.
    pub fn at_subtransaction_end(&mut self, commit: bool, nest_level: u32) {
        assert!(nest_level >= 2, "subtransaction nest levels start at 2");
        assert!(
            nest_level <= self.nest_level,
            "subtransaction {nest_level} already ended"
        );
        self.at_eoxact(commit, nest_level);
    }

    /// `AtEOXact_GUC`: pops every stack entry at `nest_level` or deeper.
    fn at_eoxact(&mut self, commit: bool, nest_level: u32) {
        if !self.any_stacked {
            self.nest_level = nest_level - 1;
            return;
        }
        for var in self.vars.values_mut() {
            while let Some(top) = var.stack.last()
                && top.nest_level >= nest_level
            {
                let mut entry = var.stack.pop().expect("stack has a top");
                let restore: Option<(Value, GucSource)> = if !commit {
                    Some((entry.prior, entry.prior_source))
                } else if entry.nest_level == 1 {
                    match entry.state {
                        // Transaction commit: a SET stays; SET LOCAL reverts
                        // to the masked SET value or the prior value.
                        StackState::Set => None,
                        StackState::SetLocal => Some((
                            entry.masked.take().expect("SetLocal has a masked value"),
                            GucSource::Session,
                        )),
                        StackState::Local => Some((entry.prior, entry.prior_source)),
                    }
                } else {
                    match var.stack.last_mut() {
                        Some(prev) if prev.nest_level == entry.nest_level - 1 => {
                            // Subtransaction commit: merge into the enclosing level.
                            match entry.state {
                                StackState::Set => {
                                    prev.masked = None;
                                    prev.state = StackState::Set;
                                }
                                StackState::Local => {
                                    if prev.state == StackState::Set {
                                        // LOCAL migrates down: the SET value hides behind it.
                                        prev.masked = Some(entry.prior);
                                        prev.state = StackState::SetLocal;
                                    }
                                }
                                StackState::SetLocal => {
                                    prev.masked = entry.masked.take();
                                    prev.state = StackState::SetLocal;
                                }
                            }
                            None
                        }
                        _ => {
                            // Nothing at the enclosing level yet: this entry becomes it.
                            entry.nest_level -= 1;
                            var.stack.push(entry);
                            continue;
                        }
                    }
                };
                if let Some((value, source)) = restore {
                    var.value = value;
                    var.source = source;
                }
            }
        }
        self.nest_level = nest_level - 1;
        if self.nest_level == 0 {
            debug_assert!(
                self.vars.values().all(|v| v.stack.is_empty()),
                "stack entries outlive the transaction"
            );
            self.any_stacked = false;
        }
    }

    // -----------------------------------------------------------------
    // ParameterStatus
    // -----------------------------------------------------------------

    /// The `GUC_REPORT` parameters and their current values, for the
    /// ParameterStatus messages sent after authentication. From then on
    /// [`Settings::take_reported_changes`] reports changes.
    pub fn reported_parameters(&self) -> Vec<(String, String)> {
        let mut report = self.report.0.lock().expect("report state lock");
        report.enabled = true;
        let mut out = Vec::new();
        for var in self
            .vars
            .values()
            .filter(|v| v.def.flags & super::params::REPORT != 0)
        {
            let shown = self.show_value(var, false);
            report.last_reported.insert(var.def.name, shown.clone());
            out.push((var.name.clone(), shown));
        }
        out
    }

    /// The `GUC_REPORT` parameters whose value differs from what was last
    /// reported (after SET, RESET, COMMIT or ROLLBACK), to send as
    /// ParameterStatus before ReadyForQuery. Empty until
    /// [`Settings::reported_parameters`] has been called.
    pub fn take_reported_changes(&mut self) -> Vec<(String, String)> {
        let mut report = self.report.0.lock().expect("report state lock");
        if !report.enabled {
            return Vec::new();
        }
        let mut out = Vec::new();
        for key in &self.report_keys {
            let var = &self.vars[key];
            if report.last_values.get(var.def.name) == Some(&var.value) {
                continue;
            }
            report.last_values.insert(var.def.name, var.value.clone());
            let shown = self.show_value(var, false);
            if report.last_reported.get(var.def.name) != Some(&shown) {
                report.last_reported.insert(var.def.name, shown.clone());
                out.push((var.name.clone(), shown));
            }
        }
        out
    }
}

/// `push_old_value`: remembers the value before the first change at this
/// nest level, so the end of the (sub)transaction can restore it.
fn push_old_value(var: &mut Var, nest_level: u32, action: Action) {
    if nest_level == 0 {
        return;
    }
    if let Some(top) = var.stack.last_mut()
        && top.nest_level >= nest_level
    {
        assert_eq!(
            top.nest_level, nest_level,
            "GUC stack entry outlived its nest level"
        );
        match action {
            Action::Set => {
                // SET overrides any earlier action at the same level.
                top.masked = None;
                top.state = StackState::Set;
            }
            Action::Local => {
                if top.state == StackState::Set {
                    // SET followed by SET LOCAL: remember the SET value.
                    top.masked = Some(var.value.clone());
                    top.state = StackState::SetLocal;
                }
            }
        }
        return;
    }
    var.stack.push(StackEntry {
        nest_level,
        state: match action {
            Action::Set => StackState::Set,
            Action::Local => StackState::Local,
        },
        prior: var.value.clone(),
        prior_source: var.source,
        masked: None,
    });
}

/// The error for a value a check hook rejected (`call_*_check_hook`).
fn check_failure(failure: CheckError, var: &Var, value: &Value) -> PgError {
    let canonical = var.def.name;
    let message = failure.message.unwrap_or_else(|| match value {
        Value::Bool(b) => format!("invalid value for parameter \"{canonical}\": {}", *b as i32),
        Value::Int(i) => format!("invalid value for parameter \"{canonical}\": {i}"),
        Value::Real(r) => format!(
            "invalid value for parameter \"{canonical}\": {}",
            value::format_g(*r)
        ),
        Value::Str(_) | Value::Enum(_) => format!(
            "invalid value for parameter \"{canonical}\": \"{}\"",
            Settings::raw_string(var, value)
        ),
    });
    let mut error = PgError::error(
        failure.code.unwrap_or(sqlstate::INVALID_PARAMETER_VALUE),
        message,
    );
    error.detail = failure.detail;
    error.hint = failure.hint;
    error
}
