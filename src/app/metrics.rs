//! The last hour in figures, for the supervisor's charts: first-response times (a customer's
//! message to the first reply, AI or human) and how many customers waited for a human,
//! minute by minute. Both are bounded by time and by count.

use std::collections::VecDeque;

pub const HOUR_MS: i64 = 3_600_000;
/// First responses kept: an hour of a very busy floor.
const RESPONSES_KEPT: usize = 100_000;
/// Five-minute buckets in an hour.
pub const BUCKETS: usize = 12;
const BUCKET_MS: i64 = 5 * 60_000;

/// p50 and p95 of the first-response times in one five-minute bucket, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseBucket {
    pub start_ms: i64,
    pub count: usize,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// (answered at, waited ms), oldest first.
    responses: VecDeque<(i64, u64)>,
    /// (minute start, customers waiting for a human), oldest first, one per minute.
    waiting: VecDeque<(i64, usize)>,
}

impl Metrics {
    pub fn responded(&mut self, at_ms: i64, waited_ms: u64) {
        self.responses.push_back((at_ms, waited_ms));
        let keep_from = at_ms.saturating_sub(HOUR_MS);
        while self.responses.len() > RESPONSES_KEPT
            || self
                .responses
                .front()
                .is_some_and(|(at, _)| *at < keep_from)
        {
            self.responses.pop_front();
        }
    }

    /// One sample a minute of how many customers wait for a human (the latest in a minute
    /// replaces the earlier).
    pub fn sample_waiting(&mut self, now_ms: i64, waiting: usize) {
        let minute = now_ms.div_euclid(60_000).saturating_mul(60_000);
        match self.waiting.back_mut() {
            Some((at, count)) if *at == minute => *count = waiting,
            _ => self.waiting.push_back((minute, waiting)),
        }
        while self.waiting.len() > 61 {
            self.waiting.pop_front();
        }
    }

    /// Customers waiting, minute by minute over the last hour, oldest first.
    pub fn waiting(&self, now_ms: i64) -> impl Iterator<Item = (i64, usize)> + '_ {
        let from = now_ms.saturating_sub(HOUR_MS);
        self.waiting
            .iter()
            .copied()
            .filter(move |(at, _)| *at > from)
    }

    /// Twelve five-minute buckets ending now, oldest first.
    pub fn response_buckets(&self, now_ms: i64) -> Vec<ResponseBucket> {
        let last_start = now_ms.div_euclid(BUCKET_MS).saturating_mul(BUCKET_MS);
        (0..BUCKETS as i64)
            .rev()
            .map(|back| {
                let start_ms = last_start.saturating_sub(back.saturating_mul(BUCKET_MS));
                let end_ms = start_ms.saturating_add(BUCKET_MS);
                let mut waits: Vec<u64> = self
                    .responses
                    .iter()
                    .filter(|(at, _)| *at >= start_ms && *at < end_ms)
                    .map(|(_, waited)| *waited)
                    .collect();
                waits.sort_unstable();
                ResponseBucket {
                    start_ms,
                    count: waits.len(),
                    p50_ms: percentile(&waits, 50),
                    p95_ms: percentile(&waits, 95),
                }
            })
            .collect()
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_the_percentiles_of_their_five_minutes() {
        let mut metrics = Metrics::default();
        // Two minutes into a bucket: the last bucket holds the last two minutes.
        let now = 10 * HOUR_MS + 120_000;
        for waited in 1..=100 {
            metrics.responded(now - 60_000, waited * 1000);
        }
        metrics.responded(now - 6 * 60_000, 7_000);
        let buckets = metrics.response_buckets(now);
        assert_eq!(buckets.len(), BUCKETS);
        let last = buckets[BUCKETS - 1];
        assert_eq!(
            (last.count, last.p50_ms, last.p95_ms),
            (100, Some(50_000), Some(95_000))
        );
        assert_eq!(buckets[BUCKETS - 2].p50_ms, Some(7_000));
        assert_eq!(buckets[0].count, 0);
    }

    #[test]
    fn old_and_excess_responses_are_forgotten() {
        let mut metrics = Metrics::default();
        metrics.responded(0, 1);
        metrics.responded(2 * HOUR_MS, 1);
        assert_eq!(metrics.responses.len(), 1);
        for i in 0..(RESPONSES_KEPT + 10) {
            metrics.responded(2 * HOUR_MS + i as i64, 1);
        }
        assert_eq!(metrics.responses.len(), RESPONSES_KEPT);
    }

    #[test]
    fn waiting_keeps_one_sample_a_minute_for_an_hour() {
        let mut metrics = Metrics::default();
        for second in 0..=(3 * 3600) {
            metrics.sample_waiting(second * 1000, (second % 7) as usize);
        }
        let series: Vec<_> = metrics.waiting(3 * HOUR_MS).collect();
        assert_eq!(series.len(), 60);
        assert!(
            series
                .windows(2)
                .all(|pair| pair[1].0 - pair[0].0 == 60_000)
        );
    }
}
