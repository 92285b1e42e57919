//! The dashboard doing nothing: 200 conversation channels attached, no traffic, 10 s of
//! CPU time measured from /proc (all threads, nanosecond schedstat). Aim: under 1 %.
//!
//! Run: `cargo bench --bench dashboard_idle`. The dashboard runs as the real binary in a
//! pseudo-terminal against a real hub process.

// Shared with the tests; a benchmark uses only part of it and may panic like a test.
#[allow(dead_code, clippy::expect_used, clippy::unwrap_used)]
#[path = "../tests/common/pty.rs"]
mod pty;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brokerdash::protocol::Message;
use brokerdash::realtime::ClientOptions;
use brokerdash::rest::AuthConfig;
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");
const CHANNELS: usize = 200;
const WINDOW: Duration = Duration::from_secs(10);

fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() -> Result<(), String> {
    let mut hub = Command::new(BINARY)
        .args(["hub", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| error.to_string())?;
    let mut stdout = BufReader::new(hub.stdout.take().ok_or("hub stdout")?);
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .map_err(|error| error.to_string())?;
    let url = first
        .trim()
        .trim_start_matches("hub listening on ")
        .to_owned();

    // 200 conversations with one message each, so discovery finds them.
    let runtime = tokio::runtime::Runtime::new().map_err(|error| error.to_string())?;
    let endpoint = url::Url::parse(&url).map_err(|error| error.to_string())?;
    let key = brokerdash::hub::DEVELOPMENT_KEY
        .parse()
        .map_err(|_| "key")?;
    let rest = ClientOptions::new(
        endpoint,
        AuthConfig::Key {
            key,
            use_tokens: false,
            token_ttl_ms: None,
        },
    )
    .rest_client();
    runtime.block_on(async {
        for index in 0..CHANNELS {
            let data = json!({"messageId": format!("m{index}"), "content": "Hello"}).to_string();
            let message = Message {
                name: Some("message:user".into()),
                data: Some(json!(data)),
                encoding: Some("json".into()),
                ..Message::default()
            };
            rest.publish(&format!("conversation:{index}"), &[message])
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok::<(), String>(())
    })?;

    let state = std::env::temp_dir().join(format!("brokerdash-idle-{}", std::process::id()));
    std::fs::create_dir_all(&state).map_err(|error| error.to_string())?;
    std::fs::write(state.join("config.toml"), "").map_err(|error| error.to_string())?;
    let auth_url = format!("{url}/api/ably/auth");
    let app = pty::PtyApp::spawn(
        BINARY,
        &[
            "--endpoint",
            &url,
            "--auth-url",
            &auth_url,
            "--broker-id",
            "7",
        ],
        &[
            ("BROKERDASH_STATE_DIR", state.to_str().unwrap_or(".")),
            (
                "BROKERDASH_CONFIG",
                state.join("config.toml").to_str().unwrap_or(""),
            ),
        ],
        160,
        48,
    );
    app.wait_for(&format!("{CHANNELS} channels"), Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2)); // let start-up settle
    let pid = app.pid().ok_or("dashboard pid")?;
    let cpu_before = cpu_ns(pid);
    let started = Instant::now();
    std::thread::sleep(WINDOW);
    let cpu = cpu_ns(pid) - cpu_before;
    let elapsed = started.elapsed();
    let percent = 100.0 * cpu as f64 / elapsed.as_nanos() as f64;
    println!(
        "dashboard idle (cargo bench --bench dashboard_idle): {CHANNELS} channels attached, no traffic"
    );
    println!(
        "  CPU over {:.1} s: {:.3} ms = {percent:.3} % of one core",
        elapsed.as_secs_f64(),
        cpu as f64 / 1e6
    );
    let _ = hub.kill();
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}
