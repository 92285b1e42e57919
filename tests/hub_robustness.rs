//! The hub under conditions the ably-js conformance suite cannot produce: a subscriber that
//! stops reading, malformed and oversized frames, hundreds of connections, shutdown with
//! clients attached, resume after the state TTL, presence of dropped connections, and token
//! expiry. Each test drives a real hub on loopback with raw protocol frames
//! (`common::Client`), so it sees exactly what goes over the wire.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use brokerdash::auth::{ApiKey, TokenDetails, TokenParams, TokenRequest, new_nonce};
use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig, RunningHub};
use brokerdash::protocol::{
    AuthDetails, PresenceAction, PresenceMessage, ProtocolAction, ProtocolMessage, flags,
};
use common::{Client, PROMPT, start_hub, text_message};
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A publisher and a healthy subscriber must not be held up by a subscriber that stopped
/// reading; the stalled one is cut off and can resume to get exactly what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_is_cut_off_without_holding_up_others() {
    const CHANNEL: &str = "robust:stall";
    const MESSAGES: usize = 3000;
    /// Publishes allowed ahead of the healthy subscriber, so its queue stays well under
    /// the hub's limit and only the stalled connection can overflow.
    const WINDOW: usize = 32;
    let payload = "x".repeat(8 * 1024);

    let mut config = HubConfig::development();
    config.send_queue_frames = 128;
    let hub = start_hub(config).await;

    let mut stalled = Client::connect(hub.addr, &[]).await;
    let stalled_attached = stalled.attach(CHANNEL).await;
    let mut healthy = Client::connect(hub.addr, &[]).await;
    healthy.attach(CHANNEL).await;
    let publisher = Client::connect(hub.addr, &[]).await;

    // The healthy subscriber checks order as it goes and reports its progress.
    let (progress_tx, mut progress) = watch::channel(0usize);
    let subscriber = tokio::spawn(async move {
        let mut next = 0;
        while next < MESSAGES {
            let frame = healthy.rx.next_frame(PROMPT).await;
            if frame.action != ProtocolAction::Message {
                continue;
            }
            for message in frame.messages.unwrap_or_default() {
                assert_eq!(message.name, Some(next.to_string()), "healthy order");
                next += 1;
            }
            progress_tx.send_replace(next);
        }
    });

    // Every ACK arrives, in order: the publisher is never blocked by the stalled reader.
    let (mut publish_tx, mut publish_rx) = (publisher.tx, publisher.rx);
    let acks = tokio::spawn(async move {
        for serial in 0..MESSAGES {
            publish_rx.expect_ack(serial as i64, PROMPT).await;
        }
    });
    for index in 0..MESSAGES {
        timeout(
            PROMPT,
            progress.wait_for(|received| received + WINDOW >= index),
        )
        .await
        .expect("the healthy subscriber keeps up")
        .expect("the healthy subscriber is running");
        let message = text_message(&index.to_string(), payload.as_str());
        publish_tx.publish(CHANNEL, vec![message]).await;
    }
    acks.await.expect("every publish is acknowledged");
    subscriber
        .await
        .expect("the healthy subscriber got every message in order");

    // The stalled connection was cut off: reading it now finds what the socket buffers
    // held, then the end of the transport.
    let frames = stalled.rx.drain_until_closed(PROMPT).await;
    let mut seen: Vec<usize> = Vec::new();
    let mut last_serial = stalled_attached.channel_serial.clone();
    for frame in &frames {
        if frame.action == ProtocolAction::Message {
            for message in frame.messages.as_deref().unwrap_or_default() {
                seen.push(message.name.as_deref().unwrap().parse().unwrap());
            }
            last_serial = frame.channel_serial.clone();
        }
    }
    assert!(
        seen.len() < MESSAGES,
        "the stalled connection was cut off before the end"
    );
    assert!(
        seen.iter().copied().eq(0..seen.len()),
        "what it did get is in order"
    );

    // It resumes, re-attaches from its last serial and gets the rest exactly once.
    let key = stalled.connection_key().to_owned();
    let mut resumed = Client::connect(hub.addr, &[("resume", &key)]).await;
    assert_eq!(resumed.connection_id(), stalled.connection_id());
    assert_eq!(resumed.connected.error, None);
    let mut attach = ProtocolMessage::new(ProtocolAction::Attach).with_channel(CHANNEL);
    attach.channel_serial = last_serial;
    let attached = resumed.attach_with(attach).await;
    assert!(attached.has_flag(flags::RESUMED), "{attached:?}");
    while seen.len() < MESSAGES {
        let frame = resumed.rx.next_frame(PROMPT).await;
        assert_ne!(
            frame.action,
            ProtocolAction::Disconnected,
            "{:?}",
            frame.error
        );
        for message in frame.messages.unwrap_or_default() {
            seen.push(message.name.unwrap().parse().unwrap());
        }
    }
    assert!(seen.iter().copied().eq(0..MESSAGES), "each message once");
    resumed
        .rx
        .expect_none("more messages", Duration::from_millis(200), |frame| {
            frame.action == ProtocolAction::Message
        })
        .await;
    hub.stop().await.unwrap();
}

