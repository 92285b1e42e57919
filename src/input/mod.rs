//! Key presses to actions: the focused context's keymap first; in the composer and the
//! filter prompt, unbound keys edit text. Chords and modes are resolved here, not in state.
//! The caller says which mode the keys are in; nothing here reads the dashboard's state.

pub mod keymap;

use crossterm::event::{KeyEvent, KeyEventKind};

use crate::app::action::{Action, Command};

pub use keymap::{Context, Keymap, KeymapError};

/// Where keys go: a popup, the filter prompt, or a pane's keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    Popup,
    Filter,
    Pane(Context),
}

pub fn map_key(mode: KeyMode, keymap: &Keymap, event: KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let context = match mode {
        KeyMode::Popup => return Some(Action::PopupKey(event)),
        KeyMode::Filter => return Some(Action::FilterKey(event)),
        KeyMode::Pane(context) => context,
    };
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
