//! What the realtime client tells the application, and how it is configured.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use url::Url;

use crate::protocol::data::{EncodingError, Payload};
use crate::protocol::{ErrorInfo, Message};
use crate::rest::{AuthConfig, RestError};

use super::channel::ChannelState;
use super::connection::{ConnectionState, Timeouts};
use super::presence::PresenceChange;
use super::transport::{PollTiming, Transport, TransportChoice};

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `http(s)://host:port` of Ably or a hub; the WebSocket URL is derived from it.
    pub endpoint: Url,
    pub auth: AuthConfig,
    pub client_id: Option<String>,
    /// Receive our own publishes (Ably's default).
    pub echo: bool,
    /// Channels per connection before another connection is opened (Ably: 200).
    pub channels_per_connection: usize,
    /// Deadline for CONNECTED, ATTACHED and token requests (Ably: 10 s).
    pub request_timeout: Duration,
    pub timeouts: Timeouts,
    pub transport: TransportChoice,
    /// JSON (the default) or msgpack frames on the WebSocket.
    pub wire_format: crate::protocol::WireFormat,
    /// Why polling was chosen, as the status bar says it (with `TransportChoice::Poll`).
    pub transport_reason: String,
    pub poll: PollTiming,
}

impl ClientOptions {
    pub fn new(endpoint: Url, auth: AuthConfig) -> Self {
        Self {
            endpoint,
            auth,
            client_id: None,
            echo: true,
            channels_per_connection: 200,
            request_timeout: Duration::from_secs(10),
            timeouts: Timeouts::default(),
            transport: TransportChoice::default(),
            wire_format: crate::protocol::WireFormat::default(),
            transport_reason: "the polling transport was chosen".to_owned(),
            poll: PollTiming::default(),
        }
    }

    /// A REST client with the same endpoint and credentials.
    pub fn rest_client(&self) -> crate::rest::RestClient {
        let http = reqwest::Client::new();
        let credentials = std::sync::Arc::new(crate::rest::Credentials::new(
            self.auth.clone(),
            self.client_id.clone(),
            http.clone(),
            self.endpoint.clone(),
        ));
        crate::rest::RestClient::new(self.endpoint.clone(), credentials, http)
    }
}

/// A message as delivered: data decoded, ids and times filled from its frame.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub id: String,
    pub name: Option<String>,
    pub payload: Payload,
    /// Set when decoding stopped early; the payload is then as far as it got.
    pub encoding_error: Option<EncodingError>,
    pub client_id: Option<String>,
    pub connection_id: Option<String>,
    pub timestamp: Option<i64>,
    /// Recovered from history after continuity was lost, rather than delivered live.
    pub from_history: bool,
}

impl InboundMessage {
    pub fn from_wire(message: Message, from_history: bool) -> Self {
        let decoded =
            crate::protocol::data::decode_owned(message.data, message.encoding.as_deref());
        Self {
            id: message.id.unwrap_or_default(),
            name: message.name,
            payload: decoded.payload,
            encoding_error: decoded.error,
            client_id: message.client_id,
            connection_id: message.connection_id,
            timestamp: message.timestamp,
            from_history,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// One of the client's connections changed state (`shard` numbers them).
    Connection {
        shard: usize,
        state: ConnectionState,
        reason: Option<ErrorInfo>,
    },
    Channel {
        channel: String,
        state: ChannelState,
        resumed: bool,
        reason: Option<ErrorInfo>,
    },
    Message {
        shard: usize,
        channel: String,
        message: InboundMessage,
    },
    Presence {
        channel: String,
        change: PresenceChange,
    },
    /// A connection still connected has new details, or something to say (an UPDATE, RTN24):
    /// after a reauthentication, a server's warning, or a renewal that failed (80019).
    ConnectionUpdated {
        shard: usize,
        reason: Option<ErrorInfo>,
    },
    /// A connection's transport changed: polling began (and why), or WebSocket is back.
    Transport { shard: usize, transport: Transport },
    /// Continuity was lost and the gap was filled from history.
    GapFilled { channel: String, recovered: usize },
    /// Continuity was lost and history could not fill the gap: messages may be missing.
    ContinuityLost { channel: String, reason: String },
    /// A connection's health figures: at most about once a second, and only when they
    /// changed, so a flood of messages cannot flood the application with these too.
    Stats {
        shard: usize,
        stats: ConnectionStats,
    },
}

/// One connection's health, as counted by the connection itself (cumulative since start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionStats {
    /// Wall-clock ms (Unix epoch) when the current connection became CONNECTED; None while not connected.
    pub connected_since_ms: Option<i64>,
    /// Attempts to connect (each WebSocket/transport attempt) and how many of them failed (refused, timed out, cut before CONNECTED).
    pub connect_attempts: u64,
    pub connect_failures: u64,
    /// CONNECTED again after the first time.
    pub reconnects: u64,
    /// Reconnections that resumed the same connection (RTN15c6) / that could not (RTN15c7: new connection id, or an error in CONNECTED).
    pub resumes_ok: u64,
    pub resumes_failed: u64,
    /// The last ping's round trip (HEARTBEAT with an id, answered with the same id), in ms.
    pub rtt_ms: Option<f64>,
    /// Messages published on this connection, acknowledged (ACK) and refused (NACK, or failed for good).
    pub published: u64,
    pub acknowledged: u64,
    pub refused: u64,
    /// Messages delivered to the application (live and recovered).
    pub received: u64,
    /// Gaps filled from history after continuity was lost.
    pub gap_fills: u64,
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClientError {
    #[error("refused: {0}")]
    Refused(ErrorInfo),
    #[error("the client is closed")]
    Closed,
    #[error("{0}")]
    Rest(String),
}

impl ClientError {
    /// A failure of the connection rather than a refusal of what was sent: worth sending
    /// again, with the same id, once connected.
    pub fn is_connection_failure(&self) -> bool {
        match self {
            Self::Closed => true,
            Self::Refused(info) => (80000..80100).contains(&info.code),
            Self::Rest(_) => false,
        }
    }
}

impl From<RestError> for ClientError {
    fn from(error: RestError) -> Self {
        Self::Rest(error.to_string())
    }
}

/// The outcome of an acknowledged publish: one serial per message (`None` when the
/// server already had a message with that id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAck {
    pub serials: Vec<Option<String>>,
}

pub(crate) type PresenceData = Option<Value>;
