//! The commands typed at the screen-reader prompt: everything the full-screen dashboard
//! does, by name. `help` is generated from the table below, so what it lists is what works.
//!
//! Longer than 80 lines, kept whole: `run`, a dispatch `match` over the typed verbs.

mod handling;

use std::collections::VecDeque;

use crate::app::action::{Action, Command};
use crate::app::conversation::{Sender, SlaLevel};
use crate::app::state::{AppState, Popup};
use crate::protocol::events::{Actor, ConversationId};
use crate::ui::connection_words;
use crate::ui::spoken::verbosity::Verbosity;
use crate::ui::spoken::{inbox_line, message_line};

/// What the commands act on: the dashboard's state, through its reducer.
pub(crate) trait Desk {
    fn state(&self) -> &AppState;
    fn apply(&mut self, action: Action);
}

/// What the screen-reader mode keeps beside the dashboard's state.
#[derive(Debug, Default)]
pub(crate) struct Speaking {
    pub verbosity: Verbosity,
    /// The last SLA alerts, newest last, whatever the verbosity.
    pub alerts: VecDeque<String>,
}

/// SLA alerts kept for `alerts`.
pub const ALERTS_KEPT: usize = 50;

/// Every command: name, short form, arguments, what it does.
pub const COMMANDS: &[(&str, &str, &str, &str)] = &[
    ("help", "?", "", "lists these commands"),
    (
        "status",
        "t",
        "",
        "connection, unsent replies, breaches and warnings, who you are",
    ),
    ("list", "l", "", "the conversations, most urgent first"),
    (
        "open",
        "o",
        "N",
        "opens conversation N, by list number or conversation id",
    ),
    ("urgent", "u", "", "opens the most urgent conversation"),
    (
        "next",
        "n",
        "",
        "opens the most urgent conversation with unread messages and reads them",
    ),
    (
        "history",
        "h",
        "[N]",
        "reads the last N messages of the open conversation (10)",
    ),
    (
        "read",
        "rd",
        "N",
        "reads message N of the open conversation again",
    ),
    (
        "who",
        "w",
        "",
        "who is viewing and writing in the open conversation",
    ),
    ("alerts", "a", "", "the last SLA alerts"),
    (
        "board",
        "b",
        "[N]",
        "the floor: counts, then the N most urgent conversations (10)",
    ),
    (
        "health",
        "",
        "",
        "each connection's health, and the alert thresholds crossed",
    ),
    (
        "reply",
        "r",
        "TEXT",
        "sends a reply (\\n for a new line, /code for a canned reply)",
    ),
    ("claim", "", "", "claims the open conversation"),
    ("release", "", "", "releases your claim"),
    ("pause", "", "", "pauses the AI in the open conversation"),
    ("resume", "", "", "lets the AI answer again"),
    (
        "snooze",
        "z",
        "[WHEN]",
        "snoozes (30m, 1h, 14:30, tomorrow 9:00; nothing: until they write)",
    ),
    (
        "resolve",
        "x",
        "",
        "resolves the open conversation (again: opens it)",
    ),
    ("note", "", "TEXT", "keeps a private note, for brokers only"),
    ("discard", "", "", "drops the reply the guard asked about"),
    ("suggestions", "s", "", "lists the quick replies"),
    ("use", "", "N", "puts quick reply N in the draft"),
    ("send", "", "", "sends the draft"),
    (
        "verbosity",
        "v",
        "[SETTING]",
        "reads or changes what is announced (verbosity help)",
    ),
    (
        "quit",
        "q",
        "",
        "leaves (asks first when replies are unsent)",
    ),
];

const VERBOSITY_HELP: &str = "verbosity [SCOPE] [KIND] LEVEL. Scopes: open (the open \
conversation), mine (conversations you replied to), all (the others). Kinds: customer, ai, \
broker, typing, presence, receipts, sla. Levels: off, brief (first line and length), full, \
quiet (everything off but SLA), default. For example: verbosity typing off; verbosity all quiet.";

