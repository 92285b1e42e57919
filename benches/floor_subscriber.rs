//! The floor of `brokerdash bench run --compare floor`: the least a Rust subscriber does on
//! the bench's load. One thread; one WebSocket, read with blocking calls; per frame one JSON
//! parse that borrows from the frame, and one of the message's data; a bitset for
//! duplicates; no other state (so it reports no reordering: it does not look). It prints the
//! same JSON line as `brokerdash bench subscribe`.
//!
//! Run by `bench run`, with `--port PORT --channels N [--timeout-secs S]`. Under `cargo bench`
//! (no port) it says so and exits: alone it has nothing to measure.

#![allow(clippy::expect_used)] // a benchmark stops loudly on a broken setup

use std::borrow::Cow;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use brokerdash::bench::END_EVENT;
use brokerdash::bench::measure::{SequenceSet, cpu_time, monotonic_ns};
use brokerdash::bench::report::Counts;
use serde::Deserialize;
use tungstenite::{Message as WsMessage, WebSocket};

#[derive(Deserialize)]
struct Frame<'a> {
    action: u8,
    #[serde(borrow, default)]
    messages: Vec<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserData<'a> {
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(borrow, default)]
    sent_ns: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EndData {
    total: u64,
}

const ATTACHED: u8 = 11;
const MESSAGE: u8 = 15;

struct Args {
    port: u16,
    channels: usize,
    timeout: Duration,
}

fn args() -> Option<Args> {
    let mut port = None;
    let mut channels = None;
    let mut timeout = Duration::from_secs(120);
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let value = words.next();
        match (word.as_str(), value) {
            ("--port", Some(value)) => port = value.parse().ok(),
            ("--channels", Some(value)) => channels = value.parse().ok(),
            ("--timeout-secs", Some(value)) => {
                timeout = Duration::from_secs(value.parse().unwrap_or(120));
            }
            _ => {}
        }
    }
    Some(Args {
        port: port?,
        channels: channels?,
        timeout,
    })
}

fn connect(args: &Args) -> std::io::Result<WebSocket<TcpStream>> {
    let stream = TcpStream::connect(("127.0.0.1", args.port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    let url = format!(
        "ws://127.0.0.1:{}/?key=bench.floor:secret&format=json&v=3",
        args.port
    );
    tungstenite::client(url.as_str(), stream)
        .map(|(socket, _)| socket)
        .map_err(std::io::Error::other)
}

fn main() {
    let Some(args) = args() else {
        eprintln!(
            "floor_subscriber: the floor for `brokerdash bench run --compare floor`; alone it has nothing to measure"
        );
        return;
    };
    let started = Instant::now();
    let deadline = started + args.timeout;
    let mut counts = Counts {
        client: "floor",
        channels: args.channels,
        connections: 1,
        ..Counts::default()
    };
    let completed = match connect(&args) {
        Ok(mut socket) => receive(&mut socket, &args, deadline, started, &mut counts),
        Err(error) => {
            counts.errors.push(format!("cannot connect: {error}"));
            false
        }
    };
    counts.cpu_total = cpu_time();
    println!("{}", counts.into_json());
    if !completed {
        std::process::exit(1);
    }
}

/// Reads until `bench:end` on every channel; true if that happened before the deadline.
fn receive(
    socket: &mut WebSocket<TcpStream>,
    args: &Args,
    deadline: Instant,
    started: Instant,
    counts: &mut Counts,
) -> bool {
    let mut seen = SequenceSet::default();
    let mut ended = 0;
    let mut attach_started = None;
    let mut phase_start = None;
    let mut cpu_phase_start = Duration::ZERO;
    while Instant::now() < deadline {
        let text = match socket.read() {
            Ok(WsMessage::Text(text)) => text,
            Ok(_) => continue,
            Err(tungstenite::Error::Io(error))
                if error.kind() == std::io::ErrorKind::WouldBlock
                    || error.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue;
            }
            Err(error) => {
                counts.errors.push(format!("connection lost: {error}"));
                return false;
            }
        };
        let Ok(frame) = serde_json::from_str::<Frame<'_>>(text.as_str()) else {
            note_error(counts, "a frame that is not JSON");
            continue;
        };
        match frame.action {
            4 if attach_started.is_none() => {
                counts.connect = Some(started.elapsed());
                attach_started = Some(Instant::now());
                for index in 0..args.channels {
                    let attach = format!(r#"{{"action":10,"channel":"conversation:{index}"}}"#);
                    if socket.send(WsMessage::text(attach)).is_err() {
                        counts.errors.push("cannot send ATTACH".into());
                        return false;
                    }
                }
            }
            ATTACHED => {
                counts.attached += 1;
                if counts.attached == args.channels {
                    eprintln!("bench subscribe: {} channels settled", counts.attached);
                    counts.attach = attach_started.map(|at| at.elapsed());
                    phase_start = Some(Instant::now());
                    cpu_phase_start = cpu_time();
                }
            }
            MESSAGE => {
                for message in &frame.messages {
                    match message.name.as_deref() {
                        Some("message:user") => on_message(message, &mut seen, counts),
                        Some(END_EVENT) => {
                            if let Some(end) = message
                                .data
                                .as_deref()
                                .and_then(|data| serde_json::from_str::<EndData>(data).ok())
                            {
                                counts.expected = counts.expected.max(end.total);
                            }
                            ended += 1;
                        }
                        _ => {}
                    }
                }
                if phase_start.is_some() && ended >= counts.attached {
                    counts.phase = phase_start.map(|at| at.elapsed()).unwrap_or_default();
                    counts.cpu_phase = cpu_time().saturating_sub(cpu_phase_start);
                    return true;
                }
            }
            _ => {}
        }
    }
    counts
        .errors
        .push(format!("timed out after {} s", args.timeout.as_secs()));
    false
}

/// The first few errors; a flood of bad frames must not grow the report.
fn note_error(counts: &mut Counts, error: &str) {
    if counts.errors.len() < 20 {
        counts.errors.push(error.to_owned());
    }
}

fn on_message(message: &Message<'_>, seen: &mut SequenceSet, counts: &mut Counts) {
    let now_ns = monotonic_ns();
    let Some(data) = message
        .data
        .as_deref()
        .and_then(|data| serde_json::from_str::<UserData<'_>>(data).ok())
    else {
        note_error(counts, "malformed message:user");
        return;
    };
    let Some(sequence) = data
        .message_id
        .strip_prefix("msg-")
        .and_then(|number| number.parse::<u64>().ok())
    else {
        note_error(counts, "unexpected messageId");
        return;
    };
    let now = Instant::now();
    counts.first_rx.get_or_insert(now);
    counts.last_rx = Some(now);
    if !seen.insert(sequence) {
        counts.duplicates += 1;
        return;
    }
    counts.received += 1;
    match data
        .sent_ns
        .as_deref()
        .and_then(|sent| sent.parse::<u64>().ok())
    {
        Some(sent) => counts
            .latencies_ms
            .push(now_ns.saturating_sub(sent) as f64 / 1e6),
        None => counts.unstamped += 1,
    }
}
