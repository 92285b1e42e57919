//! Publishing while polling: over REST, one publish after another so a channel keeps the
//! order they were asked in, with the ids the outbox chose (the service keeps the first of
//! each id, so a publish sent twice across a switch lands once).

use tokio::sync::mpsc;

use crate::protocol::{ErrorInfo, Message};
use crate::realtime::types::{ClientError, PublishAck};
use crate::rest::{RestClient, RestError};

use super::{Internal, PendingReply, Reply, Shard};

/// A publish waiting its turn on the REST publisher.
pub(super) type RestPublish = (String, Vec<Message>, Reply<PublishAck>);

impl Shard {
    /// A publish while polling goes over REST, after those before it.
    pub(super) fn publish_over_rest(
        &mut self,
        channel: String,
        messages: Vec<Message>,
        reply: Reply<PublishAck>,
    ) {
        let publisher = self.rest_publisher.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let internal = self.internal_tx.clone();
            tokio::spawn(publish_in_order(self.rest.clone(), receiver, internal));
            sender
        });
        if let Err(mpsc::error::SendError((_, messages, reply))) =
            publisher.send((channel, messages, reply))
        {
            self.health.settled(messages.len(), false);
            let _ = reply.send(Err(ClientError::Closed));
        }
    }

    /// Publishes queued for a connection, or sent on one that was lost before its ACK,
    /// go over REST with the same ids (the server keeps the first of each id).
    pub(super) fn publish_waiting_over_rest(&mut self) {
        let waiting: Vec<_> = self
            .in_flight
            .drain(..)
            .map(|(_, pending)| pending)
            .chain(self.queued.drain(..))
            .collect();
        for pending in waiting {
            match pending.reply {
                PendingReply::Publish(reply) => {
                    let channel = pending.frame.channel.clone().unwrap_or_default();
                    let messages = pending.frame.messages.clone().unwrap_or_default();
                    self.publish_over_rest(channel, messages, reply);
                }
                // Presence needs a realtime connection: it waits for one.
                PendingReply::Presence(_) => self.queued.push_back(pending),
            }
        }
    }
}

/// Publishes one after another, and tells the shard how each went, for its figures.
async fn publish_in_order(
    rest: RestClient,
    mut waiting: mpsc::UnboundedReceiver<RestPublish>,
    internal: mpsc::UnboundedSender<Internal>,
) {
    while let Some((channel, messages, reply)) = waiting.recv().await {
        let count = messages.len();
        let outcome = rest
            .publish(&channel, &messages)
            .await
            .map(|receipt| PublishAck {
                serials: if receipt.serials.len() == count {
                    receipt.serials
                } else {
                    vec![None; count]
                },
            })
            .map_err(publish_failure);
        let acknowledged = outcome.is_ok();
        let _ = reply.send(outcome);
        let _ = internal.send(Internal::RestPublished {
            messages: count,
            acknowledged,
        });
    }
}

/// A refusal stays a refusal; a network failure is a connection failure, so the outbox
/// sends it again later with the same id.
fn publish_failure(error: RestError) -> ClientError {
    match error {
        RestError::Ably(info) if info.status_code < 500 => ClientError::Refused(info),
        RestError::Ably(info) => ClientError::Refused(ErrorInfo::new(
            80000,
            info.status_code,
            format!("The service failed the publish: {info}"),
        )),
        RestError::Network(reason) => ClientError::Refused(ErrorInfo::new(
            80003,
            0,
            format!("Unable to publish over REST: {reason}"),
        )),
        other => ClientError::Rest(other.to_string()),
    }
}
