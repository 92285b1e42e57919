//! What the hub does with each frame a client sends (ably-protocol.md §3–§5).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::auth::Operation;
use crate::protocol::{
    Action, ErrorInfo, Message, PresenceAction, PresenceMessage, ProtocolMessage, PublishResult,
    decode_frame, flags,
};

use super::super::clock::now_ms;
use super::super::identity::Identity;
use super::super::link::Link;
use super::super::state::{AckResult, Connection, HubState, LIFECYCLE_CHANNEL, lock};
use super::{connected_frame, frame_text};

const RECENT_ACKS: usize = 1024;

pub(crate) enum Flow {
    Continue,
    Closed,
    Disconnect,
    Failed,
}

/// The channels this transport is subscribed to, kept by the transport itself: another
/// transport that resumes the same connection rewrites the connection's own record.
pub(crate) type Subscribed = Arc<std::sync::Mutex<BTreeSet<String>>>;

pub(crate) struct Session {
    hub: Arc<HubState>,
    connection: Arc<Connection>,
    link: Link,
    subscribed: Subscribed,
    sync_count: u64,
    token_timer: Option<TokenTimer>,
    /// Whether the AUTH request for the current token was sent.
    renewal_requested: bool,
}

/// When to ask for a new token and when the current one expires: fixed once per token,
/// so the client's own traffic never pushes the request later.
#[derive(Debug, Clone, Copy)]
struct TokenTimer {
    renew_at: Instant,
    expires_at: Instant,
}

impl TokenTimer {
    fn for_identity(identity: &Identity) -> Option<Self> {
        let life = identity.token_life?;
        let (now, now_wall_ms) = (Instant::now(), now_ms());
        let at = |wall_ms: i64| {
            let ahead = u64::try_from(wall_ms.saturating_sub(now_wall_ms)).unwrap_or(0);
            now.checked_add(Duration::from_millis(ahead))
                .unwrap_or_else(super::far_future)
        };
        Some(Self {
            renew_at: at(life.renewal_due_ms()),
            expires_at: at(life.expires_ms),
        })
    }
}

/// Ably's channel-name rules (ably-protocol.md §4.6); metachannels are known by name.
fn check_channel_name(name: &str) -> Result<(), ErrorInfo> {
    let bad = name.is_empty()
        || name.contains('\n')
        || name.starts_with(':')
        || (name.starts_with('[') && name != LIFECYCLE_CHANNEL);
    if bad {
        return Err(ErrorInfo::new(
            40010,
            400,
            format!("Invalid channel name {name:?}"),
        ));
    }
    Ok(())
}

impl Session {
    pub fn new(
        hub: Arc<HubState>,
        connection: Arc<Connection>,
        link: Link,
        subscribed: Subscribed,
    ) -> Self {
        let token_timer = TokenTimer::for_identity(&connection.state().identity);
        Self {
            hub,
            connection,
            link,
            subscribed,
            sync_count: 0,
            token_timer,
            renewal_requested: false,
        }
    }

    fn send(&self, frame: &ProtocolMessage) {
        self.link.send(frame_text(frame));
    }

    pub fn fatal(&self, error: ErrorInfo) {
        self.send(&ProtocolMessage::new(Action::Error).with_error(error));
    }

    /// When the token timer should next fire: the renewal request, then expiry.
    pub fn token_deadline(&self) -> Option<Instant> {
        let timer = self.token_timer?;
        Some(if self.renewal_requested {
            timer.expires_at
        } else {
            timer.renew_at
        })
    }

    /// Returns true when the connection must be disconnected (token expired).
    pub fn token_timer_fired(&mut self) -> bool {
        let expired = self
            .token_timer
            .is_some_and(|timer| timer.expires_at <= Instant::now());
        if expired {
            let error = ErrorInfo::new(40142, 401, "Key/token expired");
            self.send(&ProtocolMessage::new(Action::Disconnected).with_error(error));
            return true;
        }
        if !self.renewal_requested {
            self.renewal_requested = true;
            self.send(&ProtocolMessage::new(Action::Auth));
        }
        false
    }

