//! Reading how long to snooze a conversation, as a broker types it: nothing (until the
//! customer writes), a duration (`30m`, `1h`, `2d`, `1h30m`), a time today or tomorrow
//! (`14:30`, `tomorrow 9:00`, `tomorrow`). Times are local (the machine's UTC offset).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnoozeError {
    #[error("cannot read {0:?}: try 30m, 1h, 14:30, tomorrow 9:00, or nothing (until they write)")]
    Unreadable(String),
}

const DAY_MS: i64 = 86_400_000;
/// `tomorrow` alone means the start of the working day.
const MORNING_MINUTE: i64 = 9 * 60;

/// `Ok(None)`: until the customer writes; `Ok(Some(ms))`: until then.
pub fn parse_snooze(
    text: &str,
    now_ms: i64,
    utc_offset_s: i32,
) -> Result<Option<i64>, SnoozeError> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return Ok(None);
    }
    let unreadable = || SnoozeError::Unreadable(text.clone());
    if let Some(ms) = duration_ms(&text) {
        return Ok(Some(now_ms.saturating_add(ms)));
    }
    let offset_ms = i64::from(utc_offset_s) * 1000;
    let local_now = now_ms.saturating_add(offset_ms);
    let local_midnight = local_now.div_euclid(DAY_MS) * DAY_MS;
    let (days, time) = match text.strip_prefix("tomorrow") {
        Some(rest) => (1, rest.trim()),
        None => (0, text.as_str()),
    };
    let minute = if time.is_empty() {
        if days == 0 {
            return Err(unreadable());
        }
        MORNING_MINUTE
    } else {
        minute_of_day(time).ok_or_else(unreadable)?
    };
    let mut local_at = local_midnight + days * DAY_MS + minute * 60_000;
    // A time already past today means tomorrow.
    if days == 0 && local_at <= local_now {
        local_at += DAY_MS;
    }
    Ok(Some(local_at - offset_ms))
}

/// `30m`, `1h`, `2d`, `90s`, `1h30m`: at most a year.
fn duration_ms(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(digit))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => DAY_MS,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    (number.is_none() && total > 0 && total <= 365 * DAY_MS).then_some(total)
}

/// `9:00`, `14:30`, `9` → minutes after midnight.
fn minute_of_day(text: &str) -> Option<i64> {
    let (hours, minutes) = text.split_once(':').unwrap_or((text, "0"));
    let hours: i64 = hours.parse().ok()?;
    let minutes: i64 = minutes.parse().ok()?;
    ((0..24).contains(&hours) && (0..60).contains(&minutes)).then_some(hours * 60 + minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-15 08:00 UTC.
    const T0: i64 = 1_800_000_000_000;

    #[test]
    fn nothing_means_until_the_customer_writes_and_durations_count_from_now() {
        assert_eq!(parse_snooze("", T0, 0), Ok(None));
        assert_eq!(parse_snooze("1h", T0, 0), Ok(Some(T0 + 3_600_000)));
        assert_eq!(parse_snooze("1h30m", T0, 0), Ok(Some(T0 + 5_400_000)));
    }

    #[test]
    fn times_are_local_and_a_past_time_means_tomorrow() {
        let midnight = T0 - 8 * 3_600_000;
        assert_eq!(
            parse_snooze("14:30", T0, 0),
            Ok(Some(midnight + 14 * 3_600_000 + 1_800_000))
        );
        assert_eq!(
            parse_snooze("7:00", T0, 0),
            Ok(Some(midnight + DAY_MS + 7 * 3_600_000))
        );
        assert_eq!(
            parse_snooze("tomorrow 9:00", T0, 0),
            Ok(Some(midnight + DAY_MS + 9 * 3_600_000))
        );
        assert_eq!(
            parse_snooze("tomorrow", T0, 0),
            parse_snooze("tomorrow 9:00", T0, 0)
        );
        // At UTC+02:00 it is 10:00 locally: 14:30 local is 12:30 UTC.
        assert_eq!(
            parse_snooze("14:30", T0, 7_200),
            Ok(Some(midnight + 12 * 3_600_000 + 1_800_000))
        );
    }

    #[test]
    fn anything_else_is_refused_with_examples() {
        for text in [
            "soon",
            "25:00",
            "1y",
            "0m",
            "tomorrow 9:61",
            "99999999999999999999d",
        ] {
            let error = parse_snooze(text, T0, 0).unwrap_err().to_string();
            assert!(error.contains("tomorrow 9:00"), "{text}: {error}");
        }
    }
}
