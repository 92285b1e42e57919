//! SLA alerts in the store. The dashboard holds the truth and writes an alert again whenever
//! it learns more (an earlier source, the answer), so a write replaces the row with the same
//! key rather than merging. Levels and sources are kept as words: a row written by a newer
//! version with a word this one does not know is skipped, not an error.

use rusqlite::{Row, params};

use super::{Store, StoreError};
use crate::app::alert::{Alert, AlertSource, Resolution};
use crate::app::conversation::SlaLevel;

pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS alerts (
        conversation     TEXT NOT NULL,
        level            TEXT NOT NULL,
        waiting_since_ms INTEGER NOT NULL,
        customer         TEXT,
        source           TEXT NOT NULL,
        threshold_ms     INTEGER NOT NULL,
        actual_ms        INTEGER NOT NULL,
        raised_ms        INTEGER NOT NULL,
        answered_ms      INTEGER,
        answered_by      TEXT,
        PRIMARY KEY (conversation, level, waiting_since_ms)
    );
    CREATE INDEX IF NOT EXISTS alerts_by_raised ON alerts (raised_ms);
";

impl Store {
    /// Writes an alert, replacing the one with the same (conversation, level,
    /// waiting_since_ms).
    pub fn record_alert(&self, alert: &Alert) -> Result<(), StoreError> {
        let (answered_ms, answered_by) = match &alert.resolution {
            Some(resolution) => (Some(resolution.answered_ms), Some(resolution.by.as_str())),
            None => (None, None),
        };
        self.connection
            .execute(
                "INSERT OR REPLACE INTO alerts (conversation, level, waiting_since_ms, customer, source, \
                 threshold_ms, actual_ms, raised_ms, answered_ms, answered_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    alert.conversation,
                    alert.level.word(),
                    alert.waiting_since_ms,
                    alert.customer,
                    alert.source.word(),
                    to_sql_ms(alert.threshold_ms),
                    to_sql_ms(alert.actual_ms),
                    alert.raised_ms,
                    answered_ms,
                    answered_by,
                ],
            )
            .map_err(|error| self.fail(error))?;
        Ok(())
    }

    /// Alerts raised at or after `since_ms`, newest first.
    pub fn alerts_since(&self, since_ms: i64) -> Result<Vec<Alert>, StoreError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT conversation, level, waiting_since_ms, customer, source, threshold_ms, \
                 actual_ms, raised_ms, answered_ms, answered_by FROM alerts \
                 WHERE raised_ms >= ?1 ORDER BY raised_ms DESC, conversation, level",
            )
            .map_err(|error| self.fail(error))?;
        let rows = statement
            .query_map(params![since_ms], alert_from_row)
            .map_err(|error| self.fail(error))?;
        let mut alerts = Vec::new();
        for row in rows {
            if let Some(alert) = row.map_err(|error| self.fail(error))? {
                alerts.push(alert);
            }
        }
        Ok(alerts)
    }

    /// Forgets alerts raised before `before_ms`, so the table stays bounded; says how many.
    pub fn prune_alerts(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.connection
            .execute(
                "DELETE FROM alerts WHERE raised_ms < ?1",
                params![before_ms],
            )
            .map_err(|error| self.fail(error))
    }
}

/// `None` for a level or source word this version does not know.
fn alert_from_row(row: &Row<'_>) -> rusqlite::Result<Option<Alert>> {
    let level: String = row.get(1)?;
    let source: String = row.get(4)?;
    let (Some(level), Some(source)) =
        (SlaLevel::from_word(&level), AlertSource::from_word(&source))
    else {
        return Ok(None);
    };
    let answered_ms: Option<i64> = row.get(8)?;
    let answered_by: Option<String> = row.get(9)?;
    Ok(Some(Alert {
        conversation: row.get(0)?,
        customer: row.get(3)?,
        level,
        source,
        threshold_ms: from_sql_ms(row.get(5)?),
        actual_ms: from_sql_ms(row.get(6)?),
        waiting_since_ms: row.get(2)?,
        raised_ms: row.get(7)?,
        resolution: answered_ms.map(|answered_ms| Resolution {
            answered_ms,
            by: answered_by.unwrap_or_default(),
        }),
    }))
}

