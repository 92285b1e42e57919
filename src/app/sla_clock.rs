//! The dashboard's own SLA clock: time waited, counting only business hours when set, at a
//! fixed UTC offset (no time-zone database, so no daylight saving). Instants are UTC ms; the
//! sums run in `i128`, clamped at the edges, and in constant time whatever the span.

use super::conversation::SlaLevel;

const MINUTE_MS: i128 = 60_000;
const DAY_MS: i128 = 86_400_000;
const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// The widest offset ISO 8601 and chrono accept.
pub const MAX_UTC_OFFSET_S: i32 = 18 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaThresholds {
    pub warning_ms: u64,
    pub violation_ms: u64,
}

impl Default for SlaThresholds {
    /// Warn at 2 minutes, breach at 5.
    fn default() -> Self {
        Self {
            warning_ms: 120_000,
            violation_ms: 300_000,
        }
    }
}

impl SlaThresholds {
    pub fn of(&self, level: SlaLevel) -> u64 {
        match level {
            SlaLevel::Warning => self.warning_ms,
            SlaLevel::Breach => self.violation_ms,
        }
    }
}

/// Why business hours or an offset could not be read: the bad part, then the whole text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("no business hours given: write them like \"Mon-Fri 09:00-18:00\"")]
    Empty,
    #[error("unknown day \"{0}\" in \"{1}\": use Mon, Tue, Wed, Thu, Fri, Sat or Sun")]
    UnknownDay(String, String),
    #[error("no days before \"{0}\" in \"{1}\"")]
    MissingDays(String, String),
    #[error("no hours after \"{0}\" in \"{1}\"")]
    MissingHours(String, String),
    #[error("unreadable time \"{0}\" in \"{1}\": use HH:MM, from 00:00 to 24:00")]
    BadTime(String, String),
    #[error("unreadable hours \"{0}\" in \"{1}\": use HH:MM-HH:MM")]
    BadRange(String, String),
    #[error("\"{0}\" in \"{1}\" does not close after it opens: overnight hours are not supported")]
    Overnight(String, String),
    #[error("day \"{0}\" is listed twice in \"{1}\"")]
    DuplicateDay(String, String),
    #[error("unreadable UTC offset \"{0}\": use +HH:MM, -HH:MM, +HHMM, UTC or Z")]
    BadOffset(String),
    #[error("UTC offset \"{0}\" is beyond ±18:00")]
    OffsetOutOfRange(String),
}

fn fail(kind: fn(String, String) -> HoursError, part: &str, text: &str) -> HoursError {
    kind(part.to_owned(), text.to_owned())
}

/// Opening hours per weekday at a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Monday first: opening and closing minute of the day, `open < close <= 1440`.
    days: [Option<(u16, u16)>; 7],
    /// Seconds east of UTC.
    utc_offset_s: i32,
}

impl BusinessHours {
    /// "Mon-Fri 09:00-18:00", "Mon-Fri 09:00-18:00, Sat 10:00-14:00", "Mon,Wed 08:30-17:00",
    /// "Sun 00:00-24:00". Day names are 3 letters, any case; a day range may wrap ("Fri-Mon").
    pub fn parse(text: &str, utc_offset_s: i32) -> Result<Self, HoursError> {
        if utc_offset_s.unsigned_abs() > MAX_UTC_OFFSET_S.unsigned_abs() {
            return Err(HoursError::OffsetOutOfRange(format_offset(utc_offset_s)));
        }
        if text.trim().is_empty() {
            return Err(HoursError::Empty);
        }
        let mut days = [None; 7];
        // Days waiting for hours: in "Mon,Wed 08:30-17:00" the comma separates days too.
        let (mut pending, mut last_piece) = (Vec::new(), "");
        for piece in text.split(',').map(str::trim) {
            let digit = piece.find(|c: char| c.is_ascii_digit());
            let (day_part, hours) = piece.split_at(digit.unwrap_or(piece.len()));
            pending.extend(parse_days(day_part, text)?);
            last_piece = piece;
            if hours.is_empty() {
                continue;
            }
            if pending.is_empty() {
                return Err(fail(HoursError::MissingDays, hours, text));
            }
            let span = parse_range(hours, text)?;
            for day in pending.drain(..) {
                if days[day].replace(span).is_some() {
                    return Err(fail(HoursError::DuplicateDay, DAY_NAMES[day], text));
                }
            }
        }
        if !pending.is_empty() {
            return Err(fail(HoursError::MissingHours, last_piece, text));
        }
        Ok(Self { days, utc_offset_s })
    }

