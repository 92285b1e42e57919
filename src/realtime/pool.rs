//! The client's connections: channels are spread over as many connections ("shards") as
//! the per-connection channel limit requires, transparently to the application. A shard
//! that meets the limit (error 90010) reports it; the pool decides where the channel goes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::mpsc;

use crate::rest::RestClient;

use super::channel::AttachOptions;
use super::shard::{Shard, ShardReport, ShardRequest};
use super::types::{ClientOptions, NetEvent};

struct ShardEntry {
    requests: mpsc::UnboundedSender<ShardRequest>,
    channels: usize,
    /// Ably's limit, lowered if the server says this connection holds fewer.
    limit: usize,
}

struct PoolInner {
    shards: Vec<ShardEntry>,
    /// Channel → shard index, with the options it was attached with.
    placement: HashMap<String, (usize, AttachOptions)>,
}

/// The client's shards, shared by every handle to the client.
pub(crate) struct ShardPool {
    options: Arc<ClientOptions>,
    rest: RestClient,
    events: mpsc::Sender<NetEvent>,
    reports: mpsc::UnboundedSender<ShardReport>,
    inner: Mutex<PoolInner>,
}

impl ShardPool {
    /// The pool, and a task that acts on what its shards report (it ends with the pool).
    pub fn new(
        options: Arc<ClientOptions>,
        rest: RestClient,
        events: mpsc::Sender<NetEvent>,
    ) -> Arc<Self> {
        let (reports, mut received) = mpsc::unbounded_channel();
        let pool = Arc::new(Self {
            options,
            rest,
            events,
            reports,
            inner: Mutex::new(PoolInner {
                shards: Vec::new(),
                placement: HashMap::new(),
            }),
        });
        let weak: Weak<Self> = Arc::downgrade(&pool);
        tokio::spawn(async move {
            while let Some(report) = received.recv().await {
                let Some(pool) = weak.upgrade() else { break };
                pool.on_report(report);
            }
        });
        pool
    }

    fn on_report(&self, report: ShardReport) {
        match report {
            ShardReport::ChannelLimit {
                shard,
                channel,
                holding,
                entered,
            } => self.relocate(shard, &channel, holding, entered),
        }
    }

    fn inner(&self) -> MutexGuard<'_, PoolInner> {
        // Every update below leaves the maps consistent before anything can panic.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a new connection; returns its index.
    fn spawn_shard(&self, inner: &mut PoolInner) -> usize {
        let index = inner.shards.len();
        let (requests, receiver) = mpsc::unbounded_channel();
        let shard = Shard::new(
            index,
            self.options.clone(),
            self.rest.clone(),
            self.events.clone(),
            self.reports.clone(),
        );
        tokio::spawn(shard.run(receiver));
        inner.shards.push(ShardEntry {
            requests,
            channels: 0,
            limit: self.options.channels_per_connection.max(1),
        });
        index
    }

    pub fn ensure_connected(&self) {
        let mut inner = self.inner();
        if inner.shards.is_empty() {
            self.spawn_shard(&mut inner);
        }
    }

    fn place(
        &self,
        inner: &mut PoolInner,
        channel: &str,
        options: AttachOptions,
        avoid: Option<usize>,
        entered: Option<super::shard::EnteredAs>,
    ) {
        let index = inner
            .shards
            .iter()
            .enumerate()
            .find(|(index, shard)| Some(*index) != avoid && shard.channels < shard.limit)
            .map(|(index, _)| index);
        let index = match index {
            Some(index) => index,
            None => self.spawn_shard(inner),
        };
        inner.shards[index].channels += 1;
        inner
            .placement
            .insert(channel.to_owned(), (index, options.clone()));
        let _ = inner.shards[index].requests.send(ShardRequest::Attach {
            channel: channel.to_owned(),
            options,
            entered,
        });
    }

    pub fn attach(&self, channel: &str, options: AttachOptions) {
        let mut inner = self.inner();
        if let Some((index, _)) = inner.placement.get(channel) {
            let index = *index;
            let _ = inner.shards[index].requests.send(ShardRequest::Attach {
                channel: channel.to_owned(),
                options,
                entered: None,
            });
            return;
        }
        self.place(&mut inner, channel, options, None, None);
    }

    pub fn detach(&self, channel: &str) {
        let mut inner = self.inner();
        if let Some((index, _)) = inner.placement.remove(channel) {
            inner.shards[index].channels = inner.shards[index].channels.saturating_sub(1);
            let _ = inner.shards[index].requests.send(ShardRequest::Detach {
                channel: channel.to_owned(),
            });
        }
    }

    /// The server refused `channel` on shard `from` for its channel limit, with `holding`
    /// channels still there: remember the real limit and attach the channel elsewhere.
    fn relocate(
        &self,
        from: usize,
        channel: &str,
        holding: usize,
        entered: Option<super::shard::EnteredAs>,
    ) {
        let mut inner = self.inner();
        if let Some(shard) = inner.shards.get_mut(from) {
            shard.limit = holding.max(1);
            shard.channels = holding;
        }
        // Detached by the application meanwhile: nothing to move.
        let Some((_, options)) = inner.placement.remove(channel) else {
            return;
        };
        self.place(&mut inner, channel, options, Some(from), entered);
    }

    /// Where a request about `channel` goes: its shard, or the first one.
    pub fn route(&self, channel: &str, request: ShardRequest) -> bool {
        let mut inner = self.inner();
        if inner.shards.is_empty() {
            self.spawn_shard(&mut inner);
        }
        let index = inner.placement.get(channel).map_or(0, |(index, _)| *index);
        inner.shards[index].requests.send(request).is_ok()
    }

    pub fn broadcast(&self, mut make: impl FnMut() -> ShardRequest) -> usize {
        let inner = self.inner();
        inner
            .shards
            .iter()
            .filter(|shard| shard.requests.send(make()).is_ok())
            .count()
    }

    /// An event from the pool itself (not from a connection), for the application.
    pub fn report(&self, event: NetEvent) {
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(event).await;
        });
    }

    pub fn shard_count(&self) -> usize {
        self.inner().shards.len()
    }

    pub fn rest(&self) -> &RestClient {
        &self.rest
    }
}
