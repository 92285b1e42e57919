//! Conversation events: SLA, AI replies, presence, odd and hostile events, history.

use super::*;

#[test]
fn opening_enters_presence_fetches_history_and_suggestions_and_reads() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0));
    update(&mut state, customer("2", "m9", "Hi", T0));
    open(&mut state, "2");
    let effects = open(&mut state, "1");
    assert!(effects.contains(&Effect::LeavePresence {
        channel: channel_name("conversation:2")
    }));
    assert!(effects.contains(&Effect::EnterPresence {
        channel: channel_name("conversation:1"),
        data: json!({"name": "Sam", "viewing": true, "composing": false})
    }));
    assert!(effects.contains(&Effect::FetchHistory {
        channel: channel_name("conversation:1"),
        before_ms: None
    }));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::FetchSuggestions { channel, .. } if channel == "conversation:1")
    ));
    let read = effects.iter().find_map(|e| match e {
        Effect::Publish { event, .. } if event.to_wire().0 == "read" => Some(event.to_wire().1),
        _ => None,
    });
    assert_eq!(read.unwrap()["messageId"], "m1");
    assert_eq!(state.conversations[&id("1")].unread, 0);
    assert_eq!(state.focus, Focus::Conversation);

    // A new customer message while it is on screen is read at once, and refreshes replies.
    let effects = update(&mut state, customer("1", "m2", "More", T0 + 1));
    assert_eq!(published_names(&effects), ["read"]);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::FetchSuggestions { .. }))
    );
    assert_eq!(state.conversations[&id("1")].unread, 0);
}

#[test]
fn sla_banner_escalates_and_clears_when_another_broker_answers() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0 - 100_000));
    update(
        &mut state,
        event(
            "conversation:1",
            "sla:violation",
            json!({"threshold": 90000, "actual": 100000, "severity": "critical"}),
        ),
    );
    update(
        &mut state,
        event(
            "conversation:1",
            "sla:warning",
            json!({"threshold": 45000, "actual": 60000, "severity": "warning"}),
        ),
    );
    assert_eq!(
        state.conversations[&id("1")].sla.as_ref().map(|s| s.level),
        Some(SlaLevel::Breach),
        "a late warning does not downgrade a breach"
    );
    update(
        &mut state,
        event(
            "conversation:1",
            "message:broker",
            json!({"messageId": "b1", "content": "On it", "brokerId": "2", "brokerName": "Alex"}),
        ),
    );
    let conversation = &state.conversations[&id("1")];
    assert_eq!(conversation.sla, None);
    assert_eq!(conversation.waiting_since_ms, None);
    assert_eq!(
        conversation.messages.last().unwrap().sender,
        Sender::Broker {
            id: "2".into(),
            name: Some("Alex".into())
        }
    );
}

#[test]
fn ai_replies_keep_the_persona_and_do_not_count_as_a_human_answer() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Rates?", T0));
    update(
        &mut state,
        event(
            "conversation:1",
            "message:ai",
            json!({"messageId": "a1", "content": "Rates are...", "persona": "friendly", "timing": {"queue_duration_ms": 5, "ai_duration_ms": 900}}),
        ),
    );
    let conversation = &state.conversations[&id("1")];
    assert_eq!(conversation.persona.as_deref(), Some("friendly"));
    assert!(conversation.waiting_since_ms.is_some());
    assert_eq!(
        conversation.messages.last().unwrap().sender,
        Sender::Ai {
            persona: Some("friendly".into())
        }
    );
}

#[test]
fn presence_in_words_names_and_other_brokers_viewing() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hi", T0));
    update(
        &mut state,
        presence(
            "1",
            "customer-1",
            PresenceAction::Enter,
            json!({"name": "Priya Shah"}),
        ),
    );
    assert_eq!(state.conversations[&id("1")].presence, Presence::Online);
    assert_eq!(state.conversations[&id("1")].title(), "Priya Shah");
    update(
        &mut state,
        presence(
            "1",
            "customer-1",
            PresenceAction::Update,
            json!({"name": "Priya Shah", "status": "away"}),
        ),
    );
    assert_eq!(state.conversations[&id("1")].presence, Presence::Away);
    update(
        &mut state,
        presence("1", "customer-1", PresenceAction::Leave, json!({})),
    );
    assert_eq!(state.conversations[&id("1")].presence, Presence::Offline);

    update(
        &mut state,
        presence(
            "1",
            "broker-2",
            PresenceAction::Enter,
            json!({"name": "Alex Morgan", "viewing": true}),
        ),
    );
    assert_eq!(
        state.conversations[&id("1")]
            .viewers
            .values()
            .collect::<Vec<_>>(),
        ["Alex Morgan"]
    );
    update(
        &mut state,
        presence(
            "1",
            "broker-7",
            PresenceAction::Enter,
            json!({"name": "Sam", "viewing": true}),
        ),
    );
    assert_eq!(
        state.conversations[&id("1")].viewers.len(),
        1,
        "we are not 'also viewing' ourselves"
    );
    update(
        &mut state,
        presence("1", "broker-2", PresenceAction::Leave, json!({})),
    );
    assert!(state.conversations[&id("1")].viewers.is_empty());
}

