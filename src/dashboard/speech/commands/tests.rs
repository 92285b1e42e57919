//! The prompt's commands on a dashboard state driven by the real reducer (effects dropped).

use serde_json::json;

use super::*;
use crate::app::state::Identity;
use crate::app::update::update;
use crate::protocol::data::Payload;
use crate::realtime::{InboundMessage, NetEvent};

const T0: i64 = 1_800_000_000_000;

struct TestDesk {
    state: AppState,
}

impl Desk for TestDesk {
    fn state(&self) -> &AppState {
        &self.state
    }
    fn apply(&mut self, action: Action) {
        update(&mut self.state, action);
    }
}

fn event(channel: &str, name: &str, data: serde_json::Value) -> Action {
    Action::from_net(NetEvent::Message {
        shard: 0,
        channel: channel.into(),
        message: InboundMessage {
            id: format!("{channel}-{name}-{data}"),
            name: Some(name.into()),
            payload: Payload::Json(data),
            encoding_error: None,
            client_id: None,
            connection_id: None,
            timestamp: None,
            from_history: false,
        },
    })
}

fn desk() -> TestDesk {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let mut desk = TestDesk {
        state: AppState::new(me, false, Default::default(), T0),
    };
    for (n, content) in [
        ("1", "Hello"),
        ("2", "Is 10% enough?"),
        ("2", "Line one\nline two"),
    ] {
        desk.apply(event(
            &format!("conversation:{n}"),
            "message:user",
            json!({"messageId": format!("m{n}-{content}"), "content": content, "timestamp": T0 - 60_000}),
        ));
    }
    desk.apply(event(
        "conversation:2",
        "sla:violation",
        json!({"threshold": 90000, "actual": 95000, "severity": "critical"}),
    ));
    desk
}

fn say(desk: &mut TestDesk, speaking: &mut Speaking, line: &str) -> Vec<String> {
    run(desk, speaking, line)
}

#[test]
fn every_command_in_help_answers() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    let help = say(&mut desk, &mut speaking, "help");
    let names: Vec<String> = help
        .iter()
        .skip(1)
        .filter_map(|line| line.split([' ', ':']).next().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), COMMANDS.len(), "{help:#?}");
    for name in names {
        let argument = match name.as_str() {
            "open" | "read" | "history" | "use" => " 1",
            "reply" => " On it.",
            "verbosity" => " typing off",
            _ => "",
        };
        if name == "quit" {
            continue; // below, once a reply is pending
        }
        let answer = say(&mut desk, &mut speaking, &format!("{name}{argument}"));
        assert!(!answer.is_empty(), "{name} said nothing");
        assert!(
            !answer[0].starts_with("Unknown command"),
            "{name}: {answer:?}"
        );
    }
    let answer = say(&mut desk, &mut speaking, "quit");
    assert!(answer[0].contains("not sent yet"), "{answer:?}");
    assert_eq!(say(&mut desk, &mut speaking, "no"), ["Staying."]);
    assert!(!desk.state.quit);
}

#[test]
fn short_forms_run_the_same_commands() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    for (short, long) in [
        ("l", "list"),
        ("t", "status"),
        ("a", "alerts"),
        ("v", "verbosity"),
    ] {
        let a = say(&mut desk, &mut speaking, short);
        let b = say(&mut desk, &mut speaking, long);
        assert_eq!(a, b, "{short} and {long}");
    }
}

#[test]
fn next_opens_the_most_urgent_unread_and_reads_its_unread_messages() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    let answer = say(&mut desk, &mut speaking, "next");
    assert!(answer[0].starts_with("Next, Conversation 2"), "{answer:?}");
    assert_eq!(answer.len(), 3, "its two unread messages: {answer:?}");
    assert!(
        answer[2].starts_with("2. Customer: Line one / line two"),
        "{answer:?}"
    );
    let answer = say(&mut desk, &mut speaking, "next");
    assert!(answer[0].starts_with("Next, Conversation 1"), "{answer:?}");
    assert_eq!(
        say(&mut desk, &mut speaking, "next"),
        ["No unread messages."]
    );
}

