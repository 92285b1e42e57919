//! Waiting on the realtime client's events with deadlines.

use std::time::Duration;

use brokerdash::protocol::data::Payload;
use brokerdash::realtime::{ChannelState, ConnectionState, InboundMessage, NetEvent};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

pub struct Events {
    receiver: mpsc::Receiver<NetEvent>,
    /// Everything seen so far, for assertions about what did not happen.
    pub seen: Vec<NetEvent>,
}

impl Events {
    pub fn new(receiver: mpsc::Receiver<NetEvent>) -> Self {
        Self {
            receiver,
            seen: Vec::new(),
        }
    }

    /// The first event (from now on) matching `want`, or a panic naming `what` at the deadline.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        want: impl Fn(&NetEvent) -> bool,
    ) -> NetEvent {
        let deadline = Instant::now() + within;
        loop {
            match timeout_at(deadline, self.receiver.recv()).await {
                Ok(Some(event)) => {
                    self.seen.push(event.clone());
                    if want(&event) {
                        return event;
                    }
                }
                Ok(None) => panic!("event stream ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out after {within:?} waiting for {what}; last events: {:#?}",
                    self.seen.iter().rev().take(8).collect::<Vec<_>>()
                ),
            }
        }
    }

    pub async fn connected(&mut self) {
        self.wait_for("connected", super::PROMPT, |event| {
            matches!(
                event,
                NetEvent::Connection {
                    state: ConnectionState::Connected,
                    ..
                }
            )
        })
        .await;
    }

    pub async fn attached(&mut self, channel: &str) -> bool {
        let event = self
            .wait_for(&format!("{channel} attached"), super::PROMPT, |event| {
                matches!(event, NetEvent::Channel { channel: name, state: ChannelState::Attached, .. } if name == channel)
            })
            .await;
        matches!(event, NetEvent::Channel { resumed: true, .. })
    }

    /// Messages on `channel` until one named `last` arrives (inclusive).
    pub async fn messages_until(
        &mut self,
        channel: &str,
        last: &str,
        within: Duration,
    ) -> Vec<InboundMessage> {
        let deadline = Instant::now() + within;
        let mut collected = Vec::new();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let event = self
                .wait_for(&format!("message {last} on {channel}"), remaining, |event| {
                    matches!(event, NetEvent::Message { channel: name, .. } if name == channel)
                })
                .await;
            if let NetEvent::Message { message, .. } = event {
                let done = message.name.as_deref() == Some(last);
                collected.push(message);
                if done {
                    return collected;
                }
            }
        }
    }
}

pub fn text_of(message: &InboundMessage) -> String {
    match &message.payload {
        Payload::Text(text) => text.clone(),
        other => format!("{other:?}"),
    }
}
