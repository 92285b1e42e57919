//! The supervisor's rules: SLA alerts from the server's events and from the client's own
//! clock (one crossing is one alert; the earlier report wins and the feed names its
//! source), their resolution when a human answers, first-response times, and what is
//! notified.

use crate::protocol::events::ConversationId;

use super::super::alert::{Alert, AlertSource, Raised};
use super::super::conversation::SlaLevel;
use super::super::effect::Effect;
use super::super::notify::{Notice, NoticeKind};
use super::super::state::AppState;
use crate::sanitize::clean_line;

/// An `sla:warning` / `sla:violation` from the channel, at the event's time.
pub(super) fn server_alert(
    state: &mut AppState,
    id: &ConversationId,
    level: SlaLevel,
    threshold_ms: u64,
    actual_ms: u64,
    at_ms: i64,
    effects: &mut Vec<Effect>,
) {
    let Some(conversation) = state.conversations.get(id) else {
        return;
    };
    let waited = i64::try_from(actual_ms).unwrap_or(i64::MAX);
    let waiting_since_ms = conversation
        .waiting_since_ms
        .unwrap_or_else(|| at_ms.saturating_sub(waited));
    let alert = Alert {
        conversation: id.as_str().to_owned(),
        customer: conversation.customer_name.clone(),
        level,
        source: AlertSource::Server,
        threshold_ms,
        actual_ms,
        waiting_since_ms,
        raised_ms: at_ms,
        resolution: None,
    };
    raise(state, alert, effects);
}

/// The client's own clock, once a tick: every waiting customer whose wait crossed a
/// threshold since the last look. Returns whether anything changed.
pub(super) fn clock_tick(state: &mut AppState, now_ms: i64, effects: &mut Vec<Effect>) -> bool {
    let clock = &state.sla_clock;
    let crossed: Vec<(ConversationId, i64, SlaLevel)> = state
        .conversations
        .values()
        .filter_map(|conversation| {
            let since = conversation.waiting_since_ms?;
            let level = clock.level_at(since, now_ms)?;
            (conversation.client_sla < Some(level)).then(|| (conversation.id.clone(), since, level))
        })
        .collect();
    let mut waiting = 0;
    for conversation in state.conversations.values() {
        waiting += usize::from(conversation.waiting_since_ms.is_some());
    }
    state.metrics.sample_waiting(now_ms, waiting);
    for (id, since, level) in &crossed {
        let levels: &[SlaLevel] = match level {
            SlaLevel::Breach => &[SlaLevel::Warning, SlaLevel::Breach],
            SlaLevel::Warning => &[SlaLevel::Warning],
        };
        let before = state.conversations.get(id).and_then(|c| c.client_sla);
        for &crossing in levels.iter().filter(|l| Some(**l) > before) {
            let Some(conversation) = state.conversations.get_mut(id) else {
                continue;
            };
            conversation.client_sla = Some(crossing);
            let alert = Alert {
                conversation: id.as_str().to_owned(),
                customer: conversation.customer_name.clone(),
                level: crossing,
                source: AlertSource::Client,
                threshold_ms: state.sla_clock.thresholds.of(crossing),
                actual_ms: state.sla_clock.waited_ms(*since, now_ms),
                waiting_since_ms: *since,
                raised_ms: state.sla_clock.deadline_ms(*since, crossing).min(now_ms),
                resolution: None,
            };
            raise(state, alert, effects);
        }
        state.reposition(id);
    }
    if let Some(summary) = state.notify_limiter.summary(now_ms) {
        notify(state, summary, effects);
    }
    !crossed.is_empty()
}

fn raise(state: &mut AppState, alert: Alert, effects: &mut Vec<Effect>) {
    let (raised, kept) = state.alerts.raise(alert);
    if raised == Raised::Known {
        return;
    }
    let kept = kept.clone();
    effects.push(Effect::RecordAlert(kept.clone()));
    if raised == Raised::New {
        let (kind, title) = match kept.level {
            SlaLevel::Breach => (NoticeKind::Breach, "SLA breach"),
            SlaLevel::Warning => (NoticeKind::Warning, "SLA warning"),
        };
        let customer = kept
            .customer
            .clone()
            .unwrap_or_else(|| format!("Conversation {}", kept.conversation));
        let body = format!(
            "{customer} waited {} (limit {})",
            short_duration(kept.actual_ms),
            short_duration(kept.threshold_ms)
        );
        offer(state, kept.conversation, kind, title, body, effects);
    }
}

/// A human answered the customer: the wait ends and its alerts are resolved.
pub(super) fn answered(
    state: &mut AppState,
    id: &ConversationId,
    answered_ms: i64,
    by: &str,
    effects: &mut Vec<Effect>,
) {
    if let Some(conversation) = state.conversations.get_mut(id) {
        conversation.answered();
    }
    for alert in state.alerts.resolve(id.as_str(), answered_ms, by) {
        effects.push(Effect::RecordAlert(alert));
    }
}

/// Any reply, AI or human, ends the wait for a first response.
pub(super) fn replied(state: &mut AppState, id: &ConversationId, at_ms: i64) {
    let Some(since) = state
        .conversations
        .get_mut(id)
        .and_then(|conversation| conversation.awaiting_reply_since_ms.take())
    else {
        return;
    };
    let waited = u64::try_from(at_ms.saturating_sub(since)).unwrap_or(0);
    state.metrics.responded(at_ms, waited);
}

/// A customer wrote in a conversation not on screen (brokers only: a supervisor watching
/// read-only is told about alerts, not every message).
pub(super) fn customer_wrote_elsewhere(
    state: &mut AppState,
    id: &ConversationId,
    effects: &mut Vec<Effect>,
) {
    if state.read_only {
        return;
    }
    let Some(conversation) = state.conversations.get(id) else {
        return;
    };
    let preview: String = conversation
        .newest_customer_message()
        .map(|message| message.text.chars().take(80).collect())
        .unwrap_or_default();
    let body = format!("{}: {}", conversation.title(), clean_line(&preview));
    let conversation = id.as_str().to_owned();
    offer(
        state,
        conversation,
        NoticeKind::CustomerMessage,
        "New message",
        body,
        effects,
    );
}

fn offer(
    state: &mut AppState,
    conversation: String,
    kind: NoticeKind,
    title: &str,
    body: String,
    effects: &mut Vec<Effect>,
) {
    if state.notify_via.is_empty() {
        return;
    }
    let notice = Notice {
        conversation,
        kind,
        title: title.to_owned(),
        body,
    };
    if let Some(notice) = state.notify_limiter.offer(notice, state.now_ms) {
        notify(state, notice, effects);
    }
}

fn notify(state: &AppState, notice: Notice, effects: &mut Vec<Effect>) {
    if state.notify_via.is_empty() {
        return;
    }
    effects.push(Effect::Notify {
        via: state.notify_via.clone(),
        title: notice.title,
        body: notice.body,
    });
}

/// "5m 2s", "45s", "5m", "2h 5m".
pub fn short_duration(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 if seconds.is_multiple_of(60) => format!("{}m", seconds / 60),
        60..3600 => format!("{}m {}s", seconds / 60, seconds % 60),
        _ => format!("{}h {}m", seconds / 3600, seconds % 3600 / 60),
    }
}
