//! The dashboard's whole state, owned by the app loop and changed only by `update`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use ratatui_textarea::TextArea;

use crate::protocol::events::{ConversationId, ConversationStatus};
use crate::protocol::names::{ChannelName, ClientId};

use super::alert::AlertFeed;
use super::board::Board;
use super::conversation::{Conversation, SlaLevel};
use super::health::Health;
use super::metrics::Metrics;
use super::notify::{NotifyLimiter, NotifyVia};
use super::outbox::Outbox;
use super::sla_clock::SlaClock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Inbox,
    Conversation,
    Composer,
    Suggestions,
    /// The supervisor's board, a view of its own.
    Board,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortMode {
    /// Breach > warning > longest waiting > unread > recent.
    Urgency,
    /// By customer name: rows stay where they are.
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
    ConfirmQuit,
    /// Something changed since the reply was started: send anyway, edit or discard
    /// (`AppState::guard_reasons` says what).
    SendGuard,
    /// How long to snooze, typed into `AppState::prompt`.
    Snooze,
}

/// Which conversations the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxView {
    /// Every conversation, snoozed and resolved ones below the open.
    All,
    Open,
    Snoozed,
    Resolved,
}

impl InboxView {
    pub fn next(self) -> Self {
        match self {
            Self::All => Self::Open,
            Self::Open => Self::Snoozed,
            Self::Snoozed => Self::Resolved,
            Self::Resolved => Self::All,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Open => "open",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
        }
    }

