//! A connection's health figures and pings, held to Ably's spec items where there is one
//! (RTN13 pings, RTN15c6/RTN15c7 resumes), and to the reports' bounded rate.

use std::time::Duration;

use tokio::time::Instant;

use super::health::REPORT_INTERVAL;
use super::spec_tests::{CHANNEL, ack};
use super::testing::{Harness, connected, connection_states};
use super::timers::Timer;
use super::{Internal, OpenFailure};
use crate::protocol::{ErrorInfo, Message, ProtocolAction, ProtocolMessage};
use crate::realtime::connection::Input;
use crate::realtime::types::{ConnectionStats, NetEvent};

fn reports(events: &[NetEvent]) -> Vec<ConnectionStats> {
    events
        .iter()
        .filter_map(|event| match event {
            NetEvent::Stats { shard: 0, stats } => Some(stats.clone()),
            _ => None,
        })
        .collect()
}

/// The figures as reported now, whatever the last report's time.
async fn reported(harness: &mut Harness) -> ConnectionStats {
    harness.events();
    harness.shard.fire_due(Timer::Stats).await;
    let reports = reports(&harness.events());
    match reports.as_slice() {
        [stats] => stats.clone(),
        other => panic!("expected one report, got {other:?}"),
    }
}

fn heartbeat(id: Option<&str>) -> ProtocolMessage {
    let mut frame = ProtocolMessage::new(ProtocolAction::Heartbeat);
    frame.id = id.map(str::to_owned);
    frame
}

/// Pings now, and returns the id it went with.
async fn ping(harness: &mut Harness) -> String {
    harness.sent();
    harness.shard.fire_due(Timer::Ping).await;
    let pings: Vec<Option<String>> = harness
        .sent()
        .into_iter()
        .filter(|frame| frame.action == ProtocolAction::Heartbeat)
        .map(|frame| frame.id)
        .collect();
    match pings.as_slice() {
        [Some(id)] if !id.is_empty() => id.clone(),
        other => panic!("expected one HEARTBEAT with an id, got {other:?}"),
    }
}

fn message_frame(id: &str) -> ProtocolMessage {
    let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(CHANNEL);
    frame.messages = Some(vec![Message {
        id: Some(id.to_owned()),
        name: Some("message:user".to_owned()),
        ..Message::default()
    }]);
    frame
}

/// UTS: RTN13a, RTN13b.
#[tokio::test]
async fn rtn13a_a_ping_sends_a_heartbeat_with_an_id_and_the_echo_gives_the_round_trip() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    assert!(
        harness.timers().contains(&Timer::Ping),
        "a ping right after CONNECTED"
    );
    let id = ping(&mut harness).await;
    let timers = harness.timers();
    assert!(timers.contains(&Timer::PingExpired), "{timers:?}");
    assert!(timers.contains(&Timer::Ping), "the next ping is planned");
    assert_ne!(ping(&mut harness).await, id, "each ping has a fresh id");
    // The echo comes 250 ms after the ping went.
    if let Some((_, sent)) = harness.shard.health.ping.as_mut() {
        *sent = Instant::now() - Duration::from_millis(250);
    }
    let id = harness.shard.health.ping.clone().map(|(id, _)| id);
    harness.server(heartbeat(id.as_deref())).await;
    let rtt = reported(&mut harness).await.rtt_ms;
    assert!(
        rtt.is_some_and(|ms| (250.0..5_000.0).contains(&ms)),
        "{rtt:?}"
    );
    assert!(!harness.timers().contains(&Timer::PingExpired), "answered");
}

/// UTS: RTN13c.
#[tokio::test]
async fn rtn13_a_heartbeat_with_another_id_is_not_an_answer() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let id = ping(&mut harness).await;
    harness.server(heartbeat(Some("someone-else"))).await;
    harness.server(heartbeat(None)).await;
    assert_eq!(harness.shard.health.stats.rtt_ms, None);
    assert!(harness.shard.health.ping.is_some(), "still waiting");
    // Ten seconds without the echo: the ping is dropped, and nothing else happens.
    harness.events();
    harness.shard.fire_due(Timer::PingExpired).await;
    harness.server(heartbeat(Some(&id))).await;
    assert_eq!(harness.shard.health.stats.rtt_ms, None, "too late");
    assert!(connection_states(&harness.events()).is_empty());
    assert_eq!(
        harness.shard.machine.state(),
        crate::realtime::ConnectionState::Connected
    );
}

