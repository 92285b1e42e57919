//! MESSAGE and PRESENCE: each answered with ACK or NACK, once per msgSerial.

use crate::auth::Operation;
use crate::hub::clock::now_ms;
use crate::hub::identity::Identity;
use crate::hub::state::{AckResult, LIFECYCLE_CHANNEL, lock};
use crate::protocol::{
    ErrorInfo, Message, PresenceAction, PresenceMessage, ProtocolAction, ProtocolMessage,
    PublishResult,
};

use super::{Session, check_channel_name};

/// Answers remembered per connection, for frames re-sent after a resume.
const RECENT_ACKS: usize = 1024;

impl Session {
    /// MESSAGE and PRESENCE carry a msgSerial and are answered with ACK or NACK; a frame
    /// re-sent after a resume (a msgSerial already seen) is answered again, not redone.
    pub(super) fn acknowledged(&mut self, frame: &ProtocolMessage) {
        let serial = frame.msg_serial.unwrap_or(-1);
        let previous = {
            let state = self.connection.state();
            if serial >= 0 && serial < state.next_msg_serial {
                Some(
                    state
                        .recent_acks
                        .iter()
                        .find(|(seen, _)| *seen == serial)
                        .map(|(_, result)| result.clone())
                        .unwrap_or(Ok(Vec::new())),
                )
            } else {
                None
            }
        };
        let result = match (previous, serial.checked_add(1)) {
            (Some(result), _) => result,
            // The last serial there is: nothing could follow it.
            (None, None) => Err(ErrorInfo::new(
                40000,
                400,
                format!("Invalid msgSerial {serial}: out of range"),
            )),
            (None, Some(next_serial)) => {
                let result = if frame.action == ProtocolAction::Message {
                    self.publish(frame, serial)
                } else {
                    self.presence(frame, serial)
                };
                let mut state = self.connection.state();
                state.next_msg_serial = next_serial;
                state.recent_acks.push_back((serial, result.clone()));
                if state.recent_acks.len() > RECENT_ACKS {
                    state.recent_acks.pop_front();
                }
                result
            }
        };
        if serial < 0 {
            return;
        }
        let mut reply = match result {
            Ok(serials) => {
                let mut ack = ProtocolMessage::new(ProtocolAction::Ack);
                if frame.action == ProtocolAction::Message {
                    ack.res = Some(vec![PublishResult { serials }]);
                }
                ack
            }
            Err(error) => ProtocolMessage::new(ProtocolAction::Nack).with_error(error),
        };
        reply.msg_serial = Some(serial);
        reply.count = Some(1);
        self.send(&reply);
    }

