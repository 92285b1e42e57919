//! What the reducer asks the outside world to do; executed by the app loop.

use serde_json::Value;

use crate::store::OutboxEntry;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Attach {
        channel: String,
    },
    /// Publish an event that needs no tracking (typing, read receipts, picked suggestions).
    Publish {
        channel: String,
        name: String,
        data: Value,
    },
    /// Write a reply to the outbox, then publish it with its message id.
    SendReply(OutboxEntry),
    /// A reply left in the outbox by an earlier run: sent again unless the channel's
    /// history shows it arrived (the server forgets ids after a while).
    ResendReply(OutboxEntry),
    /// Our own reply came back from the channel: it arrived; the outbox can forget it.
    Delivered {
        message_id: String,
    },
    EnterPresence {
        channel: String,
        data: Value,
    },
    LeavePresence {
        channel: String,
    },
    FetchHistory {
        channel: String,
        before_ms: Option<i64>,
    },
    FetchSuggestions {
        channel: String,
        conversation_id: String,
        persona: String,
    },
    SaveDraft {
        channel: String,
        text: String,
    },
    Bell,
    Quit,
}
