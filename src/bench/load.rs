//! A load source: K `message:user` events at a steady rate over N channels from C
//! connections, then `bench:end` on every channel. Channel i is always published from
//! connection i mod C, and each connection sends in sequence order, so per-channel order
//! on the wire is the sequence order.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;
use tokio::time::{Instant, sleep_until};
use url::Url;

use crate::auth::ApiKey;
use crate::protocol::Message;
use crate::realtime::{ClientOptions, NetEvent, Realtime};
use crate::rest::AuthConfig;

use super::measure::monotonic_ns;
use super::{END_EVENT, channel_name};

#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub port: u16,
    pub key: ApiKey,
    pub channels: usize,
    pub messages: u64,
    pub rate_per_sec: f64,
    pub connections: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub published: u64,
    pub refused: u64,
    pub elapsed: Duration,
}

/// Publishes awaiting their ACK at once, per load run.
const WINDOW: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the load's address is not a URL: {0}")]
    Address(#[from] url::ParseError),
    #[error("timed out connecting")]
    ConnectTimeout,
    #[error("client stopped")]
    ClientStopped,
    #[error("connection failed: {0}")]
    ConnectionFailed(String),
    #[error("could not publish {END_EVENT}: {0}")]
    EndRefused(crate::realtime::ClientError),
}

pub async fn run(plan: &LoadPlan) -> Result<LoadReport, LoadError> {
    let endpoint = Url::parse(&format!("http://127.0.0.1:{}", plan.port))?;
    let connections = plan.connections.max(1);
    let channels = plan.channels.max(1);
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let auth = AuthConfig::Key {
            key: plan.key.clone(),
            use_tokens: false,
            token_ttl_ms: None,
        };
        let mut options = ClientOptions::new(endpoint.clone(), auth);
        options.echo = false;
        let (client, mut events) = Realtime::connect(options);
        wait_connected(&mut events).await?;
        // Nothing to read on a publisher; keep its events drained so it never stalls.
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        clients.push(client);
    }
    let started = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut refused = 0;
    for sequence in 0..plan.messages {
        if plan.rate_per_sec > 0.0 {
            let due = started + Duration::from_secs_f64(sequence as f64 / plan.rate_per_sec);
            if due > Instant::now() + Duration::from_millis(1) {
                sleep_until(due).await;
            }
        }
        let channel = usize::try_from(sequence % channels as u64).unwrap_or(0);
        let client = &clients[channel % connections];
        let data = json!({
            "messageId": format!("msg-{sequence}"),
            "content": "Hi, could you tell me today's fixed rate for a 30 year loan?",
            // A decimal string: a JSON number loses precision past 2^53 in JavaScript.
            "sentNs": monotonic_ns().to_string(),
            "timestamp": crate::clock::now_ms(),
        });
        in_flight.push(client.publish(
            &channel_name(channel),
            vec![json_message("message:user", data)],
        ));
        while in_flight.len() >= WINDOW {
            if let Some(Err(_)) = in_flight.next().await {
                refused += 1;
            }
        }
    }
    while let Some(result) = in_flight.next().await {
        if result.is_err() {
            refused += 1;
        }
    }
    let end = json!({"total": plan.messages, "connections": connections});
    for channel in 0..channels {
        let client = &clients[channel % connections];
        in_flight.push(client.publish(
            &channel_name(channel),
            vec![json_message(END_EVENT, end.clone())],
        ));
    }
    while let Some(result) = in_flight.next().await {
        result.map_err(LoadError::EndRefused)?;
    }
    let elapsed = started.elapsed();
    for client in &clients {
        client.close().await;
    }
    Ok(LoadReport {
        published: plan.messages - refused,
        refused,
        elapsed,
    })
}

fn json_message(name: &str, data: serde_json::Value) -> Message {
    let (wire, encoding) =
        crate::protocol::data::encode(&crate::protocol::data::Payload::Json(data), None);
    Message {
        name: Some(name.to_owned()),
        data: wire,
        encoding,
        ..Message::default()
    }
}

pub(crate) async fn wait_connected(
    events: &mut tokio::sync::mpsc::Receiver<NetEvent>,
) -> Result<(), LoadError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| LoadError::ConnectTimeout)?
            .ok_or(LoadError::ClientStopped)?;
        match event {
            NetEvent::Connection {
                state: crate::realtime::ConnectionState::Connected,
                ..
            } => return Ok(()),
            NetEvent::Connection {
                state: crate::realtime::ConnectionState::Failed,
                reason,
                ..
            } => {
                return Err(LoadError::ConnectionFailed(
                    reason.map(|r| r.to_string()).unwrap_or_default(),
                ));
            }
            _ => {}
        }
    }
}
