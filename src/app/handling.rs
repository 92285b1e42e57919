//! Who handles a conversation, decided from the channel alone so every broker's dashboard
//! agrees: the owner (the first `broker:claim` since the last `broker:release`, in channel
//! order), whether a broker paused the AI, the status (open, snoozed, resolved), and who is
//! writing a reply (presence `composing`).

use std::collections::{BTreeMap, VecDeque};

use crate::protocol::events::ConversationStatus;

/// Control events remembered by id, so one delivered twice (live and from history) counts
/// once.
const APPLIED_KEPT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handling {
    pub owner: Option<Broker>,
    pub ai_paused_by: Option<Broker>,
    pub status: ConversationStatus,
    /// Snoozed until (ms); `None` while snoozed: until the customer writes.
    pub snoozed_until_ms: Option<i64>,
    /// Other brokers writing a reply: clientId → name.
    pub writers: BTreeMap<String, String>,
    /// The notes channel was attached.
    pub notes_attached: bool,
    applied: VecDeque<String>,
}

impl Default for Handling {
    fn default() -> Self {
        Self {
            owner: None,
            ai_paused_by: None,
            status: ConversationStatus::Open,
            snoozed_until_ms: None,
            writers: BTreeMap::new(),
            notes_attached: false,
            applied: VecDeque::new(),
        }
    }
}

impl Handling {
    /// False when this event (by wire id) was applied already.
    pub fn first_time(&mut self, wire_id: &str) -> bool {
        if wire_id.is_empty() {
            return true;
        }
        if self.applied.iter().any(|seen| seen == wire_id) {
            return false;
        }
        self.applied.push_back(wire_id.to_owned());
        if self.applied.len() > APPLIED_KEPT {
            self.applied.pop_front();
        }
        true
    }

    /// The first claim since the last release wins; later ones change nothing.
    pub fn claim(&mut self, broker: Broker) {
        if self.owner.is_none() {
            self.owner = Some(broker);
        }
    }

    pub fn release(&mut self) {
        self.owner = None;
    }

    pub fn set_ai_paused(&mut self, by: Option<Broker>) {
        self.ai_paused_by = by;
    }

    pub fn set_status(&mut self, status: ConversationStatus, until_ms: Option<i64>) {
        self.status = status;
        self.snoozed_until_ms = match status {
            ConversationStatus::Snoozed => until_ms,
            ConversationStatus::Open | ConversationStatus::Resolved => None,
        };
    }

    /// The customer wrote: a snoozed or resolved conversation is open again. True when it
    /// woke up.
    pub fn customer_wrote(&mut self) -> bool {
        let woke = self.status != ConversationStatus::Open;
        self.set_status(ConversationStatus::Open, None);
        woke
    }

    /// A snooze with a time ends at that time. True when it woke up.
    pub fn tick(&mut self, now_ms: i64) -> bool {
        let due = self.status == ConversationStatus::Snoozed
            && self.snoozed_until_ms.is_some_and(|until| until <= now_ms);
        if due {
            self.set_status(ConversationStatus::Open, None);
        }
        due
    }

    pub fn is_open(&self) -> bool {
        self.status == ConversationStatus::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(id: &str) -> Broker {
        Broker {
            id: id.into(),
            name: format!("Broker {id}"),
        }
    }

    #[test]
    fn the_first_claim_since_the_last_release_owns_the_conversation() {
        let mut handling = Handling::default();
        // Two claims in one frame: in channel order, the first wins.
        handling.claim(broker("a"));
        handling.claim(broker("b"));
        assert_eq!(handling.owner, Some(broker("a")));
        handling.release();
        assert_eq!(handling.owner, None);
        handling.claim(broker("b"));
        handling.claim(broker("a"));
        assert_eq!(handling.owner, Some(broker("b")));
    }

    #[test]
    fn a_snooze_wakes_when_the_customer_writes_or_at_its_time() {
        let mut handling = Handling::default();
        handling.set_status(ConversationStatus::Snoozed, None);
        assert!(!handling.tick(i64::MAX));
        assert!(handling.customer_wrote());
        assert!(handling.is_open());
        handling.set_status(ConversationStatus::Snoozed, Some(1_000));
        assert!(!handling.tick(999));
        assert!(handling.tick(1_000));
        assert!(!handling.customer_wrote());
    }

    #[test]
    fn an_event_seen_twice_is_applied_once_and_memory_stays_bounded() {
        let mut handling = Handling::default();
        assert!(handling.first_time("w1"));
        assert!(!handling.first_time("w1"));
        for n in 0..1_000 {
            handling.first_time(&format!("x{n}"));
        }
        assert!(handling.applied.len() <= APPLIED_KEPT);
    }
}
