//! The screen-reader front end: no alternate screen, no boxes, no redrawing. Events arrive
//! as one labelled line each, commands are typed at a prompt, and the session underneath
//! is the full-screen dashboard's (same loop, same parsed actions, same reducer).
//!
//! Longer than 80 lines, kept whole: `command`, a dispatch `match` over the typed verbs.

use std::collections::HashMap;
use std::io::Write;

use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use crate::app::action::{Action, Command};
use crate::app::conversation::Delivery;
use crate::app::state::{AppState, Popup};
use crate::protocol::events::ConversationId;
use crate::store::Store;
use crate::ui::connection_words;
use crate::ui::spoken::{event_line, inbox_line, message_line};

use super::session::{FrontEnd, Session};
use super::{DashboardOptions, RunError};

const HELP: &str = "Commands: list (l) the conversations, most urgent first; open (o) N, by list number or conversation id; \
urgent (u) opens the most urgent; history (h) [N] reads the last messages; reply (r) TEXT sends a reply (\\n for a new line, /code for a canned reply); \
suggestions (s) lists quick replies; use N puts quick reply N in the draft; send sends the draft; quit (q).";

pub async fn run(options: DashboardOptions, store: Store) -> Result<(), RunError> {
    let session = Session::start(&options, store)?;
    let mut speech = Speech {
        out: std::io::stdout(),
        lines: BufReader::new(tokio::io::stdin()).lines(),
        spoken: Spoken::default(),
    };
    say(
        &mut speech.out,
        "brokerdash, screen-reader mode: one line per event, newest last. Type help for commands.",
    );
    session.run(&mut speech).await
}

struct Speech {
    out: std::io::Stdout,
    lines: Lines<BufReader<Stdin>>,
    spoken: Spoken,
}

impl FrontEnd for Speech {
    type Input = String;

    async fn next_input(&mut self) -> Result<Option<String>, RunError> {
        // End of input (stdin closed) or an unreadable line: leave as `quit` would.
        Ok(self.lines.next_line().await.ok().flatten())
    }

    fn on_input(&mut self, session: &mut Session, line: String) -> Result<(), RunError> {
        command(session, &mut self.out, line.trim());
        Ok(())
    }

    fn heard(&mut self, state: &AppState, action: &Action) {
        if let Some(line) = event_line(state, action) {
            say(&mut self.out, &line);
        }
    }

    fn after(&mut self, state: &mut AppState) -> Result<(), RunError> {
        self.spoken.changes(state, &mut self.out);
        Ok(())
    }
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
    fn changes(&mut self, state: &AppState, out: &mut std::io::Stdout) {
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
                let unsent = session.state.outbox.len();
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
    let before = session.state.outbox.len();
    session.apply(Action::Command(Command::Send));
    if session.state.outbox.len() > before {
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
