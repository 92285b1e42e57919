//! The shared desk: claims, the AI paused, snooze and resolve, notes and who is writing.
//! What a broker asks for is published and takes effect when it comes back on the channel,
//! so every dashboard decides from the same order of events; only notes are shown at once.

use serde_json::json;

use crate::protocol::events::{ConversationEvent, ConversationId, ConversationStatus, TimedEvent};
use crate::protocol::names::ChannelName;
use crate::sanitize::{clean_block_owned, clean_line};

use super::super::action::{Incoming, PresenceSeen};
use super::super::conversation::{ChatMessage, Sender};
use super::super::effect::Effect;
use super::super::handling::Broker;
use super::super::snooze::parse_snooze;
use super::super::state::{AppState, Focus, Popup};
use super::ensure_conversation;

/// Our `composing: true` turns false after this long without a keystroke.
pub const COMPOSING_IDLE_MS: i64 = 5_000;
const NOTES_PREFIX: &str = "notes:";

/// The notes channel of a conversation: `notes:conversation:{id}`.
pub fn notes_channel(id: &ConversationId) -> Option<ChannelName> {
    ChannelName::parse(&format!("{NOTES_PREFIX}{}", id.channel())).ok()
}

/// The conversation a notes channel belongs to.
fn noted_conversation(channel: &str) -> Option<ConversationId> {
    ConversationId::from_channel(channel.strip_prefix(NOTES_PREFIX)?)
}

/// The conversation a command is about: the open one, or the selected row.
fn target(state: &AppState) -> Option<ConversationId> {
    if state.focus == Focus::Inbox {
        state.selected.clone().or_else(|| state.open.clone())
    } else {
        state.open.clone().or_else(|| state.selected.clone())
    }
}

fn publish(state: &mut AppState, channel: ChannelName, event: ConversationEvent) -> Effect {
    Effect::Publish {
        channel,
        event: TimedEvent {
            event,
            timestamp: Some(state.now_ms),
        },
    }
}

