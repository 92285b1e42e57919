//! The realtime client: Ably's realtime protocol over as many WebSocket connections as the
//! channels need, with Ably's guarantees held to: per channel, messages arrive in order and
//! exactly once across reconnects (resume, or a gap filled from history and reported).
//!
//! - `connection` / `channel` / `presence`: pure state machines, tested without I/O.
//! - `backoff`: retry delays. `shard`: the task that owns one connection and performs the
//!   machines' effects. `pool`: spreads channels over shards. `discovery`: finds
//!   conversation channels.
//!
//! The application holds a [`Realtime`] handle (cheap to clone) and reads [`NetEvent`]s.

mod backoff;
pub mod channel;
pub mod connection;
mod discovery;
mod poll_plan;
mod pool;
pub mod presence;
mod shard;
mod transport;
mod types;

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::protocol::names::{ChannelName, ChannelNameError};
use crate::protocol::{Message, PresenceAction};
use crate::rest::RestClient;

pub use channel::{AttachOptions, ChannelState};
pub use connection::{ConnectionState, Timeouts};
pub use discovery::{LIFECYCLE_CHANNEL, discover, opened_channel};
pub use presence::PresenceChange;
pub use transport::{PollTiming, Transport, TransportChoice, UnknownTransport};
pub use types::{
    ClientError, ClientOptions, ConnectionStats, InboundMessage, NetEvent, PublishAck,
};

use pool::ShardPool;
use shard::ShardRequest;

/// Events waiting for the application before connections stop reading.
const EVENT_BUFFER: usize = 8192;

#[derive(Clone)]
pub struct Realtime {
    pool: Arc<ShardPool>,
}

impl Realtime {
    /// Starts connecting; events arrive on the returned receiver.
    pub fn connect(options: ClientOptions) -> (Self, mpsc::Receiver<NetEvent>) {
        let rest = options.rest_client();
        let (events, receiver) = mpsc::channel(EVENT_BUFFER);
        let pool = ShardPool::new(Arc::new(options), rest, events);
        pool.ensure_connected();
        (Self { pool }, receiver)
    }

    pub fn rest(&self) -> &RestClient {
        self.pool.rest()
    }

    /// Attaches; an invalid name fails the channel at once (40010), as the server would.
    pub fn attach(&self, channel: &str, options: AttachOptions) {
        if let Err(error) = ChannelName::parse(channel) {
            self.pool.report(NetEvent::Channel {
                channel: channel.to_owned(),
                state: ChannelState::Failed,
                resumed: false,
                reason: Some(invalid_channel(&error)),
            });
            return;
        }
        self.pool.attach(channel, options);
    }

    /// Resolves once the channel is attached, or with why it could not be.
    pub fn attached(
        &self,
        channel: &str,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        let channel_name = channel.to_owned();
        self.request(channel, move |reply| ShardRequest::WhenAttached {
            channel: channel_name,
            reply,
        })
    }

    pub fn detach(&self, channel: &str) {
        self.pool.detach(channel);
    }

    /// How many connections the channels are spread over.
    pub fn connection_count(&self) -> usize {
        self.pool.shard_count()
    }

