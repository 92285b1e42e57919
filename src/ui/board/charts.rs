//! The last hour in three charts, each under a line of text that says what it shows (for a
//! screen reader, and for anyone who would rather read than squint): alerts per minute,
//! first-response time p50 / p95 per five minutes, customers waiting for a human.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Sparkline};

use crate::app::metrics::ResponseBucket;
use crate::app::state::AppState;
use crate::app::update::short_duration;
use crate::config::theme::{Role, Theme};
use crate::ui::text::{clock, truncate};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, tabs: &str) {
    let title = if tabs.is_empty() {
        " Last hour ".to_owned()
    } else {
        tabs.to_owned()
    };
    let block = crate::ui::pane::titled(theme, !tabs.is_empty(), title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    let [alerts, responses, waiting] = Layout::vertical([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .areas(inner);
    let per_minute = state.alerts.per_minute(state.now_ms, 60);
    sparkline(
        frame,
        alerts,
        theme,
        &alerts_summary(&per_minute, state),
        &per_minute,
        Role::SlaWarning,
    );
    let buckets = state.metrics.response_buckets(state.now_ms);
    response_chart(frame, responses, theme, &buckets);
    let series: Vec<(i64, usize)> = state.metrics.waiting(state.now_ms).collect();
    let counts: Vec<u64> = series.iter().map(|(_, n)| *n as u64).collect();
    sparkline(
        frame,
        waiting,
        theme,
        &waiting_summary(&series, state),
        &counts,
        Role::Customer,
    );
}

fn summary_line(frame: &mut Frame, area: Rect, theme: &Theme, text: &str) -> Rect {
    let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            truncate(text, usize::from(line.width)),
            theme.role(Role::Text),
        ))),
        line,
    );
    rest
}

fn sparkline(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    summary: &str,
    values: &[u64],
    role: Role,
) {
    let rest = summary_line(frame, area, theme, summary);
    if rest.height == 0 {
        return;
    }
    // The newest values, right-aligned: one column per minute.
    let room = usize::from(rest.width);
    let shown = &values[values.len().saturating_sub(room)..];
    frame.render_widget(
        Sparkline::default().data(shown).style(theme.role(role)),
        rest,
    );
}

pub fn alerts_summary(per_minute: &[u64], state: &AppState) -> String {
    let total: u64 = per_minute.iter().sum();
    let peak = per_minute
        .iter()
        .enumerate()
        .max_by_key(|(index, count)| (**count, *index))
        .filter(|(_, count)| **count > 0);
    match peak {
        Some((index, count)) => {
            let minutes_ago = (per_minute.len() - 1 - index) as i64;
            let at = state.now_ms.saturating_sub(minutes_ago * 60_000);
            format!(
                "Alerts per minute: {total} in the last hour, at most {count} a minute ({})",
                clock(at, state.utc_offset_s)
            )
        }
        None => "Alerts per minute: none in the last hour".to_owned(),
    }
}

pub fn response_summary(buckets: &[ResponseBucket]) -> String {
    match buckets.iter().rev().find(|bucket| bucket.count > 0) {
        Some(bucket) => format!(
            "First response p50 / p95 (5 min): {} / {} over {} repl{}",
            bucket.p50_ms.map_or_else(|| "—".to_owned(), short_duration),
            bucket.p95_ms.map_or_else(|| "—".to_owned(), short_duration),
            bucket.count,
            if bucket.count == 1 { "y" } else { "ies" }
        ),
        None => "First response p50 / p95: no replies in the last hour".to_owned(),
    }
}

pub fn waiting_summary(series: &[(i64, usize)], state: &AppState) -> String {
    let now = series.last().map_or(0, |(_, n)| *n);
    match series.iter().max_by_key(|(at, n)| (*n, *at)) {
        Some((at, peak)) if *peak > 0 => format!(
            "Waiting for a human: {now} now, at most {peak} ({})",
            clock(*at, state.utc_offset_s)
        ),
        _ => format!("Waiting for a human: {now} now"),
    }
}

fn response_chart(frame: &mut Frame, area: Rect, theme: &Theme, buckets: &[ResponseBucket]) {
    let rest = summary_line(frame, area, theme, &response_summary(buckets));
    if rest.height < 2 {
        return;
    }
    let points = |pick: fn(&ResponseBucket) -> Option<u64>| -> Vec<(f64, f64)> {
        buckets
            .iter()
            .enumerate()
            .filter_map(|(index, bucket)| Some((index as f64, pick(bucket)? as f64 / 1000.0)))
            .collect()
    };
    let p50 = points(|bucket| bucket.p50_ms);
    let p95 = points(|bucket| bucket.p95_ms);
    let top = p95.iter().map(|(_, y)| *y).fold(1.0_f64, f64::max);
    let datasets = vec![
        Dataset::default()
            .name("p50")
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.role(Role::Ai))
            .data(&p50),
        Dataset::default()
            .name("p95")
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.role(Role::SlaWarning))
            .data(&p95),
    ];
    let chart = Chart::new(datasets)
        .x_axis(Axis::default().bounds([0.0, (buckets.len().max(2) - 1) as f64]))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels([
                    Line::from("0"),
                    Line::from(short_duration((top * 1000.0) as u64)),
                ])
                .style(Style::default()),
        );
    frame.render_widget(chart, rest);
}
