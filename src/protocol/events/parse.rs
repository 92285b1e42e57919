//! Parsing a message's name and data into a `ConversationEvent`, once. The payload is
//! checked first without touching it (so a malformed event keeps everything that arrived),
//! then its text fields are moved, not copied, into the event.

use serde_json::{Map, Value};

use super::{
    Actor, ConversationEvent, ConversationStatus, LATEST_PLAUSIBLE_MS, Severity, TimedEvent,
    plausible_ms,
};
use crate::protocol::data::Payload;

/// The event names of the vocabulary.
const KNOWN: [&str; 17] = [
    "message:user",
    "message:ai",
    "message:broker",
    "typing:start",
    "typing:stop",
    "read",
    "sla:warning",
    "sla:violation",
    "ui:suggestionSelected",
    "broker:claim",
    "broker:release",
    "ai:pause",
    "ai:resume",
    "status:open",
    "status:snoozed",
    "status:resolved",
    "note",
];

/// What is wrong with a known event's data; kept, in words, in `Malformed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum EventProblem {
    #[error("{event}: data is not a JSON object")]
    NotAnObject { event: String },
    #[error("{event}: `{field}` is missing")]
    Missing { event: String, field: String },
    #[error("{event}: `{field}` is not text")]
    NotText { event: String, field: String },
    #[error("{event}: `{field}` is not a number from 0 to {LATEST_PLAUSIBLE_MS}")]
    NotANumber { event: String, field: String },
    #[error("{event}: unknown actor {actor:?}")]
    UnknownActor { event: String, actor: String },
    #[error("{event}: unknown severity {severity:?}")]
    UnknownSeverity { event: String, severity: String },
    /// Listed as known but not parsed: a bug here, reported rather than hidden.
    #[error("{event}: not handled")]
    NotHandled { event: String },
}

/// Reading an event's fields: `Check` only looks (and yields empty text), `Take` moves the
/// text out. Everything but text is read the same way by both.
trait Fields {
    fn name(&self) -> &str;
    fn object(&self) -> &Map<String, Value>;
    /// A text field that is present and text (numbers are accepted as text).
    fn text(&mut self, field: &str) -> Result<String, EventProblem>;
    fn optional_text(&mut self, field: &str) -> Option<String>;

    fn check_text(&self, field: &str) -> Result<(), EventProblem> {
        // The words of a problem are only written when there is one.
        let event_and_field = || (self.name().to_owned(), field.to_owned());
        match self.object().get(field) {
            Some(Value::String(_) | Value::Number(_)) => Ok(()),
            Some(_) => {
                let (event, field) = (event_and_field)();
                Err(EventProblem::NotText { event, field })
            }
            None => {
                let (event, field) = (event_and_field)();
                Err(EventProblem::Missing { event, field })
            }
        }
    }

    fn number(&self, field: &str) -> Result<u64, EventProblem> {
        self.optional_number(field)
            .ok_or_else(|| EventProblem::NotANumber {
                event: self.name().to_owned(),
                field: field.to_owned(),
            })
    }

    fn optional_number(&self, field: &str) -> Option<u64> {
        plausible_number(self.object().get(field)?)
    }

    fn timing_number(&self, field: &str) -> Option<u64> {
        let timing = self.object().get("timing")?.as_object()?;
        plausible_number(timing.get(field)?)
    }

    fn actor(&self) -> Result<Actor, EventProblem> {
        self.check_text("actor")?;
        let value = self.object().get("actor");
        value
            .and_then(Value::as_str)
            .and_then(Actor::parse)
            .ok_or_else(|| EventProblem::UnknownActor {
                event: self.name().to_owned(),
                actor: match value {
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
            })
    }

    fn severity(&self) -> Result<Severity, EventProblem> {
        match self.object().get("severity").and_then(Value::as_str) {
            Some("critical") => Ok(Severity::Critical),
            Some("warning") | None => Ok(Severity::Warning),
            Some(other) => Err(EventProblem::UnknownSeverity {
                event: self.name().to_owned(),
                severity: other.to_owned(),
            }),
        }
    }
}

/// Numbers are times or durations in ms: beyond the plausible they are not read.
fn plausible_number(value: &Value) -> Option<u64> {
    let number = match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64)),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }?;
    (number <= LATEST_PLAUSIBLE_MS.unsigned_abs()).then_some(number)
}

struct Check<'a> {
    name: &'a str,
    object: &'a Map<String, Value>,
}

impl Fields for Check<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn object(&self) -> &Map<String, Value> {
        self.object
    }
    fn text(&mut self, field: &str) -> Result<String, EventProblem> {
        self.check_text(field).map(|()| String::new())
    }
    fn optional_text(&mut self, _field: &str) -> Option<String> {
        None
    }
}

struct Take<'a> {
    name: &'a str,
    object: &'a mut Map<String, Value>,
}

