//! Keys that edit text (the composer, the filter prompt) and answer popups.

use crossterm::event::{KeyCode, KeyEvent};

use super::super::effect::Effect;
use super::super::state::{AppState, Popup};
use super::commands::quit;
use super::typing_effect;

pub(super) fn composer_key(state: &mut AppState, key: KeyEvent, effects: &mut Vec<Effect>) {
    if state.read_only {
        return;
    }
    let changed = state.composer.input(key);
    if !changed {
        return;
    }
    state.last_keystroke_ms = state.now_ms;
    super::handling::composer_changed(state, effects);
    let text = state.composer.lines().join("\n");
    let Some(channel) = state.open_conversation().map(|c| c.channel.clone()) else {
        return;
    };
    if state.typing_sent_ms.is_none() && !text.trim().is_empty() {
        state.typing_sent_ms = Some(state.now_ms);
        effects.push(typing_effect(state, &channel, true));
    }
    if let Some(id) = state.open.clone()
        && let Some(conversation) = state.conversations.get_mut(&id)
    {
        conversation.draft.clone_from(&text);
        effects.push(Effect::SaveDraft { channel, text });
    }
}

pub(super) fn filter_key(state: &mut AppState, key: KeyEvent) {
    if state.board.filter_editing {
        super::board::filter_key(state, key);
        return;
    }
    match key.code {
        KeyCode::Enter => state.filter_editing = false,
        KeyCode::Esc => {
            state.filter_editing = false;
            state.filter.clear();
        }
        KeyCode::Backspace => {
            state.filter.pop();
        }
        KeyCode::Char(c) if !c.is_control() => state.filter.push(c),
        _ => {}
    }
    state.reorder();
}

pub(super) fn popup_key(state: &mut AppState, key: KeyEvent, effects: &mut Vec<Effect>) {
    match (state.popup, key.code) {
        (Some(Popup::ConfirmQuit), KeyCode::Char('y' | 'Y')) => {
            state.popup = None;
            quit(state, effects);
        }
        (Some(Popup::ConfirmQuit), KeyCode::Char('n' | 'N') | KeyCode::Esc) => state.popup = None,
        (Some(Popup::Help), KeyCode::Esc | KeyCode::Char('?' | 'q')) => state.popup = None,
        (Some(Popup::Help), KeyCode::Down | KeyCode::Char('j')) => state.help_offset += 1,
        (Some(Popup::Help), KeyCode::Up | KeyCode::Char('k')) => {
            state.help_offset = state.help_offset.saturating_sub(1)
        }
        (Some(Popup::Help), KeyCode::PageDown | KeyCode::Char(' ')) => state.help_offset += 10,
        (Some(Popup::Help), KeyCode::PageUp) => {
            state.help_offset = state.help_offset.saturating_sub(10)
        }
        (Some(Popup::Help), KeyCode::Home) => state.help_offset = 0,
        (Some(Popup::SendGuard), KeyCode::Enter | KeyCode::Char('s' | 'y')) => {
            state.popup = None;
            super::commands::send(state, effects, true);
        }
        (Some(Popup::SendGuard), KeyCode::Char('p')) if state.guard_offers_pause => {
            state.popup = None;
            super::handling::control(state, super::handling::ControlAsk::PauseAi, effects);
            super::commands::send(state, effects, true);
        }
        (Some(Popup::SendGuard), KeyCode::Esc | KeyCode::Char('e')) => state.popup = None,
        (Some(Popup::SendGuard), KeyCode::Char('d')) => {
            state.popup = None;
            super::commands::discard(state, effects);
        }
        (Some(Popup::Snooze), KeyCode::Enter) => super::handling::snooze_entered(state, effects),
        (Some(Popup::Snooze), KeyCode::Esc) => state.popup = None,
        (Some(Popup::Snooze), KeyCode::Backspace) => {
            state.prompt.pop();
        }
        (Some(Popup::Snooze), KeyCode::Char(c)) if !c.is_control() && state.prompt.len() < 40 => {
            state.prompt.push(c)
        }
        _ => {}
    }
}
