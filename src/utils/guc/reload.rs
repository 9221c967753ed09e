//! Applying the configuration files (`ProcessConfigFileInternal`) and
//! rewriting postgresql.auto.conf (`AlterSystemSetConfigFile`).

use std::fs;
use std::path::{Path, PathBuf};

use super::guc_file::{self, AUTO_CONF_FILENAME, ParseState};
use super::hooks;
use super::params::DISALLOW_IN_FILE;
use super::settings::{
    Action, GucContext, GucSource, Settings, Value, unrecognized, valid_custom_name,
};
use crate::utils::elog::{PgError, PgResult, Severity, sqlstate};

/// What reading the configuration files did, with every line PostgreSQL
/// would log, in order.
#[derive(Clone, Debug, Default)]
pub struct ConfigFileReport {
    /// Log lines: `skipping missing configuration file`, `parameter "x"
    /// changed to "y"`, `parameter "x" removed from configuration file, reset
    /// to default`, errors, and when there were errors the closing
    /// `configuration file "F" contains errors...` line (FATAL at start).
    pub log: Vec<(Severity, String)>,
    /// The first error, if there was one.
    pub error: Option<PgError>,
    /// Whether the file's values were applied (all but the failing ones).
    /// False when a syntax error or an unknown name stopped everything.
    pub applied: bool,
}

/// The data directory as an absolute, canonical path (`make_absolute_path`).
fn absolute_data_dir(data_dir: &Path) -> PathBuf {
    let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    PathBuf::from(guc_file::canonicalize_path(&absolute.to_string_lossy()))
}

impl Settings {
    /// Reads DATA_DIR/postgresql.conf (with its includes), then
    /// DATA_DIR/postgresql.auto.conf, and applies them. See
    /// [`Settings::process_config_files`], which this wraps.
    ///
    /// Returns the lines to log. An error that stops everything — any error
    /// at start (`reload == false`), a syntax error, an unreadable include or
    /// an unknown parameter name on reload — comes back as Err with
    /// SQLSTATE CONFIG_FILE_ERROR and PostgreSQL's message, e.g. `syntax error
    /// in file "/data/postgresql.conf" line 3, near token "x"`; the settings
    /// are then unchanged (on reload) and the caller logs the error followed
    /// by `configuration file "/data/postgresql.conf" contains errors; no
    /// changes were applied` (at start: FATAL `configuration file "..."
    /// contains errors`). On reload, invalid values only skip their own line:
    /// the result is Ok, and the log lines already include the error and the
    /// `contains errors; unaffected changes were applied` line.
    pub fn load_config_files(
        &mut self,
        data_dir: &Path,
        reload: bool,
    ) -> PgResult<Vec<(Severity, String)>> {
        let report = self.process_config_files(data_dir, reload);
        match report.error {
            Some(error) if !reload || !report.applied => Err(error),
            _ => Ok(report.log),
        }
    }

