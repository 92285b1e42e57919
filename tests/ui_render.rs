//! The screens, drawn from state built through the reducer: insta snapshots at 80×24 and
//! 160×48, styles checked on the buffer, and hostile text through the real crossterm
//! backend into bytes (only the program's own escape sequences may appear).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use brokerdash::app::action::{Action, Command};
use brokerdash::app::state::{AppState, Identity};
use brokerdash::app::update::update;
use brokerdash::config::theme::{Role, Theme};
use brokerdash::input::Keymap;
use brokerdash::protocol::data::Payload;
use brokerdash::protocol::{PresenceAction, PresenceMessage};
use brokerdash::realtime::{ConnectionState, InboundMessage, NetEvent, PresenceChange, Transport};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;
use serde_json::{Value, json};

const T0: i64 = 1_800_000_000_000; // 2027-01-15 08:00:00 UTC

fn event(channel: &str, name: &str, data: Value) -> Action {
    Action::from_net(net_event(channel, name, data))
}

fn net_event(channel: &str, name: &str, data: Value) -> NetEvent {
    NetEvent::Message {
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
    }
}

fn presence(n: &str, client_id: &str, data: Value) -> Action {
    let mut member = PresenceMessage::new(PresenceAction::Enter);
    member.client_id = Some(client_id.into());
    member.data = Some(Value::String(data.to_string()));
    member.encoding = Some("json".into());
    Action::from_net(NetEvent::Presence {
        channel: format!("conversation:{n}"),
        change: PresenceChange {
            action: PresenceAction::Enter,
            member,
        },
    })
}

fn connected() -> Action {
    Action::from_net(NetEvent::Connection {
        shard: 0,
        state: ConnectionState::Connected,
        reason: None,
    })
}

fn attached(n: &str) -> Action {
    Action::from_net(NetEvent::Channel {
        channel: format!("conversation:{n}"),
        state: brokerdash::realtime::ChannelState::Attached,
        resumed: false,
        reason: None,
    })
}

/// Sam's desk, connected, with these conversation channels found and nothing in them yet.
fn connected_desk(channels: Vec<String>) -> AppState {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let mut state = AppState::new(me, false, Default::default(), T0);
    update(&mut state, connected());
    update(&mut state, Action::Discovered(channels));
    state
}

