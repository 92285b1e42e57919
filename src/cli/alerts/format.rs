//! The alerts as text: pure functions of the alerts (and, for the table, the time zone and
//! the current time), so each format is tested without a store or a clock.
//!
//! Conversation ids, customer names and who answered came from the network: they pass
//! through `sanitize::clean_line` before any format, so a name cannot move the cursor, break
//! a row, or smuggle an escape sequence into a terminal or a file.

use chrono::{DateTime, SecondsFormat, TimeZone};
use serde_json::json;
use unicode_width::UnicodeWidthStr;

use crate::app::alert::Alert;
use crate::sanitize::clean_line;

const COLUMNS: [&str; 9] = [
    "raised",
    "conversation",
    "customer",
    "level",
    "source",
    "threshold_s",
    "waited_s",
    "answered_after_s",
    "answered_by",
];

/// The table's numeric columns, right-aligned.
const NUMERIC: [bool; 9] = [false, false, false, false, false, true, true, true, false];

/// One alert, cleaned and in the units every format prints.
struct Row {
    raised_ms: i64,
    conversation: String,
    customer: Option<String>,
    level: &'static str,
    source: &'static str,
    threshold_secs: u64,
    waited_secs: u64,
    answered_ms: Option<i64>,
    /// From the start of the wait to the answer: comparable with the threshold.
    answered_after_secs: Option<u64>,
    answered_by: Option<String>,
}

impl Row {
    fn new(alert: &Alert) -> Self {
        let resolution = alert.resolution.as_ref();
        Self {
            raised_ms: alert.raised_ms,
            conversation: clean_line(&alert.conversation),
            customer: alert.customer.as_deref().map(clean_line),
            level: alert.level.word(),
            source: alert.source.word(),
            threshold_secs: alert.threshold_ms / 1_000,
            waited_secs: alert.actual_ms / 1_000,
            answered_ms: resolution.map(|resolution| resolution.answered_ms),
            answered_after_secs: resolution.map(|resolution| {
                let waited_ms = resolution
                    .answered_ms
                    .saturating_sub(alert.waiting_since_ms);
                u64::try_from(waited_ms).unwrap_or(0) / 1_000
            }),
            answered_by: resolution
                .map(|resolution| clean_line(&resolution.by))
                .filter(|by| !by.is_empty()),
        }
    }

    /// The cells after the time, in `COLUMNS` order; `missing` stands for an absent value.
    fn cells_after_time(&self, missing: &str) -> [String; 8] {
        [
            self.conversation.clone(),
            self.customer.clone().unwrap_or_else(|| missing.to_owned()),
            self.level.to_owned(),
            self.source.to_owned(),
            self.threshold_secs.to_string(),
            self.waited_secs.to_string(),
            self.answered_after_secs
                .map_or_else(|| missing.to_owned(), |secs| secs.to_string()),
            self.answered_by
                .clone()
                .unwrap_or_else(|| missing.to_owned()),
        ]
    }
}

