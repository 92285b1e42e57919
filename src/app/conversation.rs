//! One conversation as the dashboard knows it: messages with their senders and delivery
//! state, who is present and typing, the SLA state, unread count, draft and scroll.
//! All text here was cleaned at intake (`sanitize`).

use std::collections::{BTreeMap, HashSet};

use crate::protocol::events::{Actor, ConversationId};
use crate::protocol::names::ChannelName;

use super::handling::Handling;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    Customer,
    Ai {
        persona: Option<String>,
    },
    Me,
    Broker {
        id: String,
        name: Option<String>,
    },
    /// The dashboard's own notes: unknown or malformed events, gaps.
    System,
    /// A private note between brokers (from the notes channel); the customer never sees it.
    Note {
        broker_id: String,
        name: Option<String>,
        mine: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Written to the outbox, not acknowledged yet.
    Sending,
    Sent,
    Read,
    Failed,
}

impl Delivery {
    pub fn words(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Read => "read",
            Self::Failed => "failed — r to retry",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// The event's `messageId` (or the wire id when there is none).
    pub id: String,
    pub sender: Sender,
    pub text: String,
    pub at_ms: i64,
    pub delivery: Option<Delivery>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Presence {
    Offline,
    Away,
    Online,
}

impl Presence {
    pub fn words(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlaLevel {
    Warning,
    Breach,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    pub level: SlaLevel,
    pub threshold_ms: u64,
    pub actual_ms: u64,
    /// When the event arrived: with `actual_ms` it says since when the customer waits.
    pub received_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typing {
    pub actor: Actor,
    pub since_ms: i64,
}

/// Scrolling in the message list, counted in messages from the newest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scroll {
    /// 0 = following the live end.
    pub from_bottom: usize,
    /// Messages that arrived while scrolled up.
    pub new_below: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel: ChannelName,
    pub customer_name: Option<String>,
    pub presence: Presence,
    pub messages: Vec<ChatMessage>,
    pub unread: usize,
    pub typing: Option<Typing>,
    pub sla: Option<Sla>,
    /// The highest level this dashboard's own SLA clock saw crossed in the current wait.
    pub client_sla: Option<SlaLevel>,
    /// Since when the customer waits for any reply (AI or human): first-response times.
    pub awaiting_reply_since_ms: Option<i64>,
    /// Since when the customer has waited for a human reply, if they are waiting.
    pub waiting_since_ms: Option<i64>,
    pub last_activity_ms: i64,
    pub draft: String,
    /// Other brokers viewing this conversation: clientId → name.
    pub viewers: BTreeMap<String, String>,
    pub persona: Option<String>,
    pub scroll: Scroll,
    /// Recent history was requested for it.
    pub history_requested: bool,
    /// Older history is being fetched / no more exists.
    pub loading_older: bool,
    pub history_exhausted: bool,
    /// Newest customer message we announced as read.
    pub read_sent: Option<String>,
    /// Events that were not understood, shown as system lines.
    pub odd_events: usize,
    /// Who handles it: owner, AI paused, status, who is writing.
    pub handling: Handling,
    /// Ids of the messages held, so a repeat (live and history overlapping) is cheap to spot.
    ids: HashSet<String>,
}

/// Messages kept per conversation in memory; older ones are paged in from history.
pub const MESSAGES_KEPT: usize = 20_000;

impl Conversation {
    pub fn new(id: ConversationId) -> Self {
        Self {
            channel: id.channel(),
            id,
            customer_name: None,
            presence: Presence::Offline,
            messages: Vec::new(),
            unread: 0,
            typing: None,
            sla: None,
            client_sla: None,
            awaiting_reply_since_ms: None,
            waiting_since_ms: None,
            last_activity_ms: 0,
            draft: String::new(),
            viewers: BTreeMap::new(),
            persona: None,
            scroll: Scroll::default(),
            history_requested: false,
            loading_older: false,
            history_exhausted: false,
            read_sent: None,
            odd_events: 0,
            handling: Handling::default(),
            ids: HashSet::new(),
        }
    }

    pub fn title(&self) -> String {
        self.customer_name
            .clone()
            .unwrap_or_else(|| format!("Conversation {}", self.id))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Inserts in time order (history may arrive after live messages); false if known.
    pub fn insert(&mut self, message: ChatMessage) -> bool {
        if self.contains(&message.id) {
            return false;
        }
        let position = self
            .messages
            .iter()
            .rposition(|existing| existing.at_ms <= message.at_ms)
            .map_or(0, |index| index + 1);
        self.last_activity_ms = self.last_activity_ms.max(message.at_ms);
        self.ids.insert(message.id.clone());
        self.messages.insert(position, message);
        if self.messages.len() > MESSAGES_KEPT {
            let oldest = self.messages.remove(0);
            self.ids.remove(&oldest.id);
            self.history_exhausted = false;
        }
        true
    }

    /// A broker reply from the channel. Ours, already shown: now known to have arrived.
    pub fn insert_or_confirm(&mut self, message: ChatMessage) {
        let mine = message.sender == Sender::Me;
        if let Some(shown) = self.messages.iter_mut().rev().find(|m| m.id == message.id) {
            if mine && matches!(shown.delivery, Some(Delivery::Sending | Delivery::Failed)) {
                shown.delivery = Some(Delivery::Sent);
            }
            return;
        }
        self.insert(message);
    }

    /// The customer read up to this message: it and every earlier reply of ours.
    pub fn read_up_to(&mut self, message_id: &str) {
        let Some(position) = self.messages.iter().rposition(|m| m.id == message_id) else {
            return;
        };
        for earlier in &mut self.messages[..=position] {
            if earlier.sender == Sender::Me
                && matches!(earlier.delivery, Some(Delivery::Sent | Delivery::Sending))
            {
                earlier.delivery = Some(Delivery::Read);
            }
        }
    }

    /// An SLA event counts only while the customer is still waiting (one after an
    /// answer is moot), or before any human answered at all.
    pub fn sla_applies(&self) -> bool {
        let human_replied = self
            .messages
            .iter()
            .any(|m| matches!(m.sender, Sender::Me | Sender::Broker { .. }));
        self.waiting_since_ms.is_some() || !human_replied
    }

    /// The SLA state only escalates (a late warning does not hide a breach).
    pub fn raise_sla(&mut self, sla: Sla) {
        if self
            .sla
            .as_ref()
            .is_none_or(|current| current.level <= sla.level)
        {
            self.sla = Some(sla);
        }
    }

    /// The SLA state shown: the higher of the server's events and the client's own clock,
    /// so the screen never says less than the server did.
    pub fn sla_level(&self) -> Option<SlaLevel> {
        self.sla.as_ref().map(|sla| sla.level).max(self.client_sla)
    }

    /// The wait ended: the SLA state clears with it.
    pub fn answered(&mut self) {
        self.waiting_since_ms = None;
        self.sla = None;
        self.client_sla = None;
    }

    /// The last broker (or us) to reply, if a human replied at all.
    pub fn last_human_sender(&self) -> Option<&Sender> {
        self.messages
            .iter()
            .rev()
            .map(|message| &message.sender)
            .find(|sender| matches!(sender, Sender::Me | Sender::Broker { .. }))
    }

    /// Who answers the customer now, where known: a human once a broker paused the AI,
    /// otherwise whoever replied last.
    pub fn in_charge(&self) -> Option<&'static str> {
        if self.handling.ai_paused_by.is_some() {
            return Some("human");
        }
        self.messages
            .iter()
            .rev()
            .find_map(|message| match message.sender {
                Sender::Ai { .. } => Some("AI"),
                Sender::Me | Sender::Broker { .. } => Some("human"),
                Sender::Customer | Sender::System | Sender::Note { .. } => None,
            })
    }

    /// An event that was not understood: shown as a system line, and counted.
    pub fn odd_event(&mut self, id: String, text: String, at_ms: i64) {
        self.odd_events += 1;
        self.insert(ChatMessage {
            id,
            sender: Sender::System,
            text,
            at_ms,
            delivery: None,
        });
    }

    /// What a filter searches, lower-cased: the customer's name, the id, the last message.
    pub fn search_text(&self) -> String {
        format!(
            "{} {} {}",
            self.title().to_lowercase(),
            self.id.as_str().to_lowercase(),
            self.last_preview()
                .map(|m| m.text.to_lowercase())
                .unwrap_or_default()
        )
    }

    /// The last message of the conversation itself (not a system line or a note).
    pub fn last_preview(&self) -> Option<&ChatMessage> {
        self.messages
            .iter()
            .rev()
            .find(|message| !matches!(message.sender, Sender::System | Sender::Note { .. }))
    }

    pub fn newest_customer_message(&self) -> Option<&ChatMessage> {
        self.messages
            .iter()
            .rev()
            .find(|message| message.sender == Sender::Customer)
    }

    pub fn oldest_ms(&self) -> Option<i64> {
        self.messages.first().map(|message| message.at_ms)
    }

    pub fn has_draft(&self) -> bool {
        !self.draft.trim().is_empty()
    }
}

/// Since when the customer has waited: their first message after the last human reply
/// that was delivered (replies still sending or refused do not count).
pub fn waiting_since(messages: &[ChatMessage]) -> Option<i64> {
    let mut waiting = None;
    for message in messages {
        match (&message.sender, message.delivery) {
            (Sender::Customer, _) => {
                waiting.get_or_insert(message.at_ms);
            }
            (Sender::Me, Some(Delivery::Sent | Delivery::Read)) | (Sender::Broker { .. }, _) => {
                waiting = None
            }
            _ => {}
        }
    }
    waiting
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, at_ms: i64) -> ChatMessage {
        ChatMessage {
            id: id.into(),
            sender: Sender::Customer,
            text: id.into(),
            at_ms,
            delivery: None,
        }
    }

    #[test]
    fn messages_stay_in_time_order_and_unique() {
        let mut conversation = Conversation::new(ConversationId::new("1"));
        assert!(conversation.insert(message("b", 20)));
        assert!(conversation.insert(message("c", 30)));
        assert!(conversation.insert(message("a", 10)));
        assert!(!conversation.insert(message("b", 20)));
        let ids: Vec<&str> = conversation
            .messages
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(conversation.last_activity_ms, 30);
    }
}
