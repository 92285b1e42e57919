//! `brokerdash proxy`: a fault proxy in front of any Ably-protocol server (the hub, or Ably
//! itself). It passes WebSocket and HTTP traffic through unchanged, and its control
//! endpoints on the same port break it on purpose, as Ably's universal test specs' proxy
//! does, so recovery can be tested against the real client and the real server:
//!
//! - `POST /_proxy/drop`: cut every proxied connection (no close frame, as a network would);
//! - `POST /_proxy/stall?ms=N`: hold frames both ways for N ms;
//! - `POST /_proxy/refuse?ms=N`: answer WebSocket upgrades with HTTP 503 for N ms;
//! - `POST /_proxy/rules`: frame rules (`rules`), applied in order; `DELETE /_proxy/rules`;
//!   `GET /_proxy/rules` counts those not yet used up.
//!
//! Parts: `rules` (what a rule matches and does, pure), `relay` (one proxied WebSocket),
//! `forward` (plain HTTP), `control` (the endpoints).

mod control;
mod forward;
mod relay;
pub mod rules;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::routing::{delete, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

pub use rules::{Direction, FrameRule, RuleAction};

/// The proxy's shared state: where it forwards to, and the faults switched on.
pub(crate) struct ProxyState {
    upstream: Url,
    http: reqwest::Client,
    /// Bumped by `drop`: every relay watching it cuts its connection.
    drops: watch::Sender<u64>,
    stalled_until: Mutex<Option<Instant>>,
    refused_until: Mutex<Option<Instant>>,
    rules: Mutex<Vec<FrameRule>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ProxyState {
    fn stalled_until(&self) -> Option<Instant> {
        lock(&self.stalled_until).filter(|until| *until > Instant::now())
    }

    fn refusing(&self) -> bool {
        lock(&self.refused_until).is_some_and(|until| until > Instant::now())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("--upstream must be an http:// or https:// URL (got {0:?})")]
    Upstream(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// A proxy serving on `listener`, forwarding to `upstream`, until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    upstream: Url,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ProxyError> {
    if !matches!(upstream.scheme(), "http" | "https") {
        return Err(ProxyError::Upstream(upstream.to_string()));
    }
    let state = Arc::new(ProxyState {
        upstream,
        http: reqwest::Client::new(),
        drops: watch::channel(0).0,
        stalled_until: Mutex::new(None),
        refused_until: Mutex::new(None),
        rules: Mutex::new(Vec::new()),
    });
    let router = Router::new()
        .route("/_proxy/drop", post(control::drop_all))
        .route("/_proxy/stall", post(control::stall))
        .route("/_proxy/refuse", post(control::refuse))
        .route("/_proxy/rules", post(control::set_rules))
        .route(
            "/_proxy/rules",
            delete(control::clear_rules).get(control::list_rules),
        )
        .fallback(forward::any)
        .with_state(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
