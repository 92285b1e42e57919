//! The connection options shared by the dashboard, `tail`, `publish` and `bench`
//! (the README's command-line section), resolved flag > environment (both by
//! clap) > config file > default, into the realtime client's options.

use std::path::PathBuf;

use clap::Args;
use url::Url;

use crate::auth::ApiKey;
use crate::config::{FileConfig, default_config_path, default_state_dir};
use crate::protocol::WireFormat;
use crate::protocol::names::ClientId;
use crate::realtime::{ClientOptions, TransportChoice};
use crate::rest::AuthConfig;
use crate::secret::Secret;

pub const ABLY_ENDPOINT: &str = "https://main.realtime.ably.net";

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Base URL of the service: Ably (default) or a hub such as http://127.0.0.1:8080.
    /// For a hub on this machine (127.0.0.1, ::1, localhost) with neither --key nor
    /// --auth-url, --broker-id signs in through the hub's token endpoint
    /// ({endpoint}/api/ably/auth), as the demo's dashboard does.
    #[arg(long, env = "BROKERDASH_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Ably API key appId.keyId:secret (basic auth).
    #[arg(long, env = "ABLY_API_KEY", hide_env_values = true)]
    pub key: Option<Secret>,
    /// Token auth through the web app's auth endpoint (POST {"brokerId": …}).
    #[arg(long, env = "BROKERDASH_AUTH_URL")]
    pub auth_url: Option<String>,
    /// Who you are; your clientId is broker-{ID}.
    #[arg(long, env = "BROKERDASH_BROKER_ID")]
    pub broker_id: Option<String>,
    #[arg(long, env = "BROKERDASH_BROKER_NAME")]
    pub broker_name: Option<String>,
    /// Watch this channel (repeatable); without it every conversation:* channel is discovered.
    #[arg(long = "channel", value_name = "NAME")]
    pub channels: Vec<String>,
    /// Config file (default $XDG_CONFIG_HOME/brokerdash/config.toml).
    #[arg(long, env = "BROKERDASH_CONFIG")]
    pub config: Option<PathBuf>,
    /// State folder: SQLite store and logs (default $XDG_STATE_HOME/brokerdash).
    #[arg(long, env = "BROKERDASH_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// websocket, poll (REST history every few seconds) or auto: WebSocket, polling while
    /// upgrades keep failing (default; ENABLE_ABLY_REALTIME=false means poll).
    #[arg(long, value_name = "websocket|poll|auto")]
    pub transport: Option<TransportChoice>,
    /// Ably's wire protocol on the WebSocket: json (default: cheaper to decode, see the
    /// README's performance table) or msgpack.
    #[arg(long, value_name = "json|msgpack")]
    pub protocol: Option<WireFormat>,
}

/// Everything a command needs to connect, resolved.
#[derive(Debug, Clone)]
pub struct Connection {
    pub options: ClientOptions,
    pub broker_id: Option<String>,
    pub broker_name: Option<String>,
    pub channels: Vec<String>,
    pub state_dir: PathBuf,
    pub file: FileConfig,
}

/// Why the connection options could not be resolved; each names the option to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("--endpoint {text:?} is not a URL: {source}")]
    EndpointNotUrl {
        text: String,
        source: url::ParseError,
    },
    #[error("--endpoint must start with http:// or https:// (got {0:?})")]
    EndpointScheme(String),
    #[error("--auth-url is not a URL: {0}")]
    AuthUrlNotUrl(url::ParseError),
    #[error(
        "--auth-url needs --broker-id (or BROKERDASH_BROKER_ID): the auth endpoint issues tokens per broker"
    )]
    AuthUrlWithoutBroker,
    #[error("--key: {0}")]
    Key(crate::auth::KeyError),
    #[error("[connection] transport in the config: {0}")]
    Transport(crate::realtime::UnknownTransport),
    #[error("[connection] protocol in the config: {0}")]
    Protocol(crate::protocol::UnknownWireFormat),
    #[error(
        "no credentials: give --key (ABLY_API_KEY) or --auth-url (BROKERDASH_AUTH_URL); for a local hub, `brokerdash hub` prints its development key"
    )]
    NoCredentials,
    #[error(
        "no credentials: for a hub on this machine give --broker-id (BROKERDASH_BROKER_ID) to sign in through its token endpoint, or --key (ABLY_API_KEY) or --auth-url (BROKERDASH_AUTH_URL)"
    )]
    LocalHubWithoutBroker,
}

