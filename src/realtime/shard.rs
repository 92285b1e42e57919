//! One realtime connection and the channels on it: a task that owns the WebSocket, runs the
//! connection and channel state machines, and performs their effects. The application talks
//! to it through `ShardCommand`s; it reports through `NetEvent`s.
//!
//! Channels in the task: `commands` (unbounded: the application's requests; the number of
//! channels bounds them), `internal` (results of background work: connecting, token
//! renewal, gap fills) and `events` (bounded: when the application lags, this task waits,
//! stops reading the socket and TCP pushes back on the server).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, warn};

use crate::protocol::{
    Action, AuthDetails, DEFAULT_MAX_FRAME_BYTES, ErrorInfo, Message, PROTOCOL_VERSION,
    PresenceAction, PresenceMessage, ProtocolMessage, decode_frame, encode_frame,
};
use crate::rest::{Credential, HistoryQuery, RestClient, RestError};

use super::ack::AckSpan;
use super::backoff::random_jitter;
use super::channel::{AttachOptions, ChannelEffect, ChannelInput, ChannelMachine, RecentIds};
use super::connection::{ConnectionMachine, ConnectionState, Effect, Input};
use super::pool::PoolShared;
use super::presence::PresenceMap;
use super::types::{
    ClientError, ClientOptions, InboundMessage, NetEvent, PresenceData, PublishAck,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const READ_BUFFER_BYTES: usize = 8 * 1024;
/// The largest frame read from a server: Ably's default `maxFrameSize` with room to spare.
const MAX_INBOUND_FRAME_BYTES: usize = DEFAULT_MAX_FRAME_BYTES * 4;
type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

/// The clientId (when entering for another client) and data we entered presence with.
pub(crate) type EnteredAs = (Option<String>, PresenceData);

pub(crate) enum ShardCommand {
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
}

enum Internal {
    Opened(Result<Box<(Socket, Credential)>, OpenFailure>),
    Renewed(Result<Credential, RestError>),
    GapFilled {
        channel: String,
        result: Result<Vec<Message>, RestError>,
    },
}

enum OpenFailure {
    Auth(RestError),
    Transport(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Timer {
    Retry,
    ConnectDeadline,
    Renew,
    AttachDeadline(String),
    ChannelRetry(String),
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
}

pub(crate) struct Shard {
    index: usize,
    options: Arc<ClientOptions>,
    rest: RestClient,
    events: mpsc::Sender<NetEvent>,
    pool: Weak<PoolShared>,
    machine: ConnectionMachine,
    channels: HashMap<String, Slot>,
    socket: Option<Socket>,
    credential: Option<Credential>,
    next_serial: i64,
    /// Sent and awaiting ACK, in msgSerial order.
    in_flight: VecDeque<(i64, Pending)>,
    /// Not yet sent (no connection).
    queued: VecDeque<Pending>,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    deadlines: HashMap<Timer, Instant>,
    last_activity: Instant,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    opening: Option<tokio::task::JoinHandle<()>>,
    /// A token renewal is under way: a server's AUTH requests meanwhile join it, so a
    /// flood of them costs one request to the auth server, not one each.
    renewing: bool,
    closing_replies: Vec<oneshot::Sender<()>>,
}

/// The soonest a renewal follows the last one: a token that arrives already expired (a
/// wrong clock, a broken auth server) is renewed once a second, not in a tight loop.
const MIN_RENEWAL_DELAY: Duration = Duration::from_secs(1);

impl Shard {
    pub(crate) fn new(
        index: usize,
        options: Arc<ClientOptions>,
        rest: RestClient,
        events: mpsc::Sender<NetEvent>,
        pool: Weak<PoolShared>,
    ) -> Self {
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        Self {
            index,
            machine: ConnectionMachine::new(options.timeouts.clone()),
            options,
            rest,
            events,
            pool,
            channels: HashMap::new(),
            socket: None,
            credential: None,
            next_serial: 0,
            in_flight: VecDeque::new(),
            queued: VecDeque::new(),
            timers: BinaryHeap::new(),
            deadlines: HashMap::new(),
            last_activity: Instant::now(),
            internal_tx,
            internal_rx,
            opening: None,
            renewing: false,
            closing_replies: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<ShardCommand>) {
        self.connection(Input::Connect).await;
        // Two long-lived timers, re-armed only when their deadline changes: building a
        // timer per received frame would cost more than decoding the frame.
        let timer = sleep_until(far_future());
        let idle = sleep_until(far_future());
        tokio::pin!(timer, idle);
        let mut timer_armed: Option<Instant> = None;
        let mut idle_armed: Option<Instant> = None;
        loop {
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
                command = commands.recv() => match command {
                    Some(command) => self.command(command).await,
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
                    // Frames arrived since it was armed: the loop re-arms it from the last one.
                    let silent = self.last_activity.elapsed();
                    if self.idle_limit().is_some_and(|limit| silent >= limit) {
                        let error = ErrorInfo::new(80003, 408, format!("No activity seen from the server in {} ms; assuming the connection dropped", silent.as_millis()));
                        self.connection(Input::Lost(error)).await;
                    }
                }
            }
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

    /// How long the server may stay silent, while connected.
    fn idle_limit(&self) -> Option<Duration> {
        if self.machine.state() != ConnectionState::Connected {
            return None;
        }
        self.machine.idle_limit(self.options.request_timeout)
    }

    // ---- timers -------------------------------------------------------------------------

    fn set_timer(&mut self, timer: Timer, at: Instant) {
        self.deadlines.insert(timer.clone(), at);
        self.timers.push(Reverse((at, timer)));
    }

    fn cancel_timer(&mut self, timer: &Timer) {
        self.deadlines.remove(timer);
    }

    fn next_timer(&mut self) -> Option<Instant> {
        // Entries whose deadline was cancelled or moved are dropped lazily here.
        while let Some(Reverse((at, timer))) = self.timers.peek() {
            if self.deadlines.get(timer) == Some(at) {
                return Some(*at);
            }
            self.timers.pop();
        }
        None
    }

    async fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, timer))) = self.timers.peek().cloned() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.deadlines.get(&timer) != Some(&at) {
                continue;
            }
            self.deadlines.remove(&timer);
            match timer {
                Timer::Retry => self.connection(Input::RetryDue).await,
                Timer::ConnectDeadline => {
                    if self.machine.state() == ConnectionState::Connecting {
                        let error = ErrorInfo::new(
                            80003,
                            408,
                            "Timed out waiting for the server to connect",
                        );
                        self.connection(Input::Lost(error)).await;
                    }
                }
                Timer::Renew => self.renew_token(),
                Timer::AttachDeadline(channel) => {
                    self.channel(&channel, ChannelInput::AttachTimedOut).await
                }
                Timer::ChannelRetry(channel) => {
                    self.channel(&channel, ChannelInput::RetryDue).await
                }
            }
        }
    }

    // ---- connection ---------------------------------------------------------------------

    async fn connection(&mut self, input: Input) {
        let effects = self
            .machine
            .handle(input, std::time::Instant::now(), random_jitter());
        for effect in effects {
            self.connection_effect(effect).await;
        }
    }

    async fn connection_effect(&mut self, effect: Effect) {
        match effect {
            Effect::Open {
                resume_key,
                renew_token,
            } => self.open(resume_key, renew_token),
            Effect::Drop => {
                self.cancel_timer(&Timer::ConnectDeadline);
                if let Some(mut socket) = self.socket.take() {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
                }
                if let Some(opening) = self.opening.take() {
                    opening.abort();
                }
                self.for_each_channel(ChannelInput::ConnectionLost).await;
            }
            Effect::SendClose => {
                self.send(&ProtocolMessage::new(Action::Close)).await;
                // Ably's client does not wait for CLOSED (ably-protocol.md §1.5).
                Box::pin(self.connection(Input::Closed)).await;
            }
            Effect::RetryIn(delay) => self.set_timer(Timer::Retry, Instant::now() + delay),
            Effect::Reattach { .. } => {
                self.schedule_renewal();
                self.for_each_channel(ChannelInput::ConnectionConnected)
                    .await;
            }
            Effect::Resend { resumed } => self.resend(resumed).await,
            Effect::FailPending(error) => self.fail_pending(&error),
            Effect::SuspendChannels => {
                self.for_each_channel(ChannelInput::ConnectionSuspended)
                    .await
            }
            Effect::FailChannels(error) => {
                self.for_each_channel(ChannelInput::ConnectionFailed(error))
                    .await
            }
            Effect::DetachChannels => self.for_each_channel(ChannelInput::ConnectionClosed).await,
            Effect::StateChanged { state, reason } => {
                if let Some(reason) = &reason {
                    debug!(shard = self.index, state = state.as_str(), %reason, "connection state");
                }
                self.emit(NetEvent::Connection {
                    shard: self.index,
                    state,
                    reason,
                })
                .await;
            }
            Effect::Updated => self.schedule_renewal(),
        }
    }

    fn open(&mut self, resume_key: Option<String>, renew_token: bool) {
        let rest = self.rest.clone();
        let options = self.options.clone();
        let internal = self.internal_tx.clone();
        self.set_timer(
            Timer::ConnectDeadline,
            Instant::now() + self.options.request_timeout * 2,
        );
        self.opening = Some(tokio::spawn(async move {
            let result = open_socket(&rest, &options, resume_key, renew_token).await;
            let _ = internal.send(Internal::Opened(result));
        }));
    }

    fn schedule_renewal(&mut self) {
        let Some(expires) = self.credential.as_ref().and_then(Credential::expires_ms) else {
            self.cancel_timer(&Timer::Renew);
            return;
        };
        let remaining = Duration::from_millis(expires.saturating_sub(crate::clock::now_ms_u64()));
        // Renew 30 s ahead, or halfway through a short-lived token.
        let ahead = Duration::from_secs(30).min(remaining / 2);
        let delay = remaining.saturating_sub(ahead).max(MIN_RENEWAL_DELAY);
        self.set_timer(Timer::Renew, Instant::now() + delay);
    }

    fn renew_token(&mut self) {
        if self.renewing {
            return;
        }
        self.renewing = true;
        let credentials = self.rest.credentials().clone();
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = credentials.renew().await;
            let _ = internal.send(Internal::Renewed(result));
        });
    }

    async fn internal(&mut self, internal: Internal) {
        match internal {
            Internal::Opened(Ok(opened)) => {
                let (socket, credential) = *opened;
                self.opening = None;
                if self.machine.state() == ConnectionState::Connecting {
                    self.socket = Some(socket);
                    self.credential = Some(credential);
                    self.last_activity = Instant::now();
                }
            }
            Internal::Opened(Err(OpenFailure::Auth(error))) => {
                self.opening = None;
                let fatal = error.is_fatal_auth();
                warn!(shard = self.index, %error, "could not get credentials");
                self.connection(Input::AuthFailed {
                    error: error.to_error_info(),
                    fatal,
                })
                .await;
            }
            Internal::Opened(Err(OpenFailure::Transport(reason))) => {
                self.opening = None;
                let error = ErrorInfo::new(80003, 400, format!("Unable to connect: {reason}"));
                self.connection(Input::Lost(error)).await;
            }
            Internal::Renewed(Ok(credential)) => {
                self.renewing = false;
                let token = match &credential {
                    Credential::Token(details) => Some(details.token.expose().to_owned()),
                    Credential::Basic(_) => None,
                };
                self.credential = Some(credential);
                if let Some(access_token) = token
                    && self.machine.state() == ConnectionState::Connected
                {
                    let mut frame = ProtocolMessage::new(Action::Auth);
                    frame.auth = Some(AuthDetails { access_token });
                    self.send(&frame).await;
                }
                self.schedule_renewal();
            }
            Internal::Renewed(Err(error)) => {
                self.renewing = false;
                warn!(shard = self.index, %error, "token renewal failed; retrying");
                self.set_timer(Timer::Renew, Instant::now() + Duration::from_secs(5));
            }
            Internal::GapFilled { channel, result } => self.gap_filled(&channel, result).await,
        }
    }

    // ---- inbound frames -----------------------------------------------------------------

    async fn incoming(&mut self, frame: Option<Result<WsMessage, WsError>>) {
        self.last_activity = Instant::now();
        let text = match frame {
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => return,
            Some(Ok(WsMessage::Binary(_))) => {
                warn!(
                    shard = self.index,
                    "ignored a binary frame: this client speaks JSON"
                );
                return;
            }
            Some(Ok(WsMessage::Close(_))) | None => {
                let error = ErrorInfo::new(80003, 400, "Connection closed by the server");
                return self.lost_or_closed(error).await;
            }
            Some(Err(reason)) => {
                let error = ErrorInfo::new(80003, 400, format!("Connection lost: {reason}"));
                return self.lost_or_closed(error).await;
            }
        };
        let frame = match decode_frame(text.as_str(), MAX_INBOUND_FRAME_BYTES) {
            Ok(frame) => frame,
            Err(error) => {
                // A bad frame from the server is logged and skipped, never fatal here.
                warn!(shard = self.index, %error, "skipped an undecodable frame");
                return;
            }
        };
        self.frame(frame).await;
    }

    async fn lost_or_closed(&mut self, error: ErrorInfo) {
        self.socket = None;
        if self.machine.state() == ConnectionState::Closing {
            self.connection(Input::Closed).await;
        } else {
            self.connection(Input::Lost(error)).await;
        }
    }

    async fn frame(&mut self, frame: ProtocolMessage) {
        match frame.action {
            Action::Heartbeat => {}
            Action::Connected => {
                self.cancel_timer(&Timer::ConnectDeadline);
                let connection_id = frame.connection_id.clone().unwrap_or_default();
                let details = frame.connection_details.clone().unwrap_or_default();
                self.connection(Input::Connected {
                    connection_id,
                    details,
                    error: frame.error,
                })
                .await;
            }
            Action::Disconnected => {
                let error = frame
                    .error
                    .unwrap_or_else(|| ErrorInfo::new(80003, 400, "Disconnected by the server"));
                self.connection(Input::Lost(error)).await;
            }
            Action::Closed => self.connection(Input::Closed).await,
            Action::Error => {
                let error = frame
                    .error
                    .clone()
                    .unwrap_or_else(|| ErrorInfo::new(50000, 500, "Unspecified error"));
                match frame.channel {
                    Some(channel) => self.channel_error(&channel, error).await,
                    None => self.connection(Input::Error(error)).await,
                }
            }
            Action::Ack | Action::Nack => self.acknowledged(&frame),
            Action::Attached => {
                if let Some(channel) = frame.channel.clone() {
                    let input = ChannelInput::Attached {
                        flags: frame.flags(),
                        serial: frame.channel_serial.clone(),
                        error: frame.error,
                    };
                    self.channel(&channel, input).await;
                }
            }
            Action::Detached => {
                if let Some(channel) = frame.channel.clone() {
                    self.channel(&channel, ChannelInput::Detached { error: frame.error })
                        .await;
                }
            }
            Action::Message => self.messages(frame).await,
            Action::Presence | Action::Sync => self.presence_frame(frame).await,
            Action::Auth => self.renew_token(),
            other => debug!(shard = self.index, action = other.code(), "ignored a frame"),
        }
    }

    async fn messages(&mut self, frame: ProtocolMessage) {
        let Some(name) = frame.channel.as_deref() else {
            return;
        };
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        if !slot.machine.accepts_messages() {
            return;
        }
        slot.machine.record_serial(frame.channel_serial.as_deref());
        let frame_id = frame.id.clone().unwrap_or_default();
        let mut delivered = Vec::new();
        for (index, mut message) in frame.messages.unwrap_or_default().into_iter().enumerate() {
            message
                .id
                .get_or_insert_with(|| format!("{frame_id}:{index}"));
            if message.connection_id.is_none() {
                message.connection_id = frame.connection_id.clone();
            }
            if message.timestamp.is_none() {
                message.timestamp = frame.timestamp;
            }
            slot.machine.record_message_time(message.timestamp);
            let inbound = InboundMessage::from_wire(message, false);
            if !slot.recent.insert(&inbound.id) {
                continue;
            }
            match &mut slot.held {
                Some(held) => held.push(inbound),
                None => delivered.push(inbound),
            }
        }
        let channel = name.to_owned();
        for message in delivered {
            self.emit(NetEvent::Message {
                shard: self.index,
                channel: channel.clone(),
                message,
            })
            .await;
        }
    }

    async fn presence_frame(&mut self, frame: ProtocolMessage) {
        let Some(name) = frame.channel.clone() else {
            return;
        };
        let Some(slot) = self.channels.get_mut(&name) else {
            return;
        };
        let members = frame
            .presence
            .unwrap_or_default()
            .into_iter()
            .map(|mut member| {
                if member.connection_id.is_none() {
                    member.connection_id = frame.connection_id.clone();
                }
                if member.timestamp.is_none() {
                    member.timestamp = frame.timestamp;
                }
                member
            });
        let changes = if frame.action == Action::Sync {
            // `syncId:cursor`; an empty cursor (or no serial) ends the sync.
            let last = frame.channel_serial.as_deref().is_none_or(|serial| {
                serial
                    .split_once(':')
                    .is_none_or(|(_, cursor)| cursor.is_empty())
            });
            slot.presence.sync_page(members.collect(), last)
        } else {
            // Like messages, presence moves the resume point only while attached.
            if slot.machine.accepts_messages() {
                slot.machine.record_serial(frame.channel_serial.as_deref());
            }
            members
                .filter_map(|member| slot.presence.apply(member))
                .collect()
        };
        for change in changes {
            self.emit(NetEvent::Presence {
                channel: name.clone(),
                change,
            })
            .await;
        }
    }

    fn acknowledged(&mut self, frame: &ProtocolMessage) {
        let span = AckSpan::new(frame.msg_serial, frame.count);
        let results = frame.res.clone().unwrap_or_default();
        while let Some((serial, _)) = self.in_flight.front() {
            if !span.reaches(*serial) {
                break;
            }
            let Some((serial, pending)) = self.in_flight.pop_front() else {
                break;
            };
            if span.skips(serial) {
                // Skipped serials count as refused (ably-protocol.md §4.3).
                pending.reply.fail(ClientError::Refused(ErrorInfo::new(
                    50000,
                    500,
                    "No acknowledgement received",
                )));
                continue;
            }
            match (&frame.action, pending.reply) {
                (Action::Ack, PendingReply::Publish(reply)) => {
                    let serials = span
                        .position(serial)
                        .and_then(|position| results.get(position))
                        .map(|result| result.serials.clone())
                        .unwrap_or_default();
                    let _ = reply.send(Ok(PublishAck { serials }));
                }
                (Action::Ack, PendingReply::Presence(reply)) => {
                    let _ = reply.send(Ok(()));
                }
                (_, reply) => {
                    let error = frame
                        .error
                        .clone()
                        .unwrap_or_else(|| ErrorInfo::new(50000, 500, "Refused by the server"));
                    reply.fail(ClientError::Refused(error));
                }
            }
        }
    }

    // ---- channels -----------------------------------------------------------------------

    async fn for_each_channel(&mut self, input: ChannelInput) {
        let names: Vec<String> = self.channels.keys().cloned().collect();
        for name in names {
            self.channel(&name, input.clone()).await;
        }
    }

    async fn channel_error(&mut self, channel: &str, error: ErrorInfo) {
        if error.code == 90010 {
            // Too many channels on this connection: this one goes to another connection.
            let Some(slot) = self.channels.remove(channel) else {
                return;
            };
            // The waiters learn the outcome from the new connection; presence moves along.
            for waiter in slot.waiters {
                let _ = waiter.send(Err(ClientError::Closed));
            }
            if let Some(pool) = self.pool.upgrade() {
                pool.relocate(self.index, channel, self.channels.len(), slot.entered);
            }
            return;
        }
        self.channel(channel, ChannelInput::Error(error)).await;
    }

    async fn channel(&mut self, name: &str, input: ChannelInput) {
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        let effects = slot.machine.handle(input);
        for effect in effects {
            self.channel_effect(name, effect).await;
        }
    }

    async fn channel_effect(&mut self, name: &str, effect: ChannelEffect) {
        match effect {
            ChannelEffect::SendAttach {
                channel_serial,
                params,
            } => {
                let mut frame = ProtocolMessage::new(Action::Attach).with_channel(name);
                frame.channel_serial = channel_serial;
                frame.params = params;
                self.send(&frame).await;
            }
            ChannelEffect::SendDetach => {
                self.send(&ProtocolMessage::new(Action::Detach).with_channel(name))
                    .await;
            }
            ChannelEffect::StartAttachTimer => {
                let at = Instant::now() + self.options.request_timeout;
                self.set_timer(Timer::AttachDeadline(name.to_owned()), at);
            }
            ChannelEffect::RetryIn(delay) => {
                self.set_timer(Timer::ChannelRetry(name.to_owned()), Instant::now() + delay);
            }
            ChannelEffect::StateChanged {
                state,
                resumed,
                reason,
            } => {
                if state != super::channel::ChannelState::Attaching {
                    self.cancel_timer(&Timer::AttachDeadline(name.to_owned()));
                }
                if state == super::channel::ChannelState::Attached
                    && let Some(slot) = self.channels.get_mut(name)
                {
                    // First attachment: a later gap fill starts from here at the earliest.
                    slot.machine
                        .record_first_attach(crate::clock::now_ms() - 5_000);
                }
                let settled = match state {
                    super::channel::ChannelState::Attached => Some(Ok(())),
                    super::channel::ChannelState::Failed
                    | super::channel::ChannelState::Detached => Some(Err(reason
                        .clone()
                        .map_or(ClientError::Closed, ClientError::Refused))),
                    _ => None,
                };
                if let Some(outcome) = settled
                    && let Some(slot) = self.channels.get_mut(name)
                {
                    for waiter in slot.waiters.drain(..) {
                        let _ = waiter.send(outcome.clone());
                    }
                }
                if state == super::channel::ChannelState::Detached {
                    // Nothing more will happen on it; a new attach starts afresh.
                    self.channels.remove(name);
                }
                self.emit(NetEvent::Channel {
                    channel: name.to_owned(),
                    state,
                    resumed,
                    reason,
                })
                .await;
            }
            ChannelEffect::FillGap {
                since_ms,
                until_serial,
            } => self.fill_gap(name, since_ms, until_serial),
            ChannelEffect::ClearPresence => {
                let changes = self
                    .channels
                    .get_mut(name)
                    .map(|slot| slot.presence.clear())
                    .unwrap_or_default();
                for change in changes {
                    self.emit(NetEvent::Presence {
                        channel: name.to_owned(),
                        change,
                    })
                    .await;
                }
            }
            ChannelEffect::ReEnterPresence => {
                let entered = self
                    .channels
                    .get(name)
                    .and_then(|slot| slot.entered.clone());
                if let Some((client_id, data)) = entered {
                    let (reply, _) = oneshot::channel();
                    let frame = presence_frame(name, PresenceAction::Enter, client_id, data);
                    self.submit(Pending {
                        frame,
                        reply: PendingReply::Presence(reply),
                    })
                    .await;
                }
            }
        }
    }

    fn fill_gap(&mut self, name: &str, since_ms: Option<i64>, until_serial: Option<String>) {
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        slot.held.get_or_insert_with(Vec::new);
        slot.fills += 1;
        let rest = self.rest.clone();
        let internal = self.internal_tx.clone();
        let channel = name.to_owned();
        tokio::spawn(async move {
            let result = history_since(&rest, &channel, since_ms, until_serial).await;
            let _ = internal.send(Internal::GapFilled { channel, result });
        });
    }

    async fn gap_filled(&mut self, name: &str, result: Result<Vec<Message>, RestError>) {
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        slot.fills = slot.fills.saturating_sub(1);
        // Live messages wait for the last of overlapping fills, so history stays first.
        let held = if slot.fills == 0 {
            slot.held.take().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        let mut recovered = 0;
        let failure = match result {
            Ok(messages) => {
                for message in messages {
                    let inbound = InboundMessage::from_wire(message, true);
                    if slot.recent.insert(&inbound.id) {
                        recovered += 1;
                        out.push(inbound);
                    }
                }
                None
            }
            Err(error) => Some(error.to_string()),
        };
        // History first, then what arrived live meanwhile; each id at most once.
        out.extend(held);
        for message in out {
            self.emit(NetEvent::Message {
                shard: self.index,
                channel: name.to_owned(),
                message,
            })
            .await;
        }
        let event = match failure {
            None => NetEvent::GapFilled {
                channel: name.to_owned(),
                recovered,
            },
            Some(reason) => NetEvent::ContinuityLost {
                channel: name.to_owned(),
                reason,
            },
        };
        self.emit(event).await;
    }

    // ---- commands -----------------------------------------------------------------------

    async fn command(&mut self, command: ShardCommand) {
        match command {
            ShardCommand::Attach {
                channel,
                options,
                entered,
            } => {
                if !self.channels.contains_key(&channel) {
                    let mut machine = ChannelMachine::new(options);
                    if self.machine.state() == ConnectionState::Connected {
                        // Tell a fresh slot the connection is up before asking it to attach
                        // (an existing slot already knows; it must keep its own state).
                        let _ = machine.handle(ChannelInput::ConnectionConnected);
                    }
                    self.channels.insert(
                        channel.clone(),
                        Slot {
                            machine,
                            presence: PresenceMap::default(),
                            recent: RecentIds::default(),
                            held: None,
                            fills: 0,
                            entered,
                            waiters: Vec::new(),
                        },
                    );
                }
                self.channel(&channel, ChannelInput::Attach).await;
            }
            ShardCommand::WhenAttached { channel, reply } => {
                match self.channels.get_mut(&channel) {
                    Some(slot) if slot.machine.accepts_messages() => {
                        let _ = reply.send(Ok(()));
                    }
                    Some(slot) => slot.waiters.push(reply),
                    None => {
                        let _ = reply.send(Err(ClientError::Closed));
                    }
                }
            }
            ShardCommand::Detach { channel } => {
                self.channel(&channel, ChannelInput::Detach).await;
            }
            ShardCommand::Publish {
                channel,
                messages,
                reply,
            } => {
                let mut frame = ProtocolMessage::new(Action::Message).with_channel(channel);
                frame.messages = Some(messages);
                self.submit(Pending {
                    frame,
                    reply: PendingReply::Publish(reply),
                })
                .await;
            }
            ShardCommand::Presence {
                channel,
                action,
                data,
                reply,
            } => {
                if let Some(slot) = self.channels.get_mut(&channel) {
                    slot.entered = match action {
                        PresenceAction::Leave => None,
                        _ => Some((None, data.clone())),
                    };
                }
                let frame = presence_frame(&channel, action, None, data);
                self.submit(Pending {
                    frame,
                    reply: PendingReply::Presence(reply),
                })
                .await;
            }
            ShardCommand::Close { reply } => {
                self.closing_replies.push(reply);
                self.connection(Input::Close).await;
            }
        }
    }

    /// Sends now when connected, otherwise queues for the next connection (RTL6c2).
    async fn submit(&mut self, pending: Pending) {
        match self.machine.state() {
            ConnectionState::Connected => self.transmit(pending).await,
            ConnectionState::Initialized
            | ConnectionState::Connecting
            | ConnectionState::Disconnected => {
                self.queued.push_back(pending);
            }
            state => pending.reply.fail(ClientError::Refused(ErrorInfo::new(
                80000,
                400,
                format!("Cannot publish while the connection is {}", state.as_str()),
            ))),
        }
    }

    async fn transmit(&mut self, mut pending: Pending) {
        let serial = self.next_serial;
        self.next_serial += 1;
        pending.frame.msg_serial = Some(serial);
        self.send(&pending.frame).await;
        self.in_flight.push_back((serial, pending));
    }

    /// After CONNECTED: frames awaiting ACK go again (same serials when resumed, since the
    /// server dedupes by serial; renumbered when not, and message ids keep that idempotent),
    /// then the queue.
    async fn resend(&mut self, resumed: bool) {
        let in_flight: Vec<(i64, Pending)> = self.in_flight.drain(..).collect();
        if !resumed {
            self.next_serial = 0;
        }
        for (serial, pending) in in_flight {
            if resumed {
                self.send(&pending.frame).await;
                self.in_flight.push_back((serial, pending));
            } else {
                self.transmit(pending).await;
            }
        }
        while let Some(pending) = self.queued.pop_front() {
            self.transmit(pending).await;
        }
    }

    fn fail_pending(&mut self, error: &ErrorInfo) {
        for (_, pending) in self.in_flight.drain(..) {
            pending.reply.fail(ClientError::Refused(error.clone()));
        }
        for pending in self.queued.drain(..) {
            pending.reply.fail(ClientError::Refused(error.clone()));
        }
    }

    async fn send(&mut self, frame: &ProtocolMessage) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        if let Err(error) = socket
            .send(WsMessage::Text(encode_frame(frame).into()))
            .await
        {
            debug!(shard = self.index, %error, "send failed");
        }
    }

    async fn emit(&mut self, event: NetEvent) {
        // The application dropped its receiver: nothing to report to, keep serving.
        let _ = self.events.send(event).await;
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

async fn next_frame(socket: &mut Option<Socket>) -> Option<Result<WsMessage, WsError>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

/// An endpoint whose URL cannot take a `ws`/`wss` scheme.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint cannot be turned into a WebSocket URL")]
struct NotWebSocketUrl;

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
    let mut frame = ProtocolMessage::new(Action::Presence).with_channel(channel);
    frame.presence = Some(vec![member]);
    frame
}

