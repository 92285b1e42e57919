//! The real binary as separate processes: a hub on a free port, and one-shot commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");
pub const KEY: &str = "brokerdash.hub:local-development-secret";

/// A `brokerdash hub` process, killed when dropped.
pub struct HubProcess {
    child: Child,
    pub url: String,
    /// Kept open for the hub's lifetime: it may still be writing to it.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl HubProcess {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(["hub", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the hub");
        let mut stdout = BufReader::new(child.stdout.take().expect("hub stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("hub's first line");
        let url = first
            .trim()
            .strip_prefix("hub listening on ")
            .unwrap_or_else(|| panic!("unexpected: {first:?}"))
            .to_owned();
        Self {
            child,
            url,
            _stdout: stdout,
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `brokerdash publish` against this hub; the message id.
    pub fn publish(&self, channel: &str, event: &str, data: &Value) -> String {
        let output = Command::new(BINARY)
            .args([
                "publish",
                "--endpoint",
                &self.url,
                "--key",
                KEY,
                channel,
                event,
                &data.to_string(),
            ])
            .output()
            .expect("run brokerdash publish");
        assert!(
            output.status.success(),
            "publish failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// The channel's history, oldest first, through the REST API.
    pub fn history(&self, channel: &str) -> Vec<Value> {
        let output = Command::new("curl")
            .args([
                "-sf",
                "-u",
                KEY,
                &format!(
                    "{}/channels/{}/messages?limit=1000&direction=forwards",
                    self.url,
                    channel.replace(':', "%3A")
                ),
            ])
            .output()
            .expect("curl history");
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("history: {}", String::from_utf8_lossy(&output.stdout)))
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Decoded `data` of a history item (JSON-encoded strings are parsed).
pub fn data_of(item: &Value) -> Value {
    match (
        item.get("data"),
        item.get("encoding").and_then(Value::as_str),
    ) {
        (Some(Value::String(text)), Some("json")) => {
            serde_json::from_str(text).unwrap_or(Value::Null)
        }
        (Some(data), _) => data.clone(),
        (None, _) => Value::Null,
    }
}

/// The dashboard in a pseudo-terminal with a state folder of its own and an empty config
/// file there, so nothing on this machine changes the test.
pub fn dashboard(
    state: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    cols: u16,
    rows: u16,
) -> super::pty::PtyApp {
    let config = state.join("config.toml");
    std::fs::write(&config, "").expect("write an empty config");
    let mut all_env = vec![
        ("BROKERDASH_STATE_DIR", state.to_str().expect("state path")),
        ("BROKERDASH_CONFIG", config.to_str().expect("config path")),
    ];
    all_env.extend_from_slice(env);
    super::pty::PtyApp::spawn(BINARY, args, &all_env, cols, rows)
}

/// Arguments that sign in as broker 7 ("Sam") through the hub's stand-in auth endpoint.
pub fn broker_args(endpoint: &str) -> Vec<String> {
    [
        "--endpoint",
        endpoint,
        "--auth-url",
        &format!("{endpoint}/api/ably/auth"),
        "--broker-id",
        "7",
        "--broker-name",
        "Sam",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect()
}
