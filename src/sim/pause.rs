//! Which conversations a broker has paused the AI on (`ai:pause` / `ai:resume`), and
//! which answers a pause cancelled. Pure: the AI worker asks it before every publish.
//!
//! Each answer is admitted with a [`Ticket`] naming the conversation's pause generation;
//! a pause starts a new generation, so every answer admitted before it stays cancelled
//! even if a resume follows before the answer would have gone out.

use std::collections::HashMap;

/// Proof that an answer was admitted, and in which pause generation of its conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

#[derive(Debug, Default)]
struct Conversation {
    paused: bool,
    generation: u64,
    /// Answers whose `typing:start` went out and whose `typing:stop` has not.
    typing: u32,
}

#[derive(Debug, Default)]
pub(crate) struct PauseGate {
    conversations: HashMap<String, Conversation>,
}

impl PauseGate {
    /// A ticket for a new answer on `channel`; none while the AI is paused there.
    pub fn admit(&mut self, channel: &str) -> Option<Ticket> {
        let conversation = self.conversations.entry(channel.to_owned()).or_default();
        (!conversation.paused).then_some(Ticket(conversation.generation))
    }

    /// Whether an answer admitted with `ticket` may still go out: no pause since.
    pub fn current(&self, channel: &str, ticket: Ticket) -> bool {
        self.conversations
            .get(channel)
            .is_some_and(|c| !c.paused && c.generation == ticket.0)
    }

    /// Pauses the AI on `channel`, cancelling the answers admitted so far. True when it
    /// was typing there: the caller says it stopped, as nobody else will.
    pub fn pause(&mut self, channel: &str) -> bool {
        let conversation = self.conversations.entry(channel.to_owned()).or_default();
        conversation.paused = true;
        conversation.generation = conversation.generation.wrapping_add(1);
        std::mem::take(&mut conversation.typing) > 0
    }

    pub fn resume(&mut self, channel: &str) {
        if let Some(conversation) = self.conversations.get_mut(channel) {
            conversation.paused = false;
        }
    }

    pub fn typing_started(&mut self, channel: &str) {
        if let Some(conversation) = self.conversations.get_mut(channel) {
            conversation.typing = conversation.typing.saturating_add(1);
        }
    }

    pub fn typing_stopped(&mut self, channel: &str) {
        if let Some(conversation) = self.conversations.get_mut(channel) {
            conversation.typing = conversation.typing.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: &str = "conversation:1";

    #[test]
    fn a_pause_refuses_new_answers_and_cancels_admitted_ones_for_good() {
        let mut gate = PauseGate::default();
        let before = gate.admit(C1).unwrap();
        gate.typing_started(C1);
        assert!(gate.pause(C1), "it was typing: it must say it stopped");
        assert!(gate.admit(C1).is_none());
        assert!(!gate.current(C1, before));
        gate.resume(C1);
        assert!(!gate.current(C1, before), "a resume does not revive it");
        let after = gate.admit(C1).unwrap();
        assert!(gate.current(C1, after));
        assert!(!gate.pause(C1), "nothing was typing this time");
        assert!(gate.admit("conversation:2").is_some(), "per conversation");
    }
}
