//! What a hub accepts and its limits; Ably's own values by default.

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::ApiKey;

use super::clock::random_id;

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
    /// How often idle channels are closed, and channels that hold nothing forgotten.
    pub sweep_interval: Duration,
    /// Presence members one channel holds at most (Ably's default limit).
    pub max_presence_members: usize,
    /// Serve the web app's token endpoint (`POST /api/ably/auth`): it signs a broker's
    /// token for anyone who asks, as the real web app does for a signed-in broker.
    pub webapp_auth: bool,
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
            sweep_interval: Duration::from_secs(5),
            max_presence_members: 200,
            webapp_auth: true,
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

/// Where the keys a hub accepts came from; decides what its start-up line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `--key`, one or more: only their names are printed.
    Given,
    /// The fixed development key, on a loopback address only.
    Development,
    /// A random key made for this run, printed once: the hub listens beyond loopback and
    /// was given no key, and the fixed key is public.
    Generated,
}

/// The keys a hub listening on `ip` accepts. On loopback the fixed development key is the
/// default; on any other address it is refused, and without `--key` a random key is made.
/// Why the keys given to a hub cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyChoiceError {
    #[error("--key: {0}")]
    Malformed(#[from] crate::auth::KeyError),
    #[error(
        "--key: the fixed development key is public and only accepted on a loopback address, not on {0}; give a key of your own, or none for a random one"
    )]
    DevelopmentKeyBeyondLoopback(IpAddr),
}

pub fn keys_for_address(
    ip: IpAddr,
    given: &[String],
) -> Result<(Vec<ApiKey>, KeySource), KeyChoiceError> {
    let loopback = ip.is_loopback();
    if given.is_empty() {
        let (text, source) = if loopback {
            (DEVELOPMENT_KEY.to_owned(), KeySource::Development)
        } else {
            (
                format!("brokerdash.hub:{}", random_id(32)),
                KeySource::Generated,
            )
        };
        let key = text.parse::<ApiKey>()?;
        return Ok((vec![key], source));
    }
    let keys = given
        .iter()
        .map(|text| text.parse::<ApiKey>())
        .collect::<Result<Vec<_>, _>>()?;
    if !loopback && given.iter().any(|text| text == DEVELOPMENT_KEY) {
        return Err(KeyChoiceError::DevelopmentKeyBeyondLoopback(ip));
    }
    Ok((keys, KeySource::Given))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_without_a_key_uses_the_development_key() {
        for address in ["127.0.0.1", "::1"] {
            let (keys, source) = keys_for_address(ip(address), &[]).unwrap();
            assert_eq!(source, KeySource::Development);
            assert_eq!(keys[0].full().expose(), DEVELOPMENT_KEY);
        }
    }

    #[test]
    fn another_address_without_a_key_gets_a_random_one() {
        let (first, source) = keys_for_address(ip("0.0.0.0"), &[]).unwrap();
        let (second, _) = keys_for_address(ip("0.0.0.0"), &[]).unwrap();
        assert_eq!(source, KeySource::Generated);
        assert_ne!(first[0].full().expose(), DEVELOPMENT_KEY);
        assert_ne!(first[0].full().expose(), second[0].full().expose());
    }

    #[test]
    fn another_address_refuses_the_development_key_even_when_given() {
        let given = vec![DEVELOPMENT_KEY.to_owned()];
        let refused = keys_for_address(ip("192.0.2.7"), &given)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("loopback"), "{refused}");
        assert!(
            !refused.contains("local-development-secret"),
            "the refusal does not repeat the secret: {refused}"
        );
        assert!(keys_for_address(ip("127.0.0.1"), &given).is_ok());
    }

    #[test]
    fn given_keys_are_used_on_any_address() {
        let given = vec!["app.key:s3cret".to_owned()];
        let (keys, source) = keys_for_address(ip("0.0.0.0"), &given).unwrap();
        assert_eq!(source, KeySource::Given);
        assert_eq!(keys[0].name(), "app.key");
    }
}
