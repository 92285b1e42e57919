//! Shared helpers for the integration tests: an in-process hub on a free loopback port and
//! a raw protocol client that speaks Ably's JSON frames over tokio-tungstenite, so a test
//! can send exactly the frames it means (malformed ones included) and see exactly what the
//! hub answers.
//!
//! Every wait takes a deadline and panics with a description when it passes: a test that
//! hangs tells nobody anything.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

pub mod events;
pub mod gate;
pub mod processes;
pub mod pty;

use std::net::SocketAddr;
use std::time::Duration;

use brokerdash::hub::{self, DEVELOPMENT_KEY, HubConfig, RunningHub};
use brokerdash::protocol::{Message, ProtocolAction, ProtocolMessage, decode_frame, encode_frame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

/// Deadline for anything that should happen promptly on loopback.
pub const PROMPT: Duration = Duration::from_secs(10);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Starts a hub in this process on `127.0.0.1:0`; clients connect to its `addr`.
pub async fn start_hub(config: HubConfig) -> RunningHub {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    hub::spawn(listener, config).expect("start the hub")
}

/// The realtime URL of a hub with the query a JSON client sends (ably-protocol.md §1.2),
/// authenticated with the development key unless `params` names `access_token`.
pub fn realtime_url(hub: SocketAddr, params: &[(&str, &str)]) -> url::Url {
    let mut url = url::Url::parse(&format!("ws://{hub}/")).expect("hub address");
    {
        let mut query = url.query_pairs_mut();
        if !params.iter().any(|(name, _)| *name == "access_token") {
            query.append_pair("key", DEVELOPMENT_KEY);
        }
        query
            .append_pair("format", "json")
            .append_pair("heartbeats", "true")
            .append_pair("v", "6");
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    url
}

/// One raw realtime connection. The halves are public so a test can send and receive
/// from different tasks (or never receive at all, to play a stalled reader).
pub struct Client {
    pub tx: FrameSender,
    pub rx: FrameReceiver,
    /// The CONNECTED frame the hub opened with.
    pub connected: ProtocolMessage,
}

impl Client {
    /// Connects and waits for CONNECTED; `params` are extra query parameters
    /// (`resume`, `echo`, `clientId`, `access_token`…).
    pub async fn connect(hub: SocketAddr, params: &[(&str, &str)]) -> Self {
        let (tx, mut rx) = open(hub, params).await;
        let connected = rx
            .recv_until("CONNECTED", PROMPT, |frame| {
                frame.action == ProtocolAction::Connected
            })
            .await;
        Self { tx, rx, connected }
    }

    pub fn connection_id(&self) -> &str {
        self.connected
            .connection_id
            .as_deref()
            .expect("CONNECTED carries a connectionId")
    }

    pub fn connection_key(&self) -> &str {
        self.connected
            .connection_details
            .as_ref()
            .and_then(|details| details.connection_key.as_deref())
            .expect("CONNECTED carries a connectionKey")
    }

    /// Attaches with default modes and returns the ATTACHED frame.
    pub async fn attach(&mut self, channel: &str) -> ProtocolMessage {
        self.attach_with(ProtocolMessage::new(ProtocolAction::Attach).with_channel(channel))
            .await
    }

    /// Sends an ATTACH as given (flags, channelSerial, params) and returns the ATTACHED.
    pub async fn attach_with(&mut self, attach: ProtocolMessage) -> ProtocolMessage {
        let channel = attach.channel.clone().expect("ATTACH names a channel");
        self.tx.send(&attach).await;
        self.rx
            .recv_until(&format!("ATTACHED {channel}"), PROMPT, |frame| {
                frame.action == ProtocolAction::Attached
                    && frame.channel.as_deref() == Some(&channel)
            })
            .await
    }

    /// Publishes and waits for this publish's ACK (NACK fails the test).
    pub async fn publish_acked(&mut self, channel: &str, messages: Vec<Message>) {
        let serial = self.tx.publish(channel, messages).await;
        self.rx.expect_ack(serial, PROMPT).await;
    }

    /// Publishes one message on a channel this client attached (with echo on) and waits
    /// for both its ACK and its echo, which may come in either order.
    pub async fn round_trip(&mut self, channel: &str, name: &str) {
        let serial = self.tx.publish(channel, vec![text_message(name, "")]).await;
        let (mut acked, mut echoed) = (false, false);
        while !(acked && echoed) {
            let frame = self
                .rx
                .recv_until(&format!("ACK and echo of {name}"), PROMPT, |frame| {
                    matches!(
                        frame.action,
                        ProtocolAction::Ack | ProtocolAction::Nack | ProtocolAction::Message
                    )
                })
                .await;
            match frame.action {
                ProtocolAction::Message => {
                    let messages = frame.messages.unwrap_or_default();
                    echoed |= frame.channel.as_deref() == Some(channel)
                        && messages.iter().any(|m| m.name.as_deref() == Some(name));
                }
                _ if acks(&frame, serial) => {
                    assert_eq!(frame.action, ProtocolAction::Ack, "NACK: {:?}", frame.error);
                    acked = true;
                }
                _ => {}
            }
        }
    }

    /// A ping that the hub must answer: proof the connection still works.
    pub async fn ping(&mut self) {
        let id = format!("ping-{}", self.tx.next_msg_serial);
        let mut ping = ProtocolMessage::new(ProtocolAction::Heartbeat);
        ping.id = Some(id.clone());
        self.tx.send(&ping).await;
        self.rx
            .recv_until("HEARTBEAT reply", PROMPT, |frame| {
                frame.action == ProtocolAction::Heartbeat && frame.id.as_deref() == Some(&id)
            })
            .await;
    }
}

/// Opens the WebSocket without waiting for anything (to see refusals and first frames).
pub async fn open(hub: SocketAddr, params: &[(&str, &str)]) -> (FrameSender, FrameReceiver) {
    let url = realtime_url(hub, params);
    // TCP_NODELAY, as ably-js (the `ws` package) and browsers do: with Nagle's algorithm
    // each small frame could wait for the previous one's ACK.
    let (socket, _) = timeout(PROMPT, connect_async_with_config(url.as_str(), None, true))
        .await
        .expect("WebSocket upgrade within the deadline")
        .expect("WebSocket upgrade");
    let (sink, stream) = socket.split();
    (
        FrameSender {
            sink,
            next_msg_serial: 0,
        },
        FrameReceiver { stream },
    )
}

pub struct FrameSender {
    sink: SplitSink<Socket, WsMessage>,
    /// The msgSerial the next MESSAGE or PRESENCE frame gets (ably-protocol.md §4.3).
    pub next_msg_serial: i64,
}

impl FrameSender {
    pub async fn send(&mut self, frame: &ProtocolMessage) {
        self.send_raw(WsMessage::text(encode_frame(frame))).await;
    }

    /// Any WebSocket message, however wrong.
    pub async fn send_raw(&mut self, message: WsMessage) {
        timeout(PROMPT, self.sink.send(message))
            .await
            .expect("send within the deadline")
            .expect("send a WebSocket message");
    }

    /// Sends a MESSAGE frame with the next msgSerial and returns that serial.
    pub async fn publish(&mut self, channel: &str, messages: Vec<Message>) -> i64 {
        let serial = self.next_msg_serial;
        self.next_msg_serial += 1;
        let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(channel);
        frame.msg_serial = Some(serial);
        frame.messages = Some(messages);
        self.send(&frame).await;
        serial
    }

    /// Sends a PRESENCE frame with the next msgSerial and returns that serial.
    pub async fn presence(
        &mut self,
        channel: &str,
        presence: Vec<brokerdash::protocol::PresenceMessage>,
    ) -> i64 {
        let serial = self.next_msg_serial;
        self.next_msg_serial += 1;
        let mut frame = ProtocolMessage::new(ProtocolAction::Presence).with_channel(channel);
        frame.msg_serial = Some(serial);
        frame.presence = Some(presence);
        self.send(&frame).await;
        serial
    }
}

/// What arrives on a connection.
#[derive(Debug)]
pub enum Incoming {
    Frame(Box<ProtocolMessage>),
    /// A close frame, the end of the stream or a socket error: the transport is gone.
    Closed,
}

pub struct FrameReceiver {
    stream: SplitStream<Socket>,
}

impl FrameReceiver {
    /// The WebSocket stream itself, for readers that handle raw text (the benchmark).
    pub fn into_stream(self) -> SplitStream<Socket> {
        self.stream
    }

    /// The next protocol frame or the end of the transport; `None` when `within` passes
    /// first. Frames that are not JSON ProtocolMessages fail the test.
    pub async fn next(&mut self, within: Duration) -> Option<Incoming> {
        self.next_before(Instant::now() + within).await
    }

    async fn next_before(&mut self, deadline: Instant) -> Option<Incoming> {
        loop {
            let message = timeout_at(deadline, self.stream.next()).await.ok()?;
            let text = match message {
                Some(Ok(WsMessage::Text(text))) => text,
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {
                    continue;
                }
                Some(Ok(WsMessage::Binary(bytes))) => {
                    panic!("the hub sent a binary frame of {} bytes", bytes.len())
                }
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => return Some(Incoming::Closed),
            };
            let frame = decode_frame(text.as_str(), usize::MAX)
                .unwrap_or_else(|error| panic!("the hub sent an undecodable frame ({error})"));
            return Some(Incoming::Frame(Box::new(frame)));
        }
    }

    /// The next protocol frame; fails the test if the transport closes or `within` passes.
    pub async fn next_frame(&mut self, within: Duration) -> ProtocolMessage {
        match self.next(within).await {
            Some(Incoming::Frame(frame)) => *frame,
            Some(Incoming::Closed) => panic!("the transport closed while a frame was expected"),
            None => panic!("no frame within {within:?}"),
        }
    }

    /// Skips frames until one matches; fails the test, naming `what`, if the transport
    /// closes or `within` passes first. HEARTBEATs are skipped like any other frame.
    pub async fn recv_until(
        &mut self,
        what: &str,
        within: Duration,
        mut matches: impl FnMut(&ProtocolMessage) -> bool,
    ) -> ProtocolMessage {
        let deadline = Instant::now() + within;
        let mut skipped = Vec::new();
        loop {
            match self.next_before(deadline).await {
                Some(Incoming::Frame(frame)) if matches(&frame) => return *frame,
                Some(Incoming::Frame(frame)) => skipped.push(frame.action.code()),
                Some(Incoming::Closed) => {
                    panic!(
                        "the transport closed while waiting for {what} (skipped actions {skipped:?})"
                    )
                }
                None => panic!("no {what} within {within:?} (skipped actions {skipped:?})"),
            }
        }
    }

    /// Waits for the ACK of `msg_serial`; a NACK fails the test with its error.
    pub async fn expect_ack(&mut self, msg_serial: i64, within: Duration) -> ProtocolMessage {
        let reply = self
            .recv_until(&format!("ACK {msg_serial}"), within, |frame| {
                matches!(frame.action, ProtocolAction::Ack | ProtocolAction::Nack)
                    && acks(frame, msg_serial)
            })
            .await;
        assert_eq!(reply.action, ProtocolAction::Ack, "NACK: {:?}", reply.error);
        reply
    }

    /// Reads until the transport ends, returning every frame read; fails the test if it
    /// is still open when `within` passes.
    pub async fn drain_until_closed(&mut self, within: Duration) -> Vec<ProtocolMessage> {
        let deadline = Instant::now() + within;
        let mut frames = Vec::new();
        loop {
            match self.next_before(deadline).await {
                Some(Incoming::Frame(frame)) => frames.push(*frame),
                Some(Incoming::Closed) => return frames,
                None => panic!(
                    "the transport was still open after {within:?} ({} frames read)",
                    frames.len()
                ),
            }
        }
    }

    /// Asserts nothing matching arrives within `within` (the transport may stay open).
    pub async fn expect_none(
        &mut self,
        what: &str,
        within: Duration,
        mut matches: impl FnMut(&ProtocolMessage) -> bool,
    ) {
        let deadline = Instant::now() + within;
        while let Some(Incoming::Frame(frame)) = self.next_before(deadline).await {
            assert!(!matches(&frame), "unexpected {what}: {frame:?}");
        }
    }
}

/// Whether an ACK or NACK covers `msg_serial`.
pub fn acks(frame: &ProtocolMessage, msg_serial: i64) -> bool {
    let first = frame.msg_serial.unwrap_or(-1);
    let count = i64::try_from(frame.count.unwrap_or(1)).unwrap_or(1);
    (first..first.saturating_add(count)).contains(&msg_serial)
}

/// A message with a name and a string payload.
pub fn text_message(name: &str, data: impl Into<String>) -> Message {
    Message {
        name: Some(name.to_owned()),
        data: Some(serde_json::Value::String(data.into())),
        ..Message::default()
    }
}