/// `c` / `C`, `t` / `T`, `x`: published on the conversation's channel.
pub(super) fn control(state: &mut AppState, event: ControlAsk, effects: &mut Vec<Effect>) {
    if state.read_only {
        state.notice = Some("Read-only: nothing is sent".into());
        return;
    }
    let Some(id) = target(state) else {
        return;
    };
    let Some(conversation) = state.conversations.get(&id) else {
        return;
    };
    let me = state.me.broker_id.clone();
    let name = Some(state.me.broker_name.clone());
    let event = match event {
        ControlAsk::Claim => ConversationEvent::Claim {
            released: false,
            broker_id: me,
            name,
        },
        ControlAsk::Release => ConversationEvent::Claim {
            released: true,
            broker_id: me,
            name,
        },
        ControlAsk::PauseAi => ConversationEvent::AiPause {
            paused: true,
            broker_id: me,
            reason: Some("a broker took over".into()),
        },
        ControlAsk::ResumeAi => ConversationEvent::AiPause {
            paused: false,
            broker_id: me,
            reason: None,
        },
        ControlAsk::Resolve => {
            let status = if conversation.handling.status == ConversationStatus::Resolved {
                ConversationStatus::Open
            } else {
                ConversationStatus::Resolved
            };
            ConversationEvent::Status {
                status,
                broker_id: me,
                until_ms: None,
            }
        }
    };
    let channel = conversation.channel.clone();
    let effect = publish(state, channel, event);
    effects.push(effect);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ControlAsk {
    Claim,
    Release,
    PauseAi,
    ResumeAi,
    Resolve,
}

/// `z`: asks how long (a snoozed conversation is opened again instead).
pub(super) fn snooze(state: &mut AppState, effects: &mut Vec<Effect>) {
    if state.read_only {
        state.notice = Some("Read-only: nothing is sent".into());
        return;
    }
    let Some(id) = target(state) else { return };
    let snoozed = state
        .conversations
        .get(&id)
        .is_some_and(|c| c.handling.status == ConversationStatus::Snoozed);
    if snoozed {
        publish_status(state, &id, ConversationStatus::Open, None, effects);
        return;
    }
    state.prompt.clear();
    state.popup = Some(Popup::Snooze);
}

/// The snooze prompt's Enter.
pub(super) fn snooze_entered(state: &mut AppState, effects: &mut Vec<Effect>) {
    match parse_snooze(&state.prompt, state.now_ms, state.utc_offset_s) {
        Ok(until_ms) => {
            state.popup = None;
            if let Some(id) = target(state) {
                publish_status(state, &id, ConversationStatus::Snoozed, until_ms, effects);
            }
        }
        Err(error) => state.notice = Some(error.to_string()),
    }
}

fn publish_status(
    state: &mut AppState,
    id: &ConversationId,
    status: ConversationStatus,
    until_ms: Option<i64>,
    effects: &mut Vec<Effect>,
) {
    let broker_id = state.me.broker_id.clone();
    let event = ConversationEvent::Status {
        status,
        broker_id,
        until_ms,
    };
    let effect = publish(state, id.channel(), event);
    effects.push(effect);
}

/// A claim, pause or status from the channel (live or history, in channel order), applied
/// once. Returns whether it was news.
pub(super) fn apply_control(state: &mut AppState, incoming: &Incoming) -> bool {
    // Checked first: every message passes here, and only these few are remembered.
    let control = matches!(
        incoming.event,
        ConversationEvent::Claim { .. }
            | ConversationEvent::AiPause { .. }
            | ConversationEvent::Status { .. }
    );
    if !control {
        return false;
    }
    let Some(id) = ConversationId::from_channel(&incoming.channel) else {
        return false;
    };
    let me = state.me.broker_id.clone();
    let my_name = state.me.broker_name.clone();
    let Some(conversation) = state.conversations.get_mut(&id) else {
        return false;
    };
    if !conversation.handling.first_time(&incoming.wire_id) {
        return false;
    }
    let broker = |broker_id: &str, name: Option<&str>| Broker {
        id: clean_line(broker_id),
        name: if broker_id == me {
            my_name.clone()
        } else {
            name.map(clean_line)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("broker {}", clean_line(broker_id)))
        },
    };
    let handling = &mut conversation.handling;
    match &incoming.event {
        ConversationEvent::Claim {
            released: false,
            broker_id,
            name,
        } => handling.claim(broker(broker_id, name.as_deref())),
        ConversationEvent::Claim { released: true, .. } => handling.release(),
        ConversationEvent::AiPause {
            paused, broker_id, ..
        } => handling.set_ai_paused(paused.then(|| broker(broker_id, None))),
        ConversationEvent::Status {
            status, until_ms, ..
        } => handling.set_status(*status, *until_ms),
        _ => return false,
    }
    state.reposition(&id);
    true
}

/// A note from the notes channel: shown in its conversation, marked as a note.
pub(super) fn note(state: &mut AppState, incoming: Incoming, effects: &mut Vec<Effect>) -> bool {
    let Some(id) = noted_conversation(&incoming.channel) else {
        return false;
    };
    let ConversationEvent::Note {
        note_id,
        content,
        broker_id,
        broker_name,
    } = incoming.event
    else {
        return true;
    };
    if ensure_conversation(state, id.channel().as_str(), effects).is_none() {
        return true;
    }
    let mine = broker_id == state.me.broker_id;
    let at_ms = incoming.at_ms.unwrap_or(state.now_ms);
    if let Some(conversation) = state.conversations.get_mut(&id) {
        conversation.insert(ChatMessage {
            id: note_id,
            sender: Sender::Note {
                broker_id: clean_line(&broker_id),
                name: broker_name.map(|n| clean_line(&n)),
                mine,
            },
            text: clean_block_owned(content),
            at_ms,
            delivery: None,
        });
    }
    true
}

