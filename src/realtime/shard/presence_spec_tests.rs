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

/// A member `customer-1` entered on the attached channel.
async fn with_a_member() -> Harness {
    use crate::protocol::{PresenceAction, PresenceMessage};
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let mut frame = ProtocolMessage::new(ProtocolAction::Presence).with_channel(CHANNEL);
    frame.id = Some("p".into());
    frame.connection_id = Some("other".into());
    let mut member = PresenceMessage::new(PresenceAction::Enter);
    member.client_id = Some("customer-1".into());
    frame.presence = Some(vec![member]);
    harness.server(frame).await;
    harness.events();
    harness
}

/// UTS: RTP19a.
#[tokio::test]
async fn rtp1_an_attached_without_has_presence_empties_the_presence_set() {
    let mut harness = with_a_member().await;
    harness
        .server(ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL))
        .await;
    let left: Vec<_> = harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            NetEvent::Presence { change, .. } => Some((change.action, change.member.client_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        left,
        [(
            crate::protocol::PresenceAction::Leave,
            Some("customer-1".into())
        )]
    );
}

#[tokio::test]
async fn rtp5f_a_suspended_channel_keeps_its_presence_set() {
    let mut harness = with_a_member().await;
    harness
        .shard
        .for_each_channel(crate::realtime::channel::ChannelInput::ConnectionSuspended)
        .await;
    let events = harness.events();
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, NetEvent::Presence { .. })),
        "nobody leaves: {events:?}"
    );
    assert_eq!(harness.shard.channels[CHANNEL].presence.len(), 1);
}

#[tokio::test]
async fn rtp8h_an_enter_the_server_refuses_is_answered_with_its_error() {
    use crate::protocol::PresenceAction;
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
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
    let mut nack = ProtocolMessage::new(ProtocolAction::Nack);
    nack.msg_serial = Some(0);
    nack.count = Some(1);
    nack.error = Some(ErrorInfo::new(40160, 401, "no presence capability"));
    harness.server(nack).await;
    assert!(matches!(
        outcome.await.expect("answered"),
        Err(ClientError::Refused(reason)) if reason.code == 40160
    ));
}

#[tokio::test]
async fn rtp5a_a_failed_or_detached_channel_has_nobody_present() {
    let mut harness = with_a_member().await;
    harness.fail_channel(CHANNEL).await;
    let left = harness
        .events()
        .into_iter()
        .filter(|event| {
            matches!(event, NetEvent::Presence { change, .. }
                if change.action == crate::protocol::PresenceAction::Leave)
        })
        .count();
    assert_eq!(left, 1, "failed");
    let mut harness = with_a_member().await;
    harness
        .shard
        .request(super::ShardRequest::Detach {
            channel: CHANNEL.into(),
        })
        .await;
    harness
        .server(ProtocolMessage::new(ProtocolAction::Detached).with_channel(CHANNEL))
        .await;
    let left = harness
        .events()
        .into_iter()
        .filter(|event| {
            matches!(event, NetEvent::Presence { change, .. }
                if change.action == crate::protocol::PresenceAction::Leave)
        })
        .count();
    assert_eq!(left, 1, "detached");
}

#[tokio::test]
async fn rtp8j_entering_without_a_client_id_of_ones_own_is_refused_locally() {
    use crate::protocol::PresenceAction;
    for client_id in [None, Some("*")] {
        let mut harness = Harness::new();
        harness.shard.options = std::sync::Arc::new(crate::realtime::ClientOptions {
            client_id: client_id.map(str::to_owned),
            ..(*harness.shard.options).clone()
        });
        harness.connect("c1").await;
        harness.attached(CHANNEL).await;
        harness.sent();
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
            Err(ClientError::Refused(reason)) if reason.code == 91000
        ));
        assert!(harness.sent().is_empty(), "{client_id:?}: nothing sent");
    }
}

async fn ask_to_enter(
    harness: &mut Harness,
) -> tokio::sync::oneshot::Receiver<Result<(), ClientError>> {
    let (reply, outcome) = tokio::sync::oneshot::channel();
    harness
        .shard
        .request(super::ShardRequest::Presence {
            channel: CHANNEL.into(),
            action: crate::protocol::PresenceAction::Enter,
            data: None,
            reply,
        })
        .await;
    outcome
}

fn presence_frames_sent(harness: &mut Harness) -> usize {
    harness
        .sent()
        .iter()
        .filter(|frame| frame.action == ProtocolAction::Presence)
        .count()
}

/// UTS: RTP5b.
#[tokio::test]
async fn rtp16b_presence_asked_while_attaching_waits_for_the_attachment() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attach(CHANNEL).await;
    let _entering = ask_to_enter(&mut harness).await;
    assert_eq!(
        presence_frames_sent(&mut harness),
        0,
        "held while attaching"
    );
    harness
        .server(ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL))
        .await;
    assert_eq!(presence_frames_sent(&mut harness), 1, "sent once attached");
}

#[tokio::test]
async fn rtl11_presence_waiting_for_an_attachment_fails_if_the_channel_ends_elsewhere() {
    // Suspended (DETACHED in reply to the ATTACH), failed (ERROR), detached (let go).
    for ending in ["suspended", "failed", "detached"] {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attach(CHANNEL).await;
        let entering = ask_to_enter(&mut harness).await;
        match ending {
            "suspended" => {
                harness
                    .server(ProtocolMessage::new(ProtocolAction::Detached).with_channel(CHANNEL))
                    .await
            }
            "failed" => harness.fail_channel(CHANNEL).await,
            _ => {
                // Let go while the connection is down: detached at once.
                let dropped = ErrorInfo::new(80003, 400, "dropped");
                harness.shard.connection(Input::Lost(dropped)).await;
                harness
                    .shard
                    .request(super::ShardRequest::Detach {
                        channel: CHANNEL.into(),
                    })
                    .await;
            }
        }
        match entering.await.expect("answered") {
            Err(ClientError::Refused(reason)) => {
                assert_eq!(reason.code, 91001, "{ending}");
                // "suspended", "failed", "detaching": the channel says where it went.
                let stem = ending.trim_end_matches("ed");
                assert!(
                    reason.message.contains(stem),
                    "{ending}: {}",
                    reason.message
                );
            }
            other => panic!("{ending}: expected a refusal, got {other:?}"),
        }
        assert_eq!(
            presence_frames_sent(&mut harness),
            0,
            "{ending}: never sent"
        );
    }
}

#[tokio::test]
async fn rtl11a_an_ack_for_presence_already_sent_stands_whatever_the_channel_does() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let entering = ask_to_enter(&mut harness).await;
    assert_eq!(presence_frames_sent(&mut harness), 1);
    // The server detaches the channel (it attaches again) before acknowledging.
    harness
        .server(ProtocolMessage::new(ProtocolAction::Detached).with_channel(CHANNEL))
        .await;
    harness.server(ack(0, 1, &[])).await;
    assert_eq!(entering.await.expect("answered"), Ok(()));
}
