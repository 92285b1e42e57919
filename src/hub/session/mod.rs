//! One realtime transport: authenticate, open or resume the connection, then read frames
//! until the client closes, the network drops, a fault cuts it, or the hub shuts down.
//! Sending happens in `writer`; frames are handled in `handlers`.

mod handlers;
mod wire;
mod writer;

pub(crate) use handlers::prepare_messages;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};
use tracing::{debug, info, warn};

use crate::protocol::{
    ConnectionDetails, ErrorInfo, ProtocolAction, ProtocolMessage, encode_frame,
};

use super::clock::now_ms;
use super::identity::Identity;
use super::outlet::Outlet;
use super::state::{Connection, HubState, lock};
use wire::Wire;
use writer::Ending;

/// Query parameters of the WebSocket upgrade (ably-protocol.md §1.2).
#[derive(Debug, Default)]
pub(crate) struct ConnectParams {
    key: Option<String>,
    token: Option<String>,
    resume: Option<String>,
    client_id: Option<String>,
    echo: bool,
    format: Option<String>,
    remain_present_for: Option<Duration>,
}

impl ConnectParams {
    pub fn from_query(query: &HashMap<String, String>) -> Self {
        let get = |name: &str| query.get(name).filter(|value| !value.is_empty()).cloned();
        Self {
            key: get("key"),
            token: get("access_token").or_else(|| get("accessToken")),
            resume: get("resume").or_else(|| get("recover")),
            client_id: get("clientId"),
            echo: get("echo").as_deref() != Some("false"),
            format: get("format"),
            remain_present_for: get("remainPresentFor")
                .and_then(|ms| ms.parse::<u64>().ok())
                .map(|ms| Duration::from_millis(ms.max(1000))),
        }
    }
}

/// Why the reader loop ended; decides what happens to the connection's state.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// CLOSE from the client: state discarded, presence left at once.
    Closed,
    /// Network loss, DISCONNECT, drop fault, overflow: state kept for resume.
    Lost,
    /// The hub sent DISCONNECTED (token expiry): state kept for resume, and the frame is
    /// flushed before the socket closes, or the client would never learn why.
    Disconnected,
    /// A fatal ERROR was sent: state discarded.
    Failed,
    /// Hub shutting down: DISCONNECTED sent.
    Shutdown,
    /// The connection was resumed on a newer transport, which owns its state now: this
    /// one is dropped and touches nothing.
    Superseded,
}

pub(crate) async fn run(hub: Arc<HubState>, socket: WebSocket, params: ConnectParams) {
    let (sink, mut stream) = socket.split();
    let wire = Wire::of(&params);
    let identity = match authenticate(&hub, &params) {
        Ok(identity) => identity,
        Err(error) => return refuse(sink, error, wire).await,
    };
    // Never past the state TTL: a client's huge remainPresentFor must not keep its
    // presence members and its connection state for ever.
    let grace = params
        .remain_present_for
        .map_or(hub.config.presence_grace, |asked| {
            asked.min(hub.config.connection_state_ttl)
        });
    let (connection, resume_error) =
        open_connection(&hub, identity, params.resume.as_deref(), grace);
    let generation = claim_transport(&connection, grace);
    let mut superseded = connection.current_transport.subscribe();
    let (outlet, queue, overflow) = Outlet::new(params.echo, hub.config.send_queue_frames);
    outlet.send(connected_frame(&hub, &connection, resume_error));
    info!(connection = %connection.id, resumed = params.resume.is_some(), "connection open");

    // From here on the connection is live in the hub's state: however this task ends,
    // panics included, the guard takes its subscriptions away and ends the connection.
    let mut teardown = Teardown::new(&hub, &connection, &outlet, generation);
    let (end_writer, ending) = oneshot::channel();
    let writing = writer::Writing::new(queue, overflow, ending, wire);
    let mut writer = tokio::spawn(writer::run(hub.clone(), sink, writing));
    let mut drops = hub.faults.drop_all.subscribe();
    let mut session = handlers::Session::new(
        hub.clone(),
        connection.clone(),
        outlet.clone(),
        teardown.subscribed.clone(),
    );

    let end = loop {
        let renew_at = session.token_deadline();
        tokio::select! {
            () = hub.shutdown.cancelled() => {
                let error = ErrorInfo::new(80003, 503, "Hub shutting down");
                outlet.send(frame_text(&ProtocolMessage::new(ProtocolAction::Disconnected).with_error(error)));
                break End::Shutdown;
            }
            _ = drops.changed() => break End::Lost,
            _ = superseded.changed() => {
                if *superseded.borrow_and_update() != generation {
                    break End::Superseded;
                }
            }
            _ = &mut writer => break End::Lost,
            () = sleep_until(renew_at.unwrap_or_else(far_future)), if renew_at.is_some() => {
                if session.token_timer_fired() {
                    break End::Disconnected;
                }
            }
            incoming = stream.next() => {
                if let Some(end) = on_incoming(&hub, &mut session, incoming, wire) {
                    break end;
                }
            }
        }
    };
    debug!(connection = %connection.id, ?end, "transport ending");
    let _ = end_writer.send(Ending::after(&end));
    // Nothing more is queued for a transport that is flushing its last frames; the reason
    // is known before the wait, in case the task is cancelled during it.
    teardown.unsubscribe();
    teardown.end = Some(end);
    if !writer.is_finished() {
        let _ = writer.await;
    }
    drop(stream);
}

