//! A second human broker, Alex Morgan, so the dashboard's "also viewing" has someone to
//! show: visits a conversation now and then (presence with `viewing: true`), sometimes
//! replies there (which also ends that conversation's SLA wait), and leaves again.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::protocol::events::{Actor, ConversationEvent};

use super::connection::ActorConnection;
use super::{Pace, derive_seed};

pub(crate) const BROKER_ID: &str = "sim2";
pub(crate) const CLIENT_ID: &str = "broker-sim2";
const NAME: &str = "Alex Morgan";

const FIRST_VISIT_MS: RangeInclusive<u64> = 1_500..=3_000;
const BETWEEN_VISITS_MS: RangeInclusive<u64> = 5_000..=20_000;
const VISIT_MS: RangeInclusive<u64> = 8_000..=25_000;
const REPLY_CHANCE: f64 = 0.5;

const REPLIES: &[&str] = &[
    "Hi, I'm Alex, one of the brokers here. I've read through the chat and I'll take it from \
     here.",
    "Hello! Alex from the broker team. Could you confirm roughly when you're hoping to \
     complete?",
    "Thanks for your patience. I've checked a few lenders for you; I'll send a summary here \
     within the hour.",
    "Hi there, Alex here. Happy to go through your options on a quick call if that's easier.",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Visit {
    Arrive(String),
    StartTyping(String),
    Reply(String, &'static str),
    Depart(String),
}

/// Alex's visits as timed steps (nominal delays), generated from his own seeded RNG.
struct Plan {
    rng: StdRng,
    channels: Vec<String>,
    upcoming: VecDeque<(Duration, Visit)>,
    visits: u32,
}

impl Plan {
    fn new(channels: Vec<String>, seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(derive_seed(seed, 0x3000_0000)),
            channels,
            upcoming: VecDeque::new(),
            visits: 0,
        }
    }

    fn ms(&mut self, range: RangeInclusive<u64>) -> Duration {
        Duration::from_millis(self.rng.random_range(range))
    }

    fn plan_visit(&mut self) -> Option<()> {
        let channel = self.channels.choose(&mut self.rng)?.clone();
        let gap = if self.visits == 0 {
            self.ms(FIRST_VISIT_MS)
        } else {
            self.ms(BETWEEN_VISITS_MS)
        };
        self.visits += 1;
        let mut stay = self.ms(VISIT_MS);
        self.upcoming
            .push_back((gap, Visit::Arrive(channel.clone())));
        if self.rng.random_bool(REPLY_CHANCE) {
            let read = self.ms(2_000..=5_000);
            let typing = self.ms(2_000..=5_000);
            let text = REPLIES.choose(&mut self.rng).copied()?;
            stay = stay.saturating_sub(read + typing);
            self.upcoming
                .push_back((read, Visit::StartTyping(channel.clone())));
            self.upcoming
                .push_back((typing, Visit::Reply(channel.clone(), text)));
        }
        self.upcoming.push_back((stay, Visit::Depart(channel)));
        Some(())
    }
}

impl Iterator for Plan {
    type Item = (Duration, Visit);

    fn next(&mut self) -> Option<Self::Item> {
        if self.upcoming.is_empty() {
            self.plan_visit()?;
        }
        self.upcoming.pop_front()
    }
}

pub(crate) struct BrokerActor {
    connection: ActorConnection,
    plan: Plan,
    pace: Pace,
    replies: u32,
}

impl BrokerActor {
    pub fn new(connection: ActorConnection, channels: Vec<String>, seed: u64, pace: Pace) -> Self {
        Self {
            connection,
            plan: Plan::new(channels, seed),
            pace,
            replies: 0,
        }
    }

    pub async fn run(mut self, start: Instant, shutdown: CancellationToken) {
        let mut next = self
            .plan
            .next()
            .map(|(after, visit)| (start + self.pace.of(after), visit));
        loop {
            let due = next.as_ref().map(|(due, _)| *due);
            tokio::select! {
                () = shutdown.cancelled() => break,
                // Nothing Alex hears changes what he does, but the events must be read.
                event = self.connection.next_event() => if event.is_none() { break },
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    let Some((due, visit)) = next.take() else { continue };
                    self.perform(visit, &shutdown);
                    next = self
                        .plan
                        .next()
                        .map(|(after, visit)| (due + self.pace.of(after), visit));
                }
            }
        }
        self.connection.close().await;
    }

    fn perform(&mut self, visit: Visit, shutdown: &CancellationToken) {
        let publisher = &self.connection.publisher;
        match visit {
            Visit::Arrive(channel) => {
                // Attached first, so the client re-enters after a reconnect.
                publisher
                    .client
                    .attach(&channel, crate::realtime::AttachOptions::default());
                let enter = publisher
                    .client
                    .enter(&channel, Some(json!({"name": NAME, "viewing": true})));
                publisher.presence(enter, &channel, "enter", shutdown);
            }
            Visit::StartTyping(channel) => {
                publisher.publish(&channel, &typing(true), shutdown);
            }
            Visit::Reply(channel, text) => {
                self.replies += 1;
                publisher.publish(&channel, &typing(false), shutdown);
                let reply = ConversationEvent::BrokerMessage {
                    message_id: format!("{BROKER_ID}-r{}", self.replies),
                    content: text.to_owned(),
                    broker_id: BROKER_ID.to_owned(),
                    broker_name: Some(NAME.to_owned()),
                };
                publisher.publish(&channel, &reply, shutdown);
            }
            Visit::Depart(channel) => {
                let leave = publisher.client.leave(&channel);
                publisher.presence(leave, &channel, "leave", shutdown);
                publisher.client.detach(&channel);
            }
        }
    }
}

fn typing(started: bool) -> ConversationEvent {
    ConversationEvent::Typing {
        started,
        actor: Actor::Broker,
        broker_id: Some(BROKER_ID.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visits(seed: u64) -> Vec<(Duration, Visit)> {
        let channels = (1..=12).map(super::super::channel_of).collect();
        Plan::new(channels, seed).take(30).collect()
    }

    #[test]
    fn visits_repeat_for_a_seed_and_always_end_with_a_departure() {
        assert_eq!(visits(7), visits(7));
        assert_ne!(visits(7), visits(8));
        let steps = visits(7);
        assert!(matches!(steps[0].1, Visit::Arrive(_)));
        assert!(steps[0].0 <= Duration::from_secs(3));
        let mut here: Option<&String> = None;
        for (_, visit) in &steps {
            match visit {
                Visit::Arrive(channel) => {
                    assert!(here.is_none());
                    here = Some(channel);
                }
                Visit::StartTyping(channel) | Visit::Reply(channel, _) => {
                    assert_eq!(here, Some(channel));
                }
                Visit::Depart(channel) => {
                    assert_eq!(here.take(), Some(channel));
                }
            }
        }
    }
}
