//! Which lines the screen reader says, and how, under the verbosity settings: each scope
//! is told by the dashboard's state (open, replied to, other).

use serde_json::{Value, json};

use super::verbosity::{Kind, Verbosity};
use super::*;
use crate::app::action::{Incoming, PresenceSeen};
use crate::app::state::Identity;
use crate::app::update::update;
use crate::protocol::data::Payload;
use crate::protocol::names::ClientId;

const T0: i64 = 1_800_000_000_000;

/// An event on `conversation:{n}`, parsed as the session parses it.
fn event(n: &str, name: &str, data: Value) -> Action {
    let wire_id = format!("{n}-{name}-{data}");
    let parsed = ConversationEvent::parse(Some(name), Payload::Json(data));
    Action::Incoming(Incoming {
        channel: format!("conversation:{n}"),
        wire_id,
        at_ms: parsed.timestamp,
        event: parsed.event,
    })
}

fn customer(n: &str, id: &str, content: &str) -> Action {
    event(
        n,
        "message:user",
        json!({"messageId": id, "content": content, "timestamp": T0}),
    )
}

/// Conversation 1 open, 2 replied to by us, 3 neither.
fn floor() -> AppState {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let mut state = AppState::new(me, false, Default::default(), T0);
    for n in ["1", "2", "3"] {
        update(&mut state, customer(n, &format!("first-{n}"), "Hello"));
    }
    update(
        &mut state,
        event(
            "2",
            "message:broker",
            json!({"messageId": "mine", "content": "Hi", "brokerId": "7", "timestamp": T0}),
        ),
    );
    update(
        &mut state,
        Action::OpenConversation(ConversationId::new("1")),
    );
    state
}

/// What would be said for `action` in `state`, under `verbosity`.
fn said(state: &AppState, verbosity: &Verbosity, action: &Action) -> Option<(String, bool)> {
    event_line(state, action)?.choose(state, verbosity)
}

#[test]
fn customer_messages_are_whole_where_you_work_and_brief_elsewhere() {
    let state = floor();
    let verbosity = Verbosity::default();
    let long = "Line one of three\nline two\nline three";
    let open = said(&state, &verbosity, &customer("1", "a", long)).unwrap();
    assert!(
        open.0
            .starts_with("Customer message, conversation 1: Line one of three line two"),
        "{open:?}"
    );
    assert!(open.1, "a message in the open conversation is urgent");
    let mine = said(&state, &verbosity, &customer("2", "b", long)).unwrap();
    assert!(
        mine.0.contains(": Line one of three line two line three, "),
        "{mine:?}"
    );
    assert!(!mine.1);
    let other = said(&state, &verbosity, &customer("3", "c", long)).unwrap();
    assert!(
        other
            .0
            .starts_with("Customer message, conversation 3, 3 lines: Line one of three, "),
        "{other:?}"
    );
    assert!(!other.1);
}

#[test]
fn ai_replies_and_other_brokers_are_said_only_in_the_open_conversation() {
    let state = floor();
    let verbosity = Verbosity::default();
    let ai = |n: &str| {
        event(
            n,
            "message:ai",
            json!({"messageId": format!("ai-{n}"), "content": "Sure"}),
        )
    };
    assert!(said(&state, &verbosity, &ai("1")).is_some());
    assert!(said(&state, &verbosity, &ai("2")).is_none());
    assert!(said(&state, &verbosity, &ai("3")).is_none());
    let broker = |n: &str| {
        event(
            n,
            "message:broker",
            json!({"messageId": format!("b-{n}"), "content": "On it", "brokerId": "2"}),
        )
    };
    assert!(said(&state, &verbosity, &broker("1")).is_some());
    assert!(said(&state, &verbosity, &broker("3")).is_none());
}

#[test]
fn sla_crossings_are_said_everywhere_and_a_breach_is_urgent() {
    let state = floor();
    let verbosity = Verbosity::default();
    let warning = event(
        "3",
        "sla:warning",
        json!({"threshold": 45000, "actual": 50000}),
    );
    let (line, urgent) = said(&state, &verbosity, &warning).unwrap();
    assert!(line.starts_with("SLA warning, conversation 3"), "{line}");
    assert!(!urgent);
    let breach = event(
        "3",
        "sla:violation",
        json!({"threshold": 90000, "actual": 95000}),
    );
    let (line, urgent) = said(&state, &verbosity, &breach).unwrap();
    assert!(line.starts_with("SLA breach, conversation 3"), "{line}");
    assert!(urgent, "a breach is said at once");
}

#[test]
fn presence_is_said_only_for_the_open_conversation_and_a_setting_changes_that() {
    let state = floor();
    let mut verbosity = Verbosity::default();
    let enter = |n: &str| {
        Action::Presence(PresenceSeen {
            channel: format!("conversation:{n}"),
            client_id: ClientId::customer(&ConversationId::new(n)),
            action: PresenceAction::Enter,
            name: None,
            away: false,
            viewing: None,
            composing: None,
            timestamp: None,
        })
    };
    assert!(said(&state, &verbosity, &enter("1")).is_some());
    assert!(said(&state, &verbosity, &enter("3")).is_none());
    verbosity.apply("presence full").unwrap();
    assert!(said(&state, &verbosity, &enter("3")).is_some());
    verbosity.apply("open quiet").unwrap();
    assert!(said(&state, &verbosity, &enter("1")).is_none());
    assert_eq!(
        event_line(&state, &enter("1")).map(|s| s.kind),
        Some(Some(Kind::Presence))
    );
}

#[test]
fn gaps_are_said_whatever_the_settings() {
    let state = floor();
    let mut verbosity = Verbosity::default();
    verbosity.apply("quiet").unwrap();
    let gap = Action::ContinuityLost {
        channel: "conversation:3".into(),
        reason: "expired".into(),
    };
    assert!(said(&state, &verbosity, &gap).is_some());
}