/// Each bad frame gets its sender an ERROR and a closed transport; an unknown action is
/// ignored; nobody else on the hub notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_fail_only_their_connection() {
    const CHANNEL: &str = "robust:bystander";
    let config = HubConfig::development();
    let too_large = config.max_frame_bytes + 1;
    let hub = start_hub(config).await;

    // A bystander publishes and receives round trips for as long as the test runs.
    let mut bystander = Client::connect(hub.addr, &[]).await;
    bystander.attach(CHANNEL).await;
    let (stop_tx, mut stop) = watch::channel(false);
    let round_trips = tokio::spawn(async move {
        let mut count = 0usize;
        while !*stop.borrow_and_update() {
            bystander
                .round_trip(CHANNEL, &format!("trip-{count}"))
                .await;
            count += 1;
        }
        count
    });

    let oversized = format!(
        r#"{{"action":15,"channel":"x","msgSerial":0,"messages":[{{"data":"{}"}}]}}"#,
        "y".repeat(too_large)
    );
    let cases: Vec<(&str, WsMessage, u32)> = vec![
        (
            "truncated JSON",
            WsMessage::text(r#"{"action":15,"channel":"x","messages":[{"data":"a""#),
            40000,
        ),
        (
            "action of the wrong type",
            WsMessage::text(r#"{"action":"fifteen"}"#),
            40000,
        ),
        (
            "channel of the wrong type",
            WsMessage::text(r#"{"action":10,"channel":42}"#),
            40000,
        ),
        ("not an object", WsMessage::text("[1,2,3]"), 40000),
        (
            "binary frame",
            WsMessage::binary(vec![0x82, 0xa1, 0x61]),
            40000,
        ),
        (
            "frame over the size limit",
            WsMessage::text(oversized),
            40009,
        ),
    ];
    for (what, frame, code) in cases {
        let mut victim = Client::connect(hub.addr, &[]).await;
        victim.tx.send_raw(frame).await;
        let error = victim
            .rx
            .recv_until(&format!("ERROR for {what}"), PROMPT, |frame| {
                frame.action == ProtocolAction::Error
            })
            .await;
        assert_eq!(error.channel, None, "{what}: a connection error");
        assert_eq!(error.error.map(|e| e.code), Some(code), "{what}");
        victim.rx.drain_until_closed(PROMPT).await;
    }

    // An unknown action is ignored: the connection keeps working.
    let mut newer_peer = Client::connect(hub.addr, &[]).await;
    newer_peer
        .tx
        .send_raw(WsMessage::text(
            r#"{"action":99,"channel":"x","futureField":1}"#,
        ))
        .await;
    newer_peer.ping().await;
    newer_peer.attach("robust:after-unknown").await;
    newer_peer
        .publish_acked("robust:after-unknown", vec![text_message("ok", "ok")])
        .await;

    stop_tx.send_replace(true);
    let trips = timeout(PROMPT, round_trips)
        .await
        .expect("the bystander finishes its last round trip")
        .expect("the bystander never failed");
    assert!(trips > 0, "the bystander made round trips throughout");
    hub.stop().await.unwrap();
}

/// Hundreds of connections attached to one channel all receive one broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_connections_each_receive_a_broadcast() {
    const CHANNEL: &str = "robust:crowd";
    const CONNECTIONS: usize = 300;
    let hub = start_hub(HubConfig::development()).await;

    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(CONNECTIONS);
    let mut crowd = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let addr = hub.addr;
        let ready_tx = ready_tx.clone();
        crowd.spawn(async move {
            let mut client = Client::connect(addr, &[]).await;
            client.attach(CHANNEL).await;
            ready_tx.send(()).await.unwrap();
            client
                .rx
                .recv_until("the broadcast", PROMPT, |frame| {
                    frame.action == ProtocolAction::Message
                })
                .await
        });
    }
    for _ in 0..CONNECTIONS {
        timeout(PROMPT, ready.recv())
            .await
            .expect("every connection attaches")
            .unwrap();
    }

    let mut publisher = Client::connect(hub.addr, &[]).await;
    publisher
        .publish_acked(CHANNEL, vec![text_message("broadcast", "to everyone")])
        .await;
    let mut received = 0;
    while let Some(joined) = timeout(PROMPT, crowd.join_next())
        .await
        .expect("every connection receives within the deadline")
    {
        let frame = joined.expect("a subscriber failed");
        assert_eq!(
            frame.messages.unwrap()[0].name.as_deref(),
            Some("broadcast")
        );
        received += 1;
    }
    assert_eq!(received, CONNECTIONS);
    hub.stop().await.unwrap();
}

/// `stop()` tells every client DISCONNECTED before closing its socket, finishes promptly
/// and closes the listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_disconnects_every_client() {
    let hub = start_hub(HubConfig::development()).await;
    let addr = hub.addr;
    let mut clients = Vec::new();
    for index in 0..5 {
        let mut client = Client::connect(hub.addr, &[]).await;
        if index % 2 == 0 {
            client.attach(&format!("robust:shutdown-{index}")).await;
        }
        clients.push(client);
    }

    timeout(PROMPT, hub.stop())
        .await
        .expect("stop() finishes within the deadline")
        .unwrap();

    for mut client in clients {
        let frames = client.rx.drain_until_closed(PROMPT).await;
        let last = frames.last().expect("a frame before the close");
        assert_eq!(last.action, ProtocolAction::Disconnected, "{frames:?}");
        assert!(last.error.is_some(), "DISCONNECTED says why");
    }
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the listener is closed");
}

