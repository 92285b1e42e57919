//! Fan-out benchmark for the hub: `cargo bench --bench hub_fanout`.
//!
//! A hub runs in this process on loopback, on its own tokio runtime. On a second runtime,
//! 50 subscriber connections attach 200 channels each, so that 1,000 channels have 10
//! subscribers each, and a few publisher connections publish one message per frame,
//! round-robin over the channels.
//!
//! - Phase 1 publishes at a steady 5,000 msg/s (50,000 deliveries/s) for 10 s and reports
//!   deliveries per second, publish-to-deliver latency (nearest-rank percentiles), lost
//!   and duplicate deliveries.
//! - Phase 2 publishes as fast as the hub allows for 5 s: each publisher keeps at most
//!   `ACK_WINDOW` publishes unacknowledged, and all publishers together at most
//!   `DELIVERY_WINDOW` deliveries outstanding, so it measures the rate the hub sustains
//!   rather than how fast its send queues fill. It reports the peak deliveries per second.
//!
//! Each message carries its index and its send time, read from a monotonic clock shared by
//! publishers and subscribers (both in this process). Subscribers read raw text and scan
//! it for those two numbers instead of decoding JSON, to leave the CPU to the hub. Clients
//! set TCP_NODELAY, as ably-js does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly by design

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brokerdash::hub::{self, HubConfig};
use brokerdash::protocol::{Message, ProtocolAction, ProtocolMessage, flags};
use common::{Client, FrameSender, Incoming, PROMPT};
use futures_util::StreamExt;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const CHANNELS: u64 = 1000;
const SUBSCRIBERS: u64 = 50;
const CHANNELS_PER_SUBSCRIBER: u64 = 200;
/// Subscribers `s` with the same `s % GROUPS` attach the same 200 channels.
const GROUPS: u64 = CHANNELS / CHANNELS_PER_SUBSCRIBER;
const SUBSCRIBERS_PER_CHANNEL: u64 = SUBSCRIBERS / GROUPS;
const PUBLISHERS: u64 = 4;
const STEADY_RATE: u64 = 5000;
const STEADY_TIME: Duration = Duration::from_secs(10);
const MAX_TIME: Duration = Duration::from_secs(5);
const ACK_WINDOW: usize = 64;
const DELIVERY_WINDOW: usize = 20_000;
/// How long deliveries may still trickle in after the last ACK.
const DRAIN: Duration = Duration::from_secs(5);
const HUB_THREADS: usize = 2;
const CLIENT_THREADS: usize = 2;

fn main() {
    let hub_runtime = runtime("hub", HUB_THREADS);
    let client_runtime = runtime("clients", CLIENT_THREADS);
    let running = hub_runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        hub::spawn(listener, HubConfig::development()).unwrap()
    });

    print_header();
    client_runtime.block_on(run(running.addr));
    hub_runtime.block_on(running.stop()).unwrap();
}

fn runtime(name: &str, threads: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

fn print_header() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    println!("brokerdash hub fan-out benchmark");
    println!("command: cargo bench --bench hub_fanout");
    println!("machine: nproc = {cpus}, {model}");
    println!(
        "setup:   one process, loopback; hub on a {HUB_THREADS}-thread tokio runtime, \
         all clients on another {CLIENT_THREADS}-thread runtime (they share the {cpus} CPUs)"
    );
    println!(
        "load:    {CHANNELS} channels x {SUBSCRIBERS_PER_CHANNEL} subscribers = {SUBSCRIBERS} \
         connections x {CHANNELS_PER_SUBSCRIBER} channels; {PUBLISHERS} publisher connections; \
         one message (~60 bytes of data) per frame"
    );
}

/// What every client task shares: the clock messages are stamped with and the counters.
struct Shared {
    clock: Instant,
    delivered: AtomicU64,
    /// Released once per delivery; phase 2 publishers take `SUBSCRIBERS_PER_CHANNEL`
    /// permits per publish, bounding the deliveries in flight.
    delivery_window: Semaphore,
}

/// One subscriber's record: which message indices it saw (a bitset) and its latencies.
#[derive(Default)]
struct Tally {
    seen: Vec<u64>,
    distinct: u64,
    duplicates: u64,
    latencies_ns: Vec<u64>,
}

