//! Connection health: for each of the client's connections, its state and how long it has
//! held, reconnects and resumes, the round trip of its last ping, publishes and their
//! outcome, messages received per second and gaps filled. The web app's own alert
//! thresholds, when crossed, are on the board's header.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::health::ConnectionHealth;
use crate::app::state::{AppState, ConnectionStatus};
use crate::config::theme::{Role, Theme};
use crate::ui::text::{duration_words, truncate};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, tabs: &str) {
    let title = if tabs.is_empty() {
        " Connection health ".to_owned()
    } else {
        tabs.to_owned()
    };
    let block = crate::ui::pane::titled(theme, !tabs.is_empty(), title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let lines: Vec<Line> = health_lines(state)
        .into_iter()
        .map(|(text, good)| {
            let role = if good { Role::Text } else { Role::StatusBad };
            Line::from(Span::styled(truncate(&text, width), theme.role(role)))
        })
        .collect();
    if lines.is_empty() {
        crate::ui::pane::note(frame, inner, theme, "No connection yet");
        return;
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Three lines per connection (and whether each is healthy), shared with `:health`.
pub fn health_lines(state: &AppState) -> Vec<(String, bool)> {
    let mut shards: Vec<usize> = state
        .connections
        .keys()
        .chain(state.health.connections.keys())
        .copied()
        .collect();
    shards.sort_unstable();
    shards.dedup();
    let empty = ConnectionHealth::default();
    let mut lines = Vec::new();
    for shard in shards {
        let status = state
            .connections
            .get(&shard)
            .map_or(ConnectionStatus::Initialized, |c| c.state);
        let health = state.health.connections.get(&shard).unwrap_or(&empty);
        let stats = &health.stats;
        let held = match (status, stats.connected_since_ms) {
            (ConnectionStatus::Connected, Some(since)) => {
                format!(
                    " for {}",
                    duration_words(state.now_ms.saturating_sub(since))
                )
            }
            _ => String::new(),
        };
        let rtt = stats
            .rtt_ms
            .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.0} ms"));
        lines.push((
            format!(
                "Connection {} {}{held} · reconnects {} · resumed {} ok, {} failed",
                shard + 1,
                status_word(status),
                stats.reconnects,
                stats.resumes_ok,
                stats.resumes_failed,
            ),
            status == ConnectionStatus::Connected,
        ));
        lines.push((
            format!(
                "  round trip {rtt} · {:.0} msg/s received · gaps filled {}",
                health.received_per_s(state.now_ms),
                stats.gap_fills,
            ),
            true,
        ));
        lines.push((
            format!(
                "  published {}, acknowledged {}, refused {}",
                stats.published, stats.acknowledged, stats.refused,
            ),
            stats.refused == 0,
        ));
    }
    lines
}

fn status_word(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Initialized => "starting",
        ConnectionStatus::Connecting => "connecting",
        ConnectionStatus::Connected => "connected",
        ConnectionStatus::Disconnected => "disconnected",
        ConnectionStatus::Suspended => "suspended",
        ConnectionStatus::Closing => "closing",
        ConnectionStatus::Closed => "closed",
        ConnectionStatus::Failed => "failed",
    }
}
