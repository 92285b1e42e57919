//! The board's keys: moving, opening, sorting and filtering its own table.

use crossterm::event::{KeyCode, KeyEvent};

use super::super::action::Command;
use super::super::effect::Effect;
use super::super::state::{AppState, Focus};
use super::commands::open;

/// `s`: to the board, or back to where the broker was.
pub(super) fn toggle(state: &mut AppState) {
    if state.focus == Focus::Board {
        state.focus = if state.open.is_some() {
            Focus::Conversation
        } else {
            Focus::Inbox
        };
        return;
    }
    state.focus = Focus::Board;
    if state.board.stale {
        state.board.reorder(&state.conversations, &state.sla_clock);
    }
    if let Some(id) = state.open.clone().or_else(|| state.selected.clone())
        && state.board.order.contains(&id)
    {
        state.board.selected = Some(id);
    }
}

/// A command on the board; false when it means the same as elsewhere (help, quit).
pub(super) fn command(state: &mut AppState, command: &Command, effects: &mut Vec<Effect>) -> bool {
    match command {
        Command::Down => state.board.step(1),
        Command::Up => state.board.step(-1),
        Command::PageDown => state.board.step(10),
        Command::PageUp => state.board.step(-10),
        Command::Top => state.board.step(isize::MIN / 2),
        Command::Bottom => state.board.step(isize::MAX / 2),
        Command::Open => {
            if let Some(id) = state.board.selected.clone() {
                state.selected = Some(id.clone());
                open(state, &id, effects);
                state.focus = Focus::Conversation;
            }
        }
        Command::ToggleSort => {
            state.board.sort = state.board.sort.next();
            state.board.reorder(&state.conversations, &state.sla_clock);
        }
        Command::Filter => state.board.filter_editing = true,
        _ => return false,
    }
    true
}

/// A key typed into the board's filter.
pub(super) fn filter_key(state: &mut AppState, key: KeyEvent) {
    let mut text = state.board.filter.clone();
    match key.code {
        KeyCode::Enter => state.board.filter_editing = false,
        KeyCode::Esc => {
            state.board.filter_editing = false;
            text.clear();
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !c.is_control() => text.push(c),
        _ => {}
    }
    state.board.set_filter(text);
    state.board.reorder(&state.conversations, &state.sla_clock);
}
