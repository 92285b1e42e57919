//! What the reducer asks the outside world to do; performed by the session's executor,
//! whose results come back as actions.

use crate::protocol::events::TimedEvent;
use crate::protocol::names::ChannelName;
use crate::store::OutboxEntry;

use super::alert::Alert;
use super::notify::NotifyVia;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Attach {
        channel: ChannelName,
    },
    /// Publish an event that needs no tracking (typing, read receipts, picked suggestions).
    Publish {
        channel: ChannelName,
        event: TimedEvent,
    },
    /// Write a reply to the outbox, then publish it with its message id.
    SendReply(OutboxEntry),
    /// Publish a reply already in the outbox again, with the same id (after the
    /// connection came back).
    PublishReply(OutboxEntry),
    /// A reply left in the outbox by an earlier run: sent again unless the channel's
    /// history shows it arrived (the server forgets ids after a while).
    ResendReply(OutboxEntry),
    /// The reply arrived or was refused: the store forgets it.
    ForgetReply {
        message_id: String,
    },
    /// The conversation on screen changed: asked for most often while polling.
    Focus {
        channel: ChannelName,
    },
    EnterPresence {
        channel: ChannelName,
        data: serde_json::Value,
    },
    LeavePresence {
        channel: ChannelName,
    },
    /// New presence data on a channel already entered (viewing, composing).
    UpdatePresence {
        channel: ChannelName,
        data: serde_json::Value,
    },
    FetchHistory {
        channel: ChannelName,
        before_ms: Option<i64>,
    },
    FetchSuggestions {
        channel: ChannelName,
        conversation_id: String,
        persona: String,
    },
    SaveDraft {
        channel: ChannelName,
        text: String,
    },
    /// Keep an alert (new, or changed) in the store, for a restart and for reports.
    RecordAlert(Alert),
    /// A bell or desktop notification, its text already cleaned.
    Notify {
        via: Vec<NotifyVia>,
        title: String,
        body: String,
    },
}

impl Effect {
    /// Whether it would publish anything (a message or presence): never in read-only mode.
    pub fn publishes(&self) -> bool {
        matches!(
            self,
            Self::Publish { .. }
                | Self::SendReply(_)
                | Self::PublishReply(_)
                | Self::ResendReply(_)
                | Self::EnterPresence { .. }
                | Self::LeavePresence { .. }
                | Self::UpdatePresence { .. }
        )
    }
}
