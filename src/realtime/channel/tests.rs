use super::*;

fn attached(flags: u64, serial: &str) -> ChannelInput {
    ChannelInput::Attached {
        flags,
        serial: Some(serial.into()),
        error: None,
    }
}

fn attached_state(effects: &[ChannelEffect]) -> Option<(ChannelState, bool)> {
    effects.iter().find_map(|effect| match effect {
        ChannelEffect::StateChanged { state, resumed, .. } => Some((*state, *resumed)),
        _ => None,
    })
}

/// UTS: RTL4i.
#[test]
fn waits_for_the_connection_before_attaching() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    let effects = machine.handle(ChannelInput::Attach);
    assert_eq!(machine.state(), ChannelState::Attaching);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, ChannelEffect::SendAttach { .. }))
    );
    let effects = machine.handle(ChannelInput::ConnectionConnected);
    assert!(effects.contains(&ChannelEffect::SendAttach {
        channel_serial: None,
        params: None
    }));
}

/// UTS: RTL3d, RTL4c1, RTL4k.
#[test]
fn first_attach_sends_rewind_then_reattach_sends_the_serial() {
    let mut machine = ChannelMachine::new(AttachOptions {
        rewind: Some("20".into()),
    });
    machine.handle(ChannelInput::ConnectionConnected);
    let effects = machine.handle(ChannelInput::Attach);
    let rewind = BTreeMap::from([("rewind".to_owned(), "20".to_owned())]);
    assert!(effects.contains(&ChannelEffect::SendAttach {
        channel_serial: None,
        params: Some(rewind)
    }));
    machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    assert!(machine.accepts_messages());
    machine.record_serial(Some("e:5"));
    machine.handle(ChannelInput::ConnectionLost);
    let effects = machine.handle(ChannelInput::ConnectionConnected);
    assert!(effects.contains(&ChannelEffect::SendAttach {
        channel_serial: Some("e:5".into()),
        params: None
    }));
    assert!(
        !machine.accepts_messages(),
        "messages wait for the new ATTACHED"
    );
    let effects = machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:5"));
    assert_eq!(
        attached_state(&effects),
        Some((ChannelState::Attached, true))
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, ChannelEffect::FillGap { .. }))
    );
}

/// UTS: RTL15c.
#[test]
fn lost_continuity_asks_for_a_gap_fill_and_presence_reentry() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    machine.record_message_time(Some(1_000));
    machine.record_serial(Some("e:3"));
    machine.handle(ChannelInput::ConnectionLost);
    machine.handle(ChannelInput::ConnectionConnected);
    let effects = machine.handle(attached(flags::SUBSCRIBE, "f:9"));
    assert!(effects.contains(&ChannelEffect::FillGap {
        since_ms: Some(1_000),
        until_serial: Some("f:9".into())
    }));
    assert!(effects.contains(&ChannelEffect::ReEnterPresence));
    assert!(effects.contains(&ChannelEffect::ClearPresence));
    assert_eq!(machine.attach_serial(), Some("f:9"));
}

/// UTS: RTL14, RTL4f.
#[test]
fn errors_fail_the_channel_and_timeouts_suspend_it() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    let effects = machine.handle(ChannelInput::AttachTimedOut);
    assert_eq!(machine.state(), ChannelState::Suspended);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, ChannelEffect::RetryIn(_)))
    );
    let effects = machine.handle(ChannelInput::RetryDue);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, ChannelEffect::SendAttach { .. }))
    );
    let denied = ErrorInfo::new(40160, 401, "denied");
    let effects = machine.handle(ChannelInput::Error(denied.clone()));
    assert_eq!(machine.state(), ChannelState::Failed);
    assert!(effects.contains(&ChannelEffect::StateChanged {
        state: ChannelState::Failed,
        resumed: false,
        reason: Some(denied)
    }));
}