    /// The frame's channel and the connection's identity, when the name is valid and the
    /// identity may do `operation` there (never on the lifecycle metachannel).
    fn permitted<'f>(
        &self,
        frame: &'f ProtocolMessage,
        operation: Operation,
        denied: &str,
    ) -> Result<(&'f str, Identity), ErrorInfo> {
        let name = frame.channel.as_deref().unwrap_or_default();
        check_channel_name(name)?;
        let identity = self.connection.state().identity.clone();
        if name == LIFECYCLE_CHANNEL || !identity.allows(name, operation) {
            return Err(ErrorInfo::new(40160, 401, denied));
        }
        Ok((name, identity))
    }

    fn publish(&self, frame: &ProtocolMessage, serial: i64) -> AckResult {
        let (name, identity) = self.permitted(
            frame,
            Operation::Publish,
            "Unable to perform channel operation (permission denied)",
        )?;
        let messages = frame.messages.clone().unwrap_or_default();
        let messages = prepare_messages(messages, &identity, self.hub.config.max_message_bytes)?;
        let frame_id = format!("{}:{}", self.connection.id, serial);
        let published = self
            .hub
            .publish(name, messages, Some(&self.connection.id), &frame_id);
        Ok(published.serials)
    }

    fn presence(&self, frame: &ProtocolMessage, serial: i64) -> AckResult {
        let (name, identity) = self.permitted(
            frame,
            Operation::Presence,
            "Presence denied based on given capability",
        )?;
        let members = frame.presence.clone().unwrap_or_default();
        let total: usize = members.iter().map(PresenceMessage::size).sum();
        let limit = self.hub.config.max_message_bytes;
        if total > limit {
            return Err(ErrorInfo::new(
                40009,
                400,
                format!("Presence data too large: {total} bytes, the limit is {limit}"),
            ));
        }
        let channel = self.hub.channel(name);
        let own = self.connection.id.to_string();
        // Recorded before any member is applied: a later member of the same frame may be
        // refused, and the ones applied before it must still leave with the connection.
        self.connection
            .state()
            .presence_channels
            .insert(name.to_owned());
        for (index, incoming) in members.into_iter().enumerate() {
            let incoming_id = incoming.id.clone();
            let member = self.presence_member(&identity, incoming, &own, serial, index)?;
            let action = member.action;
            let mut channel = lock(&channel);
            // ably-js re-enters with the member's stored id after every attach; the same
            // id means nothing changed, so nothing is relayed.
            let key = member.member_key();
            let unchanged = incoming_id.is_some()
                && channel
                    .presence
                    .get(&key)
                    .is_some_and(|present| present.id == incoming_id);
            if unchanged && action != PresenceAction::Leave {
                continue;
            }
            let most = self.hub.config.max_presence_members;
            if action != PresenceAction::Leave
                && !channel.presence.contains_key(&key)
                && channel.presence.len() >= most
            {
                return Err(ErrorInfo::new(
                    91003,
                    400,
                    format!("Maximum number of presence members on this channel ({most}) exceeded"),
                ));
            }
            channel.apply_presence(member);
        }
        Ok(Vec::new())
    }

    /// The member as the hub records it: who (checked against the identity), what, with
    /// the connection, time and id the hub gives it.
    fn presence_member(
        &self,
        identity: &Identity,
        incoming: PresenceMessage,
        own: &str,
        serial: i64,
        index: usize,
    ) -> Result<PresenceMessage, ErrorInfo> {
        let client_id = incoming
            .client_id
            .clone()
            .or_else(|| identity.client_id.clone().filter(|id| id != "*"))
            .ok_or_else(|| {
                ErrorInfo::new(
                    91000,
                    400,
                    "Presence needs a clientId: connect with one or use enterClient",
                )
            })?;
        if !identity.may_act_as(&client_id) {
            return Err(ErrorInfo::new(
                40012,
                400,
                format!("Not allowed to act as clientId {client_id:?}"),
            ));
        }
        let action = match incoming.action {
            PresenceAction::Enter | PresenceAction::Present => PresenceAction::Enter,
            PresenceAction::Update => PresenceAction::Update,
            PresenceAction::Leave => PresenceAction::Leave,
            other => {
                return Err(ErrorInfo::new(
                    40000,
                    400,
                    format!("Unknown presence action {}", other.code()),
                ));
            }
        };
        let mut member = PresenceMessage::new(action);
        member.client_id = Some(client_id);
        member.connection_id = Some(own.to_owned());
        member.data = incoming.data;
        member.encoding = incoming.encoding;
        member.extras = incoming.extras;
        member.timestamp = Some(now_ms());
        member.id = Some(format!("{own}:{serial}:{index}"));
        Ok(member)
    }
}

/// Checks size and clientId rules and fills the publisher's clientId (ably-protocol.md §4.3).
pub(crate) fn prepare_messages(
    messages: Vec<Message>,
    identity: &Identity,
    max_message_bytes: usize,
) -> Result<Vec<Message>, ErrorInfo> {
    let total: usize = messages.iter().map(Message::size).sum();
    if total > max_message_bytes {
        return Err(ErrorInfo::new(
            40009,
            400,
            format!("Message too large: {total} bytes, the limit is {max_message_bytes}"),
        ));
    }
    let own = identity.client_id.clone().filter(|id| id != "*");
    messages
        .into_iter()
        .map(|mut message| {
            match &message.client_id {
                Some(asked) if asked == "*" || !identity.may_act_as(asked) => {
                    return Err(ErrorInfo::new(
                        40012,
                        400,
                        format!("Invalid clientId {asked:?} for this connection"),
                    ));
                }
                Some(_) => {}
                None => message.client_id = own.clone(),
            }
            Ok(message)
        })
        .collect()
}
