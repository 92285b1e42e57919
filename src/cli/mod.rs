//! The command line: subcommands and their options, as the README describes them.
//!
//! The runtime each command gets. A client of the service (the dashboard, `tail`, `publish`,
//! `bench`) runs on one thread: network I/O, decoding and, for the dashboard, the screen. At
//! 2,000 messages a second the network takes a few per cent of a core and a frame of 1,000
//! conversations about 0.3 ms, so one thread has room to spare; and it spares every message a
//! hand-off between threads (a wake-up of another thread) and the state any lock. The
//! outbox's SQLite writes are small (a row per reply or draft) and follow the broker's keys,
//! not the traffic. What serves others (the hub, the proxy, the demo, which holds a hub
//! and the simulated customers, and `sim`, the simulated cast alone, whose clients the
//! others watch) gets a worker per core.

mod alerts;
mod bench;
mod connect;
mod dashboard;
mod desk;
mod error;
mod proxy;
mod sim;

pub use error::CliError;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::auth::ApiKey;
use crate::hub::{self, DEVELOPMENT_KEY, HubConfig};
pub use connect::{ABLY_ENDPOINT, Connection, ConnectionArgs};

#[derive(Debug, Parser)]
#[command(
    name = "brokerdash",
    version,
    about = "A terminal dashboard for mortgage brokers and supervisors watching live customer conversations over Ably"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Option<Mode>,
    /// Without a subcommand: the dashboard.
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Theme: dark (default), light, high-contrast.
    #[arg(long)]
    pub theme: Option<String>,
    /// Watch only: nothing can be published.
    #[arg(long)]
    pub read_only: bool,
    /// One labelled line per event and commands at a prompt, instead of a redrawn screen.
    #[arg(long, env = "BROKERDASH_SCREEN_READER", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub screen_reader: Option<bool>,
    /// A screen-reader verbosity setting, after the config's ("typing off", "all quiet");
    /// may be given more than once.
    #[arg(long = "verbosity", value_name = "SETTING")]
    pub verbosity: Vec<String>,
    #[command(flatten)]
    pub desk: desk::DeskArgs,
}

