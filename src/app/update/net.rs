//! Network events into state: messages parsed once into the conversation vocabulary,
//! presence, connection and channel states, gaps.

use serde_json::{Value, json};

use crate::protocol::PresenceAction;
use crate::protocol::data::Payload;
use crate::protocol::events::{Actor, ConversationEvent, ConversationId, plausible_ms};
use crate::realtime::{ChannelState, ConnectionState, InboundMessage, NetEvent, opened_channel};
use crate::sanitize::{clean_block, clean_line};

use super::super::conversation::{ChatMessage, Delivery, Presence, Sender, Sla, SlaLevel, Typing};
use super::super::effect::Effect;
use super::super::state::{AppState, Link};
use super::{bell, ensure_conversation};

pub(super) fn event(state: &mut AppState, event: NetEvent, effects: &mut Vec<Effect>) {
    match event {
        NetEvent::Connection {
            shard,
            state: link_state,
            reason,
        } => {
            let link = state.links.entry(shard).or_insert(Link {
                state: ConnectionState::Initialized,
                reason: None,
                attempts: 0,
            });
            if link_state == ConnectionState::Connecting
                && link.state != ConnectionState::Initialized
            {
                link.attempts += 1;
            }
            if link_state == ConnectionState::Connected {
                link.attempts = 0;
            }
            link.state = link_state;
            link.reason = reason.map(|reason| clean_line(&reason.to_string()));
        }
        NetEvent::Channel {
            channel,
            state: channel_state,
            reason,
            ..
        } => {
            if ConversationId::from_channel(&channel).is_none() {
                return;
            }
            if channel_state == ChannelState::Attached {
                state.attached.insert(channel.clone());
            } else {
                state.attached.remove(&channel);
            }
            if channel_state == ChannelState::Failed {
                let reason = reason
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "no reason given".into());
                state.notice = Some(clean_line(&format!(
                    "{channel} could not be watched: {reason}"
                )));
            }
        }
        NetEvent::Message {
            channel, message, ..
        } => {
            if let Some(opened) = opened_channel(&channel, &message) {
                if let Some(id) = ensure_conversation(state, &opened, effects) {
                    state.reposition(&id);
                }
                return;
            }
            live_message(state, &channel, message, effects);
            if let Some(id) = ConversationId::from_channel(&channel) {
                state.reposition(&id);
            }
        }
        NetEvent::Presence { channel, change } => {
            presence(state, &channel, change.action, change.member);
            if let Some(id) = ConversationId::from_channel(&channel) {
                state.reposition(&id);
            }
        }
        NetEvent::GapFilled { channel, recovered } => system_line(
            state,
            &channel,
            format!(
                "Connection was interrupted: {recovered} missed message(s) recovered from history"
            ),
        ),
        NetEvent::ContinuityLost { channel, reason } => system_line(
            state,
            &channel,
            format!("Connection was interrupted and some messages may be missing ({reason})"),
        ),
    }
}

fn system_line(state: &mut AppState, channel: &str, text: String) {
    let now = state.now_ms;
    if let Some(conversation) = super::conversation_mut(state, channel) {
        let id = format!("system-{now}-{}", conversation.messages.len());
        conversation.insert(ChatMessage {
            id,
            sender: Sender::System,
            text: clean_line(&text),
            at_ms: now,
            delivery: None,
        });
    }
}

