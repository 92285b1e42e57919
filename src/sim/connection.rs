//! One simulated actor's connection: a realtime client with its event receiver, connected
//! and attached before the simulation starts, and fire-and-forget publishing that logs
//! failures instead of stopping the actor (the hub may be restarting; the actor carries on).

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::protocol::Message;
use crate::protocol::data::{Payload, encode};
use crate::protocol::events::ConversationEvent;
use crate::realtime::{
    AttachOptions, ChannelState, ClientError, ClientOptions, ConnectionState, NetEvent, Realtime,
};
use crate::rest::AuthConfig;

use super::{SimConfig, SimError, now_ms};

/// How long connecting or attaching may take during setup.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct ActorConnection {
    pub publisher: Publisher,
    /// The client stops reading its socket when this is not drained: every actor keeps
    /// reading it in its main loop, even when it ignores what arrives.
    events: mpsc::Receiver<NetEvent>,
    /// Events that arrived while setup waited for something else, handed out first.
    backlog: VecDeque<NetEvent>,
}

impl ActorConnection {
    /// Connects as `client_id` and waits for CONNECTED.
    pub async fn connect(config: &SimConfig, client_id: &str) -> Result<Self, SimError> {
        let mut options = ClientOptions::new(
            config.endpoint.clone(),
            AuthConfig::Key {
                key: config.key.clone(),
                use_tokens: false,
                token_ttl_ms: None,
            },
        );
        options.client_id = Some(client_id.to_owned());
        // Nobody here needs to hear themselves.
        options.echo = false;
        let (client, events) = Realtime::connect(options);
        let mut connection = Self {
            publisher: Publisher {
                client,
                client_id: client_id.to_owned(),
            },
            events,
            backlog: VecDeque::new(),
        };
        let waited = timeout(SETUP_TIMEOUT, connection.until_connected()).await;
        let outcome = match waited {
            Ok(outcome) => outcome,
            Err(_) => Err(SimError::Timeout {
                client_id: client_id.to_owned(),
                waiting_for: "connected".to_owned(),
                waited: SETUP_TIMEOUT,
            }),
        };
        if let Err(error) = outcome {
            connection.close().await;
            return Err(error);
        }
        Ok(connection)
    }

    /// Connects as `client_id` and attaches `channels`; closes the client if either fails.
    pub async fn open(
        config: &SimConfig,
        client_id: &str,
        channels: &[String],
    ) -> Result<Self, SimError> {
        let mut connection = Self::connect(config, client_id).await?;
        if let Err(error) = connection.attach_all(channels).await {
            connection.close().await;
            return Err(error);
        }
        Ok(connection)
    }

    async fn until_connected(&mut self) -> Result<(), SimError> {
        loop {
            match self.events.recv().await {
                Some(NetEvent::Connection {
                    state: ConnectionState::Connected,
                    ..
                }) => return Ok(()),
                Some(NetEvent::Connection {
                    state: state @ (ConnectionState::Failed | ConnectionState::Closed),
                    reason,
                    ..
                }) => {
                    return Err(SimError::Refused {
                        client_id: self.publisher.client_id.clone(),
                        reason: format!(
                            "{} ({})",
                            SimError::reason(reason.as_ref()),
                            state.as_str()
                        ),
                    });
                }
                Some(NetEvent::Connection { .. }) => {}
                Some(other) => self.backlog.push_back(other),
                None => {
                    return Err(SimError::Refused {
                        client_id: self.publisher.client_id.clone(),
                        reason: "the client stopped".to_owned(),
                    });
                }
            }
        }
    }