/// SQLite integers are signed; a duration past `i64::MAX` ms is kept as the largest one.
fn to_sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn from_sql_ms(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(conversation: &str, level: SlaLevel, raised_ms: i64) -> Alert {
        Alert {
            conversation: conversation.into(),
            customer: Some("Ada Lovelace".into()),
            level,
            source: AlertSource::Client,
            threshold_ms: 120_000,
            actual_ms: 121_500,
            waiting_since_ms: raised_ms - 121_500,
            raised_ms,
            resolution: None,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(folder.path()).unwrap();
        (folder, store)
    }

    #[test]
    fn alerts_round_trip_with_and_without_resolution() {
        let (_folder, store) = store();
        let open = Alert {
            customer: None,
            ..alert("conversation:1", SlaLevel::Warning, 1_000_000)
        };
        let answered = Alert {
            source: AlertSource::Server,
            threshold_ms: u64::MAX,
            resolution: Some(Resolution {
                answered_ms: 1_100_000,
                by: "AI".into(),
            }),
            ..alert("conversation:2", SlaLevel::Breach, 900_000)
        };
        store.record_alert(&open).unwrap();
        store.record_alert(&answered).unwrap();
        let read = store.alerts_since(0).unwrap();
        let expected_answered = Alert {
            threshold_ms: i64::MAX as u64,
            ..answered
        };
        assert_eq!(read, vec![open, expected_answered]);
    }

    #[test]
    fn the_same_key_is_one_alert_and_the_last_write_wins() {
        let (_folder, store) = store();
        let first = alert("conversation:1", SlaLevel::Warning, 1_000_000);
        store.record_alert(&first).unwrap();
        let learned = Alert {
            source: AlertSource::Server,
            raised_ms: 999_000,
            resolution: Some(Resolution {
                answered_ms: 1_050_000,
                by: "you".into(),
            }),
            ..first.clone()
        };
        store.record_alert(&learned).unwrap();
        // Another level, or another wait of the same conversation, is another alert.
        let breach = alert("conversation:1", SlaLevel::Breach, 1_000_000);
        let next_wait = Alert {
            waiting_since_ms: first.waiting_since_ms + 1,
            ..first.clone()
        };
        store.record_alert(&breach).unwrap();
        store.record_alert(&next_wait).unwrap();
        let read = store.alerts_since(0).unwrap();
        assert_eq!(read.len(), 3, "{read:?}");
        assert!(read.contains(&learned) && !read.contains(&first));
    }

    #[test]
    fn since_is_inclusive_and_newest_comes_first() {
        let (_folder, store) = store();
        for (conversation, raised_ms) in [("a", 1_000), ("b", 3_000), ("c", 2_000), ("d", 999)] {
            store
                .record_alert(&alert(conversation, SlaLevel::Warning, raised_ms))
                .unwrap();
        }
        let names: Vec<String> = store
            .alerts_since(1_000)
            .unwrap()
            .into_iter()
            .map(|alert| alert.conversation)
            .collect();
        assert_eq!(names, ["b", "c", "a"]);
        assert!(store.alerts_since(3_001).unwrap().is_empty());
    }

    #[test]
    fn unknown_words_are_skipped() {
        let (_folder, store) = store();
        store
            .record_alert(&alert("known", SlaLevel::Breach, 5_000))
            .unwrap();
        store
            .connection
            .execute(
                "INSERT INTO alerts (conversation, level, waiting_since_ms, source, threshold_ms, \
                 actual_ms, raised_ms) VALUES ('future', 'critical', 1, 'client', 1, 1, 6000), \
                 ('other', 'warning', 1, 'robot', 1, 1, 6000)",
                [],
            )
            .unwrap();
        let read = store.alerts_since(0).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].conversation, "known");
    }

    #[test]
    fn pruning_forgets_only_older_alerts() {
        let (_folder, store) = store();
        for (conversation, raised_ms) in [("old", 1_000), ("older", 500), ("kept", 2_000)] {
            store
                .record_alert(&alert(conversation, SlaLevel::Warning, raised_ms))
                .unwrap();
        }
        assert_eq!(store.prune_alerts(2_000).unwrap(), 2);
        assert_eq!(store.prune_alerts(2_000).unwrap(), 0);
        let read = store.alerts_since(i64::MIN).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].conversation, "kept");
    }
}
