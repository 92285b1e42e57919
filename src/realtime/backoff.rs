//! Retry delays (Ably spec RTB1): `base × min((n + 2) / 3, 2) × jitter`, jitter uniform in
//! [0.8, 1], so delays grow over the first few attempts and stay capped at twice the base.

use std::time::Duration;

/// The delay before retry number `attempt` (1-based); `jitter` is a number in [0, 1).
pub fn retry_delay(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let attempt = f64::from(attempt.max(1));
    let backoff = ((attempt + 2.0) / 3.0).min(2.0);
    let jitter = 1.0 - 0.2 * jitter.clamp(0.0, 1.0);
    base.mul_f64(backoff * jitter)
}

pub fn random_jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTS: RTB1a.
    #[test]
    fn grows_then_caps_at_twice_the_base() {
        let base = Duration::from_secs(15);
        assert_eq!(retry_delay(base, 1, 0.0), Duration::from_secs(15));
        assert_eq!(
            retry_delay(base, 2, 0.0),
            Duration::from_secs(15).mul_f64(4.0 / 3.0)
        );
        assert_eq!(retry_delay(base, 4, 0.0), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 100, 0.0), Duration::from_secs(30));
    }

    /// UTS: RTB1b.
    #[test]
    fn jitter_takes_off_at_most_a_fifth() {
        let base = Duration::from_secs(10);
        let lowest = retry_delay(base, 1, 0.999_999);
        assert!(lowest >= Duration::from_secs(8) && lowest < Duration::from_secs(10));
        for _ in 0..100 {
            let delay = retry_delay(base, 5, random_jitter());
            assert!(delay >= Duration::from_secs(16) && delay <= Duration::from_secs(20));
        }
    }
}
