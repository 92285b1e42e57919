//! Chaos: 20 channels, 4,000 messages published at about 400/s while the hub cuts every
//! connection every 0.5–1.5 s and once stalls past the client's idle timeout. Every
//! message must arrive exactly once and in order per channel, over WebSocket and over the
//! polling transport.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::time::Duration;

use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::protocol::Message;
use brokerdash::protocol::data::Payload;
use brokerdash::realtime::{
    AttachOptions, ChannelState, ClientOptions, ConnectionState, NetEvent, Realtime, Transport,
    TransportChoice,
};
use brokerdash::rest::AuthConfig;
use common::events::Events;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::Rng;
use serde_json::json;
use tokio::time::Instant;
use url::Url;

const CHANNELS: usize = 20;
const MESSAGES: usize = 4_000;
const RATE_PER_SEC: f64 = 400.0;

fn options(url: &str) -> ClientOptions {
    let auth = AuthConfig::Key {
        key: DEVELOPMENT_KEY.parse().unwrap(),
        use_tokens: false,
        token_ttl_ms: None,
    };
    let mut options = ClientOptions::new(Url::parse(url).unwrap(), auth);
    // Short timeouts so the stall is detected in seconds, as it would be in 25 s on Ably.
    options.request_timeout = Duration::from_millis(1_000);
    options.timeouts.disconnected_retry = Duration::from_millis(300);
    options
}

/// UTS: RTL3d, RTL6c1, RTN23a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_arrives_once_and_in_order_through_drops_and_a_stall() {
    let mut config = HubConfig::development();
    config.faults = true;
    config.max_idle_interval = Duration::from_millis(1_000);
    let hub = common::start_hub(config).await;
    let url = hub.url();

    let (subscriber, receiver) = Realtime::connect(options(&url));
    let mut events = Events::new(receiver);
    events.connected().await;
    for index in 0..CHANNELS {
        subscriber.attach(&format!("conversation:{index}"), AttachOptions::default());
    }
    for index in 0..CHANNELS {
        events.attached(&format!("conversation:{index}")).await;
    }

    let publisher = publish_under_sabotage(&url).await;
    let (per_channel, counts) = collect(&mut events).await;
    let (lost, doubled, out_of_order) = tally(per_channel);
    println!(
        "chaos: {MESSAGES} messages over {CHANNELS} channels; lost {lost}, doubled {doubled}, out of order {out_of_order}; \
         subscriber disconnects {}, idle timeouts {}, gap fills {}",
        counts.disconnects, counts.idle_timeouts, counts.gap_fills
    );
    assert_eq!((lost, doubled, out_of_order), (0, 0, 0));
    assert!(
        counts.disconnects >= 3,
        "the saboteur cut the subscriber several times"
    );
    assert!(
        counts.idle_timeouts >= 1,
        "the stall was detected as silence"
    );
    subscriber.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// The same traffic, received by a client that polls REST history instead of using
/// WebSocket (the publisher still suffers the drops and the stall).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poll_transport_receives_the_chaos_traffic_once_each_and_in_order() {
    let mut config = HubConfig::development();
    config.faults = true;
    config.max_idle_interval = Duration::from_millis(1_000);
    let hub = common::start_hub(config).await;
    let url = hub.url();

    let mut polling = options(&url);
    polling.transport = TransportChoice::Poll;
    // Polled often, so many polls overlap the traffic and each other.
    polling.poll.active = Duration::from_millis(250);
    polling.poll.idle = Duration::from_millis(500);
    let (subscriber, receiver) = Realtime::connect(polling);
    let mut events = Events::new(receiver);
    for index in 0..CHANNELS {
        subscriber.attach(&format!("conversation:{index}"), AttachOptions::default());
    }
    for index in 0..CHANNELS {
        let channel = format!("conversation:{index}");
        tokio::time::timeout(Duration::from_secs(20), subscriber.attached(&channel))
            .await
            .expect("every channel polled within 20 s")
            .expect("polled");
    }
    let requests_before = subscriber.rest_requests();

    let publisher = publish_under_sabotage(&url).await;
    let (per_channel, counts) = collect(&mut events).await;
    let (lost, doubled, out_of_order) = tally(per_channel);
    let polled = subscriber.rest_requests() - requests_before;
    println!(
        "chaos over polling: {MESSAGES} messages over {CHANNELS} channels; lost {lost}, doubled {doubled}, \
         out of order {out_of_order}; {polled} REST requests; polling announced {}",
        counts.polling
    );
    assert_eq!((lost, doubled, out_of_order), (0, 0, 0));
    assert_eq!(counts.polling, 1, "the transport said it polls, once");
    assert_eq!(counts.disconnects, 0, "no WebSocket to lose");
    assert!(polled > 0);
    subscriber.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// Publishes the traffic while a saboteur drops every connection every 0.5–1.5 s and once
