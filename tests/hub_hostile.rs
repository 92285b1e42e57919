//! Every byte a client sends is hostile. A property test drives a real hub on a loopback
//! port with arbitrary sequences of frames from several connections at once: well-formed
//! frames whose fields carry hostile values (multi-byte text where numbers belong, the
//! extremes of every number type, empty and 64 KiB names, unknown actions, wrong types),
//! mixed with garbage, reconnects, and connections that vanish without a word. After each
//! sequence it checks that:
//!
//! - nothing panicked anywhere in the process (a panic hook records every panic: tokio
//!   catches a panicking session task, so a hub that stays up proves nothing);
//! - a fresh client, connecting as ably-js does, can still connect, attach and publish;
//! - once every connection has ended, the hub holds no connection, no subscription and no
//!   presence member (through its connection counts, REST channel details and REST
//!   presence).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use brokerdash::hub::{ConnectionCounts, HubConfig, Occupancy, RunningHub};
use common::{Client, PROMPT, Socket, realtime_url, start_hub};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CONNECTIONS: usize = 3;
const PRESENCE_GRACE: Duration = Duration::from_millis(200);
const STATE_TTL: Duration = Duration::from_millis(600);
const REST_KEY: (&str, &str) = ("brokerdash.hub", "local-development-secret");

// ---- recording panics -----------------------------------------------------------------------

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs, once, a hook that records every panic in this process (then reports it as
/// the default hook does).
fn record_panics() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mut panics = PANICS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            panics.push(info.to_string());
            drop(panics);
            report(info);
        }));
    });
}

/// Marks the one panic this file causes on purpose, in the recorder's own test.
const DELIBERATE: &str = "recorder check: a task panics";

/// The panics recorded since the last call (the deliberate one aside), so that each run
/// of the property, shrinking included, is judged on its own.
fn take_panics() -> Vec<String> {
    let mut panics = PANICS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (deliberate, others) = std::mem::take(&mut *panics)
        .into_iter()
        .partition(|panic| panic.contains(DELIBERATE));
    *panics = deliberate;
    others
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

// ---- hostile values -------------------------------------------------------------------------

/// Text that has broken parsers: multi-byte characters where a unit or a digit is expected,
/// overflowing numbers, reserved and malformed channel names, controls, 64 KiB.
fn hostile_text() -> BoxedStrategy<String> {
    prop_oneof![
        20 => prop::sample::select(vec![
            "", "é", "1é", "é1", "🙂", "名前:チャンネル", "conversation:1", "conversation:é",
            "[meta]channel.lifecycle", "[meta]other", ":leading", "a\nb", "*", "9", "-5s",
            "99999999999m", "99999999999999999999m", "9223372036854775807h",
            "18446744073709551616", "-9223372036854775808", "1.5s", "0x10", "1e9",
            "epoch:18446744073709551616", "abc:-1", "!", "key!", "a!b", "\u{0}", "\u{202e}rtl",
        ])
        .prop_map(str::to_owned),
        12 => "\\PC{0,24}",
        6 => any::<String>().prop_map(|text| text.chars().take(64).collect()),
        // Rare: one in a message is enough to refuse the whole publish as too large.
        1 => Just("x".repeat(64 * 1024)),
        1 => Just("é".repeat(32 * 1024)),
    ]
    .boxed()
}

/// Numbers at the edges of every type a field might be read as.
fn hostile_number() -> BoxedStrategy<Value> {
    prop_oneof![
        hostile_signed(),
        hostile_unsigned(),
        prop::sample::select(vec![json!(1e308), json!(-0.5), json!(0.5)]),
    ]
    .boxed()
}

/// For a field read as a signed integer (msgSerial, timestamp).
fn hostile_signed() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(vec![0, 1, -1, 2, i64::MAX, i64::MIN, i64::MAX - 1, 1 << 53])
            .prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
    ]
    .boxed()
}

/// For a field read as an unsigned integer (action, count, flags).
fn hostile_unsigned() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(vec![0, 1, 2, u64::MAX, 1 << 63, u64::from(u32::MAX), (1 << 53) + 1])
            .prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
    ]
    .boxed()
}

