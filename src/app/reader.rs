//! The screen-reader mode: no alternate screen, no boxes, no redrawing. Events arrive as
//! one labelled line each, commands are typed at a prompt, and the state underneath is the
//! same as the full-screen dashboard's (same reducer, same effects).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::protocol::events::ConversationId;
use crate::store::Store;
use crate::ui::connection_words;
use crate::ui::spoken::{event_line, inbox_line, message_line};

use super::action::{Action, Command};
use super::conversation::Delivery;
use super::run::{DashboardOptions, Session};
use super::state::Popup;

const HELP: &str = "Commands: list (l) the conversations, most urgent first; open (o) N, by list number or conversation id; \
urgent (u) opens the most urgent; history (h) [N] reads the last messages; reply (r) TEXT sends a reply (\\n for a new line, /code for a canned reply); \
suggestions (s) lists quick replies; use N puts quick reply N in the draft; send sends the draft; quit (q).";

pub async fn run(options: DashboardOptions, store: Store) -> Result<(), super::RunError> {
    let mut session = Session::start(&options, store)?;
    let mut out = std::io::stdout();
    say(
        &mut out,
        "brokerdash, screen-reader mode: one line per event, newest last. Type help for commands.",
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let mut spoken = Spoken::default();
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    command(&mut session, &mut out, line.trim());
                    if session.state.quit {
                        break;
                    }
                }
                // End of input (stdin closed): leave as `quit` would.
                Ok(None) | Err(_) => break,
            },
            event = session.net.recv() => match event {
                Some(event) => {
                    session.executor.on_network(&event, &mut session.state);
                    session.apply(Action::Net(event.clone()));
                    if let Some(line) = event_line(&session.state, &event) {
                        say(&mut out, &line);
                    }
                }
                None => break,
            },
            Some(action) = session.results.recv() => session.apply(action),
            Some(outcome) = session.outcomes.recv() => {
                if let Some(action) = session.executor.settle(outcome) {
                    session.apply(action);
                }
            }
            _ = clock.tick() => session.apply(Action::Tick { now_ms: crate::clock::now_ms() }),
        }
        spoken.changes(&session, &mut out);
    }
    session.client.close().await;
    Ok(())
}

