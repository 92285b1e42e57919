//! `brokerdash bench subscribe` driven by the project's own load source (`bench load`),
//! all as real processes against a real `brokerdash hub`: the JSON line's counts must
//! match what was sent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::processes::HubProcess;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");

/// Kills the process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_hub() -> (HubProcess, u16) {
    let hub = HubProcess::start(&[]);
    let port = hub
        .url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("hub port");
    (hub, port)
}

fn active_channels(port: u16) -> usize {
    let output = Command::new("curl")
        .args([
            "-s",
            "-u",
            brokerdash::hub::DEVELOPMENT_KEY,
            &format!("http://127.0.0.1:{port}/channels?prefix=conversation:&limit=1000"),
        ])
        .output();
    match output {
        Ok(output) => serde_json::from_slice::<Vec<Value>>(&output.stdout)
            .map(|list| list.len())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// Starts `bench subscribe` on `channels` channels and waits until it has attached them
/// all (its attachments are what make the channels active on the hub).
fn start_subscriber(port: u16, channels: usize) -> Running {
    let subscriber = Command::new(BINARY)
        .args([
            "bench",
            "subscribe",
            "--port",
            &port.to_string(),
            "--channels",
            &channels.to_string(),
            "--timeout-secs",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bench subscribe");
    let subscriber = Running(subscriber);
    let deadline = Instant::now() + Duration::from_secs(20);
    while active_channels(port) < channels {
        assert!(
            Instant::now() < deadline,
            "the subscriber did not attach {channels} channels in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    subscriber
}

/// Runs the project's own load source to the end against the hub on `port`.
fn run_load(port: u16, args: &[&str]) {
    let load = Command::new(BINARY)
        .args(["bench", "load", "--port", &port.to_string()])
        .args(args)
        .output()
        .expect("run bench load");
    assert!(
        load.status.success(),
        "bench load failed: {}",
        String::from_utf8_lossy(&load.stderr)
    );
}

/// Waits for the subscriber to exit; its exit status and its JSON line.
fn finish(mut subscriber: Running) -> (std::process::ExitStatus, Value) {
    let child = &mut subscriber.0;
    let wait_until = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < wait_until,
            "bench subscribe did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let result: Value = serde_json::from_str(&line).expect("one JSON line");
    println!("{result}");
    (status, result)
}

#[test]
fn bench_subscribe_counts_what_the_load_source_sent() {
    const CHANNELS: usize = 250; // two connections: 200 + 50
    const MESSAGES: u64 = 3_000;
    let (_hub, port) = start_hub();
    let subscriber = start_subscriber(port, CHANNELS);
    run_load(
        port,
        &[
            "--channels",
            &CHANNELS.to_string(),
            "--rate",
            "1500",
            "--messages",
            &MESSAGES.to_string(),
        ],
    );

    let (status, result) = finish(subscriber);
    assert!(
        status.success(),
        "bench subscribe exited with {status}: {result}"
    );
    assert_eq!(result["client"], "brokerdash");
    assert_eq!(result["channels"], CHANNELS);
    assert_eq!(result["attached"], CHANNELS);
    assert_eq!(result["connections"], 2, "200 channels per connection");
    assert_eq!(result["expected"], MESSAGES);
    assert_eq!(result["received"], MESSAGES);
    assert_eq!(result["lost"], 0);
    assert_eq!(result["duplicates"], 0);
    assert_eq!(result["reordered"], 0);
    assert_eq!(result["errors"], Value::Array(Vec::new()));
    for field in [
        "connect_ms",
        "attach_ms",
        "rx_ms",
        "rx_rate",
        "phase_ms",
        "cpu_phase_s",
        "cpu_phase_pct",
        "cpu_s",
        "msgs_per_cpu_s",
        "peak_rss_mb",
    ] {
        assert!(
            result[field].as_f64().is_some_and(|value| value > 0.0),
            "{field} = {}",
            result[field]
        );
    }
    let latency = &result["lat_ms"];
    let (p50, p99, max) = (
        latency["p50"].as_f64().unwrap(),
        latency["p99"].as_f64().unwrap(),
        latency["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{latency}");
}

#[test]
fn load_source_stamps_send_times_as_decimal_strings() {
    // What the latencies above were measured from: the string form, not a JSON number.
    let (hub, port) = start_hub();
    run_load(
        port,
        &["--channels", "1", "--messages", "3", "--connections", "1"],
    );
    let history = hub.history("conversation:0");
    let stamped: Vec<Value> = history
        .iter()
        .filter(|item| item["name"] == "message:user")
        .map(|item| common::processes::data_of(item)["sentNs"].clone())
        .collect();
    assert_eq!(stamped.len(), 3, "{history:?}");
    for sent in stamped {
        let text = sent
            .as_str()
            .unwrap_or_else(|| panic!("sentNs {sent} is not a string"));
        assert!(text.parse::<u64>().is_ok_and(|ns| ns > 0), "{text:?}");
    }
}

#[test]
fn bench_subscribe_without_send_times_prints_no_latency_and_says_why() {
    let (hub, port) = start_hub();
    let subscriber = start_subscriber(port, 1);
    // Messages the subscriber counts, but from a source that stamps no send time.
    for sequence in 0..3 {
        hub.publish(
            "conversation:0",
            "message:user",
            &serde_json::json!({"messageId": format!("msg-{sequence}"), "content": "Hello"}),
        );
    }
    hub.publish(
        "conversation:0",
        "bench:end",
        &serde_json::json!({"total": 3, "connections": 1}),
    );
    let (status, result) = finish(subscriber);
    assert_eq!(result["received"], 3, "the messages did arrive");
    assert_eq!(result["lat_ms"], Value::Null, "no latency was measured");
    let errors = result["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|error| error.as_str().unwrap().contains("sentNs")),
        "the errors say why: {errors:?}"
    );
    assert!(!status.success(), "a run with errors fails");
}

#[test]
fn bench_subscribe_gives_up_at_its_timeout_with_a_result() {
    let (_hub, port) = start_hub();
    let output = Command::new(BINARY)
        .args([
            "bench",
            "subscribe",
            "--port",
            &port.to_string(),
            "--channels",
            "3",
            "--timeout-secs",
            "1",
        ])
        .output()
        .expect("run bench subscribe");
    assert!(
        !output.status.success(),
        "no load arrived: the run must fail"
    );
    let result: Value =
        serde_json::from_slice(&output.stdout).expect("the JSON line is printed anyway");
    assert_eq!(result["attached"], 3);
    assert_eq!(result["received"], 0);
    assert!(result["errors"][0].as_str().unwrap().contains("timed out"));
}