/// UTS: RTL13a, RTL15b, RTL5d.
#[test]
fn unsolicited_detached_reattaches_and_detach_completes() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    let effects = machine.handle(ChannelInput::Detached { error: None });
    assert!(effects.iter().any(|e| matches!(
        e,
        ChannelEffect::SendAttach {
            channel_serial: Some(_),
            ..
        }
    )));
    machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:1"));
    let effects = machine.handle(ChannelInput::Detach);
    assert!(effects.contains(&ChannelEffect::SendDetach));
    machine.handle(ChannelInput::Detached { error: None });
    assert_eq!(machine.state(), ChannelState::Detached);
}

#[test]
fn recent_ids_remember_a_bounded_window() {
    let mut recent = RecentIds::default();
    assert!(recent.insert("a"));
    assert!(!recent.insert("a"));
    for index in 0..RecentIds::CAPACITY {
        recent.insert(&index.to_string());
    }
    assert!(!recent.contains("a"));
}

fn connected_attaching() -> ChannelMachine {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    machine
}

fn sends_attach(effects: &[ChannelEffect]) -> bool {
    effects
        .iter()
        .any(|effect| matches!(effect, ChannelEffect::SendAttach { .. }))
}

fn retry_delay(effects: &[ChannelEffect]) -> Option<Duration> {
    effects.iter().find_map(|effect| match effect {
        ChannelEffect::RetryIn(delay) => Some(*delay),
        _ => None,
    })
}

#[test]
fn rtl13b_detached_while_attaching_suspends_and_retries_later_not_at_once() {
    let mut machine = connected_attaching();
    let refused = ErrorInfo::new(91000, 400, "try later");
    let effects = machine.handle(ChannelInput::Detached {
        error: Some(refused.clone()),
    });
    assert_eq!(machine.state(), ChannelState::Suspended);
    assert!(!sends_attach(&effects), "no ATTACH straight back");
    let first = retry_delay(&effects).expect("a retry is planned");
    assert!(
        first >= Duration::from_secs(7),
        "about the channel retry timeout: {first:?}"
    );
    assert!(effects.iter().any(|effect| matches!(
        effect,
        ChannelEffect::StateChanged { state: ChannelState::Suspended, reason: Some(reason), .. } if *reason == refused
    )));
    // The retry attaches again; a second refusal waits longer.
    let effects = machine.handle(ChannelInput::RetryDue);
    assert_eq!(machine.state(), ChannelState::Attaching);
    assert!(sends_attach(&effects));
    let effects = machine.handle(ChannelInput::Detached { error: None });
    let second = retry_delay(&effects).expect("another retry");
    assert!(
        second >= first / 2,
        "backoff does not shrink: {first:?} then {second:?}"
    );
}

#[test]
fn rtl13b_a_server_answering_every_attach_with_detached_gets_one_attach_per_retry() {
    let mut machine = connected_attaching();
    let mut attaches = 1;
    // The server answers each ATTACH with DETACHED; time passes only when a retry fires.
    for retry in 0..3 {
        let mut pending = 1;
        while pending > 0 {
            pending -= 1;
            let effects = machine.handle(ChannelInput::Detached { error: None });
            let sent = effects
                .iter()
                .filter(|e| matches!(e, ChannelEffect::SendAttach { .. }))
                .count();
            attaches += sent;
            pending += sent;
            assert!(attaches < 100, "a tight loop of ATTACH frames");
        }
        assert_eq!(machine.state(), ChannelState::Suspended, "retry {retry}");
        let effects = machine.handle(ChannelInput::RetryDue);
        attaches += effects
            .iter()
            .filter(|e| matches!(e, ChannelEffect::SendAttach { .. }))
            .count();
    }
    assert_eq!(attaches, 4, "the first attach and one per retry");
}

#[test]
fn rtl13a_detached_while_attached_or_suspended_attaches_again_at_once() {
    let mut machine = connected_attaching();
    machine.handle(attached(0, "s1"));
    let effects = machine.handle(ChannelInput::Detached { error: None });
    assert_eq!(machine.state(), ChannelState::Attaching);
    assert!(sends_attach(&effects));
    machine.handle(ChannelInput::AttachTimedOut);
    assert_eq!(machine.state(), ChannelState::Suspended);
    let effects = machine.handle(ChannelInput::Detached { error: None });
    assert_eq!(machine.state(), ChannelState::Attaching);
    assert!(sends_attach(&effects));
}

