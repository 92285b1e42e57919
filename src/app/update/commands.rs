//! Commands from the keymap.
//!
//! Longer than 80 lines, kept whole: `command`, a dispatch `match` over the commands.

use serde_json::json;

use crate::protocol::events::{ConversationEvent, ConversationId, TimedEvent};
use crate::realtime::new_message_id_base;

use super::super::action::Command;
use super::super::conversation::{ChatMessage, Delivery, Sender};
use super::super::effect::Effect;
use super::super::state::{AppState, Focus, Popup, SortMode, new_composer};
use super::handling::{self, ControlAsk};
use super::net::send_read_receipt;
use super::{board, guard, replies, typing_effect};

pub(super) fn command(state: &mut AppState, command: Command, effects: &mut Vec<Effect>) {
    state.notice = None;
    match command {
        Command::NextPane => cycle_focus(state, true),
        Command::PreviousPane => cycle_focus(state, false),
        Command::Claim => handling::control(state, ControlAsk::Claim, effects),
        Command::Release => handling::control(state, ControlAsk::Release, effects),
        Command::PauseAi => handling::control(state, ControlAsk::PauseAi, effects),
        Command::ResumeAi => handling::control(state, ControlAsk::ResumeAi, effects),
        Command::Resolve => handling::control(state, ControlAsk::Resolve, effects),
        Command::Snooze => handling::snooze(state, effects),
        Command::Note => write_note(state, effects),
        Command::InboxView => {
            state.inbox_view = state.inbox_view.next();
            state.reorder();
        }
        Command::Board => board::toggle(state),
        Command::NextPanel => state.board.panel = state.board.panel.next(),
        _ if state.focus == Focus::Board && board::command(state, &command, effects) => {}
        Command::Down => move_cursor(state, 1, effects),
        Command::Up => move_cursor(state, -1, effects),
        Command::Open => {
            if let Some(id) = state.selected.clone() {
                open(state, &id, effects);
                state.focus = Focus::Conversation;
            }
        }
        Command::FocusComposer => focus_composer(state, effects),
        Command::Reply => {
            if !replies::retry_refused(state, effects) {
                focus_composer(state, effects);
            }
        }
        Command::Back => {
            state.focus = match state.focus {
                Focus::Suggestions => Focus::Composer,
                Focus::Composer => Focus::Conversation,
                Focus::Conversation | Focus::Inbox => Focus::Inbox,
                Focus::Board => Focus::Board,
            };
        }
        Command::NextConversation => step_conversation(state, 1, effects),
        Command::PreviousConversation => step_conversation(state, -1, effects),
        Command::MostUrgent => {
            let previous = state.sort;
            state.sort = SortMode::Urgency;
            state.reorder();
            let first = state.order.first().cloned();
            state.sort = previous;
            state.reorder();
            if let Some(id) = first {
                state.selected = Some(id.clone());
                open(state, &id, effects);
                if state.focus == Focus::Inbox {
                    state.focus = Focus::Conversation;
                }
            }
        }
        Command::Filter => {
            state.filter_editing = true;
            state.focus = Focus::Inbox;
        }
        Command::ToggleSort => {
            state.sort = match state.sort {
                SortMode::Urgency => SortMode::Name,
                SortMode::Name => SortMode::Urgency,
            };
            state.reorder();
        }
        Command::PageUp => scroll(state, 10, effects),
        Command::PageDown => scroll(state, -10, effects),
        Command::Top => scroll(state, isize::MAX / 2, effects),
        Command::Bottom => {
            if let Some(conversation) = open_mut(state) {
                conversation.scroll = Default::default();
            }
        }
        Command::Send => send(state, effects, false),
        Command::Newline => {
            state.composer.insert_newline();
        }
        Command::FocusSuggestions => {
            if state
                .suggestions
                .as_ref()
                .is_some_and(|s| !s.replies.is_empty())
            {
                state.focus = Focus::Suggestions;
            }
        }
        Command::PickSuggestion(number) => pick_suggestion(state, number, effects),
        Command::Help => {
            state.popup = Some(Popup::Help);
            state.help_offset = 0;
        }
        Command::Quit => {
            if state.outbox.is_empty() {
                quit(state, effects);
            } else {
                state.popup = Some(Popup::ConfirmQuit);
            }
        }
    }
}

/// `n`: the composer writes a private note for the brokers (read-only: refused).
fn write_note(state: &mut AppState, effects: &mut Vec<Effect>) {
    if state.read_only {
        state.notice = Some("Read-only: nothing is sent".into());
        return;
    }
    focus_composer(state, effects);
    if state.focus == Focus::Composer {
        state.note_mode = true;
    }
}

pub(super) fn quit(state: &mut AppState, effects: &mut Vec<Effect>) {
    save_draft(state, effects);
    if let Some(channel) = state.open_conversation().map(|c| c.channel.clone())
        && !state.read_only
    {
        effects.push(Effect::LeavePresence { channel });
    }
    state.quit = true;
}

