//! `update(&mut AppState, Action) -> Vec<Effect>`: the only code that changes the
//! dashboard's state, and it does no I/O. Conversation events are in `messages`, the rest
//! of the network in `net`, the outbox's decisions in `replies`, the keyboard in
//! `commands` and `text`.
//!
//! Longer than 80 lines, kept whole: `update`, a dispatch `match` over every action.

mod board;
mod commands;
mod guard;
mod handling;
mod messages;
mod net;
mod replies;
mod supervision;
mod text;

pub use guard::ai_answering;
pub use handling::{COMPOSING_IDLE_MS, notes_channel};
pub use supervision::short_duration;

use crate::protocol::events::{Actor, ConversationEvent, ConversationId, TimedEvent};
use crate::protocol::names::ChannelName;
use crate::sanitize::clean_block;

use super::action::Action;
use super::conversation::Conversation;
use super::effect::Effect;
use super::state::AppState;

/// Typing indicators without a `typing:stop` fade after this long.
pub const TYPING_EXPIRY_MS: i64 = 10_000;
/// Our `typing:stop` goes out after this long without a key.
pub const TYPING_IDLE_MS: i64 = 2_000;

pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    match action {
        Action::Command(command) => commands::command(state, command, &mut effects),
        Action::ComposerKey(key) => text::composer_key(state, key, &mut effects),
        Action::FilterKey(key) => text::filter_key(state, key),
        Action::PopupKey(key) => text::popup_key(state, key, &mut effects),
        Action::Connection {
            shard,
            state: connection,
            reason,
        } => net::connection(state, shard, connection, reason, &mut effects),
        Action::Transport { shard, polling } => net::transport(state, shard, polling, &mut effects),
        Action::Watch {
            channel,
            attached,
            failure,
        } => net::watch(state, channel, attached, failure),
        Action::Opened { channel } => {
            if let Some(id) = ensure_conversation(state, &channel, &mut effects) {
                state.reposition(&id);
            }
        }
        Action::Incoming(incoming) => messages::live(state, incoming, &mut effects),
        Action::Presence(seen) => net::presence(state, seen),
        Action::GapFilled { channel, recovered } => net::system_line(
            state,
            &channel,
            &format!(
                "Connection was interrupted: {recovered} missed message(s) recovered from history"
            ),
        ),
        Action::ContinuityLost { channel, reason } => net::system_line(
            state,
            &channel,
            &format!("Connection was interrupted and some messages may be missing ({reason})"),
        ),
        Action::Discovered(channels) => {
            for channel in channels {
                ensure_conversation(state, &channel, &mut effects);
            }
            state.reorder();
        }
        Action::History {
            channel,
            messages,
            older,
            complete,
        } => messages::history(state, &channel, messages, older, complete, &mut effects),
        Action::HistoryFailed { channel, reason } => {
            if let Some(conversation) = conversation_mut(state, &channel) {
                conversation.loading_older = false;
            }
            state.notice = Some(clean_block(&format!(
                "Could not load history for {channel}: {reason}"
            )));
        }
        Action::Suggestions {
            channel,
            replies,
            from_web_app,
        } => {
            // A late answer for a conversation no longer open is not shown under another.
            if state.open_conversation().map(|c| &c.channel) != Some(&channel) {
                return effects;
            }
            suggestions(state, channel, &replies, from_web_app);
        }
        Action::ReplySettled { message_id, result } => {
            replies::settled(state, &message_id, result, &mut effects);
        }
        Action::OutboxRestored(entries) => replies::restored(state, entries, &mut effects),
        Action::Drafts(drafts) => {
            for (channel, text) in drafts {
                if let Some(id) = ensure_conversation(state, &channel, &mut effects)
                    && let Some(conversation) = state.conversations.get_mut(&id)
                {
                    conversation.draft = text;
                }
            }
            state.reorder();
        }
        Action::Tick { now_ms } => {
            if !tick(state, now_ms, &mut effects) {
                // Nothing visible changed: no redraw.
                return effects;
            }
        }
        Action::Resized => {}
        Action::AlertsRestored(alerts) => state.alerts.restore(alerts),
        Action::Health { shard, stats } => {
            let now_ms = state.now_ms;
            state.health.record(shard, stats, now_ms);
        }
        Action::OpenConversation(id) => {
            if state.conversations.contains_key(&id) {
                commands::open(state, &id, &mut effects);
                state.focus = super::state::Focus::Conversation;
            }
        }
        Action::Paste(text) => {
            if state.focus == super::state::Focus::Composer && !state.read_only {
                state.composer.insert_str(clean_block(&text));
            }
        }
        Action::SetDraft(text) => {
            if !state.read_only {
                let mut composer = super::state::new_composer();
                composer.insert_str(&text);
                state.composer = composer;
            }
        }
    }
    // Every action but a quiet tick changes what is on screen.
    state.dirty = true;
    if state.read_only {
        // Watching without touching: whatever asked to publish, nothing does.
        effects.retain(|effect| !effect.publishes());
    }
    effects
}

