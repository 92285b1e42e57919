//! The dashboard's local state in SQLite (WAL), in the state folder: the outbox of replies
//! not yet acknowledged, keyed by the message id chosen before sending (so re-sending after
//! a crash, a restart or a reconnect is idempotent), and drafts per conversation.
//!
//! A reply is written here before it is sent and removed when the server acknowledges it.
//! The SLA alerts the supervisor's feed raised are kept too (`alerts`), for a restart and for
//! `brokerdash alerts`.

mod alerts;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create the state folder {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("state store {path}: {reason}")]
    Sqlite { path: PathBuf, reason: String },
}

/// A reply waiting for its acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub message_id: String,
    pub channel: String,
    pub name: String,
    /// The event's data as JSON text.
    pub data: String,
    pub created_ms: i64,
}

pub struct Store {
    connection: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS outbox (
        message_id TEXT PRIMARY KEY,
        channel    TEXT NOT NULL,
        name       TEXT NOT NULL,
        data       TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS drafts (
        channel TEXT PRIMARY KEY,
        text    TEXT NOT NULL
    );
";

/// The store's file inside the state folder.
const FILE_NAME: &str = "brokerdash.sqlite3";

impl Store {
    pub fn open(folder: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(folder).map_err(|error| StoreError::Folder {
            path: folder.to_owned(),
            reason: error.to_string(),
        })?;
        Self::connect(folder.join(FILE_NAME))
    }

    /// The store in `folder` if the dashboard ever made one: a reader (`brokerdash alerts`)
    /// must not leave an empty folder behind a mistyped path.
    pub fn open_existing(folder: &Path) -> Result<Option<Self>, StoreError> {
        let path = folder.join(FILE_NAME);
        if !path.is_file() {
            return Ok(None);
        }
        Self::connect(path).map(Some)
    }

    fn connect(path: PathBuf) -> Result<Self, StoreError> {
        let fail = |error: rusqlite::Error| StoreError::Sqlite {
            path: path.clone(),
            reason: error.to_string(),
        };
        let connection = Connection::open(&path).map_err(fail)?;
        // WAL: a killed process never leaves a half-written reply; readers never block.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(2))
            .map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        connection.execute_batch(alerts::SCHEMA).map_err(fail)?;
        Ok(Self { connection, path })
    }

    fn fail(&self, error: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            reason: error.to_string(),
        }
    }

    pub fn add_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.connection
            .execute(
                "INSERT OR IGNORE INTO outbox (message_id, channel, name, data, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![entry.message_id, entry.channel, entry.name, entry.data, entry.created_ms],
            )
            .map_err(|error| self.fail(error))?;
        Ok(())
    }

    pub fn remove_outbox(&self, message_id: &str) -> Result<(), StoreError> {
        self.connection
            .execute(
                "DELETE FROM outbox WHERE message_id = ?1",
                params![message_id],
            )
            .map_err(|error| self.fail(error))?;
        Ok(())
    }

    /// Unsent replies, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT message_id, channel, name, data, created_ms FROM outbox ORDER BY created_ms, rowid")
            .map_err(|error| self.fail(error))?;
        let rows = statement
            .query_map([], |row| {
                Ok(OutboxEntry {
                    message_id: row.get(0)?,
                    channel: row.get(1)?,
                    name: row.get(2)?,
                    data: row.get(3)?,
                    created_ms: row.get(4)?,
                })
            })
            .map_err(|error| self.fail(error))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.fail(error))
    }

    /// Saves a draft; an empty one is removed.
    pub fn save_draft(&self, channel: &str, text: &str) -> Result<(), StoreError> {
        let result = if text.trim().is_empty() {
            self.connection
                .execute("DELETE FROM drafts WHERE channel = ?1", params![channel])
        } else {
            self.connection.execute(
                "INSERT INTO drafts (channel, text) VALUES (?1, ?2) ON CONFLICT(channel) DO UPDATE SET text = excluded.text",
                params![channel, text],
            )
        };
        result.map_err(|error| self.fail(error))?;
        Ok(())
    }

    pub fn draft(&self, channel: &str) -> Result<Option<String>, StoreError> {
        self.connection
            .query_row(
                "SELECT text FROM drafts WHERE channel = ?1",
                params![channel],
                |row| row.get(0),
            )
            .optional()
            .map_err(|error| self.fail(error))
    }

    pub fn drafts(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT channel, text FROM drafts ORDER BY channel")
            .map_err(|error| self.fail(error))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|error| self.fail(error))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.fail(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, created_ms: i64) -> OutboxEntry {
        OutboxEntry {
            message_id: id.into(),
            channel: "conversation:1".into(),
            name: "message:broker".into(),
            data: r#"{"content":"hi"}"#.into(),
            created_ms,
        }
    }

    #[test]
    fn outbox_keeps_order_survives_reopen_and_ignores_repeats() {
        let folder = tempfile::tempdir().unwrap();
        {
            let store = Store::open(folder.path()).unwrap();
            store.add_outbox(&entry("b", 2)).unwrap();
            store.add_outbox(&entry("a", 1)).unwrap();
            store.add_outbox(&entry("a", 1)).unwrap();
        }
        let store = Store::open(folder.path()).unwrap();
        let ids: Vec<String> = store
            .outbox()
            .unwrap()
            .into_iter()
            .map(|e| e.message_id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
        store.remove_outbox("a").unwrap();
        assert_eq!(store.outbox().unwrap(), vec![entry("b", 2)]);
    }

    #[test]
    fn drafts_are_kept_per_conversation_and_cleared_when_empty() {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(folder.path()).unwrap();
        store.save_draft("conversation:1", "half a reply").unwrap();
        store.save_draft("conversation:2", "other").unwrap();
        store
            .save_draft("conversation:1", "half a reply, edited")
            .unwrap();
        assert_eq!(
            store.draft("conversation:1").unwrap().as_deref(),
            Some("half a reply, edited")
        );
        store.save_draft("conversation:2", "  ").unwrap();
        assert_eq!(store.drafts().unwrap().len(), 1);
    }

    #[test]
    fn opening_an_existing_store_creates_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let missing = folder.path().join("never-used");
        assert!(Store::open_existing(&missing).unwrap().is_none());
        assert!(!missing.exists());
        Store::open(&missing).unwrap();
        assert!(Store::open_existing(&missing).unwrap().is_some());
    }

    #[test]
    fn an_unwritable_folder_is_a_clear_error() {
        let error = Store::open(Path::new("/proc/brokerdash-cannot-live-here"))
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .contains("/proc/brokerdash-cannot-live-here"),
            "{error}"
        );
    }
}