/// A resume within the state TTL keeps the connection; after it, the hub opens a new one
/// and says why (80008).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_the_state_ttl_opens_a_new_connection() {
    let mut config = HubConfig::development();
    config.connection_state_ttl = Duration::from_millis(600);
    config.presence_grace = Duration::from_millis(200);
    let ttl = config.connection_state_ttl;
    let hub = start_hub(config).await;

    let first = Client::connect(hub.addr, &[]).await;
    let id = first.connection_id().to_owned();
    let key = first.connection_key().to_owned();
    drop(first); // abrupt: no CLOSE, the socket just goes

    let second = Client::connect(hub.addr, &[("resume", &key)]).await;
    assert_eq!(second.connection_id(), id, "resumed within the TTL");
    assert_eq!(second.connected.error, None);
    let key = second.connection_key().to_owned();
    drop(second);

    // Nothing to wait on but the clock: the state TTL has to pass.
    tokio::time::sleep(ttl * 3).await;
    let third = Client::connect(hub.addr, &[("resume", &key)]).await;
    assert_ne!(third.connection_id(), id, "a new connection");
    let error = third.connected.error.clone().expect("CONNECTED says why");
    assert_eq!(error.code, 80008);
    hub.stop().await.unwrap();
}

/// A member whose connection drops is left for the others after the presence grace; one
/// that resumes within the grace stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_members_leave_after_the_grace_unless_they_resume() {
    const CHANNEL: &str = "robust:presence";
    let mut config = HubConfig::development();
    config.presence_grace = Duration::from_secs(1);
    let grace = config.presence_grace;
    let hub = start_hub(config).await;

    let mut observer = Client::connect(hub.addr, &[]).await;
    observer.attach(CHANNEL).await;

    let alice = enter_member(&hub, &mut observer, CHANNEL, "alice").await;
    let carol = enter_member(&hub, &mut observer, CHANNEL, "carol").await;

    // alice drops and stays away: her LEAVE comes after the grace, not before.
    let dropped_at = Instant::now();
    drop(alice);
    let leave = observer
        .rx
        .recv_until("LEAVE for alice", grace + PROMPT, |frame| {
            is_presence(frame, PresenceAction::Leave, "alice")
        })
        .await;
    assert!(
        dropped_at.elapsed() >= grace.mul_f32(0.9),
        "LEAVE came after {:?}, before the grace",
        dropped_at.elapsed()
    );
    let member = &leave.presence.unwrap()[0];
    assert!(
        member
            .id
            .as_deref()
            .is_none_or(|id| !id.starts_with(member.connection_id.as_deref().unwrap())),
        "a synthesized LEAVE is ordered by timestamp (ably-protocol.md §5.4)"
    );

    // carol drops and resumes at once: no LEAVE, and she is still present.
    let key = carol.connection_key().to_owned();
    let id = carol.connection_id().to_owned();
    drop(carol);
    let mut carol = Client::connect(hub.addr, &[("resume", &key), ("clientId", "carol")]).await;
    assert_eq!(carol.connection_id(), id);
    carol.attach(CHANNEL).await;
    observer
        .rx
        .expect_none("LEAVE for carol", grace * 2, |frame| {
            is_presence(frame, PresenceAction::Leave, "carol")
        })
        .await;

    let mut late = Client::connect(hub.addr, &[]).await;
    let attached = late.attach(CHANNEL).await;
    assert!(attached.has_flag(flags::HAS_PRESENCE));
    let sync = late
        .rx
        .recv_until("SYNC", PROMPT, |frame| frame.action == ProtocolAction::Sync)
        .await;
    let present: Vec<_> = sync
        .presence
        .unwrap()
        .into_iter()
        .filter_map(|member| member.client_id)
        .collect();
    assert_eq!(present, ["carol"]);
    hub.stop().await.unwrap();
}

/// Connects as `client_id`, enters `channel` and waits until `observer` sees the ENTER.
async fn enter_member(
    hub: &RunningHub,
    observer: &mut Client,
    channel: &str,
    client_id: &str,
) -> Client {
    let mut member = Client::connect(hub.addr, &[("clientId", client_id)]).await;
    member.attach(channel).await;
    let serial = member
        .tx
        .presence(channel, vec![PresenceMessage::new(PresenceAction::Enter)])
        .await;
    member.rx.expect_ack(serial, PROMPT).await;
    observer
        .rx
        .recv_until(&format!("ENTER for {client_id}"), PROMPT, |frame| {
            is_presence(frame, PresenceAction::Enter, client_id)
        })
        .await;
    member
}

fn is_presence(frame: &ProtocolMessage, action: PresenceAction, client_id: &str) -> bool {
    frame.action == ProtocolAction::Presence
        && frame
            .presence
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|member| member.action == action && member.client_id.as_deref() == Some(client_id))
}