    /// Publishes and resolves when the server acknowledges. The frame is queued on the
    /// connection before this returns, so calls keep their order even when their futures
    /// are awaited out of order. Messages without an id get one here, so a retry after a
    /// reconnect cannot deliver them twice.
    pub fn publish(
        &self,
        channel: &str,
        mut messages: Vec<Message>,
    ) -> impl Future<Output = Result<PublishAck, ClientError>> + Send + 'static {
        assign_message_ids(&mut messages);
        let channel_name = channel.to_owned();
        self.request(channel, move |reply| ShardRequest::Publish {
            channel: channel_name,
            messages,
            reply,
        })
    }

    /// Sends a request to the channel's connection now, and awaits its answer later.
    fn request<T: Send + 'static>(
        &self,
        channel: &str,
        make: impl FnOnce(oneshot::Sender<Result<T, ClientError>>) -> ShardRequest,
    ) -> impl Future<Output = Result<T, ClientError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        // An invalid name is refused here, as the server would, without a round trip.
        let invalid = ChannelName::parse(channel).err();
        let routed = invalid.is_none() && self.pool.route(channel, make(reply));
        async move {
            if let Some(error) = invalid {
                return Err(ClientError::Refused(invalid_channel(&error)));
            }
            if !routed {
                return Err(ClientError::Closed);
            }
            answer.await.unwrap_or(Err(ClientError::Closed))
        }
    }

    pub fn enter(
        &self,
        channel: &str,
        data: Option<Value>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        self.presence(channel, PresenceAction::Enter, data)
    }

    pub fn update(
        &self,
        channel: &str,
        data: Option<Value>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        self.presence(channel, PresenceAction::Update, data)
    }

    pub fn leave(
        &self,
        channel: &str,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        self.presence(channel, PresenceAction::Leave, None)
    }

    fn presence(
        &self,
        channel: &str,
        action: PresenceAction,
        data: Option<Value>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        let channel_name = channel.to_owned();
        self.request(channel, move |reply| ShardRequest::Presence {
            channel: channel_name,
            action,
            data,
            reply,
        })
    }

    /// The conversation on screen: while polling it is asked for most often.
    pub fn focus(&self, channel: Option<&str>) {
        let channel = channel.map(str::to_owned);
        self.pool.broadcast(|| ShardRequest::Focus {
            channel: channel.clone(),
        });
    }

    /// REST requests this client has sent (history, presence, publishes over REST).
    pub fn rest_requests(&self) -> u64 {
        self.pool.rest().requests_sent()
    }

    /// Closes every connection (presence is left at once) and waits for them.
    pub async fn close(&self) {
        let mut waits = Vec::new();
        self.pool.broadcast(|| {
            let (reply, answer) = oneshot::channel();
            waits.push(answer);
            ShardRequest::Close { reply }
        });
        for wait in waits {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), wait).await;
        }
    }
}

/// The server's answer to an invalid channel name, given locally.
fn invalid_channel(error: &ChannelNameError) -> crate::protocol::ErrorInfo {
    crate::protocol::ErrorInfo::new(40010, 400, error.to_string())
}

/// Gives every message without an id one (RSL1k): the batch's random base and the
/// message's place in the batch; ids already there are kept.
fn assign_message_ids(messages: &mut [Message]) {
    let base = new_message_id_base();
    for (index, message) in messages.iter_mut().enumerate() {
        message.id.get_or_insert_with(|| format!("{base}:{index}"));
    }
}

/// Ably's idempotent ids: a random base shared by a batch, then `:index`.
pub fn new_message_id_base() -> String {
    use base64::Engine;
    let bytes: [u8; 9] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::{Message, assign_message_ids};

    fn batch(ids: &[Option<&str>]) -> Vec<Message> {
        ids.iter()
            .map(|id| Message {
                id: id.map(str::to_owned),
                ..Message::default()
            })
            .collect()
    }

    fn ids(messages: &[Message]) -> Vec<String> {
        messages.iter().filter_map(|m| m.id.clone()).collect()
    }

    /// UTS: RSL1k2, RSL1k3.
    #[test]
    fn rsl1k_ids_are_a_random_base_and_an_index_per_batch_and_given_ids_are_kept() {
        let mut first = batch(&[None, None, None]);
        assign_message_ids(&mut first);
        let first = ids(&first);
        let base = first[0].rsplit_once(':').map(|(base, _)| base.to_owned());
        let base = base.expect("base:index");
        assert!(
            base.len() >= 12,
            "a random base of 9 bytes in base64: {base}"
        );
        assert_eq!(
            first,
            [0, 1, 2].map(|i| format!("{base}:{i}")),
            "the index counts up"
        );
        let mut second = batch(&[None]);
        assign_message_ids(&mut second);
        assert!(
            !ids(&second)[0].starts_with(&base),
            "a new base per publish"
        );
        let mut mixed = batch(&[Some("mine"), None]);
        assign_message_ids(&mut mixed);
        let mixed = ids(&mixed);
        assert_eq!(mixed[0], "mine");
        assert!(
            mixed[1].ends_with(":1"),
            "the index is the place in the batch"
        );
    }
}
