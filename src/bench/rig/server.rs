//! The scripted server `bench run` measures every client on: it speaks just enough of Ably's
//! realtime protocol (JSON) for any client to connect and attach, and once every channel of
//! the scenario is attached it plays the scenario's messages itself, then `bench:end` on
//! every channel.
//!
//! It runs on plain threads with blocking sockets rather than on the async runtime, so that
//! its timing is its own: one thread sends every message, sleeping until each one is due,
//! and writes it as a WebSocket frame of its own with one `write` call, so every client gets
//! one frame (and one wake-up) per message at a steady rate, whatever its number of
//! connections. In a burst it writes without sleeping, as fast as the socket drains.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::Message as WsMessage;

use crate::bench::measure::monotonic_ns;
use crate::bench::{END_EVENT, channel_name};
use crate::protocol::{
    ConnectionDetails, DEFAULT_MAX_FRAME_BYTES, ProtocolAction, ProtocolMessage, decode_frame,
    encode_frame,
};

/// What the server plays once every channel is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub channels: usize,
    pub messages: u64,
    /// Messages per second over all channels; 0 sends as fast as the socket drains.
    pub rate_per_sec: f64,
    /// How long to stay quiet after the messages, before `bench:end` (the idle scenario).
    pub hold: Duration,
    /// How long to wait for the client to attach every channel.
    pub attach_timeout: Duration,
}

/// What happened, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutcome {
    pub connections: u64,
    pub sent: u64,
    pub all_attached: bool,
}

/// Ably's idle interval, told to clients in CONNECTED; heartbeats come more often than that.
const MAX_IDLE_INTERVAL: Duration = Duration::from_secs(15);
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

const CONTENT: &str = "Hi, could you tell me today's fixed rate for a 30 year loan?";

pub struct ScriptServer {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    player: Option<JoinHandle<()>>,
}

struct Shared {
    script: Script,
    stopping: AtomicBool,
    connections: AtomicU64,
    sent: AtomicU64,
    all_attached: AtomicBool,
    registry: Mutex<Registry>,
    attached_changed: Condvar,
}

#[derive(Default)]
struct Registry {
    /// The connection each scenario channel is attached on, by channel index.
    channels: HashMap<usize, Arc<Writer>>,
    writers: Vec<Arc<Writer>>,
    readers: Vec<JoinHandle<()>>,
}

/// The sending half of one client connection: whole frames, one `write` each.
struct Writer {
    stream: Mutex<TcpStream>,
    broken: AtomicBool,
}

impl Writer {
    fn send(&self, text: &str) {
        if self.broken.load(Ordering::Relaxed) {
            return;
        }
        let frame = text_frame(text.as_bytes());
        let written = match self.stream.lock() {
            Ok(mut stream) => stream.write_all(&frame),
            Err(_) => Err(io::Error::other("writer poisoned")),
        };
        if written.is_err() {
            self.broken.store(true, Ordering::Relaxed);
        }
    }

