//! `brokerdash demo` as a new user runs it, on the built binary in a pseudo-terminal:
//! within 5 seconds at least 5 conversations with live messages, typing and presence; an
//! SLA warning within the demo's threshold; a reply typed with the keys answered by the
//! simulated customer's read receipt; `q` quits and the terminal is restored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use common::processes::BINARY;
use common::pty::PtyApp;

/// A warning threshold shorter than the demo's default 45 s keeps the test quick; the
/// code path is the same.
const WARNING_SECS: u64 = 8;

#[test]
fn the_demo_comes_alive_alerts_answers_and_quits_cleanly() {
    let state = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let warning = WARNING_SECS.to_string();
    let violation = (WARNING_SECS * 2).to_string();
    let mut app = PtyApp::spawn(
        BINARY,
        &[
            "demo",
            "--sla-warning-secs",
            &warning,
            "--sla-violation-secs",
            &violation,
        ],
        &[("BROKERDASH_STATE_DIR", state.path().to_str().unwrap())],
        140,
        40,
    );

    // Within 5 s: 5+ conversations with messages, someone typing, customers online.
    let alive_by = started + Duration::from_secs(5);
    let mut saw_typing = false;
    loop {
        let screen = app.contents();
        saw_typing |= screen.contains("typing…");
        let live_rows = screen
            .lines()
            .filter(|line| line.contains("online · waiting"))
            .count();
        if live_rows >= 5 && saw_typing {
            break;
        }
        assert!(
            Instant::now() < alive_by,
            "not alive within 5 s ({live_rows} live rows, typing seen: {saw_typing}):\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The SLA warning, within the threshold (plus the monitor's one-second check).
    app.wait_for("SLA WARN", Duration::from_secs(WARNING_SECS + 5));

    // Answer the most urgent conversation whose customer is at the screen (simulated
    // customers step away now and then); they read the reply.
    app.send("\u{1b}a"); // Alt+a
    app.wait_for("Quick replies", Duration::from_secs(5));
    for _ in 0..12 {
        let header = app.contents().lines().next().unwrap_or_default().to_owned();
        if header.contains("· online") {
            break;
        }
        app.send("\u{1b}j"); // Alt+j: the next conversation
        std::thread::sleep(Duration::from_millis(200));
    }
    app.send("i");
    app.wait_for("Enter sends", Duration::from_secs(5));
    app.send("Hello, I'm here to help with that.\r");
    // The customer may have written while the reply was typed: the guard asks first.
    app.wait_until(
        "the reply sent, or the guard asking",
        Duration::from_secs(10),
        |screen| screen.contains("sent ✓") || screen.contains("Before you send"),
    );
    if app.contents().contains("Before you send") {
        app.send("s");
    }
    app.wait_for("sent ✓", Duration::from_secs(10));
    // Read within seconds, or on return if they stepped away meanwhile.
    app.wait_for("read ✓✓", Duration::from_secs(60));

    app.send("\u{1b}"); // leave the composer
    app.wait_for("Reply — i to write", Duration::from_secs(5));
    app.send("q");
    let status = app.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    let bytes = String::from_utf8_lossy(&app.bytes()).to_string();
    let leave = bytes
        .rfind("\u{1b}[?1049l")
        .expect("left the alternate screen");
    let enter = bytes
        .rfind("\u{1b}[?1049h")
        .expect("entered the alternate screen");
    assert!(leave > enter, "the terminal was restored last");
}

/// The number in the feed's title, "Alerts · N in the last hour".
fn alerts_on_screen(screen: &str) -> Option<usize> {
    let (_, after) = screen.split_once("Alerts · ")?;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn after_a_demo_run_alerts_since_1h_as_csv_prints_that_runs_alerts() {
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let run_started_ms = chrono::Utc::now().timestamp_millis();
    let mut app = PtyApp::spawn(
        BINARY,
        &[
            "demo",
            "--view",
            "board",
            "--sla-warning-secs",
            "2",
            "--sla-violation-secs",
            "4",
        ],
        &[("BROKERDASH_STATE_DIR", state_dir)],
        160,
        48,
    );
    app.wait_until(
        "a few alerts in the feed",
        Duration::from_secs(30),
        |screen| alerts_on_screen(screen).is_some_and(|count| count >= 3),
    );
    let seen = alerts_on_screen(&app.contents()).unwrap();
    app.send("q");
    assert!(app.wait_exit(Duration::from_secs(10)).success());

    let output = std::process::Command::new(BINARY)
        .args(["alerts", "--since", "1h", "--csv"])
        .env("BROKERDASH_STATE_DIR", state_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = String::from_utf8(output.stdout).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("raised,conversation,customer,level"),
        "{csv}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.len() >= seen,
        "{} rows, {seen} alerts were on screen:\n{csv}",
        rows.len()
    );
    for row in &rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(cells[1].starts_with("demo:"), "a demo conversation: {row}");
        let raised = chrono::DateTime::parse_from_rfc3339(cells[0]).unwrap();
        assert!(
            raised.timestamp_millis() >= run_started_ms - 1_000,
            "raised during this run: {row}"
        );
        assert!(matches!(cells[3], "warning" | "breach"), "{row}");
    }
}