async fn open_socket(
    rest: &RestClient,
    options: &ClientOptions,
    resume_key: Option<String>,
    renew_token: bool,
) -> Result<Box<(Socket, Credential)>, OpenFailure> {
    let credentials = rest.credentials();
    let credential = if renew_token {
        credentials.renew().await
    } else {
        credentials.current().await
    }
    .map_err(OpenFailure::Auth)?;
    let url = websocket_url(options, &credential, resume_key.as_deref())
        .map_err(|error| OpenFailure::Transport(error.to_string()))?;
    // tungstenite zero-fills its whole read buffer before every read: the 128 KiB default
    // costs more than decoding a typical frame. Larger frames still arrive, in more reads.
    // A message larger than the decoder takes is refused while it arrives, not buffered
    // whole first (tungstenite's default would hold 64 MiB).
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_INBOUND_FRAME_BYTES))
        .max_frame_size(Some(MAX_INBOUND_FRAME_BYTES));
    let connect = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true);
    match tokio::time::timeout(options.request_timeout, connect).await {
        Ok(Ok((socket, _))) => Ok(Box::new((socket, credential))),
        // Without the URL: its query holds the credential.
        Ok(Err(error)) => Err(OpenFailure::Transport(error.to_string())),
        Err(_) => Err(OpenFailure::Transport(
            "timed out opening the WebSocket".into(),
        )),
    }
}

