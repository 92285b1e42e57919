//! The shared desk: claims decided by channel order, the send guard, snooze and resolve,
//! the AI paused, notes, and who is writing.

use super::*;
use crate::app::handling::Broker;
use crate::app::state::InboxView;
use crate::protocol::events::ConversationStatus;

fn claim(n: &str, wire: &str, broker: &str, name: &str, released: bool) -> Action {
    let event = if released {
        "broker:release"
    } else {
        "broker:claim"
    };
    Action::from_net(NetEvent::Message {
        shard: 0,
        channel: format!("conversation:{n}"),
        message: InboundMessage {
            id: wire.into(),
            name: Some(event.into()),
            payload: Payload::Json(json!({"brokerId": broker, "name": name, "timestamp": T0})),
            encoding_error: None,
            client_id: None,
            connection_id: None,
            timestamp: None,
            from_history: false,
        },
    })
}

fn owner(state: &AppState, n: &str) -> Option<String> {
    state.conversations[&id(n)]
        .handling
        .owner
        .as_ref()
        .map(|o| o.name.clone())
}

#[test]
fn the_owner_is_the_first_claim_since_the_last_release_in_channel_order() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    // Two claims delivered in one frame arrive in channel order: the first wins.
    update(&mut state, claim("1", "w1", "2", "Alex Morgan", false));
    update(&mut state, claim("1", "w2", "7", "Sam", false));
    assert_eq!(owner(&state, "1").as_deref(), Some("Alex Morgan"));
    // The same claim again (history overlapping live) changes nothing.
    update(&mut state, claim("1", "w2", "7", "Sam", false));
    update(&mut state, claim("1", "w3", "2", "Alex Morgan", true));
    assert_eq!(owner(&state, "1"), None);
    update(&mut state, claim("1", "w4", "7", "Sam", false));
    assert_eq!(owner(&state, "1").as_deref(), Some("Sam"));
}

#[test]
fn claims_read_from_history_survive_a_restart() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    let history: Vec<Incoming> = [claim("1", "h1", "2", "Alex Morgan", false)]
        .into_iter()
        .map(|action| match action {
            Action::Incoming(incoming) => incoming,
            _ => unreachable!(),
        })
        .collect();
    update(
        &mut state,
        Action::History {
            channel: channel_name("conversation:1"),
            messages: history,
            older: false,
            complete: true,
        },
    );
    assert_eq!(owner(&state, "1").as_deref(), Some("Alex Morgan"));
}

#[test]
fn c_publishes_a_claim_that_counts_only_when_it_comes_back() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    state.selected = Some(id("1"));
    let effects = command(&mut state, Command::Claim);
    assert_eq!(published_names(&effects), ["broker:claim"]);
    assert_eq!(
        owner(&state, "1"),
        None,
        "decided by the channel, not locally"
    );
    let effects = command(&mut state, Command::Release);
    assert_eq!(published_names(&effects), ["broker:release"]);
}

fn type_reply(state: &mut AppState, n: &str, text: &str) {
    open(state, n);
    command(state, Command::FocusComposer);
    type_text(state, text);
}

#[test]
fn the_send_guard_shows_what_arrived_since_the_reply_was_started() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    type_reply(&mut state, "1", "Sure, let me check");
    state.now_ms = T0 + 5_000;
    update(
        &mut state,
        customer("1", "m2", "Actually, never mind the rate", T0 + 4_000),
    );
    let effects = command(&mut state, Command::Send);
    assert!(published_names(&effects).is_empty(), "{effects:?}");
    assert_eq!(state.popup, Some(Popup::SendGuard));
    assert!(
        state.guard_reasons[0].contains("never mind the rate"),
        "{:?}",
        state.guard_reasons
    );
    // Edit: back to the draft, kept.
    update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE)),
    );
    assert_eq!(state.popup, None);
    assert_eq!(state.composer.lines().join("\n"), "Sure, let me check");
    // Send anyway.
    command(&mut state, Command::Send);
    let effects = update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
    );
    assert!(published_names(&effects).contains(&"message:broker".to_owned()));
}

