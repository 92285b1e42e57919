//! Frames from the server: connection and channel control, messages, presence, ACKs.

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tracing::{debug, warn};

use crate::protocol::{
    DecodeError, ErrorInfo, ProtocolAction, ProtocolMessage, WireFormat, decode_frame,
    decode_msgpack_frame,
};
use crate::realtime::channel::ChannelInput;
use crate::realtime::connection::{ConnectionState, Input};
use crate::realtime::types::{ClientError, InboundMessage, NetEvent, PublishAck};

use super::ack::AckSpan;
use super::socket::MAX_INBOUND_FRAME_BYTES;
use super::timers::Timer;
use super::{PendingReply, Shard};

/// What a message or presence member takes from its frame when it has none of its own:
/// an id `frameId:index` (TM2a, TP3a: none when the frame has none either, never an
/// invented one that two frames would share), the connection id and the timestamp.
struct FrameOrigin<'a> {
    id: Option<&'a str>,
    connection_id: Option<&'a str>,
    timestamp: Option<i64>,
}

impl FrameOrigin<'_> {
    fn fill(
        &self,
        index: usize,
        id: &mut Option<String>,
        connection_id: &mut Option<String>,
        timestamp: &mut Option<i64>,
    ) {
        if id.is_none()
            && let Some(frame_id) = self.id
        {
            *id = Some(format!("{frame_id}:{index}"));
        }
        if connection_id.is_none() {
            *connection_id = self.connection_id.map(str::to_owned);
        }
        if timestamp.is_none() {
            *timestamp = self.timestamp;
        }
    }
}

impl Shard {
    pub(super) async fn incoming(&mut self, frame: Option<Result<WsMessage, WsError>>) {
        self.last_activity = Instant::now();
        let decoded = match frame {
            Some(Ok(WsMessage::Text(text))) => decode_frame(text.as_str(), MAX_INBOUND_FRAME_BYTES),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => return,
            Some(Ok(WsMessage::Binary(bytes))) => match self.options.wire_format {
                WireFormat::Msgpack => decode_msgpack_frame(&bytes, MAX_INBOUND_FRAME_BYTES),
                WireFormat::Json => Err(DecodeError::Binary),
            },
            Some(Ok(WsMessage::Close(_))) | None => {
                let error = ErrorInfo::new(80003, 400, "Connection closed by the server");
                return self.lost_or_closed(error).await;
            }
            Some(Err(reason)) => {
                let error = ErrorInfo::new(80003, 400, format!("Connection lost: {reason}"));
                return self.lost_or_closed(error).await;
            }
        };
        let frame = match decoded {
            Ok(frame) => frame,
            Err(error) => {
                // A bad frame from the server is logged and skipped, never fatal here.
                warn!(shard = self.index, %error, "skipped an undecodable frame");
                return;
            }
        };
        self.frame(frame).await;
    }

    pub(super) async fn lost_or_closed(&mut self, error: ErrorInfo) {
        self.socket = None;
        if self.machine.state() == ConnectionState::Closing {
            self.connection(Input::Closed).await;
        } else {
            self.connection(Input::Lost(error)).await;
        }
    }

    pub(super) async fn frame(&mut self, frame: ProtocolMessage) {
        match frame.action {
            ProtocolAction::Heartbeat => self.heartbeat(frame.id.as_deref()),
            ProtocolAction::Connected => {
                self.cancel_timer(&Timer::ConnectDeadline);
                let connection_id = frame.connection_id.clone().unwrap_or_default();
                let details = frame.connection_details.clone().unwrap_or_default();
                self.connection(Input::Connected {
                    connection_id,
                    details,
                    error: frame.error,
                })
                .await;
            }
            ProtocolAction::Disconnected => {
                let error = frame
                    .error
                    .unwrap_or_else(|| ErrorInfo::new(80003, 400, "Disconnected by the server"));
                self.connection(Input::Lost(error)).await;
            }
            ProtocolAction::Closed => self.connection(Input::Closed).await,
            ProtocolAction::Error => {
                let error = frame
                    .error
                    .clone()
                    .unwrap_or_else(|| ErrorInfo::new(50000, 500, "Unspecified error"));
                match frame.channel {
                    Some(channel) => self.channel_error(&channel, error).await,
                    None => self.connection(Input::Error(error)).await,
                }
            }
            ProtocolAction::Ack | ProtocolAction::Nack => self.acknowledged(&frame),
            ProtocolAction::Attached => {
                if let Some(channel) = frame.channel.clone() {
                    if !self.channels.contains_key(&channel) {
                        // Attached to a channel we let go: the server is told again (RTL5k).
                        let detach =
                            ProtocolMessage::new(ProtocolAction::Detach).with_channel(channel);
                        return self.send(&detach).await;
                    }
                    let input = ChannelInput::Attached {
                        flags: frame.flags(),
                        serial: frame.channel_serial.clone(),
                        error: frame.error,
                    };
                    self.channel(&channel, input).await;
                }
            }
            ProtocolAction::Detached => {
                if let Some(channel) = frame.channel.clone() {
                    self.channel(&channel, ChannelInput::Detached { error: frame.error })
                        .await;
                }
            }
            ProtocolAction::Message => self.messages(frame).await,
            ProtocolAction::Presence | ProtocolAction::Sync => self.presence_frame(frame).await,
            ProtocolAction::Auth => self.renew_token(),
            other => debug!(shard = self.index, action = other.code(), "ignored a frame"),
        }
    }

