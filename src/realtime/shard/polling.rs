//! The polling transport: the channels' messages from REST history and their presence from
//! REST presence, on the plan's intervals, while WebSocket is not used (`--transport poll`,
//! or `auto` after three upgrade failures in a row). Publishing goes over REST meanwhile
//! (`rest_publish`).
//!
//! Exactly once and in order: each channel's cursor is the newest message time seen
//! (the channel machine's, shared with the gap fill). A poll reads back to a little before
//! it, oldest first, and delivers only ids not yet seen. A channel without a cursor starts
//! from when it was attached, on the service's clock (`GET /time` once per spell, then the
//! client's monotonic clock), so what is published between the attach and its first poll is
//! delivered too, whatever the client's own clock says. When WebSocket is back, the
//! channel's next ATTACHED fills the gap from the same cursor, so nothing between the last
//! poll and the attachment is lost, and nothing polled is delivered again.

use std::time::Duration;

use tracing::{debug, info};

use crate::protocol::{ErrorInfo, Message, PresenceMessage};
use crate::realtime::poll_plan::{PollKind, PollPlan};
use crate::realtime::transport::{Transport, TransportChoice};
use crate::realtime::types::{ClientError, InboundMessage, NetEvent};
use crate::rest::{HistoryQuery, RestClient, RestError};

use super::timers::Timer;
use super::{Internal, Shard};

/// How far before the cursor a poll reads: timestamps of messages published at nearly the
/// same moment need not follow their order, and ids make the overlap harmless.
const CURSOR_OVERLAP_MS: i64 = 2_000;
/// How far past the service's clock a message time may move a channel's cursor.
const MAX_CLOCK_AHEAD_MS: i64 = 60_000;
/// Upgrade failures in a row before `auto` polls.
pub(super) const UPGRADE_FAILURES_BEFORE_POLLING: u32 = 3;

pub(super) struct Polling {
    pub plan: PollPlan,
    /// Results of an earlier polling spell are dropped (the gap fill covers them).
    pub spell: u64,
    /// The service's clock minus this client's, once measured.
    pub clock_offset_ms: Option<i64>,
}

/// What a channel's poll was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PollQuery {
    /// No cursor yet: from the attachment, `attached_ms_ago` on this client's monotonic
    /// clock, placed on the service's clock with the offset (measured first when unknown).
    FromAttach {
        attached_ms_ago: i64,
        clock_offset_ms: Option<i64>,
    },
    /// From the cursor (the service's clock).
    Since(i64),
    Presence,
}

pub(super) enum PollOutcome {
    Messages {
        result: Result<Vec<Message>, RestError>,
        /// Where the read started, on the service's clock: the cursor when nothing came.
        started_ms: Option<i64>,
        /// The clock offset, when this poll measured it.
        clock_offset_ms: Option<i64>,
    },
    Presence(Result<Vec<PresenceMessage>, RestError>),
}

/// Per channel, what polling knows beyond the channel machine.
#[derive(Debug)]
pub(super) struct PollSlot {
    /// When the application asked for the channel: a first poll starts there.
    pub attached_at: std::time::Instant,
    /// A poll answered in this spell (the channel counts as attached).
    pub answered: bool,
}

impl PollSlot {
    pub fn new() -> Self {
        Self {
            attached_at: std::time::Instant::now(),
            answered: false,
        }
    }
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
            slot.poll.answered = false;
        }
        self.polling = Some(Polling {
            plan,
            spell: self.poll_spell,
            clock_offset_ms: None,
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
            let Some(query) = self.poll_query(&channel, kind, now) else {
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

    fn poll_query(
        &self,
        channel: &str,
        kind: PollKind,
        now: std::time::Instant,
    ) -> Option<PollQuery> {
        let slot = self.channels.get(channel)?;
        if !slot.machine.wants_delivery() {
            return None;
        }
        Some(match kind {
            PollKind::Presence => PollQuery::Presence,
            PollKind::Messages => match slot.machine.last_message_ms() {
                Some(ms) => PollQuery::Since(ms),
                None => PollQuery::FromAttach {
                    attached_ms_ago: i64::try_from(
                        now.duration_since(slot.poll.attached_at).as_millis(),
                    )
                    .unwrap_or(i64::MAX),
                    clock_offset_ms: self.polling.as_ref().and_then(|p| p.clock_offset_ms),
                },
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
            PollOutcome::Messages {
                result: Ok(messages),
                started_ms,
                clock_offset_ms,
            } => {
                if clock_offset_ms.is_some() {
                    polling.clock_offset_ms = polling.clock_offset_ms.or(clock_offset_ms);
                }
                Ok(self.take_polled(channel, started_ms, messages).await)
            }
            PollOutcome::Presence(Ok(members)) => {
                self.presence_polled(channel, members).await;
                Ok(0)
            }
            PollOutcome::Messages {
                result: Err(error), ..
            }
            | PollOutcome::Presence(Err(error)) => Err(error),
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

    /// Delivers the messages not seen yet, oldest first; returns how many. A first read
    /// that brought nothing leaves its start as the cursor.
    async fn take_polled(
        &mut self,
        channel: &str,
        started_ms: Option<i64>,
        mut messages: Vec<Message>,
    ) -> usize {
        let offset = self.polling.as_ref().and_then(|p| p.clock_offset_ms);
        let Some(slot) = self.channels.get_mut(channel) else {
            return 0;
        };
        // A time far ahead of the service's clock would stop the channel's later reads: it
        // is delivered, but the cursor does not follow it.
        let latest_plausible = crate::clock::now_ms()
            .saturating_add(offset.unwrap_or(0))
            .saturating_add(MAX_CLOCK_AHEAD_MS);
        // History reads backwards: oldest first from here.
        messages.reverse();
        let cursor = slot.machine.last_message_ms();
        if cursor.is_none() {
            slot.machine.record_message_time(started_ms);
        }
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
            slot.machine
                .record_message_time(message.timestamp.filter(|at| *at <= latest_plausible));
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
    let (since, measured) = match query {
        PollQuery::Presence => return PollOutcome::Presence(rest.presence(channel).await),
        PollQuery::Since(ms) => (ms, None),
        PollQuery::FromAttach {
            attached_ms_ago,
            clock_offset_ms,
        } => {
            let (offset, measured) = match clock_offset_ms {
                Some(offset) => (offset, None),
                None => match rest.time().await {
                    Ok(service_now) => {
                        let offset = service_now.saturating_sub(crate::clock::now_ms());
                        (offset, Some(offset))
                    }
                    Err(error) => {
                        return PollOutcome::Messages {
                            result: Err(error),
                            started_ms: None,
                            clock_offset_ms: None,
                        };
                    }
                },
            };
            let attached = crate::clock::now_ms()
                .saturating_add(offset)
                .saturating_sub(attached_ms_ago);
            (attached, measured)
        }
    };
    let start_ms = since.saturating_sub(CURSOR_OVERLAP_MS);
    let history = HistoryQuery {
        limit: Some(1000),
        forwards: false,
        start_ms: Some(start_ms),
        end_ms: None,
        until_serial: None,
    };
    let result = match rest.history(channel, &history).await {
        Ok(page) => rest.all_pages(page).await,
        Err(error) => Err(error),
    };
    PollOutcome::Messages {
        result,
        started_ms: Some(start_ms),
        clock_offset_ms: measured,
    }
}

/// The pause before an upgrade is tried again, inside one connection attempt.
pub(super) fn upgrade_retry_delay(failures: u32) -> Duration {
    Duration::from_millis(500) * failures.max(1)
}

#[cfg(test)]
mod tests;