/// Before a token expires the hub asks for a new one (AUTH); answered, the connection
/// carries on under the same id; unanswered, it is disconnected with 40142 at expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_tokens_are_renewed_or_disconnected() {
    const TTL_MS: u64 = 2000;
    let hub = start_hub(HubConfig::development()).await;

    // Renewed: same connection, still working after the first token's expiry.
    let token = request_token(&hub, TTL_MS).await;
    let mut renewed = Client::connect(hub.addr, &[("access_token", token.token.expose())]).await;
    let id = renewed.connection_id().to_owned();
    renewed
        .rx
        .recv_until("AUTH", PROMPT, |frame| frame.action == ProtocolAction::Auth)
        .await;
    assert!(now_ms() < token.expires, "AUTH came before expiry");
    let fresh = request_token(&hub, 60_000).await;
    let mut auth = ProtocolMessage::new(ProtocolAction::Auth);
    auth.auth = Some(AuthDetails {
        access_token: fresh.token.expose().to_owned(),
    });
    renewed.tx.send(&auth).await;
    let connected = renewed
        .rx
        .recv_until("CONNECTED after AUTH", PROMPT, |frame| {
            frame.action == ProtocolAction::Connected
        })
        .await;
    assert_eq!(connected.connection_id.as_deref(), Some(id.as_str()));
    assert_eq!(connected.error, None);

    // Unanswered: DISCONNECTED with 40142 once the token expires, then the socket closes.
    let token = request_token(&hub, TTL_MS).await;
    let mut ignored = Client::connect(hub.addr, &[("access_token", token.token.expose())]).await;
    ignored
        .rx
        .recv_until("AUTH", PROMPT, |frame| frame.action == ProtocolAction::Auth)
        .await;
    let frames = ignored
        .rx
        .drain_until_closed(Duration::from_millis(TTL_MS) + PROMPT)
        .await;
    let last = frames.last().expect("a frame before the close");
    assert_eq!(last.action, ProtocolAction::Disconnected, "{frames:?}");
    assert_eq!(last.error.as_ref().map(|e| e.code), Some(40142));
    assert!(now_ms() >= token.expires, "not before expiry");

    // Meanwhile the renewed connection outlived its first token.
    renewed.ping().await;
    renewed
        .rx
        .expect_none("DISCONNECTED", Duration::from_millis(100), |frame| {
            frame.action == ProtocolAction::Disconnected
        })
        .await;
    hub.stop().await.unwrap();
}

/// A token for the development key via `POST /keys/{keyName}/requestToken`.
async fn request_token(hub: &RunningHub, ttl_ms: u64) -> TokenDetails {
    let key: ApiKey = DEVELOPMENT_KEY.parse().unwrap();
    let params = TokenParams {
        ttl_ms: Some(ttl_ms),
        ..TokenParams::default()
    };
    let request = TokenRequest::sign(&key, &params, now_ms(), new_nonce());
    let response = reqwest::Client::new()
        .post(format!("{}/keys/{}/requestToken", hub.url(), key.name()))
        .json(&request)
        .timeout(PROMPT)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

// ---- hostile values in well-formed frames --------------------------------------------------

/// `params.rewind` is remote text: a character past a byte boundary, a span that overflows,
/// a negative or unknown unit each get a channel ERROR 40000 that names the field; the
/// connection carries on and a long but valid span still attaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_rewind_params_are_refused_with_the_field_named() {
    let hub = start_hub(HubConfig::development()).await;
    let mut client = Client::connect(hub.addr, &[]).await;
    for (index, rewind) in [
        "1é",
        "99999999999999999h",
        "-5s",
        "-0s",
        "+5s",
        "+5",
        " 5s",
        "5S",
        "5x",
        "",
        "é",
        "99999999999999999999999",
    ]
    .into_iter()
    .enumerate()
    {
        let channel = format!("robust:rewind-{index}");
        client.tx.send(&rewind_attach(&channel, rewind)).await;
        let refused = client
            .rx
            .recv_until(&format!("ERROR for rewind {rewind:?}"), PROMPT, |frame| {
                frame.channel.as_deref() == Some(channel.as_str())
            })
            .await;
        assert_eq!(
            refused.action,
            ProtocolAction::Error,
            "rewind {rewind:?}: {refused:?}"
        );
        let error = refused.error.expect("the refusal says why");
        assert_eq!((error.code, error.status_code), (40000, 400));
        assert!(error.message.contains("params.rewind"), "{}", error.message);
        client.ping().await;
    }
    let attached = client
        .attach_with(rewind_attach("robust:rewind-long", "99999999999m"))
        .await;
    assert_eq!(
        attached.error, None,
        "a long span is valid: everything kept"
    );
    hub.stop().await.unwrap();
}

fn rewind_attach(channel: &str, rewind: &str) -> ProtocolMessage {
    let mut attach = ProtocolMessage::new(ProtocolAction::Attach).with_channel(channel);
    attach.params = Some([("rewind".to_owned(), rewind.to_owned())].into());
    attach
}

/// The last msgSerial there is cannot be followed by another: refused with a NACK, and the
/// connection's numbering is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_msg_serial_at_the_end_of_the_range_is_refused_not_overflowed() {
    const CHANNEL: &str = "robust:serial";
    let hub = start_hub(HubConfig::development()).await;
    let mut client = Client::connect(hub.addr, &[]).await;
    client.attach(CHANNEL).await;
    let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(CHANNEL);
    frame.msg_serial = Some(i64::MAX);
    frame.messages = Some(vec![text_message("late", "x")]);
    client.tx.send(&frame).await;
    let reply = client
        .rx
        .recv_until("NACK for i64::MAX", PROMPT, |frame| {
            matches!(frame.action, ProtocolAction::Ack | ProtocolAction::Nack)
        })
        .await;
    assert_eq!(reply.action, ProtocolAction::Nack, "{reply:?}");
    assert_eq!(reply.msg_serial, Some(i64::MAX));
    let error = reply.error.expect("the NACK says why");
    assert_eq!(error.code, 40000);
    assert!(error.message.contains("msgSerial"), "{}", error.message);
    // Numbering carries on from 0 as if the refused frame had not been sent.
    client.round_trip(CHANNEL, "after").await;
    hub.stop().await.unwrap();
}