#[test]
fn rtl4f_an_attach_timeout_suspends_and_retries() {
    let mut machine = connected_attaching();
    let effects = machine.handle(ChannelInput::AttachTimedOut);
    assert_eq!(machine.state(), ChannelState::Suspended);
    assert!(retry_delay(&effects).is_some());
    assert!(!sends_attach(&effects));
}

/// UTS: RTL2g.
#[test]
fn rtl12_an_extra_attached_without_resumed_is_an_update_and_a_gap_fill() {
    let mut machine = connected_attaching();
    machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    machine.record_message_time(Some(2_000));
    machine.record_serial(Some("e:4"));
    let effects = machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:4"));
    assert_eq!(
        attached_state(&effects),
        None,
        "continuity kept: nothing to tell"
    );
    let effects = machine.handle(attached(flags::SUBSCRIBE, "g:1"));
    assert_eq!(
        attached_state(&effects),
        Some((ChannelState::Attached, false)),
        "an UPDATE: still attached, not resumed"
    );
    assert!(effects.contains(&ChannelEffect::FillGap {
        since_ms: Some(2_000),
        until_serial: Some("g:1".into())
    }));
    assert_eq!(machine.state(), ChannelState::Attached);
}

#[test]
fn rtp17i_presence_is_entered_again_on_every_attached_but_a_resumed_extra_one() {
    let mut machine = connected_attaching();
    let effects = machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    assert!(
        !effects.contains(&ChannelEffect::ReEnterPresence),
        "the first attach: the app enters"
    );
    let effects = machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:1"));
    assert!(
        !effects.contains(&ChannelEffect::ReEnterPresence),
        "still attached and resumed: nothing to do"
    );
    machine.handle(ChannelInput::ConnectionLost);
    machine.handle(ChannelInput::ConnectionConnected);
    let effects = machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:1"));
    assert!(
        effects.contains(&ChannelEffect::ReEnterPresence),
        "re-attached after a reconnect, even resumed"
    );
    let effects = machine.handle(attached(flags::SUBSCRIBE, "f:1"));
    assert!(
        effects.contains(&ChannelEffect::ReEnterPresence),
        "continuity lost"
    );
}

#[test]
fn rtn19b_a_channel_still_detaching_at_reconnect_asks_again() {
    let mut machine = connected_attaching();
    machine.handle(attached(0, "e:1"));
    let effects = machine.handle(ChannelInput::Detach);
    assert!(effects.contains(&ChannelEffect::SendDetach));
    machine.handle(ChannelInput::ConnectionLost);
    let effects = machine.handle(ChannelInput::ConnectionConnected);
    assert_eq!(machine.state(), ChannelState::Detaching);
    assert_eq!(
        effects,
        [ChannelEffect::SendDetach],
        "DETACH again, and no ATTACH"
    );
    machine.handle(ChannelInput::Detached { error: None });
    assert_eq!(machine.state(), ChannelState::Detached);
}

#[test]
fn a_polled_channel_fills_the_gap_from_its_last_polled_message_on_its_next_attached() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::Attach);
    machine.record_message_time(Some(4_000));
    machine.record_polled();
    machine.handle(ChannelInput::ConnectionConnected);
    // Resumed or not: polling is not what the server's continuity covers.
    let effects = machine.handle(attached(flags::RESUMED, "s-1"));
    assert!(effects.contains(&ChannelEffect::FillGap {
        since_ms: Some(4_000),
        until_serial: Some("s-1".into()),
    }));
    let again = machine.handle(attached(flags::RESUMED, "s-2"));
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, ChannelEffect::FillGap { .. })),
        "once: continuity holds from there"
    );
}
