//! The hub's shared state: channels by name, resumable connections by id, the token
//! authority and the fault switches. Locks are std mutexes held for short, non-async
//! sections only. A channel lock is never held while the registry lock is taken; the
//! sweeper takes a channel lock under the registry lock only for a channel nobody else
//! holds (`Arc::strong_count == 1`), so every channel `Arc` comes from the registry and is
//! kept no longer than a request: one stored elsewhere would keep its channel for ever.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::{ErrorInfo, Message, PresenceAction, PresenceMessage};

use super::channel::{Channel, Published};
use super::clock::{now_ms, random_id};
use super::config::HubConfig;
use super::identity::{Authority, Identity};
use super::outlet::Outlet;

pub(crate) use crate::protocol::names::LIFECYCLE_CHANNEL;

/// Locks a std mutex, carrying on after a panic elsewhere: every critical section here
/// leaves its data consistent before anything can panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) type SharedChannel = Arc<Mutex<Channel>>;

pub(crate) struct Faults {
    pub drop_all: watch::Sender<u64>,
    pub stalled_until: Mutex<Option<Instant>>,
    /// Until then WebSocket upgrades are answered with HTTP 403, as a proxy that refuses
    /// them would (`POST /_hub/faults/refuse-websocket?ms=N`).
    pub websocket_refused_until: Mutex<Option<Instant>>,
    /// Armed by `POST /_hub/faults/panic`: the next frame a session reads makes its task
    /// panic, so the teardown of a session that fails unexpectedly can be tested.
    pub panic_armed: AtomicBool,
}

impl Faults {
    pub fn stall_deadline(&self) -> Option<Instant> {
        lock(&self.stalled_until).filter(|until| *until > Instant::now())
    }

    pub fn websocket_refused(&self) -> bool {
        lock(&self.websocket_refused_until).is_some_and(|until| until > Instant::now())
    }

    /// True once per arming.
    pub fn take_panic(&self) -> bool {
        self.panic_armed.swap(false, Ordering::AcqRel)
    }
}

/// The result of one processed MESSAGE or PRESENCE frame, kept to answer a re-sent frame
/// (same msgSerial after a resume) without doing it twice.
pub(crate) type AckResult = Result<Vec<Option<String>>, ErrorInfo>;

pub(crate) struct ConnectionState {
    pub identity: Identity,
    /// Bumped by every transport that takes the connection over.
    pub generation: u64,
    pub live: bool,
    /// Attached channels and their granted modes.
    pub attached: BTreeMap<String, u64>,
    pub next_msg_serial: i64,
    pub recent_acks: VecDeque<(i64, AckResult)>,
    pub presence_channels: HashSet<String>,
    pub presence_grace: Duration,
}

pub(crate) struct Connection {
    pub id: Arc<str>,
    pub key: String,
    pub state: Mutex<ConnectionState>,
    /// The generation of the transport that holds the connection now: a transport whose
    /// connection is resumed elsewhere sees it change and ends, as on Ably, so that it
    /// never acts for a connection that is no longer its own.
    pub current_transport: watch::Sender<u64>,
}

impl Connection {
    pub fn state(&self) -> MutexGuard<'_, ConnectionState> {
        lock(&self.state)
    }
}

