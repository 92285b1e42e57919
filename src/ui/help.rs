//! Popups: help (generated from the keymap, grouped by context, keys in words) and the
//! quit confirmation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

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

pub fn render_help(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap) -> (u16, u16) {
    let mut lines = Vec::new();
    for context in [
        Context::Global,
        Context::Inbox,
        Context::Conversation,
        Context::Composer,
        Context::Suggestions,
    ] {
        lines.push(Line::from(Span::styled(
            context.title(),
            theme.role(Role::Title),
        )));
        let mut seen: Vec<&str> = Vec::new();
        for binding in keymap
            .bindings()
            .iter()
            .filter(|binding| binding.context == context)
        {
            let key = binding.key.words();
            // Alt+1..9 and the digits are one entry, not nine.
            let digit = key.chars().last().is_some_and(|c| c.is_ascii_digit())
                && key != "Alt+1"
                && key != "1";
            if digit
                || seen.contains(&binding.description)
                    && !binding.description.contains("quick reply N")
            {
                continue;
            }
            seen.push(binding.description);
            let key = match key.as_str() {
                "Alt+1" => "Alt+1..9".to_owned(),
                "1" => "1..9".to_owned(),
                _ => key,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {key:<12}"), theme.role(Role::Key)),
                Span::raw(binding.description),
            ]));
        }
    }
    lines.push(Line::from(Span::styled(
        "Esc or ? closes this help",
        theme.role(Role::Dim),
    )));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centred(area, 72, height);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.role(Role::BorderFocused))
        .title(" Help — keys ");
    let inner = block.inner(popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
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
