//! Reducer tests: each behaviour of the dashboard, driven by actions, checked on state
//! and effects. No terminal, no network.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};

use super::update;
use crate::app::action::{Action, Command};
use crate::app::conversation::{Delivery, Presence, Sender, SlaLevel};
use crate::app::effect::Effect;
use crate::app::state::{AppState, Focus, Identity, Popup, SortMode};
use crate::protocol::data::Payload;
use crate::protocol::events::ConversationId;
use crate::protocol::{PresenceAction, PresenceMessage};
use crate::realtime::{ConnectionState, InboundMessage, NetEvent, PresenceChange};
use crate::store::OutboxEntry;

const T0: i64 = 1_800_000_000_000;

fn state() -> AppState {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let canned = [("docs".to_owned(), "Please upload your payslips.".to_owned())]
        .into_iter()
        .collect();
    AppState::new(me, false, canned, T0)
}

fn id(n: &str) -> ConversationId {
    ConversationId::new(n)
}

fn event(channel: &str, name: &str, data: Value) -> Action {
    Action::Net(NetEvent::Message {
        shard: 0,
        channel: channel.into(),
        message: InboundMessage {
            id: format!("wire-{name}-{}", data),
            name: Some(name.into()),
            payload: Payload::Json(data),
            encoding_error: None,
            client_id: None,
            connection_id: None,
            timestamp: None,
            from_history: false,
        },
    })
}

fn customer(n: &str, message_id: &str, content: &str, at: i64) -> Action {
    event(
        &format!("conversation:{n}"),
        "message:user",
        json!({"messageId": message_id, "content": content, "timestamp": at}),
    )
}

fn presence(n: &str, client_id: &str, action: PresenceAction, data: Value) -> Action {
    let mut member = PresenceMessage::new(action);
    member.client_id = Some(client_id.into());
    member.data = Some(Value::String(data.to_string()));
    member.encoding = Some("json".into());
    Action::Net(NetEvent::Presence {
        channel: format!("conversation:{n}"),
        change: PresenceChange { action, member },
    })
}

