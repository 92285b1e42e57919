//! One channel: its serial counter, bounded history (which also serves resume and rewind),
//! the connections attached to it, its presence set and recently seen message ids.
//!
//! Everything here runs under the channel's lock and never awaits: frames go out through
//! each connection's bounded queue with `try_send`, so a slow reader can never hold up a
//! publisher; a full queue marks that connection overflowed and it is disconnected (it
//! can resume and get what it missed from history).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use serde_json::json;

use crate::protocol::{
    Message, PresenceAction, PresenceMessage, ProtocolAction, ProtocolMessage, encode_frame, flags,
};

use super::outlet::Outlet;

/// A MESSAGE frame as it went out live, kept for resume, rewind and REST history.
pub(crate) struct StoredFrame {
    pub seq: u64,
    pub timestamp: i64,
    pub publisher: Option<Arc<str>>,
    pub frame: Utf8Bytes,
    pub messages: Vec<Message>,
}

pub(crate) struct Subscription {
    pub outlet: Outlet,
    pub modes: u64,
}

pub(crate) struct Channel {
    pub name: String,
    epoch: String,
    seq: u64,
    history: VecDeque<StoredFrame>,
    history_messages: usize,
    /// Highest seq whose messages were evicted from history: resuming from below it
    /// would miss messages, so continuity is lost.
    evicted_through: u64,
    pub subscribers: HashMap<Arc<str>, Subscription>,
    /// Member key (`clientId:connectionId`) → latest presence message.
    pub presence: BTreeMap<String, PresenceMessage>,
    seen_ids: HashSet<String>,
    seen_order: VecDeque<(Instant, String)>,
    pub last_publish: Option<Instant>,
    pub active: bool,
    /// Since when the channel has held nothing (closed, no subscriber, member or history),
    /// as the sweeper last saw it.
    pub empty_since: Option<Instant>,
}

/// What a publish did, for the ACK.
pub(crate) struct Published {
    pub serials: Vec<Option<String>>,
}

impl Channel {
    pub fn new(name: String, epoch: String) -> Self {
        Self {
            name,
            epoch,
            seq: 0,
            history: VecDeque::new(),
            history_messages: 0,
            evicted_through: 0,
            subscribers: HashMap::new(),
            presence: BTreeMap::new(),
            seen_ids: HashSet::new(),
            seen_order: VecDeque::new(),
            last_publish: None,
            active: false,
            empty_since: None,
        }
    }

    pub fn serial(&self) -> String {
        format!("{}:{}", self.epoch, self.seq)
    }

    fn serial_of(&self, seq: u64) -> String {
        format!("{}:{}", self.epoch, seq)
    }

    /// The seq inside one of our channelSerials; `None` for another channel's or hub run's.
    pub fn parse_serial(&self, serial: &str) -> Option<u64> {
        let (epoch, seq) = serial.rsplit_once(':')?;
        (epoch == self.epoch).then(|| seq.parse().ok()).flatten()
    }

    /// Forgets ids older than the idempotency window.
    fn prune_seen(&mut self, window: std::time::Duration) {
        let now = Instant::now();
        while let Some((seen, _)) = self.seen_order.front() {
            if now.duration_since(*seen) < window {
                break;
            }
            if let Some((_, id)) = self.seen_order.pop_front() {
                self.seen_ids.remove(&id);
            }
        }
    }

