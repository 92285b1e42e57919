//! The command-line contract of `../shared/DESIGN.md`: subcommands and their options.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::auth::ApiKey;
use crate::hub::{self, DEVELOPMENT_KEY, HubConfig};

#[derive(Debug, Parser)]
#[command(
    name = "brokerdash",
    version,
    about = "A terminal dashboard for mortgage brokers and supervisors watching live customer conversations over Ably"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub: a local Ably-compatible server for development, demos and tests
    /// (production uses Ably itself).
    Hub(HubArgs),
}

#[derive(Debug, Args)]
pub struct HubArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// API key to accept (`appId.keyId:secret`), repeatable; without it a fixed
    /// development key is accepted.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// Serve the fault switches POST /_hub/faults/drop and /_hub/faults/stall?ms=N.
    #[arg(long)]
    pub faults: bool,
    /// Channels one connection may attach (Ably: 200; error 90010 past it).
    #[arg(long, default_value_t = 200)]
    pub max_channels_per_connection: usize,
    /// Largest message in bytes (Ably: 64 KiB; error 40009 past it).
    #[arg(long, default_value_t = 65_536)]
    pub max_message_bytes: usize,
    /// Messages kept per channel for history, rewind and resume.
    #[arg(long, default_value_t = 10_000)]
    pub history_per_channel: usize,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("brokerdash: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Hub(args) => runtime.block_on(run_hub(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("brokerdash: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_hub(args: HubArgs) -> Result<(), String> {
    init_stderr_logging();
    let given_keys = !args.keys.is_empty();
    let key_texts = if given_keys {
        args.keys.clone()
    } else {
        vec![DEVELOPMENT_KEY.to_owned()]
    };
    let keys = key_texts
        .iter()
        .map(|text| {
            text.parse::<ApiKey>()
                .map_err(|error| format!("--key: {error}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = HubConfig::new(keys.clone());
    config.faults = args.faults;
    config.max_channels_per_connection = args.max_channels_per_connection;
    config.max_message_bytes = args.max_message_bytes;
    config.history_per_channel = args.history_per_channel.max(1);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    println!("hub listening on http://{addr}");
    if given_keys {
        let names: Vec<&str> = keys.iter().map(ApiKey::name).collect();
        println!("keys: {} (secrets as given with --key)", names.join(", "));
    } else {
        println!("key: {DEVELOPMENT_KEY} (the fixed development key)");
    }
    hub::run(listener, config, shutdown_signal())
        .await
        .map_err(|error| format!("hub stopped: {error}"))
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Commands that draw nothing log to stderr (the dashboard logs to a file instead).
fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