impl ConnectionArgs {
    pub fn load_file(&self) -> Result<FileConfig, crate::config::ConfigError> {
        match &self.config {
            Some(path) => FileConfig::load(path, true),
            None => FileConfig::load(&default_config_path(), false),
        }
    }

    pub fn resolve(&self) -> Result<Connection, ConnectError> {
        let file = self.load_file()?;
        let section = &file.connection;
        let endpoint_text = self
            .endpoint
            .clone()
            .or_else(|| section.endpoint.clone())
            .unwrap_or_else(|| ABLY_ENDPOINT.to_owned());
        let endpoint =
            Url::parse(&endpoint_text).map_err(|source| ConnectError::EndpointNotUrl {
                text: endpoint_text.clone(),
                source,
            })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(ConnectError::EndpointScheme(endpoint_text));
        }
        let broker_id = self.broker_id.clone().or_else(|| section.broker_id.clone());
        let broker_name = self
            .broker_name
            .clone()
            .or_else(|| section.broker_name.clone());
        let key = self
            .key
            .clone()
            .or_else(|| section.key.clone().map(Secret::new));
        let auth_url = self.auth_url.clone().or_else(|| section.auth_url.clone());
        let auth = choose_auth(&endpoint, auth_url, key, broker_id.as_ref())?;
        let mut options = ClientOptions::new(endpoint, auth);
        let realtime_disabled = TransportChoice::realtime_disabled(
            std::env::var("ENABLE_ABLY_REALTIME").ok().as_deref(),
        );
        (options.transport, options.transport_reason) = choose_transport(
            self.transport,
            realtime_disabled,
            section.transport.as_deref(),
        )?;
        options.client_id = broker_id
            .as_ref()
            .map(|id| ClientId::broker(id).into_string());
        options.wire_format = match (self.protocol, section.protocol.as_deref()) {
            (Some(flag), _) => flag,
            (None, Some(text)) => text.parse().map_err(ConnectError::Protocol)?,
            (None, None) => WireFormat::default(),
        };
        let channels = if self.channels.is_empty() {
            section.channels.clone()
        } else {
            self.channels.clone()
        };
        Ok(Connection {
            options,
            broker_id,
            broker_name,
            channels,
            state_dir: self.state_dir.clone().unwrap_or_else(default_state_dir),
            file,
        })
    }
}

/// How to sign in: an auth URL first, then a key; with neither, a hub on this machine
/// signs the broker in itself, as the web app would.
fn choose_auth(
    endpoint: &Url,
    auth_url: Option<String>,
    key: Option<Secret>,
    broker_id: Option<&String>,
) -> Result<AuthConfig, ConnectError> {
    Ok(match (auth_url, key) {
        (Some(url), _) => {
            let url = Url::parse(&url).map_err(ConnectError::AuthUrlNotUrl)?;
            let broker_id = broker_id
                .cloned()
                .ok_or(ConnectError::AuthUrlWithoutBroker)?;
            AuthConfig::AuthUrl { url, broker_id }
        }
        (None, Some(key)) => {
            let key: ApiKey = key.expose().parse().map_err(ConnectError::Key)?;
            AuthConfig::Key {
                key,
                use_tokens: false,
                token_ttl_ms: None,
            }
        }
        (None, None) if is_loopback(endpoint) => AuthConfig::AuthUrl {
            url: endpoint
                .join(HUB_TOKEN_PATH)
                .map_err(ConnectError::AuthUrlNotUrl)?,
            broker_id: broker_id
                .cloned()
                .ok_or(ConnectError::LocalHubWithoutBroker)?,
        },
        (None, None) => return Err(ConnectError::NoCredentials),
    })
}

