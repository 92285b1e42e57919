//! Runs the ably-js conformance suite (`tests/conformance`) against a real `brokerdash hub`.
//!
//! The official SDK accepting the hub is how we know the hub speaks Ably's protocol and not a
//! private dialect, so this test is not optional: without Node.js and npm it
//! fails rather than skips. It installs the pinned npm packages itself when they are missing or
//! stale, starts the hub on a free loopback port with fault injection, and runs every
//! `*.test.mjs` file with `node --test`, passing the hub's port and key in `HUB_PORT`/`HUB_KEY`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Backstop for the whole suite. Every wait inside the suite has its own deadline and a normal
/// run takes seconds; this only keeps a hang from stalling CI.
const SUITE_DEADLINE: Duration = Duration::from_secs(300);
/// How long the hub may take to print its address and key.
const HUB_START_DEADLINE: Duration = Duration::from_secs(30);
/// How long to wait for a killed process's output pipes to close.
const OUTPUT_GRACE: Duration = Duration::from_secs(5);
/// `node --test --test-concurrency` needs Node.js 20.10 or newer.
const MIN_NODE: (u32, u32) = (20, 10);

#[test]
fn ably_js_accepts_the_hub() {
    let node = find_program("node");
    let npm = find_program("npm");
    require_node_version(&node);
    let suite = suite_dir();
    install_packages(&npm, &suite);

    // Every test under both of Ably's protocols: JSON text, and msgpack (ably-js's default in
    // Node). A hub of its own for each, so one run cannot pass on the other's leftovers.
    for protocol in ["json", "msgpack"] {
        let hub = Hub::start();
        let run = run_suite(&node, &suite, &hub, protocol);
        let hub_output = hub.stop();
        match run.status {
            Some(status) if status.success() => println!("--- {protocol} ---\n{}", run.output),
            Some(status) => panic!(
                "the ably-js conformance suite failed over {protocol} ({status}):\n{}\n--- hub output ---\n{hub_output}",
                run.output
            ),
            None => panic!(
                "the ably-js conformance suite was killed after {}s over {protocol}:\n{}\n--- hub output ---\n{hub_output}",
                SUITE_DEADLINE.as_secs(),
                run.output
            ),
        }
    }
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("conformance")
}

/// Looks `name` up on PATH the way a shell would, so the failure can say what is missing.
fn find_program(name: &str) -> PathBuf {
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{name}.exe"), format!("{name}.cmd")]
    } else {
        vec![name.to_owned()]
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH. The ably-js conformance test needs Node.js {}.{}+ and \
                 npm; install them and run `cargo test` again.",
                MIN_NODE.0, MIN_NODE.1
            )
        })
}

