//! Desktop notifications: the ways a notice may travel (chosen in the config), and the
//! rate limits that keep a busy floor from flooding the broker's desktop. Pure: every time
//! is passed in, so the limits are testable and a clock going backwards cannot break them.
//!
//! The rules:
//! - at most one notification per conversation per 30 s; a breach may still come through
//!   when the last one for that conversation was not a breach (a breach matters more than
//!   the message that preceded it), but never twice in 30 s;
//! - at most 6 in any 60 s overall, always, summaries included;
//! - what is held back is counted (not kept) and told later as one summary, once the
//!   overall limit has room and the first of them has waited 30 s: a chatty conversation
//!   gives one ping and then at most one summary per 30 s, not a second ping at once. A
//!   summary that is due takes the next free place before any new notice (which is then
//!   held and counted too), so a steady flood cannot keep it from being told.

use std::collections::{HashMap, VecDeque};

/// Per-conversation spacing, and how long held notices wait before their summary.
pub const PER_CONVERSATION_MS: i64 = 30_000;
/// The overall window, and how many notifications it allows.
pub const WINDOW_MS: i64 = 60_000;
pub const WINDOW_LIMIT: usize = 6;
/// The summary's title.
pub const SUMMARY_TITLE: &str = "brokerdash";

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyVia {
    /// The terminal bell (BEL).
    Bell,
    /// `OSC 9`: iTerm2, WezTerm, Ghostty, kitty, Windows Terminal.
    Osc9,
    /// `OSC 777;notify`: rxvt-unicode, foot, Ghostty, VTE-based terminals.
    Osc777,
}

impl NotifyVia {
    /// The config word for it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Bell => "bell",
            Self::Osc9 => "osc9",
            Self::Osc777 => "osc777",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("unknown notification method {0:?}: expected bell, osc9, osc777 or none")]
    UnknownVia(String),
}

/// Parses "bell,osc9,osc777": comma-separated, spaces allowed, case-insensitive, repeats
/// ignored (first position kept); "none" and empty items add nothing, so "none" or ""
/// alone is the empty list.
pub fn parse_via(text: &str) -> Result<Vec<NotifyVia>, NotifyError> {
    let mut via = Vec::new();
    for word in text.split(',').map(str::trim) {
        let next = match word.to_ascii_lowercase().as_str() {
            "" | "none" => continue,
            "bell" => NotifyVia::Bell,
            "osc9" => NotifyVia::Osc9,
            "osc777" => NotifyVia::Osc777,
            _ => return Err(NotifyError::UnknownVia(word.to_owned())),
        };
        if !via.contains(&next) {
            via.push(next);
        }
    }
    Ok(via)
}

/// What a notice is about; a summary takes the most severe it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Breach,
    Warning,
    CustomerMessage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub conversation: String,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

/// The last notification shown for one conversation.
#[derive(Debug, Clone, Copy)]
struct Shown {
    at_ms: i64,
    kind: NoticeKind,
}

/// Notices held back since the last summary: counts only, so memory stays fixed.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    breaches: u64,
    warnings: u64,
    messages: u64,
    /// When the first of them was held.
    since_ms: i64,
}

impl Held {
    fn total(&self) -> u64 {
        self.breaches
            .saturating_add(self.warnings)
            .saturating_add(self.messages)
    }

    fn add(&mut self, kind: NoticeKind, now_ms: i64) {
        if self.total() == 0 {
            self.since_ms = now_ms;
        }
        let count = match kind {
            NoticeKind::Breach => &mut self.breaches,
            NoticeKind::Warning => &mut self.warnings,
            NoticeKind::CustomerMessage => &mut self.messages,
        };
        *count = count.saturating_add(1);
    }

    fn most_severe(&self) -> NoticeKind {
        if self.breaches > 0 {
            NoticeKind::Breach
        } else if self.warnings > 0 {
            NoticeKind::Warning
        } else {
            NoticeKind::CustomerMessage
        }
    }

    /// "and 4 more: 1 breach, 3 new messages".
    fn describe(&self) -> String {
        let parts = [
            (self.breaches, "breach", "breaches"),
            (self.warnings, "warning", "warnings"),
            (self.messages, "new message", "new messages"),
        ];
        let named: Vec<String> = parts
            .iter()
            .filter(|(count, _, _)| *count > 0)
            .map(|(count, one, many)| format!("{count} {}", if *count == 1 { one } else { many }))
            .collect();
        format!("and {} more: {}", self.total(), named.join(", "))
    }
}

