//! Measuring a process from inside: monotonic time shared across processes, CPU time from
//! getrusage, peak memory from /proc, and nearest-rank percentiles.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use nix::time::{ClockId, clock_gettime};

/// `CLOCK_MONOTONIC` in nanoseconds: comparable between processes on one machine.
pub fn monotonic_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|time| {
            let secs = u64::try_from(time.tv_sec()).unwrap_or(0);
            let nanos = u64::try_from(time.tv_nsec()).unwrap_or(0);
            secs * 1_000_000_000 + nanos
        })
        .unwrap_or(0)
}

/// User + system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|usage| {
            let to_duration = |time: nix::sys::time::TimeVal| {
                Duration::from_secs(u64::try_from(time.tv_sec()).unwrap_or(0))
                    + Duration::from_micros(u64::try_from(time.tv_usec()).unwrap_or(0))
            };
            to_duration(usage.user_time()) + to_duration(usage.system_time())
        })
        .unwrap_or_default()
}

/// Peak resident memory (VmHWM) in MiB, if /proc tells.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A set of sequence numbers as bits: one allocation that grows with the highest number
/// seen, and no hashing per message. A hostile sequence number cannot make it grow past
/// [`SequenceSet::LIMIT`]; those are reported as not new.
#[derive(Debug, Default)]
pub struct SequenceSet(Vec<u64>);

impl SequenceSet {
    /// The highest sequence number kept: 2^27 numbers, 16 MiB of bits.
    pub const LIMIT: u64 = 1 << 27;

    /// Adds the number; false if it was there already or is beyond the limit.
    pub fn insert(&mut self, value: u64) -> bool {
        if value >= Self::LIMIT {
            return false;
        }
        let word = (value / 64) as usize;
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let bit = 1u64 << (value % 64);
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
}

pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 95.0), 95.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 50.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
    }

    #[test]
    fn a_sequence_set_tells_new_numbers_from_repeats() {
        let mut set = SequenceSet::default();
        assert!(set.insert(0));
        assert!(set.insert(130));
        assert!(!set.insert(130));
        assert!(set.insert(129));
        assert!(!set.insert(0));
        assert!(
            !set.insert(SequenceSet::LIMIT),
            "beyond the limit is never new"
        );
    }

    #[test]
    fn clocks_move_forward() {
        let before = monotonic_ns();
        let cpu_before = cpu_time();
        let mut spin = 0u64;
        for index in 0..2_000_000u64 {
            spin = spin.wrapping_add(index * index);
        }
        assert!(spin > 0);
        assert!(monotonic_ns() > before);
        assert!(cpu_time() >= cpu_before);
        assert!(peak_rss_mb().is_some_and(|mb| mb > 0.0));
    }
}
