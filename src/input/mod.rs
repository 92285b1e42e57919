//! Key presses to actions: the focused context's keymap first; in the composer and the
//! filter prompt, unbound keys edit text. Chords and modes are resolved here, not in state.

pub mod keymap;

use crossterm::event::{KeyEvent, KeyEventKind};

use crate::app::action::{Action, Command};
use crate::app::state::{AppState, Focus};

pub use keymap::{Context, Keymap, KeymapError};

pub fn context(state: &AppState) -> Context {
    match state.focus {
        Focus::Inbox => Context::Inbox,
        Focus::Conversation => Context::Conversation,
        Focus::Composer => Context::Composer,
        Focus::Suggestions => Context::Suggestions,
    }
}

pub fn map_key(state: &AppState, keymap: &Keymap, event: KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if state.popup.is_some() {
        return Some(Action::PopupKey(event));
    }
    if state.filter_editing {
        return Some(Action::FilterKey(event));
    }
    let context = context(state);
    match keymap.lookup(context, &event) {
        Some(command) => Some(Action::Command(command)),
        None if context == Context::Composer => Some(Action::ComposerKey(event)),
        None => None,
    }
}

/// Commands also reachable from outside the keymap (tests, the palette).
pub fn command(command: Command) -> Action {
    Action::Command(command)
}