/// Rate limits: at most one notification per conversation per 30 s, and at most 6 in any
/// 60 s overall. What is held back is counted, and told later as one summary ("and 4
/// more"). Memory is bounded whatever arrives: only shown notifications are remembered,
/// and those are at most 6 a minute.
#[derive(Debug, Default)]
pub struct NotifyLimiter {
    /// Conversations notified within the last 30 s.
    recent: HashMap<String, Shown>,
    /// When each notification of the last 60 s was shown, oldest first (at most 6).
    window: VecDeque<i64>,
    held: Held,
}

impl NotifyLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Some(notice) when it may be shown now; None when held back (counted), also when a
    /// summary is due and waits for the next free place.
    pub fn offer(&mut self, notice: Notice, now_ms: i64) -> Option<Notice> {
        self.settle(now_ms);
        let spaced = match self.recent.get(&notice.conversation) {
            None => true,
            Some(last) => notice.kind == NoticeKind::Breach && last.kind != NoticeKind::Breach,
        };
        if !spaced || self.window.len() >= WINDOW_LIMIT || self.summary_due(now_ms) {
            self.held.add(notice.kind, now_ms);
            return None;
        }
        self.window.push_back(now_ms);
        let shown = Shown {
            at_ms: now_ms,
            kind: notice.kind,
        };
        self.recent.insert(notice.conversation.clone(), shown);
        Some(notice)
    }

    /// Called on every clock tick: one summary of what was held, once the overall window
    /// has room and the first held has waited 30 s. It counts against the overall limit
    /// itself. None otherwise.
    pub fn summary(&mut self, now_ms: i64) -> Option<Notice> {
        self.settle(now_ms);
        if !self.summary_due(now_ms) || self.window.len() >= WINDOW_LIMIT {
            return None;
        }
        let notice = Notice {
            conversation: String::new(),
            kind: self.held.most_severe(),
            title: SUMMARY_TITLE.to_owned(),
            body: self.held.describe(),
        };
        self.window.push_back(now_ms);
        self.held = Held::default();
        Some(notice)
    }

    /// Some were held, and the first of them has waited long enough.
    fn summary_due(&self, now_ms: i64) -> bool {
        self.held.total() > 0 && age(self.held.since_ms, now_ms) >= PER_CONVERSATION_MS
    }

    /// Conversations currently remembered: never more than `WINDOW_LIMIT`.
    pub fn tracked(&self) -> usize {
        self.recent.len()
    }

    /// Forgets what has expired. A time earlier than one remembered (the clock went
    /// backwards) moves that entry back to now: limits then last their full length from
    /// the new time, neither lifted nor stretched by the jump.
    fn settle(&mut self, now_ms: i64) {
        for at in self.window.iter_mut() {
            *at = (*at).min(now_ms);
        }
        while self
            .window
            .front()
            .is_some_and(|at| age(*at, now_ms) >= WINDOW_MS)
        {
            self.window.pop_front();
        }
        self.recent.retain(|_, shown| {
            shown.at_ms = shown.at_ms.min(now_ms);
            age(shown.at_ms, now_ms) < PER_CONVERSATION_MS
        });
        self.held.since_ms = self.held.since_ms.min(now_ms);
    }
}

