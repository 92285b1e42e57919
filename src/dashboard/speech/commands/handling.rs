//! The shared desk at the prompt: claim, release, pause and resume the AI, snooze, resolve,
//! notes, and the send guard's question asked in words.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::action::{Action, Command};
use crate::app::state::Popup;

use super::Desk;

fn key(code: KeyCode) -> Action {
    Action::PopupKey(KeyEvent::new(code, KeyModifiers::NONE))
}

/// A shared-desk verb, or `None` when the verb is not one.
pub(super) fn run(desk: &mut impl Desk, verb: &str, rest: &str) -> Option<Vec<String>> {
    let command = match verb {
        "claim" => Command::Claim,
        "release" => Command::Release,
        "pause" => Command::PauseAi,
        "resume" => Command::ResumeAi,
        "resolve" => Command::Resolve,
        "snooze" => return Some(snooze(desk, rest)),
        "note" => return Some(note(desk, rest)),
        "discard" => return Some(answer_guard(desk, 'd', "Reply discarded.")),
        _ => return None,
    };
    if desk.state().open.is_none() {
        return Some(vec!["Open a conversation first.".to_owned()]);
    }
    desk.apply(Action::Command(command));
    let mut lines: Vec<String> = desk.state().notice.clone().into_iter().collect();
    if lines.is_empty() {
        lines.push("Sent; it shows once it is back on the channel.".to_owned());
    }
    Some(lines)
}

fn snooze(desk: &mut impl Desk, rest: &str) -> Vec<String> {
    if desk.state().open.is_none() {
        return vec!["Open a conversation first.".to_owned()];
    }
    desk.apply(Action::Command(Command::Snooze));
    if desk.state().popup != Some(Popup::Snooze) {
        return vec!["Opened again.".to_owned()];
    }
    for c in rest.chars() {
        desk.apply(key(KeyCode::Char(c)));
    }
    desk.apply(key(KeyCode::Enter));
    if desk.state().popup == Some(Popup::Snooze) {
        desk.apply(key(KeyCode::Esc));
        return desk.state().notice.clone().into_iter().collect();
    }
    vec!["Snoozed.".to_owned()]
}

fn note(desk: &mut impl Desk, rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return vec!["note needs the text to keep.".to_owned()];
    }
    if desk.state().open.is_none() {
        return vec!["Open a conversation first.".to_owned()];
    }
    desk.apply(Action::Command(Command::Note));
    if !desk.state().note_mode {
        return desk.state().notice.clone().into_iter().collect();
    }
    desk.apply(Action::SetDraft(rest.replace("\\n", "\n")));
    desk.apply(Action::Command(Command::Send));
    vec!["Note kept; only brokers see it.".to_owned()]
}

/// The send guard asked: what arrived, and how to answer.
pub(super) fn guard_question(desk: &impl Desk) -> Vec<String> {
    let state = desk.state();
    let mut lines = vec!["Before you send:".to_owned()];
    lines.extend(
        state
            .guard_reasons
            .iter()
            .map(|reason| format!("{reason}.")),
    );
    let pause = if state.guard_offers_pause {
        " Type pause then send to pause the AI first."
    } else {
        ""
    };
    lines.push(format!(
        "Type send to send anyway, discard to drop the reply, anything else to keep editing.{pause}"
    ));
    lines
}

/// `send` or `discard` while the guard asks.
pub(super) fn answer_guard(desk: &mut impl Desk, answer: char, said: &str) -> Vec<String> {
    if desk.state().popup != Some(Popup::SendGuard) {
        return vec!["Nothing to discard.".to_owned()];
    }
    desk.apply(key(KeyCode::Char(answer)));
    vec![said.to_owned()]
}
