//! The polling transport on a desk of 200 conversations: `brokerdash bench subscribe
//! --transport poll` on 200 channels while `brokerdash bench load` publishes 20 messages a
//! second over them (each conversation gets a message every 10 s, so every one is active).
//!
//! Run: `cargo bench --bench poll_transport` (release build, about 75 s). Reports the
//! delivery latency (publish to delivery) and the REST requests the client made a second,
//! which the client holds to its budget (25 a second by default).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{BINARY, Running, cores, run_load, start_hub, subscriber_result};

const CHANNELS: usize = 200;
const RATE: u64 = 20;
const MESSAGES: u64 = 1_200;

fn main() -> Result<(), String> {
    let (_hub, port) = start_hub()?;
    let subscriber = Command::new(BINARY)
        .args(["bench", "subscribe", "--transport", "poll"])
        .args([
            "--port",
            &port.to_string(),
            "--channels",
            &CHANNELS.to_string(),
        ])
        .args(["--timeout-secs", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("start bench subscribe: {error}"))?;
    let mut subscriber = Running(subscriber);
    let stderr = subscriber.0.stderr.take().ok_or("subscriber stderr")?;
    let mut settled = String::new();
    let waited = Instant::now();
    BufReader::new(stderr)
        .read_line(&mut settled)
        .map_err(|error| error.to_string())?;
    if !settled.contains("settled") {
        return Err(format!("the subscriber did not settle: {settled}"));
    }
    let first_reads = waited.elapsed();
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
            "1",
        ],
    )?;
    let (status, line, result) = subscriber_result(&mut subscriber)?;
    println!(
        "poll transport: {CHANNELS} channels, {MESSAGES} messages at {RATE} msg/s ({} cores)",
        cores()
    );
    println!(
        "  first read of every channel: {:.1} s",
        first_reads.as_secs_f64()
    );
    println!(
        "  received {} of {} (lost {}, duplicates {}, reordered {})",
        result["received"],
        result["expected"],
        result["lost"],
        result["duplicates"],
        result["reordered"]
    );
    println!("  delivery latency ms: {}", result["lat_ms"]);
    println!(
        "  REST: {} requests in the measured phase, {} a second; CPU {}% of a core; peak RSS {} MB",
        result["rest_requests"],
        result["rest_per_sec"],
        result["cpu_phase_pct"],
        result["peak_rss_mb"]
    );
    println!("  raw: {line}");
    if !status.success() {
        return Err("bench subscribe did not complete".into());
    }
    Ok(())
}