/// REST `offset` is checked: text is a 400 naming it, and a huge offset (which overflowed
/// `offset + limit`) is an empty page with no next link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_presence_offset_is_checked_and_never_overflows() {
    let mut config = HubConfig::development();
    config.faults = true;
    let hub = start_hub(config).await;
    let http = reqwest::Client::new();
    let get = |query: &str| {
        http.get(format!(
            "{}/channels/robust%3Aoffset/presence?{query}",
            hub.url()
        ))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .timeout(PROMPT)
        .send()
    };
    let huge = get(&format!("offset={}&limit=1000", usize::MAX))
        .await
        .unwrap();
    assert_eq!(huge.status(), 200);
    let link = huge
        .headers()
        .get("link")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(!link.contains("rel=\"next\""), "{link}");
    assert_eq!(
        huge.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!([])
    );

    let text = get("offset=ten").await.unwrap();
    assert_eq!(text.status(), 400);
    assert_eq!(text.headers()["x-ably-errorcode"], "40003");
    let body: serde_json::Value = text.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offset"),
        "{body}"
    );

    // The stall fault's duration is a client's number too.
    let stall = http
        .post(format!("{}/_hub/faults/stall?ms={}", hub.url(), u64::MAX))
        .timeout(PROMPT)
        .send()
        .await
        .unwrap();
    assert_eq!(stall.status(), 400);
    let mut client = Client::connect(hub.addr, &[]).await;
    client.ping().await;
    hub.stop().await.unwrap();
}

/// The hub asks for a new token once per token, at half its life (here 2 s of 4 s): a
/// client's own traffic every 50 ms does not push the request later, and the renewed
/// connection never sees 40142.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_request_comes_at_half_life_whatever_the_traffic() {
    const CHANNEL: &str = "robust:renewal";
    const TTL_MS: u64 = 4000;
    let hub = start_hub(HubConfig::development()).await;
    let token = request_token(&hub, TTL_MS).await;
    let client = Client::connect(hub.addr, &[("access_token", token.token.expose())]).await;
    let Client { mut tx, mut rx, .. } = client;
    tx.send(&ProtocolMessage::new(ProtocolAction::Attach).with_channel(CHANNEL))
        .await;

    // The client publishes every 50 ms from start to finish; the AUTH answer goes out on
    // the same sender, between two publishes.
    let (answer_tx, mut answers) = tokio::sync::mpsc::channel::<ProtocolMessage>(1);
    let (stop_tx, mut stop) = watch::channel(false);
    let publisher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut sent = 0u32;
        while !*stop.borrow() {
            tokio::select! {
                _ = tick.tick() => {
                    tx.publish(CHANNEL, vec![text_message("tick", "")]).await;
                    sent += 1;
                }
                Some(answer) = answers.recv() => tx.send(&answer).await,
                _ = stop.changed() => {}
            }
        }
        (tx, sent)
    });

    let auth = rx
        .recv_until("AUTH", Duration::from_millis(TTL_MS) + PROMPT, |frame| {
            assert_ne!(frame.action, ProtocolAction::Disconnected, "{frame:?}");
            frame.action == ProtocolAction::Auth
        })
        .await;
    let asked_after_ms = now_ms().saturating_sub(token.issued);
    assert_eq!(auth.action, ProtocolAction::Auth);
    assert!(
        (1500..=2500).contains(&asked_after_ms),
        "AUTH came {asked_after_ms} ms into a {TTL_MS} ms token, not at half its life"
    );

    let fresh = request_token(&hub, 60_000).await;
    let mut answer = ProtocolMessage::new(ProtocolAction::Auth);
    answer.auth = Some(AuthDetails {
        access_token: fresh.token.expose().to_owned(),
    });
    answer_tx.send(answer).await.unwrap();
    // Traffic goes on past the first token's expiry without a 40142.
    let mut acks = 0;
    let past_expiry =
        Instant::now() + Duration::from_millis(token.expires.saturating_sub(now_ms()) + 1000);
    while let Some(incoming) = rx.next(past_expiry - Instant::now()).await {
        let common::Incoming::Frame(frame) = incoming else {
            panic!("the connection closed");
        };
        assert!(
            frame.error.as_ref().is_none_or(|error| error.code != 40142),
            "the renewed connection saw 40142: {frame:?}"
        );
        assert_ne!(frame.action, ProtocolAction::Disconnected, "{frame:?}");
        acks += usize::from(frame.action == ProtocolAction::Ack);
        if Instant::now() >= past_expiry {
            break;
        }
    }
    stop_tx.send_replace(true);
    let (_, sent) = publisher.await.unwrap();
    assert!(
        sent >= 60,
        "the client published throughout ({sent} frames)"
    );
    assert!(
        acks >= 20,
        "publishes went on being acknowledged after the AUTH request ({acks} ACKs)"
    );
    hub.stop().await.unwrap();
}