    /// `ProcessConfigFile`: at start (`reload == false`, context postmaster)
    /// every parameter may be set; on reload (SIGHUP) a changed postmaster
    /// parameter is not applied (`parameter "port" cannot be changed without
    /// restarting the server`, and `pg_settings.pending_restart` turns on),
    /// a parameter no longer in the files goes back to its default, and the
    /// postmaster logs each change. Values from the command line or SET
    /// outrank the files and are kept; a new file value still becomes the
    /// RESET value.
    pub fn process_config_files(&mut self, data_dir: &Path, reload: bool) -> ConfigFileReport {
        let elevel = if self.under_postmaster {
            Severity::Debug2
        } else {
            Severity::Log
        };
        let context = if reload {
            GucContext::Sighup
        } else {
            GucContext::Postmaster
        };
        let data_dir = absolute_data_dir(data_dir);
        let data_dir_text = data_dir.to_string_lossy().into_owned();
        let config_file = guc_file::canonicalize_path(&format!("{data_dir_text}/postgresql.conf"));
        if !reload {
            // SelectConfigFiles: where the files are, whatever they say.
            for (name, value) in [
                ("config_file", &config_file),
                ("data_directory", &data_dir_text),
            ] {
                self.set_config_option(
                    name,
                    Some(value),
                    GucContext::Postmaster,
                    GucSource::Override,
                    Action::Set,
                )
                .expect("file locations are valid strings");
            }
        }

        let mut state = ParseState::new(&data_dir, elevel);
        let mut error = false;
        let mut applying = false;
        let mut file_with_error = config_file.clone();

        if !guc_file::parse_config_file(&config_file, true, None, 0, &mut state) {
            error = true;
        } else if !guc_file::parse_config_file(AUTO_CONF_FILENAME, false, None, 0, &mut state) {
            error = true;
            file_with_error = AUTO_CONF_FILENAME.to_string();
        }

        if !error {
            // Which parameters does the file mention? Unknown names are an
            // error (custom ones like myapp.foo are fine); of duplicates the
            // last line wins.
            for var in self.vars.values_mut() {
                var.in_file = false;
            }
            for i in 0..state.items.len() {
                let name = state.items[i].name.clone();
                if let Some(key) = self.find_key(&name) {
                    if self.vars[&key].in_file {
                        for earlier in state.items[..i].iter_mut() {
                            if !earlier.ignore && earlier.name == name {
                                earlier.ignore = true;
                            }
                        }
                    }
                    self.vars.get_mut(&key).expect("key exists").in_file = true;
                } else if !valid_custom_name(&name) {
                    let item = &state.items[i];
                    let message = format!(
                        "unrecognized configuration parameter \"{}\" in file \"{}\" line {}",
                        item.name, item.filename, item.sourceline
                    );
                    file_with_error = item.filename.clone();
                    state.error(message);
                    error = true;
                }
            }
        }

        if !error {
            applying = true;
            self.revert_removed_parameters(context, reload, elevel, &mut state, &mut error);
            let items = std::mem::take(&mut state.items);
            for item in items.iter().filter(|item| !item.ignore) {
                // The postmaster logs what a reload changes.
                let before =
                    (reload && !self.under_postmaster).then(|| self.current_raw(&item.name));
                match self.set_config_option(
                    &item.name,
                    Some(&item.value),
                    context,
                    GucSource::File,
                    Action::Set,
                ) {
                    Ok(changed) => {
                        if changed
                            && let Some(before) = before
                            && before != self.current_raw(&item.name)
                        {
                            state.log.push((
                                elevel,
                                format!(
                                    "parameter \"{}\" changed to \"{}\"",
                                    item.name, item.value
                                ),
                            ));
                        }
                        // Even when the current value stays (SET outranks the
                        // file), the reset value may have come from here.
                        self.set_sourcefile(&item.name, &item.filename, item.sourceline);
                    }
                    Err(e) => {
                        state.error(e.message);
                        error = true;
                        file_with_error = item.filename.clone();
                    }
                }
            }
            state.items = items;
        }

        if error {
            let summary = if !reload {
                (
                    Severity::Fatal,
                    format!("configuration file \"{file_with_error}\" contains errors"),
                )
            } else if applying {
                (
                    elevel,
                    format!(
                        "configuration file \"{file_with_error}\" contains errors; unaffected changes were applied"
                    ),
                )
            } else {
                (
                    elevel,
                    format!(
                        "configuration file \"{file_with_error}\" contains errors; no changes were applied"
                    ),
                )
            };
            state.log.push(summary);
        } else if !reload {
            self.set_default_file_locations(&data_dir_text);
            self.autotune_wal_buffers();
        }
        ConfigFileReport {
            log: state.log,
            error: state.first_error,
            applied: applying,
        }
    }

    /// A parameter's current value as `GetConfigOption` prints it, or "" if
    /// it does not exist yet.
    fn current_raw(&self, name: &str) -> String {
        match self.find_key(name) {
            Some(key) => {
                let var = &self.vars[&key];
                Settings::raw_string(var, &var.value)
            }
            None => String::new(),
        }
    }

    /// Parameters whose reset value came from the file but which the file no
    /// longer mentions go back to their default.
    fn revert_removed_parameters(
        &mut self,
        context: GucContext,
        reload: bool,
        elevel: Severity,
        state: &mut ParseState,
        error: &mut bool,
    ) {
        let removed: Vec<String> = self
            .vars
            .iter()
            .filter(|(_, var)| var.reset_source == GucSource::File && !var.in_file)
            .map(|(key, _)| key.clone())
            .collect();
        for key in removed {
            let var = self.vars.get_mut(&key).expect("key exists");
            let name = var.name.clone();
            if var.def.context < GucContext::Sighup {
                // Removing it cannot take effect without a restart.
                var.pending_restart = true;
                state.error(format!(
                    "parameter \"{name}\" cannot be changed without restarting the server"
                ));
                *error = true;
                continue;
            }
            // The file no longer holds these values: make them defaults, so
            // that the default can replace them.
            var.reset_source = GucSource::Default;
            if var.source == GucSource::File {
                var.source = GucSource::Default;
            }
            var.demote_file_sources();
            if let Ok(true) =
                self.set_config_option(&name, None, context, GucSource::Default, Action::Set)
                && reload
            {
                state.log.push((
                    elevel,
                    format!(
                        "parameter \"{name}\" removed from configuration file, reset to default"
                    ),
                ));
            }
        }
    }

