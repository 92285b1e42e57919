use serde_json::{Value, json};

use super::*;
use crate::protocol::data::Payload;

fn parse(name: &str, data: Value) -> TimedEvent {
    ConversationEvent::parse(Some(name), Payload::Json(data))
}

#[test]
fn every_known_event_round_trips_through_the_wire_form() {
    for event in conversation_events().into_iter().chain(desk_events()) {
        let (name, data) = event.to_wire();
        assert_eq!(parse(&name, data).event, event);
    }
}

fn conversation_events() -> Vec<ConversationEvent> {
    vec![
        ConversationEvent::UserMessage {
            message_id: "m1".into(),
            content: "Hi".into(),
        },
        ConversationEvent::AiMessage {
            message_id: "m2".into(),
            content: "Hello".into(),
            persona: Some("friendly".into()),
            queue_duration_ms: Some(12),
            ai_duration_ms: Some(800),
        },
        ConversationEvent::BrokerMessage {
            message_id: "m3".into(),
            content: "I'm here".into(),
            broker_id: "7".into(),
            broker_name: Some("Sam".into()),
        },
        ConversationEvent::Typing {
            started: true,
            actor: Actor::Customer,
            broker_id: None,
        },
        ConversationEvent::Typing {
            started: false,
            actor: Actor::Broker,
            broker_id: Some("7".into()),
        },
        ConversationEvent::Read {
            message_id: "m3".into(),
            read_at: Some(5),
            actor: Actor::Broker,
            broker_id: Some("7".into()),
        },
        ConversationEvent::Sla {
            violation: true,
            threshold_ms: 90_000,
            actual_ms: 95_000,
            severity: Severity::Critical,
        },
        ConversationEvent::SuggestionSelected {
            suggestion: "Sure".into(),
            persona: None,
        },
    ]
}

/// The shared desk's events: claims, the AI paused, status, notes.
fn desk_events() -> Vec<ConversationEvent> {
    vec![
        ConversationEvent::Claim {
            released: false,
            broker_id: "2".into(),
            name: Some("Alex Morgan".into()),
        },
        ConversationEvent::Claim {
            released: true,
            broker_id: "2".into(),
            name: None,
        },
        ConversationEvent::AiPause {
            paused: true,
            broker_id: "2".into(),
            reason: Some("taking over".into()),
        },
        ConversationEvent::AiPause {
            paused: false,
            broker_id: "2".into(),
            reason: None,
        },
        ConversationEvent::Status {
            status: ConversationStatus::Snoozed,
            broker_id: "2".into(),
            until_ms: Some(1_800_000_000_000),
        },
        ConversationEvent::Status {
            status: ConversationStatus::Resolved,
            broker_id: "2".into(),
            until_ms: None,
        },
        ConversationEvent::Note {
            note_id: "n1".into(),
            content: "Prefers calls after 5".into(),
            broker_id: "2".into(),
            broker_name: Some("Alex Morgan".into()),
        },
    ]
}

#[test]
fn timestamp_is_read_from_the_payload() {
    let parsed = parse(
        "message:user",
        json!({"messageId": "a", "content": "b", "timestamp": 1700}),
    );
    assert_eq!(parsed.timestamp, Some(1700));
}

#[test]
fn unknown_names_keep_their_payload() {
    let parsed = parse("call:started", json!({"x": 1}));
    assert_eq!(
        parsed.event,
        ConversationEvent::Unknown {
            name: "call:started".into(),
            data: json!({"x": 1})
        }
    );
    let nameless = ConversationEvent::parse(None, Payload::Text("raw".into()));
    assert!(matches!(nameless.event, ConversationEvent::Unknown { .. }));
}

#[test]
fn known_names_with_bad_payloads_are_malformed_not_dropped() {
    let cases = [
        ("message:user", json!({"content": "no id"}), "messageId"),
        ("message:user", json!("not an object"), "not a JSON object"),
        ("typing:start", json!({"actor": "robot"}), "unknown actor"),
        (
            "sla:warning",
            json!({"threshold": "soon", "actual": 1}),
            "threshold",
        ),
        ("read", json!({"messageId": "m"}), "actor"),
    ];
    for (name, data, problem_part) in cases {
        match parse(name, data.clone()).event {
            ConversationEvent::Malformed {
                name: got,
                data: kept,
                problem,
            } => {
                assert_eq!(got, name);
                assert_eq!(kept, data);
                assert!(problem.contains(problem_part), "{problem}");
            }
            other => panic!("{name}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn implausible_times_and_durations_from_the_wire_are_not_read() {
    for timestamp in [json!(i64::MIN), json!(-1), json!(i64::MAX), json!(1e300)] {
        let parsed = parse(
            "message:user",
            json!({"messageId": "a", "content": "b", "timestamp": timestamp}),
        );
        assert_eq!(parsed.timestamp, None, "{timestamp}");
    }
    let latest = parse(
        "message:user",
        json!({"messageId": "a", "content": "b", "timestamp": LATEST_PLAUSIBLE_MS}),
    );
    assert_eq!(latest.timestamp, Some(LATEST_PLAUSIBLE_MS));
    for (threshold, actual) in [(u64::MAX, 1), (1, u64::MAX), (1, 1u64 << 63)] {
        let event = parse(
            "sla:violation",
            json!({"threshold": threshold, "actual": actual}),
        )
        .event;
        assert!(
            matches!(&event, ConversationEvent::Malformed { problem, .. } if problem.contains("from 0 to")),
            "{event:?}"
        );
    }
}

#[test]
fn text_moves_into_the_event_and_a_malformed_event_keeps_all_it_carried() {
    let data = json!({"messageId": "m1", "content": "kept whole", "brokerId": {"not": "text"}});
    let parsed = parse("message:broker", data.clone());
    match parsed.event {
        ConversationEvent::Malformed {
            data: kept,
            problem,
            ..
        } => {
            assert_eq!(kept, data, "nothing was taken out of a malformed event");
            assert!(problem.contains("brokerId"), "{problem}");
        }
        other => panic!("expected malformed, got {other:?}"),
    }
}

#[test]
fn a_timed_event_carries_its_timestamp_on_the_wire() {
    let event = TimedEvent {
        event: ConversationEvent::Typing {
            started: false,
            actor: Actor::Broker,
            broker_id: Some("7".into()),
        },
        timestamp: Some(1_700_000_000_000),
    };
    let (name, data) = event.to_wire();
    assert_eq!(name, "typing:stop");
    assert_eq!(
        data,
        json!({"actor": "broker", "brokerId": "7", "timestamp": 1_700_000_000_000i64})
    );
    let back = ConversationEvent::parse(Some(&name), Payload::Json(data));
    assert_eq!(back, event);
}
