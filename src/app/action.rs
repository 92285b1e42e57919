//! Everything that can change the dashboard's state: user intents (commands and raw keys
//! for the text fields), network events parsed once into the conversation vocabulary
//! (`intake`), results of effects, and the clock.

use crossterm::event::KeyEvent;

use crate::protocol::PresenceAction;
use crate::protocol::events::{ConversationEvent, ConversationId};
use crate::protocol::names::{ChannelName, ClientId};
use crate::realtime::{ClientError, PublishAck};
use crate::store::OutboxEntry;

use super::state::ConnectionStatus;

/// What a key asks for; bound in the keymap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    NextPane,
    PreviousPane,
    Down,
    Up,
    Open,
    FocusComposer,
    /// Reply, or retry failed replies when there are some.
    Reply,
    Back,
    NextConversation,
    PreviousConversation,
    MostUrgent,
    Filter,
    ToggleSort,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Send,
    Newline,
    FocusSuggestions,
    /// Quick reply N (1-based), or the highlighted one.
    PickSuggestion(Option<u8>),
    /// `broker:claim` on the selected or open conversation; `Release` lets it go.
    Claim,
    Release,
    /// `ai:pause` / `ai:resume` on the selected or open conversation.
    PauseAi,
    ResumeAi,
    /// Asks how long, then `status:snoozed` (again on a snoozed one: open).
    Snooze,
    /// `status:resolved` (again on a resolved one: open).
    Resolve,
    /// Write a private note for the brokers.
    Note,
    /// The inbox lists all, open, snoozed or resolved conversations.
    InboxView,
    /// The supervisor's board, or back from it.
    Board,
    /// On the board: the next panel (table, alerts, charts, health) on a narrow screen.
    NextPanel,
    Help,
    Quit,
}

/// A conversation event as it arrived, parsed once; its text is moved, not copied, on to
/// the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub channel: String,
    /// The Ably message id (not the event's own `messageId`).
    pub wire_id: String,
    /// The event's own time, or the server's when the event has none.
    pub at_ms: Option<i64>,
    pub event: ConversationEvent,
}

/// A presence change on a conversation channel, its data read once.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceSeen {
    pub channel: String,
    pub client_id: ClientId,
    pub action: PresenceAction,
    /// The member's `name`, as sent (cleaned where it is kept).
    pub name: Option<String>,
    /// `status: "away"`.
    pub away: bool,
    /// `viewing`, for brokers (absent means viewing).
    pub viewing: Option<bool>,
    /// `composing`, for brokers: writing a reply.
    pub composing: Option<bool>,
    pub timestamp: Option<i64>,
}

impl PresenceSeen {
    pub fn present(&self) -> bool {
        !matches!(self.action, PresenceAction::Leave | PresenceAction::Absent)
    }
}

#[derive(Debug)]
pub enum Action {
    Command(Command),
    ComposerKey(KeyEvent),
    FilterKey(KeyEvent),
    PopupKey(KeyEvent),
    /// One of the client's connections changed state (`shard` numbers them).
    Connection {
        shard: usize,
        state: ConnectionStatus,
        reason: Option<String>,
    },
    /// A connection began polling REST history (and why), or is back on WebSocket (`None`).
    Transport {
        shard: usize,
        polling: Option<String>,
    },
    /// A channel was attached, detached or failed (`failure` says why it failed).
    Watch {
        channel: String,
        attached: bool,
        failure: Option<String>,
    },
    /// The lifecycle channel announced a new conversation channel.
    Opened {
        channel: String,
    },
    Incoming(Incoming),
    Presence(PresenceSeen),
    /// Continuity was lost and the gap was filled from history.
    GapFilled {
        channel: String,
        recovered: usize,
    },
    /// Continuity was lost and history could not fill the gap.
    ContinuityLost {
        channel: String,
        reason: String,
    },
    /// Conversations found by discovery.
    Discovered(Vec<String>),
    /// Recent or older history for a channel, oldest first.
    History {
        channel: ChannelName,
        messages: Vec<Incoming>,
        older: bool,
        complete: bool,
    },
    HistoryFailed {
        channel: ChannelName,
        reason: String,
    },
    Suggestions {
        channel: ChannelName,
        replies: Vec<String>,
        from_web_app: bool,
    },
    /// A reply's publish finished; the reducer decides what follows.
    ReplySettled {
        message_id: String,
        result: Result<PublishAck, ClientError>,
    },
    /// Replies found in the outbox at start.
    OutboxRestored(Vec<OutboxEntry>),
    Drafts(Vec<(String, String)>),
    Tick {
        now_ms: i64,
    },
    Resized,
    /// Open this conversation (the screen-reader prompt names it).
    OpenConversation(ConversationId),
    /// Replace the composer's text (the screen-reader prompt types whole lines).
    SetDraft(String),
    /// Pasted text (bracketed paste): typed into the composer, never run as keys.
    Paste(String),
    /// The alerts of the last hour, from the store at start (newest first).
    AlertsRestored(Vec<super::alert::Alert>),
    /// A connection's health figures (cumulative).
    Health {
        shard: usize,
        stats: crate::realtime::ConnectionStats,
    },
}
