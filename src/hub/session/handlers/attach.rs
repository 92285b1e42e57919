//! ATTACH and DETACH: modes, resume from a channel serial, rewind, presence sync.

use axum::extract::ws::Utf8Bytes;

use crate::hub::clock::now_ms;
use crate::hub::state::lock;
use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage, flags};

use super::{Session, check_channel_name};

impl Session {
    pub(super) fn attach(&mut self, frame: &ProtocolMessage) {
        let Some(name) = frame.channel.as_deref() else {
            return;
        };
        let checked = check_channel_name(name).and_then(|()| {
            let rewind = frame
                .params
                .as_ref()
                .and_then(|params| params.get("rewind"))
                .map(|text| Rewind::parse(text))
                .transpose()?;
            let modes = self.granted_modes(name, frame)?;
            self.hold_channel(name, modes)?;
            Ok((rewind, modes))
        });
        let (rewind, modes) = match checked {
            Ok(checked) => checked,
            Err(error) => return self.channel_error(name, error),
        };
        let channel = self.hub.channel(name);
        let opened = {
            let mut channel = lock(&channel);
            channel.subscribers.insert(
                self.connection.id.clone(),
                crate::hub::channel::Subscription {
                    outlet: self.outlet.clone(),
                    modes,
                },
            );
            lock(&self.subscribed).insert(name.to_owned());
            let mut reply = ProtocolMessage::new(ProtocolAction::Attached).with_channel(name);
            reply.channel_serial = Some(channel.serial());
            let backlog = self.backlog(&channel, frame, rewind, &mut reply);
            let mut reply_flags = modes | reply.flags.unwrap_or(0);
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
                self.outlet.send_burst(backlog);
            }
            if with_presence {
                let frames = self.sync_frames(&channel);
                self.outlet.send_burst(frames);
            }
            self.hub.activate(&mut channel)
        };
        if let Some(details) = opened {
            self.hub.announce("channel.opened", details);
        }
    }

    /// The modes asked for (or the default ones) that the capability allows.
    fn granted_modes(&self, name: &str, frame: &ProtocolMessage) -> Result<u64, ErrorInfo> {
        let allowed = self.allowed_modes(name);
        if allowed == 0 {
            return Err(ErrorInfo::new(
                40160,
                401,
                format!("Channel denied access based on given capability ({name})"),
            ));
        }
        let requested = match frame.flags() & flags::MODES {
            0 => flags::DEFAULT_MODES,
            modes => modes,
        };
        match requested & allowed {
            0 => Err(ErrorInfo::new(
                40160,
                401,
                format!("None of the requested modes are allowed on {name}"),
            )),
            modes => Ok(modes),
        }
    }

    /// Counts the channel against this connection's limit (90010 past it).
    fn hold_channel(&self, name: &str, modes: u64) -> Result<(), ErrorInfo> {
        let mut state = self.connection.state();
        let limit = self.hub.config.max_channels_per_connection;
        if !state.attached.contains_key(name) && state.attached.len() >= limit {
            return Err(ErrorInfo::new(
                90010,
                400,
                format!("Maximum number of channels per connection ({limit}) exceeded"),
            ));
        }
        state.attached.insert(name.to_owned(), modes);
        Ok(())
    }

    /// What follows ATTACHED: the frames after a resumed channel serial (marking the reply
    /// RESUMED), or an error when they are gone; otherwise the rewind asked for.
    fn backlog(
        &self,
        channel: &crate::hub::channel::Channel,
        frame: &ProtocolMessage,
        rewind: Option<Rewind>,
        reply: &mut ProtocolMessage,
    ) -> Vec<Utf8Bytes> {
        let Some(serial) = frame.channel_serial.as_deref() else {
            return match rewind {
                Some(rewind) => {
                    reply.params = frame.params.clone();
                    rewind.frames(channel)
                }
                None => Vec::new(),
            };
        };
        let window_ms =
            i64::try_from(self.hub.config.connection_state_ttl.as_millis()).unwrap_or(i64::MAX);
        let resume_window_start = now_ms().saturating_sub(window_ms);
        let frames = channel
            .parse_serial(serial)
            .and_then(|seq| channel.frames_after(seq, resume_window_start));
        let Some(frames) = frames else {
            reply.error = Some(ErrorInfo::new(
                90003,
                400,
                "Unable to recover channel (messages expired)",
            ));
            return Vec::new();
        };
        reply.flags = Some(flags::RESUMED);
        // The resume point, not the newest serial: the backlog that follows moves the
        // client forward, so a drop mid-backlog loses nothing.
        reply.channel_serial = Some(serial.to_owned());
        let own = &self.connection.id;
        frames
            .filter(|stored| self.outlet.echo || stored.publisher.as_ref() != Some(own))
            .map(|stored| stored.frame.clone())
            .collect()
    }

    pub(super) fn detach(&mut self, frame: &ProtocolMessage) {
        let Some(name) = frame.channel.as_deref() else {
            return;
        };
        self.connection.state().attached.remove(name);
        lock(&self.subscribed).remove(name);
        self.hub
            .unsubscribe(name, &self.connection.id, &self.outlet);
        self.hub.leave_channel(name, &self.connection.id);
        self.send(&ProtocolMessage::new(ProtocolAction::Detached).with_channel(name));
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

    fn frames(self, channel: &crate::hub::channel::Channel) -> Vec<Utf8Bytes> {
        match self {
            Self::Messages(count) => channel.rewind_count(count),
            Self::Millis(span) => channel.rewind_since(now_ms().saturating_sub(span)),
        }
    }
}
