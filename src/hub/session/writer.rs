//! The sending half of a transport: drains the connection's queue onto the socket, sends
//! HEARTBEATs when idle, honours the stall fault, and disconnects an overflowed
//! connection. It runs apart from the reader so a peer that stops reading blocks nothing
//! but this task.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout, timeout_at};

use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage, encode_frame};

use super::super::outlet::{Outbound, Overflow};
use super::super::state::HubState;
use super::End;
use super::wire::Wire;

/// How the reader asks the writer to stop.
pub(crate) enum Ending {
    /// Send what is queued (bounded by a short timeout), then a close frame.
    Flush,
    /// Drop the socket at once, as a network failure would.
    Abort,
}

impl Ending {
    /// A transport that ends on purpose sends what is queued; a lost one does not.
    pub fn after(end: &End) -> Self {
        if matches!(
            end,
            End::Closed | End::Failed | End::Shutdown | End::Disconnected
        ) {
            Self::Flush
        } else {
            Self::Abort
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriterEnd {
    Finished,
    Overflowed,
    SocketFailed,
}

const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Frames written between two flushes: enough to batch a burst, few enough that frames
/// reach the socket promptly.
const FRAMES_PER_FLUSH: usize = 64;

/// What the writer drains, how it is told to stop, and the wire format it writes.
pub(crate) struct Writing {
    queue: mpsc::Receiver<Outbound>,
    overflow: Arc<Overflow>,
    ending: oneshot::Receiver<Ending>,
    wire: Wire,
}

impl Writing {
    pub fn new(
        queue: mpsc::Receiver<Outbound>,
        overflow: Arc<Overflow>,
        ending: oneshot::Receiver<Ending>,
        wire: Wire,
    ) -> Self {
        Self {
            queue,
            overflow,
            ending,
            wire,
        }
    }
}

pub(crate) async fn run(
    hub: Arc<HubState>,
    mut sink: SplitSink<WebSocket, WsMessage>,
    writing: Writing,
) -> WriterEnd {
    let Writing {
        mut queue,
        overflow,
        mut ending,
        wire,
    } = writing;
    let idle = hub.config.max_idle_interval;
    let heartbeat = Utf8Bytes::from(encode_frame(&ProtocolMessage::new(
        ProtocolAction::Heartbeat,
    )));
    let mut last_sent = Instant::now();
    loop {
        let outbound = tokio::select! {
            biased;
            end = &mut ending => {
                if matches!(end, Ok(Ending::Flush)) {
                    flush(&mut sink, &mut queue, Instant::now() + FLUSH_TIMEOUT, wire).await;
                }
                return WriterEnd::Finished;
            }
            () = overflow.wait() => {
                tracing::warn!("a connection read too slowly and is being disconnected (it can resume)");
                let error = ErrorInfo::new(80003, 400, "Send queue overflowed: the client read too slowly; resume to receive the rest");
                let frame = ProtocolMessage::new(ProtocolAction::Disconnected).with_error(error);
                let _ = timeout(FLUSH_TIMEOUT, sink.send(wire.message(encode_frame(&frame).into()))).await;
                return WriterEnd::Overflowed;
            }
            next = queue.recv() => match next {
                Some(frame) => frame,
                None => return WriterEnd::Finished,
            },
            () = sleep_until(last_sent + idle) => Outbound::Frame(heartbeat.clone()),
        };
        if let Some(until) = hub.faults.stall_deadline() {
            tokio::select! {
                () = sleep_until(Instant::from_std(until)) => {}
                _ = &mut ending => return WriterEnd::Finished,
            }
        }
        // Boxed so that the ending branch can finish it and then use the sink again.
        let mut write = Box::pin(write_burst(&mut sink, &mut queue, outbound, wire));
        let written = tokio::select! {
            biased;
            written = &mut write => written,
            () = overflow.wait() => return WriterEnd::Overflowed,
            end = &mut ending => {
                // A graceful ending first completes the burst being written, so the
                // frames queued before it (DISCONNECTED, CLOSED, ERROR) are not lost.
                let deadline = Instant::now() + FLUSH_TIMEOUT;
                let graceful = matches!(end, Ok(Ending::Flush));
                if graceful {
                    let _ = timeout_at(deadline, &mut write).await;
                }
                drop(write);
                if graceful {
                    flush(&mut sink, &mut queue, deadline, wire).await;
                }
                return WriterEnd::Finished;
            }
        };
        if written.is_err() {
            return WriterEnd::SocketFailed;
        }
        last_sent = Instant::now();
    }
}

/// Writes `first` and whatever else is already queued, then flushes once: under load a
/// burst goes out in a few large socket writes instead of one write (and, with
/// TCP_NODELAY, one packet) per frame; when idle it is just the one frame.
async fn write_burst(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    queue: &mut mpsc::Receiver<Outbound>,
    first: Outbound,
    wire: Wire,
) -> Result<(), axum::Error> {
    let mut written = 0;
    let mut next = Some(first);
    while let Some(outbound) = next {
        for frame in outbound {
            sink.feed(wire.message(frame)).await?;
            written += 1;
        }
        next = if written < FRAMES_PER_FLUSH {
            queue.try_recv().ok()
        } else {
            None
        };
    }
    sink.flush().await
}

/// Sends what is queued, then a close frame, giving up at `deadline`.
async fn flush(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    queue: &mut mpsc::Receiver<Outbound>,
    deadline: Instant,
    wire: Wire,
) {
    let drained = async {
        while let Ok(outbound) = queue.try_recv() {
            for frame in outbound {
                if sink.feed(wire.message(frame)).await.is_err() {
                    return;
                }
            }
        }
        let _ = sink.send(WsMessage::Close(None)).await;
    };
    let _ = timeout_at(deadline, drained).await;
}
