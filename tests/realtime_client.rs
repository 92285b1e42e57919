//! The realtime client against the real hub on loopback: connect, both kinds of auth,
//! attach/detach, publish with ACK, presence, resume, failed resume with the gap filled
//! from history, discovery, and a refused capability.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use brokerdash::auth::ApiKey;
use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::protocol::{Message, PresenceAction};
use brokerdash::realtime::{
    AttachOptions, ChannelState, ClientError, ClientOptions, NetEvent, Realtime, discover,
    opened_channel,
};
use brokerdash::rest::AuthConfig;
use common::PROMPT;
use common::events::{Events, text_of};
use common::gate::Gate;
use serde_json::json;
use url::Url;

fn key() -> ApiKey {
    DEVELOPMENT_KEY.parse().unwrap()
}

fn options(url: &str, auth: AuthConfig) -> ClientOptions {
    ClientOptions::new(Url::parse(url).unwrap(), auth)
}

fn basic(url: &str) -> ClientOptions {
    options(
        url,
        AuthConfig::Key {
            key: key(),
            use_tokens: false,
            token_ttl_ms: None,
        },
    )
}

fn text(name: &str, data: &str) -> Message {
    Message {
        name: Some(name.into()),
        data: Some(json!(data)),
        ..Message::default()
    }
}

/// UTS: RSA4, RSL4d2, RTL4c, RTL5, RTL5d, RTL6, RTL6c1, RTL6i1, RTL6j, RTL7a.
#[tokio::test]
async fn connects_attaches_publishes_with_ack_and_detaches() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (client, receiver) = Realtime::connect(basic(&hub.url()));
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:1", AttachOptions::default());
    assert!(
        !events.attached("conversation:1").await,
        "a fresh attach is not a resume"
    );

    let ack = client
        .publish("conversation:1", vec![text("hello", "world")])
        .await
        .unwrap();
    assert_eq!(ack.serials.len(), 1);
    assert!(ack.serials[0].is_some());
    let received = events
        .messages_until("conversation:1", "hello", PROMPT)
        .await;
    assert_eq!(text_of(&received[0]), "world");
    assert!(!received[0].id.is_empty());

    client.detach("conversation:1");
    events
        .wait_for("detached", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Channel {
                    state: ChannelState::Detached,
                    ..
                }
            )
        })
        .await;
    client.close().await;
    hub.stop().await.unwrap();
}

/// The same round trip in msgpack, Ably's binary protocol, with binary data and presence:
/// a JSON client on the same channel sees the same things.
/// UTS: RSA7, RTL7.
#[tokio::test]
async fn a_msgpack_client_publishes_receives_and_enters_as_a_json_client_does() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut binary_options = basic(&hub.url());
    binary_options.wire_format = brokerdash::protocol::WireFormat::Msgpack;
    binary_options.client_id = Some("broker-7".into());
    let (binary, receiver) = Realtime::connect(binary_options);
    let mut binary_events = Events::new(receiver);
    let (json_client, receiver) = Realtime::connect(basic(&hub.url()));
    let mut json_events = Events::new(receiver);
    binary_events.connected().await;
    json_events.connected().await;
    binary.attach("conversation:1", AttachOptions::default());
    json_client.attach("conversation:1", AttachOptions::default());
    binary_events.attached("conversation:1").await;
    json_events.attached("conversation:1").await;

    let bytes = Message {
        name: Some("bytes".into()),
        data: Some(json!("AP8B")),
        encoding: Some("base64".into()),
        ..Message::default()
    };
    let ack = binary
        .publish("conversation:1", vec![text("hello", "from msgpack"), bytes])
        .await
        .unwrap();
    assert_eq!(ack.serials.len(), 2);
    for events in [&mut binary_events, &mut json_events] {
        let received = events
            .messages_until("conversation:1", "bytes", PROMPT)
            .await;
        let names: Vec<_> = received.iter().filter_map(|m| m.name.as_deref()).collect();
        assert_eq!(names, ["hello", "bytes"]);
        assert_eq!(text_of(&received[0]), "from msgpack");
        assert_eq!(
            received[0].client_id.as_deref(),
            Some("broker-7"),
            "stamped with the publisher's clientId"
        );
        assert_eq!(
            received[1].payload,
            brokerdash::protocol::data::Payload::Binary(vec![0, 255, 1])
        );
    }
    binary
        .enter("conversation:1", Some(json!({"name": "Sam"})))
        .await
        .unwrap();
    json_events
        .wait_for("the msgpack client's enter", PROMPT, |event| {
            matches!(event, NetEvent::Presence { change, .. }
                if change.action == PresenceAction::Enter
                    && change.member.client_id.as_deref() == Some("broker-7"))
        })
        .await;
    binary.close().await;
    json_client.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RSA4, RSA8, RSA8c, RTL14, RTL2d, RTL6j, RTN27b, RTN2e, TH3.