fn key(code: KeyCode) -> Action {
    Action::ComposerKey(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(state: &mut AppState, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| update(state, key(KeyCode::Char(c))))
        .collect()
}

fn command(state: &mut AppState, command: Command) -> Vec<Effect> {
    update(state, Action::Command(command))
}

fn open(state: &mut AppState, n: &str) -> Vec<Effect> {
    state.selected = Some(id(n));
    command(state, Command::Open)
}

fn published_names(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Publish { name, .. } => Some(name.clone()),
            Effect::SendReply(entry) => Some(entry.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn inbox_puts_breach_before_warning_before_longest_waiting_before_unread() {
    let mut state = state();
    update(&mut state, customer("calm", "m1", "hi", T0 - 1_000));
    update(&mut state, customer("old", "m2", "hi", T0 - 600_000));
    update(&mut state, customer("warn", "m3", "hi", T0 - 10_000));
    update(&mut state, customer("breach", "m4", "hi", T0 - 5_000));
    update(
        &mut state,
        event(
            "conversation:warn",
            "sla:warning",
            json!({"threshold": 45000, "actual": 46000, "severity": "warning"}),
        ),
    );
    update(
        &mut state,
        event(
            "conversation:breach",
            "sla:violation",
            json!({"threshold": 90000, "actual": 91000, "severity": "critical"}),
        ),
    );
    let order: Vec<&str> = state.order.iter().map(ConversationId::as_str).collect();
    assert_eq!(order, ["breach", "warn", "old", "calm"]);

    command(&mut state, Command::ToggleSort);
    assert_eq!(state.sort, SortMode::Name);
    let order: Vec<&str> = state.order.iter().map(ConversationId::as_str).collect();
    assert_eq!(
        order,
        ["breach", "calm", "old", "warn"],
        "stable order by name"
    );
}

#[test]
fn the_filter_narrows_and_bang_inverts() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "refinance please", T0));
    update(&mut state, customer("2", "m2", "first home", T0));
    command(&mut state, Command::Filter);
    assert!(state.filter_editing);
    for c in "refin".chars() {
        update(
            &mut state,
            Action::FilterKey(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    assert_eq!(state.order, vec![id("1")]);
    state.filter = "!refin".into();
    state.reorder();
    assert_eq!(state.order, vec![id("2")]);
    update(
        &mut state,
        Action::FilterKey(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    assert_eq!(state.order.len(), 2);
}

#[test]
fn customer_messages_off_screen_count_as_unread_and_start_waiting() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0 - 30_000));
    update(&mut state, customer("1", "m2", "Anyone?", T0));
    update(&mut state, customer("1", "m2", "Anyone?", T0));
    let conversation = &state.conversations[&id("1")];
    assert_eq!(
        conversation.unread, 2,
        "the repeated event is not counted twice"
    );
    assert_eq!(conversation.waiting_since_ms, Some(T0 - 30_000));
    assert_eq!(conversation.messages.len(), 2);
}

#[test]
fn opening_enters_presence_fetches_history_and_suggestions_and_reads() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0));
    update(&mut state, customer("2", "m9", "Hi", T0));
    open(&mut state, "2");
    let effects = open(&mut state, "1");
    assert!(effects.contains(&Effect::LeavePresence {
        channel: "conversation:2".into()
    }));
    assert!(effects.contains(&Effect::EnterPresence {
        channel: "conversation:1".into(),
        data: json!({"name": "Sam", "viewing": true})
    }));
    assert!(effects.contains(&Effect::FetchHistory {
        channel: "conversation:1".into(),
        before_ms: None
    }));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::FetchSuggestions { channel, .. } if channel == "conversation:1")
    ));
    let read = effects.iter().find_map(|e| match e {
        Effect::Publish { name, data, .. } if name == "read" => Some(data.clone()),
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
    assert_eq!(state.unsent.len(), 1);
    assert!(state.composer.is_empty());

    update(
        &mut state,
        Action::Published {
            message_id: entry.message_id.clone(),
            result: Ok(()),
        },
    );
    assert_eq!(
        state.conversations[&id("1")]
            .messages
            .last()
            .unwrap()
            .delivery,
        Some(Delivery::Sent)
    );
    assert!(state.unsent.is_empty());

    update(
        &mut state,
        event(
            "conversation:1",
            "read",
            json!({"messageId": entry.message_id, "readAt": T0, "actor": "customer"}),
        ),
    );
    assert_eq!(
        state.conversations[&id("1")]
            .messages
            .last()
            .unwrap()
            .delivery,
        Some(Delivery::Read)
    );
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
        Action::Published {
            message_id: entry.message_id.clone(),
            result: Err(crate::realtime::ClientError::Refused(
                crate::protocol::ErrorInfo::new(40160, 401, "refused"),
            )),
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
    assert_eq!(state.unsent.len(), 1, "a failed reply is still unsent");
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
fn typing_stops_after_two_idle_seconds_and_remote_typing_expires() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Hello", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    type_text(&mut state, "x");
    let effects = update(&mut state, Action::Tick { now_ms: T0 + 1_000 });
    assert!(published_names(&effects).is_empty());
    let effects = update(&mut state, Action::Tick { now_ms: T0 + 2_100 });
    assert_eq!(published_names(&effects), ["typing:stop"]);

    update(
        &mut state,
        event(
            "conversation:1",
            "typing:start",
            json!({"actor": "customer"}),
        ),
    );
    assert!(state.conversations[&id("1")].typing.is_some());
    update(
        &mut state,
        event(
            "conversation:1",
            "typing:stop",
            json!({"actor": "customer"}),
        ),
    );
    assert!(state.conversations[&id("1")].typing.is_none());
    update(
        &mut state,
        event(
            "conversation:1",
            "typing:start",
            json!({"actor": "customer"}),
        ),
    );
    update(
        &mut state,
        Action::Tick {
            now_ms: T0 + 2_100 + super::TYPING_EXPIRY_MS,
        },
    );
    assert!(
        state.conversations[&id("1")].typing.is_none(),
        "a lost typing:stop does not leave it on forever"
    );
    // Our own typing echo is not shown as someone else typing.
    update(
        &mut state,
        event(
            "conversation:1",
            "typing:start",
            json!({"actor": "broker", "brokerId": "7"}),
        ),
    );
    assert!(state.conversations[&id("1")].typing.is_none());
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
fn quick_replies_fill_the_composer_for_editing_and_are_announced() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Rates?", T0));
    open(&mut state, "1");
    update(
        &mut state,
        Action::Suggestions {
            channel: "conversation:1".into(),
            replies: vec!["One".into(), "Two".into()],
            from_web_app: true,
        },
    );
    let effects = command(&mut state, Command::PickSuggestion(Some(2)));
    assert_eq!(state.composer.lines().join("\n"), "Two");
    assert_eq!(state.focus, Focus::Composer);
    assert_eq!(
        published_names(&effects),
        ["ui:suggestionSelected"],
        "picked, not sent"
    );

    command(&mut state, Command::FocusSuggestions);
    assert_eq!(state.focus, Focus::Suggestions);
    command(&mut state, Command::Down);
    command(&mut state, Command::PickSuggestion(None));
    assert_eq!(state.composer.lines().join("\n"), "Two");

    // The web app had nothing: canned replies stand in.
    update(
        &mut state,
        Action::Suggestions {
            channel: "conversation:1".into(),
            replies: Vec::new(),
            from_web_app: false,
        },
    );
    assert_eq!(
        state.suggestions.as_ref().unwrap().replies,
        ["Please upload your payslips."]
    );
}

#[test]
fn slash_code_expands_a_canned_reply_instead_of_sending() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Docs?", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    type_text(&mut state, "/docs");
    let effects = command(&mut state, Command::Send);
    assert!(!effects.iter().any(|e| matches!(e, Effect::SendReply(_))));
    assert_eq!(
        state.composer.lines().join("\n"),
        "Please upload your payslips."
    );
    state.composer = crate::app::state::new_composer();
    type_text(&mut state, "/nope");
    command(&mut state, Command::Send);
    assert!(state.notice.as_deref().unwrap().contains("/nope"));
}

#[test]
fn drafts_are_kept_per_conversation() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    update(&mut state, customer("2", "m2", "b", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    let effects = type_text(&mut state, "half");
    assert!(effects.contains(&Effect::SaveDraft {
        channel: "conversation:1".into(),
        text: "half".into()
    }));
    open(&mut state, "2");
    assert!(state.composer.is_empty());
    assert!(state.conversations[&id("1")].has_draft());
    open(&mut state, "1");
    assert_eq!(state.composer.lines().join("\n"), "half");

    let mut restored = self::state();
    update(
        &mut restored,
        Action::Drafts(vec![("conversation:5".into(), "saved".into())]),
    );
    assert_eq!(restored.conversations[&id("5")].draft, "saved");
}

#[test]
fn quitting_with_unsent_replies_asks_first() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    open(&mut state, "1");
    command(&mut state, Command::FocusComposer);
    type_text(&mut state, "pending");
    command(&mut state, Command::Send);
    let effects = command(&mut state, Command::Quit);
    assert_eq!(state.popup, Some(Popup::ConfirmQuit));
    assert!(!effects.contains(&Effect::Quit));
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
    assert!(effects.contains(&Effect::Quit));
    assert!(effects.contains(&Effect::LeavePresence {
        channel: "conversation:1".into()
    }));
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
        channel: "conversation:3".into()
    }));
    let message = &state.conversations[&id("3")].messages[0];
    assert_eq!(
        (message.text.as_str(), message.delivery),
        ("Sorry for the wait", Some(Delivery::Sending))
    );
    assert_eq!(state.unsent.len(), 1);
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
            channel: "conversation:1".into(),
            messages: Vec::new(),
            older: false,
            complete: false,
        },
    );
    command(&mut state, Command::PageUp);
    assert_eq!(state.conversations[&id("1")].scroll.from_bottom, 10);
    let effects = command(&mut state, Command::Top);
    assert!(effects.contains(&Effect::FetchHistory {
        channel: "conversation:1".into(),
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
            channel: "conversation:4".into(),
            messages,
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
fn discovery_and_lifecycle_attach_new_conversations() {
    let mut state = state();
    let effects = update(
        &mut state,
        Action::Discovered(vec!["conversation:1".into(), "other:2".into()]),
    );
    assert_eq!(
        effects,
        vec![Effect::Attach {
            channel: "conversation:1".into()
        }]
    );
    let effects = update(
        &mut state,
        event(
            "[meta]channel.lifecycle",
            "channel.opened",
            json!({"name": "conversation:9", "status": {"isActive": true}}),
        ),
    );
    assert_eq!(
        effects,
        vec![Effect::Attach {
            channel: "conversation:9".into()
        }]
    );
    assert!(state.conversations.contains_key(&id("9")));
}

#[test]
fn read_only_publishes_nothing() {
    let me = Identity {
        broker_id: "s".into(),
        broker_name: "Supervisor".into(),
    };
    let mut state = AppState::new(me, true, Default::default(), T0);
    update(&mut state, customer("1", "m1", "Hello", T0));
    let effects = open(&mut state, "1");
    assert!(published_names(&effects).is_empty());
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::EnterPresence { .. }))
    );
    command(&mut state, Command::FocusComposer);
    assert_ne!(state.focus, Focus::Composer);
    assert!(state.notice.as_deref().unwrap().contains("Read-only"));
}