    /// Open when the millisecond starting at `at_ms` counts.
    pub fn is_open(&self, at_ms: i64) -> bool {
        let local = self.to_local(at_ms);
        self.open_before(local + 1) > self.open_before(local)
    }

    /// Open time (ms) between two instants; 0 when `to_ms <= from_ms`.
    pub fn open_ms_between(&self, from_ms: i64, to_ms: i64) -> u64 {
        let to = self.open_before(self.to_local(to_ms));
        clamp_u64(to - self.open_before(self.to_local(from_ms)))
    }

    /// The instant at which `open_ms` of open time has passed since `from_ms`: whole weeks
    /// at once, then the last week day by day. `i64::MAX` when it never opens.
    pub fn after_open_ms(&self, from_ms: i64, open_ms: u64) -> i64 {
        if open_ms == 0 {
            return from_ms;
        }
        let week_open = self.open_in(7);
        if week_open <= 0 {
            return i64::MAX;
        }
        let target = self.open_before(self.to_local(from_ms)) + i128::from(open_ms);
        // The week in which the open time reaches `target`, and how much is left of it there.
        let week = (target - 1).div_euclid(week_open);
        let mut left = target - week * week_open;
        for (weekday, (open, close)) in (0..7).filter_map(|w| Some((w, self.span_ms(w)?))) {
            if left <= close - open {
                return self.to_utc((week * 7 - 3 + weekday as i128) * DAY_MS + open + left);
            }
            left -= close - open;
        }
        i64::MAX
    }

    /// When it next opens, if closed at `at_ms`; None when open now, or when it never opens
    /// again before `i64::MAX`. The first open millisecond ends one after the opening.
    pub fn next_open(&self, at_ms: i64) -> Option<i64> {
        let first_ms_done = self.after_open_ms(at_ms, 1);
        (!self.is_open(at_ms) && first_ms_done < i64::MAX).then(|| first_ms_done - 1)
    }

    /// A short description for the screen: "Mon–Fri 09:00–18:00 (UTC+01:00)".
    pub fn describe(&self) -> String {
        let (mut parts, hhmm) = (Vec::new(), |m: u16| format!("{:02}:{:02}", m / 60, m % 60));
        for (first, &span) in self.days.iter().enumerate() {
            // Days sharing their hours are described together, at the first of them.
            if let Some((open, close)) = span.filter(|_| !self.days[..first].contains(&span)) {
                let days = day_runs((first..7).filter(|&d| self.days[d] == span));
                parts.push(format!("{days} {}–{}", hhmm(open), hhmm(close)));
            }
        }
        let hours = parts.join(", ");
        let hours = if hours.is_empty() { "closed" } else { &hours };
        format!("{hours} (UTC{})", format_offset(self.utc_offset_s))
    }

    fn to_local(&self, at_ms: i64) -> i128 {
        i128::from(at_ms) + i128::from(self.utc_offset_s) * 1000
    }

    fn to_utc(&self, local_ms: i128) -> i64 {
        let utc = local_ms - i128::from(self.utc_offset_s) * 1000;
        i64::try_from(utc).unwrap_or(if utc < 0 { i64::MIN } else { i64::MAX })
    }

