//! One realtime connection and the channels on it: a task that owns the WebSocket, runs the
//! connection and channel state machines, and performs their effects. The application talks
//! to it through `ShardRequest`s; it reports through `NetEvent`s.
//!
//! Channels in the task: `requests` (unbounded: what the application asks for; the number of
//! channels bounds them), `internal` (results of background work: connecting, token
//! renewal, gap fills) and `events` (bounded: when the application lags, this task waits,
//! stops reading the socket and TCP pushes back on the server).
//!
//! Parts: `timers` (the task's deadlines), `lifecycle` (connecting, token renewal),
//! `inbound` (frames from the server), `ack` (which publishes an ACK answers), `channels`
//! (per-channel state and gap fill), `outbound` (requests, publishing, resending),
//! `socket` (opening the WebSocket), `polling` (REST history while WebSocket is not used),
//! `rest_publish` (publishing over REST meanwhile) and `health` (the connection's figures,
//! and pings).

mod ack;
#[cfg(test)]
mod channel_spec_tests;
mod channels;
#[cfg(test)]
mod connection_spec_tests;
mod health;
#[cfg(test)]
mod health_spec_tests;
mod inbound;
mod lifecycle;
mod outbound;
mod polling;
#[cfg(test)]
mod presence_spec_tests;
mod rest_publish;
mod socket;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod testing;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use crate::protocol::{
    ErrorInfo, Message, PresenceAction, PresenceMessage, ProtocolAction, ProtocolMessage,
};
use crate::realtime::channel::{AttachOptions, ChannelMachine, RecentIds};
use crate::realtime::connection::{ConnectionMachine, ConnectionState, Input};
use crate::realtime::presence::PresenceMap;
use crate::realtime::types::{
    ClientError, ClientOptions, InboundMessage, NetEvent, PresenceData, PublishAck,
};
use crate::rest::{Credential, RestClient, RestError};

use health::Health;
use polling::{PollOutcome, PollQuery, PollSlot, Polling};
use rest_publish::RestPublish;
use socket::{Socket, next_frame};
use timers::Timers;

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

/// The clientId (when entering for another client) and data we entered presence with.
pub(crate) type EnteredAs = (Option<String>, PresenceData);

