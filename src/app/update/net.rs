//! The network around the conversations: connection and channel states, presence, gaps,
//! and the read receipts we send.

use crate::protocol::events::{Actor, ConversationEvent, ConversationId, TimedEvent};
use crate::sanitize::clean_line;

use super::super::action::PresenceSeen;
use super::super::conversation::{ChatMessage, Presence, Sender};
use super::super::effect::Effect;
use super::super::state::{AppState, ConnectionStatus};
use super::replies;

pub(super) fn connection(
    state: &mut AppState,
    shard: usize,
    status: ConnectionStatus,
    reason: Option<String>,
    effects: &mut Vec<Effect>,
) {
    let connection = state.connections.entry(shard).or_default();
    if status == ConnectionStatus::Connecting && connection.state != ConnectionStatus::Initialized {
        connection.attempts += 1;
    }
    if status == ConnectionStatus::Connected {
        connection.attempts = 0;
    }
    connection.state = status;
    connection.reason = reason.map(|reason| clean_line(&reason));
    if status == ConnectionStatus::Connected {
        replies::connection_back(state, effects);
    }
}

/// Polling began or ended. Publishing works while polling (over REST), so replies that
/// waited for a connection go now.
pub(super) fn transport(
    state: &mut AppState,
    shard: usize,
    polling: Option<String>,
    effects: &mut Vec<Effect>,
) {
    let connection = state.connections.entry(shard).or_default();
    let started = polling.is_some();
    connection.polling = polling.map(|reason| clean_line(&reason));
    if started {
        replies::connection_back(state, effects);
    }
}

pub(super) fn watch(
    state: &mut AppState,
    channel: String,
    attached: bool,
    failure: Option<String>,
) {
    if ConversationId::from_channel(&channel).is_none() {
        return;
    }
    if let Some(reason) = failure {
        state.notice = Some(clean_line(&format!(
            "{channel} could not be watched: {reason}"
        )));
    }
    if attached {
        state.attached.insert(channel);
    } else {
        state.attached.remove(&channel);
    }
}

pub(super) fn system_line(state: &mut AppState, channel: &str, text: &str) {
    let now = state.now_ms;
    if let Some(conversation) = super::conversation_mut(state, channel) {
        let id = format!("system-{now}-{}", conversation.messages.len());
        conversation.insert(ChatMessage {
            id,
            sender: Sender::System,
            text: clean_line(text),
            at_ms: now,
            delivery: None,
        });
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
        event: TimedEvent {
            event: ConversationEvent::Read {
                message_id: newest,
                read_at: Some(now),
                actor: Actor::Broker,
                broker_id: Some(me),
            },
            timestamp: Some(now),
        },
    });
}

/// The customer's presence (online, away, offline, name) and other brokers viewing.
pub(super) fn presence(state: &mut AppState, seen: PresenceSeen) {
    let Some(id) = ConversationId::from_channel(&seen.channel) else {
        return;
    };
    let my_client_id = state.my_client_id();
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return;
    };
    let present = seen.present();
    if seen.client_id.is_customer_of(&conversation.id) {
        if let Some(name) = seen
            .name
            .as_deref()
            .map(clean_line)
            .filter(|n| !n.trim().is_empty())
        {
            conversation.customer_name = Some(name);
        }
        conversation.presence = match (present, seen.away) {
            (false, _) => Presence::Offline,
            (true, true) => Presence::Away,
            (true, false) => Presence::Online,
        };
    } else if seen.client_id.broker_id().is_some() && seen.client_id != my_client_id {
        super::handling::writer_seen(state, &id, &seen);
        let Some(conversation) = state.conversations.get_mut(&id) else {
            return;
        };
        if present && seen.viewing.unwrap_or(true) {
            let name = clean_line(seen.name.as_deref().unwrap_or(seen.client_id.as_str()));
            conversation
                .viewers
                .insert(seen.client_id.into_string(), name);
        } else {
            conversation.viewers.remove(seen.client_id.as_str());
        }
    }
    state.reposition(&id);
}