/// UTS: RTN15c6.
#[tokio::test]
async fn rtn15c6_a_resumed_reconnection_counts_a_reconnect_a_resume_and_what_was_delivered() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    harness.server(message_frame("a")).await;
    harness.server(message_frame("b")).await;
    let first = reported(&mut harness).await;
    assert!(first.connected_since_ms.is_some());
    assert_eq!((first.received, first.reconnects), (2, 0));
    harness.shard.incoming(None).await;
    let down = reported(&mut harness).await;
    assert_eq!(down.connected_since_ms, None, "not connected");
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c1")).await;
    let mut attached = ProtocolMessage::new(ProtocolAction::Attached).with_channel(CHANNEL);
    attached.flags = Some(crate::protocol::flags::RESUMED);
    harness.server(attached).await;
    harness.server(message_frame("c")).await;
    let back = reported(&mut harness).await;
    let expected = ConnectionStats {
        connected_since_ms: back.connected_since_ms,
        connect_attempts: 2,
        reconnects: 1,
        resumes_ok: 1,
        received: 3,
        ..ConnectionStats::default()
    };
    assert_eq!(back, expected);
    assert!(back.connected_since_ms.is_some());
}

/// UTS: RTN15c7.
#[tokio::test]
async fn rtn15c7_a_new_connection_id_or_an_error_in_connected_is_a_failed_resume() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    let lost = || Input::Lost(ErrorInfo::new(80003, 400, "dropped"));
    harness.shard.connection(lost()).await;
    harness.shard.connection(Input::RetryDue).await;
    // This attempt is refused; the next is cut before CONNECTED; the third connects anew.
    let refused = OpenFailure::Transport("refused".into());
    harness.shard.internal(Internal::Opened(Err(refused))).await;
    harness.shard.connection(Input::RetryDue).await;
    harness.shard.incoming(None).await;
    harness.shard.connection(Input::RetryDue).await;
    harness.server(connected("c2")).await;
    // Then the same id again, but with an error: not resumed either.
    harness.shard.connection(lost()).await;
    harness.shard.connection(Input::RetryDue).await;
    let mut with_error = connected("c2");
    with_error.error = Some(ErrorInfo::new(80008, 400, "Unable to recover connection"));
    harness.server(with_error).await;
    let stats = reported(&mut harness).await;
    let counted = (
        stats.connect_attempts,
        stats.connect_failures,
        stats.reconnects,
        stats.resumes_ok,
        stats.resumes_failed,
    );
    assert_eq!(counted, (5, 2, 2, 0, 2));
}

#[tokio::test]
async fn publishes_count_as_acknowledged_or_refused() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let _first = harness.publish(CHANNEL, "m1").await;
    let _second = harness.publish(CHANNEL, "m2").await;
    harness.server(ack(0, 1, &["s1"])).await;
    let mut nack = ProtocolMessage::new(ProtocolAction::Nack);
    nack.msg_serial = Some(1);
    nack.count = Some(1);
    harness.server(nack).await;
    harness.fail_channel(CHANNEL).await;
    let _third = harness.publish(CHANNEL, "m3").await;
    let stats = reported(&mut harness).await;
    let counted = (stats.published, stats.acknowledged, stats.refused);
    assert_eq!(
        counted,
        (3, 1, 2),
        "the third is refused by the failed channel"
    );
}

