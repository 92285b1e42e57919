//! What a hub accepts and its limits; Ably's own values by default.

use std::time::Duration;

use crate::auth::ApiKey;

/// The key a hub accepts when none is given: for development, demos and tests only.
pub const DEVELOPMENT_KEY: &str = "brokerdash.hub:local-development-secret";

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub keys: Vec<ApiKey>,
    pub faults: bool,
    pub max_channels_per_connection: usize,
    pub max_message_bytes: usize,
    pub max_frame_bytes: usize,
    pub history_per_channel: usize,
    /// Frames queued for one connection before it counts as stalled and is disconnected.
    pub send_queue_frames: usize,
    pub connection_state_ttl: Duration,
    pub max_idle_interval: Duration,
    pub presence_grace: Duration,
    pub idempotency_window: Duration,
    /// How long a channel with no attachment stays active after its last publish.
    pub channel_idle_close: Duration,
    pub server_id: String,
}

impl HubConfig {
    pub fn new(keys: Vec<ApiKey>) -> Self {
        Self {
            keys,
            faults: false,
            max_channels_per_connection: 200,
            max_message_bytes: 64 * 1024,
            max_frame_bytes: 512 * 1024,
            history_per_channel: 10_000,
            send_queue_frames: 8192,
            connection_state_ttl: Duration::from_secs(120),
            max_idle_interval: Duration::from_secs(15),
            presence_grace: Duration::from_secs(15),
            idempotency_window: Duration::from_secs(120),
            channel_idle_close: Duration::from_secs(60),
            server_id: "brokerdash-hub".to_owned(),
        }
    }

    /// A hub that accepts only [`DEVELOPMENT_KEY`].
    pub fn development() -> Self {
        let keys = DEVELOPMENT_KEY
            .parse()
            .map(|key| vec![key])
            .unwrap_or_default();
        Self::new(keys)
    }

    pub fn key_named(&self, name: &str) -> Option<&ApiKey> {
        self.keys.iter().find(|key| key.name() == name)
    }
}
