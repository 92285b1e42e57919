//! The client's connections: channels are spread over as many connections ("shards") as
//! the per-connection channel limit requires, transparently to the application. A shard
//! that meets the limit (error 90010) hands the channel back here to go elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::mpsc;

use crate::rest::RestClient;

use super::channel::AttachOptions;
use super::shard::{Shard, ShardCommand};
use super::types::{ClientOptions, NetEvent};

struct ShardEntry {
    commands: mpsc::UnboundedSender<ShardCommand>,
    channels: usize,
    /// Ably's limit, lowered if the server says this connection holds fewer.
    limit: usize,
}

struct PoolInner {
    shards: Vec<ShardEntry>,
    /// Channel → shard index, with the options it was attached with.
    placement: HashMap<String, (usize, AttachOptions)>,
}

pub(crate) struct PoolShared {
    options: Arc<ClientOptions>,
    rest: RestClient,
    events: mpsc::Sender<NetEvent>,
    inner: Mutex<PoolInner>,
    myself: Weak<PoolShared>,
}

impl PoolShared {
    pub fn new(
        options: Arc<ClientOptions>,
        rest: RestClient,
        events: mpsc::Sender<NetEvent>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|myself| Self {
            options,
            rest,
            events,
            inner: Mutex::new(PoolInner {
                shards: Vec::new(),
                placement: HashMap::new(),
            }),
            myself: myself.clone(),
        })
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
        let (commands, receiver) = mpsc::unbounded_channel();
        let shard = Shard::new(
            index,
            self.options.clone(),
            self.rest.clone(),
            self.events.clone(),
            self.myself.clone(),
        );
        tokio::spawn(shard.run(receiver));
        inner.shards.push(ShardEntry {
            commands,
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
        let _ = inner.shards[index].commands.send(ShardCommand::Attach {
            channel: channel.to_owned(),
            options,
            entered,
        });
    }

    pub fn attach(&self, channel: &str, options: AttachOptions) {
        let mut inner = self.inner();
        if let Some((index, _)) = inner.placement.get(channel) {
            let index = *index;
            let _ = inner.shards[index].commands.send(ShardCommand::Attach {
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
            let _ = inner.shards[index].commands.send(ShardCommand::Detach {
                channel: channel.to_owned(),
            });
        }
    }

    /// The server refused `channel` on shard `from` for its channel limit, with `holding`
    /// channels still there: remember the real limit and attach the channel elsewhere.
    pub fn relocate(
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

    /// Where a command about `channel` goes: its shard, or the first one.
    pub fn route(&self, channel: &str, command: ShardCommand) -> bool {
        let mut inner = self.inner();
        if inner.shards.is_empty() {
            self.spawn_shard(&mut inner);
        }
        let index = inner.placement.get(channel).map_or(0, |(index, _)| *index);
        inner.shards[index].commands.send(command).is_ok()
    }

    pub fn broadcast(&self, mut make: impl FnMut() -> ShardCommand) -> usize {
        let inner = self.inner();
        inner
            .shards
            .iter()
            .filter(|shard| shard.commands.send(make()).is_ok())
            .count()
    }

    pub fn shard_count(&self) -> usize {
        self.inner().shards.len()
    }

    pub fn rest(&self) -> &RestClient {
        &self.rest
    }
}
