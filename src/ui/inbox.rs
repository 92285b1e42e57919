//! The inbox: two lines per conversation, most urgent first (or by name). Every state is a
//! word or a mark, never a colour alone; the selected row is in reverse video.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::conversation::{Conversation, Presence, SlaLevel};
use crate::app::state::{AppState, Focus, SortMode};
use crate::config::theme::{Role, Theme};

use super::text::{duration_words, truncate};

const ROW_HEIGHT: usize = 2;

/// Draws the inbox; returns where the selected row is, for the hardware cursor.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
) -> Option<(u16, u16)> {
    let focused = state.focus == Focus::Inbox;
    let order = match state.sort {
        SortMode::Urgency => "most urgent first",
        SortMode::Name => "by name",
    };
    let mut title = format!(" Inbox · {} · {order} ", state.order.len());
    if !state.filter.is_empty() || state.filter_editing {
        title = format!(
            " Inbox · filter: {}{} ",
            state.filter,
            if state.filter_editing { "▏" } else { "" }
        );
    }
    let block = super::pane::titled(theme, focused, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return None;
    }
    if state.order.is_empty() {
        let empty = if state.conversations.is_empty() {
            "No conversations yet — waiting for customers"
        } else {
            "No conversation matches the filter"
        };
        super::pane::note(frame, inner, theme, empty);
        return None;
    }
    let visible = (usize::from(inner.height) / ROW_HEIGHT).max(1);
    let selected = state
        .selected
        .as_ref()
        .and_then(|id| state.order.iter().position(|row| row == id))
        .unwrap_or(0);
    let first = selected.saturating_sub(visible - 1);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::with_capacity(visible * ROW_HEIGHT);
    let mut cursor = None;
    for (index, id) in state.order.iter().enumerate().skip(first).take(visible) {
        let Some(conversation) = state.conversations.get(id) else {
            continue;
        };
        let is_selected = index == selected;
        let is_open = state.open.as_ref() == Some(id);
        if is_selected {
            let row = inner.y + u16::try_from(lines.len()).unwrap_or(0);
            cursor = Some((inner.x, row));
        }
        let (first_line, second_line) = row_lines(conversation, state, theme, is_open, width);
        let selection = theme.role(Role::Selection);
        lines.push(if is_selected {
            first_line.style(selection)
        } else {
            first_line
        });
        lines.push(if is_selected {
            second_line.style(selection)
        } else {
            second_line
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
    cursor
}

fn row_lines(
    conversation: &Conversation,
    state: &AppState,
    theme: &Theme,
    is_open: bool,
    width: usize,
) -> (Line<'static>, Line<'static>) {
    // Markers first, so the name gives way when the row is narrow.
    let mut markers: Vec<Span> = Vec::new();
    match conversation.sla_level() {
        Some(SlaLevel::Breach) => {
            markers.push(Span::styled(" SLA BREACH ", theme.role(Role::SlaBreach)))
        }
        Some(SlaLevel::Warning) => {
            markers.push(Span::styled(" SLA WARN ", theme.role(Role::SlaWarning)))
        }
        None => {}
    }
    if conversation.unread > 0 {
        markers.push(Span::styled(
            format!(" {} new", conversation.unread),
            theme.role(Role::Unread),
        ));
    }
    let marker = if is_open {
        theme.mark("▸ ", "> ")
    } else {
        "  "
    };
    let markers_width: usize = markers.iter().map(Span::width).sum();
    let name_room = width.saturating_sub(markers_width + 3).max(10);
    let mut first = vec![
        Span::raw(marker),
        Span::styled(
            truncate(&conversation.title(), name_room),
            theme.role(Role::Title),
        ),
    ];
    let used: usize = first.iter().map(Span::width).sum();
    let mut room = width.saturating_sub(used);
    for span in markers {
        if room == 0 {
            break;
        }
        let text = truncate(&span.content, room);
        room = room.saturating_sub(text.chars().count());
        first.push(Span::styled(text, span.style));
    }

    (
        Line::from(first),
        second_line(conversation, state, theme, width),
    )
}

/// Presence, waiting time, typing, draft, viewers, then the last message as room allows.
fn second_line(
    conversation: &Conversation,
    state: &AppState,
    theme: &Theme,
    width: usize,
) -> Line<'static> {
    let mut second: Vec<Span> = vec![Span::raw("    ")];
    let (presence_role, presence) = match conversation.presence {
        Presence::Online => (Role::Online, Presence::Online.words()),
        Presence::Away => (Role::Away, Presence::Away.words()),
        Presence::Offline => (Role::Offline, Presence::Offline.words()),
    };
    second.push(Span::styled(presence, theme.role(presence_role)));
    if let Some(since) = conversation.waiting_since_ms {
        second.push(Span::styled(
            format!(" · waiting {}", duration_words(state.now_ms - since)),
            theme.role(Role::Unread),
        ));
    }
    if conversation.typing.is_some() {
        second.push(Span::styled(" · typing…", theme.role(Role::Typing)));
    }
    for mark in super::handling::inbox_marks(state, conversation) {
        second.push(Span::styled(format!(" · {mark}"), theme.role(Role::Broker)));
    }
    if conversation.has_draft() {
        second.push(Span::styled(
            theme.mark(" · ✎ draft", " · draft"),
            theme.role(Role::Dim),
        ));
    }
    if let Some(viewer) = conversation.viewers.values().next() {
        let others = conversation.viewers.len() - 1;
        let text = if others > 0 {
            format!(" · {viewer} +{others} viewing")
        } else {
            format!(" · {viewer} viewing")
        };
        second.push(Span::styled(text, theme.role(Role::Broker)));
    }
    if let Some(last) = conversation.last_preview() {
        let used: usize = second.iter().map(|span| span.width()).sum();
        let room = width.saturating_sub(used + 3);
        if room > 4 {
            let preview = last.text.replace('\n', " ");
            second.push(Span::styled(
                format!(" · {}", truncate(&preview, room)),
                theme.role(Role::Dim),
            ));
        }
    }
    Line::from(second)
}
