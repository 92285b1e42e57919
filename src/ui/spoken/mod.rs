//! The screen-reader mode's words: one labelled line per event, the most important words
//! first and the time last ("SLA breach, conversation 12 (Priya Shah): no reply for 6 min,
//! due 14:05"). Built from state and the parsed actions the session hands every front end.
//! Each line says what kind of event it is and where, so `verbosity` can choose.
//!
//! Longer than 80 lines, kept whole: `incoming_line`, a dispatch `match` over event kinds.

mod emoji;
pub mod verbosity;

use crate::app::action::{Action, Incoming, PresenceSeen};
use crate::app::conversation::{ChatMessage, Conversation, Sender, SlaLevel};
use crate::app::state::AppState;
use crate::protocol::PresenceAction;
use crate::protocol::events::{Actor, ConversationEvent, ConversationId};
use crate::sanitize::clean_line;

use super::text::{clock, duration_words, seconds_words, truncate};

pub use emoji::emoji_names;
use verbosity::{Kind, Level, Scope, Verbosity};

/// A line the screen reader may say, with what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// `None`: said whatever the verbosity (the connection, gaps, failures).
    pub kind: Option<Kind>,
    pub conversation: Option<ConversationId>,
    pub text: String,
    /// The short form (first line and length), where the kind has one.
    pub brief: Option<String>,
    /// A breach: said at once, even while a command is being typed.
    pub breach: bool,
}

impl Said {
    fn new(kind: Option<Kind>, conversation: Option<ConversationId>, text: String) -> Self {
        Self {
            kind,
            conversation,
            text,
            brief: None,
            breach: false,
        }
    }

    /// Always said.
    pub fn always(text: String) -> Self {
        Self::new(None, None, text)
    }

    /// What to say under these settings, and whether it is urgent (a breach, or a message
    /// in the open conversation); `None` when the settings keep it quiet.
    pub fn choose(self, state: &AppState, verbosity: &Verbosity) -> Option<(String, bool)> {
        let scope = self
            .conversation
            .as_ref()
            .map_or(Scope::All, |id| Scope::of(state, id));
        let level = self
            .kind
            .map_or(Level::Full, |kind| verbosity.level(scope, kind));
        let message = matches!(self.kind, Some(Kind::Customer | Kind::Ai | Kind::Broker));
        let urgent = self.breach || (scope == Scope::Open && message);
        match level {
            Level::Off => None,
            Level::Brief => Some((self.brief.unwrap_or(self.text), urgent)),
            Level::Full => Some((self.text, urgent)),
        }
    }
}

/// "first line…, 3 lines": the start of a message and how long it is.
fn brief_text(content: &str) -> String {
    let lines = content
        .lines()
        .filter(|line| !line.trim().is_empty())
        .count()
        .max(1);
    let first = content
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let first = truncate(&clean_line(first), 60);
    let length = if lines == 1 {
        "1 line".to_owned()
    } else {
        format!("{lines} lines")
    };
    format!("{length}: {first}")
}

fn who(conversation: &Conversation) -> String {
    match &conversation.customer_name {
        Some(name) => format!("conversation {} ({name})", conversation.id),
        None => format!("conversation {}", conversation.id),
    }
}