/// Runs one command line; returns what to say.
pub(crate) fn run(desk: &mut impl Desk, speaking: &mut Speaking, line: &str) -> Vec<String> {
    let (verb, rest) = line
        .split_once(' ')
        .map_or((line, ""), |(verb, rest)| (verb, rest.trim()));
    // `:health` as the full-screen hints write it works too.
    let verb = verb.strip_prefix(':').unwrap_or(verb);
    if desk.state().popup == Some(Popup::ConfirmQuit) {
        return confirm_quit(desk, verb);
    }
    let verb = COMMANDS
        .iter()
        .find(|(_, short, ..)| !short.is_empty() && *short == verb)
        .map_or(verb, |(name, ..)| *name);
    if let Some(lines) = handling::run(desk, verb, rest) {
        return lines;
    }
    match verb {
        "" => Vec::new(),
        "help" => help(),
        "status" => status(desk.state()),
        "list" => list(desk.state()),
        "open" => open(desk, rest),
        "urgent" => {
            desk.apply(Action::Command(Command::MostUrgent));
            read_open(desk.state(), 5, "Opened the most urgent,")
        }
        "next" => next(desk),
        "history" => read_open(desk.state(), rest.parse().unwrap_or(10), "Last messages of"),
        "read" => read_one(desk.state(), rest),
        "who" => who(desk.state()),
        "board" => crate::ui::board_lines(desk.state(), rest.parse().unwrap_or(10)),
        "health" => crate::ui::health_report(desk.state()),
        "alerts" if speaking.alerts.is_empty() => vec!["No SLA alerts yet.".to_owned()],
        "alerts" => speaking.alerts.iter().rev().cloned().collect(),
        "suggestions" => suggestions(desk.state()),
        "use" => use_suggestion(desk, rest),
        "send" => send(desk),
        "reply" if rest.is_empty() => vec!["reply needs the text to send.".to_owned()],
        "reply" => {
            desk.apply(Action::SetDraft(rest.replace("\\n", "\n")));
            send(desk)
        }
        "verbosity" => verbosity(speaking, rest),
        "quit" => quit(desk),
        other => vec![format!("Unknown command {other:?}. Type help.")],
    }
}

fn help() -> Vec<String> {
    let mut lines = vec!["Commands:".to_owned()];
    for (name, short, arguments, what) in COMMANDS {
        let short = if short.is_empty() {
            String::new()
        } else {
            format!(" ({short})")
        };
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!(" {arguments}")
        };
        lines.push(format!("{name}{short}{arguments}: {what}."));
    }
    lines
}

fn confirm_quit(desk: &mut impl Desk, verb: &str) -> Vec<String> {
    let answer = if matches!(verb, "quit" | "q" | "y" | "yes") {
        'y'
    } else {
        'n'
    };
    let key = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(answer),
        crossterm::event::KeyModifiers::NONE,
    );
    desk.apply(Action::PopupKey(key));
    if answer == 'n' {
        vec!["Staying.".to_owned()]
    } else {
        Vec::new()
    }
}

fn status(state: &AppState) -> Vec<String> {
    let (connection, _) = connection_words(state);
    let (mut breaches, mut warnings) = (0, 0);
    for conversation in state.conversations.values() {
        match conversation.sla_level() {
            Some(SlaLevel::Breach) => breaches += 1,
            Some(SlaLevel::Warning) => warnings += 1,
            None => {}
        }
    }
    let waiting = state
        .conversations
        .values()
        .filter(|c| c.waiting_since_ms.is_some())
        .count();
    let mode = if state.read_only { ", read-only" } else { "" };
    vec![format!(
        "Connection {connection}; {} unsent repl{}; {breaches} SLA breach{}, {warnings} warning{}, {waiting} waiting for a reply, {} conversations; you are {} (broker {}){mode}.",
        state.outbox.len(),
        if state.outbox.len() == 1 { "y" } else { "ies" },
        if breaches == 1 { "" } else { "es" },
        if warnings == 1 { "" } else { "s" },
        state.conversations.len(),
        state.me.broker_name,
        state.me.broker_id,
    )]
}

fn list(state: &AppState) -> Vec<String> {
    if state.order.is_empty() {
        return vec!["No conversations yet.".to_owned()];
    }
    state
        .order
        .iter()
        .enumerate()
        .filter_map(|(index, id)| {
            let conversation = state.conversations.get(id)?;
            Some(inbox_line(state, index, conversation))
        })
        .collect()
}

fn open(desk: &mut impl Desk, rest: &str) -> Vec<String> {
    let state = desk.state();
    let target = rest
        .parse::<usize>()
        .ok()
        .and_then(|number| state.order.get(number.wrapping_sub(1)).cloned())
        .or_else(|| {
            Some(ConversationId::new(rest)).filter(|id| state.conversations.contains_key(id))
        });
    match target {
        Some(id) => {
            desk.apply(Action::OpenConversation(id));
            read_open(desk.state(), 5, "Opened")
        }
        None => vec![format!("No conversation {rest:?}. Type list to see them.")],
    }
}

/// The most urgent conversation with unread messages: opened, and its unread read out.
fn next(desk: &mut impl Desk) -> Vec<String> {
    let Some(id) = desk.state().most_urgent_unread() else {
        return vec!["No unread messages.".to_owned()];
    };
    let unread = desk
        .state()
        .conversations
        .get(&id)
        .map_or(0, |conversation| conversation.unread);
    desk.apply(Action::OpenConversation(id));
    read_open(desk.state(), unread.max(1), "Next,")
}

/// The open conversation's last `count` messages, numbered for `read N`.
fn read_open(state: &AppState, count: usize, intro: &str) -> Vec<String> {
    let Some(conversation) = state.open_conversation() else {
        return vec!["No conversation is open.".to_owned()];
    };
    let mut lines = vec![format!(
        "{intro} {}, conversation {}, {}.",
        conversation.title(),
        conversation.id,
        conversation.presence.words()
    )];
    let start = conversation.messages.len().saturating_sub(count);
    for (index, message) in conversation.messages.iter().enumerate().skip(start) {
        lines.push(format!(
            "{}. {}",
            index + 1,
            message_line(state, conversation, message)
        ));
    }
    lines
}

