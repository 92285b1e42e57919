//! A connection's task held to Ably's spec items one by one (named by their ids): frames in
//! as the server would send them, frames out as recorded.

use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::testing::{Harness, connected, connection_states};
use super::timers::Timer;
use crate::protocol::{ErrorInfo, Message, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::{ConnectionState, Input};
use crate::realtime::types::{ClientError, NetEvent};

pub(super) const CHANNEL: &str = "conversation:1";

fn sent_messages(harness: &mut Harness) -> Vec<ProtocolMessage> {
    harness
        .sent()
        .into_iter()
        .filter(|frame| frame.action == ProtocolAction::Message)
        .collect()
}

fn delivered(harness: &mut Harness) -> Vec<Message> {
    harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            NetEvent::Message { message, .. } => Some(Message {
                id: Some(message.id),
                connection_id: message.connection_id,
                timestamp: message.timestamp,
                ..Message::default()
            }),
            _ => None,
        })
        .collect()
}

pub(super) fn ack(serial: i64, count: u64, serials: &[&str]) -> ProtocolMessage {
    let mut frame = ProtocolMessage::new(ProtocolAction::Ack);
    frame.msg_serial = Some(serial);
    frame.count = Some(count);
    frame.res = Some(vec![crate::protocol::PublishResult {
        serials: serials.iter().map(|s| Some((*s).to_owned())).collect(),
    }]);
    frame
}

/// UTS: TM2a, TM2c, TM2f.
#[tokio::test]
async fn tm2c_tm2f_connection_id_and_timestamp_come_from_the_frame_unless_the_message_has_its_own()
{
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness.events();
    let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(CHANNEL);
    frame.id = Some("frame-1".into());
    frame.connection_id = Some("conn-frame".into());
    frame.timestamp = Some(1_000);
    frame.messages = Some(vec![
        Message::default(),
        Message {
            id: Some("own".into()),
            connection_id: Some("conn-own".into()),
            timestamp: Some(2_000),
            ..Message::default()
        },
    ]);
    harness.server(frame).await;
    let messages = delivered(&mut harness);
    let fields: Vec<_> = messages
        .iter()
        .map(|m| (m.id.clone(), m.connection_id.clone(), m.timestamp))
        .collect();
    assert_eq!(
        fields,
        [
            (
                Some("frame-1:0".into()),
                Some("conn-frame".into()),
                Some(1_000)
            ),
            (Some("own".into()), Some("conn-own".into()), Some(2_000)),
        ]
    );
}

#[tokio::test]
async fn rtl7a_several_messages_in_one_frame_are_delivered_in_order() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness.events();
    let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(CHANNEL);
    frame.id = Some("f".into());
    frame.messages = Some(vec![
        Message::default(),
        Message::default(),
        Message::default(),
    ]);
    harness.server(frame).await;
    assert_eq!(harness.message_ids(), ["f:0", "f:1", "f:2"]);
}

#[tokio::test]
async fn rtl6j_each_publish_takes_the_next_msg_serial_and_its_ack_gives_one_serial_per_message() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let first = harness.publish(CHANNEL, "m1").await;
    let _second = harness.publish(CHANNEL, "m2").await;
    let serials: Vec<_> = sent_messages(&mut harness)
        .iter()
        .map(|frame| frame.msg_serial)
        .collect();
    assert_eq!(serials, [Some(0), Some(1)]);
    harness.server(ack(0, 1, &["s:0"])).await;
    let ack = first.await.expect("answered").expect("acknowledged");
    assert_eq!(ack.serials, [Some("s:0".to_owned())]);
}

/// UTS: RTL6j.
#[tokio::test]
async fn rtl6i2_an_array_of_messages_goes_in_one_frame() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let (reply, outcome) = tokio::sync::oneshot::channel();
    let messages = ["a", "b"]
        .iter()
        .map(|id| Message {
            id: Some((*id).to_owned()),
            ..Message::default()
        })
        .collect();
    harness
        .shard
        .request(super::ShardRequest::Publish {
            channel: CHANNEL.into(),
            messages,
            reply,
        })
        .await;
    let frames = sent_messages(&mut harness);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].messages.as_ref().map(Vec::len), Some(2));
    harness.server(ack(0, 1, &["s:0", "s:1"])).await;
    let ack = outcome.await.expect("answered").expect("acknowledged");
    assert_eq!(ack.serials.len(), 2, "one serial per message (batch)");
}

