//! One proxied WebSocket: frames pumped each way, each through the stall and the rules,
//! until either side closes or the proxy is told to drop everything.

use std::sync::Arc;

use axum::extract::ws::{Message as ClientMessage, WebSocket};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as UpstreamMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::msgpack;

use super::rules::{Direction, Verdict, verdict};
use super::{ProxyState, lock};

type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A data frame, whichever library carried it.
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

impl Frame {
    /// The protocol action, read from JSON or msgpack.
    fn action(&self) -> Option<u64> {
        let value = match self {
            Self::Text(text) => serde_json::from_str::<Value>(text).ok()?,
            Self::Binary(bytes) => msgpack::to_json(bytes).ok()?,
        };
        value.get("action")?.as_u64()
    }

    /// `replacement` in the same format as this frame.
    fn replaced_by(&self, replacement: &Value) -> Self {
        match self {
            Self::Text(_) => Self::Text(replacement.to_string()),
            Self::Binary(_) => Self::Binary(msgpack::from_json(replacement)),
        }
    }
}

pub(super) async fn run(proxy: Arc<ProxyState>, client: WebSocket, upstream: Upstream) {
    let mut drops = proxy.drops.subscribe();
    let (client_sink, client_stream) = client.split();
    let (upstream_sink, upstream_stream) = upstream.split();
    let from_client = client_stream.filter_map(|message| async move {
        match message {
            Ok(ClientMessage::Text(text)) => Some(Some(Frame::Text(text.to_string()))),
            Ok(ClientMessage::Binary(bytes)) => Some(Some(Frame::Binary(bytes.to_vec()))),
            Ok(ClientMessage::Ping(_) | ClientMessage::Pong(_)) => None,
            Ok(ClientMessage::Close(_)) | Err(_) => Some(None),
        }
    });
    let from_upstream = upstream_stream.filter_map(|message| async move {
        match message {
            Ok(UpstreamMessage::Text(text)) => Some(Some(Frame::Text(text.to_string()))),
            Ok(UpstreamMessage::Binary(bytes)) => Some(Some(Frame::Binary(bytes.to_vec()))),
            Ok(UpstreamMessage::Ping(_) | UpstreamMessage::Pong(_) | UpstreamMessage::Frame(_)) => {
                None
            }
            Ok(UpstreamMessage::Close(_)) | Err(_) => Some(None),
        }
    });
    let to_upstream = pump(
        &proxy,
        Direction::Client,
        from_client,
        upstream_sink,
        |frame| match frame {
            Frame::Text(text) => UpstreamMessage::text(text),
            Frame::Binary(bytes) => UpstreamMessage::binary(bytes),
        },
    );
    let to_client = pump(
        &proxy,
        Direction::Server,
        from_upstream,
        client_sink,
        |frame| match frame {
            Frame::Text(text) => ClientMessage::Text(text.into()),
            Frame::Binary(bytes) => ClientMessage::Binary(bytes.into()),
        },
    );
    // Whichever ends first ends both: the sockets are dropped with this task, without a
    // close frame, as a cut network would leave them.
    tokio::select! {
        _ = drops.changed() => {}
        () = to_upstream => {}
        () = to_client => {}
    }
}

/// Forwards frames from `frames` into `sink` until the stream ends (`None` marks a close)
/// or sending fails.
async fn pump<S, K, M>(
    proxy: &ProxyState,
    direction: Direction,
    frames: S,
    mut sink: K,
    message: fn(Frame) -> M,
) where
    S: Stream<Item = Option<Frame>>,
    K: Sink<M> + Unpin,
{
    tokio::pin!(frames);
    while let Some(Some(frame)) = frames.next().await {
        if let Some(until) = proxy.stalled_until() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
        }
        let decided = {
            let mut rules = lock(&proxy.rules);
            if rules.is_empty() {
                Verdict::Pass
            } else {
                verdict(&mut rules, direction, frame.action())
            }
        };
        let frame = match decided {
            Verdict::Pass => frame,
            Verdict::Drop => continue,
            Verdict::Delay(pause) => {
                tokio::time::sleep(pause).await;
                frame
            }
            Verdict::Replace(replacement) => frame.replaced_by(&replacement),
        };
        if sink.send(message(frame)).await.is_err() {
            return;
        }
    }
}
