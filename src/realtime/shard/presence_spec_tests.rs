//! Presence on a connection's task held to Ably's spec items one by one (named by their
//! ids): presence frames in, presence frames out.

use super::spec_tests::{CHANNEL, ack};
use super::testing::{Harness, connected};
use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::Input;
use crate::realtime::types::{ClientError, NetEvent};

fn presence_events(harness: &mut Harness) -> Vec<crate::protocol::PresenceMessage> {
    harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            NetEvent::Presence { change, .. } => Some(change.member),
            _ => None,
        })
        .collect()
}

/// UTS: TP3d, TP3g.
#[tokio::test]
async fn rtp6_several_presence_messages_in_one_frame_take_the_frame_s_connection_and_time() {
    use crate::protocol::{PresenceAction, PresenceMessage};
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness.events();
    let mut frame = ProtocolMessage::new(ProtocolAction::Presence).with_channel(CHANNEL);
    frame.id = Some("p".into());
    frame.connection_id = Some("conn-frame".into());
    frame.timestamp = Some(5_000);
    let mut own = PresenceMessage::new(PresenceAction::Enter);
    own.client_id = Some("b".into());
    own.connection_id = Some("conn-own".into());
    own.timestamp = Some(6_000);
    let mut bare = PresenceMessage::new(PresenceAction::Enter);
    bare.client_id = Some("a".into());
    frame.presence = Some(vec![bare, own]);
    harness.server(frame).await;
    let seen: Vec<_> = presence_events(&mut harness)
        .into_iter()
        .map(|m| (m.client_id, m.connection_id, m.timestamp))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("a".into()), Some("conn-frame".into()), Some(5_000)),
            (Some("b".into()), Some("conn-own".into()), Some(6_000)),
        ]
    );
}

#[tokio::test]
async fn rtp8g_entering_on_a_failed_or_detached_channel_is_refused() {
    use crate::protocol::PresenceAction;
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness.fail_channel(CHANNEL).await;
    let (reply, outcome) = tokio::sync::oneshot::channel();
    harness
        .shard
        .request(super::ShardRequest::Presence {
            channel: CHANNEL.into(),
            action: PresenceAction::Enter,
            data: None,
            reply,
        })
        .await;
    assert!(matches!(
        outcome.await.expect("answered"),
        Err(ClientError::Refused(reason)) if reason.code == 91001
    ));
}

/// UTS: RTP17g1.
#[tokio::test]
async fn rtp17g_presence_is_entered_again_with_the_same_client_and_data_and_no_id() {
    use crate::protocol::PresenceAction;
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let (reply, _entered) = tokio::sync::oneshot::channel();
    let data = serde_json::json!({"name": "Sam", "viewing": true});
    harness
        .shard
        .request(super::ShardRequest::Presence {
            channel: CHANNEL.into(),
            action: PresenceAction::Enter,
            data: Some(data.clone()),
            reply,
        })
        .await;
    harness.server(ack(0, 1, &[])).await;
    let dropped = ErrorInfo::new(80003, 400, "dropped");
    harness.shard.connection(Input::Lost(dropped)).await;
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c2")).await;
    harness.sent();
    harness
        .server(ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL))
        .await;
    let entered: Vec<_> = harness
        .sent()
        .into_iter()
        .filter(|frame| frame.action == ProtocolAction::Presence)
        .flat_map(|frame| frame.presence.unwrap_or_default())
        .collect();
    assert_eq!(entered.len(), 1);
    assert_eq!(entered[0].action, PresenceAction::Enter);
    assert_eq!(entered[0].id, None, "no id of its own");
    let sent_data =
        crate::protocol::data::decode(entered[0].data.as_ref(), entered[0].encoding.as_deref());
    assert_eq!(
        sent_data.payload,
        crate::protocol::data::Payload::Json(data)
    );
}