fn open_mut(state: &mut AppState) -> Option<&mut super::super::conversation::Conversation> {
    let id = state.open.clone()?;
    state.conversations.get_mut(&id)
}

fn cycle_focus(state: &mut AppState, forward: bool) {
    let mut panes = vec![Focus::Inbox];
    if state.open.is_some() {
        panes.push(Focus::Conversation);
        if !state.read_only {
            panes.push(Focus::Composer);
        }
    }
    let current = panes
        .iter()
        .position(|pane| *pane == state.focus)
        .unwrap_or(0);
    let next = if forward {
        (current + 1) % panes.len()
    } else {
        (current + panes.len() - 1) % panes.len()
    };
    state.focus = panes[next];
}

fn move_cursor(state: &mut AppState, step: isize, effects: &mut Vec<Effect>) {
    match state.focus {
        Focus::Inbox => {
            let position = state
                .selected
                .as_ref()
                .and_then(|id| state.order.iter().position(|row| row == id));
            let next = match position {
                Some(index) => index
                    .saturating_add_signed(step)
                    .min(state.order.len().saturating_sub(1)),
                None => 0,
            };
            state.selected = state.order.get(next).cloned();
        }
        Focus::Conversation => scroll(state, -step, effects),
        Focus::Suggestions => {
            if let Some(suggestions) = &mut state.suggestions {
                let last = suggestions.replies.len().saturating_sub(1);
                suggestions.highlighted = suggestions
                    .highlighted
                    .saturating_add_signed(step)
                    .min(last);
            }
        }
        Focus::Composer => {}
        Focus::Board => state.board.step(step),
    }
}

/// Scrolls by `messages` (positive = older); reaching the top pages older history in.
fn scroll(state: &mut AppState, messages: isize, effects: &mut Vec<Effect>) {
    let Some(conversation) = open_mut(state) else {
        return;
    };
    let count = conversation.messages.len();
    let target = conversation
        .scroll
        .from_bottom
        .saturating_add_signed(messages)
        .min(count.saturating_sub(1));
    conversation.scroll.from_bottom = target;
    if target == 0 {
        conversation.scroll.new_below = 0;
    }
    let at_top = count == 0 || target + 1 >= count;
    if at_top && messages > 0 && !conversation.loading_older && !conversation.history_exhausted {
        conversation.loading_older = true;
        effects.push(Effect::FetchHistory {
            channel: conversation.channel.clone(),
            before_ms: conversation.oldest_ms(),
        });
    }
}

fn step_conversation(state: &mut AppState, step: isize, effects: &mut Vec<Effect>) {
    if state.order.is_empty() {
        return;
    }
    let current = state
        .open
        .as_ref()
        .or(state.selected.as_ref())
        .and_then(|id| state.order.iter().position(|row| row == id));
    let next = match current {
        Some(index) => (index as isize + step).rem_euclid(state.order.len() as isize) as usize,
        None => 0,
    };
    let id = state.order[next].clone();
    state.selected = Some(id.clone());
    open(state, &id, effects);
    if state.focus == Focus::Inbox {
        state.focus = Focus::Conversation;
    }
}

fn focus_composer(state: &mut AppState, effects: &mut Vec<Effect>) {
    if state.read_only {
        state.notice = Some("Read-only: replies are off".into());
        return;
    }
    if state.open.is_none()
        && let Some(id) = state.selected.clone()
    {
        open(state, &id, effects);
    }
    if state.open.is_some() {
        state.focus = Focus::Composer;
    }
}

/// The send guard's "discard": the reply and its draft go.
pub(super) fn discard(state: &mut AppState, effects: &mut Vec<Effect>) {
    state.composer = new_composer();
    state.compose_started = None;
    handling::stop_composing(state, effects);
    if let Some(channel) = state.open_conversation().map(|c| c.channel.clone())
        && state.typing_sent_ms.take().is_some()
    {
        effects.push(typing_effect(state, &channel, false));
    }
    save_draft(state, effects);
    state.focus = Focus::Conversation;
}

fn save_draft(state: &mut AppState, effects: &mut Vec<Effect>) {
    let text = state.composer.lines().join("\n");
    if let Some(conversation) = open_mut(state)
        && conversation.draft != text
    {
        conversation.draft.clone_from(&text);
        effects.push(Effect::SaveDraft {
            channel: conversation.channel.clone(),
            text,
        });
    }
}

