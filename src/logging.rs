//! Logs go to a file in the state folder, never to the terminal the dashboard draws on.
//! Secrets cannot reach them: keys and tokens only travel inside `Secret`.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use thiserror::Error;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Error)]
pub enum LogError {
    #[error("cannot create {}: {source}", path.display())]
    CreateFolder {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the log file {}: {source}", path.display())]
    OpenFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Sends tracing output to `<state>/brokerdash.log` (appending), at `RUST_LOG` or `info`.
pub fn to_file(state_dir: &Path) -> Result<(), LogError> {
    std::fs::create_dir_all(state_dir).map_err(|source| LogError::CreateFolder {
        path: state_dir.to_owned(),
        source,
    })?;
    let path = state_dir.join("brokerdash.log");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| LogError::OpenFile { path, source })?;
    let filter = without_secrets(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}

/// Libraries that log requests in full at debug and trace level (the WebSocket URL carries
/// the key or token in its query; HTTP requests their headers) are held at `info`,
/// whatever `RUST_LOG` asks for.
pub fn without_secrets(filter: EnvFilter) -> EnvFilter {
    [
        "tungstenite",
        "tokio_tungstenite",
        "hyper",
        "hyper_util",
        "reqwest",
        "axum",
        "h2",
        "rustls",
    ]
    .iter()
    .filter_map(|target| format!("{target}=info").parse().ok())
    .fold(filter, EnvFilter::add_directive)
}