fn read_one(state: &AppState, rest: &str) -> Vec<String> {
    let Some(conversation) = state.open_conversation() else {
        return vec!["No conversation is open.".to_owned()];
    };
    match rest
        .parse::<usize>()
        .ok()
        .and_then(|number| conversation.messages.get(number.checked_sub(1)?))
    {
        Some(message) => vec![message_line(state, conversation, message)],
        None => vec![format!(
            "read needs a message number from 1 to {}.",
            conversation.messages.len()
        )],
    }
}

fn who(state: &AppState) -> Vec<String> {
    let Some(conversation) = state.open_conversation() else {
        return vec!["No conversation is open.".to_owned()];
    };
    let mut parts = vec![format!(
        "{} is {}",
        conversation.title(),
        conversation.presence.words()
    )];
    if let Some(typing) = &conversation.typing {
        let writer = match typing.actor {
            Actor::Customer => conversation.title(),
            Actor::Ai => "the AI broker".to_owned(),
            Actor::Broker => "another broker".to_owned(),
        };
        parts.push(format!("{writer} is typing"));
    }
    if conversation.viewers.is_empty() {
        parts.push("no other broker is viewing".to_owned());
    } else {
        let names: Vec<&str> = conversation.viewers.values().map(String::as_str).collect();
        parts.push(format!("{} viewing", names.join(", ")));
    }
    let replied: Vec<String> = conversation
        .messages
        .iter()
        .filter_map(|m| match &m.sender {
            Sender::Broker { id, name } => Some(name.clone().unwrap_or_else(|| id.clone())),
            _ => None,
        })
        .fold(Vec::new(), |mut names, name| {
            if !names.contains(&name) {
                names.push(name);
            }
            names
        });
    if !replied.is_empty() {
        parts.push(format!("replied here: {}", replied.join(", ")));
    }
    vec![format!("{}.", parts.join("; "))]
}

fn suggestions(state: &AppState) -> Vec<String> {
    match &state.suggestions {
        Some(suggestions) if !suggestions.replies.is_empty() => suggestions
            .replies
            .iter()
            .enumerate()
            .map(|(index, reply)| format!("{}. {reply}", index + 1))
            .collect(),
        _ => vec!["No quick replies for this conversation yet.".to_owned()],
    }
}

fn use_suggestion(desk: &mut impl Desk, rest: &str) -> Vec<String> {
    match rest.parse::<u8>() {
        Ok(number) if number >= 1 => {
            desk.apply(Action::Command(Command::PickSuggestion(Some(number))));
            vec![draft(desk.state())]
        }
        _ => vec!["use needs a quick reply number; type suggestions to list them.".to_owned()],
    }
}

fn send(desk: &mut impl Desk) -> Vec<String> {
    if desk.state().popup == Some(Popup::SendGuard) {
        return handling::answer_guard(desk, 's', "Sending anyway.");
    }
    if desk.state().open.is_none() {
        return vec!["Open a conversation first.".to_owned()];
    }
    if desk.state().composer.is_empty() {
        return vec!["The draft is empty.".to_owned()];
    }
    let before = desk.state().outbox.len();
    desk.apply(Action::Command(Command::Send));
    if desk.state().popup == Some(Popup::SendGuard) {
        return handling::guard_question(desk);
    }
    let mut lines = vec![if desk.state().outbox.len() > before {
        "Reply sending.".to_owned()
    } else {
        // `/code` expanded into the draft rather than sending.
        draft(desk.state())
    }];
    lines.extend(desk.state().notice.clone());
    lines
}

fn draft(state: &AppState) -> String {
    let draft = state.composer.lines().join(" / ");
    format!("Draft: {draft}. Type send to send it, or reply with your own text.")
}

fn verbosity(speaking: &mut Speaking, rest: &str) -> Vec<String> {
    match rest {
        "" => speaking.verbosity.describe(),
        "help" => vec![VERBOSITY_HELP.to_owned()],
        setting => match speaking.verbosity.apply(setting) {
            Ok(()) => {
                let mut lines = vec![format!("Verbosity {setting}.")];
                lines.extend(speaking.verbosity.describe());
                lines
            }
            Err(error) => vec![error.to_string()],
        },
    }
}

fn quit(desk: &mut impl Desk) -> Vec<String> {
    desk.apply(Action::Command(Command::Quit));
    if desk.state().popup != Some(Popup::ConfirmQuit) {
        return Vec::new();
    }
    let unsent = desk.state().outbox.len();
    vec![format!(
        "{unsent} repl{} not sent yet; they go out next time. Type quit again to leave, anything else to stay.",
        if unsent == 1 { "y is" } else { "ies are" }
    )]
}

#[cfg(test)]
mod tests;