#[derive(Debug, Subcommand)]
pub enum Mode {
    /// The whole system on this machine: a hub, simulated customers, AI broker, SLA
    /// monitor and a second broker, and the dashboard on top. No account, no network.
    Demo(DemoArgs),
    /// The demo's simulated cast alone (customers, AI worker, SLA monitor, a second
    /// broker), against a hub or a real Ably app, for a load rehearsal; until Ctrl+C.
    Sim(sim::SimArgs),
    /// Run the hub: a local Ably-compatible server for development, demos and tests
    /// (production uses Ably itself).
    Hub(HubArgs),
    /// A fault proxy in front of a hub or of Ably: passes traffic through, and breaks it on
    /// request (POST /_proxy/drop, /_proxy/stall, /_proxy/refuse, /_proxy/rules).
    Proxy(proxy::ProxyArgs),
    /// Print one line per event on the watched channels (scripts, grep, screen readers).
    Tail {
        #[command(flatten)]
        connection: ConnectionArgs,
        /// One JSON object per line: channel, name, id, clientId, connectionId, timestamp,
        /// data (decoded), and for presence the action.
        #[arg(long)]
        jsonl: bool,
    },
    /// Publish one event over REST and print its message id.
    Publish {
        #[command(flatten)]
        connection: ConnectionArgs,
        channel: String,
        event: String,
        /// The event's data as JSON; `timestamp` is added when missing.
        json: String,
        /// Message id to use (reuse it to retry without publishing twice).
        #[arg(long)]
        id: Option<String>,
    },
    /// Load generation and latency measurement.
    #[command(subcommand)]
    Bench(bench::BenchMode),
    /// Print the SLA alerts the dashboard recorded (for a report).
    Alerts(alerts::AlertsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Simulated customers, one conversation each.
    #[arg(long, default_value_t = 12)]
    pub conversations: usize,
    /// Seed for the simulation: the same seed plays the same script.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Seconds a customer may wait for a human before the SLA warning (scaled down for a
    /// demo).
    #[arg(long, default_value_t = 45)]
    pub sla_warning_secs: u64,
    /// Seconds before the SLA violation.
    #[arg(long, default_value_t = 90)]
    pub sla_violation_secs: u64,
    /// The screen-reader mode: one labelled line per event, commands at a prompt.
    #[arg(long)]
    pub screen_reader: bool,
    /// A screen-reader verbosity setting ("typing off", "all full"); may be repeated.
    #[arg(long = "verbosity", value_name = "SETTING")]
    pub verbosity: Vec<String>,
    /// websocket, poll or auto (default; ENABLE_ABLY_REALTIME=false means poll).
    #[arg(long, value_name = "websocket|poll|auto")]
    pub transport: Option<crate::realtime::TransportChoice>,
    /// How fast the simulated customers, AI and brokers act: 10 plays ten minutes of
    /// traffic in one (for rehearsals and the memory benchmark).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Where the demo's hub listens (say 127.0.0.1:8080), instead of a free port, so a
    /// second dashboard can join; it prints how. Loopback only: the demo's hub takes the
    /// public development key (for other machines, run `brokerdash hub`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub desk: desk::DeskArgs,
}

#[derive(Debug, Args)]
pub struct HubArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// API key to accept (`appId.keyId:secret`), repeatable. Without it a loopback hub
    /// accepts the fixed development key, and a hub on any other address makes a random
    /// key and prints it once.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// Serve the fault switches POST /_hub/faults/drop, /_hub/faults/stall?ms=N,
    /// /_hub/faults/refuse-websocket?ms=N and /_hub/faults/panic.
    #[arg(long)]
    pub faults: bool,
    /// On an address beyond loopback, also serve what gives anyone who reaches the hub
    /// power over it: the web app's token endpoint (POST /api/ably/auth) and, with
    /// --faults, the fault switches. Off by default there; always on for loopback.
    #[arg(long)]
    pub allow_remote_dev_endpoints: bool,
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
    let result = match cli.mode {
        // Reads the store and prints: nothing to start a runtime for.
        Some(Mode::Alerts(args)) => alerts::run(&args),
        mode => run_on_runtime(mode, &cli.dashboard),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("brokerdash: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_on_runtime(mode: Option<Mode>, dashboard_args: &DashboardArgs) -> Result<(), CliError> {
    // One thread for a client of the service, a worker per core for a server (module doc).
    let single_thread = matches!(
        mode,
        None | Some(Mode::Tail { .. } | Mode::Publish { .. } | Mode::Bench(_))
    );
    let runtime = if single_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Runtime::new()
    };
    let runtime = runtime.map_err(CliError::Runtime)?;
    match mode {
        None => runtime.block_on(dashboard::run(dashboard_args)),
        Some(Mode::Demo(args)) => runtime.block_on(dashboard::demo(args)),
        Some(Mode::Sim(args)) => runtime.block_on(sim::run(args)),
        Some(Mode::Hub(args)) => runtime.block_on(run_hub(args)),
        Some(Mode::Proxy(args)) => runtime.block_on(proxy::run(args)),
        Some(Mode::Tail { connection, jsonl }) => runtime.block_on(run_tail(&connection, jsonl)),
        Some(Mode::Publish {
            connection,
            channel,
            event,
            json,
            id,
        }) => runtime.block_on(async {
            let connection = connection.resolve()?;
            let id = crate::publish::run(connection.options, &channel, &event, &json, id).await?;
            println!("{id}");
            Ok(())
        }),
        Some(Mode::Bench(mode)) => runtime.block_on(bench::run(mode)),
        Some(Mode::Alerts(args)) => alerts::run(&args),
    }
}

async fn run_tail(args: &ConnectionArgs, jsonl: bool) -> Result<(), CliError> {
    init_stderr_logging();
    let connection = args.resolve()?;
    let options = crate::tail::TailOptions {
        jsonl,
        channels: connection.channels.clone(),
    };
    Ok(crate::tail::run(connection.options, options, shutdown_signal()).await?)
}

async fn run_hub(args: HubArgs) -> Result<(), CliError> {
    init_stderr_logging();
    let (keys, key_source) = hub::keys_for_address(args.listen.ip(), &args.keys)?;
    let mut config = HubConfig::new(keys.clone());
    let dev_endpoints = args.listen.ip().is_loopback() || args.allow_remote_dev_endpoints;
    if args.faults && !dev_endpoints {
        return Err(CliError::FaultsBeyondLoopback(args.listen.ip()));
    }
    config.faults = args.faults;
    config.webapp_auth = dev_endpoints;
    config.max_channels_per_connection = args.max_channels_per_connection;
    config.max_message_bytes = args.max_message_bytes;
    config.history_per_channel = args.history_per_channel.max(1);
    let listen = |source| CliError::Listen {
        addr: args.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    // Written without println!: a reader that closes our stdout must not stop the hub.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "hub listening on http://{addr}");
    match key_source {
        hub::KeySource::Given => {
            let names: Vec<&str> = keys.iter().map(ApiKey::name).collect();
            let _ = writeln!(
                out,
                "keys: {} (secrets as given with --key)",
                names.join(", ")
            );
        }
        hub::KeySource::Development => {
            let _ = writeln!(out, "key: {DEVELOPMENT_KEY} (the fixed development key)");
        }
        hub::KeySource::Generated => {
            // The only time this secret is shown: the fixed key is public, so a hub
            // reachable from other machines makes its own.
            let secret = keys
                .iter()
                .map(|key| key.full().expose())
                .collect::<Vec<_>>();
            let _ = writeln!(
                out,
                "key: {} (made for this run: the fixed development key is only accepted on loopback)",
                secret.join(", ")
            );
        }
    }
    if !dev_endpoints {
        let _ = writeln!(
            out,
            "web app token endpoint: off on this address (--allow-remote-dev-endpoints serves it)"
        );
    }
    let _ = out.flush();
    hub::run(listener, config, shutdown_signal())
        .await
        .map_err(CliError::HubStopped)
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
pub(crate) fn init_stderr_logging() {
    let filter = crate::logging::without_secrets(
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn alerts_flags_parse_and_formats_exclude_each_other() {
        let parsed = Cli::try_parse_from(["brokerdash", "alerts"]).unwrap();
        assert!(
            matches!(parsed.mode, Some(Mode::Alerts(ref args)) if args.since == "1h" && !args.csv && !args.jsonl)
        );
        let parsed = Cli::try_parse_from([
            "brokerdash",
            "alerts",
            "--since",
            "1h30m",
            "--csv",
            "--state-dir",
            "/tmp/state",
        ])
        .unwrap();
        assert!(
            matches!(parsed.mode, Some(Mode::Alerts(ref args)) if args.csv && args.state_dir.as_deref() == Some(std::path::Path::new("/tmp/state")))
        );
        let both = Cli::try_parse_from(["brokerdash", "alerts", "--jsonl", "--csv"]);
        assert!(both.is_err());
    }

    #[test]
    fn contract_names_parse() {
        let parsed = Cli::try_parse_from([
            "brokerdash",
            "tail",
            "--jsonl",
            "--endpoint",
            "http://127.0.0.1:1",
            "--channel",
            "a",
            "--channel",
            "b",
        ])
        .unwrap();
        assert!(
            matches!(parsed.mode, Some(Mode::Tail { jsonl: true, ref connection }) if connection.channels == ["a", "b"])
        );
        let parsed = Cli::try_parse_from([
            "brokerdash",
            "hub",
            "--listen",
            "127.0.0.1:0",
            "--key",
            "a.b:c",
            "--key",
            "d.e:f",
            "--faults",
        ])
        .unwrap();
        assert!(
            matches!(parsed.mode, Some(Mode::Hub(ref hub)) if hub.keys.len() == 2 && hub.faults)
        );
        let parsed = Cli::try_parse_from([
            "brokerdash",
            "publish",
            "conversation:1",
            "message:user",
            "{}",
        ])
        .unwrap();
        assert!(matches!(parsed.mode, Some(Mode::Publish { .. })));
        let parsed = Cli::try_parse_from([
            "brokerdash",
            "--read-only",
            "--theme",
            "light",
            "--key",
            "a.b:c",
        ])
        .unwrap();
        assert!(parsed.mode.is_none() && parsed.dashboard.read_only);
        let parsed =
            Cli::try_parse_from(["brokerdash", "demo", "--conversations", "5", "--seed", "3"])
                .unwrap();
        assert!(matches!(
            parsed.mode,
            Some(Mode::Demo(DemoArgs {
                conversations: 5,
                seed: 3,
                sla_warning_secs: 45,
                ..
            }))
        ));
    }
}
