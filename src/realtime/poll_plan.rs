//! When the polling transport asks for what: pure scheduling, time passed in.
//!
//! Every watched channel's history is read on an interval that follows what the broker
//! needs: 1 s for the conversation on screen, 2 s for a channel that had a message in the
//! last minute, 10 s for the rest; presence every 60 s (5 s for the one on screen). Ably
//! limits REST requests per account (`apiRequests.maxRate`, refused with 42918 / HTTP 429
//! when exceeded), so one client never asks more than `max_requests_per_sec` (default 25)
//! whatever the number of channels: a token bucket, one token per request, one second of
//! burst.
//!
//! The arithmetic for 200 channels, 20 of them active, in requests a second: the one on
//! screen 1, its presence 0.2, the other active ones 19 / 2 s = 9.5, the idle ones
//! 180 / 10 s = 18, presence 199 / 60 s ≈ 3.3; in all about 32 wanted. At 25 a second the
//! idle channels get what is left, about 11 a second, so each is read about every 16 s.
//! Due requests go oldest first, so a stretched channel is never starved. With 50 channels
//! nothing stretches: about 10 requests a second. A 429 halves the budget; it doubles back
//! every 30 s without one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::transport::PollTiming;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PollKind {
    Messages,
    Presence,
}

#[derive(Debug, Clone, Copy)]
struct Due {
    at: Instant,
    in_flight: bool,
}

impl Due {
    fn now(now: Instant) -> Self {
        Self {
            at: now,
            in_flight: false,
        }
    }
}

#[derive(Debug)]
struct Entry {
    messages: Due,
    presence: Due,
    last_message: Option<Instant>,
}

impl Entry {
    fn due_mut(&mut self, kind: PollKind) -> &mut Due {
        match kind {
            PollKind::Messages => &mut self.messages,
            PollKind::Presence => &mut self.presence,
        }
    }
}

/// A quiet spell after a 429 before the budget doubles back.
const THROTTLE_RECOVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct PollPlan {
    timing: PollTiming,
    channels: HashMap<String, Entry>,
    focused: Option<String>,
    tokens: f64,
    rate: f64,
    refilled: Instant,
    throttled_at: Option<Instant>,
}

impl PollPlan {
    pub fn new(timing: PollTiming, now: Instant) -> Self {
        let rate = timing.max_requests_per_sec.max(0.1);
        Self {
            timing,
            channels: HashMap::new(),
            focused: None,
            tokens: rate,
            rate,
            refilled: now,
            throttled_at: None,
        }
    }

    /// A channel to poll: its messages due at once, its presence after the messages of
    /// the channels added with it.
    pub fn add(&mut self, channel: &str, now: Instant) {
        let presence_after = self.timing.active;
        self.channels.entry(channel.to_owned()).or_insert(Entry {
            messages: Due::now(now),
            presence: Due::now(now + presence_after),
            last_message: None,
        });
    }

    pub fn remove(&mut self, channel: &str) {
        self.channels.remove(channel);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// The conversation on screen is polled fastest; it is due at once when it changes.
    pub fn focus(&mut self, channel: Option<&str>, now: Instant) {
        self.focused = channel.map(str::to_owned);
        if let Some(entry) = channel.and_then(|name| self.channels.get_mut(name)) {
            entry.messages.at = entry.messages.at.min(now);
            entry.presence.at = entry.presence.at.min(now);
        }
    }

    /// What to ask for now, oldest due first, within the budget; each is in flight until
    /// `done` or `failed`.
    pub fn take_due(&mut self, now: Instant) -> Vec<(String, PollKind)> {
        self.refill(now);
        let mut due: Vec<(Instant, &String, PollKind)> = Vec::new();
        for (name, entry) in &self.channels {
            for (kind, slot) in [
                (PollKind::Messages, &entry.messages),
                (PollKind::Presence, &entry.presence),
            ] {
                if !slot.in_flight && slot.at <= now {
                    due.push((slot.at, name, kind));
                }
            }
        }
        due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let affordable = self.tokens.floor().max(0.0) as usize;
        let chosen: Vec<(String, PollKind)> = due
            .into_iter()
            .take(affordable)
            .map(|(_, name, kind)| (name.clone(), kind))
            .collect();
        for (name, kind) in &chosen {
            if let Some(entry) = self.channels.get_mut(name) {
                entry.due_mut(*kind).in_flight = true;
            }
        }
        self.tokens -= chosen.len() as f64;
        chosen
    }

    /// An answer came: the next ask follows the channel's interval.
    pub fn done(&mut self, channel: &str, kind: PollKind, now: Instant, delivered: usize) {
        let focused = self.focused.as_deref() == Some(channel);
        let timing = self.timing.clone();
        let Some(entry) = self.channels.get_mut(channel) else {
            return;
        };
        if delivered > 0 {
            entry.last_message = Some(now);
        }
        let active = entry
            .last_message
            .is_some_and(|at| now.duration_since(at) < timing.idle_after);
        let interval = match (kind, focused, active) {
            (PollKind::Messages, true, _) => timing.focused,
            (PollKind::Messages, false, true) => timing.active,
            (PollKind::Messages, false, false) => timing.idle,
            (PollKind::Presence, true, _) => timing.active.max(timing.focused) * 5 / 2,
            (PollKind::Presence, false, _) => timing.presence,
        };
        let due = entry.due_mut(kind);
        due.in_flight = false;
        due.at = now + interval;
    }

    /// A request failed; `throttled` when the server said too many (429): the budget halves.
    pub fn failed(&mut self, channel: &str, kind: PollKind, now: Instant, throttled: bool) {
        if throttled {
            self.rate = (self.rate / 2.0).max(0.5);
            self.tokens = self.tokens.min(self.rate);
            self.throttled_at = Some(now);
        }
        self.done(channel, kind, now, 0);
    }

    /// Requests per second allowed now.
    #[cfg(test)]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// When something next falls due (or the budget has a token again).
    pub fn next_wake(&self, now: Instant) -> Option<Instant> {
        let earliest = self
            .channels
            .values()
            .flat_map(|entry| [entry.messages, entry.presence])
            .filter(|due| !due.in_flight)
            .map(|due| due.at)
            .min()?;
        if self.tokens >= 1.0 {
            return Some(earliest);
        }
        let refill = Duration::from_secs_f64((1.0 - self.tokens) / self.rate);
        Some(earliest.max(now + refill))
    }

    fn refill(&mut self, now: Instant) {
        let ceiling = self.timing.max_requests_per_sec.max(0.1);
        if let Some(at) = self.throttled_at
            && now.duration_since(at) >= THROTTLE_RECOVERY
        {
            self.rate = (self.rate * 2.0).min(ceiling);
            self.throttled_at = (self.rate < ceiling).then_some(now);
        }
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        // One second of burst at most.
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
    }
}

#[cfg(test)]
mod tests;