/// Accepts the upgrade, then refuses in the protocol: ably-js only reports the real
/// reason this way.
async fn refuse(mut sink: SplitSink<WebSocket, WsMessage>, error: ErrorInfo, wire: Wire) {
    let frame = ProtocolMessage::new(ProtocolAction::Error).with_error(error);
    let _ = sink.send(wire.message(frame_text(&frame))).await;
    let _ = sink.send(WsMessage::Close(None)).await;
}

/// This transport becomes the connection's current one; returns its generation.
fn claim_transport(connection: &Connection, grace: Duration) -> u64 {
    let generation = {
        let mut state = connection.state();
        state.generation += 1;
        state.live = true;
        state.presence_grace = grace;
        state.generation
    };
    connection.current_transport.send_replace(generation);
    generation
}

/// A frame from the client, handled; `Some` when the transport ends because of it.
fn on_incoming(
    hub: &HubState,
    session: &mut handlers::Session,
    incoming: Option<Result<WsMessage, axum::Error>>,
    wire: Wire,
) -> Option<End> {
    let text = match incoming {
        Some(Ok(WsMessage::Text(text))) => text,
        Some(Ok(WsMessage::Binary(bytes))) => match wire.text_of(&bytes) {
            Ok(text) => text,
            Err(error) => {
                session.fatal(error);
                return Some(End::Failed);
            }
        },
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => return None,
        Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return Some(End::Lost),
    };
    if hub.faults.take_panic() {
        panic!("fault injected: a session task panics while handling a frame");
    }
    match session.handle(&text) {
        handlers::Flow::Continue => None,
        handlers::Flow::Closed => Some(End::Closed),
        handlers::Flow::Disconnect => Some(End::Lost),
        handlers::Flow::Failed => Some(End::Failed),
    }
}

/// The end of a transport, run when the session task ends for any reason. A task that
/// panicked (or was cancelled) never says why it ended: it counts as a lost transport, so
/// its presence members leave after the usual grace and its state is forgotten after the
/// state TTL.
struct Teardown {
    hub: Arc<HubState>,
    connection: Arc<Connection>,
    outlet: Outlet,
    subscribed: handlers::Subscribed,
    generation: u64,
    end: Option<End>,
}

impl Teardown {
    fn new(
        hub: &Arc<HubState>,
        connection: &Arc<Connection>,
        outlet: &Outlet,
        generation: u64,
    ) -> Self {
        Self {
            hub: hub.clone(),
            connection: connection.clone(),
            outlet: outlet.clone(),
            subscribed: handlers::Subscribed::default(),
            generation,
            end: None,
        }
    }

    /// Removes this transport's subscriptions (not a newer transport's, after a resume).
    fn unsubscribe(&self) {
        let names = std::mem::take(&mut *lock(&self.subscribed));
        for name in names {
            self.hub
                .unsubscribe(&name, &self.connection.id, &self.outlet);
        }
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        let end = self.end.take().unwrap_or_else(|| {
            warn!(connection = %self.connection.id, "session task ended without a reason (a panic, or the task was cancelled): cleaning up as a lost transport");
            End::Lost
        });
        self.unsubscribe();
        finish(&self.hub, &self.connection, self.generation, end);
    }
}

pub(super) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

