//! The wire form of an event: the one place where outgoing event names and payloads are
//! written.
//!
//! Longer than 80 lines, kept whole: `to_wire`, a dispatch `match`, one arm per event.

use serde_json::{Value, json};

use super::{ConversationEvent, Severity, TimedEvent};

impl TimedEvent {
    /// The wire name and data, with `timestamp` when the event has one.
    pub fn to_wire(&self) -> (String, Value) {
        let (name, mut data) = self.event.to_wire();
        if let (Some(timestamp), Some(object)) = (self.timestamp, data.as_object_mut()) {
            object.insert("timestamp".into(), json!(timestamp));
        }
        (name, data)
    }
}

impl ConversationEvent {
    /// The wire name and data (without `timestamp`) to publish this event.
    pub fn to_wire(&self) -> (String, Value) {
        match self {
            Self::UserMessage {
                message_id,
                content,
            } => (
                "message:user".into(),
                json!({"messageId": message_id, "content": content}),
            ),
            Self::AiMessage {
                message_id,
                content,
                persona,
                queue_duration_ms,
                ai_duration_ms,
            } => (
                "message:ai".into(),
                json!({"messageId": message_id, "content": content, "persona": persona,
                       "timing": {"queue_duration_ms": queue_duration_ms, "ai_duration_ms": ai_duration_ms}}),
            ),
            Self::BrokerMessage {
                message_id,
                content,
                broker_id,
                broker_name,
            } => (
                "message:broker".into(),
                json!({"messageId": message_id, "content": content, "brokerId": broker_id, "brokerName": broker_name}),
            ),
            Self::Typing {
                started,
                actor,
                broker_id,
            } => {
                let name = if *started {
                    "typing:start"
                } else {
                    "typing:stop"
                };
                let mut data = json!({"actor": actor.as_str()});
                if let Some(id) = broker_id {
                    data["brokerId"] = json!(id);
                }
                (name.into(), data)
            }
            Self::Read {
                message_id,
                read_at,
                actor,
                broker_id,
            } => {
                let mut data =
                    json!({"messageId": message_id, "readAt": read_at, "actor": actor.as_str()});
                if let Some(id) = broker_id {
                    data["brokerId"] = json!(id);
                }
                ("read".into(), data)
            }
            Self::Sla {
                violation,
                threshold_ms,
                actual_ms,
                severity,
            } => (
                if *violation {
                    "sla:violation"
                } else {
                    "sla:warning"
                }
                .into(),
                json!({"threshold": threshold_ms, "actual": actual_ms,
                       "severity": if *severity == Severity::Critical { "critical" } else { "warning" }}),
            ),
            Self::SuggestionSelected {
                suggestion,
                persona,
            } => (
                "ui:suggestionSelected".into(),
                json!({"suggestion": suggestion, "persona": persona}),
            ),
            Self::Claim {
                released,
                broker_id,
                name,
            } => (
                if *released {
                    "broker:release"
                } else {
                    "broker:claim"
                }
                .into(),
                json!({"brokerId": broker_id, "name": name}),
            ),
            Self::AiPause {
                paused,
                broker_id,
                reason,
            } => (
                if *paused { "ai:pause" } else { "ai:resume" }.into(),
                json!({"brokerId": broker_id, "reason": reason}),
            ),
            Self::Status {
                status,
                broker_id,
                until_ms,
            } => {
                let mut data = json!({"brokerId": broker_id});
                if let Some(until) = until_ms {
                    data["until"] = json!(until);
                }
                (format!("status:{}", status.word()), data)
            }
            Self::Note {
                note_id,
                content,
                broker_id,
                broker_name,
            } => (
                "note".into(),
                json!({"noteId": note_id, "content": content, "brokerId": broker_id, "brokerName": broker_name}),
            ),
            Self::Unknown { name, data } | Self::Malformed { name, data, .. } => {
                (name.clone(), data.clone())
            }
        }
    }
}
