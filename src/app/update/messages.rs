//! Conversation events into conversations: live (they may count as unread, start or end
//! the customer's wait, ring, raise the SLA) or from history (stored quietly).
//!
//! Longer than 80 lines, kept whole: `live`, a dispatch `match` over the event kinds.

use serde_json::Value;

use crate::protocol::events::{Actor, ConversationEvent, ConversationId};
use crate::sanitize::{clean_block_owned, clean_line};

use super::super::action::Incoming;
use super::super::conversation::{
    ChatMessage, Conversation, Delivery, Sender, Sla, SlaLevel, Typing, waiting_since,
};
use super::super::effect::Effect;
use super::super::state::AppState;
use super::net::send_read_receipt;
use super::{ensure_conversation, handling, replies, supervision};

/// What a live event did, beyond the conversation itself.
#[derive(Default)]
struct Outcome {
    customer_wrote: bool,
    /// Our own reply, back from the channel.
    echoed: Option<String>,
    /// A reply from the AI or a human: the first response, if the customer awaited one.
    replied: bool,
    /// A human answered (who, in words): the wait and its alerts end.
    answered_by: Option<String>,
    /// An SLA event that applies: (level, threshold, actual).
    sla: Option<(SlaLevel, u64, u64)>,
}

pub(super) fn live(state: &mut AppState, incoming: Incoming, effects: &mut Vec<Effect>) {
    if incoming.channel.starts_with("notes:") {
        handling::note(state, incoming, effects);
        return;
    }
    let Some(id) = ensure_conversation(state, &incoming.channel, effects) else {
        return;
    };
    if handling::apply_control(state, &incoming) {
        return;
    }
    let on_screen = state.open.as_ref() == Some(&id);
    let me = state.me.broker_id.clone();
    let now = state.now_ms;
    let at_ms = incoming.at_ms.unwrap_or(now);
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return;
    };
    let mut outcome = Outcome::default();
    match incoming.event {
        ConversationEvent::UserMessage {
            message_id,
            content,
        } => {
            outcome.customer_wrote = customer_message(
                conversation,
                ChatMessage {
                    id: message_id,
                    sender: Sender::Customer,
                    text: clean_block_owned(content),
                    at_ms,
                    delivery: None,
                },
                on_screen,
            );
            if outcome.customer_wrote {
                conversation.awaiting_reply_since_ms.get_or_insert(at_ms);
                // Snoozed or resolved: the customer writing brings it back.
                conversation.handling.customer_wrote();
            }
        }
        ConversationEvent::AiMessage {
            message_id,
            content,
            persona,
            ..
        } => {
            outcome.replied = true;
            ai_message(conversation, message_id, content, persona, at_ms, on_screen);
        }
        ConversationEvent::BrokerMessage {
            message_id,
            content,
            broker_id,
            broker_name,
        } => {
            // A human answered: the customer is no longer waiting and the SLA clears.
            let mine = broker_id == me;
            outcome.replied = true;
            outcome.answered_by = Some(if mine {
                "you".to_owned()
            } else {
                clean_line(broker_name.as_deref().unwrap_or(&broker_id))
            });
            conversation.insert_or_confirm(broker_reply(
                message_id.clone(),
                content,
                broker_id,
                broker_name,
                mine,
                at_ms,
            ));
            outcome.echoed = mine.then_some(message_id);
        }
        ConversationEvent::Typing {
            started,
            actor,
            broker_id,
        } => {
            let mine = actor == Actor::Broker && broker_id.as_deref() == Some(me.as_str());
            if !mine {
                conversation.typing = started.then_some(Typing {
                    actor,
                    since_ms: now,
                });
            }
        }
        ConversationEvent::Read {
            message_id, actor, ..
        } => {
            if actor == Actor::Customer {
                conversation.read_up_to(&message_id);
            }
        }
        ConversationEvent::Sla {
            violation,
            threshold_ms,
            actual_ms,
            ..
        } => {
            if conversation.sla_applies() {
                let level = if violation {
                    SlaLevel::Breach
                } else {
                    SlaLevel::Warning
                };
                let received_ms = now;
                conversation.raise_sla(Sla {
                    level,
                    threshold_ms,
                    actual_ms,
                    received_ms,
                });
                outcome.sla = Some((level, threshold_ms, actual_ms));
            }
        }
        ConversationEvent::SuggestionSelected { .. } => {}
        // Applied above (a repeat lands here and changes nothing); notes come on their own
        // channel.
        ConversationEvent::Claim { .. }
        | ConversationEvent::AiPause { .. }
        | ConversationEvent::Status { .. }
        | ConversationEvent::Note { .. } => {}
        ConversationEvent::Unknown { name, data } => {
            let text = format!(
                "Unknown event {}: {}",
                clean_line(&name),
                preview_json(&data)
            );
            conversation.odd_event(incoming.wire_id, text, at_ms);
        }
        ConversationEvent::Malformed { name, problem, .. } => {
            let text = format!(
                "Unreadable {} event: {}",
                clean_line(&name),
                clean_line(&problem)
            );
            conversation.odd_event(incoming.wire_id, text, at_ms);
        }
    }
    after_live(state, &id, at_ms, outcome, on_screen, effects);
    state.reposition(&id);
}

/// A customer's message: returns whether it was new (so they wrote, and now wait).
fn customer_message(
    conversation: &mut Conversation,
    message: ChatMessage,
    on_screen: bool,
) -> bool {
    let at_ms = message.at_ms;
    if !conversation.insert(message) {
        return false;
    }
    conversation.waiting_since_ms.get_or_insert(at_ms);
    conversation.typing = None;
    if on_screen {
        if conversation.scroll.from_bottom > 0 {
            conversation.scroll.new_below += 1;
        }
    } else {
        conversation.unread += 1;
    }
    true
}

