//! Replies: the outbox and every decision the reducer makes about a reply.

use super::*;

#[test]
fn a_reply_goes_through_the_outbox_and_shows_its_state_in_words() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0 - 60_000));
    update(
        &mut state,
        event(
            "conversation:1",
            "sla:warning",
            json!({"threshold": 45000, "actual": 50000, "severity": "warning"}),
        ),
    );
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    assert_eq!(state.focus, Focus::Composer);
    let effects = type_text(&mut state, "Hi there");
    assert_eq!(
        published_names(&effects)
            .iter()
            .filter(|n| *n == "typing:start")
            .count(),
        1,
        "typing:start once, on the first key"
    );

    command(&mut state, Command::Newline);
    type_text(&mut state, "Line two");
    let effects = command(&mut state, Command::Send);
    let entry = effects
        .iter()
        .find_map(|e| match e {
            Effect::SendReply(entry) => Some(entry.clone()),
            _ => None,
        })
        .expect("a reply");
    let data: Value = serde_json::from_str(&entry.data).unwrap();
    assert_eq!(entry.name, "message:broker");
    assert_eq!(data["content"], "Hi there\nLine two");
    assert_eq!(data["brokerId"], "7");
    assert_eq!(data["brokerName"], "Sam");
    assert_eq!(data["messageId"], entry.message_id);
    assert!(published_names(&effects).contains(&"typing:stop".to_owned()));
    let conversation = &state.conversations[&id("1")];
    assert_eq!(conversation.sla, None, "answering clears the SLA banner");
    assert_eq!(conversation.waiting_since_ms, None);
    let mine = conversation.messages.last().unwrap();
    assert_eq!(
        (mine.sender.clone(), mine.delivery),
        (Sender::Me, Some(Delivery::Sending))
    );
    assert_eq!(state.outbox.len(), 1);
    assert!(state.composer.is_empty());
}

#[test]
fn the_customer_reading_our_reply_marks_it_read() {
    let mut state = state();
    let entry = send_one(&mut state, "On it");
    update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Ok(acked()),
        },
    );
    update(
        &mut state,
        event(
            "conversation:1",
            "read",
            json!({"messageId": entry.message_id, "readAt": T0, "actor": "customer"}),
        ),
    );
    assert_eq!(delivery_of(&state, &entry.message_id), Some(Delivery::Read));
}

#[test]
fn a_refused_reply_is_marked_failed_and_r_retries_it_with_the_same_id() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    type_text(&mut state, "Hi");
    let effects = command(&mut state, Command::Send);
    let Some(Effect::SendReply(entry)) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::SendReply(_)))
    else {
        panic!("no reply")
    };
    update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Err(ClientError::Refused(crate::protocol::ErrorInfo::new(
                40160, 401, "refused",
            ))),
        },
    );
    assert_eq!(
        state.conversations[&id("1")]
            .messages
            .last()
            .unwrap()
            .delivery,
        Some(Delivery::Failed)
    );
    assert_eq!(state.outbox.len(), 1, "a failed reply is still unsent");
    assert!(state.notice.is_some());
    state.focus = Focus::Conversation;
    let effects = command(&mut state, Command::Reply);
    let retried: Vec<&OutboxEntry> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::SendReply(entry) => Some(entry),
            _ => None,
        })
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].message_id, entry.message_id);
}

#[test]
fn quitting_with_unsent_replies_asks_first() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    type_text(&mut state, "pending");
    command(&mut state, Command::Send);
    command(&mut state, Command::Quit);
    assert_eq!(state.popup, Some(Popup::ConfirmQuit));
    assert!(!state.quit);
    update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)),
    );
    assert_eq!(state.popup, None);
    assert!(!state.quit);
    command(&mut state, Command::Quit);
    let effects = update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
    );
    assert!(state.quit);
    assert!(effects.contains(&Effect::LeavePresence {
        channel: channel_name("conversation:1")
    }));
}

