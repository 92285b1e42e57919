//! Who handles a conversation, in words shared by the conversation pane, the inbox, the
//! board and the screen-reader mode: "Claimed by Alex Morgan", "AI paused by you", "Alex
//! Morgan is writing a reply", "Snoozed until 14:00".

use crate::app::conversation::Conversation;
use crate::app::state::AppState;
use crate::protocol::events::ConversationStatus;

use super::text::clock;

/// The conversation pane's line: every fact that is known, most important first.
pub fn handling_words(state: &AppState, conversation: &Conversation) -> Vec<String> {
    let handling = &conversation.handling;
    let me = &state.me.broker_id;
    let mut words = Vec::new();
    match handling.status {
        ConversationStatus::Open => {}
        ConversationStatus::Snoozed => words.push(match handling.snoozed_until_ms {
            Some(until) => format!("Snoozed until {}", clock(until, state.utc_offset_s)),
            None => "Snoozed until the customer writes".to_owned(),
        }),
        ConversationStatus::Resolved => words.push("Resolved".to_owned()),
    }
    if let Some(owner) = &handling.owner {
        words.push(if owner.id == *me {
            "Claimed by you".to_owned()
        } else {
            format!("Claimed by {}", owner.name)
        });
    }
    for name in handling.writers.values() {
        words.push(format!("{name} is writing a reply"));
    }
    match &handling.ai_paused_by {
        Some(by) if by.id == *me => words.push("AI paused by you".to_owned()),
        Some(by) => words.push(format!("AI paused by {}", by.name)),
        None if conversation.in_charge() == Some("AI") => words.push("AI answering".to_owned()),
        None => {}
    }
    words
}

/// The inbox's short marks: status, owner, who writes.
pub fn inbox_marks(state: &AppState, conversation: &Conversation) -> Vec<String> {
    let handling = &conversation.handling;
    let mut marks = Vec::new();
    if handling.status != ConversationStatus::Open {
        marks.push(handling.status.word().to_owned());
    }
    if let Some(owner) = &handling.owner {
        marks.push(if owner.id == state.me.broker_id {
            "claimed by you".to_owned()
        } else {
            format!("claimed by {}", owner.name)
        });
    }
    if let Some(name) = handling.writers.values().next() {
        marks.push(format!("{name} writing"));
    }
    marks
}