/// A message as it arrived live: stored, and it may change unread, waiting, SLA, typing.
fn live_message(
    state: &mut AppState,
    channel: &str,
    message: InboundMessage,
    effects: &mut Vec<Effect>,
) {
    let Some(id) = ensure_conversation(state, channel, effects) else {
        return;
    };
    let on_screen = state.open.as_ref() == Some(&id);
    let me = state.me.broker_id.clone();
    let now = state.now_ms;
    let parsed = ConversationEvent::parse(message.name.as_deref(), &message.payload);
    let at_ms = parsed
        .timestamp
        .or(message.timestamp.and_then(plausible_ms))
        .unwrap_or(now);
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return;
    };
    let mut ring = false;
    let mut customer_wrote = false;
    let mut delivered = None;
    match parsed.event {
        ConversationEvent::UserMessage {
            message_id,
            content,
        } => {
            let fresh = conversation.insert(ChatMessage {
                id: message_id,
                sender: Sender::Customer,
                text: clean_block(&content),
                at_ms,
                delivery: None,
            });
            if fresh {
                conversation.waiting_since_ms.get_or_insert(at_ms);
                conversation.typing = None;
                customer_wrote = true;
                if on_screen {
                    if conversation.scroll.from_bottom > 0 {
                        conversation.scroll.new_below += 1;
                    }
                } else {
                    conversation.unread += 1;
                    ring = true;
                }
            }
        }
        ConversationEvent::AiMessage {
            message_id,
            content,
            persona,
            ..
        } => {
            let persona = persona.map(|p| clean_line(&p));
            if persona.is_some() {
                conversation.persona.clone_from(&persona);
            }
            conversation.typing = None;
            let fresh = conversation.insert(ChatMessage {
                id: message_id,
                sender: Sender::Ai { persona },
                text: clean_block(&content),
                at_ms,
                delivery: None,
            });
            if fresh && !on_screen {
                conversation.unread += 1;
            }
        }
        ConversationEvent::BrokerMessage {
            message_id,
            content,
            broker_id,
            broker_name,
        } => {
            // A human answered: the customer is no longer waiting and the SLA clears.
            conversation.waiting_since_ms = None;
            conversation.sla = None;
            if broker_id == me {
                // Our reply came back from the channel: it arrived, whatever the ACK did.
                delivered = Some(message_id.clone());
                if let Some(mine) = conversation
                    .messages
                    .iter_mut()
                    .rev()
                    .find(|m| m.id == message_id)
                {
                    if matches!(mine.delivery, Some(Delivery::Sending | Delivery::Failed)) {
                        mine.delivery = Some(Delivery::Sent);
                    }
                } else {
                    // Sent from another session of ours.
                    conversation.insert(ChatMessage {
                        id: message_id,
                        sender: Sender::Me,
                        text: clean_block(&content),
                        at_ms,
                        delivery: Some(Delivery::Sent),
                    });
                }
            } else {
                let sender = Sender::Broker {
                    id: clean_line(&broker_id),
                    name: broker_name.map(|n| clean_line(&n)),
                };
                conversation.insert(ChatMessage {
                    id: message_id,
                    sender,
                    text: clean_block(&content),
                    at_ms,
                    delivery: None,
                });
            }
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
                // Read up to this reply: it and every earlier reply of ours.
                if let Some(position) = conversation
                    .messages
                    .iter()
                    .rposition(|m| m.id == message_id)
                {
                    for earlier in conversation.messages[..=position].iter_mut() {
                        if earlier.sender == Sender::Me
                            && matches!(earlier.delivery, Some(Delivery::Sent | Delivery::Sending))
                        {
                            earlier.delivery = Some(Delivery::Read);
                        }
                    }
                }
            }
        }
        ConversationEvent::Sla {
            violation,
            threshold_ms,
            actual_ms,
            ..
        } => {
            // Only while the customer is still waiting (a late event after an answer is moot).
            let human_replied = conversation
                .messages
                .iter()
                .any(|m| matches!(m.sender, Sender::Me | Sender::Broker { .. }));
            if conversation.waiting_since_ms.is_some() || !human_replied {
                let level = if violation {
                    SlaLevel::Breach
                } else {
                    SlaLevel::Warning
                };
                if conversation
                    .sla
                    .as_ref()
                    .is_none_or(|sla| sla.level <= level)
                {
                    conversation.sla = Some(Sla {
                        level,
                        threshold_ms,
                        actual_ms,
                        received_ms: now,
                    });
                }
                ring = violation;
            }
        }
        ConversationEvent::SuggestionSelected { .. } => {}
        ConversationEvent::Unknown { name, data } => {
            conversation.odd_events += 1;
            let text = format!(
                "Unknown event {}: {}",
                clean_line(&name),
                clean_line(&preview_json(&data))
            );
            conversation.insert(ChatMessage {
                id: message.id.clone(),
                sender: Sender::System,
                text,
                at_ms,
                delivery: None,
            });
        }
        ConversationEvent::Malformed { name, problem, .. } => {
            conversation.odd_events += 1;
            let text = format!(
                "Unreadable {} event: {}",
                clean_line(&name),
                clean_line(&problem)
            );
            conversation.insert(ChatMessage {
                id: message.id.clone(),
                sender: Sender::System,
                text,
                at_ms,
                delivery: None,
            });
        }
    }
    if let Some(message_id) = delivered
        && state.unsent.remove(&message_id).is_some()
    {
        effects.push(Effect::Delivered { message_id });
    }
    if ring {
        bell(state, effects);
    }
    if customer_wrote && on_screen {
        send_read_receipt(state, effects);
        super::commands::request_suggestions(state, effects);
    }
}

