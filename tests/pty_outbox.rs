//! The outbox, with the real binary in a pseudo-terminal: a reply sent while the hub is
//! unreachable, and a reply whose dashboard is killed (SIGKILL) right after Enter, each
//! reach the channel exactly once when things come back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::gate::Gate;
use common::processes::{HubProcess, broker_args, dashboard, data_of};
use common::pty::PtyApp;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);
/// Reconnecting after a refused attempt waits Ably's 15 s retry (with jitter).
const RECONNECT: Duration = Duration::from_secs(40);

/// A hub behind a gate the test can close, as a network outage would.
struct Setup {
    hub: HubProcess,
    gate: Gate,
    _runtime: tokio::runtime::Runtime,
    state: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let hub = HubProcess::start(&[]);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let target: SocketAddr = hub.url.trim_start_matches("http://").parse().unwrap();
        let gate = runtime.block_on(Gate::start(target));
        let state = tempfile::tempdir().unwrap();
        Self {
            hub,
            gate,
            _runtime: runtime,
            state,
        }
    }

    fn dashboard(&self) -> PtyApp {
        let args = broker_args(&self.gate.url());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        dashboard(self.state.path(), &args, &[], 120, 32)
    }

    fn replies(&self, content: &str) -> usize {
        self.hub
            .history("conversation:1")
            .iter()
            .filter(|item| item["name"] == "message:broker" && data_of(item)["content"] == content)
            .count()
    }
}

fn open_and_type(app: &mut PtyApp, reply: &str) {
    app.wait_for("Hello", WAIT);
    app.send("\r");
    app.wait_for("Hello from Priya", WAIT);
    app.send("i");
    app.wait_for("Enter sends", WAIT);
    app.send(reply);
}

#[test]
fn a_reply_sent_while_the_hub_is_unreachable_arrives_once_when_it_is_back() {
    let setup = Setup::new();
    setup.hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Hello from Priya"}),
    );
    let mut app = setup.dashboard();
    app.wait_for("connected", WAIT);
    open_and_type(&mut app, "Sorry for the wait");

    setup.gate.close();
    app.wait_for("reconnecting", WAIT);
    app.send("\r");
    app.wait_for("sending", WAIT);
    app.wait_for("1 unsent", WAIT);
    assert_eq!(
        setup.replies("Sorry for the wait"),
        0,
        "nothing can arrive while the hub is unreachable"
    );

    setup.gate.open();
    app.wait_for("sent ✓", RECONNECT);
    app.wait_for("0 unsent", WAIT);
    assert_eq!(setup.replies("Sorry for the wait"), 1);
}

#[test]
fn a_reply_survives_the_dashboard_being_killed_right_after_enter() {
    let setup = Setup::new();
    setup.hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Hello from Priya"}),
    );

    // The network is down, so the reply cannot have left when the process dies.
    let mut app = setup.dashboard();
    app.wait_for("connected", WAIT);
    open_and_type(&mut app, "Reply one survives a crash");
    setup.gate.close();
    app.wait_for("reconnecting", WAIT);
    app.send("\r");
    app.wait_for("sending", WAIT);
    kill_hard(&app);
    app.wait_exit(WAIT);

    // The network is up: the reply may or may not leave before the kill; once either way.
    setup.gate.open();
    let mut app = setup.dashboard();
    app.wait_for("connected", WAIT);
    app.send("\r");
    app.wait_for("Hello from Priya", WAIT);
    app.wait_for("sent ✓", WAIT);
    assert_eq!(
        setup.replies("Reply one survives a crash"),
        1,
        "sent again from the outbox after the restart"
    );
    app.send("i");
    app.wait_for("Enter sends", WAIT);
    app.send("Reply two races the kill\r");
    // Drawn means handled: the reply is in the outbox; it may be on the wire too.
    app.wait_for("  Reply two races the kill", WAIT);
    kill_hard(&app);
    app.wait_exit(WAIT);

    let mut app = setup.dashboard();
    app.wait_for("connected", WAIT);
    app.wait_for("0 unsent", WAIT);
    let deadline = std::time::Instant::now() + WAIT;
    while setup.replies("Reply two races the kill") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(setup.replies("Reply one survives a crash"), 1);
    assert_eq!(
        setup.replies("Reply two races the kill"),
        1,
        "once: sent before the kill or from the outbox after, never both"
    );
    app.send("q");
    app.wait_exit(WAIT);
}

fn kill_hard(app: &PtyApp) {
    let pid = app.pid().expect("the dashboard's pid");
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