/// The line for an action from the network, if it deserves one. Said from the state the
/// action arrives to (before the reducer takes it), so it is built from the same parsed
/// action the reducer is about to consume.
pub fn event_line(state: &AppState, action: &Action) -> Option<Said> {
    match action {
        Action::Incoming(incoming) => incoming_line(state, incoming),
        Action::Presence(seen) => presence_line(state, seen),
        Action::GapFilled { channel, recovered } => Some(Said::always(format!(
            "Connection gap, {}: {recovered} missed messages recovered",
            clean_line(channel)
        ))),
        Action::ContinuityLost { channel, .. } => Some(Said::always(format!(
            "Connection gap, {}: some messages may be missing",
            clean_line(channel)
        ))),
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

fn incoming_line(state: &AppState, incoming: &Incoming) -> Option<Said> {
    let who = who_on(state, &incoming.channel)?;
    let time = clock(incoming.at_ms.unwrap_or(state.now_ms), state.utc_offset_s);
    let id = ConversationId::from_channel(&incoming.channel);
    let conversation = id.as_ref().and_then(|id| state.conversations.get(id));
    let said = |kind: Kind, text: String| Said::new(Some(kind), id.clone(), text);
    let with_brief = |said: Said, label: &str, content: &str| Said {
        brief: Some(format!("{label}, {who}, {}, {time}", brief_text(content))),
        ..said
    };
    Some(match &incoming.event {
        ConversationEvent::UserMessage { content, .. } => with_brief(
            said(
                Kind::Customer,
                format!("Customer message, {who}: {}, {time}", clean_line(content)),
            ),
            "Customer message",
            content,
        ),
        ConversationEvent::AiMessage {
            content, persona, ..
        } => {
            let persona = persona
                .as_ref()
                .map(|p| format!(" ({})", clean_line(p)))
                .unwrap_or_default();
            let text = format!("AI reply{persona}, {who}: {}, {time}", clean_line(content));
            with_brief(said(Kind::Ai, text), &format!("AI reply{persona}"), content)
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
            let text = format!("{name} replied, {who}: {}, {time}", clean_line(content));
            with_brief(
                said(Kind::Broker, text),
                &format!("{name} replied"),
                content,
            )
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
            said(
                Kind::Receipts,
                format!("Read by the customer, {who}, {time}"),
            )
        }
        ConversationEvent::Sla {
            violation,
            threshold_ms,
            actual_ms,
            ..
        } => Said {
            breach: *violation,
            ..said(
                Kind::Sla,
                sla_line(
                    state,
                    conversation,
                    &who,
                    *violation,
                    *threshold_ms,
                    *actual_ms,
                )?,
            )
        },
        ConversationEvent::Unknown { name, .. } => said(
            Kind::Customer,
            format!("Unknown event {}, {who}, {time}", clean_line(name)),
        ),
        ConversationEvent::Malformed { name, problem, .. } => said(
            Kind::Customer,
            format!(
                "Unreadable {} event, {who}: {}, {time}",
                clean_line(name),
                clean_line(problem)
            ),
        ),
        ConversationEvent::Claim {
            released,
            broker_id,
            name,
        } => {
            let name = broker_words(state, broker_id, name.as_deref());
            let verb = if *released { "released" } else { "claimed" };
            said(Kind::Broker, format!("{name} {verb} {who}, {time}"))
        }
        ConversationEvent::AiPause {
            paused, broker_id, ..
        } => {
            let text = if *paused {
                format!(
                    "AI paused by {}, {who}, {time}",
                    broker_words(state, broker_id, None)
                )
            } else {
                format!("AI answering again, {who}, {time}")
            };
            said(Kind::Broker, text)
        }
        ConversationEvent::Status {
            status, until_ms, ..
        } => {
            let until = until_ms
                .map(|until| format!(" until {}", clock(until, state.utc_offset_s)))
                .unwrap_or_default();
            said(
                Kind::Broker,
                format!("{} {}{until}, {time}", capitalised(&who), status.word()),
            )
        }
        ConversationEvent::Typing { .. }
        | ConversationEvent::Read { .. }
        | ConversationEvent::SuggestionSelected { .. }
        | ConversationEvent::Note { .. } => return None,
    })
}

/// Another broker started or stopped writing a reply: said once, on the change.
fn writing_line(
    state: &AppState,
    conversation: &Conversation,
    seen: &PresenceSeen,
) -> Option<Said> {
    let client = &seen.client_id;
    if client.broker_id().is_none() || *client == state.my_client_id() {
        return None;
    }
    let was = conversation.handling.writers.contains_key(client.as_str());
    let is = seen.present() && seen.composing == Some(true);
    if was == is {
        return None;
    }
    let name = seen
        .name
        .as_deref()
        .map(clean_line)
        .filter(|n| !n.trim().is_empty())
        .or_else(|| conversation.handling.writers.get(client.as_str()).cloned())
        .unwrap_or_else(|| clean_line(client.as_str()));
    let verb = if is {
        "is writing a reply"
    } else {
        "stopped writing"
    };
    let text = format!("{name} {verb}, {}", who(conversation));
    Some(Said::new(
        Some(Kind::Presence),
        Some(conversation.id.clone()),
        text,
    ))
}

/// "you", or the broker's name as sent (cleaned), or "broker 7".
fn broker_words(state: &AppState, broker_id: &str, name: Option<&str>) -> String {
    if broker_id == state.me.broker_id {
        return "you".to_owned();
    }
    name.map(clean_line)
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| format!("broker {}", clean_line(broker_id)))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
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

fn presence_line(state: &AppState, seen: &PresenceSeen) -> Option<Said> {
    let id = ConversationId::from_channel(&seen.channel)?;
    let conversation = state.conversations.get(&id)?;
    if let Some(said) = writing_line(state, conversation, seen) {
        return Some(said);
    }
    if seen.action == PresenceAction::Update {
        return None;
    }
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
        let text = format!("Customer {word}, {who}, {time}");
        return Some(Said::new(Some(Kind::Presence), Some(id), text));
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
        let text = format!("{name} {verb} {}", who(conversation));
        return Some(Said::new(Some(Kind::Presence), Some(id), text));
    }
    None
}

/// One inbox row in words, for `list`.
pub fn inbox_line(state: &AppState, index: usize, conversation: &Conversation) -> String {
    let mut parts = Vec::new();
    match conversation.sla_level() {
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
        Sender::Note { name, mine, .. } => match (mine, name) {
            (true, _) => "Your private note".to_owned(),
            (false, Some(name)) => format!("Private note from {name}"),
            (false, None) => "Private note from a broker".to_owned(),
        },
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

#[cfg(test)]
mod tests;
