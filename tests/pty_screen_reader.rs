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
    app.wait_for(
        "Customer message, conversation 1: Is 10% deposit enough?, ",
        WAIT,
    );
    hub.publish(
        "conversation:1",
        "typing:start",
        &json!({"actor": "customer"}),
    );
    app.wait_for("Conversation 1 is typing, conversation 1", WAIT);
    hub.publish(
        "conversation:1",
        "sla:violation",
        &json!({"threshold": 90000, "actual": 95000, "severity": "critical"}),
    );
    app.wait_for("SLA breach, conversation 1: no reply for", WAIT);
    app.wait_for("limit 1 min 30 s, due ", WAIT);

    app.send("list\r");
    app.wait_for("1. SLA breach, conversation 1, 1 unread", WAIT);
    app.send("open 1\r");
    app.wait_for("Opened Conversation 1, conversation 1", WAIT);
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