pub(crate) struct HubState {
    pub config: HubConfig,
    pub authority: Authority,
    epoch: String,
    channels: Mutex<HashMap<String, SharedChannel>>,
    connections: Mutex<HashMap<Arc<str>, Arc<Connection>>>,
    connection_count: AtomicU64,
    pub faults: Faults,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

impl HubState {
    pub fn new(config: HubConfig) -> Self {
        let authority = Authority::new(&config);
        Self {
            config,
            authority,
            epoch: random_id(6),
            channels: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            connection_count: AtomicU64::new(0),
            faults: Faults {
                drop_all: watch::channel(0).0,
                stalled_until: Mutex::new(None),
                websocket_refused_until: Mutex::new(None),
                panic_armed: AtomicBool::new(false),
            },
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub fn channel(&self, name: &str) -> SharedChannel {
        let mut channels = lock(&self.channels);
        if let Some(channel) = channels.get(name) {
            return channel.clone();
        }
        let epoch = format!("{}{}", self.epoch, random_id(4));
        let channel = Arc::new(Mutex::new(Channel::new(name.to_owned(), epoch)));
        channels.insert(name.to_owned(), channel.clone());
        channel
    }

    pub fn existing_channel(&self, name: &str) -> Option<SharedChannel> {
        lock(&self.channels).get(name).cloned()
    }

    pub fn all_channels(&self) -> Vec<SharedChannel> {
        lock(&self.channels).values().cloned().collect()
    }

    /// Publishes a batch on a channel (history, fan-out, ids) and opens the channel's
    /// lifecycle if it was idle.
    pub fn publish(
        &self,
        channel_name: &str,
        messages: Vec<Message>,
        publisher: Option<&Arc<str>>,
        frame_id: &str,
    ) -> Published {
        let channel = self.channel(channel_name);
        let (published, opened) = {
            let mut channel = lock(&channel);
            let published = channel.publish(
                messages,
                publisher,
                frame_id,
                now_ms(),
                self.config.history_per_channel,
                self.config.idempotency_window,
            );
            let opened = self.activate(&mut channel);
            (published, opened)
        };
        if let Some(details) = opened {
            self.announce("channel.opened", details);
        }
        published
    }

    /// Marks a channel active; returns its details when it just became active, so the
    /// caller announces it once its lock is released.
    pub fn activate(&self, channel: &mut Channel) -> Option<Value> {
        if channel.active || channel.name.starts_with('[') {
            return None;
        }
        channel.active = true;
        Some(channel.details())
    }

    /// Publishes a lifecycle event on the metachannel.
    pub fn announce(&self, event: &str, details: Value) {
        let message = Message {
            name: Some(event.to_owned()),
            data: Some(Value::String(details.to_string())),
            encoding: Some("json".to_owned()),
            ..Message::default()
        };
        let frame_id = format!("lifecycle-{}", random_id(8));
        self.publish(LIFECYCLE_CHANNEL, vec![message], None, &frame_id);
    }

    /// Closes channels that nobody is attached to and nobody published on lately.
    pub fn sweep_idle_channels(&self) {
        let idle_after = self.config.channel_idle_close;
        for channel in self.all_channels() {
            let closed = {
                let mut channel = lock(&channel);
                let quiet = channel
                    .last_publish
                    .is_none_or(|at| at.elapsed() >= idle_after);
                if channel.active
                    && channel.subscribers.is_empty()
                    && channel.presence.is_empty()
                    && quiet
                {
                    channel.active = false;
                    Some(channel.details())
                } else {
                    None
                }
            };
            if let Some(details) = closed {
                self.announce("channel.closed", details);
            }
            let mut channel = lock(&channel);
            let holds_nothing = !channel.active
                && channel.subscribers.is_empty()
                && channel.presence.is_empty()
                && channel.history().next().is_none();
            channel.empty_since =
                holds_nothing.then(|| channel.empty_since.unwrap_or_else(Instant::now));
        }
        self.forget_empty_channels();
    }

    /// Forgets channels that have held nothing (no subscriber, no presence member, no
    /// history) for the connection state TTL, so that attaching to a stream of fresh names
    /// cannot grow the hub for ever, while a client that comes back within the TTL still
    /// resumes on the same channel. Only a channel that nobody else holds is forgotten:
    /// every holder got it from this map, under this lock.
    fn forget_empty_channels(&self) {
        let ttl = self.config.connection_state_ttl;
        lock(&self.channels).retain(|_, channel| {
            if Arc::strong_count(channel) > 1 {
                return true;
            }
            let channel = lock(channel);
            let empty_long_enough = channel
                .empty_since
                .is_some_and(|since| since.elapsed() >= ttl);
            !empty_long_enough
                || channel.active
                || !channel.subscribers.is_empty()
                || !channel.presence.is_empty()
                || channel.history().next().is_some()
        });
    }

    /// Active ordinary channels whose name starts with `prefix`, sorted.
    pub fn active_channel_names(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_channels()
            .iter()
            .filter_map(|channel| {
                let channel = lock(channel);
                (channel.active
                    && !channel.name.starts_with('[')
                    && channel.name.starts_with(prefix))
                .then(|| channel.name.clone())
            })
            .collect();
        names.sort();
        names
    }

    /// A brand-new connection record.
    pub fn new_connection(&self, identity: Identity, presence_grace: Duration) -> Arc<Connection> {
        let number = self.connection_count.fetch_add(1, Ordering::Relaxed) + 1;
        let id: Arc<str> = Arc::from(format!("{}{}-{}", self.epoch, number, random_id(4)));
        let connection = Arc::new(Connection {
            id: id.clone(),
            key: format!("{}!{}", random_id(12), id),
            state: Mutex::new(ConnectionState {
                identity,
                generation: 0,
                live: false,
                attached: BTreeMap::new(),
                next_msg_serial: 0,
                recent_acks: VecDeque::new(),
                presence_channels: HashSet::new(),
                presence_grace,
            }),
            current_transport: watch::channel(0).0,
        });
        lock(&self.connections).insert(id, connection.clone());
        connection
    }

    /// The connection a `resume`/`recover` key names, if its state is still held.
    pub fn resumable(&self, connection_key: &str) -> Option<Arc<Connection>> {
        let (_, id) = connection_key.split_once('!')?;
        let connection = lock(&self.connections).get(id).cloned()?;
        (connection.key == connection_key).then_some(connection)
    }

    pub fn forget_connection(&self, id: &str) {
        lock(&self.connections).remove(id);
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.connections).len()
    }

    pub fn connection_counts(&self) -> super::ConnectionCounts {
        let connections = lock(&self.connections);
        super::ConnectionCounts {
            held: connections.len(),
            live: connections
                .values()
                .filter(|connection| connection.state().live)
                .count(),
        }
    }

    /// Removes a connection's presence members from every channel it entered, relaying
    /// a LEAVE for each (ordered by timestamp: the id does not start with the connection).
    pub fn leave_all(&self, connection: &Connection) {
        let channels: Vec<String> = connection.state().presence_channels.drain().collect();
        for name in channels {
            self.leave_channel(&name, &connection.id);
        }
    }

    /// Ends a transport's subscription to a channel; a newer transport of the same
    /// connection (after a resume) keeps its own.
    pub fn unsubscribe(&self, channel_name: &str, connection_id: &str, outlet: &Outlet) {
        if let Some(channel) = self.existing_channel(channel_name) {
            let mut channel = lock(&channel);
            if channel
                .subscribers
                .get(connection_id)
                .is_some_and(|subscription| subscription.outlet.same(outlet))
            {
                channel.subscribers.remove(connection_id);
            }
        }
    }

    pub fn leave_channel(&self, channel_name: &str, connection_id: &str) {
        let Some(channel) = self.existing_channel(channel_name) else {
            return;
        };
        let mut channel = lock(&channel);
        for member in channel.members_of(connection_id) {
            let mut leave = PresenceMessage::new(PresenceAction::Leave);
            leave.client_id = member.client_id;
            leave.connection_id = member.connection_id;
            leave.timestamp = Some(now_ms());
            channel.apply_presence(leave);
        }
    }
}
