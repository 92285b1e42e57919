//! The composer: typing, quick replies, canned replies, drafts, read-only.

use super::*;

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
            now_ms: T0 + 2_100 + crate::app::update::TYPING_EXPIRY_MS,
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
fn quick_replies_fill_the_composer_for_editing_and_are_announced() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "Rates?", T0));
    open(&mut state, "1");
    update(
        &mut state,
        Action::Suggestions {
            channel: channel_name("conversation:1"),
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
            channel: channel_name("conversation:1"),
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
        channel: channel_name("conversation:1"),
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
fn late_suggestions_for_another_conversation_are_not_shown() {
    let mut state = state();
    update(&mut state, customer("1", "m1", "a", T0));
    update(&mut state, customer("2", "m2", "b", T0));
    open(&mut state, "2");
    update(
        &mut state,
        Action::Suggestions {
            channel: channel_name("conversation:1"),
            replies: vec!["for one".into()],
            from_web_app: true,
        },
    );
    assert_eq!(state.suggestions, None);
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