#[test]
fn the_outbox_is_replayed_with_the_same_ids_after_a_restart() {
    let mut state = state();
    let entry = OutboxEntry {
        message_id: "kept:0".into(),
        channel: "conversation:3".into(),
        name: "message:broker".into(),
        data: json!({"messageId": "kept:0", "content": "Sorry for the wait", "brokerId": "7"})
            .to_string(),
        created_ms: T0 - 5_000,
    };
    let effects = update(&mut state, Action::OutboxRestored(vec![entry.clone()]));
    assert!(
        effects.contains(&Effect::ResendReply(entry)),
        "checked against history, then sent with its id"
    );
    assert!(effects.contains(&Effect::Attach {
        channel: channel_name("conversation:3")
    }));
    let message = &state.conversations[&id("3")].messages[0];
    assert_eq!(
        (message.text.as_str(), message.delivery),
        ("Sorry for the wait", Some(Delivery::Sending))
    );
    assert_eq!(state.outbox.len(), 1);
}

#[test]
fn our_reply_coming_back_from_the_channel_clears_it_from_the_outbox() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0));
    open(&mut state, "1");
    update(&mut state, Action::SetDraft("On my way".into()));
    let effects = command(&mut state, Command::Send);
    let Some(Effect::SendReply(entry)) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::SendReply(_)))
    else {
        panic!("no reply")
    };
    let effects = update(
        &mut state,
        event(
            "conversation:1",
            "message:broker",
            json!({"messageId": entry.message_id, "content": "On my way", "brokerId": "7"}),
        ),
    );
    assert!(effects.contains(&Effect::ForgetReply {
        message_id: entry.message_id.clone()
    }));
    assert!(state.outbox.is_empty());
    assert_eq!(
        state.conversations[&id("1")]
            .messages
            .iter()
            .filter(|m| m.sender == Sender::Me)
            .count(),
        1,
        "not shown twice"
    );
}

#[test]
fn a_refused_reply_leaves_the_customer_waiting_again() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0 - 60_000));
    open(&mut state, "1");
    update(&mut state, Action::SetDraft("Hi".into()));
    let effects = command(&mut state, Command::Send);
    assert_eq!(state.conversations[&id("1")].waiting_since_ms, None);
    let Some(Effect::SendReply(entry)) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::SendReply(_)))
    else {
        panic!("no reply")
    };
    update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id,
            result: Err(ClientError::Refused(crate::protocol::ErrorInfo::new(
                40160, 401, "refused",
            ))),
        },
    );
    assert_eq!(
        state.conversations[&id("1")].waiting_since_ms,
        Some(T0 - 60_000)
    );
}

/// Opens conversation 1 and sends one reply; returns the outbox entry that went out.
pub(super) fn send_one(state: &mut AppState, text: &str) -> OutboxEntry {
    update(state, customer("1", "m1", "Hello", T0 - 60_000));
    open(state, "1");
    update(state, Action::SetDraft(text.into()));
    command(state, Command::Send)
        .into_iter()
        .find_map(|e| match e {
            Effect::SendReply(entry) => Some(entry),
            _ => None,
        })
        .expect("a reply")
}

fn delivery_of(state: &AppState, message_id: &str) -> Option<Delivery> {
    state.conversations[&id("1")]
        .messages
        .iter()
        .find(|m| m.id == message_id)
        .and_then(|m| m.delivery)
}

fn connection(state: &mut AppState, connection: ConnectionState) -> Vec<Effect> {
    update(
        state,
        Action::from_net(NetEvent::Connection {
            shard: 0,
            state: connection,
            reason: None,
        }),
    )
}

#[test]
fn outbox_acknowledged_reply_is_forgotten_by_the_store_and_shown_sent() {
    let mut state = state();
    let entry = send_one(&mut state, "On it");
    let effects = update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Ok(acked()),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::ForgetReply {
            message_id: entry.message_id.clone()
        }]
    );
    assert!(state.outbox.is_empty());
    assert_eq!(delivery_of(&state, &entry.message_id), Some(Delivery::Sent));
    let late = update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id,
            result: Ok(acked()),
        },
    );
    assert!(
        late.is_empty(),
        "a second outcome for a settled reply is ignored"
    );
}

