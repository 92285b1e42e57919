//! What the application asks for, and what goes out: requests, publishing with msgSerial,
//! queueing while offline and resending after a reconnect.
//!
//! Longer than 80 lines, kept whole: `request`, a dispatch `match` over the requests.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tracing::debug;

use crate::protocol::{
    ErrorInfo, PresenceAction, ProtocolAction, ProtocolMessage, WireFormat, encode_frame,
    encode_msgpack_frame,
};
use crate::realtime::channel::{ChannelInput, ChannelMachine, ChannelState, RecentIds};
use crate::realtime::connection::{ConnectionState, Input};
use crate::realtime::presence::PresenceMap;
use crate::realtime::types::{ClientError, NetEvent};

use super::{Pending, PendingReply, PollSlot, Shard, ShardRequest, Slot, presence_frame};

impl Shard {
    pub(super) async fn request(&mut self, request: ShardRequest) {
        if let ShardRequest::Publish { messages, .. } = &request {
            self.health.published(messages.len());
        }
        match request {
            ShardRequest::Attach {
                channel,
                options,
                entered,
            } => {
                if let Some(reason) = self.attach_refused() {
                    // A closed or failed connection takes no channel (RTL4b).
                    let event = NetEvent::Channel {
                        channel,
                        state: ChannelState::Failed,
                        resumed: false,
                        reason: Some(reason),
                    };
                    return self.emit(event).await;
                }
                if !self.channels.contains_key(&channel) {
                    let mut machine = ChannelMachine::new(options);
                    if self.machine.state() == ConnectionState::Connected {
                        // Tell a fresh slot the connection is up before asking it to attach
                        // (an existing slot already knows; it must keep its own state).
                        let _ = machine.handle(ChannelInput::ConnectionConnected);
                    }
                    self.channels.insert(
                        channel.clone(),
                        Slot {
                            machine,
                            presence: PresenceMap::default(),
                            recent: RecentIds::default(),
                            held: None,
                            fills: 0,
                            entered,
                            waiters: Vec::new(),
                            presence_queue: Vec::new(),
                            poll: PollSlot::new(),
                        },
                    );
                }
                self.channel(&channel, ChannelInput::Attach).await;
                self.poll_add(&channel);
            }
            ShardRequest::WhenAttached { channel, reply } => {
                match self.channels.get_mut(&channel) {
                    Some(slot)
                        if slot.machine.accepts_messages()
                            || (self.polling.is_some() && slot.poll.answered) =>
                    {
                        let _ = reply.send(Ok(()));
                    }
                    Some(slot) => slot.waiters.push(reply),
                    None => {
                        let _ = reply.send(Err(ClientError::Closed));
                    }
                }
            }
            ShardRequest::Detach { channel } => {
                self.poll_remove(&channel);
                self.channel(&channel, ChannelInput::Detach).await;
            }
            ShardRequest::Publish {
                channel,
                messages,
                reply,
            } if self.is_polling() => self.publish_over_rest(channel, messages, reply),
            ShardRequest::Publish {
                channel,
                messages,
                reply,
            } => {
                let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(channel);
                frame.messages = Some(messages);
                self.submit(Pending {
                    frame,
                    reply: PendingReply::Publish(reply),
                })
                .await;
            }
            ShardRequest::Presence {
                channel,
                action,
                data,
                reply,
            } => {
                if let Some(refusal) = self.presence_refused_while_polling() {
                    let _ = reply.send(Err(refusal));
                    return;
                }
                if let Some(refusal) = self.presence_without_a_client_id(action) {
                    let _ = reply.send(Err(refusal));
                    return;
                }
                if let Some(slot) = self.channels.get_mut(&channel) {
                    slot.entered = match action {
                        PresenceAction::Leave => None,
                        _ => Some((None, data.clone())),
                    };
                }
                let pending = Pending {
                    frame: presence_frame(&channel, action, None, data),
                    reply: PendingReply::Presence(reply),
                };
                match self.channels.get_mut(&channel) {
                    Some(slot) if slot.machine.state() == ChannelState::Attaching => {
                        slot.presence_queue.push(pending);
                    }
                    _ => self.submit(pending).await,
                }
            }
            ShardRequest::Close { reply } => {
                self.closing_replies.push(reply);
                self.connection(Input::Close).await;
            }
            ShardRequest::Focus { channel } => self.poll_focus(channel),
        }
    }

    /// Why no channel can be attached now, if the connection is closed or failed. A
    /// suspended one keeps what it is asked for and attaches it when it is back.
    fn attach_refused(&self) -> Option<ErrorInfo> {
        let state = self.machine.state();
        matches!(
            state,
            ConnectionState::Closing | ConnectionState::Closed | ConnectionState::Failed
        )
        .then(|| {
            ErrorInfo::new(
                80000,
                400,
                format!("Unable to attach: the connection is {}", state.as_str()),
            )
        })
    }

