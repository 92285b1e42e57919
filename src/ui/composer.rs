//! The quick-reply strip and the composer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::state::{AppState, Focus};
use crate::config::theme::{Role, Theme};

use super::text::truncate;

/// Lines the strip needs for `count` replies within `room` lines (a header plus rows).
pub fn strip_height(state: &AppState, room: u16) -> u16 {
    match &state.suggestions {
        Some(suggestions)
            if state.open.is_some() && !suggestions.replies.is_empty() && !state.read_only =>
        {
            let rows = u16::try_from(suggestions.replies.len()).unwrap_or(9);
            (rows + 1).min(room)
        }
        _ => 0,
    }
}

/// Draws the strip; returns the highlighted row when the strip has focus.
pub fn render_strip(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
) -> Option<(u16, u16)> {
    let suggestions = state.suggestions.as_ref()?;
    if area.height == 0 {
        return None;
    }
    let focused = state.focus == Focus::Suggestions;
    let source = if suggestions.from_web_app {
        "suggested"
    } else {
        "canned"
    };
    let hint = if focused {
        "digit or Enter to use, Esc back"
    } else {
        "Alt+1..9, or Tab then a digit"
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(" Quick replies ({source}) "),
            theme.role(Role::Title),
        ),
        Span::styled(format!("— {hint}"), theme.role(Role::Dim)),
    ])];
    let width = usize::from(area.width);
    let rows = usize::from(area.height).saturating_sub(1);
    let mut cursor = None;
    for (index, reply) in suggestions.replies.iter().enumerate().take(rows) {
        let text = truncate(
            &format!(" {}. {}", index + 1, reply.replace('\n', " ")),
            width,
        );
        let highlighted = focused && index == suggestions.highlighted;
        if highlighted {
            cursor = Some((area.x, area.y + u16::try_from(index + 1).unwrap_or(0)));
        }
        let style = if highlighted {
            theme.role(Role::Selection)
        } else {
            theme.role(Role::Text)
        };
        lines.push(Line::from(Span::styled(text, style)));
    }
    frame.render_widget(Paragraph::new(lines), area);
    cursor
}

/// Draws the composer; returns the caret position when it has focus.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
) -> Option<(u16, u16)> {
    let focused = state.focus == Focus::Composer;
    let title = if state.read_only {
        " Read-only — replies are off ".to_owned()
    } else if focused && state.note_mode {
        " Private note — only brokers see it · Enter saves · Esc leaves ".to_owned()
    } else if focused && crate::app::update::ai_answering(state) {
        " Reply — the AI is answering: Alt+t pauses it · Enter sends · Esc leaves ".to_owned()
    } else if focused {
        " Reply — Enter sends · Alt+Enter new line · Esc leaves (draft kept) ".to_owned()
    } else {
        " Reply — i to write ".to_owned()
    };
    let block = super::pane::titled(theme, focused, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.read_only || inner.height == 0 {
        return None;
    }
    frame.render_widget(&state.composer, inner);
    if !focused {
        return None;
    }
    // The textarea records its scroll while drawing; the caret is relative to it.
    let caret = state.composer.screen_cursor();
    let (top, left) = state.composer.scroll_offset();
    let row = u16::try_from(caret.row).unwrap_or(0).saturating_sub(top);
    let col = u16::try_from(caret.col).unwrap_or(0).saturating_sub(left);
    Some((
        inner.x + col.min(inner.width.saturating_sub(1)),
        inner.y + row.min(inner.height.saturating_sub(1)),
    ))
}