    pub fn handle(&mut self, text: &Utf8Bytes) -> Flow {
        let frame = match decode_frame(text.as_str(), self.hub.config.max_frame_bytes) {
            Ok(frame) => frame,
            Err(error) => {
                warn!(connection = %self.connection.id, %error, "refused a frame");
                let code = if matches!(error, crate::protocol::DecodeError::TooLarge { .. }) {
                    40009
                } else {
                    40000
                };
                self.fatal(ErrorInfo::new(code, 400, error.to_string()));
                return Flow::Failed;
            }
        };
        match frame.action {
            Action::Heartbeat => {
                if frame.id.is_some() {
                    let mut reply = ProtocolMessage::new(Action::Heartbeat);
                    reply.id = frame.id;
                    self.send(&reply);
                }
                Flow::Continue
            }
            Action::Close => {
                self.send(&ProtocolMessage::new(Action::Closed));
                Flow::Closed
            }
            Action::Disconnect => Flow::Disconnect,
            Action::Attach => {
                self.attach(&frame);
                Flow::Continue
            }
            Action::Detach => {
                self.detach(&frame);
                Flow::Continue
            }
            Action::Message | Action::Presence => {
                self.acknowledged(&frame);
                Flow::Continue
            }
            Action::Sync => {
                // Only for a channel this connection attached with presence rights.
                if let Some(name) = &frame.channel {
                    let allowed = self
                        .connection
                        .state()
                        .attached
                        .get(name)
                        .is_some_and(|modes| modes & flags::PRESENCE_SUBSCRIBE != 0);
                    match self.hub.existing_channel(name).filter(|_| allowed) {
                        Some(channel) => {
                            let frames = self.sync_frames(&lock(&channel));
                            self.link.send_burst(frames);
                        }
                        None => {
                            let error = ErrorInfo::new(
                                90001,
                                400,
                                format!(
                                    "Channel {name} is not attached with presence on this connection"
                                ),
                            );
                            self.channel_error(name, error);
                        }
                    }
                }
                Flow::Continue
            }
            Action::Auth => self.reauthorise(&frame),
            other => {
                debug!(connection = %self.connection.id, action = other.code(), "ignored a frame");
                Flow::Continue
            }
        }
    }

    fn sync_frames(&mut self, channel: &super::super::channel::Channel) -> Vec<Utf8Bytes> {
        self.sync_count += 1;
        channel.sync_frames(&format!("sync{}", self.sync_count))
    }

    /// The modes the identity's capability allows on a channel.
    fn allowed_modes(&self, name: &str) -> u64 {
        let state = self.connection.state();
        let identity = &state.identity;
        let mut modes = 0;
        if identity.allows(name, Operation::Subscribe) {
            modes |= flags::SUBSCRIBE | flags::PRESENCE_SUBSCRIBE;
        }
        if name != LIFECYCLE_CHANNEL {
            if identity.allows(name, Operation::Publish) {
                modes |= flags::PUBLISH;
            }
            if identity.allows(name, Operation::Presence) {
                modes |= flags::PRESENCE;
            }
        }
        modes
    }

    fn channel_error(&self, name: &str, error: ErrorInfo) {
        self.send(
            &ProtocolMessage::new(Action::Error)
                .with_channel(name)
                .with_error(error),
        );
    }

