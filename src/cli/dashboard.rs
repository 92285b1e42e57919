//! Starting the dashboard: against the configured service, or (`demo`) against a hub and
//! a simulation in this process, through the same protocol and code path.

use std::io::Write;
use std::path::Path;

use url::Url;

use crate::app::state::Identity;
use crate::config::EmojiSpeech;
use crate::config::theme::Theme;
use crate::dashboard::speech::SpeechOptions;
use crate::dashboard::{DashboardOptions, screen, speech};
use crate::protocol::names::ClientId;
use crate::rest::AuthConfig;
use crate::store::Store;

use super::{CliError, DashboardArgs, DemoArgs};

pub async fn run(args: &DashboardArgs) -> Result<(), CliError> {
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
    client.client_id = Some(ClientId::broker(&broker_id).into_string());
    let suggestions_base = match &client.auth {
        AuthConfig::AuthUrl { url, .. } => origin(url),
        AuthConfig::Key { .. } => client.endpoint.clone(),
    };
    let screen_reader = args
        .screen_reader
        .or(section.screen_reader)
        .unwrap_or(false);
    let desk = super::desk::resolve(&args.desk, &connection.file, screen_reader)?;
    let store = open_store(&connection.state_dir)?;
    let options = DashboardOptions {
        initial_notice: None,
        client,
        identity,
        channels: connection.channels.clone(),
        read_only: args.read_only || section.read_only.unwrap_or(false),
        theme,
        notify: desk.notify,
        sla_clock: desk.sla_clock,
        board: desk.board,
        guard: desk.guard,
        canned: connection.file.canned.clone(),
        keymap: crate::input::Keymap::with_overrides(&connection.file.keys)?,
        suggestions_base,
        speech: SpeechOptions {
            verbosity: [
                connection.file.screen_reader.verbosity.clone(),
                args.verbosity.clone(),
            ]
            .concat(),
            emoji_names: connection.file.screen_reader.emoji == Some(EmojiSpeech::Names),
        },
    };
    if screen_reader {
        speech::run(options, store).await?;
    } else {
        screen::run(options, store).await?;
    }
    Ok(())
}

/// The hub on a free loopback port (or `--listen`), the simulation, and the dashboard
/// signed in as a broker through the web app's auth endpoint: the same path as against
/// Ably.
pub async fn demo(args: DemoArgs) -> Result<(), CliError> {
    let state_dir = fresh_demo_state()?;
    let (hub, join) = demo_hub(&args).await?;
    let endpoint = Url::parse(&hub.url())?;
    let key: crate::auth::ApiKey = crate::hub::DEVELOPMENT_KEY
        .parse()
        .map_err(CliError::DemoKey)?;

    let mut simulation = crate::sim::SimConfig::new(endpoint.clone(), key);
    simulation.conversations = args.conversations.max(1);
    simulation.seed = args.seed;
    simulation.speed = args.speed;
    simulation.sla_warning = std::time::Duration::from_secs(args.sla_warning_secs);
    simulation.sla_violation =
        std::time::Duration::from_secs(args.sla_violation_secs.max(args.sla_warning_secs));
    let (simulated_warning, simulated_violation) =
        (simulation.sla_warning, simulation.sla_violation);
    let stop = tokio_util::sync::CancellationToken::new();
    let sim = tokio::spawn(crate::sim::run(simulation, stop.clone()));

    let auth_url = endpoint.join("/api/ably/auth")?;
    let mut client = crate::realtime::ClientOptions::new(
        endpoint.clone(),
        AuthConfig::AuthUrl {
            url: auth_url,
            broker_id: DEMO_BROKER.to_owned(),
        },
    );
    client.client_id = Some(ClientId::broker(DEMO_BROKER).into_string());
    let realtime_disabled = crate::realtime::TransportChoice::realtime_disabled(
        std::env::var("ENABLE_ABLY_REALTIME").ok().as_deref(),
    );
    (client.transport, client.transport_reason) =
        super::connect::choose_transport(args.transport, realtime_disabled, None)?;
    let desk = demo_desk(&args, simulated_warning, simulated_violation)?;
    let store = open_store(&state_dir)?;
    if let Some(join) = &join {
        // Before the screen takes over, so it stays in the terminal.
        let _ = writeln!(std::io::stderr(), "{join}");
    }
    let options = DashboardOptions {
        initial_notice: join,
        client,
        identity: Identity {
            broker_id: DEMO_BROKER.to_owned(),
            broker_name: "Jordan Lee".to_owned(),
        },
        channels: Vec::new(),
        read_only: false,
        theme: load_theme(None, false)?,
        notify: desk.notify,
        sla_clock: desk.sla_clock,
        board: desk.board,
        guard: desk.guard,
        canned: demo_canned(),
        keymap: crate::input::Keymap::default(),
        suggestions_base: endpoint,
        speech: SpeechOptions {
            verbosity: args.verbosity.clone(),
            emoji_names: false,
        },
    };
    let outcome = if args.screen_reader {
        speech::run(options, store).await
    } else {
        screen::run(options, store).await
    };
    stop.cancel();
    let simulated = sim.await.map_err(CliError::SimulationAborted)?;
    let _ = hub.stop().await;
    outcome?;
    Ok(simulated?)
}

