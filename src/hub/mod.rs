//! The hub: one process speaking the part of Ably's realtime and REST protocol that
//! brokerdash and the web app use, for development, demos and tests (production uses
//! Ably itself). When ably-js and the hub disagree, the hub is wrong.
//!
//! - `config`: keys and limits. `identity`: keys, tokens, capabilities.
//! - `state`: channels and resumable connections. `channel`: one channel's history,
//!   subscribers and presence. `outlet`: a transport's bounded outbound queue.
//! - `session`: one WebSocket transport. `http`: Ably's REST API, the web app's two
//!   endpoints and the fault switches.
//!
//! Shutdown: the cancellation token stops the accept loop and every session (each sends
//! DISCONNECTED); `run` returns once every task it spawned has finished.

mod channel;
mod clock;
mod config;
mod http;
mod identity;
mod outlet;
mod session;
mod state;
mod webapp;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{DEVELOPMENT_KEY, HubConfig, KeyChoiceError, KeySource, keys_for_address};
use state::HubState;

/// A hub serving in the background (tests, the demo): its address and how to stop it.
pub struct RunningHub {
    pub addr: SocketAddr,
    hub: Arc<HubState>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// What the channels hold, added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupancy {
    pub subscriptions: usize,
    pub presence_members: usize,
}

/// Connections the hub holds: `live` ones have a transport now; the rest are kept for
/// resume until their state TTL passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCounts {
    pub held: usize,
    pub live: usize,
}

impl RunningHub {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connections(&self) -> ConnectionCounts {
        self.hub.connection_counts()
    }

    /// Channels the hub holds in memory, active or not.
    pub fn channels_held(&self) -> usize {
        self.hub.all_channels().len()
    }

    /// Subscriptions and presence members over every channel held, REST-listed or not.
    pub fn occupancy(&self) -> Occupancy {
        self.hub
            .all_channels()
            .iter()
            .fold(Occupancy::default(), |total, channel| {
                let channel = state::lock(channel);
                Occupancy {
                    subscriptions: total.subscriptions + channel.subscribers.len(),
                    presence_members: total.presence_members + channel.presence.len(),
                }
            })
    }

    /// Stops the hub and waits for every connection task to end.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.cancel();
        self.task
            .await
            .unwrap_or_else(|error| Err(std::io::Error::other(error)))
    }
}

/// Starts a hub on an already-bound listener in the background.
pub fn spawn(listener: TcpListener, config: HubConfig) -> std::io::Result<RunningHub> {
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let hub = Arc::new(HubState::new(config));
    let task = tokio::spawn(serve(listener, hub.clone(), async move {
        stop.cancelled().await
    }));
    Ok(RunningHub {
        addr,
        hub,
        shutdown,
        task,
    })
}

/// Serves until `shutdown` completes, then disconnects every client and waits for all
/// connection tasks.
pub async fn run(
    listener: TcpListener,
    config: HubConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, Arc::new(HubState::new(config)), shutdown).await
}

async fn serve(
    listener: TcpListener,
    hub: Arc<HubState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = http::router(hub.clone());
    let sweeper = {
        let hub = hub.clone();
        hub.clone().tasks.spawn(async move {
            let mut tick = tokio::time::interval(hub.config.sweep_interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => hub.sweep_idle_channels(),
                    () = hub.shutdown.cancelled() => return,
                }
            }
        })
    };
    let stopping = hub.shutdown.clone();
    // Every frame of the realtime protocol is small: with Nagle's algorithm on, a frame
    // written while the previous one is unacknowledged waits for the peer's delayed ACK
    // (up to 40 ms on Linux).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.cancel();
        })
        .await;
    hub.shutdown.cancel();
    hub.tasks.close();
    hub.tasks.wait().await;
    drop(sweeper);
    served
}
