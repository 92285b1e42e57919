//! The channel machine held to Ably's spec items one by one (named by their ids), beside the
//! behaviour tests in `tests.rs`.

use super::*;

fn attached(flags: u64, serial: &str) -> ChannelInput {
    ChannelInput::Attached {
        flags,
        serial: Some(serial.into()),
        error: None,
    }
}

fn error(code: u32) -> ErrorInfo {
    ErrorInfo::new(code, 400, "refused")
}

/// Connected and attached, with the channel serial `e:1`.
fn attached_machine() -> ChannelMachine {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    machine
}

fn sent_attach(effects: &[ChannelEffect]) -> Option<Option<String>> {
    effects.iter().find_map(|effect| match effect {
        ChannelEffect::SendAttach { channel_serial, .. } => Some(channel_serial.clone()),
        _ => None,
    })
}

fn states(effects: &[ChannelEffect]) -> Vec<ChannelState> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            ChannelEffect::StateChanged { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

/// UTS: RTL2g.
#[test]
fn rtl4a_attach_when_attached_does_nothing_and_rtl2g_says_nothing() {
    let mut machine = attached_machine();
    assert!(machine.handle(ChannelInput::Attach).is_empty());
    assert_eq!(machine.state(), ChannelState::Attached);
}

#[test]
fn rtl4h_attach_while_attaching_sends_no_second_attach() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    assert!(machine.handle(ChannelInput::Attach).is_empty());
}

#[test]
fn rtl4g_attach_from_failed_starts_over_without_the_old_error() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::Error(error(40160)));
    assert_eq!(machine.state(), ChannelState::Failed);
    assert!(machine.error_reason().is_some());
    let effects = machine.handle(ChannelInput::Attach);
    assert_eq!(states(&effects), [ChannelState::Attaching]);
    assert_eq!(sent_attach(&effects), Some(None), "no serial from before");
    assert_eq!(machine.error_reason(), None);
}

#[test]
fn rtl3e_a_lost_connection_leaves_attached_and_attaching_channels_as_they_are() {
    let mut machine = attached_machine();
    assert!(machine.handle(ChannelInput::ConnectionLost).is_empty());
    assert_eq!(machine.state(), ChannelState::Attached);
    let mut attaching = ChannelMachine::new(AttachOptions::default());
    attaching.handle(ChannelInput::ConnectionConnected);
    attaching.handle(ChannelInput::Attach);
    assert!(attaching.handle(ChannelInput::ConnectionLost).is_empty());
    assert_eq!(attaching.state(), ChannelState::Attaching);
}

#[test]
fn rtl3a_a_failed_connection_fails_attached_and_attaching_channels_only() {
    let reason = error(40101);
    let mut machine = attached_machine();
    let effects = machine.handle(ChannelInput::ConnectionFailed(reason.clone()));
    assert_eq!(states(&effects), [ChannelState::Failed]);
    assert_eq!(machine.error_reason(), Some(&reason));
    let mut attaching = ChannelMachine::new(AttachOptions::default());
    attaching.handle(ChannelInput::Attach);
    attaching.handle(ChannelInput::ConnectionFailed(reason.clone()));
    assert_eq!(attaching.state(), ChannelState::Failed);
    let mut initialized = ChannelMachine::new(AttachOptions::default());
    assert!(
        initialized
            .handle(ChannelInput::ConnectionFailed(reason))
            .is_empty(),
        "other states are unaffected"
    );
    assert_eq!(initialized.state(), ChannelState::Initialized);
}

#[test]
fn rtl3b_a_closed_connection_detaches_attached_and_attaching_channels() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::ConnectionClosed);
    assert_eq!(machine.state(), ChannelState::Detached);
    let mut attaching = ChannelMachine::new(AttachOptions::default());
    attaching.handle(ChannelInput::Attach);
    attaching.handle(ChannelInput::ConnectionClosed);
    assert_eq!(attaching.state(), ChannelState::Detached);
}

#[test]
fn rtl3c_a_suspended_connection_suspends_attached_and_attaching_channels() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::ConnectionSuspended);
    assert_eq!(machine.state(), ChannelState::Suspended);
    let mut attaching = ChannelMachine::new(AttachOptions::default());
    attaching.handle(ChannelInput::Attach);
    attaching.handle(ChannelInput::ConnectionSuspended);
    assert_eq!(attaching.state(), ChannelState::Suspended);
}

#[test]
fn rtl3d_suspended_channels_attach_again_when_connected_and_idle_ones_do_not() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::ConnectionSuspended);
    let effects = machine.handle(ChannelInput::ConnectionConnected);
    assert_eq!(states(&effects), [ChannelState::Attaching]);
    assert_eq!(sent_attach(&effects), Some(Some("e:1".into())));
    let mut initialized = ChannelMachine::new(AttachOptions::default());
    assert!(
        initialized
            .handle(ChannelInput::ConnectionConnected)
            .is_empty()
    );
    let mut detached = attached_machine();
    detached.handle(ChannelInput::ConnectionLost);
    detached.handle(ChannelInput::Detach);
    assert_eq!(detached.state(), ChannelState::Detached);
    assert!(
        detached
            .handle(ChannelInput::ConnectionConnected)
            .is_empty()
    );
}

