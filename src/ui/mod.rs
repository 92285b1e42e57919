//! Drawing: `render(frame, &AppState, &Theme, &Keymap)` reads state and draws; it changes
//! nothing and does no I/O. The hardware cursor is placed on the focused thing every frame
//! (the accessibility contract), so screen readers and braille displays follow focus.

mod board;
mod composer;
mod conversation;
pub mod handling;
mod help;
mod inbox;
mod pane;
pub mod spoken;
mod status_bar;
pub mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::state::{AppState, Focus, Popup};
use crate::config::theme::{Role, Theme};
use crate::input::{Context, KeyMode, Keymap};

pub use board::{board_lines, counts_line, health_report};
pub use status_bar::connection_words;

/// The keymap context of the focused pane.
pub fn key_context(state: &AppState) -> Context {
    match state.focus {
        Focus::Inbox => Context::Inbox,
        Focus::Conversation => Context::Conversation,
        Focus::Composer => Context::Composer,
        Focus::Suggestions => Context::Suggestions,
        Focus::Board => Context::Board,
    }
}

/// Where the next key goes, from what is on screen.
pub fn key_mode(state: &AppState) -> KeyMode {
    if state.popup.is_some() {
        KeyMode::Popup
    } else if state.filter_editing || state.board.filter_editing {
        KeyMode::Filter
    } else {
        KeyMode::Pane(key_context(state))
    }
}

/// The help or quit popup over the panes, when one is open; returns its cursor.
fn render_popup(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    keymap: &Keymap,
) -> Option<(u16, u16)> {
    match state.popup {
        Some(Popup::Help) => Some(help::render_help(
            frame,
            area,
            theme,
            keymap,
            state.help_offset,
        )),
        Some(Popup::ConfirmQuit) => Some(help::render_confirm_quit(
            frame,
            area,
            theme,
            state.outbox.len(),
        )),
        Some(Popup::SendGuard) => Some(help::render_send_guard(frame, area, theme, state)),
        Some(Popup::Snooze) => Some(help::render_snooze(frame, area, theme, state)),
        None => None,
    }
}

pub fn render(frame: &mut Frame, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let area = frame.area();
    if area.height < 3 || area.width < 20 {
        frame.render_widget(Paragraph::new("Terminal too small"), area);
        return;
    }
    let banner = status_bar::banner(state);
    let [top, main, status] = Layout::vertical([
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if let Some(text) = banner {
        frame.render_widget(
            Paragraph::new(Span::styled(
                text::truncate(&format!(" {text}"), usize::from(top.width)),
                theme.role(Role::Banner),
            )),
            top,
        );
    }
    if state.focus == Focus::Board {
        let board_cursor = board::render(frame, main, state, theme);
        status_bar::render(frame, status, state, theme, keymap);
        let (x, y) = render_popup(frame, main, state, theme, keymap).unwrap_or(board_cursor);
        frame.set_cursor_position(Position { x, y });
        return;
    }
    let inbox_width = (main.width * 38 / 100).clamp(30, 56).min(main.width / 2);
    let [inbox_area, right] =
        Layout::horizontal([Constraint::Length(inbox_width), Constraint::Min(10)]).areas(main);
    let inbox_cursor = inbox::render(frame, inbox_area, state, theme);

    let composer_height = if state.open.is_some() {
        5.min(right.height / 3).max(3)
    } else {
        0
    };
    let strip_room = right.height.saturating_sub(composer_height + 6) / 2;
    let strip_height = composer::strip_height(state, strip_room);
    let [conversation_area, strip_area, composer_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(strip_height),
        Constraint::Length(composer_height),
    ])
    .areas(right);
    let conversation_cursor = conversation::render(frame, conversation_area, state, theme);
    let strip_cursor = composer::render_strip(frame, strip_area, state, theme);
    let composer_cursor = if composer_height > 0 {
        composer::render(frame, composer_area, state, theme)
    } else {
        None
    };
    status_bar::render(frame, status, state, theme, keymap);

    let popup_cursor = render_popup(frame, main, state, theme, keymap);
    let cursor = popup_cursor.or(match state.focus {
        Focus::Inbox => inbox_cursor,
        Focus::Conversation => conversation_cursor,
        Focus::Suggestions => strip_cursor,
        Focus::Composer | Focus::Board => composer_cursor,
    });
    // Fall back to the pane's corner: a frame without a cursor position hides the cursor.
    let (x, y) = cursor.unwrap_or_else(|| {
        corner(match state.focus {
            Focus::Inbox => inbox_area,
            Focus::Conversation | Focus::Suggestions => conversation_area,
            Focus::Composer | Focus::Board => composer_area,
        })
    });
    frame.set_cursor_position(Position { x, y });
}

fn corner(area: Rect) -> (u16, u16) {
    (
        area.x.saturating_add(1).min(area.right().saturating_sub(1)),
        area.y
            .saturating_add(1)
            .min(area.bottom().saturating_sub(1)),
    )
}