#[test]
fn connection_state_is_summarised_in_words() {
    let mut state = state();
    let link = |s: ConnectionState| {
        Action::Net(NetEvent::Connection {
            shard: 0,
            state: s,
            reason: None,
        })
    };
    update(&mut state, link(ConnectionState::Connecting));
    update(&mut state, link(ConnectionState::Connected));
    assert_eq!(
        crate::ui::connection_words(&state),
        ("connected".to_owned(), true)
    );
    update(&mut state, link(ConnectionState::Disconnected));
    update(&mut state, link(ConnectionState::Connecting));
    update(&mut state, link(ConnectionState::Disconnected));
    update(&mut state, link(ConnectionState::Connecting));
    assert_eq!(
        crate::ui::connection_words(&state),
        ("reconnecting (attempt 2)".to_owned(), false)
    );
}

#[test]
fn most_urgent_jumps_regardless_of_the_sort() {
    let mut state = state();
    update(&mut state, customer("a", "m1", "x", T0));
    update(&mut state, customer("z", "m2", "x", T0));
    update(
        &mut state,
        event(
            "conversation:z",
            "sla:violation",
            json!({"threshold": 1, "actual": 2, "severity": "critical"}),
        ),
    );
    command(&mut state, Command::ToggleSort);
    command(&mut state, Command::MostUrgent);
    assert_eq!(state.open, Some(id("z")));
    assert_eq!(state.sort, SortMode::Name, "the chosen order stays");
}

