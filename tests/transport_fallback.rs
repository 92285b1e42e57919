//! The transports end to end, against a hub that refuses WebSocket upgrades for 10 s:
//! `brokerdash tail --jsonl --transport auto` in the middle of a stream falls back to
//! polling and comes back, printing every message exactly once, in order; the dashboard's
//! status bar says so in a pseudo-terminal; and the hub's fault itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::processes::{BINARY, HubProcess, KEY, broker_args, dashboard};
use serde_json::{Value, json};

const CHANNELS: usize = 4;
const RATE_PER_SEC: u64 = 20;

/// A process whose output lines are gathered as they come.
struct Tail {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Tail {
    fn start(url: &str, config_dir: &std::path::Path) -> Self {
        let config = config_dir.join("config.toml");
        std::fs::write(&config, "").unwrap();
        let mut command = Command::new(BINARY);
        command
            .args(["tail", "--jsonl", "--transport", "auto", "--endpoint", url])
            .args(["--key", KEY])
            .env("BROKERDASH_CONFIG", &config)
            .env("BROKERDASH_STATE_DIR", config_dir)
            .env_remove("ENABLE_ABLY_REALTIME")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for index in 0..CHANNELS {
            command.args(["--channel", &format!("conversation:{index}")]);
        }
        let mut child = command.spawn().expect("start tail");
        let stdout = gather(child.stdout.take().unwrap());
        let stderr = gather(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits until `done` holds for the lines of `stream`, or panics with them.
    fn wait(&self, what: &str, within: Duration, stderr: bool, done: impl Fn(&[String]) -> bool) {
        let stream = if stderr { &self.stderr } else { &self.stdout };
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if done(&stream.lock().unwrap()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{what} not seen in {within:?}; stderr: {:?}",
            self.stderr.lock().unwrap()
        );
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gather(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

fn position(lines: &[String], text: &str) -> Option<usize> {
    lines.iter().position(|line| line.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_polling_and_back_and_tail_prints_every_message_once_in_order() {
    let hub = HubProcess::start(&["--faults"]);
    let folder = tempfile::tempdir().unwrap();
    let tail = Tail::start(&hub.url, folder.path());
    tail.wait(
        "every channel attached",
        Duration::from_secs(20),
        true,
        |lines| {
            lines
                .iter()
                .filter(|line| line.ends_with(" attached"))
                .count()
                >= CHANNELS
        },
    );
    assert!(
        position(&tail.stderr.lock().unwrap(), "transport polling").is_none(),
        "on WebSocket at first"
    );

    let http = reqwest::Client::new();
    let publish = |sequence: usize| {
        let channel = format!("conversation:{}", sequence % CHANNELS);
        let body = json!([{"id": format!("stream-{sequence}"), "name": "message:user", "data": sequence.to_string()}]);
        http.post(format!(
            "{}/channels/{}/messages",
            hub.url,
            channel.replace(':', "%3A")
        ))
        .basic_auth("brokerdash.hub", Some("local-development-secret"))
        .json(&body)
        .send()
    };
    let started = Instant::now();
    let mut sequence = 0;
    let mut refused_at = None;
    let mut back_at = None;
    // Publish until WebSocket has been back for 3 s (at most 60 s): the stream runs through
    // both switches.
    while back_at.is_none_or(|at: Instant| at.elapsed() < Duration::from_secs(3)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "WebSocket never came back"
        );
        let due = started + Duration::from_millis(sequence as u64 * 1000 / RATE_PER_SEC);
        tokio::time::sleep_until(due.into()).await;
        let answer = publish(sequence).await.expect("publish");
        assert!(
            answer.status().is_success(),
            "publish {sequence}: {}",
            answer.status()
        );
        sequence += 1;
        if sequence == 60 {
            // WebSocket refused for 10 s, and every connection cut so the client must
            // reconnect into the refusal.
            for fault in ["refuse-websocket?ms=10000", "drop"] {
                let url = format!("{}/_hub/faults/{fault}", hub.url);
                assert!(http.post(url).send().await.unwrap().status().is_success());
            }
            refused_at = Some(Instant::now());
        }
        if back_at.is_none() && refused_at.is_some() {
            let stderr = tail.stderr.lock().unwrap();
            if let Some(polling) = position(&stderr, "transport polling")
                && stderr[polling..]
                    .iter()
                    .any(|line| line == "transport websocket")
            {
                back_at = Some(Instant::now());
            }
        }
    }
    let total = sequence;
    tail.wait("every message", Duration::from_secs(30), false, |lines| {
        lines
            .iter()
            .filter(|line| line.contains("message:user"))
            .count()
            >= total
    });
    // A moment for anything doubled to show.
    std::thread::sleep(Duration::from_millis(500));

    let mut per_channel: HashMap<String, Vec<usize>> = HashMap::new();
    for line in tail.stdout.lock().unwrap().iter() {
        let value: Value = serde_json::from_str(line).unwrap();
        if value["name"] != "message:user" {
            continue; // a gap fill's report
        }
        let data: usize = value["data"].as_str().unwrap().parse().unwrap();
        let channel = value["channel"].as_str().unwrap().to_owned();
        per_channel.entry(channel).or_default().push(data);
    }
    for index in 0..CHANNELS {
        let expected: Vec<usize> = (0..total).filter(|s| s % CHANNELS == index).collect();
        let got = per_channel
            .remove(&format!("conversation:{index}"))
            .unwrap_or_default();
        assert_eq!(
            got, expected,
            "conversation:{index}: exactly once, in order"
        );
    }
    let stderr = tail.stderr.lock().unwrap().clone();
    let polling = position(&stderr, "transport polling: WebSocket refused 3 times")
        .unwrap_or_else(|| panic!("{stderr:#?}"));
    let websocket = position(&stderr, "transport websocket").unwrap();
    assert!(polling < websocket, "{stderr:?}");
    let refused = refused_at.unwrap();
    println!(
        "fallback: {total} messages; refused at {:.1} s, back on WebSocket {:.1} s later",
        (refused - started).as_secs_f64(),
        (back_at.unwrap() - refused).as_secs_f64()
    );
}

/// WebSocket refused for 10 s, and every connection cut so clients reconnect into it.
fn refuse_websocket_and_drop(url: &str) {
    for fault in ["refuse-websocket?ms=10000", "drop"] {
        let status = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "-X", "POST"])
            .arg(format!("{url}/_hub/faults/{fault}"))
            .status()
            .expect("curl");
        assert!(status.success(), "{fault}");
    }
}

/// The status bar's line: the last line of the screen.
fn status_line(screen: &str) -> String {
    screen
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_status_bar_shows_websocket_then_polling_then_websocket_again() {
    let hub = HubProcess::start(&["--faults"]);
    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Hello from Priya"}),
    );
    let state = tempfile::tempdir().unwrap();
    let args = broker_args(&hub.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = dashboard(state.path(), &args, &[], 120, 32);
    app.wait_for("Hello", Duration::from_secs(15));
    app.send("\r");
    app.wait_for("Hello from Priya", Duration::from_secs(15));
    app.wait_until(
        "connected over websocket",
        Duration::from_secs(15),
        |screen| {
            let status = status_line(screen);
            status.contains("connected") && status.contains("websocket")
        },
    );

    refuse_websocket_and_drop(&hub.url);
    app.wait_until(
        "polling in the status bar",
        Duration::from_secs(15),
        |screen| {
            let status = status_line(screen);
            status.contains("polling") && !status.contains("websocket")
        },
    );
    assert!(
        app.contents().contains("WebSocket refused 3 times"),
        "the reason is on screen:\n{}",
        app.contents()
    );
    // Polling delivers: a message published now reaches the screen.
    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c2", "content": "Are you still there"}),
    );
    app.wait_for("Are you still there", Duration::from_secs(15));

    // The refusal ends after 10 s; the connection's own retry (15 s to 20 s) comes back.
    app.wait_until("websocket again", Duration::from_secs(40), |screen| {
        let status = status_line(screen);
        status.contains("connected") && status.contains("websocket") && !status.contains("polling")
    });
}

#[tokio::test]
async fn the_hub_refuses_websocket_upgrades_with_403_for_the_time_asked() {
    let mut config = brokerdash::hub::HubConfig::development();
    config.faults = true;
    let hub = common::start_hub(config).await;
    let url = common::realtime_url(hub.addr, &[]);
    let http = reqwest::Client::new();
    let fault = format!("{}/_hub/faults/refuse-websocket?ms=700", hub.url());
    assert!(
        http.post(&fault)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let refused_at = Instant::now();
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        Err(other) => panic!("expected HTTP 403, got {other}"),
        Ok(_) => panic!("the upgrade was accepted during the refusal"),
    }
    let ends = refused_at + Duration::from_millis(700);
    tokio::time::sleep_until(ends.into()).await;
    assert!(
        tokio_tungstenite::connect_async(url.as_str()).await.is_ok(),
        "accepted again once the time is up"
    );
    let missing = http
        .post(format!("{}/_hub/faults/refuse-websocket", hub.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400, "ms is required");
}