    /// Entering or updating presence needs a clientId of one's own: none, or the wildcard,
    /// is refused before it leaves the client (RTP8j).
    fn presence_without_a_client_id(&self, action: PresenceAction) -> Option<ClientError> {
        if action == PresenceAction::Leave {
            return None;
        }
        match self.options.client_id.as_deref() {
            Some(id) if id != "*" => None,
            _ => Some(ClientError::Refused(ErrorInfo::new(
                91000,
                400,
                "Unable to enter presence without a clientId of its own",
            ))),
        }
    }

    /// Sends now when connected, otherwise queues for the next connection (RTL6c2); a
    /// channel that cannot take it refuses it at once (RTL6c4, RTP16).
    pub(super) async fn submit(&mut self, pending: Pending) {
        if let Some(error) = self.refused_by_channel(&pending) {
            self.health.settled(pending.published_messages(), false);
            return pending.reply.fail(ClientError::Refused(error));
        }
        match self.machine.state() {
            ConnectionState::Connected => self.transmit(pending).await,
            ConnectionState::Initialized
            | ConnectionState::Connecting
            | ConnectionState::Disconnected => {
                self.queued.push_back(pending);
            }
            state => {
                self.health.settled(pending.published_messages(), false);
                pending.reply.fail(ClientError::Refused(ErrorInfo::new(
                    80000,
                    400,
                    format!("Cannot publish while the connection is {}", state.as_str()),
                )));
            }
        }
    }

    /// A publish on a SUSPENDED or FAILED channel, or a presence change on one that is not
    /// attached or attaching, fails without reaching the server.
    fn refused_by_channel(&self, pending: &Pending) -> Option<ErrorInfo> {
        let name = pending.frame.channel.as_deref()?;
        let machine = &self.channels.get(name)?.machine;
        let state = machine.state();
        let presence = matches!(pending.reply, PendingReply::Presence(_));
        let refused = match state {
            ChannelState::Suspended | ChannelState::Failed => true,
            ChannelState::Detaching | ChannelState::Detached => presence,
            _ => false,
        };
        refused.then(|| {
            let (code, what) = if presence {
                (91001, "Unable to change presence")
            } else {
                (90001, "Unable to publish")
            };
            // The channel's own reason says why (a refused capability, say).
            let why = machine
                .error_reason()
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default();
            let text = format!("{what}: channel {name} is {}{why}", state.as_str());
            ErrorInfo::new(code, 400, text)
        })
    }

    pub(super) async fn transmit(&mut self, mut pending: Pending) {
        let serial = self.next_serial;
        self.next_serial += 1;
        pending.frame.msg_serial = Some(serial);
        self.send(&pending.frame).await;
        self.in_flight.push_back((serial, pending));
    }

    /// After CONNECTED: frames awaiting ACK go again (same serials when resumed, since the
    /// server dedupes by serial; renumbered when not, and message ids keep that idempotent),
    /// then the queue.
    pub(super) async fn resend(&mut self, resumed: bool) {
        let in_flight: Vec<(i64, Pending)> = self.in_flight.drain(..).collect();
        if !resumed {
            self.next_serial = 0;
        }
        for (serial, pending) in in_flight {
            if resumed {
                self.send(&pending.frame).await;
                self.in_flight.push_back((serial, pending));
            } else {
                self.transmit(pending).await;
            }
        }
        while let Some(pending) = self.queued.pop_front() {
            self.transmit(pending).await;
        }
    }

    pub(super) fn fail_pending(&mut self, error: &ErrorInfo) {
        let in_flight = self.in_flight.drain(..).map(|(_, pending)| pending);
        for pending in in_flight.chain(self.queued.drain(..)) {
            self.health.settled(pending.published_messages(), false);
            pending.reply.fail(ClientError::Refused(error.clone()));
        }
    }

    pub(super) async fn send(&mut self, frame: &ProtocolMessage) {
        #[cfg(test)]
        self.sent.push(frame.clone());
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let message = match self.options.wire_format {
            WireFormat::Json => WsMessage::Text(encode_frame(frame).into()),
            WireFormat::Msgpack => WsMessage::Binary(encode_msgpack_frame(frame).into()),
        };
        // Written to the socket's buffer; the run loop flushes once per turn, so a batch of
        // frames (a thousand ATTACHes) costs a few writes, not one each.
        match socket.feed(message).await {
            Ok(()) => self.unflushed = true,
            Err(error) => debug!(shard = self.index, %error, "send failed"),
        }
    }

