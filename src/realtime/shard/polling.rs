//! The polling transport: the channels' messages from REST history and their presence from
//! REST presence, on the plan's intervals, while WebSocket is not used (`--transport poll`,
//! or `auto` after three upgrade failures in a row). Publishing goes over REST, in order,
//! with the ids the outbox chose, so a publish sent twice across a switch lands once.
//!
//! Exactly once and in order: each channel's cursor is the newest message time seen
//! (the channel machine's, shared with the gap fill). A poll reads back to a little before
//! it, oldest first, and delivers only ids not yet seen. The first poll of a channel with no
//! cursor only learns what is already there. When WebSocket is back, the channel's next
//! ATTACHED fills the gap from the same cursor, so nothing between the last poll and the
//! attachment is lost, and nothing polled is delivered again.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, info};

use crate::protocol::{ErrorInfo, Message, PresenceMessage};
use crate::realtime::poll_plan::{PollKind, PollPlan};
use crate::realtime::transport::{Transport, TransportChoice};
use crate::realtime::types::{ClientError, InboundMessage, NetEvent, PublishAck};
use crate::rest::{HistoryQuery, RestClient, RestError};

use super::timers::Timer;
use super::{Internal, PendingReply, Reply, Shard};

/// How far before the cursor a poll reads: timestamps of messages published at nearly the
/// same moment need not follow their order, and ids make the overlap harmless.
const CURSOR_OVERLAP_MS: i64 = 2_000;
/// What a channel's first poll reads to learn what is already there.
const BASELINE_LIMIT: usize = 100;
/// Upgrade failures in a row before `auto` polls.
pub(super) const UPGRADE_FAILURES_BEFORE_POLLING: u32 = 3;

pub(super) struct Polling {
    pub plan: PollPlan,
    /// Results of an earlier polling spell are dropped (the gap fill covers them).
    pub spell: u64,
}

/// What a channel's poll was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PollQuery {
    /// No cursor yet: what is already there is seen, not delivered.
    Baseline,
    /// Everything: the channel was empty at its baseline.
    Everything,
    Since(i64),
    Presence,
}

pub(super) enum PollOutcome {
    Messages(Result<Vec<Message>, RestError>),
    Presence(Result<Vec<PresenceMessage>, RestError>),
}

/// A publish waiting its turn on the REST publisher.
pub(super) type RestPublish = (String, Vec<Message>, Reply<PublishAck>);

/// Per channel, what polling knows beyond the channel machine.
#[derive(Debug, Default)]
pub(super) struct PollSlot {
    /// The baseline found the channel empty: every message is new.
    pub empty_at_baseline: bool,
    /// A poll answered in this spell (the channel counts as attached).
    pub answered: bool,
}

impl Shard {
    pub(super) fn is_polling(&self) -> bool {
        self.polling.is_some()
    }

    /// Starts polling every channel held here, and sends what waited for a connection over
    /// REST.
    pub(super) async fn start_polling(&mut self, reason: String) {
        if self.polling.is_some() {
            return;
        }
        info!(shard = self.index, %reason, "polling REST history");
        let now = std::time::Instant::now();
        let mut plan = PollPlan::new(self.options.poll.clone(), now);
        for name in self.channels.keys() {
            plan.add(name, now);
        }
        plan.focus(self.focused.as_deref(), now);
        self.poll_spell += 1;
        for slot in self.channels.values_mut() {
            slot.poll = PollSlot::default();
        }
        self.polling = Some(Polling {
            plan,
            spell: self.poll_spell,
        });
        self.emit(NetEvent::Transport {
            shard: self.index,
            transport: Transport::Polling { reason },
        })
        .await;
        self.publish_waiting_over_rest();
        self.arm_poll();
    }

    /// WebSocket is connected again: the channels' ATTACHED fill what polling has not seen.
    pub(super) async fn stop_polling(&mut self) {
        if self.polling.take().is_none() {
            return;
        }
        self.cancel_timer(&Timer::Poll);
        info!(shard = self.index, "WebSocket again; polling stops");
        self.emit(NetEvent::Transport {
            shard: self.index,
            transport: Transport::WebSocket,
        })
        .await;
    }

    pub(super) fn poll_add(&mut self, channel: &str) {
        if let Some(polling) = &mut self.polling {
            polling.plan.add(channel, std::time::Instant::now());
            self.arm_poll();
        }
    }

    pub(super) fn poll_remove(&mut self, channel: &str) {
        if let Some(polling) = &mut self.polling {
            polling.plan.remove(channel);
        }
    }

    pub(super) fn poll_focus(&mut self, channel: Option<String>) {
        if let Some(polling) = &mut self.polling {
            polling
                .plan
                .focus(channel.as_deref(), std::time::Instant::now());
        }
        self.focused = channel;
        self.arm_poll();
    }

    fn arm_poll(&mut self) {
        let now = std::time::Instant::now();
        match self.polling.as_ref().and_then(|p| p.plan.next_wake(now)) {
            Some(at) => self.set_timer(Timer::Poll, tokio::time::Instant::from_std(at)),
            None => self.cancel_timer(&Timer::Poll),
        }
    }