#[tokio::test]
async fn token_auth_through_the_auth_url_and_a_refused_capability() {
    let hub = common::start_hub(HubConfig::development()).await;
    let auth_url = Url::parse(&format!("{}/api/ably/auth", hub.url())).unwrap();
    let mut options = options(
        &hub.url(),
        AuthConfig::AuthUrl {
            url: auth_url,
            broker_id: "7".into(),
        },
    );
    options.client_id = Some("broker-7".into());
    let (client, receiver) = Realtime::connect(options);
    let mut events = Events::new(receiver);
    events.connected().await;

    client.attach("conversation:42", AttachOptions::default());
    events.attached("conversation:42").await;
    client
        .publish("conversation:42", vec![text("message:broker", "hi")])
        .await
        .unwrap();
    let received = events
        .messages_until("conversation:42", "message:broker", PROMPT)
        .await;
    assert_eq!(
        received[0].client_id.as_deref(),
        Some("broker-7"),
        "the token's clientId stamps messages"
    );

    client.attach("admin:secrets", AttachOptions::default());
    let refused = events
        .wait_for("admin channel failed", PROMPT, |event| {
            matches!(event, NetEvent::Channel { channel, state: ChannelState::Failed, .. } if channel == "admin:secrets")
        })
        .await;
    let NetEvent::Channel {
        reason: Some(reason),
        ..
    } = refused
    else {
        panic!("no reason")
    };
    assert_eq!(reason.code, 40160);
    // RTL6c4: the failed channel refuses the publish itself, and says why it failed.
    let denied = client
        .publish("admin:secrets", vec![text("x", "y")])
        .await
        .unwrap_err();
    assert!(
        matches!(&denied, ClientError::Refused(info) if info.code == 90001),
        "{denied}"
    );
    assert!(denied.to_string().contains("40160"), "{denied}");
    client.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RSA4, RSA9, RSA9a, RSA9g, RTN27b, RTN2e.
#[tokio::test]
async fn tokens_signed_locally_with_the_key() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut options = options(
        &hub.url(),
        AuthConfig::Key {
            key: key(),
            use_tokens: true,
            token_ttl_ms: Some(60_000),
        },
    );
    options.client_id = Some("signer".into());
    let (client, receiver) = Realtime::connect(options);
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:t", AttachOptions::default());
    events.attached("conversation:t").await;
    client
        .publish("conversation:t", vec![text("signed", "ok")])
        .await
        .unwrap();
    let received = events
        .messages_until("conversation:t", "signed", PROMPT)
        .await;
    assert_eq!(received[0].client_id.as_deref(), Some("signer"));
    client.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RTP10, RTP10a, RTP10c, RTP16a, RTP6a, RTP8, RTP8a, RTP8c, RTP8e, RTP9, RTP9a, RTP9d.
#[tokio::test]
async fn presence_enter_update_leave_are_seen_by_another_client() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut watcher_options = basic(&hub.url());
    watcher_options.client_id = Some("watcher".into());
    let (watcher, receiver) = Realtime::connect(watcher_options);
    let mut watching = Events::new(receiver);
    watching.connected().await;
    watcher.attach("conversation:p", AttachOptions::default());
    watching.attached("conversation:p").await;

    let mut member_options = basic(&hub.url());
    member_options.client_id = Some("broker-1".into());
    let (member, member_events) = Realtime::connect(member_options);
    let mut member_events = Events::new(member_events);
    member.attach("conversation:p", AttachOptions::default());
    member_events.attached("conversation:p").await;
    member
        .enter(
            "conversation:p",
            Some(json!({"name": "Sam", "viewing": true})),
        )
        .await
        .unwrap();
    member
        .update(
            "conversation:p",
            Some(json!({"name": "Sam", "viewing": false})),
        )
        .await
        .unwrap();
    member.leave("conversation:p").await.unwrap();

    let mut actions = Vec::new();
    while actions.len() < 3 {
        let event = watching
            .wait_for("presence", PROMPT, |event| {
                matches!(event, NetEvent::Presence { .. })
            })
            .await;
        if let NetEvent::Presence { change, .. } = event {
            assert_eq!(change.member.client_id.as_deref(), Some("broker-1"));
            actions.push(change.action);
        }
    }
    assert_eq!(
        actions,
        vec![
            PresenceAction::Enter,
            PresenceAction::Update,
            PresenceAction::Leave
        ]
    );
    member.close().await;
    watcher.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RTL2d, RTL3d, RTN15a, RTN15b, RTN15c6.
#[tokio::test]
async fn resumes_after_a_drop_with_nothing_lost_or_doubled() {
    let mut config = HubConfig::development();
    config.faults = true;
    let hub = common::start_hub(config).await;
    let gate = Gate::start(hub.addr).await;
    let mut options = basic(&gate.url());
    options.timeouts.disconnected_retry = Duration::from_millis(300);
    let (client, receiver) = Realtime::connect(options);
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:r", AttachOptions::default());
    events.attached("conversation:r").await;

    let (publisher, publisher_events) = Realtime::connect(basic(&hub.url()));
    drop(publisher_events);
    publisher
        .publish("conversation:r", vec![text("before", "1")])
        .await
        .unwrap();
    events
        .messages_until("conversation:r", "before", PROMPT)
        .await;

    gate.close();
    events
        .wait_for("disconnected", PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: brokerdash::realtime::ConnectionState::Disconnected,
                    ..
                }
            )
        })
        .await;
    for index in 0..5 {
        publisher
            .publish(
                "conversation:r",
                vec![text(&format!("missed-{index}"), "x")],
            )
            .await
            .unwrap();
    }
    gate.open();
    assert!(
        events.attached("conversation:r").await,
        "the channel resumed"
    );
    publisher
        .publish("conversation:r", vec![text("after", "x")])
        .await
        .unwrap();
    let names: Vec<String> = events
        .messages_until("conversation:r", "after", PROMPT)
        .await
        .into_iter()
        .filter_map(|message| message.name)
        .collect();
    assert_eq!(
        names,
        [
            "missed-0", "missed-1", "missed-2", "missed-3", "missed-4", "after"
        ]
    );
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RSA11, RSA2, RTL10b, RTL2d, RTL6, RTN15c7.
#[tokio::test]
async fn a_failed_resume_fills_the_gap_from_history_and_says_so() {
    let mut config = HubConfig::development();
    // A short state TTL: the hub forgets the connection and will not replay the gap.
    config.connection_state_ttl = Duration::from_millis(500);
    config.presence_grace = Duration::from_millis(200);
    let hub = common::start_hub(config).await;
    let gate = Gate::start(hub.addr).await;
    let mut options = basic(&gate.url());
    options.timeouts.disconnected_retry = Duration::from_millis(300);
    options.timeouts.suspended_retry = Duration::from_millis(300);
    let (client, receiver) = Realtime::connect(options);
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:g", AttachOptions::default());
    events.attached("conversation:g").await;

    let (publisher, publisher_events) = Realtime::connect(basic(&hub.url()));
    drop(publisher_events);
    publisher
        .publish("conversation:g", vec![text("before", "1")])
        .await
        .unwrap();
    events
        .messages_until("conversation:g", "before", PROMPT)
        .await;

    gate.close();
    for index in 0..4 {
        publisher
            .publish("conversation:g", vec![text(&format!("gap-{index}"), "x")])
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(900)).await; // past the hub's state TTL, on purpose
    gate.open();
    let resumed = events.attached("conversation:g").await;
    assert!(!resumed, "continuity was lost");
    events
        .wait_for("gap filled", PROMPT, |event| {
            matches!(event, NetEvent::GapFilled { channel, recovered: 4 } if channel == "conversation:g")
        })
        .await;
    publisher
        .publish("conversation:g", vec![text("after", "x")])
        .await
        .unwrap();
    let mut names: Vec<String> = events
        .seen
        .iter()
        .filter_map(|event| match event {
            NetEvent::Message {
                channel, message, ..
            } if channel == "conversation:g" => message.name.clone(),
            _ => None,
        })
        .collect();
    names.extend(
        events
            .messages_until("conversation:g", "after", PROMPT)
            .await
            .into_iter()
            .filter_map(|message| message.name),
    );
    assert_eq!(
        names,
        ["before", "gap-0", "gap-1", "gap-2", "gap-3", "after"]
    );
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn discovers_a_channel_opened_after_start() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (publisher, publisher_events) = Realtime::connect(basic(&hub.url()));
    drop(publisher_events);
    publisher
        .rest()
        .publish("conversation:early", &[text("message:user", "x")])
        .await
        .unwrap();

    let (client, receiver) = Realtime::connect(basic(&hub.url()));
    let mut events = Events::new(receiver);
    let found = discover(&client).await.unwrap();
    assert_eq!(found, vec!["conversation:early".to_owned()]);
    events
        .attached(brokerdash::realtime::LIFECYCLE_CHANNEL)
        .await;

    publisher
        .rest()
        .publish("conversation:late", &[text("message:user", "x")])
        .await
        .unwrap();
    let event = events
        .wait_for(
            "lifecycle message for conversation:late",
            PROMPT,
            |event| match event {
                NetEvent::Message {
                    channel, message, ..
                } => opened_channel(channel, message).as_deref() == Some("conversation:late"),
                _ => false,
            },
        )
        .await;
    assert!(matches!(event, NetEvent::Message { .. }));
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn a_connection_full_of_channels_hands_the_rest_to_another() {
    // The hub allows 3 channels per connection while the client expects Ably's 200: the
    // hub's 90010 refusals move the extra channels to a new connection, unseen by the caller.
    let mut config = HubConfig::development();
    config.max_channels_per_connection = 3;
    let hub = common::start_hub(config).await;
    let (client, receiver) = Realtime::connect(basic(&hub.url()));
    let mut events = Events::new(receiver);
    events.connected().await;
    for index in 0..7 {
        client.attach(&format!("conversation:{index}"), AttachOptions::default());
    }
    // Attachments complete in any order: collect them until all seven are in.
    let mut attached = std::collections::BTreeSet::new();
    while attached.len() < 7 {
        let event = events
            .wait_for("all seven attached", PROMPT, |event| {
                matches!(
                    event,
                    NetEvent::Channel {
                        state: ChannelState::Attached,
                        ..
                    }
                )
            })
            .await;
        if let NetEvent::Channel { channel, .. } = event {
            attached.insert(channel);
        }
    }
    assert!(
        !events.seen.iter().any(|event| matches!(
            event,
            NetEvent::Channel {
                state: ChannelState::Failed,
                ..
            }
        )),
        "no channel failed"
    );
    assert_eq!(client.connection_count(), 3, "3 + 3 + 1 channels");
    let (publisher, publisher_events) = Realtime::connect(basic(&hub.url()));
    drop(publisher_events);
    publisher
        .publish("conversation:6", vec![text("moved", "ok")])
        .await
        .unwrap();
    let received = events
        .messages_until("conversation:6", "moved", PROMPT)
        .await;
    assert_eq!(text_of(&received[0]), "ok");
    client.close().await;
    publisher.close().await;
    hub.stop().await.unwrap();
}

/// A server's ACK numbers are remote input. A scripted server (no real one sends these)
/// answers the first publish with an ACK at the very end of the serial range, whose span
/// would overflow: the publish it skips fails with a typed error, the connection's task
/// survives, and the next publish is acknowledged normally.
#[tokio::test]
async fn acks_at_the_ends_of_the_serial_range_fail_only_what_they_skip() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let send = |frame: serde_json::Value| WsMessage::text(frame.to_string());
        socket
            .send(send(json!({
                "action": 4, "connectionId": "scripted",
                "connectionDetails": {"connectionKey": "k!scripted", "maxIdleInterval": 15000,
                                      "connectionStateTtl": 120000}
            })))
            .await
            .unwrap();
        let mut publishes = 0;
        while let Some(Ok(WsMessage::Text(text))) = socket.next().await {
            let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
            let replies = match frame["action"].as_u64() {
                Some(10) => {
                    vec![json!({"action": 11, "channel": frame["channel"], "channelSerial": "e:0"})]
                }
                Some(15) => {
                    publishes += 1;
                    if publishes == 1 {
                        vec![
                            // Covers nothing: the span ends before serial 0.
                            json!({"action": 1, "msgSerial": i64::MIN, "count": u64::MAX}),
                            // Starts past everything sent: serial 0 was skipped.
                            json!({"action": 1, "msgSerial": i64::MAX, "count": 5}),
                        ]
                    } else {
                        vec![
                            json!({"action": 1, "msgSerial": frame["msgSerial"], "count": 1,
                                    "res": [{"serials": ["e:1"]}]}),
                        ]
                    }
                }
                _ => Vec::new(),
            };
            for reply in replies {
                socket.send(send(reply)).await.unwrap();
            }
        }
    });

    let (client, receiver) = Realtime::connect(basic(&url));
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:1", AttachOptions::default());
    events.attached("conversation:1").await;
    let skipped = tokio::time::timeout(
        PROMPT,
        client.publish("conversation:1", vec![text("a", "")]),
    )
    .await
    .expect("the skipped publish is answered");
    match skipped {
        Err(ClientError::Refused(error)) => assert_eq!(error.code, 50000, "{error:?}"),
        other => panic!("expected a refusal for a skipped serial, got {other:?}"),
    }
    let next = tokio::time::timeout(
        PROMPT,
        client.publish("conversation:1", vec![text("b", "")]),
    )
    .await
    .expect("the connection still works");
    assert_eq!(next.unwrap().serials, vec![Some("e:1".to_owned())]);
    server.abort();
}