impl Tally {
    fn record(&mut self, index: u64, latency_ns: u64) {
        let (word, bit) = ((index / 64) as usize, 1u64 << (index % 64));
        if word >= self.seen.len() {
            self.seen.resize(word + 1024, 0);
        }
        if self.seen[word] & bit == 0 {
            self.seen[word] |= bit;
            self.distinct += 1;
        } else {
            self.duplicates += 1;
        }
        self.latencies_ns.push(latency_ns);
    }
}

fn channel_name(index: u64) -> String {
    format!("bench:{:04}", index % CHANNELS)
}

async fn run(addr: SocketAddr) {
    let shared = Arc::new(Shared {
        clock: Instant::now(),
        delivered: AtomicU64::new(0),
        delivery_window: Semaphore::new(0),
    });

    let setup = Instant::now();
    let mut tallies = Vec::new();
    for subscriber in 0..SUBSCRIBERS {
        tallies.push(subscribe(addr, subscriber, shared.clone()).await);
    }
    let mut publishers = Vec::new();
    for _ in 0..PUBLISHERS {
        publishers.push(Publisher::connect(addr).await);
    }
    println!(
        "ready:   {} attachments in {:.1} s",
        SUBSCRIBERS * CHANNELS_PER_SUBSCRIBER,
        setup.elapsed().as_secs_f64()
    );

    // Phase 1: steady rate.
    let per_publisher = STEADY_RATE * STEADY_TIME.as_secs() / PUBLISHERS;
    let period = Duration::from_secs(1) / u32::try_from(STEADY_RATE / PUBLISHERS).unwrap();
    let start = tokio::time::Instant::now();
    let sampler = tokio::spawn(sample_rates(shared.clone(), start, STEADY_TIME));
    let mut tasks = Vec::new();
    for (number, publisher) in publishers.into_iter().enumerate() {
        let shared = shared.clone();
        let offset = period / u32::try_from(PUBLISHERS).unwrap() * u32::try_from(number).unwrap();
        tasks.push(tokio::spawn(async move {
            let mut publisher = publisher;
            for sequence in 0..per_publisher {
                tokio::time::sleep_until(start + offset + period * sequence as u32).await;
                let index = sequence * PUBLISHERS + number as u64;
                publisher.publish(index, &shared).await;
            }
            publisher
        }));
    }
    let mut publishers = Vec::new();
    for task in tasks {
        publishers.push(task.await.unwrap());
    }
    let published = per_publisher * PUBLISHERS;
    let phase = finish_phase(&publishers, &tallies, published, start.into_std()).await;
    let rates = sampler.await.unwrap();
    println!();
    println!(
        "phase 1: steady {STEADY_RATE} msg/s for {} s",
        STEADY_TIME.as_secs()
    );
    phase.print(&rates);

    // Phase 2: as fast as the windows allow.
    shared
        .delivery_window
        .forget_permits(shared.delivery_window.available_permits());
    shared.delivery_window.add_permits(DELIVERY_WINDOW);
    let first_index = published;
    let start = tokio::time::Instant::now();
    let deadline = start + MAX_TIME;
    let mut tasks = Vec::new();
    for (number, publisher) in publishers.into_iter().enumerate() {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut publisher = publisher;
            let mut sequence = 0;
            while tokio::time::Instant::now() < deadline {
                publisher.window.acquire().await.unwrap().forget();
                let permits = u32::try_from(SUBSCRIBERS_PER_CHANNEL).unwrap();
                shared
                    .delivery_window
                    .acquire_many(permits)
                    .await
                    .unwrap()
                    .forget();
                let index = first_index + sequence * PUBLISHERS + number as u64;
                publisher.publish(index, &shared).await;
                sequence += 1;
            }
            (publisher, sequence)
        }));
    }
    let sampler = tokio::spawn(sample_rates(shared.clone(), start, MAX_TIME));
    let mut publishers = Vec::new();
    let mut published = 0;
    for task in tasks {
        let (publisher, sequence) = task.await.unwrap();
        publishers.push(publisher);
        published += sequence;
    }
    let phase = finish_phase(&publishers, &tallies, published, start.into_std()).await;
    let rates = sampler.await.unwrap();
    println!();
    println!(
        "phase 2: maximum rate for {} s (at most {ACK_WINDOW} unacknowledged publishes per \
         publisher, {DELIVERY_WINDOW} deliveries outstanding)",
        MAX_TIME.as_secs()
    );
    phase.print(&rates);
}

