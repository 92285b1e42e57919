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

/// `brokerdash sim` as its own process, killed however the test ends; its stderr lines
/// are collected as they come.
struct SimProcess {
    child: std::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SimProcess {
    fn start(endpoint: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_brokerdash"))
            .args(["sim", "--endpoint", endpoint, "--conversations", "2"])
            .args(["--speed", "10"])
            // The hub's development key is the default on loopback: nothing else applies.
            .env_remove("ABLY_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start brokerdash sim");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = std::io::BufReader::new(child.stderr.take().unwrap());
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Self { child, stderr }
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it finds something, failing with `what` at the deadline.
fn poll<T>(what: &str, deadline: Instant, mut check: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "in time: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn named<'a>(history: &'a [Value], name: &'a str) -> impl Iterator<Item = &'a Value> {
    history.iter().filter(move |item| item["name"] == name)
}

/// Publishes customer messages on `channel`, one a round, until the AI answers one of
/// them (it answers only some, as the product's AI escalates the rest); that answer's id.
fn ask_until_answered(
    hub: &common::processes::HubProcess,
    channel: &str,
    prefix: &str,
    deadline: Instant,
) -> String {
    let mut asked = Vec::new();
    loop {
        let id = format!("{prefix}-{}", asked.len() + 1);
        let question =
            serde_json::json!({"messageId": id, "content": "Could you check a fixed rate?"});
        hub.publish(channel, "message:user", &question);
        asked.push(format!("ai-{id}"));
        // An answer takes under a second at speed 10; three is a round.
        let round_ends = Instant::now() + Duration::from_secs(3);
        let answered = poll(&format!("an answer on {channel}"), deadline, || {
            let history = hub.history(channel);
            let answer = named(&history, "message:ai").find_map(|item| {
                let id = common::processes::data_of(item)["messageId"]
                    .as_str()?
                    .to_owned();
                asked.contains(&id).then_some(id)
            });
            match answer {
                Some(id) => Some(Some(id)),
                None if Instant::now() >= round_ends => Some(None),
                None => None,
            }
        });
        if let Some(id) = answered {
            return id;
        }
    }
}

#[cfg(unix)]
#[test]
fn the_sim_command_runs_the_cast_against_a_hub_and_its_ai_stays_quiet_while_paused() {
    use common::processes::{HubProcess, data_of};
    let hub = HubProcess::start(&[]);
    // Generous: every poll and publish here is a process of its own.
    let deadline = Instant::now() + 2 * DEADLINE;
    let mut sim = SimProcess::start(&hub.url);

    // A customer has spoken on both conversations: everyone is attached.
    for channel in ["conversation:1", "conversation:2"] {
        poll(
            &format!("a simulated customer on {channel}"),
            deadline,
            || {
                let history = hub.history(channel);
                let spoken = named(&history, "message:user").any(|item| {
                    item["clientId"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("customer-"))
                });
                spoken.then_some(())
            },
        );
    }
    let announced = sim.stderr().join("\n");
    assert!(
        announced.contains("brokerdash.hub (the hub's development key)"),
        "{announced}"
    );
    assert!(
        !announced.contains("local-development-secret"),
        "{announced}"
    );

    let pause = serde_json::json!({"brokerId": "8", "reason": "rehearsal"});
    let pause_id = hub.publish("conversation:1", "ai:pause", &pause);
    for round in 1..=3 {
        let id = format!("paused-{round}");
        let question = serde_json::json!({"messageId": id, "content": "Is anyone there?"});
        hub.publish("conversation:1", "message:user", &question);
    }
    // Conversation 2 is answered after all of those: the AI had its chance on 1.
    ask_until_answered(&hub, "conversation:2", "open", deadline);
    let history = hub.history("conversation:1");
    let paused_at = history
        .iter()
        .position(|item| item["id"] == pause_id.as_str())
        .expect("the pause is in the history");
    let pause_ms = history[paused_at]["timestamp"].as_i64().unwrap();
    // Sent after the hub had the pause (by the worker's own clock): a pause ignored.
    let ignored: Vec<&Value> = history[paused_at + 1..]
        .iter()
        .filter(|item| item["clientId"] == "ai-worker")
        .filter(|item| item["name"] == "message:ai" || item["name"] == "typing:start")
        .filter(|item| data_of(item)["timestamp"].as_i64().unwrap() > pause_ms)
        .collect();
    assert!(ignored.is_empty(), "the AI spoke while paused: {ignored:?}");

    let resume = serde_json::json!({"brokerId": "8"});
    hub.publish("conversation:1", "ai:resume", &resume);
    ask_until_answered(&hub, "conversation:1", "resumed", deadline);

    let pid = sim.child.id().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(signalled.success());
    let status = poll("the sim to stop after SIGINT", deadline, || {
        sim.child.try_wait().unwrap()
    });
    assert!(status.success(), "{status:?}: {:?}", sim.stderr());
    let summary = poll("the sim's summary line", deadline, || {
        sim.stderr()
            .into_iter()
            .find(|line| line.starts_with("brokerdash sim: stopped after"))
    });
    assert!(summary.contains("2 conversations"), "{summary}");
}