/// Opens a conversation: draft swapped in, presence moved, history and suggestions asked
/// for, unread cleared and the newest customer message marked read.
pub(super) fn open(state: &mut AppState, id: &ConversationId, effects: &mut Vec<Effect>) {
    if state.open.as_ref() == Some(id) {
        return;
    }
    save_draft(state, effects);
    if state.typing_sent_ms.take().is_some()
        && let Some(channel) = state.open_conversation().map(|c| c.channel.clone())
    {
        effects.push(typing_effect(state, &channel, false));
    }
    if let Some(previous) = state.open_conversation().map(|c| c.channel.clone())
        && !state.read_only
    {
        effects.push(Effect::LeavePresence { channel: previous });
    }
    handling::stop_composing(state, effects);
    state.note_mode = false;
    state.open = Some(id.clone());
    state.selected = Some(id.clone());
    handling::watch_notes(state, id, effects);
    let name = state.me.broker_name.clone();
    let read_only = state.read_only;
    let Some(conversation) = state.conversations.get_mut(id) else {
        return;
    };
    conversation.unread = 0;
    conversation.scroll = Default::default();
    let mut composer = new_composer();
    if !conversation.draft.is_empty() {
        composer.insert_str(&conversation.draft);
    }
    state.composer = composer;
    effects.push(Effect::Focus {
        channel: conversation.channel.clone(),
    });
    if !read_only {
        effects.push(Effect::EnterPresence {
            channel: conversation.channel.clone(),
            data: json!({"name": name, "viewing": true, "composing": false}),
        });
    }
    if !conversation.history_requested {
        conversation.history_requested = true;
        effects.push(Effect::FetchHistory {
            channel: conversation.channel.clone(),
            before_ms: None,
        });
    }
    state.suggestions = None;
    request_suggestions(state, effects);
    send_read_receipt(state, effects);
    state.reorder();
}

pub(crate) fn request_suggestions(state: &mut AppState, effects: &mut Vec<Effect>) {
    if state.read_only {
        return;
    }
    let Some(conversation) = state.open_conversation() else {
        return;
    };
    effects.push(Effect::FetchSuggestions {
        channel: conversation.channel.clone(),
        conversation_id: conversation.id.as_str().to_owned(),
        persona: conversation
            .persona
            .clone()
            .unwrap_or_else(|| "default".into()),
    });
}

/// Enter in the composer: a note goes to the notes channel; a reply is checked by the send
/// guard first, unless the broker already chose to send it anyway.
pub(super) fn send(state: &mut AppState, effects: &mut Vec<Effect>, confirmed: bool) {
    if state.read_only {
        return;
    }
    let text = state.composer.lines().join("\n");
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return;
    }
    if state.note_mode {
        handling::send_note(state, trimmed.to_owned(), effects);
        state.note_mode = false;
        state.composer = new_composer();
        return;
    }
    // `/code` alone expands a canned reply for editing instead of sending.
    if let Some(code) = trimmed.strip_prefix('/')
        && !code.contains(char::is_whitespace)
    {
        match state.canned.get(code).cloned() {
            Some(reply) => {
                let mut composer = new_composer();
                composer.insert_str(&reply);
                state.composer = composer;
            }
            None => state.notice = Some(format!("No canned reply named /{code}")),
        }
        return;
    }
    if !confirmed {
        let (reasons, offers_pause) = guard::reasons(state);
        if !reasons.is_empty() {
            state.guard_reasons = reasons;
            state.guard_offers_pause = offers_pause;
            state.popup = Some(Popup::SendGuard);
            return;
        }
    }
    let Some(id) = state.open.clone() else { return };
    let Some((channel, newest)) = state
        .conversations
        .get(&id)
        .map(|c| (c.channel.clone(), c.last_activity_ms))
    else {
        return;
    };
    let message_id = format!("{}:0", new_message_id_base());
    let content = trimmed.to_owned();
    // A reply follows everything the broker saw, even if the clock read lags a little.
    let now = state.now_ms.max(newest + 1);
    let entry = replies::reply_entry(state, &channel, &message_id, &content, now);
    if state.typing_sent_ms.take().is_some() {
        effects.push(typing_effect(state, &channel, false));
    }
    if let Some(conversation) = state.conversations.get_mut(&id) {
        conversation.insert(ChatMessage {
            id: message_id.clone(),
            sender: Sender::Me,
            text: content,
            at_ms: now,
            delivery: Some(Delivery::Sending),
        });
        conversation.answered();
        conversation.scroll = Default::default();
        conversation.draft.clear();
    }
    state.composer = new_composer();
    state.compose_started = None;
    handling::stop_composing(state, effects);
    effects.push(Effect::SaveDraft {
        channel,
        text: String::new(),
    });
    replies::send(state, id, entry, effects);
    state.reorder();
}

fn pick_suggestion(state: &mut AppState, number: Option<u8>, effects: &mut Vec<Effect>) {
    if state.read_only {
        return;
    }
    let Some(suggestions) = &state.suggestions else {
        return;
    };
    let index = match number {
        Some(n) => usize::from(n.saturating_sub(1)),
        None => suggestions.highlighted,
    };
    let Some(reply) = suggestions.replies.get(index).cloned() else {
        return;
    };
    let channel = suggestions.channel.clone();
    // Filled in for editing, never sent blind.
    let mut composer = new_composer();
    composer.insert_str(&reply);
    state.composer = composer;
    state.focus = Focus::Composer;
    let persona = state.open_conversation().and_then(|c| c.persona.clone());
    effects.push(Effect::Publish {
        channel,
        event: TimedEvent {
            event: ConversationEvent::SuggestionSelected {
                suggestion: reply,
                persona,
            },
            timestamp: Some(state.now_ms),
        },
    });
}