    /// `hba_file` and `ident_file` default to files in the data directory.
    fn set_default_file_locations(&mut self, data_dir: &str) {
        for (name, file) in [("hba_file", "pg_hba.conf"), ("ident_file", "pg_ident.conf")] {
            if self.get_str(name).is_empty() {
                let path = format!("{data_dir}/{file}");
                self.set_config_option(
                    name,
                    Some(&path),
                    GucContext::Postmaster,
                    GucSource::Override,
                    Action::Set,
                )
                .expect("file locations are valid strings");
            }
        }
    }

    /// `wal_buffers = -1` means 1/32 of shared_buffers, between 64kB and one
    /// WAL segment (done in PostgreSQL when shared memory is sized).
    fn autotune_wal_buffers(&mut self) {
        if self.get_int("wal_buffers") != -1 {
            return;
        }
        let pages = hooks::choose_num_wal_buffers(
            self.get_int("shared_buffers"),
            self.get_int("wal_segment_size"),
        );
        let source = if self.var("wal_buffers").source <= GucSource::DynamicDefault {
            GucSource::DynamicDefault
        } else {
            GucSource::Override
        };
        self.set_computed_default("wal_buffers", Value::Int(pages), source);
    }

    /// ALTER SYSTEM SET name = value (`Some`), ALTER SYSTEM RESET name
    /// (`None`), ALTER SYSTEM RESET ALL (`name == "all"`, `None`).
    /// Validates like SET (unknown → 42704; internal or not allowed in files
    /// → 55P02 `parameter "x" cannot be changed`; a bad value → 22023), then
    /// rewrites DATA_DIR/postgresql.auto.conf atomically. The change takes
    /// effect at the next reload. The caller checks that the user is a
    /// superuser and that no transaction block is open.
    pub fn alter_system(
        &mut self,
        data_dir: &Path,
        name: &str,
        value: Option<&str>,
    ) -> PgResult<()> {
        let reset_all = value.is_none() && name.eq_ignore_ascii_case("all");
        if !reset_all {
            let key = self.find_key(name).ok_or_else(|| unrecognized(name))?;
            let def = self.vars[&key].def;
            if def.context == GucContext::Internal || def.flags & DISALLOW_IN_FILE != 0 {
                return Err(PgError::error(
                    sqlstate::CANT_CHANGE_RUNTIME_PARAM,
                    format!("parameter \"{name}\" cannot be changed"),
                ));
            }
            if let Some(value) = value {
                let (parsed, _) = self.parse_and_validate(&key, name, value)?;
                if parsed != super::settings::default_value(def).0 {
                    let shown = Self::raw_string(&self.vars[&key], &parsed);
                    self.notices
                        .extend(super::unimplemented::warning(def.name, &shown));
                }
                if value.contains('\n') {
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "parameter value for ALTER SYSTEM must not contain a newline",
                    ));
                }
            }
        }

        // One ALTER SYSTEM at a time (PostgreSQL's AutoFileLock): an
        // exclusive flock on the data directory, held while the old file is
        // read and the new one written.
        let dir = fs::File::open(data_dir).map_err(|e| {
            PgError::error(
                sqlstate::IO_ERROR,
                format!(
                    "could not open directory \"{}\": {}",
                    data_dir.display(),
                    guc_file::io_error_text(&e)
                ),
            )
        })?;
        let _lock = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusive).map_err(
            |(_, errno)| {
                PgError::error(
                    sqlstate::IO_ERROR,
                    format!(
                        "could not lock directory \"{}\": {}",
                        data_dir.display(),
                        errno.desc()
                    ),
                )
            },
        )?;

        let mut entries: Vec<(String, String)> = Vec::new();
        if !reset_all {
            let path = data_dir.join(AUTO_CONF_FILENAME);
            match fs::read(&path) {
                Ok(content) => {
                    let mut state = ParseState::new(data_dir, Severity::Log);
                    if !guc_file::parse_config_fp(&content, AUTO_CONF_FILENAME, 0, &mut state) {
                        return Err(PgError::error(
                            sqlstate::CONFIG_FILE_ERROR,
                            format!("could not parse contents of file \"{AUTO_CONF_FILENAME}\""),
                        ));
                    }
                    entries = state
                        .items
                        .into_iter()
                        .map(|item| (item.name, item.value))
                        .collect();
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(PgError::error(
                        sqlstate::IO_ERROR,
                        format!(
                            "could not open file \"{AUTO_CONF_FILENAME}\": {}",
                            guc_file::io_error_text(&e)
                        ),
                    ));
                }
            }
            // Replace any existing entry, or append.
            entries.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
            if let Some(value) = value {
                entries.push((name.to_string(), value.to_string()));
            }
        }
        guc_file::write_auto_conf(data_dir, &entries)
    }
}