/// A value of the wrong type for whatever field it lands in.
fn wrong_type() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        Just(json!([])),
        Just(json!({})),
        Just(json!([[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]])),
        hostile_text().prop_map(Value::String),
        hostile_number(),
    ]
    .boxed()
}

/// The right type with a hostile value (wrong types come from `mistyped_frame`: one in a
/// frame is enough for the whole frame to be refused, so they are kept to one per frame).
fn text_field() -> BoxedStrategy<Value> {
    hostile_text().prop_map(Value::String).boxed()
}

/// A channel from a small set, so that frames from different connections meet on it.
fn channel_field() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => prop::sample::select(vec!["conversation:1", "conversation:2", "名前:é"])
            .prop_map(Value::from),
        2 => hostile_text().prop_map(Value::String),
    ]
    .boxed()
}

fn optional(field: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(0.7, field).boxed()
}

fn data_field() -> BoxedStrategy<Value> {
    prop_oneof![
        hostile_text().prop_map(Value::String),
        Just(json!({"messageId": "m1", "content": "hello"})),
        wrong_type(),
    ]
    .boxed()
}

fn message() -> BoxedStrategy<Value> {
    (
        optional(text_field()),
        optional(data_field()),
        optional(prop_oneof![
            prop::sample::select(vec![
                "json",
                "base64",
                "utf-8/base64",
                "cipher+aes-128-cbc/base64",
                "json/json/base64"
            ])
            .prop_map(Value::from),
            text_field(),
        ]),
        optional(text_field()),
        optional(text_field()),
        optional(prop_oneof![
            Just(json!({"headers": {"a": 1}})),
            wrong_type()
        ]),
    )
        .prop_map(|(name, data, encoding, id, client_id, extras)| {
            object([
                ("name", name),
                ("data", data),
                ("encoding", encoding),
                ("id", id),
                ("clientId", client_id),
                ("extras", extras),
            ])
        })
        .boxed()
}

fn presence_member() -> BoxedStrategy<Value> {
    (
        prop_oneof![3 => (0_u64..=5).prop_map(Value::from), 1 => hostile_unsigned()],
        optional(text_field()),
        optional(data_field()),
        optional(text_field()),
    )
        .prop_map(|(action, client_id, data, id)| {
            object([
                ("action", Some(action)),
                ("clientId", client_id),
                ("data", data),
                ("id", id),
            ])
        })
        .boxed()
}

fn list_of(item: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop::collection::vec(item, 0..4)
        .prop_map(Value::Array)
        .boxed()
}

/// An action: mostly those a client sends on a live connection, sometimes any other
/// (CLOSE, DISCONNECT and AUTH among them: each ends or may end the connection, so they
/// are kept rare enough for connections to live a while), unknown or mistyped.
fn action_field() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => prop::sample::select(vec![0_u64, 10, 10, 10, 12, 14, 14, 15, 15, 15, 16])
            .prop_map(Value::from),
        2 => (0_u64..=30).prop_map(Value::from),
        1 => hostile_unsigned(),
    ]
    .boxed()
}

/// A ProtocolMessage-shaped object with hostile values in every field it has.
fn frame() -> BoxedStrategy<Value> {
    (
        action_field(),
        prop::option::weighted(0.9, channel_field()),
        // Mostly near the connection's own count: a frame whose msgSerial is below one
        // already seen is answered as a repeat and not processed again.
        optional(prop_oneof![4 => (0_i64..4).prop_map(Value::from), 1 => hostile_signed()]),
        optional(hostile_unsigned()),
        // Flags choose an attach's modes: mostly none (the defaults, presence included).
        prop::option::weighted(0.3, hostile_unsigned()),
        optional(prop_oneof![3 => text_field(), 1 => Just(json!(PREVIOUS))]),
        optional(prop_oneof![
            2 => prop::sample::select(vec!["0", "1", "5", "100", "10s", "2m", "1h"])
                .prop_map(|rewind| json!({"rewind": rewind})),
            2 => text_field().prop_map(|rewind| json!({"rewind": rewind})),
            1 => text_field().prop_map(|value| json!({"delta": value, "x": "y"})),
        ]),
        optional(list_of(message())),
        optional(list_of(presence_member())),
        optional(text_field().prop_map(|token| json!({"accessToken": token}))),
        optional(text_field()),
    )
        .prop_map(
            |(
                action,
                channel,
                msg_serial,
                count,
                flags,
                channel_serial,
                params,
                messages,
                presence,
                auth,
                id,
            )| {
                object([
                    ("action", Some(action)),
                    ("channel", channel),
                    ("msgSerial", msg_serial),
                    ("count", count),
                    ("flags", flags),
                    ("channelSerial", channel_serial),
                    ("params", params),
                    ("messages", messages),
                    ("presence", presence),
                    ("auth", auth),
                    ("id", id),
                ])
            },
        )
        .boxed()
}