fn preview_json(data: &Value) -> String {
    let text = data.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// Announces the newest customer message of the open conversation as read, once.
pub(crate) fn send_read_receipt(state: &mut AppState, effects: &mut Vec<Effect>) {
    if state.read_only {
        return;
    }
    let now = state.now_ms;
    let me = state.me.broker_id.clone();
    let Some(id) = state.open.clone() else { return };
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return;
    };
    let Some(newest) = conversation.newest_customer_message().map(|m| m.id.clone()) else {
        return;
    };
    if conversation.read_sent.as_deref() == Some(newest.as_str()) {
        return;
    }
    conversation.read_sent = Some(newest.clone());
    effects.push(Effect::Publish {
        channel: conversation.channel.clone(),
        name: "read".into(),
        data: json!({"messageId": newest, "readAt": now, "actor": "broker", "brokerId": me, "timestamp": now}),
    });
}

fn presence(
    state: &mut AppState,
    channel: &str,
    action: PresenceAction,
    member: crate::protocol::PresenceMessage,
) {
    let Some(id) = ConversationId::from_channel(channel) else {
        return;
    };
    let my_client_id = state.my_client_id();
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return;
    };
    let client_id = member.client_id.clone().unwrap_or_default();
    let data =
        crate::protocol::data::decode(member.data.as_ref(), member.encoding.as_deref()).payload;
    let field = |name: &str| match &data {
        Payload::Json(value) => value.get(name).cloned(),
        _ => None,
    };
    let present = !matches!(action, PresenceAction::Leave | PresenceAction::Absent);
    if client_id == format!("customer-{}", conversation.id) {
        if let Some(name) = field("name")
            .as_ref()
            .and_then(Value::as_str)
            .map(clean_line)
            .filter(|n| !n.trim().is_empty())
        {
            conversation.customer_name = Some(name);
        }
        let away = field("status").as_ref().and_then(Value::as_str) == Some("away");
        conversation.presence = match (present, away) {
            (false, _) => Presence::Offline,
            (true, true) => Presence::Away,
            (true, false) => Presence::Online,
        };
    } else if client_id.starts_with("broker-") && client_id != my_client_id {
        let viewing = field("viewing")
            .as_ref()
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if present && viewing {
            let name = field("name")
                .as_ref()
                .and_then(Value::as_str)
                .map(clean_line)
                .unwrap_or_else(|| clean_line(&client_id));
            conversation.viewers.insert(client_id, name);
        } else {
            conversation.viewers.remove(&client_id);
        }
    }
}

/// History (recent on open, or older when scrolling up): stored without counting unread
/// or ringing; SLA and waiting state are rebuilt from it when it is the recent page.
pub(super) fn history(
    state: &mut AppState,
    channel: &str,
    messages: Vec<InboundMessage>,
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
    for message in messages {
        let parsed = ConversationEvent::parse(message.name.as_deref(), &message.payload);
        let at_ms = parsed
            .timestamp
            .or(message.timestamp.and_then(plausible_ms))
            .unwrap_or(0);
        let entry = match parsed.event {
            ConversationEvent::UserMessage {
                message_id,
                content,
            } => ChatMessage {
                id: message_id,
                sender: Sender::Customer,
                text: clean_block(&content),
                at_ms,
                delivery: None,
            },
            ConversationEvent::AiMessage {
                message_id,
                content,
                persona,
                ..
            } => {
                if conversation.persona.is_none() {
                    conversation.persona = persona.as_deref().map(clean_line);
                }
                ChatMessage {
                    id: message_id,
                    sender: Sender::Ai {
                        persona: persona.map(|p| clean_line(&p)),
                    },
                    text: clean_block(&content),
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
                let (sender, delivery) = if broker_id == me {
                    (Sender::Me, Some(Delivery::Sent))
                } else {
                    (
                        Sender::Broker {
                            id: clean_line(&broker_id),
                            name: broker_name.map(|n| clean_line(&n)),
                        },
                        None,
                    )
                };
                ChatMessage {
                    id: message_id,
                    sender,
                    text: clean_block(&content),
                    at_ms,
                    delivery,
                }
            }
            _ => continue,
        };
        conversation.insert(entry);
    }
    if !older {
        let waiting = super::super::conversation::waiting_since(&conversation.messages);
        if conversation.waiting_since_ms.is_none() {
            conversation.waiting_since_ms = waiting;
        }
    }
    state.reorder();
    if state.open.as_ref() == Some(&id) {
        send_read_receipt(state, effects);
    }
}
