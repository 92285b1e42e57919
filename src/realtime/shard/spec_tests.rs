//! A connection's task held to Ably's spec items one by one (named by their ids): frames in
//! as the server would send them, frames out as recorded.

use std::time::Duration;

use super::testing::{Harness, connected};
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
