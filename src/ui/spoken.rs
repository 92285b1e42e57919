//! The screen-reader mode's words: one labelled line per event, the most important words
//! first and the time last ("SLA breach, conversation 12 (Priya Shah): no reply for 6 min,
//! due 14:05"). Built from state and the parsed actions the session hands every front end.

use crate::app::action::{Action, Incoming, PresenceSeen};
use crate::app::conversation::{ChatMessage, Conversation, Sender, SlaLevel};
use crate::app::state::AppState;
use crate::protocol::PresenceAction;
use crate::protocol::events::{Actor, ConversationEvent, ConversationId};
use crate::sanitize::clean_line;

use super::text::{clock, duration_words, seconds_words};

fn who(conversation: &Conversation) -> String {
    match &conversation.customer_name {
        Some(name) => format!("conversation {} ({name})", conversation.id),
        None => format!("conversation {}", conversation.id),
    }
}

/// The line for an action from the network, if it deserves one. Said from the state the
/// action arrives to (before the reducer takes it), so it is built from the same parsed
/// action the reducer is about to consume.
pub fn event_line(state: &AppState, action: &Action) -> Option<String> {
    match action {
        Action::Incoming(incoming) => incoming_line(state, incoming),
        Action::Presence(seen) => presence_line(state, seen),
        Action::GapFilled { channel, recovered } => Some(format!(
            "Connection gap, {}: {recovered} missed messages recovered",
            clean_line(channel)
        )),
        Action::ContinuityLost { channel, .. } => Some(format!(
            "Connection gap, {}: some messages may be missing",
            clean_line(channel)
        )),
        _ => None,
    }
}

/// "conversation 12 (Priya Shah)", also for a conversation not seen before.
fn who_on(state: &AppState, channel: &str) -> Option<String> {
    let id = ConversationId::from_channel(channel)?;
    Some(match state.conversations.get(&id) {
        Some(conversation) => who(conversation),
        None => format!("conversation {}", clean_line(id.as_str())),
    })
}

fn incoming_line(state: &AppState, incoming: &Incoming) -> Option<String> {
    let who = who_on(state, &incoming.channel)?;
    let time = clock(incoming.at_ms.unwrap_or(state.now_ms), state.utc_offset_s);
    let conversation =
        ConversationId::from_channel(&incoming.channel).and_then(|id| state.conversations.get(&id));
    let line = match &incoming.event {
        ConversationEvent::UserMessage { content, .. } => {
            format!("Customer message, {who}: {}, {time}", clean_line(content))
        }
        ConversationEvent::AiMessage {
            content, persona, ..
        } => {
            let persona = persona
                .as_ref()
                .map(|p| format!(" ({})", clean_line(p)))
                .unwrap_or_default();
            format!("AI reply{persona}, {who}: {}, {time}", clean_line(content))
        }
        ConversationEvent::BrokerMessage {
            content,
            broker_id,
            broker_name,
            ..
        } => {
            if *broker_id == state.me.broker_id {
                return None; // our own reply: announced when acknowledged
            }
            let name = broker_name
                .as_ref()
                .map(|n| clean_line(n))
                .unwrap_or_else(|| format!("Broker {}", clean_line(broker_id)));
            format!("{name} replied, {who}: {}, {time}", clean_line(content))
        }
        ConversationEvent::Read {
            actor: Actor::Customer,
            message_id,
            ..
        } => {
            let mine = conversation?
                .messages
                .iter()
                .any(|m| m.id == *message_id && m.sender == Sender::Me);
            if !mine {
                return None;
            }
            format!("Read by the customer, {who}, {time}")
        }
        ConversationEvent::Sla {
            violation,
            threshold_ms,
            actual_ms,
            ..
        } => sla_line(
            state,
            conversation,
            &who,
            *violation,
            *threshold_ms,
            *actual_ms,
        )?,
        ConversationEvent::Unknown { name, .. } => {
            format!("Unknown event {}, {who}, {time}", clean_line(name))
        }
        ConversationEvent::Malformed { name, problem, .. } => format!(
            "Unreadable {} event, {who}: {}, {time}",
            clean_line(name),
            clean_line(problem)
        ),
        ConversationEvent::Typing { .. }
        | ConversationEvent::Read { .. }
        | ConversationEvent::SuggestionSelected { .. } => return None,
    };
    Some(line)
}

/// Said when the SLA event will change what is shown: it applies (the customer still
/// waits) and it does not step down from a breach already announced.
fn sla_line(
    state: &AppState,
    conversation: Option<&Conversation>,
    who: &str,
    violation: bool,
    threshold_ms: u64,
    actual_ms: u64,
) -> Option<String> {
    let level = if violation {
        SlaLevel::Breach
    } else {
        SlaLevel::Warning
    };
    let waiting_since = match conversation {
        Some(conversation) => {
            let escalates = conversation
                .sla
                .as_ref()
                .is_none_or(|sla| sla.level <= level);
            if !conversation.sla_applies() || !escalates {
                return None;
            }
            conversation.waiting_since_ms
        }
        None => None,
    };
    let word = match level {
        SlaLevel::Breach => "SLA breach",
        SlaLevel::Warning => "SLA warning",
    };
    let since = waiting_since.unwrap_or(state.now_ms - i64::try_from(actual_ms).unwrap_or(0));
    let due = since + i64::try_from(threshold_ms).unwrap_or(0);
    Some(format!(
        "{word}, {who}: no reply for {}, limit {}, due {}",
        duration_words(state.now_ms - since),
        seconds_words(threshold_ms),
        clock(due, state.utc_offset_s)
    ))
}

fn presence_line(state: &AppState, seen: &PresenceSeen) -> Option<String> {
    if seen.action == PresenceAction::Update {
        return None;
    }
    let id = ConversationId::from_channel(&seen.channel)?;
    let conversation = state.conversations.get(&id)?;
    let client = &seen.client_id;
    let left = !seen.present();
    let name = seen
        .name
        .as_deref()
        .map(clean_line)
        .filter(|n| !n.trim().is_empty());
    if client.is_customer_of(&id) {
        let word = if left { "offline" } else { "online" };
        let who = match name.or_else(|| conversation.customer_name.clone()) {
            Some(name) => format!("conversation {} ({name})", conversation.id),
            None => format!("conversation {}", conversation.id),
        };
        let time = clock(seen.timestamp.unwrap_or(state.now_ms), state.utc_offset_s);
        return Some(format!("Customer {word}, {who}, {time}"));
    }
    if client.broker_id().is_some() && *client != state.my_client_id() {
        let name = name
            .or_else(|| conversation.viewers.get(client.as_str()).cloned())
            .unwrap_or_else(|| clean_line(client.as_str()));
        let verb = if left {
            "stopped viewing"
        } else {
            "is viewing"
        };
        return Some(format!("{name} {verb} {}", who(conversation)));
    }
    None
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
    message: &ChatMessage,
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
