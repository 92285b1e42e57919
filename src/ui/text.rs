//! Small text helpers for widgets: width-aware wrapping and truncation, and durations
//! and times in words. Input is already cleaned (`sanitize`), so widths are honest.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Greedy word wrap by display width; words wider than the line are split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut line_width = 0;
        for word in paragraph.split(' ') {
            let word_width = word.width();
            let gap = usize::from(!line.is_empty());
            if line_width + gap + word_width <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                line_width += gap + word_width;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_width = 0;
            }
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if line_width + w > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0;
                }
                line.push(c);
                line_width += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// Cuts to `width` columns, ending with `…` when something was cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// "45 s", "6 min", "2 h 5 min": waiting times change at most once a minute on screen.
pub fn duration_words(ms: i64) -> String {
    let seconds = (ms / 1000).max(0);
    match seconds {
        0..=59 => "under 1 min".to_owned(),
        60..=3599 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

pub fn seconds_words(ms: u64) -> String {
    let seconds = ms / 1000;
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

/// Wall-clock time `HH:MM` at a UTC offset (the state carries the local one).
pub fn clock(ms: i64, utc_offset_s: i32) -> String {
    // Shifting the instant and formatting it as UTC gives the wall-clock time there.
    chrono::DateTime::from_timestamp_millis(ms.saturating_add(i64::from(utc_offset_s) * 1000))
        .map(|shifted| shifted.format("%H:%M").to_string())
        .unwrap_or_else(|| "--:--".to_owned())
}

/// This machine's current UTC offset, read once at start.
pub fn local_utc_offset_s() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_by_width_and_keeps_line_breaks() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("中文字符", 4), ["中文", "字符"]);
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("hello world", 8), "hello w…");
        assert_eq!(truncate("short", 8), "short");
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(30_000), "under 1 min");
        assert_eq!(duration_words(6 * 60_000 + 5_000), "6 min");
        assert_eq!(duration_words(125 * 60_000), "2 h 5 min");
        assert_eq!(seconds_words(90_000), "1 min 30 s");
        assert_eq!(seconds_words(45_000), "45 s");
    }
}
