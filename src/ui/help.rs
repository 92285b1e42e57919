//! Popups: help (generated from the keymap, grouped by context, keys in words) and the
//! quit confirmation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::state::AppState;
use crate::config::theme::{Role, Theme};
use crate::input::{Context, Keymap};

fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// The help lines: per context, each description once with all its keys.
fn help_lines(theme: &Theme, keymap: &Keymap) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for context in [
        Context::Global,
        Context::Inbox,
        Context::Conversation,
        Context::Composer,
        Context::Suggestions,
        Context::Board,
    ] {
        lines.push(Line::from(Span::styled(
            context.title(),
            theme.role(Role::Title),
        )));
        let mut entries: Vec<(&str, Vec<String>)> = Vec::new();
        for binding in keymap
            .bindings()
            .iter()
            .filter(|binding| binding.context == context)
        {
            let key = binding.key.words();
            // Quick replies 1..9 are one entry, not nine.
            let key = match key.as_str() {
                "Alt+1" => "Alt+1..9".to_owned(),
                "1" => "1..9".to_owned(),
                other
                    if other.ends_with(|c: char| c.is_ascii_digit())
                        && binding.description.contains("quick reply N") =>
                {
                    continue;
                }
                _ => key,
            };
            match entries
                .iter_mut()
                .find(|(description, _)| *description == binding.description)
            {
                Some((_, keys)) => keys.push(key),
                None => entries.push((binding.description, vec![key])),
            }
        }
        for (description, keys) in entries {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16}", keys.join(", ")), theme.role(Role::Key)),
                Span::raw(description),
            ]));
        }
    }
    lines
}

/// Draws help from line `offset` on (it scrolls when the terminal is short).
pub fn render_help(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    keymap: &Keymap,
    offset: usize,
) -> (u16, u16) {
    let lines = help_lines(theme, keymap);
    let height = u16::try_from(lines.len() + 3).unwrap_or(u16::MAX);
    let popup = centred(area, 76, height);
    let visible = usize::from(popup.height.saturating_sub(3));
    let last_start = lines.len().saturating_sub(visible);
    let start = offset.min(last_start);
    let mut shown: Vec<Line> = lines.into_iter().skip(start).take(visible).collect();
    let hint = if start < last_start {
        "j/k or arrows scroll · Esc or ? closes"
    } else {
        "Esc or ? closes"
    };
    shown.push(Line::from(Span::styled(hint, theme.role(Role::Dim))));
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.role(Role::BorderFocused))
        .title(" Help — keys ");
    let inner = block.inner(popup);
    frame.render_widget(Paragraph::new(shown).block(block), popup);
    (inner.x, inner.y)
}

pub fn render_confirm_quit(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    unsent: usize,
) -> (u16, u16) {
    let text = format!(
        "{unsent} repl{} not sent yet. They stay in the outbox and go out next time. Quit now? y / n",
        if unsent == 1 { "y is" } else { "ies are" }
    );
    let popup = centred(area, 60, 5);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.role(Role::BorderFocused))
        .title(" Quit? ");
    let inner = block.inner(popup);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(block),
        popup,
    );
    (inner.x, inner.y)
}

/// "Before you send": what arrived or changed since the reply was started, and the keys.
pub fn render_send_guard(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    state: &AppState,
) -> (u16, u16) {
    let mut lines: Vec<String> = state
        .guard_reasons
        .iter()
        .map(|reason| format!("• {reason}"))
        .collect();
    lines.push(String::new());
    let pause = if state.guard_offers_pause {
        "p pause the AI and send · "
    } else {
        ""
    };
    lines.push(format!(
        "{pause}s send anyway · e edit (draft kept) · d discard"
    ));
    let width = 70.min(area.width);
    let room = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines
        .iter()
        .map(|line| {
            unicode_width::UnicodeWidthStr::width(line.as_str())
                .div_ceil(room)
                .max(1)
        })
        .sum();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX).min(area.height);
    let popup = centred(area, width, height);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.role(Role::BorderFocused))
        .title(" Before you send ");
    let inner = block.inner(popup);
    frame.render_widget(
        Paragraph::new(lines.join("\n"))
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(block),
        popup,
    );
    (inner.x, inner.y)
}

/// "Snooze until": the typed text, with examples; the cursor after the text.
pub fn render_snooze(frame: &mut Frame, area: Rect, theme: &Theme, state: &AppState) -> (u16, u16) {
    let popup = centred(area, 60, 5);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.role(Role::BorderFocused))
        .title(" Snooze until ");
    let inner = block.inner(popup);
    let text = format!(
        "> {}\n30m, 1h, 14:30, tomorrow 9:00 · empty: until they write · Enter / Esc",
        state.prompt
    );
    frame.render_widget(
        Paragraph::new(text)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(block),
        popup,
    );
    let typed =
        u16::try_from(unicode_width::UnicodeWidthStr::width(state.prompt.as_str())).unwrap_or(0);
    (
        inner
            .x
            .saturating_add(2)
            .saturating_add(typed)
            .min(inner.right().saturating_sub(1)),
        inner.y,
    )
}
