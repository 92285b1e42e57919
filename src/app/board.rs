//! The supervisor's board: every conversation in one table, in an order and under a filter
//! of its own (the inbox keeps its own). The order is kept up to date one conversation at a
//! time: an event moves its row by a binary search instead of sorting the whole floor.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::protocol::events::ConversationId;

use super::conversation::{Conversation, Sender, SlaLevel};
use super::sla_clock::SlaClock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardSort {
    /// Breaches, then warnings, each longest waiting first.
    Urgency,
    /// The next SLA deadline first; conversations not waiting last.
    Deadline,
    /// Longest waiting first; conversations not waiting last.
    Waiting,
    Name,
}

impl BoardSort {
    pub fn next(self) -> Self {
        match self {
            Self::Urgency => Self::Deadline,
            Self::Deadline => Self::Waiting,
            Self::Waiting => Self::Name,
            Self::Name => Self::Urgency,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Self::Urgency => "most urgent first",
            Self::Deadline => "by deadline",
            Self::Waiting => "longest waiting first",
            Self::Name => "by name",
        }
    }
}

/// What fills the board's main area on a narrow terminal (a wide one shows them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardPanel {
    Table,
    Feed,
    Charts,
    Health,
}

impl BoardPanel {
    pub fn next(self) -> Self {
        match self {
            Self::Table => Self::Feed,
            Self::Feed => Self::Charts,
            Self::Charts => Self::Health,
            Self::Health => Self::Table,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Table => "Conversations",
            Self::Feed => "Alerts",
            Self::Charts => "Last hour",
            Self::Health => "Connection health",
        }
    }
}

/// The board's filter, parsed: every term must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    /// `state:breach`, `state:warn`, `state:ok`, `state:waiting`.
    states: Vec<String>,
    /// `broker:alex`: a broker viewing, writing or who last replied.
    brokers: Vec<String>,
    /// Anything else: in the customer's name, the conversation id or the last message.
    words: Vec<String>,
}

impl BoardFilter {
    pub fn parse(text: &str) -> Self {
        let mut filter = Self::default();
        for term in text.split_whitespace() {
            let term = term.to_lowercase();
            if let Some(state) = term.strip_prefix("state:") {
                filter.states.push(state.to_owned());
            } else if let Some(broker) = term.strip_prefix("broker:") {
                filter.brokers.push(broker.to_owned());
            } else {
                filter.words.push(term);
            }
        }
        filter
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.brokers.is_empty() && self.words.is_empty()
    }

    pub fn matches(&self, conversation: &Conversation) -> bool {
        if self.is_empty() {
            return true;
        }
        let level = conversation.sla_level();
        let states_match = self.states.iter().all(|state| match state.as_str() {
            "breach" | "violation" => level == Some(SlaLevel::Breach),
            "warn" | "warning" => level == Some(SlaLevel::Warning),
            "ok" => level.is_none(),
            "waiting" => conversation.waiting_since_ms.is_some(),
            _ => false,
        });
        if !states_match {
            return false;
        }
        let brokers = broker_names(conversation);
        let brokers_match = self
            .brokers
            .iter()
            .all(|wanted| brokers.iter().any(|name| name.contains(wanted.as_str())));
        if !brokers_match || self.words.is_empty() {
            return brokers_match;
        }
        let haystack = conversation.search_text();
        self.words
            .iter()
            .all(|word| haystack.contains(word.as_str()))
    }
}

/// The brokers a conversation involves, lower-cased: viewing, or the last to reply.
fn broker_names(conversation: &Conversation) -> Vec<String> {
    let mut names: Vec<String> = conversation
        .viewers
        .values()
        .map(|name| name.to_lowercase())
        .collect();
    if let Some(Sender::Broker { id, name }) = conversation.last_human_sender() {
        names.push(name.as_deref().unwrap_or(id).to_lowercase());
    }
    names
}

#[derive(Debug, Clone)]
pub struct Board {
    pub sort: BoardSort,
    pub filter: String,
    parsed: BoardFilter,
    pub filter_editing: bool,
    /// Rows in display order.
    pub order: Vec<ConversationId>,
    pub selected: Option<ConversationId>,
    pub panel: BoardPanel,
    /// Conversations changed while the board was not on screen: sort before showing it.
    pub stale: bool,
}

