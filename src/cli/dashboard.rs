//! Starting the dashboard: against the configured service, or (`demo`) against a hub and
//! a simulation in this process, through the same protocol and code path.

use std::path::Path;

use url::Url;

use crate::app::run::{DashboardOptions, run as run_app};
use crate::app::state::Identity;
use crate::config::theme::Theme;
use crate::rest::AuthConfig;
use crate::store::Store;

use super::{DashboardArgs, DemoArgs};

pub async fn run(args: &DashboardArgs) -> Result<(), String> {
    let connection = args.connection.resolve()?;
    crate::logging::to_file(&connection.state_dir)?;
    let section = &connection.file.dashboard;
    let theme = load_theme(
        args.theme.as_deref().or(section.theme.as_deref()),
        section.ascii.unwrap_or(false),
    )?;
    let broker_id = connection
        .broker_id
        .clone()
        .unwrap_or_else(default_broker_id);
    let identity = Identity {
        broker_name: connection
            .broker_name
            .clone()
            .unwrap_or_else(|| broker_id.clone()),
        broker_id: broker_id.clone(),
    };
    let mut client = connection.options.clone();
    client.client_id = Some(format!("broker-{broker_id}"));
    let suggestions_base = match &client.auth {
        AuthConfig::AuthUrl { url, .. } => origin(url),
        AuthConfig::Key { .. } => client.endpoint.clone(),
    };
    let options = DashboardOptions {
        store: open_store(&connection.state_dir)?,
        client,
        identity,
        channels: connection.channels.clone(),
        read_only: args.read_only || section.read_only.unwrap_or(false),
        theme,
        bell: section.bell.unwrap_or(false),
        canned: connection.file.canned.clone(),
        suggestions_base,
    };
    run_app(options).await
}

pub async fn demo(args: DemoArgs) -> Result<(), String> {
    let _ = args;
    Err("the demo is not available yet".into())
}

fn open_store(state_dir: &Path) -> Result<Store, String> {
    Store::open(state_dir).map_err(|error| error.to_string())
}

pub fn load_theme(name: Option<&str>, ascii: bool) -> Result<Theme, String> {
    let mut theme = Theme::built_in(name.unwrap_or("dark")).map_err(|error| error.to_string())?;
    theme.ascii = ascii;
    // NO_COLOR (any non-empty value): no colours, meaning stays in words and marks.
    if std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()) {
        theme = theme.without_colour();
    }
    Ok(theme)
}

fn default_broker_id() -> String {
    let user = std::env::var("USER").unwrap_or_default();
    let cleaned: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if cleaned.is_empty() {
        "me".to_owned()
    } else {
        cleaned
    }
}

fn origin(url: &Url) -> Url {
    let mut base = url.clone();
    base.set_path("/");
    base.set_query(None);
    base
}
