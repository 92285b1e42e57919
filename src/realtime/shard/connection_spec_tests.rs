//! A connection's life on its task held to Ably's spec items one by one (named by their
//! ids): timeouts, silence, updates, reauthentication.

use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::spec_tests::CHANNEL;
use super::testing::{Harness, connected, connection_states, token};
use super::timers::Timer;
use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::{ConnectionState, Input};
use crate::realtime::types::NetEvent;

#[tokio::test]
async fn rtn14c_no_connected_in_time_is_a_disconnection_with_a_retry() {
    let mut harness = Harness::new();
    harness.shard.connection(Input::Connect).await;
    assert!(harness.timers().contains(&Timer::ConnectDeadline));
    harness.events();
    harness.shard.fire_due(Timer::ConnectDeadline).await;
    let events = harness.events();
    assert_eq!(connection_states(&events), [ConnectionState::Disconnected]);
    let reason = events.iter().find_map(|event| match event {
        NetEvent::Connection { reason, .. } => reason.clone(),
        _ => None,
    });
    assert_eq!(reason.map(|r| r.status_code), Some(408));
}

#[tokio::test]
async fn rtn23a_any_frame_from_the_server_heartbeats_included_resets_the_idle_timer() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    for frame in [
        ProtocolMessage::new(ProtocolAction::Heartbeat),
        ProtocolMessage::new(ProtocolAction::Ack),
    ] {
        harness.shard.last_activity = Instant::now() - Duration::from_secs(60);
        let text = crate::protocol::encode_frame(&frame);
        harness
            .shard
            .incoming(Some(Ok(WsMessage::Text(text.into()))))
            .await;
        assert!(
            harness.shard.last_activity.elapsed() < Duration::from_secs(5),
            "{:?} counts as activity",
            frame.action
        );
    }
}

/// The UPDATE events among `events`, by their reasons' codes.
fn updates(events: &[NetEvent]) -> Vec<Option<u32>> {
    events
        .iter()
        .filter_map(|event| match event {
            NetEvent::ConnectionUpdated { reason, .. } => Some(reason.as_ref().map(|r| r.code)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn rtc8a1_a_connected_answering_a_reauthentication_is_an_update() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let token = token("fresh", 3_600_000);
    harness
        .shard
        .internal(super::Internal::Renewed(Ok(token)))
        .await;
    harness.events();
    harness.server(connected("c1")).await;
    let events = harness.events();
    assert_eq!(updates(&events), [None]);
    assert!(connection_states(&events).is_empty());
}

#[tokio::test]
async fn rtn24_a_connected_while_connected_is_an_update_with_its_reason_and_new_details() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.events();
    let mut again = connected("c1");
    again.error = Some(ErrorInfo::new(40142, 401, "token expiring"));
    if let Some(details) = again.connection_details.as_mut() {
        details.max_idle_interval = Some(30_000);
    }
    harness.server(again).await;
    let events = harness.events();
    assert_eq!(updates(&events), [Some(40142)]);
    assert!(
        connection_states(&events).is_empty(),
        "an UPDATE, not a second CONNECTED"
    );
    assert_eq!(
        harness.shard.machine.details().max_idle_interval,
        Some(30_000)
    );
}

#[test]
fn rtn15h3_a_disconnection_for_another_reason_than_the_token_reconnects_at_once_resuming() {
    use crate::realtime::connection::{ConnectionMachine, Effect, Timeouts};
    let now = std::time::Instant::now();
    let mut machine = ConnectionMachine::new(Timeouts::default());
    machine.handle(Input::Connect, now, 0.0);
    let details = crate::protocol::ConnectionDetails {
        connection_key: Some("c1-key".into()),
        ..Default::default()
    };
    machine.handle(
        Input::Connected {
            connection_id: "c1".into(),
            details,
            error: None,
        },
        now,
        0.0,
    );
    let lost = ErrorInfo::new(80003, 503, "server going away");
    let effects = machine.handle(Input::Lost(lost), now, 0.0);
    assert!(effects.contains(&Effect::RetryIn(Duration::ZERO)));
    let effects = machine.handle(Input::RetryDue, now, 0.0);
    assert!(effects.contains(&Effect::Open {
        resume_key: Some("c1-key".into()),
        renew_token: false,
    }));
}

#[tokio::test]
async fn rtn23a_silence_past_the_idle_limit_reconnects_at_once_and_resumes() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.events();
    harness.timers();
    // connected(): heartbeats every 15 s; with the 10 s request timeout, 25 s of silence.
    harness.shard.last_activity = Instant::now() - Duration::from_secs(20);
    harness.shard.idle_timer_fired().await;
    assert!(harness.events().is_empty(), "not yet past the limit");
    harness.shard.last_activity = Instant::now() - Duration::from_secs(30);
    harness.shard.idle_timer_fired().await;
    let events = harness.events();
    assert_eq!(connection_states(&events), [ConnectionState::Disconnected]);
    assert!(matches!(
        &events[0],
        NetEvent::Connection { reason: Some(reason), .. } if reason.status_code == 408
    ));
    assert!(harness.timers().contains(&Timer::Retry), "a retry, due now");
    let effects = harness
        .shard
        .machine
        .handle(Input::RetryDue, std::time::Instant::now(), 0.0);
    assert!(
        effects.contains(&crate::realtime::connection::Effect::Open {
            resume_key: Some("c1-key".into()),
            renew_token: false,
        })
    );
}

/// UTS: RTC8a1.
#[tokio::test]
async fn rtc8a2_an_error_answering_a_reauthentication_fails_the_connection() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let token = token("fresh", 3_600_000);
    harness
        .shard
        .internal(super::Internal::Renewed(Ok(token)))
        .await;
    assert!(
        harness
            .sent()
            .iter()
            .any(|frame| frame.action == ProtocolAction::Auth)
    );
    harness.events();
    // The new capability no longer covers the channel: it fails, the connection stays.
    let mut refused = ProtocolMessage::new(ProtocolAction::Error).with_channel(CHANNEL);
    refused.error = Some(ErrorInfo::new(40160, 401, "capability downgraded"));
    harness.server(refused).await;
    let events = harness.events();
    assert!(events.iter().any(|event| matches!(
        event,
        NetEvent::Channel {
            state: crate::realtime::ChannelState::Failed,
            ..
        }
    )));
    assert!(connection_states(&events).is_empty(), "still connected");
    // A refusal of the credentials themselves fails the connection.
    let fatal = ProtocolMessage::new(ProtocolAction::Error).with_error(ErrorInfo::new(
        40101,
        401,
        "credentials refused",
    ));
    harness.server(fatal).await;
    assert_eq!(
        connection_states(&harness.events()),
        [ConnectionState::Failed]
    );
}