#[tokio::test]
async fn reports_stay_rare_under_a_flood_of_ten_thousand_messages() {
    let mut harness = Harness::new();
    harness.connect("c1").await;
    harness.attached(CHANNEL).await;
    let started = std::time::Instant::now();
    let (mut delivered, mut reported_stats) = (0, Vec::new());
    for index in 0..10_000 {
        harness.server(message_frame(&format!("m{index}"))).await;
        // What the task's loop does between two frames.
        harness.shard.plan_report();
        harness.shard.fire_timers().await;
        let events = harness.events();
        delivered += events
            .iter()
            .filter(|event| matches!(event, NetEvent::Message { .. }))
            .count();
        reported_stats.extend(reports(&events));
    }
    assert_eq!(delivered, 10_000);
    // At most one a second: the first, then one per second the flood lasted.
    let limit = 2 + usize::try_from(started.elapsed().as_secs()).unwrap_or(usize::MAX);
    assert!(
        !reported_stats.is_empty() && reported_stats.len() <= limit,
        "{} reports for {:?}",
        reported_stats.len(),
        started.elapsed()
    );
    // A second later the last figures go out, once.
    harness.shard.health.reported_at = Some(Instant::now() - REPORT_INTERVAL);
    harness.shard.health.report_planned = false;
    harness.shard.plan_report();
    harness.shard.fire_timers().await;
    let last = reports(&harness.events());
    assert_eq!(
        last.iter().map(|s| s.received).collect::<Vec<_>>(),
        [10_000]
    );
    harness.shard.fire_due(Timer::Stats).await;
    assert!(
        reports(&harness.events()).is_empty(),
        "nothing changed since"
    );
}

#[tokio::test]
async fn while_polling_deliveries_and_rest_publishes_count_and_nothing_pings() {
    use super::polling::{PollOutcome, PollQuery};
    let mut harness = Harness::with_transport(crate::realtime::TransportChoice::Poll);
    harness.shard.start_polling("chosen".to_owned()).await;
    harness.attach(CHANNEL).await;
    let polled = PollOutcome::Messages {
        result: Ok(vec![Message {
            id: Some("p1".into()),
            timestamp: Some(1_000),
            ..Message::default()
        }]),
        started_ms: Some(500),
        clock_offset_ms: Some(0),
    };
    let query = PollQuery::FromAttach {
        attached_ms_ago: 0,
        clock_offset_ms: None,
    };
    let spell = harness.shard.poll_spell;
    harness.shard.polled(CHANNEL, spell, query, polled).await;
    // Over REST to a port nobody listens on: refused, and the shard is told.
    let _outcome = harness.publish(CHANNEL, "m1").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let answered = loop {
        let internal = tokio::time::timeout_at(deadline, harness.shard.internal_rx.recv())
            .await
            .expect("the REST publish was answered in time")
            .expect("the shard's own channel stays open");
        if matches!(internal, Internal::RestPublished { .. }) {
            break internal;
        }
    };
    harness.shard.internal(answered).await;
    harness.sent();
    harness.shard.fire_due(Timer::Ping).await;
    assert!(harness.sent().is_empty(), "no ping while polling");
    let stats = reported(&mut harness).await;
    let counted = (stats.received, stats.published, stats.refused, stats.rtt_ms);
    assert_eq!(counted, (1, 1, 1, None));
}

/// UTS: RTN13a, end to end: the hub echoes the ping, and the figures reach the application.
#[tokio::test]
async fn rtn13a_a_client_of_the_hub_reports_its_round_trip() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let hub = crate::hub::spawn(listener, crate::hub::HubConfig::development()).expect("a hub");
    let endpoint = url::Url::parse(&format!("http://{}", hub.addr)).expect("a URL");
    let key = crate::hub::DEVELOPMENT_KEY.parse().expect("a key");
    let auth = crate::rest::AuthConfig::Key {
        key,
        use_tokens: false,
        token_ttl_ms: None,
    };
    let options = crate::realtime::ClientOptions::new(endpoint, auth);
    let (client, mut events) = crate::realtime::Realtime::connect(options);
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("a round trip reported in time")
            .expect("the client runs");
        if let NetEvent::Stats { stats, .. } = event
            && stats.rtt_ms.is_some()
        {
            break stats;
        }
    };
    assert!(stats.connected_since_ms.is_some());
    assert_eq!((stats.connect_attempts, stats.connect_failures), (1, 0));
    client.close().await;
    hub.stop().await.expect("the hub stops");
}
