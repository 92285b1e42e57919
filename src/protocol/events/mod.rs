//! The conversation vocabulary shared with the web app (the README's event table), parsed
//! exactly once from a message's name and decoded data. Nothing past this point matches on
//! event-name strings. An unknown name or a payload missing what its name promises becomes a
//! typed variant that keeps what arrived, so it can be shown, not lost.

mod parse;
mod wire;

use serde_json::Value;

pub use super::names::ConversationId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Customer,
    Broker,
    Ai,
}

impl Actor {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "customer" | "user" => Some(Self::Customer),
            "broker" => Some(Self::Broker),
            "ai" => Some(Self::Ai),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Broker => "broker",
            Self::Ai => "ai",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Critical,
}

/// Where a conversation stands on the brokers' desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationStatus {
    Open,
    Snoozed,
    Resolved,
}

impl ConversationStatus {
    pub fn word(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConversationEvent {
    UserMessage {
        message_id: String,
        content: String,
    },
    AiMessage {
        message_id: String,
        content: String,
        persona: Option<String>,
        queue_duration_ms: Option<u64>,
        ai_duration_ms: Option<u64>,
    },
    BrokerMessage {
        message_id: String,
        content: String,
        broker_id: String,
        broker_name: Option<String>,
    },
    Typing {
        started: bool,
        actor: Actor,
        broker_id: Option<String>,
    },
    Read {
        message_id: String,
        read_at: Option<i64>,
        actor: Actor,
        /// Who read, when a broker did.
        broker_id: Option<String>,
    },
    Sla {
        violation: bool,
        threshold_ms: u64,
        actual_ms: u64,
        severity: Severity,
    },
    SuggestionSelected {
        suggestion: String,
        persona: Option<String>,
    },
    /// `broker:claim` / `broker:release`: the owner is the first claim since the last
    /// release, in channel order.
    Claim {
        released: bool,
        broker_id: String,
        name: Option<String>,
    },
    /// `ai:pause` / `ai:resume`: the AI worker sends no `message:ai` while paused.
    AiPause {
        paused: bool,
        broker_id: String,
        reason: Option<String>,
    },
    /// `status:open` / `status:snoozed` / `status:resolved`.
    Status {
        status: ConversationStatus,
        broker_id: String,
        /// Snoozed until (ms); absent: until the customer writes.
        until_ms: Option<i64>,
    },
    /// A private note between brokers, on `notes:conversation:{id}`.
    Note {
        note_id: String,
        content: String,
        broker_id: String,
        broker_name: Option<String>,
    },
    /// A name outside the vocabulary, with its payload as it arrived.
    Unknown {
        name: String,
        data: Value,
    },
    /// A known name whose payload lacks what the name promises.
    Malformed {
        name: String,
        data: Value,
        problem: String,
    },
}

/// The end of the year 9999 in ms since the epoch. Times and durations from the wire are
/// remote input: outside 0 to this they are ignored, so arithmetic on them (waiting times,
/// deadlines) can never overflow.
pub const LATEST_PLAUSIBLE_MS: i64 = 253_402_300_799_999;

/// A remote time (ms since epoch) when it is plausible.
pub fn plausible_ms(ms: i64) -> Option<i64> {
    (0..=LATEST_PLAUSIBLE_MS).contains(&ms).then_some(ms)
}

/// Every event carries `timestamp` (ms since epoch) from its publisher.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    pub event: ConversationEvent,
    pub timestamp: Option<i64>,
}

#[cfg(test)]
mod tests;