/// UTS: RTL6c5.
#[tokio::test]
async fn rtl6c1_a_publish_while_the_channel_attaches_goes_at_once_and_rtl6c5_attaches_nothing() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attach(CHANNEL).await;
    harness.sent();
    let _pending = harness.publish(CHANNEL, "m1").await;
    let _other = harness.publish("conversation:2", "m2").await;
    let frames = harness.sent();
    let actions: Vec<_> = frames.iter().map(|frame| frame.action).collect();
    assert_eq!(
        actions,
        [ProtocolAction::Message, ProtocolAction::Message],
        "sent at once, and no ATTACH for the channel never attached"
    );
}

#[tokio::test]
async fn rtl6c2_a_publish_before_connecting_is_queued_until_connected() {
    let mut harness = Harness::new();
    let _pending = harness.publish(CHANNEL, "early").await;
    assert!(harness.sent().is_empty(), "initialized: queued");
    harness.shard.connection(Input::Connect).await;
    harness.server(connected("c1")).await;
    let frames = sent_messages(&mut harness);
    assert_eq!(frames.len(), 1);
}

#[tokio::test]
async fn rtn7e_every_pending_publish_fails_with_the_reason_the_connection_failed() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let first = harness.publish(CHANNEL, "m1").await;
    let second = harness.publish(CHANNEL, "m2").await;
    let fatal = ErrorInfo::new(40101, 401, "key revoked");
    harness.shard.connection(Input::Error(fatal)).await;
    for outcome in [first, second] {
        match outcome.await.expect("answered") {
            Err(ClientError::Refused(reason)) => assert_eq!(reason.code, 40101),
            other => panic!("expected the failure's reason, got {other:?}"),
        }
    }
}

/// UTS: RTN7e.
#[tokio::test]
async fn rtl6c4_a_publish_on_a_closed_connection_is_refused_and_pending_ones_fail() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let pending = harness.publish(CHANNEL, "m1").await;
    harness.shard.connection(Input::Close).await;
    harness
        .server(ProtocolMessage::new(ProtocolAction::Closed))
        .await;
    assert!(matches!(
        pending.await.expect("answered"),
        Err(ClientError::Refused(reason)) if reason.code == 80017
    ));
    let after = harness.publish(CHANNEL, "m2").await;
    assert!(matches!(
        after.await.expect("answered"),
        Err(ClientError::Refused(_))
    ));
}

#[tokio::test]
async fn rtn19a2_a_resumed_connection_resends_with_the_same_serials_and_a_new_one_renumbers() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let _first = harness.publish(CHANNEL, "m1").await;
    let _second = harness.publish(CHANNEL, "m2").await;
    harness.sent();
    harness.server(ack(0, 1, &["s:0"])).await;
    let dropped = ErrorInfo::new(80003, 400, "dropped");
    harness.shard.connection(Input::Lost(dropped.clone())).await;
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c1")).await;
    let resent: Vec<_> = sent_messages(&mut harness)
        .iter()
        .map(|frame| frame.msg_serial)
        .collect();
    assert_eq!(resent, [Some(1)], "resumed: the same serial");
    harness.shard.connection(Input::Lost(dropped)).await;
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c9")).await;
    let renumbered: Vec<_> = sent_messages(&mut harness)
        .iter()
        .map(|frame| frame.msg_serial)
        .collect();
    assert_eq!(renumbered, [Some(0)], "a new connection: numbered afresh");
}

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
    let updates: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            NetEvent::Connection { state, reason, .. } => {
                Some((*state, reason.as_ref().map(|r| r.code)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(updates, [(ConnectionState::Connected, Some(40142))]);
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
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c1")).await;
    let attach = harness
        .sent()
        .into_iter()
        .find(|frame| frame.action == ProtocolAction::Attach)
        .expect("attached again");
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

#[tokio::test]
async fn rtl6c4_a_publish_on_a_suspended_connection_is_refused_at_once() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let now = std::time::Instant::now();
    let dropped = || Input::Lost(ErrorInfo::new(80003, 400, "dropped"));
    harness.shard.machine.handle(dropped(), now, 0.0);
    harness.shard.machine.handle(Input::RetryDue, now, 0.0);
    // Still unreachable past the connection state TTL (120 s): suspended.
    harness
        .shard
        .machine
        .handle(dropped(), now + Duration::from_secs(121), 0.0);
    assert_eq!(harness.shard.machine.state(), ConnectionState::Suspended);
    let refused = harness.publish(CHANNEL, "m1").await;
    assert!(matches!(
        refused.await.expect("answered"),
        Err(ClientError::Refused(reason)) if reason.message.contains("suspended")
    ));
}