#[test]
fn unknown_and_malformed_events_are_shown_not_dropped() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    update(
        &mut state,
        event("conversation:1", "call:started", json!({"x": 1})),
    );
    update(
        &mut state,
        event(
            "conversation:1",
            "message:user",
            json!({"content": "no id"}),
        ),
    );
    let conversation = &state.conversations[&id("1")];
    assert_eq!(conversation.odd_events, 2);
    let notes: Vec<&str> = conversation
        .messages
        .iter()
        .filter(|m| m.sender == Sender::System)
        .map(|m| m.text.as_str())
        .collect();
    assert!(notes[0].contains("call:started"), "{notes:?}");
    assert!(notes[1].contains("messageId"), "{notes:?}");
}

#[test]
fn hostile_text_is_cleaned_at_intake() {
    let mut state = state();
    let hostile = "Hi\u{1b}]52;c;ZXZpbA==\u{7} there\u{1b}[2J\u{202e}gnp.exe\u{200b}";
    update(&mut state, customer("1", "m1", hostile, T0));
    update(
        &mut state,
        presence(
            "1",
            "customer-1",
            PresenceAction::Enter,
            json!({"name": "Eve\u{1b}]0;owned\u{7}\u{202e}"}),
        ),
    );
    let conversation = &state.conversations[&id("1")];
    let text = &conversation.messages[0].text;
    assert_eq!(text, "Hi theregnp.exe");
    assert_eq!(conversation.title(), "Eve");
}

#[test]
fn scrolling_up_pages_in_older_history_and_counts_new_messages_below() {
    let mut state = state();
    for n in 0..30 {
        update(
            &mut state,
            customer("1", &format!("m{n}"), "x", T0 - 100_000 + n),
        );
    }
    open(&mut state, "1");
    update(
        &mut state,
        Action::History {
            channel: channel_name("conversation:1"),
            messages: Vec::new(),
            older: false,
            complete: false,
        },
    );
    command(&mut state, Command::PageUp);
    assert_eq!(state.conversations[&id("1")].scroll.from_bottom, 10);
    let effects = command(&mut state, Command::Top);
    assert!(effects.contains(&Effect::FetchHistory {
        channel: channel_name("conversation:1"),
        before_ms: Some(T0 - 100_000)
    }));
    assert!(state.conversations[&id("1")].loading_older);
    update(&mut state, customer("1", "new", "fresh", T0 + 1));
    assert_eq!(state.conversations[&id("1")].scroll.new_below, 1);
    command(&mut state, Command::Bottom);
    assert_eq!(state.conversations[&id("1")].scroll.from_bottom, 0);
}

#[test]
fn history_loads_in_order_and_rebuilds_waiting() {
    let mut state = state();
    let wire = |name: &str, data: Value| InboundMessage {
        id: format!("w-{data}"),
        name: Some(name.into()),
        payload: Payload::Json(data),
        encoding_error: None,
        client_id: None,
        connection_id: None,
        timestamp: None,
        from_history: true,
    };
    let messages = vec![
        wire(
            "message:user",
            json!({"messageId": "h1", "content": "old question", "timestamp": T0 - 300_000}),
        ),
        wire(
            "message:broker",
            json!({"messageId": "h2", "content": "answer", "brokerId": "7", "timestamp": T0 - 200_000}),
        ),
        wire(
            "message:user",
            json!({"messageId": "h3", "content": "follow-up", "timestamp": T0 - 100_000}),
        ),
    ];
    update(
        &mut state,
        Action::History {
            channel: channel_name("conversation:4"),
            messages: messages
                .into_iter()
                .map(|m| Incoming::new("conversation:4".into(), m))
                .collect(),
            older: false,
            complete: true,
        },
    );
    let conversation = &state.conversations[&id("4")];
    let ids: Vec<&str> = conversation
        .messages
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(ids, ["h1", "h2", "h3"]);
    assert_eq!(conversation.messages[1].sender, Sender::Me);
    assert_eq!(conversation.waiting_since_ms, Some(T0 - 100_000));
    assert_eq!(conversation.unread, 0, "history is not unread news");
}

#[test]
fn an_sla_event_after_another_broker_answered_is_ignored() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0 - 100_000));
    update(
        &mut state,
        event(
            "conversation:1",
            "message:broker",
            json!({"messageId": "b1", "content": "Hi", "brokerId": "2"}),
        ),
    );
    update(
        &mut state,
        event(
            "conversation:1",
            "sla:violation",
            json!({"threshold": 90000, "actual": 100000, "severity": "critical"}),
        ),
    );
    assert_eq!(state.conversations[&id("1")].sla, None);
}
