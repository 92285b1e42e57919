//! The screen-reader mode's words: one labelled line per event, the most important words
//! first and the time last ("SLA breach, conversation 12 (Priya Shah): no reply for 6 min,
//! due 14:05"). Built from state and events, after the reducer has taken them in.

use crate::app::conversation::{Conversation, Sender, SlaLevel};
use crate::app::state::AppState;
use crate::protocol::PresenceAction;
use crate::protocol::events::{Actor, ConversationEvent, ConversationId};
use crate::realtime::NetEvent;
use crate::sanitize::clean_line;

use super::text::{clock, duration_words, seconds_words};

fn who(conversation: &Conversation) -> String {
    match &conversation.customer_name {
        Some(name) => format!("conversation {} ({name})", conversation.id),
        None => format!("conversation {}", conversation.id),
    }
}

/// The line for a network event, if it deserves one.
pub fn event_line(state: &AppState, event: &NetEvent) -> Option<String> {
    let at = |ms: Option<i64>| clock(ms.unwrap_or(state.now_ms), state.utc_offset_s);
    match event {
        NetEvent::Message {
            channel, message, ..
        } => {
            let id = ConversationId::from_channel(channel)?;
            let conversation = state.conversations.get(&id)?;
            let parsed = ConversationEvent::parse(message.name.as_deref(), &message.payload);
            let time = at(parsed.timestamp.or(message.timestamp));
            let line = match parsed.event {
                ConversationEvent::UserMessage { content, .. } => format!(
                    "Customer message, {}: {}, {time}",
                    who(conversation),
                    clean_line(&content)
                ),
                ConversationEvent::AiMessage {
                    content, persona, ..
                } => {
                    let persona = persona
                        .map(|p| format!(" ({})", clean_line(&p)))
                        .unwrap_or_default();
                    format!(
                        "AI reply{persona}, {}: {}, {time}",
                        who(conversation),
                        clean_line(&content)
                    )
                }
                ConversationEvent::BrokerMessage {
                    content,
                    broker_id,
                    broker_name,
                    ..
                } => {
                    if broker_id == state.me.broker_id {
                        return None; // our own reply: announced when acknowledged
                    }
                    let name = broker_name
                        .map(|n| clean_line(&n))
                        .unwrap_or_else(|| format!("Broker {}", clean_line(&broker_id)));
                    format!(
                        "{name} replied, {}: {}, {time}",
                        who(conversation),
                        clean_line(&content)
                    )
                }
                ConversationEvent::Read {
                    actor: Actor::Customer,
                    message_id,
                    ..
                } => {
                    let mine = conversation
                        .messages
                        .iter()
                        .any(|m| m.id == message_id && m.sender == Sender::Me);
                    if !mine {
                        return None;
                    }
                    format!("Read by the customer, {}, {time}", who(conversation))
                }
                ConversationEvent::Sla { .. } => {
                    let sla = conversation.sla.as_ref()?;
                    let word = match sla.level {
                        SlaLevel::Breach => "SLA breach",
                        SlaLevel::Warning => "SLA warning",
                    };
                    let since = conversation
                        .waiting_since_ms
                        .unwrap_or(sla.received_ms - i64::try_from(sla.actual_ms).unwrap_or(0));
                    let due = since + i64::try_from(sla.threshold_ms).unwrap_or(0);
                    format!(
                        "{word}, {}: no reply for {}, limit {}, due {}",
                        who(conversation),
                        duration_words(state.now_ms - since),
                        seconds_words(sla.threshold_ms),
                        clock(due, state.utc_offset_s)
                    )
                }
                ConversationEvent::Unknown { name, .. } => format!(
                    "Unknown event {}, {}, {time}",
                    clean_line(&name),
                    who(conversation)
                ),
                ConversationEvent::Malformed { name, problem, .. } => format!(
                    "Unreadable {} event, {}: {}, {time}",
                    clean_line(&name),
                    who(conversation),
                    clean_line(&problem)
                ),
                ConversationEvent::Typing { .. }
                | ConversationEvent::Read { .. }
                | ConversationEvent::SuggestionSelected { .. } => return None,
            };
            Some(line)
        }
        NetEvent::Presence { channel, change } => {
            let id = ConversationId::from_channel(channel)?;
            let conversation = state.conversations.get(&id)?;
            let client = change.member.client_id.as_deref().unwrap_or("");
            let left = matches!(
                change.action,
                PresenceAction::Leave | PresenceAction::Absent
            );
            if client == format!("customer-{id}") && change.action != PresenceAction::Update {
                let word = if left { "offline" } else { "online" };
                return Some(format!(
                    "Customer {word}, {}, {}",
                    who(conversation),
                    at(change.member.timestamp)
                ));
            }
            if client.starts_with("broker-")
                && client != state.my_client_id()
                && change.action != PresenceAction::Update
            {
                let name = conversation
                    .viewers
                    .get(client)
                    .cloned()
                    .unwrap_or_else(|| clean_line(client));
                let verb = if left {
                    "stopped viewing"
                } else {
                    "is viewing"
                };
                return Some(format!("{name} {verb} {}", who(conversation)));
            }
            None
        }
        NetEvent::GapFilled { channel, recovered } => Some(format!(
            "Connection gap, {channel}: {recovered} missed messages recovered"
        )),
        NetEvent::ContinuityLost { channel, .. } => Some(format!(
            "Connection gap, {channel}: some messages may be missing"
        )),
        NetEvent::Connection { .. } | NetEvent::Channel { .. } => None,
    }
}

