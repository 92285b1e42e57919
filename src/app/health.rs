//! Connection health for the supervisor: each connection's own figures (cumulative, as the
//! realtime client counts them), kept with a few minutes of history so rates and the web
//! app's alert thresholds can be read over a window.

use std::collections::{BTreeMap, VecDeque};

use crate::realtime::ConnectionStats;

/// The web app's own thresholds, over this window.
pub const WINDOW_MS: i64 = 5 * 60_000;
/// Connection attempts failing above this share in the window is a warning.
pub const CONNECTION_FAILURES_LIMIT: f64 = 0.05;
/// Publishes refused above this share in the window is a warning.
pub const DELIVERY_FAILURES_LIMIT: f64 = 0.01;
/// Samples kept per connection: the client reports at most once a second.
const SAMPLES_KEPT: usize = 400;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionHealth {
    pub stats: ConnectionStats,
    /// (when, figures then), oldest first, covering at least the window.
    samples: VecDeque<(i64, ConnectionStats)>,
}

impl ConnectionHealth {
    /// The sample the window starts from: the newest at or before its start, or the oldest.
    fn window_start(&self, now_ms: i64) -> Option<&ConnectionStats> {
        let start = now_ms.saturating_sub(WINDOW_MS);
        self.samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= start)
            .or_else(|| self.samples.front())
            .map(|(_, stats)| stats)
    }

    /// Messages received per second over the last few seconds (0 when none arrived).
    pub fn received_per_s(&self, now_ms: i64) -> f64 {
        let recent = now_ms.saturating_sub(5_000);
        let Some((then, earlier)) = self
            .samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= recent)
            .or_else(|| self.samples.front())
        else {
            return 0.0;
        };
        let span_s = (now_ms.saturating_sub(*then)) as f64 / 1000.0;
        if span_s < 0.5 {
            return 0.0;
        }
        self.stats.received.saturating_sub(earlier.received) as f64 / span_s
    }

    /// (failed, attempted) connection attempts in the window.
    pub fn connection_failures(&self, now_ms: i64) -> (u64, u64) {
        let start = self.window_start(now_ms).cloned().unwrap_or_default();
        (
            self.stats
                .connect_failures
                .saturating_sub(start.connect_failures),
            self.stats
                .connect_attempts
                .saturating_sub(start.connect_attempts),
        )
    }

    /// (refused, published) in the window.
    pub fn delivery_failures(&self, now_ms: i64) -> (u64, u64) {
        let start = self.window_start(now_ms).cloned().unwrap_or_default();
        (
            self.stats.refused.saturating_sub(start.refused),
            self.stats.published.saturating_sub(start.published),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub connections: BTreeMap<usize, ConnectionHealth>,
}

impl Health {
    pub fn record(&mut self, shard: usize, stats: ConnectionStats, now_ms: i64) {
        let connection = self.connections.entry(shard).or_default();
        if connection.samples.is_empty() {
            // The first report counts from zero: what happened before it is in the window.
            connection
                .samples
                .push_back((now_ms, ConnectionStats::default()));
        }
        connection.samples.push_back((now_ms, stats.clone()));
        let keep_from = now_ms.saturating_sub(WINDOW_MS + 10_000);
        while connection.samples.len() > SAMPLES_KEPT
            || connection
                .samples
                .get(1)
                .is_some_and(|(at, _)| *at < keep_from)
        {
            connection.samples.pop_front();
        }
        connection.stats = stats;
    }

    /// The web app's alert thresholds crossed now, in words.
    pub fn warnings(&self, now_ms: i64) -> Vec<String> {
        let (mut failed, mut attempts, mut refused, mut published) = (0, 0, 0, 0);
        for connection in self.connections.values() {
            let (f, a) = connection.connection_failures(now_ms);
            let (r, p) = connection.delivery_failures(now_ms);
            failed += f;
            attempts += a;
            refused += r;
            published += p;
        }
        let mut warnings = Vec::new();
        if attempts > 0 && failed as f64 / attempts as f64 > CONNECTION_FAILURES_LIMIT {
            warnings.push(format!(
                "Connection failures {}% in 5 min ({failed} of {attempts} attempts; limit 5%)",
                percent(failed, attempts)
            ));
        }
        if published > 0 && refused as f64 / published as f64 > DELIVERY_FAILURES_LIMIT {
            warnings.push(format!(
                "Delivery failures {}% in 5 min ({refused} of {published} publishes; limit 1%)",
                percent(refused, published)
            ));
        }
        warnings
    }
}

fn percent(part: u64, whole: u64) -> u64 {
    (part.saturating_mul(100)).checked_div(whole).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(attempts: u64, failures: u64, published: u64, refused: u64) -> ConnectionStats {
        ConnectionStats {
            connect_attempts: attempts,
            connect_failures: failures,
            published,
            refused,
            ..ConnectionStats::default()
        }
    }

    #[test]
    fn thresholds_are_read_over_the_last_five_minutes() {
        let mut health = Health::default();
        // An hour ago: many failures, long out of the window.
        health.record(0, stats(20, 10, 100, 50), 0);
        health.record(0, stats(21, 10, 200, 50), 3_000_000);
        assert!(health.warnings(3_000_000).is_empty());
        // One failure in two attempts, and 2 refused of 100, within the window.
        health.record(0, stats(23, 11, 300, 52), 3_660_000);
        let warnings = health.warnings(3_660_000);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("50%"), "{warnings:?}");
        assert!(warnings[1].contains("2 of 100"), "{warnings:?}");
    }

    #[test]
    fn history_stays_bounded() {
        let mut health = Health::default();
        for second in 0..100_000 {
            health.record(0, stats(second, 0, second, 0), second as i64 * 1000);
        }
        assert!(health.connections[&0].samples.len() <= SAMPLES_KEPT);
    }

    #[test]
    fn the_receive_rate_covers_the_last_seconds() {
        let mut health = Health::default();
        let received = |n| ConnectionStats {
            received: n,
            ..ConnectionStats::default()
        };
        health.record(0, received(0), 0);
        health.record(0, received(1000), 5_000);
        health.record(0, received(2000), 10_000);
        let rate = health.connections[&0].received_per_s(10_000);
        assert!((rate - 200.0).abs() < 1.0, "{rate}");
    }
}