    fn attach(&mut self, frame: &ProtocolMessage) {
        let Some(name) = frame.channel.as_deref() else {
            return;
        };
        if let Err(error) = check_channel_name(name) {
            return self.channel_error(name, error);
        }
        let rewind = match frame
            .params
            .as_ref()
            .and_then(|params| params.get("rewind"))
            .map(|text| Rewind::parse(text))
            .transpose()
        {
            Ok(rewind) => rewind,
            Err(error) => return self.channel_error(name, error),
        };
        let allowed = self.allowed_modes(name);
        if allowed == 0 {
            let error = ErrorInfo::new(
                40160,
                401,
                format!("Channel denied access based on given capability ({name})"),
            );
            return self.channel_error(name, error);
        }
        let requested = match frame.flags() & flags::MODES {
            0 => flags::DEFAULT_MODES,
            modes => modes,
        };
        let modes = requested & allowed;
        if modes == 0 {
            let error = ErrorInfo::new(
                40160,
                401,
                format!("None of the requested modes are allowed on {name}"),
            );
            return self.channel_error(name, error);
        }
        {
            let mut state = self.connection.state();
            let limit = self.hub.config.max_channels_per_connection;
            if !state.attached.contains_key(name) && state.attached.len() >= limit {
                drop(state);
                let error = ErrorInfo::new(
                    90010,
                    400,
                    format!("Maximum number of channels per connection ({limit}) exceeded"),
                );
                return self.channel_error(name, error);
            }
            state.attached.insert(name.to_owned(), modes);
        }
        let channel = self.hub.channel(name);
        let opened = {
            let mut channel = lock(&channel);
            channel.subscribers.insert(
                self.connection.id.clone(),
                super::super::channel::Subscription {
                    link: self.link.clone(),
                    modes,
                },
            );
            lock(&self.subscribed).insert(name.to_owned());
            let mut reply = ProtocolMessage::new(Action::Attached).with_channel(name);
            reply.channel_serial = Some(channel.serial());
            let mut reply_flags = modes;
            let mut backlog: Vec<Utf8Bytes> = Vec::new();
            let own = &self.connection.id;
            let window_ms =
                i64::try_from(self.hub.config.connection_state_ttl.as_millis()).unwrap_or(i64::MAX);
            let resume_window_start = now_ms().saturating_sub(window_ms);
            if let Some(serial) = frame.channel_serial.as_deref() {
                match channel.parse_serial(serial).and_then(|seq| {
                    channel
                        .frames_after(seq, resume_window_start)
                        .map(|frames| (seq, frames))
                }) {
                    Some((_, frames)) => {
                        reply_flags |= flags::RESUMED;
                        // The resume point, not the newest serial: the backlog that follows
                        // moves the client forward, so a drop mid-backlog loses nothing.
                        reply.channel_serial = Some(serial.to_owned());
                        backlog = frames
                            .filter(|stored| {
                                self.link.echo || stored.publisher.as_ref() != Some(own)
                            })
                            .map(|stored| stored.frame.clone())
                            .collect();
                    }
                    None => {
                        reply.error = Some(ErrorInfo::new(
                            90003,
                            400,
                            "Unable to recover channel (messages expired)",
                        ));
                    }
                }
            } else if let Some(rewind) = rewind {
                backlog = rewind.frames(&channel);
                reply.params = frame.params.clone();
            }
            if !backlog.is_empty() {
                reply_flags |= flags::HAS_BACKLOG;
            }
            let with_presence =
                !channel.presence.is_empty() && modes & flags::PRESENCE_SUBSCRIBE != 0;
            if with_presence {
                reply_flags |= flags::HAS_PRESENCE;
            }
            reply.flags = Some(reply_flags);
            self.send(&reply);
            if modes & flags::SUBSCRIBE != 0 {
                self.link.send_burst(backlog);
            }
            if with_presence {
                let frames = self.sync_frames(&channel);
                self.link.send_burst(frames);
            }
            self.hub.activate(&mut channel)
        };
        if let Some(details) = opened {
            self.hub.announce("channel.opened", details);
        }
    }

    fn detach(&mut self, frame: &ProtocolMessage) {
        let Some(name) = frame.channel.as_deref() else {
            return;
        };
        self.connection.state().attached.remove(name);
        lock(&self.subscribed).remove(name);
        self.hub.unsubscribe(name, &self.connection.id, &self.link);
        self.hub.leave_channel(name, &self.connection.id);
        self.send(&ProtocolMessage::new(Action::Detached).with_channel(name));
    }

    /// MESSAGE and PRESENCE carry a msgSerial and are answered with ACK or NACK; a frame
    /// re-sent after a resume (a msgSerial already seen) is answered again, not redone.
    fn acknowledged(&mut self, frame: &ProtocolMessage) {
        let serial = frame.msg_serial.unwrap_or(-1);
        let previous = {
            let state = self.connection.state();
            if serial >= 0 && serial < state.next_msg_serial {
                Some(
                    state
                        .recent_acks
                        .iter()
                        .find(|(seen, _)| *seen == serial)
                        .map(|(_, result)| result.clone())
                        .unwrap_or(Ok(Vec::new())),
                )
            } else {
                None
            }
        };
        let result = match (previous, serial.checked_add(1)) {
            (Some(result), _) => result,
            // The last serial there is: nothing could follow it.
            (None, None) => Err(ErrorInfo::new(
                40000,
                400,
                format!("Invalid msgSerial {serial}: out of range"),
            )),
            (None, Some(next_serial)) => {
                let result = if frame.action == Action::Message {
                    self.publish(frame, serial)
                } else {
                    self.presence(frame, serial)
                };
                let mut state = self.connection.state();
                state.next_msg_serial = next_serial;
                state.recent_acks.push_back((serial, result.clone()));
                if state.recent_acks.len() > RECENT_ACKS {
                    state.recent_acks.pop_front();
                }
                result
            }
        };
        if serial < 0 {
            return;
        }
        let mut reply = match result {
            Ok(serials) => {
                let mut ack = ProtocolMessage::new(Action::Ack);
                if frame.action == Action::Message {
                    ack.res = Some(vec![PublishResult { serials }]);
                }
                ack
            }
            Err(error) => ProtocolMessage::new(Action::Nack).with_error(error),
        };
        reply.msg_serial = Some(serial);
        reply.count = Some(1);
        self.send(&reply);
    }

