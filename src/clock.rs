//! Wall-clock time in milliseconds since the Unix epoch: the one source for event
//! timestamps, token lifetimes and SLA clocks in every module.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now; a clock set before 1970 reads as 0.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Now, for the fields Ably types as unsigned (token `issued` and `expires`, TokenRequest
/// `timestamp`).
pub fn now_ms_u64() -> u64 {
    u64::try_from(now_ms()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_the_same_clock() {
        let signed = now_ms();
        let unsigned = now_ms_u64();
        assert!(signed > 1_600_000_000_000, "after 2020: {signed}");
        assert!(unsigned.abs_diff(u64::try_from(signed).unwrap()) < 1_000);
    }
}