fn require_node_version(node: &Path) {
    let output = Command::new(node)
        .arg("--version")
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{} --version`: {error}", node.display()));
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(str::parse::<u32>);
    let found = match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => panic!("cannot read the Node.js version from `{version}`"),
    };
    assert!(
        found >= MIN_NODE,
        "the ably-js conformance test needs Node.js {}.{}+, found {version}",
        MIN_NODE.0,
        MIN_NODE.1
    );
}

/// Runs `npm ci` unless the installed packages match package-lock.json.
fn install_packages(npm: &Path, suite: &Path) {
    if packages_current(suite) {
        return;
    }
    let output = Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(suite)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run `npm ci`: {error}"));
    assert!(
        output.status.success(),
        "`npm ci` in {} failed ({}):\n{}{}",
        suite.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// npm writes `node_modules/.package-lock.json` last, after every package, on `npm install` and
/// `npm ci` alike; the files inside a package are written before package-lock.json, so their
/// own times cannot tell a fresh install from a stale one.
fn packages_current(suite: &Path) -> bool {
    let modified = |path: PathBuf| -> Option<SystemTime> { path.metadata().ok()?.modified().ok() };
    let installed = modified(suite.join("node_modules").join(".package-lock.json"));
    let locked = modified(suite.join("package-lock.json"));
    let ably = suite.join("node_modules").join("ably").join("package.json");
    ably.is_file() && matches!((installed, locked), (Some(i), Some(l)) if i >= l)
}

/// The hub under test. Dropping it kills the process, so a failing test cannot leave it running.
struct Hub {
    child: Child,
    port: u16,
    key: String,
    stdout: Option<Receiver<String>>,
    stderr: Option<Receiver<String>>,
}

impl Hub {
    /// Starts `brokerdash hub` on a free port and reads the address and key it prints first.
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_brokerdash"))
            .args(["hub", "--listen", "127.0.0.1:0", "--faults"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `brokerdash hub`: {error}"));
        let stdout = child.stdout.take().map(read_lines);
        let stderr = child.stderr.take().map(read_all);
        let mut hub = Self {
            child,
            port: 0,
            key: String::new(),
            stdout,
            stderr,
        };

        let deadline = Instant::now() + HUB_START_DEADLINE;
        let listening = hub.next_line(deadline, "`hub listening on http://HOST:PORT`");
        hub.port = parse_port(&listening).unwrap_or_else(|| {
            hub.fail(&format!(
                "expected `hub listening on http://HOST:PORT`, got `{listening}`"
            ))
        });
        let key_line = hub.next_line(deadline, "`key: appId.keyId:secret`");
        // The line holds a secret; say what is wrong with it without repeating it.
        hub.key = parse_key(&key_line).unwrap_or_else(|| {
            hub.fail("the hub's second line is not of the form `key: appId.keyId:secret`")
        });
        hub
    }

    fn next_line(&mut self, deadline: Instant, what: &str) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = self
            .stdout
            .as_ref()
            .and_then(|stdout| stdout.recv_timeout(left).ok());
        line.unwrap_or_else(|| self.fail(&format!("the hub did not print {what}")))
    }

    fn fail(&mut self, message: &str) -> ! {
        let stderr = self.kill_and_collect_stderr();
        panic!("{message}\n--- hub stderr ---\n{stderr}")
    }

    fn kill_and_collect_stderr(&mut self) -> String {
        // Errors only mean the process has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|stderr| stderr.recv_timeout(OUTPUT_GRACE).ok())
            .unwrap_or_default()
    }

    /// Kills the hub and returns everything it printed after its first two lines.
    fn stop(mut self) -> String {
        let stderr = self.kill_and_collect_stderr();
        let stdout: Vec<String> = self.stdout.iter().flat_map(Receiver::try_iter).collect();
        format!("{}\n{stderr}", stdout.join("\n"))
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_port(line: &str) -> Option<u16> {
    let address = line.trim().strip_prefix("hub listening on http://")?;
    address
        .rsplit_once(':')?
        .1
        .trim_end_matches('/')
        .parse()
        .ok()
}

fn parse_key(line: &str) -> Option<String> {
    let key = line
        .trim()
        .strip_prefix("key: ")?
        .split_whitespace()
        .next()?;
    let (name, secret) = key.split_once(':')?;
    (name.contains('.') && !secret.is_empty()).then(|| key.to_owned())
}

/// Forwards each line of `source` on a channel, so the reader can wait with a deadline. The
/// thread keeps draining until the pipe closes, so the writer never blocks on a full pipe.
fn read_lines(source: impl Read + Send + 'static) -> Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(source).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Reads `source` to its end on a thread and sends the text once the pipe closes.
fn read_all(mut source: impl Read + Send + 'static) -> Receiver<String> {
    let (text, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = source.read_to_end(&mut bytes);
        let _ = text.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    receiver
}

struct SuiteRun {
    /// `None` when the suite overran [`SUITE_DEADLINE`] and was killed.
    status: Option<ExitStatus>,
    output: String,
}

fn run_suite(node: &Path, suite: &Path, hub: &Hub, protocol: &str) -> SuiteRun {
    let mut child = Command::new(node)
        // One file at a time: the files share one hub and the resume test cuts every connection.
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(test_files(suite))
        .current_dir(suite)
        .env("HUB_PORT", hub.port.to_string())
        .env("HUB_KEY", &hub.key)
        .env("HUB_PROTOCOL", protocol)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start `node --test`: {error}"));
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);

    let status = wait_with_deadline(&mut child, SUITE_DEADLINE);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    // A grandchild left running could hold a pipe open; do not wait on it forever.
    let collect = |output: Option<Receiver<String>>| {
        output
            .and_then(|text| text.recv_timeout(OUTPUT_GRACE).ok())
            .unwrap_or_default()
    };
    let output = format!("{}{}", collect(stdout), collect(stderr));
    SuiteRun { status, output }
}

fn test_files(suite: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(suite)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", suite.display()));
    let mut files: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.test.mjs files in {}",
        suite.display()
    );
    files
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            Ok(None) => return None,
            Err(error) => panic!("cannot wait for `node --test`: {error}"),
        }
    }
}