#[test]
fn another_brokers_claim_and_reply_are_asked_about_and_discard_drops_the_draft() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    update(&mut state, claim("1", "w1", "2", "Alex Morgan", false));
    type_reply(&mut state, "1", "Hello!");
    state.now_ms = T0 + 2_000;
    update(
        &mut state,
        event(
            "conversation:1",
            "message:broker",
            json!({"messageId": "b1", "content": "I'm on it", "brokerId": "2", "brokerName": "Alex Morgan", "timestamp": T0 + 1_000}),
        ),
    );
    command(&mut state, Command::Send);
    assert_eq!(state.popup, Some(Popup::SendGuard));
    let reasons = state.guard_reasons.join(" | ");
    assert!(
        reasons.contains("Alex Morgan replied: “I'm on it”"),
        "{reasons}"
    );
    assert!(reasons.contains("Claimed by Alex Morgan"), "{reasons}");
    let effects = update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE)),
    );
    assert!(!published_names(&effects).contains(&"message:broker".to_owned()));
    assert!(state.composer.is_empty());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SaveDraft { text, .. } if text.is_empty()))
    );
}

#[test]
fn with_the_guard_off_only_a_claim_is_asked_about() {
    let mut state = state();
    state.guard = false;
    update(&mut state, customer("1", "m1", "Hi", T0));
    type_reply(&mut state, "1", "Hello!");
    state.now_ms = T0 + 2_000;
    update(&mut state, customer("1", "m2", "Hello?", T0 + 1_000));
    let effects = command(&mut state, Command::Send);
    assert!(published_names(&effects).contains(&"message:broker".to_owned()));
}

#[test]
fn a_snoozed_conversation_leaves_the_urgent_part_and_wakes_when_the_customer_writes() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0 - 60_000));
    update(&mut state, customer("2", "m2", "Hi", T0));
    assert_eq!(state.order, [id("1"), id("2")]);
    let snooze = |until: Option<i64>| {
        let mut data = json!({"brokerId": "7", "timestamp": T0});
        if let Some(until) = until {
            data["until"] = json!(until);
        }
        event("conversation:1", "status:snoozed", data)
    };
    update(&mut state, snooze(None));
    assert_eq!(state.order, [id("2"), id("1")]);
    state.inbox_view = InboxView::Open;
    state.reorder();
    assert_eq!(state.order, [id("2")]);
    update(&mut state, customer("1", "m3", "Still there?", T0 + 1_000));
    assert_eq!(
        state.conversations[&id("1")].handling.status,
        ConversationStatus::Open
    );
    assert_eq!(state.order, [id("1"), id("2")]);
    // A snooze with a time wakes at that time.
    update(&mut state, snooze(Some(T0 + 60_000)));
    update(
        &mut state,
        Action::Tick {
            now_ms: T0 + 59_000,
        },
    );
    assert_eq!(state.order, [id("2")]);
    update(
        &mut state,
        Action::Tick {
            now_ms: T0 + 60_000,
        },
    );
    assert_eq!(state.order, [id("1"), id("2")]);
}

#[test]
fn z_asks_how_long_and_publishes_the_snooze() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    state.selected = Some(id("1"));
    command(&mut state, Command::Snooze);
    assert_eq!(state.popup, Some(Popup::Snooze));
    for c in "1h".chars() {
        update(
            &mut state,
            Action::PopupKey(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    let effects = update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let until = effects.iter().find_map(|effect| match effect {
        Effect::Publish { event, .. } => Some(event.to_wire()),
        _ => None,
    });
    let (name, data) = until.unwrap();
    assert_eq!(name, "status:snoozed");
    assert_eq!(data["until"], json!(T0 + 3_600_000));
    let effects = command(&mut state, Command::Resolve);
    assert_eq!(published_names(&effects), ["status:resolved"]);
}

#[test]
fn pause_and_resume_show_who_took_over() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    update(
        &mut state,
        event(
            "conversation:1",
            "message:ai",
            json!({"messageId": "a1", "content": "Hello!", "timestamp": T0}),
        ),
    );
    open(&mut state, "1");
    assert!(super::super::ai_answering(&state));
    let effects = command(&mut state, Command::PauseAi);
    assert_eq!(published_names(&effects), ["ai:pause"]);
    update(
        &mut state,
        event(
            "conversation:1",
            "ai:pause",
            json!({"brokerId": "7", "reason": "took over"}),
        ),
    );
    let conversation = &state.conversations[&id("1")];
    assert_eq!(
        conversation.handling.ai_paused_by,
        Some(Broker {
            id: "7".into(),
            name: "Sam".into()
        })
    );
    assert_eq!(conversation.in_charge(), Some("human"));
    assert!(!super::super::ai_answering(&state));
    update(
        &mut state,
        event("conversation:1", "ai:resume", json!({"brokerId": "2"})),
    );
    assert!(super::super::ai_answering(&state));
}

#[test]
fn our_composing_presence_starts_with_a_keystroke_and_ends_after_five_idle_seconds() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    let effects = type_text(&mut state, "Hel");
    let composing: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::UpdatePresence { data, .. } => Some(data["composing"].clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        composing,
        [json!(true)],
        "debounced: one update for three keys"
    );
    assert!(
        update(&mut state, Action::Tick { now_ms: T0 + 4_000 })
            .iter()
            .all(|e| !matches!(e, Effect::UpdatePresence { .. }))
    );
    let effects = update(&mut state, Action::Tick { now_ms: T0 + 5_000 });
    assert!(effects.iter().any(
        |e| matches!(e, Effect::UpdatePresence { data, .. } if data["composing"] == json!(false))
    ));
}