/// Milliseconds from `at_ms` to `now_ms`, without overflow at the i64 extremes.
fn age(at_ms: i64, now_ms: i64) -> i64 {
    now_ms.saturating_sub(at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(conversation: &str, kind: NoticeKind) -> Notice {
        Notice {
            conversation: conversation.to_owned(),
            kind,
            title: format!("title {conversation}"),
            body: "body".to_owned(),
        }
    }

    fn message(conversation: &str) -> Notice {
        notice(conversation, NoticeKind::CustomerMessage)
    }

    #[test]
    fn parse_via_reads_lists_and_names_the_bad_word() {
        use NotifyVia::*;
        assert_eq!(parse_via("bell,osc9,osc777"), Ok(vec![Bell, Osc9, Osc777]));
        assert_eq!(parse_via(" OSC777 , Bell ,osc777"), Ok(vec![Osc777, Bell]));
        assert_eq!(parse_via("none"), Ok(vec![]));
        assert_eq!(parse_via(""), Ok(vec![]));
        assert_eq!(parse_via(" None "), Ok(vec![]));
        assert_eq!(parse_via("bell,"), Ok(vec![Bell]));
        let error = parse_via("bell, toast");
        assert_eq!(error, Err(NotifyError::UnknownVia("toast".to_owned())));
        let text = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("\"toast\""), "{text}");
        for via in [Bell, Osc9, Osc777] {
            assert_eq!(parse_via(via.word()), Ok(vec![via]));
        }
    }

    #[test]
    fn notify_one_conversation_is_spaced_30_seconds() {
        let mut limiter = NotifyLimiter::new();
        assert!(limiter.offer(message("a"), 0).is_some());
        assert!(limiter.offer(message("a"), 29_999).is_none());
        assert!(limiter.offer(message("b"), 29_999).is_some());
        assert!(limiter.offer(message("a"), 30_000).is_some());
        assert_eq!(limiter.held.total(), 1);
    }

    #[test]
    fn notify_breach_overrides_a_message_but_not_a_breach() {
        let mut limiter = NotifyLimiter::new();
        assert!(limiter.offer(message("a"), 0).is_some());
        let breach = limiter.offer(notice("a", NoticeKind::Breach), 10_000);
        assert_eq!(breach.map(|n| n.kind), Some(NoticeKind::Breach));
        assert!(
            limiter
                .offer(notice("a", NoticeKind::Breach), 20_000)
                .is_none()
        );
        assert!(limiter.offer(message("a"), 25_000).is_none());
        // The 30 s run from the breach, the last one shown.
        assert!(limiter.offer(message("a"), 39_999).is_none());
        assert!(limiter.offer(message("a"), 40_000).is_some());
        // A warning does not override.
        assert!(limiter.summary(50_000).is_some());
        assert!(limiter.offer(message("w"), 50_000).is_some());
        assert!(
            limiter
                .offer(notice("w", NoticeKind::Warning), 51_000)
                .is_none()
        );
    }

    #[test]
    fn notify_six_a_minute_then_one_summary_of_the_held() {
        let mut limiter = NotifyLimiter::new();
        for i in 0..6 {
            assert!(
                limiter
                    .offer(message(&format!("c{i}")), i * 1_000)
                    .is_some()
            );
        }
        assert!(
            limiter
                .offer(notice("x", NoticeKind::Breach), 6_000)
                .is_none()
        );
        for i in 0..3 {
            assert!(
                limiter
                    .offer(message(&format!("m{i}")), 7_000 + i)
                    .is_none()
            );
        }
        // Still full: no summary, however long held.
        assert_eq!(limiter.summary(59_999), None);
        let summary = limiter.summary(60_000);
        let expected = Notice {
            conversation: String::new(),
            kind: NoticeKind::Breach,
            title: "brokerdash".to_owned(),
            body: "and 4 more: 1 breach, 3 new messages".to_owned(),
        };
        assert_eq!(summary, Some(expected));
        // Told once.
        assert_eq!(limiter.summary(70_000), None);
    }

    #[test]
    fn notify_summary_counts_against_the_overall_limit() {
        let mut limiter = NotifyLimiter::new();
        for i in 0..6 {
            assert!(
                limiter
                    .offer(message(&format!("c{i}")), i * 10_000)
                    .is_some()
            );
        }
        assert!(limiter.offer(message("late"), 51_000).is_none());
        // Room at 60 s, but the held one has waited only 9 s.
        assert_eq!(limiter.summary(60_000), None);
        // At 81 s three have expired (0, 10, 20 s); the summary takes one of the three.
        let summary = limiter.summary(81_000).map(|n| n.body);
        assert_eq!(summary.as_deref(), Some("and 1 more: 1 new message"));
        assert!(limiter.offer(message("n1"), 81_000).is_some());
        assert!(limiter.offer(message("n2"), 81_000).is_some());
        assert!(limiter.offer(message("n3"), 81_000).is_none());
    }

    #[test]
    fn notify_a_due_summary_goes_before_new_notices() {
        let mut limiter = NotifyLimiter::new();
        for i in 0..6 {
            assert!(limiter.offer(message(&format!("c{i}")), i).is_some());
        }
        assert!(limiter.offer(message("held"), 10).is_none());
        // Room at 60 s and the summary is due: a new notice is held, the summary told.
        assert!(limiter.offer(message("new"), 60_000).is_none());
        let summary = limiter.summary(60_000).map(|n| n.body);
        assert_eq!(summary.as_deref(), Some("and 2 more: 2 new messages"));
        assert!(limiter.offer(message("next"), 60_001).is_some());
    }

    #[test]
    fn notify_one_chatty_conversation_gets_one_ping_then_a_summary_later() {
        let mut limiter = NotifyLimiter::new();
        assert!(limiter.offer(message("a"), 0).is_some());
        for t in 1..=5 {
            assert!(limiter.offer(message("a"), t * 1_000).is_none());
            assert_eq!(limiter.summary(t * 1_000), None);
        }
        assert_eq!(limiter.summary(30_999), None);
        let summary = limiter.summary(31_000).map(|n| (n.kind, n.body));
        let expected = (NoticeKind::CustomerMessage, "and 5 more: 5 new messages");
        assert_eq!(summary, Some((expected.0, expected.1.to_owned())));
    }

    #[test]
    fn notify_memory_stays_bounded_over_an_hour_of_distinct_conversations() {
        let mut limiter = NotifyLimiter::new();
        let mut shown: Vec<i64> = Vec::new();
        let (mut direct, mut summaries, mut told) = (0_u64, 0_u64, 0_u64);
        let kinds = [
            NoticeKind::CustomerMessage,
            NoticeKind::Warning,
            NoticeKind::Breach,
        ];
        for i in 0..100_000_i64 {
            let now = i * 36; // an hour
            let kind = kinds[(i % 3) as usize];
            if limiter.offer(notice(&format!("c{i}"), kind), now).is_some() {
                shown.push(now);
                direct += 1;
            }
            if let Some(summary) = limiter.summary(now) {
                shown.push(now);
                summaries += 1;
                told += held_in(&summary.body);
            }
            assert!(limiter.tracked() <= WINDOW_LIMIT, "{}", limiter.tracked());
            assert!(limiter.window.len() <= WINDOW_LIMIT);
        }
        // Never more than 6 in any 60 s.
        for (index, at) in shown.iter().enumerate() {
            let in_window = shown[index..].iter().take_while(|t| **t - at < WINDOW_MS);
            assert!(in_window.count() <= WINDOW_LIMIT, "at {at}");
        }
        assert!(summaries > 0 && direct > 0);
        // Every notice was shown, told in a summary, or is still held.
        assert_eq!(direct + told + limiter.held.total(), 100_000);
    }

    /// N in "and N more: …".
    fn held_in(body: &str) -> u64 {
        body.strip_prefix("and ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn notify_time_going_backwards_neither_panics_nor_lifts_the_limits() {
        let mut limiter = NotifyLimiter::new();
        assert!(limiter.offer(message("a"), 100_000).is_some());
        // An hour back: "a" was notified "now", so it waits 30 s from here.
        assert!(limiter.offer(message("a"), 100_000 - 3_600_000).is_none());
        assert!(
            limiter
                .offer(message("a"), 100_000 - 3_600_000 + 29_999)
                .is_none()
        );
        assert!(limiter.summary(100_000 - 3_600_000 + 30_000).is_some());
        assert!(
            limiter
                .offer(message("a"), 100_000 - 3_600_000 + 30_000)
                .is_some()
        );
        for now in [i64::MAX, i64::MIN, 0, i64::MAX, i64::MIN + 1, -1, i64::MAX] {
            let _ = limiter.offer(message("x"), now);
            let _ = limiter.offer(notice("y", NoticeKind::Breach), now);
            let _ = limiter.summary(now);
            assert!(limiter.tracked() <= WINDOW_LIMIT);
        }
        // Far in the future after the extremes, everything has expired.
        let mut limiter = NotifyLimiter::new();
        for i in 0..6 {
            assert!(
                limiter
                    .offer(message(&format!("c{i}")), i64::MIN + i)
                    .is_some()
            );
        }
        assert!(limiter.offer(message("z"), i64::MIN + 10).is_none());
        assert!(limiter.summary(i64::MAX).is_some());
        assert!(limiter.offer(message("z"), i64::MAX).is_some());
    }
}
