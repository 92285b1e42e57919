//! The simulator behind `brokerdash demo`: customers, an AI broker, an SLA monitor and a
//! second human broker, each a real client of the hub (or of Ably) over the protocol, so the
//! dashboard sees exactly the traffic the web app would produce.
//!
//! - `script`: the cast (names, personas, questions) drawn from the seed.
//! - `plan`: each customer's timed steps, pure and seeded.
//! - `connection`: connecting, attaching and publishing, shared by every actor.
//! - `customer`, `ai` (+ `answers`, and `pause` for `ai:pause` / `ai:resume`), `sla`,
//!   `broker`: the actors.
//!
//! Determinism: every random choice comes from a `StdRng` derived from the seed, per actor
//! (and, for the AI, per message it answers), so content, names, personas and each actor's
//! own schedule repeat for a seed. Only the interleaving between actors depends on the clock.
//!
//! Lifecycle: [`run`] connects every client and attaches their channels before the clock
//! starts (so nobody misses the first messages), then runs the actors until `shutdown` is
//! cancelled; each actor closes its own client on the way out.

mod ai;
mod answers;
mod broker;
mod connection;
mod customer;
mod pause;
mod plan;
pub mod script;
mod sla;

use std::time::Duration;

use futures_util::future::join_all;
use thiserror::Error;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use url::Url;

use crate::auth::ApiKey;
use crate::protocol::ErrorInfo;
use crate::protocol::events::ConversationId;
use crate::protocol::names::{CONVERSATION_PREFIX, ClientId};
use crate::rest::RestError;

use connection::ActorConnection;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `http(s)://host:port` of the hub (or Ably).
    pub endpoint: Url,
    pub key: ApiKey,
    /// Customers, one per conversation, on `conversation:1..=conversations`.
    pub conversations: usize,
    pub seed: u64,
    /// Waiting for a human this long publishes `sla:warning`.
    pub sla_warning: Duration,
    /// Waiting for a human this long publishes `sla:violation`.
    pub sla_violation: Duration,
    /// Divides every delay of the actors (1.0 is demo pace); SLA thresholds are not scaled.
    pub speed: f64,
}

impl SimConfig {
    pub fn new(endpoint: Url, key: ApiKey) -> Self {
        Self {
            endpoint,
            key,
            conversations: 12,
            seed: 1,
            sla_warning: Duration::from_secs(45),
            sla_violation: Duration::from_secs(90),
            speed: 1.0,
        }
    }