#[test]
fn read_repeats_one_message_whole_on_one_line() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    // List number 1: conversation 2, first for its breach.
    say(&mut desk, &mut speaking, "open 1");
    let answer = say(&mut desk, &mut speaking, "read 2");
    assert_eq!(answer.len(), 1);
    assert!(
        answer[0].starts_with("Customer: Line one / line two, "),
        "{answer:?}"
    );
    assert!(say(&mut desk, &mut speaking, "read 9")[0].starts_with("read needs a message number"));
}

#[test]
fn status_counts_breaches_and_says_who_you_are() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    let answer = say(&mut desk, &mut speaking, "status");
    assert!(answer[0].contains("1 SLA breach, 0 warnings"), "{answer:?}");
    assert!(answer[0].contains("you are Sam (broker 7)"), "{answer:?}");
}

#[test]
fn verbosity_reads_and_changes_the_settings() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    assert_eq!(say(&mut desk, &mut speaking, "verbosity").len(), 3);
    let answer = say(&mut desk, &mut speaking, "verbosity all quiet");
    assert_eq!(answer[0], "Verbosity all quiet.");
    use crate::ui::spoken::verbosity::{Kind, Level, Scope};
    assert_eq!(
        speaking.verbosity.level(Scope::All, Kind::Customer),
        Level::Off
    );
    let refused = say(&mut desk, &mut speaking, "verbosity loud");
    assert!(
        refused[0].starts_with("verbosity needs a level"),
        "{refused:?}"
    );
}

#[test]
fn board_and_health_read_the_floor_and_the_connections() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    desk.apply(event(
        "conversation:2",
        "sla:violation",
        json!({"threshold": 45_000, "actual": 60_000, "severity": "critical"}),
    ));
    let board = say(&mut desk, &mut speaking, "board 1");
    assert_eq!(board.len(), 2, "{board:?}");
    assert!(board[0].contains("1 breach"), "{board:?}");
    assert!(
        board[1].starts_with("Conversation 2: SLA BREACH"),
        "{board:?}"
    );
    desk.apply(Action::Health {
        shard: 0,
        stats: crate::realtime::ConnectionStats {
            rtt_ms: Some(7.0),
            ..Default::default()
        },
    });
    let health = say(&mut desk, &mut speaking, ":health");
    assert!(health[0].starts_with("Connection 1"), "{health:?}");
    assert!(
        health.iter().any(|line| line.contains("round trip 7 ms")),
        "{health:?}"
    );
    assert!(
        health
            .iter()
            .any(|line| line.contains("No alert threshold")),
        "{health:?}"
    );
}

#[test]
fn the_shared_desk_by_name_and_the_send_guard_in_words() {
    let mut desk = desk();
    let mut speaking = Speaking::default();
    say(&mut desk, &mut speaking, "open 1");
    let said = say(&mut desk, &mut speaking, "claim");
    assert!(said[0].contains("back on the channel"), "{said:?}");
    let open = desk.state().open.clone().unwrap();
    desk.apply(event(
        open.channel().as_str(),
        "broker:claim",
        json!({"brokerId": "2", "name": "Alex Morgan"}),
    ));
    let asked = say(&mut desk, &mut speaking, "reply On it");
    assert_eq!(asked[0], "Before you send:", "{asked:?}");
    assert!(
        asked.iter().any(|line| line == "Claimed by Alex Morgan."),
        "{asked:?}"
    );
    assert_eq!(desk.state().outbox.len(), 0);
    assert_eq!(say(&mut desk, &mut speaking, "send"), ["Sending anyway."]);
    assert_eq!(desk.state().outbox.len(), 1);
    let said = say(&mut desk, &mut speaking, "snooze soon");
    assert!(said[0].contains("tomorrow 9:00"), "{said:?}");
    assert_eq!(say(&mut desk, &mut speaking, "z 1h"), ["Snoozed."]);
    assert_eq!(
        say(&mut desk, &mut speaking, "note Prefers calls"),
        ["Note kept; only brokers see it."]
    );
}
