//! The inbox: order, filter, unread, discovery, connection words.

use super::*;

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
fn discovery_and_lifecycle_attach_new_conversations() {
    let mut state = state();
    let effects = update(
        &mut state,
        Action::Discovered(vec!["conversation:1".into(), "other:2".into()]),
    );
    assert_eq!(
        effects,
        vec![Effect::Attach {
            channel: channel_name("conversation:1")
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
            channel: channel_name("conversation:9")
        }]
    );
    assert!(state.conversations.contains_key(&id("9")));
}

#[test]
fn reconnection_attempts_are_counted_until_connected_again() {
    let mut state = state();
    let connection = |s: ConnectionState| {
        Action::from_net(NetEvent::Connection {
            shard: 0,
            state: s,
            reason: None,
        })
    };
    update(&mut state, connection(ConnectionState::Connecting));
    update(&mut state, connection(ConnectionState::Connected));
    assert_eq!(state.connection_summary(), (ConnectionStatus::Connected, 0));
    update(&mut state, connection(ConnectionState::Disconnected));
    update(&mut state, connection(ConnectionState::Connecting));
    update(&mut state, connection(ConnectionState::Disconnected));
    update(&mut state, connection(ConnectionState::Connecting));
    assert_eq!(
        state.connection_summary(),
        (ConnectionStatus::Connecting, 2)
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
