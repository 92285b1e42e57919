//! `bench subscribe`: attach `conversation:0` … `conversation:{N-1}` over as many
//! connections as the channel limit needs, decode every `message:user` as the dashboard
//! does (parse the event, clean the text), and report one JSON line.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use crate::auth::ApiKey;
use crate::protocol::data::Payload;
use crate::protocol::events::ConversationEvent;
use crate::realtime::{
    AttachOptions, ChannelState, ClientOptions, NetEvent, Realtime, Transport, TransportChoice,
};
use crate::rest::AuthConfig;
use crate::sanitize::clean_block_owned;

use super::measure::{SequenceSet, cpu_time, monotonic_ns, round3};
use super::report::Counts;
use super::{END_EVENT, channel_name};

#[derive(Debug, Clone)]
pub struct SubscribePlan {
    pub port: u16,
    pub key: ApiKey,
    pub channels: usize,
    pub timeout: Duration,
    pub transport: TransportChoice,
}

#[derive(Default)]
struct Tally {
    received: u64,
    duplicates: u64,
    reordered: u64,
    seen: SequenceSet,
    last_on_channel: HashMap<String, u64>,
    latencies_ms: Vec<f64>,
    first_rx: Option<Instant>,
    last_rx: Option<Instant>,
    expected: u64,
    /// Channels whose `bench:end` arrived: the load is over when every attached one has.
    ended_channels: HashSet<String>,
    /// Messages whose `sentNs` was missing or unreadable: no latency sample for them.
    unstamped: u64,
    errors: Errors,
}

/// The first few errors in words, and how many there were: a flood of malformed messages
/// must not grow the report without bound.
#[derive(Default)]
struct Errors {
    first: Vec<String>,
    count: u64,
}

const ERRORS_KEPT: usize = 20;

impl Errors {
    fn push(&mut self, error: String) {
        self.count += 1;
        if self.first.len() < ERRORS_KEPT {
            self.first.push(error);
        }
    }

    fn report(&self) -> Vec<String> {
        let mut errors = self.first.clone();
        let more = self.count.saturating_sub(self.first.len() as u64);
        if more > 0 {
            errors.push(format!("… and {more} more errors"));
        }
        errors
    }
}

/// The send time a load source stamped on a message: a decimal string of nanoseconds on
/// the shared monotonic clock, or (older sources) a JSON number.
fn sent_ns(payload: &Payload) -> Option<u64> {
    match payload_field(payload, "sentNs")? {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

impl Tally {
    fn message(&mut self, channel: &str, payload: Payload) {
        let now_ns = monotonic_ns();
        let sent = sent_ns(&payload);
        let event = ConversationEvent::parse(Some("message:user"), payload);
        let ConversationEvent::UserMessage {
            message_id,
            content,
        } = event.event
        else {
            self.errors
                .push(format!("malformed message:user on {channel}"));
            return;
        };
        // What the dashboard does with every customer message at intake.
        std::hint::black_box(clean_block_owned(content));
        let Some(sequence) = message_id
            .strip_prefix("msg-")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            self.errors
                .push(format!("unexpected messageId {message_id:?}"));
            return;
        };
        let now = Instant::now();
        self.first_rx.get_or_insert(now);
        self.last_rx = Some(now);
        if !self.seen.insert(sequence) {
            self.duplicates += 1;
            return;
        }
        self.received += 1;
        match self.last_on_channel.get_mut(channel) {
            Some(previous) => {
                if sequence < *previous {
                    self.reordered += 1;
                }
                *previous = sequence;
            }
            None => {
                self.last_on_channel.insert(channel.to_owned(), sequence);
            }
        }
        match sent {
            Some(sent) => self
                .latencies_ms
                .push(now_ns.saturating_sub(sent) as f64 / 1e6),
            None => self.unstamped += 1,
        }
    }
}

fn payload_field<'a>(payload: &'a Payload, field: &str) -> Option<&'a Value> {
    match payload {
        Payload::Json(value) => value.get(field),
        _ => None,
    }
}

/// Where the run is: connected, attached, measuring.
struct Progress {
    started: Instant,
    connect_ms: Option<Duration>,
    attach_ms: Option<Duration>,
    attached: HashSet<String>,
    /// Channels attached or failed.
    settled: usize,
    attach_started: Option<Instant>,
    /// When every channel had settled: the measured phase starts.
    phase_start: Option<Instant>,
    cpu_phase_start: Duration,
    /// REST requests sent before the measured phase (the polling transport's first reads).
    rest_at_phase: Option<u64>,
}

enum Step {
    Continue,
    Failed,
    Completed,
}

impl Progress {
    fn new(started: Instant, cpu_start: Duration) -> Self {
        Self {
            started,
            connect_ms: None,
            attach_ms: None,
            attached: HashSet::new(),
            settled: 0,
            attach_started: None,
            phase_start: None,
            cpu_phase_start: cpu_start,
            rest_at_phase: None,
        }
    }