    /// Writes out what [`Shard::send`] buffered.
    pub(super) async fn flush(&mut self) {
        if !std::mem::take(&mut self.unflushed) {
            return;
        }
        if let Some(socket) = self.socket.as_mut()
            && let Err(error) = socket.flush().await
        {
            debug!(shard = self.index, %error, "flush failed");
        }
    }

    pub(super) async fn emit(&mut self, event: NetEvent) {
        self.health.delivered(&event);
        // The application dropped its receiver: nothing to report to, keep serving.
        let _ = self.events.send(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Harness;
    use crate::protocol::{ErrorInfo, ProtocolAction};
    use crate::realtime::connection::Input;
    use crate::realtime::types::ClientError;

    fn message_serials(harness: &mut Harness) -> Vec<Option<i64>> {
        harness
            .sent()
            .into_iter()
            .filter(|frame| frame.action == ProtocolAction::Message)
            .map(|frame| frame.msg_serial)
            .collect()
    }

    /// UTS: RTL6c2.
    #[tokio::test]
    async fn rtl6c2_publishes_while_connecting_are_queued_then_sent_in_order() {
        let mut harness = Harness::new();
        harness.shard.connection(Input::Connect).await;
        let _first = harness.publish("conversation:1", "m1").await;
        let _second = harness.publish("conversation:1", "m2").await;
        assert!(message_serials(&mut harness).is_empty(), "nothing sent yet");
        harness.server(super::super::testing::connected("c1")).await;
        assert_eq!(message_serials(&mut harness), [Some(0), Some(1)]);
    }

    /// UTS: RSL1k2.
    #[tokio::test]
    async fn rtn19a_unacknowledged_publishes_go_again_after_a_new_connection() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        let _pending = harness.publish("conversation:1", "m1").await;
        let _second = harness.publish("conversation:1", "m2").await;
        assert_eq!(message_serials(&mut harness), [Some(0), Some(1)]);
        harness
            .shard
            .connection(Input::Lost(ErrorInfo::new(80003, 400, "dropped")))
            .await;
        harness.shard.connection(Input::RetryDue).await;
        harness.server(super::super::testing::connected("c2")).await;
        assert_eq!(
            message_serials(&mut harness),
            [Some(0), Some(1)],
            "renumbered from zero on a new connection, same order"
        );
    }

    #[tokio::test]
    async fn rtl6c4_a_publish_on_a_failed_connection_is_refused_at_once() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness
            .shard
            .connection(Input::Error(ErrorInfo::new(40100, 401, "fatal")))
            .await;
        let outcome = harness.publish("conversation:1", "m1").await;
        match outcome.await.expect("answered") {
            Err(ClientError::Refused(info)) => assert_eq!(info.code, 80000),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn rtl6c4_a_publish_on_a_failed_or_suspended_channel_is_refused_at_once() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.fail_channel("conversation:1").await;
        harness.sent();
        let outcome = harness.publish("conversation:1", "m1").await;
        match outcome.await.expect("answered") {
            Err(ClientError::Refused(info)) => assert_eq!(info.code, 90001),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(harness.sent().is_empty(), "nothing reached the server");
        harness.attach("conversation:2").await;
        harness
            .shard
            .channel(
                "conversation:2",
                crate::realtime::channel::ChannelInput::AttachTimedOut,
            )
            .await;
        let outcome = harness.publish("conversation:2", "m2").await;
        assert!(
            matches!(outcome.await.expect("answered"), Err(ClientError::Refused(info)) if info.code == 90001)
        );
        harness.sent();
        let outcome = harness.publish("conversation:3", "m3").await;
        drop(outcome);
        let sent: Vec<ProtocolAction> = harness.sent().iter().map(|frame| frame.action).collect();
        assert_eq!(
            sent,
            [ProtocolAction::Message],
            "a channel in no such state publishes as before"
        );
    }

    #[tokio::test]
    async fn rtp16c_presence_on_a_failed_channel_is_refused_at_once() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.fail_channel("conversation:1").await;
        harness.sent();
        let (reply, outcome) = tokio::sync::oneshot::channel();
        harness
            .shard
            .request(super::super::ShardRequest::Presence {
                channel: "conversation:1".into(),
                action: crate::protocol::PresenceAction::Enter,
                data: None,
                reply,
            })
            .await;
        assert!(
            matches!(outcome.await.expect("answered"), Err(ClientError::Refused(info)) if info.code == 91001)
        );
        assert!(harness.sent().is_empty(), "nothing reached the server");
    }

    /// UTS: RTL4c.
    #[tokio::test]
    async fn rtl4c_attach_sends_one_attach_frame() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.sent();
        harness.attach("conversation:1").await;
        let frames = harness.sent();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].action, ProtocolAction::Attach);
        assert_eq!(frames[0].channel.as_deref(), Some("conversation:1"));
    }
}