/// An ordinary attach, publish or presence enter on a shared channel: the traffic the
/// hostile frames are mixed into, so that the paths they might break are in use.
fn well_formed_frame() -> BoxedStrategy<Value> {
    (
        0..3_usize,
        prop::sample::select(vec!["conversation:1", "conversation:2"]),
        0_i64..6,
        prop::sample::select(vec!["customer-1", "broker-7"]),
    )
        .prop_map(|(kind, channel, msg_serial, client_id)| match kind {
            0 => json!({"action": 10, "channel": channel}),
            1 => json!({"action": 15, "channel": channel, "msgSerial": msg_serial,
                        "messages": [{"name": "message:user",
                                      "data": {"messageId": "m", "content": "hello"}}]}),
            _ => json!({"action": 14, "channel": channel, "msgSerial": msg_serial,
                        "presence": [{"action": 2, "clientId": client_id}]}),
        })
        .boxed()
}

/// A frame with one field of the wrong type (or a wrong type where a message or member
/// should be).
fn mistyped_frame() -> BoxedStrategy<Value> {
    (
        frame(),
        prop::sample::select(vec![
            "action",
            "channel",
            "msgSerial",
            "count",
            "flags",
            "channelSerial",
            "params",
            "messages",
            "presence",
            "auth",
            "id",
            "connectionSerial",
            "timestamp",
        ]),
        wrong_type(),
    )
        .prop_map(|(mut frame, field, wrong)| {
            frame[field] = match field {
                "messages" | "presence" => json!([wrong]),
                _ => wrong,
            };
            frame
        })
        .boxed()
}

fn object<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect(),
    )
}

/// What one connection does next.
#[derive(Debug, Clone)]
enum Step {
    Frame(Value),
    /// Not a ProtocolMessage: text that is not JSON, or JSON of another shape.
    GarbageText(String),
    Binary(Vec<u8>),
    /// The connection vanishes without a word (and the next step opens a new one).
    Vanish,
}

fn step() -> BoxedStrategy<Step> {
    prop_oneof![
        // Anything that is not a ProtocolMessage ends its connection: rarer than frames, so
        // that connections live long enough to attach, publish and enter.
        24 => frame().prop_map(Step::Frame),
        10 => well_formed_frame().prop_map(Step::Frame),
        2 => mistyped_frame().prop_map(Step::Frame),
        2 => prop_oneof![
            "\\PC{0,64}",
            Just("{\"action\":10,\"channel\":\"conversation:1".to_owned()),
            Just("[".repeat(10_000)),
            Just("{\"action\":15,\"messages\":[{\"data\":".to_owned() + &"[".repeat(200)),
            Just("null".to_owned()),
            Just("[15,\"conversation:1\"]".to_owned()),
        ]
        .prop_map(Step::GarbageText),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Step::Binary),
        1 => Just(Step::Vanish),
    ]
    .boxed()
}

/// The query a connection opens with: an ably-js-like one, with hostile extras.
fn connect_params() -> BoxedStrategy<Vec<(String, String)>> {
    (
        prop::option::weighted(
            0.6,
            hostile_text().prop_map(|text| text.chars().take(40).collect::<String>()),
        ),
        prop::option::weighted(
            0.4,
            prop_oneof![
                1 => hostile_text().prop_map(|text| text.chars().take(40).collect::<String>()),
                1 => Just("abc!def".to_owned()),
                2 => Just(PREVIOUS.to_owned()),
            ],
        ),
        prop::option::weighted(
            0.3,
            prop::sample::select(vec![
                "18446744073709551615",
                "0",
                "-1",
                "abc",
                "999999999999",
            ]),
        ),
    )
        .prop_map(|(client_id, resume, remain)| {
            let mut params = Vec::new();
            if let Some(client_id) = client_id.filter(|id| !id.is_empty()) {
                params.push(("clientId".to_owned(), client_id));
            }
            if let Some(resume) = resume {
                params.push(("resume".to_owned(), resume));
            }
            if let Some(remain) = remain {
                params.push(("remainPresentFor".to_owned(), remain.to_owned()));
            }
            params
        })
        .boxed()
}