    fn publish(&self, frame: &ProtocolMessage, serial: i64) -> AckResult {
        let name = frame.channel.as_deref().unwrap_or_default();
        check_channel_name(name)?;
        let identity = self.connection.state().identity.clone();
        if name == LIFECYCLE_CHANNEL || !identity.allows(name, Operation::Publish) {
            return Err(ErrorInfo::new(
                40160,
                401,
                "Unable to perform channel operation (permission denied)",
            ));
        }
        let messages = frame.messages.clone().unwrap_or_default();
        let messages = prepare_messages(messages, &identity, self.hub.config.max_message_bytes)?;
        let frame_id = format!("{}:{}", self.connection.id, serial);
        let published = self
            .hub
            .publish(name, messages, Some(&self.connection.id), &frame_id);
        Ok(published.serials)
    }

    fn presence(&self, frame: &ProtocolMessage, serial: i64) -> AckResult {
        let name = frame.channel.as_deref().unwrap_or_default();
        check_channel_name(name)?;
        let identity = self.connection.state().identity.clone();
        if name == LIFECYCLE_CHANNEL || !identity.allows(name, Operation::Presence) {
            return Err(ErrorInfo::new(
                40160,
                401,
                "Presence denied based on given capability",
            ));
        }
        let members = frame.presence.clone().unwrap_or_default();
        let total: usize = members.iter().map(PresenceMessage::size).sum();
        let limit = self.hub.config.max_message_bytes;
        if total > limit {
            return Err(ErrorInfo::new(
                40009,
                400,
                format!("Presence data too large: {total} bytes, the limit is {limit}"),
            ));
        }
        let channel = self.hub.channel(name);
        let own = self.connection.id.to_string();
        // Recorded before any member is applied: a later member of the same frame may be
        // refused, and the ones applied before it must still leave with the connection.
        self.connection
            .state()
            .presence_channels
            .insert(name.to_owned());
        for (index, incoming) in members.into_iter().enumerate() {
            let client_id = incoming
                .client_id
                .clone()
                .or_else(|| identity.client_id.clone().filter(|id| id != "*"))
                .ok_or_else(|| {
                    ErrorInfo::new(
                        91000,
                        400,
                        "Presence needs a clientId: connect with one or use enterClient",
                    )
                })?;
            if !identity.may_act_as(&client_id) {
                return Err(ErrorInfo::new(
                    40012,
                    400,
                    format!("Not allowed to act as clientId {client_id:?}"),
                ));
            }
            let action = match incoming.action {
                PresenceAction::Enter | PresenceAction::Present => PresenceAction::Enter,
                PresenceAction::Update => PresenceAction::Update,
                PresenceAction::Leave => PresenceAction::Leave,
                other => {
                    return Err(ErrorInfo::new(
                        40000,
                        400,
                        format!("Unknown presence action {}", other.code()),
                    ));
                }
            };
            let mut member = PresenceMessage::new(action);
            member.client_id = Some(client_id);
            member.connection_id = Some(own.clone());
            member.data = incoming.data;
            member.encoding = incoming.encoding;
            member.extras = incoming.extras;
            member.timestamp = Some(now_ms());
            member.id = Some(format!("{own}:{serial}:{index}"));
            let mut channel = lock(&channel);
            // ably-js re-enters with the member's stored id after every attach; the same
            // id means nothing changed, so nothing is relayed.
            let key = member.member_key();
            let unchanged = incoming.id.is_some()
                && channel
                    .presence
                    .get(&key)
                    .is_some_and(|present| present.id == incoming.id);
            if unchanged && action != PresenceAction::Leave {
                continue;
            }
            let most = self.hub.config.max_presence_members;
            if action != PresenceAction::Leave
                && !channel.presence.contains_key(&key)
                && channel.presence.len() >= most
            {
                return Err(ErrorInfo::new(
                    91003,
                    400,
                    format!("Maximum number of presence members on this channel ({most}) exceeded"),
                ));
            }
            channel.apply_presence(member);
        }
        Ok(Vec::new())
    }