    /// Opening and closing of a weekday in ms since midnight; None when closed all day.
    fn span_ms(&self, weekday: usize) -> Option<(i128, i128)> {
        let (open, close) = self.days.get(weekday).copied().flatten()?;
        let span = (i128::from(open) * MINUTE_MS, i128::from(close) * MINUTE_MS);
        (span.0 < span.1).then_some(span)
    }

    /// Open time of the week's first `days` days (7: the whole week).
    fn open_in(&self, days: usize) -> i128 {
        let day = |w| self.span_ms(w).map_or(0, |(o, c)| c - o);
        (0..days).map(day).sum()
    }

    /// Open time from the start of week 0 to a local instant (negative before it): the
    /// difference of two of these is the open time between them, in constant time.
    fn open_before(&self, local_ms: i128) -> i128 {
        let (week, w, in_day) = split_local(local_ms);
        let today = self.span_ms(w).map_or(0, |(o, c)| in_day.clamp(o, c) - o);
        week * self.open_in(7) + self.open_in(w) + today
    }
}

/// Seconds east of UTC from "+01:00", "-05:30", "+0100", "UTC", "Z" or "UTC+01:00".
pub fn parse_utc_offset(text: &str) -> Result<i32, HoursError> {
    let trimmed = text.trim();
    let bad = || HoursError::BadOffset(trimmed.to_owned());
    let upper = trimmed.to_ascii_uppercase();
    let rest = upper.strip_prefix("UTC").unwrap_or(&upper);
    let (sign, rest) = match rest.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        // "UTC" alone leaves nothing, "Z" leaves itself.
        Some(("Z", "")) | None if !upper.is_empty() => return Ok(0),
        _ => return Err(bad()),
    };
    let parts = rest.split_once(':').or_else(|| rest.split_at_checked(2));
    let (hours, minutes) = parts.ok_or_else(bad)?;
    let hours = number(hours, 1..=2).ok_or_else(bad)?;
    let minutes = number(minutes, 2..=2).filter(|&m| m < 60).ok_or_else(bad)?;
    let seconds = i32::from(hours) * 3600 + i32::from(minutes) * 60;
    if seconds > MAX_UTC_OFFSET_S {
        return Err(HoursError::OffsetOutOfRange(trimmed.to_owned()));
    }
    Ok(sign * seconds)
}

/// "+01:00", "-05:30" (leftover seconds are not shown); nothing for UTC itself.
fn format_offset(seconds: i32) -> String {
    let (sign, abs) = (if seconds < 0 { '-' } else { '+' }, seconds.unsigned_abs());
    let text = format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60);
    if abs == 0 { String::new() } else { text }
}

/// Digits only, as many as allowed.
fn number(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u16> {
    let ok = digits.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

fn parse_days(spec: &str, text: &str) -> Result<Vec<usize>, HoursError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(Vec::new());
    }
    let day = |name: &str| {
        let name = name.trim();
        let known = DAY_NAMES.iter().position(|d| d.eq_ignore_ascii_case(name));
        known.ok_or_else(|| fail(HoursError::UnknownDay, name, text))
    };
    let (first, last) = spec.split_once(['-', '–']).unwrap_or((spec, spec));
    let (first, last) = (day(first)?, day(last)?);
    let wrapped = first + (last + 7 - first) % 7;
    Ok((first..=wrapped).map(|d| d % 7).collect())
}

/// Opening and closing minute from "HH:MM-HH:MM" ("H:MM" too); "24:00" ends the day.
fn parse_range(range: &str, text: &str) -> Result<(u16, u16), HoursError> {
    let minute = |time: &str| {
        let time = time.trim();
        let minute = time.split_once(':').and_then(|(h, m)| {
            let (h, m) = (number(h, 1..=2)?, number(m, 2..=2)?);
            (m < 60 && (h < 24 || h == 24 && m == 0)).then_some(h * 60 + m)
        });
        minute.ok_or_else(|| fail(HoursError::BadTime, time, text))
    };
    let Some((open, close)) = range.split_once(['-', '–']) else {
        return Err(fail(HoursError::BadRange, range, text));
    };
    let (open, close) = (minute(open)?, minute(close)?);
    if close <= open {
        return Err(fail(HoursError::Overnight, range, text));
    }
    Ok((open, close))
}