fn suggestions(state: &mut AppState, channel: ChannelName, replies: &[String], from_web_app: bool) {
    let replies: Vec<String> = replies
        .iter()
        .map(|reply| clean_block(reply))
        .filter(|r| !r.trim().is_empty())
        .take(9)
        .collect();
    let replies = if replies.is_empty() {
        state.canned.values().take(9).cloned().collect()
    } else {
        replies
    };
    state.suggestions = Some(super::state::Suggestions {
        channel,
        replies,
        from_web_app,
        highlighted: 0,
    });
}

/// Returns whether anything visible changed (waiting times move once a minute).
fn tick(state: &mut AppState, now_ms: i64, effects: &mut Vec<Effect>) -> bool {
    let minute_changed = now_ms / 60_000 != state.now_ms / 60_000;
    state.now_ms = now_ms;
    if state.typing_sent_ms.is_some() && now_ms - state.last_keystroke_ms >= TYPING_IDLE_MS {
        state.typing_sent_ms = None;
        if let Some(channel) = state.open_conversation().map(|c| c.channel.clone()) {
            effects.push(typing_effect(state, &channel, false));
        }
    }
    let mut expired = false;
    for conversation in state.conversations.values_mut() {
        if conversation
            .typing
            .as_ref()
            .is_some_and(|typing| now_ms - typing.since_ms >= TYPING_EXPIRY_MS)
        {
            conversation.typing = None;
            expired = true;
        }
    }
    let crossed = supervision::clock_tick(state, now_ms, effects);
    let woke = handling::tick(state, now_ms, effects);
    if !minute_changed && !expired && !crossed && !woke {
        return false;
    }
    state.reorder();
    true
}

pub(crate) fn typing_effect(state: &AppState, channel: &ChannelName, started: bool) -> Effect {
    Effect::Publish {
        channel: channel.clone(),
        event: TimedEvent {
            event: ConversationEvent::Typing {
                started,
                actor: Actor::Broker,
                broker_id: Some(state.me.broker_id.clone()),
            },
            timestamp: Some(state.now_ms),
        },
    }
}

/// The conversation for a channel, created (and attached) when new.
pub(crate) fn ensure_conversation(
    state: &mut AppState,
    channel: &str,
    effects: &mut Vec<Effect>,
) -> Option<ConversationId> {
    let id = ConversationId::from_channel(channel)?;
    if !state.conversations.contains_key(&id) {
        state
            .conversations
            .insert(id.clone(), Conversation::new(id.clone()));
        effects.push(Effect::Attach {
            channel: id.channel(),
        });
    }
    Some(id)
}

pub(crate) fn conversation_mut<'a>(
    state: &'a mut AppState,
    channel: &str,
) -> Option<&'a mut Conversation> {
    let id = ConversationId::from_channel(channel)?;
    state.conversations.get_mut(&id)
}

#[cfg(test)]
mod tests;
