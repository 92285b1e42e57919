//! The simulator against a real hub, watched through the real binary: `brokerdash tail
//! --jsonl` (which finds the conversation channels itself) must see every kind of event the
//! demo promises, from real clients over the protocol, within a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::{BTreeSet, HashSet};
use std::process::Stdio;
use std::time::Duration;

use brokerdash::hub::{DEVELOPMENT_KEY, HubConfig};
use brokerdash::sim::{self, SimConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(30);

/// Every kind of traffic the simulator promises, as named in the failure message.
const KINDS: [&str; 10] = [
    "message:user",
    "message:ai",
    "typing:start",
    "typing:stop",
    "read of a reply",
    "sla:warning",
    "sla:violation",
    "customer presence enter",
    "customer presence leave",
    "broker-sim2 presence",
];

/// The tail process, killed however the test ends.
struct Tail {
    child: Child,
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn spawn_tail(
    url: &str,
) -> (
    Tail,
    Lines<BufReader<ChildStdout>>,
    Lines<BufReader<ChildStderr>>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brokerdash"))
        .args([
            "tail",
            "--jsonl",
            "--endpoint",
            url,
            "--key",
            DEVELOPMENT_KEY,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start brokerdash tail");
    let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    (Tail { child }, stdout, stderr)
}

/// Which kinds one tail line shows; `replies` collects reply ids so a `read` counts only
/// when it names a reply seen earlier.
fn kinds_of(line: &Value, replies: &mut HashSet<String>) -> Vec<&'static str> {
    let name = line["name"].as_str().unwrap_or_default();
    let client_id = line["clientId"].as_str().unwrap_or_default();
    let data = &line["data"];
    match name {
        "message:ai" | "message:broker" => {
            if let Some(id) = data["messageId"].as_str() {
                replies.insert(id.to_owned());
            }
            if name == "message:ai" {
                assert!(data["persona"].is_string(), "persona missing: {line}");
                assert!(data["timing"]["ai_duration_ms"].is_u64(), "timing: {line}");
                vec!["message:ai"]
            } else {
                vec![]
            }
        }
        "message:user" => {
            assert!(data["messageId"].is_string() && data["content"].is_string());
            assert!(client_id.starts_with("customer-"), "{line}");
            vec!["message:user"]
        }
        "typing:start" => vec!["typing:start"],
        "typing:stop" => vec!["typing:stop"],
        "read" => {
            let id = data["messageId"].as_str().unwrap_or_default();
            assert_eq!(data["actor"], "customer", "{line}");
            assert!(data["readAt"].is_i64(), "{line}");
            if replies.contains(id) {
                vec!["read of a reply"]
            } else {
                vec![]
            }
        }
        "sla:warning" => {
            assert_eq!(data["threshold"], 1_000, "{line}");
            assert!(data["actual"].as_u64().unwrap() >= 1_000, "{line}");
            assert_eq!(data["severity"], "warning", "{line}");
            vec!["sla:warning"]
        }
        "sla:violation" => {
            assert_eq!(data["threshold"], 2_000, "{line}");
            assert!(data["actual"].as_u64().unwrap() >= 2_000, "{line}");
            assert_eq!(data["severity"], "critical", "{line}");
            vec!["sla:violation"]
        }
        "presence" => {
            let action = line["action"].as_str().unwrap_or_default();
            match (client_id, action) {
                ("broker-sim2", _) => {
                    assert_eq!(data["name"], "Alex Morgan", "{line}");
                    vec!["broker-sim2 presence"]
                }
                (customer, "enter") if customer.starts_with("customer-") => {
                    assert!(data["name"].is_string(), "{line}");
                    vec!["customer presence enter"]
                }
                (customer, "leave") if customer.starts_with("customer-") => {
                    vec!["customer presence leave"]
                }
                _ => vec![],
            }
        }
        _ => vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tail_sees_every_kind_of_simulated_event() {
    let hub = common::start_hub(HubConfig::development()).await;
    let url = hub.url();
    let deadline = Instant::now() + DEADLINE;

    // The tail first, so it is following the lifecycle metachannel before the simulator
    // opens its channels.
    let (tail, mut lines, mut diagnostics) = spawn_tail(&url);
    loop {
        let line = timeout_at(deadline, diagnostics.next_line())
            .await
            .expect("the tail attaches the lifecycle metachannel in time")
            .unwrap()
            .expect("the tail's stderr stays open");
        if line.contains("[meta]channel.lifecycle") && line.contains("attached") {
            break;
        }
    }
    // Keep reading its stderr so it can never block on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = diagnostics.next_line().await {} });

    let mut config = SimConfig::new(url.parse().unwrap(), DEVELOPMENT_KEY.parse().unwrap());
    config.seed = 7;
    config.speed = 10.0;
    config.sla_warning = Duration::from_secs(1);
    config.sla_violation = Duration::from_secs(2);
    let shutdown = CancellationToken::new();
    let mut simulation = tokio::spawn(sim::run(config, shutdown.clone()));

    let mut seen = BTreeSet::new();
    let mut replies = HashSet::new();
    while seen.len() < KINDS.len() {
        let missing: Vec<_> = KINDS.iter().filter(|k| !seen.contains(*k)).collect();
        let line = tokio::select! {
            line = timeout_at(deadline, lines.next_line()) => line
                .unwrap_or_else(|_| panic!("within {DEADLINE:?} the tail never showed {missing:?}"))
                .unwrap()
                .expect("the tail's stdout stays open"),
            ended = &mut simulation => panic!("the simulation ended early: {ended:?}"),
        };
        let value: Value = serde_json::from_str(&line).expect("each tail line is JSON");
        assert!(
            value["channel"]
                .as_str()
                .unwrap()
                .starts_with("conversation:")
        );
        seen.extend(kinds_of(&value, &mut replies));
    }

    shutdown.cancel();
    simulation
        .await
        .unwrap()
        .expect("the simulation stops cleanly");
    drop(tail);
    hub.stop().await.unwrap();
}

/// UTS: RTN14a, RTN14g.
#[tokio::test]
async fn a_refused_key_is_a_setup_error() {
    let hub = common::start_hub(HubConfig::development()).await;
    let mut config = SimConfig::new(
        hub.url().parse().unwrap(),
        "brokerdash.hub:wrong-secret".parse().unwrap(),
    );
    config.conversations = 2;
    let outcome = sim::run(config, CancellationToken::new()).await;
    assert!(
        matches!(outcome, Err(sim::SimError::Refused { .. })),
        "{outcome:?}"
    );
    hub.stop().await.unwrap();
}