fn broker_reply(
    message_id: String,
    content: String,
    broker_id: String,
    broker_name: Option<String>,
    mine: bool,
    at_ms: i64,
) -> ChatMessage {
    let (sender, delivery) = if mine {
        (Sender::Me, Some(Delivery::Sent))
    } else {
        let sender = Sender::Broker {
            id: clean_line(&broker_id),
            name: broker_name.map(|n| clean_line(&n)),
        };
        (sender, None)
    };
    ChatMessage {
        id: message_id,
        sender,
        text: clean_block_owned(content),
        at_ms,
        delivery,
    }
}

fn after_live(
    state: &mut AppState,
    id: &ConversationId,
    at_ms: i64,
    outcome: Outcome,
    on_screen: bool,
    effects: &mut Vec<Effect>,
) {
    if let Some(message_id) = outcome.echoed {
        replies::echoed(state, &message_id, effects);
    }
    if outcome.replied {
        supervision::replied(state, id, at_ms);
    }
    if let Some(by) = outcome.answered_by {
        supervision::answered(state, id, at_ms, &by, effects);
    }
    if let Some((level, threshold_ms, actual_ms)) = outcome.sla {
        supervision::server_alert(state, id, level, threshold_ms, actual_ms, at_ms, effects);
    }
    if outcome.customer_wrote && !on_screen {
        supervision::customer_wrote_elsewhere(state, id, effects);
    }
    if outcome.customer_wrote && on_screen {
        send_read_receipt(state, effects);
        super::commands::request_suggestions(state, effects);
    }
}

/// The first 80 characters of an unknown event's data, cleaned.
fn preview_json(data: &Value) -> String {
    let text = data.to_string();
    let text = if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    };
    clean_line(&text)
}

fn ai_message(
    conversation: &mut Conversation,
    message_id: String,
    content: String,
    persona: Option<String>,
    at_ms: i64,
    on_screen: bool,
) {
    let persona = persona.map(|p| clean_line(&p));
    if persona.is_some() {
        conversation.persona.clone_from(&persona);
    }
    conversation.typing = None;
    let fresh = conversation.insert(ChatMessage {
        id: message_id,
        sender: Sender::Ai { persona },
        text: clean_block_owned(content),
        at_ms,
        delivery: None,
    });
    if fresh && !on_screen {
        conversation.unread += 1;
    }
}

/// History (recent on open, or older when scrolling up): stored without counting unread
/// or ringing; waiting state is rebuilt from it when it is the recent page.
pub(super) fn history(
    state: &mut AppState,
    channel: &str,
    messages: Vec<Incoming>,
    older: bool,
    complete: bool,
    effects: &mut Vec<Effect>,
) {
    let Some(id) = ensure_conversation(state, channel, effects) else {
        return;
    };
    let me = state.me.broker_id.clone();
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return;
    };
    conversation.loading_older = false;
    if older {
        conversation.history_exhausted = complete;
    }
    let mut controls = Vec::new();
    for incoming in messages {
        let at_ms = incoming.at_ms.unwrap_or(0);
        match history_entry(conversation, incoming, &me, at_ms) {
            HistoryItem::Message(entry) => {
                conversation.insert(entry);
            }
            HistoryItem::Control(incoming) => controls.push(incoming),
            HistoryItem::Skip => {}
        }
    }
    if !older && conversation.waiting_since_ms.is_none() {
        conversation.waiting_since_ms = waiting_since(&conversation.messages);
    }
    // Claims, pauses and statuses in channel order: they survive a restart this way.
    for control in &controls {
        handling::apply_control(state, control);
    }
    state.reorder();
    if state.open.as_ref() == Some(&id) {
        send_read_receipt(state, effects);
    }
}

/// What one event of history is: a message to keep, a claim / pause / status to apply in
/// order, or nothing for the conversation pane.
enum HistoryItem {
    Message(ChatMessage),
    Control(Incoming),
    Skip,
}

fn history_entry(
    conversation: &mut Conversation,
    incoming: Incoming,
    me: &str,
    at_ms: i64,
) -> HistoryItem {
    let entry = match incoming.event {
        ConversationEvent::UserMessage {
            message_id,
            content,
        } => ChatMessage {
            id: message_id,
            sender: Sender::Customer,
            text: clean_block_owned(content),
            at_ms,
            delivery: None,
        },
        ConversationEvent::AiMessage {
            message_id,
            content,
            persona,
            ..
        } => {
            let persona = persona.map(|p| clean_line(&p));
            if conversation.persona.is_none() {
                conversation.persona.clone_from(&persona);
            }
            ChatMessage {
                id: message_id,
                sender: Sender::Ai { persona },
                text: clean_block_owned(content),
                at_ms,
                delivery: None,
            }
        }
        ConversationEvent::BrokerMessage {
            message_id,
            content,
            broker_id,
            broker_name,
        } => {
            let mine = broker_id == me;
            broker_reply(message_id, content, broker_id, broker_name, mine, at_ms)
        }
        ConversationEvent::Claim { .. }
        | ConversationEvent::AiPause { .. }
        | ConversationEvent::Status { .. } => return HistoryItem::Control(incoming),
        _ => return HistoryItem::Skip,
    };
    HistoryItem::Message(entry)
}