/// "Mon–Fri", "Mon, Wed", "Mon–Wed, Fri".
fn day_runs(days: impl Iterator<Item = usize>) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for day in days {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == day => *last = day,
            _ => runs.push((day, day)),
        }
    }
    let run = |&(first, last): &(usize, usize)| match last - first {
        0 => DAY_NAMES[first].to_owned(),
        _ => format!("{}–{}", DAY_NAMES[first], DAY_NAMES[last]),
    };
    runs.iter().map(run).collect::<Vec<_>>().join(", ")
}

/// (week, weekday with Monday 0, ms into the day) of a local instant. Weeks start on
/// Monday; 1970-01-01, day 0, was a Thursday.
fn split_local(local_ms: i128) -> (i128, usize, i128) {
    let day = local_ms.div_euclid(DAY_MS) + 3;
    let weekday = day.rem_euclid(7) as usize;
    (day.div_euclid(7), weekday, local_ms.rem_euclid(DAY_MS))
}

fn clamp_u64(value: i128) -> u64 {
    u64::try_from(value.max(0)).unwrap_or(u64::MAX)
}

/// The SLA thresholds and, when set, the business hours outside which the clock pauses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaClock {
    pub thresholds: SlaThresholds,
    pub hours: Option<BusinessHours>,
}

impl SlaClock {
    /// How long a customer waiting since `since_ms` has waited by `now_ms`, counting only
    /// business hours when set.
    pub fn waited_ms(&self, since_ms: i64, now_ms: i64) -> u64 {
        match &self.hours {
            Some(hours) => hours.open_ms_between(since_ms, now_ms),
            None => clamp_u64(i128::from(now_ms) - i128::from(since_ms)),
        }
    }

    /// The absolute instant the level's threshold is crossed.
    pub fn deadline_ms(&self, since_ms: i64, level: SlaLevel) -> i64 {
        let threshold = self.thresholds.of(level);
        match &self.hours {
            Some(hours) => hours.after_open_ms(since_ms, threshold),
            None => since_ms.saturating_add_unsigned(threshold),
        }
    }

    /// The highest level crossed by `now_ms`, if any; a threshold is crossed once reached.
    pub fn level_at(&self, since_ms: i64, now_ms: i64) -> Option<SlaLevel> {
        let waited = self.waited_ms(since_ms, now_ms);
        let crossed = |&level: &SlaLevel| waited >= self.thresholds.of(level);
        let levels = [SlaLevel::Breach, SlaLevel::Warning];
        levels.into_iter().find(crossed)
    }

