//! The board's table: one row per conversation. Customer, SLA state and waiting time are
//! always shown; when the terminal is narrow the other columns drop in this order: in
//! charge, unread, viewing and writing, last speaker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::conversation::{Conversation, Sender, SlaLevel};
use crate::app::state::AppState;
use crate::config::theme::{Role, Theme};
use crate::protocol::events::Actor;
use crate::ui::text::{clock, duration_words, truncate};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Customer,
    Sla,
    Waiting,
    LastSpeaker,
    Presence,
    Unread,
    InCharge,
}

impl Column {
    fn title(self) -> &'static str {
        match self {
            Self::Customer => "Customer",
            Self::Sla => "SLA",
            Self::Waiting => "Waiting",
            Self::LastSpeaker => "Last",
            Self::Presence => "Viewing / writing",
            Self::Unread => "Unread",
            Self::InCharge => "In charge",
        }
    }

    fn width(self) -> usize {
        match self {
            Self::Customer => 12,
            Self::Sla => 16,
            Self::Waiting => 11,
            Self::LastSpeaker => 12,
            Self::Presence => 22,
            Self::Unread => 6,
            Self::InCharge => 9,
        }
    }
}

/// The columns that fit `width`, in display order, and the customer column's width.
fn columns(width: usize) -> (Vec<Column>, usize) {
    let mut shown = vec![Column::Customer, Column::Sla, Column::Waiting];
    // Kept in this order of importance as room allows.
    let optional = [
        Column::LastSpeaker,
        Column::Presence,
        Column::Unread,
        Column::InCharge,
    ];
    let used = |columns: &[Column]| columns.iter().map(|c| c.width() + 1).sum::<usize>();
    for column in optional {
        let mut candidate = shown.clone();
        candidate.push(column);
        if used(&candidate) <= width {
            shown = candidate;
        }
    }
    let order = [
        Column::Customer,
        Column::Sla,
        Column::Waiting,
        Column::LastSpeaker,
        Column::Presence,
        Column::Unread,
        Column::InCharge,
    ];
    shown.sort_by_key(|column| order.iter().position(|c| c == column));
    let spare = width.saturating_sub(used(&shown));
    let customer = Column::Customer.width() + spare.min(14);
    (shown, customer)
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    tabs: String,
) -> (u16, u16) {
    let board = &state.board;
    let block = crate::ui::pane::titled(theme, true, format!("{}{tabs}", title(state)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let corner = (inner.x, inner.y.saturating_add(1));
    if inner.height < 2 || inner.width == 0 {
        return corner;
    }
    let width = usize::from(inner.width);
    let (shown, customer_width) = columns(width);
    let cell_width = |column: Column| match column {
        Column::Customer => customer_width,
        other => other.width(),
    };
    let heading: String = shown
        .iter()
        .map(|column| pad(column.title(), cell_width(*column)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut lines = vec![Line::from(Span::styled(
        truncate(&heading, width),
        theme.role(Role::Dim),
    ))];
    if board.order.is_empty() {
        let empty = if state.conversations.is_empty() {
            "No conversations yet — waiting for customers"
        } else {
            "No conversation matches the filter"
        };
        lines.push(Line::from(empty));
        frame.render_widget(Paragraph::new(lines), inner);
        return corner;
    }
    let visible = usize::from(inner.height) - 1;
    let selected = board
        .selected
        .as_ref()
        .and_then(|id| board.order.iter().position(|row| row == id))
        .unwrap_or(0);
    let first = selected.saturating_sub(visible.saturating_sub(1));
    let mut cursor = corner;
    for (index, id) in board.order.iter().enumerate().skip(first).take(visible) {
        let Some(conversation) = state.conversations.get(id) else {
            continue;
        };
        let is_selected = index == selected;
        if is_selected {
            let row = inner.y + u16::try_from(lines.len()).unwrap_or(0);
            cursor = (inner.x, row);
        }
        let spans: Vec<Span> = shown
            .iter()
            .enumerate()
            .flat_map(|(n, column)| {
                let (text, style) = cell(*column, conversation, state, theme);
                let separator = (n > 0).then(|| Span::raw(" "));
                separator
                    .into_iter()
                    .chain([Span::styled(pad(&text, cell_width(*column)), style)])
            })
            .collect();
        let line = Line::from(spans);
        lines.push(if is_selected {
            line.style(theme.role(Role::Selection))
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
    cursor
}

/// " Board · 12 · most urgent first ", or with the filter being typed.
fn title(state: &AppState) -> String {
    let board = &state.board;
    if board.filter.is_empty() && !board.filter_editing {
        return format!(" Board · {} · {} ", board.order.len(), board.sort.words());
    }
    format!(
        " Board · filter: {}{} · {} ",
        board.filter,
        if board.filter_editing { "▏" } else { "" },
        board.order.len()
    )
}

/// Cuts or pads to exactly `width` columns.
fn pad(text: &str, width: usize) -> String {
    let cut = truncate(text, width);
    let used = unicode_width::UnicodeWidthStr::width(cut.as_str());
    format!("{cut}{}", " ".repeat(width.saturating_sub(used)))
}

fn cell(
    column: Column,
    conversation: &Conversation,
    state: &AppState,
    theme: &Theme,
) -> (String, Style) {
    let text = theme.role(Role::Text);
    match column {
        Column::Customer => (conversation.title(), theme.role(Role::Customer)),
        Column::Sla => sla_cell(conversation, state, theme),
        Column::Waiting => (
            conversation
                .waiting_since_ms
                .map(|since| duration_words(state.now_ms.saturating_sub(since)))
                .unwrap_or_else(|| "—".to_owned()),
            text,
        ),
        Column::LastSpeaker => (last_speaker(conversation), text),
        Column::Presence => (presence_words(conversation), theme.role(Role::Typing)),
        Column::Unread => (
            match conversation.unread {
                0 => String::new(),
                n => format!("{n} new"),
            },
            theme.role(Role::Unread),
        ),
        Column::InCharge => (conversation.in_charge().unwrap_or("—").to_owned(), text),
    }
}

/// "BREACH 14:05", "warn, due 14:07", "ok, due 14:09" (waiting) or "ok".
pub fn sla_words(conversation: &Conversation, state: &AppState) -> String {
    let clock_at = |ms: i64| clock(ms, state.utc_offset_s);
    let breach_due = conversation
        .waiting_since_ms
        .map(|since| state.sla_clock.deadline_ms(since, SlaLevel::Breach));
    match conversation.sla_level() {
        Some(SlaLevel::Breach) => {
            let by_server = conversation.sla.as_ref().and_then(|sla| {
                (sla.level == SlaLevel::Breach).then(|| {
                    let over = sla.actual_ms.saturating_sub(sla.threshold_ms);
                    sla.received_ms
                        .saturating_sub(i64::try_from(over).unwrap_or(i64::MAX))
                })
            });
            let by_client =
                breach_due.filter(|_| conversation.client_sla == Some(SlaLevel::Breach));
            match by_server.into_iter().chain(by_client).min() {
                Some(at) => format!("BREACH {}", clock_at(at)),
                None => "BREACH".to_owned(),
            }
        }
        Some(SlaLevel::Warning) => match breach_due {
            Some(due) => format!("warn, due {}", clock_at(due)),
            None => "warn".to_owned(),
        },
        None => match breach_due {
            Some(due) => format!("ok, due {}", clock_at(due)),
            None => "ok".to_owned(),
        },
    }
}

fn sla_cell(conversation: &Conversation, state: &AppState, theme: &Theme) -> (String, Style) {
    let role = match conversation.sla_level() {
        Some(SlaLevel::Breach) => Role::SlaBreach,
        Some(SlaLevel::Warning) => Role::SlaWarning,
        None => Role::Text,
    };
    (sla_words(conversation, state), theme.role(role))
}

/// Who spoke last: customer, AI, you, or the broker's name.
pub fn last_speaker(conversation: &Conversation) -> String {
    match conversation.last_preview().map(|message| &message.sender) {
        Some(Sender::Customer) => "customer".to_owned(),
        Some(Sender::Ai { .. }) => "AI".to_owned(),
        Some(Sender::Me) => "you".to_owned(),
        Some(Sender::Broker { id, name }) => name.clone().unwrap_or_else(|| format!("broker {id}")),
        Some(Sender::System | Sender::Note { .. }) | None => "—".to_owned(),
    }
}

/// "Alex Morgan viewing · customer writing".
pub fn presence_words(conversation: &Conversation) -> String {
    let mut parts: Vec<String> = conversation
        .viewers
        .values()
        .map(|name| format!("{name} viewing"))
        .collect();
    for name in conversation.handling.writers.values() {
        parts.push(format!("{name} writing"));
    }
    if let Some(typing) = &conversation.typing {
        let who = match typing.actor {
            Actor::Customer => "customer",
            Actor::Ai => "AI",
            Actor::Broker => "a broker",
        };
        parts.push(format!("{who} writing"));
    }
    parts.join(" · ")
}
