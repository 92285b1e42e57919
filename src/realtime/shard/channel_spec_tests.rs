//! Channels on a connection's task held to Ably's spec items one by one (named by their
//! ids): serials, pending attaches and detaches, their timers.

use std::time::Duration;

use tokio::time::Instant;

use super::spec_tests::CHANNEL;
use super::testing::{Harness, connected};
use super::timers::Timer;
use crate::protocol::{ErrorInfo, Message, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::Input;
use crate::realtime::types::NetEvent;

/// The connection comes back (resumed, `c1`): the ATTACH the channel sends.
async fn reconnect_and_reattach(harness: &mut Harness) -> ProtocolMessage {
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c1")).await;
    harness
        .sent()
        .into_iter()
        .find(|frame| frame.action == ProtocolAction::Attach)
        .expect("attached again")
}

#[tokio::test]
async fn rtl15b_the_serial_of_a_message_frame_is_the_one_a_reattach_asks_from() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(CHANNEL);
    frame.channel_serial = Some("e:42".into());
    frame.messages = Some(vec![Message::default()]);
    harness.server(frame).await;
    harness.sent();
    let dropped = ErrorInfo::new(80003, 400, "dropped");
    harness.shard.connection(Input::Lost(dropped)).await;
    let attach = reconnect_and_reattach(&mut harness).await;
    assert_eq!(attach.channel_serial.as_deref(), Some("e:42"));
}

#[tokio::test]
async fn rtn19b_an_attach_still_pending_at_reconnect_is_sent_again() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attach(CHANNEL).await;
    let dropped = ErrorInfo::new(80003, 400, "dropped");
    harness.shard.connection(Input::Lost(dropped)).await;
    harness.sent();
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c2")).await;
    let attaches = harness
        .sent()
        .iter()
        .filter(|frame| frame.action == ProtocolAction::Attach)
        .count();
    assert_eq!(attaches, 1);
}

/// UTS: RTC7.
#[tokio::test]
async fn rtl14_a_channel_error_cancels_its_attach_timer() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attach(CHANNEL).await;
    let waiting = harness.timers();
    assert!(
        waiting.contains(&Timer::AttachDeadline(CHANNEL.into())),
        "an attach waits at most the request timeout"
    );
    harness.attach(CHANNEL).await;
    // Timers were taken out above; set again by a fresh attempt, then cancelled by the error.
    harness.shard.set_timer(
        Timer::AttachDeadline(CHANNEL.into()),
        Instant::now() + Duration::from_secs(10),
    );
    harness.fail_channel(CHANNEL).await;
    assert!(
        !harness
            .timers()
            .contains(&Timer::AttachDeadline(CHANNEL.into()))
    );
}

/// UTS: RTL5f.
#[tokio::test]
async fn rtc7_a_detach_waits_at_most_the_request_timeout() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness
        .shard
        .request(super::ShardRequest::Detach {
            channel: CHANNEL.into(),
        })
        .await;
    assert!(
        harness
            .timers()
            .contains(&Timer::DetachDeadline(CHANNEL.into()))
    );
    harness.events();
    harness
        .shard
        .fire_due(Timer::DetachDeadline(CHANNEL.into()))
        .await;
    let back: Vec<_> = harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            NetEvent::Channel { state, reason, .. } => Some((state, reason.map(|r| r.code))),
            _ => None,
        })
        .collect();
    assert_eq!(
        back,
        [(crate::realtime::ChannelState::Attached, Some(90007))]
    );
}

#[tokio::test]
async fn rtl5k_an_attached_for_a_channel_let_go_is_answered_with_detach() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness
        .shard
        .request(super::ShardRequest::Detach {
            channel: CHANNEL.into(),
        })
        .await;
    harness
        .server(ProtocolMessage::new(ProtocolAction::Detached).with_channel(CHANNEL))
        .await;
    harness.sent();
    harness
        .server(ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL))
        .await;
    let sent: Vec<_> = harness
        .sent()
        .into_iter()
        .map(|frame| (frame.action, frame.channel))
        .collect();
    assert_eq!(sent, [(ProtocolAction::Detach, Some(CHANNEL.to_owned()))]);
}

#[tokio::test]
async fn rtl15b_frames_that_carry_no_messages_do_not_move_the_channel_serial() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let mut attached = ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL);
    attached.channel_serial = Some("e:1".into());
    harness.attach(CHANNEL).await;
    harness.server(attached).await;
    let mut heartbeat = ProtocolMessage::new(ProtocolAction::Heartbeat).with_channel(CHANNEL);
    heartbeat.channel_serial = Some("z:9".into());
    harness.server(heartbeat).await;
    let dropped = ErrorInfo::new(80003, 400, "dropped");
    harness.shard.connection(Input::Lost(dropped)).await;
    harness.sent();
    let attach = reconnect_and_reattach(&mut harness).await;
    assert_eq!(attach.channel_serial.as_deref(), Some("e:1"));
}

#[tokio::test]
async fn rtl4b_attaching_on_a_closed_or_failed_connection_is_refused() {
    for end in ["closed", "failed"] {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        if end == "closed" {
            harness.shard.connection(Input::Close).await;
            harness
                .server(ProtocolMessage::new(ProtocolAction::Closed))
                .await;
        } else {
            let fatal = ErrorInfo::new(40101, 401, "revoked");
            harness.shard.connection(Input::Error(fatal)).await;
        }
        harness.events();
        harness.sent();
        harness.attach(CHANNEL).await;
        let refused: Vec<_> = harness
            .events()
            .into_iter()
            .filter_map(|event| match event {
                NetEvent::Channel { state, reason, .. } => Some((state, reason.map(|r| r.code))),
                _ => None,
            })
            .collect();
        assert_eq!(
            refused,
            [(crate::realtime::ChannelState::Failed, Some(80000))],
            "{end}"
        );
        assert!(harness.sent().is_empty(), "{end}: nothing sent");
        assert!(!harness.shard.channels.contains_key(CHANNEL));
    }
}
