//! Network events into actions: each message is parsed here exactly once, and both front
//! ends (and the reducer) see the same parsed action.

use serde_json::Value;

use crate::protocol::data::{Payload, decode};
use crate::protocol::events::{ConversationEvent, plausible_ms};
use crate::protocol::names::ClientId;
use crate::realtime::{
    ChannelState, ConnectionState, InboundMessage, NetEvent, Transport, opened_channel,
};

use super::action::{Action, Incoming, PresenceSeen};
use super::state::ConnectionStatus;

impl Action {
    /// The action for a network event; message text moves from the frame into it.
    pub fn from_net(event: NetEvent) -> Self {
        match event {
            NetEvent::Connection {
                shard,
                state,
                reason,
            } => Self::Connection {
                shard,
                state: ConnectionStatus::from(state),
                reason: reason.map(|reason| reason.to_string()),
            },
            NetEvent::ConnectionUpdated { shard, reason } => Self::Connection {
                shard,
                state: ConnectionStatus::Connected,
                reason: reason.map(|reason| reason.to_string()),
            },
            NetEvent::Transport { shard, transport } => Self::Transport {
                shard,
                polling: match transport {
                    Transport::WebSocket => None,
                    Transport::Polling { reason } => Some(reason),
                },
            },
            NetEvent::Channel {
                channel,
                state,
                reason,
                ..
            } => Self::Watch {
                channel,
                attached: state == ChannelState::Attached,
                failure: (state == ChannelState::Failed).then(|| {
                    reason.map_or_else(|| "no reason given".to_owned(), |r| r.to_string())
                }),
            },
            NetEvent::Message {
                channel, message, ..
            } => match opened_channel(&channel, &message) {
                Some(opened) => Self::Opened { channel: opened },
                None => Self::Incoming(Incoming::new(channel, message)),
            },
            NetEvent::Presence { channel, change } => {
                let member = change.member;
                let data = decode(member.data.as_ref(), member.encoding.as_deref()).payload;
                let field = |name: &str| match &data {
                    Payload::Json(value) => value.get(name),
                    _ => None,
                };
                Self::Presence(PresenceSeen {
                    client_id: ClientId::new(member.client_id.unwrap_or_default()),
                    action: change.action,
                    name: field("name").and_then(Value::as_str).map(str::to_owned),
                    away: field("status").and_then(Value::as_str) == Some("away"),
                    viewing: field("viewing").and_then(Value::as_bool),
                    composing: field("composing").and_then(Value::as_bool),
                    timestamp: member.timestamp,
                    channel,
                })
            }
            NetEvent::GapFilled { channel, recovered } => Self::GapFilled { channel, recovered },
            NetEvent::ContinuityLost { channel, reason } => {
                Self::ContinuityLost { channel, reason }
            }
            NetEvent::Stats { shard, stats } => Self::Health { shard, stats },
        }
    }
}

impl Incoming {
    pub fn new(channel: String, message: InboundMessage) -> Self {
        let parsed = ConversationEvent::parse(message.name.as_deref(), message.payload);
        Self {
            channel,
            wire_id: message.id,
            at_ms: parsed
                .timestamp
                .or(message.timestamp.and_then(plausible_ms)),
            event: parsed.event,
        }
    }
}

impl From<ConnectionState> for ConnectionStatus {
    fn from(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Initialized => Self::Initialized,
            ConnectionState::Connecting => Self::Connecting,
            ConnectionState::Connected => Self::Connected,
            ConnectionState::Disconnected => Self::Disconnected,
            ConnectionState::Suspended => Self::Suspended,
            ConnectionState::Closing => Self::Closing,
            ConnectionState::Closed => Self::Closed,
            ConnectionState::Failed => Self::Failed,
        }
    }
}
