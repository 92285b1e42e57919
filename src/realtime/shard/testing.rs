//! A shard without a socket, for the unit tests of its parts: frames go in as if from the
//! server, what it would send is recorded, its events and reports are read back.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use url::Url;

use crate::protocol::{ConnectionDetails, ErrorInfo, Message, ProtocolAction, ProtocolMessage};
use crate::realtime::channel::AttachOptions;
use crate::realtime::connection::Input;
use crate::realtime::types::{ClientError, ClientOptions, NetEvent, PublishAck};
use crate::rest::AuthConfig;

use super::timers::Timer;
use super::{Shard, ShardReport, ShardRequest};

pub(super) struct Harness {
    pub shard: Shard,
    pub events: mpsc::Receiver<NetEvent>,
    pub reports: mpsc::UnboundedReceiver<ShardReport>,
}

pub(super) type PublishOutcome = oneshot::Receiver<Result<PublishAck, ClientError>>;

impl Harness {
    /// A shard whose own attempts to open a socket go nowhere (nothing listens on port 9
    /// of loopback); the tests play the server.
    pub fn new() -> Self {
        Self::with_transport(crate::realtime::TransportChoice::Auto)
    }

    pub fn with_transport(transport: crate::realtime::TransportChoice) -> Self {
        let key = "app.key:secret".parse().expect("a key");
        let endpoint = Url::parse("http://127.0.0.1:9").expect("a URL");
        let mut options = ClientOptions::new(
            endpoint,
            AuthConfig::Key {
                key,
                use_tokens: false,
                token_ttl_ms: None,
            },
        );
        options.transport = transport;
        options.client_id = Some("broker-7".into());
        let rest = options.rest_client();
        let (events_tx, events) = mpsc::channel(1024);
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let shard = Shard::new(0, Arc::new(options), rest, events_tx, reports_tx);
        Self {
            shard,
            events,
            reports,
        }
    }

    /// Connecting, then the server's CONNECTED with this connection id.
    pub async fn connect(&mut self, connection_id: &str) {
        self.shard.connection(Input::Connect).await;
        self.server(connected(connection_id)).await;
    }

    pub async fn server(&mut self, frame: ProtocolMessage) {
        self.shard.frame(frame).await;
    }

    pub async fn attach(&mut self, channel: &str) {
        self.shard
            .request(ShardRequest::Attach {
                channel: channel.to_owned(),
                options: AttachOptions::default(),
                entered: None,
            })
            .await;
    }

    /// Attached, as the server confirms it.
    pub async fn attached(&mut self, channel: &str) {
        self.attach(channel).await;
        self.server(ProtocolMessage::new(ProtocolAction::Attached).with_channel(channel))
            .await;
    }

    pub async fn publish(&mut self, channel: &str, id: &str) -> PublishOutcome {
        let (reply, outcome) = oneshot::channel();
        let message = Message {
            id: Some(id.to_owned()),
            name: Some("message:broker".to_owned()),
            ..Message::default()
        };
        self.shard
            .request(ShardRequest::Publish {
                channel: channel.to_owned(),
                messages: vec![message],
                reply,
            })
            .await;
        outcome
    }

    /// Everything reported so far.
    pub fn events(&mut self) -> Vec<NetEvent> {
        let mut events = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            events.push(event);
        }
        events
    }

    /// The ids of the messages reported so far, in order.
    pub fn message_ids(&mut self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                NetEvent::Message { message, .. } => Some(message.id),
                _ => None,
            })
            .collect()
    }

    /// The server refuses `channel` (an ERROR 40160 for it): the channel fails.
    pub async fn fail_channel(&mut self, channel: &str) {
        let mut error = ProtocolMessage::new(ProtocolAction::Error).with_channel(channel);
        error.error = Some(ErrorInfo::new(40160, 401, "denied"));
        self.server(error).await;
    }

    /// Every frame the shard sent (or would have, with a socket) since the last call.
    pub fn sent(&mut self) -> Vec<ProtocolMessage> {
        std::mem::take(&mut self.shard.sent)
    }

    /// The timers set, soonest first.
    pub fn timers(&mut self) -> Vec<Timer> {
        let mut timers = Vec::new();
        let horizon = Instant::now() + std::time::Duration::from_secs(86_400 * 400);
        while let Some(timer) = self.shard.timers.pop_due(horizon) {
            timers.push(timer);
        }
        timers
    }
}

pub(super) fn connected(connection_id: &str) -> ProtocolMessage {
    let mut frame = ProtocolMessage::new(ProtocolAction::Connected);
    frame.connection_id = Some(connection_id.to_owned());
    frame.connection_details = Some(ConnectionDetails {
        connection_key: Some(format!("{connection_id}-key")),
        connection_state_ttl: Some(120_000),
        max_idle_interval: Some(15_000),
        ..ConnectionDetails::default()
    });
    frame
}

pub(super) fn connection_states(events: &[NetEvent]) -> Vec<crate::realtime::ConnectionState> {
    events
        .iter()
        .filter_map(|event| match event {
            NetEvent::Connection { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

/// A token credential of `value`, valid for `expires_in_ms` from now.
pub(super) fn token(value: &str, expires_in_ms: u64) -> crate::rest::Credential {
    crate::rest::Credential::Token(crate::auth::TokenDetails {
        token: crate::secret::Secret::new(value),
        key_name: None,
        issued: crate::clock::now_ms_u64(),
        expires: crate::clock::now_ms_u64() + expires_in_ms,
        capability: None,
        client_id: None,
    })
}