#[derive(Debug, Clone)]
struct Script {
    params: Vec<Vec<(String, String)>>,
    steps: Vec<(usize, Step)>,
    /// How each connection still open at the end ends: CLOSE, or vanishing.
    close_politely: Vec<bool>,
}

fn script() -> BoxedStrategy<Script> {
    (
        prop::collection::vec(connect_params(), CONNECTIONS),
        prop::collection::vec((0..CONNECTIONS, step()), 1..60),
        prop::collection::vec(any::<bool>(), CONNECTIONS),
    )
        .prop_map(|(params, steps, close_politely)| Script {
            params,
            steps,
            close_politely,
        })
        .boxed()
}

// ---- driving the hub ------------------------------------------------------------------------

/// Stands in a script for a value the hub gave out earlier in the same run (a connection
/// key to resume with, a channel serial to attach from), so that those paths are reached.
const PREVIOUS: &str = "$previous";

/// What the hub answered, over the whole property: proof that the scripts reached the
/// paths they are meant to (attach, publish, presence, resume), not only refusals.
#[derive(Default)]
struct Reached {
    attached: AtomicUsize,
    acked: AtomicUsize,
    presence: AtomicUsize,
    messages: AtomicUsize,
    resumed: AtomicUsize,
}

static REACHED: Reached = Reached {
    attached: AtomicUsize::new(0),
    acked: AtomicUsize::new(0),
    presence: AtomicUsize::new(0),
    messages: AtomicUsize::new(0),
    resumed: AtomicUsize::new(0),
};

/// Values the hub gave out during one run.
#[derive(Default)]
struct GivenOut {
    connection_keys: Mutex<Vec<String>>,
    connection_ids: Mutex<BTreeSet<String>>,
    channel_serials: Mutex<Vec<String>>,
}

impl GivenOut {
    fn last_key(&self) -> Option<String> {
        self.connection_keys.lock().unwrap().last().cloned()
    }

    fn last_serial(&self) -> Option<String> {
        self.channel_serials.lock().unwrap().last().cloned()
    }