/// A desk with four conversations in different states, one open with a reply in progress.
fn busy_desk() -> AppState {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let mut state = AppState::new(me, false, Default::default(), T0);
    let mut apply = |action| {
        update(&mut state, action);
    };
    apply(connected());
    apply(Action::Discovered(
        (1..=4).map(|n| format!("conversation:{n}")).collect(),
    ));
    let customers = [
        ("1", "Priya Shah"),
        ("2", "Tom Becker"),
        ("3", "Mei Lin"),
        ("4", "Omar Haddad"),
    ];
    for (n, name) in customers {
        apply(attached(n));
        apply(presence(n, &format!("customer-{n}"), json!({"name": name})));
    }
    apply(event(
        "conversation:1",
        "message:user",
        json!({"messageId": "p1", "content": "Hi! I'd like to refinance my home loan. What rate could I get?", "timestamp": T0 - 420_000}),
    ));
    apply(event(
        "conversation:1",
        "message:ai",
        json!({"messageId": "p2", "content": "Happy to help! Could you tell me your current rate and balance?", "persona": "friendly", "timestamp": T0 - 400_000}),
    ));
    apply(event(
        "conversation:1",
        "message:user",
        json!({"messageId": "p3", "content": "About 6.1%, and 420k left.\nCan a human broker look at it?", "timestamp": T0 - 380_000}),
    ));
    apply(event(
        "conversation:1",
        "sla:violation",
        json!({"threshold": 90_000, "actual": 95_000, "severity": "critical"}),
    ));
    apply(event(
        "conversation:2",
        "message:user",
        json!({"messageId": "t1", "content": "How long does pre-approval take?", "timestamp": T0 - 60_000}),
    ));
    apply(event(
        "conversation:2",
        "sla:warning",
        json!({"threshold": 45_000, "actual": 50_000, "severity": "warning"}),
    ));
    apply(event(
        "conversation:3",
        "message:user",
        json!({"messageId": "m1", "content": "首付需要多少？", "timestamp": T0 - 30_000}),
    ));
    apply(event(
        "conversation:3",
        "typing:start",
        json!({"actor": "customer", "timestamp": T0}),
    ));
    apply(presence(
        "3",
        "broker-2",
        json!({"name": "Alex Morgan", "viewing": true}),
    ));
    apply(event(
        "conversation:4",
        "message:user",
        json!({"messageId": "o1", "content": "Thanks, all sorted 👍", "timestamp": T0 - 3_600_000}),
    ));
    apply(event(
        "conversation:4",
        "message:broker",
        json!({"messageId": "o2", "content": "Great, have a nice day!", "brokerId": "2", "brokerName": "Alex Morgan", "timestamp": T0 - 3_500_000}),
    ));
    state.selected = Some(brokerdash::protocol::events::ConversationId::new("1"));
    update(&mut state, Action::Command(Command::Open));
    update(
        &mut state,
        Action::Suggestions {
            channel: brokerdash::protocol::names::ChannelName::parse("conversation:1").unwrap(),
            replies: vec![
                "Refinancing could lower your repayments.".into(),
                "What is your current lender?".into(),
                "I can compare 3 offers today.".into(),
            ],
            from_web_app: true,
        },
    );
    update(&mut state, Action::Command(Command::FocusComposer));
    for c in "I'm here, Priya — let me".chars() {
        update(
            &mut state,
            Action::ComposerKey(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    state
}

fn draw(state: &AppState, width: u16, height: u16) -> (Buffer, (u16, u16)) {
    let theme = Theme::built_in("dark").unwrap();
    let keymap = Keymap::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| brokerdash::ui::render(frame, state, &theme, &keymap))
        .unwrap();
    let cursor = terminal.get_cursor_position().unwrap();
    (terminal.backend().buffer().clone(), (cursor.x, cursor.y))
}

fn text_of(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(x, y)];
            line.push_str(cell.symbol());
            x += 1;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, state: &AppState) {
    for (width, height) in [(80, 24), (160, 48)] {
        let (buffer, cursor) = draw(state, width, height);
        insta::assert_snapshot!(
            format!("{name}_{width}x{height}"),
            format!("cursor at {cursor:?}\n{}", text_of(&buffer))
        );
    }
}

#[test]
fn empty_desk() {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let state = AppState::new(me, false, Default::default(), T0);
    snapshot("empty", &state);
}

#[test]
fn busy_desk_with_a_reply_in_progress() {
    let state = busy_desk();
    snapshot("busy", &state);
    // The hardware cursor sits on the composer caret (accessibility contract).
    let (buffer, cursor) = draw(&state, 80, 24);
    let row: String = (0..80)
        .map(|x| buffer[(x, cursor.1)].symbol().to_owned())
        .collect();
    assert!(row.contains("let me"), "cursor row: {row}");
}

#[test]
fn inbox_focus_puts_the_cursor_on_the_selected_row_in_reverse_video() {
    let mut state = busy_desk();
    update(&mut state, Action::Command(Command::Back));
    update(&mut state, Action::Command(Command::Back));
    let (buffer, cursor) = draw(&state, 80, 24);
    let cell = &buffer[(cursor.0 + 3, cursor.1)];
    assert!(
        cell.modifier.contains(Modifier::REVERSED),
        "selection is reverse video, not colour alone"
    );
    let row: String = (0..40)
        .map(|x| buffer[(x, cursor.1)].symbol().to_owned())
        .collect();
    assert!(row.contains("Priya Shah"), "{row}");
}

#[test]
fn sla_markers_use_their_roles_and_words() {
    let state = busy_desk();
    let theme = Theme::built_in("dark").unwrap();
    let (buffer, _) = draw(&state, 160, 48);
    let text = text_of(&buffer);
    assert!(text.contains("SLA BREACH") && text.contains("SLA WARN"));
    let (x, y) = find(&buffer, "SLA BREACH").unwrap();
    assert_eq!(buffer[(x, y)].bg, theme.role(Role::SlaBreach).bg.unwrap());
    let (x, y) = find(&buffer, "SLA WARN ").unwrap();
    assert_eq!(buffer[(x, y)].bg, theme.role(Role::SlaWarning).bg.unwrap());
}

fn find(buffer: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    for y in 0..area.height {
        let row: Vec<String> = (0..area.width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        let joined = row.concat();
        if let Some(byte) = joined.find(needle) {
            let column = joined[..byte].chars().count();
            return Some((u16::try_from(column).unwrap(), y));
        }
    }
    None
}

#[test]
fn help_and_quit_popups() {
    let mut state = busy_desk();
    update(&mut state, Action::Command(Command::Back));
    update(&mut state, Action::Command(Command::Help));
    snapshot("help", &state);
    update(
        &mut state,
        Action::PopupKey(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    update(&mut state, Action::Command(Command::FocusComposer));
    update(&mut state, Action::Command(Command::Send));
    update(&mut state, Action::Command(Command::Back));
    update(&mut state, Action::Command(Command::Quit));
    snapshot("confirm_quit", &state);
}

#[test]
fn reconnecting_and_scrolled_up() {
    let mut state = busy_desk();
    update(&mut state, Action::Command(Command::Send));
    update(
        &mut state,
        Action::from_net(NetEvent::Connection {
            shard: 0,
            state: ConnectionState::Disconnected,
            reason: None,
        }),
    );
    update(
        &mut state,
        Action::from_net(NetEvent::Connection {
            shard: 0,
            state: ConnectionState::Connecting,
            reason: None,
        }),
    );
    update(&mut state, Action::Command(Command::Back));
    update(&mut state, Action::Command(Command::PageUp));
    update(
        &mut state,
        event(
            "conversation:1",
            "message:user",
            json!({"messageId": "p4", "content": "Hello?", "timestamp": T0 + 1_000}),
        ),
    );
    snapshot("reconnecting_scrolled", &state);
}

#[test]
fn polling_after_websocket_was_refused() {
    let mut state = busy_desk();
    update(
        &mut state,
        Action::from_net(NetEvent::Transport {
            shard: 0,
            transport: Transport::Polling {
                reason: "WebSocket refused 3 times in a row (HTTP 403 Forbidden)".to_owned(),
            },
        }),
    );
    snapshot("polling", &state);
}

#[test]
fn every_shipped_theme_draws_every_screen() {
    let state = busy_desk();
    let keymap = Keymap::default();
    for name in ["dark", "light", "high-contrast"] {
        let theme = Theme::built_in(name).unwrap();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal
            .draw(|frame| brokerdash::ui::render(frame, &state, &theme, &keymap))
            .unwrap();
        let (x, y) = find(terminal.backend().buffer(), "SLA BREACH:").unwrap();
        assert_eq!(
            terminal.backend().buffer()[(x, y)].style().add_modifier,
            theme.role(Role::SlaBreach).add_modifier,
            "{name}"
        );
    }
}

/// Hostile strings from customers, through the real crossterm backend into bytes.
#[test]
fn hostile_text_leaves_no_sequence_of_its_own_in_the_terminal_bytes() {
    let corpus = [
        "osc52 \u{1b}]52;c;ZXZpbA==\u{7}",
        "osc8 \u{1b}]8;;https://evil.example\u{1b}\\click\u{1b}]8;;\u{1b}\\",
        "title \u{1b}]0;pwned\u{7}",
        "clear \u{1b}[2J\u{1b}[H",
        "c1 \u{9b}31m\u{9d}0;t\u{9c}",
        "bidi \u{202e}txt.exe\u{2066}x\u{2069}",
        "zero\u{200b}width\u{feff}",
        "bell \u{7} del \u{7f}",
    ];
    let mut state = connected_desk(
        (1..=corpus.len())
            .map(|n| format!("conversation:{n}"))
            .collect(),
    );
    for (index, text) in corpus.iter().enumerate() {
        let n = (index + 1).to_string();
        update(
            &mut state,
            presence(
                &n,
                &format!("customer-{n}"),
                json!({"name": format!("Eve{text}")}),
            ),
        );
        update(
            &mut state,
            event(
                &format!("conversation:{n}"),
                "message:user",
                json!({"messageId": format!("h{index}"), "content": text, "timestamp": T0}),
            ),
        );
    }
    state.selected = Some(brokerdash::protocol::events::ConversationId::new("1"));
    update(&mut state, Action::Command(Command::Open));
    let theme = Theme::built_in("dark").unwrap();
    let keymap = Keymap::default();
    let mut bytes = Vec::new();
    {
        let mut terminal = Terminal::new(CrosstermBackend::new(&mut bytes)).unwrap();
        terminal
            .resize(ratatui::layout::Rect::new(0, 0, 160, 48))
            .unwrap();
        for n in 1..=corpus.len() {
            state.selected = Some(brokerdash::protocol::events::ConversationId::new(
                n.to_string(),
            ));
            update(&mut state, Action::Command(Command::Open));
            terminal
                .draw(|frame| brokerdash::ui::render(frame, &state, &theme, &keymap))
                .unwrap();
        }
    }
    let output = String::from_utf8_lossy(&bytes);
    for forbidden in [
        "\u{1b}]", "\u{1b}P", "\u{1b}\\", "\u{7}", "\u{9b}", "\u{9d}", "\u{9c}", "\u{202e}",
        "\u{2066}", "\u{2069}", "\u{200b}", "\u{feff}", "\u{7f}",
    ] {
        assert!(
            !output.contains(forbidden),
            "found {forbidden:?} in the terminal bytes"
        );
    }
    // Every escape sequence left is the program's own CSI (cursor moves, colours, modes).
    for (index, _) in output.match_indices('\u{1b}') {
        let next = output[index + 1..].chars().next();
        assert_eq!(next, Some('['), "non-CSI escape at byte {index}");
    }
    assert!(
        output.contains("osc52") && output.contains("txt.exe"),
        "the readable text stays"
    );
}

/// Times and durations in events are remote input: a publisher's absurd `timestamp`,
/// wire timestamp or SLA numbers are ignored (or the event shown as malformed), and the
/// dashboard and the screen-reader lines draw without an overflow (these panicked in
/// debug builds).
#[test]
fn hostile_times_draw_without_overflow() {
    let mut state = connected_desk(vec!["conversation:1".into(), "conversation:2".into()]);
    let mut events = Vec::new();
    for (index, wire) in [i64::MIN, -1, i64::MAX].into_iter().enumerate() {
        let NetEvent::Message {
            shard,
            channel,
            mut message,
        } = net_event(
            "conversation:1",
            "message:user",
            json!({"messageId": format!("w{index}"), "content": "hi"}),
        )
        else {
            unreachable!()
        };
        message.timestamp = Some(wire);
        events.push(NetEvent::Message {
            shard,
            channel,
            message,
        });
    }
    for (data, name) in [
        (
            json!({"messageId": "p1", "content": "x", "timestamp": i64::MIN}),
            "message:user",
        ),
        (
            json!({"messageId": "p2", "content": "x", "timestamp": i64::MAX}),
            "message:user",
        ),
        (
            json!({"threshold": u64::MAX, "actual": u64::MAX, "timestamp": i64::MAX}),
            "sla:violation",
        ),
        (
            json!({"threshold": 90_000, "actual": i64::MAX, "timestamp": T0}),
            "sla:warning",
        ),
        (
            json!({"threshold": 90_000, "actual": 95_000, "timestamp": -5}),
            "sla:violation",
        ),
        (
            json!({"messageId": "a1", "content": "x", "timing": {"delayMs": u64::MAX}}),
            "message:ai",
        ),
    ] {
        events.push(net_event("conversation:2", name, data));
    }
    let mut spoken = Vec::new();
    for net in events {
        let action = Action::from_net(net);
        spoken.extend(brokerdash::ui::spoken::event_line(&state, &action));
        update(&mut state, action);
    }
    assert!(!spoken.is_empty(), "the screen-reader lines were made");
    let theme = Theme::built_in("dark").unwrap();
    let keymap = Keymap::default();
    for n in ["1", "2"] {
        state.selected = Some(brokerdash::protocol::events::ConversationId::new(n));
        update(&mut state, Action::Command(Command::Open));
        for (width, height) in [(80, 24), (160, 48)] {
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal
                .draw(|frame| brokerdash::ui::render(frame, &state, &theme, &keymap))
                .unwrap();
        }
    }
}

/// A supervisor watching read-only: six conversations, one breached (by the server), one
/// warned (by the client's clock), one answered after a breach, one the AI answers, and a
/// connection with its health figures.
fn supervisor_floor() -> AppState {
    let me = Identity {
        broker_id: "sup".into(),
        broker_name: "Dana".into(),
    };
    let mut state = AppState::new(me, true, Default::default(), T0 - 600_000);
    let mut apply = |action| {
        update(&mut state, action);
    };
    apply(connected());
    apply(Action::Discovered(
        (1..=6).map(|n| format!("conversation:{n}")).collect(),
    ));
    let customers = [
        ("1", "Priya Shah"),
        ("2", "Tom Becker"),
        ("3", "Mei Lin"),
        ("4", "Omar Haddad"),
        ("5", "Grace Kim"),
        ("6", "Luca Rossi"),
    ];
    for (n, name) in customers {
        apply(attached(n));
        apply(presence(n, &format!("customer-{n}"), json!({"name": name})));
    }
    let say = |n: &str, id: &str, text: &str, at: i64| {
        event(
            &format!("conversation:{n}"),
            "message:user",
            json!({"messageId": id, "content": text, "timestamp": at}),
        )
    };
    apply(say(
        "1",
        "p1",
        "Can a human look at my refinance?",
        T0 - 420_000,
    ));
    apply(say(
        "2",
        "t1",
        "How long does pre-approval take?",
        T0 - 150_000,
    ));
    apply(say("3", "m1", "首付需要多少？", T0 - 30_000));
    apply(say("4", "o1", "Is my offer still valid?", T0 - 540_000));
    apply(say("5", "g1", "What documents do you need?", T0 - 200_000));
    apply(event(
        "conversation:5",
        "message:ai",
        json!({"messageId": "g2", "content": "Payslips and ID, please.", "timestamp": T0 - 190_000}),
    ));
    // The monitor's stricter clock breaches Priya before this dashboard's would.
    apply(event(
        "conversation:1",
        "sla:violation",
        json!({"threshold": 200_000, "actual": 200_000, "severity": "critical", "timestamp": T0 - 220_000}),
    ));
    apply(Action::Tick {
        now_ms: T0 - 300_000,
    });
    apply(event(
        "conversation:4",
        "message:broker",
        json!({"messageId": "o2", "content": "Yes, until Friday.", "brokerId": "2", "brokerName": "Alex Morgan", "timestamp": T0 - 200_000}),
    ));
    apply(Action::Tick {
        now_ms: T0 - 60_000,
    });
    apply(presence(
        "3",
        "broker-2",
        json!({"name": "Alex Morgan", "viewing": true}),
    ));
    apply(event(
        "conversation:3",
        "typing:start",
        json!({"actor": "customer", "timestamp": T0}),
    ));
    apply(Action::Health {
        shard: 0,
        stats: brokerdash::realtime::ConnectionStats {
            connected_since_ms: Some(T0 - 3_000_000),
            connect_attempts: 2,
            connect_failures: 0,
            reconnects: 1,
            resumes_ok: 1,
            rtt_ms: Some(4.0),
            published: 12,
            acknowledged: 12,
            received: 0,
            gap_fills: 1,
            ..Default::default()
        },
    });
    apply(Action::Tick { now_ms: T0 });
    apply(Action::Health {
        shard: 0,
        stats: brokerdash::realtime::ConnectionStats {
            connected_since_ms: Some(T0 - 3_000_000),
            connect_attempts: 2,
            reconnects: 1,
            resumes_ok: 1,
            rtt_ms: Some(4.0),
            published: 12,
            acknowledged: 12,
            received: 600,
            gap_fills: 1,
            ..Default::default()
        },
    });
    update(&mut state, Action::Command(Command::Board));
    state
}

#[test]
fn supervisor_board() {
    let state = supervisor_floor();
    snapshot("board", &state);
    let (buffer, cursor) = draw(&state, 80, 24);
    let row: String = (0..80)
        .map(|x| buffer[(x, cursor.1)].symbol().to_owned())
        .collect();
    assert!(
        row.contains("Priya Shah"),
        "the cursor is on the selected, most urgent row: {row}"
    );
}

#[test]
fn supervisor_alert_feed() {
    let mut state = supervisor_floor();
    update(&mut state, Action::Command(Command::NextPanel));
    snapshot("board_feed", &state);
}

#[test]
fn supervisor_connection_health() {
    let mut state = supervisor_floor();
    for _ in 0..3 {
        update(&mut state, Action::Command(Command::NextPanel));
    }
    snapshot("board_health", &state);
}

#[test]
fn supervisor_board_without_colour_keeps_every_state_in_words() {
    let theme = Theme::built_in("dark").unwrap().without_colour();
    let keymap = Keymap::default();
    for panels in [0, 1, 3] {
        let mut state = supervisor_floor();
        for _ in 0..panels {
            update(&mut state, Action::Command(Command::NextPanel));
        }
        for (width, height) in [(80, 24), (160, 48)] {
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal
                .draw(|frame| brokerdash::ui::render(frame, &state, &theme, &keymap))
                .unwrap();
            let buffer = terminal.backend().buffer().clone();
            for cell in buffer.content() {
                assert_eq!(
                    (cell.fg, cell.bg),
                    (ratatui::style::Color::Reset, ratatui::style::Color::Reset),
                    "no colour anywhere with NO_COLOR"
                );
            }
            insta::assert_snapshot!(
                format!("board_no_color_{panels}_{width}x{height}"),
                text_of(&buffer)
            );
        }
    }
}

/// Priya's conversation on a shared desk: Alex claimed it and is writing a reply, Sam paused
/// the AI, and a private note sits between the messages.
fn shared_desk() -> AppState {
    let mut state = busy_desk();
    let mut apply = |action| {
        update(&mut state, action);
    };
    apply(event(
        "conversation:1",
        "broker:claim",
        json!({"brokerId": "2", "name": "Alex Morgan", "timestamp": T0}),
    ));
    apply(event(
        "conversation:1",
        "ai:pause",
        json!({"brokerId": "7", "reason": "a broker took over", "timestamp": T0}),
    ));
    apply(event(
        "notes:conversation:1",
        "note",
        json!({"noteId": "n1", "content": "Called her yesterday: wants a fixed rate, 2 kids, prefers email.", "brokerId": "2", "brokerName": "Alex Morgan", "timestamp": T0 - 100_000}),
    ));
    apply(presence(
        "1",
        "broker-2",
        json!({"name": "Alex Morgan", "viewing": true, "composing": true}),
    ));
    state
}

#[test]
fn a_conversation_with_a_note_a_claim_and_someone_writing() {
    let state = shared_desk();
    snapshot("shared_desk", &state);
    let (buffer, _) = draw(&state, 160, 48);
    let text = text_of(&buffer);
    for words in [
        "Claimed by Alex Morgan",
        "Alex Morgan is writing a reply",
        "AI paused by you",
        "note · Alex Morgan · only brokers see it",
    ] {
        assert!(text.contains(words), "{words} on screen:\n{text}");
    }
    // The note's label has a role of its own, not the customer's nor a reply's.
    let (x, y) = find(&buffer, "note · Alex").unwrap();
    let theme = Theme::built_in("dark").unwrap();
    assert_eq!(buffer[(x, y)].fg, theme.role(Role::Note).fg.unwrap());
}

#[test]
fn the_send_guard_asks_before_a_reply_to_a_claimed_conversation() {
    let mut state = shared_desk();
    update(&mut state, Action::Command(Command::Send));
    snapshot("send_guard", &state);
}