/// Deliveries in each whole second from `start`, for `duration`.
async fn sample_rates(
    shared: Arc<Shared>,
    start: tokio::time::Instant,
    duration: Duration,
) -> Vec<u64> {
    let second = Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(start + second, second);
    let mut last = shared.delivered.load(Ordering::Relaxed);
    let mut rates = Vec::new();
    for _ in 0..duration.as_secs() {
        tick.tick().await;
        let now = shared.delivered.load(Ordering::Relaxed);
        rates.push(now - last);
        last = now;
    }
    rates
}

/// Connects a subscriber, attaches its 200 channels and starts its reader.
async fn subscribe(addr: SocketAddr, subscriber: u64, shared: Arc<Shared>) -> Arc<Mutex<Tally>> {
    let mut client = Client::connect(addr, &[]).await;
    let group = subscriber % GROUPS;
    for offset in 0..CHANNELS_PER_SUBSCRIBER {
        let mut attach = ProtocolMessage::new(ProtocolAction::Attach)
            .with_channel(channel_name(group * CHANNELS_PER_SUBSCRIBER + offset));
        attach.flags = Some(flags::SUBSCRIBE);
        client.tx.send(&attach).await;
    }
    let mut attached = 0;
    while attached < CHANNELS_PER_SUBSCRIBER {
        let frame = client.rx.next_frame(PROMPT).await;
        assert_ne!(frame.action, ProtocolAction::Error, "{:?}", frame.error);
        if frame.action == ProtocolAction::Attached {
            attached += 1;
        }
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut stream = client.rx.into_stream();
    let record = tally.clone();
    let sender = client.tx;
    tokio::spawn(async move {
        let _keep_open = sender;
        while let Some(Ok(message)) = stream.next().await {
            let WsMessage::Text(text) = message else {
                continue;
            };
            let received_ns = shared.clock.elapsed().as_nanos() as u64;
            let mut count = 0;
            let mut tally = record.lock().unwrap();
            for (index, sent_ns) in stamps(text.as_str()) {
                tally.record(index, received_ns.saturating_sub(sent_ns));
                count += 1;
            }
            drop(tally);
            shared.delivered.fetch_add(count, Ordering::Relaxed);
            shared.delivery_window.add_permits(count as usize);
        }
    });
    tally
}

/// The `(index, sent_ns)` pairs in a MESSAGE frame's data strings ("index sent_ns").
fn stamps(frame: &str) -> impl Iterator<Item = (u64, u64)> + '_ {
    let is_message = frame.starts_with(r#"{"action":15,"#);
    frame
        .split(r#""data":""#)
        .skip(1)
        .filter(move |_| is_message)
        .filter_map(|rest| {
            let data = &rest[..rest.find('"')?];
            let (index, sent) = data.split_once(' ')?;
            Some((index.parse().ok()?, sent.parse().ok()?))
        })
}

struct Publisher {
    tx: FrameSender,
    acked: Arc<AtomicU64>,
    nacked: Arc<AtomicU64>,
    window: Arc<Semaphore>,
}

impl Publisher {
    async fn connect(addr: SocketAddr) -> Self {
        let client = Client::connect(addr, &[("echo", "false")]).await;
        let acked = Arc::new(AtomicU64::new(0));
        let nacked = Arc::new(AtomicU64::new(0));
        let window = Arc::new(Semaphore::new(ACK_WINDOW));
        let mut rx = client.rx;
        let (acks, nacks, released) = (acked.clone(), nacked.clone(), window.clone());
        tokio::spawn(async move {
            while let Some(Incoming::Frame(frame)) = rx.next(Duration::from_secs(3600)).await {
                let count = frame.count.unwrap_or(1);
                match frame.action {
                    ProtocolAction::Ack => acks.fetch_add(count, Ordering::Relaxed),
                    ProtocolAction::Nack => nacks.fetch_add(count, Ordering::Relaxed),
                    _ => continue,
                };
                released.add_permits(count as usize);
            }
        });
        Self {
            tx: client.tx,
            acked,
            nacked,
            window,
        }
    }

    async fn publish(&mut self, index: u64, shared: &Shared) {
        let sent_ns = shared.clock.elapsed().as_nanos();
        let message = Message {
            name: Some("bench".to_owned()),
            data: Some(serde_json::Value::String(format!("{index} {sent_ns}"))),
            ..Message::default()
        };
        self.tx.publish(&channel_name(index), vec![message]).await;
    }

    fn answered(&self) -> u64 {
        self.acked.load(Ordering::Relaxed) + self.nacked.load(Ordering::Relaxed)
    }
}

struct PhaseReport {
    published: u64,
    acked: u64,
    nacked: u64,
    /// Deliveries of a message a subscriber had not seen before.
    distinct: u64,
    expected: u64,
    duplicates: u64,
    seconds: f64,
    latencies_ns: Vec<u64>,
}

/// Waits for every ACK and every delivery (or `DRAIN` without progress), then collects
/// this phase's figures and resets the per-phase records.
async fn finish_phase(
    publishers: &[Publisher],
    tallies: &[Arc<Mutex<Tally>>],
    published: u64,
    start: Instant,
) -> PhaseReport {
    let sent: u64 = publishers.iter().map(|p| p.tx.next_msg_serial as u64).sum();
    let expected = published * SUBSCRIBERS_PER_CHANNEL;
    let mut last_seen = 0;
    let mut last_progress = Instant::now();
    loop {
        let answered: u64 = publishers.iter().map(Publisher::answered).sum();
        let delivered: u64 = tallies
            .iter()
            .map(|tally| tally.lock().unwrap().latencies_ns.len() as u64)
            .sum();
        if answered + delivered != last_seen {
            last_seen = answered + delivered;
            last_progress = Instant::now();
        }
        if (answered >= sent && delivered >= expected) || last_progress.elapsed() > DRAIN {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut report = PhaseReport {
        published,
        acked: publishers
            .iter()
            .map(|p| p.acked.swap(0, Ordering::Relaxed))
            .sum(),
        nacked: publishers
            .iter()
            .map(|p| p.nacked.swap(0, Ordering::Relaxed))
            .sum(),
        distinct: 0,
        expected,
        duplicates: 0,
        seconds: last_progress.duration_since(start).as_secs_f64(),
        latencies_ns: Vec::new(),
    };
    for tally in tallies {
        let mut tally = tally.lock().unwrap();
        report.latencies_ns.append(&mut tally.latencies_ns);
        report.duplicates += std::mem::take(&mut tally.duplicates);
        report.distinct += std::mem::take(&mut tally.distinct);
    }
    report.latencies_ns.sort_unstable();
    report
}

impl PhaseReport {
    fn print(&self, per_second: &[u64]) {
        let deliveries = self.distinct + self.duplicates;
        println!(
            "  published {}, acknowledged {}, refused {}",
            self.published, self.acked, self.nacked
        );
        println!(
            "  deliveries {} of {} expected in {:.2} s: {:.0} deliveries/s ({:.0} msg/s in)",
            deliveries,
            self.expected,
            self.seconds,
            deliveries as f64 / self.seconds,
            self.published as f64 / self.seconds
        );
        println!(
            "  deliveries/s in each second: {} (peak {})",
            per_second
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            per_second.iter().copied().max().unwrap_or(0)
        );
        println!(
            "  lost {}, duplicates {}",
            self.expected.saturating_sub(self.distinct),
            self.duplicates
        );
        let rank = |percent: f64| -> f64 {
            if self.latencies_ns.is_empty() {
                return f64::NAN;
            }
            let n = self.latencies_ns.len();
            let rank = ((percent / 100.0) * n as f64).ceil().max(1.0) as usize;
            self.latencies_ns[rank.min(n) - 1] as f64 / 1e6
        };
        println!(
            "  publish->deliver latency (ms, nearest rank): p50 {:.3}, p95 {:.3}, p99 {:.3}, max {:.3}",
            rank(50.0),
            rank(95.0),
            rank(99.0),
            rank(100.0)
        );
    }
}
