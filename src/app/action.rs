//! Everything that can change the dashboard's state: user intents (commands and raw keys
//! for the text fields), network events, results of effects, and the clock.

use crossterm::event::KeyEvent;

use crate::realtime::{InboundMessage, NetEvent};
use crate::store::OutboxEntry;

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
    Help,
    Quit,
}

// Actions are built and consumed one at a time, never stored in bulk: boxing the large
// network variant would only add an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Action {
    Command(Command),
    ComposerKey(KeyEvent),
    FilterKey(KeyEvent),
    PopupKey(KeyEvent),
    Net(NetEvent),
    /// Conversations found by discovery.
    Discovered(Vec<String>),
    /// Recent or older history for a channel, oldest first.
    History {
        channel: String,
        messages: Vec<InboundMessage>,
        older: bool,
        complete: bool,
    },
    HistoryFailed {
        channel: String,
        reason: String,
    },
    Suggestions {
        channel: String,
        replies: Vec<String>,
        from_web_app: bool,
    },
    /// A reply's publish finished.
    Published {
        message_id: String,
        result: Result<(), crate::realtime::ClientError>,
    },
    /// Replies found in the outbox at start.
    OutboxRestored(Vec<OutboxEntry>),
    Drafts(Vec<(String, String)>),
    Tick {
        now_ms: i64,
    },
    Resized,
    /// Open this conversation (the screen-reader prompt names it).
    OpenConversation(crate::protocol::events::ConversationId),
    /// Replace the composer's text (the screen-reader prompt types whole lines).
    SetDraft(String),
    /// Pasted text (bracketed paste): typed into the composer, never run as keys.
    Paste(String),
}