const DEMO_BROKER: &str = "demo";

/// The demo's hub, and with `--listen` the line telling a second broker how to join.
/// Loopback only: the hub takes the public development key and signs anyone in.
async fn demo_hub(args: &DemoArgs) -> Result<(crate::hub::RunningHub, Option<String>), CliError> {
    let listener = match args.listen {
        Some(addr) if !addr.ip().is_loopback() => {
            return Err(CliError::DemoListenBeyondLoopback(addr));
        }
        Some(addr) => tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| CliError::Listen { addr, source })?,
        None => tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(CliError::DemoPort)?,
    };
    let hub = crate::hub::spawn(listener, crate::hub::HubConfig::development())
        .map_err(CliError::DemoPort)?;
    let join = args.listen.map(|_| {
        format!(
            "Others can join: brokerdash --endpoint {} --broker-id 8 --broker-name \"Sam Lee\"",
            hub.url()
        )
    });
    Ok((hub, join))
}

/// The demo's own state folder, beside the real one, emptied: each demo starts fresh (the
/// simulation replays the same ids for a seed).
fn fresh_demo_state() -> Result<std::path::PathBuf, CliError> {
    let state_dir = std::env::var_os("BROKERDASH_STATE_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(crate::config::default_state_dir, std::path::PathBuf::from)
        .join("demo");
    for file in [
        "brokerdash.sqlite3",
        "brokerdash.sqlite3-wal",
        "brokerdash.sqlite3-shm",
    ] {
        let _ = std::fs::remove_file(state_dir.join(file));
    }
    crate::logging::to_file(&state_dir)?;
    Ok(state_dir)
}

/// The demo's view and notifications; its own clock runs on the simulation's scaled-down
/// thresholds, like its SLA monitor.
fn demo_desk(
    args: &DemoArgs,
    warning: std::time::Duration,
    violation: std::time::Duration,
) -> Result<super::desk::Desk, CliError> {
    let mut desk = super::desk::resolve(
        &args.desk,
        &crate::config::FileConfig::default(),
        args.screen_reader,
    )?;
    let ms =
        |duration: std::time::Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    desk.sla_clock.thresholds = crate::app::sla_clock::SlaThresholds {
        warning_ms: ms(warning),
        violation_ms: ms(violation),
    };
    Ok(desk)
}

fn demo_canned() -> std::collections::BTreeMap<String, String> {
    [
        ("hi", "Hi, I'm Jordan, a broker on the team. I've read the conversation so far; let me help."),
        ("docs", "Could you upload your last two payslips, photo ID and three months of bank statements?"),
        ("rate", "I'll compare fixed and variable offers for your situation and come back with numbers today."),
        ("call", "Would a quick call suit you? I can ring in the next 15 minutes."),
    ]
    .into_iter()
    .map(|(code, text)| (code.to_owned(), text.to_owned()))
    .collect()
}

fn open_store(state_dir: &Path) -> Result<Store, CliError> {
    Ok(Store::open(state_dir)?)
}

pub fn load_theme(name: Option<&str>, ascii: bool) -> Result<Theme, CliError> {
    let mut theme = Theme::built_in(name.unwrap_or("dark"))?;
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