    /// Attaches every channel and waits until all are attached.
    pub async fn attach_all(&mut self, channels: &[String]) -> Result<(), SimError> {
        for channel in channels {
            self.publisher
                .client
                .attach(channel, AttachOptions::default());
        }
        let mut waiting: Vec<&String> = channels.iter().collect();
        let waited = timeout(SETUP_TIMEOUT, async {
            while !waiting.is_empty() {
                let Some(event) = self.events.recv().await else {
                    return Err(SimError::Refused {
                        client_id: self.publisher.client_id.clone(),
                        reason: "the client stopped".to_owned(),
                    });
                };
                match &event {
                    NetEvent::Channel {
                        channel,
                        state: ChannelState::Attached,
                        ..
                    } => waiting.retain(|name| *name != channel),
                    NetEvent::Channel {
                        channel,
                        state: ChannelState::Failed,
                        reason,
                        ..
                    } if waiting.contains(&channel) => {
                        return Err(SimError::AttachRefused {
                            client_id: self.publisher.client_id.clone(),
                            channel: channel.clone(),
                            reason: SimError::reason(reason.as_ref()),
                        });
                    }
                    _ => {}
                }
                self.backlog.push_back(event);
            }
            Ok(())
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(SimError::Timeout {
                client_id: self.publisher.client_id.clone(),
                waiting_for: format!("{} channel(s) attached", channels.len()),
                waited: SETUP_TIMEOUT,
            })
        })
    }

    /// The next event: from the setup backlog first, then live. `None` once the client
    /// has stopped for good.
    pub async fn next_event(&mut self) -> Option<NetEvent> {
        if let Some(event) = self.backlog.pop_front() {
            return Some(event);
        }
        self.events.recv().await
    }

    pub async fn close(&self) {
        self.publisher.client.close().await;
    }
}

/// The sending half of a connection: cheap to clone into tasks (answers being typed, say).
#[derive(Clone)]
pub(crate) struct Publisher {
    pub client: Realtime,
    pub client_id: String,
}

impl Publisher {
    /// Publishes `event` on `channel` (with `timestamp`, as every publisher adds). The
    /// frame is queued now, so publishes keep their call order; the acknowledgement is
    /// awaited in the background and a failure is logged unless we are shutting down.
    pub fn publish(&self, channel: &str, event: &ConversationEvent, shutdown: &CancellationToken) {
        let message = wire_message(event);
        let name = message.name.clone().unwrap_or_default();
        let ack = self.client.publish(channel, vec![message]);
        self.report(ack, channel, name, shutdown);
    }

    /// Runs a presence operation's acknowledgement in the background, like [`Self::publish`].
    pub fn presence(
        &self,
        operation: impl Future<Output = Result<(), ClientError>> + Send + 'static,
        channel: &str,
        what: &'static str,
        shutdown: &CancellationToken,
    ) {
        self.report(operation, channel, what.to_owned(), shutdown);
    }

    fn report<T>(
        &self,
        operation: impl Future<Output = Result<T, ClientError>> + Send + 'static,
        channel: &str,
        what: String,
        shutdown: &CancellationToken,
    ) {
        let client_id = self.client_id.clone();
        let channel = channel.to_owned();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(error) = operation.await
                && !shutdown.is_cancelled()
            {
                warn!(%client_id, %channel, %what, %error, "simulated publish failed");
            }
        });
    }
}

/// The wire form of an event with its `timestamp`.
pub(crate) fn wire_message(event: &ConversationEvent) -> Message {
    let (name, mut data) = event.to_wire();
    if let Some(object) = data.as_object_mut() {
        object.insert("timestamp".to_owned(), json!(now_ms()));
    }
    let (data, encoding) = encode(&Payload::Json(data), None);
    Message {
        name: Some(name),
        data,
        encoding,
        ..Message::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::{Actor, TimedEvent};

    #[test]
    fn wire_messages_carry_a_timestamp_and_parse_back() {
        let event = ConversationEvent::Typing {
            started: true,
            actor: Actor::Customer,
            broker_id: None,
        };
        let message = wire_message(&event);
        let decoded =
            crate::protocol::data::decode(message.data.as_ref(), message.encoding.as_deref());
        let TimedEvent {
            event: parsed,
            timestamp,
        } = ConversationEvent::parse(message.name.as_deref(), decoded.payload);
        assert_eq!(parsed, event);
        assert!(timestamp.is_some_and(|ms| ms > 1_600_000_000_000));
    }
}
