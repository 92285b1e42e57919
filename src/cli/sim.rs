//! `brokerdash sim`: the demo's simulated cast (customers, AI worker, SLA monitor and a
//! second broker) without the dashboard, against any hub or a real Ably app, for a load
//! rehearsal; it runs until Ctrl+C or SIGTERM.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::auth::ApiKey;
use crate::hub::DEVELOPMENT_KEY;
use crate::secret::Secret;
use crate::sim::SimConfig;

use super::connect::{ConnectError, is_loopback};
use super::error::CliError;
use super::init_stderr_logging;

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// The hub (http://127.0.0.1:8080) or Ably endpoint to run against.
    #[arg(long)]
    pub endpoint: String,
    /// API key appId.keyId:secret. A hub on this machine defaults to its development key;
    /// anywhere else a key is required (the cast acts as many clients, so an auth URL,
    /// which signs one broker, cannot stand in).
    #[arg(long, env = "ABLY_API_KEY", hide_env_values = true)]
    pub key: Option<Secret>,
    /// Simulated customers, one conversation each (conversation:1..=N).
    #[arg(long, default_value_t = 12)]
    pub conversations: usize,
    /// Seed for the simulation: the same seed plays the same script.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// How fast the cast acts: 10 plays ten minutes of traffic in one.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Seconds a customer may wait for a human before the SLA warning.
    #[arg(long, default_value_t = 45)]
    pub sla_warning_secs: u64,
    /// Seconds before the SLA violation.
    #[arg(long, default_value_t = 90)]
    pub sla_violation_secs: u64,
}

impl SimArgs {
    /// The simulation's configuration, and words for the key that show no secret.
    fn config(&self) -> Result<(SimConfig, String), CliError> {
        let endpoint =
            Url::parse(&self.endpoint).map_err(|source| ConnectError::EndpointNotUrl {
                text: self.endpoint.clone(),
                source,
            })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(ConnectError::EndpointScheme(self.endpoint.clone()).into());
        }
        let (text, development) = match &self.key {
            Some(key) => (key.expose().to_owned(), false),
            // The development key is public: fine for a hub on this machine only.
            None if is_loopback(&endpoint) => (DEVELOPMENT_KEY.to_owned(), true),
            None => return Err(CliError::SimWithoutKey(endpoint.to_string())),
        };
        let key: ApiKey = text.parse().map_err(CliError::SimKey)?;
        let key_words = if development {
            format!("{} (the hub's development key)", key.name())
        } else {
            key.name().to_owned()
        };
        let mut config = SimConfig::new(endpoint, key);
        config.conversations = self.conversations;
        config.seed = self.seed;
        config.speed = self.speed;
        config.sla_warning = Duration::from_secs(self.sla_warning_secs);
        config.sla_violation = Duration::from_secs(self.sla_violation_secs);
        Ok((config, key_words))
    }
}

pub(super) async fn run(args: SimArgs) -> Result<(), CliError> {
    init_stderr_logging();
    let (config, key_words) = args.config()?;
    // Written without eprintln!: a closed stderr must not stop the cast.
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "brokerdash sim: {n} customers (conversation:1..={n}), the AI worker, the SLA monitor \
         and a second broker against {} with key {key_words}; seed {}, speed {}, SLA warning \
         {} s, violation {} s; Ctrl+C stops it",
        config.endpoint,
        config.seed,
        config.speed,
        args.sla_warning_secs,
        args.sla_violation_secs,
        n = config.conversations,
    );
    let summary = format!(
        "{} conversations, seed {}, speed {}, against {}",
        config.conversations, config.seed, config.speed, config.endpoint
    );
    let started = Instant::now();
    let stop = CancellationToken::new();
    let simulation = crate::sim::run(config, stop.clone());
    tokio::pin!(simulation);
    // The simulation returns early only when it cannot start.
    let outcome = tokio::select! {
        outcome = &mut simulation => outcome,
        () = super::shutdown_signal() => {
            stop.cancel();
            simulation.await
        }
    };
    outcome?;
    let _ = writeln!(
        err,
        "brokerdash sim: stopped after {:.1} s ({summary})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn args(endpoint: &str, key: Option<&str>) -> SimArgs {
        let mut sim = Line::try_parse_from(["sim", "--endpoint", endpoint])
            .expect("flags parse")
            .sim;
        // Set here, not by flag: ABLY_API_KEY in the environment must not change the test.
        sim.key = key.map(Secret::new);
        sim
    }

    #[test]
    fn a_loopback_hub_defaults_to_the_development_key_and_nothing_else_does() {
        let (config, words) = args("http://127.0.0.1:8080", None)
            .config()
            .expect("config");
        assert_eq!(config.key.full().expose(), DEVELOPMENT_KEY);
        assert_eq!(words, "brokerdash.hub (the hub's development key)");
        let remote = args("https://main.realtime.ably.net", None).config();
        assert!(matches!(remote, Err(CliError::SimWithoutKey(_))));
        let (config, words) = args("https://main.realtime.ably.net", Some("app.key:secret"))
            .config()
            .expect("config");
        assert_eq!(config.key.name(), "app.key");
        assert!(
            !words.contains("secret"),
            "the secret is never shown: {words}"
        );
        let bad = args("ws://127.0.0.1:8080", None).config();
        assert!(matches!(
            bad,
            Err(CliError::Connect(ConnectError::EndpointScheme(_)))
        ));
    }
}