    /// The clock is paused (outside business hours).
    pub fn paused(&self, now_ms: i64) -> bool {
        self.hours.as_ref().is_some_and(|h| !h.is_open(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::SlaLevel::{Breach, Warning};
    use super::*;

    /// 2024-01-01, a Monday, 00:00 UTC.
    const MONDAY: i64 = 1_704_067_200_000;
    const WEEK: i64 = 7 * 86_400_000;

    fn at(day: i64, hour: i64, minute: i64) -> i64 {
        MONDAY + day * 86_400_000 + hour * 3_600_000 + minute * 60_000
    }

    fn office() -> BusinessHours {
        BusinessHours::parse("Mon-Fri 09:00-18:00", 0).unwrap()
    }

    fn clock(hours: Option<BusinessHours>) -> SlaClock {
        let thresholds = SlaThresholds::default();
        SlaClock { thresholds, hours }
    }

    /// Lines of `first | second | ...`.
    fn table(t: &str) -> impl Iterator<Item = Vec<&str>> {
        t.lines().map(|l| l.split(" | ").map(str::trim).collect())
    }

    #[test]
    fn parses_the_documented_forms() {
        let forms = "Mon-Fri 09:00-18:00 | 3600 | Mon–Fri 09:00–18:00 (UTC+01:00)
            mon-fri 09:00-18:00, SAT 10:00-14:00 | 0 | Mon–Fri 09:00–18:00, Sat 10:00–14:00 (UTC)
            Mon,Wed 08:30-17:00 | -19800 | Mon, Wed 08:30–17:00 (UTC-05:30)
            Mon, Wed 8:30 - 17:00 | 0 | Mon, Wed 08:30–17:00 (UTC)
            Sun 00:00-24:00 | 0 | Sun 00:00–24:00 (UTC)
            Fri-Mon 10:00-12:00 | 0 | Mon, Fri–Sun 10:00–12:00 (UTC)";
        for row in table(forms) {
            let hours = BusinessHours::parse(row[0], row[1].parse().unwrap()).unwrap();
            assert_eq!(hours.describe(), row[2]);
        }
        let sunday = BusinessHours::parse("Sun 00:00-24:00", 0).unwrap();
        let open = [at(5, 23, 59), at(6, 0, 0), at(7, 0, 0)].map(|t| sunday.is_open(t));
        assert_eq!(open, [false, true, false]);
    }

    #[test]
    fn rejects_each_kind_of_mistake() {
        let mistakes = r#"Mun-Fri 09:00-18:00 | unknown day "Mun" in "Mun-Fri 09:00-18:00"
            09:00-18:00 | no days before "09:00-18:00"
            Mon 09:00-18:00, Sat | no hours after "Sat"
            Mon 9h-18:00 | unreadable time "9h"
            Mon 09:00-24:30 | unreadable time "24:30"
            Mon 09:00 | unreadable hours "09:00"
            Sat 9:00-8:00 | "9:00-8:00" in "Sat 9:00-8:00" does not close after it opens: overnight
            Mon-Fri 09:00-12:00, Wed 13:00-18:00 | day "Wed" is listed twice"#;
        for row in table(mistakes) {
            let error = BusinessHours::parse(row[0], 0).unwrap_err().to_string();
            assert!(error.starts_with(row[1]), "{error}");
        }
        assert_eq!(BusinessHours::parse(" ", 0), Err(HoursError::Empty));
        let far = BusinessHours::parse("Mon 09:00-18:00", -68_460);
        assert_eq!(far, Err(HoursError::OffsetOutOfRange("-19:01".into())));
    }

    #[test]
    fn reads_utc_offsets() {
        let good = [("+01:00", 3600), ("-05:30", -19_800), ("UTC", 0), ("z", 0)];
        let more = [("+0100", 3600), ("UTC+02:00", 7200), ("+18:00", 64_800)];
        for (text, seconds) in good.into_iter().chain(more) {
            assert_eq!(parse_utc_offset(text), Ok(seconds), "{text}");
        }
        for text in ["", "01:00", "+1:0", "+01:60", "CET", "+01:00:00"] {
            let bad = HoursError::BadOffset(text.to_owned());
            assert_eq!(parse_utc_offset(text), Err(bad));
        }
        let far = parse_utc_offset("-18:30").unwrap_err().to_string();
        assert_eq!(far, "UTC offset \"-18:30\" is beyond ±18:00");
        let paris = BusinessHours::parse("Mon-Fri 09:00-18:00", 3600).unwrap();
        assert!(paris.is_open(at(0, 8, 30)) && !paris.is_open(at(0, 17, 30)));
    }

    #[test]
    fn the_weekend_does_not_count() {
        let clock = clock(Some(office()));
        // Friday 17:59 to Monday 09:01: one minute each side.
        let (since, now) = (at(4, 17, 59), at(7, 9, 1));
        assert_eq!(clock.waited_ms(since, now), 120_000);
        assert_eq!(clock.level_at(since, now), Some(Warning));
        assert!(clock.paused(at(5, 12, 0)) && clock.paused(at(4, 18, 0)));
        assert!(!clock.paused(at(4, 17, 59)) && !clock.paused(at(7, 9, 0)));
        let deadline = |since, level| clock.deadline_ms(since, level);
        assert_eq!(deadline(at(4, 17, 58), Warning), at(4, 18, 0));
        assert_eq!(deadline(at(4, 17, 58), Breach), at(7, 9, 3));
        assert_eq!(deadline(at(5, 11, 0), Warning), at(7, 9, 2));
        let breach = deadline(at(5, 11, 0), Breach);
        assert_eq!(clock.level_at(at(5, 11, 0), breach), Some(Breach));
        assert_eq!(clock.level_at(at(5, 11, 0), breach - 1), Some(Warning));
        let times = [at(5, 12, 0), at(4, 18, 0), at(1, 8, 0), at(1, 9, 0)];
        let (next, monday) = (times.map(|t| office().next_open(t)), Some(at(7, 9, 0)));
        assert_eq!(next, [monday, monday, Some(at(1, 9, 0)), None]);
    }

    #[test]
    fn a_century_computes_at_once() {
        let (hours, weeks) = (office(), 5218);
        let started = std::time::Instant::now();
        let open = hours.open_ms_between(MONDAY, MONDAY + weeks * WEEK);
        let done = hours.after_open_ms(MONDAY, open);
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert_eq!(open, 5218 * 45 * 3_600_000);
        assert_eq!(done, at(4, 18, 0) + (weeks - 1) * WEEK);
    }

    #[test]
    fn extreme_instants_saturate() {
        let edges = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        let odd = [("Wed 10:00-10:01", 50400), ("Mon-Sun 00:00-24:00", -43200)];
        for hours in odd.map(|(t, o)| BusinessHours::parse(t, o).unwrap()) {
            let clock = clock(Some(hours.clone()));
            for (from, to) in edges.iter().flat_map(|&a| edges.map(|b| (a, b))) {
                let _ = (clock.waited_ms(from, to), clock.level_at(from, to));
                let _ = (clock.deadline_ms(from, Breach), clock.paused(to));
                let _ = (hours.next_open(from), hours.after_open_ms(from, u64::MAX));
            }
            assert_eq!(hours.after_open_ms(i64::MAX - 5, u64::MAX), i64::MAX);
            assert_eq!(clock.deadline_ms(i64::MAX, Breach), i64::MAX);
        }
        let always = BusinessHours::parse("Mon-Sun 00:00-24:00", 0).unwrap();
        assert_eq!(always.open_ms_between(i64::MIN, i64::MAX), u64::MAX);
        let plain = SlaClock::default();
        assert_eq!(plain.waited_ms(i64::MIN, i64::MAX), u64::MAX);
        assert_eq!(plain.deadline_ms(i64::MAX - 1, Warning), i64::MAX);
        assert_eq!(office().next_open(i64::MAX), None);
        // Hours that never open: parse cannot make them, the arithmetic still copes.
        let mut never = always;
        never.days = [None; 7];
        assert_eq!(never.after_open_ms(MONDAY, 1), i64::MAX);
        assert_eq!(never.open_ms_between(i64::MIN, i64::MAX), 0);
        assert_eq!(never.next_open(MONDAY), None);
        assert_eq!(never.describe(), "closed (UTC)");
    }

    #[test]
    fn without_hours_it_is_wall_time() {
        let clock = SlaClock::default();
        assert_eq!(clock.waited_ms(at(5, 12, 0), at(6, 12, 0)), 86_400_000);
        assert_eq!(clock.waited_ms(10, 5), 0);
        assert_eq!(clock.deadline_ms(at(5, 12, 0), Breach), at(5, 12, 5));
        assert!(!clock.paused(at(5, 12, 0)));
        let levels = [119_999, 120_000, 299_999, 300_000].map(|now| clock.level_at(0, now));
        assert_eq!(levels, [None, Some(Warning), Some(Warning), Some(Breach)]);
    }
}