fn websocket_url(
    options: &ClientOptions,
    credential: &Credential,
    resume_key: Option<&str>,
) -> Result<url::Url, NotWebSocketUrl> {
    let mut url = options.endpoint.clone();
    let scheme = match url.scheme() {
        "https" | "wss" => "wss",
        _ => "ws",
    };
    url.set_scheme(scheme).map_err(|()| NotWebSocketUrl)?;
    url.set_path("/");
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        match credential {
            Credential::Basic(key) => query.append_pair("key", key.full().expose()),
            Credential::Token(details) => query.append_pair("access_token", details.token.expose()),
        };
        if let Some(key) = resume_key {
            query.append_pair("resume", key);
        }
        if let Some(client_id) = &options.client_id {
            query.append_pair("clientId", client_id);
        }
        if !options.echo {
            query.append_pair("echo", "false");
        }
        query
            .append_pair("format", "json")
            .append_pair("heartbeats", "true")
            .append_pair("v", PROTOCOL_VERSION)
            .append_pair("agent", concat!("brokerdash/", env!("CARGO_PKG_VERSION")));
    }
    Ok(url)
}

/// Messages published after `since_ms` up to the attach serial, oldest first: history read
/// backwards (the form Ably serves `from_serial` in) until older than the gap.
async fn history_since(
    rest: &RestClient,
    channel: &str,
    since_ms: Option<i64>,
    until_serial: Option<String>,
) -> Result<Vec<Message>, RestError> {
    let query = HistoryQuery {
        limit: Some(1000),
        forwards: false,
        start_ms: since_ms,
        end_ms: None,
        until_serial,
    };
    let page = rest.history(channel, &query).await?;
    let mut collected = rest.all_pages(page).await?;
    collected.reverse();
    Ok(collected)
}
