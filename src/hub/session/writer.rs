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
use tokio::time::{Instant, sleep_until, timeout};

use crate::protocol::{Action, ErrorInfo, ProtocolMessage, encode_frame};

use super::super::link::Overflow;
use super::super::state::HubState;

/// How the reader asks the writer to stop.
pub(crate) enum Ending {
    /// Send what is queued (bounded by a short timeout), then a close frame.
    Flush,
    /// Drop the socket at once, as a network failure would.
    Abort,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriterEnd {
    Finished,
    Overflowed,
    SocketFailed,
}

const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) async fn run(
    hub: Arc<HubState>,
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut queue: mpsc::Receiver<Utf8Bytes>,
    overflow: Arc<Overflow>,
    mut ending: oneshot::Receiver<Ending>,
) -> WriterEnd {
    let idle = hub.config.max_idle_interval;
    let heartbeat = Utf8Bytes::from(encode_frame(&ProtocolMessage::new(Action::Heartbeat)));
    let mut last_sent = Instant::now();
    loop {
        let frame = tokio::select! {
            biased;
            end = &mut ending => {
                if matches!(end, Ok(Ending::Flush)) {
                    flush(&mut sink, &mut queue).await;
                }
                return WriterEnd::Finished;
            }
            () = overflow.wait() => {
                let error = ErrorInfo::new(80003, 400, "Send queue overflowed: the client read too slowly; resume to receive the rest");
                let frame = ProtocolMessage::new(Action::Disconnected).with_error(error);
                let _ = timeout(FLUSH_TIMEOUT, sink.send(WsMessage::Text(encode_frame(&frame).into()))).await;
                return WriterEnd::Overflowed;
            }
            next = queue.recv() => match next {
                Some(frame) => frame,
                None => return WriterEnd::Finished,
            },
            () = sleep_until(last_sent + idle) => heartbeat.clone(),
        };
        if let Some(until) = hub.faults.stall_deadline() {
            tokio::select! {
                () = sleep_until(Instant::from_std(until)) => {}
                _ = &mut ending => return WriterEnd::Finished,
            }
        }
        let sent = tokio::select! {
            sent = sink.send(WsMessage::Text(frame)) => sent,
            () = overflow.wait() => return WriterEnd::Overflowed,
            _ = &mut ending => return WriterEnd::Finished,
        };
        if sent.is_err() {
            return WriterEnd::SocketFailed;
        }
        last_sent = Instant::now();
    }
}

async fn flush(sink: &mut SplitSink<WebSocket, WsMessage>, queue: &mut mpsc::Receiver<Utf8Bytes>) {
    let drained = async {
        while let Ok(frame) = queue.try_recv() {
            if sink.send(WsMessage::Text(frame)).await.is_err() {
                return;
            }
        }
        let _ = sink.send(WsMessage::Close(None)).await;
    };
    let _ = timeout(FLUSH_TIMEOUT, drained).await;
}
