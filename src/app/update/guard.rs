//! The send guard: before a reply goes out, what changed since it was started (a new
//! customer message, another broker's reply) and whether another broker claimed the
//! conversation; and whether the AI still answers it, so pausing it can be offered.

use super::super::conversation::Sender;
use super::super::state::AppState;

const QUOTE_CHARS: usize = 60;

/// What the broker should know before sending, and whether pausing the AI is on offer.
pub(super) fn reasons(state: &AppState) -> (Vec<String>, bool) {
    let Some(conversation) = state.open_conversation() else {
        return (Vec::new(), false);
    };
    let mut reasons = Vec::new();
    let started = state
        .compose_started
        .as_ref()
        .filter(|(id, _)| *id == conversation.id)
        .map(|(_, at)| *at);
    if let (true, Some(started)) = (state.guard, started) {
        for message in conversation.messages.iter().filter(|m| m.at_ms > started) {
            let quote = quote(&message.text);
            match &message.sender {
                Sender::Customer => {
                    reasons.push(format!("{} wrote: “{quote}”", conversation.title()))
                }
                Sender::Broker { id, name } => reasons.push(format!(
                    "{} replied: “{quote}”",
                    name.clone().unwrap_or_else(|| format!("broker {id}"))
                )),
                _ => {}
            }
        }
    }
    let handling = &conversation.handling;
    if let Some(owner) = handling
        .owner
        .as_ref()
        .filter(|o| o.id != state.me.broker_id)
    {
        reasons.push(format!("Claimed by {}", owner.name));
    }
    // The AI answering is offered in the composer's title (Alt+T), not asked about on
    // every reply; when the guard asks anyway, pausing is one of its answers.
    let ai_answering = ai_answering(state);
    if ai_answering && !reasons.is_empty() {
        reasons.push("The AI is answering this conversation too".to_owned());
    }
    (reasons, ai_answering)
}

/// The open conversation is answered by the AI, which no broker paused.
pub fn ai_answering(state: &AppState) -> bool {
    state.open_conversation().is_some_and(|conversation| {
        conversation.handling.ai_paused_by.is_none() && conversation.in_charge() == Some("AI")
    })
}

fn quote(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > QUOTE_CHARS || text.lines().count() > 1 {
        format!("{}…", line.chars().take(QUOTE_CHARS).collect::<String>())
    } else {
        line.to_owned()
    }
}
