//! Performing the reducer's effects: publishing, presence, history and suggestions
//! fetches (as tasks that report back as actions), the outbox and drafts in the store.
//! Shared by the full-screen dashboard and the screen-reader mode.

use serde_json::Value;
use tokio::sync::mpsc;
use tracing::warn;
use url::Url;

use crate::protocol::Message;
use crate::protocol::data::{Payload, encode};
use crate::realtime::{
    AttachOptions, ClientError, ConnectionState, InboundMessage, NetEvent, Realtime,
};
use crate::rest::{HistoryQuery, RestClient};
use crate::store::{OutboxEntry, Store};
use crate::terminal;

use super::action::Action;
use super::effect::Effect;
use super::state::AppState;

/// Messages of context fetched when a conversation is first watched.
const REWIND: &str = "20";
const HISTORY_PAGE: usize = 100;

/// Performs effects; long ones run as tasks and report back as actions.
pub(crate) struct Executor {
    pub client: Realtime,
    pub rest: RestClient,
    pub store: Store,
    pub results: mpsc::UnboundedSender<Action>,
    pub suggestions_base: Url,
    pub outcomes: mpsc::UnboundedSender<ReplyOutcome>,
    /// Replies whose publish failed because the connection was gone for too long: sent
    /// again, with the same ids, when it is back.
    pub waiting_for_connection: Vec<OutboxEntry>,
}

impl Executor {
    pub fn run(&mut self, effects: Vec<Effect>, state: &mut AppState) {
        for effect in effects {
            self.perform(effect, state);
        }
    }

    pub fn on_network(&mut self, event: &NetEvent, state: &mut AppState) {
        if let NetEvent::Connection {
            state: ConnectionState::Connected,
            ..
        } = event
        {
            for entry in std::mem::take(&mut self.waiting_for_connection) {
                self.perform(Effect::SendReply(entry), state);
            }
        }
    }