    fn on_event(
        &mut self,
        event: NetEvent,
        plan: &SubscribePlan,
        client: &Realtime,
        tally: &mut Tally,
    ) -> Step {
        let ready = matches!(
            event,
            NetEvent::Connection {
                state: crate::realtime::ConnectionState::Connected,
                ..
            } | NetEvent::Transport {
                transport: Transport::Polling { .. },
                ..
            }
        );
        match event {
            _ if ready && self.connect_ms.is_none() => {
                self.connect_ms = Some(self.started.elapsed());
                self.attach_started = Some(Instant::now());
                for index in 0..plan.channels {
                    client.attach(&channel_name(index), AttachOptions::default());
                }
            }
            NetEvent::Connection {
                state: crate::realtime::ConnectionState::Failed,
                reason,
                ..
            } => {
                tally.errors.push(format!(
                    "connection failed: {}",
                    reason.map(|r| r.to_string()).unwrap_or_default()
                ));
                return Step::Failed;
            }
            NetEvent::Channel {
                channel,
                state,
                reason,
                ..
            } => {
                self.channel_settled(channel, state, reason, plan, tally);
                if self.phase_start.is_some() {
                    self.rest_at_phase
                        .get_or_insert_with(|| client.rest_requests());
                }
            }
            NetEvent::Message {
                channel, message, ..
            } => match message.name.as_deref() {
                Some("message:user") => tally.message(&channel, message.payload),
                Some(END_EVENT) => {
                    if let Some(total) =
                        payload_field(&message.payload, "total").and_then(Value::as_u64)
                    {
                        tally.expected = tally.expected.max(total);
                    }
                    tally.ended_channels.insert(channel);
                    if self.phase_start.is_some()
                        && tally.ended_channels.len() >= self.attached.len()
                    {
                        return Step::Completed;
                    }
                }
                _ => {}
            },
            NetEvent::ContinuityLost { channel, reason } => tally
                .errors
                .push(format!("{channel}: continuity lost ({reason})")),
            _ => {}
        }
        Step::Continue
    }

    fn channel_settled(
        &mut self,
        channel: String,
        state: ChannelState,
        reason: Option<crate::protocol::ErrorInfo>,
        plan: &SubscribePlan,
        tally: &mut Tally,
    ) {
        match state {
            ChannelState::Attached if self.attached.insert(channel.clone()) => self.settled += 1,
            ChannelState::Failed => {
                self.settled += 1;
                tally.errors.push(format!(
                    "{channel} failed: {}",
                    reason.map(|r| r.to_string()).unwrap_or_default()
                ));
            }
            _ => {}
        }
        if self.settled == plan.channels && self.phase_start.is_none() {
            // Stdout is the one JSON line; a load source may start once this is said.
            eprintln!("bench subscribe: {} channels settled", self.settled);
            self.attach_ms = self.attach_started.map(|at| at.elapsed());
            self.phase_start = Some(Instant::now());
            self.cpu_phase_start = cpu_time();
        }
    }
}

/// Runs the measurement; returns the JSON line and whether it completed in time.
pub async fn run(plan: &SubscribePlan) -> (Value, bool) {
    let started = Instant::now();
    let cpu_start = cpu_time();
    let mut tally = Tally::default();
    let deadline = started + plan.timeout;
    let endpoint = match Url::parse(&format!("http://127.0.0.1:{}", plan.port)) {
        Ok(url) => url,
        Err(error) => {
            return (
                json!({"client": "brokerdash", "errors": [error.to_string()]}),
                false,
            );
        }
    };
    let (client, mut events) = Realtime::connect(client_options(plan, endpoint));

    let mut progress = Progress::new(started, cpu_start);
    let mut completed = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => {
                tally.errors.push("client stopped".into());
                break;
            }
            Err(_) => {
                tally
                    .errors
                    .push(format!("timed out after {} s", plan.timeout.as_secs()));
                break;
            }
        };
        match progress.on_event(event, plan, &client, &mut tally) {
            Step::Continue => {}
            Step::Failed => break,
            Step::Completed => {
                completed = true;
                break;
            }
        }
    }
    let Progress {
        connect_ms,
        attach_ms,
        attached,
        phase_start,
        cpu_phase_start,
        rest_at_phase,
        ..
    } = progress;
    let phase = phase_start.map(|at| at.elapsed()).unwrap_or_default();
    let cpu_phase = cpu_time().saturating_sub(cpu_phase_start);
    let connections = client.connection_count();
    let rest_requests = client.rest_requests() - rest_at_phase.unwrap_or(0);
    client.close().await;
    let mut result = report(
        &tally,
        plan,
        attached.len(),
        connections,
        connect_ms,
        attach_ms,
        phase,
        cpu_phase,
        cpu_time(),
    );
    if plan.transport == TransportChoice::Poll {
        add_rest_figures(&mut result, rest_requests, phase);
    }
    (result, completed)
}

fn client_options(plan: &SubscribePlan, endpoint: Url) -> ClientOptions {
    let auth = AuthConfig::Key {
        key: plan.key.clone(),
        use_tokens: false,
        token_ttl_ms: None,
    };
    let mut options = ClientOptions::new(endpoint, auth);
    options.transport = plan.transport;
    options
}

/// What the polling transport asked of the service during the measured phase.
fn add_rest_figures(result: &mut Value, rest_requests: u64, phase: Duration) {
    let seconds = phase.as_secs_f64();
    result["transport"] = json!("poll");
    result["rest_requests"] = json!(rest_requests);
    result["rest_per_sec"] = json!((seconds > 0.0).then(|| round3(rest_requests as f64 / seconds)));
}

#[allow(clippy::too_many_arguments)]
fn report(
    tally: &Tally,
    plan: &SubscribePlan,
    attached: usize,
    connections: usize,
    connect: Option<Duration>,
    attach: Option<Duration>,
    phase: Duration,
    cpu_phase: Duration,
    cpu_total: Duration,
) -> Value {
    Counts {
        client: "brokerdash",
        channels: plan.channels,
        attached,
        connections,
        connect,
        attach,
        expected: tally.expected,
        received: tally.received,
        duplicates: tally.duplicates,
        reordered: Some(tally.reordered),
        latencies_ms: tally.latencies_ms.clone(),
        unstamped: tally.unstamped,
        first_rx: tally.first_rx.map(Instant::into_std),
        last_rx: tally.last_rx.map(Instant::into_std),
        phase,
        cpu_phase,
        cpu_total,
        errors: tally.errors.report(),
    }
    .into_json()
}