    fn shutdown(&self) {
        if let Ok(stream) = self.stream.lock() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// A server-to-client WebSocket text frame: unmasked, final, with its length.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x81);
    match payload.len() {
        length @ 0..=125 => frame.push(length as u8),
        length @ 126..=0xFFFF => {
            frame.push(126);
            frame.extend_from_slice(&(length as u16).to_be_bytes());
        }
        length => {
            frame.push(127);
            frame.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

impl ScriptServer {
    /// Listens on a free loopback port and starts waiting for the client.
    pub fn start(script: Script) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            script,
            stopping: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            all_attached: AtomicBool::new(false),
            registry: Mutex::new(Registry::default()),
            attached_changed: Condvar::new(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("bench-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        let player = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("bench-play".into())
                .spawn(move || play(&shared))?
        };
        Ok(Self {
            port,
            shared,
            acceptor: Some(acceptor),
            player: Some(player),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops every thread and closes every connection.
    pub fn finish(mut self) -> ScriptOutcome {
        self.stop();
        ScriptOutcome {
            connections: self.shared.connections.load(Ordering::Relaxed),
            sent: self.shared.sent.load(Ordering::Relaxed),
            all_attached: self.shared.all_attached.load(Ordering::Relaxed),
        }
    }

    fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        self.shared.attached_changed.notify_all();
        // The acceptor blocks in accept(): one connection of our own wakes it to see the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        if let Some(player) = self.player.take() {
            let _ = player.join();
        }
        let readers = {
            let mut registry = lock(&self.shared.registry);
            for writer in &registry.writers {
                writer.shutdown();
            }
            std::mem::take(&mut registry.readers)
        };
        for reader in readers {
            let _ = reader.join();
        }
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        if self.acceptor.is_some() || self.player.is_some() {
            self.stop();
        }
    }
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared_for_reader = Arc::clone(shared);
        let reader = thread::Builder::new()
            .name("bench-conn".into())
            .spawn(move || serve(stream, &shared_for_reader));
        if let Ok(reader) = reader {
            lock(&shared.registry).readers.push(reader);
        }
    }
}

/// One client connection: the handshake, CONNECTED, then its ATTACH, DETACH and CLOSE.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    // A connection that never finishes its handshake must not hold the server open.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut socket) = tungstenite::accept(stream) else {
        return;
    };
    let _ = socket.get_ref().set_read_timeout(None);
    let number = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let writer = Arc::new(Writer {
        stream: Mutex::new(write_half),
        broken: AtomicBool::new(false),
    });
    lock(&shared.registry).writers.push(Arc::clone(&writer));
    writer.send(&connected_frame(number));
    while !shared.stopping.load(Ordering::Relaxed) {
        let text = match socket.read() {
            Ok(WsMessage::Text(text)) => text,
            Ok(WsMessage::Close(_)) | Err(_) => return,
            Ok(_) => continue,
        };
        let Ok(frame) = decode_frame(text.as_str(), DEFAULT_MAX_FRAME_BYTES) else {
            continue;
        };
        if !answer(&frame, &writer, shared) {
            return;
        }
    }
}

/// Answers one client frame; false once the connection is closed.
fn answer(frame: &ProtocolMessage, writer: &Arc<Writer>, shared: &Shared) -> bool {
    let reply = |action: ProtocolAction| {
        let mut reply = ProtocolMessage::new(action);
        reply.channel = frame.channel.clone();
        writer.send(&encode_frame(&reply));
    };
    match frame.action {
        ProtocolAction::Attach => {
            reply(ProtocolAction::Attached);
            if let Some(index) = frame.channel.as_deref().and_then(scenario_channel) {
                register(shared, index, writer);
            }
        }
        ProtocolAction::Detach => reply(ProtocolAction::Detached),
        ProtocolAction::Close => {
            writer.send(&encode_frame(&ProtocolMessage::new(ProtocolAction::Closed)));
            return false;
        }
        _ => {}
    }
    true
}

fn scenario_channel(name: &str) -> Option<usize> {
    name.strip_prefix("conversation:")?.parse().ok()
}

fn register(shared: &Shared, index: usize, writer: &Arc<Writer>) {
    if index >= shared.script.channels {
        return;
    }
    let mut registry = lock(&shared.registry);
    registry.channels.insert(index, Arc::clone(writer));
    if registry.channels.len() == shared.script.channels {
        shared.attached_changed.notify_all();
    }
}

fn connected_frame(number: u64) -> String {
    let mut frame = ProtocolMessage::new(ProtocolAction::Connected);
    let id = format!("bench-{number}");
    frame.connection_id = Some(id.clone());
    frame.connection_details = Some(ConnectionDetails {
        connection_key: Some(format!("{id}!key")),
        connection_state_ttl: Some(120_000),
        max_idle_interval: Some(MAX_IDLE_INTERVAL.as_millis() as u64),
        max_message_size: Some(65_536),
        server_id: Some("bench".into()),
        ..ConnectionDetails::default()
    });
    frame.timestamp = Some(crate::clock::now_ms());
    encode_frame(&frame)
}

/// Waits for every channel, then sends the script's messages, holds, and ends every channel.
fn play(shared: &Shared) {
    let Some(writers) = wait_attached(shared) else {
        return;
    };
    shared.all_attached.store(true, Ordering::Relaxed);
    let script = &shared.script;
    let started = Instant::now();
    for sequence in 0..script.messages {
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        if script.rate_per_sec > 0.0 {
            sleep_until(started + Duration::from_secs_f64(sequence as f64 / script.rate_per_sec));
        }
        let channel = (sequence % script.channels as u64) as usize;
        writers[channel].send(&message_frame(channel, sequence));
        shared.sent.fetch_add(1, Ordering::Relaxed);
    }
    hold(shared, &writers);
    let end = format!(r#"{{"total":{},"connections":1}}"#, script.messages);
    for (channel, writer) in writers.iter().enumerate() {
        writer.send(&end_frame(channel, &end));
    }
}

/// The writer of every channel, in channel order, once all are attached; None on timeout
/// or stop.
fn wait_attached(shared: &Shared) -> Option<Vec<Arc<Writer>>> {
    let deadline = Instant::now() + shared.script.attach_timeout;
    let mut registry = lock(&shared.registry);
    while registry.channels.len() < shared.script.channels {
        let left = deadline.checked_duration_since(Instant::now())?;
        if shared.stopping.load(Ordering::Relaxed) {
            return None;
        }
        registry = shared
            .attached_changed
            .wait_timeout(registry, left.min(Duration::from_millis(200)))
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
    }
    (0..shared.script.channels)
        .map(|index| registry.channels.get(&index).cloned())
        .collect()
}

/// Stays quiet for the script's hold, with the heartbeats that keep a client's idle timer
/// from firing.
fn hold(shared: &Shared, writers: &[Arc<Writer>]) {
    let until = Instant::now() + shared.script.hold;
    let heartbeat = encode_frame(&ProtocolMessage::new(ProtocolAction::Heartbeat));
    let mut unique: Vec<&Arc<Writer>> = Vec::new();
    for writer in writers {
        if !unique.iter().any(|known| Arc::ptr_eq(known, writer)) {
            unique.push(writer);
        }
    }
    while !shared.stopping.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        sleep_until(until.min(now + HEARTBEAT_EVERY));
        for writer in &unique {
            writer.send(&heartbeat);
        }
    }
}

fn sleep_until(due: Instant) {
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        thread::sleep(wait);
    }
}

/// A MESSAGE frame as Ably sends one: the message's id and connection come from the
/// frame's, and its data is the web app's stringified JSON, stamped as it is written.
fn message_frame(channel: usize, sequence: u64) -> String {
    let now_ms = crate::clock::now_ms();
    let data = format!(
        r#"{{"messageId":"msg-{sequence}","content":"{CONTENT}","sentNs":"{}","timestamp":{now_ms}}}"#,
        monotonic_ns()
    );
    let data = serde_json::Value::String(data).to_string();
    format!(
        r#"{{"action":15,"id":"bench-pub:{sequence}","connectionId":"bench-pub","channel":"{}","channelSerial":"bench:{sequence}","timestamp":{now_ms},"messages":[{{"name":"message:user","encoding":"json","timestamp":{now_ms},"data":{data}}}]}}"#,
        channel_name(channel)
    )
}

fn end_frame(channel: usize, end: &str) -> String {
    let data = serde_json::Value::String(end.to_owned()).to_string();
    let now_ms = crate::clock::now_ms();
    format!(
        r#"{{"action":15,"id":"bench-pub:end-{channel}","connectionId":"bench-pub","channel":"{}","timestamp":{now_ms},"messages":[{{"name":"{END_EVENT}","encoding":"json","timestamp":{now_ms},"data":{data}}}]}}"#,
        channel_name(channel)
    )
}

#[cfg(test)]
mod tests;
