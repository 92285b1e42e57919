use super::*;

fn details(key: &str) -> ConnectionDetails {
    ConnectionDetails {
        connection_key: Some(key.into()),
        connection_state_ttl: Some(120_000),
        max_idle_interval: Some(15_000),
        ..ConnectionDetails::default()
    }
}

fn connected(id: &str, key: &str) -> Input {
    Input::Connected {
        connection_id: id.into(),
        details: details(key),
        error: None,
    }
}

fn lost() -> Input {
    Input::Lost(ErrorInfo::new(80003, 400, "dropped"))
}

fn states(effects: &[Effect]) -> Vec<ConnectionState> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::StateChanged { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

#[test]
fn connects_then_resumes_with_the_key_after_a_drop() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    let effects = machine.handle(Input::Connect, now, 0.0);
    assert_eq!(states(&effects), vec![ConnectionState::Connecting]);
    assert!(effects.contains(&Effect::Open {
        resume_key: None,
        renew_token: false
    }));

    let effects = machine.handle(connected("c1", "k1!c1"), now, 0.0);
    assert!(effects.contains(&Effect::Reattach { resumed: false }));
    assert_eq!(
        machine.idle_limit(Duration::from_secs(10)),
        Some(Duration::from_secs(25))
    );

    let effects = machine.handle(lost(), now, 0.0);
    assert_eq!(states(&effects), vec![ConnectionState::Disconnected]);
    assert!(
        effects.contains(&Effect::RetryIn(Duration::ZERO)),
        "immediate retry after a drop"
    );

    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("k1!c1".into()),
        renew_token: false
    }));
    let effects = machine.handle(connected("c1", "k2!c1"), now, 0.0);
    assert!(effects.contains(&Effect::Reattach { resumed: true }));
    assert!(effects.contains(&Effect::Resend { resumed: true }));
}

/// UTS: RTN15c7.
#[test]
fn a_new_connection_id_means_the_resume_failed() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k1!c1"), now, 0.0);
    machine.handle(lost(), now, 0.0);
    machine.handle(Input::RetryDue, now, 0.0);
    let effects = machine.handle(connected("c2", "k!c2"), now, 0.0);
    assert!(effects.contains(&Effect::Reattach { resumed: false }));
    assert!(effects.contains(&Effect::Resend { resumed: false }));
}

/// UTS: RTB1, RTC7, RTN14d, RTN14e, RTN7e.
#[test]
fn failed_attempts_back_off_and_suspend_past_the_ttl() {
    let start = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, start, 0.0);
    let effects = machine.handle(lost(), start, 0.0);
    assert!(effects.contains(&Effect::RetryIn(Duration::from_secs(15))));
    machine.handle(Input::RetryDue, start, 0.0);
    let effects = machine.handle(lost(), start + Duration::from_secs(16), 0.0);
    assert!(effects.contains(&Effect::RetryIn(Duration::from_secs(20))));

    machine.handle(Input::RetryDue, start, 0.0);
    let effects = machine.handle(lost(), start + Duration::from_secs(121), 0.0);
    assert_eq!(states(&effects), vec![ConnectionState::Suspended]);
    assert!(effects.contains(&Effect::SuspendChannels));
    assert!(effects.contains(&Effect::RetryIn(Duration::from_secs(30))));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::FailPending(error) if error.code == 80002))
    );
}

/// UTS: RTN14b.
#[test]
fn token_errors_renew_once_immediately() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    let effects = machine.handle(
        Input::Error(ErrorInfo::new(40142, 401, "expired")),
        now,
        0.0,
    );
    assert_eq!(states(&effects), vec![ConnectionState::Disconnected]);
    assert!(effects.contains(&Effect::RetryIn(Duration::ZERO)));
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: None,
        renew_token: true
    }));
}

/// UTS: RTN14a, RTN14g, RTN7e.
#[test]
fn other_errors_fail_the_connection_and_everything_on_it() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    let error = ErrorInfo::new(40101, 401, "Invalid credentials");
    let effects = machine.handle(Input::Error(error.clone()), now, 0.0);
    assert_eq!(states(&effects), vec![ConnectionState::Failed]);
    assert!(effects.contains(&Effect::FailChannels(error.clone())));
    assert!(effects.contains(&Effect::FailPending(error)));
    // Connecting again starts afresh, without a resume key.
    let effects = machine.handle(Input::Connect, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: None,
        renew_token: false
    }));
}

/// UTS: RTC16.
#[test]
fn close_from_connected_waits_for_closed() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k!c1"), now, 0.0);
    let effects = machine.handle(Input::Close, now, 0.0);
    assert_eq!(
        effects,
        vec![
            Effect::StateChanged {
                state: ConnectionState::Closing,
                reason: None
            },
            Effect::SendClose
        ]
    );
    let effects = machine.handle(Input::Closed, now, 0.0);
    assert_eq!(states(&effects), vec![ConnectionState::Closed]);
    assert!(effects.contains(&Effect::DetachChannels));
}

/// UTS: RTN24.
#[test]
fn connected_again_while_connected_is_an_update() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k!c1"), now, 0.0);
    let effects = machine.handle(connected("c1", "k!c1"), now, 0.0);
    assert_eq!(effects, vec![Effect::Updated { reason: None }]);
    assert_eq!(machine.state(), ConnectionState::Connected);
}
