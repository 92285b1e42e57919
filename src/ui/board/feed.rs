//! The alert feed, newest first: when, how bad, who waited and how long against which
//! limit, which source raised it first, and how it ended.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::alert::{Alert, AlertSource};
use crate::app::conversation::SlaLevel;
use crate::app::metrics::HOUR_MS;
use crate::app::state::AppState;
use crate::app::update::short_duration;
use crate::config::theme::{Role, Theme};
use crate::ui::text::{clock, truncate};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, tabs: &str) {
    let focused = !tabs.is_empty();
    let hour_ago = state.now_ms.saturating_sub(HOUR_MS);
    let last_hour = state
        .alerts
        .iter()
        .take_while(|alert| alert.raised_ms >= hour_ago)
        .count();
    let title = if tabs.is_empty() {
        format!(" Alerts · {last_hour} in the last hour · newest first ")
    } else {
        format!("{tabs}· {last_hour} alerts in the last hour ")
    };
    let block = crate::ui::pane::titled(theme, focused, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if state.alerts.is_empty() {
        crate::ui::pane::note(
            frame,
            inner,
            theme,
            "No SLA alerts — every customer answered in time",
        );
        return;
    }
    let width = usize::from(inner.width);
    let rows = usize::from(inner.height) / 2;
    let lines: Vec<Line> = state
        .alerts
        .iter()
        .take(rows.max(1))
        .flat_map(|alert| alert_lines(alert, state, theme, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn alert_lines(alert: &Alert, state: &AppState, theme: &Theme, width: usize) -> [Line<'static>; 2] {
    let (word, role) = match alert.level {
        SlaLevel::Breach => ("BREACH", Role::SlaBreach),
        SlaLevel::Warning => ("warning", Role::SlaWarning),
    };
    let customer = alert
        .customer
        .clone()
        .unwrap_or_else(|| format!("Conversation {}", alert.conversation));
    let when = clock(alert.raised_ms, state.utc_offset_s);
    let first = Line::from(vec![
        Span::styled(format!("{when} "), theme.role(Role::Dim)),
        Span::styled(format!("{word:<7} "), theme.role(role)),
        Span::styled(
            truncate(&customer, width.saturating_sub(14)),
            theme.role(Role::Customer),
        ),
    ]);
    let ending = match &alert.resolution {
        Some(resolution) => {
            let after = u64::try_from(
                resolution
                    .answered_ms
                    .saturating_sub(alert.waiting_since_ms),
            )
            .unwrap_or(0);
            format!(
                "answered after {} by {}",
                short_duration(after),
                resolution.by
            )
        }
        None => "still waiting".to_owned(),
    };
    let detail = format!(
        "  waited {}, limit {} · {} · {ending}",
        short_duration(alert.actual_ms),
        short_duration(alert.threshold_ms),
        match alert.source {
            AlertSource::Server => "server event",
            AlertSource::Client => "client clock",
        },
    );
    let second = Line::from(Span::styled(
        truncate(&detail, width),
        theme.role(Role::Text),
    ));
    [first, second]
}