    fn validate(&self) -> Result<(), SimError> {
        if self.conversations == 0 {
            return Err(SimError::NoConversations);
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(SimError::InvalidSpeed(self.speed));
        }
        if self.sla_warning > self.sla_violation {
            return Err(SimError::InvalidThresholds {
                warning: self.sla_warning,
                violation: self.sla_violation,
            });
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum SimError {
    #[error("the simulator needs at least one conversation")]
    NoConversations,
    #[error("speed must be a positive number (got {0})")]
    InvalidSpeed(f64),
    #[error("the SLA warning ({warning:?}) must not come after the violation ({violation:?})")]
    InvalidThresholds {
        warning: Duration,
        violation: Duration,
    },
    #[error("{client_id} could not connect: {reason}")]
    Refused { client_id: String, reason: String },
    #[error("{client_id} could not attach {channel}: {reason}")]
    AttachRefused {
        client_id: String,
        channel: String,
        reason: String,
    },
    #[error("{client_id} was not ready within {waited:?} ({waiting_for})")]
    Timeout {
        client_id: String,
        waiting_for: String,
        waited: Duration,
    },
    #[error("listing the open conversation channels failed: {0}")]
    Discovery(#[from] RestError),
}

impl SimError {
    fn reason(error: Option<&ErrorInfo>) -> String {
        error.map_or_else(|| "no reason given".to_owned(), ToString::to_string)
    }
}

/// Runs the simulation until `shutdown` is cancelled, then closes every client. Fails only
/// while setting up (bad configuration, refused key, unreachable endpoint); once running,
/// failed publishes are logged and the actors carry on.
pub async fn run(config: SimConfig, shutdown: CancellationToken) -> Result<(), SimError> {
    config.validate()?;
    let script = script::Script::generate(config.seed, config.conversations);
    let pace = Pace::new(config.speed);
    let channels: Vec<String> = script.customers.iter().map(|c| channel_of(c.id)).collect();

    let setup = async {
        let customers = join_all(script.customers.iter().map(|customer| {
            let channel = [channel_of(customer.id)];
            let client_id =
                ClientId::customer(&ConversationId::new(customer.id.to_string())).into_string();
            let config = &config;
            async move { ActorConnection::open(config, &client_id, &channel).await }
        }));
        let ai = ActorConnection::open(&config, ai::CLIENT_ID, &channels);
        let monitor = sla::SlaMonitor::connect(&config, &channels);
        let broker = ActorConnection::connect(&config, broker::CLIENT_ID);
        let (customers, ai, monitor, broker) = tokio::join!(customers, ai, monitor, broker);
        Setup::collect(customers, ai, monitor, broker).await
    };
    let setup = tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        setup = setup => setup?,
    };

    // The clock starts once everyone is connected and attached.
    let start = Instant::now();
    info!(
        conversations = config.conversations,
        seed = config.seed,
        speed = config.speed,
        "simulation started"
    );
    let mut actors = JoinSet::new();
    for (customer, connection) in script.customers.iter().zip(setup.customers) {
        let plan = plan::Plan::new(customer, config.conversations, config.seed);
        let actor = customer::CustomerActor::new(customer, connection, plan, config.seed, pace);
        actors.spawn(actor.run(start, shutdown.clone()));
    }
    let personas = script
        .customers
        .iter()
        .map(|customer| (channel_of(customer.id), customer.persona))
        .collect();
    let worker = ai::AiWorker::new(setup.ai, personas, config.seed, pace);
    actors.spawn(worker.run(shutdown.clone()));
    let thresholds = sla::Thresholds::new(config.sla_warning, config.sla_violation);
    actors.spawn(setup.monitor.run(thresholds, shutdown.clone()));
    let visitor = broker::BrokerActor::new(setup.broker, channels, config.seed, pace);
    actors.spawn(visitor.run(start, shutdown.clone()));

    shutdown.cancelled().await;
    while let Some(ended) = actors.join_next().await {
        if let Err(error) = ended {
            warn!(%error, "a simulated actor ended abnormally");
        }
    }
    info!("simulation stopped");
    Ok(())
}

/// Every client, connected and attached, or the first setup error (the rest are closed).
struct Setup {
    customers: Vec<ActorConnection>,
    ai: ActorConnection,
    monitor: sla::SlaMonitor,
    broker: ActorConnection,
}

impl Setup {
    async fn collect(
        customers: Vec<Result<ActorConnection, SimError>>,
        ai: Result<ActorConnection, SimError>,
        monitor: Result<sla::SlaMonitor, SimError>,
        broker: Result<ActorConnection, SimError>,
    ) -> Result<Self, SimError> {
        fn note<T>(result: Result<T, SimError>, first_error: &mut Option<SimError>) -> Option<T> {
            result
                .map_err(|error| {
                    first_error.get_or_insert(error);
                })
                .ok()
        }
        let mut error = None;
        let mut customers: Vec<ActorConnection> = customers
            .into_iter()
            .filter_map(|result| note(result, &mut error))
            .collect();
        let ai = note(ai, &mut error);
        let monitor = note(monitor, &mut error);
        let broker = note(broker, &mut error);
        match (error, ai, monitor, broker) {
            (None, Some(ai), Some(monitor), Some(broker)) => Ok(Self {
                customers,
                ai,
                monitor,
                broker,
            }),
            (error, ai, monitor, broker) => {
                customers.extend(ai.into_iter().chain(broker));
                customers.extend(monitor.map(sla::SlaMonitor::into_link));
                join_all(customers.iter().map(ActorConnection::close)).await;
                Err(error.unwrap_or(SimError::NoConversations))
            }
        }
    }
}

/// Scales the actors' nominal (demo-pace) delays by the configured speed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    speed: f64,
}

impl Pace {
    /// No delay is ever longer than this, however slow the speed.
    const LONGEST: Duration = Duration::from_secs(86_400);

    pub(crate) fn new(speed: f64) -> Self {
        Self { speed }
    }

    pub(crate) fn of(self, nominal: Duration) -> Duration {
        Duration::try_from_secs_f64(nominal.as_secs_f64() / self.speed)
            .map_or(Self::LONGEST, |scaled| scaled.min(Self::LONGEST))
    }
}

pub(crate) fn channel_of(id: u32) -> String {
    ConversationId::new(id.to_string()).channel().into_string()
}

pub(crate) fn is_conversation(channel: &str) -> bool {
    channel.starts_with(CONVERSATION_PREFIX)
}

/// An independent seed for one stream of random choices (an actor, a message), so that
/// one actor's choices never depend on how many another has made (SplitMix64 finaliser).
pub(crate) fn derive_seed(seed: u64, stream: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(seed ^ mix(stream))
}

/// A stable hash of a text (FNV-1a), for seeding per-message choices; std's hasher may
/// change between Rust releases, which would change the demo.
pub(crate) fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(crate) use crate::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_divides_delays_and_never_overflows() {
        assert_eq!(
            Pace::new(10.0).of(Duration::from_secs(5)),
            Duration::from_millis(500)
        );
        assert_eq!(Pace::new(1e-300).of(Duration::from_secs(5)), Pace::LONGEST);
    }

    #[test]
    fn derived_seeds_differ_per_stream_and_repeat_per_seed() {
        assert_eq!(derive_seed(7, 1), derive_seed(7, 1));
        assert_ne!(derive_seed(7, 1), derive_seed(7, 2));
        assert_ne!(derive_seed(7, 1), derive_seed(8, 1));
        assert_eq!(stable_hash("c1-m1"), stable_hash("c1-m1"));
        assert_ne!(stable_hash("c1-m1"), stable_hash("c1-m2"));
    }

    #[test]
    fn configuration_mistakes_are_reported() {
        let key = crate::hub::DEVELOPMENT_KEY.parse().unwrap();
        let endpoint = Url::parse("http://127.0.0.1:1").unwrap();
        let mut config = SimConfig::new(endpoint, key);
        config.conversations = 0;
        assert!(matches!(config.validate(), Err(SimError::NoConversations)));
        config.conversations = 3;
        config.speed = 0.0;
        assert!(matches!(config.validate(), Err(SimError::InvalidSpeed(_))));
        config.speed = 2.0;
        config.sla_warning = Duration::from_secs(100);
        assert!(matches!(
            config.validate(),
            Err(SimError::InvalidThresholds { .. })
        ));
    }
}
