//! The dashboard end to end: from a publish on the hub to the bytes on a pseudo-terminal
//! that show it, while 1,000 conversations carry 2,000 messages a second.
//!
//! The real binary runs in a pseudo-terminal (160×48) against a real hub process, with
//! conversation:0 open. `bench load` publishes 2,000 msg/s over all 1,000 conversations;
//! meanwhile this bench publishes a probe to conversation:0 every 50 ms, each with its own
//! mark, and notes when it sent it. A thread reads every byte the dashboard writes, feeds a
//! terminal emulator, and notes when each mark first stands on the screen. The figures are
//! the probes' latencies (p50, p99, max) and how many of them were seen.
//!
//! Run: `cargo bench --bench dashboard_latency`. Aim: p99 under 20 ms.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark stops loudly on a broken setup

// Shared by the process benchmarks; this one uses part of it.
#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brokerdash::bench::measure::percentile;
use brokerdash::protocol::Message;
use brokerdash::realtime::{ClientOptions, ConnectionState, NetEvent, Realtime};
use brokerdash::rest::AuthConfig;
use common::{BINARY, start_hub};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use serde_json::json;

const CONVERSATIONS: usize = 1_000;
const RATE: u32 = 2_000;
const LOAD_SECONDS: u32 = 15;
const PROBE_EVERY: Duration = Duration::from_millis(50);
const OPEN_MARK: &str = "zebra-quokka";
const COLS: u16 = 160;
const ROWS: u16 = 48;

/// When each probe's mark first stood on the screen, and the screen as last seen.
#[derive(Default)]
struct Seen {
    marks: HashMap<u32, Instant>,
    screen: String,
}

fn options(port: u16) -> ClientOptions {
    let endpoint = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let key = brokerdash::hub::DEVELOPMENT_KEY.parse().unwrap();
    ClientOptions::new(
        endpoint,
        AuthConfig::Key {
            key,
            use_tokens: false,
            token_ttl_ms: None,
        },
    )
}

fn user_message(message_id: &str, content: &str) -> Message {
    let data = json!({"messageId": message_id, "content": content}).to_string();
    Message {
        name: Some("message:user".into()),
        data: Some(json!(data)),
        encoding: Some("json".into()),
        ..Message::default()
    }
}

/// One message on every conversation, conversation:0 last (so it is on top and selected).
async fn seed(port: u16) {
    let rest = options(port).rest_client();
    for index in (0..CONVERSATIONS).rev() {
        let content = if index == 0 {
            format!("Opening question for the open conversation, ending with {OPEN_MARK}")
        } else {
            "Hello".to_owned()
        };
        rest.publish(
            &format!("conversation:{index}"),
            &[user_message(&format!("seed-{index}"), &content)],
        )
        .await
        .unwrap();
    }
}

/// Reads the marks `probe-NNNNNN` on a screen.
fn marks(screen: &str) -> impl Iterator<Item = u32> + '_ {
    screen.match_indices("probe-").filter_map(|(at, _)| {
        let digits = screen.get(at + 6..at + 12)?;
        digits.parse().ok()
    })
}

/// The dashboard in its pseudo-terminal: what it shows, its keyboard, the process, and the
/// state folder it keeps while it runs.
struct Watched {
    seen: Arc<Mutex<Seen>>,
    keys: Box<dyn Write + Send>,
    process: Box<dyn portable_pty::Child + Send + Sync>,
    _state: tempfile::TempDir,
}

fn watch(port: u16) -> Watched {
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut command = CommandBuilder::new(BINARY);
    command.args([
        "--endpoint",
        &url,
        "--auth-url",
        &format!("{url}/api/ably/auth"),
        "--broker-id",
        "7",
    ]);
    command.env("TERM", "xterm-256color");
    command.env("BROKERDASH_STATE_DIR", state.path());
    command.env("BROKERDASH_CONFIG", &config);
    let child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let writer = pty.master.take_writer().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let feed = Arc::clone(&seen);
    std::thread::spawn(move || {
        let _master = pty.master;
        let mut terminal = vt100::Parser::new(ROWS, COLS, 0);
        let mut buffer = [0u8; 16_384];
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let at = Instant::now();
            terminal.process(&buffer[..read]);
            let screen = terminal.screen().contents();
            let mut seen = feed.lock().unwrap();
            for mark in marks(&screen).collect::<Vec<_>>() {
                seen.marks.entry(mark).or_insert(at);
            }
            seen.screen = screen;
        }
    });
    Watched {
        seen,
        keys: writer,
        process: child,
        _state: state,
    }
}

fn wait_for(seen: &Mutex<Seen>, text: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !seen.lock().unwrap().screen.contains(text) {
        assert!(
            Instant::now() < deadline,
            "the dashboard never showed {text:?}:\n{}",
            seen.lock().unwrap().screen
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let (_hub, port) = start_hub().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(port));
    let Watched {
        seen,
        mut keys,
        process: mut dashboard,
        _state,
    } = watch(port);
    wait_for(
        &seen,
        &format!("{CONVERSATIONS} channels"),
        Duration::from_secs(60),
    );
    keys.write_all(b"\r").unwrap();
    wait_for(&seen, OPEN_MARK, Duration::from_secs(10));

    let load = std::process::Command::new(BINARY)
        .args(["bench", "load", "--port", &port.to_string()])
        .args([
            "--channels",
            &CONVERSATIONS.to_string(),
            "--rate",
            &RATE.to_string(),
        ])
        .args(["--messages", &(RATE * LOAD_SECONDS).to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let load = common::Running(load);
    let sent = runtime.block_on(probe(port));
    drop(load);

    // The last probes' frames: wait until every probe was seen, or two seconds more.
    let deadline = Instant::now() + Duration::from_secs(2);
    while seen.lock().unwrap().marks.len() < sent.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let marks = seen.lock().unwrap().marks.clone();
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter_map(|(mark, at)| Some(marks.get(mark)?.duration_since(*at).as_secs_f64() * 1e3))
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "dashboard end to end (cargo bench --bench dashboard_latency): publish on the hub to the bytes on a {COLS}×{ROWS} pseudo-terminal, {CONVERSATIONS} conversations at {RATE} msg/s"
    );
    println!("  probes seen: {} of {}", latencies.len(), sent.len());
    if latencies.is_empty() {
        println!("  no probe was seen: no latency measured");
    } else {
        println!(
            "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0)
        );
    }
    let _ = dashboard.kill();
}

/// Publishes a probe to conversation:0 every 50 ms while the load runs; when each was sent.
async fn probe(port: u16) -> Vec<(u32, Instant)> {
    let mut options = options(port);
    options.echo = false;
    let (client, mut events) = Realtime::connect(options);
    while let Some(event) = events.recv().await {
        if matches!(
            event,
            NetEvent::Connection {
                state: ConnectionState::Connected,
                ..
            }
        ) {
            break;
        }
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let probes = LOAD_SECONDS * 1000 / PROBE_EVERY.as_millis() as u32;
    let mut sent = Vec::new();
    let mut tick = tokio::time::interval(PROBE_EVERY);
    for number in 0..probes {
        tick.tick().await;
        let mark = format!("probe-{number:06}");
        let at = Instant::now();
        client
            .publish("conversation:0", vec![user_message(&mark, &mark)])
            .await
            .unwrap();
        sent.push((number, at));
    }
    client.close().await;
    sent
}
