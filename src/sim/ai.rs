//! The simulated AI broker: one client on every conversation. It answers some customer
//! messages (not all: the rest wait for a human, as the product's AI escalates) after a
//! queue delay and a thinking delay, typing meanwhile, in the customer's persona.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::protocol::events::{Actor, ConversationEvent};
use crate::realtime::NetEvent;

use super::connection::{ActorConnection, Publisher};
use super::script::Persona;
use super::{Pace, answers, derive_seed, stable_hash};

pub(crate) const CLIENT_ID: &str = "ai-worker";

/// Share of customer messages the AI answers.
const ANSWER_CHANCE: f64 = 0.65;
/// Nominal time a message waits in the AI's queue before work starts.
const QUEUE_MS: std::ops::RangeInclusive<u64> = 600..=2_500;

pub(crate) struct AiWorker {
    connection: ActorConnection,
    /// Channel → persona of the customer there (the web app's customer profile).
    personas: HashMap<String, Persona>,
    seed: u64,
    pace: Pace,
}

/// One customer message to answer, and everything the answer depends on.
struct Job {
    channel: String,
    question_id: String,
    question: String,
    persona: Persona,
    received: Instant,
    rng: StdRng,
}

impl AiWorker {
    pub fn new(
        connection: ActorConnection,
        personas: HashMap<String, Persona>,
        seed: u64,
        pace: Pace,
    ) -> Self {
        Self {
            connection,
            personas,
            seed,
            pace,
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        // Answers run concurrently (conversations do not wait for each other); each is a
        // task in this set, aborted on shutdown.
        let mut answering = JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.connection.next_event() => match event {
                    Some(event) => {
                        if let Some(job) = self.job_for(event) {
                            let publisher = self.connection.publisher.clone();
                            answering.spawn(answer(job, publisher, self.pace, shutdown.clone()));
                        }
                    }
                    None => break,
                },
                Some(_) = answering.join_next(), if !answering.is_empty() => {}
            }
        }
        answering.abort_all();
        self.connection.close().await;
    }

    fn job_for(&self, event: NetEvent) -> Option<Job> {
        let NetEvent::Message {
            channel, message, ..
        } = event
        else {
            return None;
        };
        let persona = *self.personas.get(&channel)?;
        let parsed = ConversationEvent::parse(message.name.as_deref(), message.payload);
        let ConversationEvent::UserMessage {
            message_id,
            content,
        } = parsed.event
        else {
            return None;
        };
        // Seeded by the message id, so whether and how a message is answered does not
        // depend on the order messages from different conversations arrive in.
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, stable_hash(&message_id)));
        if !rng.random_bool(ANSWER_CHANCE) {
            return None;
        }
        Some(Job {
            channel,
            question_id: message_id,
            question: content,
            persona,
            received: Instant::now(),
            rng,
        })
    }
}

async fn answer(mut job: Job, publisher: Publisher, pace: Pace, shutdown: CancellationToken) {
    let queue = Duration::from_millis(job.rng.random_range(QUEUE_MS));
    sleep(pace.of(queue)).await;
    let queued = job.received.elapsed();
    let typing = |started| ConversationEvent::Typing {
        started,
        actor: Actor::Ai,
        broker_id: None,
    };
    publisher.publish(&job.channel, &typing(true), &shutdown);
    let working = Instant::now();
    let content = answers::answer(&job.question, job.persona, &mut job.rng);
    // Longer answers take longer to generate: 1.5–4.5 s nominal.
    let chars = u64::try_from(content.chars().count()).unwrap_or(u64::MAX);
    let thinking = chars.saturating_mul(12).clamp(1_500, 4_500) + job.rng.random_range(0..=500);
    sleep(pace.of(Duration::from_millis(thinking))).await;
    publisher.publish(&job.channel, &typing(false), &shutdown);
    let reply = ConversationEvent::AiMessage {
        message_id: format!("ai-{}", job.question_id),
        content,
        persona: Some(job.persona.as_str().to_owned()),
        queue_duration_ms: Some(millis(queued)),
        ai_duration_ms: Some(millis(working.elapsed())),
    };
    publisher.publish(&job.channel, &reply, &shutdown);
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