#[test]
fn rtl5a_detaching_an_initialized_or_detached_channel_does_nothing() {
    let mut initialized = ChannelMachine::new(AttachOptions::default());
    assert!(initialized.handle(ChannelInput::Detach).is_empty());
    let mut detached = attached_machine();
    detached.handle(ChannelInput::Detach);
    detached.handle(ChannelInput::Detached { error: None });
    assert_eq!(detached.state(), ChannelState::Detached);
    assert!(detached.handle(ChannelInput::Detach).is_empty());
}

#[test]
fn rtl5i_detach_while_detaching_sends_no_second_detach() {
    let mut machine = attached_machine();
    let first = machine.handle(ChannelInput::Detach);
    assert!(first.contains(&ChannelEffect::SendDetach));
    assert!(machine.handle(ChannelInput::Detach).is_empty());
}

#[test]
fn rtl5j_detaching_a_suspended_channel_detaches_it_at_once() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::ConnectionSuspended);
    let effects = machine.handle(ChannelInput::Detach);
    assert_eq!(states(&effects), [ChannelState::Detached]);
    assert!(!effects.contains(&ChannelEffect::SendDetach));
}

#[test]
fn rtl5l_detaching_without_a_connection_detaches_at_once() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::ConnectionLost);
    let effects = machine.handle(ChannelInput::Detach);
    assert_eq!(states(&effects), [ChannelState::Detached]);
    assert!(!effects.contains(&ChannelEffect::SendDetach));
}

#[test]
fn rtl5k_an_attached_while_detaching_is_answered_with_detach() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::Detach);
    let effects = machine.handle(attached(flags::SUBSCRIBE, "e:2"));
    assert_eq!(effects, [ChannelEffect::SendDetach]);
    assert_eq!(machine.state(), ChannelState::Detaching);
}

#[test]
fn rtl14_an_error_while_detaching_completes_it_as_failed() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::Detach);
    let effects = machine.handle(ChannelInput::Error(error(90000)));
    assert_eq!(states(&effects), [ChannelState::Failed]);
}

#[test]
fn rtl15c_the_attach_serial_comes_from_a_non_resumed_attached_only() {
    let mut machine = attached_machine();
    assert_eq!(machine.attach_serial(), Some("e:1"));
    machine.handle(ChannelInput::ConnectionLost);
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:7"));
    assert_eq!(
        machine.attach_serial(),
        Some("e:1"),
        "not from a resumed one"
    );
    // A server-initiated re-attachment without continuity.
    machine.handle(ChannelInput::Detached { error: None });
    machine.handle(attached(flags::SUBSCRIBE, "f:1"));
    assert_eq!(machine.attach_serial(), Some("f:1"));
}

/// UTS: RTL15b1.
#[test]
fn rtl15b_the_channel_serial_follows_frames_that_carry_one_and_rtl15b1_goes_on_detach_or_fail() {
    let mut machine = attached_machine();
    machine.record_serial(Some("e:9"));
    machine.record_serial(None);
    machine.handle(ChannelInput::ConnectionLost);
    let effects = machine.handle(ChannelInput::ConnectionConnected);
    assert_eq!(
        sent_attach(&effects),
        Some(Some("e:9".into())),
        "kept when a frame has none"
    );
    machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:9"));
    machine.handle(ChannelInput::Detach);
    machine.handle(ChannelInput::Detached { error: None });
    let effects = machine.handle(ChannelInput::Attach);
    assert_eq!(sent_attach(&effects), Some(None), "cleared after DETACHED");
    machine.handle(attached(flags::SUBSCRIBE, "g:1"));
    machine.record_serial(Some("g:4"));
    machine.handle(ChannelInput::Error(error(90000)));
    let effects = machine.handle(ChannelInput::Attach);
    assert_eq!(sent_attach(&effects), Some(None), "cleared after FAILED");
}

#[test]
fn rtl13c_a_channel_retry_waits_while_there_is_no_connection() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    machine.handle(ChannelInput::Detached { error: None });
    assert_eq!(machine.state(), ChannelState::Suspended);
    machine.handle(ChannelInput::ConnectionLost);
    assert!(machine.handle(ChannelInput::RetryDue).is_empty());
    assert_eq!(machine.state(), ChannelState::Suspended);
}