/// The hub's stand-in for the web app's token endpoint.
pub(crate) const HUB_TOKEN_PATH: &str = "/api/ably/auth";

/// A hub on this machine: the only place where the public development key and the
/// hub's token endpoint are used without being asked for.
pub(crate) fn is_loopback(endpoint: &Url) -> bool {
    match endpoint.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The transport, flag first, then the web app's rollback switch, then the config; and
/// the words the status bar gives for polling when it was chosen.
pub(crate) fn choose_transport(
    flag: Option<TransportChoice>,
    realtime_disabled: bool,
    config: Option<&str>,
) -> Result<(TransportChoice, String), ConnectError> {
    if let Some(choice) = flag {
        return Ok((choice, "chosen with --transport poll".to_owned()));
    }
    if realtime_disabled {
        return Ok((
            TransportChoice::Poll,
            "ENABLE_ABLY_REALTIME=false".to_owned(),
        ));
    }
    let choice = match config {
        Some(text) => text.parse().map_err(ConnectError::Transport)?,
        None => TransportChoice::default(),
    };
    Ok((
        choice,
        "chosen in the config ([connection] transport)".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_rollback_switch_then_the_config() {
        let chosen =
            |flag, disabled, config| choose_transport(flag, disabled, config).map(|c| c.0).ok();
        assert_eq!(chosen(None, false, None), Some(TransportChoice::Auto));
        assert_eq!(
            chosen(None, false, Some("websocket")),
            Some(TransportChoice::WebSocket)
        );
        assert_eq!(
            chosen(None, true, Some("websocket")),
            Some(TransportChoice::Poll)
        );
        assert_eq!(
            chosen(Some(TransportChoice::WebSocket), true, Some("poll")),
            Some(TransportChoice::WebSocket)
        );
        assert_eq!(chosen(None, false, Some("smoke signals")), None);
        let (_, why) = choose_transport(None, true, None).expect("poll");
        assert_eq!(why, "ENABLE_ABLY_REALTIME=false");
    }

    #[test]
    fn a_loopback_hub_signs_a_broker_in_through_its_token_endpoint() {
        let url = |text: &str| Url::parse(text).expect("a URL");
        let broker = Some("8".to_owned());
        let local = url("http://127.0.0.1:8080");
        match choose_auth(&local, None, None, broker.as_ref()) {
            Ok(AuthConfig::AuthUrl { url, broker_id }) => {
                assert_eq!(url.as_str(), "http://127.0.0.1:8080/api/ably/auth");
                assert_eq!(broker_id, "8");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            choose_auth(&url("http://localhost:8080"), None, None, None),
            Err(ConnectError::LocalHubWithoutBroker)
        ));
        assert!(matches!(
            choose_auth(&url("http://10.0.0.5:8080"), None, None, broker.as_ref()),
            Err(ConnectError::NoCredentials)
        ));
        let key = Some(Secret::new(crate::hub::DEVELOPMENT_KEY));
        assert!(matches!(
            choose_auth(&local, None, key, broker.as_ref()),
            Ok(AuthConfig::Key { .. })
        ));
    }

    #[test]
    fn loopback_means_this_machine() {
        let loopback = |text: &str| is_loopback(&Url::parse(text).expect("a URL"));
        assert!(loopback("http://127.0.0.1:8080"));
        assert!(loopback("http://[::1]:8080"));
        assert!(loopback("http://LOCALHOST:8080"));
        assert!(!loopback("http://10.0.0.5:8080"));
        assert!(!loopback("https://main.realtime.ably.net"));
    }
}
