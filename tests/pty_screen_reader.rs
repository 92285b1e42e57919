//! The screen-reader mode on the real binary in a pseudo-terminal: announced on the first
//! line, no alternate screen and no box drawing, one labelled line per event (most
//! important words first, time last), commands at a prompt, the same data and outbox.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::processes::{HubProcess, broker_args, dashboard as dashboard_in, data_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn events_are_lines_and_commands_work_at_the_prompt() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let mut args = vec!["--screen-reader".to_owned()];
    args.extend(broker_args(&hub.url));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = dashboard_in(state.path(), &args, &[], 200, 60);
    app.wait_for("screen-reader mode", WAIT);
    assert!(
        app.contents().starts_with("brokerdash, screen-reader mode"),
        "announced on the first line"
    );
    app.wait_for("Connection connected", WAIT);

    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Is 10% deposit enough?"}),
    );
    // Not open yet: the brief form, and no typing line.
    app.wait_for(
        "Customer message, conversation 1, 1 line: Is 10% deposit enough?, ",
        WAIT,
    );
    hub.publish(
        "conversation:1",
        "typing:start",
        &json!({"actor": "customer"}),
    );
    hub.publish(
        "conversation:1",
        "sla:violation",
        &json!({"threshold": 90000, "actual": 95000, "severity": "critical"}),
    );
    app.wait_for("SLA breach, conversation 1: no reply for", WAIT);
    app.wait_for("limit 1 min 30 s, due ", WAIT);
    assert!(
        !app.contents().contains("is typing"),
        "typing in a conversation that is not open is not announced"
    );

    app.send("list\r");
    app.wait_for("1. SLA breach, conversation 1, 1 unread", WAIT);
    app.send("open 1\r");
    app.wait_for("Opened Conversation 1, conversation 1", WAIT);
    hub.publish(
        "conversation:1",
        "typing:stop",
        &json!({"actor": "customer"}),
    );
    hub.publish(
        "conversation:1",
        "typing:start",
        &json!({"actor": "customer"}),
    );
    app.wait_for("Conversation 1 is typing, conversation 1", WAIT);
    app.send("reply We can look at your options today.\r");
    app.wait_for("Your reply to Conversation 1 is sent", WAIT);
    let replies: Vec<_> = hub
        .history("conversation:1")
        .iter()
        .filter(|item| item["name"] == "message:broker")
        .map(data_of)
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["content"], "We can look at your options today.");

    app.send("bogus\r");
    app.wait_for("Unknown command \"bogus\". Type help.", WAIT);
    app.send("quit\r");
    let status = app.wait_exit(WAIT);
    assert!(status.success(), "{status:?}");
    let bytes = String::from_utf8_lossy(&app.bytes()).to_string();
    assert!(!bytes.contains("\u{1b}[?1049h"), "no alternate screen");
    for frame in ['┌', '│', '└', '─'] {
        assert!(!bytes.contains(frame), "no box drawing ({frame})");
    }
}

/// A command typed slowly while messages arrive: its characters stay together on the
/// prompt line, the ordinary lines wait until Enter and follow the answer with their count,
/// and a breach is said at once with the partial command shown again after it.
#[test]
fn lines_wait_while_a_command_is_typed() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let mut args = vec!["--screen-reader".to_owned()];
    args.extend(broker_args(&hub.url));
    for n in [5, 6, 7] {
        args.push("--channel".to_owned());
        args.push(format!("conversation:{n}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = dashboard_in(state.path(), &args, &[], 200, 60);
    app.wait_for("Connection connected", WAIT);
    for n in [5, 6, 7] {
        hub.publish(
            &format!("conversation:{n}"),
            "message:user",
            &json!({"messageId": format!("warm-{n}"), "content": format!("Hello from {n}")}),
        );
        app.wait_for(&format!("Hello from {n}"), WAIT);
    }

    for key in ["l", "i", "s"] {
        app.send(key);
        // A person typing, not a condition to wait for.
        std::thread::sleep(Duration::from_millis(150));
    }
    app.wait_for("> lis", WAIT);
    for n in [5, 6] {
        hub.publish(
            &format!("conversation:{n}"),
            "message:user",
            &json!({"messageId": format!("held-{n}"), "content": format!("Held news {n}")}),
        );
    }
    // Published after the two on the same connection: once it is said, they have arrived.
    hub.publish(
        "conversation:7",
        "sla:violation",
        &json!({"threshold": 90000, "actual": 95000, "severity": "critical"}),
    );
    app.wait_for("SLA breach, conversation 7", WAIT);
    assert!(
        !app.contents().contains("Held news"),
        "ordinary lines wait while a command is typed:\n{}",
        app.contents()
    );
    app.send("t\r");
    app.wait_for("2 lines held while you typed:", WAIT);
    app.wait_for("Held news 6", WAIT);

    let bytes = String::from_utf8_lossy(&app.bytes()).to_string();
    let breach = bytes.find("SLA breach, conversation 7").unwrap();
    let reshown = bytes[breach..].find("> list\r\n").map(|at| breach + at);
    let reshown = reshown.expect("the command, contiguous on its prompt line after the breach");
    let answer = bytes[reshown..]
        .find("1. SLA breach, conversation 7")
        .map(|at| reshown + at)
        .expect("the list follows the command");
    let held = bytes.find("2 lines held while you typed:").unwrap();
    assert!(bytes[..breach].contains("> lis"), "typed before the breach");
    assert!(answer < held, "held lines come after the command's answer");
    for n in [5, 6] {
        assert!(
            bytes[held..].contains(&format!(
                "Customer message, conversation {n}, 1 line: Held news {n}"
            )),
            "held line {n} delivered after the count"
        );
        assert!(
            !bytes[..held].contains(&format!(
                "Customer message, conversation {n}, 1 line: Held news"
            )),
            "line {n} not said before"
        );
    }
    app.send("quit\r");
    assert!(app.wait_exit(WAIT).success());
}

/// Lines a run wrote, without the blank ones.
fn spoken_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|line| line.trim_end_matches('\r').to_owned())
        .filter(|line| !line.trim().is_empty())
        .collect()
}

