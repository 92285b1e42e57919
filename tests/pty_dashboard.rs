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

/// The payloads of the OSC 9 desktop notifications in what the program wrote.
fn osc9_texts(bytes: &[u8]) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = bytes;
    while let Some(start) = rest.windows(4).position(|w| w == b"\x1b]9;") {
        let after = &rest[start + 4..];
        let end = after
            .iter()
            .position(|b| *b == 0x07 || *b == 0x1b)
            .unwrap_or(after.len());
        texts.push(String::from_utf8_lossy(&after[..end]).into_owned());
        rest = &after[end..];
    }
    texts
}

/// The board's row for a conversation says BREACH with a time, and so does the feed.
fn breach_on_board_and_feed(screen: &str, customer: &str) -> bool {
    let on_board = screen.lines().any(|line| {
        line.find(customer).is_some_and(|at| {
            line[at..].split_once("BREACH ").is_some_and(|(_, after)| {
                after.chars().take(5).filter(char::is_ascii_digit).count() == 4
            })
        })
    });
    let in_feed = screen.contains(&format!("BREACH  {customer}"));
    on_board && in_feed
}

#[test]
fn a_breach_shows_on_the_board_and_in_the_feed_within_a_second_with_one_clean_notification() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let mut args = broker_args(&hub.url);
    args.extend(["--view", "board", "--notify", "osc9"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = dashboard_in(state.path(), &args, &[], 160, 48);
    app.wait_for("connected", WAIT);
    // A customer writes (hostile text: it is notified too, as a new message off screen).
    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Rate? \u{1b}]52;c;cGF3bmVk\u{7}\u{1b}[2J\u{9b}31m now"}),
    );
    app.wait_until("the conversation on the board", WAIT, |screen| {
        screen.contains("Conversation 1") && screen.contains("customer")
    });
    assert!(
        !app.contents().contains("BREACH"),
        "no breach before it is published"
    );

    hub.publish(
        "conversation:1",
        "sla:violation",
        &json!({"threshold": 90000, "actual": 95000, "severity": "critical"}),
    );
    // From the moment the hub holds the event.
    app.wait_until(
        "the breach on the board and in the feed",
        Duration::from_secs(1),
        |screen| breach_on_board_and_feed(screen, "Conversation 1"),
    );

    let bytes = app.bytes();
    let texts = osc9_texts(&bytes);
    let breaches: Vec<&String> = texts.iter().filter(|t| t.contains("SLA breach")).collect();
    assert_eq!(
        breaches.len(),
        1,
        "exactly one desktop notification for the breach: {texts:?}"
    );
    assert!(
        breaches[0].contains("Conversation 1 waited 1m 35s"),
        "{texts:?}"
    );
    for text in &texts {
        assert!(
            !text.chars().any(|c| c.is_control()),
            "notification text is clean: {text:?}"
        );
    }
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Rate?") && t.contains("now")),
        "the new message was notified, cleaned: {texts:?}"
    );

    // The feed is kept: after a restart the last hour's alerts are there again.
    app.send("q");
    assert!(app.wait_exit(WAIT).success());
    let again = dashboard_in(state.path(), &args, &[], 160, 48);
    again.wait_for("BREACH  Conversation 1", WAIT);
}

#[test]
fn read_only_refuses_a_reply_with_a_visible_message_and_sends_nothing() {
    let hub = HubProcess::start(&[]);
    let state = tempfile::tempdir().unwrap();
    let mut args = broker_args(&hub.url);
    args.push("--read-only".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = dashboard_in(state.path(), &args, &[], 120, 36);
    app.wait_for("read-only: nothing is sent", WAIT);
    hub.publish(
        "conversation:1",
        "message:user",
        &json!({"messageId": "c1", "content": "Is anyone there?"}),
    );
    app.wait_for("Is any", WAIT); // the inbox preview
    app.send("\r"); // open it: a broker would mark it read and enter presence
    app.wait_for("Is anyone there?", WAIT);
    assert!(!app.contents().contains("Read-only: replies are off"));
    app.send("i");
    app.wait_for("Read-only: replies are off", WAIT);
    app.send("hello\r");
    app.send("q");
    assert!(app.wait_exit(WAIT).success());
    let names: Vec<String> = hub
        .history("conversation:1")
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        names,
        ["message:user"],
        "nothing but the customer's message"
    );
}

