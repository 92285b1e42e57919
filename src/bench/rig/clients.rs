//! The subscribers `bench run` measures, each a process printing one JSON line: brokerdash
//! (`bench subscribe`, this very binary), the official ably-js SDK (a Node script and its
//! pinned npm package, installed on first use) and the floor (a bench target built with
//! cargo).

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The ably-js version measured; the package files below pin it.
pub const ABLY_JS_VERSION: &str = "2.28.0";
const ABLY_JS_PACKAGE: &str = include_str!("../../../benches/ably-js/package.json");
const ABLY_JS_LOCK: &str = include_str!("../../../benches/ably-js/package-lock.json");
const ABLY_JS_SCRIPT: &str = include_str!("../../../benches/ably-js/subscribe.mjs");

/// The bench target that is the floor subscriber.
const FLOOR_TARGET: &str = "floor_subscriber";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum ClientKind {
    #[value(name = "ably-js")]
    AblyJs,
    Brokerdash,
    Floor,
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::AblyJs => "ably-js",
            Self::Brokerdash => "brokerdash",
            Self::Floor => "floor",
        }
    }

    pub fn column(self) -> String {
        match self {
            Self::AblyJs => format!("ably-js {ABLY_JS_VERSION}"),
            other => other.name().to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot find {0} on PATH: --compare ably-js needs Node.js (20 or later) and npm")]
    MissingProgram(&'static str),
    #[error("cannot write the ably-js subscriber to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed: {detail}")]
    Failed { program: String, detail: String },
    #[error(
        "--compare floor builds the bench target `{FLOOR_TARGET}` with cargo from the source tree at {0}, which is not there; pass --floor-bin"
    )]
    NoSourceTree(PathBuf),
    #[error("cargo built no executable for the bench target `{FLOOR_TARGET}`")]
    NoFloorExecutable,
}

/// How to start one kind of subscriber: a program and the arguments before the common ones.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub kind: ClientKind,
    program: PathBuf,
    leading: Vec<OsString>,
}

/// What one subscriber process left behind.
#[derive(Debug)]
pub enum Outcome {
    /// Its JSON line, and whether it said the run completed (exit status 0).
    Line {
        line: Value,
        completed: bool,
    },
    Failed(String),
}

pub struct Preparation<'a> {
    pub work_dir: &'a Path,
    pub floor_bin: Option<&'a Path>,
}

impl Subscriber {
    pub fn prepare(kind: ClientKind, preparation: &Preparation<'_>) -> Result<Self, ClientError> {
        match kind {
            ClientKind::Brokerdash => {
                let program = std::env::current_exe().map_err(|source| ClientError::Spawn {
                    program: "brokerdash".into(),
                    source,
                })?;
                Ok(Self {
                    kind,
                    program,
                    leading: vec!["bench".into(), "subscribe".into()],
                })
            }
            ClientKind::AblyJs => {
                let script = install_ably_js(preparation.work_dir)?;
                Ok(Self {
                    kind,
                    program: find_program("node")?,
                    leading: vec![script.into_os_string()],
                })
            }
            ClientKind::Floor => {
                let program = match preparation.floor_bin {
                    Some(path) => path.to_path_buf(),
                    None => build_floor()?,
                };
                Ok(Self {
                    kind,
                    program,
                    leading: Vec::new(),
                })
            }
        }
    }

    /// Runs one subscriber against the server on `port` and waits for its line.
    pub fn measure(&self, port: u16, channels: usize, timeout: Duration) -> Outcome {
        let mut command = Command::new(&self.program);
        command
            .args(&self.leading)
            .args(["--port", &port.to_string()])
            .args(["--channels", &channels.to_string()])
            .args(["--timeout-secs", &timeout.as_secs().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return Outcome::Failed(format!("cannot start: {error}")),
        };
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        // Past its own timeout the subscriber reports and exits; this is the backstop.
        let deadline = Instant::now() + timeout + Duration::from_secs(30);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let stdout = stdout
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let stderr = stderr
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let Some(status) = status else {
            return Outcome::Failed(format!("no answer within {} s", deadline_secs(timeout)));
        };
        match stdout
            .lines()
            .rev()
            .find_map(|text| serde_json::from_str::<Value>(text).ok())
        {
            Some(line) => Outcome::Line {
                line,
                completed: status.success(),
            },
            None => Outcome::Failed(format!(
                "printed no JSON line ({status}): {}",
                last_lines(&stderr)
            )),
        }
    }
}

fn deadline_secs(timeout: Duration) -> u64 {
    timeout.as_secs() + 30
}

fn read_all(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

fn find_program(name: &'static str) -> Result<PathBuf, ClientError> {
    let path = std::env::var_os("PATH").ok_or(ClientError::MissingProgram(name))?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(ClientError::MissingProgram(name))
}

/// Writes the ably-js subscriber and its pinned package files under the work folder, and
/// runs `npm ci` there unless those exact packages are installed; returns the script.
fn install_ably_js(work_dir: &Path) -> Result<PathBuf, ClientError> {
    let dir = work_dir.join(format!("ably-js-{ABLY_JS_VERSION}"));
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::create_dir_all(&dir)
            .and_then(|()| fs::write(&path, text))
            .map_err(|source| ClientError::Write { path, source })
    };
    write("package.json", ABLY_JS_PACKAGE)?;
    write("package-lock.json", ABLY_JS_LOCK)?;
    write("subscribe.mjs", ABLY_JS_SCRIPT)?;
    // npm writes node_modules/.package-lock.json last, so its presence with the lock's
    // packages means a finished install of exactly these versions.
    let installed = fs::read_to_string(dir.join("node_modules/.package-lock.json"))
        .is_ok_and(|text| text.contains(&format!("\"version\": \"{ABLY_JS_VERSION}\"")));
    if !installed {
        let npm = find_program("npm")?;
        let output = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .map_err(|source| ClientError::Spawn {
                program: "npm ci".into(),
                source,
            })?;
        if !output.status.success() {
            return Err(ClientError::Failed {
                program: "npm ci".into(),
                detail: last_lines(&String::from_utf8_lossy(&output.stderr)),
            });
        }
    }
    Ok(dir.join("subscribe.mjs"))
}

/// Builds the floor subscriber with cargo, in the profile this binary was built in, and
/// returns its path.
fn build_floor() -> Result<PathBuf, ClientError> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    if !manifest.is_file() {
        return Err(ClientError::NoSourceTree(manifest));
    }
    let cargo = std::env::var_os("CARGO")
        .map_or_else(|| find_program("cargo"), |path| Ok(PathBuf::from(path)))?;
    let mut command = Command::new(cargo);
    command.args([
        "build",
        "--bench",
        FLOOR_TARGET,
        "--message-format=json",
        "--manifest-path",
    ]);
    command.arg(&manifest);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| ClientError::Spawn {
            program: "cargo build".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(ClientError::Failed {
            program: format!("cargo build --bench {FLOOR_TARGET}"),
            detail: last_lines(&String::from_utf8_lossy(&output.stderr)),
        });
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|message| message["target"]["name"] == FLOOR_TARGET)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or(ClientError::NoFloorExecutable)
}