// ---- a session that ends however it ends cleans up ----------------------------------------

/// A session task that panics (injected by the panic fault: nothing real does any more)
/// still removes its subscriptions, marks its connection gone, and its presence member
/// leaves after the usual grace; the connection's state goes after the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_panics_still_cleans_up() {
    const CHANNEL: &str = "robust:panic";
    let mut config = HubConfig::development();
    config.faults = true;
    config.presence_grace = Duration::from_millis(500);
    config.connection_state_ttl = Duration::from_secs(2);
    let grace = config.presence_grace;
    let hub = start_hub(config).await;

    let mut observer = Client::connect(hub.addr, &[]).await;
    observer.attach(CHANNEL).await;
    let mut doomed = enter_member(&hub, &mut observer, CHANNEL, "doomed").await;
    let before = channel_metrics(&hub, CHANNEL).await;
    assert_eq!(before["connections"], 2, "{before}");
    assert_eq!(before["presenceMembers"], 1, "{before}");
    assert_eq!(hub.connections().live, 2);

    let armed = reqwest::Client::new()
        .post(format!("{}/_hub/faults/panic", hub.url()))
        .timeout(PROMPT)
        .send()
        .await
        .unwrap();
    assert!(armed.status().is_success());
    let panicked_at = Instant::now();
    let mut ping = ProtocolMessage::new(ProtocolAction::Heartbeat);
    ping.id = Some("last words".into());
    doomed.tx.send(&ping).await;
    doomed.rx.drain_until_closed(PROMPT).await;

    // Its member leaves, after the grace as for any lost transport.
    observer
        .rx
        .recv_until("LEAVE for doomed", grace + PROMPT, |frame| {
            is_presence(frame, PresenceAction::Leave, "doomed")
        })
        .await;
    assert!(panicked_at.elapsed() >= grace.mul_f32(0.9));
    let after = channel_metrics(&hub, CHANNEL).await;
    assert_eq!(after["connections"], 1, "only the observer: {after}");
    assert_eq!(after["presenceMembers"], 0, "{after}");
    assert_eq!(hub.connections().live, 1);

    // Its state is forgotten once the TTL passes.
    let deadline = Instant::now() + PROMPT;
    while hub.connections().held > 1 {
        assert!(Instant::now() < deadline, "{:?}", hub.connections());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The hub still serves everyone else.
    observer.round_trip(CHANNEL, "still here").await;
    hub.stop().await.unwrap();
}

/// A channel's occupancy through REST channel details.
async fn channel_metrics(hub: &RunningHub, channel: &str) -> serde_json::Value {
    let details = rest_json(hub, &format!("/channels/{}", channel.replace(':', "%3A"))).await;
    details["status"]["occupancy"]["metrics"].clone()
}

/// A REST GET with the development key, as JSON.
async fn rest_json(hub: &RunningHub, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}{path}", hub.url()))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .timeout(PROMPT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

// ---- the development key stays on loopback -------------------------------------------------

/// `brokerdash hub --listen 0.0.0.0:0` makes a key of its own, prints it once, accepts it,
/// and neither prints nor accepts the fixed development key; given that key explicitly on
/// such an address, it refuses to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_beyond_loopback_never_uses_the_development_key() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    /// Kills the hub however the test ends: it listens beyond loopback.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Running(
        Command::new(common::processes::BINARY)
            .args(["hub", "--listen", "0.0.0.0:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let (mut listening, mut key_line) = (String::new(), String::new());
    stdout.read_line(&mut listening).unwrap();
    stdout.read_line(&mut key_line).unwrap();
    let port = listening.trim().rsplit(':').next().unwrap().to_owned();
    let printed = format!("{listening}{key_line}");
    assert!(!printed.contains(DEVELOPMENT_KEY), "{printed}");
    assert!(!printed.contains("local-development-secret"), "{printed}");
    let generated = key_line
        .strip_prefix("key: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no key line: {key_line:?}"));
    let key: ApiKey = generated.parse().unwrap();

    let channels = |name: String, secret: String| {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/channels"))
            .basic_auth(name, Some(secret))
            .timeout(PROMPT)
            .send()
    };
    let accepted = channels(key.name().to_owned(), key.secret().expose().to_owned())
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200, "the printed key works");
    let refused = channels(
        "brokerdash.hub".to_owned(),
        "local-development-secret".to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 401, "the development key does not");
    // Nor does the web app's token endpoint sign tokens for whoever asks.
    let token_endpoint = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/ably/auth"))
        .json(&serde_json::json!({"brokerId": "7"}))
        .timeout(PROMPT)
        .send()
        .await
        .unwrap();
    assert_eq!(token_endpoint.status(), 404);
    drop(child);

    let faults = Command::new(common::processes::BINARY)
        .args(["hub", "--listen", "0.0.0.0:0", "--faults"])
        .output()
        .unwrap();
    assert!(
        !faults.status.success(),
        "no fault switches beyond loopback"
    );
    assert!(String::from_utf8_lossy(&faults.stderr).contains("--allow-remote-dev-endpoints"));

    let explicit = Command::new(common::processes::BINARY)
        .args(["hub", "--listen", "0.0.0.0:0", "--key", DEVELOPMENT_KEY])
        .output()
        .unwrap();
    assert!(!explicit.status.success(), "it must not start");
    let said = String::from_utf8_lossy(&explicit.stderr);
    assert!(said.contains("loopback"), "{said}");
    assert!(!String::from_utf8_lossy(&explicit.stdout).contains("local-development-secret"));
}

