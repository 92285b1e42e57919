//! The simulated AI broker: one client on every conversation. It answers some customer
//! messages (not all: the rest wait for a human, as the product's AI escalates) after a
//! queue delay and a thinking delay, typing meanwhile, in the customer's persona.
//!
//! It honours `ai:pause` / `ai:resume` per conversation, as the web app's worker should:
//! while paused it neither types nor answers there, a pause cancels the answers being
//! prepared there (saying it stopped typing), and after a resume the next customer
//! message is answered again.
//!
//! The decisions are the pure [`Answering`] (what to publish, what to wait for); the
//! [`AiWorker`] feeds it what arrives and what it waited for, and does the I/O.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::protocol::events::{Actor, ConversationEvent};
use crate::realtime::NetEvent;

use super::connection::ActorConnection;
use super::pause::{PauseGate, Ticket};
use super::script::Persona;
use super::{Pace, answers, derive_seed, stable_hash};

pub(crate) const CLIENT_ID: &str = "ai-worker";

/// Share of customer messages the AI answers.
const ANSWER_CHANCE: f64 = 0.65;
/// Nominal time a message waits in the AI's queue before work starts.
const QUEUE_MS: std::ops::RangeInclusive<u64> = 600..=2_500;

pub(crate) struct AiWorker {
    connection: ActorConnection,
    answering: Answering,
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
            answering: Answering::new(personas, seed, pace),
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        // Answers wait concurrently (conversations do not wait for each other); each wait
        // is a task in this set, aborted on shutdown.
        let mut waiting: JoinSet<Box<Job>> = JoinSet::new();
        loop {
            let actions = tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.connection.next_event() => match event {
                    Some(NetEvent::Message { channel, message, .. }) => {
                        let name = message.name.as_deref();
                        let parsed = ConversationEvent::parse(name, message.payload);
                        self.answering.on_event(&channel, parsed.event)
                    }
                    Some(_) => continue,
                    None => break,
                },
                Some(done) = waiting.join_next(), if !waiting.is_empty() => match done {
                    Ok(job) => self.answering.ready(job),
                    Err(_) => continue,
                },
            };
            for action in actions {
                match action {
                    Action::Publish { channel, event } => {
                        self.connection
                            .publisher
                            .publish(&channel, &event, &shutdown);
                    }
                    Action::Wait { delay, job } => {
                        waiting.spawn(async move {
                            sleep(delay).await;
                            job
                        });
                    }
                }
            }
        }
        waiting.abort_all();
        self.connection.close().await;
    }
}

/// What the worker does next.
#[derive(Debug)]
pub(crate) enum Action {
    Publish {
        channel: String,
        event: ConversationEvent,
    },
    /// Wait `delay`, then hand `job` back to [`Answering::ready`] (boxed: its RNG is large).
    Wait { delay: Duration, job: Box<Job> },
}

/// One customer message being answered, and everything the answer depends on.
#[derive(Debug)]
pub(crate) struct Job {
    channel: String,
    question_id: String,
    question: String,
    persona: Persona,
    received: Instant,
    rng: StdRng,
    ticket: Ticket,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// In the AI's queue; typing starts when the wait ends.
    Queued,
    /// Being written, typing shown; the answer goes out when the wait ends.
    Thinking {
        content: String,
        queued: Duration,
        working: Instant,
    },
}

/// The worker's decisions, without I/O: which messages get answers, when, and whether
/// a pause has cancelled them.
pub(crate) struct Answering {
    /// Channel → persona of the customer there (the web app's customer profile).
    personas: HashMap<String, Persona>,
    seed: u64,
    pace: Pace,
    answer_chance: f64,
    pauses: PauseGate,
}

impl Answering {
    pub fn new(personas: HashMap<String, Persona>, seed: u64, pace: Pace) -> Self {
        Self {
            personas,
            seed,
            pace,
            answer_chance: ANSWER_CHANCE,
            pauses: PauseGate::default(),
        }
    }

