//! The outbox's decisions, all here: what follows a reply's send, acknowledgement,
//! refusal, lost connection, echo from the channel, restart, and the broker's retry.

use serde_json::Value;

use crate::protocol::events::{ConversationEvent, ConversationId, TimedEvent};
use crate::realtime::{ClientError, PublishAck};
use crate::sanitize::clean_block;
use crate::store::OutboxEntry;

use super::super::conversation::{ChatMessage, Delivery, Sender, waiting_since};
use super::super::effect::Effect;
use super::super::outbox::ReplyStage;
use super::super::state::AppState;
use super::ensure_conversation;

/// The outbox entry for a reply: its wire form, serialised once, is what is stored and
/// what is published.
pub(super) fn reply_entry(
    state: &AppState,
    channel: &str,
    message_id: &str,
    content: &str,
    at_ms: i64,
) -> OutboxEntry {
    let event = TimedEvent {
        event: ConversationEvent::BrokerMessage {
            message_id: message_id.to_owned(),
            content: content.to_owned(),
            broker_id: state.me.broker_id.clone(),
            broker_name: Some(state.me.broker_name.clone()),
        },
        timestamp: Some(at_ms),
    };
    let (name, data) = event.to_wire();
    OutboxEntry {
        message_id: message_id.to_owned(),
        channel: channel.to_owned(),
        name,
        data: data.to_string(),
        created_ms: at_ms,
    }
}

/// A new reply: into the outbox (state and store), then out.
pub(super) fn send(
    state: &mut AppState,
    conversation: ConversationId,
    entry: OutboxEntry,
    effects: &mut Vec<Effect>,
) {
    state.outbox.sending(conversation, entry.clone());
    effects.push(Effect::SendReply(entry));
}

/// A publish finished. Acknowledged: done. Failed with the connection: waits for it.
/// Refused: shown as failed (the store forgets it, or it would be refused at every start).
pub(super) fn settled(
    state: &mut AppState,
    message_id: &str,
    result: Result<PublishAck, ClientError>,
    effects: &mut Vec<Effect>,
) {
    let Some(reply) = state.outbox.get(message_id) else {
        return;
    };
    let conversation = reply.conversation.clone();
    match result {
        Ok(_) => {
            state.outbox.remove(message_id);
            set_delivery(
                state,
                &conversation,
                message_id,
                |delivery| match delivery {
                    Some(Delivery::Read) => Delivery::Read,
                    _ => Delivery::Sent,
                },
            );
            effects.push(Effect::ForgetReply {
                message_id: message_id.to_owned(),
            });
        }
        Err(error) if error.is_connection_failure() => {
            state
                .outbox
                .set_stage(message_id, ReplyStage::AwaitingConnection);
        }
        Err(_) => {
            state.outbox.set_stage(message_id, ReplyStage::Refused);
            set_delivery(state, &conversation, message_id, |_| Delivery::Failed);
            state.notice = Some("A reply was refused; it stays unsent — r to retry".to_owned());
            // Not answered after all: the customer is waiting again since their first
            // message after the last reply that did go out.
            if let Some(conversation) = state.conversations.get_mut(&conversation) {
                conversation.waiting_since_ms = waiting_since(&conversation.messages);
            }
            effects.push(Effect::ForgetReply {
                message_id: message_id.to_owned(),
            });
        }
    }
}

/// A connection is back: replies that lost theirs go out again, with the same ids.
pub(super) fn connection_back(state: &mut AppState, effects: &mut Vec<Effect>) {
    for entry in state.outbox.resume(ReplyStage::AwaitingConnection) {
        effects.push(Effect::PublishReply(entry));
    }
}

/// Our reply came back from the channel: it arrived, whatever became of its ACK.
pub(super) fn echoed(state: &mut AppState, message_id: &str, effects: &mut Vec<Effect>) {
    if state.outbox.remove(message_id).is_some() {
        effects.push(Effect::ForgetReply {
            message_id: message_id.to_owned(),
        });
    }
}

/// `r` on a conversation with refused replies: each is tried again with its own id.
/// Returns whether there was any.
pub(super) fn retry_refused(state: &mut AppState, effects: &mut Vec<Effect>) -> bool {
    let Some(open) = state.open.clone() else {
        return false;
    };
    let refused = state.outbox.ids_in(&open, ReplyStage::Refused);
    for message_id in &refused {
        state.outbox.set_stage(message_id, ReplyStage::Sending);
        set_delivery(state, &open, message_id, |_| Delivery::Sending);
        if let Some(reply) = state.outbox.get(message_id) {
            effects.push(Effect::SendReply(reply.entry.clone()));
        }
    }
    !refused.is_empty()
}

/// Replies an earlier run left in the store: shown as sending, and sent again once the
/// channel's history shows they did not arrive.
pub(super) fn restored(state: &mut AppState, entries: Vec<OutboxEntry>, effects: &mut Vec<Effect>) {
    for entry in entries {
        let Some(id) = ensure_conversation(state, &entry.channel, effects) else {
            continue;
        };
        let content = serde_json::from_str::<Value>(&entry.data)
            .ok()
            .and_then(|data| data.get("content").and_then(Value::as_str).map(clean_block))
            .unwrap_or_default();
        if let Some(conversation) = state.conversations.get_mut(&id) {
            conversation.insert(ChatMessage {
                id: entry.message_id.clone(),
                sender: Sender::Me,
                text: content,
                at_ms: entry.created_ms,
                delivery: Some(Delivery::Sending),
            });
        }
        state.outbox.sending(id, entry.clone());
        effects.push(Effect::ResendReply(entry));
    }
    state.reorder();
}

fn set_delivery(
    state: &mut AppState,
    conversation: &ConversationId,
    message_id: &str,
    next: impl FnOnce(Option<Delivery>) -> Delivery,
) {
    if let Some(conversation) = state.conversations.get_mut(conversation)
        && let Some(message) = conversation
            .messages
            .iter_mut()
            .rev()
            .find(|m| m.id == message_id)
    {
        message.delivery = Some(next(message.delivery));
    }
}