    pub(super) async fn messages(&mut self, frame: ProtocolMessage) {
        let ProtocolMessage {
            channel: Some(channel),
            id,
            connection_id,
            timestamp,
            channel_serial,
            messages,
            ..
        } = frame
        else {
            return;
        };
        let Some(slot) = self.channels.get_mut(&channel) else {
            return;
        };
        if !slot.machine.accepts_messages() {
            return;
        }
        slot.machine.record_serial(channel_serial.as_deref());
        let origin = FrameOrigin {
            id: id.as_deref(),
            connection_id: connection_id.as_deref(),
            timestamp,
        };
        let mut delivered = Vec::new();
        for (index, mut message) in messages.unwrap_or_default().into_iter().enumerate() {
            origin.fill(
                index,
                &mut message.id,
                &mut message.connection_id,
                &mut message.timestamp,
            );
            slot.machine.record_message_time(message.timestamp);
            let inbound = InboundMessage::from_wire(message, false);
            // Only an id can say a message was seen before.
            if !inbound.id.is_empty() && !slot.recent.insert(&inbound.id) {
                continue;
            }
            match &mut slot.held {
                Some(held) => held.push(inbound),
                None => delivered.push(inbound),
            }
        }
        // The last message takes the frame's channel name; the others a copy.
        let mut channel = Some(channel);
        let count = delivered.len();
        for (index, message) in delivered.into_iter().enumerate() {
            let name = if index + 1 == count {
                channel.take().unwrap_or_default()
            } else {
                channel.clone().unwrap_or_default()
            };
            self.emit(NetEvent::Message {
                shard: self.index,
                channel: name,
                message,
            })
            .await;
        }
    }

