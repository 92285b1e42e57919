//! A simulated customer: follows their plan (come online, type, ask, go away, come back,
//! maybe leave for good) and reads the replies on their conversation like a person would,
//! a moment after they arrive, or when they come back if they were away.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::protocol::events::{Actor, ConversationEvent};
use crate::realtime::NetEvent;

use super::connection::ActorConnection;
use super::plan::{Plan, Step, Timed};
use super::script::Customer;
use super::{Pace, channel_of, derive_seed, now_ms};

/// How long a customer takes to notice and read a reply (nominal).
const READ_DELAY_MS: std::ops::RangeInclusive<u64> = 1_000..=4_000;

pub(crate) struct CustomerActor {
    connection: ActorConnection,
    channel: String,
    id: u32,
    name: String,
    plan: Plan,
    /// Separate from the plan's RNG: replies arrive when other actors decide, and that
    /// must not shift the customer's own schedule.
    read_rng: StdRng,
    pace: Pace,
    online: bool,
    sent: u32,
    /// Replies to read, with when.
    reads_due: Vec<(Instant, String)>,
    /// Replies that arrived while away, read on return.
    unread: Vec<String>,
}

impl CustomerActor {
    pub fn new(
        customer: &Customer,
        connection: ActorConnection,
        plan: Plan,
        seed: u64,
        pace: Pace,
    ) -> Self {
        Self {
            connection,
            channel: channel_of(customer.id),
            id: customer.id,
            name: customer.name.clone(),
            plan,
            read_rng: StdRng::seed_from_u64(derive_seed(
                seed,
                0x2000_0000 + u64::from(customer.id),
            )),
            pace,
            online: false,
            sent: 0,
            reads_due: Vec::new(),
            unread: Vec::new(),
        }
    }

    /// Runs until `shutdown` or until the customer leaves for good; closes the client.
    pub async fn run(mut self, start: Instant, shutdown: CancellationToken) {
        // Steps are timed from the previous step's due time, not from when it ran, so the
        // schedule does not drift with the load.
        let mut next: Option<(Instant, Step)> = self
            .plan
            .next()
            .map(|Timed { after, step }| (start + self.pace.of(after), step));
        loop {
            let step_due = next.as_ref().map(|(due, _)| *due);
            let read_due = self.reads_due.iter().map(|(due, _)| *due).min();
            tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.connection.next_event() => match event {
                    Some(event) => self.on_event(event),
                    None => break,
                },
                () = sleep_until(step_due.unwrap_or_else(Instant::now)), if step_due.is_some() => {
                    let Some((due, step)) = next.take() else { continue };
                    if step == Step::Gone {
                        break;
                    }
                    self.perform(step, &shutdown);
                    next = self
                        .plan
                        .next()
                        .map(|Timed { after, step }| (due + self.pace.of(after), step));
                }
                () = sleep_until(read_due.unwrap_or_else(Instant::now)), if read_due.is_some() => {
                    self.read_due_replies(&shutdown);
                }
            }
        }
        self.connection.close().await;
    }

    fn perform(&mut self, step: Step, shutdown: &CancellationToken) {
        let channel = self.channel.clone();
        match step {
            Step::Enter => {
                self.online = true;
                let enter = self
                    .connection
                    .publisher
                    .client
                    .enter(&channel, Some(json!({"name": self.name})));
                self.connection
                    .publisher
                    .presence(enter, &channel, "enter", shutdown);
                // Back at the screen: whatever arrived meanwhile gets read.
                for message_id in std::mem::take(&mut self.unread) {
                    self.schedule_read(message_id);
                }
            }
            Step::Leave => {
                self.online = false;
                let leave = self.connection.publisher.client.leave(&channel);
                self.connection
                    .publisher
                    .presence(leave, &channel, "leave", shutdown);
            }
            Step::StartTyping | Step::StopTyping => {
                let event = ConversationEvent::Typing {
                    started: step == Step::StartTyping,
                    actor: Actor::Customer,
                    broker_id: None,
                };
                self.connection
                    .publisher
                    .publish(&channel, &event, shutdown);
            }
            Step::Send(content) => {
                self.sent += 1;
                let stop = ConversationEvent::Typing {
                    started: false,
                    actor: Actor::Customer,
                    broker_id: None,
                };
                self.connection.publisher.publish(&channel, &stop, shutdown);
                let message = ConversationEvent::UserMessage {
                    message_id: format!("c{}-m{}", self.id, self.sent),
                    content,
                };
                self.connection
                    .publisher
                    .publish(&channel, &message, shutdown);
            }
            // Handled by the loop: it ends the actor.
            Step::Gone => {}
        }
    }

    fn on_event(&mut self, event: NetEvent) {
        let NetEvent::Message {
            channel, message, ..
        } = event
        else {
            return;
        };
        if channel != self.channel {
            return;
        }
        let parsed = ConversationEvent::parse(message.name.as_deref(), message.payload);
        let message_id = match parsed.event {
            ConversationEvent::AiMessage { message_id, .. }
            | ConversationEvent::BrokerMessage { message_id, .. } => message_id,
            _ => return,
        };
        if self.online {
            self.schedule_read(message_id);
        } else {
            self.unread.push(message_id);
        }
    }

    fn schedule_read(&mut self, message_id: String) {
        let delay = Duration::from_millis(self.read_rng.random_range(READ_DELAY_MS));
        self.reads_due
            .push((Instant::now() + self.pace.of(delay), message_id));
    }

    fn read_due_replies(&mut self, shutdown: &CancellationToken) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads_due)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.reads_due = later;
        for (_, message_id) in due {
            if !self.online {
                // Went away before getting to it.
                self.unread.push(message_id);
                continue;
            }
            let read = ConversationEvent::Read {
                message_id,
                read_at: Some(now_ms()),
                actor: Actor::Customer,
                broker_id: None,
            };
            self.connection
                .publisher
                .publish(&self.channel, &read, shutdown);
        }
    }
}