impl Default for Board {
    fn default() -> Self {
        Self {
            sort: BoardSort::Urgency,
            filter: String::new(),
            parsed: BoardFilter::default(),
            filter_editing: false,
            order: Vec::new(),
            selected: None,
            panel: BoardPanel::Table,
            stale: false,
        }
    }
}

impl Board {
    pub fn set_filter(&mut self, text: String) {
        self.parsed = BoardFilter::parse(&text);
        self.filter = text;
    }

    /// Sorts every row: on a new sort or filter, never per event.
    pub fn reorder(
        &mut self,
        conversations: &BTreeMap<ConversationId, Conversation>,
        clock: &SlaClock,
    ) {
        let mut rows: Vec<&Conversation> = conversations
            .values()
            .filter(|conversation| self.parsed.matches(conversation))
            .collect();
        let sort = self.sort;
        rows.sort_by(|a, b| compare(sort, clock, a, b));
        self.order = rows.into_iter().map(|c| c.id.clone()).collect();
        self.stale = false;
        self.keep_selection();
    }

    /// Moves one row to its place after something about it changed.
    pub fn reposition(
        &mut self,
        id: &ConversationId,
        conversations: &BTreeMap<ConversationId, Conversation>,
        clock: &SlaClock,
    ) {
        if let Some(at) = self.order.iter().position(|row| row == id) {
            self.order.remove(at);
        }
        if let Some(conversation) = conversations.get(id)
            && self.parsed.matches(conversation)
        {
            let sort = self.sort;
            let index = self.order.partition_point(|other| {
                conversations.get(other).is_some_and(|other| {
                    compare(sort, clock, other, conversation) == Ordering::Less
                })
            });
            self.order.insert(index, id.clone());
        }
        self.keep_selection();
    }

    pub fn step(&mut self, by: isize) {
        if self.order.is_empty() {
            return;
        }
        let current = self
            .selected
            .as_ref()
            .and_then(|id| self.order.iter().position(|row| row == id))
            .unwrap_or(0);
        let last = self.order.len() - 1;
        let next = current.saturating_add_signed(by).min(last);
        self.selected = self.order.get(next).cloned();
    }

    fn keep_selection(&mut self) {
        let visible = self
            .selected
            .as_ref()
            .is_some_and(|id| self.order.contains(id));
        if !visible {
            self.selected = self.order.first().cloned();
        }
    }
}

fn compare(sort: BoardSort, clock: &SlaClock, a: &Conversation, b: &Conversation) -> Ordering {
    let by_id = || a.id.cmp(&b.id);
    match sort {
        BoardSort::Urgency => {
            let level = |c: &Conversation| c.sla_level().map_or(0, |level| level as u8 + 1);
            level(b)
                .cmp(&level(a))
                .then_with(|| waiting_key(a).cmp(&waiting_key(b)))
                .then_with(by_id)
        }
        BoardSort::Deadline => deadline_key(clock, a)
            .cmp(&deadline_key(clock, b))
            .then_with(by_id),
        BoardSort::Waiting => waiting_key(a).cmp(&waiting_key(b)).then_with(by_id),
        BoardSort::Name => a
            .title()
            .to_lowercase()
            .cmp(&b.title().to_lowercase())
            .then_with(by_id),
    }
}

/// Earlier is more urgent; not waiting sorts last.
fn waiting_key(conversation: &Conversation) -> i64 {
    conversation.waiting_since_ms.unwrap_or(i64::MAX)
}

/// The next deadline (the breach's once warned); not waiting sorts last.
fn deadline_key(clock: &SlaClock, conversation: &Conversation) -> i64 {
    match conversation.waiting_since_ms {
        Some(since) => {
            let level = match conversation.sla_level() {
                None => SlaLevel::Warning,
                Some(_) => SlaLevel::Breach,
            };
            clock.deadline_ms(since, level)
        }
        None => i64::MAX,
    }
}