#[test]
fn the_prompt_opens_by_id_and_sets_the_draft() {
    let mut state = state();
    update(&mut state, customer("4", "m1", "Hi", T0));
    let effects = update(&mut state, Action::OpenConversation(id("4")));
    assert_eq!(state.open, Some(id("4")));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::EnterPresence { .. }))
    );
    update(&mut state, Action::OpenConversation(id("missing")));
    assert_eq!(
        state.open,
        Some(id("4")),
        "an unknown conversation changes nothing"
    );
    update(&mut state, Action::SetDraft("typed at the prompt".into()));
    let effects = command(&mut state, Command::Send);
    let sent = effects.iter().any(
        |e| matches!(e, Effect::SendReply(entry) if entry.data.contains("typed at the prompt")),
    );
    assert!(sent);
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
    assert!(effects.contains(&Effect::Delivered {
        message_id: entry.message_id.clone()
    }));
    assert!(state.unsent.is_empty());
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
        Action::Published {
            message_id: entry.message_id,
            result: Err(crate::realtime::ClientError::Refused(
                crate::protocol::ErrorInfo::new(40160, 401, "refused"),
            )),
        },
    );
    assert_eq!(
        state.conversations[&id("1")].waiting_since_ms,
        Some(T0 - 60_000)
    );
}

#[test]
fn late_suggestions_for_another_conversation_are_not_shown() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    update(&mut state, customer("2", "m2", "b", T0));
    open(&mut state, "2");
    update(
        &mut state,
        Action::Suggestions {
            channel: "conversation:1".into(),
            replies: vec!["for one".into()],
            from_web_app: true,
        },
    );
    assert_eq!(state.suggestions, None);
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

#[test]
fn pasted_text_goes_into_the_composer_cleaned() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    open(&mut state, "1");
    update(
        &mut state,
        Action::Paste("ignored outside the composer".into()),
    );
    assert!(state.composer.is_empty());
    command(&mut state, Command::FocusComposer);
    update(&mut state, Action::Paste("pasted\u{1b}[2J text".into()));
    assert_eq!(state.composer.lines().join("\n"), "pasted text");
}
