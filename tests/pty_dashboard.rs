//! The dashboard binary in a real pseudo-terminal against a real hub process: a customer
//! message appears, typing shows, a breach shows, a reply typed with the keys reaches the
//! channel's history exactly once, and hostile text leaves none of its sequences in the
//! bytes written to the terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::processes::{HubProcess, broker_args, dashboard as dashboard_in, data_of};
use common::pty::PtyApp;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

fn dashboard(hub: &HubProcess, state_dir: &str) -> PtyApp {
    let args = broker_args(&hub.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dashboard_in(std::path::Path::new(state_dir), &args, &[], 120, 36)
}

#[test]
fn live_events_show_and_a_typed_reply_arrives_exactly_once() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let mut app = dashboard(&hub, state.path().to_str().unwrap());
    app.wait_for("connected", WAIT);

    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Hello from Priya, can I refinance?"}),
    );
    app.wait_for("Conversation 1", WAIT);
    app.wait_for("Hello", WAIT); // the inbox preview
    hub.publish(
        "conversation:1",
        "typing:start",
        &json!({"actor": "customer"}),
    );
    app.wait_for("typing…", WAIT);
    hub.publish(
        "conversation:1",
        "sla:violation",
        &json!({"threshold": 90000, "actual": 95000, "severity": "critical"}),
    );
    app.wait_for("SLA BREACH", WAIT);

    app.send("\r"); // open the selected (only) conversation
    app.wait_for("Hello from Priya, can I refinance?", WAIT); // the message in full
    app.send("i");
    app.wait_for("Enter sends", WAIT);
    app.send("Thanks for waiting, let me look");
    app.send("\r");
    app.wait_for("sent ✓", WAIT);
    // In the conversation pane (right of the inbox), the reply is below the question.
    let screen = app.contents();
    let pane: String = screen
        .lines()
        .map(|line| line.chars().skip(46).collect::<String>() + "\n")
        .collect();
    let (question, answer) = (
        pane.find("Hello from Priya, can").unwrap(),
        pane.find("Thanks for waiting").unwrap(),
    );
    assert!(
        question < answer,
        "the reply shows below the question:\n{screen}"
    );

    let replies: Vec<_> = hub
        .history("conversation:1")
        .iter()
        .filter(|item| item["name"] == "message:broker")
        .map(data_of)
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["content"], "Thanks for waiting, let me look");
    assert_eq!(replies[0]["brokerId"], "7");

    app.send("\u{1b}"); // leave the composer
    app.wait_for("Reply — i to write", WAIT);
    app.send("q");
    let status = app.wait_exit(WAIT);
    assert!(status.success(), "{status:?}");
    let bytes = String::from_utf8_lossy(&app.bytes()).to_string();
    assert!(
        bytes.contains("\u{1b}[?1049l"),
        "the alternate screen was left on exit"
    );
}

#[test]
fn hostile_text_never_reaches_the_terminal() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let corpus = [
        "osc52 \u{1b}]52;c;ZXZpbA==\u{7} end",
        "osc8 \u{1b}]8;;https://evil.example\u{1b}\\click\u{1b}]8;;\u{1b}\\ end",
        "osc0 \u{1b}]0;pwned title\u{7} end",
        "csi \u{1b}[2J\u{1b}[H end",
        "c1 \u{9b}31m\u{9d}0;title\u{9c} end",
        "bidi \u{202e}exe.pdf\u{2066}x\u{2069} end",
        "zero\u{200b}width\u{feff}join end",
    ];
    for (index, text) in corpus.iter().enumerate() {
        hub.publish(
            &format!("conversation:{}", index + 1),
            "message:user",
            &json!({"messageId": format!("h{index}"), "content": text}),
        );
    }
    let mut app = dashboard(&hub, state.path().to_str().unwrap());
    app.wait_for("connected", WAIT);
    app.wait_for("osc52", WAIT);
    // Open each conversation so every text is drawn in full, not only as a preview.
    for _ in 0..corpus.len() {
        app.send("\u{1b}j"); // Alt+j: next conversation
        std::thread::sleep(Duration::from_millis(150));
    }
    app.wait_for("end", WAIT);
    app.send("q");
    app.wait_exit(WAIT);
    let bytes = app.bytes();
    let output = String::from_utf8_lossy(&bytes);
    for forbidden in [
        "\u{1b}]", "\u{1b}P", "\u{1b}\\", "\u{7}", "\u{9b}", "\u{9d}", "\u{9c}", "\u{202e}",
        "\u{2066}", "\u{2069}", "\u{200b}", "\u{feff}", "]52;", "]8;;", "]0;pwned",
    ] {
        assert!(
            !output.contains(forbidden),
            "{forbidden:?} reached the terminal"
        );
    }
    // The program's own sequences are CSI (ESC [) and the keypad/charset ESC forms only.
    for (index, _) in output.match_indices('\u{1b}') {
        let next = output[index + 1..].chars().next();
        assert!(
            matches!(next, Some('[' | '=' | '>' | '7' | '8' | '(')),
            "unexpected escape {next:?} at byte {index}"
        );
    }
}

#[test]
fn the_key_never_reaches_the_log_even_at_trace_level() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let mut app = dashboard_in(
        state.path(),
        &[
            "--endpoint",
            &hub.url,
            "--key",
            common::processes::KEY,
            "--broker-id",
            "7",
        ],
        &[("RUST_LOG", "trace")],
        120,
        36,
    );
    app.wait_for("connected", WAIT);
    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Hello"}),
    );
    app.wait_for("Hello", WAIT);
    app.send("q");
    app.wait_exit(WAIT);
    let log = std::fs::read_to_string(state.path().join("brokerdash.log")).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "verbose logging was on:\n{log}"
    );
    let secret = common::processes::KEY.split(':').nth(1).unwrap();
    assert!(!log.contains(secret), "the key's secret is in the log");
    assert!(
        !String::from_utf8_lossy(&app.bytes()).contains(secret),
        "the key's secret is on screen"
    );
}
