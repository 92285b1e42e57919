//! What the process benchmarks share: the binary, a hub on a free port, children killed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};

pub const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");

/// A child process, killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `brokerdash hub` on a free loopback port; the process and its port.
pub fn start_hub() -> Result<(Running, u16), String> {
    let mut hub = Command::new(BINARY)
        .args(["hub", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("start the hub: {error}"))?;
    let mut first = String::new();
    let stdout = hub.stdout.take().ok_or("hub stdout")?;
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|error| error.to_string())?;
    let hub = Running(hub);
    let port: u16 = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or("hub port")?;
    Ok((hub, port))
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `bench load` with `args` (after the port) to its end.
pub fn run_load(port: u16, args: &[&str]) -> Result<(), String> {
    let load = Command::new(BINARY)
        .args(["bench", "load", "--port", &port.to_string()])
        .args(args)
        .output()
        .map_err(|error| format!("run bench load: {error}"))?;
    if !load.status.success() {
        return Err(format!(
            "bench load failed: {}",
            String::from_utf8_lossy(&load.stderr)
        ));
    }
    Ok(())
}

/// Waits for `bench subscribe` to end; how it ended, and its one JSON line, raw and read.
pub fn subscriber_result(
    subscriber: &mut Running,
) -> Result<(ExitStatus, String, serde_json::Value), String> {
    let status = subscriber.0.wait().map_err(|error| error.to_string())?;
    let mut line = String::new();
    let out = subscriber.0.stdout.take().ok_or("subscriber stdout")?;
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|error| error.to_string())?;
    let result = serde_json::from_str(&line).map_err(|error| format!("{error}: {line}"))?;
    Ok((status, line, result))
}
