//! What must survive time and outages: short-lived tokens renewed under a live session,
//! and publishes made while the network is down.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::protocol::Message;
use brokerdash::realtime::{AttachOptions, ClientOptions, ConnectionState, NetEvent, Realtime};
use brokerdash::rest::AuthConfig;
use common::events::{Events, text_of};
use common::gate::Gate;
use serde_json::json;
use tokio::time::Instant;
use url::Url;

fn options(url: &str, use_tokens: bool, token_ttl_ms: Option<u64>) -> ClientOptions {
    let auth = AuthConfig::Key {
        key: DEVELOPMENT_KEY.parse().unwrap(),
        use_tokens,
        token_ttl_ms,
    };
    ClientOptions::new(Url::parse(url).unwrap(), auth)
}

fn numbered(sequence: usize) -> Message {
    Message {
        name: Some("message:user".into()),
        data: Some(json!(sequence.to_string())),
        ..Message::default()
    }
}

/// UTS: RSA4b, RTC8a, RTN14b, RTN22.
#[tokio::test]
async fn five_second_tokens_over_twenty_seconds_keep_every_channel_attached() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut subscriber_options = options(&hub.url(), true, Some(5_000));
    subscriber_options.client_id = Some("broker-ttl".into());
    let (subscriber, receiver) = Realtime::connect(subscriber_options);
    let mut events = Events::new(receiver);
    events.connected().await;
    subscriber.attach("conversation:ttl", AttachOptions::default());
    events.attached("conversation:ttl").await;
    let mark = events.seen.len();

    let (publisher, mut publisher_events) = Realtime::connect(options(&hub.url(), false, None));
    tokio::spawn(async move { while publisher_events.recv().await.is_some() {} });
    let started = Instant::now();
    let mut sequence = 0;
    while started.elapsed() < Duration::from_secs(20) {
        publisher
            .publish("conversation:ttl", vec![numbered(sequence)])
            .await
            .unwrap();
        sequence += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    publisher
        .publish(
            "conversation:ttl",
            vec![Message {
                name: Some("done".into()),
                ..Message::default()
            }],
        )
        .await
        .unwrap();
    events
        .messages_until("conversation:ttl", "done", common::PROMPT)
        .await;
    // Every event since the attachment (the waits above record all they see).
    let all = events.seen[mark..].to_vec();
    let expected: Vec<String> = (0..sequence).map(|n| n.to_string()).collect();
    let got: Vec<String> = all
        .iter()
        .filter_map(|event| match event {
            NetEvent::Message { message, .. }
                if message.name.as_deref() == Some("message:user") =>
            {
                Some(text_of(message))
            }
            _ => None,
        })
        .collect();
    assert_eq!(got, expected, "no message lost or doubled");
    let channel_changes: Vec<&NetEvent> = all
        .iter()
        .filter(|event| matches!(event, NetEvent::Channel { .. }))
        .collect();
    assert!(
        channel_changes.is_empty(),
        "the channel never left `attached`: {channel_changes:?}"
    );
    let disconnects = all
        .iter()
        .filter(|event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        disconnects, 0,
        "tokens were renewed in place, without reconnecting"
    );
    subscriber.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RSL1k, RSL1k2, RTL10d, RTL6c2, RTN19a, RTN7d.
#[tokio::test]
async fn replies_published_while_offline_arrive_exactly_once_when_back() {
    let hub = common::start_hub(HubConfig::development()).await;
    let gate = Gate::start(hub.addr).await;
    let mut broker_options = options(&gate.url(), false, None);
    broker_options.timeouts.disconnected_retry = Duration::from_millis(300);
    let (broker, broker_receiver) = Realtime::connect(broker_options);
    let mut broker_events = Events::new(broker_receiver);
    broker_events.connected().await;

    let (watcher, receiver) = Realtime::connect(options(&hub.url(), false, None));
    let mut watching = Events::new(receiver);
    watcher.attach("conversation:offline", AttachOptions::default());
    watching.attached("conversation:offline").await;

    // One publish is in flight when the network dies; four more are made while it is down.
    let in_flight = broker.publish("conversation:offline", vec![numbered(0)]);
    gate.close();
    broker_events
        .wait_for("disconnected", common::PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    let offline: Vec<_> = (1..5)
        .map(|n| broker.publish("conversation:offline", vec![numbered(n)]))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await; // still offline: a retry fails against the closed gate
    gate.open();
    in_flight.await.unwrap();
    for publish in offline {
        publish.await.unwrap();
    }
    broker
        .publish(
            "conversation:offline",
            vec![Message {
                name: Some("done".into()),
                ..Message::default()
            }],
        )
        .await
        .unwrap();
    let got: Vec<String> = watching
        .messages_until("conversation:offline", "done", common::PROMPT)
        .await
        .iter()
        .filter(|message| message.name.as_deref() == Some("message:user"))
        .map(text_of)
        .collect();
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
    // And the channel's history holds each once.
    let history = watcher
        .rest()
        .history("conversation:offline", &Default::default())
        .await
        .unwrap();
    let stored = history
        .items
        .iter()
        .filter(|message| message.name.as_deref() == Some("message:user"))
        .count();
    assert_eq!(stored, 5);
    broker.close().await;
    watcher.close().await;
    hub.stop().await.unwrap();
}
