//! The realtime client measured as a separate process on the project's own load, so its
//! CPU time is its own: `brokerdash hub`, `brokerdash bench subscribe` on 1,000 channels
//! (five connections of 200) and `brokerdash bench load` at 2,000 msg/s over them.
//!
//! Run: `cargo bench --bench client_ingest` (release build). Reports the attach time for
//! 1,000 channels and the CPU cost per message; the reference is the official ably-js SDK
//! at about 67 µs of CPU per message in the same setup.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BINARY, Running, cores, run_load, start_hub, subscriber_result};
use serde_json::Value;

const CHANNELS: usize = 1_000;
const RATE: u64 = 2_000;
const MESSAGES: u64 = 40_000;

fn main() -> Result<(), String> {
    let (_hub, port) = start_hub()?;

    let subscriber = Command::new(BINARY)
        .args([
            "bench",
            "subscribe",
            "--port",
            &port.to_string(),
            "--channels",
            &CHANNELS.to_string(),
            "--timeout-secs",
            "120",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("start bench subscribe: {error}"))?;
    let mut subscriber = Running(subscriber);
    let deadline = Instant::now() + Duration::from_secs(30);
    while active_channels(port) < CHANNELS {
        if Instant::now() > deadline {
            return Err("the subscriber did not attach in time".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    run_load(
        port,
        &[
            "--channels",
            &CHANNELS.to_string(),
            "--rate",
            &RATE.to_string(),
            "--messages",
            &MESSAGES.to_string(),
            "--connections",
            "2",
        ],
    )?;
    let (status, line, result) = subscriber_result(&mut subscriber)?;
    let per_message_us = result["cpu_phase_s"].as_f64().unwrap_or(0.0) * 1e6
        / result["received"].as_f64().unwrap_or(1.0).max(1.0);
    println!(
        "client ingest: {CHANNELS} channels, {MESSAGES} messages at {RATE} msg/s ({} cores)",
        cores()
    );
    println!(
        "  attach {CHANNELS} channels over {} connections: {} ms",
        result["connections"], result["attach_ms"]
    );
    println!(
        "  received {} of {} (lost {}, duplicates {}, reordered {})",
        result["received"],
        result["expected"],
        result["lost"],
        result["duplicates"],
        result["reordered"]
    );
    println!("  latency ms: {}", result["lat_ms"]);
    println!(
        "  CPU: {:.1} µs per message, {} messages per CPU-second, {}% of a core; peak RSS {} MB",
        per_message_us, result["msgs_per_cpu_s"], result["cpu_phase_pct"], result["peak_rss_mb"]
    );
    println!("  raw: {line}");
    if !status.success() {
        return Err("bench subscribe did not complete".into());
    }
    Ok(())
}

fn active_channels(port: u16) -> usize {
    Command::new("curl")
        .args([
            "-s",
            "-u",
            "brokerdash.hub:local-development-secret",
            &format!("http://127.0.0.1:{port}/channels?prefix=conversation:&limit=1000"),
        ])
        .output()
        .ok()
        .and_then(|output| serde_json::from_slice::<Vec<Value>>(&output.stdout).ok())
        .map_or(0, |list| list.len())
}