/// (conversation, level) of an SLA line.
fn crossing(line: &str) -> Option<(String, &'static str)> {
    let line = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
    let (level, rest) = if let Some(rest) = line.strip_prefix("SLA breach, conversation ") {
        ("breach", rest)
    } else {
        ("warning", line.strip_prefix("SLA warning, conversation ")?)
    };
    let id: String = rest
        .chars()
        .take_while(|c| !matches!(c, ' ' | ':' | ','))
        .collect();
    Some((id, level))
}

/// The demo's busy floor for 30 s, twice at once with the same seed: with the default
/// verbosity it says at most a third of what it says with everything on, never a typing
/// line for a conversation that is not open, and every SLA crossing exactly once (the
/// `alerts` command, which keeps every crossing whatever the verbosity, lists the same).
#[test]
fn the_default_verbosity_keeps_a_busy_floor_calm() {
    let demo = |verbosity: &[&str], state: &std::path::Path| {
        let mut args = vec![
            "demo",
            "--screen-reader",
            "--seed",
            "11",
            // Warnings within the window, so the crossings are there to count.
            "--sla-warning-secs",
            "20",
            "--sla-violation-secs",
            "40",
        ];
        args.extend_from_slice(verbosity);
        let env = [("BROKERDASH_STATE_DIR", state.to_str().unwrap())];
        common::pty::PtyApp::spawn(common::processes::BINARY, &args, &env, 200, 60)
    };
    let (calm_state, full_state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut calm = demo(&[], calm_state.path());
    let mut full = demo(&["--verbosity", "full"], full_state.path());
    calm.wait_for("Connection connected", WAIT);
    full.wait_for("Connection connected", WAIT);
    // The measured window.
    std::thread::sleep(Duration::from_secs(30));
    let calm_lines = spoken_lines(&calm.bytes());
    let full_lines = spoken_lines(&full.bytes());
    println!(
        "lines in 30 s: {} with the defaults, {} with everything on",
        calm_lines.len(),
        full_lines.len()
    );
    assert!(
        calm_lines.len() * 3 <= full_lines.len(),
        "{} lines with the defaults, {} with everything on",
        calm_lines.len(),
        full_lines.len()
    );
    assert!(
        !calm_lines
            .iter()
            .any(|line| line.contains(" is typing, conversation")
                || line.contains(" stopped typing, conversation")),
        "no typing lines when no conversation is open"
    );

    calm.send("alerts\rstatus\r");
    calm.wait_for("Connection connected;", WAIT);
    let lines = spoken_lines(&calm.bytes());
    let command = lines.iter().position(|line| line == "> alerts").unwrap();
    let status = lines
        .iter()
        .position(|line| line.starts_with("> status"))
        .unwrap();
    let mut said: Vec<_> = lines[..command]
        .iter()
        .filter_map(|l| crossing(l))
        .collect();
    let mut alerts: Vec<_> = lines[command + 1..status]
        .iter()
        .filter_map(|l| crossing(l))
        .collect();
    assert!(
        said.len() >= 3,
        "the floor crossed SLA thresholds: {said:?}"
    );
    let total = said.len();
    said.sort();
    said.dedup();
    assert_eq!(said.len(), total, "each crossing said once");
    alerts.sort();
    assert_eq!(said, alerts, "every crossing that happened was said");
    calm.send("quit\r");
    full.send("quit\r");
    calm.wait_exit(WAIT);
    full.wait_exit(WAIT);
}
