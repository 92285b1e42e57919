//! The supervisor's board: the floor's counts on top, then every conversation in a table,
//! the alert feed, charts of the last hour and each connection's health. A wide terminal
//! (120 columns and more) shows the table with the other three beside it; a narrow one
//! shows one at a time (Tab switches), so 80×24 keeps every column that matters.

mod charts;
mod feed;
mod health;
mod table;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::board::BoardPanel;
use crate::app::conversation::SlaLevel;
use crate::app::state::AppState;
use crate::config::theme::{Role, Theme};

use super::text::truncate;

/// From this width the table has the feed, charts and health beside it.
const WIDE: u16 = 120;

/// Draws the board into `area` (between the banner and the status bar); returns the
/// hardware cursor's place (the selected row).
pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) -> (u16, u16) {
    let warnings = state.health.warnings(state.now_ms);
    let header_height = 1 + u16::try_from(warnings.len()).unwrap_or(0);
    let [header, main] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Min(1)]).areas(area);
    let mut lines = vec![Line::from(Span::styled(
        truncate(
            &format!(" {}", counts_line(state)),
            usize::from(header.width),
        ),
        theme.role(Role::Title),
    ))];
    for warning in &warnings {
        lines.push(Line::from(Span::styled(
            truncate(&format!(" ⚠ {warning}"), usize::from(header.width)),
            theme.role(Role::SlaWarning),
        )));
    }
    frame.render_widget(Paragraph::new(lines), header);

    if main.width >= WIDE {
        let table_width = main.width * 60 / 100;
        let [left, right] =
            Layout::horizontal([Constraint::Length(table_width), Constraint::Min(20)]).areas(main);
        let [feed_area, charts_area, health_area] = Layout::vertical([
            Constraint::Percentage(34),
            Constraint::Percentage(40),
            Constraint::Min(4),
        ])
        .areas(right);
        feed::render(frame, feed_area, state, theme, "");
        charts::render(frame, charts_area, state, theme, "");
        health::render(frame, health_area, state, theme, "");
        return table::render(frame, left, state, theme, String::new());
    }
    let tabs = tab_line(state.board.panel);
    let corner = (main.x.saturating_add(1), main.y);
    match state.board.panel {
        BoardPanel::Table => return table::render(frame, main, state, theme, tabs),
        BoardPanel::Feed => feed::render(frame, main, state, theme, &tabs),
        BoardPanel::Charts => charts::render(frame, main, state, theme, &tabs),
        BoardPanel::Health => health::render(frame, main, state, theme, &tabs),
    }
    corner
}

/// "Conversations · Alerts · …", the shown one in brackets, for a narrow screen's titles.
fn tab_line(shown: BoardPanel) -> String {
    let panels = [
        BoardPanel::Table,
        BoardPanel::Feed,
        BoardPanel::Charts,
        BoardPanel::Health,
    ];
    let names: Vec<String> = panels
        .iter()
        .map(|panel| {
            if *panel == shown {
                format!("[{}]", panel.title())
            } else {
                panel.title().to_owned()
            }
        })
        .collect();
    format!(" {} · Tab ", names.join(" "))
}

/// The floor in one line: conversations, waiting, warnings, breaches, brokers online, and
/// whether the SLA clock is paused.
pub fn counts_line(state: &AppState) -> String {
    let (mut waiting, mut warnings, mut breaches) = (0, 0, 0);
    let mut brokers = std::collections::BTreeSet::new();
    for conversation in state.conversations.values() {
        waiting += usize::from(conversation.waiting_since_ms.is_some());
        match conversation.sla_level() {
            Some(SlaLevel::Breach) => breaches += 1,
            Some(SlaLevel::Warning) => warnings += 1,
            None => {}
        }
        brokers.extend(conversation.viewers.keys());
    }
    let online = brokers.len() + usize::from(!state.read_only);
    let mut line = format!(
        "{} conversations · {waiting} awaiting a human · {warnings} warn · {breaches} breach · {online} broker{} online",
        state.conversations.len(),
        plural(online, "s"),
    );
    if state.sla_clock.paused(state.now_ms)
        && let Some(hours) = &state.sla_clock.hours
    {
        line.push_str(&format!(
            " · SLA clock paused: outside business hours ({})",
            hours.describe()
        ));
    }
    line
}

fn plural(count: usize, suffix: &'static str) -> &'static str {
    if count == 1 { "" } else { suffix }
}

/// The board in words, for the screen-reader mode: the counts, then the `rows` most urgent
/// conversations, one line each.
pub fn board_lines(state: &AppState, rows: usize) -> Vec<String> {
    let mut lines = vec![format!("Board: {}.", counts_line(state))];
    // Not on screen, the board's order is not kept up to date: sorted here, on demand.
    let mut board = state.board.clone();
    if board.stale {
        board.reorder(&state.conversations, &state.sla_clock);
    }
    for id in board.order.iter().take(rows) {
        let Some(conversation) = state.conversations.get(id) else {
            continue;
        };
        let waiting = conversation
            .waiting_since_ms
            .map(|since| {
                format!(
                    ", waiting {}",
                    super::text::duration_words(state.now_ms.saturating_sub(since))
                )
            })
            .unwrap_or_default();
        let presence = table::presence_words(conversation);
        let presence = if presence.is_empty() {
            String::new()
        } else {
            format!(", {presence}")
        };
        lines.push(format!(
            "{}: SLA {}{waiting}, last {}{presence}.",
            conversation.title(),
            table::sla_words(conversation, state),
            table::last_speaker(conversation),
        ));
    }
    lines
}

/// Connection health in words: each connection, then the thresholds crossed.
pub fn health_report(state: &AppState) -> Vec<String> {
    let mut lines: Vec<String> = health::health_lines(state)
        .into_iter()
        .map(|(line, _)| line.trim().to_owned())
        .collect();
    if lines.is_empty() {
        lines.push("No connection yet.".to_owned());
    }
    let warnings = state.health.warnings(state.now_ms);
    if warnings.is_empty() {
        lines.push("No alert threshold crossed.".to_owned());
    }
    lines.extend(warnings);
    lines
}