    /// The poll timer: asks for what is due.
    pub(super) fn poll_due(&mut self) {
        let now = std::time::Instant::now();
        let Some(polling) = &mut self.polling else {
            return;
        };
        let spell = polling.spell;
        let due = polling.plan.take_due(now);
        for (channel, kind) in due {
            let Some(query) = self.poll_query(&channel, kind) else {
                if let Some(polling) = &mut self.polling {
                    polling.plan.remove(&channel);
                }
                continue;
            };
            let rest = self.rest.clone();
            let internal = self.internal_tx.clone();
            tokio::spawn(async move {
                let outcome = run_poll(&rest, &channel, query).await;
                let _ = internal.send(Internal::Polled {
                    channel,
                    spell,
                    query,
                    outcome,
                });
            });
        }
        self.arm_poll();
    }

    fn poll_query(&self, channel: &str, kind: PollKind) -> Option<PollQuery> {
        let slot = self.channels.get(channel)?;
        if !slot.machine.wants_delivery() {
            return None;
        }
        Some(match kind {
            PollKind::Presence => PollQuery::Presence,
            PollKind::Messages if slot.poll.empty_at_baseline => PollQuery::Everything,
            PollKind::Messages => match slot.machine.last_message_ms() {
                Some(ms) => PollQuery::Since(ms),
                None => PollQuery::Baseline,
            },
        })
    }

    /// A poll's answer: new messages in order, presence as a sync of the whole set.
    pub(super) async fn polled(
        &mut self,
        channel: &str,
        spell: u64,
        query: PollQuery,
        outcome: PollOutcome,
    ) {
        let Some(polling) = &mut self.polling else {
            return;
        };
        if polling.spell != spell {
            return;
        }
        let now = std::time::Instant::now();
        let kind = match query {
            PollQuery::Presence => PollKind::Presence,
            _ => PollKind::Messages,
        };
        let result = match outcome {
            PollOutcome::Messages(Ok(messages)) => {
                let delivered = self.take_polled(channel, query, messages).await;
                Ok(delivered)
            }
            PollOutcome::Presence(Ok(members)) => {
                self.presence_polled(channel, members).await;
                Ok(0)
            }
            PollOutcome::Messages(Err(error)) | PollOutcome::Presence(Err(error)) => Err(error),
        };
        let Some(polling) = &mut self.polling else {
            return;
        };
        match result {
            Ok(delivered) => {
                polling.plan.done(channel, kind, now, delivered);
                self.poll_answered(channel).await;
            }
            Err(error) => {
                let throttled = matches!(&error, RestError::Ably(info) if info.status_code == 429);
                polling.plan.failed(channel, kind, now, throttled);
                debug!(shard = self.index, channel, %error, "poll failed");
                if let RestError::Ably(info) = &error
                    && (40100..40400).contains(&info.code)
                    && !throttled
                {
                    // Not allowed to read it: the channel fails, as an ATTACH would.
                    polling.plan.remove(channel);
                    self.channel(
                        channel,
                        crate::realtime::channel::ChannelInput::Error(info.clone()),
                    )
                    .await;
                }
            }
        }
        self.arm_poll();
    }

    /// The first answer in a spell: the channel is being delivered, so it counts as
    /// attached for the application and for whoever waits on it.
    async fn poll_answered(&mut self, channel: &str) {
        let Some(slot) = self.channels.get_mut(channel) else {
            return;
        };
        if slot.poll.answered {
            return;
        }
        slot.poll.answered = true;
        slot.machine.record_polled();
        for waiter in slot.waiters.drain(..) {
            let _ = waiter.send(Ok(()));
        }
        if !slot.machine.accepts_messages() {
            self.emit(NetEvent::Channel {
                channel: channel.to_owned(),
                state: crate::realtime::ChannelState::Attached,
                resumed: false,
                reason: None,
            })
            .await;
        }
    }

    /// Delivers the messages not seen yet, oldest first; returns how many.
    async fn take_polled(
        &mut self,
        channel: &str,
        query: PollQuery,
        mut messages: Vec<Message>,
    ) -> usize {
        let Some(slot) = self.channels.get_mut(channel) else {
            return 0;
        };
        // History reads backwards: oldest first from here.
        messages.reverse();
        if query == PollQuery::Baseline {
            for message in &messages {
                if let Some(id) = &message.id {
                    slot.recent.insert(id);
                }
                slot.machine.record_message_time(message.timestamp);
            }
            slot.poll.empty_at_baseline = messages.is_empty();
            return 0;
        }
        let cursor = slot.machine.last_message_ms();
        let mut delivered = Vec::new();
        for message in messages {
            let fresh = match message.id.as_deref() {
                Some(id) if !id.is_empty() => slot.recent.insert(id),
                // Without an id only time can tell: strictly after the cursor.
                _ => message.timestamp.zip(cursor).is_none_or(|(at, c)| at > c),
            };
            if !fresh {
                continue;
            }
            slot.machine.record_message_time(message.timestamp);
            slot.poll.empty_at_baseline = false;
            let inbound = InboundMessage::from_wire(message, false);
            match &mut slot.held {
                Some(held) => held.push(inbound),
                None => delivered.push(inbound),
            }
        }
        let count = delivered.len();
        for message in delivered {
            self.emit(NetEvent::Message {
                shard: self.index,
                channel: channel.to_owned(),
                message,
            })
            .await;
        }
        count
    }