/// A second broker, Lee (8), on the same hub.
fn second_broker(hub: &HubProcess, state: &std::path::Path) -> PtyApp {
    let mut args = broker_args(&hub.url);
    let id = args.iter().position(|a| a == "--broker-id").unwrap();
    args[id + 1] = "8".into();
    args[id + 3] = "Lee".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dashboard_in(state, &args, &[], 120, 36)
}

/// The names of the channel's events, oldest first.
fn names_in_history(hub: &HubProcess, channel: &str) -> Vec<String> {
    hub.history(channel)
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn wait_for_history(hub: &HubProcess, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let names = names_in_history(hub, "conversation:1");
        if done(&names) {
            return names;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "history never showed {what}: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_brokers_see_who_writes_a_claim_asks_first_and_a_paused_ai_stays_quiet() {
    let hub = HubProcess::start(&[]);
    let mut sim = std::process::Command::new(common::processes::BINARY)
        .args([
            "sim",
            "--endpoint",
            &hub.url,
            "--conversations",
            "1",
            "--speed",
            "10",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (state_a, state_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut sam = dashboard(&hub, state_a.path().to_str().unwrap());
    let mut lee = second_broker(&hub, state_b.path());
    for app in [&sam, &lee] {
        app.wait_for("Inbox · 1 ", WAIT);
    }
    sam.send("\r");
    lee.send("\r");
    for app in [&sam, &lee] {
        app.wait_for("Reply — i to write", WAIT);
    }

    // Sam starts a reply: Lee's screen says so within a second.
    sam.send("i");
    sam.wait_for("Enter sends", WAIT);
    assert!(!lee.contents().contains("Sam is writing a reply"));
    sam.send("Let me look at the numbers");
    lee.wait_for("Sam is writing a reply", Duration::from_secs(1));

    // Sam claims; Lee's reply is asked about before anything goes out.
    sam.send("\x1b"); // leave the composer, draft kept
    sam.wait_for("Reply — i to write", WAIT); // (a key sent with the Esc would read as Alt)
    sam.send("c");
    sam.wait_for("Claimed by you", WAIT);
    lee.wait_for("Claimed by Sam", WAIT);
    lee.send("i");
    lee.wait_for("Enter sends", WAIT);
    lee.send("Hello from Lee\r");
    lee.wait_for("Before you send", WAIT);
    assert!(lee.contents().contains("• Claimed by Sam"));
    lee.send("e");

    // Sam pauses the AI: no `message:ai` until it is resumed, though the customer writes.
    sam.send("t");
    sam.wait_for("AI paused by you", WAIT);
    let paused = wait_for_history(&hub, "a customer message after the pause", |names| {
        names
            .iter()
            .rposition(|n| n == "ai:pause")
            .is_some_and(|at| names[at..].iter().any(|n| n == "message:user"))
    });
    let pause_at = paused.iter().rposition(|n| n == "ai:pause").unwrap();
    sam.send("T");
    sam.wait_for("AI answering", WAIT);
    let names = wait_for_history(&hub, "the AI answering after the resume", |names| {
        names
            .iter()
            .rposition(|n| n == "ai:resume")
            .is_some_and(|at| names[at..].iter().any(|n| n == "message:ai"))
    });
    let resume_at = names.iter().rposition(|n| n == "ai:resume").unwrap();
    // An answer already on its way when the pause was published may land just after it;
    // what the pause promises is that no customer message after it is answered.
    let asked_at = pause_at
        + names[pause_at..]
            .iter()
            .position(|n| n == "message:user")
            .unwrap();
    assert!(
        asked_at < resume_at,
        "the customer wrote while paused: {names:?}"
    );
    assert!(
        !names[asked_at..resume_at].iter().any(|n| n == "message:ai"),
        "no AI message while paused: {:?}",
        &names[pause_at..=resume_at]
    );
    let replies: Vec<_> = hub
        .history("conversation:1")
        .iter()
        .filter(|item| item["name"] == "message:broker")
        .map(data_of)
        .filter(|data| data["brokerId"] == "8")
        .collect();
    assert!(
        replies.is_empty(),
        "Lee's reply was held by the guard: {replies:?}"
    );
    sim.kill().unwrap();
    let _ = sim.wait();
}