/// A REST server's answers are remote input too: next links that loop or never end, and a
/// body too large to hold, end in typed errors instead of a client that follows or buffers
/// for ever. A scripted server (a real one does none of this) answers presence requests.
#[tokio::test]
async fn rest_listings_refuse_endless_pages_and_oversized_bodies() {
    use axum::extract::{Path, Query};
    use axum::response::IntoResponse;
    use brokerdash::rest::{MAX_BODY_BYTES, MAX_PAGES, RestError};
    use std::collections::HashMap;

    async fn presence(
        Path(channel): Path<String>,
        Query(query): Query<HashMap<String, String>>,
    ) -> axum::response::Response {
        let page: usize = query.get("page").and_then(|n| n.parse().ok()).unwrap_or(0);
        let next = match channel.as_str() {
            "loop" => "<./presence?page=1>; rel=\"next\"".to_owned(),
            "endless" => format!("<./presence?page={}>; rel=\"next\"", page + 1),
            _ => {
                let huge = format!("[\"{}\"]", "x".repeat(MAX_BODY_BYTES));
                return ([("content-type", "application/json")], huge).into_response();
            }
        };
        (
            [
                ("link", next.as_str()),
                ("content-type", "application/json"),
            ],
            "[]",
        )
            .into_response()
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app =
        axum::Router::new().route("/channels/{channel}/presence", axum::routing::get(presence));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let rest = basic(&url).rest_client();

    match rest.presence("loop").await {
        Err(RestError::Paging(why)) => assert!(why.contains("back"), "{why}"),
        other => panic!("a looping next link: {other:?}"),
    }
    match rest.presence("endless").await {
        Err(RestError::Paging(why)) => assert!(why.contains(&MAX_PAGES.to_string()), "{why}"),
        other => panic!("endless pages: {other:?}"),
    }
    match rest.presence("huge").await {
        Err(RestError::TooLarge { limit }) => assert_eq!(limit, MAX_BODY_BYTES),
        other => panic!("an oversized body: {other:?}"),
    }
    server.abort();
}

/// What a scripted server (nothing real behaves so) counts: token requests, and the AUTH
/// frames the client sends back with a new token.
#[derive(Default)]
struct TokenTally {
    requests: std::sync::atomic::AtomicUsize,
    auth_frames: std::sync::atomic::AtomicUsize,
}

/// A server that accepts one realtime connection, then sends `auth_flood` AUTH frames at
/// once; its tokens expire `token_life_ms` after they are issued (negative: already expired).
async fn token_server(
    auth_flood: usize,
    token_life_ms: i64,
) -> (
    String,
    std::sync::Arc<TokenTally>,
    tokio::task::JoinHandle<()>,
) {
    use axum::extract::ws::{Message as Ws, WebSocketUpgrade};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    let tally = Arc::new(TokenTally::default());
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let requests = tally.clone();
    let issue = axum::routing::post(move || {
        let requests = requests.clone();
        async move {
            let number = requests.requests.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({
                "token": format!("token-{number}"), "keyName": "brokerdash.hub",
                "issued": now_ms(), "expires": now_ms() + token_life_ms, "capability": "{\"*\":[\"*\"]}"
            }))
        }
    });
    let frames = tally.clone();
    let realtime = axum::routing::get(move |upgrade: WebSocketUpgrade| {
        let frames = frames.clone();
        async move {
            upgrade.on_upgrade(move |mut socket| async move {
                let connected = json!({"action": 4, "connectionId": "scripted",
                    "connectionDetails": {"connectionKey": "k!scripted", "maxIdleInterval": 15000,
                                          "connectionStateTtl": 120000}});
                let _ = socket.send(Ws::text(connected.to_string())).await;
                for _ in 0..auth_flood {
                    let _ = socket
                        .send(Ws::text(json!({"action": 17}).to_string()))
                        .await;
                }
                while let Some(Ok(Ws::Text(text))) = socket.recv().await {
                    let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                    if frame["action"] == 17 {
                        frames.auth_frames.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        }
    });
    let app = axum::Router::new()
        .route("/", realtime)
        .route("/keys/{key}/requestToken", issue);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, tally, server)
}

fn with_tokens(url: &str) -> ClientOptions {
    options(
        url,
        AuthConfig::Key {
            key: key(),
            use_tokens: true,
            token_ttl_ms: None,
        },
    )
}

/// RTN22: the server asks for new credentials with AUTH. Fifty at once cost one renewal,
/// not fifty requests to the auth server.
#[tokio::test]
async fn rtn22_a_flood_of_auth_requests_costs_one_renewal() {
    use std::sync::atomic::Ordering;
    let (url, tally, server) = token_server(50, 60_000).await;
    let (_client, receiver) = Realtime::connect(with_tokens(&url));
    let mut events = Events::new(receiver);
    events.connected().await;
    let deadline = tokio::time::Instant::now() + PROMPT;
    while tally.auth_frames.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no AUTH came back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Anything still to come would come promptly on loopback.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = tally.requests.load(Ordering::SeqCst);
    assert!(
        requests <= 3,
        "{requests} token requests for one connection and a flood of AUTH"
    );
    server.abort();
}

/// A token that arrives already expired is renewed at most once a second, not in a loop.
#[tokio::test]
async fn an_already_expired_token_is_not_renewed_in_a_tight_loop() {
    use std::sync::atomic::Ordering;
    let (url, tally, server) = token_server(0, -1000).await;
    let (_client, receiver) = Realtime::connect(with_tokens(&url));
    let mut events = Events::new(receiver);
    events.connected().await;
    let before = tally.requests.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let renewals = tally.requests.load(Ordering::SeqCst) - before;
    assert!(
        (1..=4).contains(&renewals),
        "{renewals} renewals in 2.5 s of expired tokens"
    );
    server.abort();
}

/// The naming rule is the hub's too: an invalid name is refused by the client itself, with
/// the server's code, and the hub never sees the request.
#[tokio::test]
async fn rtl4_an_invalid_channel_name_is_refused_before_it_leaves_the_client() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (client, receiver) = Realtime::connect(basic(&hub.url()));
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach(":bad", AttachOptions::default());
    let failed = events
        .wait_for("the channel failed", PROMPT, |event| {
            matches!(event, NetEvent::Channel { channel, state: ChannelState::Failed, .. } if channel == ":bad")
        })
        .await;
    let NetEvent::Channel { reason, .. } = failed else {
        unreachable!()
    };
    assert_eq!(reason.map(|r| r.code), Some(40010));
    match client.publish("two\nlines", vec![text("x", "y")]).await {
        Err(ClientError::Refused(error)) => assert_eq!(error.code, 40010),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(hub.channels_held(), 0, "nothing reached the hub");
}

/// RTN2e: a token the auth URL gives as a plain string (text/plain) carries no expiry; it
/// is used while the service accepts it, not fetched again for every request.
/// UTS: RSA8c.
#[tokio::test]
async fn rtn2e_a_plain_string_token_is_reused_while_it_works() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let hub = common::start_hub(HubConfig::development()).await;
    let hub_url = hub.url();
    let fetched = Arc::new(AtomicUsize::new(0));
    let count = fetched.clone();
    // The web app's way of handing out a token as text: a real token from the hub's own
    // endpoint and token exchange, answered as text/plain.
    let issue = axum::routing::post(move || {
        let (count, hub_url) = (count.clone(), hub_url.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let http = reqwest::Client::new();
            let request: serde_json::Value = http
                .post(format!("{hub_url}/api/ably/auth"))
                .json(&json!({"brokerId": "7"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let key_name = request["keyName"].as_str().unwrap().to_owned();
            let details: serde_json::Value = http
                .post(format!("{hub_url}/keys/{key_name}/requestToken"))
                .json(&request)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let token = details["token"].as_str().unwrap().to_owned();
            ([(axum::http::header::CONTENT_TYPE, "text/plain")], token)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth_url = format!("http://{}/auth", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let app = axum::Router::new().route("/auth", issue);
        let _ = axum::serve(listener, app).await;
    });

    let auth = AuthConfig::AuthUrl {
        url: Url::parse(&auth_url).unwrap(),
        broker_id: "7".into(),
    };
    let mut one_channel_each = options(&hub.url(), auth);
    // Two channels, two connections: they share the one token.
    one_channel_each.channels_per_connection = 1;
    let (client, receiver) = Realtime::connect(one_channel_each);
    let mut events = Events::new(receiver);
    events.connected().await;
    client.attach("conversation:1", AttachOptions::default());
    client.attach("conversation:2", AttachOptions::default());
    events.attached("conversation:1").await;
    events.attached("conversation:2").await;
    assert_eq!(client.connection_count(), 2);
    let query = brokerdash::rest::HistoryQuery::default();
    for _ in 0..3 {
        client
            .rest()
            .history("conversation:1", &query)
            .await
            .unwrap();
    }
    assert_eq!(
        fetched.load(Ordering::SeqCst),
        1,
        "one token for both connections and every request"
    );
    client.close().await;
    server.abort();
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rtl6f_a_message_carries_the_connection_id_of_its_publisher() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (publisher, receiver) = Realtime::connect(basic(&hub.url()));
    let mut publisher_events = Events::new(receiver);
    let (subscriber, receiver) = Realtime::connect(basic(&hub.url()));
    let mut subscriber_events = Events::new(receiver);
    publisher_events.connected().await;
    subscriber_events.connected().await;
    publisher.attach("conversation:1", AttachOptions::default());
    subscriber.attach("conversation:1", AttachOptions::default());
    publisher_events.attached("conversation:1").await;
    subscriber_events.attached("conversation:1").await;
    publisher
        .publish("conversation:1", vec![text("who", "me")])
        .await
        .unwrap();
    let echoed = publisher_events
        .messages_until("conversation:1", "who", PROMPT)
        .await;
    let received = subscriber_events
        .messages_until("conversation:1", "who", PROMPT)
        .await;
    let publishers = echoed[0].connection_id.clone();
    assert!(publishers.as_deref().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        received[0].connection_id, publishers,
        "the publisher's connection"
    );
    publisher.close().await;
    subscriber.close().await;
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn rsl6a2_extras_published_over_realtime_come_back_unchanged() {
    let hub = common::start_hub(HubConfig::development()).await;
    let (client, receiver) = Realtime::connect(basic(&hub.url()));
    let mut events = Events::new(receiver);
    events.connected().await;
    let extras = json!({"headers": {"source": "dashboard", "priority": 2}});
    let message = Message {
        extras: Some(extras.clone()),
        ..text("with-extras", "hello")
    };
    client
        .publish("conversation:1", vec![message])
        .await
        .unwrap();
    let page = client
        .rest()
        .history("conversation:1", &brokerdash::rest::HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items[0].extras.as_ref(), Some(&extras));
    client.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RTC1a.
#[tokio::test]
async fn rtl7f_a_client_that_asks_for_no_echo_does_not_receive_its_own_messages() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut quiet = basic(&hub.url());
    quiet.echo = false;
    let (publisher, receiver) = Realtime::connect(quiet);
    let mut publisher_events = Events::new(receiver);
    let (listener, receiver) = Realtime::connect(basic(&hub.url()));
    let mut listener_events = Events::new(receiver);
    publisher_events.connected().await;
    listener_events.connected().await;
    publisher.attach("conversation:1", AttachOptions::default());
    listener.attach("conversation:1", AttachOptions::default());
    publisher_events.attached("conversation:1").await;
    listener_events.attached("conversation:1").await;
    publisher
        .publish("conversation:1", vec![text("mine", "1")])
        .await
        .unwrap();
    listener
        .publish("conversation:1", vec![text("theirs", "2")])
        .await
        .unwrap();
    let received = publisher_events
        .messages_until("conversation:1", "theirs", PROMPT)
        .await;
    let names: Vec<_> = received.iter().filter_map(|m| m.name.clone()).collect();
    assert_eq!(names, ["theirs"], "its own message is not echoed");
    listener_events
        .messages_until("conversation:1", "theirs", PROMPT)
        .await;
    assert!(listener_events.seen.iter().any(|event| matches!(
        event,
        NetEvent::Message { message, .. } if message.name.as_deref() == Some("mine")
    )));
    publisher.close().await;
    listener.close().await;
    hub.stop().await.unwrap();
}

/// UTS: RTP11a, RTP2.
#[tokio::test]
async fn rtp1_attaching_to_a_channel_with_members_brings_them_by_sync() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut members = Vec::new();
    for index in 0..12 {
        let mut options = basic(&hub.url());
        options.client_id = Some(format!("customer-{index}"));
        let (client, receiver) = Realtime::connect(options);
        let mut events = Events::new(receiver);
        events.connected().await;
        client.attach("conversation:1", AttachOptions::default());
        events.attached("conversation:1").await;
        client
            .enter("conversation:1", Some(json!({"n": index})))
            .await
            .unwrap();
        members.push((client, events));
    }
    let (late, receiver) = Realtime::connect(basic(&hub.url()));
    let mut events = Events::new(receiver);
    events.connected().await;
    late.attach("conversation:1", AttachOptions::default());
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 12 {
        let event = events
            .wait_for("the members", PROMPT, |event| {
                matches!(event, NetEvent::Presence { .. })
            })
            .await;
        if let NetEvent::Presence { change, .. } = event {
            seen.insert(change.member.client_id.unwrap_or_default());
        }
    }
    assert_eq!(seen.len(), 12);
    late.close().await;
    for (client, _) in members {
        client.close().await;
    }
    hub.stop().await.unwrap();
}