    /// Counts one frame from the hub and keeps what a later step may reuse.
    fn note(&self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let counter = match frame["action"].as_u64() {
            Some(1) => &REACHED.acked,
            Some(4) => {
                if let Some(key) = frame["connectionDetails"]["connectionKey"].as_str() {
                    self.connection_keys.lock().unwrap().push(key.to_owned());
                }
                let id = frame["connectionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if !self.connection_ids.lock().unwrap().insert(id) {
                    REACHED.resumed.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            Some(11) => &REACHED.attached,
            Some(14 | 16) => &REACHED.presence,
            Some(15) => &REACHED.messages,
            _ => return,
        };
        if let Some(serial) = frame["channelSerial"].as_str() {
            let mut serials = self.channel_serials.lock().unwrap();
            serials.push(serial.to_owned());
            if serials.len() > 16 {
                serials.remove(0);
            }
        }
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One raw connection: a sender, and a task that reads everything the hub sends (noting
/// it in `GivenOut`), so that no queue fills because nobody reads.
struct Raw {
    sink: SplitSink<Socket, WsMessage>,
    reader: JoinHandle<()>,
}

impl Raw {
    /// Opens a connection; `None` when the hub refuses the upgrade or never answers.
    async fn open(
        hub: &RunningHub,
        params: &[(String, String)],
        given: &Arc<GivenOut>,
    ) -> Option<Self> {
        let previous = given.last_key();
        let params: Vec<(&str, &str)> = params
            .iter()
            .filter_map(|(name, value)| match value.as_str() {
                PREVIOUS => previous.as_deref().map(|key| (name.as_str(), key)),
                _ => Some((name.as_str(), value.as_str())),
            })
            .collect();
        let url = realtime_url(hub.addr, &params);
        let (socket, _) = timeout(
            PROMPT,
            tokio_tungstenite::connect_async_with_config(url.as_str(), None, true),
        )
        .await
        .ok()?
        .ok()?;
        let (sink, mut stream) = socket.split();
        let given = given.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let WsMessage::Text(text) = message {
                    given.note(text.as_str());
                }
            }
        });
        Some(Self { sink, reader })
    }

    /// Sends without caring whether the hub has already closed the connection.
    async fn send(&mut self, message: WsMessage) -> bool {
        matches!(timeout(PROMPT, self.sink.send(message)).await, Ok(Ok(())))
    }

    /// Gone at once, as a network failure would do it.
    fn vanish(self) {
        self.reader.abort();
    }

    /// CLOSE, then wait for the hub to end the transport.
    async fn close(mut self) {
        let close = json!({"action": 7}).to_string();
        if self.send(WsMessage::text(close)).await {
            let _ = timeout(PROMPT, &mut self.reader).await;
        }
        self.reader.abort();
    }
}

async fn play(hub: &RunningHub, script: &Script) -> BTreeSet<String> {
    let given = Arc::new(GivenOut::default());
    let mut channels = BTreeSet::new();
    let mut open: Vec<Option<Raw>> = (0..CONNECTIONS).map(|_| None).collect();
    for (index, step) in &script.steps {
        if let Step::Frame(frame) = step
            && let Some(Value::String(name)) = frame.get("channel")
        {
            channels.insert(name.clone());
        }
        if open[*index].is_none() {
            open[*index] = Raw::open(hub, &script.params[*index], &given).await;
        }
        let Some(connection) = open[*index].as_mut() else {
            continue;
        };
        let sent = match step {
            Step::Frame(frame) => {
                let mut frame = frame.clone();
                if frame["channelSerial"] == PREVIOUS {
                    frame["channelSerial"] = given.last_serial().map_or(Value::Null, Value::from);
                }
                connection.send(WsMessage::text(frame.to_string())).await
            }
            Step::GarbageText(text) => connection.send(WsMessage::text(text.clone())).await,
            Step::Binary(bytes) => connection.send(WsMessage::binary(bytes.clone())).await,
            Step::Vanish => false,
        };
        if !sent && let Some(connection) = open[*index].take() {
            connection.vanish();
        }
    }
    for (connection, polite) in open.into_iter().zip(&script.close_politely) {
        match (connection, polite) {
            (Some(connection), true) => connection.close().await,
            (Some(connection), false) => connection.vanish(),
            (None, _) => {}
        }
    }
    channels
}

/// A client as ably-js connects (JSON, heartbeats, v6): connect, attach, publish and see
/// its own message, then close.
async fn fresh_client_works(hub: &RunningHub) {
    let mut client = Client::connect(hub.addr, &[("clientId", "fresh")]).await;
    client.attach("conversation:after").await;
    client.round_trip("conversation:after", "still-works").await;
    client
        .tx
        .send(&brokerdash::protocol::ProtocolMessage::new(
            brokerdash::protocol::ProtocolAction::Close,
        ))
        .await;
    client.rx.drain_until_closed(PROMPT).await;
}

async fn rest_get(hub: &RunningHub, path_and_query: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", hub.url()))
        .basic_auth(REST_KEY.0, Some(REST_KEY.1))
        .timeout(PROMPT)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "GET {path_and_query}: {status} {body}");
    body
}

fn encoded(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Occupancy that must be zero once everyone has gone.
fn leftovers(details: &Value) -> Vec<String> {
    let metrics = &details["status"]["occupancy"]["metrics"];
    [
        "connections",
        "subscribers",
        "presenceMembers",
        "presenceConnections",
    ]
    .into_iter()
    .filter(|field| metrics[*field].as_u64().is_some_and(|count| count > 0))
    .map(|field| format!("{} {field}={}", details["name"], metrics[field]))
    .collect()
}

/// Waits until the hub holds no connection, then checks every channel it lists and every
/// Waits, up to a deadline, until the hub holds no connection, no channel holds a
/// subscription or a presence member (added up over every channel in memory), and REST
/// says the same of every channel it lists and every channel the script named. A ghost
/// never leaves, so waiting out a teardown still under way hides nothing.
async fn hub_is_empty(hub: &RunningHub, channels: &BTreeSet<String>) -> Result<(), String> {
    let deadline = Instant::now() + PRESENCE_GRACE + STATE_TTL + PROMPT;
    loop {
        let found = what_is_left(hub, channels).await;
        if found.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(found.join("; "));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn what_is_left(hub: &RunningHub, channels: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    if hub.connections() != (ConnectionCounts { held: 0, live: 0 }) {
        found.push(format!("connections: {:?}", hub.connections()));
    }
    if hub.occupancy() != Occupancy::default() {
        found.push(format!("in channels: {:?}", hub.occupancy()));
    }
    let listed = rest_get(hub, "/channels?by=value&limit=1000").await;
    for details in listed.as_array().unwrap() {
        found.extend(leftovers(details));
    }
    // Names too long for a request line, and names of one or two dots (which every URL parser
    // turns into a path step, so no REST request can name them), are covered by the occupancy
    // above.
    for name in channels
        .iter()
        .filter(|name| !name.is_empty() && name.len() < 2048)
        .filter(|name| !is_dot_segment(name))
    {
        let path = encoded(name);
        found.extend(leftovers(
            &rest_get(hub, &format!("/channels/{path}")).await,
        ));
        let members = rest_get(hub, &format!("/channels/{path}/presence")).await;
        if members
            .as_array()
            .is_some_and(|members| !members.is_empty())
        {
            found.push(format!("{name:?} presence: {members}"));
        }
    }
    found
}

/// One or two dots: a path step to every URL parser, not a name.
fn is_dot_segment(name: &str) -> bool {
    matches!(name.len(), 1 | 2) && name.bytes().all(|byte| byte == b'.')
}

fn hostile_hub_config() -> HubConfig {
    let mut config = HubConfig::development();
    config.presence_grace = PRESENCE_GRACE;
    config.connection_state_ttl = STATE_TTL;
    config
}

/// The property, run by hand rather than by `proptest!` so that what the runs reached can
/// be checked once they are all done.
#[test]
fn hostile_frames_from_several_connections_never_panic_the_hub_or_leave_ghosts() {
    record_panics();
    let config = ProptestConfig {
        // PROPTEST_CASES=200 runs it longer.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(32),
        max_shrink_iters: 64,
        // A failure prints its shrunk script; seeds saved from another generator would
        // replay as different scripts.
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let outcome = runner.run(&script(), |script| {
        take_panics();
        // On the runtime, not this thread: the whole run lives on the heap as a task.
        let run = runtime().spawn(async move {
            let hub = start_hub(hostile_hub_config()).await;
            let channels = play(&hub, &script).await;
            fresh_client_works(&hub).await;
            let empty = hub_is_empty(&hub, &channels).await;
            hub.stop().await.unwrap();
            empty
        });
        let outcome = runtime().block_on(run).unwrap();
        let panics = take_panics();
        prop_assert!(panics.is_empty(), "panicked: {panics:#?}");
        prop_assert!(outcome.is_ok(), "left behind: {}", outcome.unwrap_err());
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let reached = [
        ("ATTACHED", &REACHED.attached),
        ("ACK", &REACHED.acked),
        ("PRESENCE or SYNC", &REACHED.presence),
        ("MESSAGE", &REACHED.messages),
        ("a resumed connection", &REACHED.resumed),
    ];
    for (what, count) in reached {
        let count = count.load(Ordering::Relaxed);
        println!("{what}: {count}");
        assert!(
            count > 0,
            "no run reached {what}: the scripts test too little"
        );
    }
}

/// The recorder itself: a panic in a spawned task, which tokio catches and the process
/// survives, is recorded. Without this the property above could pass for the wrong reason.
#[test]
fn the_panic_recorder_sees_panics_that_tokio_catches() {
    record_panics();
    let caught = runtime().block_on(async { tokio::spawn(async { panic!("{DELIBERATE}") }).await });
    assert!(caught.is_err_and(|error| error.is_panic()));
    let recorded = PANICS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    assert!(recorded.iter().any(|panic| panic.contains(DELIBERATE)));
}