    fn reauthorise(&mut self, frame: &ProtocolMessage) -> Flow {
        let Some(token) = frame.auth.as_ref().map(|auth| auth.access_token.as_str()) else {
            return Flow::Continue;
        };
        let identity = match self.hub.authority.check_token(token) {
            Ok(identity) => identity,
            Err(error) => {
                self.fatal(error);
                return Flow::Failed;
            }
        };
        {
            let mut state = self.connection.state();
            let old = state.identity.client_id.clone();
            let compatible = match (&old, &identity.client_id) {
                (Some(old), Some(new)) => old == new || new == "*",
                (Some(_), None) => false,
                (None, _) => true,
            };
            if !compatible {
                drop(state);
                self.fatal(ErrorInfo::new(
                    40102,
                    401,
                    "Incompatible credentials: the new token is for another clientId",
                ));
                return Flow::Failed;
            }
            let keep_client = identity.client_id.as_deref() == Some("*") && old.is_some();
            let mut identity = identity;
            if keep_client {
                identity.client_id = old;
            }
            self.token_timer = TokenTimer::for_identity(&identity);
            state.identity = identity;
        }
        // A token already past its renewal point (the same token again, say) is not asked
        // to be renewed again at once: only its expiry is left to wait for.
        self.renewal_requested = self
            .token_timer
            .is_some_and(|timer| timer.renew_at <= Instant::now());
        self.link
            .send(connected_frame(&self.hub, &self.connection, None));
        Flow::Continue
    }
}

/// An ATTACH's `params.rewind`: the last N messages, or those of the last span of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rewind {
    Messages(usize),
    Millis(i64),
}

impl Rewind {
    /// `"10"`, `"30s"`, `"2m"` or `"1h"`; anything else is refused with a message naming
    /// the field, never taken apart at a byte that is not a character boundary.
    pub fn parse(text: &str) -> Result<Self, ErrorInfo> {
        let invalid = |why: &str| {
            ErrorInfo::new(40000, 400, format!("Invalid params.rewind {text:?}: {why}"))
        };
        // Digits only: Rust's integer parsing would also take a sign.
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        if digits(text) {
            return text
                .parse::<usize>()
                .map(Self::Messages)
                .map_err(|_| invalid("the message count is too large"));
        }
        let (number, unit_ms) = match text.char_indices().last() {
            Some((at, 's')) => (&text[..at], 1_000),
            Some((at, 'm')) => (&text[..at], 60_000),
            Some((at, 'h')) => (&text[..at], 3_600_000),
            _ => {
                return Err(invalid(
                    "a message count, or a time span such as 30s, 2m or 1h",
                ));
            }
        };
        let number = Some(number)
            .filter(|number| digits(number))
            .and_then(|number| number.parse::<i64>().ok())
            .ok_or_else(|| invalid("the time span must be a whole number of s, m or h"))?;
        number
            .checked_mul(unit_ms)
            .map(Self::Millis)
            .ok_or_else(|| invalid("the time span is too long"))
    }

    fn frames(self, channel: &super::super::channel::Channel) -> Vec<Utf8Bytes> {
        match self {
            Self::Messages(count) => channel.rewind_count(count),
            Self::Millis(span) => channel.rewind_since(now_ms().saturating_sub(span)),
        }
    }
}

/// Checks size and clientId rules and fills the publisher's clientId (ably-protocol.md §4.3).
pub(crate) fn prepare_messages(
    messages: Vec<Message>,
    identity: &Identity,
    max_message_bytes: usize,
) -> Result<Vec<Message>, ErrorInfo> {
    let total: usize = messages.iter().map(Message::size).sum();
    if total > max_message_bytes {
        return Err(ErrorInfo::new(
            40009,
            400,
            format!("Message too large: {total} bytes, the limit is {max_message_bytes}"),
        ));
    }
    let own = identity.client_id.clone().filter(|id| id != "*");
    messages
        .into_iter()
        .map(|mut message| {
            match &message.client_id {
                Some(asked) if asked == "*" || !identity.may_act_as(asked) => {
                    return Err(ErrorInfo::new(
                        40012,
                        400,
                        format!("Invalid clientId {asked:?} for this connection"),
                    ));
                }
                Some(_) => {}
                None => message.client_id = own.clone(),
            }
            Ok(message)
        })
        .collect()
}