fn authenticate(hub: &HubState, params: &ConnectParams) -> Result<Identity, ErrorInfo> {
    if let Some(format) = params
        .format
        .as_deref()
        .filter(|format| !matches!(*format, "json" | "msgpack"))
    {
        return Err(ErrorInfo::new(
            40000,
            400,
            format!("Unsupported format {format:?}: json or msgpack"),
        ));
    }
    let identity = match (&params.key, &params.token) {
        (Some(key), _) => hub.authority.check_key(key, params.client_id.as_deref())?,
        (None, Some(token)) => hub.authority.check_token(token)?,
        (None, None) => return Err(ErrorInfo::new(40101, 401, "No key or token given")),
    };
    if let (Some(asked), Some(own)) = (&params.client_id, &identity.client_id)
        && own != "*"
        && asked != own
    {
        return Err(ErrorInfo::new(
            40102,
            401,
            format!(
                "Incompatible clientId: the token is for {own:?}, the client asked for {asked:?}"
            ),
        ));
    }
    let mut identity = identity;
    if identity.is_wildcard()
        && let Some(asked) = &params.client_id
    {
        identity.client_id = Some(asked.clone());
    }
    Ok(identity)
}

/// Resumes the connection named by the key when its state is still held; otherwise a
/// new connection, with the reason resume failed (ably-protocol.md §3.4).
fn open_connection(
    hub: &HubState,
    identity: Identity,
    resume_key: Option<&str>,
    grace: Duration,
) -> (Arc<Connection>, Option<ErrorInfo>) {
    let Some(key) = resume_key else {
        return (hub.new_connection(identity, grace), None);
    };
    if !key.contains('!') {
        let error = ErrorInfo::new(80018, 400, "Invalid connection key");
        return (hub.new_connection(identity, grace), Some(error));
    }
    match hub.resumable(key) {
        Some(connection) => {
            connection.state().identity = identity;
            (connection, None)
        }
        None => {
            let error = ErrorInfo::new(
                80008,
                400,
                "Unable to recover connection (connection expired)",
            );
            (hub.new_connection(identity, grace), Some(error))
        }
    }
}

pub(super) fn connected_frame(
    hub: &HubState,
    connection: &Connection,
    error: Option<ErrorInfo>,
) -> Utf8Bytes {
    let client_id = connection.state().identity.client_id.clone();
    let config = &hub.config;
    let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let mut frame = ProtocolMessage::new(ProtocolAction::Connected);
    frame.connection_id = Some(connection.id.to_string());
    frame.connection_details = Some(ConnectionDetails {
        client_id,
        connection_key: Some(connection.key.clone()),
        connection_state_ttl: Some(millis(config.connection_state_ttl)),
        max_idle_interval: Some(millis(config.max_idle_interval)),
        max_message_size: Some(config.max_message_bytes as u64),
        max_frame_size: Some(config.max_frame_bytes as u64),
        max_inbound_rate: Some(50),
        server_id: Some(config.server_id.clone()),
    });
    frame.error = error;
    frame.timestamp = Some(now_ms());
    frame_text(&frame)
}

pub(super) fn frame_text(frame: &ProtocolMessage) -> Utf8Bytes {
    Utf8Bytes::from(encode_frame(frame))
}

/// After a transport ends: keep the connection for resume (leaving its presence after
/// the grace period and forgetting it after the state TTL), or discard it now.
fn finish(hub: &Arc<HubState>, connection: &Arc<Connection>, generation: u64, end: End) {
    match end {
        End::Closed | End::Failed => {
            if connection.state().generation != generation {
                return; // taken over by a newer transport, whose connection this is now
            }
            hub.leave_all(connection);
            hub.forget_connection(&connection.id);
        }
        End::Superseded => {}
        End::Lost | End::Disconnected | End::Shutdown => {
            let grace = {
                let mut state = connection.state();
                if state.generation != generation {
                    return; // already taken over by a newer transport
                }
                state.live = false;
                state.attached.clear();
                state.presence_grace
            };
            let hub = hub.clone();
            let connection = connection.clone();
            let ttl = hub.config.connection_state_ttl;
            let shutdown = hub.shutdown.clone();
            hub.clone().tasks.spawn(async move {
                let still_gone = |connection: &Connection| {
                    let state = connection.state();
                    !state.live && state.generation == generation
                };
                tokio::select! {
                    () = tokio::time::sleep(grace) => {}
                    () = shutdown.cancelled() => return,
                }
                if still_gone(&connection) {
                    hub.leave_all(&connection);
                }
                tokio::select! {
                    () = tokio::time::sleep(ttl.saturating_sub(grace)) => {}
                    () = shutdown.cancelled() => return,
                }
                if still_gone(&connection) {
                    hub.forget_connection(&connection.id);
                }
            });
        }
    }
}
