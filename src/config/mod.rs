//! The config file (TOML) and how its values combine with flags and the environment:
//! flag > environment > config file > default. clap resolves flag and environment; this
//! module supplies the file's values and the defaults, and says where files live.

pub mod theme;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub connection: ConnectionSection,
    #[serde(default)]
    pub dashboard: DashboardSection,
    #[serde(default)]
    pub screen_reader: ScreenReaderSection,
    #[serde(default)]
    pub sla: SlaSection,
    #[serde(default)]
    pub notify: NotifySection,
    #[serde(default)]
    pub compose: ComposeSection,
    /// Canned replies by short code, expanded with `/code` in the composer.
    #[serde(default)]
    pub canned: BTreeMap<String, String>,
    /// Key bindings by context (`[keys.inbox]`, …): key → command name.
    #[serde(default)]
    pub keys: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSection {
    pub endpoint: Option<String>,
    pub key: Option<String>,
    pub auth_url: Option<String>,
    pub broker_id: Option<String>,
    pub broker_name: Option<String>,
    #[serde(default)]
    pub channels: Vec<String>,
    /// `websocket`, `poll` or `auto` (the default).
    pub transport: Option<String>,
    /// `json` (the default) or `msgpack`.
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSection {
    pub screen_reader: Option<bool>,
    pub theme: Option<String>,
    pub read_only: Option<bool>,
    /// Use ASCII marks instead of symbols and emoji.
    pub ascii: Option<bool>,
    /// Ring the terminal bell for new customer messages off screen and SLA breaches.
    pub bell: Option<bool>,
}

/// The client's own SLA clock.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSection {
    /// Waiting this long for a human is a warning (default 120).
    pub warning_secs: Option<u64>,
    /// Waiting this long is a breach (default 300).
    pub violation_secs: Option<u64>,
    /// Business hours, e.g. `"Mon-Fri 09:00-18:00"`: outside them the clock pauses.
    pub hours: Option<String>,
    /// The hours' time zone as a UTC offset (`"+01:00"`, `"UTC"`); the system's by default.
    pub time_zone: Option<String>,
}

/// Writing replies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeSection {
    /// Ask before sending when the customer or another broker wrote since the reply was
    /// started (default true).
    pub guard: Option<bool>,
}

/// Desktop and bell notifications.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// Any of `bell`, `osc9`, `osc777`.
    #[serde(default)]
    pub via: Vec<String>,
    /// Notify in the screen-reader mode too (off by default: speech already says it).
    pub screen_reader: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenReaderSection {
    /// Verbosity settings, applied in order: `["typing off", "all quiet"]`.
    #[serde(default)]
    pub verbosity: Vec<String>,
    /// `"names"` speaks emoji as their names; `"keep"` (the default) leaves them.
    pub emoji: Option<EmojiSpeech>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmojiSpeech {
    Keep,
    Names,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl FileConfig {
    /// Reads `path`; a missing file is fine only when it is the default location.
    pub fn load(path: &Path, explicit: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Self::default());
            }
            Err(error) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    reason: error.to_string(),
                });
            }
        };
        Self::parse(&text).map_err(|error| ConfigError::Invalid {
            path: path.to_owned(),
            reason: error.to_string().trim_end().to_owned(),
        })
    }

    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
}

fn xdg(variable: &str, fallback: &str) -> PathBuf {
    std::env::var_os(variable)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|home| home.join(fallback)))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `$XDG_CONFIG_HOME/brokerdash/config.toml`.
pub fn default_config_path() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config")
        .join("brokerdash")
        .join("config.toml")
}

/// `$XDG_STATE_HOME/brokerdash` (the SQLite store and logs).
pub fn default_state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state").join("brokerdash")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let config = FileConfig::parse(
            r#"
            [connection]
            endpoint = "http://127.0.0.1:8080"
            auth_url = "http://127.0.0.1:8080/api/ably/auth"
            broker_id = "7"
            broker_name = "Sam"
            channels = ["conversation:1"]

            [dashboard]
            theme = "high-contrast"
            screen_reader = true

            [canned]
            docs = "Please upload your last two payslips."
            "#,
        )
        .unwrap();
        assert_eq!(config.connection.broker_id.as_deref(), Some("7"));
        assert_eq!(config.dashboard.theme.as_deref(), Some("high-contrast"));
        assert_eq!(
            config.canned["docs"],
            "Please upload your last two payslips."
        );
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let error = FileConfig::parse("[connection]\nendpont = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("endpont"), "{error}");
    }

    #[test]
    fn a_missing_default_file_is_empty_but_a_missing_explicit_one_is_an_error() {
        let missing = Path::new("/nonexistent/brokerdash/config.toml");
        assert!(FileConfig::load(missing, false).is_ok());
        assert!(matches!(
            FileConfig::load(missing, true),
            Err(ConfigError::Read { .. })
        ));
    }
}