#[test]
fn another_broker_writing_is_shown_until_their_presence_says_otherwise() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    let writing = |composing: bool| {
        presence(
            "1",
            "broker-2",
            PresenceAction::Update,
            json!({"name": "Alex Morgan", "viewing": true, "composing": composing}),
        )
    };
    update(&mut state, writing(true));
    let words = writers(&state);
    assert_eq!(words, ["Alex Morgan"]);
    update(&mut state, writing(false));
    assert!(writers(&state).is_empty());
    update(&mut state, writing(true));
    update(
        &mut state,
        presence(
            "1",
            "broker-2",
            PresenceAction::Leave,
            json!({"name": "Alex Morgan"}),
        ),
    );
    assert!(writers(&state).is_empty());
}

fn writers(state: &AppState) -> Vec<String> {
    state.conversations[&id("1")]
        .handling
        .writers
        .values()
        .cloned()
        .collect()
}

#[test]
fn a_note_goes_to_the_notes_channel_and_shows_as_a_note() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    let effects = open(&mut state, "1");
    assert!(effects.contains(&Effect::Attach {
        channel: channel_name("notes:conversation:1")
    }));
    command(&mut state, Command::Note);
    type_text(&mut state, "Prefers a call after 5");
    let effects = command(&mut state, Command::Send);
    let channels: Vec<String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish { channel, event } => Some(format!("{channel} {}", event.to_wire().0)),
            _ => None,
        })
        .collect();
    assert_eq!(channels, ["notes:conversation:1 note"]);
    let last = state.conversations[&id("1")]
        .messages
        .last()
        .unwrap()
        .clone();
    assert!(matches!(last.sender, Sender::Note { mine: true, .. }));
    // Another broker's note arrives on the notes channel.
    update(
        &mut state,
        event(
            "notes:conversation:1",
            "note",
            json!({"noteId": "n9", "content": "VIP", "brokerId": "2", "brokerName": "Alex Morgan"}),
        ),
    );
    let last = state.conversations[&id("1")].messages.last().unwrap();
    assert_eq!(last.text, "VIP");
    // A note is not the conversation's last message for the inbox.
    assert_eq!(
        state.conversations[&id("1")].last_preview().unwrap().text,
        "Hi"
    );
}

#[test]
fn read_only_claims_pauses_snoozes_and_notes_nothing() {
    let me = Identity {
        broker_id: "s".into(),
        broker_name: "Supervisor".into(),
    };
    let mut state = AppState::new(me, true, Default::default(), T0);
    update(&mut state, customer("1", "m1", "Hi", T0));
    open(&mut state, "1");
    let mut effects = Vec::new();
    for ask in [
        Command::Claim,
        Command::PauseAi,
        Command::Snooze,
        Command::Resolve,
        Command::Note,
    ] {
        effects.extend(command(&mut state, ask));
    }
    assert!(!effects.iter().any(Effect::publishes), "{effects:?}");
    assert_eq!(state.popup, None);
}