    fn perform(&mut self, effect: Effect, state: &mut AppState) {
        match effect {
            Effect::Attach { channel } => {
                self.client.attach(
                    &channel,
                    AttachOptions {
                        rewind: Some(REWIND.to_owned()),
                    },
                );
            }
            Effect::Publish {
                channel,
                name,
                data,
            } => {
                let publish = self
                    .client
                    .publish(&channel, vec![json_message(&name, data, None)]);
                tokio::spawn(async move {
                    if let Err(error) = publish.await {
                        warn!(%channel, %name, %error, "publish failed");
                    }
                });
            }
            Effect::SendReply(entry) => self.send_reply(entry),
            Effect::ResendReply(entry) => self.resend_reply(entry),
            Effect::Delivered { message_id } => {
                self.waiting_for_connection
                    .retain(|entry| entry.message_id != message_id);
                if let Err(error) = self.store.remove_outbox(&message_id) {
                    warn!(%error, "could not clear a delivered reply from the outbox");
                }
            }
            Effect::EnterPresence { channel, data } => {
                let enter = self.client.enter(&channel, Some(data));
                tokio::spawn(async move {
                    if let Err(error) = enter.await {
                        warn!(%channel, %error, "presence enter failed");
                    }
                });
            }
            Effect::LeavePresence { channel } => {
                let leave = self.client.leave(&channel);
                tokio::spawn(async move {
                    let _ = leave.await;
                });
            }
            Effect::FetchHistory { channel, before_ms } => {
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
                            let mut messages: Vec<InboundMessage> = page
                                .items
                                .into_iter()
                                .map(|message| InboundMessage::from_wire(message, true))
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
            Effect::FetchSuggestions {
                channel,
                conversation_id,
                persona,
            } => {
                let rest = self.rest.clone();
                let results = self.results.clone();
                let base = self.suggestions_base.clone();
                tokio::spawn(async move {
                    let action = match rest.suggestions(&base, &conversation_id, &persona).await {
                        Ok(replies) => Action::Suggestions {
                            channel,
                            replies,
                            from_web_app: true,
                        },
                        Err(error) => {
                            warn!(%error, "suggestions unavailable; using canned replies");
                            Action::Suggestions {
                                channel,
                                replies: Vec::new(),
                                from_web_app: false,
                            }
                        }
                    };
                    let _ = results.send(action);
                });
            }
            Effect::SaveDraft { channel, text } => {
                if let Err(error) = self.store.save_draft(&channel, &text) {
                    warn!(%error, "could not save a draft");
                }
            }
            Effect::Bell => terminal::bell(),
            Effect::Quit => state.quit = true,
        }
    }

    /// The outbox first, then the wire; the entry leaves the outbox only on ACK.
    fn send_reply(&mut self, entry: OutboxEntry) {
        if let Err(error) = self.store.add_outbox(&entry) {
            warn!(%error, "could not write the outbox");
        }
        let data: Value = serde_json::from_str(&entry.data).unwrap_or(Value::Null);
        let message = json_message(&entry.name, data, Some(entry.message_id.clone()));
        let publish = self.client.publish(&entry.channel, vec![message]);
        let outcomes = self.outcomes.clone();
        tokio::spawn(async move {
            let result = publish.await.map(|_| ());
            let _ = outcomes.send(ReplyOutcome { entry, result });
        });
    }

    /// An earlier run's reply: looked up in the channel's recent history first, so a reply
    /// that did arrive (and whose id the server may have forgotten) is not sent twice.
    fn resend_reply(&mut self, entry: OutboxEntry) {
        let rest = self.rest.clone();
        let client = self.client.clone();
        let outcomes = self.outcomes.clone();
        tokio::spawn(async move {
            let query = HistoryQuery {
                limit: Some(HISTORY_PAGE),
                ..HistoryQuery::default()
            };
            let arrived = rest.history(&entry.channel, &query).await.is_ok_and(|page| {
                page.items.iter().any(|message| {
                    let data = crate::protocol::data::decode(message.data.as_ref(), message.encoding.as_deref()).payload;
                    matches!(&data, Payload::Json(value) if value.get("messageId").and_then(Value::as_str) == Some(entry.message_id.as_str()))
                })
            });
            let result = if arrived {
                Ok(())
            } else {
                let data: Value = serde_json::from_str(&entry.data).unwrap_or(Value::Null);
                let message = json_message(&entry.name, data, Some(entry.message_id.clone()));
                client
                    .publish(&entry.channel, vec![message])
                    .await
                    .map(|_| ())
            };
            let _ = outcomes.send(ReplyOutcome { entry, result });
        });
    }

    /// A reply's publish finished: acknowledged replies leave the outbox; replies that
    /// failed only because the connection was gone wait for it; refused replies leave the
    /// outbox too (they would be refused again at every start) and show as failed, ready
    /// for `r` to try again.
    pub fn settle(&mut self, outcome: ReplyOutcome) -> Option<Action> {
        let message_id = outcome.entry.message_id.clone();
        match outcome.result {
            Ok(()) => {
                if let Err(error) = self.store.remove_outbox(&message_id) {
                    warn!(%error, "could not clear an acknowledged reply from the outbox");
                }
                Some(Action::Published {
                    message_id,
                    result: Ok(()),
                })
            }
            Err(error) if is_connection_error(&error) => {
                self.waiting_for_connection.push(outcome.entry);
                None
            }
            Err(error) => {
                if let Err(store_error) = self.store.remove_outbox(&message_id) {
                    warn!(error = %store_error, "could not clear a refused reply from the outbox");
                }
                Some(Action::Published {
                    message_id,
                    result: Err(error),
                })
            }
        }
    }
}

/// Failures of the connection rather than refusals of the reply: worth sending again.
fn is_connection_error(error: &ClientError) -> bool {
    match error {
        ClientError::Closed => true,
        ClientError::Refused(info) => (80000..80100).contains(&info.code),
        ClientError::Rest(_) => false,
    }
}

pub(crate) struct ReplyOutcome {
    entry: OutboxEntry,
    result: Result<(), ClientError>,
}

fn json_message(name: &str, data: Value, id: Option<String>) -> Message {
    let (wire, encoding) = encode(&Payload::Json(data), None);
    Message {
        id,
        name: Some(name.to_owned()),
        data: wire,
        encoding,
        ..Message::default()
    }
}