    async fn presence_polled(&mut self, channel: &str, members: Vec<PresenceMessage>) {
        let Some(slot) = self.channels.get_mut(channel) else {
            return;
        };
        let changes = slot.presence.sync_page("rest-presence", members, true);
        for change in changes {
            self.emit(NetEvent::Presence {
                channel: channel.to_owned(),
                change,
            })
            .await;
        }
    }

    /// A publish while polling goes over REST, after those before it.
    pub(super) fn publish_over_rest(
        &mut self,
        channel: String,
        messages: Vec<Message>,
        reply: Reply<PublishAck>,
    ) {
        let publisher = self.rest_publisher.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(publish_in_order(self.rest.clone(), receiver));
            sender
        });
        if let Err(mpsc::error::SendError((_, _, reply))) =
            publisher.send((channel, messages, reply))
        {
            let _ = reply.send(Err(ClientError::Closed));
        }
    }

    /// Publishes queued for a connection, or sent on one that was lost before its ACK,
    /// go over REST with the same ids (the server keeps the first of each id).
    fn publish_waiting_over_rest(&mut self) {
        let waiting: Vec<_> = self
            .in_flight
            .drain(..)
            .map(|(_, pending)| pending)
            .chain(self.queued.drain(..))
            .collect();
        for pending in waiting {
            match pending.reply {
                PendingReply::Publish(reply) => {
                    let channel = pending.frame.channel.clone().unwrap_or_default();
                    let messages = pending.frame.messages.clone().unwrap_or_default();
                    self.publish_over_rest(channel, messages, reply);
                }
                // Presence needs a realtime connection: it waits for one.
                PendingReply::Presence(_) => self.queued.push_back(pending),
            }
        }
    }

    /// Presence cannot be entered over REST: refused at once when no WebSocket will come.
    pub(super) fn presence_refused_while_polling(&self) -> Option<ClientError> {
        (self.is_polling() && self.options.transport == TransportChoice::Poll).then(|| {
            ClientError::Refused(ErrorInfo::new(
                91001,
                400,
                "Unable to change presence while polling: it needs a realtime connection",
            ))
        })
    }
}

async fn run_poll(rest: &RestClient, channel: &str, query: PollQuery) -> PollOutcome {
    let since = match query {
        PollQuery::Presence => return PollOutcome::Presence(rest.presence(channel).await),
        PollQuery::Baseline => {
            let query = HistoryQuery {
                limit: Some(BASELINE_LIMIT),
                ..HistoryQuery::default()
            };
            let page = rest.history(channel, &query).await.map(|page| page.items);
            return PollOutcome::Messages(page);
        }
        PollQuery::Everything => None,
        PollQuery::Since(ms) => Some(ms.saturating_sub(CURSOR_OVERLAP_MS)),
    };
    let query = HistoryQuery {
        limit: Some(1000),
        forwards: false,
        start_ms: since,
        end_ms: None,
        until_serial: None,
    };
    let messages = match rest.history(channel, &query).await {
        Ok(page) => rest.all_pages(page).await,
        Err(error) => Err(error),
    };
    PollOutcome::Messages(messages)
}

async fn publish_in_order(rest: RestClient, mut waiting: mpsc::UnboundedReceiver<RestPublish>) {
    while let Some((channel, messages, reply)) = waiting.recv().await {
        let count = messages.len();
        let outcome = rest
            .publish(&channel, &messages)
            .await
            .map(|receipt| PublishAck {
                serials: if receipt.serials.len() == count {
                    receipt.serials
                } else {
                    vec![None; count]
                },
            })
            .map_err(publish_failure);
        let _ = reply.send(outcome);
    }
}

/// A refusal stays a refusal; a network failure is a connection failure, so the outbox
/// sends it again later with the same id.
fn publish_failure(error: RestError) -> ClientError {
    match error {
        RestError::Ably(info) if info.status_code < 500 => ClientError::Refused(info),
        RestError::Ably(info) => ClientError::Refused(ErrorInfo::new(
            80000,
            info.status_code,
            format!("The service failed the publish: {info}"),
        )),
        RestError::Network(reason) => ClientError::Refused(ErrorInfo::new(
            80003,
            0,
            format!("Unable to publish over REST: {reason}"),
        )),
        other => ClientError::Rest(other.to_string()),
    }
}

/// The pause before an upgrade is tried again, inside one connection attempt.
pub(super) fn upgrade_retry_delay(failures: u32) -> Duration {
    Duration::from_millis(500) * failures.max(1)
}

#[cfg(test)]
mod tests;
