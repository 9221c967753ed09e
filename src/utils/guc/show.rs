//! What SHOW, SHOW ALL, `current_setting()` and the `pg_settings` view
//! print (`_ShowOption`, `ShowAllGUCConfig`, `GetConfigOptionByNum`).

use super::params::{Kind, NO_SHOW_ALL};
use super::settings::{GucSource, Settings, Value, Var, boot_value, enum_name, unrecognized};
use super::value;
use crate::utils::elog::PgResult;

/// One row of the `pg_settings` view, PostgreSQL 15's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct PgSettingsRow {
    pub name: String,
    /// The value in its base unit, without unit suffix.
    pub setting: String,
    /// `8kB`, `kB`, `MB`, `B`, `ms`, `s` or `min`, for numeric parameters with a unit.
    pub unit: Option<String>,
    pub category: String,
    pub short_desc: String,
    pub extra_desc: Option<String>,
    /// internal, postmaster, sighup, superuser-backend, backend, superuser or user.
    pub context: String,
    /// bool, integer, real, string or enum.
    pub vartype: String,
    /// default, environment variable, configuration file, command line, client, override, session, …
    pub source: String,
    pub min_val: Option<String>,
    pub max_val: Option<String>,
    /// The enum's options (a text[] in the view: `{always,on,off}`).
    pub enumvals: Option<Vec<String>>,
    pub boot_val: Option<String>,
    pub reset_val: Option<String>,
    /// Set when the value came from a configuration file.
    pub sourcefile: Option<String>,
    pub sourceline: Option<i32>,
    /// The file asks for a value that needs a restart.
    pub pending_restart: bool,
}

impl Settings {
    /// SHOW name: the value as PostgreSQL prints it, numbers in the largest
    /// exact unit (`128MB`, `5min`, `200ms`), booleans `on`/`off`.
    /// Unknown name → 42704 `unrecognized configuration parameter "x"`.
    pub fn show(&self, name: &str) -> PgResult<String> {
        let key = self.find_key(name).ok_or_else(|| unrecognized(name))?;
        Ok(self.show_value(&self.vars[&key], true))
    }

    /// `current_setting(name, missing_ok)`: like SHOW, but None for an
    /// unknown name when `missing_ok`.
    pub fn current_setting(&self, name: &str, missing_ok: bool) -> PgResult<Option<String>> {
        match self.find_key(name) {
            Some(key) => Ok(Some(self.show_value(&self.vars[&key], true))),
            None if missing_ok => Ok(None),
            None => Err(unrecognized(name)),
        }
    }

    /// SHOW ALL: (name, setting, description) for every parameter except the
    /// hidden ones (`is_superuser`, `session_authorization`, `role`, `seed`,
    /// custom placeholders), sorted by name ignoring case.
    pub fn show_all(&self) -> Vec<(String, String, String)> {
        self.vars
            .values()
            .filter(|var| var.def.flags & NO_SHOW_ALL == 0)
            .map(|var| {
                (
                    var.name.clone(),
                    self.show_value(var, true),
                    var.def.short_desc.to_string(),
                )
            })
            .collect()
    }

    /// The rows of the `pg_settings` view, in SHOW ALL's order.
    pub fn pg_settings_rows(&self) -> Vec<PgSettingsRow> {
        self.vars
            .values()
            .filter(|var| var.def.flags & NO_SHOW_ALL == 0)
            .map(|var| self.pg_settings_row(var))
            .collect()
    }

    fn pg_settings_row(&self, var: &Var) -> PgSettingsRow {
        let def = var.def;
        let (vartype, unit, min_val, max_val, enumvals) = match &def.kind {
            Kind::Bool { .. } => ("bool", None, None, None, None),
            Kind::Int { min, max, unit, .. } => (
                "integer",
                value::unit_name(*unit),
                Some(min.to_string()),
                Some(max.to_string()),
                None,
            ),
            Kind::Real { min, max, unit, .. } => (
                "real",
                value::unit_name(*unit),
                Some(value::format_g(*min)),
                Some(value::format_g(*max)),
                None,
            ),
            Kind::Str { .. } => ("string", None, None, None, None),
            Kind::Enum { options, .. } => {
                let listed: Vec<String> = options
                    .iter()
                    .filter(|o| !o.hidden)
                    .map(|o| o.name.to_string())
                    .collect();
                ("enum", None, None, None, Some(listed))
            }
        };
        let boot_val = match &def.kind {
            Kind::Str { boot } => boot.map(str::to_string),
            _ => Some(Settings::raw_string(var, &boot_value(def))),
        };
        // A string whose boot value is NULL and that nothing has set has a
        // NULL reset value too.
        let reset_is_null = matches!(def.kind, Kind::Str { boot: None })
            && var.reset_source == GucSource::Default
            && var.reset_value == Value::Str(String::new());
        let from_file = var.source == GucSource::File;
        PgSettingsRow {
            name: var.name.clone(),
            setting: self.show_value(var, false),
            unit: unit.map(str::to_string),
            category: def.group.to_string(),
            short_desc: def.short_desc.to_string(),
            extra_desc: def.long_desc.map(str::to_string),
            context: def.context.as_str().to_string(),
            vartype: vartype.to_string(),
            source: var.source.as_str().to_string(),
            min_val,
            max_val,
            enumvals,
            boot_val,
            reset_val: if reset_is_null {
                None
            } else {
                Some(Settings::raw_string(var, &var.reset_value))
            },
            sourcefile: if from_file {
                var.sourcefile.clone()
            } else {
                None
            },
            sourceline: if from_file && var.sourcefile.is_some() {
                Some(var.sourceline as i32)
            } else {
                None
            },
            pending_restart: var.pending_restart,
        }
    }

    /// `_ShowOption`: the show hook's text if the parameter has one, else the
    /// value; `use_units` picks SHOW's unit-bearing form over pg_settings'
    /// bare number.
    pub(super) fn show_value(&self, var: &Var, use_units: bool) -> String {
        if let Some(shown) = self.show_hook(var) {
            return shown;
        }
        match (&var.value, &var.def.kind) {
            (Value::Int(i), Kind::Int { unit, .. }) if use_units => {
                value::format_int_with_unit(*i, *unit)
            }
            (Value::Real(r), Kind::Real { unit, .. }) if use_units => {
                value::format_real_with_unit(*r, *unit)
            }
            (Value::Enum(v), Kind::Enum { options, .. }) => enum_name(options, *v).to_string(),
            (value, _) => Settings::raw_string(var, value),
        }
    }

    /// PostgreSQL's show hooks.
    fn show_hook(&self, var: &Var) -> Option<String> {
        match (var.def.name, &var.value) {
            // Octal modes (show_unix_socket_permissions and friends).
            (
                "unix_socket_permissions" | "data_directory_mode" | "log_file_mode",
                Value::Int(mode),
            ) => Some(format!("{mode:04o}")),
            ("archive_command", _) if self.get_str("archive_mode") == "off" => {
                Some("(disabled)".to_string())
            }
            // The keepalive settings print the socket's value, a bare number.
            (
                "tcp_keepalives_idle"
                | "tcp_keepalives_interval"
                | "tcp_keepalives_count"
                | "tcp_user_timeout",
                Value::Int(i),
            ) => Some(i.to_string()),
            ("seed", _) => Some("unavailable".to_string()),
            ("role", Value::Str(role)) if role.is_empty() => Some("none".to_string()),
            _ => None,
        }
    }
}
