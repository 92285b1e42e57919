//! The hub in msgpack, Ably's binary protocol: a WebSocket connection with `format=msgpack`
//! gets binary frames and may send them; REST bodies and answers are msgpack when asked;
//! malformed msgpack is refused with a typed error. (ably-js's own use of it, under both
//! protocols, is in the conformance suite.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::protocol::{ProtocolAction, ProtocolMessage, msgpack};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_binary(socket: &mut Socket) -> ProtocolMessage {
    loop {
        let message = timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a frame");
        match message {
            WsMessage::Binary(bytes) => {
                let value = msgpack::to_json(&bytes).expect("msgpack from the hub");
                return serde_json::from_value(value).expect("a protocol message");
            }
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
}

fn binary(frame: &ProtocolMessage) -> WsMessage {
    let value = serde_json::to_value(frame).unwrap();
    WsMessage::Binary(msgpack::from_json(&value).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_msgpack_connection_speaks_binary_frames_both_ways() {
    let hub = common::start_hub(HubConfig::development()).await;
    let url = common::realtime_url(hub.addr, &[])
        .to_string()
        .replace("format=json", "format=msgpack");
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let connected = next_binary(&mut socket).await;
    assert_eq!(connected.action, ProtocolAction::Connected);

    let attach = ProtocolMessage::new(ProtocolAction::Attach).with_channel("conversation:1");
    socket.send(binary(&attach)).await.unwrap();
    let attached = next_binary(&mut socket).await;
    assert_eq!(attached.action, ProtocolAction::Attached);

    // Binary data published as msgpack `bin` comes back as the same bytes.
    let mut publish = serde_json::to_value(
        ProtocolMessage::new(ProtocolAction::Message).with_channel("conversation:1"),
    )
    .unwrap();
    publish["msgSerial"] = json!(0);
    let mut bytes = msgpack::from_json(&publish);
    // Append `messages: [{name: "raw", data: bin[0,1,255]}]` to the map by hand: the map
    // grows by one entry.
    bytes[0] += 1;
    bytes.extend_from_slice(&[0xa8]);
    bytes.extend_from_slice(b"messages");
    bytes.extend_from_slice(&[0x91, 0x82, 0xa4]);
    bytes.extend_from_slice(b"name");
    bytes.extend_from_slice(&[0xa3]);
    bytes.extend_from_slice(b"raw");
    bytes.extend_from_slice(&[0xa4]);
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&[0xc4, 3, 0, 1, 255]);
    socket.send(WsMessage::Binary(bytes.into())).await.unwrap();
    let mut echoed = None;
    for _ in 0..4 {
        let frame = next_binary(&mut socket).await;
        if frame.action == ProtocolAction::Message {
            echoed = Some(frame);
            break;
        }
    }
    let echoed = echoed.expect("the message came back (echo)");
    let message = &echoed.messages.as_ref().unwrap()[0];
    let decoded =
        brokerdash::protocol::data::decode(message.data.as_ref(), message.encoding.as_deref());
    assert_eq!(
        decoded.payload,
        brokerdash::protocol::data::Payload::Binary(vec![0, 1, 255])
    );
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_msgpack_and_binary_on_a_json_connection_are_refused() {
    let hub = common::start_hub(HubConfig::development()).await;
    let msgpack_url = common::realtime_url(hub.addr, &[])
        .to_string()
        .replace("format=json", "format=msgpack");
    let (mut socket, _) = tokio_tungstenite::connect_async(msgpack_url.as_str())
        .await
        .unwrap();
    next_binary(&mut socket).await;
    // An array claiming 4 billion items in five bytes.
    socket
        .send(WsMessage::Binary(vec![0xdd, 0xff, 0xff, 0xff, 0xff].into()))
        .await
        .unwrap();
    let error = next_binary(&mut socket).await;
    assert_eq!(error.action, ProtocolAction::Error);
    let info = error.error.unwrap();
    assert_eq!(info.code, 40000);
    assert!(
        info.message.contains("Malformed msgpack"),
        "{}",
        info.message
    );

    let mut json = common::Client::connect(hub.addr, &[]).await;
    json.tx.send_raw(WsMessage::Binary(vec![0x80].into())).await;
    let refused = json.rx.next_frame(Duration::from_secs(10)).await;
    assert_eq!(refused.action, ProtocolAction::Error);
    assert!(refused.error.unwrap().message.contains("format=msgpack"));

    let answer = reqwest::Client::new()
        .post(format!("{}/channels/conversation%3A1/messages", hub.url()))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .header("content-type", "application/x-msgpack")
        .body(vec![0xc1])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], 40000);
    assert!(DEVELOPMENT_KEY.starts_with("brokerdash.hub:"));
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_answers_in_msgpack_when_asked_and_reads_msgpack_bodies() {
    let hub = common::start_hub(HubConfig::development()).await;
    let http = reqwest::Client::new();
    let messages = json!([{"name": "greeting", "data": "hello"}]);
    let published = http
        .post(format!("{}/channels/conversation%3A2/messages", hub.url()))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .header("content-type", "application/x-msgpack")
        .header("accept", "application/x-msgpack")
        .body(msgpack::from_json(&messages))
        .send()
        .await
        .unwrap();
    assert!(published.status().is_success(), "{}", published.status());
    assert_eq!(published.headers()["content-type"], "application/x-msgpack");
    let history = http
        .get(format!("{}/channels/conversation%3A2/messages", hub.url()))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .header("accept", "application/x-msgpack")
        .send()
        .await
        .unwrap();
    assert_eq!(history.headers()["content-type"], "application/x-msgpack");
    let items = msgpack::to_json(&history.bytes().await.unwrap()).unwrap();
    assert_eq!(items[0]["name"], "greeting");
    assert_eq!(items[0]["data"], "hello");
    let plain = http
        .get(format!("{}/channels/conversation%3A2/messages", hub.url()))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .send()
        .await
        .unwrap();
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "JSON unless asked"
    );
    hub.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_the_hub_cannot_speak_is_refused_with_an_error_that_says_so() {
    let hub = common::start_hub(HubConfig::development()).await;
    let url = common::realtime_url(hub.addr, &[])
        .to_string()
        .replace("format=json", "format=xml");
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let frame = timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("an answer, not silence")
        .expect("a frame")
        .expect("readable");
    let WsMessage::Text(text) = frame else {
        panic!("expected a JSON error frame, got {frame:?}")
    };
    let error: ProtocolMessage = serde_json::from_str(&text).unwrap();
    assert_eq!(error.action, ProtocolAction::Error);
    let info = error.error.unwrap();
    assert_eq!(info.code, 40000);
    assert!(info.message.contains("xml"), "{}", info.message);
    hub.stop().await.unwrap();
}
