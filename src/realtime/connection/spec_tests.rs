//! The connection machine held to Ably's spec items one by one (named by their ids).

use std::time::{Duration, Instant};

use super::*;

fn connected(id: &str, key: &str) -> Input {
    Input::Connected {
        connection_id: id.into(),
        details: ConnectionDetails {
            connection_key: Some(key.into()),
            connection_state_ttl: Some(120_000),
            ..ConnectionDetails::default()
        },
        error: None,
    }
}

fn token_error() -> ErrorInfo {
    ErrorInfo::new(40142, 401, "token expired")
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

/// A machine that was connected as `c1` and is now reconnecting with its key.
fn resuming(now: Instant) -> ConnectionMachine {
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k1"), now, 0.0);
    machine.handle(Input::Lost(ErrorInfo::new(80003, 400, "dropped")), now, 0.0);
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("k1".into()),
        renew_token: false
    }));
    machine
}

/// UTS: RTN14b.
#[test]
fn rtn15h2_a_token_error_renews_and_a_failed_renewal_disconnects_with_backoff() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k1"), now, 0.0);
    let effects = machine.handle(Input::Error(token_error()), now, 0.0);
    assert!(effects.contains(&Effect::RetryIn(Duration::ZERO)));
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("k1".into()),
        renew_token: true
    }));
    let refused = ErrorInfo::new(80019, 401, "auth server unreachable");
    let effects = machine.handle(
        Input::AuthFailed {
            error: refused,
            fatal: false,
        },
        now,
        0.0,
    );
    assert_eq!(states(&effects), [ConnectionState::Disconnected]);
    let delay = effects.iter().find_map(|effect| match effect {
        Effect::RetryIn(delay) => Some(*delay),
        _ => None,
    });
    assert!(
        delay.is_some_and(|delay| delay >= Duration::from_secs(12)),
        "not a tight loop: {delay:?}"
    );
}

#[test]
fn rtn15j_an_error_without_a_channel_while_connected_fails_the_connection() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k1"), now, 0.0);
    let effects = machine.handle(Input::Error(ErrorInfo::new(50000, 500, "broken")), now, 0.0);
    assert_eq!(states(&effects), [ConnectionState::Failed]);
    assert!(effects.iter().any(|e| matches!(e, Effect::FailChannels(_))));
}

#[test]
fn rtn15e_a_resume_takes_the_new_connection_key() {
    let now = Instant::now();
    let mut machine = resuming(now);
    machine.handle(connected("c1", "k2"), now, 0.0);
    machine.handle(Input::Lost(ErrorInfo::new(80003, 400, "dropped")), now, 0.0);
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("k2".into()),
        renew_token: false
    }));
}

#[test]
fn rtn15c5_a_token_error_during_a_resume_renews_and_tries_the_resume_again() {
    let now = Instant::now();
    let mut machine = resuming(now);
    let effects = machine.handle(Input::Error(token_error()), now, 0.0);
    assert_eq!(states(&effects), [ConnectionState::Disconnected]);
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("k1".into()),
        renew_token: true
    }));
}

#[test]
fn rtn15c4_a_fatal_error_during_a_resume_fails_the_connection() {
    let now = Instant::now();
    let mut machine = resuming(now);
    let effects = machine.handle(
        Input::Error(ErrorInfo::new(40101, 401, "revoked")),
        now,
        0.0,
    );
    assert_eq!(states(&effects), [ConnectionState::Failed]);
}

#[test]
fn rtn14f_a_suspended_connection_keeps_retrying_at_the_suspended_pace() {
    let start = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, start, 0.0);
    let lost = || Input::Lost(ErrorInfo::new(80003, 400, "unreachable"));
    machine.handle(lost(), start, 0.0);
    let mut now = start + Duration::from_secs(121);
    for attempt in 0..10 {
        machine.handle(Input::RetryDue, now, 0.0);
        let effects = machine.handle(lost(), now, 0.0);
        assert_eq!(
            machine.state(),
            ConnectionState::Suspended,
            "attempt {attempt}"
        );
        assert!(effects.contains(&Effect::RetryIn(Duration::from_secs(30))));
        now += Duration::from_secs(30);
    }
}

/// UTS: RSA4d, RTN27b.
#[test]
fn rtn2e_credentials_refused_outright_while_connecting_fail_the_connection() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    let effects = machine.handle(
        Input::AuthFailed {
            error: ErrorInfo::new(40300, 403, "forbidden"),
            fatal: true,
        },
        now,
        0.0,
    );
    assert_eq!(states(&effects), [ConnectionState::Failed]);
}

#[test]
fn rsa4c2_credentials_that_cannot_be_had_while_connecting_disconnect_and_retry() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    let effects = machine.handle(
        Input::AuthFailed {
            error: ErrorInfo::new(80019, 401, "auth URL timed out"),
            fatal: false,
        },
        now,
        0.0,
    );
    assert_eq!(states(&effects), [ConnectionState::Disconnected]);
    assert!(effects.iter().any(|e| matches!(e, Effect::RetryIn(_))));
}

#[test]
fn rtn15g_past_the_state_ttl_the_next_connection_starts_afresh() {
    let now = Instant::now();
    let mut machine = resuming(now);
    let lost = || Input::Lost(ErrorInfo::new(80003, 400, "unreachable"));
    machine.handle(lost(), now + Duration::from_secs(121), 0.0);
    assert_eq!(machine.state(), ConnectionState::Suspended);
    let effects = machine.handle(Input::RetryDue, now + Duration::from_secs(151), 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: None,
        renew_token: false
    }));
}

/// UTS: RTN22a.
#[test]
fn rtn15h2_a_disconnection_for_an_expired_token_reconnects_at_once_with_a_new_one() {
    let now = Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    machine.handle(connected("c1", "k1"), now, 0.0);
    let effects = machine.handle(Input::Lost(token_error()), now, 0.0);
    assert_eq!(states(&effects), [ConnectionState::Disconnected]);
    assert!(effects.contains(&Effect::RetryIn(Duration::ZERO)));
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("k1".into()),
        renew_token: true
    }));
}
