//! ATTACH and DETACH: modes, resume from a channel serial, rewind, presence sync.

use axum::extract::ws::Utf8Bytes;

use crate::hub::clock::now_ms;
use crate::hub::state::lock;
use crate::protocol::{Action, ErrorInfo, ProtocolMessage, flags};

use super::{Session, check_channel_name};

impl Session {
    pub(super) fn attach(&mut self, frame: &ProtocolMessage) {
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
                crate::hub::channel::Subscription {
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

    pub(super) fn detach(&mut self, frame: &ProtocolMessage) {
        let Some(name) = frame.channel.as_deref() else {
            return;
        };
        self.connection.state().attached.remove(name);
        lock(&self.subscribed).remove(name);
        self.hub.unsubscribe(name, &self.connection.id, &self.link);
        self.hub.leave_channel(name, &self.connection.id);
        self.send(&ProtocolMessage::new(Action::Detached).with_channel(name));
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