/// stalls delivery past the idle limit; returns once every publish is acknowledged.
async fn publish_under_sabotage(url: &str) -> Realtime {
    let (publisher, mut publisher_events) = Realtime::connect(options(url));
    // The publisher only publishes; its events are drained so it never waits on us.
    tokio::spawn(async move { while publisher_events.recv().await.is_some() {} });

    let http = reqwest::Client::new();
    let fault_url = url.to_owned();
    let sabotage = tokio::spawn(async move {
        let mut drops = 0;
        let mut stalled = false;
        loop {
            let pause = rand::rng().random_range(500..1_500);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            if !stalled && drops == 3 {
                stalled = true;
                let _ = http
                    .post(format!("{fault_url}/_hub/faults/stall?ms=2600"))
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(2_600)).await;
            }
            if http
                .post(format!("{fault_url}/_hub/faults/drop"))
                .send()
                .await
                .is_ok()
            {
                drops += 1;
            }
        }
    });

    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for sequence in 0..MESSAGES {
        let due = started + Duration::from_secs_f64(sequence as f64 / RATE_PER_SEC);
        tokio::time::sleep_until(due).await;
        let channel = format!("conversation:{}", sequence % CHANNELS);
        let message = Message {
            name: Some("message:user".into()),
            data: Some(json!(sequence.to_string())),
            ..Message::default()
        };
        acks.push(publisher.publish(&channel, vec![message]));
        while let Some(Some(result)) = futures_util::FutureExt::now_or_never(acks.next()) {
            result.expect("every publish is acknowledged eventually");
        }
    }
    while let Some(result) = tokio::time::timeout(Duration::from_secs(60), acks.next())
        .await
        .expect("acks within a minute")
    {
        result.expect("every publish is acknowledged eventually");
    }
    sabotage.abort();

    publisher
}

/// Every message, per channel in arrival order, until all arrived or a minute passed.
async fn collect(events: &mut Events) -> (HashMap<String, Vec<usize>>, Counts) {
    // Collect until every message arrived or the deadline passes.
    let mut per_channel: HashMap<String, Vec<usize>> = HashMap::new();
    let mut total = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut counts = Counts::default();
    for event in std::mem::take(&mut events.seen) {
        record(event, &mut per_channel, &mut total, &mut counts);
    }
    while total < MESSAGES && Instant::now() < deadline {
        let event = events
            .wait_for("more messages", deadline - Instant::now(), |_| true)
            .await;
        events.seen.clear();
        record(event, &mut per_channel, &mut total, &mut counts);
    }

    (per_channel, counts)
}

/// Lost, doubled and out-of-order messages over every channel.
fn tally(mut per_channel: HashMap<String, Vec<usize>>) -> (usize, usize, usize) {
    let mut lost = 0;
    let mut doubled = 0;
    let mut out_of_order = 0;
    for index in 0..CHANNELS {
        let got = per_channel
            .remove(&format!("conversation:{index}"))
            .unwrap_or_default();
        let expected: Vec<usize> = (0..MESSAGES).filter(|s| s % CHANNELS == index).collect();
        let mut seen = std::collections::HashSet::new();
        for window in got.windows(2) {
            if window[1] < window[0] {
                out_of_order += 1;
            }
        }
        for sequence in &got {
            if !seen.insert(*sequence) {
                doubled += 1;
            }
        }
        lost += expected
            .iter()
            .filter(|sequence| !seen.contains(sequence))
            .count();
    }
    (lost, doubled, out_of_order)
}

#[derive(Default)]
struct Counts {
    disconnects: usize,
    idle_timeouts: usize,
    gap_fills: usize,
    polling: usize,
}

fn record(
    event: NetEvent,
    per_channel: &mut HashMap<String, Vec<usize>>,
    total: &mut usize,
    counts: &mut Counts,
) {
    match event {
        NetEvent::Message {
            channel, message, ..
        } => {
            if let Payload::Text(text) = &message.payload {
                per_channel
                    .entry(channel)
                    .or_default()
                    .push(text.parse().unwrap());
                *total += 1;
            }
        }
        NetEvent::GapFilled { .. } => counts.gap_fills += 1,
        NetEvent::Transport {
            transport: Transport::Polling { .. },
            ..
        } => counts.polling += 1,
        NetEvent::Connection {
            state: ConnectionState::Disconnected,
            reason,
            ..
        } => {
            counts.disconnects += 1;
            if reason.is_some_and(|reason| reason.status_code == 408) {
                counts.idle_timeouts += 1;
            }
        }
        NetEvent::ContinuityLost { channel, reason } => {
            panic!("continuity lost on {channel}: {reason}")
        }
        NetEvent::Channel {
            state: ChannelState::Failed,
            channel,
            reason,
            ..
        } => panic!("{channel} failed: {reason:?}"),
        _ => {}
    }
}
