//! The open conversation: a header (who, presence, persona, who else is viewing), the SLA
//! banner while it holds, the scrollback, the customer's typing line and the "new below"
//! bar. Only the messages that fit are laid out, newest first, so a conversation of any
//! length costs the same to draw.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::conversation::{ChatMessage, Conversation, Delivery, Sender, Sla, SlaLevel};
use crate::app::state::{AppState, Focus};
use crate::config::theme::{Role, Theme};
use crate::protocol::events::Actor;

use super::text::{clock, duration_words, seconds_words, truncate, wrap};

/// Draws the conversation pane; returns the focused message's position for the cursor.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
) -> Option<(u16, u16)> {
    let focused = state.focus == Focus::Conversation;
    let block = super::pane::block(theme, focused);
    let Some(conversation) = state.open_conversation() else {
        let block = block.title(Span::styled(" Conversation ", theme.role(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let hint = "Select a conversation and press Enter to open it (Alt+a: most urgent)";
        super::pane::note(frame, inner, theme, hint);
        return None;
    };
    let block = block.title(header(conversation, theme));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 4 {
        return None;
    }
    let top = top_lines(frame, inner, state, conversation, theme);
    let mut bottom = inner.y + inner.height;
    if let Some(typing) = &conversation.typing
        && bottom > top
    {
        bottom -= 1;
        let who = match typing.actor {
            Actor::Customer => conversation.title(),
            Actor::Ai => "The AI broker".to_owned(),
            Actor::Broker => "Another broker".to_owned(),
        };
        let text = format!("{who} is typing…");
        line(
            frame,
            inner,
            bottom,
            Span::styled(text, theme.role(Role::Typing)),
        );
    }
    if conversation.scroll.from_bottom > 0 && bottom > top {
        bottom -= 1;
        let text = match conversation.scroll.new_below {
            0 => " Scrolled up — End to jump to live ".to_owned(),
            n => format!(" {n} new below — End to jump "),
        };
        line(
            frame,
            inner,
            bottom,
            Span::styled(text, theme.role(Role::Banner)),
        );
    }
    let messages_area = Rect {
        y: top,
        height: bottom.saturating_sub(top),
        ..inner
    };
    render_messages(
        frame,
        messages_area,
        conversation,
        theme,
        focused,
        state.utc_offset_s,
    )
}

/// The SLA banner and who handles the conversation, above the messages; returns the first
/// row left for them.
fn top_lines(
    frame: &mut Frame,
    inner: Rect,
    state: &AppState,
    conversation: &Conversation,
    theme: &Theme,
) -> u16 {
    let mut top = inner.y;
    if let Some(sla) = &shown_sla(state, conversation) {
        let (text, role) = sla_banner(state, conversation, sla);
        let text = truncate(&text, usize::from(inner.width));
        line(frame, inner, top, Span::styled(text, theme.role(role)));
        top += 1;
    }
    let handling = super::handling::handling_words(state, conversation);
    if !handling.is_empty() && inner.height > 3 {
        let text = truncate(
            &format!(" {} ", handling.join(" · ")),
            usize::from(inner.width),
        );
        line(
            frame,
            inner,
            top,
            Span::styled(text, theme.role(Role::Broker)),
        );
        top += 1;
    }
    top
}

/// One line of `area`, at row `y`.
fn line(frame: &mut Frame, area: Rect, y: u16, span: Span<'_>) {
    let row = Rect {
        y,
        height: 1,
        ..area
    };
    frame.render_widget(Paragraph::new(span), row);
}

/// The SLA state to show: the server's event, unless the client's own clock has seen a
/// higher level crossed (then the clock's threshold).
fn shown_sla(state: &AppState, conversation: &Conversation) -> Option<Sla> {
    let server = conversation.sla.clone();
    let Some(client) = conversation.client_sla else {
        return server;
    };
    if server.as_ref().is_some_and(|sla| sla.level >= client) {
        return server;
    }
    let since = conversation.waiting_since_ms?;
    Some(Sla {
        level: client,
        threshold_ms: state.sla_clock.thresholds.of(client),
        actual_ms: state.sla_clock.waited_ms(since, state.now_ms),
        received_ms: state.now_ms,
    })
}

/// The SLA banner's words: the customer's own wait when known; otherwise what the
/// monitor measured.
fn sla_banner(state: &AppState, conversation: &Conversation, sla: &Sla) -> (String, Role) {
    let (role, word) = match sla.level {
        SlaLevel::Breach => (Role::SlaBreach, "SLA BREACH"),
        SlaLevel::Warning => (Role::SlaWarning, "SLA WARNING"),
    };
    let waited_since = conversation
        .waiting_since_ms
        .unwrap_or_else(|| sla.received_ms - i64::try_from(sla.actual_ms).unwrap_or(0));
    let due = waited_since + i64::try_from(sla.threshold_ms).unwrap_or(0);
    let text = format!(
        " {word}: no reply for {} (limit {}, due {}) ",
        duration_words(state.now_ms - waited_since),
        seconds_words(sla.threshold_ms),
        clock(due, state.utc_offset_s)
    );
    (text, role)
}

fn header(conversation: &Conversation, theme: &Theme) -> Line<'static> {
    let mut spans = vec![
        Span::styled(
            format!(" {} ", conversation.title()),
            theme.role(Role::Title),
        ),
        Span::styled(
            format!("· {} ", conversation.presence.words()),
            theme.role(Role::Dim),
        ),
    ];
    if let Some(persona) = &conversation.persona {
        spans.push(Span::styled(
            format!("· AI persona {persona} "),
            theme.role(Role::Dim),
        ));
    }
    if !conversation.viewers.is_empty() {
        let names: Vec<&str> = conversation.viewers.values().map(String::as_str).collect();
        spans.push(Span::styled(
            format!("· {} also viewing ", names.join(", ")),
            theme.role(Role::Broker),
        ));
    }
    Line::from(spans)
}

fn sender_label(
    message: &ChatMessage,
    conversation: &Conversation,
    theme: &Theme,
) -> (String, Style) {
    match &message.sender {
        Sender::Customer => (conversation.title(), theme.role(Role::Customer)),
        Sender::Ai {
            persona: Some(persona),
        } => (format!("AI · {persona}"), theme.role(Role::Ai)),
        Sender::Ai { persona: None } => ("AI".to_owned(), theme.role(Role::Ai)),
        Sender::Me => ("You".to_owned(), theme.role(Role::Me)),
        Sender::Broker { id, name } => (
            name.clone().unwrap_or_else(|| format!("Broker {id}")),
            theme.role(Role::Broker),
        ),
        Sender::System => ("Note".to_owned(), theme.role(Role::System)),
        Sender::Note { name, mine, .. } => {
            let who = if *mine {
                "you".to_owned()
            } else {
                name.clone().unwrap_or_else(|| "a broker".to_owned())
            };
            (
                format!("note · {who} · only brokers see it"),
                theme.role(Role::Note),
            )
        }
    }
}

fn delivery_span(delivery: Delivery, theme: &Theme) -> Span<'static> {
    let (text, role) = match delivery {
        Delivery::Sending => (
            format!("sending {}", theme.mark("…", "...")),
            Role::Delivery,
        ),
        Delivery::Sent => (format!("sent {}", theme.mark("✓", "+")), Role::Delivery),
        Delivery::Read => (
            format!("read {}", theme.mark("✓✓", "++")),
            Role::DeliveryRead,
        ),
        Delivery::Failed => (Delivery::Failed.words().to_owned(), Role::DeliveryFailed),
    };
    Span::styled(text, theme.role(role))
}

fn render_messages(
    frame: &mut Frame,
    area: Rect,
    conversation: &Conversation,
    theme: &Theme,
    focused: bool,
    utc_offset_s: i32,
) -> Option<(u16, u16)> {
    if area.height == 0 {
        return None;
    }
    let height = usize::from(area.height);
    let width = usize::from(area.width).saturating_sub(2).max(1);
    // Blocks of lines, newest first, until the area is full.
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    let mut used = 0;
    let skip = conversation.scroll.from_bottom;
    for message in conversation.messages.iter().rev().skip(skip) {
        if used >= height {
            break;
        }
        let (label, style) = sender_label(message, conversation, theme);
        let mut head = vec![
            Span::styled(
                format!("{} ", clock(message.at_ms, utc_offset_s)),
                theme.role(Role::Dim),
            ),
            Span::styled(label, style),
        ];
        if let Some(delivery) = message.delivery {
            head.push(Span::styled(" · ", theme.role(Role::Dim)));
            head.push(delivery_span(delivery, theme));
        }
        let mut lines = vec![Line::from(head)];
        let body_style = if message.sender == Sender::System {
            theme.role(Role::System)
        } else {
            theme.role(Role::Text)
        };
        for line in wrap(&message.text, width) {
            lines.push(Line::from(Span::styled(format!("  {line}"), body_style)));
        }
        used += lines.len();
        blocks.push(lines);
    }
    if blocks.is_empty() {
        let text = if conversation.history_requested {
            "No messages yet"
        } else {
            "Loading…"
        };
        super::pane::note(frame, area, theme, text);
        return None;
    }
    if conversation.loading_older && used < height {
        blocks.push(vec![Line::from(Span::styled(
            "Loading older messages…",
            theme.role(Role::Dim),
        ))]);
    }
    let newest_height = blocks.first().map_or(0, Vec::len);
    // Oldest first, cut at the top so the newest shown sits on the bottom line.
    let mut lines: Vec<Line> = blocks.into_iter().rev().flatten().collect();
    let overflow = lines.len().saturating_sub(height);
    lines.drain(..overflow);
    // The focused message is the newest shown: its header line carries the cursor.
    let newest_header = lines.len().saturating_sub(newest_height);
    frame.render_widget(Paragraph::new(lines), area);
    focused.then(|| (area.x, area.y + u16::try_from(newest_header).unwrap_or(0)))
}