/// The note in the composer goes to the notes channel, and shows at once.
pub(super) fn send_note(state: &mut AppState, text: String, effects: &mut Vec<Effect>) {
    let Some(id) = state.open.clone() else { return };
    let Some(channel) = notes_channel(&id) else {
        return;
    };
    let note_id = format!("note-{}", crate::realtime::new_message_id_base());
    let event = ConversationEvent::Note {
        note_id: note_id.clone(),
        content: text.clone(),
        broker_id: state.me.broker_id.clone(),
        broker_name: Some(state.me.broker_name.clone()),
    };
    let at_ms = state.now_ms;
    if let Some(conversation) = state.conversations.get_mut(&id) {
        conversation.insert(ChatMessage {
            id: note_id,
            sender: Sender::Note {
                broker_id: state.me.broker_id.clone(),
                name: Some(state.me.broker_name.clone()),
                mine: true,
            },
            text,
            at_ms,
            delivery: None,
        });
    }
    let effect = publish(state, channel, event);
    effects.push(effect);
}

/// Opening a conversation attaches its notes channel, once.
pub(super) fn watch_notes(state: &mut AppState, id: &ConversationId, effects: &mut Vec<Effect>) {
    let Some(conversation) = state.conversations.get_mut(id) else {
        return;
    };
    if conversation.handling.notes_attached {
        return;
    }
    if let Some(channel) = notes_channel(id) {
        conversation.handling.notes_attached = true;
        effects.push(Effect::Attach { channel });
    }
}

/// Another broker's presence says whether they are writing a reply.
pub(super) fn writer_seen(state: &mut AppState, id: &ConversationId, seen: &PresenceSeen) {
    let Some(conversation) = state.conversations.get_mut(id) else {
        return;
    };
    let writing = seen.present() && seen.composing == Some(true);
    if writing {
        let name = clean_line(seen.name.as_deref().unwrap_or(seen.client_id.as_str()));
        conversation
            .handling
            .writers
            .insert(seen.client_id.as_str().to_owned(), name);
    } else {
        conversation
            .handling
            .writers
            .remove(seen.client_id.as_str());
    }
}

/// Our presence data on the open conversation.
pub(super) fn presence_data(state: &AppState, composing: bool) -> serde_json::Value {
    json!({"name": state.me.broker_name, "viewing": true, "composing": composing})
}

/// A keystroke in the composer: the reply's start is noted, and presence says we write.
pub(super) fn composer_changed(state: &mut AppState, effects: &mut Vec<Effect>) {
    let Some(id) = state.open.clone() else { return };
    if state
        .compose_started
        .as_ref()
        .is_none_or(|(open, _)| *open != id)
    {
        // Everything on screen counts as seen, whatever the clock read says (it may lag
        // the publishers' timestamps by a fraction of a second).
        let newest = state
            .conversations
            .get(&id)
            .map_or(i64::MIN, |c| c.last_activity_ms);
        state.compose_started = Some((id.clone(), state.now_ms.max(newest)));
    }
    if !state.composing_sent && !state.note_mode && !state.read_only {
        state.composing_sent = true;
        effects.push(Effect::UpdatePresence {
            channel: id.channel(),
            data: presence_data(state, true),
        });
    }
}

/// Presence stops saying we write: after a pause in typing, a send, or a discard.
pub(super) fn stop_composing(state: &mut AppState, effects: &mut Vec<Effect>) {
    if !state.composing_sent {
        return;
    }
    state.composing_sent = false;
    if let Some(channel) = state.open_conversation().map(|c| c.channel.clone()) {
        effects.push(Effect::UpdatePresence {
            channel,
            data: presence_data(state, false),
        });
    }
}

/// Once a tick: our composing flag expires, snoozes with a time wake up.
pub(super) fn tick(state: &mut AppState, now_ms: i64, effects: &mut Vec<Effect>) -> bool {
    if state.composing_sent && now_ms - state.last_keystroke_ms >= COMPOSING_IDLE_MS {
        stop_composing(state, effects);
    }
    let woke: Vec<ConversationId> = state
        .conversations
        .values_mut()
        .filter_map(|c| c.handling.tick(now_ms).then(|| c.id.clone()))
        .collect();
    for id in &woke {
        state.reposition(id);
    }
    !woke.is_empty()
}