    pub(super) async fn presence_frame(&mut self, frame: ProtocolMessage) {
        let Some(name) = frame.channel.clone() else {
            return;
        };
        let Some(slot) = self.channels.get_mut(&name) else {
            return;
        };
        let origin = FrameOrigin {
            id: frame.id.as_deref(),
            connection_id: frame.connection_id.as_deref(),
            timestamp: frame.timestamp,
        };
        let members = frame
            .presence
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, mut member)| {
                origin.fill(
                    index,
                    &mut member.id,
                    &mut member.connection_id,
                    &mut member.timestamp,
                );
                member
            });
        let changes = if frame.action == ProtocolAction::Sync {
            // `syncId:cursor`; an empty cursor (or no serial) ends the sync.
            let (sync_id, cursor) = frame
                .channel_serial
                .as_deref()
                .and_then(|serial| serial.split_once(':'))
                .unwrap_or(("", ""));
            slot.presence
                .sync_page(sync_id, members.collect(), cursor.is_empty())
        } else {
            // Like messages, presence moves the resume point only while attached.
            if slot.machine.accepts_messages() {
                slot.machine.record_serial(frame.channel_serial.as_deref());
            }
            members
                .filter_map(|member| slot.presence.apply(member))
                .collect()
        };
        for change in changes {
            self.emit(NetEvent::Presence {
                channel: name.clone(),
                change,
            })
            .await;
        }
    }

    pub(super) fn acknowledged(&mut self, frame: &ProtocolMessage) {
        let span = AckSpan::new(frame.msg_serial, frame.count);
        let results = frame.res.clone().unwrap_or_default();
        while let Some((serial, _)) = self.in_flight.front() {
            if !span.reaches(*serial) {
                break;
            }
            let Some((serial, pending)) = self.in_flight.pop_front() else {
                break;
            };
            let acknowledged = frame.action == ProtocolAction::Ack && !span.skips(serial);
            self.health
                .settled(pending.published_messages(), acknowledged);
            if span.skips(serial) {
                // Skipped serials count as refused (ably-protocol.md §4.3).
                pending.reply.fail(ClientError::Refused(ErrorInfo::new(
                    50000,
                    500,
                    "No acknowledgement received",
                )));
                continue;
            }
            match (&frame.action, pending.reply) {
                (ProtocolAction::Ack, PendingReply::Publish(reply)) => {
                    let serials = span
                        .position(serial)
                        .and_then(|position| results.get(position))
                        .map(|result| result.serials.clone())
                        .unwrap_or_default();
                    let _ = reply.send(Ok(PublishAck { serials }));
                }
                (ProtocolAction::Ack, PendingReply::Presence(reply)) => {
                    let _ = reply.send(Ok(()));
                }
                (_, reply) => {
                    let error = frame
                        .error
                        .clone()
                        .unwrap_or_else(|| ErrorInfo::new(50000, 500, "Refused by the server"));
                    reply.fail(ClientError::Refused(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    use super::super::testing::{Harness, connection_states};
    use crate::protocol::{ErrorInfo, Message, ProtocolAction, ProtocolMessage};
    use crate::realtime::ConnectionState;
    use crate::realtime::types::{ClientError, NetEvent};

    fn message_frame(channel: &str, ids: &[&str]) -> ProtocolMessage {
        let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel(channel);
        frame.messages = Some(
            ids.iter()
                .map(|id| Message {
                    id: Some((*id).to_owned()),
                    name: Some("message:user".to_owned()),
                    ..Message::default()
                })
                .collect(),
        );
        frame
    }

    fn ack(action: ProtocolAction, serial: i64, count: u64) -> ProtocolMessage {
        let mut frame = ProtocolMessage::new(action);
        frame.msg_serial = Some(serial);
        frame.count = Some(count);
        frame
    }

    /// UTS: RTN21, RTN4b.
    #[tokio::test]
    async fn rtn4b_connected_from_the_server_is_reported() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        assert_eq!(
            connection_states(&harness.events()),
            [ConnectionState::Connecting, ConnectionState::Connected]
        );
    }

    /// UTS: RTL7a.
    #[tokio::test]
    async fn rtl7_messages_on_an_attached_channel_are_reported_once_each() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.events();
        harness
            .server(message_frame("conversation:1", &["a", "b"]))
            .await;
        harness
            .server(message_frame("conversation:1", &["b", "c"]))
            .await;
        let ids = harness.message_ids();
        assert_eq!(ids, ["a", "b", "c"], "a repeated id is not delivered twice");
    }

    #[tokio::test]
    async fn tm2a_ids_come_from_the_frame_and_messages_without_any_are_all_delivered() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.events();
        let id_less = |frame_id: Option<&str>| {
            let mut frame =
                ProtocolMessage::new(ProtocolAction::Message).with_channel("conversation:1");
            frame.id = frame_id.map(str::to_owned);
            frame.messages = Some(vec![Message::default(), Message::default()]);
            frame
        };
        harness.server(id_less(Some("f1"))).await;
        harness.server(id_less(None)).await;
        harness.server(id_less(None)).await;
        let ids = harness.message_ids();
        assert_eq!(
            ids,
            ["f1:0", "f1:1", "", "", "", ""],
            "no id invented, none dropped"
        );
    }

    #[tokio::test]
    async fn tp3a_presence_ids_come_from_the_frame() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.events();
        let mut frame =
            ProtocolMessage::new(ProtocolAction::Presence).with_channel("conversation:1");
        frame.id = Some("p1".into());
        frame.connection_id = Some("other".into());
        let mut member =
            crate::protocol::PresenceMessage::new(crate::protocol::PresenceAction::Enter);
        member.client_id = Some("customer-1".into());
        frame.presence = Some(vec![member]);
        harness.server(frame).await;
        let ids: Vec<Option<String>> = harness
            .events()
            .into_iter()
            .filter_map(|event| match event {
                NetEvent::Presence { change, .. } => Some(change.member.id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [Some("p1:0".to_owned())]);
    }

    #[tokio::test]
    async fn messages_for_a_channel_not_held_here_are_dropped() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.events();
        harness
            .server(message_frame("conversation:9", &["a"]))
            .await;
        assert!(harness.events().is_empty());
    }

    /// UTS: RTL6j.
    #[tokio::test]
    async fn rtn7a_an_ack_resolves_what_it_covers_and_a_nack_refuses_the_rest() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        let first = harness.publish("conversation:1", "m1").await;
        let mut second = harness.publish("conversation:1", "m2").await;
        harness.server(ack(ProtocolAction::Ack, 0, 1)).await;
        assert!(first.await.expect("answered").is_ok());
        assert!(second.try_recv().is_err(), "not covered by the ACK yet");
        let mut nack = ack(ProtocolAction::Nack, 1, 1);
        nack.error = Some(ErrorInfo::new(40160, 401, "not allowed"));
        harness.server(nack).await;
        match second.await.expect("answered") {
            Err(ClientError::Refused(info)) => assert_eq!(info.code, 40160),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_undecodable_frame_is_skipped_and_the_connection_stays_up() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.events();
        harness
            .shard
            .incoming(Some(Ok(WsMessage::Text("{not json".into()))))
            .await;
        assert!(harness.events().is_empty());
        assert_eq!(harness.shard.machine.state(), ConnectionState::Connected);
    }

    #[tokio::test]
    async fn rtn15_a_closed_socket_is_a_lost_connection_not_a_closed_client() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.events();
        harness.shard.incoming(None).await;
        assert_eq!(
            connection_states(&harness.events()),
            [ConnectionState::Disconnected]
        );
    }
}