    fn shows(self, status: ConversationStatus) -> bool {
        match self {
            Self::All => true,
            Self::Open => status == ConversationStatus::Open,
            Self::Snoozed => status == ConversationStatus::Snoozed,
            Self::Resolved => status == ConversationStatus::Resolved,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub broker_id: String,
    pub broker_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestions {
    pub channel: ChannelName,
    pub replies: Vec<String>,
    pub from_web_app: bool,
    pub highlighted: usize,
}

/// A connection's state, as the dashboard speaks of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Initialized,
    Connecting,
    Connected,
    Disconnected,
    Suspended,
    Closing,
    Closed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardConnection {
    pub state: ConnectionStatus,
    pub reason: Option<String>,
    /// Reconnection attempts since the last time it was connected.
    pub attempts: u32,
    /// Polling REST history instead of WebSocket, and why.
    pub polling: Option<String>,
}

impl ShardConnection {
    pub fn new() -> Self {
        Self {
            state: ConnectionStatus::Initialized,
            reason: None,
            attempts: 0,
            polling: None,
        }
    }
}

impl Default for ShardConnection {
    fn default() -> Self {
        Self::new()
    }
}

pub struct AppState {
    pub me: Identity,
    pub read_only: bool,
    pub conversations: BTreeMap<ConversationId, Conversation>,
    /// The inbox rows in display order (recomputed by `update` when it changes).
    pub order: Vec<ConversationId>,
    pub sort: SortMode,
    pub filter: String,
    pub filter_editing: bool,
    pub selected: Option<ConversationId>,
    pub open: Option<ConversationId>,
    pub focus: Focus,
    pub composer: TextArea<'static>,
    /// When the composer last changed, for `typing:stop` after 2 s idle.
    pub typing_sent_ms: Option<i64>,
    pub last_keystroke_ms: i64,
    pub suggestions: Option<Suggestions>,
    pub canned: BTreeMap<String, String>,
    /// One entry per connection of the client.
    pub connections: HashMap<usize, ShardConnection>,
    /// Conversation channels currently attached.
    pub attached: std::collections::HashSet<String>,
    /// Replies not yet known to have arrived, and what each waits for.
    pub outbox: Outbox,
    pub popup: Option<Popup>,
    /// How far the help popup is scrolled.
    pub help_offset: usize,
    pub notice: Option<String>,
    pub now_ms: i64,
    pub dirty: bool,
    pub quit: bool,
    /// Times are shown at this UTC offset (the machine's, read at start).
    pub utc_offset_s: i32,
    pub board: Board,
    pub alerts: AlertFeed,
    pub metrics: Metrics,
    pub health: Health,
    pub sla_clock: SlaClock,
    /// Where notifications go (none: off).
    pub notify_via: Vec<NotifyVia>,
    pub notify_limiter: NotifyLimiter,
    pub inbox_view: InboxView,
    /// The reply in the composer was started then, in that conversation: what arrived
    /// since is what the send guard shows.
    pub compose_started: Option<(ConversationId, i64)>,
    /// Our presence says `composing: true`.
    pub composing_sent: bool,
    /// The composer writes a private note, not a reply.
    pub note_mode: bool,
    /// Ask before sending when something arrived since the reply was started.
    pub guard: bool,
    pub guard_reasons: Vec<String>,
    /// The send guard may offer to pause the AI first.
    pub guard_offers_pause: bool,
    /// Text typed into a prompt popup (snooze).
    pub prompt: String,
}

impl AppState {
    pub fn new(
        me: Identity,
        read_only: bool,
        canned: BTreeMap<String, String>,
        now_ms: i64,
    ) -> Self {
        Self {
            me,
            read_only,
            conversations: BTreeMap::new(),
            order: Vec::new(),
            sort: SortMode::Urgency,
            filter: String::new(),
            filter_editing: false,
            selected: None,
            open: None,
            focus: Focus::Inbox,
            composer: new_composer(),
            typing_sent_ms: None,
            last_keystroke_ms: 0,
            suggestions: None,
            canned,
            connections: HashMap::new(),
            attached: std::collections::HashSet::new(),
            outbox: Outbox::default(),
            popup: None,
            help_offset: 0,
            notice: None,
            now_ms,
            dirty: true,
            quit: false,
            utc_offset_s: 0,
            board: Board::default(),
            alerts: AlertFeed::default(),
            metrics: Metrics::default(),
            health: Health::default(),
            sla_clock: SlaClock::default(),
            notify_via: Vec::new(),
            notify_limiter: NotifyLimiter::new(),
            inbox_view: InboxView::All,
            compose_started: None,
            composing_sent: false,
            note_mode: false,
            guard: true,
            guard_reasons: Vec::new(),
            guard_offers_pause: false,
            prompt: String::new(),
        }
    }

    pub fn my_client_id(&self) -> ClientId {
        ClientId::broker(&self.me.broker_id)
    }

    pub fn open_conversation(&self) -> Option<&Conversation> {
        self.open.as_ref().and_then(|id| self.conversations.get(id))
    }

    /// The connection state shown to the user: the worst of the client's connections.
    pub fn connection_summary(&self) -> (ConnectionStatus, u32) {
        let mut worst = (ConnectionStatus::Connected, 0);
        if self.connections.is_empty() {
            return (ConnectionStatus::Connecting, 0);
        }
        for connection in self.connections.values() {
            let rank = |state: ConnectionStatus| match state {
                ConnectionStatus::Connected => 0,
                ConnectionStatus::Initialized | ConnectionStatus::Connecting => 1,
                ConnectionStatus::Disconnected => 2,
                ConnectionStatus::Suspended => 3,
                ConnectionStatus::Closing | ConnectionStatus::Closed => 4,
                ConnectionStatus::Failed => 5,
            };
            if rank(connection.state) > rank(worst.0) {
                worst = (connection.state, connection.attempts);
            }
        }
        worst
    }

    /// Why a connection polls REST history instead of using WebSocket, if one does.
    pub fn polling_reason(&self) -> Option<&str> {
        let mut shards: Vec<_> = self.connections.iter().collect();
        shards.sort_by_key(|(shard, _)| **shard);
        shards
            .into_iter()
            .find_map(|(_, connection)| connection.polling.as_deref())
    }

    /// The most urgent conversation (breach, warning, longest waiting…) with unread
    /// messages, whatever the inbox's sort and filter.
    pub fn most_urgent_unread(&self) -> Option<ConversationId> {
        self.conversations
            .values()
            .filter(|conversation| conversation.unread > 0)
            .max_by(|a, b| {
                urgency_key(a)
                    .cmp(&urgency_key(b))
                    .then_with(|| b.id.cmp(&a.id))
            })
            .map(|conversation| conversation.id.clone())
    }

    fn filter_parts(&self) -> (bool, String) {
        let filter = self.filter.trim().to_lowercase();
        match filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_owned()),
            None => (false, filter),
        }
    }

    fn shown(view: InboxView, conversation: &Conversation, invert: bool, needle: &str) -> bool {
        if !view.shows(conversation.handling.status) {
            return false;
        }
        if needle.is_empty() {
            return true;
        }
        let haystack = conversation.search_text();
        haystack.contains(needle) != invert
    }

    fn compare(sort: SortMode, a: &Conversation, b: &Conversation) -> Ordering {
        match sort {
            SortMode::Urgency => urgency_key(b)
                .cmp(&urgency_key(a))
                .then_with(|| a.id.cmp(&b.id)),
            SortMode::Name => a
                .title()
                .to_lowercase()
                .cmp(&b.title().to_lowercase())
                .then_with(|| a.id.cmp(&b.id)),
        }
    }

    /// Recomputes the inbox order and keeps the selection valid.
    pub fn reorder(&mut self) {
        let (invert, needle) = self.filter_parts();
        let view = self.inbox_view;
        let mut rows: Vec<&Conversation> = self
            .conversations
            .values()
            .filter(|conversation| Self::shown(view, conversation, invert, &needle))
            .collect();
        let sort = self.sort;
        rows.sort_by(|a, b| Self::compare(sort, a, b));
        self.order = rows
            .into_iter()
            .map(|conversation| conversation.id.clone())
            .collect();
        self.keep_selection();
        self.refresh_board();
    }

    /// Moves one conversation to its place after something about it changed: a binary
    /// search instead of a full sort, for the common case of one event at a time.
    pub fn reposition(&mut self, id: &ConversationId) {
        if let Some(at) = self.order.iter().position(|row| row == id) {
            self.order.remove(at);
        }
        let (invert, needle) = self.filter_parts();
        if let Some(conversation) = self.conversations.get(id)
            && Self::shown(self.inbox_view, conversation, invert, &needle)
        {
            let sort = self.sort;
            let conversations = &self.conversations;
            let index = self.order.partition_point(|other| {
                conversations
                    .get(other)
                    .is_some_and(|other| Self::compare(sort, other, conversation) == Ordering::Less)
            });
            self.order.insert(index, id.clone());
        }
        self.keep_selection();
        // The board's order costs a scan per event: kept only while it is on screen, and
        // sorted once when it comes back.
        if self.focus == Focus::Board {
            self.board
                .reposition(id, &self.conversations, &self.sla_clock);
        } else {
            self.board.stale = true;
        }
    }

    /// Sorts the board now if it is on screen, or marks it for sorting when it comes back.
    pub fn refresh_board(&mut self) {
        if self.focus == Focus::Board {
            self.board.reorder(&self.conversations, &self.sla_clock);
        } else {
            self.board.stale = true;
        }
    }

    fn keep_selection(&mut self) {
        let selection_visible = self
            .selected
            .as_ref()
            .is_some_and(|id| self.order.contains(id));
        if !selection_visible {
            self.selected = self.order.first().cloned();
        }
    }
}

/// Bigger is more urgent: open before snoozed and resolved, then breach, warning, waiting
/// longest, unread, most recent.
fn urgency_key(conversation: &Conversation) -> (bool, u8, i64, usize, i64) {
    let sla = match conversation.sla_level() {
        Some(SlaLevel::Breach) => 2,
        Some(SlaLevel::Warning) => 1,
        None => 0,
    };
    // Waiting longer = earlier start; None sorts below any waiting conversation.
    let waiting = conversation
        .waiting_since_ms
        .map_or(i64::MIN, |since| -since);
    (
        conversation.handling.is_open(),
        sla,
        waiting,
        conversation.unread,
        conversation.last_activity_ms,
    )
}

pub fn new_composer() -> TextArea<'static> {
    let mut composer = TextArea::default();
    composer.set_placeholder_text("Write a reply — Enter sends, Alt+Enter adds a line");
    composer.set_cursor_line_style(ratatui::style::Style::default());
    composer.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    composer
}