/// A PRESENCE frame whose second member is refused still counts its first member as the
/// connection's: when the connection closes, that member leaves too (found by the
/// property test in `hub_hostile.rs`: it used to stay for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_applied_before_a_refused_one_leave_with_their_connection() {
    const CHANNEL: &str = "robust:half-refused";
    let hub = start_hub(HubConfig::development()).await;
    let mut observer = Client::connect(hub.addr, &[]).await;
    observer.attach(CHANNEL).await;
    let mut member = Client::connect(hub.addr, &[]).await;
    let mut first = PresenceMessage::new(PresenceAction::Enter);
    first.client_id = Some("first".into());
    let mut refused = PresenceMessage::new(PresenceAction::Unknown(99));
    refused.client_id = Some("second".into());
    let serial = member.tx.presence(CHANNEL, vec![first, refused]).await;
    let reply = member
        .rx
        .recv_until("NACK", PROMPT, |frame| common::acks(frame, serial))
        .await;
    assert_eq!(reply.action, ProtocolAction::Nack, "{reply:?}");
    observer
        .rx
        .recv_until("ENTER for first", PROMPT, |frame| {
            is_presence(frame, PresenceAction::Enter, "first")
        })
        .await;

    member
        .tx
        .send(&ProtocolMessage::new(ProtocolAction::Close))
        .await;
    member.rx.drain_until_closed(PROMPT).await;
    observer
        .rx
        .recv_until("LEAVE for first", PROMPT, |frame| {
            is_presence(frame, PresenceAction::Leave, "first")
        })
        .await;
    assert_eq!(channel_metrics(&hub, CHANNEL).await["presenceMembers"], 0);
    hub.stop().await.unwrap();
}

// ---- nothing a client sends grows the hub without bound ------------------------------------

/// A channel holds at most `max_presence_members` members (Ably: 200): one more is refused
/// with 91003, while present members still update and a place freed by a LEAVE is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_beyond_the_member_limit_is_refused_with_91003() {
    const CHANNEL: &str = "robust:crowd";
    let mut config = HubConfig::development();
    config.max_presence_members = 3;
    let hub = start_hub(config).await;
    let mut client = Client::connect(hub.addr, &[]).await;
    let mut act = async |action: PresenceAction, client_id: &str| {
        let mut member = PresenceMessage::new(action);
        member.client_id = Some(client_id.to_owned());
        let serial = client.tx.presence(CHANNEL, vec![member]).await;
        client
            .rx
            .recv_until(&format!("ACK or NACK {serial}"), PROMPT, |frame| {
                matches!(frame.action, ProtocolAction::Ack | ProtocolAction::Nack)
                    && common::acks(frame, serial)
            })
            .await
    };
    for client_id in ["a", "b", "c"] {
        assert_eq!(
            act(PresenceAction::Enter, client_id).await.action,
            ProtocolAction::Ack
        );
    }
    let refused = act(PresenceAction::Enter, "d").await;
    assert_eq!(refused.action, ProtocolAction::Nack);
    assert_eq!(refused.error.map(|error| error.code), Some(91003));
    assert_eq!(
        act(PresenceAction::Update, "a").await.action,
        ProtocolAction::Ack
    );
    assert_eq!(
        act(PresenceAction::Leave, "b").await.action,
        ProtocolAction::Ack
    );
    assert_eq!(
        act(PresenceAction::Enter, "d").await.action,
        ProtocolAction::Ack
    );
    hub.stop().await.unwrap();
}

/// Presence data counts against the message size limit, as message data does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_presence_data_is_refused_with_40009() {
    let mut config = HubConfig::development();
    config.max_message_bytes = 1024;
    let hub = start_hub(config).await;
    let mut client = Client::connect(hub.addr, &[("clientId", "big")]).await;
    let mut member = PresenceMessage::new(PresenceAction::Enter);
    member.data = Some(serde_json::Value::String("x".repeat(2048)));
    let serial = client.tx.presence("robust:big", vec![member]).await;
    let reply = client
        .rx
        .recv_until("NACK", PROMPT, |frame| common::acks(frame, serial))
        .await;
    assert_eq!(reply.action, ProtocolAction::Nack);
    assert_eq!(reply.error.map(|error| error.code), Some(40009));
    let members = rest_json(&hub, "/channels/robust%3Abig/presence").await;
    assert_eq!(members, serde_json::json!([]), "nobody entered");
    hub.stop().await.unwrap();
}