    /// An event on `channel`: a customer message may start an answer; a pause or resume
    /// changes what may go out there.
    pub fn on_event(&mut self, channel: &str, event: ConversationEvent) -> Vec<Action> {
        let Some(&persona) = self.personas.get(channel) else {
            return Vec::new();
        };
        match event {
            ConversationEvent::UserMessage {
                message_id,
                content,
            } => self.admit(channel, persona, message_id, content),
            ConversationEvent::AiPause { paused: true, .. } => {
                if self.pauses.pause(channel) {
                    vec![typing(channel, false)]
                } else {
                    Vec::new()
                }
            }
            ConversationEvent::AiPause { paused: false, .. } => {
                self.pauses.resume(channel);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn admit(
        &mut self,
        channel: &str,
        persona: Persona,
        message_id: String,
        question: String,
    ) -> Vec<Action> {
        // Seeded by the message id, so whether and how a message is answered does not
        // depend on the order messages from different conversations arrive in.
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, stable_hash(&message_id)));
        if !rng.random_bool(self.answer_chance) {
            return Vec::new();
        }
        let Some(ticket) = self.pauses.admit(channel) else {
            return Vec::new();
        };
        let queue = Duration::from_millis(rng.random_range(QUEUE_MS));
        let job = Job {
            channel: channel.to_owned(),
            question_id: message_id,
            question,
            persona,
            received: Instant::now(),
            rng,
            ticket,
            stage: Stage::Queued,
        };
        vec![Action::Wait {
            delay: self.pace.of(queue),
            job: Box::new(job),
        }]
    }

    /// A wait ended: the job's next step, unless a pause cancelled it meanwhile.
    pub fn ready(&mut self, mut job: Box<Job>) -> Vec<Action> {
        if !self.pauses.current(&job.channel, job.ticket) {
            return Vec::new();
        }
        match job.stage {
            Stage::Queued => {
                self.pauses.typing_started(&job.channel);
                let content = answers::answer(&job.question, job.persona, &mut job.rng);
                // Longer answers take longer to generate: 1.5–4.5 s nominal.
                let chars = u64::try_from(content.chars().count()).unwrap_or(u64::MAX);
                let thinking =
                    chars.saturating_mul(12).clamp(1_500, 4_500) + job.rng.random_range(0..=500);
                let start = typing(&job.channel, true);
                job.stage = Stage::Thinking {
                    content,
                    queued: job.received.elapsed(),
                    working: Instant::now(),
                };
                let delay = self.pace.of(Duration::from_millis(thinking));
                vec![start, Action::Wait { delay, job }]
            }
            Stage::Thinking {
                content,
                queued,
                working,
            } => {
                self.pauses.typing_stopped(&job.channel);
                let reply = ConversationEvent::AiMessage {
                    message_id: format!("ai-{}", job.question_id),
                    content,
                    persona: Some(job.persona.as_str().to_owned()),
                    queue_duration_ms: Some(millis(queued)),
                    ai_duration_ms: Some(millis(working.elapsed())),
                };
                vec![
                    typing(&job.channel, false),
                    Action::Publish {
                        channel: job.channel,
                        event: reply,
                    },
                ]
            }
        }
    }
}

fn typing(channel: &str, started: bool) -> Action {
    Action::Publish {
        channel: channel.to_owned(),
        event: ConversationEvent::Typing {
            started,
            actor: Actor::Ai,
            broker_id: None,
        },
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: &str = "conversation:1";
    const C2: &str = "conversation:2";

    /// A worker that answers every message, so each test is about the pause alone.
    fn answering() -> Answering {
        let personas = [(C1, Persona::Friendly), (C2, Persona::Concise)]
            .into_iter()
            .map(|(channel, persona)| (channel.to_owned(), persona))
            .collect();
        let mut answering = Answering::new(personas, 7, Pace::new(1.0));
        answering.answer_chance = 1.0;
        answering
    }

    fn question(id: &str) -> ConversationEvent {
        ConversationEvent::UserMessage {
            message_id: id.to_owned(),
            content: "What rate could I get on a fixed deal?".to_owned(),
        }
    }

    fn pause(paused: bool) -> ConversationEvent {
        ConversationEvent::AiPause {
            paused,
            broker_id: "8".to_owned(),
            reason: None,
        }
    }

    /// Splits actions into what was published (channel, wire name) and the jobs waiting.
    fn split(actions: Vec<Action>) -> (Vec<(String, String)>, Vec<Job>) {
        let mut published = Vec::new();
        let mut waiting = Vec::new();
        for action in actions {
            match action {
                Action::Publish { channel, event } => published.push((channel, event.to_wire().0)),
                Action::Wait { job, .. } => waiting.push(*job),
            }
        }
        (published, waiting)
    }

    /// Ends every wait, in order, until nothing waits; everything published meanwhile.
    fn settle(answering: &mut Answering, mut waiting: Vec<Job>) -> Vec<(String, String)> {
        let mut published = Vec::new();
        while !waiting.is_empty() {
            let job = waiting.remove(0);
            let (out, more) = split(answering.ready(Box::new(job)));
            published.extend(out);
            waiting.extend(more);
        }
        published
    }

    fn names(published: &[(String, String)], channel: &str) -> Vec<String> {
        published
            .iter()
            .filter(|(on, _)| on == channel)
            .map(|(_, name)| name.clone())
            .collect()
    }

    #[test]
    fn an_answer_types_then_replies() {
        let mut answering = answering();
        let (published, waiting) = split(answering.on_event(C1, question("m1")));
        assert!(published.is_empty());
        let published = settle(&mut answering, waiting);
        assert_eq!(
            names(&published, C1),
            ["typing:start", "typing:stop", "message:ai"]
        );
    }

    #[test]
    fn while_paused_there_is_no_answer_on_that_conversation_only() {
        let mut answering = answering();
        assert!(answering.on_event(C1, pause(true)).is_empty());
        let (published, waiting) = split(answering.on_event(C1, question("m1")));
        assert!(published.is_empty() && waiting.is_empty());
        let (_, waiting) = split(answering.on_event(C2, question("m2")));
        let published = settle(&mut answering, waiting);
        assert!(names(&published, C1).is_empty());
        assert_eq!(
            names(&published, C2).last().map(String::as_str),
            Some("message:ai")
        );
    }

    #[test]
    fn after_a_resume_the_next_message_is_answered() {
        let mut answering = answering();
        answering.on_event(C1, pause(true));
        assert!(answering.on_event(C1, question("m1")).is_empty());
        assert!(answering.on_event(C1, pause(false)).is_empty());
        let (_, waiting) = split(answering.on_event(C1, question("m2")));
        let published = settle(&mut answering, waiting);
        assert_eq!(
            names(&published, C1),
            ["typing:start", "typing:stop", "message:ai"]
        );
    }

    #[test]
    fn a_pause_while_the_ai_thinks_cancels_the_answer_and_stops_the_typing() {
        let mut answering = answering();
        let (_, queued) = split(answering.on_event(C1, question("m1")));
        let (published, thinking) =
            split(answering.ready(Box::new(queued.into_iter().next().unwrap())));
        assert_eq!(names(&published, C1), ["typing:start"]);
        let (published, _) = split(answering.on_event(C1, pause(true)));
        assert_eq!(names(&published, C1), ["typing:stop"]);
        // Resumed before the thinking ends: the cancelled answer stays cancelled.
        answering.on_event(C1, pause(false));
        assert!(settle(&mut answering, thinking).is_empty());
    }

    #[test]
    fn a_pause_while_queued_cancels_before_any_typing() {
        let mut answering = answering();
        let (_, queued) = split(answering.on_event(C1, question("m1")));
        assert!(answering.on_event(C1, pause(true)).is_empty());
        assert!(settle(&mut answering, queued).is_empty());
    }

    #[test]
    fn events_on_channels_without_a_simulated_customer_are_ignored() {
        let mut answering = answering();
        assert!(
            answering
                .on_event("conversation:99", question("m1"))
                .is_empty()
        );
        assert!(
            answering
                .on_event("conversation:99", pause(true))
                .is_empty()
        );
    }
}
