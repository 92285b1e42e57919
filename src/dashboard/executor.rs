//! Performing the reducer's effects: publishing, presence, history and suggestions
//! fetches (as tasks that report back as actions), the outbox and drafts in the store.
//! It decides nothing: every outcome goes back to the reducer as an action.

use serde_json::Value;
use tokio::sync::mpsc;
use tracing::warn;
use url::Url;

use crate::app::action::{Action, Incoming};
use crate::app::effect::Effect;
use crate::protocol::Message;
use crate::protocol::data::{Payload, decode, encode};
use crate::protocol::events::TimedEvent;
use crate::protocol::names::ChannelName;
use crate::realtime::{AttachOptions, InboundMessage, Realtime};
use crate::rest::{HistoryQuery, RestClient};
use crate::store::{OutboxEntry, Store};
use crate::terminal;

/// Messages of context fetched when a conversation is first watched.
const REWIND: &str = "20";
const HISTORY_PAGE: usize = 100;

/// Handles to the outside world; long effects run as tasks and report back as actions.
pub(super) struct Executor {
    pub client: Realtime,
    pub rest: RestClient,
    pub store: Store,
    pub results: mpsc::UnboundedSender<Action>,
    pub suggestions_base: Url,
}

impl Executor {
    pub fn run(&self, effects: Vec<Effect>) {
        for effect in effects {
            self.perform(effect);
        }
    }

    fn perform(&self, effect: Effect) {
        match effect {
            Effect::Attach { channel } => {
                let rewind = Some(REWIND.to_owned());
                self.client.attach(&channel, AttachOptions { rewind });
            }
            Effect::Publish { channel, event } => self.publish(channel, &event),
            Effect::SendReply(entry) => {
                if let Err(error) = self.store.add_outbox(&entry) {
                    warn!(%error, "could not write the outbox");
                }
                self.publish_reply(entry);
            }
            Effect::PublishReply(entry) => self.publish_reply(entry),
            Effect::ResendReply(entry) => self.resend_reply(entry),
            Effect::ForgetReply { message_id } => {
                if let Err(error) = self.store.remove_outbox(&message_id) {
                    warn!(%error, "could not clear a reply from the outbox");
                }
            }
            Effect::Focus { channel } => self.client.focus(Some(&channel)),
            Effect::EnterPresence { channel, data } => {
                let enter = self.client.enter(&channel, Some(data));
                tokio::spawn(async move {
                    if let Err(error) = enter.await {
                        warn!(%channel, %error, "presence enter failed");
                    }
                });
            }
            Effect::UpdatePresence { channel, data } => {
                let update = self.client.update(&channel, Some(data));
                tokio::spawn(async move {
                    if let Err(error) = update.await {
                        warn!(%channel, %error, "presence update failed");
                    }
                });
            }
            Effect::LeavePresence { channel } => {
                let leave = self.client.leave(&channel);
                tokio::spawn(async move {
                    let _ = leave.await;
                });
            }
            Effect::FetchHistory { channel, before_ms } => self.fetch_history(channel, before_ms),
            Effect::FetchSuggestions {
                channel,
                conversation_id,
                persona,
            } => self.fetch_suggestions(channel, conversation_id, persona),
            Effect::SaveDraft { channel, text } => {
                if let Err(error) = self.store.save_draft(&channel, &text) {
                    warn!(%error, "could not save a draft");
                }
            }
            Effect::RecordAlert(alert) => {
                if let Err(error) = self.store.record_alert(&alert) {
                    warn!(%error, "could not keep an alert");
                }
            }
            Effect::Notify { via, title, body } => terminal::notify(&via, &title, &body),
        }
    }

    fn publish(&self, channel: ChannelName, event: &TimedEvent) {
        let (name, data) = event.to_wire();
        let (data, encoding) = encode(&Payload::Json(data), None);
        let message = Message {
            name: Some(name),
            data,
            encoding,
            ..Message::default()
        };
        let publish = self.client.publish(&channel, vec![message]);
        tokio::spawn(async move {
            if let Err(error) = publish.await {
                warn!(%channel, %error, "publish failed");
            }
        });
    }

    /// The reply as stored is already its wire form: published as it is, with its id.
    fn publish_reply(&self, entry: OutboxEntry) {
        let (message_id, channel) = (entry.message_id.clone(), entry.channel.clone());
        let publish = self.client.publish(&channel, vec![reply_message(entry)]);
        let results = self.results.clone();
        tokio::spawn(async move {
            let result = publish.await;
            let _ = results.send(Action::ReplySettled { message_id, result });
        });
    }

    /// An earlier run's reply: looked up in the channel's recent history first, so a reply
    /// that did arrive (and whose id the server may have forgotten) is not sent twice.
    fn resend_reply(&self, entry: OutboxEntry) {
        let rest = self.rest.clone();
        let client = self.client.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let query = HistoryQuery {
                limit: Some(HISTORY_PAGE),
                ..HistoryQuery::default()
            };
            let arrived = rest
                .history(&entry.channel, &query)
                .await
                .is_ok_and(|page| page.items.iter().any(|m| carries_id(m, &entry.message_id)));
            let message_id = entry.message_id.clone();
            let result = if arrived {
                Ok(crate::realtime::PublishAck {
                    serials: vec![None],
                })
            } else {
                let channel = entry.channel.clone();
                client.publish(&channel, vec![reply_message(entry)]).await
            };
            let _ = results.send(Action::ReplySettled { message_id, result });
        });
    }

    fn fetch_history(&self, channel: ChannelName, before_ms: Option<i64>) {
        let rest = self.rest.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let query = HistoryQuery {
                limit: Some(HISTORY_PAGE),
                forwards: false,
                end_ms: before_ms.map(|ms| ms - 1),
                ..HistoryQuery::default()
            };
            let action = match rest.history(&channel, &query).await {
                Ok(page) => {
                    let complete = !page.has_next();
                    let mut messages: Vec<Incoming> = page
                        .items
                        .into_iter()
                        .map(|m| {
                            Incoming::new(channel.to_string(), InboundMessage::from_wire(m, true))
                        })
                        .collect();
                    messages.reverse();
                    Action::History {
                        channel,
                        messages,
                        older: before_ms.is_some(),
                        complete,
                    }
                }
                Err(error) => Action::HistoryFailed {
                    channel,
                    reason: error.to_string(),
                },
            };
            let _ = results.send(action);
        });
    }

    fn fetch_suggestions(&self, channel: ChannelName, conversation_id: String, persona: String) {
        let rest = self.rest.clone();
        let results = self.results.clone();
        let base = self.suggestions_base.clone();
        tokio::spawn(async move {
            let (replies, from_web_app) =
                match rest.suggestions(&base, &conversation_id, &persona).await {
                    Ok(replies) => (replies, true),
                    Err(error) => {
                        warn!(%error, "suggestions unavailable; using canned replies");
                        (Vec::new(), false)
                    }
                };
            let _ = results.send(Action::Suggestions {
                channel,
                replies,
                from_web_app,
            });
        });
    }
}

/// Whether a message from history is the reply with this id.
fn carries_id(message: &Message, message_id: &str) -> bool {
    let data = decode(message.data.as_ref(), message.encoding.as_deref()).payload;
    matches!(&data, Payload::Json(value) if value.get("messageId").and_then(Value::as_str) == Some(message_id))
}

fn reply_message(entry: OutboxEntry) -> Message {
    Message {
        id: Some(entry.message_id),
        name: Some(entry.name),
        data: Some(Value::String(entry.data)),
        encoding: Some("json".to_owned()),
        ..Message::default()
    }
}