    /// Publishes a batch: drops messages whose id was seen within `window`, numbers the
    /// rest, stores and fans them out. `frame_id` is `connectionId:msgSerial` for realtime
    /// publishes and a fresh id for REST.
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        &mut self,
        mut messages: Vec<Message>,
        publisher: Option<&Arc<str>>,
        frame_id: &str,
        timestamp: i64,
        history_limit: usize,
        window: std::time::Duration,
    ) -> Published {
        self.prune_seen(window);
        let mut serials = Vec::with_capacity(messages.len());
        let mut fresh = Vec::with_capacity(messages.len());
        let next_seq = self.seq + 1;
        for (index, mut message) in messages.drain(..).enumerate() {
            if let Some(id) = &message.id {
                if self.seen_ids.contains(id) {
                    serials.push(None);
                    continue;
                }
                self.seen_ids.insert(id.clone());
                self.seen_order.push_back((Instant::now(), id.clone()));
            }
            let serial = format!("{}:{}:{}", self.epoch, next_seq, index);
            message
                .id
                .get_or_insert_with(|| format!("{frame_id}:{index}"));
            message.connection_id = publisher.map(|id| id.to_string());
            message.timestamp.get_or_insert(timestamp);
            message.action.get_or_insert(0);
            message.serial = Some(serial.clone());
            serials.push(Some(serial));
            fresh.push(message);
        }
        if fresh.is_empty() {
            return Published { serials };
        }
        self.seq = next_seq;
        self.last_publish = Some(Instant::now());
        let mut frame =
            ProtocolMessage::new(ProtocolAction::Message).with_channel(self.name.clone());
        frame.id = Some(frame_id.to_owned());
        frame.connection_id = publisher.map(|id| id.to_string());
        frame.channel_serial = Some(self.serial());
        frame.timestamp = Some(timestamp);
        frame.messages = Some(fresh);
        let text = Utf8Bytes::from(encode_frame(&frame));
        let messages = frame.messages.take().unwrap_or_default();
        self.fan_out(&text, flags::SUBSCRIBE, publisher);
        self.history_messages += messages.len();
        self.history.push_back(StoredFrame {
            seq: self.seq,
            timestamp,
            publisher: publisher.cloned(),
            frame: text,
            messages,
        });
        while self.history_messages > history_limit {
            let Some(oldest) = self.history.pop_front() else {
                break;
            };
            self.history_messages -= oldest.messages.len();
            self.evicted_through = oldest.seq;
        }
        Published { serials }
    }

    /// Sends a frame to every subscriber holding `mode`, skipping the publisher when it
    /// asked for no echo. Overflowing connections are dropped from the channel.
    fn fan_out(&mut self, text: &Utf8Bytes, mode: u64, publisher: Option<&Arc<str>>) {
        let mut overflowed = Vec::new();
        for (id, subscription) in &self.subscribers {
            if subscription.modes & mode == 0 {
                continue;
            }
            if !subscription.outlet.echo && publisher.is_some_and(|p| p == id) {
                continue;
            }
            if !subscription.outlet.send(text.clone()) {
                overflowed.push(id.clone());
            }
        }
        for id in overflowed {
            self.subscribers.remove(&id);
        }
    }

    /// The frames after `seq`, oldest first, or `None` when some were evicted.
    /// The frames after `seq`, oldest first, or `None` when continuity cannot be kept:
    /// some were evicted, or the first one missed is older than `oldest_ms`. Like Ably,
    /// the hub replays only what a connection could have missed within the connection
    /// state TTL; older gaps are for history to fill.
    pub fn frames_after(
        &self,
        seq: u64,
        oldest_ms: i64,
    ) -> Option<impl Iterator<Item = &StoredFrame>> {
        if seq < self.evicted_through || seq > self.seq {
            return None;
        }
        let first_missed = self.history.iter().find(|stored| stored.seq > seq);
        if first_missed.is_some_and(|stored| stored.timestamp < oldest_ms) {
            return None;
        }
        Some(self.history.iter().filter(move |stored| stored.seq > seq))
    }

    /// The newest `count` messages' frames, for `rewind=N` (whole frames, oldest first).
    pub fn rewind_count(&self, count: usize) -> Vec<Utf8Bytes> {
        let mut taken = 0;
        let mut frames = Vec::new();
        for stored in self.history.iter().rev() {
            if taken >= count {
                break;
            }
            let want = count - taken;
            if stored.messages.len() <= want {
                frames.push(stored.frame.clone());
                taken += stored.messages.len();
            } else {
                // Only the tail of this batch fits: re-encode that part.
                let tail = stored.messages[stored.messages.len() - want..].to_vec();
                frames.push(self.frame_for(stored, tail));
                taken = count;
            }
        }
        frames.reverse();
        frames
    }

    pub fn rewind_since(&self, since_ms: i64) -> Vec<Utf8Bytes> {
        self.history
            .iter()
            .filter(|stored| stored.timestamp >= since_ms)
            .map(|stored| stored.frame.clone())
            .collect()
    }

    fn frame_for(&self, stored: &StoredFrame, messages: Vec<Message>) -> Utf8Bytes {
        let mut frame =
            ProtocolMessage::new(ProtocolAction::Message).with_channel(self.name.clone());
        frame.connection_id = stored.publisher.as_ref().map(|id| id.to_string());
        frame.channel_serial = Some(self.serial_of(stored.seq));
        frame.timestamp = Some(stored.timestamp);
        frame.messages = Some(messages);
        Utf8Bytes::from(encode_frame(&frame))
    }

    pub fn history(&self) -> impl DoubleEndedIterator<Item = &StoredFrame> {
        self.history.iter()
    }

    /// Applies a presence change and relays it to presence subscribers. Returns false for
    /// a LEAVE of a member that is not present (acknowledged, not relayed).
    pub fn apply_presence(&mut self, mut member: PresenceMessage) -> bool {
        let key = member.member_key();
        match member.action {
            PresenceAction::Leave | PresenceAction::Absent => {
                let Some(previous) = self.presence.remove(&key) else {
                    return false;
                };
                member.action = PresenceAction::Leave;
                if member.data.is_none() {
                    member.data = previous.data;
                    member.encoding = previous.encoding;
                }
            }
            _ => {
                // ENTER for a present member is relayed as an UPDATE.
                if self.presence.contains_key(&key) && member.action == PresenceAction::Enter {
                    member.action = PresenceAction::Update;
                }
                let mut stored = member.clone();
                stored.action = PresenceAction::Present;
                self.presence.insert(key, stored);
            }
        }
        self.seq += 1;
        let mut frame =
            ProtocolMessage::new(ProtocolAction::Presence).with_channel(self.name.clone());
        frame.channel_serial = Some(self.serial());
        frame.timestamp = member.timestamp;
        frame.presence = Some(vec![member]);
        let text = Utf8Bytes::from(encode_frame(&frame));
        self.fan_out(&text, flags::PRESENCE_SUBSCRIBE, None);
        true
    }

    /// SYNC frames carrying the presence set, in pages; the last has an empty cursor.
    pub fn sync_frames(&self, sync_id: &str) -> Vec<Utf8Bytes> {
        const PAGE: usize = 100;
        let members: Vec<&PresenceMessage> = self.presence.values().collect();
        let mut pages: Vec<&[&PresenceMessage]> = members.chunks(PAGE).collect();
        if pages.is_empty() {
            // An empty set is still one page: a SYNC must always carry a presence array.
            pages.push(&[]);
        }
        let last = pages.len().saturating_sub(1);
        let mut frames = Vec::with_capacity(pages.len().max(1));
        for (index, page) in pages.iter().enumerate() {
            let cursor = if index == last {
                String::new()
            } else {
                (index + 1).to_string()
            };
            let mut frame =
                ProtocolMessage::new(ProtocolAction::Sync).with_channel(self.name.clone());
            frame.channel_serial = Some(format!("{sync_id}:{cursor}"));
            frame.presence = Some(page.iter().map(|member| (*member).clone()).collect());
            frames.push(Utf8Bytes::from(encode_frame(&frame)));
        }
        frames
    }

    /// Members owned by one connection, for leaving on close or after the grace period.
    pub fn members_of(&self, connection_id: &str) -> Vec<PresenceMessage> {
        self.presence
            .values()
            .filter(|member| member.connection_id.as_deref() == Some(connection_id))
            .cloned()
            .collect()
    }

    pub fn details(&self) -> serde_json::Value {
        let presence_subscribers = self
            .subscribers
            .values()
            .filter(|s| s.modes & flags::PRESENCE_SUBSCRIBE != 0)
            .count();
        let publishers = self
            .subscribers
            .values()
            .filter(|s| s.modes & flags::PUBLISH != 0)
            .count();
        let subscribers = self
            .subscribers
            .values()
            .filter(|s| s.modes & flags::SUBSCRIBE != 0)
            .count();
        let presence_connections: HashSet<&str> = self
            .presence
            .values()
            .filter_map(|member| member.connection_id.as_deref())
            .collect();
        json!({
            "channelId": self.name,
            "name": self.name,
            "status": {
                "isActive": self.active,
                "occupancy": {
                    "metrics": {
                        "connections": self.subscribers.len(),
                        "publishers": publishers,
                        "subscribers": subscribers,
                        "presenceConnections": presence_connections.len(),
                        "presenceMembers": self.presence.len(),
                        "presenceSubscribers": presence_subscribers,
                        "objectPublishers": 0,
                        "objectSubscribers": 0
                    }
                }
            }
        })
    }
}