pub(crate) enum ShardRequest {
    Attach {
        channel: String,
        options: AttachOptions,
        /// Presence to enter once attached (a channel moved from a full connection).
        entered: Option<EnteredAs>,
    },
    /// Answers once the channel is attached (at once if it is), or with why it is not.
    WhenAttached {
        channel: String,
        reply: Reply<()>,
    },
    Detach {
        channel: String,
    },
    Publish {
        channel: String,
        messages: Vec<Message>,
        reply: Reply<PublishAck>,
    },
    Presence {
        channel: String,
        action: PresenceAction,
        data: PresenceData,
        reply: Reply<()>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
    /// The conversation on screen, polled fastest while polling.
    Focus {
        channel: Option<String>,
    },
}

/// What a shard tells the pool; the pool decides what follows.
pub(crate) enum ShardReport {
    /// The server refused `channel` for this connection's channel limit (90010), with
    /// `holding` channels still attached here.
    ChannelLimit {
        shard: usize,
        channel: String,
        holding: usize,
        entered: Option<EnteredAs>,
    },
}

enum Internal {
    Opened(Result<Box<(Socket, Credential)>, OpenFailure>),
    Renewed(Result<Credential, RestError>),
    GapFilled {
        channel: String,
        result: Result<Vec<Message>, RestError>,
    },
    /// An automatic re-entry into presence was refused (RTP17e).
    ReEnterFailed {
        channel: String,
        client_id: Option<String>,
        error: ClientError,
    },
    Polled {
        channel: String,
        spell: u64,
        query: PollQuery,
        outcome: PollOutcome,
    },
    /// A publish over REST was answered: its messages acknowledged, or refused.
    RestPublished {
        messages: usize,
        acknowledged: bool,
    },
}

enum OpenFailure {
    Auth(RestError),
    Transport(String),
    /// The server (or a proxy) answered the upgrade with an HTTP error, or reset it.
    Upgrade(String),
}

/// A frame waiting for its ACK (or for a connection to be sent on).
struct Pending {
    frame: ProtocolMessage,
    reply: PendingReply,
}

enum PendingReply {
    Publish(Reply<PublishAck>),
    Presence(Reply<()>),
}

impl PendingReply {
    fn fail(self, error: ClientError) {
        match self {
            Self::Publish(reply) => {
                let _ = reply.send(Err(error));
            }
            Self::Presence(reply) => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

struct Slot {
    machine: ChannelMachine,
    presence: PresenceMap,
    recent: RecentIds,
    /// Live messages held back while a gap is filled from history, so order is kept.
    held: Option<Vec<InboundMessage>>,
    /// History fetches still running; `held` is released when the last one is in.
    fills: usize,
    /// What we entered with, to enter again when the server lost our presence.
    entered: Option<EnteredAs>,
    /// Callers waiting for the channel to be attached.
    waiters: Vec<Reply<()>>,
    /// Presence changes asked for while the channel attaches: sent once it is attached
    /// (RTP16b, RTP5b), refused if it is not (RTL11).
    presence_queue: Vec<Pending>,
    poll: PollSlot,
}

pub(crate) struct Shard {
    index: usize,
    options: Arc<ClientOptions>,
    rest: RestClient,
    events: mpsc::Sender<NetEvent>,
    reports: mpsc::UnboundedSender<ShardReport>,
    machine: ConnectionMachine,
    channels: HashMap<String, Slot>,
    socket: Option<Socket>,
    /// Frames were written to the socket's buffer since its last flush.
    unflushed: bool,
    credential: Option<Credential>,
    next_serial: i64,
    /// Sent and awaiting ACK, in msgSerial order.
    in_flight: VecDeque<(i64, Pending)>,
    /// Not yet sent (no connection).
    queued: VecDeque<Pending>,
    timers: Timers,
    last_activity: Instant,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    opening: Option<tokio::task::JoinHandle<()>>,
    /// A token renewal is under way: a server's AUTH requests meanwhile join it, so a
    /// flood of them costs one request to the auth server, not one each.
    renewing: bool,
    closing_replies: Vec<oneshot::Sender<()>>,
    polling: Option<Polling>,
    /// Numbers polling spells, so a late answer from an earlier one is dropped.
    poll_spell: u64,
    focused: Option<String>,
    /// Publishes over REST while polling, one after another.
    rest_publisher: Option<mpsc::UnboundedSender<RestPublish>>,
    /// WebSocket upgrades refused in a row (`auto` polls after three).
    upgrade_failures: u32,
    health: Health,
    /// Every frame sent, for the parts' unit tests.
    #[cfg(test)]
    sent: Vec<ProtocolMessage>,
}

/// The soonest a renewal follows the last one: a token that arrives already expired (a
/// wrong clock, a broken auth server) is renewed once a second, not in a tight loop.
const MIN_RENEWAL_DELAY: Duration = Duration::from_secs(1);
/// The most requests handled in one turn of a connection's loop, all sent with one flush.
const REQUESTS_PER_TURN: usize = 256;

impl Shard {
    pub(crate) fn new(
        index: usize,
        options: Arc<ClientOptions>,
        rest: RestClient,
        events: mpsc::Sender<NetEvent>,
        reports: mpsc::UnboundedSender<ShardReport>,
    ) -> Self {
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        Self {
            index,
            machine: ConnectionMachine::new(options.timeouts.clone()),
            options,
            rest,
            events,
            reports,
            channels: HashMap::new(),
            socket: None,
            unflushed: false,
            credential: None,
            next_serial: 0,
            in_flight: VecDeque::new(),
            queued: VecDeque::new(),
            timers: Timers::default(),
            last_activity: Instant::now(),
            internal_tx,
            internal_rx,
            opening: None,
            renewing: false,
            closing_replies: Vec::new(),
            polling: None,
            poll_spell: 0,
            focused: None,
            rest_publisher: None,
            upgrade_failures: 0,
            health: Health::default(),
            #[cfg(test)]
            sent: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self, mut requests: mpsc::UnboundedReceiver<ShardRequest>) {
        if self.options.transport == crate::realtime::TransportChoice::Poll {
            let reason = self.options.transport_reason.clone();
            self.start_polling(reason).await;
        } else {
            self.connection(Input::Connect).await;
        }
        // Two long-lived timers, re-armed only when their deadline changes: building a
        // timer per received frame would cost more than decoding the frame.
        let timer = sleep_until(far_future());
        let idle = sleep_until(far_future());
        tokio::pin!(timer, idle);
        let mut timer_armed: Option<Instant> = None;
        let mut idle_armed: Option<Instant> = None;
        loop {
            self.plan_report();
            let next_timer = self.next_timer();
            if next_timer != timer_armed {
                timer.as_mut().reset(next_timer.unwrap_or_else(far_future));
                timer_armed = next_timer;
            }
            match self.idle_limit() {
                None => idle_armed = None,
                Some(limit) if idle_armed.is_none() => {
                    let due = self.last_activity + limit;
                    idle.as_mut().reset(due);
                    idle_armed = Some(due);
                }
                Some(_) => {}
            }
            tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => {
                        self.request(request).await;
                        // Requests that are already waiting join this turn's one flush.
                        for _ in 0..REQUESTS_PER_TURN {
                            let Ok(request) = requests.try_recv() else { break };
                            self.request(request).await;
                        }
                    }
                    None => {
                        self.connection(Input::Close).await;
                        break;
                    }
                },
                Some(internal) = self.internal_rx.recv() => self.internal(internal).await,
                frame = next_frame(&mut self.socket) => self.incoming(frame).await,
                () = &mut timer, if timer_armed.is_some() => {
                    timer_armed = None;
                    self.fire_timers().await;
                }
                () = &mut idle, if idle_armed.is_some() => {
                    idle_armed = None;
                    self.idle_timer_fired().await;
                }
            }
            self.flush().await;
            if matches!(
                self.machine.state(),
                ConnectionState::Closed | ConnectionState::Failed
            ) && !self.closing_replies.is_empty()
            {
                for reply in self.closing_replies.drain(..) {
                    let _ = reply.send(());
                }
                break;
            }
        }
        if let Some(opening) = self.opening.take() {
            opening.abort();
        }
    }

    /// The server was silent past its promised heartbeat interval and the request timeout
    /// (RTN23a): the transport counts as dead. Frames that arrived since the timer was armed
    /// mean it is not yet; the loop re-arms it from the last one.
    async fn idle_timer_fired(&mut self) {
        let silent = self.last_activity.elapsed();
        if self.idle_limit().is_some_and(|limit| silent >= limit) {
            let error = ErrorInfo::new(
                80003,
                408,
                format!(
                    "No activity seen from the server in {} ms; assuming the connection dropped",
                    silent.as_millis()
                ),
            );
            self.connection(Input::Lost(error)).await;
        }
    }

    /// How long the server may stay silent, while connected.
    fn idle_limit(&self) -> Option<Duration> {
        if self.machine.state() != ConnectionState::Connected {
            return None;
        }
        self.machine.idle_limit(self.options.request_timeout)
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

fn presence_frame(
    channel: &str,
    action: PresenceAction,
    client_id: Option<String>,
    data: PresenceData,
) -> ProtocolMessage {
    let mut member = PresenceMessage::new(action);
    member.client_id = client_id;
    if let Some(data) = data {
        let (wire, encoding) = match data {
            Value::String(text) => (Value::String(text), None),
            other => (Value::String(other.to_string()), Some("json".to_owned())),
        };
        member.data = Some(wire);
        member.encoding = encoding;
    }
    let mut frame = ProtocolMessage::new(ProtocolAction::Presence).with_channel(channel);
    frame.presence = Some(vec![member]);
    frame
}
