//! Replies not yet known to have arrived, and what the reducer is waiting for on each.
//! The reducer alone decides a reply's next step; the SQLite store is only its memory
//! across restarts (written and cleared through effects).

use std::collections::BTreeMap;

use crate::protocol::events::ConversationId;
use crate::store::OutboxEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyStage {
    /// Published; waiting for the acknowledgement.
    Sending,
    /// The connection failed under it: published again, with the same id, when a
    /// connection is back.
    AwaitingConnection,
    /// The server refused it: shown as failed until the broker retries.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReply {
    pub conversation: ConversationId,
    pub entry: OutboxEntry,
    pub stage: ReplyStage,
}

#[derive(Debug, Default)]
pub struct Outbox {
    replies: BTreeMap<String, PendingReply>,
}

impl Outbox {
    pub fn len(&self) -> usize {
        self.replies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    pub fn get(&self, message_id: &str) -> Option<&PendingReply> {
        self.replies.get(message_id)
    }

    pub fn sending(&mut self, conversation: ConversationId, entry: OutboxEntry) {
        let message_id = entry.message_id.clone();
        self.replies.insert(
            message_id,
            PendingReply {
                conversation,
                entry,
                stage: ReplyStage::Sending,
            },
        );
    }

    pub fn remove(&mut self, message_id: &str) -> Option<PendingReply> {
        self.replies.remove(message_id)
    }

    pub fn set_stage(&mut self, message_id: &str, stage: ReplyStage) {
        if let Some(reply) = self.replies.get_mut(message_id) {
            reply.stage = stage;
        }
    }

    /// Moves every reply in `from` to `Sending` and returns their entries, to publish.
    pub fn resume(&mut self, from: ReplyStage) -> Vec<OutboxEntry> {
        self.replies
            .values_mut()
            .filter(|reply| reply.stage == from)
            .map(|reply| {
                reply.stage = ReplyStage::Sending;
                reply.entry.clone()
            })
            .collect()
    }

    pub fn in_stage(&self, stage: ReplyStage) -> usize {
        self.replies
            .values()
            .filter(|reply| reply.stage == stage)
            .count()
    }

    /// The replies of one conversation in one stage, oldest id first.
    pub fn ids_in(&self, conversation: &ConversationId, stage: ReplyStage) -> Vec<String> {
        self.replies
            .iter()
            .filter(|(_, reply)| reply.stage == stage && &reply.conversation == conversation)
            .map(|(id, _)| id.clone())
            .collect()
    }
}