#[test]
fn rtl12_an_update_without_an_error_carries_no_reason() {
    let mut machine = attached_machine();
    let effects = machine.handle(attached(flags::SUBSCRIBE, "h:1"));
    let reasons: Vec<_> = effects
        .iter()
        .filter_map(|effect| match effect {
            ChannelEffect::StateChanged { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [None]);
}

#[test]
fn rtl17_messages_count_only_while_attached() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    assert!(!machine.accepts_messages(), "attaching");
    machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    assert!(machine.accepts_messages());
    machine.handle(ChannelInput::ConnectionSuspended);
    assert!(!machine.accepts_messages(), "suspended");
}

#[test]
fn rtb1_a_suspended_channel_retries_after_the_channel_retry_timeout_with_backoff() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    let mut delays = Vec::new();
    for _ in 0..5 {
        machine.handle(ChannelInput::Attach);
        let effects = machine.handle(ChannelInput::Detached { error: None });
        delays.extend(effects.iter().filter_map(|effect| match effect {
            ChannelEffect::RetryIn(delay) => Some(*delay),
            _ => None,
        }));
    }
    assert_eq!(delays.len(), 5);
    let secs: Vec<f64> = delays
        .iter()
        .map(std::time::Duration::as_secs_f64)
        .collect();
    assert!(
        (12.0..=15.0).contains(&secs[0]),
        "15 s less jitter: {secs:?}"
    );
    assert!(
        (24.0..=30.0).contains(&secs[4]),
        "capped at twice: {secs:?}"
    );
}

#[test]
fn rtl5f_a_detach_that_times_out_returns_to_where_it_started_and_says_why() {
    let mut machine = attached_machine();
    let effects = machine.handle(ChannelInput::Detach);
    assert!(effects.contains(&ChannelEffect::StartDetachTimer));
    let effects = machine.handle(ChannelInput::DetachTimedOut);
    assert_eq!(states(&effects), [ChannelState::Attached]);
    assert_eq!(machine.error_reason().map(|e| e.code), Some(90007));
    assert!(
        machine.handle(ChannelInput::DetachTimedOut).is_empty(),
        "only while detaching"
    );
}

#[test]
fn rtl2a_every_change_of_state_is_told_once() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    let mut told = Vec::new();
    let mut seen = vec![machine.state()];
    let inputs = [
        ChannelInput::Attach,
        ChannelInput::ConnectionConnected,
        attached(flags::SUBSCRIBE, "e:1"),
        ChannelInput::ConnectionSuspended,
        ChannelInput::ConnectionConnected,
        attached(flags::SUBSCRIBE, "e:2"),
        ChannelInput::Detach,
        ChannelInput::Detached { error: None },
    ];
    for input in inputs {
        told.extend(states(&machine.handle(input)));
        if seen.last() != Some(&machine.state()) {
            seen.push(machine.state());
        }
    }
    assert_eq!(told, seen[1..]);
}

#[test]
fn rtc7_the_timeouts_default_to_ably_s() {
    let defaults = crate::realtime::connection::Timeouts::default();
    assert_eq!(
        defaults.disconnected_retry,
        std::time::Duration::from_secs(15)
    );
    assert_eq!(defaults.suspended_retry, std::time::Duration::from_secs(30));
    assert_eq!(
        defaults.default_state_ttl,
        std::time::Duration::from_secs(120)
    );
    let key = "app.key:secret".parse().expect("a key");
    let options = crate::realtime::ClientOptions::new(
        url::Url::parse("https://main.realtime.ably.net").expect("a URL"),
        crate::rest::AuthConfig::Key {
            key,
            use_tokens: false,
            token_ttl_ms: None,
        },
    );
    assert_eq!(options.request_timeout, std::time::Duration::from_secs(10));
    assert_eq!(CHANNEL_RETRY_TIMEOUT, std::time::Duration::from_secs(15));
}

#[test]
fn rtl4h_an_attach_asked_while_detaching_follows_the_detach() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::Detach);
    assert!(
        machine.handle(ChannelInput::Attach).is_empty(),
        "nothing while the detach is under way"
    );
    let effects = machine.handle(ChannelInput::Detached { error: None });
    assert_eq!(states(&effects), [ChannelState::Attaching]);
    assert_eq!(sent_attach(&effects), Some(None), "a new attachment");
}

#[test]
fn rtl5i_a_detach_asked_while_attaching_follows_the_attach() {
    let mut machine = ChannelMachine::new(AttachOptions::default());
    machine.handle(ChannelInput::ConnectionConnected);
    machine.handle(ChannelInput::Attach);
    assert!(
        machine.handle(ChannelInput::Detach).is_empty(),
        "nothing while the attach is under way"
    );
    let effects = machine.handle(attached(flags::SUBSCRIBE, "e:1"));
    assert_eq!(
        states(&effects),
        [ChannelState::Attached, ChannelState::Detaching]
    );
    assert!(effects.contains(&ChannelEffect::SendDetach));
}

#[test]
fn rtl5b_detaching_a_failed_channel_is_an_error_that_keeps_the_failure() {
    let mut machine = attached_machine();
    machine.handle(ChannelInput::Error(error(40160)));
    let effects = machine.handle(ChannelInput::Detach);
    let reasons: Vec<_> = effects
        .iter()
        .filter_map(|effect| match effect {
            ChannelEffect::StateChanged { state, reason, .. } => {
                Some((*state, reason.as_ref().map(|r| r.code)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [(ChannelState::Failed, Some(90001))]);
    assert_eq!(machine.state(), ChannelState::Failed);
    assert_eq!(
        machine.error_reason().map(|e| e.code),
        Some(40160),
        "why it failed is kept"
    );
}