#[test]
fn outbox_refused_reply_is_forgotten_by_the_store_kept_on_screen_and_retried_on_r() {
    let mut state = state();
    let entry = send_one(&mut state, "On it");
    let effects = update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Err(ClientError::Refused(crate::protocol::ErrorInfo::new(
                40160, 401, "refused",
            ))),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::ForgetReply {
            message_id: entry.message_id.clone()
        }],
        "refused again at every start otherwise"
    );
    assert_eq!(
        state.outbox.get(&entry.message_id).map(|r| r.stage),
        Some(ReplyStage::Refused)
    );
    assert_eq!(
        delivery_of(&state, &entry.message_id),
        Some(Delivery::Failed)
    );
    let reconnect = connection(&mut state, ConnectionState::Connected);
    assert!(
        !reconnect
            .iter()
            .any(|e| matches!(e, Effect::PublishReply(_))),
        "a refusal is not retried by a reconnect"
    );
    state.focus = Focus::Conversation;
    let retry = command(&mut state, Command::Reply);
    assert_eq!(retry, vec![Effect::SendReply(entry.clone())]);
    assert_eq!(
        state.outbox.get(&entry.message_id).map(|r| r.stage),
        Some(ReplyStage::Sending)
    );
    assert_eq!(
        delivery_of(&state, &entry.message_id),
        Some(Delivery::Sending)
    );
}

#[test]
fn outbox_reply_that_lost_its_connection_waits_then_goes_out_once_when_connected() {
    let mut state = state();
    connection(&mut state, ConnectionState::Connected);
    let entry = send_one(&mut state, "On it");
    let effects = update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Err(ClientError::Closed),
        },
    );
    assert!(effects.is_empty(), "kept in the store, nothing to do yet");
    assert_eq!(
        state.outbox.get(&entry.message_id).map(|r| r.stage),
        Some(ReplyStage::AwaitingConnection)
    );
    assert_eq!(
        delivery_of(&state, &entry.message_id),
        Some(Delivery::Sending)
    );
    assert!(connection(&mut state, ConnectionState::Disconnected).is_empty());
    assert!(connection(&mut state, ConnectionState::Connecting).is_empty());
    let back = connection(&mut state, ConnectionState::Connected);
    assert_eq!(back, vec![Effect::PublishReply(entry.clone())], "same id");
    assert!(
        connection(&mut state, ConnectionState::Connected).is_empty(),
        "sent once, not once per connection event"
    );
    update(
        &mut state,
        Action::ReplySettled {
            message_id: entry.message_id.clone(),
            result: Ok(acked()),
        },
    );
    assert!(state.outbox.is_empty());
    assert_eq!(delivery_of(&state, &entry.message_id), Some(Delivery::Sent));
}

#[test]
fn outbox_reply_pending_at_restart_is_checked_against_history_then_settles() {
    let mut state = state();
    let entry = OutboxEntry {
        message_id: "kept:0".into(),
        channel: "conversation:1".into(),
        name: "message:broker".into(),
        data: json!({"messageId": "kept:0", "content": "Sorry", "brokerId": "7"}).to_string(),
        created_ms: T0 - 5_000,
    };
    let effects = update(&mut state, Action::OutboxRestored(vec![entry.clone()]));
    assert!(effects.contains(&Effect::ResendReply(entry.clone())));
    assert!(!effects.iter().any(|e| matches!(e, Effect::SendReply(_))));
    assert_eq!(
        state.outbox.get("kept:0").map(|r| r.stage),
        Some(ReplyStage::Sending)
    );
    let effects = update(
        &mut state,
        Action::ReplySettled {
            message_id: "kept:0".into(),
            result: Ok(acked()),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::ForgetReply {
            message_id: "kept:0".into()
        }]
    );
    assert_eq!(delivery_of(&state, "kept:0"), Some(Delivery::Sent));
}