/// `2026-12-01T14:05:00Z`; `None` past the years chrono can name.
fn rfc3339_utc(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A header line and one line per alert; times in UTC.
pub(super) fn csv(alerts: &[Alert]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for alert in alerts {
        let row = Row::new(alert);
        let raised = rfc3339_utc(row.raised_ms).unwrap_or_default();
        let cells = std::iter::once(raised).chain(row.cells_after_time(""));
        let line: Vec<String> = cells.map(|cell| csv_cell(&cell)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180 quoting, after guarding against formula injection: a spreadsheet runs a cell
/// that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, so such a cell gets a
/// leading `'` and is shown as text.
fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One JSON object per line; an absent value is `null`.
pub(super) fn jsonl(alerts: &[Alert]) -> String {
    let mut out = String::new();
    for alert in alerts {
        let row = Row::new(alert);
        let object = json!({
            "raisedAt": rfc3339_utc(row.raised_ms),
            "raisedMs": row.raised_ms,
            "conversationId": row.conversation,
            "customer": row.customer,
            "level": row.level,
            "source": row.source,
            "thresholdSecs": row.threshold_secs,
            "waitedSecs": row.waited_secs,
            "answeredAt": row.answered_ms.and_then(rfc3339_utc),
            "answeredAfterSecs": row.answered_after_secs,
            "answeredBy": row.answered_by,
        });
        out.push_str(&object.to_string());
        out.push('\n');
    }
    out
}

/// Aligned columns for a person. Times are `zone`'s time of day, with the date in front
/// when it is not today's (`--since 2d` spans several days).
pub(super) fn table<Tz: TimeZone>(alerts: &[Alert], zone: &Tz, now_ms: i64) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let today =
        DateTime::from_timestamp_millis(now_ms).map(|now| now.with_timezone(zone).date_naive());
    let mut lines: Vec<Vec<String>> = vec![COLUMNS.iter().map(|name| (*name).to_owned()).collect()];
    for alert in alerts {
        let row = Row::new(alert);
        let raised = DateTime::from_timestamp_millis(row.raised_ms)
            .map(|at| at.with_timezone(zone))
            .map_or_else(
                || "-".to_owned(),
                |at| {
                    let pattern = if Some(at.date_naive()) == today {
                        "%H:%M:%S"
                    } else {
                        "%Y-%m-%d %H:%M:%S"
                    };
                    at.format(pattern).to_string()
                },
            );
        lines.push(
            std::iter::once(raised)
                .chain(row.cells_after_time("-"))
                .collect(),
        );
    }
    align(&lines)
}

fn align(lines: &[Vec<String>]) -> String {
    let mut widths = [0; COLUMNS.len()];
    for line in lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.width());
        }
    }
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (index, cell) in line.iter().enumerate() {
            let pad = " ".repeat(widths[index].saturating_sub(cell.width()));
            if index > 0 {
                text.push_str("  ");
            }
            if NUMERIC[index] {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::alert::{AlertSource, Resolution};
    use crate::app::conversation::SlaLevel;

    /// 2026-12-01T14:05:00Z.
    const RAISED_MS: i64 = 1_796_133_900_000;

    fn open_alert() -> Alert {
        Alert {
            conversation: "conversation:42".into(),
            customer: Some("Ada Lovelace".into()),
            level: SlaLevel::Warning,
            source: AlertSource::Client,
            threshold_ms: 120_000,
            actual_ms: 121_900,
            waiting_since_ms: RAISED_MS - 121_900,
            raised_ms: RAISED_MS,
            resolution: None,
        }
    }

    fn answered_alert() -> Alert {
        Alert {
            conversation: "conversation:7".into(),
            customer: None,
            level: SlaLevel::Breach,
            source: AlertSource::Server,
            threshold_ms: 300_000,
            actual_ms: 300_000,
            waiting_since_ms: RAISED_MS - 300_000,
            raised_ms: RAISED_MS,
            resolution: Some(Resolution {
                answered_ms: RAISED_MS + 45_000,
                by: "Sam".into(),
            }),
        }
    }

    #[test]
    fn csv_cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("Smith, Jo"), "\"Smith, Jo\"");
        assert_eq!(csv_cell("the \"boss\""), "\"the \"\"boss\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_made_text() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+44 20"), "'+44 20");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "\"'\rx\"");
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_cell("a=b"), "a=b");
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_alert() {
        let text = csv(&[open_alert(), answered_alert()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "raised,conversation,customer,level,source,threshold_s,waited_s,answered_after_s,answered_by",
                "2026-12-01T14:05:00Z,conversation:42,Ada Lovelace,warning,client,120,121,,",
                "2026-12-01T14:05:00Z,conversation:7,,breach,server,300,300,345,Sam",
            ]
        );
        assert_eq!(csv(&[]).lines().count(), 1);
    }

    #[test]
    fn remote_text_is_cleaned_before_any_format() {
        let hostile = Alert {
            customer: Some("=cmd|\u{1b}]52;c;ZXZpbA==\u{7}\nEve\u{202e}".into()),
            ..open_alert()
        };
        let csv_text = csv(std::slice::from_ref(&hostile));
        let jsonl_text = jsonl(std::slice::from_ref(&hostile));
        let table_text = table(std::slice::from_ref(&hostile), &chrono::Utc, RAISED_MS);
        for text in [&csv_text, &jsonl_text, &table_text] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{202e}'),
                "{text:?}"
            );
        }
        assert_eq!(csv_text.lines().count(), 2, "{csv_text:?}");
        assert!(csv_text.contains(",'=cmd| Eve,"), "{csv_text:?}");
    }

    #[test]
    fn jsonl_has_every_field_and_null_for_absent_ones() {
        let text = jsonl(&[open_alert(), answered_alert()]);
        let objects: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            objects[0],
            json!({
                "raisedAt": "2026-12-01T14:05:00Z",
                "raisedMs": RAISED_MS,
                "conversationId": "conversation:42",
                "customer": "Ada Lovelace",
                "level": "warning",
                "source": "client",
                "thresholdSecs": 120,
                "waitedSecs": 121,
                "answeredAt": null,
                "answeredAfterSecs": null,
                "answeredBy": null,
            })
        );
        assert_eq!(objects[1]["customer"], serde_json::Value::Null);
        assert_eq!(objects[1]["answeredAt"], "2026-12-01T14:05:45Z");
        assert_eq!(objects[1]["answeredAfterSecs"], 345);
        assert_eq!(objects[1]["answeredBy"], "Sam");
    }

    #[test]
    fn the_table_aligns_columns_in_the_given_zone() {
        let zone = chrono::FixedOffset::east_opt(3_600).unwrap();
        let yesterday = Alert {
            raised_ms: RAISED_MS - 86_400_000,
            ..answered_alert()
        };
        let text = table(&[open_alert(), yesterday], &zone, RAISED_MS);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "raised               conversation     customer      level    source  threshold_s  waited_s  answered_after_s  answered_by",
                "15:05:00             conversation:42  Ada Lovelace  warning  client          120       121                 -  -",
                "2026-11-30 15:05:00  conversation:7   -             breach   server          300       300               345  Sam",
            ]
        );
    }
}
