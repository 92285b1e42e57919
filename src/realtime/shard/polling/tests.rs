use tokio::sync::oneshot;

use super::super::testing::{Harness, connected, connection_states};
use super::super::timers::Timer;
use super::super::{Internal, OpenFailure, ShardRequest};
use super::{PollOutcome, PollQuery};
use crate::protocol::{Message, PresenceAction, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::{ConnectionState, Input};
use crate::realtime::types::{ClientError, NetEvent};
use crate::realtime::{ChannelState, Transport, TransportChoice};

const CHANNEL: &str = "conversation:1";

fn message(id: Option<&str>, timestamp: i64) -> Message {
    Message {
        id: id.map(str::to_owned),
        name: Some("message:user".to_owned()),
        timestamp: Some(timestamp),
        ..Message::default()
    }
}

/// History answers newest first.
fn newest_first(mut messages: Vec<Message>) -> PollOutcome {
    messages.reverse();
    PollOutcome::Messages {
        result: Ok(messages),
        started_ms: None,
        clock_offset_ms: None,
    }
}

/// A first read, from the attachment at `started_ms` on the service's clock.
fn first_read(started_ms: i64, mut messages: Vec<Message>) -> PollOutcome {
    messages.reverse();
    PollOutcome::Messages {
        result: Ok(messages),
        started_ms: Some(started_ms),
        clock_offset_ms: Some(42),
    }
}

const FROM_ATTACH: PollQuery = PollQuery::FromAttach {
    attached_ms_ago: 0,
    clock_offset_ms: None,
};

fn transports(events: &[NetEvent]) -> Vec<Transport> {
    events
        .iter()
        .filter_map(|event| match event {
            NetEvent::Transport { transport, .. } => Some(transport.clone()),
            _ => None,
        })
        .collect()
}

async fn refuse_upgrade(harness: &mut Harness) {
    let refused = OpenFailure::Upgrade("HTTP 403 Forbidden".into());
    harness.shard.internal(Internal::Opened(Err(refused))).await;
}

/// A shard polling `CHANNEL`, which has had its first answer (one message, at 1,000 ms).
async fn polling_with_one_message() -> Harness {
    let mut harness = Harness::with_transport(TransportChoice::Poll);
    harness.shard.start_polling("chosen".to_owned()).await;
    harness.attach(CHANNEL).await;
    let spell = harness.shard.poll_spell;
    let first = first_read(500, vec![message(Some("m1"), 1_000)]);
    harness
        .shard
        .polled(CHANNEL, spell, FROM_ATTACH, first)
        .await;
    harness
}

#[tokio::test]
async fn auto_polls_after_three_upgrade_refusals_in_a_row_and_retries_soon_before() {
    let mut harness = Harness::new();
    harness.shard.connection(Input::Connect).await;
    for attempt in 1..=2 {
        refuse_upgrade(&mut harness).await;
        assert_eq!(harness.shard.machine.state(), ConnectionState::Connecting);
        assert!(
            harness.timers().contains(&Timer::UpgradeRetry),
            "refusal {attempt} is tried again soon, inside the attempt"
        );
        assert!(transports(&harness.events()).is_empty());
    }
    refuse_upgrade(&mut harness).await;
    let events = harness.events();
    match transports(&events).as_slice() {
        [Transport::Polling { reason }] => {
            assert!(reason.contains("refused 3 times"), "{reason}");
            assert!(reason.contains("HTTP 403"), "{reason}");
        }
        other => panic!("expected polling, got {other:?}"),
    }
    assert_eq!(
        connection_states(&events),
        [ConnectionState::Disconnected],
        "WebSocket is still retried, with the connection's backoff"
    );
    assert!(harness.timers().contains(&Timer::Retry));
}

#[tokio::test]
async fn the_websocket_choice_never_polls() {
    let mut harness = Harness::with_transport(TransportChoice::WebSocket);
    harness.shard.connection(Input::Connect).await;
    for _ in 0..3 {
        refuse_upgrade(&mut harness).await;
        harness.shard.connection(Input::RetryDue).await;
    }
    assert!(transports(&harness.events()).is_empty());
    assert!(!harness.shard.is_polling());
}

#[tokio::test]
async fn a_connection_resets_the_count_of_refusals() {
    let mut harness = Harness::new();
    harness.shard.connection(Input::Connect).await;
    refuse_upgrade(&mut harness).await;
    refuse_upgrade(&mut harness).await;
    assert_eq!(harness.shard.upgrade_failures, 2);
    harness.server(connected("c1")).await;
    assert_eq!(harness.shard.upgrade_failures, 0);
    harness
        .shard
        .connection(Input::Lost(crate::protocol::ErrorInfo::new(
            80003, 400, "dropped",
        )))
        .await;
    harness.shard.connection(Input::RetryDue).await;
    refuse_upgrade(&mut harness).await;
    assert!(
        !harness.shard.is_polling(),
        "one refusal after a success is not three in a row"
    );
}

#[tokio::test]
async fn the_first_poll_delivers_what_came_since_the_attach_and_later_ones_only_what_is_new() {
    let mut harness = polling_with_one_message().await;
    let events = harness.events();
    let delivered: Vec<&str> = events
        .iter()
        .filter_map(|event| match event {
            NetEvent::Message { message, .. } => Some(message.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        ["m1"],
        "published after the attach, before the first poll"
    );
    assert!(events.iter().any(|event| matches!(
        event,
        NetEvent::Channel {
            state: ChannelState::Attached,
            ..
        }
    )));
    let spell = harness.shard.poll_spell;
    let since = PollQuery::Since(1_000);
    let second = newest_first(vec![
        message(Some("m1"), 1_000),
        message(Some("m2"), 1_500),
        message(Some("m3"), 1_500),
    ]);
    harness.shard.polled(CHANNEL, spell, since, second).await;
    assert_eq!(harness.message_ids(), ["m2", "m3"]);
    let third = newest_first(vec![
        message(Some("m2"), 1_500),
        message(Some("m3"), 1_500),
        message(Some("m4"), 2_000),
    ]);
    harness
        .shard
        .polled(CHANNEL, spell, PollQuery::Since(1_500), third)
        .await;
    assert_eq!(
        harness.message_ids(),
        ["m4"],
        "the overlap is not delivered again"
    );
    let slot = &harness.shard.channels[CHANNEL];
    assert_eq!(
        slot.machine.last_message_ms(),
        Some(2_000),
        "the cursor moved"
    );
}

#[tokio::test]
async fn a_message_without_an_id_is_delivered_only_when_newer_than_the_cursor() {
    let mut harness = polling_with_one_message().await;
    harness.events();
    let spell = harness.shard.poll_spell;
    let answer = newest_first(vec![message(None, 900), message(None, 1_200)]);
    harness
        .shard
        .polled(CHANNEL, spell, PollQuery::Since(1_000), answer)
        .await;
    let delivered: Vec<Option<i64>> = harness
        .events()
        .into_iter()
        .filter_map(|event| match event {
            NetEvent::Message { message, .. } => Some(message.timestamp),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, [Some(1_200)]);
}

#[tokio::test]
async fn an_answer_from_an_earlier_polling_spell_is_dropped() {
    let mut harness = polling_with_one_message().await;
    harness.events();
    let stale = harness.shard.poll_spell - 1;
    let answer = newest_first(vec![message(Some("m9"), 5_000)]);
    harness
        .shard
        .polled(CHANNEL, stale, PollQuery::Since(1_000), answer)
        .await;
    assert!(harness.message_ids().is_empty());
}

#[tokio::test]
async fn a_caller_waiting_for_the_channel_is_answered_by_its_first_poll() {
    let mut harness = Harness::with_transport(TransportChoice::Poll);
    harness.shard.start_polling("chosen".to_owned()).await;
    harness.attach(CHANNEL).await;
    let (reply, waiting) = oneshot::channel();
    harness
        .shard
        .request(ShardRequest::WhenAttached {
            channel: CHANNEL.to_owned(),
            reply,
        })
        .await;
    let spell = harness.shard.poll_spell;
    harness
        .shard
        .polled(CHANNEL, spell, FROM_ATTACH, first_read(700, Vec::new()))
        .await;
    assert_eq!(waiting.await.expect("answered"), Ok(()));
    // Asked again later, it is answered at once.
    let (reply, again) = oneshot::channel();
    harness
        .shard
        .request(ShardRequest::WhenAttached {
            channel: CHANNEL.to_owned(),
            reply,
        })
        .await;
    assert_eq!(again.await.expect("answered"), Ok(()));
}

#[tokio::test]
async fn a_first_read_that_brings_nothing_leaves_its_start_as_the_cursor() {
    let mut harness = Harness::with_transport(TransportChoice::Poll);
    harness.shard.start_polling("chosen".to_owned()).await;
    harness.attach(CHANNEL).await;
    let now = std::time::Instant::now();
    let kind = crate::realtime::poll_plan::PollKind::Messages;
    match harness.shard.poll_query(CHANNEL, kind, now) {
        Some(PollQuery::FromAttach {
            clock_offset_ms: None,
            ..
        }) => {}
        other => panic!("a first read measures the clock: {other:?}"),
    }
    let spell = harness.shard.poll_spell;
    harness
        .shard
        .polled(CHANNEL, spell, FROM_ATTACH, first_read(700, Vec::new()))
        .await;
    assert_eq!(
        harness.shard.poll_query(CHANNEL, kind, now),
        Some(PollQuery::Since(700)),
        "from the attachment on the service's clock, not the client's"
    );
    harness.attach("conversation:2").await;
    match harness.shard.poll_query("conversation:2", kind, now) {
        Some(PollQuery::FromAttach {
            clock_offset_ms: Some(42),
            ..
        }) => {}
        other => panic!("the offset is measured once per spell: {other:?}"),
    }
    let answer = newest_first(vec![message(Some("a"), 710), message(Some("b"), 720)]);
    harness
        .shard
        .polled(CHANNEL, spell, PollQuery::Since(700), answer)
        .await;
    assert_eq!(harness.message_ids(), ["a", "b"]);
}

#[tokio::test]
async fn websocket_back_stops_polling_and_the_attach_fills_the_gap_from_the_last_polled_message() {
    let mut harness = Harness::new();
    harness.shard.connection(Input::Connect).await;
    for _ in 0..3 {
        refuse_upgrade(&mut harness).await;
    }
    assert!(harness.shard.is_polling());
    harness.attach(CHANNEL).await;
    let spell = harness.shard.poll_spell;
    let first = first_read(500, vec![message(Some("m1"), 1_000)]);
    harness
        .shard
        .polled(CHANNEL, spell, FROM_ATTACH, first)
        .await;
    harness.events();
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c2")).await;
    assert!(!harness.shard.is_polling());
    assert_eq!(transports(&harness.events()), [Transport::WebSocket]);
    let attach = harness
        .sent()
        .into_iter()
        .any(|frame| frame.action == ProtocolAction::Attach);
    assert!(attach, "the channel attaches over WebSocket");
    let mut attached = ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL);
    attached.channel_serial = Some("s-9".to_owned());
    harness.server(attached).await;
    let slot = &harness.shard.channels[CHANNEL];
    assert_eq!(slot.fills, 1, "history fills what polling has not seen");
    assert!(slot.held.is_some(), "live messages wait for the fill");
    assert_eq!(
        slot.machine.last_message_ms(),
        Some(1_000),
        "from the last polled message"
    );
}

#[tokio::test]
async fn a_publish_while_polling_goes_over_rest_and_a_network_failure_can_be_sent_again() {
    let mut harness = Harness::with_transport(TransportChoice::Poll);
    harness.shard.start_polling("chosen".to_owned()).await;
    harness.attach(CHANNEL).await;
    // Nothing listens at the harness's endpoint: the REST publish fails on the network.
    let outcome = harness.publish(CHANNEL, "reply-1").await;
    let error = tokio::time::timeout(std::time::Duration::from_secs(10), outcome)
        .await
        .expect("answered in time")
        .expect("answered")
        .expect_err("nothing listens");
    assert!(error.is_connection_failure(), "{error}");
    assert!(harness.sent().is_empty(), "no realtime frame");
}

#[tokio::test]
async fn presence_is_refused_at_once_when_polling_was_chosen() {
    let mut harness = Harness::with_transport(TransportChoice::Poll);
    harness.shard.start_polling("chosen".to_owned()).await;
    harness.attach(CHANNEL).await;
    let (reply, outcome) = oneshot::channel();
    harness
        .shard
        .request(ShardRequest::Presence {
            channel: CHANNEL.to_owned(),
            action: PresenceAction::Enter,
            data: None,
            reply,
        })
        .await;
    match outcome.await.expect("answered") {
        Err(ClientError::Refused(info)) => assert_eq!(info.code, 91001),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_message_time_far_in_the_future_is_delivered_but_does_not_stop_later_reads() {
    let mut harness = polling_with_one_message().await;
    harness.events();
    let spell = harness.shard.poll_spell;
    let hostile = newest_first(vec![message(Some("far"), i64::MAX)]);
    harness
        .shard
        .polled(CHANNEL, spell, PollQuery::Since(1_000), hostile)
        .await;
    assert_eq!(harness.message_ids(), ["far"]);
    let slot = &harness.shard.channels[CHANNEL];
    assert_eq!(
        slot.machine.last_message_ms(),
        Some(1_000),
        "the cursor stays"
    );
}