/// Attaching to fresh names and leaving again must not grow the hub for ever: a closed
/// channel that holds nothing is forgotten, one with history is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_that_hold_nothing_are_forgotten() {
    const FRESH: usize = 50;
    let mut config = HubConfig::development();
    config.sweep_interval = Duration::from_millis(50);
    config.channel_idle_close = Duration::ZERO;
    // Forgotten once empty for the state TTL: a client back within it still resumes.
    config.connection_state_ttl = Duration::from_millis(300);
    let hub = start_hub(config).await;
    let mut client = Client::connect(hub.addr, &[]).await;
    client.attach("robust:kept").await;
    client
        .publish_acked("robust:kept", vec![text_message("history", "stays")])
        .await;
    for index in 0..FRESH {
        let name = format!("robust:fresh-{index}");
        client.attach(&name).await;
        client
            .tx
            .send(&ProtocolMessage::new(ProtocolAction::Detach).with_channel(&name))
            .await;
        client
            .rx
            .recv_until("DETACHED", PROMPT, |frame| {
                frame.action == ProtocolAction::Detached
            })
            .await;
    }
    client
        .tx
        .send(&ProtocolMessage::new(ProtocolAction::Detach).with_channel("robust:kept"))
        .await;
    // Left: the channel with history, and the lifecycle metachannel (its announcements
    // are its history).
    let deadline = Instant::now() + PROMPT;
    while hub.channels_held() > 2 {
        assert!(
            Instant::now() < deadline,
            "{} channels still held",
            hub.channels_held()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let history = rest_json(&hub, "/channels/robust%3Akept/messages").await;
    assert_eq!(history[0]["data"], "stays", "{history}");
    hub.stop().await.unwrap();
}

/// A client that answers AUTH with a token already past its renewal point (the same one
/// again, say) is not asked again at once, in a loop: only the expiry is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_auth_with_the_same_token_is_not_asked_again_at_once() {
    const TTL_MS: u64 = 3000;
    let hub = start_hub(HubConfig::development()).await;
    let token = request_token(&hub, TTL_MS).await;
    let mut client = Client::connect(hub.addr, &[("access_token", token.token.expose())]).await;
    client
        .rx
        .recv_until("AUTH", PROMPT, |frame| frame.action == ProtocolAction::Auth)
        .await;
    let mut same = ProtocolMessage::new(ProtocolAction::Auth);
    same.auth = Some(AuthDetails {
        access_token: token.token.expose().to_owned(),
    });
    client.tx.send(&same).await;
    client
        .rx
        .recv_until("CONNECTED after AUTH", PROMPT, |frame| {
            assert_ne!(frame.action, ProtocolAction::Auth, "asked again at once");
            frame.action == ProtocolAction::Connected
        })
        .await;
    // Until the token expires: no AUTH, then DISCONNECTED 40142.
    let frames = client
        .rx
        .drain_until_closed(Duration::from_millis(TTL_MS) + PROMPT)
        .await;
    let auths = frames
        .iter()
        .filter(|frame| frame.action == ProtocolAction::Auth)
        .count();
    assert_eq!(auths, 0, "{frames:?}");
    let last = frames.last().expect("DISCONNECTED before the close");
    assert_eq!(last.error.as_ref().map(|error| error.code), Some(40142));
    hub.stop().await.unwrap();
}

/// When a connection is resumed on a new transport while its old one is still open, the
/// old one is closed, as on Ably: it must not go on acting (entering presence, say) for a
/// connection that is no longer its own, where nothing would ever take its members away
/// (found by the property test in `hub_hostile.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_connection_closes_its_old_transport() {
    const CHANNEL: &str = "robust:taken-over";
    let hub = start_hub(HubConfig::development()).await;
    let mut old = Client::connect(hub.addr, &[("clientId", "sam")]).await;
    old.attach(CHANNEL).await;
    let mut new = Client::connect(
        hub.addr,
        &[("resume", old.connection_key()), ("clientId", "sam")],
    )
    .await;
    assert_eq!(new.connection_id(), old.connection_id(), "resumed");
    old.rx.drain_until_closed(PROMPT).await;
    new.attach(CHANNEL).await;
    new.round_trip(CHANNEL, "still-works").await;
    new.tx
        .send(&ProtocolMessage::new(ProtocolAction::Close))
        .await;
    new.rx.drain_until_closed(PROMPT).await;
    let deadline = Instant::now() + PROMPT;
    while hub.occupancy() != brokerdash::hub::Occupancy::default() || hub.connections().held > 0 {
        assert!(
            Instant::now() < deadline,
            "{:?} {:?}",
            hub.occupancy(),
            hub.connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.stop().await.unwrap();
}

/// REST history's `untilAttach` bound: ably-js sends `from_serial`; the hub reads that and
/// the camel-case spelling alike (an unknown serial is refused under either name).
#[tokio::test]
async fn rtl10b_history_reads_from_serial_under_both_spellings() {
    let hub = start_hub(HubConfig::development()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/channels/robust%3Auntil/messages", hub.url());
    let sent = http
        .post(&url)
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .json(&serde_json::json!([{"name": "n", "data": "one"}, {"name": "n", "data": "two"}]))
        .timeout(PROMPT)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    let get = |query: &str| {
        http.get(format!("{url}?{query}"))
            .basic_auth("brokerdash.hub", Some("local-development-secret"))
            .timeout(PROMPT)
            .send()
    };
    let all = get("limit=10").await.unwrap();
    assert_eq!(all.status(), 200);
    assert_eq!(
        all.json::<serde_json::Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for name in ["from_serial", "fromSerial"] {
        let refused = get(&format!("{name}=not-a-serial")).await.unwrap();
        assert_eq!(refused.status(), 400, "{name}");
        assert_eq!(refused.headers()["x-ably-errorcode"], "40003", "{name}");
        let body: serde_json::Value = refused.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("from_serial"), "{name}: {message}");
    }
    hub.stop().await.unwrap();
}
