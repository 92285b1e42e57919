//! `brokerdash proxy` between the realtime client and a real hub: it passes traffic through
//! unchanged (1,000 messages on 20 channels, JSON and msgpack, REST too), each control
//! endpoint does what it says, and Ably's universal test spec items that need a proxy run
//! through it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::time::Duration;

use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig, RunningHub};
use brokerdash::protocol::data::Payload;
use brokerdash::protocol::{Message, WireFormat};
use brokerdash::realtime::{
    AttachOptions, ChannelState, ClientOptions, ConnectionState, NetEvent, Realtime,
};
use brokerdash::rest::AuthConfig;
use common::PROMPT;
use common::events::Events;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;
use url::Url;

const CHANNELS: usize = 20;
const MESSAGES: usize = 1_000;

/// A proxy in this process in front of `hub`; stops when the returned sender is dropped.
async fn start_proxy(hub: &RunningHub) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let upstream = Url::parse(&hub.url()).unwrap();
    tokio::spawn(brokerdash::proxy::run(listener, upstream, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

fn options(url: &str) -> ClientOptions {
    let auth = AuthConfig::Key {
        key: DEVELOPMENT_KEY.parse().unwrap(),
        use_tokens: false,
        token_ttl_ms: None,
    };
    let mut options = ClientOptions::new(Url::parse(url).unwrap(), auth);
    options.request_timeout = Duration::from_secs(3);
    options
}

async fn control(proxy: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().request(method, format!("{proxy}{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

/// A client at `url` (the hub itself, or the proxy) that only publishes: its events are
/// drained so it never waits on us.
fn publisher_at(url: &str) -> Realtime {
    let (publisher, mut events) = Realtime::connect(options(url));
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    publisher
}

/// The n-th message of the traffic: text, JSON or binary, in turn.
fn nth(sequence: usize) -> Message {
    let (data, encoding) = match sequence % 3 {
        0 => (json!(format!("text {sequence} ü ✓")), None),
        1 => (
            json!(json!({"n": sequence, "nested": [1, 2]}).to_string()),
            Some("json"),
        ),
        _ => (json!("AAEC/w=="), Some("base64")),
    };
    Message {
        id: Some(format!("traffic-{sequence}")),
        name: Some(format!("n{sequence}")),
        data: Some(data),
        encoding: encoding.map(str::to_owned),
        ..Message::default()
    }
}

async fn pass_through(wire_format: WireFormat) {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let mut subscriber_options = options(&proxy);
    subscriber_options.wire_format = wire_format;
    let (subscriber, receiver) = Realtime::connect(subscriber_options);
    let mut events = Events::new(receiver);
    events.connected().await;
    for index in 0..CHANNELS {
        subscriber.attach(&format!("conversation:{index}"), AttachOptions::default());
    }
    for index in 0..CHANNELS {
        events.attached(&format!("conversation:{index}")).await;
    }
    let publisher = publisher_at(&proxy);
    for sequence in 0..MESSAGES {
        let channel = format!("conversation:{}", sequence % CHANNELS);
        publisher
            .publish(&channel, vec![nth(sequence)])
            .await
            .unwrap();
    }
    let mut per_channel: HashMap<String, Vec<(String, Payload)>> = HashMap::new();
    let mut received = 0;
    while received < MESSAGES {
        let event = events
            .wait_for("the traffic", PROMPT, |event| {
                matches!(event, NetEvent::Message { .. })
            })
            .await;
        if let NetEvent::Message {
            channel, message, ..
        } = event
        {
            per_channel
                .entry(channel)
                .or_default()
                .push((message.id.clone(), message.payload.clone()));
            received += 1;
        }
    }
    for index in 0..CHANNELS {
        let expected: Vec<(String, Payload)> = (0..MESSAGES)
            .filter(|sequence| sequence % CHANNELS == index)
            .map(|sequence| {
                let message = nth(sequence);
                let decoded = brokerdash::protocol::data::decode(
                    message.data.as_ref(),
                    message.encoding.as_deref(),
                );
                (message.id.unwrap(), decoded.payload)
            })
            .collect();
        assert_eq!(
            per_channel
                .remove(&format!("conversation:{index}"))
                .unwrap_or_default(),
            expected,
            "conversation:{index}: every message, unchanged, in order"
        );
    }

    // REST through the proxy answers byte for byte what the hub answers.
    let http = reqwest::Client::new();
    let path = "/channels/conversation%3A3/messages?limit=100&direction=forwards";
    let fetch = |base: String| {
        http.get(format!("{base}{path}"))
            .basic_auth("brokerdash.hub", Some("local-development-secret"))
            .send()
    };
    let direct = fetch(hub.url()).await.unwrap().bytes().await.unwrap();
    let proxied = fetch(proxy.clone()).await.unwrap().bytes().await.unwrap();
    assert_eq!(proxied, direct);
    subscriber.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RSL4d1, RSL4d3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_passes_1000_messages_on_20_channels_through_unchanged() {
    pass_through(WireFormat::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_passes_msgpack_frames_through_unchanged() {
    pass_through(WireFormat::Msgpack).await;
}

/// Waits for a channel to become suspended; the code of the reason it gives.
async fn suspended_because(events: &mut Events, what: &str) -> u32 {
    let event = events
        .wait_for(what, PROMPT, |event| {
            matches!(
                event,
                NetEvent::Channel {
                    state: ChannelState::Suspended,
                    ..
                }
            )
        })
        .await;
    match event {
        NetEvent::Channel {
            reason: Some(reason),
            ..
        } => reason.code,
        other => panic!("suspended without a reason: {other:?}"),
    }
}

/// A client through the proxy, attached to `channel`, and its events.
async fn client_through(proxy: &str, channel: &str) -> (Realtime, Events) {
    let (client, receiver) = Realtime::connect(options(proxy));
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach(channel, AttachOptions::default());
    events.attached(channel).await;
    (client, events)
}

fn text(name: &str) -> Message {
    Message {
        name: Some(name.to_owned()),
        data: Some(json!(name)),
        ..Message::default()
    }
}

/// UTS: RTN15a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn15a_a_dropped_connection_resumes_through_the_proxy_and_nothing_is_lost() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    let answer = control(&proxy, reqwest::Method::POST, "/_proxy/drop", None).await;
    assert_eq!(answer["dropped"], 1, "one connection was proxied");
    events
        .wait_for("disconnected", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    // Published while the client is away, straight to the hub.
    let publisher = publisher_at(&hub.url());
    publisher
        .publish("conversation:1", vec![text("while-away")])
        .await
        .unwrap();
    events.connected().await;
    let received = events
        .messages_until("conversation:1", "while-away", PROMPT)
        .await;
    assert_eq!(received.len(), 1);
    assert!(
        !events
            .seen
            .iter()
            .any(|event| matches!(event, NetEvent::ContinuityLost { .. })),
        "resumed, not lost"
    );
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_frames_until_it_ends() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    control(&proxy, reqwest::Method::POST, "/_proxy/stall?ms=1500", None).await;
    let stalled_at = Instant::now();
    let publisher = publisher_at(&hub.url());
    publisher
        .publish("conversation:1", vec![text("held")])
        .await
        .unwrap();
    events
        .messages_until("conversation:1", "held", PROMPT)
        .await;
    let held_for = stalled_at.elapsed();
    assert!(
        held_for >= Duration::from_millis(1_400),
        "held {held_for:?}, not 1.5 s"
    );
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_answers_websocket_upgrades_with_503_while_rest_still_passes() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    control(
        &proxy,
        reqwest::Method::POST,
        "/_proxy/refuse?ms=60000",
        None,
    )
    .await;
    let url = proxy.replace("http://", "ws://")
        + "/?key=brokerdash.hub:local-development-secret&format=json";
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        Err(other) => panic!("expected HTTP 503, got {other}"),
        Ok(_) => panic!("the upgrade went through during the refusal"),
    }
    let time = reqwest::get(format!("{proxy}/time")).await.unwrap();
    assert!(
        time.status().is_success(),
        "REST passes while WebSocket is refused"
    );
    let missing = reqwest::Client::new()
        .post(format!("{proxy}/_proxy/refuse"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400, "ms is required");
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtl13b_an_attached_replaced_by_detached_suspends_the_channel() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, receiver) = Realtime::connect(options(&proxy));
    let mut events = Events::new(receiver);
    events.connected().await;
    let detached = json!({
        "action": 13,
        "channel": "conversation:9",
        "error": {"code": 90198, "statusCode": 500, "message": "rule"},
    });
    let rules = json!([{"direction": "server", "action": 11, "do": "replace", "frame": detached, "times": 1}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(rules)).await;
    client.attach("conversation:9", AttachOptions::default());
    assert_eq!(suspended_because(&mut events, "suspended").await, 90198);
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_and_drop_rules_act_on_their_frames_and_delete_clears_them() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    // The client's MESSAGE (action 15) is held 800 ms once: its ACK comes after.
    let delay =
        json!([{"direction": "client", "action": 15, "do": "delay", "ms": 800, "times": 1}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(delay)).await;
    let started = Instant::now();
    client
        .publish("conversation:1", vec![text("delayed")])
        .await
        .unwrap();
    let acked_after = started.elapsed();
    assert!(
        acked_after >= Duration::from_millis(750),
        "acked after {acked_after:?}"
    );
    events
        .messages_until("conversation:1", "delayed", PROMPT)
        .await;

    // Every MESSAGE from the server is dropped until the rules are cleared.
    let drop = json!([{"direction": "server", "action": 15, "do": "drop"}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(drop)).await;
    client
        .publish("conversation:1", vec![text("dropped")])
        .await
        .unwrap();
    let cleared = control(&proxy, reqwest::Method::DELETE, "/_proxy/rules", None).await;
    assert_eq!(cleared["rules"], 0);
    client
        .publish("conversation:1", vec![text("after")])
        .await
        .unwrap();
    let received = events
        .messages_until("conversation:1", "after", PROMPT)
        .await;
    let names: Vec<_> = received.iter().filter_map(|m| m.name.clone()).collect();
    assert_eq!(names, ["after"], "the dropped one never came");
    client.close().await;
    hub.stop().await.unwrap();
}

/// Replaces the next MESSAGE the server sends with `frame`, and triggers one by publishing
/// on `channel` straight to the hub.
async fn server_sends_instead_of_a_message(
    hub: &RunningHub,
    proxy: &str,
    channel: &str,
    frame: Value,
) {
    let rules =
        json!([{"direction": "server", "action": 15, "do": "replace", "frame": frame, "times": 1}]);
    control(proxy, reqwest::Method::POST, "/_proxy/rules", Some(rules)).await;
    let publisher = publisher_at(&hub.url());
    publisher
        .publish(channel, vec![text("trigger")])
        .await
        .unwrap();
    publisher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtl14_a_channel_error_on_an_attached_channel_fails_it_and_not_the_others() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    client.attach("conversation:2", AttachOptions::default());
    events.attached("conversation:2").await;
    let error = json!({"action": 9, "channel": "conversation:1", "error": {"code": 40160, "statusCode": 401, "message": "revoked"}});
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", error).await;
    let failed = events
        .wait_for("conversation:1 failed", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Channel {
                    state: ChannelState::Failed,
                    ..
                }
            )
        })
        .await;
    match failed {
        NetEvent::Channel {
            channel,
            reason: Some(reason),
            ..
        } => {
            assert_eq!((channel.as_str(), reason.code), ("conversation:1", 40160));
        }
        other => panic!("{other:?}"),
    }
    // The other channel and the connection carry on.
    let publisher = publisher_at(&hub.url());
    publisher
        .publish("conversation:2", vec![text("still-here")])
        .await
        .unwrap();
    events
        .messages_until("conversation:2", "still-here", PROMPT)
        .await;
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtl13a_an_unsolicited_detached_is_followed_by_an_attach_at_once() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    let detached = json!({"action": 13, "channel": "conversation:1", "error": {"code": 90198, "statusCode": 500, "message": "moved"}});
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", detached).await;
    events
        .wait_for("attaching again", PROMPT, |event| {
            matches!(event, NetEvent::Channel { state: ChannelState::Attaching, reason: Some(reason), .. } if reason.code == 90198)
        })
        .await;
    events.attached("conversation:1").await;
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtl12_an_attached_without_resumed_on_an_attached_channel_fills_the_gap() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    let attached = json!({"action": 11, "channel": "conversation:1", "flags": 0});
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", attached).await;
    let update = events
        .wait_for("an update", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Channel {
                    state: ChannelState::Attached,
                    resumed: false,
                    ..
                }
            )
        })
        .await;
    assert!(matches!(update, NetEvent::Channel { channel, .. } if channel == "conversation:1"));
    // The message the ATTACHED stood in for comes back from history.
    events
        .wait_for("the gap filled", PROMPT, |event| {
            matches!(event, NetEvent::GapFilled { .. })
        })
        .await;
    let recovered = events.seen.iter().any(|event| {
        matches!(event, NetEvent::Message { message, .. } if message.name.as_deref() == Some("trigger") && message.from_history)
    });
    assert!(recovered, "the replaced message was recovered from history");
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtl4f_an_attached_that_never_comes_suspends_the_channel_at_the_timeout() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, receiver) = Realtime::connect(options(&proxy));
    let mut events = Events::new(receiver);
    events.connected().await;
    let drop = json!([{"direction": "server", "action": 11, "do": "drop", "times": 1}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(drop)).await;
    client.attach("conversation:5", AttachOptions::default());
    let code = suspended_because(&mut events, "suspended at the attach timeout").await;
    assert_eq!(code, 90007);
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtl5f_a_detached_that_never_comes_returns_the_channel_to_attached() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    let drop = json!([{"direction": "server", "action": 13, "do": "drop", "times": 1}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(drop)).await;
    client.detach("conversation:1");
    let back = events
        .wait_for(
            "attached again after the detach timed out",
            PROMPT,
            |event| {
                matches!(
                    event,
                    NetEvent::Channel {
                        state: ChannelState::Attached,
                        reason: Some(_),
                        ..
                    }
                )
            },
        )
        .await;
    assert!(matches!(back, NetEvent::Channel { reason: Some(reason), .. } if reason.code == 90007));
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn15h3_a_disconnected_for_another_reason_than_the_token_reconnects_and_resumes() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    let disconnected =
        json!({"action": 6, "error": {"code": 80003, "statusCode": 503, "message": "going away"}});
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", disconnected).await;
    events
        .wait_for("disconnected", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    events.connected().await;
    let resumed = events.attached("conversation:1").await;
    assert!(resumed, "the channel kept its continuity");
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn15j_through_the_proxy_a_fatal_error_while_connected_fails_everything() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    let error =
        json!({"action": 9, "error": {"code": 50000, "statusCode": 500, "message": "broken"}});
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", error).await;
    let failed = events
        .wait_for("failed", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Failed,
                    ..
                }
            )
        })
        .await;
    assert!(
        matches!(failed, NetEvent::Connection { reason: Some(reason), .. } if reason.code == 50000)
    );
    assert!(
        events.seen.iter().any(|event| matches!(
            event,
            NetEvent::Channel {
                state: ChannelState::Failed,
                ..
            }
        )),
        "the channel failed with it"
    );
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn14c_a_connected_that_never_comes_times_out_into_disconnected() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let drop = json!([{"direction": "server", "action": 4, "do": "drop", "times": 1}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(drop)).await;
    let (client, receiver) = Realtime::connect(options(&proxy));
    let mut events = Events::new(receiver);
    let disconnected = events
        .wait_for(
            "disconnected at the deadline",
            Duration::from_secs(15),
            |event| {
                matches!(
                    event,
                    NetEvent::Connection {
                        state: ConnectionState::Disconnected,
                        ..
                    }
                )
            },
        )
        .await;
    assert!(matches!(
        disconnected,
        NetEvent::Connection { reason: Some(reason), .. } if reason.status_code == 408
    ));
    client.close().await;
    hub.stop().await.unwrap();
}

/// Token auth through a stand-in for the web app's auth endpoint that passes on the hub's
/// own answers and counts the requests; the client's options and the count.
async fn token_options(
    hub: &RunningHub,
    url: &str,
) -> (
    ClientOptions,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    let hub_auth = format!("{}/api/ably/auth", hub.url());
    let route = axum::routing::post(move |body: axum::body::Bytes| {
        let (count, hub_auth) = (count.clone(), hub_auth.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let answer = reqwest::Client::new()
                .post(hub_auth)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                answer,
            )
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth_url = Url::parse(&format!("http://{}/auth", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(
        async move { axum::serve(listener, axum::Router::new().route("/auth", route)).await },
    );
    let auth = AuthConfig::AuthUrl {
        url: auth_url,
        broker_id: "7".into(),
    };
    let mut options = ClientOptions::new(Url::parse(url).unwrap(), auth);
    options.request_timeout = Duration::from_secs(3);
    options.client_id = Some("broker-7".into());
    (options, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn14b_a_token_error_on_opening_renews_the_token_and_connects() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let expired = json!({"action": 9, "error": {"code": 40142, "statusCode": 401, "message": "Token expired"}});
    let rules = json!([{"direction": "server", "action": 4, "do": "replace", "frame": expired, "times": 1}]);
    control(&proxy, reqwest::Method::POST, "/_proxy/rules", Some(rules)).await;
    let (token_auth, asked) = token_options(&hub, &proxy).await;
    let (client, receiver) = Realtime::connect(token_auth);
    let mut events = Events::new(receiver);
    events.connected().await;
    let asked = asked.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(asked, 2, "a token, then a new one");
    assert!(
        !events.seen.iter().any(|event| matches!(
            event,
            NetEvent::Connection {
                state: ConnectionState::Failed,
                ..
            }
        )),
        "a token error is not fatal"
    );
    client.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RTC8a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn22_an_auth_request_from_the_server_renews_the_token_without_a_disconnection() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (token_auth, asked) = token_options(&hub, &proxy).await;
    let (client, receiver) = Realtime::connect(token_auth);
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:1", AttachOptions::default());
    events.attached("conversation:1").await;
    let renewals = || asked.load(std::sync::atomic::Ordering::SeqCst);
    let before = renewals();
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", json!({"action": 17})).await;
    let deadline = Instant::now() + PROMPT;
    while renewals() == before {
        assert!(
            Instant::now() < deadline,
            "no renewal after the server's AUTH"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Still connected and delivering: a message after the renewal arrives.
    let publisher = publisher_at(&hub.url());
    publisher
        .publish("conversation:1", vec![text("after")])
        .await
        .unwrap();
    events
        .messages_until("conversation:1", "after", PROMPT)
        .await;
    assert!(
        !events.seen.iter().any(|event| matches!(
            event,
            NetEvent::Connection {
                state: ConnectionState::Disconnected,
                ..
            }
        )),
        "no disconnection"
    );
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RTN15c6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn15b_a_resumed_connection_keeps_its_connection_id() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = client_through(&proxy, "conversation:1").await;
    client
        .publish("conversation:1", vec![text("before")])
        .await
        .unwrap();
    let before = events
        .messages_until("conversation:1", "before", PROMPT)
        .await;
    control(&proxy, reqwest::Method::POST, "/_proxy/drop", None).await;
    events
        .wait_for("disconnected", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    events.connected().await;
    client
        .publish("conversation:1", vec![text("after")])
        .await
        .unwrap();
    let after = events
        .messages_until("conversation:1", "after", PROMPT)
        .await;
    let id = |messages: &[brokerdash::realtime::InboundMessage]| {
        messages.last().and_then(|m| m.connection_id.clone())
    };
    assert!(id(&before).is_some());
    assert_eq!(id(&after), id(&before), "the same connection, resumed");
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn15g_away_past_the_state_ttl_the_client_connects_afresh() {
    let mut config = HubConfig::development();
    config.connection_state_ttl = Duration::from_secs(1);
    config.presence_grace = Duration::from_millis(500);
    let hub = common::start_hub(config).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let mut quick = options(&proxy);
    quick.transport = brokerdash::realtime::TransportChoice::WebSocket;
    quick.timeouts.disconnected_retry = Duration::from_millis(200);
    quick.timeouts.suspended_retry = Duration::from_millis(300);
    let (client, receiver) = Realtime::connect(quick);
    let mut events = Events::new(receiver);
    events.connected().await;
    control(
        &proxy,
        reqwest::Method::POST,
        "/_proxy/refuse?ms=2500",
        None,
    )
    .await;
    control(&proxy, reqwest::Method::POST, "/_proxy/drop", None).await;
    events
        .wait_for("suspended past the TTL", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Suspended,
                    ..
                }
            )
        })
        .await;
    let back = events
        .wait_for("connected again", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Connected,
                    ..
                }
            )
        })
        .await;
    // Asking to resume a connection the server forgot is answered with 80008.
    assert!(
        matches!(back, NetEvent::Connection { reason: None, .. }),
        "a fresh connection, not a failed resume: {back:?}"
    );
    client.close().await;
    hub.stop().await.unwrap();
}

/// Waits until every frame rule has been used up: the frames they wait for went by.
async fn rules_used_up(proxy: &str, what: &str) {
    let deadline = Instant::now() + PROMPT;
    loop {
        let left = control(proxy, reqwest::Method::GET, "/_proxy/rules", None).await;
        if left["rules"] == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{what} never went by");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client through the proxy, attached to `CHANNEL` and entered in its presence, with a
/// rule waiting for the next presence frame it sends.
async fn entered_through(proxy: &str) -> (Realtime, Events) {
    let mut entering = options(proxy);
    entering.client_id = Some("broker-7".into());
    let (client, receiver) = Realtime::connect(entering);
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:1", AttachOptions::default());
    events.attached("conversation:1").await;
    client
        .enter("conversation:1", Some(json!({"name": "Sam"})))
        .await
        .unwrap();
    let watch = json!([{"direction": "client", "action": 14, "do": "delay", "ms": 1, "times": 1}]);
    control(proxy, reqwest::Method::POST, "/_proxy/rules", Some(watch)).await;
    (client, events)
}

/// UTS: RTP17g.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp17i_an_attached_without_continuity_makes_the_client_enter_again() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, _events) = entered_through(&proxy).await;
    let not_resumed = json!({"action": 11, "channel": "conversation:1", "flags": 0});
    server_sends_instead_of_a_message(&hub, &proxy, "conversation:1", not_resumed).await;
    rules_used_up(&proxy, "the client's presence entered again").await;
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp17i_after_a_real_disconnection_the_client_enters_again() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let (client, mut events) = entered_through(&proxy).await;
    control(&proxy, reqwest::Method::POST, "/_proxy/drop", None).await;
    events
        .wait_for("disconnected", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    events.connected().await;
    rules_used_up(&proxy, "the client's presence entered again").await;
    client.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtn23a_a_server_gone_silent_is_detected_and_the_client_reconnects() {
    let mut config = HubConfig::development();
    config.max_idle_interval = Duration::from_millis(500);
    let hub = common::start_hub(config).await;
    let (proxy, _stop) = start_proxy(&hub).await;
    let mut quick = options(&proxy);
    // Silence allowed: the heartbeat interval and the request timeout, 1.5 s in all.
    quick.request_timeout = Duration::from_secs(1);
    quick.timeouts.disconnected_retry = Duration::from_millis(300);
    let (client, receiver) = Realtime::connect(quick);
    let mut events = Events::new(receiver);
    events.connected().await;
    control(&proxy, reqwest::Method::POST, "/_proxy/stall?ms=4000", None).await;
    let silent = events
        .wait_for("disconnected for silence", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    assert!(matches!(
        silent,
        NetEvent::Connection { reason: Some(reason), .. } if reason.status_code == 408
    ));
    events.connected().await;
    client.close().await;
    hub.stop().await.unwrap();
}
