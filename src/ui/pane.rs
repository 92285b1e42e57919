//! What every pane shares: a bordered block that shows focus, and a dim one-line note.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::config::theme::{Role, Theme};

/// A bordered pane; the border says whether it has focus.
pub fn block(theme: &Theme, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.role(if focused {
            Role::BorderFocused
        } else {
            Role::Border
        }))
}

/// A pane titled in the title role.
pub fn titled(theme: &Theme, focused: bool, title: impl Into<String>) -> Block<'static> {
    block(theme, focused).title(Span::styled(title.into(), theme.role(Role::Title)))
}

/// A quiet note (empty states, hints) in the dim role.
pub fn note(frame: &mut Frame, area: Rect, theme: &Theme, text: &'static str) {
    frame.render_widget(
        Paragraph::new(Span::styled(text, theme.role(Role::Dim))),
        area,
    );
}
