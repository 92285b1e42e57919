//! Which of our publishes an ACK or NACK answers. The server's numbers are remote input:
//! `msgSerial` and `count` may be anything, so the span is computed without overflow.

/// The `count` serials from `first` that one ACK or NACK covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AckSpan {
    first: i64,
    /// One past the last serial covered (saturated at `i64::MAX`).
    end: i64,
}

impl AckSpan {
    /// From the frame's `msgSerial` (absent: -1, which covers nothing we sent) and `count`
    /// (absent: 1; too large for a serial: everything from `first` on).
    pub fn new(msg_serial: Option<i64>, count: Option<u64>) -> Self {
        let first = msg_serial.unwrap_or(-1);
        let count = count.map_or(1, |count| i64::try_from(count).unwrap_or(i64::MAX));
        Self {
            first,
            end: first.saturating_add(count),
        }
    }

    /// Serials below the span were skipped by the server: they will never be answered.
    pub fn skips(&self, serial: i64) -> bool {
        serial < self.first
    }

    /// Whether the span reaches this serial (or one before it).
    pub fn reaches(&self, serial: i64) -> bool {
        serial < self.end
    }

    /// Where a covered serial's result sits in the ACK's `res` list.
    pub fn position(&self, serial: i64) -> Option<usize> {
        serial
            .checked_sub(self.first)
            .and_then(|offset| usize::try_from(offset).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_covers_count_serials_from_its_msg_serial() {
        let span = AckSpan::new(Some(3), Some(2));
        assert!(span.skips(2));
        assert!(!span.skips(3));
        assert!(span.reaches(4));
        assert!(!span.reaches(5));
        assert_eq!(span.position(3), Some(0));
        assert_eq!(span.position(4), Some(1));
    }

    #[test]
    fn a_msg_serial_at_the_top_of_the_range_does_not_overflow() {
        let span = AckSpan::new(Some(i64::MAX), Some(5));
        assert!(span.reaches(i64::MAX - 1));
        assert!(span.skips(0), "everything we sent lies before it");
        assert_eq!(span.position(i64::MAX), Some(0));
    }

    #[test]
    fn a_count_too_large_for_a_serial_covers_everything_from_first() {
        let span = AckSpan::new(Some(0), Some(u64::MAX));
        assert!(span.reaches(i64::MAX - 1));
        assert_eq!(span.position(7), Some(7));
    }

    #[test]
    fn a_msg_serial_at_the_bottom_of_the_range_does_not_overflow() {
        let span = AckSpan::new(Some(i64::MIN), Some(1));
        assert!(!span.skips(10));
        assert!(!span.reaches(10), "only i64::MIN is covered");
        assert_eq!(
            span.position(10),
            None,
            "the distance does not fit a serial: no result, no panic"
        );
    }

    #[test]
    fn an_ack_without_msg_serial_covers_nothing_we_sent() {
        let span = AckSpan::new(None, None);
        assert!(!span.reaches(0));
    }
}