fn say(out: &mut std::io::Stdout, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// What was last said about things that change in place, so each change is said once.
#[derive(Default)]
struct Spoken {
    connection: String,
    typing: HashMap<ConversationId, bool>,
    deliveries: HashMap<String, Delivery>,
}

impl Spoken {
    fn changes(&mut self, session: &Session, out: &mut std::io::Stdout) {
        let state = &session.state;
        let (words, _) = connection_words(state);
        if words != self.connection {
            say(out, &format!("Connection {words}"));
            self.connection = words;
        }
        for conversation in state.conversations.values() {
            let typing = conversation.typing.is_some();
            let before = self
                .typing
                .insert(conversation.id.clone(), typing)
                .unwrap_or(false);
            if typing != before {
                let name = conversation.title();
                say(
                    out,
                    &format!(
                        "{name} {} typing, conversation {}",
                        if typing { "is" } else { "stopped" },
                        conversation.id
                    ),
                );
            }
            for message in conversation.messages.iter().rev().take(20) {
                let Some(delivery) = message.delivery else {
                    continue;
                };
                let before = self.deliveries.insert(message.id.clone(), delivery);
                if before.is_some() && before != Some(delivery) && delivery != Delivery::Read {
                    say(
                        out,
                        &format!(
                            "Your reply to {} is {}",
                            conversation.title(),
                            delivery.words()
                        ),
                    );
                }
            }
        }
    }
}

fn command(session: &mut Session, out: &mut std::io::Stdout, line: &str) {
    let (verb, rest) = line
        .split_once(' ')
        .map_or((line, ""), |(verb, rest)| (verb, rest.trim()));
    if session.state.popup == Some(Popup::ConfirmQuit) {
        let answer = if matches!(verb, "quit" | "q" | "y" | "yes") {
            'y'
        } else {
            'n'
        };
        let key = crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(answer),
            crossterm::event::KeyModifiers::NONE,
        );
        session.apply(Action::PopupKey(key));
        if answer == 'n' {
            say(out, "Staying.");
        }
        return;
    }
    match verb {
        "" => {}
        "help" | "?" => say(out, HELP),
        "list" | "l" => {
            if session.state.order.is_empty() {
                say(out, "No conversations yet.");
            }
            let state = &session.state;
            for (index, id) in state.order.iter().enumerate() {
                if let Some(conversation) = state.conversations.get(id) {
                    say(out, &inbox_line(state, index, conversation));
                }
            }
        }
        "open" | "o" => {
            let target = rest
                .parse::<usize>()
                .ok()
                .and_then(|number| session.state.order.get(number.wrapping_sub(1)).cloned())
                .or_else(|| {
                    Some(ConversationId::new(rest))
                        .filter(|id| session.state.conversations.contains_key(id))
                });
            match target {
                Some(id) => {
                    session.apply(Action::OpenConversation(id));
                    read_open(session, out, 5, "Opened");
                }
                None => say(
                    out,
                    &format!("No conversation {rest:?}. Type list to see them."),
                ),
            }
        }
        "urgent" | "u" => {
            session.apply(Action::Command(Command::MostUrgent));
            read_open(session, out, 5, "Opened the most urgent,");
        }
        "history" | "h" => read_open(session, out, rest.parse().unwrap_or(10), "Last messages of"),
        "suggestions" | "s" => match &session.state.suggestions {
            Some(suggestions) if !suggestions.replies.is_empty() => {
                for (index, reply) in suggestions.replies.iter().enumerate() {
                    say(out, &format!("{}. {reply}", index + 1));
                }
            }
            _ => say(out, "No quick replies for this conversation yet."),
        },
        "use" => match rest.parse::<u8>() {
            Ok(number) if number >= 1 => {
                session.apply(Action::Command(Command::PickSuggestion(Some(number))));
                say_draft(session, out);
            }
            _ => say(
                out,
                "use needs a quick reply number; type suggestions to list them.",
            ),
        },
        "send" => send(session, out),
        "reply" | "r" => {
            if rest.is_empty() {
                say(out, "reply needs the text to send.");
                return;
            }
            session.apply(Action::SetDraft(rest.replace("\\n", "\n")));
            send(session, out);
        }
        "quit" | "q" => {
            session.apply(Action::Command(Command::Quit));
            if session.state.popup == Some(Popup::ConfirmQuit) {
                let unsent = session.state.unsent.len();
                say(
                    out,
                    &format!(
                        "{unsent} repl{} not sent yet; they go out next time. Type quit again to leave, anything else to stay.",
                        if unsent == 1 { "y is" } else { "ies are" }
                    ),
                );
            }
        }
        other => say(out, &format!("Unknown command {other:?}. Type help.")),
    }
}

fn send(session: &mut Session, out: &mut std::io::Stdout) {
    if session.state.open.is_none() {
        say(out, "Open a conversation first.");
        return;
    }
    if session.state.composer.is_empty() {
        say(out, "The draft is empty.");
        return;
    }
    let before = session.state.unsent.len();
    session.apply(Action::Command(Command::Send));
    if session.state.unsent.len() > before {
        say(out, "Reply sending.");
    } else {
        // `/code` expanded into the draft rather than sending.
        say_draft(session, out);
    }
    if let Some(notice) = session.state.notice.clone() {
        say(out, &notice);
    }
}

fn say_draft(session: &Session, out: &mut std::io::Stdout) {
    let draft = session.state.composer.lines().join(" / ");
    say(
        out,
        &format!("Draft: {draft}. Type send to send it, or reply with your own text."),
    );
}

fn read_open(session: &Session, out: &mut std::io::Stdout, count: usize, intro: &str) {
    let state = &session.state;
    let Some(conversation) = state.open_conversation() else {
        say(out, "No conversation is open.");
        return;
    };
    say(
        out,
        &format!(
            "{intro} {}, conversation {}, {}.",
            conversation.title(),
            conversation.id,
            conversation.presence.words()
        ),
    );
    let start = conversation.messages.len().saturating_sub(count);
    for message in &conversation.messages[start..] {
        say(out, &message_line(state, conversation, message));
    }
}
