//! Memory over an hour of the demo's traffic, played at ten times its speed: the real
//! `brokerdash demo --speed 10` (its hub, simulated customers, AI and brokers, and the
//! dashboard, in one process) in a pseudo-terminal, its resident memory read from /proc
//! every 30 s for 6 minutes.
//!
//! What may grow is bounded by stated limits: the dashboard keeps at most 20,000 messages a
//! conversation (`MESSAGES_KEPT`), the hub 10,000 a channel for history and resume
//! (`--history-per-channel`). Neither is reached in an hour of 12 conversations, so memory
//! should level off once the allocator has its working set: the figure to watch is the
//! growth over the second half.
//!
//! Run: `cargo bench --bench demo_memory` (`DEMO_MEMORY_MINUTES` shortens it).

// Shared with the tests; a benchmark uses only part of it and may panic like a test.
#[allow(dead_code, clippy::expect_used, clippy::unwrap_used)]
#[path = "../tests/common/pty.rs"]
mod pty;

use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");
const SPEED: u32 = 10;
const SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// A `Vm…:` line of /proc/PID/status, in MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), String> {
    let minutes: u64 = std::env::var("DEMO_MEMORY_MINUTES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(6);
    let state = tempfile::tempdir().map_err(|error| error.to_string())?;
    let config = state.path().join("config.toml");
    std::fs::write(&config, "").map_err(|error| error.to_string())?;
    let mut app = pty::PtyApp::spawn(
        BINARY,
        &["demo", "--speed", &SPEED.to_string()],
        &[
            ("BROKERDASH_STATE_DIR", state.path().to_str().unwrap_or(".")),
            ("BROKERDASH_CONFIG", config.to_str().unwrap_or("")),
        ],
        160,
        48,
    );
    app.wait_for("12 channels", Duration::from_secs(60));
    let pid = app.pid().ok_or("demo pid")?;
    let started = Instant::now();
    let mut samples = Vec::new();
    let total = Duration::from_secs(minutes * 60);
    loop {
        let rss = status_mib(pid, "VmRSS:").ok_or("the demo exited")?;
        let elapsed = started.elapsed();
        samples.push((elapsed, rss));
        if elapsed >= total {
            break;
        }
        std::thread::sleep(SAMPLE_EVERY.min(total - elapsed));
    }
    let peak = status_mib(pid, "VmHWM:").ok_or("the demo exited")?;
    app.kill();

    println!(
        "demo memory (cargo bench --bench demo_memory): `demo --speed {SPEED}`, {} minutes of demo traffic in {minutes}",
        minutes * u64::from(SPEED)
    );
    for (elapsed, rss) in &samples {
        println!(
            "  demo minute {:>3}: resident {rss:.1} MiB",
            elapsed.as_secs() * u64::from(SPEED) / 60
        );
    }
    let half = samples.len() / 2;
    if let (Some((_, middle)), Some((_, last))) = (samples.get(half), samples.last()) {
        println!(
            "  growth over the second half: {:+.1} MiB ({:+.1} %); peak {peak:.1} MiB",
            last - middle,
            100.0 * (last - middle) / middle
        );
    }
    Ok(())
}