/// One inbox row in words, for `list`.
pub fn inbox_line(state: &AppState, index: usize, conversation: &Conversation) -> String {
    let mut parts = Vec::new();
    match conversation.sla.as_ref().map(|sla| sla.level) {
        Some(SlaLevel::Breach) => parts.push("SLA breach".to_owned()),
        Some(SlaLevel::Warning) => parts.push("SLA warning".to_owned()),
        None => {}
    }
    parts.push(who(conversation));
    if conversation.unread > 0 {
        parts.push(format!("{} unread", conversation.unread));
    }
    if let Some(since) = conversation.waiting_since_ms {
        parts.push(format!("waiting {}", duration_words(state.now_ms - since)));
    }
    parts.push(conversation.presence.words().to_owned());
    if conversation.typing.is_some() {
        parts.push("typing".to_owned());
    }
    if conversation.has_draft() {
        parts.push("draft".to_owned());
    }
    if !conversation.viewers.is_empty() {
        let names: Vec<&str> = conversation.viewers.values().map(String::as_str).collect();
        parts.push(format!("{} viewing", names.join(", ")));
    }
    if let Some(last) = conversation.last_preview() {
        parts.push(format!("last: {}", last.text.replace('\n', " ")));
    }
    format!("{}. {}", index + 1, parts.join(", "))
}

/// A message in words, for `history` and on opening.
pub fn message_line(
    state: &AppState,
    conversation: &Conversation,
    message: &crate::app::conversation::ChatMessage,
) -> String {
    let sender = match &message.sender {
        Sender::Customer => conversation
            .customer_name
            .clone()
            .unwrap_or_else(|| "Customer".to_owned()),
        Sender::Ai {
            persona: Some(persona),
        } => format!("AI ({persona})"),
        Sender::Ai { persona: None } => "AI".to_owned(),
        Sender::Me => "You".to_owned(),
        Sender::Broker { id, name } => name.clone().unwrap_or_else(|| format!("Broker {id}")),
        Sender::System => "Note".to_owned(),
    };
    let delivery = message
        .delivery
        .map(|d| format!(" ({})", d.words()))
        .unwrap_or_default();
    format!(
        "{sender}{delivery}: {}, {}",
        message.text.replace('\n', " / "),
        clock(message.at_ms, state.utc_offset_s)
    )
}