impl Fields for Take<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn object(&self) -> &Map<String, Value> {
        self.object
    }
    fn text(&mut self, field: &str) -> Result<String, EventProblem> {
        match self.object.get_mut(field) {
            Some(Value::String(text)) => Ok(std::mem::take(text)),
            Some(Value::Number(number)) => Ok(number.to_string()),
            // Not reached after `Check`; said the same way if it ever is.
            _ => self.check_text(field).map(|()| String::new()),
        }
    }
    fn optional_text(&mut self, field: &str) -> Option<String> {
        match self.object.get_mut(field) {
            Some(Value::String(text)) => Some(std::mem::take(text)),
            _ => None,
        }
    }
}

impl ConversationEvent {
    /// Parses a message's event name and decoded data, taking the data: its text moves
    /// into the event.
    pub fn parse(name: Option<&str>, payload: Payload) -> TimedEvent {
        let name = name.unwrap_or("");
        let mut data = match payload {
            Payload::Json(value) => value,
            other => other.to_json(),
        };
        let timestamp = data
            .get("timestamp")
            .and_then(|value| {
                value
                    .as_i64()
                    .or_else(|| value.as_f64().map(|ms| ms as i64))
            })
            .and_then(plausible_ms);
        if !KNOWN.contains(&name) {
            let name = name.to_owned();
            return TimedEvent {
                event: Self::Unknown { name, data },
                timestamp,
            };
        }
        let checked = match data.as_object() {
            None => Err(EventProblem::NotAnObject {
                event: name.to_owned(),
            }),
            Some(object) => Self::from_fields(name, &mut Check { name, object }).map(drop),
        };
        let event = match (checked, data.as_object_mut()) {
            (Ok(()), Some(object)) => Self::from_fields(name, &mut Take { name, object }),
            (Err(problem), _) => Err(problem),
            (Ok(()), None) => Err(EventProblem::NotHandled {
                event: name.to_owned(),
            }),
        };
        let event = event.unwrap_or_else(|problem| Self::Malformed {
            name: name.to_owned(),
            data,
            problem: problem.to_string(),
        });
        TimedEvent { event, timestamp }
    }

    /// The same reading for both passes; only `Take` keeps the text it reads.
    fn from_fields(name: &str, fields: &mut impl Fields) -> Result<Self, EventProblem> {
        Ok(match name {
            "message:user" => Self::UserMessage {
                message_id: fields.text("messageId")?,
                content: fields.text("content")?,
            },
            "message:ai" => Self::AiMessage {
                message_id: fields.text("messageId")?,
                content: fields.text("content")?,
                persona: fields.optional_text("persona"),
                queue_duration_ms: fields.timing_number("queue_duration_ms"),
                ai_duration_ms: fields.timing_number("ai_duration_ms"),
            },
            "message:broker" => Self::BrokerMessage {
                message_id: fields.text("messageId")?,
                content: fields.text("content")?,
                broker_id: fields.text("brokerId")?,
                broker_name: fields.optional_text("brokerName"),
            },
            "typing:start" | "typing:stop" => Self::Typing {
                started: name == "typing:start",
                actor: fields.actor()?,
                broker_id: fields.optional_text("brokerId"),
            },
            "read" => Self::Read {
                message_id: fields.text("messageId")?,
                read_at: fields
                    .optional_number("readAt")
                    .and_then(|ms| i64::try_from(ms).ok()),
                actor: fields.actor()?,
                broker_id: fields.optional_text("brokerId"),
            },
            "sla:warning" | "sla:violation" => Self::Sla {
                violation: name == "sla:violation",
                threshold_ms: fields.number("threshold")?,
                actual_ms: fields.number("actual")?,
                severity: fields.severity()?,
            },
            "ui:suggestionSelected" => Self::SuggestionSelected {
                suggestion: fields.text("suggestion")?,
                persona: fields.optional_text("persona"),
            },
            "broker:claim" | "broker:release" => Self::Claim {
                released: name == "broker:release",
                broker_id: fields.text("brokerId")?,
                name: fields.optional_text("name"),
            },
            "ai:pause" | "ai:resume" => Self::AiPause {
                paused: name == "ai:pause",
                broker_id: fields.text("brokerId")?,
                reason: fields.optional_text("reason"),
            },
            "status:open" | "status:snoozed" | "status:resolved" => Self::Status {
                status: match name {
                    "status:snoozed" => ConversationStatus::Snoozed,
                    "status:resolved" => ConversationStatus::Resolved,
                    _ => ConversationStatus::Open,
                },
                broker_id: fields.text("brokerId")?,
                until_ms: fields
                    .optional_number("until")
                    .and_then(|ms| i64::try_from(ms).ok())
                    .and_then(plausible_ms),
            },
            "note" => Self::Note {
                note_id: fields.text("noteId")?,
                content: fields.text("content")?,
                broker_id: fields.text("brokerId")?,
                broker_name: fields.optional_text("brokerName"),
            },
            _ => {
                return Err(EventProblem::NotHandled {
                    event: name.to_owned(),
                });
            }
        })
    }
}
